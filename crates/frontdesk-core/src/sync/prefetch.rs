//! Reading ahead: the records and invoices of the patients booked in the next days (from the
//! cached book), so a clinician can read them and the desk can take a payment offline. Only what
//! the signed-in user may read is fetched: a 403 on the first patient stops that kind for the
//! round (a receptionist fetches no records).

use chrono::Duration;
use practice_studio::client::{Client, Error as ClientError, InvoiceQuery, Priority, RecordQuery};
use practice_studio::model::PatientId;

use super::{SyncEngine, SyncError};

/// Items per page of a patient's records and invoices.
const PAGE: u32 = 100;

/// What one round of reading ahead did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Patients booked in the window.
    pub patients: usize,
    /// Records and invoices stored or changed.
    pub records: usize,
    pub invoices: usize,
    /// Whether the signed-in user may read them (`false` after a 403).
    pub records_allowed: bool,
    pub invoices_allowed: bool,
}

impl SyncEngine {
    /// Fetches the records and invoices of every patient with a cached appointment (not
    /// cancelled) from today through [`super::SyncOptions::prefetch_days`] days ahead, and
    /// caches them. Patients registered on this desk and not yet accepted are skipped (the
    /// server has nothing of theirs).
    pub async fn prefetch_upcoming(&self) -> Result<PrefetchReport, SyncError> {
        let client = self.reader().await?;
        let today = self.inner.clock.today();
        let midnight = today
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_else(|| self.inner.clock.now());
        // Today and the next `prefetch_days` days; midnight UTC is not midnight at every
        // location, so a day of margin on each side.
        let from = midnight - Duration::days(1);
        let to = midnight + Duration::days(i64::from(self.inner.options.prefetch_days) + 2);
        let patients: Vec<String> = self
            .inner
            .store
            .patients_booked_between(from, to)
            .await?
            .into_iter()
            .filter(|id| !id.starts_with(super::LOCAL_PATIENT_PREFIX))
            .collect();
        let mut report = PrefetchReport {
            patients: patients.len(),
            records_allowed: true,
            invoices_allowed: true,
            ..PrefetchReport::default()
        };
        for id in &patients {
            let patient = PatientId(id.clone());
            if report.records_allowed {
                match self.fetch_records(&client, &patient).await {
                    Ok(n) => report.records += n,
                    Err(SyncError::Api(ClientError::Forbidden(_))) => {
                        report.records_allowed = false
                    }
                    Err(SyncError::Api(ClientError::NotFound(_) | ClientError::Gone(_))) => {}
                    Err(error) => return Err(error),
                }
            }
            if report.invoices_allowed {
                match self.fetch_invoices(&client, &patient).await {
                    Ok(n) => report.invoices += n,
                    Err(SyncError::Api(ClientError::Forbidden(_))) => {
                        report.invoices_allowed = false
                    }
                    Err(SyncError::Api(ClientError::NotFound(_) | ClientError::Gone(_))) => {}
                    Err(error) => return Err(error),
                }
            }
            if !report.records_allowed && !report.invoices_allowed {
                break;
            }
        }
        tracing::debug!(
            patients = report.patients,
            records = report.records,
            invoices = report.invoices,
            "read ahead for the coming days"
        );
        Ok(report)
    }

    async fn fetch_records(
        &self,
        client: &Client,
        patient: &PatientId,
    ) -> Result<usize, SyncError> {
        let mut offset = 0u64;
        let mut stored = 0;
        loop {
            let page = client
                .records()
                .list(patient, &RecordQuery::new().limit(PAGE).offset(offset))
                .priority(Priority::Background)
                .await;
            self.observe(&page);
            let page = page?;
            let count = page.records.len();
            offset += count as u64;
            stored += self
                .inner
                .store
                .apply_remote_records(&page.records)
                .await?
                .len();
            if count < PAGE as usize || offset >= page.total {
                return Ok(stored);
            }
        }
    }

    async fn fetch_invoices(
        &self,
        client: &Client,
        patient: &PatientId,
    ) -> Result<usize, SyncError> {
        let mut offset = 0u64;
        let mut stored = 0;
        loop {
            let asked = chrono::Utc::now();
            let page = client
                .billing()
                .patient_invoices(patient, &InvoiceQuery::new().limit(PAGE).offset(offset))
                .priority(Priority::Background)
                .await;
            self.observe(&page);
            let page = page?;
            let count = page.invoices.len();
            offset += count as u64;
            stored += self
                .inner
                .store
                .apply_remote_invoices(&page.invoices, asked)
                .await?
                .len();
            if count < PAGE as usize || offset >= page.total {
                return Ok(stored);
            }
        }
    }
}
