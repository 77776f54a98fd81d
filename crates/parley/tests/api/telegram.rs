//! The Telegram channel end to end (issue 14): a real server whose `telegram_api_url` points
//! at a fake Bot API inside the test, which speaks the documented JSON shapes (getMe,
//! getUpdates with offsets and a long-poll timeout, sendMessage, sendPhoto, sendDocument,
//! sendChatAction, getFile and file downloads, setWebhook, deleteWebhook, 429 with
//! `parameters.retry_after`). Both backends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode as AxStatus;
use axum::response::{IntoResponse, Response};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::channel_support::{
    conversations, first_conversation, incoming, messages, messages_until, post_message,
    status_state, status_until,
};
use crate::common::{Actor, TestServer};

/// Posts one update to an inbox's webhook as Telegram would, with the secret header when
/// given; the answer's status.
async fn post_update(
    s: &TestServer,
    hook: &str,
    secret: Option<&str>,
    update: &Value,
) -> StatusCode {
    let mut req = s.http.post(hook).json(update);
    if let Some(secret) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    req.send().await.expect("post").status()
}

const TOKEN: &str = "123456:TESTtoken_ok";
const CHAT: i64 = 5001;

/// What the fake Bot API knows and saw.
#[derive(Default)]
struct FakeState {
    /// Updates not yet confirmed by an offset past them.
    updates: Vec<Value>,
    next_update: i64,
    /// Every send call: (method, chat_id, text or file name).
    sent: Vec<(String, String, String)>,
    next_message_id: i64,
    /// Answers to give to the next send calls instead of accepting them.
    failures: VecDeque<(u16, Value)>,
    /// Offsets getUpdates was called with.
    offsets: Vec<i64>,
    /// Files by path.
    files: HashMap<String, Vec<u8>>,
    /// The last setWebhook (url, secret).
    webhook: Option<(String, String)>,
    typing: usize,
    /// While true, send calls wait (a provider that stopped answering).
    hold: Option<tokio::sync::watch::Sender<bool>>,
    /// Send calls that reached the hold.
    held: usize,
    /// Held send calls the client gave up on (their connection closed).
    abandoned: usize,
}

/// Counts a held send call as abandoned if it is dropped before the hold ends.
struct Abandon(Arc<Mutex<FakeState>>, bool);

