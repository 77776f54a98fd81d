//! The authorisation matrix (issue 12): checks over EVERY route of the served OpenAPI
//! document, so a new endpoint cannot skip them:
//!
//! - no credentials: every route of an account or of the profile answers 401;
//! - tenant isolation: account B's administrator, using A's account id or A's object ids
//!   under B's own account, by token or by session, never gets a 2xx and changes nothing
//!   of A's;
//! - roles: every route is classified below as administrators-only or open to every
//!   member ([`ADMIN_ONLY`]); an agent-role member (of every inbox) gets 403 on the former
//!   and changes nothing. A route missing from the classification fails the test, so a
//!   new route must say who may call it;
//! - inbox membership: an agent who is not a member of A's inbox gets no 2xx on any route
//!   naming that inbox, its conversations or its messages, and changes nothing;
//! - bad input: every JSON write endpoint answers malformed JSON with 400, a body of the
//!   wrong type with 422 (or 4xx), and nothing of A's changes;
//! - the Client API: a visitor identifier of one inbox is useless under another inbox.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::TestServer;
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

crate::both_backends!(isolation_and_bad_input_on_every_route);

/// Operations of an account that only its administrators may call; every other operation
/// under `/api/v1/accounts/{account_id}` is open to every member (within what their inboxes
/// let them see). Keep in step with the service's `require_admin` checks: the test fails
/// both on a route missing here that agents are refused, and on a listed one they may call.
const ADMIN_ONLY: &[(&str, &str)] = &[
    ("POST", "/api/v1/accounts/{account_id}/agents"),
    ("PATCH", "/api/v1/accounts/{account_id}/agents/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/agents/{id}"),
    ("POST", "/api/v1/accounts/{account_id}/canned_responses"),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/canned_responses/{id}",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{account_id}/canned_responses/{id}",
    ),
    ("DELETE", "/api/v1/accounts/{account_id}/contacts/{id}"),
    ("POST", "/api/v1/accounts/{account_id}/inboxes"),
    (
        "POST",
        "/api/v1/accounts/{account_id}/inboxes/test_connection",
    ),
    ("PATCH", "/api/v1/accounts/{account_id}/inboxes/{id}"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/inboxes/{id}/templates",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/inboxes/{id}/templates/preview",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/inboxes/{id}/reset_hmac_token",
    ),
    ("PATCH", "/api/v1/accounts/{account_id}/onboarding"),
    ("DELETE", "/api/v1/accounts/{account_id}/inboxes/{id}"),
    ("POST", "/api/v1/accounts/{account_id}/inbox_members"),
    ("PATCH", "/api/v1/accounts/{account_id}/inbox_members"),
    ("DELETE", "/api/v1/accounts/{account_id}/inbox_members"),
    ("POST", "/api/v1/accounts/{account_id}/labels"),
    ("PATCH", "/api/v1/accounts/{account_id}/labels/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/labels/{id}"),
    ("PATCH", "/api/v1/accounts/{account_id}/routing/settings"),
    ("POST", "/api/v1/accounts/{account_id}/teams"),
    ("PATCH", "/api/v1/accounts/{account_id}/teams/{team_id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/teams/{team_id}"),
    (
        "POST",
        "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    ),
    ("GET", "/api/v1/accounts/{account_id}/campaigns"),
    ("POST", "/api/v1/accounts/{account_id}/campaigns"),
    ("GET", "/api/v1/accounts/{account_id}/campaigns/{id}"),
    ("PATCH", "/api/v1/accounts/{account_id}/campaigns/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/campaigns/{id}"),
    ("GET", "/api/v1/accounts/{account_id}/automation_rules"),
    ("POST", "/api/v1/accounts/{account_id}/automation_rules"),
    ("GET", "/api/v1/accounts/{account_id}/automation_rules/{id}"),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/automation_rules/{id}",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{account_id}/automation_rules/{id}",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/automation_rules/{automation_rule_id}/clone",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/automation_rules/dry_run",
    ),
    ("GET", "/api/v1/accounts/{account_id}/agent_bots"),
    ("POST", "/api/v1/accounts/{account_id}/agent_bots"),
    ("GET", "/api/v1/accounts/{account_id}/agent_bots/{id}"),
    ("PATCH", "/api/v1/accounts/{account_id}/agent_bots/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/agent_bots/{id}"),
    (
        "POST",
        "/api/v1/accounts/{account_id}/agent_bots/{id}/reset_access_token",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/agent_bots/{id}/deliveries",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/inboxes/{id}/set_agent_bot",
    ),
    ("GET", "/api/v1/accounts/{account_id}/webhooks"),
    ("POST", "/api/v1/accounts/{account_id}/webhooks"),
    ("PATCH", "/api/v1/accounts/{account_id}/webhooks/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/webhooks/{id}"),
    (
        "POST",
        "/api/v1/accounts/{account_id}/webhooks/{id}/rotate_secret",
    ),
    ("POST", "/api/v1/accounts/{account_id}/webhooks/{id}/resume"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/webhooks/{id}/deliveries",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    ),
];

