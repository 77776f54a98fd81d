//! Report facts of conversations older than the facts table: derived once, in the
//! background, from what the database kept (docs/reports.md, "Older conversations").
//!
//! Why a backfill at all: facts are written as things happen (see [`crate::reports`]), so
//! a database upgraded from before migration 0630 would show empty reports for all of its
//! history. Why a cutoff: 0630's install time is where live recording began; the backfill
//! writes only facts dated before it, so a conversation that began before and went on
//! after is counted once — its early part derived, its later part recorded live.
//!
//! What the history can honestly give, walking a conversation's messages in order:
//! its start, the first response and every reply to a waiting customer (from incoming and
//! public agent messages), resolutions, reopenings and missed conversations (from the
//! status activity lines, and an incoming message reopening a resolved conversation), the
//! rating (the answered survey message) and conversions (a rating of 4–5 or the
//! `converted` label), and the message counters per hour. What it cannot: time in the
//! queue and assignments (the queue kept no history), reply targets met or missed (the
//! targets in force back then are not stored), and who held the conversation at each
//! moment — the facts carry the conversation's current agent, team and visitor tags.
//!
//! The position is stored in the same transaction as each batch's facts, so a restart
//! resumes without doubling a batch, and the job runs once across a cluster (the durable
//! jobs queue; PostgreSQL also locks the position row).

use parley_core::MessageType;
use parley_core::activity::Activity;
use serde_json::Value;

use crate::conversations::{CONVERSATION_COLS, ConversationRow, id_list};
use crate::reports::{
    self, CONVERTED_LABEL, CountKey, Fact, FactName, HOUR_MS, MessageCounts, POSITIVE_RATING,
};
use crate::{Backend, Result, Store};

/// Conversations per backfill batch: one short write transaction each.
pub const BACKFILL_BATCH: i64 = 200;

/// Where the reports backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackfillStatus {
    /// The last conversation id done.
    pub position: i64,
    /// The last conversation id to do.
    pub upto: i64,
    /// Facts before this moment (epoch ms) are derived, later ones were recorded live.
    pub cutoff: i64,
}

impl BackfillStatus {
    /// Every older conversation has its facts.
    pub fn complete(&self) -> bool {
        self.position >= self.upto
    }

    /// The share done, 0–1.
    pub fn progress(&self) -> f64 {
        if self.upto <= 0 {
            1.0
        } else {
            (self.position.min(self.upto) as f64 / self.upto as f64).clamp(0.0, 1.0)
        }
    }
}

/// A stored message as the derivation reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PastMessage {
    pub conversation_id: i64,
    pub message_type: i64,
    pub private: i64,
    pub sender_type: Option<String>,
    pub sender_id: Option<i64>,
    pub content_type: String,
    pub content_attributes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a status activity line did to the conversation's status.
enum StatusChange {
    Resolved { muted: bool },
    NotResolved,
    Unmuted,
}

fn status_change(m: &PastMessage) -> Option<StatusChange> {
    let attrs: Value = serde_json::from_str(&m.content_attributes).ok()?;
    Some(match Activity::from_attributes(&attrs)? {
        Activity::Resolved { .. } | Activity::ResolvedByContact => {
            StatusChange::Resolved { muted: false }
        }
        Activity::Muted { .. } => StatusChange::Resolved { muted: true },
        Activity::Unmuted { .. } => StatusChange::Unmuted,
        Activity::Reopened { .. }
        | Activity::SnoozeEnded
        | Activity::Pending { .. }
        | Activity::Snoozed { .. } => StatusChange::NotResolved,
        Activity::Automation { action, value, .. } => match (action.as_str(), value.as_deref()) {
            ("resolve_conversation", _) | ("change_status", Some("resolved")) => {
                StatusChange::Resolved { muted: false }
            }
            ("open_conversation" | "snooze_conversation" | "change_status", _) => {
                StatusChange::NotResolved
            }
            _ => return None,
        },
        _ => return None,
    })
}

