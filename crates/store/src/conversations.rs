//! Conversations: one thread between a contact and the account in one inbox.
//!
//! Every lookup is scoped by account (and `display_id`, the per-account number Chatwoot's
//! API uses as the conversation id), so a guessed id from another tenant reads as missing.
//! The list query is built for the hot path of the operator console: one query returns a
//! page of conversations with their contact, assignee, team and inbox joined in, and two
//! more fetch the page's last messages and labels by id — never one query per row.

use parley_core::{AssigneeFilter, ConversationStatus};
use sqlx::any::AnyArguments;
use sqlx::{Any, FromRow};

use crate::pool::Backend;
use crate::reports::{self, Fact, FactName};
use crate::{Result, Store, StoreError, random_token};

/// A stored conversation.
#[derive(Debug, Clone, FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub account_id: i64,
    pub display_id: i64,
    pub uuid: String,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub contact_inbox_id: Option<i64>,
    pub status: String,
    pub priority: Option<String>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub custom_attributes: String,
    pub additional_attributes: String,
    pub first_reply_created_at: Option<i64>,
    pub waiting_since: Option<i64>,
    pub agent_last_seen_at: Option<i64>,
    pub assignee_last_seen_at: Option<i64>,
    pub contact_last_seen_at: Option<i64>,
    pub last_activity_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Waiting in its queue since; `None` when not queued.
    pub queued_at: Option<i64>,
    /// When the current assignee received it.
    pub assigned_at: Option<i64>,
    /// The customer's last message.
    pub last_incoming_at: Option<i64>,
    /// The last public agent reply.
    pub last_reply_at: Option<i64>,
    /// `first_response` or `next_response` while a reply target runs.
    pub sla_kind: Option<String>,
    pub sla_due_at: Option<i64>,
    /// Set when the running target was missed.
    pub sla_overdue_at: Option<i64>,
    /// When the off-hours reply and manager notice went out for this conversation.
    pub offhours_at: Option<i64>,
    /// The visitor's satisfaction score (1–5) from the survey, once answered.
    pub csat_rating: Option<i64>,
    /// The comment that came with the score.
    pub csat_feedback: Option<String>,
    /// Muted until then (epoch ms): the contact's messages do not reopen it.
    pub muted_until: Option<i64>,
    /// The proactive invitation (campaign) the visitor answered to start it.
    #[sqlx(default)]
    pub campaign_id: Option<i64>,
}

impl ConversationRow {
    /// The status; an unknown stored value reads as open rather than failing the request.
    pub fn status(&self) -> ConversationStatus {
        ConversationStatus::parse(&self.status).unwrap_or(ConversationStatus::Open)
    }

    /// Whether it is muted at `now` (epoch ms).
    pub fn muted_at(&self, now: i64) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }
}

/// Columns of [`ConversationRow`], unqualified (valid in SQLite's RETURNING).
pub const CONVERSATION_COLS: &str = "id, account_id, display_id, uuid, inbox_id, contact_id, contact_inbox_id, status, priority, \
     assignee_id, team_id, snoozed_until, custom_attributes, additional_attributes, first_reply_created_at, \
     waiting_since, agent_last_seen_at, assignee_last_seen_at, contact_last_seen_at, last_activity_at, created_at, updated_at, \
     queued_at, assigned_at, last_incoming_at, last_reply_at, sla_kind, sla_due_at, sla_overdue_at, offhours_at, csat_rating, csat_feedback, muted_until, campaign_id";

/// The same columns qualified with the `c` alias, for joins.
const CONVERSATION_COLS_C: &str = "c.id, c.account_id, c.display_id, c.uuid, c.inbox_id, c.contact_id, c.contact_inbox_id, c.status, \
     c.priority, c.assignee_id, c.team_id, c.snoozed_until, c.custom_attributes, c.additional_attributes, \
     c.first_reply_created_at, c.waiting_since, c.agent_last_seen_at, c.assignee_last_seen_at, c.contact_last_seen_at, \
     c.last_activity_at, c.created_at, c.updated_at, c.queued_at, c.assigned_at, c.last_incoming_at, c.last_reply_at, \
     c.sla_kind, c.sla_due_at, c.sla_overdue_at, c.offhours_at, c.csat_rating, c.csat_feedback, c.muted_until, c.campaign_id";

/// A conversation with everything the API renders around it, from one joined query.
#[derive(Debug, Clone, FromRow)]
pub struct ConversationDetailRow {
    #[sqlx(flatten)]
    pub conv: ConversationRow,
    pub inbox_name: String,
    pub channel_type: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone_number: Option<String>,
    pub contact_identifier: Option<String>,
    pub contact_avatar_url: Option<String>,
    pub contact_custom_attributes: String,
    pub contact_additional_attributes: String,
    pub contact_last_activity_at: Option<i64>,
    pub contact_created_at: i64,
    pub assignee_name: Option<String>,
    pub assignee_display_name: Option<String>,
    pub assignee_email: Option<String>,
    pub assignee_avatar_url: Option<String>,
    pub assignee_role: Option<String>,
    pub assignee_availability: Option<String>,
    pub team_name: Option<String>,
    pub team_description: Option<String>,
    pub team_allow_auto_assign: Option<i64>,
    pub hmac_verified: Option<i64>,
    /// Incoming messages newer than the agents' last visit.
    pub unread_count: i64,
    /// The conversation's labels, comma-separated in any order (labels cannot contain a
    /// comma); aggregated in the row query so the list needs no separate label query.
    pub label_list: Option<String>,
}

