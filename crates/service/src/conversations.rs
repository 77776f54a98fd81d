//! Conversations: listing with the console's filters and tab counts, creation, status,
//! priority, assignment, labels and attributes — for agents (scoped by account and, for
//! the agent role, by inbox membership) and for visitors on the Client API (scoped by their
//! contact identity).
//!
//! The JSON shapes are in [`crate::views`]: events published on the bus carry the same
//! Chatwoot-shaped payloads as the API responses, so one renderer keeps them identical.

use std::collections::HashMap;

use parley_bus::Event;
use parley_core::activity::Activity;
use parley_core::{AssigneeFilter, ConversationStatus, MessageType, Priority, Role, validate};
use parley_store::conversations::{
    ConversationDetailRow, ConversationFilter, ListCursor, ListStart, NewConversation, RatingFilter,
};

/// The records these use cases return (a conversation, the list's tab counts).
pub use parley_store::conversations::{ConversationCounts, ConversationRow};
use parley_store::messages::MessageWithAttachments;
use parley_store::public::PublicIdentity;
use parley_store::users::AgentRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::messages::{MessageInput, Sender};
use crate::views::agents::AgentSummary;
use crate::views::conversations::conversation_from_row;
/// The conversation views live with the other wire views; named here as before.
pub use crate::views::conversations::{
    ContactSummary, ConversationMeta, ConversationPage, ConversationView, CsatResponse, ListMeta,
    PublicContact, PublicConversationView, SlaView, sla_view,
};
use crate::views::messages::Audience;
use crate::views::secs0;
use crate::views::teams::TeamSummary;
pub use crate::views::{json_obj, secs};
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Conversations per page of the list, as in Chatwoot.
pub const PAGE_SIZE: i64 = 25;
/// Tab counts stop here (see `Store::count_conversations`).
pub const COUNT_CAP: i64 = 10_000;
/// Tab counts under a text search stop here: each conversation counted is tested against
/// the archive index (about 0.3 ms each for a common word over 10M messages on SQLite, so
/// 1,000 took 250–380 ms beside a 20 ms page; docs/benchmarks.md, session 16), and the cap
/// is what one request may make the server walk. At 100 the counts took 2–3 times the
/// page (49–73 ms against 24–25 ms, p99 up to 138 ms in one inbox; session 19).
pub const TEXT_COUNT_CAP: i64 = 50;

/// The cap of the tab counts under a filter.
fn count_cap(f: &parley_store::conversations::ConversationFilter) -> i64 {
    if f.search.is_some() {
        TEXT_COUNT_CAP
    } else {
        COUNT_CAP
    }
}
/// Most conversations returned for one contact (the contact panel's history).
pub const CONTACT_CONVERSATIONS_LIMIT: i64 = 100;

/// The opaque `cursor` of the conversation list: the sort key of a page's last row.
pub fn encode_cursor(c: ListCursor) -> String {
    format!("{}_{}", c.last_activity_at, c.id)
}

/// Parses a `cursor` made by [`encode_cursor`]; anything else is a 422 naming the field.
pub fn decode_cursor(s: &str) -> Result<ListCursor> {
    let bad = || {
        validate::FieldError::new(
            "cursor",
            "is not a cursor from this list's meta.next_cursor",
        )
    };
    let (a, b) = s.split_once('_').ok_or_else(bad)?;
    let last_activity_at: i64 = a.parse().map_err(|_| bad())?;
    let id: i64 = b.parse().map_err(|_| bad())?;
    if last_activity_at < 0 || id <= 0 {
        return Err(bad().into());
    }
    Ok(ListCursor {
        last_activity_at,
        id,
    })
}

/// Filters of the conversation list, as parsed from Chatwoot's query parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `open` (default), `resolved`, `pending`, `snoozed` or `all`.
    pub status: Option<String>,
    /// `me`, `unassigned`, `assigned` or `all` (default).
    pub assignee_type: Option<String>,
    pub inbox_id: Option<i64>,
    pub team_id: Option<i64>,
    pub labels: Vec<String>,
    /// Text that one of the conversation's messages contains.
    pub q: Option<String>,
    /// 1-based.
    pub page: Option<i64>,
    /// `meta.next_cursor` of the previous page; excludes `page`.
    pub cursor: Option<String>,
    /// By satisfaction rating: `any`, `none`, `low` (1–2), `high` (4–5) or a score 1–5.
    pub rating: Option<String>,
    /// `mention`: where the caller was mentioned (Chatwoot's `conversation_type`).
    pub conversation_type: Option<String>,
}

