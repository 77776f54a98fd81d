//! Routing use cases: presence, automatic assignment, the waiting queues, claims and
//! re-assignment. The rules are `parley_core::routing`; the atomic application is
//! `Store::route_conversation`; this module decides *when* to route and tells everybody
//! what happened (activity lines, events, queue positions for waiting visitors).

use std::collections::{HashMap, HashSet};

use parley_core::activity::Activity;
use parley_core::routing::{
    self, AssignReason, AssignedConversation, AssignmentRate, QueuedConversation,
};
use parley_core::{Availability, ConversationStatus, Priority, validate};
use parley_store::conversations::ConversationRow;
use parley_store::jobs::{NewJob, OnExisting};
use parley_store::routing::{
    PresenceFacts, QueuedRow, RouteOptions, RouteOutcome, RoutingSettings,
};
use serde_json::json;

use crate::realtime::PresenceKey;
use crate::routing_config::InboxRouting;
use crate::views::conversations::ConversationView;
/// The queue and routing views live with the other wire views; named here as before.
pub use crate::views::routing::{
    LoadView, QueueContact, QueueEntryView, QueueStandingView, QueueView, RoutingAgentView,
    RoutingSettingsView,
};
use crate::views::secs;
use crate::{AccountCtx, Result, ServiceError, Services};

/// How far back the pace of a queue is measured for the expected wait.
const PACE_WINDOW_MS: i64 = 60 * 60_000;

/// Positions pushed to waiting visitors per queue change; further back nobody needs a
/// live update every time the head moves (they get theirs when they reload).
const ANNOUNCE_LIMIT: usize = 200;

/// A patch of the routing settings; `None` leaves a field as it is, and
/// `inactive_after_minutes: Some(None)` turns the inactivity rule off.
#[derive(Debug, Clone, Default)]
pub struct RoutingSettingsPatch {
    pub default_max_open: Option<i64>,
    pub inactive_after_minutes: Option<Option<i64>>,
    pub presence_grace_seconds: Option<i64>,
}

fn priority_of(p: Option<&str>) -> Priority {
    p.and_then(Priority::parse).unwrap_or(Priority::None)
}

fn queued(r: &QueuedRow) -> QueuedConversation {
    QueuedConversation {
        id: r.id,
        priority: priority_of(r.priority.as_deref()),
        vip: r.vip != 0,
        waiting_since: r.queued_at,
    }
}

/// The queue a conversation waits in: its team across inboxes, or its inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum QueueKey {
    Team(i64),
    Inbox(i64),
}

impl QueueKey {
    fn of(inbox_id: i64, team_id: Option<i64>) -> Self {
        team_id.map_or(QueueKey::Inbox(inbox_id), QueueKey::Team)
    }
}

/// When a silent agent loses the conversation: N minutes after they received it or the
/// customer last started waiting, whichever is later.
fn reassign_deadline(c: &ConversationRow, minutes: u32) -> Option<i64> {
    let assigned_at = c.assigned_at?;
    let facts = AssignedConversation {
        assigned_at,
        first_agent_reply_at: c.last_reply_at,
        last_customer_message_at: c.last_incoming_at,
    };
    if !routing::awaiting_agent_answer(&facts) {
        return None;
    }
    let from = assigned_at.max(c.waiting_since.unwrap_or(assigned_at));
    Some(
        from.saturating_add(i64::from(minutes).saturating_mul(routing::MINUTE_MS))
            .saturating_add(1),
    )
}

impl Services {
    // --- presence ------------------------------------------------------------------------

    /// An agent's console connection on this node opened or closed: records this node's
    /// count and re-evaluates presence (at once when connected, after the grace period
    /// when the last connection closed, so a page reload does not flap).
    pub async fn agent_connections_changed(&self, account_id: i64, user_id: i64) -> Result<()> {
        let n = self.local_connections(account_id, PresenceKey::User(user_id));
        self.store
            .presence_connection(
                account_id,
                user_id,
                &self.node_id,
                i64::try_from(n).unwrap_or(0),
            )
            .await?;
        if n > 0 {
            return self.refresh_presence(account_id, user_id).await;
        }
        let grace_ms = self
            .store
            .presence_facts(account_id, user_id)
            .await?
            .map_or(0, |f| f.presence_grace_seconds.max(0) * 1000);
        if grace_ms == 0 {
            return self.refresh_presence(account_id, user_id).await;
        }
        let key = format!("presence:{account_id}:{user_id}");
        self.store
            .schedule_job(
                &NewJob {
                    key: &key,
                    kind: "presence",
                    account_id: Some(account_id),
                    payload: json!({"account_id": account_id, "user_id": user_id}).to_string(),
                    run_at: self.store.now() + grace_ms + 1,
                },
                OnExisting::Replace,
            )
            .await?;
        Ok(())
    }

