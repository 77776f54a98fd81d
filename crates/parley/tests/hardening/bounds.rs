//! Bounded resources under abuse (issue 12, findings 2, 5, 6 and 7): password hashing runs
//! in a bounded pool, sign-in attempts are counted before hashing and slow the attacker's
//! address rather than the account, connections have header-read and idle timeouts and
//! per-address caps, WebSockets are capped per credential, and uploads are judged before
//! their body is read and within a per-account storage quota.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use parley::Config;
use parley_core::time::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::ws::{Visitor, WsClient, api_inbox};
use crate::common::{TestServer, assert_error};

/// Runs each `async fn(&TestServer)` on SQLite and PostgreSQL, each with its own settings.
macro_rules! both_tuned {
    ($($name:ident => $tune:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let s = crate::common::TestServer::sqlite_with(super::$tune).await;
                   super::$name(&s).await;
                   s.stop().await;
               } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some(s) = crate::common::TestServer::postgres_with(super::$tune).await {
                       super::$name(&s).await;
                       s.stop().await;
                   }
               } )+
        }
    };
}

both_tuned!(
    signin_flood_is_bounded_by_the_hashing_pool => flood_settings,
    concurrent_wrong_passwords_are_counted_before_hashing => exact_settings,
    owner_signs_in_from_another_address_during_an_attack => no_tuning,
    flooding_address_gets_cheap_429s_and_owners_still_sign_in => small_address_budget,
    upload_over_the_limit_is_refused_before_its_body => one_message_a_minute,
    storage_quota_is_enforced => quota_settings,
);

/// Generous wait for an event that must happen (not a time limit on the server).
const EVENTUALLY: Duration = Duration::from_secs(60);

fn no_tuning(_: &mut Config) {}

fn flood_settings(c: &mut Config) {
    c.password_hash_concurrency = 2;
    c.password_hash_queue_ms = 100;
    c.login_attempts_per_address = 0;
    c.login_failures_per_email = 0;
}

fn exact_settings(c: &mut Config) {
    c.login_attempts_per_address = 10;
    c.login_free_failures = 1000;
    c.password_hash_queue_ms = 60_000;
}

/// One hashing slot with a short queue, so a flood saturates it, and a per-address budget
/// of 10 attempts a minute.
fn small_address_budget(c: &mut Config) {
    c.password_hash_concurrency = 1;
    c.password_hash_queue_ms = 50;
    c.login_attempts_per_address = 10;
}

fn one_message_a_minute(c: &mut Config) {
    c.visitor_messages_per_minute = 1;
}

fn quota_settings(c: &mut Config) {
    c.max_account_storage_bytes = 3000;
}

fn sign_in_body(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

/// An HTTP client whose connections leave from `source` (another loopback address is
/// another client address to the server).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn sign_in_from(
    client: &reqwest::Client,
    s: &TestServer,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    let res = client
        .post(s.url("/auth/sign_in"))
        .json(&sign_in_body(email, password))
        .send()
        .await
        .expect("sign-in sent");
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry, body)
}

