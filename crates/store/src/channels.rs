//! External channels' bookkeeping: the lease that lets exactly one node of a cluster poll a
//! channel's provider, the cursor of its inbound stream (stored with the messages it
//! covers, see [`crate::messages::NewMessage::cursor`]), the conversation an inbound
//! message joins, and the delivery state of outgoing messages (the outbox).
//!
//! Idempotency of imports is the messages' own unique `(inbox_id, source_id)`: a channel
//! stores the provider's message id as the message's `source_id`, so a redelivered update
//! finds the stored message instead of creating a second one.

use parley_core::ChannelType;

use crate::conversations::{CONVERSATION_COLS, ConversationRow};
use crate::inboxes::InboxRow;
use crate::jobs::{NewJob, OnExisting, insert_job_in};
use crate::{Result, Store};

/// The job kind of an outgoing message waiting for its provider.
pub const DELIVER_JOB: &str = "deliver";

/// The job key of a message's delivery (one pending delivery per message).
pub fn deliver_job_key(message_id: i64) -> String {
    format!("deliver:{message_id}")
}

/// Schedules the delivery of `message_id` on `conn` (inside the message's transaction), so
/// a message is never stored as waiting without the job that delivers it.
pub(crate) async fn schedule_delivery_in(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    message_id: i64,
    now: i64,
) -> Result<()> {
    let key = deliver_job_key(message_id);
    let job = NewJob {
        key: &key,
        kind: DELIVER_JOB,
        account_id: Some(account_id),
        payload: format!("{{\"message_id\":{message_id}}}"),
        run_at: now,
    };
    insert_job_in(conn, &job, OnExisting::Replace, now).await?;
    Ok(())
}

