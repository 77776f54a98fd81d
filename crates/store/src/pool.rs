use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor};

use parley_core::time::{SharedClock, system_clock};

use crate::Result;

/// The longest a health check waits for the database (see [`Store::ping`]).
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Which database is behind the store. Decides migrations, connection settings and the
/// few SQL clauses that are not portable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a connection (the writer's transactions only know their connection).
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Connection settings that are not part of the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections for reads (and, on PostgreSQL, writes).
    pub max_connections: u32,
    /// Source of "now" for every timestamp the store writes; the wall clock except in
    /// tests that move time by hand.
    pub clock: SharedClock,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            clock: system_clock(),
        }
    }
}

/// The database handle shared by every service.
///
/// On SQLite all writes go through one connection (`write`), which serialises writers
/// in-process instead of letting them collide on the file lock, while reads use a pool
/// of WAL readers. On PostgreSQL both handles are the same pool, and the message writer's
/// lanes have connections of their own ([`Store::lanes_pool`]).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    clock: SharedClock,
    /// Read round trips so far (see [`Store::reads`]).
    reads: Arc<AtomicU64>,
    /// Whether the database takes writes (see [`crate::health`]).
    pub(crate) health: Arc<crate::health::WriteHealth>,
    /// How report facts measure working time (see [`crate::reports`]).
    pub(crate) working_time: crate::reports::WorkingTimeSlot,
    /// How reports choose between rollups and facts (see [`crate::report_queries`]).
    pub(crate) report_tuning: Arc<crate::report_queries::ReportTuning>,
    /// Where the archive search switches plans (see [`crate::search`]).
    pub(crate) search_tuning: Arc<crate::search::SearchTuning>,
    /// How many group-commit writers of messages run side by side (see
    /// [`crate::messages::MessageWriter`]).
    write_lanes: usize,
    /// Where the message writer's lanes connect on PostgreSQL (see [`Store::lanes_pool`]).
    lanes_url: Option<Redacted>,
}

