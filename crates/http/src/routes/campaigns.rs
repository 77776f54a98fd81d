//! `/api/v1/accounts/{account_id}/campaigns`: Chatwoot's campaigns of type `ongoing`
//! (proactive invitations on the website), administrators only; and the widget's side of
//! them in the Client API: asking to show an invitation, and the `webwidget.triggered`
//! event. The contract is docs/campaigns.md.

use axum::extract::State;
use axum::http::StatusCode;
use parley_core::campaign::TriggerRules;
use parley_service::campaigns::{CampaignInput, CampaignTrigger};
use parley_service::views::campaigns::CampaignView;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject, Path, present};
use crate::public_auth::PubContact;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, delete))
        .routes(routes!(trigger))
        .routes(routes!(widget_event))
}

/// A campaign's fields; Chatwoot's clients send them inside `{"campaign": {…}}`, which is
/// accepted as well as the bare object. All of `title`, `message` and `inbox_id` are
/// required on create; any field may be left out on update.
#[derive(Deserialize, ToSchema, Default)]
pub struct CampaignRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    /// The invitation's text, shown as the sender's message.
    #[schema(min_length = 1, max_length = 1000)]
    pub message: Option<String>,
    /// A website inbox of the account.
    #[serde(default, deserialize_with = "crate::ids::opt_id_like")]
    #[schema(value_type = Option<i64>)]
    pub inbox_id: Option<i64>,
    /// The agent the invitation comes from (name and avatar shown); null: the inbox.
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub sender_id: Option<Option<i64>>,
    pub enabled: Option<bool>,
    pub trigger_only_during_business_hours: Option<bool>,
    /// Parley: show only while an online agent of the inbox has a free place (default on).
    pub only_when_agents_available: Option<bool>,
    /// Parley: a visitor sees the invitation at most once per this many days (0–365,
    /// default 30; 0: whenever it triggers).
    pub show_again_after_days: Option<i64>,
    /// `{url, time_on_page}` as Chatwoot has them, and Parley's `time_on_site`,
    /// `pages_viewed`, `exit_intent`, `returning_visitor`, `utm_source`.
    #[schema(value_type = Option<Object>)]
    pub trigger_rules: Option<TriggerRules>,
    /// `ongoing` (default). `one_off` (Chatwoot's SMS campaigns) is refused with 422.
    pub campaign_type: Option<String>,
}

impl From<CampaignRequest> for CampaignInput {
    fn from(r: CampaignRequest) -> Self {
        CampaignInput {
            title: r.title,
            description: r.description,
            message: r.message,
            inbox_id: r.inbox_id,
            sender_id: r.sender_id,
            enabled: r.enabled,
            trigger_only_during_business_hours: r.trigger_only_during_business_hours,
            only_when_agents_available: r.only_when_agents_available,
            show_again_after_days: r.show_again_after_days,
            trigger_rules: r.trigger_rules,
            campaign_type: r.campaign_type,
        }
    }
}

/// The fields of a request body, unwrapped from Chatwoot's `campaign` key when it is the
/// only one.
fn campaign_input(mut body: Map<String, Value>) -> Result<CampaignInput, ApiError> {
    if body.len() == 1
        && let Some(Value::Object(inner)) = body.remove("campaign")
    {
        body = inner;
    }
    serde_json::from_value::<CampaignRequest>(Value::Object(body))
        .map(Into::into)
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                e.to_string(),
            )
        })
}

/// Lists the account's campaigns with their counters (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/campaigns", tag = "Campaigns",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = Vec<CampaignView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<Vec<CampaignView>>> {
    let rows = st.svc.list_campaigns(&ctx).await?;
    Ok(Json(st.svc.campaign_views(&ctx, &rows).await?))
}

/// Creates an `ongoing` campaign (administrators only; at most 100 per account).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/campaigns", tag = "Campaigns",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = CampaignRequest,
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<Map<String, Value>>,
) -> ApiResult<Json<CampaignView>> {
    let c = st.svc.create_campaign(&ctx, campaign_input(body)?).await?;
    Ok(Json(st.svc.campaign_view(&ctx, &c).await?))
}

/// Shows a campaign (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/campaigns/{id}", tag = "Campaigns",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<CampaignView>> {
    let c = st.svc.campaign(&ctx, path.1).await?;
    Ok(Json(st.svc.campaign_view(&ctx, &c).await?))
}

/// Changes a campaign (administrators only); fields left out keep their values.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/campaigns/{id}", tag = "Campaigns",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Campaign id")),
    request_body = CampaignRequest,
    responses((status = 200, body = CampaignView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<Map<String, Value>>,
) -> ApiResult<Json<CampaignView>> {
    let c = st
        .svc
        .update_campaign(&ctx, path.1, campaign_input(body)?)
        .await?;
    Ok(Json(st.svc.campaign_view(&ctx, &c).await?))
}

/// Deletes a campaign (administrators only); conversations it started stay.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/campaigns/{id}", tag = "Campaigns",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_campaign(&ctx, path.1).await?;
    Ok(StatusCode::OK)
}

/// Where the visitor is when the widget asks.
#[derive(Deserialize, ToSchema, Default)]
pub struct TriggerRequest {
    /// The page the visitor is on; checked against the campaign's `url` rule.
    #[schema(max_length = 2048)]
    pub page_url: Option<String>,
}

/// Parley: the widget asks to show an invitation whose browser-side rules hold. The server
/// checks the campaign is enabled, the page, working hours, agent capacity and the
/// visitor's period; `{"show": true}` records and counts the showing.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/campaigns/{campaign_id}/trigger",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path), ("campaign_id" = i64, Path)),
    request_body = TriggerRequest,
    responses((status = 200, body = CampaignTrigger), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn trigger(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    Path((_inbox, _contact, id)): Path<(String, String, i64)>,
    JsonObject(b): JsonObject<TriggerRequest>,
) -> ApiResult<Json<CampaignTrigger>> {
    if b.page_url
        .as_ref()
        .is_some_and(|u| u.chars().count() > 2048)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "page_url: must be at most 2048 characters",
        ));
    }
    Ok(Json(
        st.svc
            .public_trigger_campaign(&ident, id, b.page_url.as_deref())
            .await?,
    ))
}

/// A widget event, as Chatwoot's `POST /api/v1/widget/events`.
#[derive(Deserialize, ToSchema)]
pub struct WidgetEvent {
    /// `webwidget.triggered` (the visitor opened the widget).
    pub name: String,
    /// `{referer, widget_language, browser_language, browser}`; `initiated_at` is stamped
    /// by the server.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub event_info: Value,
}

/// Records a widget event: `webwidget.triggered` goes to the `webwidget_triggered`
/// webhooks with the contact, the inbox and `event_info`.
#[utoipa::path(post, path = "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/events",
    tag = "Client API",
    params(("inbox_identifier" = String, Path), ("contact_identifier" = String, Path)),
    request_body = WidgetEvent,
    responses((status = 200, description = "`{}`", body = Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn widget_event(
    State(st): State<AppState>,
    PubContact(ident): PubContact,
    JsonObject(b): JsonObject<WidgetEvent>,
) -> ApiResult<Json<Value>> {
    if b.name != "webwidget.triggered" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "name: the only widget event is \"webwidget.triggered\"",
        ));
    }
    st.svc
        .public_widget_triggered(&ident, &b.event_info)
        .await?;
    Ok(Json(json!({})))
}
