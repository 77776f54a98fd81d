//! One task per Telegram inbox. It holds the inbox's cluster-wide lease (so exactly one
//! node polls a bot), then either long-polls `getUpdates` from the stored offset (see
//! [`import`] for how an answer is imported and the offset moved) or, when the server's
//! public URL is https, registers the webhook with its secret and keeps the lease.
//!
//! The shared supervisor ([`crate::supervisor`]) starts, restarts (on a new token) and
//! stops the bots' tasks as inboxes are created, changed or deleted.

use std::collections::HashMap;
use std::time::Duration;

use parley_core::ChannelType;
use parley_service::Services;
use parley_service::inboxes::InboxRow;

use parley_service::delivery::ProbeFailure;

use super::api::BotApi;
use super::inbound::{Outcome, handle_update};
use super::types::Update;
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
        if let Err(e) = import(&svc, &api, &inbox, &token, updates).await {
            tracing::warn!(error = %e, "Telegram updates not all imported; will retry");
            tokio::time::sleep(wait_after_error(errors)).await;
            errors += 1;
        }
    }
}

/// Imports one `getUpdates` answer. Different chats' updates are imported concurrently,
/// so their commits share the store's group commit instead of waiting for one fsync
/// each; one chat's updates stay in order. The offset then moves past the longest prefix
/// of the answer that was handled. An update handled after an earlier one failed comes
/// again with the next poll and is recognised by its source id (stored once), so the
/// offset may lag but never skips an update.
async fn import(
    svc: &Services,
    api: &BotApi,
    inbox: &InboxRow,
    token: &str,
    mut updates: Vec<Update>,
) -> parley_service::Result<()> {
    let Some(last) = updates.last().map(|u| u.update_id) else {
        return Ok(());
    };
    let first = updates.first().map_or(last, |u| u.update_id);
    // A single update keeps its offset in the same transaction as its message.
    if updates.len() == 1
        && let Some(u) = updates.pop()
    {
        let cursor = (last + 1).to_string();
        return match handle_update(svc, api, inbox, token, u, Some(cursor.clone())).await? {
            Outcome::Stored => Ok(()),
            Outcome::Other => svc.advance_channel_cursor(inbox.id, &cursor).await,
        };
    }
    let mut chains: HashMap<i64, Vec<Update>> = HashMap::new();
    for u in updates {
        let chat = u
            .message
            .as_ref()
            .or(u.edited_message.as_ref())
            .map_or(0, |m| m.chat.id);
        chains.entry(chat).or_default().push(u);
    }
    // Each chain stops at its first failure; its id is the first update not handled.
    let failed = futures::future::join_all(chains.into_values().map(|chain| async move {
        for u in chain {
            let id = u.update_id;
            if let Err(e) = handle_update(svc, api, inbox, token, u, None).await {
                tracing::warn!(update = id, error = %e, "Telegram update not imported; will retry");
                return Some((id, e));
            }
        }
        None
    }))
    .await
    .into_iter()
    .flatten()
    .min_by_key(|(id, _)| *id);
    match failed {
        Some((id, e)) => {
            if id > first {
                svc.advance_channel_cursor(inbox.id, &id.to_string())
                    .await?;
            }
            Err(e)
        }
        None => {
            svc.advance_channel_cursor(inbox.id, &(last + 1).to_string())
                .await
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
