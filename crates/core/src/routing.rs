//! Routing decisions: who gets a new conversation, who waits and in which order, and when a
//! conversation goes back to the queue because its agent stays silent.
//!
//! Everything here is pure arithmetic over what the caller already knows — no database, no
//! clock, no randomness. The store and the services read the facts (presence, open
//! conversations, the queue), call these functions, and carry out the answer. Keeping the
//! rules in one place means every node, both database backends and the tests reach the same
//! decision from the same facts, and the rules can be explained to a shop owner line by line.
//!
//! All times are epoch milliseconds, like the rest of Parley; durations are milliseconds
//! unless a name says minutes.

use std::cmp::Ordering;

use crate::enums::{Availability, ConversationStatus, Priority};

/// One minute in milliseconds, for settings that shop owners give in minutes.
pub const MINUTE_MS: i64 = 60_000;

/// How many conversations an agent handles at once unless a team or the agent says otherwise.
/// Fifteen is what an experienced chat operator juggles on a normal day; newcomers get a
/// lower per-agent limit, specialist teams may set their own.
pub const DEFAULT_MAX_OPEN: u32 = 15;

/// How long a customer may stay silent before their conversation stops taking up one of the
/// agent's places. Customers often leave without saying goodbye; after half an hour of
/// silence the chat is effectively over and should not keep the agent from helping someone
/// who is actually waiting. Configurable per account; this is only the starting value.
pub const DEFAULT_INACTIVE_AFTER_MS: i64 = 30 * MINUTE_MS;

// ---------------------------------------------------------------------------------------------
// Capacity
// ---------------------------------------------------------------------------------------------

/// The maximum number of conversations an agent may hold at once.
///
/// The most specific setting wins: an agent's own limit beats their team's, and the team's
/// beats the account default. A shop owner sets one number for everybody, raises or lowers
/// it for a team whose chats are heavier or lighter (payments disputes take longer than
/// "where is my parcel"), and makes exceptions for individual people (a trainee, a team
/// lead who also supervises).
///
/// The team limit is the one of the team the conversation is being routed to: an agent in
/// both "delivery" (limit 10) and "payments" (limit 20) who holds 12 conversations gets no
/// more delivery chats but can still take payments ones. Conversations routed to the whole
/// inbox (no team) use the agent's own limit or the default.
pub fn effective_max_open(default: u32, team: Option<u32>, agent: Option<u32>) -> u32 {
    agent.or(team).unwrap_or(default)
}

/// What the capacity rules need to know about one conversation assigned to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldConversation {
    /// Current status of the conversation.
    pub status: ConversationStatus,
    /// When the customer last wrote or otherwise showed activity; `None` if never.
    pub last_customer_activity_at: Option<i64>,
    /// When the conversation was assigned to this agent.
    pub assigned_at: i64,
}

/// Whether a conversation takes up one of its agent's places right now.
///
/// Only conversations that still need the agent count: open and pending ones. Snoozed
/// conversations are parked until a set time and resolved ones are finished, so neither
/// occupies the agent. An open conversation whose customer has been silent for longer than
/// `inactive_after_ms` does not count either, because the customer has most likely left and
/// the agent is free to help someone else; it counts again as soon as the customer writes.
///
/// Silence is measured from whichever is later, the customer's last activity or the moment
/// the agent received the conversation: a customer who waited quietly in the queue for an
/// hour is not "gone" the moment an agent finally picks them up. Silence of exactly the
/// threshold still counts; one millisecond more does not. `None` disables the rule.
pub fn counts_against_capacity(
    conversation: &HeldConversation,
    inactive_after_ms: Option<i64>,
    now: i64,
) -> bool {
    match conversation.status {
        ConversationStatus::Open | ConversationStatus::Pending => {}
        ConversationStatus::Snoozed | ConversationStatus::Resolved => return false,
    }
    let Some(threshold) = inactive_after_ms else {
        return true;
    };
    let silent_since = conversation
        .last_customer_activity_at
        .map_or(conversation.assigned_at, |at| {
            at.max(conversation.assigned_at)
        });
    now.saturating_sub(silent_since) <= threshold
}

/// An agent's load: how many conversations occupy them and how many more they can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Conversations that count against capacity.
    pub counted: u32,
    /// Open or pending conversations not counted because the customer went quiet; shown to
    /// supervisors so a low load with many idle chats is not a surprise.
    pub inactive: u32,
    /// The limit that applied.
    pub max_open: u32,
    /// Places left; zero when the agent is at or over the limit (a limit lowered below the
    /// current load takes nothing away, it only stops new assignments).
    pub free: u32,
}

