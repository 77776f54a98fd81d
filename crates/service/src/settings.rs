//! The typed settings of an inbox, parsed once from the JSON object stored with it.
//!
//! An inbox keeps its options in one JSON object (the `settings` column): the channel's
//! options (Chatwoot's `channel` fields), Chatwoot's inbox flags, the opening hours, the
//! routing and response-standard settings and the texts. The same JSON travels on the wire
//! and lies in the database; this module is the one place that reads it into types, so no
//! other module looks a setting up by its key. What a request may write, and how it is
//! checked, stays with the use case that writes it (`inboxes`, `routing_config`, `texts`);
//! the object is never rewritten from these types, so unknown keys stay as they were.
//!
//! Reading never fails: a stored value of the wrong type reads as unset, as it always
//! has, rather than failing every request that touches the inbox.

use std::collections::BTreeMap;

use parley_core::sla::SlaPolicy;
use parley_store::inboxes::InboxRow;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::texts::InboxTexts;

/// Everything an inbox's settings object holds, typed.
#[derive(Debug, Clone, Default)]
pub struct InboxSettings {
    /// The channel's options (website, API, Telegram, e-mail), secrets included.
    pub channel: ChannelSettings,
    /// Chatwoot's inbox flags.
    pub flags: InboxFlags,
    /// Opening hours, Sunday (0) to Saturday (6); the default week when none are stored.
    pub working_hours: Vec<WorkingDay>,
    /// Default team, reassignment, holidays, off-hours notices, response standards.
    pub routing: InboxRouting,
    /// The inbox's language and its wording of Parley's texts.
    pub texts: InboxTexts,
    /// The object as stored, for the channel options rendered as they are.
    raw: Map<String, Value>,
}

impl InboxSettings {
    /// Parses a settings object.
    pub fn from_map(raw: Map<String, Value>) -> Self {
        let object = Value::Object(raw);
        let mut settings = Self {
            channel: part_of(&object),
            flags: part_of(&object),
            working_hours: part_of::<WeekPart>(&object).working_hours,
            routing: part_of(&object),
            texts: InboxTexts::default(),
            raw: Map::new(),
        };
        if let Value::Object(raw) = object {
            settings.texts = InboxTexts::of(&raw);
            settings.raw = raw;
        }
        settings
    }

    /// Parses the settings of an inbox.
    pub fn of(inbox: &InboxRow) -> Self {
        Self::from_map(inbox.settings_map())
    }

    /// The object as stored.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }
}

/// The options of an inbox's channel that Parley reads (the channel option list of each
/// channel type is in `inboxes`); secrets are read by the channel that uses them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelSettings {
    /// Website: the site's URL.
    #[serde(deserialize_with = "lenient")]
    pub website_url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub widget_color: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub welcome_title: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub welcome_tagline: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub reply_time: Option<String>,
    /// Sites allowed to frame the widget, as sent; `None`: any site.
    #[serde(deserialize_with = "lenient")]
    pub allowed_domains: Option<String>,
    /// `left` or `right` (the default).
    #[serde(deserialize_with = "lenient")]
    pub widget_position: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub pre_chat_form_enabled: bool,
    /// The pre-chat form in Chatwoot's shape, as checked when it was stored.
    #[serde(deserialize_with = "lenient")]
    pub pre_chat_form_options: Option<Value>,
    #[serde(deserialize_with = "lenient")]
    pub continuity_via_email: bool,
    #[serde(deserialize_with = "lenient")]
    pub offline_form_when_no_agents: bool,
    /// The widget lists the weekly working hours (when working hours are on).
    #[serde(deserialize_with = "lenient")]
    pub show_working_hours: bool,
    /// API channel: where events are posted.
    #[serde(deserialize_with = "lenient")]
    pub webhook_url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub bot_name: Option<String>,
    /// Telegram: the bot's username (from `getMe`), for `t.me/<username>`.
    #[serde(deserialize_with = "lenient")]
    pub bot_username: Option<String>,
    /// E-mail channel: the inbox's address.
    #[serde(deserialize_with = "lenient")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub provider: Option<String>,
}

