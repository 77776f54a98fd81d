//! Chatwoot's published request shapes, as real clients send them (issue 16).
//!
//! `chatwoot_swagger/requests.json` is extracted by `chatwoot_swagger/extract.py` from
//! Chatwoot's own OpenAPI document (`swagger/swagger.json`): every operation of the
//! Application and Client APIs with the JSON types of its request body. This module drives
//! every one of those operations that Parley serves with a body built from that fixture
//! (every property the spec lists, each with the spec's type: an id the spec types as a
//! string is sent as a string of digits) and expects 2xx, or the documented refusal listed
//! in [`REFUSED`]. An operation Parley does not serve must be listed in [`NOT_SERVED`] with
//! the reason; one listed there that Parley starts serving fails the test, so the lists stay
//! honest. Paths are sent as the spec writes them, trailing slash included.
//!
//! Also here: the other compatibility items of the issue that clients meet on the wire (ids
//! as strings where Parley types them as numbers, a keep-alive connection after a request
//! refused before its body was read).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::{Actor, TestServer};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

both_backends!(
    every_chatwoot_operation_with_spec_shaped_bodies,
    ids_as_strings_and_trailing_slashes,
    keep_alive_after_a_request_refused_before_its_body,
);

const FIXTURE: &str = include_str!("chatwoot_swagger/requests.json");

/// Operations of Chatwoot's document that Parley does not serve, with the reason.
const NOT_SERVED: &[(&str, &str, &str)] = &[
    (
        "*",
        "/api/v1/accounts/{}",
        "account settings are not an API resource in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/audit_logs",
        "no audit log in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/contacts/filter",
        "no saved filter queries; use /contacts/search",
    ),
    (
        "*",
        "/api/v1/accounts/{}/contacts/{}/contactable_inboxes",
        "inboxes are listed by /inboxes",
    ),
    (
        "*",
        "/api/v1/accounts/{}/conversations/filter",
        "no filter queries; use the list's parameters or /search",
    ),
    (
        "*",
        "/api/v1/accounts/{}/conversations/{}/reporting_events",
        "no reporting events in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/reporting_events",
        "no reporting events in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/custom_attribute_definitions",
        "custom attributes are free-form in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/custom_attribute_definitions/{}",
        "custom attributes are free-form in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/custom_filters",
        "no saved filters in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/custom_filters/{}",
        "no saved filters in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/integrations/apps",
        "no integrations catalogue; webhooks instead",
    ),
    (
        "*",
        "/api/v1/accounts/{}/integrations/hooks",
        "no integrations catalogue; webhooks instead",
    ),
    (
        "*",
        "/api/v1/accounts/{}/integrations/hooks/{}",
        "no integrations catalogue; webhooks instead",
    ),
    (
        "*",
        "/api/v1/accounts/{}/portals",
        "no help center in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/portals/{}",
        "no help center in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/portals/{}/articles",
        "no help center in Parley",
    ),
    (
        "*",
        "/api/v1/accounts/{}/portals/{}/categories",
        "no help center in Parley",
    ),
];

/// Operations Parley serves but refuses with the spec's own body, with the status and why.
const REFUSED: &[(&str, &str, u16, &str)] = &[
    (
        "POST",
        "/api/v1/accounts/{account_id}/agent_bots",
        422,
        "`avatar` is an upload (binary); Parley takes the picture as `avatar_url`",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/agent_bots/{id}",
        422,
        "`avatar` is an upload (binary); Parley takes the picture as `avatar_url`",
    ),
    (
        "POST",
        "/api/v1/accounts/{account_id}/automation_rules",
        422,
        "the spec's conditions and actions are objects without properties: a rule needs attribute_key, filter_operator, action_name",
    ),
    (
        "PATCH",
        "/api/v1/accounts/{account_id}/automation_rules/{id}",
        422,
        "the spec's conditions and actions are objects without properties: a rule needs attribute_key, filter_operator, action_name",
    ),
    (
        "GET",
        "/api/v1/accounts/{account_id}/contacts/search",
        422,
        "`q` is required: a search without words is the contact list",
    ),
    (
        "PATCH",
        "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/conversations/{conversation_id}/messages/{message_id}",
        422,
        "only a satisfaction survey (input_csat) can be answered; the message driven here is text",
    ),
];

