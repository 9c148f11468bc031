//! When a failed call is sent again, and after how long.

use std::time::Duration;

use backon::BackoffBuilder as _;
use rand::Rng as _;

/// Bounds on retrying one call. GETs, and POSTs and PUTs carrying an `Idempotency-Key` (every one
/// the client sends does), are retried on network errors, timeouts, 429, 502, 503, 504 and
/// `IdempotencyInProgress`; nothing else is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The first back-off's ceiling; each later one doubles, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long one try may take before it counts as a timeout (real time: it bounds the
    /// network, whatever clock the client runs on).
    pub attempt_timeout: Duration,
    /// How long the whole call may take, waits for the rate-limit budget and back-offs included
    /// (on the client's [`Clock`](super::Clock), which is the machine's unless a test injects one).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry (each call is tried once), keeping the timeouts.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The ceilings of the back-offs after try 1, 2, …: exponential, capped (backon's schedule).
    pub(crate) fn ceilings(&self) -> impl Iterator<Item = Duration> {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }
}

/// Full jitter (a uniform wait between zero and the ceiling), so that desks that failed together
/// do not retry together; but never sooner than the server's `Retry-After`. backon's own jitter
/// adds to the ceiling instead, which keeps retries bunched near it.
pub(crate) fn delay(ceiling: Duration, retry_after: Option<Duration>) -> Duration {
    let ceiling_ns = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    let jittered = Duration::from_nanos(rand::rng().random_range(0..=ceiling_ns));
    jittered.max(retry_after.unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap_and_stop_with_the_attempts() {
        let policy = RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        let ceilings: Vec<u128> = policy.ceilings().map(|d| d.as_millis()).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 500, 500]);
        assert_eq!(RetryPolicy::never().ceilings().count(), 0);
    }

    #[test]
    fn delays_are_spread_below_the_ceiling_but_honour_retry_after() {
        let ceiling = Duration::from_millis(1000);
        let delays: Vec<Duration> = (0..200).map(|_| delay(ceiling, None)).collect();
        assert!(delays.iter().all(|d| *d <= ceiling));
        assert!(delays.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(750)));
        let after = Duration::from_secs(3);
        assert!((0..50).all(|_| delay(ceiling, Some(after)) == after));
    }
}
