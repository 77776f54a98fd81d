//! The website widget's server side, through the public HTTP interface on both backends:
//! the embedded files and their headers (loader, frame with `frame-ancestors` from the
//! inbox's allowed domains, versioned assets, `/demo`), the Client API's public inbox
//! (settings, working hours, who is online), the visitor context agents see, and the
//! satisfaction survey from resolve to the agent reading the rating, and the rating on the
//! conversation, the contact's conversations and the list's `rating=` filter.

use crate::common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    assets_and_demo,
    public_inbox_settings_and_online_state,
    visitor_context_reaches_agents,
    csat_survey_from_resolve_to_rating,
    ratings_show_on_conversations_and_filter_the_list
);

/// A website inbox of `admin`'s account; returns (inbox id, website token).
async fn website(s: &TestServer, token: &str, account: i64, channel: Value) -> (i64, String) {
    let mut ch = json!({"type": "web_widget", "website_url": "https://shop.test"});
    if let (Some(m), Some(extra)) = (ch.as_object_mut(), channel.as_object()) {
        m.extend(extra.clone());
    }
    let (st, inbox) = s
        .post(
            token,
            &format!("/api/v1/accounts/{account}/inboxes"),
            json!({"name": "Shop", "channel": ch}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    (
        inbox["id"].as_i64().expect("id"),
        inbox["website_token"].as_str().expect("token").to_string(),
    )
}

/// A new visitor of the inbox `ident` through the Client API; their `source_id`.
pub(crate) async fn visitor(s: &TestServer, ident: &str) -> String {
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &format!("/public/api/v1/inboxes/{ident}/contacts"),
            Some(json!({"name": "Olga"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c["source_id"].as_str().expect("source_id").to_string()
}

async fn assets_and_demo(s: &TestServer) {
    let a = s.admin("Shop").await;
    let http = reqwest::Client::new();

    // Before any website inbox exists the demo page explains how to make one.
    let res = http.get(s.url("/demo")).send().await.expect("demo");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("text");
    assert!(
        !html.contains("data-parley-token"),
        "no snippet without an inbox"
    );
    assert!(html.contains("No website inbox"));

    let (_, ident) = website(
        s,
        &a.token,
        a.account_id,
        json!({"allowed_domains": "https://shop.test, *.shop.test"}),
    )
    .await;

    // The loader: any site may load it, cached briefly, gzip when asked.
    let res = http
        .get(s.url("/widget/loader.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("loader");
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["cache-control"], "public, max-age=300");
    assert_eq!(h["content-encoding"], "gzip");
    let etag = h["etag"].to_str().expect("etag").to_string();
    let res = http
        .get(s.url("/widget/loader.js"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("loader again");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The frame: only the inbox's sites may embed it; scripts pinned to this server.
    let res = http
        .get(s.url(&format!("/widget/frame.html?token={ident}")))
        .send()
        .await
        .expect("frame");
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("frame-ancestors https://shop.test *.shop.test"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.expect("html");
    let start = html.find("/widget/v/").expect("versioned asset URL");
    let app_url = html[start..]
        .split('"')
        .next()
        .expect("url")
        .replace("widget.css", "app.js");
    assert!(app_url.ends_with("/app.js"), "{app_url}");

    let res = http.get(s.url(&app_url)).send().await.expect("app.js");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        res.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // An old version still gets today's file, but not as immutable.
    let res = http
        .get(s.url("/widget/v/0000/app.js"))
        .send()
        .await
        .expect("old version");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    for bad in [
        "/widget/v/x/loader.js",
        "/widget/v/x/frame.html",
        "/widget/v/x/..%2Fdemo.html",
        "/widget/v/x/nope.js",
    ] {
        let res = http.get(s.url(bad)).send().await.expect("bad path");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    for bad in ["/widget/frame.html?token=nope", "/widget/frame.html"] {
        let res = http.get(s.url(bad)).send().await.expect("bad token");
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }

    // With one website inbox the demo page embeds it; a given token wins.
    let html = http
        .get(s.url("/demo"))
        .send()
        .await
        .expect("demo")
        .text()
        .await
        .expect("text");
    assert!(
        html.contains(&format!("data-parley-token=\"{ident}\"")),
        "{html}"
    );
    let html = http
        .get(s.url("/demo?token=abc123"))
        .send()
        .await
        .expect("demo")
        .text()
        .await
        .expect("text");
    assert!(html.contains("data-parley-token=\"abc123\""));
    let html = http
        .get(s.url("/demo?token=%22%3E%3Cscript%3E"))
        .send()
        .await
        .expect("demo")
        .text()
        .await
        .expect("text");
    assert!(
        !html.contains("<script>"),
        "a token is never echoed as markup"
    );
}

async fn public_inbox_settings_and_online_state(s: &TestServer) {
    let a = s.admin("Shop").await;
    let (id, ident) = website(
        s,
        &a.token,
        a.account_id,
        json!({"widget_color": "#0F766E", "welcome_title": "Coffee", "widget_position": "left",
               "pre_chat_form_enabled": true,
               "pre_chat_form_options": {"pre_chat_message": "Who are you?",
                   "pre_chat_fields": [{"name": "emailAddress", "required": true}]}}),
    )
    .await;
    let url = format!("/public/api/v1/inboxes/{ident}");
    let (st, v) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["identifier"], ident.as_str());
    assert_eq!(v["widget_color"], "#0f766e");
    assert_eq!(v["widget_position"], "left");
    assert_eq!(v["welcome_title"], "Coffee");
    assert_eq!(v["pre_chat_form_enabled"], true);
    assert_eq!(
        v["pre_chat_form_options"]["pre_chat_fields"][0],
        json!({"name": "emailAddress", "required": true, "enabled": true})
    );
    assert_eq!(v["is_online"], true);
    assert_eq!(v["is_open_now"], true);
    assert_eq!(v["identity_validation_enabled"], false);
    assert!(
        v.get("hmac_token").is_none(),
        "the secret never leaves: {v}"
    );
    assert_eq!(v["available_agents"], json!([]));

    // A bad pre-chat form or position is refused and changes nothing.
    let base = format!("/api/v1/accounts/{}/inboxes/{id}", a.account_id);
    for bad in [
        json!({"channel": {"pre_chat_form_options": {"pre_chat_fields": [{"name": "ssn"}]}}}),
        json!({"channel": {"pre_chat_form_options": "yes"}}),
        json!({"channel": {"widget_position": "top"}}),
    ] {
        let (st, e) = s.patch(&a.token, &base, bad.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    let (_, again) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(again["widget_position"], "left");

    // The administrator on duty appears in the greeting.
    let (st, _) = s
        .post(
            &a.token,
            &format!("/api/v1/accounts/{}/inbox_members", a.account_id),
            json!({"inbox_id": id, "user_ids": [a.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .patch(
            &a.token,
            &format!("/api/v1/accounts/{}/agents/{}", a.account_id, a.user_id),
            // Online without a console open: presence follows the choice only when automatic
            // offline is off.
            json!({"availability_status": "online", "auto_offline": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(v["available_agents"][0]["id"], a.user_id, "{v}");
    assert_eq!(v["available_agents"][0]["name"], "Admin");

    // Closed every day: the widget offers the offline form and says when it opens (never).
    let closed: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "closed_all_day": true}))
        .collect();
    let (st, e) = s
        .patch(
            &a.token,
            &base,
            json!({"working_hours_enabled": true, "working_hours": closed, "timezone": "Europe/Moscow"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    let (_, v) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(v["is_open_now"], false, "{v}");
    assert_eq!(v["is_online"], false);
    assert!(v["next_open_at"].is_null());

    // Open around the clock, but nobody online and the inbox wants the form then.
    let open: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "open_all_day": true}))
        .collect();
    let (st, _) = s
        .patch(
            &a.token,
            &base,
            json!({"working_hours": open, "channel": {"offline_form_when_no_agents": true}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(v["is_open_now"], true);
    assert_eq!(v["is_online"], true, "an agent is online: {v}");
    let (st, _) = s
        .patch(
            &a.token,
            &format!("/api/v1/accounts/{}/agents/{}", a.account_id, a.user_id),
            json!({"availability_status": "offline"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, v) = s.call(Method::GET, None, &url, None).await;
    assert_eq!(v["is_online"], false, "{v}");

    let (st, e) = s
        .call(Method::GET, None, "/public/api/v1/inboxes/nope", None)
        .await;
    common::assert_error(st, &e, 404, "not_found");
}

async fn visitor_context_reaches_agents(s: &TestServer) {
    let a = s.admin("Shop").await;
    let (_, ident) = website(s, &a.token, a.account_id, json!({})).await;
    let source = visitor(s, &ident).await;
    let convs = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations");

    // A wrong type is refused before anything is created.
    let (st, e) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"additional_attributes": {"page_url": "javascript:alert(1)"}})),
        )
        .await;
    common::assert_error(st, &e, 422, "invalid_field");
    assert_eq!(e["error"]["field"], "additional_attributes.page_url");
    let (_, list) = s.call(Method::GET, None, &convs, None).await;
    assert_eq!(list, json!([]), "nothing created by a refused request");

    let ctx = json!({
        "page_url": "https://shop.test/cart?utm_source=newsletter",
        "page_title": "Cart",
        "utm": {"utm_source": "newsletter", "utm_campaign": "spring", "other": "dropped"},
        "page_trail": [{"url": "https://shop.test/", "title": "Home", "at": 1_700_000_000}],
        "browser": {"browser_name": "Firefox", "device_name": "mobile"},
        "time_on_site": 95,
        "secret_flag": true
    });
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"additional_attributes": ctx})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let display = c["id"].as_i64().expect("id");

    let agent_url = format!("/api/v1/accounts/{}/conversations/{display}", a.account_id);
    let (_, conv) = s.get(&a.token, &agent_url).await;
    let attrs = &conv["additional_attributes"];
    assert_eq!(
        attrs["page_url"],
        "https://shop.test/cart?utm_source=newsletter"
    );
    assert_eq!(
        attrs["utm"],
        json!({"utm_source": "newsletter", "utm_campaign": "spring"})
    );
    assert_eq!(attrs["browser"]["device_name"], "mobile");
    assert!(attrs.get("secret_flag").is_none());
    assert!(attrs["initiated_at"]["timestamp"].is_i64(), "{attrs}");

    // The visitor moves on: the page changes, the rest stays.
    let update = format!("{convs}/{display}/update_visitor_context");
    let (st, r) = s
        .call(
            Method::POST,
            None,
            &update,
            Some(json!({"additional_attributes": {"page_url": "https://shop.test/checkout", "time_on_site": 140}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (_, conv) = s.get(&a.token, &agent_url).await;
    let attrs = &conv["additional_attributes"];
    assert_eq!(attrs["page_url"], "https://shop.test/checkout");
    assert_eq!(attrs["time_on_site"], 140);
    assert_eq!(attrs["utm"]["utm_source"], "newsletter");

    let (st, e) = s
        .call(
            Method::POST,
            None,
            &update,
            Some(json!({"additional_attributes": {"page_trail": "nope"}})),
        )
        .await;
    common::assert_error(st, &e, 422, "invalid_field");
    let (_, after) = s.get(&a.token, &agent_url).await;
    assert_eq!(
        after["additional_attributes"],
        conv["additional_attributes"]
    );

    // Another visitor cannot touch this conversation.
    let other = visitor(s, &ident).await;
    let (st, _) = s
        .call(
            Method::POST,
            None,
            &format!("/public/api/v1/inboxes/{ident}/contacts/{other}/conversations/{display}/update_visitor_context"),
            Some(json!({"additional_attributes": {"page_title": "x"}})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn csat_survey_from_resolve_to_rating(s: &TestServer) {
    let a = s.admin("Shop").await;
    let (id, ident) = website(s, &a.token, a.account_id, json!({})).await;
    let (st, _) = s
        .patch(
            &a.token,
            &format!("/api/v1/accounts/{}/inboxes/{id}", a.account_id),
            json!({"csat_survey_enabled": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let source = visitor(s, &ident).await;
    let convs = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations");
    let (_, c) = s.call(Method::POST, None, &convs, Some(json!({}))).await;
    let display = c["id"].as_i64().expect("id");
    let (st, m) = s
        .call(
            Method::POST,
            None,
            &format!("{convs}/{display}/messages"),
            Some(json!({"content": "Where is my order?"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let plain_id = m["id"].as_i64().expect("id");

    let toggle = format!(
        "/api/v1/accounts/{}/conversations/{display}/toggle_status",
        a.account_id
    );
    let (st, r) = s
        .post(&a.token, &toggle, json!({"status": "resolved"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");

    let (_, msgs) = s
        .call(
            Method::GET,
            None,
            &format!("{convs}/{display}/messages"),
            None,
        )
        .await;
    let surveys: Vec<&Value> = msgs
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["content_type"] == "input_csat")
        .collect();
    assert_eq!(surveys.len(), 1, "{msgs}");
    let survey_id = surveys[0]["id"].as_i64().expect("id");

    let answer = |id: i64, v: Value| {
        let url = format!("{convs}/{display}/messages/{id}");
        async move { s.call(Method::PATCH, None, &url, Some(v)).await }
    };
    // Bad answers change nothing.
    let (st, e) = answer(
        survey_id,
        json!({"submitted_values": {"csat_survey_response": {"rating": 9}}}),
    )
    .await;
    common::assert_error(st, &e, 422, "invalid_field");
    let (st, e) = answer(
        plain_id,
        json!({"submitted_values": {"csat_survey_response": {"rating": 5}}}),
    )
    .await;
    common::assert_error(st, &e, 422, "invalid_field");
    let (st, _) = answer(
        987_654,
        json!({"submitted_values": {"csat_survey_response": {"rating": 5}}}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, m) = answer(
        survey_id,
        json!({"submitted_values": {"csat_survey_response": {"rating": 4, "feedback_message": "Quick, thanks"}}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(
        m["content_attributes"]["submitted_values"]["csat_survey_response"]["rating"],
        4
    );

    // The agent reads the rating in the conversation.
    let (_, page) = s
        .get(
            &a.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{display}/messages",
                a.account_id
            ),
        )
        .await;
    let rated = page["payload"]
        .as_array()
        .expect("payload")
        .iter()
        .find(|m| m["id"] == survey_id)
        .expect("survey message")
        .clone();
    assert_eq!(
        rated["content_attributes"]["submitted_values"]["csat_survey_response"],
        json!({"rating": 4, "feedback_message": "Quick, thanks"})
    );

    // Reopened and resolved again: no second survey.
    let (st, _) = s.post(&a.token, &toggle, json!({"status": "open"})).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post(&a.token, &toggle, json!({"status": "resolved"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, msgs) = s
        .call(
            Method::GET,
            None,
            &format!("{convs}/{display}/messages"),
            None,
        )
        .await;
    let n = msgs
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["content_type"] == "input_csat")
        .count();
    assert_eq!(n, 1);
}

/// A visitor's conversation in `ident`'s inbox, resolved by the agent (which sends the
/// survey); returns (conversation number, survey message id, the visitor's messages URL).
async fn surveyed_conversation(
    s: &TestServer,
    token: &str,
    account: i64,
    ident: &str,
) -> (i64, i64, String) {
    let source = visitor(s, ident).await;
    let convs = format!("/public/api/v1/inboxes/{ident}/contacts/{source}/conversations");
    let (_, c) = s.call(Method::POST, None, &convs, Some(json!({}))).await;
    let display = c["id"].as_i64().expect("id");
    let msgs = format!("{convs}/{display}/messages");
    let (st, m) = s
        .call(Method::POST, None, &msgs, Some(json!({"content": "Hello"})))
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, r) = s
        .post(
            token,
            &format!("/api/v1/accounts/{account}/conversations/{display}/toggle_status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (_, list) = s.call(Method::GET, None, &msgs, None).await;
    let survey = list
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["content_type"] == "input_csat")
        .and_then(|m| m["id"].as_i64())
        .expect("survey");
    (display, survey, msgs)
}

/// The numbers of the conversations `GET …/conversations?status=all&{query}` lists, sorted.
async fn listed(s: &TestServer, token: &str, account: i64, query: &str) -> (Vec<i64>, Value) {
    let (st, body) = s
        .get(
            token,
            &format!("/api/v1/accounts/{account}/conversations?status=all&{query}"),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{query}: {body}");
    let mut ids: Vec<i64> = body["data"]["payload"]
        .as_array()
        .expect("payload")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    ids.sort_unstable();
    (ids, body["data"]["meta"].clone())
}

async fn ratings_show_on_conversations_and_filter_the_list(s: &TestServer) {
    let a = s.admin("Shop").await;
    let (id, ident) = website(s, &a.token, a.account_id, json!({})).await;
    let (st, _) = s
        .patch(
            &a.token,
            &format!("/api/v1/accounts/{}/inboxes/{id}", a.account_id),
            json!({"csat_survey_enabled": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (happy, happy_survey, happy_msgs) =
        surveyed_conversation(s, &a.token, a.account_id, &ident).await;
    let (sad, sad_survey, sad_msgs) =
        surveyed_conversation(s, &a.token, a.account_id, &ident).await;
    let (silent, _, _) = surveyed_conversation(s, &a.token, a.account_id, &ident).await;

    let answer = |msgs: String, survey: i64, v: Value| async move {
        let (st, m) = s
            .call(Method::PATCH, None, &format!("{msgs}/{survey}"), Some(v))
            .await;
        assert_eq!(st, StatusCode::OK, "{m}");
    };
    answer(
        happy_msgs.clone(),
        happy_survey,
        json!({"submitted_values": {"csat_survey_response": {"rating": 5, "feedback_message": "Спасибо, всё быстро"}}}),
    )
    .await;
    answer(
        sad_msgs.clone(),
        sad_survey,
        json!({"submitted_values": {"csat_survey_response": {"rating": 3}}}),
    )
    .await;
    // A changed answer replaces the first one.
    answer(
        sad_msgs,
        sad_survey,
        json!({"submitted_values": {"csat_survey_response": {"rating": 1, "feedback_message": "Too slow"}}}),
    )
    .await;

    // The agent's conversation carries the rating in Chatwoot's shape; unrated is null.
    let show = |d: i64| {
        let url = format!("/api/v1/accounts/{}/conversations/{d}", a.account_id);
        let token = a.token.clone();
        async move { s.get(&token, &url).await }
    };
    let (st, c) = show(happy).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(
        c["csat_survey_response"],
        json!({"rating": 5, "feedback_message": "Спасибо, всё быстро"})
    );
    let (_, c) = show(sad).await;
    assert_eq!(
        c["csat_survey_response"],
        json!({"rating": 1, "feedback_message": "Too slow"})
    );
    let (_, c) = show(silent).await;
    assert!(c["csat_survey_response"].is_null(), "{c}");

    // The contact's conversations (the console's contact panel) carry it too.
    let contact = c["contact_id"].as_i64().expect("contact");
    let (_, c5) = show(happy).await;
    let happy_contact = c5["contact_id"].as_i64().expect("contact");
    assert_ne!(contact, happy_contact);
    let (st, theirs) = s
        .get(
            &a.token,
            &format!(
                "/api/v1/accounts/{}/contacts/{happy_contact}/conversations",
                a.account_id
            ),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["payload"][0]["csat_survey_response"]["rating"], 5);

    // The list's filter: by kind and by score, the tab counts agreeing.
    let all = {
        let mut v = vec![happy, sad, silent];
        v.sort_unstable();
        v
    };
    for (q, want) in [
        ("", all.clone()),
        ("rating=", all.clone()),
        ("rating=all", all.clone()),
        ("rating=any", {
            let mut v = vec![happy, sad];
            v.sort_unstable();
            v
        }),
        ("rating=none", vec![silent]),
        ("rating=high", vec![happy]),
        ("rating=low", vec![sad]),
        ("rating=5", vec![happy]),
        ("rating=1", vec![sad]),
        ("rating=3", vec![]),
    ] {
        let (ids, meta) = listed(s, &a.token, a.account_id, q).await;
        assert_eq!(ids, want, "{q}");
        assert_eq!(meta["all_count"], want.len() as i64, "{q}: {meta}");
    }
    // With the other filters and the cursor's pages.
    let (ids, _) = listed(
        s,
        &a.token,
        a.account_id,
        &format!("rating=any&inbox_id={id}"),
    )
    .await;
    assert_eq!(ids.len(), 2);

    // Bad values: a clear 422 naming the field, and nothing changed.
    for bad in ["0", "6", "-1", "2.5", "great", "high,low", "ANY"] {
        let (st, e) = s
            .get(
                &a.token,
                &format!(
                    "/api/v1/accounts/{}/conversations?rating={bad}",
                    a.account_id
                ),
            )
            .await;
        common::assert_error(st, &e, 422, "invalid_field");
        assert!(e.to_string().contains("rating"), "{e}");
    }
    let (ids, _) = listed(s, &a.token, a.account_id, "rating=any").await;
    assert_eq!(ids.len(), 2);
    let (_, c) = show(happy).await;
    assert_eq!(c["csat_survey_response"]["rating"], 5);
}
