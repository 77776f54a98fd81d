//! One customer across channels: finding a contact's likely duplicates and merging two
//! contacts into one (Chatwoot's `POST /actions/contact_merge`).
//!
//! Why here and not in `contacts`: a merge touches every part of a contact's life
//! (identities, conversations, notes, labels, the event log, open visitor sockets) and
//! announces itself to every console; the rules of which field wins live next to it.
//!
//! Who may merge: every member of the account, as in Chatwoot (its contact merge has no
//! policy of its own, and agents edit contacts). The merge is irreversible but loses
//! nothing: the base keeps its values, the mergee fills the gaps, and a differing e-mail,
//! phone or identifier of the mergee is kept in the base's `additional_attributes`.

use parley_core::contact_match::{ContactKeys, MatchReason};
use parley_core::validate::{self, FieldError};
use parley_store::StoreError;
use parley_store::contact_merge::MergeOutcome;
use parley_store::contacts::{ContactFields, ContactRow};
use parley_store::events::EventDraft;
use serde_json::{Map, Value, json};

use crate::access::AccessChange;
use crate::contacts::ContactDetails;
use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Most duplicates listed for one contact.
pub const MAX_DUPLICATES: i64 = 20;
/// Moved conversations announced one by one (`conversation.updated`), most recent first;
/// consoles reload the rest on `contact.merged`.
const ANNOUNCED_CONVERSATIONS: usize = 50;

/// Another contact that looks like the same customer, and why.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub contact: ContactDetails,
    pub matched_by: Vec<MatchReason>,
}

/// What a merge did, for the caller and the events.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The base contact after the merge, with the identities the caller may see.
    pub contact: ContactDetails,
    /// The id of the merged (deleted) contact.
    pub mergee_id: i64,
    /// How many conversations, identities and notes moved.
    pub conversations: usize,
    pub identities: u64,
    pub notes: u64,
}

/// The base's value unless it is empty, else the mergee's.
fn first_of(base: &Option<String>, mergee: &Option<String>) -> Option<String> {
    base.clone()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| mergee.clone().filter(|v| !v.trim().is_empty()))
}

fn object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Keys of both objects, the base's value where both have one.
fn union(base: &str, mergee: &str) -> Map<String, Value> {
    let mut out = object(mergee);
    for (k, v) in object(base) {
        out.insert(k, v);
    }
    out
}

/// Adds `value` to the array under `key` unless it is there already.
fn keep_aside(m: &mut Map<String, Value>, key: &str, value: &str) {
    let list = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Value::Array(a) = list
        && !a.iter().any(|v| v.as_str() == Some(value))
    {
        a.push(Value::String(value.to_string()));
    }
}

/// The base's fields after absorbing the mergee, and whether it is VIP: the base keeps
/// every value it has, the mergee fills the gaps; attribute objects are merged key by key
/// (the base's value wins). What the mergee had that the base overrides (a second e-mail,
/// phone or identifier) goes to `additional_attributes` (`other_emails`,
/// `other_phone_numbers`, `other_identifiers`), and an `unverified_email` that is now the
/// contact's e-mail is dropped. If the merged attributes would exceed the size limit, the
/// base's attributes stay as they were.
pub fn merged_fields(base: &ContactRow, mergee: &ContactRow) -> (ContactFields, bool) {
    let b = ContactFields::from_row(base);
    let m = ContactFields::from_row(mergee);
    let mut f = ContactFields {
        name: first_of(&b.name, &m.name),
        email: first_of(&b.email, &m.email),
        phone_number: first_of(&b.phone_number, &m.phone_number),
        identifier: first_of(&b.identifier, &m.identifier),
        avatar_url: first_of(&b.avatar_url, &m.avatar_url),
        custom_attributes: String::new(),
        additional_attributes: String::new(),
        blocked: b.blocked,
    };
    let custom = Value::Object(union(&b.custom_attributes, &m.custom_attributes));
    f.custom_attributes = if validate::attributes("custom_attributes", &custom).is_ok() {
        custom.to_string()
    } else {
        b.custom_attributes.clone()
    };
    let mut extra = union(&b.additional_attributes, &m.additional_attributes);
    for (key, kept, theirs) in [
        ("other_emails", &f.email, &m.email),
        ("other_phone_numbers", &f.phone_number, &m.phone_number),
        ("other_identifiers", &f.identifier, &m.identifier),
    ] {
        if let Some(v) = theirs
            && kept.as_deref() != Some(v.as_str())
        {
            keep_aside(&mut extra, key, v);
        }
    }
    let own = f
        .email
        .as_deref()
        .and_then(parley_core::contact_match::email_key);
    let aside = extra
        .get("unverified_email")
        .and_then(Value::as_str)
        .and_then(parley_core::contact_match::email_key);
    if own.is_some() && own == aside {
        extra.remove("unverified_email");
    }
    let extra = Value::Object(extra);
    f.additional_attributes = if validate::attributes("additional_attributes", &extra).is_ok() {
        extra.to_string()
    } else {
        b.additional_attributes.clone()
    };
    (f, base.vip != 0 || mergee.vip != 0)
}

