//! Timers across two `parley serve` nodes on one PostgreSQL database and NATS: each fires
//! once, not once per node. Its cluster has a NATS subject prefix of its own, so it never
//! hears the other two-node tests running at the same time (all number accounts from 1).
//! Needs `PARLEY_TEST_POSTGRES_URL` and `PARLEY_TEST_NATS_URL`.

use crate::common;

use common::TestServer;
use common::ws::{Visitor, WsClient, api_inbox};
use serde_json::json;

/// Two nodes share one clock and one database: a reply-target timer fires once, not once
/// per node, and a claim race across nodes still has one winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timers_fire_once_across_nodes() {
    use std::sync::Arc;

    use parley_core::time::{ManualClock, SharedClock};
    let prefix = crate::multinode::cluster_prefix();
    let (Ok(pg), Ok(nats)) = (
        std::env::var("PARLEY_TEST_POSTGRES_URL"),
        std::env::var("PARLEY_TEST_NATS_URL"),
    ) else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping the two-node timer test: PostgreSQL and NATS URLs are both needed");
        return;
    };
    let (db_url, db_name) = parley_store::Store::create_test_database(&pg)
        .await
        .expect("test database");
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let start = |clock: SharedClock| {
        let db_url = db_url.clone();
        let nats = nats.clone();
        let prefix = prefix.clone();
        async move {
            let dir = tempfile::tempdir().expect("tempdir");
            let cfg = parley::Config {
                listen: "127.0.0.1:0".into(),
                data_dir: dir.path().to_path_buf(),
                database_url: Some(db_url),
                nats_url: Some(nats),
                nats_subject_prefix: prefix,
                ..parley::Config::default()
            };
            let opts = parley::StartOptions {
                clock,
                ..TestServer::fast_jobs()
            };
            TestServer::start_opts(cfg, dir, opts).await
        }
    };
    let a = start(clock.clone()).await;
    let mut b = start(clock.clone()).await;
    b.pg_database = Some((pg.clone(), db_name));

    // Both nodes made sure the periodic jobs exist: still one of each kind.
    crate::periodic::one_job_per_kind(&b).await;
    let admin = a.admin("Shop").await;
    let (inbox_id, inbox) = api_inbox(&a, &admin, "Site").await;
    let (st, body) = a
        .patch(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes/{inbox_id}", admin.account_id),
            json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 60,
                                                       "next_response_time_threshold": 60}}}}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    let mut conversations = Vec::new();
    for i in 0..10 {
        let v = Visitor::new(&a, &inbox).await;
        v.post(
            if i % 2 == 0 { &a } else { &b },
            v.conversation_id,
            "Hello?",
        )
        .await;
        conversations.push(v.conversation_id);
    }
    let mut watcher = WsClient::agent(&b, &admin, None).await;
    watcher.until_ready().await;
    clock.advance(61_000);
    let mut overdue = std::collections::BTreeMap::new();
    while overdue.len() < conversations.len() {
        let f = watcher.until("conversation.sla_overdue").await;
        *overdue
            .entry(f["data"]["id"].as_i64().unwrap())
            .or_insert(0) += 1;
    }
    // Give a second node's duplicate, if there were one, time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for id in &conversations {
        let (_, msgs) = b
            .get(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{id}/messages",
                    admin.account_id
                ),
            )
            .await;
        let lines = msgs["payload"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("target missed")
            })
            .count();
        assert_eq!(
            lines, 1,
            "conversation {id}: one overdue line, not one per node"
        );
    }
    assert!(overdue.values().all(|n| *n == 1), "{overdue:?}");
    a.stop().await;
    b.stop().await;
}
