//! Messages and their attachments.
//!
//! One insert does it all: idempotency on `echo_id` (and on the channel's `source_id`), the
//! message, its attachments and the conversation's bookkeeping (activity time, first reply,
//! waiting time, reopening) are one transaction (or one savepoint of a batch), so a crash
//! never leaves a message without its effects or the reverse. The service writes through
//! [`MessageWriter`], which groups concurrent messages into one commit; [`Store::insert_message`]
//! is the same insert on its own.
//! Reads always join the sender and the attachments in one query.

use crate::durable::Durable;
use sqlx::FromRow;

use crate::conversations::{CONVERSATION_COLS, ConversationRow, IdSet};
use crate::events::{EventDraft, EventRow, append_in};
use crate::pool::Backend;
use crate::reports::{self, CountKey, Fact, MessageCounts, ReplyClocks, WorkingTimeSlot};
use crate::{Result, Store, StoreError};
use parley_core::MessageType;

/// Renders a stored message as its `message.created` event payload (the agent-facing JSON
/// the API serves). The writer calls it inside the message's transaction, so the event is
/// stored atomically with the message and a reconnecting client can never miss it.
pub trait MessageRenderer: Send + Sync + 'static {
    fn render(&self, m: &MessageWithAttachments) -> String;
}

impl<F> MessageRenderer for F
where
    F: Fn(&MessageWithAttachments) -> String + Send + Sync + 'static,
{
    fn render(&self, m: &MessageWithAttachments) -> String {
        self(m)
    }
}

/// The payload of messages stored without the service's renderer ([`Store::insert_message`]
/// in tests and tools): ids only.
struct MinimalRenderer;

impl MessageRenderer for MinimalRenderer {
    fn render(&self, m: &MessageWithAttachments) -> String {
        format!(
            "{{\"id\":{},\"conversation_id\":{}}}",
            m.message.id, m.message.display_id
        )
    }
}

/// Whether the contact may see a message: not private notes, and not activity lines
/// either. Activity lines are the team's record of who handled the conversation ("Ivan
/// went offline", "First response target missed"); Chatwoot's Client API leaves them out
/// too (`filter_internal_messages`), and the widget shows the conversation's state itself.
pub fn visitor_sees(m: &MessageRow) -> bool {
    m.private == 0 && m.message_type != parley_core::MessageType::Activity.code()
}

/// A stored message with what rendering needs: the conversation's `display_id` and the
/// sender's name and avatar (a user or a contact, by `sender_type`).
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub message_type: i64,
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: String,
    pub additional_attributes: String,
    pub private: i64,
    pub status: String,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub echo_id: Option<String>,
    pub source_id: Option<String>,
    pub external_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub display_id: i64,
    pub sender_name: Option<String>,
    pub sender_display_name: Option<String>,
    pub sender_avatar_url: Option<String>,
    pub sender_email: Option<String>,
}

/// A stored attachment.
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub account_id: i64,
    pub message_id: i64,
    pub file_type: String,
    pub file_name: String,
    pub content_type: String,
    pub file_size: i64,
    pub storage_key: String,
    pub created_at: i64,
}

const ATTACHMENT_COLS: &str = "id, account_id, message_id, file_type, file_name, content_type, file_size, storage_key, created_at";

/// A message with its attachments.
#[derive(Debug, Clone)]
pub struct MessageWithAttachments {
    pub message: MessageRow,
    pub attachments: Vec<AttachmentRow>,
}

/// One row of the message/attachment join.
#[derive(FromRow)]
pub(crate) struct JoinedRow {
    #[sqlx(flatten)]
    message: MessageRow,
    a_id: Option<i64>,
    a_file_type: Option<String>,
    a_file_name: Option<String>,
    a_content_type: Option<String>,
    a_file_size: Option<i64>,
    a_storage_key: Option<String>,
    a_created_at: Option<i64>,
}

pub(crate) const MESSAGE_SELECT: &str = "SELECT m.id, m.account_id, m.inbox_id, m.conversation_id, m.message_type, m.content,
    m.content_type, m.content_attributes, m.additional_attributes, m.private, m.status, m.sender_type, m.sender_id,
    m.echo_id, m.source_id, m.external_error, m.created_at, m.updated_at, c.display_id,
    COALESCE(u.name, ct.name, b.name) AS sender_name, u.display_name AS sender_display_name,
    COALESCE(u.avatar_url, ct.avatar_url, b.avatar_url) AS sender_avatar_url, COALESCE(u.email, ct.email) AS sender_email,
    a.id AS a_id, a.file_type AS a_file_type, a.file_name AS a_file_name, a.content_type AS a_content_type,
    a.file_size AS a_file_size, a.storage_key AS a_storage_key, a.created_at AS a_created_at
  FROM messages m
  JOIN conversations c ON c.id = m.conversation_id
  LEFT JOIN users u ON m.sender_type = 'User' AND u.id = m.sender_id
  LEFT JOIN contacts ct ON m.sender_type = 'Contact' AND ct.id = m.sender_id
  LEFT JOIN agent_bots b ON m.sender_type = 'AgentBot' AND b.id = m.sender_id
  LEFT JOIN attachments a ON a.message_id = m.id";

/// Groups joined rows (ordered by message id, then attachment id) into messages.
pub(crate) fn group(rows: Vec<JoinedRow>) -> Vec<MessageWithAttachments> {
    let mut out: Vec<MessageWithAttachments> = Vec::new();
    for r in rows {
        let att = match (r.a_id, r.a_storage_key) {
            (Some(id), Some(storage_key)) => Some(AttachmentRow {
                id,
                account_id: r.message.account_id,
                message_id: r.message.id,
                file_type: r.a_file_type.unwrap_or_default(),
                file_name: r.a_file_name.unwrap_or_default(),
                content_type: r.a_content_type.unwrap_or_default(),
                file_size: r.a_file_size.unwrap_or(0),
                storage_key,
                created_at: r.a_created_at.unwrap_or(0),
            }),
            _ => None,
        };
        match out.last_mut() {
            Some(last) if last.message.id == r.message.id => last.attachments.extend(att),
            _ => out.push(MessageWithAttachments {
                message: r.message,
                attachments: att.into_iter().collect(),
            }),
        }
    }
    out
}

/// How a new message changes its conversation's waiting clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The contact now waits for an answer (kept if already waiting).
    Start,
    /// An agent answered.
    Stop,
    Keep,
}

/// What storing a message does to its conversation; decided by the service from the
/// kind of message, applied here inside the message's transaction.
#[derive(Debug, Clone, Copy)]
pub struct ConversationEffects {
    /// Set `first_reply_created_at` if it is not set yet.
    pub first_reply: bool,
    pub waiting: Waiting,
    /// Reopen a resolved or snoozed conversation.
    pub reopen: bool,
}

/// A new attachment whose file is already on disk under `storage_key`.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_type: String,
    pub file_name: String,
    pub content_type: String,
    pub file_size: i64,
    pub storage_key: String,
}

