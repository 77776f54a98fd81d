//! Transfer: an agent hands a conversation to a colleague or a department, with a note for
//! whoever takes it over (a shift change, "payments will sort this out").
//!
//! Everything is checked before anything is written, then the new assignment, the private
//! note and the activity line are committed in one transaction
//! ([`parley_store::transfer`]): a refused or failed transfer leaves no note behind and
//! changes no assignee. What follows the commit (events, re-assignment timer, queues,
//! routing a conversation that now has no agent) is what a plain assignment does too;
//! a failure there is logged and the periodic sweeps repair it, because the transfer
//! itself has happened and the caller must not retry it.

use parley_core::activity::Activity;
use parley_core::{ConversationStatus, MessageType, validate};
use parley_store::routing::RouteOptions;
use parley_store::transfer::TransferApply;
use serde::Serialize;
use utoipa::ToSchema;

use crate::conversations::ConversationView;
use crate::messages::{MessageInput, MessageView, Sender, activity_input, text_message};
use crate::{AccountCtx, Result, ServiceError, Services};

/// Longest transfer note, in characters (as long as a contact note).
pub const MAX_NOTE_CHARS: usize = 10_000;

/// Where a conversation goes. For both fields `None` means "not in the request".
#[derive(Debug, Clone, Default)]
pub struct TransferRequest {
    /// `Some(Some(id))`: to this agent. `Some(None)` or absent: to no particular agent —
    /// the conversation leaves its current agent and routing finds the next one (or it
    /// waits in the queue).
    pub assignee_id: Option<Option<i64>>,
    /// `Some(Some(id))`: to this team; `Some(None)`: out of its team; absent: team kept.
    pub team_id: Option<Option<i64>>,
    /// Private note for the colleague; blank means none.
    pub note: Option<String>,
}

/// The result of a transfer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferView {
    /// The conversation after the transfer (and after routing, when it went to a team).
    pub conversation: ConversationView,
    /// The stored messages: the private note (when there was one), then the activity line.
    pub messages: Vec<MessageView>,
}

fn invalid(field: &str, message: &str) -> ServiceError {
    validate::FieldError::new(field, message).into()
}