impl Drop for Abandon {
    fn drop(&mut self) {
        if !self.1
            && let Ok(mut st) = self.0.lock()
        {
            st.abandoned += 1;
        }
    }
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<FakeState>>,
    news: Arc<tokio::sync::Notify>,
    url: String,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn err(code: u16, description: &str) -> Response {
    (
        AxStatus::from_u16(code).unwrap_or(AxStatus::BAD_REQUEST),
        axum::Json(json!({"ok": false, "error_code": code, "description": description})),
    )
        .into_response()
}

impl Fake {
    async fn start() -> Fake {
        let state = Arc::new(Mutex::new(FakeState {
            next_update: 1,
            next_message_id: 900,
            ..Default::default()
        }));
        let news = Arc::new(tokio::sync::Notify::new());
        let app = Router::new()
            .route("/{bot}/{method}", axum::routing::post(call))
            .route("/file/{bot}/{*path}", axum::routing::get(file))
            .with_state((state.clone(), news.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            state,
            news,
            url,
            task: Arc::new(task),
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    /// Queues an update (its `update_id` is assigned) and wakes a waiting long poll.
    fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut st = self.st();
            let id = st.next_update;
            st.next_update += 1;
            update["update_id"] = json!(id);
            st.updates.push(update);
            id
        };
        self.news.notify_waiters();
        id
    }

    fn sent(&self) -> Vec<(String, String, String)> {
        self.st().sent.clone()
    }

    /// Makes send calls wait (`true`) until called again with `false`.
    fn hold_sends(&self, on: bool) {
        let mut st = self.st();
        match &st.hold {
            Some(h) => {
                h.send_replace(on);
            }
            None => st.hold = Some(tokio::sync::watch::channel(on).0),
        }
    }

    fn fail_next(&self, n: usize, code: u16, body: Value) {
        let mut st = self.st();
        for _ in 0..n {
            st.failures.push_back((code, body.clone()));
        }
    }
}

type Shared = (Arc<Mutex<FakeState>>, Arc<tokio::sync::Notify>);

async fn call(
    State((state, news)): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Response {
    let token = bot.strip_prefix("bot").unwrap_or_default();
    if token != TOKEN {
        return err(401, "Unauthorized");
    }
    let is_multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut params = serde_json::Map::new();
    let mut file_name = String::new();
    if is_multipart {
        let Ok(mut mp) =
            <Multipart as axum::extract::FromRequest<()>>::from_request(req, &()).await
        else {
            return err(400, "bad multipart");
        };
        while let Ok(Some(field)) = mp.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(f) = field.file_name() {
                file_name = f.to_string();
                let _ = field.bytes().await;
            } else {
                params.insert(name, json!(field.text().await.unwrap_or_default()));
            }
        }
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        if let Ok(Value::Object(m)) = serde_json::from_slice(&bytes) {
            params = m;
        }
    }
    let chat = |p: &serde_json::Map<String, Value>| {
        p.get("chat_id")
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    };
    match method.as_str() {
        "getMe" => ok(
            json!({"id": 123456, "is_bot": true, "first_name": "Shop Bot", "username": "shop_test_bot"}),
        ),
        "deleteWebhook" => ok(json!(true)),
        "setWebhook" => {
            let url = params
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let secret = params
                .get("secret_token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            state.lock().expect("fake").webhook = Some((url.into(), secret.into()));
            ok(json!(true))
        }
        "getUpdates" => {
            let offset = params.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let timeout = params.get("timeout").and_then(Value::as_u64).unwrap_or(0);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let notified = news.notified();
                {
                    let mut st = state.lock().expect("fake");
                    st.offsets.push(offset);
                    // An offset confirms every earlier update, as in the Bot API.
                    st.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    if !st.updates.is_empty() {
                        return ok(Value::Array(st.updates.clone()));
                    }
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        "getFile" => {
            let id = params
                .get("file_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let path = format!("files/{id}.bin");
            let size = state.lock().expect("fake").files.get(&path).map(Vec::len);
            match size {
                Some(n) => ok(json!({"file_id": id, "file_size": n, "file_path": path})),
                None => err(400, "Bad Request: invalid file_id"),
            }
        }
        "sendChatAction" => {
            state.lock().expect("fake").typing += 1;
            ok(json!(true))
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let hold = {
                let mut st = state.lock().expect("fake");
                let hold = st.hold.as_ref().map(|h| h.subscribe());
                if hold.as_ref().is_some_and(|h| *h.borrow()) {
                    st.held += 1;
                }
                hold
            };
            if let Some(mut hold) = hold {
                let mut guard = Abandon(state.clone(), false);
                while *hold.borrow_and_update() {
                    if hold.changed().await.is_err() {
                        break;
                    }
                }
                guard.1 = true;
            }
            let mut st = state.lock().expect("fake");
            if let Some((code, body)) = st.failures.pop_front() {
                return (
                    AxStatus::from_u16(code).unwrap_or(AxStatus::BAD_GATEWAY),
                    axum::Json(body),
                )
                    .into_response();
            }
            let text = params
                .get("text")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(file_name);
            let chat_id = chat(&params);
            st.sent.push((method.clone(), chat_id.clone(), text));
            st.next_message_id += 1;
            let id = st.next_message_id;
            ok(json!({"message_id": id, "date": 0,
                "chat": {"id": chat_id.parse::<i64>().unwrap_or(0), "type": "private"}}))
        }
        _ => err(404, "Not Found: method not found"),
    }
}

async fn file(
    State((state, _)): State<Shared>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return err(401, "Unauthorized");
    }
    match state.lock().expect("fake").files.get(&path) {
        Some(b) => b.clone().into_response(),
        None => err(404, "Not Found"),
    }
}

/// Runs each case on both backends, each with its own fake Bot API.
macro_rules! telegram_cases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let fake = super::Fake::start().await;
                   let url = fake.url.clone();
                   let mut s = crate::common::TestServer::sqlite_with(|c| super::tune(c, &url)).await;
                   super::$name(&mut s, &fake).await;
                   s.stop().await;
               } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let fake = super::Fake::start().await;
                   let url = fake.url.clone();
                   if let Some(mut s) = crate::common::TestServer::postgres_with(|c| super::tune(c, &url)).await {
                       super::$name(&mut s, &fake).await;
                       s.stop().await;
                   }
               } )+
        }
    };
}

