//! Outgoing webhooks: the account's webhooks (Chatwoot's `/webhooks` API) and the API
//! channel's `webhook_url`, delivered by one machine (docs/webhooks.md).
//!
//! - **Never lost.** Each receiver follows the account's event log with a cursor of its own
//!   (`parley_store::webhooks`): the dispatcher stores a delivery row per subscribed event
//!   and moves the cursor in one transaction. A committed event is delivered even after a
//!   crash; the message path pays nothing.
//! - **Delivery.** Rows are claimed with a lease on any node, oldest first, and a
//!   conversation's next delivery waits until the previous one is delivered or given up.
//!   Each request is signed (HMAC-SHA256 over `timestamp.body`), bounded in time and in
//!   the answer read. Failures are retried with exponential backoff and jitter for
//!   `retry_window` (24 h); a receiver failing `pause_after_failures` times in a row is
//!   paused and its administrators are told by e-mail; resuming is explicit.
//! - **SSRF.** A URL whose host resolves to a loopback, private, link-local, CGNAT,
//!   unspecified or multicast address is refused at save time and at delivery time (the
//!   HTTP client resolves through [`GuardedResolver`] and connects to the checked
//!   addresses only), unless `allow_private_webhook_targets` is on.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use parley_core::texts::Lang;
use parley_core::validate::FieldError;
use parley_store::channels::DeliveryUpdate;
use parley_store::events::{EventRow, EventScope};
use parley_store::webhooks::{Attempt, AttemptEnd, ClaimedDelivery, NewDelivery, WebhookPatch};
/// The records these use cases return.
pub use parley_store::webhooks::{DeliveryRow, WebhookRow};
use rand::Rng;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tracing::Instrument;

use crate::http_client::{HttpClient, Request};
use crate::mail::Email;
use crate::{AccountCtx, Result, ServiceError, Services};

/// Every event name Chatwoot's webhooks know, all of them delivered; a subscription must
/// be one of these.
pub const EVENTS: &[&str] = &[
    "conversation_created",
    "conversation_updated",
    "conversation_status_changed",
    "message_created",
    "message_updated",
    "contact_created",
    "contact_updated",
    "webwidget_triggered",
    "conversation_typing_on",
    "conversation_typing_off",
    "inbox_created",
    "inbox_updated",
];

/// Webhooks one account may have.
pub const MAX_WEBHOOKS_PER_ACCOUNT: usize = 20;
/// Longest webhook URL.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest webhook name.
pub const MAX_NAME_CHARS: usize = 255;
/// Bytes of a receiver's answer kept in the delivery log.
pub const RESPONSE_SNIPPET_BYTES: usize = 4096;
/// Deliveries per page of the log.
pub const LOG_PAGE: i64 = 25;
/// Events read per receiver per dispatch round.
const DISPATCH_PAGE: i64 = 200;
/// Deliveries claimed (and sent at once) per round: one per conversation and receiver at
/// a time, so this is also how many conversations' backlogs move together.
const CLAIM_BATCH: i64 = 64;
/// How long a claimed delivery is reserved for its node (well above the request timeout).
const LEASE_MS: i64 = 120_000;

/// How webhooks are delivered: the server's settings and the retry policy.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Allow targets on loopback, private, link-local… addresses
    /// (`allow_private_webhook_targets`).
    pub allow_private_targets: bool,
    /// First wait after a failure; doubled per attempt, with ±25 % jitter.
    pub retry_base_ms: i64,
    /// Longest wait between two attempts.
    pub retry_max_ms: i64,
    /// How long a delivery is retried before it is given up (24 h).
    pub retry_window_ms: i64,
    /// Failed attempts in a row (any delivery of the receiver) that pause it; 0 = never.
    pub pause_after_failures: i64,
    /// Bound of one request, connection included.
    pub request_timeout: Duration,
    /// Finished deliveries are kept this long in the log.
    pub log_retention_ms: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_base_ms: 10_000,
            retry_max_ms: 3_600_000,
            retry_window_ms: 24 * 3_600_000,
            pause_after_failures: 50,
            request_timeout: Duration::from_secs(10),
            log_retention_ms: 7 * 86_400_000,
        }
    }
}

/// Fields of a webhook create or update request; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    /// `Some(None)` or an empty name clears it.
    pub name: Option<Option<String>>,
    pub subscriptions: Option<Vec<String>>,
}

/// A page of a webhook's delivery log.
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRow>,
    /// The `before` of the next page, if there may be one.
    pub next_before: Option<i64>,
}

/// Why an address may not be a webhook target, or `None` when it may.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("unique local (ULA)")
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                // NAT64: the embedded IPv4 address is what is reached.
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                forbidden_v4(v4)
            } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible (deprecated) addresses.
                Some("IPv4-compatible")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private (RFC 1918)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (CGNAT)")
    } else if o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || o[0] >= 240 {
        Some("reserved")
    } else {
        None
    }
}

