//! The job runner: every node runs one; it claims due jobs from the shared table and runs
//! them, so each timer fires once across the cluster and still fires after a restart.

use std::time::Duration;

use parley_store::jobs::{JobRow, Lane, NewJob, OnExisting};
use serde_json::Value;
use tracing::Instrument;

use crate::mail::Email;
use crate::{Result, ServiceError, Services};

/// How long a claimed job is reserved for its node; a node that dies mid-job releases it
/// by letting the lease run out.
const LEASE_MS: i64 = 5 * 60_000;
/// Jobs claimed per round.
const BATCH: i64 = 32;
/// Attempts before a failing job is given up (logged with its last error).
const MAX_ATTEMPTS: i64 = 12;

/// Work that runs every so often, as one durable job per kind: once across the cluster (the
/// node that claims it runs it), and again after a restart. A failed run is logged and the
/// next one comes at its usual time; periodic work is never given up.
struct Periodic {
    kind: &'static str,
    every_ms: i64,
}

const PERIODIC: &[Periodic] = &[
    // Presence of agents on dead nodes, queues freed by inactivity.
    Periodic {
        kind: "sweep",
        every_ms: 15_000,
    },
    // Snoozed conversations whose time has come.
    Periodic {
        kind: "reopen_snoozed",
        every_ms: 30_000,
    },
    // The archive search index: rows stored before it existed, in batches.
    Periodic {
        kind: "search_reindex",
        every_ms: 1_000,
    },
    // Report facts of conversations older than the facts table, in batches.
    Periodic {
        kind: "reports_backfill",
        every_ms: 1_000,
    },
    // Stored events older than `event_retention_ms`.
    Periodic {
        kind: "prune_events",
        every_ms: 3_600_000,
    },
];

/// What a job's run asks of the runner, besides an error (retried with backoff).
pub(crate) enum JobOutcome {
    /// Finished: the job is removed.
    Done,
    /// Run again at `at` (ms), e.g. after a provider's `retry_after`; `reason` is kept as
    /// the job's last error.
    RetryAt { at: i64, reason: String },
}

fn periodic(kind: &str) -> Option<&'static Periodic> {
    PERIODIC.iter().find(|p| p.kind == kind)
}

fn field(payload: &Value, name: &str) -> Result<i64> {
    payload
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| ServiceError::Internal(format!("job payload lacks {name}")))
}

impl Services {
    /// Starts this node's job runner, polling at least every `poll`; also keeps this
    /// node's presence rows fresh.
    pub fn spawn_job_runner(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        tokio::spawn(async move {
            // Every node makes sure each periodic job exists; the first one to start
            // creates it, the others keep its time.
            for p in PERIODIC {
                let job = NewJob {
                    key: p.kind,
                    kind: p.kind,
                    account_id: None,
                    payload: "{}".into(),
                    run_at: svc.store.now(),
                };
                if let Err(e) = svc.store.schedule_job(&job, OnExisting::Keep).await {
                    tracing::warn!(kind = p.kind, error = %e, "scheduling periodic work failed");
                }
            }
            // Two lanes: deliveries to outside providers never hold up the timers.
            let deliver = parley_store::channels::DELIVER_JOB;
            tokio::join!(
                svc.job_loop(Lane::Except(deliver), poll, true),
                svc.job_loop(Lane::Only(deliver), poll, false),
            );
        })
    }

