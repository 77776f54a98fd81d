//! An inbox's routing and response-standard settings: its default team, how long an agent
//! may stay silent, holidays, who hears about off-hours questions, and the reply targets.
//!
//! They live in the inbox's settings object beside the channel options, under the keys in
//! [`ROUTING_KEYS`], and travel as top-level fields of Chatwoot-style inbox requests. This
//! module checks what a request sends and reads back the typed form for the services.

use parley_core::calendar::{Calendar, CalendarConfig, Holiday, WorkingHours};
use parley_core::{Priority, validate};
use parley_store::inboxes::InboxRow;
use serde_json::{Map, Value};

/// The typed routing part of an inbox's settings lives with the other typed settings;
/// named here as before.
pub use crate::settings::{Escalation, InboxRouting, SlaPolicyConfig, SlaTarget};
use crate::settings::{InboxSettings, WorkingDay};
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
                // A number, or a string of digits as Chatwoot's clients send ids.
                let id = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|t| t.trim().parse::<i64>().ok()))
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
    let settings = InboxSettings::of(inbox);
    calendar_of(
        &inbox.timezone,
        &settings.working_hours,
        &settings.routing.holidays,
    )
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
