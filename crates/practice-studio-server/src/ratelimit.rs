//! Rate limits: one token bucket per caller, as GCRA (the generic cell rate algorithm).
//!
//! Written here rather than taken from `governor` because the API must publish when a bucket is
//! full again (`X-RateLimit-Reset`), which needs the theoretical arrival time that `governor`
//! keeps private; and because it must run on the server's injectable clock.
//!
//! A tier's per-minute limit `L` gives an emission interval of 60 s / L and a burst of L / 10
//! (at least 1): a standard client may send 10 requests at once, then one every 0.6 s.
//!
//! One instance keeps its buckets in memory ([`RateLimiter`]). Several instances on one
//! PostgreSQL database share them there ([`crate::storage::RequestStorage::shared_rate_limit`]:
//! one atomic statement per request), so a client cannot get N times its limit by spreading its
//! requests over N instances. [`check`] asks the storage first.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// The verdict on one request, with what the headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the bucket is full again.
    pub reset: i64,
    /// Seconds to wait before trying again (0 when allowed).
    pub retry_after: u64,
}

/// The burst a per-minute limit allows.
pub fn burst_of(per_minute: u32) -> u32 {
    (per_minute / 10).max(1)
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Theoretical arrival time per bucket.
    tats: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl RateLimiter {
    pub fn check(&self, bucket: &str, per_minute: u32, now: DateTime<Utc>) -> Decision {
        let per_minute = per_minute.max(1);
        let interval = Duration::nanoseconds(60_000_000_000 / i64::from(per_minute));
        let burst = burst_of(per_minute);
        let capacity = interval * burst as i32;
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        let tat = tats.get(bucket).copied().unwrap_or(now).max(now);
        let new_tat = tat + interval;
        let allow_at = new_tat - capacity;
        if now < allow_at {
            let wait = allow_at - now;
            return Decision {
                allowed: false,
                limit: per_minute,
                remaining: 0,
                reset: ceil_secs(tat),
                retry_after: ceil_duration_secs(wait).max(1),
            };
        }
        tats.insert(bucket.to_owned(), new_tat);
        let room = now + capacity - new_tat;
        let remaining = (room.num_nanoseconds().unwrap_or(0)
            / interval.num_nanoseconds().unwrap_or(1))
        .clamp(0, i64::from(burst)) as u32;
        Decision {
            allowed: true,
            limit: per_minute,
            remaining,
            reset: ceil_secs(new_tat),
            retry_after: 0,
        }
    }
}

/// The verdict on one request of `bucket`: from the buckets the instances share when the storage
/// keeps them, else from this instance's own. Should the shared store fail, this instance's
/// bucket decides (the limit then holds per instance until the database is back).
pub async fn check(app: &crate::app::AppState, bucket: &str, per_minute: u32) -> Decision {
    let now = app.clock.now();
    match app
        .storage
        .shared_rate_limit(bucket, per_minute.max(1), now)
        .await
    {
        Ok(Some(decision)) => decision,
        Ok(None) => app.limiter.check(bucket, per_minute, now),
        Err(error) => {
            tracing::warn!(%error, "shared rate-limit buckets unavailable; this instance's decide");
            app.limiter.check(bucket, per_minute, now)
        }
    }
}

/// A per-minute limit as GCRA parameters in microseconds, for buckets kept outside this process
/// (their theoretical arrival time as microseconds since the epoch).
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_minute: u32,
    pub interval_us: i64,
    pub burst: u32,
}

impl Rate {
    pub fn of(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        Self {
            per_minute,
            interval_us: 60_000_000 / i64::from(per_minute),
            burst: burst_of(per_minute),
        }
    }

    /// How far ahead of now a bucket's arrival time may run.
    pub fn capacity_us(&self) -> i64 {
        self.interval_us * i64::from(self.burst)
    }

    /// An allowed request that moved the bucket's arrival time to `new_tat_us`.
    pub fn allowed(&self, now: DateTime<Utc>, new_tat_us: i64) -> Decision {
        let room = now.timestamp_micros() + self.capacity_us() - new_tat_us;
        Decision {
            allowed: true,
            limit: self.per_minute,
            remaining: (room / self.interval_us.max(1)).clamp(0, i64::from(self.burst)) as u32,
            reset: ceil_secs_us(new_tat_us),
            retry_after: 0,
        }
    }

    /// A refused request; the bucket's arrival time is `tat_us`.
    pub fn refused(&self, now: DateTime<Utc>, tat_us: i64) -> Decision {
        let tat_us = tat_us.max(now.timestamp_micros());
        let wait_us = tat_us + self.interval_us - self.capacity_us() - now.timestamp_micros();
        Decision {
            allowed: false,
            limit: self.per_minute,
            remaining: 0,
            reset: ceil_secs_us(tat_us),
            retry_after: (wait_us.max(0) as u64).div_ceil(1_000_000).max(1),
        }
    }
}

fn ceil_secs_us(us: i64) -> i64 {
    us.div_euclid(1_000_000) + i64::from(us.rem_euclid(1_000_000) > 0)
}

fn ceil_secs(at: DateTime<Utc>) -> i64 {
    at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0)
}

fn ceil_duration_secs(d: Duration) -> u64 {
    let nanos = d.num_nanoseconds().unwrap_or(i64::MAX).max(0) as u64;
    nanos.div_ceil(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn a_standard_bucket_allows_a_burst_of_ten_then_one_per_600_ms() {
        let limiter = RateLimiter::default();
        let now = t0();
        for i in 0..10 {
            let d = limiter.check("c", 100, now);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let refused = limiter.check("c", 100, now);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1);
        assert!(
            !limiter
                .check("c", 100, now + Duration::milliseconds(599))
                .allowed
        );
        assert!(
            limiter
                .check("c", 100, now + Duration::milliseconds(600))
                .allowed
        );
        // Full again 6 s after the burst (10 × 0.6 s).
        assert_eq!(refused.reset, (t0() + Duration::seconds(6)).timestamp());
    }

    #[test]
    fn buckets_are_independent() {
        let limiter = RateLimiter::default();
        for _ in 0..10 {
            assert!(limiter.check("a", 100, t0()).allowed);
        }
        assert!(!limiter.check("a", 100, t0()).allowed);
        assert!(limiter.check("b", 100, t0()).allowed);
    }

    #[test]
    fn a_premium_bucket_sustains_its_rate_over_a_minute() {
        let limiter = RateLimiter::default();
        let mut allowed = 0;
        // 2,000 attempts spread evenly over one minute: the burst plus the rate get through.
        for i in 0..2000 {
            let at = t0() + Duration::milliseconds(i * 30);
            if limiter.check("p", 1000, at).allowed {
                allowed += 1;
            }
        }
        assert!((1000..=1101).contains(&allowed), "{allowed}");
    }
}