impl ConversationDetailRow {
    /// The labels, sorted.
    pub fn labels(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .label_list
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// Where the list continues after this row.
    pub fn cursor(&self) -> ListCursor {
        ListCursor {
            last_activity_at: self.conv.last_activity_at,
            id: self.conv.id,
        }
    }
}

/// A position in the conversation list (newest activity first): the sort key of the last
/// row a client has seen. Paging by key instead of by offset keeps every page as cheap as
/// the first in an account with a million conversations, and a conversation that moves
/// to the top while the operator scrolls is neither skipped nor shown twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub last_activity_at: i64,
    pub id: i64,
}

/// Where a page of the list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStart {
    /// Skip this many rows (Chatwoot's numbered pages).
    Offset(i64),
    /// Right after this row.
    After(ListCursor),
}

const DETAIL_SELECT: &str = "SELECT {COLS},
    i.name AS inbox_name, i.channel_type AS channel_type,
    ct.name AS contact_name, ct.email AS contact_email, ct.phone_number AS contact_phone_number,
    ct.identifier AS contact_identifier, ct.avatar_url AS contact_avatar_url,
    ct.custom_attributes AS contact_custom_attributes, ct.additional_attributes AS contact_additional_attributes,
    ct.last_activity_at AS contact_last_activity_at, ct.created_at AS contact_created_at,
    u.name AS assignee_name, u.display_name AS assignee_display_name, u.email AS assignee_email,
    u.avatar_url AS assignee_avatar_url, au.role AS assignee_role, au.availability AS assignee_availability,
    t.name AS team_name, t.description AS team_description, t.allow_auto_assign AS team_allow_auto_assign,
    ci.hmac_verified AS hmac_verified,
    (SELECT {AGG} FROM conversation_labels cl WHERE cl.conversation_id = c.id) AS label_list,
    (SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id AND um.message_type = 0
        AND um.created_at > COALESCE(c.agent_last_seen_at, 0)) AS unread_count
  FROM {SOURCE} c
  JOIN inboxes i ON i.id = c.inbox_id
  JOIN contacts ct ON ct.id = c.contact_id
  LEFT JOIN users u ON u.id = c.assignee_id
  LEFT JOIN account_users au ON au.account_id = c.account_id AND au.user_id = c.assignee_id
  LEFT JOIN teams t ON t.id = c.team_id
  LEFT JOIN contact_inboxes ci ON ci.id = c.contact_inbox_id";

/// Which conversations to list. Every field narrows the set; `account_id` is mandatory.
#[derive(Debug, Clone)]
pub struct ConversationFilter {
    pub account_id: i64,
    /// `None` lists every status (Chatwoot's `status=all`).
    pub status: Option<ConversationStatus>,
    pub assignee: AssigneeFilter,
    /// The caller, for `assignee_type=me` and the `mine_count`.
    pub user_id: i64,
    /// Set for agents: only these inboxes (the ones they are a member of). An empty
    /// list matches nothing.
    pub inboxes: Option<Vec<i64>>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub display_id: Option<i64>,
    /// Any of these labels.
    pub labels: Vec<String>,
    /// Conversations with a message, or a contact, matching this search (the archive
    /// index, [`crate::search`]).
    pub search: Option<crate::search::SearchMatch>,
    /// The satisfaction rating filter.
    pub rating: RatingFilter,
    /// Only conversations where `user_id` was mentioned (Chatwoot's
    /// `conversation_type=mention`).
    pub mentioned: bool,
}

/// Which conversations by their satisfaction rating (`rating=` on the list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RatingFilter {
    /// Rated or not.
    #[default]
    All,
    /// Rated at all.
    Any,
    /// Not rated.
    None,
    /// Rated within `min..=max` (1–5).
    Between(i64, i64),
}

impl ConversationFilter {
    /// Everything of an account visible to `user_id` (no status filter).
    pub fn all(account_id: i64, user_id: i64) -> Self {
        Self {
            account_id,
            status: None,
            assignee: AssigneeFilter::All,
            user_id,
            inboxes: None,
            inbox_id: None,
            team_id: None,
            contact_id: None,
            display_id: None,
            labels: Vec::new(),
            search: None,
            rating: RatingFilter::All,
            mentioned: false,
        }
    }
}

/// The four counts of the conversation list's tabs: exact, except where the filter is one
/// the counters do not break down by (see [`Store::count_conversations`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ConversationCounts {
    pub mine_count: i64,
    pub unassigned_count: i64,
    pub assigned_count: i64,
    pub all_count: i64,
    /// Set when counting stopped at this many conversations (Parley's; `null` when the
    /// counts are exact at any size): a count equal to it means "at least".
    pub count_limit: Option<i64>,
}

/// An inbox as conversations need it.
#[derive(Debug, Clone, FromRow)]
pub struct InboxRef {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub channel_type: String,
    pub identifier: String,
}

/// A team as conversations need it.
#[derive(Debug, Clone, FromRow)]
pub struct TeamRef {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: i64,
}

/// Fields of a new conversation.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub account_id: i64,
    pub inbox_id: i64,
    pub contact_id: i64,
    /// The contact's identity in the inbox; found or created when `None`.
    pub contact_inbox_id: Option<i64>,
    /// Source id for a contact identity created on the fly (random when `None`).
    pub source_id: Option<String>,
    pub status: ConversationStatus,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub custom_attributes: String,
    pub additional_attributes: String,
}