/// A database URL kept for later connections, never printed: it may hold a password.
#[derive(Clone)]
struct Redacted(Arc<str>);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<database url>")
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating the SQLite file if
    /// needed. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str, opts: StoreOptions) -> Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(crate::StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database URL scheme in {url:?}; use sqlite:// or postgres://")
                    .into(),
            )));
        };
        match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url);
                check_sqlite(&url).await?;
                let write = sqlite_pool(&url, 1).await?;
                let read = sqlite_pool(&url, opts.max_connections.max(1)).await?;
                Ok(Store {
                    backend,
                    read,
                    write,
                    clock: opts.clock,
                    reads: Arc::default(),
                    health: Arc::default(),
                    working_time: Default::default(),
                    report_tuning: Arc::default(),
                    search_tuning: Arc::default(),
                    write_lanes: 1,
                    lanes_url: None,
                })
            }
            Backend::Postgres => {
                let lanes = postgres_write_lanes(opts.max_connections);
                let shared = (opts.max_connections as usize).saturating_sub(lanes).max(2);
                let pool = postgres_pool_options(shared as u32).connect(url).await?;
                Ok(Store {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    clock: opts.clock,
                    reads: Arc::default(),
                    health: Arc::default(),
                    working_time: Default::default(),
                    report_tuning: Arc::default(),
                    search_tuning: Arc::default(),
                    write_lanes: lanes,
                    lanes_url: Some(Redacted(url.into())),
                })
            }
        }
    }

    /// Applies the migrations of this backend. Safe to run on every start.
    /// A database that cannot be written fails as [`crate::StoreError::Unavailable`], with
    /// its cause, like any other write.
    pub async fn migrate(&self) -> Result<()> {
        let run = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.write).await,
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await
            }
        };
        match run {
            Ok(()) => Ok(()),
            Err(
                sqlx::migrate::MigrateError::Execute(inner)
                | sqlx::migrate::MigrateError::ExecuteMigration(inner, _),
            ) => Err(match crate::StoreError::from(inner) {
                e @ crate::StoreError::Unavailable { .. } => e,
                crate::StoreError::Database(inner) => {
                    sqlx::migrate::MigrateError::Execute(inner).into()
                }
                other => other,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Current time in epoch milliseconds, from the store's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The clock the store (and every service built on it) reads time from.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many group-commit writers of messages run side by side: one on SQLite (one
    /// writer connection), several on PostgreSQL.
    pub fn write_lanes(&self) -> usize {
        self.write_lanes
    }

    /// A cheap round trip for health checks, bounded by [`PING_TIMEOUT`].
    ///
    /// Why bounded and recorded: while a PostgreSQL server restarts or fails over, new
    /// connections are refused and the pool keeps retrying until its acquire timeout
    /// (10 s), so an unbounded ping would hold `/healthz` that long and a load balancer
    /// would learn nothing sooner. A ping that finds the database unreachable also marks
    /// the store unwritable (see [`crate::health`]), so `/healthz` names the cause and the
    /// write probe brings the store back as soon as the server answers again.
    pub async fn ping(&self) -> Result<()> {
        let r =
            match tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.read))
                .await
            {
                Ok(r) => r.map(|_| ()).map_err(crate::StoreError::from),
                Err(_) => Err(crate::StoreError::Unavailable {
                    cause: crate::error::Unavailable::Unreachable,
                    detail: format!(
                        "the database did not answer a health check within {} ms",
                        PING_TIMEOUT.as_millis()
                    ),
                }),
            };
        if let Err(e) = &r {
            self.note_write_error(e);
        }
        r
    }

    /// Pool for reads. Every read statement takes the pool from here, so each call counts
    /// one read round trip (a few methods run two statements on one acquired connection
    /// and count one).
    pub fn reader(&self) -> &AnyPool {
        self.reads.fetch_add(1, Ordering::Relaxed);
        &self.read
    }

    /// The read pool without counting: for background workers that poll for work several
    /// times a second whether or not there is any (the webhook worker), which would
    /// otherwise drown the per-request count in their own noise.
    pub(crate) fn poll_reader(&self) -> &AnyPool {
        &self.read
    }

    /// Read round trips since start: the `parley_store_reads_total` metric, and how the
    /// benchmark checks that a list page costs a fixed number of queries (no N+1).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Pool for writes (a single connection on SQLite).
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// The pool the message writer's lanes write through.
    ///
    /// On PostgreSQL it is a pool of their own (one connection per lane, taken from
    /// `db_max_connections`), connected lazily by whoever first uses it. Why: a socket
    /// belongs to the I/O driver of the runtime that opened it, and the lanes run on a
    /// thread of their own ([`crate::messages::MessageWriter`]); opened there, each answer
    /// of the database wakes a lane at once instead of waiting for the busy shared runtime
    /// to poll its driver. On SQLite it is the one writer connection.
    pub(crate) fn lanes_pool(&self) -> Result<AnyPool> {
        match &self.lanes_url {
            Some(Redacted(url)) => {
                Ok(postgres_pool_options(self.write_lanes as u32).connect_lazy(url)?)
            }
            None => Ok(self.write.clone()),
        }
    }

    /// Closes both pools, waiting for connections to finish.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// A PostgreSQL pool of at most `max` connections, each set up for Parley's statements.
fn postgres_pool_options(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_release(|conn, _| Box::pin(release_clean(conn)))
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET synchronous_commit = on").await?;
                // No JIT: Parley's statements are short reads and writes, and PostgreSQL
                // decides to compile from cost estimates, which a walk bounded by LIMIT
                // inflates. The conversation search's tab counts over a common word spent
                // 1.6 s compiling for a 0.4 s run (docs/benchmarks.md, session 15).
                conn.execute("SET jit = off").await?;
                Ok(())
            })
        })
}

/// Message writer lanes on PostgreSQL for `max_connections` in all, each with a connection
/// of its own ([`Store::lanes_pool`]): two, or one below four connections. Two lanes let one
/// batch's statements run while the other's commit waits for its fsync. More lanes made
/// smaller batches, so more statements and commits for the same messages, and on the
/// reference machine (2 cores shared with PostgreSQL) that cost more than the overlap
/// gained: at 5,000 msg/s ack p99 was 25–27 ms with two lanes, 27–30 with three, 34–57
/// with four, and two saturated highest (docs/benchmarks.md, session 21).
fn postgres_write_lanes(max_connections: u32) -> usize {
    if max_connections >= 4 { 2 } else { 1 }
}

