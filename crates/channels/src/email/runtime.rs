//! One import task per e-mail inbox with IMAP settings, started, restarted (settings
//! changed) and stopped (inbox deleted, IMAP removed) by the shared supervisor. A task
//! holds the inbox's cluster-wide lease, so exactly one node reads a mailbox, and runs the
//! library's [`Importer`] (backlog, then IDLE or polling, reconnecting with backoff) into
//! the ingest target; when the lease is lost the import stops at once and waits to take
//! it back. The cursor moves with each imported letter, so stopping anywhere loses and
//! duplicates nothing.

use std::time::Duration;

use parley_core::ChannelType;
use parley_service::Services;
use parley_service::inboxes::InboxRow;

use super::imap::Importer;
use super::ingest::Target;
use super::provider::{imap_settings, import_key};

/// How long a lease lasts without renewal; renewed every third of it.
const LEASE_TTL: Duration = Duration::from_secs(60);
/// How often a node without the lease tries to take it.
const LEASE_RETRY: Duration = Duration::from_secs(5);

/// The supervisor of the e-mail inboxes' import tasks.
pub async fn run(svc: Services) {
    let start = |inbox: InboxRow| mailbox(svc.clone(), inbox.id);
    crate::supervisor::supervise(
        svc.clone(),
        ChannelType::Email,
        "email_import",
        import_key,
        start,
    )
    .await;
}

/// One inbox's import task.
async fn mailbox(svc: Services, inbox_id: i64) {
    loop {
        match svc.take_channel_lease(inbox_id, LEASE_TTL).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::time::sleep(LEASE_RETRY).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "channel lease failed");
                tokio::time::sleep(LEASE_RETRY).await;
                continue;
            }
        }
        let inbox = match svc.channel_inbox(inbox_id).await {
            Ok(Some(i)) => i,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "reading the inbox failed");
                tokio::time::sleep(LEASE_RETRY).await;
                continue;
            }
        };
        let Some(settings) = imap_settings(&inbox.settings_map()) else {
            return;
        };
        if let Err(e) = svc.channel_connecting(inbox_id).await {
            tracing::warn!(error = %e, "recording the connection state failed");
        }
        let importer = Importer::new(settings, Target::new(svc.clone(), inbox));
        tokio::select! {
            () = importer.run() => {}
            () = keep_lease(&svc, inbox_id) => {
                tracing::warn!("the mailbox's lease was lost; import stopped");
            }
        }
    }
}

/// Renews the lease until another node holds it.
async fn keep_lease(svc: &Services, inbox_id: i64) {
    loop {
        tokio::time::sleep(LEASE_TTL / 3).await;
        match svc.take_channel_lease(inbox_id, LEASE_TTL).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "renewing the channel lease failed"),
        }
    }
}
