//! Spans of time: the shape of an appointment or a free slot, and whether two clash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A half-open span of time `[start, end)`, the shape of an appointment or a free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSpan {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Why a [`TimeSpan`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeSpanError {
    #[error("the end ({end}) must be after the start ({start})")]
    EndNotAfterStart {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

impl TimeSpan {
    /// A span that ends strictly after it starts.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, TimeSpanError> {
        if end <= start {
            return Err(TimeSpanError::EndNotAfterStart { start, end });
        }
        Ok(Self { start, end })
    }

    /// Whether two spans share any instant. Back-to-back spans (one ends when the other starts)
    /// do not clash: a 10:00–10:30 visit and a 10:30–11:00 visit can both be booked.
    pub fn overlaps(&self, other: &TimeSpan) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Length in whole minutes.
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, h, m, 0)
            .single()
            .expect("valid test time")
    }

    #[test]
    fn back_to_back_spans_do_not_clash() {
        let a = TimeSpan::new(at(10, 0), at(10, 30)).expect("valid");
        let b = TimeSpan::new(at(10, 30), at(11, 0)).expect("valid");
        assert!(!a.overlaps(&b));
        assert!(!b.overlaps(&a));
    }

    #[test]
    fn spans_sharing_a_minute_clash_both_ways() {
        let a = TimeSpan::new(at(10, 0), at(10, 30)).expect("valid");
        let b = TimeSpan::new(at(10, 29), at(10, 45)).expect("valid");
        assert!(a.overlaps(&b));
        assert!(b.overlaps(&a));
        let inside = TimeSpan::new(at(10, 5), at(10, 10)).expect("valid");
        assert!(a.overlaps(&inside));
        assert_eq!(a.minutes(), 30);
    }

    #[test]
    fn a_span_must_end_after_it_starts() {
        assert!(matches!(
            TimeSpan::new(at(10, 0), at(10, 0)),
            Err(TimeSpanError::EndNotAfterStart { .. })
        ));
        assert!(TimeSpan::new(at(11, 0), at(10, 0)).is_err());
    }
}
