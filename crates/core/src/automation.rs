//! Automation rules and macros: what a rule may say (events, condition attributes and
//! operators, actions) with Chatwoot's wire names, the checks a rule must pass, and the
//! pure evaluation of conditions against the facts of a conversation. No I/O: the service
//! gathers the [`Facts`] and performs the actions.
//!
//! Conditions are combined left to right by each condition's `query_operator` (`and` /
//! `or`) with AND binding tighter than OR, as in Chatwoot (which turns them into one SQL
//! expression): `a AND b OR c` is `(a AND b) OR c`. Text comparisons ignore case;
//! `contains` and `starts_with` on message content compare the words' Russian / English
//! stems (the archive search's normaliser), so «оплата» matches «оплатить» and «оплату».

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::search_text::token_sequence;

/// Events a rule runs on.
pub const EVENTS: &[&str] = &[
    "conversation_created",
    "conversation_updated",
    "conversation_opened",
    "conversation_resolved",
    "message_created",
];

/// Condition attributes, with the operators each accepts.
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("content", TEXT_OPS),
    ("message_type", EQ_OPS),
    ("inbox_id", EQ_OPS),
    ("channel_type", EQ_OPS),
    ("team_id", PRESENCE_OPS),
    ("assignee_id", PRESENCE_OPS),
    ("status", EQ_OPS),
    ("priority", PRESENCE_OPS),
    ("labels", PRESENCE_OPS),
    ("browser_language", TEXT_OPS),
    ("country_code", TEXT_OPS),
    ("referer", TEXT_OPS),
    ("page_url", TEXT_OPS),
    ("utm_source", TEXT_OPS),
    ("utm_medium", TEXT_OPS),
    ("utm_campaign", TEXT_OPS),
    ("utm_term", TEXT_OPS),
    ("utm_content", TEXT_OPS),
    ("email", TEXT_OPS),
    ("phone_number", TEXT_OPS),
    ("name", TEXT_OPS),
    ("city", TEXT_OPS),
    ("company", TEXT_OPS),
    ("mail_subject", TEXT_OPS),
    ("working_hours", EQ_OPS),
];

const EQ_OPS: &[&str] = &["equal_to", "not_equal_to"];
const PRESENCE_OPS: &[&str] = &["equal_to", "not_equal_to", "is_present", "is_not_present"];
const TEXT_OPS: &[&str] = &[
    "equal_to",
    "not_equal_to",
    "contains",
    "does_not_contain",
    "starts_with",
    "is_present",
    "is_not_present",
];

/// `custom_attribute_type` values: the condition reads a custom attribute of the contact
/// or of the conversation named by `attribute_key`.
pub const CUSTOM_ATTRIBUTE_TYPES: &[&str] = &["contact_attribute", "conversation_attribute"];

/// Actions of rules; macros take the same except [`RULE_ONLY_ACTIONS`].
pub const ACTIONS: &[&str] = &[
    "assign_team",
    "assign_agent",
    "remove_assigned_team",
    "add_label",
    "remove_label",
    "change_priority",
    "send_message",
    "add_private_note",
    "send_email_to_team",
    "send_webhook_event",
    "snooze_conversation",
    "resolve_conversation",
    "open_conversation",
    "change_status",
    "mute_conversation",
];

/// Actions a macro may not take (they answer an event, not an agent).
pub const RULE_ONLY_ACTIONS: &[&str] = &["send_email_to_team"];

/// Bounds: what one account and one rule may hold.
pub const MAX_RULES_PER_ACCOUNT: usize = 100;
pub const MAX_MACROS_PER_ACCOUNT: usize = 200;
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_ACTIONS: usize = 20;
pub const MAX_VALUES: usize = 50;
pub const MAX_VALUE_CHARS: usize = 1000;
pub const MAX_MESSAGE_CHARS: usize = 10_000;
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Conversations one macro execution may act on.
pub const MAX_MACRO_CONVERSATIONS: usize = 100;

/// One condition, Chatwoot's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub attribute_key: String,
    pub filter_operator: String,
    #[serde(default)]
    pub values: Vec<Value>,
    /// How this condition joins the next one: `and` (default) or `or`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_operator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attribute_type: Option<String>,
}

/// One action, Chatwoot's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub action_name: String,
    #[serde(default)]
    pub action_params: Vec<Value>,
}

/// What is wrong with a rule or macro: the field and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// Checks an event name.
pub fn check_event(name: &str) -> Result<(), Invalid> {
    if EVENTS.contains(&name) {
        Ok(())
    } else {
        Err(invalid(
            "event_name",
            format!(
                "unknown event {name:?}; expected one of {}",
                EVENTS.join(", ")
            ),
        ))
    }
}

