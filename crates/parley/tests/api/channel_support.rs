//! Helpers of the channel tests (Telegram, e-mail): reading an account's conversations
//! and messages through the API, waiting for what a channel's runtime does in the
//! background, and posting an agent's reply.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Actor, TestServer};

/// Rounds of 25 ms a test waits for a channel's background work before it reports what it
/// saw instead: about a minute, because the whole suite shares two cores with the mail
/// servers and the channel runtimes.
pub(crate) const WAIT_ROUNDS: usize = 2400;

/// The conversations of the account, newest first.
pub(crate) async fn conversations(s: &TestServer, admin: &Actor) -> Vec<Value> {
    let (st, body) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations?status=all",
                admin.account_id
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["data"]["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(crate) async fn messages(s: &TestServer, admin: &Actor, conv: i64) -> Vec<Value> {
    let (st, body) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{conv}/messages",
                admin.account_id
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body["payload"].as_array().cloned().unwrap_or_default()
}

/// Waits until the conversation's messages satisfy `check`.
pub(crate) async fn messages_until(
    s: &TestServer,
    admin: &Actor,
    conv: i64,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..WAIT_ROUNDS {
        let m = messages(s, admin, conv).await;
        if check(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "conversation {conv} never had {what}: {:?}",
        messages(s, admin, conv).await
    );
}

/// Waits for the first conversation of the account.
pub(crate) async fn first_conversation(s: &TestServer, admin: &Actor) -> Value {
    for _ in 0..WAIT_ROUNDS {
        if let Some(c) = conversations(s, admin).await.into_iter().last() {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no conversation was created");
}

pub(crate) fn incoming(m: &[Value]) -> Vec<&Value> {
    m.iter().filter(|m| m["message_type"] == 0).collect()
}

pub(crate) async fn post_message(s: &TestServer, admin: &Actor, conv: i64, content: &str) -> Value {
    let (st, m) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{conv}/messages",
                admin.account_id
            ),
            json!({"content": content}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m
}

pub(crate) async fn status_until(
    s: &TestServer,
    admin: &Actor,
    conv: i64,
    mid: i64,
    want: &str,
) -> Value {
    let msgs = messages_until(s, admin, conv, want, |m| {
        m.iter().any(|x| x["id"] == mid && x["status"] == want)
    })
    .await;
    msgs.into_iter()
        .find(|x| x["id"] == mid)
        .expect("the message")
}

/// Waits until the inbox's `connection_status.state` is `state`; returns the status.
pub(crate) async fn status_state(s: &TestServer, admin: &Actor, path: &str, state: &str) -> Value {
    let mut status = Value::Null;
    for _ in 0..WAIT_ROUNDS {
        let (_, inbox) = s.get(&admin.token, path).await;
        status = inbox["connection_status"].clone();
        if status["state"] == state {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the inbox never reached {state}: {status}");
}
