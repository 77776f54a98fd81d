//! The console's first-run guide state (Parley; Chatwoot keeps onboarding in the browser,
//! Parley keeps it per account so it follows the owner to any browser).

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject};
use parley_service::onboarding::{OnboardingPatch, OnboardingView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(onboarding, update_onboarding))
}

/// The guide's state: which steps are done (derived from the account) and what the owner
/// copied, opened or dismissed.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/onboarding", tag = "Accounts",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = OnboardingView), (status = 404, body = ErrorBody)))]
async fn onboarding(
    State(st): State<AppState>,
    Acct(ctx): Acct,
) -> ApiResult<Json<OnboardingView>> {
    Ok(Json(st.svc.onboarding(&ctx).await?))
}

/// Records that the snippet was copied, the demo page opened, or the guide dismissed
/// (administrators); absent fields stay as they are, unknown ones are rejected.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/onboarding", tag = "Accounts",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    request_body = OnboardingPatch,
    responses((status = 200, body = OnboardingView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_onboarding(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(patch): JsonObject<OnboardingPatch>,
) -> ApiResult<Json<OnboardingView>> {
    Ok(Json(st.svc.update_onboarding(&ctx, patch).await?))
}
