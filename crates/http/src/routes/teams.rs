//! `/api/v1/accounts/{account_id}/teams` and `/teams/{team_id}/team_members`: departments
//! and their agents, with Chatwoot's paths and field names.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::agents::ids_like;
use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, present};
use parley_service::AccountCtx;
use parley_service::agents::MemberOp;
use parley_service::teams::TeamInput;
use parley_service::views::agents::{AgentView, agent_views};
use parley_service::views::teams::{TeamView, team_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(
            members_list,
            members_add,
            members_replace,
            members_remove
        ))
}

/// Fields of a team create or update request; `name` is required on create and an
/// empty `description` clears it.
#[derive(Deserialize, ToSchema)]
pub struct TeamRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    pub allow_auto_assign: Option<bool>,
    /// Per-agent limit for the team's conversations; `null` returns to the account default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub max_open: Option<Option<i64>>,
}

impl TeamRequest {
    fn split(self) -> (TeamInput, Option<Option<i64>>) {
        (
            TeamInput {
                name: self.name,
                description: self.description,
                allow_auto_assign: self.allow_auto_assign,
            },
            self.max_open,
        )
    }
}

/// `{user_ids}` of the team member requests.
#[derive(Deserialize, ToSchema)]
pub struct TeamMembersRequest {
    #[serde(deserialize_with = "ids_like")]
    #[schema(value_type = Vec<i64>)]
    pub user_ids: Vec<i64>,
}

/// Lists the account's teams.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = [TeamView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<Vec<TeamView>>> {
    let mine = st.svc.my_team_ids(&ctx).await?;
    let teams = st.svc.list_teams(&ctx).await?;
    Ok(Json(teams.iter().map(|t| team_view(t, &mine)).collect()))
}

/// Creates a team (administrators only); names are unique per account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/teams", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = TeamRequest,
    responses((status = 200, body = TeamView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<TeamRequest>,
) -> ApiResult<Json<TeamView>> {
    let (input, max_open) = body.split();
    let mut t = st.svc.create_team(&ctx, input).await?;
    if let Some(m) = max_open {
        st.svc.set_team_max_open(&ctx, t.id, m).await?;
        t = st.svc.team(&ctx, t.id).await?;
    }
    Ok(Json(team_view(&t, &[])))
}

/// Shows a team.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    responses((status = 200, body = TeamView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<TeamView>> {
    let id = path.1;
    let t = st.svc.team(&ctx, id).await?;
    let mine = st.svc.my_team_ids(&ctx).await?;
    Ok(Json(team_view(&t, &mine)))
}

/// Updates a team (administrators only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    request_body = TeamRequest,
    responses((status = 200, body = TeamView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<TeamRequest>,
) -> ApiResult<Json<TeamView>> {
    let id = path.1;
    let (input, max_open) = body.split();
    let mut t = st.svc.update_team(&ctx, id, input).await?;
    if let Some(m) = max_open {
        st.svc.set_team_max_open(&ctx, id, m).await?;
        t = st.svc.team(&ctx, id).await?;
    }
    let mine = st.svc.my_team_ids(&ctx).await?;
    Ok(Json(team_view(&t, &mine)))
}

/// Deletes a team (administrators only); its conversations stay, without a team.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/teams/{team_id}", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = path.1;
    st.svc.delete_team(&ctx, id).await?;
    Ok(StatusCode::OK)
}

/// Lists the agents of a team.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    responses((status = 200, body = [AgentView]), (status = 404, body = ErrorBody)))]
async fn members_list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let id = path.1;
    Ok(Json(agent_views(&st.svc.team_members(&ctx, id).await?)))
}

async fn change(
    st: AppState,
    ctx: AccountCtx,
    id: i64,
    body: TeamMembersRequest,
    op: MemberOp,
) -> ApiResult<Json<Vec<AgentView>>> {
    let list = st
        .svc
        .change_team_members(&ctx, id, op, &body.user_ids)
        .await?;
    Ok(Json(agent_views(&list)))
}

/// Adds agents to a team (administrators only); returns the team's agents.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    request_body = TeamMembersRequest,
    responses((status = 200, body = [AgentView]), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_add(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<TeamMembersRequest>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let id = path.1;
    change(st, ctx, id, body, MemberOp::Add).await
}

/// Makes the team's agents exactly `user_ids` (administrators only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    request_body = TeamMembersRequest,
    responses((status = 200, body = [AgentView]), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_replace(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<TeamMembersRequest>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let id = path.1;
    change(st, ctx, id, body, MemberOp::Replace).await
}

/// Removes agents from a team (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/teams/{team_id}/team_members", tag = "Teams",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("team_id" = i64, Path, description = "Team id")),
    request_body = TeamMembersRequest,
    responses((status = 200, body = [AgentView]), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<TeamMembersRequest>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let id = path.1;
    change(st, ctx, id, body, MemberOp::Remove).await
}
