//! Reading reports: sums over the facts and message counters of one account and time range
//! (see [`crate::reports`] for how they are written).
//!
//! Rollups (migration 0710): totals, breakdowns per agent / team / inbox / channel, and
//! scopes narrowed to one inbox, team, agent or channel (with or without "offline only")
//! read the whole UTC months of the range from `report_fact_months` (migration 0740: a
//! year is 12 rows per dimension and metric, not 365), the other whole UTC days from
//! `report_fact_days` and only the partial days at its edges (`since`/`until` are any
//! millisecond: time zones) from the facts, and add them: the same integers as summing
//! the facts. Series and the heat map read whole UTC hours from `report_fact_hours`
//! (whole-hour offsets, unnarrowed or one inbox / channel); an agent's or team's series
//! reads the facts through their own indexes. Medians are exact (the middle facts) up to
//! [`EXACT_MEDIAN_LIMIT`] facts; above it the account-wide median comes from the
//! per-month and per-day histograms, at most half a bucket off (0.5 s below a minute,
//! 0.5 % above; [`crate::reports::bucket_value`]). Labels, visitor sources,
//! several narrowings at once and the CSAT score distribution read the facts.
//!
//! Every query starts from the `(account_id, name, created_at)` index (or the counters'
//! primary key) and aggregates in SQL; only a median reads values one by one, and then
//! only the one or two middle rows of the sorted range. Sums are cast to `BIGINT` because
//! PostgreSQL widens a `bigint` sum to `numeric`, which the `Any` driver does not decode;
//! both backends then return the same integers, and every division happens in Rust, so
//! the two give identical numbers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use sqlx::FromRow;

use crate::conversations::{Arg, bind_as};
use crate::reports::{
    CSAT_SCORE_PREFIX, DAY_MS, HOUR_MS, MEDIAN_NAMES, SOURCE_NAMES, bucket_value, histogram_bucket,
    month_of, next_month,
};
use crate::{Backend, Result, Store};

/// Up to this many facts a median is exact (the middle facts themselves); above it the
/// account-wide median is read from the per-day histograms.
pub const EXACT_MEDIAN_LIMIT: i64 = 20_000;

/// How reports choose between the rollups and the facts.
#[derive(Debug)]
pub(crate) struct ReportTuning {
    exact_median_limit: AtomicI64,
    rollups: AtomicBool,
}

impl Default for ReportTuning {
    fn default() -> Self {
        ReportTuning {
            exact_median_limit: AtomicI64::new(EXACT_MEDIAN_LIMIT),
            rollups: AtomicBool::new(true),
        }
    }
}

impl Store {
    /// Test hook (no route reaches it): medians above `n` facts come from the histograms.
    pub fn set_report_exact_median_limit(&self, n: i64) {
        self.report_tuning
            .exact_median_limit
            .store(n.max(0), Ordering::Relaxed);
    }

    /// Test hook (no route reaches it): `false` reads every report from the facts alone,
    /// the reference the rollups must equal.
    pub fn set_report_rollups(&self, on: bool) {
        self.report_tuning.rollups.store(on, Ordering::Relaxed);
    }

    /// [`facts_from`] with SQLite's index named ([`fact_index`]).
    fn facts_from(&self, scope: &ReportScope, names: &[&str], label_join: bool) -> Sql {
        facts_from_with(
            scope,
            names,
            label_join,
            false,
            self.backend() == Backend::Sqlite,
        )
    }

    fn rollups_on(&self) -> bool {
        self.report_tuning.rollups.load(Ordering::Relaxed)
    }
}

/// The whole units of `unit` ms inside `[since, until)`, as unit numbers `[first, end)`.
fn whole_units(since: i64, until: i64, unit: i64) -> Option<(i64, i64)> {
    let first = since.div_euclid(unit) + i64::from(since.rem_euclid(unit) > 0);
    let end = until.div_euclid(unit);
    (first < end).then_some((first, end))
}

/// The parts of the scope's range outside the whole units `[first, end)`: the edges read
/// from the facts.
fn edges(scope: &ReportScope, first: i64, end: i64, unit: i64) -> Vec<ReportScope> {
    let mut out = Vec::new();
    if scope.since < first * unit {
        out.push(ReportScope {
            until: first * unit,
            ..scope.clone()
        });
    }
    if end * unit < scope.until {
        out.push(ReportScope {
            since: end * unit,
            ..scope.clone()
        });
    }
    out
}

/// Which rows of `report_fact_days` hold a scope: the dimension, and its id or a channel.
enum DayRows {
    Dim(i64, i64),
    Channel(String),
}

/// The rollup rows of a scope narrowed to at most one inbox, team, agent or channel;
/// `None` for labels or several narrowings (those read the facts).
fn day_rows(scope: &ReportScope) -> Option<DayRows> {
    if scope.label.is_some() {
        return None;
    }
    let mut found = Vec::new();
    if let Some(v) = scope.inbox_id {
        found.push(DayRows::Dim(1, v));
    }
    if let Some(v) = scope.team_id {
        found.push(DayRows::Dim(2, v));
    }
    if let Some(v) = scope.user_id {
        found.push(DayRows::Dim(3, v));
    }
    if let Some(v) = &scope.channel {
        found.push(DayRows::Channel(v.clone()));
    }
    match found.len() {
        0 => Some(DayRows::Dim(0, 0)),
        1 => found.pop(),
        _ => None,
    }
}

