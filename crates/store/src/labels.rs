//! Labels: the account's vocabulary of tags for conversations and contacts. Titles are
//! unique per account (a duplicate is a `Conflict`); conversations and contacts refer to
//! a label by its title.

use crate::durable::Durable;
use sqlx::FromRow;

use crate::{Result, Store};

/// A stored label.
#[derive(Debug, Clone, FromRow)]
pub struct LabelRow {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub color: String,
    pub show_on_sidebar: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const LABEL_COLS: &str =
    "id, account_id, title, description, color, show_on_sidebar, created_at, updated_at";

/// A partial update of a label; `Some(None)` clears the description.
#[derive(Debug, Clone, Default)]
pub struct LabelPatch {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub color: Option<String>,
    pub show_on_sidebar: Option<bool>,
}

impl Store {
    /// Creates a label; `Conflict` if the title is taken in this account.
    pub async fn create_label(
        &self,
        account_id: i64,
        title: &str,
        description: Option<&str>,
        color: &str,
        show_on_sidebar: bool,
    ) -> Result<LabelRow> {
        let sql = format!(
            "INSERT INTO labels (account_id, title, description, color, show_on_sidebar, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {LABEL_COLS}"
        );
        Ok(sqlx::query_as::<_, LabelRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(title)
            .bind(description)
            .bind(color)
            .bind(i64::from(show_on_sidebar))
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// The account's labels, by title.
    pub async fn labels(&self, account_id: i64) -> Result<Vec<LabelRow>> {
        let sql =
            format!("SELECT {LABEL_COLS} FROM labels WHERE account_id = $1 ORDER BY title, id");
        Ok(sqlx::query_as::<_, LabelRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One label of the account; `NotFound` for ids of other accounts.
    pub async fn label(&self, account_id: i64, id: i64) -> Result<LabelRow> {
        let sql = format!("SELECT {LABEL_COLS} FROM labels WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query_as::<_, LabelRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_one(self.reader())
            .await?)
    }

    /// Updates a label; `NotFound` or `Conflict` (title taken). A new title is carried
    /// over, in the same transaction, to the account's conversations and contacts tagged
    /// with the old one, since they refer to labels by title.
    pub async fn update_label(
        &self,
        account_id: i64,
        id: i64,
        patch: &LabelPatch,
    ) -> Result<LabelRow> {
        let (set_desc, desc) = match &patch.description {
            None => (0i64, None),
            Some(d) => (1i64, d.as_deref()),
        };
        let mut tx = self.writer().begin().await?;
        let old = sqlx::query_as::<_, (String,)>(
            "SELECT title FROM labels WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await?
        .0;
        let sql = format!(
            "UPDATE labels SET title = COALESCE($3, title),
               description = CASE WHEN $4 = 1 THEN $5 ELSE description END,
               color = COALESCE($6, color), show_on_sidebar = COALESCE($7, show_on_sidebar),
               updated_at = $8
             WHERE id = $1 AND account_id = $2 RETURNING {LABEL_COLS}"
        );
        let row = sqlx::query_as::<_, LabelRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(patch.title.as_deref())
            .bind(set_desc)
            .bind(desc)
            .bind(patch.color.as_deref())
            .bind(patch.show_on_sidebar.map(i64::from))
            .bind(self.now())
            .fetch_one(&mut *tx)
            .await?;
        if row.title != old {
            for (table, key, owner) in [
                ("conversation_labels", "conversation_id", "conversations"),
                ("contact_labels", "contact_id", "contacts"),
            ] {
                // Rows already carrying the new title would collide with the renamed ones.
                let dedupe = format!(
                    "DELETE FROM {table} WHERE label = $2
                       AND {key} IN (SELECT id FROM {owner} WHERE account_id = $1)
                       AND {key} IN (SELECT {key} FROM {table} WHERE label = $3)"
                );
                let rename = format!(
                    "UPDATE {table} SET label = $3 WHERE label = $2
                       AND {key} IN (SELECT id FROM {owner} WHERE account_id = $1)"
                );
                for sql in [dedupe, rename] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(account_id)
                        .bind(&old)
                        .bind(&row.title)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a label definition.
    pub async fn delete_label(&self, account_id: i64, id: i64) -> Result<()> {
        self.delete_in_account("labels", account_id, id).await
    }
}
