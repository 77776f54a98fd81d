//! Contacts (the shop's customers) and their per-inbox identities (`contact_inboxes`).
//! Every query is scoped by account.
//!
//! Uniqueness of a contact's e-mail and identifier inside an account is checked inside the
//! writing transaction before the insert/update, so the caller learns *which* field
//! collided (SQLite does not report the violated index by name); the unique indexes stay
//! the final guard against races on PostgreSQL and are mapped to the same error.

use crate::durable::Durable;
use parley_core::contact_match::ContactKeys;
use sqlx::FromRow;

use crate::{Result, Store, StoreError, flag};

/// A stored contact.
#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub account_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    pub custom_attributes: String,
    pub additional_attributes: String,
    pub blocked: i64,
    pub last_activity_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Goes first in waiting queues among conversations of equal priority.
    pub vip: i64,
}

/// Columns of [`ContactRow`] for SELECTs (unqualified, usable in RETURNING on SQLite too).
pub const CONTACT_COLS: &str = "id, account_id, name, email, phone_number, identifier, avatar_url, custom_attributes, \
     additional_attributes, blocked, last_activity_at, created_at, updated_at, vip";

/// Every writable field of a contact, already validated and normalised by the caller.
/// Updates write all of them, so the service merges a partial change into the current row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    /// JSON object as text.
    pub custom_attributes: String,
    /// JSON object as text.
    pub additional_attributes: String,
    pub blocked: bool,
}

impl ContactFields {
    /// The fields of a stored row, as the starting point of an update.
    pub fn from_row(r: &ContactRow) -> Self {
        Self {
            name: r.name.clone(),
            email: r.email.clone(),
            phone_number: r.phone_number.clone(),
            identifier: r.identifier.clone(),
            avatar_url: r.avatar_url.clone(),
            custom_attributes: r.custom_attributes.clone(),
            additional_attributes: r.additional_attributes.clone(),
            blocked: r.blocked != 0,
        }
    }

    /// The keys duplicates are found by (see [`parley_core::contact_match`]).
    pub fn keys(&self) -> ContactKeys {
        let additional: serde_json::Value =
            serde_json::from_str(&self.additional_attributes).unwrap_or_default();
        ContactKeys::of(
            self.email.as_deref(),
            self.phone_number.as_deref(),
            additional.get("unverified_email").and_then(|v| v.as_str()),
        )
    }

    /// The contact's tokens in the archive search index ([`crate::search`]).
    fn search_tokens(&self) -> String {
        crate::search::contact_tokens(
            self.name.as_deref(),
            self.email.as_deref(),
            self.phone_number.as_deref(),
            self.identifier.as_deref(),
            &self.custom_attributes,
        )
    }

    /// What search matches against: name, e-mail, phone and identifier, normalised.
    fn search_text(&self) -> String {
        [
            self.name.as_deref(),
            self.email.as_deref(),
            self.phone_number.as_deref(),
            self.identifier.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(normalize_search)
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// Search normalisation shared by the stored text and the query: lower case, `ё` → `е`,
/// control characters dropped (so a query cannot span two fields through the separator).
pub fn normalize_search(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// A contact's identity in one inbox, with the inbox's name and channel for rendering.
#[derive(Debug, Clone, FromRow)]
pub struct ContactInboxRow {
    pub id: i64,
    pub contact_id: i64,
    pub inbox_id: i64,
    pub source_id: String,
    pub pubsub_token: String,
    pub hmac_verified: i64,
    pub created_at: i64,
    pub inbox_name: String,
    pub channel_type: String,
}

const CONTACT_INBOX_SELECT: &str = "SELECT ci.id, ci.contact_id, ci.inbox_id, ci.source_id, ci.pubsub_token, ci.hmac_verified, \
     ci.created_at, i.name AS inbox_name, i.channel_type FROM contact_inboxes ci JOIN inboxes i ON i.id = ci.inbox_id";

/// A new identity of a contact in an inbox.
#[derive(Debug, Clone)]
pub struct NewContactInbox {
    pub inbox_id: i64,
    pub source_id: String,
    pub pubsub_token: String,
    pub hmac_verified: bool,
}

/// Orders of the contact list (Chatwoot's `sort` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSort {
    Name,
    Email,
    PhoneNumber,
    LastActivityAt,
    CreatedAt,
    /// Newest contacts first, by id: walks the `(account_id, id)` index and stops at the
    /// page, so a broad search stays bounded. Not a client-facing sort name.
    Newest,
}

impl ContactSort {
    /// Parses Chatwoot's sort names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "name" => Self::Name,
            "email" => Self::Email,
            "phone_number" => Self::PhoneNumber,
            "last_activity_at" => Self::LastActivityAt,
            "created_at" => Self::CreatedAt,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Self::Name => "LOWER(name)",
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::LastActivityAt => "last_activity_at",
            Self::CreatedAt => "created_at",
            Self::Newest => "id",
        }
    }
}

/// Which contacts of an account to list, and how.
#[derive(Debug, Clone)]
pub struct ContactQuery {
    /// Contacts matching this search of the archive index (name, e-mail, phone,
    /// identifier, custom attributes; see [`crate::search`]).
    pub search: Option<crate::search::SearchMatch>,
    /// Only contacts with an e-mail, phone or identifier (Chatwoot's "resolved" contacts),
    /// leaving out anonymous widget visitors.
    pub resolved_only: bool,
    pub sort: ContactSort,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

impl ContactQuery {
    /// WHERE clause after `account_id = $1`; the search pattern, when any, is `$2`.
    fn filter(&self) -> (String, Option<String>) {
        let mut sql = String::from("account_id = $1");
        if self.resolved_only {
            sql.push_str(
                " AND (email IS NOT NULL OR phone_number IS NOT NULL OR identifier IS NOT NULL)",
            );
        }
        let pattern = self.search.as_ref().map(|m| m.expression.clone());
        if let Some(m) = &self.search
            && m.expression.is_empty()
        {
            // A query without a word matches nothing (and binds nothing).
            sql.push_str(" AND 1 = 0");
            return (sql, None);
        }
        if let Some(m) = &self.search {
            sql.push_str(&format!(
                " AND id IN ({})",
                crate::search::contact_ids_matching(m.backend, "$2")
            ));
        }
        (sql, pattern)
    }
}

/// Maps a unique violation of the contacts table to the field it concerns.
fn contact_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(c) if c.contains("identifier") => {
            StoreError::Conflict("identifier".into())
        }
        StoreError::Conflict(c) if c.contains("email") => StoreError::Conflict("email".into()),
        other => other,
    }
}