/// Chatwoot's inbox flags (`inboxes::INBOX_FLAGS`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct InboxFlags {
    #[serde(deserialize_with = "lenient")]
    pub csat_survey_enabled: bool,
    #[serde(deserialize_with = "lenient")]
    pub enable_email_collect: bool,
    #[serde(deserialize_with = "lenient")]
    pub allow_messages_after_resolved: bool,
    #[serde(deserialize_with = "lenient")]
    pub lock_to_single_conversation: bool,
}

/// One typed part of a settings object. Every field of a part reads leniently, so only a
/// non-object could fail, and a settings object always is one.
fn part_of<T: DeserializeOwned + Default>(object: &Value) -> T {
    T::deserialize(object).unwrap_or_default()
}

/// One typed part of a settings map.
fn part<T: DeserializeOwned + Default>(settings: &Map<String, Value>) -> T {
    part_of(&Value::Object(settings.clone()))
}

/// A stored value of the wrong type reads as unset.
fn lenient<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// A stored list keeps its strings; anything else reads as empty.
fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

/// Opening hours of one day of the week, Chatwoot's shape. Kept in the inbox settings
/// under `working_hours`, one entry per day, Sunday (0) to Saturday (6). A day that is
/// neither closed nor open all day needs `open_hour` and `close_hour` (minutes default to
/// 0) and must close after it opens.
// `WorkingDayDoc` is the name the OpenAPI document has always used for this shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = WorkingDayDoc)]
pub struct WorkingDay {
    /// 0 (Sunday) to 6 (Saturday).
    pub day_of_week: u8,
    #[serde(default)]
    pub closed_all_day: bool,
    #[serde(default)]
    pub open_all_day: bool,
    pub open_hour: Option<u8>,
    pub open_minutes: Option<u8>,
    pub close_hour: Option<u8>,
    pub close_minutes: Option<u8>,
}

impl WorkingDay {
    fn hours(day: u8, open: Option<(u8, u8)>) -> Self {
        Self {
            day_of_week: day,
            closed_all_day: open.is_none(),
            open_all_day: false,
            open_hour: open.map(|(o, _)| o),
            open_minutes: open.map(|_| 0),
            close_hour: open.map(|(_, c)| c),
            close_minutes: open.map(|_| 0),
        }
    }
}

/// The week of an inbox that never set its hours: Monday to Friday 9:00–17:00, closed
/// at the weekend (what Chatwoot gives a new inbox).
pub fn default_week() -> Vec<WorkingDay> {
    (0..7)
        .map(|d| WorkingDay::hours(d, (1..=5).contains(&d).then_some((9, 17))))
        .collect()
}

/// The stored week of an inbox's settings, or the default week.
pub fn working_week(settings: &Map<String, Value>) -> Vec<WorkingDay> {
    part::<WeekPart>(settings).working_hours
}

/// The `working_hours` key alone.
#[derive(Deserialize)]
struct WeekPart {
    #[serde(default = "default_week", deserialize_with = "week")]
    working_hours: Vec<WorkingDay>,
}

impl Default for WeekPart {
    fn default() -> Self {
        Self {
            working_hours: default_week(),
        }
    }
}

/// A stored week of seven days, else (missing, malformed, another length) the default.
fn week<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<WorkingDay>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value::<Vec<WorkingDay>>(v)
        .ok()
        .filter(|w| w.len() == 7)
        .unwrap_or_else(default_week))
}

/// Reply targets for one priority, in seconds (Chatwoot's SLA field names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaTarget {
    pub first_response_time_threshold: i64,
    pub next_response_time_threshold: i64,
}

/// What happens when a target is missed, beyond the event and the activity line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Escalation {
    /// E-mail the account's supervisors and administrators.
    #[serde(default)]
    pub notify_supervisors: bool,
    /// Raise the conversation's priority one step (it then goes ahead in queues).
    #[serde(default)]
    pub raise_priority: bool,
    /// Take it from a silent agent and route it again.
    #[serde(default)]
    pub reassign: bool,
}

/// An inbox's response standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicyConfig {
    /// Count only the inbox's working hours.
    #[serde(default)]
    pub only_during_business_hours: bool,
    /// Targets by priority (`none`, `low`, `medium`, `high`, `urgent`); a priority without
    /// its own entry uses `none`'s.
    pub targets: BTreeMap<String, SlaTarget>,
    #[serde(default)]
    pub escalation: Escalation,
}

