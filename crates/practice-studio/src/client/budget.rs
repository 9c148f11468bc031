//! The client's own copy of the server's rate-limit bucket, so that it never sends a request the
//! server would refuse, and so that background work leaves room for the person at the desk.
//!
//! The server publishes a GCRA bucket per caller: `X-RateLimit-Limit` L per minute, one cell every
//! 60 s / L, a burst of L / 10 (at least 1; as the server documents), and `X-RateLimit-Remaining`
//! whole cells left after the request. From `Remaining` the client bounds the server's theoretical
//! arrival time (TAT) from above: `TAT ≤ now + burst·T − remaining·T` (the server decided before the
//! client saw the answer, and the remainder was rounded down, so the bound never undershoots). The
//! client keeps the later of that bound and its own TAT, which already counts requests still in
//! flight. `X-RateLimit-Reset` is not used: it is an absolute time, and the two clocks may differ.
//!
//! Background requests leave a reserve of whole cells (by default 20 % of the burst, rounded up)
//! that only interactive requests may take, so a lookup at the desk is sent at once even while a
//! sync runs at the ceiling. When no interactive request has been seen for a while, the reserve
//! shrinks to a floor (5 %) so that unattended syncs run near the limit.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::clock::chrono_duration;

/// Who is waiting for a request: a person, or a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    /// Someone is waiting for the answer (a lookup at the desk). May use the reserve.
    #[default]
    Interactive,
    /// Sync and crawls: leaves the reserve alone and waits instead of being refused.
    Background,
}

/// How the budget shares the bucket between interactive and background requests.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetPolicy {
    /// Share of the bucket's burst that background requests leave for interactive ones.
    pub reserve: f64,
    /// The reserve once no interactive request has been seen for `idle_after`.
    pub floor: f64,
    /// How long without an interactive request before the reserve shrinks to the floor.
    pub idle_after: Duration,
    /// Whether requests wait for the budget at all (off: they are sent and may meet 429s).
    pub enabled: bool,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            reserve: 0.20,
            floor: 0.05,
            idle_after: Duration::from_secs(120),
            enabled: true,
        }
    }
}

/// The budget as the client sees it now (for a status bar, or a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests per minute (`X-RateLimit-Limit`).
    pub limit: u32,
    /// The bucket's size in requests.
    pub burst: u32,
    /// Requests that could be sent at once now.
    pub available: u32,
    /// Of those, how many background requests leave alone now.
    pub reserve: u32,
}

/// Why a request may not go yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The first request is out to learn the limit; wait for its answer (an event, not a time).
    Probe,
    /// The bucket has room again after this long.
    For(Duration),
}

#[derive(Debug)]
struct Bucket {
    limit: u32,
    /// Nanoseconds per cell.
    interval: i64,
    burst: u32,
    tat: DateTime<Utc>,
}

impl Bucket {
    fn new(limit: u32, now: DateTime<Utc>) -> Self {
        let limit = limit.max(1);
        Self {
            limit,
            interval: 60_000_000_000 / i64::from(limit),
            burst: (limit / 10).max(1),
            tat: now,
        }
    }

    fn cells(&self, n: u32) -> chrono::Duration {
        chrono::Duration::nanoseconds(self.interval.saturating_mul(i64::from(n)))
    }

    fn available(&self, now: DateTime<Utc>) -> u32 {
        let room = now + self.cells(self.burst) - self.tat.max(now);
        let cells = room.num_nanoseconds().unwrap_or(0) / self.interval.max(1);
        cells.clamp(0, i64::from(self.burst)) as u32
    }
}

#[derive(Debug)]
struct State {
    bucket: Option<Bucket>,
    last_interactive: DateTime<Utc>,
    /// A request is out to learn the limit; others wait for its answer.
    probing: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Budget {
    policy: BudgetPolicy,
    state: Mutex<State>,
    probe_done: tokio::sync::Notify,
}

/// Permission to send one request. Dropping the ticket of the probe lets the others go.
pub(crate) struct Ticket<'a> {
    budget: &'a Budget,
    probe: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.budget.lock().probing = false;
            self.budget.probe_done.notify_waiters();
        }
    }
}

impl Budget {
    pub(crate) fn new(policy: BudgetPolicy, now: DateTime<Utc>) -> Self {
        Self {
            policy,
            // A fresh client counts as attended: the person who started it is about to use it.
            state: Mutex::new(State {
                bucket: None,
                last_interactive: now,
                probing: false,
            }),
            probe_done: tokio::sync::Notify::new(),
        }
    }