/// Counts an agent's load from the conversations assigned to them.
///
/// `max_open` is the limit from [`effective_max_open`]; `inactive_after_ms` the account's
/// inactivity threshold (`None`: every open or pending conversation counts).
pub fn agent_load(
    conversations: &[HeldConversation],
    max_open: u32,
    inactive_after_ms: Option<i64>,
    now: i64,
) -> Load {
    let mut counted: u32 = 0;
    let mut inactive: u32 = 0;
    for c in conversations {
        if counts_against_capacity(c, inactive_after_ms, now) {
            counted = counted.saturating_add(1);
        } else if matches!(
            c.status,
            ConversationStatus::Open | ConversationStatus::Pending
        ) {
            inactive = inactive.saturating_add(1);
        }
    }
    Load {
        counted,
        inactive,
        max_open,
        free: max_open.saturating_sub(counted),
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing an agent
// ---------------------------------------------------------------------------------------------

/// What routing knows about one agent when a conversation needs an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCandidate {
    /// The agent's user id.
    pub id: i64,
    /// Presence: only `online` agents receive new conversations.
    pub availability: Availability,
    /// Teams (departments) the agent belongs to.
    pub teams: Vec<i64>,
    /// The agent's personal limit, if one is set (beats the team limit and the default).
    pub max_open: Option<u32>,
    /// Conversations counting against capacity right now (see [`agent_load`]).
    pub load: u32,
    /// When the agent last received a conversation automatically; `None` if never.
    pub last_assigned_at: Option<i64>,
}

/// The conversation being routed and the settings that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingRequest {
    /// The team (department) the conversation belongs to; `None` routes it to every agent
    /// of the inbox, and the caller passes exactly those agents.
    pub team_id: Option<i64>,
    /// That team's limit per agent, if the team sets one.
    pub team_max_open: Option<u32>,
    /// The account's limit per agent ([`DEFAULT_MAX_OPEN`] unless changed).
    pub default_max_open: u32,
    /// The agent who handled this contact's most recent conversation, if any.
    pub previous_agent_id: Option<i64>,
}

/// Why a conversation was given to an agent; written into the activity line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignReason {
    /// The contact talked to this agent before; they already know the story.
    ReturningCustomer,
    /// The agent had the fewest conversations (and, among equals, waited longest for one).
    LeastLoaded,
}

impl AssignReason {
    /// A stable name for events and activity lines.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignReason::ReturningCustomer => "returning_customer",
            AssignReason::LeastLoaded => "least_loaded",
        }
    }
}

/// Why a conversation has to wait; the widget uses it to choose between "you are number 3
/// in the queue" and "nobody is online, leave us a message".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueReason {
    /// Nobody belongs to the team (or inbox) at all — a setup problem supervisors should see.
    NoAgents,
    /// Agents exist but none is online (all busy or offline).
    NobodyOnline,
    /// Online agents exist but each already has as many conversations as allowed.
    AllAtCapacity,
}

impl QueueReason {
    /// A stable name for events and activity lines.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueReason::NoAgents => "no_agents",
            QueueReason::NobodyOnline => "nobody_online",
            QueueReason::AllAtCapacity => "all_at_capacity",
        }
    }
}

/// The outcome of routing one conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Give the conversation to this agent.
    Assign { agent_id: i64, reason: AssignReason },
    /// Put the conversation in the waiting queue.
    Queue { reason: QueueReason },
}

/// Whether the agent may receive this conversation: in the right team, online, and with a
/// free place under the limit that applies to them.
fn can_take(request: &RoutingRequest, agent: &AgentCandidate) -> bool {
    in_scope(request, agent)
        && agent.availability == Availability::Online
        && has_room(request, agent)
}

fn in_scope(request: &RoutingRequest, agent: &AgentCandidate) -> bool {
    request
        .team_id
        .is_none_or(|team| agent.teams.contains(&team))
}

fn has_room(request: &RoutingRequest, agent: &AgentCandidate) -> bool {
    agent.load
        < effective_max_open(
            request.default_max_open,
            request.team_max_open,
            agent.max_open,
        )
}

