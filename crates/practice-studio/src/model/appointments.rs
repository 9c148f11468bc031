//! Appointments: the reference's shape, plus the day's status flow (extension: `checked_in`,
//! `in_room`, `no_show` and the time each change happened).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{AppointmentId, Link, LocationAddress, LocationId, PatientId, ProviderId};

/// Where an appointment is in the clinic's day. The reference names `scheduled`, `completed` and
/// `cancelled`; the steps between them and `no_show` are extensions a front desk needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Scheduled,
    CheckedIn,
    InRoom,
    Completed,
    Cancelled,
    NoShow,
}

impl AppointmentStatus {
    /// Every status, in the order of a day.
    pub const ALL: [AppointmentStatus; 6] = [
        AppointmentStatus::Scheduled,
        AppointmentStatus::CheckedIn,
        AppointmentStatus::InRoom,
        AppointmentStatus::Completed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ];

    /// The wire spelling, e.g. `checked_in`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Scheduled => "scheduled",
            AppointmentStatus::CheckedIn => "checked_in",
            AppointmentStatus::InRoom => "in_room",
            AppointmentStatus::Completed => "completed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
        }
    }

    /// The status a wire spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the appointment holds its time (everything but a cancellation).
    pub fn holds_time(self) -> bool {
        self != AppointmentStatus::Cancelled
    }
}

impl std::fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The location embedded in an appointment, as the reference shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppointmentLocation {
    pub id: LocationId,
    pub name: String,
    pub address: LocationAddress,
}

/// `_links` of an appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppointmentLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
    pub patient: Link,
    pub provider: Link,
}

impl AppointmentLinks {
    /// The links of an appointment between these parties.
    pub fn new(id: &AppointmentId, patient: &PatientId, provider: &ProviderId) -> Self {
        Self {
            self_: Link {
                href: format!("/api/v1/appointments/{id}"),
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

/// An appointment as the reference shows it, with the status stamps (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub provider_id: ProviderId,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// Free text on the wire, as in the reference; one of the appointment-type catalogue's names.
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    pub status: AppointmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    pub location: AppointmentLocation,
    /// Extension: when the patient arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Extension: when the patient went into a room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub roomed_at: Option<DateTime<Utc>>,
    /// Extension: when the visit ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Extension: when it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Extension: why it was cancelled (required with a cancellation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancel_reason: Option<String>,
    /// Extension: when the patient was marked as not having come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub no_show_at: Option<DateTime<Utc>>,
    /// Extension: the version `If-Match` names (also the `ETag`).
    #[serde(default)]
    pub version: i64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: AppointmentLinks,
}

impl Appointment {
    /// Its time as a span (start before end is kept by the server).
    pub fn span(&self) -> Result<crate::rules::TimeSpan, crate::rules::TimeSpanError> {
        crate::rules::TimeSpan::new(self.start_time, self.end_time)
    }
}

/// `GET /api/v1/appointments` and the per-patient and per-provider lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppointmentList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub appointments: Vec<Appointment>,
}

/// The body of `POST /api/v1/appointments`, as in the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewAppointment {
    pub patient_id: PatientId,
    pub provider_id: ProviderId,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    pub location_id: LocationId,
}

/// The body of `PUT /api/v1/appointments/{id}` (extension, JSON Merge Patch): any subset. A
/// status change may carry the time it happened (a desk that checked a patient in offline sends
/// it); without one the server stamps its own time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppointmentPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub status: Option<AppointmentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub provider_id: Option<ProviderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location_id: Option<LocationId>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[ts(optional, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub checked_in_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub roomed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub no_show_at: Option<DateTime<Utc>>,
}
