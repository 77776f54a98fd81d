//! The Client API's conversations and messages:
//! `/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations…`.
//!
//! The contact identifier is the visitor's credential; everything here is limited to that
//! contact's conversations in that inbox, and private notes never leave the server.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::{MessagePaging, file_response, read_message_body};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::public_auth::PubContact;
use parley_service::conversations::PublicConversationView;
use parley_service::messages::PublicMessageView;

pub fn routes() -> OpenApiRouter<AppState> {
    let create_message = OpenApiRouter::new()
        .routes(routes!(messages, create_message))
        .layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .merge(create_message)
        .routes(routes!(toggle_status))
        .routes(routes!(toggle_typing))
        .routes(routes!(update_last_seen))
        .routes(routes!(download))
}

type ConvPath = Path<(String, String, i64)>;

/// The visitor's conversations in this inbox.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    responses((status = 200, description = "[conversation]", body = Vec<PublicConversationView>), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, PubContact(ident): PubContact) -> ApiResult<Json<Value>> {
    Ok(Json(json!(st.svc.public_conversations(&ident).await?)))
}

/// Fields of a visitor's new conversation.
#[derive(Deserialize, ToSchema, Default)]
pub struct PublicNewConversation {
    pub custom_attributes: Option<Value>,
    /// Parley: the visitor context the widget reports (`page_url`, `page_title`,
    /// `page_trail`, `referer`, `visit_referrer`, `utm`, `browser`, `browser_language`,
    /// `timezone`, `screen`, `time_on_site`, `visit_started_at`, `offline_request`); kept in
    /// the conversation's `additional_attributes` for agents. Unknown keys are dropped.
    pub additional_attributes: Option<Value>,
    /// Parley: the department (team) the visitor chose in the pre-chat form.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<i64>,
    /// The proactive invitation the visitor answers (Chatwoot's `campaign_id`): it must
    /// have been shown to this visitor; the conversation carries it and begins with the
    /// invitation as the agent's message.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub campaign_id: Option<i64>,
}

/// Starts a conversation for the visitor.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = PublicNewConversation,
    responses((status = 200, description = "The conversation", body = PublicConversationView), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Json(b): Json<PublicNewConversation>,
) -> ApiResult<Json<Value>> {
    let c = match b.campaign_id {
        Some(campaign) => {
            st.svc
                .public_start_campaign_conversation(
                    &ident,
                    campaign,
                    b.custom_attributes,
                    b.additional_attributes,
                    b.team_id,
                )
                .await?
        }
        None => {
            st.svc
                .public_start_conversation(
                    &ident,
                    b.custom_attributes,
                    b.additional_attributes,
                    b.team_id,
                )
                .await?
        }
    };
    Ok(Json(json!(c)))
}

/// One of the visitor's conversations.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "The conversation", body = PublicConversationView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(st.svc.public_conversation(&ident, id).await?)))
}

/// Messages of the visitor's conversation (never private notes), 20 per page.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path), MessagePaging),
    responses((status = 200, description = "[message]", body = Vec<PublicMessageView>), (status = 404, body = ErrorBody)))]
async fn messages(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
    Query(p): Query<MessagePaging>,
) -> ApiResult<Json<Value>> {
    let m = st
        .svc
        .public_messages(&ident, id, p.before, p.after)
        .await?;
    Ok(Json(json!(m)))
}

/// A visitor's message.
#[derive(Deserialize, ToSchema, Default)]
pub struct PublicNewMessage {
    pub content: Option<String>,
    /// The client's id for this message; a retry with the same id returns the same message.
    pub echo_id: Option<String>,
}

/// The visitor writes a message (JSON, or multipart/form-data with `attachments[]`).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    request_body = PublicNewMessage,
    responses((status = 200, description = "The message", body = PublicMessageView),
        (status = 413, description = "A file or the body is over its limit (`payload_too_large`), or the account's storage quota is used up (`storage_quota_exceeded`)", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_message(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
    req: Request,
) -> Result<Json<Value>, Response> {
    let fail = |e: parley_service::ServiceError| ApiError::from(e).into_response();
    st.svc
        .public_conversation_row(&ident, id)
        .await
        .map_err(fail)?;
    // A visitor whose message budget is spent is refused before the body is read (the
    // message itself is counted when it is stored).
    let visitor = ident.contact_inbox_id.to_string();
    let limiter = &st.svc.public_limits.messages_per_visitor;
    if !limiter.allowed(&visitor) {
        let retry_after_secs = limiter.retry_after(&visitor).as_secs().max(1);
        return Err(
            ApiError::from(parley_service::ServiceError::RetryAfter { retry_after_secs })
                .closing()
                .into_response(),
        );
    }
    let body = read_message_body::<PublicNewMessage>(&st, req, ident.account_id)
        .await
        .map_err(IntoResponse::into_response)?;
    let f = body.fields;
    let m = st
        .svc
        .public_create_message(&ident, id, f.content, f.echo_id, body.uploads)
        .await
        .map_err(fail)?;
    Ok(Json(json!(m)))
}

/// The visitor resolves the conversation.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/toggle_status",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "The conversation", body = PublicConversationView), (status = 404, body = ErrorBody)))]
async fn toggle_status(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(st.svc.public_resolve(&ident, id).await?)))
}

/// Typing indicator.
#[derive(Deserialize, ToSchema)]
pub struct TypingRequest {
    /// `on` or `off`.
    #[schema(value_type = crate::routes::schema_enums::Typing)]
    pub typing_status: String,
}

/// Tells the agents the visitor is typing (an event; nothing is stored).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/toggle_typing",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    request_body = TypingRequest,
    responses((status = 200, description = "`{}`", body = Value), (status = 422, body = ErrorBody)))]
async fn toggle_typing(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
    Json(b): Json<TypingRequest>,
) -> ApiResult<Json<Value>> {
    st.svc.public_typing(&ident, id, &b.typing_status).await?;
    Ok(Json(json!({})))
}

/// Records that the visitor has seen the conversation.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/update_last_seen",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    responses((status = 200, description = "`{}`", body = Value), (status = 404, body = ErrorBody)))]
async fn update_last_seen(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): ConvPath,
) -> ApiResult<Json<Value>> {
    st.svc.public_seen(&ident, id).await?;
    Ok(Json(json!({})))
}

/// Downloads an attachment of the visitor's own conversation (Parley's own route).
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/attachments/{attachment_id}",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("attachment_id" = i64, Path)),
    responses((status = 200, description = "The file's bytes"), (status = 404, body = ErrorBody)))]
async fn download(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, attachment_id)): ConvPath,
) -> ApiResult<Response> {
    let (att, path) = st.svc.public_attachment_file(&ident, attachment_id).await?;
    file_response(&att, &path).await
}
