//! Reports (Chatwoot's v2 reports API and more, docs/reports.md): summaries with the
//! previous period, time series, breakdowns per agent, team, inbox, channel, label and
//! visitor source, satisfaction answers and the weekday × hour traffic map, all computed
//! from the facts the store records as things happen ([`parley_store::reports`]).
//!
//! Who may read them: administrators and supervisors (they see every inbox); agents get
//! 403. What a caller can make the server spend is bounded by the range (at most
//! [`MAX_RANGE_DAYS`]), the number of series points and breakdown groups.

use std::collections::{BTreeMap, HashMap};

use parley_core::report_period::{self, GroupBy};
use parley_core::validate::FieldError;
use parley_store::inboxes::InboxRow;
/// What a breakdown groups by (agent, team, inbox, channel, label, visitor source).
pub use parley_store::report_queries::Dimension;
use parley_store::report_queries::{FactGroup, ReportScope};
use parley_store::reports::{FactName, POSITIVE_RATING, WorkingTime};
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::context::AccountCtx;
use crate::routing_config::inbox_calendar;
use crate::{Result, ServiceError, Services};

/// The longest range a report covers: a year and a bit, so "this year vs last" works.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Most points of a time series (an hourly series of a long range is refused).
pub const MAX_POINTS: usize = 2_000;
/// Most groups of a label or visitor-source breakdown.
pub const MAX_GROUPS: i64 = 500;
/// Satisfaction answers per page.
pub const CSAT_PAGE: i64 = 25;
const DAY_MS: i64 = 86_400_000;

/// Measures working time with the inbox's calendar (the store asks while it writes facts).
pub(crate) struct InboxWorkingTime;

impl WorkingTime for InboxWorkingTime {
    fn between(&self, inbox: &InboxRow, from: i64, to: i64) -> i64 {
        match inbox_calendar(inbox) {
            Some(c) => c.working_time_between(from, to),
            None => to - from,
        }
    }
}

fn bad(field: &str, msg: impl Into<String>) -> ServiceError {
    FieldError::new(field, msg).into()
}

/// Which part of the account a report covers (Chatwoot's `type` and `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    Account,
    Agent(i64),
    Inbox(i64),
    Team(i64),
    /// A label by its title.
    Label(String),
    /// An inbox channel type, e.g. `Channel::WebWidget`.
    Channel(String),
}

/// A report request as the query string gives it (every value still text).
#[derive(Debug, Clone, Default)]
pub struct ReportParams {
    pub metric: Option<String>,
    pub kind: Option<String>,
    pub id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub group_by: Option<String>,
    pub business_hours: Option<String>,
    pub timezone_offset: Option<String>,
    /// `source`, `medium`, `campaign` or `referrer` for the visitor-source report.
    pub by: Option<String>,
    /// Page of satisfaction answers (1-based).
    pub page: Option<String>,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct Checked {
    pub target: ReportTarget,
    /// Epoch milliseconds, `[since, until)`.
    pub since: i64,
    pub until: i64,
    pub group_by: GroupBy,
    pub business_hours: bool,
    /// The caller's UTC offset in seconds.
    pub offset_secs: i64,
}

fn epoch_secs(field: &str, v: Option<&str>) -> Result<i64> {
    let v = v
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(field, "is required (epoch seconds)"))?;
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=253_402_300_799).contains(n))
        .ok_or_else(|| bad(field, "must be epoch seconds"))
}

fn flag(field: &str, v: Option<&str>) -> Result<bool> {
    match v.unwrap_or("") {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(bad(field, "must be true or false")),
    }
}

