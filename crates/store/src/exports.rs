//! Reading for exports: the conversations an account began in a period with their
//! messages, page by page (keyset, never the whole set), and the live counts of open
//! conversations (Chatwoot's `reports/conversations`).
//!
//! An export is a snapshot: it reads only conversations and messages that existed when it
//! started (ids up to [`ExportFilter::max_conversation_id`] and
//! [`ExportFilter::max_message_id`]), so the total announced first is the number of rows
//! that follow, even while customers keep writing.

use sqlx::FromRow;

use crate::conversations::{Arg, bind_as};
use crate::report_queries::Sql;
use crate::{Result, Store};

/// Which conversations an export holds: begun in `[since, until)` in one account,
/// optionally narrowed to an inbox, team, assignee, status or label.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub account_id: i64,
    /// Epoch milliseconds, inclusive.
    pub since: i64,
    /// Epoch milliseconds, exclusive.
    pub until: i64,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: Option<String>,
    pub label: Option<String>,
    /// The snapshot: conversations and messages with larger ids are left out.
    pub max_conversation_id: i64,
    pub max_message_id: i64,
}

/// One conversation of an export page, with the names a reader needs.
#[derive(Debug, Clone, FromRow)]
pub struct ExportConversation {
    pub id: i64,
    pub display_id: i64,
    pub status: String,
    pub created_at: i64,
    pub inbox_name: String,
    pub team_name: Option<String>,
    pub assignee_name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
}

/// One message of an export page.
#[derive(Debug, Clone, FromRow)]
pub struct ExportMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub message_type: i64,
    pub private: i64,
    pub content: Option<String>,
    pub sender_type: Option<String>,
    pub sender_name: Option<String>,
    pub created_at: i64,
}

/// How much an export holds: conversations and the rows of its file (one per message, one
/// for a conversation without messages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct ExportSize {
    #[sqlx(rename = "conversation_count")]
    pub conversations: i64,
    #[sqlx(rename = "row_count")]
    pub rows: i64,
}

/// Live counts of open conversations (`open`, `unattended`: no first reply yet or a
/// customer waiting for an answer, `unassigned`) and of pending ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct LiveCounts {
    #[sqlx(rename = "open_count")]
    pub open: i64,
    #[sqlx(rename = "unattended_count")]
    pub unattended: i64,
    #[sqlx(rename = "unassigned_count")]
    pub unassigned: i64,
    #[sqlx(rename = "pending_count")]
    pub pending: i64,
}

/// Open and unattended conversations of one agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromRow)]
pub struct AgentLiveCounts {
    pub user_id: i64,
    #[sqlx(rename = "open_count")]
    pub open: i64,
    #[sqlx(rename = "unattended_count")]
    pub unattended: i64,
}

/// The unattended condition of Chatwoot: nobody answered yet, or the customer wrote last.
const UNATTENDED: &str =
    "CASE WHEN c.first_reply_created_at IS NULL OR c.waiting_since IS NOT NULL THEN 1 ELSE 0 END";

/// The columns of an exported message, up to `WHERE`.
const MESSAGES_FROM: &str =
    "SELECT m.id, m.conversation_id, m.message_type, m.private, m.content, m.sender_type,
            COALESCE(u.display_name, u.name, ct.name) AS sender_name, m.created_at
       FROM messages m
       LEFT JOIN users u ON m.sender_type = 'User' AND u.id = m.sender_id
       LEFT JOIN contacts ct ON m.sender_type = 'Contact' AND ct.id = m.sender_id
      WHERE";