/// One operation of the fixture.
struct Op {
    method: Method,
    /// As the spec writes it (`{param}`s, trailing slash kept).
    path: String,
    query: Map<String, Value>,
    body: Option<Value>,
}

fn operations() -> (String, Vec<Op>) {
    let doc: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let source = doc["source"].as_str().expect("source").to_string();
    let ops = doc["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| Op {
            method: o["method"]
                .as_str()
                .expect("method")
                .parse()
                .expect("an HTTP method"),
            path: o["path"].as_str().expect("path").to_string(),
            query: o["query"].as_object().cloned().unwrap_or_default(),
            body: o.get("body").cloned(),
        })
        .collect();
    (source, ops)
}

/// A path with its parameters blanked and no trailing slash, to compare routes.
fn shape(path: &str) -> String {
    path.trim_end_matches('/')
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The objects the operations act on, in account A.
struct World {
    admin: Actor,
    agent: Actor,
    inbox_id: i64,
    inbox_identifier: String,
    team_id: i64,
    label_id: i64,
    canned_id: i64,
    webhook_id: i64,
    rule_id: i64,
    bot_id: i64,
    contact_id: i64,
    /// The contact's identity in the inbox (a conversation's `source_id`).
    contact_source_id: String,
    /// A visitor identity through the Client API, and its conversation and message.
    visitor: String,
    visitor_conversation: i64,
    visitor_message: i64,
    conversation: i64,
    message_id: i64,
    unique: std::cell::Cell<u32>,
    /// The inbox's HMAC key, and the last `identifier` a body got (its `identifier_hash`
    /// is the real signature, as a site that verifies identities sends it).
    hmac_token: String,
    last_identifier: std::cell::RefCell<String>,
    /// Whether the body being built creates a conversation, whose `source_id` names the
    /// contact's identity in the inbox.
    conversation_body: std::cell::Cell<bool>,
}

impl World {
    fn next(&self) -> u32 {
        let n = self.unique.get() + 1;
        self.unique.set(n);
        n
    }

    /// The value of `{name}` in `path`, by the parameter and the segment before it.
    fn param(&self, public: bool, prev: &str, name: &str) -> String {
        let a = self.admin.account_id;
        match (prev, name) {
            (_, "account_id") => a.to_string(),
            ("accounts", "id") => a.to_string(),
            (_, "inbox_identifier") => self.inbox_identifier.clone(),
            (_, "contact_identifier") => self.visitor.clone(),
            ("conversations", _) if public => self.visitor_conversation.to_string(),
            ("messages", _) if public => self.visitor_message.to_string(),
            ("conversations", _) => self.conversation.to_string(),
            ("messages", _) => self.message_id.to_string(),
            ("inboxes" | "inbox_members", _) => self.inbox_id.to_string(),
            ("teams", _) => self.team_id.to_string(),
            ("labels", _) => self.label_id.to_string(),
            ("canned_responses", _) => self.canned_id.to_string(),
            ("webhooks", _) => self.webhook_id.to_string(),
            ("automation_rules", _) => self.rule_id.to_string(),
            ("agent_bots", _) => self.bot_id.to_string(),
            ("contacts", _) => self.contact_id.to_string(),
            ("agents", _) => self.agent.user_id.to_string(),
            // Resources Parley lacks: an id nobody has.
            _ => "987654".to_string(),
        }
    }

    fn url(&self, op: &Op) -> String {
        let public = op.path.starts_with("/public/");
        let mut out = Vec::new();
        let mut prev = "";
        for seg in op.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                out.push(self.param(public, prev, name));
            } else {
                out.push(seg.to_string());
            }
            prev = seg;
        }
        let mut url = out.join("/");
        let query: Vec<String> = op
            .query
            .iter()
            .map(|(k, schema)| format!("{k}={}", scalar_text(&self.value(k, schema))))
            .collect();
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        url
    }

    /// An id of the kind a property names, if it names one.
    fn id_for(&self, name: &str) -> Option<i64> {
        Some(match name {
            "inbox_id" => self.inbox_id,
            "contact_id" => self.contact_id,
            "assignee_id" | "user_id" | "user_ids" => self.agent.user_id,
            "team_id" => self.team_id,
            "canned_response_id" => self.canned_id,
            "conversation_id" => self.conversation,
            "message_id" => self.message_id,
            "agent_bot" => self.bot_id,
            _ => return None,
        })
    }

    /// A value for property `name` of the spec's `schema` (`t`, `props`, `items`, `enum`,
    /// `format`, `example`): its type is always the spec's.
    fn value(&self, name: &str, schema: &Value) -> Value {
        let t = schema["t"].as_str().unwrap_or("string");
        match t {
            "object" => {
                let mut m = Map::new();
                if let Some(props) = schema["props"].as_object() {
                    for (k, sub) in props {
                        m.insert(k.clone(), self.value(k, sub));
                    }
                }
                Value::Object(m)
            }
            "array" => {
                let item = self.value(name, &schema["items"]);
                json!([item])
            }
            "integer" | "number" => match self.id_for(name) {
                Some(id) => json!(id),
                None if name == "snoozed_until" => json!(4_102_444_800i64),
                None => json!(1),
            },
            "boolean" => json!(true),
            _ => {
                if let Some(id) = self.id_for(name) {
                    return json!(id.to_string());
                }
                if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
                    return first.clone();
                }
                match (name, schema["format"].as_str()) {
                    ("source_id", _) if self.conversation_body.get() => {
                        json!(self.contact_source_id)
                    }
                    ("source_id", _) => json!(format!("spec-source-{}", self.next())),
                    ("labels", _) => json!(format!("spec-label-{}", self.next())),
                    ("identifier_hash", _) => {
                        json!(hmac_hex(&self.hmac_token, &self.last_identifier.borrow()))
                    }
                    ("email", _) | (_, Some("email")) => {
                        json!(format!("client{}@spec.example.test", self.next()))
                    }
                    ("phone_number", _) => json!(format!("+7999000{:04}", self.next())),
                    ("identifier", _) => {
                        let id = format!("spec-{}", self.next());
                        *self.last_identifier.borrow_mut() = id.clone();
                        json!(id)
                    }
                    ("short_code" | "title" | "name", _) => {
                        json!(format!("{name}-{}", self.next()))
                    }
                    (_, Some("date-time")) => json!("2100-01-01T00:00:00Z"),
                    _ => match schema["example"].as_str() {
                        Some(e) => json!(e),
                        None => json!(format!("{name} text")),
                    },
                }
            }
        }
    }
}

