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

    /// Open windows that end after `at`, in time order, over the horizon.
    ///
    /// The walk starts at `at`'s local date D: every window of date X lies within
    /// `[start(X), start(X + 1)]`, where start(X) is the first instant whose wall clock
    /// reads X 00:00 or later (see [`Self::instant`]), and start(D) <= `at`, so no earlier
    /// date can still be open at `at` — even when a fold at midnight (Chile's fall-back)
    /// repeats the end of the previous day.
    fn windows_from(&self, at: i64) -> impl Iterator<Item = Window> + '_ {
        let first = Timestamp::from_millisecond(at)
            .ok()
            .map(|ts| self.tz.to_datetime(ts).date());
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

/// `at` as a short local wall-clock label in `timezone`, e.g. "Mon 07.12 09:00
/// (Europe/Moscow)", for messages that tell a customer when the shop opens. An unknown
/// zone reads as UTC.
pub fn local_label(timezone: &str, at: i64) -> String {
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(at) {
        Ok(ts) => format!(
            "{} ({timezone})",
            zone.to_datetime(ts).strftime("%a %d.%m %H:%M")
        ),
        Err(_) => timezone.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    /// Epoch ms of a local wall-clock time in `tz` (times in tests are never ambiguous).
    fn local(tz: &str, s: &str) -> i64 {
        let dt: DateTime = s.parse().unwrap();
        TimeZone::get(tz)
            .unwrap()
            .to_ambiguous_timestamp(dt)
            .unambiguous()
            .unwrap()
            .as_millisecond()
    }

    fn utc(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Local wall-clock rendering for readable assertion failures.
    fn show(tz: &str, ms: Option<i64>) -> String {
        match ms {
            None => "None".into(),
            Some(ms) => {
                let ts = Timestamp::from_millisecond(ms).unwrap();
                TimeZone::get(tz).unwrap().to_datetime(ts).to_string()
            }
        }
    }

    fn config(tz: &str, days: &[u8], open: (u8, u8), close: (u8, u8)) -> CalendarConfig {
        CalendarConfig {
            timezone: tz.into(),
            working_hours: days
                .iter()
                .map(|&d| WorkingHours::hours(d, open, close))
                .collect(),
            holidays: Vec::new(),
            overrides: Vec::new(),
        }
    }

    /// Monday to Friday, `open` to `close`, weekend closed.
    fn weekdays(tz: &str, open: (u8, u8), close: (u8, u8)) -> Calendar {
        Calendar::new(config(tz, &[1, 2, 3, 4, 5], open, close)).unwrap()
    }

    fn holiday(date: &str) -> Holiday {
        Holiday {
            date: date.into(),
            name: None,
        }
    }

    #[test]
    fn add_working_time_over_weekdays_and_weekends() {
        let tz = "Europe/Berlin";
        let cal = weekdays(tz, (9, 0), (18, 0));
        // (start local, duration, expected local); 2026-03-06 is a Friday.
        let cases: &[(&str, i64, &str)] = &[
            ("2026-03-06T17:55", 10 * MIN, "2026-03-09T09:05"),
            ("2026-03-04T10:00", HOUR, "2026-03-04T11:00"),
            ("2026-03-07T12:00", 10 * MIN, "2026-03-09T09:10"),
            ("2026-03-06T18:00", MIN, "2026-03-09T09:01"),
            ("2026-03-03T08:00", 9 * HOUR, "2026-03-03T18:00"),
            ("2026-03-03T08:00", 9 * HOUR + MIN, "2026-03-04T09:01"),
            ("2026-03-06T17:00", 45 * HOUR, "2026-03-13T17:00"),
            ("2026-03-06T17:00", 0, "2026-03-06T17:00"),
            ("2026-03-07T17:00", 0, "2026-03-07T17:00"),
            // Across Berlin's spring-forward weekend (2026-03-29).
            ("2026-03-27T17:55", 10 * MIN, "2026-03-30T09:05"),
            // Across fall-back (2026-10-25).
            ("2026-10-23T17:55", 10 * MIN, "2026-10-26T09:05"),
        ];
        for &(start, d, want) in cases {
            let got = cal.add_working_time(local(tz, start), d);
            assert_eq!(
                got,
                Some(local(tz, want)),
                "{start} + {d} ms: got {}, want {want}",
                show(tz, got)
            );
        }
    }

    #[test]
    fn other_zones_new_york_dst_kolkata_moscow() {
        // (zone, start local, expected due in UTC) for 17:55 Friday + 10 working minutes
        // in a 9-18 schedule.
        let cases: &[(&str, &str, &str)] = &[
            // New York springs forward on 2026-03-08: Monday is EDT (-4).
            (
                "America/New_York",
                "2026-03-06T17:55",
                "2026-03-09T13:05:00Z",
            ),
            // ... and falls back on 2026-11-01: Monday is EST (-5).
            (
                "America/New_York",
                "2026-10-30T17:55",
                "2026-11-02T14:05:00Z",
            ),
            ("Asia/Kolkata", "2026-03-06T17:55", "2026-03-09T03:35:00Z"),
            ("Europe/Moscow", "2026-03-06T17:55", "2026-03-09T06:05:00Z"),
            ("Europe/Berlin", "2026-03-27T17:55", "2026-03-30T07:05:00Z"),
        ];
        for &(tz, start, want) in cases {
            let cal = weekdays(tz, (9, 0), (18, 0));
            let got = cal.add_working_time(local(tz, start), 10 * MIN);
            assert_eq!(got, Some(utc(want)), "{tz} {start}: got {}", show(tz, got));
        }
        // Kolkata's half-hour offset: open at 09:00 IST is 03:30 UTC.
        let cal = weekdays("Asia/Kolkata", (9, 0), (18, 0));
        let mon_0329_utc = utc("2026-03-09T03:29:59.999Z");
        assert!(!cal.is_open(mon_0329_utc));
        assert!(cal.is_open(mon_0329_utc + 1));
        assert_eq!(
            cal.next_open(mon_0329_utc),
            Some(utc("2026-03-09T03:30:00Z"))
        );
        assert_eq!(
            cal.next_close(utc("2026-03-09T05:00:00Z")),
            Some(utc("2026-03-09T12:30:00Z"))
        );
    }

    #[test]
    fn holidays_and_overrides_are_honoured() {
        let tz = "Europe/Berlin";
        let mut cfg = config(tz, &[1, 2, 3, 4, 5], (9, 0), (18, 0));
        cfg.holidays = vec![
            Holiday {
                date: "2026-04-03".into(),
                name: Some("Good Friday".into()),
            },
            holiday("2026-04-06"),
            holiday("2026-12-25"),
        ];
        cfg.overrides = vec![
            DateOverride {
                date: "2026-12-24".into(),
                closed_all_day: false,
                open_all_day: false,
                open_hour: Some(9),
                open_minutes: Some(0),
                close_hour: Some(13),
                close_minutes: Some(0),
            },
            // A Saturday opening.
            DateOverride {
                date: "2026-12-19".into(),
                closed_all_day: false,
                open_all_day: false,
                open_hour: Some(10),
                open_minutes: Some(0),
                close_hour: Some(14),
                close_minutes: Some(0),
            },
        ];
        let cal = Calendar::new(cfg).unwrap();
        let cases: &[(&str, i64, &str)] = &[
            // Easter: Thursday evening to Tuesday morning.
            ("2026-04-02T17:55", 10 * MIN, "2026-04-07T09:05"),
            ("2026-04-03T12:00", MIN, "2026-04-07T09:01"),
            // Short Christmas Eve, Christmas Day closed, weekend closed.
            ("2026-12-24T12:55", 10 * MIN, "2026-12-28T09:05"),
            // Saturday override open 10-14.
            ("2026-12-18T17:55", 10 * MIN, "2026-12-19T10:05"),
        ];
        for &(start, d, want) in cases {
            let got = cal.add_working_time(local(tz, start), d);
            assert_eq!(got, Some(local(tz, want)), "{start}: got {}", show(tz, got));
        }
        assert!(!cal.is_open(local(tz, "2026-04-03T10:00")));
        assert!(cal.is_open(local(tz, "2026-12-19T11:00")));
        assert!(!cal.is_open(local(tz, "2026-12-24T14:00")));
        assert_eq!(
            cal.next_close(local(tz, "2026-12-24T10:00")),
            Some(local(tz, "2026-12-24T13:00"))
        );
    }

    #[test]
    fn dst_days_in_berlin() {
        let tz = "Europe/Berlin";
        let all_week =
            |open, close| Calendar::new(config(tz, &[0, 1, 2, 3, 4, 5, 6], open, close)).unwrap();
        let always = all_week((0, 0), (24, 0));
        // Spring-forward day has 23 hours, fall-back day 25.
        let cases: &[(&str, &str, i64)] = &[
            ("2026-03-29T00:00", "2026-03-30T00:00", 23 * HOUR),
            ("2026-10-25T00:00", "2026-10-26T00:00", 25 * HOUR),
            ("2026-03-28T00:00", "2026-03-29T00:00", 24 * HOUR),
        ];
        for &(a, b, want) in cases {
            assert_eq!(
                always.working_time_between(local(tz, a), local(tz, b)),
                want,
                "{a}..{b}"
            );
        }

        // Opening at 02:30, a time that does not exist on 2026-03-29: the inbox opens
        // when the clock jumps from 02:00 to 03:00 (01:00 UTC).
        let gap = all_week((2, 30), (10, 0));
        let sat_noon = local(tz, "2026-03-28T12:00");
        assert_eq!(gap.next_open(sat_noon), Some(utc("2026-03-29T01:00:00Z")));
        assert!(!gap.is_open(utc("2026-03-29T00:59:59.999Z")));
        assert!(gap.is_open(utc("2026-03-29T01:00:00Z")));
        // 03:00 CEST to 10:00 CEST: seven hours that day.
        assert_eq!(
            gap.working_time_between(sat_noon, local(tz, "2026-03-29T12:00")),
            7 * HOUR
        );

        // Opening at 02:30 on 2026-10-25, a time that occurs twice: the first one
        // (02:30 CEST = 00:30 UTC) counts.
        let fold = all_week((2, 30), (10, 0));
        assert_eq!(
            fold.next_open(local(tz, "2026-10-24T12:00")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        // Closing at 02:30 that day: closed at the first 02:30, and stays closed when
        // the clock runs through 02:00-02:30 again.
        let close_fold = all_week((0, 0), (2, 30));
        let midnight = local(tz, "2026-10-25T00:00");
        assert_eq!(
            close_fold.next_close(midnight),
            Some(utc("2026-10-25T00:30:00Z"))
        );
        assert!(!close_fold.is_open(utc("2026-10-25T01:15:00Z")));
        assert_eq!(
            close_fold.working_time_between(midnight, local(tz, "2026-10-25T12:00")),
            2 * HOUR + 30 * MIN
        );
        // A 9-18 day is nine hours on both DST days.
        let office = all_week((9, 0), (18, 0));
        for day in ["2026-03-29", "2026-10-25"] {
            let a = local(tz, &format!("{day}T00:00"));
            let b = a + 30 * HOUR;
            assert_eq!(office.working_time_between(a, b), 9 * HOUR, "{day}");
        }
    }

    #[test]
    fn dst_changes_at_midnight_in_santiago() {
        let tz = "America/Santiago";
        let t = |s: &str| {
            TimeZone::get(tz)
                .unwrap()
                .to_datetime(Timestamp::from_millisecond(utc(s)).unwrap())
                .to_string()
        };
        // The zone data this test relies on: fall-back at midnight repeats Saturday's last
        // hour, spring-forward at midnight skips Sunday's first hour.
        assert_eq!(t("2026-04-05T02:59:59Z"), "2026-04-04T23:59:59");
        assert_eq!(t("2026-04-05T03:00:00Z"), "2026-04-04T23:00:00");
        assert_eq!(t("2026-09-06T03:59:59Z"), "2026-09-05T23:59:59");
        assert_eq!(t("2026-09-06T04:00:00Z"), "2026-09-06T01:00:00");

        let mut sat = config(tz, &[], (0, 0), (0, 0));
        sat.working_hours = vec![WorkingHours::all_day(6)];
        let sat = Calendar::new(sat).unwrap();
        // Saturday 2026-04-04: the wall clock first reads Sunday 00:00 at 04:00 UTC, so the
        // repeated hour still belongs to Saturday and the day is 25 hours long.
        assert!(sat.is_open(utc("2026-04-05T02:59:59Z")));
        assert!(sat.is_open(utc("2026-04-05T03:30:00Z")));
        assert!(!sat.is_open(utc("2026-04-05T04:00:00Z")));
        let fri_noon = utc("2026-04-03T16:00:00Z");
        assert_eq!(
            sat.next_close(utc("2026-04-04T12:00:00Z")),
            Some(utc("2026-04-05T04:00:00Z"))
        );
        assert_eq!(
            sat.working_time_between(fri_noon, fri_noon + 3 * 24 * HOUR),
            25 * HOUR
        );
        assert_eq!(
            sat.next_open(utc("2026-04-05T04:00:00Z")),
            Some(utc("2026-04-11T04:00:00Z"))
        );

        let mut sun = config(tz, &[], (0, 0), (0, 0));
        sun.working_hours = vec![WorkingHours::all_day(0)];
        let sun = Calendar::new(sun).unwrap();
        // Sunday 2026-09-06 starts at the jump (there is no 00:00) and lasts 23 hours.
        let sat_noon = utc("2026-09-05T16:00:00Z");
        assert_eq!(sun.next_open(sat_noon), Some(utc("2026-09-06T04:00:00Z")));
        assert_eq!(
            sun.working_time_between(sat_noon, sat_noon + 3 * 24 * HOUR),
            23 * HOUR
        );
    }

    #[test]
    fn always_closed_calendar_answers_none_quickly() {
        let closed = Calendar::new(CalendarConfig {
            timezone: "Europe/Berlin".into(),
            working_hours: (0..7).map(WorkingHours::closed).collect(),
            holidays: Vec::new(),
            overrides: Vec::new(),
        })
        .unwrap();
        let t = utc("2026-03-06T12:00:00Z");
        let started = Instant::now();
        assert!(!closed.is_open(t));
        assert_eq!(closed.next_open(t), None);
        assert_eq!(closed.add_working_time(t, MIN), None);
        assert_eq!(closed.next_close(t), Some(t));
        assert_eq!(closed.working_time_between(t, t + 400 * 24 * HOUR), 0);
        assert!(
            started.elapsed().as_millis() < 500,
            "{:?}",
            started.elapsed()
        );

        // Open only on a date beyond the horizon: still None, not a search forever.
        let mut far = config("Europe/Berlin", &[], (9, 0), (18, 0));
        far.overrides.push(DateOverride {
            date: "2030-01-02".into(),
            closed_all_day: false,
            open_all_day: true,
            open_hour: None,
            open_minutes: None,
            close_hour: None,
            close_minutes: None,
        });
        let far = Calendar::new(far).unwrap();
        assert_eq!(far.next_open(t), None);
        assert_eq!(
            far.next_open(utc("2029-12-01T00:00:00Z")),
            Some(local("Europe/Berlin", "2030-01-02T00:00"))
        );
    }

    #[test]
    fn open_all_day_and_midnight_close() {
        let tz = "America/New_York";
        let always = Calendar::new(CalendarConfig {
            timezone: tz.into(),
            working_hours: (0..7).map(WorkingHours::all_day).collect(),
            holidays: Vec::new(),
            overrides: Vec::new(),
        })
        .unwrap();
        // Elapsed time equals working time, across DST too.
        for start in ["2026-03-07T20:00", "2026-10-31T20:00", "2026-06-01T00:00"] {
            let t = local(tz, start);
            assert!(always.is_open(t));
            assert_eq!(always.next_open(t), Some(t));
            assert_eq!(always.next_close(t), None, "{start}");
            assert_eq!(always.add_working_time(t, 30 * HOUR), Some(t + 30 * HOUR));
        }
        let utc_always = Calendar::always_open();
        let t = utc("2026-03-06T12:00:00Z");
        assert_eq!(utc_always.add_working_time(t, 3 * HOUR), Some(t + 3 * HOUR));
        assert_eq!(utc_always.next_close(t), None);

        // Weekdays around the clock: the open period runs Monday 00:00 to Saturday 00:00.
        let mut cfg = config(tz, &[], (0, 0), (0, 0));
        cfg.working_hours = (1..=5).map(WorkingHours::all_day).collect();
        let weekdays_all = Calendar::new(cfg).unwrap();
        assert_eq!(
            weekdays_all.next_close(local(tz, "2026-03-09T10:00")),
            Some(local(tz, "2026-03-14T00:00"))
        );
        assert_eq!(
            weekdays_all.add_working_time(local(tz, "2026-03-06T23:00"), 2 * HOUR),
            Some(local(tz, "2026-03-09T01:00"))
        );

        // Closing at 24:00 and the next day opening at 00:00 is one open period.
        let late = weekdays(tz, (9, 0), (24, 0));
        assert_eq!(
            late.add_working_time(local(tz, "2026-03-06T23:55"), 10 * MIN),
            Some(local(tz, "2026-03-09T09:05"))
        );
        let mut cfg = config(tz, &[1], (18, 0), (24, 0));
        cfg.working_hours
            .push(WorkingHours::hours(2, (0, 0), (6, 0)));
        let night = Calendar::new(cfg).unwrap();
        assert_eq!(
            night.next_close(local(tz, "2026-03-09T20:00")),
            Some(local(tz, "2026-03-10T06:00"))
        );
        assert!(night.is_open(local(tz, "2026-03-10T00:00")));
    }

    #[test]
    fn validation_errors() {
        let base = || config("Europe/Berlin", &[1], (9, 0), (18, 0));
        let with_day = |wh: WorkingHours| {
            let mut c = base();
            c.working_hours = vec![wh];
            c
        };
        let mut unknown_tz = base();
        unknown_tz.timezone = "Mars/Olympus_Mons".into();
        let mut dup_day = base();
        dup_day.working_hours.push(WorkingHours::closed(1));
        let mut bad_date = base();
        bad_date.holidays.push(holiday("2026-02-30"));
        let mut dup_date = base();
        dup_date.holidays = vec![holiday("2026-12-25"), holiday("2026-12-25")];
        let missing = WorkingHours {
            close_minutes: None,
            ..WorkingHours::hours(1, (9, 0), (18, 0))
        };
        let both = WorkingHours {
            open_all_day: true,
            ..WorkingHours::closed(1)
        };
        let cases: Vec<(CalendarConfig, CalendarError)> = vec![
            (
                unknown_tz,
                CalendarError::UnknownTimeZone("Mars/Olympus_Mons".into()),
            ),
            (
                with_day(WorkingHours::hours(7, (9, 0), (18, 0))),
                CalendarError::DayOfWeekOutOfRange(7),
            ),
            (dup_day, CalendarError::DuplicateDay(1)),
            (
                with_day(WorkingHours::hours(1, (24, 0), (24, 0))),
                CalendarError::OutOfRange {
                    entry: "day_of_week 1".into(),
                    field: "open_hour",
                    value: 24,
                },
            ),
            (
                with_day(WorkingHours::hours(1, (9, 60), (18, 0))),
                CalendarError::OutOfRange {
                    entry: "day_of_week 1".into(),
                    field: "open_minutes",
                    value: 60,
                },
            ),
            (
                with_day(WorkingHours::hours(1, (9, 0), (25, 0))),
                CalendarError::OutOfRange {
                    entry: "day_of_week 1".into(),
                    field: "close_hour",
                    value: 25,
                },
            ),
            (
                with_day(WorkingHours::hours(1, (9, 0), (24, 30))),
                CalendarError::OutOfRange {
                    entry: "day_of_week 1".into(),
                    field: "close_minutes",
                    value: 30,
                },
            ),
            (
                with_day(WorkingHours::hours(1, (22, 0), (6, 0))),
                CalendarError::OpenNotBeforeClose {
                    entry: "day_of_week 1".into(),
                    open: "22:00".into(),
                    close: "06:00".into(),
                },
            ),
            (
                with_day(WorkingHours::hours(1, (9, 0), (9, 0))),
                CalendarError::OpenNotBeforeClose {
                    entry: "day_of_week 1".into(),
                    open: "09:00".into(),
                    close: "09:00".into(),
                },
            ),
            (
                with_day(missing),
                CalendarError::MissingHours {
                    entry: "day_of_week 1".into(),
                    field: "close_minutes",
                },
            ),
            (
                with_day(both),
                CalendarError::ClosedAndOpenAllDay {
                    entry: "day_of_week 1".into(),
                },
            ),
            (bad_date, CalendarError::InvalidDate("2026-02-30".into())),
            (dup_date, CalendarError::DuplicateDate("2026-12-25".into())),
        ];
        for (cfg, want) in cases {
            let got = Calendar::new(cfg.clone()).unwrap_err();
            assert_eq!(got, want, "{cfg:?}");
        }
        // Valid edge values.
        assert!(Calendar::new(with_day(WorkingHours::hours(1, (0, 0), (24, 0)))).is_ok());
        assert!(Calendar::new(with_day(WorkingHours::hours(0, (23, 59), (24, 0)))).is_ok());
        let field: FieldError = CalendarError::UnknownTimeZone("X".into()).into();
        assert_eq!(field.field, "timezone");
    }

    #[test]
    fn reads_chatwoot_working_hours_json() {
        let json = r#"{
            "timezone": "Asia/Kolkata",
            "working_hours": [
                {"id": 1, "inbox_id": 3, "day_of_week": 0, "closed_all_day": true,
                 "open_hour": null, "open_minutes": null, "close_hour": null, "close_minutes": null,
                 "open_all_day": false},
                {"day_of_week": 1, "closed_all_day": false, "open_hour": 9, "open_minutes": 30,
                 "close_hour": 17, "close_minutes": 0, "open_all_day": false},
                {"day_of_week": 6, "open_all_day": true, "closed_all_day": false,
                 "open_hour": 0, "open_minutes": 0, "close_hour": 23, "close_minutes": 59}
            ],
            "holidays": [{"date": "2026-08-15", "name": "Independence Day"}]
        }"#;
        let cfg: CalendarConfig = serde_json::from_str(json).unwrap();
        let cal = Calendar::new(cfg.clone()).unwrap();
        let tz = "Asia/Kolkata";
        assert!(cal.is_open(local(tz, "2026-03-09T09:30")));
        assert!(!cal.is_open(local(tz, "2026-03-09T09:29")));
        assert!(cal.is_open(local(tz, "2026-03-07T23:59:30")));
        assert!(!cal.is_open(local(tz, "2026-03-08T12:00")));
        // 2026-08-15 is a Saturday holiday: closed despite open_all_day.
        assert!(!cal.is_open(local(tz, "2026-08-15T12:00")));
        // Round trip keeps the shape.
        let back: CalendarConfig =
            serde_json::from_value(serde_json::to_value(cal.config()).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }

    /// Tiny deterministic generator so the property checks need no extra crates and
    /// fail the same way every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: i64) -> i64 {
            (self.next() % n as u64) as i64
        }
    }

    fn sample_calendars() -> Vec<(&'static str, Calendar)> {
        let mut berlin = config("Europe/Berlin", &[1, 2, 3, 4, 5], (9, 0), (18, 0));
        berlin.holidays = vec![holiday("2026-04-03"), holiday("2026-12-25")];
        let mut ny = config("America/New_York", &[1, 2, 3, 4], (8, 30), (17, 15));
        ny.working_hours
            .push(WorkingHours::hours(5, (8, 30), (24, 0)));
        ny.working_hours.push(WorkingHours::all_day(6));
        let mut gapped = config("Europe/Berlin", &[0, 3], (2, 30), (3, 15));
        gapped
            .working_hours
            .push(WorkingHours::hours(6, (0, 0), (2, 30)));
        let mut santiago = config("America/Santiago", &[1, 3, 5], (0, 0), (2, 0));
        santiago.working_hours.push(WorkingHours::all_day(6));
        santiago.working_hours.push(WorkingHours::all_day(0));
        vec![
            ("berlin office", Calendar::new(berlin).unwrap()),
            ("new york mixed", Calendar::new(ny).unwrap()),
            ("kolkata", weekdays("Asia/Kolkata", (9, 0), (18, 0))),
            ("moscow late", weekdays("Europe/Moscow", (13, 0), (24, 0))),
            ("berlin dst edges", Calendar::new(gapped).unwrap()),
            ("santiago midnight dst", Calendar::new(santiago).unwrap()),
        ]
    }

    #[test]
    fn property_next_open_and_next_close_agree_with_is_open() {
        let mut rng = Lcg(0x5eed);
        let from = utc("2025-12-01T00:00:00Z");
        let span = 420 * 24 * HOUR;
        for (name, cal) in sample_calendars() {
            for _ in 0..400 {
                let t = from + rng.below(span);
                let open = cal.next_open(t).unwrap();
                assert!(open >= t, "{name} {t}");
                assert!(cal.is_open(open), "{name}: not open at next_open({t})");
                assert_eq!(cal.is_open(t), open == t, "{name} {t}");
                assert_eq!(cal.working_time_between(t, open), 0, "{name} {t}");
                // Just before an opening that is not `t` itself, it is closed.
                if open > t {
                    assert!(!cal.is_open(open - 1), "{name} {t}");
                }
                let close = cal.next_close(t).unwrap();
                assert!(close >= t && !cal.is_open(close), "{name} {t}");
                assert_eq!(cal.is_open(t), close > t, "{name} {t}");
                if close > t {
                    assert_eq!(cal.working_time_between(t, close), close - t, "{name} {t}");
                }
            }
        }
    }

    #[test]
    fn property_add_working_time_is_monotonic_and_inverse_of_between() {
        let mut rng = Lcg(42);
        let from = utc("2026-01-01T00:00:00Z");
        let span = 365 * 24 * HOUR;
        for (name, cal) in sample_calendars() {
            for _ in 0..150 {
                let t = from + rng.below(span);
                let mut prev = t;
                let mut d = 0;
                for _ in 0..12 {
                    d += rng.below(20 * HOUR);
                    let due = cal.add_working_time(t, d).unwrap();
                    assert!(due >= prev, "{name}: not monotonic at {t} + {d}");
                    assert_eq!(cal.working_time_between(t, due), d, "{name} {t} + {d}");
                    assert_eq!(cal.working_time_between(due, t), -d);
                    prev = due;
                }
                // The other way round: the working time up to any instant leads back to
                // it, or to an earlier instant of the same closed stretch.
                let u = t + rng.below(10 * 24 * HOUR);
                let w = cal.working_time_between(t, u);
                let back = cal.add_working_time(t, w).unwrap();
                assert!(back <= u, "{name}");
                assert_eq!(cal.working_time_between(back, u), 0, "{name}");
            }
        }
    }
}