/// Fields of a new message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub account_id: i64,
    pub inbox_id: i64,
    pub conversation_id: i64,
    pub message_type: i64,
    pub content: Option<String>,
    pub content_type: String,
    pub content_attributes: String,
    pub additional_attributes: String,
    pub private: bool,
    pub status: String,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub echo_id: Option<String>,
    pub source_id: Option<String>,
    pub attachments: Vec<NewAttachment>,
    /// Schedule its delivery by the channel's provider (the outbox) in the same
    /// transaction: an outgoing message of an external channel, stored as `progress`.
    pub deliver: bool,
    /// The inbox's inbound cursor after this message (a channel's import position),
    /// stored in the same transaction so a restart neither repeats nor skips it.
    pub cursor: Option<String>,
    /// The inbox whose cursor `cursor` is, when not the message's own: a letter of an
    /// e-mail inbox that threads into a website conversation by its reply address.
    pub cursor_inbox_id: Option<i64>,
}

/// Outcome of [`Store::insert_message`].
#[derive(Debug, Clone)]
pub enum MessageInsert {
    /// Stored; the conversation before and after its bookkeeping.
    Created {
        message_id: i64,
        before: Box<ConversationRow>,
        after: Box<ConversationRow>,
        /// The stored message as read back inside its transaction.
        message: Box<MessageWithAttachments>,
        /// Its `message.created` event, stored in the same transaction.
        event: Box<EventRow>,
    },
    /// A message with the same `echo_id` (same conversation) or `source_id` (same inbox)
    /// already exists; nothing was written.
    Duplicate { message_id: i64 },
}

impl Store {
    /// Stores a message with its attachments and applies `fx` to its conversation, in one
    /// transaction. A repeated `echo_id` or `source_id` returns the existing message,
    /// including when two requests race (the unique index decides, the loser reads).
    pub async fn insert_message(
        &self,
        m: &NewMessage,
        fx: ConversationEffects,
    ) -> Result<MessageInsert> {
        let result = self.insert_message_tx(m, fx).await;
        self.settle_duplicate(result, m).await
    }

    /// Turns a unique-index conflict of an insert into the message that won the race (a
    /// retry with the same `echo_id`/`source_id`, from this node or another).
    async fn settle_duplicate(
        &self,
        result: Result<MessageInsert>,
        m: &NewMessage,
    ) -> Result<MessageInsert> {
        match result {
            Err(StoreError::Conflict(c)) => match self.existing_duplicate(m).await? {
                Some(message_id) => Ok(MessageInsert::Duplicate { message_id }),
                None => Err(StoreError::Conflict(c)),
            },
            other => other,
        }
    }

    async fn existing_duplicate(&self, m: &NewMessage) -> Result<Option<i64>> {
        if let Some(echo) = &m.echo_id {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM messages WHERE conversation_id = $1 AND echo_id = $2",
            )
            .bind(m.conversation_id)
            .bind(echo.clone())
            .fetch_optional_durable(self.writer())
            .await?;
            if let Some((id,)) = row {
                return Ok(Some(id));
            }
        }
        if let Some(src) = &m.source_id {
            let row: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM messages WHERE inbox_id = $1 AND source_id = $2 AND conversation_id = $3",
            )
            .bind(m.inbox_id)
            .bind(src.clone())
            .bind(m.conversation_id)
            .fetch_optional_durable(self.writer())
            .await?;
            if let Some((id,)) = row {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    async fn insert_message_tx(
        &self,
        m: &NewMessage,
        fx: ConversationEffects,
    ) -> Result<MessageInsert> {
        let mut tx = self.writer().begin().await?;
        let mut out = write_batch_in(
            &mut tx,
            &[(m, fx)],
            &MinimalRenderer,
            self.working_time(),
            self.now(),
        )
        .await?;
        finish(tx, &out).await?;
        out.pop()
            .unwrap_or_else(|| Err(StoreError::Corrupt("empty batch result".into())))
    }

    /// One message by id, scoped to its conversation (internal id).
    pub async fn message(
        &self,
        conversation_id: i64,
        message_id: i64,
    ) -> Result<Option<MessageWithAttachments>> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.conversation_id = $1 AND m.id = $2 ORDER BY m.id, a.id"
        );
        let rows = sqlx::query_as::<_, JoinedRow>(sqlx::AssertSqlSafe(sql))
            .bind(conversation_id)
            .bind(message_id)
            .fetch_all(self.reader())
            .await?;
        Ok(group(rows).into_iter().next())
    }

    /// A page of a conversation's messages, oldest first within the page: the newest
    /// `limit` before `before`, or the oldest `limit` after `after`, or the newest `limit`.
    /// `public_only` gives the contact's view: no private notes and no activity lines
    /// (see [`visitor_sees`]).
    pub async fn messages_page(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
        public_only: bool,
    ) -> Result<Vec<MessageWithAttachments>> {
        let private = if public_only {
            " AND private = 0 AND message_type <> 2"
        } else {
            ""
        };
        let inner = match (before, after) {
            (None, Some(_)) => format!(
                "SELECT id FROM messages WHERE conversation_id = $1{private} AND id > $2 ORDER BY id ASC LIMIT $3"
            ),
            _ => format!(
                "SELECT id FROM messages WHERE conversation_id = $1{private} AND id < $2 AND id > $4 ORDER BY id DESC LIMIT $3"
            ),
        };
        let sql = format!("{MESSAGE_SELECT} WHERE m.id IN ({inner}) ORDER BY m.id, a.id");
        let q = sqlx::query_as::<_, JoinedRow>(sqlx::AssertSqlSafe(sql)).bind(conversation_id);
        let q = match (before, after) {
            (None, Some(a)) => q.bind(a).bind(limit),
            (b, a) => q
                .bind(b.unwrap_or(i64::MAX))
                .bind(limit)
                .bind(a.unwrap_or(0)),
        };
        Ok(group(q.fetch_all(self.reader()).await?))
    }

    /// The last message and the last non-activity message of each conversation (by
    /// internal id), in one query. Returns messages ordered by id.
    pub async fn last_messages(
        &self,
        conversation_ids: &[i64],
    ) -> Result<Vec<MessageWithAttachments>> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = IdSet::new(self.backend() == Backend::Postgres, conversation_ids);
        let within = ids.clause("conversation_id", 1);
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.id IN (
                SELECT MAX(id) FROM messages WHERE {within} GROUP BY conversation_id
                UNION
                SELECT MAX(id) FROM messages WHERE {within} AND message_type <> 2 GROUP BY conversation_id
             ) ORDER BY m.id, a.id"
        );
        let q = sqlx::query_as::<_, JoinedRow>(sqlx::AssertSqlSafe(sql));
        let rows = ids.bind(q).fetch_all(self.reader()).await?;
        Ok(group(rows))
    }

    /// Changes the content and content attributes of a message.
    pub async fn update_message(
        &self,
        message_id: i64,
        content: Option<&str>,
        content_attributes: &str,
    ) -> Result<()> {
        // The search index follows the text in the same transaction.
        let mut tx = self.writer().begin().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE messages SET content = $2, content_attributes = $3, updated_at = $4 WHERE id = $1
             RETURNING message_type",
        )
        .bind(message_id)
        .bind(content.map(str::to_string))
        .bind(content_attributes.to_string())
        .bind(self.now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((message_type,)) = row else {
            return Err(StoreError::NotFound);
        };
        let tokens = crate::search::message_tokens(message_type, content, content_attributes);
        crate::search::index_messages_in(&mut tx, &[(message_id, tokens)], false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks a message deleted (new content and attributes) and removes its attachments;
    /// returns the removed attachments so their files can be deleted after commit.
    pub async fn delete_message(
        &self,
        message_id: i64,
        content: &str,
        content_attributes: &str,
    ) -> Result<Vec<AttachmentRow>> {
        let mut tx = self.writer().begin().await?;
        let sql = format!("SELECT {ATTACHMENT_COLS} FROM attachments WHERE message_id = $1");
        let removed = sqlx::query_as::<_, AttachmentRow>(sqlx::AssertSqlSafe(sql))
            .bind(message_id)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM attachments WHERE message_id = $1")
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query(
            "UPDATE messages SET content = $2, content_attributes = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(message_id)
        .bind(content.to_string())
        .bind(content_attributes.to_string())
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // A deleted message is no longer found (its placeholder text is not indexed).
        crate::search::index_messages_in(&mut tx, &[(message_id, String::new())], false).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// An attachment of an account, with the message and conversation it belongs to
    /// (`(attachment, conversation internal id, inbox id, private)`).
    pub async fn attachment(
        &self,
        account_id: i64,
        attachment_id: i64,
    ) -> Result<Option<(AttachmentRow, ConversationRow, bool)>> {
        let Some(att) = crate::fetch_in_account::<_, AttachmentRow>(
            self.reader(),
            "attachments",
            ATTACHMENT_COLS,
            account_id,
            attachment_id,
        )
        .await?
        else {
            return Ok(None);
        };
        let (conversation_id, private): (i64, i64) =
            sqlx::query_as("SELECT conversation_id, private FROM messages WHERE id = $1")
                .bind(att.message_id)
                .fetch_one(self.reader())
                .await?;
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let conv = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(conversation_id)
            .fetch_one(self.reader())
            .await?;
        Ok(Some((att, conv, private != 0)))
    }

    /// Number of attachment rows of an account (tests check that refused uploads store nothing).
    pub async fn count_attachments(&self, account_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM attachments WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.reader())
            .await?;
        Ok(n)
    }

    /// Bytes of attachments an account stores (its storage-quota usage).
    pub async fn attachment_bytes(&self, account_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(file_size), 0) AS BIGINT) FROM attachments WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_one(self.reader())
        .await?;
        Ok(n)
    }

    /// Number of messages in a conversation (internal id).
    pub async fn count_messages(&self, conversation_id: i64) -> Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM messages WHERE conversation_id = $1")
                .bind(conversation_id)
                .fetch_one(self.reader())
                .await?;
        Ok(n)
    }
}

