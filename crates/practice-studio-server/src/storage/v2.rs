//! Storage of the v2 beta's cursor-paged lists: rows in creation order (`seq`) after a cursor.
//! A new row always gets a larger `seq` than every row before it, so a client paging with the
//! cursor while others write sees every row once: no duplicates, no gaps.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{AppointmentStatus, InvoiceStatus, PatientStatus};

use super::{DeliveryRecord, Result, WebhookRecord};

/// What every cursor-paged list shares.
#[derive(Debug, Clone, Copy)]
pub struct CursorPage {
    /// Rows with a larger `seq` than this.
    pub after_seq: i64,
    /// At most this many (the caller asks for one more to learn whether more follow).
    pub limit: u32,
    /// Rows changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PatientCursorQuery {
    pub page: CursorPage,
    pub status: Option<PatientStatus>,
    /// Full detail objects (`expand=full`) instead of list summaries.
    pub full: bool,
}

#[derive(Debug, Clone)]
pub struct AppointmentCursorQuery {
    pub page: CursorPage,
    pub patient_id: Option<String>,
    pub provider_id: Option<String>,
    pub status: Option<AppointmentStatus>,
    /// Calendar days at the appointment's location, inclusive.
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct InvoiceCursorQuery {
    pub page: CursorPage,
    pub patient_id: Option<String>,
    pub status: Option<InvoiceStatus>,
    /// The day statuses are derived for.
    pub today: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct RecordCursorQuery {
    pub page: CursorPage,
    pub patient_id: String,
    /// Matched without regard to case.
    pub record_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WaitlistCursorQuery {
    pub page: CursorPage,
    /// `waiting`, `booked` or `removed`.
    pub status: Option<String>,
    pub patient_id: Option<String>,
    /// Entries that name this provider, or take any provider.
    pub provider_id: Option<String>,
}

/// The small clinic tables paged by their insertion `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicList {
    Providers,
    Locations,
    /// The catalogue has no change time (no route changes it): `updated_since` is not offered.
    AppointmentTypes,
}

/// A patient as the v2 search's index keeps it.
#[derive(Debug, Clone)]
pub struct PatientSearchRow {
    pub seq: i64,
    pub id: String,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `active`, `inactive` or `deceased`.
    pub status: String,
    /// RFC 3339, as stored.
    pub updated: String,
    pub phone: Option<String>,
}

#[async_trait]
pub trait V2Storage: Send + Sync {
    /// `(seq, the patient's list summary as stored JSON)` in creation order.
    async fn v2_patients(&self, query: &PatientCursorQuery) -> Result<Vec<(i64, String)>>;
    /// `(seq, the appointment as stored JSON)` in creation order.
    async fn v2_appointments(&self, query: &AppointmentCursorQuery) -> Result<Vec<(i64, String)>>;
    /// `(seq, invoice id)` in creation order.
    async fn v2_invoice_ids(&self, query: &InvoiceCursorQuery) -> Result<Vec<(i64, String)>>;
    /// `(seq, record id)` in creation order.
    async fn v2_record_ids(&self, query: &RecordCursorQuery) -> Result<Vec<(i64, String)>>;
    /// `(position, the stored body)` of every provider, location or appointment type after
    /// `after_position` in insertion order, changed (PUT) at or after `updated_since` when given
    /// (never given for appointment types, which have no change time). Unlimited: the tables are
    /// small and the caller filters on the body before taking its page.
    async fn v2_clinic(
        &self,
        list: ClinicList,
        after_position: i64,
        updated_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<(i64, String)>>;
    /// Patients changed at or after `since` (every patient without it), for the search index.
    async fn v2_search_rows(&self, since: Option<DateTime<Utc>>) -> Result<Vec<PatientSearchRow>>;
    /// `(seq, list summary)` of these patients, in no particular order.
    async fn v2_patient_summaries(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>>;
    /// Ids of the patients `provider_id` has seen: an appointment checked in, roomed or completed.
    async fn v2_patients_seen_by(&self, provider_id: &str) -> Result<Vec<String>>;
    /// `(seq, the entry as stored JSON)` in the order the entries were added.
    async fn v2_waitlist(&self, query: &WaitlistCursorQuery) -> Result<Vec<(i64, String)>>;
    /// `(seq, subscription)` of `owner`'s webhooks registered after `after_seq`, in the order
    /// they were registered (a `seq` is never reused, deletions notwithstanding), at most `limit`.
    async fn v2_webhooks(
        &self,
        owner: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, WebhookRecord)>>;
    /// A webhook's deliveries made after `after_seq`, oldest first, at most `limit`.
    async fn v2_deliveries(
        &self,
        webhook_id: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
}
