//! Outgoing webhooks (issue 16): the `/webhooks` API (CRUD, roles, bad input), signed
//! deliveries to a real receiver on loopback, retries with backoff, per-conversation order,
//! restarts, never twice after a 2xx, SSRF refusal at save and delivery time, pause and
//! resume with the administrators' e-mail, redelivery, and the API channel's `webhook_url`.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use hmac::{Hmac, Mac};
use parley_core::Role;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::smtp::SmtpSink;
use crate::common::{Actor, TestServer, assert_error};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    headers: HeaderMap,
    body: String,
    /// The status the receiver answered.
    answered: u16,
}

impl Got {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// A webhook receiver on 127.0.0.1:0 that records every request and answers 500 to the
/// first `fail_first` of them (or to all while `down` is set), 200 otherwise.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    got: Arc<Mutex<Vec<Got>>>,
    down: Arc<AtomicUsize>,
    /// Answer 500 to bodies containing this.
    fail_matching: Arc<Mutex<Option<String>>>,
    /// While true, requests wait before they are answered.
    hold: Arc<tokio::sync::watch::Sender<bool>>,
    /// Requests that came in (answered or still held).
    arrived: Arc<AtomicUsize>,
}

impl Receiver {
    pub(crate) async fn start(fail_first: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let fail = Arc::new(AtomicUsize::new(fail_first));
        let down = Arc::new(AtomicUsize::new(0));
        let fail_matching: Arc<Mutex<Option<String>>> = Arc::default();
        let hold = Arc::new(tokio::sync::watch::channel(false).0);
        let arrived = Arc::new(AtomicUsize::new(0));
        let (g, f, d) = (got.clone(), fail.clone(), down.clone());
        let (m, h, a) = (fail_matching.clone(), hold.clone(), arrived.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (g, f, d) = (g.clone(), f.clone(), d.clone());
            let (m, mut h, a) = (m.clone(), h.subscribe(), a.clone());
            async move {
                a.fetch_add(1, Ordering::SeqCst);
                let _ = h.wait_for(|held| !*held).await;
                let body = String::from_utf8_lossy(&body).into_owned();
                let matching = m
                    .lock()
                    .unwrap()
                    .as_deref()
                    .is_some_and(|needle| body.contains(needle));
                let failing = d.load(Ordering::SeqCst) > 0
                    || matching
                    || f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                let status = if failing {
                    AxStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxStatus::OK
                };
                g.lock().unwrap().push(Got {
                    headers,
                    body,
                    answered: status.as_u16(),
                });
                (status, if failing { "nope" } else { "thanks" })
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
            down,
            fail_matching,
            hold,
            arrived,
        }
    }

    /// Answers 500 to the bodies containing `needle` from now on (200 to the others).
    fn fail_bodies_containing(&self, needle: &str) {
        *self.fail_matching.lock().unwrap() = Some(needle.to_string());
    }

    /// Holds requests unanswered (true) or lets them all be answered (false).
    fn set_hold(&self, held: bool) {
        self.hold.send_replace(held);
    }

    fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Requests of one event name.
    fn of(&self, event: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.header("x-parley-event") == event)
            .collect()
    }

    fn set_down(&self, down: bool) {
        self.down.store(usize::from(down), Ordering::SeqCst);
    }

