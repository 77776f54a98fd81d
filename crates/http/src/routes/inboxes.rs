//! `/api/v1/accounts/{account_id}/inboxes` and `/inbox_members`: channels of the account
//! and which agents work in them, with Chatwoot's paths and field names.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::agents::{id_like, ids_like};
use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, present};
use parley_service::AccountCtx;
use parley_service::agents::MemberOp;
use parley_service::delivery::ConnectionCheck;
use parley_service::inboxes::{INBOX_FLAGS, InboxOptions, WorkingDay};
use parley_service::routing_config::SlaPolicyConfig;
use parley_service::texts::{TemplateList, TemplatePreview};
use parley_service::views::agents::{AgentView, agent_views};
use parley_service::views::inboxes::InboxView;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(members_show))
        .routes(routes!(templates_list))
        .routes(routes!(templates_preview))
        .routes(routes!(reset_hmac_token))
        .routes(routes!(test_connection))
        .routes(routes!(members_add, members_replace, members_remove))
}

/// `{"payload": [...]}`, Chatwoot's list envelope for inboxes.
#[derive(Serialize, ToSchema)]
pub struct InboxList {
    pub payload: Vec<InboxView>,
}

/// Channel options, by channel type. Options of other channel types are ignored; an
/// empty string or `null` clears an option on update.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // documentation of the accepted object; parsed as a map
pub struct ChannelOptions {
    /// `web_widget`, `api`, `telegram` or `email` (required on create; cannot change).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Website: the site's URL (required).
    pub website_url: Option<String>,
    /// Website: `#rrggbb`.
    pub widget_color: Option<String>,
    pub welcome_title: Option<String>,
    pub welcome_tagline: Option<String>,
    /// Website: `in_a_few_minutes`, `in_a_few_hours` or `in_a_day`.
    pub reply_time: Option<String>,
    pub pre_chat_form_enabled: Option<bool>,
    pub continuity_via_email: Option<bool>,
    /// Website: domains allowed to embed the widget (comma or space separated, `*.shop.example`
    /// for subdomains); empty allows any site.
    pub allowed_domains: Option<String>,
    /// Website: `right` (default) or `left`, the corner of the widget's bubble.
    pub widget_position: Option<String>,
    /// Website: show the offline request form whenever no member agent is online (not only
    /// outside working hours).
    pub offline_form_when_no_agents: Option<bool>,
    /// Website: the pre-chat form, Chatwoot's shape: `{"pre_chat_message": "…",
    /// "pre_chat_fields": [{"name": "emailAddress", "required": true, "enabled": true}]}`
    /// with names `fullName`, `emailAddress`, `phoneNumber`, plus Parley's department choice.
    #[schema(value_type = Option<PreChatFormOptions>)]
    pub pre_chat_form_options: Option<Value>,
    /// Website: the widget lists the weekly working hours (when working hours are on).
    pub show_working_hours: Option<bool>,
    /// API: where Parley posts events.
    pub webhook_url: Option<String>,
    /// Telegram: the bot token (required; never returned).
    pub bot_token: Option<String>,
    /// Telegram: the bot's name as shown to agents.
    pub bot_name: Option<String>,
    /// E-mail: the inbox's address (required).
    pub email: Option<String>,
    pub provider: Option<String>,
    pub imap_enabled: Option<bool>,
    pub imap_address: Option<String>,
    pub imap_port: Option<u16>,
    pub imap_login: Option<String>,
    /// Never returned.
    pub imap_password: Option<String>,
    pub imap_enable_ssl: Option<bool>,
    pub smtp_enabled: Option<bool>,
    pub smtp_address: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_login: Option<String>,
    /// Never returned.
    pub smtp_password: Option<String>,
    /// E-mail: TLS from the first byte (port 465).
    pub smtp_enable_ssl_tls: Option<bool>,
    /// E-mail: STARTTLS, required when on (default on); neither this nor
    /// `smtp_enable_ssl_tls` sends in plain text (a relay on a trusted network).
    pub smtp_enable_starttls_auto: Option<bool>,
    /// E-mail: `plain` (default) or `login`, the SMTP AUTH mechanism.
    pub smtp_authentication: Option<String>,
    /// E-mail: the name sent in EHLO; the server's host name when empty.
    pub smtp_domain: Option<String>,
}

