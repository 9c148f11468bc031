//! A patient's chart: the patient from the cache at once, and what the cache does not keep
//! (appointments, records, invoices) from the API. Every opening of a chart, a record or an
//! invoice is written to the audit log (who, what, when; never the content).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use practice_studio::client::{AppointmentQuery, InvoiceQuery, RecordQuery};
use practice_studio::model::{
    Appointment, Invoice, InvoiceId, MedicalRecord, Patient, PatientId, RecordId,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{AuditAction, EntityKind};

use crate::desk::{CoreError, Desk};
use crate::sync::LOCAL_PATIENT_PREFIX;

pub use crate::roles::{READ_APPOINTMENTS, READ_INVOICES, READ_RECORDS};

/// Arguments of the commands about one patient.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatientArgs {
    pub patient_id: String,
}

/// Arguments of `open_record`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordArgs {
    pub record_id: String,
}

/// Arguments of `open_invoice`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceArgs {
    pub invoice_id: String,
}

/// The chart's header and details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    pub patient: Patient,
    /// Age in whole years on the desk's today.
    pub age: u32,
    /// A change to this patient (or their registration) is not yet confirmed by the server.
    pub pending: bool,
    /// What the signed-in user may see in the chart's tabs.
    pub may_read_records: bool,
    pub may_read_invoices: bool,
    pub may_read_appointments: bool,
}

/// An appointment with the time zone of its location (IANA name, e.g. `America/Chicago`), so its
/// times are shown as the clinic keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartAppointment {
    pub appointment: Appointment,
    /// Absent when the location is not (yet) in the cache.
    pub time_zone: Option<String>,
}

/// A record in the list: what it is, not what it says (that is read, and audited, on opening).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecordSummary {
    pub id: String,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub record_type: String,
    pub date: DateTime<Utc>,
    pub title: String,
    pub attachments: u32,
}

/// An opened record with who wrote it, by name (from the cached providers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub record: MedicalRecord,
    /// e.g. `Dana Whitfield, MD`; absent when the provider is not (yet) in the cache.
    pub provider_name: Option<String>,
}

/// Whole years between `born` and `today`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Whether the id is a registration's own until the server names it.
fn is_local(id: &str) -> bool {
    id.starts_with(LOCAL_PATIENT_PREFIX)
}

