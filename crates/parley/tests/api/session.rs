//! First-run setup, sign in/out with the session cookie, profile, API token, operations
//! endpoints and the API's error conventions.

use std::sync::Arc;

use crate::common;

use common::{TestServer, assert_error};
use parley_core::Role;
use parley_core::time::ManualClock;
use reqwest::{Method, StatusCode};
use serde_json::json;

both_backends!(
    setup_works_once,
    sign_in_cookie_profile_and_sign_out,
    profile_update_and_password_change,
    access_token_reset,
    bad_input_on_session_routes,
    unauthenticated_and_unknown_routes,
    health_metrics_and_openapi,
    onboarding_state_is_derived_and_persisted
);

async fn login_is_rate_limited(s: &TestServer, clock: &ManualClock) {
    let admin = s.admin("Shop").await;
    // Five free failures per (address, e-mail) pair (login_free_failures), then a delay
    // that doubles with each failure from 1 s. The server's clock stands still unless the
    // test moves it, so no delay passes while a password hashes on a loaded machine. A
    // refusal counts nothing, so the loop moves the clock a second and tries again.
    let mut failures = 0;
    let mut refusals = 0;
    while failures < 7 {
        let (st, body) = s
            .call(
                Method::POST,
                None,
                "/auth/sign_in",
                Some(json!({"email": admin.email, "password": "guess-guess"})),
            )
            .await;
        if st == StatusCode::UNAUTHORIZED {
            failures += 1;
        } else {
            assert_error(st, &body, 429, "rate_limited");
            assert!(failures >= 5, "refused after only {failures} failures");
            refusals += 1;
            assert!(refusals < 60, "the delay never passed");
            clock.advance(1000);
        }
    }
    // Even the right password is refused from this address until the delay has passed.
    let (st, body) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": admin.email, "password": "password123"})),
        )
        .await;
    assert_error(st, &body, 429, "rate_limited");
    // Other users are not affected.
    let other = s.admin("Other").await;
    let (st, _) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": other.email, "password": "password123"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_login_is_rate_limited() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let s = TestServer::sqlite_clock(clock.clone(), |_| {}).await;
    login_is_rate_limited(&s, &clock).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_login_is_rate_limited() {
    let clock = Arc::new(ManualClock::new(1_796_394_600_000));
    let Some(s) = TestServer::postgres_clock(clock.clone(), |_| {}).await else {
        return;
    };
    login_is_rate_limited(&s, &clock).await;
    s.stop().await;
}

async fn setup_works_once(s: &TestServer) {
    let (st, body) = s.call(Method::GET, None, "/api/v1/setup", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["setup_needed"], true);

    let req = json!({"name": "Maria", "email": "Maria@Shop.test", "password": "correct horse", "account_name": "Shop", "locale": "ru"});
    let (st, body) = s
        .call(Method::POST, None, "/api/v1/setup", Some(req.clone()))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(body["user"]["email"], "maria@shop.test");
    assert_eq!(body["user"]["accounts"][0]["role"], "administrator");
    let account_id = body["account_id"].as_i64().unwrap();

    // The token works, and the cookie set by setup signs the browser in.
    let (st, me) = s.get(&token, "/api/v1/profile").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["account_id"], account_id);
    let (st, _) = s.call(Method::GET, None, "/api/v1/profile", None).await;
    assert_eq!(st, StatusCode::OK, "setup should sign the browser in");

    // A second setup is refused and creates nothing.
    let again = json!({"name": "Eve", "email": "eve@evil.test", "password": "password123", "account_name": "Evil"});
    let (st, body) = s
        .call(Method::POST, None, "/api/v1/setup", Some(again))
        .await;
    assert_error(st, &body, 409, "conflict");
    assert_eq!(s.store().count_users().await.unwrap(), 1);
    let (_, body) = s.call(Method::GET, None, "/api/v1/setup", None).await;
    assert_eq!(body["setup_needed"], false);
}

