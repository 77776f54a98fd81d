//! Exports on both backends: the conversations-with-messages CSV byte for byte over a
//! known scenario (BOM, Cyrillic, quoting, messages in order, RU/EN headers), its filters,
//! who may export, bad requests, a large export streamed with its announced row count and
//! the bound on concurrent exports; transcripts as a file and by e-mail (received by a
//! loopback SMTP sink), refused without mail; Chatwoot's live conversation metrics; the
//! visitor-sources CSV.

use crate::common;
use crate::common::smtp::SmtpSink;
use crate::widget_assets::visitor;

use std::sync::Arc;

use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use parley_core::time::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Monday 2026-03-02 00:00 UTC, in milliseconds.
const T0: i64 = 1_772_409_600_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_of_a_known_scenario() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
    export_of_a_known_scenario(&s, clock).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_export_of_a_known_scenario() {
    let clock = Arc::new(ManualClock::new(T0));
    let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
        return;
    };
    export_of_a_known_scenario(&s, clock).await;
    s.stop().await;
}

both_backends!(
    large_export_is_streamed_and_bounded,
    transcripts_as_file_and_by_email,
    live_conversation_metrics,
    sources_as_csv,
);

struct Shop {
    admin: Actor,
    sam: Actor,
    maria: Actor,
    inbox_id: i64,
    team_id: i64,
    contact_id: i64,
}

impl Shop {
    fn base(&self) -> String {
        format!("/api/v1/accounts/{}", self.admin.account_id)
    }
    fn v2(&self) -> String {
        format!("/api/v2/accounts/{}", self.admin.account_id)
    }
}

