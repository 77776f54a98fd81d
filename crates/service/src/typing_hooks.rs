//! `conversation_typing_on` / `conversation_typing_off` webhooks. Typing is not stored in the
//! event log (it is gone in a second), so the webhook dispatcher, which reads the log,
//! never sees it: these are handed to the subscribed webhooks directly, through the same
//! signed, retried delivery queue.
//!
//! Bounded: someone typing sends typing events many times a second, and a visitor can
//! script them. A per-node gate lets through, per conversation, a change of state and
//! otherwise at most one `typing_on` every [`REPEAT`], so a receiver gets "started" and
//! "stopped" rather than a stream of keystrokes, and the database a handful of rows per
//! conversation a minute at most.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use parley_store::conversations::ConversationRow;
use parley_store::webhooks::NewDelivery;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::Services;

/// How often the same state is passed on again for one conversation.
pub const REPEAT: Duration = Duration::from_secs(10);
/// Conversations the gate remembers at once (older entries are dropped first).
const MAX_TRACKED: usize = 10_000;

/// The last typing state passed on per conversation, on this node.
#[derive(Default)]
pub struct TypingGate {
    last: Mutex<HashMap<i64, (bool, Instant)>>,
}

impl TypingGate {
    /// Whether a typing event (`on`) of `conversation_id` at `now` goes to webhooks.
    pub fn pass(&self, conversation_id: i64, on: bool, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return false;
        };
        let pass = match last.get(&conversation_id) {
            // Stopping is passed on only after starting was.
            None => on,
            Some(&(was, at)) => was != on || (on && now.duration_since(at) >= REPEAT),
        };
        if pass {
            if last.len() >= MAX_TRACKED && !last.contains_key(&conversation_id) {
                last.retain(|_, (_, at)| now.duration_since(*at) < REPEAT);
                if last.len() >= MAX_TRACKED {
                    last.clear();
                }
            }
            last.insert(conversation_id, (on, now));
        }
        pass
    }
}

impl Services {
    /// Hands a typing event of `c` to the webhooks subscribed to it. Queued before the
    /// typing request is answered, so a client's "started" then "stopped" reach the queue
    /// (and the receiver) in that order; the gate makes that a write on a change of state
    /// only. A queueing failure is logged, not the typing request's error. `user` is who
    /// types, as Chatwoot describes them (`{id, name, type}`).
    pub(crate) async fn typing_webhooks(
        &self,
        c: &ConversationRow,
        on: bool,
        user: Value,
        private: bool,
    ) {
        if !self.typing_gate.pass(c.id, on, Instant::now()) {
            return;
        }
        let event = if on {
            "conversation_typing_on"
        } else {
            "conversation_typing_off"
        };
        let span = tracing::info_span!("typing_webhooks", conversation = c.id, event);
        if let Err(e) = self
            .deliver_typing(c, event, user, private)
            .instrument(span)
            .await
        {
            tracing::warn!(error = %e, "typing webhooks not queued");
        }
    }

    async fn deliver_typing(
        &self,
        c: &ConversationRow,
        event: &str,
        user: Value,
        private: bool,
    ) -> crate::Result<()> {
        let receivers: Vec<i64> = self
            .store
            .receivers_of(c.account_id, c.inbox_id, event)
            .await?
            .into_iter()
            .filter(|w| {
                serde_json::from_str::<Vec<String>>(&w.subscriptions)
                    .is_ok_and(|subs| subs.iter().any(|s| s == event))
            })
            .map(|w| w.id)
            .collect();
        if receivers.is_empty() {
            return Ok(());
        }
        let conversation = self.conversation_view(c.account_id, c.display_id).await?;
        let body = json!({
            "event": event,
            "user": user,
            "conversation": conversation,
            "is_private": private,
        });
        let delivery = NewDelivery {
            event: event.into(),
            seq: None,
            conversation_id: Some(c.id),
            message_id: None,
            body: body.to_string(),
        };
        self.store
            .enqueue_direct(c.account_id, &receivers, &delivery)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_changes_and_slow_repeats_only() {
        let gate = TypingGate::default();
        let t0 = Instant::now();
        assert!(!gate.pass(1, false, t0), "stopping before starting");
        assert!(gate.pass(1, true, t0));
        assert!(
            !gate.pass(1, true, t0 + Duration::from_secs(1)),
            "a keystroke"
        );
        assert!(gate.pass(1, false, t0 + Duration::from_secs(2)));
        assert!(!gate.pass(1, false, t0 + Duration::from_secs(3)));
        assert!(gate.pass(1, true, t0 + Duration::from_secs(4)));
        assert!(
            gate.pass(1, true, t0 + Duration::from_secs(4) + REPEAT),
            "still typing"
        );
        assert!(gate.pass(2, true, t0), "another conversation");
    }

    #[test]
    fn stays_bounded() {
        let gate = TypingGate::default();
        let t0 = Instant::now();
        for id in 0..(MAX_TRACKED as i64 * 3) {
            gate.pass(id, true, t0);
        }
        assert!(gate.last.lock().map(|m| m.len()).unwrap_or(0) <= MAX_TRACKED);
    }
}
