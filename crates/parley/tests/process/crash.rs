//! `kill -9` during a load run loses no acknowledged message (DESIGN.md §4): visitors send
//! over WebSockets as fast as acknowledgements come back, the server process is killed with
//! SIGKILL mid-run, restarted on the same data, and every message that was acknowledged must
//! be stored with the id the acknowledgement gave. Every stored message must also have its
//! `message.created` event (they are written in one transaction). SQLite always; PostgreSQL
//! when `PARLEY_TEST_POSTGRES_URL` is set.

use crate::cli_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cli_support::{Served, key_values, parley, run, stdout};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Acknowledged messages needed before the kill.
const ACKED_BEFORE_KILL: usize = 1500;
const VISITORS: usize = 16;

fn serve(dir: &std::path::Path, db: &Option<String>) -> Served {
    let mut cmd = parley(dir);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        "data",
        "--visitor-messages-per-minute",
        "1000000",
    ]);
    if let Some(url) = db {
        cmd.args(["--database-url", url]);
    }
    Served::start(cmd)
}

struct Setup {
    base: String,
    account_id: i64,
    token: String,
    http: reqwest::Client,
}

impl Setup {
    async fn post(&self, path: &str, body: Value, auth: bool) -> Value {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if auth {
            req = req.header("api_access_token", &self.token);
        }
        let res = req.send().await.expect("request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.expect("json")
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("api_access_token", &self.token)
            .send()
            .await
            .expect("request");
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.expect("json")
    }
}

/// One visitor sending over its socket until the connection dies; records each ack.
async fn sender(
    ws_url: String,
    conversation_id: i64,
    who: usize,
    acked: Arc<Mutex<Vec<(String, i64)>>>,
) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(ws_url).await else {
        return;
    };
    let mut n = 0u64;
    let mut in_flight = 0;
    loop {
        while in_flight < 8 {
            n += 1;
            let frame = json!({"type": "message.create", "conversation_id": conversation_id,
                "content": format!("visitor {who} message {n}"), "echo_id": format!("v{who}-{n}")});
            if ws
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
            in_flight += 1;
        }
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                if v["event"] == "message.ack" {
                    in_flight -= 1;
                    let echo = v["echo_id"].as_str().unwrap_or_default().to_string();
                    let id = v["data"]["id"].as_i64().expect("acked id");
                    acked.lock().unwrap().push((echo, id));
                } else if v["event"] == "error" {
                    panic!("send refused: {v}");
                }
            }
            Some(Ok(_)) => {}
            // The server died: what was acknowledged is recorded.
            None | Some(Err(_)) => return,
        }
    }
}

async fn kill_during_load(db: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut admin = parley(dir.path());
    admin.args([
        "admin",
        "create",
        "--data-dir",
        "data",
        "--email",
        "crash@shop.test",
        "--password",
        "long enough secret",
        "--account",
        "Shop",
    ]);
    if let Some(url) = &db {
        admin.args(["--database-url", url]);
    }
    let out = run(&mut admin);
    assert!(out.status.success(), "{}", cli_support::stderr(&out));
    let kv = key_values(&stdout(&out));
    let mut server = serve(dir.path(), &db);
    let s = Setup {
        base: format!("http://{}", server.addr),
        account_id: kv["account_id"].parse().unwrap(),
        token: kv["api_access_token"].clone(),
        http: reqwest::Client::new(),
    };
    let inbox = s
        .post(
            &format!("/api/v1/accounts/{}/inboxes", s.account_id),
            json!({"name": "Site", "channel": {"type": "api"}}),
            true,
        )
        .await;
    let ident = inbox["inbox_identifier"].as_str().unwrap().to_string();
    let mut convs = Vec::new();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for who in 0..VISITORS {
        let c = s
            .post(
                &format!("/public/api/v1/inboxes/{ident}/contacts"),
                json!({"name": format!("V{who}")}),
                false,
            )
            .await;
        let source = c["source_id"].as_str().unwrap().to_string();
        let pubsub = c["pubsub_token"].as_str().unwrap().to_string();
        let conv = s
            .post(
                &format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"),
                json!({}),
                false,
            )
            .await;
        let conv_id = conv["id"].as_i64().unwrap();
        convs.push(conv_id);
        let url = format!(
            "ws://{}/public/api/v1/realtime?pubsub_token={pubsub}",
            server.addr
        );
        tasks.push(tokio::spawn(sender(url, conv_id, who, acked.clone())));
    }
    // Kill once enough messages were acknowledged, while senders keep going.
    loop {
        if acked.lock().unwrap().len() >= ACKED_BEFORE_KILL {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    for t in tasks {
        t.await.expect("sender");
    }
    let acked: Vec<(String, i64)> = acked.lock().unwrap().clone();
    drop(server);

    // Restart on the same data and read everything back.
    let server = serve(dir.path(), &db);
    let s = Setup {
        base: format!("http://{}", server.addr),
        ..s
    };
    let mut stored: HashMap<String, i64> = HashMap::new();
    for conv in &convs {
        let mut before: Option<i64> = None;
        loop {
            let mut path = format!(
                "/api/v1/accounts/{}/conversations/{conv}/messages",
                s.account_id
            );
            if let Some(b) = before {
                path.push_str(&format!("?before={b}"));
            }
            let page = s.get(&path).await;
            let list = page["payload"].as_array().unwrap().clone();
            if list.is_empty() {
                break;
            }
            for m in &list {
                if let Some(echo) = m["echo_id"].as_str() {
                    stored.insert(echo.to_string(), m["id"].as_i64().unwrap());
                }
            }
            before = list.iter().filter_map(|m| m["id"].as_i64()).min();
        }
    }
    let lost: Vec<&(String, i64)> = acked
        .iter()
        .filter(|(echo, id)| stored.get(echo) != Some(id))
        .collect();
    eprintln!(
        "acknowledged before the kill: {}, stored after restart: {}",
        acked.len(),
        stored.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(stored.len() >= acked.len());

    // Every stored message has its event: replay from the start counts them.
    let url = format!(
        "ws://{}/api/v1/accounts/{}/realtime?cursor=0",
        server.addr, s.account_id
    );
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("api_access_token", s.token.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("agent socket");
    let mut events = 0;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["event"] == "ready" {
                    break;
                }
                if v["event"] == "message.created" {
                    events += 1;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended before ready: {other:?}"),
        }
    }
    assert_eq!(
        events,
        stored.len(),
        "one message.created per stored message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_on_sqlite_loses_no_acknowledged_message() {
    kill_during_load(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_on_postgres_loses_no_acknowledged_message() {
    let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping the PostgreSQL kill -9 test: PARLEY_TEST_POSTGRES_URL is not set");
        return;
    };
    let (url, name) = parley_store::Store::create_test_database(&base)
        .await
        .expect("test database");
    kill_during_load(Some(url)).await;
    if let Ok(admin) = parley_store::Store::connect(
        &base,
        parley_store::StoreOptions {
            max_connections: 1,
            ..Default::default()
        },
    )
    .await
    {
        let _ = admin.drop_database_for_tests(&name).await;
        admin.close().await;
    }
}