fn check_values(field: &'static str, values: &[Value]) -> Result<(), Invalid> {
    if values.len() > MAX_VALUES {
        return Err(invalid(field, format!("at most {MAX_VALUES} values")));
    }
    for v in values {
        let ok = match v {
            Value::String(s) => s.chars().count() <= MAX_VALUE_CHARS,
            Value::Number(_) | Value::Bool(_) => true,
            Value::Object(_) => v.to_string().chars().count() <= MAX_MESSAGE_CHARS,
            _ => false,
        };
        if !ok {
            return Err(invalid(
                field,
                format!(
                    "values must be strings of at most {MAX_VALUE_CHARS} characters, numbers or booleans"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a rule's conditions (at least one).
pub fn check_conditions(conditions: &[Condition]) -> Result<(), Invalid> {
    if conditions.is_empty() {
        return Err(invalid("conditions", "at least one condition is needed"));
    }
    if conditions.len() > MAX_CONDITIONS {
        return Err(invalid(
            "conditions",
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
    }
    for c in conditions {
        let ops: &[&str] = match c.custom_attribute_type.as_deref() {
            Some(t) if CUSTOM_ATTRIBUTE_TYPES.contains(&t) => {
                if c.attribute_key.trim().is_empty() || c.attribute_key.chars().count() > 255 {
                    return Err(invalid("conditions", "a custom attribute needs its key"));
                }
                TEXT_OPS
            }
            Some(t) => {
                return Err(invalid(
                    "conditions",
                    format!(
                        "unknown custom_attribute_type {t:?}; expected one of {}",
                        CUSTOM_ATTRIBUTE_TYPES.join(", ")
                    ),
                ));
            }
            None => match ATTRIBUTES.iter().find(|(k, _)| *k == c.attribute_key) {
                Some((_, ops)) => ops,
                None => {
                    return Err(invalid(
                        "conditions",
                        format!(
                            "unknown attribute_key {:?}; expected one of {} (or a custom attribute with custom_attribute_type)",
                            c.attribute_key,
                            ATTRIBUTES
                                .iter()
                                .map(|(k, _)| *k)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            },
        };
        if !ops.contains(&c.filter_operator.as_str()) {
            return Err(invalid(
                "conditions",
                format!(
                    "filter_operator {:?} does not apply to {}; expected one of {}",
                    c.filter_operator,
                    c.attribute_key,
                    ops.join(", ")
                ),
            ));
        }
        if let Some(q) = &c.query_operator
            && !matches!(q.to_ascii_lowercase().as_str(), "and" | "or")
        {
            return Err(invalid(
                "conditions",
                format!("query_operator {q:?} must be and or or"),
            ));
        }
        let needs_values = !matches!(c.filter_operator.as_str(), "is_present" | "is_not_present");
        if needs_values && c.values.is_empty() {
            return Err(invalid(
                "conditions",
                format!("{} {} needs values", c.attribute_key, c.filter_operator),
            ));
        }
        check_values("conditions", &c.values)?;
    }
    Ok(())
}

/// Checks a rule's (or, with `for_macro`, a macro's) actions (at least one) and the shape
/// of their parameters; ids that must exist in the account are checked by the service.
pub fn check_actions(actions: &[Action], for_macro: bool) -> Result<(), Invalid> {
    if actions.is_empty() {
        return Err(invalid("actions", "at least one action is needed"));
    }
    if actions.len() > MAX_ACTIONS {
        return Err(invalid("actions", format!("at most {MAX_ACTIONS} actions")));
    }
    for a in actions {
        let name = a.action_name.as_str();
        if !ACTIONS.contains(&name) || (for_macro && RULE_ONLY_ACTIONS.contains(&name)) {
            let allowed: Vec<&str> = ACTIONS
                .iter()
                .copied()
                .filter(|n| !for_macro || !RULE_ONLY_ACTIONS.contains(n))
                .collect();
            return Err(invalid(
                "actions",
                format!(
                    "unknown action_name {name:?}; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        check_values("actions", &a.action_params)?;
        let p = &a.action_params;
        let text_ok = |v: &Value, max: usize| {
            param_text(v).is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= max)
        };
        let (ok, what): (bool, String) = match name {
            "assign_team" | "assign_agent" => (
                p.len() == 1 && param_id(&p[0]).is_some(),
                "one id in action_params".into(),
            ),
            "add_label" | "remove_label" => (
                !p.is_empty() && p.iter().all(|v| param_text(v).is_some()),
                "label names in action_params".into(),
            ),
            "change_priority" => (
                p.len() == 1
                    && param_text(&p[0]).is_some_and(|s| crate::Priority::parse(&s).is_some()),
                "one priority (urgent, high, medium, low, none)".into(),
            ),
            "change_status" => (
                p.len() == 1
                    && param_text(&p[0]).is_some_and(|s| {
                        matches!(s.as_str(), "open" | "pending" | "resolved" | "snoozed")
                    }),
                "one status (open, pending, resolved, snoozed)".into(),
            ),
            "send_message" | "add_private_note" => (
                p.len() == 1 && text_ok(&p[0], MAX_MESSAGE_CHARS),
                format!("one text of 1 to {MAX_MESSAGE_CHARS} characters"),
            ),
            "send_webhook_event" => (
                p.len() == 1 && param_text(&p[0]).is_some_and(|s| s.starts_with("http")),
                "one http(s) URL".into(),
            ),
            "send_email_to_team" => (
                p.len() == 1
                    && email_to_team(&p[0]).is_some_and(|(m, teams)| {
                        !m.trim().is_empty()
                            && m.chars().count() <= MAX_MESSAGE_CHARS
                            && !teams.is_empty()
                            && teams.len() <= MAX_VALUES
                    }),
                "one {\"message\": text, \"team_ids\": [ids]} in action_params".into(),
            ),
            // Optional: seconds from now, or an absolute Unix time; none: until the
            // customer's next message.
            "snooze_conversation" => (
                p.len() <= 1 && p.first().is_none_or(|v| param_id(v).is_some()),
                "no parameter, or one number of seconds".into(),
            ),
            _ => (true, String::new()),
        };
        if !ok {
            return Err(invalid("actions", format!("{name} needs {what}")));
        }
    }
    Ok(())
}

/// A parameter as an id: a number or a string of digits.
pub fn param_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A parameter as text (numbers as their digits).
pub fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `send_email_to_team`'s parameter: the message and the team ids.
pub fn email_to_team(v: &Value) -> Option<(String, Vec<i64>)> {
    let message = v.get("message")?.as_str()?.to_string();
    let teams = v
        .get("team_ids")?
        .as_array()?
        .iter()
        .map(param_id)
        .collect::<Option<Vec<i64>>>()?;
    Some((message, teams))
}

/// The facts a rule's conditions read, gathered once per event.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The message of a `message_created` event.
    pub content: Option<String>,
    /// `incoming`, `outgoing`, `template` of that message.
    pub message_type: Option<String>,
    pub mail_subject: Option<String>,
    pub inbox_id: i64,
    /// `web_widget`, `api`, `telegram`, `email`.
    pub channel_type: String,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub status: String,
    pub priority: Option<String>,
    pub labels: Vec<String>,
    /// The conversation's `additional_attributes` (browser language, referer, page URL,
    /// UTM fields) and `custom_attributes`.
    pub conversation_attributes: Value,
    pub conversation_custom: Value,
    /// The contact's fields (`email`, `phone_number`, `name`), its `additional_attributes`
    /// (`country_code`, `city`, `company`) and `custom_attributes`.
    pub contact: Value,
    pub contact_attributes: Value,
    pub contact_custom: Value,
    /// Whether the inbox is inside its working hours now (`None`: no working hours set,
    /// which counts as always open).
    pub in_working_hours: Option<bool>,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Facts {
    /// The text values a condition compares (empty: absent).
    fn values_of(&self, c: &Condition) -> Vec<String> {
        let one = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
        let attr = |obj: &Value, key: &str| one(obj.get(key).and_then(text_of));
        match c.custom_attribute_type.as_deref() {
            Some("contact_attribute") => return attr(&self.contact_custom, &c.attribute_key),
            Some("conversation_attribute") => {
                return attr(&self.conversation_custom, &c.attribute_key);
            }
            _ => {}
        }
        let utm = |k: &str| {
            one(self
                .conversation_attributes
                .get("utm")
                .and_then(|u| u.get(k))
                .and_then(text_of)
                .or_else(|| {
                    self.conversation_attributes
                        .get(format!("utm_{k}"))
                        .and_then(text_of)
                }))
        };
        match c.attribute_key.as_str() {
            "content" => one(self.content.clone()),
            "message_type" => one(self.message_type.clone()),
            "mail_subject" => one(self.mail_subject.clone()),
            "inbox_id" => vec![self.inbox_id.to_string()],
            "channel_type" => vec![self.channel_type.clone()],
            "team_id" => one(self.team_id.map(|i| i.to_string())),
            "assignee_id" => one(self.assignee_id.map(|i| i.to_string())),
            "status" => vec![self.status.clone()],
            "priority" => one(self.priority.clone()),
            "labels" => self.labels.clone(),
            "browser_language" => attr(&self.conversation_attributes, "browser_language"),
            "referer" => one(self
                .conversation_attributes
                .get("referer")
                .and_then(text_of)
                .or_else(|| {
                    self.conversation_attributes
                        .get("visit_referrer")
                        .and_then(text_of)
                })),
            "page_url" => attr(&self.conversation_attributes, "page_url"),
            "utm_source" => utm("source"),
            "utm_medium" => utm("medium"),
            "utm_campaign" => utm("campaign"),
            "utm_term" => utm("term"),
            "utm_content" => utm("content"),
            "email" | "phone_number" | "name" => attr(&self.contact, &c.attribute_key),
            "country_code" => one(self
                .contact_attributes
                .get("country_code")
                .and_then(text_of)
                .or_else(|| {
                    self.conversation_attributes
                        .get("country_code")
                        .and_then(text_of)
                })),
            "city" | "company" => one(self
                .contact_attributes
                .get(c.attribute_key.as_str())
                .and_then(text_of)
                .or_else(|| {
                    self.contact_attributes
                        .get(format!("{}_name", c.attribute_key))
                        .and_then(text_of)
                })),
            "working_hours" => vec![self.in_working_hours.unwrap_or(true).to_string()],
            _ => Vec::new(),
        }
    }
}

/// Whether `phrase`'s stems occur in `text`'s, in order and next to each other.
fn stems_contain(text: &str, phrase: &str) -> bool {
    let needle = token_sequence(phrase);
    if needle.is_empty() {
        return false;
    }
    let hay = token_sequence(text);
    hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

fn stems_start_with(text: &str, phrase: &str) -> bool {
    let needle = token_sequence(phrase);
    !needle.is_empty() && token_sequence(text).starts_with(&needle)
}

/// A condition value as the text it compares (booleans of `working_hours` included).
fn wanted(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether one condition holds.
pub fn condition_holds(c: &Condition, facts: &Facts) -> bool {
    let have = facts.values_of(c);
    let have_lower: Vec<String> = have.iter().map(|s| s.to_lowercase()).collect();
    let wants: Vec<String> = c.values.iter().filter_map(wanted).collect();
    let stemmed = c.attribute_key == "content" && c.custom_attribute_type.is_none();
    match c.filter_operator.as_str() {
        "is_present" => !have.is_empty(),
        "is_not_present" => have.is_empty(),
        "equal_to" => wants.iter().any(|w| have_lower.iter().any(|h| h == w)),
        "not_equal_to" => !wants.iter().any(|w| have_lower.iter().any(|h| h == w)),
        "contains" | "does_not_contain" => {
            let found = wants.iter().any(|w| {
                have_lower
                    .iter()
                    .any(|h| h.contains(w.as_str()) || (stemmed && stems_contain(h, w)))
            });
            (c.filter_operator == "contains") == found
        }
        "starts_with" => wants.iter().any(|w| {
            have_lower
                .iter()
                .any(|h| h.starts_with(w.as_str()) || (stemmed && stems_start_with(h, w)))
        }),
        _ => false,
    }
}

/// Whether the conditions hold together: each joins the next by its `query_operator`,
/// AND binding tighter than OR.
pub fn conditions_hold(conditions: &[Condition], facts: &Facts) -> bool {
    let mut any_group = false;
    let mut group = true;
    for (i, c) in conditions.iter().enumerate() {
        group = group && condition_holds(c, facts);
        let is_or = c
            .query_operator
            .as_deref()
            .is_some_and(|q| q.eq_ignore_ascii_case("or"));
        if is_or || i + 1 == conditions.len() {
            any_group = any_group || group;
            group = true;
        }
    }
    any_group
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(key: &str, op: &str, values: Value, q: Option<&str>) -> Condition {
        Condition {
            attribute_key: key.into(),
            filter_operator: op.into(),
            values: values.as_array().cloned().unwrap_or_default(),
            query_operator: q.map(String::from),
            custom_attribute_type: None,
        }
    }

    fn facts(content: &str) -> Facts {
        Facts {
            content: Some(content.into()),
            message_type: Some("incoming".into()),
            inbox_id: 3,
            channel_type: "web_widget".into(),
            status: "open".into(),
            labels: vec!["vip".into()],
            conversation_attributes: json!({"browser_language": "ru-RU", "utm": {"source": "yandex"}, "page_url": "https://shop.example/cart"}),
            contact: json!({"email": "ivan@example.test"}),
            contact_attributes: json!({"country_code": "RU"}),
            contact_custom: json!({"plan": "gold"}),
            ..Facts::default()
        }
    }

    #[test]
    fn content_contains_by_stems_in_both_languages() {
        let c = cond("content", "contains", json!(["оплата"]), None);
        assert!(condition_holds(&c, &facts("Не могу оплатить заказ")));
        assert!(condition_holds(&c, &facts("Проблема с ОПЛАТОЙ")));
        assert!(!condition_holds(&c, &facts("Где мой заказ?")));
        let c = cond("content", "contains", json!(["payment"]), None);
        assert!(condition_holds(&c, &facts("My payments failed")));
        let c = cond("content", "starts_with", json!(["привет"]), None);
        assert!(condition_holds(&c, &facts("Приветствую! Вопрос")));
        assert!(!condition_holds(&c, &facts("Вопрос: привет")));
        let c = cond("content", "does_not_contain", json!(["оплата"]), None);
        assert!(condition_holds(&c, &facts("Где мой заказ?")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let yes = cond("status", "equal_to", json!(["open"]), None);
        let no = cond("status", "equal_to", json!(["resolved"]), None);
        let f = facts("hi");
        let with = |mut c: Condition, q: &str| {
            c.query_operator = Some(q.into());
            c
        };
        // no AND yes OR yes = (no AND yes) OR yes = true
        assert!(conditions_hold(
            &[
                with(no.clone(), "and"),
                with(yes.clone(), "or"),
                yes.clone()
            ],
            &f
        ));
        // yes OR no AND no = yes OR (no AND no) = true
        assert!(conditions_hold(
            &[with(yes.clone(), "or"), with(no.clone(), "and"), no.clone()],
            &f
        ));
        // no OR yes AND no = false
        assert!(!conditions_hold(
            &[with(no.clone(), "or"), with(yes.clone(), "and"), no.clone()],
            &f
        ));
    }

    #[test]
    fn attributes_of_the_visit_and_the_contact() {
        let f = facts("hi");
        for (key, op, v) in [
            ("browser_language", "starts_with", json!(["ru"])),
            ("utm_source", "equal_to", json!(["Yandex"])),
            ("page_url", "contains", json!(["/cart"])),
            ("country_code", "equal_to", json!(["ru"])),
            ("email", "contains", json!(["@example.test"])),
            ("labels", "equal_to", json!(["vip"])),
            ("inbox_id", "equal_to", json!([3])),
            ("channel_type", "equal_to", json!(["web_widget"])),
            ("team_id", "is_not_present", json!([])),
            ("working_hours", "equal_to", json!([true])),
        ] {
            assert!(
                condition_holds(&cond(key, op, v.clone(), None), &f),
                "{key} {op} {v}"
            );
        }
        let mut c = cond("plan", "equal_to", json!(["gold"]), None);
        c.custom_attribute_type = Some("contact_attribute".into());
        assert!(condition_holds(&c, &f));
        let closed = Facts {
            in_working_hours: Some(false),
            ..f
        };
        assert!(condition_holds(
            &cond("working_hours", "equal_to", json!(["false"]), None),
            &closed
        ));
    }

    #[test]
    fn checks_name_what_is_wrong() {
        let e = check_conditions(&[cond("nope", "equal_to", json!(["x"]), None)]).unwrap_err();
        assert!(e.message.contains("unknown attribute_key"), "{e:?}");
        let e = check_conditions(&[cond("status", "contains", json!(["x"]), None)]).unwrap_err();
        assert!(e.message.contains("does not apply"), "{e:?}");
        let e = check_conditions(&[cond("status", "equal_to", json!([]), None)]).unwrap_err();
        assert!(e.message.contains("needs values"), "{e:?}");
        let a = |n: &str, p: Value| Action {
            action_name: n.into(),
            action_params: p.as_array().cloned().unwrap_or_default(),
        };
        assert!(check_actions(&[a("explode", json!([]))], false).is_err());
        assert!(check_actions(&[a("assign_team", json!(["x"]))], false).is_err());
        assert!(
            check_actions(
                &[a(
                    "send_email_to_team",
                    json!([{"message": "m", "team_ids": [1]}])
                )],
                true
            )
            .is_err()
        );
        assert!(
            check_actions(
                &[a(
                    "send_email_to_team",
                    json!([{"message": "m", "team_ids": [1]}])
                )],
                false
            )
            .is_ok()
        );
        assert!(check_actions(&[a("change_priority", json!(["high"]))], false).is_ok());
        assert!(check_actions(&[a("resolve_conversation", json!([]))], true).is_ok());
    }
}
