//! The inbox options the console's inbox page edits (issue 13): rotating the identity
//! secret, the pre-chat form's department choice, and the weekly schedule the widget shows.
//! Each with its role checks and bad input that changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Actor, TestServer, assert_error};
use parley_core::Role;

crate::both_backends!(
    hmac_secret_rotation,
    department_choice_of_the_pre_chat_form,
    weekly_schedule_on_the_widget,
);

/// RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
const HMAC_KEY: &str = "Jefe";
const HMAC_DATA: &str = "what do ya want for nothing?";
const HMAC_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

fn inbox_path(a: &Actor, id: i64) -> String {
    format!("/api/v1/accounts/{}/inboxes/{id}", a.account_id)
}

async fn website_inbox(s: &TestServer, admin: &Actor) -> Value {
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    inbox
}

async fn hmac_secret_rotation(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let supervisor = s.member(admin.account_id, "Sveta", Role::Supervisor).await;
    let agent = s.member(admin.account_id, "Olga", Role::Agent).await;
    let other = s.admin("Other").await;
    // An inbox with a known secret, so the published test vector signs for it.
    let (id, identifier, _) = s
        .store()
        .insert_inbox_for_contact_tests(
            admin.account_id,
            "Strict",
            "Channel::WebWidget",
            true,
            Some(HMAC_KEY),
        )
        .await
        .expect("inbox");
    let contacts = format!("/public/api/v1/inboxes/{identifier}/contacts");
    let signed = json!({"identifier": HMAC_DATA, "identifier_hash": HMAC_HEX});
    let (st, body) = s
        .call(Method::POST, None, &contacts, Some(signed.clone()))
        .await;
    assert!(st.is_success(), "{st} {body}");

    // Supervisors, agents, other accounts and unknown inboxes: refused, nothing changes.
    let rotate = format!("{}/reset_hmac_token", inbox_path(&admin, id));
    for who in [&supervisor, &agent] {
        let (st, body) = s.post(&who.token, &rotate, json!({})).await;
        assert_error(st, &body, 403, "forbidden");
    }
    let (st, body) = s
        .post(
            &other.token,
            &format!("{}/reset_hmac_token", inbox_path(&other, id)),
            json!({}),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{}/reset_hmac_token", inbox_path(&admin, id + 1000)),
            json!({}),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (_, seen) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    assert_eq!(seen["hmac_token"], HMAC_KEY, "{seen}");
    let (st, body) = s
        .call(Method::POST, None, &contacts, Some(signed.clone()))
        .await;
    assert!(st.is_success(), "{st} {body}");

    // The administrator rotates: a fresh secret, shown to administrators only, and the old
    // signature stops verifying at once.
    let (st, rotated) = s.post(&admin.token, &rotate, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{rotated}");
    let fresh = rotated["hmac_token"]
        .as_str()
        .expect("new secret")
        .to_string();
    assert!(fresh.len() >= 32 && fresh != HMAC_KEY, "{fresh}");
    assert_eq!(rotated["id"], id);
    let (_, seen) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    assert_eq!(seen["hmac_token"], fresh.as_str());
    let (_, seen) = s.get(&supervisor.token, &inbox_path(&admin, id)).await;
    assert!(seen.get("hmac_token").is_none(), "{seen}");
    let (st, body) = s.call(Method::POST, None, &contacts, Some(signed)).await;
    assert_error(st, &body, 401, "invalid_identifier_hash");
}

fn offered(v: &Value) -> Vec<i64> {
    v["departments"]
        .as_array()
        .map(|l| l.iter().filter_map(|d| d["id"].as_i64()).collect())
        .unwrap_or_default()
}

async fn department_choice_of_the_pre_chat_form(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Olga", Role::Agent).await;
    let inbox = website_inbox(s, &admin).await;
    let id = inbox["id"].as_i64().expect("id");
    let token = inbox["inbox_identifier"].as_str().expect("identifier");
    let b = format!("/api/v1/accounts/{}", admin.account_id);
    let mut teams = Vec::new();
    for name in ["Delivery", "Payments", "Returns"] {
        let (st, t) = s
            .post(&admin.token, &format!("{b}/teams"), json!({"name": name}))
            .await;
        assert_eq!(st, StatusCode::OK, "{t}");
        let tid = t["id"].as_i64().expect("team id");
        let (st, m) = s
            .post(
                &admin.token,
                &format!("{b}/teams/{tid}/team_members"),
                json!({"user_ids": [agent.user_id]}),
            )
            .await;
        assert!(st.is_success(), "{m}");
        teams.push(tid);
    }
    let (st, m) = s
        .post(
            &admin.token,
            &format!("{b}/inbox_members"),
            json!({"inbox_id": id, "user_ids": [agent.user_id]}),
        )
        .await;
    assert!(st.is_success(), "{m}");
    let public = format!("/public/api/v1/inboxes/{token}");
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(
        offered(&view),
        teams,
        "every staffed team by default: {view}"
    );

    // Only two of the three.
    let (st, up) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"channel": {"pre_chat_form_enabled": true, "pre_chat_form_options": {
                "pre_chat_fields": [{"name": "phoneNumber", "required": true}],
                "department_choice": true, "department_team_ids": [teams[2], teams[0]]}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    let opts = &up["channel_settings"]["pre_chat_form_options"];
    assert_eq!(
        opts["department_team_ids"],
        json!([teams[2], teams[0]]),
        "{up}"
    );
    assert_eq!(opts["department_choice"], true);
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(offered(&view), vec![teams[0], teams[2]], "{view}");
    assert_eq!(
        view["pre_chat_form_options"]["pre_chat_fields"][0]["required"],
        true
    );

    // A visitor may pick an offered department, not another one.
    let (st, contact) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/contacts"),
            Some(json!({"name": "V"})),
        )
        .await;
    assert!(st.is_success(), "{contact}");
    let convs = format!(
        "{public}/contacts/{}/conversations",
        contact["source_id"].as_str().expect("source_id")
    );
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"team_id": teams[1]})),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, c) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"team_id": teams[2]})),
        )
        .await;
    assert!(st.is_success(), "{c}");

    // Bad input: refused with the field named, nothing changes.
    let (_, before) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    for opts in [
        json!({"department_team_ids": [999_999]}),
        json!({"department_team_ids": ["x"]}),
        json!({"department_team_ids": 5}),
        json!({"department_choice": "yes"}),
    ] {
        let (st, body) = s
            .patch(
                &admin.token,
                &inbox_path(&admin, id),
                json!({"channel": {"pre_chat_form_options": opts}}),
            )
            .await;
        assert_error(st, &body, 422, "invalid_field");
        assert!(body.to_string().contains("department_"), "{body}");
    }
    // Another account's team is no team of this one.
    let other = s.admin("Other").await;
    let (_, foreign) = s
        .post(
            &other.token,
            &format!("/api/v1/accounts/{}/teams", other.account_id),
            json!({"name": "Theirs"}),
        )
        .await;
    let (st, body) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"channel": {"pre_chat_form_options": {"department_team_ids": [foreign["id"]]}}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    // Agents may not change it.
    let (st, body) = s
        .patch(
            &agent.token,
            &inbox_path(&admin, id),
            json!({"channel": {"pre_chat_form_options": {"department_choice": false}}}),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");
    let (_, after) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    assert_eq!(before, after);

    // No choice: no departments, and a team_id is refused.
    let (st, up) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"channel": {"pre_chat_form_options": {"department_choice": false}}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert!(offered(&view).is_empty(), "{view}");
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &convs,
            Some(json!({"team_id": teams[0]})),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
}

