//! Notes about a contact (Chatwoot's contact notes): anyone in the account may read and add
//! them; a note is changed or removed only by its author or an administrator, so one agent
//! cannot rewrite what a colleague recorded.

use parley_core::{Role, validate};
use parley_store::notes::NoteRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::agents::UserSummary;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// A note as Chatwoot renders it; times are epoch seconds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoteView {
    pub id: i64,
    pub content: String,
    pub contact_id: i64,
    pub account_id: i64,
    /// `null` when the author was removed.
    pub user: Option<UserSummary>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn view(n: NoteRow) -> NoteView {
    let user = n.user_id.map(|id| {
        UserSummary::new(
            id,
            n.user_name.clone(),
            n.user_display_name.clone(),
            n.user_avatar_url.clone(),
        )
    });
    NoteView {
        id: n.id,
        content: n.content,
        contact_id: n.contact_id,
        account_id: n.account_id,
        user,
        created_at: crate::conversations::secs(n.created_at),
        updated_at: crate::conversations::secs(n.updated_at),
    }
}

fn content(v: &str) -> Result<String> {
    Ok(validate::required_text("content", v, MAX_NOTE_CHARS)?)
}

impl Services {
    /// The contact's notes, newest first.
    pub async fn contact_notes(&self, ctx: &AccountCtx, contact_id: i64) -> Result<Vec<NoteView>> {
        self.contact_details(ctx, contact_id).await?;
        let rows = self.store.contact_notes(ctx.account_id, contact_id).await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Adds a note written by the caller.
    pub async fn create_contact_note(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
        text: &str,
    ) -> Result<NoteView> {
        let text = content(text)?;
        let row = self
            .store
            .create_contact_note(ctx.account_id, contact_id, ctx.user_id, &text)
            .await
            .or_not_found("contact")?;
        Ok(view(row))
    }

    async fn own_note(&self, ctx: &AccountCtx, contact_id: i64, id: i64) -> Result<NoteRow> {
        let note = self
            .store
            .contact_note(ctx.account_id, contact_id, id)
            .await
            .or_not_found("note")?;
        if note.user_id != Some(ctx.user_id) && ctx.role != Role::Administrator {
            return Err(ServiceError::Forbidden(
                "only the author or an administrator may change a note".into(),
            ));
        }
        Ok(note)
    }

    /// Replaces the text of a note (its author or an administrator).
    pub async fn update_contact_note(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
        id: i64,
        text: &str,
    ) -> Result<NoteView> {
        let text = content(text)?;
        self.own_note(ctx, contact_id, id).await?;
        let row = self
            .store
            .update_contact_note(ctx.account_id, contact_id, id, &text)
            .await
            .or_not_found("note")?;
        Ok(view(row))
    }

    /// Deletes a note (its author or an administrator).
    pub async fn delete_contact_note(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
        id: i64,
    ) -> Result<()> {
        self.own_note(ctx, contact_id, id).await?;
        self.store
            .delete_contact_note(ctx.account_id, contact_id, id)
            .await
            .or_not_found("note")
    }
}
