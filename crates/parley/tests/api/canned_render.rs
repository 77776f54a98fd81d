//! Canned responses rendered by the server for a conversation
//! (`POST …/conversations/{id}/canned_responses/render`), on both backends: Chatwoot's
//! variable names filled from the contact, the calling agent, the inbox and the account;
//! missing values reported; template texts for previews; bad input and other tenants'
//! ids refused.

use crate::common;

use common::ws::{Visitor, api_inbox};
use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(canned_responses_render_with_the_servers_values);

fn acct(a: &Actor) -> String {
    format!("/api/v1/accounts/{}", a.account_id)
}

async fn render(s: &TestServer, who: &Actor, id: i64, body: Value) -> (StatusCode, Value) {
    s.post(
        &who.token,
        &format!("{}/conversations/{id}/canned_responses/render", acct(who)),
        body,
    )
    .await
}

async fn canned_responses_render_with_the_servers_values(s: &TestServer) {
    let admin = s.admin("Книжный дом").await;
    let maria = s
        .member(admin.account_id, "Maria Ivanova", Role::Agent)
        .await;
    let outsider = s.member(admin.account_id, "Pavel", Role::Agent).await;
    let (inbox_id, inbox) = api_inbox(s, &admin, "Сайт").await;
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/inbox_members", acct(&admin)),
            json!({"inbox_id": inbox_id, "user_ids": [maria.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    let v = Visitor::new(s, &inbox).await;
    let id = v.conversation_id;
    // The contact: a full name, an e-mail and custom attributes; no phone.
    let (_, c) = s
        .get(
            &admin.token,
            &format!("{}/conversations/{id}", acct(&admin)),
        )
        .await;
    let contact = c["meta"]["sender"]["id"].as_i64().unwrap();
    let (st, body) = s
        .patch(
            &admin.token,
            &format!("{}/contacts/{contact}", acct(&admin)),
            json!({"name": "Анна Смирнова", "email": "anna@example.test",
                   "custom_attributes": {"order": 1042, "city": "Тула", "tags": ["a"]}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/conversations/{id}/custom_attributes", acct(&admin)),
            json!({"custom_attributes": {"plan": "gold"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, hello) = s
        .post(
            &admin.token,
            &format!("{}/canned_responses", acct(&admin)),
            json!({"short_code": "hello",
                   "content": "Здравствуйте, {{ contact.first_name }}! Меня зовут {{agent.name}}, {{inbox.name}} / {{account.name}}."}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{hello}");

    // A saved canned response, rendered for Maria: "agent" is whoever inserts it.
    let (st, r) = render(s, &maria, id, json!({"canned_response_id": hello["id"]})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        r,
        json!({"content": "Здравствуйте, Анна! Меня зовут Maria Ivanova, Сайт / Книжный дом.", "missing": []})
    );

    // Every variable, Chatwoot's names and Parley's aliases.
    let all = "{{contact.name}}|{{contact.first_name}}|{{contact.last_name}}|{{contact.email}}|\
               {{contact.id}}|{{agent.name}}|{{agent.first_name}}|{{agent.last_name}}|\
               {{conversation.id}}|{{conversation.display_id}}|{{inbox.name}}|{{account.name}}|\
               {{contact.custom_attribute.order}}|{{contact.custom_attributes.city}}|\
               {{conversation.custom_attribute.plan}}|{{ agent.email }}";
    let (st, r) = render(s, &maria, id, json!({"content": all})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let want = format!(
        "Анна Смирнова|Анна|Смирнова|anna@example.test|{contact}|Maria Ivanova|Maria|Ivanova|\
         {id}|{id}|Сайт|Книжный дом|1042|Тула|gold|{}",
        maria.email
    );
    assert_eq!(r["content"], want);
    assert_eq!(r["missing"], json!([]));

    // Missing values stay visible and are named once; defaults fill in; nothing is
    // expanded twice; a list attribute has no one-line value.
    let (st, r) = render(
        s,
        &maria,
        id,
        json!({"content": "Тел.: {{contact.phone_number}} {{ contact.phone }} {{contact.phone_number}} \
                           {{ contact.phone_number | default: \"нет\" }} {{contact.custom_attribute.tags}} \
                           {{contact.custom_attribute.nope}} \\{{agent.name}}"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        r["content"],
        "Тел.: {{contact.phone_number}} {{ contact.phone }} {{contact.phone_number}} нет \
         {{contact.custom_attribute.tags}} {{contact.custom_attribute.nope}} {{agent.name}}"
    );
    assert_eq!(
        r["missing"],
        json!([
            "contact.phone_number",
            "contact.phone",
            "contact.custom_attribute.tags",
            "contact.custom_attribute.nope"
        ])
    );

    // Bad input.
    let other = s.admin("Other").await;
    let (st, theirs) = s
        .post(
            &other.token,
            &format!("{}/canned_responses", acct(&other)),
            json!({"short_code": "x", "content": "Their {{contact.name}}"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for (body, field) in [
        (json!({}), "canned_response_id"),
        (
            json!({"canned_response_id": hello["id"], "content": "x"}),
            "content",
        ),
        (json!({"canned_response_id": 999_999}), "canned_response_id"),
        (
            json!({"canned_response_id": theirs["id"]}),
            "canned_response_id",
        ),
        (json!({"content": "   "}), "content"),
        (json!({"content": "x".repeat(10_001)}), "content"),
    ] {
        let (st, r) = render(s, &maria, id, body.clone()).await;
        assert_error(st, &r, 422, "invalid_field");
        assert_eq!(r["error"]["field"], field, "{body} → {r}");
    }
    let (st, r) = render(s, &maria, id, json!({"canned_response_id": "hello"})).await;
    assert_error(st, &r, 422, "invalid_request");
    let (st, r) = s
        .raw(
            Method::POST,
            Some(&maria.token),
            &format!(
                "{}/conversations/{id}/canned_responses/render",
                acct(&maria)
            ),
            "application/json",
            b"{".to_vec(),
        )
        .await;
    assert_error(st, &r, 400, "malformed_json");
    // Conversations the caller may not see, and other accounts.
    let (st, r) = render(s, &outsider, id, json!({"canned_response_id": hello["id"]})).await;
    assert_error(st, &r, 404, "not_found");
    let (st, r) = render(s, &maria, 999, json!({"canned_response_id": hello["id"]})).await;
    assert_error(st, &r, 404, "not_found");
    let (st, _) = s
        .post(
            &other.token,
            &format!(
                "{}/conversations/{id}/canned_responses/render",
                acct(&admin)
            ),
            json!({"canned_response_id": hello["id"]}),
        )
        .await;
    assert!(matches!(st.as_u16(), 403 | 404), "{st}");
}