/// A bind value of dynamically built SQL.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I(i64),
    S(String),
}

/// Binds `args` in order to a dynamically built query.
pub(crate) fn bind_as<'q, O>(
    mut q: sqlx::query::QueryAs<'q, Any, O, AnyArguments>,
    args: &[Arg],
) -> sqlx::query::QueryAs<'q, Any, O, AnyArguments> {
    for a in args {
        q = match a {
            Arg::I(v) => q.bind(*v),
            Arg::S(v) => q.bind(v.clone()),
        };
    }
    q
}

/// Builds the WHERE clause of a filter (without the assignee part when `with_assignee`
/// is false, for the tab counts). Placeholders are numbered from `$1`.
fn filter_sql(f: &ConversationFilter, with_assignee: bool) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::I(f.account_id)];
    let mut sql = String::from("c.account_id = $1");
    let mut push = |sql: &mut String, clause: &str, arg: Arg| {
        args.push(arg);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(s) = f.status {
        push(&mut sql, " AND c.status = ?", Arg::S(s.as_str().into()));
    }
    if let Some(ids) = &f.inboxes {
        // Inlined integers (no injection possible): with the ids known, the planner can
        // weigh each inbox's index range, and an agent without inboxes costs nothing.
        if ids.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(" AND c.inbox_id IN ({})", id_list(ids)));
        }
    }
    if let Some(i) = f.inbox_id {
        push(&mut sql, " AND c.inbox_id = ?", Arg::I(i));
    }
    if let Some(t) = f.team_id {
        push(&mut sql, " AND c.team_id = ?", Arg::I(t));
    }
    if let Some(ct) = f.contact_id {
        push(&mut sql, " AND c.contact_id = ?", Arg::I(ct));
    }
    if let Some(d) = f.display_id {
        push(&mut sql, " AND c.display_id = ?", Arg::I(d));
    }
    if !f.labels.is_empty() {
        // A correlated EXISTS: walking the list in order and probing each row's labels by
        // primary key stops after one page, where `c.id IN (…)` first collects every
        // conversation with the label (11,000 of a million: 5× slower).
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM conversation_labels lf WHERE lf.conversation_id = c.id AND lf.label IN (",
        );
        for (n, l) in f.labels.iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            push(&mut sql, "?", Arg::S(l.clone()));
        }
        sql.push_str("))");
    }
    if let Some(m) = &f.search
        && m.expression.is_empty()
    {
        sql.push_str(" AND 1 = 0");
    } else if let Some(m) = &f.search {
        // Every `?` of the clause is the one expression parameter.
        let contacts = crate::search::contact_ids_matching(m.backend, "?");
        let custom = crate::search::conversation_ids_matching(m.backend, "?");
        let by_message = format!(
            "SELECT sm.conversation_id FROM messages sm WHERE sm.account_id = $1 AND sm.id IN ({})",
            crate::search::message_ids_matching(m.backend, "?")
        );
        let clause = if m.common {
            format!(
                " AND ({} OR {} OR {})",
                crate::search::conversation_has_matching_message(m.backend, "?"),
                crate::search::conversation_contact_matches(m.backend, "?"),
                crate::search::conversation_attributes_match(m.backend, "?")
            )
        } else if m.backend == Backend::Postgres {
            // A rare query on PostgreSQL: its conversations collected into one array, read
            // by the primary key. Under `OR` the three sets were hashed subplans tested on
            // every conversation of the account (a sequential scan, 160–200 ms for a word
            // in 100 of 10M messages, docs/benchmarks.md session 16), and as one
            // `IN (… UNION …)` the planner took the GIN estimate (0.5 % of messages) and
            // hash-joined against every conversation just the same. Rare means fewer than
            // COMMON_MESSAGE_MATCHES messages and fewer than COMMON_CONTACT_MATCHES
            // contacts and conversations (`search_match_sized`), which bounds the array.
            format!(
                " AND c.id = ANY(ARRAY({by_message} \
                 UNION SELECT cc.id FROM conversations cc WHERE cc.account_id = $1 AND cc.contact_id IN ({contacts}) \
                 UNION {custom}))"
            )
        } else {
            format!(
                " AND (c.id IN ({by_message}) OR c.contact_id IN ({contacts}) OR c.id IN ({custom}))"
            )
        };
        push(&mut sql, &clause, Arg::S(m.expression.clone()));
    }
    match f.rating {
        RatingFilter::All => {}
        RatingFilter::Any => sql.push_str(" AND c.csat_rating IS NOT NULL"),
        RatingFilter::None => sql.push_str(" AND c.csat_rating IS NULL"),
        RatingFilter::Between(lo, hi) => {
            push(&mut sql, " AND c.csat_rating >= ?", Arg::I(lo));
            push(&mut sql, " AND c.csat_rating <= ?", Arg::I(hi));
        }
    }
    if f.mentioned {
        push(
            &mut sql,
            " AND EXISTS (SELECT 1 FROM mentions mf WHERE mf.conversation_id = c.id AND mf.user_id = ?)",
            Arg::I(f.user_id),
        );
    }
    if with_assignee {
        match f.assignee {
            AssigneeFilter::All => {}
            AssigneeFilter::Me => push(&mut sql, " AND c.assignee_id = ?", Arg::I(f.user_id)),
            AssigneeFilter::Unassigned => sql.push_str(" AND c.assignee_id IS NULL"),
            AssigneeFilter::Assigned => sql.push_str(" AND c.assignee_id IS NOT NULL"),
        }
    }
    (sql, args)
}

