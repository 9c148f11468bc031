//! The clinic's places, people and catalogue: locations, providers with their hours, appointment
//! types, and free slots (extensions beyond the reference are marked so).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Link, LocationId, ProviderId};

/// A location's postal address, as the reference's appointment example shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LocationAddress {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

/// `_links` of a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
}

/// A clinic location (extension: the reference only embeds `{id, name, address}` in appointments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: LocationId,
    pub name: String,
    pub address: LocationAddress,
    pub phone: String,
    /// IANA time zone, e.g. `America/Chicago`: hours at this location are wall-clock times here.
    pub time_zone: String,
    #[serde(default)]
    pub version: i64,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: LocationLinks,
}

/// `{"id", "name"}` of a location, as a provider lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationRef {
    pub id: LocationId,
    pub name: String,
}

/// Opening hours on one day: local wall-clock `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayHours {
    pub start: String,
    pub end: String,
}

/// Hours per weekday, keyed as the reference keys them (`"monday": {"start","end"}`); a day
/// without a key is not worked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeeklySchedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub monday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tuesday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub wednesday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub thursday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub friday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub saturday: Option<DayHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sunday: Option<DayHours>,
}

/// Extension: a provider's weekly hours and breaks at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LocationSchedule {
    pub location_id: LocationId,
    pub hours: WeeklySchedule,
    /// Recurring breaks on every working day (lunch), local `HH:MM`.
    #[serde(default)]
    pub breaks: Vec<DayHours>,
}

/// Kinds of schedule exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Not available (vacation, training, a holiday); the whole day unless start/end are given.
    TimeOff,
    /// An extra session outside the weekly hours.
    Extra,
}

/// Extension: a dated change to a provider's weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScheduleException {
    pub date: NaiveDate,
    pub kind: ExceptionKind,
    /// Which location it applies to; all of the provider's locations when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub location_id: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub note: Option<String>,
}

/// `_links` of a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
    pub appointments: Link,
}

/// A provider as the reference shows one, plus per-location hours, breaks and exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: ProviderId,
    pub npi: String,
    pub first_name: String,
    pub last_name: String,
    pub credentials: String,
    pub specialty: String,
    pub email: String,
    pub phone: String,
    pub active: bool,
    pub locations: Vec<LocationRef>,
    /// The reference's weekly schedule: the hours at the provider's first location.
    pub schedule: WeeklySchedule,
    /// Extension: hours and breaks at each location, in that location's time zone.
    #[serde(default)]
    pub location_schedules: Vec<LocationSchedule>,
    /// Extension: time off and extra sessions.
    #[serde(default)]
    pub schedule_exceptions: Vec<ScheduleException>,
    #[serde(default)]
    pub version: i64,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: ProviderLinks,
}

/// `GET /api/v1/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub providers: Vec<Provider>,
}

/// `GET /api/v1/locations` (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub locations: Vec<Location>,
}

/// An entry of the appointment-type catalogue (extension). An appointment's `type` stays free
/// text on the wire, as the reference has it, and is checked against these names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppointmentType {
    pub name: String,
    /// Minutes.
    pub default_duration: u32,
    /// `#rrggbb`, the colour of the type's bar in an appointment book.
    pub colour: String,
}

/// `GET /api/v1/appointment-types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppointmentTypeList {
    pub total: u64,
    pub appointment_types: Vec<AppointmentType>,
}

/// A free slot (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub provider_id: ProviderId,
    pub location_id: LocationId,
}

/// `GET /api/v1/providers/{id}/slots` (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlotList {
    pub provider_id: ProviderId,
    /// Minutes.
    pub duration: u32,
    pub total: u64,
    pub slots: Vec<Slot>,
}
