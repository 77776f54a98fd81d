//! Time as epoch milliseconds: the one representation both database backends store
//! without type conversion, converted to Chatwoot's epoch seconds only at the API edge.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current wall-clock time in epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Epoch milliseconds to the epoch seconds Chatwoot's API uses in `created_at`.
pub fn ms_to_secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// Where "now" comes from. Everything that decides by time — routing, response targets,
/// working hours, timers — asks a `Clock` instead of the system directly, so tests can
/// put the whole server on a Friday evening and move it to Monday morning without
/// sleeping, and the production server reads the wall clock through the same path.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Current time in epoch milliseconds.
    fn now_ms(&self) -> i64;
}

/// The shared handle every layer holds.
pub type SharedClock = std::sync::Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// A clock that stands still until told to move; for tests of timers and working hours.
#[derive(Debug)]
pub struct ManualClock {
    at: std::sync::atomic::AtomicI64,
}

impl ManualClock {
    /// A clock standing at `at` (epoch milliseconds).
    pub fn new(at: i64) -> Self {
        Self {
            at: std::sync::atomic::AtomicI64::new(at),
        }
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: i64) {
        self.at.store(at, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.at.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.at.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The wall clock as a shared handle.
pub fn system_clock() -> SharedClock {
    std::sync::Arc::new(SystemClock)
}
