//! Findings 1 and 13 of issue 12: the write path under a failing disk or database, and
//! the work that must follow a commit.
//!
//! - A full disk (a real, small tmpfs): writes during it get `503 storage_unavailable`,
//!   `/healthz` says `disk_full`, the server recovers by itself when space returns, and
//!   every write acknowledged before, during and after is there after a restart.
//! - PostgreSQL connection loss (the test database's backends terminated mid-load): the
//!   same accounting, and reconnection without a restart.
//! - A client that goes away right after sending: the message is still pushed live and a
//!   reopened conversation's status change is stored and pushed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use parley::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::ws::{Visitor, api_inbox};
use crate::common::{Actor, TestServer};

/// A tmpfs of `mib` MiB mounted on a fresh directory, unmounted when dropped. `None` (with
/// a printed reason) where mounting is not permitted (not root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mib: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
                "PARLEY_REQUIRE_SERVICES is set but a tmpfs cannot be mounted (run as root)"
            );
            eprintln!("skipping: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let p = self.path().join("filler");
        let mut f = std::fs::File::create(&p).expect("filler");
        let chunk = vec![0xA5u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        // The last partial chunks, byte by byte, so not even a page is left.
        let small = [0xA5u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.flush();
        p
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn config(data_dir: &Path, database_url: Option<String>) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.to_path_buf(),
        database_url,
        max_body_bytes: 64 * 1024,
        max_upload_bytes: 1024 * 1024,
        visitor_messages_per_minute: 1_000_000,
        ..Config::default()
    }
}

fn acct(a: &Actor) -> String {
    format!("/api/v1/accounts/{}", a.account_id)
}

/// An account, an API inbox and a visitor's conversation in it.
async fn shop(s: &TestServer) -> (Actor, Visitor) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let visitor = Visitor::new(s, &inbox).await;
    (admin, visitor)
}

/// Posts an agent's message; returns the status and the message id when acknowledged.
async fn post_message(s: &TestServer, admin: &Actor, conv: i64, text: &str) -> (StatusCode, Value) {
    s.post(
        &admin.token,
        &format!("{}/conversations/{conv}/messages", acct(admin)),
        json!({"content": text}),
    )
    .await
}

/// Every message id of a conversation, paging through the API.
async fn stored_ids(s: &TestServer, admin: &Actor, conv: i64) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    let mut after = 0i64;
    loop {
        let (st, page) = s
            .get(
                &admin.token,
                &format!(
                    "{}/conversations/{conv}/messages?after={after}",
                    acct(admin)
                ),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        let got: Vec<i64> = page["payload"]
            .as_array()
            .expect("payload")
            .iter()
            .filter_map(|m| m["id"].as_i64())
            .collect();
        let Some(&last) = got.iter().max() else {
            return ids;
        };
        ids.extend(got);
        after = last;
    }
}

async fn healthz(s: &TestServer) -> (StatusCode, Value) {
    s.call(reqwest::Method::GET, None, "/healthz", None).await
}

/// Waits (polling `/healthz`, no writes) until the server says it is healthy again.
async fn healthy_again(s: &TestServer) {
    for _ in 0..600 {
        if healthz(s).await.0 == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the server did not recover by itself: {:?}",
        healthz(s).await
    );
}

