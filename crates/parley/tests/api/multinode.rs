//! Two `parley serve` nodes on one PostgreSQL database, sharing events over NATS: a visitor
//! on node A and an agent on node B talk in real time, and a client resumes on the other
//! node from the cursor it got on the first. Needs `PARLEY_TEST_POSTGRES_URL` and
//! `PARLEY_TEST_NATS_URL`; skipped with a printed reason otherwise (`.ci/run` sets both).

use crate::common;

use common::TestServer;
use common::ws::{Visitor, WsClient, api_inbox};
use serde_json::{Value, json};

async fn node(db_url: &str, nats: &str, prefix: &str) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = parley::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(db_url.into()),
        nats_url: Some(nats.into()),
        nats_subject_prefix: prefix.into(),
        ..parley::Config::default()
    };
    TestServer::start(cfg, dir).await
}

/// A NATS subject prefix of one test's cluster: every test database numbers its accounts
/// from 1, so two clusters running at once stay apart only by their prefixes.
pub(crate) fn cluster_prefix() -> String {
    format!("test-{}", parley_bus::nats::random_node_id())
}

fn send_frame(conversation_id: i64, content: &str, echo: &str) -> Value {
    json!({"type": "message.create", "conversation_id": conversation_id, "content": content, "echo_id": echo})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn visitor_on_one_node_and_agent_on_another_talk_in_real_time() {
    let (Ok(pg), Ok(nats)) = (
        std::env::var("PARLEY_TEST_POSTGRES_URL"),
        std::env::var("PARLEY_TEST_NATS_URL"),
    ) else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!(
            "skipping the two-node test: PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_NATS_URL are both needed"
        );
        return;
    };
    let prefix = cluster_prefix();
    let (db_url, db_name) = parley_store::Store::create_test_database(&pg)
        .await
        .expect("test database");
    let a = node(&db_url, &nats, &prefix).await;
    let mut b = node(&db_url, &nats, &prefix).await;
    // B drops the database when it stops; A must stop first.
    b.pg_database = Some((pg.clone(), db_name));

    let admin = a.admin("Shop").await;
    let (_, inbox) = api_inbox(&a, &admin, "Site").await;
    let v = Visitor::new(&a, &inbox).await;

    let mut agent_on_b = WsClient::agent(&b, &admin, None).await;
    agent_on_b.until_ready().await;
    let mut visitor_on_a = WsClient::visitor(&a, &v, None).await;
    visitor_on_a.until_ready().await;

    // A → B and B → A, several times, each message exactly once and in order.
    let mut agent_cursors = Vec::new();
    for i in 0..20 {
        visitor_on_a
            .send(send_frame(
                v.conversation_id,
                &format!("q{i}"),
                &format!("v{i}"),
            ))
            .await;
        let got = loop {
            let f = agent_on_b.until("message.created").await;
            agent_cursors.push(f["cursor"].as_i64().unwrap());
            if f["data"]["content"] == format!("q{i}") {
                break f;
            }
            // Only the agent's own previous reply may come first.
            assert_eq!(f["data"]["content"], format!("a{}", i - 1), "{f}");
        };
        assert_eq!(got["data"]["sender"]["type"], "contact");
        agent_on_b
            .send(send_frame(
                v.conversation_id,
                &format!("a{i}"),
                &format!("a{i}"),
            ))
            .await;
        loop {
            let f = visitor_on_a.until("message.created").await;
            if f["data"]["content"] == format!("a{i}") {
                break;
            }
            // The visitor also hears its own message; anything else is out of order.
            assert_eq!(f["data"]["content"], format!("q{i}"), "{f}");
        }
    }
    assert!(agent_cursors.windows(2).all(|w| w[0] < w[1]));

    // A client that was on B resumes on A from its cursor and misses nothing.
    let own = agent_on_b.until("message.created").await;
    assert_eq!(own["data"]["content"], "a19");
    let last = own["cursor"].as_i64().unwrap();
    // Typing crosses nodes too (ephemeral, over NATS only).
    visitor_on_a
        .send(json!({"type": "typing", "conversation_id": v.conversation_id, "status": "on"}))
        .await;
    agent_on_b.until("conversation.typing_on").await;

    agent_on_b.cut();
    for i in 0..5 {
        v.post(&b, v.conversation_id, &format!("while away {i}"))
            .await;
    }
    let mut agent_on_a = WsClient::agent(&a, &admin, Some(last)).await;
    let (missed, _) = agent_on_a.until_ready().await;
    let contents: Vec<&str> = missed
        .iter()
        .filter(|f| f["event"] == "message.created")
        .filter_map(|f| f["data"]["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        vec![
            "while away 0",
            "while away 1",
            "while away 2",
            "while away 3",
            "while away 4"
        ]
    );

    a.stop().await;
    b.stop().await;
}

/// A mention in a note written on node A reaches the mentioned agent's socket on node B
/// (the one-agent envelope crosses NATS), and no other agent's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mention_reaches_the_mentioned_agent_on_another_node_only() {
    let (Ok(pg), Ok(nats)) = (
        std::env::var("PARLEY_TEST_POSTGRES_URL"),
        std::env::var("PARLEY_TEST_NATS_URL"),
    ) else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!(
            "skipping the two-node test: PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_NATS_URL are both needed"
        );
        return;
    };
    let prefix = cluster_prefix();
    let (db_url, db_name) = parley_store::Store::create_test_database(&pg)
        .await
        .expect("test database");
    let a = node(&db_url, &nats, &prefix).await;
    let mut b = node(&db_url, &nats, &prefix).await;
    b.pg_database = Some((pg.clone(), db_name));

    let admin = a.admin("Shop").await;
    let boris = a
        .member(admin.account_id, "Boris", parley_core::Role::Agent)
        .await;
    let dina = a
        .member(admin.account_id, "Dina", parley_core::Role::Agent)
        .await;
    let (inbox_id, inbox) = api_inbox(&a, &admin, "Site").await;
    let (st, _) = a
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inbox_members", admin.account_id),
            json!({"inbox_id": inbox_id, "user_ids": [boris.user_id, dina.user_id]}),
        )
        .await;
    assert!(st.is_success());
    let v = Visitor::new(&a, &inbox).await;
    let mut boris_on_b = WsClient::agent(&b, &boris, None).await;
    boris_on_b.until_ready().await;
    let mut dina_on_b = WsClient::agent(&b, &dina, None).await;
    dina_on_b.until_ready().await;

    let content = format!("[@Boris](mention://user/{}/Boris) look", boris.user_id);
    let (st, note) = a
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                admin.account_id, v.conversation_id
            ),
            json!({"content": content, "private": true}),
        )
        .await;
    assert!(st.is_success(), "{note}");
    let ev = boris_on_b.until("conversation.mentioned").await;
    assert_eq!(ev["data"]["id"], v.conversation_id, "{ev}");
    assert!(ev.get("cursor").is_none(), "ephemeral: {ev}");
    // Dina sees the note, and nothing of the mention, before it or after it: a second
    // note is the marker that everything published earlier has arrived.
    let (_, marker) = a
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                admin.account_id, v.conversation_id
            ),
            json!({"content": "marker", "private": true}),
        )
        .await;
    loop {
        let f = dina_on_b.json().await;
        assert_ne!(f["event"], "conversation.mentioned", "{f}");
        if f["event"] == "message.created" && f["data"]["id"] == marker["id"] {
            break;
        }
    }

    a.stop().await;
    b.stop().await;
}
