//! Storage of the records routes (medical records and their attachments).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use practice_studio::model::{AttachmentId, PatientId, ProviderId, RecordContent, RecordId};

use super::{IdempotencyClaim, Result, StoredResponse};

/// Filters and paging of a patient's records (newest first, ties broken by creation).
#[derive(Debug, Clone)]
pub struct RecordQuery {
    pub patient_id: String,
    /// Matched without regard to case.
    pub record_type: Option<String>,
    /// Records at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Records before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Records stored at or after this instant (a record never changes once written, so this
    /// is its creation).
    pub updated_since: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u64,
}

/// Which document an attachment is; its bytes are made from it and its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentKind {
    LabResults,
    ReferralLetter,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::LabResults => "lab_results",
            AttachmentKind::ReferralLetter => "referral_letter",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "lab_results" => Some(AttachmentKind::LabResults),
            "referral_letter" => Some(AttachmentKind::ReferralLetter),
            _ => None,
        }
    }
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    pub filename: String,
    pub content_type: String,
    pub uploaded_at: DateTime<Utc>,
}

/// A record as stored, with its attachments in upload order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub id: RecordId,
    pub patient_id: PatientId,
    pub provider_id: ProviderId,
    pub record_type: String,
    pub date: DateTime<Utc>,
    pub title: String,
    pub content: RecordContent,
    pub attachments: Vec<StoredAttachment>,
}

/// A validated new record.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    pub provider_id: ProviderId,
    pub record_type: String,
    pub date: DateTime<Utc>,
    pub title: String,
    pub content: RecordContent,
}

/// A generated demo record: its note is the demo catalogue's `template`.
#[derive(Debug, Clone)]
pub struct DemoRecord {
    pub patient_id: String,
    pub provider_id: String,
    pub record_type: &'static str,
    pub date: DateTime<Utc>,
    pub title: &'static str,
    pub template: i64,
    pub attachments: Vec<(AttachmentKind, &'static str, DateTime<Utc>)>,
}

/// What a stored idempotent create answers, built inside its transaction.
pub type RecordResponder<'a> = &'a (dyn Fn(&StoredRecord) -> Result<StoredResponse> + Send + Sync);

#[async_trait]
pub trait RecordStorage: Send + Sync {
    /// A page of a patient's records and how many match.
    async fn list_records(&self, query: &RecordQuery) -> Result<(u64, Vec<StoredRecord>)>;
    async fn record(&self, id: &str) -> Result<Option<StoredRecord>>;
    /// An attachment with the record it belongs to.
    async fn attachment(&self, id: &str) -> Result<Option<(StoredAttachment, StoredRecord)>>;
    /// Adds a record for an existing patient and, in the same transaction, stores the response
    /// for its idempotency key; `None` when the patient does not exist.
    async fn create_record(
        &self,
        patient_id: &str,
        record: &ValidRecord,
        now: DateTime<Utc>,
        idempotency: Option<(&IdempotencyClaim, RecordResponder<'_>)>,
    ) -> Result<Option<StoredRecord>>;
    /// Inserts generated records (demo data) in one transaction; returns how many.
    async fn bulk_insert_records(&self, records: &[DemoRecord], now: DateTime<Utc>) -> Result<u64>;
    /// Patients in creation order after `after_seq`: (seq, id, registered), for the demo
    /// generators, which walk every patient in batches.
    async fn patients_after(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String, DateTime<Utc>)>>;
}
