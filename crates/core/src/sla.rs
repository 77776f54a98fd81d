//! Response standards (SLA): when a reply is due and whether it is late.
//!
//! Pure arithmetic over epoch milliseconds; the service layer stores the due times,
//! schedules the overdue timers and emits the events.

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::validate::FieldError;

/// Targets of an inbox (per priority): how long the customer may wait for the first
/// answer of a conversation and for each answer after they write again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub first_response_ms: i64,
    pub next_response_ms: i64,
    /// Count only the inbox's open time, so a question asked on Friday evening is not
    /// late on Saturday morning while nobody is supposed to be working.
    #[serde(default)]
    pub working_hours_only: bool,
}

impl SlaPolicy {
    /// Refuses non-positive targets: a zero target would make every conversation overdue
    /// the moment it starts, which is never what an owner means.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, v) in [
            ("first_response_ms", self.first_response_ms),
            ("next_response_ms", self.next_response_ms),
        ] {
            if v <= 0 {
                return Err(FieldError::new(field, "must be greater than 0"));
            }
        }
        Ok(())
    }

    /// When the first agent reply is due for a conversation that started at
    /// `started_at`. `calendar` is the inbox's working hours, `None` when it has none
    /// (then the target runs on wall-clock time even if `working_hours_only` is set).
    /// `None` result: the inbox does not open long enough within the calendar's horizon,
    /// so there is no meaningful due time to show.
    pub fn first_response_due(&self, started_at: i64, calendar: Option<&Calendar>) -> Option<i64> {
        self.due(started_at, self.first_response_ms, calendar)
    }

    /// When the next agent reply is due after the customer's message at
    /// `last_customer_message_at`; same rules as [`Self::first_response_due`].
    pub fn next_response_due(
        &self,
        last_customer_message_at: i64,
        calendar: Option<&Calendar>,
    ) -> Option<i64> {
        self.due(last_customer_message_at, self.next_response_ms, calendar)
    }

    fn due(&self, from: i64, target_ms: i64, calendar: Option<&Calendar>) -> Option<i64> {
        match calendar {
            Some(cal) if self.working_hours_only => cal.add_working_time(from, target_ms),
            _ => from.checked_add(target_ms.max(0)),
        }
    }
}

/// Whether a reply due at `due` is late at `now`. Overdue from the due instant itself,
/// so a timer scheduled for exactly `due` already sees the conversation as overdue.
pub fn is_overdue(due: i64, now: i64) -> bool {
    now >= due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarConfig, WorkingHours};
    use jiff::Timestamp;

    const MIN: i64 = 60_000;

    fn utc(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Mon-Fri 09:00-18:00 in Berlin.
    fn office() -> Calendar {
        Calendar::new(CalendarConfig {
            timezone: "Europe/Berlin".into(),
            working_hours: (1..=5)
                .map(|d| WorkingHours::hours(d, (9, 0), (18, 0)))
                .collect(),
            holidays: Vec::new(),
            overrides: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn due_times_in_working_hours_and_wall_clock() {
        let cal = office();
        // Friday 2026-03-06 17:55 CET = 16:55 UTC.
        let friday_1755 = utc("2026-03-06T16:55:00Z");
        let monday_0905 = utc("2026-03-09T08:05:00Z");
        let working = SlaPolicy {
            first_response_ms: 10 * MIN,
            next_response_ms: 30 * MIN,
            working_hours_only: true,
        };
        let wall = SlaPolicy {
            working_hours_only: false,
            ..working
        };
        // (policy, calendar, from, first due, next due)
        let cases: &[(SlaPolicy, Option<&Calendar>, i64, i64, i64)] = &[
            (
                working,
                Some(&cal),
                friday_1755,
                monday_0905,
                monday_0905 + 20 * MIN,
            ),
            (
                wall,
                Some(&cal),
                friday_1755,
                friday_1755 + 10 * MIN,
                friday_1755 + 30 * MIN,
            ),
            (
                working,
                None,
                friday_1755,
                friday_1755 + 10 * MIN,
                friday_1755 + 30 * MIN,
            ),
        ];
        for (i, &(policy, calendar, from, first, next)) in cases.iter().enumerate() {
            assert_eq!(
                policy.first_response_due(from, calendar),
                Some(first),
                "case {i}"
            );
            assert_eq!(
                policy.next_response_due(from, calendar),
                Some(next),
                "case {i}"
            );
        }
        let never = Calendar::new(CalendarConfig {
            timezone: "UTC".into(),
            working_hours: Vec::new(),
            holidays: Vec::new(),
            overrides: Vec::new(),
        })
        .unwrap();
        assert_eq!(working.first_response_due(friday_1755, Some(&never)), None);
    }

    #[test]
    fn overdue_from_the_due_instant() {
        let due = utc("2026-03-09T08:05:00Z");
        assert!(!is_overdue(due, due - 1));
        assert!(is_overdue(due, due));
        assert!(is_overdue(due, due + 1));
    }

    #[test]
    fn policy_validation() {
        let ok = SlaPolicy {
            first_response_ms: MIN,
            next_response_ms: MIN,
            working_hours_only: false,
        };
        assert!(ok.validate().is_ok());
        let zero = SlaPolicy {
            next_response_ms: 0,
            ..ok
        };
        assert_eq!(zero.validate().unwrap_err().field, "next_response_ms");
        let negative = SlaPolicy {
            first_response_ms: -5,
            ..ok
        };
        assert_eq!(negative.validate().unwrap_err().field, "first_response_ms");
    }
}
