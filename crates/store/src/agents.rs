//! Agents: users as members of one account, and the member lists of inboxes and teams.
//!
//! The plain reads (`agents`, `agent`) live with the users; this module holds what the
//! agent administration and the inbox/team member lists need on top: creating a user and
//! its membership in one transaction, changing roles without ever leaving an account
//! without an administrator, and the shared add/replace/remove logic of member lists,
//! which must refuse users who do not belong to the account (otherwise an administrator
//! of one tenant could attach, and so expose conversations to, a user of another).

use std::collections::BTreeSet;

use parley_core::{Availability, Role};

use crate::users::{AgentRow, NewUser, UserRow, delete_membership};
use crate::{Backend, Result, Store, StoreError};

/// Columns of [`AgentRow`], for joins of `users u` with `account_users au`.
pub(crate) const AGENT_COLS: &str = "u.id, au.account_id, u.name, u.display_name, u.email, u.avatar_url, au.role, au.availability, au.auto_offline, au.max_open, au.presence";

/// What a member-list request does with its `user_ids` (Chatwoot's POST, PATCH, DELETE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberOp {
    /// Adds the users, keeping the current members.
    Add,
    /// Makes the list exactly these users.
    Replace,
    /// Removes the users; ids that are not in the list are ignored.
    Remove,
}

/// Outcome of a member-list change.
#[derive(Debug, Clone)]
pub enum MembersOutcome {
    /// The change was applied; the resulting members, ordered by name.
    Updated(Vec<AgentRow>),
    /// Nothing changed because these user ids are not members of the account.
    NotAccountMembers(Vec<i64>),
}

/// A membership change of an agent; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub role: Option<Role>,
    pub availability: Option<Availability>,
    pub auto_offline: Option<bool>,
}

/// The reason code of the [`StoreError::Conflict`] returned when a change would leave an
/// account without any administrator.
pub const LAST_ADMINISTRATOR: &str = "last_administrator";

/// Which member table a list operation works on. The container (inbox or team) is always
/// looked up with its account id first, so a foreign id behaves as not found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MemberTable {
    Inbox,
    Team,
}

impl MemberTable {
    fn container(self) -> &'static str {
        match self {
            MemberTable::Inbox => "inboxes",
            MemberTable::Team => "teams",
        }
    }
    fn members(self) -> &'static str {
        match self {
            MemberTable::Inbox => "inbox_members",
            MemberTable::Team => "team_members",
        }
    }
    fn key(self) -> &'static str {
        match self {
            MemberTable::Inbox => "inbox_id",
            MemberTable::Team => "team_id",
        }
    }
}

