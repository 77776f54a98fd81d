//! Report facts: what happened to conversations, one row each, written inside the
//! transaction of the change that caused it (docs/reports.md).
//!
//! Why facts and not a scan at report time: a year of an account is millions of messages;
//! a report over facts reads one index range per metric (`report_facts_metric`) and
//! never a message. Why in the same transaction: a fact can neither be lost (the change
//! committed, the fact did not) nor invented (the change rolled back). Each fact carries
//! its dimensions as they were at that moment (inbox, team, agent, the visitor's UTM tags,
//! referrer domain, offline request), so a report never joins conversations.
//!
//! Durations are stored twice: whole, and the part inside the inbox's working hours
//! (`value_bh`). The working-hours calendar is the service's business (typed inbox
//! settings), so the store asks a [`WorkingTime`] the service installs at start; until one
//! is installed every moment counts as working time.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::conversations::ConversationRow;
use crate::inboxes::InboxRow;
use crate::{Result, Store};

/// Milliseconds in an hour: the bucket of the message counters and of time series.
pub const HOUR_MS: i64 = 3_600_000;

/// How much of an interval lies inside an inbox's working hours.
pub trait WorkingTime: Send + Sync {
    /// Milliseconds between `from` and `to` (from ≤ to) that fall into the inbox's
    /// working hours; the whole interval for an inbox that keeps none.
    fn between(&self, inbox: &InboxRow, from: i64, to: i64) -> i64;
}

/// The store's working-time source, set once by the service (see [`Store::set_working_time`]).
#[derive(Clone, Default)]
pub(crate) struct WorkingTimeSlot(Arc<OnceLock<Arc<dyn WorkingTime>>>);

impl std::fmt::Debug for WorkingTimeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "WorkingTime(installed)"
        } else {
            "WorkingTime(always open)"
        })
    }
}

/// What a fact records. The names of Chatwoot's `reporting_events` where it has the same
/// thing (`first_response`, `reply_time`, `conversation_resolved`, `conversation_opened`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FactName {
    /// A conversation began (value 0).
    Created,
    /// The first agent reply: value = since the conversation began.
    FirstResponse,
    /// An agent reply to a waiting customer: value = how long they waited.
    ReplyTime,
    /// Resolved: value = since the conversation began.
    Resolved,
    /// A resolved conversation opened again (value 0).
    Reopened,
    /// Resolved without any agent reply to a customer who wrote: value = since it began.
    Missed,
    /// An agent received the conversation (value = time in the queue, 0 if never queued).
    Assigned,
    /// The conversation left the waiting queue to an agent: value = time in the queue.
    QueueWait,
    /// A running reply target was met by an agent's reply: value = the wait.
    SlaHit,
    /// A reply target passed unanswered (value 0).
    SlaMissed,
    /// The visitor's satisfaction score (value = the rating, 1–5; the latest counts).
    Csat,
    /// The conversation led to a conversion: a `converted` label or a rating of 4 or 5
    /// (value 0, once per conversation).
    Conversion,
}

impl FactName {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FactName::Created => "conversation_created",
            FactName::FirstResponse => "first_response",
            FactName::ReplyTime => "reply_time",
            FactName::Resolved => "conversation_resolved",
            FactName::Reopened => "conversation_opened",
            FactName::Missed => "conversation_missed",
            FactName::Assigned => "conversation_assigned",
            FactName::QueueWait => "queue_wait",
            FactName::SlaHit => "sla_hit",
            FactName::SlaMissed => "sla_missed",
            FactName::Csat => "csat",
            FactName::Conversion => "conversion",
        }
    }

    /// Whether the value is a duration (and so has a working-hours part).
    fn is_duration(self) -> bool {
        !matches!(self, FactName::Csat | FactName::Conversion)
    }
}

/// The label that marks a conversation as converted.
pub const CONVERTED_LABEL: &str = "converted";
/// Ratings at or above this count as a conversion (and as satisfied in CSAT).
pub const POSITIVE_RATING: i64 = 4;

/// One fact about to be written.
#[derive(Debug, Clone)]
pub(crate) struct Fact {
    name: FactName,
    conversation_id: i64,
    account_id: i64,
    inbox_id: i64,
    team_id: Option<i64>,
    user_id: Option<i64>,
    /// The interval measured (`from == to` for a fact without duration) or, for a
    /// rating, `to - from` is the rating.
    from: i64,
    to: i64,
    dims: Dims,
    at: i64,
}

/// Where the visitor came from, read once from the conversation's `additional_attributes`.
#[derive(Debug, Clone, Default)]
struct Dims {
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    referrer_domain: Option<String>,
    offline: bool,
}

/// The host of an http(s) URL, lower case, without `www.`.
fn domain_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host
        .rsplit('@')
        .next()?
        .split(':')
        .next()?
        .to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    (!host.is_empty()).then_some(host)
}

