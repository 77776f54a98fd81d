//! `/api/v1/accounts/{account_id}/agents`: the account's users (Chatwoot's agents). Also
//! holds the `user_ids` request shared by inbox and team member lists (the agent JSON shape
//! they all render is `parley_service::views::agents`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, present};
use axum::response::{IntoResponse, Response};
use parley_service::agents::{AgentAdded, AgentUpdate, NewAgent};
use parley_service::views::agents::{
    AgentView, InvitedAgentView, agent_view, agent_views, invited_view,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
}

pub use crate::ids::{id_like, ids_like};

/// A new agent. An unknown e-mail creates the user (with `password`, or a random one
/// they must reset); a known e-mail invites that user, who joins when they accept.
#[derive(Deserialize, ToSchema)]
pub struct NewAgentRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// `administrator`, `supervisor` or `agent`.
    #[schema(value_type = crate::routes::schema_enums::Role)]
    pub role: String,
    /// `online` (or `available`), `busy` or `offline`.
    #[schema(value_type = Option<crate::routes::schema_enums::Availability>)]
    pub availability_status: Option<String>,
    pub auto_offline: Option<bool>,
    /// Parley's addition: the initial password of a new user (8 to 128 characters).
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// Changes to an agent.
#[derive(Deserialize, ToSchema)]
pub struct AgentUpdateRequest {
    #[schema(value_type = Option<crate::routes::schema_enums::Role>)]
    pub role: Option<String>,
    #[schema(value_type = Option<crate::routes::schema_enums::Availability>)]
    pub availability_status: Option<String>,
    pub auto_offline: Option<bool>,
    /// The agent's own limit of open conversations; `null` returns to the defaults.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub max_open: Option<Option<i64>>,
}

/// Lists the account's agents.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agents", tag = "Agents",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = [AgentView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<Vec<AgentView>>> {
    Ok(Json(agent_views(&st.svc.list_agents(&ctx).await?)))
}

/// Adds an agent to the account (administrators only). A new e-mail creates the user
/// (200); the e-mail of an existing user creates an invitation they accept under
/// `/api/v1/profile/invitations` (202), and nothing about that user is returned.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agents", tag = "Agents",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = NewAgentRequest,
    responses((status = 200, body = AgentView), (status = 202, body = InvitedAgentView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`); see `Retry-After`", body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<NewAgentRequest>,
) -> ApiResult<Response> {
    let req = NewAgent {
        name: body.name,
        email: body.email,
        role: body.role,
        availability_status: body.availability_status,
        auto_offline: body.auto_offline,
        password: body.password,
    };
    Ok(match st.svc.create_agent(&ctx, req).await? {
        AgentAdded::Created(a) => {
            // The availability chosen at creation counts at once (an agent created online
            // with automatic offline switched off is online for routing and the team view
            // right away).
            st.svc.refresh_presence(ctx.account_id, a.id).await?;
            Json(agent_view(&a)).into_response()
        }
        AgentAdded::Invited(i) => (StatusCode::ACCEPTED, Json(invited_view(&i))).into_response(),
    })
}

/// Changes an agent's role, availability or auto-offline flag (administrators only). The
/// last administrator cannot be demoted.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "User id of the agent")),
    request_body = AgentUpdateRequest,
    responses((status = 200, body = AgentView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<AgentUpdateRequest>,
) -> ApiResult<Json<AgentView>> {
    let id = path.1;
    let up = AgentUpdate {
        role: body.role,
        availability_status: body.availability_status,
        auto_offline: body.auto_offline,
    };
    let changes_presence = up.availability_status.is_some() || up.auto_offline.is_some();
    let mut agent = st.svc.update_agent(&ctx, id, up).await?;
    if let Some(m) = body.max_open {
        st.svc.set_agent_max_open(&ctx, id, m).await?;
        agent.max_open = m;
    }
    if changes_presence {
        st.svc.refresh_presence(ctx.account_id, id).await?;
    }
    Ok(Json(agent_view(&agent)))
}

/// Removes an agent from the account (administrators only); their conversations here
/// become unassigned.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/agents/{id}", tag = "Agents",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "User id of the agent")),
    responses((status = 200, description = "Removed"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = path.1;
    st.svc.remove_agent(&ctx, id).await?;
    Ok(StatusCode::OK)
}
