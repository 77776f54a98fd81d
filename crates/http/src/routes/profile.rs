//! `/api/v1/profile`: the signed-in user's own data, password change and API token.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;
use parley_service::Principal;
use parley_service::profile::ProfileUpdate;
use parley_service::views::profile::{ProfileView, profile_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, update_put, update_patch))
        .routes(routes!(reset_token))
}

/// Returns the signed-in user's profile.
#[utoipa::path(get, path = "/api/v1/profile", tag = "Profile", security(("api_access_token" = [])),
    responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody)))]
async fn show(auth: Auth) -> ApiResult<Json<ProfileView>> {
    Ok(Json(profile_view(&auth.principal, None)))
}

/// Profile fields to change.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ProfileFields {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
    pub current_password: Option<String>,
}

/// Chatwoot wraps the fields in `profile`.
#[derive(Deserialize, ToSchema)]
pub struct ProfileUpdateRequest {
    pub profile: ProfileFields,
}

async fn do_update(st: AppState, auth: Auth, f: ProfileFields) -> ApiResult<Json<ProfileView>> {
    let up = ProfileUpdate {
        name: f.name,
        display_name: f.display_name,
        email: f.email,
        password: f.password,
        password_confirmation: f.password_confirmation,
        current_password: f.current_password,
    };
    let user = st
        .svc
        .update_profile(&auth.principal.user, up, auth.session.as_deref())
        .await?;
    let principal = Principal {
        user,
        memberships: auth.principal.memberships,
    };
    Ok(Json(profile_view(&principal, None)))
}

/// Updates name, display name, e-mail or password (the last two need `current_password`).
#[utoipa::path(put, path = "/api/v1/profile", tag = "Profile", security(("api_access_token" = [])),
    request_body = ProfileUpdateRequest,
    responses((status = 200, body = ProfileView), (status = 422, body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`); see `Retry-After`", body = ErrorBody)))]
async fn update_put(
    State(st): State<AppState>,
    auth: Auth,
    Json(body): Json<ProfileUpdateRequest>,
) -> ApiResult<Json<ProfileView>> {
    do_update(st, auth, body.profile).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/profile", tag = "Profile", security(("api_access_token" = [])),
    request_body = ProfileUpdateRequest,
    responses((status = 200, body = ProfileView), (status = 422, body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`); see `Retry-After`", body = ErrorBody)))]
async fn update_patch(
    State(st): State<AppState>,
    auth: Auth,
    Json(body): Json<ProfileUpdateRequest>,
) -> ApiResult<Json<ProfileView>> {
    do_update(st, auth, body.profile).await
}

/// Issues a new API access token, replacing the old ones; it is shown only in this response.
#[utoipa::path(post, path = "/api/v1/profile/access_token", tag = "Profile", security(("api_access_token" = [])),
    responses((status = 200, body = ProfileView)))]
async fn reset_token(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<ProfileView>> {
    let token = st.svc.reset_access_token(auth.principal.user.id).await?;
    Ok(Json(profile_view(&auth.principal, Some(token))))
}
