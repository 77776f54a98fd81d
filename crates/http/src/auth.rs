//! Who is calling: an `api_access_token` header (Chatwoot's), an `Authorization: Bearer`
//! token, or the console's session cookie. Cookie-authenticated writes must also prove
//! they come from our own pages (same-origin `Origin` or an `X-Requested-With` header),
//! which a cross-site form cannot do.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, header};
use parley_service::{AccountCtx, Principal};

use crate::AppState;
use crate::error::ApiError;

/// Name of the console's session cookie.
pub const SESSION_COOKIE: &str = "parley_session";

/// A verified user.
pub struct Auth {
    pub principal: Principal,
    /// The session token when authenticated by cookie (kept on password change).
    pub session: Option<String>,
}

/// A verified user acting inside the account named by the `{account_id}` path segment.
/// Not being a member of that account answers 404, exactly like a missing account.
pub struct Acct(pub AccountCtx);

/// Reads a cookie value from the request headers.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|raw| {
            raw.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        })
}

/// The token of the `api_access_token` or `Authorization: Bearer` header.
pub(crate) fn header_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get("api_access_token")
        .and_then(|v| v.to_str().ok())
    {
        return Some(v.trim().to_string());
    }
    let auth = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    auth.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// How an agent bot's API token starts (users' tokens are plain hex).
const BOT_TOKEN_PREFIX: &str = "bot_";

/// What an agent bot may call with its token: its inboxes' conversations (the service
/// checks the inbox), their messages, status, labels, priority and custom attributes.
fn bot_may_call(method: &Method, path: &str, account: &str) -> bool {
    let prefix = format!("/api/v1/accounts/{account}/conversations/");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return false;
    };
    let rest = rest.trim_end_matches('/');
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    matches!(
        (method.as_str(), tail),
        ("GET", "")
            | ("GET" | "POST", "messages")
            | ("POST", "toggle_status")
            | ("POST", "toggle_priority")
            | ("GET" | "POST", "labels")
            | ("POST", "custom_attributes")
    )
}

fn same_origin_or_xhr(parts: &Parts) -> bool {
    parts.headers.contains_key("x-requested-with") || same_origin(parts)
}

/// Whether the request's `Origin` is the host it was sent to (our own pages).
pub(crate) fn same_origin(parts: &Parts) -> bool {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        }
        _ => false,
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(token) = header_token(parts) {
            return match state.svc.authenticate_token(&token).await? {
                Some(principal) => Ok(Auth {
                    principal,
                    session: None,
                }),
                None => Err(ApiError::unauthorized()),
            };
        }
        if let Some(token) = cookie(parts, SESSION_COOKIE) {
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !safe && !same_origin_or_xhr(parts) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "cookie-authenticated writes need a same-origin Origin or an X-Requested-With header",
                ));
            }
            return match state.svc.authenticate_session(&token).await? {
                Some(principal) => Ok(Auth {
                    principal,
                    session: Some(token),
                }),
                None => Err(ApiError::unauthorized()),
            };
        }
        Err(ApiError::unauthorized())
    }
}

impl FromRequestParts<AppState> for Acct {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("account"))?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == "account_id")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| ApiError::not_found("account"))?;
        let account_id: i64 = raw
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_path", "account_id must be an integer"))?;
        if let Some(token) = header_token(parts).filter(|t| t.starts_with(BOT_TOKEN_PREFIX)) {
            if !bot_may_call(&parts.method, parts.uri.path(), &raw) {
                return Err(ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "forbidden",
                    "an agent bot's token reaches only the conversations of its inboxes \
                     (messages, status, labels, priority, custom attributes)",
                ));
            }
            return match state.svc.authenticate_bot(&token, account_id).await? {
                Some(ctx) => Ok(Acct(ctx)),
                None => Err(ApiError::unauthorized()),
            };
        }
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.principal
            .in_account(account_id)
            .map(Acct)
            .ok_or_else(|| ApiError::not_found("account"))
    }
}
