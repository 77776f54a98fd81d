//! `/api/v1/accounts/{account_id}/labels`: the account's label definitions, with
//! Chatwoot's paths and field names.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use parley_service::labels::LabelInput;
use parley_service::views::labels::{LabelView, label_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

/// `{"payload": [...]}`, Chatwoot's list envelope for labels.
#[derive(Serialize, ToSchema)]
pub struct LabelList {
    pub payload: Vec<LabelView>,
}

/// Fields of a label create or update request. `title` (letters, digits, `-`, `_`;
/// lower-cased) is required on create; an empty `description` clears it.
#[derive(Deserialize, ToSchema)]
pub struct LabelRequest {
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]+$")]
    pub title: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// `#rrggbb`.
    #[schema(pattern = r"^#[0-9A-Fa-f]{6}$")]
    pub color: Option<String>,
    pub show_on_sidebar: Option<bool>,
}

impl From<LabelRequest> for LabelInput {
    fn from(r: LabelRequest) -> Self {
        LabelInput {
            title: r.title,
            description: r.description,
            color: r.color,
            show_on_sidebar: r.show_on_sidebar,
        }
    }
}

/// Lists the account's labels.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/labels", tag = "Labels",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = LabelList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<LabelList>> {
    let payload = st
        .svc
        .list_labels(&ctx)
        .await?
        .iter()
        .map(label_view)
        .collect();
    Ok(Json(LabelList { payload }))
}

/// Creates a label (administrators only); titles are unique per account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/labels", tag = "Labels",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = LabelRequest,
    responses((status = 200, body = LabelView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<LabelRequest>,
) -> ApiResult<Json<LabelView>> {
    Ok(Json(label_view(
        &st.svc.create_label(&ctx, body.into()).await?,
    )))
}

/// Shows a label.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Label id")),
    responses((status = 200, body = LabelView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<LabelView>> {
    let id = path.1;
    Ok(Json(label_view(&st.svc.label(&ctx, id).await?)))
}

/// Updates a label (administrators only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Label id")),
    request_body = LabelRequest,
    responses((status = 200, body = LabelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<LabelRequest>,
) -> ApiResult<Json<LabelView>> {
    let id = path.1;
    Ok(Json(label_view(
        &st.svc.update_label(&ctx, id, body.into()).await?,
    )))
}

/// Deletes a label definition (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/labels/{id}", tag = "Labels",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Label id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = path.1;
    st.svc.delete_label(&ctx, id).await?;
    Ok(StatusCode::OK)
}