/// `sqlite://path` with `mode=rwc` so a fresh data directory just works.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Opens the SQLite database once, alone, and makes one durable write before any pool
/// exists, so a database that cannot be written (a full disk, a read-only file or
/// directory, an I/O error) fails the start at once with its own error. A pool would retry
/// such a connection until its acquire timeout and report only "pool timed out"
/// (issue 12, finding 10).
async fn check_sqlite(url: &str) -> Result<()> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let checked: Result<()> = async {
        conn.execute("PRAGMA journal_mode = WAL").await?;
        conn.execute("PRAGMA synchronous = FULL").await?;
        let mut tx = conn.begin().await?;
        // The header's application field, rewritten with the value it has: a real write
        // through the WAL, changing nothing.
        let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {version}"
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// Decides whether a connection going back to its pool may be reused: only when no
/// transaction is left open on it.
///
/// Why: when a COMMIT or a statement fails (a full disk, an I/O error), sqlx queues a
/// ROLLBACK; if SQLite had already rolled back by itself, that ROLLBACK fails too and
/// sqlx still counts the connection as inside a transaction. Its next `begin()` would then
/// only open a SAVEPOINT, and every later "commit" would only release it inside a
/// transaction that never ends — acknowledged writes that never reach the disk (issue 12,
/// finding 1). Closing such a connection (the pool opens a fresh one) resets the writer
/// for every write path at once. The ping first runs the queued rollback.
async fn release_clean(conn: &mut sqlx::AnyConnection) -> std::result::Result<bool, sqlx::Error> {
    conn.ping().await?;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    Ok(clean)
}

/// [`release_clean`] for SQLite, whose connection is a thread of this process: nothing can
/// hang up on it, so it needs no ping to prove itself. Only a transaction dropped without
/// its end leaves a rollback queued to that thread; the ping waits for it, after which the
/// connection is clean.
///
/// Why: two pings per use (one here, one before each acquire) were two round trips to the
/// connection's thread on every statement a pool served, and for the message writer two of
/// the dozen hand-offs of every batch.
async fn release_clean_sqlite(
    conn: &mut sqlx::AnyConnection,
) -> std::result::Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    release_clean(conn).await
}

async fn sqlite_pool(url: &str, max: u32) -> Result<AnyPool> {
    // Validate the URL early with a clear error instead of at first query.
    let _ = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .after_release(|conn, _| Box::pin(release_clean_sqlite(conn)))
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Durability first: FULL makes every commit survive power loss; WAL lets
                // readers run while the writer commits.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

impl Store {
    /// Creates a database with a fresh `parley_t_…` name on the PostgreSQL server of
    /// `base_url` and returns its URL and name (tests make one per case, and drop it with
    /// [`Store::drop_database_for_tests`]).
    pub async fn create_test_database(base_url: &str) -> Result<(String, String)> {
        let name = format!("parley_t_{}", crate::random_token(6));
        let admin = Store::connect(
            base_url,
            StoreOptions {
                max_connections: 1,
                ..Default::default()
            },
        )
        .await?;
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin.write)
            .await;
        admin.close().await;
        created?;
        Ok((with_database(base_url, &name), name))
    }

    /// Drops a database created by [`Store::create_test_database`], disconnecting
    /// whatever still uses it.
    pub async fn drop_database_for_tests(&self, name: &str) -> Result<()> {
        if !name.starts_with("parley_t_")
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(crate::StoreError::Corrupt(format!(
                "refusing to drop database {name:?}"
            )));
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// The URL of database `name` on the server of a PostgreSQL URL (query string kept).
fn with_database(base: &str, name: &str) -> String {
    let (before_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let scheme_end = before_query.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match before_query[scheme_end..].find('/') {
        Some(i) => &before_query[..scheme_end + i],
        None => before_query,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_swapped_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "t2"),
            "postgres://h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
