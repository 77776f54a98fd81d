//! `list`: the conversation list's latency and queries per page (DESIGN.md §3: p99 ≤ 10 ms
//! over 1M conversations, ≤ 3 queries per page, no N+1).
//!
//! For each filter the console offers (tabs, status, inbox, team, label, an agent's own
//! view), every round fetches the first page and then walks `--pages` further pages by
//! `meta.next_cursor`, one request at a time per client. Latency is end to end (request
//! sent → body read). Queries come from the server's `parley_store_reads_total` counter,
//! read from `/metrics` before and after each filter's requests; with nothing else loading
//! the server, the difference divided by the pages is the queries per page.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::stats::{Latency, LatencySummary};
use crate::target::Target;

/// One filter's figures.
#[derive(Debug, Serialize)]
pub struct ScenarioReport {
    pub name: String,
    pub query: String,
    /// Conversations matching (the first page's `all_count`, capped at 10,000 by the
    /// server).
    pub matching: i64,
    pub first_page: LatencySummary,
    pub cursor_pages: LatencySummary,
    /// Read round trips per request, authentication included.
    pub reads_per_first_page: f64,
    pub reads_per_cursor_page: f64,
}

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub url: String,
    pub rounds: u32,
    pub pages: u32,
    pub clients: u32,
    pub scenarios: Vec<ScenarioReport>,
    /// All requests of all filters together.
    pub overall: LatencySummary,
    pub requests_per_second: f64,
    pub loadavg_1m: Option<f64>,
}

impl ListReport {
    pub fn print(&self) {
        println!(
            "list: {} — {} rounds × (first page + {} cursor pages), {} client(s)",
            self.url, self.rounds, self.pages, self.clients
        );
        println!(
            "  {:<22} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "filter",
            "matching",
            "1st p50",
            "1st p99",
            "next p50",
            "next p99",
            "reads/1st",
            "reads/nxt"
        );
        for s in &self.scenarios {
            println!(
                "  {:<22} {:>8} {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>7.2}ms {:>9.2} {:>9.2}",
                s.name,
                s.matching,
                s.first_page.p50_ms,
                s.first_page.p99_ms,
                s.cursor_pages.p50_ms,
                s.cursor_pages.p99_ms,
                s.reads_per_first_page,
                s.reads_per_cursor_page
            );
        }
        println!(
            "  all requests: {} — p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {:.0} requests/s",
            self.overall.count,
            self.overall.p50_ms,
            self.overall.p90_ms,
            self.overall.p99_ms,
            self.overall.p999_ms,
            self.overall.max_ms,
            self.requests_per_second
        );
        println!(
            "  load average (1 min) {}",
            self.loadavg_1m.map_or("n/a".into(), |l| format!("{l:.2}"))
        );
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    account: u64,
}

impl Client {
    async fn get(&self, token: &str, path_query: &str) -> Result<(Value, Duration)> {
        let what = format!("GET {path_query}");
        let started = Instant::now();
        let resp = self
            .http
            .get(format!(
                "{}/api/v1/accounts/{}/conversations{path_query}",
                self.base, self.account
            ))
            .header("api_access_token", token)
            .send()
            .await
            .map_err(|e| Error::Request {
                what: what.clone(),
                source: e,
            })?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| Error::Request {
            what: what.clone(),
            source: e,
        })?;
        let took = started.elapsed();
        if !status.is_success() {
            return Err(Error::Http {
                what,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            });
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::Protocol(format!("{what}: response is not JSON: {e}")))?;
        Ok((v, took))
    }

    /// `parley_store_reads_total` from /metrics.
    async fn reads(&self) -> Result<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::Request {
                what: "GET /metrics".into(),
                source: e,
            })?
            .text()
            .await
            .map_err(|e| Error::Request {
                what: "GET /metrics".into(),
                source: e,
            })?;
        text.lines()
            .find_map(|l| {
                l.strip_prefix("parley_store_reads_total ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .ok_or_else(|| {
                Error::Protocol("/metrics has no parley_store_reads_total (Parley too old?)".into())
            })
    }
}