/// Parses and checks the common parameters; the target must exist in the account.
impl Services {
    pub async fn report_request(&self, ctx: &AccountCtx, p: &ReportParams) -> Result<Checked> {
        require_reports(ctx)?;
        let since = epoch_secs("since", p.since.as_deref())?;
        let until = epoch_secs("until", p.until.as_deref())?;
        if until <= since {
            return Err(bad("until", "must be after since"));
        }
        if (until - since) * 1_000 > MAX_RANGE_DAYS * DAY_MS {
            return Err(bad(
                "until",
                format!("a report covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        let group_by = match p.group_by.as_deref().filter(|s| !s.is_empty()) {
            None => GroupBy::Day,
            Some(g) => GroupBy::parse(g)
                .ok_or_else(|| bad("group_by", "must be hour, day, week, month or year"))?,
        };
        let business_hours = flag("business_hours", p.business_hours.as_deref())?;
        let offset_secs = match p.timezone_offset.as_deref().filter(|s| !s.is_empty()) {
            None => 0,
            Some(s) => {
                let h: f64 = s
                    .trim()
                    .parse()
                    .ok()
                    .filter(|h: &f64| h.is_finite() && (-12.0..=14.0).contains(h))
                    .ok_or_else(|| bad("timezone_offset", "must be hours from -12 to 14"))?;
                (h * 3_600.0).round() as i64
            }
        };
        let id = p.id.as_deref().filter(|s| !s.is_empty());
        let num = |id: Option<&str>| -> Result<i64> {
            id.ok_or_else(|| bad("id", "is required for this type"))?
                .parse::<i64>()
                .map_err(|_| bad("id", "must be an integer"))
        };
        let target = match p.kind.as_deref().unwrap_or("account") {
            "" | "account" => ReportTarget::Account,
            "agent" => {
                let id = num(id)?;
                if !self
                    .store
                    .agents(ctx.account_id)
                    .await?
                    .iter()
                    .any(|a| a.id == id)
                {
                    return Err(ServiceError::NotFound("agent"));
                }
                ReportTarget::Agent(id)
            }
            "inbox" => {
                let id = num(id)?;
                if self.store.inbox_ref(ctx.account_id, id).await?.is_none() {
                    return Err(ServiceError::NotFound("inbox"));
                }
                ReportTarget::Inbox(id)
            }
            "team" => {
                let id = num(id)?;
                if self.store.team_ref(ctx.account_id, id).await?.is_none() {
                    return Err(ServiceError::NotFound("team"));
                }
                ReportTarget::Team(id)
            }
            "label" => {
                let id = num(id)?;
                let label = self
                    .store
                    .label(ctx.account_id, id)
                    .await
                    .map_err(|_| ServiceError::NotFound("label"))?;
                ReportTarget::Label(label.title)
            }
            "channel" => {
                let ch = id.ok_or_else(|| bad("id", "is required for this type"))?;
                if ch.len() > 64 {
                    return Err(bad("id", "is not a channel type"));
                }
                ReportTarget::Channel(ch.to_string())
            }
            _ => {
                return Err(bad(
                    "type",
                    "must be account, agent, inbox, team, label or channel",
                ));
            }
        };
        Ok(Checked {
            target,
            since: since * 1_000,
            until: until * 1_000,
            group_by,
            business_hours,
            offset_secs,
        })
    }
}

impl Checked {
    fn scope(&self, account_id: i64) -> ReportScope {
        let mut s = ReportScope {
            account_id,
            since: self.since,
            until: self.until,
            ..Default::default()
        };
        match &self.target {
            ReportTarget::Account => {}
            ReportTarget::Agent(id) => s.user_id = Some(*id),
            ReportTarget::Inbox(id) => s.inbox_id = Some(*id),
            ReportTarget::Team(id) => s.team_id = Some(*id),
            ReportTarget::Label(l) => s.label = Some(l.clone()),
            ReportTarget::Channel(c) => s.channel = Some(c.clone()),
        }
        s
    }

    /// The period just before, of the same length (Chatwoot's `previous`).
    fn previous(&self) -> Checked {
        let len = self.until - self.since;
        Checked {
            since: self.since - len,
            until: self.since,
            ..self.clone()
        }
    }

    /// The fact that counts a conversation for this target: the agent's conversations
    /// are those they received, everyone else's those that began.
    fn conversation_fact(&self) -> FactName {
        if matches!(self.target, ReportTarget::Agent(_)) {
            FactName::Assigned
        } else {
            FactName::Created
        }
    }
}

/// Sums of every metric of one group.
#[derive(Debug, Clone, Default)]
struct Sums(HashMap<String, (i64, i64, i64)>);

impl Sums {
    fn add(&mut self, g: &FactGroup) {
        let e = self.0.entry(g.name.clone()).or_default();
        e.0 += g.count;
        e.1 += g.sum;
        e.2 += g.sum_bh;
    }

    fn count(&self, n: FactName) -> i64 {
        self.0.get(n.as_str()).map_or(0, |e| e.0)
    }

    /// Mean in seconds (durations) or as stored (ratings); `None` without facts.
    fn mean(&self, n: FactName, bh: bool) -> Option<f64> {
        let (c, s, sbh) = self.0.get(n.as_str()).copied().unwrap_or_default();
        (c > 0).then(|| {
            let total = if bh { sbh } else { s };
            let mean = total as f64 / c as f64;
            if n == FactName::Csat {
                mean
            } else {
                mean / 1_000.0
            }
        })
    }
}

const SUMMARY_FACTS: [FactName; 12] = [
    FactName::Created,
    FactName::Assigned,
    FactName::FirstResponse,
    FactName::ReplyTime,
    FactName::Resolved,
    FactName::Reopened,
    FactName::Missed,
    FactName::QueueWait,
    FactName::SlaHit,
    FactName::SlaMissed,
    FactName::Csat,
    FactName::Conversion,
];

fn names(list: &[FactName]) -> Vec<&'static str> {
    list.iter().map(|n| n.as_str()).collect()
}

/// Chatwoot's report summary (its field names first), with Parley's metrics after them.
/// Times are seconds; averages are 0 and medians null without data.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ReportSummary {
    pub conversations_count: i64,
    pub incoming_messages_count: i64,
    pub outgoing_messages_count: i64,
    pub avg_first_response_time: f64,
    pub avg_resolution_time: f64,
    pub resolutions_count: i64,
    /// Average time a waiting customer waited for an agent's reply.
    pub reply_time: f64,
    pub median_first_response_time: Option<f64>,
    pub median_resolution_time: Option<f64>,
    pub median_reply_time: Option<f64>,
    /// Resolved conversations that were opened again.
    pub reopened_count: i64,
    /// Resolved without any agent reply to a customer who wrote.
    pub missed_count: i64,
    /// Conversations that left the waiting queue to an agent, and their average wait.
    pub queued_count: i64,
    pub avg_queue_time: f64,
    /// Reply targets met and missed.
    pub sla_hits_count: i64,
    pub sla_misses_count: i64,
    /// Satisfaction answers, their average (1–5) and how many were 4 or 5.
    pub csat_count: i64,
    pub avg_csat: Option<f64>,
    pub csat_satisfied_count: i64,
    /// Conversations that led to a conversion (`converted` label or a rating of 4–5).
    pub conversions_count: i64,
    /// Conversations that began as an offline request, and how fast they were answered.
    pub offline_requests_count: i64,
    pub avg_offline_response_time: f64,
}

/// A summary with the same figures for the period just before it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportSummaryView {
    #[serde(flatten)]
    pub current: ReportSummary,
    pub previous: ReportSummary,
}

