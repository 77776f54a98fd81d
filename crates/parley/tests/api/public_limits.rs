//! Rate limits of the public Client API: new visitor contacts per client address, new
//! conversations and messages per visitor. Refused requests get 429 and store nothing.

use crate::common;

use common::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(visitor_limits);

async fn api_inbox(s: &TestServer) -> String {
    let admin = s.admin("Shop").await;
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success(), "{st} {inbox}");
    inbox["inbox_identifier"]
        .as_str()
        .expect("identifier")
        .to_string()
}

async fn new_visitor(
    s: &TestServer,
    inbox: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = s
        .http
        .post(s.url(&format!("/public/api/v1/inboxes/{inbox}/contacts")))
        .json(&json!({"name": "V"}));
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let res = req.send().await.expect("send");
    let st = res.status();
    (st, res.json().await.unwrap_or(Value::Null))
}

async fn visitor_limits(s: &TestServer) {
    let inbox = api_inbox(s).await;

    // 30 new contacts a minute from one address; a spoofed X-Forwarded-For does not help
    // while the server does not trust a proxy.
    let mut source_ids = Vec::new();
    for i in 0..30 {
        let (st, body) = new_visitor(s, &inbox, Some(&format!("10.0.0.{i}"))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        source_ids.push(body["source_id"].as_str().unwrap().to_string());
    }
    let (st, body) = new_visitor(s, &inbox, Some("10.9.9.9")).await;
    assert_error(st, &body, 429, "rate_limited");

    // Conversations: 10 a minute per visitor; another visitor is not affected.
    let base = format!(
        "/public/api/v1/inboxes/{inbox}/contacts/{}/conversations",
        source_ids[0]
    );
    for _ in 0..10 {
        let (st, body) = s.call(Method::POST, None, &base, Some(json!({}))).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (st, body) = s.call(Method::POST, None, &base, Some(json!({}))).await;
    assert_error(st, &body, 429, "rate_limited");
    let (_, list) = s.call(Method::GET, None, &base, None).await;
    assert_eq!(
        list.as_array()
            .map(Vec::len)
            .or(list["payload"].as_array().map(Vec::len)),
        Some(10),
        "{list}"
    );
    let other = format!(
        "/public/api/v1/inboxes/{inbox}/contacts/{}/conversations",
        source_ids[1]
    );
    let (st, conv) = s.call(Method::POST, None, &other, Some(json!({}))).await;
    assert_eq!(st, StatusCode::OK);

    // Messages: 60 a minute per visitor; the 61st is refused and not stored.
    let conv_id = conv["id"].as_i64().expect("conversation id");
    let msgs = format!("{other}/{conv_id}/messages");
    for i in 0..60 {
        let (st, body) = s
            .call(
                Method::POST,
                None,
                &msgs,
                Some(json!({"content": format!("m{i}")})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &msgs,
            Some(json!({"content": "one too many"})),
        )
        .await;
    assert_error(st, &body, 429, "rate_limited");
    let (_, listed) = s.call(Method::GET, None, &msgs, None).await;
    let all = listed
        .as_array()
        .or(listed["payload"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(
        all.iter().all(|m| m["content"] != "one too many"),
        "a refused message was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = parley::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        trust_proxy: true,
        ..parley::Config::default()
    };
    let s = TestServer::start(cfg, dir).await;
    let inbox = api_inbox(&s).await;
    for _ in 0..30 {
        let (st, _) = new_visitor(&s, &inbox, Some("203.0.113.7, 10.0.0.1")).await;
        assert_eq!(st, StatusCode::OK);
    }
    // The last hop (appended by our proxy) is the client: spent.
    let (st, body) = new_visitor(&s, &inbox, Some("198.51.100.1, 10.0.0.1")).await;
    assert_error(st, &body, 429, "rate_limited");
    // Another client behind the same proxy has its own budget.
    let (st, _) = new_visitor(&s, &inbox, Some("10.0.0.2")).await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

/// The budgets are settings, and a refusal says when to come back (`Retry-After`, seconds
/// until the minute's budget renews).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_limits_answer_with_retry_after() {
    for pg in [false, true] {
        let tune = |c: &mut parley::Config| {
            c.visitor_contacts_per_minute = 3;
            c.visitor_conversations_per_minute = 2;
        };
        let s = if pg {
            match TestServer::postgres_with(tune).await {
                Some(s) => s,
                None => continue,
            }
        } else {
            TestServer::sqlite_with(tune).await
        };
        let inbox = api_inbox(&s).await;
        let mut first = None;
        for _ in 0..3 {
            let (st, body) = new_visitor(&s, &inbox, None).await;
            assert_eq!(st, StatusCode::OK, "{body}");
            first.get_or_insert(body["source_id"].as_str().unwrap().to_string());
        }
        let res = s
            .http
            .post(s.url(&format!("/public/api/v1/inboxes/{inbox}/contacts")))
            .json(&json!({"name": "V"}))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["error"]["code"], "rate_limited", "{body}");

        let base = format!(
            "/public/api/v1/inboxes/{inbox}/contacts/{}/conversations",
            first.unwrap()
        );
        for _ in 0..2 {
            let (st, body) = s.call(Method::POST, None, &base, Some(json!({}))).await;
            assert_eq!(st, StatusCode::OK, "{body}");
        }
        let res = s
            .http
            .post(s.url(&base))
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().get("retry-after").is_some());
        s.stop().await;
    }
}
