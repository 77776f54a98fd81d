//! A transfer: a conversation changes hands (agent, team or both) together with the messages
//! that explain it — the private note for the colleague and the activity line — in one
//! transaction.
//!
//! Why one transaction and not the group-commit writer plus an assignment update: a
//! transfer is rare (a person clicks a button) and its value is that it happens whole. Two
//! writes could leave a note without the hand-over or the reverse when the second fails.
//! So this function reuses the writer's own insert path ([`write_batch_in`]: the same
//! bookkeeping, read-back and `message.created` events) inside a transaction that also
//! changes the assignment, and commits once. It takes the account's routing lock first,
//! like every other change of an assignee, so routing on another node never decides from
//! a half-applied transfer.

use crate::conversations::{CONVERSATION_COLS, ConversationRow};
use crate::events::EventRow;
use crate::messages::{
    ConversationEffects, MessageInsert, MessageRenderer, MessageWithAttachments, NewMessage,
    Waiting, write_batch_in,
};
use crate::routing::{lock_account, log_assignment_in};
use crate::{Result, Store, StoreError};

/// What a transfer writes.
#[derive(Debug, Clone)]
pub struct TransferApply {
    /// Internal id of the conversation.
    pub conversation_id: i64,
    /// The agent after the transfer; `None`: nobody.
    pub assignee_id: Option<i64>,
    /// The team after the transfer; `None`: none.
    pub team_id: Option<i64>,
    /// Messages stored with it, in this order (the note, then the activity line). They
    /// leave the conversation's waiting clock and status alone.
    pub messages: Vec<NewMessage>,
}

/// A committed transfer.
#[derive(Debug, Clone)]
pub struct Transferred {
    pub before: ConversationRow,
    pub after: ConversationRow,
    /// The stored messages with their `message.created` events, in the order given.
    pub messages: Vec<(MessageWithAttachments, EventRow)>,
}

impl Store {
    /// Applies a transfer: assignee and team, the assignment log entry for a new agent, and
    /// the messages with their events — all or nothing. `NotFound` if the conversation is
    /// gone. `renderer` makes the messages' event payloads, as for the message writer.
    pub async fn transfer_conversation(
        &self,
        t: &TransferApply,
        renderer: &dyn MessageRenderer,
    ) -> Result<Transferred> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sel = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        let account_id: Option<(i64,)> =
            sqlx::query_as("SELECT account_id FROM conversations WHERE id = $1")
                .bind(t.conversation_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((account_id,)) = account_id else {
            return Err(StoreError::NotFound);
        };
        lock_account(&mut tx, self.backend(), account_id).await?;
        let before = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(sel))
            .bind(t.conversation_id)
            .fetch_one(&mut *tx)
            .await?;
        // 0 stands for NULL: PostgreSQL cannot type a bare NULL parameter in a comparison.
        let upd = format!(
            "UPDATE conversations SET
                assignee_id = CASE WHEN $2 = 0 THEN NULL ELSE $2 END,
                team_id = CASE WHEN $3 = 0 THEN NULL ELSE $3 END,
                assigned_at = CASE WHEN $2 = 0 THEN NULL WHEN assignee_id = $2 THEN assigned_at ELSE $4 END,
                queued_at = CASE WHEN $2 = 0 THEN queued_at ELSE NULL END,
                updated_at = $4
             WHERE id = $1 RETURNING {CONVERSATION_COLS}"
        );
        let mut after = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(upd))
            .bind(t.conversation_id)
            .bind(t.assignee_id.unwrap_or(0))
            .bind(t.team_id.unwrap_or(0))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        if let Some(agent) = t.assignee_id
            && before.assignee_id != Some(agent)
        {
            log_assignment_in(&mut tx, &after, agent, "transfer", now).await?;
        }
        let facts = crate::reports::assignment_facts(&before, &after, now);
        crate::reports::record_in(&mut tx, self.working_time(), &facts).await?;
        let fx = ConversationEffects {
            first_reply: false,
            waiting: Waiting::Keep,
            reopen: false,
        };
        let items: Vec<(&NewMessage, ConversationEffects)> =
            t.messages.iter().map(|m| (m, fx)).collect();
        let mut messages = Vec::with_capacity(items.len());
        if !items.is_empty() {
            for r in write_batch_in(&mut tx, &items, renderer, self.working_time(), now).await? {
                match r? {
                    MessageInsert::Created {
                        after: a,
                        message,
                        event,
                        ..
                    } => {
                        after = *a;
                        messages.push((*message, *event));
                    }
                    MessageInsert::Duplicate { .. } => {
                        // Transfer messages carry no echo or source id, so this cannot be.
                        return Err(StoreError::Corrupt(
                            "a transfer message was taken for a duplicate".into(),
                        ));
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(Transferred {
            before,
            after,
            messages,
        })
    }
}
