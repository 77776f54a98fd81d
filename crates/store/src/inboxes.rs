//! Inboxes (one per channel: website widget, API, Telegram, e-mail) and their members.
//!
//! Every lookup takes the account id, so an id guessed from another tenant behaves as
//! not found. The only unscoped lookup is [`Store::inbox_by_identifier`], which the
//! public Client API needs: its identifier is a random secret-ish token, not a counter.
//! Channel-specific settings (website URL, widget colour, webhook URL, …) live in one JSON
//! object so a new channel type needs no migration.

use crate::durable::Durable;
use parley_core::ChannelType;
use serde_json::{Map, Value};
use sqlx::FromRow;

use crate::agents::{MemberOp, MemberTable, MembersOutcome};
use crate::users::AgentRow;
use crate::{Backend, Result, Store, random_token};

/// A stored inbox.
#[derive(Debug, Clone, FromRow)]
pub struct InboxRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub channel_type: String,
    pub identifier: String,
    pub hmac_token: String,
    pub hmac_mandatory: i64,
    pub enable_auto_assignment: i64,
    pub greeting_enabled: i64,
    pub greeting_message: Option<String>,
    pub working_hours_enabled: i64,
    pub timezone: String,
    pub out_of_office_message: Option<String>,
    pub avatar_url: Option<String>,
    pub settings: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl InboxRow {
    /// The channel type; `None` only if the stored value is unknown to this version.
    pub fn channel(&self) -> Option<ChannelType> {
        ChannelType::parse(&self.channel_type)
    }

    /// The channel settings object; an unreadable value reads as empty rather than
    /// failing every request that touches the inbox.
    pub fn settings_map(&self) -> Map<String, Value> {
        match serde_json::from_str::<Value>(&self.settings) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    /// One string setting, if present.
    pub fn setting_str(&self, key: &str) -> Option<String> {
        self.settings_map()
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

pub(crate) const INBOX_COLS: &str = "id, account_id, name, channel_type, identifier, hmac_token, hmac_mandatory, \
    enable_auto_assignment, greeting_enabled, greeting_message, working_hours_enabled, timezone, \
    out_of_office_message, avatar_url, settings, created_at, updated_at";

/// Fields of a new inbox. The public identifier and the HMAC secret are generated.
#[derive(Debug, Clone)]
pub struct NewInbox {
    pub name: String,
    pub channel_type: ChannelType,
    pub hmac_mandatory: bool,
    pub enable_auto_assignment: bool,
    pub greeting_enabled: bool,
    pub greeting_message: Option<String>,
    pub working_hours_enabled: bool,
    pub timezone: String,
    pub out_of_office_message: Option<String>,
    pub avatar_url: Option<String>,
    /// Channel settings; must be a JSON object.
    pub settings: Map<String, Value>,
}

impl NewInbox {
    /// An inbox with Chatwoot's defaults (auto-assignment on, everything else off).
    pub fn new(name: impl Into<String>, channel_type: ChannelType) -> Self {
        Self {
            name: name.into(),
            channel_type,
            hmac_mandatory: false,
            enable_auto_assignment: true,
            greeting_enabled: false,
            greeting_message: None,
            working_hours_enabled: false,
            timezone: "UTC".into(),
            out_of_office_message: None,
            avatar_url: None,
            settings: Map::new(),
        }
    }
}

/// A partial update of an inbox. `None` leaves a field unchanged; for nullable fields
/// `Some(None)` clears it. Settings keys are merged into the stored object (a JSON
/// `null` value removes a key), so a PATCH of one widget option keeps the others.
#[derive(Debug, Clone, Default)]
pub struct InboxPatch {
    pub name: Option<String>,
    pub hmac_mandatory: Option<bool>,
    pub enable_auto_assignment: Option<bool>,
    pub greeting_enabled: Option<bool>,
    pub greeting_message: Option<Option<String>>,
    pub working_hours_enabled: Option<bool>,
    pub timezone: Option<String>,
    pub out_of_office_message: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub settings: Map<String, Value>,
}

impl Store {
    /// Creates an inbox with a fresh public identifier and HMAC secret.
    pub async fn create_inbox(&self, account_id: i64, new: &NewInbox) -> Result<InboxRow> {
        let now = self.now();
        let sql = format!(
            "INSERT INTO inboxes (account_id, name, channel_type, identifier, hmac_token, hmac_mandatory,
               enable_auto_assignment, greeting_enabled, greeting_message, working_hours_enabled, timezone,
               out_of_office_message, avatar_url, settings, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
             RETURNING {INBOX_COLS}"
        );
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(&new.name)
            .bind(new.channel_type.as_str())
            .bind(random_token(12))
            .bind(random_token(24))
            .bind(i64::from(new.hmac_mandatory))
            .bind(i64::from(new.enable_auto_assignment))
            .bind(i64::from(new.greeting_enabled))
            .bind(new.greeting_message.as_deref())
            .bind(i64::from(new.working_hours_enabled))
            .bind(&new.timezone)
            .bind(new.out_of_office_message.as_deref())
            .bind(new.avatar_url.as_deref())
            .bind(Value::Object(new.settings.clone()).to_string())
            .bind(now)
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// The account's inboxes, oldest first.
    pub async fn inboxes(&self, account_id: i64) -> Result<Vec<InboxRow>> {
        let sql = format!("SELECT {INBOX_COLS} FROM inboxes WHERE account_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One inbox of the account; `NotFound` for ids of other accounts.
    pub async fn inbox(&self, account_id: i64, id: i64) -> Result<InboxRow> {
        let sql = format!("SELECT {INBOX_COLS} FROM inboxes WHERE id = $1 AND account_id = $2");
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_one(self.reader())
            .await?)
    }

    /// The inbox behind a public identifier (Client API and widget).
    pub async fn inbox_by_identifier(&self, identifier: &str) -> Result<Option<InboxRow>> {
        let sql = format!("SELECT {INBOX_COLS} FROM inboxes WHERE identifier = $1");
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(identifier)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Applies a partial update in one transaction (the row is locked on PostgreSQL, and
    /// SQLite has a single writer), so concurrent PATCHes of different settings keys do
    /// not lose each other's changes.
    pub async fn update_inbox(
        &self,
        account_id: i64,
        id: i64,
        patch: &InboxPatch,
    ) -> Result<InboxRow> {
        let mut tx = self.writer().begin().await?;
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql =
            format!("SELECT {INBOX_COLS} FROM inboxes WHERE id = $1 AND account_id = $2{lock}");
        let mut row = sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?;
        let flag = |new: Option<bool>, old: i64| new.map(i64::from).unwrap_or(old);
        if let Some(v) = &patch.name {
            row.name = v.clone();
        }
        row.hmac_mandatory = flag(patch.hmac_mandatory, row.hmac_mandatory);
        row.enable_auto_assignment = flag(patch.enable_auto_assignment, row.enable_auto_assignment);
        row.greeting_enabled = flag(patch.greeting_enabled, row.greeting_enabled);
        row.working_hours_enabled = flag(patch.working_hours_enabled, row.working_hours_enabled);
        if let Some(v) = &patch.greeting_message {
            row.greeting_message = v.clone();
        }
        if let Some(v) = &patch.timezone {
            row.timezone = v.clone();
        }
        if let Some(v) = &patch.out_of_office_message {
            row.out_of_office_message = v.clone();
        }
        if let Some(v) = &patch.avatar_url {
            row.avatar_url = v.clone();
        }
        let mut settings = row.settings_map();
        for (k, v) in &patch.settings {
            if v.is_null() {
                settings.remove(k);
            } else {
                settings.insert(k.clone(), v.clone());
            }
        }
        let sql = format!(
            "UPDATE inboxes SET name = $3, hmac_mandatory = $4, enable_auto_assignment = $5,
               greeting_enabled = $6, greeting_message = $7, working_hours_enabled = $8, timezone = $9,
               out_of_office_message = $10, avatar_url = $11, settings = $12, updated_at = $13
             WHERE id = $1 AND account_id = $2 RETURNING {INBOX_COLS}"
        );
        let updated = sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(&row.name)
            .bind(row.hmac_mandatory)
            .bind(row.enable_auto_assignment)
            .bind(row.greeting_enabled)
            .bind(row.greeting_message.as_deref())
            .bind(row.working_hours_enabled)
            .bind(&row.timezone)
            .bind(row.out_of_office_message.as_deref())
            .bind(row.avatar_url.as_deref())
            .bind(Value::Object(settings).to_string())
            .bind(self.now())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Replaces an inbox's HMAC secret with a fresh one: identity hashes computed with the
    /// old secret stop verifying at once (what an owner wants after the secret leaked).
    pub async fn reset_inbox_hmac_token(&self, account_id: i64, id: i64) -> Result<InboxRow> {
        let sql = format!(
            "UPDATE inboxes SET hmac_token = $3, updated_at = $4
             WHERE id = $1 AND account_id = $2 RETURNING {INBOX_COLS}"
        );
        Ok(sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(account_id)
            .bind(random_token(24))
            .bind(self.now())
            .fetch_one_durable(self.writer())
            .await?)
    }

    /// Deletes an inbox with its members, conversations and messages (by cascade).
    pub async fn delete_inbox(&self, account_id: i64, id: i64) -> Result<()> {
        self.delete_in_account("inboxes", account_id, id).await
    }

    /// Agents of an inbox. `NotFound` if the inbox is not in the account.
    pub async fn inbox_members(&self, account_id: i64, inbox_id: i64) -> Result<Vec<AgentRow>> {
        self.list_members(MemberTable::Inbox, account_id, inbox_id)
            .await
    }

    /// Adds, replaces or removes agents of an inbox; see [`MembersOutcome`].
    pub async fn change_inbox_members(
        &self,
        account_id: i64,
        inbox_id: i64,
        op: MemberOp,
        user_ids: &[i64],
    ) -> Result<MembersOutcome> {
        self.change_members(MemberTable::Inbox, account_id, inbox_id, op, user_ids)
            .await
    }

    /// Whether a user is a member of an inbox (an agent's right to see its conversations).
    pub async fn is_inbox_member(&self, inbox_id: i64, user_id: i64) -> Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM inbox_members WHERE inbox_id = $1 AND user_id = $2")
                .bind(inbox_id)
                .bind(user_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.is_some())
    }

    /// Ids of the account's inboxes a user is a member of, ascending.
    pub async fn inbox_ids_for_user(&self, account_id: i64, user_id: i64) -> Result<Vec<i64>> {
        self.container_ids_for_user(MemberTable::Inbox, account_id, user_id)
            .await
    }
}