/// Parses `rating=` of the conversation list.
pub fn parse_rating_filter(s: Option<&str>) -> Result<RatingFilter> {
    Ok(match s.map(str::trim) {
        None | Some("") | Some("all") => RatingFilter::All,
        Some("any") => RatingFilter::Any,
        Some("none") => RatingFilter::None,
        Some("low") => RatingFilter::Between(1, 2),
        Some("high") => RatingFilter::Between(4, 5),
        Some(n) => match n.parse::<i64>() {
            Ok(v @ 1..=5) => RatingFilter::Between(v, v),
            _ => {
                return Err(validate::FieldError::new(
                    "rating",
                    "must be one of all, any, none, low, high or a score 1-5",
                )
                .into());
            }
        },
    })
}

/// Fields of `POST /conversations`.
#[derive(Debug, Clone, Default)]
pub struct CreateConversation {
    pub inbox_id: i64,
    /// The contact; without it, `source_id` must name the contact's identity in the inbox.
    pub contact_id: Option<i64>,
    pub source_id: Option<String>,
    pub status: Option<String>,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub additional_attributes: Option<Value>,
    pub custom_attributes: Option<Value>,
    /// An initial outgoing message from the calling agent.
    pub message: Option<String>,
}

/// Result of toggling a status (`payload` of `toggle_status`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusToggled {
    pub success: bool,
    pub current_status: String,
    pub conversation_id: i64,
    pub snoozed_until: Option<i64>,
}

fn parse_status(s: &str) -> Result<ConversationStatus> {
    ConversationStatus::parse(s).ok_or_else(|| {
        validate::FieldError::new(
            "status",
            format!("must be one of {}", ConversationStatus::expected()),
        )
        .into()
    })
}

fn attrs_text(field: &str, v: Option<&Value>) -> Result<String> {
    match v {
        None | Some(Value::Null) => Ok("{}".into()),
        Some(v) => {
            validate::attributes(field, v)?;
            Ok(v.to_string())
        }
    }
}

