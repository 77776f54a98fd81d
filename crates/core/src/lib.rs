//! Domain types and rules of Parley with no I/O.
//!
//! Everything here is shared by the store, the services and the HTTP layer, so the
//! vocabulary (statuses, roles, message kinds) is spelled once and the wire names
//! (which follow Chatwoot's API) live next to the types they name.

pub mod activity;
pub mod automation;
pub mod bot;
pub mod calendar;
pub mod campaign;
pub mod contact_match;
pub mod enums;
pub mod mention;
pub mod report_period;
pub mod routing;
pub mod search_query;
pub mod search_text;
pub mod sla;
pub mod template;
pub mod texts;
pub mod time;
pub mod validate;

pub use enums::*;
pub use time::now_ms;
