//! `/api/v1/accounts/{account_id}/conversations…`: Chatwoot's conversation API — list with
//! filters and tab counts, create, show, status, priority, assignment, labels, custom
//! attributes and "seen". `{conversation_id}` is the per-account `display_id`.
//!
//! Response bodies are the service's Chatwoot-shaped views (the same JSON the event bus
//! carries); the OpenAPI document describes them with the view types themselves.

use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query, json_rejection, present};
use parley_service::conversations::{ConversationView, CreateConversation, ListQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(meta))
        .routes(routes!(show, update))
        .routes(routes!(toggle_status))
        .routes(routes!(toggle_typing_status))
        .routes(routes!(toggle_priority))
        .routes(routes!(mute))
        .routes(routes!(unmute))
        .routes(routes!(assignments))
        .routes(routes!(labels, set_labels))
        .routes(routes!(custom_attributes))
        .routes(routes!(update_last_seen))
}

/// A JSON body that may be absent: Chatwoot's clients post some actions
/// (`toggle_priority`, `toggle_status`) with no body at all. An empty body reads as
/// `T::default()`; anything else must be JSON, judged like [`Json`].
pub(crate) struct OptJson<T>(pub T);

impl<T, S> FromRequest<S> for OptJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::too_large("request body")
                } else {
                    ApiError::bad_request("bad_request", e.body_text())
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptJson(T::default()));
        }
        if !ct.is_some_and(|c| c.starts_with("application/json") || c.contains("+json")) {
            return Err(ApiError::not_json());
        }
        let axum::Json(v) = axum::Json::<T>::from_bytes(&bytes).map_err(json_rejection)?;
        crate::input::check_json(&bytes)?;
        Ok(OptJson(v))
    }
}

/// Query parameters of the conversation list (`labels[]` may repeat).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters; parsed from the raw pairs
pub struct ListParams {
    /// `open` (default), `resolved`, `pending`, `snoozed` or `all`.
    status: Option<String>,
    /// `me`, `unassigned`, `assigned` or `all` (default).
    assignee_type: Option<String>,
    inbox_id: Option<i64>,
    team_id: Option<i64>,
    /// Conversations with any of these labels; repeat as `labels[]=a&labels[]=b`.
    #[serde(rename = "labels[]")]
    #[param(rename = "labels[]")]
    labels: Option<Vec<String>>,
    /// Conversations with a message containing this text.
    q: Option<String>,
    /// 1-based page of 25 (Chatwoot's paging); prefer `cursor`.
    page: Option<i64>,
    /// `meta.next_cursor` of the previous page: the next 25 after it (keyset paging,
    /// stable while conversations move). A page fetched by cursor has no tab counts.
    cursor: Option<String>,
    /// By satisfaction rating: `any` (rated), `none` (not rated), `low` (1–2), `high`
    /// (4–5) or one score `1`…`5`; anything else is a 422.
    rating: Option<String>,
    /// `mention`: only conversations where the caller was @mentioned in a private note.
    conversation_type: Option<String>,
}

fn int_param(name: &str, v: &str) -> Result<i64, ApiError> {
    v.parse()
        .map_err(|_| ApiError::bad_request("invalid_query", format!("{name} must be an integer")))
}

/// Parses the list's query pairs; unknown parameters are ignored as Chatwoot does.
fn list_query(pairs: Vec<(String, String)>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for (k, v) in pairs {
        match k.as_str() {
            "status" => q.status = Some(v),
            "assignee_type" => q.assignee_type = Some(v),
            "inbox_id" if !v.is_empty() => q.inbox_id = Some(int_param("inbox_id", &v)?),
            "team_id" if !v.is_empty() => q.team_id = Some(int_param("team_id", &v)?),
            "page" if !v.is_empty() => q.page = Some(int_param("page", &v)?),
            "cursor" if !v.is_empty() => q.cursor = Some(v),
            "labels[]" | "labels" if !v.is_empty() => q.labels.push(v),
            "q" if !v.trim().is_empty() => q.q = Some(v),
            "rating" => q.rating = Some(v),
            "conversation_type" => q.conversation_type = Some(v),
            _ => {}
        }
    }
    Ok(q)
}

/// Lists conversations, 25 per page, newest activity first, with the tab counts and the
/// next page's cursor in `meta`.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ListParams),
    responses((status = 200, description = "`{\"data\": {\"meta\": {mine_count, unassigned_count, assigned_count, all_count, next_cursor}, \"payload\": [conversation]}}` (no counts on a page fetched by cursor)", body = schemas::ListDoc),
        (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let q = list_query(pairs)?;
    let page = st.svc.list_conversations(&ctx, &q).await?;
    Ok(Json(json!({ "data": page })))
}

/// The tab counts for the same filters as the list.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/meta", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ListParams),
    responses((status = 200, description = "`{\"meta\": {mine_count, unassigned_count, assigned_count, all_count}}`", body = schemas::MetaCountsDoc)))]
async fn meta(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let q = list_query(pairs)?;
    let counts = st.svc.conversation_counts(&ctx, &q).await?;
    Ok(Json(json!({ "meta": counts })))
}

