//! Reports over a known scenario with a manual clock, on both backends: every metric of
//! the summary (and its business-hours variant), the breakdowns per agent, inbox, channel
//! and label, visitor sources (UTM and referrer conversions), CSAT, the traffic map, time
//! series, CSV files, and refused requests.

use crate::common;
use crate::widget_assets::visitor;

use std::sync::Arc;

use common::{Actor, TestServer};
use parley_core::Role;
use parley_core::time::{Clock, ManualClock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Monday 2026-03-02 00:00 UTC, in milliseconds.
const T0: i64 = 1_772_409_600_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// Tests `$body(&server, clock)` on SQLite and on PostgreSQL, each with a manual clock
/// standing a day before [`T0`].
macro_rules! both_backends_clock {
    ($sqlite:ident, $postgres:ident, $body:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let clock = Arc::new(ManualClock::new(T0 - DAY));
            let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
            $body(&s, clock).await;
            s.stop().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let clock = Arc::new(ManualClock::new(T0 - DAY));
            let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
                return;
            };
            $body(&s, clock).await;
            s.stop().await;
        }
    };
}

both_backends_clock!(
    sqlite_reports_of_a_known_week,
    postgres_reports_of_a_known_week,
    reports_of_a_known_week
);

both_backends!(bad_report_requests_are_refused);

struct World {
    admin: Actor,
    sam: Actor,
    anna: Actor,
    inbox_id: i64,
    ident: String,
}

fn at(clock: &ManualClock, ms: i64) {
    clock.set(ms);
}

/// A visitor's conversation with `context`, and their first message; returns
/// `(display_id, conversations URL of the visitor)`.
async fn start(s: &TestServer, w: &World, context: Value) -> (i64, String) {
    let source = visitor(s, &w.ident).await;
    let convs = format!(
        "/public/api/v1/inboxes/{}/contacts/{source}/conversations",
        w.ident
    );
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"additional_attributes": context})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let id = c["id"].as_i64().expect("id");
    say(s, &convs, id, "Hello").await;
    (id, convs)
}

