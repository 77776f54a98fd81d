//! Invitations as the invited user sees them.

use parley_store::invitations::InvitationRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::secs;

/// A pending invitation into an account.
#[derive(Serialize, ToSchema)]
pub struct InvitationView {
    pub id: i64,
    pub account_id: i64,
    pub account_name: String,
    /// The role the membership will have: `administrator`, `supervisor` or `agent`.
    pub role: String,
    /// Epoch seconds.
    pub created_at: i64,
}

/// Renders a pending invitation for the invited user.
pub fn invitation_view(i: &InvitationRow) -> InvitationView {
    InvitationView {
        id: i.id,
        account_id: i.account_id,
        account_name: i.account_name.clone(),
        role: i.role.clone(),
        created_at: secs(i.created_at),
    }
}
