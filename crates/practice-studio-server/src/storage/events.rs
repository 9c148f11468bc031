//! Storage of the event log that the change feed reads and webhooks deliver from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Result;

/// One event as stored: its place in commit order and the JSON delivered.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub scope: String,
    pub body: String,
}

/// A page of the log read in one snapshot.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// The position the page reaches: its last event's, or the end of the log when the page is
    /// not full (events the reader may not see are passed over, not returned).
    pub reached: i64,
}

#[async_trait]
pub trait EventStorage: Send + Sync {
    /// This database's log epoch (a cursor from another database names another epoch).
    async fn event_epoch(&self) -> Result<String>;
    /// The last committed event's position (0 for an empty log) and the first one still kept.
    async fn event_bounds(&self) -> Result<(i64, i64)>;
    /// Up to `limit` events after `after` whose scope is one of `scopes`.
    async fn events_after(&self, after: i64, limit: u32, scopes: &[&str]) -> Result<EventPage>;
    /// Changes whenever a transaction that wrote events commits.
    fn watch_events(&self) -> watch::Receiver<u64>;
    /// Forgets events older than `older_than`; returns how many.
    async fn purge_events(&self, older_than: DateTime<Utc>) -> Result<u64>;
}
