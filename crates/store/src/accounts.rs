//! Accounts: the tenants. Every other row belongs to exactly one account.

use crate::durable::Durable;
use sqlx::FromRow;

use crate::{Result, Store};

/// A stored account.
#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub locale: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Creates an account.
    pub async fn create_account(&self, name: &str, locale: &str) -> Result<AccountRow> {
        let now = self.now();
        let row = sqlx::query_as::<_, AccountRow>(
            "INSERT INTO accounts (name, locale, created_at, updated_at) VALUES ($1, $2, $3, $3)
             RETURNING id, name, locale, created_at, updated_at",
        )
        .bind(name)
        .bind(locale)
        .bind(now)
        .fetch_one_durable(self.writer())
        .await?;
        Ok(row)
    }

    /// Finds an account by id.
    pub async fn account(&self, id: i64) -> Result<AccountRow> {
        Ok(sqlx::query_as::<_, AccountRow>(
            "SELECT id, name, locale, created_at, updated_at FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(self.reader())
        .await?)
    }

    /// Finds an account by its exact name (the CLI's `--account NAME`).
    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>> {
        Ok(sqlx::query_as::<_, AccountRow>(
            "SELECT id, name, locale, created_at, updated_at FROM accounts WHERE name = $1 ORDER BY id LIMIT 1",
        )
        .bind(name)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Renames an account or changes its locale.
    pub async fn update_account(&self, id: i64, name: &str, locale: &str) -> Result<AccountRow> {
        Ok(sqlx::query_as::<_, AccountRow>(
            "UPDATE accounts SET name = $2, locale = $3, updated_at = $4 WHERE id = $1
             RETURNING id, name, locale, created_at, updated_at",
        )
        .bind(id)
        .bind(name)
        .bind(locale)
        .bind(self.now())
        .fetch_one_durable(self.writer())
        .await?)
    }

    /// Takes the next per-account conversation number (Chatwoot's `display_id`). Atomic on
    /// both backends: the increment and the read are one statement.
    pub async fn next_display_id<'c, E>(executor: E, account_id: i64) -> Result<i64>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let (n,): (i64,) = sqlx::query_as(
            "UPDATE accounts SET next_display_id = next_display_id + 1 WHERE id = $1 RETURNING next_display_id",
        )
        .bind(account_id)
        // To the end, not `fetch_one`: outside a transaction the commit comes after the
        // row (see `crate::durable`).
        .fetch_all(executor)
        .await?
        .into_iter()
        .next()
        .ok_or(crate::StoreError::NotFound)?;
        Ok(n)
    }
}
