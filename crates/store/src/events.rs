//! The event log behind resumable real-time streams.
//!
//! Why a log: a client that loses its connection must get exactly the events it missed, in
//! order, without a reload. Every stored event gets a cursor (`seq`) from a per-account
//! counter row that is incremented inside the writing transaction and stays locked until it
//! commits; so cursors are dense and follow commit order on both backends. A reader that has
//! seen event N has therefore seen (or can read) every event before N — no late commit can
//! slip in below a cursor a client already holds, which a plain sequence or autoincrement
//! would allow on PostgreSQL.

use sqlx::FromRow;

use crate::{Result, Store, StoreError};

/// An event to store; its cursor is assigned by [`append_in`].
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub account_id: i64,
    /// Chatwoot's event name (`message.created`, `conversation.status_changed`, …).
    pub name: String,
    pub conversation_id: Option<i64>,
    pub inbox_id: Option<i64>,
    /// The conversation's contact: whose visitor stream may carry the event.
    pub contact_id: Option<i64>,
    /// Whether the visitor may see it (private notes may not).
    pub public: bool,
    /// The agent-facing JSON payload, as the API renders the object.
    pub payload: String,
    /// Who caused it when not a person: `automation_rule:<id>` for a rule's actions (such
    /// events never trigger rules again).
    pub origin: Option<String>,
}

/// A stored event. Serialises to the row's columns (the writer's JSON parameter).
#[derive(Debug, Clone, FromRow, PartialEq, serde::Serialize)]
pub struct EventRow {
    pub account_id: i64,
    pub seq: i64,
    pub name: String,
    pub conversation_id: Option<i64>,
    pub inbox_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub public: i64,
    pub payload: String,
    pub created_at: i64,
    pub origin: Option<String>,
}

const EVENT_COLS: &str = "account_id, seq, name, conversation_id, inbox_id, contact_id, public, \
     payload, created_at, origin";

/// Whose events a replay reads.
#[derive(Debug, Clone)]
pub enum EventScope {
    /// Every event of the account (administrators, and the node's gap filling).
    Account,
    /// Events of conversations in these inboxes (agents).
    Inboxes(Vec<i64>),
    /// Public events of one contact's conversations in one inbox (a visitor).
    Visitor { contact_id: i64, inbox_id: i64 },
}

/// Stores `drafts` on `conn` (inside the caller's transaction) and returns them with their
/// cursors, in the order given. Counters are taken in ascending account order so that two
/// transactions touching the same accounts cannot deadlock; call this last before commit,
/// since the counter rows stay locked until then.
pub async fn append_in(
    conn: &mut sqlx::AnyConnection,
    drafts: Vec<EventDraft>,
    now: i64,
) -> Result<Vec<EventRow>> {
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    // Each draft's place among its account's drafts, from 1: its cursor is the account's
    // head before the batch plus this.
    let mut rows: Vec<EventRow> = drafts
        .into_iter()
        .map(|d| {
            let k = counts.entry(d.account_id).or_default();
            *k += 1;
            EventRow {
                account_id: d.account_id,
                seq: *k,
                name: d.name,
                conversation_id: d.conversation_id,
                inbox_id: d.inbox_id,
                contact_id: d.contact_id,
                public: i64::from(d.public),
                payload: d.payload,
                created_at: now,
                origin: d.origin,
            }
        })
        .collect();
    let backend = crate::Backend::of(conn);
    let cols = [
        ("account_id", "BIGINT"),
        ("seq", "BIGINT"),
        ("name", "TEXT"),
        ("conversation_id", "BIGINT"),
        ("inbox_id", "BIGINT"),
        ("contact_id", "BIGINT"),
        ("public", "BIGINT"),
        ("payload", "TEXT"),
        ("created_at", "BIGINT"),
        ("origin", "TEXT"),
    ];
    if backend == crate::Backend::Postgres {
        // The counters and the rows in one statement. A counter row stays locked from its
        // update to the commit, and every writer of the account waits on it (the message
        // writer's parallel lanes most of all), so the statements between the two were
        // time that no other batch of the account could commit in: now the lock is held
        // for this statement and the commit only.
        let heads: Vec<serde_json::Value> = counts
            .iter()
            .map(|(account_id, n)| serde_json::json!({"account_id": account_id, "n": n}))
            .collect();
        let rows_sql = crate::json_rows::rows_of_param(backend, &cols);
        let sql = format!(
            "WITH counts AS (
                 SELECT account_id, n FROM json_to_recordset($2::json) AS c(account_id BIGINT, n BIGINT)
             ), heads AS (
                 INSERT INTO event_heads (account_id, seq)
                 SELECT account_id, n FROM counts ORDER BY account_id
                 ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + excluded.seq
                 RETURNING account_id, seq
             ), written AS (
                 INSERT INTO events ({EVENT_COLS})
                 SELECT r.account_id, h.seq - c.n + r.seq, r.name, r.conversation_id, r.inbox_id,
                        r.contact_id, r.public, r.payload, r.created_at, r.origin
                 FROM ({rows_sql}) r
                 JOIN heads h ON h.account_id = r.account_id
                 JOIN counts c ON c.account_id = r.account_id
                 RETURNING 1
             )
             SELECT account_id, seq FROM heads"
        );
        let last: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(serde_json::Value::Array(heads).to_string())
            .fetch_all(&mut *conn)
            .await?;
        let last: std::collections::HashMap<i64, i64> = last.into_iter().collect();
        for r in &mut rows {
            let (Some(head), Some(n)) = (last.get(&r.account_id), counts.get(&r.account_id)) else {
                return Err(StoreError::Corrupt("event counter not returned".into()));
            };
            r.seq += head - n;
        }
        return Ok(rows);
    }
    // SQLite: one writer at a time, so the counters and the rows take two statements.
    let mut base: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for (&account_id, &n) in &counts {
        let (last,): (i64,) = sqlx::query_as(
            "INSERT INTO event_heads (account_id, seq) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET seq = event_heads.seq + $2
             RETURNING seq",
        )
        .bind(account_id)
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
        base.insert(account_id, last - n);
    }
    for r in &mut rows {
        r.seq += base.get(&r.account_id).copied().unwrap_or(0);
    }
    // All rows in one statement with one JSON parameter (`json_rows`), serialised straight
    // from the rows (the payloads are most of a batch's bytes).
    let rows_sql = crate::json_rows::rows_of_param(backend, &cols);
    let sql = format!("INSERT INTO events ({EVENT_COLS}) {rows_sql}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .execute(&mut *conn)
        .await?;
    Ok(rows)
}

