//! Automation rules and macros as Chatwoot renders them (`automation_rule.json.jbuilder`,
//! `_macro.json.jbuilder`): the stored conditions and actions as they were written.

use parley_store::automation::{MacroRow, RuleRow};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::secs;

/// An automation rule.
#[derive(Serialize, ToSchema, Debug)]
pub struct RuleView {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// `conversation_created`, `conversation_updated`, `conversation_opened`,
    /// `conversation_resolved` or `message_created`.
    pub event_name: String,
    /// `[{attribute_key, filter_operator, values, query_operator, custom_attribute_type}]`.
    #[schema(value_type = Vec<Object>)]
    pub conditions: Value,
    /// `[{action_name, action_params}]`.
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
    /// Epoch seconds of its creation.
    pub created_on: i64,
    pub active: bool,
}

/// Renders a rule.
pub fn rule_view(r: &RuleRow) -> RuleView {
    RuleView {
        id: r.id,
        account_id: r.account_id,
        name: r.name.clone(),
        description: r.description.clone(),
        event_name: r.event_name.clone(),
        conditions: serde_json::from_str(&r.conditions).unwrap_or(Value::Array(vec![])),
        actions: serde_json::from_str(&r.actions).unwrap_or(Value::Array(vec![])),
        created_on: secs(r.created_at),
        active: r.active != 0,
    }
}

/// Who wrote a macro.
#[derive(Serialize, ToSchema, Debug)]
pub struct MacroAuthor {
    pub id: i64,
}

/// A macro.
#[derive(Serialize, ToSchema, Debug)]
pub struct MacroView {
    pub id: i64,
    pub name: String,
    /// `personal` (its author only) or `global` (every member).
    pub visibility: String,
    pub created_by: Option<MacroAuthor>,
    pub updated_by: Option<MacroAuthor>,
    pub account_id: i64,
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
}

/// Renders a macro.
pub fn macro_view(m: &MacroRow) -> MacroView {
    MacroView {
        id: m.id,
        name: m.name.clone(),
        visibility: m.visibility.clone(),
        created_by: m.created_by.map(|id| MacroAuthor { id }),
        updated_by: m.updated_by.map(|id| MacroAuthor { id }),
        account_id: m.account_id,
        actions: serde_json::from_str(&m.actions).unwrap_or(Value::Array(vec![])),
    }
}
