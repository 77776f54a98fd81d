//! Notes about a contact, written by agents; scoped by account and contact like every
//! other lookup, so another tenant's note id reads as missing.

use crate::durable::Durable;
use sqlx::FromRow;

use crate::{Result, Store, StoreError};

/// A note with its author's name (the author may have been deleted).
#[derive(Debug, Clone, FromRow)]
pub struct NoteRow {
    pub id: i64,
    pub account_id: i64,
    pub contact_id: i64,
    pub user_id: Option<i64>,
    pub content: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub user_name: Option<String>,
    pub user_display_name: Option<String>,
    pub user_avatar_url: Option<String>,
}

const NOTE_SELECT: &str =
    "SELECT n.id, n.account_id, n.contact_id, n.user_id, n.content, n.created_at, n.updated_at,
        u.name AS user_name, u.display_name AS user_display_name, u.avatar_url AS user_avatar_url
     FROM contact_notes n LEFT JOIN users u ON u.id = n.user_id";

/// At most this many notes are listed (newest first).
pub const MAX_NOTES_LISTED: i64 = 500;

impl Store {
    /// The contact's notes, newest first.
    pub async fn contact_notes(&self, account_id: i64, contact_id: i64) -> Result<Vec<NoteRow>> {
        let sql = format!(
            "{NOTE_SELECT} WHERE n.account_id = $1 AND n.contact_id = $2 ORDER BY n.id DESC LIMIT {MAX_NOTES_LISTED}"
        );
        Ok(sqlx::query_as::<_, NoteRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(contact_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One note of the contact.
    pub async fn contact_note(&self, account_id: i64, contact_id: i64, id: i64) -> Result<NoteRow> {
        let sql =
            format!("{NOTE_SELECT} WHERE n.account_id = $1 AND n.contact_id = $2 AND n.id = $3");
        sqlx::query_as::<_, NoteRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(contact_id)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Adds a note; the contact must belong to the account.
    pub async fn create_contact_note(
        &self,
        account_id: i64,
        contact_id: i64,
        user_id: i64,
        content: &str,
    ) -> Result<NoteRow> {
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO contact_notes (account_id, contact_id, user_id, content, created_at, updated_at)
             SELECT $1, id, $3, $4, $5, $5 FROM contacts WHERE account_id = $1 AND id = $2
             RETURNING id",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(user_id)
        .bind(content)
        .bind(self.now())
        .fetch_optional_durable(self.writer())
        .await?;
        let (id,) = row.ok_or(StoreError::NotFound)?;
        self.contact_note(account_id, contact_id, id).await
    }

    /// Replaces a note's text.
    pub async fn update_contact_note(
        &self,
        account_id: i64,
        contact_id: i64,
        id: i64,
        content: &str,
    ) -> Result<NoteRow> {
        let r = sqlx::query(
            "UPDATE contact_notes SET content = $4, updated_at = $5
             WHERE account_id = $1 AND contact_id = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(id)
        .bind(content)
        .bind(self.now())
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.contact_note(account_id, contact_id, id).await
    }

    /// Deletes a note.
    pub async fn delete_contact_note(
        &self,
        account_id: i64,
        contact_id: i64,
        id: i64,
    ) -> Result<()> {
        let r = sqlx::query(
            "DELETE FROM contact_notes WHERE account_id = $1 AND contact_id = $2 AND id = $3",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(id)
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
