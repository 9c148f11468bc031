//! Storage of the billing routes (invoices, payments, adjustments and receipts).

use async_trait::async_trait;

#[async_trait]
pub trait BillingStorage: Send + Sync {}
