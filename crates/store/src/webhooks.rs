//! Outgoing webhooks: receivers, their cursors over the event log, and the deliveries.
//!
//! Why a cursor per receiver: the event log already holds every committed change with a
//! dense per-account cursor (see [`crate::events`]). A receiver's dispatcher reads the
//! events after its cursor, stores one delivery row per event it subscribes to and moves
//! the cursor in the same transaction (a compare-and-set, so two nodes never enqueue the
//! same event twice). A committed event is therefore never missed, even after `kill -9`,
//! and the hot message path pays nothing for webhooks.
//!
//! Deliveries are claimed like jobs (a lease in `locked_until`, `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL), oldest first, and a delivery is claimable only when no older delivery
//! of the same receiver and conversation is still pending: per-conversation order.

use std::collections::{BTreeMap, HashMap};

use sqlx::FromRow;

use crate::{Backend, Result, Store, StoreError};

/// A receiver: an account webhook, or an API channel inbox's `webhook_url`.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct WebhookRow {
    pub id: i64,
    pub account_id: i64,
    pub inbox_id: Option<i64>,
    pub name: Option<String>,
    pub url: String,
    /// JSON array of event names.
    pub subscriptions: String,
    pub secret: String,
    pub cursor: i64,
    pub failures: i64,
    pub paused_at: Option<i64>,
    pub pause_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set for an agent bot's `outgoing_url` in the inbox it handles.
    pub agent_bot_id: Option<i64>,
}

const WEBHOOK_COLS: &str = "id, account_id, inbox_id, name, url, subscriptions, secret, cursor, \
     failures, paused_at, pause_reason, created_at, updated_at, agent_bot_id";

/// One delivery as its log shows it.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub account_id: i64,
    pub uuid: String,
    pub event: String,
    pub seq: Option<i64>,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub next_at: i64,
    pub response_code: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub attempted_at: Option<i64>,
    pub created_at: i64,
}

const DELIVERY_COLS: &str = "id, webhook_id, account_id, uuid, event, seq, conversation_id, \
     message_id, body, status, attempts, next_at, response_code, response_body, error, \
     duration_ms, attempted_at, created_at";

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub account_id: i64,
    pub uuid: String,
    pub event: String,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub body: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// A delivery to store for one event.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub event: String,
    pub seq: Option<i64>,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub body: String,
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub response_code: Option<i64>,
    /// The first bytes of the answer (bounded by the caller).
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// The receiver answered 2xx.
    Delivered,
    /// Try again at this time (ms).
    RetryAt(i64),
    /// Retries are exhausted.
    GaveUp,
}

/// Fields of a receiver to change; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub name: Option<Option<String>>,
    pub url: Option<String>,
    pub subscriptions: Option<String>,
}