/// Moves an inbox's cursor on `conn` (inside the transaction of what it covers).
pub(crate) async fn set_cursor_in(
    conn: &mut sqlx::AnyConnection,
    inbox_id: i64,
    cursor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO channel_cursors (inbox_id, cursor, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (inbox_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(inbox_id)
    .bind(cursor.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How an outgoing message's delivery ended (or moved on).
#[derive(Debug, Clone)]
pub struct DeliveryUpdate {
    /// `progress`, `sent` or `failed`.
    pub status: String,
    /// The new `content_attributes` (JSON object text).
    pub content_attributes: String,
    /// The provider's reason of a failure (`external_error`), `None` to clear it.
    pub external_error: Option<String>,
    /// The provider's id of the message, so a customer's reply to it can be threaded.
    pub source_id: Option<String>,
}

impl Store {
    /// Takes or renews the lease of `inbox_id` for `node` until `now + ttl_ms`; `false` when
    /// another node holds an unexpired lease.
    pub async fn take_channel_lease(&self, inbox_id: i64, node: &str, ttl_ms: i64) -> Result<bool> {
        let now = self.now();
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO channel_leases (inbox_id, node, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (inbox_id) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at
             WHERE channel_leases.node = excluded.node OR channel_leases.expires_at < $4
             RETURNING node",
        )
        .bind(inbox_id)
        .bind(node.to_string())
        .bind(now.saturating_add(ttl_ms))
        .bind(now)
        .fetch_optional(self.writer())
        .await?;
        Ok(row.is_some())
    }

    /// Gives up a lease this node holds (at shutdown, or when the inbox is gone).
    pub async fn release_channel_lease(&self, inbox_id: i64, node: &str) -> Result<()> {
        sqlx::query("DELETE FROM channel_leases WHERE inbox_id = $1 AND node = $2")
            .bind(inbox_id)
            .bind(node.to_string())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Gives up every lease of `node` (its shutdown).
    pub async fn release_node_leases(&self, node: &str) -> Result<()> {
        sqlx::query("DELETE FROM channel_leases WHERE node = $1")
            .bind(node.to_string())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The stored cursor of an inbox's inbound stream.
    pub async fn channel_cursor(&self, inbox_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT cursor FROM channel_cursors WHERE inbox_id = $1")
                .bind(inbox_id)
                .fetch_optional(self.writer())
                .await?;
        Ok(row.map(|(c,)| c))
    }

    /// Moves a cursor on its own (past updates that stored no message: an ignored group
    /// chat, an edit).
    pub async fn set_channel_cursor(&self, inbox_id: i64, cursor: &str) -> Result<()> {
        let mut conn = self.writer().acquire().await?;
        set_cursor_in(&mut conn, inbox_id, cursor, self.now()).await
    }

    /// Every inbox of a channel type, of all accounts (the channel runtime's work list).
    pub async fn inboxes_of_channel(&self, t: ChannelType) -> Result<Vec<InboxRow>> {
        let sql = format!(
            "SELECT {} FROM inboxes WHERE channel_type = $1 ORDER BY id",
            crate::inboxes::INBOX_COLS
        );
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(t.as_str())
            .fetch_all(self.reader())
            .await?)
    }

    /// An inbox by id alone (the webhook route and the channel runtime, which act for the
    /// inbox itself rather than for a user of an account).
    pub async fn inbox_by_id(&self, inbox_id: i64) -> Result<Option<InboxRow>> {
        let sql = format!(
            "SELECT {} FROM inboxes WHERE id = $1",
            crate::inboxes::INBOX_COLS
        );
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(inbox_id)
            .fetch_optional(self.writer())
            .await?)
    }

    /// The newest conversation of a contact in an inbox.
    pub async fn latest_conversation(
        &self,
        inbox_id: i64,
        contact_id: i64,
    ) -> Result<Option<ConversationRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations WHERE inbox_id = $1 AND contact_id = $2
             ORDER BY id DESC LIMIT 1"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(inbox_id)
                .bind(contact_id)
                .fetch_optional(self.writer())
                .await?,
        )
    }

    /// The message of an inbox with this provider id (`source_id`), with its conversation.
    pub async fn message_by_source(
        &self,
        inbox_id: i64,
        source_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, conversation_id FROM messages WHERE inbox_id = $1 AND source_id = $2",
        )
        .bind(inbox_id)
        .bind(source_id.to_string())
        .fetch_optional(self.writer())
        .await?)
    }

    /// Records a delivery step of an outgoing message. A `source_id` already taken in the
    /// inbox (it cannot be, for a provider's fresh id) is left unset rather than failing.
    pub async fn set_message_delivery(&self, message_id: i64, u: &DeliveryUpdate) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let taken = match &u.source_id {
            Some(s) => {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM messages WHERE source_id = $1 AND id <> $2
                     AND inbox_id = (SELECT inbox_id FROM messages WHERE id = $2)",
                )
                .bind(s.clone())
                .bind(message_id)
                .fetch_optional(&mut *tx)
                .await?;
                row.is_some()
            }
            None => false,
        };
        let r = sqlx::query(
            "UPDATE messages SET status = $2, content_attributes = $3, external_error = $4,
                source_id = COALESCE($5, source_id), updated_at = $6
             WHERE id = $1",
        )
        .bind(message_id)
        .bind(u.status.clone())
        .bind(u.content_attributes.clone())
        .bind(u.external_error.clone())
        .bind(if taken { None } else { u.source_id.clone() })
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts a failed message back in the outbox: `progress` again and its delivery job
    /// scheduled now, in one transaction.
    pub async fn requeue_delivery(
        &self,
        account_id: i64,
        message_id: i64,
        content_attributes: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let r = sqlx::query(
            "UPDATE messages SET status = 'progress', external_error = NULL, content_attributes = $2,
                updated_at = $3 WHERE id = $1 AND status = 'failed'",
        )
        .bind(message_id)
        .bind(content_attributes.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(crate::StoreError::Conflict("message_status".into()));
        }
        schedule_delivery_in(&mut tx, account_id, message_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A message by id alone, with its conversation id (the delivery job's lookup).
    pub async fn message_by_id(
        &self,
        message_id: i64,
    ) -> Result<Option<crate::messages::MessageWithAttachments>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT conversation_id FROM messages WHERE id = $1")
                .bind(message_id)
                .fetch_optional(self.writer())
                .await?;
        match row {
            Some((conv,)) => self.message(conv, message_id).await,
            None => Ok(None),
        }
    }

    /// The channel id of a conversation's contact: the `source_id` of the identity the
    /// conversation was started with (a Telegram chat id).
    pub async fn conversation_recipient(&self, conversation_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT ci.source_id FROM conversations c JOIN contact_inboxes ci ON ci.id = c.contact_inbox_id
             WHERE c.id = $1",
        )
        .bind(conversation_id)
        .fetch_optional(self.writer())
        .await?;
        Ok(row.map(|(s,)| s))
    }

    /// The contact and identity ids of a channel identity (`source_id`) in an inbox.
    pub async fn contact_identity_by_source(
        &self,
        inbox_id: i64,
        source_id: &str,
    ) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT contact_id, id FROM contact_inboxes WHERE inbox_id = $1 AND source_id = $2",
        )
        .bind(inbox_id)
        .bind(source_id.to_string())
        .fetch_optional(self.writer())
        .await?)
    }
}