/// Hex HMAC-SHA256 of `data` under `key`, as a site signs a visitor's identifier.
fn hmac_hex(key: &str, data: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn build_world(s: &TestServer) -> World {
    let admin = s.admin("Spec").await;
    let t = admin.token.as_str();
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let agent = s.member(admin.account_id, "Agent", Role::Agent).await;
    let ok = |what: &str, st: StatusCode, v: &Value| {
        assert!(st.is_success(), "{what}: {st} {v}");
    };

    let (st, inbox) = s
        .post(
            t,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    ok("inbox", st, &inbox);
    let inbox_id = inbox["id"].as_i64().expect("inbox id");
    let inbox_identifier = inbox["inbox_identifier"]
        .as_str()
        .expect("identifier")
        .to_string();
    let hmac_token = inbox["hmac_token"]
        .as_str()
        .expect("hmac token")
        .to_string();
    let (st, v) = s
        .post(
            t,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [agent.user_id]}),
        )
        .await;
    ok("inbox members", st, &v);
    let (st, team) = s
        .post(t, &format!("{base}/teams"), json!({"name": "Delivery"}))
        .await;
    ok("team", st, &team);
    let team_id = team["id"].as_i64().expect("team id");
    let (st, label) = s
        .post(t, &format!("{base}/labels"), json!({"title": "vip"}))
        .await;
    ok("label", st, &label);
    let (st, canned) = s
        .post(
            t,
            &format!("{base}/canned_responses"),
            json!({"short_code": "hi", "content": "Hello!"}),
        )
        .await;
    ok("canned", st, &canned);
    let (st, hook) = s
        .post(
            t,
            &format!("{base}/webhooks"),
            json!({"url": "https://crm.example.test/hook", "subscriptions": ["inbox_created"]}),
        )
        .await;
    ok("webhook", st, &hook);
    let (st, rule) = s
        .post(
            t,
            &format!("{base}/automation_rules"),
            json!({"name": "Spec", "event_name": "conversation_created",
                   "conditions": [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"]}],
                   "actions": [{"action_name": "add_label", "action_params": ["spec"]}]}),
        )
        .await;
    ok("automation rule", st, &rule);
    let (st, bot) = s
        .post(
            t,
            &format!("{base}/agent_bots"),
            json!({"name": "Spec bot", "outgoing_url": "https://bot.example.test/hook"}),
        )
        .await;
    ok("agent bot", st, &bot);
    let (st, c) = s
        .post(
            t,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "email": "ivan@example.test", "inbox_id": inbox_id}),
        )
        .await;
    ok("contact", st, &c);
    let contact_id = c["payload"]["contact"]["id"].as_i64().expect("contact id");
    let contact_source_id = c["payload"]["contact"]["contact_inboxes"][0]["source_id"]
        .as_str()
        .expect("source id")
        .to_string();
    let (st, conv) = s
        .post(
            t,
            &format!("{base}/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    ok("conversation", st, &conv);
    let conversation = conv["id"].as_i64().expect("conversation id");
    let (st, msg) = s
        .post(
            t,
            &format!("{base}/conversations/{conversation}/messages"),
            json!({"content": "Hello", "message_type": "outgoing"}),
        )
        .await;
    ok("message", st, &msg);

    let public = format!("/public/api/v1/inboxes/{inbox_identifier}/contacts");
    let (st, pc) = s
        .call(
            Method::POST,
            None,
            &public,
            Some(json!({"name": "Visitor"})),
        )
        .await;
    ok("visitor", st, &pc);
    let visitor = pc["source_id"].as_str().expect("visitor").to_string();
    let (st, pconv) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/{visitor}/conversations"),
            Some(json!({})),
        )
        .await;
    ok("visitor conversation", st, &pconv);
    let visitor_conversation = pconv["id"].as_i64().expect("visitor conversation");
    let (st, pmsg) = s
        .call(
            Method::POST,
            None,
            &format!("{public}/{visitor}/conversations/{visitor_conversation}/messages"),
            Some(json!({"content": "Hi"})),
        )
        .await;
    ok("visitor message", st, &pmsg);

    World {
        agent,
        inbox_id,
        inbox_identifier,
        team_id,
        label_id: label["id"].as_i64().expect("label id"),
        canned_id: canned["id"].as_i64().expect("canned id"),
        webhook_id: hook["payload"]["webhook"]["id"]
            .as_i64()
            .expect("webhook id"),
        rule_id: rule["id"].as_i64().expect("rule id"),
        bot_id: bot["id"].as_i64().expect("bot id"),
        contact_id,
        contact_source_id,
        visitor,
        visitor_conversation,
        visitor_message: pmsg["id"].as_i64().expect("visitor message"),
        conversation,
        message_id: msg["id"].as_i64().expect("message id"),
        admin,
        unique: std::cell::Cell::new(0),
        hmac_token,
        last_identifier: Default::default(),
        conversation_body: Default::default(),
    }
}

