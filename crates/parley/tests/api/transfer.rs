//! Transfers (`POST …/conversations/{id}/transfer`) and the structured activity lines, on
//! both backends: a transfer with a note is one change with its events; bad input is
//! refused with a 4xx and stores no note and moves no assignee; a transfer to a team with
//! nobody available queues the conversation by the routing rules and never hands it back
//! to the agent who passed it on; every activity line carries its description in
//! `content_attributes.activity`, and visitors see neither notes nor activity lines.

use crate::common;

use common::ws::{Visitor, WsClient, api_inbox};
use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    transfer_to_an_agent_with_a_note_is_one_change,
    bad_transfers_are_refused_and_change_nothing,
    transfer_to_a_team_queues_it_by_the_routing_rules,
    activity_lines_carry_their_description,
);

struct Shop {
    admin: Actor,
    anna: Actor,
    boris: Actor,
    /// An agent of the account who is not a member of the inbox.
    pavel: Actor,
    inbox_id: i64,
    inbox: String,
    payments: i64,
}

fn acct(a: &Actor) -> String {
    format!("/api/v1/accounts/{}", a.account_id)
}

/// An account with an API inbox (automatic assignment), Anna and Boris as its members,
/// Pavel outside it, and a Payments team with Boris only. Nobody is online.
async fn shop(s: &TestServer) -> Shop {
    let admin = s.admin("Shop").await;
    let anna = s.member(admin.account_id, "Anna", Role::Agent).await;
    let boris = s.member(admin.account_id, "Boris", Role::Agent).await;
    let pavel = s.member(admin.account_id, "Pavel", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/inbox_members", acct(&admin)),
            json!({"inbox_id": inbox_id, "user_ids": [anna.user_id, boris.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    let (st, team) = s
        .post(
            &admin.token,
            &format!("{}/teams", acct(&admin)),
            json!({"name": "Payments"}),
        )
        .await;
    assert!(st.is_success(), "{team}");
    let payments = team["id"].as_i64().unwrap();
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/teams/{payments}/team_members", acct(&admin)),
            json!({"user_ids": [boris.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    Shop {
        admin,
        anna,
        boris,
        pavel,
        inbox_id,
        inbox,
        payments,
    }
}

async fn set_online(s: &TestServer, admin: &Actor, agent: &Actor) {
    let (st, body) = s
        .patch(
            &admin.token,
            &format!("{}/agents/{}", acct(admin), agent.user_id),
            json!({"availability_status": "online", "auto_offline": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn conversation(s: &TestServer, who: &Actor, id: i64) -> Value {
    let (st, c) = s
        .get(&who.token, &format!("{}/conversations/{id}", acct(who)))
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    c
}

/// Waits (polling the API) until `check` holds; the bound only turns a hang into a failure.
async fn conversation_until(
    s: &TestServer,
    who: &Actor,
    id: i64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..2000 {
        let c = conversation(s, who, id).await;
        if check(&c) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("conversation {id} never reached: {what}");
}

async fn messages(s: &TestServer, who: &Actor, id: i64) -> Vec<Value> {
    let (st, m) = s
        .get(
            &who.token,
            &format!("{}/conversations/{id}/messages", acct(who)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    m["payload"].as_array().unwrap().clone()
}

async fn transfer(s: &TestServer, who: &Actor, id: i64, body: Value) -> (StatusCode, Value) {
    s.post(
        &who.token,
        &format!("{}/conversations/{id}/transfer", acct(who)),
        body,
    )
    .await
}

/// What the visitor can read: the Client API's messages and every event their socket
/// replays from the start.
async fn visitor_view(s: &TestServer, v: &Visitor) -> (Vec<Value>, Vec<Value>) {
    let res = s
        .http
        .get(s.url(&format!(
            "/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
            v.inbox_identifier, v.source_id, v.conversation_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let msgs: Value = res.json().await.unwrap();
    let mut ws = WsClient::visitor(s, v, Some(0)).await;
    let (events, _) = ws.until_ready().await;
    (msgs.as_array().unwrap().clone(), events)
}

fn activity(m: &Value) -> &Value {
    &m["content_attributes"]["activity"]
}

async fn transfer_to_an_agent_with_a_note_is_one_change(s: &TestServer) {
    let w = shop(s).await;
    let v = Visitor::new(s, &w.inbox).await;
    v.post(s, v.conversation_id, "Where is my refund?").await;
    let id = v.conversation_id;
    let before = conversation(s, &w.admin, id).await;
    assert!(
        before["queued_at"].is_i64(),
        "nobody online: queued {before}"
    );
    let mut agent_ws = WsClient::agent(s, &w.admin, None).await;
    agent_ws.until_ready().await;

    let (st, r) = transfer(
        s,
        &w.admin,
        id,
        json!({"assignee_id": w.anna.user_id, "note": "  Courier says tomorrow; promise a call back  "}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let c = &r["conversation"];
    assert_eq!(c["id"], id);
    assert_eq!(c["meta"]["assignee"]["id"], w.anna.user_id);
    assert_eq!(c["queued_at"], Value::Null, "it left the queue");
    let sent = r["messages"].as_array().unwrap();
    assert_eq!(sent.len(), 2, "{r}");
    assert_eq!(
        sent[0]["content"],
        "Courier says tomorrow; promise a call back"
    );
    assert_eq!(sent[0]["private"], true);
    assert_eq!(sent[0]["message_type"], 1);
    assert_eq!(sent[0]["sender"]["id"], w.admin.user_id);
    assert_eq!(sent[1]["message_type"], 2);
    assert_eq!(sent[1]["content"], "Transferred to Anna by Admin");
    assert_eq!(
        activity(&sent[1]),
        &json!({"kind": "transferred", "by": "Admin", "agent": "Anna", "team": null})
    );

    // Stored in that order, after the visitor's message.
    let stored = messages(s, &w.admin, id).await;
    let tail: Vec<&Value> = stored.iter().rev().take(2).rev().collect();
    assert_eq!(tail[0]["id"], sent[0]["id"]);
    assert_eq!(tail[1]["id"], sent[1]["id"]);

    // Agents hear of all of it: both messages and the new assignee.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let f = agent_ws.json().await;
        match f["event"].as_str() {
            Some("message.created") if f["data"]["conversation_id"] == id => {
                seen.push(format!("message:{}", f["data"]["id"]));
            }
            Some("assignee.changed") if f["data"]["id"] == id => {
                assert_eq!(f["data"]["meta"]["assignee"]["id"], w.anna.user_id);
                seen.push("assignee".into());
            }
            _ => {}
        }
    }
    assert!(
        seen.contains(&format!("message:{}", sent[0]["id"])),
        "{seen:?}"
    );
    assert!(
        seen.contains(&format!("message:{}", sent[1]["id"])),
        "{seen:?}"
    );
    assert!(seen.contains(&"assignee".to_string()), "{seen:?}");

    // Anna now holds it and sees the note; the visitor sees neither the note nor the line.
    let (st, _) = s
        .get(
            &w.anna.token,
            &format!("{}/conversations/{id}", acct(&w.anna)),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (msgs, events) = visitor_view(s, &v).await;
    assert!(
        msgs.iter().any(|m| m["content"] == "Where is my refund?"),
        "{msgs:?}"
    );
    let everything = format!("{msgs:?} {events:?}");
    assert!(!everything.contains("Courier says"), "{everything}");
    assert!(!everything.contains("Transferred to"), "{everything}");
}

async fn bad_transfers_are_refused_and_change_nothing(s: &TestServer) {
    let w = shop(s).await;
    let v = Visitor::new(s, &w.inbox).await;
    v.post(s, v.conversation_id, "Hello").await;
    let id = v.conversation_id;
    let (st, r) = transfer(s, &w.admin, id, json!({"assignee_id": w.anna.user_id})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let before_msgs = messages(s, &w.admin, id).await;
    let other = s.admin("Elsewhere").await;
    let (st, other_team) = s
        .post(
            &other.token,
            &format!("{}/teams", acct(&other)),
            json!({"name": "Theirs"}),
        )
        .await;
    assert!(st.is_success());
    let note = "SECRET NOTE";
    let long = "я".repeat(10_001);
    let refused: Vec<(Value, &str)> = vec![
        (json!({}), "assignee_id"),
        (json!({"note": note}), "assignee_id"),
        (
            json!({"assignee_id": w.boris.user_id, "note": long}),
            "note",
        ),
        (
            json!({"assignee_id": w.pavel.user_id, "note": note}),
            "assignee_id",
        ),
        (
            json!({"assignee_id": other.user_id, "note": note}),
            "assignee_id",
        ),
        (json!({"assignee_id": 999_999, "note": note}), "assignee_id"),
        (json!({"team_id": 999_999, "note": note}), "team_id"),
        (
            json!({"team_id": other_team["id"], "note": note}),
            "team_id",
        ),
        // Anna is not in Payments.
        (
            json!({"assignee_id": w.anna.user_id, "team_id": w.payments, "note": note}),
            "assignee_id",
        ),
        // Already hers.
        (
            json!({"assignee_id": w.anna.user_id, "note": note}),
            "assignee_id",
        ),
    ];
    for (body, field) in refused {
        let (st, r) = transfer(s, &w.admin, id, body.clone()).await;
        assert_error(st, &r, 422, "invalid_field");
        assert_eq!(r["error"]["field"], field, "{body} → {r}");
    }
    // Wrong shapes.
    for body in [
        json!({"assignee_id": "Anna"}),
        json!({"team_id": [1]}),
        json!({"assignee_id": w.boris.user_id, "note": 5}),
    ] {
        let (st, r) = transfer(s, &w.admin, id, body.clone()).await;
        assert_error(st, &r, 422, "invalid_request");
    }
    let (st, r) = s
        .raw(
            Method::POST,
            Some(&w.admin.token),
            &format!("{}/conversations/{id}/transfer", acct(&w.admin)),
            "application/json",
            b"{\"assignee_id\": ".to_vec(),
        )
        .await;
    assert_error(st, &r, 400, "malformed_json");
    // Callers who may not see the conversation: Pavel (not in the inbox), another account,
    // nobody.
    let (st, r) = transfer(
        s,
        &w.pavel,
        id,
        json!({"assignee_id": w.boris.user_id, "note": note}),
    )
    .await;
    assert_error(st, &r, 404, "not_found");
    let (st, r) = s
        .post(
            &other.token,
            &format!("{}/conversations/{id}/transfer", acct(&w.admin)),
            json!({"assignee_id": w.boris.user_id, "note": note}),
        )
        .await;
    assert!(matches!(st.as_u16(), 403 | 404), "{st} {r}");
    let (st, _) = s
        .call(
            Method::POST,
            None,
            &format!("{}/conversations/{id}/transfer", acct(&w.admin)),
            Some(json!({"assignee_id": w.boris.user_id, "note": note})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, r) = transfer(
        s,
        &w.admin,
        999,
        json!({"assignee_id": w.boris.user_id, "note": note}),
    )
    .await;
    assert_error(st, &r, 404, "not_found");

    // Nothing of it happened: same assignee and team, no note, no new line.
    let c = conversation(s, &w.admin, id).await;
    assert_eq!(c["meta"]["assignee"]["id"], w.anna.user_id);
    assert_eq!(c["meta"]["team"], Value::Null);
    let after_msgs = messages(s, &w.admin, id).await;
    assert_eq!(after_msgs, before_msgs);
    assert!(!format!("{after_msgs:?}").contains(note));
}

async fn transfer_to_a_team_queues_it_by_the_routing_rules(s: &TestServer) {
    let w = shop(s).await;
    // Anna is in Payments too; she and the admin hold the conversation, Boris is offline.
    let (st, body) = s
        .post(
            &w.admin.token,
            &format!("{}/teams/{}/team_members", acct(&w.admin), w.payments),
            json!({"user_ids": [w.anna.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    set_online(s, &w.admin, &w.anna).await;
    let v = Visitor::new(s, &w.inbox).await;
    v.post(s, v.conversation_id, "My card was charged twice")
        .await;
    let id = v.conversation_id;
    let c = conversation_until(s, &w.admin, id, "assigned to Anna", |c| {
        c["meta"]["assignee"]["id"] == w.anna.user_id
    })
    .await;
    assert_eq!(c["meta"]["team"], Value::Null);

    // Anna hands it to Payments without naming anyone: not back to her, and Boris is
    // offline, so it waits in the Payments queue.
    let (st, r) = transfer(
        s,
        &w.anna,
        id,
        json!({"team_id": w.payments, "note": "Double charge, needs a refund"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["conversation"]["meta"]["team"]["id"], w.payments);
    assert_eq!(r["conversation"]["meta"]["assignee"], Value::Null, "{r}");
    assert!(r["conversation"]["queued_at"].is_i64(), "{r}");
    assert_eq!(
        activity(&r["messages"][1]),
        &json!({"kind": "transferred", "by": "Anna", "agent": null, "team": "Payments"})
    );
    assert_eq!(
        r["messages"][1]["content"],
        "Transferred to Payments team by Anna"
    );
    let (st, queues) = s
        .get(
            &w.admin.token,
            &format!("{}/routing/queues", acct(&w.admin)),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{queues}");
    let q = queues["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["team_id"] == w.payments)
        .unwrap_or_else(|| panic!("no Payments queue: {queues}"));
    assert_eq!(q["conversations"][0]["id"], id);

    // Boris comes online: the queue's head is his.
    set_online(s, &w.admin, &w.boris).await;
    conversation_until(s, &w.admin, id, "assigned to Boris", |c| {
        c["meta"]["assignee"]["id"] == w.boris.user_id
    })
    .await;
    let lines: Vec<Value> = messages(s, &w.admin, id)
        .await
        .iter()
        .filter(|m| m["message_type"] == 2)
        .map(|m| activity(m).clone())
        .collect();
    assert_eq!(
        lines.last(),
        Some(&json!({"kind": "auto_assigned", "agent": "Boris", "returning": false})),
        "{lines:?}"
    );

    // Transferring out of the team to no particular agent: routing gives it to Anna, the
    // only one online (Boris handed it over).
    let (st, r) = transfer(s, &w.boris, id, json!({"team_id": null})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["messages"].as_array().unwrap().len(), 1, "no note: {r}");
    assert_eq!(
        activity(&r["messages"][0]),
        &json!({"kind": "transferred", "by": "Boris", "agent": null, "team": null})
    );
    let c = conversation(s, &w.admin, id).await;
    assert_eq!(c["meta"]["team"], Value::Null);
    assert_eq!(c["meta"]["assignee"]["id"], w.anna.user_id, "{c}");
    let _ = w.inbox_id;
}

async fn activity_lines_carry_their_description(s: &TestServer) {
    let w = shop(s).await;
    let v = Visitor::new(s, &w.inbox).await;
    v.post(s, v.conversation_id, "Hi").await;
    let id = v.conversation_id;
    let url = |p: &str| format!("{}/conversations/{id}/{p}", acct(&w.admin));
    let post = |p: &'static str, body: Value| {
        let u = url(p);
        let token = w.admin.token.clone();
        async move {
            let (st, r) = s.post(&token, &u, body).await;
            assert_eq!(st, StatusCode::OK, "{p}: {r}");
        }
    };
    post("assignments", json!({"assignee_id": w.anna.user_id})).await;
    post("assignments", json!({"team_id": w.payments})).await;
    post("assignments", json!({"team_id": null})).await;
    post("assignments", json!({"assignee_id": null})).await;
    post("assignments", json!({"assignee_id": w.admin.user_id})).await;
    post("toggle_status", json!({"status": "pending"})).await;
    post("toggle_status", json!({"status": "resolved"})).await;
    post("toggle_status", json!({"status": "open"})).await;
    post(
        "toggle_status",
        json!({"status": "snoozed", "snoozed_until": parley_core::now_ms() / 1000 + 3600}),
    )
    .await;
    let res = s
        .http
        .post(s.url(&format!(
            "/public/api/v1/inboxes/{}/contacts/{}/conversations/{id}/toggle_status",
            v.inbox_identifier, v.source_id
        )))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    let lines: Vec<(Value, Value)> = messages(s, &w.admin, id)
        .await
        .into_iter()
        .filter(|m| m["message_type"] == 2)
        .map(|m| (m["content"].clone(), activity(&m).clone()))
        .collect();
    let want = vec![
        (
            "Assigned to Anna by Admin",
            json!({"kind": "assigned", "agent": "Anna", "by": "Admin"}),
        ),
        (
            "Assigned to Payments team by Admin",
            json!({"kind": "assigned_team", "team": "Payments", "by": "Admin"}),
        ),
        (
            "Unassigned from team by Admin",
            json!({"kind": "unassigned_team", "by": "Admin"}),
        ),
        (
            "Conversation unassigned by Admin",
            json!({"kind": "unassigned", "by": "Admin"}),
        ),
        (
            "Admin self-assigned this conversation",
            json!({"kind": "self_assigned", "agent": "Admin"}),
        ),
        (
            "Conversation was marked as pending by Admin",
            json!({"kind": "pending", "by": "Admin"}),
        ),
        (
            "Conversation was marked resolved by Admin",
            json!({"kind": "resolved", "by": "Admin"}),
        ),
        (
            "Conversation was reopened by Admin",
            json!({"kind": "reopened", "by": "Admin"}),
        ),
        (
            "Conversation was snoozed by Admin",
            json!({"kind": "snoozed", "by": "Admin"}),
        ),
        (
            "Conversation was marked resolved by the contact",
            json!({"kind": "resolved_by_contact"}),
        ),
    ];
    let want: Vec<(Value, Value)> = want
        .into_iter()
        .map(|(text, attrs)| (json!(text), attrs))
        .collect();
    assert_eq!(lines, want);
    for (_, a) in &lines {
        let kind = a["kind"].as_str().unwrap();
        assert!(parley_core::activity::KINDS.contains(&kind), "{kind}");
    }

    // The visitor sees none of these lines, neither over the Client API nor on the socket.
    let (msgs, events) = visitor_view(s, &v).await;
    assert!(msgs.iter().all(|m| m["message_type"] != 2), "{msgs:?}");
    assert!(
        events
            .iter()
            .all(|e| !(e["event"] == "message.created" && e["data"]["message_type"] == 2)),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "message.created" && e["data"]["content"] == "Hi"),
        "{events:?}"
    );
    let _ = (&w.boris, &w.pavel, w.inbox_id);
}
