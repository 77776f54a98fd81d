//! Agent bots as the API shows them: Chatwoot's fields (`id`, `name`, `description`,
//! `outgoing_url`, `bot_type`, `bot_config`, `thumbnail`, `account_id`, `access_token`)
//! and Parley's (the signing secret of `outgoing_url`, the inboxes the bot handles).

use parley_core::bot::BotConfig;
use parley_store::agent_bots::AgentBotRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::secs;

/// A bot, as administrators see it.
#[derive(Serialize, ToSchema, Debug)]
pub struct AgentBotView {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Where the bot's inbox events are posted (signed like webhooks); `null` for a
    /// built-in bot without one.
    pub outgoing_url: Option<String>,
    pub thumbnail: String,
    pub avatar_url: String,
    /// `webhook` (an external service) or `builtin` (Parley's own bot).
    pub bot_type: String,
    /// `handoff_words`, `answer_from_canned`, `offhours_info`, `collect_contact`.
    #[schema(value_type = Object)]
    pub bot_config: BotConfig,
    /// The bot's API token: only in the answer of its creation and of
    /// `reset_access_token` (it is stored hashed), `null` otherwise.
    pub access_token: Option<String>,
    /// The HMAC-SHA256 key of `X-Parley-Signature` on requests to `outgoing_url`.
    pub secret: String,
    /// The inboxes whose new conversations the bot handles.
    pub inbox_ids: Vec<i64>,
    pub system_bot: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Renders a bot; `token` only right after it was made.
pub fn agent_bot_view(b: &AgentBotRow, inbox_ids: Vec<i64>, token: Option<String>) -> AgentBotView {
    let avatar = b.avatar_url.clone().unwrap_or_default();
    AgentBotView {
        id: b.id,
        account_id: b.account_id,
        name: b.name.clone(),
        description: b.description.clone(),
        outgoing_url: b.outgoing_url.clone(),
        thumbnail: avatar.clone(),
        avatar_url: avatar,
        bot_type: b.bot_type.clone(),
        bot_config: BotConfig::parse(&b.bot_config),
        access_token: token,
        secret: b.secret.clone(),
        inbox_ids,
        system_bot: false,
        created_at: secs(b.created_at),
        updated_at: secs(b.updated_at),
    }
}