    /// The presence routing uses right now: the chosen availability while connected
    /// (or for agents who turned automatic offline off), offline otherwise.
    pub async fn effective_presence(
        &self,
        account_id: i64,
        user_id: i64,
    ) -> Result<Option<(Availability, bool)>> {
        match self.store.presence_facts(account_id, user_id).await? {
            Some(f) => Ok(Some(self.presence_from(&f, account_id, user_id).await?)),
            None => Ok(None),
        }
    }

    /// The effective presence and whether a console is connected, from facts already read.
    async fn presence_from(
        &self,
        f: &PresenceFacts,
        account_id: i64,
        user_id: i64,
    ) -> Result<(Availability, bool)> {
        let chosen = Availability::parse(&f.availability).unwrap_or(Availability::Offline);
        let connected = self.local_connections(account_id, PresenceKey::User(user_id)) > 0
            || self
                .store
                .connected_until(account_id, user_id, f.presence_grace_seconds.max(0) * 1000)
                .await?
                .is_some_and(|until| until > self.store.now());
        let effective = match chosen {
            Availability::Offline => Availability::Offline,
            _ if f.auto_offline == 0 || connected => chosen,
            _ => Availability::Offline,
        };
        Ok((effective, connected))
    }

    /// Recomputes an agent's presence and, when it changed, announces it and applies its
    /// consequences: going offline hands back the conversations where a customer waits for
    /// them; coming online takes from the queues.
    pub async fn refresh_presence(&self, account_id: i64, user_id: i64) -> Result<()> {
        let Some(f) = self.store.presence_facts(account_id, user_id).await? else {
            return Ok(());
        };
        let (effective, _) = self.presence_from(&f, account_id, user_id).await?;
        let to = effective.as_str();
        if f.presence == to
            || !self
                .store
                .set_presence(account_id, user_id, &f.presence, to)
                .await?
        {
            return Ok(());
        }
        tracing::info!(account_id, user_id, from = %f.presence, to, "agent presence changed");
        self.emit_ephemeral(parley_bus::Event {
            account_id,
            name: "presence.update".into(),
            conversation_id: None,
            inbox_id: None,
            contact_id: None,
            public: false,
            cursor: None,
            data: json!({"account_id": account_id, "users": {user_id.to_string(): to}}),
        });
        match effective {
            Availability::Offline => self.release_unanswered(account_id, user_id).await?,
            Availability::Online => {
                self.drain_queues(account_id).await?;
            }
            Availability::Busy => {}
        }
        Ok(())
    }

    /// The signed-in agent sets their availability (`POST /api/v1/profile/availability`).
    pub async fn set_own_availability(&self, ctx: &AccountCtx, availability: &str) -> Result<()> {
        let a = Availability::parse(availability).ok_or_else(|| {
            validate::FieldError::new(
                "availability",
                format!("must be one of {}", Availability::expected()),
            )
        })?;
        self.store
            .set_availability(ctx.account_id, ctx.user_id, a)
            .await?;
        self.refresh_presence(ctx.account_id, ctx.user_id).await
    }