/// One point of a time series (Chatwoot's shape): the period's start in epoch seconds,
/// the value, and for averages how many facts it averages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesPoint {
    pub value: f64,
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
}

/// One row of a breakdown (`summary_reports/{agent,team,inbox,label,channel}`): Chatwoot's
/// fields, then Parley's. Averages are seconds, null without data; message counts are null
/// where messages are not counted (labels).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SummaryRow {
    /// The agent, team, inbox or label id; null for a channel.
    pub id: Option<i64>,
    /// The name (a channel's type, e.g. `Channel::WebWidget`).
    pub name: String,
    pub conversations_count: i64,
    pub resolved_conversations_count: i64,
    pub avg_resolution_time: Option<f64>,
    pub avg_first_response_time: Option<f64>,
    pub avg_reply_time: Option<f64>,
    pub incoming_messages_count: Option<i64>,
    pub outgoing_messages_count: Option<i64>,
    pub missed_count: i64,
    pub reopened_count: i64,
    pub avg_queue_time: Option<f64>,
    pub sla_hits_count: i64,
    pub sla_misses_count: i64,
    pub csat_count: i64,
    pub avg_csat: Option<f64>,
    pub conversions_count: i64,
}

/// Conversations and conversions of one visitor source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceRow {
    /// The UTM value or referrer domain; null: none given.
    pub key: Option<String>,
    pub conversations_count: i64,
    pub conversions_count: i64,
    /// Conversions per conversation started, 0–1.
    pub conversion_rate: f64,
}

