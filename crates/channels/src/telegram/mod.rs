//! The Telegram bot channel (Chatwoot's `channel: {"type": "telegram", "bot_token": …}`).
//!
//! | Module | Holds |
//! |---|---|
//! | `types` | The Bot API's JSON shapes Parley reads. |
//! | `api` | The Bot API client (getMe, getUpdates, sendMessage, sendPhoto, sendDocument, sendChatAction, getFile and downloads, setWebhook, deleteWebhook). |
//! | `inbound` | Updates into the service's ingest call. |
//! | `outbound` | Replies out: text split at 4,096 UTF-16 units, photos and documents, errors as permanent or transient. |
//! | `runtime` | One task per bot: long polling under a cluster-wide lease, or the webhook. |
//!
//! [`install`] registers the provider with the service (the outbox delivers through it,
//! inbox creation checks tokens with it) and starts the runtime.

mod api;
mod inbound;
pub mod outbound;
mod runtime;
mod types;

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use parley_core::ChannelType;
use parley_service::Services;
use parley_service::delivery::{
    ChannelProvider, DeliveryError, OutgoingMessage, ProbeFailure, Receipt,
};
use parley_service::inboxes::InboxRow;
use serde_json::{Map, Value, json};

pub use api::{ApiError, BotApi};

/// Settings of the Telegram channel, from the server's configuration.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// The Bot API's base URL (`telegram_api_url`, https://api.telegram.org by default).
    pub api_url: String,
    /// How long one `getUpdates` waits for updates (`telegram_poll_timeout_secs`).
    pub poll_timeout: Duration,
    /// The server's public URL; webhook mode when it is https.
    pub public_url: String,
}

impl TelegramConfig {
    /// The webhook address of an inbox when the public URL is https, else `None` (polling).
    pub fn webhook_url(&self, inbox_id: i64) -> Option<String> {
        self.public_url.starts_with("https://").then(|| {
            format!(
                "{}/webhooks/telegram/{inbox_id}",
                self.public_url.trim_end_matches('/')
            )
        })
    }
}

/// The Telegram provider.
pub struct Telegram {
    api: BotApi,
}

/// The bot token of an inbox's settings.
fn token_of(settings: &Map<String, Value>) -> Option<&str> {
    settings
        .get("bot_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

impl Telegram {
    pub fn new(cfg: &TelegramConfig) -> Result<Self, ApiError> {
        Ok(Self {
            api: BotApi::new(&cfg.api_url, Duration::from_secs(30))?,
        })
    }
}

impl ChannelProvider for Telegram {
    fn channel(&self) -> ChannelType {
        ChannelType::Telegram
    }

    fn deliver<'a>(
        &'a self,
        m: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Receipt, DeliveryError>> {
        async move {
            let token = token_of(&m.settings)
                .ok_or_else(|| DeliveryError::permanent("the inbox has no bot token"))?;
            outbound::deliver(&self.api, token, m).await
        }
        .boxed()
    }

    fn typing<'a>(
        &'a self,
        settings: &'a Map<String, Value>,
        recipient: &'a str,
    ) -> BoxFuture<'a, ()> {
        async move {
            if let Some(token) = token_of(settings)
                && let Err(e) = self.api.typing(token, recipient).await
            {
                tracing::debug!(error = %e, "Telegram typing action failed");
            }
        }
        .boxed()
    }

    fn test_connection<'a>(
        &'a self,
        settings: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Map<String, Value>, ProbeFailure>> {
        async move {
            let token = token_of(settings).ok_or(ProbeFailure {
                step: "token",
                code: "invalid_token",
                detail: "no bot token".into(),
                texts: None,
            })?;
            // A token is `<bot id>:<secret>`; anything else never reaches Telegram.
            let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty()
                    && id.chars().all(|c| c.is_ascii_digit())
                    && !secret.is_empty()
                    && secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
            if !well_formed {
                return Err(ProbeFailure {
                    step: "token",
                    code: "invalid_token",
                    detail: "a bot token looks like 123456789:AAH…".into(),
                    texts: None,
                });
            }
            let me = self.api.get_me(token).await.map_err(|e| match e {
                ApiError::Refused { description, .. } => ProbeFailure {
                    step: "token",
                    code: "invalid_token",
                    detail: description,
                    texts: None,
                },
                other => ProbeFailure {
                    step: "network",
                    code: "unreachable",
                    detail: other.to_string(),
                    texts: None,
                },
            })?;
            let mut out = Map::new();
            let name = [Some(me.first_name.as_str()), me.last_name.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            out.insert("bot_name".into(), json!(name));
            out.insert(
                "bot_username".into(),
                me.username.map_or(Value::Null, Value::from),
            );
            if !settings.contains_key("webhook_secret") {
                out.insert("webhook_secret".into(), json!(parley_store_token()));
            }
            Ok(out)
        }
        .boxed()
    }

    fn webhook<'a>(
        &'a self,
        svc: &'a Services,
        inbox: &'a InboxRow,
        body: &'a [u8],
    ) -> BoxFuture<'a, parley_service::Result<()>> {
        async move {
            let update: types::Update = serde_json::from_slice(body).map_err(|e| {
                parley_service::ServiceError::BadRequest(format!("not a Telegram update: {e}"))
            })?;
            let settings = inbox.settings_map();
            let token = token_of(&settings).unwrap_or_default();
            inbound::handle_update(svc, &self.api, inbox, token, update, None).await?;
            Ok(())
        }
        .boxed()
    }
}

/// A random secret for the webhook (letters and digits, as Telegram allows).
fn parley_store_token() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..48)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// Registers the Telegram provider with `svc` and starts the runtime that polls (or
/// registers webhooks for) every Telegram inbox. The returned task owns every bot's task;
/// aborting it stops them all.
pub fn install(
    svc: &Services,
    cfg: TelegramConfig,
) -> Result<tokio::task::JoinHandle<()>, ApiError> {
    let provider = Arc::new(Telegram::new(&cfg)?);
    svc.providers.register(provider.clone());
    Ok(tokio::spawn(runtime::run(
        svc.clone(),
        provider.api.clone(),
        cfg,
    )))
}
