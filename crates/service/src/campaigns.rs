//! Proactive invitations (Chatwoot's `/campaigns` of type `ongoing`) and the widget's
//! `webwidget_triggered` event.
//!
//! - **Who decides.** The widget evaluates the timing rules in the browser (time on page
//!   and on site, pages viewed, exit intent, returning visitor, UTM source) because only
//!   the browser sees them; before it shows anything it asks the server, which checks what
//!   only the server knows: the campaign is still enabled, the page matches, the inbox is
//!   inside working hours, an agent of the inbox is online with a free place (an
//!   invitation nobody can answer is worse than none), and this visitor has not seen it
//!   within `show_again_after_days`. The showing is recorded in the same statement that
//!   checks the period, so two tabs cannot both show it.
//! - **Answering.** A conversation started with `campaign_id` must answer an invitation
//!   that was shown to this visitor; it is routed like any other, carries the campaign,
//!   and begins with the invitation as the agent's (template) message, which neither
//!   starts the customer's wait nor counts as a first response.
//! - **Counters.** Shown, accepted (conversations started) and converted (those with a
//!   `conversion` report fact) per campaign (`parley_store::campaigns`).

use parley_core::campaign::{
    DEFAULT_SHOW_AGAIN_DAYS, MAX_CAMPAIGNS_PER_ACCOUNT, MAX_DESCRIPTION_CHARS, MAX_MESSAGE_CHARS,
    MAX_SHOW_AGAIN_DAYS, MAX_TITLE_CHARS, TriggerRules,
};
use parley_core::routing::{AgentCandidate, Decision, RoutingRequest, choose_agent};
use parley_core::validate::FieldError;
use parley_core::{Availability, ChannelType, MessageType};
use parley_store::campaigns::CampaignFields;
/// The records these use cases return.
pub use parley_store::campaigns::CampaignRow;
use parley_store::events::EventDraft;
use parley_store::public::PublicIdentity;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use crate::conversations::PublicConversationView;
use crate::messages::{MessageInput, Sender};
use crate::views::agents::agent_view;
use crate::views::campaigns::{CampaignView, campaign_view};
use crate::widget::{WidgetAgent, WidgetCampaign};
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

const DAY_MS: i64 = 86_400_000;
/// Longest `event_info` text (language, referrer).
const MAX_EVENT_TEXT: usize = 2_048;

/// A campaign as written by the API: every field optional on update.
#[derive(Debug, Clone, Default)]
pub struct CampaignInput {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub message: Option<String>,
    pub inbox_id: Option<i64>,
    pub sender_id: Option<Option<i64>>,
    pub enabled: Option<bool>,
    pub trigger_only_during_business_hours: Option<bool>,
    pub only_when_agents_available: Option<bool>,
    pub show_again_after_days: Option<i64>,
    pub trigger_rules: Option<TriggerRules>,
    /// `ongoing` (the only kind Parley has); `one_off` is refused.
    pub campaign_type: Option<String>,
}

/// The server's answer when a widget asks to show an invitation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignTrigger {
    /// Show it now (the showing is recorded and counted).
    pub show: bool,
    /// Why not: `disabled`, `url`, `off_hours`, `no_capacity` or `shown_recently`.
    pub reason: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> ServiceError {
    FieldError::new(field, message).into()
}

fn text(field: &str, v: &str, max: usize) -> Result<String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(bad(field, format!("must be 1 to {max} characters")));
    }
    Ok(t.to_string())
}

fn not_shown(reason: &str) -> CampaignTrigger {
    CampaignTrigger {
        show: false,
        reason: Some(reason.into()),
    }
}

impl Services {
    // ----- the API (administrators) -----

    /// The account's campaigns with their counters (administrators only).
    pub async fn list_campaigns(&self, ctx: &AccountCtx) -> Result<Vec<CampaignRow>> {
        ctx.require_admin()?;
        Ok(self.store.campaigns(ctx.account_id).await?)
    }