/// What [`insert_in`] did, before the batch reads its messages back and stores their events.
enum Inserted {
    Created {
        message_id: i64,
        before: Box<ConversationRow>,
        after: Box<ConversationRow>,
        /// Written by the contact (their last activity time moves).
        incoming: bool,
        /// The report facts it caused and its place in the message counters.
        facts: Vec<Fact>,
        count: Option<(CountKey, bool)>,
    },
    Duplicate {
        message_id: i64,
    },
}

/// Stores one message with its effects on `conn`, which is inside a transaction (or a
/// savepoint of the group-commit writer's batch transaction); the caller commits.
async fn insert_in(
    conn: &mut sqlx::AnyConnection,
    m: &NewMessage,
    fx: ConversationEffects,
    now: i64,
) -> Result<Inserted> {
    if let Some(src) = &m.source_id {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT id, conversation_id FROM messages WHERE inbox_id = $1 AND source_id = $2",
        )
        .bind(m.inbox_id)
        .bind(src.clone())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((id, conv)) = row {
            if conv == m.conversation_id {
                return Ok(Inserted::Duplicate { message_id: id });
            }
            return Err(StoreError::Conflict("messages_source".into()));
        }
    }
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO messages (account_id, inbox_id, conversation_id, message_type, content, content_type,
            content_attributes, additional_attributes, private, status, sender_type, sender_id, echo_id, source_id,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
         ON CONFLICT (conversation_id, echo_id) WHERE echo_id IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(m.account_id)
    .bind(m.inbox_id)
    .bind(m.conversation_id)
    .bind(m.message_type)
    .bind(m.content.clone())
    .bind(m.content_type.clone())
    .bind(m.content_attributes.clone())
    .bind(m.additional_attributes.clone())
    .bind(i64::from(m.private))
    .bind(m.status.clone())
    .bind(m.sender_type.clone())
    .bind(m.sender_id)
    .bind(m.echo_id.clone())
    .bind(m.source_id.clone())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((message_id,)) = inserted else {
        // The echo id is taken: this is a retry of a message already stored.
        return echo_duplicate(conn, m).await;
    };
    for a in &m.attachments {
        sqlx::query(
            "INSERT INTO attachments (account_id, message_id, file_type, file_name, content_type, file_size,
                storage_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.account_id)
        .bind(message_id)
        .bind(a.file_type.clone())
        .bind(a.file_name.clone())
        .bind(a.content_type.clone())
        .bind(a.file_size)
        .bind(a.storage_key.clone())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    apply_in(conn, m, fx, message_id, now).await
}

/// The part of storing a message that follows its row: the delivery job, the channel's
/// cursor, and the message's effects on its conversation, with the report facts and
/// counters it causes. See [`apply_batch_in`].
async fn apply_in(
    conn: &mut sqlx::AnyConnection,
    m: &NewMessage,
    fx: ConversationEffects,
    message_id: i64,
    now: i64,
) -> Result<Inserted> {
    apply_batch_in(conn, &[(m, fx, message_id)], now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("empty batch result".into()))
}

/// The part of storing a batch's messages that follows their rows (`(message, effects,
/// id)`, in the batch's order): each one's delivery job and channel cursor, then the
/// conversations' bookkeeping in one statement per *round* (round k holds the k-th
/// message of each conversation in the batch, so a conversation's messages apply in
/// order), plus reopening (rare, one statement each). Returns one result per message,
/// in order.
async fn apply_batch_in(
    conn: &mut sqlx::AnyConnection,
    items: &[(&NewMessage, ConversationEffects, i64)],
    now: i64,
) -> Result<Vec<Inserted>> {
    for (m, _, message_id) in items {
        if m.deliver {
            crate::channels::schedule_delivery_in(&mut *conn, m.account_id, *message_id, now)
                .await?;
        }
        if let Some(cursor) = &m.cursor {
            let inbox = m.cursor_inbox_id.unwrap_or(m.inbox_id);
            crate::channels::set_cursor_in(&mut *conn, inbox, cursor, now).await?;
        }
    }
    let mut seen: std::collections::HashMap<i64, usize> =
        std::collections::HashMap::with_capacity(items.len());
    let rounds: Vec<usize> = items
        .iter()
        .map(|(m, _, _)| {
            let k = seen.entry(m.conversation_id).or_insert(0);
            *k += 1;
            *k - 1
        })
        .collect();
    let mut out: Vec<Option<Inserted>> = (0..items.len()).map(|_| None).collect();
    for round in 0..=rounds.iter().copied().max().unwrap_or(0) {
        let members: Vec<usize> = (0..items.len()).filter(|&i| rounds[i] == round).collect();
        let updates: Vec<(i64, ConversationEffects)> = members
            .iter()
            .map(|&i| (items[i].0.conversation_id, items[i].1))
            .collect();
        let mut updated = update_conversations_in(&mut *conn, &updates, now).await?;
        for i in members {
            let (m, fx, message_id) = items[i];
            let (before, clocks) = updated
                .remove(&m.conversation_id)
                .ok_or_else(|| StoreError::Corrupt("conversation of a message not found".into()))?;
            let clocks = clocks.filter(|_| fx.waiting == Waiting::Stop);
            out[i] = Some(conclude_in(&mut *conn, m, fx, message_id, before, clocks, now).await?);
        }
    }
    out.into_iter()
        .map(|r| r.ok_or_else(|| StoreError::Corrupt("message left out of its batch".into())))
        .collect()
}

/// The bookkeeping of one message in each of several conversations (at most one message
/// per conversation), in one statement. It leaves the status alone, so each row it returns
/// is also the status before the message; reopening is the caller's. An agent's reply ends
/// a wait, and the report needs the clocks it stops, so the rows come with their reply
/// clocks from before (when one of them is a reply): on PostgreSQL from the locked rows as
/// they were (a self-join, locked in id order); SQLite's `RETURNING` cannot name a joined
/// table, so there they are read first (in process, and no other writer exists between
/// the two).
async fn update_conversations_in(
    conn: &mut sqlx::AnyConnection,
    updates: &[(i64, ConversationEffects)],
    now: i64,
) -> Result<std::collections::HashMap<i64, (ConversationRow, Option<ReplyClocks>)>> {
    let rows: Vec<serde_json::Value> = updates
        .iter()
        .map(|(id, fx)| {
            serde_json::json!({
                "x_id": id,
                "x_first_reply": i64::from(fx.first_reply),
                "x_waiting": match fx.waiting {
                    Waiting::Keep => 0i64,
                    Waiting::Start => 1,
                    Waiting::Stop => 2,
                },
            })
        })
        .collect();
    let json = serde_json::Value::Array(rows).to_string();
    let set = "last_activity_at = $2, updated_at = $2,
            first_reply_created_at = CASE WHEN x.x_first_reply = 1 AND first_reply_created_at IS NULL
                                          THEN $2 ELSE first_reply_created_at END,
            waiting_since = CASE WHEN x.x_waiting = 1 THEN COALESCE(waiting_since, $2)
                                 WHEN x.x_waiting = 2 THEN NULL ELSE waiting_since END,
            last_incoming_at = CASE WHEN x.x_waiting = 1 THEN $2 ELSE last_incoming_at END,
            last_reply_at = CASE WHEN x.x_waiting = 2 THEN $2 ELSE last_reply_at END,
            sla_kind = CASE WHEN x.x_waiting = 2 THEN NULL ELSE sla_kind END,
            sla_due_at = CASE WHEN x.x_waiting = 2 THEN NULL ELSE sla_due_at END,
            sla_overdue_at = CASE WHEN x.x_waiting = 2 THEN NULL ELSE sla_overdue_at END";
    let mut out = std::collections::HashMap::with_capacity(updates.len());
    let backend = crate::Backend::of(conn);
    let postgres = backend == crate::Backend::Postgres;
    let source = crate::json_rows::rows_of_param(
        backend,
        &[
            ("x_id", "BIGINT"),
            ("x_first_reply", "BIGINT"),
            ("x_waiting", "BIGINT"),
        ],
    );
    // PostgreSQL also gets the ids as an array: it estimates a JSON row source at 100 rows
    // whatever its length, and with that a hash join over a sequential scan of every
    // conversation looked cheaper than an index probe per row while the table was small
    // (2,000 conversations: 60 % of the statement's time, docs/benchmarks.md session 21).
    // A condition on the id array makes each row a probe of the primary key at any size.
    let id_list: Vec<i64> = updates.iter().map(|(id, _)| *id).collect();
    let id_set = IdSet::new(postgres, &id_list);
    let stopped: Vec<i64> = updates
        .iter()
        .filter(|(_, fx)| fx.waiting == Waiting::Stop)
        .map(|(id, _)| *id)
        .collect();
    if postgres && !stopped.is_empty() {
        let ids = id_set.clause("conversations.id", 3);
        let ids_c = id_set.clause("c.id", 3);
        let upd = format!(
            "UPDATE conversations SET {set}
             FROM (SELECT j.x_id, j.x_first_reply, j.x_waiting,
                          c.waiting_since AS old_waiting_since,
                          c.first_reply_created_at AS old_first_reply_created_at,
                          c.sla_due_at AS old_sla_due_at, c.sla_overdue_at AS old_sla_overdue_at
                   FROM ({source}) j JOIN conversations c ON c.id = j.x_id
                   WHERE {ids_c}
                   ORDER BY c.id FOR UPDATE OF c) x
             WHERE conversations.id = x.x_id AND {ids}
             RETURNING {CONVERSATION_COLS}, old_waiting_since, old_first_reply_created_at,
                       old_sla_due_at, old_sla_overdue_at"
        );
        let rows = sqlx::query_as::<_, reports::RowWithClocks>(sqlx::AssertSqlSafe(upd))
            .bind(json)
            .bind(now);
        let rows = id_set.bind(rows).fetch_all(&mut *conn).await?;
        for r in rows {
            out.insert(r.conv.id, (r.conv, Some(r.clocks)));
        }
        return Ok(out);
    }
    // No reply among them on PostgreSQL: no clocks to read, so no row lock before the
    // update (each one is a WAL record of its own). SQLite reads the replies' clocks first.
    #[derive(sqlx::FromRow)]
    struct IdClocks {
        id: i64,
        #[sqlx(flatten)]
        clocks: ReplyClocks,
    }
    let mut clocks = std::collections::HashMap::with_capacity(stopped.len());
    if !stopped.is_empty() {
        let read = sqlx::query_as::<_, IdClocks>(
            "SELECT id, waiting_since AS old_waiting_since,
                    first_reply_created_at AS old_first_reply_created_at,
                    sla_due_at AS old_sla_due_at, sla_overdue_at AS old_sla_overdue_at
             FROM conversations WHERE id IN (SELECT value FROM json_each($1))",
        )
        .bind(serde_json::to_string(&stopped).unwrap_or_else(|_| "[]".into()))
        .fetch_all(&mut *conn)
        .await?;
        for r in read {
            clocks.insert(r.id, r.clocks);
        }
    }
    let upd = format!(
        "UPDATE conversations SET {set} FROM ({source}) AS x
         WHERE conversations.id = x.x_id{}
         RETURNING {CONVERSATION_COLS}",
        if postgres {
            format!(" AND {}", id_set.clause("conversations.id", 3))
        } else {
            String::new()
        }
    );
    let rows = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
        .bind(json)
        .bind(now);
    let rows = id_set.bind(rows).fetch_all(&mut *conn).await?;
    for r in rows {
        let c = clocks.remove(&r.id);
        out.insert(r.id, (r, c));
    }
    Ok(out)
}

/// A message's effects after its conversation's bookkeeping (`before`): reopening a
/// resolved or snoozed conversation, and the report facts and counters.
async fn conclude_in(
    conn: &mut sqlx::AnyConnection,
    m: &NewMessage,
    fx: ConversationEffects,
    message_id: i64,
    before: ConversationRow,
    clocks: Option<ReplyClocks>,
    now: i64,
) -> Result<Inserted> {
    let after = if fx.reopen && matches!(before.status.as_str(), "resolved" | "snoozed") {
        // As Chatwoot's `reopen_resolved_conversation`: a resolved conversation of an inbox
        // with a bot goes back to the bot (`pending`), whose dialogue starts afresh with this
        // message; a snoozed one was put aside by agents and opens for them.
        let reopen = format!(
            "UPDATE conversations SET snoozed_until = NULL,
                status = CASE WHEN status = 'resolved' AND EXISTS
                    (SELECT 1 FROM agent_bot_inboxes x WHERE x.inbox_id = conversations.inbox_id)
                    THEN 'pending' ELSE 'open' END
             WHERE id = $1 RETURNING {CONVERSATION_COLS}"
        );
        let after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(reopen))
            .bind(m.conversation_id)
            .fetch_one(&mut *conn)
            .await?;
        if after.status == "pending" {
            crate::agent_bots::restart_bot_dialog_in(
                &mut *conn,
                m.conversation_id,
                message_id - 1,
                now,
            )
            .await?;
        }
        after
    } else {
        before.clone()
    };
    let sender = m
        .sender_id
        .filter(|_| m.sender_type.as_deref() == Some("User"));
    let facts = reports::message_facts(&before, &after, sender, clocks.as_ref(), now);
    let counted_in = m.message_type == MessageType::Incoming.code();
    let counted_out = m.message_type == MessageType::Outgoing.code() && !m.private;
    let count = (counted_in || counted_out).then(|| {
        (
            CountKey {
                account_id: m.account_id,
                hour: now.div_euclid(reports::HOUR_MS),
                inbox_id: m.inbox_id,
                team_id: after.team_id.unwrap_or(0),
                // Incoming: the agent holding the conversation, whose load it is.
                user_id: if counted_out {
                    sender.unwrap_or(0)
                } else {
                    after.assignee_id.unwrap_or(0)
                },
                shard: reports::count_shard(crate::Backend::of(conn), m.conversation_id),
            },
            counted_in,
        )
    });
    Ok(Inserted::Created {
        message_id,
        before: Box::new(before),
        after: Box::new(after),
        incoming: fx.waiting == Waiting::Start,
        facts,
        count,
    })
}

