//! Contacts: the account's customers, their per-inbox identities and labels, for the
//! Application API (agents) and the Client API (visitors identifying themselves).
//!
//! Every member of an account may read and edit its contacts (Chatwoot's rule: an agent
//! must see who writes, whatever the inbox); only administrators delete them, because a
//! delete takes the contact's conversations with it.
//!
//! Visitors are never trusted with an identity they merely claim: an `identifier` joins an
//! existing contact only with a valid `identifier_hash` (HMAC-SHA256 with the inbox's
//! secret), and a claimed e-mail or identifier that collides with another contact is kept
//! aside in `additional_attributes` instead of being refused, so a visitor can neither take
//! over a customer's history nor probe which e-mails are customers.

use hmac::{Hmac, Mac};
use parley_core::validate::{self, FieldError};
use parley_store::StoreError;
use parley_store::contacts::{
    ContactFields, ContactQuery, ContactRow, ContactSort, NewContactInbox,
};

/// A contact's identity in one inbox, as these use cases return it.
pub use parley_store::contacts::ContactInboxRow;
use parley_store::public::{PublicIdentity, PublicInbox};
use serde_json::{Map, Value};
use sha2::Sha256;
use thiserror::Error;

use crate::{AccountCtx, OrNotFound, Result, ServiceError, Services};

/// Contacts per page, as in Chatwoot.
pub const PAGE_SIZE: i64 = 15;
/// Search results are counted up to this many, so a broad query stays cheap; pages past
/// this many results come back empty (narrow the query instead).
pub const SEARCH_COUNT_CAP: i64 = 10_000;
/// Longest accepted search query, in characters.
const MAX_QUERY: usize = 200;
const MAX_NAME: usize = 255;
const MAX_IDENTIFIER: usize = 255;
const MAX_URL: usize = 2048;
const MAX_SOURCE_ID: usize = 255;
/// Labels one contact may carry.
const MAX_LABELS: usize = 100;

/// A contact with its identities, as every contact endpoint renders it.
#[derive(Debug, Clone)]
pub struct ContactDetails {
    pub contact: ContactRow,
    pub contact_inboxes: Vec<ContactInboxRow>,
}

/// One page of contacts.
#[derive(Debug, Clone)]
pub struct ContactPage {
    /// All matches (search: capped at [`SEARCH_COUNT_CAP`]).
    pub count: i64,
    pub current_page: u32,
    pub contacts: Vec<ContactDetails>,
}

/// How to list: Chatwoot's `page` (1-based) and `sort` (`name`, `-name`, `email`,
/// `phone_number`, `last_activity_at`, `created_at`; `-` for descending).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub page: Option<u32>,
    pub sort: Option<String>,
}

/// A new contact from an agent. `inbox_id` also creates its identity in that inbox.
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub inbox_id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    pub custom_attributes: Option<Value>,
    pub additional_attributes: Option<Value>,
    pub blocked: Option<bool>,
}

/// Changes to a contact. The outer `None` leaves a field alone; `Some(None)` clears it.
/// Attribute objects are merged key by key into the stored ones (Chatwoot's behaviour);
/// a key set to `null` is removed.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub identifier: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub custom_attributes: Option<Value>,
    pub additional_attributes: Option<Value>,
    pub blocked: Option<bool>,
}

/// What a visitor sends to create their contact through the Client API.
#[derive(Debug, Clone, Default)]
pub struct VisitorContact {
    pub identifier: Option<String>,
    pub identifier_hash: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub custom_attributes: Option<Value>,
}

/// What a visitor may change on their own contact.
#[derive(Debug, Clone, Default)]
pub struct VisitorChanges {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub custom_attributes: Option<Value>,
}

/// Why a visitor's claimed identity was refused. Kept apart from [`ServiceError`] so the
/// HTTP layer can answer with a code that tells the site's developer what to fix.
#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("this inbox requires identifier_hash (HMAC-SHA256 of identifier) with identifier")]
    HashRequired,
    #[error("identifier_hash does not match identifier")]
    HashMismatch,
}

/// A visitor contact with the identity it was reached through.
#[derive(Debug, Clone)]
pub struct VisitorView {
    pub contact: ContactRow,
    pub source_id: String,
    pub pubsub_token: String,
}

/// Either a use-case failure or a refused identity.
#[derive(Debug, Error)]
pub enum VisitorError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<FieldError> for VisitorError {
    fn from(e: FieldError) -> Self {
        VisitorError::Service(e.into())
    }
}

