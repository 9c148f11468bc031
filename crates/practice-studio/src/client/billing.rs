//! Invoices, payments and receipts: a patient's invoices and everyone's (with the query builder),
//! one invoice, its PDF, taking a payment (an extension) and its receipt.

use chrono::NaiveDate;
use reqwest::Method;

use super::patients::segment;
use super::{Call, Client, Download};
use crate::model::{
    Invoice, InvoiceId, InvoiceList, InvoiceStatus, NewPayment, PatientId, PaymentCreated,
    PaymentId,
};

/// The filters and page of an invoice list, e.g.
/// `InvoiceQuery::new().status(InvoiceStatus::Overdue).limit(100)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceQuery {
    status: Option<InvoiceStatus>,
    patient: Option<PatientId>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    updated_since: Option<chrono::DateTime<chrono::Utc>>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl InvoiceQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// `open`, `paid` or `overdue` (an overdue invoice is not open).
    pub fn status(mut self, status: InvoiceStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only this patient's invoices (for [`Billing::invoices`]; a patient's own list names the
    /// patient already).
    pub fn patient(mut self, patient: PatientId) -> Self {
        self.patient = Some(patient);
        self
    }

    /// Invoices dated on or after this day.
    pub fn from(mut self, day: NaiveDate) -> Self {
        self.from = Some(day);
        self
    }

    /// Invoices dated on or before this day.
    pub fn to(mut self, day: NaiveDate) -> Self {
        self.to = Some(day);
        self
    }

    /// Invoices issued or changed (paid) at or after this instant (inclusive).
    pub fn updated_since(mut self, since: chrono::DateTime<chrono::Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// Invoices per page, 1 to 100 (the server's default is 20).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    fn pairs(&self, with_patient: bool) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if let (Some(patient), true) = (&self.patient, with_patient) {
            pairs.push(("patient_id", patient.to_string()));
        }
        if let Some(from) = self.from {
            pairs.push(("from_date", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to_date", to.to_string()));
        }
        if let Some(since) = self.updated_since {
            pairs.push((
                "updated_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        pairs
    }
}

/// The billing routes; from [`Client::billing`].
#[derive(Debug, Clone)]
pub struct Billing<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Billing<'a> {
    /// `GET /api/v1/patients/{id}/invoices`: one page of a patient's invoices, newest first.
    pub fn patient_invoices(
        &self,
        patient: &PatientId,
        query: &InvoiceQuery,
    ) -> Call<'a, InvoiceList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/patients/{id}/invoices",
            format!("/api/v1/patients/{}/invoices", segment(patient.as_str())),
        )
        .query(query.pairs(false))
    }

    /// `GET /api/v1/invoices` (an extension): one page of every patient's invoices, e.g. the
    /// overdue worklist.
    pub fn invoices(&self, query: &InvoiceQuery) -> Call<'a, InvoiceList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/invoices",
            "/api/v1/invoices".into(),
        )
        .query(query.pairs(true))
    }

    /// `GET /api/v1/invoices/{id}`.
    /// Every invoice matching `query` (across patients, or one patient's with
    /// [`InvoiceQuery::patient`]), page after page (100 a page), fetched as the stream is read
    /// at `priority`. A snapshot-free walk; the change feed carries what changes meanwhile.
    pub fn all(
        &self,
        query: &InvoiceQuery,
        priority: super::Priority,
    ) -> impl futures_util::Stream<Item = Result<Invoice, super::Error>> + Send + 'static {
        let client = self.client.clone();
        let query = query.clone();
        super::pages::walk(move |offset| {
            let client = client.clone();
            let query = query.clone().limit(super::PAGE_SIZE).offset(offset);
            async move {
                let page = client.billing().invoices(&query).priority(priority).await?;
                Ok((page.invoices, page.total))
            }
        })
    }

    pub fn invoice(&self, id: &InvoiceId) -> Call<'a, Invoice> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/invoices/{id}",
            format!("/api/v1/invoices/{}", segment(id.as_str())),
        )
    }

    /// `GET /api/v1/invoices/{id}/pdf`: the printable invoice.
    pub fn invoice_pdf(&self, id: &InvoiceId) -> Download<'a> {
        Download::new(
            Call::new(
                self.client,
                Method::GET,
                "/api/v1/invoices/{id}/pdf",
                format!("/api/v1/invoices/{}/pdf", segment(id.as_str())),
            ),
            "application/pdf",
        )
    }

    /// `POST /api/v1/invoices/{id}/payments` (an extension; billing staff): the payment and the
    /// invoice as it now stands. Sent with an `Idempotency-Key` (an outbox passes the one it
    /// stored), so a retry records the payment once. More than the balance is
    /// [`super::Error::Api`] with status 422.
    pub fn pay(&self, id: &InvoiceId, payment: &NewPayment) -> Call<'a, PaymentCreated> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/invoices/{id}/payments",
            format!("/api/v1/invoices/{}/payments", segment(id.as_str())),
        )
        .json(payment)
    }

    /// `GET /api/v1/payments/{id}/receipt` (an extension): the payment's PDF receipt.
    pub fn receipt(&self, id: &PaymentId) -> Download<'a> {
        Download::new(
            Call::new(
                self.client,
                Method::GET,
                "/api/v1/payments/{id}/receipt",
                format!("/api/v1/payments/{}/receipt", segment(id.as_str())),
            ),
            "application/pdf",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_builder_produces_the_reference_parameters() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
        let query = InvoiceQuery::new()
            .status(InvoiceStatus::Overdue)
            .patient(PatientId::from("PAT-10001"))
            .from(day(1))
            .to(day(23))
            .limit(100)
            .offset(200);
        assert_eq!(
            query.pairs(true),
            vec![
                ("status", "overdue".to_owned()),
                ("patient_id", "PAT-10001".to_owned()),
                ("from_date", "2026-11-01".to_owned()),
                ("to_date", "2026-11-23".to_owned()),
                ("limit", "100".to_owned()),
                ("offset", "200".to_owned()),
            ]
        );
        assert!(!query
            .pairs(false)
            .iter()
            .any(|(name, _)| *name == "patient_id"));
    }
}
