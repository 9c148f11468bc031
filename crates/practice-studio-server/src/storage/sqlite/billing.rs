//! [`BillingStorage`] on SQLite.

use super::SqliteStorage;
use crate::storage::BillingStorage;

#[async_trait::async_trait]
impl BillingStorage for SqliteStorage {}
