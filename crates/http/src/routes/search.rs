//! `/api/v1/accounts/{account_id}/search…`: Chatwoot's archive search (all kinds, or
//! conversations, messages or contacts alone), `/conversations/search`, and the index's
//! status. Handlers only parse the query string; `parley_service::search` decides.

use axum::extract::State;
use parley_service::conversations::ListQuery;
use parley_service::search::{SearchKind, SearchParams, SearchResponse, SearchStatusView};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Query};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_all))
        .routes(routes!(search_conversations))
        .routes(routes!(search_messages))
        .routes(routes!(search_contacts))
        .routes(routes!(status))
        .routes(routes!(conversations_search))
}

/// Query parameters of a search (`labels[]` may repeat).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; parsed from the raw pairs
pub struct SearchQueryDoc {
    /// Words (every one must match, in any form: «доставки» finds «Доставка»; the last
    /// word also as a prefix) and "quoted phrases". At most 256 characters, 32 words.
    q: String,
    inbox_id: Option<i64>,
    team_id: Option<i64>,
    /// Messages of conversations assigned to this agent.
    assignee_id: Option<i64>,
    /// `open`, `resolved`, `pending`, `snoozed` or `all` (default).
    status: Option<String>,
    /// Conversations with any of these labels; repeat as `labels[]=a&labels[]=b`.
    #[serde(rename = "labels[]")]
    #[param(rename = "labels[]")]
    labels: Option<Vec<String>>,
    /// Messages from this time on: epoch seconds or `YYYY-MM-DD` (UTC).
    since: Option<String>,
    /// Messages up to this time: epoch seconds (exclusive) or `YYYY-MM-DD` (that day included).
    until: Option<String>,
    /// The inbox's channel type, e.g. `Channel::WebWidget`, `Channel::Telegram`.
    channel: Option<String>,
    /// `meta.next_cursor` of the previous page (not on `/search` itself).
    cursor: Option<String>,
    /// Hits per page, 1–50 (20).
    limit: Option<i64>,
}

fn int_param(name: &str, v: &str) -> Result<i64, ApiError> {
    v.parse()
        .map_err(|_| ApiError::bad_request("invalid_query", format!("{name} must be an integer")))
}

fn search_params(pairs: Vec<(String, String)>) -> Result<SearchParams, ApiError> {
    let mut p = SearchParams::default();
    let mut n = 0;
    for (k, v) in pairs {
        n += 1;
        if n > 64 {
            return Err(ApiError::bad_request(
                "invalid_query",
                "too many query parameters",
            ));
        }
        match k.as_str() {
            "q" => p.q = Some(v),
            "inbox_id" if !v.is_empty() => p.inbox_id = Some(int_param("inbox_id", &v)?),
            "team_id" if !v.is_empty() => p.team_id = Some(int_param("team_id", &v)?),
            "assignee_id" if !v.is_empty() => p.assignee_id = Some(int_param("assignee_id", &v)?),
            "limit" if !v.is_empty() => p.limit = Some(int_param("limit", &v)?),
            "status" => p.status = Some(v),
            "labels[]" | "labels" if !v.is_empty() => p.labels.push(v),
            "since" if !v.is_empty() => p.since = Some(v),
            "until" if !v.is_empty() => p.until = Some(v),
            "channel" => p.channel = Some(v),
            "cursor" if !v.is_empty() => p.cursor = Some(v),
            _ => {}
        }
    }
    Ok(p)
}

async fn run(
    st: &AppState,
    ctx: &parley_service::AccountCtx,
    kind: SearchKind,
    pairs: Vec<(String, String)>,
) -> ApiResult<Json<SearchResponse>> {
    let p = search_params(pairs)?;
    Ok(Json(st.svc.search(ctx, kind, &p).await?))
}

/// Searches messages, conversations and contacts at once: the first page of each, newest
/// first. `meta.index_complete` is false while older rows are still being indexed.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search", tag = "Search",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), SearchQueryDoc),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn search_all(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<SearchResponse>> {
    run(&st, &ctx, SearchKind::All, pairs).await
}

/// Conversations with a matching message or contact, newest activity first
/// (`payload.conversations`), paged by `meta.next_cursor`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search/conversations", tag = "Search",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), SearchQueryDoc),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn search_conversations(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<SearchResponse>> {
    run(&st, &ctx, SearchKind::Conversations, pairs).await
}

/// Matching messages, newest first (`payload.messages`, each with its HTML `snippet`:
/// the text escaped, hits in `<mark>`), paged by `meta.next_cursor`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search/messages", tag = "Search",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), SearchQueryDoc),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn search_messages(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<SearchResponse>> {
    run(&st, &ctx, SearchKind::Messages, pairs).await
}

/// Matching contacts, newest first (`payload.contacts`), paged by `meta.next_cursor`.
/// Agents find only contacts with a conversation in one of their inboxes.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search/contacts", tag = "Search",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), SearchQueryDoc),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn search_contacts(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<SearchResponse>> {
    run(&st, &ctx, SearchKind::Contacts, pairs).await
}

/// Whether the search index covers every stored row yet (the background reindex of rows
/// stored before it existed), and how far it is.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/search/status", tag = "Search",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    responses((status = 200, body = SearchStatusView)))]
async fn status(State(st): State<AppState>, Acct(_ctx): Acct) -> ApiResult<Json<SearchStatusView>> {
    Ok(Json(st.svc.search_status().await?))
}

/// Chatwoot's conversation search: the conversation list's shape (`data.meta`,
/// `data.payload`) for conversations with a message or contact matching `q`, every
/// status unless `status` says otherwise.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/search", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), SearchQueryDoc),
    responses((status = 200, description = "`{\"data\": {\"meta\": {…}, \"payload\": [conversation]}}`", body = Value),
        (status = 422, body = ErrorBody)))]
async fn conversations_search(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let p = search_params(pairs)?;
    let q = p.q.as_deref().map(str::trim).unwrap_or("");
    if q.is_empty() {
        return Err(
            parley_service::ServiceError::from(parley_core::validate::FieldError::new(
                "q",
                "is required",
            ))
            .into(),
        );
    }
    let list = ListQuery {
        status: Some(p.status.clone().unwrap_or_else(|| "all".into())),
        inbox_id: p.inbox_id,
        team_id: p.team_id,
        labels: p.labels.clone(),
        q: Some(q.to_string()),
        cursor: p.cursor.clone(),
        ..ListQuery::default()
    };
    let page = st.svc.list_conversations(&ctx, &list).await?;
    Ok(Json(json!({ "data": page })))
}
