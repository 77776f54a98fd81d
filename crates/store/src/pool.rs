use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use parley_core::time::{SharedClock, system_clock};

use crate::Result;

/// Which database is behind the store. Decides migrations, connection settings and the
/// few SQL clauses that are not portable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
/// of WAL readers. On PostgreSQL both handles are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    clock: SharedClock,
    /// Read round trips so far (see [`Store::reads`]).
    reads: Arc<AtomicU64>,
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
                let write = sqlite_pool(&url, 1).await?;
                let read = sqlite_pool(&url, opts.max_connections.max(1)).await?;
                Ok(Store {
                    backend,
                    read,
                    write,
                    clock: opts.clock,
                    reads: Arc::default(),
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET synchronous_commit = on").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                Ok(Store {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    clock: opts.clock,
                    reads: Arc::default(),
                })
            }
        }
    }

    /// Applies the migrations of this backend. Safe to run on every start.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write)
                    .await?
            }
        }
        Ok(())
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

    /// A cheap round trip for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Pool for reads. Every read statement takes the pool from here, so each call counts
    /// one read round trip (a few methods run two statements on one acquired connection
    /// and count one).
    pub fn reader(&self) -> &AnyPool {
        self.reads.fetch_add(1, Ordering::Relaxed);
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

    /// Closes both pools, waiting for connections to finish.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
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

async fn sqlite_pool(url: &str, max: u32) -> Result<AnyPool> {
    // Validate the URL early with a clear error instead of at first query.
    let _ = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
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
