//! `/api/v1/accounts/{account_id}/automation_rules` and `/macros`: Chatwoot's automation
//! rules (administrators) and macros (every member), with a Parley dry run of a rule over
//! the last week's conversations. The contract is docs/automation.md.

use axum::extract::State;
use axum::http::StatusCode;
use parley_core::automation::{Action, Condition};
use parley_service::automation::{DryRun, MacroInput, RuleInput};
use parley_service::views::automation::{MacroView, RuleView, macro_view, rule_view};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonObject, Path, present};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(show_rule, update_rule, delete_rule))
        .routes(routes!(clone_rule))
        .routes(routes!(dry_run))
        .routes(routes!(list_macros, create_macro))
        .routes(routes!(show_macro, update_macro, delete_macro))
        .routes(routes!(execute_macro))
}

/// `{"payload": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct RuleList {
    pub payload: Vec<RuleView>,
}

/// `{"payload": rule}`.
#[derive(Serialize, ToSchema)]
pub struct RuleEnvelope {
    pub payload: RuleView,
}

/// A rule's fields; all are required on create, any may be left out on update.
#[derive(Deserialize, ToSchema)]
pub struct RuleRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    /// `conversation_created`, `conversation_updated`, `conversation_opened`,
    /// `conversation_resolved`, `message_created`.
    pub event_name: Option<String>,
    /// `[{attribute_key, filter_operator, values, query_operator}]` (1 to 20).
    #[schema(value_type = Option<Vec<Object>>)]
    pub conditions: Option<Vec<Condition>>,
    /// `[{action_name, action_params}]` (1 to 20).
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<Action>>,
    pub active: Option<bool>,
}

impl From<RuleRequest> for RuleInput {
    fn from(r: RuleRequest) -> Self {
        RuleInput {
            name: r.name,
            description: r.description,
            event_name: r.event_name,
            conditions: r.conditions,
            actions: r.actions,
            active: r.active,
        }
    }
}

/// Lists the account's automation rules (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/automation_rules", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = RuleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_rules(
    State(st): State<AppState>,
    Acct(ctx): Acct,
) -> ApiResult<crate::extract::Json<RuleList>> {
    let payload = st
        .svc
        .list_automation_rules(&ctx)
        .await?
        .iter()
        .map(rule_view)
        .collect();
    Ok(crate::extract::Json(RuleList { payload }))
}

