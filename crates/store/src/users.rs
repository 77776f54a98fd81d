//! Users, their memberships in accounts (with a role), API access tokens and browser
//! sessions. Tokens and sessions are stored as SHA-256 hashes only.

use crate::durable::Durable;
use parley_core::Role;
use sqlx::FromRow;

use crate::{Backend, Result, Store, StoreError, token_hash};

/// A stored user (an operator, supervisor or administrator).
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub password_hash: String,
    pub avatar_url: Option<String>,
    pub ui_settings: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const USER_COLS: &str = "u.id, u.name, u.display_name, u.email, u.password_hash, u.avatar_url, u.ui_settings, u.created_at, u.updated_at";
/// SQLite's RETURNING does not accept table-qualified names.
const USER_RET: &str =
    "id, name, display_name, email, password_hash, avatar_url, ui_settings, created_at, updated_at";

/// A signed-in user with the accounts they belong to: what every authenticated request
/// needs, read in one round trip.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: UserRow,
    pub memberships: Vec<MembershipRow>,
}

/// One row of [`Store::user_by_access_token`]'s join.
#[derive(FromRow)]
struct UserMembershipRow {
    #[sqlx(flatten)]
    user: UserRow,
    m_account_id: Option<i64>,
    m_account_name: Option<String>,
    m_role: Option<String>,
    m_availability: Option<String>,
    m_auto_offline: Option<i64>,
}

/// A user's membership in an account.
#[derive(Debug, Clone, FromRow)]
pub struct MembershipRow {
    pub account_id: i64,
    pub account_name: String,
    pub user_id: i64,
    pub role: String,
    pub availability: String,
    pub auto_offline: i64,
}

impl MembershipRow {
    /// The role, defaulting to the least privileged if the stored value is unknown.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Agent)
    }
}

/// A user as seen inside one account (Chatwoot's "agent").
#[derive(Debug, Clone, FromRow)]
pub struct AgentRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub avatar_url: Option<String>,
    pub role: String,
    pub availability: String,
    pub auto_offline: i64,
    /// The agent's own limit of open conversations; `None`: team or account default.
    pub max_open: Option<i64>,
    /// Effective presence as routing last announced it (offline when not connected).
    pub presence: String,
}

/// Fields of a new user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub email: &'a str,
    pub password_hash: &'a str,
}

