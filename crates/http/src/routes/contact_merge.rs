//! One customer across channels: Chatwoot's contact merge
//! (`POST /api/v1/accounts/{account_id}/actions/contact_merge`) and Parley's list of a
//! contact's likely duplicates (`GET …/contacts/{id}/duplicates`).
//!
//! Every member of the account may call both, as Chatwoot lets every member merge.

use axum::extract::State;
use parley_service::views::contacts::{ContactView, DuplicateView, contact_view, duplicate_view};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject, Path};
use crate::routes::contacts::ContactPath;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(merge))
        .routes(routes!(duplicates))
}

/// Which contact stays and which is merged into it.
#[derive(Deserialize, ToSchema)]
pub struct ContactMergeRequest {
    /// The contact that stays and receives everything.
    #[serde(deserialize_with = "crate::ids::id_like")]
    #[schema(value_type = i64)]
    pub base_contact_id: i64,
    /// The contact merged into the base and then deleted.
    #[serde(deserialize_with = "crate::ids::id_like")]
    #[schema(value_type = i64)]
    pub mergee_contact_id: i64,
}

/// A contact's likely duplicates, oldest first (at most 20).
#[derive(Serialize, ToSchema)]
pub struct DuplicatesPayload {
    pub payload: Vec<DuplicateView>,
}

/// Merges the mergee contact into the base contact, in one transaction: the mergee's
/// identities in every inbox (its widget visitors keep working, now as the base contact),
/// conversations, messages, notes, labels and attributes move to the base (the base keeps
/// its values, the mergee fills the gaps) and the mergee is deleted. Answers the base
/// contact as Chatwoot does. The same id twice is a 422; a contact that is not the
/// account's is a 404, and nothing changes.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/actions/contact_merge", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path)),
    request_body = ContactMergeRequest,
    responses((status = 200, body = ContactView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn merge(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(b): JsonObject<ContactMergeRequest>,
) -> ApiResult<Json<ContactView>> {
    let merged = st
        .svc
        .merge_contacts(&ctx, b.base_contact_id, b.mergee_contact_id)
        .await?;
    Ok(Json(contact_view(&merged.contact)))
}

/// Other contacts of the account that look like the same customer: the same e-mail
/// (ignoring case; an e-mail a visitor typed that already belonged to another contact
/// counts) or the same phone number (ignoring spaces, dashes and brackets, with
/// `8 999 …` and `+7 999 …` one number). Parley's extension; the console offers a merge
/// when the list is not empty.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/duplicates", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = DuplicatesPayload), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn duplicates(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
) -> ApiResult<Json<DuplicatesPayload>> {
    let list = st.svc.contact_duplicates(&ctx, p.id).await?;
    Ok(Json(DuplicatesPayload {
        payload: list
            .iter()
            .map(|d| duplicate_view(&d.contact, &d.matched_by))
            .collect(),
    }))
}