/// The stored message whose echo id `m` repeats (a retry of a message already stored).
async fn echo_duplicate(conn: &mut sqlx::AnyConnection, m: &NewMessage) -> Result<Inserted> {
    let (id,): (i64,) =
        sqlx::query_as("SELECT id FROM messages WHERE conversation_id = $1 AND echo_id = $2")
            .bind(m.conversation_id)
            .bind(m.echo_id.clone())
            .fetch_one(&mut *conn)
            .await?;
    Ok(Inserted::Duplicate { message_id: id })
}

/// `n` new message ids, ascending, for a batch's rows (so a conversation's messages keep
/// their order). PostgreSQL: from the identity's sequence (an id a duplicate does not use
/// is skipped, as with any failed insert). SQLite: after the largest id ever given
/// (`AUTOINCREMENT` never reuses one); the batch runs on the single writer connection,
/// inside its transaction, so nothing else inserts meanwhile.
async fn allocate_message_ids(conn: &mut sqlx::AnyConnection, n: usize) -> Result<Vec<i64>> {
    if crate::Backend::of(conn) == crate::Backend::Postgres {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT nextval(pg_get_serial_sequence('messages', 'id')) FROM generate_series(1, $1)",
        )
        .bind(n as i64)
        .fetch_all(&mut *conn)
        .await?;
        let mut ids: Vec<i64> = rows.into_iter().map(|r| r.0).collect();
        ids.sort_unstable();
        Ok(ids)
    } else {
        let (last,): (i64,) = sqlx::query_as(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
                        COALESCE((SELECT MAX(id) FROM messages), 0))",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok((1..=n as i64).map(|k| last + k).collect())
    }
}

