//! The open-file cap. On the reference machine a process may hold at most 20,000 open files
//! and the hard limit cannot be raised, so one loadgen process can hold at most ~19,900
//! sockets. Rather than fail half-way with `EMFILE` after thousands of connections, loadgen
//! raises its soft limit to the hard one and refuses up front to open more than fits.

use crate::error::{Error, Result};

/// File descriptors kept free for everything that is not a measured connection: stdio, the
/// runtime's epoll and eventfds, the HTTP client's pooled setup connections, DNS, /proc
/// reads.
pub const HEADROOM: u64 = 64;

/// The soft and hard `RLIMIT_NOFILE` after raising the soft limit to the hard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit to the hard limit (never beyond it) and returns both.
pub fn raise_nofile() -> Result<FileLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; RLIMIT_NOFILE is a valid resource.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(Error::io(
            "getrlimit(NOFILE)",
            std::io::Error::last_os_error(),
        ));
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
    Ok(FileLimit {
        soft: lim.rlim_cur,
        hard: lim.rlim_max,
    })
}

/// Refuses a run that would need more descriptors than `limit.soft - HEADROOM`.
/// `sockets` counts every connection the run holds at once (WebSockets plus in-flight
/// HTTP requests).
pub fn check_fds(sockets: u64, limit: FileLimit) -> Result<()> {
    let usable = limit.soft.saturating_sub(HEADROOM);
    if sockets > usable {
        return Err(Error::usage(format!(
            "this run needs {sockets} sockets but the open-file limit is {} (hard {}), so one \
             process can hold at most {usable}; split the load over several loadgen \
             processes, each with its own --source-addrs (see loadgen --help)",
            limit.soft, limit.hard
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_more_sockets_than_the_soft_limit_minus_headroom() {
        let lim = FileLimit {
            soft: 20_000,
            hard: 20_000,
        };
        assert!(check_fds(19_000, lim).is_ok());
        assert!(check_fds(20_000 - HEADROOM, lim).is_ok());
        let e = check_fds(20_000 - HEADROOM + 1, lim).unwrap_err();
        assert!(e.to_string().contains("several loadgen"), "{e}");
        assert!(check_fds(1, FileLimit { soft: 10, hard: 10 }).is_err());
    }

    #[test]
    fn raising_keeps_soft_at_or_below_hard() {
        let lim = raise_nofile().unwrap();
        assert!(lim.soft <= lim.hard);
    }
}
