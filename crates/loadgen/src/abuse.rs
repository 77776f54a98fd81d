//! `loadgen abuse`: what one abuse costs the server, and whether it still serves others.
//!
//! For `--duration` seconds one scenario runs from the `--source-addrs` (the attackers):
//! - `signin`: rounds of `--attackers` concurrent sign-ins with made-up e-mails;
//! - `idle`: `--attackers` TCP connections that never send a byte (reopened when closed);
//! - `slowloris`: `--attackers` connections sending one header line a second, never ending
//!   the headers (reopened when closed);
//! - `uploads`: `--attackers` concurrent multipart uploads of `--upload-mib` MiB each to an
//!   agent conversation, one after another.
//!
//! Meanwhile, from `--probe-addr` (another client address, so per-address limits aimed at
//! the attackers do not apply to it), `/healthz` is timed every 100 ms and a legitimate
//! agent lists conversations every 500 ms; the server's VmRSS is read every 100 ms
//! (`--server-pid`). The report gives the peak RSS, `/healthz` latency percentiles and
//! failures, the legitimate calls' outcome and what the attackers got back.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Mutex;

use crate::api::{Api, Setup};
use crate::cli::{AbuseArgs, Scenario};
use crate::conn::Tally;
use crate::error::{Error, Result};
use crate::limits;
use crate::procfs;
use crate::stats::{Latency, LatencySummary};
use crate::target::{self, SourceRotation, Target};

#[derive(Debug, Serialize)]
pub struct AbuseReport {
    pub scenario: String,
    pub attackers: u64,
    pub duration_seconds: u64,
    pub server_rss_before_bytes: Option<u64>,
    pub server_rss_peak_bytes: Option<u64>,
    pub server_rss_after_bytes: Option<u64>,
    pub healthz: LatencySummary,
    pub healthz_failures: u64,
    pub legit: LatencySummary,
    pub legit_failures: u64,
    /// What the attackers got, by outcome (HTTP status, `closed_by_server`, errors).
    pub attack_outcomes: BTreeMap<String, u64>,
    /// Attacker connections open at once, at most (idle and slowloris).
    pub attack_open_max: u64,
    pub source_addrs: usize,
}

impl AbuseReport {
    pub fn print(&self) {
        let mib = |b: Option<u64>| {
            b.map_or("n/a".to_string(), |b| {
                format!("{:.1} MiB", b as f64 / 1_048_576.0)
            })
        };
        println!(
            "abuse: {} × {} for {} s from {} source address(es)",
            self.scenario, self.attackers, self.duration_seconds, self.source_addrs
        );
        println!(
            "  server RSS           before {}, peak {}, after {}",
            mib(self.server_rss_before_bytes),
            mib(self.server_rss_peak_bytes),
            mib(self.server_rss_after_bytes)
        );
        println!("{}", LatencySummary::header());
        println!("{}", self.healthz.row("/healthz"));
        println!("{}", self.legit.row("legit API call"));
        println!(
            "  failures             /healthz {}, legit {}",
            self.healthz_failures, self.legit_failures
        );
        if self.attack_open_max > 0 {
            println!("  attacker conns open  {} at most", self.attack_open_max);
        }
        for (k, v) in &self.attack_outcomes {
            println!("  attacker got         {v} × {k}");
        }
    }
}

/// Shared state of the run.
struct Run {
    stop: AtomicBool,
    outcomes: Tally,
    open: AtomicU64,
    open_max: AtomicU64,
}

impl Run {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    fn opened(&self) {
        let n = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.open_max.fetch_max(n, Ordering::Relaxed);
    }

    fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn client_from(source: Option<IpAddr>, timeout: Duration) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .timeout(timeout)
        .tcp_nodelay(true);
    if let Some(ip) = source {
        b = b.local_address(ip);
    }
    b.build().map_err(|e| Error::Request {
        what: "building the HTTP client".into(),
        source: e,
    })
}

