//! Storage of the appointments routes (the book, status changes and clash rules).

use async_trait::async_trait;

#[async_trait]
pub trait AppointmentStorage: Send + Sync {}
