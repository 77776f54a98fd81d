//! Who may try a password now: the sign-in limiter.
//!
//! Why this shape:
//! - An attempt is *reserved* under one lock before anything else (no database lookup, no
//!   hashing), so 200 concurrent wrong passwords are judged against the limit exactly
//!   (checking first and counting after the hash let 91 through a limit of 10), and a
//!   refusal costs a hash-map lookup: a flood is refused cheaply.
//! - The attacker is slowed where they are, not the account everywhere: failures are
//!   counted per (client address, e-mail) pair; after `free_failures` each further attempt
//!   from that pair must wait 1 s, 2 s, 4 s … up to `max_delay` after the previous one. The
//!   owner signing in from another address is not affected.
//! - Per client address, attempts (whatever the e-mail, and whatever became of them:
//!   refused as `busy` by a saturated hashing pool included) are limited per minute, so one
//!   address cannot spray e-mails, and a flooding address is answered `429` with
//!   `Retry-After` from its first minute on instead of queueing for a hashing slot again
//!   and again. Per e-mail, failures from all addresses together are limited per 15
//!   minutes, which bounds a distributed guess at one account.
//! - Neither of those two budgets locks the owner out: a (client address, e-mail) pair that
//!   signed in successfully within `KNOWN_PAIR_TTL` is *known* and is judged only by its
//!   own exponential delay. So an owner behind the same NAT as an attacker (an office, a
//!   mobile carrier) still signs in from where they usually do, and a botnet that spends an
//!   account's e-mail budget does not keep its owner out; guessing from a known pair's
//!   address is still slowed exponentially. Known pairs are recorded only after a correct
//!   password, so a stranger cannot grow that table.
//! - Globally, the hashing pool ([`crate::hashing`]) bounds the work whatever the counts.
//!
//! Per node and in memory, like [`crate::ratelimit`]: N nodes give an attacker N times the
//! budget, which is still bounded; a restart forgets the known pairs (their owners are
//! then judged like anyone else until they sign in again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use parley_core::time::SharedClock;

use crate::ServiceError;

/// A point in time of the limiter, from the server's clock (so tests move a manual clock
/// instead of racing the wall clock under load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Instant(i64);

