//! Queues, agents' load and the account's routing settings as supervisors see them, and a
//! visitor's place in the queue.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A waiting conversation as the queue view shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueEntryView {
    /// The conversation's `display_id`.
    pub id: i64,
    pub contact: QueueContact,
    pub priority: Option<String>,
    pub vip: bool,
    /// Epoch seconds.
    pub waiting_since: i64,
    pub position: usize,
}

/// The contact of a waiting conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueContact {
    pub id: i64,
    pub name: Option<String>,
}

/// One queue: a team, or an inbox for conversations without a team.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    pub team_id: Option<i64>,
    pub team_name: Option<String>,
    pub inbox_id: i64,
    pub inbox_name: String,
    pub waiting: usize,
    pub oldest_waiting_since: Option<i64>,
    pub expected_wait_seconds: Option<i64>,
    pub conversations: Vec<QueueEntryView>,
}

/// A visitor's place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueStandingView {
    pub position: usize,
    pub expected_wait_seconds: Option<i64>,
}

/// Load of one agent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoadView {
    pub counted: u32,
    pub inactive: u32,
    pub free: u32,
}

/// An agent as supervisors see them in the team view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoutingAgentView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    /// What the agent chose.
    pub availability: String,
    /// What routing uses: offline when not connected.
    pub availability_status: String,
    pub connected: bool,
    pub team_ids: Vec<i64>,
    /// The limit of open conversations that applies to this agent: their own, else their
    /// team's (the largest, when several of their teams set one), else the account's.
    pub max_open: u32,
    /// Where `max_open` comes from: `agent`, `team` or `account`.
    pub max_open_source: &'static str,
    /// The team whose limit applies, when `max_open_source` is `team`.
    pub max_open_team_id: Option<i64>,
    pub load: LoadView,
}

/// Account-wide routing settings as the API shows and takes them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoutingSettingsView {
    pub default_max_open: i64,
    /// `null` turns the inactivity rule off.
    pub inactive_after_minutes: Option<i64>,
    pub presence_grace_seconds: i64,
}
