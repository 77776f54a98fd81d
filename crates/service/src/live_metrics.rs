//! Live conversation metrics (Chatwoot's `GET /api/v2/accounts/{id}/reports/conversations`):
//! what is on the team's plate right now, counted on demand from the conversations' current
//! state — open, unattended (nobody answered yet, or the customer wrote last and waits),
//! unassigned, pending — for the account, or per agent (`type=agent`, a page of
//! [`AGENTS_PER_PAGE`], most open first). Each is one aggregate over an index of
//! `(account_id, status, …)` or `(account_id, assignee_id, status, …)`.
//! Administrators and supervisors only, like every report.

use std::collections::HashMap;

use parley_core::validate::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::context::AccountCtx;
use crate::views::agents::agent_view;
use crate::{Result, Services};

/// Agents per page of `type=agent` (Chatwoot's page size).
pub const AGENTS_PER_PAGE: usize = 25;

/// The account's conversations now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LiveMetrics {
    /// Open conversations.
    pub open: i64,
    /// Open conversations nobody answered yet or whose customer waits for an answer.
    pub unattended: i64,
    /// Open conversations without an agent.
    pub unassigned: i64,
    /// Conversations in `pending` (with a bot, not yet handed to the team).
    pub pending: i64,
}

/// One agent's open and unattended conversations now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentMetric {
    pub open: i64,
    pub unattended: i64,
}

/// An agent with their live counts (Chatwoot's shape).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentLiveMetrics {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub thumbnail: String,
    /// `online`, `busy` or `offline`.
    pub availability: String,
    pub metric: AgentMetric,
}

/// The answer of `reports/conversations`: the account's counts, or the agents' page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LiveMetricsView {
    Account(LiveMetrics),
    Agents(Vec<AgentLiveMetrics>),
}

impl Services {
    /// Live metrics: `kind` is `account` (default) or `agent`; `page` (1-based) pages the
    /// agents.
    pub async fn live_metrics(
        &self,
        ctx: &AccountCtx,
        kind: Option<&str>,
        page: Option<&str>,
    ) -> Result<LiveMetricsView> {
        crate::reports::require_reports(ctx)?;
        let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|p| (1..=1_000).contains(p))
                .ok_or_else(|| FieldError::new("page", "must be 1 to 1000"))?,
        };
        match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None | Some("account") => {
                let c = self.store.live_counts(ctx.account_id).await?;
                Ok(LiveMetricsView::Account(LiveMetrics {
                    open: c.open,
                    unattended: c.unattended,
                    unassigned: c.unassigned,
                    pending: c.pending,
                }))
            }
            Some("agent") => {
                let counts: HashMap<i64, (i64, i64)> = self
                    .store
                    .live_counts_by_agent(ctx.account_id)
                    .await?
                    .into_iter()
                    .map(|c| (c.user_id, (c.open, c.unattended)))
                    .collect();
                let mut agents: Vec<AgentLiveMetrics> = self
                    .store
                    .agents(ctx.account_id)
                    .await?
                    .iter()
                    .map(|a| {
                        let v = agent_view(a);
                        let (open, unattended) = counts.get(&a.id).copied().unwrap_or_default();
                        AgentLiveMetrics {
                            id: v.id,
                            name: v.available_name,
                            email: v.email,
                            thumbnail: v.thumbnail,
                            availability: v.availability_status,
                            metric: AgentMetric { open, unattended },
                        }
                    })
                    .collect();
                agents.sort_by(|a, b| {
                    b.metric
                        .open
                        .cmp(&a.metric.open)
                        .then_with(|| a.id.cmp(&b.id))
                });
                Ok(LiveMetricsView::Agents(
                    agents
                        .into_iter()
                        .skip((page - 1) * AGENTS_PER_PAGE)
                        .take(AGENTS_PER_PAGE)
                        .collect(),
                ))
            }
            Some(_) => Err(FieldError::new("type", "must be account or agent").into()),
        }
    }
}
