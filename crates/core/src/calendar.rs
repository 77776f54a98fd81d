//! Working-hours calendar of an inbox: when the business is open, and how much open
//! time lies between two instants.
//!
//! The schedule is written the way a shop owner thinks about it (wall-clock hours in the
//! inbox's own time zone, holidays by date), but every query takes and returns epoch
//! milliseconds, the project's one time representation, so callers never handle zones
//! and DST themselves. The weekly entries use Chatwoot's `working_hours` shape so its
//! clients can send and read them unchanged.
//!
//! All queries walk the calendar one local day at a time (each day has at most one open
//! window, see [`WorkingHours`]) and stop after [`HORIZON_DAYS`], so even a calendar that
//! is closed forever answers in bounded time.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::validate::FieldError;

/// How far ahead (in local days) a query looks. Two years covers any realistic closure
/// (long holidays, seasonal businesses) while bounding the work of a calendar that never
/// opens; past it, queries answer `None` ("not within the horizon").
pub const HORIZON_DAYS: usize = 2 * 366;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// One weekday of the weekly schedule, in Chatwoot's shape (`day_of_week` 0 = Sunday).
///
/// A day has a single open window `[open, close)` in local wall-clock time; `close` may
/// be 24:00 (end of day). Overnight windows (close before open) are rejected rather than
/// guessed at: model them as one day closing at 24:00 and the next opening at 00:00,
/// which the queries treat as one continuous open period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    pub day_of_week: u8,
    #[serde(default)]
    pub closed_all_day: bool,
    #[serde(default)]
    pub open_all_day: bool,
    #[serde(default)]
    pub open_hour: Option<u8>,
    #[serde(default)]
    pub open_minutes: Option<u8>,
    #[serde(default)]
    pub close_hour: Option<u8>,
    #[serde(default)]
    pub close_minutes: Option<u8>,
}

impl WorkingHours {
    /// Open from `open` to `close`, each `(hour, minute)`; `(24, 0)` closes at midnight.
    pub fn hours(day_of_week: u8, open: (u8, u8), close: (u8, u8)) -> Self {
        Self {
            day_of_week,
            closed_all_day: false,
            open_all_day: false,
            open_hour: Some(open.0),
            open_minutes: Some(open.1),
            close_hour: Some(close.0),
            close_minutes: Some(close.1),
        }
    }

    /// Closed the whole day.
    pub fn closed(day_of_week: u8) -> Self {
        Self {
            closed_all_day: true,
            ..Self::hours(day_of_week, (0, 0), (0, 0))
        }
    }

    /// Open around the clock that day.
    pub fn all_day(day_of_week: u8) -> Self {
        Self {
            open_all_day: true,
            ..Self::hours(day_of_week, (0, 0), (0, 0))
        }
    }
}

/// A date on which the inbox is closed all day (public holiday, inventory day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// `YYYY-MM-DD`, a local date in the calendar's time zone.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Hours for one specific date that replace the weekly schedule (a short day before a
/// holiday, a Saturday opening before Christmas).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateOverride {
    /// `YYYY-MM-DD`, a local date in the calendar's time zone.
    pub date: String,
    #[serde(default)]
    pub closed_all_day: bool,
    #[serde(default)]
    pub open_all_day: bool,
    #[serde(default)]
    pub open_hour: Option<u8>,
    #[serde(default)]
    pub open_minutes: Option<u8>,
    #[serde(default)]
    pub close_hour: Option<u8>,
    #[serde(default)]
    pub close_minutes: Option<u8>,
}

/// The stored, serialisable form of a calendar; [`Calendar::new`] validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarConfig {
    /// IANA time zone name, e.g. `Europe/Berlin` (Chatwoot's inbox field `timezone`).
    pub timezone: String,
    /// Days not listed are closed.
    #[serde(default)]
    pub working_hours: Vec<WorkingHours>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    #[serde(default)]
    pub overrides: Vec<DateOverride>,
}

