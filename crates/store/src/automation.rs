//! Automation rules, macros, and the rule engine's cursor over the event log.
//!
//! Why a cursor: rules answer events, and the event log already holds every committed
//! change in commit order with a dense per-account cursor ([`crate::events`]). The engine
//! reads the events after its cursor and, in one transaction, moves the cursor
//! (compare-and-set) and schedules a durable job per rule that matched; so an event is
//! considered once across the cluster, a rule's actions run once (the job runner claims
//! each job on one node), and the message path pays nothing.

use sqlx::FromRow;

use crate::jobs::{NewJob, OnExisting, insert_job_in};
use crate::{Result, Store, StoreError};

/// A stored rule; `conditions` and `actions` are JSON arrays.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct RuleRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub event_name: String,
    pub conditions: String,
    pub actions: String,
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const RULE_COLS: &str = "id, account_id, name, description, event_name, conditions, actions, \
     active, created_at, updated_at";

/// A rule's fields as written.
#[derive(Debug, Clone)]
pub struct RuleFields {
    pub name: String,
    pub description: Option<String>,
    pub event_name: String,
    pub conditions: String,
    pub actions: String,
    pub active: bool,
}

/// A stored macro; `actions` is a JSON array.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct MacroRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub visibility: String,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub actions: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const MACRO_COLS: &str =
    "id, account_id, name, visibility, created_by, updated_by, actions, created_at, updated_at";

/// An account whose log is ahead of the engine's cursor.
#[derive(Debug, Clone, FromRow)]
pub struct Behind {
    pub account_id: i64,
    pub cursor: i64,
    pub head: i64,
}

