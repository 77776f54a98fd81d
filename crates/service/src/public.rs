//! Identity of visitors on the public Client API.

/// A visitor identity and a public inbox as the Client API and the visitor socket see them.
pub use parley_store::public::{PublicIdentity, PublicInbox};

use crate::{Result, Services};

impl Services {
    /// Counts a new visitor contact from `client` (an IP address) against its budget.
    pub fn limit_visitor_signup(&self, client: &str) -> Result<()> {
        self.public_limits.contacts_per_ip.take(client)
    }

    /// The inbox with this public identifier, if any.
    pub async fn public_inbox(&self, identifier: &str) -> Result<Option<PublicInbox>> {
        if identifier.is_empty() || identifier.len() > 128 {
            return Ok(None);
        }
        Ok(self.store.public_inbox(identifier).await?)
    }

    /// The visitor whose socket credential (`pubsub_token`) this is, if any.
    pub async fn identity_by_pubsub_token(&self, token: &str) -> Result<Option<PublicIdentity>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        Ok(self.store.identity_by_pubsub_token(token).await?)
    }

    /// The visitor identity (`source_id`) in the inbox with `inbox_identifier`, if any.
    pub async fn public_identity(
        &self,
        inbox_identifier: &str,
        source_id: &str,
    ) -> Result<Option<PublicIdentity>> {
        if inbox_identifier.len() > 128 || source_id.is_empty() || source_id.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .public_identity(inbox_identifier, source_id)
            .await?)
    }

    /// The sites allowed to frame the widget of a public inbox (`allowed_domains`, as
    /// stored; `None`: any site).
    pub async fn widget_allowed_domains(&self, p: &PublicInbox) -> Result<Option<String>> {
        let row = self.store.inbox(p.account_id, p.inbox_id).await?;
        Ok(crate::settings::InboxSettings::of(&row)
            .channel
            .allowed_domains)
    }

    /// The public identifier of the server's only website inbox, if it has exactly one
    /// (the `/demo` page's default).
    pub async fn sole_website_inbox_identifier(&self) -> Result<Option<String>> {
        Ok(self.store.sole_website_inbox_identifier().await?)
    }
}
