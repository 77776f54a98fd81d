//! Activity lines: the system's notes in a conversation's history ("Assigned to Ivan by
//! Maria", "First response target missed").
//!
//! Each line is stored twice over, from one value of [`Activity`]: as English `content`
//! (what Chatwoot stores, and what API clients, webhooks and e-mail transcripts read) and
//! as `content_attributes.activity`, a machine-readable description with a `kind` from a
//! closed set and the facts the line is about. Consoles render the attributes in their
//! operator's language (and times in the operator's zone) instead of guessing from the
//! English. Both come out of [`Activity::text`] and [`Activity::attributes`] on the same
//! value, so the two can never say different things.
//!
//! Names inside (agents, teams) are the display names at the time of the event: the line
//! records what happened then, and stays readable after someone is renamed or removed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every kind of activity line, as stored in `content_attributes.activity.kind`.
///
/// Adding a kind means adding it here, to [`Activity`] and to both console dictionaries
/// (a test checks the dictionaries against this list).
pub const KINDS: &[&str] = &[
    "resolved",
    "resolved_by_contact",
    "reopened",
    "snooze_ended",
    "pending",
    "snoozed",
    "self_assigned",
    "assigned",
    "assigned_team",
    "unassigned",
    "unassigned_team",
    "auto_assigned",
    "went_offline",
    "silent",
    "returned_to_queue",
    "first_response_missed",
    "next_response_missed",
    "priority_raised",
    "taken_missed",
    "transferred",
    "automation",
    "muted",
    "unmuted",
    "handed_off",
    "handoff_requested",
];

/// One activity line. Serialised with its `kind` as the tag:
/// `{"kind": "assigned", "agent": "Ivan", "by": "Maria"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activity {
    /// An agent resolved the conversation.
    Resolved { by: String },
    /// The visitor resolved it (Client API `toggle_status`).
    ResolvedByContact,
    /// An agent reopened it.
    Reopened { by: String },
    /// Its snooze time passed and it opened again by itself.
    SnoozeEnded,
    /// An agent set it to pending.
    Pending { by: String },
    /// An agent snoozed it.
    Snoozed { by: String },
    /// An agent took it (assigned themselves, or claimed it from the queue).
    SelfAssigned { agent: String },
    /// `by` assigned it to `agent`.
    Assigned { agent: String, by: String },
    /// `by` gave it to a team.
    AssignedTeam { team: String, by: String },
    /// `by` removed its agent.
    Unassigned { by: String },
    /// `by` removed its team.
    UnassignedTeam { by: String },
    /// Routing gave it to `agent`; `returning`: because they served this customer before.
    AutoAssigned { agent: String, returning: bool },
    /// `agent` went offline with the customer waiting; it went back to the queue.
    WentOffline { agent: String },
    /// `agent` did not answer within `minutes`; it went back to the queue.
    Silent { agent: String, minutes: u32 },
    /// `agent`, who got it by re-assignment, did not answer within `minutes` either: it
    /// waits at the head of the queue for someone who has not had it in this wait (no
    /// second re-assignment, so never back and forth between two agents).
    ReturnedToQueue { agent: String, minutes: u32 },
    /// The first-response target passed. `due_at` is epoch seconds; `time_zone` is the
    /// inbox's, in which the English text states the time.
    FirstResponseMissed { due_at: i64, time_zone: String },
    /// The next-response target passed (as above).
    NextResponseMissed { due_at: i64, time_zone: String },
    /// Escalation raised the priority to `priority` (a wire name: urgent, high, medium, low).
    PriorityRaised { priority: String },
    /// Escalation took it from `agent` back to the queue.
    TakenMissed { agent: String },
    /// `by` transferred it (`POST …/transfer`, usually with a private note just before this
    /// line). `agent` and `team` are where it went; neither means back to the queue.
    Transferred {
        by: String,
        #[serde(default)]
        agent: Option<String>,
        #[serde(default)]
        team: Option<String>,
    },
    /// `by` muted it: resolved, and the contact's messages do not reopen it for a while.
    Muted { by: String },
    /// `by` unmuted it.
    Unmuted { by: String },
    /// Automation rule `rule` (or macro) did `action` (an action name of
    /// `automation::ACTIONS`), with `value` (a label, a priority…) when it has one. Actions
    /// that write their own line (assignments, status changes) name the rule as `by`.
    Automation {
        rule: String,
        action: String,
        #[serde(default)]
        value: Option<String>,
        /// For a macro: the agent who ran it (`rule` is then the macro's name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// A pending conversation (a bot's) was opened for agents by `by` (the bot, or a
    /// person): it enters routing now.
    HandedOff { by: String },
    /// The customer wrote one of the bot's hand-off words; bot `by` handed off.
    HandoffRequested { by: String },
}

