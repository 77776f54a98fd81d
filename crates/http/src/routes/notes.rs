//! `/api/v1/accounts/{account_id}/contacts/{contact_id}/notes`: notes about a contact, with
//! Chatwoot's paths and field names.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use parley_service::notes::NoteView;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
}

/// The note's text (1 to 10,000 characters).
#[derive(Deserialize, ToSchema)]
pub struct NoteRequest {
    #[schema(min_length = 1, max_length = 10000)]
    pub content: String,
}

/// The contact's notes, newest first.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes", tag = "Contacts",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("contact_id" = i64, Path)),
    responses((status = 200, body = Vec<NoteView>), (status = 404, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, contact)): Path<(i64, i64)>,
) -> ApiResult<Json<Vec<NoteView>>> {
    Ok(Json(st.svc.contact_notes(&ctx, contact).await?))
}

/// Adds a note written by the caller.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes", tag = "Contacts",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("contact_id" = i64, Path)),
    request_body = NoteRequest,
    responses((status = 200, body = NoteView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, contact)): Path<(i64, i64)>,
    Json(body): Json<NoteRequest>,
) -> ApiResult<Json<NoteView>> {
    Ok(Json(
        st.svc
            .create_contact_note(&ctx, contact, &body.content)
            .await?,
    ))
}

/// Changes a note's text (its author or an administrator).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes/{note_id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("contact_id" = i64, Path), ("note_id" = i64, Path)),
    request_body = NoteRequest,
    responses((status = 200, body = NoteView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, contact, id)): Path<(i64, i64, i64)>,
    Json(body): Json<NoteRequest>,
) -> ApiResult<Json<NoteView>> {
    Ok(Json(
        st.svc
            .update_contact_note(&ctx, contact, id, &body.content)
            .await?,
    ))
}

/// Deletes a note (its author or an administrator).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes/{note_id}", tag = "Contacts",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path), ("contact_id" = i64, Path), ("note_id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, contact, id)): Path<(i64, i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_contact_note(&ctx, contact, id).await?;
    Ok(StatusCode::OK)
}