/// Operations of administrators and supervisors (reports); agents are refused like on
/// [`ADMIN_ONLY`].
const SUPERVISORS: &[(&str, &str)] = &[
    ("GET", "/api/v2/accounts/{account_id}/reports"),
    ("GET", "/api/v2/accounts/{account_id}/reports/summary"),
    ("GET", "/api/v2/accounts/{account_id}/reports/status"),
    ("GET", "/api/v2/accounts/{account_id}/reports/agents"),
    ("GET", "/api/v2/accounts/{account_id}/reports/inboxes"),
    ("GET", "/api/v2/accounts/{account_id}/reports/teams"),
    ("GET", "/api/v2/accounts/{account_id}/reports/labels"),
    ("GET", "/api/v2/accounts/{account_id}/reports/channels"),
    (
        "GET",
        "/api/v2/accounts/{account_id}/reports/conversation_traffic",
    ),
    ("GET", "/api/v2/accounts/{account_id}/summary_reports/agent"),
    ("GET", "/api/v2/accounts/{account_id}/summary_reports/team"),
    ("GET", "/api/v2/accounts/{account_id}/summary_reports/inbox"),
    ("GET", "/api/v2/accounts/{account_id}/summary_reports/label"),
    (
        "GET",
        "/api/v2/accounts/{account_id}/summary_reports/channel",
    ),
    (
        "GET",
        "/api/v2/accounts/{account_id}/summary_reports/sources",
    ),
    ("GET", "/api/v2/accounts/{account_id}/reports/sources"),
    ("GET", "/api/v2/accounts/{account_id}/reports/conversations"),
    ("GET", "/api/v2/accounts/{account_id}/exports/conversations"),
    ("GET", "/api/v1/accounts/{account_id}/csat_survey_responses"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/csat_survey_responses/metrics",
    ),
];

/// Routes of an account (v1, and v2 for reports).
fn account_route(path: &str) -> bool {
    path.starts_with("/api/v1/accounts/") || path.starts_with("/api/v2/accounts/")
}

