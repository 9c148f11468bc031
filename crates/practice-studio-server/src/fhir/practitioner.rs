//! Practitioner.

use practice_studio::model::Provider;
use serde_json::{json, Value};

use super::codes::NPI_SYSTEM;
use super::outcome::FhirError;
use super::search::Search;
use super::{matches_all, page, prune, starts_with_nocase};
use crate::app::AppState;

/// A provider as FHIR R4 `Practitioner`.
pub fn to_fhir(provider: &Provider) -> Value {
    prune(json!({
        "resourceType": "Practitioner",
        "id": provider.id.as_str(),
        "meta": { "versionId": provider.version.to_string() },
        "identifier": [{ "use": "official", "system": NPI_SYSTEM, "value": provider.npi }],
        "active": provider.active,
        "name": [{
            "use": "official",
            "family": provider.last_name,
            "given": [provider.first_name],
            "suffix": [provider.credentials],
        }],
        "telecom": [
            { "system": "phone", "value": provider.phone, "use": "work" },
            { "system": "email", "value": provider.email, "use": "work" },
        ],
        "qualification": [{ "code": { "text": provider.credentials } }],
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    let providers = state.storage.providers().await?;
    Ok(providers.iter().find(|p| p.id.as_str() == id).map(to_fhir))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let ids = search.tokens("_id");
    let identifiers = search.tokens("identifier");
    let names = search.strings("name");
    let matching: Vec<Provider> = state
        .storage
        .providers()
        .await?
        .into_iter()
        .filter(|p| {
            matches_all(&ids, |t| t.code == p.id.as_str())
                && matches_all(&identifiers, |t| {
                    t.code_in(NPI_SYSTEM) == Some(p.npi.as_str())
                })
                && matches_all(&names, |n| {
                    starts_with_nocase(&p.first_name, n) || starts_with_nocase(&p.last_name, n)
                })
        })
        .collect();
    let (total, providers) = page(matching, search);
    Ok((total, providers.iter().map(to_fhir).collect()))
}
