//! Contact notes (Chatwoot's `/contacts/{id}/notes`) on both backends: agents read and add
//! notes; only the author or an administrator changes or deletes one; bad input and other
//! accounts' ids change nothing.

use crate::common;

use common::TestServer;
use parley_core::Role;
use reqwest::StatusCode;
use serde_json::json;

both_backends!(notes_about_a_contact);

async fn notes_about_a_contact(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let anna = s.member(admin.account_id, "Anna", Role::Agent).await;
    let boris = s.member(admin.account_id, "Boris", Role::Agent).await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (st, c) = s
        .post(
            &admin.token,
            &format!("{base}/contacts"),
            json!({"name": "Olga"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    let contact = c["payload"]["contact"]["id"].as_i64().unwrap();
    let notes = format!("{base}/contacts/{contact}/notes");

    let (st, list) = s.get(&anna.token, &notes).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list, json!([]));
    let (st, n1) = s
        .post(
            &anna.token,
            &notes,
            json!({"content": "Prefers calls after 18:00 <b>not bold</b>"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{n1}");
    assert_eq!(n1["content"], "Prefers calls after 18:00 <b>not bold</b>");
    assert_eq!(n1["user"]["id"], anna.user_id);
    assert_eq!(n1["contact_id"], contact);
    let (_, n2) = s
        .post(
            &boris.token,
            &notes,
            json!({"content": "Ordered twice in May"}),
        )
        .await;
    let (_, list) = s.get(&admin.token, &notes).await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![n2["id"].as_i64().unwrap(), n1["id"].as_i64().unwrap()],
        "newest first"
    );

    // Boris may not rewrite Anna's note; Anna and an administrator may.
    let n1_url = format!("{notes}/{}", n1["id"]);
    let (st, _) = s
        .patch(&boris.token, &n1_url, json!({"content": "hijacked"}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.delete(&boris.token, &n1_url).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, up) = s
        .patch(
            &anna.token,
            &n1_url,
            json!({"content": "Calls after 19:00"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["content"], "Calls after 19:00");

    // Bad input: empty, too long, wrong type; nothing changes.
    for body in [
        json!({"content": "  "}),
        json!({"content": "x".repeat(10_001)}),
        json!({"content": 5}),
        json!({}),
    ] {
        let (st, b) = s.post(&anna.token, &notes, body.clone()).await;
        assert_eq!(st.as_u16(), 422, "{body} -> {b}");
        let (st, _) = s.patch(&anna.token, &n1_url, body).await;
        assert_eq!(st.as_u16(), 422);
    }
    let (_, list) = s.get(&admin.token, &notes).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["content"], "Calls after 19:00");

    // Another account sees none of it, under either account id.
    let other = s.admin("Other").await;
    let (st, _) = s.get(&other.token, &notes).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let foreign = format!(
        "/api/v1/accounts/{}/contacts/{contact}/notes",
        other.account_id
    );
    let (st, _) = s.get(&other.token, &foreign).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(&other.token, &foreign, json!({"content": "spy"}))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .delete(&other.token, &format!("{foreign}/{}", n1["id"]))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The administrator deletes; deleting again is a 404.
    let (st, _) = s.delete(&admin.token, &n1_url).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.delete(&admin.token, &n1_url).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s.get(&admin.token, &notes).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}
