//! Access that can change while a socket is open (docs/realtime.md, "Access changes").
//!
//! Why one mechanism: a WebSocket is authorised once, at the upgrade, but the user's
//! membership, role, inbox memberships, API token and session, and a visitor's contact and
//! inbox, can all change afterwards, on any node. Every such change publishes one
//! [`ACCESS_CHANGED`] event on the bus (so it reaches every node, like any other event);
//! each node's hub then holds back the live events of the sockets concerned, re-authorises
//! them from the database with the credential they were opened with ([`reauthorise`]),
//! and either narrows or widens what they see or closes them with a code the clients
//! understand ([`CloseCode`]). A change can therefore never be missed by one trigger that
//! forgot its own check: there is only the one check, the one the upgrade itself makes.

use std::collections::HashSet;
use std::sync::Arc;

use parley_bus::Event;
use parley_core::Role;
use parley_store::Store;

use crate::Services;

/// Name of the bus event that tells hubs to re-authorise sockets. Internal: the hub
/// consumes it and never forwards it to a client.
pub const ACCESS_CHANGED: &str = "parley.access_changed";

/// `account_id` of an access change that concerns every account of a user (a token reset,
/// a sign-out, a password change).
pub const EVERY_ACCOUNT: i64 = 0;

/// Who a connection belongs to, which decides the events it receives.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// An agent; `inboxes` is `None` for roles that see every inbox.
    Agent {
        user_id: i64,
        inboxes: Option<Arc<HashSet<i64>>>,
    },
    /// A visitor: public events of their own conversations in one inbox.
    Visitor { contact_id: i64, inbox_id: i64 },
}

/// The credential a socket was opened with, kept to re-authorise it exactly as the
/// upgrade did.
#[derive(Clone)]
pub enum Grant {
    /// An agent by API access token or by the console's session cookie, with the role they
    /// had when the socket opened (a changed role closes the socket: the client reloads).
    Agent {
        credential: Credential,
        user_id: i64,
        role: Role,
    },
    /// A visitor by their pubsub token, with the contact it named at the upgrade: a
    /// merge moves the token to another contact, and the socket, indexed by the old one,
    /// must reconnect.
    Visitor {
        pubsub_token: String,
        contact_id: i64,
    },
}

/// How an agent authenticated.
#[derive(Clone)]
pub enum Credential {
    Token(String),
    Session(String),
}

impl std::fmt::Debug for Grant {
    // Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::Agent { user_id, role, .. } => f
                .debug_struct("Agent")
                .field("user_id", user_id)
                .field("role", role)
                .finish_non_exhaustive(),
            Grant::Visitor { .. } => f.debug_struct("Visitor").finish_non_exhaustive(),
        }
    }
}

