//! Canned responses: saved replies. Administrators manage them; every agent may list and
//! search them from the composer.

use parley_core::validate;
use parley_store::StoreError;
use parley_store::canned::CannedRow;

use crate::error::taken_or_not_found;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Longest short code.
pub const MAX_SHORT_CODE_CHARS: usize = 100;
/// Longest reply text.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// Longest search string.
pub const MAX_SEARCH_CHARS: usize = 200;

fn code_taken(e: StoreError) -> ServiceError {
    taken_or_not_found(
        e,
        "canned response",
        "a canned response with this short code already exists",
    )
}

/// Short codes are typed after a slash in the composer, so they cannot hold spaces.
fn short_code(v: &str) -> Result<String> {
    let v = validate::required_text("short_code", v, MAX_SHORT_CODE_CHARS)?;
    if v.contains(char::is_whitespace) {
        return Err(validate::FieldError::new("short_code", "must not contain spaces").into());
    }
    Ok(v)
}

impl Services {
    /// The account's canned responses, optionally filtered by a case-insensitive search
    /// of short code and content.
    pub async fn list_canned(
        &self,
        ctx: &AccountCtx,
        search: Option<&str>,
    ) -> Result<Vec<CannedRow>> {
        if let Some(s) = search {
            validate::bounded_text("search", s, MAX_SEARCH_CHARS)?;
        }
        Ok(self.store.canned_responses(ctx.account_id, search).await?)
    }

    /// One canned response.
    pub async fn canned(&self, ctx: &AccountCtx, id: i64) -> Result<CannedRow> {
        self.store
            .canned_response(ctx.account_id, id)
            .await
            .or_not_found("canned response")
    }

    /// Creates a canned response; `Conflict` if the short code is taken.
    pub async fn create_canned(
        &self,
        ctx: &AccountCtx,
        code: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedRow> {
        ctx.require_admin()?;
        let code = short_code(code.unwrap_or(""))?;
        let content = validate::required_text("content", content.unwrap_or(""), MAX_CONTENT_CHARS)?;
        self.store
            .create_canned(ctx.account_id, &code, &content)
            .await
            .map_err(code_taken)
    }

    /// Updates a canned response.
    pub async fn update_canned(
        &self,
        ctx: &AccountCtx,
        id: i64,
        code: Option<&str>,
        content: Option<&str>,
    ) -> Result<CannedRow> {
        ctx.require_admin()?;
        let code = code.map(short_code).transpose()?;
        let content = content
            .map(|c| validate::required_text("content", c, MAX_CONTENT_CHARS))
            .transpose()?;
        self.store
            .update_canned(ctx.account_id, id, code.as_deref(), content.as_deref())
            .await
            .map_err(code_taken)
    }

    /// Deletes a canned response.
    pub async fn delete_canned(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_canned(ctx.account_id, id)
            .await
            .or_not_found("canned response")
    }
}