impl Store {
    /// The account's webhooks (not the inboxes' receivers), oldest first.
    pub async fn webhooks(&self, account_id: i64) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE account_id = $1 AND inbox_id IS NULL
             AND automation_rule_id IS NULL ORDER BY id"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await?)
    }

    /// One receiver of the account (an account webhook or an inbox's).
    pub async fn webhook(&self, account_id: i64, id: i64) -> Result<Option<WebhookRow>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE account_id = $1 AND id = $2
             AND automation_rule_id IS NULL"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .fetch_optional(self.writer())
            .await?)
    }

    /// The receiver of an API channel inbox, if it has a `webhook_url`.
    pub async fn inbox_webhook(&self, inbox_id: i64) -> Result<Option<WebhookRow>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE inbox_id = $1 AND agent_bot_id IS NULL"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(inbox_id)
            .fetch_optional(self.reader())
            .await?)
    }

    /// Creates an account webhook; it follows events from the log's current head.
    pub async fn create_webhook(
        &self,
        account_id: i64,
        name: Option<&str>,
        url: &str,
        subscriptions: &str,
        secret: &str,
    ) -> Result<WebhookRow> {
        let now = self.now();
        let sql = format!(
            "INSERT INTO webhooks (account_id, name, url, subscriptions, secret, cursor,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5,
                COALESCE((SELECT seq FROM event_heads WHERE account_id = $1), 0), $6, $6)
             RETURNING {WEBHOOK_COLS}"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(name.map(str::to_string))
            .bind(url.to_string())
            .bind(subscriptions.to_string())
            .bind(secret.to_string())
            .bind(now)
            .fetch_one(self.writer())
            .await?)
    }

    /// Changes an account webhook's fields.
    pub async fn update_webhook(
        &self,
        account_id: i64,
        id: i64,
        patch: &WebhookPatch,
    ) -> Result<WebhookRow> {
        let (set_name, name) = match &patch.name {
            Some(n) => (1i64, n.clone()),
            None => (0, None),
        };
        let sql = format!(
            "UPDATE webhooks SET
                name = CASE WHEN $3 = 1 THEN $4 ELSE name END,
                url = COALESCE($5, url),
                subscriptions = COALESCE($6, subscriptions),
                updated_at = $7
             WHERE account_id = $1 AND id = $2 AND inbox_id IS NULL
             RETURNING {WEBHOOK_COLS}"
        );
        sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(set_name)
            .bind(name)
            .bind(patch.url.clone())
            .bind(patch.subscriptions.clone())
            .bind(self.now())
            .fetch_optional(self.writer())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes an account webhook with its deliveries.
    pub async fn delete_webhook(&self, account_id: i64, id: i64) -> Result<()> {
        let r = sqlx::query(
            "DELETE FROM webhooks WHERE account_id = $1 AND id = $2 AND inbox_id IS NULL",
        )
        .bind(account_id)
        .bind(id)
        .execute(self.writer())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces an account webhook's signing secret.
    pub async fn set_webhook_secret(
        &self,
        account_id: i64,
        id: i64,
        secret: &str,
    ) -> Result<WebhookRow> {
        let sql = format!(
            "UPDATE webhooks SET secret = $3, updated_at = $4
             WHERE account_id = $1 AND id = $2 AND inbox_id IS NULL RETURNING {WEBHOOK_COLS}"
        );
        sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(secret.to_string())
            .bind(self.now())
            .fetch_optional(self.writer())
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Resumes a paused receiver: its failure count starts again and its waiting
    /// deliveries are due at once.
    pub async fn resume_webhook(&self, account_id: i64, id: i64) -> Result<WebhookRow> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "UPDATE webhooks SET paused_at = NULL, pause_reason = NULL, failures = 0,
                updated_at = $3
             WHERE account_id = $1 AND id = $2 RETURNING {WEBHOOK_COLS}"
        );
        let row = sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET next_at = $2
             WHERE webhook_id = $1 AND status = 'pending' AND next_at > $2",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Makes an inbox's receiver match its `webhook_url`: created (from the log's head),
    /// re-pointed, or removed when the URL is `None`.
    pub async fn sync_inbox_webhook(
        &self,
        account_id: i64,
        inbox_id: i64,
        url: Option<&str>,
        subscriptions: &str,
    ) -> Result<()> {
        let now = self.now();
        match url {
            None => {
                sqlx::query("DELETE FROM webhooks WHERE inbox_id = $1 AND agent_bot_id IS NULL")
                    .bind(inbox_id)
                    .execute(self.writer())
                    .await?;
            }
            Some(url) => {
                sqlx::query(
                    "INSERT INTO webhooks (account_id, inbox_id, url, subscriptions, secret,
                        cursor, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, '',
                        COALESCE((SELECT seq FROM event_heads WHERE account_id = $1), 0), $5, $5)
                     ON CONFLICT (inbox_id) WHERE inbox_id IS NOT NULL AND agent_bot_id IS NULL
                     DO UPDATE
                        SET url = excluded.url, subscriptions = excluded.subscriptions,
                            updated_at = excluded.updated_at",
                )
                .bind(account_id)
                .bind(inbox_id)
                .bind(url.to_string())
                .bind(subscriptions.to_string())
                .bind(now)
                .execute(self.writer())
                .await?;
            }
        }
        Ok(())
    }

    /// Receivers (not paused) whose cursor is behind their account's log.
    pub async fn webhooks_behind(&self, limit: i64) -> Result<Vec<WebhookRow>> {
        let cols = WEBHOOK_COLS
            .split(", ")
            .map(|c| format!("w.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM webhooks w JOIN event_heads h ON h.account_id = w.account_id
             WHERE w.paused_at IS NULL AND h.seq > w.cursor AND w.automation_rule_id IS NULL
             ORDER BY w.id LIMIT $1"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(self.poll_reader())
            .await?)
    }

    /// Stores `deliveries` of receiver `webhook_id` and moves its cursor from `from` to
    /// `to`, in one transaction; `false` (nothing stored) when the cursor is no longer at
    /// `from` (another node did it first).
    pub async fn enqueue_deliveries(
        &self,
        webhook_id: i64,
        account_id: i64,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool> {
        let Some(mut tx) = self
            .begin_cursor_move(
                "UPDATE webhooks SET cursor = $3 WHERE id = $1 AND cursor = $2 AND paused_at IS NULL",
                webhook_id,
                (from, to),
            )
            .await?
        else {
            return Ok(false);
        };
        let now = self.now();
        for d in deliveries {
            insert_delivery(&mut tx, webhook_id, account_id, d, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The webhooks of the account (and the API-channel webhook of `inbox_id`) that are
    /// not paused and may subscribe to `event`: events that are not in the log (typing)
    /// are given to them directly. The caller checks the subscription list exactly.
    pub async fn receivers_of(
        &self,
        account_id: i64,
        inbox_id: i64,
        event: &str,
    ) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE account_id = $1 AND paused_at IS NULL
             AND automation_rule_id IS NULL AND (inbox_id IS NULL OR inbox_id = $2)
             AND subscriptions LIKE $3 ORDER BY id"
        );
        Ok(sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(inbox_id)
            .bind(format!("%\"{event}\"%"))
            .fetch_all(self.poll_reader())
            .await?)
    }

    /// Stores `delivery` for each of `webhook_ids` (of `account_id`), in one transaction.
    pub async fn enqueue_direct(
        &self,
        account_id: i64,
        webhook_ids: &[i64],
        delivery: &NewDelivery,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        for id in webhook_ids {
            insert_delivery(&mut tx, *id, account_id, delivery, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The hidden receiver of automation rule `rule_id` for `url` (created on first use,
    /// subscribed to nothing, so the dispatcher never reads the log for it), and stores
    /// `delivery` for it: the rule's `send_webhook_event` goes through the same signing,
    /// retries, pause and log as every webhook.
    pub async fn enqueue_automation_delivery(
        &self,
        account_id: i64,
        rule_id: i64,
        url: &str,
        secret: &str,
        delivery: &NewDelivery,
    ) -> Result<i64> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let existing: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM webhooks WHERE automation_rule_id = $1 AND url = $2")
                .bind(rule_id)
                .bind(url.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let webhook_id = match existing {
            Some((id,)) => id,
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO webhooks (account_id, name, url, subscriptions, secret, cursor,
                        automation_rule_id, created_at, updated_at)
                     VALUES ($1, NULL, $2, '[]', $3, 0, $4, $5, $5) RETURNING id",
                )
                .bind(account_id)
                .bind(url.to_string())
                .bind(secret.to_string())
                .bind(rule_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                id
            }
        };
        insert_delivery(&mut tx, webhook_id, account_id, delivery, now).await?;
        tx.commit().await?;
        Ok(webhook_id)
    }

    /// Claims up to `limit` due deliveries for `node` until `now + lease_ms`. A delivery
    /// waits while an older one of the same receiver and conversation is pending, and
    /// deliveries of paused receivers wait for the resume.
    pub async fn claim_deliveries(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET locked_until = $1, locked_by = $2,
                attempts = attempts + 1
             WHERE id IN (
                SELECT d.id FROM webhook_deliveries d
                JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.status = 'pending' AND d.next_at <= $3
                  AND (d.locked_until IS NULL OR d.locked_until < $3)
                  AND w.paused_at IS NULL
                  AND NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries e
                    WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id
                      AND e.status = 'pending' AND e.id < d.id)
                ORDER BY d.next_at, d.id LIMIT $4 {lock})
             RETURNING id, webhook_id, account_id, uuid, event, conversation_id, message_id,
                body, attempts, created_at"
        );
        let mut rows = sqlx::query_as::<_, ClaimedDelivery>(sqlx::AssertSqlSafe(sql))
            .bind(now.saturating_add(lease_ms))
            .bind(node.to_string())
            .bind(now)
            .bind(limit)
            .fetch_all(self.writer())
            .await?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// When the earliest pending delivery is due (a reader's look, so an idle worker does
    /// not take the writer connection to claim nothing).
    pub async fn next_delivery_at(&self) -> Result<Option<i64>> {
        let (at,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(next_at) FROM webhook_deliveries WHERE status = 'pending'
             AND webhook_id IN (SELECT id FROM webhooks WHERE paused_at IS NULL)",
        )
        .fetch_one(self.poll_reader())
        .await?;
        Ok(at)
    }

    /// Frees the deliveries `node` holds (its shutdown): another node, or the next start,
    /// takes them at once instead of waiting for the lease to run out.
    pub async fn release_delivery_leases(&self, node: &str) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET locked_until = NULL, locked_by = NULL
             WHERE locked_by = $1 AND status = 'pending'",
        )
        .bind(node.to_string())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The URL and signing secret of each receiver of `webhook_ids` that still exists (an
    /// inbox's receiver signs with the inbox's `hmac_token`, a bot's with the bot's
    /// secret): one query for a claimed batch, whatever its size.
    pub async fn webhook_targets(
        &self,
        webhook_ids: &[i64],
    ) -> Result<HashMap<i64, (String, String)>> {
        if webhook_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut ids = webhook_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let sql = format!(
            "SELECT w.id, w.url, CASE WHEN w.inbox_id IS NULL THEN w.secret
                WHEN w.agent_bot_id IS NOT NULL
                    THEN (SELECT secret FROM agent_bots WHERE id = w.agent_bot_id)
                ELSE (SELECT hmac_token FROM inboxes WHERE id = w.inbox_id) END
             FROM webhooks w WHERE w.id IN ({})",
            crate::conversations::id_list(&ids)
        );
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.reader())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, url, secret)| (id, (url, secret.unwrap_or_default())))
            .collect())
    }

    /// Records the attempts of claimed deliveries in one transaction: each delivery's
    /// outcome, each receiver's failure count (reset by a 2xx, written only when it was
    /// nonzero) and a pause when the count reaches `pause_after` (0 = never), with
    /// `pause_reason` of the attempt that reached it. Attempts count in the order given, as
    /// if recorded one by one. Returns the receivers this call paused (each once).
    ///
    /// Why one transaction: every write on SQLite goes through one connection, and a
    /// transaction per attempt capped the sender at the commit rate.
    pub async fn record_attempts(
        &self,
        attempts: &[(ClaimedDelivery, Attempt, AttemptEnd)],
        pause_after: i64,
        pause_reason: impl Fn(&Attempt) -> String,
    ) -> Result<Vec<i64>> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        // Per receiver, its attempts in the order given.
        let mut by_webhook: BTreeMap<i64, Vec<&(ClaimedDelivery, Attempt, AttemptEnd)>> =
            BTreeMap::new();
        for a in attempts {
            by_webhook.entry(a.0.webhook_id).or_default().push(a);
        }
        let mut paused = Vec::new();
        let mut tx = self.writer().begin().await?;
        // Every receiver's row first (in id order), then the deliveries' rows: the order a
        // receiver's deletion takes (the row, then its deliveries by cascade), so the two
        // never wait on each other (PostgreSQL would break such a deadlock by failing one
        // of them). The row is locked even when every attempt was delivered: this
        // transaction writes several of the receiver's deliveries, which a cascade could
        // otherwise take in another order. KEY SHARE does not hold up the dispatcher's
        // cursor move; only a deletion waits.
        for (webhook_id, list) in &by_webhook {
            let any_failed = list.iter().any(|a| a.2 != AttemptEnd::Delivered);
            let lock = match (self.backend(), any_failed) {
                (Backend::Sqlite, _) => "",
                (Backend::Postgres, true) => "FOR NO KEY UPDATE",
                (Backend::Postgres, false) => "FOR KEY SHARE",
            };
            let row: Option<(i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT failures, paused_at FROM webhooks WHERE id = $1 {lock}"
            )))
            .bind(*webhook_id)
            .fetch_optional(&mut *tx)
            .await?;
            // Deleted: its deliveries went with it.
            let Some((before, paused_at)) = row else {
                continue;
            };
            let mut failures = before;
            let mut is_paused = paused_at.is_some();
            let mut reason = None;
            for (_, attempt, end) in list.iter().map(|a| (&a.0, &a.1, a.2)) {
                if end == AttemptEnd::Delivered {
                    failures = 0;
                } else {
                    failures += 1;
                    if !is_paused && pause_after > 0 && failures >= pause_after {
                        is_paused = true;
                        reason = Some(pause_reason(attempt));
                    }
                }
            }
            if let Some(reason) = reason {
                sqlx::query(
                    "UPDATE webhooks SET failures = $2, paused_at = $3, pause_reason = $4,
                        updated_at = $3
                     WHERE id = $1",
                )
                .bind(*webhook_id)
                .bind(failures)
                .bind(now)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                paused.push(*webhook_id);
            } else if failures != before {
                sqlx::query("UPDATE webhooks SET failures = $2 WHERE id = $1")
                    .bind(*webhook_id)
                    .bind(failures)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let mut ordered: Vec<&(ClaimedDelivery, Attempt, AttemptEnd)> = attempts.iter().collect();
        ordered.sort_by_key(|a| (a.0.webhook_id, a.0.id));
        for (d, attempt, end) in ordered.into_iter().map(|a| (&a.0, &a.1, a.2)) {
            let (status, next_at) = match end {
                AttemptEnd::Delivered => ("delivered", now),
                AttemptEnd::RetryAt(at) => ("pending", at),
                AttemptEnd::GaveUp => ("failed", now),
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $2, next_at = $3, locked_until = NULL,
                    locked_by = NULL, response_code = $4, response_body = $5, error = $6,
                    duration_ms = $7, attempted_at = $8
                 WHERE id = $1",
            )
            .bind(d.id)
            .bind(status)
            .bind(next_at)
            .bind(attempt.response_code)
            .bind(attempt.response_body.clone())
            .bind(attempt.error.clone())
            .bind(attempt.duration_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(paused)
    }

    /// A page of a receiver's delivery log, newest first, before delivery id `before`.
    pub async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2
             ORDER BY id DESC LIMIT $3"
        );
        Ok(sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(webhook_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    /// The deliveries to an agent bot's `outgoing_url` (its receivers in every inbox it
    /// handles), newest first.
    pub async fn agent_bot_deliveries(
        &self,
        bot_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries
             WHERE webhook_id IN (SELECT id FROM webhooks WHERE agent_bot_id = $1) AND id < $2
             ORDER BY id DESC LIMIT $3"
        );
        Ok(sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(bot_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(self.reader())
            .await?)
    }

    /// One delivery of a receiver.
    pub async fn webhook_delivery(&self, webhook_id: i64, id: i64) -> Result<Option<DeliveryRow>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
        );
        Ok(sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(webhook_id)
            .bind(id)
            .fetch_optional(self.writer())
            .await?)
    }

    /// Queues the body of an earlier delivery again, as a new delivery (a new delivery id,
    /// after the conversation's pending ones).
    pub async fn redeliver(&self, original: &DeliveryRow) -> Result<DeliveryRow> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let id = insert_delivery(
            &mut tx,
            original.webhook_id,
            original.account_id,
            &NewDelivery {
                event: original.event.clone(),
                seq: original.seq,
                conversation_id: original.conversation_id,
                message_id: None,
                body: original.body.clone(),
            },
            now,
        )
        .await?;
        let sql = format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE id = $1");
        let row = sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Puts a failed API channel reply back to its inbox's `webhook_url`: `progress` again
    /// and its last `message_created` delivery queued anew (a new delivery id), in one
    /// transaction. `NotFound` when the message never had such a delivery; `Conflict` when
    /// it is not `failed`.
    pub async fn requeue_webhook_message(
        &self,
        inbox_id: i64,
        message_id: i64,
        content_attributes: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.writer().begin().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries
             WHERE message_id = $1 AND webhook_id = (SELECT id FROM webhooks WHERE inbox_id = $2)
             ORDER BY id DESC LIMIT 1"
        );
        let last = sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(message_id)
            .bind(inbox_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let r = sqlx::query(
            "UPDATE messages SET status = 'progress', external_error = NULL,
                content_attributes = $2, updated_at = $3 WHERE id = $1 AND status = 'failed'",
        )
        .bind(message_id)
        .bind(content_attributes.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict("message_status".into()));
        }
        insert_delivery(
            &mut tx,
            last.webhook_id,
            last.account_id,
            &NewDelivery {
                event: last.event.clone(),
                seq: last.seq,
                conversation_id: last.conversation_id,
                message_id: Some(message_id),
                body: last.body.clone(),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes finished deliveries created before `before_ms`, in bounded batches.
    pub async fn prune_webhook_deliveries(&self, before_ms: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let r = sqlx::query(
                "DELETE FROM webhook_deliveries WHERE id IN
                   (SELECT id FROM webhook_deliveries
                    WHERE status <> 'pending' AND created_at < $1 LIMIT 5000)",
            )
            .bind(before_ms)
            .execute(self.writer())
            .await?;
            total += r.rows_affected();
            if r.rows_affected() < 5000 {
                return Ok(total);
            }
        }
    }
}

async fn insert_delivery(
    conn: &mut sqlx::AnyConnection,
    webhook_id: i64,
    account_id: i64,
    d: &NewDelivery,
    now: i64,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO webhook_deliveries (webhook_id, account_id, uuid, event, seq,
            conversation_id, message_id, body, status, next_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) RETURNING id",
    )
    .bind(webhook_id)
    .bind(account_id)
    .bind(crate::random_token(16))
    .bind(d.event.clone())
    .bind(d.seq)
    .bind(d.conversation_id)
    .bind(d.message_id)
    .bind(d.body.clone())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}