impl Services {
    /// Transfers a conversation the caller may see (see [`TransferRequest`]). Refused with
    /// `Invalid` — and nothing changed — when the request names nobody, the note is too
    /// long, the team is not the account's, the agent cannot see the inbox or is not in the
    /// named team, or the conversation already is where the request would send it.
    pub async fn transfer(
        &self,
        ctx: &AccountCtx,
        display_id: i64,
        req: TransferRequest,
    ) -> Result<TransferView> {
        let c = self.visible_conversation(ctx, display_id).await?;
        if req.assignee_id.is_none() && req.team_id.is_none() {
            return Err(invalid("assignee_id", "assignee_id or team_id is required"));
        }
        let note = match req.note.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
                return Err(invalid(
                    "note",
                    &format!("must be at most {MAX_NOTE_CHARS} characters"),
                ));
            }
            Some(n) => Some(n.to_string()),
        };
        let team_id = match req.team_id {
            Some(t) => t,
            None => c.team_id,
        };
        let team = match team_id {
            Some(id) => Some(
                self.store
                    .team_ref(ctx.account_id, id)
                    .await?
                    .ok_or_else(|| invalid("team_id", "no such team"))?,
            ),
            None => None,
        };
        let agent = match req.assignee_id.flatten() {
            Some(id) => {
                let a = self.check_assignee(ctx.account_id, c.inbox_id, id).await?;
                if let Some(Some(t)) = req.team_id
                    && !self
                        .store
                        .team_ids_for_user(ctx.account_id, a.id)
                        .await?
                        .contains(&t)
                {
                    return Err(invalid("assignee_id", "is not a member of this team"));
                }
                Some(a)
            }
            None => None,
        };
        let assignee_id = agent.as_ref().map(|a| a.id);
        if assignee_id == c.assignee_id && team_id == c.team_id {
            return Err(invalid(
                "assignee_id",
                "the conversation is already with this agent and team",
            ));
        }
        let activity = Activity::Transferred {
            by: ctx.user_name.clone(),
            agent: agent
                .as_ref()
                .map(|a| a.display_name.clone().unwrap_or_else(|| a.name.clone())),
            team: team.as_ref().map(|t| t.name.clone()),
        };
        let mut messages = Vec::with_capacity(2);
        if let Some(n) = note {
            let mut input = MessageInput::text(MessageType::Outgoing, n);
            input.private = true;
            messages.push(text_message(&c, Sender::User(ctx.user_id), &input)?);
        }
        messages.push(text_message(
            &c,
            Sender::System,
            &activity_input(&activity),
        )?);

        let done = self
            .store
            .transfer_conversation(
                &TransferApply {
                    conversation_id: c.id,
                    assignee_id,
                    team_id,
                    messages,
                },
                self.message_renderer.as_ref(),
            )
            .await
            .map_err(|e| match e {
                parley_store::StoreError::NotFound => ServiceError::NotFound("conversation"),
                other => other.into(),
            })?;
        tracing::info!(
            conversation = c.id,
            to_agent = ?assignee_id,
            to_team = ?team_id,
            "conversation transferred"
        );
        let mut views = Vec::with_capacity(done.messages.len());
        for (m, event) in done.messages {
            metrics::counter!("parley_messages_stored_total").increment(1);
            self.bus.publish(crate::realtime::event_of_row(event));
            views.push(self.message_view(&m, &crate::messages::Audience::Agent));
        }
        let (before, after) = (done.before, done.after);
        let view = self
            .conversation_view(after.account_id, after.display_id)
            .await?;
        if before.assignee_id != after.assignee_id {
            self.publish_conversation("assignee.changed", &after, &view)
                .await;
        }
        if before.team_id != after.team_id {
            self.publish_conversation("team.changed", &after, &view)
                .await;
        }
        if let Err(e) = self.after_transfer(&before, &after).await {
            tracing::warn!(conversation = after.id, error = %e, "routing after a transfer failed");
        }
        Ok(TransferView {
            conversation: self
                .conversation_view(after.account_id, after.display_id)
                .await?,
            messages: views,
        })
    }

    /// What a transfer sets in motion: the new agent's re-assignment timer, the queues it
    /// left or joined, the room the previous agent now has, and routing when it went to no
    /// particular agent (not back to the agent who just handed it over; should it wait in
    /// the queue, later routing treats them like anyone else).
    async fn after_transfer(
        &self,
        before: &parley_store::conversations::ConversationRow,
        after: &parley_store::conversations::ConversationRow,
    ) -> Result<()> {
        if after.assignee_id.is_some() && after.assignee_id != before.assignee_id {
            self.schedule_reassign(after).await?;
        }
        if before.queued_at.is_some()
            && (after.queued_at.is_none() || before.team_id != after.team_id)
        {
            if after.queued_at.is_none() {
                self.queue_left(after);
            }
            self.announce_queue(before.account_id, before.inbox_id, before.team_id)
                .await?;
        }
        // The previous agent's freed place is offered to the queues first: the transferred
        // conversation is not queued yet (an assigned conversation never is), so this cannot
        // hand it straight back to them.
        if before.assignee_id.is_some() && before.assignee_id != after.assignee_id {
            self.drain_queues(after.account_id).await?;
        }
        if after.assignee_id.is_none() && after.status() == ConversationStatus::Open {
            let inbox = self.store.inbox(after.account_id, after.inbox_id).await?;
            if inbox.enable_auto_assignment != 0 {
                self.route(
                    after,
                    RouteOptions {
                        exclude: before.assignee_id.into_iter().collect(),
                        queue_since: before.queued_at.or(after.waiting_since),
                    },
                )
                .await?;
                // Already queued before: routing keeps its place and announces nothing,
                // but it now waits in another team's queue.
                if before.queued_at.is_some() && before.team_id != after.team_id {
                    self.announce_queue(after.account_id, after.inbox_id, after.team_id)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