/// Checks every address a name resolves to; the error names the first forbidden one.
fn check_addrs(
    host: &str,
    addrs: &[SocketAddr],
    allow_private: bool,
) -> std::result::Result<(), String> {
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if allow_private {
        return Ok(());
    }
    for a in addrs {
        if let Some(why) = forbidden_reason(a.ip()) {
            return Err(format!(
                "{host} resolves to {} ({why}), which webhooks may not reach \
                 (allow_private_webhook_targets is off)",
                a.ip()
            ));
        }
    }
    Ok(())
}

/// The HTTP client's resolver: resolves once, refuses the name if any address is
/// forbidden, and hands the client exactly the checked addresses, so there is no second
/// lookup an attacker's DNS could answer differently (DNS rebinding).
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl crate::http_client::Resolve for GuardedResolver {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> futures::future::BoxFuture<'static, std::result::Result<Vec<SocketAddr>, String>> {
        let allow = self.allow_private;
        let host = host.to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("{host} does not resolve: {e}"))?
                .collect();
            check_addrs(&host, &addrs, allow)?;
            Ok(addrs)
        })
    }
}

/// Checks a URL's form: absolute `http(s)`, a host, no credentials, bounded length.
fn parse_url(raw: &str) -> std::result::Result<url::Url, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new("url", "must not be empty"));
    }
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(FieldError::new(
            "url",
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    let u = url::Url::parse(raw)
        .map_err(|_| FieldError::new("url", "must be an absolute http:// or https:// URL"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(FieldError::new(
            "url",
            "must be an absolute http:// or https:// URL",
        ));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(FieldError::new(
            "url",
            "must not carry a user name or password",
        ));
    }
    Ok(u)
}

/// Resolves a URL's host and checks every address (save time).
pub async fn check_target(
    raw: &str,
    allow_private: bool,
) -> std::result::Result<String, FieldError> {
    let u = parse_url(raw)?;
    let host = match u.host() {
        Some(url::Host::Ipv4(ip)) => return check_ip(u.as_str(), IpAddr::V4(ip), allow_private),
        Some(url::Host::Ipv6(ip)) => return check_ip(u.as_str(), IpAddr::V6(ip), allow_private),
        Some(url::Host::Domain(d)) => d.to_string(),
        None => return Err(FieldError::new("url", "must name a host")),
    };
    let port = u.port_or_known_default().unwrap_or(80);
    let lookup = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await;
    let addrs: Vec<SocketAddr> = match lookup {
        Ok(Ok(a)) => a.collect(),
        // A name that does not resolve yet (DNS still being set up) is accepted: every
        // delivery resolves and checks it again, and fails visibly in the log until then.
        Ok(Err(_)) | Err(_) => return Ok(u.to_string()),
    };
    check_addrs(&host, &addrs, allow_private).map_err(|e| FieldError::new("url", e))?;
    Ok(u.to_string())
}

fn check_ip(url: &str, ip: IpAddr, allow_private: bool) -> std::result::Result<String, FieldError> {
    if !allow_private && let Some(why) = forbidden_reason(ip) {
        return Err(FieldError::new(
            "url",
            format!(
                "{ip} is a {why} address, which webhooks may not reach \
                 (allow_private_webhook_targets is off)"
            ),
        ));
    }
    Ok(url.to_string())
}

/// The signature header's value: `sha256=` and the hex HMAC-SHA256 of `timestamp.body`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this branch cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new signing secret.
pub(crate) fn new_secret() -> String {
    format!("whsec_{}", parley_store::random_token(24))
}

/// The Chatwoot webhook name of a stored event, if webhooks carry it.
pub fn webhook_event(name: &str) -> Option<&'static str> {
    Some(match name {
        "message.created" => "message_created",
        "message.updated" => "message_updated",
        "conversation.created" => "conversation_created",
        "conversation.status_changed" => "conversation_status_changed",
        "conversation.updated" | "assignee.changed" | "team.changed" => "conversation_updated",
        "contact.created" => "contact_created",
        "contact.updated" => "contact_updated",
        "inbox.created" => "inbox_created",
        "inbox.updated" => "inbox_updated",
        "webwidget.triggered" => "webwidget_triggered",
        _ => return None,
    })
}

/// The name a bot's `outgoing_url` gets a stored event under, if bots get it: what
/// Chatwoot's `AgentBotListener` sends them. A status change is `conversation_opened` or
/// `conversation_resolved` (no other status is sent); messages only when Chatwoot's
/// `webhook_sendable?` (incoming, outgoing, template: not activity lines); no
/// `conversation_created` / `_updated` / `_status_changed`, contacts or inboxes.
pub fn bot_event(name: &str, payload: &str) -> Option<&'static str> {
    let parsed = || serde_json::from_str::<Value>(payload).unwrap_or(Value::Null);
    match name {
        "message.created" | "message.updated" => {
            let code = parsed().get("message_type").and_then(Value::as_i64);
            if !matches!(code, Some(0 | 1 | 3)) {
                return None;
            }
            Some(if name == "message.created" {
                "message_created"
            } else {
                "message_updated"
            })
        }
        "conversation.status_changed" => match parsed().get("status").and_then(Value::as_str) {
            Some("open") => Some("conversation_opened"),
            Some("resolved") => Some("conversation_resolved"),
            _ => None,
        },
        "webwidget.triggered" => Some("webwidget_triggered"),
        _ => None,
    }
}