async fn sign_in_cookie_profile_and_sign_out(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (st, body) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": admin.email, "password": "wrong-password"})),
        )
        .await;
    assert_error(st, &body, 401, "invalid_credentials");
    let (st, body) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": "nobody@x.test", "password": "password123"})),
        )
        .await;
    assert_error(st, &body, 401, "invalid_credentials");

    let res = s
        .http
        .post(s.url("/auth/sign_in"))
        .json(&json!({"email": admin.email.to_uppercase(), "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["data"]["email"], admin.email);
    assert!(
        body["data"].get("access_token").is_none(),
        "tokens are stored hashed and never echoed"
    );

    // The cookie authenticates reads...
    let (st, _) = s.call(Method::GET, None, "/api/v1/profile", None).await;
    assert_eq!(st, StatusCode::OK);
    // ...but a cookie-only write without same-origin proof is refused (CSRF).
    let (st, body) = s
        .call(
            Method::PUT,
            None,
            "/api/v1/profile",
            Some(json!({"profile": {"name": "X"}})),
        )
        .await;
    assert_error(st, &body, 403, "csrf");
    let res = s
        .http
        .put(s.url("/api/v1/profile"))
        .header("x-requested-with", "XMLHttpRequest")
        .json(&json!({"profile": {"name": "Maria"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (st, _) = s.call(Method::DELETE, None, "/auth/sign_out", None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.call(Method::GET, None, "/api/v1/profile", None).await;
    assert_error(st, &body, 401, "unauthorized");
}

async fn profile_update_and_password_change(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"name": "Maria", "display_name": "Masha"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["available_name"], "Masha");

    // Password change needs the current password.
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"password": "new-password-1"}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    assert_eq!(body["error"]["field"], "current_password");
    let (st, _) = s
        .put(&admin.token, "/api/v1/profile", json!({"profile": {"password": "new-password-1", "password_confirmation": "new-password-1", "current_password": "password123"}}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": admin.email, "password": "new-password-1"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": admin.email, "password": "password123"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // E-mail taken by another user: conflict, nothing changes.
    let other = s.admin("Other").await;
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"email": other.email, "current_password": "new-password-1"}}),
        )
        .await;
    assert_error(st, &body, 409, "conflict");
    let (_, me) = s.get(&admin.token, "/api/v1/profile").await;
    assert_eq!(me["email"], admin.email);
}

async fn access_token_reset(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let (st, body) = s
        .post(&admin.token, "/api/v1/profile/access_token", json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let new_token = body["access_token"].as_str().unwrap().to_string();
    let (st, _) = s.get(&admin.token, "/api/v1/profile").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "old token must stop working");
    let (st, _) = s.get(&new_token, "/api/v1/profile").await;
    assert_eq!(st, StatusCode::OK);
}

async fn bad_input_on_session_routes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    // Malformed JSON, wrong content type, wrong types, missing fields, unknown fields, oversize.
    let (st, body) = s
        .raw(
            Method::PUT,
            Some(&admin.token),
            "/api/v1/profile",
            "application/json",
            b"{\"profile\": ".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");
    let (st, body) = s
        .raw(
            Method::PUT,
            Some(&admin.token),
            "/api/v1/profile",
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_error(st, &body, 415, "unsupported_media_type");
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"name": 42}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_request");
    let (st, body) = s.put(&admin.token, "/api/v1/profile", json!({})).await;
    assert_error(st, &body, 422, "invalid_request");
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"role": "administrator"}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_request");
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"name": "x".repeat(300)}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let huge = json!({"profile": {"name": "x".repeat(100 * 1024)}});
    let (st, body) = s.put(&admin.token, "/api/v1/profile", huge).await;
    assert_error(st, &body, 413, "payload_too_large");
    let (st, body) = s
        .put(
            &admin.token,
            "/api/v1/profile",
            json!({"profile": {"email": "not-an-email", "current_password": "password123"}}),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    // Nothing changed.
    let (_, me) = s.get(&admin.token, "/api/v1/profile").await;
    assert_eq!(me["name"], "Admin");
    assert_eq!(me["email"], admin.email);

    let (st, body) = s.call(Method::POST, None, "/api/v1/setup", Some(json!({"name": "A", "email": "bad", "password": "password123", "account_name": "S"}))).await;
    assert!(
        st == StatusCode::CONFLICT || st == StatusCode::UNPROCESSABLE_ENTITY,
        "{st} {body}"
    );
    let (st, body) = s
        .call(
            Method::POST,
            None,
            "/auth/sign_in",
            Some(json!({"email": "a@b.test"})),
        )
        .await;
    assert_error(st, &body, 422, "invalid_request");
}

async fn unauthenticated_and_unknown_routes(s: &TestServer) {
    let (st, body) = s.call(Method::GET, None, "/api/v1/profile", None).await;
    assert_error(st, &body, 401, "unauthorized");
    let (st, body) = s
        .call(Method::GET, Some("not-a-token"), "/api/v1/profile", None)
        .await;
    assert_error(st, &body, 401, "unauthorized");
    let (st, body) = s
        .call(Method::GET, None, "/api/v1/no/such/route", None)
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s.call(Method::DELETE, None, "/api/v1/setup", None).await;
    assert_error(st, &body, 405, "method_not_allowed");
}

async fn health_metrics_and_openapi(s: &TestServer) {
    let (st, body) = s.call(Method::GET, None, "/healthz", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["database"], "ok");
    let text = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("parley_http_requests_total"),
        "metrics: {text}"
    );
    let (st, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/profile"]["get"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_access_token"].is_object());
    let html = s.http.get(s.url("/api/docs/")).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
}

