//! Health of this node as the operations endpoints report it.
//!
//! Kept behind the service layer so `/healthz` never talks to the store directly and so
//! later checks (the NATS link, the job queue's backlog) join in one place.

use std::time::Instant;

use parley_store::Backend;

use crate::Services;

/// Why the database cannot store writes (a full disk, a read-only file, a lost server): the
/// store's classification, named here so the layers above need not import the store.
pub use parley_store::Unavailable;
/// The store's write state as `/healthz` reports it.
pub use parley_store::health::NotWritable;

/// What a health check found.
#[derive(Debug, Clone)]
pub struct Health {
    /// The database answered a trivial query.
    pub database_ok: bool,
    /// Which database is behind the store.
    pub backend: &'static str,
    /// How long the database took to answer, in milliseconds.
    pub database_latency_ms: f64,
    /// The error, when the database did not answer (for logs, not for the response body).
    pub error: Option<String>,
    /// Why the database cannot store writes, when the last write (or the probe) failed for
    /// a cause the operator must fix: a full disk, a read-only file, a lost server.
    pub not_writable: Option<parley_store::health::NotWritable>,
}

impl Health {
    /// True when every check passed: the database answers and takes writes.
    pub fn ok(&self) -> bool {
        self.database_ok && self.not_writable.is_none()
    }
}

impl Services {
    /// Checks that the database answers. Cheap enough to be polled every few seconds.
    pub async fn health(&self) -> Health {
        let start = Instant::now();
        let result = self.store.ping().await;
        let database_latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        Health {
            database_ok: result.is_ok(),
            backend: match self.store.backend() {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            },
            database_latency_ms,
            error: result.err().map(|e| e.to_string()),
            not_writable: self.store.write_state(),
        }
    }
}
