//! Chatwoot field-name compatibility: every response object carries the field names that
//! Chatwoot's published schemas (`swagger/definitions/resource/*.yml`) define, each with a
//! compatible JSON type, so an unmodified Chatwoot client can read Parley's answers.
//!
//! Each resource has a list of Chatwoot's fields and an allowlist of the fields Parley
//! deliberately does not provide, each with its reason. An allowlisted field that later
//! appears fails the test too, so the allowlist stays honest. `docs/api.md` ("Chatwoot
//! compatibility") repeats the allowlists as a table.

use crate::common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_backends!(application_api_fields, client_api_fields);

/// A field name and the JSON types Chatwoot allows for it: `n` number, `s` string,
/// `b` bool, `o` object, `a` array, joined by `|`; a trailing `?` also allows `null`.
type Field = (&'static str, &'static str);
/// A Chatwoot field Parley deliberately leaves out, with the reason.
type Omitted = (&'static str, &'static str);

/// `message.yml`, plus `attachments` and `echo_id` that Chatwoot's message JSON carries.
const MESSAGE: &[Field] = &[
    ("id", "n"),
    ("content", "s?"),
    ("account_id", "n"),
    ("inbox_id", "n"),
    ("conversation_id", "n"),
    // The integer code (0 incoming, 1 outgoing, 2 activity, 3 template).
    ("message_type", "n"),
    ("created_at", "n"),
    ("updated_at", "n|s"),
    ("private", "b"),
    ("status", "s?"),
    ("source_id", "s?"),
    ("content_type", "s?"),
    ("content_attributes", "o"),
    ("sender_type", "s?"),
    ("sender_id", "n?"),
    ("external_source_ids", "o?"),
    ("additional_attributes", "o?"),
    ("processed_message_content", "s?"),
    ("sentiment", "o?"),
    ("conversation", "o?"),
    ("attachments", "a"),
    ("sender", "o?"),
    ("echo_id", "s?"),
];
const MESSAGE_OMITTED: &[Omitted] = &[
    (
        "external_source_ids",
        "ids in Slack and similar integrations, which Parley lacks",
    ),
    (
        "processed_message_content",
        "no message post-processing (translation, AI) in Parley",
    ),
    ("sentiment", "no sentiment analysis in Parley"),
    (
        "conversation",
        "not embedded; read the conversation through its own endpoint",
    ),
];

/// `public/message_attachment.yml`, the fields every file type has (location and contact
/// cards, which Parley lacks, add their own).
const ATTACHMENT: &[Field] = &[
    ("id", "n"),
    ("message_id", "n"),
    ("file_type", "s"),
    ("account_id", "n"),
    ("extension", "s?"),
    ("data_url", "s?"),
    ("thumb_url", "s"),
    ("file_size", "n"),
    ("width", "n?"),
    ("height", "n?"),
];
const ATTACHMENT_OMITTED: &[Omitted] = &[];

/// `conversation.yml` + `extension/contact/conversation.yml` (the list and show item).
const CONVERSATION: &[Field] = &[
    ("id", "n"),
    ("messages", "a"),
    ("account_id", "n"),
    ("inbox_id", "n"),
    ("status", "s"),
    ("timestamp", "n|s"),
    ("contact_last_seen_at", "n|s?"),
    ("agent_last_seen_at", "n|s?"),
    ("unread_count", "n"),
    ("additional_attributes", "o"),
    ("custom_attributes", "o"),
    ("meta", "o"),
];
const CONVERSATION_OMITTED: &[Omitted] = &[];

/// `extension/contact/conversation.yml`: the conversation's `meta`.
const CONVERSATION_META: &[Field] = &[("sender", "o"), ("assignee", "o?")];
const CONVERSATION_META_OMITTED: &[Omitted] = &[];

