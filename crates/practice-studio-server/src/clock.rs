//! Where the server takes "now" from: the machine's clock, a demo's pinned day, or a test's hand.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

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

/// The real time of day on a chosen date (`--demo-today`).
#[derive(Debug, Clone, Copy)]
pub struct PinnedDayClock(pub NaiveDate);

impl Clock for PinnedDayClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.and_time(Utc::now().time()).and_utc()
    }
}

/// A clock a test moves by hand, so token expiry, lockouts and rate limits are tested without
/// sleeping through real minutes.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