/// An initial message of a new conversation.
#[derive(Deserialize, ToSchema)]
pub struct InitialMessage {
    pub content: String,
}

/// Fields of a new conversation, Chatwoot's names.
#[derive(Deserialize, ToSchema)]
pub struct NewConversationRequest {
    pub source_id: Option<String>,
    #[serde(deserialize_with = "crate::ids::id_like")]
    #[schema(value_type = i64)]
    pub inbox_id: i64,
    /// Required unless `source_id` names the contact's identity in the inbox.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub contact_id: Option<i64>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<i64>,
    pub additional_attributes: Option<Value>,
    pub custom_attributes: Option<Value>,
    /// Sent as an outgoing message from the calling agent.
    pub message: Option<InitialMessage>,
}

/// Creates a conversation in an inbox for a contact of the account.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path)),
    request_body = NewConversationRequest,
    responses((status = 200, description = "The conversation", body = ConversationView),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(b): Json<NewConversationRequest>,
) -> ApiResult<Json<Value>> {
    let input = CreateConversation {
        inbox_id: b.inbox_id,
        contact_id: b.contact_id,
        source_id: b.source_id,
        status: b.status,
        assignee_id: b.assignee_id,
        team_id: b.team_id,
        additional_attributes: b.additional_attributes,
        custom_attributes: b.custom_attributes,
        message: b.message.map(|m| m.content),
    };
    let view = st.svc.create_conversation(&ctx, input).await?;
    Ok(Json(json!(view)))
}

/// One conversation.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "The conversation", body = ConversationView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(st.svc.show_conversation(&ctx, id).await?)))
}

/// A new status; without one, open and resolved alternate.
#[derive(Deserialize, ToSchema, Default)]
pub struct ToggleStatusRequest {
    /// `open`, `resolved`, `pending` or `snoozed`.
    #[schema(value_type = Option<crate::routes::schema_enums::Status>)]
    pub status: Option<String>,
    /// Epoch seconds, for `snoozed`.
    pub snoozed_until: Option<i64>,
}

/// Changes the status and records an activity message.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = ToggleStatusRequest,
    responses((status = 200, description = "`{\"meta\": {}, \"payload\": {success, current_status, conversation_id}}`", body = schemas::StatusToggledResponseDoc),
        (status = 422, body = ErrorBody)))]
async fn toggle_status(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    OptJson(b): OptJson<ToggleStatusRequest>,
) -> ApiResult<Json<Value>> {
    let r = st
        .svc
        .toggle_status(&ctx, id, b.status.as_deref(), b.snoozed_until)
        .await?;
    Ok(Json(json!({ "meta": {}, "payload": r })))
}

/// A new priority.
#[derive(Deserialize, ToSchema, Default)]
pub struct TogglePriorityRequest {
    /// `urgent`, `high`, `medium`, `low`; `none`, null or omitted clears it.
    pub priority: Option<String>,
}

/// Sets the priority.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_priority", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = TogglePriorityRequest,
    responses((status = 200, description = "`{\"meta\": {}, \"payload\": {success, priority, conversation_id}}`", body = Value),
        (status = 422, body = ErrorBody)))]
async fn toggle_priority(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    OptJson(b): OptJson<TogglePriorityRequest>,
) -> ApiResult<Json<Value>> {
    let view = st
        .svc
        .toggle_priority(&ctx, id, b.priority.as_deref())
        .await?;
    Ok(Json(json!({
        "meta": {},
        "payload": {"success": true, "priority": view.priority, "conversation_id": view.id}
    })))
}

/// Mutes the conversation: resolves it, and for six hours the contact's messages do not
/// reopen it (Chatwoot's `mute`; it answers with an empty 200, Parley with the conversation).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/mute", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
async fn mute(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<ConversationView>> {
    Ok(Json(st.svc.mute(&ctx, id).await?))
}

/// Unmutes the conversation: the contact's next message reopens it as usual.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/unmute", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
async fn unmute(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<ConversationView>> {
    Ok(Json(st.svc.unmute(&ctx, id).await?))
}

/// An agent or a team to assign; `null` (or 0) unassigns.
#[derive(Deserialize, ToSchema)]
pub struct AssignmentRequest {
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
}

/// Assigns an agent (who must be a member of the account, and of the inbox unless an
/// administrator or supervisor) or, without `assignee_id`, a team; returns the assignee
/// or the team.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/assignments", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = AssignmentRequest,
    responses((status = 200, description = "The agent or team (null when unassigned)", body = Value),
        (status = 422, body = ErrorBody)))]
async fn assignments(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<AssignmentRequest>,
) -> ApiResult<Json<Value>> {
    let zero_is_none = |v: Option<i64>| v.filter(|&x| x != 0);
    // As in Chatwoot, `team_id` is ignored when `assignee_id` is present.
    match (b.assignee_id, b.team_id) {
        (Some(agent), _) => {
            let a = st.svc.assign_agent(&ctx, id, zero_is_none(agent)).await?;
            Ok(Json(json!(a)))
        }
        (None, Some(team)) => {
            let t = st.svc.assign_team(&ctx, id, zero_is_none(team)).await?;
            Ok(Json(json!(t)))
        }
        (None, None) => Err(ApiError::unprocessable(
            "assignee_id",
            "assignee_id or team_id is required",
        )),
    }
}

