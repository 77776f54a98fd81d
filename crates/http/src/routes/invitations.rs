//! `/api/v1/profile/invitations`: invitations of the signed-in user into other accounts
//! (docs/api.md, "Inviting an existing user"). An administrator who adds the e-mail of an
//! existing user only invites them; the membership starts when the user accepts here.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use parley_service::views::invitations::{InvitationView, invitation_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(accept))
        .routes(routes!(decline))
}

/// The user's pending invitations.
#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    pub payload: Vec<InvitationView>,
}

/// Lists the signed-in user's pending invitations.
#[utoipa::path(get, path = "/api/v1/profile/invitations", tag = "Profile",
    security(("api_access_token" = [])),
    responses((status = 200, body = InvitationList), (status = 401, body = ErrorBody)))]
async fn list(State(st): State<AppState>, auth: Auth) -> ApiResult<Json<InvitationList>> {
    let rows = st.svc.my_invitations(auth.principal.user.id).await?;
    Ok(Json(InvitationList {
        payload: rows.iter().map(invitation_view).collect(),
    }))
}

/// Accepts an invitation: the user becomes a member of its account with its role.
#[utoipa::path(post, path = "/api/v1/profile/invitations/{id}/accept", tag = "Profile",
    security(("api_access_token" = [])),
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 200, body = InvitationView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn accept(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<InvitationView>> {
    let row = st.svc.accept_invitation(auth.principal.user.id, id).await?;
    Ok(Json(invitation_view(&row)))
}

/// Declines an invitation; the inviting account is not told.
#[utoipa::path(post, path = "/api/v1/profile/invitations/{id}/decline", tag = "Profile",
    security(("api_access_token" = [])),
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 200, description = "Declined"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn decline(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    st.svc
        .decline_invitation(auth.principal.user.id, id)
        .await?;
    Ok(Json(serde_json::json!({"success": true})))
}