async fn say(s: &TestServer, convs: &str, id: i64, text: &str) {
    let (st, m) = s
        .call(
            Method::POST,
            None,
            &format!("{convs}/{id}/messages"),
            Some(json!({"content": text})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
}

fn conv_url(w: &World, id: i64, tail: &str) -> String {
    format!(
        "/api/v1/accounts/{}/conversations/{id}{tail}",
        w.admin.account_id
    )
}

async fn reply(s: &TestServer, w: &World, id: i64, text: &str) {
    let (st, m) = s
        .post(
            &w.anna.token,
            &conv_url(w, id, "/messages"),
            json!({"content": text}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
}

async fn resolve(s: &TestServer, w: &World, id: i64) {
    let (st, b) = s
        .post(
            &w.admin.token,
            &conv_url(w, id, "/toggle_status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

/// Waits until routing has put the conversation in the queue (it runs after the
/// message is acknowledged); the limit only turns a hang into a failure.
async fn queued(s: &TestServer, w: &World, id: i64) {
    for _ in 0..500 {
        let (_, c) = s.get(&w.admin.token, &conv_url(w, id, "")).await;
        if c["queued_at"].is_i64() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("conversation {id} never queued");
}

async fn assign(s: &TestServer, w: &World, id: i64) {
    let (st, b) = s
        .post(
            &w.admin.token,
            &conv_url(w, id, "/assignments"),
            json!({"assignee_id": w.anna.user_id}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

/// The visitor answers the satisfaction survey of a resolved conversation.
async fn rate(s: &TestServer, convs: &str, id: i64, rating: i64, comment: &str) {
    let mut survey = None;
    for _ in 0..500 {
        let (_, msgs) = s
            .call(Method::GET, None, &format!("{convs}/{id}/messages"), None)
            .await;
        survey = msgs.as_array().and_then(|l| {
            l.iter()
                .find(|m| m["content_type"] == "input_csat")
                .and_then(|m| m["id"].as_i64())
        });
        if survey.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let survey = survey.expect("a survey was sent");
    let (st, m) = s
        .call(
            Method::PATCH,
            None,
            &format!("{convs}/{id}/messages/{survey}"),
            Some(json!({"submitted_values": {"csat_survey_response":
                {"rating": rating, "feedback_message": comment}}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
}

async fn setup(s: &TestServer) -> World {
    let admin = s.admin("Shop").await;
    let sam = s.member(admin.account_id, "Sam", Role::Supervisor).await;
    let anna = s.member(admin.account_id, "Anna", Role::Agent).await;
    let days: Vec<Value> = (0..7)
        .map(|d| json!({"day_of_week": d, "open_hour": 0, "open_minutes": 0, "close_hour": 0, "close_minutes": 4}))
        .collect();
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.test"},
                   "csat_survey_enabled": true, "working_hours_enabled": true, "timezone": "UTC",
                   "working_hours": days}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let inbox_id = inbox["id"].as_i64().expect("id");
    let (st, b) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inbox_members", admin.account_id),
            json!({"inbox_id": inbox_id, "user_ids": [anna.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    let (st, b) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/labels", admin.account_id),
            json!({"title": "converted"}),
        )
        .await;
    assert!(st.is_success(), "{b}");
    World {
        admin,
        sam,
        anna,
        inbox_id,
        ident: inbox["website_token"].as_str().expect("token").to_string(),
    }
}

/// The week's story (times from Monday 00:00 UTC; the inbox works 00:00–00:04 daily):
/// - c1 (utm newsletter, from www.yandex.ru): queued at 0, Anna takes it at 2 min, replies
///   at 5 (first response 300 s), the visitor writes at 10, Anna replies at 11 (60 s),
///   resolved at 20 (1,200 s), rated 5 "Great" (a conversion);
/// - c2 (utm ads, an offline request): at 30, resolved unanswered at 90 (missed,
///   3,600 s), the visitor writes again at 100 (reopened);
/// - c3 (no source), Tuesday 00:00: queued, taken at once, labelled `converted`, Anna
///   replies at 3 min (180 s), resolved at 4 (240 s), rated 2 "Slow".
///
/// Plays it and leaves the clock after it.
async fn the_week(s: &TestServer, w: &World, clock: &ManualClock) -> [i64; 3] {
    at(clock, T0);
    let (c1, v1) = start(
        s,
        w,
        json!({"utm": {"utm_source": "newsletter", "utm_campaign": "spring"},
               "visit_referrer": "https://www.yandex.ru/search?text=shop"}),
    )
    .await;
    queued(s, w, c1).await;
    at(clock, T0 + 2 * MIN);
    assign(s, w, c1).await;
    at(clock, T0 + 5 * MIN);
    reply(s, w, c1, "Hi, how can I help?").await;
    at(clock, T0 + 10 * MIN);
    say(s, &v1, c1, "Where is my order?").await;
    at(clock, T0 + 11 * MIN);
    reply(s, w, c1, "On its way").await;
    at(clock, T0 + 20 * MIN);
    resolve(s, w, c1).await;
    at(clock, T0 + 21 * MIN);
    rate(s, &v1, c1, 5, "Great").await;

    at(clock, T0 + 30 * MIN);
    let (c2, v2) = start(
        s,
        w,
        json!({"utm": {"utm_source": "ads"}, "offline_request": true}),
    )
    .await;
    at(clock, T0 + 90 * MIN);
    resolve(s, w, c2).await;
    at(clock, T0 + 100 * MIN);
    say(s, &v2, c2, "Anyone?").await;

    let t1 = T0 + DAY;
    at(clock, t1);
    let (c3, v3) = start(s, w, json!({})).await;
    queued(s, w, c3).await;
    assign(s, w, c3).await;
    let (st, b) = s
        .post(
            &w.admin.token,
            &conv_url(w, c3, "/labels"),
            json!({"labels": ["converted"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    at(clock, t1 + 3 * MIN);
    reply(s, w, c3, "Done").await;
    at(clock, t1 + 4 * MIN);
    resolve(s, w, c3).await;
    at(clock, t1 + 5 * MIN);
    rate(s, &v3, c3, 2, "Slow").await;
    at(clock, T0 + 7 * DAY + MIN);
    [c1, c2, c3]
}

async fn reports_of_a_known_week(s: &TestServer, clock: Arc<ManualClock>) {
    let w = setup(s).await;
    let [_, _, c3] = the_week(s, &w, &clock).await;

    let acct = w.admin.account_id;
    let range = format!("since={}&until={}", T0 / 1000, (T0 + 7 * DAY) / 1000);
    let get = |path: String| {
        let token = w.sam.token.clone();
        async move {
            let (st, body) = s.get(&token, &path).await;
            assert_eq!(st, StatusCode::OK, "{path}: {body}");
            body
        }
    };

    // The summary, as a supervisor sees it, with the empty week before.
    let sum = get(format!("/api/v2/accounts/{acct}/reports/summary?{range}")).await;
    let expect = json!({
        "conversations_count": 3, "incoming_messages_count": 5, "outgoing_messages_count": 3,
        "avg_first_response_time": 240.0, "avg_resolution_time": 1680.0, "resolutions_count": 3,
        "reply_time": 180.0, "median_first_response_time": 240.0,
        "median_resolution_time": 1200.0, "median_reply_time": 180.0,
        "reopened_count": 1, "missed_count": 1, "queued_count": 2, "avg_queue_time": 60.0,
        "sla_hits_count": 0, "sla_misses_count": 0, "csat_count": 2, "avg_csat": 3.5,
        "csat_satisfied_count": 1, "conversions_count": 2, "offline_requests_count": 1,
        "avg_offline_response_time": 0.0,
    });
    for (k, v) in expect.as_object().expect("object") {
        assert_eq!(&sum[k], v, "summary {k}: {sum}");
    }
    assert_eq!(sum["previous"]["conversations_count"], 0, "{sum}");
    assert_eq!(sum["previous"]["median_reply_time"], Value::Null, "{sum}");

    // Working hours only (00:00–00:04 each day).
    let bh = get(format!(
        "/api/v2/accounts/{acct}/reports/summary?{range}&business_hours=true"
    ))
    .await;
    for (k, v) in [
        ("avg_first_response_time", 210.0),
        ("reply_time", 140.0),
        ("avg_resolution_time", 160.0),
        ("avg_queue_time", 60.0),
        ("median_first_response_time", 210.0),
        ("median_reply_time", 180.0),
        ("median_resolution_time", 240.0),
    ] {
        assert_eq!(bh[k], json!(v), "business hours {k}: {bh}");
    }
    assert_eq!(bh["conversations_count"], 3);

    // One agent's figures.
    let anna = get(format!(
        "/api/v2/accounts/{acct}/reports/summary?{range}&type=agent&id={}",
        w.anna.user_id
    ))
    .await;
    for (k, v) in [
        ("conversations_count", json!(2)),
        ("resolutions_count", json!(2)),
        ("avg_first_response_time", json!(240.0)),
        ("reply_time", json!(180.0)),
        ("outgoing_messages_count", json!(3)),
        ("incoming_messages_count", json!(1)),
        ("csat_count", json!(2)),
    ] {
        assert_eq!(anna[k], v, "agent {k}: {anna}");
    }

    // Breakdowns.
    let agents = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/agent?{range}"
    ))
    .await;
    let row = agents
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == w.anna.user_id)
        .cloned()
        .expect("Anna's row");
    for (k, v) in [
        ("conversations_count", json!(2)),
        ("resolved_conversations_count", json!(2)),
        ("avg_resolution_time", json!(720.0)),
        ("avg_first_response_time", json!(240.0)),
        ("avg_reply_time", json!(180.0)),
        ("outgoing_messages_count", json!(3)),
        ("avg_csat", json!(3.5)),
        ("conversions_count", json!(2)),
    ] {
        assert_eq!(row[k], v, "agent row {k}: {row}");
    }
    let sam_row = agents
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["id"] == w.sam.user_id)
        .cloned()
        .expect("every agent listed");
    assert_eq!(sam_row["conversations_count"], 0);
    assert_eq!(sam_row["avg_reply_time"], Value::Null);

    let inboxes = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/inbox?{range}"
    ))
    .await;
    assert_eq!(inboxes[0]["id"], w.inbox_id);
    assert_eq!(inboxes[0]["conversations_count"], 3);
    assert_eq!(inboxes[0]["missed_count"], 1);
    assert_eq!(inboxes[0]["incoming_messages_count"], 5);
    let channels = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/channel?{range}"
    ))
    .await;
    assert_eq!(channels[0]["name"], "Channel::WebWidget", "{channels}");
    assert_eq!(channels[0]["conversations_count"], 3);
    assert_eq!(channels[0]["outgoing_messages_count"], 3);
    let labels = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/label?{range}"
    ))
    .await;
    assert_eq!(labels[0]["name"], "converted", "{labels}");
    assert_eq!(labels[0]["conversations_count"], 1);
    assert_eq!(labels[0]["avg_resolution_time"], 240.0);
    assert_eq!(labels[0]["incoming_messages_count"], Value::Null);

    // Visitor sources and their conversions.
    let sources = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/sources?{range}"
    ))
    .await;
    assert_eq!(
        sources,
        json!([
            {"key": null, "conversations_count": 1, "conversions_count": 1, "conversion_rate": 1.0},
            {"key": "ads", "conversations_count": 1, "conversions_count": 0, "conversion_rate": 0.0},
            {"key": "newsletter", "conversations_count": 1, "conversions_count": 1, "conversion_rate": 1.0},
        ])
    );
    let refs = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/sources?{range}&by=referrer"
    ))
    .await;
    assert_eq!(refs[1]["key"], "yandex.ru", "{refs}");
    assert_eq!(refs[1]["conversions_count"], 1);
    assert_eq!(refs[0]["conversations_count"], 2);

    // CSAT with its comments.
    let m = get(format!(
        "/api/v1/accounts/{acct}/csat_survey_responses/metrics?{range}"
    ))
    .await;
    assert_eq!(
        m,
        json!({"total_count": 2, "average_rating": 3.5, "satisfied_count": 1,
               "ratings_count": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}})
    );
    let list = get(format!(
        "/api/v1/accounts/{acct}/csat_survey_responses?{range}"
    ))
    .await;
    assert_eq!(list[0]["rating"], 2, "{list}");
    assert_eq!(list[0]["feedback_message"], "Slow");
    assert_eq!(list[0]["conversation_id"], c3);
    assert_eq!(list[1]["feedback_message"], "Great");
    assert_eq!(list[1]["assigned_agent_id"], w.anna.user_id);

    // Traffic: Monday 00h twice, Tuesday 00h once; at UTC+3 three hours later.
    let t = get(format!(
        "/api/v2/accounts/{acct}/reports/conversation_traffic?{range}&timezone_offset=3&format=json"
    ))
    .await;
    assert_eq!(t["data"][1][3], 2, "{t}");
    assert_eq!(t["data"][2][3], 1, "{t}");
    let total: i64 = t["data"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r.as_array().expect("row").iter())
        .map(|n| n.as_i64().expect("n"))
        .sum();
    assert_eq!(total, 3);

    // Series: one point per day, empty days included.
    let series = get(format!(
        "/api/v2/accounts/{acct}/reports?{range}&metric=conversations_count&group_by=day"
    ))
    .await;
    let values: Vec<f64> = series
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, vec![2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(series[1]["timestamp"], (T0 + DAY) / 1000);
    let frt = get(format!(
        "/api/v2/accounts/{acct}/reports?{range}&metric=avg_first_response_time&group_by=week"
    ))
    .await;
    // Weeks start on Sunday: Sunday 1 March holds Monday and Tuesday.
    assert_eq!(frt[0]["value"], 240.0, "{frt}");
    assert_eq!(frt[0]["count"], 2);
    assert_eq!(frt[0]["timestamp"], (T0 - DAY) / 1000);
    let msgs = get(format!(
        "/api/v2/accounts/{acct}/reports?{range}&metric=incoming_messages_count&type=inbox&id={}",
        w.inbox_id
    ))
    .await;
    assert_eq!(msgs[0]["value"], 4.0, "{msgs}");
    assert_eq!(msgs[1]["value"], 1.0, "{msgs}");

    // CSV files: UTF-8 with a byte-order mark, a line per agent.
    let res = s
        .http
        .get(s.url(&format!(
            "/api/v2/accounts/{acct}/reports/agents?{range}&lang=ru"
        )))
        .header("api_access_token", &w.sam.token)
        .send()
        .await
        .expect("csv");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let bytes = res.bytes().await.expect("body");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM first");
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    assert!(text.contains("Сотрудник,Диалогов"), "{text}");
    let anna_line = text
        .lines()
        .find(|l| l.starts_with("Anna"))
        .expect("Anna's line");
    assert!(
        anna_line.starts_with("Anna,2,2,240,720,180,"),
        "{anna_line}"
    );
}

async fn bad_report_requests_are_refused(s: &TestServer) {
    let a = s.admin("Shop").await;
    let agent = s.member(a.account_id, "Anna", Role::Agent).await;
    let other = s.admin("Other").await;
    let acct = a.account_id;
    let base = format!("/api/v2/accounts/{acct}/reports/summary");
    let ok = "since=1772409600&until=1773014400";
    let (st, body) = s.get(&a.token, &format!("{base}?{ok}")).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    let (st, body) = s.get(&agent.token, &format!("{base}?{ok}")).await;
    common::assert_error(st, &body, 403, "forbidden");
    for (query, field) in [
        ("until=1773014400", "since"),
        ("since=1773014400&until=1772409600", "until"),
        ("since=x&until=1772409600", "since"),
        ("since=1700000000&until=1772409600", "until"),
        ("since=1772409600&until=1773014400&type=planet", "type"),
        ("since=1772409600&until=1773014400&type=inbox&id=abc", "id"),
        (
            "since=1772409600&until=1773014400&business_hours=maybe",
            "business_hours",
        ),
        (
            "since=1772409600&until=1773014400&timezone_offset=99",
            "timezone_offset",
        ),
    ] {
        let (st, body) = s.get(&a.token, &format!("{base}?{query}")).await;
        common::assert_error(st, &body, 422, "invalid_field");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    // Another account's agent is nobody here.
    let (st, body) = s
        .get(
            &a.token,
            &format!("{base}?{ok}&type=agent&id={}", other.user_id),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    let series = format!("/api/v2/accounts/{acct}/reports");
    let (st, body) = s
        .get(&a.token, &format!("{series}?{ok}&metric=bogus"))
        .await;
    common::assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(
            &a.token,
            &format!("{series}?since=1740000000&until=1772409600&metric=conversations_count&group_by=hour"),
        )
        .await;
    common::assert_error(st, &body, 422, "invalid_field");
    assert_eq!(body["error"]["field"], "group_by");
    let (st, body) = s
        .get(
            &a.token,
            &format!("/api/v2/accounts/{acct}/reports/conversation_traffic?{ok}&format=xml"),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
}

/// A database from before the report facts: the week is played, its facts and counters
/// are forgotten (as the conversations of a database older than migration 0630 have
/// none), and the background backfill derives them again from the stored history. The
/// reports then say what they said when the facts were recorded live — except the time
/// in the queue, which the history does not keep (docs/reports.md). A second run of the
/// job adds nothing.
async fn older_conversations_backfilled(s: &TestServer, clock: Arc<ManualClock>) {
    let w = setup(s).await;
    the_week(s, &w, &clock).await;
    let acct = w.admin.account_id;
    let range = format!("since={}&until={}", T0 / 1000, (T0 + 7 * DAY) / 1000);
    let reports = || {
        let token = w.sam.token.clone();
        let range = range.clone();
        async move {
            let mut out = Vec::new();
            for path in [
                format!("/api/v2/accounts/{acct}/reports/summary?{range}"),
                format!("/api/v2/accounts/{acct}/reports/summary?{range}&business_hours=true"),
                format!("/api/v2/accounts/{acct}/summary_reports/inbox?{range}"),
                format!("/api/v2/accounts/{acct}/summary_reports/channel?{range}"),
                format!("/api/v2/accounts/{acct}/summary_reports/sources?{range}"),
                format!("/api/v2/accounts/{acct}/summary_reports/sources?{range}&by=referrer"),
                format!("/api/v1/accounts/{acct}/csat_survey_responses/metrics?{range}"),
                format!(
                    "/api/v2/accounts/{acct}/reports/conversation_traffic?{range}&timezone_offset=3&format=json"
                ),
                format!(
                    "/api/v2/accounts/{acct}/reports?{range}&metric=conversations_count&group_by=day"
                ),
                format!(
                    "/api/v2/accounts/{acct}/reports?{range}&metric=avg_first_response_time&group_by=week"
                ),
            ] {
                let (st, mut body) = s.get(&token, &path).await;
                assert_eq!(st, StatusCode::OK, "{path}: {body}");
                // What the history cannot give: time in the queue.
                for k in ["queued_count", "avg_queue_time", "queue_time"] {
                    if let Some(o) = body.as_object_mut() {
                        o.remove(k);
                    }
                    for list in ["previous"] {
                        if let Some(o) = body.get_mut(list).and_then(Value::as_object_mut) {
                            o.remove(k);
                        }
                    }
                    if let Some(rows) = body.as_array_mut() {
                        for r in rows.iter_mut().filter_map(Value::as_object_mut) {
                            r.remove(k);
                        }
                    }
                }
                out.push((path, body));
            }
            out
        }
    };
    let live = reports().await;
    assert_eq!(live[0].1["conversations_count"], 3, "{}", live[0].1);

    // The job has run since the start (nothing to do) and waits for the clock to move.
    loop {
        let jobs = s.store().pending_jobs("reports_backfill").await.unwrap();
        if jobs.len() == 1 && jobs[0].run_at > clock.now_ms() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.store()
        .restart_reports_backfill(clock.now_ms())
        .await
        .unwrap();
    let empty = reports().await;
    assert_eq!(empty[0].1["conversations_count"], 0, "{}", empty[0].1);
    assert_eq!(empty[0].1["incoming_messages_count"], 0, "{}", empty[0].1);
    let status = s.store().reports_backfill_status().await.unwrap();
    assert!(!status.complete(), "{status:?}");
    // The console reads the same through the API (supervisors and administrators only).
    let status_path = format!("/api/v2/accounts/{acct}/reports/status");
    let (st, body) = s.get(&w.sam.token, &status_path).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["backfill_complete"], false, "{body}");
    assert_eq!(body["progress"], 0.0, "{body}");
    let (st, body) = s.get(&w.anna.token, &status_path).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Time moves: the job derives the facts in the background.
    loop {
        clock.advance(2_000);
        if s.store()
            .reports_backfill_status()
            .await
            .unwrap()
            .complete()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, body) = s.get(&w.sam.token, &status_path).await;
    assert_eq!(body["backfill_complete"], true, "{body}");
    assert_eq!(body["progress"], 1.0, "{body}");
    let derived = reports().await;
    for ((path, a), (_, b)) in live.iter().zip(&derived) {
        assert_eq!(a, b, "{path}: live {a}\nderived {b}");
    }
    // Done is done: another step and more runs of the job change nothing.
    s.store().reports_backfill_step(10).await.unwrap();
    clock.advance(5_000);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = reports().await;
    for ((path, a), (_, b)) in live.iter().zip(&again) {
        assert_eq!(a, b, "{path} after another run");
    }
}

both_backends_clock!(
    sqlite_older_conversations_backfilled,
    postgres_older_conversations_backfilled,
    older_conversations_backfilled
);

const HOUR: i64 = 3_600_000;

/// Four days of conversations at 01:10, 11:30 and 23:15 UTC (the first reply after
/// 1 + day + slot minutes, resolved 5 minutes later), one of them rated three times on
/// two days. Returns the conversation rated.
async fn four_days(s: &TestServer, w: &World, clock: &ManualClock) -> i64 {
    let mut rated = 0;
    for d in 0..4 {
        for (k, (h, m)) in [(1, 10), (11, 30), (23, 15)].into_iter().enumerate() {
            let t = T0 + d * DAY + h * HOUR + m * MIN;
            at(clock, t);
            let context = match k {
                0 => json!({"utm": {"utm_source": "ads", "utm_medium": "cpc"}}),
                1 => json!({"visit_referrer": format!("https://shop{d}.test/")}),
                _ => json!({"offline_request": true}),
            };
            let (id, v) = start(s, w, context).await;
            let first = (1 + d + k as i64) * MIN;
            at(clock, t + first);
            reply(s, w, id, "Hi").await;
            at(clock, t + first + 5 * MIN);
            resolve(s, w, id).await;
            if d == 1 && k == 1 {
                // Rated 1, then 3 the same minute, then 5 the next day: one answer counts.
                at(clock, t + first + 6 * MIN);
                rate(s, &v, id, 1, "").await;
                rate(s, &v, id, 3, "").await;
                at(clock, T0 + 2 * DAY + 2 * HOUR);
                rate(s, &v, id, 5, "Fine after all").await;
                rated = id;
            }
        }
    }
    at(clock, T0 + 10 * DAY);
    rated
}

/// Reports over ranges that start and end inside UTC days (the edges read from the facts,
/// the whole days from the rollups) give the numbers counted by hand and exactly those
/// of the facts alone; a rating replaced twice counts once; a median over more facts than
/// the exact limit comes from the histograms within half a bucket.
async fn rollups_equal_the_facts(s: &TestServer, clock: Arc<ManualClock>) {
    let w = setup(s).await;
    four_days(s, &w, &clock).await;
    let acct = w.admin.account_id;
    let get = |path: String| {
        let token = w.sam.token.clone();
        async move {
            let (st, body) = s.get(&token, &path).await;
            assert_eq!(st, StatusCode::OK, "{path}: {body}");
            body
        }
    };

    // Monday 02:00 to Thursday 12:00: Monday's 11:30 and 23:15, Tuesday and Wednesday
    // whole, Thursday's 01:10 and 11:30 (ten), all resolved before the end.
    let r = range(T0 + 2 * HOUR, T0 + 3 * DAY + 12 * HOUR);
    let sum = get(format!("/api/v2/accounts/{acct}/reports/summary?{r}")).await;
    assert_eq!(sum["conversations_count"], 10, "{sum}");
    assert_eq!(sum["resolutions_count"], 10, "{sum}");
    assert_eq!(sum["offline_requests_count"], 3, "{sum}");
    assert_eq!(sum["csat_count"], 1, "{sum}");
    assert_eq!(sum["avg_csat"], 5.0, "{sum}");
    // First replies after Mon 2, 3; Tue 2, 3, 4; Wed 3, 4, 5; Thu 4, 5 minutes: ten
    // replies, 35 minutes.
    assert_eq!(sum["avg_first_response_time"], 35.0 * 60.0 / 10.0, "{sum}");
    // Rated on Tuesday, then again on Wednesday: Tuesday alone has no answer.
    let tue = get(format!(
        "/api/v2/accounts/{acct}/reports/summary?{}",
        range(T0 + DAY, T0 + 2 * DAY)
    ))
    .await;
    assert_eq!(tue["csat_count"], 0, "{tue}");
    assert_eq!(tue["conversations_count"], 3, "{tue}");
    // Sources: the 01:10 conversations came from ads (Monday's is before 02:00), the
    // 11:30 ones from a shop per day, and the rated one converted.
    let src = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/sources?{r}"
    ))
    .await;
    assert_eq!(src[0]["key"], Value::Null, "{src}");
    assert_eq!(src[0]["conversations_count"], 7, "{src}");
    assert_eq!(src[1]["key"], "ads", "{src}");
    assert_eq!(src[1]["conversations_count"], 3, "{src}");
    let refs = get(format!(
        "/api/v2/accounts/{acct}/summary_reports/sources?{r}&by=referrer"
    ))
    .await;
    let shop1 = refs
        .as_array()
        .and_then(|l| l.iter().find(|x| x["key"] == "shop1.test"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(shop1["conversations_count"], 1, "{refs}");
    assert_eq!(shop1["conversions_count"], 1, "{refs}");

    let ranges = [
        range(T0 + 2 * HOUR, T0 + 3 * DAY + 12 * HOUR),
        range(
            T0 + 11 * HOUR + 31 * MIN,
            T0 + 2 * DAY + 23 * HOUR + 16 * MIN + 1_000,
        ),
        range(T0 - 3 * HOUR, T0 + 5 * DAY),
        range(T0 + DAY + 7 * 1_000, T0 + DAY + 20 * HOUR),
    ];
    rolled_equals_raw(s, &w, &ranges, true).await;
    s.store().set_report_rollups(true);

    // Medians above the exact limit come from the histograms (whole days) and the edge
    // days' facts: within half a bucket (0.5 s below a minute, 0.5 % above).
    let r = range(T0 + 2 * HOUR, T0 + 3 * DAY + 12 * HOUR);
    let exact = get(format!("/api/v2/accounts/{acct}/reports/summary?{r}")).await;
    s.store().set_report_exact_median_limit(2);
    let approx = get(format!("/api/v2/accounts/{acct}/reports/summary?{r}")).await;
    s.store()
        .set_report_exact_median_limit(parley_store::report_queries::EXACT_MEDIAN_LIMIT);
    assert_medians_within_half_a_bucket(&exact, &approx);
    // First replies sorted: 2,2,3,3,3,4,4,4,5,5 minutes: the median is 3.5 minutes.
    assert_eq!(exact["median_first_response_time"], 210.0, "{exact}");
}

/// The time range `[since, until)` as report parameters.
fn range(since: i64, until: i64) -> String {
    format!("since={}&until={}", since / 1000, until / 1000)
}

/// The report endpoints that read rollups, over `r`; `hourly`: with an hourly series (at
/// most 2,000 points: not for ranges of months).
fn rollup_paths(w: &World, r: &str, hourly: bool) -> Vec<String> {
    let acct = w.admin.account_id;
    let step = if hourly { "hour" } else { "day" };
    vec![
        format!("/api/v2/accounts/{acct}/reports/summary?{r}"),
        format!("/api/v2/accounts/{acct}/reports/summary?{r}&business_hours=true"),
        format!(
            "/api/v2/accounts/{acct}/reports/summary?{r}&type=inbox&id={}",
            w.inbox_id
        ),
        format!(
            "/api/v2/accounts/{acct}/reports/summary?{r}&type=agent&id={}",
            w.anna.user_id
        ),
        format!("/api/v2/accounts/{acct}/reports/summary?{r}&type=channel&id=Channel::WebWidget"),
        format!("/api/v2/accounts/{acct}/summary_reports/agent?{r}"),
        format!("/api/v2/accounts/{acct}/summary_reports/inbox?{r}"),
        format!("/api/v2/accounts/{acct}/summary_reports/channel?{r}"),
        format!("/api/v2/accounts/{acct}/summary_reports/team?{r}"),
        format!("/api/v1/accounts/{acct}/csat_survey_responses/metrics?{r}"),
        format!("/api/v2/accounts/{acct}/summary_reports/sources?{r}"),
        format!("/api/v2/accounts/{acct}/summary_reports/sources?{r}&by=medium"),
        format!("/api/v2/accounts/{acct}/summary_reports/sources?{r}&by=referrer"),
        format!(
            "/api/v2/accounts/{acct}/reports/conversation_traffic?{r}&timezone_offset=3&format=json"
        ),
        format!(
            "/api/v2/accounts/{acct}/reports/conversation_traffic?{r}&timezone_offset=5.5&format=json"
        ),
        format!(
            "/api/v2/accounts/{acct}/reports?{r}&metric=conversations_count&group_by={step}&timezone_offset=-4"
        ),
        format!(
            "/api/v2/accounts/{acct}/reports?{r}&metric=avg_first_response_time&group_by=day&timezone_offset=3"
        ),
        format!(
            "/api/v2/accounts/{acct}/reports?{r}&metric=offline_requests_count&group_by=day&timezone_offset=3"
        ),
        format!(
            "/api/v2/accounts/{acct}/reports?{r}&metric=resolutions_count&group_by=day&type=inbox&id={}",
            w.inbox_id
        ),
        format!(
            "/api/v2/accounts/{acct}/reports?{r}&metric=conversations_count&group_by=day&type=agent&id={}",
            w.anna.user_id
        ),
    ]
}

/// Every endpoint of [`rollup_paths`] over each of `ranges` answers the same with the
/// rollups as from the facts alone; returns the answers.
async fn rolled_equals_raw(
    s: &TestServer,
    w: &World,
    ranges: &[String],
    hourly: bool,
) -> Vec<Value> {
    let mut out = Vec::new();
    for r in ranges {
        s.store().set_report_rollups(true);
        let mut rolled = Vec::new();
        for p in rollup_paths(w, r, hourly) {
            let (st, body) = s.get(&w.sam.token, &p).await;
            assert_eq!(st, StatusCode::OK, "{p}: {body}");
            rolled.push(body);
        }
        s.store().set_report_rollups(false);
        for (p, a) in rollup_paths(w, r, hourly).into_iter().zip(rolled) {
            let (st, b) = s.get(&w.sam.token, &p).await;
            assert_eq!(st, StatusCode::OK, "{p}: {b}");
            assert_eq!(a, b, "{p}: rollups {a}\nfacts {b}");
            out.push(a);
        }
    }
    s.store().set_report_rollups(true);
    out
}

/// Days from [`T0`] (Monday 2026-03-02) and UTC times of the month story's conversations:
/// the first and last days of March, April and May and the first days of June.
const MONTH_DAYS: [(i64, i64, i64); 9] = [
    (0, 1, 10),
    (29, 23, 15),
    (30, 1, 10),
    (44, 11, 30),
    (59, 23, 15),
    (60, 1, 10),
    (90, 11, 30),
    (91, 1, 10),
    (92, 23, 15),
];

/// Reports over ranges that hold whole UTC months (read from the month rollups), whole
/// days around them (the day rollups) and partial days (the facts) equal the facts alone,
/// also after the rollups are rebuilt from the facts (the SQL fill of migration 0740 puts
/// the days into the same months as the writes); a rating replaced in the next month
/// leaves its first month; the histogram median over months stays within half a bucket.
async fn month_rollups_equal_the_facts(s: &TestServer, clock: Arc<ManualClock>) {
    let w = setup(s).await;
    let acct = w.admin.account_id;
    let mut rated = None;
    for (k, (d, h, m)) in MONTH_DAYS.into_iter().enumerate() {
        let t = T0 + d * DAY + h * HOUR + m * MIN;
        at(&clock, t);
        let context = match k % 3 {
            0 => json!({"utm": {"utm_source": "ads", "utm_medium": "cpc"}}),
            1 => json!({"visit_referrer": format!("https://shop{k}.test/")}),
            _ => json!({"offline_request": true}),
        };
        let (id, v) = start(s, &w, context).await;
        let first = (1 + k as i64) * MIN;
        at(&clock, t + first);
        reply(s, &w, id, "Hi").await;
        at(&clock, t + first + 5 * MIN);
        resolve(s, &w, id).await;
        if k == 3 {
            // Rated 2 in April, then (below) 5 in May: only May's answer counts.
            at(&clock, t + first + 6 * MIN);
            rate(s, &v, id, 2, "").await;
            rated = Some((id, v));
        } else if k == 5
            && let Some((id, v)) = &rated
        {
            at(&clock, T0 + 60 * DAY + 3 * HOUR);
            rate(s, v, *id, 5, "Better").await;
        }
    }
    at(&clock, T0 + 100 * DAY);
    let ranges = [
        // Mar 2 from 02:00 (facts), Mar 3–31 (days), April and May (months), June 1
        // (days), June 2 until 12:00 (facts).
        range(T0 + 2 * HOUR, T0 + 92 * DAY + 12 * HOUR),
        // April and May exactly.
        range(T0 + 30 * DAY, T0 + 91 * DAY),
        // Mar 31 from 11:00, April, May 1 until 12:00.
        range(T0 + 29 * DAY + 11 * HOUR, T0 + 60 * DAY + 12 * HOUR),
        // Inside April.
        range(T0 + 30 * DAY + 7_000, T0 + 59 * DAY + 20 * HOUR),
        range(T0 - 3 * HOUR, T0 + 100 * DAY),
    ];
    let before = rolled_equals_raw(s, &w, &ranges, false).await;
    // April and May: five conversations, the rating of 5 given in May.
    let (st, sum) = s
        .get(
            &w.sam.token,
            &format!("/api/v2/accounts/{acct}/reports/summary?{}", ranges[1]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{sum}");
    assert_eq!(sum["conversations_count"], 5, "{sum}");
    assert_eq!(sum["csat_count"], 1, "{sum}");
    assert_eq!(sum["avg_csat"], 5.0, "{sum}");
    // April alone: the conversation rated there, but its answer moved to May.
    let (_, apr) = s
        .get(
            &w.sam.token,
            &format!(
                "/api/v2/accounts/{acct}/reports/summary?{}",
                range(T0 + 30 * DAY, T0 + 60 * DAY)
            ),
        )
        .await;
    assert_eq!(apr["conversations_count"], 3, "{apr}");
    assert_eq!(apr["csat_count"], 0, "{apr}");

    s.store()
        .rebuild_report_rollups()
        .await
        .expect("rebuild the rollups");
    let after = rolled_equals_raw(s, &w, &ranges, false).await;
    assert_eq!(before, after);

    // The histogram median over whole months, days and facts: within half a bucket.
    let r = &ranges[0];
    let (_, exact) = s
        .get(
            &w.sam.token,
            &format!("/api/v2/accounts/{acct}/reports/summary?{r}"),
        )
        .await;
    s.store().set_report_exact_median_limit(2);
    let (_, approx) = s
        .get(
            &w.sam.token,
            &format!("/api/v2/accounts/{acct}/reports/summary?{r}"),
        )
        .await;
    s.store()
        .set_report_exact_median_limit(parley_store::report_queries::EXACT_MEDIAN_LIMIT);
    assert_medians_within_half_a_bucket(&exact, &approx);
    // First replies after 2..8 minutes (the first conversation is before 02:00, the last
    // after 12:00): 5 minutes.
    assert_eq!(exact["median_first_response_time"], 300.0, "{exact}");
}

both_backends_clock!(
    sqlite_month_rollups_equal_the_facts,
    postgres_month_rollups_equal_the_facts,
    month_rollups_equal_the_facts
);

both_backends_clock!(
    sqlite_rollups_equal_the_facts,
    postgres_rollups_equal_the_facts,
    rollups_equal_the_facts
);

/// The summary's medians from histograms are within half a bucket of the exact ones
/// (0.5 s below a minute, 0.5 % above).
fn assert_medians_within_half_a_bucket(exact: &Value, approx: &Value) {
    for k in [
        "median_first_response_time",
        "median_resolution_time",
        "median_reply_time",
    ] {
        let (e, a) = (exact[k].as_f64().expect(k), approx[k].as_f64().expect(k));
        let tolerance = if e < 60.0 { 0.5 } else { e * 0.005 };
        assert!((e - a).abs() <= tolerance, "{k}: exact {e}, histogram {a}");
    }
}