/// Operations any member may call (reads and conversation work). Together with
/// [`ADMIN_ONLY`] and [`SUPERVISORS`] this must be exactly the document's account operations.
const MEMBER: &[(&str, &str)] = &[
    (
        "GET",
        "/api/v1/accounts/{account_id}/inboxes/{id}/agent_bot",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/actions/contact_merge",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/contacts/{id}/duplicates",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}/retry",
    ),
    ("GET", "/api/v1/accounts/{account_id}/onboarding"),
    ("GET", "/api/v1/accounts/{account_id}/macros"),
    ("POST", "/api/v1/accounts/{account_id}/macros"),
    ("GET", "/api/v1/accounts/{account_id}/macros/{id}"),
    ("PATCH", "/api/v1/accounts/{account_id}/macros/{id}"),
    ("DELETE", "/api/v1/accounts/{account_id}/macros/{id}"),
    ("POST", "/api/v1/accounts/{account_id}/macros/{id}/execute"),
    ("GET", "/api/v1/accounts/{account_id}/notifications"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/notifications/unread_count",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/notifications/read_all",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/notifications/{notification_id}",
    ),
    ("GET", "/api/v1/accounts/{account_id}/notification_settings"),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/notification_settings",
    ),
    ("GET", "/api/v1/accounts/{account_id}/assignable_agents"),
    ("GET", "/api/v1/accounts/{account_id}/agents"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/attachments/{attachment_id}",
    ),
    ("GET", "/api/v1/accounts/{account_id}/canned_responses"),
    ("GET", "/api/v1/accounts/{account_id}/contacts"),
    ("POST", "/api/v1/accounts/{account_id}/contacts"),
    ("GET", "/api/v1/accounts/{account_id}/contacts/search"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes/{note_id}",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/contacts/{contact_id}/notes/{note_id}",
    ),
    ("GET", "/api/v1/accounts/{account_id}/contacts/{id}"),
    ("PATCH", "/api/v1/accounts/{account_id}/contacts/{id}"),
    ("PUT", "/api/v1/accounts/{account_id}/contacts/{id}"),
    (
        "POST",
        "/api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/contacts/{id}/conversations",
    ),
    ("GET", "/api/v1/accounts/{account_id}/contacts/{id}/labels"),
    ("POST", "/api/v1/accounts/{account_id}/contacts/{id}/labels"),
    ("GET", "/api/v1/accounts/{account_id}/conversations"),
    ("POST", "/api/v1/accounts/{account_id}/conversations"),
    ("GET", "/api/v1/accounts/{account_id}/conversations/meta"),
    ("GET", "/api/v1/accounts/{account_id}/conversations/search"),
    ("GET", "/api/v1/accounts/{account_id}/search"),
    ("GET", "/api/v1/accounts/{account_id}/search/conversations"),
    ("GET", "/api/v1/accounts/{account_id}/search/messages"),
    ("GET", "/api/v1/accounts/{account_id}/search/contacts"),
    ("GET", "/api/v1/accounts/{account_id}/search/status"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/assignments",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/canned_responses/render",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/claim",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/custom_attributes",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/labels",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
    ),
    (
        "DELETE",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages/{message_id}",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/mute",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_priority",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/unmute",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_typing_status",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transfer",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transcript",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/transcript",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/conversations/{conversation_id}/update_last_seen",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/inbox_members/{inbox_id}",
    ),
    ("GET", "/api/v1/accounts/{account_id}/inboxes"),
    ("GET", "/api/v1/accounts/{account_id}/inboxes/{id}"),
    ("GET", "/api/v1/accounts/{account_id}/labels"),
    ("GET", "/api/v1/accounts/{account_id}/labels/{id}"),
    ("GET", "/api/v1/accounts/{account_id}/routing/agents"),
    ("GET", "/api/v1/accounts/{account_id}/routing/queues"),
    ("GET", "/api/v1/accounts/{account_id}/routing/settings"),
    ("GET", "/api/v1/accounts/{account_id}/teams"),
    ("GET", "/api/v1/accounts/{account_id}/teams/{team_id}"),
    (
        "GET",
        "/api/v1/accounts/{account_id}/teams/{team_id}/team_members",
    ),
];

/// Whether an operation names A's inbox, or one of its conversations or messages: an agent
/// who is not a member of that inbox must not reach it.
fn names_inbox(path: &str) -> bool {
    path.contains("{conversation_id}")
        || path.contains("/inboxes/{id}")
        || path.contains("/inbox_members/{inbox_id}")
        || path.ends_with("/contact_inboxes")
        || path.ends_with("/accounts/{account_id}/conversations")
}

/// Account A's objects, by the path segment that precedes their id parameter.
struct World {
    ids: BTreeMap<&'static str, String>,
    inbox_identifier: String,
    contact_identifier: String,
    /// Client API credentials of A's contacts in A's inbox: never shown to an agent who
    /// is not a member of that inbox.
    secrets: Vec<String>,
}