impl Instant {
    /// Time from `earlier` to this one (zero if the clock went back).
    fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

/// The limiter's settings.
#[derive(Debug, Clone)]
pub struct SignInLimits {
    /// Attempts one client address may make per minute, any e-mail (0 = unlimited).
    pub attempts_per_address: u32,
    /// Failures one e-mail may collect per 15 minutes from all addresses (0 = unlimited).
    pub failures_per_email: u32,
    /// Failures a (client address, e-mail) pair may make before delays start.
    pub free_failures: u32,
    /// The longest delay between two attempts of a pair.
    pub max_delay: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            attempts_per_address: 30,
            failures_per_email: 100,
            free_failures: 5,
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
const EMAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long the `429` of a flooding address is held (see [`SignInLimiter::tarpit`]).
pub const TARPIT: Duration = Duration::from_secs(1);
/// How long a successful (address, e-mail) pair stays known: about a session's life.
pub const KNOWN_PAIR_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Entries kept before expired ones are swept (bounds memory under a spray of e-mails).
const SWEEP_AT: usize = 100_000;

#[derive(Default)]
struct State {
    /// Attempts per address in the current minute: (window start, count).
    addresses: HashMap<String, (Instant, u32)>,
    /// Failures per e-mail in the current 15 minutes: (window start, count).
    emails: HashMap<String, (Instant, u32)>,
    /// Failures per (address, e-mail): (time of the last attempt, count).
    pairs: HashMap<(String, String), (Instant, u32)>,
    /// (address, e-mail) pairs that signed in successfully: time of the last success.
    known: HashMap<(String, String), Instant>,
    /// Refusals per address by its budget in its current minute: (window start, count).
    refused: HashMap<String, (Instant, u32)>,
}

/// The sign-in limiter of one node.
pub struct SignInLimiter {
    limits: SignInLimits,
    clock: SharedClock,
    state: Mutex<State>,
}

/// An attempt allowed by [`SignInLimiter::reserve`]; report its outcome with
/// [`SignInLimiter::succeeded`] or [`SignInLimiter::not_evaluated`]. Left alone it stays
/// counted as a failure (the safe side when the request is cancelled mid-hash).
#[derive(Debug)]
#[must_use]
pub struct Reservation {
    address: String,
    email: String,
}

fn too_many(wait: Duration) -> ServiceError {
    metrics::counter!("parley_signin_refused_total").increment(1);
    ServiceError::RetryAfter {
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// Time left in a fixed window that started at `start`.
fn left(start: Instant, window: Duration, now: Instant) -> Duration {
    window.saturating_sub(now.duration_since(start))
}

impl SignInLimiter {
    pub fn new(limits: SignInLimits, clock: SharedClock) -> Self {
        Self {
            limits,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    fn now(&self) -> Instant {
        Instant(self.clock.now_ms())
    }

    /// The delay a pair with `failures` failures must leave after its last attempt.
    fn delay(&self, failures: u32) -> Duration {
        if failures < self.limits.free_failures {
            return Duration::ZERO;
        }
        let exp = (failures - self.limits.free_failures).min(20);
        Duration::from_secs(1u64 << exp).min(self.limits.max_delay)
    }

    /// Counts one attempt of `email` from `address` before its password is checked, or
    /// refuses it with the time to wait.
    pub fn reserve(&self, address: &str, email: &str) -> Result<Reservation, ServiceError> {
        let now = self.now();
        let mut st = self
            .state
            .lock()
            .map_err(|_| ServiceError::Internal("sign-in limiter poisoned".into()))?;
        if st.addresses.len() + st.emails.len() + st.pairs.len() > SWEEP_AT {
            let max_delay = self.limits.max_delay;
            st.addresses
                .retain(|_, (t, _)| now.duration_since(*t) < ADDRESS_WINDOW);
            st.emails
                .retain(|_, (t, _)| now.duration_since(*t) < EMAIL_WINDOW);
            st.pairs
                .retain(|_, (t, _)| now.duration_since(*t) < max_delay.max(EMAIL_WINDOW));
            st.known
                .retain(|_, t| now.duration_since(*t) < KNOWN_PAIR_TTL);
            st.refused
                .retain(|_, (t, _)| now.duration_since(*t) < ADDRESS_WINDOW);
        }
        let pair_key = (address.to_string(), email.to_string());
        let known = st
            .known
            .get(&pair_key)
            .is_some_and(|t| now.duration_since(*t) < KNOWN_PAIR_TTL);
        // Judge all three before counting any, so a refusal counts nothing. A known pair is
        // judged by its own delay only (see the module's documentation).
        let addr_slot = st.addresses.get(address).copied();
        if !known
            && self.limits.attempts_per_address > 0
            && let Some((start, n)) = addr_slot
            && now.duration_since(start) < ADDRESS_WINDOW
            && n >= self.limits.attempts_per_address
        {
            let refused = st.refused.entry(address.to_string()).or_insert((start, 0));
            if refused.0 != start {
                *refused = (start, 0);
            }
            refused.1 = refused.1.saturating_add(1);
            return Err(too_many(left(start, ADDRESS_WINDOW, now)));
        }
        let email_slot = st.emails.get(email).copied();
        if !known
            && self.limits.failures_per_email > 0
            && let Some((start, n)) = email_slot
            && now.duration_since(start) < EMAIL_WINDOW
            && n >= self.limits.failures_per_email
        {
            return Err(too_many(left(start, EMAIL_WINDOW, now)));
        }
        if let Some(&(last, failures)) = st.pairs.get(&pair_key) {
            let wait = self.delay(failures);
            let since = now.duration_since(last);
            if since < wait {
                return Err(too_many(wait - since));
            }
        }
        let bump = |slot: &mut (Instant, u32), window: Duration| {
            if now.duration_since(slot.0) >= window {
                *slot = (now, 0);
            }
            slot.1 += 1;
        };
        bump(
            st.addresses.entry(address.to_string()).or_insert((now, 0)),
            ADDRESS_WINDOW,
        );
        bump(
            st.emails.entry(email.to_string()).or_insert((now, 0)),
            EMAIL_WINDOW,
        );
        let pair = st.pairs.entry(pair_key).or_insert((now, 0));
        *pair = (now, pair.1 + 1);
        Ok(Reservation {
            address: address.to_string(),
            email: email.to_string(),
        })
    }

    /// How long to hold the `429` of an address that keeps sending after its budget is
    /// spent: `None` until it has been refused more times in its minute than its whole
    /// budget (no person retries a sign-in form that often), then [`TARPIT`].
    ///
    /// Why: a flood that re-sends the moment it is answered turns cheaper refusals into
    /// more requests (10,000 a second on 2 cores here), and the HTTP work of answering them
    /// is what slowed `/healthz`. Holding the answer a second costs a parked future and
    /// slows such a client to one attempt a second per connection.
    pub fn tarpit(&self, address: &str) -> Option<Duration> {
        let budget = self.limits.attempts_per_address;
        let st = self.state.lock().ok()?;
        let (start, n) = st.refused.get(address).copied()?;
        (budget > 0 && n > budget && self.now().duration_since(start) < ADDRESS_WINDOW)
            .then_some(TARPIT)
    }

    /// The password was right: the pair and the e-mail start afresh, and the pair becomes
    /// known (the address keeps its count: it bounds attempts, not failures).
    pub fn succeeded(&self, r: Reservation) {
        if let Ok(mut st) = self.state.lock() {
            let key = (r.address, r.email);
            st.pairs.remove(&key);
            st.emails.remove(&key.1);
            if st.known.len() >= SWEEP_AT {
                let now = self.now();
                st.known
                    .retain(|_, t| now.duration_since(*t) < KNOWN_PAIR_TTL);
            }
            if st.known.len() < SWEEP_AT || st.known.contains_key(&key) {
                st.known.insert(key, self.now());
            }
        }
    }

    /// The password was never checked (hashing saturated): the e-mail and the pair get
    /// the attempt back (no failure happened), the address does not. Its budget bounds
    /// what an address makes the server do, and a refused request still cost a lookup and
    /// a place in the hashing queue; keeping it counted is what turns a flood that keeps
    /// the pool saturated into immediate `429`s for the rest of the minute.
    pub fn not_evaluated(&self, r: Reservation) {
        if let Ok(mut st) = self.state.lock() {
            if let Some(slot) = st.emails.get_mut(&r.email) {
                slot.1 = slot.1.saturating_sub(1);
            }
            let key = (r.address, r.email);
            if let Some(slot) = st.pairs.get_mut(&key) {
                slot.1 = slot.1.saturating_sub(1);
                if slot.1 == 0 {
                    st.pairs.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_address: u32, per_email: u32, free: u32) -> SignInLimiter {
        SignInLimiter::new(
            SignInLimits {
                attempts_per_address: per_address,
                failures_per_email: per_email,
                free_failures: free,
                max_delay: Duration::from_secs(900),
            },
            parley_core::time::system_clock(),
        )
    }

    #[test]
    fn pair_gets_delays_other_addresses_do_not() {
        let l = limiter(0, 0, 2);
        let _a = l.reserve("1.1.1.1", "o@x").unwrap();
        let _b = l.reserve("1.1.1.1", "o@x").unwrap();
        match l.reserve("1.1.1.1", "o@x") {
            Err(ServiceError::RetryAfter { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 1)
            }
            other => panic!("expected a delay, got {other:?}"),
        }
        let owner = l.reserve("2.2.2.2", "o@x").unwrap();
        l.succeeded(owner);
    }

    #[test]
    fn address_limit_counts_every_email_and_refusals_count_nothing() {
        let l = limiter(3, 0, 100);
        for i in 0..3 {
            let _ = l.reserve("1.1.1.1", &format!("u{i}@x")).unwrap();
        }
        assert!(l.reserve("1.1.1.1", "other@x").is_err());
        assert!(l.reserve("2.2.2.2", "other@x").is_ok());
    }

    #[test]
    fn email_limit_spans_addresses_and_success_resets_it() {
        let l = limiter(0, 2, 100);
        let _ = l.reserve("1.1.1.1", "o@x").unwrap();
        let _ = l.reserve("2.2.2.2", "o@x").unwrap();
        assert!(l.reserve("3.3.3.3", "o@x").is_err());
        let l = limiter(0, 2, 100);
        let r = l.reserve("1.1.1.1", "o@x").unwrap();
        l.succeeded(r);
        let _ = l.reserve("1.1.1.1", "o@x").unwrap();
        let r = l.reserve("1.1.1.1", "o@x").unwrap();
        l.not_evaluated(r);
        assert!(l.reserve("1.1.1.1", "o@x").is_ok());
    }

    #[test]
    fn busy_refusals_spend_the_address_budget_not_the_email() {
        let l = limiter(2, 1, 100);
        for i in 0..2 {
            let r = l.reserve("1.1.1.1", &format!("u{i}@x")).unwrap();
            l.not_evaluated(r);
        }
        assert!(
            l.reserve("1.1.1.1", "u0@x").is_err(),
            "the address spent its budget on busy refusals"
        );
        assert!(
            l.reserve("2.2.2.2", "u0@x").is_ok(),
            "the e-mail's failure budget was given back"
        );
    }

    #[test]
    fn a_known_pair_passes_spent_address_and_email_budgets_but_keeps_its_delay() {
        // The owner's success and three sprayed e-mails spend the address's four.
        let l = limiter(4, 3, 2);
        let r = l.reserve("1.1.1.1", "owner@x").unwrap();
        l.succeeded(r);
        for i in 0..3 {
            let _ = l.reserve("1.1.1.1", &format!("spray{i}@x")).unwrap();
        }
        for a in ["3.3.3.3", "4.4.4.4", "5.5.5.5"] {
            let _ = l.reserve(a, "owner@x").unwrap();
        }
        assert!(l.reserve("1.1.1.1", "stranger@x").is_err());
        assert!(l.reserve("6.6.6.6", "owner@x").is_err());
        // The owner's usual address still gets in…
        let _ = l.reserve("1.1.1.1", "owner@x").unwrap();
        let _ = l.reserve("1.1.1.1", "owner@x").unwrap();
        // …but guessing from it is slowed like any pair.
        assert!(matches!(
            l.reserve("1.1.1.1", "owner@x"),
            Err(ServiceError::RetryAfter { .. })
        ));
    }

    #[test]
    fn an_address_refused_more_than_its_budget_is_tarpitted() {
        let l = limiter(2, 0, 100);
        for i in 0..2 {
            let _ = l.reserve("1.1.1.1", &format!("u{i}@x")).unwrap();
        }
        for i in 0..2 {
            assert!(l.reserve("1.1.1.1", &format!("v{i}@x")).is_err());
        }
        assert_eq!(l.tarpit("1.1.1.1"), None, "a person retrying is not held");
        assert!(l.reserve("1.1.1.1", "w@x").is_err());
        assert_eq!(l.tarpit("1.1.1.1"), Some(TARPIT));
        assert_eq!(l.tarpit("2.2.2.2"), None);
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let l = limiter(0, 0, 1);
        assert_eq!(l.delay(0), Duration::ZERO);
        assert_eq!(l.delay(1), Duration::from_secs(1));
        assert_eq!(l.delay(2), Duration::from_secs(2));
        assert_eq!(l.delay(5), Duration::from_secs(16));
        assert_eq!(l.delay(40), Duration::from_secs(900));
    }
}
