//! The wire views: every JSON shape Parley serves or publishes, with its rendering from the
//! store's rows and the decisions about which fields a caller may see.
//!
//! The shapes follow Chatwoot's (field names, order, epoch seconds). API responses and the
//! events published on the bus carry the same payloads, so the HTTP handlers and the
//! real-time renderer both use these and nothing else renders a resource.
//!
//! This module sits low in the crate: it depends only on the typed settings and on the
//! rows it renders, never on the use cases, so every use case may render.

pub mod agent_bots;
pub mod agents;
pub mod automation;
pub mod campaigns;
pub mod canned;
pub mod contacts;
pub mod conversations;
pub mod events;
pub mod inboxes;
pub mod invitations;
pub mod labels;
pub mod messages;
pub mod profile;
pub mod routing;
pub mod teams;
pub mod webhooks;

use serde_json::Value;

/// Epoch milliseconds to Chatwoot's epoch seconds.
pub fn secs(ms: i64) -> i64 {
    parley_core::time::ms_to_secs(ms)
}

/// Optional epoch milliseconds as Chatwoot renders them (`nil.to_i` is 0).
pub fn secs0(ms: Option<i64>) -> i64 {
    ms.map(secs).unwrap_or(0)
}

/// A stored JSON text column; unreadable text reads as an empty object.
pub fn json_obj(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::Object(Default::default()))
}
