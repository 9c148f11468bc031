//! The waitlist (extension): patients who want an earlier or a particular time, kept on the
//! server so every desk shares it, and offered a slot when one frees up.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{AppointmentId, LocationId, PatientId, ProviderId};

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WaitlistStatus {
    /// Still wants a slot.
    Waiting,
    /// Booked: `appointmentId` names the appointment.
    Booked,
    /// Taken off the list (no longer wanted, booked elsewhere, reached by phone…).
    Removed,
}

impl WaitlistStatus {
    pub const ALL: [WaitlistStatus; 3] = [
        WaitlistStatus::Waiting,
        WaitlistStatus::Booked,
        WaitlistStatus::Removed,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitlistStatus::Waiting => "waiting",
            WaitlistStatus::Booked => "booked",
            WaitlistStatus::Removed => "removed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A day of the week, as preferences name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<chrono::Weekday> for Day {
    fn from(day: chrono::Weekday) -> Self {
        match day {
            chrono::Weekday::Mon => Day::Monday,
            chrono::Weekday::Tue => Day::Tuesday,
            chrono::Weekday::Wed => Day::Wednesday,
            chrono::Weekday::Thu => Day::Thursday,
            chrono::Weekday::Fri => Day::Friday,
            chrono::Weekday::Sat => Day::Saturday,
            chrono::Weekday::Sun => Day::Sunday,
        }
    }
}

/// What a patient on the waitlist would accept. Empty lists and absent fields mean "any".
/// Times are local to the slot's location (the clinic's wall clock).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaitlistPreferences {
    #[serde(default)]
    pub provider_ids: Vec<ProviderId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location_id: Option<LocationId>,
    #[serde(default)]
    pub days: Vec<Day>,
    /// Not before this local time of day, `HH:MM` (as a schedule's hours are written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(example = "08:00"))]
    pub earliest_time: Option<String>,
    /// Finished by this local time of day, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[cfg_attr(feature = "openapi", schema(example = "12:00"))]
    pub latest_time: Option<String>,
    /// Not before this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub earliest_date: Option<NaiveDate>,
    /// Not after this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub latest_date: Option<NaiveDate>,
}

/// A waitlist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaitlistEntry {
    /// `WL-` and a number.
    pub id: String,
    pub patient_id: PatientId,
    /// The appointment type wanted (as in an appointment's `type`).
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    /// Minutes the visit needs.
    pub duration: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    pub preferences: WaitlistPreferences,
    pub status: WaitlistStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub appointment_id: Option<AppointmentId>,
    /// Bumped by every change; `If-Match` on `PUT` compares it.
    pub version: i64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// `GET /api/v1/waitlist`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitlistList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub entries: Vec<WaitlistEntry>,
}

/// The body of `POST /api/v1/waitlist`. `duration` defaults to the type's default duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewWaitlistEntry {
    pub patient_id: PatientId,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    #[serde(default)]
    pub preferences: WaitlistPreferences,
}

/// The body of `PUT /api/v1/waitlist/{id}` (JSON Merge Patch): any subset. Booking an entry
/// sets `status: booked` with the `appointmentId`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaitlistPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub status: Option<WaitlistStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub appointment_id: Option<AppointmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub preferences: Option<WaitlistPreferences>,
}

/// One entry that would take a freed slot, best first (`GET /api/v1/waitlist/candidates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WaitlistCandidate {
    pub entry: WaitlistEntry,
    /// 1 is the best.
    pub rank: u32,
    /// Why it ranks where it does, for the person offering the slot.
    pub why: String,
}

/// `GET /api/v1/waitlist/candidates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitlistCandidates {
    pub candidates: Vec<WaitlistCandidate>,
}
