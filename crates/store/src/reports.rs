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
    /// When the fact happened (epoch ms): the backfill keeps only facts before its cutoff.
    pub(crate) fn at(&self) -> i64 {
        self.at
    }

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
    /// Which of the key's rows takes the count (see [`count_shard`]).
    pub shard: i64,
}

/// The row of a count key that a conversation's messages add to.
///
/// Why: a counter row updated in a message's transaction stays locked until its commit, so
/// on PostgreSQL, where the message writer runs parallel lanes that divide conversations by
/// id, one row per hour and inbox made every lane wait for the others' commits (migration
/// 0760). Dividing the rows by conversation id modulo 4, as the lanes divide
/// conversations modulo their number (2, or 1: see `postgres_write_lanes`), gives each lane
/// rows of its own; readers sum over them. SQLite has one writer: one row.
pub(crate) fn count_shard(backend: crate::Backend, conversation_id: i64) -> i64 {
    match backend {
        crate::Backend::Postgres => conversation_id.rem_euclid(4),
        crate::Backend::Sqlite => 0,
    }
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

/// Milliseconds in a day: the bucket of the daily rollups.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC month of a day number (days since 1970-01-01), as the day number of the month's
/// first day: the key of the monthly rollups; the same months as migration 0740's
/// `report_calendar`.
pub fn month_of(day: i64) -> i64 {
    let (_, _, d) = parley_core::report_period::civil_from_days(day);
    day - i64::from(d) + 1
}

/// The first day of the month after the one starting at `month` (a month is at most 31
/// days, so `month + 31` lies in the next one and never beyond it).
pub fn next_month(month: i64) -> i64 {
    month_of(month + 31)
}

/// The metrics whose medians are kept as per-day histograms (the summary's medians).
pub const MEDIAN_NAMES: [&str; 3] = ["first_response", "reply_time", "conversation_resolved"];

/// Daily rollup rows named `csat:<score>` count the ratings of each score.
pub const CSAT_SCORE_PREFIX: &str = "csat:";

/// How many histogram buckets there are (the migration 0710 writes the same bounds).
const BUCKETS: usize = 1_701;

/// The lower bounds of the median histogram's buckets, in milliseconds: whole seconds
/// below a minute (buckets 0–59), then each bucket 1 % wider than the one before
/// (`lo(k+1) = lo(k) + lo(k) div 100`), up to ~20 years; the last bucket is open-ended.
/// Integer arithmetic, so SQL (migration 0710) and Rust agree exactly.
pub fn bucket_bounds() -> &'static [i64] {
    static BOUNDS: OnceLock<Vec<i64>> = OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut b = Vec::with_capacity(BUCKETS);
        for k in 0..BUCKETS as i64 {
            let lo = if k < 60 {
                k * 1_000
            } else {
                let prev: i64 = b.last().copied().unwrap_or(0);
                if k == 60 { 60_000 } else { prev + prev / 100 }
            };
            b.push(lo);
        }
        b
    })
}

/// The histogram bucket of a value in milliseconds.
pub fn histogram_bucket(v: i64) -> i64 {
    let b = bucket_bounds();
    (b.partition_point(|lo| *lo <= v).max(1) - 1) as i64
}

/// The value a bucket stands for: the middle of its range (so a median read from the
/// histogram is at most half a bucket off: 0.5 s below a minute, 0.5 % above).
pub fn bucket_value(bucket: i64) -> f64 {
    let b = bucket_bounds();
    let i = bucket.clamp(0, b.len() as i64 - 1) as usize;
    match b.get(i + 1) {
        Some(hi) => (b[i] + hi) as f64 / 2.0,
        None => b[i] as f64,
    }
}

/// A fact as stored: what the rollups are made of (and what a replaced rating takes
/// out of them).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StoredFact {
    account_id: i64,
    name: String,
    inbox_id: i64,
    team_id: Option<i64>,
    user_id: Option<i64>,
    offline: i64,
    value: i64,
    value_bh: i64,
    created_at: i64,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    referrer_domain: Option<String>,
}

const STORED_FACT_COLS: &str = "account_id, name, inbox_id, team_id, user_id, offline, value, \
     value_bh, created_at, utm_source, utm_medium, utm_campaign, referrer_domain";

/// The metrics counted per visitor source (`report_source_days`).
pub const SOURCE_NAMES: [&str; 2] = ["conversation_created", "conversion"];