fn message_type_name(code: i64) -> &'static str {
    match code {
        0 => "incoming",
        1 => "outgoing",
        2 => "activity",
        3 => "template",
        _ => "unknown",
    }
}

/// `changed_attributes` in Chatwoot's shape for what an event is about. Parley does not
/// record previous values yet, so `previous_value` is null (docs/webhooks.md).
fn changed_attributes(parley_name: &str, obj: &Map<String, Value>) -> Value {
    let keys: &[&str] = match parley_name {
        "conversation.status_changed" => &["status"],
        "assignee.changed" => &["assignee_id"],
        "team.changed" => &["team_id"],
        "conversation.updated" => &["status", "priority", "labels", "custom_attributes"],
        "message.updated" => &["content", "status", "content_attributes"],
        "contact.updated" => &["name", "email", "phone_number", "custom_attributes"],
        "inbox.updated" => &["name"],
        _ => &[],
    };
    let current = |k: &str| -> Value {
        match k {
            "assignee_id" => obj
                .get("meta")
                .and_then(|m| m.get("assignee"))
                .and_then(|a| a.get("id"))
                .cloned()
                .unwrap_or(Value::Null),
            "team_id" => obj
                .get("meta")
                .and_then(|m| m.get("team"))
                .and_then(|a| a.get("id"))
                .cloned()
                .unwrap_or(Value::Null),
            _ => obj.get(k).cloned().unwrap_or(Value::Null),
        }
    };
    Value::Array(
        keys.iter()
            .map(|k| json!({ *k: {"previous_value": null, "current_value": current(k)} }))
            .collect(),
    )
}

/// Names and views a dispatch round looks up once per round.
#[derive(Default)]
struct RenderCache {
    accounts: HashMap<i64, Value>,
    inboxes: HashMap<i64, Value>,
    conversations: HashMap<(i64, i64), Value>,
}

impl Services {
    fn webhook_settings(&self) -> &WebhookSettings {
        &self.config.webhooks
    }

    /// The account's webhooks (administrators).
    pub async fn list_webhooks(&self, ctx: &AccountCtx) -> Result<Vec<WebhookRow>> {
        ctx.require_admin()?;
        Ok(self.store.webhooks(ctx.account_id).await?)
    }

    /// One account webhook (administrators); an inbox's receiver is not one.
    pub async fn webhook(&self, ctx: &AccountCtx, id: i64) -> Result<WebhookRow> {
        ctx.require_admin()?;
        match self.store.webhook(ctx.account_id, id).await? {
            Some(w) if w.inbox_id.is_none() => Ok(w),
            _ => Err(ServiceError::NotFound("webhook")),
        }
    }

    fn check_subscriptions(subs: &[String]) -> Result<String> {
        if subs.is_empty() {
            return Err(FieldError::new("subscriptions", "must name at least one event").into());
        }
        let mut seen = Vec::new();
        for s in subs {
            if !EVENTS.contains(&s.as_str()) {
                return Err(FieldError::new(
                    "subscriptions",
                    format!("unknown event {s:?}; known: {}", EVENTS.join(", ")),
                )
                .into());
            }
            if !seen.contains(s) {
                seen.push(s.clone());
            }
        }
        Ok(serde_json::to_string(&seen).unwrap_or_else(|_| "[]".into()))
    }

    fn check_name(name: Option<&str>) -> Result<Option<String>> {
        match name.map(str::trim) {
            None | Some("") => Ok(None),
            Some(n) if n.chars().count() > MAX_NAME_CHARS => Err(FieldError::new(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            )
            .into()),
            Some(n) => Ok(Some(n.to_string())),
        }
    }

    /// Creates a webhook (administrators): it receives events from now on.
    pub async fn create_webhook(
        &self,
        ctx: &AccountCtx,
        input: WebhookInput,
    ) -> Result<WebhookRow> {
        ctx.require_admin()?;
        let url = input
            .url
            .as_deref()
            .ok_or_else(|| FieldError::new("url", "is required"))?;
        let subs = Self::check_subscriptions(
            input
                .subscriptions
                .as_deref()
                .ok_or_else(|| FieldError::new("subscriptions", "is required"))?,
        )?;
        let name = Self::check_name(input.name.flatten().as_deref())?;
        let url = check_target(url, self.webhook_settings().allow_private_targets).await?;
        if self.store.webhooks(ctx.account_id).await?.len() >= MAX_WEBHOOKS_PER_ACCOUNT {
            return Err(FieldError::new(
                "url",
                format!("an account may have at most {MAX_WEBHOOKS_PER_ACCOUNT} webhooks"),
            )
            .into());
        }
        Ok(self
            .store
            .create_webhook(ctx.account_id, name.as_deref(), &url, &subs, &new_secret())
            .await?)
    }