async fn weekly_schedule_on_the_widget(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let inbox = website_inbox(s, &admin).await;
    let id = inbox["id"].as_i64().expect("id");
    let public = format!(
        "/public/api/v1/inboxes/{}",
        inbox["inbox_identifier"].as_str().expect("identifier")
    );
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(view["show_working_hours"], false, "{view}");

    // Shown only while the inbox has working hours on.
    let (st, up) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"channel": {"show_working_hours": true}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["channel_settings"]["show_working_hours"], true);
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(view["show_working_hours"], false, "hours are off: {view}");
    let (st, up) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"working_hours_enabled": true, "timezone": "Europe/Moscow",
                   "working_hours": [{"day_of_week": 6, "open_hour": 10, "close_hour": 14}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    let (_, view) = s.call(Method::GET, None, &public, None).await;
    assert_eq!(view["show_working_hours"], true, "{view}");
    assert_eq!(view["timezone"], "Europe/Moscow");
    let week = view["working_hours"].as_array().expect("week");
    assert_eq!(week.len(), 7);
    assert_eq!(week[6]["open_hour"], 10);

    // Bad input changes nothing; agents may not switch it.
    let (_, before) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    let (st, body) = s
        .patch(
            &admin.token,
            &inbox_path(&admin, id),
            json!({"channel": {"show_working_hours": "yes"}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let agent = s.member(admin.account_id, "Olga", Role::Agent).await;
    let (st, body) = s
        .patch(
            &agent.token,
            &inbox_path(&admin, id),
            json!({"channel": {"show_working_hours": false}}),
        )
        .await;
    assert_error(st, &body, 403, "forbidden");
    let (_, after) = s.get(&admin.token, &inbox_path(&admin, id)).await;
    assert_eq!(before, after);
}
