//! Agent bots (issue 16): the `/agent_bots` API and an inbox's bot (CRUD, roles, bad input,
//! the token shown once and reset), an external bot that receives its inbox's events signed
//! at a real receiver and answers through the API with its own token (which reaches nothing
//! else), conversations that wait `pending` unrouted until the hand-off, the customer's
//! hand-off words, and the built-in bot (canned answers, working hours, name and phone
//! collected onto the contact before the hand-off).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::automation::{Shop, incoming, messages, new_conversation, shop, until};
use crate::common::{TestServer, assert_error};
use crate::routing::{conversation_until, set_online};
use crate::webhooks::{Receiver, verify};

both_backends!(
    bots_crud_roles_and_bad_input,
    external_bot_gets_signed_events_and_answers_with_its_token,
    pending_is_not_routed_until_the_bot_hands_off,
    customer_hand_off_word_opens_and_routes,
    built_in_bot_answers_from_canned_responses,
    built_in_bot_tells_working_hours,
    built_in_bot_collects_name_and_phone_then_hands_off,
    built_in_bot_answers_a_burst_once_each_in_order,
    resolved_bot_conversation_goes_back_to_the_bot,
);

async fn create_bot(s: &TestServer, w: &Shop, body: Value) -> Value {
    let (st, b) = s
        .post(&w.admin.token, &format!("{}/agent_bots", w.base()), body)
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b
}

