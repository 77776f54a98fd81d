//! `loadgen telegram`: Telegram ingest at a fixed rate through a local Bot API server.
//!
//! loadgen serves the Bot API itself (the JSON shapes of getMe, deleteWebhook, getUpdates
//! with offsets and long polling, sendMessage, sendChatAction) on `--bot-api-listen`; the
//! server under test runs with `telegram_api_url` pointing there. loadgen creates a
//! Telegram inbox, opens agent sockets, then queues private text messages from `--users`
//! different people at an aggregate `--rate` per second, open-loop. Each message's text
//! carries its index, so an agent socket's `message.created` gives its latency (queued →
//! seen by the agent, which includes the long poll's pick-up) and exposes anything lost
//! or imported twice. Run `loadgen messages` at the same time to see whether the
//! widget's path slows down (docs/benchmarks.md).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::api::Api;
use crate::cli::TelegramArgs;
use crate::error::{Error, Result};
use crate::pacing::Schedule;
use crate::procfs::{CpuMark, CpuUse};
use crate::sightings::Sightings;
use crate::stats::LatencySummary;
use crate::target::{self, Target};

/// Updates one getUpdates answer carries at most (the Bot API's own limit).
const MAX_BATCH: usize = 100;
/// How long the report waits for another message after the sending stops.
const DRAIN: Duration = Duration::from_secs(30);

/// The queue of the local Bot API: updates not yet confirmed by an offset.
struct BotApi {
    /// The URL segment of this run's bot (`bot<token>`); earlier runs' bots, still polling
    /// the same server, get empty answers.
    bot: String,
    queue: Mutex<VecDeque<(i64, Value)>>,
    arrived: Notify,
    get_updates: AtomicU64,
    served: AtomicU64,
    sent_by_server: AtomicU64,
}

impl BotApi {
    /// Drops what the offset confirms and returns up to [`MAX_BATCH`] updates after it.
    fn take(&self, offset: i64) -> Vec<Value> {
        let Ok(mut q) = self.queue.lock() else {
            return Vec::new();
        };
        while q.front().is_some_and(|(id, _)| *id < offset) {
            q.pop_front();
        }
        q.iter().take(MAX_BATCH).map(|(_, u)| u.clone()).collect()
    }
}

fn ok(result: Value) -> axum::Json<Value> {
    axum::Json(json!({"ok": true, "result": result}))
}

async fn method(
    State(api): State<Arc<BotApi>>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match method.as_str() {
        "getMe" => ok(json!({
            "id": 700_000_001, "is_bot": true, "first_name": "Bench", "username": "bench_bot"
        })),
        "getUpdates" => {
            let wait = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0).min(50));
            if bot != api.bot {
                tokio::time::sleep(wait).await;
                return ok(json!([]));
            }
            api.get_updates.fetch_add(1, Ordering::Relaxed);
            let offset = params["offset"].as_i64().unwrap_or(0);
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let notified = api.arrived.notified();
                let batch = api.take(offset);
                if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                    api.served.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return ok(Value::Array(batch));
                }
                let _ = tokio::time::timeout_at(deadline, notified).await;
            }
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let n = api.sent_by_server.fetch_add(1, Ordering::Relaxed);
            ok(json!({"message_id": 900_000_000 + n as i64, "date": 0,
                "chat": {"id": params["chat_id"], "type": "private"}}))
        }
        _ => ok(Value::Bool(true)),
    }
}

/// One queued update: a private text message of user `user`.
fn update(id: i64, user: u64, text: &str) -> Value {
    let uid = 800_000_000 + user as i64;
    json!({
        "update_id": id,
        "message": {
            "message_id": id,
            "date": 0,
            "from": {"id": uid, "is_bot": false, "first_name": "Customer", "last_name": user.to_string(), "language_code": "ru"},
            "chat": {"id": uid, "type": "private", "first_name": "Customer"},
            "text": text,
        }
    })
}

/// The report of a run.
#[derive(Debug, Serialize)]
pub struct TelegramReport {
    pub rate_offered: u64,
    pub users: u64,
    pub agents: u64,
    pub seconds: f64,
    pub queued: u64,
    /// Distinct messages agents saw (each counted once, whichever agent saw it first).
    pub imported: u64,
    pub missing: u64,
    pub duplicates: u64,
    /// Imported per second over the sending window and the drain after it.
    pub imported_per_sec: f64,
    pub get_updates_calls: u64,
    pub mean_batch: f64,
    pub latency: LatencySummary,
    pub cpu: CpuUse,
    pub loadavg: Option<f64>,
}