fn names_in(q: &mut Sql, col: &str, names: &[&str]) {
    q.raw(&format!(" AND {col} IN ("));
    for (n, name) in names.iter().enumerate() {
        if n > 0 {
            q.raw(", ");
        }
        q.push("?", Arg::S((*name).to_string()));
    }
    q.raw(")");
}

/// The whole days `[first, end)` as the whole UTC months inside them (`true`, month keys:
/// the day number of a month's first day) and the day ranges before and after those
/// (`false`): what a rollup read takes from `report_fact_months` and from
/// `report_fact_days`.
fn month_parts((first, end): (i64, i64)) -> Vec<(bool, i64, i64)> {
    let m0 = if month_of(first) == first {
        first
    } else {
        next_month(month_of(first))
    };
    let m1 = month_of(end);
    if m0 >= m1 {
        return vec![(false, first, end)];
    }
    let mut out = vec![(true, m0, m1)];
    if first < m0 {
        out.push((false, first, m0));
    }
    if m1 < end {
        out.push((false, m1, end));
    }
    out
}

/// Appends `SELECT {cols} FROM … UNION ALL …` over the days `[first, end)`: `months`
/// (keyed `month`) for the whole UTC months among them, `days` (keyed `day`) for the other
/// days ([`month_parts`]); `filter` adds each part's conditions after `account_id`.
fn month_day_union(
    q: &mut Sql,
    (months, days): (&str, &str),
    cols: &str,
    account_id: i64,
    range: (i64, i64),
    filter: impl Fn(&mut Sql),
) {
    for (k, (whole_months, lo, hi)) in month_parts(range).into_iter().enumerate() {
        let (table, col) = if whole_months {
            (months, "month")
        } else {
            (days, "day")
        };
        if k > 0 {
            q.raw(" UNION ALL ");
        }
        q.push(
            &format!("SELECT {cols} FROM {table} WHERE account_id = ?"),
            Arg::I(account_id),
        );
        filter(q);
        q.push(&format!(" AND {col} >= ?"), Arg::I(lo));
        q.push(&format!(" AND {col} < ?"), Arg::I(hi));
    }
}

/// `FROM (…) r …` for the days `[first, end)`: the rows of `report_fact_months` for the
/// whole months among them and of `report_fact_days` for the other days (columns `dim_id,
/// name, n, total, total_bh`); dimension `dim`, one id of it (`None`: every id), the
/// inboxes of `channel` (`i` joined); `csat_scores`: the `csat:<score>` rows.
fn days_from(
    scope: &ReportScope,
    names: &[&str],
    csat_scores: bool,
    dim: i64,
    id: Option<i64>,
    channel: Option<&str>,
    days: (i64, i64),
) -> Sql {
    let mut q = Sql::new(" FROM (");
    month_day_union(
        &mut q,
        ("report_fact_months", "report_fact_days"),
        "dim_id, name, n, total, total_bh",
        scope.account_id,
        days,
        |q| {
            q.push(" AND dim = ?", Arg::I(dim));
            if let Some(id) = id {
                q.push(" AND dim_id = ?", Arg::I(id));
            }
            if !names.is_empty() {
                names_in(q, "name", names);
            }
            if csat_scores {
                // `csat:<score>` rows: the names from "csat:" up to "csat;" (':' + 1).
                q.push(" AND name >= ?", Arg::S(CSAT_SCORE_PREFIX.to_string()));
                q.push(" AND name < ?", Arg::S("csat;".to_string()));
            }
            q.push(" AND offline = ?", Arg::I(i64::from(scope.offline)));
        },
    );
    q.raw(") r");
    if dim == 1 && id.is_none() {
        q.raw(" JOIN inboxes i ON i.id = r.dim_id");
    }
    if let Some(ch) = channel {
        q.push(" WHERE i.channel_type = ?", Arg::S(ch.to_string()));
    }
    q
}

/// The message counters a scope reads are the hours that start inside it; the whole UTC
/// days among them (`report_message_days`) and the scopes of the hours around them.
fn message_days(scope: &ReportScope) -> Option<((i64, i64), Vec<ReportScope>)> {
    let hour_up = |ms: i64| ms.div_euclid(HOUR_MS) + i64::from(ms.rem_euclid(HOUR_MS) > 0);
    let (first_h, end_h) = (hour_up(scope.since), hour_up(scope.until));
    let (d0, d1) = (
        first_h.div_euclid(24) + i64::from(first_h.rem_euclid(24) > 0),
        end_h.div_euclid(24),
    );
    if d0 >= d1 {
        return None;
    }
    let mut edges = Vec::new();
    for (from, to) in [(first_h, d0 * 24), (d1 * 24, end_h)] {
        if from < to {
            edges.push(ReportScope {
                since: from * HOUR_MS,
                until: to * HOUR_MS,
                ..scope.clone()
            });
        }
    }
    Some(((d0, d1), edges))
}

