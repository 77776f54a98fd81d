//! Teams: the teams API's shape and the short one of assignments (`meta.team`).

use parley_store::conversations::TeamRef;
use parley_store::teams::TeamRow;
use serde::Serialize;
use utoipa::ToSchema;

/// A team as Chatwoot renders one inside a conversation (assignments, `meta.team`): the
/// team without the caller-specific `is_member` and the administrators' `max_open`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationTeam)]
pub struct TeamSummary {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: bool,
}

impl TeamSummary {
    /// Renders the team a conversation is assigned to.
    pub fn from_team(t: &TeamRef) -> Self {
        Self {
            id: t.id,
            account_id: t.account_id,
            name: t.name.clone(),
            description: t.description.clone(),
            allow_auto_assign: t.allow_auto_assign != 0,
        }
    }
}

/// A team.
#[derive(Serialize, ToSchema, Debug)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub allow_auto_assign: bool,
    pub account_id: i64,
    /// Whether the caller is a member of the team.
    pub is_member: bool,
    /// How many open conversations of this team an agent may hold; null: account default.
    pub max_open: Option<i64>,
}

/// Renders a team for a caller who is a member of the teams `mine`.
pub fn team_view(t: &TeamRow, mine: &[i64]) -> TeamView {
    TeamView {
        id: t.id,
        name: t.name.clone(),
        description: t.description.clone(),
        allow_auto_assign: t.allow_auto_assign != 0,
        account_id: t.account_id,
        is_member: mine.contains(&t.id),
        max_open: t.max_open,
    }
}