    /// Resolves when the request that learns the limit has been answered (or failed).
    pub(crate) fn probe_answered(&self) -> tokio::sync::futures::Notified<'_> {
        self.probe_done.notified()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent at every step, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reserve_cells(&self, state: &State, bucket: &Bucket, now: DateTime<Utc>) -> u32 {
        let attended = now - state.last_interactive < chrono_duration(self.policy.idle_after);
        let share = if attended {
            self.policy.reserve
        } else {
            self.policy.floor
        };
        let cells = (share.clamp(0.0, 1.0) * f64::from(bucket.burst)).ceil() as u32;
        // Background work must always be able to send from a full bucket.
        cells.min(bucket.burst.saturating_sub(1))
    }

    /// A ticket for one request now, or how long to wait before asking again.
    #[cfg(test)]
    pub(crate) fn try_acquire(
        &self,
        priority: Priority,
        now: DateTime<Utc>,
    ) -> Result<Ticket<'_>, Wait> {
        self.try_acquire_cells(priority, now, 1)
    }

    /// A ticket for a request the server counts as `cost` requests (a bulk write counts one per
    /// ten items), or how long to wait. A cost larger than the room background work may use is
    /// taken as that room, so the request can go from a full bucket rather than never.
    pub(crate) fn try_acquire_cells(
        &self,
        priority: Priority,
        now: DateTime<Utc>,
        cost: u32,
    ) -> Result<Ticket<'_>, Wait> {
        let mut state = self.lock();
        if priority == Priority::Interactive {
            state.last_interactive = state.last_interactive.max(now);
        }
        if !self.policy.enabled {
            return Ok(Ticket {
                budget: self,
                probe: false,
            });
        }
        let reserve = match &state.bucket {
            None if state.probing => return Err(Wait::Probe),
            None => {
                state.probing = true;
                return Ok(Ticket {
                    budget: self,
                    probe: true,
                });
            }
            Some(bucket) => match priority {
                Priority::Interactive => 0,
                Priority::Background => self.reserve_cells(&state, bucket, now),
            },
        };
        let Some(bucket) = state.bucket.as_mut() else {
            return Err(Wait::Probe);
        };
        let tat = bucket.tat.max(now);
        let cost = cost.clamp(1, bucket.burst.saturating_sub(reserve).max(1));
        // GCRA: a request fits when, after it, `reserve` whole cells are still free.
        let allow_at =
            tat + bucket.cells(cost) - bucket.cells(bucket.burst) + bucket.cells(reserve);
        if now < allow_at {
            return Err(Wait::For(
                (allow_at - now)
                    .to_std()
                    .unwrap_or(Duration::from_millis(1)),
            ));
        }
        bucket.tat = tat + bucket.cells(cost);
        Ok(Ticket {
            budget: self,
            probe: false,
        })
    }

    /// Takes what an answer's `X-RateLimit-*` headers say.
    pub(crate) fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        let number =
            |name: &str| -> Option<u32> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let Some(limit) = number("x-ratelimit-limit") else {
            return;
        };
        let remaining = number("x-ratelimit-remaining");
        let mut state = self.lock();
        let bucket = match &mut state.bucket {
            Some(bucket) if bucket.limit == limit.max(1) => bucket,
            slot => {
                // A first answer, or the caller's tier changed: start from the server's word.
                let tat = slot.as_ref().map_or(now, |b| b.tat);
                let mut fresh = Bucket::new(limit, now);
                fresh.tat = tat;
                slot.insert(fresh)
            }
        };
        if let Some(remaining) = remaining {
            // A server may allow a larger burst than the documented tenth.
            bucket.burst = bucket.burst.max(remaining.saturating_add(1));
            let bound = now + bucket.cells(bucket.burst) - bucket.cells(remaining);
            bucket.tat = bucket.tat.max(bound);
        }
    }

    pub(crate) fn status(&self, now: DateTime<Utc>) -> Option<RateLimitStatus> {
        let state = self.lock();
        let bucket = state.bucket.as_ref()?;
        Some(RateLimitStatus {
            limit: bucket.limit,
            burst: bucket.burst,
            available: bucket.available(now),
            reserve: self.reserve_cells(&state, bucket, now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
            .single()
            .expect("time")
    }

    fn headers(limit: u32, remaining: u32) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", HeaderValue::from(limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        h
    }

    fn ms(n: i64) -> chrono::Duration {
        chrono::Duration::milliseconds(n)
    }

    #[test]
    fn one_probe_learns_the_limit_while_others_wait() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        let probe = budget
            .try_acquire(Priority::Background, t0())
            .expect("the first request goes");
        assert_eq!(
            budget.try_acquire(Priority::Interactive, t0()).err(),
            Some(Wait::Probe)
        );
        budget.observe(&headers(100, 9), t0());
        drop(probe);
        assert!(budget.try_acquire(Priority::Interactive, t0()).is_ok());
    }

    #[test]
    fn background_leaves_the_reserve_and_interactive_uses_it_at_once() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Background, t0()));
        // A standard caller: 100/min, burst 10, one cell per 600 ms; 20 % reserve = 2 cells.
        budget.observe(&headers(100, 9), t0());
        let mut sent = 1;
        while budget.try_acquire(Priority::Background, t0()).is_ok() {
            sent += 1;
        }
        assert_eq!(sent, 8, "background stops with 2 cells left");
        let status = budget.status(t0()).expect("known");
        assert_eq!((status.available, status.reserve), (2, 2));
        assert!(budget.try_acquire(Priority::Interactive, t0()).is_ok());
        assert!(budget.try_acquire(Priority::Interactive, t0()).is_ok());
        // Now the bucket is empty: even a person waits one cell rather than be refused.
        let wait = budget
            .try_acquire(Priority::Interactive, t0())
            .err()
            .expect("empty");
        assert_eq!(wait, Wait::For(Duration::from_millis(600)));
        // Background waits for the reserve to refill as well: 3 cells.
        let wait = budget
            .try_acquire(Priority::Background, t0())
            .err()
            .expect("reserve");
        assert_eq!(wait, Wait::For(Duration::from_millis(1800)));
    }

    #[test]
    fn the_reserve_shrinks_to_the_floor_when_nobody_is_at_the_desk() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Background, t0()));
        budget.observe(&headers(1000, 99), t0());
        let attended = budget.status(t0()).expect("known");
        assert_eq!(attended.reserve, 20);
        let later = t0() + chrono::Duration::seconds(121);
        assert_eq!(budget.status(later).expect("known").reserve, 5);
        drop(budget.try_acquire(Priority::Interactive, later));
        assert_eq!(budget.status(later).expect("known").reserve, 20);
    }

    #[test]
    fn the_server_s_word_wins_when_it_has_counted_more() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Interactive, t0()));
        // Another desk of the same user has used the bucket: only 3 left.
        budget.observe(&headers(100, 3), t0());
        assert_eq!(budget.status(t0()).expect("known").available, 3);
        // A 429 says nothing is left.
        budget.observe(&headers(100, 0), t0() + ms(100));
        let wait = budget
            .try_acquire(Priority::Interactive, t0() + ms(100))
            .err()
            .expect("empty");
        assert_eq!(wait, Wait::For(Duration::from_millis(600)));
    }

    #[test]
    fn answers_of_requests_sent_earlier_do_not_undo_later_reservations() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Interactive, t0()));
        budget.observe(&headers(100, 9), t0());
        for _ in 0..9 {
            drop(
                budget
                    .try_acquire(Priority::Interactive, t0())
                    .expect("room"),
            );
        }
        // The answer to the second request arrives late and says 8 were left then.
        budget.observe(&headers(100, 8), t0());
        assert_eq!(budget.status(t0()).expect("known").available, 0);
    }

    #[test]
    fn a_request_counted_as_several_waits_for_that_many_cells() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Interactive, t0()));
        // 100/min, burst 10, one cell per 600 ms; 6 left.
        budget.observe(&headers(100, 6), t0());
        assert!(budget
            .try_acquire_cells(Priority::Interactive, t0(), 4)
            .is_ok());
        assert_eq!(budget.status(t0()).expect("known").available, 2);
        // Five cells: three more must refill first.
        let wait = budget
            .try_acquire_cells(Priority::Interactive, t0(), 5)
            .err()
            .expect("not yet");
        assert_eq!(wait, Wait::For(Duration::from_millis(1800)));
        // More than the bucket holds goes once the bucket is full, instead of never.
        let full = t0() + chrono::Duration::seconds(60);
        assert!(budget
            .try_acquire_cells(Priority::Interactive, full, 40)
            .is_ok());
        assert_eq!(budget.status(full).expect("known").available, 0);
    }

    #[test]
    fn a_burst_of_one_still_lets_background_work_through() {
        let budget = Budget::new(BudgetPolicy::default(), t0());
        drop(budget.try_acquire(Priority::Background, t0()));
        budget.observe(&headers(6, 0), t0());
        let wait = budget
            .try_acquire(Priority::Background, t0())
            .err()
            .expect("empty");
        assert_eq!(wait, Wait::For(Duration::from_secs(10)));
        assert!(budget
            .try_acquire(Priority::Background, t0() + chrono::Duration::seconds(10))
            .is_ok());
    }
}