fn tune(c: &mut parley::Config, url: &str) {
    c.telegram_api_url = url.to_string();
    c.telegram_poll_timeout_secs = 1;
}

telegram_cases!(
    inbound_messages_media_edits_and_groups,
    outbound_split_outage_failure_and_retry,
    restart_imports_nothing_twice_and_loses_nothing,
    bad_inputs_change_nothing,
    a_stalled_provider_holds_up_no_timer,
);

/// Creates a Telegram inbox through the API (the fake's getMe checks the token).
async fn telegram_inbox(s: &TestServer, admin: &Actor) -> Value {
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Bot", "channel": {"type": "telegram", "bot_token": TOKEN}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    inbox
}

fn private_message(message_id: i64, extra: Value) -> Value {
    let mut m = json!({
        "message_id": message_id,
        "date": 1_700_000_000,
        "from": {"id": CHAT, "is_bot": false, "first_name": "Иван", "last_name": "Петров",
                  "username": "ivan_p", "language_code": "ru"},
        "chat": {"id": CHAT, "type": "private", "first_name": "Иван"},
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut m, extra) {
        m.extend(e);
    }
    json!({"message": m})
}

async fn inbound_messages_media_edits_and_groups(s: &mut TestServer, fake: &Fake) {
    let admin = s.admin("Shop").await;
    let inbox = telegram_inbox(s, &admin).await;
    assert_eq!(inbox["bot_name"], "Shop Bot", "{inbox}");
    assert_eq!(inbox["bot_username"], "shop_test_bot", "{inbox}");
    assert!(
        inbox.get("bot_token").is_none(),
        "the token is never shown: {inbox}"
    );
    assert!(inbox.get("webhook_secret").is_none(), "{inbox}");
    // The bot's polling works: the inbox view says so.
    let path = format!(
        "/api/v1/accounts/{}/inboxes/{}",
        admin.account_id, inbox["id"]
    );
    status_state(s, &admin, &path, "connected").await;
    fake.st()
        .files
        .insert("files/PHOTO_BIG.bin".into(), b"\x89PNG fake".to_vec());
    fake.st()
        .files
        .insert("files/DOC.bin".into(), b"%PDF-1.4 fake".to_vec());
    // A group message first: ignored, but the offset moves past it.
    fake.push(json!({"message": {"message_id": 1, "date": 0,
        "from": {"id": 77, "is_bot": false, "first_name": "Group"},
        "chat": {"id": -100, "type": "group", "title": "Chat"}, "text": "in a group"}}));
    fake.push(private_message(
        10,
        json!({"text": "Здравствуйте, где мой заказ?"}),
    ));
    fake.push(private_message(
        11,
        json!({"caption": "вот фото", "photo": [
            {"file_id": "PHOTO_SMALL", "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": "PHOTO_BIG", "file_unique_id": "b", "width": 800, "height": 600, "file_size": 10}]}),
    ));
    fake.push(private_message(
        12,
        json!({"document": {"file_id": "DOC", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"},
               "reply_to_message": {"message_id": 10, "date": 0, "chat": {"id": CHAT, "type": "private"}}}),
    ));
    fake.push(private_message(
        13,
        json!({"location": {"latitude": 55.75, "longitude": 37.62}}),
    ));
    fake.push(
        json!({"edited_message": {"message_id": 10, "date": 0, "edit_date": 1,
        "from": {"id": CHAT, "is_bot": false, "first_name": "Иван"},
        "chat": {"id": CHAT, "type": "private"}, "text": "Здравствуйте, где заказ 42?"}}),
    );
    let conv = first_conversation(s, &admin).await;
    let id = conv["id"].as_i64().expect("conversation id");
    let msgs = messages_until(s, &admin, id, "four messages and the edit", |m| {
        incoming(m).len() == 4
            && m.iter()
                .any(|x| x["content"] == "Здравствуйте, где заказ 42?")
    })
    .await;
    let inc = incoming(&msgs);
    assert_eq!(inc[0]["content"], "Здравствуйте, где заказ 42?");
    assert_eq!(inc[0]["content_attributes"]["edited"], true);
    assert_eq!(inc[1]["content"], "вот фото");
    assert_eq!(inc[1]["attachments"][0]["file_type"], "image", "{}", inc[1]);
    assert_eq!(inc[2]["attachments"][0]["file_type"], "file");
    assert_eq!(
        inc[2]["content_attributes"]["in_reply_to"], inc[0]["id"],
        "a reply points at the stored message: {}",
        inc[2]
    );
    assert!(
        inc[3]["content"]
            .as_str()
            .is_some_and(|c| c.contains("55.75") && c.contains("37.62")),
        "{}",
        inc[3]
    );
    // The attachment's bytes are the file's.
    let url = inc[2]["attachments"][0]["data_url"]
        .as_str()
        .expect("data_url");
    let res = s
        .http
        .get(url)
        .header("api_access_token", &admin.token)
        .send()
        .await
        .expect("download");
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), b"%PDF-1.4 fake");
    // One conversation, one contact named from Telegram with its username and language;
    // the group's message made nothing.
    let all = conversations(s, &admin).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let contact = &all[0]["meta"]["sender"];
    assert_eq!(contact["name"], "Иван Петров", "{contact}");
    assert_eq!(contact["additional_attributes"]["username"], "ivan_p");
    assert_eq!(contact["additional_attributes"]["language_code"], "ru");
    // Every update was confirmed: the next poll's offset is past the last one.
    let last = fake.st().next_update;
    for _ in 0..600 {
        if fake.st().offsets.last() == Some(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(fake.st().offsets.last(), Some(&last));
    // The agent types: the bot shows "typing…".
    let (st, _) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{id}/toggle_typing_status",
                admin.account_id
            ),
            json!({"typing_status": "on"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for _ in 0..600 {
        if fake.st().typing > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(fake.st().typing > 0, "sendChatAction was never called");
}

async fn outbound_split_outage_failure_and_retry(s: &mut TestServer, fake: &Fake) {
    let admin = s.admin("Shop").await;
    telegram_inbox(s, &admin).await;
    fake.push(private_message(20, json!({"text": "Hello"})));
    let conv = first_conversation(s, &admin).await["id"]
        .as_i64()
        .expect("id");
    messages_until(s, &admin, conv, "the customer's message", |m| {
        !incoming(m).is_empty()
    })
    .await;

    // A long reply: stored as `progress`, then two sendMessage calls whose texts joined
    // are the original, then `sent` with the provider's id.
    let long = format!("{} {}", "слово ".repeat(700), "end");
    let m = post_message(s, &admin, conv, &long).await;
    assert_eq!(m["status"], "progress", "{m}");
    let mid = m["id"].as_i64().expect("id");
    let done = status_until(s, &admin, conv, mid, "sent").await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .all(|(meth, chat, _)| meth == "sendMessage" && chat == &CHAT.to_string())
    );
    assert_eq!(format!("{}{}", sent[0].2, sent[1].2), long);
    assert!(
        sent.iter()
            .all(|(_, _, t)| t.encode_utf16().count() <= 4096)
    );
    assert!(
        done["content_attributes"]["external_id"].is_string(),
        "{done}"
    );

    // An outage: 502 twice, then a 429 with retry_after: the message stays `progress`
    // meanwhile and is sent exactly once afterwards.
    fake.fail_next(
        2,
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    );
    fake.fail_next(
        1,
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1}}),
    );
    let m = post_message(s, &admin, conv, "after the outage").await;
    let mid = m["id"].as_i64().expect("id");
    assert_eq!(m["status"], "progress");
    status_until(s, &admin, conv, mid, "sent").await;
    let n = fake
        .sent()
        .iter()
        .filter(|(_, _, t)| t == "after the outage")
        .count();
    assert_eq!(n, 1, "sent exactly once");
    assert!(fake.st().failures.is_empty());

    // A permanent refusal (the user blocked the bot): `failed` with the reason; a retry
    // puts it back and it is sent.
    fake.fail_next(
        1,
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    );
    let m = post_message(s, &admin, conv, "are you there?").await;
    let mid = m["id"].as_i64().expect("id");
    let failed = status_until(s, &admin, conv, mid, "failed").await;
    assert!(
        failed["content_attributes"]["external_error"]
            .as_str()
            .is_some_and(|e| e.contains("blocked")),
        "{failed}"
    );
    let path = format!(
        "/api/v1/accounts/{}/conversations/{conv}/messages/{mid}/retry",
        admin.account_id
    );
    let (st, retried) = s.post(&admin.token, &path, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{retried}");
    assert_eq!(retried["status"], "progress");
    status_until(s, &admin, conv, mid, "sent").await;
    let n = fake
        .sent()
        .iter()
        .filter(|(_, _, t)| t == "are you there?")
        .count();
    assert_eq!(n, 1);
    // Retrying a message that is not failed: 422, nothing changes.
    let before = fake.sent().len();
    let (st, body) = s.post(&admin.token, &path, json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{conv}/messages/999999/retry",
                admin.account_id
            ),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.sent().len(), before);
    // A private note never leaves.
    let (st, note) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{conv}/messages",
                admin.account_id
            ),
            json!({"content": "internal", "private": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(note["status"], "sent");
}

async fn restart_imports_nothing_twice_and_loses_nothing(s: &mut TestServer, fake: &Fake) {
    let admin = s.admin("Shop").await;
    telegram_inbox(s, &admin).await;
    for i in 0..5 {
        fake.push(private_message(
            100 + i,
            json!({"text": format!("first {i}")}),
        ));
    }
    let conv = first_conversation(s, &admin).await["id"]
        .as_i64()
        .expect("id");
    messages_until(s, &admin, conv, "five messages", |m| incoming(m).len() == 5).await;
    s.restart().await;
    // The same updates delivered again (as after a crash before Telegram saw the offset)
    // and new ones: the old are not imported twice, the new are all imported.
    for i in 0..3 {
        fake.push(private_message(
            100 + i,
            json!({"text": format!("first {i}")}),
        ));
    }
    for i in 0..4 {
        fake.push(private_message(
            200 + i,
            json!({"text": format!("second {i}")}),
        ));
    }
    let msgs = messages_until(s, &admin, conv, "nine messages", |m| incoming(m).len() >= 9).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let msgs2 = messages(s, &admin, conv).await;
    assert_eq!(incoming(&msgs2).len(), 9, "{msgs:?}");
    let texts: Vec<&str> = incoming(&msgs2)
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    for i in 0..5 {
        assert_eq!(
            texts.iter().filter(|t| **t == format!("first {i}")).count(),
            1
        );
    }
    for i in 0..4 {
        assert!(texts.contains(&format!("second {i}").as_str()));
    }
    // After the restart polling resumed from the stored offset, not from the start.
    let offsets = fake.st().offsets.clone();
    assert!(!offsets.contains(&0) || offsets.iter().position(|o| *o == 0) == Some(0));
}

async fn bad_inputs_change_nothing(s: &mut TestServer, fake: &Fake) {
    let admin = s.admin("Shop").await;
    let inboxes = format!("/api/v1/accounts/{}/inboxes", admin.account_id);
    // An invalid token: 422 naming the token, no inbox.
    let (st, body) = s
        .post(
            &admin.token,
            &inboxes,
            json!({"name": "Bot", "channel": {"type": "telegram", "bot_token": "999:WRONG"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "channel.bot_token", "{body}");
    let (st, body) = s
        .post(
            &admin.token,
            &inboxes,
            json!({"name": "Bot", "channel": {"type": "telegram", "bot_token": "not a token"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, list) = s.get(&admin.token, &inboxes).await;
    assert_eq!(list["payload"].as_array().map(Vec::len), Some(0), "{list}");
    // The connection check answers which step failed, creating nothing.
    let check = format!("{inboxes}/test_connection");
    let (st, body) = s
        .post(
            &admin.token,
            &check,
            json!({"channel": {"type": "telegram", "bot_token": "999:WRONG"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], false);
    assert_eq!(body["step"], "token");
    assert_eq!(body["code"], "invalid_token");
    let (st, body) = s
        .post(
            &admin.token,
            &check,
            json!({"channel": {"type": "telegram", "bot_token": TOKEN}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["details"]["bot_username"], "shop_test_bot");
    assert!(body["details"].get("webhook_secret").is_none());
    let (_, list) = s.get(&admin.token, &inboxes).await;
    assert_eq!(list["payload"].as_array().map(Vec::len), Some(0));
    // The webhook refuses a call without the secret or with a wrong one, storing nothing.
    let inbox = telegram_inbox(s, &admin).await;
    let hook = s.url(&format!("/webhooks/telegram/{}", inbox["id"]));
    let update = json!({"update_id": 1, "message": private_message(1, json!({"text": "spoofed"}))["message"]});
    assert_eq!(
        post_update(s, &hook, None, &update).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post_update(s, &hook, Some("wrong"), &update).await,
        StatusCode::FORBIDDEN
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(conversations(s, &admin).await.is_empty());
    let _ = fake;
}

/// Webhook mode: with an https public URL the bot is registered with `setWebhook` and a
/// secret; Telegram's calls with that secret are imported, others refused.
mod webhook {
    use super::*;

    async fn case(s: &mut TestServer, fake: &Fake) {
        let admin = s.admin("Shop").await;
        let inbox = telegram_inbox(s, &admin).await;
        let id = inbox["id"].as_i64().expect("id");
        let mut secret = None;
        for _ in 0..600 {
            if let Some(w) = fake.st().webhook.clone() {
                secret = Some(w);
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let (url, secret) = secret.expect("setWebhook was called");
        assert_eq!(
            url,
            format!("https://parley.example/webhooks/telegram/{id}")
        );
        assert!(secret.len() >= 32);
        let hook = s.url(&format!("/webhooks/telegram/{id}"));
        let update = json!({"update_id": 7, "message": private_message(7, json!({"text": "via webhook"}))["message"]});
        assert_eq!(
            post_update(s, &hook, Some("wrong"), &update).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            post_update(s, &hook, Some(&secret), &update).await,
            StatusCode::OK
        );
        // Telegram redelivers: still one message.
        assert_eq!(
            post_update(s, &hook, Some(&secret), &update).await,
            StatusCode::OK
        );
        let conv = first_conversation(s, &admin).await["id"]
            .as_i64()
            .expect("id");
        let msgs = messages(s, &admin, conv).await;
        assert_eq!(incoming(&msgs).len(), 1, "{msgs:?}");
        assert_eq!(incoming(&msgs)[0]["content"], "via webhook");
        // No polling in webhook mode.
        assert!(fake.st().offsets.is_empty());
    }

    fn tune_https(c: &mut parley::Config, url: &str) {
        super::tune(c, url);
        c.public_url = Some("https://parley.example".into());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let fake = Fake::start().await;
        let url = fake.url.clone();
        let mut s = TestServer::sqlite_with(|c| tune_https(c, &url)).await;
        case(&mut s, &fake).await;
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let fake = Fake::start().await;
        let url = fake.url.clone();
        if let Some(mut s) = TestServer::postgres_with(|c| tune_https(c, &url)).await {
            case(&mut s, &fake).await;
            s.stop().await;
        }
    }
}

/// A Bot API that stops answering holds up its own deliveries only: a reply-target timer
/// due meanwhile fires while the delivery is still waiting on its first call (deliveries run
/// in their own lane of the job runner), and the delivery completes once the API answers.
async fn a_stalled_provider_holds_up_no_timer(s: &mut TestServer, fake: &Fake) {
    use crate::common::ws::{Visitor, WsClient, api_inbox};
    let admin = s.admin("Shop").await;
    telegram_inbox(s, &admin).await;
    fake.push(private_message(40, json!({"text": "Hello"})));
    let conv = first_conversation(s, &admin).await["id"]
        .as_i64()
        .expect("id");
    messages_until(s, &admin, conv, "the customer's message", |m| {
        !incoming(m).is_empty()
    })
    .await;

    fake.hold_sends(true);
    let reply = post_message(s, &admin, conv, "One moment").await;
    while fake.st().held == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A site conversation with a one-second reply target, while the delivery hangs.
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    let (st, body) = s
        .patch(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes/{inbox_id}", admin.account_id),
            json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 1,
                                                       "next_response_time_threshold": 1}}}}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    let mut watcher = WsClient::agent(s, &admin, None).await;
    watcher.until_ready().await;
    let v = Visitor::new(s, &inbox).await;
    v.post(s, v.conversation_id, "Anyone?").await;
    let overdue = watcher.until("conversation.sla_overdue").await;
    assert_eq!(overdue["data"]["id"], v.conversation_id);
    {
        let st = fake.st();
        assert_eq!(
            (st.held, st.abandoned, st.sent.len()),
            (1, 0, 0),
            "the timer fired while the first delivery call was still waiting"
        );
    }

    fake.hold_sends(false);
    let done = status_until(s, &admin, conv, reply["id"].as_i64().expect("id"), "sent").await;
    assert_eq!(done["status"], "sent");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].2, "One moment");
}
