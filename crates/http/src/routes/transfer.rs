//! `POST /api/v1/accounts/{account_id}/conversations/{conversation_id}/transfer`: hand a
//! conversation to another agent or team with a private note, in one request that either
//! happens whole or not at all. Chatwoot has no such path (its console posts a note and an
//! assignment separately); this one follows its style.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Acct;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use parley_service::transfer::{TransferRequest, TransferView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(transfer))
}

/// Where the conversation goes. At least one of `assignee_id` and `team_id` is required.
#[derive(Deserialize, ToSchema)]
pub struct TransferBody {
    /// The agent who takes it over: a member of the account who can see the inbox (and of
    /// `team_id`, when that is given). `null` or absent: no particular agent — it leaves
    /// its current agent and routing gives it to the next available one (or it waits in
    /// the queue).
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    /// The team (department) it moves to; `null` takes it out of its team; absent keeps it.
    #[serde(default, deserialize_with = "crate::ids::present_id_like")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    /// A private note for whoever takes it over (at most 10,000 characters; blank: none).
    pub note: Option<String>,
}

/// Transfers a conversation: the new assignee and team, the private note and the activity
/// line are stored together or not at all; invalid input changes nothing.
#[utoipa::path(post, path = "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transfer", tag = "Conversations",
    security(("api_access_token" = [])), params(("account_id" = i64, Path), ("conversation_id" = i64, Path)),
    request_body = TransferBody,
    responses((status = 200, description = "The conversation after the transfer and the stored messages", body = TransferView),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn transfer(
    State(st): State<AppState>,
    Acct(ctx): Acct,
    Path((_account, id)): Path<(i64, i64)>,
    Json(b): Json<TransferBody>,
) -> ApiResult<Json<TransferView>> {
    // As in `assignments`, 0 means none.
    let zero_is_none = |v: Option<Option<i64>>| v.map(|x| x.filter(|&id| id != 0));
    let req = TransferRequest {
        assignee_id: zero_is_none(b.assignee_id),
        team_id: zero_is_none(b.team_id),
        note: b.note,
    };
    Ok(Json(st.svc.transfer(&ctx, id, req).await?))
}
