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
    match backend {
        Backend::Sqlite => sqlite_expression(q, None),
        Backend::Postgres => {
            let mut parts: Vec<String> = q
                .terms
                .iter()
                .map(|t| format!("'{}'", clean_term(t)))
                .collect();
            if let Some(p) = &q.prefix {
                parts.push(format!("'{}':*", clean_term(p)));
            }
            parts.join(" & ")
        }
    }
}

/// Letters and digits only: what a query term may put into a match expression.
fn clean_term(t: &str) -> String {
    t.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The FTS5 expression of `q`: its terms quoted and ANDed, the prefix either as FTS5's
/// own prefix query (`"p"*`) or, when `prefix_terms` lists the terms it stands for, as
/// an OR of those exact terms (see [`Store::match_expression_for`] for why).
fn sqlite_expression(q: &ParsedQuery, prefix_terms: Option<&[String]>) -> String {
    let mut parts: Vec<String> = q
        .terms
        .iter()
        .map(|t| format!("\"{}\"", clean_term(t)))
        .collect();
    match (prefix_terms, &q.prefix) {
        (Some([one]), Some(_)) => parts.push(format!("\"{one}\"")),
        (Some(terms), Some(_)) if !terms.is_empty() => parts.push(format!(
            "({})",
            terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" OR ")
        )),
        (_, Some(p)) => parts.push(format!("\"{}\"*", clean_term(p))),
        (_, None) => {}
    }
    // FTS5 reads juxtaposition as AND only between phrases; before a bracket it must
    // be written out.
    parts.join(" AND ")
}

/// The first character of the inbox token every message carries in SQLite's
/// `message_search` ([`inbox_token`]): a private-use character, which FTS5's `unicode61`
/// keeps inside a token but which no query term can hold (terms are letters and digits,
/// [`clean_term`]), so no search text can match an inbox token.
pub const INBOX_TOKEN_MARK: char = '\u{E000}';

/// The reserved token of inbox `id` in a message's SQLite index row: with it FTS5
/// intersects the words with the inbox (`"word" AND ("<inbox 3>" OR …)`) instead of the
/// store walking every match newest first and dropping those of other inboxes (3.5 s p99
/// for a phrase in one inbox of twenty over 10M messages; docs/benchmarks.md, session
/// 15). A message never changes inbox (conversations do not move between inboxes), so
/// the token is written once with the message's tokens.
pub fn inbox_token(id: i64) -> String {
    format!("{INBOX_TOKEN_MARK}i{id}")
}

/// At most this many terms stand in for a prefix on SQLite; a prefix with more (two
/// letters, the start of a number) stays an FTS5 prefix query.
pub const MAX_PREFIX_TERMS: usize = 64;

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
    /// At least [`COMMON_MESSAGE_MATCHES`] messages match (PostgreSQL: at least
    /// [`COMMON_SAMPLE_MATCHES`] of the newest [`COMMON_SAMPLE`]), or at least
    /// [`COMMON_CONTACT_MATCHES`] contacts or conversations by their attributes: the list
    /// checks each conversation it walks (newest first) instead of collecting every match
    /// first.
    pub common: bool,
}

/// From this many matching messages on, a conversation search walks the conversations
/// and checks each one's messages against the index (a page of a common word is found in
/// the first few hundred conversations) rather than collecting the ids of every matching
/// message (18 s for a word in a third of 10M messages on SQLite; docs/benchmarks.md,
/// session 14). Below it, collecting is the faster way: the walk would read far for a
/// rare word.
pub const COMMON_MESSAGE_MATCHES: i64 = 50_000;

/// From this many matching contacts (or conversations by their custom attributes) on, a
/// conversation search walks too, whatever its messages: collected, every conversation of
/// every matching contact went into the set first (2.2–3.0 s on PostgreSQL for a word in
/// the names of all 500,000 contacts of the 10M-message seed; docs/benchmarks.md, session
/// 19). Counting this many index rows costs a few milliseconds.
pub const COMMON_CONTACT_MATCHES: i64 = 5_000;

