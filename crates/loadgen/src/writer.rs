//! `loadgen writer`: the group-commit message writer's ceiling, without HTTP, sockets or
//! the hub — the store's share of the durable message path.
//!
//! Why: `loadgen messages` measures the whole server, where the database's work and the
//! socket and task hand-offs share two cores with the load generator. This drives the
//! store's own [`MessageWriter`] from in-process senders (closed loop: each sender waits
//! for its acknowledgement, then sends again), so what it reports is what the writer alone
//! can commit, and the CPU of the thread that runs SQLite next to everything else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parley_store::conversations::fixtures;
use parley_store::messages::{
    ConversationEffects, MessageInsert, MessageWithAttachments, MessageWriter, NewMessage, Waiting,
};
use parley_store::{Backend, Store, StoreOptions};
use serde::Serialize;

use crate::cli::{WriterArgs, check_database_url};
use crate::error::{Error, Result};
use crate::stats::{Latency, LatencySummary};

/// What one `loadgen writer` run measured.
#[derive(Debug, Serialize)]
pub struct WriterReport {
    pub mode: &'static str,
    pub backend: &'static str,
    pub conversations: u64,
    pub senders: u64,
    pub max_batch: u64,
    pub seconds: f64,
    pub messages: u64,
    pub messages_per_second: f64,
    pub duplicates: u64,
    pub errors: u64,
    pub ack: LatencySummary,
    /// CPU of the whole process (senders included), in cores.
    pub process_cores: f64,
    /// CPU of the threads named `sqlx-sqlite-worker-*` (SQLite's statements run there).
    pub sqlite_worker_cores: f64,
    pub cpu_us_per_message: f64,
    pub loadavg_1m: Option<f64>,
}

/// A visitor's message: incoming, it starts the conversation's wait and reopens it.
const VISITOR: ConversationEffects = ConversationEffects {
    first_reply: false,
    waiting: Waiting::Start,
    reopen: true,
};

pub async fn run(args: &WriterArgs) -> Result<WriterReport> {
    check_database_url(&args.database_url)?;
    let store = Store::connect(&args.database_url, StoreOptions::default()).await?;
    store.migrate().await?;
    let backend = store.backend();
    let account = store.create_account("loadgen writer", "en").await?;
    let (inbox, _) = fixtures::inbox(&store, account.id, "Site", "Channel::WebWidget").await?;
    let mut targets = Vec::with_capacity(args.conversations as usize);
    for i in 0..args.conversations {
        let (contact, ci, _) =
            fixtures::contact(&store, account.id, inbox, &format!("Visitor {i}")).await?;
        let c = fixtures::open_conversation(&store, account.id, inbox, (contact, ci)).await?;
        targets.push((c.id, contact));
    }
    let renderer = |m: &MessageWithAttachments| {
        serde_json::json!({
            "id": m.message.id,
            "content": m.message.content,
            "conversation_id": m.message.display_id,
            "message_type": m.message.message_type,
            "created_at": m.message.created_at / 1000,
            "sender": {"id": m.message.sender_id, "name": m.message.sender_name, "type": "contact"},
            "echo_id": m.message.echo_id,
        })
        .to_string()
    };
    let writer = MessageWriter::spawn(store.clone(), args.max_batch as usize, Arc::new(renderer));
    let targets = Arc::new(targets);
    let content: Arc<str> = crate::messages::content_text(args.content_bytes as usize).into();
    let next = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::with_capacity(args.senders as usize);
    for _ in 0..args.senders {
        let (writer, targets, next, counting, stop, content) = (
            writer.clone(),
            targets.clone(),
            next.clone(),
            counting.clone(),
            stop.clone(),
            content.clone(),
        );
        let account = account.id;
        senders.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let (conversation, contact) = targets[(i % targets.len() as u64) as usize];
                let m = NewMessage {
                    account_id: account,
                    inbox_id: inbox,
                    conversation_id: conversation,
                    message_type: 0,
                    content: Some(content.to_string()),
                    content_type: "text".into(),
                    content_attributes: "{}".into(),
                    additional_attributes: "{}".into(),
                    private: false,
                    status: "sent".into(),
                    sender_type: Some("Contact".into()),
                    sender_id: Some(contact),
                    echo_id: Some(format!("w-{i}")),
                    source_id: None,
                    attachments: vec![],
                    deliver: false,
                    cursor: None,
                    cursor_inbox_id: None,
                };
                let started = Instant::now();
                let r = writer.insert(m, VISITOR).await;
                if counting.load(Ordering::Relaxed) {
                    match r {
                        Ok(MessageInsert::Created { .. }) => {
                            tally.ok += 1;
                            tally.latency.record(started.elapsed());
                        }
                        Ok(MessageInsert::Duplicate { .. }) => tally.duplicates += 1,
                        Err(_) => tally.errors += 1,
                    }
                }
            }
            tally
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let cpu_before = thread_cpu()?;
    let started = Instant::now();
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    counting.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    let cpu_after = thread_cpu()?;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for s in senders {
        let t = s
            .await
            .map_err(|e| Error::Protocol(format!("a sender failed: {e}")))?;
        total.ok += t.ok;
        total.duplicates += t.duplicates;
        total.errors += t.errors;
        total.latency.merge(&t.latency);
    }
    let process = (cpu_after.0 - cpu_before.0).as_secs_f64();
    let sqlite = (cpu_after.1 - cpu_before.1).as_secs_f64();
    let messages_per_second = total.ok as f64 / seconds;
    Ok(WriterReport {
        mode: "writer",
        backend: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        conversations: args.conversations,
        senders: args.senders,
        max_batch: args.max_batch,
        seconds,
        messages: total.ok,
        messages_per_second,
        duplicates: total.duplicates,
        errors: total.errors,
        ack: total.latency.summary(),
        process_cores: process / seconds,
        sqlite_worker_cores: sqlite / seconds,
        cpu_us_per_message: if total.ok > 0 {
            process * 1e6 / total.ok as f64
        } else {
            0.0
        },
        loadavg_1m: crate::procfs::loadavg(),
    })
}

#[derive(Default)]
struct Tally {
    ok: u64,
    duplicates: u64,
    errors: u64,
    latency: Latency,
}

/// CPU time of this process and of its SQLite worker threads.
fn thread_cpu() -> Result<(Duration, Duration)> {
    let process = crate::procfs::cpu_time(None)?;
    let mut sqlite = Duration::ZERO;
    let dir = "/proc/self/task";
    let tasks = std::fs::read_dir(dir).map_err(|e| Error::io(dir.to_string(), e))?;
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.starts_with("sqlx-sqlite-wor") {
            let Ok(tid) = t.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            sqlite += crate::procfs::thread_cpu_time(tid)?;
        }
    }
    Ok((process, sqlite))
}

impl WriterReport {
    pub fn print(&self) {
        println!(
            "{} writer: {:.0} msg/s over {:.1} s ({} conversations, {} senders, batches ≤ {})",
            self.backend,
            self.messages_per_second,
            self.seconds,
            self.conversations,
            self.senders,
            self.max_batch
        );
        println!(
            "ack p50 {:.2} ms, p99 {:.2} ms; duplicates {}, errors {}",
            self.ack.p50_ms, self.ack.p99_ms, self.duplicates, self.errors
        );
        println!(
            "CPU: process {:.2} cores ({:.0} µs per message), SQLite worker threads {:.2} cores",
            self.process_cores, self.cpu_us_per_message, self.sqlite_worker_cores
        );
    }
}