async fn attach(s: &TestServer, w: &Shop, inbox_id: i64, bot: Value) {
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{}/inboxes/{inbox_id}/set_agent_bot", w.base()),
            json!({ "agent_bot": bot }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

async fn bot_list(s: &TestServer, w: &Shop) -> Vec<Value> {
    let (st, v) = s
        .get(&w.admin.token, &format!("{}/agent_bots", w.base()))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn conversation(s: &TestServer, w: &Shop, d: i64) -> Value {
    let (st, c) = s
        .get(&w.admin.token, &format!("{}/conversations/{d}", w.base()))
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

/// The bot's messages in a conversation.
fn bot_says(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["sender_type"] == "AgentBot" && m["message_type"] == 1)
        .filter_map(|m| m["content"].as_str().map(String::from))
        .collect()
}

/// Waits until the bot has said `n` messages in the conversation; returns them.
async fn bot_said(s: &TestServer, w: &Shop, d: i64, n: usize) -> Vec<String> {
    until(&format!("the bot's message #{n}"), || async {
        let said = bot_says(&messages(s, w, d).await);
        (said.len() >= n).then_some(said)
    })
    .await
}

fn activity_kinds(msgs: &[Value]) -> Vec<(String, String)> {
    msgs.iter()
        .filter(|m| m["message_type"] == 2)
        .map(|m| {
            let a = &m["content_attributes"]["activity"];
            (
                a["kind"].as_str().unwrap_or_default().to_string(),
                a["by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn bots_crud_roles_and_bad_input(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    let b = create_bot(
        s,
        &w,
        json!({"name": "Order bot", "description": "Answers about orders",
               "outgoing_url": "https://bots.example.test/hook", "bot_type": 0}),
    )
    .await;
    let id = b["id"].as_i64().expect("id");
    let token = b["access_token"]
        .as_str()
        .expect("token shown once")
        .to_string();
    assert!(token.starts_with("bot_"), "{token}");
    assert_eq!(b["bot_type"], "webhook");
    assert_eq!(b["bot_config"]["handoff_words"][0], "оператор");
    assert!(b["secret"].as_str().is_some_and(|x| !x.is_empty()));

    let list = bot_list(s, &w).await;
    assert_eq!(list.len(), 1);
    assert!(
        list[0]["access_token"].is_null(),
        "the token is shown only once"
    );
    let (st, one) = s
        .get(&w.admin.token, &format!("{base}/agent_bots/{id}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["name"], "Order bot");

    // Agents neither see nor change bots.
    let (st, v) = s.get(&w.agent.token, &format!("{base}/agent_bots")).await;
    assert_error(st, &v, 403, "forbidden");
    let (st, v) = s
        .post(
            &w.agent.token,
            &format!("{base}/agent_bots"),
            json!({"name": "x", "outgoing_url": "https://a.example.test"}),
        )
        .await;
    assert_error(st, &v, 403, "forbidden");
    let (st, v) = s
        .post(
            &w.agent.token,
            &format!("{base}/inboxes/{}/set_agent_bot", w.inbox_id),
            json!({"agent_bot": id}),
        )
        .await;
    assert_error(st, &v, 403, "forbidden");

    // Bad input: a clear 422 and nothing stored.
    for bad in [
        json!({"outgoing_url": "https://a.example.test"}),
        json!({"name": "  ", "outgoing_url": "https://a.example.test"}),
        json!({"name": "x", "bot_type": "robot", "outgoing_url": "https://a.example.test"}),
        json!({"name": "x", "bot_type": 7, "outgoing_url": "https://a.example.test"}),
        json!({"name": "x", "bot_type": "webhook"}),
        json!({"name": "x", "outgoing_url": "ftp://a.example.test"}),
        json!({"name": "x", "bot_type": "builtin", "bot_config": {"handoff_words": "оператор"}}),
        json!({"name": "x", "bot_type": "builtin", "bot_config": {"greeting": true}}),
        json!({"name": "x", "bot_type": "builtin", "bot_config": []}),
        json!({"name": "x", "bot_type": "builtin", "avatar": "data"}),
        json!({"name": "x".repeat(300), "bot_type": "builtin"}),
    ] {
        let (st, v) = s
            .post(&w.admin.token, &format!("{base}/agent_bots"), bad.clone())
            .await;
        assert_error(st, &v, 422, "invalid_field");
    }
    assert_eq!(
        bot_list(s, &w).await.len(),
        1,
        "bad requests stored nothing"
    );
    let (st, v) = s
        .patch(
            &w.admin.token,
            &format!("{base}/agent_bots/{id}"),
            json!({"bot_type": "robot"}),
        )
        .await;
    assert_error(st, &v, 422, "invalid_field");

    // Changes.
    let (st, v) = s
        .patch(
            &w.admin.token,
            &format!("{base}/agent_bots/{id}"),
            json!({"name": "Orders", "bot_config": {"handoff_words": ["менеджер"]}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Orders");
    assert_eq!(v["bot_config"]["handoff_words"], json!(["менеджер"]));
    assert_eq!(v["outgoing_url"], "https://bots.example.test/hook");

    // The inbox's bot.
    let (st, v) = s
        .get(
            &w.admin.token,
            &format!("{base}/inboxes/{}/agent_bot", w.inbox_id),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["agent_bot"].is_null(), "{v}");
    attach(s, &w, w.inbox_id, json!(id.to_string())).await;
    let (_, v) = s
        .get(
            &w.agent.token,
            &format!("{base}/inboxes/{}/agent_bot", w.inbox_id),
        )
        .await;
    assert_eq!(v["agent_bot"]["id"], id);
    assert_eq!(
        v["agent_bot"]["secret"], "",
        "the signing secret is for administrators"
    );
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/inboxes/{}/set_agent_bot", w.inbox_id),
            json!({}),
        )
        .await;
    assert_error(st, &v, 422, "invalid_field");
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/inboxes/{}/set_agent_bot", w.inbox_id),
            json!({"agent_bot": 987654}),
        )
        .await;
    assert_error(st, &v, 422, "invalid_field");
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/inboxes/987654/set_agent_bot"),
            json!({"agent_bot": id}),
        )
        .await;
    assert_error(st, &v, 404, "not_found");
    // Another account's bot cannot be attached, nor seen.
    let other = s.admin("Other").await;
    let (st, v) = s
        .get(
            &other.token,
            &format!("/api/v1/accounts/{}/agent_bots/{id}", other.account_id),
        )
        .await;
    assert_error(st, &v, 404, "not_found");

    // The token: a bot token works only as the bot, a reset stops the old one.
    let d = new_conversation(s, &w, json!({})).await;
    let path = format!("{base}/conversations/{d}");
    let (st, _) = s.get(&token, &path).await;
    assert_eq!(st, StatusCode::OK);
    let (st, reset) = s
        .post(
            &w.admin.token,
            &format!("{base}/agent_bots/{id}/reset_access_token"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{reset}");
    let fresh = reset["access_token"]
        .as_str()
        .expect("new token")
        .to_string();
    assert_ne!(fresh, token);
    let (st, v) = s.get(&token, &path).await;
    assert_error(st, &v, 401, "unauthorized");
    let (st, _) = s.get(&fresh, &path).await;
    assert_eq!(st, StatusCode::OK);

    // Detach, delete.
    attach(s, &w, w.inbox_id, Value::Null).await;
    let (_, v) = s
        .get(
            &w.admin.token,
            &format!("{base}/inboxes/{}/agent_bot", w.inbox_id),
        )
        .await;
    assert!(v["agent_bot"].is_null());
    let (st, _) = s
        .delete(&w.admin.token, &format!("{base}/agent_bots/{id}"))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s
        .get(&w.admin.token, &format!("{base}/agent_bots/{id}"))
        .await;
    assert_error(st, &v, 404, "not_found");
    let (st, v) = s.get(&fresh, &path).await;
    assert_error(st, &v, 401, "unauthorized");
}

async fn external_bot_gets_signed_events_and_answers_with_its_token(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    let r = Receiver::start(0).await;
    let b = create_bot(
        s,
        &w,
        json!({"name": "Helper", "outgoing_url": r.url, "bot_type": "webhook"}),
    )
    .await;
    let token = b["access_token"].as_str().expect("token").to_string();
    let secret = b["secret"].as_str().expect("secret").to_string();
    attach(s, &w, w.inbox_id, b["id"].clone()).await;

    let d = new_conversation(s, &w, json!({})).await;
    assert_eq!(conversation(s, &w, d).await["status"], "pending");
    incoming(s, &w, d, "Где мой заказ 1234?").await;
    let got = r
        .until("the bot's message_created", |g| {
            g.iter()
                .any(|x| x.header("x-parley-event") == "message_created")
        })
        .await;
    let m = got
        .iter()
        .find(|x| x.header("x-parley-event") == "message_created")
        .expect("message_created");
    assert!(verify(&secret, m), "signed with the bot's secret");
    let body = m.json();
    assert_eq!(body["event"], "message_created");
    assert_eq!(body["content"], "Где мой заказ 1234?");
    assert_eq!(body["message_type"], "incoming");
    assert_eq!(body["conversation"]["id"], d);
    assert_eq!(body["conversation"]["status"], "pending");
    assert_eq!(body["inbox"]["id"], w.inbox_id);

    // The bot answers as itself.
    let (st, reply) = s
        .post(
            &token,
            &format!("{base}/conversations/{d}/messages"),
            json!({"content": "Заказ 1234 в пути."}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{reply}");
    assert_eq!(reply["message_type"], 1);
    assert_eq!(reply["sender_type"], "AgentBot");
    assert_eq!(reply["sender"]["name"], "Helper");
    let (st, v) = s
        .post(
            &token,
            &format!("{base}/conversations/{d}/labels"),
            json!({"labels": ["bot"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // Its token reaches nothing else: another inbox's conversation, lists, settings.
    let (st, other_inbox) = s
        .post(
            &w.admin.token,
            &format!("{base}/inboxes"),
            json!({"name": "Other", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success());
    let (st, c) = s
        .post(
            &w.admin.token,
            &format!("{base}/conversations"),
            json!({"inbox_id": other_inbox["id"], "contact_id": w.contact_id}),
        )
        .await;
    assert!(st.is_success(), "{c}");
    let other_d = c["id"].as_i64().expect("id");
    let (st, v) = s
        .get(&token, &format!("{base}/conversations/{other_d}"))
        .await;
    assert_error(st, &v, 404, "not_found");
    let (st, v) = s
        .post(
            &token,
            &format!("{base}/conversations/{other_d}/messages"),
            json!({"content": "x"}),
        )
        .await;
    assert_error(st, &v, 404, "not_found");
    for path in ["/conversations", "/agent_bots", "/inboxes", "/contacts"] {
        let (st, v) = s.get(&token, &format!("{base}{path}")).await;
        assert_error(st, &v, 403, "forbidden");
    }
    let (st, v) = s.get(&token, "/api/v1/profile").await;
    assert_error(st, &v, 401, "unauthorized");
    let other = s.admin("Other").await;
    let (st, _) = s
        .get(
            &token,
            &format!("/api/v1/accounts/{}/conversations/{d}", other.account_id),
        )
        .await;
    assert!(
        st == StatusCode::UNAUTHORIZED || st == StatusCode::NOT_FOUND,
        "{st}"
    );

    // The delivery log, as a webhook's: administrators only.
    let id = b["id"].as_i64().expect("id");
    let log = until("the delivery in the bot's log", || async {
        let (st, v) = s
            .get(
                &w.admin.token,
                &format!("{base}/agent_bots/{id}/deliveries"),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let rows = v["payload"].as_array().cloned().unwrap_or_default();
        rows.iter()
            .any(|d| d["event"] == "message_created" && d["status"] == "delivered")
            .then_some(rows)
    })
    .await;
    assert!(
        log.iter()
            .all(|d| d["response_code"] == 200 || d["status"] != "delivered"),
        "{log:?}"
    );
    let (st, v) = s
        .get(
            &w.agent.token,
            &format!("{base}/agent_bots/{id}/deliveries"),
        )
        .await;
    assert_error(st, &v, 403, "forbidden");

    // The bot's own reply reached it too (Chatwoot sends a bot every message).
    r.until("the bot's own reply", |g| {
        g.iter().any(|x| {
            x.json()["content"] == "Заказ 1234 в пути." && x.json()["sender"]["type"].is_string()
        }) || g
            .iter()
            .any(|x| x.json()["content"] == "Заказ 1234 в пути.")
    })
    .await;
}

async fn pending_is_not_routed_until_the_bot_hands_off(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    set_online(s, &w.admin, &w.agent).await;
    let r = Receiver::start(0).await;
    let b = create_bot(s, &w, json!({"name": "Helper", "outgoing_url": r.url})).await;
    let token = b["access_token"].as_str().expect("token").to_string();
    attach(s, &w, w.inbox_id, b["id"].clone()).await;

    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Hello").await;
    // The bot has seen the message: by then routing has had its chance and left it.
    r.until("the message at the bot", |g| {
        g.iter().any(|x| x.json()["content"] == "Hello")
    })
    .await;
    let c = conversation(s, &w, d).await;
    assert_eq!(c["status"], "pending");
    assert!(
        c["meta"]["assignee"].is_null(),
        "a pending conversation is not routed: {c}"
    );

    // The hand-off: the bot opens it, routing gives it to the available agent.
    let (st, v) = s
        .post(
            &token,
            &format!("{base}/conversations/{d}/toggle_status"),
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let agent_id = w.agent.user_id;
    conversation_until(s, &w.admin, d, "assigned after the hand-off", |c| {
        c["status"] == "open" && c["meta"]["assignee"]["id"] == agent_id
    })
    .await;
    let kinds = activity_kinds(&messages(s, &w, d).await);
    assert!(
        kinds.contains(&("handed_off".into(), "Helper".into())),
        "{kinds:?}"
    );

    // Without a bot, new conversations start open again.
    attach(s, &w, w.inbox_id, Value::Null).await;
    let d2 = new_conversation(s, &w, json!({})).await;
    assert_eq!(conversation(s, &w, d2).await["status"], "open");
}

async fn customer_hand_off_word_opens_and_routes(s: &TestServer) {
    let w = shop(s).await;
    set_online(s, &w.admin, &w.agent).await;
    let r = Receiver::start(0).await;
    let b = create_bot(
        s,
        &w,
        json!({"name": "Helper", "outgoing_url": r.url,
        "bot_config": {"handoff_words": ["оператор", "живой человек", "human"]}}),
    )
    .await;
    attach(s, &w, w.inbox_id, b["id"].clone()).await;

    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Какой у вас адрес?").await;
    r.until("the question at the bot", |g| {
        g.iter()
            .any(|x| x.json()["content"] == "Какой у вас адрес?")
    })
    .await;
    assert_eq!(
        conversation(s, &w, d).await["status"],
        "pending",
        "no hand-off word yet"
    );
    incoming(s, &w, d, "Соедините с оператором, пожалуйста").await;
    let agent_id = w.agent.user_id;
    conversation_until(s, &w.admin, d, "handed off by the customer's word", |c| {
        c["status"] == "open" && c["meta"]["assignee"]["id"] == agent_id
    })
    .await;
    let kinds = activity_kinds(&messages(s, &w, d).await);
    assert!(
        kinds.contains(&("handoff_requested".into(), "Helper".into())),
        "{kinds:?}"
    );
    let line = messages(s, &w, d)
        .await
        .into_iter()
        .find(|m| m["content_attributes"]["activity"]["kind"] == "handoff_requested")
        .expect("line");
    assert!(
        line["content"]
            .as_str()
            .unwrap_or_default()
            .contains("asked for a person"),
        "{line}"
    );
}

async fn built_in(s: &TestServer, w: &Shop, config: Value) -> Value {
    let b = create_bot(
        s,
        w,
        json!({"name": "Помощник", "bot_type": "builtin", "bot_config": config}),
    )
    .await;
    attach(s, w, w.inbox_id, b["id"].clone()).await;
    b
}

async fn built_in_bot_answers_from_canned_responses(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    for (code, content) in [
        ("delivery", "Доставка по Москве занимает 2–3 дня."),
        ("payment", "Оплатить можно картой или наличными курьеру."),
    ] {
        let (st, v) = s
            .post(
                &w.admin.token,
                &format!("{base}/canned_responses"),
                json!({"short_code": code, "content": content}),
            )
            .await;
        assert!(st.is_success(), "{v}");
    }
    built_in(s, &w, json!({})).await;
    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Сколько дней идёт доставка?").await;
    let said = bot_said(s, &w, d, 1).await;
    assert_eq!(said[0], "Доставка по Москве занимает 2–3 дня.");
    incoming(s, &w, d, "Can I pay by card? What payment options?").await;
    let said = bot_said(s, &w, d, 2).await;
    assert_eq!(said[1], "Оплатить можно картой или наличными курьеру.");
    // Nothing matches: the bot says what it can do, in the customer's language.
    incoming(s, &w, d, "Tell me a joke").await;
    let said = bot_said(s, &w, d, 3).await;
    assert!(said[2].contains("assistant bot"), "{said:?}");
    assert_eq!(
        conversation(s, &w, d).await["status"],
        "pending",
        "the bot still holds it"
    );
}

async fn built_in_bot_tells_working_hours(s: &TestServer) {
    let w = shop(s).await;
    // Open one day, three days from today (Sunday = 0): closed now, whatever the time.
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 86_400;
    let open_day = (days + 4 + 3) % 7;
    let week: Vec<Value> = (0..7)
        .map(|d| {
            if d == open_day {
                json!({"day_of_week": d, "open_hour": 9, "open_minutes": 0, "close_hour": 18, "close_minutes": 0})
            } else {
                json!({"day_of_week": d, "closed_all_day": true})
            }
        })
        .collect();
    let (st, v) = s
        .patch(
            &w.admin.token,
            &format!("{}/inboxes/{}", w.base(), w.inbox_id),
            json!({"working_hours_enabled": true, "timezone": "Europe/Moscow", "working_hours": week}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    built_in(s, &w, json!({"answer_from_canned": false})).await;
    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Здравствуйте, вы работаете?").await;
    let said = bot_said(s, &w, d, 1).await;
    assert!(said[0].contains("операторы не работают"), "{said:?}");
    assert!(said[0].contains("09:00"), "the next opening: {said:?}");
    let msgs = messages(s, &w, d).await;
    assert!(
        !msgs
            .iter()
            .any(|m| m["content_attributes"]["offhours"] == true),
        "the bot tells the hours instead of the inbox's auto-reply"
    );
    // Once per conversation.
    incoming(s, &w, d, "Алло?").await;
    let said = bot_said(s, &w, d, 2).await;
    assert!(!said[1].contains("операторы не работают"), "{said:?}");
}

async fn built_in_bot_collects_name_and_phone_then_hands_off(s: &TestServer) {
    let w = shop(s).await;
    set_online(s, &w.admin, &w.agent).await;
    built_in(s, &w, json!({"handoff_words": ["оператор", "человек"]})).await;
    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Позовите человека").await;
    let said = bot_said(s, &w, d, 1).await;
    assert!(said[0].contains("Как к вам обращаться"), "{said:?}");
    incoming(s, &w, d, "12345").await;
    let said = bot_said(s, &w, d, 2).await;
    assert!(said[1].contains("только имя"), "{said:?}");
    incoming(s, &w, d, "Анна Петрова").await;
    let said = bot_said(s, &w, d, 3).await;
    assert!(said[2].contains("номер телефона"), "{said:?}");
    incoming(s, &w, d, "не скажу").await;
    let said = bot_said(s, &w, d, 4).await;
    assert!(said[3].contains("не похоже на номер"), "{said:?}");
    assert_eq!(conversation(s, &w, d).await["status"], "pending");
    incoming(s, &w, d, "+7 999 123-45-67").await;
    let said = bot_said(s, &w, d, 5).await;
    assert!(said[4].contains("Передаю разговор оператору"), "{said:?}");
    let agent_id = w.agent.user_id;
    conversation_until(s, &w.admin, d, "handed off after the phone", |c| {
        c["status"] == "open" && c["meta"]["assignee"]["id"] == agent_id
    })
    .await;
    let (st, c) = s
        .get(
            &w.admin.token,
            &format!("{}/contacts/{}", w.base(), w.contact_id),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(c["payload"]["name"], "Анна Петрова", "{c}");
    assert_eq!(c["payload"]["phone_number"], "+7 999 123-45-67", "{c}");
    let kinds = activity_kinds(&messages(s, &w, d).await);
    assert!(
        kinds.contains(&("handoff_requested".into(), "Помощник".into())),
        "{kinds:?}"
    );
    // After the hand-off the bot is silent.
    incoming(s, &w, d, "Спасибо").await;
    let (st, m) = s
        .post(
            &w.agent.token,
            &format!("{}/conversations/{d}/messages", w.base()),
            json!({"content": "Здравствуйте, Анна!"}),
        )
        .await;
    assert!(st.is_success(), "{m}");
    assert_eq!(bot_says(&messages(s, &w, d).await).len(), 5);
}

/// Messages sent back to back, without waiting for the bot: one run of the conversation's
/// job (or a few, coalesced) handles each message once, in order, with the dialogue state
/// each left behind: the name is taken as a name because the question before it was
/// handled first, and the hand-off comes after every answer.
async fn built_in_bot_answers_a_burst_once_each_in_order(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    set_online(s, &w.admin, &w.agent).await;
    for (code, content) in [
        ("delivery", "Доставка по Москве занимает 2–3 дня."),
        ("payment", "Оплатить можно картой или наличными курьеру."),
    ] {
        let (st, v) = s
            .post(
                &w.admin.token,
                &format!("{base}/canned_responses"),
                json!({"short_code": code, "content": content}),
            )
            .await;
        assert!(st.is_success(), "{v}");
    }
    built_in(s, &w, json!({"handoff_words": ["оператор"]})).await;
    let d = new_conversation(s, &w, json!({})).await;
    for text in [
        "Сколько дней идёт доставка?",
        "А оплата картой возможна? Какие способы оплаты?",
        "Позовите оператора",
        "Анна Петрова",
        "+7 999 123-45-67",
    ] {
        incoming(s, &w, d, text).await;
    }
    let agent_id = w.agent.user_id;
    conversation_until(s, &w.admin, d, "handed off after the burst", |c| {
        c["status"] == "open" && c["meta"]["assignee"]["id"] == agent_id
    })
    .await;
    // The hand-off is the run's last step: every answer is in by now.
    let said = bot_says(&messages(s, &w, d).await);
    assert_eq!(said.len(), 5, "one answer per message: {said:?}");
    assert_eq!(said[0], "Доставка по Москве занимает 2–3 дня.");
    assert_eq!(said[1], "Оплатить можно картой или наличными курьеру.");
    assert!(said[2].contains("Как к вам обращаться"), "{said:?}");
    assert!(said[3].contains("номер телефона"), "{said:?}");
    assert!(said[4].contains("Передаю разговор оператору"), "{said:?}");
    let (st, c) = s
        .get(&w.admin.token, &format!("{base}/contacts/{}", w.contact_id))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(c["payload"]["name"], "Анна Петрова", "{c}");
    assert_eq!(c["payload"]["phone_number"], "+7 999 123-45-67", "{c}");
}

/// Chatwoot's `reopen_resolved_conversation`: a resolved conversation of a bot's inbox the
/// customer writes to again is the bot's again (`pending`, the dialogue afresh); a muted one
/// stays resolved; a snoozed one opens for agents. The bot's `outgoing_url` gets Chatwoot's
/// bot events for it: `conversation_opened` / `conversation_resolved`, never the account
/// webhooks' `conversation_status_changed`.
async fn resolved_bot_conversation_goes_back_to_the_bot(s: &TestServer) {
    let w = shop(s).await;
    let base = w.base();
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/canned_responses"),
            json!({"short_code": "delivery", "content": "Доставка по Москве занимает 2–3 дня."}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let r = Receiver::start(0).await;
    let b = create_bot(
        s,
        &w,
        json!({"name": "Помощник", "bot_type": "builtin", "outgoing_url": r.url,
               "bot_config": {"collect_contact": false, "handoff_words": ["оператор"]}}),
    )
    .await;
    attach(s, &w, w.inbox_id, b["id"].clone()).await;
    let d = new_conversation(s, &w, json!({})).await;
    let status = |body: Value| {
        let base = base.clone();
        let token = w.admin.token.clone();
        async move {
            let (st, v) = s
                .post(
                    &token,
                    &format!("{base}/conversations/{d}/toggle_status"),
                    body,
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
    };

    // The hand-off, then an agent resolves it.
    incoming(s, &w, d, "Позовите оператора").await;
    conversation_until(s, &w.admin, d, "handed off", |c| c["status"] == "open").await;
    r.until("conversation_opened at the bot", |g| {
        g.iter()
            .any(|x| x.header("x-parley-event") == "conversation_opened")
    })
    .await;
    status(json!({"status": "resolved"})).await;
    let got = r
        .until("conversation_resolved at the bot", |g| {
            g.iter()
                .any(|x| x.header("x-parley-event") == "conversation_resolved")
        })
        .await;
    let resolved = got
        .iter()
        .find(|x| x.header("x-parley-event") == "conversation_resolved")
        .expect("resolved")
        .json();
    assert_eq!(resolved["event"], "conversation_resolved");
    assert_eq!(resolved["id"], d, "the conversation's fields: {resolved}");
    assert_eq!(resolved["status"], "resolved");

    // The customer writes again: back to the bot, which answers afresh (its dialogue had
    // ended with the hand-off).
    incoming(s, &w, d, "Сколько дней идёт доставка?").await;
    assert_eq!(conversation(s, &w, d).await["status"], "pending");
    let said = bot_said(s, &w, d, 2).await;
    assert_eq!(said[1], "Доставка по Москве занимает 2–3 дня.", "{said:?}");
    // The bot never got the account webhooks' names.
    let got = r
        .until("the customer's new message at the bot", |g| {
            g.iter()
                .any(|x| x.json()["content"] == "Сколько дней идёт доставка?")
        })
        .await;
    let events: Vec<String> = got
        .iter()
        .map(|x| x.header("x-parley-event").to_string())
        .collect();
    for never in [
        "conversation_status_changed",
        "conversation_created",
        "conversation_updated",
    ] {
        assert!(!events.iter().any(|e| e == never), "{never}: {events:?}");
    }
    assert!(
        got.iter().all(|x| x.json()["message_type"] != "activity"),
        "activity lines are not sent to bots (Chatwoot's webhook_sendable?)"
    );

    // Muted: stays resolved, the bot says nothing.
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/conversations/{d}/mute"),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    incoming(s, &w, d, "Ещё вопрос про доставку").await;
    let c = conversation(s, &w, d).await;
    assert_eq!(c["status"], "resolved", "{c}");
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{base}/conversations/{d}/unmute"),
            json!({}),
        )
        .await;
    assert!(st.is_success(), "{v}");

    // Snoozed by agents: the customer's message opens it for them, not for the bot.
    status(json!({"status": "open"})).await;
    let until_ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 86_400;
    status(json!({"status": "snoozed", "snoozed_until": until_ts})).await;
    incoming(s, &w, d, "Вы тут?").await;
    assert_eq!(conversation(s, &w, d).await["status"], "open");

    // Without a bot, a resolved conversation reopens for agents as before.
    attach(s, &w, w.inbox_id, Value::Null).await;
    status(json!({"status": "resolved"})).await;
    incoming(s, &w, d, "И снова здравствуйте").await;
    assert_eq!(conversation(s, &w, d).await["status"], "open");
    // Two bot answers in all: the muted and snoozed messages were not the bot's.
    assert_eq!(bot_says(&messages(s, &w, d).await).len(), 2);
}