/// Comma-separated integer list for `IN (…)`; the values are integers, so inlining them
/// cannot inject SQL, and it keeps the statement one round trip for any page size.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `col IN (…)` for an id list that differs from call to call (a page's conversations, a
/// batch's messages).
///
/// On PostgreSQL the ids travel as one array parameter, so the statement's text is the same
/// for every list and each connection prepares it once: an inlined list is a new text each
/// time, parsed, described and planned anew, and it churns sqlx's statement cache (the
/// conversation list's p99 on PostgreSQL, docs/benchmarks.md). SQLite prepares in process
/// for next to nothing and its planner likes the literal integers, so there the list stays
/// inlined and nothing is bound.
pub(crate) struct IdSet<'a> {
    postgres: bool,
    ids: &'a [i64],
}

impl<'a> IdSet<'a> {
    pub(crate) fn new(postgres: bool, ids: &'a [i64]) -> Self {
        IdSet { postgres, ids }
    }

    /// The condition on `col`; on PostgreSQL it reads the array from placeholder `$n` (the
    /// caller binds [`IdSet::bind`] there; the condition may repeat with the same `n`).
    pub(crate) fn clause(&self, col: &str, n: usize) -> String {
        if self.postgres {
            format!("{col} = ANY(CAST(${n} AS BIGINT[]))")
        } else {
            format!("{col} IN ({})", id_list(self.ids))
        }
    }

    /// Binds the array (PostgreSQL only) as the next parameter.
    pub(crate) fn bind<'q, O>(
        &self,
        q: sqlx::query::QueryAs<'q, Any, O, AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, Any, O, AnyArguments> {
        if self.postgres {
            q.bind(self.array())
        } else {
            q
        }
    }

    /// The ids as PostgreSQL's array literal, `{1,2,3}`.
    fn array(&self) -> String {
        format!("{{{}}}", id_list(self.ids).replace(' ', ""))
    }

    /// [`IdSet::bind`] for a statement that returns no rows.
    pub(crate) fn bind_to<'q>(
        &self,
        q: sqlx::query::Query<'q, Any, AnyArguments>,
    ) -> sqlx::query::Query<'q, Any, AnyArguments> {
        if self.postgres {
            q.bind(self.array())
        } else {
            q
        }
    }
}

impl Store {
    /// One page of conversations matching `f`, newest activity first, with joined details
    /// and labels, in one query.
    pub async fn list_conversations(
        &self,
        f: &ConversationFilter,
        limit: i64,
        start: ListStart,
    ) -> Result<Vec<ConversationDetailRow>> {
        // One label on PostgreSQL: the page is a range of the label's rows in activity order
        // (migration 0750 keeps each label row's copy of its conversation's activity), not
        // a walk of the account's list testing each row's labels.
        let by_label = self.backend() == crate::Backend::Postgres && f.labels.len() == 1;
        let (mut where_sql, mut args) = if by_label {
            let unlabelled = ConversationFilter {
                labels: Vec::new(),
                ..f.clone()
            };
            let (mut sql, mut args) = filter_sql(&unlabelled, true);
            args.push(Arg::S(f.labels[0].clone()));
            sql.push_str(&format!(
                " AND lf.account_id = $1 AND lf.label = ${}",
                args.len()
            ));
            (sql, args)
        } else {
            filter_sql(f, true)
        };
        let (key_activity, key_id) = if by_label {
            ("lf.last_activity_at", "lf.conversation_id")
        } else {
            ("c.last_activity_at", "c.id")
        };
        let offset = match start {
            ListStart::Offset(o) => o.max(0),
            ListStart::After(k) => {
                // A row value, so both SQLite and PostgreSQL seek the list index to the
                // key instead of filtering from the top.
                args.push(Arg::I(k.last_activity_at));
                args.push(Arg::I(k.id));
                where_sql.push_str(&format!(
                    " AND ({key_activity}, {key_id}) < (${}, ${})",
                    args.len() - 1,
                    args.len()
                ));
                0
            }
        };
        let n = args.len();
        let agg = match self.backend() {
            crate::Backend::Sqlite => "group_concat(cl.label, ',')",
            crate::Backend::Postgres => "string_agg(cl.label, ',')",
        };
        // The page is chosen from `conversations` alone and only its rows are joined: with
        // the filters and the joins in one query, SQLite (3.51) may join contact, assignee
        // and team for every row it walks past before a label test rejects it.
        // "Mine" is a small slice of the open list. Past the first page SQLite 3.51 would
        // rather range over the account's open list (the cursor bounds both indexes) and
        // test each row's assignee; the assignee's own index reads just their rows.
        let hint = if self.backend() == crate::Backend::Sqlite && f.assignee == AssigneeFilter::Me {
            " INDEXED BY conversations_assignee"
        } else {
            ""
        };
        let from = if by_label {
            "conversation_labels lf JOIN conversations c ON c.id = lf.conversation_id".to_string()
        } else {
            format!("conversations c{hint}")
        };
        let page = format!(
            "(SELECT c.* FROM {from} WHERE {where_sql} \
              ORDER BY {key_activity} DESC, {key_id} DESC LIMIT ${} OFFSET ${})",
            n + 1,
            n + 2
        );
        let sql = format!(
            "{} ORDER BY c.last_activity_at DESC, c.id DESC",
            DETAIL_SELECT
                .replace("{COLS}", CONVERSATION_COLS_C)
                .replace("{AGG}", agg)
                .replace("{SOURCE}", &page),
        );
        let q = sqlx::query_as::<_, ConversationDetailRow>(sqlx::AssertSqlSafe(sql));
        Ok(bind_as(q, &args)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?)
    }