/// The traffic heat map: conversations started per weekday (0 = Sunday) and hour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrafficView {
    /// The offset the hours are in, in hours.
    pub timezone_offset: f64,
    /// Seven rows (Sunday first) of 24 counts.
    pub data: Vec<Vec<i64>>,
}

/// Satisfaction figures: answers, their average and each score's count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatMetrics {
    pub total_count: i64,
    pub average_rating: Option<f64>,
    /// Answers per score, `"1"` to `"5"`.
    pub ratings_count: BTreeMap<String, i64>,
    /// Answers of 4 or 5.
    pub satisfied_count: i64,
}

/// A satisfaction answer with its comment (Chatwoot's `csat_survey_responses` fields).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatResponse {
    pub id: i64,
    pub rating: i64,
    pub feedback_message: Option<String>,
    /// The conversation's `display_id`.
    pub conversation_id: i64,
    pub assigned_agent_id: Option<i64>,
    pub inbox_id: i64,
    /// Epoch seconds.
    pub created_at: i64,
}

/// A named metric of the time series (Chatwoot's `metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeriesMetric {
    Count(FactName),
    Mean(FactName),
    Incoming,
    Outgoing,
    /// Conversations that began as offline requests.
    Offline,
}

fn series_metric(name: &str, agent: bool) -> Option<SeriesMetric> {
    use SeriesMetric::*;
    Some(match name {
        "conversations_count" if agent => Count(FactName::Assigned),
        "conversations_count" => Count(FactName::Created),
        "incoming_messages_count" => Incoming,
        "outgoing_messages_count" => Outgoing,
        "avg_first_response_time" => Mean(FactName::FirstResponse),
        "avg_resolution_time" => Mean(FactName::Resolved),
        "reply_time" => Mean(FactName::ReplyTime),
        "resolutions_count" => Count(FactName::Resolved),
        "reopened_count" => Count(FactName::Reopened),
        "missed_count" => Count(FactName::Missed),
        "queued_count" => Count(FactName::QueueWait),
        "avg_queue_time" => Mean(FactName::QueueWait),
        "sla_hits_count" => Count(FactName::SlaHit),
        "sla_misses_count" => Count(FactName::SlaMissed),
        "csat_count" => Count(FactName::Csat),
        "avg_csat" => Mean(FactName::Csat),
        "conversions_count" => Count(FactName::Conversion),
        "offline_requests_count" => Offline,
        _ => return None,
    })
}

/// The metric names a series accepts, for the error message and the docs.
pub const SERIES_METRICS: &str = "conversations_count, incoming_messages_count, outgoing_messages_count, \
     avg_first_response_time, avg_resolution_time, reply_time, resolutions_count, reopened_count, \
     missed_count, queued_count, avg_queue_time, sla_hits_count, sla_misses_count, csat_count, avg_csat, \
     conversions_count, offline_requests_count";

impl Services {
    /// The summary of a target over the range, with the previous period (Chatwoot's
    /// `reports/summary`).
    pub async fn report_summary(&self, ctx: &AccountCtx, r: &Checked) -> Result<ReportSummaryView> {
        let current = self.summary_of(ctx.account_id, r).await?;
        let previous = self.summary_of(ctx.account_id, &r.previous()).await?;
        Ok(ReportSummaryView { current, previous })
    }

