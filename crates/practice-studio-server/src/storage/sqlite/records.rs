//! [`RecordStorage`] on SQLite.

use super::SqliteStorage;
use crate::storage::RecordStorage;

#[async_trait::async_trait]
impl RecordStorage for SqliteStorage {}