    /// Changes a webhook's URL, name or subscriptions (administrators).
    pub async fn update_webhook(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: WebhookInput,
    ) -> Result<WebhookRow> {
        self.webhook(ctx, id).await?;
        let subscriptions = match input.subscriptions.as_deref() {
            Some(s) => Some(Self::check_subscriptions(s)?),
            None => None,
        };
        let name = match input.name {
            Some(n) => Some(Self::check_name(n.as_deref())?),
            None => None,
        };
        let url = match input.url.as_deref() {
            Some(u) => Some(check_target(u, self.webhook_settings().allow_private_targets).await?),
            None => None,
        };
        Ok(self
            .store
            .update_webhook(
                ctx.account_id,
                id,
                &WebhookPatch {
                    name,
                    url,
                    subscriptions,
                },
            )
            .await?)
    }

    /// Deletes a webhook and its delivery log (administrators).
    pub async fn delete_webhook(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        self.webhook(ctx, id).await?;
        Ok(self.store.delete_webhook(ctx.account_id, id).await?)
    }

    /// Replaces a webhook's signing secret (administrators); the next request is signed
    /// with the new one.
    pub async fn rotate_webhook_secret(&self, ctx: &AccountCtx, id: i64) -> Result<WebhookRow> {
        self.webhook(ctx, id).await?;
        Ok(self
            .store
            .set_webhook_secret(ctx.account_id, id, &new_secret())
            .await?)
    }

    /// Resumes a paused webhook (administrators): waiting deliveries go out at once.
    pub async fn resume_webhook(&self, ctx: &AccountCtx, id: i64) -> Result<WebhookRow> {
        self.webhook(ctx, id).await?;
        Ok(self.store.resume_webhook(ctx.account_id, id).await?)
    }

    /// A page of a webhook's deliveries, newest first (administrators).
    pub async fn webhook_deliveries(
        &self,
        ctx: &AccountCtx,
        id: i64,
        before: Option<i64>,
    ) -> Result<DeliveryPage> {
        self.webhook(ctx, id).await?;
        let deliveries = self.store.webhook_deliveries(id, before, LOG_PAGE).await?;
        let next_before = (deliveries.len() as i64 == LOG_PAGE)
            .then(|| deliveries.last().map(|d| d.id))
            .flatten();
        Ok(DeliveryPage {
            deliveries,
            next_before,
        })
    }

    /// Sends a delivery's body again as a new delivery (administrators).
    pub async fn redeliver_webhook(
        &self,
        ctx: &AccountCtx,
        id: i64,
        delivery_id: i64,
    ) -> Result<DeliveryRow> {
        self.webhook(ctx, id).await?;
        let d = self
            .store
            .webhook_delivery(id, delivery_id)
            .await?
            .ok_or(ServiceError::NotFound("delivery"))?;
        Ok(self.store.redeliver(&d).await?)
    }

    /// Checks an API channel inbox's `webhook_url` before it is stored.
    pub(crate) async fn check_inbox_webhook_url(&self, url: &str) -> Result<()> {
        check_target(url, self.webhook_settings().allow_private_targets)
            .await
            .map_err(|e| FieldError::new("webhook_url", e.message).into())
            .map(|_| ())
    }

    /// Makes an API channel inbox's receiver follow its `webhook_url` (after the inbox
    /// was created or changed).
    pub(crate) async fn sync_inbox_webhook(
        &self,
        inbox: &parley_store::inboxes::InboxRow,
    ) -> Result<()> {
        if inbox.channel() != Some(parley_core::ChannelType::Api) {
            return Ok(());
        }
        let settings = crate::settings::InboxSettings::of(inbox);
        let url = settings
            .channel
            .webhook_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let subs = serde_json::to_string(EVENTS).unwrap_or_else(|_| "[]".into());
        self.store
            .sync_inbox_webhook(inbox.account_id, inbox.id, url, &subs)
            .await?;
        Ok(())
    }

    /// Frees the deliveries this node was sending (at shutdown, after the worker stopped).
    pub async fn release_webhook_leases(&self) -> Result<()> {
        Ok(self.store.release_delivery_leases(&self.node_id).await?)
    }