/// Inserts a batch's message rows (none with a `source_id` or attachments) with the ids
/// given, in one statement whose only parameter is the rows as JSON; returns the ids
/// stored (a row whose echo id is taken is not).
async fn insert_rows_in(
    conn: &mut sqlx::AnyConnection,
    batch: &[(&NewMessage, ConversationEffects)],
    ids: &[i64],
    now: i64,
) -> Result<std::collections::HashSet<i64>> {
    /// One row of the parameter, serialised straight from the message (no JSON tree).
    #[derive(serde::Serialize)]
    struct Row<'a> {
        id: i64,
        account_id: i64,
        inbox_id: i64,
        conversation_id: i64,
        message_type: i64,
        content: &'a Option<String>,
        content_type: &'a str,
        content_attributes: &'a str,
        additional_attributes: &'a str,
        private: i64,
        status: &'a str,
        sender_type: &'a Option<String>,
        sender_id: Option<i64>,
        echo_id: &'a Option<String>,
    }
    let rows: Vec<Row> = batch
        .iter()
        .zip(ids)
        .map(|((m, _), id)| Row {
            id: *id,
            account_id: m.account_id,
            inbox_id: m.inbox_id,
            conversation_id: m.conversation_id,
            message_type: m.message_type,
            content: &m.content,
            content_type: &m.content_type,
            content_attributes: &m.content_attributes,
            additional_attributes: &m.additional_attributes,
            private: i64::from(m.private),
            status: &m.status,
            sender_type: &m.sender_type,
            sender_id: m.sender_id,
            echo_id: &m.echo_id,
        })
        .collect();
    const COLS: &str = "id, account_id, inbox_id, conversation_id, message_type, content, content_type,
        content_attributes, additional_attributes, private, status, sender_type, sender_id, echo_id";
    let source = crate::json_rows::rows_of_param(
        crate::Backend::of(conn),
        &[
            ("id", "BIGINT"),
            ("account_id", "BIGINT"),
            ("inbox_id", "BIGINT"),
            ("conversation_id", "BIGINT"),
            ("message_type", "BIGINT"),
            ("content", "TEXT"),
            ("content_type", "TEXT"),
            ("content_attributes", "TEXT"),
            ("additional_attributes", "TEXT"),
            ("private", "BIGINT"),
            ("status", "TEXT"),
            ("sender_type", "TEXT"),
            ("sender_id", "BIGINT"),
            ("echo_id", "TEXT"),
        ],
    );
    // `WHERE true`: SQLite's grammar needs it between a SELECT and an upsert clause.
    let sql = format!(
        "INSERT INTO messages ({COLS}, created_at, updated_at)
         SELECT {COLS}, $2, $2 FROM ({source}) x WHERE true
         ON CONFLICT (conversation_id, echo_id) WHERE echo_id IS NOT NULL DO NOTHING
         RETURNING id"
    );
    let stored: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
    Ok(stored.into_iter().map(|r| r.0).collect())
}

