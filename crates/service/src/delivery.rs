//! The outbox: how an agent's reply on an external channel (Telegram now, e-mail next)
//! reaches the provider, and how the provider's answer becomes the message's status.
//!
//! An outgoing public message in such an inbox is stored as `progress` with a durable
//! `deliver` job scheduled in the same transaction (see `parley_store::channels`). The job
//! runner claims the job on one node, hands the message to the channel's
//! [`ChannelProvider`], and records the outcome: `sent` with the provider's message id in
//! `content_attributes.external_id`, or `failed` with the reason in `external_error` (and
//! `content_attributes.external_error`). Transient failures (rate limits, outages) are
//! retried with backoff, honouring the provider's `retry_after`. Every status change
//! publishes `message.updated`. Providers are registered by the binary at startup, so this
//! crate does not depend on the channel adapters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use parley_core::ChannelType;
use parley_core::texts::Lang;
use parley_store::channels::DeliveryUpdate;
use parley_store::inboxes::InboxRow;
use parley_store::jobs::JobRow;
use serde_json::{Map, Value};

use crate::jobs::JobOutcome;
use crate::{Result, ServiceError, Services};

/// Attempts of one delivery before a transient failure is reported as `failed`.
pub const MAX_DELIVERY_ATTEMPTS: i64 = 12;
/// Longest wait between two attempts without a provider's `retry_after`.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Provider ids of a thread handed to a provider (an e-mail's `References` keeps the first
/// and the last ones anyway).
const MAX_THREAD_IDS: i64 = 50;
/// Messages looked at, before an outgoing one, for the customer's message it quotes.
const QUOTE_LOOKBACK: i64 = 20;

/// What [`Services::thread_context`] finds.
struct ThreadContext {
    thread: Vec<String>,
    quoted: Option<QuotedMessage>,
}

/// An attachment of an outgoing message, as a file on this node's disk.
#[derive(Debug, Clone)]
pub struct OutgoingAttachment {
    pub file_name: String,
    pub content_type: String,
    pub path: PathBuf,
}

/// What a provider needs to deliver one message.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Parley's message id (for logs and idempotency keys).
    pub message_id: i64,
    pub inbox_id: i64,
    /// The inbox's channel settings, secrets included.
    pub settings: Map<String, Value>,
    /// The contact's id on the channel (Telegram chat id, e-mail address).
    pub recipient: String,
    pub content: Option<String>,
    pub attachments: Vec<OutgoingAttachment>,
    /// The provider's id of the message this one answers, if any.
    pub in_reply_to: Option<String>,
    /// Provider ids of the parts an earlier attempt already delivered (a long text split
    /// in several messages): the provider skips that many parts, so nothing is sent twice.
    pub accepted: Vec<String>,
    /// The conversation (an e-mail reply address names it).
    pub conversation_id: i64,
    /// The conversation's `additional_attributes` (an e-mail thread's `mail_subject`).
    pub conversation_attributes: Map<String, Value>,
    /// Who sends it, as the customer should see it: the agent's name, `None` for Parley's
    /// own automatic messages.
    pub sender_name: Option<String>,
    /// True for Parley's automatic messages (off-hours replies): marked so other robots
    /// do not answer them.
    pub automatic: bool,
    /// Provider ids (e-mail Message-IDs) of the conversation's earlier messages, oldest
    /// first: what an e-mail's `References` lists.
    pub thread: Vec<String>,
    /// The customer's last message before this one, quoted below an e-mail reply.
    pub quoted: Option<QuotedMessage>,
    /// The inbox's own stored secret (its HMAC token): channels derive from it what must
    /// stay unguessable, such as an e-mail reply address's conversation token.
    pub inbox_secret: String,
    /// The language of the words a channel adds itself (a quote's attribution line).
    pub lang: Lang,
}

/// Parley's own letter about a conversation, sent through a channel inbox
/// ([`ChannelProvider::send_notice`]).
#[derive(Debug, Clone)]
pub struct Notice {
    /// The conversation it is about (possibly of another inbox of the same account): the
    /// answer comes back into it.
    pub conversation_id: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub lang: Lang,
}

/// An earlier message of the customer, as a reply quotes it.
#[derive(Debug, Clone)]
pub struct QuotedMessage {
    /// The customer's name or address.
    pub author: String,
    /// When it was written, epoch milliseconds.
    pub at_ms: i64,
    pub text: String,
}

