//! Routing facts and their atomic application: who is present, how loaded each agent is,
//! who waits in which queue, and the one transaction that gives a conversation to an
//! agent or puts it in the queue.
//!
//! The decision itself is `parley_core::routing::choose_agent`; this module reads the facts
//! it needs and applies its answer inside one transaction that holds the account's routing
//! lock (a PostgreSQL advisory lock; on SQLite the single writer connection), so two nodes
//! routing at the same moment can neither give one conversation to two agents nor push an
//! agent over their limit.

use crate::durable::Durable;
use parley_core::routing::{
    self, AgentCandidate, AssignReason, Decision, HeldConversation, QueueReason, RoutingRequest,
};
use parley_core::{Availability, ConversationStatus};
use sqlx::FromRow;

use crate::conversations::{CONVERSATION_COLS, ConversationRow};
use crate::{Backend, Result, Store, StoreError};

/// Account-wide routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct RoutingSettings {
    pub default_max_open: i64,
    /// `None`: silent customers keep counting against capacity.
    pub inactive_after_minutes: Option<i64>,
    pub presence_grace_seconds: i64,
}

impl RoutingSettings {
    /// The inactivity threshold in milliseconds.
    pub fn inactive_after_ms(&self) -> Option<i64> {
        self.inactive_after_minutes
            .map(|m| m.saturating_mul(routing::MINUTE_MS))
    }
}

/// What routing one conversation did.
#[derive(Debug, Clone)]
pub enum RouteOutcome {
    /// Given to an agent.
    Assigned {
        before: Box<ConversationRow>,
        after: Box<ConversationRow>,
        agent_id: i64,
        reason: AssignReason,
    },
    /// Waiting in the queue (`newly`: it was not queued before).
    Queued {
        row: Box<ConversationRow>,
        reason: QueueReason,
        newly: bool,
    },
    /// Nothing to do: not open, already assigned, or gone.
    Skipped,
}

/// Options of one routing attempt.
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    /// Never give it to these agents (the one who stayed silent or went offline, and
    /// within a re-assignment cycle everyone who already had it).
    pub exclude: Vec<i64>,
    /// Queue time to keep when it goes (back) to the queue, so a customer who already
    /// waited is not sent to the back.
    pub queue_since: Option<i64>,
}

/// A conversation waiting in a queue, with what ordering needs.
#[derive(Debug, Clone, FromRow)]
pub struct QueuedRow {
    pub id: i64,
    pub display_id: i64,
    pub account_id: i64,
    pub inbox_id: i64,
    pub team_id: Option<i64>,
    pub contact_id: i64,
    pub priority: Option<String>,
    pub queued_at: i64,
    pub vip: i64,
    pub contact_name: Option<String>,
}

/// One agent as supervisors see them.
#[derive(Debug, Clone, FromRow)]
pub struct RoutingAgentRow {
    pub user_id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub email: String,
    pub role: String,
    pub availability: String,
    pub presence: String,
    pub max_open: Option<i64>,
}

/// What presence needs to know about one agent.
#[derive(Debug, Clone, FromRow)]
pub struct PresenceFacts {
    pub availability: String,
    pub auto_offline: i64,
    pub presence: String,
    pub presence_grace_seconds: i64,
}

/// A conversation held by an agent, for capacity and re-assignment.
#[derive(Debug, Clone, FromRow)]
struct HeldRow {
    assignee_id: i64,
    status: String,
    last_incoming_at: Option<i64>,
    assigned_at: i64,
}

impl HeldRow {
    fn held(&self) -> HeldConversation {
        HeldConversation {
            status: ConversationStatus::parse(&self.status).unwrap_or(ConversationStatus::Open),
            last_customer_activity_at: self.last_incoming_at,
            assigned_at: self.assigned_at,
        }
    }
}

/// How long a node's connection rows stay valid without a refresh: a node that died stops
/// refreshing, and its agents count as disconnected after this (plus the grace period).
pub const CONNECTION_STALE_MS: i64 = 60_000;

fn parse_availability(s: &str) -> Availability {
    Availability::parse(s).unwrap_or(Availability::Offline)
}

fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Takes the account's routing lock for the rest of the transaction.
pub(crate) async fn lock_account(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    account_id: i64,
) -> Result<()> {
    if backend == Backend::Postgres {
        // One bigint key space per purpose; accounts are numbered far below this offset.
        const ROUTING_LOCKS: i64 = 0x5041_524C_0000_0000;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ROUTING_LOCKS.wrapping_add(account_id))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn settings_in(conn: &mut sqlx::AnyConnection, account_id: i64) -> Result<RoutingSettings> {
    sqlx::query_as::<_, RoutingSettings>(
        "SELECT default_max_open, inactive_after_minutes, presence_grace_seconds FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Loads (conversations counting against capacity) of `agents`.
async fn loads_in(
    conn: &mut sqlx::AnyConnection,
    account_id: i64,
    agents: &[i64],
    inactive_after_ms: Option<i64>,
    now: i64,
) -> Result<std::collections::HashMap<i64, routing::Load>> {
    let mut held: std::collections::HashMap<i64, Vec<HeldConversation>> =
        agents.iter().map(|a| (*a, Vec::new())).collect();
    if !agents.is_empty() {
        let sql = format!(
            "SELECT assignee_id, status, last_incoming_at, COALESCE(assigned_at, updated_at) AS assigned_at
             FROM conversations
             WHERE account_id = $1 AND assignee_id IN ({}) AND status IN ('open', 'pending')",
            id_list(agents)
        );
        let rows = sqlx::query_as::<_, HeldRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(&mut *conn)
            .await?;
        for r in rows {
            held.entry(r.assignee_id).or_default().push(r.held());
        }
    }
    Ok(held
        .into_iter()
        .map(|(agent, convs)| {
            // The limit is applied by the caller; here only the counts matter.
            (
                agent,
                routing::agent_load(&convs, u32::MAX, inactive_after_ms, now),
            )
        })
        .collect())
}

#[derive(FromRow)]
struct CandidateRow {
    user_id: i64,
    presence: String,
    max_open: Option<i64>,
    last_assigned_at: Option<i64>,
}

fn limit(v: Option<i64>) -> Option<u32> {
    v.map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

impl Store {
    /// The account's routing settings.
    pub async fn routing_settings(&self, account_id: i64) -> Result<RoutingSettings> {
        let mut conn = self.reader().acquire().await?;
        settings_in(&mut conn, account_id).await
    }

    /// Replaces the account's routing settings.
    pub async fn set_routing_settings(&self, account_id: i64, s: &RoutingSettings) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET default_max_open = $2, inactive_after_minutes = $3,
                presence_grace_seconds = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(account_id)
        .bind(s.default_max_open)
        .bind(s.inactive_after_minutes)
        .bind(s.presence_grace_seconds)
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Sets an agent's own limit (`None`: team or account default).
    pub async fn set_agent_max_open(
        &self,
        account_id: i64,
        user_id: i64,
        max_open: Option<i64>,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE account_users SET max_open = $3 WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(max_open)
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets a team's per-agent limit.
    pub async fn set_team_max_open(
        &self,
        account_id: i64,
        team_id: i64,
        max_open: Option<i64>,
    ) -> Result<()> {
        let r = sqlx::query("UPDATE teams SET max_open = $3 WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(team_id)
            .bind(max_open)
            .execute(self.writer())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A team's per-agent limit.
    pub async fn team_max_open(&self, account_id: i64, team_id: i64) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT max_open FROM teams WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(team_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    /// Marks a contact VIP (first in queues among equal priority) or not.
    pub async fn set_contact_vip(&self, account_id: i64, contact_id: i64, vip: bool) -> Result<()> {
        let r = sqlx::query("UPDATE contacts SET vip = $3 WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(contact_id)
            .bind(i64::from(vip))
            .execute(self.writer())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether a contact is VIP.
    pub async fn contact_vip(&self, contact_id: i64) -> Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT vip FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_optional(self.reader())
            .await?;
        Ok(row.is_some_and(|r| r.0 != 0))
    }

    /// Routes one conversation: assigns it to the agent `choose_agent` picks, or queues it.
    /// Atomic per account (see the module docs).
    pub async fn route_conversation(
        &self,
        conversation_id: i64,
        opts: RouteOptions,
    ) -> Result<RouteOutcome> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let Some(conv) = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel.clone()))
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(RouteOutcome::Skipped);
        };
        lock_account(&mut tx, self.backend(), conv.account_id).await?;
        // Read again under the lock: another node may have routed it meanwhile.
        let conv = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await?;
        if conv.status() != ConversationStatus::Open || conv.assignee_id.is_some() {
            return Ok(RouteOutcome::Skipped);
        }
        let settings = settings_in(&mut tx, conv.account_id).await?;
        let team_max_open = match conv.team_id {
            Some(t) => {
                let r: Option<(Option<i64>,)> =
                    sqlx::query_as("SELECT max_open FROM teams WHERE id = $1")
                        .bind(t)
                        .fetch_optional(&mut *tx)
                        .await?;
                r.and_then(|r| r.0)
            }
            None => None,
        };
        // Candidates: the team's members who can see the inbox, or the inbox's members.
        let scope = match conv.team_id {
            Some(team) => format!(
                "EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = {team} AND tm.user_id = au.user_id)
                 AND (au.role IN ('administrator', 'supervisor')
                      OR EXISTS (SELECT 1 FROM inbox_members im WHERE im.inbox_id = $2 AND im.user_id = au.user_id))"
            ),
            None => "EXISTS (SELECT 1 FROM inbox_members im WHERE im.inbox_id = $2 AND im.user_id = au.user_id)"
                .to_string(),
        };
        let sql = format!(
            "SELECT au.user_id, au.presence, au.max_open, au.last_assigned_at FROM account_users au
             WHERE au.account_id = $1 AND {scope}"
        );
        let rows = sqlx::query_as::<_, CandidateRow>(sqlx::AssertSqlSafe(sql))
            .bind(conv.account_id)
            .bind(conv.inbox_id)
            .fetch_all(&mut *tx)
            .await?;
        let rows: Vec<CandidateRow> = rows
            .into_iter()
            .filter(|r| !opts.exclude.contains(&r.user_id))
            .collect();
        let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        let loads = loads_in(
            &mut tx,
            conv.account_id,
            &ids,
            settings.inactive_after_ms(),
            now,
        )
        .await?;
        let candidates: Vec<AgentCandidate> = rows
            .iter()
            .map(|r| AgentCandidate {
                id: r.user_id,
                availability: parse_availability(&r.presence),
                teams: conv.team_id.into_iter().collect(),
                max_open: limit(r.max_open),
                load: loads.get(&r.user_id).map_or(0, |l| l.counted),
                last_assigned_at: r.last_assigned_at,
            })
            .collect();
        let previous: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT assignee_id FROM conversations
             WHERE account_id = $1 AND contact_id = $2 AND id <> $3 AND assignee_id IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(conv.account_id)
        .bind(conv.contact_id)
        .bind(conv.id)
        .fetch_optional(&mut *tx)
        .await?;
        let request = RoutingRequest {
            team_id: conv.team_id,
            team_max_open: limit(team_max_open),
            default_max_open: limit(Some(settings.default_max_open))
                .unwrap_or(routing::DEFAULT_MAX_OPEN),
            previous_agent_id: previous.and_then(|p| p.0),
        };
        let outcome = match routing::choose_agent(&request, &candidates) {
            Decision::Assign { agent_id, reason } => {
                let upd = format!(
                    "UPDATE conversations SET assignee_id = $2, assigned_at = $3, queued_at = NULL, updated_at = $3
                     WHERE id = $1 AND assignee_id IS NULL RETURNING {CONVERSATION_COLS}"
                );
                let after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
                    .bind(conv.id)
                    .bind(agent_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE account_users SET last_assigned_at = $3 WHERE account_id = $1 AND user_id = $2",
                )
                .bind(conv.account_id)
                .bind(agent_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                log_assignment_in(&mut tx, &after, agent_id, reason.as_str(), now).await?;
                let facts = crate::reports::assignment_facts(&conv, &after, now);
                crate::reports::record_in(&mut tx, self.working_time(), &facts).await?;
                RouteOutcome::Assigned {
                    before: Box::new(conv),
                    after: Box::new(after),
                    agent_id,
                    reason,
                }
            }
            Decision::Queue { reason } => {
                let newly = conv.queued_at.is_none();
                let since = opts.queue_since.unwrap_or(now).min(now);
                let upd = format!(
                    "UPDATE conversations SET queued_at = COALESCE(queued_at, $2) WHERE id = $1
                     RETURNING {CONVERSATION_COLS}"
                );
                let row = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
                    .bind(conv.id)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await?;
                RouteOutcome::Queued {
                    row: Box::new(row),
                    reason,
                    newly,
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Gives an unassigned conversation to `user_id` if nobody holds it: exactly one of any
    /// number of concurrent claims wins. `None` when someone else already has it.
    pub async fn claim_conversation(
        &self,
        conversation_id: i64,
        user_id: i64,
    ) -> Result<Option<(ConversationRow, ConversationRow)>> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let before = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let upd = format!(
            "UPDATE conversations SET assignee_id = $2, assigned_at = $3, queued_at = NULL, updated_at = $3
             WHERE id = $1 AND assignee_id IS NULL RETURNING {CONVERSATION_COLS}"
        );
        let after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
            .bind(conversation_id)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(after) = after else {
            return Ok(None);
        };
        log_assignment_in(&mut tx, &after, user_id, "claimed", now).await?;
        let facts = crate::reports::assignment_facts(&before, &after, now);
        crate::reports::record_in(&mut tx, self.working_time(), &facts).await?;
        tx.commit().await?;
        Ok(Some((before, after)))
    }

    /// Records a manual assignment for the queue's pace.
    pub async fn log_assignment(
        &self,
        c: &ConversationRow,
        agent_id: i64,
        reason: &str,
    ) -> Result<()> {
        let mut conn = self.writer().acquire().await?;
        log_assignment_in(&mut conn, c, agent_id, reason, self.now()).await
    }

    /// Takes a conversation away from `assignee_id` if they still hold it since
    /// `assigned_at` (re-assignment, release on going offline). `None` if anything changed.
    pub async fn release_conversation(
        &self,
        conversation_id: i64,
        assignee_id: i64,
        assigned_at: i64,
    ) -> Result<Option<(ConversationRow, ConversationRow)>> {
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let Some(before) = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let upd = format!(
            "UPDATE conversations SET assignee_id = NULL, assigned_at = NULL, updated_at = $4
             WHERE id = $1 AND assignee_id = $2 AND assigned_at = $3 AND status = 'open'
             RETURNING {CONVERSATION_COLS}"
        );
        let after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
            .bind(conversation_id)
            .bind(assignee_id)
            .bind(assigned_at)
            .bind(self.now())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(after.map(|a| (before, a)))
    }

    /// Open conversations held by an agent (oldest assignment first).
    pub async fn held_conversations(
        &self,
        account_id: i64,
        user_id: i64,
    ) -> Result<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations
             WHERE account_id = $1 AND assignee_id = $2 AND status = 'open' ORDER BY assigned_at, id"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(user_id)
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// Agents routing or a claim gave conversation `c` to at or after `since`, each once.
    /// Bounded by the assignment log's index (account, inbox, time): `since` is the start
    /// of the customer's current wait, minutes or hours ago.
    pub async fn agents_assigned_since(&self, c: &ConversationRow, since: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT assignee_id FROM assignments
             WHERE account_id = $1 AND inbox_id = $2 AND assigned_at >= $3 AND conversation_id = $4",
        )
        .bind(c.account_id)
        .bind(c.inbox_id)
        .bind(since)
        .bind(c.id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Whether conversation `id` got an activity line of `kind` at or after `since`.
    pub async fn has_activity_since(&self, id: i64, kind: &str, since: i64) -> Result<bool> {
        let pattern = format!("%\"kind\":\"{kind}\"%");
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM messages
             WHERE conversation_id = $1 AND message_type = 2 AND created_at >= $2
               AND content_attributes LIKE $3
             LIMIT 1",
        )
        .bind(id)
        .bind(since)
        .bind(pattern)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.is_some())
    }

    /// Every queued conversation of the account (all queues), unordered.
    pub async fn queued_conversations(&self, account_id: i64) -> Result<Vec<QueuedRow>> {
        Ok(sqlx::query_as::<_, QueuedRow>(
            "SELECT c.id, c.display_id, c.account_id, c.inbox_id, c.team_id, c.contact_id, c.priority,
                    c.queued_at, ct.vip, ct.name AS contact_name
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE c.account_id = $1 AND c.queued_at IS NOT NULL AND c.status = 'open'
               AND c.assignee_id IS NULL",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// The conversations waiting in one queue: a team's (across inboxes) or, without a
    /// team, an inbox's; unordered.
    pub async fn queue_members(
        &self,
        account_id: i64,
        inbox_id: i64,
        team_id: Option<i64>,
    ) -> Result<Vec<QueuedRow>> {
        let scope = match team_id {
            Some(_) => "c.team_id = $2",
            None => "c.inbox_id = $2 AND c.team_id IS NULL",
        };
        let sql = format!(
            "SELECT c.id, c.display_id, c.account_id, c.inbox_id, c.team_id, c.contact_id, c.priority,
                    c.queued_at, ct.vip, ct.name AS contact_name
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE c.account_id = $1 AND {scope} AND c.queued_at IS NOT NULL AND c.status = 'open'
               AND c.assignee_id IS NULL"
        );
        Ok(sqlx::query_as::<_, QueuedRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(team_id.unwrap_or(inbox_id))
            .fetch_all(self.reader())
            .await?)
    }

    /// Accounts that have anyone waiting (the periodic sweep drains these).
    pub async fn accounts_with_queues(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT account_id FROM conversations WHERE queued_at IS NOT NULL",
        )
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Times of recent assignments out of one queue (a team, or an inbox without team).
    pub async fn recent_assignments(
        &self,
        account_id: i64,
        inbox_id: i64,
        team_id: Option<i64>,
        since: i64,
    ) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = match team_id {
            Some(team) => {
                sqlx::query_as(
                    "SELECT assigned_at FROM assignments
                     WHERE account_id = $1 AND team_id = $2 AND assigned_at > $3",
                )
                .bind(account_id)
                .bind(team)
                .bind(since)
                .fetch_all(self.reader())
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT assigned_at FROM assignments
                     WHERE account_id = $1 AND inbox_id = $2 AND team_id IS NULL AND assigned_at > $3",
                )
                .bind(account_id)
                .bind(inbox_id)
                .bind(since)
                .fetch_all(self.reader())
                .await?
            }
        };
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Agents with presence, limit and role, for supervisors and routing sweeps.
    pub async fn routing_agents(&self, account_id: i64) -> Result<Vec<RoutingAgentRow>> {
        Ok(sqlx::query_as::<_, RoutingAgentRow>(
            "SELECT au.user_id, u.name, u.display_name, u.email, au.role, au.availability, au.presence, au.max_open
             FROM account_users au JOIN users u ON u.id = au.user_id
             WHERE au.account_id = $1 ORDER BY u.name, au.user_id",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await?)
    }

    /// Current loads of the given agents under the account's inactivity rule.
    pub async fn agent_loads(
        &self,
        account_id: i64,
        agents: &[i64],
    ) -> Result<std::collections::HashMap<i64, routing::Load>> {
        let settings = self.routing_settings(account_id).await?;
        let mut conn = self.reader().acquire().await?;
        loads_in(
            &mut conn,
            account_id,
            agents,
            settings.inactive_after_ms(),
            self.now(),
        )
        .await
    }

    /// Team ids of every agent of the account.
    pub async fn agent_teams(&self, account_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT tm.user_id, tm.team_id FROM team_members tm JOIN teams t ON t.id = tm.team_id
             WHERE t.account_id = $1",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await?)
    }

    // --- presence ---------------------------------------------------------------------

    /// Records how many console connections an agent has open on `node` right now (the
    /// node's own count, written whole so that out-of-order updates settle on the truth).
    pub async fn presence_connection(
        &self,
        account_id: i64,
        user_id: i64,
        node: &str,
        connections: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO agent_connections (account_id, user_id, node, connections, seen_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (account_id, user_id, node) DO UPDATE SET connections = $4, seen_at = $5",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(node)
        .bind(connections.max(0))
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Keeps this node's connection rows fresh (every node calls this periodically).
    pub async fn presence_heartbeat(&self, node: &str) -> Result<()> {
        sqlx::query(
            "UPDATE agent_connections SET seen_at = $2 WHERE node = $1 AND connections > 0",
        )
        .bind(node)
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Until when the agent counts as connected: the latest of a live row's freshness plus
    /// staleness and grace, or a closed row's last time plus grace. `None`: never seen.
    pub async fn connected_until(
        &self,
        account_id: i64,
        user_id: i64,
        grace_ms: i64,
    ) -> Result<Option<i64>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT connections, seen_at FROM agent_connections WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(n, seen)| {
                if n > 0 {
                    seen.saturating_add(CONNECTION_STALE_MS)
                        .saturating_add(grace_ms)
                } else {
                    seen.saturating_add(grace_ms)
                }
            })
            .max())
    }

    /// Presence facts of one agent; `None` when not a member.
    pub async fn presence_facts(
        &self,
        account_id: i64,
        user_id: i64,
    ) -> Result<Option<PresenceFacts>> {
        Ok(sqlx::query_as::<_, PresenceFacts>(
            "SELECT au.availability, au.auto_offline, au.presence, a.presence_grace_seconds
             FROM account_users au JOIN accounts a ON a.id = au.account_id
             WHERE au.account_id = $1 AND au.user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Records the announced presence if it still is `from`; false when another node
    /// changed it first (then that node announces).
    pub async fn set_presence(
        &self,
        account_id: i64,
        user_id: i64,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE account_users SET presence = $4 WHERE account_id = $1 AND user_id = $2 AND presence = $3",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(from)
        .bind(to)
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Sets the agent's chosen availability.
    pub async fn set_availability(
        &self,
        account_id: i64,
        user_id: i64,
        availability: Availability,
    ) -> Result<()> {
        let r = sqlx::query(
            "UPDATE account_users SET availability = $3 WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .bind(availability.as_str())
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Agents announced as present whose presence must be re-checked: every agent not
    /// announced offline (the sweep recomputes them; cheap, one row per agent).
    pub async fn present_agents(&self) -> Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT account_id, user_id FROM account_users WHERE presence <> 'offline'",
        )
        .fetch_all(self.reader())
        .await?)
    }

    // --- response targets and off-hours ------------------------------------------------

    /// Starts a reply target if none runs. Returns the row when it was set.
    pub async fn start_sla(
        &self,
        conversation_id: i64,
        kind: &str,
        due_at: i64,
    ) -> Result<Option<ConversationRow>> {
        let upd = format!(
            "UPDATE conversations SET sla_kind = $2, sla_due_at = $3, sla_overdue_at = NULL
             WHERE id = $1 AND sla_due_at IS NULL AND waiting_since IS NOT NULL AND status <> 'resolved'
             RETURNING {CONVERSATION_COLS}"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
                .bind(conversation_id)
                .bind(kind)
                .bind(due_at)
                .fetch_optional_durable(self.writer())
                .await?,
        )
    }

    /// Marks the running target `due_at` as missed and records the breach. `None` when the
    /// target no longer runs (answered, resolved, moved) or was already marked.
    pub async fn mark_sla_overdue(
        &self,
        conversation_id: i64,
        due_at: i64,
    ) -> Result<Option<ConversationRow>> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let upd = format!(
            "UPDATE conversations SET sla_overdue_at = $3, updated_at = $3
             WHERE id = $1 AND sla_due_at = $2 AND sla_overdue_at IS NULL
             RETURNING {CONVERSATION_COLS}"
        );
        let row = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
            .bind(conversation_id)
            .bind(due_at)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(c) = &row {
            sqlx::query(
                "INSERT INTO sla_breaches (account_id, conversation_id, inbox_id, team_id, assignee_id, kind, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(c.account_id)
            .bind(c.id)
            .bind(c.inbox_id)
            .bind(c.team_id)
            .bind(c.assignee_id)
            .bind(c.sla_kind.clone().unwrap_or_default())
            .bind(due_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let missed = crate::reports::Fact::event(
                c,
                crate::reports::FactName::SlaMissed,
                c.assignee_id,
                now,
            );
            crate::reports::record_in(&mut tx, self.working_time(), &[missed]).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    /// Missed targets of the account since `since`, newest first: `(conversation_id, kind, due_at)`.
    pub async fn sla_breaches(
        &self,
        account_id: i64,
        since: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT conversation_id, kind, due_at FROM sla_breaches
             WHERE account_id = $1 AND due_at >= $2 ORDER BY due_at DESC LIMIT 1000",
        )
        .bind(account_id)
        .bind(since)
        .fetch_all(self.reader())
        .await?)
    }

    /// Marks the conversation as having had its off-hours handling; true only for the
    /// first caller.
    pub async fn mark_offhours(&self, conversation_id: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE conversations SET offhours_at = $2 WHERE id = $1 AND offhours_at IS NULL",
        )
        .bind(conversation_id)
        .bind(self.now())
        .execute(self.writer())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Conversations of an inbox that arrived off-hours in `(after, until]`, oldest first.
    pub async fn offhours_conversations(
        &self,
        inbox_id: i64,
        after: i64,
        until: i64,
    ) -> Result<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations
             WHERE inbox_id = $1 AND offhours_at > $2 AND offhours_at <= $3 ORDER BY offhours_at, id LIMIT 500"
        );
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(inbox_id)
                .bind(after)
                .bind(until)
                .fetch_all(self.reader())
                .await?,
        )
    }

    /// A conversation by its internal id.
    pub async fn conversation_by_id(&self, id: i64) -> Result<Option<ConversationRow>> {
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        Ok(
            sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(self.reader())
                .await?,
        )
    }
}

pub(crate) async fn log_assignment_in(
    conn: &mut sqlx::AnyConnection,
    c: &ConversationRow,
    agent_id: i64,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignments (account_id, conversation_id, inbox_id, team_id, assignee_id, reason, assigned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.account_id)
    .bind(c.id)
    .bind(c.inbox_id)
    .bind(c.team_id)
    .bind(agent_id)
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
