//! What `/proc` says about the server process and the machine: resident memory (VmRSS),
//! CPU time, load average. Read before and after a phase, they give the server's memory per
//! connection and CPU use without instrumenting the server.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};

/// Resident set size of `pid` in bytes, from `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let s = std::fs::read_to_string(&path).map_err(|e| Error::io(path.clone(), e))?;
    parse_vm_rss(&s).ok_or_else(|| Error::Protocol(format!("{path}: no VmRSS line")))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut it = line["VmRSS:".len()..].split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    match it.next() {
        Some("kB") | None => Some(n * 1024),
        _ => None,
    }
}

/// User + system CPU time of `pid` (or `self`).
pub fn cpu_time(pid: Option<u32>) -> Result<Duration> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    stat_cpu_time(&path)
}

/// User + system CPU time of one thread of this process.
pub fn thread_cpu_time(tid: u32) -> Result<Duration> {
    stat_cpu_time(&format!("/proc/self/task/{tid}/stat"))
}

/// User + system CPU time from a process's or thread's `stat` file.
fn stat_cpu_time(path: &str) -> Result<Duration> {
    let s = std::fs::read_to_string(path).map_err(|e| Error::io(path.to_string(), e))?;
    let ticks = parse_stat_ticks(&s).ok_or_else(|| Error::Protocol(format!("{path}: bad")))?;
    // SAFETY: sysconf has no memory effects; _SC_CLK_TCK is always valid.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// utime + stime (fields 14 and 15) from a `/proc/<pid>/stat` line. The command name in
/// parentheses may contain spaces, so fields are counted after the last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")" the first field is the state (field 3), so field n is f[n - 3].
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The 1-minute load average, recorded next to every figure.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU use of the server and of loadgen itself over a phase, in cores (1.0 = one core).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    pub server_cores: Option<f64>,
    pub loadgen_cores: Option<f64>,
}

/// CPU times at the start of a phase.
pub struct CpuMark {
    server_pid: Option<u32>,
    server: Option<Duration>,
    me: Option<Duration>,
    at: std::time::Instant,
}

impl CpuMark {
    pub fn now(server_pid: Option<u32>) -> Self {
        Self {
            server_pid,
            server: server_pid.and_then(|p| cpu_time(Some(p)).ok()),
            me: cpu_time(None).ok(),
            at: std::time::Instant::now(),
        }
    }

    pub fn since(&self) -> CpuUse {
        let wall = self.at.elapsed().as_secs_f64();
        let cores = |before: Option<Duration>, after: Option<Duration>| match (before, after) {
            (Some(b), Some(a)) if wall > 0.0 => Some(a.saturating_sub(b).as_secs_f64() / wall),
            _ => None,
        };
        CpuUse {
            server_cores: cores(
                self.server,
                self.server_pid.and_then(|p| cpu_time(Some(p)).ok()),
            ),
            loadgen_cores: cores(self.me, cpu_time(None).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let s = "Name:\tparley\nVmPeak:\t  99999 kB\nVmRSS:\t   19264 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(s), Some(19264 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t 12 MB\n"), None);
    }

    #[test]
    fn reads_cpu_ticks_after_the_command_name() {
        let line = "1234 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0";
        assert_eq!(parse_stat_ticks(line), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
        assert!(cpu_time(None).is_ok());
        assert!(loadavg().is_some());
    }
}
