//! One task per Telegram inbox. It holds the inbox's cluster-wide lease (so exactly one
//! node polls a bot), then either long-polls `getUpdates` from the stored offset — the
//! offset moves in the same transaction as each imported message — or, when the server's
//! public URL is https, registers the webhook with its secret and keeps the lease.
//!
//! The shared supervisor ([`crate::supervisor`]) starts, restarts (on a new token) and
//! stops the bots' tasks as inboxes are created, changed or deleted.

use std::time::Duration;

use parley_core::ChannelType;
use parley_service::Services;
use parley_service::inboxes::InboxRow;

use parley_service::delivery::ProbeFailure;

use super::api::BotApi;
use super::inbound::{Outcome, handle_update};
use super::{TelegramConfig, token_of};

/// Longest wait after a failing Bot API call.
const MAX_ERROR_WAIT: Duration = Duration::from_secs(60);

/// The supervisor (see the module's text): one task per bot, restarted when its token
/// changes.
pub async fn run(svc: Services, api: BotApi, cfg: TelegramConfig) {
    let key = |inbox: &InboxRow| token_of(&inbox.settings_map()).map(str::to_string);
    let start = |inbox: InboxRow| bot(svc.clone(), api.clone(), cfg.clone(), inbox.id);
    crate::supervisor::supervise(
        svc.clone(),
        ChannelType::Telegram,
        "telegram_bot",
        key,
        start,
    )
    .await;
}

/// One bot's task: lease, then polling or the webhook.
async fn bot(svc: Services, api: BotApi, cfg: TelegramConfig, inbox_id: i64) {
    let lease_ttl = cfg.poll_timeout * 2 + Duration::from_secs(15);
    let mut errors = 0u32;
    let mut webhook_set = false;
    let mut webhook_cleared = false;
    // What the inbox view was last told: connected or not (`None`: nothing yet).
    let mut connected: Option<bool> = None;
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
                        report(&svc, inbox_id, &mut connected, None).await;
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
            Ok(u) => {
                report(&svc, inbox_id, &mut connected, None).await;
                u
            }
            Err(e) => {
                let failure = ProbeFailure {
                    step: if e.is_bad_token() { "token" } else { "network" },
                    code: if e.is_bad_token() {
                        "invalid_token"
                    } else {
                        "unreachable"
                    },
                    detail: e.to_string(),
                    texts: None,
                };
                report(&svc, inbox_id, &mut connected, Some(&failure)).await;
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

/// Records the bot's connection state for the inbox view when it changes (a failure's
/// details are recorded each time, so the newest words are shown).
async fn report(
    svc: &Services,
    inbox_id: i64,
    connected: &mut Option<bool>,
    failure: Option<&ProbeFailure>,
) {
    let now = failure.is_none();
    if *connected == Some(true) && now {
        return;
    }
    *connected = Some(now);
    let r = match failure {
        None => svc.channel_connected(inbox_id).await,
        Some(f) => svc.channel_connection_failed(inbox_id, f).await,
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "recording the connection state failed");
    }
}
