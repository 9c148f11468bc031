//! Storage of the records routes (medical records and their attachments).

use async_trait::async_trait;

#[async_trait]
pub trait RecordStorage: Send + Sync {}
