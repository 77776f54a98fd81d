//! Channel providers calling Parley: Telegram's webhook (used when the server's public URL
//! is https). The call is authenticated by the inbox's secret, which Telegram sends back in
//! `X-Telegram-Bot-Api-Secret-Token` as Parley set it with `setWebhook`; the body is bounded.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use parley_core::ChannelType;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path};

/// Largest update accepted (Telegram's updates are a few KiB; files come by `getFile`).
const MAX_UPDATE_BYTES: usize = 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(telegram))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// An update for a Telegram inbox, pushed by Telegram (webhook mode).
#[utoipa::path(post, path = "/webhooks/telegram/{inbox_id}", tag = "Channels",
    params(("inbox_id" = i64, Path),
        ("X-Telegram-Bot-Api-Secret-Token" = Option<String>, Header, description = "The inbox's webhook secret")),
    request_body(content = Object, description = "A Telegram `Update`"),
    responses((status = 200, description = "`{\"ok\": true}`"),
        (status = 400, body = ErrorBody),
        (status = 401, description = "No secret", body = ErrorBody),
        (status = 403, description = "Wrong secret", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
async fn telegram(
    State(st): State<AppState>,
    Path(inbox_id): Path<i64>,
    headers: HeaderMap,
    req: Request,
) -> ApiResult<Json<Value>> {
    let secret = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    if secret.is_none() {
        // Refused before the body is read: a stranger costs nothing more.
        return Err(parley_service::ServiceError::Unauthorized.into());
    }
    let body = axum::body::to_bytes(req.into_body(), MAX_UPDATE_BYTES)
        .await
        .map_err(|_| ApiError::too_large("the update").closing())?;
    st.svc
        .channel_webhook(ChannelType::Telegram, inbox_id, secret, &body)
        .await?;
    Ok(Json(json!({"ok": true})))
}