    async fn summary_of(&self, account_id: i64, r: &Checked) -> Result<ReportSummary> {
        let scope = r.scope(account_id);
        let bh = r.business_hours;
        let mut sums = Sums::default();
        for g in self
            .store
            .report_totals(&scope, &names(&SUMMARY_FACTS))
            .await?
        {
            sums.add(&g);
        }
        let offline_scope = ReportScope {
            offline: true,
            ..scope.clone()
        };
        let mut offline = Sums::default();
        for g in self
            .store
            .report_totals(
                &offline_scope,
                &names(&[FactName::Created, FactName::FirstResponse]),
            )
            .await?
        {
            offline.add(&g);
        }
        let msgs = self.store.report_messages(&scope).await?;
        let median = |n: FactName| {
            let count = sums.count(n);
            let scope = &scope;
            async move { self.store.report_median(scope, n.as_str(), count, bh).await }
        };
        let secs = |v: Option<f64>| v.map(|ms| ms / 1_000.0);
        let satisfied = self
            .store
            .report_breakdown_values(&scope, FactName::Csat.as_str())
            .await?
            .into_iter()
            .filter(|(v, _)| *v >= POSITIVE_RATING)
            .map(|(_, n)| n)
            .sum();
        Ok(ReportSummary {
            conversations_count: sums.count(r.conversation_fact()),
            incoming_messages_count: msgs.incoming,
            outgoing_messages_count: msgs.outgoing,
            avg_first_response_time: sums.mean(FactName::FirstResponse, bh).unwrap_or(0.0),
            avg_resolution_time: sums.mean(FactName::Resolved, bh).unwrap_or(0.0),
            resolutions_count: sums.count(FactName::Resolved),
            reply_time: sums.mean(FactName::ReplyTime, bh).unwrap_or(0.0),
            median_first_response_time: secs(median(FactName::FirstResponse).await?),
            median_resolution_time: secs(median(FactName::Resolved).await?),
            median_reply_time: secs(median(FactName::ReplyTime).await?),
            reopened_count: sums.count(FactName::Reopened),
            missed_count: sums.count(FactName::Missed),
            queued_count: sums.count(FactName::QueueWait),
            avg_queue_time: sums.mean(FactName::QueueWait, bh).unwrap_or(0.0),
            sla_hits_count: sums.count(FactName::SlaHit),
            sla_misses_count: sums.count(FactName::SlaMissed),
            csat_count: sums.count(FactName::Csat),
            avg_csat: sums.mean(FactName::Csat, false),
            csat_satisfied_count: satisfied,
            conversions_count: sums.count(FactName::Conversion),
            offline_requests_count: offline.count(FactName::Created),
            avg_offline_response_time: offline.mean(FactName::FirstResponse, bh).unwrap_or(0.0),
        })
    }

