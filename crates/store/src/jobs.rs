//! The durable job queue: timers and background work that must survive a restart and run
//! once even when several nodes share the database (response-target deadlines,
//! re-assignment, presence grace periods, e-mail sending).
//!
//! A job has a unique `key` ("sla:42"), so scheduling again replaces the pending timer
//! instead of piling up copies. Claiming sets a lease (`locked_until`); a node that dies
//! mid-job leaves a lease that simply expires, and another node takes the job over. On
//! PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other;
//! on SQLite every write already goes through the one writer connection.

use sqlx::FromRow;

use crate::{Backend, Result, Store};

/// A job as claimed by a runner.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub account_id: Option<i64>,
    pub payload: String,
    pub run_at: i64,
    pub version: i64,
    pub attempts: i64,
}

/// How [`Store::schedule_job`] treats a job that is already pending under the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Replace its time and payload (a moved deadline).
    Replace,
    /// Keep its time and payload (a digest that is already due at the top of the hour).
    Keep,
    /// Leave the pending job exactly as it is, version included: a job that exists once per
    /// cause (an automation rule's match on one event) and must not run a second time
    /// because its cause was seen again while it ran.
    Ignore,
    /// Run (once more) for a new cause, whatever the payload: a job queued and not yet
    /// started stays one job (due at the sooner of the two times, its give-up count reset);
    /// a job that is running runs once more after it finishes (its version moves, so
    /// [`Store::finish_job`] releases it instead of deleting it). Work that reads its
    /// causes from the database when it runs (the bot's turn in a conversation) coalesces
    /// this way and never misses one.
    Again,
}

/// Which jobs a runner claims. Deliveries to outside providers (a bot API that answers in
/// 30 s when it is down) have their own lane, so they never hold up the timers (reply
/// targets, re-assignment, presence) due at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Every kind.
    All,
    /// Only jobs of this kind.
    Only(&'static str),
    /// Every kind but this one.
    Except(&'static str),
}

/// A job to schedule.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub account_id: Option<i64>,
    pub payload: String,
    pub run_at: i64,
}

const JOB_COLS: &str = "id, key, kind, account_id, payload, run_at, version, attempts";

/// Schedules `job` on `conn`, inside the transaction of what it belongs to when there is one
/// (a message stored as waiting always has the job that delivers it), so every writer of
/// the queue goes through one statement.
pub(crate) async fn insert_job_in(
    conn: &mut sqlx::AnyConnection,
    job: &NewJob<'_>,
    on_existing: OnExisting,
    now: i64,
) -> Result<()> {
    let on_conflict = match on_existing {
        OnExisting::Replace => {
            "DO UPDATE SET run_at = excluded.run_at, payload = excluded.payload, \
             kind = excluded.kind, attempts = 0, last_error = NULL, version = jobs.version + 1"
        }
        OnExisting::Keep => "DO UPDATE SET version = jobs.version + 1",
        OnExisting::Ignore => "DO NOTHING",
        OnExisting::Again => {
            "DO UPDATE SET version = jobs.version + 1, attempts = 0, \
             run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at \
                           ELSE jobs.run_at END"
        }
    };
    let sql = format!(
        "INSERT INTO jobs (key, kind, account_id, payload, run_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) {on_conflict}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(job.key.to_string())
        .bind(job.kind.to_string())
        .bind(job.account_id)
        .bind(job.payload.clone())
        .bind(job.run_at)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Schedules (or reschedules) a job under its key.
    pub async fn schedule_job(&self, job: &NewJob<'_>, on_existing: OnExisting) -> Result<()> {
        let mut conn = self.writer().acquire().await?;
        insert_job_in(&mut conn, job, on_existing, self.now()).await
    }

    /// Removes a pending job (a deadline that no longer applies). Missing is fine.
    pub async fn cancel_job(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM jobs WHERE key = $1")
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Claims up to `limit` jobs due at `now`, leasing them to `node` for `lease_ms`.
    pub async fn claim_jobs(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>> {
        self.claim_jobs_in(Lane::All, node, now, lease_ms, limit)
            .await
    }

    /// Claims up to `limit` due jobs of one lane, leasing them to `node` for `lease_ms`.
    pub async fn claim_jobs_in(
        &self,
        lane: Lane,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<JobRow>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let (kind_filter, kind) = match lane {
            Lane::All => ("", ""),
            Lane::Only(k) => ("AND kind = $5", k),
            Lane::Except(k) => ("AND kind <> $5", k),
        };
        let sql = format!(
            "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM jobs
                          WHERE run_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
                          {kind_filter}
                          ORDER BY run_at LIMIT $4 {lock})
             RETURNING {JOB_COLS}"
        );
        let mut q = sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(now.saturating_add(lease_ms))
            .bind(node)
            .bind(now)
            .bind(limit);
        if lane != Lane::All {
            q = q.bind(kind);
        }
        let mut rows = q.fetch_all(self.writer()).await?;
        rows.sort_by_key(|r| (r.run_at, r.id));
        Ok(rows)
    }

    /// Finishes a claimed job: deletes it, unless it was rescheduled while it ran (then the
    /// new version stays and runs at its own time).
    pub async fn finish_job(&self, job: &JobRow) -> Result<()> {
        let r = sqlx::query("DELETE FROM jobs WHERE id = $1 AND version = $2")
            .bind(job.id)
            .bind(job.version)
            .execute(self.writer())
            .await?;
        if r.rows_affected() == 0 {
            sqlx::query("UPDATE jobs SET locked_until = NULL, locked_by = NULL WHERE id = $1")
                .bind(job.id)
                .execute(self.writer())
                .await?;
        }
        Ok(())
    }

    /// Puts a failed job back for another try at `retry_at`, keeping the error for operators.
    pub async fn retry_job(&self, job: &JobRow, retry_at: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = CASE WHEN version = $2 THEN $3 ELSE run_at END,
                locked_until = NULL, locked_by = NULL, last_error = $4
             WHERE id = $1",
        )
        .bind(job.id)
        .bind(job.version)
        .bind(retry_at)
        .bind(error.chars().take(1000).collect::<String>())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The earliest time any job is due, for the runner's sleep.
    pub async fn next_job_at(&self) -> Result<Option<i64>> {
        let (at,): (Option<i64>,) = sqlx::query_as("SELECT MIN(run_at) FROM jobs")
            .fetch_one(self.reader())
            .await?;
        Ok(at)
    }

    /// Pending jobs of one kind (operations and tests).
    pub async fn pending_jobs(&self, kind: &str) -> Result<Vec<JobRow>> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE kind = $1 ORDER BY run_at, id");
        Ok(sqlx::query_as::<_, JobRow>(sqlx::AssertSqlSafe(sql))
            .bind(kind)
            .fetch_all(self.reader())
            .await?)
    }
}
