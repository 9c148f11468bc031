//! AllergyIntolerance: the allergies on a patient's record. The API keeps them as a list on the
//! patient without ids, so each one's id is made from the patient and the allergen
//! (`PAT-12345.penicillin`): the same allergy keeps its id across reads and changes elsewhere.

use practice_studio::model::{Allergy, PatientId};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::codes::{self, ALLERGY_CLINICAL_SYSTEM, ALLERGY_VERIFICATION_SYSTEM};
use super::outcome::FhirError;
use super::search::Search;
use super::{instant, prune};
use crate::app::AppState;
use crate::storage::{AllergySearch, PatientAllergy};

/// FHIR ids are at most 64 characters of `[A-Za-z0-9.-]`.
const MAX_ID: usize = 64;

/// The allergen as an id part: lower-case letters and digits, other runs as one `-`.
fn slug(allergen: &str) -> String {
    let mut slug = String::new();
    for c in allergen.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "allergen".into()
    } else {
        slug
    }
}

/// The id of the allergy at `position` in a patient's list of `allergens`: the patient and the
/// allergen's slug; a second allergy with the same slug gets `-2`, and so on; a slug too long
/// for an id is cut and given a hash of the whole allergen, so ids stay unique.
pub fn allergy_id(patient: &PatientId, allergens: &[String], position: usize) -> String {
    let Some(allergen) = allergens.get(position) else {
        return format!("{patient}.allergen");
    };
    let own = slug(allergen);
    let repeat = allergens[..position]
        .iter()
        .filter(|a| slug(a) == own)
        .count();
    let mut part = own;
    if repeat > 0 {
        part = format!("{part}-{}", repeat + 1);
    }
    let room = MAX_ID.saturating_sub(patient.as_str().len() + 1);
    if part.len() > room {
        let digest = Sha256::digest(part.as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let keep = room.saturating_sub(hash.len() + 1);
        part = format!("{}-{hash}", &part[..keep.min(part.len())]);
    }
    format!("{patient}.{part}")
}

/// One allergy as FHIR R4 `AllergyIntolerance`.
pub fn to_fhir(
    patient: &PatientId,
    allergens: &[String],
    position: usize,
    allergy: &Allergy,
) -> Value {
    let (criticality, reaction_severity) = codes::allergy_severity(&allergy.severity);
    prune(json!({
        "resourceType": "AllergyIntolerance",
        "id": allergy_id(patient, allergens, position),
        "clinicalStatus": {
            "coding": [{ "system": ALLERGY_CLINICAL_SYSTEM, "code": "active", "display": "Active" }]
        },
        "verificationStatus": {
            "coding": [{ "system": ALLERGY_VERIFICATION_SYSTEM, "code": "confirmed", "display": "Confirmed" }]
        },
        "type": "allergy",
        "criticality": criticality,
        "code": { "text": allergy.allergen },
        "patient": { "reference": format!("Patient/{patient}") },
        "recordedDate": instant(allergy.noted),
        "reaction": [{
            "manifestation": [{ "text": allergy.reaction }],
            "severity": reaction_severity,
            "description": allergy.severity,
        }],
    }))
}

fn from_row(row: &PatientAllergy) -> Value {
    to_fhir(&row.patient_id, &row.allergens, row.position, &row.allergy)
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    let Some((patient_id, _)) = id.split_once('.') else {
        return Ok(None);
    };
    let Some(patient) = state.storage.patient(patient_id).await? else {
        return Ok(None);
    };
    let allergies = patient.allergies.unwrap_or_default();
    let allergens: Vec<String> = allergies.iter().map(|a| a.allergen.clone()).collect();
    Ok(allergies
        .iter()
        .enumerate()
        .find(|(i, _)| allergy_id(&patient.id, &allergens, *i) == id)
        .map(|(i, allergy)| to_fhir(&patient.id, &allergens, i, allergy)))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let ids: Vec<Vec<String>> = search
        .tokens("_id")
        .into_iter()
        .map(|l| l.into_iter().map(|t| t.code).collect())
        .collect();
    let mut patients = search.references("patient", "Patient")?;
    // An id names its patient: narrow to them in storage, then match the ids themselves.
    for list in &ids {
        patients.push(
            list.iter()
                .filter_map(|id| id.split_once('.').map(|(p, _)| p.to_owned()))
                .collect(),
        );
    }
    if ids.is_empty() {
        let query = AllergySearch {
            patients,
            limit: search.count,
            offset: search.offset,
        };
        let (total, rows) = state.storage.fhir_allergies(&query).await?;
        return Ok((total, rows.iter().map(from_row).collect()));
    }
    // With _id: few patients; filter their allergies here and page the result.
    let query = AllergySearch {
        patients,
        limit: u32::MAX,
        offset: 0,
    };
    let (_, rows) = state.storage.fhir_allergies(&query).await?;
    let matching: Vec<Value> = rows
        .iter()
        .map(from_row)
        .filter(|resource| {
            let id = resource["id"].as_str().unwrap_or_default();
            ids.iter()
                .all(|list| list.iter().any(|wanted| wanted == id))
        })
        .collect();
    Ok(super::page(matching, search))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allergy_ids_are_stable_unique_and_valid_fhir_ids() {
        let patient = PatientId("PAT-12345".into());
        let list = vec![
            "Penicillin".to_owned(),
            "Sulfa drugs".to_owned(),
            "penicillin".to_owned(),
            "x".repeat(100),
            format!("{}y", "x".repeat(99)),
        ];
        let ids: Vec<String> = (0..list.len())
            .map(|i| allergy_id(&patient, &list, i))
            .collect();
        assert_eq!(ids[0], "PAT-12345.penicillin");
        assert_eq!(ids[1], "PAT-12345.sulfa-drugs");
        assert_eq!(ids[2], "PAT-12345.penicillin-2");
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        for id in &ids {
            assert!(id.len() <= MAX_ID, "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{id}"
            );
        }
        // Adding an allergy after it does not change an allergy's id.
        let mut longer = list.clone();
        longer.push("Latex".into());
        assert_eq!(allergy_id(&patient, &longer, 1), ids[1]);
    }
}