    /// A time series of one metric (Chatwoot's `GET reports`): one point per period of
    /// `group_by` in the caller's offset, empty periods included.
    pub async fn report_series(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        metric: Option<&str>,
    ) -> Result<Vec<SeriesPoint>> {
        let metric = metric
            .filter(|m| !m.is_empty())
            .ok_or_else(|| bad("metric", format!("is required, one of: {SERIES_METRICS}")))?;
        let m = series_metric(metric, matches!(r.target, ReportTarget::Agent(_)))
            .ok_or_else(|| bad("metric", format!("must be one of: {SERIES_METRICS}")))?;
        let off_ms = r.offset_secs * 1_000;
        let starts = report_period::periods(
            (r.since + off_ms).div_euclid(1_000),
            (r.until + off_ms).div_euclid(1_000),
            r.group_by,
            MAX_POINTS + 1,
        );
        if starts.len() > MAX_POINTS {
            return Err(bad(
                "group_by",
                format!("too many points (at most {MAX_POINTS}): choose a longer period"),
            ));
        }
        let index: HashMap<i64, usize> = starts.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let slot = |local_secs: i64| {
            index
                .get(&report_period::period_start(local_secs, r.group_by))
                .copied()
        };
        // (count, sum) per period.
        let mut acc = vec![(0i64, 0i64); starts.len()];
        let mut scope = r.scope(ctx.account_id);
        match m {
            SeriesMetric::Incoming | SeriesMetric::Outgoing => {
                for row in self.store.report_messages_hourly(&scope).await? {
                    let Some(hour) = row.key.as_deref().and_then(|k| k.parse::<i64>().ok()) else {
                        continue;
                    };
                    let local = (hour * 3_600_000 + off_ms).div_euclid(1_000);
                    if let Some(i) = slot(local) {
                        acc[i].0 += if m == SeriesMetric::Incoming {
                            row.incoming
                        } else {
                            row.outgoing
                        };
                    }
                }
            }
            SeriesMetric::Count(_) | SeriesMetric::Mean(_) | SeriesMetric::Offline => {
                let n = match m {
                    SeriesMetric::Count(n) | SeriesMetric::Mean(n) => n,
                    _ => {
                        scope.offline = true;
                        FactName::Created
                    }
                };
                for g in self
                    .store
                    .report_hourly(&scope, &[n.as_str()], off_ms)
                    .await?
                {
                    let Some(h) = g.key.as_deref().and_then(|k| k.parse::<i64>().ok()) else {
                        continue;
                    };
                    if let Some(i) = slot(h * 3_600) {
                        acc[i].0 += g.count;
                        acc[i].1 += if r.business_hours { g.sum_bh } else { g.sum };
                    }
                }
            }
        }
        let mean_of = |n: FactName, (count, sum): (i64, i64)| {
            if count == 0 {
                0.0
            } else if n == FactName::Csat {
                sum as f64 / count as f64
            } else {
                sum as f64 / count as f64 / 1_000.0
            }
        };
        Ok(starts
            .iter()
            .zip(acc)
            .map(|(start, a)| {
                let timestamp = start - r.offset_secs;
                match m {
                    SeriesMetric::Mean(n) => SeriesPoint {
                        value: mean_of(n, a),
                        timestamp,
                        count: Some(a.0),
                    },
                    _ => SeriesPoint {
                        value: a.0 as f64,
                        timestamp,
                        count: None,
                    },
                }
            })
            .collect())
    }

    /// Breakdown rows per agent, team, inbox, label or channel (Chatwoot's
    /// `summary_reports/…`), every agent/team/inbox/label of the account listed.
    pub async fn report_breakdown(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        dim: Dimension,
    ) -> Result<Vec<SummaryRow>> {
        let scope = r.scope(ctx.account_id);
        let conv = if dim == Dimension::Agent {
            FactName::Assigned
        } else {
            FactName::Created
        };
        let mut groups: BTreeMap<Option<String>, Sums> = BTreeMap::new();
        for g in self
            .store
            .report_breakdown(&scope, &names(&SUMMARY_FACTS), dim, MAX_GROUPS * 12)
            .await?
        {
            groups.entry(g.key.clone()).or_default().add(&g);
        }
        let mut msgs: HashMap<Option<String>, (i64, i64)> = HashMap::new();
        for m in self.store.report_messages_by(&scope, dim).await? {
            msgs.insert(m.key, (m.incoming, m.outgoing));
        }
        let counts_messages = dim != Dimension::Label;
        // Every entity of the account, in a stable order, then groups without one.
        let entities: Vec<(Option<i64>, String, Option<String>)> = match dim {
            Dimension::Agent => self
                .store
                .agents(ctx.account_id)
                .await?
                .into_iter()
                .map(|a| {
                    (
                        Some(a.id),
                        a.display_name.unwrap_or(a.name),
                        Some(a.id.to_string()),
                    )
                })
                .collect(),
            Dimension::Team => self
                .store
                .teams(ctx.account_id)
                .await?
                .into_iter()
                .map(|t| (Some(t.id), t.name, Some(t.id.to_string())))
                .collect(),
            Dimension::Inbox => self
                .store
                .inboxes(ctx.account_id)
                .await?
                .into_iter()
                .map(|i| (Some(i.id), i.name, Some(i.id.to_string())))
                .collect(),
            Dimension::Label => self
                .store
                .labels(ctx.account_id)
                .await?
                .into_iter()
                .map(|l| (Some(l.id), l.title.clone(), Some(l.title)))
                .collect(),
            _ => {
                let mut keys: Vec<Option<String>> = groups.keys().cloned().collect();
                for k in msgs.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
                keys.sort();
                keys.into_iter()
                    .flatten()
                    .map(|k| (None, k.clone(), Some(k)))
                    .collect()
            }
        };
        let bh = r.business_hours;
        let empty = Sums::default();
        Ok(entities
            .into_iter()
            .map(|(id, name, key)| {
                let s = groups.get(&key).unwrap_or(&empty);
                let m = msgs.get(&key).copied().unwrap_or_default();
                SummaryRow {
                    id,
                    name,
                    conversations_count: s.count(conv),
                    resolved_conversations_count: s.count(FactName::Resolved),
                    avg_resolution_time: s.mean(FactName::Resolved, bh),
                    avg_first_response_time: s.mean(FactName::FirstResponse, bh),
                    avg_reply_time: s.mean(FactName::ReplyTime, bh),
                    incoming_messages_count: counts_messages.then_some(m.0),
                    outgoing_messages_count: counts_messages.then_some(m.1),
                    missed_count: s.count(FactName::Missed),
                    reopened_count: s.count(FactName::Reopened),
                    avg_queue_time: s.mean(FactName::QueueWait, bh),
                    sla_hits_count: s.count(FactName::SlaHit),
                    sla_misses_count: s.count(FactName::SlaMissed),
                    csat_count: s.count(FactName::Csat),
                    avg_csat: s.mean(FactName::Csat, false),
                    conversions_count: s.count(FactName::Conversion),
                }
            })
            .collect())
    }

