//! Teams (departments such as delivery or payments) and their members. Names are unique
//! per account, so a duplicate is a `Conflict`, not a second department with the same name.

use crate::durable::Durable;
use sqlx::FromRow;

use crate::agents::{MemberOp, MemberTable, MembersOutcome};
use crate::users::AgentRow;
use crate::{Result, Store};

/// A stored team.
#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Per-agent limit for this team's conversations; `None`: the account default.
    pub max_open: Option<i64>,
}

const TEAM_COLS: &str =
    "id, account_id, name, description, allow_auto_assign, created_at, updated_at, max_open";

/// A partial update of a team; `None` leaves a field unchanged, `Some(None)` clears the
/// description.
#[derive(Debug, Clone, Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub allow_auto_assign: Option<bool>,
}

impl Store {
    /// Creates a team; `Conflict` if the account already has one with this name.
    pub async fn create_team(
        &self,
        account_id: i64,
        name: &str,
        description: Option<&str>,
        allow_auto_assign: bool,
    ) -> Result<TeamRow> {
        let sql = format!(
            "INSERT INTO teams (account_id, name, description, allow_auto_assign, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {TEAM_COLS}"
        );
        Ok(sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(name)
            .bind(description)
            .bind(i64::from(allow_auto_assign))
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// The account's teams, by name.
    pub async fn teams(&self, account_id: i64) -> Result<Vec<TeamRow>> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams WHERE account_id = $1 ORDER BY name, id");
        Ok(sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One team of the account; `NotFound` for ids of other accounts.
    pub async fn team(&self, account_id: i64, id: i64) -> Result<TeamRow> {
        let sql = format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_one(self.reader())
            .await?)
    }

    /// Updates a team; `NotFound` or `Conflict` (name taken).
    pub async fn update_team(
        &self,
        account_id: i64,
        id: i64,
        patch: &TeamPatch,
    ) -> Result<TeamRow> {
        let (set_desc, desc) = match &patch.description {
            None => (0i64, None),
            Some(d) => (1i64, d.as_deref()),
        };
        let sql = format!(
            "UPDATE teams SET name = COALESCE($3, name),
               description = CASE WHEN $4 = 1 THEN $5 ELSE description END,
               allow_auto_assign = COALESCE($6, allow_auto_assign), updated_at = $7
             WHERE id = $1 AND account_id = $2 RETURNING {TEAM_COLS}"
        );
        Ok(sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(patch.name.as_deref())
            .bind(set_desc)
            .bind(desc)
            .bind(patch.allow_auto_assign.map(i64::from))
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// Deletes a team; its conversations keep existing without a team (by the schema's
    /// `ON DELETE SET NULL`).
    pub async fn delete_team(&self, account_id: i64, id: i64) -> Result<()> {
        self.delete_in_account("teams", account_id, id).await
    }

    /// Agents of a team. `NotFound` if the team is not in the account.
    pub async fn team_members(&self, account_id: i64, team_id: i64) -> Result<Vec<AgentRow>> {
        self.list_members(MemberTable::Team, account_id, team_id)
            .await
    }

    /// Adds, replaces or removes agents of a team; see [`MembersOutcome`].
    pub async fn change_team_members(
        &self,
        account_id: i64,
        team_id: i64,
        op: MemberOp,
        user_ids: &[i64],
    ) -> Result<MembersOutcome> {
        self.change_members(MemberTable::Team, account_id, team_id, op, user_ids)
            .await
    }

    /// Ids of the account's teams a user belongs to (Chatwoot's `is_member` flag).
    pub async fn team_ids_for_user(&self, account_id: i64, user_id: i64) -> Result<Vec<i64>> {
        self.container_ids_for_user(MemberTable::Team, account_id, user_id)
            .await
    }
}
