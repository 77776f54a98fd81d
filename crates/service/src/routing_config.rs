//! An inbox's routing and response-standard settings: its default team, how long an agent
//! may stay silent, holidays, who hears about off-hours questions, and the reply targets.
//!
//! They live in the inbox's settings object beside the channel options, under the keys in
//! [`ROUTING_KEYS`], and travel as top-level fields of Chatwoot-style inbox requests. This
//! module checks what a request sends and reads back the typed form for the services.

use std::collections::BTreeMap;

use parley_core::calendar::{Calendar, CalendarConfig, Holiday, WorkingHours};
use parley_core::sla::SlaPolicy;
use parley_core::{Priority, validate};
use parley_store::inboxes::InboxRow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::inboxes::{WorkingDay, working_week};
use crate::{Result, ServiceError};

/// Settings keys owned by this module.
pub const ROUTING_KEYS: [&str; 6] = [
    "default_team_id",
    "reassign_after_minutes",
    "holidays",
    "offhours_notify_emails",
    "offhours_digest",
    "sla_policy",
];

/// Longest target a shop can set: thirty days.
const MAX_TARGET_SECS: i64 = 30 * 24 * 3600;

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

/// The typed routing settings of an inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct InboxRouting {
    /// Team of new conversations that do not name one.
    pub default_team_id: Option<i64>,
    /// Minutes an assigned agent may leave a customer unanswered before the conversation
    /// goes to someone else; `None`: never.
    pub reassign_after_minutes: Option<u32>,
    /// Dates (`YYYY-MM-DD`, inbox time zone) when the inbox is closed all day.
    pub holidays: Vec<String>,
    /// Managers told by e-mail about questions that arrive outside working hours.
    pub offhours_notify_emails: Vec<String>,
    /// One e-mail per hour listing the questions instead of one per question.
    pub offhours_digest: bool,
    pub sla_policy: Option<SlaPolicyConfig>,
}

impl InboxRouting {
    /// Reads the settings of an inbox; malformed stored values read as unset.
    pub fn of(settings: &Map<String, Value>) -> Self {
        let strings = |k: &str| -> Vec<String> {
            settings
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        InboxRouting {
            default_team_id: settings.get("default_team_id").and_then(Value::as_i64),
            reassign_after_minutes: settings
                .get("reassign_after_minutes")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok()),
            holidays: strings("holidays"),
            offhours_notify_emails: strings("offhours_notify_emails"),
            offhours_digest: settings
                .get("offhours_digest")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            sla_policy: settings
                .get("sla_policy")
                .filter(|v| !v.is_null())
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }

    /// Reads an inbox row.
    pub fn of_inbox(inbox: &InboxRow) -> Self {
        Self::of(&inbox.settings_map())
    }
}

fn bad(field: &str, msg: impl Into<String>) -> ServiceError {
    validate::FieldError::new(field, msg).into()
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && calendar_of("UTC", &[], &[s.to_string()]).is_some()
}

/// Checks the routing fields a request sent (`null` clears a field) and returns them as
/// settings entries. `default_team_id` is checked against the account by the caller.
pub fn check_routing_fields(input: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for key in ROUTING_KEYS {
        let Some(v) = input.get(key) else { continue };
        if v.is_null() {
            out.insert(key.into(), Value::Null);
            continue;
        }
        let checked = match key {
            "default_team_id" => {
                let id = v
                    .as_i64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(key, "must be a team id or null"))?;
                Value::from(id)
            }
            "reassign_after_minutes" => {
                let m = v
                    .as_i64()
                    .filter(|n| (1..=1440).contains(n))
                    .ok_or_else(|| bad(key, "must be 1 to 1440 minutes or null"))?;
                Value::from(m)
            }
            "holidays" => {
                let days = v
                    .as_array()
                    .ok_or_else(|| bad(key, "must be a list of YYYY-MM-DD dates"))?;
                if days.len() > 366 {
                    return Err(bad(key, "must have at most 366 dates"));
                }
                let mut dates = Vec::with_capacity(days.len());
                for d in days {
                    let s = d
                        .as_str()
                        .filter(|s| is_date(s))
                        .ok_or_else(|| bad(key, "must be a list of YYYY-MM-DD dates"))?;
                    dates.push(Value::from(s));
                }
                Value::Array(dates)
            }
            "offhours_notify_emails" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| bad(key, "must be a list of e-mail addresses"))?;
                if list.len() > 20 {
                    return Err(bad(key, "must have at most 20 addresses"));
                }
                let mut emails = Vec::with_capacity(list.len());
                for e in list {
                    let s = e
                        .as_str()
                        .ok_or_else(|| bad(key, "must be a list of e-mail addresses"))?;
                    let s = validate::email(key, s)?;
                    emails.push(Value::from(s));
                }
                Value::Array(emails)
            }
            "offhours_digest" => Value::Bool(
                v.as_bool()
                    .ok_or_else(|| bad(key, "must be true or false"))?,
            ),
            "sla_policy" => {
                let p: SlaPolicyConfig = serde_json::from_value(v.clone()).map_err(|e| {
                    bad(
                        key,
                        format!("must be {{only_during_business_hours, targets, escalation}}: {e}"),
                    )
                })?;
                if p.targets.is_empty() {
                    return Err(bad("sla_policy.targets", "must name at least one priority"));
                }
                for (prio, t) in &p.targets {
                    if Priority::parse(prio).is_none() {
                        return Err(bad(
                            "sla_policy.targets",
                            format!("unknown priority {prio:?}; use {}", Priority::expected()),
                        ));
                    }
                    for (f, secs) in [
                        (
                            "first_response_time_threshold",
                            t.first_response_time_threshold,
                        ),
                        (
                            "next_response_time_threshold",
                            t.next_response_time_threshold,
                        ),
                    ] {
                        if !(1..=MAX_TARGET_SECS).contains(&secs) {
                            return Err(bad(
                                &format!("sla_policy.targets.{prio}.{f}"),
                                "must be 1 second to 30 days",
                            ));
                        }
                    }
                }
                serde_json::to_value(&p).map_err(|e| ServiceError::Internal(e.to_string()))?
            }
            _ => continue,
        };
        out.insert(key.into(), checked);
    }
    Ok(out)
}

