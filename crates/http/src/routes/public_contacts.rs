//! Client API contacts, `/public/api/v1/inboxes/{inbox_identifier}/contacts…`: a visitor
//! creates their contact (getting a `source_id`, their credential for later calls, and a
//! `pubsub_token` for the WebSocket), reads and updates it.
//!
//! The `{contact_identifier}` is looked up together with the inbox, so an identifier of
//! inbox X is unknown under inbox Y and one visitor's identifier never reaches another's
//! contact.

use axum::extract::State;
use axum::http::StatusCode;
use parley_service::contacts::{IdentityError, VisitorChanges, VisitorContact, VisitorError};
use parley_service::views::contacts::{PublicContactView, public_contact_view};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, present};
use crate::public_auth::{ClientIp, PubContact, PubInbox};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(show, update))
}

/// A visitor's contact. `identifier` (your system's user id) joins the existing contact
/// only with `identifier_hash` = hex HMAC-SHA256(identifier, the inbox's HMAC token).
#[derive(Deserialize, ToSchema)]
pub struct PublicContactCreate {
    pub identifier: Option<String>,
    pub identifier_hash: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
}

/// Changes to the visitor's own contact; absent fields stay, `null` clears.
#[derive(Deserialize, ToSchema)]
pub struct PublicContactUpdate {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
}

fn visitor_error(e: VisitorError) -> ApiError {
    match e {
        VisitorError::Identity(IdentityError::HashRequired) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "identifier_hash_required",
            IdentityError::HashRequired.to_string(),
        ),
        VisitorError::Identity(IdentityError::HashMismatch) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_identifier_hash",
            IdentityError::HashMismatch.to_string(),
        ),
        VisitorError::Service(e) => e.into(),
    }
}

/// Creates the visitor's contact and identity in this inbox.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts", tag = "Client API",
    params(("inbox_identifier" = String, Path)),
    request_body = PublicContactCreate,
    responses((status = 200, body = PublicContactView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    PubInbox(inbox): PubInbox,
    ClientIp(ip): ClientIp,
    Json(b): Json<PublicContactCreate>,
) -> ApiResult<Json<PublicContactView>> {
    st.svc.limit_visitor_signup(&ip)?;
    let v = st
        .svc
        .create_visitor_contact(
            &inbox,
            VisitorContact {
                identifier: b.identifier,
                identifier_hash: b.identifier_hash,
                name: b.name,
                email: b.email,
                phone_number: b.phone_number,
                custom_attributes: b.custom_attributes,
            },
        )
        .await
        .map_err(visitor_error)?;
    Ok(Json(public_contact_view(v)))
}

/// The visitor's own contact.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    responses((status = 200, body = PublicContactView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    PubContact(who): PubContact,
) -> ApiResult<Json<PublicContactView>> {
    Ok(Json(public_contact_view(
        st.svc.visitor_contact(&who).await?,
    )))
}

/// Updates the visitor's own name, e-mail, phone number or custom attributes.
#[utoipa::path(patch, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = PublicContactUpdate,
    responses((status = 200, body = PublicContactView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    PubContact(who): PubContact,
    Json(b): Json<PublicContactUpdate>,
) -> ApiResult<Json<PublicContactView>> {
    let v = st
        .svc
        .update_visitor_contact(
            &who,
            VisitorChanges {
                name: b.name,
                email: b.email,
                phone_number: b.phone_number,
                custom_attributes: b.custom_attributes,
            },
        )
        .await?;
    Ok(Json(public_contact_view(v)))
}