/// Why the server closes a socket whose access changed; the codes are in the private range
/// of RFC 6455 (4000–4999) and mirror HTTP's where one fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 4401 `unauthorized`: the credential is no longer valid (signed out, token reset,
    /// password changed, user removed). The console shows its sign-in page.
    Unauthorized,
    /// 4403 `forbidden`: no longer a member of the account, or the visitor's contact or
    /// inbox is gone. Clients must not reconnect with the same credential.
    Forbidden,
    /// 4409 `role_changed`: still a member but with another role; the client reloads its
    /// profile and reconnects, and then sees what the new role sees.
    RoleChanged,
    /// 1013 `try_again_later`: access could not be checked (the database failed), or the
    /// visitor's contact was merged into another; the client reconnects as usual, and the
    /// upgrade checks it.
    RetryLater,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Unauthorized => 4401,
            CloseCode::Forbidden => 4403,
            CloseCode::RoleChanged => 4409,
            CloseCode::RetryLater => 1013,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::Forbidden => "forbidden",
            CloseCode::RoleChanged => "role_changed",
            CloseCode::RetryLater => "try_again_later",
        }
    }

    pub(crate) fn from_code(code: u16) -> Option<Self> {
        [
            CloseCode::Unauthorized,
            CloseCode::Forbidden,
            CloseCode::RoleChanged,
            CloseCode::RetryLater,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// What re-authorisation decided for one socket.
#[derive(Debug)]
pub enum Verdict {
    /// Still allowed; sees what `viewer` sees from now on.
    Keep(Viewer),
    Close(CloseCode),
}

/// Which sockets an access change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessChange {
    /// The account, or [`EVERY_ACCOUNT`].
    pub account_id: i64,
    /// One user's agent sockets; `None` with no contact or inbox means every agent socket
    /// of the account (an inbox's member list was replaced).
    pub user_id: Option<i64>,
    /// One contact's visitor sockets.
    pub contact_id: Option<i64>,
    /// The visitor sockets of one inbox.
    pub inbox_id: Option<i64>,
}

impl AccessChange {
    pub fn user(account_id: i64, user_id: i64) -> Self {
        Self {
            account_id,
            user_id: Some(user_id),
            contact_id: None,
            inbox_id: None,
        }
    }

    pub fn all_agents(account_id: i64) -> Self {
        Self {
            account_id,
            user_id: None,
            contact_id: None,
            inbox_id: None,
        }
    }

    /// Reads the change back from its bus event.
    pub fn of_event(e: &Event) -> Option<Self> {
        if e.name != ACCESS_CHANGED {
            return None;
        }
        let get = |k: &str| e.data.get(k).and_then(serde_json::Value::as_i64);
        Some(Self {
            account_id: e.account_id,
            user_id: get("user_id"),
            contact_id: e.contact_id.or_else(|| get("contact_id")),
            inbox_id: get("inbox_id"),
        })
    }

    /// Whether the change concerns the visitor socket of `contact_id` in `inbox_id`.
    pub(crate) fn concerns_visitor(&self, contact_id: i64, inbox_id: i64) -> bool {
        self.contact_id == Some(contact_id) || self.inbox_id == Some(inbox_id)
    }

    /// Whether the change concerns agent sockets of `user_id`.
    pub(crate) fn concerns_agent(&self, user_id: i64) -> bool {
        match self.user_id {
            Some(u) => u == user_id,
            None => self.contact_id.is_none() && self.inbox_id.is_none(),
        }
    }
}

impl Services {
    /// Tells every node that access changed; called after the change committed.
    pub fn access_changed(&self, change: AccessChange) {
        self.bus.publish(Event {
            account_id: change.account_id,
            name: ACCESS_CHANGED.into(),
            conversation_id: None,
            inbox_id: None,
            contact_id: change.contact_id,
            public: false,
            cursor: None,
            data: serde_json::json!({
                "user_id": change.user_id,
                "contact_id": change.contact_id,
                "inbox_id": change.inbox_id,
            }),
        });
    }
}

/// Decides again, from the database, what a socket of `grant` in `account_id` may see: the
/// same checks as the upgrade. On a database error the hub closes the socket with
/// [`CloseCode::RetryLater`] rather than guess: the client reconnects and is checked at
/// the upgrade like any new socket.
pub(crate) async fn reauthorise(
    store: &Store,
    account_id: i64,
    grant: &Grant,
) -> Result<Verdict, parley_store::StoreError> {
    match grant {
        Grant::Agent {
            credential,
            user_id,
            role,
        } => {
            let signed = match credential {
                Credential::Token(t) => store.user_by_access_token(t).await?,
                Credential::Session(s) => store.user_by_session(s).await?,
            };
            let Some(signed) = signed.filter(|s| s.user.id == *user_id) else {
                return Ok(Verdict::Close(CloseCode::Unauthorized));
            };
            let Some(m) = signed
                .memberships
                .iter()
                .find(|m| m.account_id == account_id)
            else {
                return Ok(Verdict::Close(CloseCode::Forbidden));
            };
            if m.role() != *role {
                return Ok(Verdict::Close(CloseCode::RoleChanged));
            }
            let inboxes = if role.sees_all_inboxes() {
                None
            } else {
                let ids = store.inbox_ids_for_user(account_id, *user_id).await?;
                Some(Arc::new(ids.into_iter().collect::<HashSet<i64>>()))
            };
            Ok(Verdict::Keep(Viewer::Agent {
                user_id: *user_id,
                inboxes,
            }))
        }
        Grant::Visitor {
            pubsub_token,
            contact_id,
        } => {
            match store.identity_by_pubsub_token(pubsub_token).await? {
                // Merged into another contact: the credential still works, for the base
                // contact; the client reconnects (1013) and resumes from its cursor.
                Some(ident)
                    if ident.account_id == account_id && ident.contact_id != *contact_id =>
                {
                    Ok(Verdict::Close(CloseCode::RetryLater))
                }
                Some(ident) if ident.account_id == account_id => {
                    Ok(Verdict::Keep(Viewer::Visitor {
                        contact_id: ident.contact_id,
                        inbox_id: ident.inbox_id,
                    }))
                }
                _ => Ok(Verdict::Close(CloseCode::Forbidden)),
            }
        }
    }
}
