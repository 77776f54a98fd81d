//! Conversations and messages over HTTP: the Application API, the Client API, attachments,
//! idempotency, bad input, tenant isolation and inbox visibility — on both backends.

use crate::common;

use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use parley_store::conversations::fixtures;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    create_show_and_display_ids,
    list_filters_pagination_and_meta,
    list_by_cursor_with_fixed_queries_per_page,
    status_priority_assignment_labels_attributes,
    messages_create_list_edit_delete,
    echo_id_retry_and_concurrent_sends,
    attachments_round_trip_and_limits,
    client_api_flow_and_visitor_isolation,
    bad_input_on_write_endpoints,
    tenant_isolation_on_every_route,
    agents_see_only_their_inboxes,
    events_and_metrics,
    openapi_schemas_match_responses,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_mute_keeps_the_contact_from_reopening() {
    let clock = std::sync::Arc::new(parley_core::time::ManualClock::new(1_772_409_600_000));
    let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
    mute_keeps_the_contact_from_reopening(&s, &clock).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mute_keeps_the_contact_from_reopening() {
    let clock = std::sync::Arc::new(parley_core::time::ManualClock::new(1_772_409_600_000));
    let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
        return;
    };
    mute_keeps_the_contact_from_reopening(&s, &clock).await;
    s.stop().await;
}

/// An account with an administrator, a web-widget inbox, an API inbox and a contact with
/// a Client API identity in the widget inbox.
struct World {
    admin: Actor,
    inbox: i64,
    inbox_ident: String,
    api_inbox: i64,
    contact: i64,
    source: String,
}

async fn world(s: &TestServer, name: &str) -> World {
    let admin = s.admin(name).await;
    let store = s.store();
    let (inbox, inbox_ident) =
        fixtures::inbox(store, admin.account_id, "Site", "Channel::WebWidget")
            .await
            .unwrap();
    let (api_inbox, _) = fixtures::inbox(store, admin.account_id, "Api", "Channel::Api")
        .await
        .unwrap();
    let (contact, _, source) = fixtures::contact(store, admin.account_id, inbox, "Ivan Petrov")
        .await
        .unwrap();
    World {
        admin,
        inbox,
        inbox_ident,
        api_inbox,
        contact,
        source,
    }
}

fn base(w: &World) -> String {
    format!("/api/v1/accounts/{}/conversations", w.admin.account_id)
}

fn public_base(w: &World) -> String {
    format!(
        "/public/api/v1/inboxes/{}/contacts/{}/conversations",
        w.inbox_ident, w.source
    )
}

