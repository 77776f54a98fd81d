//! Campaigns as Chatwoot renders them (`campaign.json.jbuilder`), with Parley's extra
//! settings and the counters (shown, accepted, converted).

use parley_store::campaigns::CampaignRow;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::agents::AgentView;
use super::inboxes::InboxView;
use super::secs;

/// A campaign.
#[derive(Serialize, ToSchema, Debug)]
pub struct CampaignView {
    pub id: i64,
    /// Chatwoot's per-account number; the same as `id` in Parley.
    pub display_id: i64,
    pub account_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub message: String,
    /// Always `ongoing` (website invitations).
    pub campaign_type: String,
    /// `active` while enabled, else `completed` (Chatwoot's words).
    pub campaign_status: String,
    pub enabled: bool,
    pub inbox_id: i64,
    /// The inbox as `GET /inboxes/{id}` shows it (Chatwoot renders the whole inbox).
    pub inbox: Option<InboxView>,
    pub sender_id: Option<i64>,
    /// The agent the invitation speaks as, as `GET /agents` shows them; null: none.
    pub sender: Option<AgentView>,
    pub trigger_only_during_business_hours: bool,
    /// `{url, time_on_page, time_on_site, pages_viewed, exit_intent, returning_visitor,
    /// utm_source}`: the rules that are set.
    #[schema(value_type = Object)]
    pub trigger_rules: Value,
    /// Parley: only while an online agent of the inbox has a free place.
    pub only_when_agents_available: bool,
    /// Parley: a visitor sees it at most once per this many days (0: whenever it triggers).
    pub show_again_after_days: i64,
    /// Invitations shown.
    pub shown_count: i64,
    /// Conversations started by answering it.
    pub accepted_count: i64,
    /// Of those, conversations that converted (labelled `converted` or rated 4–5, as the
    /// reports count a conversion).
    pub converted_count: i64,
    /// Chatwoot's audience and schedule of one-off campaigns: empty and null here.
    #[schema(value_type = Vec<Object>)]
    pub audience: Value,
    pub scheduled_at: Option<i64>,
    /// Epoch seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Renders a campaign with its inbox and sender already rendered (see
/// `Services::campaign_views`, which reads them once for a whole list).
pub fn campaign_view(
    c: &CampaignRow,
    inbox: Option<InboxView>,
    sender: Option<AgentView>,
) -> CampaignView {
    CampaignView {
        id: c.id,
        display_id: c.id,
        account_id: c.account_id,
        title: c.title.clone(),
        description: c.description.clone(),
        message: c.message.clone(),
        campaign_type: "ongoing".into(),
        campaign_status: if c.enabled != 0 {
            "active"
        } else {
            "completed"
        }
        .into(),
        enabled: c.enabled != 0,
        inbox_id: c.inbox_id,
        inbox,
        sender_id: c.sender_id,
        sender,
        trigger_only_during_business_hours: c.trigger_only_during_business_hours != 0,
        trigger_rules: serde_json::from_str(&c.trigger_rules).unwrap_or_else(|_| json!({})),
        only_when_agents_available: c.only_when_agents_available != 0,
        show_again_after_days: c.show_again_after_days,
        shown_count: c.shown_count,
        accepted_count: c.accepted_count,
        converted_count: c.converted_count,
        audience: json!([]),
        scheduled_at: None,
        created_at: secs(c.created_at),
        updated_at: secs(c.updated_at),
    }
}