    /// Hands back an agent's conversations where the customer waits for an answer.
    async fn release_unanswered(&self, account_id: i64, user_id: i64) -> Result<()> {
        let held = self.store.held_conversations(account_id, user_id).await?;
        let name = self.agent_name(account_id, user_id).await;
        for c in held {
            let Some(assigned_at) = c.assigned_at else {
                continue;
            };
            let facts = AssignedConversation {
                assigned_at,
                first_agent_reply_at: c.last_reply_at,
                last_customer_message_at: c.last_incoming_at,
            };
            if !routing::awaiting_agent_answer(&facts) {
                continue;
            }
            self.requeue(
                &c,
                user_id,
                assigned_at,
                Activity::WentOffline {
                    agent: name.clone(),
                },
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn agent_name(&self, account_id: i64, user_id: i64) -> String {
        match self.store.agent(account_id, user_id).await {
            Ok(a) => a.display_name.clone().unwrap_or(a.name),
            Err(_) => format!("Agent {user_id}"),
        }
    }

    /// Takes a conversation from `from_agent` (if they still hold it since `assigned_at`)
    /// and routes it to somebody else.
    pub(crate) async fn requeue(
        &self,
        c: &ConversationRow,
        from_agent: i64,
        assigned_at: i64,
        activity: Activity,
    ) -> Result<()> {
        let Some((_, after)) = self
            .store
            .release_conversation(c.id, from_agent, assigned_at)
            .await?
        else {
            return Ok(());
        };
        self.activity(&after, activity).await?;
        self.publish_changed("assignee.changed", &after).await?;
        let since = after.waiting_since.or(after.created_at.into());
        let mut exclude = self.cycle_exclusions(&after).await?;
        if !exclude.contains(&from_agent) {
            exclude.push(from_agent);
        }
        self.route(
            &after,
            RouteOptions {
                exclude,
                queue_since: since,
            },
        )
        .await
    }

    /// Agents routing must not give `c` back to in the customer's current wait: once a
    /// silent agent lost it (an activity line `silent` since the wait began), everyone who
    /// had it since then. This is what stops a conversation from bouncing between two
    /// silent agents every N minutes; the cycle ends when an agent answers (the wait ends),
    /// and a claim by hand is always possible.
    async fn cycle_exclusions(&self, c: &ConversationRow) -> Result<Vec<i64>> {
        let start = c.waiting_since.unwrap_or(c.created_at);
        if !self.store.has_activity_since(c.id, "silent", start).await? {
            return Ok(Vec::new());
        }
        Ok(self.store.agents_assigned_since(c, start).await?)
    }

    // --- routing -------------------------------------------------------------------------

    /// Routes a conversation and tells everybody what happened.
    pub async fn route(&self, c: &ConversationRow, opts: RouteOptions) -> Result<()> {
        let outcome = self.store.route_conversation(c.id, opts).await?;
        self.after_route(outcome).await
    }

    async fn after_route(&self, outcome: RouteOutcome) -> Result<()> {
        match outcome {
            RouteOutcome::Skipped => Ok(()),
            RouteOutcome::Assigned {
                before,
                after,
                agent_id,
                reason,
            } => {
                metrics::counter!("parley_routing_assignments_total", "reason" => reason.as_str())
                    .increment(1);
                let name = self.agent_name(after.account_id, agent_id).await;
                let activity = Activity::AutoAssigned {
                    agent: name,
                    returning: reason == AssignReason::ReturningCustomer,
                };
                self.activity(&after, activity).await?;
                self.publish_changed("assignee.changed", &after).await?;
                self.schedule_reassign(&after).await?;
                if before.queued_at.is_some() {
                    self.queue_left(&after);
                    self.announce_queue(after.account_id, after.inbox_id, after.team_id)
                        .await?;
                }
                Ok(())
            }
            RouteOutcome::Queued { row, reason, newly } => {
                if newly {
                    tracing::info!(
                        conversation = row.id,
                        reason = reason.as_str(),
                        "conversation queued"
                    );
                    self.publish_changed("conversation.updated", &row).await?;
                    self.announce_queue(row.account_id, row.inbox_id, row.team_id)
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Assigns waiting conversations while anyone has room, best first. One failed attempt
    /// per queue and inbox is enough to know the rest of that queue must wait too.
    pub async fn drain_queues(&self, account_id: i64) -> Result<usize> {
        let mut waiting = self.store.queued_conversations(account_id).await?;
        waiting.sort_by(|a, b| routing::queue_cmp(&queued(a), &queued(b)));
        let mut blocked: HashSet<(i64, Option<i64>)> = HashSet::new();
        let mut assigned = 0;
        for w in waiting {
            if blocked.contains(&(w.inbox_id, w.team_id)) {
                continue;
            }
            let exclude = match self.store.conversation_by_id(w.id).await? {
                Some(c) => self.cycle_exclusions(&c).await?,
                None => continue,
            };
            let outcome = self
                .store
                .route_conversation(
                    w.id,
                    RouteOptions {
                        exclude,
                        ..RouteOptions::default()
                    },
                )
                .await?;
            match &outcome {
                RouteOutcome::Assigned { .. } => assigned += 1,
                RouteOutcome::Queued { .. } => {
                    blocked.insert((w.inbox_id, w.team_id));
                }
                RouteOutcome::Skipped => {}
            }
            self.after_route(outcome).await?;
        }
        Ok(assigned)
    }

    /// Re-assignment timer of a freshly assigned conversation, when its inbox sets one.
    pub(crate) async fn schedule_reassign(&self, c: &ConversationRow) -> Result<()> {
        let Some(assigned_at) = c.assigned_at else {
            return Ok(());
        };
        let inbox = self.store.inbox(c.account_id, c.inbox_id).await?;
        let Some(minutes) = InboxRouting::of_inbox(&inbox).reassign_after_minutes else {
            return Ok(());
        };
        let Some(at) = reassign_deadline(c, minutes) else {
            return Ok(());
        };
        let key = format!("reassign:{}", c.id);
        self.store
            .schedule_job(
                &NewJob {
                    key: &key,
                    kind: "reassign",
                    account_id: Some(c.account_id),
                    payload: json!({"conversation_id": c.id, "assigned_at": assigned_at})
                        .to_string(),
                    run_at: at,
                },
                OnExisting::Replace,
            )
            .await?;
        Ok(())
    }

    /// The re-assignment timer fired: if the agent still holds the conversation since
    /// `assigned_at` and still has not answered, it goes to someone else.
    pub async fn reassign_if_silent(&self, conversation_id: i64, assigned_at: i64) -> Result<()> {
        let Some(c) = self.store.conversation_by_id(conversation_id).await? else {
            return Ok(());
        };
        let (Some(agent), Some(at)) = (c.assignee_id, c.assigned_at) else {
            return Ok(());
        };
        if at != assigned_at || c.status() != ConversationStatus::Open {
            return Ok(());
        }
        let inbox = self.store.inbox(c.account_id, c.inbox_id).await?;
        let Some(minutes) = InboxRouting::of_inbox(&inbox).reassign_after_minutes else {
            return Ok(());
        };
        match reassign_deadline(&c, minutes) {
            Some(deadline) if self.store.now() >= deadline => {}
            Some(_) => return self.schedule_reassign(&c).await,
            None => return Ok(()),
        }
        let name = self.agent_name(c.account_id, agent).await;
        // One re-assignment per wait: if this agent got it because another one stayed
        // silent, it now waits at the head of the queue instead of bouncing back.
        let start = c.waiting_since.unwrap_or(c.created_at);
        let activity = if self.store.has_activity_since(c.id, "silent", start).await? {
            metrics::counter!("parley_routing_returned_to_queue_total").increment(1);
            Activity::ReturnedToQueue {
                agent: name,
                minutes,
            }
        } else {
            metrics::counter!("parley_routing_reassignments_total").increment(1);
            Activity::Silent {
                agent: name,
                minutes,
            }
        };
        self.requeue(&c, agent, assigned_at, activity).await
    }

    /// Takes an unassigned conversation for the caller; exactly one of concurrent claims
    /// wins, the others get `Conflict`.
    pub async fn claim_conversation(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
    ) -> Result<ConversationView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        if c.assignee_id == Some(ctx.user_id) {
            return self.conversation_view(ctx.account_id, display_id).await;
        }
        let Some((before, after)) = self.store.claim_conversation(c.id, ctx.user_id).await? else {
            // A simultaneous claim of the same agent may have won: that is theirs, not a loss.
            let now = self.store.conversation_by_id(c.id).await?;
            if now.is_some_and(|n| n.assignee_id == Some(ctx.user_id)) {
                return self.conversation_view(ctx.account_id, display_id).await;
            }
            return Err(ServiceError::Conflict(
                "already_assigned: another agent has taken this conversation".into(),
            ));
        };
        self.activity(
            &after,
            Activity::SelfAssigned {
                agent: ctx.user_name.clone(),
            },
        )
        .await?;
        let view = self.publish_changed("assignee.changed", &after).await?;
        self.schedule_reassign(&after).await?;
        if before.queued_at.is_some() {
            self.queue_left(&after);
            self.announce_queue(after.account_id, after.inbox_id, after.team_id)
                .await?;
        }
        Ok(view)
    }

    // --- queues ------------------------------------------------------------------------

    /// Tells the visitor their conversation left the queue.
    pub(crate) fn queue_left(&self, c: &ConversationRow) {
        self.emit_queue_position(c, None);
    }

    fn emit_queue_position(&self, c: &ConversationRow, standing: Option<QueueStandingView>) {
        self.emit_ephemeral(parley_bus::Event {
            account_id: c.account_id,
            name: "conversation.queue_position".into(),
            conversation_id: Some(c.id),
            inbox_id: Some(c.inbox_id),
            contact_id: Some(c.contact_id),
            public: true,
            cursor: None,
            data: json!({
                "conversation_id": c.display_id,
                "position": standing.map(|s| s.position),
                "expected_wait_seconds": standing.and_then(|s| s.expected_wait_seconds),
            }),
        });
    }

    async fn pace(
        &self,
        account_id: i64,
        inbox_id: i64,
        team_id: Option<i64>,
    ) -> Result<AssignmentRate> {
        let now = self.store.now();
        let times = self
            .store
            .recent_assignments(account_id, inbox_id, team_id, now - PACE_WINDOW_MS)
            .await?;
        Ok(AssignmentRate::from_recent(&times, PACE_WINDOW_MS, now))
    }

    /// The conversations of one queue in serving order.
    async fn queue_members(&self, account_id: i64, key: QueueKey) -> Result<Vec<QueuedRow>> {
        let (inbox_id, team_id) = match key {
            QueueKey::Team(t) => (0, Some(t)),
            QueueKey::Inbox(i) => (i, None),
        };
        let mut rows: Vec<QueuedRow> = self
            .store
            .queue_members(account_id, inbox_id, team_id)
            .await?;
        rows.sort_by(|a, b| routing::queue_cmp(&queued(a), &queued(b)));
        Ok(rows)
    }

    /// Pushes fresh positions to the visitors waiting in a queue, and tells agents the
    /// queue changed.
    pub(crate) async fn announce_queue(
        &self,
        account_id: i64,
        inbox_id: i64,
        team_id: Option<i64>,
    ) -> Result<()> {
        let key = QueueKey::of(inbox_id, team_id);
        let members = self.queue_members(account_id, key).await?;
        let rate = self.pace(account_id, inbox_id, team_id).await?;
        for (i, m) in members.iter().take(ANNOUNCE_LIMIT).enumerate() {
            let standing = QueueStandingView {
                position: i + 1,
                expected_wait_seconds: rate.expected_wait_ms(i + 1).map(|ms| (ms + 999) / 1000),
            };
            self.emit_ephemeral(parley_bus::Event {
                account_id,
                name: "conversation.queue_position".into(),
                conversation_id: Some(m.id),
                inbox_id: Some(m.inbox_id),
                contact_id: Some(m.contact_id),
                public: true,
                cursor: None,
                data: json!({
                    "conversation_id": m.display_id,
                    "position": standing.position,
                    "expected_wait_seconds": standing.expected_wait_seconds,
                }),
            });
        }
        self.emit_ephemeral(parley_bus::Event {
            account_id,
            name: "routing.queue_changed".into(),
            conversation_id: None,
            inbox_id: Some(inbox_id),
            contact_id: None,
            public: false,
            cursor: None,
            data: json!({"inbox_id": inbox_id, "team_id": team_id, "waiting": members.len()}),
        });
        Ok(())
    }

    /// A queued conversation's place and expected wait; `None` when it is not queued.
    pub async fn queue_standing(&self, c: &ConversationRow) -> Result<Option<QueueStandingView>> {
        if c.queued_at.is_none() || c.assignee_id.is_some() {
            return Ok(None);
        }
        let members = self
            .queue_members(c.account_id, QueueKey::of(c.inbox_id, c.team_id))
            .await?;
        let Some(i) = members.iter().position(|m| m.id == c.id) else {
            return Ok(None);
        };
        let rate = self.pace(c.account_id, c.inbox_id, c.team_id).await?;
        Ok(Some(QueueStandingView {
            position: i + 1,
            expected_wait_seconds: rate.expected_wait_ms(i + 1).map(|ms| (ms + 999) / 1000),
        }))
    }

    /// The account's non-empty queues the caller may see.
    pub async fn queues(&self, ctx: &AccountCtx) -> Result<Vec<QueueView>> {
        let visible = self.visible_inbox_ids(ctx).await?;
        let mut rows = self.store.queued_conversations(ctx.account_id).await?;
        rows.retain(|r| visible.as_ref().is_none_or(|v| v.contains(&r.inbox_id)));
        rows.sort_by(|a, b| routing::queue_cmp(&queued(a), &queued(b)));
        let inboxes: HashMap<i64, String> = self
            .store
            .inboxes(ctx.account_id)
            .await?
            .into_iter()
            .map(|i| (i.id, i.name))
            .collect();
        let teams: HashMap<i64, String> = self
            .store
            .teams(ctx.account_id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let mut order: Vec<QueueKey> = Vec::new();
        let mut groups: HashMap<QueueKey, Vec<QueuedRow>> = HashMap::new();
        for r in rows {
            let k = QueueKey::of(r.inbox_id, r.team_id);
            if !groups.contains_key(&k) {
                order.push(k);
            }
            groups.entry(k).or_default().push(r);
        }
        let mut out = Vec::with_capacity(order.len());
        for k in order {
            let members = groups.remove(&k).unwrap_or_default();
            let Some(first) = members.first() else {
                continue;
            };
            let (inbox_id, team_id) = (first.inbox_id, first.team_id);
            let rate = self.pace(ctx.account_id, inbox_id, team_id).await?;
            out.push(QueueView {
                team_id,
                team_name: team_id.and_then(|t| teams.get(&t).cloned()),
                inbox_id,
                inbox_name: inboxes.get(&inbox_id).cloned().unwrap_or_default(),
                waiting: members.len(),
                oldest_waiting_since: members.iter().map(|m| m.queued_at).min().map(secs),
                expected_wait_seconds: rate.expected_wait_ms(1).map(|ms| (ms + 999) / 1000),
                conversations: members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| QueueEntryView {
                        id: m.display_id,
                        contact: QueueContact {
                            id: m.contact_id,
                            name: m.contact_name.clone(),
                        },
                        priority: m.priority.clone(),
                        vip: m.vip != 0,
                        waiting_since: secs(m.queued_at),
                        position: i + 1,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Agents with presence and load, for supervisors.
    pub async fn routing_agents(&self, ctx: &AccountCtx) -> Result<Vec<RoutingAgentView>> {
        if !ctx.sees_all_inboxes() {
            return Err(ServiceError::Forbidden(
                "only administrators and supervisors see the team's load".into(),
            ));
        }
        let agents = self.store.routing_agents(ctx.account_id).await?;
        let settings = self.store.routing_settings(ctx.account_id).await?;
        let ids: Vec<i64> = agents.iter().map(|a| a.user_id).collect();
        let loads = self.store.agent_loads(ctx.account_id, &ids).await?;
        let mut teams: HashMap<i64, Vec<i64>> = HashMap::new();
        for (user, team) in self.store.agent_teams(ctx.account_id).await? {
            teams.entry(user).or_default().push(team);
        }
        let team_limits: HashMap<i64, i64> = self
            .store
            .teams(ctx.account_id)
            .await?
            .into_iter()
            .filter_map(|t| t.max_open.map(|m| (t.id, m)))
            .collect();
        let mut out = Vec::with_capacity(agents.len());
        for a in agents {
            let connected = self
                .effective_presence(ctx.account_id, a.user_id)
                .await?
                .is_some_and(|(_, c)| c);
            let team_ids = teams.remove(&a.user_id).unwrap_or_default();
            let team_limit = team_ids
                .iter()
                .filter_map(|t| team_limits.get(t).map(|m| (*m, *t)))
                .max();
            let (limit, source, limit_team) = match (a.max_open, team_limit) {
                (Some(m), _) => (m, "agent", None),
                (None, Some((m, team))) => (m, "team", Some(team)),
                (None, None) => (settings.default_max_open, "account", None),
            };
            let max_open = u32::try_from(limit.clamp(0, i64::from(u32::MAX))).unwrap_or(u32::MAX);
            let load = loads.get(&a.user_id).copied();
            let counted = load.map_or(0, |l| l.counted);
            out.push(RoutingAgentView {
                id: a.user_id,
                name: a.display_name.clone().unwrap_or(a.name),
                email: a.email,
                role: a.role,
                availability: a.availability,
                availability_status: a.presence,
                connected,
                team_ids,
                max_open,
                max_open_source: source,
                max_open_team_id: limit_team,
                load: LoadView {
                    counted,
                    inactive: load.map_or(0, |l| l.inactive),
                    free: max_open.saturating_sub(counted),
                },
            });
        }
        Ok(out)
    }

    /// The account's routing settings.
    pub async fn routing_settings(&self, ctx: &AccountCtx) -> Result<RoutingSettingsView> {
        let s = self.store.routing_settings(ctx.account_id).await?;
        Ok(RoutingSettingsView {
            default_max_open: s.default_max_open,
            inactive_after_minutes: s.inactive_after_minutes,
            presence_grace_seconds: s.presence_grace_seconds,
        })
    }

    /// Changes the account's routing settings (administrators); a raised limit or a
    /// shorter inactivity time takes from the queues at once.
    pub async fn update_routing_settings(
        &self,
        ctx: &AccountCtx,
        patch: RoutingSettingsPatch,
    ) -> Result<RoutingSettingsView> {
        ctx.require_admin()?;
        let mut s: RoutingSettings = self.store.routing_settings(ctx.account_id).await?;
        if let Some(m) = patch.default_max_open {
            if !(1..=1000).contains(&m) {
                return Err(
                    validate::FieldError::new("default_max_open", "must be 1 to 1000").into(),
                );
            }
            s.default_max_open = m;
        }
        if let Some(m) = patch.inactive_after_minutes {
            if m.is_some_and(|m| !(1..=10_080).contains(&m)) {
                return Err(validate::FieldError::new(
                    "inactive_after_minutes",
                    "must be 1 to 10080 minutes or null",
                )
                .into());
            }
            s.inactive_after_minutes = m;
        }
        if let Some(g) = patch.presence_grace_seconds {
            if !(0..=3600).contains(&g) {
                return Err(validate::FieldError::new(
                    "presence_grace_seconds",
                    "must be 0 to 3600 seconds",
                )
                .into());
            }
            s.presence_grace_seconds = g;
        }
        self.store.set_routing_settings(ctx.account_id, &s).await?;
        self.drain_queues(ctx.account_id).await?;
        self.routing_settings(ctx).await
    }

    /// Sets an agent's own limit (administrators).
    pub async fn set_agent_max_open(
        &self,
        ctx: &AccountCtx,
        user_id: i64,
        max_open: Option<i64>,
    ) -> Result<()> {
        ctx.require_admin()?;
        check_max_open(max_open)?;
        self.store
            .set_agent_max_open(ctx.account_id, user_id, max_open)
            .await
            .map_err(|e| match e {
                parley_store::StoreError::NotFound => ServiceError::NotFound("agent"),
                other => other.into(),
            })?;
        self.drain_queues(ctx.account_id).await?;
        Ok(())
    }

    /// Sets a team's per-agent limit (administrators).
    pub async fn set_team_max_open(
        &self,
        ctx: &AccountCtx,
        team_id: i64,
        max_open: Option<i64>,
    ) -> Result<()> {
        ctx.require_admin()?;
        check_max_open(max_open)?;
        self.store
            .set_team_max_open(ctx.account_id, team_id, max_open)
            .await
            .map_err(|e| match e {
                parley_store::StoreError::NotFound => ServiceError::NotFound("team"),
                other => other.into(),
            })?;
        self.drain_queues(ctx.account_id).await?;
        Ok(())
    }

    /// Marks a contact VIP or not; queued conversations of the contact move up at once.
    pub async fn set_contact_vip(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
        vip: bool,
    ) -> Result<()> {
        self.store
            .set_contact_vip(ctx.account_id, contact_id, vip)
            .await
            .map_err(|e| match e {
                parley_store::StoreError::NotFound => ServiceError::NotFound("contact"),
                other => other.into(),
            })?;
        let waiting: Vec<QueuedRow> = self
            .store
            .queued_conversations(ctx.account_id)
            .await?
            .into_iter()
            .filter(|r| r.contact_id == contact_id)
            .collect();
        for w in waiting {
            self.announce_queue(ctx.account_id, w.inbox_id, w.team_id)
                .await?;
        }
        Ok(())
    }

    // --- hooks -------------------------------------------------------------------------

    /// Publishes a new conversation after giving it the inbox's default team and routing
    /// it, so `conversation.created` already shows the team and the queue or assignee.
    /// The conversation exists whatever happens here: a routing failure is logged and the
    /// periodic sweep or the next change routes it.
    pub(crate) async fn publish_new_conversation(
        &self,
        row: &ConversationRow,
    ) -> Result<ConversationView> {
        let (row, outcome) = match self.prepare_new(row).await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(conversation = row.id, error = %e, "routing a new conversation failed");
                (row.clone(), None)
            }
        };
        let view = self.publish_changed("conversation.created", &row).await?;
        if let Some(outcome) = outcome {
            let queued = matches!(outcome, RouteOutcome::Queued { .. });
            if queued {
                // Already in `conversation.created`; only the queue's listeners hear more.
                self.announce_queue(row.account_id, row.inbox_id, row.team_id)
                    .await?;
            } else {
                self.after_route(outcome).await?;
            }
        }
        Ok(view)
    }

    async fn prepare_new(
        &self,
        row: &ConversationRow,
    ) -> Result<(ConversationRow, Option<RouteOutcome>)> {
        let inbox = self.store.inbox(row.account_id, row.inbox_id).await?;
        let mut row = row.clone();
        if row.team_id.is_none()
            && let Some(team) = InboxRouting::of_inbox(&inbox).default_team_id
            && self.store.team_ref(row.account_id, team).await?.is_some()
        {
            row = self
                .store
                .set_conversation_team(row.id, Some(team))
                .await?
                .1;
        }
        // An inbox with a bot: the conversation waits for the bot, unrouted.
        let row = self.hold_for_bot(row).await?;
        if inbox.enable_auto_assignment == 0
            || row.assignee_id.is_some()
            || row.status() != ConversationStatus::Open
        {
            return Ok((row, None));
        }
        let outcome = self
            .store
            .route_conversation(row.id, RouteOptions::default())
            .await?;
        let row = match &outcome {
            RouteOutcome::Assigned { after, .. } => (**after).clone(),
            RouteOutcome::Queued { row, .. } => (**row).clone(),
            RouteOutcome::Skipped => row,
        };
        Ok((row, Some(outcome)))
    }

    /// A status change: capacity may have freed up (resolved, snoozed) or a reopened
    /// conversation needs an agent again.
    pub(crate) async fn on_status_changed(
        &self,
        before: &ConversationRow,
        after: &ConversationRow,
    ) -> Result<()> {
        if after.status() == ConversationStatus::Open {
            if after.assignee_id.is_none() {
                let inbox = self.store.inbox(after.account_id, after.inbox_id).await?;
                if inbox.enable_auto_assignment != 0 {
                    self.route(after, RouteOptions::default()).await?;
                }
            }
        } else {
            if before.queued_at.is_some() {
                self.queue_left(after);
                self.announce_queue(after.account_id, after.inbox_id, after.team_id)
                    .await?;
            }
            if after.assignee_id.is_some() {
                self.drain_queues(after.account_id).await?;
            }
        }
        Ok(())
    }

    /// The team of a conversation changed (a transfer to another department): if nobody
    /// holds it, it is routed within the new team.
    pub(crate) async fn on_team_changed(
        &self,
        before: &ConversationRow,
        after: &ConversationRow,
    ) -> Result<()> {
        if before.queued_at.is_some() {
            self.announce_queue(after.account_id, before.inbox_id, before.team_id)
                .await?;
        }
        if after.assignee_id.is_none() && after.status() == ConversationStatus::Open {
            let inbox = self.store.inbox(after.account_id, after.inbox_id).await?;
            if inbox.enable_auto_assignment != 0 {
                self.route(
                    after,
                    RouteOptions {
                        exclude: Vec::new(),
                        queue_since: before.queued_at,
                    },
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn check_max_open(v: Option<i64>) -> Result<()> {
    if v.is_some_and(|m| !(0..=1000).contains(&m)) {
        return Err(validate::FieldError::new("max_open", "must be 0 to 1000 or null").into());
    }
    Ok(())
}
