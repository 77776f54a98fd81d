//! Contacts over HTTP: the Application API (list, search, CRUD, labels, contact inboxes)
//! and the Client API (visitor contacts with HMAC-verified identity), including bad input,
//! roles and tenant isolation.

use crate::common;

use common::{Actor, TestServer, assert_error};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(
    create_show_update_delete,
    list_pages_and_sorts,
    search_finds_by_every_field,
    labels_and_contact_inboxes,
    bad_input_on_create,
    bad_input_on_update_labels_and_contact_inboxes,
    roles_read_write_but_only_admins_delete,
    other_accounts_get_404_everywhere,
    public_contact_lifecycle_and_isolation,
    public_hmac_identity,
    public_bad_input_and_claimed_email,
    contact_conversations_visible_and_scoped,
    openapi_documents_contact_routes
);

/// RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
const HMAC_KEY: &str = "Jefe";
const HMAC_DATA: &str = "what do ya want for nothing?";
const HMAC_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

struct Inbox {
    id: i64,
    identifier: String,
}

async fn inbox(s: &TestServer, account_id: i64, name: &str, hmac_mandatory: bool) -> Inbox {
    let (id, identifier, _) = s
        .store()
        .insert_inbox_for_contact_tests(
            account_id,
            name,
            "Channel::WebWidget",
            hmac_mandatory,
            Some(HMAC_KEY),
        )
        .await
        .expect("inbox");
    Inbox { id, identifier }
}

fn contacts(a: &Actor) -> String {
    format!("/api/v1/accounts/{}/contacts", a.account_id)
}

fn contact(a: &Actor, id: i64) -> String {
    format!("/api/v1/accounts/{}/contacts/{id}", a.account_id)
}

async fn create(s: &TestServer, a: &Actor, body: Value) -> Value {
    let (st, b) = s.post(&a.token, &contacts(a), body).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["payload"]["contact"].clone()
}

/// Every listed contact of the account as the agent API shows it, with its labels, plus
/// the number of all contacts, for "nothing changed" checks.
async fn snapshot(s: &TestServer, a: &Actor) -> Vec<Value> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let (st, b) = s
            .get(
                &a.token,
                &format!("{}?page={page}&sort=created_at", contacts(a)),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        let items = b["payload"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        for c in items {
            let id = c["id"].as_i64().unwrap();
            let (_, full) = s.get(&a.token, &contact(a, id)).await;
            let (_, labels) = s.get(&a.token, &format!("{}/labels", contact(a, id))).await;
            out.push(json!({"contact": full["payload"], "labels": labels["payload"]}));
        }
        page += 1;
    }
    // The list leaves out anonymous contacts; count every row so none slips by.
    out.push(json!({"total_contacts": total_contacts(s, a.account_id).await}));
    out
}

async fn total_contacts(s: &TestServer, account_id: i64) -> i64 {
    use parley_store::contacts::{ContactQuery, ContactSort};
    let all = ContactQuery {
        search: None,
        resolved_only: false,
        sort: ContactSort::CreatedAt,
        descending: false,
        limit: 1,
        offset: 0,
    };
    s.store()
        .count_contacts(account_id, &all, i64::MAX)
        .await
        .expect("count")
}

