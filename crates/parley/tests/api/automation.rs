//! Automation rules and macros (issue 16): the `/automation_rules` and `/macros` APIs (CRUD,
//! roles, bad input, bounds), every condition attribute (through the dry run, which
//! evaluates exactly what the engine evaluates), the engine on real events (the shop
//! owner's examples: «оплата» to payments, the off-hours auto-reply), every action, loop
//! prevention, and macros run by agents.

use std::time::Duration;

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::smtp::SmtpSink;
use crate::common::{Actor, TestServer, assert_error};

both_backends!(
    rules_crud_roles_and_bad_input,
    every_condition_by_dry_run,
    payments_rule_routes_by_stemmed_keyword,
    off_hours_auto_reply,
    actions_on_conversation_events,
    status_actions_and_opened_event,
    rules_never_loop,
    macros_crud_visibility_and_execute,
);

/// An account with an API inbox, an agent in it, a Payments team with that agent, and a
/// contact.
pub(crate) struct Shop {
    pub(crate) admin: Actor,
    pub(crate) agent: Actor,
    pub(crate) inbox_id: i64,
    pub(crate) team_id: i64,
    pub(crate) contact_id: i64,
}

impl Shop {
    pub(crate) fn base(&self) -> String {
        format!("/api/v1/accounts/{}", self.admin.account_id)
    }
}