impl From<StoreError> for VisitorError {
    fn from(e: StoreError) -> Self {
        VisitorError::Service(e.into())
    }
}

/// Checks `hash` (hex) against HMAC-SHA256(`identifier`, `secret`) in constant time.
pub fn identifier_hash_matches(secret: &str, identifier: &str, hash: &str) -> bool {
    let Ok(expected) = hex::decode(hash.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(identifier.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

// ---- validation -------------------------------------------------------------------------

fn clean_name(v: Option<&str>) -> Result<Option<String>> {
    Ok(validate::optional_text("name", v, MAX_NAME)?)
}

fn clean_email(v: Option<&str>) -> Result<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(e) => Ok(Some(validate::email("email", e)?)),
    }
}

fn clean_phone(v: Option<&str>) -> Result<Option<String>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Ok(Some(validate::phone("phone_number", p)?)),
    }
}

fn clean_identifier(v: Option<&str>) -> Result<Option<String>> {
    Ok(validate::optional_text("identifier", v, MAX_IDENTIFIER)?)
}

fn clean_avatar(v: Option<&str>) -> Result<Option<String>> {
    let url = validate::optional_text("avatar_url", v, MAX_URL)?;
    if let Some(u) = &url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(FieldError::new("avatar_url", "must be an http(s) URL").into());
    }
    Ok(url)
}

fn clean_attributes(field: &str, v: Option<&Value>) -> Result<Option<Map<String, Value>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            validate::attributes(field, v)?;
            Ok(v.as_object().cloned())
        }
    }
}

/// Merges `changes` into the stored JSON object text; `null` values remove keys.
fn merge_attributes(field: &str, stored: &str, changes: Option<&Value>) -> Result<String> {
    let Some(changes) = clean_attributes(field, changes)? else {
        return Ok(stored.to_string());
    };
    let mut merged: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    for (k, v) in changes {
        if v.is_null() {
            merged.remove(&k);
        } else {
            merged.insert(k, v);
        }
    }
    let merged = Value::Object(merged);
    validate::attributes(field, &merged)?;
    Ok(merged.to_string())
}

impl ContactChanges {
    /// Checks the changes and applies them to a contact's fields, in field order (the
    /// first invalid field is the one reported). Agents and visitors edit contacts by the
    /// same rules; a visitor's changes are the subset [`VisitorChanges`] allows.
    fn apply_to(self, f: &mut ContactFields) -> Result<()> {
        if let Some(v) = self.name {
            f.name = clean_name(v.as_deref())?;
        }
        if let Some(v) = self.email {
            f.email = clean_email(v.as_deref())?;
        }
        if let Some(v) = self.phone_number {
            f.phone_number = clean_phone(v.as_deref())?;
        }
        if let Some(v) = self.identifier {
            f.identifier = clean_identifier(v.as_deref())?;
        }
        if let Some(v) = self.avatar_url {
            f.avatar_url = clean_avatar(v.as_deref())?;
        }
        f.custom_attributes = merge_attributes(
            "custom_attributes",
            &f.custom_attributes,
            self.custom_attributes.as_ref(),
        )?;
        f.additional_attributes = merge_attributes(
            "additional_attributes",
            &f.additional_attributes,
            self.additional_attributes.as_ref(),
        )?;
        if let Some(b) = self.blocked {
            f.blocked = b;
        }
        Ok(())
    }
}

impl From<VisitorChanges> for ContactChanges {
    fn from(v: VisitorChanges) -> Self {
        ContactChanges {
            name: v.name,
            email: v.email,
            phone_number: v.phone_number,
            custom_attributes: v.custom_attributes,
            ..ContactChanges::default()
        }
    }
}

fn object_text(m: Option<Map<String, Value>>) -> String {
    Value::Object(m.unwrap_or_default()).to_string()
}

/// The `sort` parameter as a column and a direction.
fn parse_sort(sort: Option<&str>, default: ContactSort) -> Result<(ContactSort, bool)> {
    let Some(s) = sort.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok((default, true));
    };
    let (name, desc) = match s.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    ContactSort::parse(name).map(|c| (c, desc)).ok_or_else(|| {
        FieldError::new(
            "sort",
            "must be one of name, email, phone_number, last_activity_at, created_at (prefix - for descending)",
        )
        .into()
    })
}