/// The store's [`COMMON_MESSAGE_MATCHES`] and [`COMMON_CONTACT_MATCHES`], lowered by tests
/// to reach the plans' switch without writing 50,000 messages.
#[derive(Debug)]
pub(crate) struct SearchTuning {
    common_message_matches: std::sync::atomic::AtomicI64,
    common_contact_matches: std::sync::atomic::AtomicI64,
}

impl Default for SearchTuning {
    fn default() -> Self {
        SearchTuning {
            common_message_matches: std::sync::atomic::AtomicI64::new(COMMON_MESSAGE_MATCHES),
            common_contact_matches: std::sync::atomic::AtomicI64::new(COMMON_CONTACT_MATCHES),
        }
    }
}

impl Store {
    /// Test hook (no route reaches it): with `Some(n)` a query is common from `n`
    /// matching messages, or `n` matching contacts or conversation attributes; `None`
    /// restores [`COMMON_MESSAGE_MATCHES`] and [`COMMON_CONTACT_MATCHES`].
    pub fn set_search_common_matches(&self, n: Option<i64>) {
        let (messages, contacts) = match n {
            Some(n) => (n.max(1), n.max(1)),
            None => (COMMON_MESSAGE_MATCHES, COMMON_CONTACT_MATCHES),
        };
        let t = &self.search_tuning;
        t.common_message_matches
            .store(messages, std::sync::atomic::Ordering::Relaxed);
        t.common_contact_matches
            .store(contacts, std::sync::atomic::Ordering::Relaxed);
    }

    fn common_message_matches(&self) -> i64 {
        self.search_tuning
            .common_message_matches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn common_contact_matches(&self) -> i64 {
        self.search_tuning
            .common_contact_matches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `ids` (a subquery of one index, its expression at `$1`) yields at least
    /// [`COMMON_CONTACT_MATCHES`] rows, read no further than that.
    async fn many_matches(&self, ids: &str, expression: &str) -> Result<bool> {
        let bound = self.common_contact_matches();
        let sql = format!("SELECT COUNT(*) FROM ({ids} LIMIT {bound}) x");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(expression.to_string())
            .fetch_one(self.reader())
            .await?;
        Ok(n >= bound)
    }
}

/// PostgreSQL's probe reads the newest this many index rows (3 ms) and calls a query
/// common when at least [`COMMON_SAMPLE_MATCHES`] of them match.
///
/// Counting up to [`COMMON_MESSAGE_MATCHES`] as SQLite does is no cheap probe there: the
/// planner reads a common word's matches by a sequential scan testing every row (110 ms
/// for `заказ` over only 200,000 messages) and a middling word's by a GIN bitmap of all
/// its matches. What the walk costs depends on how dense the matches are among the newest
/// messages, which is what the sample measures, in constant time.
pub const COMMON_SAMPLE: i64 = 10_000;
/// Matches in [`COMMON_SAMPLE`] from which a query is common: 0.5 %, the density of
/// [`COMMON_MESSAGE_MATCHES`] in the 10M messages of the benchmark.
pub const COMMON_SAMPLE_MATCHES: i64 = 50;

/// A correlated condition: the contact of the conversation `c` matches the expression
/// bound at `param` (the walk's form, see [`SearchMatch::common`]): one probe by key per
/// conversation walked, where `c.contact_id IN (…)` read every matching contact first.
pub(crate) fn conversation_contact_matches(backend: Backend, param: &str) -> String {
    row_matches(
        backend,
        "contact_search",
        "contact_id",
        "c.contact_id",
        param,
    )
}

/// A correlated condition: the custom attributes of the conversation `c` match the
/// expression bound at `param` (the walk's form, as [`conversation_contact_matches`]).
pub(crate) fn conversation_attributes_match(backend: Backend, param: &str) -> String {
    row_matches(
        backend,
        "conversation_search",
        "conversation_id",
        "c.id",
        param,
    )
}

/// `EXISTS`: the row of index `table` keyed `outer` matches the expression at `param`.
/// `OFFSET 0` keeps it correlated on PostgreSQL, as in
/// [`conversation_has_matching_message`].
fn row_matches(backend: Backend, table: &str, pg_key: &str, outer: &str, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH {param} AND rowid = {outer})"
        ),
        Backend::Postgres => format!(
            "EXISTS (SELECT 1 FROM {table} cs WHERE cs.{pg_key} = {outer} \
             AND cs.tokens @@ {param}::tsquery OFFSET 0)"
        ),
    }
}

