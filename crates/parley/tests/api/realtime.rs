//! The WebSocket streams of agents and visitors (docs/realtime.md), on both backends:
//! delivery both ways, durable acknowledgements and `echo_id` retries, resume by cursor
//! after forced disconnects (every event exactly once, in order), typing and read receipts,
//! heartbeats, slow consumers, and refusals that change nothing.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::ws::{Frame, Visitor, WsClient, api_inbox};
use common::{TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

both_backends!(
    agents_and_visitors_talk_over_sockets,
    echo_id_retries_return_the_same_message,
    resume_after_forced_disconnects_gives_every_event_once_in_order,
    typing_and_read_receipts_flow_both_ways_unstored,
    agents_see_only_their_inboxes,
    refusals_before_the_upgrade,
    bad_frames_get_errors_and_change_nothing,
    stale_or_unknown_cursor_asks_for_resync,
    presence_is_announced_to_agents_only,
    holes_in_the_live_stream_are_filled_from_the_log,
);

fn send_frame(conversation_id: i64, content: &str, echo: &str) -> Value {
    json!({"type": "message.create", "conversation_id": conversation_id, "content": content, "echo_id": echo})
}

/// Reads frames until `pick` returns something; panics on close.
async fn wait_for<T>(c: &mut WsClient, mut pick: impl FnMut(&Value) -> Option<T>) -> T {
    loop {
        let v = c.json().await;
        if let Some(t) = pick(&v) {
            return t;
        }
    }
}

async fn head(s: &TestServer, account_id: i64) -> i64 {
    s.store().event_head(account_id).await.unwrap()
}

async fn agents_and_visitors_talk_over_sockets(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut agent = WsClient::agent(s, &admin, None).await;
    let (before, ready) = agent.until_ready().await;
    assert!(before.is_empty());
    // Without a cursor: no replay, and `ready` says where the stream stands.
    let h0 = head(s, admin.account_id).await;
    assert!(h0 > 0, "the conversation's creation is an event");
    assert_eq!(ready["cursor"], h0);
    let mut vis = WsClient::visitor(s, &v, None).await;
    assert_eq!(vis.until_ready().await.1["cursor"], h0);

    // A client that saw nothing yet resumes from that cursor without a gap.
    let mut early = WsClient::agent(s, &admin, None).await;
    let start = early.until_ready().await.1["cursor"].as_i64().unwrap();
    early.cut();
    v.post(s, v.conversation_id, "while nobody listened").await;
    let mut back = WsClient::agent(s, &admin, Some(start)).await;
    let (missed, _) = back.until_ready().await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["data"]["content"], "while nobody listened");
    back.cut();
    let seen_before = agent.until("message.created").await;
    assert_eq!(seen_before["data"]["content"], "while nobody listened");

    // Visitor → agent, acknowledged after it is stored.
    vis.send(send_frame(v.conversation_id, "Hello", "v-1"))
        .await;
    let ack = vis.until("message.ack").await;
    assert_eq!(ack["echo_id"], "v-1");
    assert_eq!(ack["data"]["content"], "Hello");
    let id = ack["data"]["id"].as_i64().unwrap();
    let got = agent.until("message.created").await;
    assert!(got["cursor"].as_i64().unwrap() > 0);
    assert_eq!(got["data"]["id"], id);
    assert_eq!(got["data"]["echo_id"], "v-1");
    assert_eq!(got["data"]["conversation_id"], v.conversation_id);
    assert_eq!(got["data"]["sender"]["type"], "contact");
    assert_eq!(got["data"]["private"], false);

    // Agent → visitor, in the Client API's shape.
    agent
        .send(send_frame(v.conversation_id, "Hi, how can I help?", "a-1"))
        .await;
    let ack = agent.until("message.ack").await;
    assert_eq!(ack["data"]["message_type"], 1);
    let reply_id = ack["data"]["id"].as_i64().unwrap();
    let seen = wait_for(&mut vis, |f| {
        (f["event"] == "message.created" && f["data"]["id"] == reply_id).then(|| f.clone())
    })
    .await;
    assert_eq!(seen["data"]["content"], "Hi, how can I help?");
    assert!(seen["data"].get("private").is_none(), "{seen}");
    assert!(seen["data"].get("account_id").is_none(), "{seen}");
    assert_eq!(seen["data"]["sender"]["type"], "user");
    assert_eq!(seen["data"]["sender"]["email"], Value::Null);

    // A private note reaches agents only: the visitor's next message is the one after it.
    agent
        .send(json!({"type": "message.create", "conversation_id": v.conversation_id, "content": "internal", "private": true, "echo_id": "a-2"}))
        .await;
    // The ack and the event travel separately (the event through the hub) and may come in
    // either order.
    let (mut note, mut ev) = (None, None);
    while note.is_none() || ev.is_none() {
        let f = agent.json().await;
        if f["event"] == "message.ack" && f["echo_id"] == "a-2" {
            note = Some(f);
        } else if f["event"] == "message.created" && f["data"]["echo_id"] == "a-2" {
            ev = Some(f);
        }
    }
    let (note, ev) = (note.unwrap(), ev.unwrap());
    assert_eq!(note["data"]["private"], true);
    assert_eq!(ev["data"]["content"], "internal");
    agent
        .send(send_frame(v.conversation_id, "after the note", "a-3"))
        .await;
    let next = wait_for(&mut vis, |f| {
        (f["event"] == "message.created").then(|| f["data"]["content"].clone())
    })
    .await;
    assert_eq!(next, "after the note");

    // Conversation changes reach both sides; the visitor's copy has no agent-only fields.
    let (st, _) = s
        .post(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/toggle_status",
                admin.account_id, v.conversation_id
            ),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let a = agent.until("conversation.status_changed").await;
    assert_eq!(a["data"]["status"], "resolved");
    assert!(a["data"]["meta"].is_object());
    let b = vis.until("conversation.status_changed").await;
    assert_eq!(b["data"]["status"], "resolved");
    assert!(b["data"].get("meta").is_none(), "{b}");
    assert_eq!(b["cursor"], a["cursor"]);
}