impl TelegramReport {
    pub fn print(&self) {
        println!(
            "telegram: {} updates/s offered from {} users for {:.1} s, {} agent socket(s)",
            self.rate_offered, self.users, self.seconds, self.agents
        );
        println!(
            "  queued {}  imported {}  missing {}  duplicate {}  -> {:.0} imported/s",
            self.queued, self.imported, self.missing, self.duplicates, self.imported_per_sec
        );
        println!(
            "  getUpdates calls {} (mean {:.1} updates per answer)",
            self.get_updates_calls, self.mean_batch
        );
        println!("{}", LatencySummary::header());
        println!("{}", self.latency.row("queued→agent"));
        if let Some(c) = self.cpu.server_cores {
            println!("  server CPU {c:.2} cores");
        }
        if let Some(l) = self.loadavg {
            println!("  load average {l:.2}");
        }
    }
}

pub async fn run(a: &TelegramArgs) -> Result<TelegramReport> {
    let target = Target::parse(&a.server.url)?;
    let listen: SocketAddr = a
        .bot_api_listen
        .parse()
        .map_err(|_| Error::usage("--bot-api-listen is not an address:port"))?;
    if !listen.ip().is_loopback() {
        return Err(Error::usage("--bot-api-listen must be a loopback address"));
    }
    let sources = match &a.server.source_addrs {
        Some(list) => Some(target::SourceRotation::new(target::parse_source_addrs(
            list, &target,
        )?)),
        None => None,
    };
    let total = a.rate * a.duration;

    let run = format!("tg{}", std::process::id());
    let token = format!("700000001:{run}");
    let bot = Arc::new(BotApi {
        bot: format!("bot{token}"),
        queue: Mutex::new(VecDeque::new()),
        arrived: Notify::new(),
        get_updates: AtomicU64::new(0),
        served: AtomicU64::new(0),
        sent_by_server: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::usage(format!("--bot-api-listen {listen}: {e}")))?;
    let app = Router::new()
        .route("/{bot}/{method}", post(method))
        .with_state(bot.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let api = Api::new(&target, &a.server.token, a.server.account, 8)?;
    api.check_access().await?;
    let inbox = api
        .create_telegram_inbox(&format!("Bench {run}"), &token)
        .await?;

    let agent_url = target.ws_url(&format!("/api/v1/accounts/{}/realtime", a.server.account));
    let schedule = Schedule::for_duration(a.rate, Duration::from_secs(a.duration), total);
    let seen = Sightings::open(
        target.addr,
        sources.as_ref(),
        &agent_url,
        api.token(),
        a.agents,
        (&run, Some(inbox), total),
    )
    .await?;

    // Open-loop: message i is queued at its scheduled time, however the server keeps up.
    let cpu = CpuMark::now(a.server.server_pid);
    let t0 = Instant::now();
    seen.started(t0, schedule);
    for i in 0..total {
        tokio::time::sleep_until((t0 + schedule.offset(i)).into()).await;
        let id = i as i64 + 1;
        let u = update(
            id,
            i % a.users,
            &format!("{run} {i} Здравствуйте, где мой заказ?"),
        );
        if let Ok(mut q) = bot.queue.lock() {
            q.push_back((id, u));
        }
        bot.arrived.notify_waiters();
    }
    seen.settle(DRAIN).await;
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = cpu.since();
    let t = seen.finish().await?;
    let window = t
        .last
        .map_or(seconds, |l| l.duration_since(t0).as_secs_f64());
    let calls = bot.get_updates.load(Ordering::Relaxed);
    Ok(TelegramReport {
        rate_offered: a.rate,
        users: a.users,
        agents: a.agents,
        seconds,
        queued: total,
        imported: t.imported,
        missing: t.missing,
        duplicates: t.duplicates,
        imported_per_sec: if window > 0.0 {
            t.imported as f64 / window
        } else {
            0.0
        },
        get_updates_calls: calls,
        mean_batch: bot.served.load(Ordering::Relaxed) as f64 / calls.max(1) as f64,
        latency: t.latency,
        cpu,
        loadavg: crate::procfs::loadavg(),
    })
}