type DayKey = (i64, i64, i64, String, i64, i64);
type HourKey = (i64, String, i64, i64, i64);
type HistKey = (i64, String, i64, i64, i64);
/// (account, kind, name, day, known, source)
type SourceKey = (i64, i64, String, i64, i64, String);

/// Changes to the rollup tables of one transaction, summed per row and applied in key
/// order (days, months, hours, histograms, month histograms, sources), so two writers
/// cannot deadlock.
#[derive(Debug, Default)]
struct Rollups {
    days: BTreeMap<DayKey, (i64, i64, i64)>,
    /// The same keys with the month (its first day) in place of the day.
    months: BTreeMap<DayKey, (i64, i64, i64)>,
    hours: BTreeMap<HourKey, (i64, i64, i64)>,
    hist: BTreeMap<HistKey, i64>,
    /// The same keys with the month in place of the day.
    hist_months: BTreeMap<HistKey, i64>,
    sources: BTreeMap<SourceKey, i64>,
}

impl Rollups {
    /// Adds (`sign` 1) or takes out (`sign` -1) one fact.
    fn add(&mut self, f: &StoredFact, sign: i64) {
        let day = f.created_at.div_euclid(DAY_MS);
        let month = month_of(day);
        let hour = f.created_at.div_euclid(HOUR_MS);
        let delta = (sign, sign * f.value, sign * f.value_bh);
        let add3 = |e: &mut (i64, i64, i64)| {
            e.0 += delta.0;
            e.1 += delta.1;
            e.2 += delta.2;
        };
        let dims = [
            (0, 0),
            (1, f.inbox_id),
            (2, f.team_id.unwrap_or(0)),
            (3, f.user_id.unwrap_or(0)),
        ];
        let offlines: &[i64] = if f.offline != 0 { &[0, 1] } else { &[0] };
        // A rating is also counted under `csat:<score>`: the score distribution.
        let mut names = vec![f.name.clone()];
        if f.name == FactName::Csat.as_str() {
            names.push(format!("{CSAT_SCORE_PREFIX}{}", f.value));
        }
        for &off in offlines {
            for (dim, id) in dims {
                for name in &names {
                    add3(
                        self.days
                            .entry((f.account_id, dim, id, name.clone(), off, day))
                            .or_default(),
                    );
                    add3(
                        self.months
                            .entry((f.account_id, dim, id, name.clone(), off, month))
                            .or_default(),
                    );
                }
            }
            add3(
                self.hours
                    .entry((f.account_id, f.name.clone(), off, hour, f.inbox_id))
                    .or_default(),
            );
        }
        if SOURCE_NAMES.contains(&f.name.as_str()) {
            let kinds = [
                &f.utm_source,
                &f.utm_medium,
                &f.utm_campaign,
                &f.referrer_domain,
            ];
            for (kind, v) in kinds.into_iter().enumerate() {
                let key = (
                    f.account_id,
                    kind as i64,
                    f.name.clone(),
                    day,
                    i64::from(v.is_some()),
                    v.clone().unwrap_or_default(),
                );
                *self.sources.entry(key).or_default() += sign;
            }
        }
        if MEDIAN_NAMES.contains(&f.name.as_str()) {
            for (bh, v) in [(0, f.value), (1, f.value_bh)] {
                let bucket = histogram_bucket(v);
                *self
                    .hist
                    .entry((f.account_id, f.name.clone(), bh, day, bucket))
                    .or_default() += sign;
                *self
                    .hist_months
                    .entry((f.account_id, f.name.clone(), bh, month, bucket))
                    .or_default() += sign;
            }
        }
    }