/// `$first, $first+1, …` for `n` values: SQL placeholders for an `IN` list.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Creates a new user and makes them a member of the account, atomically, so a failed
    /// request never leaves a user without an account. `Conflict` if the e-mail is taken.
    pub async fn create_agent(
        &self,
        account_id: i64,
        user: &NewUser<'_>,
        role: Role,
        availability: Availability,
        auto_offline: bool,
    ) -> Result<(UserRow, AgentRow)> {
        let mut tx = self.writer().begin().await?;
        let now = self.now();
        let u = sqlx::query_as::<_, UserRow>(
            "INSERT INTO users (name, display_name, email, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             RETURNING id, name, display_name, email, password_hash, avatar_url, ui_settings, created_at, updated_at",
        )
        .bind(user.name)
        .bind(user.display_name)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        insert_member(
            &mut tx,
            account_id,
            u.id,
            role,
            availability,
            auto_offline,
            self.now(),
        )
        .await?;
        let agent = agent_in(&mut tx, account_id, u.id).await?;
        tx.commit().await?;
        Ok((u, agent))
    }

    /// Adds an existing user to the account. `Conflict` if they already are a member
    /// (adding must not silently change the role of an existing agent).
    pub async fn add_agent(
        &self,
        account_id: i64,
        user_id: i64,
        role: Role,
        availability: Availability,
        auto_offline: bool,
    ) -> Result<AgentRow> {
        let mut tx = self.writer().begin().await?;
        insert_member(
            &mut tx,
            account_id,
            user_id,
            role,
            availability,
            auto_offline,
            self.now(),
        )
        .await?;
        let agent = agent_in(&mut tx, account_id, user_id).await?;
        tx.commit().await?;
        Ok(agent)
    }

    /// Changes an agent's role, availability or auto-offline flag. `NotFound` if the user
    /// is not a member; `Conflict(LAST_ADMINISTRATOR)` if it would demote the account's
    /// only administrator.
    pub async fn update_agent(
        &self,
        account_id: i64,
        user_id: i64,
        patch: &AgentPatch,
    ) -> Result<AgentRow> {
        let mut tx = self.writer().begin().await?;
        let current = agent_in(&mut tx, account_id, user_id).await?;
        if current.role == Role::Administrator.as_str()
            && patch.role.is_some_and(|r| r != Role::Administrator)
        {
            guard_other_admin(self.backend(), &mut tx, account_id, user_id).await?;
        }
        sqlx::query(
            "UPDATE account_users SET role = COALESCE($3, role), availability = COALESCE($4, availability),
               auto_offline = COALESCE($5, auto_offline)
             WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(patch.role.map(Role::as_str))
        .bind(patch.availability.map(Availability::as_str))
        .bind(patch.auto_offline.map(i64::from))
        .execute(&mut *tx)
        .await?;
        let agent = agent_in(&mut tx, account_id, user_id).await?;
        tx.commit().await?;
        Ok(agent)
    }

    /// Removes an agent from the account, from its inboxes and teams, and unassigns the
    /// account's conversations they held. `NotFound` if not a member;
    /// `Conflict(LAST_ADMINISTRATOR)` for the account's only administrator.
    pub async fn remove_agent(&self, account_id: i64, user_id: i64) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let current = agent_in(&mut tx, account_id, user_id).await?;
        if current.role == Role::Administrator.as_str() {
            guard_other_admin(self.backend(), &mut tx, account_id, user_id).await?;
        }
        delete_membership(&mut tx, account_id, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Of `user_ids`, those that are *not* members of the account (sorted, deduplicated).
    pub async fn non_members(&self, account_id: i64, user_ids: &[i64]) -> Result<Vec<i64>> {
        let mut conn = self.reader().acquire().await?;
        non_members_in(&mut conn, account_id, user_ids).await
    }

    /// Ids of the account's inboxes or teams a user is a member of, ascending.
    pub(crate) async fn container_ids_for_user(
        &self,
        table: MemberTable,
        account_id: i64,
        user_id: i64,
    ) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT m.{k} FROM {m} m JOIN {c} c ON c.id = m.{k}
             WHERE c.account_id = $1 AND m.user_id = $2 ORDER BY m.{k}",
            m = table.members(),
            c = table.container(),
            k = table.key(),
        );
        let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(user_id)
            .fetch_all(self.reader())
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Members of an inbox or team as agents. `NotFound` if the container is not in the
    /// account.
    pub(crate) async fn list_members(
        &self,
        table: MemberTable,
        account_id: i64,
        container_id: i64,
    ) -> Result<Vec<AgentRow>> {
        let mut conn = self.reader().acquire().await?;
        ensure_container(&mut conn, table, account_id, container_id, false).await?;
        members_in(&mut conn, table, account_id, container_id).await
    }

    /// Applies a member-list change in one transaction. `NotFound` if the container is
    /// not in the account; [`MembersOutcome::NotAccountMembers`] (and no change) if any
    /// user is not a member of the account.
    pub(crate) async fn change_members(
        &self,
        table: MemberTable,
        account_id: i64,
        container_id: i64,
        op: MemberOp,
        user_ids: &[i64],
    ) -> Result<MembersOutcome> {
        let mut tx = self.writer().begin().await?;
        let lock = self.backend() == Backend::Postgres;
        ensure_container(&mut tx, table, account_id, container_id, lock).await?;
        let outsiders = non_members_in(&mut tx, account_id, user_ids).await?;
        if !outsiders.is_empty() {
            return Ok(MembersOutcome::NotAccountMembers(outsiders));
        }
        let ids: BTreeSet<i64> = user_ids.iter().copied().collect();
        let (members, key) = (table.members(), table.key());
        if op == MemberOp::Replace {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {members} WHERE {key} = $1"
            )))
            .bind(container_id)
            .execute(&mut *tx)
            .await?;
        }
        let now = self.now();
        for id in &ids {
            let sql = if op == MemberOp::Remove {
                format!("DELETE FROM {members} WHERE {key} = $1 AND user_id = $2")
            } else {
                format!(
                    "INSERT INTO {members} ({key}, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                )
            };
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(container_id)
                .bind(*id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let list = members_in(&mut tx, table, account_id, container_id).await?;
        tx.commit().await?;
        Ok(MembersOutcome::Updated(list))
    }
}

async fn insert_member(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    user_id: i64,
    role: Role,
    availability: Availability,
    auto_offline: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_users (account_id, user_id, role, availability, auto_offline, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(availability.as_str())
    .bind(i64::from(auto_offline))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn agent_in(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    user_id: i64,
) -> Result<AgentRow> {
    let sql = format!(
        "SELECT {AGENT_COLS} FROM account_users au JOIN users u ON u.id = au.user_id
         WHERE au.account_id = $1 AND au.user_id = $2"
    );
    Ok(sqlx::query_as::<_, AgentRow>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?)
}

/// Fails with `Conflict(LAST_ADMINISTRATOR)` unless the account has an administrator
/// other than `user_id`. On PostgreSQL the administrator rows are locked, so two
/// concurrent demotions cannot both pass the check.
async fn guard_other_admin(
    backend: Backend,
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    user_id: i64,
) -> Result<()> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT user_id FROM account_users WHERE account_id = $1 AND role = $2 ORDER BY user_id{lock}"
    );
    let admins: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(Role::Administrator.as_str())
        .fetch_all(&mut *conn)
        .await?;
    if admins.iter().any(|(id,)| *id != user_id) {
        Ok(())
    } else {
        Err(StoreError::Conflict(LAST_ADMINISTRATOR.to_string()))
    }
}

async fn non_members_in(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    user_ids: &[i64],
) -> Result<Vec<i64>> {
    let wanted: BTreeSet<i64> = user_ids.iter().copied().collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id FROM account_users WHERE account_id = $1 AND user_id IN ({})",
        placeholders(2, wanted.len())
    );
    let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for id in &wanted {
        q = q.bind(*id);
    }
    let found: BTreeSet<i64> = q
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    Ok(wanted.difference(&found).copied().collect())
}

async fn ensure_container(
    conn: &mut sqlx::AnyConnection,
    table: MemberTable,
    account_id: i64,
    container_id: i64,
    lock: bool,
) -> Result<()> {
    let sql = format!(
        "SELECT id FROM {} WHERE id = $1 AND account_id = $2{}",
        table.container(),
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql))
        .bind(container_id)
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}

async fn members_in(
    conn: &mut sqlx::AnyConnection,
    table: MemberTable,
    account_id: i64,
    container_id: i64,
) -> Result<Vec<AgentRow>> {
    let sql = format!(
        "SELECT {AGENT_COLS} FROM {m} x
           JOIN account_users au ON au.user_id = x.user_id AND au.account_id = $1
           JOIN users u ON u.id = x.user_id
         WHERE x.{k} = $2 ORDER BY u.name, u.id",
        m = table.members(),
        k = table.key(),
    );
    Ok(sqlx::query_as::<_, AgentRow>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(container_id)
        .fetch_all(&mut *conn)
        .await?)
}