/// The connection state of a channel inbox, as its runtime last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelStatusRow {
    pub inbox_id: i64,
    /// `connecting`, `connected` or `error`.
    pub state: String,
    /// The failure's stable code (`login_rejected`…), for `error`.
    pub code: Option<String>,
    /// The server's or the system's words.
    pub detail: Option<String>,
    /// The failure as a sentence for a manager, in English and Russian.
    pub message_en: Option<String>,
    pub message_ru: Option<String>,
    /// When this state (and code) began, epoch milliseconds.
    pub since: i64,
    pub updated_at: i64,
}

/// A connection state to record (see [`Store::set_channel_status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStatus {
    pub state: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub message_en: Option<String>,
    pub message_ru: Option<String>,
}

impl Store {
    /// Records an inbox's connection state; `since` moves only when the state or the
    /// code changes, so "error since 10:02" stays true across retries.
    pub async fn set_channel_status(&self, inbox_id: i64, s: &ChannelStatus) -> Result<()> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO channel_status (inbox_id, state, code, detail, message_en, message_ru, since, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $7 WHERE EXISTS (SELECT 1 FROM inboxes WHERE id = $1)
             ON CONFLICT (inbox_id) DO UPDATE SET
                since = CASE WHEN channel_status.state = excluded.state
                    AND COALESCE(channel_status.code, '') = COALESCE(excluded.code, '')
                    THEN channel_status.since ELSE excluded.since END,
                state = excluded.state, code = excluded.code, detail = excluded.detail,
                message_en = excluded.message_en, message_ru = excluded.message_ru,
                updated_at = excluded.updated_at",
        )
        .bind(inbox_id)
        .bind(s.state.clone())
        .bind(s.code.clone())
        .bind(s.detail.clone())
        .bind(s.message_en.clone())
        .bind(s.message_ru.clone())
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The recorded connection states of these inboxes (those that have one).
    pub async fn channel_statuses(&self, inbox_ids: &[i64]) -> Result<Vec<ChannelStatusRow>> {
        if inbox_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = inbox_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT inbox_id, state, code, detail, message_en, message_ru, since, updated_at
             FROM channel_status WHERE inbox_id IN ({list})"
        );
        Ok(
            sqlx::query_as::<_, ChannelStatusRow>(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// The contact of an account with this e-mail address (as stored, lowercase).
    pub async fn contact_id_by_email(&self, account_id: i64, email: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM contacts WHERE account_id = $1 AND email = $2")
                .bind(account_id)
                .bind(email.to_string())
                .fetch_optional(self.writer())
                .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Message-ids (`source_id`) of a conversation's messages that have one, oldest first,
    /// at most `limit` of the newest: the thread an e-mail reply refers to.
    pub async fn conversation_source_ids(
        &self,
        conversation_id: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT source_id FROM messages WHERE conversation_id = $1 AND source_id IS NOT NULL
             ORDER BY id DESC LIMIT $2",
        )
        .bind(conversation_id)
        .bind(limit)
        .fetch_all(self.writer())
        .await?;
        Ok(rows.into_iter().rev().map(|(s,)| s).collect())
    }
}