/// Label titles of a request: validated, lower-cased, de-duplicated, at most 100.
pub fn clean_labels(labels: &[String]) -> Result<Vec<String>> {
    if labels.len() > 100 {
        return Err(validate::FieldError::new("labels", "at most 100 labels").into());
    }
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let t = validate::label_title("labels", l)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// How long a mute lasts: six hours, as in Chatwoot.
pub const MUTE_PERIOD_MS: i64 = 6 * 3600 * 1000;

impl Services {
    /// The conversation `display_id` of the caller's account, if the caller may see it
    /// (agents only in inboxes they are members of). Anything else is "not found".
    pub async fn visible_conversation(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
    ) -> Result<ConversationRow> {
        let c = self
            .store
            .conversation(ctx.account_id, display_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        if let Some(bot) = &ctx.bot {
            if !bot.inbox_ids.contains(&c.inbox_id) {
                return Err(ServiceError::NotFound("conversation"));
            }
            return Ok(c);
        }
        if !ctx.sees_all_inboxes() && !self.store.is_inbox_member(c.inbox_id, ctx.user_id).await? {
            return Err(ServiceError::NotFound("conversation"));
        }
        Ok(c)
    }

    /// The visitor's own conversation `display_id`; another contact's is "not found".
    pub async fn public_conversation_row(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
    ) -> Result<ConversationRow> {
        let c = self
            .store
            .conversation(ident.account_id, display_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        if c.contact_id != ident.contact_id || c.inbox_id != ident.inbox_id {
            return Err(ServiceError::NotFound("conversation"));
        }
        Ok(c)
    }

    /// What the caller may see: everything for administrators and supervisors, the
    /// inboxes they are members of for agents (one small query, so the list itself can
    /// use the inbox ids directly).
    async fn filter_for(&self, ctx: &AccountCtx) -> Result<ConversationFilter> {
        let mut f = ConversationFilter::all(ctx.account_id, ctx.user_id);
        if !ctx.sees_all_inboxes() {
            f.inboxes = Some(
                self.store
                    .inbox_ids_for_user(ctx.account_id, ctx.user_id)
                    .await?,
            );
        }
        Ok(f)
    }

    async fn list_filter(&self, ctx: &AccountCtx, q: &ListQuery) -> Result<ConversationFilter> {
        let mut f = self.filter_for(ctx).await?;
        f.status = match q.status.as_deref() {
            None | Some("") => Some(ConversationStatus::Open),
            Some("all") => None,
            Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
                validate::FieldError::new(
                    "status",
                    format!("must be one of {}, all", ConversationStatus::expected()),
                )
            })?),
        };
        f.assignee = match q.assignee_type.as_deref() {
            None | Some("") => AssigneeFilter::All,
            Some(s) => AssigneeFilter::parse(s).ok_or_else(|| {
                validate::FieldError::new(
                    "assignee_type",
                    format!("must be one of {}", AssigneeFilter::expected()),
                )
            })?,
        };
        f.inbox_id = q.inbox_id;
        f.team_id = q.team_id;
        f.labels = clean_labels(&q.labels)?;
        f.search = match q.q.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                let parsed = parley_core::search_query::ParsedQuery::parse(t)
                    .map_err(|e| validate::FieldError::new("q", e.to_string()))?;
                // Only punctuation parses to no term: an empty expression, which the
                // store reads as "matches nothing" rather than everything.
                Some(self.store.search_match_sized(&parsed).await?)
            }
        };
        f.rating = parse_rating_filter(q.rating.as_deref())?;
        f.mentioned = match q.conversation_type.as_deref() {
            None | Some("") => false,
            Some("mention") => true,
            Some(_) => {
                return Err(
                    validate::FieldError::new("conversation_type", "must be mention").into(),
                );
            }
        };
        Ok(f)
    }

    /// A page of the conversation list: one query for the rows (joined details and labels
    /// included), one for their last messages and, on a first page, one for the tab
    /// counts. Pages after the first go by `cursor` (keyset), so the hundredth page costs
    /// what the first does; numbered `page`s still work for Chatwoot's clients.
    pub async fn list_conversations(
        &self,
        ctx: &AccountCtx,
        q: &ListQuery,
    ) -> Result<ConversationPage> {
        self.conversation_page(ctx, q, true).await
    }

    /// [`Services::list_conversations`] without the tab counts, for answers that do not
    /// carry them (the archive search's `payload.conversations`): with a text search the
    /// counts are the costly part (a walk over up to [`TEXT_COUNT_CAP`] matches, testing
    /// the index on each conversation passed), and they were read and thrown away.
    pub async fn list_conversations_uncounted(
        &self,
        ctx: &AccountCtx,
        q: &ListQuery,
    ) -> Result<ConversationPage> {
        self.conversation_page(ctx, q, false).await
    }

    async fn conversation_page(
        &self,
        ctx: &AccountCtx,
        q: &ListQuery,
        with_counts: bool,
    ) -> Result<ConversationPage> {
        let start = match (&q.cursor, q.page) {
            (Some(_), Some(_)) => {
                return Err(
                    validate::FieldError::new("cursor", "cannot be combined with page").into(),
                );
            }
            (Some(c), None) => ListStart::After(decode_cursor(c)?),
            (None, page) => {
                let page = page.unwrap_or(1);
                if !(1..=100_000).contains(&page) {
                    return Err(
                        validate::FieldError::new("page", "must be between 1 and 100000").into(),
                    );
                }
                ListStart::Offset((page - 1) * PAGE_SIZE)
            }
        };
        let f = self.list_filter(ctx, q).await?;
        // The page (rows, then their last messages) and the tab counts are independent
        // reads: run side by side on two pooled connections, a first page costs the longer
        // of the two instead of their sum (one PostgreSQL round trip less).
        let page = async {
            // One row more than a page tells whether another page follows.
            let mut rows = self
                .store
                .list_conversations(&f, PAGE_SIZE + 1, start)
                .await?;
            let more = rows.len() as i64 > PAGE_SIZE;
            rows.truncate(PAGE_SIZE as usize);
            let next_cursor = if more {
                rows.last().map(|r| encode_cursor(r.cursor()))
            } else {
                None
            };
            Ok::<_, ServiceError>((self.render_conversations(rows).await?, next_cursor))
        };
        let counts = async {
            Ok::<_, ServiceError>(match start {
                ListStart::Offset(_) if with_counts => {
                    Some(self.store.count_conversations(&f, count_cap(&f)).await?)
                }
                _ => None,
            })
        };
        let ((payload, next_cursor), counts) = tokio::try_join!(page, counts)?;
        Ok(ConversationPage {
            meta: ListMeta::new(counts, next_cursor),
            payload,
        })
    }

    /// The tab counts alone (`GET /conversations/meta`).
    pub async fn conversation_counts(
        &self,
        ctx: &AccountCtx,
        q: &ListQuery,
    ) -> Result<ConversationCounts> {
        let f = self.list_filter(ctx, q).await?;
        Ok(self.store.count_conversations(&f, count_cap(&f)).await?)
    }

    /// The conversations of one contact the caller may see, newest activity first
    /// (`GET /contacts/{id}/conversations`). The contact must belong to the account.
    pub async fn contact_conversations(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
    ) -> Result<Vec<ConversationView>> {
        self.store
            .contact(ctx.account_id, contact_id)
            .await
            .or_not_found("contact")?;
        let mut f = self.filter_for(ctx).await?;
        f.contact_id = Some(contact_id);
        let rows = self
            .store
            .list_conversations(&f, CONTACT_CONVERSATIONS_LIMIT, ListStart::Offset(0))
            .await?;
        self.render_conversations(rows).await
    }

    /// One conversation as the API renders it.
    pub async fn show_conversation(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
    ) -> Result<ConversationView> {
        self.visible_conversation(ctx, display_id).await?;
        self.conversation_view(ctx.account_id, display_id).await
    }

    /// Renders a conversation by account and `display_id`, without a visibility check
    /// (callers have checked; events use it).
    pub async fn conversation_view(
        &self,
        account_id: i64,
        display_id: i64,
    ) -> Result<ConversationView> {
        let row = self
            .store
            .conversation_detail(account_id, display_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        self.render_conversations(vec![row])
            .await?
            .pop()
            .ok_or(ServiceError::NotFound("conversation"))
    }

    /// Renders rows (which carry their labels) with their last messages: one query for
    /// any number of rows.
    pub async fn render_conversations(
        &self,
        rows: Vec<ConversationDetailRow>,
    ) -> Result<Vec<ConversationView>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.conv.id).collect();
        let mut last: HashMap<i64, Vec<MessageWithAttachments>> = HashMap::new();
        for m in self.store.last_messages(&ids).await? {
            last.entry(m.message.conversation_id).or_default().push(m);
        }
        let audience = Audience::Agent;
        let now = self.store.now();
        Ok(rows
            .into_iter()
            .map(|r| {
                let msgs = last.remove(&r.conv.id).unwrap_or_default();
                let last_any = msgs.iter().max_by_key(|m| m.message.id);
                let last_chat = msgs
                    .iter()
                    .filter(|m| m.message.message_type != MessageType::Activity.code())
                    .max_by_key(|m| m.message.id);
                let messages = last_any
                    .map(|m| vec![self.message_view(m, &audience)])
                    .unwrap_or_default();
                let last_non_activity_message = last_chat.map(|m| self.message_view(m, &audience));
                let l = r.labels();
                conversation_from_row(r, l, messages, last_non_activity_message, now)
            })
            .collect())
    }
}

