//! One task per Telegram inbox. It holds the inbox's cluster-wide lease (so exactly one
//! node polls a bot), then either long-polls `getUpdates` from the stored offset — the
//! offset moves in the same transaction as each imported message — or, when the server's
//! public URL is https, registers the webhook with its secret and keeps the lease.
//!
//! The supervisor re-reads the inbox list when an inbox is created, changed or deleted
//! (and every 30 s), starting, restarting or stopping bots' tasks to match.

use std::collections::HashMap;
use std::time::Duration;

use parley_core::ChannelType;
use parley_service::Services;
use parley_service::inboxes::InboxRow;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::api::BotApi;
use super::inbound::{Outcome, handle_update};
use super::{TelegramConfig, token_of};

/// How often the supervisor re-reads the inbox list without a signal.
const RESCAN: Duration = Duration::from_secs(30);
/// Longest wait after a failing Bot API call.
const MAX_ERROR_WAIT: Duration = Duration::from_secs(60);

/// The supervisor (see the module's text).
pub async fn run(svc: Services, api: BotApi, cfg: TelegramConfig) {
    // Each bot's task, with the token it was started with (a changed token restarts it).
    let mut bots = Bots::default();
    loop {
        let bots = &mut bots.0;
        match svc.channel_inboxes(ChannelType::Telegram).await {
            Ok(inboxes) => {
                let live: std::collections::HashSet<i64> = inboxes.iter().map(|i| i.id).collect();
                bots.retain(|id, (_, task)| {
                    let keep = live.contains(id) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for inbox in inboxes {
                    let token = token_of(&inbox.settings_map())
                        .unwrap_or_default()
                        .to_string();
                    if bots.get(&inbox.id).is_some_and(|(t, _)| *t == token) {
                        continue;
                    }
                    if let Some((_, old)) = bots.remove(&inbox.id) {
                        old.abort();
                    }
                    let span = tracing::info_span!("job", name = "telegram_bot", inbox = inbox.id);
                    let task = tokio::spawn(
                        bot(svc.clone(), api.clone(), cfg.clone(), inbox.id).instrument(span),
                    );
                    bots.insert(inbox.id, (token, task));
                }
            }
            Err(e) => tracing::warn!(error = %e, "listing Telegram inboxes failed"),
        }
        tokio::select! {
            _ = svc.wait_channels_changed() => {}
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
}

/// The bots' tasks; dropping the supervisor (aborted at shutdown) aborts them all.
#[derive(Default)]
struct Bots(HashMap<i64, (String, JoinHandle<()>)>);

impl Drop for Bots {
    fn drop(&mut self) {
        for (_, (_, task)) in self.0.drain() {
            task.abort();
        }
    }
}

/// One bot's task: lease, then polling or the webhook.
async fn bot(svc: Services, api: BotApi, cfg: TelegramConfig, inbox_id: i64) {
    let lease_ttl = cfg.poll_timeout * 2 + Duration::from_secs(15);
    let mut errors = 0u32;
    let mut webhook_set = false;
    let mut webhook_cleared = false;
    loop {
        let wait_after_error =
            |errors: u32| Duration::from_secs(1u64 << errors.min(6)).min(MAX_ERROR_WAIT);
        match svc.take_channel_lease(inbox_id, lease_ttl).await {
            Ok(true) => {}
            Ok(false) => {
                // Another node serves this bot; take over if its lease runs out.
                tokio::time::sleep(cfg.poll_timeout.max(Duration::from_secs(1))).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "channel lease failed");
                tokio::time::sleep(wait_after_error(errors)).await;
                errors += 1;
                continue;
            }
        }
        let inbox: InboxRow = match svc.channel_inbox(inbox_id).await {
            Ok(Some(i)) => i,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "reading the inbox failed");
                tokio::time::sleep(wait_after_error(errors)).await;
                errors += 1;
                continue;
            }
        };
        let settings = inbox.settings_map();
        let Some(token) = token_of(&settings).map(str::to_string) else {
            return;
        };
        if let Some(url) = cfg.webhook_url(inbox_id) {
            if !webhook_set {
                let secret = inbox.setting_str("webhook_secret").unwrap_or_default();
                match api.set_webhook(&token, &url, &secret).await {
                    Ok(_) => {
                        tracing::info!(url = %url, "Telegram webhook set");
                        webhook_set = true;
                        errors = 0;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "setWebhook failed");
                        tokio::time::sleep(wait_after_error(errors)).await;
                        errors += 1;
                        continue;
                    }
                }
            }
            // The lease is kept so that, behind several nodes, one of them owns the bot.
            tokio::time::sleep(lease_ttl / 3).await;
            continue;
        }
        if !webhook_cleared {
            // A webhook left from an earlier https setup would make getUpdates fail.
            match api.delete_webhook(&token).await {
                Ok(_) => webhook_cleared = true,
                Err(e) => {
                    tracing::warn!(error = %e, "deleteWebhook failed");
                    tokio::time::sleep(wait_after_error(errors)).await;
                    errors += 1;
                    continue;
                }
            }
        }
        let offset = match svc.channel_cursor(inbox_id).await {
            Ok(c) => c.and_then(|c| c.parse::<i64>().ok()).unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "reading the update offset failed");
                tokio::time::sleep(wait_after_error(errors)).await;
                errors += 1;
                continue;
            }
        };
        let updates = match api.get_updates(&token, offset, cfg.poll_timeout).await {
            Ok(u) => u,
            Err(e) => {
                if e.is_bad_token() {
                    tracing::error!(error = %e, "Telegram refused the bot token");
                    tokio::time::sleep(MAX_ERROR_WAIT).await;
                } else {
                    tracing::warn!(error = %e, "getUpdates failed");
                    tokio::time::sleep(wait_after_error(errors)).await;
                }
                errors += 1;
                continue;
            }
        };
        errors = 0;
        for u in updates {
            let cursor = (u.update_id + 1).to_string();
            let id = u.update_id;
            match handle_update(&svc, &api, &inbox, &token, u, Some(cursor.clone())).await {
                Ok(Outcome::Stored) => {}
                Ok(Outcome::Other) => {
                    if let Err(e) = svc.advance_channel_cursor(inbox_id, &cursor).await {
                        tracing::warn!(error = %e, "storing the update offset failed");
                        break;
                    }
                }
                Err(e) => {
                    // Not imported: the offset stays, the update comes again next poll.
                    tracing::warn!(update = id, error = %e, "Telegram update not imported; will retry");
                    tokio::time::sleep(wait_after_error(errors)).await;
                    errors += 1;
                    break;
                }
            }
        }
    }
}
