//! Persistence for Parley: one [`Store`] over the sqlx `Any` driver, serving the embedded
//! SQLite database and PostgreSQL with the same SQL.
//!
//! Why one implementation instead of one per backend: nearly every query is portable
//! (`$n` placeholders, `RETURNING`, `ON CONFLICT`, partial indexes), so a second copy would
//! only be a second place for bugs. What differs — migrations, connection pragmas, row
//! locking — is decided by [`Backend`] in one place each. Times are epoch milliseconds,
//! flags 0/1 integers and JSON text, which both backends decode identically through `Any`.

mod durable;
mod error;
pub mod health;
mod json_rows;
mod pool;

pub mod accounts;
pub mod agent_bots;
pub mod agents;
pub mod automation;
pub mod campaigns;
pub mod canned;
pub mod channels;
pub mod contact_merge;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod exports;
pub mod inboxes;
pub mod invitations;
pub mod jobs;
pub mod labels;
pub mod mentions;
pub mod messages;
pub mod notes;
pub mod onboarding;
pub mod public;
pub mod report_queries;
pub mod reports;
pub mod reports_backfill;
pub mod routing;
pub mod search;
pub mod teams;
pub mod transfer;
pub mod users;
pub mod webhooks;
pub mod widget;

pub use error::{StoreError, Unavailable};
pub use pool::{Backend, PING_TIMEOUT, Store, StoreOptions};

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

impl Store {
    /// Deletes the row `id` of an account-owned `table`; `NotFound` if the account has no
    /// such row, so another account's id behaves exactly like a missing one. Dependent rows
    /// go by the schema's cascades.
    pub(crate) async fn delete_in_account(
        &self,
        table: &'static str,
        account_id: i64,
        id: i64,
    ) -> Result<()> {
        let sql = format!("DELETE FROM {table} WHERE id = $1 AND account_id = $2");
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .execute(self.writer())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// A 0/1 flag as stored.
#[allow(dead_code)] // used by the feature modules
/// Row `id` of `table` when it belongs to `account_id` (`cols` as `R` reads them), the one
/// query behind every "one setting of the account" read (rules, macros, campaigns, bots):
/// another account's id reads as missing, exactly like an unknown one.
pub(crate) async fn fetch_in_account<'c, E, R>(
    conn: E,
    table: &'static str,
    cols: &'static str,
    account_id: i64,
    id: i64,
) -> Result<Option<R>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let sql = format!("SELECT {cols} FROM {table} WHERE account_id = $1 AND id = $2");
    Ok(sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Deletes row `id` of `table` when it belongs to `account_id` (the settings an
/// administrator removes: rules, macros, campaigns, bots); [`StoreError::NotFound`] when no
/// such row is in the account, so another account's ids read as unknown.
pub(crate) async fn delete_in_account<'c, E>(
    conn: E,
    table: &'static str,
    account_id: i64,
    id: i64,
) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!("DELETE FROM {table} WHERE account_id = $1 AND id = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(id)
        .execute(conn)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A random URL-safe token of `bytes` random bytes, hex encoded. Used for public
/// identifiers (inbox identifiers, contact source ids, pubsub tokens) and credentials.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of a high-entropy secret, hex encoded: how tokens and sessions are stored, so a
/// leaked database does not leak usable credentials.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}
