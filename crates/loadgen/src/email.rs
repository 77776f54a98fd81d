//! `loadgen email-backlog`: how fast the server imports a mailbox's backlog.
//!
//! Optionally fills a Dovecot maildir (`--maildir`, the mailbox's root with `cur`, `new`
//! and `tmp`) with `--letters` letters written straight into `new/` (IMAP APPEND of 10,000
//! letters takes minutes of the mail server's fsyncs; the import is what is measured), then
//! creates an e-mail inbox reading that mailbox over IMAP and counts the letters as agent
//! sockets see them arrive: letters per second from the inbox's creation to the last
//! import, missing and duplicate letters, the server's CPU and its peak memory.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::api::Api;
use crate::cli::EmailBacklogArgs;
use crate::error::{Error, Result};
use crate::procfs::{self, CpuMark, CpuUse};
use crate::sightings::Sightings;
use crate::target::{self, Target};

/// The import is over when no letter arrived for this long.
const QUIET: Duration = Duration::from_secs(60);

/// The report of a run.
#[derive(Debug, Serialize)]
pub struct EmailReport {
    pub letters: u64,
    pub filled: bool,
    pub imported: u64,
    pub missing: u64,
    pub duplicates: u64,
    /// From the inbox's creation to the last letter seen.
    pub seconds: f64,
    pub letters_per_sec: f64,
    pub cpu: CpuUse,
    /// The server's CPU time over the import, seconds.
    pub server_cpu_seconds: Option<f64>,
    pub server_rss_before_mib: Option<f64>,
    pub server_rss_peak_mib: Option<f64>,
    pub loadavg: Option<f64>,
}

impl EmailReport {
    pub fn print(&self) {
        println!(
            "email-backlog: {} letters{}",
            self.letters,
            if self.filled {
                " written into the maildir"
            } else {
                ""
            }
        );
        println!(
            "  imported {}  missing {}  duplicate {}  in {:.1} s -> {:.0} letters/s",
            self.imported, self.missing, self.duplicates, self.seconds, self.letters_per_sec
        );
        if let (Some(c), Some(s)) = (self.cpu.server_cores, self.server_cpu_seconds) {
            println!("  server CPU {s:.1} s ({c:.2} cores)");
        }
        if let (Some(b), Some(p)) = (self.server_rss_before_mib, self.server_rss_peak_mib) {
            println!("  server RSS {b:.1} MiB before, {p:.1} MiB peak");
        }
        if let Some(l) = self.loadavg {
            println!("  load average {l:.2}");
        }
    }
}

/// Letter `n` of run `run` to `to`, from one of `senders` customers.
fn letter(run: &str, n: u64, senders: u64, to: &str) -> String {
    let from = n % senders;
    let body = "Здравствуйте! Подскажите, пожалуйста, когда будет доставка заказа. ".repeat(20);
    format!(
        "From: Customer {from} <c{from}@customer.test>\r\nTo: {to}\r\nSubject: Question {n}\r\n\
         Message-ID: <{run}.{n}@customer.test>\r\nDate: Wed, 2 Dec 2026 16:00:00 +0300\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{run} {n} {body}\r\n"
    )
}

/// Writes the letters into `maildir/new`, owned like the maildir (Dovecot's mail user).
fn fill(maildir: &Path, run: &str, letters: u64, senders: u64, to: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let io = |what: &str, e: std::io::Error| Error::usage(format!("--maildir: {what}: {e}"));
    let meta = std::fs::metadata(maildir).map_err(|e| io("reading it", e))?;
    for sub in ["cur", "new", "tmp"] {
        let d = maildir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| io("creating cur/new/tmp", e))?;
        std::os::unix::fs::chown(&d, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| io("chown", e))?;
    }
    for n in 0..letters {
        let path = maildir
            .join("new")
            .join(format!("1796400000.{run}_{n}.loadgen"));
        std::fs::write(&path, letter(run, n, senders, to)).map_err(|e| io("writing", e))?;
        std::os::unix::fs::chown(&path, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| io("chown", e))?;
    }
    Ok(())
}

