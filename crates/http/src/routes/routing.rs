//! Routing: the queues, the team's presence and load, the account's routing settings, the
//! atomic claim of a conversation and the agent's own availability. Chatwoot has no such
//! paths; they follow its style.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Acct, Auth};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject, Path, present};
use parley_service::conversations::ConversationView;
use parley_service::routing::{
    QueueView, RoutingAgentView, RoutingSettingsPatch, RoutingSettingsView,
};
use parley_service::views::profile::{ProfileView, profile_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queues))
        .routes(routes!(agents))
        .routes(routes!(settings, update_settings))
        .routes(routes!(claim))
        .routes(routes!(availability))
}

/// Routing settings to change; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct RoutingSettingsRequest {
    pub default_max_open: Option<i64>,
    /// `null` turns the inactivity rule off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub inactive_after_minutes: Option<Option<i64>>,
    pub presence_grace_seconds: Option<i64>,
}

/// `{"payload": [...]}` of the queues.
#[derive(Serialize, ToSchema)]
pub struct QueueList {
    pub payload: Vec<QueueView>,
}

/// `{"payload": [...]}` of the team view.
#[derive(Serialize, ToSchema)]
pub struct RoutingAgentList {
    pub payload: Vec<RoutingAgentView>,
}

/// The waiting queues the caller may see (non-empty only), each in serving order.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/queues", tag = "Routing",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn queues(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<QueueList>> {
    Ok(Json(QueueList {
        payload: st.svc.queues(&ctx).await?,
    }))
}

/// Agents with their presence, teams and load (administrators and supervisors).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/agents", tag = "Routing",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = RoutingAgentList), (status = 403, body = ErrorBody)))]
async fn agents(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<RoutingAgentList>> {
    Ok(Json(RoutingAgentList {
        payload: st.svc.routing_agents(&ctx).await?,
    }))
}

/// The account's routing settings.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/routing/settings", tag = "Routing",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = RoutingSettingsView)))]
async fn settings(
    State(st): State<AppState>,
    Acct(ctx): Acct,
) -> ApiResult<Json<RoutingSettingsView>> {
    Ok(Json(st.svc.routing_settings(&ctx).await?))
}

/// Changes the routing settings (administrators); absent fields stay as they are.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/routing/settings", tag = "Routing",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    request_body = RoutingSettingsRequest,
    responses((status = 200, body = RoutingSettingsView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_settings(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(r): JsonObject<RoutingSettingsRequest>,
) -> ApiResult<Json<RoutingSettingsView>> {
    let patch = RoutingSettingsPatch {
        default_max_open: r.default_max_open,
        inactive_after_minutes: r.inactive_after_minutes,
        presence_grace_seconds: r.presence_grace_seconds,
    };
    Ok(Json(st.svc.update_routing_settings(&ctx, patch).await?))
}

/// Takes an unassigned conversation for the caller. Of any number of simultaneous claims
/// exactly one succeeds; the others get 409 `already_assigned`.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/claim", tag = "Routing",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<ConversationView>> {
    match st.svc.claim_conversation(&ctx, id).await {
        Ok(v) => Ok(Json(v)),
        Err(parley_service::ServiceError::Conflict(m)) if m.starts_with("already_assigned") => {
            Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "already_assigned",
                "another agent has taken this conversation",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The agent's chosen status in one account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityFields {
    /// `online`, `busy` or `offline`.
    #[schema(value_type = crate::routes::schema_enums::Availability)]
    pub availability: String,
    pub account_id: i64,
}

/// Chatwoot wraps the fields in `profile`.
#[derive(Deserialize, ToSchema)]
pub struct AvailabilityRequest {
    pub profile: AvailabilityFields,
}

/// Sets the signed-in agent's availability: `online` takes new conversations, `busy` keeps
/// the current ones but takes no new ones, `offline` hands back unanswered ones.
#[utoipa::path(post, path = "/api/v1/profile/availability", tag = "Profile",
    security(("api_access_token" = [])), request_body = AvailabilityRequest,
    responses((status = 200, body = ProfileView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn availability(
    State(st): State<AppState>,
    auth: Auth,
    Json(body): Json<AvailabilityRequest>,
) -> ApiResult<Json<ProfileView>> {
    let f = body.profile;
    let ctx = auth
        .principal
        .in_account(f.account_id)
        .ok_or_else(|| ApiError::not_found("account"))?;
    st.svc.set_own_availability(&ctx, &f.availability).await?;
    let mut principal = auth.principal;
    for m in &mut principal.memberships {
        if m.account_id == f.account_id {
            m.availability = f.availability.clone();
        }
    }
    Ok(Json(profile_view(&principal, None)))
}