/// Stores a batch on `conn` (one open transaction), optimistically without savepoints: any
/// failure fails the call, and the writer then redoes the batch with a savepoint per message
/// ([`write_batch_isolated`]) so the bad message fails alone. Then it reads the created messages back in one query, renders
/// their events and appends them (last, so the per-account counter rows are locked only
/// until the caller's commit). Results come back in input order.
pub(crate) async fn write_batch_in(
    conn: &mut sqlx::AnyConnection,
    batch: &[(&NewMessage, ConversationEffects)],
    renderer: &dyn MessageRenderer,
    wt: &WorkingTimeSlot,
    now: i64,
) -> Result<Vec<Result<MessageInsert>>> {
    let mut inserted: Vec<Result<Inserted>> = Vec::with_capacity(batch.len());
    if let [(m, fx)] = batch {
        // A batch of one is the whole transaction (the caller rolls it back on failure).
        match insert_in(&mut *conn, m, *fx, now).await {
            Ok(r) => inserted.push(Ok(r)),
            Err(e) => return Ok(vec![Err(e)]),
        }
    } else if batch
        .iter()
        .all(|(m, _)| m.source_id.is_none() && m.attachments.is_empty())
    {
        // Optimistic, and the common case under load (text messages of the widget and
        // the API): every row in one statement, then each message's effects. A failing
        // statement poisons the transaction, so the caller retries the batch with one
        // savepoint per message (`write_batch_isolated`).
        let ids = allocate_message_ids(&mut *conn, batch.len()).await?;
        let stored = insert_rows_in(&mut *conn, batch, &ids, now).await?;
        let created: Vec<(&NewMessage, ConversationEffects, i64)> = batch
            .iter()
            .zip(&ids)
            .filter(|(_, id)| stored.contains(id))
            .map(|((m, fx), id)| (*m, *fx, *id))
            .collect();
        let mut applied = apply_batch_in(&mut *conn, &created, now).await?.into_iter();
        for ((m, _), id) in batch.iter().zip(&ids) {
            if stored.contains(id) {
                let r = applied
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("message left out of its batch".into()))?;
                inserted.push(Ok(r));
            } else {
                // The echo id is taken (a retry, or twice in this batch).
                inserted.push(Ok(echo_duplicate(&mut *conn, m).await?));
            }
        }
        return finish_batch_in(conn, inserted, Some(batch), renderer, wt, now).await;
    } else {
        for (m, fx) in batch {
            // Optimistic: no savepoints (two statements less per message), as above.
            inserted.push(Ok(insert_in(&mut *conn, m, *fx, now).await?));
        }
    }
    finish_batch_in(conn, inserted, None, renderer, wt, now).await
}

/// The slow path of a batch after a database error: each message in its own savepoint, so
/// the bad one fails alone.
async fn write_batch_isolated(
    conn: &mut sqlx::AnyConnection,
    batch: &[(&NewMessage, ConversationEffects)],
    renderer: &dyn MessageRenderer,
    wt: &WorkingTimeSlot,
    now: i64,
) -> Result<Vec<Result<MessageInsert>>> {
    use sqlx::Acquire;
    let mut inserted: Vec<Result<Inserted>> = Vec::with_capacity(batch.len());
    for (m, fx) in batch {
        let mut sp = (&mut *conn).begin().await?;
        match insert_in(&mut sp, m, *fx, now).await {
            Ok(r) => {
                sp.commit().await?;
                inserted.push(Ok(r));
            }
            Err(e) => {
                sp.rollback().await?;
                inserted.push(Err(e));
            }
        }
    }
    finish_batch_in(conn, inserted, None, renderer, wt, now).await
}