/// Deletions run last, the objects others hang on after the ones hanging on them.
fn delete_rank(path: &str) -> usize {
    [
        "/messages/",
        "/team_members",
        "/inbox_members",
        "/contacts/",
        "/teams/",
        "/webhooks/",
    ]
    .iter()
    .position(|p| path.contains(p))
    .unwrap_or(99)
}

async fn every_chatwoot_operation_with_spec_shaped_bodies(s: &TestServer) {
    let (source, ops) = operations();
    assert!(
        ops.len() > 80,
        "the fixture holds Chatwoot's operations ({source})"
    );
    let (st, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    let mut served = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in item.as_object().expect("item").keys() {
            served.insert((m.to_uppercase(), shape(path)));
        }
    }
    let not_served: BTreeMap<String, &str> = NOT_SERVED
        .iter()
        .map(|(_, p, why)| (p.to_string(), *why))
        .collect();

    let w = build_world(s).await;
    let (deletes, mut rest): (Vec<&Op>, Vec<&Op>) =
        ops.iter().partition(|o| o.method == Method::DELETE);
    let mut deletes = deletes;
    deletes.sort_by_key(|o| delete_rank(&o.path));
    rest.extend(deletes);

    let mut failures = Vec::new();
    let mut driven = 0;
    for op in rest {
        let key = (op.method.to_string(), shape(&op.path));
        let url = w.url(op);
        let token = (!op.path.starts_with("/public/")).then_some(w.admin.token.as_str());
        w.conversation_body
            .set(op.method == Method::POST && op.path.ends_with("/conversations"));
        let body = op.body.as_ref().map(|b| w.value("", b));
        if !served.contains(&key) {
            match not_served.get(&key.1) {
                Some(_) => {
                    // Not served: a clear JSON 404/405, never a 500 or a panic.
                    let (st, v) = s.call(op.method.clone(), token, &url, body).await;
                    if !(st == StatusCode::NOT_FOUND || st == StatusCode::METHOD_NOT_ALLOWED)
                        || v["error"]["code"].as_str().is_none()
                    {
                        failures.push(format!("{} {url} (not served): {st} {v}", op.method));
                    }
                }
                None => failures.push(format!(
                    "{} {} is neither served nor listed in NOT_SERVED",
                    op.method, op.path
                )),
            }
            continue;
        }
        if not_served.contains_key(&key.1) {
            failures.push(format!(
                "{} {} is served now: remove it from NOT_SERVED",
                op.method, op.path
            ));
        }
        driven += 1;
        let (st, v) = s.call(op.method.clone(), token, &url, body.clone()).await;
        let refused = REFUSED
            .iter()
            .find(|(m, p, _, _)| *m == op.method.as_str() && shape(p) == key.1);
        match refused {
            Some((_, _, want, _)) if st.as_u16() == *want && v["error"]["code"].is_string() => {}
            Some((_, _, want, why)) => failures.push(format!(
                "{} {url}: expected the documented {want} ({why}), got {st} {v}",
                op.method
            )),
            None if st.is_success() => {}
            None => failures.push(format!(
                "{} {url} with {}: {st} {v}",
                op.method,
                body.map(|b| b.to_string()).unwrap_or_default()
            )),
        }
    }
    assert!(
        driven > 50,
        "most of Chatwoot's operations are served ({driven})"
    );
    assert!(failures.is_empty(), "{source}:\n{}", failures.join("\n"));
}