    /// Conversations started and conversions per visitor source (`by`: `source`,
    /// `medium`, `campaign` or `referrer`), most conversations first.
    pub async fn report_sources(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        by: Option<&str>,
    ) -> Result<Vec<SourceRow>> {
        let dim = match by.unwrap_or("source") {
            "" | "source" => Dimension::UtmSource,
            "medium" => Dimension::UtmMedium,
            "campaign" => Dimension::UtmCampaign,
            "referrer" => Dimension::Referrer,
            _ => return Err(bad("by", "must be source, medium, campaign or referrer")),
        };
        let scope = r.scope(ctx.account_id);
        let mut rows: BTreeMap<Option<String>, (i64, i64)> = BTreeMap::new();
        for g in self
            .store
            .report_breakdown(
                &scope,
                &names(&[FactName::Created, FactName::Conversion]),
                dim,
                MAX_GROUPS * 2,
            )
            .await?
        {
            let e = rows.entry(g.key).or_default();
            if g.name == FactName::Created.as_str() {
                e.0 += g.count;
            } else {
                e.1 += g.count;
            }
        }
        let mut out: Vec<SourceRow> = rows
            .into_iter()
            .map(|(key, (started, converted))| SourceRow {
                key,
                conversations_count: started,
                conversions_count: converted,
                conversion_rate: if started > 0 {
                    converted as f64 / started as f64
                } else {
                    0.0
                },
            })
            .collect();
        out.sort_by(|a, b| {
            b.conversations_count
                .cmp(&a.conversations_count)
                .then_with(|| a.key.cmp(&b.key))
        });
        out.truncate(MAX_GROUPS as usize);
        Ok(out)
    }

    /// Conversations started per weekday and hour in the caller's offset.
    pub async fn report_traffic(&self, ctx: &AccountCtx, r: &Checked) -> Result<TrafficView> {
        let scope = r.scope(ctx.account_id);
        let mut data = vec![vec![0i64; 24]; 7];
        for g in self
            .store
            .report_hourly(&scope, &[FactName::Created.as_str()], r.offset_secs * 1_000)
            .await?
        {
            if let Some(h) = g.key.as_deref().and_then(|k| k.parse::<i64>().ok()) {
                let (d, hour) = report_period::weekday_hour(h);
                data[d as usize][hour as usize] += g.count;
            }
        }
        Ok(TrafficView {
            timezone_offset: r.offset_secs as f64 / 3_600.0,
            data,
        })
    }