/// The batch's shared work after its inserts: contacts' activity times, the new messages
/// as stored ([`built_messages_in`] for a batch inserted from `known`, else
/// [`read_messages_in`]), their events.
async fn finish_batch_in(
    conn: &mut sqlx::AnyConnection,
    inserted: Vec<Result<Inserted>>,
    known: Option<&[(&NewMessage, ConversationEffects)]>,
    renderer: &dyn MessageRenderer,
    wt: &WorkingTimeSlot,
    now: i64,
) -> Result<Vec<Result<MessageInsert>>> {
    let ids: Vec<i64> = inserted
        .iter()
        .filter_map(|r| match r {
            Ok(Inserted::Created { message_id, .. }) => Some(*message_id),
            _ => None,
        })
        .collect();
    let mut stored = match known {
        Some(batch) => built_messages_in(&mut *conn, &inserted, batch, now).await?,
        None => read_messages_in(&mut *conn, &ids).await?,
    };
    if !ids.is_empty() {
        // The batch's search tokens, committed with the messages.
        let docs: Vec<(i64, String)> = stored
            .values()
            .map(|m| {
                (
                    m.message.id,
                    crate::search::message_tokens(
                        m.message.message_type,
                        m.message.content.as_deref(),
                        &m.message.content_attributes,
                    ),
                )
            })
            .collect();
        crate::search::index_messages_in(&mut *conn, &docs, true).await?;
    }
    let mut drafts = Vec::with_capacity(ids.len());
    for r in &inserted {
        if let Ok(Inserted::Created {
            message_id, after, ..
        }) = r
        {
            let m = stored
                .get(message_id)
                .ok_or_else(|| StoreError::Corrupt("stored message not found".into()))?;
            drafts.push(EventDraft {
                account_id: m.message.account_id,
                name: "message.created".into(),
                conversation_id: Some(m.message.conversation_id),
                inbox_id: Some(m.message.inbox_id),
                contact_id: Some(after.contact_id),
                public: visitor_sees(&m.message),
                payload: renderer.render(m),
                origin: None,
            });
        }
    }
    // Contacts who just wrote: the contact list sorts and filters by this. One statement
    // for the batch.
    let writers: Vec<i64> = inserted
        .iter()
        .filter_map(|r| match r {
            Ok(Inserted::Created {
                after,
                incoming: true,
                ..
            }) => Some(after.contact_id),
            _ => None,
        })
        .collect();
    if !writers.is_empty() {
        let set = IdSet::new(Backend::of(conn) == Backend::Postgres, &writers);
        let sql = format!(
            "UPDATE contacts SET last_activity_at = $1 WHERE {}",
            set.clause("id", 2)
        );
        set.bind_to(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now))
            .execute(&mut *conn)
            .await?;
    }
    // The rows other writers share (rollups, then the account's event counter) come last,
    // so each is locked for the shortest time before the commit: on PostgreSQL another
    // lane's batch waits on them (see `MessageWriter`). Every writer takes them in this
    // order. The batch's report facts and message counters, in the same transaction.
    let mut facts = Vec::new();
    let mut counts = MessageCounts::new();
    for r in &inserted {
        if let Ok(Inserted::Created {
            facts: f, count, ..
        }) = r
        {
            facts.extend(f.iter().cloned());
            if let Some((key, incoming)) = count {
                let e = counts.entry(*key).or_insert((0, 0));
                if *incoming {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }
    reports::record_in(&mut *conn, wt, &facts).await?;
    reports::count_messages_in(&mut *conn, &counts).await?;
    let mut events = append_in(&mut *conn, drafts, now).await?.into_iter();
    let mut out = Vec::with_capacity(inserted.len());
    for r in inserted {
        out.push(match r {
            Err(e) => Err(e),
            Ok(Inserted::Duplicate { message_id }) => Ok(MessageInsert::Duplicate { message_id }),
            Ok(Inserted::Created {
                message_id,
                before,
                after,
                ..
            }) => {
                let message = stored
                    .remove(&message_id)
                    .ok_or_else(|| StoreError::Corrupt("stored message not found".into()))?;
                let event = events
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("event count mismatch".into()))?;
                Ok(MessageInsert::Created {
                    message_id,
                    before,
                    after,
                    message: Box::new(message),
                    event: Box::new(event),
                })
            }
        });
    }
    Ok(out)
}

/// The created messages of a batch, read back with their senders and attachments.
async fn read_messages_in(
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, MessageWithAttachments>> {
    let mut stored = std::collections::HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(stored);
    }
    let set = IdSet::new(crate::Backend::of(conn) == crate::Backend::Postgres, ids);
    let sql = format!(
        "{MESSAGE_SELECT} WHERE {} ORDER BY m.id, a.id",
        set.clause("m.id", 1)
    );
    let q = sqlx::query_as::<_, JoinedRow>(sqlx::AssertSqlSafe(sql));
    let rows = set.bind(q).fetch_all(&mut *conn).await?;
    for m in group(rows) {
        stored.insert(m.message.id, m);
    }
    Ok(stored)
}

/// The created messages of a batch whose rows were inserted from `batch` as they are
/// (text, no attachments: [`insert_rows_in`]), built from those inputs, the conversations'
/// display ids and only their senders read back — what [`read_messages_in`] would read,
/// without carrying every message's text through the database a second time (that read
/// was a sixth of the writer's time). `inserted` is in `batch`'s order.
async fn built_messages_in(
    conn: &mut sqlx::AnyConnection,
    inserted: &[Result<Inserted>],
    batch: &[(&NewMessage, ConversationEffects)],
    now: i64,
) -> Result<std::collections::HashMap<i64, MessageWithAttachments>> {
    use std::collections::{BTreeSet, HashMap};
    let created: Vec<(&NewMessage, i64, i64)> = batch
        .iter()
        .zip(inserted)
        .filter_map(|((m, _), r)| match r {
            Ok(Inserted::Created {
                message_id, after, ..
            }) => Some((*m, *message_id, after.display_id)),
            _ => None,
        })
        .collect();
    // Each kind of sender as MESSAGE_SELECT's joins name it.
    const KINDS: [(&str, &str); 3] = [
        (
            "User",
            "SELECT CAST('User' AS TEXT) AS kind, id, name, display_name, avatar_url, email FROM users",
        ),
        (
            "Contact",
            "SELECT CAST('Contact' AS TEXT) AS kind, id, name, CAST(NULL AS TEXT) AS display_name, avatar_url, email FROM contacts",
        ),
        (
            "AgentBot",
            "SELECT CAST('AgentBot' AS TEXT) AS kind, id, name, CAST(NULL AS TEXT) AS display_name, avatar_url, CAST(NULL AS TEXT) AS email FROM agent_bots",
        ),
    ];
    let ids: Vec<Vec<i64>> = KINDS
        .iter()
        .map(|(kind, _)| {
            let set: BTreeSet<i64> = created
                .iter()
                .filter(|(m, _, _)| m.sender_type.as_deref() == Some(*kind))
                .filter_map(|(m, _, _)| m.sender_id)
                .collect();
            set.into_iter().collect()
        })
        .collect();
    #[derive(FromRow)]
    struct Sender {
        kind: String,
        id: i64,
        name: Option<String>,
        display_name: Option<String>,
        avatar_url: Option<String>,
        email: Option<String>,
    }
    let mut found: HashMap<(String, i64), Sender> = HashMap::new();
    let postgres = crate::Backend::of(conn) == crate::Backend::Postgres;
    let sets: Vec<(IdSet, &str)> = KINDS
        .iter()
        .zip(&ids)
        .filter(|(_, ids)| !ids.is_empty())
        .map(|((_, select), ids)| (IdSet::new(postgres, ids), *select))
        .collect();
    if !sets.is_empty() {
        let sql = sets
            .iter()
            .enumerate()
            .map(|(n, (set, select))| format!("{select} WHERE {}", set.clause("id", n + 1)))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut q = sqlx::query_as::<_, Sender>(sqlx::AssertSqlSafe(sql));
        for (set, _) in &sets {
            q = set.bind(q);
        }
        for s in q.fetch_all(&mut *conn).await? {
            found.insert((s.kind.clone(), s.id), s);
        }
    }
    let mut stored = HashMap::with_capacity(created.len());
    for (m, id, display_id) in created {
        let sender = m
            .sender_type
            .clone()
            .zip(m.sender_id)
            .and_then(|key| found.get(&key));
        let message = MessageRow {
            id,
            account_id: m.account_id,
            inbox_id: m.inbox_id,
            conversation_id: m.conversation_id,
            message_type: m.message_type,
            content: m.content.clone(),
            content_type: m.content_type.clone(),
            content_attributes: m.content_attributes.clone(),
            additional_attributes: m.additional_attributes.clone(),
            private: i64::from(m.private),
            status: m.status.clone(),
            sender_type: m.sender_type.clone(),
            sender_id: m.sender_id,
            echo_id: m.echo_id.clone(),
            source_id: None,
            external_error: None,
            created_at: now,
            updated_at: now,
            display_id,
            sender_name: sender.and_then(|s| s.name.clone()),
            sender_display_name: sender.and_then(|s| s.display_name.clone()),
            sender_avatar_url: sender.and_then(|s| s.avatar_url.clone()),
            sender_email: sender.and_then(|s| s.email.clone()),
        };
        stored.insert(
            id,
            MessageWithAttachments {
                message,
                attachments: Vec::new(),
            },
        );
    }
    Ok(stored)
}

/// Commits a batch's transaction, or rolls it back when no message of it succeeded (a
/// failed statement outside a savepoint leaves a PostgreSQL transaction unusable).
async fn finish(
    tx: sqlx::Transaction<'_, sqlx::Any>,
    results: &[Result<MessageInsert>],
) -> Result<()> {
    if results.iter().all(|r| r.is_err()) {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(())
}

/// One message waiting for the group-commit writer.
struct WriteJob {
    message: NewMessage,
    effects: ConversationEffects,
    done: tokio::sync::oneshot::Sender<(Result<MessageInsert>, NewMessage)>,
}

/// The group-commit writer of messages (DESIGN.md §2, Storage).
///
/// Why: a durable commit costs one fsync (a few hundred per second on ordinary disks), so
/// one transaction per message caps throughput there. The writer takes every message that
/// is waiting when it is ready, stores the whole batch in one transaction — each message
/// in its own savepoint, so one bad message fails alone — together with the messages'
/// events, commits once, and only then answers each sender. It never waits to fill a
/// batch: under light load a batch is one message and costs what a direct insert costs;
/// under heavy load batches grow by themselves while the previous commit is in flight.
///
/// On PostgreSQL several such writers (lanes) run side by side, each on its own connection,
/// so one batch's statements overlap the previous batch's commit and fsync. The lanes
/// share one thread of their own (see `on_own_thread`). A conversation
/// always goes to the same lane, which keeps its messages in arrival order; the account's
/// event counter row, taken last in every batch and held to the commit, keeps cursors in
/// commit order across lanes. SQLite has one writer connection, so one lane.
#[derive(Clone)]
pub struct MessageWriter {
    lanes: std::sync::Arc<[tokio::sync::mpsc::Sender<WriteJob>]>,
    store: Store,
}

impl MessageWriter {
    /// Starts the writer task over `store`; it ends when the last handle is dropped.
    /// `max_batch` bounds a transaction (and the work lost to one failed commit);
    /// `renderer` makes each message's event payload inside its transaction.
    pub fn spawn(
        store: Store,
        max_batch: usize,
        renderer: std::sync::Arc<dyn MessageRenderer>,
    ) -> MessageWriter {
        let max_batch = max_batch.max(1);
        let (lanes, receivers): (Vec<_>, Vec<_>) = (0..store.write_lanes())
            .map(|_| tokio::sync::mpsc::channel(max_batch * 4))
            .unzip();
        let writer_store = store.clone();
        on_own_thread(async move {
            // The lanes' pool is opened here, so its sockets belong to this thread's
            // runtime (see `Store::lanes_pool`).
            let pool = match writer_store.lanes_pool() {
                Ok(pool) => pool,
                Err(e) => {
                    tracing::warn!(error = %e, "message writer pool not opened; writing through the shared pool");
                    writer_store.writer().clone()
                }
            };
            let running: Vec<_> = receivers
                .into_iter()
                .map(|rx| {
                    let lane = write_loop(
                        writer_store.clone(),
                        pool.clone(),
                        rx,
                        max_batch,
                        renderer.clone(),
                    );
                    tokio::spawn(lane)
                })
                .collect();
            for lane in running {
                let _ = lane.await;
            }
        });
        MessageWriter {
            lanes: lanes.into(),
            store,
        }
    }

    /// Same contract as [`Store::insert_message`], acknowledged after the batch commit.
    pub async fn insert(
        &self,
        message: NewMessage,
        effects: ConversationEffects,
    ) -> Result<MessageInsert> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job = WriteJob {
            message,
            effects,
            done,
        };
        let closed = || StoreError::Corrupt("the message writer has stopped".into());
        let lane = job
            .message
            .conversation_id
            .rem_euclid(self.lanes.len() as i64) as usize;
        self.lanes[lane].send(job).await.map_err(|_| closed())?;
        let (result, message) = answer.await.map_err(|_| closed())?;
        self.store.settle_duplicate(result, &message).await
    }
}

/// Runs the writer's lanes on a thread of their own (with a single-threaded runtime).
///
/// Why: a batch is a dozen statements, each a round trip between a lane and its
/// connection (sqlx's worker thread on SQLite, the server's socket on PostgreSQL). On the
/// server's shared runtime every return of that round trip waited in the run queue behind
/// the socket tasks a busy server has, so the writer — the whole server's write
/// throughput, and every message's acknowledgement — went idle between its statements. On
/// its own thread a lane is woken at once (on PostgreSQL its connections are opened there
/// too, see `Store::lanes_pool`).
fn on_own_thread(run: impl std::future::Future<Output = ()> + Send + 'static) {
    // The future stays reachable here until the thread takes it, so a thread that cannot
    // start leaves it to the shared runtime (slower, but writing).
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(run)));
    let started = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            let slot = slot.clone();
            std::thread::Builder::new()
                .name("parley-writer".into())
                .spawn(move || {
                    let run = slot.lock().ok().and_then(|mut s| s.take());
                    if let Some(run) = run {
                        rt.block_on(run);
                    }
                })
                .map_err(|e| e.to_string())
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "message writer thread not started; writing on the shared runtime");
        if let Some(run) = slot.lock().ok().and_then(|mut s| s.take()) {
            tokio::spawn(run);
        }
    }
}