impl Services {
    /// Creates a conversation (`POST /conversations`). The inbox must be visible to the
    /// caller; contact, assignee and team must belong to the account.
    pub async fn create_conversation(
        &self,
        ctx: &AccountCtx,
        input: CreateConversation,
    ) -> Result<ConversationView> {
        let inbox = self
            .store
            .inbox_ref(ctx.account_id, input.inbox_id)
            .await?
            .ok_or_else(|| validate::FieldError::new("inbox_id", "no such inbox"))?;
        if !ctx.sees_all_inboxes() && !self.store.is_inbox_member(inbox.id, ctx.user_id).await? {
            return Err(validate::FieldError::new("inbox_id", "no such inbox").into());
        }
        let source_id = validate::optional_text("source_id", input.source_id.as_deref(), 255)?;
        let contact_id = match (input.contact_id, source_id.as_deref()) {
            (Some(id), _) => {
                self.store
                    .contact(ctx.account_id, id)
                    .await
                    .map_err(|e| match e {
                        parley_store::StoreError::NotFound => {
                            validate::FieldError::new("contact_id", "no such contact").into()
                        }
                        other => ServiceError::from(other),
                    })?;
                id
            }
            (None, Some(sid)) => self
                .store
                .contact_id_by_source(inbox.id, sid)
                .await?
                .ok_or_else(|| {
                    validate::FieldError::new(
                        "source_id",
                        "no contact has this source_id in the inbox",
                    )
                })?,
            (None, None) => {
                return Err(validate::FieldError::new(
                    "contact_id",
                    "contact_id or source_id is required",
                )
                .into());
            }
        };
        let status = match input.status.as_deref() {
            None => ConversationStatus::Open,
            Some(s) => parse_status(s)?,
        };
        if let Some(a) = input.assignee_id {
            self.check_assignee(ctx.account_id, inbox.id, a).await?;
        }
        if let Some(t) = input.team_id {
            self.store
                .team_ref(ctx.account_id, t)
                .await?
                .ok_or_else(|| validate::FieldError::new("team_id", "no such team"))?;
        }
        let custom = attrs_text("custom_attributes", input.custom_attributes.as_ref())?;
        let additional = attrs_text(
            "additional_attributes",
            input.additional_attributes.as_ref(),
        )?;
        let message = match input.message.as_deref() {
            Some(m) => Some(crate::messages::check_content(Some(m), false)?),
            None => None,
        };
        let row = self
            .store
            .create_conversation(&NewConversation {
                account_id: ctx.account_id,
                inbox_id: inbox.id,
                contact_id,
                contact_inbox_id: None,
                source_id,
                status,
                assignee_id: input.assignee_id,
                team_id: input.team_id,
                custom_attributes: custom,
                additional_attributes: additional,
            })
            .await
            .map_err(|e| match e {
                parley_store::StoreError::Conflict(_) => ServiceError::Invalid(
                    validate::FieldError::new("source_id", "belongs to another contact"),
                ),
                other => other.into(),
            })?;
        let view = self.publish_new_conversation(&row).await?;
        if let Some(content) = message.flatten() {
            let input = MessageInput::text(MessageType::Outgoing, content);
            self.create_message(&row, Sender::User(ctx.user_id), input)
                .await?;
            return self.conversation_view(ctx.account_id, row.display_id).await;
        }
        Ok(view)
    }

