//! One customer across channels: the likely duplicates of a contact, and merging one
//! contact into another (Chatwoot's contact merge) in a single transaction.
//!
//! Why one transaction: a merge moves identities (a visitor's widget credential, a
//! Telegram or e-mail address), conversations, the contact's messages, notes, labels and
//! event log rows, then deletes the merged contact. Done in parts, a failure in the middle
//! would leave a customer split in two with some of their history pointing at a contact
//! that no longer exists.

use parley_core::contact_match::ContactKeys;

use crate::contacts::{CONTACT_COLS, ContactFields, ContactRow, Tx, write_fields};
use crate::{Backend, Result, Store, StoreError};

/// What a merge moved onto the base contact.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The base contact as it is after the merge.
    pub base: ContactRow,
    /// The merged (now deleted) contact as it was.
    pub mergee: ContactRow,
    /// Conversations that changed contact, as `(id, display_id)`, most recent activity
    /// first.
    pub conversations: Vec<(i64, i64)>,
    /// Identities (contact inboxes) moved.
    pub identities: u64,
    /// Notes moved.
    pub notes: u64,
    /// Messages whose sender changed.
    pub messages: u64,
}

/// Locks and reads a contact of the account inside `tx` (`FOR UPDATE` on PostgreSQL; the
/// SQLite writer is one connection, so its transactions are serial anyway).
async fn lock_contact(
    tx: &mut Tx<'_>,
    backend: Backend,
    account_id: i64,
    id: i64,
) -> Result<ContactRow> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql =
        format!("SELECT {CONTACT_COLS} FROM contacts WHERE account_id = $1 AND id = $2{lock}");
    sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Refuses an e-mail or identifier of the merged fields that a third contact holds.
async fn check_unique_besides(
    tx: &mut Tx<'_>,
    account_id: i64,
    ids: (i64, i64),
    f: &ContactFields,
) -> Result<()> {
    for (field, value) in [("email", &f.email), ("identifier", &f.identifier)] {
        let Some(value) = value else { continue };
        let sql = format!(
            "SELECT id FROM contacts WHERE account_id = $1 AND {field} = $2 AND id <> $3 AND id <> $4 LIMIT 1"
        );
        let taken: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(value)
            .bind(ids.0)
            .bind(ids.1)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(field.into()));
        }
    }
    Ok(())
}

impl Store {
    /// Other contacts of the account whose e-mail or phone key equals one of `keys`,
    /// oldest first, at most `limit`. Both lookups read an index of their key.
    pub async fn contacts_with_keys(
        &self,
        account_id: i64,
        except_id: i64,
        keys: &ContactKeys,
        limit: i64,
    ) -> Result<Vec<ContactRow>> {
        if keys.email.is_none() && keys.phone.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {CONTACT_COLS} FROM contacts WHERE account_id = $1 AND id <> $2
               AND ((email_key IS NOT NULL AND email_key = $3) OR (phone_key IS NOT NULL AND phone_key = $4))
             ORDER BY id LIMIT $5"
        );
        Ok(sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(except_id)
            .bind(keys.email.clone())
            .bind(keys.phone.clone())
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    /// Merges contact `mergee_id` into `base_id` (both of `account_id`) in one
    /// transaction: the mergee's identities, conversations, the messages it sent, its
    /// notes, labels and event log rows move to the base, the base's fields become
    /// `merge(base, mergee)`, and the mergee is deleted. `NotFound` if either contact is not
    /// the account's; `Conflict("email" | "identifier")` if the merged fields collide with
    /// a third contact. Nothing changes on error.
    pub async fn merge_contacts<F>(
        &self,
        account_id: i64,
        base_id: i64,
        mergee_id: i64,
        merge: F,
    ) -> Result<MergeOutcome>
    where
        F: FnOnce(&ContactRow, &ContactRow) -> (ContactFields, bool),
    {
        if base_id == mergee_id {
            return Err(StoreError::Conflict("same_contact".into()));
        }
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        // Locked in id order, so two merges of the same pair cannot deadlock; the second
        // finds its mergee (or base) gone and answers NotFound.
        let (first, second) = (base_id.min(mergee_id), base_id.max(mergee_id));
        let a = lock_contact(&mut tx, self.backend(), account_id, first).await?;
        let b = lock_contact(&mut tx, self.backend(), account_id, second).await?;
        let (base, mergee) = if a.id == base_id { (a, b) } else { (b, a) };
        let (fields, vip) = merge(&base, &mergee);
        check_unique_besides(&mut tx, account_id, (base_id, mergee_id), &fields).await?;

        // The messages the mergee sent are in its own conversations: move the sender
        // first, through the conversations index, then the conversations themselves.
        let messages = sqlx::query(
            "UPDATE messages SET sender_id = $3
             WHERE sender_type = 'Contact' AND sender_id = $2 AND account_id = $1
               AND conversation_id IN (SELECT id FROM conversations WHERE account_id = $1 AND contact_id = $2)",
        )
        .bind(account_id)
        .bind(mergee_id)
        .bind(base_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let conversations: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, display_id FROM conversations WHERE account_id = $1 AND contact_id = $2
             ORDER BY last_activity_at DESC, id DESC",
        )
        .bind(account_id)
        .bind(mergee_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE conversations SET contact_id = $3, updated_at = $4 WHERE account_id = $1 AND contact_id = $2",
        )
        .bind(account_id)
        .bind(mergee_id)
        .bind(base_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let identities =
            sqlx::query("UPDATE contact_inboxes SET contact_id = $2 WHERE contact_id = $1")
                .bind(mergee_id)
                .bind(base_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let notes = sqlx::query(
            "UPDATE contact_notes SET contact_id = $3 WHERE account_id = $1 AND contact_id = $2",
        )
        .bind(account_id)
        .bind(mergee_id)
        .bind(base_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "INSERT INTO contact_labels (contact_id, label)
             SELECT $2, label FROM contact_labels WHERE contact_id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(mergee_id)
        .bind(base_id)
        .execute(&mut *tx)
        .await?;
        // A visitor of the mergee who reconnects with a cursor is the base's visitor now:
        // their missed events must be found under the base.
        sqlx::query("UPDATE events SET contact_id = $3 WHERE account_id = $1 AND contact_id = $2")
            .bind(account_id)
            .bind(mergee_id)
            .bind(base_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contacts WHERE account_id = $1 AND id = $2")
            .bind(account_id)
            .bind(mergee_id)
            .execute(&mut *tx)
            .await?;
        crate::search::unindex_contact_in(&mut tx, mergee_id).await?;
        write_fields(&mut tx, account_id, base_id, &fields, now).await?;
        let activity = match (base.last_activity_at, mergee.last_activity_at) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        let sql = format!(
            "UPDATE contacts SET vip = $3, last_activity_at = $4 WHERE account_id = $1 AND id = $2
             RETURNING {CONTACT_COLS}"
        );
        let merged = sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(base_id)
            .bind(i64::from(vip))
            .bind(activity)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MergeOutcome {
            base: merged,
            mergee,
            conversations,
            identities,
            notes,
            messages,
        })
    }
}
