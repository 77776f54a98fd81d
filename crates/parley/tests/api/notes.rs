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

// --- @mentions in private notes (issue 13) ---------------------------------------------------

mod mentions {
    use super::common::smtp::SmtpSink;
    use super::common::ws::{Visitor, WsClient, api_inbox};
    use super::common::{Actor, TestServer, assert_error};
    use parley_core::Role;
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    crate::both_backends!(mentions_notify_who_can_see_the_conversation);

    fn tag(who: &Actor, name: &str) -> String {
        format!("[@{name}](mention://user/{}/{name})", who.user_id)
    }

    async fn add_member(s: &TestServer, admin: &Actor, inbox: i64, who: &Actor) {
        let (st, b) = s
            .post(
                &admin.token,
                &format!("/api/v1/accounts/{}/inbox_members", admin.account_id),
                json!({"inbox_id": inbox, "user_ids": [who.user_id]}),
            )
            .await;
        assert!(st.is_success(), "{st} {b}");
    }

    async fn note(s: &TestServer, who: &Actor, conv: i64, content: &str, private: bool) -> Value {
        let (st, m) = s
            .post(
                &who.token,
                &format!(
                    "/api/v1/accounts/{}/conversations/{conv}/messages",
                    who.account_id
                ),
                json!({"content": content, "private": private}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{m}");
        m
    }

    async fn notifications(s: &TestServer, who: &Actor) -> Value {
        let (st, n) = s
            .get(
                &who.token,
                &format!("/api/v1/accounts/{}/notifications", who.account_id),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{n}");
        n["data"].clone()
    }

    async fn mention_list(s: &TestServer, who: &Actor) -> Vec<i64> {
        let (st, l) = s
            .get(
                &who.token,
                &format!(
                    "/api/v1/accounts/{}/conversations?status=all&conversation_type=mention",
                    who.account_id
                ),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{l}");
        l["data"]["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    }

    async fn socket(s: &TestServer, who: &Actor) -> WsClient {
        let mut ws = WsClient::agent(s, who, None).await;
        ws.until_ready().await;
        ws
    }

    /// Reads frames up to the `message.created` of message `id` and returns the events
    /// named `name` seen before it.
    async fn seen_before(ws: &mut WsClient, id: i64, name: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let v = ws.json().await;
            if v["event"] == "message.created" && v["data"]["id"] == id {
                return seen;
            }
            if v["event"] == name {
                seen.push(v);
            }
        }
    }

    async fn mentions_notify_who_can_see_the_conversation(s: &TestServer) {
        let admin = s.admin("Shop").await;
        let anna = s.member(admin.account_id, "Anna", Role::Agent).await;
        let boris = s.member(admin.account_id, "Boris", Role::Agent).await;
        let carl = s.member(admin.account_id, "Carl", Role::Agent).await;
        let dina = s.member(admin.account_id, "Dina", Role::Agent).await;
        let (sales, sales_ident) = api_inbox(s, &admin, "Sales").await;
        let (other, other_ident) = api_inbox(s, &admin, "Other").await;
        for who in [&anna, &boris, &dina] {
            add_member(s, &admin, sales, who).await;
        }
        add_member(s, &admin, other, &carl).await;
        let stranger = s.admin("Elsewhere").await;
        let conv = Visitor::new(s, &sales_ident).await.conversation_id;
        let conv2 = Visitor::new(s, &other_ident).await.conversation_id;
        let base = format!("/api/v1/accounts/{}", admin.account_id);

        // The autocomplete offers exactly who can see the conversation's inbox.
        let (st, agents) = s
            .get(
                &anna.token,
                &format!("{base}/assignable_agents?inbox_ids[]={sales}"),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{agents}");
        let mut offered: Vec<i64> = agents["payload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_i64().unwrap())
            .collect();
        offered.sort();
        let mut want = vec![admin.user_id, anna.user_id, boris.user_id, dina.user_id];
        want.sort();
        assert_eq!(offered, want);
        assert!(agents["payload"][0].get("email").is_none(), "{agents}");
        // An inbox Anna cannot see reads as missing; no inbox at all is a 422.
        let (st, b) = s
            .get(
                &anna.token,
                &format!("{base}/assignable_agents?inbox_ids[]={other}"),
            )
            .await;
        assert_error(st, &b, 404, "not_found");
        let (st, _) = s
            .get(&anna.token, &format!("{base}/assignable_agents"))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

        let mut ws_boris = socket(s, &boris).await;
        let mut ws_carl = socket(s, &carl).await;
        let mut ws_dina = socket(s, &dina).await;

        // Anna mentions Boris, Carl (no access to Sales), herself, a user of another
        // account and an id that does not exist.
        let text = format!(
            "{} {} {} {} [@Ghost](mention://user/999999/Ghost) please check",
            tag(&boris, "Boris"),
            tag(&carl, "Carl"),
            tag(&anna, "Anna"),
            tag(&stranger, "Stranger")
        );
        let m = note(s, &anna, conv, &text, true).await;
        assert_eq!(m["content"], text.as_str(), "the note is stored as written");
        let mid = m["id"].as_i64().unwrap();
        let stored = s.store().mentions_of_message(mid).await.unwrap();
        assert_eq!(
            stored,
            vec![boris.user_id],
            "only Boris can be mentioned here"
        );

        // Boris gets Chatwoot's event with the conversation as its payload.
        let ev = ws_boris.until("conversation.mentioned").await;
        assert_eq!(ev["data"]["id"], conv, "{ev}");
        assert_eq!(ev["data"]["inbox_id"], sales, "{ev}");
        // Dina sees the note but was not mentioned: no event for her up to a later note
        // (the mention's event follows the note's own `message.created`).
        let marker = note(s, &admin, conv, "marker", true).await;
        let marker = marker["id"].as_i64().unwrap();
        assert!(
            seen_before(&mut ws_dina, marker, "conversation.mentioned")
                .await
                .is_empty()
        );

        // Carl's first mention event is the one of a conversation he can see.
        let m2 = note(
            s,
            &admin,
            conv2,
            &format!("{} hi", tag(&carl, "Carl")),
            true,
        )
        .await;
        let ev = ws_carl.until("conversation.mentioned").await;
        assert_eq!(
            ev["data"]["id"], conv2,
            "no event of the Sales note reached Carl: {ev}"
        );
        let _ = m2;

        // Notifications: Boris has one unread; Carl has only the one he may see; Dina,
        // Anna and the stranger have none.
        let n = notifications(s, &boris).await;
        assert_eq!(n["meta"]["unread_count"], 1, "{n}");
        let item = &n["payload"][0];
        assert_eq!(item["notification_type"], "conversation_mention");
        assert_eq!(item["primary_actor_type"], "Conversation");
        assert_eq!(item["primary_actor_id"], conv);
        assert_eq!(item["secondary_actor"]["id"], anna.user_id);
        assert!(item["read_at"].is_null());
        assert!(
            item["excerpt"]
                .as_str()
                .unwrap()
                .starts_with("@Boris @Carl"),
            "{item}"
        );
        let carl_n = notifications(s, &carl).await;
        assert_eq!(carl_n["meta"]["count"], 1, "{carl_n}");
        assert_eq!(carl_n["payload"][0]["primary_actor_id"], conv2);
        for who in [&dina, &anna] {
            assert_eq!(notifications(s, who).await["meta"]["count"], 0);
        }
        assert_eq!(notifications(s, &stranger).await["meta"]["count"], 0);

        // The Mentions filter lists the conversation for Boris only.
        assert_eq!(mention_list(s, &boris).await, vec![conv]);
        assert!(mention_list(s, &dina).await.is_empty());
        assert_eq!(mention_list(s, &carl).await, vec![conv2]);
        let (st, b) = s
            .get(
                &boris.token,
                &format!("{base}/conversations?conversation_type=bogus"),
            )
            .await;
        assert_error(st, &b, 422, "invalid_field");

        // A public reply with the same markup mentions nobody.
        note(s, &anna, conv, &tag(&dina, "Dina"), false).await;
        assert_eq!(notifications(s, &dina).await["meta"]["count"], 0);
        // A retried note (same echo_id) notifies once.
        let path = format!("{base}/conversations/{conv}/messages");
        let body = json!({"content": tag(&dina, "Dina"), "private": true, "echo_id": "retry-1"});
        let (st, first) = s.post(&anna.token, &path, body.clone()).await;
        assert_eq!(st, StatusCode::OK, "{first}");
        let (st, again) = s.post(&anna.token, &path, body).await;
        assert_eq!(st, StatusCode::OK, "{again}");
        assert_eq!(first["id"], again["id"]);
        assert_eq!(notifications(s, &dina).await["meta"]["count"], 1);

        // Reading: another agent's notification id reads as missing and changes nothing.
        let nid = item["id"].as_i64().unwrap();
        let (st, b) = s
            .patch(
                &dina.token,
                &format!("{base}/notifications/{nid}"),
                json!({}),
            )
            .await;
        assert_error(st, &b, 404, "not_found");
        let (st, b) = s
            .patch(
                &stranger.token,
                &format!(
                    "/api/v1/accounts/{}/notifications/{nid}",
                    stranger.account_id
                ),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
        assert_eq!(notifications(s, &boris).await["meta"]["unread_count"], 1);
        let (st, b) = s
            .post(
                &boris.token,
                &format!("{base}/notifications/read_all"),
                json!({"primary_actor_type": "Inbox", "primary_actor_id": 1}),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let (st, count) = s
            .get(&boris.token, &format!("{base}/notifications/unread_count"))
            .await;
        assert_eq!((st, count), (StatusCode::OK, json!(1)));
        let (st, read) = s
            .patch(
                &boris.token,
                &format!("{base}/notifications/{nid}"),
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{read}");
        assert!(read["read_at"].as_i64().is_some(), "{read}");
        assert_eq!(notifications(s, &boris).await["meta"]["unread_count"], 0);

        // A second mention, read through the conversation.
        note(s, &admin, conv, &tag(&boris, "Boris"), true).await;
        assert_eq!(notifications(s, &boris).await["meta"]["unread_count"], 1);
        let (st, _) = s
            .post(
                &boris.token,
                &format!("{base}/notifications/read_all"),
                json!({"primary_actor_type": "Conversation", "primary_actor_id": conv}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(notifications(s, &boris).await["meta"]["unread_count"], 0);
        assert_eq!(notifications(s, &boris).await["meta"]["count"], 2);

        // Settings: Chatwoot's shape; an unknown flag is refused and changes nothing.
        let path = format!("{base}/notification_settings");
        let (st, set) = s.get(&boris.token, &path).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(set["selected_email_flags"], json!([]));
        assert_eq!(
            set["all_email_flags"],
            json!(["email_conversation_mention"])
        );
        let (st, b) = s
            .patch(
                &boris.token,
                &path,
                json!({"notification_settings": {"selected_email_flags": ["email_conversation_mention", "email_everything"]}}),
            )
            .await;
        assert_error(st, &b, 422, "invalid_field");
        let (st, b) = s
            .patch(
                &boris.token,
                &path,
                json!({"notification_settings": {"selected_email_flags": "x"}}),
            )
            .await;
        assert!(st.is_client_error(), "{st} {b}");
        assert_eq!(
            s.get(&boris.token, &path).await.1["selected_email_flags"],
            json!([])
        );
    }

    async fn server_with_mail(backend: usize, sink: &SmtpSink) -> Option<TestServer> {
        let url = sink.url();
        let tune = |c: &mut parley::Config| c.smtp_url = Some(url.as_str().into());
        match backend {
            0 => Some(TestServer::sqlite_with(tune).await),
            _ => TestServer::postgres_with(tune).await,
        }
    }

    /// An agent who chose e-mails for mentions gets one, in the inbox's language, linking
    /// to the conversation; an agent who did not gets none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mention_email_when_chosen() {
        for backend in 0..2 {
            let sink = SmtpSink::start().await;
            let Some(s) = server_with_mail(backend, &sink).await else {
                continue;
            };
            let admin = s.admin("Магазин").await;
            let boris = s.member(admin.account_id, "Boris", Role::Agent).await;
            let dina = s.member(admin.account_id, "Dina", Role::Agent).await;
            let (inbox, ident) = api_inbox(&s, &admin, "Сайт").await;
            let base = format!("/api/v1/accounts/{}", admin.account_id);
            let (st, b) = s
                .patch(
                    &admin.token,
                    &format!("{base}/inboxes/{inbox}"),
                    json!({"locale": "ru"}),
                )
                .await;
            assert!(st.is_success(), "{b}");
            for who in [&boris, &dina] {
                add_member(&s, &admin, inbox, who).await;
            }
            let (st, set) = s
                .patch(
                    &boris.token,
                    &format!("{base}/notification_settings"),
                    json!({"notification_settings": {"selected_email_flags": ["email_conversation_mention"]}}),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{set}");
            assert_eq!(
                set["selected_email_flags"],
                json!(["email_conversation_mention"])
            );
            let conv = Visitor::new(&s, &ident).await.conversation_id;
            let text = format!(
                "{} {} проверьте оплату",
                tag(&boris, "Boris"),
                tag(&dina, "Dina")
            );
            note(&s, &admin, conv, &text, true).await;
            note(
                &s,
                &admin,
                conv,
                &format!("{} ещё раз", tag(&boris, "Boris")),
                true,
            )
            .await;
            let got = sink.wait_for(2).await;
            assert!(
                got.iter().all(|m| m.to == vec![boris.email.clone()]),
                "only Boris: {:?}",
                got.iter().map(|m| &m.to).collect::<Vec<_>>()
            );
            let first = got
                .iter()
                .find(|m| m.text().contains("проверьте"))
                .expect("first mail");
            let subject = first.subject();
            assert!(subject.contains("упоминает вас"), "{subject}");
            assert!(subject.contains(&format!("#{conv}")), "{subject}");
            let body = first.text();
            assert!(body.contains("@Boris @Dina проверьте оплату"), "{body}");
            assert!(!body.contains("mention://"), "{body}");
            assert!(
                body.contains(&format!("/app/#/conversations/{conv}")),
                "{body}"
            );
            assert_eq!(sink.received().len(), 2);
            s.stop().await;
        }
    }
}
