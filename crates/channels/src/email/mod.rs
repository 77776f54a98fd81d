//! The e-mail channel: IMAP in, SMTP out, MIME and threading.
//!
//! Everything here works without the channel framework: the framework calls
//! [`imap::Importer`] with its [`imap::ImportTarget`] (ingest + cursor in one transaction),
//! [`inbound::parse`] and [`threading::thread`] for each letter, [`compose::compose`] and
//! [`smtp::send`] from its outbox job, and the `test_connection` functions of [`imap`] and
//! [`smtp`] from the console. See docs/channels.md, "E-mail".
//!
//! The server side: [`provider`] (an inbox's settings, the outbox's delivery, the
//! connection check), `ingest` (the importer's target: letters into the ingest call),
//! `outbox` (a reply as a letter over SMTP) and `runtime` (one import task per inbox under
//! the cluster lease). [`provider::install`] wires them into the server.

pub mod compose;
pub mod html;
pub mod imap;
pub mod inbound;
mod ingest;
mod outbox;
pub mod probe;
pub mod provider;
pub mod quote;
mod runtime;
pub mod smtp;
pub mod threading;
pub mod tls;
pub mod token;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