impl Activity {
    /// The kind's wire name (one of [`KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Activity::Resolved { .. } => "resolved",
            Activity::ResolvedByContact => "resolved_by_contact",
            Activity::Reopened { .. } => "reopened",
            Activity::SnoozeEnded => "snooze_ended",
            Activity::Pending { .. } => "pending",
            Activity::Snoozed { .. } => "snoozed",
            Activity::SelfAssigned { .. } => "self_assigned",
            Activity::Assigned { .. } => "assigned",
            Activity::AssignedTeam { .. } => "assigned_team",
            Activity::Unassigned { .. } => "unassigned",
            Activity::UnassignedTeam { .. } => "unassigned_team",
            Activity::AutoAssigned { .. } => "auto_assigned",
            Activity::WentOffline { .. } => "went_offline",
            Activity::Silent { .. } => "silent",
            Activity::ReturnedToQueue { .. } => "returned_to_queue",
            Activity::FirstResponseMissed { .. } => "first_response_missed",
            Activity::NextResponseMissed { .. } => "next_response_missed",
            Activity::PriorityRaised { .. } => "priority_raised",
            Activity::TakenMissed { .. } => "taken_missed",
            Activity::Transferred { .. } => "transferred",
            Activity::Automation { .. } => "automation",
            Activity::Muted { .. } => "muted",
            Activity::Unmuted { .. } => "unmuted",
            Activity::HandedOff { .. } => "handed_off",
            Activity::HandoffRequested { .. } => "handoff_requested",
        }
    }

    /// The English line stored as the message's `content`. The phrases of the kinds
    /// Chatwoot also has are Chatwoot's, so its clients read what they expect.
    pub fn text(&self) -> String {
        match self {
            Activity::Resolved { by } => format!("Conversation was marked resolved by {by}"),
            Activity::ResolvedByContact => "Conversation was marked resolved by the contact".into(),
            Activity::Reopened { by } => format!("Conversation was reopened by {by}"),
            Activity::SnoozeEnded => "Conversation was reopened as the snooze ended".into(),
            Activity::Pending { by } => format!("Conversation was marked as pending by {by}"),
            Activity::Snoozed { by } => format!("Conversation was snoozed by {by}"),
            Activity::SelfAssigned { agent } => format!("{agent} self-assigned this conversation"),
            Activity::Assigned { agent, by } => format!("Assigned to {agent} by {by}"),
            Activity::AssignedTeam { team, by } => format!("Assigned to {team} team by {by}"),
            Activity::Unassigned { by } => format!("Conversation unassigned by {by}"),
            Activity::UnassignedTeam { by } => format!("Unassigned from team by {by}"),
            Activity::AutoAssigned {
                agent,
                returning: true,
            } => format!("Assigned to {agent} automatically (returning customer)"),
            Activity::AutoAssigned {
                agent,
                returning: false,
            } => format!("Assigned to {agent} automatically"),
            Activity::WentOffline { agent } => {
                format!("{agent} went offline; conversation returned to the queue")
            }
            Activity::Silent { agent, minutes } => format!(
                "{agent} did not answer within {minutes} min; conversation returned to the queue"
            ),
            Activity::ReturnedToQueue { agent, minutes } => format!(
                "{agent} did not answer within {minutes} min either; conversation waits at the head of the queue"
            ),
            Activity::FirstResponseMissed { due_at, time_zone } => format!(
                "First response target missed (was due {})",
                crate::calendar::local_label(time_zone, due_at.saturating_mul(1000))
            ),
            Activity::NextResponseMissed { due_at, time_zone } => format!(
                "Next response target missed (was due {})",
                crate::calendar::local_label(time_zone, due_at.saturating_mul(1000))
            ),
            Activity::PriorityRaised { priority } => {
                format!("Priority raised to {priority} (target missed)")
            }
            Activity::TakenMissed { agent } => {
                format!("Taken from {agent} (target missed); conversation returned to the queue")
            }
            Activity::Transferred { by, agent, team } => match (agent, team) {
                (Some(a), Some(t)) => format!("Transferred to {a} ({t} team) by {by}"),
                (Some(a), None) => format!("Transferred to {a} by {by}"),
                (None, Some(t)) => format!("Transferred to {t} team by {by}"),
                (None, None) => format!("Transferred to the queue by {by}"),
            },
            Activity::Muted { by } => format!("{by} has muted the conversation"),
            Activity::Unmuted { by } => format!("{by} has unmuted the conversation"),
            Activity::Automation {
                rule,
                action,
                value,
                by,
            } => {
                let who = match by {
                    Some(agent) => format!("{agent} (macro «{rule}»)"),
                    None => format!("Automation rule «{rule}»"),
                };
                let what = action.replace('_', " ");
                match value {
                    Some(v) => format!("{who}: {what} {v}"),
                    None => format!("{who}: {what}"),
                }
            }
            Activity::HandedOff { by } => format!("Conversation was handed off to agents by {by}"),
            Activity::HandoffRequested { by } => {
                format!("The customer asked for a person; {by} handed the conversation to agents")
            }
        }
    }

    /// The same line when automation rule `rule` did it rather than a person: a line that
    /// names who acted (a status change, an assignment) becomes the rule's own
    /// [`Activity::Automation`] line with the action's name, so no person's name is put
    /// where the rule's goes and consoles say it in the operator's language. Lines without
    /// an actor are kept as they are.
    pub fn by_rule(self, rule: String) -> Activity {
        let line = |action: &str, value: Option<String>| Activity::Automation {
            rule: rule.clone(),
            action: action.into(),
            value,
            by: None,
        };
        match self {
            Activity::Resolved { .. } => line("resolve_conversation", None),
            Activity::Reopened { .. } => line("open_conversation", None),
            Activity::Pending { .. } => line("change_status", Some("pending".into())),
            Activity::Snoozed { .. } => line("snooze_conversation", None),
            Activity::Assigned { agent, .. } | Activity::SelfAssigned { agent } => {
                line("assign_agent", Some(agent))
            }
            Activity::AssignedTeam { team, .. } => line("assign_team", Some(team)),
            Activity::Unassigned { .. } => line("remove_assigned_agent", None),
            Activity::UnassignedTeam { .. } => line("remove_assigned_team", None),
            Activity::Muted { .. } => line("mute_conversation", None),
            Activity::Transferred { agent, team, .. } => line("transfer", agent.or(team)),
            other => other,
        }
    }

    /// The message's `content_attributes`: `{"activity": {"kind": …, …}}`.
    pub fn attributes(&self) -> Value {
        let mut map = serde_json::Map::new();
        map.insert(
            "activity".into(),
            serde_json::to_value(self).unwrap_or(Value::Null),
        );
        Value::Object(map)
    }

    /// Reads the description back from a message's `content_attributes`; `None` for
    /// messages stored before activity lines were described, or of a kind this build does
    /// not know.
    pub fn from_attributes(attrs: &Value) -> Option<Activity> {
        serde_json::from_value(attrs.get("activity")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A rule's status change or assignment is the rule's own line, never a person's.
    #[test]
    fn lines_with_an_actor_name_the_rule() {
        let rule = || "Оплата".to_string();
        let automation = |action: &str, value: Option<&str>| Activity::Automation {
            rule: rule(),
            action: action.into(),
            value: value.map(String::from),
            by: None,
        };
        let by = || "automation rule".to_string();
        assert_eq!(
            Activity::AssignedTeam {
                team: "Payments".into(),
                by: by()
            }
            .by_rule(rule()),
            automation("assign_team", Some("Payments"))
        );
        assert_eq!(
            Activity::Resolved { by: by() }.by_rule(rule()),
            automation("resolve_conversation", None)
        );
        assert_eq!(
            Activity::Pending { by: by() }.by_rule(rule()),
            automation("change_status", Some("pending"))
        );
        assert_eq!(
            Activity::Unassigned { by: by() }.by_rule(rule()),
            automation("remove_assigned_agent", None)
        );
        // Lines that name no actor stay as they are.
        assert_eq!(Activity::SnoozeEnded.by_rule(rule()), Activity::SnoozeEnded);
        let text = Activity::AssignedTeam {
            team: "Payments".into(),
            by: by(),
        }
        .by_rule(rule())
        .text();
        assert_eq!(text, "Automation rule «Оплата»: assign team Payments");
    }

    /// One value of every kind.
    fn every_kind() -> Vec<Activity> {
        let s = |v: &str| v.to_string();
        vec![
            Activity::Resolved { by: s("Maria") },
            Activity::ResolvedByContact,
            Activity::Reopened { by: s("Maria") },
            Activity::SnoozeEnded,
            Activity::Pending { by: s("Maria") },
            Activity::Snoozed { by: s("Maria") },
            Activity::SelfAssigned { agent: s("Ivan") },
            Activity::Assigned {
                agent: s("Ivan"),
                by: s("Maria"),
            },
            Activity::AssignedTeam {
                team: s("Payments"),
                by: s("Maria"),
            },
            Activity::Unassigned { by: s("Maria") },
            Activity::UnassignedTeam { by: s("Maria") },
            Activity::AutoAssigned {
                agent: s("Ivan"),
                returning: true,
            },
            Activity::WentOffline { agent: s("Ivan") },
            Activity::Silent {
                agent: s("Ivan"),
                minutes: 5,
            },
            Activity::ReturnedToQueue {
                agent: s("Ivan"),
                minutes: 5,
            },
            Activity::FirstResponseMissed {
                due_at: 1_607_320_800,
                time_zone: s("Europe/Moscow"),
            },
            Activity::NextResponseMissed {
                due_at: 1_607_320_800,
                time_zone: s("UTC"),
            },
            Activity::PriorityRaised {
                priority: s("high"),
            },
            Activity::TakenMissed { agent: s("Ivan") },
            Activity::Transferred {
                by: s("Maria"),
                agent: Some(s("Ivan")),
                team: None,
            },
            Activity::Automation {
                rule: s("Оплата"),
                action: s("add_label"),
                value: Some(s("payments")),
                by: None,
            },
            Activity::Muted { by: s("Maria") },
            Activity::Unmuted { by: s("Maria") },
            Activity::HandedOff { by: s("Bot") },
            Activity::HandoffRequested { by: s("Bot") },
        ]
    }

    #[test]
    fn kinds_are_listed_once_and_round_trip() {
        let all = every_kind();
        assert_eq!(all.len(), KINDS.len());
        for a in &all {
            assert!(KINDS.contains(&a.kind()), "{} is not in KINDS", a.kind());
            let attrs = a.attributes();
            assert_eq!(attrs["activity"]["kind"], a.kind());
            assert_eq!(Activity::from_attributes(&attrs).as_ref(), Some(a));
            assert!(!a.text().is_empty());
        }
        let mut kinds: Vec<&str> = all.iter().map(Activity::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len(), "one example per kind");
    }

    #[test]
    fn english_is_chatwoots_phrasing_and_attributes_carry_the_facts() {
        let a = Activity::Assigned {
            agent: "Ivan".into(),
            by: "Maria".into(),
        };
        assert_eq!(a.text(), "Assigned to Ivan by Maria");
        assert_eq!(
            a.attributes(),
            json!({"activity": {"kind": "assigned", "agent": "Ivan", "by": "Maria"}})
        );
        let a = Activity::Resolved { by: "Maria".into() };
        assert_eq!(a.text(), "Conversation was marked resolved by Maria");
        let a = Activity::AutoAssigned {
            agent: "Ivan".into(),
            returning: false,
        };
        assert_eq!(a.text(), "Assigned to Ivan automatically");
        assert_eq!(a.attributes()["activity"]["returning"], false);
    }

    #[test]
    fn missed_targets_state_the_time_in_the_inbox_zone_and_carry_epoch_seconds() {
        // 2020-12-07 06:00 UTC is Monday 09:00 in Moscow.
        let a = Activity::FirstResponseMissed {
            due_at: 1_607_320_800,
            time_zone: "Europe/Moscow".into(),
        };
        assert_eq!(
            a.text(),
            "First response target missed (was due Mon 07.12 09:00 (Europe/Moscow))"
        );
        assert_eq!(a.attributes()["activity"]["due_at"], 1_607_320_800);
    }

    #[test]
    fn transfers_name_where_the_conversation_went() {
        let t = |agent: Option<&str>, team: Option<&str>| Activity::Transferred {
            by: "Maria".into(),
            agent: agent.map(str::to_string),
            team: team.map(str::to_string),
        };
        assert_eq!(
            t(Some("Ivan"), Some("Payments")).text(),
            "Transferred to Ivan (Payments team) by Maria"
        );
        assert_eq!(t(Some("Ivan"), None).text(), "Transferred to Ivan by Maria");
        assert_eq!(
            t(None, Some("Payments")).text(),
            "Transferred to Payments team by Maria"
        );
        assert_eq!(t(None, None).text(), "Transferred to the queue by Maria");
        assert_eq!(
            t(None, Some("Payments")).attributes(),
            json!({"activity": {"kind": "transferred", "by": "Maria", "agent": null, "team": "Payments"}})
        );
    }

    #[test]
    fn old_or_unknown_attributes_read_as_none() {
        assert_eq!(Activity::from_attributes(&json!({})), None);
        assert_eq!(
            Activity::from_attributes(&json!({"activity": {"kind": "teleported"}})),
            None
        );
        assert_eq!(
            Activity::from_attributes(&json!({"activity": {"kind": "assigned"}})),
            None,
            "missing fields"
        );
    }
}