async fn write_loop(
    store: Store,
    pool: sqlx::AnyPool,
    mut rx: tokio::sync::mpsc::Receiver<WriteJob>,
    max_batch: usize,
    renderer: std::sync::Arc<dyn MessageRenderer>,
) {
    use tracing::Instrument;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("parley_message_batch_size").record(batch.len() as f64);
        let span = tracing::debug_span!("job", name = "message_batch", size = batch.len());
        commit_batch(&store, &pool, batch, renderer.as_ref())
            .instrument(span)
            .await;
    }
}

/// Stores a batch in one transaction and answers every sender after the commit.
async fn commit_batch(
    store: &Store,
    pool: &sqlx::AnyPool,
    mut batch: Vec<WriteJob>,
    renderer: &dyn MessageRenderer,
) {
    // Conversation rows are locked in ascending id order, so two nodes' writers cannot
    // deadlock on them (a stable sort keeps each conversation's messages in arrival order).
    batch.sort_by_key(|j| j.message.conversation_id);
    let items: Vec<(&NewMessage, ConversationEffects)> =
        batch.iter().map(|j| (&j.message, j.effects)).collect();
    let now = store.now();
    let outcome: Result<Vec<Result<MessageInsert>>> = async {
        let mut tx = pool.begin().await?;
        match write_batch_in(&mut tx, &items, renderer, store.working_time(), now).await {
            Ok(results) => {
                finish(tx, &results).await?;
                Ok(results)
            }
            Err(e) if items.len() > 1 => {
                // One message failed in the database: redo the batch with a savepoint
                // per message so only that one fails.
                tracing::debug!(error = %e, "batch failed; retrying message by message");
                tx.rollback().await?;
                let mut tx = pool.begin().await?;
                let results =
                    write_batch_isolated(&mut tx, &items, renderer, store.working_time(), now)
                        .await?;
                finish(tx, &results).await?;
                Ok(results)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    match outcome {
        Ok(results) => {
            for r in &results {
                match r {
                    Ok(_) => store.note_write_ok(),
                    Err(e) => store.note_write_error(e),
                }
            }
            for (job, r) in batch.into_iter().zip(results) {
                let _ = job.done.send((r, job.message));
            }
        }
        Err(e) => {
            // Nothing of the batch is stored (the failed transaction was rolled back, and a
            // connection left inside it is closed by the pool); every sender learns it with
            // the same kind of error, so a full disk is a 503 for each of them.
            store.note_write_error(&e);
            tracing::warn!(error = %e, "message batch failed");
            for job in batch {
                let _ = job.done.send((Err(e.copy()), job.message));
            }
        }
    }
}
