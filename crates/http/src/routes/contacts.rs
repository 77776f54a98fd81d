//! `/api/v1/accounts/{account_id}/contacts…`: Chatwoot's contact endpoints (list, search,
//! create, show, update, delete, labels, contact inboxes) with its field names.
//!
//! Every member of the account may read and edit contacts; only administrators delete.
//! Another account's contact answers 404 like a missing one.

use axum::extract::State;
use axum::http::StatusCode;
use parley_service::contacts::{ContactChanges, ListParams, NewContact};
use parley_service::views::contacts::{
    ContactInboxView, ContactList, ContactView, contact_inbox_view, contact_view, list_view,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query, present};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(search))
        .routes(routes!(show, update_put, update_patch, destroy))
        .routes(routes!(labels, set_labels))
        .routes(routes!(create_contact_inbox))
        .routes(routes!(conversations))
}

/// One contact.
#[derive(Serialize, ToSchema)]
pub struct ContactPayload {
    pub payload: ContactView,
}

/// The created contact and, when `inbox_id` was given, its identity there.
#[derive(Serialize, ToSchema)]
pub struct CreatedContact {
    pub contact: ContactView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_inbox: Option<ContactInboxView>,
}

/// Chatwoot wraps the created contact in `payload`.
#[derive(Serialize, ToSchema)]
pub struct CreatedContactPayload {
    pub payload: CreatedContact,
}

/// A contact's labels.
#[derive(Serialize, ToSchema)]
pub struct LabelsPayload {
    pub payload: Vec<String>,
}

/// `{account_id}` and the contact's `{id}`.
#[derive(Deserialize)]
pub struct ContactPath {
    #[allow(dead_code)] // checked by the `Acct` extractor
    pub account_id: i64,
    pub id: i64,
}

/// `page` and `sort` of the list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1-based page of 15 contacts.
    pub page: Option<u32>,
    /// `name`, `email`, `phone_number`, `last_activity_at` or `created_at`; `-` prefix for
    /// descending. Default `-last_activity_at`.
    pub sort: Option<String>,
}

/// Search query, `page` and `sort`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Case-insensitive substring of name, e-mail, phone number or identifier.
    pub q: Option<String>,
    pub page: Option<u32>,
    pub sort: Option<String>,
}

/// A new contact. Unknown fields are ignored, as Chatwoot does.
#[derive(Deserialize, ToSchema)]
pub struct CreateContactRequest {
    /// Also create the contact's identity in this inbox of the account.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub inbox_id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// Your system's id of this customer (unique in the account).
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub additional_attributes: Option<serde_json::Value>,
    pub blocked: Option<bool>,
}

/// Changes to a contact: absent fields stay, `null` or `""` clears a text field;
/// attribute objects are merged key by key (a `null` value removes the key).
#[derive(Deserialize, ToSchema)]
pub struct UpdateContactRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub identifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub custom_attributes: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub additional_attributes: Option<serde_json::Value>,
    pub blocked: Option<bool>,
    /// Marks the contact VIP (first in queues) or not.
    pub vip: Option<bool>,
}

/// The new set of labels.
#[derive(Deserialize, ToSchema)]
pub struct LabelsRequest {
    pub labels: Vec<String>,
}

/// A new identity of the contact.
#[derive(Deserialize, ToSchema)]
pub struct ContactInboxRequest {
    #[serde(deserialize_with = "crate::ids::id_like")]
    #[schema(value_type = i64)]
    pub inbox_id: i64,
    /// The channel's id of this person; random when absent.
    pub source_id: Option<String>,
}

/// Lists the account's contacts that have an e-mail, phone number or identifier
/// (Chatwoot's "resolved" contacts), 15 per page.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ListQuery),
    responses((status = 200, body = ContactList), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ContactList>> {
    let page = st
        .svc
        .list_contacts(
            &ctx,
            ListParams {
                page: q.page,
                sort: q.sort,
            },
        )
        .await?;
    Ok(Json(list_view(page)))
}

/// Searches the account's contacts by name, e-mail, phone number or identifier.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/search", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), SearchQuery),
    responses((status = 200, body = ContactList), (status = 422, body = ErrorBody)))]
