//! `loadgen idle`: hold many idle visitor WebSockets and measure what they cost the server.
//!
//! Connections are opened in steps; after each step (and a pause for the server to settle)
//! the server's VmRSS is read, so the report gives both the plain delta per connection and
//! the least-squares slope, which ignores one-off allocations made by the first
//! connections. Holding them for a while afterwards shows whether idle sockets survive the
//! server's heartbeat (tungstenite answers pings by itself while the socket is read).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde::Serialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::api::{self, Api, SetupNeeds};
use crate::cli::IdleArgs;
use crate::conn::{self, Tally};
use crate::error::{Error, Result};
use crate::limits;
use crate::procfs;
use crate::stats::slope;
use crate::target;
use crate::ws::Ws;

/// One step: connections held and the server's RSS then.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub connections: u64,
    pub server_rss_bytes: Option<u64>,
    pub seconds_since_start: f64,
}

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub mode: &'static str,
    pub requested: u64,
    pub opened: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    /// Connections still open after the hold.
    pub held_at_end: u64,
    pub hold_seconds: u64,
    /// Connections the server closed (or that broke) before loadgen let go, by reason.
    pub disconnects: BTreeMap<String, u64>,
    pub connect_seconds: f64,
    pub connects_per_second: f64,
    pub server_rss_before_bytes: Option<u64>,
    pub server_rss_after_hold_bytes: Option<u64>,
    /// (RSS after the last step − RSS before) / connections opened.
    pub server_bytes_per_connection: Option<f64>,
    /// Least-squares slope of RSS over connections across the steps (before included).
    pub server_bytes_per_connection_slope: Option<f64>,
    pub steps: Vec<Step>,
    pub loadgen_rss_bytes: Option<u64>,
    pub source_addrs: usize,
    pub open_file_limit: u64,
    pub loadavg_1m: Option<f64>,
}

/// What the holder tasks share.
struct Held {
    open: AtomicU64,
    disconnects: Tally,
}

