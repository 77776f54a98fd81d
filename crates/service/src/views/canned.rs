//! Canned responses (saved replies).

use parley_store::canned::CannedRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::secs;

/// A canned response.
#[derive(Serialize, ToSchema, Debug)]
pub struct CannedView {
    pub id: i64,
    pub account_id: i64,
    pub short_code: String,
    pub content: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub updated_at: i64,
}

/// Renders a canned response.
pub fn canned_view(c: &CannedRow) -> CannedView {
    CannedView {
        id: c.id,
        account_id: c.account_id,
        short_code: c.short_code.clone(),
        content: c.content.clone(),
        created_at: secs(c.created_at),
        updated_at: secs(c.updated_at),
    }
}
