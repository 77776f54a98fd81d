//! Contacts with their identities in inboxes, as agents see them.

use parley_store::contacts::ContactInboxRow;
use serde::Serialize;
use utoipa::ToSchema;

use super::{json_obj, secs};
use crate::contacts::{ContactDetails, ContactPage, VisitorView};

/// The inbox of a contact identity.
#[derive(Serialize, ToSchema)]
pub struct InboxBrief {
    pub id: i64,
    /// Parley has no separate channel records; this is the inbox id (as in an inbox).
    pub channel_id: i64,
    pub name: String,
    pub channel_type: String,
}

/// A contact's identity in one inbox (`source_id` is the channel's id of the person).
#[derive(Serialize, ToSchema)]
pub struct ContactInboxView {
    pub id: i64,
    pub contact_id: i64,
    pub inbox_id: i64,
    pub source_id: String,
    pub hmac_verified: bool,
    pub inbox: InboxBrief,
}

/// Renders a contact identity.
pub fn contact_inbox_view(ci: &ContactInboxRow) -> ContactInboxView {
    ContactInboxView {
        id: ci.id,
        contact_id: ci.contact_id,
        inbox_id: ci.inbox_id,
        source_id: ci.source_id.clone(),
        hmac_verified: ci.hmac_verified != 0,
        inbox: InboxBrief {
            id: ci.inbox_id,
            channel_id: ci.inbox_id,
            name: ci.inbox_name.clone(),
            channel_type: ci.channel_type.clone(),
        },
    }
}

/// A contact as Chatwoot renders it; times are epoch seconds.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub thumbnail: String,
    pub avatar_url: String,
    #[schema(value_type = Object)]
    pub custom_attributes: serde_json::Value,
    #[schema(value_type = Object)]
    pub additional_attributes: serde_json::Value,
    pub blocked: bool,
    /// VIP contacts go first in waiting queues among conversations of equal priority.
    pub vip: bool,
    /// When a temporary block ends; Parley's blocks are permanent, so always `null`
    /// (Chatwoot's value for a permanent block or an unblocked contact).
    pub blocked_until: Option<String>,
    pub availability_status: String,
    pub last_activity_at: Option<i64>,
    pub created_at: i64,
    pub contact_inboxes: Vec<ContactInboxView>,
}

/// Renders a contact with its identities (also used by other resources that embed one).
pub fn contact_view(d: &ContactDetails) -> ContactView {
    let c = &d.contact;
    let avatar = c.avatar_url.clone().unwrap_or_default();
    ContactView {
        id: c.id,
        name: c.name.clone(),
        email: c.email.clone(),
        phone_number: c.phone_number.clone(),
        identifier: c.identifier.clone(),
        thumbnail: avatar.clone(),
        avatar_url: avatar,
        custom_attributes: json_obj(&c.custom_attributes),
        additional_attributes: json_obj(&c.additional_attributes),
        blocked: c.blocked != 0,
        vip: c.vip != 0,
        blocked_until: None,
        // Contacts have no presence tracking yet; Chatwoot's default.
        availability_status: "offline".into(),
        last_activity_at: c.last_activity_at.map(secs),
        created_at: secs(c.created_at),
        contact_inboxes: d.contact_inboxes.iter().map(contact_inbox_view).collect(),
    }
}

/// Paging information of a list.
#[derive(Serialize, ToSchema)]
pub struct ListMeta {
    pub count: i64,
    pub current_page: u32,
}

/// A page of contacts.
#[derive(Serialize, ToSchema)]
pub struct ContactList {
    pub meta: ListMeta,
    pub payload: Vec<ContactView>,
}

/// Renders a page of contacts.
pub fn list_view(p: ContactPage) -> ContactList {
    ContactList {
        meta: ListMeta {
            count: p.count,
            current_page: p.current_page,
        },
        payload: p.contacts.iter().map(contact_view).collect(),
    }
}

/// A visitor's contact as Chatwoot's Client API renders it.
#[derive(Serialize, ToSchema)]
pub struct PublicContactView {
    pub id: i64,
    /// The visitor's credential in this inbox: `{contact_identifier}` in later calls.
    pub source_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    /// Token for the visitor's WebSocket.
    pub pubsub_token: String,
}

/// Renders the visitor's own contact, with their credentials.
pub fn public_contact_view(v: VisitorView) -> PublicContactView {
    PublicContactView {
        id: v.contact.id,
        source_id: v.source_id,
        name: v.contact.name,
        email: v.contact.email,
        phone_number: v.contact.phone_number,
        pubsub_token: v.pubsub_token,
    }
}

/// Another contact that looks like the same customer (Parley's duplicates list).
#[derive(Serialize, ToSchema)]
pub struct DuplicateView {
    pub contact: ContactView,
    /// The fields that match: `email` (ignoring case; a visitor's unverified e-mail
    /// counts) and/or `phone_number` (ignoring formatting and the Russian 8/+7 prefix).
    pub matched_by: Vec<String>,
}

/// Renders a duplicate: the contact and the fields it matched by.
pub fn duplicate_view(
    contact: &ContactDetails,
    matched_by: &[parley_core::contact_match::MatchReason],
) -> DuplicateView {
    DuplicateView {
        contact: contact_view(contact),
        matched_by: matched_by.iter().map(|r| r.as_str().to_string()).collect(),
    }
}