/// A conflict on a contact's unique field as the 422 Chatwoot answers.
fn taken(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(f) if f == "email" || f == "identifier" => {
            FieldError::new(f, "has already been taken").into()
        }
        StoreError::Conflict(f) if f == "source_id" => {
            FieldError::new("source_id", "has already been taken in this inbox").into()
        }
        StoreError::NotFound => FieldError::new("inbox_id", "no such inbox in this account").into(),
        other => other.into(),
    }
}

fn new_identity(inbox_id: i64, source_id: Option<String>, verified: bool) -> NewContactInbox {
    NewContactInbox {
        inbox_id,
        source_id: source_id.unwrap_or_else(|| parley_store::random_token(16)),
        pubsub_token: parley_store::random_token(24),
        hmac_verified: verified,
    }
}

impl Services {
    async fn details(&self, ctx: &AccountCtx, contact: ContactRow) -> Result<ContactDetails> {
        let contact_inboxes = self.store.contact_inboxes_of(&[contact.id]).await?;
        Ok(ContactDetails {
            contact,
            contact_inboxes: self.visible_identities(ctx, contact_inboxes).await?,
        })
    }

    /// Keeps the identities in inboxes the caller may see. A `source_id` is the visitor's
    /// Client API credential (with the inbox's public identifier, it reads and writes as
    /// the customer), so an agent must never learn one of an inbox they are not a member
    /// of; administrators and supervisors see every inbox.
    pub(crate) async fn visible_identities(
        &self,
        ctx: &AccountCtx,
        mut identities: Vec<ContactInboxRow>,
    ) -> Result<Vec<ContactInboxRow>> {
        if let Some(visible) = self.visible_inbox_ids(ctx).await? {
            identities.retain(|ci| visible.contains(&ci.inbox_id));
        }
        Ok(identities)
    }

    /// Refuses an inbox the caller may not see exactly like one that does not exist (a
    /// 422 on `inbox_id`), so the answer says nothing about other inboxes.
    async fn check_inbox_visible(&self, ctx: &AccountCtx, inbox_id: i64) -> Result<()> {
        match self.inbox(ctx, inbox_id).await {
            Ok(_) => Ok(()),
            Err(ServiceError::NotFound(_)) => {
                Err(FieldError::new("inbox_id", "no such inbox in this account").into())
            }
            Err(e) => Err(e),
        }
    }

