//! Storage of the billing routes (invoices, payments, adjustments and receipts).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{AdjustmentKind, Invoice, InvoiceItem, InvoiceStatus, PaymentCreated};
use rust_decimal::Decimal;

use super::{IdempotencyClaim, Result};

/// Filters and paging of an invoice list (newest first, ties broken by creation).
#[derive(Debug, Clone)]
pub struct InvoiceQuery {
    /// One patient's invoices, or everyone's.
    pub patient_id: Option<String>,
    pub status: Option<InvoiceStatus>,
    /// Invoice dates, inclusive.
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    /// Invoices issued or changed (paid) at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// The day statuses are derived for.
    pub today: NaiveDate,
    pub limit: u32,
    pub offset: u64,
}

/// A validated payment.
#[derive(Debug, Clone)]
pub struct ValidPayment {
    pub method: String,
    /// More than zero, in cents.
    pub amount: Decimal,
    pub reference: Option<String>,
    pub date: NaiveDate,
}

/// What adding a payment came to.
#[derive(Debug)]
pub enum PaymentOutcome {
    Created(Box<PaymentCreated>),
    NotFound,
    /// The payment is more than what is still owed.
    Exceeds {
        balance: Decimal,
    },
    /// The payment is dated before the invoice.
    BeforeInvoice {
        invoice_date: NaiveDate,
    },
}

/// A generated demo invoice with its payments and adjustments.
#[derive(Debug, Clone)]
pub struct DemoInvoice {
    pub patient_id: String,
    pub date: NaiveDate,
    pub due_date: NaiveDate,
    pub items: Vec<InvoiceItem>,
    /// (date, method, amount, reference)
    pub payments: Vec<(NaiveDate, &'static str, Decimal, Option<String>)>,
    /// (date, kind, amount, reason)
    pub adjustments: Vec<(NaiveDate, AdjustmentKind, Decimal, &'static str)>,
}

#[async_trait]
pub trait BillingStorage: Send + Sync {
    /// A page of invoices and how many match.
    async fn list_invoices(&self, query: &InvoiceQuery) -> Result<(u64, Vec<Invoice>)>;
    async fn invoice(&self, id: &str, today: NaiveDate) -> Result<Option<Invoice>>;
    /// The invoice a payment belongs to (status on `today`), or `None`.
    async fn invoice_of_payment(
        &self,
        payment_id: &str,
        today: NaiveDate,
    ) -> Result<Option<Invoice>>;
    /// Adds a payment unless it is more than the balance, and stores the response for its key in
    /// the same transaction.
    async fn add_payment(
        &self,
        invoice_id: &str,
        payment: &ValidPayment,
        today: NaiveDate,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<PaymentOutcome>;
    /// Inserts generated invoices (demo data) in one transaction; returns how many.
    async fn bulk_insert_invoices(
        &self,
        invoices: &[DemoInvoice],
        now: DateTime<Utc>,
    ) -> Result<u64>;
    /// Issues one invoice (with any payments and adjustments it already has), making its
    /// `invoice.created` event in the same transaction; returns it as of `today`.
    async fn issue_invoice(
        &self,
        invoice: &DemoInvoice,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Invoice>;
}