pub async fn run(args: &IdleArgs) -> Result<IdleReport> {
    let s = &args.server;
    let target = s.target()?;
    let sources = s.sources(&target)?;
    s.check_pid()?;
    let n = args.connections;
    let lim = limits::raise_nofile()?;
    limits::check_fds(
        n + s.setup_concurrency as u64 + s.connect_concurrency as u64,
        lim,
    )?;
    let addrs = sources.as_ref().map_or(1, |r| r.len());
    let ips: Vec<std::net::IpAddr> = match &sources {
        Some(r) => (0..r.len()).map(|i| r.for_connection(i)).collect(),
        None => vec![target.addr.ip()],
    };
    target::check_port_capacity(n as usize, &ips, target::ephemeral_ports())?;

    let api = Api::new(&target, &s.token, s.account, s.setup_concurrency as usize)?;
    let setup = api::prepare(
        &api,
        s.setup_file.as_deref(),
        &SetupNeeds {
            skip: s.skip,
            count: n as usize,
            conversations: false,
            concurrency: s.setup_concurrency as usize,
        },
    )
    .await?;
    let tokens: Vec<String> = setup.visitors[s.skip..s.skip + n as usize]
        .iter()
        .map(|v| v.pubsub_token.clone())
        .collect();
    drop(setup);

    let rss = || s.server_pid.and_then(|p| procfs::rss_bytes(p).ok());
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let before = rss();
    let start = Instant::now();
    let mut steps = vec![Step {
        connections: 0,
        server_rss_bytes: before,
        seconds_since_start: 0.0,
    }];

    let held = Arc::new(Held {
        open: AtomicU64::new(0),
        disconnects: Tally::default(),
    });
    let failures = Tally::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connect_time = Duration::ZERO;
    let mut opened = 0u64;
    let bounds = step_bounds(n, args.steps);
    let mut from = 0u64;
    for (k, to) in bounds.iter().copied().enumerate() {
        let t0 = Instant::now();
        // Each socket is read (so the server's pings get their pongs) from the moment it
        // is open, not from the end of its step: a step that takes longer than two server
        // heartbeats to open (a busy machine, a cluster's worth of sockets) would otherwise
        // lose its first sockets to `heartbeat_timeout` before they were ever held.
        let results: Vec<Result<()>> = stream::iter(from..to)
            .map(|i| {
                let url = target.ws_url(&format!(
                    "/public/api/v1/realtime?pubsub_token={}",
                    tokens[i as usize]
                ));
                let sources = sources.as_ref();
                let server = target.addr;
                let (held, stop_rx) = (held.clone(), stop_rx.clone());
                async move {
                    let ws = conn::open_ready(server, sources, i as usize, &url, None).await?;
                    held.open.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(hold(ws, held, stop_rx));
                    Ok(())
                }
            })
            .buffer_unordered(s.connect_concurrency as usize)
            .collect()
            .await;
        connect_time += t0.elapsed();
        let mut ok_in_step = 0u64;
        for r in results {
            match r {
                Ok(()) => ok_in_step += 1,
                Err(e) => failures.add(conn::error_key(&e)),
            }
        }
        opened += ok_in_step;
        eprintln!(
            "idle: step {}/{}: {} of {} connections open ({} failed so far)",
            k + 1,
            bounds.len(),
            held.open.load(Ordering::Relaxed),
            to,
            failures.total()
        );
        if ok_in_step == 0 {
            let _ = stop_tx.send(true);
            return Err(Error::Ws {
                what: "opening idle connections".into(),
                message: format!(
                    "no connection of step {} opened: {:?}",
                    k + 1,
                    failures.snapshot()
                ),
            });
        }
        tokio::time::sleep(Duration::from_secs(args.settle)).await;
        steps.push(Step {
            connections: held.open.load(Ordering::Relaxed),
            server_rss_bytes: rss(),
            seconds_since_start: start.elapsed().as_secs_f64(),
        });
        from = to;
    }
    let after_steps = steps.last().and_then(|st| st.server_rss_bytes);
    eprintln!("idle: holding {opened} connections for {} s", args.hold);
    // SIGINT ends the hold early with a full report: a script that runs other load while
    // these sockets are held (the cluster run) ends the hold when that load is done.
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(args.hold)) => {}
        _ = tokio::signal::ctrl_c() => eprintln!("idle: interrupted, ending the hold"),
    }
    let after_hold = rss();
    let held_at_end = held.open.load(Ordering::Relaxed);
    let disconnects = held.disconnects.snapshot();
    let loadgen_rss = procfs::rss_bytes(std::process::id()).ok();
    let _ = stop_tx.send(true);

    let per_conn = match (before, after_steps) {
        (Some(b), Some(a)) if opened > 0 => Some((a as f64 - b as f64) / opened as f64),
        _ => None,
    };
    let pts: Vec<(f64, f64)> = steps
        .iter()
        .filter_map(|st| {
            st.server_rss_bytes
                .map(|r| (st.connections as f64, r as f64))
        })
        .collect();
    let secs = connect_time.as_secs_f64();
    Ok(IdleReport {
        mode: "idle",
        requested: n,
        opened,
        failed: failures.total(),
        failures: failures.snapshot(),
        held_at_end,
        hold_seconds: args.hold,
        disconnects,
        connect_seconds: secs,
        connects_per_second: if secs > 0.0 {
            opened as f64 / secs
        } else {
            0.0
        },
        server_rss_before_bytes: before,
        server_rss_after_hold_bytes: after_hold,
        server_bytes_per_connection: per_conn,
        server_bytes_per_connection_slope: slope(&pts),
        steps,
        loadgen_rss_bytes: loadgen_rss,
        source_addrs: addrs,
        open_file_limit: lim.soft,
        loadavg_1m: procfs::loadavg(),
    })
}

/// Ends of `steps` nearly equal steps up to `n`, e.g. 10 in 4 → 3, 5, 8, 10 (never an
/// empty step).
pub fn step_bounds(n: u64, steps: u32) -> Vec<u64> {
    let k = (steps as u64).clamp(1, n.max(1));
    let mut out: Vec<u64> = (1..=k).map(|i| (n * i).div_ceil(k)).collect();
    out.dedup();
    out
}

