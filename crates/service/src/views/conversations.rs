//! Conversations as agents see them (Application API, agent events) and as the visitor
//! sees them (Client API, visitor events).

use parley_core::Role;
use parley_store::conversations::{ConversationCounts, ConversationDetailRow, ConversationRow};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::agents::AgentSummary;
use super::messages::{MessageView, PublicMessageView};
use super::teams::TeamSummary;
use super::{json_obj, secs, secs0};

/// The contact as shown in `meta.sender`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationContact)]
pub struct ContactSummary {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub thumbnail: String,
    pub availability_status: String,
    pub additional_attributes: Value,
    pub custom_attributes: Value,
    pub last_activity_at: Option<i64>,
    pub created_at: i64,
    /// Always `contact`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `meta` of a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationMeta {
    pub sender: ContactSummary,
    pub assignee: Option<AgentSummary>,
    pub team: Option<TeamSummary>,
    /// The inbox's `channel_type`.
    pub channel: String,
    pub hmac_verified: bool,
}

/// A conversation with Chatwoot's field names; `id` is the per-account `display_id`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Conversation)]
pub struct ConversationView {
    pub meta: ConversationMeta,
    pub id: i64,
    pub account_id: i64,
    pub uuid: String,
    pub inbox_id: i64,
    pub status: String,
    pub priority: Option<String>,
    pub labels: Vec<String>,
    /// The last message (Chatwoot sends a one-element list).
    pub messages: Vec<MessageView>,
    pub last_non_activity_message: Option<MessageView>,
    pub additional_attributes: Value,
    pub custom_attributes: Value,
    pub agent_last_seen_at: i64,
    pub assignee_last_seen_at: i64,
    pub contact_last_seen_at: i64,
    pub unread_count: i64,
    pub snoozed_until: Option<i64>,
    pub timestamp: i64,
    pub last_activity_at: i64,
    pub first_reply_created_at: i64,
    pub waiting_since: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub can_reply: bool,
    pub muted: bool,
    /// Parley's internal id is not exposed; the contact's id is, as in Chatwoot's `contact_id`.
    pub contact_id: i64,
    /// Waiting in its queue since (epoch seconds); null when not queued.
    pub queued_at: Option<i64>,
    /// When the current assignee received it (epoch seconds).
    pub assigned_at: Option<i64>,
    /// The running reply target, if the inbox has response standards.
    pub sla: Option<SlaView>,
    /// The visitor's answer to the satisfaction survey, in Chatwoot's
    /// `csat_survey_response` shape; null until rated.
    pub csat_survey_response: Option<CsatResponse>,
    /// The proactive invitation (campaign) the visitor answered to start it, as Chatwoot's
    /// `campaign_id`; null otherwise.
    pub campaign_id: Option<i64>,
}

/// A satisfaction rating as Chatwoot names it (`csat_survey_response`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatResponse {
    /// 1 (worst) to 5 (best).
    pub rating: i64,
    /// The visitor's comment, if any.
    pub feedback_message: Option<String>,
}

/// A running reply target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaView {
    /// `first_response` or `next_response`.
    pub kind: String,
    /// Epoch seconds.
    pub due_at: i64,
    pub overdue: bool,
}

/// The reply target of a conversation row.
pub fn sla_view(c: &ConversationRow) -> Option<SlaView> {
    let due = c.sla_due_at?;
    Some(SlaView {
        kind: c
            .sla_kind
            .clone()
            .unwrap_or_else(|| "first_response".into()),
        due_at: secs(due),
        overdue: c.sla_overdue_at.is_some(),
    })
}

/// A conversation as the visitor sees it on the Client API.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicConversation)]
pub struct PublicConversationView {
    pub id: i64,
    pub uuid: String,
    pub inbox_id: i64,
    pub status: String,
    pub messages: Vec<PublicMessageView>,
    pub contact: PublicContact,
    pub agent_last_seen_at: i64,
    pub contact_last_seen_at: i64,
    pub created_at: i64,
    pub last_activity_at: i64,
    pub custom_attributes: Value,
    /// Place in the waiting queue; null when not waiting.
    pub queue: Option<super::routing::QueueStandingView>,
}