/// The website's pre-chat form. A whole object replaces the stored one.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // documentation of the accepted object; checked by the service
pub struct PreChatFormOptions {
    /// The line above the form.
    pub pre_chat_message: Option<String>,
    /// The contact fields the form asks for.
    pub pre_chat_fields: Option<Vec<PreChatField>>,
    /// Whether the visitor may choose a department (default true: offered when more than
    /// one team works the inbox).
    pub department_choice: Option<bool>,
    /// The teams offered as departments; empty or absent: every team with a member in the
    /// inbox. A `team_id` outside the list is refused when a conversation starts.
    #[serde(default, deserialize_with = "crate::ids::opt_ids_like")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub department_team_ids: Option<Vec<i64>>,
}

/// One contact field of the pre-chat form.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // documentation of the accepted object; checked by the service
pub struct PreChatField {
    /// `fullName`, `emailAddress` or `phoneNumber`.
    pub name: String,
    /// The field's label instead of the widget's own wording.
    pub label: Option<String>,
    /// The visitor must fill it in (default false).
    pub required: Option<bool>,
    /// The form shows it (default true).
    pub enabled: Option<bool>,
}

/// Fields of an inbox create or update request. Unknown fields are ignored, as
/// Chatwoot's permitted parameters do, so its clients can send what they send.
#[derive(Deserialize, ToSchema)]
pub struct InboxRequest {
    /// Required on create.
    pub name: Option<String>,
    #[schema(value_type = Option<ChannelOptions>)]
    pub channel: Option<Map<String, Value>>,
    pub greeting_enabled: Option<bool>,
    pub greeting_message: Option<String>,
    pub enable_auto_assignment: Option<bool>,
    pub working_hours_enabled: Option<bool>,
    /// IANA name such as `Europe/Moscow`.
    pub timezone: Option<String>,
    pub out_of_office_message: Option<String>,
    pub hmac_mandatory: Option<bool>,
    pub avatar_url: Option<String>,
    pub csat_survey_enabled: Option<bool>,
    pub enable_email_collect: Option<bool>,
    pub allow_messages_after_resolved: Option<bool>,
    pub lock_to_single_conversation: Option<bool>,
    /// Days to set; days not named keep their hours.
    pub working_hours: Option<Vec<WorkingDay>>,
    /// Routing and response standards (`null` clears one); see the inbox view.
    #[schema(value_type = Option<i64>)]
    #[serde(default, deserialize_with = "present")]
    pub default_team_id: Option<Option<Value>>,
    #[schema(value_type = Option<i64>)]
    #[serde(default, deserialize_with = "present")]
    pub reassign_after_minutes: Option<Option<Value>>,
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default, deserialize_with = "present")]
    pub holidays: Option<Option<Value>>,
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default, deserialize_with = "present")]
    pub offhours_notify_emails: Option<Option<Value>>,
    #[schema(value_type = Option<bool>)]
    #[serde(default, deserialize_with = "present")]
    pub offhours_digest: Option<Option<Value>>,
    #[schema(value_type = Option<SlaPolicyConfig>)]
    #[serde(default, deserialize_with = "present")]
    pub sla_policy: Option<Option<Value>>,
    /// Language of the texts Parley sends from this inbox: `ru` or `en`; null follows the
    /// account's language.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub locale: Option<Option<Value>>,
    /// The inbox's wording of Parley's texts, by language and template id (see
    /// `GET …/inboxes/{id}/templates`): `{"ru": {"csat_survey": "Оцените нас"}}`. Merged
    /// into the stored ones; a `null` text resets that template, a `null` object all.
    #[schema(value_type = Option<Object>)]
    #[serde(default, deserialize_with = "present")]
    pub text_templates: Option<Option<Value>>,
}