/// A correlated condition: the conversation `c` has a message matching the expression
/// bound at `param` (the form for common words, see [`SearchMatch::common`]).
pub(crate) fn conversation_has_matching_message(backend: Backend, param: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "EXISTS (SELECT 1 FROM messages sm CROSS JOIN message_search s ON s.rowid = sm.id \
             WHERE sm.conversation_id = c.id AND message_search MATCH {param})"
        ),
        // `OFFSET 0` keeps the subquery correlated. Without it PostgreSQL turns an EXISTS
        // under OR into a hashed subplan: every matching message joined and hashed before
        // the first conversation is tested (1 s for a common word over 200,000 messages,
        // tens of seconds over 10M; docs/benchmarks.md, session 15), which is the very
        // collecting this form exists to avoid. With it, each conversation walked probes
        // its own messages (`messages_conversation`) and their index rows by key.
        Backend::Postgres => format!(
            "EXISTS (SELECT 1 FROM messages sm JOIN message_search s ON s.message_id = sm.id \
             WHERE sm.conversation_id = c.id AND s.tokens @@ {param}::tsquery OFFSET 0)"
        ),
    }
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
    let backend = Backend::of(conn);
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
    if rows.is_empty() {
        return Ok(());
    }
    // The whole batch is one JSON parameter (`json_rows`): one statement text for every
    // batch size, and no per-placeholder cost.
    let postgres = backend == Backend::Postgres;
    let json = serde_json::Value::Array(
        rows.iter()
            .map(|(id, tokens)| {
                let tokens = if postgres {
                    tsvector_literal(tokens)
                } else {
                    tokens.to_string()
                };
                serde_json::json!({"id": id, "tokens": tokens})
            })
            .collect(),
    )
    .to_string();
    let value = if postgres {
        "CAST(x.tokens AS tsvector)".to_string()
    } else if table == "message_search" {
        // A message's row also carries its inbox's token (read from the message row,
        // written earlier in the same transaction).
        format!(
            "x.tokens || COALESCE((SELECT ' ' || char({mark}) || 'i' || inbox_id FROM messages WHERE id = x.id), '')",
            mark = INBOX_TOKEN_MARK as u32
        )
    } else {
        "x.tokens".to_string()
    };
    let source = crate::json_rows::rows_of_param(backend, &[("id", "BIGINT"), ("tokens", "TEXT")]);
    let sql = format!("INSERT INTO {table} ({key}, tokens) SELECT x.id, {value} FROM ({source}) x");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(json)
        .execute(&mut *conn)
        .await?;
    if backend == Backend::Sqlite {
        let mut terms: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.1.split(' '))
            .filter(|t| !t.is_empty())
            .collect();
        terms.sort_unstable();
        terms.dedup();
        remember_terms(conn, &terms).await?;
    }
    Ok(())
}

/// Adds tokens to the SQLite vocabulary `search_terms` (migration 0720), which
/// [`Store::match_expression_for`] reads a prefix's terms from.
async fn remember_terms(conn: &mut AnyConnection, terms: &[&str]) -> Result<()> {
    if terms.is_empty() {
        return Ok(());
    }
    // One JSON parameter for the batch's terms (see `replace_rows`).
    let json = serde_json::Value::from(terms.to_vec()).to_string();
    sqlx::query("INSERT OR IGNORE INTO search_terms (term) SELECT value FROM json_each($1)")
        .bind(json)
        .execute(&mut *conn)
        .await?;
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
    /// SQLite: the rewrite that gives older message rows their inbox token (migration
    /// 0722). It changes no hit, only how fast an inbox filter is answered.
    pub message_inboxes_position: i64,
    pub message_inboxes_upto: i64,
}

impl ReindexStatus {
    /// Every row stored before the index existed is indexed (searches find everything).
    pub fn complete(&self) -> bool {
        self.messages_position >= self.messages_upto
            && self.contacts_position >= self.contacts_upto
            && self.conversations_position >= self.conversations_upto
    }

