//! The archive search index: message text and contacts, as tokens computed in Rust.
//!
//! Why the tokens come from Rust: SQLite's FTS5 has no Russian stemmer and does not fold
//! `ё`, and PostgreSQL's dictionaries stem differently from anything else. So
//! [`parley_core::search_text::index_text`] decides every token (stems, folded letters,
//! phone and order numbers, e-mail forms) and each engine only stores and matches whole
//! tokens: FTS5 (`message_search`, `contact_search`, rowid = the row's id) on SQLite, a
//! `tsvector` written as a literal (no parser, no dictionary) with a GIN index on
//! PostgreSQL. A query is parsed in Rust too ([`ParsedQuery`]) and turned into the same
//! AND-of-quoted-terms in both syntaxes, so both backends return the same rows.
//!
//! The index is written in the same transaction as the row it describes: the group-commit
//! writer indexes a batch's messages before it commits, edits and deletions replace or
//! blank the message's tokens, contact writes and merges replace the contact's. Rows that
//! existed before the index did are indexed by the background reindex
//! ([`Store::reindex_step`]), which records its position so it resumes after a restart.

use parley_core::search_query::ParsedQuery;
use parley_core::search_text::index_text;
use sqlx::AnyConnection;

use crate::conversations::id_list;
use crate::messages::{JoinedRow, MESSAGE_SELECT, MessageWithAttachments, group};
use crate::{Backend, Result, Store};

/// Rows per reindex batch: one short write transaction each.
pub const REINDEX_BATCH: i64 = 500;
/// Candidates a phrase query reads per request at most: phrases are checked on the text
/// in Rust, so a phrase of common words must not read the whole archive.
pub const MAX_PHRASE_SCAN: i64 = 1_000;

/// The backend of a connection (the writer's transactions only know their connection).
pub(crate) fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A `tsvector` literal of space-separated tokens. Tokens are letters and digits only
/// (see `search_text`), so quoting cannot be broken out of; quotes are doubled anyway.
fn tsvector_literal(tokens: &str) -> String {
    tokens
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| format!("'{}'", t.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The engine's match expression for a parsed query: every term quoted, the prefix
/// marked as one. Never built from raw input, only from the normaliser's terms.
pub fn match_expression(backend: Backend, q: &ParsedQuery) -> String {
    let clean = |t: &str| {
        t.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    match backend {
        Backend::Sqlite => {
            let mut parts: Vec<String> = q
                .terms
                .iter()
                .map(|t| format!("\"{}\"", clean(t)))
                .collect();
            if let Some(p) = &q.prefix {
                parts.push(format!("\"{}\"*", clean(p)));
            }
            parts.join(" ")
        }
        Backend::Postgres => {
            let mut parts: Vec<String> =
                q.terms.iter().map(|t| format!("'{}'", clean(t))).collect();
            if let Some(p) = &q.prefix {
                parts.push(format!("'{}':*", clean(p)));
            }
            parts.join(" & ")
        }
    }
}

/// A subquery of the ids of messages matching the expression bound at `param`.
pub(crate) fn message_ids_matching(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT rowid FROM message_search WHERE message_search MATCH {param}")
        }
        Backend::Postgres => {
            format!("SELECT message_id FROM message_search WHERE tokens @@ {param}::tsquery")
        }
    }
}

/// A subquery of the ids of contacts matching the expression bound at `param`.
pub(crate) fn contact_ids_matching(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT rowid FROM contact_search WHERE contact_search MATCH {param}")
        }
        Backend::Postgres => {
            format!("SELECT contact_id FROM contact_search WHERE tokens @@ {param}::tsquery")
        }
    }
}

/// A subquery of the ids of conversations whose custom attributes match the expression
/// bound at `param`.
pub(crate) fn conversation_ids_matching(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT rowid FROM conversation_search WHERE conversation_search MATCH {param}")
        }
        Backend::Postgres => format!(
            "SELECT conversation_id FROM conversation_search WHERE tokens @@ {param}::tsquery"
        ),
    }
}

/// A query ready for the store's list filters (the conversation list's `q`): the match
/// expression and the backend it was written for.
#[derive(Debug, Clone)]
pub struct SearchMatch {
    pub backend: Backend,
    pub expression: String,
}

