//! [`AppointmentStorage`] on SQLite.

use super::SqliteStorage;
use crate::storage::AppointmentStorage;

#[async_trait::async_trait]
impl AppointmentStorage for SqliteStorage {}
