//! Archive search over HTTP (`/search`, `/search/{conversations,messages,contacts}`,
//! `/conversations/search`, `/search/status`) on both backends: Russian and English word
//! forms, ё/е and case, phone numbers in every spelling, e-mail and order-number tokens,
//! phrases, hostile input, filters, cursor pages, agents' inboxes, the index following
//! edits, deletions, contact changes and merges, the background reindex of older rows,
//! and the same answers from SQLite and PostgreSQL for the same data.

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use parley_core::time::{Clock, ManualClock};
use parley_store::conversations::fixtures;
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    word_forms_case_yo_and_snippets,
    phones_emails_and_order_numbers,
    hostile_queries_never_fail,
    filters_and_cursor_pages,
    agents_find_only_their_inboxes,
    index_follows_edits_deletions_contacts_and_merges,
    prefix_finds_every_continuation,
    conversation_search_in_one_inbox_of_every_status,
);

struct World {
    admin: Actor,
    inbox: i64,
    api_inbox: i64,
    contact: i64,
}

async fn world(s: &TestServer, name: &str) -> World {
    let admin = s.admin(name).await;
    let store = s.store();
    let (inbox, _) = fixtures::inbox(store, admin.account_id, "Site", "Channel::WebWidget")
        .await
        .unwrap();
    let (api_inbox, _) = fixtures::inbox(store, admin.account_id, "Api", "Channel::Api")
        .await
        .unwrap();
    let (contact, _, _) = fixtures::contact(store, admin.account_id, inbox, "Ivan Petrov")
        .await
        .unwrap();
    World {
        admin,
        inbox,
        api_inbox,
        contact,
    }
}

fn acct(a: &Actor) -> String {
    format!("/api/v1/accounts/{}", a.account_id)
}

