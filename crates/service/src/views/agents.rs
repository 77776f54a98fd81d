//! Agents: the agents API's shape (also of inbox and team member lists, so all three render
//! an agent the same way), an invitation's, and the short one of assignments
//! (`meta.assignee`).

use parley_store::users::AgentRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::agents::Invitation;

/// An agent as Chatwoot renders one inside a conversation (assignments, `meta.assignee`):
/// the agents API's fields without the limits only administrators manage (`max_open`), in
/// Chatwoot's order for this shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConversationAgent)]
pub struct AgentSummary {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub available_name: String,
    pub email: String,
    pub role: String,
    pub availability_status: String,
    pub auto_offline: bool,
    pub confirmed: bool,
    pub thumbnail: String,
    pub avatar_url: String,
}

impl AgentSummary {
    /// Renders an agent row as an assignee.
    pub fn from_agent(a: &AgentRow) -> Self {
        Self {
            id: a.id,
            account_id: a.account_id,
            name: a.name.clone(),
            available_name: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
            email: a.email.clone(),
            role: a.role.clone(),
            availability_status: a.availability.clone(),
            auto_offline: a.auto_offline != 0,
            confirmed: true,
            thumbnail: a.avatar_url.clone().unwrap_or_default(),
            avatar_url: a.avatar_url.clone().unwrap_or_default(),
        }
    }
}

/// An agent (a user as a member of this account), with Chatwoot's field names.
#[derive(Serialize, ToSchema, Debug)]
pub struct AgentView {
    pub id: i64,
    pub account_id: i64,
    /// `online`, `busy` or `offline`.
    pub availability_status: String,
    pub auto_offline: bool,
    pub confirmed: bool,
    pub email: String,
    /// The display name when set, else the name.
    pub available_name: String,
    pub name: String,
    /// `administrator`, `supervisor` or `agent`.
    pub role: String,
    pub thumbnail: String,
    pub avatar_url: String,
    /// The agent's own limit of open conversations; null: team or account default.
    pub max_open: Option<i64>,
}

/// Renders an agent row.
pub fn agent_view(a: &AgentRow) -> AgentView {
    AgentView {
        id: a.id,
        account_id: a.account_id,
        availability_status: a.availability.clone(),
        auto_offline: a.auto_offline != 0,
        confirmed: true,
        email: a.email.clone(),
        available_name: a.display_name.clone().unwrap_or_else(|| a.name.clone()),
        name: a.name.clone(),
        role: a.role.clone(),
        thumbnail: a.avatar_url.clone().unwrap_or_default(),
        avatar_url: a.avatar_url.clone().unwrap_or_default(),
        max_open: a.max_open,
    }
}

/// An existing user invited into the account (`202 Accepted`): the agent's shape with
/// only what the administrator sent, `id` null and `confirmed` false until the user
/// accepts. The user's own name, id and other accounts are never shown here.
#[derive(Serialize, ToSchema, Debug)]
pub struct InvitedAgentView {
    /// Null: the user is not a member until they accept.
    #[schema(value_type = Option<i64>)]
    pub id: Option<i64>,
    pub account_id: i64,
    pub availability_status: String,
    pub auto_offline: bool,
    /// Always false for an invitation.
    pub confirmed: bool,
    pub email: String,
    /// The name the administrator sent.
    pub available_name: String,
    pub name: String,
    pub role: String,
    pub thumbnail: String,
    pub avatar_url: String,
    pub max_open: Option<i64>,
    /// The invitation's id.
    pub invitation_id: i64,
    /// `pending`.
    pub invitation_status: String,
}

/// Renders an invitation as the inviting administrator sees it.
pub fn invited_view(i: &Invitation) -> InvitedAgentView {
    InvitedAgentView {
        id: None,
        account_id: i.account_id,
        availability_status: i.availability.as_str().into(),
        auto_offline: i.auto_offline,
        confirmed: false,
        email: i.email.clone(),
        available_name: i.name.clone(),
        name: i.name.clone(),
        role: i.role.as_str().into(),
        thumbnail: String::new(),
        avatar_url: String::new(),
        max_open: None,
        invitation_id: i.id,
        invitation_status: "pending".into(),
    }
}

/// Renders a list of agents.
pub fn agent_views(list: &[AgentRow]) -> Vec<AgentView> {
    list.iter().map(agent_view).collect()
}

/// A user in a few fields (Chatwoot's shape of a note's author or a notification's actor).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: i64,
    pub name: String,
    pub available_name: String,
    pub avatar_url: String,
    pub thumbnail: String,
}

impl UserSummary {
    /// From the columns a join with `users` gives (absent ones read as empty).
    pub fn new(
        id: i64,
        name: Option<String>,
        display_name: Option<String>,
        avatar_url: Option<String>,
    ) -> Self {
        let name = name.unwrap_or_default();
        let avatar = avatar_url.unwrap_or_default();
        Self {
            id,
            available_name: display_name.unwrap_or_else(|| name.clone()),
            name,
            avatar_url: avatar.clone(),
            thumbnail: avatar,
        }
    }
}