/// `FROM report_message_days r …` for the days `[first, end)` (as [`days_from`]).
fn message_days_from(
    scope: &ReportScope,
    dim: i64,
    id: Option<i64>,
    channel: Option<&str>,
    (first, end): (i64, i64),
) -> Sql {
    let mut q = Sql::new(" FROM report_message_days m");
    if dim == 1 && id.is_none() {
        q.raw(" JOIN inboxes i ON i.id = m.dim_id");
    }
    q.push(" WHERE m.account_id = ?", Arg::I(scope.account_id));
    q.push(" AND m.dim = ?", Arg::I(dim));
    if let Some(id) = id {
        q.push(" AND m.dim_id = ?", Arg::I(id));
    }
    if let Some(ch) = channel {
        q.push(" AND i.channel_type = ?", Arg::S(ch.to_string()));
    }
    q.push(" AND m.day >= ?", Arg::I(first));
    q.push(" AND m.day < ?", Arg::I(end));
    q
}

const ROLLUP_SUMS: &str = "CAST(COALESCE(SUM(r.n), 0) AS BIGINT) AS count, \
                           CAST(COALESCE(SUM(r.total), 0) AS BIGINT) AS sum, \
                           CAST(COALESCE(SUM(r.total_bh), 0) AS BIGINT) AS sum_bh";

/// Adds groups into a map by (key, name), dropping groups a replaced rating emptied.
fn merge(into: &mut BTreeMap<(Option<String>, String), (i64, i64, i64)>, rows: Vec<FactGroup>) {
    for g in rows {
        let e = into.entry((g.key, g.name)).or_default();
        e.0 += g.count;
        e.1 += g.sum;
        e.2 += g.sum_bh;
    }
}

fn groups_of(map: BTreeMap<(Option<String>, String), (i64, i64, i64)>) -> Vec<FactGroup> {
    map.into_iter()
        .filter(|(_, v)| v.0 != 0)
        .map(|((key, name), (count, sum, sum_bh))| FactGroup {
            key,
            name,
            count,
            sum,
            sum_bh,
        })
        .collect()
}

/// Which facts a report reads: an account, a time range and at most one narrowing.
#[derive(Debug, Clone, Default)]
pub struct ReportScope {
    pub account_id: i64,
    /// Epoch milliseconds, inclusive.
    pub since: i64,
    /// Epoch milliseconds, exclusive.
    pub until: i64,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    /// The agent: facts about their work, messages they sent and received in conversations
    /// they held.
    pub user_id: Option<i64>,
    /// Conversations that carry this label now.
    pub label: Option<String>,
    /// The inbox's channel type, e.g. `Channel::WebWidget`.
    pub channel: Option<String>,
    /// Only conversations that began as an offline request.
    pub offline: bool,
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Agent,
    Team,
    Inbox,
    Channel,
    Label,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Referrer,
}

impl Dimension {
    /// The grouping expression over `report_facts f` (with `inboxes i` and, for labels,
    /// `conversation_labels cl` joined).
    fn fact_key(self) -> &'static str {
        match self {
            Dimension::Agent => "CAST(f.user_id AS TEXT)",
            Dimension::Team => "CAST(f.team_id AS TEXT)",
            Dimension::Inbox => "CAST(f.inbox_id AS TEXT)",
            Dimension::Channel => "i.channel_type",
            Dimension::Label => "cl.label",
            Dimension::UtmSource => "f.utm_source",
            Dimension::UtmMedium => "f.utm_medium",
            Dimension::UtmCampaign => "f.utm_campaign",
            Dimension::Referrer => "f.referrer_domain",
        }
    }

    /// The grouping expression over `report_message_counts m`; `None` where messages are
    /// not counted by that dimension.
    fn count_key(self) -> Option<&'static str> {
        match self {
            Dimension::Agent => Some("CAST(NULLIF(m.user_id, 0) AS TEXT)"),
            Dimension::Team => Some("CAST(NULLIF(m.team_id, 0) AS TEXT)"),
            Dimension::Inbox => Some("CAST(m.inbox_id AS TEXT)"),
            Dimension::Channel => Some("i.channel_type"),
            _ => None,
        }
    }
}

/// Count and sums of one metric (in a group).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct FactSums {
    pub count: i64,
    /// Milliseconds (the ratings for `csat`).
    pub sum: i64,
    /// Milliseconds inside working hours.
    pub sum_bh: i64,
}

/// One metric's sums in one group of a breakdown, or in one hour of a series.
#[derive(Debug, Clone, FromRow)]
pub struct FactGroup {
    /// The group (an id as text, a channel type, a label, a UTM value; `None`: none), or
    /// the local hour number of a series (as text).
    pub key: Option<String>,
    pub name: String,
    pub count: i64,
    pub sum: i64,
    pub sum_bh: i64,
}

/// Messages of one group (or one local hour).
#[derive(Debug, Clone, Default, FromRow)]
pub struct MessageSums {
    pub key: Option<String>,
    pub incoming: i64,
    pub outgoing: i64,
}

/// A satisfaction answer with its comment.
#[derive(Debug, Clone, FromRow)]
pub struct CsatRow {
    pub fact_id: i64,
    pub display_id: i64,
    pub rating: i64,
    pub feedback: Option<String>,
    pub user_id: Option<i64>,
    pub inbox_id: i64,
    pub created_at: i64,
}