/// The contact as an event announces it to every console of the account: without its
/// identities, whose `source_id` is a visitor's credential that agents outside the inbox
/// must not learn (consoles read the identities they may see over the API).
fn event_contact(contact: &ContactRow) -> Value {
    let view = crate::views::contacts::contact_view(&ContactDetails {
        contact: contact.clone(),
        contact_inboxes: Vec::new(),
    });
    serde_json::to_value(view).unwrap_or(Value::Null)
}

fn contact_event(
    account_id: i64,
    name: &str,
    contact_id: i64,
    inbox_id: Option<i64>,
    payload: Value,
) -> EventDraft {
    EventDraft {
        account_id,
        name: name.into(),
        conversation_id: None,
        inbox_id,
        // Not a visitor's event: the contact is left out so no visitor stream carries it.
        contact_id: None,
        public: false,
        payload: {
            let mut p = payload;
            if let Value::Object(m) = &mut p {
                m.entry("id").or_insert(json!(contact_id));
            }
            p.to_string()
        },
        origin: None,
    }
}

impl Services {
    /// Announces a created or changed contact (`contact.created` / `contact.updated`: the
    /// consoles and the `contact_created` / `contact_updated` webhooks). A contact first
    /// seen in an inbox is announced within that inbox, so agents who cannot see the
    /// inbox do not learn who wrote to it.
    pub(crate) async fn announce_contact(
        &self,
        name: &str,
        contact: &ContactRow,
        inbox_id: Option<i64>,
    ) {
        self.emit(contact_event(
            contact.account_id,
            name,
            contact.id,
            inbox_id,
            event_contact(contact),
        ))
        .await;
    }
}
impl Services {
    /// Other contacts of the account that share this contact's e-mail (ignoring case; an
    /// e-mail a visitor typed that belonged to another contact counts) or phone number
    /// (ignoring formatting and the Russian 8/+7 prefix), oldest first, at most
    /// [`MAX_DUPLICATES`].
    pub async fn contact_duplicates(&self, ctx: &AccountCtx, id: i64) -> Result<Vec<Duplicate>> {
        let contact = self
            .store
            .contact(ctx.account_id, id)
            .await
            .or_not_found("contact")?;
        let keys = ContactFields::from_row(&contact).keys();
        let rows = self
            .store
            .contacts_with_keys(ctx.account_id, id, &keys, MAX_DUPLICATES)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let identities = self.store.contact_inboxes_of(&ids).await?;
        let mut identities = self.visible_identities(ctx, identities).await?;
        Ok(rows
            .into_iter()
            .map(|c| {
                let theirs: ContactKeys = ContactFields::from_row(&c).keys();
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut identities)
                    .into_iter()
                    .partition(|ci| ci.contact_id == c.id);
                identities = rest;
                Duplicate {
                    matched_by: keys.matches(&theirs),
                    contact: ContactDetails {
                        contact: c,
                        contact_inboxes: mine,
                    },
                }
            })
            .collect())
    }

    /// Merges contact `mergee_id` into `base_id` (see the module's rules) and returns the
    /// base as it is now. The same id twice is a 422; a contact of another account, or
    /// none, a 404; nothing changes on any error.
    pub async fn merge_contacts(
        &self,
        ctx: &AccountCtx,
        base_id: i64,
        mergee_id: i64,
    ) -> Result<Merged> {
        if base_id == mergee_id {
            return Err(FieldError::new(
                "mergee_contact_id",
                "must be another contact than base_contact_id",
            )
            .into());
        }
        let out = self
            .store
            .merge_contacts(ctx.account_id, base_id, mergee_id, merged_fields)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("contact"),
                StoreError::Conflict(f) if f == "email" || f == "identifier" => {
                    ServiceError::Conflict(format!(
                        "another contact took this {f} during the merge; try again"
                    ))
                }
                other => other.into(),
            })?;
        tracing::info!(
            account_id = ctx.account_id,
            base_id,
            mergee_id,
            conversations = out.conversations.len(),
            identities = out.identities,
            notes = out.notes,
            messages = out.messages,
            "contacts merged"
        );
        self.announce_merge(ctx, &out).await;
        let contact = self.contact_details(ctx, base_id).await?;
        Ok(Merged {
            contact,
            mergee_id,
            conversations: out.conversations.len(),
            identities: out.identities,
            notes: out.notes,
        })
    }

    /// Tells consoles and open sockets about a merge that committed: `contact.merged`
    /// (the mergee is gone, its history is the base's) and `contact.updated` for the base,
    /// `conversation.updated` for the most recent moved conversations, and an access
    /// change for the mergee's visitor sockets (closed with 1013 so the widget reconnects
    /// as the base contact and resumes from its cursor).
    async fn announce_merge(&self, ctx: &AccountCtx, out: &MergeOutcome) {
        let account_id = ctx.account_id;
        self.access_changed(AccessChange {
            account_id,
            user_id: None,
            contact_id: Some(out.mergee.id),
            inbox_id: None,
        });
        let base = event_contact(&out.base);
        self.emit(contact_event(
            account_id,
            "contact.merged",
            out.mergee.id,
            None,
            json!({
                "id": out.mergee.id,
                "base_contact_id": out.base.id,
                "mergee_contact_id": out.mergee.id,
                "contact": base,
                "conversation_ids": out.conversations.iter().map(|(_, d)| *d).collect::<Vec<_>>(),
            }),
        ))
        .await;
        self.emit(contact_event(
            account_id,
            "contact.updated",
            out.base.id,
            None,
            base,
        ))
        .await;
        for (_, display_id) in out.conversations.iter().take(ANNOUNCED_CONVERSATIONS) {
            match self.store.conversation(account_id, *display_id).await {
                Ok(Some(c)) => {
                    if let Err(e) = self.publish_changed("conversation.updated", &c).await {
                        tracing::warn!(account_id, display_id, error = %e, "could not announce a merged conversation");
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(account_id, display_id, error = %e, "could not read a merged conversation");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> ContactRow {
        ContactRow {
            id,
            account_id: 1,
            name: None,
            email: None,
            phone_number: None,
            identifier: None,
            avatar_url: None,
            custom_attributes: "{}".into(),
            additional_attributes: "{}".into(),
            blocked: 0,
            last_activity_at: None,
            created_at: 0,
            updated_at: 0,
            vip: 0,
        }
    }

    #[test]
    fn base_wins_and_mergee_fills_gaps() {
        let mut base = row(1);
        base.name = Some("Ivan".into());
        base.phone_number = Some("+7 999 123-45-67".into());
        base.custom_attributes = r#"{"plan":"gold","city":"Moscow"}"#.into();
        let mut mergee = row(2);
        mergee.name = Some("Visitor".into());
        mergee.email = Some("ivan@example.com".into());
        mergee.phone_number = Some("8 495 000-00-00".into());
        mergee.identifier = Some("crm-7".into());
        mergee.custom_attributes = r#"{"plan":"free","order":"A-1"}"#.into();
        mergee.additional_attributes = r#"{"unverified_email":"ivan@example.com"}"#.into();
        mergee.vip = 1;
        let (f, vip) = merged_fields(&base, &mergee);
        assert_eq!(f.name.as_deref(), Some("Ivan"));
        assert_eq!(f.email.as_deref(), Some("ivan@example.com"));
        assert_eq!(f.phone_number.as_deref(), Some("+7 999 123-45-67"));
        assert_eq!(f.identifier.as_deref(), Some("crm-7"));
        assert!(vip);
        let custom: Value = serde_json::from_str(&f.custom_attributes).unwrap();
        assert_eq!(
            custom,
            json!({"plan": "gold", "city": "Moscow", "order": "A-1"})
        );
        let extra: Value = serde_json::from_str(&f.additional_attributes).unwrap();
        // The overridden phone is kept; the unverified e-mail is the contact's own now.
        assert_eq!(extra, json!({"other_phone_numbers": ["8 495 000-00-00"]}));
    }

    #[test]
    fn blank_base_values_count_as_gaps_and_oversized_attributes_stay_the_base() {
        let mut base = row(1);
        base.name = Some("  ".into());
        base.custom_attributes = r#"{"a":1}"#.into();
        let mut mergee = row(2);
        mergee.name = Some("Maria".into());
        let big = "x".repeat(17 * 1024);
        mergee.custom_attributes = json!({ "big": big }).to_string();
        let (f, vip) = merged_fields(&base, &mergee);
        assert_eq!(f.name.as_deref(), Some("Maria"));
        assert_eq!(f.custom_attributes, r#"{"a":1}"#);
        assert!(!vip);
    }
}