async fn echo_id_retries_return_the_same_message(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut agent = WsClient::agent(s, &admin, None).await;
    agent.until_ready().await;
    let mut vis = WsClient::visitor(s, &v, None).await;
    vis.until_ready().await;

    // Three sends with one echo id, pipelined (a client retrying after a lost ack).
    for _ in 0..3 {
        vis.send(send_frame(v.conversation_id, "only once", "same-echo"))
            .await;
    }
    let mut ids = BTreeSet::new();
    for _ in 0..3 {
        let ack = vis.until("message.ack").await;
        ids.insert(ack["data"]["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 1, "every retry acknowledges the same message");
    // A retry over REST too.
    let (st, m) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
                v.inbox_identifier, v.source_id, v.conversation_id
            ),
            Some(json!({"content": "only once", "echo_id": "same-echo"})),
        )
        .await;
    assert!(st.is_success(), "{st} {m}");
    assert_eq!(Some(&m["id"].as_i64().unwrap()), ids.first());

    // The agent hears of it exactly once: count up to a later sentinel message.
    vis.send(send_frame(v.conversation_id, "sentinel", "sentinel"))
        .await;
    let mut copies = 0;
    loop {
        let f = agent.until("message.created").await;
        if f["data"]["echo_id"] == "same-echo" {
            copies += 1;
        }
        if f["data"]["echo_id"] == "sentinel" {
            break;
        }
    }
    assert_eq!(copies, 1);
    let (_, list) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                admin.account_id, v.conversation_id
            ),
        )
        .await;
    let n = list["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"] == "only once")
        .count();
    assert_eq!(n, 1);
}

