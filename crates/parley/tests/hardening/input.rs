//! Finding 9 of issue 12: text holding a NUL (`\u0000`) gave a 500 on PostgreSQL and was
//! stored on SQLite. Now every entry point (JSON bodies of the REST and Client APIs,
//! multipart fields and file names, the path and query string, WebSocket frames) refuses it
//! with `422 invalid_characters` on both backends, and nothing is stored.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_backends;
use crate::common::ws::{Visitor, WsClient, api_inbox};
use crate::common::{TestServer, assert_error};

both_backends!(nul_characters_are_refused_everywhere_and_nothing_is_stored);

/// A JSON body whose `content` is `a\u0000b`, written out by hand so no serializer
/// normalises it.
fn nul_json(field: &str) -> Vec<u8> {
    format!(r#"{{"{field}": "a\u0000b"}}"#).into_bytes()
}

async fn count(s: &TestServer, token: &str, path: &str, key: &str) -> usize {
    let (st, v) = s.get(token, path).await;
    assert_eq!(st, StatusCode::OK, "{path}: {v}");
    let list = if key.is_empty() { &v } else { &v[key] };
    list.as_array().map_or(0, Vec::len)
}

async fn nul_characters_are_refused_everywhere_and_nothing_is_stored(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let conv = v.conversation_id;
    let messages = format!("{base}/conversations/{conv}/messages");
    let contacts_before = count(s, &admin.token, &format!("{base}/contacts"), "payload").await;
    let messages_before = count(s, &admin.token, &messages, "payload").await;
    let labels_before = count(s, &admin.token, &format!("{base}/labels"), "payload").await;

    // JSON bodies: REST API (plain extractor, message writer, the optional body of a
    // status toggle) and Client API.
    let json_cases = [
        (Method::POST, format!("{base}/contacts"), "name"),
        (Method::POST, messages.clone(), "content"),
        (Method::POST, format!("{base}/labels"), "title"),
        (Method::POST, format!("{base}/labels"), "description"),
        (
            Method::POST,
            format!("{base}/conversations/{conv}/toggle_status"),
            "status",
        ),
        (
            Method::POST,
            format!(
                "/public/api/v1/inboxes/{inbox}/contacts/{}/conversations/{conv}/messages",
                v.source_id
            ),
            "content",
        ),
        (
            Method::POST,
            format!("/public/api/v1/inboxes/{inbox}/contacts"),
            "name",
        ),
    ];
    for (method, path, field) in json_cases {
        let (st, body) = s
            .raw(
                method,
                Some(&admin.token),
                &path,
                "application/json",
                nul_json(field),
            )
            .await;
        assert_error(st, &body, 422, "invalid_characters");
    }
    // A NUL inside a nested value (custom attributes) and in a key.
    for body in [
        br#"{"name": "Olga", "custom_attributes": {"city": "x\u0000"}}"#.to_vec(),
        br#"{"name": "Olga", "custom_attributes": {"c\u0000": 1}}"#.to_vec(),
    ] {
        let (st, b) = s
            .raw(
                Method::POST,
                Some(&admin.token),
                &format!("{base}/contacts"),
                "application/json",
                body,
            )
            .await;
        assert_error(st, &b, 422, "invalid_characters");
    }
    // An escaped backslash followed by the text `u0000` is ordinary text and is stored.
    let (st, ok) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &messages,
            "application/json",
            br#"{"content": "path C:\\u0000"}"#.to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ok}");
    assert_eq!(ok["content"], "path C:\\u0000");
    // A lone surrogate cannot be decoded at all: malformed JSON, not a 500.
    let (st, b) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &messages,
            "application/json",
            br#"{"content": "\ud800"}"#.to_vec(),
        )
        .await;
    assert_error(st, &b, 400, "malformed_json");

    // The query string and the path.
    let (st, b) = s
        .get(&admin.token, &format!("{base}/conversations?q=a%00b"))
        .await;
    assert_error(st, &b, 422, "invalid_characters");
    let (st, b) = s
        .get(&admin.token, &format!("{base}/contacts/search?q=%00"))
        .await;
    assert_error(st, &b, 422, "invalid_characters");
    let (st, b) = s
        .call(
            Method::GET,
            None,
            &format!("/public/api/v1/inboxes/{inbox}/contacts/a%00b"),
            None,
        )
        .await;
    assert_error(st, &b, 422, "invalid_characters");
    // The visitor's socket is looked up by its token before the upgrade.
    let (st, b) = s
        .call(
            Method::GET,
            None,
            "/public/api/v1/realtime?pubsub_token=a%00b",
            None,
        )
        .await;
    assert_error(st, &b, 422, "invalid_characters");

    // Multipart: a text field and a file name.
    let form = reqwest::multipart::Form::new().text("content", "a\0b");
    let res = s
        .http
        .post(s.url(&messages))
        .header("api_access_token", &admin.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let st = res.status();
    let b: Value = res.json().await.unwrap_or(Value::Null);
    assert_error(st, &b, 422, "invalid_characters");
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec())
        .file_name("a\0b.txt")
        .mime_str("text/plain")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("content", "with a file")
        .part("attachments[]", part);
    let res = s
        .http
        .post(s.url(&messages))
        .header("api_access_token", &admin.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let st = res.status();
    let b: Value = res.json().await.unwrap_or(Value::Null);
    assert!(
        st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST,
        "{st} {b}"
    );

    // A WebSocket frame, agent side.
    let mut agent = WsClient::agent(s, &admin, None).await;
    agent.until_ready().await;
    agent
        .send_raw(tokio_tungstenite::tungstenite::Message::Text(
            format!(
                r#"{{"type":"message.create","conversation_id":{conv},"content":"a\u0000b","echo_id":"nul-1"}}"#
            )
            .into(),
        ))
        .await;
    let err = agent.until("error").await;
    assert_eq!(err["echo_id"], "nul-1", "{err}");
    assert_eq!(err["error"]["code"], "invalid_characters", "{err}");

    // Nothing was stored: the one ordinary message above is the only change.
    assert_eq!(
        count(s, &admin.token, &format!("{base}/contacts"), "payload").await,
        contacts_before
    );
    assert_eq!(
        count(s, &admin.token, &messages, "payload").await,
        messages_before + 1
    );
    assert_eq!(
        count(s, &admin.token, &format!("{base}/labels"), "payload").await,
        labels_before
    );
    let (st, c) = s
        .get(&admin.token, &format!("{base}/conversations/{conv}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(c["status"], Value::Null);
}