async fn create_show_update_delete(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let site = inbox(s, admin.account_id, "Site", false).await;
    let (st, body) = s
        .post(
            &admin.token,
            &contacts(&admin),
            json!({
                "inbox_id": site.id,
                "name": "  Иван Петров ",
                "email": "Ivan@Shop.TEST",
                "phone_number": "+7 999 123-45-67",
                "identifier": "crm-1",
                "avatar_url": "https://cdn.test/i.png",
                "custom_attributes": {"plan": "gold", "orders": 3},
                "additional_attributes": {"city": "Kazan"}
            }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let c = &body["payload"]["contact"];
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["name"], "Иван Петров");
    assert_eq!(c["email"], "ivan@shop.test");
    assert_eq!(c["phone_number"], "+7 999 123-45-67");
    assert_eq!(c["identifier"], "crm-1");
    assert_eq!(c["avatar_url"], "https://cdn.test/i.png");
    assert_eq!(c["thumbnail"], "https://cdn.test/i.png");
    assert_eq!(c["custom_attributes"], json!({"plan": "gold", "orders": 3}));
    assert_eq!(c["additional_attributes"], json!({"city": "Kazan"}));
    assert_eq!(c["blocked"], false);
    assert_eq!(c["availability_status"], "offline");
    assert_eq!(c["last_activity_at"], Value::Null);
    let created = c["created_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - created).abs() < 120, "created_at is epoch seconds");
    let ci = &body["payload"]["contact_inbox"];
    assert_eq!(ci["inbox"]["id"], site.id);
    assert_eq!(ci["inbox"]["name"], "Site");
    assert_eq!(ci["inbox"]["channel_type"], "Channel::WebWidget");
    let source_id = ci["source_id"].as_str().unwrap().to_string();
    assert!(source_id.len() >= 16);
    assert_eq!(c["contact_inboxes"][0]["source_id"], source_id.as_str());
    assert!(
        ci.get("pubsub_token").is_none(),
        "the visitor's socket token is not shown to agents"
    );

    // Without inbox_id there is no contact_inbox.
    let (st, body) = s
        .post(&admin.token, &contacts(&admin), json!({"name": "Plain"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(body["payload"].get("contact_inbox").is_none(), "{body}");
    assert_eq!(body["payload"]["contact"]["contact_inboxes"], json!([]));

    let (st, shown) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(shown["payload"], *c);

    // PUT changes given fields, merges attributes, clears with null.
    let (st, up) = s
        .put(
            &admin.token,
            &contact(&admin, id),
            json!({"name": "Ivan P", "phone_number": null, "custom_attributes": {"orders": 4, "plan": null, "vip": true}, "blocked": true}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    let u = &up["payload"];
    assert_eq!(u["name"], "Ivan P");
    assert_eq!(u["phone_number"], Value::Null);
    assert_eq!(u["email"], "ivan@shop.test", "absent fields stay");
    assert_eq!(u["custom_attributes"], json!({"orders": 4, "vip": true}));
    assert_eq!(u["additional_attributes"], json!({"city": "Kazan"}));
    assert_eq!(u["blocked"], true);
    // PATCH works the same; keeping one's own e-mail is not a conflict.
    let (st, up) = s
        .patch(
            &admin.token,
            &contact(&admin, id),
            json!({"email": "IVAN@shop.test", "identifier": "crm-1b"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["payload"]["identifier"], "crm-1b");
    let (_, shown) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(shown["payload"]["name"], "Ivan P");
    assert_eq!(shown["payload"]["identifier"], "crm-1b");

    // Activity recorded by the store shows as epoch seconds.
    assert!(
        s.store()
            .touch_contact_activity(admin.account_id, id, 1_700_000_000_999)
            .await
            .unwrap()
    );
    let (_, shown) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(shown["payload"]["last_activity_at"], 1_700_000_000_i64);

    let (st, _) = s.delete(&admin.token, &contact(&admin, id)).await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s.delete(&admin.token, &contact(&admin, id)).await;
    assert_error(st, &body, 404, "not_found");
    // Its Client API identity is gone too.
    let (st, _) = s
        .call(
            Method::GET,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/{source_id}",
                site.identifier
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn list_pages_and_sorts(s: &TestServer) {
    let admin = s.admin("Shop").await;
    for i in 0..17 {
        create(
            s,
            &admin,
            json!({"name": format!("Contact {i:02}"), "email": format!("c{i:02}@x.test")}),
        )
        .await;
    }
    // Anonymous contacts (no e-mail, phone or identifier) are not listed, as in Chatwoot.
    create(s, &admin, json!({"name": "Anonymous visitor"})).await;

    let (st, p1) = s.get(&admin.token, &contacts(&admin)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p1["meta"]["count"], 17);
    assert_eq!(p1["meta"]["current_page"], 1);
    assert_eq!(p1["payload"].as_array().unwrap().len(), 15);
    let (_, p2) = s
        .get(&admin.token, &format!("{}?page=2", contacts(&admin)))
        .await;
    assert_eq!(p2["meta"]["current_page"], 2);
    assert_eq!(p2["meta"]["count"], 17);
    assert_eq!(p2["payload"].as_array().unwrap().len(), 2);
    let mut ids: Vec<i64> = p1["payload"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["payload"].as_array().unwrap())
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 17, "pages neither overlap nor skip");
    let (_, p3) = s
        .get(&admin.token, &format!("{}?page=3", contacts(&admin)))
        .await;
    assert_eq!(p3["payload"], json!([]));

    let names = |b: &Value| {
        b["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, asc) = s
        .get(&admin.token, &format!("{}?sort=name", contacts(&admin)))
        .await;
    assert_eq!(names(&asc)[0], "Contact 00");
    assert_eq!(names(&asc)[14], "Contact 14");
    let (_, desc) = s
        .get(&admin.token, &format!("{}?sort=-email", contacts(&admin)))
        .await;
    assert_eq!(names(&desc)[0], "Contact 16");
    let (_, newest) = s
        .get(
            &admin.token,
            &format!("{}?sort=-created_at", contacts(&admin)),
        )
        .await;
    assert_eq!(newest["payload"].as_array().unwrap().len(), 15);

    let (st, body) = s
        .get(&admin.token, &format!("{}?sort=password", contacts(&admin)))
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(&admin.token, &format!("{}?page=abc", contacts(&admin)))
        .await;
    assert_error(st, &body, 400, "invalid_query");
    let (st, body) = s
        .get(&admin.token, &format!("{}?page=0", contacts(&admin)))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["meta"]["current_page"], 1);
}

async fn search_finds_by_every_field(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let petr = create(
        s,
        &admin,
        json!({"name": "Пётр Сидоров", "email": "petr@shop.test", "phone_number": "+7 900 555-12-34", "identifier": "CRM_77"}),
    )
    .await;
    create(
        s,
        &admin,
        json!({"name": "Anna", "email": "anna@other.test"}),
    )
    .await;
    let other = s.admin("Other").await;
    create(
        s,
        &other,
        json!({"name": "Петр из другого магазина", "email": "petr@other-shop.test"}),
    )
    .await;

    for q in ["ПЕТР", "сидоров", "PETR@SHOP", "555-12", "crm_77"] {
        let (st, body) = s
            .get(
                &admin.token,
                &format!("{}/search?q={}", contacts(&admin), urlencode(q)),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        assert_eq!(body["meta"]["count"], 1, "query {q}: {body}");
        assert_eq!(body["payload"][0]["id"], petr["id"], "query {q}");
        assert_eq!(body["payload"][0]["email"], "petr@shop.test");
    }
    let (_, body) = s
        .get(
            &admin.token,
            &format!("{}/search?q=.test", contacts(&admin)),
        )
        .await;
    assert_eq!(body["meta"]["count"], 2);
    assert_eq!(body["payload"][0]["name"], "Anna", "newest first: {body}");
    assert_eq!(body["payload"][1]["id"], petr["id"]);
    let (_, body) = s
        .get(
            &admin.token,
            &format!("{}/search?q=.test&sort=-name", contacts(&admin)),
        )
        .await;
    assert_eq!(
        body["payload"][0]["id"], petr["id"],
        "explicit sort: {body}"
    );
    let (_, body) = s
        .get(
            &admin.token,
            &format!("{}/search?q=nobody", contacts(&admin)),
        )
        .await;
    assert_eq!(body["meta"]["count"], 0);
    assert_eq!(body["payload"], json!([]));
    let (_, body) = s
        .get(&admin.token, &format!("{}/search?q=%25", contacts(&admin)))
        .await;
    assert_eq!(body["meta"]["count"], 0, "% is literal: {body}");
    let (st, body) = s
        .get(&admin.token, &format!("{}/search", contacts(&admin)))
        .await;
    assert_error(st, &body, 422, "invalid_field");
    let (st, body) = s
        .get(
            &admin.token,
            &format!("{}/search?q={}", contacts(&admin), "x".repeat(201)),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn labels_and_contact_inboxes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let site = inbox(s, admin.account_id, "Site", false).await;
    let api = inbox(s, admin.account_id, "CRM", false).await;
    let c = create(s, &admin, json!({"name": "Ivan", "email": "i@x.test"})).await;
    let id = c["id"].as_i64().unwrap();
    let labels = format!("{}/labels", contact(&admin, id));

    let (st, body) = s.get(&admin.token, &labels).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["payload"], json!([]));
    let (st, body) = s
        .post(
            &admin.token,
            &labels,
            json!({"labels": ["VIP", "delivery", "vip"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["payload"], json!(["delivery", "vip"]));
    let (st, body) = s
        .post(&admin.token, &labels, json!({"labels": ["refund"]}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["payload"], json!(["refund"]), "POST replaces the set");
    let (_, body) = s.get(&admin.token, &labels).await;
    assert_eq!(body["payload"], json!(["refund"]));

    let cis = format!("{}/contact_inboxes", contact(&admin, id));
    let (st, body) = s
        .post(
            &admin.token,
            &cis,
            json!({"inbox_id": api.id, "source_id": "crm-user-9"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["source_id"], "crm-user-9");
    assert_eq!(body["contact_id"], id);
    assert_eq!(body["inbox"]["id"], api.id);
    assert_eq!(body["inbox"]["name"], "CRM");
    let (st, body) = s
        .post(&admin.token, &cis, json!({"inbox_id": site.id}))
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert!(body["source_id"].as_str().unwrap().len() >= 16);
    let (_, shown) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(
        shown["payload"]["contact_inboxes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        shown["payload"]["contact_inboxes"][0]["source_id"],
        "crm-user-9"
    );
    // The agent-given source id works as the contact's Client API identifier.
    let (st, pub_c) = s
        .call(
            Method::GET,
            None,
            &format!(
                "/public/api/v1/inboxes/{}/contacts/crm-user-9",
                api.identifier
            ),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(pub_c["id"], id);

    // The list renders identities too (one query for the page).
    let (_, list) = s.get(&admin.token, &contacts(&admin)).await;
    assert_eq!(
        list["payload"][0]["contact_inboxes"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn bad_input_on_create(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let other = s.admin("Other").await;
    let foreign_inbox = inbox(s, other.account_id, "Their site", false).await;
    create(
        s,
        &admin,
        json!({"name": "Existing", "email": "taken@x.test", "identifier": "crm-1"}),
    )
    .await;
    let before = snapshot(s, &admin).await;
    let path = contacts(&admin);

    let (st, body) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &path,
            "application/json",
            b"{\"name\":".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");
    let (st, body) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &path,
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_error(st, &body, 415, "unsupported_media_type");
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
    let (st, body) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &path,
            "application/json",
            big.into_bytes(),
        )
        .await;
    assert_error(st, &body, 413, "payload_too_large");

    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (json!({"name": 123}), 422, "invalid_request", None),
        (json!({"inbox_id": "one"}), 422, "invalid_request", None),
        (json!({"blocked": "yes"}), 422, "invalid_request", None),
        (json!([1, 2]), 422, "invalid_request", None),
        (
            json!({"email": "not-an-email"}),
            422,
            "invalid_field",
            Some("email"),
        ),
        (
            json!({"phone_number": "call me"}),
            422,
            "invalid_field",
            Some("phone_number"),
        ),
        (
            json!({"name": "x".repeat(256)}),
            422,
            "invalid_field",
            Some("name"),
        ),
        (
            json!({"identifier": "x".repeat(256)}),
            422,
            "invalid_field",
            Some("identifier"),
        ),
        (
            json!({"avatar_url": "javascript:alert(1)"}),
            422,
            "invalid_field",
            Some("avatar_url"),
        ),
        (
            json!({"custom_attributes": [1]}),
            422,
            "invalid_field",
            Some("custom_attributes"),
        ),
        (
            json!({"additional_attributes": "x"}),
            422,
            "invalid_field",
            Some("additional_attributes"),
        ),
        (
            json!({"custom_attributes": {"k": "v".repeat(17 * 1024)}}),
            422,
            "invalid_field",
            Some("custom_attributes"),
        ),
        (
            json!({"name": "X", "inbox_id": 999_999}),
            422,
            "invalid_field",
            Some("inbox_id"),
        ),
        (
            json!({"name": "X", "inbox_id": foreign_inbox.id}),
            422,
            "invalid_field",
            Some("inbox_id"),
        ),
        (
            json!({"name": "Dup", "email": "TAKEN@x.test"}),
            422,
            "invalid_field",
            Some("email"),
        ),
        (
            json!({"name": "Dup", "identifier": "crm-1"}),
            422,
            "invalid_field",
            Some("identifier"),
        ),
    ];
    for (body_in, status, code, field) in cases {
        let (st, body) = s.post(&admin.token, &path, body_in.clone()).await;
        assert_error(st, &body, status, code);
        if let Some(f) = field {
            assert_eq!(body["error"]["field"], f, "input {body_in}: {body}");
        }
    }
    let (st, body) = s
        .post(
            &admin.token,
            &path,
            json!({"name": "Dup", "email": "taken@x.test"}),
        )
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already been taken"),
        "{st} {body}"
    );
    assert_eq!(snapshot(s, &admin).await, before, "nothing was created");
}

async fn bad_input_on_update_labels_and_contact_inboxes(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let site = inbox(s, admin.account_id, "Site", false).await;
    let other = s.admin("Other").await;
    let foreign_inbox = inbox(s, other.account_id, "Their site", false).await;
    create(
        s,
        &admin,
        json!({"name": "Other", "email": "taken@x.test", "identifier": "crm-2"}),
    )
    .await;
    let c = create(
        s,
        &admin,
        json!({"name": "Ivan", "email": "ivan@x.test", "custom_attributes": {"a": 1}}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    let path = contact(&admin, id);
    let labels = format!("{path}/labels");
    let cis = format!("{path}/contact_inboxes");
    s.post(&admin.token, &labels, json!({"labels": ["vip"]}))
        .await;
    s.post(
        &admin.token,
        &cis,
        json!({"inbox_id": site.id, "source_id": "src-1"}),
    )
    .await;
    let before = snapshot(s, &admin).await;

    for method in [Method::PUT, Method::PATCH] {
        let (st, body) = s
            .raw(
                method.clone(),
                Some(&admin.token),
                &path,
                "application/json",
                b"{,}".to_vec(),
            )
            .await;
        assert_error(st, &body, 400, "malformed_json");
        let cases: Vec<(Value, u16, &str)> = vec![
            (json!({"name": ["x"]}), 422, "invalid_request"),
            (json!({"blocked": 1}), 422, "invalid_request"),
            (json!({"email": "bad@"}), 422, "invalid_field"),
            (json!({"email": "taken@x.test"}), 422, "invalid_field"),
            (json!({"identifier": "crm-2"}), 422, "invalid_field"),
            (json!({"phone_number": "12"}), 422, "invalid_field"),
            (json!({"name": "n".repeat(300)}), 422, "invalid_field"),
            (json!({"custom_attributes": 5}), 422, "invalid_field"),
            (
                json!({"name": "Changed", "email": "still bad"}),
                422,
                "invalid_field",
            ),
        ];
        for (input, status, code) in cases {
            let (st, body) = s
                .call(
                    method.clone(),
                    Some(&admin.token),
                    &path,
                    Some(input.clone()),
                )
                .await;
            assert_error(st, &body, status, code);
        }
    }
    let (st, body) = s
        .put(
            &admin.token,
            &contact(&admin, 999_999),
            json!({"name": "X"}),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .raw(
            Method::PUT,
            Some(&admin.token),
            &format!("/api/v1/accounts/{}/contacts/abc", admin.account_id),
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "invalid_path");

    // Labels: the whole set is refused when one title is bad.
    for input in [
        json!({}),
        json!({"labels": "vip"}),
        json!({"labels": [1]}),
        json!({"labels": ["ok", "not ok"]}),
        json!({"labels": ["x".repeat(65)]}),
        json!({"labels": (0..101).map(|i| format!("l{i}")).collect::<Vec<_>>()}),
    ] {
        let (st, body) = s.post(&admin.token, &labels, input.clone()).await;
        assert_eq!(st.as_u16(), 422, "{input}: {body}");
    }
    let (st, body) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &labels,
            "application/json",
            b"[".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");

    // Contact inboxes.
    for (input, code) in [
        (json!({}), "invalid_request"),
        // A string of digits is an id (as Chatwoot's clients send it); anything else is not.
        (json!({"inbox_id": "abc"}), "invalid_request"),
        (json!({"inbox_id": "1.5"}), "invalid_request"),
        (json!({"inbox_id": 999_999}), "invalid_field"),
        (json!({"inbox_id": foreign_inbox.id}), "invalid_field"),
        (
            json!({"inbox_id": site.id, "source_id": "src-1"}),
            "invalid_field",
        ),
        (
            json!({"inbox_id": site.id, "source_id": "s".repeat(256)}),
            "invalid_field",
        ),
    ] {
        let (st, body) = s.post(&admin.token, &cis, input.clone()).await;
        assert_error(st, &body, 422, code);
    }
    let (st, body) = s
        .raw(
            Method::POST,
            Some(&admin.token),
            &cis,
            "application/json",
            b"nope".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");

    assert_eq!(snapshot(s, &admin).await, before, "nothing changed");
}

async fn roles_read_write_but_only_admins_delete(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Olga", Role::Agent).await;
    let supervisor = s.member(admin.account_id, "Sveta", Role::Supervisor).await;
    let c = create(s, &admin, json!({"name": "Ivan", "email": "i@x.test"})).await;
    let id = c["id"].as_i64().unwrap();

    for who in [&agent, &supervisor] {
        let (st, _) = s.get(&who.token, &contacts(&admin)).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = s.get(&who.token, &contact(&admin, id)).await;
        assert_eq!(st, StatusCode::OK);
        let (st, body) = s
            .put(
                &who.token,
                &contact(&admin, id),
                json!({"custom_attributes": {"seen_by": who.user_id}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let (st, body) = s.delete(&who.token, &contact(&admin, id)).await;
        assert_error(st, &body, 403, "forbidden");
    }
    let (st, _) = s
        .post(
            &agent.token,
            &contacts(&admin),
            json!({"name": "By agent", "email": "a@x.test"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(st, StatusCode::OK, "still there after refused deletes");
    let (st, _) = s.delete(&admin.token, &contact(&admin, id)).await;
    assert_eq!(st, StatusCode::OK);

    // No token at all.
    let (st, body) = s.call(Method::GET, None, &contacts(&admin), None).await;
    assert_error(st, &body, 401, "unauthorized");
}

async fn other_accounts_get_404_everywhere(s: &TestServer) {
    let a = s.admin("Shop A").await;
    let b = s.admin("Shop B").await;
    let site_a = inbox(s, a.account_id, "A site", false).await;
    let site_b = inbox(s, b.account_id, "B site", false).await;
    let c = create(
        s,
        &a,
        json!({"name": "A's customer", "email": "c@a.test", "inbox_id": site_a.id}),
    )
    .await;
    let id = c["id"].as_i64().unwrap();
    s.post(
        &a.token,
        &format!("{}/labels", contact(&a, id)),
        json!({"labels": ["vip"]}),
    )
    .await;
    let before = snapshot(s, &a).await;

    // B's token on A's account paths: the account itself is hidden.
    let a_paths: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, contacts(&a), None),
        (Method::POST, contacts(&a), Some(json!({"name": "x"}))),
        (Method::GET, format!("{}/search?q=c", contacts(&a)), None),
        (Method::GET, contact(&a, id), None),
        (Method::PUT, contact(&a, id), Some(json!({"name": "x"}))),
        (Method::PATCH, contact(&a, id), Some(json!({"name": "x"}))),
        (Method::DELETE, contact(&a, id), None),
        (Method::GET, format!("{}/labels", contact(&a, id)), None),
        (
            Method::GET,
            format!("{}/conversations", contact(&a, id)),
            None,
        ),
        (
            Method::POST,
            format!("{}/labels", contact(&a, id)),
            Some(json!({"labels": []})),
        ),
        (
            Method::POST,
            format!("{}/contact_inboxes", contact(&a, id)),
            Some(json!({"inbox_id": site_b.id})),
        ),
    ];
    for (m, p, body) in &a_paths {
        let (st, res) = s.call(m.clone(), Some(&b.token), p, body.clone()).await;
        assert_error(st, &res, 404, "not_found");
    }
    // A's contact id under B's own account path: not found either.
    let b_paths: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, contact(&b, id), None),
        (Method::PUT, contact(&b, id), Some(json!({"name": "x"}))),
        (Method::PATCH, contact(&b, id), Some(json!({"name": "x"}))),
        (Method::DELETE, contact(&b, id), None),
        (Method::GET, format!("{}/labels", contact(&b, id)), None),
        (
            Method::GET,
            format!("{}/conversations", contact(&b, id)),
            None,
        ),
        (
            Method::POST,
            format!("{}/labels", contact(&b, id)),
            Some(json!({"labels": []})),
        ),
        (
            Method::POST,
            format!("{}/contact_inboxes", contact(&b, id)),
            Some(json!({"inbox_id": site_b.id})),
        ),
    ];
    for (m, p, body) in &b_paths {
        let (st, res) = s.call(m.clone(), Some(&b.token), p, body.clone()).await;
        assert_error(st, &res, 404, "not_found");
    }
    // B cannot attach its contacts to A's inbox, nor find A's contacts by search.
    let (st, res) = s
        .post(
            &b.token,
            &contacts(&b),
            json!({"name": "x", "inbox_id": site_a.id}),
        )
        .await;
    assert_error(st, &res, 422, "invalid_field");
    let (_, res) = s
        .get(&b.token, &format!("{}/search?q=c%40a.test", contacts(&b)))
        .await;
    assert_eq!(res["meta"]["count"], 0);
    let (_, res) = s.get(&b.token, &contacts(&b)).await;
    assert_eq!(res["meta"]["count"], 0);

    assert_eq!(snapshot(s, &a).await, before, "A's data is unchanged");
}

fn pub_contacts(inbox: &Inbox) -> String {
    format!("/public/api/v1/inboxes/{}/contacts", inbox.identifier)
}

async fn public_contact_lifecycle_and_isolation(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let x = inbox(s, admin.account_id, "Site X", false).await;
    let y = inbox(s, admin.account_id, "Site Y", false).await;
    let other = s.admin("Other").await;
    let z = inbox(s, other.account_id, "Other site", false).await;

    let (st, v1) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&x),
            Some(json!({"name": "Visitor One", "email": "one@v.test", "custom_attributes": {"page": "/cart"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v1}");
    for field in [
        "id",
        "source_id",
        "name",
        "email",
        "phone_number",
        "pubsub_token",
    ] {
        assert!(v1.get(field).is_some(), "missing {field}: {v1}");
    }
    assert_eq!(v1["name"], "Visitor One");
    assert_eq!(v1["email"], "one@v.test");
    let src1 = v1["source_id"].as_str().unwrap().to_string();
    let token1 = v1["pubsub_token"].as_str().unwrap().to_string();
    assert!(src1.len() >= 16 && token1.len() >= 16 && src1 != token1);

    let (st, v2) = s
        .call(Method::POST, None, &pub_contacts(&x), Some(json!({})))
        .await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    let src2 = v2["source_id"].as_str().unwrap().to_string();
    assert_ne!(
        v2["id"], v1["id"],
        "each anonymous visitor is their own contact"
    );
    assert_ne!(src2, src1);
    assert_eq!(v2["name"], Value::Null);

    // Each visitor reads exactly their own contact.
    let (st, me) = s
        .call(
            Method::GET,
            None,
            &format!("{}/{src1}", pub_contacts(&x)),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["id"], v1["id"]);
    assert_eq!(me["source_id"], src1.as_str());
    assert_eq!(me["pubsub_token"], token1.as_str());
    let (_, me2) = s
        .call(
            Method::GET,
            None,
            &format!("{}/{src2}", pub_contacts(&x)),
            None,
        )
        .await;
    assert_eq!(me2["id"], v2["id"]);

    // The identifier of inbox X means nothing under inbox Y or another account's inbox.
    for wrong in [&y, &z] {
        let (st, body) = s
            .call(
                Method::GET,
                None,
                &format!("{}/{src1}", pub_contacts(wrong)),
                None,
            )
            .await;
        assert_error(st, &body, 404, "not_found");
        let (st, body) = s
            .call(
                Method::PATCH,
                None,
                &format!("{}/{src1}", pub_contacts(wrong)),
                Some(json!({"name": "Hijacked"})),
            )
            .await;
        assert_error(st, &body, 404, "not_found");
    }
    let (st, body) = s
        .call(
            Method::GET,
            None,
            &format!("{}/not-a-visitor", pub_contacts(&x)),
            None,
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .call(
            Method::POST,
            None,
            "/public/api/v1/inboxes/no-such-inbox/contacts",
            Some(json!({})),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, _) = s
        .call(
            Method::GET,
            None,
            &format!("{}/{}", pub_contacts(&x), "a".repeat(300)),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Update one's own contact; the agent sees it, the other visitor is untouched.
    let (st, up) = s
        .call(
            Method::PATCH,
            None,
            &format!("{}/{src1}", pub_contacts(&x)),
            Some(json!({"name": "Visitor Uno", "phone_number": "+7 900 000-00-01", "custom_attributes": {"plan": "trial"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{up}");
    assert_eq!(up["name"], "Visitor Uno");
    assert_eq!(up["phone_number"], "+7 900 000-00-01");
    assert_eq!(up["email"], "one@v.test");
    assert_eq!(up["source_id"], src1.as_str());
    let (_, agent_view) = s
        .get(&admin.token, &contact(&admin, v1["id"].as_i64().unwrap()))
        .await;
    assert_eq!(agent_view["payload"]["name"], "Visitor Uno");
    assert_eq!(
        agent_view["payload"]["custom_attributes"],
        json!({"page": "/cart", "plan": "trial"})
    );
    assert_eq!(
        agent_view["payload"]["contact_inboxes"][0]["source_id"],
        src1.as_str()
    );
    assert_eq!(
        agent_view["payload"]["contact_inboxes"][0]["inbox"]["id"],
        x.id
    );
    let (_, still) = s
        .call(
            Method::GET,
            None,
            &format!("{}/{src2}", pub_contacts(&x)),
            None,
        )
        .await;
    assert_eq!(still["name"], Value::Null);
    // Nothing landed in the other account.
    let (_, theirs) = s.get(&other.token, &contacts(&other)).await;
    assert_eq!(theirs["meta"]["count"], 0);
}

async fn public_hmac_identity(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let strict = inbox(s, admin.account_id, "Strict", true).await;
    let lax = inbox(s, admin.account_id, "Lax", false).await;
    let before = snapshot(s, &admin).await;

    // Mandatory HMAC: no hash, a wrong hash, a hash of another identifier — all refused.
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&strict),
            Some(json!({"identifier": HMAC_DATA})),
        )
        .await;
    assert_error(st, &body, 401, "identifier_hash_required");
    let wrong = HMAC_HEX.replace('5', "6");
    for (ident, hash) in [
        (HMAC_DATA, wrong.as_str()),
        (HMAC_DATA, "not hex"),
        ("someone-else", HMAC_HEX),
        (HMAC_DATA, ""),
    ] {
        let (st, body) = s
            .call(
                Method::POST,
                None,
                &pub_contacts(&strict),
                Some(json!({"identifier": ident, "identifier_hash": hash, "name": "Mallory"})),
            )
            .await;
        let want = if hash.is_empty() {
            "identifier_hash_required"
        } else {
            "invalid_identifier_hash"
        };
        assert_error(st, &body, 401, want);
    }
    // A wrong hash is refused even where HMAC is optional.
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&lax),
            Some(json!({"identifier": HMAC_DATA, "identifier_hash": wrong})),
        )
        .await;
    assert_error(st, &body, 401, "invalid_identifier_hash");
    let (st, body) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&lax),
            Some(json!({"identifier_hash": HMAC_HEX})),
        )
        .await;
    assert_error(st, &body, 422, "invalid_field");
    assert_eq!(
        snapshot(s, &admin).await,
        before,
        "refused requests create nothing"
    );

    // The right hash creates the contact with the identifier, verified...
    let (st, first) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&strict),
            Some(json!({"identifier": HMAC_DATA, "identifier_hash": HMAC_HEX, "name": "Maria", "email": "maria@v.test"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{first}");
    let id = first["id"].as_i64().unwrap();
    let (_, agent_view) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(agent_view["payload"]["identifier"], HMAC_DATA);
    assert_eq!(
        agent_view["payload"]["contact_inboxes"][0]["hmac_verified"],
        true
    );

    // ...and a second device (another inbox of the account, upper-case hex) reuses it.
    let (st, second) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&lax),
            Some(json!({"identifier": HMAC_DATA, "identifier_hash": HMAC_HEX.to_uppercase(), "phone_number": "+7 900 111-22-33"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{second}");
    assert_eq!(second["id"], id, "same contact across devices");
    assert_ne!(second["source_id"], first["source_id"]);
    assert_eq!(second["name"], "Maria");
    assert_eq!(second["phone_number"], "+7 900 111-22-33");
    let (st, third) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&strict),
            Some(json!({"identifier": HMAC_DATA, "identifier_hash": HMAC_HEX})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(third["id"], id);
    let (_, agent_view) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(
        agent_view["payload"]["contact_inboxes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Claiming the identifier without a hash (optional-HMAC inbox) never reaches Maria.
    let (st, imposter) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&lax),
            Some(json!({"identifier": HMAC_DATA, "name": "Imposter"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{imposter}");
    assert_ne!(imposter["id"], id);
    assert_eq!(imposter["email"], Value::Null);
    let (_, iv) = s
        .get(
            &admin.token,
            &contact(&admin, imposter["id"].as_i64().unwrap()),
        )
        .await;
    assert_eq!(iv["payload"]["identifier"], Value::Null);
    assert_eq!(
        iv["payload"]["additional_attributes"]["unverified_identifier"],
        HMAC_DATA
    );
    assert_eq!(iv["payload"]["contact_inboxes"][0]["hmac_verified"], false);
    let (_, maria) = s.get(&admin.token, &contact(&admin, id)).await;
    assert_eq!(maria["payload"]["name"], "Maria");
}

async fn public_bad_input_and_claimed_email(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let site = inbox(s, admin.account_id, "Site", false).await;
    let customer = create(
        s,
        &admin,
        json!({"name": "Real customer", "email": "vip@x.test"}),
    )
    .await;
    let (st, v) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&site),
            Some(json!({"name": "Visitor"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let me = format!(
        "{}/{}",
        pub_contacts(&site),
        v["source_id"].as_str().unwrap()
    );
    let before = snapshot(s, &admin).await;

    let (st, body) = s
        .raw(
            Method::POST,
            None,
            &pub_contacts(&site),
            "application/json",
            b"{\"name\"".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");
    let (st, body) = s
        .raw(
            Method::PATCH,
            None,
            &me,
            "application/json",
            b"{\"name\"".to_vec(),
        )
        .await;
    assert_error(st, &body, 400, "malformed_json");
    for input in [
        json!({"name": 5}),
        json!({"custom_attributes": "x"}),
        json!({"email": "no"}),
        json!({"phone_number": "letters"}),
        json!({"name": "x".repeat(256)}),
        json!({"identifier": "x".repeat(256)}),
    ] {
        let (st, body) = s
            .call(
                Method::POST,
                None,
                &pub_contacts(&site),
                Some(input.clone()),
            )
            .await;
        assert_eq!(st.as_u16(), 422, "{input}: {body}");
        if input.get("identifier").is_none() {
            let (st, body) = s.call(Method::PATCH, None, &me, Some(input.clone())).await;
            assert_eq!(st.as_u16(), 422, "{input}: {body}");
        }
    }
    assert_eq!(snapshot(s, &admin).await, before, "nothing changed");

    // A visitor typing a customer's e-mail gets their own contact, learns nothing, and
    // the agent still sees what they typed.
    let (st, claim) = s
        .call(
            Method::POST,
            None,
            &pub_contacts(&site),
            Some(json!({"name": "Claimer", "email": "VIP@x.test"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{claim}");
    assert_ne!(claim["id"], customer["id"]);
    assert_eq!(claim["email"], Value::Null);
    let (_, cv) = s
        .get(
            &admin.token,
            &contact(&admin, claim["id"].as_i64().unwrap()),
        )
        .await;
    assert_eq!(
        cv["payload"]["additional_attributes"]["unverified_email"],
        "vip@x.test"
    );
    let (st, patched) = s
        .call(
            Method::PATCH,
            None,
            &me,
            Some(json!({"email": "vip@x.test"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{patched}");
    assert_eq!(patched["email"], Value::Null);
    let (_, real) = s
        .get(
            &admin.token,
            &contact(&admin, customer["id"].as_i64().unwrap()),
        )
        .await;
    assert_eq!(real["payload"]["email"], "vip@x.test");
    assert_eq!(real["payload"]["name"], "Real customer");
}

async fn contact_conversations_visible_and_scoped(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let agent = s.member(admin.account_id, "Olga", Role::Agent).await;
    let other = s.admin("Other").await;
    let site = inbox(s, admin.account_id, "Site", false).await;
    let c1 = create(
        s,
        &admin,
        json!({"name": "One", "email": "one@x.test", "inbox_id": site.id}),
    )
    .await;
    let c2 = create(
        s,
        &admin,
        json!({"name": "Two", "email": "two@x.test", "inbox_id": site.id}),
    )
    .await;
    let id1 = c1["id"].as_i64().unwrap();
    let conversations = format!("/api/v1/accounts/{}/conversations", admin.account_id);
    let mut display_ids = Vec::new();
    for (contact_id, text) in [
        (id1, "first"),
        (id1, "second"),
        (c2["id"].as_i64().unwrap(), "other"),
    ] {
        let (st, conv) = s
            .post(
                &admin.token,
                &conversations,
                json!({"inbox_id": site.id, "contact_id": contact_id, "message": {"content": text}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{conv}");
        display_ids.push(conv["id"].as_i64().unwrap());
    }

    let path = format!("{}/conversations", contact(&admin, id1));
    let (st, body) = s.get(&admin.token, &path).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let list = body["payload"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    let mut ids: Vec<i64> = list.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, display_ids[..2]);
    for conv in list {
        assert_eq!(conv["meta"]["sender"]["id"], id1);
        assert_eq!(conv["inbox_id"], site.id);
        assert_eq!(conv["status"], "open");
    }
    // An agent who is not a member of the inbox sees none of them.
    let (st, body) = s.get(&agent.token, &path).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["payload"], json!([]));
    // Other accounts and unknown contacts: 404.
    let (st, body) = s.get(&other.token, &path).await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .get(
            &other.token,
            &format!("{}/conversations", contact(&other, id1)),
        )
        .await;
    assert_error(st, &body, 404, "not_found");
    let (st, body) = s
        .get(
            &admin.token,
            &format!("{}/conversations", contact(&admin, 999_999)),
        )
        .await;
    assert_error(st, &body, 404, "not_found");

    // Deleting the contact deletes its conversations, not the other contact's.
    let (st, _) = s.delete(&admin.token, &contact(&admin, id1)).await;
    assert_eq!(st, StatusCode::OK);
    for (i, d) in display_ids.iter().enumerate() {
        let (st, _) = s.get(&admin.token, &format!("{conversations}/{d}")).await;
        let want = if i < 2 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(st, want, "conversation {d}");
    }
}

async fn openapi_documents_contact_routes(s: &TestServer) {
    let (st, doc) = s.call(Method::GET, None, "/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    let paths = &doc["paths"];
    for (path, methods) in [
        (
            "/api/v1/accounts/{account_id}/contacts",
            &["get", "post"][..],
        ),
        ("/api/v1/accounts/{account_id}/contacts/search", &["get"]),
        (
            "/api/v1/accounts/{account_id}/contacts/{id}",
            &["get", "put", "patch", "delete"],
        ),
        (
            "/api/v1/accounts/{account_id}/contacts/{id}/labels",
            &["get", "post"],
        ),
        (
            "/api/v1/accounts/{account_id}/contacts/{id}/contact_inboxes",
            &["post"],
        ),
        (
            "/api/v1/accounts/{account_id}/contacts/{id}/conversations",
            &["get"],
        ),
        (
            "/public/api/v1/inboxes/{inbox_identifier}/contacts",
            &["post"],
        ),
        (
            "/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}",
            &["get", "patch"],
        ),
    ] {
        for m in methods {
            let op = &paths[path][*m];
            assert!(op.is_object(), "{m} {path} is not documented");
            let tag = op["tags"][0].as_str().unwrap_or_default();
            let want = if path.starts_with("/public") {
                "Client API"
            } else {
                "Contacts"
            };
            assert_eq!(tag, want, "{m} {path}");
        }
    }
    assert!(doc["components"]["schemas"]["ContactView"].is_object());
}
