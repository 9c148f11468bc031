//! Storage of webhook subscriptions and their durable delivery queue.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::auth::Scopes;

/// A subscription as stored.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<DateTime<Utc>>,
    /// Who registered it (a client id, a user id, or an API key id).
    pub owner: String,
    /// What its creator may read when registering it.
    pub scopes: Scopes,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub from_seq: i64,
    pub created: DateTime<Utc>,
}

/// One delivery's state, as `GET /api/v1/webhooks/{id}/deliveries` shows it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `abandoned`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
}

/// A delivery that is due, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub seq: i64,
    pub webhook_id: String,
    pub url: String,
    /// The secrets that sign it: the current one, and the previous one during a rotation.
    pub secrets: Vec<String>,
    pub event_id: String,
    pub event_type: String,
    pub body: String,
    pub attempts: i64,
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
    },
    Failed {
        status: Option<u16>,
        error: String,
        next_attempt: DateTime<Utc>,
    },
}

#[async_trait]
pub trait WebhookStorage: Send + Sync {
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<()>;
    async fn webhooks(&self) -> Result<Vec<WebhookRecord>>;
    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>>;
    async fn delete_webhook(&self, id: &str) -> Result<bool>;
    /// Makes `secret` the signing secret; the old one keeps signing until `previous_until`.
    async fn rotate_webhook_secret(
        &self,
        id: &str,
        secret: &str,
        previous_until: DateTime<Utc>,
    ) -> Result<Option<WebhookRecord>>;
    /// The latest deliveries of a subscription, newest first.
    async fn webhook_deliveries(&self, id: &str, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// Turns up to `limit` events after the dispatcher's cursor into deliveries for the active
    /// subscriptions that want them and may read them, moving the cursor in the same
    /// transaction. Returns how many events it passed.
    async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<usize>;
    /// Pending deliveries due at `now`, oldest first.
    async fn due_deliveries(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueDelivery>>;
    /// Records an attempt; a failing subscription is disabled once it has failed since
    /// `disable_after` ago.
    async fn record_delivery_attempt(
        &self,
        delivery: &DueDelivery,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
        disable_after: chrono::Duration,
    ) -> Result<()>;
}
