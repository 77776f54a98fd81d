//! Canned responses: saved replies an operator inserts by short code. Short codes are
//! unique per account (a duplicate is a `Conflict`).

use crate::durable::Durable;
use sqlx::FromRow;

use crate::{Result, Store};

/// A stored canned response.
#[derive(Debug, Clone, FromRow)]
pub struct CannedRow {
    pub id: i64,
    pub account_id: i64,
    pub short_code: String,
    pub content: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const CANNED_COLS: &str = "id, account_id, short_code, content, created_at, updated_at";

/// At most this many canned responses are considered by one search. An account's saved
/// replies are a hand-written list (dozens to hundreds), so this bounds the work of a
/// search without ever hiding a real response.
pub const CANNED_SEARCH_LIMIT: i64 = 5_000;

impl Store {
    /// Creates a canned response; `Conflict` if the short code is taken.
    pub async fn create_canned(
        &self,
        account_id: i64,
        short_code: &str,
        content: &str,
    ) -> Result<CannedRow> {
        let sql = format!(
            "INSERT INTO canned_responses (account_id, short_code, content, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING {CANNED_COLS}"
        );
        Ok(sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(short_code)
            .bind(content)
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// The account's canned responses by short code, optionally only those whose short
    /// code or content contains `search`, case-insensitively; short-code prefix matches
    /// come first, as an operator typing `/deliv` expects.
    ///
    /// The match is done in Rust rather than with SQL `LOWER`/`LIKE` because SQLite's
    /// `LOWER` folds only ASCII, and Russian replies must match regardless of case too.
    pub async fn canned_responses(
        &self,
        account_id: i64,
        search: Option<&str>,
    ) -> Result<Vec<CannedRow>> {
        let sql = format!(
            "SELECT {CANNED_COLS} FROM canned_responses WHERE account_id = $1 ORDER BY short_code, id LIMIT $2"
        );
        let rows = sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(CANNED_SEARCH_LIMIT)
            .fetch_all(self.reader())
            .await?;
        let needle = match search.map(str::trim) {
            None | Some("") => return Ok(rows),
            Some(s) => s.to_lowercase(),
        };
        let mut hits: Vec<(bool, CannedRow)> = rows
            .into_iter()
            .filter_map(|r| {
                let code = r.short_code.to_lowercase();
                let prefix = code.starts_with(&needle);
                (prefix || code.contains(&needle) || r.content.to_lowercase().contains(&needle))
                    .then_some((!prefix, r))
            })
            .collect();
        // Stable: within each group the short-code order of the query is kept.
        hits.sort_by_key(|(not_prefix, _)| *not_prefix);
        Ok(hits.into_iter().map(|(_, r)| r).collect())
    }

    /// One canned response of the account; `NotFound` for ids of other accounts.
    pub async fn canned_response(&self, account_id: i64, id: i64) -> Result<CannedRow> {
        let sql =
            format!("SELECT {CANNED_COLS} FROM canned_responses WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_one(self.reader())
            .await?)
    }

    /// Updates a canned response; `NotFound` or `Conflict` (short code taken).
    pub async fn update_canned(
        &self,
        account_id: i64,
        id: i64,
        short_code: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedRow> {
        let sql = format!(
            "UPDATE canned_responses SET short_code = COALESCE($3, short_code),
               content = COALESCE($4, content), updated_at = $5
             WHERE id = $1 AND account_id = $2 RETURNING {CANNED_COLS}"
        );
        Ok(sqlx::query_as::<_, CannedRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(short_code)
            .bind(content)
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// Deletes a canned response.
    pub async fn delete_canned(&self, account_id: i64, id: i64) -> Result<()> {
        self.delete_in_account("canned_responses", account_id, id)
            .await
    }
}