/// SQL under construction with its numbered arguments (also used by [`crate::exports`]).
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Appends `clause`, each `?` becoming the next placeholder bound to `arg`.
    pub(crate) fn push(&mut self, clause: &str, arg: Arg) {
        self.args.push(arg);
        self.text
            .push_str(&clause.replace('?', &format!("${}", self.args.len())));
    }

    pub(crate) fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }
}

/// `FROM report_facts f …` with the scope's conditions and the metric names.
fn facts_from(scope: &ReportScope, names: &[&str], label_join: bool) -> Sql {
    facts_from_with(scope, names, label_join, false, false)
}

/// The index a SQLite read of the facts must use: the metric's time range, or that of the
/// one agent, team or inbox it is narrowed to. Named, so a plan never depends on whether
/// (and when) the database was analysed: with statistics from before migration 0710, the
/// covering per-inbox index looked cheaper than the metric's range and a year's summary
/// took seconds.
fn fact_index(scope: &ReportScope) -> &'static str {
    if scope.user_id.is_some() {
        " INDEXED BY report_facts_agent"
    } else if scope.team_id.is_some() {
        " INDEXED BY report_facts_team"
    } else if scope.inbox_id.is_some() {
        " INDEXED BY report_facts_inbox"
    } else {
        " INDEXED BY report_facts_metric"
    }
}

/// [`facts_from`], joining `inboxes i` (the channel) only where it is needed: a lookup
/// per fact is most of a long range's time.
fn facts_from_with(
    scope: &ReportScope,
    names: &[&str],
    label_join: bool,
    inboxes: bool,
    sqlite: bool,
) -> Sql {
    let mut q = Sql::new(" FROM report_facts f");
    if sqlite {
        q.raw(fact_index(scope));
    }
    if inboxes || scope.channel.is_some() {
        q.raw(" JOIN inboxes i ON i.id = f.inbox_id");
    }
    if label_join {
        q.raw(" JOIN conversation_labels cl ON cl.conversation_id = f.conversation_id");
    }
    q.push(" WHERE f.account_id = ?", Arg::I(scope.account_id));
    q.raw(" AND f.name IN (");
    for (n, name) in names.iter().enumerate() {
        if n > 0 {
            q.raw(", ");
        }
        q.push("?", Arg::S((*name).to_string()));
    }
    q.raw(")");
    q.push(" AND f.created_at >= ?", Arg::I(scope.since));
    q.push(" AND f.created_at < ?", Arg::I(scope.until));
    if let Some(v) = scope.inbox_id {
        q.push(" AND f.inbox_id = ?", Arg::I(v));
    }
    if let Some(v) = scope.team_id {
        q.push(" AND f.team_id = ?", Arg::I(v));
    }
    if let Some(v) = scope.user_id {
        q.push(" AND f.user_id = ?", Arg::I(v));
    }
    if let Some(v) = &scope.channel {
        q.push(" AND i.channel_type = ?", Arg::S(v.clone()));
    }
    if let Some(v) = &scope.label {
        q.push(
            " AND EXISTS (SELECT 1 FROM conversation_labels lf WHERE lf.conversation_id = f.conversation_id AND lf.label = ?)",
            Arg::S(v.clone()),
        );
    }
    if scope.offline {
        q.raw(" AND f.offline = 1");
    }
    q
}

/// `FROM report_message_counts m …` with the scope's conditions (hours that start
/// inside the range).
fn counts_from(scope: &ReportScope) -> Sql {
    let mut q = Sql::new(" FROM report_message_counts m JOIN inboxes i ON i.id = m.inbox_id");
    q.push(" WHERE m.account_id = ?", Arg::I(scope.account_id));
    q.push(
        " AND m.hour >= ?",
        Arg::I(scope.since.div_euclid(HOUR_MS) + i64::from(scope.since.rem_euclid(HOUR_MS) > 0)),
    );
    q.push(
        " AND m.hour < ?",
        Arg::I(scope.until.div_euclid(HOUR_MS) + i64::from(scope.until.rem_euclid(HOUR_MS) > 0)),
    );
    if let Some(v) = scope.inbox_id {
        q.push(" AND m.inbox_id = ?", Arg::I(v));
    }
    if let Some(v) = scope.team_id {
        q.push(" AND m.team_id = ?", Arg::I(v));
    }
    if let Some(v) = scope.user_id {
        q.push(" AND m.user_id = ?", Arg::I(v));
    }
    if let Some(v) = &scope.channel {
        q.push(" AND i.channel_type = ?", Arg::S(v.clone()));
    }
    q
}

const SUMS: &str = "COUNT(*) AS count, CAST(COALESCE(SUM(f.value), 0) AS BIGINT) AS sum, \
                    CAST(COALESCE(SUM(f.value_bh), 0) AS BIGINT) AS sum_bh";
const MSG_SUMS: &str = "CAST(COALESCE(SUM(m.incoming), 0) AS BIGINT) AS incoming, \
                        CAST(COALESCE(SUM(m.outgoing), 0) AS BIGINT) AS outgoing";

