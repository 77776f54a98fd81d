//! The e-mail channel end to end (issue 14): a real server whose e-mail inbox reads a real
//! mailbox (Dovecot over IMAP) and answers through a real submission service (Dovecot's,
//! relaying to OpenSMTPD, which delivers into the customer's Dovecot mailbox), started by
//! `parley_channels::email::testing::MailSystem`. Both backends. Without Dovecot and
//! OpenSMTPD (or without root) the cases print why and skip, unless
//! `PARLEY_REQUIRE_SERVICES` is set.

use std::time::Duration;

use parley_channels::email::inbound::{InboundEmail, ParseOptions, parse};
use parley_channels::email::testing::{HOST, MailSystem, Options, PASSWORD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::channel_support::{
    WAIT_ROUNDS, conversations, incoming, messages, messages_until, post_message, status_state,
    status_until,
};
use crate::common::{Actor, TestServer};

const SHOP: &str = "support@shop.test";
const CUSTOMER: &str = "ivan@customer.test";
const KOI8R: &[u8] = include_bytes!("../../../channels/src/email/testdata/koi8r.eml");
const DSN: &[u8] = include_bytes!("../../../channels/src/email/testdata/dsn_postfix.eml");
const ATTACHMENTS: &[u8] = include_bytes!("../../../channels/src/email/testdata/attachments.eml");
const AUTOREPLY: &[u8] = include_bytes!("../../../channels/src/email/testdata/autoreply.eml");

/// Runs each case on both backends with a mail system of its own.
macro_rules! email_cases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let Some(mail) = super::mail_system(stringify!($name)) else { return };
                   let mut s = crate::common::TestServer::sqlite().await;
                   super::$name(&mut s, &mail).await;
                   s.stop().await;
               } )+
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() {
                   let Some(mail) = super::mail_system(stringify!($name)) else { return };
                   if let Some(mut s) = crate::common::TestServer::postgres().await {
                       super::$name(&mut s, &mail).await;
                       s.stop().await;
                   }
               } )+
        }
    };
}

email_cases!(
    letters_thread_both_ways_and_survive_a_restart,
    refused_sending_fails_and_a_retry_after_fixing_sends,
    bounces_fail_the_original_and_robots_get_no_auto_reply,
    connection_checks_status_and_bad_input,
);

fn mail_system(test: &str) -> Option<MailSystem> {
    MailSystem::start_or_skip(test, Options { smtp: true })
}

/// The channel of an inbox reading `SHOP`'s mailbox over plain IMAP and sending through
/// the submission service (plain, with AUTH), with `smtp_password` as given.
fn channel(mail: &MailSystem, smtp_password: &str) -> Value {
    json!({
        "type": "email",
        "email": SHOP,
        "imap_address": HOST,
        "imap_port": mail.imap_port,
        "imap_login": SHOP,
        "imap_password": PASSWORD,
        "imap_enable_ssl": false,
        "smtp_address": HOST,
        "smtp_port": mail.submission_port,
        "smtp_login": SHOP,
        "smtp_password": smtp_password,
        "smtp_enable_ssl_tls": false,
        "smtp_enable_starttls_auto": false,
        "smtp_domain": "localhost",
    })
}

async fn create_inbox(s: &TestServer, admin: &Actor, channel: Value) -> (StatusCode, Value) {
    s.post(
        &admin.token,
        &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
        json!({"name": "Support", "channel": channel}),
    )
    .await
}

async fn email_inbox(s: &TestServer, admin: &Actor, mail: &MailSystem) -> Value {
    let (st, inbox) = create_inbox(s, admin, channel(mail, PASSWORD)).await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    inbox
}

/// A plain-text letter from the customer to the shop.
fn letter(id: &str, subject: &str, headers: &str, text: &str) -> Vec<u8> {
    letter_to(SHOP, id, subject, headers, text)
}