/// `FROM conversations c … WHERE` with the filter's conditions.
/// `from` is where the range of `created_at` starts: `since`, or a page's keyset (one lower
/// bound, so both backends seek the index there).
fn conversations_from(f: &ExportFilter, from: i64) -> Sql {
    let mut q = Sql::new(" FROM conversations c");
    q.push(" WHERE c.account_id = ?", Arg::I(f.account_id));
    q.push(" AND c.created_at >= ?", Arg::I(from.max(f.since)));
    q.push(" AND c.created_at < ?", Arg::I(f.until));
    q.push(" AND c.id <= ?", Arg::I(f.max_conversation_id));
    if let Some(v) = f.inbox_id {
        q.push(" AND c.inbox_id = ?", Arg::I(v));
    }
    if let Some(v) = f.team_id {
        q.push(" AND c.team_id = ?", Arg::I(v));
    }
    if let Some(v) = f.assignee_id {
        q.push(" AND c.assignee_id = ?", Arg::I(v));
    }
    if let Some(v) = &f.status {
        q.push(" AND c.status = ?", Arg::S(v.clone()));
    }
    if let Some(v) = &f.label {
        q.push(
            " AND EXISTS (SELECT 1 FROM conversation_labels lf WHERE lf.conversation_id = c.id AND lf.label = ?)",
            Arg::S(v.clone()),
        );
    }
    q
}