impl Store {
    /// Count and sums of each of `names` in the scope.
    pub async fn report_totals(
        &self,
        scope: &ReportScope,
        names: &[&str],
    ) -> Result<Vec<FactGroup>> {
        let days = whole_units(scope.since, scope.until, DAY_MS);
        let (Some(days), Some(rows), true) = (days, day_rows(scope), self.rollups_on()) else {
            return self.report_totals_raw(scope, names).await;
        };
        let from = match &rows {
            DayRows::Dim(dim, id) => days_from(scope, names, false, *dim, Some(*id), None, days),
            DayRows::Channel(ch) => days_from(scope, names, false, 1, None, Some(ch), days),
        };
        let sql = format!(
            "SELECT NULL AS key, r.name AS name, {ROLLUP_SUMS}{} GROUP BY r.name",
            from.text
        );
        let q = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        let mut map = BTreeMap::new();
        merge(
            &mut map,
            bind_as(q, &from.args).fetch_all(self.reader()).await?,
        );
        for edge in edges(scope, days.0, days.1, DAY_MS) {
            merge(&mut map, self.report_totals_raw(&edge, names).await?);
        }
        Ok(groups_of(map))
    }

    async fn report_totals_raw(
        &self,
        scope: &ReportScope,
        names: &[&str],
    ) -> Result<Vec<FactGroup>> {
        let from = self.facts_from(scope, names, false);
        let sql = format!(
            "SELECT NULL AS key, f.name AS name, {SUMS}{} GROUP BY f.name",
            from.text
        );
        let q = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// The median value of `name` in the scope (`bh`: of the working-hours values), from
    /// the middle one or two rows in value order; `None` without facts. Both backends sort
    /// integers the same way, and the mean of the middle pair is taken in Rust.
    pub async fn report_median(
        &self,
        scope: &ReportScope,
        name: &str,
        count: i64,
        bh: bool,
    ) -> Result<Option<f64>> {
        if count <= 0 {
            return Ok(None);
        }
        let limit = self
            .report_tuning
            .exact_median_limit
            .load(Ordering::Relaxed);
        let whole_scope = scope.inbox_id.is_none()
            && scope.team_id.is_none()
            && scope.user_id.is_none()
            && scope.label.is_none()
            && scope.channel.is_none()
            && !scope.offline;
        if count > limit
            && whole_scope
            && self.rollups_on()
            && MEDIAN_NAMES.contains(&name)
            && let Some(days) = whole_units(scope.since, scope.until, DAY_MS)
            && let Some(m) = self.histogram_median(scope, name, count, bh, days).await?
        {
            return Ok(Some(m));
        }
        let col = if bh { "f.value_bh" } else { "f.value" };
        let mut from = self.facts_from(scope, &[name], false);
        let take = if count % 2 == 0 { 2 } else { 1 };
        from.push(
            &format!(" ORDER BY {col} LIMIT {take} OFFSET ?"),
            Arg::I((count - 1) / 2),
        );
        let sql = format!("SELECT {col} AS v{}", from.text);
        let q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
        let rows = bind_as(q, &from.args).fetch_all(self.reader()).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let sum: i64 = rows.iter().map(|r| r.0).sum();
        Ok(Some(sum as f64 / rows.len() as f64))
    }

    /// The median from the per-day histograms of the whole days `days` and the facts of
    /// the partial days around them; `None` when they do not hold `count` values (then
    /// the caller reads the facts).
    async fn histogram_median(
        &self,
        scope: &ReportScope,
        name: &str,
        count: i64,
        bh: bool,
        days: (i64, i64),
    ) -> Result<Option<f64>> {
        // The month histograms of the whole months, the day histograms of the other days.
        let mut q = Sql::new("SELECT r.bucket, CAST(SUM(r.n) AS BIGINT) FROM (");
        month_day_union(
            &mut q,
            ("report_histogram_months", "report_fact_histograms"),
            "bucket, n",
            scope.account_id,
            days,
            |q| {
                q.push(" AND name = ?", Arg::S(name.to_string()));
                q.push(" AND bh = ?", Arg::I(i64::from(bh)));
            },
        );
        q.raw(") r GROUP BY r.bucket");
        let query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(q.text));
        let rows = bind_as(query, &q.args).fetch_all(self.reader()).await?;
        let mut hist: BTreeMap<i64, i64> = rows.into_iter().collect();
        let col = if bh { "f.value_bh" } else { "f.value" };
        for edge in edges(scope, days.0, days.1, DAY_MS) {
            let from = self.facts_from(&edge, &[name], false);
            let sql = format!("SELECT {col} AS v{}", from.text);
            let q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
            for (v,) in bind_as(q, &from.args).fetch_all(self.reader()).await? {
                *hist.entry(histogram_bucket(v)).or_default() += 1;
            }
        }
        if hist.values().sum::<i64>() != count {
            return Ok(None);
        }
        // The values at ranks (count - 1) / 2 and count / 2 (the same one when odd).
        let (lo, hi) = ((count - 1) / 2, count / 2);
        let (mut at_lo, mut at_hi) = (None, None);
        let mut seen = 0;
        for (bucket, n) in hist {
            if n <= 0 {
                continue;
            }
            let next = seen + n;
            if at_lo.is_none() && lo < next {
                at_lo = Some(bucket_value(bucket));
            }
            if hi < next {
                at_hi = Some(bucket_value(bucket));
                break;
            }
            seen = next;
        }
        Ok(at_lo.zip(at_hi).map(|(a, b)| (a + b) / 2.0))
    }