    /// One campaign (administrators only).
    pub async fn campaign(&self, ctx: &AccountCtx, id: i64) -> Result<CampaignRow> {
        ctx.admin_one("campaign", self.store.campaign(ctx.account_id, id))
            .await
    }

    /// Campaigns as the API shows them: each with its whole inbox and sender, as Chatwoot
    /// renders them (the account's inboxes and agents read once for the list).
    pub async fn campaign_views(
        &self,
        ctx: &AccountCtx,
        rows: &[CampaignRow],
    ) -> Result<Vec<CampaignView>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let inbox_rows: Vec<_> = self
            .list_inboxes(ctx)
            .await?
            .into_iter()
            .filter(|i| rows.iter().any(|c| c.inbox_id == i.id))
            .collect();
        let inboxes = self.inbox_views(ctx, &inbox_rows).await?;
        let agents = if rows.iter().any(|c| c.sender_id.is_some()) {
            self.list_agents(ctx).await?
        } else {
            Vec::new()
        };
        Ok(rows
            .iter()
            .map(|c| {
                let inbox = inboxes.iter().find(|i| i.id == c.inbox_id).cloned();
                let sender = c
                    .sender_id
                    .and_then(|id| agents.iter().find(|a| a.id == id))
                    .map(agent_view);
                campaign_view(c, inbox, sender)
            })
            .collect())
    }

    /// One campaign as the API shows it (see [`Services::campaign_views`]).
    pub async fn campaign_view(&self, ctx: &AccountCtx, row: &CampaignRow) -> Result<CampaignView> {
        self.campaign_views(ctx, std::slice::from_ref(row))
            .await?
            .pop()
            .ok_or_else(|| ServiceError::Internal("campaign view missing".into()))
    }

    /// Checks a campaign's fields against the account (a website inbox of the account,
    /// an agent of the account as the sender) and returns them ready to store.
    async fn campaign_fields(
        &self,
        ctx: &AccountCtx,
        base: Option<&CampaignRow>,
        input: CampaignInput,
    ) -> Result<CampaignFields> {
        match input.campaign_type.as_deref() {
            None | Some("ongoing") => {}
            Some("one_off") => {
                return Err(bad(
                    "campaign_type",
                    "one-off (SMS) campaigns are not supported: Parley has no SMS channel; \
                     use an ongoing website campaign",
                ));
            }
            Some(other) => {
                return Err(bad(
                    "campaign_type",
                    format!("unknown campaign type {other:?}; only \"ongoing\" is supported"),
                ));
            }
        }
        let title = match (input.title, base) {
            (Some(t), _) => text("title", &t, MAX_TITLE_CHARS)?,
            (None, Some(b)) => b.title.clone(),
            (None, None) => return Err(bad("title", "is required")),
        };
        let message = match (input.message, base) {
            (Some(m), _) => text("message", &m, MAX_MESSAGE_CHARS)?,
            (None, Some(b)) => b.message.clone(),
            (None, None) => return Err(bad("message", "is required")),
        };
        let description = match (input.description, base) {
            (Some(d), _) => d,
            (None, Some(b)) => b.description.clone(),
            (None, None) => None,
        }
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(bad(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        let inbox_id = match (input.inbox_id, base) {
            (Some(i), _) => i,
            (None, Some(b)) => b.inbox_id,
            (None, None) => return Err(bad("inbox_id", "is required")),
        };
        let inbox = self
            .store
            .inbox(ctx.account_id, inbox_id)
            .await
            .map_err(|_| bad("inbox_id", format!("no inbox {inbox_id} in this account")))?;
        if ChannelType::parse(&inbox.channel_type) != Some(ChannelType::WebWidget) {
            return Err(bad(
                "inbox_id",
                "invitations are shown by the website widget: choose a website inbox",
            ));
        }
        let sender_id = match (input.sender_id, base) {
            (Some(s), _) => s,
            (None, Some(b)) => b.sender_id,
            (None, None) => None,
        };
        if let Some(s) = sender_id
            && self.store.agent(ctx.account_id, s).await.is_err()
        {
            return Err(bad("sender_id", format!("no agent {s} in this account")));
        }
        let show_again_after_days = input
            .show_again_after_days
            .or(base.map(|b| b.show_again_after_days))
            .unwrap_or(DEFAULT_SHOW_AGAIN_DAYS);
        if !(0..=MAX_SHOW_AGAIN_DAYS).contains(&show_again_after_days) {
            return Err(bad(
                "show_again_after_days",
                format!("must be between 0 and {MAX_SHOW_AGAIN_DAYS}"),
            ));
        }
        let rules = match (input.trigger_rules, base) {
            (Some(r), _) => r,
            (None, Some(b)) => serde_json::from_str(&b.trigger_rules).unwrap_or_default(),
            (None, None) => TriggerRules::default(),
        }
        .checked()?;
        let flag = |v: Option<bool>, b: Option<i64>, default: bool| {
            v.or(b.map(|x| x != 0)).unwrap_or(default)
        };
        Ok(CampaignFields {
            inbox_id,
            sender_id,
            title,
            description,
            message,
            enabled: flag(input.enabled, base.map(|b| b.enabled), true),
            trigger_only_during_business_hours: flag(
                input.trigger_only_during_business_hours,
                base.map(|b| b.trigger_only_during_business_hours),
                false,
            ),
            only_when_agents_available: flag(
                input.only_when_agents_available,
                base.map(|b| b.only_when_agents_available),
                true,
            ),
            show_again_after_days,
            trigger_rules: serde_json::to_string(&rules).unwrap_or_else(|_| "{}".into()),
        })
    }

    /// Creates a campaign (administrators only; at most 100 per account).
    pub async fn create_campaign(
        &self,
        ctx: &AccountCtx,
        input: CampaignInput,
    ) -> Result<CampaignRow> {
        ctx.require_admin()?;
        let fields = self.campaign_fields(ctx, None, input).await?;
        self.store
            .create_campaign(ctx.account_id, &fields, MAX_CAMPAIGNS_PER_ACCOUNT as i64)
            .await?
            .ok_or_else(|| {
                bad(
                    "campaigns",
                    format!("an account may have at most {MAX_CAMPAIGNS_PER_ACCOUNT} campaigns"),
                )
            })
    }

    /// Changes a campaign (administrators only); fields left out keep their values.
    pub async fn update_campaign(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: CampaignInput,
    ) -> Result<CampaignRow> {
        let base = self.campaign(ctx, id).await?;
        let fields = self.campaign_fields(ctx, Some(&base), input).await?;
        self.store
            .update_campaign(ctx.account_id, id, &fields)
            .await
            .or_not_found("campaign")
    }

    /// Deletes a campaign (administrators only); its conversations stay.
    pub async fn delete_campaign(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_campaign(ctx.account_id, id)
            .await
            .or_not_found("campaign")
    }

    // ----- the widget -----

    /// The inbox's enabled campaigns as its widget needs them.
    pub async fn widget_campaigns(
        &self,
        account_id: i64,
        inbox_id: i64,
    ) -> Result<Vec<WidgetCampaign>> {
        let rows = self.store.inbox_campaigns(inbox_id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for c in rows.into_iter().filter(|c| c.account_id == account_id) {
            let sender = match c.sender_id {
                Some(s) => self
                    .store
                    .agent(account_id, s)
                    .await
                    .ok()
                    .map(|a| WidgetAgent {
                        id: a.id,
                        name: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
                        avatar_url: a.avatar_url.clone().unwrap_or_default(),
                        availability_status: a.presence.clone(),
                    }),
                None => None,
            };
            out.push(WidgetCampaign {
                id: c.id,
                message: c.message,
                sender,
                trigger_rules: serde_json::from_str(&c.trigger_rules).unwrap_or_else(|_| json!({})),
                show_again_after_days: c.show_again_after_days,
            });
        }
        Ok(out)
    }

    /// Whether an online agent of the inbox has a free place under their limit now, by
    /// the same rule routing assigns with.
    async fn inbox_has_capacity(&self, account_id: i64, inbox_id: i64) -> Result<bool> {
        let members = self.store.inbox_members(account_id, inbox_id).await?;
        let online: Vec<_> = members.iter().filter(|m| m.presence == "online").collect();
        if online.is_empty() {
            return Ok(false);
        }
        let ids: Vec<i64> = online.iter().map(|m| m.id).collect();
        let loads = self.store.agent_loads(account_id, &ids).await?;
        let settings = self.store.routing_settings(account_id).await?;
        let limit = |v: Option<i64>| v.map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX));
        let candidates: Vec<AgentCandidate> = online
            .iter()
            .map(|m| AgentCandidate {
                id: m.id,
                availability: Availability::Online,
                teams: Vec::new(),
                max_open: limit(m.max_open),
                load: loads.get(&m.id).map_or(0, |l| l.counted),
                last_assigned_at: None,
            })
            .collect();
        let request = RoutingRequest {
            team_id: None,
            team_max_open: None,
            default_max_open: limit(Some(settings.default_max_open))
                .unwrap_or(parley_core::routing::DEFAULT_MAX_OPEN),
            previous_agent_id: None,
        };
        Ok(matches!(
            choose_agent(&request, &candidates),
            Decision::Assign { .. }
        ))
    }

    /// A widget asks to show an invitation to its visitor now: the server's checks (see
    /// the module docs), and the showing recorded and counted when they pass.
    pub async fn public_trigger_campaign(
        &self,
        ident: &PublicIdentity,
        campaign_id: i64,
        page_url: Option<&str>,
    ) -> Result<CampaignTrigger> {
        self.public_limits
            .messages_per_visitor
            .take(&format!("campaign:{}", ident.contact_inbox_id))?;
        let c = self
            .store
            .campaign(ident.account_id, campaign_id)
            .await?
            .filter(|c| c.inbox_id == ident.inbox_id)
            .ok_or(ServiceError::NotFound("campaign"))?;
        if c.enabled == 0 {
            return Ok(not_shown("disabled"));
        }
        let rules: TriggerRules = serde_json::from_str(&c.trigger_rules).unwrap_or_default();
        if let Some(url) = page_url
            && !rules.url_matches(url)
        {
            return Ok(not_shown("url"));
        }
        if c.trigger_only_during_business_hours != 0 {
            let inbox = self
                .store
                .inbox(ident.account_id, ident.inbox_id)
                .await
                .or_not_found("inbox")?;
            if let Some(cal) = crate::routing_config::inbox_calendar(&inbox)
                && !cal.is_open(self.store.now())
            {
                return Ok(not_shown("off_hours"));
            }
        }
        if c.only_when_agents_available != 0
            && !self
                .inbox_has_capacity(ident.account_id, ident.inbox_id)
                .await?
        {
            return Ok(not_shown("no_capacity"));
        }
        let not_before = match c.show_again_after_days {
            0 => i64::MAX,
            d => self.store.now() - d * DAY_MS,
        };
        if !self
            .store
            .record_campaign_shown(c.id, ident.contact_inbox_id, not_before)
            .await?
        {
            return Ok(not_shown("shown_recently"));
        }
        metrics::counter!("parley_campaign_invitations_shown_total").increment(1);
        Ok(CampaignTrigger {
            show: true,
            reason: None,
        })
    }

    /// The visitor answers an invitation: a conversation started as usual (routed), that
    /// carries the campaign and begins with the invitation as the agent's message.
    pub async fn public_start_campaign_conversation(
        &self,
        ident: &PublicIdentity,
        campaign_id: i64,
        custom_attributes: Option<Value>,
        context: Option<Value>,
        team_id: Option<i64>,
    ) -> Result<PublicConversationView> {
        let c = self
            .store
            .campaign(ident.account_id, campaign_id)
            .await?
            .filter(|c| c.inbox_id == ident.inbox_id)
            .ok_or_else(|| bad("campaign_id", "no such campaign in this inbox"))?;
        if self
            .store
            .campaign_shown_at(c.id, ident.contact_inbox_id)
            .await?
            .is_none()
        {
            return Err(bad(
                "campaign_id",
                "this invitation was not shown to this visitor",
            ));
        }
        let started = self
            .public_start_conversation(ident, custom_attributes, context, team_id)
            .await?;
        let row = self.public_conversation_row(ident, started.id).await?;
        self.store.set_conversation_campaign(row.id, c.id).await?;
        let sender = match c.sender_id {
            Some(s) if self.store.agent(ident.account_id, s).await.is_ok() => Sender::User(s),
            _ => Sender::System,
        };
        let mut input = MessageInput::text(MessageType::Template, c.message.clone());
        input.content_attributes = Some(json!({"campaign_id": c.id}));
        self.create_message(&row, sender, input).await?;
        metrics::counter!("parley_campaign_invitations_accepted_total").increment(1);
        self.public_conversation(ident, started.id).await
    }

    /// The visitor opened the widget: Chatwoot's `webwidget.triggered`, delivered to the
    /// `webwidget_triggered` webhooks with the contact, the inbox and `event_info`
    /// (`initiated_at` stamped here; `referer`, `widget_language`, `browser_language`,
    /// `browser` as the widget reports them, checked and bounded).
    pub async fn public_widget_triggered(
        &self,
        ident: &PublicIdentity,
        event_info: &Value,
    ) -> Result<()> {
        const F: &str = "event_info";
        let obj = match event_info {
            Value::Null => Map::new(),
            Value::Object(m) => m.clone(),
            _ => return Err(bad(F, "must be a JSON object")),
        };
        let mut info = Map::new();
        for k in ["referer", "widget_language", "browser_language"] {
            match obj.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.chars().count() <= MAX_EVENT_TEXT => {
                    info.insert(k.into(), Value::String(s.clone()));
                }
                Some(_) => {
                    return Err(bad(
                        &format!("{F}.{k}"),
                        format!("must be a text of at most {MAX_EVENT_TEXT} characters"),
                    ));
                }
            }
        }
        if let Some(b) = obj.get("browser").filter(|b| !b.is_null()) {
            let cleaned = crate::widget::clean_visitor_context(&json!({ "browser": b }))
                .map_err(|_| bad(&format!("{F}.browser"), "must be an object of short texts"))?;
            if let Some(b) = cleaned.get("browser") {
                info.insert("browser".into(), b.clone());
            }
        }
        info.insert(
            "initiated_at".into(),
            json!({"timestamp": crate::views::secs(self.store.now())}),
        );
        self.public_limits
            .messages_per_visitor
            .take(&format!("widget:{}", ident.contact_inbox_id))?;
        let contact = self
            .store
            .contact(ident.account_id, ident.contact_id)
            .await
            .or_not_found("contact")?;
        let contact = serde_json::to_value(crate::views::contacts::contact_view(
            &crate::contacts::ContactDetails {
                contact,
                contact_inboxes: Vec::new(),
            },
        ))
        .unwrap_or(Value::Null);
        let payload = json!({
            "id": ident.contact_inbox_id,
            "source_id": ident.source_id,
            "contact": contact,
            "current_conversation": Value::Null,
            "event_info": Value::Object(info),
        });
        self.emit(EventDraft {
            account_id: ident.account_id,
            name: "webwidget.triggered".into(),
            conversation_id: None,
            inbox_id: Some(ident.inbox_id),
            // Not the visitor's to see: no visitor stream carries it.
            contact_id: None,
            public: false,
            payload: payload.to_string(),
            origin: None,
        })
        .await;
        Ok(())
    }
}