    /// The tab counts for `f`, ignoring its assignee filter, in one query.
    ///
    /// Filters by status, inbox, team and one label (and an agent's inboxes) are answered
    /// from `conversation_counts` / `conversation_label_counts`, which triggers keep
    /// current: a sum over a few hundred rows, exact at any size. Filters the counters do
    /// not break down by (several labels at once, one contact, a rating) count matching
    /// rows instead, each count stopping at `cap`: past a few thousand the console shows
    /// "many" anyway, and the cap bounds the scan. A text search counts the tabs within its
    /// first `cap` matches, in one walk. Capped counts carry `count_limit`.
    pub async fn count_conversations(
        &self,
        f: &ConversationFilter,
        cap: i64,
    ) -> Result<ConversationCounts> {
        if f.labels.len() <= 1
            && f.search.is_none()
            && f.contact_id.is_none()
            && f.display_id.is_none()
            && f.rating == RatingFilter::All
        {
            return self.count_from_counters(f).await;
        }
        let (where_sql, mut args) = filter_sql(f, false);
        args.push(Arg::I(f.user_id));
        let me = args.len();
        args.push(Arg::I(cap.max(1)));
        let lim = args.len();
        if f.search.is_some() {
            // One walk over the first `cap` matches, the tabs counted within it. Four
            // capped walks (one per tab) each tested the index on every conversation they
            // passed, and the unassigned one passed nearly all of them when few are
            // unassigned: 6–28 s for a common word over 10M messages on SQLite
            // (docs/benchmarks.md, session 15).
            let sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN assignee_id = ${me} THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN assignee_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)
                 FROM (SELECT c.assignee_id FROM conversations c WHERE {where_sql} LIMIT ${lim}) walked"
            );
            let mut counts = self.fetch_counts(sql, &args).await?;
            counts.count_limit = Some(cap.max(1));
            return Ok(counts);
        }
        let capped = |extra: &str| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM conversations c WHERE {where_sql}{extra} LIMIT ${lim}) capped)"
            )
        };
        let sql = format!(
            "SELECT {} AS all_count, {} AS unassigned_count, {} AS mine_count, {} AS assigned_count",
            capped(""),
            capped(" AND c.assignee_id IS NULL"),
            capped(&format!(" AND c.assignee_id = ${me}")),
            capped(" AND c.assignee_id IS NOT NULL"),
        );
        let mut counts = self.fetch_counts(sql, &args).await?;
        counts.count_limit = Some(cap.max(1));
        Ok(counts)
    }

    /// Runs a query whose one row is (all, unassigned, mine, assigned).
    async fn fetch_counts(&self, sql: String, args: &[Arg]) -> Result<ConversationCounts> {
        let q = sqlx::query_as::<_, (i64, i64, i64, i64)>(sqlx::AssertSqlSafe(sql));
        let (all_count, unassigned_count, mine_count, assigned_count) =
            bind_as(q, args).fetch_one(self.reader()).await?;
        Ok(ConversationCounts {
            mine_count,
            unassigned_count,
            assigned_count,
            all_count,
            count_limit: None,
        })
    }

    /// Exact tab counts from the trigger-maintained counters.
    async fn count_from_counters(&self, f: &ConversationFilter) -> Result<ConversationCounts> {
        let mut args = vec![Arg::I(f.account_id), Arg::I(f.user_id)];
        let table = if f.labels.is_empty() {
            "conversation_counts"
        } else {
            "conversation_label_counts"
        };
        let mut sql = format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN assignee_id = 0 THEN n END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN assignee_id = $2 THEN n END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN assignee_id <> 0 THEN n END), 0) AS BIGINT) \
             FROM {table} WHERE account_id = $1",
        );
        if let Some(label) = f.labels.first() {
            args.push(Arg::S(label.clone()));
            sql.push_str(&format!(" AND label = ${}", args.len()));
        }
        if let Some(s) = f.status {
            args.push(Arg::S(s.as_str().into()));
            sql.push_str(&format!(" AND status = ${}", args.len()));
        }
        if let Some(ids) = &f.inboxes {
            if ids.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                sql.push_str(&format!(" AND inbox_id IN ({})", id_list(ids)));
            }
        }
        if let Some(i) = f.inbox_id {
            args.push(Arg::I(i));
            sql.push_str(&format!(" AND inbox_id = ${}", args.len()));
        }
        if let Some(t) = f.team_id {
            args.push(Arg::I(t));
            sql.push_str(&format!(" AND team_id = ${}", args.len()));
        }
        self.fetch_counts(sql, &args).await
    }

    /// One conversation by its per-account number, with joined details.
    pub async fn conversation_detail(
        &self,
        account_id: i64,
        display_id: i64,
    ) -> Result<Option<ConversationDetailRow>> {
        let mut f = ConversationFilter::all(account_id, 0);
        f.display_id = Some(display_id);
        Ok(self
            .list_conversations(&f, 1, ListStart::Offset(0))
            .await?
            .into_iter()
            .next())
    }

    /// Several conversations by their per-account numbers, with joined details (as
    /// [`Store::conversation_detail`] gives one), in one query: the webhook dispatcher
    /// renders a page of events' conversations at once. Unknown numbers are left out.
    pub async fn conversation_details(
        &self,
        account_id: i64,
        display_ids: &[i64],
    ) -> Result<Vec<ConversationDetailRow>> {
        if display_ids.is_empty() {
            return Ok(Vec::new());
        }
        let agg = match self.backend() {
            crate::Backend::Sqlite => "group_concat(cl.label, ',')",
            crate::Backend::Postgres => "string_agg(cl.label, ',')",
        };
        let source = format!(
            "(SELECT * FROM conversations c WHERE c.account_id = $1 AND c.display_id IN ({}))",
            id_list(display_ids)
        );
        let sql = DETAIL_SELECT
            .replace("{COLS}", CONVERSATION_COLS_C)
            .replace("{AGG}", agg)
            .replace("{SOURCE}", &source);
        Ok(
            sqlx::query_as::<_, ConversationDetailRow>(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// One conversation by its per-account number.
    pub async fn conversation(
        &self,
        account_id: i64,
        display_id: i64,
    ) -> Result<Option<ConversationRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations WHERE account_id = $1 AND display_id = $2"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(display_id)
                .fetch_optional(self.reader())
                .await?,
        )
    }

    /// Records the visitor's satisfaction answer on the conversation (the latest wins),
    /// so the list shows and filters it from the row itself.
    pub async fn set_conversation_rating(
        &self,
        conversation_id: i64,
        rating: i64,
        feedback: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "UPDATE conversations SET csat_rating = $2, csat_feedback = $3 WHERE id = $1
             RETURNING {CONVERSATION_COLS}"
        );
        let row = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(conversation_id)
            .bind(rating)
            .bind(feedback.map(str::to_string))
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(c) = &row {
            reports::record_rating_in(&mut tx, self.working_time(), c, rating, self.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Labels of several conversations (by internal id), as `(conversation_id, label)`
    /// sorted by label.
    pub async fn labels_of(&self, conversation_ids: &[i64]) -> Result<Vec<(i64, String)>> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = IdSet::new(self.backend() == Backend::Postgres, conversation_ids);
        let sql = format!(
            "SELECT conversation_id, label FROM conversation_labels WHERE {} ORDER BY label",
            ids.clause("conversation_id", 1)
        );
        let q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
        Ok(ids.bind(q).fetch_all(self.reader()).await?)
    }

    /// Replaces the labels of a conversation; returns them sorted.
    pub async fn replace_conversation_labels(
        &self,
        conversation_id: i64,
        labels: &[String],
    ) -> Result<Vec<String>> {
        let mut tx = self.writer().begin().await?;
        // The conversation's row first, then its label rows: the order a message takes
        // (its update of the conversation moves the label rows, migration 0750). Labels
        // first and the conversation last deadlocked with a message arriving meanwhile
        // on PostgreSQL.
        let sql = format!(
            "UPDATE conversations SET updated_at = $2 WHERE id = $1 RETURNING {CONVERSATION_COLS}"
        );
        let row = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(conversation_id)
            .bind(self.now())
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        for l in labels {
            sqlx::query(
                "INSERT INTO conversation_labels (conversation_id, label) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(conversation_id)
            .bind(l)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(c) = &row
            && labels.iter().any(|l| l == reports::CONVERTED_LABEL)
        {
            reports::record_conversion_in(&mut tx, self.working_time(), c, self.now()).await?;
        }
        tx.commit().await?;
        let mut out: Vec<String> = labels.to_vec();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// An inbox of an account.
    pub async fn inbox_ref(&self, account_id: i64, inbox_id: i64) -> Result<Option<InboxRef>> {
        let cols = "id, account_id, name, channel_type, identifier";
        crate::fetch_in_account(self.reader(), "inboxes", cols, account_id, inbox_id).await
    }

    /// The contact whose identity in `inbox_id` has this source id.
    pub async fn contact_id_by_source(
        &self,
        inbox_id: i64,
        source_id: &str,
    ) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT contact_id FROM contact_inboxes WHERE inbox_id = $1 AND source_id = $2",
        )
        .bind(inbox_id)
        .bind(source_id.to_string())
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// A team of an account.
    pub async fn team_ref(&self, account_id: i64, team_id: i64) -> Result<Option<TeamRef>> {
        let cols = "id, account_id, name, description, allow_auto_assign";
        crate::fetch_in_account(self.reader(), "teams", cols, account_id, team_id).await
    }

    /// Creates a conversation with the account's next `display_id`, finding or creating
    /// the contact's identity in the inbox, in one transaction.
    pub async fn create_conversation(&self, n: &NewConversation) -> Result<ConversationRow> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let contact_inbox_id = match n.contact_inbox_id {
            Some(id) => id,
            None => {
                let existing: Option<(i64,)> = match &n.source_id {
                    Some(sid) => sqlx::query_as(
                        "SELECT id FROM contact_inboxes WHERE inbox_id = $1 AND source_id = $2 AND contact_id = $3",
                    )
                    .bind(n.inbox_id)
                    .bind(sid.clone())
                    .bind(n.contact_id),
                    None => sqlx::query_as(
                        "SELECT id FROM contact_inboxes WHERE inbox_id = $1 AND contact_id = $2 ORDER BY id LIMIT 1",
                    )
                    .bind(n.inbox_id)
                    .bind(n.contact_id),
                }
                .fetch_optional(&mut *tx)
                .await?;
                match existing {
                    Some((id,)) => id,
                    None => {
                        let sid = n
                            .source_id
                            .clone()
                            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                        let (id,): (i64,) = sqlx::query_as(
                            "INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, pubsub_token, created_at)
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(n.contact_id)
                        .bind(n.inbox_id)
                        .bind(sid)
                        .bind(random_token(24))
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                        id
                    }
                }
            }
        };
        let display_id = Store::next_display_id(&mut *tx, n.account_id).await?;
        let sql = format!(
            "INSERT INTO conversations (account_id, display_id, uuid, inbox_id, contact_id, contact_inbox_id, status,
                assignee_id, team_id, custom_attributes, additional_attributes, last_activity_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) RETURNING {CONVERSATION_COLS}"
        );
        let row = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(n.account_id)
            .bind(display_id)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(n.inbox_id)
            .bind(n.contact_id)
            .bind(contact_inbox_id)
            .bind(n.status.as_str())
            .bind(n.assignee_id)
            .bind(n.team_id)
            .bind(n.custom_attributes.clone())
            .bind(n.additional_attributes.clone())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let tokens = crate::search::conversation_tokens(&row.custom_attributes);
        crate::search::index_conversation_in(&mut tx, row.id, tokens, true).await?;
        let created = Fact::event(&row, FactName::Created, row.assignee_id, now);
        reports::record_in(&mut tx, self.working_time(), &[created]).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Applies `set` (a SET clause over `$2…`) to one conversation and returns it before
    /// and after, read and written in one transaction so the pair is consistent.
    async fn update_conversation(
        &self,
        id: i64,
        set: &str,
        args: Vec<Arg>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        self.update_conversation_with(id, set, args, |_, _, _| Vec::new())
            .await
    }

    /// [`Store::update_conversation`] that also records the report facts `facts` derives
    /// from the row before and after, in the same transaction.
    async fn update_conversation_with(
        &self,
        id: i64,
        set: &str,
        args: Vec<Arg>,
        facts: fn(&ConversationRow, &ConversationRow, i64) -> Vec<Fact>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let before = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql =
            format!("UPDATE conversations SET {set} WHERE id = $1 RETURNING {CONVERSATION_COLS}");
        let q = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql)).bind(id);
        let after = bind_as(q, &args).fetch_one(&mut *tx).await?;
        let facts = facts(&before, &after, self.now());
        reports::record_in(&mut tx, self.working_time(), &facts).await?;
        tx.commit().await?;
        Ok((before, after))
    }

    /// Sets the status (and the snooze deadline, cleared unless snoozed).
    pub async fn set_conversation_status(
        &self,
        id: i64,
        status: ConversationStatus,
        snoozed_until: Option<i64>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        let snooze = if status == ConversationStatus::Snoozed {
            snoozed_until.unwrap_or(-1)
        } else {
            -1
        };
        self.update_conversation_with(
            id,
            "status = $2, snoozed_until = CASE WHEN $3 < 0 THEN NULL ELSE $3 END, updated_at = $4,
             waiting_since = CASE WHEN $2 = 'resolved' THEN NULL ELSE waiting_since END,
             queued_at = CASE WHEN $2 = 'open' THEN queued_at ELSE NULL END,
             sla_kind = CASE WHEN $2 = 'resolved' THEN NULL ELSE sla_kind END,
             sla_due_at = CASE WHEN $2 = 'resolved' THEN NULL ELSE sla_due_at END,
             sla_overdue_at = CASE WHEN $2 = 'resolved' THEN NULL ELSE sla_overdue_at END",
            vec![
                Arg::S(status.as_str().into()),
                Arg::I(snooze),
                Arg::I(self.now()),
            ],
            reports::status_facts,
        )
        .await
    }

    /// Mutes the conversation until `until` (epoch ms), or unmutes it (`None`).
    pub async fn set_conversation_muted(
        &self,
        id: i64,
        until: Option<i64>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        self.update_conversation(
            id,
            "muted_until = CASE WHEN $2 < 0 THEN NULL ELSE $2 END, updated_at = $3",
            vec![Arg::I(until.unwrap_or(-1)), Arg::I(self.now())],
        )
        .await
    }

    /// Sets the priority (`None` clears it).
    pub async fn set_conversation_priority(
        &self,
        id: i64,
        priority: Option<&str>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        let p = priority.unwrap_or("").to_string();
        self.update_conversation(
            id,
            "priority = CASE WHEN $2 = '' THEN NULL ELSE $2 END, updated_at = $3",
            vec![Arg::S(p), Arg::I(self.now())],
        )
        .await
    }

    /// Sets or clears the assigned agent.
    pub async fn set_conversation_assignee(
        &self,
        id: i64,
        assignee_id: Option<i64>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        self.update_conversation_with(
            id,
            "assignee_id = CASE WHEN $2 = 0 THEN NULL ELSE $2 END, updated_at = $3,
             assigned_at = CASE WHEN $2 = 0 THEN NULL WHEN assignee_id = $2 THEN assigned_at ELSE $3 END,
             queued_at = CASE WHEN $2 = 0 THEN queued_at ELSE NULL END",
            vec![Arg::I(assignee_id.unwrap_or(0)), Arg::I(self.now())],
            reports::assignment_facts,
        )
        .await
    }

    /// Sets or clears the team.
    pub async fn set_conversation_team(
        &self,
        id: i64,
        team_id: Option<i64>,
    ) -> Result<(ConversationRow, ConversationRow)> {
        self.update_conversation(
            id,
            "team_id = CASE WHEN $2 = 0 THEN NULL ELSE $2 END, updated_at = $3",
            vec![Arg::I(team_id.unwrap_or(0)), Arg::I(self.now())],
        )
        .await
    }

    /// Replaces the custom attributes (a JSON object as text); the search index follows
    /// in the same transaction.
    pub async fn set_conversation_custom_attributes(
        &self,
        id: i64,
        json: &str,
    ) -> Result<(ConversationRow, ConversationRow)> {
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let before = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let sql = format!(
            "UPDATE conversations SET custom_attributes = $2, updated_at = $3 WHERE id = $1
             RETURNING {CONVERSATION_COLS}"
        );
        let after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(json.to_string())
            .bind(self.now())
            .fetch_one(&mut *tx)
            .await?;
        let tokens = crate::search::conversation_tokens(&after.custom_attributes);
        crate::search::index_conversation_in(&mut tx, id, tokens, false).await?;
        tx.commit().await?;
        Ok((before, after))
    }

    /// Records that an agent looked at the conversation (and the assignee, when it is them).
    pub async fn touch_agent_last_seen(&self, id: i64, user_id: i64) -> Result<ConversationRow> {
        let (_, after) = self
            .update_conversation(
                id,
                "agent_last_seen_at = $2,
                 assignee_last_seen_at = CASE WHEN assignee_id = $3 THEN $2 ELSE assignee_last_seen_at END",
                vec![Arg::I(self.now()), Arg::I(user_id)],
            )
            .await?;
        Ok(after)
    }

    /// Snoozed conversations whose snooze ended at or before `now`, oldest first.
    pub async fn due_snoozed(&self, now: i64, limit: i64) -> Result<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations
             WHERE status = 'snoozed' AND snoozed_until IS NOT NULL AND snoozed_until <= $1
             ORDER BY snoozed_until LIMIT $2"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(limit)
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// Records that the contact looked at the conversation.
    pub async fn touch_contact_last_seen(&self, id: i64) -> Result<ConversationRow> {
        let (_, after) = self
            .update_conversation(id, "contact_last_seen_at = $2", vec![Arg::I(self.now())])
            .await?;
        Ok(after)
    }
}

/// Minimal rows for tests of conversations before the inbox, team and contact features
/// exist on this branch. Not used by the server.
#[doc(hidden)]
pub mod fixtures {

    use crate::durable::Durable;
    use crate::{Result, Store, random_token};

    /// An inbox of `channel_type` (e.g. `Channel::Api`); returns `(id, identifier)`.
    pub async fn inbox(
        s: &Store,
        account_id: i64,
        name: &str,
        channel_type: &str,
    ) -> Result<(i64, String)> {
        let identifier = random_token(12);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO inboxes (account_id, name, channel_type, identifier, hmac_token, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(account_id)
        .bind(name.to_string())
        .bind(channel_type.to_string())
        .bind(identifier.clone())
        .bind(random_token(12))
        .bind(s.now())
        .fetch_one_durable(s.writer())
        .await?;
        Ok((id, identifier))
    }

    /// Makes a user a member of an inbox.
    pub async fn inbox_member(s: &Store, inbox_id: i64, user_id: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO inbox_members (inbox_id, user_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(inbox_id)
        .bind(user_id)
        .bind(s.now())
        .execute(s.writer())
        .await?;
        Ok(())
    }

    /// An open, unassigned conversation of a contact's identity in `inbox_id`.
    pub async fn open_conversation(
        s: &Store,
        account_id: i64,
        inbox_id: i64,
        (contact_id, contact_inbox_id): (i64, i64),
    ) -> Result<super::ConversationRow> {
        s.create_conversation(&super::NewConversation {
            account_id,
            inbox_id,
            contact_id,
            contact_inbox_id: Some(contact_inbox_id),
            source_id: None,
            status: parley_core::ConversationStatus::Open,
            assignee_id: None,
            team_id: None,
            custom_attributes: "{}".into(),
            additional_attributes: "{}".into(),
        })
        .await
    }

    /// A team; returns its id.
    pub async fn team(s: &Store, account_id: i64, name: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO teams (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(account_id)
        .bind(name.to_string())
        .bind(s.now())
        .fetch_one_durable(s.writer())
        .await?;
        Ok(id)
    }

    /// A contact with an identity in `inbox_id`; returns `(contact_id, contact_inbox_id,
    /// source_id)` — the source id is the visitor's Client API identifier.
    pub async fn contact(
        s: &Store,
        account_id: i64,
        inbox_id: i64,
        name: &str,
    ) -> Result<(i64, i64, String)> {
        let now = s.now();
        let (contact_id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(account_id)
        .bind(name.to_string())
        .bind(now)
        .fetch_one_durable(s.writer())
        .await?;
        // Found by search like a contact written through the API.
        let tokens = crate::search::contact_tokens(Some(name), None, None, None, "{}");
        let mut conn = s.writer().acquire().await?;
        crate::search::index_contact_in(&mut conn, contact_id, tokens).await?;
        drop(conn);
        let source_id = random_token(16);
        let (ci,): (i64,) = sqlx::query_as(
            "INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, pubsub_token, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(contact_id)
        .bind(inbox_id)
        .bind(source_id.clone())
        .bind(random_token(16))
        .bind(now)
        .fetch_one_durable(s.writer())
        .await?;
        Ok((contact_id, ci, source_id))
    }
}
