//! Invoices, their items, payments and adjustments, as the reference's "Get Patient Invoices"
//! shows them. Money is an exact [`Decimal`] written with two decimals (see [`super::money`]).
//! Extensions (marked so): payment ids and receipt links, `adjustments`, `adjustedAmount`,
//! `balance`, and the body of a new payment.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Link, PatientId};

id_newtype!(
    /// An invoice's id, e.g. `INV-12345`.
    InvoiceId,
    "INV-"
);
id_newtype!(
    /// Extension: a payment's id, e.g. `PAY-10001`.
    PaymentId,
    "PAY-"
);
id_newtype!(
    /// Extension: an adjustment's id, e.g. `ADJ-10001`.
    AdjustmentId,
    "ADJ-"
);

/// Where an invoice stands, derived from its money and the server's today: `paid` when payments
/// and adjustments cover the amount; otherwise `overdue` past the due date, else `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Paid,
    Overdue,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
        }
    }

    /// The status of an invoice of `amount` with `covered` paid or adjusted, due `due`, on `today`.
    pub fn derive(amount: Decimal, covered: Decimal, due: NaiveDate, today: NaiveDate) -> Self {
        if covered >= amount {
            InvoiceStatus::Paid
        } else if today > due {
            InvoiceStatus::Overdue
        } else {
            InvoiceStatus::Open
        }
    }
}

/// One billed service: a CPT code, its price and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvoiceItem {
    /// CPT code, e.g. `99213`.
    pub code: String,
    pub description: String,
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 120.00))]
    pub unit_price: Decimal,
    pub quantity: u32,
    /// `unitPrice × quantity`.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 120.00))]
    pub total: Decimal,
}

/// `_links` of a payment (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentLinks {
    /// The PDF receipt.
    pub receipt: Link,
    pub invoice: Link,
}

/// A payment towards an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// Extension: names the payment (its receipt).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: PaymentId,
    pub date: NaiveDate,
    /// `Cash`, `Check`, `Credit Card`, `Debit Card`, `Insurance` or `Bank Transfer`.
    pub method: String,
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 30.00))]
    pub amount: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reference: Option<String>,
    /// Extension.
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: PaymentLinks,
}

impl PaymentLinks {
    pub fn for_payment(id: &PaymentId, invoice: &InvoiceId) -> Self {
        Self {
            receipt: Link {
                href: format!("/api/v1/payments/{id}/receipt"),
            },
            invoice: Link {
                href: format!("/api/v1/invoices/{invoice}"),
            },
        }
    }
}

/// Kinds of adjustment (extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// The practice forgoes the rest (hardship, small balance, courtesy).
    WriteOff,
    /// The insurer's contractual reduction.
    Insurance,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::WriteOff => "write_off",
            AdjustmentKind::Insurance => "insurance",
        }
    }
}

/// Extension: an amount taken off an invoice without a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: AdjustmentId,
    pub date: NaiveDate,
    pub kind: AdjustmentKind,
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 12.50))]
    pub amount: Decimal,
    pub reason: String,
}

/// `_links` of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
    pub patient: Link,
    pub pdf: Link,
}

impl InvoiceLinks {
    pub fn for_invoice(id: &InvoiceId, patient: &PatientId) -> Self {
        Self {
            self_: Link {
                href: format!("/api/v1/invoices/{id}"),
            },
            patient: Link {
                href: format!("/api/v1/patients/{patient}"),
            },
            pdf: Link {
                href: format!("/api/v1/invoices/{id}/pdf"),
            },
        }
    }
}

/// An invoice as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: InvoiceId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub patient_id: PatientId,
    pub date: NaiveDate,
    pub due_date: NaiveDate,
    pub status: InvoiceStatus,
    /// Σ item totals.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 150.00))]
    pub amount: Decimal,
    /// Σ payments.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 150.00))]
    pub paid_amount: Decimal,
    /// Extension: Σ adjustments.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 0.00))]
    pub adjusted_amount: Decimal,
    /// Extension: what is still owed, `amount − paidAmount − adjustedAmount`.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 0.00))]
    pub balance: Decimal,
    pub items: Vec<InvoiceItem>,
    #[serde(default)]
    pub payments: Vec<Payment>,
    /// Extension: write-offs and insurance adjustments.
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: InvoiceLinks,
}

/// The list envelope of `GET /api/v1/patients/{id}/invoices` and `GET /api/v1/invoices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InvoiceList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub invoices: Vec<Invoice>,
}

/// Extension: the body of `POST /api/v1/invoices/{id}/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewPayment {
    /// `Cash`, `Check`, `Credit Card`, `Debit Card`, `Insurance` or `Bank Transfer`.
    pub method: String,
    /// More than zero, at most two decimals, at most the invoice's balance.
    #[serde(with = "super::money")]
    #[ts(type = "number")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64, example = 30.00))]
    pub amount: Decimal,
    /// The card authorisation, cheque number or insurer's reference; up to 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reference: Option<String>,
    /// The day it was taken (a desk that took it offline sends it); today when absent. Not in
    /// the future, not before the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub date: Option<NaiveDate>,
}

/// The payment methods the API accepts.
pub const PAYMENT_METHODS: [&str; 6] = [
    "Cash",
    "Check",
    "Credit Card",
    "Debit Card",
    "Insurance",
    "Bank Transfer",
];

/// Extension: the answer to a new payment — the payment (with its receipt link) and the invoice
/// as it now stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreated {
    pub payment: Payment,
    pub invoice: Invoice,
}