/// Finding 2: 120 concurrent sign-ins with made-up e-mails never run more argon2 hashes
/// at once than the pool allows; the overflow gets 503 `busy` with `Retry-After` instead
/// of 19 MiB each, and the owner signs in once the flood is over.
async fn signin_flood_is_bounded_by_the_hashing_pool(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let attempts = (0..120).map(|i| {
        let email = format!("nobody-{i}-{}@flood.test", parley_store::random_token(3));
        async move { sign_in_from(&s.http, s, &email, "wrong-password").await }
    });
    let results = join_all(attempts).await;
    let mut busy = 0;
    for (status, retry, body) in &results {
        match status.as_u16() {
            401 => {}
            503 => {
                busy += 1;
                assert_eq!(body["error"]["code"], "busy", "{body}");
                assert!(retry.is_some(), "503 busy carries Retry-After");
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert!(busy > 0, "a flood beyond the pool is refused, not queued");
    let hashing = &s.svc().hashing;
    assert_eq!(hashing.permits(), 2);
    assert!(
        hashing.max_in_flight() <= 2,
        "at most 2 hashes at once, saw {}",
        hashing.max_in_flight()
    );
    let (status, _, body) = sign_in_from(&s.http, s, &admin.email, "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Finding 7: 200 concurrent wrong passwords from one address against a limit of 10 are
/// reserved before hashing, so exactly 10 are evaluated (the race let 91 through).
async fn concurrent_wrong_passwords_are_counted_before_hashing(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let before = s.svc().hashing.done();
    let results = join_all(
        (0..200).map(|_| async { sign_in_from(&s.http, s, &admin.email, "wrong-guess").await }),
    )
    .await;
    let unauthorized = results
        .iter()
        .filter(|r| r.0 == StatusCode::UNAUTHORIZED)
        .count();
    let limited: Vec<_> = results
        .iter()
        .filter(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(unauthorized, 10, "exactly the limit is evaluated");
    assert_eq!(limited.len(), 190);
    assert!(
        limited.iter().all(|r| r.1.is_some()),
        "429 carries Retry-After"
    );
    assert_eq!(
        s.svc().hashing.done() - before,
        10,
        "exactly 10 hashes computed"
    );
}

/// Finding 7: an attack on the owner's e-mail slows the attacker's address with growing
/// delays; the owner signing in from another address is not locked out.
async fn owner_signs_in_from_another_address_during_an_attack(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let attacker = client_from("127.0.0.1");
    for _ in 0..5 {
        let (status, _, body) = sign_in_from(&attacker, s, &admin.email, "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, retry, body) = sign_in_from(&attacker, s, &admin.email, "guess").await;
    assert_error(status, &body, 429, "rate_limited");
    let wait: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!(wait >= 1);
    // The attacker's address gets nothing even with the right password while delayed…
    let (status, _, _) = sign_in_from(&attacker, s, &admin.email, "password123").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // …and the owner, elsewhere, signs in.
    let owner = client_from("127.0.0.2");
    let (status, _, body) = sign_in_from(&owner, s, &admin.email, "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// 200 concurrent sign-ins with made-up e-mails from one address: what the address may try
/// in a minute is its budget, busy refusals included, so at most 10 are looked at (401 or
/// 503 `busy`) and the rest get an immediate 429 with `Retry-After` no later than the
/// minute's end; a second wave from that address is refused without a single hash, each
/// refusal held a second (the address has been refused more than its budget). The
/// owner from another address signs in; the owner who signed in from the flooding address
/// before (a known pair: the same office behind one NAT) signs in from it too; another user
/// there for the first time is told to wait at most a minute (delayed, not locked out for
/// 15 minutes).
async fn flooding_address_gets_cheap_429s_and_owners_still_sign_in(s: &TestServer) {
    let owner = s.admin("Shop").await;
    let colleague = s.admin("Shop two").await;
    let office = client_from("127.0.0.1");
    let (status, _, body) = sign_in_from(&office, s, &owner.email, "password123").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let flood = |n: usize| {
        join_all((0..n).map(|i| {
            let office = office.clone();
            async move {
                let email = format!("nobody-{i}-{}@flood.test", parley_store::random_token(3));
                sign_in_from(&office, s, &email, "wrong-password").await
            }
        }))
    };
    let results = flood(200).await;
    let mut looked_at = 0;
    let mut limited = 0;
    for (status, retry, body) in &results {
        match status.as_u16() {
            401 => looked_at += 1,
            503 => {
                assert_eq!(body["error"]["code"], "busy", "{body}");
                looked_at += 1;
            }
            429 => {
                assert_eq!(body["error"]["code"], "rate_limited", "{body}");
                let wait: u64 = retry
                    .as_deref()
                    .expect("429 carries Retry-After")
                    .parse()
                    .expect("seconds");
                assert!((1..=60).contains(&wait), "Retry-After {wait}");
                limited += 1;
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    // The owner's success above was one of the address's 10 attempts.
    assert_eq!(
        looked_at, 9,
        "exactly the rest of the address budget is looked at"
    );
    assert_eq!(limited + looked_at, 200);

    let hashes = s.svc().hashing.done();
    let held_from = std::time::Instant::now();
    let second = flood(100).await;
    // Refused more often than its whole budget, the address is a script: its 429s are
    // held a moment (a tarpit), which slows a client that re-sends at once.
    assert!(
        held_from.elapsed() >= parley_service::signin_limits::TARPIT,
        "the flooding address's 429s are held"
    );
    assert!(
        second
            .iter()
            .all(|r| r.0 == StatusCode::TOO_MANY_REQUESTS && r.1.is_some()),
        "a spent address gets 429 with Retry-After: {:?}",
        second.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(
        s.svc().hashing.done(),
        hashes,
        "refusing a spent address computes no hash"
    );

    let elsewhere = client_from("127.0.0.2");
    let (status, _, body) = sign_in_from(&elsewhere, s, &owner.email, "password123").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the owner from another address: {body}"
    );
    let (status, _, body) = sign_in_from(&office, s, &owner.email, "password123").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the owner from the flooding address they signed in from before: {body}"
    );
    let (status, retry, body) = sign_in_from(&office, s, &colleague.email, "password123").await;
    assert_error(status, &body, 429, "rate_limited");
    let wait: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!(
        (1..=60).contains(&wait),
        "a newcomer at the flooding address waits for the minute's end, not {wait} s"
    );
}

/// The owner mistypes their password from their usual address: after the free failures
/// each attempt must wait 1 s, then 2 s …; after the wait the right password gets in,
/// whatever the earlier failures (delayed, not locked out for 15 minutes).
async fn owner_who_mistypes_is_delayed_not_locked_out(s: &TestServer, clock: &ManualClock) {
    let owner = s.admin("Shop").await;
    let home = client_from("127.0.0.1");
    for _ in 0..5 {
        let (status, _, body) = sign_in_from(&home, s, &owner.email, "typo").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // The server's clock stands still, so however slow the hashing on a loaded machine,
    // the delay has not passed yet.
    let (status, retry, body) = sign_in_from(&home, s, &owner.email, "password123").await;
    assert_error(status, &body, 429, "rate_limited");
    let wait: i64 = retry.expect("Retry-After").parse().expect("seconds");
    assert_eq!(wait, 1, "the first delay is a second");
    clock.advance(wait * 1000 - 1);
    let (status, _, body) = sign_in_from(&home, s, &owner.email, "password123").await;
    assert_error(status, &body, 429, "rate_limited");
    clock.advance(1);
    let (status, _, body) = sign_in_from(&home, s, &owner.email, "password123").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "after the delay the owner signs in: {body}"
    );
    // And the success starts the pair afresh: a later typo is not punished at once.
    let (status, _, body) = sign_in_from(&home, s, &owner.email, "typo").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_owner_who_mistypes_is_delayed_not_locked_out() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let s = TestServer::sqlite_clock(clock.clone(), no_tuning).await;
    owner_who_mistypes_is_delayed_not_locked_out(&s, &clock).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_owner_who_mistypes_is_delayed_not_locked_out() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let Some(s) = TestServer::postgres_clock(clock.clone(), no_tuning).await else {
        return;
    };
    owner_who_mistypes_is_delayed_not_locked_out(&s, &clock).await;
    s.stop().await;
}

/// Reads from a raw connection until the server closes it (EOF or reset); panics if it
/// stays open through [`EVENTUALLY`].
async fn closed_by_server(conn: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let waited = tokio::time::timeout(EVENTUALLY, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "the server kept the connection open");
}

/// A raw TCP connection to the server from `source`.
async fn tcp_from(source: &str, server: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().expect("socket");
    sock.bind(SocketAddr::new(source.parse().expect("ip"), 0))
        .expect("bind");
    sock.connect(server).await.expect("connect")
}

fn addr(s: &TestServer) -> SocketAddr {
    s.server.as_ref().expect("running").addr
}

async fn healthz_ok(client: &reqwest::Client, s: &TestServer) -> bool {
    matches!(client.get(s.url("/healthz")).send().await, Ok(r) if r.status() == StatusCode::OK)
}

/// Finding 5: a connection that never sends a request, one that trickles its headers
/// (slowloris), one idle after a response, and one whose body stalls are all closed by
/// the server; `/healthz` answers meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_stalled_connections_are_closed() {
    // The idle timeout is long enough that the silent connection can only be closed by
    // the header timeout (a connection that never sends a byte was held for the idle
    // timeout before the first-byte deadline).
    let s = TestServer::sqlite_with(|c| {
        c.http_header_timeout_secs = 1;
        c.http_idle_timeout_secs = 20;
    })
    .await;
    let server = addr(&s);

    let mut silent = tcp_from("127.0.0.1", server).await;

    let mut slow = tcp_from("127.0.0.1", server).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let (mut slow_rd, mut slow_wr) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for i in 0..600 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if slow_wr
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });

    let mut kept = tcp_from("127.0.0.1", server).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.expect("response");
    assert_eq!(&first, b"HTTP/1.1 200");

    let mut stalled = tcp_from("127.0.0.1", server).await;
    stalled
        .write_all(b"POST /auth/sign_in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        .await
        .expect("write");

    assert!(healthz_ok(&s.http, &s).await);
    closed_by_server(&mut silent).await;
    let mut buf = [0u8; 1024];
    let slow_closed = tokio::time::timeout(EVENTUALLY, async {
        loop {
            match slow_rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(slow_closed.is_ok(), "a slow-header client is cut off");
    trickle.abort();
    closed_by_server(&mut kept).await;
    closed_by_server(&mut stalled).await;
    assert!(healthz_ok(&s.http, &s).await);
    s.stop().await;
}

/// Finding 5: beyond `max_connections_per_address`, a new connection from that address is
/// closed unanswered; other addresses are served, and a freed place is usable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let s = TestServer::sqlite_with(|c| {
        c.max_connections_per_address = 3;
        c.http_header_timeout_secs = 120;
    })
    .await;
    let server = addr(&s);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tcp_from("127.0.0.1", server).await);
    }
    let mut extra = tcp_from("127.0.0.1", server).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(EVENTUALLY, extra.read_to_end(&mut buf)).await;
    assert!(buf.is_empty(), "the 4th connection got an answer");

    assert!(healthz_ok(&client_from("127.0.0.2"), &s).await);

    drop(held.pop());
    let served = tokio::time::timeout(EVENTUALLY, async {
        loop {
            if healthz_ok(&client_from("127.0.0.1"), &s).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        served.is_ok(),
        "a freed place is given to the next connection"
    );
    s.stop().await;
}

/// Finding 5: one visitor's pubsub token holds at most `ws_max_per_credential` sockets;
/// the next gets 429 `too_many_sockets` before the upgrade; other visitors are unaffected
/// and a closed socket frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_per_credential_are_capped() {
    let s = TestServer::sqlite_with(|c| c.ws_max_per_credential = 2).await;
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(&s, &admin, "Site").await;
    let v = Visitor::new(&s, &ident).await;
    let path = format!("/public/api/v1/realtime?pubsub_token={}", v.pubsub_token);
    let first = WsClient::open(&s.base, &path, &[]).await.expect("first");
    let _second = WsClient::open(&s.base, &path, &[]).await.expect("second");
    match WsClient::open(&s.base, &path, &[]).await {
        Err((status, body)) => {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["error"]["code"], "too_many_sockets");
        }
        Ok(_) => panic!("a third socket for one token was accepted"),
    }
    let other = Visitor::new(&s, &ident).await;
    WsClient::visitor(&s, &other, None).await;

    drop(first);
    let reopened = tokio::time::timeout(EVENTUALLY, async {
        loop {
            if let Ok(c) = WsClient::open(&s.base, &path, &[]).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "a closed socket gives its place back");
    s.stop().await;
}

/// Files under the data directory's `files/` (staged or stored).
fn stored_files(s: &TestServer) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&s.dir.path().join("files"), &mut out);
    out
}

/// Finding 6: a multipart upload declaring 1 GiB gets its 413 without sending a byte of
/// body (before, the server read up to 2 × 40 MiB first), and nothing is written; the same
/// for a visitor whose message budget is spent.
async fn upload_over_the_limit_is_refused_before_its_body(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &ident).await;
    let server = addr(s);
    let agent_path = format!(
        "/api/v1/accounts/{}/conversations/{}/messages",
        admin.account_id, v.conversation_id
    );
    let head = format!(
        "POST {agent_path} HTTP/1.1\r\nHost: x\r\napi_access_token: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1073741824\r\n\r\n",
        admin.token
    );
    let mut conn = tcp_from("127.0.0.1", server).await;
    conn.write_all(head.as_bytes()).await.expect("headers");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(EVENTUALLY, conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the answer came without the body being sent");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    assert_eq!(
        s.store().count_attachments(admin.account_id).await.unwrap(),
        0
    );
    assert!(stored_files(s).is_empty(), "{:?}", stored_files(s));

    // A visitor who spent their message budget is refused before the body is read too.
    v.post(s, v.conversation_id, "hello").await;
    let head = format!(
        "POST /public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1048576\r\n\r\n",
        v.inbox_identifier, v.source_id, v.conversation_id
    );
    let mut conn = tcp_from("127.0.0.1", server).await;
    conn.write_all(head.as_bytes()).await.expect("headers");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(EVENTUALLY, conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the answer came without the body being sent");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 429"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("\r\nretry-after: "),
        "every 429 says when to retry: {text}"
    );
    assert!(stored_files(s).is_empty(), "{:?}", stored_files(s));
}

fn multipart_with(bytes: usize, name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "attachments[]",
        reqwest::multipart::Part::bytes(vec![b'x'; bytes])
            .file_name(name.to_string())
            .mime_str("text/plain")
            .expect("mime"),
    )
}

/// Finding 6: an account's attachments stay within `max_account_storage_bytes`: an upload
/// that would pass it is refused with 413 `storage_quota_exceeded`, whether its size is
/// declared (refused before the body) or only known once streamed, and nothing is stored.
async fn storage_quota_is_enforced(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &ident).await;
    let path = format!(
        "/api/v1/accounts/{}/conversations/{}/messages",
        admin.account_id, v.conversation_id
    );
    let res = s
        .http
        .post(s.url(&path))
        .header("api_access_token", &admin.token)
        .multipart(multipart_with(2000, "a.txt"))
        .send()
        .await
        .expect("upload");
    assert_eq!(res.status(), StatusCode::OK);

    // Declared length over what is left: refused before the body.
    let res = s
        .http
        .post(s.url(&path))
        .header("api_access_token", &admin.token)
        .multipart(multipart_with(2000, "b.txt"))
        .send()
        .await
        .expect("upload");
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_error(status, &body, 413, "storage_quota_exceeded");

    // No declared length (chunked): refused once the real size is known.
    let boundary = "qUoTa";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments[]\"; filename=\"c.txt\"\r\nContent-Type: text/plain\r\n\r\n{}\r\n--{boundary}--\r\n",
        "x".repeat(2000)
    );
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\napi_access_token: {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        admin.token,
        body.len()
    );
    let mut conn = tcp_from("127.0.0.1", addr(s)).await;
    conn.write_all(request.as_bytes()).await.expect("request");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(EVENTUALLY, conn.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("storage_quota_exceeded"), "{text}");

    assert_eq!(
        s.store().count_attachments(admin.account_id).await.unwrap(),
        1
    );
    // One stored file, no staged leftovers.
    let files = stored_files(s);
    assert_eq!(files.len(), 1, "{files:?}");
    // A small message without files still goes through.
    let (st, _) = s
        .call(
            Method::POST,
            Some(&admin.token),
            &path,
            Some(json!({"content": "still here"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}