impl InboxRequest {
    fn split(self) -> (InboxOptions, Map<String, Value>) {
        let flags = [
            self.csat_survey_enabled,
            self.enable_email_collect,
            self.allow_messages_after_resolved,
            self.lock_to_single_conversation,
        ];
        let opts = InboxOptions {
            name: self.name,
            greeting_enabled: self.greeting_enabled,
            greeting_message: self.greeting_message,
            enable_auto_assignment: self.enable_auto_assignment,
            working_hours_enabled: self.working_hours_enabled,
            timezone: self.timezone,
            out_of_office_message: self.out_of_office_message,
            hmac_mandatory: self.hmac_mandatory,
            avatar_url: self.avatar_url,
            flags: INBOX_FLAGS
                .iter()
                .zip(flags)
                .filter_map(|(k, v)| v.map(|v| (*k, v)))
                .collect(),
            working_hours: self.working_hours,
            routing: [
                ("default_team_id", self.default_team_id),
                ("reassign_after_minutes", self.reassign_after_minutes),
                ("holidays", self.holidays),
                ("offhours_notify_emails", self.offhours_notify_emails),
                ("offhours_digest", self.offhours_digest),
                ("sla_policy", self.sla_policy),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.unwrap_or(Value::Null))))
            .collect(),
            texts: [
                ("locale", self.locale),
                ("text_templates", self.text_templates),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.unwrap_or(Value::Null))))
            .collect(),
        };
        (opts, self.channel.unwrap_or_default())
    }
}

/// `{inbox_id, user_ids}` of the inbox member requests.
#[derive(Deserialize, ToSchema)]
pub struct InboxMembersRequest {
    #[serde(deserialize_with = "id_like")]
    #[schema(value_type = i64)]
    pub inbox_id: i64,
    #[serde(deserialize_with = "ids_like")]
    #[schema(value_type = Vec<i64>)]
    pub user_ids: Vec<i64>,
}

/// `{"payload": [...]}`, Chatwoot's envelope for inbox members.
#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub payload: Vec<AgentView>,
}

/// Lists the inboxes the caller may see (agents: only their own).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = InboxList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<InboxList>> {
    let rows = st.svc.list_inboxes(&ctx).await?;
    let payload = st.svc.inbox_views(&ctx, &rows).await?;
    Ok(Json(InboxList { payload }))
}

/// Creates an inbox (administrators only).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = InboxRequest,
    responses((status = 200, body = InboxView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<InboxRequest>,
) -> ApiResult<Json<InboxView>> {
    let (opts, channel) = body.split();
    let kind = match channel.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(ApiError::unprocessable("channel.type", "must be a string")),
        None => return Err(ApiError::unprocessable("channel.type", "is required")),
    };
    let inbox = st.svc.create_inbox(&ctx, &kind, opts, &channel).await?;
    Ok(Json(st.svc.inbox_view(&ctx, &inbox).await?))
}

/// Body of `POST …/inboxes/test_connection`: the `channel` object of inbox creation.
#[derive(Deserialize, ToSchema)]
pub struct TestConnectionRequest {
    /// `{"type": "telegram", "bot_token": "…"}` and the other fields of the channel.
    /// Optional in parsing so that the role is checked first (a missing `channel.type` is
    /// then a 422 from the check).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub channel: Map<String, Value>,
    /// A saved inbox of the same channel type whose stored secrets (passwords, token)
    /// fill in those `channel` leaves out, so a saved inbox can be tested without them.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub inbox_id: Option<i64>,
}

/// Checks a channel's settings without creating anything (administrators only): `ok`, or
/// the step that failed (`token`, `network`, `channel`) with a stable `code` and a
/// message in the account's language. Parley's route.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/test_connection", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = TestConnectionRequest,
    responses((status = 200, body = ConnectionCheck), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn test_connection(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<TestConnectionRequest>,
) -> ApiResult<Json<ConnectionCheck>> {
    Ok(Json(
        st.svc
            .test_channel_connection(&ctx, &body.channel, body.inbox_id)
            .await?,
    ))
}

/// Shows an inbox.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    responses((status = 200, body = InboxView), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<InboxView>> {
    let id = path.1;
    let inbox = st.svc.inbox(&ctx, id).await?;
    Ok(Json(st.svc.inbox_view(&ctx, &inbox).await?))
}

