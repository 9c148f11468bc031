//! Invoice: CPT line items with their base price and quantity, totals in USD. Payments are not
//! part of an R4 Invoice (they are PaymentReconciliation); the status says whether it is settled.

use practice_studio::model::Invoice;
use serde_json::{json, Value};

use super::codes::{self, CPT_SYSTEM, INVOICE_STATUS_SYSTEM};
use super::outcome::FhirError;
use super::prune;
use super::search::Search;
use crate::app::AppState;
use crate::storage::{InvoiceSearch, InvoiceSettlement};

fn money(amount: rust_decimal::Decimal) -> Value {
    // Two decimals, as a JSON number (FHIR decimals keep their precision).
    let text = format!("{:.2}", amount.round_dp(2));
    json!({ "value": serde_json::from_str::<serde_json::Number>(&text).ok(), "currency": "USD" })
}

/// An invoice as FHIR R4 `Invoice`.
pub fn to_fhir(invoice: &Invoice) -> Value {
    let line_items: Vec<Value> = invoice
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({
                "sequence": i + 1,
                "chargeItemCodeableConcept": {
                    "coding": [{ "system": CPT_SYSTEM, "code": item.code, "display": item.description }],
                    "text": item.description,
                },
                "priceComponent": [{
                    "type": "base",
                    "factor": item.quantity,
                    "amount": money(item.total),
                }],
            })
        })
        .collect();
    prune(json!({
        "resourceType": "Invoice",
        "id": invoice.id.as_str(),
        "status": codes::invoice_status(invoice.status),
        "subject": { "reference": format!("Patient/{}", invoice.patient_id) },
        "date": invoice.date.to_string(),
        "lineItem": line_items,
        "totalNet": money(invoice.amount),
        "totalGross": money(invoice.amount),
        "paymentTerms": format!("Due by {}", invoice.due_date),
        "note": [{ "text": format!("Paid {:.2}, adjusted {:.2}, balance {:.2} USD", invoice.paid_amount, invoice.adjusted_amount, invoice.balance) }],
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    let today = state.clock.today();
    Ok(state
        .storage
        .invoice(id, today)
        .await?
        .as_ref()
        .map(to_fhir))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let settlements = search
        .tokens("status")
        .into_iter()
        .map(|list| {
            list.iter()
                .filter_map(|t| match t.code_in(INVOICE_STATUS_SYSTEM) {
                    Some("issued") => Some(InvoiceSettlement::Owed),
                    Some("balanced") => Some(InvoiceSettlement::Settled),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let mut patients = search.references("subject", "Patient")?;
    patients.extend(search.references("patient", "Patient")?);
    let query = InvoiceSearch {
        ids: search
            .tokens("_id")
            .into_iter()
            .map(|l| l.into_iter().map(|t| t.code).collect())
            .collect(),
        patients,
        settlements,
        limit: search.count,
        offset: search.offset,
    };
    let (total, ids) = state.storage.fhir_invoice_ids(&query).await?;
    let today = state.clock.today();
    let mut resources = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(invoice) = state.storage.invoice(&id, today).await? {
            resources.push(to_fhir(&invoice));
        }
    }
    Ok((total, resources))
}
