//! Labels as the account defines them.

use parley_store::labels::LabelRow;
use serde::Serialize;
use utoipa::ToSchema;

/// A label.
#[derive(Serialize, ToSchema, Debug)]
pub struct LabelView {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    /// `#rrggbb`.
    pub color: String,
    pub show_on_sidebar: bool,
}

/// Renders a label.
pub fn label_view(l: &LabelRow) -> LabelView {
    LabelView {
        id: l.id,
        title: l.title.clone(),
        description: l.description.clone(),
        color: l.color.clone(),
        show_on_sidebar: l.show_on_sidebar != 0,
    }
}
