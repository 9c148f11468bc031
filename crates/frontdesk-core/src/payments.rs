//! Payments taken at the desk, offline or not: checked with the server's rules against the
//! cached invoice (its balance less the payments taken here and not yet accepted), stored as
//! pending with their outbox entry in one transaction, and sent exactly once (the outbox's
//! `Idempotency-Key`: a resend records nothing twice). A payment the server refuses (the balance
//! changed elsewhere, the author's role) goes to the conflict list, never dropped.

use chrono::NaiveDate;
use practice_studio::model::{
    ErrorDetail, Invoice, InvoiceId, NewPayment, Payment, PaymentId, PaymentLinks, PAYMENT_METHODS,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{CacheError, EntityKind};

use crate::sync::{new_entry_of, random_hex, PaymentPayload, SyncEngine};

/// The prefix of ids given to payments taken on this desk until the server names them.
pub const LOCAL_PAYMENT_PREFIX: &str = "local-pay-";

/// The most one payment may be (the server's limit).
const MAX_PAYMENT: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2);

/// A payment accepted by the desk and queued for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PendingPayment {
    /// The outbox entry's place in the queue.
    pub seq: i64,
    pub payment: Payment,
    /// The invoice as the desk now shows it (this payment counted in).
    pub invoice: Invoice,
}

/// Why the desk refused a payment before queueing it.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The server's rules said no; every problem, by field.
    #[error("the payment is not acceptable ({} problems)", .0.len())]
    Invalid(Vec<ErrorDetail>),
    #[error("invoice {0} is not in this desk's cache")]
    UnknownInvoice(String),
    #[error("the cache failed: {0}")]
    Cache(#[from] CacheError),
}

fn problem(field: &str, issue: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        field: field.to_owned(),
        issue: issue.into(),
        code: None,
    }
}

/// The server's checks of a payment, against the invoice as the desk shows it.
fn validate(
    input: &NewPayment,
    invoice: &Invoice,
    today: NaiveDate,
) -> Result<(Decimal, Option<String>, NaiveDate), PaymentError> {
    let mut problems = Vec::new();
    if !PAYMENT_METHODS.contains(&input.method.as_str()) {
        problems.push(problem(
            "method",
            format!("must be one of {}", PAYMENT_METHODS.join(", ")),
        ));
    }
    let amount = input.amount.normalize();
    if amount <= Decimal::ZERO {
        problems.push(problem("amount", "must be more than zero"));
    } else if amount.scale() > 2 {
        problems.push(problem("amount", "must have at most two decimals (cents)"));
    } else if amount > MAX_PAYMENT {
        problems.push(problem("amount", "must be at most 1000000.00"));
    } else if amount > invoice.balance {
        problems.push(problem(
            "amount",
            format!(
                "must be at most the balance, {}",
                invoice.balance.round_dp(2)
            ),
        ));
    }
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
        problems.push(problem("reference", "must be at most 100 characters"));
    }
    let date = input.date.unwrap_or(today);
    if date > today {
        problems.push(problem("date", "must not be in the future"));
    }
    if problems.is_empty() {
        Ok((amount, reference, date))
    } else {
        Err(PaymentError::Invalid(problems))
    }
}

/// Takes a payment towards a cached invoice at once, offline or not. The day it was taken is
/// sent with it, so a payment taken offline keeps its day.
pub async fn take_payment(
    engine: &SyncEngine,
    author: &str,
    invoice_id: &str,
    input: &NewPayment,
) -> Result<PendingPayment, PaymentError> {
    let store = engine.store();
    let invoice = store
        .invoice(invoice_id)
        .await?
        .ok_or_else(|| PaymentError::UnknownInvoice(invoice_id.to_owned()))?;
    let (amount, reference, date) = validate(input, &invoice, engine.clock().today())?;
    let id = PaymentId(format!("{LOCAL_PAYMENT_PREFIX}{}", random_hex()));
    let payment = Payment {
        links: PaymentLinks::for_payment(&id, &InvoiceId(invoice_id.to_owned())),
        id,
        date,
        method: input.method.clone(),
        amount,
        reference: reference.clone(),
    };
    let payload = PaymentPayload {
        invoice_id: invoice_id.to_owned(),
        payment: NewPayment {
            method: input.method.clone(),
            amount,
            reference,
            date: Some(date),
        },
    };
    let payload = serde_json::to_value(&payload)
        .map_err(|_| PaymentError::Invalid(vec![problem("body", "cannot be encoded")]))?;
    let entry = new_entry_of(
        EntityKind::Payment,
        author,
        payment.id.as_str(),
        "create",
        payload,
        None,
        Vec::new(),
    );
    let stored = store.enqueue_payment(&entry, invoice_id, &payment).await?;
    tracing::info!(seq = stored.seq, "payment queued");
    engine.queued();
    let invoice = store
        .invoice(invoice_id)
        .await?
        .ok_or_else(|| PaymentError::UnknownInvoice(invoice_id.to_owned()))?;
    Ok(PendingPayment {
        seq: stored.seq,
        payment,
        invoice,
    })
}