/// `extension/contact/conversation.yml`: `meta.sender`.
const CONVERSATION_META_SENDER: &[Field] = &[("id", "n"), ("name", "s?"), ("thumbnail", "s?")];
const CONVERSATION_META_SENDER_OMITTED: &[Omitted] = &[];

/// `extension/conversation/list.yml`: `data.meta` of the conversation list.
const CONVERSATION_LIST_META: &[Field] = &[
    ("mine_count", "n"),
    ("unassigned_count", "n"),
    ("all_count", "n"),
];

/// `contact.yml` (an item of `payload`).
const CONTACT: &[Field] = &[
    ("additional_attributes", "o"),
    ("availability_status", "s"),
    ("email", "s?"),
    ("id", "n"),
    ("name", "s?"),
    ("phone_number", "s?"),
    ("blocked", "b"),
    ("blocked_until", "s?"),
    ("identifier", "s?"),
    ("thumbnail", "s?"),
    ("custom_attributes", "o"),
    ("last_activity_at", "n?"),
    ("created_at", "n"),
];
const CONTACT_OMITTED: &[Omitted] = &[];

/// `contact_inboxes.yml`.
const CONTACT_INBOX: &[Field] = &[("source_id", "s"), ("inbox", "o")];
const CONTACT_INBOX_OMITTED: &[Omitted] = &[];

/// `inbox_contact.yml`: the inbox inside a contact identity.
const INBOX_CONTACT: &[Field] = &[
    ("id", "n"),
    ("avatar_url", "s?"),
    ("channel_id", "n"),
    ("name", "s"),
    ("channel_type", "s"),
    ("provider", "s?"),
];
const INBOX_CONTACT_OMITTED: &[Omitted] = &[
    (
        "avatar_url",
        "not carried in a contact identity; read it from the inbox",
    ),
    (
        "provider",
        "not carried in a contact identity; read it from the inbox",
    ),
];

/// `user.yml`: the profile.
const PROFILE: &[Field] = &[
    ("id", "n"),
    ("uid", "s"),
    ("name", "s"),
    ("available_name", "s"),
    ("display_name", "s?"),
    ("email", "s"),
    ("account_id", "n"),
    ("role", "s"),
    ("confirmed", "b"),
    ("accounts", "a"),
];
const PROFILE_OMITTED: &[Omitted] = &[];

/// `extension/conversation/status_toggle.yml`: `payload` of toggle_status.
const STATUS_TOGGLE: &[Field] = &[
    ("success", "b"),
    ("current_status", "s"),
    ("conversation_id", "n"),
];

/// `inbox.yml`.
const INBOX: &[Field] = &[
    ("id", "n"),
    ("name", "s"),
    ("website_url", "s?"),
    ("page_id", "s?"),
    ("instagram_id", "s?"),
    ("business_id", "s?"),
    ("profile_id", "s?"),
    ("line_channel_id", "s?"),
    ("email", "s?"),
    ("bot_name", "s?"),
    ("inbox_identifier", "s?"),
    ("channel_type", "s"),
    ("avatar_url", "s?"),
    ("widget_color", "s?"),
    ("website_token", "s?"),
    ("enable_auto_assignment", "b"),
    ("web_widget_script", "s?"),
    ("welcome_title", "s?"),
    ("welcome_tagline", "s?"),
    ("greeting_enabled", "b"),
    ("greeting_message", "s?"),
    ("channel_id", "n"),
    ("working_hours_enabled", "b"),
    ("enable_email_collect", "b"),
    ("csat_survey_enabled", "b"),
    ("auto_assignment_config", "o"),
    ("out_of_office_message", "s?"),
    ("working_hours", "a"),
    ("timezone", "s"),
    ("callback_webhook_url", "s?"),
    ("allow_messages_after_resolved", "b"),
    ("lock_to_single_conversation", "b"),
    ("sender_name_type", "s"),
    ("business_name", "s?"),
    ("branded_email_layout", "s?"),
    ("hmac_mandatory", "b"),
    ("selected_feature_flags", "a?"),
    // Chatwoot always has a value; Parley's is `null` until set on a website inbox (the
    // only channel with the setting).
    ("reply_time", "s?"),
    ("messaging_service_sid", "s?"),
    ("phone_number", "s?"),
    ("medium", "s?"),
    ("provider", "s?"),
];
const INBOX_OMITTED: &[Omitted] = &[
    ("page_id", "no Facebook channel"),
    ("instagram_id", "no Instagram channel"),
    ("business_id", "no TikTok channel"),
    ("profile_id", "no X channel"),
    ("line_channel_id", "no LINE channel"),
    ("messaging_service_sid", "no Twilio SMS channel"),
    ("phone_number", "no SMS or WhatsApp channel"),
    ("medium", "no Twilio channel (sms / whatsapp medium)"),
    (
        "callback_webhook_url",
        "no provider-callback channels (Twilio, WhatsApp, LINE)",
    ),
    (
        "selected_feature_flags",
        "the widget has no per-inbox feature flags",
    ),
    (
        "sender_name_type",
        "no friendly / professional sender-name setting",
    ),
    (
        "business_name",
        "no business name for professional sender names",
    ),
    (
        "branded_email_layout",
        "no branded e-mail layouts (Chatwoot Enterprise)",
    ),
];