/// Creates an automation rule (administrators only; at most 100 per account). Returns
/// the rule, as Chatwoot does.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = RuleRequest,
    responses((status = 200, body = RuleView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_rule(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<RuleRequest>,
) -> ApiResult<crate::extract::Json<RuleView>> {
    let r = st.svc.create_automation_rule(&ctx, body.into()).await?;
    Ok(crate::extract::Json(rule_view(&r)))
}

/// Shows a rule (administrators only).
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = RuleEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn show_rule(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<crate::extract::Json<RuleEnvelope>> {
    let r = st.svc.automation_rule(&ctx, path.1).await?;
    Ok(crate::extract::Json(RuleEnvelope {
        payload: rule_view(&r),
    }))
}

/// Changes a rule (administrators only); fields left out keep their values.
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Rule id")),
    request_body = RuleRequest,
    responses((status = 200, body = RuleEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_rule(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<RuleRequest>,
) -> ApiResult<crate::extract::Json<RuleEnvelope>> {
    let r = st
        .svc
        .update_automation_rule(&ctx, path.1, body.into())
        .await?;
    Ok(crate::extract::Json(RuleEnvelope {
        payload: rule_view(&r),
    }))
}

/// Deletes a rule (administrators only).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/automation_rules/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_rule(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_automation_rule(&ctx, path.1).await?;
    Ok(StatusCode::OK)
}

/// Copies a rule (administrators only), Chatwoot's `clone`.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules/{automation_rule_id}/clone", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("automation_rule_id" = i64, Path, description = "Rule id")),
    responses((status = 200, body = RuleEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn clone_rule(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<crate::extract::Json<RuleEnvelope>> {
    let r = st.svc.clone_automation_rule(&ctx, path.1).await?;
    Ok(crate::extract::Json(RuleEnvelope {
        payload: rule_view(&r),
    }))
}

/// What a dry run checks: an event and conditions, as in a rule.
#[derive(Deserialize, ToSchema)]
pub struct DryRunRequest {
    pub event_name: String,
    #[schema(value_type = Vec<Object>)]
    pub conditions: Vec<Condition>,
}

/// Parley: which conversations active in the last 7 days (newest first, at most 500 looked
/// at) the conditions would match now. Changes nothing (administrators only).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/automation_rules/dry_run", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = DryRunRequest,
    responses((status = 200, body = DryRun), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn dry_run(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<DryRunRequest>,
) -> ApiResult<crate::extract::Json<DryRun>> {
    Ok(crate::extract::Json(
        st.svc
            .automation_dry_run(&ctx, &body.event_name, &body.conditions)
            .await?,
    ))
}

/// `{"payload": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct MacroList {
    pub payload: Vec<MacroView>,
}

/// `{"payload": macro}`.
#[derive(Serialize, ToSchema)]
pub struct MacroEnvelope {
    pub payload: MacroView,
}

/// A macro's fields: `name` and `actions` required on create.
#[derive(Deserialize, ToSchema)]
pub struct MacroRequest {
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// `personal` (default; always so for agents) or `global`.
    pub visibility: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub actions: Option<Vec<Action>>,
}

impl From<MacroRequest> for MacroInput {
    fn from(r: MacroRequest) -> Self {
        MacroInput {
            name: r.name,
            visibility: r.visibility,
            actions: r.actions,
        }
    }
}

/// Lists the macros the caller may see: the global ones and their own.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/macros", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    responses((status = 200, body = MacroList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_macros(
    State(st): State<AppState>,
    Acct(ctx): Acct,
) -> ApiResult<crate::extract::Json<MacroList>> {
    let payload = st
        .svc
        .list_macros(&ctx)
        .await?
        .iter()
        .map(macro_view)
        .collect();
    Ok(crate::extract::Json(MacroList { payload }))
}

/// Creates a macro (at most 200 per account).
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/macros", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id")),
    request_body = MacroRequest,
    responses((status = 200, body = MacroEnvelope), (status = 422, body = ErrorBody)))]
async fn create_macro(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    JsonObject(body): JsonObject<MacroRequest>,
) -> ApiResult<crate::extract::Json<MacroEnvelope>> {
    let m = st.svc.create_macro(&ctx, body.into()).await?;
    Ok(crate::extract::Json(MacroEnvelope {
        payload: macro_view(&m),
    }))
}

/// Shows a macro the caller may see.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Macro id")),
    responses((status = 200, body = MacroEnvelope), (status = 404, body = ErrorBody)))]
async fn show_macro(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<crate::extract::Json<MacroEnvelope>> {
    let m = st.svc.macro_of(&ctx, path.1).await?;
    Ok(crate::extract::Json(MacroEnvelope {
        payload: macro_view(&m),
    }))
}

/// Changes a macro (its author, or an administrator for a global one).
#[utoipa::path(patch, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Macro id")),
    request_body = MacroRequest,
    responses((status = 200, body = MacroEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_macro(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<MacroRequest>,
) -> ApiResult<crate::extract::Json<MacroEnvelope>> {
    let m = st.svc.update_macro(&ctx, path.1, body.into()).await?;
    Ok(crate::extract::Json(MacroEnvelope {
        payload: macro_view(&m),
    }))
}

/// Deletes a macro (its author, or an administrator for a global one).
#[utoipa::path(delete, path = "/api/v1/accounts/{account_id}/macros/{id}", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Macro id")),
    responses((status = 200, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_macro(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    st.svc.delete_macro(&ctx, path.1).await?;
    Ok(StatusCode::OK)
}

/// The conversations to run a macro on.
#[derive(Deserialize, ToSchema)]
pub struct ExecuteRequest {
    /// Conversation numbers (1 to 100), numbers or strings of digits.
    #[serde(deserialize_with = "crate::ids::ids_like")]
    #[schema(value_type = Vec<i64>)]
    pub conversation_ids: Vec<i64>,
}

/// Runs a macro's actions on conversations the caller can see, in order, each action
/// with an activity line naming the macro.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/macros/{id}/execute", tag = "Automation",
    security(("api_access_token" = [])),
    params(("account_id" = i64, Path, description = "Account id"), ("id" = i64, Path, description = "Macro id")),
    request_body = ExecuteRequest,
    responses((status = 200, description = "Done"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn execute_macro(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path(path): Path<(i64, i64)>,
    JsonObject(body): JsonObject<ExecuteRequest>,
) -> ApiResult<StatusCode> {
    st.svc
        .execute_macro(&ctx, path.1, &body.conversation_ids)
        .await?;
    Ok(StatusCode::OK)
}
