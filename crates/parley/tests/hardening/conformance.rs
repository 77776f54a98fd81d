//! Finding 12 of issue 12: the OpenAPI document lacked 171 status codes that the server
//! answers with. Every operation of the served document is probed here with the requests
//! that reach the shared error paths (no credentials, malformed JSON, a body that is not
//! JSON, a non-numeric id, a NUL in the query string), and every answer must be a status
//! that the operation's document lists, with the documented error body. The probes change
//! nothing, so every route is probed, destructive ones included. The fuzzer in CI
//! (`.ci/schemathesis`) goes further with generated data; this test keeps the shared paths
//! covered in `cargo test`.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_backends;
use crate::common::TestServer;

both_backends!(every_operation_documents_the_errors_it_answers_with);

/// One request sent to an operation: what it tries, with which token, and its body
/// (content type and bytes).
type Body = Option<(&'static str, Vec<u8>)>;

/// The path with its parameters filled: the real account, `bad_id` for the other ids.
fn fill(path: &str, account_id: i64, bad_id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        match name {
            "account_id" => out.push_str(&account_id.to_string()),
            "inbox_identifier" | "contact_identifier" => out.push_str("no-such-identifier"),
            _ => out.push_str(bad_id),
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

async fn every_operation_documents_the_errors_it_answers_with(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let res = s
        .http
        .get(s.url("/api/openapi.json"))
        .send()
        .await
        .expect("document");
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.expect("JSON document");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 40, "{} paths", paths.len());

    let mut problems = Vec::new();
    let mut probes = 0;
    for (path, item) in paths {
        for (method_name, op) in item.as_object().expect("path item") {
            let Ok(method) = method_name.to_uppercase().parse::<Method>() else {
                continue;
            };
            let documented = |status: StatusCode| {
                op["responses"]
                    .as_object()
                    .is_some_and(|r| r.contains_key(status.as_str()))
            };
            let authenticated = op["security"].as_array().is_some_and(|reqs| {
                reqs.iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            let has_body = op.get("requestBody").is_some();
            let mut cases: Vec<(&str, Option<&str>, String, Body)> = vec![(
                "a NUL in the query string",
                Some(&admin.token),
                format!("{}?q=%00", fill(path, admin.account_id, "999999")),
                None,
            )];
            if authenticated {
                cases.push((
                    "no credentials",
                    None,
                    fill(path, admin.account_id, "999999"),
                    None,
                ));
            }
            if path.contains("_id}") || path.contains("{id}") {
                cases.push((
                    "a non-numeric id",
                    Some(&admin.token),
                    fill(path, admin.account_id, "not-a-number"),
                    None,
                ));
            }
            if has_body {
                cases.push((
                    "malformed JSON",
                    Some(&admin.token),
                    fill(path, admin.account_id, "999999"),
                    Some(("application/json", b"{\"a\":".to_vec())),
                ));
                cases.push((
                    "a body that is not JSON",
                    Some(&admin.token),
                    fill(path, admin.account_id, "999999"),
                    Some(("text/plain", b"hello".to_vec())),
                ));
            }
            for (what, token, url, body) in cases {
                probes += 1;
                let (status, answer) = match body {
                    Some((ct, bytes)) => s.raw(method.clone(), token, &url, ct, bytes).await,
                    None => s.call(method.clone(), token, &url, None).await,
                };
                if status.is_server_error() {
                    problems.push(format!("{method} {url} ({what}): {status} {answer}"));
                    continue;
                }
                if !documented(status) {
                    problems.push(format!(
                        "{method} {path} ({what}): answered {status}, which its document does not list"
                    ));
                }
                if status.is_client_error()
                    && !(answer["error"]["code"].is_string()
                        && answer["error"]["message"].is_string())
                {
                    problems.push(format!(
                        "{method} {url} ({what}): {status} without the error body: {answer}"
                    ));
                }
            }
        }
    }
    assert!(probes > 150, "only {probes} probes");
    assert!(
        problems.is_empty(),
        "{} of {probes} probes broke the document:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
