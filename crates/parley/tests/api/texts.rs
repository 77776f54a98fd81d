//! Parley's own texts in the inbox's language, through the API on both backends: the
//! off-hours reply and the managers' e-mail in Russian (manual clock), every template
//! rendered in both languages with no English left in the Russian ones, overrides used and
//! reset, the widget told the inbox's language, and bad input refused with nothing changed.

use crate::common;

use std::sync::Arc;

use common::ws::{Visitor, api_inbox};
use common::{Actor, TestServer};
use parley_core::time::{ManualClock, SharedClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    templates_list_preview_override_and_reset,
    bad_template_input_is_refused_and_changes_nothing,
    russian_templates_have_no_english_words,
    widget_gets_the_inbox_language,
);

/// Saturday 2026-12-05 12:00 in Europe/Moscow (09:00 UTC).
const SATURDAY_NOON_MSK: i64 = 1_796_461_200_000;

fn inbox_path(admin: &Actor, id: i64) -> String {
    format!("/api/v1/accounts/{}/inboxes/{id}", admin.account_id)
}

async fn templates(s: &TestServer, admin: &Actor, id: i64) -> Value {
    let (st, list) = s
        .get(
            &admin.token,
            &format!("{}/templates", inbox_path(admin, id)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{list}");
    list
}

fn template<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["payload"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("no template {id} in {list}"))
}

async fn preview(s: &TestServer, admin: &Actor, inbox: i64, body: Value) -> (StatusCode, Value) {
    s.post(
        &admin.token,
        &format!("{}/templates/preview", inbox_path(admin, inbox)),
        body,
    )
    .await
}

/// Words of Latin letters in `text` that are not addresses, links or allowed names: what
/// must not appear in a Russian text.
fn english_words(text: &str) -> Vec<String> {
    const ALLOWED: &[&str] = &["Parley"];
    text.split_whitespace()
        .filter(|w| !(w.contains("://") || w.contains('@')))
        .flat_map(|w| {
            w.split(|c: char| !c.is_ascii_alphabetic())
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|w| !ALLOWED.contains(&w.as_str()))
        .collect()
}

async fn templates_list_preview_override_and_reset(s: &TestServer) {
    let admin = s.admin("Магазин").await;
    let (id, _) = api_inbox(s, &admin, "Сайт").await;
    let list = templates(s, &admin, id).await;
    assert_eq!(list["locale_source"], "account", "{list}");
    let reply = template(&list, "offhours_reply");
    assert_eq!(reply["variables"], json!(["next_open", "inbox_name"]));
    assert!(
        reply["defaults"]["ru"]
            .as_str()
            .unwrap()
            .contains("Ответим, когда откроемся")
    );
    assert_eq!(reply["overrides"], json!({}));

    // The inbox chooses Russian; previews use it.
    let (st, inbox) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"locale": "ru"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    assert_eq!(inbox["locale"], "ru");
    let (st, p) = preview(s, &admin, id, json!({"id": "offhours_reply"})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["locale"], "ru");
    assert_eq!(
        p["text"],
        "Сейчас мы не работаем. Ответим, когда откроемся: чт, 03.12 в 09:00. Ваше сообщение сохранено."
    );
    // An unsaved edit is previewed with the example values.
    let (st, p) = preview(
        s,
        &admin,
        id,
        json!({"id": "csat_survey", "text": "Как вам помогли в «{{inbox_name}}»?"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["text"], "Как вам помогли в «Сайт»?");

    // Saved, it is listed and used (the survey goes out with the inbox's wording).
    let (st, body) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"text_templates": {"ru": {"csat_survey": "Оцените нас, пожалуйста"}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(
        body["channel_settings"].get("text_templates").is_none(),
        "{body}"
    );
    let list = templates(s, &admin, id).await;
    assert_eq!(list["locale"], "ru");
    assert_eq!(list["locale_source"], "inbox");
    assert_eq!(
        template(&list, "csat_survey")["overrides"],
        json!({"ru": "Оцените нас, пожалуйста"})
    );
    let (_, p) = preview(s, &admin, id, json!({"id": "csat_survey"})).await;
    assert_eq!(p["text"], "Оцените нас, пожалуйста");
    let (_, p) = preview(s, &admin, id, json!({"id": "csat_survey", "locale": "en"})).await;
    assert_eq!(
        p["text"], "Please rate the conversation",
        "English untouched"
    );

    // Reset: the default is back.
    let (st, _) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"text_templates": {"ru": {"csat_survey": null}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let list = templates(s, &admin, id).await;
    assert_eq!(template(&list, "csat_survey")["overrides"], json!({}));
    let (_, p) = preview(s, &admin, id, json!({"id": "csat_survey"})).await;
    assert_eq!(p["text"], "Пожалуйста, оцените разговор");

    // Back to the account's language.
    let (_, inbox) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"locale": null}),
        )
        .await;
    assert!(inbox["locale"].is_null(), "{inbox}");
    assert_eq!(templates(s, &admin, id).await["locale_source"], "account");

    // Agents cannot read or change the texts.
    let agent = s
        .member(admin.account_id, "Мария", parley_core::Role::Agent)
        .await;
    let (st, _) = s
        .get(
            &agent.token,
            &format!("{}/templates", inbox_path(&admin, id)),
        )
        .await;
    assert!(
        st == StatusCode::FORBIDDEN || st == StatusCode::NOT_FOUND,
        "{st}"
    );
}

async fn bad_template_input_is_refused_and_changes_nothing(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (id, _) = api_inbox(s, &admin, "Site").await;
    let (st, _) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"locale": "ru", "text_templates": {"ru": {"offhours_tail": "Откроемся {{next_open}}"}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let before = templates(s, &admin, id).await;
    let (_, inbox_before) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    let long = "я".repeat(4_001);
    for body in [
        json!({"locale": "de"}),
        json!({"locale": 5}),
        json!({"text_templates": {"ru": {"no_such_template": "Привет"}}}),
        json!({"text_templates": {"ru": {"csat_survey": "Оцените, {{contact}}"}}}),
        json!({"text_templates": {"ru": {"csat_survey": long}}}),
        json!({"text_templates": {"ru": {"csat_survey": "   "}}}),
        json!({"text_templates": {"de": {"csat_survey": "Bitte"}}}),
        json!({"text_templates": {"ru": {"csat_survey": 1}}}),
        json!({"text_templates": "Привет"}),
        // A valid change next to a bad one: nothing of the request is applied.
        json!({"name": "Renamed", "text_templates": {"ru": {"csat_survey": "Оцените", "sla_alert_body": "{{nope}}"}}}),
    ] {
        let (st, err) = s
            .patch(&admin.token, &inbox_path(&admin, id), body.clone())
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert!(err["error"]["message"].is_string(), "{err}");
    }
    for body in [
        json!({"id": "no_such_template"}),
        json!({"id": "csat_survey", "text": "{{contact}}"}),
        json!({"id": "csat_survey", "text": long}),
        json!({"id": "csat_survey", "locale": "fr"}),
    ] {
        let (st, err) = preview(s, &admin, id, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
    }
    let (st, _) = preview(s, &admin, 999_999, json!({"id": "csat_survey"})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(templates(s, &admin, id).await, before);
    let (_, inbox_after) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    assert_eq!(inbox_after, inbox_before);
}

async fn russian_templates_have_no_english_words(s: &TestServer) {
    let admin = s.admin("Магазин").await;
    let (id, _) = api_inbox(s, &admin, "Магазин").await;
    let list = templates(s, &admin, id).await;
    let ids: Vec<String> = list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 12, "{ids:?}");
    for tid in &ids {
        for locale in ["ru", "en"] {
            let (st, p) = preview(s, &admin, id, json!({"id": tid, "locale": locale})).await;
            assert_eq!(st, StatusCode::OK, "{tid} {locale}: {p}");
            let text = p["text"].as_str().unwrap();
            assert!(!text.trim().is_empty(), "{tid} {locale}");
            assert!(!text.contains("{{"), "{tid} {locale}: {text}");
            if locale == "ru" {
                let english = english_words(text);
                assert!(english.is_empty(), "{tid}: English {english:?} in {text:?}");
            } else {
                assert!(
                    !text.chars().any(|c| ('а'..='я')
                        .contains(&c.to_lowercase().next().unwrap_or(c))
                        && !"Магазин".contains(c)),
                    "{tid}: Russian in the English text {text:?}"
                );
            }
        }
    }
}

async fn widget_gets_the_inbox_language(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let token = inbox["website_token"].as_str().unwrap().to_string();
    let id = inbox["id"].as_i64().unwrap();
    let public = |s: &TestServer| {
        let url = s.url(&format!("/public/api/v1/inboxes/{token}"));
        let http = s.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            assert!(r.status().is_success());
            r.json::<Value>().await.unwrap()
        }
    };
    assert!(public(s).await["locale"].is_null());
    let (st, _) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"locale": "ru"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(public(s).await["locale"], "ru");
}

// --- with a manual clock --------------------------------------------------------------------

async fn clock_server(backend: usize, clock: SharedClock, smtp: String) -> Option<TestServer> {
    let tune = |c: &mut parley::Config| c.smtp_url = Some(smtp.as_str().into());
    match backend {
        0 => Some(TestServer::sqlite_clock(clock, tune).await),
        _ => TestServer::postgres_clock(clock, tune).await,
    }
}

/// An inbox open Monday to Friday 9–18 in Moscow, writing in `locale`.
async fn weekday_inbox(s: &TestServer, admin: &Actor, locale: &str, extra: Value) -> (i64, String) {
    let (id, ident) = api_inbox(s, admin, "Магазин").await;
    let week: Vec<Value> = (0..7)
        .map(|d| {
            if (1..=5).contains(&d) {
                json!({"day_of_week": d, "open_hour": 9, "close_hour": 18})
            } else {
                json!({"day_of_week": d, "closed_all_day": true})
            }
        })
        .collect();
    let mut body = json!({"working_hours_enabled": true, "timezone": "Europe/Moscow",
        "working_hours": week, "locale": locale});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (st, b) = s.patch(&admin.token, &inbox_path(admin, id), body).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    (id, ident)
}

async fn template_replies(s: &TestServer, admin: &Actor, id: i64) -> Vec<String> {
    let (_, msgs) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{id}/messages",
                admin.account_id
            ),
        )
        .await;
    msgs["payload"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["message_type"] == 3)
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_reply_and_manager_mail_in_russian() {
    for backend in 0..2 {
        let sink = common::smtp::SmtpSink::start().await;
        let clock = Arc::new(ManualClock::new(SATURDAY_NOON_MSK));
        let Some(s) = clock_server(backend, clock.clone(), sink.url()).await else {
            continue;
        };
        // An English account with a Russian inbox: the inbox's language wins.
        let admin = s.admin("Shop").await;
        let (_, inbox) = weekday_inbox(
            &s,
            &admin,
            "ru",
            json!({"offhours_notify_emails": ["boss@shop.test"]}),
        )
        .await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Где мой заказ?").await;
        let mail = sink.next().await;
        assert_eq!(
            mail.subject(),
            "[Parley] Вопрос вне рабочего времени в «Магазин» от Visitor"
        );
        let text = mail.text();
        assert!(text.contains("Вопрос: Где мой заказ?"), "{text}");
        assert!(text.contains("пн, 07.12 в 09:00 (Europe/Moscow)"), "{text}");
        let english: Vec<String> = english_words(&text)
            .into_iter()
            .filter(|w| !["Visitor", "Europe", "Moscow"].contains(&w.as_str()))
            .collect();
        assert!(english.is_empty(), "{english:?} in {text}");
        let replies = template_replies(&s, &admin, v.conversation_id).await;
        assert_eq!(
            replies,
            vec![
                "Сейчас мы не работаем. Ответим, когда откроемся: пн, 07.12 в 09:00. Ваше сообщение сохранено."
                    .to_string()
            ]
        );

        // The inbox's own out-of-office message gets the Russian line about the opening,
        // and an override of the reply is used.
        let (id, ident) = weekday_inbox(
            &s,
            &admin,
            "ru",
            json!({"out_of_office_message": "Мы отдыхаем."}),
        )
        .await;
        let v2 = Visitor::new(&s, &ident).await;
        v2.post(&s, v2.conversation_id, "Есть кто?").await;
        let replies = template_replies(&s, &admin, v2.conversation_id).await;
        assert_eq!(
            replies,
            vec!["Мы отдыхаем.\nОтветим, когда откроемся: пн, 07.12 в 09:00.".to_string()]
        );
        let (st, _) = s
            .patch(
                &admin.token,
                &inbox_path(&admin, id),
                json!({"out_of_office_message": "", "text_templates": {"ru": {"offhours_reply": "Закрыто до {{next_open}}."}}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let v3 = Visitor::new(&s, &ident).await;
        v3.post(&s, v3.conversation_id, "Алло").await;
        let replies = template_replies(&s, &admin, v3.conversation_id).await;
        assert_eq!(replies, vec!["Закрыто до пн, 07.12 в 09:00.".to_string()]);

        // An English inbox of the same account keeps English.
        let (_, en) = weekday_inbox(&s, &admin, "en", json!({})).await;
        let v4 = Visitor::new(&s, &en).await;
        v4.post(&s, v4.conversation_id, "Hello?").await;
        let replies = template_replies(&s, &admin, v4.conversation_id).await;
        assert_eq!(
            replies,
            vec![
                "We are closed right now. We will answer when we open: Mon 07.12 at 09:00. Your message is saved."
                    .to_string()
            ]
        );
        s.stop().await;
    }
}