/// The provider accepted the message: its ids, one per part sent.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    pub external_ids: Vec<String>,
}

/// Why a delivery did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// Another attempt cannot succeed (bot blocked by the user, chat not found, bad token).
    #[error("{reason}")]
    Permanent {
        reason: String,
        /// Parts delivered before the failure.
        accepted: Vec<String>,
    },
    /// Try again later (rate limit, outage, network); after `retry_after` when the
    /// provider said so.
    #[error("{reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
        accepted: Vec<String>,
    },
}

impl DeliveryError {
    /// A permanent failure with nothing delivered.
    pub fn permanent(reason: impl Into<String>) -> Self {
        DeliveryError::Permanent {
            reason: reason.into(),
            accepted: Vec::new(),
        }
    }

    /// A transient failure with nothing delivered.
    pub fn transient(reason: impl Into<String>, retry_after: Option<Duration>) -> Self {
        DeliveryError::Transient {
            reason: reason.into(),
            retry_after,
            accepted: Vec::new(),
        }
    }

    /// The same failure with the parts delivered before it.
    pub fn with_accepted(self, parts: Vec<String>) -> Self {
        match self {
            DeliveryError::Permanent { reason, .. } => DeliveryError::Permanent {
                reason,
                accepted: parts,
            },
            DeliveryError::Transient {
                reason,
                retry_after,
                ..
            } => DeliveryError::Transient {
                reason,
                retry_after,
                accepted: parts,
            },
        }
    }
}

/// A failed connection check: the step that failed (`token`, `network`, `webhook`…), a
/// stable code and the provider's or the system's words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{step}: {code}: {detail}")]
pub struct ProbeFailure {
    pub step: &'static str,
    pub code: &'static str,
    pub detail: String,
    /// The provider's own sentence for this failure, when it has one (the e-mail
    /// checks' "the login or password was rejected…"); otherwise [`probe_text`] words it.
    pub texts: Option<ProbeTexts>,
}

/// A failure's sentence for a manager in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTexts {
    pub en: &'static str,
    pub ru: &'static str,
}

impl ProbeTexts {
    /// The sentence in `lang`.
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ru => self.ru,
            Lang::En => self.en,
        }
    }
}

/// One channel's provider: delivery, typing, the connection check and inbound webhooks.
pub trait ChannelProvider: Send + Sync + 'static {
    /// The channel type it serves.
    fn channel(&self) -> ChannelType;

    /// Delivers one message.
    fn deliver<'a>(
        &'a self,
        m: &'a OutgoingMessage,
    ) -> BoxFuture<'a, std::result::Result<Receipt, DeliveryError>>;

    /// Shows "typing…" to the contact (best effort, errors are only logged).
    fn typing<'a>(
        &'a self,
        settings: &'a Map<String, Value>,
        recipient: &'a str,
    ) -> BoxFuture<'a, ()>;

    /// Checks channel settings before an inbox is created or changed; returns settings to
    /// store with them (the bot's name and username).
    fn test_connection<'a>(
        &'a self,
        settings: &'a Map<String, Value>,
    ) -> BoxFuture<'a, std::result::Result<Map<String, Value>, ProbeFailure>>;

    /// Whether an inbox with these settings receives anything, so its runtime runs (an
    /// e-mail inbox needs its IMAP settings); otherwise its connection state is
    /// `not_configured`.
    fn receives(&self, settings: &Map<String, Value>) -> bool {
        let _ = settings;
        true
    }

    /// Whether this inbox can send Parley's own letters about a conversation
    /// ([`ChannelProvider::send_notice`]): an e-mail inbox with SMTP settings.
    fn sends_notices(&self, settings: &Map<String, Value>) -> bool {
        let _ = settings;
        false
    }

    /// Sends Parley's own letter about a conversation (the replies a website visitor did
    /// not see) through this inbox, with a reply address that brings the answer back
    /// into that conversation.
    fn send_notice<'a>(
        &'a self,
        inbox: &'a InboxRow,
        notice: &'a Notice,
    ) -> BoxFuture<'a, std::result::Result<(), DeliveryError>> {
        let _ = (inbox, notice);
        Box::pin(async { Err(DeliveryError::permanent("this channel sends no notices")) })
    }

    /// Whether saving an inbox waits for [`ChannelProvider::test_connection`] to pass.
    /// Telegram's check is one quick call; a mail host may be briefly unreachable, so
    /// e-mail settings are saved as given and the runtime reports the connection state.
    fn checks_on_save(&self) -> bool {
        true
    }

    /// Handles a webhook call of the provider for `inbox` (already authenticated).
    fn webhook<'a>(
        &'a self,
        svc: &'a Services,
        inbox: &'a InboxRow,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<()>>;
}