fn dims_of(c: &ConversationRow) -> Dims {
    let Ok(v) = serde_json::from_str::<Value>(&c.additional_attributes) else {
        return Dims::default();
    };
    let utm = |k: &str| {
        v.get("utm")
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .map(|s| s.chars().take(255).collect::<String>())
    };
    Dims {
        utm_source: utm("utm_source"),
        utm_medium: utm("utm_medium"),
        utm_campaign: utm("utm_campaign"),
        referrer_domain: v
            .get("visit_referrer")
            .and_then(Value::as_str)
            .and_then(domain_of),
        offline: v.get("offline_request").and_then(Value::as_bool) == Some(true),
    }
}

impl Fact {
    /// A fact about `c` (its dimensions as they are now) measuring `from..to`, at `to`.
    pub(crate) fn of(
        c: &ConversationRow,
        name: FactName,
        user_id: Option<i64>,
        from: i64,
        to: i64,
    ) -> Fact {
        Fact {
            name,
            conversation_id: c.id,
            account_id: c.account_id,
            inbox_id: c.inbox_id,
            team_id: c.team_id,
            user_id,
            from: from.min(to),
            to,
            dims: dims_of(c),
            at: to,
        }
    }

    /// A fact without duration, at `at`.
    pub(crate) fn event(
        c: &ConversationRow,
        name: FactName,
        user_id: Option<i64>,
        at: i64,
    ) -> Fact {
        Fact::of(c, name, user_id, at, at)
    }

    /// A rating of `c` given at `at`.
    pub(crate) fn rating(c: &ConversationRow, rating: i64, at: i64) -> Fact {
        let mut f = Fact::event(c, FactName::Csat, c.assignee_id, at);
        f.from = 0;
        f.to = rating;
        f
    }
}

/// The facts a change of status makes, from the conversation before and after it.
pub(crate) fn status_facts(
    before: &ConversationRow,
    after: &ConversationRow,
    now: i64,
) -> Vec<Fact> {
    let mut out = Vec::new();
    let (was, is) = (before.status.as_str(), after.status.as_str());
    if was != "resolved" && is == "resolved" {
        out.push(Fact::of(
            after,
            FactName::Resolved,
            after.assignee_id,
            after.created_at,
            now,
        ));
        if after.first_reply_created_at.is_none() && after.last_incoming_at.is_some() {
            out.push(Fact::of(
                after,
                FactName::Missed,
                after.assignee_id,
                after.created_at,
                now,
            ));
        }
    }
    if was == "resolved" && is != "resolved" {
        out.push(Fact::event(
            after,
            FactName::Reopened,
            after.assignee_id,
            now,
        ));
    }
    out
}

/// The facts of a change of assignee: an agent received it, from the queue or not.
pub(crate) fn assignment_facts(
    before: &ConversationRow,
    after: &ConversationRow,
    now: i64,
) -> Vec<Fact> {
    let Some(agent) = after.assignee_id else {
        return Vec::new();
    };
    if before.assignee_id == Some(agent) {
        return Vec::new();
    }
    let from = before.queued_at.unwrap_or(now);
    let mut out = vec![Fact::of(after, FactName::Assigned, Some(agent), from, now)];
    if before.queued_at.is_some() {
        out.push(Fact::of(after, FactName::QueueWait, Some(agent), from, now));
    }
    out
}

/// The reply clocks of a conversation just before an agent's reply stops them (columns
/// named `old_*`, as the bookkeeping statement returns them beside the new row).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReplyClocks {
    #[sqlx(rename = "old_waiting_since")]
    waiting_since: Option<i64>,
    #[sqlx(rename = "old_first_reply_created_at")]
    first_reply_created_at: Option<i64>,
    #[sqlx(rename = "old_sla_due_at")]
    sla_due_at: Option<i64>,
    #[sqlx(rename = "old_sla_overdue_at")]
    sla_overdue_at: Option<i64>,
}

/// A conversation as the bookkeeping left it, with its reply clocks from before.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RowWithClocks {
    #[sqlx(flatten)]
    pub conv: ConversationRow,
    #[sqlx(flatten)]
    pub clocks: ReplyClocks,
}

/// The facts of one stored message: for an agent's reply (`clocks`: the conversation's
/// reply clocks before it), the first response, the reply to a waiting customer and
/// whether it met a running reply target; for any message, a reopening.
pub(crate) fn message_facts(
    before: &ConversationRow,
    after: &ConversationRow,
    sender: Option<i64>,
    clocks: Option<&ReplyClocks>,
    now: i64,
) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(k) = clocks {
        if k.first_reply_created_at.is_none() {
            out.push(Fact::of(
                after,
                FactName::FirstResponse,
                sender,
                after.created_at,
                now,
            ));
        }
        if let Some(since) = k.waiting_since {
            out.push(Fact::of(after, FactName::ReplyTime, sender, since, now));
            if k.sla_due_at.is_some() && k.sla_overdue_at.is_none() {
                out.push(Fact::of(after, FactName::SlaHit, sender, since, now));
            }
        }
    }
    out.extend(
        status_facts(before, after, now)
            .into_iter()
            .filter(|f| f.name == FactName::Reopened),
    );
    out
}

