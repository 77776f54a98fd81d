//! One customer across channels (issue 14): Chatwoot's contact merge and Parley's
//! duplicates list, over HTTP and WebSockets. A merge moves identities, conversations,
//! messages, notes, labels and attributes to the base contact (which keeps its values), a
//! visitor of the merged contact keeps working as the base contact, and bad input or
//! another account's contact changes nothing.

use crate::common;

use common::ws::{Frame, Visitor, WsClient, api_inbox};
use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    merge_moves_history_identities_and_attributes,
    duplicates_by_email_and_phone_forms,
    bad_input_and_other_accounts_change_nothing,
    visitor_of_the_merged_contact_reconnects_and_resumes
);

fn acct(a: &Actor, tail: &str) -> String {
    format!("/api/v1/accounts/{}{tail}", a.account_id)
}

/// An agent's public reply in a conversation.
async fn agent_says(s: &TestServer, admin: &Actor, conversation: i64, text: &str) {
    let (st, body) = s
        .post(
            &admin.token,
            &acct(admin, &format!("/conversations/{conversation}/messages")),
            json!({"content": text}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

async fn merge(s: &TestServer, who: &Actor, base: i64, mergee: i64) -> (StatusCode, Value) {
    s.post(
        &who.token,
        &acct(who, "/actions/contact_merge"),
        json!({"base_contact_id": base, "mergee_contact_id": mergee}),
    )
    .await
}

async fn create_contact(s: &TestServer, a: &Actor, body: Value) -> Value {
    let (st, b) = s.post(&a.token, &acct(a, "/contacts"), body).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["payload"]["contact"].clone()
}

/// A visitor through the Client API with the given contact fields, and one conversation.
async fn visitor_with(s: &TestServer, inbox_identifier: &str, body: Value) -> (Visitor, i64) {
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &format!("/public/api/v1/inboxes/{inbox_identifier}/contacts"),
            Some(body),
        )
        .await;
    assert!(st.is_success(), "{st} {c}");
    let source_id = c["source_id"].as_str().expect("source_id").to_string();
    let (st, conv) = s
        .call(
            Method::POST,
            None,
            &format!(
                "/public/api/v1/inboxes/{inbox_identifier}/contacts/{source_id}/conversations"
            ),
            Some(json!({})),
        )
        .await;
    assert!(st.is_success(), "{st} {conv}");
    let v = Visitor {
        inbox_identifier: inbox_identifier.into(),
        source_id,
        pubsub_token: c["pubsub_token"].as_str().expect("token").to_string(),
        conversation_id: conv["id"].as_i64().expect("id"),
    };
    (v, c["id"].as_i64().expect("contact id"))
}

/// What an administrator reads about a contact: the contact, its conversations (with the
/// sender of each message), notes and labels; for "nothing changed" checks.
async fn contact_state(s: &TestServer, admin: &Actor, id: i64) -> Value {
    let (st, c) = s
        .get(&admin.token, &acct(admin, &format!("/contacts/{id}")))
        .await;
    if st == StatusCode::NOT_FOUND {
        return Value::Null;
    }
    assert_eq!(st, StatusCode::OK, "{c}");
    let (_, convs) = s
        .get(
            &admin.token,
            &acct(admin, &format!("/contacts/{id}/conversations")),
        )
        .await;
    let mut history = Vec::new();
    for conv in convs["payload"].as_array().cloned().unwrap_or_default() {
        let display_id = conv["id"].as_i64().expect("id");
        let (_, msgs) = s
            .get(
                &admin.token,
                &acct(admin, &format!("/conversations/{display_id}/messages")),
            )
            .await;
        let senders: Vec<Value> = msgs["payload"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| json!([m["content"], m["sender_type"], m["sender_id"]]))
            .collect();
        history.push(json!({"id": display_id, "inbox_id": conv["inbox_id"], "messages": senders}));
    }
    let (_, notes) = s
        .get(&admin.token, &acct(admin, &format!("/contacts/{id}/notes")))
        .await;
    let (_, labels) = s
        .get(
            &admin.token,
            &acct(admin, &format!("/contacts/{id}/labels")),
        )
        .await;
    let mut contact = c["payload"].clone();
    if let Some(m) = contact.as_object_mut() {
        m.remove("last_activity_at");
    }
    json!({"contact": contact, "history": history, "notes": notes, "labels": labels})
}

async fn agent_note(s: &TestServer, who: &Actor, contact_id: i64, text: &str) {
    let (st, b) = s
        .post(
            &who.token,
            &acct(who, &format!("/contacts/{contact_id}/notes")),
            json!({"content": text}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

async fn set_labels(s: &TestServer, who: &Actor, contact_id: i64, labels: &[&str]) {
    let (st, b) = s
        .post(
            &who.token,
            &acct(who, &format!("/contacts/{contact_id}/labels")),
            json!({"labels": labels}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
}

/// A conversation of `contact_id` in `inbox_id` started by an agent, with one reply.
async fn agent_conversation(
    s: &TestServer,
    who: &Actor,
    inbox_id: i64,
    contact_id: i64,
    text: &str,
) -> i64 {
    let (st, conv) = s
        .post(
            &who.token,
            &acct(who, "/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{conv}");
    let id = conv["id"].as_i64().expect("id");
    let (st, m) = s
        .post(
            &who.token,
            &acct(who, &format!("/conversations/{id}/messages")),
            json!({"content": text, "message_type": "outgoing"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    id
}

async fn merge_moves_history_identities_and_attributes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (site_id, site) = api_inbox(s, &admin, "Site").await;
    let (api_id, _) = api_inbox(s, &admin, "CRM channel").await;
    // The customer as the CRM knows them, with a conversation in the API channel.
    let base = create_contact(
        s,
        &admin,
        json!({"name": "Ivan Petrov", "email": "ivan@example.com", "phone_number": "+7 999 123-45-67",
               "inbox_id": api_id, "custom_attributes": {"plan": "gold"},
               "additional_attributes": {"company": "Roga"}}),
    )
    .await;
    let base_id = base["id"].as_i64().expect("id");
    let base_conv = agent_conversation(s, &admin, api_id, base_id, "Your order shipped").await;
    set_labels(s, &admin, base_id, &["vip"]).await;
    // The same person on the website: the e-mail they type belongs to the CRM contact, so
    // it is set aside; the phone is typed the Russian domestic way.
    let (v, mergee_id) = visitor_with(
        s,
        &site,
        json!({"name": "Ваня", "email": "Ivan@Example.com", "phone_number": "8 (999) 123-45-67",
               "custom_attributes": {"plan": "free", "order": "A-1"}}),
    )
    .await;
    v.post(s, v.conversation_id, "Где мой заказ?").await;
    agent_note(s, &admin, mergee_id, "Asked about order A-1").await;
    set_labels(s, &admin, mergee_id, &["lead", "vip"]).await;
    let (_, mergee) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{mergee_id}")),
        )
        .await;
    assert_eq!(mergee["payload"]["email"], Value::Null, "{mergee}");
    assert_eq!(
        mergee["payload"]["additional_attributes"]["unverified_email"],
        "ivan@example.com"
    );

    // An agent merges (Chatwoot lets every member merge); the agent is a member of no
    // inbox, so the answer shows no visitor credential.
    let agent = s.member(admin.account_id, "Agent", Role::Agent).await;
    let (st, merged) = merge(s, &agent, base_id, mergee_id).await;
    assert_eq!(st, StatusCode::OK, "{merged}");
    assert_eq!(merged["id"], base_id, "{merged}");
    assert_eq!(merged["name"], "Ivan Petrov");
    assert_eq!(merged["email"], "ivan@example.com");
    assert_eq!(merged["phone_number"], "+7 999 123-45-67");
    assert_eq!(
        merged["custom_attributes"],
        json!({"plan": "gold", "order": "A-1"}),
        "the base's value wins, the mergee fills gaps"
    );
    assert_eq!(merged["additional_attributes"]["company"], "Roga");
    assert!(
        merged["additional_attributes"]
            .get("unverified_email")
            .is_none(),
        "the unverified e-mail is the contact's own now: {merged}"
    );
    assert_eq!(
        merged["additional_attributes"]["other_phone_numbers"],
        json!(["8 (999) 123-45-67"]),
        "the mergee's differently written phone is kept"
    );
    assert!(!merged.to_string().contains(&v.source_id), "{merged}");

    // The mergee is gone; everything it had is the base's.
    let (st, _) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{mergee_id}")),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let state = contact_state(s, &admin, base_id).await;
    let identities: Vec<i64> = state["contact"]["contact_inboxes"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|ci| ci["inbox_id"].as_i64().expect("inbox"))
        .collect();
    assert_eq!(identities.len(), 2, "{state}");
    assert!(identities.contains(&site_id) && identities.contains(&api_id));
    let history = state["history"].as_array().expect("history");
    let ids: Vec<i64> = history.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{state}");
    assert!(ids.contains(&base_conv) && ids.contains(&v.conversation_id));
    let site_conv = history
        .iter()
        .find(|c| c["id"] == v.conversation_id)
        .expect("site conversation");
    assert!(
        site_conv["messages"].as_array().unwrap().contains(&json!([
            "Где мой заказ?",
            "Contact",
            base_id
        ])),
        "the visitor's message is the base contact's: {site_conv}"
    );
    let notes: Vec<&str> = state["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["content"].as_str())
        .collect();
    assert_eq!(notes, vec!["Asked about order A-1"]);
    assert_eq!(state["labels"]["payload"], json!(["lead", "vip"]));
    let (_, conv) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/conversations/{}", v.conversation_id)),
        )
        .await;
    assert_eq!(conv["meta"]["sender"]["id"], base_id, "{conv}");

    // The visitor's credential now names the base contact, and a new message lands in a
    // conversation of the base contact.
    let (st, me) = s
        .call(
            Method::GET,
            None,
            &format!("/public/api/v1/inboxes/{site}/contacts/{}", v.source_id),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["id"], base_id);
    let id = v.post(s, v.conversation_id, "Спасибо!").await;
    let (_, msgs) = s
        .get(
            &admin.token,
            &acct(
                &admin,
                &format!("/conversations/{}/messages", v.conversation_id),
            ),
        )
        .await;
    let m = msgs["payload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .expect("message");
    assert_eq!(m["sender_id"], base_id, "{m}");
    let new_conv = v.new_conversation(s).await;
    let (_, conv) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/conversations/{new_conv}")),
        )
        .await;
    assert_eq!(conv["meta"]["sender"]["id"], base_id, "{conv}");

    // No duplicates are left.
    let (st, d) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{base_id}/duplicates")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["payload"], json!([]));

    // An administrator merges too; a VIP mergee makes the base VIP and its identifier
    // fills the base's gap.
    let other = create_contact(s, &admin, json!({"name": "Maria", "identifier": "crm-7"})).await;
    let other_id = other["id"].as_i64().unwrap();
    let (st, _) = s
        .patch(
            &admin.token,
            &acct(&admin, &format!("/contacts/{other_id}")),
            json!({"vip": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, merged) = merge(s, &admin, base_id, other_id).await;
    assert_eq!(st, StatusCode::OK, "{merged}");
    assert_eq!(merged["identifier"], "crm-7");
    assert_eq!(merged["name"], "Ivan Petrov");
    assert_eq!(merged["vip"], true);
    assert_eq!(merged["contact_inboxes"].as_array().unwrap().len(), 2);
}

async fn duplicates_by_email_and_phone_forms(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, site) = api_inbox(s, &admin, "Site").await;
    let ivan = create_contact(
        s,
        &admin,
        json!({"name": "Ivan", "email": "ivan@example.com", "phone_number": "+7 999 123-45-67"}),
    )
    .await;
    let ivan_id = ivan["id"].as_i64().unwrap();
    // Phone forms of the same Russian number.
    let mut same_phone = Vec::new();
    for (i, form) in ["89991234567", "8 (999) 123 45 67", "7-999-123-45-67"]
        .iter()
        .enumerate()
    {
        let c = create_contact(
            s,
            &admin,
            json!({"name": format!("Phone {i}"), "phone_number": form}),
        )
        .await;
        same_phone.push(c["id"].as_i64().unwrap());
    }
    // An e-mail typed by a visitor in another case: set aside, still a duplicate.
    let (_, visitor_id) =
        visitor_with(s, &site, json!({"name": "V", "email": "IVAN@example.COM"})).await;
    // Not duplicates: another number, a Japanese number written with +8…, another e-mail.
    let mut others = Vec::new();
    for body in [
        json!({"name": "Other", "phone_number": "+7 999 765-43-21"}),
        json!({"name": "Japan", "phone_number": "+8 999 123 45 67"}),
        json!({"name": "Mail", "email": "ivan@example.org"}),
    ] {
        others.push(
            create_contact(s, &admin, body).await["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let (st, d) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{ivan_id}/duplicates")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let found: Vec<(i64, Value)> = d["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["contact"]["id"].as_i64().unwrap(),
                x["matched_by"].clone(),
            )
        })
        .collect();
    let mut want: Vec<(i64, Value)> = same_phone
        .iter()
        .map(|id| (*id, json!(["phone_number"])))
        .collect();
    want.push((visitor_id, json!(["email"])));
    assert_eq!(found, want, "{d}");
    for id in &others {
        assert!(found.iter().all(|(f, _)| f != id));
    }
    // Symmetric: the visitor's duplicates name Ivan.
    let (_, d) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{visitor_id}/duplicates")),
        )
        .await;
    assert_eq!(d["payload"][0]["contact"]["id"], ivan_id, "{d}");
    assert_eq!(d["payload"][0]["matched_by"], json!(["email"]));
    // A contact with neither e-mail nor phone has none.
    let bare = create_contact(s, &admin, json!({"name": "Bare", "identifier": "x-1"})).await;
    let (st, d) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{}/duplicates", bare["id"])),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["payload"], json!([]));
    // Changing the phone updates the key.
    let (st, _) = s
        .patch(
            &admin.token,
            &acct(&admin, &format!("/contacts/{}", others[0])),
            json!({"phone_number": "8 999 123 45 67"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, d) = s
        .get(
            &admin.token,
            &acct(&admin, &format!("/contacts/{ivan_id}/duplicates")),
        )
        .await;
    assert_eq!(d["payload"].as_array().unwrap().len(), 5, "{d}");
    // Unknown contact: 404.
    let (st, body) = s
        .get(&admin.token, &acct(&admin, "/contacts/987654/duplicates"))
        .await;
    assert_error(st, &body, 404, "not_found");
}

async fn bad_input_and_other_accounts_change_nothing(s: &TestServer) {
    let admin = s.admin("Alpha").await;
    let beta = s.admin("Beta").await;
    let (inbox_id, _) = api_inbox(s, &admin, "Site").await;
    let (beta_inbox, _) = api_inbox(s, &beta, "Beta site").await;
    let a = create_contact(s, &admin, json!({"name": "A", "email": "a@example.com"})).await;
    let b = create_contact(
        s,
        &admin,
        json!({"name": "B", "phone_number": "+7 900 000-00-01"}),
    )
    .await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    agent_conversation(s, &admin, inbox_id, b_id, "hello B").await;
    agent_note(s, &admin, b_id, "note on B").await;
    let foreign = create_contact(
        s,
        &beta,
        json!({"name": "Foreign", "email": "f@example.com"}),
    )
    .await;
    let foreign_id = foreign["id"].as_i64().unwrap();
    agent_conversation(s, &beta, beta_inbox, foreign_id, "hello foreign").await;

    let before = (
        contact_state(s, &admin, a_id).await,
        contact_state(s, &admin, b_id).await,
        contact_state(s, &beta, foreign_id).await,
    );
    let url = acct(&admin, "/actions/contact_merge");
    // The same contact twice.
    let (st, body) = merge(s, &admin, a_id, a_id).await;
    assert_error(st, &body, 422, "invalid_field");
    assert_eq!(body["error"]["field"], "mergee_contact_id", "{body}");
    // Unknown ids, either side.
    let (st, body) = merge(s, &admin, a_id, 987_654).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = merge(s, &admin, 987_654, b_id).await;
    assert_error(st, &body, 404, "not_found");
    // Another account's contact, either side, is unknown here.
    let (st, body) = merge(s, &admin, a_id, foreign_id).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = merge(s, &admin, foreign_id, b_id).await;
    assert_error(st, &body, 404, "not_found");
    // Another account's administrator on this account's contacts.
    let (st, _) = s
        .post(
            &beta.token,
            &url,
            json!({"base_contact_id": a_id, "mergee_contact_id": b_id}),
        )
        .await;
    assert!(
        matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{st}"
    );
    let (st, body) = merge(s, &beta, a_id, b_id).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .get(
            &beta.token,
            &acct(&beta, &format!("/contacts/{a_id}/duplicates")),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    // Malformed bodies.
    for body in [
        json!({}),
        json!({"base_contact_id": a_id}),
        json!({"mergee_contact_id": b_id}),
        json!({"base_contact_id": "one", "mergee_contact_id": b_id}),
        json!({"base_contact_id": a_id, "mergee_contact_id": null}),
        json!([a_id, b_id]),
    ] {
        let (st, resp) = s.post(&admin.token, &url, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {resp}");
    }
    let (st, resp) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &url,
            "application/json",
            b"{\"base_contact_id\": ".to_vec(),
        )
        .await;
    assert_error(st, &resp, 400, "malformed_json");
    // Without credentials.
    let (st, _) = s
        .call(
            Method::POST,
            None,
            &url,
            Some(json!({"base_contact_id": a_id, "mergee_contact_id": b_id})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let after = (
        contact_state(s, &admin, a_id).await,
        contact_state(s, &admin, b_id).await,
        contact_state(s, &beta, foreign_id).await,
    );
    assert_eq!(before, after, "a refused merge changed something");
}

async fn until_closed(ws: &mut WsClient) -> (Option<(u16, String)>, Vec<Value>) {
    let mut seen = Vec::new();
    loop {
        match ws.next().await {
            Frame::Json(v) => seen.push(v),
            Frame::Closed(c) => return (c, seen),
        }
    }
}

async fn visitor_of_the_merged_contact_reconnects_and_resumes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (_, site) = api_inbox(s, &admin, "Site").await;
    let base = create_contact(
        s,
        &admin,
        json!({"name": "Ivan", "email": "ivan@example.com"}),
    )
    .await;
    let base_id = base["id"].as_i64().unwrap();
    let (v, mergee_id) = visitor_with(s, &site, json!({"email": "ivan@example.com"})).await;
    let other = Visitor::new(s, &site).await;

    let mut agent_ws = WsClient::agent(s, &admin, None).await;
    agent_ws.until_ready().await;
    let mut sock = WsClient::visitor(s, &v, None).await;
    let (_, ready) = sock.until_ready().await;
    let mut cursor = ready["cursor"].as_i64().expect("cursor");
    let mut neighbour = WsClient::visitor(s, &other, None).await;
    neighbour.until_ready().await;
    // A message before the merge arrives as usual.
    agent_says(s, &admin, v.conversation_id, "before the merge").await;
    let f = sock.until("message.created").await;
    assert_eq!(f["data"]["content"], "before the merge");
    cursor = cursor.max(f["cursor"].as_i64().expect("cursor"));

    let (st, merged) = merge(s, &admin, base_id, mergee_id).await;
    assert_eq!(st, StatusCode::OK, "{merged}");
    // The visitor's socket is closed with a code that tells the widget to reconnect.
    let (close, _) = until_closed(&mut sock).await;
    assert_eq!(close, Some((1013, "try_again_later".into())));
    // Consoles hear of it.
    let f = agent_ws.until("contact.merged").await;
    assert_eq!(f["data"]["base_contact_id"], base_id, "{f}");
    assert_eq!(f["data"]["mergee_contact_id"], mergee_id);
    assert_eq!(f["data"]["contact"]["id"], base_id);
    assert_eq!(f["data"]["conversation_ids"], json!([v.conversation_id]));
    assert!(
        !f.to_string().contains(&v.source_id),
        "events carry no visitor credential: {f}"
    );
    let f = agent_ws.until("contact.updated").await;
    assert_eq!(f["data"]["id"], base_id, "{f}");
    let f = agent_ws.until("conversation.updated").await;
    assert_eq!(f["data"]["id"], v.conversation_id, "{f}");
    assert_eq!(f["data"]["meta"]["sender"]["id"], base_id, "{f}");

    // Written while the visitor was away: replayed from their cursor on reconnect.
    agent_says(s, &admin, v.conversation_id, "while you were away").await;
    let mut sock = WsClient::visitor(s, &v, Some(cursor)).await;
    let (replayed, _) = sock.until_ready().await;
    let contents: Vec<&Value> = replayed
        .iter()
        .filter(|f| f["event"] == "message.created")
        .map(|f| &f["data"]["content"])
        .collect();
    assert_eq!(contents, vec!["while you were away"], "{replayed:?}");
    // And the socket works live, both ways, as the base contact.
    sock.send(
        json!({"type": "message.create", "conversation_id": v.conversation_id,
                     "content": "back again", "echo_id": "e-1"}),
    )
    .await;
    let f = loop {
        let f = agent_ws.until("message.created").await;
        if f["data"]["content"] == "back again" {
            break f;
        }
    };
    assert_eq!(f["data"]["sender"]["id"], base_id, "{f}");
    agent_says(s, &admin, v.conversation_id, "after the merge").await;
    loop {
        let f = sock.until("message.created").await;
        if f["data"]["content"] == "after the merge" {
            break;
        }
    }
    // The other visitor of the inbox kept their socket throughout.
    other.post(s, other.conversation_id, "still here").await;
    loop {
        let f = neighbour.until("message.created").await;
        if f["data"]["content"] == "still here" {
            break;
        }
    }
}
