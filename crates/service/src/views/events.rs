//! Events as a visitor receives them: the agent payload an event carries (the same view the
//! Application API renders) cut down to what the Client API shows the visitor.

use serde_json::{Map, Value};

use super::messages::Audience;

/// The Client API's shape of an event's agent payload, for the visitor of `audience`.
/// Messages keep the public message fields (attachment URLs rewritten to the visitor's,
/// no e-mail of the sender); conversations keep the public conversation fields plus the
/// assignee's name and avatar, which the widget shows.
pub fn visitor_payload(name: &str, data: &Value, base_url: &str, audience: &Audience) -> Value {
    let Value::Object(src) = data else {
        return data.clone();
    };
    let pick = |keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .filter_map(|k| src.get(*k).map(|v| ((*k).to_string(), v.clone())))
            .collect()
    };
    if matches!(
        name,
        "conversation.typing_on"
            | "conversation.typing_off"
            | "conversation.read"
            | "conversation.queue_position"
    ) {
        // Ephemeral events are built for both sides already.
        return data.clone();
    }
    if name.starts_with("message.") {
        let mut m = pick(&[
            "id",
            "content",
            "message_type",
            "content_type",
            "content_attributes",
            "status",
            "created_at",
            "conversation_id",
            "echo_id",
            "attachments",
            "sender",
        ]);
        if let Some(Value::Object(sender)) = m.get_mut("sender") {
            sender.insert("email".into(), Value::Null);
        }
        if let Some(Value::Array(atts)) = m.get_mut("attachments") {
            for a in atts {
                rewrite_attachment(a, base_url, audience);
            }
        }
        return Value::Object(m);
    }
    if name.starts_with("conversation.") || name == "assignee.changed" || name == "team.changed" {
        let mut m = pick(&[
            "id",
            "uuid",
            "inbox_id",
            "status",
            "agent_last_seen_at",
            "contact_last_seen_at",
            "created_at",
            "last_activity_at",
            "custom_attributes",
        ]);
        let meta = src.get("meta");
        let assignee = meta
            .and_then(|m| m.get("assignee"))
            .filter(|a| !a.is_null())
            .map(|a| {
                let get = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
                serde_json::json!({
                    "id": get("id"),
                    "name": get("name"),
                    "available_name": get("available_name"),
                    "avatar_url": get("avatar_url"),
                })
            })
            .unwrap_or(Value::Null);
        m.insert("assignee".into(), assignee);
        if let Some(sender) = meta.and_then(|m| m.get("sender")) {
            let get = |k: &str| sender.get(k).cloned().unwrap_or(Value::Null);
            m.insert(
                "contact".into(),
                serde_json::json!({
                    "id": get("id"),
                    "name": get("name"),
                    "email": get("email"),
                    "phone_number": get("phone_number"),
                }),
            );
        }
        m.insert("messages".into(), Value::Array(Vec::new()));
        return Value::Object(m);
    }
    data.clone()
}

fn rewrite_attachment(a: &mut Value, base_url: &str, audience: &Audience) {
    let Audience::Public {
        inbox_identifier,
        contact_identifier,
    } = audience
    else {
        return;
    };
    let Some(id) = a.get("id").and_then(Value::as_i64) else {
        return;
    };
    let image = a.get("file_type").and_then(Value::as_str) == Some("image");
    let base = base_url.trim_end_matches('/');
    let url = format!(
        "{base}/public/api/v1/inboxes/{inbox_identifier}/contacts/{contact_identifier}/attachments/{id}"
    );
    if let Value::Object(o) = a {
        o.insert(
            "thumb_url".into(),
            Value::String(if image { url.clone() } else { String::new() }),
        );
        o.insert("data_url".into(), Value::String(url));
    }
}
