//! Extractors of the public Client API. `{inbox_identifier}` must name an inbox and
//! `{contact_identifier}` a contact identity of that inbox; anything else is a 404 that
//! says nothing about which part was wrong.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use parley_service::public::{PublicIdentity, PublicInbox};

use crate::AppState;
use crate::error::ApiError;

fn param(params: &RawPathParams, name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn params(parts: &mut Parts, state: &AppState) -> Result<RawPathParams, ApiError> {
    RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::not_found("inbox"))
}

/// The inbox named by `{inbox_identifier}`.
pub struct PubInbox(pub PublicInbox);

impl FromRequestParts<AppState> for PubInbox {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = params(parts, state).await?;
        let id = param(&p, "inbox_identifier")
            .filter(|s| s.len() <= 128)
            .ok_or_else(|| ApiError::not_found("inbox"))?;
        let inbox = state.svc.public_inbox(&id).await?;
        inbox
            .map(PubInbox)
            .ok_or_else(|| ApiError::not_found("inbox"))
    }
}

/// The visitor identified by `{inbox_identifier}` + `{contact_identifier}`.
pub struct PubContact(pub PublicIdentity);

impl FromRequestParts<AppState> for PubContact {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = params(parts, state).await?;
        let inbox = param(&p, "inbox_identifier");
        let contact = param(&p, "contact_identifier");
        let (Some(inbox), Some(contact)) = (inbox, contact) else {
            return Err(ApiError::not_found("contact"));
        };
        let ident = state.svc.public_identity(&inbox, &contact).await?;
        ident
            .map(PubContact)
            .ok_or_else(|| ApiError::not_found("contact"))
    }
}

/// The client's address, for per-client rate limits of public endpoints: the TCP peer, or
/// with `trust_proxy` the last `X-Forwarded-For` hop (the one our own proxy appended;
/// earlier hops are whatever the client claimed).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.cfg.trust_proxy
            && let Some(hop) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|h| !h.is_empty())
        {
            return Ok(ClientIp(hop.to_string()));
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<crate::ops::PeerAddr>>()
            .map(|c| c.0.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        Ok(ClientIp(peer))
    }
}