async fn new_conversation(s: &TestServer, w: &World, extra: Value) -> Value {
    let mut body = json!({"inbox_id": w.inbox, "contact_id": w.contact});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let (st, c) = s.post(&w.admin.token, &base(w), body).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

async fn send(s: &TestServer, w: &World, token: &str, id: i64, body: Value) -> (StatusCode, Value) {
    s.post(token, &format!("{}/{id}/messages", base(w)), body)
        .await
}

async fn create_show_and_display_ids(s: &TestServer) {
    let a = world(s, "A").await;
    let b = world(s, "B").await;
    let c1 = new_conversation(
        s,
        &a,
        json!({"additional_attributes": {"referer": "https://shop.test/cart"}}),
    )
    .await;
    assert_eq!(c1["id"], 1);
    assert_eq!(c1["account_id"], a.admin.account_id);
    assert_eq!(c1["inbox_id"], a.inbox);
    assert_eq!(c1["status"], "open");
    assert_eq!(c1["priority"], Value::Null);
    assert_eq!(c1["labels"], json!([]));
    assert_eq!(c1["messages"], json!([]));
    assert_eq!(c1["meta"]["sender"]["id"], a.contact);
    assert_eq!(c1["meta"]["sender"]["name"], "Ivan Petrov");
    assert_eq!(c1["meta"]["channel"], "Channel::WebWidget");
    assert_eq!(c1["meta"]["assignee"], Value::Null);
    assert_eq!(c1["meta"]["hmac_verified"], false);
    assert_eq!(
        c1["additional_attributes"]["referer"],
        "https://shop.test/cart"
    );
    assert_eq!(c1["custom_attributes"], json!({}));
    assert_eq!(c1["unread_count"], 0);
    assert_eq!(c1["can_reply"], true);
    assert_eq!(c1["muted"], false);
    assert!(c1["uuid"].as_str().is_some_and(|u| u.len() == 36));
    let now = parley_core::now_ms() / 1000;
    assert!(
        (c1["created_at"].as_i64().unwrap() - now).abs() < 60,
        "epoch seconds"
    );
    assert_eq!(c1["timestamp"], c1["last_activity_at"]);
    for f in [
        "agent_last_seen_at",
        "contact_last_seen_at",
        "first_reply_created_at",
        "waiting_since",
        "updated_at",
    ] {
        assert!(c1[f].is_i64(), "{f} in {c1}");
    }

    // With an initial message from the agent.
    let c2 = new_conversation(
        s,
        &a,
        json!({"message": {"content": "Hello from the shop"}}),
    )
    .await;
    assert_eq!(c2["id"], 2);
    let last = &c2["messages"][0];
    assert_eq!(last["content"], "Hello from the shop");
    assert_eq!(last["message_type"], 1);
    assert_eq!(last["sender_type"], "User");
    assert_eq!(last["sender"]["type"], "user");
    assert_eq!(last["conversation_id"], 2);
    assert_eq!(c2["last_non_activity_message"]["id"], last["id"]);
    assert!(c2["first_reply_created_at"].as_i64().unwrap() > 0);

    // A source id names one contact's identity in the inbox: reusing it for another
    // contact is refused and creates nothing.
    let (other, _, _) = fixtures::contact(s.store(), a.admin.account_id, a.inbox, "Olga")
        .await
        .unwrap();
    let (st, body) = s
        .post(
            &a.admin.token,
            &base(&a),
            json!({"inbox_id": a.inbox, "contact_id": other, "source_id": a.source}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, c) = s
        .post(
            &a.admin.token,
            &base(&a),
            json!({"inbox_id": a.inbox, "contact_id": a.contact, "source_id": a.source}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["id"], 3, "the refused attempt used no number");
    assert_eq!(c["meta"]["sender"]["id"], a.contact);

    // The source id alone names the contact (Chatwoot's API-channel flow).
    let (st, c) = s
        .post(
            &a.admin.token,
            &base(&a),
            json!({"inbox_id": a.inbox, "source_id": a.source}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["meta"]["sender"]["id"], a.contact);
    for bad in [
        json!({"inbox_id": a.inbox}),
        json!({"inbox_id": a.inbox, "source_id": "nobody"}),
    ] {
        let (st, body) = s.post(&a.admin.token, &base(&a), bad).await;
        assert_error(st, &body, 422, "invalid_field");
    }

    // Numbers are per account.
    let d1 = new_conversation(s, &b, json!({})).await;
    assert_eq!(d1["id"], 1);

    let (st, shown) = s.get(&a.admin.token, &format!("{}/2", base(&a))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(shown["id"], 2);
    assert_eq!(shown["uuid"], c2["uuid"]);
    let (st, body) = s.get(&a.admin.token, &format!("{}/99", base(&a))).await;
    assert_error(st, &body, 404, "not_found");

    // A status, an assignee and a team at creation.
    let team = fixtures::team(s.store(), a.admin.account_id, "Delivery")
        .await
        .unwrap();
    let c3 = new_conversation(
        s,
        &a,
        json!({"status": "pending", "assignee_id": a.admin.user_id, "team_id": team, "custom_attributes": {"order": 7}}),
    )
    .await;
    assert_eq!(c3["id"], 5);
    assert_eq!(c3["status"], "pending");
    assert_eq!(c3["meta"]["assignee"]["id"], a.admin.user_id);
    assert_eq!(c3["meta"]["assignee"]["role"], "administrator");
    assert_eq!(c3["meta"]["team"]["name"], "Delivery");
    assert_eq!(c3["custom_attributes"]["order"], 7);
}

async fn list_filters_pagination_and_meta(s: &TestServer) {
    let w = world(s, "A").await;
    let agent = s.member(w.admin.account_id, "Olga", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.inbox, agent.user_id)
        .await
        .unwrap();
    let team = fixtures::team(s.store(), w.admin.account_id, "Payments")
        .await
        .unwrap();
    for i in 0..30 {
        let mut extra = json!({});
        if i % 3 == 0 {
            extra["assignee_id"] = json!(w.admin.user_id);
        } else if i % 3 == 1 {
            extra["assignee_id"] = json!(agent.user_id);
        }
        if i % 5 == 0 {
            extra["team_id"] = json!(team);
        }
        if i >= 27 {
            extra["status"] = json!("resolved");
        }
        if i == 29 {
            extra["inbox_id"] = json!(w.api_inbox);
        }
        new_conversation(s, &w, extra).await;
    }
    let (st, l) = s.get(&w.admin.token, &base(&w)).await;
    assert_eq!(st, StatusCode::OK, "{l}");
    let meta = &l["data"]["meta"];
    assert_eq!(meta["all_count"], 27, "open by default");
    assert_eq!(meta["mine_count"], 9);
    assert_eq!(meta["assigned_count"], 18);
    assert_eq!(meta["unassigned_count"], 9);
    let payload = l["data"]["payload"].as_array().unwrap();
    assert_eq!(payload.len(), 25);
    assert_eq!(payload[0]["id"], 27, "newest activity first");
    let (_, p2) = s.get(&w.admin.token, &format!("{}?page=2", base(&w))).await;
    assert_eq!(p2["data"]["payload"].as_array().unwrap().len(), 2);
    let (_, p3) = s.get(&w.admin.token, &format!("{}?page=3", base(&w))).await;
    assert_eq!(p3["data"]["payload"], json!([]));

    let (_, mine) = s
        .get(
            &w.admin.token,
            &format!("{}?assignee_type=me&status=all", base(&w)),
        )
        .await;
    let mine = mine["data"]["payload"].as_array().unwrap();
    assert_eq!(mine.len(), 10);
    assert!(
        mine.iter()
            .all(|c| c["meta"]["assignee"]["id"] == w.admin.user_id)
    );
    let (_, un) = s
        .get(
            &w.admin.token,
            &format!("{}?assignee_type=unassigned", base(&w)),
        )
        .await;
    assert!(
        un["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["meta"]["assignee"].is_null())
    );
    let (_, res) = s
        .get(&w.admin.token, &format!("{}?status=resolved", base(&w)))
        .await;
    assert_eq!(res["data"]["meta"]["all_count"], 3);
    let (_, by_inbox) = s
        .get(
            &w.admin.token,
            &format!("{}?status=all&inbox_id={}", base(&w), w.api_inbox),
        )
        .await;
    assert_eq!(by_inbox["data"]["meta"]["all_count"], 1);
    let (_, by_team) = s
        .get(
            &w.admin.token,
            &format!("{}?status=all&team_id={team}", base(&w)),
        )
        .await;
    assert_eq!(by_team["data"]["meta"]["all_count"], 6);
    assert!(
        by_team["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["meta"]["team"]["id"] == team)
    );

    // Labels filter (any of).
    s.post(
        &w.admin.token,
        &format!("{}/1/labels", base(&w)),
        json!({"labels": ["vip"]}),
    )
    .await;
    s.post(
        &w.admin.token,
        &format!("{}/2/labels", base(&w)),
        json!({"labels": ["billing", "vip"]}),
    )
    .await;
    s.post(
        &w.admin.token,
        &format!("{}/3/labels", base(&w)),
        json!({"labels": ["billing"]}),
    )
    .await;
    let (_, lv) = s
        .get(&w.admin.token, &format!("{}?labels[]=vip", base(&w)))
        .await;
    assert_eq!(lv["data"]["meta"]["all_count"], 2);
    let (_, lb) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=vip&labels[]=billing", base(&w)),
        )
        .await;
    let ids: Vec<i64> = lb["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let two = lb["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == 2)
        .unwrap();
    assert_eq!(two["labels"], json!(["billing", "vip"]));

    // The last message shows in the list.
    send(s, &w, &w.admin.token, 5, json!({"content": "latest news"})).await;
    let (_, l) = s.get(&w.admin.token, &base(&w)).await;
    let first = &l["data"]["payload"][0];
    assert_eq!(first["id"], 5);
    assert_eq!(first["messages"][0]["content"], "latest news");

    // Search in messages (`q`), case-insensitive, with LIKE wildcards taken literally.
    send(
        s,
        &w,
        &w.admin.token,
        7,
        json!({"content": "Your PARCEL is 100% on its way"}),
    )
    .await;
    let (_, found) = s
        .get(&w.admin.token, &format!("{}?q=parcel", base(&w)))
        .await;
    let found: Vec<i64> = found["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(found, vec![7]);
    let (_, pct) = s
        .get(&w.admin.token, &format!("{}?q=100%25", base(&w)))
        .await;
    assert_eq!(pct["data"]["meta"]["all_count"], 1);
    let (_, wild) = s.get(&w.admin.token, &format!("{}?q=%25", base(&w))).await;
    // Punctuation alone has no word to search for: nothing, not everything.
    assert_eq!(wild["data"]["meta"]["all_count"], 0, "% is not a wildcard");
    let (_, none) = s
        .get(&w.admin.token, &format!("{}?q=nothing-like-this", base(&w)))
        .await;
    assert_eq!(none["data"]["meta"]["all_count"], 0);

    // meta alone.
    let (st, m) = s
        .get(&w.admin.token, &format!("{}/meta?status=all", base(&w)))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(m["meta"]["all_count"], 30);
    assert_eq!(m["meta"]["mine_count"], 10);

    // Bad filters.
    let (st, body) = s
        .get(&w.admin.token, &format!("{}?status=closed", base(&w)))
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(&w.admin.token, &format!("{}?assignee_type=boss", base(&w)))
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(&w.admin.token, &format!("{}?page=abc", base(&w)))
        .await;
    assert_error(st, &body, 400, "invalid_query");
    let (st, body) = s.get(&w.admin.token, &format!("{}?page=0", base(&w))).await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=bad%20label", base(&w)),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
}

/// Read round trips of one GET, the least of three tries (background timers may read in
/// between).
async fn reads_of(s: &TestServer, token: &str, path: &str) -> u64 {
    let mut best = u64::MAX;
    for _ in 0..3 {
        let before = s.svc().store_reads();
        let (st, body) = s.get(token, path).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        best = best.min(s.svc().store_reads() - before);
    }
    best
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

async fn list_by_cursor_with_fixed_queries_per_page(s: &TestServer) {
    let w = world(s, "A").await;
    let agent = s.member(w.admin.account_id, "Olga", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.inbox, agent.user_id)
        .await
        .unwrap();
    // One conversation: the query count of a page with one row.
    new_conversation(s, &w, json!({})).await;
    let one_row = reads_of(s, &w.admin.token, &base(&w)).await;
    for i in 1..60 {
        let c = new_conversation(s, &w, json!({})).await;
        if i % 2 == 0 {
            s.post(
                &w.admin.token,
                &format!("{}/{}/labels", base(&w), c["id"]),
                json!({"labels": ["vip", "billing"]}),
            )
            .await;
        }
    }
    // Walk the list by cursor: 25 + 25 + 10, newest first, each once.
    let (st, p1) = s.get(&w.admin.token, &base(&w)).await;
    assert_eq!(st, StatusCode::OK, "{p1}");
    assert_eq!(p1["data"]["meta"]["all_count"], 60);
    let c1 = p1["data"]["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, p2) = s
        .get(&w.admin.token, &format!("{}?cursor={c1}", base(&w)))
        .await;
    assert!(
        p2["data"]["meta"].get("all_count").is_none(),
        "no counts on a cursor page: {}",
        p2["data"]["meta"]
    );
    let c2 = p2["data"]["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    // Meanwhile the oldest conversation gets a message and moves to the top: the walk
    // neither repeats nor skips anything.
    send(s, &w, &w.admin.token, 1, json!({"content": "bump"})).await;
    let (_, p3) = s
        .get(&w.admin.token, &format!("{}?cursor={c2}", base(&w)))
        .await;
    assert!(p3["data"]["meta"]["next_cursor"].is_null(), "last page");
    let mut seen = [ids_of(&p1), ids_of(&p2), ids_of(&p3)].concat();
    assert_eq!(ids_of(&p1), (36..=60).rev().collect::<Vec<_>>());
    assert_eq!(
        ids_of(&p3),
        (2..=10).rev().collect::<Vec<_>>(),
        "1 moved up"
    );
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 59);
    // Labels come with the rows.
    let labelled = p1["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == 59)
        .unwrap();
    assert_eq!(labelled["labels"], json!(["billing", "vip"]));
    // Filters hold across cursor pages.
    let (_, f1) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=vip&status=all", base(&w)),
        )
        .await;
    assert_eq!(f1["data"]["meta"]["all_count"], 29);
    let fc = f1["data"]["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, f2) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=vip&status=all&cursor={fc}", base(&w)),
        )
        .await;
    assert_eq!(ids_of(&f2).len(), 4);
    assert!(f2["data"]["meta"]["next_cursor"].is_null());
    assert!(ids_of(&f2).iter().all(|id| id % 2 == 1));
    // A label's list follows activity: its oldest conversation gets a message and leads
    // the label's first page (on PostgreSQL the page is read from the label rows' copy of
    // the activity, which must move with the conversation).
    let oldest_vip = *ids_of(&f2).last().unwrap();
    send(
        s,
        &w,
        &w.admin.token,
        oldest_vip,
        json!({"content": "vip bump"}),
    )
    .await;
    let (_, f3) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=vip&status=all", base(&w)),
        )
        .await;
    assert_eq!(ids_of(&f3)[0], oldest_vip, "the bumped conversation leads");
    assert_eq!(f3["data"]["meta"]["all_count"], 29);
    let f3c = f3["data"]["meta"]["next_cursor"].as_str().unwrap();
    let (_, f4) = s
        .get(
            &w.admin.token,
            &format!("{}?labels[]=vip&status=all&cursor={f3c}", base(&w)),
        )
        .await;
    let mut walked = [ids_of(&f3), ids_of(&f4)].concat();
    walked.sort_unstable();
    walked.dedup();
    assert_eq!(walked.len(), 29, "every labelled conversation once");

    // A fixed number of queries whatever the page holds (no query per row): the same
    // for 25 rows as for one; a cursor page skips the counts.
    let full = reads_of(s, &w.admin.token, &base(&w)).await;
    assert_eq!(full, one_row, "25 rows cost what one row costs");
    let next = reads_of(s, &w.admin.token, &format!("{}?cursor={c1}", base(&w))).await;
    assert_eq!(next, full - 1, "a cursor page has no count query");
    // One for authentication (the token with the user's memberships), three for the
    // page: rows with labels, last messages, counts.
    assert_eq!(full, 4);
    // An agent's page adds the lookup of the agent's inboxes.
    assert_eq!(reads_of(s, &agent.token, &base(&w)).await, 5);

    // Bad cursors change nothing and say what is wrong.
    for bad in ["abc", "12", "12_x", "-5_3", "1_0", "99999999999999999999_1"] {
        let (st, body) = s
            .get(&w.admin.token, &format!("{}?cursor={bad}", base(&w)))
            .await;
        assert_error(st, &body, 422, "invalid_field");
        assert!(body.to_string().contains("cursor"), "{body}");
    }
    let (st, body) = s
        .get(&w.admin.token, &format!("{}?cursor={c1}&page=2", base(&w)))
        .await;
    assert_error(st, &body, 422, "invalid_field");
}

async fn messages_of(s: &TestServer, w: &World, id: i64) -> Vec<Value> {
    let (st, m) = s
        .get(&w.admin.token, &format!("{}/{id}/messages", base(w)))
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m["payload"].as_array().unwrap().clone()
}

async fn status_priority_assignment_labels_attributes(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    let url = |p: &str| format!("{}/1/{p}", base(&w));

    // Status.
    let (st, r) = s
        .post(
            &w.admin.token,
            &url("toggle_status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["meta"], json!({}));
    assert_eq!(r["payload"]["success"], true);
    assert_eq!(r["payload"]["current_status"], "resolved");
    assert_eq!(r["payload"]["conversation_id"], 1);
    let msgs = messages_of(s, &w, 1).await;
    let act = msgs.last().unwrap();
    assert_eq!(act["content"], "Conversation was marked resolved by Admin");
    assert_eq!(act["message_type"], 2);
    let (_, r) = s
        .post(&w.admin.token, &url("toggle_status"), json!({}))
        .await;
    assert_eq!(
        r["payload"]["current_status"], "open",
        "without a status it toggles"
    );
    let until = parley_core::now_ms() / 1000 + 3600;
    let (_, r) = s
        .post(
            &w.admin.token,
            &url("toggle_status"),
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert_eq!(r["payload"]["current_status"], "snoozed");
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["snoozed_until"], until);
    let n_before = messages_of(s, &w, 1).await.len();
    let (_, r) = s
        .post(
            &w.admin.token,
            &url("toggle_status"),
            json!({"status": "snoozed", "snoozed_until": until}),
        )
        .await;
    assert_eq!(r["payload"]["current_status"], "snoozed");
    assert_eq!(
        messages_of(s, &w, 1).await.len(),
        n_before,
        "no activity when nothing changed"
    );
    s.post(
        &w.admin.token,
        &url("toggle_status"),
        json!({"status": "open"}),
    )
    .await;

    // A snooze that has run out is ended by the worker, with an activity message.
    let past = parley_core::now_ms() / 1000 - 5;
    s.post(
        &w.admin.token,
        &url("toggle_status"),
        json!({"status": "snoozed", "snoozed_until": past}),
    )
    .await;
    assert_eq!(s.svc().reopen_due_snoozed().await.unwrap(), 1);
    assert_eq!(s.svc().reopen_due_snoozed().await.unwrap(), 0);
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["status"], "open");
    assert_eq!(c["snoozed_until"], Value::Null);
    let act = messages_of(s, &w, 1).await.last().unwrap().clone();
    assert_eq!(
        act["content"],
        "Conversation was reopened as the snooze ended"
    );

    // Priority.
    let (st, r) = s
        .post(
            &w.admin.token,
            &url("toggle_priority"),
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["payload"]["priority"], "urgent");
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["priority"], "urgent");
    let (_, _) = s
        .post(
            &w.admin.token,
            &url("toggle_priority"),
            json!({"priority": null}),
        )
        .await;
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["priority"], Value::Null);
    // PATCH sets it too and returns the conversation; a bodiless toggle clears it.
    let (st, c) = s
        .patch(
            &w.admin.token,
            &format!("{}/1", base(&w)),
            json!({"priority": "low"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["priority"], "low");
    assert_eq!(c["id"], 1);
    let res = s
        .http
        .post(s.url(&url("toggle_priority")))
        .header("api_access_token", &w.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["priority"], Value::Null);

    // Typing indicators of agents.
    let (st, t) = s
        .post(
            &w.admin.token,
            &url("toggle_typing_status"),
            json!({"typing_status": "on", "is_private": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");

    // Assignment: an agent of the inbox, then a team, then unassign.
    let agent = s.member(w.admin.account_id, "Maria", Role::Agent).await;
    let outsider = s.member(w.admin.account_id, "Pavel", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.inbox, agent.user_id)
        .await
        .unwrap();
    let (st, a) = s
        .post(
            &w.admin.token,
            &url("assignments"),
            json!({"assignee_id": agent.user_id}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["id"], agent.user_id);
    assert_eq!(a["name"], "Maria");
    assert_eq!(a["role"], "agent");
    assert_eq!(a["available_name"], "Maria");
    assert!(a["availability_status"].is_string());
    let act = messages_of(s, &w, 1).await.last().unwrap().clone();
    assert_eq!(act["content"], "Assigned to Maria by Admin");
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["meta"]["assignee"]["id"], agent.user_id);
    // Not in the inbox, not in the account, nonexistent: 422 and nothing changes.
    let other_account = s.admin("Other").await;
    for bad in [outsider.user_id, other_account.user_id, 999_999] {
        let (st, body) = s
            .post(
                &w.admin.token,
                &url("assignments"),
                json!({"assignee_id": bad}),
            )
            .await;
        assert_error(st, &body, 422, "invalid_field");
    }
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["meta"]["assignee"]["id"], agent.user_id);
    let team = fixtures::team(s.store(), w.admin.account_id, "Delivery")
        .await
        .unwrap();
    let (st, t) = s
        .post(
            &w.admin.token,
            &url("assignments"),
            json!({"team_id": team}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["id"], team);
    assert_eq!(t["name"], "Delivery");
    let (st, body) = s
        .post(
            &w.admin.token,
            &url("assignments"),
            json!({"team_id": 987_654}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    // With both, the agent wins (Chatwoot ignores team_id then).
    let (st, a) = s
        .post(
            &w.admin.token,
            &url("assignments"),
            json!({"assignee_id": agent.user_id, "team_id": 0}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["id"], agent.user_id);
    let (st, a) = s
        .post(
            &w.admin.token,
            &url("assignments"),
            json!({"assignee_id": null}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(a, Value::Null);
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["meta"]["assignee"], Value::Null);
    assert_eq!(c["meta"]["team"]["id"], team);

    // Labels.
    let (st, l) = s.get(&w.admin.token, &url("labels")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(l, json!({"payload": []}));
    let (st, l) = s
        .post(
            &w.admin.token,
            &url("labels"),
            json!({"labels": ["VIP", "billing", "vip"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    assert_eq!(l["payload"], json!(["billing", "vip"]));
    let (_, l) = s
        .post(
            &w.admin.token,
            &url("labels"),
            json!({"labels": ["delivery"]}),
        )
        .await;
    assert_eq!(l["payload"], json!(["delivery"]), "POST replaces");
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["labels"], json!(["delivery"]));

    // Custom attributes.
    let (st, r) = s
        .post(
            &w.admin.token,
            &url("custom_attributes"),
            json!({"custom_attributes": {"order_id": "A-17"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["custom_attributes"]["order_id"], "A-17");
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["custom_attributes"], json!({"order_id": "A-17"}));

    // Unread and last seen.
    let public = public_base(&w);
    s.call(
        Method::POST,
        None,
        &format!("{public}/1/messages"),
        Some(json!({"content": "hello?"})),
    )
    .await;
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(c["unread_count"], 1);
    assert!(c["waiting_since"].as_i64().unwrap() > 0);
    let (st, c) = s
        .post(&w.admin.token, &url("update_last_seen"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["unread_count"], 0);
    assert!(c["agent_last_seen_at"].as_i64().unwrap() > 0);
}

async fn messages_create_list_edit_delete(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    let (st, m) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "Здравствуйте! Чем помочь?", "echo_id": "e-1"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    for f in [
        "id",
        "content",
        "account_id",
        "inbox_id",
        "conversation_id",
        "message_type",
        "content_type",
        "content_attributes",
        "additional_attributes",
        "private",
        "status",
        "source_id",
        "echo_id",
        "sender_type",
        "sender_id",
        "sender",
        "created_at",
        "updated_at",
        "attachments",
    ] {
        assert!(m.get(f).is_some(), "{f} missing in {m}");
    }
    assert_eq!(m["content"], "Здравствуйте! Чем помочь?");
    assert_eq!(m["conversation_id"], 1);
    assert_eq!(m["account_id"], w.admin.account_id);
    assert_eq!(m["inbox_id"], w.inbox);
    assert_eq!(m["message_type"], 1);
    assert_eq!(m["content_type"], "text");
    assert_eq!(m["private"], false);
    assert_eq!(m["status"], "sent");
    assert_eq!(m["echo_id"], "e-1");
    assert_eq!(m["sender_type"], "User");
    assert_eq!(m["sender_id"], w.admin.user_id);
    assert_eq!(m["sender"]["id"], w.admin.user_id);
    assert_eq!(m["sender"]["name"], "Admin");
    assert_eq!(m["sender"]["type"], "user");
    assert_eq!(m["attachments"], json!([]));

    // A private note and structured content.
    let (_, note) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "VIP, be nice", "private": true}),
    )
    .await;
    assert_eq!(note["private"], true);
    let (st, sel) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "Pick one", "content_type": "input_select", "content_attributes": {"items": [{"title": "A", "value": "a"}]}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{sel}");
    assert_eq!(sel["content_type"], "input_select");
    assert_eq!(sel["content_attributes"]["items"][0]["value"], "a");

    // Incoming messages from an integration only in API inboxes.
    let (st, body) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "fake", "message_type": "incoming"}),
    )
    .await;
    assert_error(st, &body, 422, "invalid_field");
    let api = new_conversation(s, &w, json!({"inbox_id": w.api_inbox})).await;
    let api_id = api["id"].as_i64().unwrap();
    let (st, inc) = send(
        s,
        &w,
        &w.admin.token,
        api_id,
        json!({"content": "from CRM", "message_type": "incoming", "source_id": "crm-1"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{inc}");
    assert_eq!(inc["message_type"], 0);
    assert_eq!(inc["sender_type"], "Contact");
    assert_eq!(inc["sender"]["type"], "contact");
    assert_eq!(inc["source_id"], "crm-1");
    let (_, again) = send(
        s,
        &w,
        &w.admin.token,
        api_id,
        json!({"content": "from CRM", "message_type": "incoming", "source_id": "crm-1"}),
    )
    .await;
    assert_eq!(
        again["id"], inc["id"],
        "a redelivered source_id is the same message"
    );

    // List and paging.
    for i in 0..25 {
        send(
            s,
            &w,
            &w.admin.token,
            1,
            json!({"content": format!("n{i}")}),
        )
        .await;
    }
    let (st, page) = s
        .get(&w.admin.token, &format!("{}/1/messages", base(&w)))
        .await;
    assert_eq!(st, StatusCode::OK);
    let p = page["payload"].as_array().unwrap();
    assert_eq!(p.len(), 20);
    assert_eq!(p[19]["content"], "n24", "newest page, oldest first");
    assert!(
        p.windows(2)
            .all(|x| x[0]["id"].as_i64() < x[1]["id"].as_i64())
    );
    assert_eq!(page["meta"]["contact"]["id"], w.contact);
    assert!(page["meta"]["labels"].is_array());
    let first_id = p[0]["id"].as_i64().unwrap();
    let (_, older) = s
        .get(
            &w.admin.token,
            &format!("{}/1/messages?before={first_id}", base(&w)),
        )
        .await;
    let o = older["payload"].as_array().unwrap();
    assert_eq!(o.len(), 8);
    assert_eq!(o[0]["content"], "Здравствуйте! Чем помочь?");
    let (_, newer) = s
        .get(
            &w.admin.token,
            &format!("{}/1/messages?after={}", base(&w), o[7]["id"]),
        )
        .await;
    assert_eq!(newer["payload"][0]["id"], first_id);

    // Edit one's own message; someone else's is refused.
    let mid = m["id"].as_i64().unwrap();
    let (st, e) = s
        .patch(
            &w.admin.token,
            &format!("{}/1/messages/{mid}", base(&w)),
            json!({"content": "Добрый день!"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["content"], "Добрый день!");
    let sup = s
        .member(w.admin.account_id, "Sveta", Role::Supervisor)
        .await;
    let (st, body) = s
        .patch(
            &sup.token,
            &format!("{}/1/messages/{mid}", base(&w)),
            json!({"content": "hijack"}),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");
    let (st, body) = s
        .patch(
            &w.admin.token,
            &format!("{}/{api_id}/messages/{}", base(&w), inc["id"]),
            json!({"content": "x"}),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");

    // Delete.
    let (st, d) = s
        .delete(&w.admin.token, &format!("{}/1/messages/{mid}", base(&w)))
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["content"], "This message was deleted");
    assert_eq!(d["content_attributes"]["deleted"], true);
    let (st, body) = s
        .patch(
            &w.admin.token,
            &format!("{}/1/messages/{mid}", base(&w)),
            json!({"content": "back"}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .delete(&w.admin.token, &format!("{}/1/messages/999999", base(&w)))
        .await;
    assert_error(st, &body, 404, "not_found");
    // The message id of another conversation is not reachable through this one.
    let (st, body) = s
        .delete(
            &w.admin.token,
            &format!("{}/1/messages/{}", base(&w), inc["id"]),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    // Agents delete only their own.
    let agent = s.member(w.admin.account_id, "Kolya", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.inbox, agent.user_id)
        .await
        .unwrap();
    let (st, body) = s
        .delete(
            &agent.token,
            &format!("{}/1/messages/{}", base(&w), note["id"]),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");
}

async fn echo_id_retry_and_concurrent_sends(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    let (_, m1) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "once", "echo_id": "abc-1"}),
    )
    .await;
    let (st, m2) = send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "once", "echo_id": "abc-1"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(m1["id"], m2["id"]);
    assert_eq!(messages_of(s, &w, 1).await.len(), 1);

    let url = format!("{}/1/messages", base(&w));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (http, full, token) = (s.http.clone(), s.url(&url), w.admin.token.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(full)
                .header("api_access_token", token)
                .json(&json!({"content": "race", "echo_id": "race-1"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let all = messages_of(s, &w, 1).await;
    assert_eq!(all.iter().filter(|m| m["echo_id"] == "race-1").count(), 1);

    // The visitor's retries too.
    let public = public_base(&w);
    let (_, v1) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/messages"),
            Some(json!({"content": "hi", "echo_id": "v-1"})),
        )
        .await;
    let (_, v2) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/messages"),
            Some(json!({"content": "hi", "echo_id": "v-1"})),
        )
        .await;
    assert_eq!(v1["id"], v2["id"]);
    assert_eq!(v1["echo_id"], "v-1");
}

fn files_in(dir: &std::path::Path) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            walk(&e.path())
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir)
}

async fn attachments_round_trip_and_limits(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    let url = s.url(&format!("{}/1/messages", base(&w)));
    let png: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = Form::new()
        .text("content", "see attached")
        .text("echo_id", "up-1")
        .part(
            "attachments[]",
            Part::bytes(png.clone())
                .file_name("../../etc/photo.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "attachments[]",
            Part::bytes(b"%PDF-1.4 test".to_vec()).file_name("invoice.pdf"),
        );
    let res = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["content"], "see attached");
    let atts = m["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    let a = &atts[0];
    for f in [
        "id",
        "message_id",
        "file_type",
        "account_id",
        "extension",
        "data_url",
        "thumb_url",
        "file_size",
        "file_name",
    ] {
        assert!(a.get(f).is_some(), "{f} missing in {a}");
    }
    assert_eq!(a["file_type"], "image");
    assert_eq!(a["file_name"], "photo.png", "never the client's path");
    assert_eq!(a["extension"], "png");
    assert_eq!(a["file_size"], 5000);
    assert_eq!(a["message_id"], m["id"]);
    assert_eq!(a["account_id"], w.admin.account_id);
    assert_eq!(atts[1]["file_type"], "file");
    assert_eq!(atts[1]["extension"], "pdf");
    let data_url = a["data_url"].as_str().unwrap();
    let path = data_url
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap();
    let res = s
        .http
        .get(s.url(&path))
        .header("api_access_token", &w.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["content-length"], "5000");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("photo.png")
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);
    let pdf_path = atts[1]["data_url"]
        .as_str()
        .unwrap()
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap();
    let res = s
        .http
        .get(s.url(&pdf_path))
        .header("api_access_token", &w.admin.token)
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        res.headers()["content-type"],
        "application/pdf",
        "MIME guessed from the name"
    );
    // Stored under a random name inside the files directory.
    let files_dir = s.dir.path().join("files");
    assert_eq!(files_in(&files_dir), 2);
    // Without a token: 401; another account: 404.
    let res = s.http.get(s.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let b = world(s, "B").await;
    let other_path = path.replace(
        &format!("/accounts/{}/", w.admin.account_id),
        &format!("/accounts/{}/", b.admin.account_id),
    );
    let (st, _) = s.get(&b.admin.token, &other_path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get(&b.admin.token, &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The visitor downloads through the public route; the list shows public URLs.
    let public = public_base(&w);
    let (_, msgs) = s
        .call(Method::GET, None, &format!("{public}/1/messages"), None)
        .await;
    let pub_att = &msgs[0]["attachments"][0];
    let pub_url = pub_att["data_url"].as_str().unwrap();
    assert!(pub_url.contains("/public/api/v1/inboxes/"), "{pub_url}");
    let pub_path = pub_url
        .split_once("/public/")
        .map(|(_, p)| format!("/public/{p}"))
        .unwrap();
    let res = s.http.get(s.url(&pub_path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);

    // A private note's file is not reachable by the visitor.
    let form = Form::new()
        .text("content", "internal scan")
        .text("private", "true")
        .part(
            "attachments[]",
            Part::bytes(b"secret".to_vec())
                .file_name("scan.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let note: Value = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(note["private"], true);
    let note_att = note["attachments"][0]["id"].as_i64().unwrap();
    let secret = format!(
        "/public/api/v1/inboxes/{}/contacts/{}/attachments/{note_att}",
        w.inbox_ident, w.source
    );
    let (st, _) = s.call(Method::GET, None, &secret, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Oversize: 413 and nothing stored.
    let before_rows = s
        .store()
        .count_attachments(w.admin.account_id)
        .await
        .unwrap();
    let before_msgs = messages_of(s, &w, 1).await.len();
    let before_files = files_in(&files_dir);
    let big = vec![7u8; 1024 * 1024 + 10];
    let form = Form::new()
        .text("content", "too big")
        .part("attachments[]", Part::bytes(big).file_name("big.bin"));
    let res = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.headers()["connection"],
        "close",
        "the unread rest of the body"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(
        s.store()
            .count_attachments(w.admin.account_id)
            .await
            .unwrap(),
        before_rows
    );
    assert_eq!(messages_of(s, &w, 1).await.len(), before_msgs);
    assert_eq!(files_in(&files_dir), before_files);

    // Files under the per-file limit but over the per-message total: 413, nothing stored.
    let mut form = Form::new().text("content", "three big ones");
    for i in 0..3 {
        form = form.part(
            "attachments[]",
            Part::bytes(vec![3u8; 900 * 1024]).file_name(format!("p{i}.bin")),
        );
    }
    let res = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(files_in(&files_dir), before_files);
    assert_eq!(
        s.store()
            .count_attachments(w.admin.account_id)
            .await
            .unwrap(),
        before_rows
    );

    // Too many files: 422, nothing stored.
    let mut form = Form::new().text("content", "many");
    for i in 0..16 {
        form = form.part(
            "attachments[]",
            Part::bytes(vec![1u8; 10]).file_name(format!("f{i}.txt")),
        );
    }
    let res = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(files_in(&files_dir), before_files);

    // Deleting the message removes its files.
    let mid = m["id"].as_i64().unwrap();
    let (st, d) = s
        .delete(&w.admin.token, &format!("{}/1/messages/{mid}", base(&w)))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["attachments"], json!([]));
    assert_eq!(files_in(&files_dir), before_files - 2);
    let (st, _) = s.get(&w.admin.token, &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // An empty file input (browsers send a nameless, empty part) is no attachment.
    let form = Form::new()
        .text("content", "no file chosen")
        .part("attachments[]", Part::bytes(Vec::new()).file_name(""));
    let res = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let plain: Value = res.json().await.unwrap();
    assert_eq!(plain["attachments"], json!([]));

    // The visitor can upload too.
    let form = Form::new().part(
        "attachments[]",
        Part::bytes(b"hello".to_vec())
            .file_name("note.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let res = s
        .http
        .post(s.url(&format!("{public}/1/messages")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let vm: Value = res.json().await.unwrap();
    assert_eq!(vm["message_type"], 0);
    assert_eq!(vm["attachments"][0]["file_name"], "note.txt");
}

async fn client_api_flow_and_visitor_isolation(s: &TestServer) {
    let w = world(s, "A").await;
    let public = public_base(&w);
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &public,
            Some(json!({"custom_attributes": {"page": "/cart"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["id"], 1);
    assert_eq!(c["inbox_id"], w.inbox);
    assert_eq!(c["status"], "open");
    assert_eq!(c["contact"]["id"], w.contact);
    assert_eq!(c["messages"], json!([]));
    assert_eq!(c["custom_attributes"]["page"], "/cart");
    assert!(c["uuid"].is_string());

    let (st, m) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/messages"),
            Some(json!({"content": "Where is my order?", "echo_id": "w-1"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    for f in [
        "id",
        "content",
        "message_type",
        "content_type",
        "content_attributes",
        "created_at",
        "conversation_id",
        "attachments",
        "sender",
        "echo_id",
    ] {
        assert!(m.get(f).is_some(), "{f} missing in {m}");
    }
    assert_eq!(m["message_type"], 0);
    assert_eq!(m["conversation_id"], 1);
    assert_eq!(m["sender"]["type"], "contact");
    assert!(m.get("private").is_none());

    // The agent sees it, replies, and writes a private note.
    let (_, agent_view) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(agent_view["messages"][0]["content"], "Where is my order?");
    assert_eq!(agent_view["unread_count"], 1);
    assert!(
        agent_view["meta"]["sender"]["last_activity_at"]
            .as_i64()
            .unwrap()
            > 0,
        "the contact's activity is recorded"
    );
    send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "It ships today"}),
    )
    .await;
    send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "customer is angry", "private": true}),
    )
    .await;

    let (st, msgs) = s
        .call(Method::GET, None, &format!("{public}/1/messages"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let msgs = msgs.as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[1]["content"], "It ships today");
    assert_eq!(msgs[1]["message_type"], 1);
    assert_eq!(msgs[1]["sender"]["name"], "Admin");
    assert!(
        msgs[1]["sender"].get("email").is_none(),
        "agent e-mails stay private"
    );
    assert!(msgs.iter().all(|m| m["content"] != "customer is angry"));
    let (_, conv) = s
        .call(Method::GET, None, &format!("{public}/1"), None)
        .await;
    assert!(
        conv["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"] != "customer is angry")
    );
    let (_, list) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"] != "customer is angry")
    );

    // Typing and last seen.
    let (st, t) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/toggle_typing"),
            Some(json!({"typing_status": "on"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/toggle_typing"),
            Some(json!({"typing_status": "maybe"})),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, _) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/update_last_seen"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, agent_view) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert!(agent_view["contact_last_seen_at"].as_i64().unwrap() > 0);

    // The visitor resolves; a new message reopens it.
    let (st, r) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/toggle_status"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "resolved");
    s.call(
        Method::POST,
        None,
        &format!("{public}/1/messages"),
        Some(json!({"content": "one more thing"})),
    )
    .await;
    let (_, agent_view) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    assert_eq!(
        agent_view["status"], "open",
        "a new incoming message reopens"
    );

    // Another visitor of the same inbox reaches nothing of this one.
    let (_, _, other_source) = fixtures::contact(s.store(), w.admin.account_id, w.inbox, "Eve")
        .await
        .unwrap();
    let other = format!(
        "/public/api/v1/inboxes/{}/contacts/{other_source}/conversations",
        w.inbox_ident
    );
    let (_, list) = s.call(Method::GET, None, &other, None).await;
    assert_eq!(list, json!([]));
    for (m, p, b) in [
        (Method::GET, format!("{other}/1"), None),
        (Method::GET, format!("{other}/1/messages"), None),
        (
            Method::POST,
            format!("{other}/1/messages"),
            Some(json!({"content": "x"})),
        ),
        (Method::POST, format!("{other}/1/toggle_status"), None),
        (
            Method::POST,
            format!("{other}/1/toggle_typing"),
            Some(json!({"typing_status": "on"})),
        ),
        (Method::POST, format!("{other}/1/update_last_seen"), None),
    ] {
        let (st, body) = s.call(m, None, &p, b).await;
        assert_error(st, &body, 404, "not_found");
    }
    // Unknown identifiers.
    let (st, body) = s
        .call(
            Method::GET,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/nope/conversations",
                w.inbox_ident
            ),
            None,
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    // A visitor of account A cannot reach account B's conversation 1 through A's inbox.
    let b = world(s, "B").await;
    new_conversation(s, &b, json!({})).await;
    let (_, list) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (st, _) = s
        .call(Method::GET, None, &format!("{}/1", public_base(&b)), None)
        .await;
    assert_eq!(st, StatusCode::OK, "B's visitor sees B's own");
}

async fn bad_input_on_write_endpoints(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    send(s, &w, &w.admin.token, 1, json!({"content": "original"})).await;
    let before_conv = s.get(&w.admin.token, &format!("{}/1", base(&w))).await.1;
    let before_msgs = messages_of(s, &w, 1).await;
    let t = w.admin.token.clone();
    let b = base(&w);
    let mid = before_msgs[0]["id"].as_i64().unwrap();
    let public = public_base(&w);

    // Malformed JSON on every write endpoint.
    for (m, p) in [
        (Method::POST, b.clone()),
        (Method::POST, format!("{b}/1/toggle_status")),
        (Method::POST, format!("{b}/1/toggle_priority")),
        (Method::PATCH, format!("{b}/1")),
        (Method::POST, format!("{b}/1/toggle_typing_status")),
        (Method::POST, format!("{b}/1/assignments")),
        (Method::POST, format!("{b}/1/labels")),
        (Method::POST, format!("{b}/1/custom_attributes")),
        (Method::POST, format!("{b}/1/messages")),
        (Method::PATCH, format!("{b}/1/messages/{mid}")),
    ] {
        let (st, body) = s
            .raw(
                m.clone(),
                Some(&t),
                &p,
                "application/json",
                b"{\"content\": ".to_vec(),
            )
            .await;
        assert_error(st, &body, 400, "malformed_json");
        let (st, body) = s.raw(m, Some(&t), &p, "text/plain", b"{}".to_vec()).await;
        assert_error(st, &body, 415, "unsupported_media_type");
    }
    for p in [
        public.clone(),
        format!("{public}/1/messages"),
        format!("{public}/1/toggle_typing"),
    ] {
        let (st, body) = s
            .raw(
                Method::POST,
                None,
                &p,
                "application/json",
                b"{\"content\": ".to_vec(),
            )
            .await;
        assert_error(st, &body, 400, "malformed_json");
    }

    // Missing and wrong-typed fields.
    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        (
            Method::POST,
            b.clone(),
            json!({"contact_id": w.contact}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": "one", "contact_id": w.contact}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": w.inbox, "contact_id": 999_999}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": 999_999, "contact_id": w.contact}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": w.inbox, "contact_id": w.contact, "status": "closed"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": w.inbox, "contact_id": w.contact, "assignee_id": 999_999}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            b.clone(),
            json!({"inbox_id": w.inbox, "contact_id": w.contact, "custom_attributes": [1]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_status"),
            json!({"status": "archived"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_status"),
            json!({"status": 3}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_status"),
            json!({"status": "snoozed", "snoozed_until": -5}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_priority"),
            json!({"priority": "critical"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_priority"),
            json!({"priority": 5}),
            422,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("{b}/1"),
            json!({"priority": "asap"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_typing_status"),
            json!({"typing_status": "loud"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_typing_status"),
            json!({}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/assignments"),
            json!({}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/assignments"),
            json!({"assignee_id": "me"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/assignments"),
            json!({"assignee_id": 424_242}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/labels"),
            json!({"labels": "vip"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/labels"),
            json!({"labels": ["no spaces please"]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/labels"),
            json!({}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/custom_attributes"),
            json!({"custom_attributes": "x"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/custom_attributes"),
            json!({}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "   "}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": 5}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "message_type": "shout"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "message_type": "activity"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "content_type": "hologram"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "private": "yes"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "content_attributes": [1]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/1/messages"),
            json!({"content": "x", "echo_id": "e".repeat(200)}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/1/messages/{mid}"),
            json!({}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/1/messages/{mid}"),
            json!({"content": ["x"]}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/abc/messages"),
            json!({"content": "x"}),
            400,
            "invalid_path",
        ),
    ];
    for (m, p, body, status, code) in cases {
        let (st, res) = s.call(m, Some(&t), &p, Some(body.clone())).await;
        assert!(st.as_u16() == status, "{p} {body}: {st} {res}");
        assert_error(st, &res, status, code);
    }
    // Content over the body limit (64 KiB in tests) is 413; over the message limit
    // (150,000 characters) through multipart, whose fields are not bound by it, is 422.
    let (st, res) = send(s, &w, &t, 1, json!({"content": "x".repeat(100 * 1024)})).await;
    assert_error(st, &res, 413, "payload_too_large");
    let form = Form::new().text("content", "я".repeat(150_001));
    let r = s
        .http
        .post(s.url(&format!("{b}/1/messages")))
        .header("api_access_token", &t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = Form::new()
        .text("content", "ok")
        .text("content_attributes", "{not json");
    let r = s
        .http
        .post(s.url(&format!("{b}/1/messages")))
        .header("api_access_token", &t)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = s
        .http
        .post(s.url(&format!("{b}/1/messages")))
        .header("api_access_token", &t)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The public side.
    let (st, res) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/messages"),
            Some(json!({"content": ""})),
        )
        .await;
    assert_error(st, &res, 422, "invalid_field");
    let (st, res) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/messages"),
            Some(json!({"content": 1})),
        )
        .await;
    assert_error(st, &res, 422, "invalid_request");
    let (st, res) = s
        .call(
            Method::POST,
            None,
            &public,
            Some(json!({"custom_attributes": "x"})),
        )
        .await;
    assert_error(st, &res, 422, "invalid_field");
    let (st, res) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/1/toggle_typing"),
            Some(json!({})),
        )
        .await;
    assert_error(st, &res, 422, "invalid_request");

    // Nothing changed.
    let after_conv = s.get(&t, &format!("{b}/1")).await.1;
    for f in ["status", "priority", "labels", "custom_attributes", "meta"] {
        assert_eq!(before_conv[f], after_conv[f], "{f} changed");
    }
    assert_eq!(messages_of(s, &w, 1).await, before_msgs);
    let (_, l) = s.get(&t, &format!("{b}/meta?status=all")).await;
    assert_eq!(l["meta"]["all_count"], 1);
    let (_, pl) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(pl.as_array().unwrap().len(), 1);
}

async fn tenant_isolation_on_every_route(s: &TestServer) {
    let a = world(s, "A").await;
    let b = world(s, "B").await;
    new_conversation(s, &a, json!({})).await;
    let (_, m) = send(s, &a, &a.admin.token, 1, json!({"content": "secret of A"})).await;
    let mid = m["id"].as_i64().unwrap();
    // B's token on A's account paths.
    let ab = base(&a);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, ab.clone(), None),
        (Method::GET, format!("{ab}/meta"), None),
        (
            Method::POST,
            ab.clone(),
            Some(json!({"inbox_id": a.inbox, "contact_id": a.contact})),
        ),
        (Method::GET, format!("{ab}/1"), None),
        (
            Method::POST,
            format!("{ab}/1/toggle_status"),
            Some(json!({"status": "resolved"})),
        ),
        (
            Method::POST,
            format!("{ab}/1/toggle_priority"),
            Some(json!({"priority": "high"})),
        ),
        (
            Method::PATCH,
            format!("{ab}/1"),
            Some(json!({"priority": "high"})),
        ),
        (
            Method::POST,
            format!("{ab}/1/toggle_typing_status"),
            Some(json!({"typing_status": "on"})),
        ),
        (
            Method::POST,
            format!("{ab}/1/assignments"),
            Some(json!({"assignee_id": b.admin.user_id})),
        ),
        (Method::GET, format!("{ab}/1/labels"), None),
        (
            Method::POST,
            format!("{ab}/1/labels"),
            Some(json!({"labels": ["x"]})),
        ),
        (
            Method::POST,
            format!("{ab}/1/custom_attributes"),
            Some(json!({"custom_attributes": {}})),
        ),
        (Method::POST, format!("{ab}/1/update_last_seen"), None),
        (Method::GET, format!("{ab}/1/messages"), None),
        (
            Method::POST,
            format!("{ab}/1/messages"),
            Some(json!({"content": "x"})),
        ),
        (
            Method::PATCH,
            format!("{ab}/1/messages/{mid}"),
            Some(json!({"content": "x"})),
        ),
        (Method::DELETE, format!("{ab}/1/messages/{mid}"), None),
    ];
    for (m, p, body) in &routes {
        let (st, res) = s
            .call(m.clone(), Some(&b.admin.token), p, body.clone())
            .await;
        assert_error(st, &res, 404, "not_found");
    }
    // B's token on B's own paths with A's ids: B has a conversation 1 of its own only
    // after it creates one; before that, A's conversation is invisible.
    let bb = base(&b);
    for (m, p, body) in [
        (Method::GET, format!("{bb}/1"), None),
        (Method::GET, format!("{bb}/1/messages"), None),
        (
            Method::POST,
            format!("{bb}/1/messages"),
            Some(json!({"content": "x"})),
        ),
        (
            Method::POST,
            bb.clone(),
            Some(json!({"inbox_id": a.inbox, "contact_id": b.contact})),
        ),
        (
            Method::POST,
            bb.clone(),
            Some(json!({"inbox_id": b.inbox, "contact_id": a.contact})),
        ),
    ] {
        let (st, res) = s.call(m, Some(&b.admin.token), &p, body).await;
        assert!(
            st == StatusCode::NOT_FOUND || st == StatusCode::UNPROCESSABLE_ENTITY,
            "{p}: {st} {res}"
        );
    }
    new_conversation(s, &b, json!({})).await;
    for (m, p, body) in [
        (
            Method::PATCH,
            format!("{bb}/1/messages/{mid}"),
            Some(json!({"content": "x"})),
        ),
        (Method::DELETE, format!("{bb}/1/messages/{mid}"), None),
    ] {
        let (st, res) = s.call(m, Some(&b.admin.token), &p, body).await;
        assert_error(st, &res, 404, "not_found");
    }
    let (_, l) = s.get(&b.admin.token, &format!("{bb}?status=all")).await;
    assert_eq!(l["data"]["meta"]["all_count"], 1);
    // A is untouched.
    let (_, c) = s.get(&a.admin.token, &format!("{ab}/1")).await;
    assert_eq!(c["status"], "open");
    assert_eq!(c["priority"], Value::Null);
    assert_eq!(c["labels"], json!([]));
    assert_eq!(messages_of(s, &a, 1).await[0]["content"], "secret of A");
    // A visitor of B cannot reach A's conversations with A's inbox identifier.
    let cross = format!(
        "/public/api/v1/inboxes/{}/contacts/{}/conversations",
        a.inbox_ident, b.source
    );
    let (st, res) = s.call(Method::GET, None, &cross, None).await;
    assert_error(st, &res, 404, "not_found");
}

async fn agents_see_only_their_inboxes(s: &TestServer) {
    let w = world(s, "A").await;
    new_conversation(s, &w, json!({})).await;
    new_conversation(s, &w, json!({"inbox_id": w.api_inbox})).await;
    let (_, m) = send(s, &w, &w.admin.token, 1, json!({"content": "hi"})).await;
    let mid = m["id"].as_i64().unwrap();
    let agent = s.member(w.admin.account_id, "Maria", Role::Agent).await;
    fixtures::inbox_member(s.store(), w.api_inbox, agent.user_id)
        .await
        .unwrap();
    let b = base(&w);
    let (_, l) = s.get(&agent.token, &format!("{b}?status=all")).await;
    let ids: Vec<&Value> = l["data"]["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, vec![&json!(2)]);
    assert_eq!(l["data"]["meta"]["all_count"], 1);
    for (m, p, body) in [
        (Method::GET, format!("{b}/1"), None),
        (Method::GET, format!("{b}/1/messages"), None),
        (
            Method::POST,
            format!("{b}/1/messages"),
            Some(json!({"content": "x"})),
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_status"),
            Some(json!({"status": "resolved"})),
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_priority"),
            Some(json!({"priority": "low"})),
        ),
        (
            Method::PATCH,
            format!("{b}/1"),
            Some(json!({"priority": "low"})),
        ),
        (
            Method::POST,
            format!("{b}/1/toggle_typing_status"),
            Some(json!({"typing_status": "on"})),
        ),
        (
            Method::POST,
            format!("{b}/1/assignments"),
            Some(json!({"assignee_id": agent.user_id})),
        ),
        (Method::GET, format!("{b}/1/labels"), None),
        (
            Method::POST,
            format!("{b}/1/labels"),
            Some(json!({"labels": ["x"]})),
        ),
        (
            Method::POST,
            format!("{b}/1/custom_attributes"),
            Some(json!({"custom_attributes": {}})),
        ),
        (Method::POST, format!("{b}/1/update_last_seen"), None),
        (
            Method::PATCH,
            format!("{b}/1/messages/{mid}"),
            Some(json!({"content": "x"})),
        ),
        (Method::DELETE, format!("{b}/1/messages/{mid}"), None),
    ] {
        let (st, res) = s.call(m, Some(&agent.token), &p, body).await;
        assert_error(st, &res, 404, "not_found");
    }
    // Nor can they open a conversation in that inbox.
    let (st, res) = s
        .post(
            &agent.token,
            &b,
            json!({"inbox_id": w.inbox, "contact_id": w.contact}),
        )
        .await;
    assert_error(st, &res, 422, "invalid_field");
    // Their own inbox works; a supervisor sees everything.
    let (st, _) = s.get(&agent.token, &format!("{b}/2")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, r) = send(s, &w, &agent.token, 2, json!({"content": "on it"})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let sup = s
        .member(w.admin.account_id, "Sveta", Role::Supervisor)
        .await;
    let (_, l) = s.get(&sup.token, &format!("{b}?status=all")).await;
    assert_eq!(l["data"]["meta"]["all_count"], 2);
    // After joining the inbox the agent sees conversation 1.
    fixtures::inbox_member(s.store(), w.inbox, agent.user_id)
        .await
        .unwrap();
    let (st, _) = s.get(&agent.token, &format!("{b}/1")).await;
    assert_eq!(st, StatusCode::OK);
}

async fn events_and_metrics(s: &TestServer) {
    let w = world(s, "A").await;
    let mut rx = s.svc().bus.subscribe();
    new_conversation(s, &w, json!({})).await;
    send(
        s,
        &w,
        &w.admin.token,
        1,
        json!({"content": "evented", "private": true}),
    )
    .await;
    s.post(
        &w.admin.token,
        &format!("{}/1/toggle_status", base(&w)),
        json!({"status": "resolved"}),
    )
    .await;
    let public = public_base(&w);
    s.call(
        Method::POST,
        None,
        &format!("{public}/1/toggle_typing"),
        Some(json!({"typing_status": "on"})),
    )
    .await;
    let mut names = Vec::new();
    while let Ok(Ok(ev)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await
    {
        assert_eq!(ev.account_id, w.admin.account_id);
        if ev.name == "message.created" && ev.data["content"] == "evented" {
            assert_eq!(
                ev.data["private"], true,
                "subscribers can filter private notes"
            );
            assert_eq!(ev.data["conversation_id"], 1);
        }
        if ev.name == "conversation.status_changed" {
            assert_eq!(ev.data["status"], "resolved");
        }
        names.push(ev.name.clone());
    }
    for n in [
        "conversation.created",
        "message.created",
        "conversation.status_changed",
        "conversation.typing_on",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("parley_messages_stored_total"), "{text}");
    let (_, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    for p in [
        "/api/v1/accounts/{account_id}/conversations",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
        "/api/v1/accounts/{account_id}/attachments/{attachment_id}",
        "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} not documented");
    }
}

/// The documented properties of a schema in the OpenAPI document.
fn documented(doc: &Value, name: &str) -> std::collections::BTreeSet<String> {
    doc["components"]["schemas"][name]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {name} missing"))
        .keys()
        .cloned()
        .collect()
}

fn keys(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

async fn openapi_schemas_match_responses(s: &TestServer) {
    let w = world(s, "A").await;
    let team = fixtures::team(s.store(), w.admin.account_id, "Delivery")
        .await
        .unwrap();
    new_conversation(
        s,
        &w,
        json!({"assignee_id": w.admin.user_id, "team_id": team}),
    )
    .await;
    let url = s.url(&format!("{}/1/messages", base(&w)));
    let form = Form::new().text("content", "file").part(
        "attachments[]",
        Part::bytes(b"abc".to_vec()).file_name("a.txt"),
    );
    let m: Value = s
        .http
        .post(&url)
        .header("api_access_token", &w.admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, c) = s.get(&w.admin.token, &format!("{}/1", base(&w))).await;
    let (_, list) = s.get(&w.admin.token, &base(&w)).await;
    let (_, page) = s
        .get(&w.admin.token, &format!("{}/1/messages", base(&w)))
        .await;
    let (_, toggled) = s
        .post(
            &w.admin.token,
            &format!("{}/1/toggle_status", base(&w)),
            json!({"status": "pending"}),
        )
        .await;
    let public = public_base(&w);
    let (_, pconv) = s
        .call(Method::GET, None, &format!("{public}/1"), None)
        .await;
    let (_, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;

    let pairs: Vec<(&str, &Value)> = vec![
        ("Conversation", &c),
        ("ConversationMeta", &c["meta"]),
        ("ConversationContact", &c["meta"]["sender"]),
        ("ConversationAgent", &c["meta"]["assignee"]),
        ("ConversationTeam", &c["meta"]["team"]),
        ("Message", &m),
        ("Attachment", &m["attachments"][0]),
        ("MessageSender", &m["sender"]),
        ("ConversationList", &list),
        ("ConversationListData", &list["data"]),
        ("ConversationListMeta", &list["data"]["meta"]),
        ("MessageList", &page),
        ("MessageListMeta", &page["meta"]),
        ("StatusToggledResponse", &toggled),
        ("StatusToggled", &toggled["payload"]),
        ("PublicConversation", &pconv),
        ("PublicConversationContact", &pconv["contact"]),
        ("PublicMessage", &pconv["messages"][0]),
    ];
    for (name, v) in pairs {
        assert_eq!(documented(&doc, name), keys(v), "schema {name} vs {v}");
    }
}

/// `mute` resolves a conversation and, for six hours, the contact's messages are stored
/// without reopening it or starting a wait; `unmute` (or the six hours passing) lets the next
/// one reopen it as usual. Each change has its activity line; agents reach only what they
/// see; an unknown conversation is a 404 and changes nothing.
async fn mute_keeps_the_contact_from_reopening(
    s: &TestServer,
    clock: &parley_core::time::ManualClock,
) {
    let w = world(s, "A").await;
    let id = new_conversation(s, &w, json!({})).await["id"]
        .as_i64()
        .unwrap();
    let b = base(&w);
    let contact_says = |text: &'static str| {
        let url = format!("{}/{id}/messages", public_base(&w));
        async move {
            let (st, m) = s
                .call(Method::POST, None, &url, Some(json!({"content": text})))
                .await;
            assert_eq!(st, StatusCode::OK, "{m}");
        }
    };
    let show = || async {
        let (st, c) = s.get(&w.admin.token, &format!("{b}/{id}")).await;
        assert_eq!(st, StatusCode::OK, "{c}");
        c
    };
    contact_says("hello").await;
    assert_eq!(show().await["muted"], false);

    let (st, v) = s
        .post(&w.admin.token, &format!("{b}/{id}/mute"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["muted"], true);
    // Muting again changes nothing visible (no second line).
    let (st, _) = s
        .post(&w.admin.token, &format!("{b}/{id}/mute"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);

    contact_says("casino bonus").await;
    let c = show().await;
    assert_eq!(c["status"], "resolved", "{c}");
    assert_eq!(c["muted"], true);
    assert!(c["waiting_since"].as_i64().unwrap_or(0) == 0, "{c}");
    let texts: Vec<String> = messages_of(s, &w, id)
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(texts.contains(&"casino bonus".to_string()), "{texts:?}");
    let lines: Vec<Value> = messages_of(s, &w, id)
        .await
        .into_iter()
        .filter(|m| m["message_type"] == 2)
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .filter_map(|m| m["content_attributes"]["activity"]["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["resolved", "muted"], "{lines:?}");

    // An agent who does not see the inbox cannot mute or unmute; an unknown id is a 404.
    let outsider = s.member(w.admin.account_id, "Maria", Role::Agent).await;
    for action in ["mute", "unmute"] {
        let (st, e) = s
            .post(&outsider.token, &format!("{b}/{id}/{action}"), json!({}))
            .await;
        assert_error(st, &e, 404, "not_found");
        let (st, e) = s
            .post(&w.admin.token, &format!("{b}/999/{action}"), json!({}))
            .await;
        assert_error(st, &e, 404, "not_found");
    }
    assert_eq!(show().await["muted"], true);

    // Unmuted: the next message reopens it.
    let (st, v) = s
        .post(&w.admin.token, &format!("{b}/{id}/unmute"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["muted"], false);
    contact_says("still there?").await;
    assert_eq!(show().await["status"], "open");

    // A mute ends by itself after six hours.
    let (st, _) = s
        .post(&w.admin.token, &format!("{b}/{id}/mute"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    clock.advance(6 * 3_600_000 - 1_000);
    contact_says("one more").await;
    assert_eq!(show().await["status"], "resolved");
    clock.advance(2_000);
    assert_eq!(show().await["muted"], false);
    contact_says("and again").await;
    assert_eq!(show().await["status"], "open");
    let kinds: Vec<String> = messages_of(s, &w, id)
        .await
        .iter()
        .filter_map(|m| {
            m["content_attributes"]["activity"]["kind"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(
        kinds,
        ["resolved", "muted", "unmuted", "resolved", "muted"],
        "{kinds:?}"
    );
}
