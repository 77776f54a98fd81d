//! Contacts (the shop's customers) and their per-inbox identities (`contact_inboxes`).
//! Every query is scoped by account.

use sqlx::FromRow;

use crate::{Result, Store};

/// A stored contact.
#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub account_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    pub custom_attributes: String,
    pub additional_attributes: String,
    pub blocked: i64,
    pub last_activity_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Columns of [`ContactRow`] for SELECTs (unqualified, usable in RETURNING on SQLite too).
pub const CONTACT_COLS: &str = "id, account_id, name, email, phone_number, identifier, avatar_url, custom_attributes, \
     additional_attributes, blocked, last_activity_at, created_at, updated_at";

impl Store {
    /// A contact of an account; `NotFound` for other accounts' contacts.
    pub async fn contact(&self, account_id: i64, id: i64) -> Result<ContactRow> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = $1 AND id = $2");
        Ok(sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .fetch_one(self.reader())
            .await?)
    }
}
