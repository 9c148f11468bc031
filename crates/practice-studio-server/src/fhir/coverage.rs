//! Coverage: a patient's insurance policies (primary and secondary), read-only. The API keeps
//! them on the patient without ids, so each one's id is the patient and its rank
//! (`PAT-12345.primary`).

use serde_json::{json, Value};

use super::outcome::FhirError;
use super::prune;
use super::search::Search;
use crate::app::AppState;
use crate::storage::{CoverageSearch, PatientCoverage, PolicyRank};

/// `Coverage.class.type` codes (extensible binding coverage-class).
const COVERAGE_CLASS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/coverage-class";

fn rank_name(rank: PolicyRank) -> &'static str {
    match rank {
        PolicyRank::Primary => "primary",
        PolicyRank::Secondary => "secondary",
    }
}

/// One policy as FHIR R4 `Coverage`: the payor by name, the member id as subscriber id, the
/// group number as its class, and `order` 1 for the primary policy, 2 for the secondary.
pub fn to_fhir(coverage: &PatientCoverage) -> Value {
    let policy = &coverage.policy;
    let patient = format!("Patient/{}", coverage.patient_id);
    let group = (!policy.group_number.trim().is_empty()).then(|| {
        json!([{
            "type": { "coding": [{ "system": COVERAGE_CLASS_SYSTEM, "code": "group", "display": "Group" }] },
            "value": policy.group_number,
        }])
    });
    prune(json!({
        "resourceType": "Coverage",
        "id": format!("{}.{}", coverage.patient_id, rank_name(coverage.rank)),
        "status": "active",
        "subscriberId": policy.member_id,
        "beneficiary": { "reference": patient },
        "relationship": {
            "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "self", "display": "Self" }]
        },
        "payor": [{ "display": policy.provider }],
        "class": group,
        "order": match coverage.rank { PolicyRank::Primary => 1, PolicyRank::Secondary => 2 },
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    let Some((patient, rank)) = id.rsplit_once('.') else {
        return Ok(None);
    };
    let query = CoverageSearch {
        patients: vec![vec![patient.to_owned()]],
        limit: 2,
        offset: 0,
    };
    let (_, coverages) = state.storage.fhir_coverages(&query).await?;
    Ok(coverages
        .iter()
        .find(|c| rank_name(c.rank) == rank)
        .map(to_fhir))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let ids: Vec<Vec<String>> = search
        .tokens("_id")
        .into_iter()
        .map(|l| l.into_iter().map(|t| t.code).collect())
        .collect();
    let mut patients = search.references("beneficiary", "Patient")?;
    patients.extend(search.references("patient", "Patient")?);
    for list in &ids {
        patients.push(
            list.iter()
                .filter_map(|id| id.rsplit_once('.').map(|(p, _)| p.to_owned()))
                .collect(),
        );
    }
    if ids.is_empty() {
        let query = CoverageSearch {
            patients,
            limit: search.count,
            offset: search.offset,
        };
        let (total, rows) = state.storage.fhir_coverages(&query).await?;
        return Ok((total, rows.iter().map(to_fhir).collect()));
    }
    let query = CoverageSearch {
        patients,
        limit: u32::MAX,
        offset: 0,
    };
    let (_, rows) = state.storage.fhir_coverages(&query).await?;
    let matching: Vec<Value> = rows
        .iter()
        .map(to_fhir)
        .filter(|resource| {
            let id = resource["id"].as_str().unwrap_or_default();
            ids.iter()
                .all(|list| list.iter().any(|wanted| wanted == id))
        })
        .collect();
    Ok(super::page(matching, search))
}