pub(crate) async fn shop(s: &TestServer) -> Shop {
    let admin = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let t = admin.token.as_str();
    let agent = s.member(admin.account_id, "Maria", Role::Agent).await;
    let (st, inbox) = s
        .post(
            t,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success(), "{st} {inbox}");
    let inbox_id = inbox["id"].as_i64().expect("inbox");
    let (st, v) = s
        .post(
            t,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [agent.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    let (st, team) = s
        .post(t, &format!("{base}/teams"), json!({"name": "Payments"}))
        .await;
    assert!(st.is_success(), "{st} {team}");
    let team_id = team["id"].as_i64().expect("team");
    let (st, v) = s
        .post(
            t,
            &format!("{base}/teams/{team_id}/team_members"),
            json!({"user_ids": [agent.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    let (st, c) = s
        .post(
            t,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "email": "ivan@buyer.test", "inbox_id": inbox_id,
                   "additional_attributes": {"country_code": "RU", "city": "Kazan"},
                   "custom_attributes": {"plan": "gold"}}),
        )
        .await;
    assert!(st.is_success(), "{st} {c}");
    Shop {
        contact_id: c["payload"]["contact"]["id"].as_i64().expect("contact"),
        admin,
        agent,
        inbox_id,
        team_id,
    }
}

pub(crate) async fn new_conversation(s: &TestServer, w: &Shop, extra: Value) -> i64 {
    let mut body = json!({"inbox_id": w.inbox_id, "contact_id": w.contact_id});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let (st, c) = s
        .post(&w.admin.token, &format!("{}/conversations", w.base()), body)
        .await;
    assert!(st.is_success(), "{st} {c}");
    c["id"].as_i64().expect("id")
}

pub(crate) async fn incoming(s: &TestServer, w: &Shop, d: i64, text: &str) {
    let (st, m) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{d}/messages", w.base()),
            json!({"content": text, "message_type": "incoming"}),
        )
        .await;
    assert!(st.is_success(), "{st} {m}");
}

async fn rule(s: &TestServer, w: &Shop, body: Value) -> Value {
    let (st, r) = s
        .post(
            &w.admin.token,
            &format!("{}/automation_rules", w.base()),
            body,
        )
        .await;
    assert!(st.is_success(), "create rule: {st} {r}");
    r
}

async fn show(s: &TestServer, w: &Shop, d: i64) -> Value {
    let (st, c) = s
        .get(&w.admin.token, &format!("{}/conversations/{d}", w.base()))
        .await;
    assert!(st.is_success(), "{st} {c}");
    c
}

pub(crate) async fn messages(s: &TestServer, w: &Shop, d: i64) -> Vec<Value> {
    let (st, m) = s
        .get(
            &w.admin.token,
            &format!("{}/conversations/{d}/messages", w.base()),
        )
        .await;
    assert!(st.is_success(), "{st} {m}");
    m["payload"].as_array().cloned().unwrap_or_default()
}

async fn labels(s: &TestServer, w: &Shop, d: i64) -> Vec<String> {
    let (_, l) = s
        .get(
            &w.admin.token,
            &format!("{}/conversations/{d}/labels", w.base()),
        )
        .await;
    l["payload"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `probe` until it returns something (the engine works in the background).
pub(crate) async fn until<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let mut n = 0u64;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        n += 1;
        if n.is_multiple_of(400) {
            eprintln!("still waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Activity lines of a conversation that name `who`.
fn lines_naming(msgs: &[Value], who: &str) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["message_type"] == 2)
        .filter_map(|m| m["content"].as_str())
        .filter(|c| c.contains(who))
        .map(String::from)
        .collect()
}

/// A rule that labels a conversation `barrier` when a message says "barrier": once the
/// label is there, the engine has passed every earlier event.
async fn barrier_rule(s: &TestServer, w: &Shop) {
    rule(
        s,
        w,
        json!({"name": "Barrier", "event_name": "message_created",
               "conditions": [{"attribute_key": "content", "filter_operator": "contains", "values": ["barrier"]}],
               "actions": [{"action_name": "add_label", "action_params": ["barrier"]}]}),
    )
    .await;
}

async fn pass_barrier(s: &TestServer, w: &Shop, d: i64) {
    incoming(s, w, d, "barrier").await;
    until("the barrier", || async {
        labels(s, w, d)
            .await
            .contains(&"barrier".to_string())
            .then_some(())
    })
    .await;
}

async fn rules_crud_roles_and_bad_input(s: &TestServer) {
    let w = shop(s).await;
    let t = w.admin.token.as_str();
    let url = format!("{}/automation_rules", w.base());
    let good = json!({
        "name": "Оплата", "description": "Payments questions", "event_name": "message_created",
        "conditions": [
            {"attribute_key": "content", "filter_operator": "contains", "values": ["оплата"], "query_operator": "and"},
            {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"]}
        ],
        "actions": [{"action_name": "assign_team", "action_params": [w.team_id]},
                    {"action_name": "add_label", "action_params": ["payments"]}]
    });
    let r = rule(s, &w, good.clone()).await;
    let id = r["id"].as_i64().expect("id");
    assert_eq!(r["name"], "Оплата");
    assert_eq!(r["event_name"], "message_created");
    assert_eq!(r["active"], true);
    assert_eq!(r["account_id"], w.admin.account_id);
    assert_eq!(r["conditions"][0]["values"], json!(["оплата"]));
    assert_eq!(r["actions"][1]["action_params"], json!(["payments"]));
    assert!(r["created_on"].as_i64().is_some());

    let (st, list) = s.get(t, &url).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["payload"].as_array().map(Vec::len), Some(1));
    let (st, one) = s.get(t, &format!("{url}/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["payload"]["id"], id);
    let (st, up) = s
        .patch(
            t,
            &format!("{url}/{id}"),
            json!({"active": false, "name": "Payments"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["payload"]["active"], false);
    assert_eq!(up["payload"]["name"], "Payments");
    assert_eq!(
        up["payload"]["conditions"], r["conditions"],
        "untouched fields stay"
    );
    let (st, copy) = s.post(t, &format!("{url}/{id}/clone"), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{copy}");
    let copy_id = copy["payload"]["id"].as_i64().expect("copy");
    assert_ne!(copy_id, id);
    assert_eq!(copy["payload"]["actions"], up["payload"]["actions"]);
    let (st, _) = s.delete(t, &format!("{url}/{copy_id}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get(t, &format!("{url}/{copy_id}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Agents may not see or change rules.
    let a = w.agent.token.as_str();
    let (st, body) = s.get(a, &url).await;
    assert_error(st, &body, 403, "forbidden");
    let (st, body) = s.post(a, &url, good.clone()).await;
    assert_error(st, &body, 403, "forbidden");

    // Bad input: a clear 422 naming what is wrong, and nothing stored.
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, needle) in [
        (
            with("event_name", json!("message_deleted")),
            "unknown event",
        ),
        (
            with(
                "conditions",
                json!([{"attribute_key": "shoe_size", "filter_operator": "equal_to", "values": ["42"]}]),
            ),
            "unknown attribute_key",
        ),
        (
            with(
                "conditions",
                json!([{"attribute_key": "status", "filter_operator": "contains", "values": ["open"]}]),
            ),
            "does not apply",
        ),
        (
            with(
                "conditions",
                json!([{"attribute_key": "content", "filter_operator": "contains", "values": ["x"], "query_operator": "xor"}]),
            ),
            "query_operator",
        ),
        (with("conditions", json!([])), "at least one condition"),
        (
            with(
                "actions",
                json!([{"action_name": "launch_rocket", "action_params": []}]),
            ),
            "unknown action_name",
        ),
        (
            with(
                "actions",
                json!([{"action_name": "assign_team", "action_params": [987654]}]),
            ),
            "no team",
        ),
        (
            with(
                "actions",
                json!([{"action_name": "change_priority", "action_params": ["asap"]}]),
            ),
            "priority",
        ),
        (
            with(
                "actions",
                json!([{"action_name": "send_webhook_event", "action_params": ["ftp://x"]}]),
            ),
            "send_webhook_event",
        ),
        (with("name", json!("  ")), "name"),
        (
            with(
                "conditions",
                Value::Array(vec![
                    json!({"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]});
                    21
                ]),
            ),
            "at most 20",
        ),
    ] {
        let (st, v) = s.post(t, &url, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
    for bad in [
        json!([]),
        json!({"name": "x"}),
        json!({"conditions": "status"}),
    ] {
        let (st, v) = s.post(t, &url, bad.clone()).await;
        assert!(st.is_client_error(), "{bad}: {st} {v}");
    }
    let (_, after) = s.get(t, &url).await;
    assert_eq!(
        after["payload"].as_array().map(Vec::len),
        Some(1),
        "{after}"
    );

    // At most 100 rules per account.
    for i in 1..100 {
        let (st, v) = s.post(t, &url, with("name", json!(format!("r{i}")))).await;
        assert!(st.is_success(), "{i}: {st} {v}");
    }
    let (st, v) = s.post(t, &url, with("name", json!("one too many"))).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 100")
    );
}

/// Every condition attribute and operator kind, through the dry run (the engine's own
/// evaluation, without waiting for events): each matches the conversation it should and
/// not the other one.
async fn every_condition_by_dry_run(s: &TestServer) {
    let w = shop(s).await;
    let t = w.admin.token.as_str();
    // The other contact: nothing in common with Ivan.
    let (_, other) = s
        .post(
            t,
            &format!("{}/contacts", w.base()),
            json!({"name": "Olga", "email": "olga@else.test", "inbox_id": w.inbox_id,
                   "additional_attributes": {"country_code": "KZ"}}),
        )
        .await;
    let olga = other["payload"]["contact"]["id"].as_i64().expect("olga");
    let hit = new_conversation(
        s,
        &w,
        json!({"additional_attributes": {"browser_language": "ru-RU", "referer": "https://ya.ru/search",
                 "page_url": "https://shop.example/cart", "utm": {"source": "yandex", "medium": "cpc",
                 "campaign": "winter", "term": "boots", "content": "banner"}},
               "custom_attributes": {"order": "A-17"}, "team_id": w.team_id, "assignee_id": w.agent.user_id}),
    )
    .await;
    incoming(s, &w, hit, "Не могу оплатить заказ").await;
    let (st, v) = s
        .post(
            t,
            &format!("{}/conversations/{hit}/labels", w.base()),
            json!({"labels": ["vip"]}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = s
        .post(
            t,
            &format!("{}/conversations/{hit}/toggle_priority", w.base()),
            json!({"priority": "high"}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, miss) = s
        .post(
            t,
            &format!("{}/conversations", w.base()),
            json!({"inbox_id": w.inbox_id, "contact_id": olga,
                   "additional_attributes": {"browser_language": "en-US"}}),
        )
        .await;
    assert!(st.is_success(), "{miss}");
    let miss = miss["id"].as_i64().expect("miss");
    incoming(s, &w, miss, "Where is my parcel?").await;
    let (st, v) = s
        .post(
            t,
            &format!("{}/conversations/{miss}/toggle_status", w.base()),
            json!({"status": "resolved"}),
        )
        .await;
    assert!(st.is_success(), "{v}");

    let c = |k: &str, op: &str, v: Value| json!({"attribute_key": k, "filter_operator": op, "values": v});
    let cases = vec![
        (
            "message_created",
            vec![c("content", "contains", json!(["оплата"]))],
        ),
        (
            "message_created",
            vec![c("content", "starts_with", json!(["не могу"]))],
        ),
        (
            "message_created",
            vec![
                c("content", "does_not_contain", json!(["parcel"])),
                c("message_type", "equal_to", json!(["incoming"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("inbox_id", "equal_to", json!([w.inbox_id])),
                c("status", "equal_to", json!(["open"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("channel_type", "equal_to", json!(["api"])),
                c("team_id", "equal_to", json!([w.team_id])),
            ],
        ),
        (
            "conversation_updated",
            vec![c("assignee_id", "is_present", json!([]))],
        ),
        (
            "conversation_updated",
            vec![c("priority", "equal_to", json!(["high"]))],
        ),
        (
            "conversation_updated",
            vec![c("labels", "equal_to", json!(["vip"]))],
        ),
        (
            "conversation_updated",
            vec![c("browser_language", "starts_with", json!(["ru"]))],
        ),
        (
            "conversation_updated",
            vec![c("referer", "contains", json!(["ya.ru"]))],
        ),
        (
            "conversation_updated",
            vec![c("page_url", "contains", json!(["/cart"]))],
        ),
        (
            "conversation_updated",
            vec![
                c("utm_source", "equal_to", json!(["yandex"])),
                c("utm_medium", "equal_to", json!(["cpc"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("utm_campaign", "equal_to", json!(["winter"])),
                c("utm_term", "equal_to", json!(["boots"])),
                c("utm_content", "equal_to", json!(["banner"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("country_code", "equal_to", json!(["ru"])),
                c("city", "equal_to", json!(["Kazan"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("email", "contains", json!(["@buyer.test"])),
                c("name", "equal_to", json!(["Ivan"])),
            ],
        ),
        (
            "conversation_updated",
            vec![
                json!({"attribute_key": "plan", "filter_operator": "equal_to", "values": ["gold"], "custom_attribute_type": "contact_attribute"}),
            ],
        ),
        (
            "conversation_updated",
            vec![
                json!({"attribute_key": "order", "filter_operator": "starts_with", "values": ["A-"], "custom_attribute_type": "conversation_attribute"}),
            ],
        ),
        (
            "conversation_updated",
            vec![
                c("working_hours", "equal_to", json!([true])),
                c("status", "not_equal_to", json!(["resolved"])),
            ],
        ),
        // OR: (miss's status AND a fact miss lacks) OR a fact only hit has.
        (
            "conversation_updated",
            vec![
                json!({"attribute_key": "status", "filter_operator": "equal_to", "values": ["resolved"], "query_operator": "and"}),
                json!({"attribute_key": "labels", "filter_operator": "equal_to", "values": ["vip"], "query_operator": "or"}),
                c("priority", "is_present", json!([])),
            ],
        ),
    ];
    for (event, conditions) in cases {
        let (st, v) = s
            .post(
                t,
                &format!("{}/automation_rules/dry_run", w.base()),
                json!({"event_name": event, "conditions": conditions}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let ids: Vec<i64> = v["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .filter_map(|m| m["id"].as_i64())
            .collect();
        assert_eq!(ids, vec![hit], "{conditions:?} matched {v}");
        assert_eq!(v["checked"], 2);
    }
    // The inverse: a condition only the other conversation meets.
    let (_, v) = s
        .post(
            t,
            &format!("{}/automation_rules/dry_run", w.base()),
            json!({"event_name": "conversation_resolved", "conditions": [c("status", "equal_to", json!(["resolved"])), c("country_code", "equal_to", json!(["KZ"]))]}),
        )
        .await;
    assert_eq!(v["matches"][0]["id"], miss, "{v}");
    assert_eq!(v["matches"].as_array().map(Vec::len), Some(1));
    // Bad input is a 422; agents are refused.
    let (st, v) = s
        .post(t, &format!("{}/automation_rules/dry_run", w.base()),
            json!({"event_name": "message_created", "conditions": [c("nope", "equal_to", json!(["x"]))]}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = s
        .post(&w.agent.token, &format!("{}/automation_rules/dry_run", w.base()),
            json!({"event_name": "message_created", "conditions": [c("status", "equal_to", json!(["open"]))]}))
        .await;
    assert_error(st, &v, 403, "forbidden");
}

/// The shop owner's example: a customer writes about paying («оплатить», «оплату»), the
/// conversation goes to Payments with a label, and the activity lines name the rule. A
/// message about something else is left alone.
async fn payments_rule_routes_by_stemmed_keyword(s: &TestServer) {
    let w = shop(s).await;
    rule(
        s,
        &w,
        json!({"name": "Оплата", "event_name": "message_created",
               "conditions": [
                   {"attribute_key": "content", "filter_operator": "contains", "values": ["оплата", "payment"], "query_operator": "and"},
                   {"attribute_key": "message_type", "filter_operator": "equal_to", "values": ["incoming"]}],
               "actions": [{"action_name": "assign_team", "action_params": [w.team_id]},
                           {"action_name": "add_label", "action_params": ["payments"]}]}),
    )
    .await;
    barrier_rule(s, &w).await;
    let other = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, other, "Где мой заказ?").await;
    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "Не могу оплатить заказ картой").await;
    let c = until("the Payments team", || async {
        let c = show(s, &w, d).await;
        (c["meta"]["team"]["id"] == w.team_id).then_some(c)
    })
    .await;
    assert_eq!(c["meta"]["team"]["name"], "Payments");
    let l = until("the label", || async {
        let l = labels(s, &w, d).await;
        l.contains(&"payments".to_string()).then_some(l)
    })
    .await;
    assert_eq!(l, vec!["payments".to_string()]);
    let named = until("the activity lines", || async {
        let named = lines_naming(&messages(s, &w, d).await, "«Оплата»");
        (named.len() >= 2).then_some(named)
    })
    .await;
    assert!(
        named
            .iter()
            .any(|l| l == "Automation rule «Оплата»: assign team Payments")
            && named.iter().any(|l| l.contains("add label payments")),
        "{named:?}"
    );
    pass_barrier(s, &w, other).await;
    let c = show(s, &w, other).await;
    assert!(c["meta"]["team"].is_null(), "{c}");
    assert_eq!(labels(s, &w, other).await, vec!["barrier".to_string()]);
}

/// The shop owner's second example: when the inbox is closed (working hours, here closed
/// all week), a new conversation gets an automatic reply, marked as the rule's.
async fn off_hours_auto_reply(s: &TestServer) {
    let w = shop(s).await;
    let week: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    let (st, v) = s
        .patch(
            &w.admin.token,
            &format!("{}/inboxes/{}", w.base(), w.inbox_id),
            json!({"working_hours_enabled": true, "timezone": "Europe/Moscow", "working_hours": week}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let r = rule(
        s,
        &w,
        json!({"name": "Нерабочее время", "event_name": "conversation_created",
               "conditions": [{"attribute_key": "working_hours", "filter_operator": "equal_to", "values": [false]}],
               "actions": [{"action_name": "send_message", "action_params": ["Мы ответим утром, в 9:00."]}]}),
    )
    .await;
    let rule_id = r["id"].as_i64().expect("id");
    let d = new_conversation(s, &w, json!({})).await;
    let reply = until("the auto-reply", || async {
        messages(s, &w, d)
            .await
            .into_iter()
            .find(|m| m["content"] == "Мы ответим утром, в 9:00.")
    })
    .await;
    assert_eq!(reply["content_attributes"]["automation_rule_id"], rule_id);
    assert_eq!(reply["private"], false);
    assert_ne!(
        reply["message_type"], 2,
        "a message to the customer, not an activity line"
    );
}

/// A receiver of the rules' webhooks on loopback.
async fn receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let got: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let g = g.clone();
        async move {
            let sig = headers
                .get("x-parley-signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            g.lock()
                .expect("lock")
                .push((sig, String::from_utf8_lossy(&body).into_owned()));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/rule-hook"), got)
}

/// Every action but the status ones, on `conversation_created` and `conversation_updated`:
/// assign agent, add and remove labels, priority, a message, a private note, an e-mail to
/// the team, a webhook (through the webhook machine, signed), each with its activity line.
async fn actions_on_conversation_events(s: &TestServer) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    // This test needs outgoing mail: a server of its own on the same backend.
    let s2 = if s.pg_database.is_some() {
        TestServer::postgres_with(|c| c.smtp_url = Some(url.as_str().into())).await
    } else {
        Some(TestServer::sqlite_with(|c| c.smtp_url = Some(url.as_str().into())).await)
    };
    let s = s2.as_ref().expect("server");
    let w = shop(s).await;
    let (hook, got) = receiver().await;
    rule(
        s,
        &w,
        json!({"name": "New chat", "event_name": "conversation_created",
               "conditions": [{"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": [w.inbox_id]}],
               "actions": [
                   {"action_name": "assign_agent", "action_params": [w.agent.user_id]},
                   {"action_name": "add_label", "action_params": ["new", "web"]},
                   {"action_name": "change_priority", "action_params": ["urgent"]},
                   {"action_name": "add_private_note", "action_params": ["Check the order first"]},
                   {"action_name": "send_email_to_team", "action_params": [{"message": "A new chat is waiting", "team_ids": [w.team_id]}]},
                   {"action_name": "send_webhook_event", "action_params": [hook]}]}),
    )
    .await;
    rule(
        s,
        &w,
        json!({"name": "Urgent", "event_name": "conversation_updated",
               "conditions": [{"attribute_key": "labels", "filter_operator": "equal_to", "values": ["escalate"]}],
               "actions": [{"action_name": "remove_label", "action_params": ["web"]},
                           {"action_name": "send_message", "action_params": ["A senior agent is on it."]}]}),
    )
    .await;
    let d = new_conversation(s, &w, json!({})).await;
    let c = until("the agent", || async {
        let c = show(s, &w, d).await;
        (c["meta"]["assignee"]["id"] == w.agent.user_id && c["priority"] == "urgent").then_some(c)
    })
    .await;
    assert_eq!(c["priority"], "urgent");
    let hooks = until("the webhook", || async {
        let g = got.lock().expect("lock").clone();
        (!g.is_empty()).then_some(g)
    })
    .await;
    let body: Value = serde_json::from_str(&hooks[0].1).expect("json");
    assert_eq!(body["event"], "automation_event");
    assert_eq!(body["id"], d);
    assert!(
        hooks[0].0.starts_with("sha256="),
        "signed: {:?}",
        hooks[0].0
    );
    // The rule's receiver is the rule's, not one of the account's webhooks.
    let (_, listed) = s
        .get(&w.admin.token, &format!("{}/webhooks", w.base()))
        .await;
    assert_eq!(listed["payload"]["webhooks"], json!([]), "{listed}");
    let mail = sink.next().await;
    assert_eq!(mail.to, vec![w.agent.email.clone()]);
    assert!(
        mail.text().contains("A new chat is waiting"),
        "{}",
        mail.text()
    );
    let msgs = until("the note", || async {
        let m = messages(s, &w, d).await;
        m.iter()
            .any(|m| m["content"] == "Check the order first" && m["private"] == true)
            .then_some(m)
    })
    .await;
    let named = lines_naming(&msgs, "«New chat»");
    for needle in [
        "assign agent Maria",
        "add label new, web",
        "change priority urgent",
        "send email to team",
        "send webhook event",
    ] {
        assert!(
            named.iter().any(|l| l.contains(needle)),
            "{needle}: {named:?}"
        );
    }
    let mut l = labels(s, &w, d).await;
    l.sort();
    assert_eq!(l, vec!["new".to_string(), "web".to_string()]);

    // An update that meets the second rule's condition.
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{d}/labels", w.base()),
            json!({"labels": ["new", "web", "escalate"]}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    until("the escalation reply", || async {
        messages(s, &w, d)
            .await
            .iter()
            .any(|m| m["content"] == "A senior agent is on it.")
            .then_some(())
    })
    .await;
    let mut l = until("web removed", || async {
        let l = labels(s, &w, d).await;
        (!l.contains(&"web".to_string())).then_some(l)
    })
    .await;
    l.sort();
    assert_eq!(l, vec!["escalate".to_string(), "new".to_string()]);
    if let Some(s2) = s2 {
        s2.stop().await;
    }
}

/// Status actions: snooze on a keyword, resolve, mute, change status; and the
/// `conversation_opened` event when a conversation opens again.
async fn status_actions_and_opened_event(s: &TestServer) {
    let w = shop(s).await;
    let msg_rule = |name: &str, word: &str, action: Value| {
        json!({"name": name, "event_name": "message_created",
               "conditions": [{"attribute_key": "content", "filter_operator": "contains", "values": [word]}],
               "actions": [action]})
    };
    rule(
        s,
        &w,
        msg_rule(
            "Snooze",
            "later",
            json!({"action_name": "snooze_conversation", "action_params": [3600]}),
        ),
    )
    .await;
    rule(
        s,
        &w,
        msg_rule(
            "Thanks",
            "thanks",
            json!({"action_name": "resolve_conversation", "action_params": []}),
        ),
    )
    .await;
    rule(
        s,
        &w,
        msg_rule(
            "Spam",
            "casino",
            json!({"action_name": "mute_conversation", "action_params": []}),
        ),
    )
    .await;
    rule(
        s,
        &w,
        msg_rule(
            "Wait",
            "checking",
            json!({"action_name": "change_status", "action_params": ["pending"]}),
        ),
    )
    .await;
    rule(
        s,
        &w,
        json!({"name": "Welcome back", "event_name": "conversation_opened",
               "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}],
               "actions": [{"action_name": "add_label", "action_params": ["reopened"]}]}),
    )
    .await;
    for (text, want) in [
        ("call me later please", "snoozed"),
        ("thanks, bye", "resolved"),
        ("best casino bonus", "resolved"),
        ("I am checking", "pending"),
    ] {
        let d = new_conversation(s, &w, json!({})).await;
        incoming(s, &w, d, text).await;
        until(want, || async {
            (show(s, &w, d).await["status"] == want).then_some(())
        })
        .await;
        if want == "snoozed" {
            assert!(show(s, &w, d).await["snoozed_until"].as_i64().is_some());
        }
        if text.contains("casino") {
            // Muted, not only resolved: the contact's next message does not reopen it.
            until("muted", || async {
                (show(s, &w, d).await["muted"] == true).then_some(())
            })
            .await;
            incoming(s, &w, d, "hello?").await;
            assert_eq!(show(s, &w, d).await["status"], "resolved");
        }
    }
    // A resolved conversation opened again triggers `conversation_opened`.
    let d = new_conversation(s, &w, json!({})).await;
    for st in ["resolved", "open"] {
        let (code, v) = s
            .post(
                &w.admin.token,
                &format!("{}/conversations/{d}/toggle_status", w.base()),
                json!({"status": st}),
            )
            .await;
        assert!(code.is_success(), "{v}");
    }
    until("the reopened label", || async {
        labels(s, &w, d)
            .await
            .contains(&"reopened".to_string())
            .then_some(())
    })
    .await;
}

/// A rule's own changes never trigger rules: a `conversation_updated` rule that changes
/// the conversation, and a `message_created` rule that sends a message, run once each.
async fn rules_never_loop(s: &TestServer) {
    let w = shop(s).await;
    let r1 = rule(
        s,
        &w,
        json!({"name": "Echo", "event_name": "message_created",
               "conditions": [{"attribute_key": "content", "filter_operator": "is_present", "values": []}],
               "actions": [{"action_name": "send_message", "action_params": ["We got your message"]}]}),
    )
    .await;
    let r2 = rule(
        s,
        &w,
        json!({"name": "Touch", "event_name": "conversation_updated",
               "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}],
               "actions": [{"action_name": "add_label", "action_params": ["touched"]},
                           {"action_name": "change_priority", "action_params": ["low"]},
                           {"action_name": "assign_team", "action_params": [w.team_id]}]}),
    )
    .await;
    // Changes the conversation and changes it back: were its own events to trigger rules,
    // it would run for ever.
    rule(
        s,
        &w,
        json!({"name": "Flip", "event_name": "conversation_updated",
               "conditions": [{"attribute_key": "priority", "filter_operator": "is_present", "values": []}],
               "actions": [{"action_name": "add_label", "action_params": ["flip"]},
                           {"action_name": "remove_label", "action_params": ["flip"]}]}),
    )
    .await;
    barrier_rule(s, &w).await;
    let d = new_conversation(s, &w, json!({})).await;
    incoming(s, &w, d, "hello").await;
    let (st, v) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{d}/toggle_priority", w.base()),
            json!({"priority": "high"}),
        )
        .await;
    assert!(st.is_success(), "{v}");
    until("the rule's changes", || async {
        let c = show(s, &w, d).await;
        (c["priority"] == "low" && c["meta"]["team"]["id"] == w.team_id).then_some(())
    })
    .await;
    pass_barrier(s, &w, d).await;
    let msgs = messages(s, &w, d).await;
    let echoes = msgs
        .iter()
        .filter(|m| m["content_attributes"]["automation_rule_id"] == r1["id"])
        .count();
    // One echo for "hello" and one for "barrier", none for the echoes themselves.
    assert_eq!(echoes, 2, "{msgs:?}");
    let touches = lines_naming(&msgs, "«Touch»")
        .iter()
        .filter(|l| l.contains("change priority"))
        .count();
    assert_eq!(touches, 1, "the update rule ran once: {msgs:?}");
    let flips = lines_naming(&msgs, "«Flip»")
        .iter()
        .filter(|l| l.contains("add label flip"))
        .count();
    assert_eq!(flips, 1, "the flip rule ran once: {msgs:?}");
    assert!(r2["id"].is_i64());
}

async fn macros_crud_visibility_and_execute(s: &TestServer) {
    let w = shop(s).await;
    let url = format!("{}/macros", w.base());
    let other_agent = s.member(w.admin.account_id, "Oleg", Role::Agent).await;
    let d = new_conversation(s, &w, json!({})).await;

    // An agent's macro is personal whatever it asks for.
    let (st, m) = s
        .post(
            &w.agent.token,
            &url,
            json!({"name": "Close politely", "visibility": "global",
                   "actions": [{"action_name": "send_message", "action_params": ["Спасибо, всего доброго!"]},
                               {"action_name": "add_label", "action_params": ["done"]},
                               {"action_name": "resolve_conversation", "action_params": []}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["payload"]["visibility"], "personal");
    assert_eq!(m["payload"]["created_by"]["id"], w.agent.user_id);
    let id = m["payload"]["id"].as_i64().expect("id");
    let (st, global) = s
        .post(
            &w.admin.token,
            &url,
            json!({"name": "Escalate", "visibility": "global",
                   "actions": [{"action_name": "change_priority", "action_params": ["urgent"]}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{global}");
    let gid = global["payload"]["id"].as_i64().expect("gid");
    let (_, mine) = s.get(&w.agent.token, &url).await;
    assert_eq!(mine["payload"].as_array().map(Vec::len), Some(2), "{mine}");
    let (_, theirs) = s.get(&other_agent.token, &url).await;
    assert_eq!(
        theirs["payload"].as_array().map(Vec::len),
        Some(1),
        "{theirs}"
    );
    let (st, _) = s.get(&other_agent.token, &format!("{url}/{id}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .patch(
            &other_agent.token,
            &format!("{url}/{gid}"),
            json!({"name": "Mine now"}),
        )
        .await;
    assert_error(st, &v, 403, "forbidden");
    let (st, v) = s
        .patch(
            &w.agent.token,
            &format!("{url}/{id}"),
            json!({"name": "Close nicely"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["payload"]["name"], "Close nicely");

    // Bad input.
    for bad in [
        json!({"name": "x", "actions": [{"action_name": "send_email_to_team", "action_params": [{"message": "m", "team_ids": [w.team_id]}]}]}),
        json!({"name": "x", "actions": []}),
        json!({"name": "", "actions": [{"action_name": "resolve_conversation"}]}),
        json!({"name": "x", "visibility": "team", "actions": [{"action_name": "resolve_conversation"}]}),
    ] {
        let (st, v) = s.post(&w.agent.token, &url, bad.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    for bad in [
        json!({"conversation_ids": []}),
        json!({"conversation_ids": "1"}),
        json!({}),
    ] {
        let (st, v) = s
            .post(&w.agent.token, &format!("{url}/{id}/execute"), bad.clone())
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    // An agent outside the inbox cannot run it on the conversation.
    let (st, v) = s
        .post(
            &other_agent.token,
            &format!("{url}/{gid}/execute"),
            json!({"conversation_ids": [d]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(
        show(s, &w, d).await["priority"],
        Value::Null,
        "nothing changed"
    );

    // Run: every action, in order, each line naming the macro.
    let (st, v) = s
        .post(
            &w.agent.token,
            &format!("{url}/{id}/execute"),
            json!({"conversation_ids": [d.to_string()]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let c = show(s, &w, d).await;
    assert_eq!(c["status"], "resolved");
    assert_eq!(labels(s, &w, d).await, vec!["done".to_string()]);
    let msgs = messages(s, &w, d).await;
    assert!(
        msgs.iter()
            .any(|m| m["content"] == "Спасибо, всего доброго!"
                && m["content_attributes"]["macro_id"] == id)
    );
    let named = lines_naming(&msgs, "«Close nicely»");
    assert!(
        named.iter().any(|l| l.contains("add label done")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m["message_type"] == 2
            && m["content"]
                .as_str()
                .unwrap_or_default()
                .contains("resolved by Maria (macro «Close nicely»)")),
        "{msgs:?}"
    );

    let (st, _) = s.delete(&w.agent.token, &format!("{url}/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::GET,
            Some(&w.agent.token),
            &format!("{url}/{id}"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