impl SlaPolicyConfig {
    /// The core policy for a conversation of `priority`; `None` when no target applies.
    pub fn policy_for(&self, priority: Option<&str>) -> Option<SlaPolicy> {
        let key = priority.unwrap_or("none");
        let t = self.targets.get(key).or_else(|| self.targets.get("none"))?;
        Some(SlaPolicy {
            first_response_ms: t.first_response_time_threshold.saturating_mul(1000),
            next_response_ms: t.next_response_time_threshold.saturating_mul(1000),
            working_hours_only: self.only_during_business_hours,
        })
    }
}

/// The typed routing settings of an inbox (the keys of `routing_config::ROUTING_KEYS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct InboxRouting {
    /// Team of new conversations that do not name one.
    #[serde(deserialize_with = "lenient")]
    pub default_team_id: Option<i64>,
    /// Minutes an assigned agent may leave a customer unanswered before the conversation
    /// goes to someone else; `None`: never.
    #[serde(deserialize_with = "lenient")]
    pub reassign_after_minutes: Option<u32>,
    /// Dates (`YYYY-MM-DD`, inbox time zone) when the inbox is closed all day.
    #[serde(deserialize_with = "lenient_strings")]
    pub holidays: Vec<String>,
    /// Managers told by e-mail about questions that arrive outside working hours.
    #[serde(deserialize_with = "lenient_strings")]
    pub offhours_notify_emails: Vec<String>,
    /// One e-mail per hour listing the questions instead of one per question.
    #[serde(deserialize_with = "lenient")]
    pub offhours_digest: bool,
    #[serde(deserialize_with = "lenient")]
    pub sla_policy: Option<SlaPolicyConfig>,
}

impl InboxRouting {
    /// Reads the settings of an inbox; malformed stored values read as unset.
    pub fn of(settings: &Map<String, Value>) -> Self {
        part(settings)
    }

    /// Reads an inbox row.
    pub fn of_inbox(inbox: &InboxRow) -> Self {
        Self::of(&inbox.settings_map())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> InboxSettings {
        InboxSettings::from_map(v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn parts_are_typed_and_the_object_is_kept() {
        let s = parse(json!({
            "website_url": "https://shop.test",
            "widget_position": "left",
            "pre_chat_form_enabled": true,
            "csat_survey_enabled": true,
            "reassign_after_minutes": 5,
            "holidays": ["2026-01-01", 7, "2026-01-02"],
            "sla_policy": {"targets": {"none": {"first_response_time_threshold": 60,
                                                "next_response_time_threshold": 120}}},
            "locale": "ru",
            "someone_elses_key": {"kept": true}
        }));
        assert_eq!(s.channel.website_url.as_deref(), Some("https://shop.test"));
        assert_eq!(s.channel.widget_position.as_deref(), Some("left"));
        assert!(s.channel.pre_chat_form_enabled && s.flags.csat_survey_enabled);
        assert!(!s.flags.lock_to_single_conversation);
        assert_eq!(s.routing.reassign_after_minutes, Some(5));
        assert_eq!(s.routing.holidays, ["2026-01-01", "2026-01-02"]);
        assert!(s.routing.sla_policy.is_some());
        assert_eq!(s.texts.locale.map(|l| l.as_str()), Some("ru"));
        assert_eq!(s.working_hours, default_week());
        assert_eq!(s.raw()["someone_elses_key"], json!({"kept": true}));
    }

    #[test]
    fn wrong_types_read_as_unset_without_losing_the_rest() {
        let s = parse(json!({
            "website_url": 42,
            "widget_color": "#ff0000",
            "csat_survey_enabled": "yes",
            "default_team_id": "7",
            "reassign_after_minutes": 99_999_999_999_u64,
            "offhours_digest": true,
            "sla_policy": {"targets": "soon"},
            "working_hours": [{"day_of_week": 1}]
        }));
        assert_eq!(s.channel.website_url, None);
        assert_eq!(s.channel.widget_color.as_deref(), Some("#ff0000"));
        assert!(!s.flags.csat_survey_enabled);
        assert_eq!(s.routing.default_team_id, None);
        assert_eq!(s.routing.reassign_after_minutes, None);
        assert!(s.routing.offhours_digest);
        assert_eq!(s.routing.sla_policy, None);
        assert_eq!(s.working_hours, default_week());
        assert_eq!(s.raw().len(), 8);
    }
}