/// Why a calendar configuration was refused; the message names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("day_of_week must be 0 (Sunday) to 6 (Saturday), got {0}")]
    DayOfWeekOutOfRange(u8),
    #[error("day_of_week {0} is listed more than once")]
    DuplicateDay(u8),
    #[error("{entry}: {field} is out of range ({value})")]
    OutOfRange {
        entry: String,
        field: &'static str,
        value: u8,
    },
    #[error("{entry}: {field} is required unless the day is closed or open all day")]
    MissingHours { entry: String, field: &'static str },
    #[error("{entry}: cannot be both closed_all_day and open_all_day")]
    ClosedAndOpenAllDay { entry: String },
    #[error("{entry}: opening time {open} must be before closing time {close}")]
    OpenNotBeforeClose {
        entry: String,
        open: String,
        close: String,
    },
    #[error("{0:?} is not a date (expected YYYY-MM-DD)")]
    InvalidDate(String),
    #[error("date {0} is listed more than once among holidays and overrides")]
    DuplicateDate(String),
}

impl CalendarError {
    /// The request field the error belongs to, for the API's 422 answers.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UnknownTimeZone(_) => "timezone",
            Self::InvalidDate(_) | Self::DuplicateDate(_) => "holidays",
            _ => "working_hours",
        }
    }
}

impl From<CalendarError> for FieldError {
    fn from(e: CalendarError) -> Self {
        FieldError::new(e.field(), e.to_string())
    }
}

/// What a local day looks like after validation; minutes since local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    Closed,
    Open { open: u16, close: u16 },
}

/// One open window in epoch ms, `[start, end)`, and the index of its local day in the
/// walk (so a period that runs into the horizon can be told apart from a real close).
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
    day: usize,
}

/// A validated working-hours calendar. Cheap to query; build it once per inbox.
#[derive(Debug, Clone)]
pub struct Calendar {
    config: CalendarConfig,
    tz: TimeZone,
    weekly: [DayRule; 7],
    dated: BTreeMap<Date, DayRule>,
}

impl Calendar {
    /// Validates `config` and resolves its time zone from the tz database bundled in the
    /// binary, so the same configuration gives the same deadlines on every host.
    pub fn new(config: CalendarConfig) -> Result<Self, CalendarError> {
        let tz = TimeZone::get(&config.timezone)
            .map_err(|_| CalendarError::UnknownTimeZone(config.timezone.clone()))?;
        let mut weekly = [DayRule::Closed; 7];
        let mut seen = [false; 7];
        for wh in &config.working_hours {
            let d = wh.day_of_week;
            let idx = usize::from(d);
            if idx >= 7 {
                return Err(CalendarError::DayOfWeekOutOfRange(d));
            }
            if seen[idx] {
                return Err(CalendarError::DuplicateDay(d));
            }
            seen[idx] = true;
            weekly[idx] = day_rule(
                &format!("day_of_week {d}"),
                wh.closed_all_day,
                wh.open_all_day,
                [
                    wh.open_hour,
                    wh.open_minutes,
                    wh.close_hour,
                    wh.close_minutes,
                ],
            )?;
        }
        let mut dated = BTreeMap::new();
        for h in &config.holidays {
            let date = parse_date(&h.date)?;
            if dated.insert(date, DayRule::Closed).is_some() {
                return Err(CalendarError::DuplicateDate(date.to_string()));
            }
        }
        for o in &config.overrides {
            let date = parse_date(&o.date)?;
            let rule = day_rule(
                &format!("override {date}"),
                o.closed_all_day,
                o.open_all_day,
                [o.open_hour, o.open_minutes, o.close_hour, o.close_minutes],
            )?;
            if dated.insert(date, rule).is_some() {
                return Err(CalendarError::DuplicateDate(date.to_string()));
            }
        }
        Ok(Self {
            config,
            tz,
            weekly,
            dated,
        })
    }

    /// Open around the clock in UTC: what an inbox without working hours behaves like,
    /// so callers need no separate code path for "no calendar".
    pub fn always_open() -> Self {
        Self {
            config: CalendarConfig {
                timezone: "UTC".into(),
                working_hours: (0..7).map(WorkingHours::all_day).collect(),
                holidays: Vec::new(),
                overrides: Vec::new(),
            },
            tz: TimeZone::UTC,
            weekly: [DayRule::Open {
                open: 0,
                close: MINUTES_PER_DAY,
            }; 7],
            dated: BTreeMap::new(),
        }
    }