impl Store {
    /// Number of users in the whole installation; zero means first run.
    pub async fn count_users(&self) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(self.reader())
            .await?;
        Ok(n)
    }

    /// Creates a user.
    pub async fn create_user(&self, u: &NewUser<'_>) -> Result<UserRow> {
        let mut tx = self.writer().begin().await?;
        let row = insert_user(&mut tx, u, self.now()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Creates the very first user, an administrator of a new account, only while the
    /// installation has no user at all. Returns `None` when a user already exists.
    pub async fn create_first_admin(
        &self,
        u: &NewUser<'_>,
        account_name: &str,
        locale: &str,
    ) -> Result<Option<(UserRow, i64)>> {
        let mut tx = self.writer().begin().await?;
        if self.backend() == Backend::Postgres {
            // Two concurrent setup requests must not both see an empty table.
            sqlx::query("LOCK TABLE users IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Ok(None);
        }
        let now = self.now();
        let user = insert_user(&mut tx, u, self.now()).await?;
        let (account_id,): (i64,) = sqlx::query_as(
            "INSERT INTO accounts (name, locale, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(account_name)
        .bind(locale)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        insert_membership(
            &mut tx,
            account_id,
            user.id,
            Role::Administrator,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((user, account_id)))
    }

    /// Finds a user by id.
    pub async fn user(&self, id: i64) -> Result<UserRow> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1");
        Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(self.reader())
            .await?)
    }

    /// Finds a user by e-mail (stored lower-cased).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.email = $1");
        Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(email)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Updates profile fields; `None` leaves a field unchanged.
    pub async fn update_user(
        &self,
        id: i64,
        name: Option<&str>,
        display_name: Option<&str>,
        email: Option<&str>,
        password_hash: Option<&str>,
    ) -> Result<UserRow> {
        let sql = format!(
            "UPDATE users SET name = COALESCE($2, name), display_name = COALESCE($3, display_name),
               email = COALESCE($4, email), password_hash = COALESCE($5, password_hash), updated_at = $6
             WHERE id = $1 RETURNING {USER_RET}"
        );
        Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(name)
            .bind(display_name)
            .bind(email)
            .bind(password_hash)
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// All accounts a user belongs to, with the role in each.
    pub async fn memberships(&self, user_id: i64) -> Result<Vec<MembershipRow>> {
        Ok(sqlx::query_as::<_, MembershipRow>(
            "SELECT au.account_id, a.name AS account_name, au.user_id, au.role, au.availability, au.auto_offline
             FROM account_users au JOIN accounts a ON a.id = au.account_id
             WHERE au.user_id = $1 ORDER BY au.account_id",
        )
        .bind(user_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// Adds a user to an account with a role, or changes the role if already a member.
    pub async fn upsert_membership(&self, account_id: i64, user_id: i64, role: Role) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        insert_membership(&mut tx, account_id, user_id, role, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes availability or the auto-offline flag of a member.
    pub async fn update_membership(
        &self,
        account_id: i64,
        user_id: i64,
        role: Option<Role>,
        availability: Option<&str>,
        auto_offline: Option<bool>,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE account_users SET role = COALESCE($3, role), availability = COALESCE($4, availability),
               auto_offline = COALESCE($5, auto_offline)
             WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(role.map(Role::as_str))
        .bind(availability)
        .bind(auto_offline.map(i64::from))
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes a user from an account, and from that account's inboxes and teams, and
    /// unassigns the account's conversations they held.
    pub async fn remove_membership(&self, account_id: i64, user_id: i64) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        if delete_membership(&mut tx, account_id, user_id).await? == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Members of an account as agents, ordered by name.
    pub async fn agents(&self, account_id: i64) -> Result<Vec<AgentRow>> {
        Ok(sqlx::query_as::<_, AgentRow>(
            "SELECT u.id, au.account_id, u.name, u.display_name, u.email, u.avatar_url, au.role, au.availability, au.auto_offline, au.max_open, au.presence
             FROM account_users au JOIN users u ON u.id = au.user_id
             WHERE au.account_id = $1 ORDER BY u.name, u.id",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// One member of an account as an agent; `NotFound` if not a member.
    pub async fn agent(&self, account_id: i64, user_id: i64) -> Result<AgentRow> {
        Ok(sqlx::query_as::<_, AgentRow>(
            "SELECT u.id, au.account_id, u.name, u.display_name, u.email, u.avatar_url, au.role, au.availability, au.auto_offline, au.max_open, au.presence
             FROM account_users au JOIN users u ON u.id = au.user_id
             WHERE au.account_id = $1 AND au.user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_one(self.reader())
        .await?)
    }

    /// Stores the hash of a new API access token for a user.
    pub async fn add_access_token(&self, user_id: i64, token: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(token_hash(token))
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Replaces all of a user's API tokens with a new one (Chatwoot's reset).
    pub async fn replace_access_tokens(&self, user_id: i64, token: &str) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("DELETE FROM access_tokens WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO access_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(token_hash(token))
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user owning an API token, with every membership, in one query (it runs on
    /// every API request), if any.
    pub async fn user_by_access_token(&self, token: &str) -> Result<Option<SignedIn>> {
        self.signed_in(
            "access_tokens x",
            "x.token_hash = $1",
            token_hash(token),
            None,
        )
        .await
    }

    /// The user behind a credential table row (`source` aliased `x`, with `user_id`), with
    /// memberships: one row per membership, or one with NULL membership columns.
    async fn signed_in(
        &self,
        source: &str,
        condition: &str,
        hash: String,
        now: Option<i64>,
    ) -> Result<Option<SignedIn>> {
        let sql = format!(
            "SELECT {USER_COLS}, au.account_id AS m_account_id, a.name AS m_account_name, au.role AS m_role, \
                    au.availability AS m_availability, au.auto_offline AS m_auto_offline \
             FROM {source} JOIN users u ON u.id = x.user_id \
             LEFT JOIN account_users au ON au.user_id = u.id \
             LEFT JOIN accounts a ON a.id = au.account_id \
             WHERE {condition} ORDER BY au.account_id"
        );
        let mut q = sqlx::query_as::<_, UserMembershipRow>(sqlx::AssertSqlSafe(sql)).bind(hash);
        if let Some(now) = now {
            q = q.bind(now);
        }
        let rows = q.fetch_all(self.reader()).await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let user = first.user.clone();
        let memberships = rows
            .into_iter()
            .filter_map(|r| {
                Some(MembershipRow {
                    account_id: r.m_account_id?,
                    account_name: r.m_account_name?,
                    user_id: user.id,
                    role: r.m_role?,
                    availability: r.m_availability?,
                    auto_offline: r.m_auto_offline?,
                })
            })
            .collect();
        Ok(Some(SignedIn { user, memberships }))
    }

    /// Stores a new browser session.
    pub async fn create_session(&self, user_id: i64, token: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO sessions (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(token_hash(token))
            .bind(self.now())
            .bind(expires_at)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The user of a live (unexpired) session, with every membership, if any.
    pub async fn user_by_session(&self, token: &str) -> Result<Option<SignedIn>> {
        self.signed_in(
            "sessions x",
            "x.token_hash = $1 AND x.expires_at > $2",
            token_hash(token),
            Some(self.now()),
        )
        .await
    }

    /// Ends a session.
    pub async fn delete_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Ends every session of a user (after a password change), optionally keeping one.
    pub async fn delete_user_sessions(&self, user_id: i64, keep: Option<&str>) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.map(token_hash).unwrap_or_default())
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    u: &NewUser<'_>,
    now: i64,
) -> Result<UserRow> {
    let sql = format!(
        "INSERT INTO users (name, display_name, email, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {USER_RET}"
    );
    Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
        .bind(u.name)
        .bind(u.display_name)
        .bind(u.email)
        .bind(u.password_hash)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

/// Deletes a user's membership of an account with everything that hangs on it there:
/// their inbox and team memberships and their assignments (the conversations stay,
/// unassigned). Returns how many memberships were deleted (0 or 1). Shared by removing a
/// membership and removing an agent, which differ only in their checks.
pub(crate) async fn delete_membership(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    user_id: i64,
) -> Result<u64> {
    let removed = sqlx::query("DELETE FROM account_users WHERE account_id = $1 AND user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    for sql in [
        "DELETE FROM inbox_members WHERE user_id = $2 AND inbox_id IN (SELECT id FROM inboxes WHERE account_id = $1)",
        "DELETE FROM team_members WHERE user_id = $2 AND team_id IN (SELECT id FROM teams WHERE account_id = $1)",
        "UPDATE conversations SET assignee_id = NULL WHERE account_id = $1 AND assignee_id = $2",
    ] {
        sqlx::query(sql)
            .bind(account_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(removed)
}

async fn insert_membership(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    user_id: i64,
    role: Role,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_users (account_id, user_id, role, availability, created_at)
         VALUES ($1, $2, $3, 'online', $4)
         ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
