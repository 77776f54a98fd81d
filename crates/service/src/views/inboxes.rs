//! Inboxes as the Application API shows them to administrators, supervisors and agents.

use parley_core::{ChannelType, Role};
use parley_store::inboxes::InboxRow;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::AccountCtx;
use crate::inboxes::is_secret_setting;
use crate::routing_config::ROUTING_KEYS;
use crate::settings::{InboxSettings, SlaPolicyConfig, WorkingDay};
use crate::texts::TEXT_KEYS;

/// An inbox, with Chatwoot's field names. Channel options that do not apply to the
/// inbox's channel are `null`.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct InboxView {
    pub id: i64,
    pub account_id: i64,
    /// Parley has no separate channel records; this is the inbox id.
    pub channel_id: i64,
    pub name: String,
    /// `Channel::WebWidget`, `Channel::Api`, `Channel::Telegram` or `Channel::Email`.
    pub channel_type: String,
    pub avatar_url: String,
    /// The public identifier of the Client API (`/public/api/v1/inboxes/{inbox_identifier}`).
    pub inbox_identifier: String,
    /// For website inboxes, the same public identifier, as the widget's token.
    pub website_token: Option<String>,
    /// For website inboxes, the snippet to paste into the site's pages.
    pub web_widget_script: Option<String>,
    pub website_url: Option<String>,
    pub widget_color: Option<String>,
    pub welcome_title: Option<String>,
    pub welcome_tagline: Option<String>,
    pub reply_time: Option<String>,
    pub allowed_domains: Option<String>,
    pub pre_chat_form_enabled: bool,
    pub webhook_url: Option<String>,
    pub bot_name: Option<String>,
    /// Telegram: the bot's username (Parley's field).
    pub bot_username: Option<String>,
    pub email: Option<String>,
    pub provider: Option<String>,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: bool,
    /// Chatwoot's per-inbox assignment limits; Parley has none, so always `{}`.
    #[schema(value_type = Object)]
    pub auto_assignment_config: Value,
    pub working_hours_enabled: bool,
    pub timezone: String,
    pub out_of_office_message: Option<String>,
    pub hmac_mandatory: bool,
    /// The secret for HMAC-verified visitor identity; shown to administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmac_token: Option<String>,
    pub csat_survey_enabled: bool,
    pub enable_email_collect: bool,
    pub allow_messages_after_resolved: bool,
    pub lock_to_single_conversation: bool,
    /// Opening hours per day of the week (used when `working_hours_enabled`).
    pub working_hours: Vec<WorkingDay>,
    /// Team of new conversations that do not name one.
    pub default_team_id: Option<i64>,
    /// Minutes an assigned agent may leave a customer unanswered before the conversation
    /// goes to someone else; null: never.
    pub reassign_after_minutes: Option<u32>,
    /// Dates (`YYYY-MM-DD`) when the inbox is closed all day.
    pub holidays: Vec<String>,
    /// Managers e-mailed about questions that arrive outside working hours.
    pub offhours_notify_emails: Vec<String>,
    /// One hourly e-mail listing the off-hours questions instead of one per question.
    pub offhours_digest: bool,
    /// Response standards: reply targets per priority.
    pub sla_policy: Option<SlaPolicyConfig>,
    /// The language of Parley's texts in this inbox (`ru`, `en`); null: the account's.
    pub locale: Option<String>,
    /// Non-secret channel options as stored (secrets such as bot tokens and mail
    /// passwords are never returned).
    pub channel_settings: Value,
    /// E-mail and Telegram inboxes: whether the server reaches the provider (Parley's
    /// field); `null` for other channels.
    pub connection_status: Option<ConnectionStatusView>,
}

/// `connection_status` of an inbox view (e-mail and Telegram inboxes).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ConnectionStatusView {
    /// `not_configured` (no IMAP settings: the inbox does not receive), `connecting`
    /// (nothing reported yet), `connected` or `error`.
    pub state: String,
    /// The failure's stable code (`login_rejected`, `host_not_found`, `invalid_token`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The failure in the account's language, with the server's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Since when this state holds, epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// Escapes text for an HTML attribute value.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders an inbox for a caller: `hmac_token` (the secret of HMAC-verified visitor
/// identity) only for administrators, and never a channel secret (bot tokens, mail
/// passwords).
pub fn inbox_view(i: &InboxRow, public_url: &str, ctx: &AccountCtx) -> InboxView {
    let settings = InboxSettings::of(i);
    let channel = i.channel();
    let is_widget = channel == Some(ChannelType::WebWidget);
    let base = public_url.trim_end_matches('/');
    let script = is_widget.then(|| {
        format!(
            "<script async src=\"{}/widget/loader.js\" data-parley-token=\"{}\"></script>",
            attr(base),
            attr(&i.identifier)
        )
    });
    let visible: Map<String, Value> = settings
        .raw()
        .iter()
        .filter(|(k, _)| {
            *k != "working_hours"
                && !ROUTING_KEYS.contains(&k.as_str())
                && !TEXT_KEYS.contains(&k.as_str())
                && !channel.is_some_and(|c| is_secret_setting(c, k))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let InboxSettings {
        channel: ch,
        flags,
        working_hours,
        routing,
        texts,
        ..
    } = settings;
    InboxView {
        id: i.id,
        account_id: i.account_id,
        channel_id: i.id,
        name: i.name.clone(),
        channel_type: i.channel_type.clone(),
        avatar_url: i.avatar_url.clone().unwrap_or_default(),
        inbox_identifier: i.identifier.clone(),
        website_token: is_widget.then(|| i.identifier.clone()),
        web_widget_script: script,
        website_url: ch.website_url,
        widget_color: ch.widget_color,
        welcome_title: ch.welcome_title,
        welcome_tagline: ch.welcome_tagline,
        reply_time: ch.reply_time,
        allowed_domains: ch.allowed_domains,
        pre_chat_form_enabled: ch.pre_chat_form_enabled,
        webhook_url: ch.webhook_url,
        bot_name: ch.bot_name,
        bot_username: ch.bot_username,
        email: ch.email,
        provider: ch.provider,
        greeting_enabled: i.greeting_enabled != 0,
        greeting_message: i.greeting_message.clone(),
        enable_auto_assignment: i.enable_auto_assignment != 0,
        auto_assignment_config: Value::Object(Map::new()),
        working_hours_enabled: i.working_hours_enabled != 0,
        timezone: i.timezone.clone(),
        out_of_office_message: i.out_of_office_message.clone(),
        hmac_mandatory: i.hmac_mandatory != 0,
        hmac_token: (ctx.role == Role::Administrator).then(|| i.hmac_token.clone()),
        csat_survey_enabled: flags.csat_survey_enabled,
        enable_email_collect: flags.enable_email_collect,
        allow_messages_after_resolved: flags.allow_messages_after_resolved,
        lock_to_single_conversation: flags.lock_to_single_conversation,
        working_hours,
        default_team_id: routing.default_team_id,
        reassign_after_minutes: routing.reassign_after_minutes,
        holidays: routing.holidays,
        offhours_notify_emails: routing.offhours_notify_emails,
        offhours_digest: routing.offhours_digest,
        sla_policy: routing.sla_policy,
        locale: texts.locale.map(|l| l.as_str().to_string()),
        channel_settings: Value::Object(visible),
        connection_status: None,
    }
}