    /// Sums of `names` per local hour: the key is the hour number of
    /// `created_at + offset_ms` (the caller's time zone), as text.
    pub async fn report_hourly(
        &self,
        scope: &ReportScope,
        names: &[&str],
        offset_ms: i64,
    ) -> Result<Vec<FactGroup>> {
        let hours = whole_units(scope.since, scope.until, HOUR_MS);
        let rollup = offset_ms.rem_euclid(HOUR_MS) == 0
            && scope.label.is_none()
            && scope.team_id.is_none()
            && scope.user_id.is_none()
            && !(scope.inbox_id.is_some() && scope.channel.is_some())
            && self.rollups_on();
        let Some(hours) = hours.filter(|_| rollup) else {
            return self.report_hourly_raw(scope, names, offset_ms).await;
        };
        let mut q = Sql::new(" FROM report_fact_hours r");
        if scope.channel.is_some() {
            q.raw(" JOIN inboxes i ON i.id = r.inbox_id");
        }
        q.push(" WHERE r.account_id = ?", Arg::I(scope.account_id));
        names_in(&mut q, "r.name", names);
        q.push(" AND r.offline = ?", Arg::I(i64::from(scope.offline)));
        q.push(" AND r.hour >= ?", Arg::I(hours.0));
        q.push(" AND r.hour < ?", Arg::I(hours.1));
        if let Some(v) = scope.inbox_id {
            q.push(" AND r.inbox_id = ?", Arg::I(v));
        }
        if let Some(v) = &scope.channel {
            q.push(" AND i.channel_type = ?", Arg::S(v.clone()));
        }
        let shift = offset_ms.div_euclid(HOUR_MS);
        let sql = format!(
            "SELECT CAST(r.hour + {shift} AS TEXT) AS key, r.name AS name, {ROLLUP_SUMS}{} GROUP BY r.hour, r.name",
            q.text
        );
        let query = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        let mut map = BTreeMap::new();
        merge(
            &mut map,
            bind_as(query, &q.args).fetch_all(self.reader()).await?,
        );
        for edge in edges(scope, hours.0, hours.1, HOUR_MS) {
            merge(
                &mut map,
                self.report_hourly_raw(&edge, names, offset_ms).await?,
            );
        }
        Ok(groups_of(map))
    }