/// Decides who gets a new (or returned-to-queue) conversation.
///
/// The rules, in order:
///
/// 1. Only agents of the conversation's team take it (any agent passed in when it has no
///    team), only agents who are **online** — "busy" means "I am here but do not give me new
///    chats" and offline agents are not there — and only agents below their limit.
/// 2. A returning customer goes back to the agent who helped them last time if that agent
///    qualifies under rule 1, even if a colleague is less loaded: the customer does not have
///    to explain everything again, and the agent already knows the order.
/// 3. Otherwise the agent with the fewest conversations gets it, so work spreads evenly and
///    nobody drowns while a colleague sits idle. "Fewest" is the plain count, which is what
///    agents and supervisors see in the console.
/// 4. Among agents with equally few conversations, the one who received a conversation
///    longest ago (or never) gets it — taking turns — so nobody is skipped because of the
///    order of names. Same turn, same count: the lower id, so the answer never depends on
///    chance. For turns to rotate, the caller records `last_assigned_at` on every
///    assignment.
/// 5. Nobody qualifies: the conversation waits in the queue, with the reason.
pub fn choose_agent(request: &RoutingRequest, agents: &[AgentCandidate]) -> Decision {
    if let Some(previous) = request.previous_agent_id
        && let Some(agent) = agents.iter().find(|a| a.id == previous)
        && can_take(request, agent)
    {
        return Decision::Assign {
            agent_id: agent.id,
            reason: AssignReason::ReturningCustomer,
        };
    }

    let best = agents
        .iter()
        .filter(|a| can_take(request, a))
        .min_by(|a, b| {
            a.load
                .cmp(&b.load)
                // `None` (never assigned) sorts before any time: newcomers get their turn.
                .then_with(|| a.last_assigned_at.cmp(&b.last_assigned_at))
                .then_with(|| a.id.cmp(&b.id))
        });
    if let Some(agent) = best {
        return Decision::Assign {
            agent_id: agent.id,
            reason: AssignReason::LeastLoaded,
        };
    }

    let mut in_team = agents.iter().filter(|a| in_scope(request, a)).peekable();
    let reason = if in_team.peek().is_none() {
        QueueReason::NoAgents
    } else if in_team.any(|a| a.availability == Availability::Online) {
        QueueReason::AllAtCapacity
    } else {
        QueueReason::NobodyOnline
    };
    Decision::Queue { reason }
}

// ---------------------------------------------------------------------------------------------
// The waiting queue
// ---------------------------------------------------------------------------------------------

/// A conversation waiting for an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedConversation {
    /// Conversation id.
    pub id: i64,
    /// The conversation's priority.
    pub priority: Priority,
    /// Whether the contact is marked VIP.
    pub vip: bool,
    /// When the conversation started waiting for an agent.
    pub waiting_since: i64,
}

/// Urgency rank of a priority, smallest first: urgent, high, medium, low, none.
fn priority_rank(priority: Priority) -> u8 {
    match priority {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Medium => 2,
        Priority::Low => 3,
        Priority::None => 4,
    }
}

/// The order of the waiting queue: `Less` means `a` is served before `b`.
///
/// 1. **Priority**: urgent, then high, medium, low, and conversations without priority last.
///    Priority is what the business says about *this* problem right now — set by an agent,
///    an automation rule, or raised automatically when a response standard is missed — so
///    it decides first.
/// 2. **VIP** contacts before others of the same priority. Most conversations have no
///    priority, so in practice a VIP goes ahead of nearly everyone; only a conversation
///    someone deliberately marked more important overtakes them. (We chose this over "VIP
///    beats everything" so that an escalated, overdue problem of an ordinary customer is not
///    stuck behind a VIP's routine question. To put VIPs absolutely first, add an automation
///    rule that gives VIP conversations urgent priority.)
/// 3. **Waiting time**: whoever has waited longest comes first — first come, first served.
/// 4. **Id**, only so that two conversations that arrived in the same millisecond always
///    come out in the same order.
pub fn queue_cmp(a: &QueuedConversation, b: &QueuedConversation) -> Ordering {
    priority_rank(a.priority)
        .cmp(&priority_rank(b.priority))
        .then_with(|| b.vip.cmp(&a.vip))
        .then_with(|| a.waiting_since.cmp(&b.waiting_since))
        .then_with(|| a.id.cmp(&b.id))
}

/// Sorts a queue into serving order (see [`queue_cmp`]); the head is served next.
pub fn sort_queue(queue: &mut [QueuedConversation]) {
    queue.sort_by(queue_cmp);
}

/// The 1-based place of conversation `id` in the queue (1 = served next), or `None` when it
/// is not in the queue. The queue does not need to be sorted.
pub fn queue_position(queue: &[QueuedConversation], id: i64) -> Option<usize> {
    let me = queue.iter().find(|c| c.id == id)?;
    let ahead = queue
        .iter()
        .filter(|c| queue_cmp(c, me) == Ordering::Less)
        .count();
    Some(ahead + 1)
}

/// How fast the queue has been moving: assignments made during a recent window.
///
/// The waiting customer's estimate comes from what actually happened lately, not from a
/// configured number, so it follows reality — slower at lunch, faster when more agents come
/// online. The caller counts assignments of the same queue (team or inbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentRate {
    /// Assignments made within the window.
    pub assignments: u32,
    /// Length of the window in milliseconds.
    pub window_ms: i64,
}

impl AssignmentRate {
    /// Counts the assignment times that fall within the last `window_ms` before `now`
    /// (later than `now - window_ms`, not later than `now`).
    pub fn from_recent(assigned_at: &[i64], window_ms: i64, now: i64) -> Self {
        let since = now.saturating_sub(window_ms);
        let count = assigned_at
            .iter()
            .filter(|&&at| at > since && at <= now)
            .count();
        AssignmentRate {
            assignments: u32::try_from(count).unwrap_or(u32::MAX),
            window_ms,
        }
    }

