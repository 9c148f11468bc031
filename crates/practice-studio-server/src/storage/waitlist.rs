//! Storage of the waitlist (extension).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use practice_studio::model::{WaitlistEntry, WaitlistStatus};

use super::{IdempotencyClaim, Result};

/// Filters and paging of `GET /api/v1/waitlist`.
#[derive(Debug, Clone, Default)]
pub struct WaitlistQuery {
    pub status: Option<WaitlistStatus>,
    pub patient_id: Option<String>,
    /// Entries that name this provider, or take any provider.
    pub provider_id: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u64,
}

/// How a versioned change went.
#[derive(Debug)]
pub enum WaitlistOutcome {
    Saved(Box<WaitlistEntry>),
    NotFound,
    VersionMismatch { current: i64 },
}

/// A change to an entry, worked out from the stored one (the route validates the result).
pub type WaitlistChange<'a> = &'a (dyn Fn(&WaitlistEntry) -> std::result::Result<WaitlistEntry, crate::error::ApiError>
         + Send
         + Sync);

#[async_trait]
pub trait WaitlistStorage: Send + Sync {
    /// Stores a new entry (its id is assigned here) with its `waitlist.created` event.
    async fn create_waitlist_entry(
        &self,
        draft: &WaitlistEntry,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<WaitlistEntry>;
    async fn waitlist_entry(&self, id: &str) -> Result<Option<WaitlistEntry>>;
    /// Oldest first (the order entries are offered in when nothing else decides).
    async fn waitlist(&self, query: &WaitlistQuery) -> Result<(u64, Vec<WaitlistEntry>)>;
    /// Applies `change` to the stored entry in one transaction, with its `waitlist.updated`
    /// event. `Err` from `change` is returned as it is, and nothing is written.
    async fn update_waitlist_entry(
        &self,
        id: &str,
        expected_version: Option<i64>,
        change: WaitlistChange<'_>,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<std::result::Result<WaitlistOutcome, crate::error::ApiError>>;
}