    /// Nothing is left for the background reindex: [`ReindexStatus::complete`], and the
    /// older message rows carry their inbox tokens.
    pub fn finished(&self) -> bool {
        self.complete() && self.message_inboxes_position >= self.message_inboxes_upto
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
            common: false,
        }
    }

    /// The match expression of `q` for this store's backend. On SQLite the prefix (the
    /// last word, matched while it is typed) becomes an OR of the exact terms it stands
    /// for, read from the vocabulary `search_terms`: FTS5 answers `"p"*` by merging the
    /// whole doclists of every such term before the first row (271 ms for `заказ` over
    /// 10M messages), while an OR of terms streams newest first like one term does
    /// (docs/benchmarks.md, session 15). The vocabulary holds every term of the index
    /// (a superset), so the hits are the same. With no term or more than
    /// [`MAX_PREFIX_TERMS`], the prefix query stays.
    pub async fn match_expression_for(&self, q: &ParsedQuery) -> Result<String> {
        let (Backend::Sqlite, Some(prefix)) = (self.backend(), &q.prefix) else {
            return Ok(match_expression(self.backend(), q));
        };
        let p = clean_term(prefix);
        let found: Vec<(String,)> = sqlx::query_as(
            "SELECT term FROM search_terms WHERE term >= $1 AND term < $2 ORDER BY term LIMIT $3",
        )
        .bind(p.clone())
        .bind(format!("{p}{}", char::MAX))
        .bind(MAX_PREFIX_TERMS as i64 + 1)
        .fetch_all(self.reader())
        .await?;
        let terms: Vec<String> = found
            .into_iter()
            .map(|t| t.0)
            .filter(|t| t.starts_with(&p))
            .collect();
        // A term FTS5 would read as syntax cannot come from its own tokenizer; refuse it
        // anyway rather than build an expression from it.
        if terms.is_empty()
            || terms.len() > MAX_PREFIX_TERMS
            || terms.iter().any(|t| t.contains('"'))
        {
            return Ok(match_expression(self.backend(), q));
        }
        Ok(sqlite_expression(q, Some(&terms)))
    }

    /// Refills the SQLite vocabulary `search_terms` from the index itself: for a tool
    /// that wrote index rows behind the store's back (`loadgen search-seed`). Does
    /// nothing on PostgreSQL, which matches prefixes without it.
    pub async fn refill_search_terms(&self) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.writer().acquire().await?;
        for table in ["message_search", "contact_search", "conversation_search"] {
            for sql in [
                format!(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_vocab USING fts5vocab(main, {table}, row)"
                ),
                format!(
                    "INSERT OR IGNORE INTO search_terms (term) SELECT term FROM temp.{table}_vocab"
                ),
                format!("DROP TABLE temp.{table}_vocab"),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }

    /// [`Store::search_match`] that also counts (up to [`COMMON_MESSAGE_MATCHES`]; on
    /// PostgreSQL among the newest [`COMMON_SAMPLE`]) the messages matching, so the
    /// conversation list picks the faster plan. Either plan finds the same rows.
    pub async fn search_match_sized(&self, q: &ParsedQuery) -> Result<SearchMatch> {
        let mut m = self.search_match(q);
        if m.expression.is_empty() {
            return Ok(m);
        }
        m.expression = self.match_expression_for(q).await?;
        m.common = match self.backend() {
            Backend::Sqlite => {
                let common = self.common_message_matches();
                let sql = format!(
                    "SELECT COUNT(*) FROM ({} LIMIT {common}) x",
                    message_ids_matching(self.backend(), "$1")
                );
                let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(m.expression.clone())
                    .fetch_one(self.reader())
                    .await?;
                n >= common
            }
            Backend::Postgres => self.dense_on_postgres(&m.expression).await?,
        };
        // A word rare in messages may still be in many contacts (a common name, an e-mail
        // domain): then the conversations are walked too, each one's contact and
        // attributes probed by key ([`conversation_contact_matches`]).
        if !m.common {
            let backend = self.backend();
            m.common = self
                .many_matches(&contact_ids_matching(backend, "$1"), &m.expression)
                .await?
                || self
                    .many_matches(&conversation_ids_matching(backend, "$1"), &m.expression)
                    .await?;
        }
        Ok(m)
    }

    /// PostgreSQL: whether a query is common enough to walk (see [`COMMON_SAMPLE`]). A query sparse among the newest messages is collected, so it is
    /// also counted up to [`COMMON_MESSAGE_MATCHES`]: a word frequent in old messages but
    /// absent from the newest would otherwise have every one of its matches collected into
    /// one array (unbounded memory and time for one request); from that many on it walks.
    async fn dense_on_postgres(&self, expression: &str) -> Result<bool> {
        if self.sample_matches(expression).await? >= COMMON_SAMPLE_MATCHES {
            return Ok(true);
        }
        let common = self.common_message_matches();
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM message_search WHERE tokens @@ $1::tsquery \
             LIMIT {common}) x"
        );
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(expression.to_string())
            .fetch_one(self.reader())
            .await?;
        Ok(n >= common)
    }

    /// PostgreSQL: how many of the newest [`COMMON_SAMPLE`] index rows match the `tsquery`
    /// expression (3 ms for the full sample).
    async fn sample_matches(&self, expression: &str) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT tokens FROM message_search \
             ORDER BY message_id DESC LIMIT {COMMON_SAMPLE}) x WHERE tokens @@ $1::tsquery"
        );
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(expression.to_string())
            .fetch_one(self.reader())
            .await?;
        Ok(n)
    }

    /// Messages matching a search, newest first, with the cursor of the next page.
    /// Phrases are checked on the candidates' text; at most [`MAX_PHRASE_SCAN`]
    /// candidates are read for one page.
    pub async fn search_messages(&self, s: &MessageSearch) -> Result<MessageHits> {
        // An inbox filter outside the agent's inboxes matches nothing; said here, because
        // PostgreSQL's planner does not see that `inbox_id IN (1, 2) AND inbox_id = 3` is
        // empty and would walk the whole index newest first looking for a row.
        let foreign_inbox =
            matches!((&s.inboxes, s.inbox_id), (Some(ids), Some(i)) if !ids.contains(&i));
        if s.query.is_empty() || s.inboxes.as_ref().is_some_and(Vec::is_empty) || foreign_inbox {
            return Ok(MessageHits {
                messages: Vec::new(),
                next_cursor: None,
            });
        }
        let limit = s.limit.clamp(1, 100);
        let phrases = !s.query.phrases.is_empty();
        let expression = self.match_expression_for(&s.query).await?;
        let mut args = vec![Arg::I(s.account_id), Arg::S(expression.clone())];
        // SQLite: the inbox filter (one inbox, or an agent's inboxes) goes into the match
        // as inbox tokens once every older row carries one ([`inbox_token`]); the SQL
        // conditions on `m.inbox_id` below stay, so the hits are the same either way.
        if self.backend() == Backend::Sqlite
            && (s.inbox_id.is_some() || s.inboxes.is_some())
            && self.inbox_tokens_complete().await?
        {
            // A foreign inbox and an empty list were answered above.
            let wanted: Vec<i64> = match (s.inbox_id, &s.inboxes) {
                (Some(one), _) => vec![one],
                (None, ids) => ids.clone().unwrap_or_default(),
            };
            let tokens = wanted
                .iter()
                .map(|i| format!("\"{}\"", inbox_token(*i)))
                .collect::<Vec<_>>()
                .join(" OR ");
            if let Arg::S(e) = &mut args[1] {
                *e = format!("{e} AND ({tokens})");
            }
        }
        // The index drives, newest first: a page of a common word is the first few
        // entries of its list, each checked against its message and conversation, instead
        // of every match collected and sorted (1.3–2 s for a common word over 10M
        // messages; docs/benchmarks.md, session 14). `CROSS JOIN` keeps SQLite from
        // reordering the loop.
        let mut collected = false;
        let mut sql = match self.backend() {
            Backend::Sqlite => "SELECT m.id, m.content FROM message_search s
                 CROSS JOIN messages m ON m.id = s.rowid
                 CROSS JOIN conversations c ON c.id = m.conversation_id
                 WHERE message_search MATCH $2 AND m.account_id = $1 AND m.message_type <> 2"
                .to_string(),
            // PostgreSQL's planner estimates any word missing from its statistics at 0.5 %
            // of the rows and then walks the primary key newest first testing each row: 1.4 s
            // for a word in 100 of 10M messages, 8.8 s for an e-mail address (docs/
            // benchmarks.md, session 15). So the sample of the newest index rows decides: a
            // dense query walks (the plain join, which the planner walks for a frequent
            // word), a sparse one (fewer than COMMON_MESSAGE_MATCHES in all: the array is
            // bounded) collects its matches from the GIN index first
            // (an array of ids, read by the primary key: joined as a set, the planner merged
            // it against every message newest first, 6 s for the same word).
            Backend::Postgres => {
                if self.dense_on_postgres(&expression).await? {
                    "SELECT m.id, m.content FROM message_search s
                     JOIN messages m ON m.id = s.message_id
                     JOIN conversations c ON c.id = m.conversation_id
                     WHERE s.tokens @@ $2::tsquery AND m.account_id = $1 AND m.message_type <> 2"
                        .to_string()
                } else {
                    collected = true;
                    "SELECT m.id, m.content FROM messages m
                     JOIN conversations c ON c.id = m.conversation_id
                     WHERE m.id = ANY(ARRAY(
                         SELECT message_id FROM message_search WHERE tokens @@ $2::tsquery))
                       AND m.account_id = $1 AND m.message_type <> 2"
                        .to_string()
                }
            }
        };
        let key = match self.backend() {
            Backend::Sqlite => "s.rowid",
            Backend::Postgres if collected => "m.id",
            Backend::Postgres => "s.message_id",
        };
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
            &format!(" AND {key} < ?"),
            Arg::I(s.before_id.unwrap_or(i64::MAX)),
        );
        // Phrases read candidates in at most two chunks: a small one, which fills the page
        // when the phrase is frequent among its words' matches, then the rest of the scan
        // bound at once. Each chunk is a query of its own, and most of a query's cost is
        // the engine positioning on the words' lists, not the rows read: for a rare phrase
        // of common words over 10M messages on SQLite, ten chunks of 100 took 38–84 ms
        // (p50; one inbox the most), two chunks 17–41 ms (docs/benchmarks.md, session 19).
        let mut chunk = if phrases {
            (limit * 4).min(MAX_PHRASE_SCAN)
        } else {
            limit + 1
        };
        push(
            &mut sql,
            &format!(" ORDER BY {key} DESC LIMIT ?"),
            Arg::I(chunk),
        );
        // The cursor is the next-to-last parameter, the chunk size the last.
        let cursor_idx = args.len() - 2;
        let chunk_idx = args.len() - 1;
        let mut before = s.before_id.unwrap_or(i64::MAX);
        let mut ids: Vec<i64> = Vec::new();
        let mut scanned = 0i64;
        let mut next_cursor = None;
        loop {
            args[cursor_idx] = Arg::I(before);
            args[chunk_idx] = Arg::I(chunk);
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
            chunk = MAX_PHRASE_SCAN - scanned;
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

    /// Whether every message row of SQLite's index carries its inbox token: rows indexed
    /// before migration 0722 get it from the background reindex (`message_inboxes` in
    /// `search_reindex`). Always false on PostgreSQL, which filters inboxes in SQL.
    pub async fn inbox_tokens_complete(&self) -> Result<bool> {
        if self.backend() != Backend::Sqlite {
            return Ok(false);
        }
        let s = self.reindex_status().await?;
        Ok(s.message_inboxes_position >= s.message_inboxes_upto)
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
                "message_inboxes" => {
                    (s.message_inboxes_position, s.message_inboxes_upto) = (position, upto)
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
        // In descending order of name: messages, message_inboxes, conversations, contacts.
        if let Some((name, position, upto)) = rows.into_iter().find(|r| r.1 < r.2) {
            // `message_inboxes` (SQLite, migration 0722) rewrites the older message rows
            // so that each carries its inbox token: the same work as indexing them.
            let last = if name == "messages" || name == "message_inboxes" {
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

    /// Marks every stored message row as lacking its inbox token, as migration 0722 leaves
    /// an existing SQLite database (the rows are rewritten by the background reindex).
    pub async fn restart_inbox_tokens(&self) -> Result<()> {
        sqlx::query(
            "UPDATE search_reindex SET position = 0, upto = (SELECT COALESCE(MAX(id), 0) FROM messages)
             WHERE name = 'message_inboxes'",
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }
}
