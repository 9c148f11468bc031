//! Location.

use practice_studio::model::Location;
use serde_json::{json, Value};

use super::outcome::FhirError;
use super::search::Search;
use super::{matches_all, page, prune, starts_with_nocase};
use crate::app::AppState;

/// A clinic location as FHIR R4 `Location`. R4 has no element for a time zone; the API's
/// `/api/v1/locations/{id}` carries it.
pub fn to_fhir(location: &Location) -> Value {
    let a = &location.address;
    prune(json!({
        "resourceType": "Location",
        "id": location.id.as_str(),
        "meta": { "versionId": location.version.to_string() },
        "status": "active",
        "name": location.name,
        "mode": "instance",
        "telecom": [{ "system": "phone", "value": location.phone, "use": "work" }],
        "address": {
            "use": "work",
            "type": "both",
            "line": [a.line1, a.line2],
            "city": a.city,
            "state": a.state,
            "postalCode": a.postal_code,
        },
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    let locations = state.storage.locations().await?;
    Ok(locations.iter().find(|l| l.id.as_str() == id).map(to_fhir))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let ids = search.tokens("_id");
    let names = search.strings("name");
    let matching: Vec<Location> = state
        .storage
        .locations()
        .await?
        .into_iter()
        .filter(|l| {
            matches_all(&ids, |t| t.code == l.id.as_str())
                && matches_all(&names, |n| starts_with_nocase(&l.name, n))
        })
        .collect();
    let (total, locations) = page(matching, search);
    Ok((total, locations.iter().map(to_fhir).collect()))
}