/// A tiny deterministic generator, so a failure can be replayed from its printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Reads from sockets opened with the last cursor, cutting each after a random number of
/// frames, until the account's stream reaches `until`. Returns every stored event seen.
async fn read_with_cuts(
    open: &mut (impl AsyncFnMut(Option<i64>) -> WsClient + ?Sized),
    rng: &mut Rng,
    done: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, usize) {
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor = Some(0);
    let mut connections = 0;
    loop {
        let mut c = open(cursor).await;
        connections += 1;
        let budget = 1 + rng.below(25);
        let mut read = 0;
        while read < budget {
            let f = c.json().await;
            read += 1;
            let is_ready = f["event"] == "ready";
            if let Some(cur) = f["cursor"].as_i64()
                && !is_ready
            {
                seen.push(f);
                cursor = Some(cur);
            }
            if done(&seen) {
                return (seen, connections);
            }
        }
        if done(&seen) {
            return (seen, connections);
        }
        c.cut();
    }
}

async fn resume_after_forced_disconnects_gives_every_event_once_in_order(s: &TestServer) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("resume test seed: {seed}");
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let mut visitors = Vec::new();
    for _ in 0..3 {
        visitors.push(Visitor::new(s, &inbox).await);
    }
    const N: usize = 150;
    // Produce messages in three conversations, with status changes in between, while the
    // readers below connect and get cut at random points.
    let producer = {
        let base = s.base.clone();
        let http = s.http.clone();
        let visitors = visitors.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            for i in 0..N {
                let v = &visitors[i % 3];
                let res = http
                    .post(format!(
                        "{base}/public/api/v1/inboxes/{}/contacts/{}/conversations/{}/messages",
                        v.inbox_identifier, v.source_id, v.conversation_id
                    ))
                    .json(&json!({"content": format!("m{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                if i % 40 == 39 {
                    // Resolve; the next incoming message reopens (two status events).
                    let res = http
                        .post(format!(
                            "{base}/api/v1/accounts/{}/conversations/{}/toggle_status",
                            admin.account_id, v.conversation_id
                        ))
                        .header("api_access_token", &admin.token)
                        .json(&json!({"status": "resolved"}))
                        .send()
                        .await
                        .unwrap();
                    assert!(res.status().is_success());
                }
            }
        })
    };
    let mut rng = Rng(seed);
    let count_messages = |seen: &[Value]| {
        seen.iter()
            .filter(|f| f["event"] == "message.created" && f["data"]["message_type"] == 0)
            .count()
    };
    let (agent_seen, agent_connections) = read_with_cuts(
        &mut async |cursor| WsClient::agent(s, &admin, cursor).await,
        &mut rng,
        |seen| count_messages(seen) >= N,
    )
    .await;
    producer.await.unwrap();
    let v0 = visitors[0].clone();
    let visitor_total = N.div_ceil(3);
    let (visitor_seen, _) = read_with_cuts(
        &mut async |cursor| WsClient::visitor(s, &v0, cursor).await,
        &mut rng,
        |seen| count_messages(seen) >= visitor_total,
    )
    .await;
    assert!(
        agent_connections > 3,
        "the test must actually cut connections"
    );

    for (who, seen) in [("agent", &agent_seen), ("visitor", &visitor_seen)] {
        // Cursors strictly increase: nothing twice, nothing out of order.
        let cursors: Vec<i64> = seen.iter().map(|f| f["cursor"].as_i64().unwrap()).collect();
        assert!(
            cursors.windows(2).all(|w| w[0] < w[1]),
            "{who}: cursors not strictly increasing: {cursors:?}"
        );
        // Every message exactly once, and per conversation in the order they were sent.
        let mut per_conv: HashMap<i64, Vec<i64>> = HashMap::new();
        let mut contents = BTreeSet::new();
        let visitor_messages = seen
            .iter()
            .filter(|f| f["event"] == "message.created" && f["data"]["message_type"] == 0);
        for f in visitor_messages {
            assert!(
                contents.insert(f["data"]["content"].as_str().unwrap().to_string()),
                "{who}: duplicate {f}"
            );
            per_conv
                .entry(f["data"]["conversation_id"].as_i64().unwrap())
                .or_default()
                .push(f["data"]["id"].as_i64().unwrap());
        }
        for ids in per_conv.values() {
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{who}: {ids:?}");
        }
        let want: BTreeSet<String> = (0..N)
            .filter(|i| who == "agent" || i % 3 == 0)
            .map(|i| format!("m{i}"))
            .collect();
        assert_eq!(contents, want, "{who}");
    }
    // The agent (an administrator) saw every stored event of the account, 1..=head.
    let agent_cursors: Vec<i64> = agent_seen
        .iter()
        .map(|f| f["cursor"].as_i64().unwrap())
        .collect();
    let h = head(s, admin.account_id).await;
    let upto: Vec<i64> = (1..=*agent_cursors.last().unwrap()).collect();
    assert_eq!(agent_cursors, upto, "no gap in the administrator's stream");
    assert!(h >= *agent_cursors.last().unwrap());
    // Status changes were among them, for both.
    assert!(
        agent_seen
            .iter()
            .any(|f| f["event"] == "conversation.status_changed")
    );
    assert!(
        visitor_seen
            .iter()
            .any(|f| f["event"] == "conversation.status_changed")
    );
}

