//! `/api/v1/accounts/{account_id}/canned_responses`: saved replies, with Chatwoot's
//! paths and field names.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use parley_service::canned::{CannedSource, RenderedCanned};
use parley_service::views::canned::{CannedView, canned_view};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(render))
}

/// Optional search of the list.
#[derive(Deserialize, IntoParams)]
pub struct CannedQuery {
    /// Case-insensitive text looked for in short codes and contents.
    pub search: Option<String>,
}

/// Fields of a canned response; both are required on create.
#[derive(Deserialize, ToSchema)]
pub struct CannedRequest {
    /// Typed after `/` in the composer; no spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"^\S+$")]
    pub short_code: Option<String>,
    #[schema(min_length = 1, max_length = 10000)]
    pub content: Option<String>,
}

/// Lists the account's canned responses, short-code prefix matches first when searching.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/canned_responses", tag = "Canned Responses",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), CannedQuery),
    responses((status = 200, body = [CannedView]), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(q): Query<CannedQuery>,
) -> ApiResult<Json<Vec<CannedView>>> {
    let list = st.svc.list_canned(&ctx, q.search.as_deref()).await?;
    Ok(Json(list.iter().map(canned_view).collect()))
}

/// Creates a canned response (administrators only); short codes are unique per account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/canned_responses", tag = "Canned Responses",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = CannedRequest,
    responses((status = 200, body = CannedView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<CannedRequest>,
) -> ApiResult<Json<CannedView>> {
    let c = st
        .svc
        .create_canned(&ctx, body.short_code.as_deref(), body.content.as_deref())
        .await?;
    Ok(Json(canned_view(&c)))
}

/// Updates a canned response (administrators only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/canned_responses/{id}", tag = "Canned Responses",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Canned response id")),
    request_body = CannedRequest,
    responses((status = 200, body = CannedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<CannedRequest>,
) -> ApiResult<Json<CannedView>> {
    let id = path.1;
    let c = st
        .svc
        .update_canned(
            &ctx,
            id,
            body.short_code.as_deref(),
            body.content.as_deref(),
        )
        .await?;
    Ok(Json(canned_view(&c)))
}

/// Deletes a canned response (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/canned_responses/{id}", tag = "Canned Responses",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Canned response id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = path.1;
    st.svc.delete_canned(&ctx, id).await?;
    Ok(StatusCode::OK)
}

/// What to render: a saved canned response or a template text (exactly one).
#[derive(Deserialize, ToSchema)]
pub struct RenderRequest {
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub canned_response_id: Option<i64>,
    /// A template text, e.g. to preview one being written (at most 10,000 characters).
    pub content: Option<String>,
}

/// Renders a canned response for a conversation with the server's values of its variables
/// (`contact.name`, `contact.first_name`, `contact.last_name`, `contact.email`,
/// `contact.phone_number`, `contact.id`, `contact.custom_attribute.KEY`, `agent.name`,
/// `agent.first_name`, `agent.last_name`, `agent.email` — the calling agent —,
/// `conversation.id`, `conversation.custom_attribute.KEY`, `inbox.name`, `account.name`).
/// Variables without a value stay in the text and are listed in `missing`.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/canned_responses/render", tag = "Canned Responses",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("conversation_id" = i64, Path, description = "Conversation id")),
    request_body = RenderRequest,
    responses((status = 200, body = RenderedCanned), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn render(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(body): Json<RenderRequest>,
) -> ApiResult<Json<RenderedCanned>> {
    let source = match (body.canned_response_id, body.content) {
        (Some(c), None) => CannedSource::Saved(c),
        (None, Some(t)) => CannedSource::Text(t),
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "content",
                "send canned_response_id or content, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::unprocessable(
                "canned_response_id",
                "canned_response_id or content is required",
            ));
        }
    };
    Ok(Json(st.svc.render_canned(&ctx, id, source).await?))
}
