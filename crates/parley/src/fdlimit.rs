//! The open-file limit, which bounds how many connections a server can hold.
//!
//! Why: with the common default soft limit of 1,024, about a thousand idle connections
//! exhausted the descriptors and `/healthz` itself could no longer be accepted. The server
//! raises its soft limit to the hard one at start (no privilege needed) and keeps
//! [`RESERVED`] descriptors for the database, attachments and logs when it derives the
//! default connection cap from it.

/// Descriptors kept for everything that is not a client connection.
pub const RESERVED: u64 = 256;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit in effect
/// (`None` when it cannot be read).
pub fn raise_nofile() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; RLIMIT_NOFILE is a valid resource.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct; raising soft up to hard needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    Some(lim.rlim_cur)
}

/// The connection cap in effect: `configured`, or (0) the open-file limit minus
/// [`RESERVED`], at least 64.
pub fn connection_cap(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    let soft = raise_nofile().unwrap_or(1024).min(1 << 20);
    soft.saturating_sub(RESERVED).max(64) as usize
}
