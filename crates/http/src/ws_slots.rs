//! How many WebSockets one credential and one client address hold open.
//!
//! Why: a socket costs a task, buffers and a hub subscription for as long as it lives, and
//! nothing else bounds how many a single pubsub token (which the widget exposes to the
//! page), agent or address opens. Admission happens before the upgrade, so a refused
//! client gets a plain `429 too_many_sockets` answer; the slot is given back when the
//! socket's task ends (its guard is dropped).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;

use crate::error::ApiError;

/// Open sockets per key, with their caps.
pub struct SocketSlots {
    per_credential: usize,
    per_address: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// A socket's places in the table, given back on drop.
pub struct SocketSlot {
    slots: Arc<SocketSlots>,
    keys: Vec<String>,
}

impl SocketSlots {
    /// `per_credential` sockets per credential, `per_address` per client address (0 =
    /// unlimited).
    pub fn new(per_credential: usize, per_address: usize) -> Self {
        Self {
            per_credential,
            per_address,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a place for a socket of `credential` (e.g. `visitor:<contact_inbox_id>` or
    /// `agent:<user_id>`) from `address`, or refuses with 429.
    pub fn admit(
        self: &Arc<Self>,
        credential: String,
        address: &str,
    ) -> Result<SocketSlot, ApiError> {
        let refused = || {
            metrics::counter!("parley_ws_refused_total").increment(1);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_sockets",
                "too many WebSockets are open for this credential or address; close one first",
            )
            .retry_after(5)
        };
        let mut open = self.open.lock().map_err(|_| refused())?;
        let mut keys = vec![(credential, self.per_credential)];
        if self.per_address > 0 {
            keys.push((format!("addr:{address}"), self.per_address));
        }
        if keys
            .iter()
            .any(|(k, cap)| open.get(k).is_some_and(|n| n >= cap))
        {
            return Err(refused());
        }
        for (k, _) in &keys {
            *open.entry(k.clone()).or_insert(0) += 1;
        }
        Ok(SocketSlot {
            slots: self.clone(),
            keys: keys.into_iter().map(|(k, _)| k).collect(),
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            for k in &self.keys {
                if let Some(n) = open.get_mut(k) {
                    *n -= 1;
                    if *n == 0 {
                        open.remove(k);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_credential_and_address_and_gives_back() {
        let s = Arc::new(SocketSlots::new(2, 3));
        let a = s.admit("v:1".into(), "1.1.1.1").unwrap();
        let _b = s.admit("v:1".into(), "1.1.1.1").unwrap();
        assert!(s.admit("v:1".into(), "2.2.2.2").is_err(), "credential cap");
        let _c = s.admit("v:2".into(), "1.1.1.1").unwrap();
        assert!(s.admit("v:3".into(), "1.1.1.1").is_err(), "address cap");
        drop(a);
        assert!(s.admit("v:1".into(), "2.2.2.2").is_ok());
    }
}