    /// Starts this node's webhook worker: it stores deliveries for new events, sends the
    /// due ones, and prunes the log, looking at least every `poll`. Storing and sending are
    /// two loops of the one task, so rendering a long backlog of events never holds up the
    /// sending of what is already stored (and the other way round); storing wakes the
    /// sender at once.
    pub fn spawn_webhook_worker(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        tokio::spawn(async move {
            let stored = tokio::sync::Notify::new();
            let dispatch = async {
                let mut last_prune: Option<Instant> = None;
                loop {
                    if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
                        last_prune = Some(Instant::now());
                        let before = svc.store.now() - svc.webhook_settings().log_retention_ms;
                        match svc.store.prune_webhook_deliveries(before).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(deleted = n, "pruned old webhook deliveries"),
                            Err(e) => {
                                tracing::warn!(error = %e, "pruning webhook deliveries failed")
                            }
                        }
                    }
                    match svc.dispatch_webhooks().await {
                        Ok(0) => tokio::time::sleep(poll).await,
                        Ok(_) => stored.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook dispatch failed");
                            tokio::time::sleep(poll).await;
                        }
                    }
                }
            };
            let send = async {
                loop {
                    let sent = match svc.send_due_webhooks().await {
                        Ok(n) => n,
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook sending failed");
                            0
                        }
                    };
                    if sent < CLAIM_BATCH as usize {
                        tokio::select! {
                            _ = tokio::time::sleep(poll) => {}
                            _ = stored.notified() => {}
                        }
                    }
                }
            };
            tokio::join!(dispatch, send);
        })
    }

    /// Stores deliveries for the events receivers have not seen yet; returns how many
    /// receivers moved.
    pub async fn dispatch_webhooks(&self) -> Result<usize> {
        let behind = self.store.webhooks_behind(100).await?;
        let mut moved = 0;
        let mut cache = RenderCache::default();
        for w in behind {
            let span =
                tracing::info_span!("webhook_dispatch", webhook = w.id, account = w.account_id);
            match self.dispatch_one(&w, &mut cache).instrument(span).await {
                Ok(true) => moved += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(webhook = w.id, error = %e, "webhook dispatch failed"),
            }
        }
        Ok(moved)
    }

    async fn dispatch_one(&self, w: &WebhookRow, cache: &mut RenderCache) -> Result<bool> {
        let head = self.store.event_head(w.account_id).await?;
        if head <= w.cursor {
            return Ok(false);
        }
        let scope = match w.inbox_id {
            Some(i) => EventScope::Inboxes(vec![i]),
            None => EventScope::Account,
        };
        let rows = self
            .store
            .events_after(
                w.account_id,
                &scope,
                w.cursor,
                Some(head + 1),
                DISPATCH_PAGE,
            )
            .await?;
        let to = if rows.len() as i64 == DISPATCH_PAGE {
            rows.last().map_or(head, |r| r.seq)
        } else {
            head
        };
        let subs: HashSet<String> = serde_json::from_str(&w.subscriptions).unwrap_or_default();
        let mut parsed = Vec::new();
        let mut conversations = Vec::new();
        for row in rows {
            let name = if w.agent_bot_id.is_some() {
                bot_event(&row.name, &row.payload)
            } else {
                webhook_event(&row.name)
            };
            let Some(name) = name else {
                continue;
            };
            if !subs.contains(name) {
                continue;
            }
            let obj = match serde_json::from_str::<Value>(&row.payload) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            if name.starts_with("message_")
                && let Some(display_id) = obj.get("conversation_id").and_then(Value::as_i64)
            {
                conversations.push(display_id);
            }
            parsed.push((name, row, obj));
        }
        self.prefetch_conversations(w.account_id, conversations, cache)
            .await;
        let mut drafts = Vec::with_capacity(parsed.len());
        for (name, row, obj) in parsed {
            drafts.push(self.render_delivery(w, name, row, obj, cache).await);
        }
        let stored = self
            .store
            .enqueue_deliveries(w.id, w.account_id, w.cursor, to, &drafts)
            .await?;
        if stored && !drafts.is_empty() {
            metrics::counter!("parley_webhook_deliveries_queued_total")
                .increment(drafts.len() as u64);
        }
        Ok(stored)
    }

    /// A delivery's body in Chatwoot's shape: the object's fields with `event`, and for
    /// messages their `conversation`, `sender`, `inbox` and `account`.
    async fn render_delivery(
        &self,
        w: &WebhookRow,
        name: &'static str,
        row: EventRow,
        mut obj: Map<String, Value>,
        cache: &mut RenderCache,
    ) -> NewDelivery {
        let account = self.account_ref(row.account_id, cache).await;
        let inbox = match row.inbox_id {
            Some(i) => Some(self.inbox_ref(i, cache).await),
            None => None,
        };
        let mut message_id = None;
        if name.starts_with("message_") {
            let code = obj
                .get("message_type")
                .and_then(Value::as_i64)
                .unwrap_or(-1);
            if w.inbox_id.is_some()
                && w.agent_bot_id.is_none()
                && name == "message_created"
                && (code == 1 || code == 3)
                && obj.get("status").and_then(Value::as_str) == Some("progress")
            {
                message_id = obj.get("id").and_then(Value::as_i64);
            }
            obj.insert("message_type".into(), Value::from(message_type_name(code)));
            if let Some(display_id) = obj.get("conversation_id").and_then(Value::as_i64) {
                let conv = self
                    .conversation_ref(row.account_id, display_id, cache)
                    .await;
                obj.insert("conversation".into(), conv);
            }
            obj.entry("sender").or_insert(Value::Null);
        }
        if name.ends_with("_updated") || name == "conversation_status_changed" {
            let changed = changed_attributes(&row.name, &obj);
            obj.insert("changed_attributes".into(), changed);
        }
        if let Some(inbox) = inbox
            && !name.starts_with("contact_")
            && !name.starts_with("inbox_")
        {
            obj.insert("inbox".into(), inbox);
        }
        obj.insert("account".into(), account);
        obj.insert("event".into(), Value::from(name));
        NewDelivery {
            event: name.to_string(),
            seq: Some(row.seq),
            conversation_id: row.conversation_id,
            message_id,
            body: Value::Object(obj).to_string(),
        }
    }

    async fn account_ref(&self, id: i64, cache: &mut RenderCache) -> Value {
        if let Some(v) = cache.accounts.get(&id) {
            return v.clone();
        }
        let v = match self.store.account(id).await {
            Ok(a) => json!({"id": a.id, "name": a.name}),
            Err(_) => json!({"id": id}),
        };
        cache.accounts.insert(id, v.clone());
        v
    }

    async fn inbox_ref(&self, id: i64, cache: &mut RenderCache) -> Value {
        if let Some(v) = cache.inboxes.get(&id) {
            return v.clone();
        }
        let v = match self.store.inbox_by_id(id).await {
            Ok(Some(i)) => json!({"id": i.id, "name": i.name}),
            _ => json!({"id": id}),
        };
        cache.inboxes.insert(id, v.clone());
        v
    }

    /// Renders the conversations of a page of events at once (two queries for the page
    /// instead of two per conversation), into the round's cache; the bodies are the same
    /// as [`Self::conversation_ref`] renders one by one. What fails or is not found here is
    /// left to `conversation_ref`.
    async fn prefetch_conversations(
        &self,
        account_id: i64,
        mut display_ids: Vec<i64>,
        cache: &mut RenderCache,
    ) {
        display_ids.sort_unstable();
        display_ids.dedup();
        display_ids.retain(|d| !cache.conversations.contains_key(&(account_id, *d)));
        if display_ids.is_empty() {
            return;
        }
        let rows = match self
            .store
            .conversation_details(account_id, &display_ids)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!(error = %e, "prefetching conversations failed");
                return;
            }
        };
        let views = match self.render_conversations(rows).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "prefetching conversations failed");
                return;
            }
        };
        for v in views {
            let display_id = v.id;
            let value = serde_json::to_value(v).unwrap_or(Value::Null);
            cache.conversations.insert((account_id, display_id), value);
        }
    }

    async fn conversation_ref(
        &self,
        account_id: i64,
        display_id: i64,
        cache: &mut RenderCache,
    ) -> Value {
        if let Some(v) = cache.conversations.get(&(account_id, display_id)) {
            return v.clone();
        }
        let v = match self.conversation_view(account_id, display_id).await {
            Ok(c) => serde_json::to_value(c).unwrap_or(Value::Null),
            Err(_) => json!({"id": display_id}),
        };
        cache
            .conversations
            .insert((account_id, display_id), v.clone());
        v
    }

    /// Claims the due deliveries and sends them (concurrently: a conversation's order is
    /// the claim's business); returns how many were attempted. The batch costs one read
    /// of its receivers' targets and one write transaction for all its attempts, whatever
    /// its size: per delivery, those two were what held the sender far below the rate
    /// events are produced (docs/benchmarks.md, sessions 12 and 13).
    pub async fn send_due_webhooks(&self) -> Result<usize> {
        let now = self.store.now();
        if self
            .store
            .next_delivery_at()
            .await?
            .is_none_or(|at| at > now)
        {
            return Ok(0);
        }
        let claimed = self
            .store
            .claim_deliveries(&self.node_id, now, LEASE_MS, CLAIM_BATCH)
            .await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        let ids: Vec<i64> = claimed.iter().map(|d| d.webhook_id).collect();
        let targets = self.store.webhook_targets(&ids).await?;
        // A receiver deleted since the claim took its deliveries with it: nothing to send.
        let sends = claimed.into_iter().filter_map(|d| {
            let (url, secret) = targets.get(&d.webhook_id)?;
            let span = tracing::info_span!("webhook_delivery", delivery = d.id, webhook = d.webhook_id, event = %d.event, attempt = d.attempts);
            Some(
                async move {
                    let (attempt, end) = self.attempt(&d, url, secret).await;
                    (d, attempt, end)
                }
                .instrument(span),
            )
        });
        let done = futures::future::join_all(sends).await;
        self.record_attempts(&done).await?;
        Ok(n)
    }

    /// One attempt of one delivery, and where the delivery goes next.
    async fn attempt(&self, d: &ClaimedDelivery, url: &str, secret: &str) -> (Attempt, AttemptEnd) {
        let started = Instant::now();
        let attempt = self.post(d, url, secret).await;
        let attempt = Attempt {
            duration_ms: started.elapsed().as_millis() as i64,
            ..attempt
        };
        let ok = attempt
            .response_code
            .is_some_and(|c| (200..300).contains(&c));
        let s = self.webhook_settings();
        let now = self.store.now();
        let end = if ok {
            AttemptEnd::Delivered
        } else if now - d.created_at >= s.retry_window_ms {
            AttemptEnd::GaveUp
        } else {
            AttemptEnd::RetryAt(now + backoff_ms(s, d.attempts))
        };
        let outcome = match end {
            AttemptEnd::Delivered => "delivered",
            AttemptEnd::RetryAt(_) => "retry",
            AttemptEnd::GaveUp => "failed",
        };
        metrics::counter!("parley_webhook_attempts_total", "outcome" => outcome).increment(1);
        if !ok {
            tracing::warn!(code = ?attempt.response_code, error = ?attempt.error, outcome, "webhook attempt failed");
        }
        (attempt, end)
    }

    /// Records a batch's attempts (one transaction), then tells administrators of the
    /// receivers it paused and moves the API channel replies it finished to `sent` or
    /// `failed`.
    async fn record_attempts(&self, done: &[(ClaimedDelivery, Attempt, AttemptEnd)]) -> Result<()> {
        let s = self.webhook_settings();
        let paused = self
            .store
            .record_attempts(done, s.pause_after_failures, |attempt| {
                format!(
                    "{} failed attempts in a row; last: {}",
                    s.pause_after_failures,
                    attempt_error(attempt)
                )
            })
            .await?;
        for webhook_id in paused {
            tracing::warn!(
                webhook = webhook_id,
                "webhook paused after repeated failures"
            );
            let Some(account_id) = done
                .iter()
                .find(|(d, _, _)| d.webhook_id == webhook_id)
                .map(|(d, _, _)| d.account_id)
            else {
                continue;
            };
            if let Err(e) = self.notify_paused(account_id, webhook_id).await {
                tracing::warn!(webhook = webhook_id, error = %e, "pause notice failed");
            }
        }
        for (d, attempt, end) in done {
            let Some(message_id) = d.message_id else {
                continue;
            };
            match end {
                AttemptEnd::Delivered => self.api_message_status(message_id, None).await,
                AttemptEnd::GaveUp => {
                    let why = attempt_error(attempt);
                    self.api_message_status(message_id, Some(format!("webhook_url: {why}")))
                        .await
                }
                AttemptEnd::RetryAt(_) => {}
            }
        }
        Ok(())
    }

    fn http_client(&self) -> HttpClient {
        static CLIENTS: OnceLock<std::sync::Mutex<HashMap<(bool, u64), HttpClient>>> =
            OnceLock::new();
        let s = self.webhook_settings();
        let key = (
            s.allow_private_targets,
            s.request_timeout.as_millis() as u64,
        );
        let map = CLIENTS.get_or_init(Default::default);
        let mut map = match map.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(key)
            .or_insert_with(|| {
                HttpClient::new(s.request_timeout, "Parley-Webhooks/1")
                    .with_resolver(Arc::new(GuardedResolver {
                        allow_private: s.allow_private_targets,
                    }))
                    .with_connect_timeout(s.request_timeout.min(Duration::from_secs(5)))
            })
            .clone()
    }

    async fn post(&self, d: &ClaimedDelivery, url: &str, secret: &str) -> Attempt {
        let failed = |e: String| Attempt {
            response_code: None,
            response_body: None,
            error: Some(e),
            duration_ms: 0,
        };
        let allow = self.webhook_settings().allow_private_targets;
        // An address written in the URL is never resolved, so it is checked here.
        if let Ok(u) = url::Url::parse(url) {
            let ip = match u.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = ip
                && let Err(e) = check_ip(url, ip, allow)
            {
                return failed(e.message);
            }
        }
        let ts = self.store.now() / 1000;
        let req = Request::post(url, "application/json", d.body.clone())
            .header("x-parley-event", d.event.clone())
            .header("x-parley-delivery", d.uuid.clone())
            .header("x-parley-timestamp", ts.to_string())
            .header("x-parley-signature", signature(secret, ts, &d.body));
        let mut res = match self.http_client().send(req).await {
            Ok(r) => r,
            Err(e) => return failed(e.to_string()),
        };
        let code = i64::from(res.status);
        // Read at most the snippet; the rest of a large answer is never downloaded.
        let snippet = res.prefix(RESPONSE_SNIPPET_BYTES).await;
        let ok = (200..300).contains(&code);
        Attempt {
            response_code: Some(code),
            response_body: Some(String::from_utf8_lossy(&snippet).into_owned()),
            error: (!ok).then(|| format!("the receiver answered HTTP {code}")),
            duration_ms: 0,
        }
    }

    /// An API inbox's agent reply: `sent` once its receiver answered 2xx, `failed` when
    /// the webhook gave up.
    async fn api_message_status(&self, message_id: i64, error: Option<String>) {
        let work = async {
            let Some(m) = self.store.message_by_id(message_id).await? else {
                return Ok(());
            };
            if m.message.status != "progress" {
                return Ok(());
            }
            let mut attrs = crate::views::json_obj(&m.message.content_attributes);
            if let (Some(e), Value::Object(map)) = (&error, &mut attrs) {
                map.insert("external_error".into(), Value::from(e.clone()));
            }
            let update = DeliveryUpdate {
                status: if error.is_some() { "failed" } else { "sent" }.into(),
                content_attributes: attrs.to_string(),
                external_error: error.clone(),
                source_id: None,
            };
            self.store.set_message_delivery(message_id, &update).await?;
            if let Some(conv) = self
                .store
                .conversation_by_id(m.message.conversation_id)
                .await?
            {
                self.publish_updated(&conv, message_id).await?;
            }
            Ok::<(), ServiceError>(())
        };
        if let Err(e) = work.await {
            tracing::warn!(message = message_id, error = %e, "API message status update failed");
        }
    }

    /// Tells the account's administrators that a webhook was paused (e-mail, in the
    /// account's language).
    async fn notify_paused(&self, account_id: i64, webhook_id: i64) -> Result<()> {
        let Some(w) = self.store.webhook(account_id, webhook_id).await? else {
            return Ok(());
        };
        let account = self.store.account(account_id).await?;
        let lang = Lang::of_locale(&account.locale);
        let admins: Vec<String> = self
            .store
            .agents(account_id)
            .await?
            .into_iter()
            .filter(|a| a.role == parley_core::Role::Administrator.as_str())
            .map(|a| a.email)
            .collect();
        if admins.is_empty() {
            return Ok(());
        }
        let target = match w.inbox_id {
            Some(_) => w.url.clone(),
            None => w.name.clone().unwrap_or_else(|| w.url.clone()),
        };
        let link = format!(
            "{}/app/#/settings/webhooks",
            self.config.public_url.trim_end_matches('/')
        );
        let (subject, text) = crate::texts::webhook_paused_notice(
            lang,
            &target,
            w.pause_reason.as_deref().unwrap_or(""),
            &link,
        );
        self.queue_email(
            &format!("webhook_paused:{webhook_id}:{}", w.paused_at.unwrap_or(0)),
            Email {
                to: admins,
                subject,
                text,
                html: None,
                reply_to: None,
            },
        )
        .await
    }
}

