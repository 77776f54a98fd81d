//! Counting inbound channel messages as agents see them: a run's messages carry
//! `<run> <index> …` in their text, so each agent socket's `message.created` in the
//! run's inbox says which message arrived, when (latency from its scheduled time, when
//! there is one), and whether anything was lost or imported twice. Used by the channel
//! workloads (`telegram`, `email-backlog`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::conn;
use crate::error::{Error, Result};
use crate::pacing::Schedule;
use crate::stats::{Latency, LatencySummary};
use crate::target::SourceRotation;
use crate::ws::Ws;

/// What the agent sockets saw, by message index.
struct Seen {
    /// When an agent first saw each message.
    first: Vec<Option<Instant>>,
    /// Sightings of each message over all agent sockets (one per socket is right).
    sightings: Vec<u32>,
    latency: Latency,
    /// The start of sending, once known (latency counts from it plus the schedule).
    started: Option<(Instant, Schedule)>,
}

/// The agent sockets of a run and what they saw.
pub struct Sightings {
    seen: Arc<Mutex<Seen>>,
    agents: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    sockets: u64,
}

/// The tally at the end of a run.
pub struct Tally {
    pub imported: u64,
    pub missing: u64,
    pub duplicates: u64,
    /// When the last message was first seen.
    pub last: Option<Instant>,
    pub latency: LatencySummary,
}

impl Sightings {
    /// Opens `sockets` agent sockets on `url`, each counting messages `0..total` of `run`
    /// (in `inbox` when given: the inbox may not exist yet when the sockets must open).
    pub async fn open(
        server: SocketAddr,
        sources: Option<&SourceRotation>,
        url: &str,
        token: &str,
        sockets: u64,
        (run, inbox, total): (&str, Option<i64>, u64),
    ) -> Result<Self> {
        let seen = Arc::new(Mutex::new(Seen {
            first: vec![None; total as usize],
            sightings: vec![0; total as usize],
            latency: Latency::new(),
            started: None,
        }));
        let (stop, stop_rx) = watch::channel(false);
        let mut agents = Vec::new();
        for i in 0..sockets {
            let ws = conn::open_ready(server, sources, i as usize, url, Some(token)).await?;
            agents.push(tokio::spawn(agent(
                ws,
                run.to_string(),
                inbox,
                seen.clone(),
                stop_rx.clone(),
            )));
        }
        Ok(Self {
            seen,
            agents,
            stop,
            sockets,
        })
    }

    /// Sending starts now on `schedule`: latencies count from each message's due time.
    pub fn started(&self, at: Instant, schedule: Schedule) {
        if let Ok(mut s) = self.seen.lock() {
            s.started = Some((at, schedule));
        }
    }

    /// Messages seen so far.
    pub fn count(&self) -> u64 {
        self.seen
            .lock()
            .map(|s| s.first.iter().filter(|t| t.is_some()).count() as u64)
            .unwrap_or(0)
    }

    /// Waits until every message was seen, or no new one came for `quiet`.
    pub async fn settle(&self, quiet: Duration) {
        let total = self.seen.lock().map(|s| s.first.len() as u64).unwrap_or(0);
        let mut last = (self.count(), Instant::now());
        loop {
            let n = self.count();
            if n >= total {
                return;
            }
            if n != last.0 {
                last = (n, Instant::now());
            } else if last.1.elapsed() >= quiet {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Closes the sockets and counts.
    pub async fn finish(self) -> Result<Tally> {
        let _ = self.stop.send(true);
        for h in self.agents {
            let _ = h.await;
        }
        let s = self
            .seen
            .lock()
            .map_err(|_| Error::Protocol("agent tally poisoned".into()))?;
        let imported = s.first.iter().filter(|t| t.is_some()).count() as u64;
        Ok(Tally {
            imported,
            missing: s.first.len() as u64 - imported,
            duplicates: s
                .sightings
                .iter()
                .map(|&n| u64::from(n).saturating_sub(self.sockets))
                .sum(),
            last: s.first.iter().flatten().max().copied(),
            latency: s.latency.summary(),
        })
    }
}

/// The index of a message text `<run> <index> …` of this run.
fn index_of(run: &str, content: &str) -> Option<usize> {
    content
        .trim_start()
        .strip_prefix(run)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One agent socket: records the first sighting of each of this run's messages in the
/// inbox and counts every sighting.
async fn agent(
    mut ws: Ws,
    run: String,
    inbox: Option<i64>,
    seen: Arc<Mutex<Seen>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => return,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            _ => return,
        };
        if !text.contains("message.created") || !text.contains(run.as_str()) {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if v["event"] != "message.created"
            || inbox.is_some_and(|i| v["data"]["inbox_id"].as_i64() != Some(i))
        {
            continue;
        }
        let Some(index) = v["data"]["content"]
            .as_str()
            .and_then(|c| index_of(&run, c))
        else {
            continue;
        };
        let now = Instant::now();
        let Ok(mut s) = seen.lock() else { return };
        let Some(n) = s.sightings.get_mut(index) else {
            continue;
        };
        *n += 1;
        if s.first[index].is_none() {
            s.first[index] = Some(now);
            if let Some((t0, schedule)) = s.started {
                let due = t0 + schedule.offset(index as u64);
                s.latency.record(now.saturating_duration_since(due));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_of_reads_only_this_runs_messages() {
        assert_eq!(index_of("tg7", "tg7 12 Здравствуйте"), Some(12));
        assert_eq!(index_of("tg7", "  tg7 0"), Some(0));
        assert_eq!(index_of("tg7", "tg8 12 hello"), None);
        assert_eq!(index_of("tg7", "tg7 x"), None);
        assert_eq!(index_of("tg7", "hello tg7 3"), None);
    }
}
