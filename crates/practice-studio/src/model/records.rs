//! Medical records (SOAP notes) and their attachments, as the reference's "Get Patient Records"
//! shows them; `NewRecord` is an extension (the reference has no way to write a record).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Link, PatientId, ProviderId};

id_newtype!(
    /// A medical record's id, e.g. `REC-12345`.
    RecordId,
    "REC-"
);
id_newtype!(
    /// An attachment's id, e.g. `ATT-987`.
    AttachmentId,
    "ATT-"
);

/// The four parts of a SOAP note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecordContent {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

/// `_links` of an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentLinks {
    pub download: Link,
}

/// A file attached to a record; its bytes come from `_links.download`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    /// Bytes; the download's `Content-Length`.
    pub size: u64,
    pub uploaded_at: DateTime<Utc>,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: AttachmentLinks,
}

impl AttachmentLinks {
    pub fn for_attachment(id: &AttachmentId) -> Self {
        Self {
            download: Link {
                href: format!("/api/v1/attachments/{id}/download"),
            },
        }
    }
}

/// `_links` of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
    pub patient: Link,
    pub provider: Link,
}

impl RecordLinks {
    pub fn for_record(id: &RecordId, patient: &PatientId, provider: &ProviderId) -> Self {
        Self {
            self_: Link {
                href: format!("/api/v1/records/{id}"),
            },
            patient: Link {
                href: format!("/api/v1/patients/{patient}"),
            },
            provider: Link {
                href: format!("/api/v1/providers/{provider}"),
            },
        }
    }
}

/// A medical record as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MedicalRecord {
    pub id: RecordId,
    pub patient_id: PatientId,
    pub provider_id: ProviderId,
    /// Free text, e.g. `Progress Note`, `Lab Result`, `Referral`.
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub record_type: String,
    pub date: DateTime<Utc>,
    pub title: String,
    pub content: RecordContent,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: RecordLinks,
}

/// The list envelope of `GET /api/v1/patients/{id}/records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecordList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub records: Vec<MedicalRecord>,
}

/// Extension: the body of `POST /api/v1/patients/{id}/records`, a clinician's note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewRecord {
    /// The provider the note is by; must exist.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub provider_id: ProviderId,
    /// Free text, 1–100 characters, e.g. `Progress Note`.
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub record_type: String,
    /// When the encounter happened; now when absent. Never in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub date: Option<DateTime<Utc>>,
    /// 1–200 characters.
    pub title: String,
    pub content: RecordContent,
}
