//! Outgoing webhooks as the API shows them to administrators: Chatwoot's fields (`id`,
//! `url`, `name`, `subscriptions`, `account_id`) and Parley's (the signing secret, the pause
//! state), and the delivery log.

use parley_store::webhooks::{DeliveryRow, WebhookRow};
use serde::Serialize;
use utoipa::ToSchema;

use super::secs;

/// A webhook (administrators only see any of this).
#[derive(Serialize, ToSchema, Debug)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub name: Option<String>,
    /// Chatwoot's event names the webhook receives.
    pub subscriptions: Vec<String>,
    pub account_id: i64,
    /// The HMAC-SHA256 key of `X-Parley-Signature` (docs/webhooks.md).
    pub secret: String,
    /// `active` or `paused`.
    pub status: String,
    /// When it was paused after repeated failures (epoch seconds), if it is.
    pub paused_at: Option<i64>,
    pub pause_reason: Option<String>,
    /// Failed attempts since the last successful one.
    pub failures: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Renders a webhook.
pub fn webhook_view(w: &WebhookRow) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url.clone(),
        name: w.name.clone(),
        subscriptions: serde_json::from_str(&w.subscriptions).unwrap_or_default(),
        account_id: w.account_id,
        secret: w.secret.clone(),
        status: if w.paused_at.is_some() {
            "paused"
        } else {
            "active"
        }
        .into(),
        paused_at: w.paused_at.map(secs),
        pause_reason: w.pause_reason.clone(),
        failures: w.failures,
        created_at: secs(w.created_at),
        updated_at: secs(w.updated_at),
    }
}

/// One delivery of the log.
#[derive(Serialize, ToSchema, Debug)]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    /// The `X-Parley-Delivery` header: the same for every attempt of this delivery.
    pub delivery_uuid: String,
    pub event: String,
    /// `pending` (waiting or retrying), `delivered` (2xx) or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    /// The last attempt's HTTP status, if an answer came.
    pub response_code: Option<i64>,
    /// The first bytes of the last answer.
    pub response_body: Option<String>,
    /// Why the last attempt failed, when it did not get an answer or got a non-2xx one.
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    /// Epoch milliseconds of the last attempt.
    pub attempted_at: Option<i64>,
    /// Epoch milliseconds of the next attempt, while pending.
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    /// The request body as sent.
    pub request_body: String,
}

/// Renders a delivery.
pub fn delivery_view(d: &DeliveryRow) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook_id: d.webhook_id,
        delivery_uuid: d.uuid.clone(),
        event: d.event.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        response_code: d.response_code,
        response_body: d.response_body.clone(),
        error: d.error.clone(),
        duration_ms: d.duration_ms,
        attempted_at: d.attempted_at,
        next_attempt_at: (d.status == "pending").then_some(d.next_at),
        created_at: d.created_at,
        request_body: d.body.clone(),
    }
}