impl Store {
    /// Starts moving a consumer's cursor over the event log (an automation cursor, a
    /// webhook's) from `from` to `to`: `update` is the compare-and-set statement (`$1` the
    /// owner, `$2` = `from`, `$3` = `to`). Returns the open transaction, in which the caller
    /// stores what it derived from those events and commits; `None`, with nothing changed,
    /// when no row moved (another node took these events first, or the consumer went away),
    /// so each event is consumed once across nodes.
    pub(crate) async fn begin_cursor_move(
        &self,
        update: &'static str,
        owner: i64,
        (from, to): (i64, i64),
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Any>>> {
        let mut tx = self.writer().begin().await?;
        let moved = sqlx::query(update)
            .bind(owner)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        Ok((moved.rows_affected() > 0).then_some(tx))
    }

    /// Stores one event in a transaction of its own (for changes other than new messages,
    /// which store their events in the message batch itself).
    pub async fn append_event(&self, draft: EventDraft) -> Result<EventRow> {
        let mut tx = self.writer().begin().await?;
        let mut rows = append_in(&mut tx, vec![draft], self.now()).await?;
        tx.commit().await?;
        rows.pop()
            .ok_or_else(|| crate::StoreError::Corrupt("event append returned nothing".into()))
    }

    /// The last cursor handed out in the account (0 before its first event).
    pub async fn event_head(&self, account_id: i64) -> Result<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM event_heads WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.map_or(0, |(s,)| s))
    }

    /// The oldest cursor still stored in the account, if any.
    pub async fn oldest_event(&self, account_id: i64) -> Result<Option<i64>> {
        let row: (Option<i64>,) =
            sqlx::query_as("SELECT MIN(seq) FROM events WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(self.reader())
                .await?;
        Ok(row.0)
    }

    /// Up to `limit` events after cursor `after` (exclusive) and, when given, before `until`
    /// (exclusive), oldest first, limited to `scope`.
    pub async fn events_after(
        &self,
        account_id: i64,
        scope: &EventScope,
        after: i64,
        until: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        let until = until.unwrap_or(i64::MAX);
        let rows = match scope {
            EventScope::Account => {
                let sql = format!(
                    "SELECT {EVENT_COLS} FROM events
                     WHERE account_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4"
                );
                sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql))
                    .bind(account_id)
                    .bind(after)
                    .bind(until)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await?
            }
            EventScope::Inboxes(ids) => {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let list = crate::conversations::id_list(ids);
                let sql = format!(
                    "SELECT {EVENT_COLS} FROM events
                     WHERE account_id = $1 AND seq > $2 AND seq < $3 AND inbox_id IN ({list})
                     ORDER BY seq LIMIT $4"
                );
                sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql))
                    .bind(account_id)
                    .bind(after)
                    .bind(until)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await?
            }
            EventScope::Visitor {
                contact_id,
                inbox_id,
            } => {
                let sql = format!(
                    "SELECT {EVENT_COLS} FROM events
                     WHERE contact_id = $1 AND seq > $2 AND seq < $3 AND account_id = $4
                       AND inbox_id = $5 AND public = 1
                     ORDER BY seq LIMIT $6"
                );
                sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql))
                    .bind(*contact_id)
                    .bind(after)
                    .bind(until)
                    .bind(account_id)
                    .bind(*inbox_id)
                    .bind(limit)
                    .fetch_all(self.reader())
                    .await?
            }
        };
        Ok(rows)
    }

    /// Deletes events stored before `before_ms`, in bounded batches; returns how many.
    /// Counter rows stay, so cursors never restart.
    pub async fn prune_events(&self, before_ms: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let r = sqlx::query(
                "DELETE FROM events WHERE (account_id, seq) IN
                   (SELECT account_id, seq FROM events WHERE created_at < $1 LIMIT 5000)",
            )
            .bind(before_ms)
            .execute(self.writer())
            .await?;
            total += r.rows_affected();
            if r.rows_affected() < 5000 {
                return Ok(total);
            }
        }
    }
}
