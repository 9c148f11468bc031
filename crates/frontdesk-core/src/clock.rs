//! Where the desk takes "now" from. Injected, so demos and tests can pin a weekday.

use chrono::{DateTime, NaiveDate, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current UTC date. (A clinic's local day is computed with its time zone by the callers
    /// that know the location; this is only the date the clock stands on.)
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The real time of day on a chosen date: `--demo-today 2026-11-23` shows a Monday whatever the
/// calendar says, while minutes still pass (waiting times, "synced 12 s ago") as they really do.
#[derive(Debug, Clone, Copy)]
pub struct PinnedDayClock {
    day: NaiveDate,
}

impl PinnedDayClock {
    pub fn new(day: NaiveDate) -> Self {
        Self { day }
    }
}

impl Clock for PinnedDayClock {
    fn now(&self) -> DateTime<Utc> {
        self.day.and_time(Utc::now().time()).and_utc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_day_keeps_its_date_and_the_real_time_of_day() {
        let day: NaiveDate = "2026-11-23".parse().expect("date");
        let clock = PinnedDayClock::new(day);
        let before = Utc::now().time();
        let now = clock.now();
        assert_eq!(clock.today(), day);
        assert_eq!(now.date_naive(), day);
        // Within a second of the real time of day, unless midnight passed during the test.
        let drift = (now.time() - before).num_milliseconds().abs();
        assert!(!(1_000..=86_000_000).contains(&drift), "drift {drift} ms");
    }
}