    async fn page(
        &self,
        ctx: &AccountCtx,
        search: Option<parley_store::search::SearchMatch>,
        params: &ListParams,
        default_sort: ContactSort,
        count_cap: i64,
    ) -> Result<ContactPage> {
        let (sort, descending) = parse_sort(params.sort.as_deref(), default_sort)?;
        let page = params.page.unwrap_or(1).max(1);
        let q = ContactQuery {
            search,
            resolved_only: true,
            sort,
            descending,
            limit: PAGE_SIZE,
            offset: (i64::from(page) - 1) * PAGE_SIZE,
        };
        let count = self
            .store
            .count_contacts(ctx.account_id, &q, count_cap)
            .await?;
        let rows = if q.offset < count {
            self.store.list_contacts(ctx.account_id, &q).await?
        } else {
            Vec::new()
        };
        // One query for the identities of the whole page, not one per contact.
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let all = self.store.contact_inboxes_of(&ids).await?;
        let mut inboxes = self.visible_identities(ctx, all).await?;
        let contacts = rows
            .into_iter()
            .map(|contact| {
                let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut inboxes)
                    .into_iter()
                    .partition(|ci| ci.contact_id == contact.id);
                inboxes = rest;
                ContactDetails {
                    contact,
                    contact_inboxes: mine,
                }
            })
            .collect();
        Ok(ContactPage {
            count,
            current_page: page,
            contacts,
        })
    }

    /// A page of the account's contacts that have an e-mail, phone or identifier
    /// (Chatwoot lists only these "resolved" contacts; anonymous visitors stay out).
    pub async fn list_contacts(&self, ctx: &AccountCtx, params: ListParams) -> Result<ContactPage> {
        self.page(ctx, None, &params, ContactSort::LastActivityAt, i64::MAX)
            .await
    }

    /// Search of the account's resolved contacts through the archive index (name,
    /// e-mail, phone by its digits, identifier, custom attributes; word forms and the
    /// last word as a prefix); newest contacts first unless `sort` says otherwise.
    pub async fn search_contacts(
        &self,
        ctx: &AccountCtx,
        q: Option<&str>,
        params: ListParams,
    ) -> Result<ContactPage> {
        let q = validate::required_text("q", q.unwrap_or(""), MAX_QUERY)?;
        let parsed = parley_core::search_query::ParsedQuery::parse(&q)
            .map_err(|e| FieldError::new("q", e.to_string()))?;
        if parsed.is_empty() {
            // Only punctuation: nothing can match (and `%` is not a wildcard).
            return Ok(ContactPage {
                count: 0,
                current_page: params.page.unwrap_or(1).max(1),
                contacts: Vec::new(),
            });
        }
        let m = self.store.search_match(&parsed);
        self.page(ctx, Some(m), &params, ContactSort::Newest, SEARCH_COUNT_CAP)
            .await
    }

    /// One contact of the account.
    pub async fn contact_details(&self, ctx: &AccountCtx, id: i64) -> Result<ContactDetails> {
        let c = self
            .store
            .contact(ctx.account_id, id)
            .await
            .or_not_found("contact")?;
        self.details(ctx, c).await
    }

    /// Creates a contact, and its identity in `inbox_id` when given (the inbox must be
    /// the account's). A taken e-mail or identifier is a 422 naming the field.
    pub async fn create_contact(
        &self,
        ctx: &AccountCtx,
        new: NewContact,
    ) -> Result<(ContactDetails, Option<ContactInboxRow>)> {
        let fields = ContactFields {
            name: clean_name(new.name.as_deref())?,
            email: clean_email(new.email.as_deref())?,
            phone_number: clean_phone(new.phone_number.as_deref())?,
            identifier: clean_identifier(new.identifier.as_deref())?,
            avatar_url: clean_avatar(new.avatar_url.as_deref())?,
            custom_attributes: object_text(clean_attributes(
                "custom_attributes",
                new.custom_attributes.as_ref(),
            )?),
            additional_attributes: object_text(clean_attributes(
                "additional_attributes",
                new.additional_attributes.as_ref(),
            )?),
            blocked: new.blocked.unwrap_or(false),
        };
        if let Some(inbox_id) = new.inbox_id {
            self.check_inbox_visible(ctx, inbox_id).await?;
        }
        let identity = new.inbox_id.map(|id| new_identity(id, None, false));
        let (contact, ci) = self
            .store
            .create_contact(ctx.account_id, &fields, identity.as_ref())
            .await
            .map_err(taken)?;
        self.announce_contact("contact.created", &contact, new.inbox_id)
            .await;
        let details = ContactDetails {
            contact,
            contact_inboxes: ci.iter().cloned().collect(),
        };
        Ok((details, ci))
    }

    /// Applies `changes` to a contact of the account.
    pub async fn update_contact(
        &self,
        ctx: &AccountCtx,
        id: i64,
        changes: ContactChanges,
    ) -> Result<ContactDetails> {
        let current = self
            .store
            .contact(ctx.account_id, id)
            .await
            .or_not_found("contact")?;
        let mut f = ContactFields::from_row(&current);
        changes.apply_to(&mut f)?;
        let row = self
            .store
            .update_contact(ctx.account_id, id, &f)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("contact"),
                other => taken(other),
            })?;
        self.announce_contact("contact.updated", &row, None).await;
        self.details(ctx, row).await
    }

    /// Deletes a contact with its identities, labels and conversations. Administrators only.
    pub async fn delete_contact(&self, ctx: &AccountCtx, id: i64) -> Result<()> {
        ctx.require_admin()?;
        self.store
            .delete_contact(ctx.account_id, id)
            .await
            .or_not_found("contact")?;
        self.access_changed(crate::access::AccessChange {
            account_id: ctx.account_id,
            user_id: None,
            contact_id: Some(id),
            inbox_id: None,
        });
        Ok(())
    }

    /// The labels of a contact.
    pub async fn contact_labels(&self, ctx: &AccountCtx, id: i64) -> Result<Vec<String>> {
        self.store
            .contact_labels(ctx.account_id, id)
            .await
            .or_not_found("contact")
    }

    /// Replaces the labels of a contact (Chatwoot's POST semantics) and returns the set.
    pub async fn set_contact_labels(
        &self,
        ctx: &AccountCtx,
        id: i64,
        labels: Vec<String>,
    ) -> Result<Vec<String>> {
        if labels.len() > MAX_LABELS {
            return Err(FieldError::new("labels", format!("at most {MAX_LABELS} labels")).into());
        }
        let labels = labels
            .iter()
            .map(|l| validate::label_title("labels", l))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.store
            .set_contact_labels(ctx.account_id, id, &labels)
            .await
            .or_not_found("contact")
    }

    /// Gives a contact an identity in another inbox of the account, with `source_id`
    /// (the channel's id of this person) or a random one.
    pub async fn create_contact_inbox(
        &self,
        ctx: &AccountCtx,
        contact_id: i64,
        inbox_id: i64,
        source_id: Option<String>,
    ) -> Result<ContactInboxRow> {
        let source_id = validate::optional_text("source_id", source_id.as_deref(), MAX_SOURCE_ID)?;
        // The contact is checked first so another account's contact id is a plain 404.
        self.store
            .contact(ctx.account_id, contact_id)
            .await
            .or_not_found("contact")?;
        self.check_inbox_visible(ctx, inbox_id).await?;
        self.store
            .add_contact_inbox(
                ctx.account_id,
                contact_id,
                &new_identity(inbox_id, source_id, false),
            )
            .await
            .map_err(taken)
    }

    // ---- Client API -------------------------------------------------------------------

    /// Creates a visitor's contact and identity in `inbox`. With a valid `identifier_hash`
    /// the contact with that identifier is reused (same customer on every device and
    /// visit) and the identity is marked verified; without one, a claimed identifier is
    /// only recorded, never trusted.
    pub async fn create_visitor_contact(
        &self,
        inbox: &PublicInbox,
        v: VisitorContact,
    ) -> std::result::Result<VisitorView, VisitorError> {
        let identifier = clean_identifier(v.identifier.as_deref())?;
        let hash = v
            .identifier_hash
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let verified = match (&identifier, hash) {
            (Some(id), Some(h)) => {
                if !identifier_hash_matches(&inbox.hmac_token, id, h) {
                    return Err(IdentityError::HashMismatch.into());
                }
                true
            }
            (Some(_), None) if inbox.hmac_mandatory != 0 => {
                return Err(IdentityError::HashRequired.into());
            }
            (None, Some(_)) => {
                return Err(
                    FieldError::new("identifier", "is required with identifier_hash").into(),
                );
            }
            _ => false,
        };
        let name = clean_name(v.name.as_deref())?;
        let email = clean_email(v.email.as_deref())?;
        let phone = clean_phone(v.phone_number.as_deref())?;
        let custom = clean_attributes("custom_attributes", v.custom_attributes.as_ref())?;

        if verified && let Some(id) = &identifier {
            // Two first visits of one customer may race; the loser finds the winner's row.
            for _ in 0..2 {
                if let Some(existing) = self
                    .store
                    .contact_by_identifier(inbox.account_id, id)
                    .await?
                {
                    let changes = VisitorChanges {
                        name: name.clone().map(Some),
                        email: email.clone().map(Some),
                        phone_number: phone.clone().map(Some),
                        custom_attributes: custom.clone().map(Value::Object),
                    };
                    let contact = self.apply_visitor_changes(&existing, changes).await?;
                    let ci = self
                        .store
                        .add_contact_inbox(
                            inbox.account_id,
                            contact.id,
                            &new_identity(inbox.inbox_id, None, true),
                        )
                        .await?;
                    return Ok(VisitorView {
                        contact,
                        source_id: ci.source_id,
                        pubsub_token: ci.pubsub_token,
                    });
                }
                let fields = ContactFields {
                    name: name.clone(),
                    email: email.clone(),
                    phone_number: phone.clone(),
                    identifier: Some(id.clone()),
                    custom_attributes: object_text(custom.clone()),
                    additional_attributes: "{}".into(),
                    ..Default::default()
                };
                match self.create_visitor_row(inbox, fields, true).await {
                    Err(VisitorError::Service(ServiceError::Conflict(_))) => continue,
                    other => return other,
                }
            }
            return Err(
                ServiceError::Conflict("the contact is being created, retry".into()).into(),
            );
        }

        let mut additional = Map::new();
        if let Some(id) = identifier {
            additional.insert("unverified_identifier".into(), Value::String(id));
        }
        let fields = ContactFields {
            name,
            email,
            phone_number: phone,
            identifier: None,
            custom_attributes: object_text(custom),
            additional_attributes: Value::Object(additional).to_string(),
            ..Default::default()
        };
        self.create_visitor_row(inbox, fields, false).await
    }

    /// Inserts a visitor's contact and identity. An e-mail already used by another contact
    /// is moved to `additional_attributes.unverified_email`, so the visitor is not told
    /// that the address belongs to a customer. `Conflict` only for a taken identifier.
    async fn create_visitor_row(
        &self,
        inbox: &PublicInbox,
        mut fields: ContactFields,
        verified: bool,
    ) -> std::result::Result<VisitorView, VisitorError> {
        loop {
            let identity = new_identity(inbox.inbox_id, None, verified);
            match self
                .store
                .create_contact(inbox.account_id, &fields, Some(&identity))
                .await
            {
                Ok((contact, Some(ci))) => {
                    self.announce_contact("contact.created", &contact, Some(inbox.inbox_id))
                        .await;
                    return Ok(VisitorView {
                        contact,
                        source_id: ci.source_id,
                        pubsub_token: ci.pubsub_token,
                    });
                }
                Ok((_, None)) => {
                    return Err(ServiceError::Internal("identity was not created".into()).into());
                }
                Err(StoreError::Conflict(f)) if f == "email" && fields.email.is_some() => {
                    set_email_aside(&mut fields);
                }
                Err(StoreError::Conflict(f)) => {
                    return Err(ServiceError::Conflict(format!("{f} already exists")).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes a visitor's changes to a contact, setting a colliding e-mail aside.
    async fn apply_visitor_changes(
        &self,
        current: &ContactRow,
        changes: VisitorChanges,
    ) -> Result<ContactRow> {
        let mut f = ContactFields::from_row(current);
        ContactChanges::from(changes).apply_to(&mut f)?;
        loop {
            match self
                .store
                .update_contact(current.account_id, current.id, &f)
                .await
            {
                Err(StoreError::Conflict(c)) if c == "email" && f.email.is_some() => {
                    set_email_aside(&mut f);
                }
                Err(StoreError::NotFound) => return Err(ServiceError::NotFound("contact")),
                other => {
                    let row = other?;
                    self.announce_contact("contact.updated", &row, None).await;
                    return Ok(row);
                }
            }
        }
    }

    /// The visitor's own contact.
    pub async fn visitor_contact(&self, who: &PublicIdentity) -> Result<VisitorView> {
        let contact = self
            .store
            .contact(who.account_id, who.contact_id)
            .await
            .or_not_found("contact")?;
        Ok(VisitorView {
            contact,
            source_id: who.source_id.clone(),
            pubsub_token: who.pubsub_token.clone(),
        })
    }

    /// Updates the visitor's own name, e-mail, phone or custom attributes.
    pub async fn update_visitor_contact(
        &self,
        who: &PublicIdentity,
        changes: VisitorChanges,
    ) -> Result<VisitorView> {
        let current = self
            .store
            .contact(who.account_id, who.contact_id)
            .await
            .or_not_found("contact")?;
        let contact = self.apply_visitor_changes(&current, changes).await?;
        Ok(VisitorView {
            contact,
            source_id: who.source_id.clone(),
            pubsub_token: who.pubsub_token.clone(),
        })
    }
}

/// Moves an e-mail the visitor may not own (another contact has it) to
/// `additional_attributes.unverified_email`, where agents still see it.
fn set_email_aside(f: &mut ContactFields) {
    let Some(value) = f.email.take() else { return };
    let mut m: Map<String, Value> =
        serde_json::from_str(&f.additional_attributes).unwrap_or_default();
    m.insert("unverified_email".into(), Value::String(value));
    f.additional_attributes = Value::Object(m).to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_check() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"user-1");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(identifier_hash_matches("secret", "user-1", &good));
        assert!(identifier_hash_matches(
            "secret",
            "user-1",
            &good.to_uppercase()
        ));
        assert!(!identifier_hash_matches("secret", "user-2", &good));
        assert!(!identifier_hash_matches("other", "user-1", &good));
        assert!(!identifier_hash_matches("secret", "user-1", "zz"));
        assert!(!identifier_hash_matches("secret", "user-1", &good[..10]));
    }

    #[test]
    fn sort_and_merge() {
        assert_eq!(
            parse_sort(None, ContactSort::LastActivityAt).unwrap(),
            (ContactSort::LastActivityAt, true)
        );
        assert_eq!(
            parse_sort(Some("-name"), ContactSort::Newest).unwrap(),
            (ContactSort::Name, true)
        );
        assert_eq!(
            parse_sort(Some("email"), ContactSort::Newest).unwrap(),
            (ContactSort::Email, false)
        );
        assert!(parse_sort(Some("password"), ContactSort::Newest).is_err());
        let merged = merge_attributes(
            "custom_attributes",
            r#"{"a":1,"b":2}"#,
            Some(&serde_json::json!({"b": null, "c": 3})),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&merged).unwrap(),
            serde_json::json!({"a": 1, "c": 3})
        );
        assert!(merge_attributes("x", "{}", Some(&serde_json::json!([1]))).is_err());
    }
}