    /// The visitor's conversations in this inbox, newest activity first.
    pub async fn public_conversations(
        &self,
        ident: &PublicIdentity,
    ) -> Result<Vec<PublicConversationView>> {
        let mut f = ConversationFilter::all(ident.account_id, 0);
        f.contact_id = Some(ident.contact_id);
        f.inbox_id = Some(ident.inbox_id);
        let rows = self
            .store
            .list_conversations(&f, CONTACT_CONVERSATIONS_LIMIT, ListStart::Offset(0))
            .await?;
        let audience = self.public_audience(ident).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.public_view(&r, &audience).await?);
        }
        Ok(out)
    }

    /// Creates a conversation for the visitor (`POST …/contacts/{id}/conversations`).
    pub async fn public_create_conversation(
        &self,
        ident: &PublicIdentity,
        custom_attributes: Option<Value>,
    ) -> Result<PublicConversationView> {
        self.public_limits
            .conversations_per_visitor
            .take(&ident.contact_inbox_id.to_string())?;
        let custom = attrs_text("custom_attributes", custom_attributes.as_ref())?;
        let row = self
            .store
            .create_conversation(&NewConversation {
                account_id: ident.account_id,
                inbox_id: ident.inbox_id,
                contact_id: ident.contact_id,
                contact_inbox_id: Some(ident.contact_inbox_id),
                source_id: None,
                status: ConversationStatus::Open,
                assignee_id: None,
                team_id: None,
                custom_attributes: custom,
                additional_attributes: "{}".into(),
            })
            .await?;
        self.publish_new_conversation(&row).await?;
        self.public_conversation(ident, row.display_id).await
    }

    /// The visitor's own conversation.
    pub async fn public_conversation(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
    ) -> Result<PublicConversationView> {
        self.public_conversation_row(ident, display_id).await?;
        let row = self
            .store
            .conversation_detail(ident.account_id, display_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let audience = self.public_audience(ident).await?;
        self.public_view(&row, &audience).await
    }

    /// The visitor's view: one query for the newest page of public messages.
    async fn public_view(
        &self,
        r: &ConversationDetailRow,
        audience: &Audience,
    ) -> Result<PublicConversationView> {
        let c = &r.conv;
        let msgs = self
            .store
            .messages_page(c.id, None, None, crate::messages::PAGE_SIZE, true)
            .await?;
        Ok(PublicConversationView {
            id: c.display_id,
            uuid: c.uuid.clone(),
            inbox_id: c.inbox_id,
            status: c.status.clone(),
            messages: msgs
                .iter()
                .map(|m| self.public_message_view(m, audience))
                .collect(),
            contact: PublicContact {
                id: c.contact_id,
                name: r.contact_name.clone(),
                email: r.contact_email.clone(),
                phone_number: r.contact_phone_number.clone(),
            },
            agent_last_seen_at: secs0(c.agent_last_seen_at),
            contact_last_seen_at: secs0(c.contact_last_seen_at),
            created_at: secs(c.created_at),
            last_activity_at: secs(c.last_activity_at),
            custom_attributes: json_obj(&c.custom_attributes),
            queue: self.queue_standing(c).await?,
        })
    }

    /// Changes the status (`toggle_status`): without a status, open ↔ resolved. Records an
    /// activity message and publishes `conversation.status_changed` when it changed.
    pub async fn toggle_status(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        status: Option<&str>,
        snoozed_until_secs: Option<i64>,
    ) -> Result<StatusToggled> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let target = match status {
            Some(s) => parse_status(s)?,
            None if c.status() == ConversationStatus::Open => ConversationStatus::Resolved,
            None => ConversationStatus::Open,
        };
        let snooze_ms = match snoozed_until_secs {
            Some(s) if !(0..=253_402_300_799).contains(&s) => {
                return Err(
                    validate::FieldError::new("snoozed_until", "is not a valid time").into(),
                );
            }
            Some(s) => Some(s * 1000),
            None => None,
        };
        let by = ctx.user_name.clone();
        let activity = match target {
            ConversationStatus::Resolved => Activity::Resolved { by },
            // A bot's pending conversation opened for agents: the hand-off.
            ConversationStatus::Open if c.status() == ConversationStatus::Pending => {
                Activity::HandedOff { by }
            }
            ConversationStatus::Open => Activity::Reopened { by },
            ConversationStatus::Pending => Activity::Pending { by },
            ConversationStatus::Snoozed => Activity::Snoozed { by },
        };
        let after = self.set_status(&c, target, snooze_ms, activity).await?;
        Ok(StatusToggled {
            success: true,
            current_status: after.status.clone(),
            conversation_id: after.display_id,
            snoozed_until: after.snoozed_until.map(secs),
        })
    }

    /// Applies a status change with its activity line (which says who changed it) and
    /// events.
    pub(crate) async fn set_status(
        &self,
        c: &ConversationRow,
        target: ConversationStatus,
        snooze_ms: Option<i64>,
        activity: Activity,
    ) -> Result<ConversationRow> {
        let (before, after) = self
            .store
            .set_conversation_status(c.id, target, snooze_ms)
            .await?;
        if before.status != after.status || before.snoozed_until != after.snoozed_until {
            self.activity(&after, activity).await?;
            self.publish_changed("conversation.status_changed", &after)
                .await?;
            if target == ConversationStatus::Resolved {
                self.send_csat_survey(&after).await?;
            }
            if after.status() == ConversationStatus::Pending && before.status != after.status {
                self.bot_takes_over(&after).await?;
            }
            if let Err(e) = self.on_status_changed(&before, &after).await {
                tracing::warn!(conversation = after.id, error = %e, "routing after a status change failed");
            }
        }
        Ok(after)
    }

    /// Reopens snoozed conversations whose `snoozed_until` has passed, in batches, with
    /// the usual activity message and events. Safe to run on several nodes at once: a
    /// conversation another node already reopened is left alone. Returns how many.
    pub async fn reopen_due_snoozed(&self) -> Result<usize> {
        let mut reopened = 0;
        loop {
            let due = self.store.due_snoozed(self.store.now(), 100).await?;
            let n = due.len();
            for c in due {
                let after = self
                    .set_status(&c, ConversationStatus::Open, None, Activity::SnoozeEnded)
                    .await?;
                if after.status() == ConversationStatus::Open {
                    reopened += 1;
                }
            }
            if n < 100 {
                return Ok(reopened);
            }
        }
    }

    /// Sets the priority (`toggle_priority`); `none` or null clears it.
    pub async fn toggle_priority(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        priority: Option<&str>,
    ) -> Result<ConversationView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let p = match priority {
            None => None,
            Some(s) => match Priority::parse(s) {
                Some(Priority::None) => None,
                Some(p) => Some(p),
                None => {
                    return Err(validate::FieldError::new(
                        "priority",
                        format!("must be one of {}", Priority::expected()),
                    )
                    .into());
                }
            },
        };
        let (before, after) = self
            .store
            .set_conversation_priority(c.id, p.map(Priority::as_str))
            .await?;
        let view = self
            .conversation_view(after.account_id, after.display_id)
            .await?;
        if before.priority != after.priority {
            self.publish_conversation("conversation.updated", &after, &view)
                .await;
        }
        Ok(view)
    }

    /// Mutes a conversation (`POST …/mute`, the automation action `mute_conversation`):
    /// resolves it and, for [`MUTE_PERIOD_MS`], keeps the contact's new messages from
    /// reopening it, starting a wait or a reply target (spam, a customer who keeps saying
    /// thanks). Muting again extends the period.
    pub async fn mute(&self, ctx: &AccountCtx, display_id: i64) -> Result<ConversationView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let c = if c.status() == ConversationStatus::Resolved {
            c
        } else {
            let by = ctx.user_name.clone();
            self.set_status(
                &c,
                ConversationStatus::Resolved,
                None,
                Activity::Resolved { by },
            )
            .await?
        };
        let now = self.store.now();
        let (before, after) = self
            .store
            .set_conversation_muted(c.id, Some(now.saturating_add(MUTE_PERIOD_MS)))
            .await?;
        if !before.muted_at(now) {
            let by = ctx.user_name.clone();
            self.activity(&after, Activity::Muted { by }).await?;
        }
        self.publish_changed("conversation.updated", &after).await
    }

    /// Unmutes a conversation (`POST …/unmute`): the contact's next message reopens it as
    /// usual. Unmuting one that is not muted changes nothing.
    pub async fn unmute(&self, ctx: &AccountCtx, display_id: i64) -> Result<ConversationView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        if c.muted_until.is_none() {
            return self.conversation_view(c.account_id, c.display_id).await;
        }
        let now = self.store.now();
        let (before, after) = self.store.set_conversation_muted(c.id, None).await?;
        if before.muted_at(now) {
            let by = ctx.user_name.clone();
            self.activity(&after, Activity::Unmuted { by }).await?;
        }
        self.publish_changed("conversation.updated", &after).await
    }

    pub(crate) async fn check_assignee(
        &self,
        account_id: i64,
        inbox_id: i64,
        user_id: i64,
    ) -> Result<AgentRow> {
        let agent = self
            .store
            .agent(account_id, user_id)
            .await
            .map_err(|e| match e {
                parley_store::StoreError::NotFound => ServiceError::Invalid(
                    validate::FieldError::new("assignee_id", "is not a member of this account"),
                ),
                other => other.into(),
            })?;
        let role = Role::parse(&agent.role).unwrap_or(Role::Agent);
        if !role.sees_all_inboxes() && !self.store.is_inbox_member(inbox_id, user_id).await? {
            return Err(validate::FieldError::new(
                "assignee_id",
                "is not a member of this conversation's inbox",
            )
            .into());
        }
        Ok(agent)
    }

    /// Assigns an agent (`None` unassigns). Returns the assignee.
    pub async fn assign_agent(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        assignee_id: Option<i64>,
    ) -> Result<Option<AgentSummary>> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let agent = match assignee_id {
            Some(id) => Some(self.check_assignee(ctx.account_id, c.inbox_id, id).await?),
            None => None,
        };
        let (before, after) = self
            .store
            .set_conversation_assignee(c.id, assignee_id)
            .await?;
        if before.assignee_id != after.assignee_id {
            let by = ctx.user_name.clone();
            let activity = match &agent {
                Some(a) if a.id == ctx.user_id => Activity::SelfAssigned { agent: by },
                Some(a) => Activity::Assigned {
                    agent: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
                    by,
                },
                None => Activity::Unassigned { by },
            };
            self.activity(&after, activity).await?;
            self.publish_changed("assignee.changed", &after).await?;
            if let Some(a) = after.assignee_id {
                self.store.log_assignment(&after, a, "manual").await?;
                self.schedule_reassign(&after).await?;
            }
            if before.queued_at.is_some() && after.queued_at.is_none() {
                self.queue_left(&after);
                self.announce_queue(after.account_id, after.inbox_id, after.team_id)
                    .await?;
            }
            if before.assignee_id.is_some() {
                // The previous agent has room again.
                self.drain_queues(after.account_id).await?;
            }
        }
        Ok(agent.as_ref().map(AgentSummary::from_agent))
    }

    /// Assigns a team (`None` removes it). Returns the team.
    pub async fn assign_team(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        team_id: Option<i64>,
    ) -> Result<Option<TeamSummary>> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let team = match team_id {
            Some(id) => Some(
                self.store
                    .team_ref(ctx.account_id, id)
                    .await?
                    .ok_or_else(|| validate::FieldError::new("team_id", "no such team"))?,
            ),
            None => None,
        };
        let (before, after) = self.store.set_conversation_team(c.id, team_id).await?;
        if before.team_id != after.team_id {
            let by = ctx.user_name.clone();
            let activity = match &team {
                Some(t) => Activity::AssignedTeam {
                    team: t.name.clone(),
                    by,
                },
                None => Activity::UnassignedTeam { by },
            };
            self.activity(&after, activity).await?;
            self.publish_changed("team.changed", &after).await?;
            self.on_team_changed(&before, &after).await?;
        }
        Ok(team.as_ref().map(TeamSummary::from_team))
    }

    /// Labels of a conversation.
    pub async fn conversation_labels(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
    ) -> Result<Vec<String>> {
        let c = self.visible_conversation(ctx, display_id).await?;
        Ok(self
            .store
            .labels_of(&[c.id])
            .await?
            .into_iter()
            .map(|(_, l)| l)
            .collect())
    }

    /// Replaces the labels of a conversation.
    pub async fn set_conversation_labels(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        labels: &[String],
    ) -> Result<Vec<String>> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let labels = clean_labels(labels)?;
        let out = self
            .store
            .replace_conversation_labels(c.id, &labels)
            .await?;
        self.publish_changed("conversation.updated", &c).await?;
        Ok(out)
    }

    /// Replaces the custom attributes of a conversation.
    pub async fn set_conversation_custom_attributes(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        attrs: &Value,
    ) -> Result<Value> {
        let c = self.visible_conversation(ctx, display_id).await?;
        validate::attributes("custom_attributes", attrs)?;
        let (_, after) = self
            .store
            .set_conversation_custom_attributes(c.id, &attrs.to_string())
            .await?;
        self.publish_changed("conversation.updated", &after).await?;
        Ok(json_obj(&after.custom_attributes))
    }

    /// Marks the conversation seen by the calling agent.
    pub async fn agent_seen(&self, ctx: &AccountCtx, display_id: i64) -> Result<ConversationView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let after = self.store.touch_agent_last_seen(c.id, ctx.user_id).await?;
        self.emit_read(
            &after,
            serde_json::json!({"id": ctx.user_id, "name": ctx.user_name, "type": "user"}),
            after.agent_last_seen_at,
        );
        self.conversation_view(c.account_id, c.display_id).await
    }

    /// Marks the conversation seen by the visitor.
    pub async fn public_seen(&self, ident: &PublicIdentity, display_id: i64) -> Result<()> {
        let c = self.public_conversation_row(ident, display_id).await?;
        let after = self.store.touch_contact_last_seen(c.id).await?;
        self.emit_read(
            &after,
            serde_json::json!({"id": ident.contact_id, "type": "contact"}),
            after.contact_last_seen_at,
        );
        Ok(())
    }

    /// A read receipt: who has now seen the conversation up to when. Not stored as an
    /// event (the last-seen times are on the conversation).
    fn emit_read(&self, c: &ConversationRow, who: Value, seen_at_ms: Option<i64>) {
        self.emit_ephemeral(Event {
            account_id: c.account_id,
            name: "conversation.read".into(),
            conversation_id: Some(c.id),
            inbox_id: Some(c.inbox_id),
            contact_id: Some(c.contact_id),
            public: true,
            cursor: None,
            data: serde_json::json!({
                "conversation": {"id": c.display_id, "inbox_id": c.inbox_id},
                "user": who,
                "last_seen_at": seen_at_ms.map(|ms| ms / 1000),
            }),
        });
    }

    /// The visitor resolves their conversation (Client API `toggle_status`).
    pub async fn public_resolve(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
    ) -> Result<PublicConversationView> {
        let c = self.public_conversation_row(ident, display_id).await?;
        if c.status() != ConversationStatus::Resolved {
            self.set_status(
                &c,
                ConversationStatus::Resolved,
                None,
                Activity::ResolvedByContact,
            )
            .await?;
        }
        self.public_conversation(ident, display_id).await
    }

    /// An agent started or stopped typing: an event only, nothing is stored.
    pub async fn agent_typing(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        typing_status: &str,
        is_private: bool,
    ) -> Result<()> {
        let c = self.visible_conversation(ctx, display_id).await?;
        let name = typing_event(typing_status)?;
        if !is_private && name == "conversation.typing_on" {
            self.channel_typing(c.id, c.inbox_id);
        }
        let user = serde_json::json!({"id": ctx.user_id, "name": ctx.user_name, "type": "user"});
        self.typing_webhooks(
            &c,
            name == "conversation.typing_on",
            user.clone(),
            is_private,
        )
        .await;
        self.emit_ephemeral(Event {
            account_id: c.account_id,
            name: name.into(),
            conversation_id: Some(c.id),
            inbox_id: Some(c.inbox_id),
            contact_id: Some(c.contact_id),
            public: !is_private,
            cursor: None,
            data: serde_json::json!({
                "conversation": {"id": c.display_id, "inbox_id": c.inbox_id},
                "user": user,
                "is_private": is_private,
            }),
        });
        Ok(())
    }

    /// The visitor started or stopped typing: an event only, nothing is stored.
    pub async fn public_typing(
        &self,
        ident: &PublicIdentity,
        display_id: i64,
        typing_status: &str,
    ) -> Result<()> {
        let c = self.public_conversation_row(ident, display_id).await?;
        let name = typing_event(typing_status)?;
        let user = serde_json::json!({"id": ident.contact_id, "type": "contact"});
        self.typing_webhooks(&c, name == "conversation.typing_on", user, false)
            .await;
        self.emit_ephemeral(Event {
            account_id: c.account_id,
            name: name.into(),
            conversation_id: Some(c.id),
            inbox_id: Some(c.inbox_id),
            contact_id: Some(c.contact_id),
            public: true,
            cursor: None,
            data: serde_json::json!({
                "conversation": {"id": c.display_id, "inbox_id": c.inbox_id},
                "user": {"id": ident.contact_id, "type": "contact"},
                "is_private": false,
            }),
        });
        Ok(())
    }

    /// Publishes a conversation event after the change is committed.
    /// Renders the conversation as `show` would and publishes it as event `name`; returns
    /// the view. Every change announces the same Chatwoot-shaped payload the API serves, so
    /// the render and the publish go together.
    pub(crate) async fn publish_changed(
        &self,
        name: &str,
        c: &ConversationRow,
    ) -> Result<ConversationView> {
        let view = self.conversation_view(c.account_id, c.display_id).await?;
        self.publish_conversation(name, c, &view).await;
        Ok(view)
    }

    /// Stores and publishes conversation event `name` with `view` as its payload.
    pub(crate) async fn publish_conversation(
        &self,
        name: &str,
        c: &ConversationRow,
        view: &ConversationView,
    ) {
        let data = serde_json::to_value(view).unwrap_or(Value::Null);
        self.emit(crate::realtime::conversation_draft(name, c, &data))
            .await;
    }
}

/// The event name of a typing status.
fn typing_event(typing_status: &str) -> Result<&'static str> {
    match typing_status {
        "on" => Ok("conversation.typing_on"),
        "off" => Ok("conversation.typing_off"),
        _ => Err(validate::FieldError::new("typing_status", "must be on or off").into()),
    }
}
