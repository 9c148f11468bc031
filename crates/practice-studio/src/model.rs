//! Wire types of the Practice Studio API. Field names follow the reference (camelCase); optional
//! fields the reference shows only on a detail view are omitted from JSON when absent.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod appointments;
mod clinic;
mod waitlist;
mod webhooks;

pub use appointments::*;
pub use clinic::*;
pub use waitlist::*;
pub use webhooks::*;

/// Answer of `GET /health`: whether the service is up and which build answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `"ok"` while the service can serve requests.
    pub status: HealthStatus,
    /// The server's version (its crate version).
    pub version: String,
    /// True when the server runs on generated demo data (`--demo`).
    pub demo: bool,
    /// The date the server treats as today (`YYYY-MM-DD`); differs from the calendar in demos
    /// started with `--demo-today`.
    pub today: NaiveDate,
}

/// Whether the service can serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_newtype!(
    /// A patient's id, e.g. `PAT-12345`.
    PatientId,
    "PAT-"
);
id_newtype!(
    /// A provider's id, e.g. `PROV-54321`.
    ProviderId,
    "PROV-"
);
id_newtype!(
    /// A location's id, e.g. `LOC-789`.
    LocationId,
    "LOC-"
);
id_newtype!(
    /// An appointment's id, e.g. `APPT-12345`.
    AppointmentId,
    "APPT-"
);

// After `id_newtype!`, which they use.
mod billing;
pub mod detail_code;
pub mod money;
mod records;

pub use billing::*;
pub use records::*;

/// A hypermedia link (`{"href": "/api/v1/…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub href: String,
}

/// The `_links` of a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatientLinks {
    #[serde(rename = "self")]
    #[ts(rename = "self")]
    pub self_: Link,
    pub appointments: Link,
    pub records: Link,
}

impl PatientLinks {
    /// The links of the patient with this id.
    pub fn for_patient(id: &PatientId) -> Self {
        let base = format!("/api/v1/patients/{id}");
        Self {
            appointments: Link {
                href: format!("{base}/appointments"),
            },
            records: Link {
                href: format!("{base}/records"),
            },
            self_: Link { href: base },
        }
    }
}

/// Administrative sex as the reference spells it: `M`, `F`, `O` (other) or `U` (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Gender {
    M,
    F,
    O,
    U,
}

/// Whether a patient is current (an extension: the reference's `status` filter implies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    #[default]
    Active,
    Inactive,
    Deceased,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub country: Option<String>,
}

/// How to reach a patient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub address: Option<Address>,
}

/// One insurance policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InsurancePolicy {
    pub provider: String,
    pub member_id: String,
    /// May be empty (the reference's Medicare example has `""`).
    #[serde(default)]
    pub group_number: String,
}

/// A patient's insurance.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Insurance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub primary: Option<InsurancePolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub secondary: Option<InsurancePolicy>,
}

/// Whom to call in an emergency.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EmergencyContact {
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

/// The pharmacy a patient prefers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pharmacy {
    pub id: String,
    pub name: String,
    pub phone: String,
}

/// A recorded allergy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Allergy {
    pub allergen: String,
    pub reaction: String,
    /// As recorded, e.g. `Mild`, `Moderate`, `Severe`.
    pub severity: String,
    pub noted: DateTime<Utc>,
}

/// A patient as the API returns it. List items carry the reference's summary fields unless the
/// list was asked for `expand=full`; the detail view always carries everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: PatientId,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Gender,
    /// Extension: `active`, `inactive` or `deceased`.
    #[serde(default)]
    pub status: PatientStatus,
    #[serde(default)]
    pub contact_info: ContactInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub insurance: Option<Insurance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub emergency_contact: Option<EmergencyContact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub preferred_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub preferred_pharmacy: Option<Pharmacy>,
    /// Absent from summaries; `[]` on a detail view of a patient with no known allergies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub allergies: Option<Vec<Allergy>>,
    /// Extension: grows with every change; sent back in `If-Match` to update.
    #[serde(default)]
    pub version: i64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    #[serde(rename = "_links")]
    #[ts(rename = "_links")]
    pub links: PatientLinks,
}

impl Patient {
    /// The list item of the reference: without emergency contact, language, pharmacy, allergies
    /// or secondary insurance (`expand=full` lists return the whole patient).
    pub fn summary(&self) -> Patient {
        let mut summary = self.clone();
        summary.emergency_contact = None;
        summary.preferred_language = None;
        summary.preferred_pharmacy = None;
        summary.allergies = None;
        if let Some(insurance) = summary.insurance.as_mut() {
            insurance.secondary = None;
        }
        summary
    }
}

/// The list envelope of `GET /api/v1/patients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PatientList {
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    pub patients: Vec<Patient>,
}

/// The body of `POST /api/v1/patients`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewPatient {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`; validated as a real date in the past.
    #[cfg_attr(feature = "openapi", schema(value_type = NaiveDate, format = Date))]
    pub date_of_birth: String,
    /// `M`, `F`, `O` or `U`.
    #[cfg_attr(feature = "openapi", schema(value_type = Gender))]
    pub gender: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub status: Option<PatientStatus>,
    #[serde(default)]
    pub contact_info: ContactInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub insurance: Option<Insurance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub emergency_contact: Option<EmergencyContact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub preferred_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub preferred_pharmacy: Option<Pharmacy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub allergies: Option<Vec<Allergy>>,
}

/// One field's problem in an error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Dotted path of the field, e.g. `contactInfo.email`.
    pub field: String,
    pub issue: String,
    /// Extension: a stable machine code for the kind of problem, e.g. `date_in_future` (see `detail_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub code: Option<String>,
}

impl ErrorDetail {
    /// A problem of `field` of the kind `code` (one of [`detail_code`]).
    pub fn new(code: &str, field: impl Into<String>, issue: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            issue: issue.into(),
            code: Some(code.to_owned()),
        }
    }
}

/// The body of every non-2xx API response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
    #[serde(default)]
    pub request_id: String,
}

/// `{"error": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// Answer of `GET /api/v1/me` (an extension): who the credential belongs to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The signed-in user; `null` for client credentials and API keys.
    pub user: Option<MeUser>,
    /// The OAuth client (or `api-key:<id>`).
    pub client: String,
    /// `standard`, `premium` or `enterprise`.
    pub tier: String,
    pub rate_limit_per_minute: u32,
    pub scopes: Vec<String>,
    /// `bearer` or `api_key`.
    pub authentication: String,
}

/// The user behind a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MeUser {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `reception`, `clinician`, `billing` or `admin`.
    pub role: String,
}
