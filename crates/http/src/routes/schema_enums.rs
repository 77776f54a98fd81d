//! The closed sets of words some request fields accept, for the OpenAPI document only.
//!
//! The handlers take these fields as text and the service checks them (so an unknown word is
//! a `422 invalid_field` naming the field, not a deserialisation error); the document still
//! lists the accepted values (finding 12 of issue 12), through these types named by
//! `#[schema(value_type = …)]` on the request fields.
#![allow(dead_code)]

use utoipa::ToSchema;

/// A member's role in an account.
#[derive(ToSchema)]
#[schema(as = RoleName)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Supervisor,
    Agent,
}

/// An agent's availability (`available` is Chatwoot's word for `online`).
#[derive(ToSchema)]
#[schema(as = AvailabilityName)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Available,
    Busy,
    Offline,
}

/// A conversation's status.
#[derive(ToSchema)]
#[schema(as = ConversationStatusName)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Resolved,
    Pending,
    Snoozed,
}

/// A typing indicator.
#[derive(ToSchema)]
#[schema(as = TypingStatusName)]
#[serde(rename_all = "snake_case")]
pub enum Typing {
    On,
    Off,
}