impl Store {
    /// The newest conversation and message ids now: the snapshot an export reads up to.
    pub async fn export_snapshot(&self) -> Result<(i64, i64)> {
        let (c,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM conversations")
            .fetch_one(self.reader())
            .await?;
        let (m,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM messages")
            .fetch_one(self.reader())
            .await?;
        Ok((c, m))
    }

    /// How many conversations and file rows the export of `f` holds.
    pub async fn export_size(&self, f: &ExportFilter) -> Result<ExportSize> {
        let mut q = conversations_from(f, f.since);
        let n = q.args.len() + 1;
        q.args.push(Arg::I(f.max_message_id));
        let sql = format!(
            "SELECT COUNT(DISTINCT c.id) AS conversation_count, COUNT(*) AS row_count{}",
            q.text.replacen(
                " FROM conversations c",
                &format!(
                    " FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id AND m.id <= ${n}"
                ),
                1
            )
        );
        let query = sqlx::query_as::<_, ExportSize>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(query, &q.args).fetch_one(self.reader()).await?)
    }

    /// The next `limit` conversations of `f` after `after` (`(created_at, id)`), in the
    /// order they began.
    pub async fn export_conversations(
        &self,
        f: &ExportFilter,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<ExportConversation>> {
        // The range starts at the keyset (an OR alone would scan from `since` on every
        // page); the OR only sorts out the rows of the keyset's own instant.
        let mut q = conversations_from(f, after.map_or(f.since, |(at, _)| at));
        if let Some((at, id)) = after {
            q.push(" AND (c.created_at > ?", Arg::I(at));
            q.push(" OR c.id > ?)", Arg::I(id));
        }
        let sql = format!(
            "SELECT c.id, c.display_id, c.status, c.created_at, i.name AS inbox_name,
                    t.name AS team_name, COALESCE(u.display_name, u.name) AS assignee_name,
                    ct.name AS contact_name, ct.email AS contact_email,
                    ct.phone_number AS contact_phone{}
             ORDER BY c.created_at, c.id LIMIT {}",
            q.text.replacen(
                " FROM conversations c",
                " FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
                  LEFT JOIN teams t ON t.id = c.team_id
                  LEFT JOIN users u ON u.id = c.assignee_id
                  LEFT JOIN contacts ct ON ct.id = c.contact_id",
                1
            ),
            limit.clamp(1, 1_000)
        );
        let query = sqlx::query_as::<_, ExportConversation>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(query, &q.args).fetch_all(self.reader()).await?)
    }

    /// The labels of `conversations`, as `(conversation id, label)` in label order.
    pub async fn export_labels(&self, conversations: &[i64]) -> Result<Vec<(i64, String)>> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT conversation_id, label FROM conversation_labels WHERE conversation_id IN (",
        );
        for (n, id) in conversations.iter().enumerate() {
            if n > 0 {
                q.raw(", ");
            }
            q.push("?", Arg::I(*id));
        }
        q.raw(") ORDER BY conversation_id, label");
        let query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(q.text));
        Ok(bind_as(query, &q.args).fetch_all(self.reader()).await?)
    }

    /// The next `limit` messages (up to `max_message_id`) of `conversations`, by
    /// conversation id then message id, after `after` (`(conversation id, message id)`).
    ///
    /// Two reads, each starting from a seek in `messages (conversation_id, id)`: the rest of
    /// the conversation `after` is in (so a conversation of 100,000 messages is read page
    /// by page, not from its start every time), then, if the page is not full, the
    /// conversations after it.
    pub async fn export_messages(
        &self,
        conversations: &[i64],
        max_message_id: i64,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<ExportMessage>> {
        let limit = limit.clamp(1, 10_000);
        let mut out = Vec::new();
        let rest: Vec<i64> = match after {
            Some((conv, id)) => {
                let mut q = Sql::new(MESSAGES_FROM);
                q.push(" m.conversation_id = ?", Arg::I(conv));
                q.push(" AND m.id > ?", Arg::I(id));
                q.push(" AND m.id <= ?", Arg::I(max_message_id));
                q.raw(&format!(" ORDER BY m.id LIMIT {limit}"));
                let query = sqlx::query_as::<_, ExportMessage>(sqlx::AssertSqlSafe(q.text));
                out = bind_as(query, &q.args).fetch_all(self.reader()).await?;
                conversations
                    .iter()
                    .copied()
                    .filter(|c| *c > conv)
                    .collect()
            }
            None => conversations.to_vec(),
        };
        let left = limit - out.len() as i64;
        if left <= 0 || rest.is_empty() {
            return Ok(out);
        }
        let mut q = Sql::new(MESSAGES_FROM);
        q.raw(" m.conversation_id IN (");
        for (n, id) in rest.iter().enumerate() {
            if n > 0 {
                q.raw(", ");
            }
            q.push("?", Arg::I(*id));
        }
        q.raw(")");
        q.push(" AND m.id <= ?", Arg::I(max_message_id));
        q.raw(&format!(" ORDER BY m.conversation_id, m.id LIMIT {left}"));
        let query = sqlx::query_as::<_, ExportMessage>(sqlx::AssertSqlSafe(q.text));
        out.extend(bind_as(query, &q.args).fetch_all(self.reader()).await?);
        Ok(out)
    }

    /// Open, unattended and unassigned conversations of the account now, and pending ones.
    pub async fn live_counts(&self, account_id: i64) -> Result<LiveCounts> {
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END), 0) AS BIGINT) AS open_count,
                    CAST(COALESCE(SUM(CASE WHEN c.status = 'open' THEN {UNATTENDED} ELSE 0 END), 0) AS BIGINT) AS unattended_count,
                    CAST(COALESCE(SUM(CASE WHEN c.status = 'open' AND c.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS unassigned_count,
                    CAST(COALESCE(SUM(CASE WHEN c.status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending_count
               FROM conversations c
              WHERE c.account_id = $1 AND c.status IN ('open', 'pending')"
        );
        Ok(sqlx::query_as::<_, LiveCounts>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_one(self.reader())
            .await?)
    }

    /// Open and unattended conversations per assigned agent now (agents with none absent).
    pub async fn live_counts_by_agent(&self, account_id: i64) -> Result<Vec<AgentLiveCounts>> {
        let sql = format!(
            "SELECT c.assignee_id AS user_id, COUNT(*) AS open_count,
                    CAST(COALESCE(SUM({UNATTENDED}), 0) AS BIGINT) AS unattended_count
               FROM conversations c
              WHERE c.account_id = $1 AND c.assignee_id IS NOT NULL AND c.status = 'open'
              GROUP BY c.assignee_id"
        );
        Ok(
            sqlx::query_as::<_, AgentLiveCounts>(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .fetch_all(self.reader())
                .await?,
        )
    }
}
