//! Signing in and out of the console, and first-run setup.
//!
//! `POST /auth/sign_in` follows Chatwoot's path; the session travels in an HttpOnly,
//! SameSite=Lax cookie. Setup works only while the installation has no user.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::public_auth::ClientIp;
use parley_service::views::profile::{ProfileView, profile_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(setup_status, setup))
}

/// Credentials for signing in.
#[derive(Deserialize, ToSchema)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Wraps the profile as Chatwoot's sign-in does.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub data: ProfileView,
}

fn session_cookie(st: &AppState, token: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if st.cfg.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let v = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("parley_session=; Path=/; Max-Age=0"))
}

/// Signs in with e-mail and password and sets the session cookie.
#[utoipa::path(post, path = "/auth/sign_in", tag = "Auth", request_body = SignIn,
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody),
        (status = 429, description = "Too many attempts from this address or for this account; see `Retry-After`", body = ErrorBody),
        (status = 503, description = "Password checking is saturated; see `Retry-After`", body = ErrorBody)))]
async fn sign_in(
    State(st): State<AppState>,
    ClientIp(address): ClientIp,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let (principal, token) = st
        .svc
        .login(&body.email, &body.password, &address)
        .await
        .map_err(|e| match e {
            parley_service::ServiceError::Unauthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid e-mail or password",
            ),
            other => other.into(),
        })?;
    let cookie = session_cookie(&st, &token, st.svc.config.session_ttl_ms / 1000);
    let body = SignedIn {
        data: profile_view(&principal, None),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Ends the current session and clears the cookie.
#[utoipa::path(delete, path = "/auth/sign_out", tag = "Auth", responses((status = 200)))]
async fn sign_out(State(st): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        st.svc.logout(&token).await?;
    }
    let cleared = session_cookie(&st, "", 0);
    Ok((
        [(header::SET_COOKIE, cleared)],
        Json(serde_json::json!({"success": true})),
    )
        .into_response())
}

/// Whether first-run setup is still possible.
#[derive(Serialize, ToSchema)]
pub struct SetupStatus {
    pub setup_needed: bool,
}

/// Tells the console whether to show its setup page.
#[utoipa::path(get, path = "/api/v1/setup", tag = "Auth", responses((status = 200, body = SetupStatus)))]
async fn setup_status(State(st): State<AppState>) -> ApiResult<Json<SetupStatus>> {
    Ok(Json(SetupStatus {
        setup_needed: st.svc.setup_needed().await?,
    }))
}

/// The first administrator and account.
#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 255)]
    pub account_name: String,
    #[serde(default)]
    pub locale: Option<String>,
}

/// What setup created; the access token is shown only here.
#[derive(Serialize, ToSchema)]
pub struct SetupResponse {
    pub account_id: i64,
    pub access_token: String,
    pub user: ProfileView,
}

/// Creates the first administrator and account, and signs them in. Answers 409 once any
/// user exists.
#[utoipa::path(post, path = "/api/v1/setup", tag = "Auth", request_body = SetupRequest,
    responses((status = 201, body = SetupResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`); see `Retry-After`", body = ErrorBody)))]
async fn setup(State(st): State<AppState>, Json(body): Json<SetupRequest>) -> ApiResult<Response> {
    let done = st
        .svc
        .setup(
            &body.name,
            &body.email,
            &body.password,
            &body.account_name,
            body.locale.as_deref().unwrap_or("en"),
        )
        .await?;
    let principal = st
        .svc
        .authenticate_session(&done.session_token)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "session was not stored",
            )
        })?;
    let cookie = session_cookie(
        &st,
        &done.session_token,
        st.svc.config.session_ttl_ms / 1000,
    );
    let body = SetupResponse {
        account_id: done.account_id,
        access_token: done.access_token.clone(),
        user: profile_view(&principal, None),
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(body),
    )
        .into_response())
}