/// The facts and message counts of one conversation's history before `cutoff`, as the
/// live path would have written them (with the conversation's current dimensions).
pub(crate) fn derive(
    c: &ConversationRow,
    messages: &[PastMessage],
    converted_label: bool,
    cutoff: i64,
) -> (Vec<Fact>, MessageCounts) {
    let mut facts = Vec::new();
    let mut counts = MessageCounts::new();
    if c.created_at >= cutoff {
        return (facts, counts);
    }
    facts.push(Fact::event(
        c,
        FactName::Created,
        c.assignee_id,
        c.created_at,
    ));
    let mut resolved = false;
    let mut muted = false;
    let mut waiting_since: Option<i64> = None;
    let mut first_reply = false;
    let mut had_incoming = false;
    let mut rated: Option<(i64, i64)> = None;
    for m in messages.iter().filter(|m| m.created_at < cutoff) {
        let at = m.created_at;
        let key = |user_id: i64| CountKey {
            account_id: c.account_id,
            hour: at.div_euclid(HOUR_MS),
            inbox_id: c.inbox_id,
            team_id: c.team_id.unwrap_or(0),
            user_id,
            shard: 0,
        };
        if m.message_type == MessageType::Incoming.code() {
            counts
                .entry(key(c.assignee_id.unwrap_or(0)))
                .or_insert((0, 0))
                .0 += 1;
            if muted {
                continue;
            }
            had_incoming = true;
            waiting_since.get_or_insert(at);
            if resolved {
                resolved = false;
                facts.push(Fact::event(c, FactName::Reopened, c.assignee_id, at));
            }
        } else if m.message_type == MessageType::Outgoing.code() && m.private == 0 {
            let agent = m
                .sender_id
                .filter(|_| m.sender_type.as_deref() == Some("User"));
            counts.entry(key(agent.unwrap_or(0))).or_insert((0, 0)).1 += 1;
            if agent.is_some() {
                if !first_reply {
                    first_reply = true;
                    facts.push(Fact::of(
                        c,
                        FactName::FirstResponse,
                        agent,
                        c.created_at,
                        at,
                    ));
                }
                if let Some(since) = waiting_since.take() {
                    facts.push(Fact::of(c, FactName::ReplyTime, agent, since, at));
                }
            }
        } else if m.message_type == MessageType::Activity.code() {
            match status_change(m) {
                Some(StatusChange::Resolved { muted: mute }) => {
                    muted |= mute;
                    if !resolved {
                        resolved = true;
                        facts.push(Fact::of(
                            c,
                            FactName::Resolved,
                            c.assignee_id,
                            c.created_at,
                            at,
                        ));
                        if !first_reply && had_incoming {
                            facts.push(Fact::of(
                                c,
                                FactName::Missed,
                                c.assignee_id,
                                c.created_at,
                                at,
                            ));
                        }
                    }
                }
                Some(StatusChange::NotResolved) if resolved => {
                    resolved = false;
                    facts.push(Fact::event(c, FactName::Reopened, c.assignee_id, at));
                }
                Some(StatusChange::Unmuted) => muted = false,
                Some(StatusChange::NotResolved) | None => {}
            }
        }
        // The answered survey: its last edit is when the rating was given.
        if m.content_type == "input_csat"
            && let Some(r) = serde_json::from_str::<Value>(&m.content_attributes)
                .ok()
                .and_then(|v| v["submitted_values"]["csat_survey_response"]["rating"].as_i64())
        {
            rated = Some((r, m.updated_at));
        }
    }
    // A rating given before the cutoff; the conversation's own copy is the latest answer.
    let rating = match (c.csat_rating, rated) {
        (Some(r), Some((_, at))) if at < cutoff => Some((r, at)),
        _ => None,
    };
    if let Some((r, at)) = rating {
        facts.push(Fact::rating(c, r, at));
    }
    let converted_at = match rating {
        Some((r, at)) if r >= POSITIVE_RATING => Some(at),
        // The label keeps no date: the conversation's last change is the best known.
        _ if converted_label && c.updated_at < cutoff => Some(c.updated_at),
        _ => None,
    };
    if let Some(at) = converted_at {
        facts.push(Fact::event(c, FactName::Conversion, c.assignee_id, at));
    }
    facts.retain(|f| f.at() < cutoff);
    (facts, counts)
}