/// `agent.yml`.
const AGENT: &[Field] = &[
    ("id", "n"),
    ("account_id", "n"),
    ("availability_status", "s"),
    ("auto_offline", "b"),
    ("confirmed", "b"),
    ("email", "s"),
    ("available_name", "s"),
    ("name", "s"),
    ("role", "s"),
    ("thumbnail", "s?"),
    ("custom_role_id", "n?"),
];
const AGENT_OMITTED: &[Omitted] = &[(
    "custom_role_id",
    "no custom roles (Chatwoot Enterprise); roles are administrator / supervisor / agent",
)];

/// `team.yml`.
const TEAM: &[Field] = &[
    ("id", "n"),
    ("name", "s"),
    ("description", "s?"),
    ("allow_auto_assign", "b"),
    ("account_id", "n"),
    ("is_member", "b"),
];
const TEAM_OMITTED: &[Omitted] = &[];

/// `label.yml`.
const LABEL: &[Field] = &[
    ("id", "n"),
    ("title", "s"),
    ("description", "s?"),
    ("color", "s"),
    ("show_on_sidebar", "b"),
];
const LABEL_OMITTED: &[Omitted] = &[];

/// `canned_response.yml`.
const CANNED_RESPONSE: &[Field] = &[
    ("id", "n"),
    ("account_id", "n"),
    ("short_code", "s"),
    ("content", "s"),
    ("created_at", "s|n"),
    ("updated_at", "s|n"),
];
const CANNED_RESPONSE_OMITTED: &[Omitted] = &[];

/// `public/contact.yml`.
const PUBLIC_CONTACT: &[Field] = &[
    ("id", "n"),
    ("source_id", "s"),
    ("name", "s?"),
    ("email", "s?"),
    ("phone_number", "s?"),
    ("pubsub_token", "s"),
];
const PUBLIC_CONTACT_OMITTED: &[Omitted] = &[];

/// `public/conversation.yml`.
const PUBLIC_CONVERSATION: &[Field] = &[
    ("id", "n"),
    ("inbox_id", "n|s"),
    ("messages", "a"),
    ("contact", "o"),
    ("group", "b"),
    ("group_title", "s?"),
    ("group_source_id", "s?"),
    ("group_contacts", "a"),
];
const PUBLIC_CONVERSATION_OMITTED: &[Omitted] = &[
    ("group", "no group conversations"),
    ("group_title", "no group conversations"),
    ("group_source_id", "no group conversations"),
    ("group_contacts", "no group conversations"),
];

