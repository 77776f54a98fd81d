//! Account configuration over HTTP: agents, inboxes and inbox members, teams and team
//! members, labels, canned responses. Happy paths with Chatwoot's field names, role
//! checks, bad input on every write endpoint (with proof that nothing changed) and
//! tenant isolation on every object route.

use crate::common;
mod inbox_options;

use std::collections::BTreeMap;

use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    agents_crud_and_fields,
    agents_last_administrator_and_conflicts,
    inboxes_crud_and_fields,
    inbox_members_and_agent_visibility,
    teams_and_team_members,
    labels_crud,
    canned_responses_and_search,
    agents_and_supervisors_cannot_configure,
    bad_input_changes_nothing,
    other_accounts_get_404_on_every_object_route,
    openapi_lists_every_config_route,
);

fn base(a: &Actor) -> String {
    format!("/api/v1/accounts/{}", a.account_id)
}

fn ids(v: &Value) -> Vec<i64> {
    let arr = v
        .as_array()
        .or_else(|| v["payload"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<i64> = arr.iter().filter_map(|x| x["id"].as_i64()).collect();
    out.sort();
    out
}

fn has_fields(v: &Value, fields: &[&str]) {
    for f in fields {
        assert!(v.get(*f).is_some(), "missing field {f} in {v}");
    }
}

const AGENT_FIELDS: &[&str] = &[
    "id",
    "account_id",
    "availability_status",
    "auto_offline",
    "confirmed",
    "email",
    "available_name",
    "name",
    "role",
    "thumbnail",
];

/// An account with an administrator, an agent, a web-widget inbox (the agent is a
/// member), a team, a label and a canned response.
struct Fixture {
    admin: Actor,
    agent: Actor,
    inbox: i64,
    team: i64,
    label: i64,
    canned: i64,
}

async fn fixture(s: &TestServer, name: &str) -> Fixture {
    let admin = s.admin(name).await;
    let agent = s.member(admin.account_id, "Agent", Role::Agent).await;
    let b = base(&admin);
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("{b}/inboxes"),
            json!({"name": "Site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let inbox = inbox["id"].as_i64().expect("inbox id");
    let (st, m) = s
        .post(
            &admin.token,
            &format!("{b}/inbox_members"),
            json!({"inbox_id": inbox, "user_ids": [agent.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let (st, team) = s
        .post(
            &admin.token,
            &format!("{b}/teams"),
            json!({"name": "Delivery"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{team}");
    let (st, label) = s
        .post(
            &admin.token,
            &format!("{b}/labels"),
            json!({"title": "vip"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{label}");
    let (st, canned) = s
        .post(
            &admin.token,
            &format!("{b}/canned_responses"),
            json!({"short_code": "hi", "content": "Hello!"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{canned}");
    Fixture {
        admin,
        agent,
        inbox,
        team: team["id"].as_i64().expect("team id"),
        label: label["id"].as_i64().expect("label id"),
        canned: canned["id"].as_i64().expect("canned id"),
    }
}

/// Everything of the account's configuration an administrator can read.
async fn snapshot(s: &TestServer, admin: &Actor) -> BTreeMap<String, Value> {
    let b = base(admin);
    let mut paths = vec![
        format!("{b}/agents"),
        format!("{b}/inboxes"),
        format!("{b}/teams"),
        format!("{b}/labels"),
        format!("{b}/canned_responses"),
    ];
    let (_, inboxes) = s.get(&admin.token, &format!("{b}/inboxes")).await;
    for id in ids(&inboxes) {
        paths.push(format!("{b}/inboxes/{id}"));
        paths.push(format!("{b}/inbox_members/{id}"));
    }
    let (_, teams) = s.get(&admin.token, &format!("{b}/teams")).await;
    for id in ids(&teams) {
        paths.push(format!("{b}/teams/{id}"));
        paths.push(format!("{b}/teams/{id}/team_members"));
    }
    let mut snap = BTreeMap::new();
    for p in paths {
        let (st, v) = s.get(&admin.token, &p).await;
        assert_eq!(st, StatusCode::OK, "GET {p}: {v}");
        snap.insert(p, v);
    }
    snap
}

async fn agents_crud_and_fields(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let b = base(&admin);
    let (st, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    assert_eq!(st, StatusCode::OK);
    let arr = list.as_array().expect("array of agents");
    assert_eq!(arr.len(), 1);
    has_fields(&arr[0], AGENT_FIELDS);
    assert_eq!(arr[0]["role"], "administrator");
    assert_eq!(arr[0]["email"], admin.email.as_str());
    assert_eq!(arr[0]["account_id"], admin.account_id);

    // A new user with a password can sign in right away.
    let (st, maria) = s
        .post(
            &admin.token,
            &format!("{b}/agents"),
            json!({"name": "Maria", "email": "Maria@Shop.test", "role": "agent",
                   "availability_status": "busy", "auto_offline": false, "password": "secret-pass-1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{maria}");
    has_fields(&maria, AGENT_FIELDS);
    assert_eq!(maria["email"], "maria@shop.test");
    assert_eq!(maria["name"], "Maria");
    assert_eq!(maria["available_name"], "Maria");
    assert_eq!(maria["role"], "agent");
    assert_eq!(maria["availability_status"], "busy");
    assert_eq!(maria["auto_offline"], false);
    assert_eq!(maria["confirmed"], true);
    let (st, _) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": "maria@shop.test", "password": "secret-pass-1"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // Without a password the user exists but nobody knows the password.
    let (st, ivan) = s
        .post(
            &admin.token,
            &format!("{b}/agents"),
            json!({"name": "Ivan", "email": "ivan@shop.test", "role": "supervisor"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{ivan}");
    assert_eq!(ivan["role"], "supervisor");
    // Chatwoot's default: available, effective only while connected (auto_offline).
    assert_eq!(ivan["availability_status"], "online");
    assert_eq!(ivan["auto_offline"], true);

    // An existing user of another account is only invited (nothing about them is shown);
    // once they accept they are an agent here, keeping their name and password.
    let other = s.admin("Other").await;
    let (st, added) = s
        .post(
            &admin.token,
            &format!("{b}/agents"),
            json!({"name": "Renamed", "email": other.email, "role": "agent", "password": "hijack-pass-1"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{added}");
    assert_eq!(added["id"], Value::Null);
    assert_eq!(added["name"], "Renamed");
    assert_eq!(added["account_id"], admin.account_id);
    let invitation = added["invitation_id"].as_i64().expect("invitation id");
    let (st, accepted) = s
        .post(
            &other.token,
            &format!("/api/v1/profile/invitations/{invitation}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{accepted}");
    let (_, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    let joined = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == other.user_id))
        .cloned()
        .expect("the invited user is an agent after accepting");
    assert_eq!(joined["name"], "Admin");
    assert_eq!(joined["role"], "agent");
    let (st, _) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": other.email, "password": "password123"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::OK,
        "the existing user's password is untouched"
    );

    let (_, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(4));

    // Update role and availability.
    let maria_id = maria["id"].as_i64().expect("id");
    let (st, up) = s
        .patch(
            &admin.token,
            &format!("{b}/agents/{maria_id}"),
            json!({"role": "administrator", "availability_status": "online", "auto_offline": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(
        (&up["role"], &up["availability_status"], &up["auto_offline"]),
        (&json!("administrator"), &json!("online"), &json!(true))
    );
    // The other account's membership of the added user is untouched.
    let (_, other_list) = s
        .get(&other.token, &format!("{}/agents", base(&other)))
        .await;
    assert_eq!(other_list[0]["role"], "administrator");

    // Delete.
    let (st, _) = s
        .delete(&admin.token, &format!("{b}/agents/{}", other.user_id))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    assert!(!ids(&list).contains(&other.user_id));
    let (st, body) = s
        .delete(&admin.token, &format!("{b}/agents/{}", other.user_id))
        .await;
    assert_error(st, &body, 404, "not_found");
    // Removed from this account, the user still works in their own.
    let (st, _) = s
        .get(&other.token, &format!("{}/agents", base(&other)))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get(&other.token, &format!("{b}/agents")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn agents_last_administrator_and_conflicts(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let b = base(&admin);
    let (st, body) = s
        .patch(
            &admin.token,
            &format!("{b}/agents/{}", admin.user_id),
            json!({"role": "agent"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");
    let (st, body) = s
        .delete(&admin.token, &format!("{b}/agents/{}", admin.user_id))
        .await;
    assert_error(st, &body, 409, "conflict");
    let (_, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    assert_eq!(list[0]["role"], "administrator");

    // Adding someone twice is a conflict.
    let agent = s.member(admin.account_id, "Agent", Role::Agent).await;
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{b}/agents"),
            json!({"name": "X", "email": agent.email, "role": "administrator"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");
    let (_, list) = s.get(&admin.token, &format!("{b}/agents")).await;
    let a = list
        .as_array()
        .and_then(|l| l.iter().find(|a| a["id"] == agent.user_id))
        .cloned()
        .expect("agent listed");
    assert_eq!(
        a["role"], "agent",
        "a conflicting add must not change the role"
    );
}

async fn inboxes_crud_and_fields(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Agent", Role::Agent).await;
    let b = base(&admin);
    let (st, w) = s
        .post(
            &admin.token,
            &format!("{b}/inboxes"),
            json!({
                "name": "Website",
                "channel": {"type": "web_widget", "website_url": "https://shop.test",
                            "widget_color": "#FF5733", "welcome_title": "Hi there",
                            "welcome_tagline": "We reply fast", "reply_time": "in_a_few_minutes"},
                "greeting_enabled": true, "greeting_message": "Hello!",
                "enable_auto_assignment": false, "working_hours_enabled": true,
                "timezone": "Europe/Moscow", "out_of_office_message": "We are closed",
                "hmac_mandatory": true, "csat_survey_enabled": true,
                "working_hours": [{"day_of_week": 6, "open_hour": 10, "open_minutes": 30,
                                   "close_hour": 14, "close_minutes": 0}]
            }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{w}");
    has_fields(
        &w,
        &[
            "id",
            "name",
            "channel_id",
            "channel_type",
            "avatar_url",
            "website_url",
            "widget_color",
            "website_token",
            "inbox_identifier",
            "web_widget_script",
            "welcome_title",
            "welcome_tagline",
            "greeting_enabled",
            "greeting_message",
            "enable_auto_assignment",
            "working_hours_enabled",
            "timezone",
            "out_of_office_message",
            "hmac_mandatory",
            "hmac_token",
            "reply_time",
            "csat_survey_enabled",
            "allow_messages_after_resolved",
        ],
    );
    assert_eq!(w["channel_type"], "Channel::WebWidget");
    assert_eq!(w["website_url"], "https://shop.test");
    assert_eq!(w["widget_color"], "#ff5733");
    assert_eq!(w["welcome_title"], "Hi there");
    assert_eq!(w["reply_time"], "in_a_few_minutes");
    assert_eq!(w["greeting_enabled"], true);
    assert_eq!(w["greeting_message"], "Hello!");
    assert_eq!(w["enable_auto_assignment"], false);
    assert_eq!(w["working_hours_enabled"], true);
    assert_eq!(w["timezone"], "Europe/Moscow");
    assert_eq!(w["hmac_mandatory"], true);
    assert_eq!(w["csat_survey_enabled"], true);
    let week = w["working_hours"].as_array().expect("working_hours");
    assert_eq!(week.len(), 7);
    has_fields(
        &week[0],
        &[
            "day_of_week",
            "closed_all_day",
            "open_all_day",
            "open_hour",
            "open_minutes",
            "close_hour",
            "close_minutes",
        ],
    );
    assert_eq!(week[0]["closed_all_day"], true, "Sunday closed by default");
    assert_eq!(
        (&week[1]["open_hour"], &week[1]["close_hour"]),
        (&json!(9), &json!(17))
    );
    assert_eq!(
        (
            &week[6]["open_hour"],
            &week[6]["open_minutes"],
            &week[6]["closed_all_day"]
        ),
        (&json!(10), &json!(30), &json!(false))
    );
    let ident = w["inbox_identifier"].as_str().expect("identifier");
    assert_eq!(w["website_token"], ident);
    let script = w["web_widget_script"].as_str().expect("script");
    assert!(
        script.starts_with("<script") && script.contains(ident),
        "{script}"
    );
    assert!(w["hmac_token"].as_str().is_some_and(|t| t.len() >= 32));
    let wid = w["id"].as_i64().expect("id");

    let (st, api) = s
        .post(
            &admin.token,
            &format!("{b}/inboxes"),
            json!({"name": "API", "channel": {"type": "api", "webhook_url": "https://crm.test/hook"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{api}");
    assert_eq!(api["channel_type"], "Channel::Api");
    assert_eq!(api["webhook_url"], "https://crm.test/hook");
    assert!(api["website_token"].is_null());
    assert!(api["web_widget_script"].is_null());
    assert_eq!(api["enable_auto_assignment"], true, "Chatwoot's default");
    let aid = api["id"].as_i64().expect("id");

    // A Telegram inbox that cannot work is refused, creating nothing: a bot token Telegram
    // does not confirm (this server reaches no Telegram; tests/api/telegram.rs has the
    // working bot).
    let (st, tg) = s
        .post(
            &admin.token,
            &format!("{b}/inboxes"),
            json!({"name": "TG", "channel": {"type": "telegram", "bot_token": "123:secret"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{tg}");
    assert!(!tg.to_string().contains("123:secret"), "{tg}");
    let (st, em) = s
        .post(
            &admin.token,
            &format!("{b}/inboxes"),
            json!({"name": "Mail", "channel": {"type": "email", "email": "Help@Shop.test",
                   "imap_password": "imap-secret", "imap_port": 993}}),
        )
        .await;
    // An e-mail inbox is saved without reaching any mail server; its password is never
    // shown, and without an IMAP host it does not receive (tests/api/email.rs has the rest).
    assert_eq!(st, StatusCode::OK, "{em}");
    assert_eq!(em["email"], "help@shop.test", "{em}");
    assert!(!em.to_string().contains("imap-secret"), "{em}");
    assert_eq!(em["connection_status"]["state"], "not_configured", "{em}");
    let (st, _) = s
        .delete(&admin.token, &format!("{b}/inboxes/{}", em["id"]))
        .await;
    assert_eq!(st, StatusCode::OK);

    // List and show.
    let (st, list) = s.get(&admin.token, &format!("{b}/inboxes")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&list).len(), 2);
    assert_eq!(list["payload"][0]["id"], wid);
    let (st, one) = s.get(&admin.token, &format!("{b}/inboxes/{wid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one, w);

    // Update merges channel options and keeps the identifier.
    let (st, up) = s
        .patch(
            &admin.token,
            &format!("{b}/inboxes/{wid}"),
            json!({"name": "Web", "channel": {"widget_color": "#000000", "welcome_tagline": ""},
                   "greeting_message": "", "timezone": "UTC",
                   "working_hours": [{"day_of_week": 0, "open_all_day": true}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["name"], "Web");
    assert_eq!(up["widget_color"], "#000000");
    assert!(up["welcome_tagline"].is_null());
    assert_eq!(up["welcome_title"], "Hi there");
    assert_eq!(up["website_url"], "https://shop.test");
    assert!(up["greeting_message"].is_null());
    assert_eq!(up["greeting_enabled"], true);
    assert_eq!(up["timezone"], "UTC");
    assert_eq!(up["inbox_identifier"], ident);
    assert_eq!(up["hmac_token"], w["hmac_token"]);
    assert_eq!(up["working_hours"][0]["open_all_day"], true);
    assert_eq!(up["working_hours"][0]["closed_all_day"], false);
    assert_eq!(
        up["working_hours"][6], week[6],
        "days not named keep their hours"
    );

    // Agents never see the HMAC secret, and see only their inboxes.
    s.post(
        &admin.token,
        &format!("{b}/inbox_members"),
        json!({"inbox_id": wid, "user_ids": [agent.user_id]}),
    )
    .await;
    let (st, seen) = s.get(&agent.token, &format!("{b}/inboxes/{wid}")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(seen.get("hmac_token").is_none(), "{seen}");
    let (_, alist) = s.get(&agent.token, &format!("{b}/inboxes")).await;
    assert_eq!(ids(&alist), vec![wid]);

    // Delete.
    let (st, _) = s.delete(&admin.token, &format!("{b}/inboxes/{aid}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.get(&admin.token, &format!("{b}/inboxes/{aid}")).await;
    assert_error(st, &body, 404, "not_found");
    let (_, list) = s.get(&admin.token, &format!("{b}/inboxes")).await;
    assert_eq!(ids(&list).len(), 1);
}

async fn inbox_members_and_agent_visibility(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let b = base(&f.admin);
    let second = s.member(f.admin.account_id, "Second", Role::Agent).await;
    let (st, m) = s
        .get(&f.admin.token, &format!("{b}/inbox_members/{}", f.inbox))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&m), vec![f.agent.user_id]);
    has_fields(&m["payload"][0], AGENT_FIELDS);

    let (st, m) = s
        .post(
            &f.admin.token,
            &format!("{b}/inbox_members"),
            json!({"inbox_id": f.inbox.to_string(), "user_ids": [second.user_id.to_string()]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "ids as strings are accepted: {m}");
    assert_eq!(ids(&m), vec![f.agent.user_id, second.user_id]);

    let (st, m) = s
        .patch(
            &f.admin.token,
            &format!("{b}/inbox_members"),
            json!({"inbox_id": f.inbox, "user_ids": [second.user_id, f.admin.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(ids(&m), {
        let mut v = vec![second.user_id, f.admin.user_id];
        v.sort();
        v
    });
    // The first agent lost the inbox: it is gone from their list and unreachable.
    let (_, list) = s.get(&f.agent.token, &format!("{b}/inboxes")).await;
    assert!(ids(&list).is_empty(), "{list}");
    let (st, body) = s
        .get(&f.agent.token, &format!("{b}/inboxes/{}", f.inbox))
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, _) = s
        .get(&f.agent.token, &format!("{b}/inbox_members/{}", f.inbox))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The second agent sees it.
    let (_, list) = s.get(&second.token, &format!("{b}/inboxes")).await;
    assert_eq!(ids(&list), vec![f.inbox]);

    let (st, m) = s
        .call(
            Method::DELETE,
            Some(&f.admin.token),
            &format!("{b}/inbox_members"),
            Some(json!({"inbox_id": f.inbox, "user_ids": [second.user_id]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(ids(&m), vec![f.admin.user_id]);

    // A supervisor sees every inbox without being a member.
    let sup = s.member(f.admin.account_id, "Sup", Role::Supervisor).await;
    let (_, list) = s.get(&sup.token, &format!("{b}/inboxes")).await;
    assert_eq!(ids(&list), vec![f.inbox]);
}

async fn teams_and_team_members(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let b = base(&f.admin);
    let (st, t) = s
        .post(
            &f.admin.token,
            &format!("{b}/teams"),
            json!({"name": "Payments", "description": "Cards and invoices", "allow_auto_assign": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    has_fields(
        &t,
        &[
            "id",
            "name",
            "description",
            "allow_auto_assign",
            "account_id",
            "is_member",
        ],
    );
    assert_eq!(t["name"], "Payments");
    assert_eq!(t["description"], "Cards and invoices");
    assert_eq!(t["allow_auto_assign"], false);
    assert_eq!(t["account_id"], f.admin.account_id);
    let tid = t["id"].as_i64().expect("id");
    let (st, body) = s
        .post(
            &f.admin.token,
            &format!("{b}/teams"),
            json!({"name": "Payments"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");

    let (st, list) = s.get(&f.admin.token, &format!("{b}/teams")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let (st, one) = s.get(&f.agent.token, &format!("{b}/teams/{tid}")).await;
    assert_eq!(st, StatusCode::OK, "agents may read teams");
    assert_eq!(one["is_member"], false);

    let (st, up) = s
        .patch(
            &f.admin.token,
            &format!("{b}/teams/{tid}"),
            json!({"description": "", "allow_auto_assign": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert!(up["description"].is_null());
    assert_eq!(up["allow_auto_assign"], true);
    assert_eq!(up["name"], "Payments");

    // Members.
    let path = format!("{b}/teams/{tid}/team_members");
    let (st, m) = s.get(&f.admin.token, &path).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(m.as_array().map(Vec::len), Some(0));
    let (st, m) = s
        .post(
            &f.admin.token,
            &path,
            json!({"user_ids": [f.agent.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(ids(&m), vec![f.agent.user_id]);
    has_fields(&m[0], AGENT_FIELDS);
    let (_, one) = s.get(&f.agent.token, &format!("{b}/teams/{tid}")).await;
    assert_eq!(one["is_member"], true);
    let (st, m) = s
        .patch(
            &f.admin.token,
            &path,
            json!({"user_ids": [f.admin.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(ids(&m), vec![f.admin.user_id]);
    let (st, m) = s
        .call(
            Method::DELETE,
            Some(&f.admin.token),
            &path,
            Some(json!({"user_ids": [f.admin.user_id]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m.as_array().map(Vec::len), Some(0));

    let (st, _) = s.delete(&f.admin.token, &format!("{b}/teams/{tid}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.get(&f.admin.token, &format!("{b}/teams/{tid}")).await;
    assert_error(st, &body, 404, "not_found");
    let (st, _) = s.get(&f.admin.token, &path).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn labels_crud(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let b = base(&f.admin);
    let (st, l) = s
        .post(
            &f.admin.token,
            &format!("{b}/labels"),
            json!({"title": "Delivery_Late", "description": "Courier is late", "color": "#FF0000", "show_on_sidebar": false}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    has_fields(
        &l,
        &["id", "title", "description", "color", "show_on_sidebar"],
    );
    assert_eq!(l["title"], "delivery_late");
    assert_eq!(l["color"], "#ff0000");
    assert_eq!(l["show_on_sidebar"], false);
    let lid = l["id"].as_i64().expect("id");
    // Default colour and sidebar flag.
    let (_, vip) = s
        .get(&f.admin.token, &format!("{b}/labels/{}", f.label))
        .await;
    assert_eq!(vip["color"], "#1f93ff");
    assert_eq!(vip["show_on_sidebar"], true);
    // Titles are unique, case-insensitively.
    let (st, body) = s
        .post(
            &f.admin.token,
            &format!("{b}/labels"),
            json!({"title": "VIP"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");

    let (st, list) = s.get(&f.agent.token, &format!("{b}/labels")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&list), vec![f.label, lid]);
    assert_eq!(list["payload"][0]["title"], "delivery_late");

    let (st, up) = s
        .patch(
            &f.admin.token,
            &format!("{b}/labels/{lid}"),
            json!({"color": "#00ff00", "description": ""}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["color"], "#00ff00");
    assert!(up["description"].is_null());
    assert_eq!(up["title"], "delivery_late");
    let (st, body) = s
        .patch(
            &f.admin.token,
            &format!("{b}/labels/{lid}"),
            json!({"title": "vip"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");

    let (st, _) = s.delete(&f.admin.token, &format!("{b}/labels/{lid}")).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.get(&f.admin.token, &format!("{b}/labels/{lid}")).await;
    assert_error(st, &body, 404, "not_found");
}

async fn canned_responses_and_search(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let b = base(&f.admin);
    let path = format!("{b}/canned_responses");
    let (st, c) = s
        .post(
            &f.admin.token,
            &path,
            json!({"short_code": "delivery", "content": "Доставка занимает два дня"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    has_fields(
        &c,
        &[
            "id",
            "account_id",
            "short_code",
            "content",
            "created_at",
            "updated_at",
        ],
    );
    assert_eq!(c["account_id"], f.admin.account_id);
    assert!(c["created_at"].as_i64().is_some_and(|t| t > 1_600_000_000));
    let cid = c["id"].as_i64().expect("id");
    let (st, thanks) = s
        .post(
            &f.admin.token,
            &path,
            json!({"short_code": "thanks", "content": "Thanks for asking about DELIVERY"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s
        .post(
            &f.admin.token,
            &path,
            json!({"short_code": "hi", "content": "x"}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");

    let (st, all) = s.get(&f.agent.token, &path).await;
    assert_eq!(st, StatusCode::OK, "agents may list");
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    let (_, hits) = s.get(&f.agent.token, &format!("{path}?search=Deliv")).await;
    let got: Vec<i64> = hits
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(got, vec![cid, thanks["id"].as_i64().expect("id")]);
    let (_, hits) = s
        .get(
            &f.agent.token,
            &format!("{path}?search=%D0%94%D0%9E%D0%A1%D0%A2%D0%90%D0%92%D0%9A%D0%90"),
        )
        .await;
    assert_eq!(ids(&hits), vec![cid], "Cyrillic search ignores case");
    let (_, hits) = s
        .get(&f.agent.token, &format!("{path}?search=nothing"))
        .await;
    assert_eq!(hits.as_array().map(Vec::len), Some(0));

    let (st, up) = s
        .patch(
            &f.admin.token,
            &format!("{path}/{cid}"),
            json!({"content": "Two days"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["content"], "Two days");
    assert_eq!(up["short_code"], "delivery");
    let (st, _) = s.delete(&f.admin.token, &format!("{path}/{cid}")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, all) = s.get(&f.admin.token, &path).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let (st, body) = s.delete(&f.admin.token, &format!("{path}/{cid}")).await;
    assert_error(st, &body, 404, "not_found");
}

/// Every configuration write, with a body that would succeed for an administrator.
fn writes(f: &Fixture) -> Vec<(Method, String, Option<Value>)> {
    let b = base(&f.admin);
    let (i, t, l, c) = (f.inbox, f.team, f.label, f.canned);
    let u = f.agent.user_id;
    vec![
        (
            Method::POST,
            format!("{b}/agents"),
            Some(json!({"name": "N", "email": "n@shop.test", "role": "agent"})),
        ),
        (
            Method::PATCH,
            format!("{b}/agents/{u}"),
            Some(json!({"role": "administrator"})),
        ),
        (Method::DELETE, format!("{b}/agents/{u}"), None),
        (
            Method::POST,
            format!("{b}/inboxes"),
            Some(json!({"name": "X", "channel": {"type": "api"}})),
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, format!("{b}/inboxes/{i}"), None),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": [f.admin.user_id]})),
        ),
        (
            Method::PATCH,
            format!("{b}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": []})),
        ),
        (
            Method::DELETE,
            format!("{b}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": [u]})),
        ),
        (
            Method::POST,
            format!("{b}/teams"),
            Some(json!({"name": "New"})),
        ),
        (
            Method::PATCH,
            format!("{b}/teams/{t}"),
            Some(json!({"name": "Renamed"})),
        ),
        (Method::DELETE, format!("{b}/teams/{t}"), None),
        (
            Method::POST,
            format!("{b}/teams/{t}/team_members"),
            Some(json!({"user_ids": [u]})),
        ),
        (
            Method::PATCH,
            format!("{b}/teams/{t}/team_members"),
            Some(json!({"user_ids": [u]})),
        ),
        (
            Method::DELETE,
            format!("{b}/teams/{t}/team_members"),
            Some(json!({"user_ids": [u]})),
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            Some(json!({"title": "new"})),
        ),
        (
            Method::PATCH,
            format!("{b}/labels/{l}"),
            Some(json!({"title": "renamed"})),
        ),
        (Method::DELETE, format!("{b}/labels/{l}"), None),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            Some(json!({"short_code": "new", "content": "x"})),
        ),
        (
            Method::PATCH,
            format!("{b}/canned_responses/{c}"),
            Some(json!({"content": "changed"})),
        ),
        (Method::DELETE, format!("{b}/canned_responses/{c}"), None),
    ]
}

async fn agents_and_supervisors_cannot_configure(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let sup = s.member(f.admin.account_id, "Sup", Role::Supervisor).await;
    let before = snapshot(s, &f.admin).await;
    for who in [&f.agent, &sup] {
        for (method, path, body) in writes(&f) {
            let (st, resp) = s.call(method.clone(), Some(&who.token), &path, body).await;
            assert_error(st, &resp, 403, "forbidden");
        }
        // Reads are allowed.
        for p in ["agents", "teams", "labels", "canned_responses", "inboxes"] {
            let (st, _) = s.get(&who.token, &format!("{}/{p}", base(&f.admin))).await;
            assert_eq!(st, StatusCode::OK, "{p}");
        }
    }
    assert_eq!(snapshot(s, &f.admin).await, before);
}

async fn bad_input_changes_nothing(s: &TestServer) {
    let f = fixture(s, "Shop").await;
    let other = s.admin("Other").await;
    let b = base(&f.admin);
    let long = "x".repeat(300);
    let huge = "x".repeat(10_001);
    let (i, t, l, c) = (f.inbox, f.team, f.label, f.canned);
    let u = f.agent.user_id;
    let before = snapshot(s, &f.admin).await;

    // Malformed JSON and bodies of the wrong shape on every JSON write.
    for (method, path, body) in writes(&f) {
        if body.is_none() {
            continue;
        }
        let (st, resp) = s
            .raw(
                method.clone(),
                Some(&f.admin.token),
                &path,
                "application/json",
                b"{\"name\": ".to_vec(),
            )
            .await;
        assert_error(st, &resp, 400, "malformed_json");
        for wrong in [json!([1, 2]), json!("text"), json!(42)] {
            let (st, resp) = s
                .call(method.clone(), Some(&f.admin.token), &path, Some(wrong))
                .await;
            assert_error(st, &resp, 422, "invalid_request");
        }
        let (st, resp) = s
            .raw(
                method.clone(),
                Some(&f.admin.token),
                &path,
                "text/plain",
                b"{}".to_vec(),
            )
            .await;
        assert_error(st, &resp, 415, "unsupported_media_type");
    }

    // (method, path, body, status, code)
    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        // agents
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"email": "a@b.test", "role": "agent"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "role": "agent"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "a@b.test"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": 5, "email": "a@b.test", "role": "agent"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "not-an-email", "role": "agent"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "a@b.test", "role": "owner"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": long, "email": "a@b.test", "role": "agent"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "  ", "email": "a@b.test", "role": "agent"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "a@b.test", "role": "agent", "availability_status": "away"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "a@b.test", "role": "agent", "password": "short"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/agents"),
            json!({"name": "A", "email": "a@b.test", "role": "agent", "auto_offline": "yes"}),
            422,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("{b}/agents/{u}"),
            json!({"role": "owner"}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/agents/{u}"),
            json!({"auto_offline": 1}),
            422,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("{b}/agents/987654"),
            json!({"role": "agent"}),
            404,
            "not_found",
        ),
        (
            Method::PATCH,
            format!("{b}/agents/{}", other.user_id),
            json!({"role": "agent"}),
            404,
            "not_found",
        ),
        (
            Method::PATCH,
            format!("{b}/agents/abc"),
            json!({"role": "agent"}),
            400,
            "invalid_path",
        ),
        // inboxes
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"channel": {"type": "api"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "fax"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": 1}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": "api"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "web_widget"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "web_widget", "website_url": "javascript:alert(1)"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "web_widget", "website_url": "https://a.test", "widget_color": "red"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "web_widget", "website_url": "https://a.test", "welcome_title": long}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "api", "webhook_url": 7}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "telegram"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "email", "email": "nope"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "email", "email": "a@b.test", "smtp_port": 0}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": long, "channel": {"type": "api"}}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "api"}, "greeting_enabled": "yes"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "api"}, "greeting_message": huge}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inboxes"),
            json!({"name": "X", "channel": {"type": "api"}, "timezone": "Mars/<b>"}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            json!({"name": ""}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            json!({"channel": {"type": "api"}}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            json!({"channel": {"website_url": ""}}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            json!({"channel": {"widget_color": "#12"}}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/{i}"),
            json!({"enable_auto_assignment": "no"}),
            422,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("{b}/inboxes/987654"),
            json!({"name": "X"}),
            404,
            "not_found",
        ),
        // inbox members
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"user_ids": [u]}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": "1"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": "abc", "user_ids": [u]}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": 987654, "user_ids": [u]}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": [987654]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": [other.user_id]}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": [f.admin.user_id, other.user_id]}),
            422,
            "invalid_field",
        ),
        (
            Method::DELETE,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": [-1]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/inbox_members"),
            json!({"inbox_id": i, "user_ids": (1..=501).collect::<Vec<i64>>()}),
            422,
            "invalid_field",
        ),
        // teams
        (
            Method::POST,
            format!("{b}/teams"),
            json!({}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/teams"),
            json!({"name": long}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/teams"),
            json!({"name": ["a"]}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/teams"),
            json!({"name": "Delivery"}),
            409,
            "conflict",
        ),
        (
            Method::POST,
            format!("{b}/teams"),
            json!({"name": "Z", "description": huge}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/teams/{t}"),
            json!({"name": " "}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/teams/{t}"),
            json!({"allow_auto_assign": "true"}),
            422,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("{b}/teams/987654"),
            json!({"name": "Y"}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            format!("{b}/teams/{t}/team_members"),
            json!({}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/teams/{t}/team_members"),
            json!({"user_ids": [other.user_id]}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/teams/{t}/team_members"),
            json!({"user_ids": [u, 987654]}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/teams/987654/team_members"),
            json!({"user_ids": [u]}),
            404,
            "not_found",
        ),
        // labels
        (
            Method::POST,
            format!("{b}/labels"),
            json!({}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "has space"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "x".repeat(65)}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "ok", "color": "blue"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "ok", "show_on_sidebar": "yes"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "ok", "description": huge}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/labels"),
            json!({"title": "vip"}),
            409,
            "conflict",
        ),
        (
            Method::PATCH,
            format!("{b}/labels/{l}"),
            json!({"title": ""}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/labels/987654"),
            json!({"title": "y"}),
            404,
            "not_found",
        ),
        // canned responses
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"content": "x"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": "x"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": "two words", "content": "x"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": "x".repeat(101), "content": "x"}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": "x", "content": huge}),
            422,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": 1, "content": "x"}),
            422,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("{b}/canned_responses"),
            json!({"short_code": "hi", "content": "x"}),
            409,
            "conflict",
        ),
        (
            Method::PATCH,
            format!("{b}/canned_responses/{c}"),
            json!({"content": ""}),
            422,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("{b}/canned_responses/987654"),
            json!({"content": "y"}),
            404,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (st, resp) = s
            .call(
                method.clone(),
                Some(&f.admin.token),
                &path,
                Some(body.clone()),
            )
            .await;
        assert_eq!(st.as_u16(), status, "{method} {path} {body}: {resp}");
        assert_error(st, &resp, status, code);
    }
    // Unknown ids on deletes.
    for p in ["agents", "inboxes", "teams", "labels", "canned_responses"] {
        let (st, resp) = s.delete(&f.admin.token, &format!("{b}/{p}/987654")).await;
        assert_error(st, &resp, 404, "not_found");
    }
    let (st, resp) = s
        .get(
            &f.admin.token,
            &format!("{b}/canned_responses?search={}", "x".repeat(201)),
        )
        .await;
    assert_error(st, &resp, 422, "invalid_field");

    assert_eq!(
        snapshot(s, &f.admin).await,
        before,
        "bad input changed something"
    );
}

async fn other_accounts_get_404_on_every_object_route(s: &TestServer) {
    let a = fixture(s, "Alpha").await;
    let bf = fixture(s, "Beta").await;
    let before = snapshot(s, &a.admin).await;
    let before_b = snapshot(s, &bf.admin).await;
    let pa = base(&a.admin);
    let pb = base(&bf.admin);
    let (i, t, l, c, u) = (a.inbox, a.team, a.label, a.canned, a.agent.user_id);

    // B's administrator on A's account: every route, reads included.
    let mut on_a: Vec<(Method, String, Option<Value>)> = writes(&a);
    for p in [
        format!("{pa}/agents"),
        format!("{pa}/inboxes"),
        format!("{pa}/inboxes/{i}"),
        format!("{pa}/inbox_members/{i}"),
        format!("{pa}/teams"),
        format!("{pa}/teams/{t}"),
        format!("{pa}/teams/{t}/team_members"),
        format!("{pa}/labels"),
        format!("{pa}/labels/{l}"),
        format!("{pa}/canned_responses"),
    ] {
        on_a.push((Method::GET, p, None));
    }
    for (method, path, body) in &on_a {
        let (st, resp) = s
            .call(method.clone(), Some(&bf.admin.token), path, body.clone())
            .await;
        assert_error(st, &resp, 404, "not_found");
        assert!(
            !resp.to_string().contains("Alpha"),
            "{method} {path} leaked: {resp}"
        );
    }

    // B's administrator on B's own account with A's object ids.
    let b_admin = bf.admin.user_id;
    let with_a_ids: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{pb}/inboxes/{i}"), None),
        (
            Method::PATCH,
            format!("{pb}/inboxes/{i}"),
            Some(json!({"name": "Stolen"})),
        ),
        (Method::DELETE, format!("{pb}/inboxes/{i}"), None),
        (Method::GET, format!("{pb}/inbox_members/{i}"), None),
        (
            Method::POST,
            format!("{pb}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": [b_admin]})),
        ),
        (
            Method::PATCH,
            format!("{pb}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": [b_admin]})),
        ),
        (
            Method::DELETE,
            format!("{pb}/inbox_members"),
            Some(json!({"inbox_id": i, "user_ids": [b_admin]})),
        ),
        (
            Method::PATCH,
            format!("{pb}/agents/{u}"),
            Some(json!({"role": "agent"})),
        ),
        (Method::DELETE, format!("{pb}/agents/{u}"), None),
        (Method::GET, format!("{pb}/teams/{t}"), None),
        (
            Method::PATCH,
            format!("{pb}/teams/{t}"),
            Some(json!({"name": "Stolen"})),
        ),
        (Method::DELETE, format!("{pb}/teams/{t}"), None),
        (Method::GET, format!("{pb}/teams/{t}/team_members"), None),
        (
            Method::POST,
            format!("{pb}/teams/{t}/team_members"),
            Some(json!({"user_ids": [b_admin]})),
        ),
        (
            Method::PATCH,
            format!("{pb}/teams/{t}/team_members"),
            Some(json!({"user_ids": [b_admin]})),
        ),
        (
            Method::DELETE,
            format!("{pb}/teams/{t}/team_members"),
            Some(json!({"user_ids": [b_admin]})),
        ),
        (Method::GET, format!("{pb}/labels/{l}"), None),
        (
            Method::PATCH,
            format!("{pb}/labels/{l}"),
            Some(json!({"title": "stolen"})),
        ),
        (Method::DELETE, format!("{pb}/labels/{l}"), None),
        (
            Method::PATCH,
            format!("{pb}/canned_responses/{c}"),
            Some(json!({"content": "stolen"})),
        ),
        (Method::DELETE, format!("{pb}/canned_responses/{c}"), None),
    ];
    for (method, path, body) in with_a_ids {
        let (st, resp) = s
            .call(method.clone(), Some(&bf.admin.token), &path, body)
            .await;
        assert_error(st, &resp, 404, "not_found");
    }
    // Nor can B put A's agent into B's inbox or team.
    let (st, resp) = s
        .post(
            &bf.admin.token,
            &format!("{pb}/inbox_members"),
            json!({"inbox_id": bf.inbox, "user_ids": [u]}),
        )
        .await;
    assert_error(st, &resp, 422, "invalid_field");
    let (st, resp) = s
        .post(
            &bf.admin.token,
            &format!("{pb}/teams/{}/team_members", bf.team),
            json!({"user_ids": [u]}),
        )
        .await;
    assert_error(st, &resp, 422, "invalid_field");
    // A's agent has no business in B's account either.
    let (st, _) = s.get(&a.agent.token, &format!("{pb}/inboxes")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    assert_eq!(snapshot(s, &a.admin).await, before, "A's data changed");
    assert_eq!(snapshot(s, &bf.admin).await, before_b, "B's data changed");
}

async fn openapi_lists_every_config_route(s: &TestServer) {
    let (st, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    let a = "/api/v1/accounts/{account_id}";
    let want: Vec<(String, &[&str])> = vec![
        (format!("{a}/agents"), &["get", "post"]),
        (format!("{a}/agents/{{id}}"), &["patch", "delete"]),
        (format!("{a}/inboxes"), &["get", "post"]),
        (format!("{a}/inboxes/{{id}}"), &["get", "patch", "delete"]),
        (format!("{a}/inbox_members/{{inbox_id}}"), &["get"]),
        (format!("{a}/inbox_members"), &["post", "patch", "delete"]),
        (format!("{a}/teams"), &["get", "post"]),
        (
            format!("{a}/teams/{{team_id}}"),
            &["get", "patch", "delete"],
        ),
        (
            format!("{a}/teams/{{team_id}}/team_members"),
            &["get", "post", "patch", "delete"],
        ),
        (format!("{a}/labels"), &["get", "post"]),
        (format!("{a}/labels/{{id}}"), &["get", "patch", "delete"]),
        (format!("{a}/canned_responses"), &["get", "post"]),
        (format!("{a}/canned_responses/{{id}}"), &["patch", "delete"]),
    ];
    for (path, methods) in want {
        for m in methods {
            let op = &doc["paths"][&path][*m];
            assert!(
                op.is_object(),
                "{m} {path} missing from the OpenAPI document"
            );
            assert!(
                op["responses"]["200"].is_object(),
                "{m} {path}: no 200 response"
            );
        }
    }
    for schema in [
        "AgentView",
        "InboxView",
        "TeamView",
        "LabelView",
        "CannedView",
        "WorkingDayDoc",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
}
