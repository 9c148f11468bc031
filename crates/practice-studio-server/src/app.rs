//! What every handler shares.

use std::sync::Arc;

use chrono::Duration;

use crate::clock::Clock;
use crate::ratelimit::RateLimiter;
use crate::storage::Storage;

/// Tunables a deployment (or a test) may change.
#[derive(Debug, Clone)]
pub struct Settings {
    pub demo: bool,
    /// Lifetime of access tokens.
    pub token_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Wrong passwords in a row before a user is locked.
    pub max_failed_logins: i64,
    /// How long such a lock lasts.
    pub lockout: Duration,
    /// How long a finished `Idempotency-Key` is remembered (longer than a desk stays offline).
    pub idempotency_retention: Duration,
    /// How long a running request holds its key before a retry may take it over (a crash).
    pub idempotency_lease: Duration,
    /// Rate limits are not enforced for these client ids (benchmarks).
    pub unlimited_clients: Vec<String>,
    /// How long the change feed keeps events (at least 7 days; older cursors get 410).
    pub event_retention: Duration,
    /// Networks webhook targets may be in although private, loopback or link-local (the demo
    /// allows loopback).
    pub webhook_allowlist: Vec<ipnet::IpNet>,
    /// First retry of a failed delivery; each further one waits twice as long, up to the cap.
    pub webhook_retry_base: Duration,
    pub webhook_retry_cap: Duration,
    /// How long a receiver has to answer.
    pub webhook_timeout: std::time::Duration,
    /// A subscription failing this long is disabled.
    pub webhook_disable_after: Duration,
    /// How often the delivery worker looks for due retries (new events wake it at once).
    pub webhook_poll: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            demo: false,
            token_ttl: Duration::hours(1),
            refresh_ttl: Duration::days(30),
            max_failed_logins: 5,
            lockout: Duration::minutes(15),
            idempotency_retention: Duration::days(30),
            idempotency_lease: Duration::seconds(30),
            unlimited_clients: Vec::new(),
            event_retention: Duration::days(30),
            webhook_allowlist: Vec::new(),
            webhook_retry_base: Duration::minutes(1),
            webhook_retry_cap: Duration::hours(24),
            webhook_timeout: std::time::Duration::from_secs(10),
            webhook_disable_after: Duration::days(3),
            webhook_poll: std::time::Duration::from_secs(1),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<RateLimiter>,
    pub settings: Arc<Settings>,
    /// Pages of `GET /api/v1/patients` served while the patients are unchanged.
    pub(crate) patient_pages: Arc<crate::page_cache::PageCache>,
    /// The v2 patient search's in-memory index.
    pub(crate) patient_index: Arc<crate::search::PatientIndex>,
    /// `GET /openapi.json`'s body, rendered on the first request: it depends on the settings
    /// alone, and rendering it takes tens of milliseconds that every desk's start would pay.
    pub(crate) openapi: Arc<std::sync::OnceLock<axum::body::Bytes>>,
}
