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
