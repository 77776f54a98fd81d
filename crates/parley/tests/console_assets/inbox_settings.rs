//! Every inbox setting of the API has a control on the console's inbox settings page.
//!
//! The properties of the inbox update body (`PATCH …/inboxes/{id}`), nested ones included,
//! are read from the served OpenAPI document; the controls from the served console module
//! `js/views/inbox-settings.js`, where each control names the API path it edits in a
//! `setting: '…'` entry (its `data-setting` attribute). A leaf property without a control
//! fails the test unless [`API_ONLY`] lists it with the reason it has none; a control naming
//! a path the API does not have fails it too, and so does a stale API-only entry.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestServer;

/// Inbox settings deliberately without a console control, and why.
const API_ONLY: &[(&str, &str)] = &[
    (
        "channel.type",
        "chosen in the New inbox dialog and fixed afterwards",
    ),
    (
        "channel.continuity_via_email",
        "accepted and returned for Chatwoot clients; Parley has no behaviour behind it, so a switch would pretend",
    ),
    (
        "enable_email_collect",
        "accepted and returned for Chatwoot clients; no behaviour behind it yet",
    ),
    (
        "allow_messages_after_resolved",
        "accepted and returned for Chatwoot clients; no behaviour behind it yet",
    ),
    (
        "lock_to_single_conversation",
        "accepted and returned for Chatwoot clients; no behaviour behind it yet",
    ),
];

/// The schema `s` with a `$ref` followed (`#/components/schemas/…`).
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => s,
    }
}

/// Collects the property paths under `schema` (dotted; list items and map values add no
/// segment), marking which have properties of their own.
fn walk(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    out: &mut BTreeSet<String>,
    parents: &mut BTreeSet<String>,
) {
    assert!(depth < 12, "schema nesting too deep at {prefix}");
    let s = resolve(doc, schema);
    for key in ["allOf", "oneOf", "anyOf"] {
        for sub in s[key].as_array().into_iter().flatten() {
            walk(doc, sub, prefix, depth + 1, out, parents);
        }
    }
    if s.get("items").is_some() {
        walk(doc, &s["items"], prefix, depth + 1, out, parents);
    }
    if s["additionalProperties"].is_object() {
        walk(
            doc,
            &s["additionalProperties"],
            prefix,
            depth + 1,
            out,
            parents,
        );
    }
    if let Some(props) = s["properties"].as_object() {
        if !prefix.is_empty() {
            parents.insert(prefix.to_string());
        }
        for (k, v) in props {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(path.clone());
            walk(doc, v, &path, depth + 1, out, parents);
        }
    }
}

/// The `setting: '…'` entries of a console module (several paths may share one control,
/// separated by spaces).
fn bindings(js: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in js.split("setting: '").skip(1) {
        if let Some((value, _)) = part.split_once('\'') {
            out.extend(value.split_whitespace().map(str::to_string));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbox_setting_of_the_api_has_a_console_control() {
    let s = TestServer::sqlite().await;
    let res = s
        .http
        .get(s.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("openapi json");
    let body = &doc["paths"]["/api/v1/accounts/{account_id}/inboxes/{id}"]["patch"]["requestBody"]
        ["content"]["application/json"]["schema"];
    assert!(body.is_object(), "no request body for the inbox update");
    let (mut api, mut parents) = (BTreeSet::new(), BTreeSet::new());
    walk(&doc, body, "", 0, &mut api, &mut parents);
    // The walk reaches the nested objects (so a new nested key is seen too).
    for nested in [
        "channel.pre_chat_form_options.pre_chat_fields.required",
        "channel.pre_chat_form_options.department_team_ids",
        "working_hours.open_hour",
        "sla_policy.escalation.reassign",
    ] {
        assert!(api.contains(nested), "{nested} not found in {api:?}");
    }

    let res = s
        .http
        .get(s.url("/app/js/views/inbox-settings.js"))
        .send()
        .await
        .expect("module");
    assert_eq!(res.status(), StatusCode::OK);
    let js = res.text().await.expect("module text");
    let bound = bindings(&js);
    let api_only: BTreeSet<&str> = API_ONLY.iter().map(|(k, _)| *k).collect();

    let missing: Vec<&String> = api
        .iter()
        .filter(|p| !parents.contains(*p))
        .filter(|p| !bound.contains(*p) && !api_only.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "inbox settings of the API without a console control in js/views/inbox-settings.js \
         (add a control with `setting: '<path>'`, or list it in API_ONLY with a reason): {missing:?}"
    );
    let unknown: Vec<&String> = bound.iter().filter(|p| !api.contains(*p)).collect();
    assert!(
        unknown.is_empty(),
        "console controls naming paths the inbox API does not have: {unknown:?}"
    );
    let stale: Vec<&&str> = api_only
        .iter()
        .filter(|p| !api.contains(**p) || bound.contains(**p))
        .collect();
    assert!(
        stale.is_empty(),
        "API_ONLY entries that are not API settings or that have a control now: {stale:?}"
    );
    // The secret's rotation has its button on the same page.
    assert!(js.contains("/reset_hmac_token"), "no rotate-secret control");
    s.stop().await;
}