impl Store {
    /// Where the reports backfill stands.
    pub async fn reports_backfill_status(&self) -> Result<BackfillStatus> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT position, upto, cutoff FROM reports_backfill WHERE name = 'conversations'",
        )
        .fetch_optional(self.reader())
        .await?;
        Ok(row
            .map(|(position, upto, cutoff)| BackfillStatus {
                position,
                upto,
                cutoff,
            })
            .unwrap_or_default())
    }

    /// Derives the facts of the next `batch` older conversations, in one transaction that
    /// also moves the stored position; returns the status after it.
    pub async fn reports_backfill_step(&self, batch: i64) -> Result<BackfillStatus> {
        let mut tx = self.writer().begin().await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let state: Option<(i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT position, upto, cutoff FROM reports_backfill WHERE name = 'conversations'{lock}"
        )))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((position, upto, cutoff)) = state.filter(|s| s.0 < s.1) else {
            tx.commit().await?;
            return self.reports_backfill_status().await;
        };
        let convs = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLS} FROM conversations WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
        )))
        .bind(position)
        .bind(upto)
        .bind(batch.max(1))
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<i64> = convs.iter().map(|c| c.id).collect();
        let (messages, converted) = if ids.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let list = id_list(&ids);
            let messages = sqlx::query_as::<_, PastMessage>(sqlx::AssertSqlSafe(format!(
                "SELECT conversation_id, message_type, private, sender_type, sender_id, content_type,
                        content_attributes, created_at, updated_at
                 FROM messages WHERE conversation_id IN ({list}) AND created_at < $1
                 ORDER BY conversation_id, id"
            )))
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let converted: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT conversation_id FROM conversation_labels WHERE label = $1 AND conversation_id IN ({list})"
            )))
            .bind(CONVERTED_LABEL)
            .fetch_all(&mut *tx)
            .await?;
            (messages, converted)
        };
        let mut facts = Vec::new();
        let mut counts = MessageCounts::new();
        for c in &convs {
            let start = messages.partition_point(|m| m.conversation_id < c.id);
            let end = messages.partition_point(|m| m.conversation_id <= c.id);
            let label = converted.iter().any(|(id,)| *id == c.id);
            let (f, n) = derive(c, &messages[start..end], label, cutoff);
            facts.extend(f);
            for (k, (i, o)) in n {
                let e = counts.entry(k).or_insert((0, 0));
                e.0 += i;
                e.1 += o;
            }
        }
        reports::record_in(&mut tx, self.working_time(), &facts).await?;
        reports::count_messages_in(&mut tx, &counts).await?;
        sqlx::query(
            "UPDATE reports_backfill SET position = $1, updated_at = $2 WHERE name = 'conversations'",
        )
        .bind(ids.last().copied().unwrap_or(upto))
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reports_backfill_status().await
    }

    /// Forgets every report fact, rollup and message count and starts the backfill over with the
    /// cutoff `cutoff`: how the tests turn a database into one from before the facts
    /// existed, and a way for an operator who restored data behind Parley's back.
    pub async fn restart_reports_backfill(&self, cutoff: i64) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        for stmt in [
            "DELETE FROM report_facts",
            "DELETE FROM report_message_counts",
            "DELETE FROM report_fact_days",
            "DELETE FROM report_fact_hours",
            "DELETE FROM report_fact_histograms",
            "DELETE FROM report_message_days",
            "DELETE FROM report_source_days",
        ] {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        sqlx::query(
            "UPDATE reports_backfill SET position = 0, cutoff = $1, updated_at = $2,
                upto = (SELECT COALESCE(MAX(id), 0) FROM conversations WHERE created_at < $1)
             WHERE name = 'conversations'",
        )
        .bind(cutoff)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
