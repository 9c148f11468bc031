//! FHIR R4 resources as the Practice Studio server's `/fhir/r4` serves them: typed Patient and
//! Appointment with the fields the server fills, and the searchset Bundle around them. Elements
//! the server does not send are left out; unknown ones are ignored when reading, so a richer
//! server still parses. The calls are on `client::Fhir` (feature `client`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The MRN's identifier system on this API.
pub const MRN_SYSTEM: &str = "https://api.practicestudio.com/fhir/sid/mrn";

/// `Meta`: the version and last change of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<DateTime<Utc>>,
}

/// `Coding`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// `CodeableConcept`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CodeableConcept {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `Identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `HumanName`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HumanName {
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
}

/// `ContactPoint`: `system` is `phone`, `email`, …
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactPoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// `Address`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// `Reference`: `Patient/PAT-12345`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// The id when the reference is to a `kind` (`Patient/PAT-1` → `PAT-1`).
    pub fn id_of(&self, kind: &str) -> Option<&str> {
        self.reference
            .as_deref()?
            .strip_prefix(kind)?
            .strip_prefix('/')
    }
}

/// `administrative-gender`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdministrativeGender {
    Male,
    Female,
    Other,
    Unknown,
}

/// A FHIR R4 Patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    /// Always `Patient`.
    pub resource_type: String,
    pub id: String,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default)]
    pub name: Vec<HumanName>,
    #[serde(default)]
    pub telecom: Vec<ContactPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<AdministrativeGender>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deceased_boolean: Option<bool>,
    #[serde(default)]
    pub address: Vec<Address>,
}

impl Patient {
    /// The medical record number (the identifier of this API's MRN system).
    pub fn mrn(&self) -> Option<&str> {
        self.identifier
            .iter()
            .find(|i| i.system.as_deref() == Some(MRN_SYSTEM))
            .and_then(|i| i.value.as_deref())
    }

    /// The first name's family part.
    pub fn family(&self) -> Option<&str> {
        self.name.first()?.family.as_deref()
    }

    /// The first name's first given part.
    pub fn given(&self) -> Option<&str> {
        self.name.first()?.given.first().map(String::as_str)
    }

    /// The first telecom value of a system (`phone`, `email`).
    pub fn telecom(&self, system: &str) -> Option<&str> {
        self.telecom
            .iter()
            .find(|t| t.system.as_deref() == Some(system))
            .and_then(|t| t.value.as_deref())
    }

    /// Whether the patient has died (`deceasedBoolean`, false when absent).
    pub fn is_deceased(&self) -> bool {
        self.deceased_boolean.unwrap_or(false)
    }
}

/// `appointmentstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AppointmentStatus {
    Proposed,
    Pending,
    Booked,
    Arrived,
    Fulfilled,
    Cancelled,
    Noshow,
    EnteredInError,
    CheckedIn,
    Waitlist,
}

/// `participationstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParticipationStatus {
    Accepted,
    Declined,
    Tentative,
    NeedsAction,
}

/// One participant of an appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    pub status: ParticipationStatus,
}

/// A FHIR R4 Appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    /// Always `Appointment`.
    pub resource_type: String,
    pub id: String,
    #[serde(default)]
    pub meta: Meta,
    pub status: AppointmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelation_reason: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_type: Option<CodeableConcept>,
    #[serde(default)]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub participant: Vec<Participant>,
}

impl Appointment {
    /// The participant that is a `kind` (`Patient`, `Practitioner`, `Location`).
    pub fn participant(&self, kind: &str) -> Option<&Participant> {
        self.participant
            .iter()
            .find(|p| p.actor.as_ref().and_then(|a| a.id_of(kind)).is_some())
    }

    /// The id of the participant that is a `kind`.
    pub fn participant_id(&self, kind: &str) -> Option<&str> {
        self.participant(kind)?.actor.as_ref()?.id_of(kind)
    }
}

/// A link of a Bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleLink {
    pub relation: String,
    pub url: String,
}

/// An entry of a Bundle: the resource as JSON (a search mixes matches and OperationOutcomes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    #[serde(default)]
    pub resource: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Value>,
}

