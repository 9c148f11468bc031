//! The CapabilityStatement: made from [`RESOURCES`], so it lists exactly what is served.

use serde_json::{json, Value};

use super::search::{kind_name, MAX_COUNT};
use super::RESOURCES;

/// When this statement's content last changed (a CapabilityStatement must carry a date).
const PUBLISHED: &str = "2026-11-26";

pub fn statement(base: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|r| {
            let params: Vec<Value> = r
                .params
                .iter()
                .map(|p| {
                    json!({
                        "name": p.name,
                        "definition": p.definition,
                        "type": kind_name(p.kind),
                        "documentation": p.documentation,
                    })
                })
                .collect();
            json!({
                "type": r.name,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{}", r.name),
                "documentation": format!("{} Needs the scope {}.", r.documentation, r.scope),
                "interaction": [
                    { "code": "read" },
                    { "code": "search-type", "documentation": format!("GET with query parameters; a searchset Bundle with total and self/next/previous links; _count up to {MAX_COUNT} (default 20), _offset to page.") },
                ],
                "versioning": "no-version",
                "readHistory": false,
                "updateCreate": false,
                "conditionalCreate": false,
                "conditionalRead": "not-supported",
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
                "searchParam": params,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "id": "practice-studio",
        "url": format!("{base}/metadata"),
        "version": env!("CARGO_PKG_VERSION"),
        "name": "PracticeStudioFhirR4",
        "title": "Practice Studio FHIR R4 API",
        "status": "active",
        "experimental": false,
        "date": PUBLISHED,
        "publisher": "Practice Studio",
        "description": "Read and search of the practice's patients, their insurance coverage, practitioners, locations, appointments, allergies, medical records and invoices. Unknown search parameters are ignored (and reported in an OperationOutcome entry) unless the request says Prefer: handling=strict, which refuses them. Errors are OperationOutcome resources.",
        "kind": "instance",
        "software": { "name": "Practice Studio API", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Practice Studio FHIR R4 endpoint", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Authentication, scopes and rate limits are the v1 API's: an OAuth 2.0 Bearer token from /oauth/token or a legacy ApiKey; each resource type needs the v1 read scope of its data.",
            "security": {
                "cors": false,
                "service": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "OAuth",
                        "display": "OAuth"
                    }]
                }],
                "description": "Authorization: Bearer <token> (OAuth 2.0, /oauth/token) or Authorization: ApiKey <key>."
            },
            "resource": resources,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_lists_every_served_type_with_read_and_search() {
        let statement = statement("http://localhost/fhir/r4");
        assert_eq!(statement["fhirVersion"], "4.0.1");
        let listed: Vec<&str> = statement["rest"][0]["resource"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|r| r["type"].as_str().expect("type"))
            .collect();
        assert_eq!(
            listed,
            [
                "Patient",
                "Coverage",
                "Practitioner",
                "Location",
                "Appointment",
                "AllergyIntolerance",
                "DocumentReference",
                "Invoice"
            ]
        );
    }
}