/// The providers of this server, by channel type.
#[derive(Default)]
pub struct Providers {
    by_type: RwLock<HashMap<ChannelType, Arc<dyn ChannelProvider>>>,
}

impl Providers {
    /// Registers (or replaces) the provider of its channel type.
    pub fn register(&self, p: Arc<dyn ChannelProvider>) {
        if let Ok(mut m) = self.by_type.write() {
            m.insert(p.channel(), p);
        }
    }

    /// The provider of a channel type, if this server has one.
    pub fn get(&self, t: ChannelType) -> Option<Arc<dyn ChannelProvider>> {
        self.by_type.read().ok().and_then(|m| m.get(&t).cloned())
    }
}

/// The answer of `POST …/inboxes/test_connection`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ConnectionCheck {
    /// Whether every step passed.
    pub ok: bool,
    /// The step that failed (`token`, `network`, `channel`), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Stable code of the failure (`invalid_token`, `unreachable`, `unsupported`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The failure in the account's language (Russian or English), with the provider's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the check learned (the bot's `bot_name` and `bot_username`).
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

/// A probe failure in words, in `lang`.
pub fn probe_text(lang: Lang, f: &ProbeFailure) -> String {
    let what = probe_text_only(lang, f);
    if f.detail.is_empty() {
        what
    } else if what.ends_with(['.', '!']) {
        // A whole sentence ("… Check the address and the port."): the server's words
        // follow in brackets rather than after a colon.
        format!("{what} ({})", f.detail)
    } else {
        format!("{what}: {}", f.detail)
    }
}

/// A probe failure's sentence in `lang`, without the provider's words.
pub fn probe_text_only(lang: Lang, f: &ProbeFailure) -> String {
    let what = match (lang, f.code) {
        _ if f.texts.is_some() => f.texts.map_or("", |t| t.get(lang)),
        (Lang::Ru, "invalid_token") => "Telegram не принял токен бота",
        (Lang::En, "invalid_token") => "Telegram did not accept the bot token",
        (Lang::Ru, "unreachable") => "Не удалось связаться с Telegram",
        (Lang::En, "unreachable") => "Telegram could not be reached",
        (Lang::Ru, "webhook") => "Telegram не принял адрес вебхука",
        (Lang::En, "webhook") => "Telegram did not accept the webhook address",
        (Lang::Ru, "unsupported") => "Этот тип канала пока не работает на этом сервере",
        (Lang::En, "unsupported") => "This channel type does not work on this server yet",
        (Lang::Ru, _) => "Проверка подключения не прошла",
        (Lang::En, _) => "The connection check failed",
    };
    what.to_string()
}

