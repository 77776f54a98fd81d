//! Whether the database can take writes right now, as the last write (or probe) found it.
//!
//! Why a shared state instead of asking the database on every `/healthz`: a full disk or a
//! lost server shows itself on a write, and a health check that wrote would cost an fsync
//! per poll. So every failed write that means "the database cannot store anything"
//! ([`StoreError::Unavailable`]) marks the store unwritable — with the cause for `/healthz`,
//! the `parley_store_writable` gauge and one error-level log line — and the next successful
//! write, or the probe that [`Store::spawn_write_probe`] runs while the store is unwritable,
//! marks it writable again. Nothing here decides whether a request is acknowledged: that is
//! always its own commit's result.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing::Instrument;

use crate::error::Unavailable;
use crate::{Backend, Result, Store, StoreError};

/// Name of the 0/1 gauge that says whether the database takes writes.
pub const WRITABLE_GAUGE: &str = "parley_store_writable";
/// Name of the counter of writes refused by the database, labelled with `cause`.
pub const WRITE_FAILURES: &str = "parley_store_write_failures_total";

/// The write state of one store (shared by its clones).
#[derive(Debug)]
pub struct WriteHealth {
    writable: AtomicBool,
    /// Cause and detail of the failure that made the store unwritable.
    reason: Mutex<Option<(Unavailable, String)>>,
}

impl Default for WriteHealth {
    fn default() -> Self {
        metrics::gauge!(WRITABLE_GAUGE).set(1.0);
        Self {
            writable: AtomicBool::new(true),
            reason: Mutex::new(None),
        }
    }
}

/// Why the store is not writable, as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotWritable {
    pub cause: Unavailable,
    pub detail: String,
}

impl Store {
    /// `None` while writes succeed; the cause of the last failure otherwise.
    pub fn write_state(&self) -> Option<NotWritable> {
        if self.health.writable.load(Ordering::Acquire) {
            return None;
        }
        let reason = self
            .health
            .reason
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        reason.map(|(cause, detail)| NotWritable { cause, detail })
    }

    /// Records the outcome of a write: a [`StoreError::Unavailable`] marks the store
    /// unwritable (logged at error level on the change, counted every time); other errors
    /// say nothing about the database's ability to write and are ignored.
    pub fn note_write_error(&self, e: &StoreError) {
        if let StoreError::Unavailable { cause, detail } = e {
            self.note_unavailable(*cause, detail);
        }
    }

    /// Marks the store unwritable for `cause` (see [`Store::note_write_error`]).
    pub fn note_unavailable(&self, cause: Unavailable, detail: &str) {
        metrics::counter!(WRITE_FAILURES, "cause" => cause.as_str()).increment(1);
        let was = self.health.writable.swap(false, Ordering::AcqRel);
        if let Ok(mut r) = self.health.reason.lock() {
            *r = Some((cause, detail.to_string()));
        }
        metrics::gauge!(WRITABLE_GAUGE).set(0.0);
        if was {
            tracing::error!(
                cause = cause.as_str(),
                error = %detail,
                "the database cannot store writes: {}; writes are refused with 503 until it recovers",
                cause.describe()
            );
        }
    }

    /// Records a committed write: the store is writable (logged when it was not).
    pub fn note_write_ok(&self) {
        if self.health.writable.load(Ordering::Acquire) {
            return;
        }
        if !self.health.writable.swap(true, Ordering::AcqRel) {
            if let Ok(mut r) = self.health.reason.lock() {
                *r = None;
            }
            metrics::gauge!(WRITABLE_GAUGE).set(1.0);
            tracing::warn!("the database stores writes again");
        }
    }

    /// Passes `r` through after noting an unavailable database in the write state.
    pub fn noted<T>(&self, r: Result<T>) -> Result<T> {
        match &r {
            Ok(_) => {}
            Err(e) => self.note_write_error(e),
        }
        r
    }

    /// One small durable write that needs what any write needs (space for the log, a
    /// writable file, a reachable primary server), recorded in the write state.
    pub async fn probe_write(&self) -> Result<()> {
        let r = self.probe_write_inner().await;
        match &r {
            Ok(()) => self.note_write_ok(),
            Err(e) => self.note_write_error(e),
        }
        r
    }

    async fn probe_write_inner(&self) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        match self.backend() {
            // Rewrites the header's application field with the value it has: one page
            // through the WAL and an fsync, no table of its own, nothing changed.
            Backend::Sqlite => {
                let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA user_version = {version}"
                )))
                .execute(&mut *tx)
                .await?;
            }
            // A transaction id is only given to a primary that can write its log.
            Backend::Postgres => {
                sqlx::query("SELECT CAST(txid_current() AS BIGINT)")
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Starts the task that probes an unwritable store every `every` until a write
    /// succeeds again, so the server recovers by itself when the disk has space again or
    /// the database server is back, even if no client writes meanwhile. Idle (one atomic
    /// load per tick) while the store is writable.
    pub fn spawn_write_probe(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if store.write_state().is_none() {
                    continue;
                }
                let span = tracing::debug_span!("job", name = "store_write_probe");
                if let Err(e) = store.probe_write().instrument(span).await {
                    tracing::debug!(error = %e, "the database still cannot store writes");
                }
            }
        })
    }
}