/// A plain-text letter from the customer to `to`.
fn letter_to(to: &str, id: &str, subject: &str, headers: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Ivan Petrov <{CUSTOMER}>\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 +0300\r\nMessage-ID: <{id}>\r\n{headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// Waits until the account has `n` conversations; returns them newest first.
async fn conversations_until(s: &TestServer, admin: &Actor, n: usize) -> Vec<Value> {
    for _ in 0..WAIT_ROUNDS {
        let c = conversations(s, admin).await;
        if c.len() >= n {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "expected {n} conversations: {:?}",
        conversations(s, admin).await
    );
}

/// The letters in `user`'s mailbox, parsed, once there are `n`.
async fn mailbox(mail: &MailSystem, user: &str, n: usize) -> Vec<InboundEmail> {
    mail.wait_letters(user, n, Duration::from_secs(120))
        .await
        .expect("letters arrive")
        .iter()
        .map(|raw| parse(raw, &ParseOptions::default()).expect("a letter"))
        .collect()
}

/// Puts a letter into the shop's mailbox, as the customer's mail server would.
async fn deliver(mail: &MailSystem, raw: &[u8]) {
    mail.append(SHOP, raw).await.expect("append");
}

/// Changes an inbox's channel settings (`path` is the inbox's); returns the inbox.
async fn patch_channel(s: &TestServer, admin: &Actor, path: &str, channel: Value) -> Value {
    let (st, body) = s
        .patch(&admin.token, path, json!({"channel": channel}))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    body
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().expect("id")
}

async fn letters_thread_both_ways_and_survive_a_restart(s: &mut TestServer, mail: &MailSystem) {
    let admin = s.admin("Shop").await;
    email_inbox(s, &admin, mail).await;
    // A customer's letter in KOI8-R: a new conversation with its subject, text and contact.
    let expected = parse(KOI8R, &ParseOptions::default()).expect("fixture");
    deliver(mail, KOI8R).await;
    let conv = conversations_until(s, &admin, 1).await.remove(0);
    let cid = id_of(&conv);
    assert_eq!(
        conv["additional_attributes"]["mail_subject"], expected.subject,
        "{conv}"
    );
    let first = messages_until(s, &admin, cid, "the letter", |m| incoming(m).len() == 1).await;
    let m = incoming(&first)[0].clone();
    assert_eq!(
        m["content"].as_str().map(str::trim),
        Some(expected.text.trim()),
        "{m}"
    );
    assert!(
        expected.text.contains("N1234"),
        "decoded: {}",
        expected.text
    );
    assert_eq!(m["source_id"], "koi8-1@customer.test");
    let email = &m["content_attributes"]["email"];
    assert_eq!(email["subject"], expected.subject.as_str(), "{m}");
    assert!(
        email["from"].as_str().is_some_and(|f| f.contains(CUSTOMER)),
        "{m}"
    );
    assert!(
        email["quoted_text"].as_str().is_some_and(|q| !q.is_empty()),
        "{m}"
    );
    assert_eq!(email["truncated"], false);
    let contact = &conv["meta"]["sender"];
    assert_eq!(contact["email"], CUSTOMER, "{conv}");
    assert_eq!(
        contact["name"],
        expected
            .from
            .and_then(|f| f.name)
            .unwrap_or_default()
            .as_str()
    );

    // The agent's reply reaches the customer's mailbox, threaded, and is `sent`.
    let reply = post_message(s, &admin, cid, "Ваш заказ уже в пути.").await;
    let sent = status_until(s, &admin, cid, id_of(&reply), "sent").await;
    let got = mailbox(mail, CUSTOMER, 1).await.remove(0);
    let our_id = got.message_id.clone().expect("Message-ID");
    assert_eq!(sent["source_id"], our_id.as_str(), "{sent}");
    assert!(our_id.ends_with("@parley.shop.test"), "{our_id}");
    assert_eq!(got.in_reply_to, vec!["koi8-1@customer.test".to_string()]);
    assert!(
        got.references.contains(&"koi8-1@customer.test".to_string()),
        "{:?}",
        got.references
    );
    assert_eq!(got.subject, format!("Re: {}", expected.subject));
    assert!(
        got.text.starts_with("Ваш заказ уже в пути."),
        "{}",
        got.text
    );
    let from = got.from.clone().expect("From");
    assert_eq!(from.address, SHOP);
    assert!(
        from.name.is_some_and(|n| !n.is_empty()),
        "the agent's name is shown"
    );
    let reply_to = got.reply_to.clone().expect("Reply-To").address;
    assert!(
        reply_to.starts_with(&format!("support+c{cid}-")),
        "{reply_to}"
    );
    // The customer's letter is quoted below the reply, and an HTML part goes with the text.
    assert!(
        got.collapsed
            .as_deref()
            .is_some_and(|q| q.contains("N1234")),
        "{:?}",
        got.collapsed
    );
    let raw = mail.letters(CUSTOMER).await.expect("letters").remove(0);
    assert!(
        String::from_utf8_lossy(&raw).contains("text/html"),
        "no HTML alternative"
    );

    // The customer answers it: the same conversation, threaded by In-Reply-To.
    let answer = letter(
        "answer-1@customer.test",
        &got.subject,
        &format!("In-Reply-To: <{our_id}>\r\nReferences: <koi8-1@customer.test> <{our_id}>\r\n"),
        "Спасибо!",
    );
    deliver(mail, &answer).await;
    messages_until(s, &admin, cid, "the answer", |m| incoming(m).len() == 2).await;
    // An answer with no threading headers, only the reply address: the same conversation.
    let by_token = letter_to(
        &reply_to,
        "token-1@customer.test",
        "Ещё вопрос",
        "",
        "А доставка?",
    );
    deliver(mail, &by_token).await;
    messages_until(s, &admin, cid, "the token answer", |m| {
        incoming(m).len() == 3
    })
    .await;
    // A new subject from the same person: a new conversation.
    deliver(
        mail,
        &letter("new-1@customer.test", "Возврат", "", "Хочу вернуть товар"),
    )
    .await;
    let convs = conversations_until(s, &admin, 2).await;
    assert_eq!(convs.len(), 2);
    assert_eq!(
        convs[0]["meta"]["sender"]["id"], conv["meta"]["sender"]["id"],
        "one contact for both"
    );

    // Letters that arrive while the server is down are imported after it starts; nothing
    // already imported comes again.
    let down = async {
        for i in 0..3 {
            let raw = letter(
                &format!("down-{i}@customer.test"),
                "Re: Возврат",
                "In-Reply-To: <new-1@customer.test>\r\n",
                &format!("пока сервер стоял {i}"),
            );
            deliver(mail, &raw).await;
        }
    };
    s.restart_with(down).await;
    let second = id_of(&convs[0]);
    let msgs = messages_until(s, &admin, second, "the letters sent while down", |m| {
        incoming(m).len() == 4
    })
    .await;
    let texts: Vec<&str> = incoming(&msgs)
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    for i in 0..3 {
        let t = format!("пока сервер стоял {i}");
        assert_eq!(texts.iter().filter(|x| **x == t).count(), 1, "{texts:?}");
    }
    // One more after the restart proves the import runs; then everything is there once.
    deliver(
        mail,
        &letter(
            "after-1@customer.test",
            "Re: Возврат",
            "In-Reply-To: <new-1@customer.test>\r\n",
            "после",
        ),
    )
    .await;
    messages_until(s, &admin, second, "the letter after the restart", |m| {
        incoming(m).len() == 5
    })
    .await;
    assert_eq!(incoming(&messages(s, &admin, cid).await).len(), 3);
    assert_eq!(conversations(s, &admin).await.len(), 2);
}

async fn refused_sending_fails_and_a_retry_after_fixing_sends(
    s: &mut TestServer,
    mail: &MailSystem,
) {
    let admin = s.admin("Shop").await;
    let (st, inbox) = create_inbox(s, &admin, channel(mail, "wrong")).await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    deliver(
        mail,
        &letter("q-1@customer.test", "Вопрос", "", "Где заказ?"),
    )
    .await;
    let cid = id_of(&conversations_until(s, &admin, 1).await[0]);
    let reply = post_message(s, &admin, cid, "Ответ").await;
    assert_eq!(reply["status"], "progress", "{reply}");
    let failed = status_until(s, &admin, cid, id_of(&reply), "failed").await;
    let reason = failed["external_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("535") || reason.to_lowercase().contains("auth"),
        "{failed}"
    );
    // The password is fixed; the agent retries: the letter goes out.
    let path = format!(
        "/api/v1/accounts/{}/inboxes/{}",
        admin.account_id,
        id_of(&inbox)
    );
    let body = patch_channel(s, &admin, &path, json!({"smtp_password": PASSWORD})).await;
    assert!(
        body["channel_settings"].get("smtp_password").is_none(),
        "{body}"
    );
    let (st, body) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{cid}/messages/{}/retry",
                admin.account_id,
                id_of(&reply)
            ),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    status_until(s, &admin, cid, id_of(&reply), "sent").await;
    let got = mailbox(mail, CUSTOMER, 1).await;
    assert!(got[0].text.starts_with("Ответ"), "{}", got[0].text);

    // An inbox that only receives: a reply fails at once, saying why.
    let mut receive_only = channel(mail, PASSWORD);
    for k in ["smtp_address", "smtp_port", "smtp_login", "smtp_password"] {
        receive_only[k] = Value::Null;
    }
    receive_only["email"] = json!("sales@shop.test");
    receive_only["imap_login"] = json!("sales@shop.test");
    let (st, inbox2) = create_inbox(s, &admin, receive_only).await;
    assert_eq!(st, StatusCode::OK, "{inbox2}");
    mail.append(
        "sales@shop.test",
        &letter("q-2@customer.test", "Счёт", "", "Пришлите счёт"),
    )
    .await
    .expect("append");
    let convs = conversations_until(s, &admin, 2).await;
    let c2 = convs
        .iter()
        .find(|c| c["inbox_id"] == inbox2["id"])
        .map(id_of)
        .expect("the sales conversation");
    let r2 = post_message(s, &admin, c2, "Счёт во вложении").await;
    let f2 = status_until(s, &admin, c2, id_of(&r2), "failed").await;
    assert!(
        f2["external_error"]
            .as_str()
            .is_some_and(|e| e.contains("SMTP")),
        "{f2}"
    );
}

async fn bounces_fail_the_original_and_robots_get_no_auto_reply(
    s: &mut TestServer,
    mail: &MailSystem,
) {
    let admin = s.admin("Shop").await;
    let inbox = email_inbox(s, &admin, mail).await;
    deliver(
        mail,
        &letter("q-1@customer.test", "Заказ", "", "Где заказ?"),
    )
    .await;
    let cid = id_of(&conversations_until(s, &admin, 1).await[0]);
    let reply = post_message(s, &admin, cid, "Проверяем").await;
    let sent = status_until(s, &admin, cid, id_of(&reply), "sent").await;
    let our_id = sent["source_id"].as_str().expect("Message-ID").to_string();
    // The remote server bounces it later: the message turns `failed` with its words.
    let dsn = String::from_utf8_lossy(DSN).replace("0a1b2c3d@parley.shop.test", &our_id);
    deliver(mail, dsn.as_bytes()).await;
    let failed = status_until(s, &admin, cid, id_of(&reply), "failed").await;
    assert!(
        failed["external_error"]
            .as_str()
            .is_some_and(|e| e.contains("5.1.1")),
        "{failed}"
    );
    let msgs = messages(s, &admin, cid).await;
    assert_eq!(
        incoming(&msgs).len(),
        1,
        "a bounce is not a message: {msgs:?}"
    );

    // Attachments are stored with the message, named safely.
    deliver(mail, ATTACHMENTS).await;
    let convs = conversations_until(s, &admin, 2).await;
    let docs = convs
        .iter()
        .find(|c| c["additional_attributes"]["mail_subject"] == "Documents")
        .map(id_of)
        .expect("the letter with files");
    let m = messages_until(s, &admin, docs, "the files", |m| incoming(m).len() == 1).await;
    let names: Vec<&str> = incoming(&m)[0]["attachments"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["file_name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        names.contains(&"invoice.pdf") && names.contains(&"фото.png"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains('/')), "{names:?}");

    // Closed all week: a person's first letter gets the off-hours reply, a robot's none.
    let path = format!(
        "/api/v1/accounts/{}/inboxes/{}",
        admin.account_id,
        id_of(&inbox)
    );
    let closed: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    let (st, body) = s
        .patch(
            &admin.token,
            &path,
            json!({"working_hours_enabled": true, "working_hours": closed}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    deliver(mail, AUTOREPLY).await;
    deliver(
        mail,
        &letter("person-1@customer.test", "Новый вопрос", "", "Есть кто?"),
    )
    .await;
    let convs = conversations_until(s, &admin, 4).await;
    let auto_reply = |m: &[Value]| m.iter().filter(|x| x["message_type"] == 3).count();
    let person = convs
        .iter()
        .find(|c| c["additional_attributes"]["mail_subject"] == "Новый вопрос")
        .map(id_of)
        .expect("the person's conversation");
    messages_until(s, &admin, person, "the off-hours reply", |m| {
        auto_reply(m) == 1
    })
    .await;
    let robot = convs
        .iter()
        .find(|c| {
            c["additional_attributes"]["mail_subject"]
                .as_str()
                .is_some_and(|t| t.starts_with("Out of office"))
        })
        .map(id_of)
        .expect("the auto-reply's conversation");
    // The person's letter came after the robot's, and its reply is stored: the robot's
    // conversation had its chance.
    let m = messages(s, &admin, robot).await;
    assert_eq!(incoming(&m).len(), 1, "{m:?}");
    assert_eq!(
        auto_reply(&m),
        0,
        "no automatic answer to an automatic letter: {m:?}"
    );
}

/// `POST …/inboxes/test_connection`, which answers 200 whatever the outcome.
async fn check(s: &TestServer, admin: &Actor, body: Value) -> Value {
    let (st, out) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/inboxes/test_connection",
                admin.account_id
            ),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{out}");
    out
}

async fn connection_checks_status_and_bad_input(s: &mut TestServer, mail: &MailSystem) {
    let admin = s.admin("Shop").await;
    let mut wrong = channel(mail, PASSWORD);
    wrong["imap_password"] = json!("wrong");
    let out = check(s, &admin, json!({"channel": wrong})).await;
    assert_eq!(out["ok"], false, "{out}");
    assert_eq!(out["step"], "imap");
    assert_eq!(out["code"], "login_rejected");
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| m.contains("app password")),
        "{out}"
    );
    s.store()
        .update_account(admin.account_id, "Shop", "ru")
        .await
        .expect("locale");
    let out = check(s, &admin, json!({"channel": wrong})).await;
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| m.contains("пароль")),
        "{out}"
    );
    let out = check(s, &admin, json!({"channel": channel(mail, PASSWORD)})).await;
    assert_eq!(out["ok"], true, "{out}");

    // Saving does not wait for the servers: the wrong password is saved and reported.
    let (st, bad) = create_inbox(s, &admin, wrong.clone()).await;
    assert_eq!(st, StatusCode::OK, "{bad}");
    assert!(
        bad.get("imap_password").is_none()
            && bad["channel_settings"].get("imap_password").is_none(),
        "{bad}"
    );
    let path = format!(
        "/api/v1/accounts/{}/inboxes/{}",
        admin.account_id,
        id_of(&bad)
    );
    let status = status_state(s, &admin, &path, "error").await;
    assert_eq!(status["code"], "login_rejected", "{status}");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("пароль")),
        "{status}"
    );
    assert!(status["since"].as_i64().is_some(), "{status}");
    // The saved inbox is tested with its stored password filled in: still wrong…
    let bare = json!({"type": "email", "email": SHOP, "imap_address": HOST,
        "imap_port": mail.imap_port, "imap_enable_ssl": false});
    let out = check(s, &admin, json!({"channel": bare, "inbox_id": id_of(&bad)})).await;
    assert_eq!(out["code"], "login_rejected", "{out}");
    // …until it is fixed; then the runtime connects.
    patch_channel(s, &admin, &path, json!({"imap_password": PASSWORD})).await;
    let out = check(s, &admin, json!({"channel": bare, "inbox_id": id_of(&bad)})).await;
    assert_eq!(out["ok"], true, "{out}");
    status_state(s, &admin, &path, "connected").await;
    // An inbox without IMAP settings is valid but does not receive.
    let (st, send_only) = create_inbox(
        s,
        &admin,
        json!({"type": "email", "email": "sales@shop.test", "smtp_address": HOST}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{send_only}");
    assert_eq!(
        send_only["connection_status"]["state"], "not_configured",
        "{send_only}"
    );

    // Bad input: a clear 422 and nothing created.
    let list = format!("/api/v1/accounts/{}/inboxes", admin.account_id);
    let before = s.get(&admin.token, &list).await.1["payload"]
        .as_array()
        .map(Vec::len);
    for (field, value) in [
        ("imap_port", json!(70000)),
        ("smtp_port", json!("587")),
        ("imap_address", json!("imap shop.test")),
        ("smtp_address", json!("smtp://shop.test")),
        ("email", json!("not-an-address")),
        ("smtp_authentication", json!("cram-md5")),
        ("imap_enable_ssl", json!("yes")),
    ] {
        let mut c = channel(mail, PASSWORD);
        c[field] = value;
        let (st, body) = create_inbox(s, &admin, c).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    let out = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/inboxes/test_connection",
                admin.account_id
            ),
            json!({"channel": {"type": "telegram", "bot_token": "1:x"}, "inbox_id": id_of(&bad)}),
        )
        .await;
    assert_eq!(out.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", out.1);
    let after = s.get(&admin.token, &list).await.1["payload"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after);
}

/// The widget's "answer by e-mail": with an e-mail inbox that sends, the replies a website
/// visitor did not see go out through that mailbox, and the visitor's answer by e-mail
/// lands back in the website conversation. The server's clock is the test's, to pass the
/// delay before the e-mail.
mod answer_by_email {
    use std::sync::Arc;

    use parley_core::time::ManualClock;
    use parley_service::continuity::UNSEEN_REPLY_DELAY_MS;

    use super::*;
    use crate::common::ws::Visitor;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let Some(mail) = mail_system("answer_by_email") else {
            return;
        };
        let clock = Arc::new(ManualClock::new(1_796_394_600_000));
        let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
        case(&s, &clock, &mail).await;
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(mail) = mail_system("answer_by_email") else {
            return;
        };
        let clock = Arc::new(ManualClock::new(1_796_394_600_000));
        if let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await {
            case(&s, &clock, &mail).await;
            s.stop().await;
        }
    }

    async fn case(s: &TestServer, clock: &ManualClock, mail: &MailSystem) {
        let admin = s.admin("Shop").await;
        email_inbox(s, &admin, mail).await;
        let (st, site) = s
            .post(
                &admin.token,
                &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
                json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{site}");
        let v = Visitor::new(s, site["inbox_identifier"].as_str().expect("identifier")).await;
        let web = v.conversation_id;
        v.post(s, web, "Есть в наличии?").await;
        let (_, conv) = s
            .get(
                &admin.token,
                &format!("/api/v1/accounts/{}/conversations/{web}", admin.account_id),
            )
            .await;
        let contact = conv["meta"]["sender"]["id"].as_i64().expect("contact");
        let (st, body) = s
            .put(
                &admin.token,
                &format!("/api/v1/accounts/{}/contacts/{contact}", admin.account_id),
                json!({"email": CUSTOMER}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        post_message(s, &admin, web, "Да, есть.").await;
        clock.advance(UNSEEN_REPLY_DELAY_MS + 1_000);
        // The job sends it; time goes on meanwhile, so a transient failure's retry (an
        // SMTP server slow under the whole suite's load) comes due too.
        let mut raw = Vec::new();
        for _ in 0..WAIT_ROUNDS {
            raw = mail.letters(CUSTOMER).await.expect("letters");
            if !raw.is_empty() {
                break;
            }
            clock.advance(60_000);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let got = parse(
            raw.first().expect("the e-mail arrives"),
            &ParseOptions::default(),
        )
        .expect("a letter");
        assert!(got.text.contains("Да, есть."), "{}", got.text);
        assert_eq!(got.from.as_ref().map(|f| f.address.as_str()), Some(SHOP));
        let reply_to = got.reply_to.clone().expect("Reply-To").address;
        assert!(
            reply_to.starts_with(&format!("support+c{web}-")),
            "{reply_to}"
        );
        // The visitor answers the e-mail: the answer is in the website conversation.
        let answer = letter_to(
            &reply_to,
            "answer-web@customer.test",
            &got.subject,
            "",
            "Беру!",
        );
        deliver(mail, &answer).await;
        let msgs = messages_until(s, &admin, web, "the answer by e-mail", |m| {
            incoming(m).iter().any(|x| x["content"] == "Беру!")
        })
        .await;
        assert_eq!(incoming(&msgs).len(), 2, "{msgs:?}");
        assert_eq!(
            conversations(s, &admin).await.len(),
            1,
            "no conversation of its own"
        );
    }
}