    /// Waits until `cond` holds over the requests so far.
    pub(crate) async fn until(&self, what: &str, cond: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let mut n = 0u64;
        loop {
            let got = self.got();
            if cond(&got) {
                return got;
            }
            n += 1;
            if n.is_multiple_of(500) {
                eprintln!("still waiting for {what}; got {} requests", got.len());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Retries in tens of milliseconds instead of minutes.
fn fast_retry(pause_after: i64) -> parley::StartOptions {
    parley::StartOptions {
        webhook_retry: Some(parley_service::webhooks::WebhookSettings {
            retry_base_ms: 30,
            retry_max_ms: 200,
            pause_after_failures: pause_after,
            ..Default::default()
        }),
        ..TestServer::fast_jobs()
    }
}

pub(crate) fn verify(secret: &str, g: &Got) -> bool {
    let ts = g.header("x-parley-timestamp");
    let sig = g.header("x-parley-signature");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{}", g.body).as_bytes());
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    !ts.is_empty() && sig == want
}

/// An API inbox with a contact and a conversation; returns (inbox, display id).
async fn conversation(s: &TestServer, a: &Actor, channel: Value) -> (Value, i64) {
    let base = format!("/api/v1/accounts/{}", a.account_id);
    let (st, inbox) = s
        .post(
            &a.token,
            &format!("{base}/inboxes"),
            json!({"name": "Bridge", "channel": channel}),
        )
        .await;
    assert!(st.is_success(), "inbox: {st} {inbox}");
    let inbox_id = inbox["id"].as_i64().unwrap();
    let (st, c) = s
        .post(
            &a.token,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "inbox_id": inbox_id}),
        )
        .await;
    assert!(st.is_success(), "contact: {st} {c}");
    let contact_id = c["payload"]["contact"]["id"].as_i64().unwrap();
    let (st, conv) = s
        .post(
            &a.token,
            &format!("{base}/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    assert!(st.is_success(), "conversation: {st} {conv}");
    (inbox, conv["id"].as_i64().unwrap())
}

async fn say(s: &TestServer, a: &Actor, display_id: i64, text: &str) -> Value {
    let (st, m) = s
        .post(
            &a.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{display_id}/messages",
                a.account_id
            ),
            json!({"content": text, "message_type": "outgoing"}),
        )
        .await;
    assert!(st.is_success(), "message: {st} {m}");
    m
}

async fn create_hook(s: &TestServer, a: &Actor, url: &str, subs: &[&str]) -> Value {
    let (st, w) = s
        .post(
            &a.token,
            &format!("/api/v1/accounts/{}/webhooks", a.account_id),
            json!({"webhook": {"url": url, "name": "CRM", "subscriptions": subs}}),
        )
        .await;
    assert!(st.is_success(), "create webhook: {st} {w}");
    w["payload"]["webhook"].clone()
}

async fn log(s: &TestServer, a: &Actor, id: i64) -> Vec<Value> {
    let (st, body) = s
        .get(
            &a.token,
            &format!("/api/v1/accounts/{}/webhooks/{id}/deliveries", a.account_id),
        )
        .await;
    assert!(st.is_success(), "deliveries: {st} {body}");
    body["payload"].as_array().cloned().unwrap_or_default()
}

async fn log_until(
    s: &TestServer,
    a: &Actor,
    id: i64,
    what: &str,
    cond: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut n = 0u64;
    loop {
        let rows = log(s, a, id).await;
        if cond(&rows) {
            return rows;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("still waiting for {what}: {rows:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

macro_rules! with_opts {
    ($($name:ident => $opts:expr, $tune:expr;)+) => {
        mod sqlite {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let s = $crate::common::TestServer::sqlite_opts($opts, $tune).await;
                   super::$name(s).await;
               } )+
        }
        mod postgres {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   if let Some(s) = $crate::common::TestServer::postgres_opts($opts, $tune).await {
                       super::$name(s).await;
                   }
               } )+
        }
    };
}

with_opts! {
    crud_roles_and_bad_input => fast_retry(0), |_| {};
    signed_message_delivery => fast_retry(0), |_| {};
    retries_until_accepted_once => fast_retry(0), |_| {};
    order_per_conversation_under_failure => fast_retry(0), |_| {};
    restart_delivers_pending => fast_retry(0), |_| {};
    private_targets_refused_when_off => fast_retry(0), |c| c.allow_private_webhook_targets = Some(false);
    delivery_time_check_after_setting_off => fast_retry(0), |_| {};
    pause_notice_and_resume => fast_retry(3), |_| {};
    redeliver_sends_again => fast_retry(0), |_| {};
    api_channel_gets_agent_replies => fast_retry(0), |_| {};
    api_reply_given_up_is_failed_then_retried => short_window(), |_| {};
    contact_and_inbox_events => fast_retry(0), |_| {};
    typing_events => fast_retry(0), |_| {};
    batch_of_mixed_answers => fast_retry(3), |_| {};
    receiver_deleted_while_its_batch_is_in_flight => fast_retry(0), |_| {};
}

/// Deliveries are given up after 300 ms of failures instead of 24 hours.
fn short_window() -> parley::StartOptions {
    let mut o = fast_retry(0);
    if let Some(w) = o.webhook_retry.as_mut() {
        w.retry_window_ms = 300;
    }
    o
}

async fn crud_roles_and_bad_input(s: TestServer) {
    let a = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}/webhooks", a.account_id);
    let r = Receiver::start(0).await;

    // Agents may neither read nor write webhooks.
    let agent = s.member(a.account_id, "Agent", Role::Agent).await;
    let (st, body) = s.get(&agent.token, &base).await;
    assert_error(st, &body, 403, "forbidden");
    let (st, body) = s
        .post(
            &agent.token,
            &base,
            json!({"url": r.url, "subscriptions": ["message_created"]}),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");

    // Create, flat (Chatwoot's swagger) and wrapped (Chatwoot's Rails params).
    let (st, w) = s
        .post(
            &a.token,
            &base,
            json!({"url": r.url, "subscriptions": ["message_created", "conversation_created"]}),
        )
        .await;
    assert!(st.is_success(), "{st} {w}");
    let w = &w["payload"]["webhook"];
    let id = w["id"].as_i64().unwrap();
    assert_eq!(w["url"], r.url.as_str());
    assert_eq!(w["account_id"], a.account_id);
    assert_eq!(
        w["subscriptions"],
        json!(["message_created", "conversation_created"])
    );
    assert_eq!(w["status"], "active");
    let secret = w["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32, "secret {secret}");
    let second = create_hook(&s, &a, &r.url, &["contact_updated"]).await;
    assert_eq!(second["name"], "CRM");

    // Bad input: a clear 422 and nothing changes.
    let bad: Vec<Value> = vec![
        json!({"url": "ftp://x.example/", "subscriptions": ["message_created"]}),
        json!({"url": "/relative", "subscriptions": ["message_created"]}),
        json!({"url": "http://user:pw@x.example/", "subscriptions": ["message_created"]}),
        json!({"url": r.url, "subscriptions": ["message_exploded"]}),
        json!({"url": r.url, "subscriptions": []}),
        json!({"url": r.url}),
        json!({"subscriptions": ["message_created"]}),
        json!({"url": format!("http://x.example/{}", "a".repeat(3000)), "subscriptions": ["message_created"]}),
        json!({"url": r.url, "subscriptions": ["message_created"], "name": "n".repeat(300)}),
        json!({"url": 5, "subscriptions": ["message_created"]}),
    ];
    for b in bad {
        let (st, body) = s.post(&a.token, &base, b.clone()).await;
        assert_eq!(st.as_u16(), 422, "{b} → {st} {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (st, body) = s
        .patch(
            &a.token,
            &format!("{base}/{id}"),
            json!({"subscriptions": ["nope"]}),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{body}");
    let (_, list) = s.get(&a.token, &base).await;
    let hooks = list["payload"]["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2, "{list}");
    assert_eq!(
        hooks[0]["subscriptions"],
        json!(["message_created", "conversation_created"])
    );

    // Update, rotate, delete.
    let (st, body) = s
        .patch(
            &a.token,
            &format!("{base}/{id}"),
            json!({"name": "Orders", "subscriptions": ["message_updated"]}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    assert_eq!(body["payload"]["webhook"]["name"], "Orders");
    assert_eq!(
        body["payload"]["webhook"]["subscriptions"],
        json!(["message_updated"])
    );
    let (st, body) = s
        .post(&a.token, &format!("{base}/{id}/rotate_secret"), json!({}))
        .await;
    assert!(st.is_success(), "{st} {body}");
    assert_ne!(body["payload"]["webhook"]["secret"], secret.as_str());
    let (st, body) = s.delete(&agent.token, &format!("{base}/{id}")).await;
    assert_error(st, &body, 403, "forbidden");
    let (st, _) = s.delete(&a.token, &format!("{base}/{id}")).await;
    assert!(st.is_success());
    let (st, body) = s.delete(&a.token, &format!("{base}/{id}")).await;
    assert_error(st, &body, 404, "not_found");
    let (_, list) = s.get(&a.token, &base).await;
    assert_eq!(list["payload"]["webhooks"].as_array().unwrap().len(), 1);

    // Another account's administrator sees none of it.
    let b = s.admin("Other").await;
    let (st, _) = s
        .get(
            &b.token,
            &format!("/api/v1/accounts/{}/webhooks", a.account_id),
        )
        .await;
    assert!(!st.is_success());
    let other = second["id"].as_i64().unwrap();
    let (st, _) = s
        .delete(
            &b.token,
            &format!("/api/v1/accounts/{}/webhooks/{other}", b.account_id),
        )
        .await;
    assert_eq!(st.as_u16(), 404);

    // At most 20 per account.
    for _ in 0..19 {
        create_hook(&s, &a, &r.url, &["message_created"]).await;
    }
    let (st, body) = s
        .post(
            &a.token,
            &base,
            json!({"url": r.url, "subscriptions": ["message_created"]}),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{body}");
    s.stop().await;
}

async fn signed_message_delivery(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    let w = create_hook(&s, &a, &r.url, &["message_created", "conversation_created"]).await;
    let secret = w["secret"].as_str().unwrap().to_string();
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    let m = say(&s, &a, display_id, "Your order has shipped").await;
    let got = r
        .until("message_created", |g| {
            g.iter()
                .any(|g| g.header("x-parley-event") == "message_created")
        })
        .await;
    let conv = r.of("conversation_created");
    assert_eq!(conv.len(), 1, "{got:?}");
    assert_eq!(conv[0].json()["event"], "conversation_created");
    let g = r.of("message_created").remove(0);
    assert!(verify(&secret, &g), "signature does not verify: {g:?}");
    assert!(!verify("whsec_wrong", &g));
    assert_eq!(g.header("content-type"), "application/json");
    assert_eq!(g.header("x-parley-delivery").len(), 32);
    let body = g.json();
    assert_eq!(body["event"], "message_created");
    assert_eq!(body["id"], m["id"]);
    assert_eq!(body["content"], "Your order has shipped");
    assert_eq!(body["message_type"], "outgoing");
    assert_eq!(body["conversation"]["id"], display_id);
    assert_eq!(body["account"]["id"], a.account_id);
    assert_eq!(body["account"]["name"], "Shop");
    assert_eq!(body["inbox"]["name"], "Bridge");
    assert_eq!(body["sender"]["id"], a.user_id);
    // The log shows it delivered with the receiver's answer.
    let rows = log_until(&s, &a, w["id"].as_i64().unwrap(), "delivered", |rows| {
        rows.iter()
            .any(|d| d["event"] == "message_created" && d["status"] == "delivered")
    })
    .await;
    let d = rows
        .iter()
        .find(|d| d["event"] == "message_created")
        .unwrap();
    assert_eq!(d["response_code"], 200);
    assert_eq!(d["response_body"], "thanks");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["request_body"], g.body.as_str());
    assert_eq!(d["delivery_uuid"], g.header("x-parley-delivery").as_str());
    s.stop().await;
}

async fn retries_until_accepted_once(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(3).await;
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    say(&s, &a, display_id, "one").await;
    let got = r
        .until("a 2xx", |g| g.iter().any(|g| g.answered == 200))
        .await;
    assert_eq!(got.len(), 4, "three failures then one success: {got:?}");
    let uuid = got[0].header("x-parley-delivery");
    assert!(got.iter().all(|g| g.header("x-parley-delivery") == uuid));
    let rows = log_until(&s, &a, w["id"].as_i64().unwrap(), "delivered", |rows| {
        rows.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(rows[0]["attempts"], 4);
    // A later event goes through after it: the worker ran again, and the first one was
    // never sent again.
    say(&s, &a, display_id, "two").await;
    let got = r
        .until("the second message", |g| {
            g.iter()
                .any(|g| g.json()["content"] == "two" && g.answered == 200)
        })
        .await;
    let ones = got.iter().filter(|g| g.json()["content"] == "one").count();
    assert_eq!(ones, 4, "never sent again after its 2xx");
    s.stop().await;
}

async fn order_per_conversation_under_failure(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(4).await;
    create_hook(&s, &a, &r.url, &["message_created"]).await;
    let (_, first) = conversation(&s, &a, json!({"type": "api"})).await;
    for i in 0..5 {
        say(&s, &a, first, &format!("m{i}")).await;
    }
    let got = r
        .until("all five accepted", |g| {
            g.iter().filter(|g| g.answered == 200).count() == 5
        })
        .await;
    // Every request (failed or not) of a message comes after the 2xx of the one before.
    let mut delivered = Vec::new();
    for g in &got {
        let content = g.json()["content"].as_str().unwrap_or_default().to_string();
        let n: usize = content[1..].parse().unwrap();
        assert_eq!(
            n,
            delivered.len(),
            "out of order: {content} after {delivered:?}"
        );
        if g.answered == 200 {
            delivered.push(n);
        }
    }
    assert_eq!(delivered, vec![0, 1, 2, 3, 4]);
    s.stop().await;
}

async fn restart_delivers_pending(mut s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    r.set_down(true);
    create_hook(&s, &a, &r.url, &["message_created"]).await;
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    say(&s, &a, display_id, "before restart").await;
    r.until("a failed attempt", |g| !g.is_empty()).await;
    s.restart().await;
    r.set_down(false);
    let got = r
        .until("delivered after the restart", |g| {
            g.iter().any(|g| g.answered == 200)
        })
        .await;
    let ok: Vec<_> = got.iter().filter(|g| g.answered == 200).collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].json()["content"], "before restart");
    s.stop().await;
}

async fn private_targets_refused_when_off(s: TestServer) {
    let a = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}/webhooks", a.account_id);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
    ] {
        let (st, body) = s
            .post(
                &a.token,
                &base,
                json!({"url": url, "subscriptions": ["message_created"]}),
            )
            .await;
        assert_eq!(st.as_u16(), 422, "{url} → {st} {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("allow_private_webhook_targets"),
            "{url}: {msg}"
        );
    }
    let (_, list) = s.get(&a.token, &base).await;
    assert_eq!(list["payload"]["webhooks"], json!([]));
    // The API channel's webhook_url follows the same rule.
    let (st, body) = s
        .post(
            &a.token,
            &format!("/api/v1/accounts/{}/inboxes", a.account_id),
            json!({"name": "Bridge", "channel": {"type": "api", "webhook_url": "http://127.0.0.1:9/x"}}),
        )
        .await;
    assert_eq!(st.as_u16(), 422, "{body}");
    let (_, inboxes) = s
        .get(
            &a.token,
            &format!("/api/v1/accounts/{}/inboxes", a.account_id),
        )
        .await;
    assert_eq!(inboxes["payload"], json!([]));
    // A public address is accepted.
    let (st, body) = s
        .post(
            &a.token,
            &base,
            json!({"url": "https://93.184.215.14/hook", "subscriptions": ["message_created"]}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    s.stop().await;
}

async fn delivery_time_check_after_setting_off(mut s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let localhost = create_hook(
        &s,
        &a,
        &r.url.replace("127.0.0.1", "localhost"),
        &["message_created"],
    )
    .await;
    // The server restarts with private targets forbidden: stored URLs are checked again
    // at every delivery, by address literal and by what the name resolves to.
    s.cfg.allow_private_webhook_targets = Some(false);
    s.restart().await;
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    say(&s, &a, display_id, "secret").await;
    for hook in [&w, &localhost] {
        let rows = log_until(
            &s,
            &a,
            hook["id"].as_i64().unwrap(),
            "a refused attempt",
            |rows| {
                rows.first()
                    .is_some_and(|d| d["attempts"].as_i64() >= Some(2))
            },
        )
        .await;
        let err = rows[0]["error"].as_str().unwrap_or_default();
        assert!(err.contains("allow_private_webhook_targets"), "{err}");
        assert_eq!(rows[0]["status"], "pending");
        assert_eq!(rows[0]["response_code"], Value::Null);
    }
    assert!(
        r.got().is_empty(),
        "the receiver was reached: {:?}",
        r.got()
    );
    s.stop().await;
}

async fn pause_notice_and_resume(s: TestServer) {
    // A second server with a mail sink, so the notice can be read.
    let sink = SmtpSink::start().await;
    let opts = s.opts.clone();
    let postgres = s.pg_database.is_some();
    s.stop().await;
    let s = if postgres {
        match TestServer::postgres_opts(opts, |c| c.smtp_url = Some(sink.url().into())).await {
            Some(s) => s,
            None => return,
        }
    } else {
        TestServer::sqlite_opts(opts, |c| c.smtp_url = Some(sink.url().into())).await
    };
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    r.set_down(true);
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let id = w["id"].as_i64().unwrap();
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    say(&s, &a, display_id, "first").await;
    let base = format!("/api/v1/accounts/{}/webhooks", a.account_id);
    // Three failures in a row pause it.
    let mut n = 0u64;
    let paused = loop {
        let (_, list) = s.get(&a.token, &base).await;
        let hook = list["payload"]["webhooks"][0].clone();
        if hook["status"] == "paused" {
            break hook;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("waiting for the pause: {hook}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert!(paused["paused_at"].as_i64().is_some());
    assert!(
        paused["pause_reason"]
            .as_str()
            .is_some_and(|r| r.contains("500")),
        "{paused}"
    );
    let mail = sink.next().await;
    assert!(mail.raw().contains(&a.email), "notice to the administrator");
    let subject = mail.subject();
    assert!(
        subject.contains("paused") || subject.contains("приостановлен"),
        "{subject}"
    );
    // Paused: nothing more is tried, and new events wait.
    let tried = r.got().len();
    assert_eq!(tried, 3);
    say(&s, &a, display_id, "second").await;
    // Agents may not resume it.
    let agent = s.member(a.account_id, "Agent", Role::Agent).await;
    let (st, body) = s
        .post(&agent.token, &format!("{base}/{id}/resume"), json!({}))
        .await;
    assert_error(st, &body, 403, "forbidden");
    assert_eq!(r.got().len(), tried);
    // Resumed with a working receiver: everything goes out, in order.
    r.set_down(false);
    let (st, body) = s
        .post(&a.token, &format!("{base}/{id}/resume"), json!({}))
        .await;
    assert!(st.is_success(), "{st} {body}");
    assert_eq!(body["payload"]["webhook"]["status"], "active");
    let got = r
        .until("both delivered", |g| {
            g.iter().filter(|g| g.answered == 200).count() == 2
        })
        .await;
    let ok: Vec<String> = got
        .iter()
        .filter(|g| g.answered == 200)
        .map(|g| g.json()["content"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ok, vec!["first", "second"]);
    s.stop().await;
}

async fn redeliver_sends_again(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let id = w["id"].as_i64().unwrap();
    let (_, display_id) = conversation(&s, &a, json!({"type": "api"})).await;
    say(&s, &a, display_id, "again").await;
    let rows = log_until(&s, &a, id, "delivered", |rows| {
        rows.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    let first = rows[0].clone();
    let path = format!(
        "/api/v1/accounts/{}/webhooks/{id}/deliveries/{}/redeliver",
        a.account_id, first["id"]
    );
    let agent = s.member(a.account_id, "Agent", Role::Agent).await;
    let (st, body) = s.post(&agent.token, &path, json!({})).await;
    assert_error(st, &body, 403, "forbidden");
    let (st, body) = s.post(&a.token, &path, json!({})).await;
    assert!(st.is_success(), "{st} {body}");
    assert_ne!(body["payload"]["id"], first["id"]);
    let got = r.until("the redelivery", |g| g.len() == 2).await;
    assert_eq!(got[0].body, got[1].body);
    assert_ne!(
        got[0].header("x-parley-delivery"),
        got[1].header("x-parley-delivery")
    );
    let rows = log_until(&s, &a, id, "both delivered", |rows| {
        rows.len() == 2 && rows.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(rows.len(), 2);
    // A delivery of another webhook, or none at all, is not found.
    let (st, body) = s
        .post(
            &a.token,
            &format!(
                "/api/v1/accounts/{}/webhooks/{id}/deliveries/999999/redeliver",
                a.account_id
            ),
            json!({}),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, _) = s
        .call(
            Method::GET,
            Some(&a.token),
            &format!(
                "/api/v1/accounts/{}/webhooks/{id}/deliveries?before=x",
                a.account_id
            ),
            None,
        )
        .await;
    assert_eq!(st.as_u16(), 400);
    s.stop().await;
}

async fn api_channel_gets_agent_replies(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(1).await;
    let (inbox, display_id) =
        conversation(&s, &a, json!({"type": "api", "webhook_url": r.url})).await;
    let secret = inbox["hmac_token"].as_str().unwrap().to_string();
    let m = say(&s, &a, display_id, "Hello from an agent").await;
    // Nobody accepted it yet: not `sent`.
    assert_eq!(m["status"], "progress");
    let got = r
        .until("the reply accepted", |g| {
            g.iter().any(|g| {
                g.answered == 200
                    && g.header("x-parley-event") == "message_created"
                    && g.json()["content"] == "Hello from an agent"
            })
        })
        .await;
    let g = got
        .iter()
        .find(|g| g.answered == 200 && g.json()["content"] == "Hello from an agent")
        .unwrap();
    assert!(verify(&secret, g), "signed with the inbox's hmac_token");
    assert_eq!(g.json()["message_type"], "outgoing");
    assert_eq!(g.json()["inbox"]["id"], inbox["id"]);
    // The status follows the receiver's answer.
    let path = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages",
        a.account_id
    );
    let mut n = 0u64;
    loop {
        let (_, page) = s.get(&a.token, &path).await;
        let status = page["payload"]
            .as_array()
            .and_then(|p| p.iter().find(|x| x["id"] == m["id"]))
            .map(|x| x["status"].clone());
        if status == Some(json!("sent")) {
            break;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("waiting for sent: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // A message of the customer posted through the API also reaches the bridge.
    let (st, body) = s
        .post(
            &a.token,
            &path,
            json!({"content": "From the customer", "message_type": "incoming"}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    r.until("the incoming message", |g| {
        g.iter().any(|g| g.json()["content"] == "From the customer")
    })
    .await;
    // The inbox's receiver is not one of the account's webhooks.
    let (_, list) = s
        .get(
            &a.token,
            &format!("/api/v1/accounts/{}/webhooks", a.account_id),
        )
        .await;
    assert_eq!(list["payload"]["webhooks"], json!([]));
    // Without a webhook_url nothing is posted any more.
    let (st, body) = s
        .patch(
            &a.token,
            &format!("/api/v1/accounts/{}/inboxes/{}", a.account_id, inbox["id"]),
            json!({"channel": {"webhook_url": null}}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    let m2 = say(&s, &a, display_id, "unsent").await;
    assert_eq!(m2["status"], "sent");
    s.stop().await;
}

async fn api_reply_given_up_is_failed_then_retried(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    r.set_down(true);
    let (_, display_id) = conversation(&s, &a, json!({"type": "api", "webhook_url": r.url})).await;
    let m = say(&s, &a, display_id, "Nobody listens").await;
    assert_eq!(m["status"], "progress");
    let path = format!(
        "/api/v1/accounts/{}/conversations/{display_id}/messages",
        a.account_id
    );
    let status_of = |page: &Value| {
        page["payload"]
            .as_array()
            .and_then(|p| p.iter().find(|x| x["id"] == m["id"]))
            .cloned()
            .unwrap_or(Value::Null)
    };
    // Given up: `failed`, with the receiver's answer as the reason.
    let mut n = 0u64;
    let failed = loop {
        let (_, page) = s.get(&a.token, &path).await;
        let msg = status_of(&page);
        if msg["status"] == "failed" {
            break msg;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("waiting for failed: {msg}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let reason = failed["external_error"].as_str().unwrap_or_default();
    assert!(reason.contains("500"), "{failed}");
    assert!(r.got().iter().all(|g| g.answered == 500));
    // Retried from the console's button: back to the webhook_url, and `sent` once taken.
    r.set_down(false);
    let (st, body) = s
        .post(&a.token, &format!("{path}/{}/retry", m["id"]), json!({}))
        .await;
    assert!(st.is_success(), "{st} {body}");
    assert_eq!(body["status"], "progress");
    let mut n = 0u64;
    loop {
        let (_, page) = s.get(&a.token, &path).await;
        let msg = status_of(&page);
        if msg["status"] == "sent" {
            assert!(msg["external_error"].is_null(), "{msg}");
            break;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("waiting for sent: {msg}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let ok: Vec<_> = r.got().into_iter().filter(|g| g.answered == 200).collect();
    assert!(ok.iter().any(|g| g.json()["content"] == "Nobody listens"));
    // A message that is not failed cannot be retried.
    let (st, body) = s
        .post(&a.token, &format!("{path}/{}/retry", m["id"]), json!({}))
        .await;
    assert_error(st, &body, 422, "invalid_field");
    s.stop().await;
}

/// `contact_created` for the API's and the widget's new contacts, `contact_updated`,
/// `inbox_created` and `inbox_updated` (without the inbox's `hmac_token`).
async fn contact_and_inbox_events(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    create_hook(
        &s,
        &a,
        &r.url,
        &[
            "contact_created",
            "contact_updated",
            "inbox_created",
            "inbox_updated",
        ],
    )
    .await;
    let base = format!("/api/v1/accounts/{}", a.account_id);
    let (st, inbox) = s
        .post(
            &a.token,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.example"}}),
        )
        .await;
    assert!(st.is_success(), "inbox: {st} {inbox}");
    let inbox_id = inbox["id"].as_i64().unwrap();
    assert!(inbox["hmac_token"].is_string(), "{inbox}");
    let (st, _) = s
        .patch(
            &a.token,
            &format!("{base}/inboxes/{inbox_id}"),
            json!({"name": "Shop site"}),
        )
        .await;
    assert!(st.is_success());
    let (st, c) = s
        .post(
            &a.token,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "email": "ivan@example.com"}),
        )
        .await;
    assert!(st.is_success(), "contact: {st} {c}");
    let contact_id = c["payload"]["contact"]["id"].as_i64().unwrap();
    let (st, _) = s
        .put(
            &a.token,
            &format!("{base}/contacts/{contact_id}"),
            json!({"phone_number": "+79991234567"}),
        )
        .await;
    assert!(st.is_success());
    let identifier = inbox["inbox_identifier"].as_str().unwrap().to_string();
    let visitor = crate::common::ws::Visitor::new(&s, &identifier).await;
    let got = r
        .until("four kinds of events", |g| {
            let n = |e: &str| g.iter().filter(|g| g.header("x-parley-event") == e).count();
            n("inbox_created") >= 1
                && n("inbox_updated") >= 1
                && n("contact_created") >= 2
                && n("contact_updated") >= 1
        })
        .await;
    let created = r.of("inbox_created").remove(0).json();
    assert_eq!(created["event"], "inbox_created");
    assert_eq!(created["id"], inbox_id);
    assert_eq!(created["name"], "Site");
    assert_eq!(created["account"]["id"], a.account_id);
    assert!(created.get("hmac_token").is_none(), "secret in {created}");
    let updated = r.of("inbox_updated").remove(0).json();
    assert_eq!(updated["name"], "Shop site");
    assert_eq!(
        updated["changed_attributes"][0]["name"]["current_value"],
        "Shop site"
    );
    let contacts: Vec<Value> = r.of("contact_created").iter().map(Got::json).collect();
    let api = contacts
        .iter()
        .find(|c| c["id"] == contact_id)
        .unwrap_or_else(|| panic!("no contact_created for the API's contact: {got:?}"));
    assert_eq!(api["name"], "Ivan");
    assert_eq!(api["email"], "ivan@example.com");
    assert!(api.get("inbox").is_none());
    assert!(
        contacts
            .iter()
            .any(|c| c["name"] == "Visitor" && c["id"] != contact_id),
        "no contact_created for the widget's visitor: {contacts:?} ({visitor:?})"
    );
    let changed = r.of("contact_updated").remove(0).json();
    assert_eq!(changed["id"], contact_id);
    assert_eq!(changed["phone_number"], "+79991234567");
    s.stop().await;
}

/// `conversation_typing_on` / `_off`: signed, with who types and the conversation; a burst
/// of keystroke notices is one `typing_on`, and stopping is one `typing_off`. A webhook not
/// subscribed to them gets none.
async fn typing_events(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    let other = Receiver::start(0).await;
    let hook = create_hook(
        &s,
        &a,
        &r.url,
        &["conversation_typing_on", "conversation_typing_off"],
    )
    .await;
    create_hook(&s, &a, &other.url, &["message_created"]).await;
    let (_, d) = conversation(&s, &a, json!({"type": "api"})).await;
    let typing = |status: &'static str| {
        let path = format!(
            "/api/v1/accounts/{}/conversations/{d}/toggle_typing_status",
            a.account_id
        );
        let (s, token) = (&s, a.token.clone());
        async move {
            let (st, v) = s
                .post(&token, &path, json!({"typing_status": status}))
                .await;
            assert!(st.is_success(), "typing {status}: {st} {v}");
        }
    };
    for _ in 0..5 {
        typing("on").await;
    }
    typing("off").await;
    typing("off").await;
    let got = r
        .until("typing off", |g| {
            g.iter()
                .any(|g| g.json()["event"] == "conversation_typing_off")
        })
        .await;
    let on: Vec<&Got> = got
        .iter()
        .filter(|g| g.json()["event"] == "conversation_typing_on")
        .collect();
    assert_eq!(on.len(), 1, "{got:?}");
    let body = on[0].json();
    assert_eq!(body["conversation"]["id"], d);
    assert_eq!(body["user"]["type"], "user");
    assert_eq!(body["user"]["id"], a.user_id);
    assert_eq!(body["is_private"], false);
    let secret = hook["secret"].as_str().unwrap_or_default();
    assert!(verify(secret, on[0]), "signature");
    assert_eq!(on[0].header("x-parley-event"), "conversation_typing_on");
    // A message afterwards reaches the other webhook, which never got typing events.
    say(&s, &a, d, "Hello").await;
    let theirs = other.until("the message", |g| !g.is_empty()).await;
    assert!(
        theirs
            .iter()
            .all(|g| g.json()["event"] == "message_created"),
        "{theirs:?}"
    );
    assert_eq!(r.of("conversation_typing_off").len(), 1);
    // Bad input changes nothing.
    let (st, v) = s
        .post(
            &a.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{d}/toggle_typing_status",
                a.account_id
            ),
            json!({"typing_status": "maybe"}),
        )
        .await;
    assert_error(st, &v, 422, "invalid_field");
    s.stop().await;
}

/// The webhook's view in the account's list.
async fn hook_view(s: &TestServer, a: &Actor, id: i64) -> Value {
    let (st, list) = s
        .get(
            &a.token,
            &format!("/api/v1/accounts/{}/webhooks", a.account_id),
        )
        .await;
    assert!(st.is_success(), "{st} {list}");
    list["payload"]["webhooks"]
        .as_array()
        .and_then(|l| l.iter().find(|w| w["id"] == id).cloned())
        .unwrap_or(Value::Null)
}

async fn until_paused(s: &TestServer, a: &Actor, id: i64) -> Value {
    let mut n = 0u64;
    loop {
        let hook = hook_view(s, a, id).await;
        if hook["status"] == "paused" {
            return hook;
        }
        n += 1;
        if n.is_multiple_of(200) {
            eprintln!("waiting for the pause: {hook}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One claimed batch whose receiver answers 2xx to some deliveries and 500 to others:
/// each delivery's log is its own answer, the 2xx ones are sent once, the failure count
/// follows the attempts in order (the 2xx ones after the failed one reset it), and the
/// failing one alone then pauses the receiver at exactly `pause_after` (3).
async fn batch_of_mixed_answers(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    r.set_down(true);
    r.set_hold(true);
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let id = w["id"].as_i64().unwrap();
    let mut convs = Vec::new();
    for _ in 0..4 {
        convs.push(conversation(&s, &a, json!({"type": "api"})).await.1);
    }
    // Four deliveries stored (the receiver holds the first attempt), then failing until
    // the receiver is paused: all four wait, in four conversations.
    say(&s, &a, convs[0], "bad one").await;
    for (n, c) in convs[1..].iter().enumerate() {
        say(&s, &a, *c, &format!("good {n}")).await;
    }
    log_until(&s, &a, id, "four deliveries stored", |rows| rows.len() == 4).await;
    r.set_hold(false);
    until_paused(&s, &a, id).await;
    let before = r.got().len();
    // Resumed: the four are due at once and claimed in one batch; the first answers 500,
    // the three others 2xx.
    r.set_down(false);
    r.fail_bodies_containing("bad one");
    let (st, body) = s
        .post(
            &a.token,
            &format!("/api/v1/accounts/{}/webhooks/{id}/resume", a.account_id),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
    r.until("the three good ones", |g| {
        g.iter().filter(|g| g.answered == 200).count() == 3
    })
    .await;
    let hook = until_paused(&s, &a, id).await;
    // Resume set 0; the batch: 1, then 0 after the 2xx ones; then 1, 2, 3 alone.
    assert_eq!(hook["failures"], 3, "{hook}");
    assert!(
        hook["pause_reason"]
            .as_str()
            .is_some_and(|r| r.contains("500")),
        "{hook}"
    );
    let got = r.got()[before..].to_vec();
    for n in 0..3 {
        let ok: Vec<&Got> = got
            .iter()
            .filter(|g| g.json()["content"] == format!("good {n}"))
            .collect();
        assert_eq!(ok.len(), 1, "good {n} sent once: {ok:?}");
        assert_eq!(ok[0].answered, 200);
    }
    let bad = got
        .iter()
        .filter(|g| g.json()["content"] == "bad one")
        .count();
    assert_eq!(bad, 4, "1 in the batch + 3 alone");
    let rows = log(&s, &a, id).await;
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let body: Value = serde_json::from_str(row["request_body"].as_str().unwrap()).unwrap();
        if body["content"] == "bad one" {
            assert_eq!(row["status"], "pending", "{row}");
            assert_eq!(row["response_code"], 500, "{row}");
            assert_eq!(row["response_body"], "nope", "{row}");
        } else {
            assert_eq!(row["status"], "delivered", "{row}");
            assert_eq!(row["response_code"], 200, "{row}");
            assert_eq!(row["response_body"], "thanks", "{row}");
            assert!(row["error"].is_null(), "{row}");
            assert!(row["next_attempt_at"].is_null(), "{row}");
        }
    }
    s.stop().await;
}

/// Deleting a receiver while its batch is being sent (and recorded, the two racing on
/// purpose) answers 2xx every time, never deadlocks on PostgreSQL, and leaves the worker
/// delivering to the next receiver.
async fn receiver_deleted_while_its_batch_is_in_flight(s: TestServer) {
    let a = s.admin("Shop").await;
    let r = Receiver::start(0).await;
    let base = format!("/api/v1/accounts/{}/webhooks", a.account_id);
    let mut convs = Vec::new();
    for _ in 0..3 {
        convs.push(conversation(&s, &a, json!({"type": "api"})).await.1);
    }
    for round in 0..5 {
        let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
        let id = w["id"].as_i64().unwrap();
        r.set_hold(true);
        let before = r.arrived();
        for c in &convs {
            say(&s, &a, *c, &format!("round {round}")).await;
        }
        let mut n = 0u64;
        while r.arrived() < before + convs.len() {
            n += 1;
            if n.is_multiple_of(200) {
                eprintln!("waiting for the batch to be in flight: {}", r.arrived());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The answers go out and the receiver goes away at the same moment.
        r.set_hold(false);
        let (st, body) = s.delete(&a.token, &format!("{base}/{id}")).await;
        assert!(st.is_success(), "round {round}: delete: {st} {body}");
        assert_eq!(hook_view(&s, &a, id).await, Value::Null, "round {round}");
    }
    // The worker is still sending.
    let w = create_hook(&s, &a, &r.url, &["message_created"]).await;
    let id = w["id"].as_i64().unwrap();
    say(&s, &a, convs[0], "after the deletions").await;
    let rows = log_until(&s, &a, id, "the last one delivered", |rows| {
        rows.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(rows.len(), 1);
    assert!(
        r.got()
            .iter()
            .any(|g| g.json()["content"] == "after the deletions" && g.answered == 200)
    );
    s.stop().await;
}
