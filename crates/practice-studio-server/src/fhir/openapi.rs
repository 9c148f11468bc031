//! The FHIR API's part of `/openapi.json`, made from [`RESOURCES`] like the CapabilityStatement:
//! the metadata route, then search and read of each resource type, answered in
//! `application/fhir+json` with OperationOutcome errors.

use serde_json::{json, Map, Value};

use super::search::{kind_name, MAX_COUNT};
use super::{ParamKind, BASE_PATH, RESOURCES};
use crate::openapi::Extension as DocExtension;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[(
    "/fhir/r4/metadata",
    "get",
    "The reference promises a FHIR API but its guide does not exist; the CapabilityStatement served here is the contract, readable without a credential like /health.",
)];

/// This module's part of `/openapi.json`.
pub(crate) struct ApiDoc;

fn fhir_content(schema: &str) -> Value {
    json!({ "application/fhir+json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } })
}

fn header(description: &str) -> Value {
    json!({ "description": description, "schema": { "type": "integer" } })
}

fn responses(success: &str, schema: &str, authenticated: bool) -> Value {
    let rate_headers = json!({
        "X-Request-ID": { "description": "The request's id (echoed, or made)", "schema": { "type": "string" } },
        "X-RateLimit-Limit": header("Requests per minute of the caller's tier"),
        "X-RateLimit-Remaining": header("Requests left in the bucket now"),
        "X-RateLimit-Reset": header("Unix seconds when the bucket is full again"),
    });
    let error = |description: &str| json!({ "description": description, "headers": rate_headers, "content": fhir_content("OperationOutcome") });
    let mut map = Map::new();
    map.insert(
        "200".into(),
        json!({ "description": success, "headers": rate_headers, "content": fhir_content(schema) }),
    );
    map.insert(
        "406".into(),
        error("The Accept header excludes application/fhir+json and application/json"),
    );
    if authenticated {
        map.insert("400".into(), error("A parameter's value is invalid, a modifier or date prefix is not supported, or (with Prefer: handling=strict) a parameter is unknown"));
        map.insert(
            "401".into(),
            error("Authentication required: missing, bad, expired or revoked credentials"),
        );
        map.insert(
            "403".into(),
            error("The credential lacks the v1 read scope of this resource type"),
        );
        map.insert(
            "404".into(),
            error("No such resource, or a resource type this server does not serve"),
        );
        map.insert(
            "429".into(),
            json!({
                "description": "Rate limit exceeded (the v1 limits); Retry-After says when to retry",
                "headers": { "Retry-After": { "description": "Seconds to wait", "schema": { "type": "integer" } } },
                "content": fhir_content("OperationOutcome"),
            }),
        );
        map.insert("500".into(), error("Internal server error"));
    }
    Value::Object(map)
}

fn search_parameters(params: &[super::SearchParam]) -> Vec<Value> {
    let mut out: Vec<Value> = params
        .iter()
        .map(|p| {
            let hint = match p.kind {
                ParamKind::Date => " A date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime) after an optional prefix eq, ge, gt, le or lt; repeat the parameter for a range.",
                ParamKind::Token => " A code, optionally system|code; comma-separated alternatives.",
                ParamKind::Reference => " Type/id or the id; comma-separated alternatives.",
                ParamKind::String => " Comma-separated alternatives.",
            };
            json!({
                "name": p.name,
                "in": "query",
                "required": false,
                "description": format!("FHIR {} search ({}). {}{hint}", kind_name(p.kind), p.definition, p.documentation),
                "schema": { "type": "string" },
            })
        })
        .collect();
    out.push(json!({
        "name": "_count", "in": "query", "required": false,
        "description": format!("Page size, default 20; more than {MAX_COUNT} is served as {MAX_COUNT}."),
        "schema": { "type": "integer", "minimum": 0 },
    }));
    out.push(json!({
        "name": "_offset", "in": "query", "required": false,
        "description": "How many matches to skip (the next link carries it).",
        "schema": { "type": "integer", "minimum": 0 },
    }));
    out.push(json!({
        "name": "Prefer", "in": "header", "required": false,
        "description": "RFC 7240 preferences; handling=strict refuses unknown search parameters (400), handling=lenient (the default) ignores them and reports them in an OperationOutcome entry of the Bundle. Other preferences are ignored.",
        "schema": { "type": "string", "examples": ["handling=strict"] },
    }));
    out
}

impl utoipa::OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        let security = json!([{ "bearer": [] }, { "apiKey": [] }]);
        let mut paths = Map::new();
        paths.insert(
            format!("{BASE_PATH}/metadata"),
            json!({ "get": {
                "tags": ["FHIR R4"],
                "summary": "CapabilityStatement",
                "description": "What this FHIR R4 (4.0.1) server supports: its resource types, interactions and search parameters. No credential needed.",
                "operationId": "fhir_metadata",
                "responses": responses("The CapabilityStatement", "FhirResource", false),
                "security": [{}],
            }}),
        );
        for resource in &RESOURCES {
            let name = resource.name;
            paths.insert(
                format!("{BASE_PATH}/{name}"),
                json!({ "get": {
                    "tags": ["FHIR R4"],
                    "summary": format!("Search {name}"),
                    "description": format!("{} A searchset Bundle with `total` and `self`/`next` links. Needs {}.", resource.documentation, resource.scope),
                    "operationId": format!("fhir_search_{}", name.to_lowercase()),
                    "parameters": search_parameters(resource.params),
                    "responses": responses("A searchset Bundle", "Bundle", true),
                    "security": security,
                }}),
            );
            paths.insert(
                format!("{BASE_PATH}/{name}/{{id}}"),
                json!({ "get": {
                    "tags": ["FHIR R4"],
                    "summary": format!("Read {name}"),
                    "description": format!("One {name} by id. Needs {}.", resource.scope),
                    "operationId": format!("fhir_read_{}", name.to_lowercase()),
                    "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                    "responses": responses(&format!("The {name}"), "FhirResource", true),
                    "security": security,
                }}),
            );
        }
        let document = json!({
            "openapi": "3.1.0",
            "info": { "title": "FHIR R4", "version": "4.0.1" },
            "paths": paths,
            "components": { "schemas": {
                "FhirResource": {
                    "type": "object",
                    "description": "A FHIR R4 resource (http://hl7.org/fhir/R4); its resourceType names its structure.",
                    "required": ["resourceType"],
                    "properties": { "resourceType": { "type": "string" }, "id": { "type": "string" } },
                },
                "Bundle": {
                    "type": "object",
                    "description": "A FHIR R4 searchset Bundle.",
                    "required": ["resourceType", "type", "total", "link"],
                    "properties": {
                        "resourceType": { "type": "string", "enum": ["Bundle"] },
                        "type": { "type": "string", "enum": ["searchset"] },
                        "total": { "type": "integer", "minimum": 0 },
                        "link": { "type": "array", "items": {
                            "type": "object", "required": ["relation", "url"],
                            "properties": { "relation": { "type": "string" }, "url": { "type": "string" } },
                        }},
                        "entry": { "type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "fullUrl": { "type": "string" },
                                "resource": { "$ref": "#/components/schemas/FhirResource" },
                                "search": { "type": "object", "properties": { "mode": { "type": "string", "enum": ["match", "outcome"] } } },
                            },
                        }},
                    },
                },
                "OperationOutcome": {
                    "type": "object",
                    "description": "A FHIR R4 OperationOutcome: why the request failed.",
                    "required": ["resourceType", "issue"],
                    "properties": {
                        "resourceType": { "type": "string", "enum": ["OperationOutcome"] },
                        "issue": { "type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["severity", "code"],
                            "properties": {
                                "severity": { "type": "string", "enum": ["fatal", "error", "warning", "information"] },
                                "code": { "type": "string" },
                                "diagnostics": { "type": "string" },
                            },
                        }},
                    },
                },
            }},
            "tags": [{ "name": "FHIR R4", "description": "FHIR R4 (4.0.1) at /fhir/r4: read and search, OperationOutcome errors, the v1 authentication, scopes and rate limits" }],
        });
        serde_json::from_value(document).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi as _;

    #[test]
    fn every_resource_type_is_documented_with_search_and_read() {
        let doc = serde_json::to_value(super::ApiDoc::openapi()).expect("json");
        for resource in &super::RESOURCES {
            let search = format!("/fhir/r4/{}", resource.name);
            let read = format!("/fhir/r4/{}/{{id}}", resource.name);
            assert!(doc["paths"][&search]["get"].is_object(), "{search}");
            assert!(doc["paths"][&read]["get"].is_object(), "{read}");
        }
        assert!(doc["paths"]["/fhir/r4/metadata"]["get"].is_object());
        assert!(doc["components"]["schemas"]["OperationOutcome"].is_object());
    }
}