/// Finding 1 on a real full disk: nothing acknowledged is lost, writes during the full
/// period get 503 with a stable code, `/healthz` names the cause, and the server recovers
/// without a restart once space returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_is_refused_loudly_and_nothing_acknowledged_is_lost() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let data = disk.path().join("data");
    let s = TestServer::start(config(&data, None), tempfile::tempdir().expect("tempdir")).await;
    let (admin, visitor) = shop(&s).await;
    let conv = visitor.conversation_id;
    let mut acked: BTreeSet<i64> = BTreeSet::new();
    let text = "x".repeat(2000);

    for i in 0..20 {
        let (st, m) = post_message(&s, &admin, conv, &format!("before {i} {text}")).await;
        assert_eq!(st, StatusCode::OK, "{m}");
        acked.insert(m["id"].as_i64().expect("id"));
    }

    let filler = disk.fill();
    let mut refused = 0;
    let mut saw_not_ready = false;
    let mut acked_during = 0;
    let mut attempts = 0;
    while refused < 20 && attempts < 5000 {
        attempts += 1;
        let (st, m) = post_message(&s, &admin, conv, &format!("during {attempts} {text}")).await;
        match st {
            StatusCode::OK => {
                acked.insert(m["id"].as_i64().expect("id"));
                acked_during += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(m["error"]["code"], "storage_unavailable", "{m}");
                refused += 1;
                let (hst, h) = healthz(&s).await;
                if hst == StatusCode::SERVICE_UNAVAILABLE {
                    assert_eq!(h["reason"], "disk_full", "{h}");
                    saw_not_ready = true;
                }
            }
            other => panic!("a write on a full disk answered {other}: {m}"),
        }
    }
    assert!(refused > 0, "no write was refused on a full disk");
    assert!(saw_not_ready, "/healthz never said the disk is full");
    // Another write path than messages: a label. Refused or stored, never acknowledged
    // and lost.
    let (st, label) = s
        .post(
            &admin.token,
            &format!("{}/labels", acct(&admin)),
            json!({"title": "during-full"}),
        )
        .await;
    assert!(
        st.is_success() || st == StatusCode::SERVICE_UNAVAILABLE,
        "{st} {label}"
    );
    let label_acked = st.is_success();
    let metrics = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("parley_store_write_failures_total{cause=\"disk_full\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("parley_store_writable 0"), "{metrics}");

    std::fs::remove_file(&filler).expect("free the space");
    healthy_again(&s).await;
    for i in 0..20 {
        let (st, m) = post_message(&s, &admin, conv, &format!("after {i} {text}")).await;
        assert_eq!(st, StatusCode::OK, "after space returned: {m}");
        acked.insert(m["id"].as_i64().expect("id"));
    }
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/labels", acct(&admin)),
            json!({"title": "after-full"}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    // The server's own reads see every acknowledged message before the restart, too.
    let live = stored_ids(&s, &admin, conv).await;
    let missing: Vec<_> = acked.difference(&live).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not readable: {missing:?}"
    );

    s.stop().await;
    let s = TestServer::start(config(&data, None), tempfile::tempdir().expect("tempdir")).await;
    let after_restart = stored_ids(&s, &admin, conv).await;
    let missing: Vec<_> = acked.difference(&after_restart).collect();
    eprintln!(
        "disk full: {} acknowledged ({acked_during} while full), {refused} refused with 503, {} stored after restart",
        acked.len(),
        after_restart.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged but lost after restart: {missing:?}"
    );
    let (st, labels) = s
        .get(&admin.token, &format!("{}/labels", acct(&admin)))
        .await;
    assert_eq!(st, StatusCode::OK);
    let titles = labels.to_string();
    assert!(titles.contains("after-full"), "{titles}");
    if label_acked {
        assert!(titles.contains("during-full"), "{titles}");
    }
    s.stop().await;
    drop(disk);
}

crate::both_backends!(a_sender_that_goes_away_still_gets_its_message_delivered_live);

/// Rounds of "resolve, then the visitor writes and vanishes", per way of vanishing.
/// Twelve rounds of four sends stay within a visitor's default budget of 60 a minute.
const VANISHING_ROUNDS: usize = 12;

/// Sends a raw HTTP request and closes the connection without reading the answer (a
/// browser tab closed right after sending).
async fn post_and_vanish(base: &str, path: &str, body: &Value) {
    use tokio::io::AsyncWriteExt;
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("send");
    tcp.flush().await.expect("flush");
    drop(tcp);
}

/// Reads the agent's socket until the `message.created` of `content` and the
/// `conversation.status_changed` to open that follows the reopening both arrived.
async fn delivered_live(agent: &mut crate::common::ws::WsClient, content: &str) {
    let wait = async {
        let (mut message, mut reopened) = (false, false);
        while !(message && reopened) {
            let f = agent.json().await;
            if f["event"] == "message.created" && f["data"]["content"] == content {
                message = true;
            }
            if f["event"] == "conversation.status_changed" && f["data"]["status"] == "open" {
                reopened = true;
            }
        }
    };
    // Generous: only turns a lost event into a failure instead of a hang.
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{content:?} or its reopening was never pushed live"));
}

