//! Which conversation an incoming letter belongs to. A pure function of the letter and
//! what Parley already knows, so the rules are tested without a database.
//!
//! The rules, first match wins:
//! 1. A recipient (`To`, `Cc`) is one of this inbox's reply addresses with a valid token
//!    ([`ReplyTokens`]): that conversation. It survives providers that rewrite threading
//!    headers, and cannot be forged.
//! 2. `In-Reply-To`, then `References` newest first: the first Message-ID Parley knows
//!    (a letter it imported or sent) gives the conversation.
//! 3. Otherwise a new conversation. The subject is never used to join a thread: two
//!    letters from the same person with the same subject ("Order", "Question") and no
//!    reference to each other are two questions, and a new subject from the same person is
//!    a new conversation.
//!
//! Whether a matched conversation is reopened when resolved is the caller's decision.

use super::inbound::InboundEmail;
use super::token::ReplyTokens;

/// How a letter was threaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// Into an existing conversation.
    Existing {
        /// The conversation.
        conversation: i64,
        /// Which rule matched.
        by: ThreadedBy,
    },
    /// A new conversation.
    New,
}

/// The rule that threaded a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadedBy {
    /// The token in the reply address.
    ReplyToken,
    /// `In-Reply-To`.
    InReplyTo,
    /// `References`.
    References,
}

/// Decides the conversation of `email` received by the inbox `inbox_address`. `known` maps
/// a Message-ID (without brackets) Parley stored to its conversation.
pub fn thread(
    email: &InboundEmail,
    inbox_address: &str,
    tokens: &ReplyTokens,
    known: impl Fn(&str) -> Option<i64>,
) -> Thread {
    for rcpt in email.to.iter().chain(&email.cc) {
        if let Some(conversation) = tokens.conversation(inbox_address, &rcpt.address) {
            return Thread::Existing {
                conversation,
                by: ThreadedBy::ReplyToken,
            };
        }
    }
    for id in &email.in_reply_to {
        if let Some(conversation) = known(id) {
            return Thread::Existing {
                conversation,
                by: ThreadedBy::InReplyTo,
            };
        }
    }
    for id in email.references.iter().rev() {
        if let Some(conversation) = known(id) {
            return Thread::Existing {
                conversation,
                by: ThreadedBy::References,
            };
        }
    }
    Thread::New
}