    /// Expected wait, in milliseconds, for the conversation at `position` (1-based): the
    /// time the recent pace needs to make `position` more assignments, rounded up so the
    /// customer is never promised less than the pace gives. `None` when nothing was
    /// assigned in the window (or the window is empty) — then we honestly do not know, and
    /// the widget shows the position only.
    pub fn expected_wait_ms(&self, position: usize) -> Option<i64> {
        if self.assignments == 0 || self.window_ms <= 0 {
            return None;
        }
        let position = u128::try_from(position).unwrap_or(u128::MAX);
        let window = u128::try_from(self.window_ms).ok()?;
        let count = u128::from(self.assignments);
        let wait = position.saturating_mul(window).div_ceil(count);
        Some(i64::try_from(wait).unwrap_or(i64::MAX))
    }
}

/// What the waiting customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStanding {
    /// 1-based place in the queue.
    pub position: usize,
    /// Expected wait in milliseconds; `None` when no recent pace is known.
    pub expected_wait_ms: Option<i64>,
}

/// Position and expected wait of conversation `id`; `None` when it is not queued.
pub fn queue_standing(
    queue: &[QueuedConversation],
    id: i64,
    rate: &AssignmentRate,
) -> Option<QueueStanding> {
    let position = queue_position(queue, id)?;
    Some(QueueStanding {
        position,
        expected_wait_ms: rate.expected_wait_ms(position),
    })
}

// ---------------------------------------------------------------------------------------------
// Re-assignment after agent silence
// ---------------------------------------------------------------------------------------------

/// What the re-assignment rule needs to know about an assigned conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignedConversation {
    /// When the current agent received the conversation.
    pub assigned_at: i64,
    /// When an agent first replied in this conversation, if ever.
    pub first_agent_reply_at: Option<i64>,
    /// When the customer last wrote, if ever.
    pub last_customer_message_at: Option<i64>,
}

/// Whether the current agent still owes the customer an answer.
///
/// True when the customer has written and nobody has answered since: no agent reply at all,
/// or only one from before this agent received the conversation that does not cover the
/// customer's latest message. A reply after the assignment means the current agent has
/// taken the conversation in hand. Also decides which conversations an agent going offline
/// hands back: those where the customer is still waiting for them.
pub fn awaiting_agent_answer(conversation: &AssignedConversation) -> bool {
    let Some(customer_at) = conversation.last_customer_message_at else {
        // Nothing from the customer: there is nothing to answer.
        return false;
    };
    match conversation.first_agent_reply_at {
        None => true,
        Some(reply_at) => reply_at < conversation.assigned_at && reply_at < customer_at,
    }
}

/// The moment an unanswered conversation must go back to the queue: the first millisecond
/// after `reassign_after_minutes` full minutes since the agent received it. `None` when the
/// inbox does not re-assign or the agent does not owe an answer. Services schedule their
/// durable timer for this moment.
///
/// Why: a customer who is assigned to someone who does not react (stepped away, forgot to
/// switch to "busy", lost the tab) would otherwise wait forever while colleagues are free.
/// The clock starts when the agent received the conversation — they cannot answer before —
/// and further messages from the customer do not restart it, so "hello? anyone?" does not
/// make the wait longer.
pub fn reassign_at(
    conversation: &AssignedConversation,
    reassign_after_minutes: Option<u32>,
) -> Option<i64> {
    let minutes = reassign_after_minutes?;
    if !awaiting_agent_answer(conversation) {
        return None;
    }
    let grace = i64::from(minutes).saturating_mul(MINUTE_MS);
    Some(
        conversation
            .assigned_at
            .saturating_add(grace)
            .saturating_add(1),
    )
}