/// Finding 13: the visitor's request is dropped (REST) or its socket closed right after
/// sending, while the message reopens a resolved conversation, and the client then sends
/// the same message again (same `echo_id`) as a client that lost the answer does. The
/// agent's socket must get the message and the status change live, and both must be
/// stored. Before the fix the first send was stored but its event and status change were
/// cancelled with the request, and the retry, a duplicate, published nothing.
async fn a_sender_that_goes_away_still_gets_its_message_delivered_live(s: &TestServer) {
    use crate::common::ws::WsClient;
    let (admin, visitor) = shop(s).await;
    let conv = visitor.conversation_id;
    let mut agent = WsClient::agent(s, &admin, None).await;
    agent.until_ready().await;
    let resolve = || async {
        let (st, body) = s
            .post(
                &admin.token,
                &format!("{}/conversations/{conv}/toggle_status", acct(&admin)),
                json!({"status": "resolved"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    };
    let path = format!(
        "/public/api/v1/inboxes/{}/contacts/{}/conversations/{conv}/messages",
        visitor.inbox_identifier, visitor.source_id
    );
    let mut sent = Vec::new();
    for round in 0..VANISHING_ROUNDS {
        resolve().await;
        let content = format!("rest {round}");
        let body = json!({"content": content, "echo_id": format!("r-{round}")});
        post_and_vanish(&s.base, &path, &body).await;
        // What a client does after losing the answer: the same message again. Either the
        // first one was stored (and this returns it) or it never started (and this stores
        // it); both ways the agent must see it live exactly as if nothing had happened.
        let (st, m) = s.call(reqwest::Method::POST, None, &path, Some(body)).await;
        assert!(st.is_success(), "{m}");
        delivered_live(&mut agent, &content).await;
        sent.push(content);

        resolve().await;
        let content = format!("socket {round}");
        let mut vis = WsClient::visitor(s, &visitor, None).await;
        vis.until_ready().await;
        let frame = json!({"type": "message.create", "conversation_id": conv, "content": content, "echo_id": format!("w-{round}")});
        vis.send(frame.clone()).await;
        vis.cut();
        // The widget resends over its new socket after reconnecting.
        let mut vis = WsClient::visitor(s, &visitor, None).await;
        vis.until_ready().await;
        vis.send(frame).await;
        let ack = vis.until("message.ack").await;
        assert_eq!(ack["data"]["content"], content, "{ack}");
        vis.cut();
        delivered_live(&mut agent, &content).await;
        sent.push(content);
    }
    // Stored as well as pushed, and the conversation is open again.
    let (st, c) = s
        .get(
            &admin.token,
            &format!("{}/conversations/{conv}", acct(&admin)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["status"], "open", "{c}");
    let (st, page) = s
        .get(
            &admin.token,
            &format!("{}/conversations/{conv}/messages", acct(&admin)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let text = page.to_string();
    for c in sent.iter().rev().take(10) {
        assert!(text.contains(c.as_str()), "{c} not stored: {text}");
    }
}

/// Runs one SQL statement on the PostgreSQL server of the tests, as its administrator.
fn psql(base: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(base)
        .args(["-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .output()
        .expect("psql runs (postgresql-client)");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Finding 1 on PostgreSQL: the test database's connections are cut (pg_terminate_backend)
/// and new ones refused for a moment while four writers post messages. Every answer is a
/// 200 or a `503 storage_unavailable` (never a 500), every acknowledged message is stored,
/// and the server reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_loss_is_refused_loudly_and_nothing_acknowledged_is_lost() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let (base, db) = s.pg_database.clone().expect("test database");
    let (admin, visitor) = shop(&s).await;
    let conv = visitor.conversation_id;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, token, stop) = (
            s.http.clone(),
            s.url(&format!("{}/conversations/{conv}/messages", acct(&admin))),
            admin.token.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut outcomes: Vec<(u16, Option<i64>, String)> = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let res = http
                    .post(&url)
                    .header("api_access_token", &token)
                    .json(&json!({"content": format!("writer {w} message {n}")}))
                    .send()
                    .await
                    .expect("request");
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                outcomes.push((
                    status,
                    body["id"].as_i64(),
                    body["error"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cut = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    );
    psql(
        &base,
        &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"),
    );
    for _ in 0..5 {
        psql(&base, &cut);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (down, down_body) = healthz(&s).await;
    psql(
        &base,
        &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = BTreeSet::new();
    let (mut refused, mut total) = (0, 0);
    for w in writers {
        for (status, id, code) in w.await.expect("writer") {
            total += 1;
            match status {
                200 => {
                    acked.insert(id.expect("id of an acknowledged message"));
                }
                503 => {
                    assert_eq!(code, "storage_unavailable");
                    refused += 1;
                }
                other => panic!("a write during connection loss answered {other} ({code})"),
            }
        }
    }
    assert!(
        refused > 0,
        "no write was refused while the database was cut off"
    );
    assert_eq!(
        down.as_u16(),
        503,
        "/healthz while the database refused connections: {down_body}"
    );
    healthy_again(&s).await;
    let (st, m) = post_message(&s, &admin, conv, "after the outage").await;
    assert_eq!(st, StatusCode::OK, "{m}");
    acked.insert(m["id"].as_i64().expect("id"));
    let stored = stored_ids(&s, &admin, conv).await;
    let missing: Vec<_> = acked.difference(&stored).collect();
    eprintln!(
        "connection loss: {total} writes, {} acknowledged, {refused} refused with 503, {} stored",
        acked.len(),
        stored.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    s.stop().await;
}

/// A TCP proxy between the server and PostgreSQL that can "restart the database": drop
/// every connection and refuse new ones (its port closed, as a restarting or failing-over
/// server's is), then accept again on the same port.
struct RestartingProxy {
    addr: std::net::SocketAddr,
    upstream: String,
    /// The accept loop while up; `None` while down (the port is closed).
    acceptor: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Every proxied connection, aborted (both sockets dropped) by a restart.
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl RestartingProxy {
    async fn start(upstream: String) -> RestartingProxy {
        let listener = Self::bind("127.0.0.1:0".parse().expect("addr"));
        let addr = listener.local_addr().expect("proxy address");
        let proxy = RestartingProxy {
            addr,
            upstream,
            acceptor: std::sync::Mutex::new(None),
            conns: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    /// A listener that can take the port back right after it was closed.
    fn bind(addr: std::net::SocketAddr) -> tokio::net::TcpListener {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(addr).expect("proxy port");
        socket.listen(1024).expect("listen")
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (upstream, conns) = (self.upstream.clone(), self.conns.clone());
        let acceptor = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().expect("conns").push(task.abort_handle());
            }
        });
        *self.acceptor.lock().expect("acceptor") = Some(acceptor);
    }

    /// The database "goes down": the port closes and every open connection is cut.
    /// Returns how many connections were cut.
    fn go_down(&self) -> usize {
        if let Some(a) = self.acceptor.lock().expect("acceptor").take() {
            a.abort();
        }
        let cut: Vec<_> = self.conns.lock().expect("conns").drain(..).collect();
        for c in &cut {
            c.abort();
        }
        cut.len()
    }

    /// The database is back on the same port.
    async fn come_up(&self) {
        // The aborted accept loop drops its listener when the task is next polled.
        for _ in 0..100 {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.set_reuseaddr(true).expect("SO_REUSEADDR");
            if socket.bind(self.addr).is_ok() {
                self.serve(socket.listen(1024).expect("listen"));
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the proxy could not take its port {} back", self.addr);
    }
}

/// What one write of [`postgres_restart_through_a_proxy_loses_nothing`] got back.
struct Outcome {
    status: u16,
    id: Option<i64>,
    code: String,
    retry_after: Option<String>,
    echo_id: String,
    content: String,
}

/// Posts one agent message with an `echo_id`.
async fn post_echo(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    content: &str,
    echo_id: &str,
) -> Outcome {
    let res = http
        .post(url)
        .header("api_access_token", token)
        .json(&json!({"content": content, "echo_id": echo_id}))
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Value = res.json().await.unwrap_or(Value::Null);
    Outcome {
        status,
        id: body["id"].as_i64(),
        code: body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        retry_after,
        echo_id: echo_id.to_string(),
        content: content.to_string(),
    }
}

/// Every message of a conversation as (id, content), paging through the API.
async fn stored_messages(s: &TestServer, admin: &Actor, conv: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut after = 0i64;
    loop {
        let (st, page) = s
            .get(
                &admin.token,
                &format!(
                    "{}/conversations/{conv}/messages?after={after}",
                    acct(admin)
                ),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        let got: Vec<(i64, String)> = page["payload"]
            .as_array()
            .expect("payload")
            .iter()
            .filter_map(|m| Some((m["id"].as_i64()?, m["content"].as_str()?.to_string())))
            .collect();
        let Some(last) = got.iter().map(|m| m.0).max() else {
            return out;
        };
        out.extend(got);
        after = last;
    }
}

/// How long the proxied database stays down: longer than the pool's 10 s acquire timeout,
/// so writes that arrive during the outage (not only those cut mid-flight) are answered.
const OUTAGE: Duration = Duration::from_secs(12);

/// Finding 1 on PostgreSQL, restarted the way a server restart or a failover looks from
/// the network: through a proxy, every connection is dropped and new ones are refused for
/// [`OUTAGE`], then accepted again, while four writers post messages with `echo_id`s.
/// Every answer is a 200 or a `503 storage_unavailable` with `Retry-After` (never a 500);
/// `/healthz` says `database_unreachable` during the outage; the server reconnects by
/// itself; every acknowledged message is stored exactly once, and a retry of each refused
/// one by its `echo_id` gives one message, never two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_through_a_proxy_loses_nothing() {
    let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping: PARLEY_TEST_POSTGRES_URL is not set");
        return;
    };
    let (url, name) = parley_store::Store::create_test_database(&base)
        .await
        .expect("create test database");
    let mut proxied = reqwest::Url::parse(&url).expect("database URL");
    let upstream = format!(
        "{}:{}",
        proxied.host_str().expect("database host"),
        proxied.port().unwrap_or(5432)
    );
    let proxy = RestartingProxy::start(upstream).await;
    proxied.set_port(Some(proxy.addr.port())).expect("port");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = TestServer::start(config(dir.path(), Some(proxied.to_string())), dir).await;
    s.pg_database = Some((base, name));
    let (admin, visitor) = shop(&s).await;
    let conv = visitor.conversation_id;
    let path = format!("{}/conversations/{conv}/messages", acct(&admin));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, token, stop) = (
            s.http.clone(),
            s.url(&path),
            admin.token.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let echo = format!("w{w}-{n}");
                outcomes
                    .push(post_echo(&http, &url, &token, &format!("writer {echo}"), &echo).await);
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cut = proxy.go_down();
    let down_at = std::time::Instant::now();
    let mut health_during = Vec::new();
    while down_at.elapsed() < OUTAGE {
        health_during.push(healthz(&s).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    proxy.come_up().await;
    healthy_again(&s).await;
    // Let every writer get answers from the recovered server before stopping them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let mut outcomes = Vec::new();
    for w in writers {
        outcomes.extend(w.await.expect("writer"));
    }
    let mut acked = BTreeSet::new();
    let mut refused = Vec::new();
    for o in &outcomes {
        match o.status {
            200 => {
                acked.insert(o.id.expect("id of an acknowledged message"));
            }
            503 => {
                assert_eq!(o.code, "storage_unavailable", "{}", o.echo_id);
                assert!(o.retry_after.is_some(), "503 without Retry-After");
                refused.push(o);
            }
            other => panic!("a write during the restart answered {other} ({})", o.code),
        }
    }
    assert!(cut > 0, "the server had no connection through the proxy");
    assert!(
        !refused.is_empty(),
        "no write was refused during the outage"
    );
    let unready: Vec<_> = health_during
        .iter()
        .filter(|(st, _)| *st == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        !unready.is_empty(),
        "/healthz never said not ready during the outage: {health_during:?}"
    );
    for (_, body) in &unready {
        assert_eq!(body["reason"], "database_unreachable", "{body}");
    }

    let stored = stored_messages(&s, &admin, conv).await;
    let stored_ids: BTreeSet<i64> = stored.iter().map(|m| m.0).collect();
    let missing: Vec<_> = acked.difference(&stored_ids).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    let count =
        |content: &str, list: &[(i64, String)]| list.iter().filter(|m| m.1 == content).count();
    for o in outcomes.iter().filter(|o| o.status == 200) {
        assert_eq!(count(&o.content, &stored), 1, "{} stored once", o.content);
    }
    // A refused write may or may not have been committed (a connection cut during the
    // commit): the client's retry by echo_id settles it without a duplicate.
    for o in &refused {
        let again = post_echo(&s.http, &s.url(&path), &admin.token, &o.content, &o.echo_id).await;
        assert_eq!(
            again.status, 200,
            "retry of {} answered {}",
            o.echo_id, again.code
        );
    }
    let after_retries = stored_messages(&s, &admin, conv).await;
    for o in &outcomes {
        assert_eq!(
            count(&o.content, &after_retries),
            1,
            "{} is stored exactly once after the retries",
            o.content
        );
    }
    eprintln!(
        "restart through a proxy: {} writes, {} acknowledged, {} refused with 503 ({cut} connections cut), {} /healthz 503s during {} s, {} stored after retries",
        outcomes.len(),
        acked.len(),
        refused.len(),
        unready.len(),
        OUTAGE.as_secs(),
        after_retries.len()
    );
    s.stop().await;
    proxy.go_down();
}