/// Maps a unique violation of contact_inboxes to the field it concerns.
fn contact_inbox_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(c) if c.contains("pubsub") => {
            StoreError::Conflict("pubsub_token".into())
        }
        StoreError::Conflict(_) => StoreError::Conflict("source_id".into()),
        other => other,
    }
}

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Refuses an e-mail or identifier already used by another contact of the account.
async fn check_unique(
    tx: &mut Tx<'_>,
    account_id: i64,
    exclude_id: i64,
    f: &ContactFields,
) -> Result<()> {
    for (field, value) in [("email", &f.email), ("identifier", &f.identifier)] {
        let Some(value) = value else { continue };
        let sql = format!(
            "SELECT id FROM contacts WHERE account_id = $1 AND {field} = $2 AND id <> $3 LIMIT 1"
        );
        let taken: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(value)
            .bind(exclude_id)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(field.into()));
        }
    }
    Ok(())
}

async fn insert_contact(
    tx: &mut Tx<'_>,
    account_id: i64,
    f: &ContactFields,
    now: i64,
) -> Result<ContactRow> {
    check_unique(tx, account_id, -1, f).await?;
    let keys = f.keys();
    let sql = format!(
        "INSERT INTO contacts (account_id, name, email, phone_number, identifier, avatar_url, custom_attributes,
            additional_attributes, blocked, search_text, created_at, updated_at, email_key, phone_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13) RETURNING {CONTACT_COLS}"
    );
    let row = sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(f.name.as_deref())
        .bind(f.email.as_deref())
        .bind(f.phone_number.as_deref())
        .bind(f.identifier.as_deref())
        .bind(f.avatar_url.as_deref())
        .bind(&f.custom_attributes)
        .bind(&f.additional_attributes)
        .bind(flag(f.blocked))
        .bind(f.search_text())
        .bind(now)
        .bind(keys.email)
        .bind(keys.phone)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| contact_conflict(e.into()))?;
    crate::search::index_contact_in(&mut *tx, row.id, f.search_tokens()).await?;
    Ok(row)
}

/// Writes every field of a contact (with its search text and keys) inside `tx`.
pub(crate) async fn write_fields(
    tx: &mut Tx<'_>,
    account_id: i64,
    id: i64,
    fields: &ContactFields,
    now: i64,
) -> Result<ContactRow> {
    let keys = fields.keys();
    let sql = format!(
        "UPDATE contacts SET name = $3, email = $4, phone_number = $5, identifier = $6, avatar_url = $7,
            custom_attributes = $8, additional_attributes = $9, blocked = $10, search_text = $11, updated_at = $12,
            email_key = $13, phone_key = $14
         WHERE account_id = $1 AND id = $2 RETURNING {CONTACT_COLS}"
    );
    let row = sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(id)
        .bind(fields.name.as_deref())
        .bind(fields.email.as_deref())
        .bind(fields.phone_number.as_deref())
        .bind(fields.identifier.as_deref())
        .bind(fields.avatar_url.as_deref())
        .bind(&fields.custom_attributes)
        .bind(&fields.additional_attributes)
        .bind(flag(fields.blocked))
        .bind(fields.search_text())
        .bind(now)
        .bind(keys.email)
        .bind(keys.phone)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| contact_conflict(e.into()))?;
    crate::search::index_contact_in(&mut *tx, row.id, fields.search_tokens()).await?;
    Ok(row)
}