    /// The configuration this calendar was built from (to store or send back).
    pub fn config(&self) -> &CalendarConfig {
        &self.config
    }

    /// Whether the inbox is open at `at` (epoch ms). Windows are half-open: open at the
    /// opening instant, closed at the closing instant.
    pub fn is_open(&self, at: i64) -> bool {
        self.windows_from(at).next().is_some_and(|w| w.start <= at)
    }

    /// The earliest instant at or after `at` when the inbox is open: `at` itself when it
    /// is open now, else the next opening. `None` if it does not open within the horizon.
    pub fn next_open(&self, at: i64) -> Option<i64> {
        self.windows_from(at).next().map(|w| w.start.max(at))
    }

    /// The earliest instant at or after `at` when the inbox is closed: `at` itself when
    /// it is closed now, else the end of the current open period (back-to-back windows,
    /// such as a day open until 24:00 followed by one opening at 00:00, count as one).
    /// `None` if it stays open through the whole horizon (an always-open calendar).
    pub fn next_close(&self, at: i64) -> Option<i64> {
        let mut windows = self.windows_from(at);
        let Some(first) = windows.next() else {
            // Nothing opens within the horizon; closed now (or `at` is out of range).
            return Timestamp::from_millisecond(at).ok().map(|_| at);
        };
        if first.start > at {
            return Some(at);
        }
        let mut end = first;
        for w in windows {
            if w.start != end.end {
                break;
            }
            end = w;
        }
        (end.day < Self::LAST_DAY).then_some(end.end)
    }

    /// The deadline that lies `duration_ms` of open time after `start`: only time while
    /// the inbox is open counts, which is what an SLA "in working hours only" means.
    /// A deadline that is used up exactly at a closing time is that closing time (not the
    /// next opening). A zero or negative duration gives `start`. `None` if the open time
    /// within the horizon is not enough.
    pub fn add_working_time(&self, start: i64, duration_ms: i64) -> Option<i64> {
        Timestamp::from_millisecond(start).ok()?;
        let mut remaining = duration_ms.max(0);
        if remaining == 0 {
            return Some(start);
        }
        for w in self.windows_from(start) {
            let from = w.start.max(start);
            let available = w.end - from;
            if available >= remaining {
                return Some(from + remaining);
            }
            remaining -= available;
        }
        None
    }

    /// Open time in ms between `a` and `b`; negative when `b` is before `a`, so that
    /// `working_time_between(a, add_working_time(a, d)) == d`. Only open time within the
    /// horizon after the earlier instant is counted, which bounds the cost; SLA and
    /// statistics spans are far shorter.
    pub fn working_time_between(&self, a: i64, b: i64) -> i64 {
        if b < a {
            return -self.working_time_between(b, a);
        }
        let mut total = 0;
        for w in self.windows_from(a) {
            if w.start >= b {
                break;
            }
            total += w.end.min(b) - w.start.max(a);
        }
        total
    }

    /// Index of the last local day a walk looks at.
    const LAST_DAY: usize = HORIZON_DAYS;

