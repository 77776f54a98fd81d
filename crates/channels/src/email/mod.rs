//! The e-mail channel: IMAP in, SMTP out, MIME and threading.
//!
//! Everything here works without the channel framework: the framework calls
//! [`imap::Importer`] with its [`imap::ImportTarget`] (ingest + cursor in one transaction),
//! [`inbound::parse`] and [`threading::thread`] for each letter, [`compose::compose`] and
//! [`smtp::send`] from its outbox job, and the `test_connection` functions of [`imap`] and
//! [`smtp`] from the console. See docs/channels.md, "E-mail".

pub mod compose;
pub mod html;
pub mod imap;
pub mod inbound;
pub mod probe;
pub mod quote;
pub mod smtp;
pub mod threading;
pub mod tls;
pub mod token;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests;
