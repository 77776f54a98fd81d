//! Identity of visitors on the public Client API.

use parley_store::public::{PublicIdentity, PublicInbox};

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
}
