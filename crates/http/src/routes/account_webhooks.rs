//! `/api/v1/accounts/{account_id}/webhooks`: the account's outgoing webhooks with
//! Chatwoot's paths and fields, and Parley's additions (the signing secret and its
//! rotation, pause and resume, the delivery log and redelivery). Administrators only.
//! Delivery itself is `parley_service::webhooks`; the wire contract is docs/webhooks.md.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject, Path, Query};
use parley_service::views::webhooks::{DeliveryView, WebhookView, delivery_view, webhook_view};
use parley_service::webhooks::WebhookInput;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(rotate_secret))
        .routes(routes!(resume))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// The fields of a webhook; Chatwoot's clients may also send them inside `webhook`.
#[derive(Deserialize, ToSchema, Default)]
pub struct WebhookFields {
    /// Absolute `http(s)` URL; addresses inside private networks are refused unless the
    /// server allows them (`allow_private_webhook_targets`).
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// A label for people; empty clears it.
    #[schema(max_length = 255)]
    pub name: Option<String>,
    /// Event names (`message_created`, `conversation_status_changed`, …).
    pub subscriptions: Option<Vec<String>>,
}

/// A webhook create or update request: the fields, flat or inside `webhook`.
#[derive(Deserialize, ToSchema, Default)]
pub struct WebhookRequest {
    #[serde(flatten)]
    pub fields: WebhookFields,
    pub webhook: Option<WebhookFields>,
}

impl From<WebhookRequest> for WebhookInput {
    fn from(r: WebhookRequest) -> Self {
        let f = r.webhook.unwrap_or(r.fields);
        WebhookInput {
            url: f.url,
            name: f.name.map(Some),
            subscriptions: f.subscriptions,
        }
    }
}

/// Chatwoot's list envelope: `{"payload": {"webhooks": [...]}}`.
#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub payload: WebhookListPayload,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookListPayload {
    pub webhooks: Vec<WebhookView>,
}

/// Chatwoot's envelope of one webhook: `{"payload": {"webhook": {...}}}`.
#[derive(Serialize, ToSchema)]
pub struct WebhookOne {
    pub payload: WebhookOnePayload,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOnePayload {
    pub webhook: WebhookView,
}

fn one(w: &parley_service::webhooks::WebhookRow) -> Json<WebhookOne> {
    Json(WebhookOne {
        payload: WebhookOnePayload {
            webhook: webhook_view(w),
        },
    })
}

/// Lists the account's webhooks (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/webhooks", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<WebhookList>> {
    let webhooks = st
        .svc
        .list_webhooks(&ctx)
        .await?
        .iter()
        .map(webhook_view)
        .collect();
    Ok(Json(WebhookList {
        payload: WebhookListPayload { webhooks },
    }))
}

/// Creates a webhook (administrators); it receives the events that happen from now on.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = WebhookRequest,
    responses((status = 200, body = WebhookOne), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<WebhookRequest>,
) -> ApiResult<Json<WebhookOne>> {
    Ok(one(&st.svc.create_webhook(&ctx, body.into()).await?))
}

/// Changes a webhook's URL, name or subscriptions (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/webhooks/{id}", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id")),
    request_body = WebhookRequest,
    responses((status = 200, body = WebhookOne), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<WebhookRequest>,
) -> ApiResult<Json<WebhookOne>> {
    Ok(one(&st
        .svc
        .update_webhook(&ctx, path.1, body.into())
        .await?))
}

/// Deletes a webhook with its delivery log (administrators).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/webhooks/{id}", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_webhook(&ctx, path.1).await?;
    Ok(StatusCode::OK)
}

/// Replaces the webhook's signing secret (administrators); the old one stops at once.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks/{id}/rotate_secret", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOne), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<WebhookOne>> {
    Ok(one(&st.svc.rotate_webhook_secret(&ctx, path.1).await?))
}

/// Resumes a webhook paused after repeated failures (administrators): the deliveries
/// that waited go out at once.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks/{id}/resume", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOne), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn resume(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<WebhookOne>> {
    Ok(one(&st.svc.resume_webhook(&ctx, path.1).await?))
}

/// `before` of the delivery log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Deliveries with a smaller id than this (the previous page's `meta.next_before`).
    pub before: Option<i64>,
}

/// A page of the delivery log, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub payload: Vec<DeliveryView>,
    pub meta: DeliveryListMeta,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryListMeta {
    /// `before` of the next page; null on the last one.
    pub next_before: Option<i64>,
}

/// The webhook's delivery log, 25 per page, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/webhooks/{id}/deliveries", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id"), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn deliveries(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let page = st.svc.webhook_deliveries(&ctx, path.1, q.before).await?;
    Ok(Json(DeliveryList {
        payload: page.deliveries.iter().map(delivery_view).collect(),
        meta: DeliveryListMeta {
            next_before: page.next_before,
        },
    }))
}

/// `{"payload": delivery}`.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOne {
    pub payload: DeliveryView,
}

/// Sends a delivery's body again, as a new delivery with a new `X-Parley-Delivery` id
/// (administrators).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "Webhooks",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Webhook id"),
        ("delivery_id" = i64, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryOne), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn redeliver(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64, i64)>,
) -> ApiResult<Json<DeliveryOne>> {
    let d = st.svc.redeliver_webhook(&ctx, path.1, path.2).await?;
    Ok(Json(DeliveryOne {
        payload: delivery_view(&d),
    }))
}