async fn shop(s: &TestServer) -> Shop {
    let admin = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let t = admin.token.as_str();
    let sam = s.member(admin.account_id, "Sam", Role::Supervisor).await;
    let maria = s.member(admin.account_id, "Maria", Role::Agent).await;
    let (st, inbox) = s
        .post(
            t,
            &format!("{base}/inboxes"),
            json!({"name": "Сайт", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success(), "{st} {inbox}");
    let inbox_id = inbox["id"].as_i64().expect("inbox");
    let (st, v) = s
        .post(
            t,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [maria.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    let (st, team) = s
        .post(t, &format!("{base}/teams"), json!({"name": "Оплата"}))
        .await;
    assert!(st.is_success(), "{st} {team}");
    let team_id = team["id"].as_i64().expect("team");
    let (st, c) = s
        .post(
            t,
            &format!("{base}/contacts"),
            json!({"name": "Иван \"Ваня\", Петров", "email": "ivan@buyer.test",
                   "phone_number": "+79991234567", "inbox_id": inbox_id}),
        )
        .await;
    assert!(st.is_success(), "{st} {c}");
    Shop {
        contact_id: c["payload"]["contact"]["id"].as_i64().expect("contact"),
        admin,
        sam,
        maria,
        inbox_id,
        team_id,
    }
}

async fn conversation(s: &TestServer, w: &Shop) -> i64 {
    let (st, c) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations", w.base()),
            json!({"inbox_id": w.inbox_id, "contact_id": w.contact_id}),
        )
        .await;
    assert!(st.is_success(), "{st} {c}");
    c["id"].as_i64().expect("id")
}

/// Posts a message as `token`; returns its id.
async fn message(s: &TestServer, w: &Shop, token: &str, d: i64, body: Value) -> i64 {
    let (st, m) = s
        .post(
            token,
            &format!("{}/conversations/{d}/messages", w.base()),
            body,
        )
        .await;
    assert!(st.is_success(), "{st} {m}");
    m["id"].as_i64().expect("message id")
}

async fn act(s: &TestServer, w: &Shop, d: i64, tail: &str, body: Value) {
    let (st, b) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{d}/{tail}", w.base()),
            body,
        )
        .await;
    assert!(st.is_success(), "{tail}: {st} {b}");
}

/// A GET that returns status, headers and the body as text.
async fn fetch(
    s: &TestServer,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = s
        .http
        .get(s.url(path))
        .header("api_access_token", token)
        .send()
        .await
        .expect("sent");
    let st = res.status();
    let h = res.headers().clone();
    (st, h, res.text().await.expect("body"))
}

/// Parses CSV (RFC 4180: quoted cells with doubled quotes, CRLF lines) into rows.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

fn rows_header(h: &reqwest::header::HeaderMap, name: &str) -> i64 {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// Two conversations (times from Monday 00:00 UTC): A begins at 00:01 — the customer
/// writes at 00:02 (a comma), the admin answers at 00:03 (quotes and a line break), a
/// private note at 00:04 that a spreadsheet would run as a formula; labelled «доставка».
/// B begins at 00:10 without messages. The file is checked byte for byte, in English
/// (the account's language) and in Russian (`lang=ru`).
async fn export_of_a_known_scenario(s: &TestServer, clock: Arc<ManualClock>) {
    let w = shop(s).await;
    clock.set(T0 + MIN);
    let a = conversation(s, &w).await;
    let (st, b) = s
        .post(
            &w.admin.token,
            &format!("{}/labels", w.base()),
            json!({"title": "доставка"}),
        )
        .await;
    assert!(st.is_success(), "{st} {b}");
    act(s, &w, a, "labels", json!({"labels": ["доставка"]})).await;
    clock.set(T0 + 2 * MIN);
    let m1 = message(
        s,
        &w,
        &w.admin.token,
        a,
        json!({"content": "Здравствуйте, где заказ?", "message_type": "incoming"}),
    )
    .await;
    clock.set(T0 + 3 * MIN);
    let m2 = message(
        s,
        &w,
        &w.admin.token,
        a,
        json!({"content": "Заказ \"№5\" в пути.\nЖдите завтра"}),
    )
    .await;
    clock.set(T0 + 4 * MIN);
    let m3 = message(
        s,
        &w,
        &w.admin.token,
        a,
        json!({"content": "=1+1 VIP", "private": true}),
    )
    .await;
    clock.set(T0 + 10 * MIN);
    let b_id = conversation(s, &w).await;
    clock.set(T0 + 20 * MIN);

    let since = T0 / 1000;
    let until = (T0 + DAY) / 1000;
    let path = format!(
        "{}/exports/conversations?since={since}&until={until}",
        w.v2()
    );
    let (st, h, body) = fetch(s, &w.admin.token, &path).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        h.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        h.get("content-disposition").and_then(|v| v.to_str().ok()),
        Some("attachment; filename=conversations_2026-03-02_2026-03-02.csv")
    );
    assert_eq!(rows_header(&h, "x-export-rows"), 4);
    assert_eq!(rows_header(&h, "x-export-conversations"), 2);
    let conv = "\"Иван \"\"Ваня\"\", Петров\",ivan@buyer.test,+79991234567";
    let expected = format!(
        "\u{feff}Conversation,Started (UTC),Status,Inbox,Team,Assignee,Contact,Contact e-mail,Contact phone,Labels,Message,Sent (UTC),Type,Private note,Sender,Content\r\n\
         {a},2026-03-02 00:01:00,open,Сайт,,,{conv},доставка,{m1},2026-03-02 00:02:00,incoming,no,\"Иван \"\"Ваня\"\", Петров\",\"Здравствуйте, где заказ?\"\r\n\
         {a},2026-03-02 00:01:00,open,Сайт,,,{conv},доставка,{m2},2026-03-02 00:03:00,outgoing,no,Admin,\"Заказ \"\"№5\"\" в пути.\nЖдите завтра\"\r\n\
         {a},2026-03-02 00:01:00,open,Сайт,,,{conv},доставка,{m3},2026-03-02 00:04:00,outgoing,yes,Admin,'=1+1 VIP\r\n\
         {b_id},2026-03-02 00:10:00,open,Сайт,,,{conv},,,,,,,\r\n"
    );
    assert_eq!(body, expected);
    assert_eq!(parse_csv(&body).len() as i64 - 1, 4);

    // Russian headers and words.
    let (st, _, ru) = fetch(s, &w.admin.token, &format!("{path}&lang=ru")).await;
    assert_eq!(st, StatusCode::OK);
    let rows = parse_csv(&ru);
    assert_eq!(
        rows[0].join("|"),
        "\u{feff}Диалог|Начат (UTC)|Статус|Канал связи|Отдел|Сотрудник|Клиент|E-mail клиента|Телефон клиента|Метки|Сообщение|Отправлено (UTC)|Тип|Заметка|Отправитель|Текст"
    );
    assert_eq!(rows[1][2], "открыт");
    assert_eq!(rows[1][12], "входящее");
    assert_eq!(rows[3][13], "да");

    // Filters: a team and an assignee on B, then each filter alone.
    act(s, &w, b_id, "assignments", json!({"team_id": w.team_id})).await;
    act(
        s,
        &w,
        b_id,
        "assignments",
        json!({"assignee_id": w.maria.user_id}),
    )
    .await;
    act(s, &w, a, "toggle_status", json!({"status": "resolved"})).await;
    let conversations_of = |body: &str| -> Vec<i64> {
        let mut ids: Vec<i64> = parse_csv(body)
            .iter()
            .skip(1)
            .filter_map(|r| r[0].parse().ok())
            .collect();
        ids.dedup();
        ids
    };
    for (filter, want) in [
        (format!("inbox_id={}", w.inbox_id), vec![a, b_id]),
        (format!("team_id={}", w.team_id), vec![b_id]),
        (format!("assignee_id={}", w.maria.user_id), vec![b_id]),
        ("status=resolved".to_string(), vec![a]),
        ("status=open".to_string(), vec![b_id]),
        ("label=доставка".to_string(), vec![a]),
        ("status=all".to_string(), vec![a, b_id]),
    ] {
        let (st, h, body) = fetch(s, &w.sam.token, &format!("{path}&{filter}")).await;
        assert_eq!(st, StatusCode::OK, "{filter}: {body}");
        assert_eq!(conversations_of(&body), want, "{filter}");
        assert_eq!(
            rows_header(&h, "x-export-rows"),
            parse_csv(&body).len() as i64 - 1,
            "{filter}"
        );
    }
    // A period before anything began: the header only.
    let (st, h, body) = fetch(
        s,
        &w.admin.token,
        &format!(
            "{}/exports/conversations?since={}&until={since}",
            w.v2(),
            since - 86_400
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rows_header(&h, "x-export-rows"), 0);
    assert_eq!(parse_csv(&body).len(), 1);

    // Agents are refused; bad requests are clear 4xx.
    let (st, b) = s.get(&w.maria.token, &path).await;
    assert_error(st, &b, 403, "forbidden");
    let other = s.admin("Other").await;
    for (query, status, code) in [
        (format!("until={until}"), 422, "invalid_field"),
        (
            format!("since={since}&until={}", since + 500 * 86_400),
            422,
            "invalid_field",
        ),
        (
            format!("since={since}&until={until}&status=lost"),
            422,
            "invalid_field",
        ),
        (
            format!("since={since}&until={until}&inbox_id=abc"),
            422,
            "invalid_field",
        ),
        (
            format!("since={since}&until={until}&inbox_id=999999"),
            404,
            "not_found",
        ),
        (
            format!("since={since}&until={until}&assignee_id={}", other.user_id),
            404,
            "not_found",
        ),
    ] {
        let (st, b) = s
            .get(
                &w.admin.token,
                &format!("{}/exports/conversations?{query}", w.v2()),
            )
            .await;
        assert_error(st, &b, status, code);
    }
    // Another account's token sees none of this account's conversations.
    let (st, b) = s.get(&other.token, &path).await;
    assert!(
        st == StatusCode::UNAUTHORIZED
            || st == StatusCode::FORBIDDEN
            || st == StatusCode::NOT_FOUND,
        "{st} {b}"
    );
}

/// A pseudo-random text of `n` hex characters (so nothing on the way compresses it).
fn noise(seed: u64, n: usize) -> String {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut out = String::with_capacity(n);
    while out.len() < n {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push_str(&format!("{:016x}", x));
    }
    out.truncate(n);
    out
}

/// 3 conversations of 1,000 messages of 10,000 characters (30 MB of CSV) and 250 more
/// without messages (more than a page of conversations). Two exports whose client does not
/// read hold both places of the account: a third is refused with 409 until one is
/// dropped. Then a full export: as many rows as announced, every message once, in order.
async fn large_export_is_streamed_and_bounded(s: &TestServer) {
    let w = shop(s).await;
    let mut big = Vec::new();
    for _ in 0..3 {
        big.push(conversation(s, &w).await);
    }
    for _ in 0..250 {
        conversation(s, &w).await;
    }
    let mut want: Vec<(i64, i64, String)> = Vec::new();
    for chunk in (0..3_000u64).collect::<Vec<_>>().chunks(25) {
        let sent = futures::future::join_all(chunk.iter().map(|i| {
            let d = big[(*i % 3) as usize];
            let text = noise(*i, 10_000);
            let w = &w;
            async move {
                let id = message(
                    s,
                    w,
                    &w.admin.token,
                    d,
                    json!({"content": text.clone(), "message_type": "incoming"}),
                )
                .await;
                (id, d, text)
            }
        }))
        .await;
        want.extend(sent);
    }
    // Sent concurrently: the order written is the order of the ids.
    want.sort_by_key(|(id, _, _)| *id);
    let now = s.store().now() / 1000;
    let path = format!(
        "{}/exports/conversations?since={}&until={}",
        w.v2(),
        now - 86_400,
        now + 60
    );
    let start = |c: reqwest::Client| {
        let url = s.url(&path);
        let token = w.admin.token.clone();
        async move {
            c.get(url)
                .header("api_access_token", token)
                .send()
                .await
                .expect("sent")
        }
    };
    // Separate clients: separate connections, none reading its body.
    let held_a = start(reqwest::Client::new()).await;
    assert_eq!(held_a.status(), StatusCode::OK);
    let held_b = start(reqwest::Client::new()).await;
    assert_eq!(held_b.status(), StatusCode::OK);
    let third = start(reqwest::Client::new()).await;
    assert_eq!(third.status(), StatusCode::CONFLICT);
    let b: Value = third.json().await.expect("json");
    assert_error(StatusCode::CONFLICT, &b, 409, "conflict");
    drop(held_a);
    // The dropped download frees its place once the server sees the connection closed.
    let mut full = None;
    for _ in 0..1_000 {
        let r = start(reqwest::Client::new()).await;
        if r.status() == StatusCode::OK {
            full = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::CONFLICT);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut full = full.expect("a place freed after the download was dropped");
    let announced = rows_header(full.headers(), "x-export-rows");
    assert_eq!(announced, 3_000 + 250);
    assert_eq!(rows_header(full.headers(), "x-export-conversations"), 253);
    // Read it chunk by chunk, as the console does for its progress.
    let mut bytes = Vec::new();
    let mut chunks = 0;
    while let Some(c) = full.chunk().await.expect("chunk") {
        bytes.extend_from_slice(&c);
        chunks += 1;
    }
    assert!(chunks > 10, "streamed in pieces ({chunks})");
    drop(held_b);
    let text = String::from_utf8(bytes).expect("utf-8");
    let rows = parse_csv(&text);
    assert_eq!(rows.len() as i64 - 1, announced);
    // Every message once, in the order written, per conversation.
    for d in &big {
        let got: Vec<&str> = rows
            .iter()
            .skip(1)
            .filter(|r| r[0] == d.to_string())
            .map(|r| r[15].as_str())
            .collect();
        let expected: Vec<&str> = want
            .iter()
            .filter(|(_, c, _)| c == d)
            .map(|(_, _, t)| t.as_str())
            .collect();
        assert_eq!(got.len(), 1_000);
        assert!(got == expected, "messages of {d} in order");
        let ids: Vec<i64> = rows
            .iter()
            .skip(1)
            .filter(|r| r[0] == d.to_string())
            .map(|r| r[10].parse::<i64>().expect("id"))
            .collect();
        assert!(ids.windows(2).all(|p| p[0] < p[1]), "ascending ids");
    }
    let empty = rows.iter().skip(1).filter(|r| r[10].is_empty()).count();
    assert_eq!(empty, 250);
}

async fn transcripts_as_file_and_by_email(s: &TestServer) {
    // Without outgoing mail, sending is refused clearly; the file still works.
    {
        let w = shop(s).await;
        let d = conversation(s, &w).await;
        message(
            s,
            &w,
            &w.admin.token,
            d,
            json!({"content": "Hi", "message_type": "incoming"}),
        )
        .await;
        let (st, b) = s
            .post(
                &w.admin.token,
                &format!("{}/conversations/{d}/transcript", w.base()),
                json!({"email": "boss@shop.test"}),
            )
            .await;
        assert_error(st, &b, 422, "invalid_field");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("smtp_url"),
            "{b}"
        );
    }
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let s2 = if s.pg_database.is_some() {
        TestServer::postgres_with(|c| c.smtp_url = Some(url.as_str().into())).await
    } else {
        Some(TestServer::sqlite_with(|c| c.smtp_url = Some(url.as_str().into())).await)
    };
    let s = s2.as_ref().expect("server");
    let w = shop(s).await;
    s.store()
        .update_account(w.admin.account_id, "Shop", "ru")
        .await
        .expect("locale");
    let d = conversation(s, &w).await;
    message(
        s,
        &w,
        &w.admin.token,
        d,
        json!({"content": "Где мой заказ?\nНомер 5", "message_type": "incoming"}),
    )
    .await;
    message(s, &w, &w.maria.token, d, json!({"content": "Уже едет"})).await;
    message(
        s,
        &w,
        &w.admin.token,
        d,
        json!({"content": "секретная заметка", "private": true}),
    )
    .await;

    // The file, for an agent of the inbox.
    let (st, h, text) = fetch(
        s,
        &w.maria.token,
        &format!("{}/conversations/{d}/transcript", w.base()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(
        h.get("content-disposition").and_then(|v| v.to_str().ok()),
        Some(format!("attachment; filename=conversation-{d}-transcript.txt").as_str())
    );
    assert!(text.starts_with(&format!("Переписка по диалогу #{d}\nКанал связи: Сайт\nКлиент: Иван \"Ваня\", Петров <ivan@buyer.test>\n")), "{text}");
    assert!(text.contains("Статус: открыт\n"), "{text}");
    assert!(
        text.contains("Иван \"Ваня\", Петров (клиент):\n  Где мой заказ?\n  Номер 5\n"),
        "{text}"
    );
    assert!(text.contains("Maria (сотрудник):\n  Уже едет\n"), "{text}");
    assert!(!text.contains("секретная"), "no private notes: {text}");
    let order = text.find("Где мой").expect("q") < text.find("Уже едет").expect("a");
    assert!(order, "in order");

    // An agent outside the inbox does not see it.
    let other = s.member(w.admin.account_id, "Oleg", Role::Agent).await;
    let (st, b) = s
        .get(
            &other.token,
            &format!("{}/conversations/{d}/transcript", w.base()),
        )
        .await;
    assert_error(st, &b, 404, "not_found");
    let (st, b) = s
        .post(
            &other.token,
            &format!("{}/conversations/{d}/transcript", w.base()),
            json!({"email": "x@shop.test"}),
        )
        .await;
    assert_error(st, &b, 404, "not_found");

    // Bad addresses are refused.
    for bad in [json!({}), json!({"email": "not an address"})] {
        let (st, b) = s
            .post(
                &w.maria.token,
                &format!("{}/conversations/{d}/transcript", w.base()),
                bad,
            )
            .await;
        assert_error(st, &b, 422, "invalid_field");
    }

    // By e-mail: the same text reaches the address.
    let (st, b) = s
        .post(
            &w.maria.token,
            &format!("{}/conversations/{d}/transcript", w.base()),
            json!({"email": "boss@shop.test"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["email"], "boss@shop.test");
    let mail = sink.next().await;
    assert_eq!(mail.to, vec!["boss@shop.test".to_string()]);
    assert_eq!(mail.subject(), format!("Переписка по диалогу #{d} — Сайт"));
    assert_eq!(
        mail.text().replace("\r\n", "\n").trim_end(),
        text.trim_end()
    );
}

async fn live_conversation_metrics(s: &TestServer) {
    let w = shop(s).await;
    let reply = |d: i64| {
        let w = &w;
        async move {
            message(s, w, &w.maria.token, d, json!({"content": "Answer"})).await;
        }
    };
    let incoming = |d: i64| {
        let w = &w;
        async move {
            message(
                s,
                w,
                &w.admin.token,
                d,
                json!({"content": "Question", "message_type": "incoming"}),
            )
            .await;
        }
    };
    // c1: open, nobody assigned, never answered.
    let c1 = conversation(s, &w).await;
    incoming(c1).await;
    // c2: Maria's, answered.
    let c2 = conversation(s, &w).await;
    act(
        s,
        &w,
        c2,
        "assignments",
        json!({"assignee_id": w.maria.user_id}),
    )
    .await;
    incoming(c2).await;
    reply(c2).await;
    // c3: Maria's, answered, then the customer wrote again.
    let c3 = conversation(s, &w).await;
    act(
        s,
        &w,
        c3,
        "assignments",
        json!({"assignee_id": w.maria.user_id}),
    )
    .await;
    incoming(c3).await;
    reply(c3).await;
    incoming(c3).await;
    // c4: pending; c5: resolved.
    let c4 = conversation(s, &w).await;
    act(s, &w, c4, "toggle_status", json!({"status": "pending"})).await;
    let c5 = conversation(s, &w).await;
    act(s, &w, c5, "toggle_status", json!({"status": "resolved"})).await;

    let (st, b) = s
        .get(&w.sam.token, &format!("{}/reports/conversations", w.v2()))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(
        b,
        json!({"open": 3, "unattended": 2, "unassigned": 1, "pending": 1})
    );
    let (st, b) = s
        .get(
            &w.admin.token,
            &format!("{}/reports/conversations?type=agent", w.v2()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let list = b.as_array().expect("list");
    assert_eq!(list.len(), 3, "{b}");
    assert_eq!(list[0]["id"], w.maria.user_id);
    assert_eq!(list[0]["name"], "Maria");
    assert_eq!(list[0]["metric"], json!({"open": 2, "unattended": 1}));
    assert!(list[0]["availability"].is_string());
    assert!(list[0]["email"].is_string() && list[0]["thumbnail"].is_string());
    for a in &list[1..] {
        assert_eq!(a["metric"], json!({"open": 0, "unattended": 0}));
    }
    let (st, b) = s
        .get(
            &w.admin.token,
            &format!("{}/reports/conversations?type=agent&page=2", w.v2()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b, json!([]));
    // Resolving c3 changes the numbers at once.
    act(s, &w, c3, "toggle_status", json!({"status": "resolved"})).await;
    let (_, b) = s
        .get(&w.sam.token, &format!("{}/reports/conversations", w.v2()))
        .await;
    assert_eq!(
        b,
        json!({"open": 2, "unattended": 1, "unassigned": 1, "pending": 1})
    );

    let (st, b) = s
        .get(&w.maria.token, &format!("{}/reports/conversations", w.v2()))
        .await;
    assert_error(st, &b, 403, "forbidden");
    for q in ["type=team", "type=agent&page=0", "type=agent&page=x"] {
        let (st, b) = s
            .get(
                &w.admin.token,
                &format!("{}/reports/conversations?{q}", w.v2()),
            )
            .await;
        assert_error(st, &b, 422, "invalid_field");
    }
}

async fn sources_as_csv(s: &TestServer) {
    let w = shop(s).await;
    let (st, inbox) = s
        .post(
            &w.admin.token,
            &format!("{}/inboxes", w.base()),
            json!({"name": "Web", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let ident = inbox["website_token"].as_str().expect("token").to_string();
    for utm in [
        json!({"utm": {"utm_source": "news, \"spring\""}}),
        json!({"utm": {"utm_source": "news, \"spring\""}}),
        json!({}),
    ] {
        let source = visitor(s, &ident).await;
        let convs = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations");
        let (st, c) = s
            .call(
                Method::POST,
                None,
                &convs,
                Some(json!({"additional_attributes": utm})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        let id = c["id"].as_i64().expect("id");
        let (st, m) = s
            .call(
                Method::POST,
                None,
                &format!("{convs}/{id}/messages"),
                Some(json!({"content": "Hello"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{m}");
    }
    let now = s.store().now() / 1000;
    let q = format!("since={}&until={}", now - 3_600, now + 3_600);
    let (st, h, body) = fetch(s, &w.sam.token, &format!("{}/reports/sources?{q}", w.v2())).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        h.get("content-disposition").and_then(|v| v.to_str().ok()),
        Some("attachment; filename=sources_source_report.csv")
    );
    assert!(body.starts_with("\u{feff}Report for "), "{body}");
    let rest: Vec<&str> = body.split("\r\n").skip(1).collect();
    assert_eq!(
        rest,
        vec![
            "Source (utm_source),Conversations,Conversions,Conversion rate (%)",
            "\"news, \"\"spring\"\"\",2,0,0.0",
            "(none),1,0,0.0",
            "",
        ]
    );
    let (st, _, ru) = fetch(
        s,
        &w.sam.token,
        &format!("{}/reports/sources?{q}&lang=ru&by=campaign", w.v2()),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let rest: Vec<&str> = ru.split("\r\n").skip(1).collect();
    assert_eq!(
        rest,
        vec![
            "Кампания (utm_campaign),Диалогов,Конверсий,\"Конверсия, %\"",
            "(не указан),3,0,0.0",
            "",
        ]
    );
    let (st, b) = s
        .get(&w.maria.token, &format!("{}/reports/sources?{q}", w.v2()))
        .await;
    assert_error(st, &b, 403, "forbidden");
    let (st, b) = s
        .get(
            &w.sam.token,
            &format!("{}/reports/sources?{q}&by=planet", w.v2()),
        )
        .await;
    assert_error(st, &b, 422, "invalid_field");
}
