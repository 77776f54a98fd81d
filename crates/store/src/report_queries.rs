//! Reading reports: sums over the facts and message counters of one account and time range
//! (see [`crate::reports`] for how they are written).
//!
//! Every query starts from the `(account_id, name, created_at)` index (or the counters'
//! primary key) and aggregates in SQL; only a median reads values one by one, and then
//! only the one or two middle rows of the sorted range. Sums are cast to `BIGINT` because
//! PostgreSQL widens a `bigint` sum to `numeric`, which the `Any` driver does not decode;
//! both backends then return the same integers, and every division happens in Rust, so
//! the two give identical numbers.

use sqlx::FromRow;

use crate::conversations::{Arg, bind_as};
use crate::reports::HOUR_MS;
use crate::{Result, Store};

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
    let mut q = Sql::new(" FROM report_facts f JOIN inboxes i ON i.id = f.inbox_id");
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
        let from = facts_from(scope, names, false);
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
        let col = if bh { "f.value_bh" } else { "f.value" };
        let mut from = facts_from(scope, &[name], false);
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

    /// Sums of `names` per local hour: the key is the hour number of
    /// `created_at + offset_ms` (the caller's time zone), as text.
    pub async fn report_hourly(
        &self,
        scope: &ReportScope,
        names: &[&str],
        offset_ms: i64,
    ) -> Result<Vec<FactGroup>> {
        let mut from = facts_from(scope, names, false);
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
        let key = dim.fact_key();
        let from = facts_from(scope, names, dim == Dimension::Label);
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
        let Some(key) = dim.count_key() else {
            return Ok(Vec::new());
        };
        if scope.label.is_some() || scope.offline {
            return Ok(Vec::new());
        }
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
        let from = facts_from(scope, &[name], false);
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