/// The first-run guide: steps derived from the account, flags stored per account, bad
/// changes refused with nothing changed, only administrators change it.
async fn onboarding_state_is_derived_and_persisted(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let path = format!("/api/v1/accounts/{}/onboarding", admin.account_id);
    let (st, v) = s.get(&admin.token, &path).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"dismissed": false, "snippet_copied": false, "demo_opened": false,
               "steps": {"website": false, "operator": false, "hours": false}, "completed": false})
    );

    // A website inbox alone is not a connected website: nobody has used its snippet yet.
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("/api/v1/accounts/{}/inboxes", admin.account_id),
            json!({"name": "Shop site", "channel": {"type": "web_widget", "website_url": "https://shop.test"}}),
        )
        .await;
    assert!(st.is_success(), "{inbox}");
    let (_, v) = s.get(&admin.token, &path).await;
    assert_eq!(v["steps"]["website"], false, "{v}");
    let (st, v) = s
        .patch(&admin.token, &path, json!({"snippet_copied": true}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["snippet_copied"], true);
    assert_eq!(v["steps"]["website"], true, "{v}");

    // Bad changes: 422 and nothing changed.
    for bad in [
        json!({"dismissed": "yes"}),
        json!({"dismissed": 1}),
        json!({"snippet_copied": null, "dismised": true}),
        json!({"completed": true}),
        json!([true]),
        json!("dismissed"),
    ] {
        let (st, body) = s.patch(&admin.token, &path, bad.clone()).await;
        assert_error(st, &body, 422, "invalid_request");
    }
    let (_, after) = s.get(&admin.token, &path).await;
    assert_eq!(after["dismissed"], false, "{after}");
    assert_eq!(after["snippet_copied"], true, "{after}");

    // An operator and working hours complete the guide.
    let agent = s.member(admin.account_id, "Maria", Role::Agent).await;
    let (_, v) = s.get(&admin.token, &path).await;
    assert_eq!(v["steps"]["operator"], true, "{v}");
    assert_eq!(v["completed"], false, "{v}");
    let (st, body) = s
        .patch(
            &admin.token,
            &format!(
                "/api/v1/accounts/{}/inboxes/{}",
                admin.account_id, inbox["id"]
            ),
            json!({"working_hours_enabled": true}),
        )
        .await;
    assert!(st.is_success(), "{body}");
    let (_, v) = s.get(&admin.token, &path).await;
    assert_eq!(v["steps"]["hours"], true, "{v}");
    assert_eq!(v["completed"], true, "{v}");

    // Agents read the state but do not change it.
    let (st, v) = s.get(&agent.token, &path).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, body) = s
        .patch(&agent.token, &path, json!({"dismissed": true}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Dismissal is stored and can be undone (the console's "reopen").
    let (st, v) = s
        .patch(&admin.token, &path, json!({"dismissed": true}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, v) = s.get(&admin.token, &path).await;
    assert_eq!(v["dismissed"], true, "{v}");
    assert_eq!(v["snippet_copied"], true, "other flags stay: {v}");
    let (_, v) = s
        .patch(&admin.token, &path, json!({"dismissed": false}))
        .await;
    assert_eq!(v["dismissed"], false, "{v}");

    // Another account's guide is not this admin's business.
    let other = s.admin("Other shop").await;
    let (st, body) = s
        .get(
            &admin.token,
            &format!("/api/v1/accounts/{}/onboarding", other.account_id),
        )
        .await;
    assert!(
        st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN,
        "{st} {body}"
    );
    let (_, v) = s
        .get(
            &other.token,
            &format!("/api/v1/accounts/{}/onboarding", other.account_id),
        )
        .await;
    assert_eq!(v["dismissed"], false, "{v}");
}