/// The labels of a conversation.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "`{\"payload\": [label]}`", body = schemas::LabelsDoc)))]
async fn labels(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<Value>> {
    let l = st.svc.conversation_labels(&ctx, id).await?;
    Ok(Json(json!({ "payload": l })))
}

/// The complete new list of labels.
#[derive(Deserialize, ToSchema)]
pub struct ConversationLabelsRequest {
    pub labels: Vec<String>,
}

/// Replaces the labels of a conversation.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = ConversationLabelsRequest,
    responses((status = 200, description = "`{\"payload\": [label]}`", body = schemas::LabelsDoc), (status = 422, body = ErrorBody)))]
async fn set_labels(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<ConversationLabelsRequest>,
) -> ApiResult<Json<Value>> {
    let l = st.svc.set_conversation_labels(&ctx, id, &b.labels).await?;
    Ok(Json(json!({ "payload": l })))
}

/// The complete new custom attributes.
#[derive(Deserialize, ToSchema)]
pub struct CustomAttributesRequest {
    pub custom_attributes: Value,
}

/// Replaces the custom attributes of a conversation.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/custom_attributes", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = CustomAttributesRequest,
    responses((status = 200, description = "`{\"custom_attributes\": {…}}`", body = Value), (status = 422, body = ErrorBody)))]
async fn custom_attributes(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<CustomAttributesRequest>,
) -> ApiResult<Json<Value>> {
    let attrs = st
        .svc
        .set_conversation_custom_attributes(&ctx, id, &b.custom_attributes)
        .await?;
    Ok(Json(json!({ "custom_attributes": attrs })))
}

/// Marks the conversation as seen by the calling agent (resets `unread_count`).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/update_last_seen", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "The conversation", body = ConversationView)))]
async fn update_last_seen(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(st.svc.agent_seen(&ctx, id).await?)))
}

/// Conversation fields Chatwoot lets `PATCH` change.
#[derive(Deserialize, ToSchema)]
pub struct UpdateConversationRequest {
    /// `urgent`, `high`, `medium`, `low`; `none` or null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub priority: Option<Option<String>>,
}

/// Updates conversation attributes (the priority).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = UpdateConversationRequest,
    responses((status = 200, description = "The conversation", body = ConversationView), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<UpdateConversationRequest>,
) -> ApiResult<Json<Value>> {
    let view = match b.priority {
        Some(p) => st.svc.toggle_priority(&ctx, id, p.as_deref()).await?,
        None => st.svc.show_conversation(&ctx, id).await?,
    };
    Ok(Json(json!(view)))
}

/// An agent's typing indicator.
#[derive(Deserialize, ToSchema)]
pub struct AgentTypingRequest {
    /// `on` or `off`.
    #[schema(value_type = crate::routes::schema_enums::Typing)]
    pub typing_status: String,
    /// Typing a private note (not shown to the contact).
    #[serde(default)]
    pub is_private: bool,
}

/// Tells the others in the conversation that the agent is typing (an event; nothing is
/// stored).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = AgentTypingRequest,
    responses((status = 200, description = "`{}`", body = Value), (status = 422, body = ErrorBody)))]
async fn toggle_typing_status(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<AgentTypingRequest>,
) -> ApiResult<Json<Value>> {
    st.svc
        .agent_typing(&ctx, id, &b.typing_status, b.is_private)
        .await?;
    Ok(Json(json!({})))
}

/// Envelopes of the OpenAPI document that exist only in the HTTP layer.
///
/// The objects inside are the service's own view types (they derive `ToSchema`), so the
/// document cannot drift from what the server renders; only the Chatwoot wrappers the
/// handlers add around them with `json!` are described here. A test compares every
/// documented property list with the keys the server actually sends.
pub mod schemas {
    #![allow(dead_code)] // described, never constructed

    use parley_service::conversations::ConversationCounts;
    use parley_service::conversations::{ConversationPage, StatusToggled};
    use serde_json::Value;
    use utoipa::ToSchema;

    /// The conversation list.
    #[derive(ToSchema)]
    #[schema(as = ConversationList)]
    pub struct ListDoc {
        pub data: ConversationPage,
    }

    /// `GET /conversations/meta`.
    #[derive(ToSchema)]
    #[schema(as = ConversationMetaCounts)]
    pub struct MetaCountsDoc {
        pub meta: ConversationCounts,
    }

    /// `toggle_status` response.
    #[derive(ToSchema)]
    #[schema(as = StatusToggledResponse)]
    pub struct StatusToggledResponseDoc {
        pub meta: Value,
        pub payload: StatusToggled,
    }

    /// Labels of a conversation.
    #[derive(ToSchema)]
    #[schema(as = ConversationLabels)]
    pub struct LabelsDoc {
        pub payload: Vec<String>,
    }
}
