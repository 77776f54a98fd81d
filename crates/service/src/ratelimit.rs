//! A small fixed-window rate limiter kept in memory, for credential guessing (login) and
//! abuse of public endpoints. Per node: behind several nodes an attacker gets N times the
//! budget, which is still bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `max` events per key per `window`.
pub struct RateLimiter {
    max: u32,
    window: Duration,
    slots: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// True while `key` is still within its budget (does not count an event).
    pub fn allowed(&self, key: &str) -> bool {
        let Ok(slots) = self.slots.lock() else {
            return true;
        };
        match slots.get(key) {
            Some((start, n)) => start.elapsed() >= self.window || *n < self.max,
            None => true,
        }
    }

    /// Counts one event for `key`.
    pub fn hit(&self, key: &str) {
        let Ok(mut slots) = self.slots.lock() else {
            return;
        };
        if slots.len() > 100_000 {
            // Bound memory: forget expired windows.
            let window = self.window;
            slots.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let slot = slots.entry(key.to_string()).or_insert((now, 0));
        if slot.0.elapsed() >= self.window {
            *slot = (now, 0);
        }
        slot.1 += 1;
    }

    /// Counts one event for `key`, or refuses it when the budget is spent, saying when the
    /// budget renews.
    pub fn take(&self, key: &str) -> Result<(), crate::ServiceError> {
        if !self.allowed(key) {
            return Err(crate::ServiceError::RetryAfter {
                retry_after_secs: self.retry_after(key).as_secs().max(1),
            });
        }
        self.hit(key);
        Ok(())
    }

    /// How long until `key`'s window ends (rounded up to whole seconds; zero when it has
    /// budget now).
    pub fn retry_after(&self, key: &str) -> Duration {
        let Ok(slots) = self.slots.lock() else {
            return Duration::ZERO;
        };
        match slots.get(key) {
            Some((start, _)) => {
                let left = self.window.saturating_sub(start.elapsed());
                Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            }
            None => Duration::ZERO,
        }
    }

    /// Forgets `key` (after a successful login).
    pub fn reset(&self, key: &str) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_and_resets() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        assert!(rl.allowed("a"));
        rl.hit("a");
        rl.hit("a");
        assert!(!rl.allowed("a"));
        assert!(rl.allowed("b"));
        rl.reset("a");
        assert!(rl.allowed("a"));
        let t = RateLimiter::new(1, Duration::from_secs(60));
        assert!(t.take("k").is_ok());
        assert!(matches!(
            t.take("k"),
            Err(crate::ServiceError::RetryAfter { retry_after_secs }) if (1..=60).contains(&retry_after_secs)
        ));
        let short = RateLimiter::new(1, Duration::from_millis(0));
        short.hit("x");
        assert!(short.allowed("x"), "an expired window allows again");
    }
}
