//! Latency histograms and their summaries.
//!
//! Samples go into an HDR histogram in microseconds (1 µs to one hour, three significant
//! digits), so a run of millions of messages costs a few tens of KiB and percentiles are
//! exact to 0.1%.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest value tracked, in microseconds (one hour); longer latencies are clamped to it.
const MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    h: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        // Bounds are constants known to be valid (low ≥ 1, high ≥ 2·low, sigfig ≤ 5).
        let h = Histogram::new_with_bounds(1, MAX_MICROS, 3)
            .expect("constant histogram bounds are valid");
        Self { h }
    }

    /// Records one sample; anything under 1 µs counts as 1 µs, anything over an hour as
    /// an hour.
    pub fn record(&mut self, d: Duration) {
        let us = (d.as_micros() as u64).clamp(1, MAX_MICROS);
        self.h.saturating_record(us);
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.h.add(&other.h);
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        if self.h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.h.len(),
            p50_ms: ms(self.h.value_at_quantile(0.50)),
            p90_ms: ms(self.h.value_at_quantile(0.90)),
            p99_ms: ms(self.h.value_at_quantile(0.99)),
            p999_ms: ms(self.h.value_at_quantile(0.999)),
            max_ms: ms(self.h.max()),
            mean_ms: self.h.mean() / 1000.0,
        }
    }
}

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencySummary {
    /// One table row: `count  p50  p90  p99  p99.9  max  mean`.
    pub fn row(&self, label: &str) -> String {
        if self.count == 0 {
            return format!("{label:<16} {:>9}  (no samples)", 0);
        }
        format!(
            "{label:<16} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            self.count,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.mean_ms
        )
    }

    pub fn header() -> String {
        format!(
            "{:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (ms)", "count", "p50", "p90", "p99", "p99.9", "max", "mean"
        )
    }
}

/// Least-squares slope of `y` over `x` (e.g. server RSS bytes over connections held);
/// `None` with fewer than two distinct x values.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.001 + 0.001
    }

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut l = Latency::new();
        for ms in 1..=1000u64 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert!(within(s.p50_ms, 500.0), "{s:?}");
        assert!(within(s.p90_ms, 900.0), "{s:?}");
        assert!(within(s.p99_ms, 990.0), "{s:?}");
        assert!(within(s.p999_ms, 999.0), "{s:?}");
        assert!(within(s.max_ms, 1000.0), "{s:?}");
        assert!(within(s.mean_ms, 500.5), "{s:?}");
    }

    #[test]
    fn a_tail_shows_in_p99_not_p50() {
        let mut l = Latency::new();
        for _ in 0..980 {
            l.record(Duration::from_micros(2_000));
        }
        for _ in 0..20 {
            l.record(Duration::from_millis(80));
        }
        let s = l.summary();
        assert!(within(s.p50_ms, 2.0), "{s:?}");
        assert!(within(s.p90_ms, 2.0), "{s:?}");
        assert!(within(s.p99_ms, 80.0), "{s:?}");
        assert!(within(s.max_ms, 80.0), "{s:?}");
    }

    #[test]
    fn merge_adds_counts_and_clamps_extremes() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        a.record(Duration::from_nanos(10));
        b.record(Duration::from_secs(10_000));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 2);
        assert!(within(s.max_ms, 3_600_000.0), "{s:?}");
        assert_eq!(Latency::new().summary(), LatencySummary::default());
        assert!(Latency::new().summary().row("x").contains("no samples"));
    }

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..5)
            .map(|i| (i as f64 * 1000.0, 20e6 + i as f64 * 1000.0 * 7400.0))
            .collect();
        assert!((slope(&pts).unwrap() - 7400.0).abs() < 1e-6);
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 3.0)]), None);
    }
}