/// `public/message.yml` (ids and times are numbers in Chatwoot's actual answers).
const PUBLIC_MESSAGE: &[Field] = &[
    ("id", "n|s"),
    ("content", "s?"),
    ("message_type", "n|s"),
    ("content_type", "s?"),
    ("content_attributes", "o|s"),
    ("created_at", "n|s"),
    ("conversation_id", "n|s"),
    ("attachments", "a"),
    ("sender", "o?"),
];
const PUBLIC_MESSAGE_OMITTED: &[Omitted] = &[];

fn kind_ok(v: &Value, kinds: &str) -> bool {
    let (kinds, nullable) = match kinds.strip_suffix('?') {
        Some(k) => (k, true),
        None => (kinds, false),
    };
    if v.is_null() {
        return nullable;
    }
    kinds.split('|').any(|k| match k {
        "n" => v.is_number(),
        "s" => v.is_string(),
        "b" => v.is_boolean(),
        "o" => v.is_object(),
        "a" => v.is_array(),
        other => panic!("unknown kind {other}"),
    })
}

/// Collects what `obj` (found at `at`) lacks or types wrongly into `problems`.
fn check(problems: &mut Vec<String>, at: &str, obj: &Value, fields: &[Field], omitted: &[Omitted]) {
    let Some(map) = obj.as_object() else {
        problems.push(format!("{at}: not an object: {obj}"));
        return;
    };
    for (name, kinds) in fields {
        if omitted.iter().any(|(o, _)| o == name) {
            if map.contains_key(*name) {
                problems.push(format!(
                    "{at}.{name}: allowlisted as omitted but now present; remove it from the allowlist"
                ));
            }
            continue;
        }
        match map.get(*name) {
            None => problems.push(format!("{at}.{name}: missing")),
            Some(v) if !kind_ok(v, kinds) => {
                problems.push(format!("{at}.{name}: {v} is not of type {kinds}"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in omitted {
        assert!(
            fields.iter().any(|(f, _)| f == name),
            "{at}: allowlisted field {name} is not one of Chatwoot's"
        );
    }
}

fn ok(st: StatusCode, body: &Value, what: &str) {
    assert!(st.is_success(), "{what}: {st} {body}");
}

fn first<'a>(v: &'a Value, what: &str) -> &'a Value {
    v.as_array()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("{what}: expected a non-empty array, got {v}"))
}

fn report(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "Chatwoot field differences ({}):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

async fn application_api_fields(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let t = admin.token.as_str();
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let mut p = Vec::new();

    let (st, body) = s.get(t, "/api/v1/profile").await;
    ok(st, &body, "profile");
    check(&mut p, "profile", &body, PROFILE, PROFILE_OMITTED);

    // Inbox: create, show, list.
    let (st, inbox) = s
        .post(
            t,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    ok(st, &inbox, "create inbox");
    check(&mut p, "inbox(create)", &inbox, INBOX, INBOX_OMITTED);
    let inbox_id = inbox["id"].as_i64().expect("inbox id");
    let (st, body) = s.get(t, &format!("{base}/inboxes/{inbox_id}")).await;
    ok(st, &body, "show inbox");
    check(&mut p, "inbox(show)", &body, INBOX, INBOX_OMITTED);
    let (st, body) = s.get(t, &format!("{base}/inboxes")).await;
    ok(st, &body, "list inboxes");
    check(
        &mut p,
        "inbox(list)",
        first(&body["payload"], "inboxes payload"),
        INBOX,
        INBOX_OMITTED,
    );
    let (st, body) = s
        .post(
            t,
            &format!("{base}/inbox_members"),
            json!({"inbox_id": inbox_id, "user_ids": [admin.user_id]}),
        )
        .await;
    ok(st, &body, "add inbox member");

    // Agents.
    let (st, body) = s.get(t, &format!("{base}/agents")).await;
    ok(st, &body, "list agents");
    check(
        &mut p,
        "agent(list)",
        first(&body, "agents"),
        AGENT,
        AGENT_OMITTED,
    );
    let (st, body) = s.get(t, &format!("{base}/inbox_members/{inbox_id}")).await;
    ok(st, &body, "list inbox members");
    check(
        &mut p,
        "agent(inbox_members)",
        first(&body["payload"], "inbox members payload"),
        AGENT,
        AGENT_OMITTED,
    );

    // Team, label, canned response.
    let (st, team) = s
        .post(t, &format!("{base}/teams"), json!({"name": "Delivery"}))
        .await;
    ok(st, &team, "create team");
    check(&mut p, "team(create)", &team, TEAM, TEAM_OMITTED);
    let team_id = team["id"].as_i64().expect("team id");
    let (st, body) = s.get(t, &format!("{base}/teams/{team_id}")).await;
    ok(st, &body, "show team");
    check(&mut p, "team(show)", &body, TEAM, TEAM_OMITTED);
    let (st, body) = s.get(t, &format!("{base}/teams")).await;
    ok(st, &body, "list teams");
    check(
        &mut p,
        "team(list)",
        first(&body, "teams"),
        TEAM,
        TEAM_OMITTED,
    );

    let (st, label) = s
        .post(t, &format!("{base}/labels"), json!({"title": "vip"}))
        .await;
    ok(st, &label, "create label");
    check(&mut p, "label(create)", &label, LABEL, LABEL_OMITTED);
    let (st, body) = s.get(t, &format!("{base}/labels")).await;
    ok(st, &body, "list labels");
    check(
        &mut p,
        "label(list)",
        first(&body["payload"], "labels payload"),
        LABEL,
        LABEL_OMITTED,
    );

    let (st, canned) = s
        .post(
            t,
            &format!("{base}/canned_responses"),
            json!({"short_code": "hi", "content": "Hello!"}),
        )
        .await;
    ok(st, &canned, "create canned response");
    check(
        &mut p,
        "canned_response(create)",
        &canned,
        CANNED_RESPONSE,
        CANNED_RESPONSE_OMITTED,
    );
    let (st, body) = s.get(t, &format!("{base}/canned_responses")).await;
    ok(st, &body, "list canned responses");
    check(
        &mut p,
        "canned_response(list)",
        first(&body, "canned responses"),
        CANNED_RESPONSE,
        CANNED_RESPONSE_OMITTED,
    );

    // Contact: create, show, list, search, with its contact_inboxes.
    let (st, created) = s
        .post(
            t,
            &format!("{base}/contacts"),
            json!({"name": "Ivan", "email": "ivan@example.test", "inbox_id": inbox_id}),
        )
        .await;
    ok(st, &created, "create contact");
    let contact = &created["payload"]["contact"];
    check(&mut p, "contact(create)", contact, CONTACT, CONTACT_OMITTED);
    let contact_id = contact["id"].as_i64().expect("contact id");
    let (st, body) = s.get(t, &format!("{base}/contacts/{contact_id}")).await;
    ok(st, &body, "show contact");
    check(
        &mut p,
        "contact(show)",
        &body["payload"],
        CONTACT,
        CONTACT_OMITTED,
    );
    check(
        &mut p,
        "contact(show).contact_inboxes[0]",
        first(&body["payload"]["contact_inboxes"], "contact_inboxes"),
        CONTACT_INBOX,
        CONTACT_INBOX_OMITTED,
    );
    check(
        &mut p,
        "contact(show).contact_inboxes[0].inbox",
        &body["payload"]["contact_inboxes"][0]["inbox"],
        INBOX_CONTACT,
        INBOX_CONTACT_OMITTED,
    );
    let (st, body) = s.get(t, &format!("{base}/contacts")).await;
    ok(st, &body, "list contacts");
    check(
        &mut p,
        "contact(list)",
        first(&body["payload"], "contacts payload"),
        CONTACT,
        CONTACT_OMITTED,
    );
    let (st, body) = s.get(t, &format!("{base}/contacts/search?q=ivan")).await;
    ok(st, &body, "search contacts");
    check(
        &mut p,
        "contact(search)",
        first(&body["payload"], "search payload"),
        CONTACT,
        CONTACT_OMITTED,
    );

    // Conversation: create, show, list, the contact's conversations, toggle_status.
    let (st, conv) = s
        .post(
            t,
            &format!("{base}/conversations"),
            json!({"inbox_id": inbox_id, "contact_id": contact_id}),
        )
        .await;
    ok(st, &conv, "create conversation");
    let display_id = conv["id"].as_i64().expect("conversation id");

    // Messages: create an outgoing reply and a private note, then list.
    let msgs = format!("{base}/conversations/{display_id}/messages");
    let (st, msg) = s
        .post(
            t,
            &msgs,
            json!({"content": "Hello", "message_type": "outgoing", "echo_id": "e-1"}),
        )
        .await;
    ok(st, &msg, "create message");
    check(&mut p, "message(create)", &msg, MESSAGE, MESSAGE_OMITTED);
    let (st, note) = s
        .post(t, &msgs, json!({"content": "Note", "private": true}))
        .await;
    ok(st, &note, "create private note");
    check(&mut p, "message(note)", &note, MESSAGE, MESSAGE_OMITTED);
    let form = reqwest::multipart::Form::new()
        .text("content", "see attached")
        .part(
            "attachments[]",
            reqwest::multipart::Part::bytes(vec![1u8; 64])
                .file_name("photo.png")
                .mime_str("image/png")
                .expect("mime"),
        );
    let res = s
        .http
        .post(s.url(&msgs))
        .header("api_access_token", t)
        .multipart(form)
        .send()
        .await
        .expect("upload sent");
    let st = res.status();
    let with_file: Value = res.json().await.expect("upload answer");
    ok(st, &with_file, "create message with attachment");
    check(
        &mut p,
        "message(attachment)",
        &with_file,
        MESSAGE,
        MESSAGE_OMITTED,
    );
    check(
        &mut p,
        "message(attachment).attachments[0]",
        first(&with_file["attachments"], "attachments"),
        ATTACHMENT,
        ATTACHMENT_OMITTED,
    );
    let note_id = note["id"].as_i64().expect("note id");
    let (st, body) = s
        .patch(
            t,
            &format!("{msgs}/{note_id}"),
            json!({"content": "Note, edited"}),
        )
        .await;
    ok(st, &body, "update message");
    check(&mut p, "message(update)", &body, MESSAGE, MESSAGE_OMITTED);
    let (st, body) = s.get(t, &msgs).await;
    ok(st, &body, "list messages");
    check(
        &mut p,
        "message(list)",
        first(&body["payload"], "messages payload"),
        MESSAGE,
        MESSAGE_OMITTED,
    );

    let conversation_views = [
        ("conversation(create)", conv.clone()),
        (
            "conversation(show)",
            s.get(t, &format!("{base}/conversations/{display_id}"))
                .await
                .1,
        ),
        ("conversation(list)", {
            let (st, body) = s.get(t, &format!("{base}/conversations?status=all")).await;
            ok(st, &body, "list conversations");
            check(
                &mut p,
                "conversation(list).data.meta",
                &body["data"]["meta"],
                CONVERSATION_LIST_META,
                &[],
            );
            first(&body["data"]["payload"], "conversations payload").clone()
        }),
        ("conversation(contact)", {
            let (st, body) = s
                .get(t, &format!("{base}/contacts/{contact_id}/conversations"))
                .await;
            ok(st, &body, "contact conversations");
            first(&body["payload"], "contact conversations payload").clone()
        }),
    ];
    for (at, c) in &conversation_views {
        check(&mut p, at, c, CONVERSATION, CONVERSATION_OMITTED);
        check(
            &mut p,
            &format!("{at}.meta"),
            &c["meta"],
            CONVERSATION_META,
            CONVERSATION_META_OMITTED,
        );
        check(
            &mut p,
            &format!("{at}.meta.sender"),
            &c["meta"]["sender"],
            CONVERSATION_META_SENDER,
            CONVERSATION_META_SENDER_OMITTED,
        );
    }

    let (st, body) = s
        .post(
            t,
            &format!("{base}/conversations/{display_id}/toggle_status"),
            json!({"status": "resolved"}),
        )
        .await;
    ok(st, &body, "toggle_status");
    check(
        &mut p,
        "toggle_status.payload",
        &body["payload"],
        STATUS_TOGGLE,
        &[],
    );

    report(p);
}

async fn client_api_fields(s: &TestServer) {
    let admin = s.admin("Shop").await;
    let base = format!("/api/v1/accounts/{}", admin.account_id);
    let (st, inbox) = s
        .post(
            &admin.token,
            &format!("{base}/inboxes"),
            json!({"name": "Site", "channel": {"type": "api"}}),
        )
        .await;
    ok(st, &inbox, "create inbox");
    let identifier = inbox["inbox_identifier"]
        .as_str()
        .or(inbox["website_token"].as_str())
        .expect("inbox identifier")
        .to_string();
    let pub_base = format!("/public/api/v1/inboxes/{identifier}");
    let mut p = Vec::new();

    let (st, contact) = s
        .call(
            Method::POST,
            None,
            &format!("{pub_base}/contacts"),
            Some(json!({"name": "Visitor", "email": "v@example.test"})),
        )
        .await;
    ok(st, &contact, "public create contact");
    check(
        &mut p,
        "public_contact(create)",
        &contact,
        PUBLIC_CONTACT,
        PUBLIC_CONTACT_OMITTED,
    );
    let source_id = contact["source_id"]
        .as_str()
        .expect("source_id")
        .to_string();
    let cbase = format!("{pub_base}/contacts/{source_id}");
    let (st, body) = s.call(Method::GET, None, &cbase, None).await;
    ok(st, &body, "public show contact");
    check(
        &mut p,
        "public_contact(show)",
        &body,
        PUBLIC_CONTACT,
        PUBLIC_CONTACT_OMITTED,
    );
    let (st, body) = s
        .call(Method::PATCH, None, &cbase, Some(json!({"name": "Vera"})))
        .await;
    ok(st, &body, "public update contact");
    check(
        &mut p,
        "public_contact(update)",
        &body,
        PUBLIC_CONTACT,
        PUBLIC_CONTACT_OMITTED,
    );

    let (st, conv) = s
        .call(
            Method::POST,
            None,
            &format!("{cbase}/conversations"),
            Some(json!({})),
        )
        .await;
    ok(st, &conv, "public create conversation");
    check(
        &mut p,
        "public_conversation(create)",
        &conv,
        PUBLIC_CONVERSATION,
        PUBLIC_CONVERSATION_OMITTED,
    );
    let conv_id = conv["id"].as_i64().expect("conversation id");
    let mbase = format!("{cbase}/conversations/{conv_id}/messages");
    let (st, msg) = s
        .call(
            Method::POST,
            None,
            &mbase,
            Some(json!({"content": "Hi there", "echo_id": "v-1"})),
        )
        .await;
    ok(st, &msg, "public create message");
    check(
        &mut p,
        "public_message(create)",
        &msg,
        PUBLIC_MESSAGE,
        PUBLIC_MESSAGE_OMITTED,
    );
    // An agent reply, as the visitor sees it.
    let (st, body) = s
        .post(
            &admin.token,
            &format!("{base}/conversations/{conv_id}/messages"),
            json!({"content": "Hello, Vera", "message_type": "outgoing"}),
        )
        .await;
    ok(st, &body, "agent reply");
    let (st, body) = s.call(Method::GET, None, &mbase, None).await;
    ok(st, &body, "public list messages");
    let list = body
        .as_array()
        .or(body["payload"].as_array())
        .unwrap_or_else(|| panic!("public messages: expected an array, got {body}"));
    assert_eq!(list.len(), 2, "{body}");
    for (i, m) in list.iter().enumerate() {
        check(
            &mut p,
            &format!("public_message(list)[{i}]"),
            m,
            PUBLIC_MESSAGE,
            PUBLIC_MESSAGE_OMITTED,
        );
    }
    let (st, body) = s
        .call(Method::GET, None, &format!("{cbase}/conversations"), None)
        .await;
    ok(st, &body, "public list conversations");
    check(
        &mut p,
        "public_conversation(list)",
        first(&body, "public conversations"),
        PUBLIC_CONVERSATION,
        PUBLIC_CONVERSATION_OMITTED,
    );

    report(p);
}

/// The checker itself reports a missing field, a wrong type and an allowlisted field
/// that has appeared.
#[test]
fn checker_reports_each_kind_of_difference() {
    const FIELDS: &[Field] = &[("id", "n"), ("name", "s?"), ("flag", "b"), ("gone", "s")];
    const OMITTED: &[Omitted] = &[("gone", "test")];
    let mut p = Vec::new();
    check(
        &mut p,
        "x",
        &json!({"id": 1, "name": null, "flag": true}),
        FIELDS,
        OMITTED,
    );
    assert!(p.is_empty(), "{p:?}");
    check(
        &mut p,
        "x",
        &json!({"id": "1", "name": "n", "gone": "here"}),
        FIELDS,
        OMITTED,
    );
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p[0].contains("x.id") && p[0].contains("not of type n"),
        "{p:?}"
    );
    assert!(p[1].contains("x.flag: missing"), "{p:?}");
    assert!(p[2].contains("x.gone: allowlisted"), "{p:?}");
}

/// Every allowlisted field has its row in docs/api.md's "Chatwoot compatibility" table,
/// and the table lists nothing else.
#[test]
fn docs_table_matches_the_allowlists() {
    let all: &[(&str, &[Omitted])] = &[
        ("message", MESSAGE_OMITTED),
        ("agent", AGENT_OMITTED),
        ("inbox", INBOX_OMITTED),
        ("contact identity's inbox", INBOX_CONTACT_OMITTED),
        ("Client API conversation", PUBLIC_CONVERSATION_OMITTED),
        ("conversation", CONVERSATION_OMITTED),
        ("conversation meta", CONVERSATION_META_OMITTED),
        ("conversation meta sender", CONVERSATION_META_SENDER_OMITTED),
        ("contact", CONTACT_OMITTED),
        ("contact identity", CONTACT_INBOX_OMITTED),
        ("team", TEAM_OMITTED),
        ("label", LABEL_OMITTED),
        ("canned response", CANNED_RESPONSE_OMITTED),
        ("profile", PROFILE_OMITTED),
        ("Client API contact", PUBLIC_CONTACT_OMITTED),
        ("Client API message", PUBLIC_MESSAGE_OMITTED),
        ("attachment", ATTACHMENT_OMITTED),
    ];
    let md = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"),
    )
    .expect("docs/api.md");
    let section = md
        .split("\n## Chatwoot compatibility\n")
        .nth(1)
        .expect("docs/api.md has a \"Chatwoot compatibility\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<(String, String, String)> = section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let field = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((
                cells[1].to_string(),
                field.to_string(),
                cells.get(3)?.to_string(),
            ))
        })
        .collect();
    let mut want = Vec::new();
    for (resource, omitted) in all {
        for (field, reason) in *omitted {
            want.push((resource.to_string(), field.to_string(), reason.to_string()));
        }
    }
    for w in &want {
        assert!(rows.contains(w), "docs/api.md lacks the row {w:?}");
    }
    for r in &rows {
        assert!(
            want.contains(r),
            "docs/api.md lists {r:?}, which no allowlist has"
        );
    }
}