/// What went wrong in a failed attempt, for the log, the pause reason and the message's
/// `external_error`.
fn attempt_error(attempt: &Attempt) -> String {
    attempt
        .error
        .clone()
        .unwrap_or_else(|| format!("HTTP {}", attempt.response_code.unwrap_or(0)))
}

/// The wait before attempt `attempts + 1`: `base · 2^(attempts-1)`, at most `max`, ±25 %.
fn backoff_ms(s: &WebhookSettings, attempts: i64) -> i64 {
    let exp = (attempts - 1).clamp(0, 30) as u32;
    let base = s
        .retry_base_ms
        .max(1)
        .saturating_mul(1i64 << exp.min(40))
        .min(s.retry_max_ms.max(1));
    let jitter: f64 = rand::rng().random_range(0.75..1.25);
    ((base as f64) * jitter) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden_reason(ip).is_some(), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1::1",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden_reason(ip).is_none(), "{ip} should be allowed");
        }
    }

    #[test]
    fn bots_get_chatwoots_bot_event_names() {
        let status = |s: &str| json!({"id": 1, "status": s}).to_string();
        assert_eq!(
            bot_event("conversation.status_changed", &status("open")),
            Some("conversation_opened")
        );
        assert_eq!(
            bot_event("conversation.status_changed", &status("resolved")),
            Some("conversation_resolved")
        );
        for other in ["pending", "snoozed"] {
            assert_eq!(
                bot_event("conversation.status_changed", &status(other)),
                None
            );
        }
        let message = |t: i64| json!({"id": 1, "message_type": t}).to_string();
        for t in [0, 1, 3] {
            assert_eq!(
                bot_event("message.created", &message(t)),
                Some("message_created")
            );
            assert_eq!(
                bot_event("message.updated", &message(t)),
                Some("message_updated")
            );
        }
        assert_eq!(bot_event("message.created", &message(2)), None, "activity");
        assert_eq!(
            bot_event("webwidget.triggered", "{}"),
            Some("webwidget_triggered")
        );
        for name in [
            "conversation.created",
            "conversation.updated",
            "contact.updated",
        ] {
            assert_eq!(bot_event(name, "{}"), None, "{name}");
        }
        // Account webhooks keep their names.
        assert_eq!(
            webhook_event("conversation.status_changed"),
            Some("conversation_status_changed")
        );
    }

    #[test]
    fn signature_is_hmac_of_timestamp_and_body() {
        // Known answer computed independently: HMAC-SHA256("secret", "1700000000.{}").
        let s = signature("secret", 1_700_000_000, "{}");
        assert!(s.starts_with("sha256="));
        assert_eq!(s.len(), 7 + 64);
        assert_ne!(s, signature("secret", 1_700_000_001, "{}"));
        assert_ne!(s, signature("other", 1_700_000_000, "{}"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = WebhookSettings::default();
        let first = backoff_ms(&s, 1);
        assert!((7_500..=12_500).contains(&first));
        let late = backoff_ms(&s, 30);
        assert!(late <= s.retry_max_ms * 5 / 4);
        assert!(late >= s.retry_max_ms * 3 / 4);
    }
}