async fn typing_and_read_receipts_flow_both_ways_unstored(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut agent = WsClient::agent(s, &admin, None).await;
    agent.until_ready().await;
    let mut vis = WsClient::visitor(s, &v, None).await;
    vis.until_ready().await;
    let h0 = head(s, admin.account_id).await;

    vis.send(json!({"type": "typing", "conversation_id": v.conversation_id, "status": "on"}))
        .await;
    let t = agent.until("conversation.typing_on").await;
    assert_eq!(t["data"]["conversation"]["id"], v.conversation_id);
    assert_eq!(t["data"]["user"]["type"], "contact");
    assert!(t.get("cursor").is_none(), "typing is not stored: {t}");

    agent
        .send(json!({"type": "typing", "conversation_id": v.conversation_id, "status": "on"}))
        .await;
    let t = vis.until("conversation.typing_on").await;
    assert_eq!(t["data"]["user"]["type"], "user");
    agent
        .send(json!({"type": "typing", "conversation_id": v.conversation_id, "status": "off"}))
        .await;
    vis.until("conversation.typing_off").await;

    agent
        .send(json!({"type": "read", "conversation_id": v.conversation_id}))
        .await;
    let r = vis.until("conversation.read").await;
    assert_eq!(r["data"]["user"]["type"], "user");
    assert!(r["data"]["last_seen_at"].as_i64().unwrap() > 0);
    vis.send(json!({"type": "read", "conversation_id": v.conversation_id}))
        .await;
    let r = agent.until("conversation.read").await;
    assert_eq!(r["data"]["user"]["type"], "contact");
    assert!(r.get("cursor").is_none());

    // Nothing of this is an event in the log or a message.
    assert_eq!(head(s, admin.account_id).await, h0);
    let (_, list) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}/messages",
                admin.account_id, v.conversation_id
            ),
        )
        .await;
    assert_eq!(list["payload"].as_array().unwrap().len(), 0, "{list}");
    // The read receipt was recorded on the conversation.
    let (_, conv) = s
        .get(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/conversations/{}",
                admin.account_id, v.conversation_id
            ),
        )
        .await;
    assert!(conv["contact_last_seen_at"].as_i64().unwrap() > 0);
    assert!(conv["agent_last_seen_at"].as_i64().unwrap() > 0);
}