    /// Open windows that end after `at`, in time order, over the horizon. The walk starts
    /// one local day before `at`'s date: a fold at midnight can put `at` on a local date
    /// whose window lies entirely before it, and the extra day is cheaper than reasoning
    /// about it.
    fn windows_from(&self, at: i64) -> impl Iterator<Item = Window> + '_ {
        let first = Timestamp::from_millisecond(at).ok().map(|ts| {
            let date = self.tz.to_datetime(ts).date();
            date.yesterday().unwrap_or(date)
        });
        std::iter::successors(first, |d| d.tomorrow().ok())
            .take(Self::LAST_DAY + 1)
            .enumerate()
            .filter_map(move |(day, date)| {
                let (start, end) = self.window(date)?;
                (end > at).then_some(Window { start, end, day })
            })
    }

    /// The open window of one local date in epoch ms, if it opens at all.
    fn window(&self, date: Date) -> Option<(i64, i64)> {
        let rule = self.dated.get(&date).copied().unwrap_or_else(|| {
            self.weekly[usize::from(date.weekday().to_sunday_zero_offset().unsigned_abs())]
        });
        let DayRule::Open { open, close } = rule else {
            return None;
        };
        let start = self.instant(date, open)?;
        let end = self.instant(date, close)?;
        // Only empty when both ends fall into the same DST gap.
        (end > start).then_some((start, end))
    }

    /// The first instant at which the local wall clock on `date` reads `minute` (minutes
    /// since midnight, 1440 = next midnight) or later.
    ///
    /// That rule settles DST without surprises: a time skipped by spring-forward maps to
    /// the moment of the jump (the clock passes it there), and a time that occurs twice
    /// at fall-back maps to its first occurrence, so each day keeps exactly one window.
    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= MINUTES_PER_DAY {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let min = i8::try_from(minute % 60).ok()?;
        let dt = date.to_datetime(Time::new(hour, min, 0, 0).ok()?);
        first_instant_at_or_after(&self.tz, dt).map(Timestamp::as_millisecond)
    }
}

/// See [`Calendar::instant`] for why gaps and folds resolve this way.
fn first_instant_at_or_after(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let amb = tz.to_ambiguous_timestamp(dt);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => amb.earlier().ok(),
        AmbiguousOffset::Gap { .. } => {
            // `earlier` reads the skipped time with the post-jump offset, which lands
            // just before the jump; the next transition is the jump itself.
            let before = amb.earlier().ok()?;
            tz.following(before)
                .next()
                .map(|t| t.timestamp())
                .or_else(|| amb.later().ok())
        }
    }
}

fn parse_date(s: &str) -> Result<Date, CalendarError> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| CalendarError::InvalidDate(s.to_string()))
}

/// Validates one day's flags and `[open_hour, open_minutes, close_hour, close_minutes]`.
fn day_rule(
    entry: &str,
    closed_all_day: bool,
    open_all_day: bool,
    hm: [Option<u8>; 4],
) -> Result<DayRule, CalendarError> {
    match (closed_all_day, open_all_day) {
        (true, true) => {
            return Err(CalendarError::ClosedAndOpenAllDay {
                entry: entry.to_string(),
            });
        }
        (true, false) => return Ok(DayRule::Closed),
        (false, true) => {
            return Ok(DayRule::Open {
                open: 0,
                close: MINUTES_PER_DAY,
            });
        }
        (false, false) => {}
    }
    const FIELDS: [&str; 4] = ["open_hour", "open_minutes", "close_hour", "close_minutes"];
    let mut v = [0u8; 4];
    for (i, (value, field)) in hm.iter().zip(FIELDS).enumerate() {
        v[i] = value.ok_or_else(|| CalendarError::MissingHours {
            entry: entry.to_string(),
            field,
        })?;
    }
    let [oh, om, ch, cm] = v;
    let out_of_range = |field: &'static str, value: u8| CalendarError::OutOfRange {
        entry: entry.to_string(),
        field,
        value,
    };
    if oh > 23 {
        return Err(out_of_range("open_hour", oh));
    }
    if om > 59 {
        return Err(out_of_range("open_minutes", om));
    }
    if ch > 24 {
        return Err(out_of_range("close_hour", ch));
    }
    // 24:00 is the only valid time in hour 24.
    if cm > 59 || (ch == 24 && cm != 0) {
        return Err(out_of_range("close_minutes", cm));
    }
    let open = u16::from(oh) * 60 + u16::from(om);
    let close = u16::from(ch) * 60 + u16::from(cm);
    if open >= close {
        return Err(CalendarError::OpenNotBeforeClose {
            entry: entry.to_string(),
            open: format!("{oh:02}:{om:02}"),
            close: format!("{ch:02}:{cm:02}"),
        });
    }
    Ok(DayRule::Open { open, close })
}
