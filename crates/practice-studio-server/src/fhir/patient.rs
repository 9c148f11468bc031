//! Patient.

use practice_studio::model::{Patient, PatientStatus};
use serde_json::{json, Value};

use super::codes::{self, GENDER_SYSTEM, IDENTIFIER_TYPE_SYSTEM, MRN_SYSTEM};
use super::outcome::FhirError;
use super::search::Search;
use super::{instant, prune};
use crate::app::AppState;
use crate::storage::PatientSearch;

/// A patient as FHIR R4 `Patient`.
pub fn to_fhir(patient: &Patient) -> Value {
    let contact = &patient.contact_info;
    let address = contact.address.as_ref().map(|a| {
        json!({
            "use": "home",
            "type": "both",
            "line": [a.line1, a.line2],
            "city": a.city,
            "state": a.state,
            "postalCode": a.postal_code,
            "country": a.country,
        })
    });
    let emergency = patient.emergency_contact.as_ref().map(|e| {
        json!({
            "relationship": [{
                "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                    "code": "C",
                    "display": "Emergency Contact"
                }],
                "text": e.relationship,
            }],
            "name": { "text": e.name },
            "telecom": [{ "system": "phone", "value": e.phone }],
        })
    });
    prune(json!({
        "resourceType": "Patient",
        "id": patient.id.as_str(),
        "meta": { "versionId": patient.version.to_string(), "lastUpdated": instant(patient.updated) },
        "identifier": [{
            "use": "usual",
            "type": {
                "coding": [{ "system": IDENTIFIER_TYPE_SYSTEM, "code": "MR", "display": "Medical record number" }]
            },
            "system": MRN_SYSTEM,
            "value": patient.mrn,
        }],
        "active": patient.status == PatientStatus::Active,
        "name": [{
            "use": "official",
            "family": patient.last_name,
            "given": [patient.first_name],
        }],
        "telecom": [
            contact.phone.as_ref().map(|p| json!({ "system": "phone", "value": p, "use": "home" })),
            contact.email.as_ref().map(|e| json!({ "system": "email", "value": e, "use": "home" })),
        ],
        "gender": codes::gender(patient.gender),
        "birthDate": patient.date_of_birth.to_string(),
        "deceasedBoolean": patient.status == PatientStatus::Deceased,
        "address": [address],
        "contact": [emergency],
        "communication": patient.preferred_language.as_ref().map(|language| json!([{
            "language": { "text": language },
            "preferred": true,
        }])),
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    Ok(state.storage.patient(id).await?.as_ref().map(to_fhir))
}

/// The search as storage filters.
pub fn filters(search: &Search) -> Result<PatientSearch, FhirError> {
    let identifiers = search
        .tokens("identifier")
        .into_iter()
        .map(|list| {
            list.iter()
                .filter_map(|t| t.code_in(MRN_SYSTEM).map(str::to_owned))
                .collect()
        })
        .collect();
    let genders = search
        .tokens("gender")
        .into_iter()
        .map(|list| {
            list.iter()
                .filter_map(|t| t.code_in(GENDER_SYSTEM))
                .flat_map(codes::genders_of)
                .map(|g| {
                    serde_json::to_value(g)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let phones = search
        .tokens("phone")
        .into_iter()
        .map(|list| {
            list.iter()
                .map(|t| {
                    t.code
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>()
                })
                .filter(|digits| !digits.is_empty())
                .collect()
        })
        .collect();
    Ok(PatientSearch {
        ids: search
            .tokens("_id")
            .into_iter()
            .map(|l| l.into_iter().map(|t| t.code).collect())
            .collect(),
        mrns: identifiers,
        names: search.strings("name"),
        families: search.strings("family"),
        givens: search.strings("given"),
        birth_dates: search.day_ranges("birthdate")?,
        genders,
        phones,
        limit: search.count,
        offset: search.offset,
    })
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let (total, patients) = state.storage.fhir_patients(&filters(search)?).await?;
    Ok((total, patients.iter().map(to_fhir).collect()))
}
