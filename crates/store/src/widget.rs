//! Queries of the website widget that no other feature needs: the visitor context kept in a
//! conversation's `additional_attributes`, whether a conversation already had its
//! satisfaction survey, and the one website inbox the `/demo` page may show.

use crate::conversations::{CONVERSATION_COLS, ConversationRow};
use crate::durable::Durable;
use crate::{Result, Store, StoreError};

impl Store {
    /// Replaces a conversation's `additional_attributes` (JSON object text) and returns the
    /// updated row. The caller merges; a single UPDATE keeps it atomic on both backends.
    pub async fn set_conversation_additional_attributes(
        &self,
        id: i64,
        json: &str,
    ) -> Result<ConversationRow> {
        let sql = format!(
            "UPDATE conversations SET additional_attributes = $2, updated_at = $3 WHERE id = $1
             RETURNING {CONVERSATION_COLS}"
        );
        sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(json.to_string())
            .bind(self.now())
            .fetch_optional_durable(self.writer())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Whether the conversation has a message of `content_type` (the survey is sent once).
    pub async fn conversation_has_content_type(
        &self,
        conversation_id: i64,
        content_type: &str,
    ) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM messages WHERE conversation_id = $1 AND content_type = $2 LIMIT 1",
        )
        .bind(conversation_id)
        .bind(content_type.to_string())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.is_some())
    }

    /// The public identifier of the server's only website inbox, or `None` when there are
    /// none or several (the demo page then asks for a token instead of picking a tenant).
    pub async fn sole_website_inbox_identifier(&self) -> Result<Option<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT identifier FROM inboxes WHERE channel_type = $1 ORDER BY id LIMIT 2",
        )
        .bind(parley_core::ChannelType::WebWidget.as_str())
        .fetch_all(self.reader())
        .await?;
        Ok(match rows.as_slice() {
            [(only,)] => Some(only.clone()),
            _ => None,
        })
    }
}