    /// Claims and runs one lane's due jobs until the task is aborted; the timer lane also
    /// keeps this node's presence rows fresh.
    async fn job_loop(&self, lane: Lane, poll: Duration, heartbeat: bool) {
        let mut last_heartbeat = std::time::Instant::now();
        loop {
            if heartbeat && last_heartbeat.elapsed() >= Duration::from_secs(20) {
                last_heartbeat = std::time::Instant::now();
                if let Err(e) = self.store.presence_heartbeat(&self.node_id).await {
                    tracing::warn!(error = %e, "presence heartbeat failed");
                }
            }
            let n = match self.run_due_jobs_in(lane).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    0
                }
            };
            if n < BATCH as usize {
                tokio::time::sleep(poll).await;
            }
        }
    }

    /// Claims and runs the jobs due now, of every kind; returns how many ran.
    pub async fn run_due_jobs(&self) -> Result<usize> {
        self.run_due_jobs_in(Lane::All).await
    }

    /// Claims and runs one lane's jobs due now; returns how many ran.
    async fn run_due_jobs_in(&self, lane: Lane) -> Result<usize> {
        let now = self.store.now();
        let jobs = self
            .store
            .claim_jobs_in(lane, &self.node_id, now, LEASE_MS, BATCH)
            .await?;
        let n = jobs.len();
        for job in jobs {
            let span = tracing::info_span!("job", name = %job.kind, key = %job.key, attempt = job.attempts);
            metrics::counter!("parley_jobs_run_total", "kind" => job.kind.clone()).increment(1);
            let outcome = if job.kind == parley_store::channels::DELIVER_JOB {
                self.run_delivery(&job).instrument(span).await
            } else {
                self.run_job(&job)
                    .instrument(span)
                    .await
                    .map(|()| JobOutcome::Done)
            };
            self.settle(&job, outcome).await?;
        }
        Ok(n)
    }

    /// Records what became of a claimed job: the one place that finishes, retries,
    /// reschedules or gives up jobs, whatever their kind.
    async fn settle(&self, job: &JobRow, outcome: Result<JobOutcome>) -> Result<()> {
        if let Some(p) = periodic(&job.kind) {
            if let Err(e) = &outcome {
                tracing::warn!(kind = p.kind, error = %e, "periodic work failed; runs again at its next time");
            }
            self.store
                .schedule_job(
                    &NewJob {
                        key: &job.key,
                        kind: p.kind,
                        account_id: None,
                        payload: "{}".into(),
                        run_at: self.store.now() + p.every_ms,
                    },
                    OnExisting::Replace,
                )
                .await?;
            // The job's version moved on, so this only releases the lease.
            self.store.finish_job(job).await?;
            return Ok(());
        }
        match outcome {
            Ok(JobOutcome::Done) => self.store.finish_job(job).await?,
            Ok(JobOutcome::RetryAt { at, reason }) => {
                self.store.retry_job(job, at, &reason).await?;
            }
            // A delivery is never given up on an error of Parley's own (the database, a
            // missing row): its message would stay `progress` for good. The provider's
            // failures come back as outcomes above.
            Err(e) if job.kind == parley_store::channels::DELIVER_JOB => {
                tracing::warn!(key = %job.key, error = %e, "delivery job failed; will retry");
                let at = self.store.now() + 10_000;
                self.store.retry_job(job, at, &e.to_string()).await?;
            }
            Err(e) if job.attempts >= MAX_ATTEMPTS || is_permanent(&e) => {
                tracing::error!(key = %job.key, error = %e, "job failed for good");
                metrics::counter!("parley_jobs_failed_total", "kind" => job.kind.clone())
                    .increment(1);
                self.store.finish_job(job).await?;
            }
            Err(e) => {
                let backoff = 10_000i64.saturating_mul(1 << job.attempts.clamp(0, 8));
                tracing::warn!(key = %job.key, error = %e, "job failed; will retry");
                self.store
                    .retry_job(
                        job,
                        self.store.now() + backoff.min(3_600_000),
                        &e.to_string(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn run_job(&self, job: &JobRow) -> Result<()> {
        let payload: Value = serde_json::from_str(&job.payload)
            .map_err(|e| ServiceError::Internal(format!("bad job payload: {e}")))?;
        match job.kind.as_str() {
            "sla" => {
                self.sla_due(
                    field(&payload, "conversation_id")?,
                    field(&payload, "due_at")?,
                )
                .await
            }
            "reassign" => {
                self.reassign_if_silent(
                    field(&payload, "conversation_id")?,
                    field(&payload, "assigned_at")?,
                )
                .await
            }
            "presence" => {
                self.refresh_presence(field(&payload, "account_id")?, field(&payload, "user_id")?)
                    .await
            }
            // `automation::AUTOMATION_JOB` (named here: jobs sit below the use cases).
            "automation" => self.run_automation_job(&payload).await,
            // `agent_bots::BOT_JOB`.
            "agent_bot" => self.run_bot_job(&payload).await,
            "offhours_digest" => {
                self.offhours_digest(
                    field(&payload, "account_id")?,
                    field(&payload, "inbox_id")?,
                    field(&payload, "since")?,
                )
                .await
            }
            "mail" => {
                let strings = |k: &str| -> Vec<String> {
                    payload
                        .get(k)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let text = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
                let email = Email {
                    to: strings("to"),
                    subject: text("subject").unwrap_or_default(),
                    text: text("text").unwrap_or_default(),
                    html: text("html"),
                    reply_to: text("reply_to"),
                };
                if !self.mailer.is_configured() {
                    tracing::warn!(to = ?email.to, "e-mail dropped: no smtp_url is configured");
                    return Ok(());
                }
                self.mailer.send(email).await.map_err(|e| {
                    if e.is_permanent() {
                        ServiceError::Invalid(parley_core::validate::FieldError::new(
                            "email",
                            e.to_string(),
                        ))
                    } else {
                        ServiceError::Internal(e.to_string())
                    }
                })
            }
            "unseen_reply" => {
                self.mail_unseen_replies(
                    field(&payload, "conversation_id")?,
                    field(&payload, "since")?,
                )
                .await
            }
            "sweep" => self.sweep().await,
            "search_reindex" => self.reindex_search().await,
            "reports_backfill" => self.backfill_reports().await,
            "reopen_snoozed" => match self.reopen_due_snoozed().await? {
                0 => Ok(()),
                n => {
                    tracing::info!(reopened = n, "reopened snoozed conversations");
                    Ok(())
                }
            },
            "prune_events" => {
                let before = self.store.now() - self.config.event_retention_ms;
                match self.store.prune_events(before).await? {
                    0 => Ok(()),
                    n => {
                        tracing::info!(deleted = n, "pruned old events");
                        Ok(())
                    }
                }
            }
            other => {
                tracing::warn!(kind = other, "unknown job kind; dropped");
                Ok(())
            }
        }
    }

    /// The periodic sweep: re-checks presence (agents of a node that died) and drains
    /// queues (capacity freed by customers going quiet).
    async fn sweep(&self) -> Result<()> {
        for (account_id, user_id) in self.store.present_agents().await? {
            self.refresh_presence(account_id, user_id).await?;
        }
        for account_id in self.store.accounts_with_queues().await? {
            self.drain_queues(account_id).await?;
        }
        Ok(())
    }
}

/// Failures that another attempt cannot fix.
fn is_permanent(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Invalid(_) | ServiceError::NotFound(_))
}