/// Updates an inbox (administrators only); channel options are merged into the stored ones.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    request_body = InboxRequest,
    responses((status = 200, body = InboxView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<InboxRequest>,
) -> ApiResult<Json<InboxView>> {
    let id = path.1;
    let (opts, channel) = body.split();
    let inbox = st.svc.update_inbox(&ctx, id, opts, &channel).await?;
    Ok(Json(st.svc.inbox_view(&ctx, &inbox).await?))
}

/// Deletes an inbox with its conversations (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/inboxes/{id}", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let id = path.1;
    st.svc.delete_inbox(&ctx, id).await?;
    Ok(StatusCode::OK)
}

/// Lists the agents of an inbox.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inbox_members/{inbox_id}", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("inbox_id" = i64, Path, description = "Inbox id")),
    responses((status = 200, body = AgentList), (status = 404, body = ErrorBody)))]
async fn members_show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<AgentList>> {
    let inbox_id = path.1;
    let list = st.svc.inbox_members(&ctx, inbox_id).await?;
    Ok(Json(AgentList {
        payload: agent_views(&list),
    }))
}

async fn change_members(
    st: AppState,
    ctx: AccountCtx,
    body: InboxMembersRequest,
    op: MemberOp,
) -> ApiResult<Json<AgentList>> {
    let list = st
        .svc
        .change_inbox_members(&ctx, body.inbox_id, op, &body.user_ids)
        .await?;
    Ok(Json(AgentList {
        payload: agent_views(&list),
    }))
}

/// Adds agents to an inbox (administrators only); returns the inbox's agents.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = InboxMembersRequest,
    responses((status = 200, body = AgentList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_add(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<InboxMembersRequest>,
) -> ApiResult<Json<AgentList>> {
    change_members(st, ctx, body, MemberOp::Add).await
}

/// Makes the inbox's agents exactly `user_ids` (administrators only).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = InboxMembersRequest,
    responses((status = 200, body = AgentList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_replace(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<InboxMembersRequest>,
) -> ApiResult<Json<AgentList>> {
    change_members(st, ctx, body, MemberOp::Replace).await
}

/// Removes agents from an inbox (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/inbox_members", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = InboxMembersRequest,
    responses((status = 200, body = AgentList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn members_remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Json(body): Json<InboxMembersRequest>,
) -> ApiResult<Json<AgentList>> {
    change_members(st, ctx, body, MemberOp::Remove).await
}

/// Lists the templates of Parley's own texts (auto-replies, survey, e-mails) with their
/// variables, default wording per language and the inbox's overrides (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes/{id}/templates", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    responses((status = 200, body = TemplateList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn templates_list(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<TemplateList>> {
    Ok(Json(st.svc.inbox_templates(&ctx, path.1).await?))
}

/// A template to render with example values.
#[derive(Deserialize, ToSchema)]
pub struct TemplatePreviewRequest {
    /// Template id, e.g. `offhours_reply`.
    pub id: String,
    /// `ru` or `en`; the inbox's language when absent.
    pub locale: Option<String>,
    /// Unsaved wording to try; the inbox's current wording when absent.
    pub text: Option<String>,
}

/// Renders a template with example values: what a customer or manager would read
/// (administrators). Nothing is saved.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/templates/preview", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    request_body = TemplatePreviewRequest,
    responses((status = 200, body = TemplatePreview), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn templates_preview(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Json(body): Json<TemplatePreviewRequest>,
) -> ApiResult<Json<TemplatePreview>> {
    let preview = st
        .svc
        .preview_inbox_template(
            &ctx,
            path.1,
            &body.id,
            body.locale.as_deref(),
            body.text.as_deref(),
        )
        .await?;
    Ok(Json(preview))
}

/// Gives the inbox a new secret for HMAC-verified visitor identity (administrators only)
/// and returns the inbox with it. Identity hashes made with the old secret stop verifying
/// at once, so the shop's backend must use the new one.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/reset_hmac_token", tag = "Inboxes",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    responses((status = 200, body = InboxView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reset_hmac_token(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<InboxView>> {
    let inbox = st.svc.reset_inbox_hmac_token(&ctx, path.1).await?;
    Ok(Json(st.svc.inbox_view(&ctx, &inbox).await?))
}