    /// Satisfaction figures of the target over the range.
    pub async fn report_csat_metrics(&self, ctx: &AccountCtx, r: &Checked) -> Result<CsatMetrics> {
        let scope = r.scope(ctx.account_id);
        let dist = self
            .store
            .report_breakdown_values(&scope, FactName::Csat.as_str())
            .await?;
        let total: i64 = dist.iter().map(|(_, n)| n).sum();
        let sum: i64 = dist.iter().map(|(v, n)| v * n).sum();
        Ok(CsatMetrics {
            total_count: total,
            average_rating: (total > 0).then(|| sum as f64 / total as f64),
            ratings_count: (1..=5)
                .map(|v| {
                    let n = dist.iter().find(|(x, _)| *x == v).map_or(0, |(_, n)| *n);
                    (v.to_string(), n)
                })
                .collect(),
            satisfied_count: dist
                .iter()
                .filter(|(v, _)| *v >= POSITIVE_RATING)
                .map(|(_, n)| n)
                .sum(),
        })
    }

    /// Satisfaction answers with their comments, newest first, a page of [`CSAT_PAGE`].
    pub async fn report_csat_responses(
        &self,
        ctx: &AccountCtx,
        r: &Checked,
        page: Option<&str>,
    ) -> Result<Vec<CsatResponse>> {
        let page = match page.filter(|p| !p.is_empty()) {
            None => 1,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=400).contains(p))
                .ok_or_else(|| bad("page", "must be 1 to 400"))?,
        };
        let scope = r.scope(ctx.account_id);
        let rows = self
            .store
            .report_csat_responses(&scope, (page - 1) * CSAT_PAGE, CSAT_PAGE)
            .await?;
        Ok(rows
            .into_iter()
            .map(|c| CsatResponse {
                id: c.fact_id,
                rating: c.rating,
                feedback_message: c.feedback,
                conversation_id: c.display_id,
                assigned_agent_id: c.user_id,
                inbox_id: c.inbox_id,
                created_at: c.created_at.div_euclid(1_000),
            })
            .collect())
    }
}

/// Wall time one run of the reports backfill works before it yields to other jobs.
const BACKFILL_SLICE_MS: u128 = 500;

impl Services {
    /// One slice of the reports backfill (the `reports_backfill` periodic job): facts of
    /// conversations older than the facts table, batch by batch, until done or until the
    /// slice's time is up, so other jobs and requests are never held up.
    pub(crate) async fn backfill_reports(&self) -> Result<()> {
        let started = std::time::Instant::now();
        if self.store.reports_backfill_status().await?.complete() {
            return Ok(());
        }
        async {
            loop {
                let after = self
                    .store
                    .reports_backfill_step(parley_store::reports_backfill::BACKFILL_BATCH)
                    .await?;
                if after.complete() {
                    tracing::info!("reports: every older conversation has its facts");
                    return Ok(());
                }
                if started.elapsed().as_millis() >= BACKFILL_SLICE_MS {
                    tracing::debug!(progress = after.progress(), "reports backfill continues");
                    return Ok(());
                }
            }
        }
        .instrument(tracing::info_span!("reports_backfill"))
        .await
    }
}

/// How far the reports backfill is (`GET /api/v2/accounts/{id}/reports/status`): reports
/// of a database upgraded from before the facts existed are incomplete until it finishes,
/// and the console says so instead of showing small numbers as if they were the truth.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportsStatus)]
pub struct ReportsStatusView {
    /// Every conversation older than the facts table has its facts.
    pub backfill_complete: bool,
    /// Share of those older conversations done, 0–1.
    pub progress: f64,
}

/// Reports (and the live figures beside them) are for administrators and supervisors.
pub(crate) fn require_reports(ctx: &AccountCtx) -> Result<()> {
    if ctx.sees_all_inboxes() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "reports are for administrators and supervisors".into(),
        ))
    }
}

impl Services {
    /// The reports backfill's progress, for administrators and supervisors.
    pub async fn reports_status(&self, ctx: &AccountCtx) -> Result<ReportsStatusView> {
        require_reports(ctx)?;
        let s = self.store.reports_backfill_status().await?;
        Ok(ReportsStatusView {
            backfill_complete: s.complete(),
            progress: s.progress(),
        })
    }
}
