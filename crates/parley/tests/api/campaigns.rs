//! Proactive invitations (issue 16): the `/campaigns` API (CRUD, roles, bad input, one-off
//! campaigns refused), the server's checks before a widget shows an invitation (disabled,
//! page URL, working hours, agent capacity, the visitor's period), the reply that starts a
//! routed conversation with the campaign and the invitation first, the counters (shown,
//! accepted, converted), and the `webwidget_triggered` webhook.

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Actor, TestServer, assert_error};
use crate::webhooks::Receiver;

both_backends!(
    crud_roles_and_bad_input,
    server_checks_before_showing,
    reply_starts_routed_conversation_with_the_campaign,
    webwidget_triggered_reaches_webhooks,
);

/// An account with a website inbox and an agent who works it.
struct Site {
    admin: Actor,
    agent: Actor,
    inbox_id: i64,
    token: String,
}

impl Site {
    fn base(&self) -> String {
        format!("/api/v1/accounts/{}", self.admin.account_id)
    }
}

async fn site(s: &TestServer) -> Site {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Maria", Role::Agent).await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("{base}/inboxes"),
            json!({"name": "Shop", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let inbox_id = inbox["id"].as_i64().expect("id");
    let (st, v) = s
        .post(
            &admin.token,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [agent.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    Site {
        token: inbox["website_token"].as_str().expect("token").to_string(),
        admin,
        agent,
        inbox_id,
    }
}

/// Makes the agent available for routing without a console connection.
async fn set_online(s: &TestServer, w: &Site) {
    let (st, body) = s
        .patch(
            &w.admin.token,
            &format!("{}/agents/{}", w.base(), w.agent.user_id),
            json!({"availability_status": "online", "auto_offline": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn create(s: &TestServer, w: &Site, body: Value) -> Value {
    let (st, c) = s
        .post(&w.admin.token, &format!("{}/campaigns", w.base()), body)
        .await;
    assert_eq!(st, StatusCode::OK, "create campaign: {c}");
    c
}

async fn campaign(s: &TestServer, w: &Site, id: i64) -> Value {
    let (st, c) = s
        .get(&w.admin.token, &format!("{}/campaigns/{id}", w.base()))
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

async fn list(s: &TestServer, w: &Site) -> Vec<Value> {
    let (st, l) = s
        .get(&w.admin.token, &format!("{}/campaigns", w.base()))
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    l.as_array().cloned().expect("a list")
}

/// A new visitor of the site through the Client API; their `source_id`.
async fn visitor(s: &TestServer, w: &Site) -> String {
    crate::widget_assets::visitor(s, &w.token).await
}

async fn trigger(s: &TestServer, w: &Site, visitor: &str, id: i64, page: &str) -> Value {
    let (st, a) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{visitor}/campaigns/{id}/trigger",
                w.token
            ),
            Some(json!({"page_url": page})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "trigger: {a}");
    a
}

fn reason(a: &Value) -> &str {
    assert_eq!(a["show"], false, "{a}");
    a["reason"].as_str().expect("a reason")
}

async fn crud_roles_and_bad_input(s: &TestServer) {
    let w = site(s).await;
    let url = format!("{}/campaigns", w.base());
    let t = w.admin.token.as_str();

    // Chatwoot's clients wrap the fields in `campaign`.
    let c = create(
        s,
        &w,
        json!({"campaign": {"title": "Cart help", "message": "Need help with your order?",
               "inbox_id": w.inbox_id, "sender_id": w.agent.user_id,
               "trigger_rules": {"url": "*/cart*", "time_on_page": 10, "exit_intent": true}}}),
    )
    .await;
    let id = c["id"].as_i64().expect("id");
    assert_eq!(c["campaign_type"], "ongoing");
    assert_eq!(c["enabled"], true);
    assert_eq!(c["inbox_id"], w.inbox_id);
    // The inbox and the sender are whole objects, as Chatwoot renders them.
    assert_eq!(c["inbox"]["id"], w.inbox_id);
    assert_eq!(c["inbox"]["channel_type"], "Channel::WebWidget", "{c}");
    assert!(c["inbox"]["name"].is_string(), "{c}");
    assert_eq!(c["sender"]["id"], w.agent.user_id);
    assert_eq!(c["sender"]["role"], "agent", "{c}");
    assert!(c["sender"]["available_name"].is_string(), "{c}");
    let (_, listed) = s.get(t, &url).await;
    assert_eq!(listed[0]["inbox"], c["inbox"], "{listed}");
    assert_eq!(listed[0]["sender"], c["sender"], "{listed}");
    assert_eq!(c["trigger_only_during_business_hours"], false);
    assert_eq!(c["only_when_agents_available"], true);
    assert_eq!(c["show_again_after_days"], 30);
    assert_eq!(
        c["trigger_rules"],
        json!({"url": "*/cart*", "time_on_page": 10, "exit_intent": true})
    );
    for k in ["shown_count", "accepted_count", "converted_count"] {
        assert_eq!(c[k], 0, "{k}");
    }
    assert_eq!(list(s, &w).await.len(), 1);
    assert_eq!(campaign(s, &w, id).await["title"], "Cart help");

    // Changes: fields left out keep their values; the sender can be cleared.
    let (st, u) = s
        .patch(
            t,
            &format!("{url}/{id}"),
            json!({"enabled": false, "sender_id": null, "show_again_after_days": 7,
                   "trigger_rules": {"pages_viewed": 3, "returning_visitor": true, "utm_source": "yandex",
                                     "time_on_site": 60}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{u}");
    assert_eq!(u["enabled"], false);
    assert_eq!(u["campaign_status"], "completed");
    assert!(u["sender_id"].is_null(), "{u}");
    assert_eq!(u["title"], "Cart help");
    assert_eq!(u["show_again_after_days"], 7);
    assert_eq!(u["trigger_rules"]["utm_source"], "yandex");

    // The widget gets only enabled campaigns.
    let (_, inbox) = s
        .call(
            Method::GET,
            None,
            &format!("/public/api/v1/inboxes/{}", w.token),
            None,
        )
        .await;
    assert_eq!(inbox["campaigns"], json!([]), "{inbox}");

    // Agents may not read or change campaigns.
    let (st, b) = s.get(&w.agent.token, &url).await;
    assert_error(st, &b, 403, "forbidden");
    let (st, b) = s
        .post(
            &w.agent.token,
            &url,
            json!({"title": "x", "message": "y", "inbox_id": w.inbox_id}),
        )
        .await;
    assert_error(st, &b, 403, "forbidden");
    let (st, b) = s.delete(&w.agent.token, &format!("{url}/{id}")).await;
    assert_error(st, &b, 403, "forbidden");

    // Bad input: a clear 422 and nothing stored.
    let (_, api_inbox) = s
        .post(
            t,
            &format!("{}/inboxes", w.base()),
            json!({"name": "Bridge", "channel": {"type": "api"}}),
        )
        .await;
    let ok = json!({"title": "T", "message": "M", "inbox_id": w.inbox_id});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("campaign_type", json!("one_off")), "campaign_type"),
        (with("campaign_type", json!("weekly")), "campaign_type"),
        (json!({"message": "M", "inbox_id": w.inbox_id}), "title"),
        (with("title", json!("   ")), "title"),
        (json!({"title": "T", "inbox_id": w.inbox_id}), "message"),
        (with("message", json!("x".repeat(1001))), "message"),
        (json!({"title": "T", "message": "M"}), "inbox_id"),
        (with("inbox_id", json!(987654)), "inbox_id"),
        (with("inbox_id", api_inbox["id"].clone()), "inbox_id"),
        (with("sender_id", json!(987654)), "sender_id"),
        (
            with("show_again_after_days", json!(400)),
            "show_again_after_days",
        ),
        (
            with("show_again_after_days", json!(-1)),
            "show_again_after_days",
        ),
        (
            with("trigger_rules", json!({"time_on_page": -5})),
            "trigger_rules.time_on_page",
        ),
        (
            with("trigger_rules", json!({"pages_viewed": 5000})),
            "trigger_rules.pages_viewed",
        ),
    ] {
        let (st, b) = s.post(t, &url, body.clone()).await;
        assert_error(st, &b, 422, "invalid_field");
        assert_eq!(b["error"]["field"], field, "{body} -> {b}");
    }
    let (st, b) = s.post(t, &url, with("one_off", json!(1)).clone()).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "unknown top-level keys are ignored, as Rails does: {b}"
    );
    let extra = b["id"].as_i64().expect("id");
    for body in [
        with("trigger_rules", json!({"unknown_rule": 1})),
        with("trigger_rules", json!({"exit_intent": "yes"})),
        with("enabled", json!("yes")),
        json!([1, 2]),
    ] {
        let (st, b) = s.post(t, &url, body.clone()).await;
        assert!(st.is_client_error(), "{body} -> {st} {b}");
    }
    let (st, b) = s
        .raw(
            Method::POST,
            Some(t),
            &url,
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = s
        .patch(
            t,
            &format!("{url}/{id}"),
            json!({"campaign_type": "one_off"}),
        )
        .await;
    assert_error(st, &b, 422, "invalid_field");
    assert_eq!(campaign(s, &w, id).await["show_again_after_days"], 7);
    assert_eq!(list(s, &w).await.len(), 2);

    // Another account sees none of it.
    let other = s.admin("Other").await;
    let (st, _) = s
        .get(
            &other.token,
            &format!("/api/v1/accounts/{}/campaigns/{id}", other.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, b) = s.delete(t, &format!("{url}/{extra}")).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s.delete(t, &format!("{url}/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s.get(t, &format!("{url}/{id}")).await;
    assert_error(st, &b, 404, "not_found");
    assert!(list(s, &w).await.is_empty());
}

async fn server_checks_before_showing(s: &TestServer) {
    let w = site(s).await;
    let c = create(
        s,
        &w,
        json!({"title": "Cart", "message": "Can we help?", "inbox_id": w.inbox_id,
               "sender_id": w.agent.user_id, "trigger_rules": {"url": "/cart*"}}),
    )
    .await;
    let id = c["id"].as_i64().expect("id");
    let v1 = visitor(s, &w).await;

    // The widget sees it, with the agent it comes from.
    let (_, inbox) = s
        .call(
            Method::GET,
            None,
            &format!("/public/api/v1/inboxes/{}", w.token),
            None,
        )
        .await;
    let seen = &inbox["campaigns"][0];
    assert_eq!(seen["id"], id, "{inbox}");
    assert_eq!(seen["message"], "Can we help?");
    assert_eq!(seen["sender"]["name"], "Maria");
    assert_eq!(seen["trigger_rules"]["url"], "/cart*");

    // Nobody online: no invitation (an invitation nobody can answer is worse than none).
    let a = trigger(s, &w, &v1, id, "https://shop.test/cart").await;
    assert_eq!(reason(&a), "no_capacity");
    set_online(s, &w).await;
    // The page must match the campaign's URL rule.
    let a = trigger(s, &w, &v1, id, "https://shop.test/catalog").await;
    assert_eq!(reason(&a), "url");
    let a = trigger(s, &w, &v1, id, "https://shop.test/cart?step=2").await;
    assert_eq!(a["show"], true, "{a}");
    // At most once per period per visitor.
    let a = trigger(s, &w, &v1, id, "https://shop.test/cart").await;
    assert_eq!(reason(&a), "shown_recently");
    assert_eq!(campaign(s, &w, id).await["shown_count"], 1);

    // An agent at their limit is no capacity either.
    let (st, b) = s
        .patch(
            &w.admin.token,
            &format!("{}/routing/settings", w.base()),
            json!({"default_max_open": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let busy = crate::common::ws::Visitor::new(s, &w.token).await;
    let (_, conv) = s
        .get(
            &w.admin.token,
            &format!("{}/conversations/{}", w.base(), busy.conversation_id),
        )
        .await;
    assert_eq!(conv["meta"]["assignee"]["id"], w.agent.user_id, "{conv}");
    let v2 = visitor(s, &w).await;
    let a = trigger(s, &w, &v2, id, "https://shop.test/cart").await;
    assert_eq!(reason(&a), "no_capacity");
    // Without the capacity rule it shows.
    let (st, b) = s
        .patch(
            &w.admin.token,
            &format!("{}/campaigns/{id}", w.base()),
            json!({"only_when_agents_available": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let a = trigger(s, &w, &v2, id, "https://shop.test/cart").await;
    assert_eq!(a["show"], true, "{a}");

    // Only during working hours: closed all week, so never.
    let week: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    let (st, b) = s
        .patch(
            &w.admin.token,
            &format!("{}/inboxes/{}", w.base(), w.inbox_id),
            json!({"working_hours_enabled": true, "timezone": "Europe/Moscow", "working_hours": week}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let hours = create(
        s,
        &w,
        json!({"title": "Hours", "message": "Hi", "inbox_id": w.inbox_id,
               "only_when_agents_available": false, "trigger_only_during_business_hours": true}),
    )
    .await;
    let hours_id = hours["id"].as_i64().expect("id");
    let v3 = visitor(s, &w).await;
    let a = trigger(s, &w, &v3, hours_id, "https://shop.test/").await;
    assert_eq!(reason(&a), "off_hours");

    // A period of 0 days: whenever it triggers.
    let again = create(
        s,
        &w,
        json!({"title": "Again", "message": "Hi", "inbox_id": w.inbox_id,
               "only_when_agents_available": false, "show_again_after_days": 0}),
    )
    .await;
    let again_id = again["id"].as_i64().expect("id");
    for _ in 0..2 {
        let a = trigger(s, &w, &v3, again_id, "https://shop.test/").await;
        assert_eq!(a["show"], true, "{a}");
    }
    assert_eq!(campaign(s, &w, again_id).await["shown_count"], 2);

    // Disabled: not shown, not counted.
    let (st, b) = s
        .patch(
            &w.admin.token,
            &format!("{}/campaigns/{again_id}", w.base()),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let a = trigger(s, &w, &v3, again_id, "https://shop.test/").await;
    assert_eq!(reason(&a), "disabled");
    assert_eq!(campaign(s, &w, again_id).await["shown_count"], 2);

    // Another inbox's campaign, or none: 404; bad input: 4xx.
    let other = site(s).await;
    let ov = visitor(s, &other).await;
    let (st, b) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{ov}/campaigns/{id}/trigger",
                other.token
            ),
            Some(json!({})),
        )
        .await;
    assert_error(st, &b, 404, "not_found");
    let (st, b) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{v3}/campaigns/{id}/trigger",
                w.token
            ),
            Some(json!({"page_url": 5})),
        )
        .await;
    assert!(st.is_client_error(), "{st} {b}");
    let (st, b) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{v3}/campaigns/{id}/trigger",
                w.token
            ),
            Some(json!({"page_url": "x".repeat(3000)})),
        )
        .await;
    assert_error(st, &b, 422, "invalid_request");
    assert_eq!(campaign(s, &w, id).await["shown_count"], 2);
}

async fn reply_starts_routed_conversation_with_the_campaign(s: &TestServer) {
    let w = site(s).await;
    set_online(s, &w).await;
    let c = create(
        s,
        &w,
        json!({"title": "Cart", "message": "Need help choosing a size?", "inbox_id": w.inbox_id,
               "sender_id": w.agent.user_id, "trigger_rules": {"time_on_page": 5}}),
    )
    .await;
    let id = c["id"].as_i64().expect("id");
    let conversations = |v: &str| {
        format!(
            "/public/api/v1/inboxes/{}/contacts/{v}/conversations",
            w.token
        )
    };

    // A visitor who was not shown the invitation cannot answer it; nothing is created.
    let stranger = visitor(s, &w).await;
    let (st, b) = s
        .call(
            Method::POST,
            None,
            &conversations(&stranger),
            Some(json!({"campaign_id": id})),
        )
        .await;
    assert_error(st, &b, 422, "invalid_field");
    assert_eq!(b["error"]["field"], "campaign_id");
    let (_, l) = s
        .call(Method::GET, None, &conversations(&stranger), None)
        .await;
    assert_eq!(l, json!([]), "nothing was created");

    let v = visitor(s, &w).await;
    let a = trigger(s, &w, &v, id, "https://shop.test/boots").await;
    assert_eq!(a["show"], true, "{a}");
    let (st, conv) = s
        .call(
            Method::POST,
            None,
            &conversations(&v),
            Some(json!({"campaign_id": id.to_string(),
                        "additional_attributes": {"page_url": "https://shop.test/boots"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{conv}");
    let display_id = conv["id"].as_i64().expect("id");
    let first = &conv["messages"][0];
    assert_eq!(first["content"], "Need help choosing a size?", "{conv}");
    assert_eq!(first["sender"]["id"], w.agent.user_id, "{conv}");
    let (st, m) = s
        .call(
            Method::POST,
            None,
            &format!("{}/{display_id}/messages", conversations(&v)),
            Some(json!({"content": "Yes, 42 or 43?"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");

    // Agents see a routed conversation carrying the campaign, the invitation first.
    let (_, c) = s
        .get(
            &w.admin.token,
            &format!("{}/conversations/{display_id}", w.base()),
        )
        .await;
    assert_eq!(c["campaign_id"], id, "{c}");
    assert_eq!(c["meta"]["assignee"]["id"], w.agent.user_id, "routed: {c}");
    let (_, msgs) = s
        .get(
            &w.admin.token,
            &format!("{}/conversations/{display_id}/messages", w.base()),
        )
        .await;
    let texts: Vec<(&str, i64)> = msgs["payload"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["message_type"] != 2)
        .map(|m| {
            (
                m["content"].as_str().unwrap_or(""),
                m["message_type"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        texts,
        vec![("Need help choosing a size?", 3), ("Yes, 42 or 43?", 0)],
        "{msgs}"
    );
    // The invitation is not a reply: the customer is still waiting for one.
    assert!(
        c["first_reply_created_at"].as_i64().unwrap_or(0) == 0,
        "{c}"
    );

    // Counters: shown, accepted, then converted when the conversation converts.
    let cc = campaign(s, &w, id).await;
    assert_eq!(
        (
            &cc["shown_count"],
            &cc["accepted_count"],
            &cc["converted_count"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{cc}"
    );
    let (st, b) = s
        .post(
            &w.admin.token,
            &format!("{}/conversations/{display_id}/labels", w.base()),
            json!({"labels": ["converted"]}),
        )
        .await;
    assert!(st.is_success(), "{st} {b}");
    let cc = campaign(s, &w, id).await;
    assert_eq!(cc["converted_count"], 1, "{cc}");
    assert_eq!(list(s, &w).await[0]["accepted_count"], 1);
}

async fn webwidget_triggered_reaches_webhooks(s: &TestServer) {
    let w = site(s).await;
    let r = Receiver::start(0).await;
    let (st, hook) = s
        .post(
            &w.admin.token,
            &format!("{}/webhooks", w.base()),
            json!({"url": r.url, "subscriptions": ["webwidget_triggered"]}),
        )
        .await;
    assert!(st.is_success(), "{st} {hook}");
    let v = visitor(s, &w).await;
    let events = format!("/public/api/v1/inboxes/{}/contacts/{v}/events", w.token);
    let (st, b) = s
        .call(
            Method::POST,
            None,
            &events,
            Some(json!({"name": "webwidget.triggered",
                        "event_info": {"referer": "https://shop.test/cart", "widget_language": "ru",
                                       "browser_language": "ru-RU",
                                       "browser": {"browser_name": "Chrome", "platform_name": "Linux"}}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let got = r.until("webwidget_triggered", |g| !g.is_empty()).await;
    let body = got[0].json();
    assert_eq!(body["event"], "webwidget_triggered", "{body}");
    assert_eq!(body["source_id"], v.as_str());
    assert_eq!(body["contact"]["name"], "Olga", "{body}");
    assert_eq!(body["inbox"]["id"], w.inbox_id, "{body}");
    assert_eq!(body["account"]["id"], w.admin.account_id);
    let info = &body["event_info"];
    assert_eq!(info["referer"], "https://shop.test/cart");
    assert_eq!(info["widget_language"], "ru");
    assert_eq!(info["browser_language"], "ru-RU");
    assert_eq!(info["browser"]["browser_name"], "Chrome");
    assert!(
        info["initiated_at"]["timestamp"].as_i64().unwrap_or(0) > 0,
        "{body}"
    );

    // Bad input: 422, nothing sent.
    for bad in [
        json!({"name": "webwidget.opened"}),
        json!({"name": "webwidget.triggered", "event_info": "x"}),
        json!({"name": "webwidget.triggered", "event_info": {"referer": 5}}),
        json!({"name": "webwidget.triggered", "event_info": {"browser": {"browser_name": "x".repeat(100)}}}),
    ] {
        let (st, b) = s.call(Method::POST, None, &events, Some(bad.clone())).await;
        assert_error(
            st,
            &b,
            422,
            if bad["name"] == "webwidget.triggered" {
                "invalid_field"
            } else {
                "invalid_request"
            },
        );
    }
    let (st, _) = s
        .call(
            Method::POST,
            None,
            &format!("/public/api/v1/inboxes/{}/contacts/nobody/events", w.token),
            Some(json!({"name": "webwidget.triggered"})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The one event only (the bad ones sent nothing).
    tokio::task::yield_now().await;
    let (st, log) = s
        .get(
            &w.admin.token,
            &format!(
                "{}/webhooks/{}/deliveries",
                w.base(),
                hook["payload"]["webhook"]["id"]
            ),
        )
        .await;
    assert!(st.is_success(), "{log}");
    assert_eq!(log["payload"].as_array().map(Vec::len), Some(1), "{log}");
}
