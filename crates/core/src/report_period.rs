//! Report periods: which day, week, month or year an instant falls into for someone in a
//! fixed UTC offset (Chatwoot's `timezone_offset`), and the weekday × hour cell of the
//! traffic heat map. Pure arithmetic on epoch values, so both databases only ever group by
//! hour numbers and every calendar decision is made here, once.

/// Seconds in a day.
const DAY: i64 = 86_400;

/// How a time series groups (Chatwoot's `group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Hour,
    Day,
    /// Weeks start on Sunday, as Chatwoot's do.
    Week,
    Month,
    Year,
}

impl GroupBy {
    /// Parses Chatwoot's names.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "hour" => GroupBy::Hour,
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            "year" => GroupBy::Year,
            _ => return None,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1–12).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day of the week of a day number, 0 = Sunday … 6 = Saturday.
pub fn weekday(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// The start of the period holding local second `local`, in local seconds.
pub fn period_start(local: i64, g: GroupBy) -> i64 {
    let day = local.div_euclid(DAY);
    match g {
        GroupBy::Hour => local.div_euclid(3_600) * 3_600,
        GroupBy::Day => day * DAY,
        GroupBy::Week => (day - i64::from(weekday(day))) * DAY,
        GroupBy::Month => {
            let (y, m, _) = civil_from_days(day);
            days_from_civil(y, m, 1) * DAY
        }
        GroupBy::Year => {
            let (y, _, _) = civil_from_days(day);
            days_from_civil(y, 1, 1) * DAY
        }
    }
}

/// The start of the period after the one starting at `start` (local seconds).
pub fn next_period(start: i64, g: GroupBy) -> i64 {
    match g {
        GroupBy::Hour => start + 3_600,
        GroupBy::Day => start + DAY,
        GroupBy::Week => start + 7 * DAY,
        GroupBy::Month => {
            let (y, m, _) = civil_from_days(start.div_euclid(DAY));
            let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            days_from_civil(y, m, 1) * DAY
        }
        GroupBy::Year => {
            let (y, _, _) = civil_from_days(start.div_euclid(DAY));
            days_from_civil(y + 1, 1, 1) * DAY
        }
    }
}

/// The periods covering local seconds `[since, until)`: their local starts, in order.
/// At most `max` of them (a guard; callers bound the range first).
pub fn periods(since: i64, until: i64, g: GroupBy, max: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let mut p = period_start(since, g);
    while p < until && out.len() < max {
        out.push(p);
        p = next_period(p, g);
    }
    out
}

/// The heat-map cell of a local hour number: `(weekday 0 = Sunday, hour 0–23)`.
pub fn weekday_hour(local_hour: i64) -> (u32, u32) {
    let day = local_hour.div_euclid(24);
    (weekday(day), local_hour.rem_euclid(24) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_weekdays() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        let d = days_from_civil(2024, 2, 29);
        assert_eq!(civil_from_days(d), (2024, 2, 29));
        assert_eq!(civil_from_days(d + 1), (2024, 3, 1));
        // 2024-03-04 was a Monday.
        assert_eq!(weekday(days_from_civil(2024, 3, 4)), 1);
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
    }

    #[test]
    fn periods_of_each_grouping() {
        let day = |y, m, d| days_from_civil(y, m, d) * DAY;
        // Wednesday 2024-03-06 10:30.
        let t = day(2024, 3, 6) + 10 * 3_600 + 1_800;
        assert_eq!(period_start(t, GroupBy::Hour), day(2024, 3, 6) + 36_000);
        assert_eq!(period_start(t, GroupBy::Day), day(2024, 3, 6));
        assert_eq!(period_start(t, GroupBy::Week), day(2024, 3, 3));
        assert_eq!(period_start(t, GroupBy::Month), day(2024, 3, 1));
        assert_eq!(period_start(t, GroupBy::Year), day(2024, 1, 1));
        assert_eq!(
            next_period(day(2024, 12, 1), GroupBy::Month),
            day(2025, 1, 1)
        );
        assert_eq!(
            periods(day(2024, 1, 30), day(2024, 3, 2), GroupBy::Month, 100),
            vec![day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1)]
        );
        assert_eq!(periods(0, 0, GroupBy::Day, 100), Vec::<i64>::new());
        assert_eq!(weekday_hour(days_from_civil(2024, 3, 4) * 24 + 23), (1, 23));
    }
}
