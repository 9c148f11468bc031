//! Where the client takes "now" from and how it waits: the machine's clock, or a test's.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

/// A source of the current instant and of waiting. Token expiry, the rate-limit budget and
/// retry back-off all go through it, so a test can run them on a clock it moves itself (and the
/// same clock can drive a test server's rate limiter and token lifetimes).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves after `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The machine's clock and Tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// `later - earlier` as a std duration, zero when `later` is not later.
pub(crate) fn until(earlier: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    (later - earlier).to_std().unwrap_or(Duration::ZERO)
}

/// A std duration as a chrono one, saturating (durations here are seconds to hours).
pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}
