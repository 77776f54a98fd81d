//! Messaging channels beyond the website widget: each one turns a provider's inbound traffic
//! into the same ingest call the widget uses, and delivers agents' replies through the
//! durable outbox, so routing, reply targets and notifications work the same for every
//! channel.

pub mod email;
pub mod supervisor;
pub mod telegram;