/// The calendar of a week in a time zone, with holidays.
pub(crate) fn calendar_of(
    timezone: &str,
    week: &[WorkingDay],
    holidays: &[String],
) -> Option<Calendar> {
    let hours = week
        .iter()
        .map(|d| WorkingHours {
            day_of_week: d.day_of_week,
            closed_all_day: d.closed_all_day,
            open_all_day: d.open_all_day,
            open_hour: d.open_hour,
            open_minutes: d.open_minutes,
            close_hour: d.close_hour,
            close_minutes: d.close_minutes,
        })
        .collect();
    Calendar::new(CalendarConfig {
        timezone: timezone.to_string(),
        working_hours: hours,
        holidays: holidays
            .iter()
            .map(|d| Holiday {
                date: d.clone(),
                name: None,
            })
            .collect(),
        overrides: Vec::new(),
    })
    .ok()
}

/// The inbox's working-hours calendar; `None` when it keeps no working hours (always open).
pub fn inbox_calendar(inbox: &InboxRow) -> Option<Calendar> {
    if inbox.working_hours_enabled == 0 {
        return None;
    }
    let settings = inbox.settings_map();
    let routing = InboxRouting::of(&settings);
    calendar_of(&inbox.timezone, &working_week(&settings), &routing.holidays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fields_are_checked() {
        let ok = check_routing_fields(&obj(json!({
            "default_team_id": 3, "reassign_after_minutes": 5, "holidays": ["2026-12-31"],
            "offhours_notify_emails": ["Boss@Shop.test"], "offhours_digest": true,
            "sla_policy": {"only_during_business_hours": true,
                           "targets": {"none": {"first_response_time_threshold": 600,
                                                "next_response_time_threshold": 900}}},
            "unrelated": 1
        })))
        .unwrap();
        assert_eq!(ok.len(), 6);
        let r = InboxRouting::of(&ok);
        assert_eq!(r.default_team_id, Some(3));
        assert_eq!(r.reassign_after_minutes, Some(5));
        assert!(r.offhours_digest);
        let p = r.sla_policy.unwrap().policy_for(Some("high")).unwrap();
        assert_eq!(p.first_response_ms, 600_000);
        assert!(p.working_hours_only);

        for bad in [
            json!({"reassign_after_minutes": 0}),
            json!({"holidays": ["2026-02-30"]}),
            json!({"holidays": "2026-01-01"}),
            json!({"offhours_notify_emails": ["not an address"]}),
            json!({"sla_policy": {"targets": {}}}),
            json!({"sla_policy": {"targets": {"soon": {"first_response_time_threshold": 1, "next_response_time_threshold": 1}}}}),
            json!({"sla_policy": {"targets": {"none": {"first_response_time_threshold": 0, "next_response_time_threshold": 1}}}}),
            json!({"default_team_id": "x"}),
        ] {
            assert!(check_routing_fields(&obj(bad.clone())).is_err(), "{bad}");
        }
        let cleared = check_routing_fields(&obj(json!({"sla_policy": null}))).unwrap();
        assert!(cleared["sla_policy"].is_null());
    }
}
