use sqlx::error::DatabaseError;
use thiserror::Error;

/// Why a store operation failed. Unique-constraint violations are reported as
/// [`StoreError::Conflict`] so callers can answer 409/422 instead of 500, and a database
/// that cannot take writes at all as [`StoreError::Unavailable`] so they answer 503.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("conflicts with an existing record ({0})")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
    /// The database cannot store anything right now (disk full, read-only file, I/O error,
    /// PostgreSQL unreachable). Nothing of the failed operation was stored; the condition
    /// is the operator's to fix and the server recovers by itself once it is gone.
    #[error("storage unavailable ({cause}): {detail}")]
    Unavailable { cause: Unavailable, detail: String },
}

/// Why the database cannot take writes: a stable name for the `/healthz` body, the
/// `cause` label of `parley_store_write_failures_total` and the operator's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No space left on the device holding the database (SQLITE_FULL, PostgreSQL 53100).
    DiskFull,
    /// The database file or server refuses writes (SQLITE_READONLY, a PostgreSQL standby).
    ReadOnly,
    /// The operating system reported an I/O error (SQLITE_IOERR, PostgreSQL class 58).
    IoError,
    /// The database file cannot be opened (SQLITE_CANTOPEN).
    CannotOpen,
    /// The database server cannot be reached or dropped the connection.
    Unreachable,
    /// The database server is out of a resource other than disk (memory, connections).
    Exhausted,
}

impl Unavailable {
    /// The stable name (`disk_full`, `read_only`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::DiskFull => "disk_full",
            Unavailable::ReadOnly => "read_only",
            Unavailable::IoError => "io_error",
            Unavailable::CannotOpen => "cannot_open",
            Unavailable::Unreachable => "database_unreachable",
            Unavailable::Exhausted => "database_exhausted",
        }
    }

    /// What an operator should read in a log line or an error message.
    pub fn describe(self) -> &'static str {
        match self {
            Unavailable::DiskFull => "no space left on the device holding the database",
            Unavailable::ReadOnly => "the database is read-only",
            Unavailable::IoError => "the operating system reported an I/O error on the database",
            Unavailable::CannotOpen => "the database file cannot be opened",
            Unavailable::Unreachable => "the database server cannot be reached",
            Unavailable::Exhausted => "the database server is out of resources",
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StoreError {
    /// The cause when the database cannot store anything right now.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            StoreError::Unavailable { cause, .. } => Some(*cause),
            _ => None,
        }
    }

    /// A copy for each of several waiters on one failed operation (the group-commit
    /// writer's batch): the kind survives, so every sender answers alike.
    pub(crate) fn copy(&self) -> StoreError {
        match self {
            StoreError::NotFound => StoreError::NotFound,
            StoreError::Conflict(c) => StoreError::Conflict(c.clone()),
            StoreError::Unavailable { cause, detail } => StoreError::Unavailable {
                cause: *cause,
                detail: detail.clone(),
            },
            other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
        }
    }
}

/// Which failures mean "the database cannot store anything now" rather than "this
/// statement was wrong". Decided here once, so every write path answers a full disk or a
/// lost server the same way.
fn classify(e: &sqlx::Error) -> Option<Unavailable> {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            Some(Unavailable::Unreachable)
        }
        sqlx::Error::WorkerCrashed => Some(Unavailable::IoError),
        sqlx::Error::Database(db) => {
            if let Some(sq) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                let code: i64 = sq.code().and_then(|c| c.parse().ok()).unwrap_or(0);
                // The primary result code is the low byte of an extended one.
                match code & 0xff {
                    13 => Some(Unavailable::DiskFull),   // SQLITE_FULL
                    8 => Some(Unavailable::ReadOnly),    // SQLITE_READONLY
                    10 => Some(Unavailable::IoError),    // SQLITE_IOERR
                    14 => Some(Unavailable::CannotOpen), // SQLITE_CANTOPEN
                    _ => None,
                }
            } else {
                let code = db.code().unwrap_or_default();
                match code.as_ref() {
                    "53100" => Some(Unavailable::DiskFull),
                    "25006" => Some(Unavailable::ReadOnly),
                    "57P01" | "57P02" | "57P03" => Some(Unavailable::Unreachable),
                    // A new connection to a database that is closed to connections
                    // (maintenance, a failover in progress).
                    "55000" if db.message().contains("not currently accepting connections") => {
                        Some(Unavailable::Unreachable)
                    }
                    c if c.starts_with("08") => Some(Unavailable::Unreachable),
                    c if c.starts_with("58") => Some(Unavailable::IoError),
                    c if c.starts_with("53") => Some(Unavailable::Exhausted),
                    _ => None,
                }
            }
        }
        _ => None,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(cause) = classify(&e) {
            return StoreError::Unavailable {
                cause,
                detail: e.to_string(),
            };
        }
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or("unique").to_string())
            }
            _ => StoreError::Database(e),
        }
    }
}
