//! Authorisation rechecked where it can change (issue 12, findings 3, 4, 8 and 14), on
//! both backends:
//!
//! - finding 3: an open socket closes with 4403 when its user leaves the account, 4409
//!   when their role changes, 4401 when their token is reset or their session signed out,
//!   and nothing sent after the change reaches it; an agent removed from an inbox stops
//!   getting that inbox's events at once (and gets them again when added back); a visitor
//!   socket closes when its contact or inbox is deleted;
//! - finding 4: agents never see the Client API credential (`source_id`) of a contact's
//!   identity in an inbox they are not a member of, nor create one there;
//! - finding 8: the e-mail of another account's user only invites them;
//! - finding 14: a client's close frame is answered.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::ws::{Frame, Visitor, WsClient, api_inbox};
use crate::common::{Actor, TestServer};
use parley_core::Role;

crate::both_backends!(
    sockets_close_when_membership_role_or_token_changes,
    signing_out_closes_that_sessions_sockets_only,
    removal_from_an_inbox_stops_its_events_at_once,
    visitor_sockets_close_when_their_contact_or_inbox_goes,
    close_frames_are_answered,
    agents_see_identities_only_of_their_inboxes,
    existing_users_are_invited_not_attached,
);

/// Reads until the socket closes; returns the close frame and the frames before it.
async fn until_closed(c: &mut WsClient) -> (Option<(u16, String)>, Vec<Value>) {
    let mut seen = Vec::new();
    loop {
        match c.next().await {
            Frame::Json(v) => seen.push(v),
            Frame::Closed(close) => return (close, seen),
        }
    }
}

/// An agent socket that has said `ready`.
async fn ready_agent(s: &TestServer, who: &Actor) -> WsClient {
    let mut c = WsClient::agent(s, who, None).await;
    c.until_ready().await;
    c
}

fn acct(a: &Actor, path: &str) -> String {
    format!("/api/v1/accounts/{}{path}", a.account_id)
}

