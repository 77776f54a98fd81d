//! The gate every argon2 computation passes through.
//!
//! Why: one argon2id hash or verification takes 19 MiB of memory and tens of milliseconds
//! of CPU by design. Unbounded, 300 concurrent sign-ins with made-up e-mails took a server
//! to 8.9 GB without any credential. So hashing runs on at most `permits` blocking threads
//! at once (sized from the cores); a caller waits for a permit at most `queue_wait`, and
//! at most `max_waiting` callers wait at all. Beyond either bound the caller gets
//! [`ServiceError::Busy`] (503 with `Retry-After`) instead of another 19 MiB.
//!
//! The permit travels into the job, so a request cancelled mid-hash keeps its permit until
//! the hash really ends: the bound holds for the work, not for the futures.
//!
//! Why dedicated threads rather than `spawn_blocking`: glibc gives each thread its own
//! malloc arena and keeps freed memory there, so 19 MiB hashes spread over tokio's many
//! blocking threads left one 19 MiB block resident per thread that ever hashed (a flood of
//! sign-ins grew the process by hundreds of MiB that never came back, with only two hashes
//! running at a time). `permits` long-lived threads reuse their own block: hashing memory
//! stays at about `permits` × 19 MiB for the life of the process.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::{Result, ServiceError};

/// Gauge of argon2 computations running now.
pub const IN_FLIGHT_GAUGE: &str = "parley_password_hashes_in_flight";
/// Counter of argon2 computations done (hashes and verifications).
pub const DONE_COUNTER: &str = "parley_password_hashes_total";
/// Counter of callers refused because hashing was saturated.
pub const BUSY_COUNTER: &str = "parley_password_hash_busy_total";

/// Seconds a refused caller is told to wait before retrying.
pub const BUSY_RETRY_SECS: u64 = 1;

/// The default number of concurrent hashes: the cores, at least 2 and at most 4 (4 × 19 MiB
/// is the most hashing may hold, whatever the load).
pub fn default_permits() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4)
}

/// Work for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// The bounded password-hashing pool of one server.
pub struct PasswordHashing {
    permits: usize,
    /// Jobs for the hashing threads; they end when this is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
    sem: Arc<Semaphore>,
    queue_wait: Duration,
    max_waiting: usize,
    waiting: AtomicUsize,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    done: Arc<AtomicU64>,
}

impl PasswordHashing {
    /// `permits` concurrent computations (0 = [`default_permits`]); a caller waits at most
    /// `queue_wait` for one.
    pub fn new(permits: usize, queue_wait: Duration) -> Self {
        let permits = if permits == 0 {
            default_permits()
        } else {
            permits
        };
        metrics::gauge!(IN_FLIGHT_GAUGE).increment(0.0);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..permits {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("parley-hash-{i}"))
                .spawn(move || {
                    lower_thread_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job must not take a hashing thread with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Self {
            permits,
            jobs: Mutex::new(tx),
            sem: Arc::new(Semaphore::new(permits)),
            queue_wait,
            // Waiting callers cost only a future each, but a bound keeps a flood from
            // queueing thousands of requests that will all time out anyway.
            max_waiting: permits * 64,
            waiting: AtomicUsize::new(0),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            done: Arc::default(),
        }
    }

    /// Computations allowed at once.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// The most computations that ever ran at once (tests check it never exceeds
    /// [`PasswordHashing::permits`]).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Computations finished so far (each sign-in attempt that got past the limiter is one).
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }

    /// `Err(Busy)` when as many callers already wait for a permit as may wait: a caller can
    /// learn it is refused before doing anything else for the attempt.
    pub fn check_room(&self) -> Result<()> {
        if self.waiting.load(Ordering::SeqCst) >= self.max_waiting {
            return Err(busy());
        }
        Ok(())
    }

    /// Runs `work` on a hashing thread once a permit is free. Waiting for the permit is
    /// an async wait (a future parked on the semaphore, bounded by `queue_wait` and
    /// `max_waiting`), so a request in the queue holds no runtime worker and no thread.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let permit = tokio::time::timeout(self.queue_wait, self.sem.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = match permit {
            Ok(Ok(p)) => p,
            _ => return Err(busy()),
        };
        let (in_flight, max, done) = (
            self.in_flight.clone(),
            self.max_in_flight.clone(),
            self.done.clone(),
        );
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            metrics::gauge!(IN_FLIGHT_GAUGE).increment(1.0);
            let out = work();
            metrics::gauge!(IN_FLIGHT_GAUGE).decrement(1.0);
            metrics::counter!(DONE_COUNTER).increment(1);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
            let _ = done_tx.send(out);
        });
        self.jobs
            .lock()
            .map_err(|_| ServiceError::Internal("password hashing pool poisoned".into()))?
            .send(job)
            .map_err(|_| ServiceError::Internal("password hashing threads are gone".into()))?;
        done_rx
            .await
            .map_err(|_| ServiceError::Internal("password hashing job was lost".into()))
    }

    /// Hashes a password with argon2id and a random salt.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let pw = password.to_owned();
        self.run(move || hash_now(&pw)).await?
    }

    /// Checks a password against a stored hash; `Err` only when hashing is saturated.
    pub async fn verify(&self, hash: &str, password: &str) -> Result<bool> {
        let (hash, pw) = (hash.to_owned(), password.to_owned());
        self.run(move || verify_now(&hash, &pw)).await
    }
}

fn busy() -> ServiceError {
    metrics::counter!(BUSY_COUNTER).increment(1);
    ServiceError::Busy {
        retry_after_secs: BUSY_RETRY_SECS,
    }
}

/// Lowers the calling thread's scheduling priority (nice 10, Linux).
///
/// Why: a sign-in flood keeps every hashing thread busy, and on a small machine they would
/// take the cores from the runtime's workers at equal priority, so `/healthz` and everyone
/// else's requests would wait behind argon2. At a lower priority the hashes use what the
/// request path leaves. On Linux a nice value belongs to the thread, not the process.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours.
        let tid = unsafe { libc::gettid() };
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10) };
        if r != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "cannot lower the priority of a password-hashing thread"
            );
        }
    }
}

/// One argon2id hash, on the calling thread.
fn hash_now(password: &str) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| ServiceError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing password: {e}")))
}

/// One argon2 verification, on the calling thread.
fn verify_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_bounded_concurrency() {
        let h = PasswordHashing::new(1, Duration::from_secs(30));
        let hash = h.hash("correct horse").await.unwrap();
        assert!(h.verify(&hash, "correct horse").await.unwrap());
        assert!(!h.verify(&hash, "wrong horse").await.unwrap());
        assert!(!h.verify("not a hash", "x").await.unwrap());
        assert_eq!(h.max_in_flight(), 1);
        assert_eq!(h.done(), 4);
    }

    #[tokio::test]
    async fn saturated_pool_refuses_instead_of_queueing_forever() {
        let h = Arc::new(PasswordHashing::new(1, Duration::from_millis(0)));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("pw").await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(ServiceError::Busy { .. })) {
                busy += 1;
            }
        }
        assert!(
            busy > 0,
            "with one permit and no wait, some callers are refused"
        );
        assert_eq!(h.max_in_flight(), 1);
    }
}