    async fn report_hourly_raw(
        &self,
        scope: &ReportScope,
        names: &[&str],
        offset_ms: i64,
    ) -> Result<Vec<FactGroup>> {
        let mut from = self.facts_from(scope, names, false);
        let n = from.args.len() + 1;
        from.args.push(Arg::I(offset_ms));
        let sql = format!(
            "SELECT CAST((f.created_at + ${n}) / {HOUR_MS} AS TEXT) AS key, f.name AS name, {SUMS}{}
             GROUP BY (f.created_at + ${n}) / {HOUR_MS}, f.name",
            from.text
        );
        let q = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// Sums of `names` per group of `dim` (bounded: an account has few agents, teams,
    /// inboxes and channels; labels and UTM values are capped by `limit` groups).
    pub async fn report_breakdown(
        &self,
        scope: &ReportScope,
        names: &[&str],
        dim: Dimension,
        limit: i64,
    ) -> Result<Vec<FactGroup>> {
        let key = match dim {
            Dimension::Agent => Some((3, "CAST(NULLIF(r.dim_id, 0) AS TEXT)")),
            Dimension::Team => Some((2, "CAST(NULLIF(r.dim_id, 0) AS TEXT)")),
            Dimension::Inbox => Some((1, "CAST(r.dim_id AS TEXT)")),
            Dimension::Channel => Some((1, "i.channel_type")),
            _ => None,
        };
        let days = whole_units(scope.since, scope.until, DAY_MS);
        let unnarrowed = matches!(day_rows(scope), Some(DayRows::Dim(0, _)));
        let source_kind = match dim {
            Dimension::UtmSource => Some(0),
            Dimension::UtmMedium => Some(1),
            Dimension::UtmCampaign => Some(2),
            Dimension::Referrer => Some(3),
            _ => None,
        };
        if let (Some(kind), Some(days), true) = (
            source_kind,
            days,
            unnarrowed
                && !scope.offline
                && names.iter().all(|n| SOURCE_NAMES.contains(n))
                && self.rollups_on(),
        ) {
            return self
                .report_sources_rolled(scope, names, dim, kind, days, limit)
                .await;
        }
        let (Some((dim_no, key)), Some(days), true) = (key, days, unnarrowed && self.rollups_on())
        else {
            return self.report_breakdown_raw(scope, names, dim, limit).await;
        };
        let from = days_from(scope, names, false, dim_no, None, None, days);
        // Grouped by the stored column (the key's order): no sort of a year's rows.
        let group = if dim == Dimension::Channel {
            "i.channel_type"
        } else {
            "r.dim_id"
        };
        let sql = format!(
            "SELECT {key} AS key, r.name AS name, {ROLLUP_SUMS}{} GROUP BY {group}, r.name",
            from.text
        );
        let q = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        let rolled = bind_as(q, &from.args).fetch_all(self.reader()).await?;
        self.breakdown_with_edges(rolled, scope, names, dim, days, limit)
            .await
    }

    /// A breakdown's rolled-up groups of whole days plus the raw facts of the partial days
    /// at either end, largest groups first, at most `limit`.
    async fn breakdown_with_edges(
        &self,
        rolled: Vec<FactGroup>,
        scope: &ReportScope,
        names: &[&str],
        dim: Dimension,
        days: (i64, i64),
        limit: i64,
    ) -> Result<Vec<FactGroup>> {
        let mut map = BTreeMap::new();
        merge(&mut map, rolled);
        for edge in edges(scope, days.0, days.1, DAY_MS) {
            merge(
                &mut map,
                self.report_breakdown_raw(&edge, names, dim, limit).await?,
            );
        }
        let mut out = groups_of(map);
        out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        out.truncate(limit.clamp(1, 100_000) as usize);
        Ok(out)
    }

    /// A visitor-source breakdown from `report_source_days` and the edge days' facts.
    async fn report_sources_rolled(
        &self,
        scope: &ReportScope,
        names: &[&str],
        dim: Dimension,
        kind: i64,
        days: (i64, i64),
        limit: i64,
    ) -> Result<Vec<FactGroup>> {
        let mut q = Sql::new(" FROM report_source_days r");
        q.push(" WHERE r.account_id = ?", Arg::I(scope.account_id));
        q.push(" AND r.kind = ?", Arg::I(kind));
        names_in(&mut q, "r.name", names);
        q.push(" AND r.day >= ?", Arg::I(days.0));
        q.push(" AND r.day < ?", Arg::I(days.1));
        let sql = format!(
            "SELECT CASE WHEN r.known = 1 THEN r.source END AS key, r.name AS name,
                    CAST(SUM(r.n) AS BIGINT) AS count, CAST(0 AS BIGINT) AS sum,
                    CAST(0 AS BIGINT) AS sum_bh{}
             GROUP BY r.known, r.source, r.name",
            q.text
        );
        let query = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        let rolled = bind_as(query, &q.args).fetch_all(self.reader()).await?;
        self.breakdown_with_edges(rolled, scope, names, dim, days, limit)
            .await
    }

    async fn report_breakdown_raw(
        &self,
        scope: &ReportScope,
        names: &[&str],
        dim: Dimension,
        limit: i64,
    ) -> Result<Vec<FactGroup>> {
        let key = dim.fact_key();
        let from = facts_from_with(
            scope,
            names,
            dim == Dimension::Label,
            dim == Dimension::Channel,
            self.backend() == Backend::Sqlite,
        );
        let sql = format!(
            "SELECT {key} AS key, f.name AS name, {SUMS}{} GROUP BY {key}, f.name ORDER BY COUNT(*) DESC, {key} LIMIT {}",
            from.text,
            limit.clamp(1, 100_000)
        );
        let q = sqlx::query_as::<_, FactGroup>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// Messages in the scope (a label scope counts none: messages are counted per inbox,
    /// team and agent, not per label).
    pub async fn report_messages(&self, scope: &ReportScope) -> Result<MessageSums> {
        if scope.label.is_some() || scope.offline {
            return Ok(MessageSums::default());
        }
        let split = message_days(scope);
        let (Some((days, edges)), Some(rows), true) = (split, day_rows(scope), self.rollups_on())
        else {
            return self.report_messages_raw(scope).await;
        };
        let from = match &rows {
            DayRows::Dim(dim, id) => message_days_from(scope, *dim, Some(*id), None, days),
            DayRows::Channel(ch) => message_days_from(scope, 1, None, Some(ch), days),
        };
        let sql = format!("SELECT NULL AS key, {MSG_SUMS}{}", from.text);
        let q = sqlx::query_as::<_, MessageSums>(sqlx::AssertSqlSafe(sql));
        let mut total = bind_as(q, &from.args).fetch_one(self.reader()).await?;
        for edge in edges {
            let e = self.report_messages_raw(&edge).await?;
            total.incoming += e.incoming;
            total.outgoing += e.outgoing;
        }
        Ok(total)
    }

    async fn report_messages_raw(&self, scope: &ReportScope) -> Result<MessageSums> {
        let from = counts_from(scope);
        let sql = format!("SELECT NULL AS key, {MSG_SUMS}{}", from.text);
        let q = sqlx::query_as::<_, MessageSums>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_one(self.reader()).await?)
    }

    /// Messages per UTC hour number (as text) in the scope.
    pub async fn report_messages_hourly(&self, scope: &ReportScope) -> Result<Vec<MessageSums>> {
        if scope.label.is_some() || scope.offline {
            return Ok(Vec::new());
        }
        let from = counts_from(scope);
        let sql = format!(
            "SELECT CAST(m.hour AS TEXT) AS key, {MSG_SUMS}{} GROUP BY m.hour",
            from.text
        );
        let q = sqlx::query_as::<_, MessageSums>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// Messages per group of `dim`; empty for dimensions messages are not counted by.
    pub async fn report_messages_by(
        &self,
        scope: &ReportScope,
        dim: Dimension,
    ) -> Result<Vec<MessageSums>> {
        if dim.count_key().is_none() || scope.label.is_some() || scope.offline {
            return Ok(Vec::new());
        }
        let key = match dim {
            Dimension::Agent => Some((3, "CAST(NULLIF(m.dim_id, 0) AS TEXT)")),
            Dimension::Team => Some((2, "CAST(NULLIF(m.dim_id, 0) AS TEXT)")),
            Dimension::Inbox => Some((1, "CAST(m.dim_id AS TEXT)")),
            Dimension::Channel => Some((1, "i.channel_type")),
            _ => None,
        };
        let unnarrowed = matches!(day_rows(scope), Some(DayRows::Dim(0, _)));
        let (Some((dim_no, key)), Some((days, edges)), true) =
            (key, message_days(scope), unnarrowed && self.rollups_on())
        else {
            return self.report_messages_by_raw(scope, dim).await;
        };
        let from = message_days_from(scope, dim_no, None, None, days);
        let group = if dim == Dimension::Channel {
            "i.channel_type"
        } else {
            "m.dim_id"
        };
        let sql = format!(
            "SELECT {key} AS key, {MSG_SUMS}{} GROUP BY {group}",
            from.text
        );
        let q = sqlx::query_as::<_, MessageSums>(sqlx::AssertSqlSafe(sql));
        let mut map: BTreeMap<Option<String>, (i64, i64)> = BTreeMap::new();
        let mut add = |rows: Vec<MessageSums>| {
            for m in rows {
                let e = map.entry(m.key).or_default();
                e.0 += m.incoming;
                e.1 += m.outgoing;
            }
        };
        add(bind_as(q, &from.args).fetch_all(self.reader()).await?);
        for edge in edges {
            add(self.report_messages_by_raw(&edge, dim).await?);
        }
        Ok(map
            .into_iter()
            .map(|(key, (incoming, outgoing))| MessageSums {
                key,
                incoming,
                outgoing,
            })
            .collect())
    }

    async fn report_messages_by_raw(
        &self,
        scope: &ReportScope,
        dim: Dimension,
    ) -> Result<Vec<MessageSums>> {
        let Some(key) = dim.count_key() else {
            return Ok(Vec::new());
        };
        let from = counts_from(scope);
        let sql = format!(
            "SELECT {key} AS key, {MSG_SUMS}{} GROUP BY {key}",
            from.text
        );
        let q = sqlx::query_as::<_, MessageSums>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// How many facts of `name` have each value (the score distribution of `csat`).
    pub async fn report_breakdown_values(
        &self,
        scope: &ReportScope,
        name: &str,
    ) -> Result<Vec<(i64, i64)>> {
        let days = whole_units(scope.since, scope.until, DAY_MS);
        let rows = day_rows(scope);
        let (Some(days), Some(rows), true) = (days, rows, name == "csat" && self.rollups_on())
        else {
            return self.report_breakdown_values_raw(scope, name).await;
        };
        let from = match &rows {
            DayRows::Dim(dim, id) => days_from(scope, &[], true, *dim, Some(*id), None, days),
            DayRows::Channel(ch) => days_from(scope, &[], true, 1, None, Some(ch), days),
        };
        let sql = format!(
            "SELECT r.name, CAST(SUM(r.n) AS BIGINT){} GROUP BY r.name",
            from.text
        );
        let q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
        let mut map: BTreeMap<i64, i64> = BTreeMap::new();
        for (n, count) in bind_as(q, &from.args).fetch_all(self.reader()).await? {
            if let Some(v) = n
                .strip_prefix(CSAT_SCORE_PREFIX)
                .and_then(|v| v.parse::<i64>().ok())
            {
                *map.entry(v).or_default() += count;
            }
        }
        for edge in edges(scope, days.0, days.1, DAY_MS) {
            for (v, count) in self.report_breakdown_values_raw(&edge, name).await? {
                *map.entry(v).or_default() += count;
            }
        }
        Ok(map
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .take(1000)
            .collect())
    }

    async fn report_breakdown_values_raw(
        &self,
        scope: &ReportScope,
        name: &str,
    ) -> Result<Vec<(i64, i64)>> {
        let from = self.facts_from(scope, &[name], false);
        let sql = format!(
            "SELECT f.value, COUNT(*){} GROUP BY f.value ORDER BY f.value LIMIT 1000",
            from.text
        );
        let q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }

    /// Satisfaction answers with their comments, newest first: `limit` after skipping
    /// `offset` (both bounded by the caller).
    pub async fn report_csat_responses(
        &self,
        scope: &ReportScope,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<CsatRow>> {
        let from = facts_from(scope, &["csat"], false);
        let sql = format!(
            "SELECT f.id AS fact_id, c.display_id, f.value AS rating, c.csat_feedback AS feedback,
                    f.user_id, f.inbox_id, f.created_at
             {} ORDER BY f.created_at DESC, f.id DESC LIMIT {} OFFSET {}",
            from.text.replacen(
                " FROM report_facts f",
                " FROM report_facts f JOIN conversations c ON c.id = f.conversation_id",
                1
            ),
            limit.clamp(1, 1_000),
            offset.clamp(0, 100_000)
        );
        let q = sqlx::query_as::<_, CsatRow>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &from.args).fetch_all(self.reader()).await?)
    }
}
