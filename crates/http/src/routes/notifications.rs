//! The agent's notifications (mentions in private notes), their e-mail choices and the
//! agents who may be mentioned, with Chatwoot's paths and field names:
//! `/api/v1/accounts/{account_id}/notifications…`, `…/notification_settings` and
//! `…/assignable_agents`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::conversations::OptJson;
use parley_service::mentions::{
    MentionableAgent, NotificationPage, NotificationSettingsUpdate, NotificationSettingsView,
    NotificationView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(read_all))
        .routes(routes!(read_one))
        .routes(routes!(settings, update_settings))
        .routes(routes!(assignable_agents))
}

/// `page` of the list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page of 15.
    pub page: Option<i64>,
}

/// Which notifications to mark read: all of them, or one conversation's.
#[derive(Deserialize, ToSchema, Default)]
pub struct ReadAllRequest {
    /// `Conversation` to mark only one conversation's notifications read.
    pub primary_actor_type: Option<String>,
    /// The conversation's number, with `primary_actor_type`.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub primary_actor_id: Option<i64>,
}

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notifications", tag = "Notifications",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), PageQuery),
    responses((status = 200, description = "Chatwoot's shape: the page inside `data`", body = NotificationList),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<NotificationList>> {
    let data = st.svc.notifications(&ctx, q.page.unwrap_or(1)).await?;
    Ok(Json(NotificationList { data }))
}

/// The notifications list as Chatwoot answers it: the page inside `data`.
#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub data: NotificationPage,
}

/// How many of the caller's notifications are unread (a bare number, as Chatwoot answers).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notifications/unread_count", tag = "Notifications",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = i64, content_type = "application/json")))]
async fn unread_count(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<i64>> {
    Ok(Json(st.svc.unread_notifications(&ctx).await?))
}

/// Marks the caller's notifications read: all, or one conversation's.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/notifications/read_all", tag = "Notifications",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    request_body = ReadAllRequest,
    responses((status = 200, description = "Marked read"), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn read_all(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    OptJson(body): OptJson<ReadAllRequest>,
) -> ApiResult<StatusCode> {
    let conversation = match (body.primary_actor_type.as_deref(), body.primary_actor_id) {
        (None, None) => None,
        (Some("Conversation"), Some(id)) => Some(id),
        _ => {
            return Err(ApiError::unprocessable(
                "primary_actor_type",
                "give primary_actor_type Conversation with primary_actor_id, or neither",
            ));
        }
    };
    st.svc.read_all_notifications(&ctx, conversation).await?;
    Ok(StatusCode::OK)
}

/// Marks one of the caller's notifications read.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/notifications/{notification_id}", tag = "Notifications",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("notification_id" = i64, Path)),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)))]
async fn read_one(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<NotificationView>> {
    Ok(Json(st.svc.read_notification(&ctx, id).await?))
}

/// The caller's notification choices.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/notification_settings", tag = "Notifications",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = NotificationSettingsView)))]
async fn settings(
    State(st): State<AppState>,
    Acct(ctx): Acct,
) -> ApiResult<Json<NotificationSettingsView>> {
    Ok(Json(st.svc.notification_settings(&ctx).await?))
}

/// `{"notification_settings": {"selected_email_flags": [...]}}`, as Chatwoot's clients
/// send it.
#[derive(Deserialize, ToSchema)]
pub struct SettingsRequest {
    pub notification_settings: NotificationSettingsUpdate,
}

/// Changes the caller's notification choices (`email_conversation_mention`: an e-mail for
/// each mention).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/notification_settings", tag = "Notifications",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    request_body = SettingsRequest,
    responses((status = 200, body = NotificationSettingsView), (status = 422, body = ErrorBody)))]
async fn update_settings(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<SettingsRequest>,
) -> ApiResult<Json<NotificationSettingsView>> {
    Ok(Json(
        st.svc
            .update_notification_settings(&ctx, body.notification_settings)
            .await?,
    ))
}

/// `inbox_ids[]` of the agents list (repeatable).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter; parsed from the raw pairs
pub struct AssignableQuery {
    /// Inboxes the agents must all see; repeat as `inbox_ids[]=1&inbox_ids[]=2`.
    #[serde(rename = "inbox_ids[]")]
    #[param(rename = "inbox_ids[]")]
    inbox_ids: Vec<i64>,
}

/// The agents who can see conversations of the given inboxes: administrators, supervisors
/// and the inboxes' members. The console offers them for @mentions.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/assignable_agents", tag = "Agents",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), AssignableQuery),
    responses((status = 200, description = "`{\"payload\": [agent]}`", body = Vec<MentionableAgent>),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assignable_agents(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let mut ids = Vec::new();
    for (k, v) in pairs {
        if k == "inbox_ids[]" || k == "inbox_ids" {
            ids.push(v.parse::<i64>().map_err(|_| {
                ApiError::bad_request("invalid_query", "inbox_ids must be integers")
            })?);
        }
    }
    let agents = st.svc.assignable_agents(&ctx, &ids).await?;
    Ok(Json(json!({ "payload": agents })))
}