async fn agents_see_only_their_inboxes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Ann", Role::Agent).await;
    let (mine_id, mine) = api_inbox(s, &admin, "Mine").await;
    let (_, other) = api_inbox(s, &admin, "Other").await;
    let (st, _) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inbox_members", admin.account_id),
            json!({"inbox_id": mine_id, "user_ids": [agent.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let in_mine = Visitor::new(s, &mine).await;
    let in_other = Visitor::new(s, &other).await;
    let mut live = WsClient::agent(s, &agent, None).await;
    live.until_ready().await;
    in_other.post(s, in_other.conversation_id, "secret").await;
    in_mine.post(s, in_mine.conversation_id, "visible").await;
    // The first customer message she hears of is the one in her inbox (routing's activity
    // lines, such as her taking the waiting conversation on connecting, may come first).
    let f = wait_for(&mut live, |f| {
        (f["event"] == "message.created" && f["data"]["message_type"] == 0).then(|| f.clone())
    })
    .await;
    assert_eq!(f["data"]["content"], "visible");
    // Replay from the start skips the other inbox too.
    let mut again = WsClient::agent(s, &agent, Some(0)).await;
    let (replayed, _) = again.until_ready().await;
    // Conversation and message events carry their inbox; inbox and contact events are
    // about her inbox only (the other inbox's new visitor is not announced to her).
    assert!(
        replayed.iter().all(|f| match f["event"].as_str() {
            Some(e) if e.starts_with("inbox.") => f["data"]["id"] == json!(mine_id),
            Some("contact.created") => true,
            _ => f["data"]["inbox_id"] != json!(null),
        }),
        "{replayed:?}"
    );
    let contacts = replayed
        .iter()
        .filter(|f| f["event"] == "contact.created")
        .count();
    assert_eq!(contacts, 1, "only her inbox's visitor: {replayed:?}");
    assert!(
        replayed
            .iter()
            .all(|f| f.to_string().find("secret").is_none()),
        "{replayed:?}"
    );
    assert!(replayed.iter().any(|f| f["data"]["content"] == "visible"));
    // Another visitor's socket never carries this visitor's conversation.
    let mut spy = WsClient::visitor(s, &in_other, Some(0)).await;
    let (spied, _) = spy.until_ready().await;
    assert!(
        spied
            .iter()
            .all(|f| f.to_string().find("visible").is_none())
    );
}

async fn refusals_before_the_upgrade(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let other = s.admin("Other").await;
    let path = format!("/api/v1/accounts/{}/realtime", admin.account_id);
    let refuse = |headers: Vec<(&'static str, String)>, path: String| {
        let base = s.base.clone();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match WsClient::open(&base, &path, &h).await {
                Ok(_) => panic!("{path} should be refused"),
                Err(e) => e,
            }
        }
    };
    let (st, body) = refuse(vec![], path.clone()).await;
    assert_eq!(st, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (st, _) = refuse(vec![("api_access_token", "nope".into())], path.clone()).await;
    assert_eq!(st, 401);
    let (st, body) = refuse(
        vec![("api_access_token", other.token.clone())],
        path.clone(),
    )
    .await;
    assert_eq!(st, 404, "another account's token: {body}");
    let (st, body) = refuse(
        vec![("api_access_token", admin.token.clone())],
        format!("{path}?cursor=-1"),
    )
    .await;
    assert_eq!(st, 422, "{body}");
    assert_eq!(body["error"]["field"], "cursor");
    let (st, body) = refuse(
        vec![("api_access_token", admin.token.clone())],
        format!("{path}?cursor=abc"),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(body["error"]["code"], "invalid_query");
    let (st, _) = refuse(vec![], "/public/api/v1/realtime?pubsub_token=nope".into()).await;
    assert_eq!(st, 401);
    let (st, body) = refuse(vec![], "/public/api/v1/realtime".into()).await;
    assert_eq!(st, 400);
    assert_eq!(body["error"]["code"], "invalid_query");

    // A plain GET is not a WebSocket.
    let (st, body) = s.get(&admin.token, &path).await;
    assert_error(st, &body, 426, "upgrade_required");

    // The console's cookie works from Parley's own origin only.
    let res = s
        .http
        .post(s.url("/auth/sign_in"))
        .json(&json!({"email": admin.email, "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("parley_session="))
        .expect("session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (st, body) = refuse(
        vec![
            ("cookie", cookie.clone()),
            ("origin", "http://evil.example".into()),
        ],
        path.clone(),
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["error"]["code"], "csrf");
    let host = s.base.trim_start_matches("http://").to_string();
    let mut ok = WsClient::open(
        &s.base,
        &path,
        &[("cookie", &cookie), ("origin", &format!("http://{host}"))],
    )
    .await
    .expect("same-origin cookie socket opens");
    ok.until_ready().await;
}

async fn bad_frames_get_errors_and_change_nothing(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let stranger = Visitor::new(s, &inbox).await;
    let mut vis = WsClient::visitor(s, &v, None).await;
    vis.until_ready().await;
    let h0 = head(s, admin.account_id).await;

    vis.send_raw(Message::Text("{not json".into())).await;
    let e = vis.until("error").await;
    assert_eq!(e["error"]["code"], "invalid_request");
    vis.send(json!({"type": "launch_missiles"})).await;
    assert_eq!(vis.until("error").await["error"]["code"], "invalid_request");
    vis.send(send_frame(stranger.conversation_id, "intrude", "x-1"))
        .await;
    let e = vis.until("error").await;
    assert_eq!(e["echo_id"], "x-1");
    assert_eq!(e["error"]["code"], "not_found");
    vis.send(send_frame(999_999, "nowhere", "x-2")).await;
    assert_eq!(vis.until("error").await["error"]["code"], "not_found");
    vis.send(json!({"type": "message.create", "conversation_id": v.conversation_id, "content": "psst", "private": true, "echo_id": "x-3"}))
        .await;
    let e = vis.until("error").await;
    assert_eq!(e["error"]["field"], "private");
    vis.send(send_frame(v.conversation_id, "   ", "x-4")).await;
    let e = vis.until("error").await;
    assert_eq!(e["error"]["field"], "content");
    vis.send(json!({"type": "typing", "conversation_id": v.conversation_id, "status": "maybe"}))
        .await;
    assert_eq!(vis.until("error").await["error"]["field"], "typing_status");
    vis.send(json!({"type": "ping"})).await;
    vis.until("pong").await;
    // Nothing was stored by any of it.
    assert_eq!(head(s, admin.account_id).await, h0);
    for conv in [v.conversation_id, stranger.conversation_id] {
        let (_, list) = s
            .get(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{conv}/messages",
                    admin.account_id
                ),
            )
            .await;
        assert_eq!(list["payload"].as_array().unwrap().len(), 0);
    }
    // Binary frames end the connection with 1003.
    vis.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    match vis.next().await {
        Frame::Closed(Some((code, _))) => assert_eq!(code, 1003),
        other => panic!("expected a close, got {other:?}"),
    }
    // A frame over 64 KiB ends the connection.
    let mut big = WsClient::visitor(s, &v, None).await;
    big.until_ready().await;
    big.send_raw(Message::Text("x".repeat(70 * 1024).into()))
        .await;
    assert!(matches!(big.next().await, Frame::Closed(_)));
    assert_eq!(head(s, admin.account_id).await, h0);
}

async fn stale_or_unknown_cursor_asks_for_resync(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut c = WsClient::agent(s, &admin, Some(1_000_000)).await;
    assert_eq!(c.json().await["event"], "resync");
    let ready = c.until("ready").await;
    assert_eq!(ready["cursor"], head(s, admin.account_id).await, "{ready}");
    // Live events still flow after a resync.
    v.post(s, v.conversation_id, "still live").await;
    assert_eq!(
        c.until("message.created").await["data"]["content"],
        "still live"
    );
    // Pruned history: a cursor before the oldest retained event must resync.
    for i in 0..3 {
        v.post(s, v.conversation_id, &format!("p{i}")).await;
    }
    s.store()
        .prune_events(parley_core::now_ms() + 1)
        .await
        .unwrap();
    v.post(s, v.conversation_id, "after prune").await;
    let mut c = WsClient::agent(s, &admin, Some(1)).await;
    assert_eq!(c.json().await["event"], "resync");
    // The head itself is a valid cursor: nothing missed, nothing to replay.
    let h = head(s, admin.account_id).await;
    let mut c = WsClient::agent(s, &admin, Some(h)).await;
    let (before, ready) = c.until_ready().await;
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(ready["cursor"], h);
}

/// With heartbeats far apart, the only thing that can cut the reader below is its full
/// queue (64 events here), so the test does not depend on how fast the machine runs. (A peer whose TCP window
/// stays full for two heartbeats is also cut; that one cannot be told why.)
fn patient(cfg: &mut parley::Config) {
    cfg.ws_heartbeat_secs = 3600;
    cfg.ws_queue_events = 64;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_on_sqlite() {
    let s = TestServer::sqlite_with(patient).await;
    slow_consumer_is_cut_with_a_reason_and_loses_nothing(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_on_postgres() {
    if let Some(s) = TestServer::postgres_with(patient).await {
        slow_consumer_is_cut_with_a_reason_and_loses_nothing(&s).await;
        s.stop().await;
    }
}

async fn slow_consumer_is_cut_with_a_reason_and_loses_nothing(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut slow = WsClient::agent(s, &admin, None).await;
    let (_, ready) = slow.until_ready().await;
    let start = head(s, admin.account_id).await;
    assert_eq!(ready["cursor"], start);
    // Large messages, sent while the slow client reads nothing, overflow socket buffers
    // and then the connection's queue.
    let text = "y".repeat(30_000);
    let mut sent = 0;
    for i in 0..1500 {
        let (st, _) = s
            .post(
                &admin.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{}/messages",
                    admin.account_id, v.conversation_id
                ),
                json!({"content": format!("{i} {text}")}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        sent += 1;
    }
    // Reading now: what was queued arrives, then the close with its reason.
    let mut last = start;
    let close = loop {
        match slow.next().await {
            Frame::Json(f) => {
                if let Some(c) = f["cursor"].as_i64() {
                    last = c;
                }
            }
            Frame::Closed(c) => break c,
        }
    };
    assert_eq!(close, Some((4008, "slow_consumer".into())));
    // Resuming from the last cursor brings the rest, exactly.
    let mut again = WsClient::agent(s, &admin, Some(last)).await;
    let (rest, _) = again.until_ready().await;
    let mut cursors: Vec<i64> = rest.iter().filter_map(|f| f["cursor"].as_i64()).collect();
    cursors.insert(0, last);
    assert!(
        cursors.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap on resume"
    );
    assert_eq!(*cursors.last().unwrap(), start + sent);
}

/// Reads one raw server frame (unmasked): opcode and payload.
async fn raw_frame(tcp: &mut tokio::net::TcpStream) -> Option<(u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.ok()?;
    let opcode = head[0] & 0x0f;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            tcp.read_exact(&mut b).await.ok()?;
            u64::from(u16::from_be_bytes(b))
        }
        127 => {
            let mut b = [0u8; 8];
            tcp.read_exact(&mut b).await.ok()?;
            u64::from_be_bytes(b)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    tcp.read_exact(&mut payload).await.ok()?;
    Some((opcode, payload))
}

/// A peer that completes the handshake and then never answers is pinged, then closed
/// with `heartbeat_timeout`. (Raw TCP: a WebSocket library would answer the pings.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_is_pinged_then_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let cfg = parley::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        ws_heartbeat_secs: 1,
        ..parley::Config::default()
    };
    let s = TestServer::start(cfg, dir).await;
    let admin = s.admin("Shop").await;
    let (_, inbox) = api_inbox(&s, &admin, "Site").await;
    let v = Visitor::new(&s, &inbox).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /public/api/v1/realtime?pubsub_token={} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        v.pubsub_token
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"));
    let mut pings = 0;
    let close = loop {
        match raw_frame(&mut tcp).await {
            Some((0x9, _)) => pings += 1,
            Some((0x8, payload)) => break payload,
            Some(_) => {}
            None => panic!("connection dropped without a close frame"),
        }
    };
    assert!(pings >= 1, "the server pings before giving up");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 4000);
    assert_eq!(&close[2..], b"heartbeat_timeout");
    s.stop().await;
}

/// Stopping the server closes sockets with 1001 rather than dropping them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_going_away() {
    let s = TestServer::sqlite().await;
    let admin = s.admin("Shop").await;
    let mut c = WsClient::agent(&s, &admin, None).await;
    c.until_ready().await;
    let reader = tokio::spawn(async move {
        loop {
            if let Frame::Closed(close) = c.next().await {
                return Frame::Closed(close);
            }
        }
    });
    s.stop().await;
    match reader.await.unwrap() {
        Frame::Closed(Some((code, reason))) => {
            assert_eq!(code, 1001);
            assert_eq!(reason, "going_away");
        }
        other => panic!("expected a close, got {other:?}"),
    }
}

async fn presence_is_announced_to_agents_only(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let colleague = s.member(admin.account_id, "Bob", Role::Administrator).await;
    // No grace period: a closed console makes its agent offline at once.
    let (st, _) = s
        .patch(
            &admin.token,
            &format!("/api/v1/accounts/{}/routing/settings", admin.account_id),
            json!({"presence_grace_seconds": 0}),
        )
        .await;
    assert!(st.is_success());
    let (_, inbox) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &inbox).await;
    let mut watcher = WsClient::agent(s, &admin, None).await;
    watcher.until_ready().await;

    let mut bob = WsClient::agent(s, &colleague, None).await;
    bob.until_ready().await;
    let uid = colleague.user_id.to_string();
    let p = wait_for(&mut watcher, |f| {
        (f["event"] == "presence.update" && f["data"]["users"][&uid].is_string()).then(|| f.clone())
    })
    .await;
    assert_eq!(p["data"]["users"][&uid], "online");
    assert!(p.get("cursor").is_none());

    let mut vis = WsClient::visitor(s, &v, None).await;
    vis.until_ready().await;
    // Agents' own announcements (the watcher's, Bob's) go through routing's presence and
    // may arrive late: wait for the visitor's.
    let p = wait_for(&mut watcher, |f| {
        (f["event"] == "presence.update" && f["data"]["contacts"].is_object()).then(|| f.clone())
    })
    .await;
    let contacts = p["data"]["contacts"].as_object().expect("contacts");
    assert_eq!(contacts.values().next().unwrap(), "online");

    bob.cut();
    let p = wait_for(&mut watcher, |f| {
        (f["event"] == "presence.update" && f["data"]["users"][&uid].is_string()).then(|| f.clone())
    })
    .await;
    assert_eq!(p["data"]["users"][&uid], "offline");

    // The visitor never hears of anyone's presence: its next frame is the pong.
    vis.send(json!({"type": "ping"})).await;
    assert_eq!(vis.json().await["event"], "pong");
}

/// Events the bus delivers late or never (a lost NATS message, a lagging receiver) are read
/// from the log: a socket still gets every cursor in order. Two separate holes, as happen
/// when a large batch's events are published by many tasks.
async fn holes_in_the_live_stream_are_filled_from_the_log(s: &TestServer) {
    use parley_store::events::EventDraft;
    let admin = s.admin("Shop").await;
    let mut agent = WsClient::agent(s, &admin, None).await;
    let start = agent.until_ready().await.1["cursor"].as_i64().unwrap();
    let mut stored = Vec::new();
    for i in 0..5 {
        let row = s
            .store()
            .append_event(EventDraft {
                account_id: admin.account_id,
                name: "conversation.updated".into(),
                conversation_id: None,
                inbox_id: None,
                contact_id: None,
                public: false,
                payload: format!("{{\"n\":{i}}}"),
                origin: None,
            })
            .await
            .unwrap();
        stored.push(row);
    }
    // Only the second and the fifth reach the bus.
    for i in [1, 4] {
        s.svc()
            .bus
            .publish(parley_service::realtime::event_of_row(stored[i].clone()));
    }
    let mut got = Vec::new();
    while got.len() < 5 {
        let f = agent.until("conversation.updated").await;
        got.push((
            f["cursor"].as_i64().unwrap(),
            f["data"]["n"].as_i64().unwrap(),
        ));
    }
    let want: Vec<(i64, i64)> = (0..5).map(|i| (start + 1 + i, i)).collect();
    assert_eq!(got, want);
}