async fn add_to_inbox(s: &TestServer, admin: &Actor, inbox_id: i64, user_id: i64) {
    let (st, body) = s
        .post(
            &admin.token,
            &acct(admin, "/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

/// A private note by the administrator in a visitor's conversation.
async fn note(s: &TestServer, admin: &Actor, conversation_id: i64, text: &str) {
    let (st, body) = s
        .post(
            &admin.token,
            &acct(admin, &format!("/conversations/{conversation_id}/messages")),
            json!({"content": text, "private": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

/// Reads until the `message.created` of `text` (routing's activity lines may come first).
async fn until_content(c: &mut WsClient, text: &str) -> Value {
    loop {
        let f = c.until("message.created").await;
        if f["data"]["content"] == text {
            return f;
        }
    }
}

fn mentions(frames: &[Value], text: &str) -> bool {
    frames.iter().any(|f| f.to_string().contains(text))
}

async fn sockets_close_when_membership_role_or_token_changes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (inbox_id, ident) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &ident).await;
    let removed = s.member(admin.account_id, "Removed", Role::Agent).await;
    let promoted = s.member(admin.account_id, "Promoted", Role::Agent).await;
    let reset = s.member(admin.account_id, "Reset", Role::Agent).await;
    for a in [&removed, &promoted, &reset] {
        add_to_inbox(s, &admin, inbox_id, a.user_id).await;
    }

    // Removed from the account: 4403, and the note written right after never arrives.
    let mut sock = ready_agent(s, &removed).await;
    let mut bystander = ready_agent(s, &admin).await;
    let (st, _) = s
        .delete(
            &admin.token,
            &acct(&admin, &format!("/agents/{}", removed.user_id)),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    note(s, &admin, v.conversation_id, "after-removal-note").await;
    let (close, seen) = until_closed(&mut sock).await;
    assert_eq!(close, Some((4403, "forbidden".into())), "{seen:?}");
    assert!(!mentions(&seen, "after-removal-note"), "{seen:?}");
    // Others keep their stream.
    until_content(&mut bystander, "after-removal-note").await;

    // A new role: 4409, the client reconnects and sees what the new role sees.
    let mut sock = ready_agent(s, &promoted).await;
    let (st, body) = s
        .patch(
            &admin.token,
            &acct(&admin, &format!("/agents/{}", promoted.user_id)),
            json!({"role": "supervisor"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (close, _) = until_closed(&mut sock).await;
    assert_eq!(close, Some((4409, "role_changed".into())));
    let mut again = ready_agent(s, &promoted).await;
    // Availability alone is no access change: the socket stays.
    let (st, _) = s
        .patch(
            &admin.token,
            &acct(&admin, &format!("/agents/{}", promoted.user_id)),
            json!({"role": "supervisor", "availability_status": "busy"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    note(s, &admin, v.conversation_id, "still-live").await;
    until_content(&mut again, "still-live").await;

    // The token reset: 4401 for the socket opened with the old token.
    let mut sock = ready_agent(s, &reset).await;
    let (st, body) = s
        .call(
            Method::POST,
            Some(&reset.token),
            "/api/v1/profile/access_token",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    note(s, &admin, v.conversation_id, "after-reset-note").await;
    let (close, seen) = until_closed(&mut sock).await;
    assert_eq!(close, Some((4401, "unauthorized".into())), "{seen:?}");
    assert!(!mentions(&seen, "after-reset-note"), "{seen:?}");
    // The new token opens a socket as usual.
    let fresh = Actor {
        token: body["access_token"].as_str().expect("new token").into(),
        ..reset
    };
    ready_agent(s, &fresh).await;
}

/// Signs the administrator in; returns the session cookie (`parley_session=…`).
async fn session_cookie(s: &TestServer, who: &Actor) -> String {
    let res = s
        .http
        .post(s.url("/auth/sign_in"))
        .json(&json!({"email": who.email, "password": "password123"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::OK);
    let set = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    set.split(';').next().expect("cookie pair").to_string()
}

async fn cookie_socket(s: &TestServer, who: &Actor, cookie: &str) -> WsClient {
    let mut c = WsClient::open(
        &s.base,
        &acct(who, "/realtime"),
        &[("cookie", cookie), ("origin", &s.base)],
    )
    .await
    .expect("cookie socket opens");
    c.until_ready().await;
    c
}

async fn signing_out_closes_that_sessions_sockets_only(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &ident).await;
    let first = session_cookie(s, &admin).await;
    let second = session_cookie(s, &admin).await;
    let mut signed_out = cookie_socket(s, &admin, &first).await;
    let mut other_session = cookie_socket(s, &admin, &second).await;
    let mut by_token = ready_agent(s, &admin).await;

    let res = s
        .http
        .delete(s.url("/auth/sign_out"))
        .header("cookie", &first)
        .send()
        .await
        .expect("sign out");
    assert_eq!(res.status(), StatusCode::OK);
    note(s, &admin, v.conversation_id, "after-sign-out").await;
    let (close, seen) = until_closed(&mut signed_out).await;
    assert_eq!(close, Some((4401, "unauthorized".into())), "{seen:?}");
    assert!(!mentions(&seen, "after-sign-out"));
    for c in [&mut other_session, &mut by_token] {
        until_content(c, "after-sign-out").await;
    }

    // A password change ends the other sessions, and so their sockets.
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"password": "password456", "password_confirmation": "password456", "current_password": "password123"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (close, _) = until_closed(&mut other_session).await;
    assert_eq!(close, Some((4401, "unauthorized".into())));
    note(s, &admin, v.conversation_id, "token-socket-stays").await;
    until_content(&mut by_token, "token-socket-stays").await;
}

async fn removal_from_an_inbox_stops_its_events_at_once(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Ann", Role::Agent).await;
    let (first_id, first) = api_inbox(s, &admin, "First").await;
    let (second_id, second) = api_inbox(s, &admin, "Second").await;
    add_to_inbox(s, &admin, first_id, agent.user_id).await;
    add_to_inbox(s, &admin, second_id, agent.user_id).await;
    let in_first = Visitor::new(s, &first).await;
    let in_second = Visitor::new(s, &second).await;
    let mut sock = ready_agent(s, &agent).await;

    let (st, body) = s
        .call(
            Method::DELETE,
            Some(&admin.token),
            &acct(&admin, "/inbox_members"),
            Some(json!({"inbox_id": first_id, "user_ids": [agent.user_id]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // Written right after the removal: the first inbox's note must not arrive, the
    // second's must (the socket stays open).
    note(s, &admin, in_first.conversation_id, "first-after-removal").await;
    note(s, &admin, in_second.conversation_id, "second-after-removal").await;
    let mut seen = Vec::new();
    loop {
        let f = sock.json().await;
        let done =
            f["event"] == "message.created" && f["data"]["content"] == "second-after-removal";
        seen.push(f);
        if done {
            break;
        }
    }
    assert!(!mentions(&seen, "first-after-removal"), "{seen:?}");

    // Added back: that inbox's events flow again, on the same socket.
    add_to_inbox(s, &admin, first_id, agent.user_id).await;
    note(s, &admin, in_first.conversation_id, "first-after-return").await;
    until_content(&mut sock, "first-after-return").await;
}

async fn visitor_sockets_close_when_their_contact_or_inbox_goes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(s, &admin, "Site").await;
    let (other_id, other) = api_inbox(s, &admin, "Other").await;
    let v = Visitor::new(s, &ident).await;
    let stays = Visitor::new(s, &ident).await;
    let w = Visitor::new(s, &other).await;
    let mut sock = WsClient::visitor(s, &v, None).await;
    sock.until_ready().await;
    let mut neighbour = WsClient::visitor(s, &stays, None).await;
    neighbour.until_ready().await;

    let (_, conv) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/conversations/{}", v.conversation_id)),
        )
        .await;
    let contact_id = conv["meta"]["sender"]["id"].as_i64().expect("contact id");
    let (st, _) = s
        .delete(
            &admin.token,
            &acct(&admin, &format!("/contacts/{contact_id}")),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (close, _) = until_closed(&mut sock).await;
    assert_eq!(close, Some((4403, "forbidden".into())));
    // The other visitor of the inbox keeps their socket.
    stays.post(s, stays.conversation_id, "still here").await;
    until_content(&mut neighbour, "still here").await;

    let mut sock = WsClient::visitor(s, &w, None).await;
    sock.until_ready().await;
    let (st, _) = s
        .delete(&admin.token, &acct(&admin, &format!("/inboxes/{other_id}")))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (close, _) = until_closed(&mut sock).await;
    assert_eq!(close, Some((4403, "forbidden".into())));
}

async fn close_frames_are_answered(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, ident) = api_inbox(s, &admin, "Site").await;
    let v = Visitor::new(s, &ident).await;
    let agent = ready_agent(s, &admin).await;
    let mut visitor = WsClient::visitor(s, &v, None).await;
    visitor.until_ready().await;
    for (mut c, code) in [(agent, 1000u16), (visitor, 4000u16)] {
        c.send_raw(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: "bye".into(),
        })))
        .await;
        // RFC 6455 §5.5.1: the endpoint answers with a Close frame, echoing the code.
        let (close, _) = until_closed(&mut c).await;
        assert_eq!(close.map(|c| c.0), Some(code));
    }
}

/// Every `source_id` of a contact's identities in a response.
fn source_ids(contact: &Value) -> Vec<String> {
    contact["contact_inboxes"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|ci| ci["source_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn agents_see_identities_only_of_their_inboxes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Ann", Role::Agent).await;
    let (mine, _) = api_inbox(s, &admin, "Mine").await;
    let (hidden, _) = api_inbox(s, &admin, "Hidden").await;
    add_to_inbox(s, &admin, mine, agent.user_id).await;

    let (st, created) = s
        .post(
            &admin.token,
            &acct(&admin, "/contacts"),
            json!({"name": "Ivan", "email": "ivan@example.test", "inbox_id": hidden}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{created}");
    let contact = &created["payload"]["contact"];
    let id = contact["id"].as_i64().expect("id");
    let secret = source_ids(contact);
    assert_eq!(secret.len(), 1, "{created}");
    let secret = &secret[0];

    // The administrator sees the identity; the agent sees the contact without it, in the
    // contact, the list and the search.
    let (_, shown) = s
        .get(&admin.token, &acct(&admin, &format!("/contacts/{id}")))
        .await;
    assert_eq!(source_ids(&shown["payload"]).len(), 1, "{shown}");
    for path in [
        format!("/contacts/{id}"),
        "/contacts".to_string(),
        "/contacts/search?q=ivan".to_string(),
    ] {
        let (st, body) = s.get(&agent.token, &acct(&admin, &path)).await;
        assert_eq!(st, StatusCode::OK, "{path}: {body}");
        assert!(
            body.to_string().contains("ivan@example.test"),
            "{path}: {body}"
        );
        assert!(
            !body.to_string().contains(secret.as_str()),
            "{path}: {body}"
        );
    }

    // Creating an identity in an inbox the agent cannot see is refused like an unknown
    // inbox, and nothing is created; in their own inbox it works with a random source_id.
    let (st, body) = s
        .post(
            &agent.token,
            &acct(&admin, &format!("/contacts/{id}/contact_inboxes")),
            json!({"inbox_id": hidden, "source_id": "chosen"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "inbox_id", "{body}");
    let (st, body) = s
        .post(
            &agent.token,
            &acct(&admin, "/contacts"),
            json!({"name": "Petr", "email": "petr@example.test", "inbox_id": hidden}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, search) = s
        .get(&admin.token, &acct(&admin, "/contacts/search?q=petr"))
        .await;
    assert_eq!(search["meta"]["count"], 0, "{search}");
    let (_, shown) = s
        .get(&admin.token, &acct(&admin, &format!("/contacts/{id}")))
        .await;
    assert_eq!(source_ids(&shown["payload"]).len(), 1, "{shown}");

    let mut made = Vec::new();
    for _ in 0..2 {
        let (st, body) = s
            .post(
                &agent.token,
                &acct(&admin, &format!("/contacts/{id}/contact_inboxes")),
                json!({"inbox_id": mine}),
            )
            .await;
        assert!(st.is_success(), "{body}");
        made.push(body["source_id"].as_str().expect("source_id").to_string());
    }
    for sid in &made {
        assert!(sid.len() >= 32, "not random enough: {sid}");
    }
    assert_ne!(made[0], made[1]);
}

async fn existing_users_are_invited_not_attached(s: &TestServer) {
    let a = s.admin("Alpha").await;
    let b = s.admin("Beta").await;
    let bob = s.member(b.account_id, "Bobprivate", Role::Agent).await;

    let (st, body) = s
        .post(
            &a.token,
            &acct(&a, "/agents"),
            json!({"name": "Whoever", "email": bob.email, "role": "administrator"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["id"], Value::Null, "{body}");
    assert_eq!(body["confirmed"], false);
    assert_eq!(body["name"], "Whoever");
    assert_eq!(body["invitation_status"], "pending");
    let text = body.to_string();
    assert!(!text.contains("Bobprivate"), "{text}");
    assert!(!text.contains(&format!("\"id\":{}", bob.user_id)), "{text}");

    // Not a member yet: A's agent list does not have Bob, and Bob cannot enter A.
    let (_, agents) = s.get(&a.token, &acct(&a, "/agents")).await;
    assert!(!agents.to_string().contains(&bob.email), "{agents}");
    let (st, _) = s.get(&bob.token, &acct(&a, "/conversations")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Bob sees the invitation; nobody else can answer it.
    let (st, list) = s.get(&bob.token, "/api/v1/profile/invitations").await;
    assert_eq!(st, StatusCode::OK);
    let invitations = list["payload"].as_array().expect("payload");
    assert_eq!(invitations.len(), 1, "{list}");
    assert_eq!(invitations[0]["account_id"], a.account_id);
    assert_eq!(invitations[0]["account_name"], "Alpha");
    assert_eq!(invitations[0]["role"], "administrator");
    let inv = invitations[0]["id"].as_i64().expect("id");
    assert_eq!(inv, body["invitation_id"].as_i64().expect("invitation id"));
    let (st, _) = s
        .post(
            &b.token,
            &format!("/api/v1/profile/invitations/{inv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, none) = s.get(&b.token, "/api/v1/profile/invitations").await;
    assert_eq!(none["payload"], json!([]));

    // Declined: gone, and still not a member; invited again and accepted: a member.
    let (st, _) = s
        .post(
            &bob.token,
            &format!("/api/v1/profile/invitations/{inv}/decline"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get(&bob.token, "/api/v1/profile/invitations").await;
    assert_eq!(list["payload"], json!([]));
    let (st, _) = s.get(&bob.token, &acct(&a, "/conversations")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, body) = s
        .post(
            &a.token,
            &acct(&a, "/agents"),
            json!({"name": "Whoever", "email": bob.email, "role": "agent"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let inv = body["invitation_id"].as_i64().expect("invitation id");
    let (st, accepted) = s
        .post(
            &bob.token,
            &format!("/api/v1/profile/invitations/{inv}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["account_id"], a.account_id);
    let (st, _) = s.get(&bob.token, &acct(&a, "/conversations")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, agents) = s.get(&a.token, &acct(&a, "/agents")).await;
    let bob_here = agents
        .as_array()
        .expect("agents")
        .iter()
        .find(|x| x["email"] == bob.email.as_str())
        .cloned()
        .expect("Bob is an agent of A now");
    assert_eq!(bob_here["role"], "agent");
    // Still a member of B, and adding him again is a conflict, not a new invitation.
    let (st, _) = s.get(&bob.token, &acct(&b, "/conversations")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .post(
            &a.token,
            &acct(&a, "/agents"),
            json!({"name": "Whoever", "email": bob.email, "role": "agent"}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);

    // A new e-mail still creates the user at once.
    let (st, body) = s
        .post(
            &a.token,
            &acct(&a, "/agents"),
            json!({"name": "New", "email": "new-agent@alpha.test", "role": "agent"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body["id"].as_i64().is_some(), "{body}");
}

/// A node of a two-node cluster (PostgreSQL + NATS).
async fn node(db_url: &str, nats: &str) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = parley::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(db_url.into()),
        nats_url: Some(nats.into()),
        ..parley::Config::default()
    };
    TestServer::start(cfg, dir).await
}

/// An access change made through one node closes or narrows sockets held by another: the
/// change travels over the event bus like any event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_changes_travel_between_nodes() {
    let (Ok(pg), Ok(nats)) = (
        std::env::var("PARLEY_TEST_POSTGRES_URL"),
        std::env::var("PARLEY_TEST_NATS_URL"),
    ) else {
        assert!(
            std::env::var_os("PARLEY_REQUIRE_SERVICES").is_none(),
            "PARLEY_REQUIRE_SERVICES is set: this test must not be skipped"
        );
        eprintln!("skipping: PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_NATS_URL are both needed");
        return;
    };
    let (db_url, db_name) = parley_store::Store::create_test_database(&pg)
        .await
        .expect("test database");
    let a = node(&db_url, &nats).await;
    let mut b = node(&db_url, &nats).await;
    b.pg_database = Some((pg.clone(), db_name));

    let admin = a.admin("Shop").await;
    let (first_id, first) = api_inbox(&a, &admin, "First").await;
    let (second_id, second) = api_inbox(&a, &admin, "Second").await;
    let ann = a.member(admin.account_id, "Ann", Role::Agent).await;
    let bob = a.member(admin.account_id, "Bob", Role::Agent).await;
    for u in [&ann, &bob] {
        add_to_inbox(&a, &admin, first_id, u.user_id).await;
        add_to_inbox(&a, &admin, second_id, u.user_id).await;
    }
    let in_first = Visitor::new(&a, &first).await;
    let in_second = Visitor::new(&a, &second).await;
    let mut ann_on_b = ready_agent(&b, &ann).await;
    let mut bob_on_b = ready_agent(&b, &bob).await;

    // Bob leaves the first inbox through node A; node B stops his events from it at once.
    let (st, _) = a
        .call(
            Method::DELETE,
            Some(&admin.token),
            &acct(&admin, "/inbox_members"),
            Some(json!({"inbox_id": first_id, "user_ids": [bob.user_id]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    note(&a, &admin, in_first.conversation_id, "first-only-for-ann").await;
    note(&a, &admin, in_second.conversation_id, "second-for-both").await;
    let mut seen = Vec::new();
    loop {
        let f = bob_on_b.json().await;
        let done = f["data"]["content"] == "second-for-both";
        seen.push(f);
        if done {
            break;
        }
    }
    assert!(!mentions(&seen, "first-only-for-ann"), "{seen:?}");

    // Ann is removed from the account through node A; her socket on node B closes.
    let (st, _) = a
        .delete(
            &admin.token,
            &acct(&admin, &format!("/agents/{}", ann.user_id)),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (close, _) = until_closed(&mut ann_on_b).await;
    assert_eq!(close, Some((4403, "forbidden".into())));
    a.stop().await;
    b.stop().await;
}