/// The contact inside a public conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PublicConversationContact)]
pub struct PublicContact {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

/// The list response's data.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationListData)]
pub struct ConversationPage {
    pub meta: ListMeta,
    pub payload: Vec<ConversationView>,
}

/// The list's `meta`: Chatwoot's tab counts and where the next page starts. The counts
/// come only with a first page: a page fetched with a cursor continues a list whose counts
/// the client already has (and keeps current from events).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationListMeta)]
pub struct ListMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mine_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unassigned_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_count: Option<i64>,
    /// With the counts: the number they stopped at (a text search, several labels, a
    /// rating), a count equal to it meaning "at least"; `null` when they are exact
    /// (Parley's).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub count_limit: Option<Option<i64>>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl ListMeta {
    pub(crate) fn new(counts: Option<ConversationCounts>, next_cursor: Option<String>) -> Self {
        Self {
            mine_count: counts.map(|c| c.mine_count),
            unassigned_count: counts.map(|c| c.unassigned_count),
            assigned_count: counts.map(|c| c.assigned_count),
            all_count: counts.map(|c| c.all_count),
            count_limit: counts.map(|c| c.count_limit),
            next_cursor,
        }
    }
}

/// Renders a conversation row of the list or of one conversation.
pub(crate) fn conversation_from_row(
    r: ConversationDetailRow,
    labels: Vec<String>,
    messages: Vec<MessageView>,
    last_non_activity_message: Option<MessageView>,
    now: i64,
) -> ConversationView {
    let c = &r.conv;
    let assignee = c.assignee_id.and_then(|id| {
        let name = r.assignee_name.clone()?;
        Some(AgentSummary {
            id,
            account_id: c.account_id,
            available_name: r
                .assignee_display_name
                .clone()
                .unwrap_or_else(|| name.clone()),
            name,
            email: r.assignee_email.clone().unwrap_or_default(),
            role: r
                .assignee_role
                .clone()
                .unwrap_or_else(|| Role::Agent.as_str().into()),
            availability_status: r
                .assignee_availability
                .clone()
                .unwrap_or_else(|| "offline".into()),
            auto_offline: true,
            confirmed: true,
            thumbnail: r.assignee_avatar_url.clone().unwrap_or_default(),
            avatar_url: r.assignee_avatar_url.clone().unwrap_or_default(),
        })
    });
    let team = c.team_id.and_then(|id| {
        Some(TeamSummary {
            id,
            account_id: c.account_id,
            name: r.team_name.clone()?,
            description: r.team_description.clone(),
            allow_auto_assign: r.team_allow_auto_assign.unwrap_or(1) != 0,
        })
    });
    ConversationView {
        meta: ConversationMeta {
            sender: ContactSummary {
                id: c.contact_id,
                name: r.contact_name.clone(),
                email: r.contact_email.clone(),
                phone_number: r.contact_phone_number.clone(),
                identifier: r.contact_identifier.clone(),
                thumbnail: r.contact_avatar_url.clone().unwrap_or_default(),
                availability_status: "offline".into(),
                additional_attributes: json_obj(&r.contact_additional_attributes),
                custom_attributes: json_obj(&r.contact_custom_attributes),
                last_activity_at: r.contact_last_activity_at.map(secs),
                created_at: secs(r.contact_created_at),
                kind: "contact",
            },
            assignee,
            team,
            channel: r.channel_type.clone(),
            hmac_verified: r.hmac_verified.unwrap_or(0) != 0,
        },
        id: c.display_id,
        account_id: c.account_id,
        uuid: c.uuid.clone(),
        inbox_id: c.inbox_id,
        status: c.status.clone(),
        priority: c.priority.clone(),
        labels,
        messages,
        last_non_activity_message,
        additional_attributes: json_obj(&c.additional_attributes),
        custom_attributes: json_obj(&c.custom_attributes),
        agent_last_seen_at: secs0(c.agent_last_seen_at),
        assignee_last_seen_at: secs0(c.assignee_last_seen_at),
        contact_last_seen_at: secs0(c.contact_last_seen_at),
        unread_count: r.unread_count,
        snoozed_until: c.snoozed_until.map(secs),
        timestamp: secs(c.last_activity_at),
        last_activity_at: secs(c.last_activity_at),
        first_reply_created_at: secs0(c.first_reply_created_at),
        waiting_since: secs0(c.waiting_since),
        created_at: secs(c.created_at),
        updated_at: secs(c.updated_at),
        can_reply: true,
        muted: c.muted_at(now),
        contact_id: c.contact_id,
        queued_at: c.queued_at.map(secs),
        assigned_at: c.assigned_at.map(secs),
        sla: sla_view(c),
        csat_survey_response: c.csat_rating.map(|rating| CsatResponse {
            rating,
            feedback_message: c.csat_feedback.clone(),
        }),
        campaign_id: c.campaign_id,
    }
}
