//! The event bus: how a stored change reaches everyone who must hear of it (WebSockets,
//! webhooks, timers), in one process or across nodes.
//!
//! Events are published after the change is durable, so a subscriber never hears of
//! something the database does not have.

pub mod nats;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use nats::{BusError, NatsBus, NatsOptions};

/// One change, named as Chatwoot names its events (`message.created`,
/// `conversation.status_changed`, …). Serialisable both ways because it travels between
/// nodes as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The tenant the event belongs to; subscribers never see other accounts' events.
    pub account_id: i64,
    /// Chatwoot's event name.
    pub name: String,
    /// Internal conversation id, when the event concerns one (for visibility checks).
    pub conversation_id: Option<i64>,
    /// Inbox of the conversation, for agents who see only their inboxes.
    pub inbox_id: Option<i64>,
    /// The conversation's contact, whose visitor stream may carry the event.
    #[serde(default)]
    pub contact_id: Option<i64>,
    /// Whether the visitor may see it (private notes may not).
    #[serde(default)]
    pub public: bool,
    /// The event's cursor in the account's event log; `None` for ephemeral events
    /// (typing, read receipts, presence), which are not stored and not replayed.
    #[serde(default)]
    pub cursor: Option<i64>,
    /// Chatwoot-shaped payload.
    pub data: serde_json::Value,
}

/// Publishes and subscribes to events. The in-process implementation is the default; a
/// NATS implementation shares events between nodes.
pub trait EventBus: Send + Sync + 'static {
    /// Hands an event to every current subscriber. Never blocks the caller.
    fn publish(&self, event: Event);
    /// A receiver of every event published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
}

/// Events inside one process, over a bounded broadcast channel: a subscriber that falls
/// more than `capacity` events behind is told it lagged instead of growing memory.
pub struct LocalBus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl LocalBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: Event) {
        // No subscribers is not an error: nobody is listening right now.
        let _ = self.tx.send(Arc::new(event));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_published_events() {
        let bus = LocalBus::default();
        let mut rx = bus.subscribe();
        bus.publish(Event {
            account_id: 1,
            name: "message.created".into(),
            conversation_id: Some(7),
            inbox_id: Some(2),
            contact_id: None,
            public: false,
            cursor: None,
            data: serde_json::json!({"id": 1}),
        });
        let ev = rx.recv().await.expect("event");
        assert_eq!(ev.name, "message.created");
        assert_eq!(ev.conversation_id, Some(7));
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let bus = LocalBus::new(16);
        let mut rx = bus.subscribe();
        for i in 0..20 {
            bus.publish(Event {
                account_id: 1,
                name: "message.created".into(),
                conversation_id: None,
                inbox_id: None,
                contact_id: None,
                public: false,
                cursor: None,
                data: serde_json::json!({ "seq": i }),
            });
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(4))
        ));
        let next = rx.recv().await.expect("oldest retained event");
        assert_eq!(next.data["seq"], 4);
    }

    #[test]
    fn events_round_trip_through_json() {
        let ev = Event {
            account_id: 3,
            name: "conversation.status_changed".into(),
            conversation_id: Some(9),
            inbox_id: None,
            contact_id: None,
            public: false,
            cursor: None,
            data: serde_json::json!({"status": "resolved", "text": "ё"}),
        };
        let json = serde_json::to_vec(&ev).expect("encode");
        let back: Event = serde_json::from_slice(&json).expect("decode");
        assert_eq!(back, ev);
    }
}