impl Store {
    /// The account's rules, oldest first.
    pub async fn automation_rules(&self, account_id: i64) -> Result<Vec<RuleRow>> {
        let sql =
            format!("SELECT {RULE_COLS} FROM automation_rules WHERE account_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<_, RuleRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One rule of the account.
    pub async fn automation_rule(&self, account_id: i64, id: i64) -> Result<Option<RuleRow>> {
        crate::fetch_in_account(self.writer(), "automation_rules", RULE_COLS, account_id, id).await
    }

    /// Stores a new rule, unless the account already has `max` rules (then `None`). The
    /// engine's cursor starts at the log's head when the account's first rule is made, so
    /// rules answer what happens from now on.
    pub async fn create_automation_rule(
        &self,
        account_id: i64,
        f: &RuleFields,
        max: i64,
    ) -> Result<Option<RuleRow>> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM automation_rules WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        if count >= max {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO automation_cursors (account_id, cursor)
             VALUES ($1, COALESCE((SELECT seq FROM event_heads WHERE account_id = $1), 0))
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "INSERT INTO automation_rules (account_id, name, description, event_name, conditions,
                actions, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {RULE_COLS}"
        );
        let row = sqlx::query_as::<_, RuleRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(f.name.clone())
            .bind(f.description.clone())
            .bind(f.event_name.clone())
            .bind(f.conditions.clone())
            .bind(f.actions.clone())
            .bind(i64::from(f.active))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Replaces a rule's fields.
    pub async fn update_automation_rule(
        &self,
        account_id: i64,
        id: i64,
        f: &RuleFields,
    ) -> Result<RuleRow> {
        let sql = format!(
            "UPDATE automation_rules SET name = $3, description = $4, event_name = $5,
                conditions = $6, actions = $7, active = $8, updated_at = $9
             WHERE account_id = $1 AND id = $2 RETURNING {RULE_COLS}"
        );
        sqlx::query_as::<_, RuleRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(f.name.clone())
            .bind(f.description.clone())
            .bind(f.event_name.clone())
            .bind(f.conditions.clone())
            .bind(f.actions.clone())
            .bind(i64::from(f.active))
            .bind(self.now())
            .fetch_optional(self.writer())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a rule (its webhook receivers and their deliveries go with it).
    pub async fn delete_automation_rule(&self, account_id: i64, id: i64) -> Result<()> {
        crate::delete_in_account(self.writer(), "automation_rules", account_id, id).await?;
        Ok(())
    }

    /// Accounts whose event log is ahead of the engine's cursor.
    pub async fn automation_behind(&self, limit: i64) -> Result<Vec<Behind>> {
        Ok(sqlx::query_as::<_, Behind>(
            "SELECT c.account_id, c.cursor, h.seq AS head FROM automation_cursors c
             JOIN event_heads h ON h.account_id = c.account_id
             WHERE h.seq > c.cursor ORDER BY c.account_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.poll_reader())
        .await?)
    }

    /// Moves the account's cursor from `from` to `to` and schedules `jobs` (each with how
    /// it treats a job already pending under its key), in one transaction; `false` (nothing scheduled) when
    /// the cursor is no longer at `from`: another node took these events.
    pub async fn advance_automation(
        &self,
        account_id: i64,
        from: i64,
        to: i64,
        jobs: &[(NewJob<'_>, OnExisting)],
    ) -> Result<bool> {
        let Some(mut tx) = self
            .begin_cursor_move(
                "UPDATE automation_cursors SET cursor = $3 WHERE account_id = $1 AND cursor = $2",
                account_id,
                (from, to),
            )
            .await?
        else {
            return Ok(false);
        };
        let now = self.now();
        for (job, on_existing) in jobs {
            insert_job_in(&mut tx, job, *on_existing, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Macros `user_id` may see in the account: the global ones and their own, oldest
    /// first.
    pub async fn macros(&self, account_id: i64, user_id: i64) -> Result<Vec<MacroRow>> {
        let sql = format!(
            "SELECT {MACRO_COLS} FROM macros WHERE account_id = $1
             AND (visibility = 'global' OR created_by = $2) ORDER BY id"
        );
        Ok(sqlx::query_as::<_, MacroRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(user_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One macro of the account, whoever may see it.
    pub async fn macro_row(&self, account_id: i64, id: i64) -> Result<Option<MacroRow>> {
        crate::fetch_in_account(self.writer(), "macros", MACRO_COLS, account_id, id).await
    }

    /// Stores a new macro unless the account has `max` already (`None`).
    pub async fn create_macro(
        &self,
        account_id: i64,
        user_id: i64,
        name: &str,
        visibility: &str,
        actions: &str,
        max: i64,
    ) -> Result<Option<MacroRow>> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM macros WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        if count >= max {
            return Ok(None);
        }
        let sql = format!(
            "INSERT INTO macros (account_id, name, visibility, created_by, updated_by, actions,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4, $5, $6, $6) RETURNING {MACRO_COLS}"
        );
        let row = sqlx::query_as::<_, MacroRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(name.to_string())
            .bind(visibility.to_string())
            .bind(user_id)
            .bind(actions.to_string())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// Replaces a macro's fields.
    pub async fn update_macro(
        &self,
        account_id: i64,
        id: i64,
        user_id: i64,
        name: &str,
        visibility: &str,
        actions: &str,
    ) -> Result<MacroRow> {
        let sql = format!(
            "UPDATE macros SET name = $3, visibility = $4, actions = $5, updated_by = $6,
                updated_at = $7
             WHERE account_id = $1 AND id = $2 RETURNING {MACRO_COLS}"
        );
        sqlx::query_as::<_, MacroRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(name.to_string())
            .bind(visibility.to_string())
            .bind(actions.to_string())
            .bind(user_id)
            .bind(self.now())
            .fetch_optional(self.writer())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes a macro.
    pub async fn delete_macro(&self, account_id: i64, id: i64) -> Result<()> {
        crate::delete_in_account(self.writer(), "macros", account_id, id).await?;
        Ok(())
    }

    /// Conversations of the account created or active since `since_ms`, newest first, at
    /// most `limit`: the candidates of a rule's dry run.
    pub async fn recent_conversation_ids(
        &self,
        account_id: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, display_id FROM conversations
             WHERE account_id = $1 AND last_activity_at >= $2
             ORDER BY last_activity_at DESC, id DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }
}
