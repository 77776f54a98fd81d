//! Lookups behind the public Client API (`/public/api/v1/inboxes/{inbox_identifier}/…`):
//! the inbox identifier names the inbox, the contact identifier (a contact inbox's random
//! `source_id`) is the visitor's credential. Both resolve to ids in one query so handlers
//! never touch another account's rows.

use sqlx::FromRow;

use crate::{Result, Store};

/// An inbox as the public API sees it.
#[derive(Debug, Clone, FromRow)]
pub struct PublicInbox {
    pub account_id: i64,
    pub inbox_id: i64,
    pub name: String,
    pub channel_type: String,
    pub identifier: String,
    pub hmac_mandatory: i64,
    pub hmac_token: String,
}

/// A visitor's identity in one inbox.
#[derive(Debug, Clone, FromRow)]
pub struct PublicIdentity {
    pub account_id: i64,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub contact_inbox_id: i64,
    pub source_id: String,
    pub pubsub_token: String,
    pub hmac_verified: i64,
}

impl Store {
    /// The inbox with this public identifier.
    pub async fn public_inbox(&self, identifier: &str) -> Result<Option<PublicInbox>> {
        Ok(sqlx::query_as::<_, PublicInbox>(
            "SELECT account_id, id AS inbox_id, name, channel_type, identifier, hmac_mandatory, hmac_token
             FROM inboxes WHERE identifier = $1",
        )
        .bind(identifier)
        .fetch_optional(self.reader())
        .await?)
    }

    /// The contact identity with `source_id` in the inbox with `inbox_identifier`.
    pub async fn public_identity(
        &self,
        inbox_identifier: &str,
        source_id: &str,
    ) -> Result<Option<PublicIdentity>> {
        Ok(sqlx::query_as::<_, PublicIdentity>(
            "SELECT i.account_id, i.id AS inbox_id, ci.contact_id, ci.id AS contact_inbox_id, ci.source_id,
                    ci.pubsub_token, ci.hmac_verified
             FROM contact_inboxes ci JOIN inboxes i ON i.id = ci.inbox_id
             WHERE i.identifier = $1 AND ci.source_id = $2",
        )
        .bind(inbox_identifier)
        .bind(source_id)
        .fetch_optional(self.reader())
        .await?)
    }

    /// The identity behind a pubsub token (the visitor's WebSocket credential).
    pub async fn identity_by_pubsub_token(&self, token: &str) -> Result<Option<PublicIdentity>> {
        Ok(sqlx::query_as::<_, PublicIdentity>(
            "SELECT i.account_id, i.id AS inbox_id, ci.contact_id, ci.id AS contact_inbox_id, ci.source_id,
                    ci.pubsub_token, ci.hmac_verified
             FROM contact_inboxes ci JOIN inboxes i ON i.id = ci.inbox_id
             WHERE ci.pubsub_token = $1",
        )
        .bind(token)
        .fetch_optional(self.reader())
        .await?)
    }
}