    async fn apply(&self, conn: &mut sqlx::AnyConnection) -> Result<()> {
        const DAYS: &str = "INSERT INTO report_fact_days (account_id, dim, dim_id, name, offline, day, n, total, total_bh)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (account_id, dim, dim_id, name, offline, day) DO UPDATE SET
                n = report_fact_days.n + excluded.n,
                total = report_fact_days.total + excluded.total,
                total_bh = report_fact_days.total_bh + excluded.total_bh";
        const MONTHS: &str = "INSERT INTO report_fact_months (account_id, dim, dim_id, name, offline, month, n, total, total_bh)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (account_id, dim, dim_id, name, offline, month) DO UPDATE SET
                n = report_fact_months.n + excluded.n,
                total = report_fact_months.total + excluded.total,
                total_bh = report_fact_months.total_bh + excluded.total_bh";
        for ((account, dim, id, name, off, day), (n, total, total_bh), sql) in self
            .days
            .iter()
            .map(|(k, v)| (k, v, DAYS))
            .chain(self.months.iter().map(|(k, v)| (k, v, MONTHS)))
        {
            if (*n, *total, *total_bh) == (0, 0, 0) {
                continue;
            }
            sqlx::query(sql)
                .bind(*account)
                .bind(*dim)
                .bind(*id)
                .bind(name.as_str())
                .bind(*off)
                .bind(*day)
                .bind(*n)
                .bind(*total)
                .bind(*total_bh)
                .execute(&mut *conn)
                .await?;
        }
        for ((account, name, off, hour, inbox), (n, total, total_bh)) in &self.hours {
            if (*n, *total, *total_bh) == (0, 0, 0) {
                continue;
            }
            sqlx::query(
                "INSERT INTO report_fact_hours (account_id, name, offline, hour, inbox_id, n, total, total_bh)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (account_id, name, offline, hour, inbox_id) DO UPDATE SET
                    n = report_fact_hours.n + excluded.n,
                    total = report_fact_hours.total + excluded.total,
                    total_bh = report_fact_hours.total_bh + excluded.total_bh",
            )
            .bind(*account)
            .bind(name.as_str())
            .bind(*off)
            .bind(*hour)
            .bind(*inbox)
            .bind(*n)
            .bind(*total)
            .bind(*total_bh)
            .execute(&mut *conn)
            .await?;
        }
        const HIST: &str =
            "INSERT INTO report_fact_histograms (account_id, name, bh, day, bucket, n)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id, name, bh, day, bucket) DO UPDATE SET
                n = report_fact_histograms.n + excluded.n";
        const HIST_MONTHS: &str =
            "INSERT INTO report_histogram_months (account_id, name, bh, month, bucket, n)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id, name, bh, month, bucket) DO UPDATE SET
                n = report_histogram_months.n + excluded.n";
        for ((account, name, bh, day, bucket), n, sql) in self
            .hist
            .iter()
            .map(|(k, v)| (k, v, HIST))
            .chain(self.hist_months.iter().map(|(k, v)| (k, v, HIST_MONTHS)))
        {
            if *n == 0 {
                continue;
            }
            sqlx::query(sql)
                .bind(*account)
                .bind(name.as_str())
                .bind(*bh)
                .bind(*day)
                .bind(*bucket)
                .bind(*n)
                .execute(&mut *conn)
                .await?;
        }
        for ((account, kind, name, day, known, source), n) in &self.sources {
            if *n == 0 {
                continue;
            }
            sqlx::query(
                "INSERT INTO report_source_days (account_id, kind, name, day, known, source, n)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (account_id, kind, name, day, known, source) DO UPDATE SET
                    n = report_source_days.n + excluded.n",
            )
            .bind(*account)
            .bind(*kind)
            .bind(name.as_str())
            .bind(*day)
            .bind(*known)
            .bind(source.as_str())
            .bind(*n)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// Writes facts on `conn` (inside the caller's transaction), with their working-hours
/// part measured by `working`, and adds them to the rollups.
pub(crate) async fn record_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    facts: &[Fact],
) -> Result<()> {
    record_replacing_in(conn, wt, facts, &[]).await
}

/// Writes `facts` and takes `removed` (facts just deleted in this transaction) out of the
/// rollups, in one ordered pass over the rollup rows.
async fn record_replacing_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    facts: &[Fact],
    removed: &[StoredFact],
) -> Result<()> {
    let mut rollups = Rollups::default();
    for r in removed {
        rollups.add(r, -1);
    }
    if facts.is_empty() {
        return rollups.apply(conn).await;
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
        rollups.add(
            &StoredFact {
                account_id: f.account_id,
                name: f.name.as_str().to_string(),
                inbox_id: f.inbox_id,
                team_id: f.team_id,
                user_id: f.user_id,
                offline: i64::from(f.dims.offline),
                value,
                value_bh,
                created_at: f.at,
                utm_source: f.dims.utm_source.clone(),
                utm_medium: f.dims.utm_medium.clone(),
                utm_campaign: f.dims.utm_campaign.clone(),
                referrer_domain: f.dims.referrer_domain.clone(),
            },
            1,
        );
    }
    rollups.apply(conn).await
}

/// Replaces the conversation's rating fact (the latest answer counts) and records a
/// conversion for a positive one; the replaced rating leaves the rollups.
pub(crate) async fn record_rating_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    c: &ConversationRow,
    rating: i64,
    now: i64,
) -> Result<()> {
    let removed = sqlx::query_as::<_, StoredFact>(sqlx::AssertSqlSafe(format!(
        "DELETE FROM report_facts WHERE conversation_id = $1 AND name = 'csat' RETURNING {STORED_FACT_COLS}"
    )))
    .bind(c.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut facts = vec![Fact::rating(c, rating, now)];
    if rating >= POSITIVE_RATING && !converted(conn, c.id).await? {
        facts.push(Fact::event(c, FactName::Conversion, c.assignee_id, now));
    }
    record_replacing_in(conn, wt, &facts, &removed).await
}

async fn converted(conn: &mut sqlx::AnyConnection, conversation_id: i64) -> Result<bool> {
    let seen: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM report_facts WHERE conversation_id = $1 AND name = 'conversion' LIMIT 1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(seen.is_some())
}

/// Records that the conversation converted, once.
pub(crate) async fn record_conversion_in(
    conn: &mut sqlx::AnyConnection,
    wt: &WorkingTimeSlot,
    c: &ConversationRow,
    now: i64,
) -> Result<()> {
    if !converted(conn, c.id).await? {
        record_in(
            conn,
            wt,
            &[Fact::event(c, FactName::Conversion, c.assignee_id, now)],
        )
        .await?;
    }
    Ok(())
}

/// The rollup tables, emptied and filled again from the facts (the same statements as
/// migrations 0710 and 0740): for tools that write facts directly (`loadgen reports-seed`).
pub const ROLLUP_REBUILD: &[&str] = &[
    "DELETE FROM report_fact_months",
    "DELETE FROM report_histogram_months",
    "DELETE FROM report_fact_days",
    "DELETE FROM report_fact_hours",
    "DELETE FROM report_fact_histograms",
    "DELETE FROM report_message_days",
    "DELETE FROM report_source_days",
    include_str!("rollup_sql/fill_days.sql"),
    include_str!("rollup_sql/fill_source_days.sql"),
    include_str!("rollup_sql/fill_csat_scores.sql"),
    include_str!("rollup_sql/fill_message_days.sql"),
    include_str!("rollup_sql/fill_hours.sql"),
    include_str!("rollup_sql/fill_histograms.sql"),
    include_str!("rollup_sql/fill_months.sql"),
    include_str!("rollup_sql/fill_histogram_months.sql"),
];

impl Store {
    /// Empties the report rollups and fills them again from the facts, in one transaction.
    pub async fn rebuild_report_rollups(&self) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        for stmt in ROLLUP_REBUILD {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Adds a batch's message counts (keys in ascending order, so two writers touching the
/// same rows cannot deadlock).
pub(crate) async fn count_messages_in(
    conn: &mut sqlx::AnyConnection,
    counts: &MessageCounts,
) -> Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    // Each table's rows in one statement with one JSON parameter (`json_rows`), in
    // ascending key order.
    let hours: Vec<serde_json::Value> = counts
        .iter()
        .map(|(k, (incoming, outgoing))| {
            serde_json::json!({
                "account_id": k.account_id,
                "hour": k.hour,
                "inbox_id": k.inbox_id,
                "team_id": k.team_id,
                "user_id": k.user_id,
                "shard": k.shard,
                "incoming": incoming,
                "outgoing": outgoing,
            })
        })
        .collect();
    // The same per UTC day, for the whole account and per inbox, team and agent.
    // (account, dimension, its id, day, shard) → (incoming, outgoing)
    type DayKey = (i64, i64, i64, i64, i64);
    let mut days: BTreeMap<DayKey, (i64, i64)> = BTreeMap::new();
    for (k, (incoming, outgoing)) in counts {
        let day = (k.hour * HOUR_MS).div_euclid(DAY_MS);
        for (dim, id) in [(0, 0), (1, k.inbox_id), (2, k.team_id), (3, k.user_id)] {
            let e = days
                .entry((k.account_id, dim, id, day, k.shard))
                .or_default();
            e.0 += incoming;
            e.1 += outgoing;
        }
    }
    let days: Vec<serde_json::Value> = days
        .iter()
        .map(|((account, dim, id, day, shard), (incoming, outgoing))| {
            serde_json::json!({
                "account_id": account,
                "dim": dim,
                "dim_id": id,
                "day": day,
                "shard": shard,
                "incoming": incoming,
                "outgoing": outgoing,
            })
        })
        .collect();
    let backend = crate::Backend::of(conn);
    let bigints = |names: &[&'static str]| -> Vec<(&'static str, &'static str)> {
        names.iter().map(|n| (*n, "BIGINT")).collect()
    };
    // `WHERE true`: SQLite's grammar needs it between a SELECT and an upsert clause.
    let hour_sql = format!(
        "INSERT INTO report_message_counts (account_id, hour, inbox_id, team_id, user_id, shard, incoming, outgoing)
         SELECT * FROM ({}) x WHERE true
         ON CONFLICT (account_id, hour, inbox_id, team_id, user_id, shard) DO UPDATE SET
            incoming = report_message_counts.incoming + excluded.incoming,
            outgoing = report_message_counts.outgoing + excluded.outgoing",
        crate::json_rows::rows_of_param(
            backend,
            &bigints(&["account_id", "hour", "inbox_id", "team_id", "user_id", "shard", "incoming", "outgoing"])
        )
    );
    sqlx::query(sqlx::AssertSqlSafe(hour_sql))
        .bind(serde_json::Value::Array(hours).to_string())
        .execute(&mut *conn)
        .await?;
    let day_sql =
        format!(
        "INSERT INTO report_message_days (account_id, dim, dim_id, day, shard, incoming, outgoing)
         SELECT * FROM ({}) x WHERE true
         ON CONFLICT (account_id, dim, dim_id, day, shard) DO UPDATE SET
            incoming = report_message_days.incoming + excluded.incoming,
            outgoing = report_message_days.outgoing + excluded.outgoing",
        crate::json_rows::rows_of_param(
            backend,
            &bigints(&["account_id", "dim", "dim_id", "day", "shard", "incoming", "outgoing"])
        )
    );
    sqlx::query(sqlx::AssertSqlSafe(day_sql))
        .bind(serde_json::Value::Array(days).to_string())
        .execute(&mut *conn)
        .await?;
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

#[cfg(test)]
mod bucket_tests {
    use super::{bucket_bounds, bucket_value, histogram_bucket, month_of, next_month};

    #[test]
    fn months_are_utc_calendar_months() {
        // 2026-03-02 is day 20,514; March 2026 began on day 20,513.
        assert_eq!(month_of(20_514), 20_513);
        assert_eq!(month_of(20_513), 20_513);
        assert_eq!(month_of(20_512), 20_513 - 28);
        assert_eq!(next_month(20_513), 20_513 + 31);
        // Leap years: February 2024 had 29 days, 2100 will have 28, 2000 had 29.
        let feb_2024 = 19_754;
        assert_eq!(next_month(feb_2024) - feb_2024, 29);
        assert_eq!(month_of(0), 0);
        let mut m = 0;
        let mut lengths = Vec::new();
        while m < 20_513 {
            let n = next_month(m);
            assert!((28..=31).contains(&(n - m)), "{m}");
            assert!((m..n).all(|d| month_of(d) == m), "{m}");
            lengths.push(n - m);
            m = n;
        }
        assert_eq!(m, 20_513);
        // 56 years and two months since 1970.
        assert_eq!(lengths.len(), 56 * 12 + 2);
    }

    #[test]
    fn buckets_are_seconds_then_one_percent() {
        let b = bucket_bounds();
        assert_eq!(&b[..3], &[0, 1_000, 2_000]);
        assert_eq!(
            (b[59], b[60], b[61], b[62]),
            (59_000, 60_000, 60_600, 61_206)
        );
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(histogram_bucket(0), 0);
        assert_eq!(histogram_bucket(59_999), 59);
        assert_eq!(histogram_bucket(60_000), 60);
        assert_eq!(histogram_bucket(i64::MAX), b.len() as i64 - 1);
        assert_eq!(bucket_value(1), 1_500.0);
        // Half a bucket at most: 0.5 % above a minute.
        for v in [61_000_i64, 3_600_000, 86_400_000, 30 * 86_400_000] {
            let r = bucket_value(histogram_bucket(v));
            assert!((r - v as f64).abs() <= v as f64 * 0.005 + 1.0, "{v} {r}");
        }
    }
}
