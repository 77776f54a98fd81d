//! Periodic work (the routing sweep, snooze expiry, event pruning) as durable jobs: one job
//! per kind in the shared table, run by whichever node claims it, at its next time after a
//! run. Both backends, with the server's clock in the test's hands.

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use common::TestServer;
use common::ws::{Visitor, WsClient, api_inbox};
use parley_core::time::{Clock, ManualClock};
use serde_json::json;

const KINDS: [&str; 3] = ["sweep", "reopen_snoozed", "prune_events"];

/// Waits until the store holds exactly one pending job of each periodic kind (however many
/// nodes share it).
pub(crate) async fn one_job_per_kind(s: &TestServer) {
    loop {
        let mut counts = Vec::new();
        for kind in KINDS {
            counts.push(s.store().pending_jobs(kind).await.expect("jobs").len());
        }
        assert!(counts.iter().all(|n| *n <= 1), "{counts:?}");
        if counts.iter().all(|n| *n == 1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn snooze_expiry_and_pruning_run_as_jobs(s: TestServer, clock: Arc<ManualClock>) {
    one_job_per_kind(&s).await;
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(&s, &admin, "Site").await;
    let v = Visitor::new(&s, &inbox).await;
    v.post(&s, v.conversation_id, "Hello").await;
    let until = clock.now_ms() / 1000 + 60;
    let (st, r) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/toggle_status",
                admin.account_id, v.conversation_id
            ),
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert!(st.is_success(), "{r}");
    assert_eq!(r["payload"]["current_status"], "snoozed");

    // The snooze runs out: the periodic job reopens the conversation, once.
    let mut watcher = WsClient::agent(&s, &admin, None).await;
    watcher.until_ready().await;
    clock.advance(61_000);
    let f = watcher.until("conversation.status_changed").await;
    assert_eq!(f["data"]["id"], v.conversation_id);
    assert_eq!(f["data"]["status"], "open");
    // After the run the job is scheduled for its next time (not dropped, not doubled).
    loop {
        one_job_per_kind(&s).await;
        let next = s
            .store()
            .pending_jobs("reopen_snoozed")
            .await
            .expect("jobs");
        if next[0].run_at > clock.now_ms() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Eight days later every stored event is past the seven-day retention: the pruning
    // job deletes them, so a client resuming from the first event must resync.
    clock.advance(8 * 86_400_000);
    loop {
        let mut c = WsClient::agent(&s, &admin, Some(1)).await;
        if c.json().await["event"] == "resync" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    one_job_per_kind(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn sqlite_snooze_expiry_and_pruning_run_as_jobs() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
    snooze_expiry_and_pruning_run_as_jobs(s, clock).await;
}

#[tokio::test]
async fn postgres_snooze_expiry_and_pruning_run_as_jobs() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
        return;
    };
    snooze_expiry_and_pruning_run_as_jobs(s, clock).await;
}