/// The filters, with the token each runs as.
fn scenarios(args: &ListArgs) -> Vec<(String, String, bool)> {
    let mut v = vec![
        (
            "all, open".into(),
            "?status=open&assignee_type=all".into(),
            false,
        ),
        (
            "unassigned, open".into(),
            "?status=open&assignee_type=unassigned".into(),
            false,
        ),
        ("all statuses".into(), "?status=all".into(), false),
        ("resolved".into(), "?status=resolved".into(), false),
    ];
    if let Some(i) = args.inbox {
        v.push((
            format!("inbox {i}"),
            format!("?status=all&inbox_id={i}"),
            false,
        ));
    }
    if let Some(t) = args.team {
        v.push((
            format!("team {t}, open"),
            format!("?status=open&team_id={t}"),
            false,
        ));
    }
    if let Some(l) = &args.label {
        v.push((
            format!("label {l}"),
            format!("?status=all&labels[]={l}"),
            false,
        ));
    }
    if args.agent_token.is_some() {
        v.push((
            "agent: mine, open".into(),
            "?status=open&assignee_type=me".into(),
            true,
        ));
        v.push((
            "agent: all, open".into(),
            "?status=open&assignee_type=all".into(),
            true,
        ));
    }
    v
}

fn with_cursor(query: &str, cursor: &str) -> String {
    format!("{query}&cursor={cursor}")
}

pub async fn run(args: &ListArgs) -> Result<ListReport> {
    let target = Target::parse(&args.url)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients as usize)
        .timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Request {
            what: "building the HTTP client".into(),
            source: e,
        })?;
    let client = std::sync::Arc::new(Client {
        http,
        base: target.base.clone(),
        account: args.account,
    });
    let mut reports = Vec::new();
    let mut overall = Latency::new();
    let started = Instant::now();
    let mut requests = 0u64;
    for (name, query, as_agent) in scenarios(args) {
        let token = if as_agent {
            args.agent_token.clone().unwrap_or_default()
        } else {
            args.token.clone()
        };
        // Warm-up: one walk, not counted (connections opened, pages cached).
        let (first, _) = client.get(&token, &query).await?;
        let tab = if query.contains("assignee_type=me") {
            "mine_count"
        } else if query.contains("assignee_type=unassigned") {
            "unassigned_count"
        } else {
            "all_count"
        };
        let matching = first["data"]["meta"][tab].as_i64().unwrap_or(0);

        // Queries: measured on a sequential pass so nothing else runs in between.
        let r0 = client.reads().await?;
        let mut cursors = Vec::new();
        for _ in 0..5 {
            let (p, _) = client.get(&token, &query).await?;
            if let Some(c) = p["data"]["meta"]["next_cursor"].as_str() {
                cursors.push(c.to_string());
            }
        }
        let r1 = client.reads().await?;
        for c in cursors.iter().cycle().take(5) {
            client.get(&token, &with_cursor(&query, c)).await?;
        }
        let r2 = client.reads().await?;
        let reads_first = (r1 - r0) / 5.0;
        let reads_next = if cursors.is_empty() {
            0.0
        } else {
            (r2 - r1) / 5.0
        };

        // Latency: `clients` walkers, each `rounds / clients` rounds.
        let mut tasks = Vec::new();
        for w in 0..args.clients {
            let client = client.clone();
            let token = token.clone();
            let query = query.clone();
            let rounds = args.rounds / args.clients + u32::from(w < args.rounds % args.clients);
            let pages = args.pages;
            tasks.push(tokio::spawn(async move {
                let mut first = Latency::new();
                let mut next = Latency::new();
                let mut n = 0u64;
                for _ in 0..rounds {
                    let (p, took) = client.get(&token, &query).await?;
                    first.record(took);
                    n += 1;
                    let mut cursor = p["data"]["meta"]["next_cursor"]
                        .as_str()
                        .map(str::to_string);
                    for _ in 0..pages {
                        let Some(c) = cursor.take() else { break };
                        let (p, took) = client.get(&token, &with_cursor(&query, &c)).await?;
                        next.record(took);
                        n += 1;
                        cursor = p["data"]["meta"]["next_cursor"]
                            .as_str()
                            .map(str::to_string);
                    }
                }
                Ok::<_, Error>((first, next, n))
            }));
        }
        let mut first = Latency::new();
        let mut next = Latency::new();
        for t in tasks {
            let (f, x, n) = t
                .await
                .map_err(|e| Error::Protocol(format!("a client task failed: {e}")))??;
            first.merge(&f);
            next.merge(&x);
            requests += n;
        }
        overall.merge(&first);
        overall.merge(&next);
        reports.push(ScenarioReport {
            name,
            query,
            matching,
            first_page: first.summary(),
            cursor_pages: next.summary(),
            reads_per_first_page: reads_first,
            reads_per_cursor_page: reads_next,
        });
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(ListReport {
        url: args.url.clone(),
        rounds: args.rounds,
        pages: args.pages,
        clients: args.clients,
        scenarios: reports,
        overall: overall.summary(),
        requests_per_second: requests as f64 / secs.max(1e-9),
        loadavg_1m: crate::procfs::loadavg(),
    })
}