pub async fn run(a: &EmailBacklogArgs) -> Result<EmailReport> {
    let target = Target::parse(&a.server.url)?;
    let host: std::net::IpAddr = a
        .imap_host
        .parse()
        .map_err(|_| Error::usage("--imap-host must be a loopback IP address"))?;
    if !host.is_loopback() {
        return Err(Error::usage("--imap-host must be a loopback IP address"));
    }
    let sources = match &a.server.source_addrs {
        Some(list) => Some(target::SourceRotation::new(target::parse_source_addrs(
            list, &target,
        )?)),
        None => None,
    };
    let api = Api::new(&target, &a.server.token, a.server.account, 8)?;
    api.check_access().await?;
    let run = format!("em{}", std::process::id());
    let address = a.address.clone().unwrap_or_else(|| a.login.clone());
    if let Some(dir) = &a.maildir {
        fill(dir, &run, a.letters, a.senders, &address)?;
    }

    // The agent sockets first, so they see the first letter.
    let agent_url = target.ws_url(&format!("/api/v1/accounts/{}/realtime", a.server.account));
    let pid = a.server.server_pid;
    let rss_before = pid.and_then(|p| procfs::rss_bytes(p).ok());
    let peak = Arc::new(AtomicU64::new(rss_before.unwrap_or(0)));
    let sampler = pid.map(|p| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(rss) = procfs::rss_bytes(p) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    // Any inbox: the sockets open before the inbox exists; the run tag is unique.
    let seen = Sightings::open(
        target.addr,
        sources.as_ref(),
        &agent_url,
        api.token(),
        1,
        (&run, None, a.letters),
    )
    .await?;
    let cpu = CpuMark::now(pid);
    let server_cpu_before = pid.and_then(|p| procfs::cpu_time(Some(p)).ok());
    let t0 = Instant::now();
    api.create_inbox_with(
        "creating the e-mail inbox",
        json!({
            "name": format!("Backlog {run}"),
            "enable_auto_assignment": false,
            "greeting_enabled": false,
            "channel": {
                "type": "email",
                "email": address,
                "imap_enabled": true,
                "imap_address": a.imap_host,
                "imap_port": a.imap_port,
                "imap_login": a.login,
                "imap_password": a.password,
                "imap_enable_ssl": a.imap_tls,
            },
        }),
    )
    .await?;
    seen.settle(QUIET).await;
    let cpu = cpu.since();
    let server_cpu = pid.and_then(|p| procfs::cpu_time(Some(p)).ok());
    if let Some(s) = sampler {
        s.abort();
    }
    let t = seen.finish().await?;
    let seconds = t
        .last
        .map_or_else(|| t0.elapsed(), |l| l.duration_since(t0))
        .as_secs_f64();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(EmailReport {
        letters: a.letters,
        filled: a.maildir.is_some(),
        imported: t.imported,
        missing: t.missing,
        duplicates: t.duplicates,
        seconds,
        letters_per_sec: if seconds > 0.0 {
            t.imported as f64 / seconds
        } else {
            0.0
        },
        cpu,
        server_cpu_seconds: match (server_cpu_before, server_cpu) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b).as_secs_f64()),
            _ => None,
        },
        server_rss_before_mib: rss_before.map(mib),
        server_rss_peak_mib: pid.map(|_| mib(peak.load(Ordering::Relaxed))),
        loadavg: procfs::loadavg(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_carry_the_run_and_index_first() {
        let l = letter("em1", 42, 10, "help@shop.test");
        assert!(l.contains("Message-ID: <em1.42@customer.test>"));
        assert!(l.contains("From: Customer 2 <c2@customer.test>"));
        let body = l.split("\r\n\r\n").nth(1).unwrap_or("");
        assert!(body.starts_with("em1 42 "));
    }
}