/// One hour's worth of message counts of one inbox, team and agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CountKey {
    pub account_id: i64,
    pub hour: i64,
    pub inbox_id: i64,
    pub team_id: i64,
    pub user_id: i64,
}

/// Messages of a batch counted per key: `(incoming, outgoing)`.
pub(crate) type MessageCounts = BTreeMap<CountKey, (i64, i64)>;

impl Store {
    /// Installs how working time is measured (the service's calendars); the first call wins.
    pub fn set_working_time(&self, w: Arc<dyn WorkingTime>) {
        let _ = self.working_time.0.set(w);
    }

    /// How working time is measured, for writes that record facts.
    pub(crate) fn working_time(&self) -> &WorkingTimeSlot {
        &self.working_time
    }
}

/// Writes facts on `conn` (inside the caller's transaction), with their working-hours
/// part measured by `working`.
pub(crate) async fn record_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    facts: &[Fact],
) -> Result<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let working = wt.0.get().cloned();
    // The inboxes whose calendars the durations need, read once for all facts.
    let mut inboxes: BTreeMap<i64, InboxRow> = BTreeMap::new();
    if working.is_some() {
        let mut ids: Vec<i64> = facts
            .iter()
            .filter(|f| f.name.is_duration() && f.to > f.from)
            .map(|f| f.inbox_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT {} FROM inboxes WHERE id IN ({})",
                crate::inboxes::INBOX_COLS,
                crate::conversations::id_list(&ids)
            );
            for row in sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?
            {
                inboxes.insert(row.id, row);
            }
        }
    }
    for f in facts {
        let value = f.to - f.from;
        let value_bh = match (&working, inboxes.get(&f.inbox_id)) {
            (Some(w), Some(inbox)) if f.name.is_duration() && value > 0 => {
                w.between(inbox, f.from, f.to).clamp(0, value)
            }
            _ => value,
        };
        sqlx::query(
            "INSERT INTO report_facts (account_id, name, conversation_id, inbox_id, team_id, user_id,
                value, value_bh, utm_source, utm_medium, utm_campaign, referrer_domain, offline, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(f.account_id)
        .bind(f.name.as_str())
        .bind(f.conversation_id)
        .bind(f.inbox_id)
        .bind(f.team_id)
        .bind(f.user_id)
        .bind(value)
        .bind(value_bh)
        .bind(f.dims.utm_source.clone())
        .bind(f.dims.utm_medium.clone())
        .bind(f.dims.utm_campaign.clone())
        .bind(f.dims.referrer_domain.clone())
        .bind(i64::from(f.dims.offline))
        .bind(f.at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Replaces the conversation's rating fact (the latest answer counts) and records a
/// conversion for a positive one.
pub(crate) async fn record_rating_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    c: &ConversationRow,
    rating: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM report_facts WHERE conversation_id = $1 AND name = 'csat'")
        .bind(c.id)
        .execute(&mut *conn)
        .await?;
    record_in(&mut *conn, wt, &[Fact::rating(c, rating, now)]).await?;
    if rating >= POSITIVE_RATING {
        record_conversion_in(conn, wt, c, now).await?;
    }
    Ok(())
}

/// Records that the conversation converted, once.
pub(crate) async fn record_conversion_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    c: &ConversationRow,
    now: i64,
) -> Result<()> {
    let seen: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM report_facts WHERE conversation_id = $1 AND name = 'conversion' LIMIT 1",
    )
    .bind(c.id)
    .fetch_optional(&mut *conn)
    .await?;
    if seen.is_none() {
        record_in(
            conn,
            wt,
            &[Fact::event(c, FactName::Conversion, c.assignee_id, now)],
        )
        .await?;
    }
    Ok(())
}

/// Adds a batch's message counts (keys in ascending order, so two writers touching the
/// same rows cannot deadlock).
pub(crate) async fn count_messages_in(
    conn: &mut sqlx::AnyConnection,
    counts: &MessageCounts,
) -> Result<()> {
    for (k, (incoming, outgoing)) in counts {
        sqlx::query(
            "INSERT INTO report_message_counts (account_id, hour, inbox_id, team_id, user_id, incoming, outgoing)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account_id, hour, inbox_id, team_id, user_id) DO UPDATE SET
                incoming = report_message_counts.incoming + excluded.incoming,
                outgoing = report_message_counts.outgoing + excluded.outgoing",
        )
        .bind(k.account_id)
        .bind(k.hour)
        .bind(k.inbox_id)
        .bind(k.team_id)
        .bind(k.user_id)
        .bind(*incoming)
        .bind(*outgoing)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::domain_of;

    #[test]
    fn referrer_domains() {
        assert_eq!(
            domain_of("https://www.Yandex.ru/search?q=1").as_deref(),
            Some("yandex.ru")
        );
        assert_eq!(
            domain_of("http://user@shop.test:8080/").as_deref(),
            Some("shop.test")
        );
        assert_eq!(domain_of("ftp://x"), None);
        assert_eq!(domain_of("https://"), None);
    }
}
