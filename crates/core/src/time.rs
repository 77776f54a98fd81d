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