/// The tokens a message is indexed under; activity lines and deleted messages (content
/// attribute `deleted: true`, their text a placeholder) have none.
pub fn message_tokens(
    message_type: i64,
    content: Option<&str>,
    content_attributes: &str,
) -> String {
    if message_type == parley_core::MessageType::Activity.code()
        || (content_attributes.contains("deleted")
            && serde_json::from_str::<serde_json::Value>(content_attributes)
                .ok()
                .and_then(|v| v.get("deleted").and_then(serde_json::Value::as_bool))
                == Some(true))
    {
        return String::new();
    }
    content.map(index_text).unwrap_or_default()
}

/// The tokens of a contact: name, e-mail, phone, identifier and the values of its custom
/// attributes (strings and numbers), each analysed on its own so two fields never run
/// into one number.
pub fn contact_tokens(
    name: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    identifier: Option<&str>,
    custom_attributes: &str,
) -> String {
    let mut fields: Vec<String> = [name, email, phone, identifier]
        .into_iter()
        .flatten()
        .map(str::to_string)
        .collect();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(custom_attributes) {
        for v in map.values() {
            match v {
                serde_json::Value::String(s) => fields.push(s.clone()),
                serde_json::Value::Number(n) => fields.push(n.to_string()),
                _ => {}
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        for t in index_text(&f).split(' ').filter(|t| !t.is_empty()) {
            if seen.insert(t.to_string()) {
                out.push(t.to_string());
            }
        }
    }
    out.join(" ")
}

/// The tokens of a conversation: the values (strings and numbers) of its custom
/// attributes, each analysed on its own.
pub fn conversation_tokens(custom_attributes: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(custom_attributes) {
        for v in map.values() {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => continue,
            };
            for t in index_text(&text).split(' ').filter(|t| !t.is_empty()) {
                if seen.insert(t.to_string()) {
                    out.push(t.to_string());
                }
            }
        }
    }
    out.join(" ")
}

/// Replaces the index rows of `table` for `(id, tokens)` pairs on `conn` (inside the
/// caller's transaction). Empty token lists only delete.
async fn replace_rows(
    conn: &mut AnyConnection,
    table: &str,
    rows: &[(i64, String)],
    fresh: bool,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = backend_of(conn);
    let key = match (backend, table) {
        (Backend::Sqlite, _) => "rowid",
        (Backend::Postgres, "message_search") => "message_id",
        (Backend::Postgres, "conversation_search") => "conversation_id",
        (Backend::Postgres, _) => "contact_id",
    };
    if !fresh {
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let sql = format!("DELETE FROM {table} WHERE {key} IN ({})", id_list(&ids));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await?;
    }
    let rows: Vec<&(i64, String)> = rows.iter().filter(|r| !r.1.is_empty()).collect();
    // Chunks keep a statement's placeholders well under both engines' limits.
    for chunk in rows.chunks(200) {
        let mut sql = format!("INSERT INTO {table} ({key}, tokens) VALUES ");
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push_str(&format!("(${}, ${})", 2 * n + 1, 2 * n + 2)),
                Backend::Postgres => {
                    sql.push_str(&format!("(${}, ${}::tsvector)", 2 * n + 1, 2 * n + 2))
                }
            }
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, tokens) in chunk {
            let value = match backend {
                Backend::Sqlite => tokens.clone(),
                Backend::Postgres => tsvector_literal(tokens),
            };
            q = q.bind(*id).bind(value);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Indexes messages just inserted (`fresh`: no old rows to remove) or changed.
pub(crate) async fn index_messages_in(
    conn: &mut AnyConnection,
    rows: &[(i64, String)],
    fresh: bool,
) -> Result<()> {
    replace_rows(conn, "message_search", rows, fresh).await
}

/// Indexes a contact inside the caller's transaction (its old tokens are replaced).
pub(crate) async fn index_contact_in(
    conn: &mut AnyConnection,
    id: i64,
    tokens: String,
) -> Result<()> {
    replace_rows(conn, "contact_search", &[(id, tokens)], false).await
}

/// Indexes a conversation's attributes inside the caller's transaction.
pub(crate) async fn index_conversation_in(
    conn: &mut AnyConnection,
    id: i64,
    tokens: String,
    fresh: bool,
) -> Result<()> {
    replace_rows(conn, "conversation_search", &[(id, tokens)], fresh).await
}

/// Removes a contact's tokens (the contact is deleted or merged away).
pub(crate) async fn unindex_contact_in(conn: &mut AnyConnection, id: i64) -> Result<()> {
    replace_rows(conn, "contact_search", &[(id, String::new())], false).await
}

/// Which messages to search, newest first.
#[derive(Debug, Clone, Default)]
pub struct MessageSearch {
    pub account_id: i64,
    pub query: ParsedQuery,
    /// Set for agents: only these inboxes. Empty matches nothing.
    pub inboxes: Option<Vec<i64>>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: Option<String>,
    /// Conversations with any of these labels.
    pub labels: Vec<String>,
    /// Messages created at or after (ms).
    pub since: Option<i64>,
    /// Messages created before (ms).
    pub until: Option<i64>,
    /// The inbox's channel type (`Channel::WebWidget`, …).
    pub channel: Option<String>,
    /// Only messages with a smaller id (the cursor).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// A page of message hits, newest first.
#[derive(Debug, Clone)]
pub struct MessageHits {
    pub messages: Vec<MessageWithAttachments>,
    /// The cursor of the next page (the smallest id read), when there may be more.
    pub next_cursor: Option<i64>,
}

/// Which contacts to search, newest first.
#[derive(Debug, Clone, Default)]
pub struct ContactSearch {
    pub account_id: i64,
    pub query: ParsedQuery,
    /// Set for agents: only contacts with a conversation in these inboxes.
    pub inboxes: Option<Vec<i64>>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Progress of the background reindex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReindexStatus {
    pub messages_position: i64,
    pub messages_upto: i64,
    pub contacts_position: i64,
    pub contacts_upto: i64,
    pub conversations_position: i64,
    pub conversations_upto: i64,
}

impl ReindexStatus {
    /// Every row stored before the index existed is indexed.
    pub fn complete(&self) -> bool {
        self.messages_position >= self.messages_upto
            && self.contacts_position >= self.contacts_upto
            && self.conversations_position >= self.conversations_upto
    }
}

/// A contact's searchable fields as the reindex reads them: id, name, e-mail, phone,
/// identifier, custom attributes.
type ContactDoc = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// Bind values of dynamically built search SQL.
enum Arg {
    I(i64),
    S(String),
}

impl Store {
    /// The match expression of `q` for this store's backend, for list filters; empty
    /// (matching nothing) when `q` has no term.
    pub fn search_match(&self, q: &ParsedQuery) -> SearchMatch {
        SearchMatch {
            backend: self.backend(),
            expression: match_expression(self.backend(), q),
        }
    }

    /// Messages matching a search, newest first, with the cursor of the next page.
    /// Phrases are checked on the candidates' text; at most [`MAX_PHRASE_SCAN`]
    /// candidates are read for one page.
    pub async fn search_messages(&self, s: &MessageSearch) -> Result<MessageHits> {
        if s.query.is_empty() || s.inboxes.as_ref().is_some_and(Vec::is_empty) {
            return Ok(MessageHits {
                messages: Vec::new(),
                next_cursor: None,
            });
        }
        let limit = s.limit.clamp(1, 100);
        let phrases = !s.query.phrases.is_empty();
        let mut args = vec![
            Arg::I(s.account_id),
            Arg::S(match_expression(self.backend(), &s.query)),
        ];
        let mut sql = format!(
            "SELECT m.id, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.account_id = $1 AND m.id IN ({}) AND m.message_type <> 2",
            message_ids_matching(self.backend(), "$2")
        );
        let mut push = |sql: &mut String, clause: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(ids) = &s.inboxes {
            sql.push_str(&format!(" AND m.inbox_id IN ({})", id_list(ids)));
        }
        if let Some(v) = s.inbox_id {
            push(&mut sql, " AND m.inbox_id = ?", Arg::I(v));
        }
        if let Some(v) = s.team_id {
            push(&mut sql, " AND c.team_id = ?", Arg::I(v));
        }
        if let Some(v) = s.assignee_id {
            push(&mut sql, " AND c.assignee_id = ?", Arg::I(v));
        }
        if let Some(v) = &s.status {
            push(&mut sql, " AND c.status = ?", Arg::S(v.clone()));
        }
        if let Some(v) = s.since {
            push(&mut sql, " AND m.created_at >= ?", Arg::I(v));
        }
        if let Some(v) = s.until {
            push(&mut sql, " AND m.created_at < ?", Arg::I(v));
        }
        if let Some(v) = &s.channel {
            push(
                &mut sql,
                " AND m.inbox_id IN (SELECT id FROM inboxes WHERE account_id = $1 AND channel_type = ?)",
                Arg::S(v.clone()),
            );
        }
        if !s.labels.is_empty() {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM conversation_labels lf WHERE lf.conversation_id = c.id AND lf.label IN (",
            );
            for (n, l) in s.labels.iter().enumerate() {
                if n > 0 {
                    sql.push_str(", ");
                }
                push(&mut sql, "?", Arg::S(l.clone()));
            }
            sql.push_str("))");
        }
        push(
            &mut sql,
            " AND m.id < ?",
            Arg::I(s.before_id.unwrap_or(i64::MAX)),
        );
        // Phrases read candidates in chunks until the page is full or the scan bound is hit.
        let chunk = if phrases {
            (limit * 4).min(MAX_PHRASE_SCAN)
        } else {
            limit + 1
        };
        push(&mut sql, " ORDER BY m.id DESC LIMIT ?", Arg::I(chunk));
        // The cursor is the next-to-last parameter, the chunk size the last.
        let cursor_idx = args.len() - 2;
        let mut before = s.before_id.unwrap_or(i64::MAX);
        let mut ids: Vec<i64> = Vec::new();
        let mut scanned = 0i64;
        let mut next_cursor = None;
        loop {
            args[cursor_idx] = Arg::I(before);
            let mut q =
                sqlx::query_as::<_, (i64, Option<String>)>(sqlx::AssertSqlSafe(sql.clone()));
            for a in &args {
                q = match a {
                    Arg::I(v) => q.bind(*v),
                    Arg::S(v) => q.bind(v.clone()),
                };
            }
            let rows = q.fetch_all(self.reader()).await?;
            let got = rows.len() as i64;
            scanned += got;
            if !phrases {
                let more = got > limit;
                ids = rows.iter().take(limit as usize).map(|r| r.0).collect();
                if more {
                    next_cursor = ids.last().copied();
                }
                break;
            }
            for (id, content) in &rows {
                before = *id;
                if s.query.phrases_match(content.as_deref().unwrap_or("")) {
                    ids.push(*id);
                    if ids.len() as i64 == limit {
                        break;
                    }
                }
            }
            if ids.len() as i64 == limit {
                next_cursor = ids.last().copied();
                break;
            }
            if got < chunk {
                break;
            }
            if scanned >= MAX_PHRASE_SCAN {
                // Not exhausted: the next page continues where this scan stopped.
                next_cursor = Some(before);
                break;
            }
        }
        let messages = if ids.is_empty() {
            Vec::new()
        } else {
            let sql = format!(
                "{MESSAGE_SELECT} WHERE m.id IN ({}) ORDER BY m.id DESC, a.id",
                id_list(&ids)
            );
            let rows = sqlx::query_as::<_, JoinedRow>(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.reader())
                .await?;
            group(rows)
        };
        Ok(MessageHits {
            messages,
            next_cursor,
        })
    }

    /// Contacts matching a search, newest first, one more than `limit` telling whether a
    /// next page exists.
    pub async fn search_contacts_index(
        &self,
        s: &ContactSearch,
    ) -> Result<Vec<crate::contacts::ContactRow>> {
        if s.query.is_empty() || s.inboxes.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut sql = format!(
            "SELECT {} FROM contacts WHERE account_id = $1 AND id IN ({}) AND id < $3",
            crate::contacts::CONTACT_COLS,
            contact_ids_matching(self.backend(), "$2")
        );
        if let Some(ids) = &s.inboxes {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM conversations cv WHERE cv.contact_id = contacts.id AND cv.inbox_id IN ({}))",
                id_list(ids)
            ));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $4");
        Ok(
            sqlx::query_as::<_, crate::contacts::ContactRow>(sqlx::AssertSqlSafe(sql))
                .bind(s.account_id)
                .bind(match_expression(self.backend(), &s.query))
                .bind(s.before_id.unwrap_or(i64::MAX))
                .bind(s.limit.clamp(1, 100) + 1)
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// Where the background reindex stands.
    pub async fn reindex_status(&self) -> Result<ReindexStatus> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, position, upto FROM search_reindex")
                .fetch_all(self.reader())
                .await?;
        let mut s = ReindexStatus::default();
        for (name, position, upto) in rows {
            match name.as_str() {
                "messages" => (s.messages_position, s.messages_upto) = (position, upto),
                "contacts" => (s.contacts_position, s.contacts_upto) = (position, upto),
                "conversations" => {
                    (s.conversations_position, s.conversations_upto) = (position, upto)
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// Indexes the next batch of rows stored before the index existed (messages, then
    /// contacts), in one transaction that also moves the stored position; returns the
    /// status after it. A row is read and indexed in the same transaction, so an edit
    /// committed meanwhile is never overwritten by stale tokens.
    pub async fn reindex_step(&self, batch: i64) -> Result<ReindexStatus> {
        let mut tx = self.writer().begin().await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name, position, upto FROM search_reindex ORDER BY name DESC{lock}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let now = self.now();
        // In descending order of name: messages, then contacts, then conversations.
        if let Some((name, position, upto)) = rows.into_iter().find(|r| r.1 < r.2) {
            let last = if name == "messages" {
                let found: Vec<(i64, i64, Option<String>, String)> = sqlx::query_as(
                    "SELECT id, message_type, content, content_attributes FROM messages
                     WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                )
                .bind(position)
                .bind(upto)
                .bind(batch.max(1))
                .fetch_all(&mut *tx)
                .await?;
                let docs: Vec<(i64, String)> = found
                    .iter()
                    .map(|(id, t, c, ca)| (*id, message_tokens(*t, c.as_deref(), ca)))
                    .collect();
                index_messages_in(&mut tx, &docs, false).await?;
                found.last().map(|r| r.0)
            } else if name == "conversations" {
                let found: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT id, custom_attributes FROM conversations
                     WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                )
                .bind(position)
                .bind(upto)
                .bind(batch.max(1))
                .fetch_all(&mut *tx)
                .await?;
                let docs: Vec<(i64, String)> = found
                    .iter()
                    .map(|(id, ca)| (*id, conversation_tokens(ca)))
                    .collect();
                replace_rows(&mut tx, "conversation_search", &docs, false).await?;
                found.last().map(|r| r.0)
            } else {
                let found: Vec<ContactDoc> =
                    sqlx::query_as(
                        "SELECT id, name, email, phone_number, identifier, custom_attributes FROM contacts
                         WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                    )
                    .bind(position)
                    .bind(upto)
                    .bind(batch.max(1))
                    .fetch_all(&mut *tx)
                    .await?;
                let docs: Vec<(i64, String)> = found
                    .iter()
                    .map(|(id, n, e, p, i, ca)| {
                        (
                            *id,
                            contact_tokens(
                                n.as_deref(),
                                e.as_deref(),
                                p.as_deref(),
                                i.as_deref(),
                                ca,
                            ),
                        )
                    })
                    .collect();
                replace_rows(&mut tx, "contact_search", &docs, false).await?;
                found.last().map(|r| r.0)
            };
            sqlx::query("UPDATE search_reindex SET position = $2, updated_at = $3 WHERE name = $1")
                .bind(name)
                .bind(last.unwrap_or(upto))
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.reindex_status().await
    }

    /// Empties the index and starts the background reindex over from the first row: for
    /// an operator who restored data behind Parley's back, and how the tests check the
    /// reindex on a database whose rows predate the index.
    pub async fn restart_reindex(&self) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        for stmt in [
            "DELETE FROM message_search",
            "DELETE FROM contact_search",
            "DELETE FROM conversation_search",
            "UPDATE search_reindex SET position = 0, upto = (SELECT COALESCE(MAX(id), 0) FROM conversations) WHERE name = 'conversations'",
            "UPDATE search_reindex SET position = 0, upto = (SELECT COALESCE(MAX(id), 0) FROM messages) WHERE name = 'messages'",
            "UPDATE search_reindex SET position = 0, upto = (SELECT COALESCE(MAX(id), 0) FROM contacts) WHERE name = 'contacts'",
        ] {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
