//! Storage of the v2 beta's cursor-paged lists: rows in creation order (`seq`) after a cursor.
//! A new row always gets a larger `seq` than every row before it, so a client paging with the
//! cursor while others write sees every row once: no duplicates, no gaps.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{AppointmentStatus, InvoiceStatus, PatientStatus};

use super::Result;

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
}