/// A stored JSON object (content attributes); anything unreadable reads as empty.
fn json_obj(s: &str) -> Value {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

/// Exponential backoff of attempt `n` (1-based): 1 s, 2 s, 4 s … up to 5 minutes.
fn backoff(attempt: i64) -> Duration {
    let secs = 1u64 << attempt.clamp(1, 20).saturating_sub(1);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

impl Services {
    /// The account's language for texts addressed to its administrators.
    pub(crate) async fn account_lang(&self, account_id: i64) -> Lang {
        match self.store.account(account_id).await {
            Ok(a) => Lang::of_locale(&a.locale),
            Err(_) => Lang::En,
        }
    }

    /// Shows the agent's typing to the contact on channels that can (Telegram's "typing…"),
    /// in the background.
    pub(crate) fn channel_typing(&self, conversation_id: i64, inbox_id: i64) {
        let svc = self.clone();
        let work = async move {
            let Ok(Some(inbox)) = svc.store.inbox_by_id(inbox_id).await else {
                return;
            };
            let Some(p) = inbox.channel().and_then(|t| svc.providers.get(t)) else {
                return;
            };
            let Ok(Some(recipient)) = svc.store.conversation_recipient(conversation_id).await
            else {
                return;
            };
            p.typing(&inbox.settings_map(), &recipient).await;
        };
        tokio::spawn(work);
    }

    /// Runs one claimed `deliver` job: hands the message to its provider and records the
    /// outcome; finishes the job or schedules its next attempt itself.
    pub(crate) async fn run_delivery(&self, job: &JobRow) -> Result<JobOutcome> {
        let message_id = serde_json::from_str::<Value>(&job.payload)
            .ok()
            .and_then(|p| p.get("message_id").and_then(Value::as_i64))
            .ok_or_else(|| ServiceError::Internal("deliver job without message_id".into()))?;
        let Some(m) = self.store.message_by_id(message_id).await? else {
            // The message (or its conversation) was deleted meanwhile.
            return Ok(JobOutcome::Done);
        };
        if m.message.status != "progress" {
            return Ok(JobOutcome::Done);
        }
        let conv = self
            .store
            .conversation_by_id(m.message.conversation_id)
            .await?
            .ok_or(ServiceError::NotFound("conversation"))?;
        let mut attrs = json_obj(&m.message.content_attributes);
        let accepted: Vec<String> = attrs
            .get("external_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let outcome = match self.outgoing(&m, &conv, accepted).await {
            Ok((p, out)) => p.deliver(&out).await,
            Err(reason) => Err(DeliveryError::permanent(reason)),
        };
        let set = |attrs: &mut Value, k: &str, v: Value| {
            if let Value::Object(map) = attrs {
                map.insert(k.to_string(), v);
            }
        };
        let update = match outcome {
            Ok(receipt) => {
                let first = receipt.external_ids.first().cloned();
                set(
                    &mut attrs,
                    "external_id",
                    first.clone().map_or(Value::Null, Value::from),
                );
                set(
                    &mut attrs,
                    "external_ids",
                    Value::from(receipt.external_ids),
                );
                if let Value::Object(map) = &mut attrs {
                    map.remove("external_error");
                }
                metrics::counter!("parley_channel_deliveries_total", "outcome" => "sent")
                    .increment(1);
                DeliveryUpdate {
                    status: "sent".into(),
                    content_attributes: attrs.to_string(),
                    external_error: None,
                    source_id: first,
                }
            }
            Err(DeliveryError::Transient {
                reason,
                retry_after,
                accepted,
            }) if job.attempts < MAX_DELIVERY_ATTEMPTS => {
                let wait = retry_after.unwrap_or_else(|| backoff(job.attempts));
                tracing::warn!(message = message_id, attempt = job.attempts, error = %reason, wait_ms = wait.as_millis() as u64, "delivery failed; will retry");
                metrics::counter!("parley_channel_deliveries_total", "outcome" => "retry")
                    .increment(1);
                if !accepted.is_empty() {
                    set(&mut attrs, "external_ids", Value::from(accepted));
                    self.store
                        .set_message_delivery(
                            message_id,
                            &DeliveryUpdate {
                                status: "progress".into(),
                                content_attributes: attrs.to_string(),
                                external_error: None,
                                source_id: None,
                            },
                        )
                        .await?;
                }
                let at = self.store.now() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                return Ok(JobOutcome::RetryAt { at, reason });
            }
            Err(e) => {
                let (reason, accepted) = match e {
                    DeliveryError::Permanent { reason, accepted } => (reason, accepted),
                    DeliveryError::Transient {
                        reason, accepted, ..
                    } => (
                        format!("gave up after {} attempts: {reason}", job.attempts),
                        accepted,
                    ),
                };
                tracing::warn!(message = message_id, error = %reason, "delivery failed");
                metrics::counter!("parley_channel_deliveries_total", "outcome" => "failed")
                    .increment(1);
                let reason: String = reason.chars().take(1000).collect();
                set(&mut attrs, "external_error", Value::from(reason.clone()));
                if !accepted.is_empty() {
                    set(&mut attrs, "external_ids", Value::from(accepted));
                }
                DeliveryUpdate {
                    status: "failed".into(),
                    content_attributes: attrs.to_string(),
                    external_error: Some(reason),
                    source_id: None,
                }
            }
        };
        self.store.set_message_delivery(message_id, &update).await?;
        if let Err(e) = self.publish_updated(&conv, message_id).await {
            tracing::warn!(message = message_id, error = %e, "message.updated after delivery failed");
        }
        Ok(JobOutcome::Done)
    }

    /// The provider and the message as it needs it; `Err` with the reason the message
    /// cannot be delivered at all.
    async fn outgoing(
        &self,
        m: &parley_store::messages::MessageWithAttachments,
        conv: &parley_store::conversations::ConversationRow,
        accepted: Vec<String>,
    ) -> std::result::Result<(Arc<dyn ChannelProvider>, OutgoingMessage), String> {
        let inbox = self
            .store
            .inbox_by_id(conv.inbox_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the inbox was deleted")?;
        let t = inbox.channel().ok_or("unknown channel type")?;
        let p = self
            .providers
            .get(t)
            .ok_or_else(|| format!("{} delivery is not available on this server", t.short()))?;
        let recipient = self
            .store
            .conversation_recipient(conv.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the contact has no identity in this inbox")?;
        let in_reply_to = match json_obj(&m.message.content_attributes)
            .get("in_reply_to")
            .and_then(Value::as_i64)
        {
            Some(id) => self
                .store
                .message(conv.id, id)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.message.source_id),
            None => None,
        };
        let mut attachments = Vec::with_capacity(m.attachments.len());
        for a in &m.attachments {
            attachments.push(OutgoingAttachment {
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                path: self
                    .attachment_path(&a.storage_key)
                    .map_err(|e| e.to_string())?,
            });
        }
        let context = self
            .thread_context(m, conv)
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            p,
            OutgoingMessage {
                message_id: m.message.id,
                inbox_id: inbox.id,
                settings: inbox.settings_map(),
                recipient,
                content: m.message.content.clone(),
                attachments,
                in_reply_to,
                accepted,
                conversation_id: conv.id,
                conversation_attributes: json_obj(&conv.additional_attributes)
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                sender_name: (m.message.sender_type.as_deref() == Some("User"))
                    .then(|| {
                        m.message
                            .sender_display_name
                            .clone()
                            .filter(|n| !n.trim().is_empty())
                            .or(m.message.sender_name.clone())
                    })
                    .flatten(),
                automatic: m.message.sender_type.as_deref() != Some("User"),
                thread: context.thread,
                quoted: context.quoted,
                inbox_secret: inbox.hmac_token.clone(),
                lang: self.account_lang(inbox.account_id).await,
            },
        ))
    }

    /// The earlier messages an outgoing one answers: the provider ids of the thread and
    /// the customer's last message before it.
    async fn thread_context(
        &self,
        m: &parley_store::messages::MessageWithAttachments,
        conv: &parley_store::conversations::ConversationRow,
    ) -> Result<ThreadContext> {
        let mut thread = self
            .store
            .conversation_source_ids(conv.id, MAX_THREAD_IDS)
            .await?;
        if let Some(own) = &m.message.source_id {
            thread.retain(|id| id != own);
        }
        let earlier = self
            .store
            .messages_page(conv.id, Some(m.message.id), None, QUOTE_LOOKBACK, true)
            .await?;
        let quoted = earlier
            .iter()
            .rev()
            .find(|e| e.message.message_type == parley_core::MessageType::Incoming.code())
            .and_then(|e| {
                let text = e.message.content.clone()?;
                Some(QuotedMessage {
                    author: e
                        .message
                        .sender_name
                        .clone()
                        .or(e.message.sender_email.clone())
                        .unwrap_or_default(),
                    at_ms: e.message.created_at,
                    text,
                })
            });
        Ok(ThreadContext { thread, quoted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_text_joins_the_servers_words_without_doubled_punctuation() {
        let sentence = ProbeFailure {
            step: "imap",
            code: "connection_refused",
            detail: "connecting to 127.0.0.1:1".into(),
            texts: Some(ProbeTexts {
                en: "The server refused the connection. Check the port.",
                ru: "Сервер отказал в соединении. Проверьте порт.",
            }),
        };
        assert_eq!(
            probe_text(Lang::En, &sentence),
            "The server refused the connection. Check the port. (connecting to 127.0.0.1:1)"
        );
        assert_eq!(
            probe_text(Lang::Ru, &sentence),
            "Сервер отказал в соединении. Проверьте порт. (connecting to 127.0.0.1:1)"
        );
        let phrase = ProbeFailure {
            step: "token",
            code: "invalid_token",
            detail: "Unauthorized".into(),
            texts: None,
        };
        assert_eq!(
            probe_text(Lang::En, &phrase),
            "Telegram did not accept the bot token: Unauthorized"
        );
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