/// Percent-encodes a query-string value.
fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn conversation(s: &TestServer, w: &World, inbox: i64, contact: i64) -> i64 {
    let (st, c) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations", acct(&w.admin)),
            json!({"inbox_id": inbox, "contact_id": contact}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c["id"].as_i64().unwrap()
}

async fn say(s: &TestServer, w: &World, conv: i64, body: Value) -> i64 {
    let (st, m) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{conv}/messages", acct(&w.admin)),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m["id"].as_i64().unwrap()
}

/// The ids of the message hits of `q` (extra query-string parameters in `extra`).
async fn message_ids(s: &TestServer, who: &Actor, q: &str, extra: &str) -> Vec<i64> {
    let (st, b) = s
        .get(
            &who.token,
            &format!("{}/search/messages?q={}{extra}", acct(who), enc(q)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{q}: {b}");
    ids(&b["payload"]["messages"])
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

async fn word_forms_case_yo_and_snippets(s: &TestServer) {
    let w = world(s, "Shop").await;
    let c = conversation(s, &w, w.inbox, w.contact).await;
    let delivery = say(s, &w, c, json!({"content": "Доставка курьером завтра"})).await;
    let yolka = say(s, &w, c, json!({"content": "Ёлка приедет в среду"})).await;
    let en = say(
        s,
        &w,
        c,
        json!({"content": "Deliveries are late this week"}),
    )
    .await;
    let note = say(
        s,
        &w,
        c,
        json!({"content": "Секретная заметка о доставке", "private": true}),
    )
    .await;
    let xss = say(
        s,
        &w,
        c,
        json!({"content": "<img src=x onerror=alert(1)> курьер & \"кавычки\""}),
    )
    .await;
    let a = &w.admin;
    for q in ["доставки", "ДОСТАВКУ", "доставка", "Доставкой"] {
        assert_eq!(message_ids(s, a, q, "").await, vec![note, delivery], "{q}");
    }
    for q in ["елка", "ЁЛКА", "ёлки", "Елке"] {
        assert_eq!(message_ids(s, a, q, "").await, vec![yolka], "{q}");
    }
    for q in ["delivery", "DELIVERIES", "delivered"] {
        assert_eq!(message_ids(s, a, q, "").await, vec![en], "{q}");
    }
    // Private notes are the team's: members of the account find them.
    assert_eq!(message_ids(s, a, "секретная", "").await, vec![note]);
    // Phrases: in order and adjacent.
    assert_eq!(
        message_ids(s, a, "\"доставка курьером\"", "").await,
        vec![delivery]
    );
    assert!(
        message_ids(s, a, "\"курьером доставка\"", "")
            .await
            .is_empty()
    );
    // Snippets: the hit marked, everything else escaped.
    let (_, b) = s
        .get(
            &a.token,
            &format!("{}/search/messages?q={}", acct(a), enc("доставки курьер")),
        )
        .await;
    let hit = &b["payload"]["messages"][0];
    assert_eq!(hit["id"], delivery);
    assert_eq!(
        hit["snippet"],
        "<mark>Доставка</mark> <mark>курьером</mark> завтра"
    );
    assert_eq!(hit["content"], "Доставка курьером завтра");
    assert_eq!(b["meta"]["index_complete"], true);
    let (_, b) = s
        .get(&a.token, &format!("{}/search/messages?q=курьер", acct(a)))
        .await;
    let snippet = b["payload"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == xss)
        .unwrap()["snippet"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        snippet,
        "&lt;img src=x onerror=alert(1)&gt; <mark>курьер</mark> &amp; &quot;кавычки&quot;"
    );
    // The combined route returns every kind.
    let (st, b) = s
        .get(&a.token, &format!("{}/search?q=доставки", acct(a)))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(ids(&b["payload"]["messages"]), vec![note, delivery]);
    assert_eq!(ids(&b["payload"]["conversations"]), vec![c]);
    assert_eq!(b["payload"]["contacts"], json!([]));
    // Chatwoot's conversation search: the list's shape, every status.
    let (st, b) = s
        .get(
            &a.token,
            &format!("{}/conversations/search?q=ёлка", acct(a)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(ids(&b["data"]["payload"]), vec![c]);
    // Its tab counts are exact below their limit, which the meta names (a count that
    // reaches it reads "at least"); the plain list's counts are exact and name none.
    assert_eq!(b["data"]["meta"]["all_count"], 1, "{b}");
    assert_eq!(b["data"]["meta"]["count_limit"], 50, "{b}");
    let (_, l) = s
        .get(&a.token, &format!("{}/conversations?status=all", acct(a)))
        .await;
    assert!(l["data"]["meta"]["all_count"].is_i64(), "{l}");
    assert_eq!(l["data"]["meta"]["count_limit"], Value::Null, "{l}");
    let (_, m) = s
        .get(
            &a.token,
            &format!("{}/conversations/meta?q=ёлка&status=all", acct(a)),
        )
        .await;
    assert_eq!(
        (&m["meta"]["all_count"], &m["meta"]["count_limit"]),
        (&json!(1), &json!(50)),
        "{m}"
    );
    let (_, b) = s
        .get(
            &a.token,
            &format!("{}/conversations/search?q=nothing", acct(a)),
        )
        .await;
    assert_eq!(b["data"]["payload"], json!([]));
}

async fn phones_emails_and_order_numbers(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let (st, petr) = s
        .post(
            &a.token,
            &format!("{}/contacts", acct(a)),
            json!({"name": "Пётр", "phone_number": "+7 999 123-45-67", "email": "petr.sidorov@mail.ru",
                   "custom_attributes": {"city": "Тверь", "crm": "A-77"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{petr}");
    let petr = petr["payload"]["contact"]["id"].as_i64().unwrap();
    let c = conversation(s, &w, w.inbox, petr).await;
    let phone_msg = say(
        s,
        &w,
        c,
        json!({"content": "Перезвоните: 8 (999) 123 45 67"}),
    )
    .await;
    let order = say(
        s,
        &w,
        c,
        json!({"content": "Заказ A-1234 и #55123 оплачен"}),
    )
    .await;
    let mail = say(
        s,
        &w,
        c,
        json!({"content": "Пишите на Ivan.Petrov@Mail.ru, отвечу"}),
    )
    .await;
    for q in [
        "+7 999 123-45-67",
        "89991234567",
        "9991234567",
        "+7 (999) 1234567",
    ] {
        assert_eq!(message_ids(s, a, q, "").await, vec![phone_msg], "{q}");
        let (_, b) = s
            .get(
                &a.token,
                &format!("{}/search/contacts?q={}", acct(a), enc(q)),
            )
            .await;
        assert_eq!(ids(&b["payload"]["contacts"]), vec![petr], "{q}: {b}");
        // The contacts API's own search uses the same index.
        let (_, b) = s
            .get(
                &a.token,
                &format!("{}/contacts/search?q={}", acct(a), enc(q)),
            )
            .await;
        assert_eq!(ids(&b["payload"]), vec![petr], "{q}: {b}");
        // A conversation is found by its contact's phone too.
        let (_, b) = s
            .get(
                &a.token,
                &format!("{}/search/conversations?q={}", acct(a), enc(q)),
            )
            .await;
        assert_eq!(ids(&b["payload"]["conversations"]), vec![c], "{q}: {b}");
    }
    assert!(message_ids(s, a, "9991234568", "").await.is_empty());
    for q in ["A-1234", "a1234", "A1234", "#55123", "55123", "заказ 1234"] {
        assert_eq!(message_ids(s, a, q, "").await, vec![order], "{q}");
    }
    assert!(message_ids(s, a, "A-1235", "").await.is_empty());
    for q in ["ivan.petrov@mail.ru", "IVAN.PETROV@MAIL.RU", "petrov"] {
        assert_eq!(message_ids(s, a, q, "").await, vec![mail], "{q}");
    }
    assert!(
        message_ids(s, a, "ivan.petrov@gmail.com", "")
            .await
            .is_empty()
    );
    // Contacts by e-mail, custom attributes, name with ё.
    for q in ["petr.sidorov@mail.ru", "тверь", "A-77", "петр", "ПЁТР"] {
        let (_, b) = s
            .get(
                &a.token,
                &format!("{}/search/contacts?q={}", acct(a), enc(q)),
            )
            .await;
        assert_eq!(ids(&b["payload"]["contacts"]), vec![petr], "{q}: {b}");
    }
}

async fn hostile_queries_never_fail(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let c = conversation(s, &w, w.inbox, w.contact).await;
    let m = say(s, &w, c, json!({"content": "near the door, order 42"})).await;
    for q in [
        "\"",
        "\"\"",
        "\"near",
        "(",
        ")",
        "(order",
        "NEAR(order door)",
        "near",
        "NOT",
        "AND",
        "OR",
        "*",
        "order*",
        "^order",
        ":",
        "tokens:order",
        "content:order",
        "&",
        "|",
        "!",
        "order & door",
        "order | door",
        "!order",
        "'",
        "''",
        "order'",
        "\\",
        "-order",
        "+order",
        "{order}",
        "[order]",
        "order:*",
        "<->",
        "order <-> door",
        "%",
        "_",
        ";",
        "--",
        "/* */",
        "\u{0}",
    ] {
        for route in [
            "search",
            "search/messages",
            "search/contacts",
            "search/conversations",
        ] {
            let (st, b) = s
                .get(&a.token, &format!("{}/{route}?q={}", acct(a), enc(q)))
                .await;
            assert!(
                st == StatusCode::OK || st.is_client_error(),
                "{route} {q:?}: {st} {b}"
            );
        }
    }
    // Operators are only separators: the words are still found.
    for q in [
        "NEAR(order door)",
        "order & door",
        "order*",
        "order:*",
        "(order)",
    ] {
        assert_eq!(message_ids(s, a, q, "").await, vec![m], "{q}");
    }
    // Bounds and bad parameters: a clear 422, and nothing changed.
    let base = format!("{}/search/messages", acct(a));
    for (path, field) in [
        (base.clone(), "q"),
        (format!("{base}?q="), "q"),
        (format!("{base}?q={}", "a".repeat(257)), "q"),
        (
            format!(
                "{base}?q={}",
                enc(&(0..33)
                    .map(|i| format!("w{i}"))
                    .collect::<Vec<_>>()
                    .join(" "))
            ),
            "q",
        ),
        (format!("{base}?q=order&limit=0"), "limit"),
        (format!("{base}?q=order&limit=51"), "limit"),
        (format!("{base}?q=order&since=yesterday"), "since"),
        (format!("{base}?q=order&until=2026-13-01"), "until"),
        (format!("{base}?q=order&cursor=abc"), "cursor"),
        (format!("{base}?q=order&status=closed"), "status"),
        (format!("{}/search?q=order&cursor=5", acct(a)), "cursor"),
    ] {
        let (st, b) = s.get(&a.token, &path).await;
        assert_error(st, &b, 422, "invalid_field");
        assert!(b.to_string().contains(field), "{path}: {b}");
    }
    let (st, b) = s.get(&a.token, &format!("{base}?q=order&inbox_id=x")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(message_ids(s, a, "order", "").await, vec![m]);
}

async fn filters_and_cursor_pages(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let site = conversation(s, &w, w.inbox, w.contact).await;
    let api = conversation(s, &w, w.api_inbox, w.contact).await;
    let mut site_ids = Vec::new();
    for n in 1..=5 {
        site_ids.push(say(s, &w, site, json!({"content": format!("заказ номер {n}")})).await);
    }
    let api_msg = say(s, &w, api, json!({"content": "заказы через API"})).await;
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{api}/toggle_status", acct(a)),
            json!({"status": "resolved"}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{site}/labels", acct(a)),
            json!({"labels": ["vip"]}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let mut newest_first: Vec<i64> = site_ids.iter().rev().copied().collect();
    newest_first.insert(0, api_msg);
    assert_eq!(message_ids(s, a, "заказ", "").await, newest_first);
    assert_eq!(
        message_ids(s, a, "заказ", &format!("&inbox_id={}", w.api_inbox)).await,
        vec![api_msg]
    );
    assert_eq!(
        message_ids(s, a, "заказ", "&channel=Channel::Api").await,
        vec![api_msg]
    );
    assert_eq!(
        message_ids(s, a, "заказ", "&status=resolved").await,
        vec![api_msg]
    );
    assert_eq!(
        message_ids(s, a, "заказ", "&status=open").await,
        newest_first[1..].to_vec()
    );
    assert_eq!(
        message_ids(s, a, "заказ", "&labels[]=vip").await,
        newest_first[1..].to_vec()
    );
    assert!(
        message_ids(s, a, "заказ", "&until=1970-01-02")
            .await
            .is_empty()
    );
    assert_eq!(
        message_ids(s, a, "заказ", "&since=1970-01-01").await,
        newest_first
    );
    assert!(
        message_ids(s, a, "заказ", "&since=2999-01-01")
            .await
            .is_empty()
    );
    assert!(message_ids(s, a, "заказ", "&team_id=999").await.is_empty());
    assert!(
        message_ids(s, a, "заказ", "&assignee_id=999999")
            .await
            .is_empty()
    );

    // Cursor pages of two, newest first, nothing skipped or repeated.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let extra = match &cursor {
            Some(c) => format!("&limit=2&cursor={c}"),
            None => "&limit=2".into(),
        };
        let (st, b) = s
            .get(
                &a.token,
                &format!("{}/search/messages?q=заказ{extra}", acct(a)),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        let page = ids(&b["payload"]["messages"]);
        assert!(page.len() <= 2);
        seen.extend(page);
        match b["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);
    // Phrase pages the same way.
    let (_, b) = s
        .get(
            &a.token,
            &format!(
                "{}/search/messages?q={}&limit=2",
                acct(a),
                enc("\"заказ номер\"")
            ),
        )
        .await;
    assert_eq!(ids(&b["payload"]["messages"]), newest_first[1..3].to_vec());
    assert!(b["meta"]["next_cursor"].is_string());
}

async fn agents_find_only_their_inboxes(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let (other_contact, _, _) =
        fixtures::contact(s.store(), a.account_id, w.api_inbox, "Ольга Доставкина")
            .await
            .unwrap();
    let site = conversation(s, &w, w.inbox, w.contact).await;
    let api = conversation(s, &w, w.api_inbox, other_contact).await;
    let hidden = say(s, &w, site, json!({"content": "доставка на сайте"})).await;
    let visible = say(s, &w, api, json!({"content": "доставка через API"})).await;
    let agent = s.member(a.account_id, "Maria", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.api_inbox, agent.user_id)
        .await
        .unwrap();
    assert_eq!(
        message_ids(s, a, "доставка", "").await,
        vec![visible, hidden]
    );
    assert_eq!(message_ids(s, &agent, "доставка", "").await, vec![visible]);
    // Naming the hidden inbox does not widen anything.
    assert!(
        message_ids(s, &agent, "доставка", &format!("&inbox_id={}", w.inbox))
            .await
            .is_empty()
    );
    let (_, b) = s
        .get(&agent.token, &format!("{}/search?q=ivan", acct(&agent)))
        .await;
    assert_eq!(b["payload"]["contacts"], json!([]), "{b}");
    assert_eq!(b["payload"]["conversations"], json!([]), "{b}");
    let (_, b) = s
        .get(&a.token, &format!("{}/search/contacts?q=ivan", acct(a)))
        .await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![w.contact]);
    let (_, b) = s
        .get(
            &agent.token,
            &format!("{}/search/contacts?q=ольга", acct(&agent)),
        )
        .await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![other_contact]);
    let (_, b) = s
        .get(
            &agent.token,
            &format!("{}/search/conversations?q=доставка", acct(&agent)),
        )
        .await;
    assert_eq!(ids(&b["payload"]["conversations"]), vec![api]);
    // An agent of no inbox finds nothing; another account's admin neither.
    let none = s.member(a.account_id, "Nobody", Role::Agent).await;
    assert!(message_ids(s, &none, "доставка", "").await.is_empty());
    let other = s.admin("Other").await;
    assert!(message_ids(s, &other, "доставка", "").await.is_empty());
    let (st, b) = s
        .get(
            &other.token,
            &format!("{}/search/messages?q=доставка", acct(a)),
        )
        .await;
    assert!(st.is_client_error(), "{st} {b}");
}

async fn index_follows_edits_deletions_contacts_and_merges(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let c = conversation(s, &w, w.inbox, w.contact).await;
    let m = say(s, &w, c, json!({"content": "старый текст про посылку"})).await;
    let base = format!("{}/conversations/{c}/messages/{m}", acct(a));
    let (st, b) = s
        .patch(
            &a.token,
            &base,
            json!({"content": "новый текст про бандероль"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert!(message_ids(s, a, "посылка", "").await.is_empty());
    assert_eq!(message_ids(s, a, "бандероли", "").await, vec![m]);
    let (st, b) = s.delete(&a.token, &base).await;
    assert!(st.is_success(), "{b}");
    assert!(message_ids(s, a, "бандероль", "").await.is_empty());
    assert!(message_ids(s, a, "deleted", "").await.is_empty());

    // Conversation attributes: found by their values, old values forgotten.
    let conversations = |q: &str| format!("{}/search/conversations?q={}", acct(a), enc(q));
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{c}/custom_attributes", acct(a)),
            json!({"custom_attributes": {"order_id": "ZX-9001", "city": "Самара"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    for q in ["ZX-9001", "zx9001", "самаре"] {
        let (_, b) = s.get(&a.token, &conversations(q)).await;
        assert_eq!(ids(&b["payload"]["conversations"]), vec![c], "{q}: {b}");
    }
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{c}/custom_attributes", acct(a)),
            json!({"custom_attributes": {"order_id": "QW-1"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, b) = s.get(&a.token, &conversations("ZX-9001")).await;
    assert_eq!(b["payload"]["conversations"], json!([]), "{b}");
    let (_, b) = s.get(&a.token, &conversations("QW-1")).await;
    assert_eq!(ids(&b["payload"]["conversations"]), vec![c], "{b}");

    // Contacts: an update replaces the tokens; a merge removes the mergee's.
    let contacts = |q: &str| format!("{}/search/contacts?q={}", acct(a), enc(q));
    let (st, b) = s
        .patch(
            &a.token,
            &format!("{}/contacts/{}", acct(a), w.contact),
            json!({"name": "Иван Сидоров", "phone_number": "+7 912 000-11-22"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, b) = s.get(&a.token, &contacts("petrov")).await;
    assert_eq!(b["payload"]["contacts"], json!([]), "{b}");
    let (_, b) = s.get(&a.token, &contacts("89120001122")).await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![w.contact]);
    let (_, mergee) = s
        .post(
            &a.token,
            &format!("{}/contacts", acct(a)),
            json!({"name": "Дубликат Клиента", "email": "dup@shop.test"}),
        )
        .await;
    let mergee = mergee["payload"]["contact"]["id"].as_i64().unwrap();
    let (_, b) = s.get(&a.token, &contacts("дубликат")).await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![mergee]);
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/actions/contact_merge", acct(a)),
            json!({"base_contact_id": w.contact, "mergee_contact_id": mergee}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // The base took the mergee's e-mail (it had none); the mergee is gone from the index.
    let (_, b) = s.get(&a.token, &contacts("dup@shop.test")).await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![w.contact], "{b}");
    let (_, b) = s.get(&a.token, &contacts("дубликат")).await;
    assert_eq!(b["payload"]["contacts"], json!([]), "{b}");
}

/// Rows written while the index was empty (as after the migration on an existing
/// database) are found once the background job has indexed them; until then searches
/// say the index is incomplete.
async fn background_reindex(s: TestServer, clock: Arc<ManualClock>) {
    let w = world(&s, "Shop").await;
    let a = &w.admin;
    let c = conversation(&s, &w, w.inbox, w.contact).await;
    let mut ids_written = Vec::new();
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{c}/custom_attributes", acct(a)),
            json!({"custom_attributes": {"order_id": "RX-77"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // More than two reindex batches.
    for n in 0..1_105 {
        ids_written.push(
            say(
                &s,
                &w,
                c,
                json!({"content": format!("архивная доставка {n}")}),
            )
            .await,
        );
    }
    // The periodic job has run since the start and waits for the clock to move: then
    // empty the index, as the migration leaves it, and rewind the job's position.
    loop {
        let jobs = s.store().pending_jobs("search_reindex").await.unwrap();
        if jobs.len() == 1 && jobs[0].run_at > clock.now_ms() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.store().restart_reindex().await.unwrap();
    let (st, b) = s
        .get(&a.token, &format!("{}/search/messages?q=доставка", acct(a)))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["meta"]["index_complete"], false, "{b}");
    let (_, status) = s.get(&a.token, &format!("{}/search/status", acct(a))).await;
    assert_eq!(status["index_complete"], false, "{status}");
    // Time moves: the job runs in slices until every older row is indexed.
    loop {
        clock.advance(2_000);
        let (_, status) = s.get(&a.token, &format!("{}/search/status", acct(a))).await;
        if status["index_complete"] == true {
            assert_eq!(status["progress"], 1.0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = message_ids(&s, a, "доставка 7", "&limit=50").await;
    assert_eq!(found, vec![ids_written[7]]);
    // SQLite: on a database whose rows are all indexed, migration 0722 leaves the older
    // rows without their inbox tokens; the same job writes them, after which an inbox
    // filter is matched in the index, and it still finds the message.
    s.store().restart_inbox_tokens().await.unwrap();
    let mut slices = 0;
    while s.store().backend() == parley_store::Backend::Sqlite
        && !s.store().inbox_tokens_complete().await.unwrap()
    {
        slices += 1;
        assert!(
            slices < 2_000,
            "the inbox tokens of older rows were never written"
        );
        clock.advance(2_000);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = message_ids(&s, a, "доставка 7", &format!("&inbox_id={}", w.inbox)).await;
    assert_eq!(found, vec![ids_written[7]]);
    let (_, b) = s
        .get(
            &a.token,
            &format!("{}/search/messages?q=доставка&limit=50", acct(a)),
        )
        .await;
    assert_eq!(b["meta"]["index_complete"], true);
    assert_eq!(ids(&b["payload"]["messages"]).len(), 50);
    assert_eq!(
        ids(&b["payload"]["messages"])[0],
        *ids_written.last().unwrap()
    );
    let (_, b) = s
        .get(&a.token, &format!("{}/search/contacts?q=ivan", acct(a)))
        .await;
    assert_eq!(ids(&b["payload"]["contacts"]), vec![w.contact]);
    let (_, b) = s
        .get(
            &a.token,
            &format!("{}/search/conversations?q=rx-77", acct(a)),
        )
        .await;
    assert_eq!(ids(&b["payload"]["conversations"]), vec![c], "{b}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_background_reindex() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
    background_reindex(s, clock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_background_reindex() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
        return;
    };
    background_reindex(s, clock).await;
}

/// The same data and queries on SQLite and PostgreSQL give the same hits in the same
/// order: the tokens and the query are Rust's on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_results_on_both_backends() {
    let sqlite = TestServer::sqlite().await;
    let Some(pg) = TestServer::postgres().await else {
        sqlite.stop().await;
        return;
    };
    let texts = [
        "Доставка курьером завтра",
        "доставки не будет",
        "Ёлочные игрушки",
        "Deliveries delayed, sorry",
        "Звоните +7 (999) 123-45-67",
        "Заказ A-1234, трек RA123456789RU",
        "Пишите на ivan.petrov@mail.ru",
        "café crème brûlée",
        "iPhone15 и iPhone 15",
        "деловая переписка",
    ];
    let queries = [
        "доставка",
        "ДОСТАВКИ",
        "елочн",
        "delivery",
        "89991234567",
        "123-45-67",
        "a-1234",
        "ra123456789ru",
        "ivan.petrov@mail.ru",
        "cafe",
        "café",
        "iphone15",
        "15",
        "дел",
        "\"доставка курьером\"",
        "NEAR(доставка)",
    ];
    let mut answers = Vec::new();
    for s in [&sqlite, &pg] {
        let w = world(s, "Shop").await;
        let c = conversation(s, &w, w.inbox, w.contact).await;
        let mut written = Vec::new();
        for t in texts {
            written.push(say(s, &w, c, json!({"content": t})).await);
        }
        let mut per_query = Vec::new();
        for q in queries {
            // Positions in `texts`, so the two databases' ids need not agree.
            let found: Vec<usize> = message_ids(s, &w.admin, q, "")
                .await
                .into_iter()
                .map(|id| written.iter().position(|x| *x == id).unwrap())
                .collect();
            per_query.push((q, found));
        }
        answers.push(per_query);
    }
    assert_eq!(answers[0], answers[1]);
    // And the answers are the intended ones, not just equal.
    let get = |q: &str| answers[0].iter().find(|(x, _)| *x == q).unwrap().1.clone();
    assert_eq!(get("доставка"), vec![1, 0]);
    assert_eq!(get("89991234567"), vec![4]);
    assert_eq!(get("cafe"), Vec::<usize>::new());
    assert_eq!(get("café"), vec![7]);
    assert_eq!(get("дел"), vec![9]);
    assert_eq!(get("\"доставка курьером\""), vec![0]);
    sqlite.stop().await;
    pg.stop().await;
}

/// The last word matches as the start of a word on both backends, however SQLite answers
/// it (an OR of the vocabulary's terms, or FTS5's own prefix query past
/// `MAX_PREFIX_TERMS` of them): the same hits as the reference says.
async fn prefix_finds_every_continuation(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let c = conversation(s, &w, w.inbox, w.contact).await;
    let customer = say(s, &w, c, json!({"content": "Заказчик приехал"})).await;
    let placed = say(s, &w, c, json!({"content": "заказ оформлен"})).await;
    let ordering = say(s, &w, c, json!({"content": "заказывали вчера"})).await;
    let other = say(s, &w, c, json!({"content": "доставка оформлена"})).await;
    assert_eq!(
        message_ids(s, a, "заказ", "").await,
        vec![ordering, placed, customer]
    );
    assert_eq!(message_ids(s, a, "заказчик", "").await, vec![customer]);
    // Other words and the prefix together: every word, the last one as a prefix.
    assert_eq!(message_ids(s, a, "оформлен заказ", "").await, vec![placed]);
    assert_eq!(message_ids(s, a, "оформлен", "").await, vec![other, placed]);
    assert!(message_ids(s, a, "заказх", "").await.is_empty());
    // More continuations than SQLite spells out: still every one found.
    let many: Vec<String> = (0..80)
        .map(|n| {
            format!(
                "zeta{}{}",
                char::from(b'a' + (n / 26) as u8),
                char::from(b'a' + (n % 26) as u8)
            )
        })
        .collect();
    let wide = say(s, &w, c, json!({"content": many.join(" ")})).await;
    let single = say(s, &w, c, json!({"content": "zetazz"})).await;
    assert_eq!(message_ids(s, a, "zeta", "").await, vec![single, wide]);
    assert_eq!(message_ids(s, a, "zetab", "").await, vec![wide]);
    assert_eq!(message_ids(s, a, "zetazz", "").await, vec![single]);
    // A contact's name by its beginning, through the conversation search.
    let (st, b) = s
        .get(
            &a.token,
            &format!("{}/search/conversations?q=petr", acct(a)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(ids(&b["payload"]["conversations"]), vec![c]);
}

/// The conversation search filtered to one inbox, without a status (the list's `q` with
/// `status=all`, which SQLite now walks by `conversations_inbox_recent`): that inbox's
/// conversations of every status and nothing else.
async fn conversation_search_in_one_inbox_of_every_status(s: &TestServer) {
    let w = world(s, "Shop").await;
    let a = &w.admin;
    let old = conversation(s, &w, w.inbox, w.contact).await;
    let elsewhere = conversation(s, &w, w.api_inbox, w.contact).await;
    let newer = conversation(s, &w, w.inbox, w.contact).await;
    let silent = conversation(s, &w, w.inbox, w.contact).await;
    say(s, &w, old, json!({"content": "где мой заказ"})).await;
    say(s, &w, elsewhere, json!({"content": "заказ через API"})).await;
    say(s, &w, newer, json!({"content": "заказы пришли"})).await;
    say(s, &w, silent, json!({"content": "просто привет"})).await;
    let (st, b) = s
        .post(
            &a.token,
            &format!("{}/conversations/{old}/toggle_status", acct(a)),
            json!({"status": "resolved"}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    // Both of the inbox, the resolved one too; not the other inbox's, not the silent one.
    let (st, b) = s
        .get(
            &a.token,
            &format!(
                "{}/search/conversations?q={}&inbox_id={}",
                acct(a),
                enc("заказ"),
                w.inbox
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let found = ids(&b["payload"]["conversations"]);
    assert_eq!(
        {
            let mut f = found.clone();
            f.sort_unstable();
            f
        },
        vec![old, newer],
        "{b}"
    );
    let (st, b) = s
        .get(
            &a.token,
            &format!(
                "{}/conversations?status=all&q={}&inbox_id={}",
                acct(a),
                enc("заказ"),
                w.api_inbox
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(ids(&b["data"]["payload"]), vec![elsewhere], "{b}");
    // Without a word: the inbox's whole list, every status.
    let (st, b) = s
        .get(
            &a.token,
            &format!("{}/conversations?status=all&inbox_id={}", acct(a), w.inbox),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let mut all = ids(&b["data"]["payload"]);
    all.sort_unstable();
    assert_eq!(all, vec![old, newer, silent], "{b}");
}