async fn build_world(s: &TestServer, token: &str, account_id: i64) -> World {
    let base = format!("/api/v1/accounts/{account_id}");
    let mut ids = BTreeMap::new();
    ids.insert("accounts", account_id.to_string());

    let (st, inbox) = s
        .post(
            token,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success(), "create inbox: {st} {inbox}");
    let inbox_id = inbox["id"].as_i64().expect("inbox id");
    ids.insert("inboxes", inbox_id.to_string());
    ids.insert("inbox_members", inbox_id.to_string());
    let inbox_identifier = inbox["inbox_identifier"]
        .as_str()
        .or(inbox["website_token"].as_str())
        .expect("inbox identifier")
        .to_string();

    let agent = s.member(account_id, "Agent", Role::Agent).await;
    ids.insert("agents", agent.user_id.to_string());

    let (st, team) = s
        .post(token, &format!("{base}/teams"), json!({"name": "Delivery"}))
        .await;
    assert!(st.is_success(), "create team: {st} {team}");
    ids.insert("teams", team["id"].as_i64().expect("team id").to_string());

    let (st, label) = s
        .post(token, &format!("{base}/labels"), json!({"title": "vip"}))
        .await;
    assert!(st.is_success(), "create label: {st} {label}");
    ids.insert(
        "labels",
        label["id"].as_i64().expect("label id").to_string(),
    );

    let (st, canned) = s
        .post(
            token,
            &format!("{base}/canned_responses"),
            json!({"short_code": "hi", "content": "Hello!"}),
        )
        .await;
    assert!(st.is_success(), "create canned: {st} {canned}");
    ids.insert(
        "canned_responses",
        canned["id"].as_i64().expect("canned id").to_string(),
    );

    // A webhook subscribed to an event nothing produces yet, so its state (failures,
    // log) stays the same whatever the matrix does.
    let (st, hook) = s
        .post(
            token,
            &format!("{base}/webhooks"),
            json!({"url": "https://crm.example.test/hook", "subscriptions": ["inbox_created"]}),
        )
        .await;
    assert!(st.is_success(), "create webhook: {st} {hook}");
    ids.insert(
        "webhooks",
        hook["payload"]["webhook"]["id"]
            .as_i64()
            .expect("webhook id")
            .to_string(),
    );

    let (st, bot) = s
        .post(
            token,
            &format!("{base}/agent_bots"),
            json!({"name": "A's bot", "bot_type": "builtin"}),
        )
        .await;
    assert!(st.is_success(), "create bot: {st} {bot}");
    ids.insert(
        "agent_bots",
        bot["id"].as_i64().expect("bot id").to_string(),
    );

    let (st, rule) = s
        .post(
            token,
            &format!("{base}/automation_rules"),
            json!({"name": "A's rule", "event_name": "conversation_created",
                   "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["resolved"]}],
                   "actions": [{"action_name": "add_label", "action_params": ["a-rule"]}]}),
        )
        .await;
    assert!(st.is_success(), "create rule: {st} {rule}");
    ids.insert(
        "automation_rules",
        rule["id"].as_i64().expect("rule id").to_string(),
    );
    let (st, mac) = s
        .post(
            token,
            &format!("{base}/macros"),
            json!({"name": "A's macro", "visibility": "global",
                   "actions": [{"action_name": "add_label", "action_params": ["a-macro"]}]}),
        )
        .await;
    assert!(st.is_success(), "create macro: {st} {mac}");
    ids.insert(
        "macros",
        mac["payload"]["id"].as_i64().expect("macro id").to_string(),
    );

    let (st, c) = s
        .post(
            token,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "email": "ivan@example.test", "inbox_id": inbox_id}),
        )
        .await;
    assert!(st.is_success(), "create contact: {st} {c}");
    let contact_id = c["payload"]["contact"]["id"].as_i64().expect("contact id");
    let mut secrets: Vec<String> = c["payload"]["contact"]["contact_inboxes"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|ci| ci["source_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(secrets.len(), 1, "the contact's identity in the inbox: {c}");
    ids.insert("contacts", contact_id.to_string());
    let (st, note) = s
        .post(
            token,
            &format!("{base}/contacts/{contact_id}/notes"),
            json!({"content": "A's note"}),
        )
        .await;
    assert!(st.is_success(), "create note: {st} {note}");
    ids.insert("notes", note["id"].as_i64().expect("note id").to_string());

    // A visitor identity through the Client API.
    let (st, pc) = s
        .call(
            Method::POST,
            None,
            &format!("/public/api/v1/inboxes/{inbox_identifier}/contacts"),
            Some(json!({"name": "Visitor"})),
        )
        .await;
    assert!(st.is_success(), "public contact: {st} {pc}");
    let contact_identifier = pc["source_id"].as_str().expect("source_id").to_string();
    secrets.push(contact_identifier.clone());

    let (st, conv) = s
        .post(
            token,
            &format!("{base}/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    assert!(st.is_success(), "create conversation: {st} {conv}");
    let display_id = conv["id"].as_i64().expect("conversation id");
    ids.insert("conversations", display_id.to_string());

    let (st, msg) = s
        .post(
            token,
            &format!("{base}/conversations/{display_id}/messages"),
            json!({"content": "Hello from A", "message_type": "outgoing"}),
        )
        .await;
    assert!(st.is_success(), "create message: {st} {msg}");
    ids.insert(
        "messages",
        msg["id"].as_i64().expect("message id").to_string(),
    );
    World {
        ids,
        inbox_identifier,
        contact_identifier,
        secrets,
    }
}

/// A body an administrator could send to an administrators-only route, so that only the
/// role check can refuse it.
fn admin_body(method: &Method, path: &str, inbox_id: i64, user_id: i64) -> Value {
    let tail = path.rsplit('/').next().unwrap_or("");
    match (method.as_str(), tail) {
        ("POST", "agents") => {
            json!({"name": "New", "email": "new-by-agent@alpha.test", "role": "administrator"})
        }
        ("PATCH", "{id}") if path.contains("/agents/") => json!({"role": "administrator"}),
        ("POST", "canned_responses") => json!({"short_code": "zz", "content": "Hi"}),
        ("PATCH", "{id}") if path.contains("/canned_responses/") => json!({"content": "Changed"}),
        ("POST", "inboxes") => json!({"name": "Agent's", "channel": {"type": "api"}}),
        ("PATCH", "{id}") if path.contains("/inboxes/") => json!({"name": "Renamed"}),
        (_, "inbox_members") => json!({"inbox_id": inbox_id, "user_ids": [user_id]}),
        ("POST", "labels") => json!({"title": "agents-label"}),
        ("PATCH", "{id}") if path.contains("/labels/") => json!({"description": "changed"}),
        (_, "settings") => json!({"default_max_open": 3}),
        ("PATCH", "onboarding") => json!({"dismissed": true}),
        ("POST", "preview") => json!({"id": "offhours_reply", "locale": "ru"}),
        ("POST", "teams") => json!({"name": "Agent's team"}),
        ("PATCH", "{team_id}") => json!({"name": "Renamed"}),
        ("POST", "webhooks") => {
            json!({"url": "https://agent.example.test/", "subscriptions": ["inbox_created"]})
        }
        ("PATCH", "{id}") if path.contains("/webhooks/") => json!({"name": "Agent's"}),
        ("POST", "agent_bots") => json!({"name": "Agent's bot", "bot_type": "builtin"}),
        ("PATCH", "{id}") if path.contains("/agent_bots/") => json!({"name": "Agent's"}),
        ("POST", "set_agent_bot") => json!({"agent_bot": null}),
        ("POST", "automation_rules") => {
            json!({"name": "Agent's rule", "event_name": "conversation_created",
            "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}],
            "actions": [{"action_name": "add_label", "action_params": ["agents"]}]})
        }
        ("PATCH", "{id}") if path.contains("/automation_rules/") => json!({"active": false}),
        ("POST", "dry_run") => json!({"event_name": "conversation_created",
            "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}]}),
        (_, "team_members") => json!({"user_ids": [user_id]}),
        _ => json!({}),
    }
}

/// Fills `{param}`s from the segment before each; `None` if some parameter is unknown.
fn resolve(path: &str, w: &World, account_override: Option<i64>) -> Option<String> {
    let mut out = Vec::new();
    let mut prev = "";
    for seg in path.split('/') {
        if seg.starts_with('{') && seg.ends_with('}') {
            let name = &seg[1..seg.len() - 1];
            let v = match name {
                "account_id" => account_override
                    .map(|a| a.to_string())
                    .or_else(|| w.ids.get("accounts").cloned()),
                "inbox_identifier" => Some(w.inbox_identifier.clone()),
                "contact_identifier" => Some(w.contact_identifier.clone()),
                // Objects the world does not build get an id nobody has.
                _ => w
                    .ids
                    .get(prev)
                    .cloned()
                    .or_else(|| Some("987654".to_string())),
            }?;
            out.push(v);
        } else {
            out.push(seg.to_string());
        }
        prev = seg;
    }
    Some(out.join("/"))
}

fn operations(doc: &Value) -> Vec<(String, Method, bool)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, op) in item.as_object().expect("path item") {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let json_body = op["requestBody"]["content"]
                .get("application/json")
                .is_some();
            ops.push((path.clone(), method, json_body));
        }
    }
    ops
}

/// Everything account A can read, to compare before and after.
async fn snapshot(
    s: &TestServer,
    token: &str,
    w: &World,
    ops: &[(String, Method, bool)],
) -> BTreeMap<String, Value> {
    let mut snap = BTreeMap::new();
    for (path, method, _) in ops {
        if *method != Method::GET || !path.starts_with("/api/v1/accounts/") {
            continue;
        }
        let Some(url) = resolve(path, w, None) else {
            continue;
        };
        if url.contains("/attachments/") {
            continue;
        }
        let (st, mut body) = s.get(token, &url).await;
        if st.is_success() {
            scrub(&mut body);
            snap.insert(url, body);
        }
    }
    snap
}

/// Removes fields that legitimately change on reads (presence, "seen" times).
fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "availability_status",
                "availability",
                "agent_last_seen_at",
                "assignee_last_seen_at",
                "last_seen_at",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(scrub);
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

async fn isolation_and_bad_input_on_every_route(s: &TestServer) {
    let a = s.admin("Alpha").await;
    let b = s.admin("Beta").await;
    let w = build_world(s, &a.token, a.account_id).await;
    let outsider = s.member(a.account_id, "Outsider", Role::Agent).await;
    // An agent-role member of A's inbox, for the role checks.
    let inbox_id: i64 = w.ids["inboxes"].parse().expect("inbox id");
    let insider = s.member(a.account_id, "Insider", Role::Agent).await;
    let (st, _) = s
        .post(
            &a.token,
            &format!("/api/v1/accounts/{}/inbox_members", a.account_id),
            json!({"inbox_id": inbox_id, "user_ids": [insider.user_id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // B has its own inbox so B-scoped object routes exist but hold none of A's ids.
    let (st, _) = s
        .post(
            &b.token,
            &format!("/api/v1/accounts/{}/inboxes", b.account_id),
            json!({"name": "B", "channel": {"type": "api"}}),
        )
        .await;
    assert!(st.is_success());

    let (_, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    let ops = operations(&doc);
    assert!(
        ops.len() >= 40,
        "expected the whole API in the OpenAPI document, got {} operations",
        ops.len()
    );
    let before = snapshot(s, &a.token, &w, &ops).await;
    assert!(
        before.len() >= 10,
        "snapshot too small: {:?}",
        before.keys()
    );

    // B's browser session (cookie), with the header the console sends on writes.
    let b_browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let res = b_browser
        .post(s.url("/auth/sign_in"))
        .json(&json!({"email": b.email, "password": "password123"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), StatusCode::OK);

    let mut checked = 0;
    for (path, method, json_body) in &ops {
        if !account_route(path) {
            continue;
        }
        let body = if *json_body { Some(json!({})) } else { None };
        // 1. B's token on A's account.
        let Some(url) = resolve(path, &w, None) else {
            panic!("cannot resolve parameters of {path}")
        };
        let (st, resp) = s
            .call(method.clone(), Some(&b.token), &url, body.clone())
            .await;
        assert!(
            matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{method} {url} with another account's token: {st} {resp}"
        );
        // 2. B's token on B's account with A's object ids (only routes with object ids).
        if path.matches('{').count() > 1 {
            let url_b = resolve(path, &w, Some(b.account_id)).expect("resolved");
            let (st, resp) = s
                .call(method.clone(), Some(&b.token), &url_b, body.clone())
                .await;
            assert!(
                matches!(
                    st,
                    StatusCode::NOT_FOUND
                        | StatusCode::FORBIDDEN
                        | StatusCode::UNPROCESSABLE_ENTITY
                ),
                "{method} {url_b} (A's ids under B's account): {st} {resp}"
            );
        }
        // 2b. B's session cookie on A's account.
        let mut req = b_browser
            .request(method.clone(), s.url(&url))
            .header("x-requested-with", "XMLHttpRequest");
        if let Some(b) = &body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let st = res.status();
        assert!(
            matches!(st, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{method} {url} with another account's session: {st}"
        );
        // 3. No token at all.
        let (st, _) = s.call(method.clone(), None, &url, body.clone()).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{method} {url} without credentials"
        );
        // 4. Bad input from A's own administrator.
        if *json_body {
            let (st, resp) = s
                .raw(
                    method.clone(),
                    Some(&a.token),
                    &url,
                    "application/json",
                    b"{\"broken\": ".to_vec(),
                )
                .await;
            assert_eq!(
                st,
                StatusCode::BAD_REQUEST,
                "{method} {url} malformed JSON: {resp}"
            );
            assert_eq!(
                resp["error"]["code"], "malformed_json",
                "{method} {url}: {resp}"
            );
            let (st, resp) = s
                .call(method.clone(), Some(&a.token), &url, Some(json!([1, 2, 3])))
                .await;
            assert!(
                st.is_client_error() && resp["error"]["code"].is_string(),
                "{method} {url} array body: {st} {resp}"
            );
            let (st, resp) = s
                .call(method.clone(), Some(&a.token), &url, Some(json!("text")))
                .await;
            assert!(
                st.is_client_error() && resp["error"]["code"].is_string(),
                "{method} {url} string body: {st} {resp}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} account routes checked");
    // The caller's own routes need credentials too.
    let mut own = 0;
    for (path, method, json_body) in &ops {
        if !path.starts_with("/api/v1/profile") {
            continue;
        }
        let url = resolve(path, &w, None).expect("resolved");
        let body = if *json_body { Some(json!({})) } else { None };
        let (st, _) = s.call(method.clone(), None, &url, body).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{method} {url} without credentials"
        );
        own += 1;
    }
    assert!(own >= 5, "only {own} profile routes checked");

    // 5. The classification of routes by role covers exactly the document's operations.
    let documented: BTreeSet<(String, String)> = ops
        .iter()
        .filter(|(p, _, _)| account_route(p))
        .map(|(p, m, _)| (m.as_str().to_string(), p.clone()))
        .collect();
    let classified: BTreeSet<(String, String)> = ADMIN_ONLY
        .iter()
        .chain(SUPERVISORS)
        .chain(MEMBER)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let unclassified: Vec<_> = documented.difference(&classified).collect();
    assert!(
        unclassified.is_empty(),
        "routes without an access classification (add them to ADMIN_ONLY or MEMBER in tests/hardening/matrix.rs): {unclassified:?}"
    );
    let stale: Vec<_> = classified.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "classified routes not in the document: {stale:?}"
    );

    // 6. An agent-role member of A, member of A's inbox too, is refused every
    // administrators-only route, with a body that would otherwise be valid.
    for (m, path) in ADMIN_ONLY.iter().chain(SUPERVISORS) {
        let method = Method::from_bytes(m.as_bytes()).expect("method");
        let json_body = ops
            .iter()
            .any(|(p, om, jb)| p == path && *om == method && *jb);
        let body = json_body.then(|| admin_body(&method, path, inbox_id, insider.user_id));
        let url = resolve(path, &w, None).expect("resolved");
        let (st, resp) = s
            .call(method.clone(), Some(&insider.token), &url, body)
            .await;
        assert_eq!(
            st,
            StatusCode::FORBIDDEN,
            "{method} {url} as an agent must be refused: {resp}"
        );
    }
    // Reads as an agent who is not a member of the inbox show no visitor credential of it.
    for (m, path) in MEMBER {
        if *m != "GET" {
            continue;
        }
        let url = resolve(path, &w, None).expect("resolved");
        let (st, resp) = s.get(&outsider.token, &url).await;
        let text = resp.to_string();
        for secret in &w.secrets {
            assert!(
                !(st.is_success() && text.contains(secret.as_str())),
                "GET {url} shows a Client API credential of an inbox the agent is not a member of: {text}"
            );
        }
    }
    // 7. Nothing that names A's inbox, its conversations or messages reaches an agent who
    // is not a member of it.
    let contact_id: i64 = w.ids["contacts"].parse().expect("contact id");
    for (path, method, json_body) in &ops {
        if !path.starts_with("/api/v1/accounts/") || !names_inbox(path) {
            continue;
        }
        if *method == Method::GET && path.ends_with("/conversations") {
            continue; // A list: checked below to be empty.
        }
        let url = resolve(path, &w, None).expect("resolved");
        let body = json_body.then(|| {
            if path.ends_with("/contact_inboxes") {
                json!({"inbox_id": inbox_id})
            } else if path.ends_with("/conversations") {
                json!({"inbox_id": inbox_id, "contact_id": contact_id})
            } else if path.ends_with("/messages") {
                json!({"content": "outsider"})
            } else {
                json!({})
            }
        });
        let (st, resp) = s
            .call(method.clone(), Some(&outsider.token), &url, body)
            .await;
        assert!(
            matches!(
                st,
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY
            ),
            "{method} {url} by an agent outside the inbox: {st} {resp}"
        );
    }

    // 8. An agent of A who is not a member of A's inbox does not see its conversation.
    let conv = &w.ids["conversations"];
    let (st, _) = s
        .get(
            &outsider.token,
            &format!("/api/v1/accounts/{}/conversations/{conv}", a.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, list) = s
        .get(
            &outsider.token,
            &format!("/api/v1/accounts/{}/conversations?status=all", a.account_id),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        list["data"]["payload"].as_array().map(Vec::len),
        Some(0),
        "{list}"
    );

    // 6. Client API: A's visitor identifier under B's inbox is unknown.
    let (_, b_inboxes) = s
        .get(
            &b.token,
            &format!("/api/v1/accounts/{}/inboxes", b.account_id),
        )
        .await;
    let b_ident = b_inboxes["payload"][0]["inbox_identifier"]
        .as_str()
        .expect("B inbox identifier")
        .to_string();
    for (path, method, json_body) in &ops {
        if !path.contains("{contact_identifier}") {
            continue;
        }
        let w_b = World {
            ids: w.ids.clone(),
            inbox_identifier: b_ident.clone(),
            contact_identifier: w.contact_identifier.clone(),
            secrets: Vec::new(),
        };
        let url = resolve(path, &w_b, None).expect("resolved");
        let body = if *json_body { Some(json!({})) } else { None };
        let (st, resp) = s.call(method.clone(), None, &url, body).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {url}: {resp}");
    }

    let after = snapshot(s, &a.token, &w, &ops).await;
    for (url, v) in &before {
        assert_eq!(
            after.get(url),
            Some(v),
            "{url} changed after refused requests"
        );
    }
}
