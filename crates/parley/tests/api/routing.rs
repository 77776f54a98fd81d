//! Routing and response standards through the public API, on both backends: automatic
//! assignment, capacity, the queue, claims, re-assignment, returning customers, reply
//! targets in working hours (with a manual clock), and timers that survive a restart.

use crate::common;

use std::sync::Arc;

use common::ws::{Visitor, WsClient, api_inbox};
use common::{Actor, TestServer};
use parley_core::Role;
use parley_core::time::{Clock, ManualClock, SharedClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    least_loaded_with_round_robin_ties_and_capacity,
    concurrent_claims_produce_exactly_one_assignee,
    queue_order_positions_and_head_assigned_when_capacity_frees,
    returning_customer_goes_to_the_previous_agent,
    bad_routing_input_is_refused_and_changes_nothing,
    department_choice_routes_within_the_team,
    default_team_and_the_most_specific_limit,
    team_view_shows_the_limit_that_applies,
    availability_given_at_creation_counts_at_once,
);

/// A minute in milliseconds.
const MIN: i64 = 60_000;

/// Waits (polling the API) until `check` holds for the conversation; the safety limit only
/// turns a hang into a clear failure.
pub(crate) async fn conversation_until(
    s: &TestServer,
    who: &Actor,
    id: i64,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..2000 {
        let (st, c) = s
            .get(
                &who.token,
                &format!("/api/v1/accounts/{}/conversations/{id}", who.account_id),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        if check(&c) {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("conversation {id} never reached: {what}");
}

/// Waits until the conversation is assigned to `user_id`: routing runs in the message's
/// follow-up task, after the visitor's post has been acknowledged.
async fn assigned_eventually(s: &TestServer, admin: &Actor, id: i64, user_id: i64) {
    conversation_until(s, admin, id, "assigned", |c| {
        c["meta"]["assignee"]["id"] == user_id
    })
    .await;
}

/// The conversation's activity lines once `done` holds for them: a line is written after
/// the change it describes becomes visible.
async fn activity_until(
    s: &TestServer,
    admin: &Actor,
    id: i64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut lines = Vec::new();
    for _ in 0..2000 {
        lines = messages_of(s, admin, id)
            .await
            .iter()
            .filter(|m| m["message_type"] == 2)
            .map(|m| m["content_attributes"]["activity"].clone())
            .collect();
        if done(&lines) {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("conversation {id}: the activity lines never arrived: {lines:?}");
}

/// Makes an agent available for routing without a console connection.
pub(crate) async fn set_online(s: &TestServer, admin: &Actor, agent: &Actor) {
    let (st, body) = s
        .patch(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/agents/{}",
                admin.account_id, agent.user_id
            ),
            json!({"availability_status": "online", "auto_offline": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn add_members(s: &TestServer, admin: &Actor, inbox: i64, agents: &[&Actor]) {
    let ids: Vec<i64> = agents.iter().map(|a| a.user_id).collect();
    let (st, body) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inbox_members", admin.account_id),
            json!({"inbox_id": inbox, "user_ids": ids}),
        )
        .await;
    assert!(st.is_success(), "{st} {body}");
}

async fn assignee(s: &TestServer, admin: &Actor, id: i64) -> Option<i64> {
    let (_, c) = s
        .get(
            &admin.token,
            &format!("/api/v1/accounts/{}/conversations/{id}", admin.account_id),
        )
        .await;
    c["meta"]["assignee"]["id"].as_i64()
}

async fn resolve(s: &TestServer, who: &Actor, id: i64) {
    let (st, body) = s
        .post(
            &who.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{id}/toggle_status",
                who.account_id
            ),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn patch_routing(s: &TestServer, admin: &Actor, body: Value) {
    let (st, b) = s
        .patch(
            &admin.token,
            &format!("/api/v1/accounts/{}/routing/settings", admin.account_id),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

async fn patch_inbox(s: &TestServer, admin: &Actor, inbox: i64, body: Value) -> Value {
    let (st, b) = s
        .patch(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes/{inbox}", admin.account_id),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b
}

async fn least_loaded_with_round_robin_ties_and_capacity(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let b = s.member(admin.account_id, "Boris", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    add_members(s, &admin, inbox_id, &[&a, &b]).await;
    patch_routing(s, &admin, json!({"default_max_open": 2})).await;
    set_online(s, &admin, &a).await;
    set_online(s, &admin, &b).await;

    // Equal loads: turns alternate (Anna never had one, so she is first by id order too).
    let mut got = Vec::new();
    for _ in 0..4 {
        let v = Visitor::new(s, &inbox).await;
        got.push((
            v.conversation_id,
            assignee(s, &admin, v.conversation_id).await,
        ));
    }
    let owners: Vec<Option<i64>> = got.iter().map(|g| g.1).collect();
    assert_eq!(
        owners,
        vec![
            Some(a.user_id),
            Some(b.user_id),
            Some(a.user_id),
            Some(b.user_id)
        ],
        "ties go round-robin"
    );

    // Both at their limit of 2: the fifth waits.
    let fifth = Visitor::new(s, &inbox).await;
    let c = conversation_until(s, &admin, fifth.conversation_id, "queued", |c| {
        c["queued_at"].is_i64()
    })
    .await;
    assert!(c["meta"]["assignee"].is_null());

    // Anna resolves one: she is the least loaded now and takes the waiting one at once.
    resolve(s, &a, got[0].0).await;
    conversation_until(s, &admin, fifth.conversation_id, "assigned to Anna", |c| {
        c["meta"]["assignee"]["id"] == a.user_id && c["queued_at"].is_null()
    })
    .await;

    // A busy agent gets nothing new; an offline one neither.
    let (st, _) = s
        .post(
            &b.token,
            "/api/v1/profile/availability",
            json!({"profile": {"availability": "busy", "account_id": b.account_id}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    resolve(s, &b, got[1].0).await;
    let sixth = Visitor::new(s, &inbox).await;
    conversation_until(
        s,
        &admin,
        sixth.conversation_id,
        "queued while Boris is busy",
        |c| c["queued_at"].is_i64(),
    )
    .await;
    // Raising the limit frees room: Anna (2 open, new limit 3) takes it.
    patch_routing(s, &admin, json!({"default_max_open": 3})).await;
    conversation_until(
        s,
        &admin,
        sixth.conversation_id,
        "assigned after the limit rose",
        |c| c["meta"]["assignee"]["id"] == a.user_id,
    )
    .await;

    // The team view shows the loads.
    let (st, team) = s
        .get(
            &admin.token,
            &format!("/api/v1/accounts/{}/routing/agents", admin.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{team}");
    let anna = team["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == a.user_id)
        .cloned()
        .unwrap();
    assert_eq!(anna["load"]["counted"], 3, "{anna}");
    assert_eq!(anna["availability_status"], "online");
    // Agents do not see the team view.
    let (st, _) = s
        .get(
            &a.token,
            &format!("/api/v1/accounts/{}/routing/agents", a.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

async fn concurrent_claims_produce_exactly_one_assignee(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let mut agents = Vec::new();
    for i in 0..10 {
        agents.push(
            s.member(admin.account_id, &format!("Agent {i}"), Role::Agent)
                .await,
        );
    }
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    let refs: Vec<&Actor> = agents.iter().collect();
    add_members(s, &admin, inbox_id, &refs).await;
    let v = Visitor::new(s, &inbox).await;
    let path = format!(
        "/api/v1/accounts/{}/conversations/{}/claim",
        admin.account_id, v.conversation_id
    );
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let agent = agents[i % agents.len()].clone();
        let url = s.url(&path);
        let http = reqwest::Client::new();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .header("api_access_token", agent.token.clone())
                .send()
                .await
                .expect("claim");
            let st = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (agent.user_id, st, body)
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (who, st, body) = t.await.expect("task");
        match st {
            StatusCode::OK => winners.push((who, body)),
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "already_assigned", "{body}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let winner_ids: std::collections::HashSet<i64> = winners.iter().map(|w| w.0).collect();
    assert_eq!(
        winner_ids.len(),
        1,
        "exactly one agent got it: {winner_ids:?}"
    );
    let winner = *winner_ids.iter().next().unwrap();
    // The winner's own repeated claims are idempotent 200s; everyone else got 409.
    assert_eq!(winners.len() + conflicts, 1000);
    assert_eq!(assignee(s, &admin, v.conversation_id).await, Some(winner));
    // One activity line, not one per claim.
    let (_, msgs) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                admin.account_id, v.conversation_id
            ),
        )
        .await;
    let lines = msgs["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["content"]
                .as_str()
                .unwrap_or("")
                .contains("self-assigned")
        })
        .count();
    assert_eq!(lines, 1);
}

async fn queue_order_positions_and_head_assigned_when_capacity_frees(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    add_members(s, &admin, inbox_id, &[&a]).await;
    patch_routing(s, &admin, json!({"default_max_open": 1})).await;
    set_online(s, &admin, &a).await;
    let busy = Visitor::new(s, &inbox).await;
    assert_eq!(
        assignee(s, &admin, busy.conversation_id).await,
        Some(a.user_id)
    );

    // Three wait; the third is a VIP and goes ahead of the others.
    let first = Visitor::new(s, &inbox).await;
    let second = Visitor::new(s, &inbox).await;
    let mut ws_second = WsClient::visitor(s, &second, None).await;
    ws_second.until_ready().await;
    let vip = Visitor::new(s, &inbox).await;
    let (_, vip_conv) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}",
                admin.account_id, vip.conversation_id
            ),
        )
        .await;
    let vip_contact = vip_conv["meta"]["sender"]["id"]
        .as_i64()
        .expect("contact id");
    let (st, body) = s
        .patch(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/contacts/{vip_contact}",
                admin.account_id
            ),
            json!({"vip": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["payload"]["vip"], true);

    // The second visitor hears their place move from 2 to 3.
    let mut seen = Vec::new();
    loop {
        let f = ws_second.until("conversation.queue_position").await;
        seen.push(f["data"]["position"].as_i64());
        if f["data"]["position"] == 3 {
            break;
        }
    }
    assert!(seen.contains(&Some(2)), "{seen:?}");

    let (st, q) = s
        .get(
            &admin.token,
            &format!("/api/v1/accounts/{}/routing/queues", admin.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let order: Vec<i64> = q["payload"][0]["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            vip.conversation_id,
            first.conversation_id,
            second.conversation_id
        ]
    );
    assert_eq!(q["payload"][0]["waiting"], 3);

    // The visitor's own view says where they are.
    let res = s
        .http
        .get(s.url(&format!(
            "/public/api/v1/inboxes/{}/contacts/{}/conversations/{}",
            inbox, second.source_id, second.conversation_id
        )))
        .send()
        .await
        .unwrap();
    let pc: Value = res.json().await.unwrap();
    assert_eq!(pc["queue"]["position"], 3, "{pc}");

    // Capacity frees: the head (the VIP) is assigned at once, the second moves up to 2.
    resolve(s, &a, busy.conversation_id).await;
    conversation_until(s, &admin, vip.conversation_id, "VIP assigned", |c| {
        c["meta"]["assignee"]["id"] == a.user_id
    })
    .await;
    loop {
        let f = ws_second.until("conversation.queue_position").await;
        if f["data"]["position"] == 2 {
            break;
        }
    }
    assert_eq!(assignee(s, &admin, first.conversation_id).await, None);
}

async fn returning_customer_goes_to_the_previous_agent(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let b = s.member(admin.account_id, "Boris", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    add_members(s, &admin, inbox_id, &[&a, &b]).await;
    set_online(s, &admin, &a).await;
    set_online(s, &admin, &b).await;
    // Boris gets three others so he is clearly the more loaded one.
    let customer = Visitor::new(s, &inbox).await;
    let first_owner = assignee(s, &admin, customer.conversation_id)
        .await
        .expect("assigned");
    let other = if first_owner == a.user_id { &b } else { &a };
    let owner = if first_owner == a.user_id { &a } else { &b };
    for _ in 0..2 {
        let v = Visitor::new(s, &inbox).await;
        // Give the filler conversations to the first owner so they are more loaded.
        let (st, _) = s
            .post(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/assignments",
                    admin.account_id, v.conversation_id
                ),
                json!({"assignee_id": owner.user_id}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
    }
    resolve(s, owner, customer.conversation_id).await;
    // The same customer comes back: despite the higher load, their previous agent.
    let again = customer.new_conversation(s).await;
    let got = assignee(s, &admin, again).await;
    assert_eq!(
        got,
        Some(owner.user_id),
        "returning customer, not the less loaded {}",
        other.user_id
    );
    let (_, msgs) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{again}/messages",
                admin.account_id
            ),
        )
        .await;
    assert!(
        msgs["payload"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"]
                .as_str()
                .unwrap_or("")
                .contains("returning customer")),
        "{msgs}"
    );
}

async fn bad_routing_input_is_refused_and_changes_nothing(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let (inbox_id, _) = api_inbox(s, &admin, "Site").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    for body in [
        json!({"default_max_open": 0}),
        json!({"inactive_after_minutes": -5}),
        json!({"presence_grace_seconds": 99999}),
        json!({"default_max_open": "many"}),
    ] {
        let (st, b) = s
            .patch(
                &admin.token,
                &format!("{base}/routing/settings"),
                body.clone(),
            )
            .await;
        assert!(st.is_client_error(), "{body} -> {st} {b}");
    }
    let (_, cur) = s
        .get(&admin.token, &format!("{base}/routing/settings"))
        .await;
    assert_eq!(
        cur,
        json!({"default_max_open": 15, "inactive_after_minutes": 30, "presence_grace_seconds": 60})
    );
    // Agents may not change the account's rules.
    let (st, _) = s
        .patch(
            &a.token,
            &format!("{base}/routing/settings"),
            json!({"default_max_open": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for body in [
        json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 0, "next_response_time_threshold": 60}}}}),
        json!({"sla_policy": {"targets": {"whenever": {"first_response_time_threshold": 60, "next_response_time_threshold": 60}}}}),
        json!({"reassign_after_minutes": 0}),
        json!({"holidays": ["31.12.2026"]}),
        json!({"offhours_notify_emails": ["nobody"]}),
        json!({"default_team_id": 999999}),
    ] {
        let (st, b) = s
            .patch(
                &admin.token,
                &format!("{base}/inboxes/{inbox_id}"),
                body.clone(),
            )
            .await;
        assert_eq!(st.as_u16(), 422, "{body} -> {b}");
    }
    let (_, inbox) = s
        .get(&admin.token, &format!("{base}/inboxes/{inbox_id}"))
        .await;
    assert!(
        inbox["sla_policy"].is_null() && inbox["reassign_after_minutes"].is_null(),
        "{inbox}"
    );
    assert_eq!(inbox["holidays"], json!([]));
    let (st, _) = s
        .post(
            &a.token,
            "/api/v1/profile/availability",
            json!({"profile": {"availability": "sleeping", "account_id": a.account_id}}),
        )
        .await;
    assert_eq!(st.as_u16(), 422);
    let (st, _) = s
        .post(
            &a.token,
            "/api/v1/profile/availability",
            json!({"profile": {"availability": "online", "account_id": 999999}}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(
            &a.token,
            &format!("{base}/conversations/999999/claim"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

// --- with a manual clock --------------------------------------------------------------------

/// Friday 2026-12-04 17:30 in Europe/Moscow (UTC+3) = 14:30 UTC.
const FRIDAY_1730_MSK: i64 = 1_796_394_600_000;

/// Backend 0 is SQLite, 1 PostgreSQL (`None` when its URL is not set).
async fn clock_server(backend: usize, clock: SharedClock) -> Option<TestServer> {
    clock_server_with(backend, clock, |_| {}).await
}

async fn clock_server_with(
    backend: usize,
    clock: SharedClock,
    tune: impl FnOnce(&mut parley::Config),
) -> Option<TestServer> {
    match backend {
        0 => Some(TestServer::sqlite_clock(clock, tune).await),
        _ => TestServer::postgres_clock(clock, tune).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_target_in_working_hours_runs_over_the_weekend() {
    for backend in 0..2 {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let Some(s) = clock_server(backend, clock.clone()).await else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        let week: Vec<Value> = (0..7)
            .map(|d| {
                if (1..=5).contains(&d) {
                    json!({"day_of_week": d, "open_hour": 9, "close_hour": 18})
                } else {
                    json!({"day_of_week": d, "closed_all_day": true})
                }
            })
            .collect();
        patch_inbox(
            &s,
            &admin,
            inbox_id,
            json!({"working_hours_enabled": true, "timezone": "Europe/Moscow", "working_hours": week,
                   "sla_policy": {"only_during_business_hours": true,
                                  "targets": {"none": {"first_response_time_threshold": 3600,
                                                       "next_response_time_threshold": 1800}}}}),
        )
        .await;
        let mut agent_ws = WsClient::agent(&s, &admin, None).await;
        agent_ws.until_ready().await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Where is my order?").await;
        // 30 working minutes remain on Friday; the other 30 run from Monday 09:00.
        let monday_0930 = FRIDAY_1730_MSK + (2 * 24 + 16) * 60 * MIN;
        let c = conversation_until(&s, &admin, v.conversation_id, "reply target set", |c| {
            c["sla"].is_object()
        })
        .await;
        assert_eq!(c["sla"]["kind"], "first_response");
        assert_eq!(c["sla"]["due_at"], monday_0930 / 1000, "{}", c["sla"]);
        assert_eq!(c["sla"]["overdue"], false);

        // Saturday, Sunday and Monday 09:29 pass: nothing is late.
        clock.set(monday_0930 - MIN);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let c = conversation_until(&s, &admin, v.conversation_id, "still running", |_| true).await;
        assert_eq!(c["sla"]["overdue"], false, "not overdue a minute before");
        // 09:30: overdue, with an event and an activity line.
        clock.set(monday_0930);
        let ev = loop {
            let f = agent_ws.until("conversation.sla_overdue").await;
            if f["data"]["id"] == v.conversation_id {
                break f;
            }
        };
        assert_eq!(ev["data"]["sla"]["overdue"], true);
        let (_, msgs) = s
            .get(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    admin.account_id, v.conversation_id
                ),
            )
            .await;
        assert!(
            msgs["payload"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("target missed")),
            "{msgs}"
        );
        // An answer clears the target.
        let (st, _) = s
            .post(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    admin.account_id, v.conversation_id
                ),
                json!({"content": "It ships today"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        conversation_until(&s, &admin, v.conversation_id, "target cleared", |c| {
            c["sla"].is_null()
        })
        .await;
        // The agents' lists hear of it.
        loop {
            let f = agent_ws.until("conversation.updated").await;
            if f["data"]["id"] == v.conversation_id && f["data"]["sla"].is_null() {
                break;
            }
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agent_loses_the_conversation_after_n_minutes() {
    for backend in 0..2 {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let Some(s) = clock_server(backend, clock.clone()).await else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let a = s.member(admin.account_id, "Anna", Role::Agent).await;
        let b = s.member(admin.account_id, "Boris", Role::Agent).await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        add_members(&s, &admin, inbox_id, &[&a, &b]).await;
        patch_inbox(&s, &admin, inbox_id, json!({"reassign_after_minutes": 5})).await;
        set_online(&s, &admin, &a).await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Hello?").await;
        assigned_eventually(&s, &admin, v.conversation_id, a.user_id).await;
        set_online(&s, &admin, &b).await;
        clock.advance(5 * MIN);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            assignee(&s, &admin, v.conversation_id).await,
            Some(a.user_id),
            "exactly N minutes is in time"
        );
        clock.advance(1000);
        conversation_until(&s, &admin, v.conversation_id, "re-assigned to Boris", |c| {
            c["meta"]["assignee"]["id"] == b.user_id
        })
        .await;
        let (_, msgs) = s
            .get(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    admin.account_id, v.conversation_id
                ),
            )
            .await;
        assert!(
            msgs["payload"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("did not answer within 5 min")),
            "{msgs}"
        );
        // Boris answers: his timer does nothing.
        let (st, _) = s
            .post(
                &b.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    b.account_id, v.conversation_id
                ),
                json!({"content": "Hi!"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        clock.advance(10 * MIN);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            assignee(&s, &admin, v.conversation_id).await,
            Some(b.user_id)
        );
        s.stop().await;
    }
}

/// Activity kinds of a conversation's lines, oldest first.
async fn activity_kinds(s: &TestServer, admin: &Actor, id: i64) -> Vec<String> {
    messages_of(s, admin, id)
        .await
        .iter()
        .filter_map(|m| {
            m["content_attributes"]["activity"]["kind"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agents_never_ping_pong_within_a_wait() {
    for backend in 0..2 {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let Some(s) = clock_server(backend, clock.clone()).await else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let a = s.member(admin.account_id, "Anna", Role::Agent).await;
        let b = s.member(admin.account_id, "Boris", Role::Agent).await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        add_members(&s, &admin, inbox_id, &[&a, &b]).await;
        patch_inbox(&s, &admin, inbox_id, json!({"reassign_after_minutes": 5})).await;
        set_online(&s, &admin, &a).await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Hello?").await;
        assigned_eventually(&s, &admin, v.conversation_id, a.user_id).await;
        set_online(&s, &admin, &b).await;
        let mut holders = vec![a.user_id];
        // First silence: one re-assignment, to the other agent.
        clock.advance(5 * MIN + 1000);
        conversation_until(&s, &admin, v.conversation_id, "re-assigned to Boris", |c| {
            c["meta"]["assignee"]["id"] == b.user_id
        })
        .await;
        holders.push(b.user_id);
        // Second silence: back to the queue head, not back to Anna.
        clock.advance(5 * MIN + 1000);
        conversation_until(&s, &admin, v.conversation_id, "back in the queue", |c| {
            c["meta"]["assignee"].is_null()
        })
        .await;
        activity_until(&s, &admin, v.conversation_id, |l| {
            l.iter().any(|a| a["kind"] == "returned_to_queue")
        })
        .await;
        let kinds = activity_kinds(&s, &admin, v.conversation_id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "silent").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("returned_to_queue"),
            "{kinds:?}"
        );
        // Hours pass, agents come and go (each drains the queues): nobody who already had
        // it in this wait gets it back by routing.
        for _ in 0..6 {
            clock.advance(5 * MIN + 1000);
            set_online(&s, &admin, &a).await;
            set_online(&s, &admin, &b).await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if let Some(x) = assignee(&s, &admin, v.conversation_id).await {
                holders.push(x);
            }
        }
        assert_eq!(
            holders,
            vec![a.user_id, b.user_id],
            "no agent got it back within the wait"
        );
        let (_, queues) = s
            .get(
                &admin.token,
                &format!("/api/v1/accounts/{}/routing/queues", admin.account_id),
            )
            .await;
        let head = &queues["payload"][0]["conversations"][0];
        assert_eq!(head["id"], v.conversation_id, "{queues}");
        assert_eq!(head["position"], 1, "{queues}");
        // A third agent who comes online takes it from the queue head.
        let c = s.member(admin.account_id, "Clara", Role::Agent).await;
        add_members(&s, &admin, inbox_id, &[&a, &b, &c]).await;
        set_online(&s, &admin, &c).await;
        conversation_until(&s, &admin, v.conversation_id, "taken by Clara", |x| {
            x["meta"]["assignee"]["id"] == c.user_id
        })
        .await;
        // Clara answers; the customer writes again: a new wait, Anna may have it again.
        let (st, _) = s
            .post(
                &c.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    c.account_id, v.conversation_id
                ),
                json!({"content": "Здравствуйте!"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_fire_after_a_restart() {
    for pg in [false, true] {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let dir = tempfile::tempdir().expect("tempdir");
        let url = if pg {
            let Ok(base) = std::env::var("PARLEY_TEST_POSTGRES_URL") else {
                assert!(std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none());
                eprintln!("skipping the PostgreSQL run: PARLEY_TEST_POSTGRES_URL is not set");
                continue;
            };
            Some(
                parley_store::Store::create_test_database(&base)
                    .await
                    .expect("db")
                    .0,
            )
        } else {
            None
        };
        let mut cfg = parley::config::Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url: url.clone(),
            ..Default::default()
        };
        let opts = || parley::StartOptions {
            clock: clock.clone() as SharedClock,
            job_poll: std::time::Duration::from_millis(25),
            webhook_retry: None,
        };
        let server = parley::start_with(&cfg, opts()).await.expect("start");
        let s = TestServer {
            base: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            server: Some(server),
            dir,
            pg_database: None,
            cfg: cfg.clone(),
            opts: opts(),
        };
        let admin = s.admin("Shop").await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        patch_inbox(
            &s,
            &admin,
            inbox_id,
            json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 600, "next_response_time_threshold": 600}}}}),
        )
        .await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Anyone?").await;
        conversation_until(&s, &admin, v.conversation_id, "target set", |c| {
            c["sla"].is_object()
        })
        .await;
        // The server goes down; while it is down the deadline passes.
        let TestServer { server, dir, .. } = s;
        server.expect("running").stop().await;
        clock.advance(11 * MIN);
        cfg.data_dir = dir.path().to_path_buf();
        let server = parley::start_with(&cfg, opts()).await.expect("restart");
        let s = TestServer {
            base: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            server: Some(server),
            dir,
            pg_database: None,
            cfg: cfg.clone(),
            opts: opts(),
        };
        conversation_until(
            &s,
            &admin,
            v.conversation_id,
            "overdue after the restart",
            |c| c["sla"]["overdue"] == true,
        )
        .await;
        assert_eq!(clock.now_ms(), FRIDAY_1730_MSK + 11 * MIN);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_conversations_do_not_count() {
    for backend in 0..2 {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let Some(s) = clock_server(backend, clock.clone()).await else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let a = s.member(admin.account_id, "Anna", Role::Agent).await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        add_members(&s, &admin, inbox_id, &[&a]).await;
        patch_routing(
            &s,
            &admin,
            json!({"default_max_open": 1, "inactive_after_minutes": 10}),
        )
        .await;
        set_online(&s, &admin, &a).await;
        let first = Visitor::new(&s, &inbox).await;
        first.post(&s, first.conversation_id, "hello").await;
        assigned_eventually(&s, &admin, first.conversation_id, a.user_id).await;
        let second = Visitor::new(&s, &inbox).await;
        conversation_until(&s, &admin, second.conversation_id, "queued", |c| {
            c["queued_at"].is_i64()
        })
        .await;
        // Ten minutes of silence still count; one more millisecond does not, and the
        // periodic sweep hands the waiting customer to Anna.
        clock.advance(10 * MIN);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(assignee(&s, &admin, second.conversation_id).await, None);
        clock.advance(20_000);
        conversation_until(
            &s,
            &admin,
            second.conversation_id,
            "assigned once the first went quiet",
            |c| c["meta"]["assignee"]["id"] == a.user_id,
        )
        .await;
        let (_, team) = s
            .get(
                &admin.token,
                &format!("/api/v1/accounts/{}/routing/agents", admin.account_id),
            )
            .await;
        let anna = team["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == a.user_id)
            .cloned()
            .unwrap();
        assert_eq!(anna["load"]["counted"], 1, "{anna}");
        assert_eq!(anna["load"]["inactive"], 1, "{anna}");
        s.stop().await;
    }
}

/// Saturday 2026-12-05 12:00 in Europe/Moscow.
const SATURDAY_NOON_MSK: i64 = FRIDAY_1730_MSK + (18 * 60 + 30) * MIN;

async fn weekday_inbox(s: &TestServer, admin: &Actor, extra: Value) -> (i64, String) {
    let (inbox_id, inbox) = api_inbox(s, admin, "Shop chat").await;
    let week: Vec<Value> = (0..7)
        .map(|d| {
            if (1..=5).contains(&d) {
                json!({"day_of_week": d, "open_hour": 9, "close_hour": 18})
            } else {
                json!({"day_of_week": d, "closed_all_day": true})
            }
        })
        .collect();
    let mut body =
        json!({"working_hours_enabled": true, "timezone": "Europe/Moscow", "working_hours": week});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    patch_inbox(s, admin, inbox_id, body).await;
    (inbox_id, inbox)
}

async fn messages_of(s: &TestServer, admin: &Actor, id: i64) -> Vec<Value> {
    let (_, msgs) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{id}/messages",
                admin.account_id
            ),
        )
        .await;
    msgs["payload"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_hours_question_gets_an_auto_reply_and_the_manager_an_email() {
    for backend in 0..2 {
        let sink = common::smtp::SmtpSink::start().await;
        let clock = Arc::new(ManualClock::new(SATURDAY_NOON_MSK));
        let url = sink.url();
        let Some(s) = clock_server_with(backend, clock.clone(), |c| {
            c.smtp_url = Some(url.as_str().into())
        })
        .await
        else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let (_, inbox) = weekday_inbox(
            &s,
            &admin,
            json!({"offhours_notify_emails": ["boss@shop.test"]}),
        )
        .await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "Где мой заказ №42?").await;
        let mail = sink.next().await;
        assert!(mail.subject().contains("Shop chat"), "{}", mail.subject());
        assert!(
            mail.text().contains("Где мой заказ №42?"),
            "{}",
            mail.text()
        );
        assert!(
            mail.text().contains("Mon 07.12 at 09:00 (Europe/Moscow)"),
            "{}",
            mail.text()
        );
        // The customer was told when the shop opens, once.
        v.post(&s, v.conversation_id, "Hello?").await;
        let msgs = messages_of(&s, &admin, v.conversation_id).await;
        let replies: Vec<&Value> = msgs.iter().filter(|m| m["message_type"] == 3).collect();
        assert_eq!(replies.len(), 1, "{msgs:?}");
        assert!(
            replies[0]["content"]
                .as_str()
                .unwrap()
                .contains("Mon 07.12 at 09:00.")
        );
        assert_eq!(sink.received().len(), 1, "one e-mail per question");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_inbox_managers_get_one_hourly_digest() {
    for backend in 0..2 {
        let sink = common::smtp::SmtpSink::start().await;
        let clock = Arc::new(ManualClock::new(SATURDAY_NOON_MSK));
        let url = sink.url();
        let Some(s) = clock_server_with(backend, clock.clone(), |c| {
            c.smtp_url = Some(url.as_str().into())
        })
        .await
        else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let (_, inbox) = weekday_inbox(
            &s,
            &admin,
            json!({"offhours_notify_emails": ["boss@shop.test", "deputy@shop.test"], "offhours_digest": true}),
        )
        .await;
        for q in ["First question", "Second question"] {
            let v = Visitor::new(&s, &inbox).await;
            v.post(&s, v.conversation_id, q).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sink.received().len(), 0, "nothing before the hour is over");
        clock.advance(61 * MIN);
        let mail = sink.next().await;
        assert!(
            mail.text().contains("First question") && mail.text().contains("Second question"),
            "{}",
            mail.text()
        );
        assert!(mail.subject().contains("2 off-hours"), "{}", mail.subject());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sink.received().len(), 1);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_going_offline_after_the_grace_period_hands_back_unanswered_chats() {
    for backend in 0..2 {
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let Some(s) = clock_server(backend, clock.clone()).await else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let a = s.member(admin.account_id, "Anna", Role::Agent).await;
        let b = s.member(admin.account_id, "Boris", Role::Agent).await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        add_members(&s, &admin, inbox_id, &[&a, &b]).await;
        patch_routing(&s, &admin, json!({"presence_grace_seconds": 30})).await;
        // Nobody is connected: the customer waits.
        let waiting = Visitor::new(&s, &inbox).await;
        waiting.post(&s, waiting.conversation_id, "Hi").await;
        conversation_until(&s, &admin, waiting.conversation_id, "queued", |c| {
            c["queued_at"].is_i64()
        })
        .await;
        // Anna opens the console: online, and the waiting customer is hers at once.
        let mut anna_ws = WsClient::agent(&s, &a, None).await;
        anna_ws.until_ready().await;
        conversation_until(
            &s,
            &admin,
            waiting.conversation_id,
            "assigned on coming online",
            |c| c["meta"]["assignee"]["id"] == a.user_id,
        )
        .await;
        // An answered conversation stays with her; the unanswered one goes back.
        let answered = Visitor::new(&s, &inbox).await;
        answered
            .post(&s, answered.conversation_id, "Question")
            .await;
        assigned_eventually(&s, &admin, answered.conversation_id, a.user_id).await;
        let (st, _) = s
            .post(
                &a.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    a.account_id, answered.conversation_id
                ),
                json!({"content": "Answer"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        // Boris is online through the API only.
        set_online(&s, &admin, &b).await;
        // Anna's tab closes; within the grace period nothing changes.
        anna_ws.cut();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        clock.advance(29_000);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(
            assignee(&s, &admin, waiting.conversation_id).await,
            Some(a.user_id)
        );
        clock.advance(2_000);
        conversation_until(
            &s,
            &admin,
            waiting.conversation_id,
            "handed to Boris",
            |c| c["meta"]["assignee"]["id"] == b.user_id,
        )
        .await;
        assert_eq!(
            assignee(&s, &admin, answered.conversation_id).await,
            Some(a.user_id)
        );
        let (_, team) = s
            .get(
                &admin.token,
                &format!("/api/v1/accounts/{}/routing/agents", admin.account_id),
            )
            .await;
        let anna = team["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == a.user_id)
            .cloned()
            .unwrap();
        assert_eq!(anna["availability_status"], "offline", "{anna}");
        assert_eq!(anna["availability"], "online", "her own choice stays");
        assert!(
            messages_of(&s, &admin, waiting.conversation_id)
                .await
                .iter()
                .any(
                    |m| m["content"].as_str().unwrap_or("").contains("went offline")
                        && m["content_attributes"]["activity"]
                            == json!({"kind": "went_offline", "agent": "Anna"})
                ),
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_escalation_raises_priority_reassigns_and_mails_supervisors() {
    for backend in 0..2 {
        let sink = common::smtp::SmtpSink::start().await;
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let url = sink.url();
        let Some(s) = clock_server_with(backend, clock.clone(), |c| {
            c.smtp_url = Some(url.as_str().into())
        })
        .await
        else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let a = s.member(admin.account_id, "Anna", Role::Agent).await;
        let b = s.member(admin.account_id, "Boris", Role::Agent).await;
        let (inbox_id, inbox) = api_inbox(&s, &admin, "Site").await;
        add_members(&s, &admin, inbox_id, &[&a, &b]).await;
        patch_inbox(
            &s,
            &admin,
            inbox_id,
            json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 120,
                                                       "next_response_time_threshold": 120}},
                                  "escalation": {"notify_supervisors": true, "raise_priority": true, "reassign": true}}}),
        )
        .await;
        set_online(&s, &admin, &a).await;
        let v = Visitor::new(&s, &inbox).await;
        v.post(&s, v.conversation_id, "My parcel is lost").await;
        assigned_eventually(&s, &admin, v.conversation_id, a.user_id).await;
        set_online(&s, &admin, &b).await;
        clock.advance(2 * MIN);
        let c = conversation_until(&s, &admin, v.conversation_id, "escalated", |c| {
            c["meta"]["assignee"]["id"] == b.user_id
        })
        .await;
        assert_eq!(c["priority"], "medium");
        assert_eq!(c["sla"]["overdue"], true);
        // The activity lines describe what happened, with the due time as epoch seconds.
        let wanted = [
            json!({"kind": "priority_raised", "priority": "medium"}),
            json!({"kind": "taken_missed", "agent": "Anna"}),
            json!({"kind": "auto_assigned", "agent": "Boris", "returning": false}),
        ];
        let lines = activity_until(&s, &admin, v.conversation_id, |l| {
            l.iter().any(|a| a["kind"] == "first_response_missed")
                && wanted.iter().all(|w| l.contains(w))
        })
        .await;
        let missed = lines
            .iter()
            .find(|l| l["kind"] == "first_response_missed")
            .unwrap_or_else(|| panic!("no missed line: {lines:?}"));
        assert_eq!(missed["due_at"], c["sla"]["due_at"], "{lines:?}");
        assert!(missed["time_zone"].is_string(), "{lines:?}");
        let mail = sink.next().await;
        assert!(mail.subject().contains("overdue"), "{}", mail.subject());
        assert!(
            mail.to.iter().any(|t| t.contains(&admin.email)),
            "{:?}",
            mail.to
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_a_website_visitor_never_saw_are_emailed_to_them() {
    for backend in 0..2 {
        let sink = common::smtp::SmtpSink::start().await;
        let clock = Arc::new(ManualClock::new(FRIDAY_1730_MSK));
        let url = sink.url();
        let Some(s) = clock_server_with(backend, clock.clone(), |c| {
            c.smtp_url = Some(url.as_str().into())
        })
        .await
        else {
            continue;
        };
        let admin = s.admin("Shop").await;
        let (st, inbox) = s
            .post(
                &admin.token,
                &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
                json!({"name": "Shop site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
            )
            .await;
        assert!(st.is_success(), "{inbox}");
        let ident = inbox["inbox_identifier"].as_str().unwrap().to_string();
        // Two visitors who left an address: one leaves the page, one stays and reads.
        let mut visitors = Vec::new();
        for email in ["gone@customer.test", "here@customer.test"] {
            let res = s
                .http
                .post(s.url(&format!("/public/api/v1/inboxes/{ident}/contacts")))
                .json(&json!({"name": "Olga", "email": email}))
                .send()
                .await
                .unwrap();
            let contact: Value = res.json().await.unwrap();
            let source = contact["source_id"].as_str().unwrap().to_string();
            let res = s
                .http
                .post(s.url(&format!(
                    "/public/api/v1/inboxes/{ident}/contacts/{source}/conversations"
                )))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let conv: Value = res.json().await.unwrap();
            let id = conv["id"].as_i64().unwrap();
            let res = s
                .http
                .post(s.url(&format!(
                    "/public/api/v1/inboxes/{ident}/contacts/{source}/conversations/{id}/messages"
                )))
                .json(&json!({"content": "Do you deliver to Kazan?"}))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success());
            visitors.push((source, id));
        }
        for (_, id) in &visitors {
            let (st, _) = s
                .post(
                    &admin.token,
                    &format!(
                        "/api/v1/accounts/{}/conversations/{id}/messages",
                        admin.account_id
                    ),
                    json!({"content": "Yes, in 3 days"}),
                )
                .await;
            assert_eq!(st, StatusCode::OK);
        }
        // The second visitor reads the reply in the widget.
        clock.advance(30_000);
        let (source, id) = &visitors[1];
        let res = s
            .http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{ident}/contacts/{source}/conversations/{id}/update_last_seen"
            )))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(sink.received().is_empty(), "nothing before the delay");
        clock.advance(2 * MIN);
        let mail = sink.next().await;
        assert_eq!(mail.to, vec!["gone@customer.test".to_string()]);
        assert!(mail.text().contains("Yes, in 3 days"), "{}", mail.text());
        assert!(mail.text().contains("https://shop.test"), "{}", mail.text());
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            sink.received().len(),
            1,
            "the visitor who read it gets no e-mail"
        );
        s.stop().await;
    }
}

/// The widget offers the teams that work the inbox as departments; the visitor's choice
/// routes the conversation within that team, and a department of nowhere is refused.
async fn department_choice_routes_within_the_team(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let b = s.member(admin.account_id, "Boris", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    add_members(s, &admin, inbox_id, &[&a, &b]).await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (_, payments) = s
        .post(
            &admin.token,
            &format!("{base}/teams"),
            json!({"name": "Payments"}),
        )
        .await;
    let (_, empty) = s
        .post(
            &admin.token,
            &format!("{base}/teams"),
            json!({"name": "Nobody here"}),
        )
        .await;
    let team = payments["id"].as_i64().unwrap();
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{base}/teams/{team}/team_members"),
            json!({"user_ids": [b.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    set_online(s, &admin, &a).await;
    set_online(s, &admin, &b).await;
    let res = s
        .http
        .get(s.url(&format!("/public/api/v1/inboxes/{inbox}")))
        .send()
        .await
        .unwrap();
    let cfg: Value = res.json().await.unwrap();
    assert_eq!(
        cfg["departments"],
        json!([{"id": team, "name": "Payments"}]),
        "{cfg}"
    );

    let res = s
        .http
        .post(s.url(&format!("/public/api/v1/inboxes/{inbox}/contacts")))
        .json(&json!({"name": "Olga"}))
        .send()
        .await
        .unwrap();
    let contact: Value = res.json().await.unwrap();
    let source = contact["source_id"].as_str().unwrap();
    let start = |team_id: Value| {
        s.http
            .post(s.url(&format!(
                "/public/api/v1/inboxes/{inbox}/contacts/{source}/conversations"
            )))
            .json(&json!({"team_id": team_id}))
            .send()
    };
    let res = start(json!(999_999)).await.unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let (_, list) = s
        .get(&admin.token, &format!("{base}/conversations?status=all"))
        .await;
    assert_eq!(
        list["data"]["meta"]["all_count"], 0,
        "a refused start creates nothing: {list}"
    );
    let res = start(json!(team)).await.unwrap();
    assert!(res.status().is_success());
    let conv: Value = res.json().await.unwrap();
    let id = conv["id"].as_i64().unwrap();
    let c = conversation_until(s, &admin, id, "assigned", |c| {
        c["meta"]["assignee"].is_object()
    })
    .await;
    assert_eq!(c["meta"]["team"]["id"], team);
    // Anna is less loaded but not in Payments: Boris gets it.
    assert_eq!(c["meta"]["assignee"]["id"], b.user_id);
    let _ = empty;
}

/// The inbox's default team applies to new conversations; a team's own limit beats the
/// account's, and an agent's own limit beats the team's.
async fn default_team_and_the_most_specific_limit(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let b = s.member(admin.account_id, "Boris", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    add_members(s, &admin, inbox_id, &[&a, &b]).await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (st, team) = s
        .post(
            &admin.token,
            &format!("{base}/teams"),
            json!({"name": "Delivery", "max_open": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{team}");
    assert_eq!(team["max_open"], 1);
    let team_id = team["id"].as_i64().unwrap();
    s.post(
        &admin.token,
        &format!("{base}/teams/{team_id}/team_members"),
        json!({"user_ids": [a.user_id, b.user_id]}),
    )
    .await;
    let body = patch_inbox(s, &admin, inbox_id, json!({"default_team_id": team_id})).await;
    assert_eq!(body["default_team_id"], team_id);
    // Anna may hold three despite the team's limit of one.
    let (st, agent) = s
        .patch(
            &admin.token,
            &format!("{base}/agents/{}", a.user_id),
            json!({"max_open": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{agent}");
    assert_eq!(agent["max_open"], 3);
    set_online(s, &admin, &a).await;
    set_online(s, &admin, &b).await;
    let mut owners = Vec::new();
    for _ in 0..5 {
        let v = Visitor::new(s, &inbox).await;
        let c = conversation_until(s, &admin, v.conversation_id, "routed", |c| {
            c["meta"]["assignee"].is_object() || c["queued_at"].is_i64()
        })
        .await;
        assert_eq!(c["meta"]["team"]["id"], team_id, "the inbox's default team");
        owners.push(c["meta"]["assignee"]["id"].as_i64());
    }
    let anna = owners.iter().filter(|o| **o == Some(a.user_id)).count();
    let boris = owners.iter().filter(|o| **o == Some(b.user_id)).count();
    let waiting = owners.iter().filter(|o| o.is_none()).count();
    assert_eq!((anna, boris, waiting), (3, 1, 1), "{owners:?}");
}

/// The team view states the limit that routing counts for each agent and where it comes
/// from: the agent's own, else their team's, else the account's.
async fn team_view_shows_the_limit_that_applies(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let a = s.member(admin.account_id, "Anna", Role::Agent).await;
    let b = s.member(admin.account_id, "Boris", Role::Agent).await;
    let c = s.member(admin.account_id, "Clara", Role::Agent).await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    patch_routing(s, &admin, json!({"default_max_open": 7})).await;
    let (st, team) = s
        .post(
            &admin.token,
            &format!("{base}/teams"),
            json!({"name": "Delivery", "max_open": 40}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{team}");
    let team_id = team["id"].as_i64().unwrap();
    s.post(
        &admin.token,
        &format!("{base}/teams/{team_id}/team_members"),
        json!({"user_ids": [a.user_id, b.user_id]}),
    )
    .await;
    let (st, _) = s
        .patch(
            &admin.token,
            &format!("{base}/agents/{}", a.user_id),
            json!({"max_open": 3}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, view) = s.get(&admin.token, &format!("{base}/routing/agents")).await;
    assert_eq!(st, StatusCode::OK, "{view}");
    let row = |id: i64| {
        view["payload"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no agent {id} in {view}"))
    };
    let (anna, boris, clara) = (row(a.user_id), row(b.user_id), row(c.user_id));
    assert_eq!(
        (anna["max_open"].clone(), anna["max_open_source"].clone()),
        (json!(3), json!("agent"))
    );
    assert_eq!(
        (boris["max_open"].clone(), boris["max_open_source"].clone()),
        (json!(40), json!("team"))
    );
    assert_eq!(boris["max_open_team_id"], team_id);
    assert_eq!(boris["load"]["free"], 40, "{boris}");
    assert_eq!(
        (clara["max_open"].clone(), clara["max_open_source"].clone()),
        (json!(7), json!("account"))
    );
    assert!(clara["max_open_team_id"].is_null());
}

/// An agent created online (automatic offline off) is online for routing at once.
async fn availability_given_at_creation_counts_at_once(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (st, agent) = s
        .post(
            &admin.token,
            &format!("{base}/agents"),
            json!({"name": "Olga", "email": "olga@shop.test", "role": "agent",
                   "availability_status": "online", "auto_offline": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{agent}");
    assert_eq!(agent["availability_status"], "online");
    let (_, view) = s.get(&admin.token, &format!("{base}/routing/agents")).await;
    let olga = view["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == agent["id"])
        .cloned()
        .unwrap();
    assert_eq!(olga["availability_status"], "online", "{olga}");
    // She gets a new conversation of an inbox she works in.
    let (inbox_id, inbox) = api_inbox(s, &admin, "Site").await;
    let (st, _) = s
        .post(
            &admin.token,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [agent["id"]]}),
        )
        .await;
    assert!(st.is_success());
    let v = Visitor::new(s, &inbox).await;
    v.post(s, v.conversation_id, "Hello").await;
    conversation_until(s, &admin, v.conversation_id, "assigned to Olga", |c| {
        c["meta"]["assignee"]["id"] == agent["id"]
    })
    .await;
}