/// Inserts an identity after checking that the inbox belongs to the contact's account.
async fn insert_contact_inbox(
    tx: &mut Tx<'_>,
    account_id: i64,
    contact_id: i64,
    ci: &NewContactInbox,
    now: i64,
) -> Result<ContactInboxRow> {
    let inbox: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM inboxes WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(ci.inbox_id)
            .fetch_optional(&mut **tx)
            .await?;
    if inbox.is_none() {
        return Err(StoreError::NotFound);
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contact_inboxes (contact_id, inbox_id, source_id, pubsub_token, hmac_verified, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(contact_id)
    .bind(ci.inbox_id)
    .bind(&ci.source_id)
    .bind(&ci.pubsub_token)
    .bind(flag(ci.hmac_verified))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| contact_inbox_conflict(e.into()))?;
    let sql = format!("{CONTACT_INBOX_SELECT} WHERE ci.id = $1");
    Ok(
        sqlx::query_as::<_, ContactInboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

impl Store {
    /// A contact of an account; `NotFound` for other accounts' contacts.
    pub async fn contact(&self, account_id: i64, id: i64) -> Result<ContactRow> {
        let sql = format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = $1 AND id = $2");
        Ok(sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .fetch_one(self.reader())
            .await?)
    }

    /// The contact of an account with this external identifier, if any.
    pub async fn contact_by_identifier(
        &self,
        account_id: i64,
        identifier: &str,
    ) -> Result<Option<ContactRow>> {
        let sql = format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE account_id = $1 AND identifier = $2"
        );
        Ok(sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(identifier)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Creates a contact and, when `inbox` is given, its identity in that inbox, in one
    /// transaction. `Conflict("email" | "identifier" | "source_id")` names the collision;
    /// `NotFound` means the inbox is not one of the account's.
    pub async fn create_contact(
        &self,
        account_id: i64,
        fields: &ContactFields,
        inbox: Option<&NewContactInbox>,
    ) -> Result<(ContactRow, Option<ContactInboxRow>)> {
        let mut tx = self.writer().begin().await?;
        let contact = insert_contact(&mut tx, account_id, fields, self.now()).await?;
        let ci = match inbox {
            Some(ci) => {
                Some(insert_contact_inbox(&mut tx, account_id, contact.id, ci, self.now()).await?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok((contact, ci))
    }

    /// Replaces every writable field of a contact (see [`ContactFields`]).
    pub async fn update_contact(
        &self,
        account_id: i64,
        id: i64,
        fields: &ContactFields,
    ) -> Result<ContactRow> {
        let mut tx = self.writer().begin().await?;
        check_unique(&mut tx, account_id, id, fields).await?;
        let row = write_fields(&mut tx, account_id, id, fields, self.now()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Records activity of a contact (an incoming message, a widget visit) at `at_ms`,
    /// never moving it back in time, so the list's default order is "recently active
    /// first". Returns whether the contact exists in the account.
    pub async fn touch_contact_activity(
        &self,
        account_id: i64,
        contact_id: i64,
        at_ms: i64,
    ) -> Result<bool> {
        sqlx::query(
            "UPDATE contacts SET last_activity_at = $3
             WHERE account_id = $1 AND id = $2 AND (last_activity_at IS NULL OR last_activity_at < $3)",
        )
        .bind(account_id)
        .bind(contact_id)
        .bind(at_ms)
        .execute(self.writer())
        .await?;
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM contacts WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(contact_id)
                .fetch_optional_durable(self.writer())
                .await?;
        Ok(found.is_some())
    }

    /// Deletes a contact with its identities, labels and conversations (by cascade).
    pub async fn delete_contact(&self, account_id: i64, id: i64) -> Result<()> {
        self.delete_in_account("contacts", account_id, id).await?;
        // SQLite's FTS table has no foreign key to cascade; PostgreSQL's rows are gone.
        let mut conn = self.writer().acquire().await?;
        crate::search::unindex_contact_in(&mut conn, id).await
    }

    /// One page of an account's contacts.
    pub async fn list_contacts(
        &self,
        account_id: i64,
        q: &ContactQuery,
    ) -> Result<Vec<ContactRow>> {
        let (filter, pattern) = q.filter();
        let col = q.sort.column();
        let dir = if q.descending { "DESC" } else { "ASC" };
        let (limit_n, offset_n) = if pattern.is_some() { (3, 4) } else { (2, 3) };
        // NULLs last whatever the direction, then newest first as a stable tie-breaker.
        let order = if q.sort == ContactSort::Newest {
            "id DESC".to_string()
        } else {
            format!("{col} {dir} NULLS LAST, id DESC")
        };
        let sql = format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE {filter} ORDER BY {order}
             LIMIT ${limit_n} OFFSET ${offset_n}"
        );
        let mut query = sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql)).bind(account_id);
        if let Some(p) = pattern {
            query = query.bind(p);
        }
        Ok(query
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(self.reader())
            .await?)
    }

    /// How many contacts match `q` (its sort and page are ignored), counting at most `cap`
    /// so a broad search over a large account stays cheap.
    pub async fn count_contacts(&self, account_id: i64, q: &ContactQuery, cap: i64) -> Result<i64> {
        let (filter, pattern) = q.filter();
        let cap_n = if pattern.is_some() { 3 } else { 2 };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 AS one FROM contacts WHERE {filter} LIMIT ${cap_n}) matched"
        );
        let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql)).bind(account_id);
        if let Some(p) = pattern {
            query = query.bind(p);
        }
        let (n,) = query.bind(cap).fetch_one(self.reader()).await?;
        Ok(n)
    }

    /// Identities of the given contacts (one query for a whole page), ordered by contact
    /// then creation. Callers pass ids they already resolved inside one account.
    pub async fn contact_inboxes_of(&self, contact_ids: &[i64]) -> Result<Vec<ContactInboxRow>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (1..=contact_ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "{CONTACT_INBOX_SELECT} WHERE ci.contact_id IN ({placeholders}) ORDER BY ci.contact_id, ci.id"
        );
        let mut query = sqlx::query_as::<_, ContactInboxRow>(sqlx::AssertSqlSafe(sql));
        for id in contact_ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(self.reader()).await?)
    }

    /// Adds an identity to a contact; `NotFound` if the contact or the inbox is not the
    /// account's, `Conflict("source_id")` if the inbox already has that source id.
    pub async fn add_contact_inbox(
        &self,
        account_id: i64,
        contact_id: i64,
        ci: &NewContactInbox,
    ) -> Result<ContactInboxRow> {
        let mut tx = self.writer().begin().await?;
        let contact: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM contacts WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?;
        if contact.is_none() {
            return Err(StoreError::NotFound);
        }
        let row = insert_contact_inbox(&mut tx, account_id, contact_id, ci, self.now()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Labels of a contact, alphabetically; `NotFound` for another account's contact.
    pub async fn contact_labels(&self, account_id: i64, contact_id: i64) -> Result<Vec<String>> {
        let mut conn = self.reader().acquire().await?;
        let contact: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM contacts WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(contact_id)
                .fetch_optional(&mut *conn)
                .await?;
        if contact.is_none() {
            return Err(StoreError::NotFound);
        }
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT label FROM contact_labels WHERE contact_id = $1 ORDER BY label")
                .bind(contact_id)
                .fetch_all(&mut *conn)
                .await?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }

    /// Replaces the labels of a contact with `labels` (duplicates ignored) and returns the
    /// new set; `NotFound` for another account's contact.
    pub async fn set_contact_labels(
        &self,
        account_id: i64,
        contact_id: i64,
        labels: &[String],
    ) -> Result<Vec<String>> {
        let mut tx = self.writer().begin().await?;
        let contact: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM contacts WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(contact_id)
                .fetch_optional(&mut *tx)
                .await?;
        if contact.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM contact_labels WHERE contact_id = $1")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        for label in labels {
            sqlx::query(
                "INSERT INTO contact_labels (contact_id, label) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(contact_id)
            .bind(label)
            .execute(&mut *tx)
            .await?;
        }
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT label FROM contact_labels WHERE contact_id = $1 ORDER BY label")
                .bind(contact_id)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }

    /// Test support only: inserts a bare inbox so contact tests do not depend on the inbox
    /// feature's API. A fixed `hmac_token` lets tests use published HMAC test vectors.
    /// Returns `(id, identifier, hmac_token)`.
    #[doc(hidden)]
    pub async fn insert_inbox_for_contact_tests(
        &self,
        account_id: i64,
        name: &str,
        channel_type: &str,
        hmac_mandatory: bool,
        hmac_token: Option<&str>,
    ) -> Result<(i64, String, String)> {
        let identifier = crate::random_token(12);
        let hmac_token = hmac_token
            .map(str::to_string)
            .unwrap_or_else(|| crate::random_token(16));
        let now = self.now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO inboxes (account_id, name, channel_type, identifier, hmac_token, hmac_mandatory, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(channel_type)
        .bind(&identifier)
        .bind(&hmac_token)
        .bind(flag(hmac_mandatory))
        .bind(now)
        .fetch_one_durable(self.writer())
        .await?;
        Ok((id, identifier, hmac_token))
    }
}
