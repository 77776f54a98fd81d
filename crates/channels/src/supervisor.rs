//! The one supervisor of every channel's per-inbox tasks: it re-reads the inboxes of its
//! channel type when an inbox is created, changed or deleted (and every 30 s), and
//! starts, restarts or stops one task per inbox to match. What a task does (poll a bot,
//! import a mailbox) is the channel's; when a task must restart is decided by a key the
//! channel derives from the inbox's settings (a bot token, the IMAP settings): a changed
//! key restarts the task, no key means the inbox needs no task.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use parley_core::ChannelType;
use parley_service::Services;
use parley_service::inboxes::InboxRow;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How often the supervisor re-reads the inbox list without a signal.
const RESCAN: Duration = Duration::from_secs(30);

/// Runs forever (abort it to stop every task). `key` says whether an inbox needs a task
/// and with which settings; `start` makes the task of an inbox (it runs in a `job` span
/// named `name`).
pub async fn supervise<K, S, F>(
    svc: Services,
    channel: ChannelType,
    name: &'static str,
    key: K,
    start: S,
) where
    K: Fn(&InboxRow) -> Option<String>,
    S: Fn(InboxRow) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut changes = svc.watch_channels();
    let mut tasks = Tasks::default();
    loop {
        match svc.channel_inboxes(channel).await {
            Ok(inboxes) => {
                let wanted: HashMap<i64, String> = inboxes
                    .iter()
                    .filter_map(|i| key(i).map(|k| (i.id, k)))
                    .collect();
                tasks.0.retain(|id, (k, task)| {
                    let keep = wanted.get(id) == Some(k) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for inbox in inboxes {
                    let (Some(k), false) = (wanted.get(&inbox.id), tasks.0.contains_key(&inbox.id))
                    else {
                        continue;
                    };
                    let id = inbox.id;
                    let span = tracing::info_span!("job", name, inbox = id);
                    let task = tokio::spawn(start(inbox).instrument(span));
                    tasks.0.insert(id, (k.clone(), task));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, channel = channel.short(), "listing channel inboxes failed")
            }
        }
        tokio::select! {
            r = changes.changed() => {
                if r.is_err() {
                    // The services are gone (shutdown): rescan on the timer only.
                    tokio::time::sleep(RESCAN).await;
                }
            }
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
}

/// The inboxes' tasks with their keys; dropping the supervisor (aborted at shutdown)
/// aborts them all.
#[derive(Default)]
struct Tasks(HashMap<i64, (String, JoinHandle<()>)>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for (_, (_, task)) in self.0.drain() {
            task.abort();
        }
    }
}
