//! `/api/v1/accounts/{account_id}/agent_bots` and an inbox's bot (`set_agent_bot`,
//! `agent_bot`): Chatwoot's paths and fields, with Parley's built-in bot type and the
//! token reset. Changes are for administrators; docs/bots.md says how bots work.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, JsonObject, Path, Query, present};
use crate::routes::account_webhooks::{DeliveriesQuery, DeliveryList, DeliveryListMeta};
use parley_service::agent_bots::AgentBotInput;
use parley_service::views::agent_bots::AgentBotView;
use parley_service::views::webhooks::delivery_view;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
        .routes(routes!(reset_access_token))
        .routes(routes!(deliveries))
        .routes(routes!(set_agent_bot))
        .routes(routes!(inbox_agent_bot))
}

/// A bot's fields; `name` (and `outgoing_url` for a webhook bot) are required on create.
#[derive(Deserialize, ToSchema)]
pub struct AgentBotRequest {
    #[schema(max_length = 255)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
    /// Where the bot's inbox events are posted; private addresses are refused unless the
    /// server allows them (`allow_private_webhook_targets`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub outgoing_url: Option<Option<String>>,
    /// The bot's picture, as a URL (uploads are not taken: `avatar` is refused).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub avatar_url: Option<Option<String>>,
    /// `webhook` (0, Chatwoot's only type) or `builtin` (1, Parley's own bot).
    #[schema(value_type = Option<Object>)]
    pub bot_type: Option<Value>,
    /// `{"handoff_words": [...], "answer_from_canned": bool, "offhours_info": bool,
    /// "collect_contact": bool}`.
    #[schema(value_type = Option<Object>)]
    pub bot_config: Option<Value>,
    /// Chatwoot's avatar upload: not taken (422 when given); send `avatar_url` instead.
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Value>,
}

impl AgentBotRequest {
    /// The request's fields, refusing the avatar upload Parley does not take.
    fn input(self) -> Result<AgentBotInput, parley_service::ServiceError> {
        match &self.avatar {
            None | Some(Value::Null) => Ok(self.into()),
            Some(Value::String(s)) if s.is_empty() => Ok(self.into()),
            Some(_) => Err(parley_core::validate::FieldError::new(
                "avatar",
                "uploads are not taken; give the picture's URL as avatar_url",
            )
            .into()),
        }
    }
}

impl From<AgentBotRequest> for AgentBotInput {
    fn from(r: AgentBotRequest) -> Self {
        AgentBotInput {
            name: r.name,
            description: r.description,
            outgoing_url: r.outgoing_url,
            avatar_url: r.avatar_url,
            bot_type: r.bot_type,
            bot_config: r.bot_config,
        }
    }
}

/// Lists the account's bots (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agent_bots", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = Vec<AgentBotView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(State(st): State<AppState>, Acct(ctx): Acct) -> ApiResult<Json<Vec<AgentBotView>>> {
    Ok(Json(st.svc.list_agent_bots(&ctx).await?))
}

/// Creates a bot (administrators); the answer carries its `access_token`, shown once.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agent_bots", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = AgentBotRequest,
    responses((status = 200, body = AgentBotView), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<AgentBotRequest>,
) -> ApiResult<Json<AgentBotView>> {
    Ok(Json(st.svc.create_agent_bot(&ctx, body.input()?).await?))
}

/// One bot (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Bot id")),
    responses((status = 200, body = AgentBotView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn show(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<AgentBotView>> {
    Ok(Json(st.svc.agent_bot(&ctx, path.1).await?))
}

/// Changes a bot (administrators).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Bot id")),
    request_body = AgentBotRequest,
    responses((status = 200, body = AgentBotView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<AgentBotRequest>,
) -> ApiResult<Json<AgentBotView>> {
    Ok(Json(
        st.svc.update_agent_bot(&ctx, path.1, body.input()?).await?,
    ))
}

/// Deletes a bot (administrators); its inboxes' new conversations go to agents again.
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/agent_bots/{id}", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Bot id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_agent_bot(&ctx, path.1).await?;
    Ok(StatusCode::OK)
}

/// Replaces the bot's API token (administrators); the answer carries the new one.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/agent_bots/{id}/reset_access_token", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Bot id")),
    responses((status = 200, body = AgentBotView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn reset_access_token(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<AgentBotView>> {
    Ok(Json(st.svc.reset_agent_bot_token(&ctx, path.1).await?))
}

/// The log of the requests to the bot's `outgoing_url`, 25 per page, newest first
/// (administrators).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/agent_bots/{id}/deliveries", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Bot id"), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn deliveries(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    Query(q): Query<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let page = st.svc.agent_bot_deliveries(&ctx, path.1, q.before).await?;
    Ok(Json(DeliveryList {
        payload: page.deliveries.iter().map(delivery_view).collect(),
        meta: DeliveryListMeta {
            next_before: page.next_before,
        },
    }))
}

/// `{"agent_bot": id}` attaches a bot to the inbox, `{"agent_bot": null}` detaches it.
#[derive(Deserialize, ToSchema)]
pub struct SetAgentBot {
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub agent_bot: Option<Option<i64>>,
}

/// Attaches a bot to an inbox or detaches it (administrators). New conversations of the
/// inbox then start `pending`, for the bot.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/inboxes/{id}/set_agent_bot", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    request_body = SetAgentBot,
    responses((status = 200, description = "Done"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_agent_bot(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<SetAgentBot>,
) -> ApiResult<StatusCode> {
    let Some(bot) = body.agent_bot else {
        return Err(
            parley_service::ServiceError::from(parley_core::validate::FieldError::new(
                "agent_bot",
                "is required (an id, or null to detach)",
            ))
            .into(),
        );
    };
    st.svc.set_inbox_agent_bot(&ctx, path.1, bot).await?;
    Ok(StatusCode::OK)
}

/// `{"agent_bot": bot | null}`.
#[derive(Serialize, ToSchema)]
pub struct InboxAgentBot {
    pub agent_bot: Option<AgentBotView>,
}

/// The inbox's bot, or `null` (anyone who sees the inbox).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/inboxes/{id}/agent_bot", tag = "Agent bots",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Inbox id")),
    responses((status = 200, body = InboxAgentBot), (status = 404, body = ErrorBody)))]
async fn inbox_agent_bot(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<Json<InboxAgentBot>> {
    Ok(Json(InboxAgentBot {
        agent_bot: st.svc.inbox_agent_bot(&ctx, path.1).await?,
    }))
}
