//! Label definitions of an account. Administrators manage them; everyone may list them
//! (agents apply labels to conversations and contacts).

use parley_core::validate;
use parley_store::StoreError;
use parley_store::labels::LabelPatch;

/// The record these use cases return.
pub use parley_store::labels::LabelRow;

use crate::error::taken_or_not_found;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Colour of a label created without one (Chatwoot's default blue).
pub const DEFAULT_LABEL_COLOR: &str = "#1f93ff";
/// Longest label description.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// Label fields of a create or update request; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct LabelInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub show_on_sidebar: Option<bool>,
}

fn title_taken(e: StoreError) -> ServiceError {
    taken_or_not_found(e, "label", "a label with this title already exists")
}

impl Services {
    /// The account's labels.
    pub async fn list_labels(&self, ctx: &AccountCtx) -> Result<Vec<LabelRow>> {
        Ok(self.store.labels(ctx.account_id).await?)
    }

    /// One label of the account.
    pub async fn label(&self, ctx: &AccountCtx, id: i64) -> Result<LabelRow> {
        self.store
            .label(ctx.account_id, id)
            .await
            .or_not_found("label")
    }

    /// Creates a label; titles are lower-cased and unique per account.
    pub async fn create_label(&self, ctx: &AccountCtx, input: LabelInput) -> Result<LabelRow> {
        ctx.require_admin()?;
        let title = validate::label_title("title", input.title.as_deref().unwrap_or(""))?;
        let description = validate::optional_text(
            "description",
            input.description.as_deref(),
            MAX_DESCRIPTION_CHARS,
        )?;
        let color = match input.color.as_deref() {
            Some(c) => validate::color("color", c)?,
            None => DEFAULT_LABEL_COLOR.to_string(),
        };
        self.store
            .create_label(
                ctx.account_id,
                &title,
                description.as_deref(),
                &color,
                input.show_on_sidebar.unwrap_or(true),
            )
            .await
            .map_err(title_taken)
    }

    /// Updates a label; an empty description clears it.
    pub async fn update_label(
        &self,
        ctx: &AccountCtx,
        id: i64,
        input: LabelInput,
    ) -> Result<LabelRow> {
        ctx.require_admin()?;
        let patch = LabelPatch {
            title: input
                .title
                .as_deref()
                .map(|t| validate::label_title("title", t))
                .transpose()?,
            description: input
                .description
                .as_deref()
                .map(|d| validate::optional_text("description", Some(d), MAX_DESCRIPTION_CHARS))
                .transpose()?,
            color: input
                .color
                .as_deref()
                .map(|c| validate::color("color", c))
                .transpose()?,
            show_on_sidebar: input.show_on_sidebar,
        };
        self.store
            .update_label(ctx.account_id, id, &patch)
            .await
            .map_err(title_taken)
    }

    /// Deletes a label definition.
    pub async fn delete_label(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_label(ctx.account_id, id)
            .await
            .or_not_found("label")
    }
}