/// Reads an idle socket until loadgen stops or the server lets go, so pings get their
/// pongs; records why a connection ended if it was not loadgen's doing.
async fn hold(mut ws: Ws, held: Arc<Held>, mut stop: watch::Receiver<bool>) {
    let reason = loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Close(c))) => break Some(conn::close_reason(c.as_ref())),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("error: {e}")),
                None => break Some("eof".to_string()),
            },
            _ = stop.changed() => break None,
        }
    };
    if let Some(r) = reason {
        held.open.fetch_sub(1, Ordering::Relaxed);
        held.disconnects.add(r);
    }
}

impl IdleReport {
    pub fn print(&self) {
        let mib = |b: Option<u64>| {
            b.map_or("n/a".to_string(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            })
        };
        let per = |b: Option<f64>| {
            b.map_or("n/a".to_string(), |b| {
                format!("{:.0} B ({:.2} KiB)", b, b / 1024.0)
            })
        };
        println!("idle WebSockets");
        println!("  requested            {}", self.requested);
        println!(
            "  opened               {} ({} failed)",
            self.opened, self.failed
        );
        for (k, v) in &self.failures {
            println!("    failure            {v} × {k}");
        }
        println!(
            "  held after {:>3} s     {}",
            self.hold_seconds, self.held_at_end
        );
        for (k, v) in &self.disconnects {
            println!("    disconnect         {v} × {k}");
        }
        println!(
            "  connect time         {:.2} s ({:.0} connections/s)",
            self.connect_seconds, self.connects_per_second
        );
        println!(
            "  server RSS before    {}",
            mib(self.server_rss_before_bytes)
        );
        println!(
            "  server RSS after     {} (end of hold)",
            mib(self.server_rss_after_hold_bytes)
        );
        println!(
            "  server per conn      {} (delta / opened)",
            per(self.server_bytes_per_connection)
        );
        println!(
            "  server per conn      {} (slope over steps)",
            per(self.server_bytes_per_connection_slope)
        );
        println!("  steps (connections → server RSS):");
        for st in &self.steps {
            println!(
                "    {:>8} → {:>12}  at {:>7.2} s",
                st.connections,
                mib(st.server_rss_bytes),
                st.seconds_since_start
            );
        }
        println!("  loadgen RSS          {}", mib(self.loadgen_rss_bytes));
        println!("  source addresses     {}", self.source_addrs);
        println!("  open-file limit      {}", self.open_file_limit);
        println!(
            "  load average (1 min) {}",
            self.loadavg_1m.map_or("n/a".into(), |l| format!("{l:.2}"))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_cover_all_connections_without_empty_steps() {
        assert_eq!(step_bounds(10, 4), vec![3, 5, 8, 10]);
        assert_eq!(step_bounds(19_000, 4), vec![4750, 9500, 14250, 19000]);
        assert_eq!(step_bounds(3, 10), vec![1, 2, 3]);
        assert_eq!(step_bounds(1, 1), vec![1]);
        for (n, k) in [(7, 3), (100, 7), (19_000, 19)] {
            let b = step_bounds(n, k);
            assert_eq!(*b.last().unwrap(), n);
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opens_holds_and_measures_steps() {
        let addr = crate::fake::start(0).await;
        let url = format!("http://{addr}");
        let dir = std::env::temp_dir().join(format!("loadgen-idle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let setup = dir.join("setup.json");
        crate::api::write_test_setup(&setup, &url, 30);
        let pid = std::process::id().to_string();
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "loadgen",
            "idle",
            "--url",
            &url,
            "--token",
            "t",
            "--setup-file",
            setup.to_str().unwrap(),
            "--skip",
            "10",
            "--connections",
            "20",
            "--steps",
            "2",
            "--settle",
            "0",
            "--hold",
            "0",
            "--server-pid",
            &pid,
        ])
        .unwrap();
        let crate::cli::Mode::Idle(a) = cli.mode else {
            panic!()
        };
        let r = run(&a).await.unwrap();
        assert_eq!(r.opened, 20);
        assert_eq!(r.failed, 0);
        assert_eq!(r.held_at_end, 20);
        let held: Vec<u64> = r.steps.iter().map(|s| s.connections).collect();
        assert_eq!(held, vec![0, 10, 20]);
        assert!(r.server_rss_before_bytes.is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