impl Desk {
    /// The cached patient a screen names, by its id or by the local id it was registered under.
    pub(crate) async fn cached_patient(&self, id: &str) -> Result<Patient, CoreError> {
        self.cache()?
            .engine
            .store()
            .patient_by_any_id(id)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                what: "patient",
                id: id.to_owned(),
            })
    }

    /// The id a patient now has: a registration's local id becomes the server's once accepted.
    async fn current_patient_id(&self, id: &str) -> Result<PatientId, CoreError> {
        let cache = self.cache()?;
        let store = cache.engine.store();
        Ok(match store.mapped_id(EntityKind::Patient, id).await? {
            Some(server_id) => PatientId(server_id),
            None => PatientId(id.to_owned()),
        })
    }

    /// Opens a patient's chart from the cache, and records the opening.
    pub async fn open_chart(&self, patient_id: &str) -> Result<Chart, CoreError> {
        self.chart(patient_id, true).await
    }

    /// The chart on screen again, after fresher data arrived: read like an opening, not recorded
    /// as another one.
    pub async fn refresh_chart(&self, patient_id: &str) -> Result<Chart, CoreError> {
        self.chart(patient_id, false).await
    }

    async fn chart(&self, patient_id: &str, opening: bool) -> Result<Chart, CoreError> {
        let (me, _) = self.signed_in().await?;
        let cache = self.cache()?;
        let patient = self.cached_patient(patient_id).await?;
        let id = patient.id.clone();
        let pending = cache
            .engine
            .store()
            .patient_pending(&id)
            .await?
            .unwrap_or(false);
        if opening {
            cache
                .audit
                .append(
                    &me.user_id,
                    AuditAction::ViewedPatient,
                    "patient",
                    id.as_str(),
                )
                .await?;
            tracing::info!(patient = %id, "chart opened");
        }
        Ok(Chart {
            age: age_on(patient.date_of_birth, self.inner.clock.today()),
            patient,
            pending,
            may_read_records: me.may(READ_RECORDS),
            may_read_invoices: me.may(READ_INVOICES),
            may_read_appointments: me.may(READ_APPOINTMENTS),
        })
    }

    /// A patient's appointments, newest first (from the API), each with its location's zone.
    pub async fn patient_appointments(
        &self,
        patient_id: &str,
    ) -> Result<Vec<ChartAppointment>, CoreError> {
        let (me, client) = self.signed_in().await?;
        require(&me, READ_APPOINTMENTS, "appointments")?;
        let id = self.current_patient_id(patient_id).await?;
        if is_local(id.as_str()) {
            return Ok(Vec::new());
        }
        let mut list = client
            .appointments()
            .of_patient(&id, &AppointmentQuery::new().limit(100))
            .await
            .map_err(CoreError::from_api)?
            .appointments;
        list.sort_by_key(|a| std::cmp::Reverse(a.start_time));
        let zones: std::collections::HashMap<String, String> = self
            .cache()?
            .engine
            .store()
            .locations()
            .await?
            .into_iter()
            .map(|l| (l.id.0, l.time_zone))
            .collect();
        Ok(list
            .into_iter()
            .map(|appointment| ChartAppointment {
                time_zone: zones.get(appointment.location.id.as_str()).cloned(),
                appointment,
            })
            .collect())
    }

    /// A patient's records, newest first, without their content (from the API).
    pub async fn patient_records(&self, patient_id: &str) -> Result<Vec<RecordSummary>, CoreError> {
        let (me, client) = self.signed_in().await?;
        require(&me, READ_RECORDS, "medical records")?;
        let id = self.current_patient_id(patient_id).await?;
        if is_local(id.as_str()) {
            return Ok(Vec::new());
        }
        let mut list: Vec<RecordSummary> = client
            .records()
            .list(&id, &RecordQuery::new().limit(100))
            .await
            .map_err(CoreError::from_api)?
            .records
            .into_iter()
            .map(|r| RecordSummary {
                id: r.id.0,
                record_type: r.record_type,
                date: r.date,
                title: r.title,
                attachments: u32::try_from(r.attachments.len()).unwrap_or(u32::MAX),
            })
            .collect();
        list.sort_by_key(|a| std::cmp::Reverse(a.date));
        Ok(list)
    }

    /// One record with its SOAP note and its author's name; the opening is recorded.
    pub async fn open_record(&self, record_id: &str) -> Result<RecordView, CoreError> {
        let (me, client) = self.signed_in().await?;
        require(&me, READ_RECORDS, "medical records")?;
        let record = client
            .records()
            .get(&RecordId(record_id.to_owned()))
            .await
            .map_err(CoreError::from_api)?;
        self.cache()?
            .audit
            .append(
                &me.user_id,
                AuditAction::ViewedRecord,
                "record",
                record.id.as_str(),
            )
            .await?;
        let cache = self.cache()?;
        let provider_name = cache
            .engine
            .store()
            .providers()
            .await?
            .into_iter()
            .find(|p| p.id == record.provider_id)
            .map(|p| {
                let name = format!("{} {}", p.first_name, p.last_name);
                if p.credentials.trim().is_empty() {
                    name
                } else {
                    format!("{name}, {}", p.credentials)
                }
            });
        Ok(RecordView {
            record,
            provider_name,
        })
    }

    /// A patient's invoices, newest first (from the API).
    pub async fn patient_invoices(&self, patient_id: &str) -> Result<Vec<Invoice>, CoreError> {
        let (me, client) = self.signed_in().await?;
        require(&me, READ_INVOICES, "invoices")?;
        let id = self.current_patient_id(patient_id).await?;
        if is_local(id.as_str()) {
            return Ok(Vec::new());
        }
        let mut list = client
            .billing()
            .patient_invoices(&id, &InvoiceQuery::new().limit(100))
            .await
            .map_err(CoreError::from_api)?
            .invoices;
        list.sort_by_key(|a| std::cmp::Reverse(a.date));
        Ok(list)
    }

    /// One invoice with its items, payments and adjustments; the opening is recorded. Read from
    /// the API and kept in the cache (a payment is checked against it, offline too); offline,
    /// the cached copy (with the payments taken here and not yet confirmed).
    pub async fn open_invoice(&self, invoice_id: &str) -> Result<Invoice, CoreError> {
        let (me, client) = self.signed_in().await?;
        require(&me, READ_INVOICES, "invoices")?;
        let cache = self.cache()?;
        let store = cache.engine.store();
        let asked = chrono::Utc::now();
        let invoice = match client
            .billing()
            .invoice(&InvoiceId(invoice_id.to_owned()))
            .await
        {
            Ok(invoice) => {
                store
                    .apply_remote_invoices(std::slice::from_ref(&invoice), asked)
                    .await?;
                store.invoice(invoice_id).await?.unwrap_or(invoice)
            }
            Err(error) => match CoreError::from_api(error) {
                CoreError::Offline(error) => store
                    .invoice(invoice_id)
                    .await?
                    .ok_or(CoreError::Offline(error))?,
                other => return Err(other),
            },
        };
        cache
            .audit
            .append(
                &me.user_id,
                AuditAction::ViewedInvoice,
                "invoice",
                invoice.id.as_str(),
            )
            .await?;
        Ok(invoice)
    }

    /// Takes a payment towards an invoice through the outbox (offline too), checked against the
    /// cached invoice's balance; it shows as pending until the server confirms it.
    pub async fn take_payment(
        &self,
        invoice_id: &str,
        payment: &practice_studio::model::NewPayment,
    ) -> Result<crate::payments::PendingPayment, CoreError> {
        use crate::payments::PaymentError;
        use crate::roles::{Offer, Offers};
        let (me, _) = self.signed_in().await?;
        if !me.offers.take_payments {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::TakePayments,
                &me.role,
            )));
        }
        let cache = self.cache()?;
        crate::payments::take_payment(&cache.engine, &me.user_id, invoice_id, payment)
            .await
            .map_err(|error| match error {
                PaymentError::Invalid(problems) => CoreError::Invalid(problems),
                PaymentError::UnknownInvoice(id) => CoreError::NotFound {
                    what: "invoice",
                    id,
                },
                PaymentError::Cache(cache) => CoreError::Cache(cache),
            })
    }
}

pub(crate) fn require(
    me: &crate::session::SessionInfo,
    scope: &str,
    what: &'static str,
) -> Result<(), CoreError> {
    use crate::roles::{Offer, Offers};
    if me.may(scope) {
        return Ok(());
    }
    let offer = match scope {
        READ_RECORDS => Offer::ReadRecords,
        READ_INVOICES => Offer::ReadInvoices,
        READ_APPOINTMENTS => Offer::ReadAppointments,
        _ => {
            return Err(CoreError::NotAllowed(format!(
                "your role ({}) does not include {what}",
                me.role
            )))
        }
    };
    Err(CoreError::NotAllowed(Offers::why_not(offer, &me.role)))
}

#[cfg(test)]
mod tests {
    use super::age_on;

    fn day(s: &str) -> chrono::NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn age_counts_a_year_only_once_the_birthday_has_come() {
        assert_eq!(age_on(day("1980-11-24"), day("2026-11-23")), 45);
        assert_eq!(age_on(day("1980-11-23"), day("2026-11-23")), 46);
        assert_eq!(age_on(day("2000-02-29"), day("2026-02-28")), 25);
        assert_eq!(age_on(day("2030-01-01"), day("2026-02-28")), 0);
    }
}