async fn search(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<ContactList>> {
    let page = st
        .svc
        .search_contacts(
            &ctx,
            q.q.as_deref(),
            ListParams {
                page: q.page,
                sort: q.sort,
            },
        )
        .await?;
    Ok(Json(list_view(page)))
}

/// Creates a contact (and its identity in `inbox_id` when given). A taken e-mail or
/// identifier is a 422 naming the field.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path)),
    request_body = CreateContactRequest,
    responses((status = 200, body = CreatedContactPayload), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(b): Json<CreateContactRequest>,
) -> ApiResult<Json<CreatedContactPayload>> {
    let (details, ci) = st
        .svc
        .create_contact(
            &ctx,
            NewContact {
                inbox_id: b.inbox_id,
                name: b.name,
                email: b.email,
                phone_number: b.phone_number,
                identifier: b.identifier,
                avatar_url: b.avatar_url,
                custom_attributes: b.custom_attributes,
                additional_attributes: b.additional_attributes,
                blocked: b.blocked,
            },
        )
        .await?;
    Ok(Json(CreatedContactPayload {
        payload: CreatedContact {
            contact: contact_view(&details),
            contact_inbox: ci.as_ref().map(contact_inbox_view),
        },
    }))
}

/// Shows a contact of the account.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = ContactPayload), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
) -> ApiResult<Json<ContactPayload>> {
    let d = st.svc.contact_details(&ctx, p.id).await?;
    Ok(Json(ContactPayload {
        payload: contact_view(&d),
    }))
}

async fn do_update(
    st: AppState,
    ctx: parley_service::AccountCtx,
    id: i64,
    b: UpdateContactRequest,
) -> ApiResult<Json<ContactPayload>> {
    if let Some(vip) = b.vip {
        st.svc.set_contact_vip(&ctx, id, vip).await?;
    }
    let d = st
        .svc
        .update_contact(
            &ctx,
            id,
            ContactChanges {
                name: b.name,
                email: b.email,
                phone_number: b.phone_number,
                identifier: b.identifier,
                avatar_url: b.avatar_url,
                custom_attributes: b.custom_attributes,
                additional_attributes: b.additional_attributes,
                blocked: b.blocked,
            },
        )
        .await?;
    Ok(Json(ContactPayload {
        payload: contact_view(&d),
    }))
}

/// Updates a contact: fields given are changed, attribute objects are merged.
#[utoipa::path(put, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    request_body = UpdateContactRequest,
    responses((status = 200, body = ContactPayload), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_put(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
    Json(b): Json<UpdateContactRequest>,
) -> ApiResult<Json<ContactPayload>> {
    do_update(st, ctx, p.id, b).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    request_body = UpdateContactRequest,
    responses((status = 200, body = ContactPayload), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_patch(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
    Json(b): Json<UpdateContactRequest>,
) -> ApiResult<Json<ContactPayload>> {
    do_update(st, ctx, p.id, b).await
}

/// Deletes a contact with its identities, labels and conversations (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/contacts/{id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn destroy(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
) -> ApiResult<StatusCode> {
    st.svc.delete_contact(&ctx, p.id).await?;
    Ok(StatusCode::OK)
}

/// The labels of a contact.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/labels", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, body = LabelsPayload), (status = 404, body = ErrorBody)))]
async fn labels(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
) -> ApiResult<Json<LabelsPayload>> {
    let payload = st.svc.contact_labels(&ctx, p.id).await?;
    Ok(Json(LabelsPayload { payload }))
}

/// Replaces the labels of a contact with `labels`.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/labels", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    request_body = LabelsRequest,
    responses((status = 200, body = LabelsPayload), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn set_labels(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
    Json(b): Json<LabelsRequest>,
) -> ApiResult<Json<LabelsPayload>> {
    let payload = st.svc.set_contact_labels(&ctx, p.id, b.labels).await?;
    Ok(Json(LabelsPayload { payload }))
}

/// Gives a contact an identity in another inbox of the account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    request_body = ContactInboxRequest,
    responses((status = 200, body = ContactInboxView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_contact_inbox(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
    Json(b): Json<ContactInboxRequest>,
) -> ApiResult<Json<ContactInboxView>> {
    let ci = st
        .svc
        .create_contact_inbox(&ctx, p.id, b.inbox_id, b.source_id)
        .await?;
    Ok(Json(contact_inbox_view(&ci)))
}

/// The contact's conversations that the caller may see (agents: only their inboxes'),
/// newest activity first, as `{"payload": [conversation]}`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{id}/conversations", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("id" = i64, Path)),
    responses((status = 200, description = "`{\"payload\": [conversation]}`", body = Object),
        (status = 404, body = ErrorBody)))]
async fn conversations(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(p): Path<ContactPath>,
) -> ApiResult<Json<serde_json::Value>> {
    let payload = st.svc.contact_conversations(&ctx, p.id).await?;
    Ok(Json(serde_json::json!({ "payload": payload })))
}