/// Whether the conversation must go back to the queue at `now`: its agent received it more
/// than `reassign_after_minutes` minutes ago and has not answered (exactly N minutes is still
/// in time; N minutes and one millisecond is not). See [`reassign_at`].
pub fn must_reassign(
    conversation: &AssignedConversation,
    reassign_after_minutes: Option<u32>,
    now: i64,
) -> bool {
    reassign_at(conversation, reassign_after_minutes).is_some_and(|at| now >= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn agent(id: i64, load: u32) -> AgentCandidate {
        AgentCandidate {
            id,
            availability: Availability::Online,
            teams: vec![1],
            max_open: None,
            load,
            last_assigned_at: None,
        }
    }

    fn request(team_id: Option<i64>) -> RoutingRequest {
        RoutingRequest {
            team_id,
            team_max_open: None,
            default_max_open: DEFAULT_MAX_OPEN,
            previous_agent_id: None,
        }
    }

    fn assigned_to(decision: Decision) -> Option<i64> {
        match decision {
            Decision::Assign { agent_id, .. } => Some(agent_id),
            Decision::Queue { .. } => None,
        }
    }

    // --- capacity ---------------------------------------------------------------------------

    #[test]
    fn most_specific_limit_wins() {
        assert_eq!(effective_max_open(15, None, None), 15);
        assert_eq!(effective_max_open(15, Some(10), None), 10);
        assert_eq!(effective_max_open(15, Some(10), Some(3)), 3);
        assert_eq!(effective_max_open(15, None, Some(20)), 20);
        // An agent's own limit wins even when it is higher than the team's.
        assert_eq!(effective_max_open(15, Some(5), Some(8)), 8);
    }

    #[test]
    fn load_counts_only_active_open_and_pending() {
        let threshold = Some(30 * MINUTE_MS);
        let now = T0 + 10 * 60 * MINUTE_MS;
        let held = |status, last: Option<i64>, assigned_at| HeldConversation {
            status,
            last_customer_activity_at: last,
            assigned_at,
        };
        let conversations = [
            // Open, customer wrote a minute ago: counts.
            held(ConversationStatus::Open, Some(now - MINUTE_MS), T0),
            // Pending, customer wrote 10 minutes ago: counts.
            held(ConversationStatus::Pending, Some(now - 10 * MINUTE_MS), T0),
            // Open, customer silent for 31 minutes: inactive, not counted.
            held(ConversationStatus::Open, Some(now - 31 * MINUTE_MS), T0),
            // Open, silent exactly 30 minutes: still counts.
            held(ConversationStatus::Open, Some(now - 30 * MINUTE_MS), T0),
            // Open, silent 30 minutes + 1 ms: inactive.
            held(ConversationStatus::Open, Some(now - 30 * MINUTE_MS - 1), T0),
            // Customer silent for hours but assigned 5 minutes ago: counts (silence is
            // measured from the assignment).
            held(ConversationStatus::Open, Some(T0), now - 5 * MINUTE_MS),
            // Never wrote, assigned long ago: inactive.
            held(ConversationStatus::Open, None, T0),
            // Snoozed and resolved never count, however fresh.
            held(ConversationStatus::Snoozed, Some(now), now),
            held(ConversationStatus::Resolved, Some(now), now),
        ];
        let load = agent_load(&conversations, 15, threshold, now);
        assert_eq!(
            load,
            Load {
                counted: 4,
                inactive: 3,
                max_open: 15,
                free: 11
            }
        );

        // Without an inactivity threshold every open or pending conversation counts.
        let load = agent_load(&conversations, 15, None, now);
        assert_eq!((load.counted, load.inactive, load.free), (7, 0, 8));
    }

    #[test]
    fn free_slots_never_negative() {
        let held = HeldConversation {
            status: ConversationStatus::Open,
            last_customer_activity_at: Some(T0),
            assigned_at: T0,
        };
        let load = agent_load(&[held; 5], 3, None, T0);
        assert_eq!((load.counted, load.free), (5, 0));
        let load = agent_load(&[], DEFAULT_MAX_OPEN, None, T0);
        assert_eq!((load.counted, load.free), (0, 15));
    }

    // --- choosing an agent -------------------------------------------------------------------

    #[test]
    fn least_loaded_wins() {
        let agents = [agent(1, 5), agent(2, 2), agent(3, 7)];
        assert_eq!(
            choose_agent(&request(Some(1)), &agents),
            Decision::Assign {
                agent_id: 2,
                reason: AssignReason::LeastLoaded
            }
        );
    }

    #[test]
    fn ties_go_to_whoever_waited_longest_then_lowest_id() {
        let mut agents = [agent(1, 2), agent(2, 2), agent(3, 2)];
        agents[0].last_assigned_at = Some(T0 + 300);
        agents[1].last_assigned_at = Some(T0 + 100);
        agents[2].last_assigned_at = Some(T0 + 200);
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(2)
        );

        // Never assigned comes before any time.
        agents[2].last_assigned_at = None;
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(3)
        );

        // Same turn, same load: lowest id, whatever the input order.
        let mut agents = [agent(9, 1), agent(4, 1), agent(7, 1)];
        for a in &mut agents {
            a.last_assigned_at = Some(T0);
        }
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(4)
        );
    }

    /// 30 conversations among three equal agents, each resolved before the next arrives so
    /// the loads stay equal: only taking turns can spread them, 10 each in strict rotation.
    #[test]
    fn round_robin_rotates_among_equal_agents() {
        let mut agents = vec![agent(3, 0), agent(1, 0), agent(2, 0)];
        let mut order = Vec::new();
        for i in 0..30 {
            let now = T0 + i * 1_000;
            let Decision::Assign { agent_id, reason } = choose_agent(&request(Some(1)), &agents)
            else {
                panic!("equal online agents with room must get the conversation");
            };
            assert_eq!(reason, AssignReason::LeastLoaded);
            order.push(agent_id);
            let chosen = agents.iter_mut().find(|a| a.id == agent_id).unwrap();
            chosen.last_assigned_at = Some(now);
        }
        let expected: Vec<i64> = [1, 2, 3].iter().copied().cycle().take(30).collect();
        assert_eq!(order, expected);
        for id in 1..=3 {
            assert_eq!(order.iter().filter(|&&a| a == id).count(), 10);
        }
    }

    /// Same, but conversations stay open: least-loaded and taking turns together still give
    /// 10 each in rotation, and with a limit of 10 the 31st conversation waits.
    #[test]
    fn round_robin_with_growing_load() {
        let mut agents = vec![agent(1, 0), agent(2, 0), agent(3, 0)];
        let mut req = request(Some(1));
        req.default_max_open = 10;
        let mut counts = [0u32; 3];
        for i in 0..30 {
            let id = assigned_to(choose_agent(&req, &agents)).unwrap();
            assert_eq!(id, [1, 2, 3][i % 3]);
            let chosen = agents.iter_mut().find(|a| a.id == id).unwrap();
            chosen.load += 1;
            chosen.last_assigned_at = Some(T0 + i as i64);
            counts[(id - 1) as usize] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
        // Everybody is now at the limit of 10: the next one waits.
        assert_eq!(
            choose_agent(&req, &agents),
            Decision::Queue {
                reason: QueueReason::AllAtCapacity
            }
        );
    }

    #[test]
    fn full_agents_are_skipped_and_all_full_queues() {
        let agents = [agent(1, 15), agent(2, 14), agent(3, 20)];
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(2)
        );

        let agents = [agent(1, 15), agent(2, 15)];
        assert_eq!(
            choose_agent(&request(Some(1)), &agents),
            Decision::Queue {
                reason: QueueReason::AllAtCapacity
            }
        );
    }

    #[test]
    fn team_limit_applies_and_agent_limit_beats_it() {
        let mut req = request(Some(1));
        req.team_max_open = Some(4);
        // Agent 1 (load 3) is the least loaded but has a personal limit of 3: full.
        // Agent 2 (load 4) is at the team limit: full.
        // Agent 3 (load 6) has a personal limit of 8, above the team's: has room.
        let mut a1 = agent(1, 3);
        a1.max_open = Some(3);
        let a2 = agent(2, 4);
        let mut a3 = agent(3, 6);
        a3.max_open = Some(8);
        let agents = [a1, a2, a3];
        assert_eq!(assigned_to(choose_agent(&req, &agents)), Some(3));

        // Without the personal override agent 3 would be over the team limit.
        let mut agents = agents;
        agents[2].max_open = None;
        assert_eq!(
            choose_agent(&req, &agents),
            Decision::Queue {
                reason: QueueReason::AllAtCapacity
            }
        );
    }

    #[test]
    fn busy_and_offline_never_chosen() {
        let mut busy = agent(1, 0);
        busy.availability = Availability::Busy;
        let mut offline = agent(2, 0);
        offline.availability = Availability::Offline;
        let online = agent(3, 14);
        let agents = [busy.clone(), offline.clone(), online];
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(3)
        );

        assert_eq!(
            choose_agent(&request(Some(1)), &[busy.clone(), offline.clone()]),
            Decision::Queue {
                reason: QueueReason::NobodyOnline
            }
        );

        // Not even as a returning customer's previous agent.
        let mut req = request(Some(1));
        req.previous_agent_id = Some(1);
        assert_eq!(
            choose_agent(&req, &[busy, offline]),
            Decision::Queue {
                reason: QueueReason::NobodyOnline
            }
        );
    }

    #[test]
    fn only_team_members_unless_inbox_wide() {
        let mut outsider = agent(1, 0);
        outsider.teams = vec![2];
        let member = agent(2, 5);
        let agents = [outsider.clone(), member];
        assert_eq!(
            assigned_to(choose_agent(&request(Some(1)), &agents)),
            Some(2)
        );
        // No team: everybody passed in may take it, so the least loaded does.
        assert_eq!(assigned_to(choose_agent(&request(None), &agents)), Some(1));
        // A team nobody belongs to.
        assert_eq!(
            choose_agent(&request(Some(7)), &agents),
            Decision::Queue {
                reason: QueueReason::NoAgents
            }
        );
        assert_eq!(
            choose_agent(&request(None), &[]),
            Decision::Queue {
                reason: QueueReason::NoAgents
            }
        );
    }

    #[test]
    fn returning_customer_goes_to_previous_agent_when_possible() {
        let agents = [agent(1, 0), agent(2, 9), agent(3, 4)];
        let mut req = request(Some(1));
        req.previous_agent_id = Some(2);
        // Previous agent wins even though agent 1 is less loaded.
        assert_eq!(
            choose_agent(&req, &agents),
            Decision::Assign {
                agent_id: 2,
                reason: AssignReason::ReturningCustomer
            }
        );

        // Previous agent full: normal selection.
        let mut full = agents.clone();
        full[1].load = 15;
        assert_eq!(
            choose_agent(&req, &full),
            Decision::Assign {
                agent_id: 1,
                reason: AssignReason::LeastLoaded
            }
        );

        // Previous agent busy: normal selection.
        let mut away = agents.clone();
        away[1].availability = Availability::Busy;
        assert_eq!(assigned_to(choose_agent(&req, &away)), Some(1));

        // Previous agent not in the conversation's team: normal selection...
        let mut other_team = agents.clone();
        other_team[1].teams = vec![5];
        assert_eq!(assigned_to(choose_agent(&req, &other_team)), Some(1));
        // ...but inbox-wide conversations need no team.
        assert_eq!(
            choose_agent(
                &RoutingRequest {
                    team_id: None,
                    ..req
                },
                &other_team
            ),
            Decision::Assign {
                agent_id: 2,
                reason: AssignReason::ReturningCustomer
            }
        );

        // Previous agent no longer among the candidates (left the inbox).
        req.previous_agent_id = Some(42);
        assert_eq!(
            choose_agent(&req, &agents),
            Decision::Assign {
                agent_id: 1,
                reason: AssignReason::LeastLoaded
            }
        );
    }

    // --- queue -------------------------------------------------------------------------------

    fn queued(id: i64, priority: Priority, vip: bool, waiting_since: i64) -> QueuedConversation {
        QueuedConversation {
            id,
            priority,
            vip,
            waiting_since,
        }
    }

    #[test]
    fn queue_order_table() {
        // (first, second): `first` must be served before `second`.
        let cases = [
            // Priority decides first, whatever the waiting time or VIP flag.
            (
                queued(1, Priority::Urgent, false, T0 + 500),
                queued(2, Priority::High, true, T0),
            ),
            (
                queued(1, Priority::High, false, T0 + 500),
                queued(2, Priority::Medium, false, T0),
            ),
            (
                queued(1, Priority::Medium, false, T0 + 500),
                queued(2, Priority::Low, false, T0),
            ),
            (
                queued(1, Priority::Low, false, T0 + 500),
                queued(2, Priority::None, true, T0),
            ),
            // Same priority: VIP first, even if they came later.
            (
                queued(9, Priority::None, true, T0 + 500),
                queued(1, Priority::None, false, T0),
            ),
            (
                queued(9, Priority::High, true, T0 + 500),
                queued(1, Priority::High, false, T0),
            ),
            // Same priority and VIP flag: longest waiting first.
            (
                queued(9, Priority::None, false, T0),
                queued(1, Priority::None, false, T0 + 1),
            ),
            (
                queued(9, Priority::Urgent, true, T0),
                queued(1, Priority::Urgent, true, T0 + 1),
            ),
            // Everything equal: lower id.
            (
                queued(1, Priority::Low, false, T0),
                queued(2, Priority::Low, false, T0),
            ),
        ];
        for (first, second) in cases {
            assert_eq!(
                queue_cmp(&first, &second),
                Ordering::Less,
                "{first:?} before {second:?}"
            );
            assert_eq!(queue_cmp(&second, &first), Ordering::Greater);
        }
        let c = queued(1, Priority::Low, false, T0);
        assert_eq!(queue_cmp(&c, &c), Ordering::Equal);
    }

    #[test]
    fn sorted_queue_and_positions() {
        let mut queue = vec![
            queued(10, Priority::None, false, T0),
            queued(11, Priority::None, true, T0 + 3_000),
            queued(12, Priority::High, false, T0 + 5_000),
            queued(13, Priority::None, false, T0 - 1_000),
            queued(14, Priority::Urgent, false, T0 + 9_000),
            queued(15, Priority::Low, true, T0 + 1_000),
        ];
        let expected_order = [14, 12, 15, 11, 13, 10];
        for (i, id) in expected_order.iter().enumerate() {
            assert_eq!(
                queue_position(&queue, *id),
                Some(i + 1),
                "conversation {id}"
            );
        }
        assert_eq!(queue_position(&queue, 99), None);
        sort_queue(&mut queue);
        let ids: Vec<i64> = queue.iter().map(|c| c.id).collect();
        assert_eq!(ids, expected_order);
    }

    #[test]
    fn assignment_rate_counts_only_the_window() {
        let now = T0 + 60 * MINUTE_MS;
        let window = 10 * MINUTE_MS;
        let times = [
            now - window,     // exactly at the start: outside
            now - window + 1, // inside
            now - MINUTE_MS,  // inside
            now,              // inside
            now + 1,          // in the future: outside
            T0,               // long ago: outside
        ];
        assert_eq!(
            AssignmentRate::from_recent(&times, window, now),
            AssignmentRate {
                assignments: 3,
                window_ms: window
            }
        );
    }

    #[test]
    fn expected_wait_maths() {
        // 6 assignments in 10 minutes: one every 100 s.
        let rate = AssignmentRate {
            assignments: 6,
            window_ms: 10 * MINUTE_MS,
        };
        assert_eq!(rate.expected_wait_ms(1), Some(100_000));
        assert_eq!(rate.expected_wait_ms(3), Some(300_000));
        assert_eq!(rate.expected_wait_ms(12), Some(1_200_000));
        // 7 in 10 minutes: 600000 / 7 = 85714.28… rounded up.
        let rate = AssignmentRate {
            assignments: 7,
            window_ms: 10 * MINUTE_MS,
        };
        assert_eq!(rate.expected_wait_ms(1), Some(85_715));
        assert_eq!(rate.expected_wait_ms(7), Some(600_000));
        // Unknown pace: no estimate.
        let none = AssignmentRate {
            assignments: 0,
            window_ms: 10 * MINUTE_MS,
        };
        assert_eq!(none.expected_wait_ms(1), None);
        let empty_window = AssignmentRate {
            assignments: 3,
            window_ms: 0,
        };
        assert_eq!(empty_window.expected_wait_ms(1), None);
    }

    #[test]
    fn standing_combines_position_and_wait() {
        let queue = [
            queued(1, Priority::None, false, T0),
            queued(2, Priority::None, false, T0 + 1),
            queued(3, Priority::None, false, T0 + 2),
        ];
        let rate = AssignmentRate {
            assignments: 2,
            window_ms: MINUTE_MS,
        };
        assert_eq!(
            queue_standing(&queue, 3, &rate),
            Some(QueueStanding {
                position: 3,
                expected_wait_ms: Some(90_000)
            })
        );
        let unknown = AssignmentRate {
            assignments: 0,
            window_ms: MINUTE_MS,
        };
        assert_eq!(
            queue_standing(&queue, 1, &unknown),
            Some(QueueStanding {
                position: 1,
                expected_wait_ms: None
            })
        );
        assert_eq!(queue_standing(&queue, 4, &rate), None);
    }

    // --- re-assignment -----------------------------------------------------------------------

    #[test]
    fn reassign_exactly_after_n_minutes() {
        let c = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: None,
            last_customer_message_at: Some(T0 - MINUTE_MS),
        };
        let n = Some(5);
        assert_eq!(reassign_at(&c, n), Some(T0 + 5 * MINUTE_MS + 1));
        assert!(!must_reassign(&c, n, T0));
        assert!(!must_reassign(&c, n, T0 + 5 * MINUTE_MS - 1));
        assert!(!must_reassign(&c, n, T0 + 5 * MINUTE_MS));
        assert!(must_reassign(&c, n, T0 + 5 * MINUTE_MS + 1));
        assert!(must_reassign(&c, n, T0 + 60 * MINUTE_MS));
        // Disabled for the inbox.
        assert!(!must_reassign(&c, None, T0 + 60 * MINUTE_MS));
        assert_eq!(reassign_at(&c, None), None);
    }

    #[test]
    fn customer_follow_ups_do_not_restart_the_clock() {
        let c = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: None,
            last_customer_message_at: Some(T0 + 4 * MINUTE_MS),
        };
        assert!(must_reassign(&c, Some(5), T0 + 5 * MINUTE_MS + 1));
    }

    #[test]
    fn answered_or_nothing_to_answer_is_not_reassigned() {
        let late = T0 + 60 * MINUTE_MS;
        // The current agent replied after receiving the conversation.
        let answered = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: Some(T0 + MINUTE_MS),
            last_customer_message_at: Some(T0 + 2 * MINUTE_MS),
        };
        assert!(!awaiting_agent_answer(&answered));
        assert!(!must_reassign(&answered, Some(5), late));

        // The customer never wrote.
        let silent = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: None,
            last_customer_message_at: None,
        };
        assert!(!must_reassign(&silent, Some(5), late));

        // A previous agent answered everything before handing over; customer quiet since.
        let handed_over = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: Some(T0 - MINUTE_MS),
            last_customer_message_at: Some(T0 - 2 * MINUTE_MS),
        };
        assert!(!must_reassign(&handed_over, Some(5), late));

        // A previous agent's reply does not cover a newer customer message.
        let new_question = AssignedConversation {
            assigned_at: T0,
            first_agent_reply_at: Some(T0 - 10 * MINUTE_MS),
            last_customer_message_at: Some(T0 - MINUTE_MS),
        };
        assert!(awaiting_agent_answer(&new_question));
        assert!(!must_reassign(&new_question, Some(5), T0 + 5 * MINUTE_MS));
        assert!(must_reassign(
            &new_question,
            Some(5),
            T0 + 5 * MINUTE_MS + 1
        ));
    }
}