/// A searchset Bundle as served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub link: Vec<BundleLink>,
    #[serde(default)]
    pub entry: Vec<BundleEntry>,
}

/// A page of search results, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSet<T> {
    /// How many resources match in all.
    pub total: u64,
    /// This page's matches.
    pub resources: Vec<T>,
    /// The next page's URL, when there is one.
    pub next: Option<String>,
    /// What the server said about the search (e.g. parameters it ignored).
    pub warnings: Vec<String>,
}

/// Why a Bundle could not be read as a page of `T`.
#[derive(Debug, thiserror::Error)]
#[error("a {kind} entry of the bundle does not parse: {source}")]
pub struct BundleError {
    pub kind: &'static str,
    #[source]
    pub source: serde_json::Error,
}

impl Bundle {
    /// The matches of resource type `kind` as `T`, with the total, the next link and the
    /// diagnostics of any OperationOutcome entries.
    pub fn search_set<T: serde::de::DeserializeOwned>(
        self,
        kind: &'static str,
    ) -> Result<SearchSet<T>, BundleError> {
        let next = self
            .link
            .iter()
            .find(|l| l.relation == "next")
            .map(|l| l.url.clone());
        let mut resources = Vec::new();
        let mut warnings = Vec::new();
        let count = self.entry.len() as u64;
        for entry in self.entry {
            match entry.resource["resourceType"].as_str() {
                Some(k) if k == kind => resources.push(
                    serde_json::from_value(entry.resource)
                        .map_err(|source| BundleError { kind, source })?,
                ),
                Some("OperationOutcome") => {
                    for issue in entry.resource["issue"].as_array().into_iter().flatten() {
                        if let Some(text) = issue["diagnostics"].as_str() {
                            warnings.push(text.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(SearchSet {
            total: self.total.unwrap_or(count),
            resources,
            next,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_patient_parses_with_its_helpers() {
        let json = serde_json::json!({
            "resourceType": "Patient", "id": "PAT-12345",
            "meta": { "versionId": "3", "lastUpdated": "2023-01-20T09:45:00.000Z" },
            "identifier": [{ "system": MRN_SYSTEM, "value": "MRN-67890" }],
            "active": true, "gender": "male", "birthDate": "1980-05-15", "deceasedBoolean": false,
            "name": [{ "use": "official", "family": "Doe", "given": ["John"] }],
            "telecom": [{ "system": "phone", "value": "555-123-4567" }],
            "extension": [{ "url": "http://example.org/unknown" }]
        });
        let patient: Patient = serde_json::from_value(json).expect("parses");
        assert_eq!(patient.mrn(), Some("MRN-67890"));
        assert_eq!(patient.family(), Some("Doe"));
        assert_eq!(patient.given(), Some("John"));
        assert_eq!(patient.telecom("phone"), Some("555-123-4567"));
        assert_eq!(patient.telecom("email"), None);
        assert_eq!(patient.gender, Some(AdministrativeGender::Male));
        assert!(!patient.is_deceased());
    }

    #[test]
    fn bundles_separate_matches_from_outcomes() {
        let bundle: Bundle = serde_json::from_value(serde_json::json!({
            "resourceType": "Bundle", "type": "searchset", "total": 7,
            "link": [{ "relation": "self", "url": "x" }, { "relation": "next", "url": "y" }],
            "entry": [
                { "resource": { "resourceType": "Appointment", "id": "APPT-1", "status": "checked-in",
                    "participant": [{ "actor": { "reference": "Patient/PAT-1" }, "status": "accepted" }] } },
                { "resource": { "resourceType": "OperationOutcome",
                    "issue": [{ "severity": "warning", "code": "not-supported", "diagnostics": "ignored: foo" }] } }
            ]
        }))
        .expect("bundle");
        let page = bundle
            .search_set::<Appointment>("Appointment")
            .expect("page");
        assert_eq!(page.total, 7);
        assert_eq!(page.next.as_deref(), Some("y"));
        assert_eq!(page.warnings, ["ignored: foo"]);
        assert_eq!(page.resources[0].status, AppointmentStatus::CheckedIn);
        assert_eq!(page.resources[0].participant_id("Patient"), Some("PAT-1"));
        assert_eq!(page.resources[0].participant_id("Location"), None);
    }
}
