//! Client API routes the website widget needs beyond the conversation basics: the public
//! inbox (Chatwoot's `GET /public/api/v1/inboxes/{inbox_identifier}`, with the widget's
//! settings and who is online), the visitor context update, and the answer to a
//! satisfaction survey (Chatwoot's public message update with `submitted_values`).

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::public_auth::{PubContact, PubInbox};
use parley_service::messages::PublicMessageView;
use parley_service::widget::PublicInboxView;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(update_visitor_context))
        .routes(routes!(answer_message))
}

/// The inbox as the widget sees it: name, working hours, greeting, colours, pre-chat form,
/// whether it is open now and which agents are online.
#[utoipa::path(get, path = "/public/api/v1/inboxes/{inbox_identifier}", tag = "Client API",
    params(("inbox_identifier" = String, Path)),
    responses((status = 200, body = PublicInboxView), (status = 404, body = ErrorBody)))]
async fn inbox(
    State(st): State<AppState>,
    PubInbox(inbox): PubInbox,
) -> ApiResult<Json<PublicInboxView>> {
    Ok(Json(st.svc.public_inbox_view(&inbox).await?))
}

/// The visitor's current context.
#[derive(Deserialize, ToSchema)]
pub struct VisitorContextUpdate {
    /// Same keys as `additional_attributes` of a new conversation; given keys replace the
    /// stored ones, others stay.
    #[schema(value_type = Object)]
    pub additional_attributes: Value,
}

/// Records the page the visitor is on (and their trail, time on site) on the conversation,
/// for the agent's contact panel (Parley).
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/update_visitor_context",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path)),
    request_body = VisitorContextUpdate,
    responses((status = 200, description = "`{}`", body = Value), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_visitor_context(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): Path<(String, String, i64)>,
    Json(b): Json<VisitorContextUpdate>,
) -> ApiResult<Json<Value>> {
    st.svc
        .public_update_visitor_context(&ident, id, &b.additional_attributes)
        .await?;
    Ok(Json(json!({})))
}

/// A visitor's answer to a message that asks for one (Chatwoot's update payload).
#[derive(Deserialize, ToSchema)]
pub struct PublicMessageUpdate {
    /// For a satisfaction survey (`input_csat`):
    /// `{"csat_survey_response": {"rating": 1..5, "feedback_message": "…"}}`.
    #[schema(value_type = Object)]
    pub submitted_values: Value,
}

/// Answers a satisfaction survey message; the rating is stored in the message's
/// `content_attributes.submitted_values` and agents get `message.updated`.
#[utoipa::path(patch, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages/{message_id}",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("conversation_id" = i64, Path), ("message_id" = i64, Path)),
    request_body = PublicMessageUpdate,
    responses((status = 200, description = "The message", body = PublicMessageView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn answer_message(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id, message_id)): Path<(String, String, i64, i64)>,
    Json(b): Json<PublicMessageUpdate>,
) -> ApiResult<Json<PublicMessageView>> {
    Ok(Json(
        st.svc
            .public_answer_message(&ident, id, message_id, &b.submitted_values)
            .await?,
    ))
}