/// Ids Chatwoot's clients send as strings of digits are accepted wherever Parley takes an
/// integer id, and only those: a non-numeric string is still a 422 that changes nothing.
async fn ids_as_strings_and_trailing_slashes(s: &TestServer) {
    let w = build_world(s).await;
    let t = w.admin.token.as_str();
    let base = format!("/api/v1/accounts/{}", w.admin.account_id);

    // Conversation create with every id as a string, on the slashed path.
    let (st, conv) = s
        .post(
            t,
            &format!("{base}/conversations/"),
            json!({
                "inbox_id": w.inbox_id.to_string(),
                "contact_id": w.contact_id.to_string(),
                "assignee_id": w.agent.user_id.to_string(),
                "team_id": w.team_id.to_string(),
            }),
        )
        .await;
    assert!(st.is_success(), "{st} {conv}");
    assert_eq!(conv["inbox_id"], json!(w.inbox_id));
    assert_eq!(conv["meta"]["assignee"]["id"], json!(w.agent.user_id));
    let id = conv["id"].as_i64().expect("id");

    // Assignment and transfer with string ids.
    let (st, v) = s
        .post(
            t,
            &format!("{base}/conversations/{id}/assignments"),
            json!({"team_id": w.team_id.to_string()}),
        )
        .await;
    assert!(st.is_success(), "{st} {v}");
    let (st, v) = s
        .post(
            t,
            &format!("{base}/contacts/{}/contact_inboxes/", w.contact_id),
            json!({"inbox_id": w.inbox_id.to_string()}),
        )
        .await;
    assert!(st.is_success() || st == StatusCode::CONFLICT, "{st} {v}");

    // Not a number: refused, nothing created.
    let (_, before) = s.get(t, &format!("{base}/conversations?status=all")).await;
    for bad in [
        json!("abc"),
        json!("1.5"),
        json!(""),
        json!(true),
        json!([1]),
    ] {
        let (st, v) = s
            .post(
                t,
                &format!("{base}/conversations"),
                json!({"inbox_id": bad, "contact_id": w.contact_id}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v["error"]["message"].as_str().is_some(), "{v}");
    }
    let (_, after) = s.get(t, &format!("{base}/conversations?status=all")).await;
    assert_eq!(before["data"]["meta"], after["data"]["meta"]);

    // Reads answer with or without the slash, with the query string kept.
    let (st, list) = s.get(t, &format!("{base}/inboxes/")).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let (st, one) = s.get(t, &format!("{base}/inboxes/{}/", w.inbox_id)).await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert_eq!(one["id"], json!(w.inbox_id));
    let (st, v) = s
        .get(t, &format!("{base}/conversations/?status=resolved"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["payload"],
        json!([]),
        "the query string survives the rewrite"
    );
    // Unknown routes stay 404 with a slash too.
    let (st, _) = s.get(t, &format!("{base}/no_such_thing/")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// Sends `req` on `conn` and reads one response: its head (lower-cased) and body.
fn exchange(conn: &mut TcpStream, req: &str) -> Option<(String, String)> {
    conn.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = conn.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
            return Some((head, body));
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn post(host: &str, path: &str, token: &str, body: &str) -> String {
    Framing::Length.post(host, path, token, body)
}

/// How a test request carries its body.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Content-Length`, sent at once.
    Length,
    /// `Transfer-Encoding: chunked` (Node's default for a streamed body), sent at once.
    Chunked,
    /// `Content-Length`, the second half of the body sent after the answer.
    LengthInTwoParts,
}

impl Framing {
    fn post(self, host: &str, path: &str, token: &str, body: &str) -> String {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\napi_access_token: {token}\r\n\
             Content-Type: application/json\r\n"
        );
        match self {
            Framing::Chunked => format!(
                "{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            ),
            _ => format!("{head}Content-Length: {}\r\n\r\n{body}", body.len()),
        }
    }
}

/// A keep-alive client sends a POST whose path parameter does not parse (refused before
/// the body is read), then its next request: either the refusal says `Connection: close`
/// (so the client opens a new connection) or the same connection serves the next request.
/// A request whose body was read keeps its connection open.
async fn keep_alive_after_a_request_refused_before_its_body(s: &TestServer) {
    let admin = s.admin("Keep").await;
    let host = s.base.trim_start_matches("http://").to_string();
    let token = admin.token.clone();
    let account = admin.account_id;
    tokio::task::spawn_blocking(move || {
        let good = format!(
            "GET /api/v1/profile HTTP/1.1\r\nHost: {host}\r\napi_access_token: {token}\r\n\r\n"
        );
        for bad_path in [
            format!("/api/v1/accounts/{account}/conversations/abc/messages"),
            "/api/v1/accounts/not-a-number/labels".to_string(),
            "/api/v1/no/such/route".to_string(),
        ] {
            for (framing, size) in [
                (Framing::Length, 10),
                (Framing::Length, 20_000),
                (Framing::Length, 300_000),
                (Framing::Chunked, 10),
                (Framing::Chunked, 20_000),
                (Framing::LengthInTwoParts, 20_000),
            ] {
                let body = format!("{{\"content\":\"{}\"}}", "x".repeat(size));
                let req = framing.post(&host, &bad_path, &token, &body);
                // In two parts: the server answers before the rest of the body arrives.
                let cut = match framing {
                    Framing::LengthInTwoParts => req.len() - body.len() / 2,
                    _ => req.len(),
                };
                let mut conn = TcpStream::connect(&host).expect("connect");
                let (head, refusal) = exchange(&mut conn, &req[..cut]).expect("refusal");
                assert!(head.starts_with("http/1.1 4"), "{bad_path}: {head}");
                assert!(refusal.contains("\"error\""), "{refusal}");
                // The rest of the body follows; on a dropped connection this may fail.
                let _ = conn.write_all(&req.as_bytes()[cut..]);
                if head.contains("connection: close") {
                    // The client knows: its next request goes on a new connection.
                    conn = TcpStream::connect(&host).expect("reconnect");
                }
                let (head, _) = exchange(&mut conn, &good).unwrap_or_else(|| {
                    panic!(
                        "{bad_path} {framing:?} {size}: the next request on the connection failed"
                    )
                });
                assert!(head.starts_with("http/1.1 200"), "{head}");
            }
        }

        // A body that was read: the connection stays open for the next request.
        let mut conn = TcpStream::connect(&host).expect("connect");
        let (head, _) = exchange(
            &mut conn,
            &post(
                &host,
                &format!("/api/v1/accounts/{account}/labels"),
                &token,
                "{\"title\":\"kept\"}",
            ),
        )
        .expect("create label");
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
        let (head, _) = exchange(&mut conn, &good).expect("same connection");
        assert!(head.starts_with("http/1.1 200"), "{head}");
    })
    .await
    .expect("client thread");
}