async fn tcp_from(source: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let sock = match server {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    sock.bind(SocketAddr::new(source, 0))?;
    sock.connect(server).await
}

pub async fn run(a: &AbuseArgs) -> Result<AbuseReport> {
    let target = Target::parse(&a.server.url)?;
    let sources = match &a.server.source_addrs {
        Some(list) => target::parse_source_addrs(list, &target)?,
        None => vec![target.addr.ip()],
    };
    let probe: IpAddr = a
        .probe_addr
        .parse()
        .map_err(|_| Error::usage("--probe-addr is not an IP address"))?;
    if !probe.is_loopback() {
        return Err(Error::usage("--probe-addr must be a loopback address"));
    }
    let file_limit = limits::raise_nofile()?;
    if matches!(a.scenario, Scenario::Idle | Scenario::Slowloris)
        && a.attackers + limits::HEADROOM > file_limit.soft
    {
        return Err(Error::usage(format!(
            "--attackers {} does not fit the open-file limit {}",
            a.attackers, file_limit.soft
        )));
    }
    let api = Api::new(&target, &a.server.token, a.server.account, 4)?;
    api.check_access().await?;
    let upload_path = match a.scenario {
        Scenario::Uploads => Some(upload_conversation(&api, &target, a.server.account).await?),
        _ => None,
    };

    let run = Arc::new(Run {
        stop: AtomicBool::new(false),
        outcomes: Tally::default(),
        open: AtomicU64::new(0),
        open_max: AtomicU64::new(0),
    });
    let pid = a.server.server_pid;
    let rss_before = pid.and_then(|p| procfs::rss_bytes(p).ok());
    let peak = Arc::new(AtomicU64::new(rss_before.unwrap_or(0)));
    let sampler = {
        let (run, peak) = (run.clone(), peak.clone());
        tokio::spawn(async move {
            while run.running() {
                if let Some(rss) = pid.and_then(|p| procfs::rss_bytes(p).ok()) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let probe_client = client_from(Some(probe), Duration::from_secs(10))?;
    let healthz = Arc::new(Mutex::new((Latency::new(), 0u64)));
    let prober = {
        let (run, client, stats) = (run.clone(), probe_client.clone(), healthz.clone());
        let url = format!("{}/healthz", target.base);
        tokio::spawn(async move {
            while run.running() {
                let t = Instant::now();
                let ok = matches!(client.get(&url).send().await, Ok(r) if r.status().is_success());
                let mut s = stats.lock().await;
                if ok {
                    s.0.record(t.elapsed());
                } else {
                    s.1 += 1;
                }
                drop(s);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let legit = Arc::new(Mutex::new((Latency::new(), 0u64)));
    let legit_task = {
        let (run, client, stats) = (run.clone(), probe_client.clone(), legit.clone());
        let url = format!(
            "{}/api/v1/accounts/{}/conversations?status=all",
            target.base, a.server.account
        );
        let token = a.server.token.clone();
        tokio::spawn(async move {
            while run.running() {
                let t = Instant::now();
                let ok = matches!(
                    client.get(&url).header("api_access_token", &token).send().await,
                    Ok(r) if r.status().is_success()
                );
                let mut s = stats.lock().await;
                if ok {
                    s.0.record(t.elapsed());
                } else {
                    s.1 += 1;
                }
                drop(s);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    let rotation = SourceRotation::new(sources.clone());
    let mut attackers = Vec::new();
    for i in 0..a.attackers as usize {
        let run = run.clone();
        let source = rotation.for_connection(i);
        let server = target.addr;
        attackers.push(match a.scenario {
            Scenario::Idle => tokio::spawn(hold_idle(run, source, server, false)),
            Scenario::Slowloris => tokio::spawn(hold_idle(run, source, server, true)),
            Scenario::Signin => {
                let client = client_from(Some(source), Duration::from_secs(60))?;
                let url = format!("{}/auth/sign_in", target.base);
                tokio::spawn(sign_in_loop(run, client, url, i))
            }
            Scenario::Uploads => {
                let client = client_from(Some(source), Duration::from_secs(300))?;
                let url = format!("{}{}", target.base, upload_path.clone().unwrap_or_default());
                let token = a.server.token.clone();
                let mib = a.upload_mib;
                tokio::spawn(upload_loop(run, client, url, token, mib))
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(a.duration)).await;
    run.stop.store(true, Ordering::Relaxed);
    for t in attackers {
        t.abort();
    }
    let _ = prober.await;
    let _ = legit_task.await;
    let _ = sampler.await;
    // Let the server drop what the attackers held before reading RSS again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = pid.and_then(|p| procfs::rss_bytes(p).ok());
    let (h, hf) = {
        let s = healthz.lock().await;
        (s.0.summary(), s.1)
    };
    let (l, lf) = {
        let s = legit.lock().await;
        (s.0.summary(), s.1)
    };
    Ok(AbuseReport {
        scenario: format!("{:?}", a.scenario).to_lowercase(),
        attackers: a.attackers,
        duration_seconds: a.duration,
        server_rss_before_bytes: rss_before,
        server_rss_peak_bytes: pid.map(|_| peak.load(Ordering::Relaxed)),
        server_rss_after_bytes: rss_after,
        healthz: h,
        healthz_failures: hf,
        legit: l,
        legit_failures: lf,
        attack_outcomes: run.outcomes.snapshot(),
        attack_open_max: run.open_max.load(Ordering::Relaxed),
        source_addrs: sources.len(),
    })
}

/// An API inbox, a visitor and their conversation; returns the agent messages path.
async fn upload_conversation(api: &Api, target: &Target, account: u64) -> Result<String> {
    let (inbox_id, inbox_identifier) = api.create_inbox("loadgen abuse uploads").await?;
    let setup = Setup {
        base: target.base.clone(),
        account,
        inbox_id,
        inbox_identifier,
        visitors: Vec::new(),
    };
    let v = api.create_visitor(&setup, 0).await?;
    let conv = api.create_conversation(&setup, &v).await?;
    Ok(format!(
        "/api/v1/accounts/{account}/conversations/{conv}/messages"
    ))
}

/// Holds one connection open without finishing a request (`slow`: one header line a
/// second), reopening it whenever the server closes it.
async fn hold_idle(run: Arc<Run>, source: IpAddr, server: SocketAddr, slow: bool) {
    while run.running() {
        let mut conn = match tcp_from(source, server).await {
            Ok(c) => c,
            Err(e) => {
                run.outcomes.add(format!("connect error: {}", e.kind()));
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        run.opened();
        let mut buf = [0u8; 512];
        if slow {
            let _ = conn
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await;
            let mut i = 0u64;
            loop {
                tokio::select! {
                    r = conn.read(&mut buf) => {
                        if matches!(r, Ok(0) | Err(_)) { break; }
                    }
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        i += 1;
                        if conn.write_all(format!("X-{i}: y\r\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
            }
        } else {
            while !matches!(conn.read(&mut buf).await, Ok(0) | Err(_)) {}
        }
        run.closed();
        run.outcomes.add("closed_by_server");
    }
}

/// Signs in with made-up e-mails, one attempt after another.
async fn sign_in_loop(run: Arc<Run>, client: reqwest::Client, url: String, i: usize) {
    let mut n = 0u64;
    while run.running() {
        n += 1;
        let body = serde_json::json!({
            "email": format!("nobody-{i}-{n}@abuse.invalid"),
            "password": "not-the-password",
        });
        match client.post(&url).json(&body).send().await {
            Ok(r) => run.outcomes.add(format!("HTTP {}", r.status().as_u16())),
            Err(e) => run.outcomes.add(if e.is_timeout() {
                "timeout".to_string()
            } else {
                "request error".to_string()
            }),
        }
    }
}

/// The multipart body of one upload of `mib` MiB, built once and shared.
fn upload_body(mib: u64) -> (String, Bytes) {
    let boundary = "loadgenAbuseBoundary".to_string();
    let mut body = Vec::with_capacity((mib as usize) * 1_048_576 + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.resize(body.len() + (mib as usize) * 1_048_576, b'x');
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, Bytes::from(body))
}

/// Uploads one file after another.
async fn upload_loop(run: Arc<Run>, client: reqwest::Client, url: String, token: String, mib: u64) {
    static BODY: std::sync::OnceLock<(String, Bytes)> = std::sync::OnceLock::new();
    let (boundary, body) = BODY.get_or_init(|| upload_body(mib)).clone();
    while run.running() {
        let res = client
            .post(&url)
            .header("api_access_token", &token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body.clone())
            .send()
            .await;
        match res {
            Ok(r) => {
                let status = r.status().as_u16();
                let _ = r.bytes().await;
                run.outcomes.add(format!("HTTP {status}"));
            }
            Err(e) => run.outcomes.add(if e.is_timeout() {
                "timeout".to_string()
            } else {
                "request error".to_string()
            }),
        }
    }
}
