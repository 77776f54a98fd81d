//! Open-loop pacing. Message `i` of a run at `rate` per second is *scheduled* at
//! `i / rate` seconds after the start, whatever happened to earlier messages. Latency is
//! measured from that scheduled time, not from when the sender got round to it, so a
//! server (or a loadgen) that stalls shows the stall in every message that should have
//! gone out meanwhile instead of hiding it ("coordinated omission").
//!
//! The schedule is integer arithmetic on nanoseconds, so the send loop and the receivers
//! that compute latencies from a message's index agree exactly on its scheduled time.

use std::time::Duration;

const NANOS: u128 = 1_000_000_000;

/// `total` messages at `rate` per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    rate: u64,
    total: u64,
}

impl Schedule {
    /// `rate` ≥ 1 message per second.
    pub fn new(rate: u64, total: u64) -> Self {
        assert!(rate > 0, "rate must be positive");
        Self { rate, total }
    }

    /// Messages for `duration` at `rate`, at most `cap`.
    pub fn for_duration(rate: u64, duration: Duration, cap: u64) -> Self {
        let n = (duration.as_nanos() * rate as u128).div_ceil(NANOS);
        Self::new(rate, (n.min(cap as u128)) as u64)
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Nanoseconds after the start at which message `i` is due: `floor(i * 1e9 / rate)`.
    pub fn offset_nanos(&self, i: u64) -> u64 {
        (i as u128 * NANOS / self.rate as u128) as u64
    }

    pub fn offset(&self, i: u64) -> Duration {
        Duration::from_nanos(self.offset_nanos(i))
    }

    /// How many messages are due `elapsed_nanos` after the start: the number of `i` in
    /// `0..total` with `offset_nanos(i) <= elapsed_nanos`.
    ///
    /// `floor(i·1e9/r) <= e` ⇔ `i·1e9 < (e+1)·r` ⇔ `i < (e+1)·r/1e9`, so the count is
    /// `ceil((e+1)·r / 1e9)`.
    pub fn due_by(&self, elapsed_nanos: u64) -> u64 {
        let n = ((elapsed_nanos as u128 + 1) * self.rate as u128).div_ceil(NANOS);
        n.min(self.total as u128) as u64
    }

    /// Index of the first message scheduled at or after `nanos` (the start of a measured
    /// window): messages before it are warm-up.
    pub fn first_at_or_after(&self, nanos: u64) -> u64 {
        if nanos == 0 {
            return 0;
        }
        self.due_by(nanos - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_by_matches_counting_offsets() {
        for rate in [1, 3, 7, 1000, 333_333, 1_000_000_007] {
            let s = Schedule::new(rate, 50);
            let offsets: Vec<u64> = (0..50).map(|i| s.offset_nanos(i)).collect();
            let mut probes: Vec<u64> = offsets.clone();
            probes.extend(offsets.iter().map(|o| o + 1));
            probes.extend(offsets.iter().filter(|o| **o > 0).map(|o| o - 1));
            probes.push(u32::MAX as u64);
            for e in probes {
                let brute = offsets.iter().filter(|o| **o <= e).count() as u64;
                assert_eq!(s.due_by(e), brute, "rate {rate} elapsed {e}");
            }
        }
    }

    #[test]
    fn a_duration_at_a_rate_schedules_rate_times_seconds() {
        let s = Schedule::for_duration(10_000, Duration::from_secs(10), u64::MAX);
        assert_eq!(s.total(), 100_000);
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(10_000), Duration::from_secs(1));
        assert_eq!(s.offset(99_999), Duration::from_nanos(9_999_900_000));
        // All due by the end, none after: the count is exact.
        assert_eq!(s.due_by(10_000_000_000), 100_000);
        assert_eq!(s.due_by(u64::MAX / 2), 100_000);
        // One second in: messages 0..=10_000 (the 10,001st is due exactly at 1 s).
        assert_eq!(s.due_by(1_000_000_000), 10_001);
        assert_eq!(s.due_by(999_999_999), 10_000);
    }

    #[test]
    fn cap_bounds_the_count() {
        let s = Schedule::for_duration(1000, Duration::from_secs(60), 500);
        assert_eq!(s.total(), 500);
        let s = Schedule::for_duration(3, Duration::from_millis(1500), u64::MAX);
        assert_eq!(s.total(), 5, "0, 333ms, 666ms, 1s, 1.33s");
    }

    #[test]
    fn warm_up_boundary() {
        let s = Schedule::new(100, 1000);
        assert_eq!(s.first_at_or_after(0), 0);
        assert_eq!(s.first_at_or_after(1_000_000_000), 100);
        assert_eq!(s.first_at_or_after(1_000_000_001), 101);
        assert!(s.offset_nanos(s.first_at_or_after(2_345_678_901)) >= 2_345_678_901);
        assert!(s.offset_nanos(s.first_at_or_after(2_345_678_901) - 1) < 2_345_678_901);
    }
}
