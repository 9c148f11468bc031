//! `/api/v1/patients`: list, read, register, update.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use practice_studio::model::detail_code as code;
use practice_studio::model::{ErrorDetail, NewPatient, Patient, PatientList, PatientStatus};
use practice_studio::rules::validate_new_patient;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{json_response, list_bytes, parse_json, ApiJson};
use crate::idempotency;
#[allow(unused_imports)] // named in the OpenAPI annotations
use crate::openapi::PatientPatch;
use crate::page_cache::PatientsGeneration;
use crate::params::{detail, if_match, paging, parse_instant};
use crate::storage::{Counted, PatientQuery, PatientSort, UpdateOutcome};

/// Fields a client can never set.
const READ_ONLY: [&str; 6] = ["id", "mrn", "version", "created", "updated", "_links"];
/// Objects an update merges into one level deep (RFC 7396); everything inside them, and every
/// other field, is replaced whole.
const MERGED: [&str; 2] = ["contactInfo", "insurance"];

/// Sort keys of the patient list (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the query is parsed by hand to list every problem at once
pub enum SortField {
    Name,
    Dob,
    Created,
    Updated,
}

/// Sort order of the patient list (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub enum SortOrder {
    Asc,
    Desc,
}

/// What `expand` may ask for (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub enum Expand {
    Full,
}

fn parse_query(params: &HashMap<String, String>) -> Result<(PatientQuery, bool), ApiError> {
    let params: HashMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut problems = Vec::new();
    let (limit, offset) = paging(|name| params.get(name).copied(), &mut problems);
    let sort = match params.get("sort").copied() {
        None | Some("name") => PatientSort::Name,
        Some("dob") => PatientSort::Dob,
        Some("created") => PatientSort::Created,
        Some("updated") => PatientSort::Updated,
        Some(_) => {
            problems.push(detail(
                code::NOT_ONE_OF,
                "sort",
                "must be one of name, dob, created, updated",
            ));
            PatientSort::Name
        }
    };
    let descending = match params.get("order").copied() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            problems.push(detail(code::NOT_ONE_OF, "order", "must be asc or desc"));
            false
        }
    };
    let status = match params.get("status").copied() {
        None => None,
        Some("active") => Some(PatientStatus::Active),
        Some("inactive") => Some(PatientStatus::Inactive),
        Some("deceased") => Some(PatientStatus::Deceased),
        Some(_) => {
            problems.push(detail(
                code::NOT_ONE_OF,
                "status",
                "must be one of active, inactive, deceased",
            ));
            None
        }
    };
    let updated_since = match params.get("updated_since") {
        None => None,
        Some(v) => match parse_instant(v) {
            Some(t) => Some(t),
            None => {
                problems.push(detail(
                    code::INVALID_INSTANT,
                    "updated_since",
                    "must be a date (YYYY-MM-DD) or an RFC 3339 instant",
                ));
                None
            }
        },
    };
    let full = match params.get("expand").copied() {
        None => false,
        Some("full") => true,
        Some(_) => {
            problems.push(detail(code::NOT_ONE_OF, "expand", "must be full"));
            false
        }
    };
    let search = params
        .get("search")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if search.as_ref().is_some_and(|s| s.chars().count() > 100) {
        problems.push(detail(
            code::TOO_LONG,
            "search",
            "must be at most 100 characters",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok((
        PatientQuery {
            search,
            status,
            updated_since,
            sort,
            descending,
            limit,
            offset,
        },
        full,
    ))
}

fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `GET /api/v1/patients`.
#[utoipa::path(
    get,
    path = "/api/v1/patients",
    tag = "Patients",
    summary = "List patients",
    description = "Pages through patients in a total order (ties broken by id). `sort=created` is append-only, so a client paging through everything while others edit misses nothing.",
    params(
        ("search" = Option<String>, Query, description = "Search term for patient name, id or MRN (every word must match)"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
        ("sort" = Option<SortField>, Query, description = "Field to sort by"),
        ("order" = Option<SortOrder>, Query, description = "Sort order"),
        ("status" = Option<PatientStatus>, Query, description = "Filter by patient status"),
        ("updated_since" = Option<String>, Query, description = "Extension: only patients updated at or after this instant (RFC 3339) or date"),
        ("expand" = Option<Expand>, Query, description = "Extension: `full` returns list items as full detail objects"),
    ),
    responses((status = 200, description = "A page of patients", body = PatientList)),
    security(("bearer" = ["read:patients"]), ("apiKey" = []))
)]
pub async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    generation: Option<Extension<PatientsGeneration>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadPatients)?;
    let (query, full) = parse_query(&params)?;
    // The page depends only on the query and the patients table: served from the page cache
    // while the table's change counter has not moved (see `page_cache`).
    let key = format!("{query:?} full={full}");
    let generation = match generation {
        Some(Extension(PatientsGeneration(read_with_the_token))) => read_with_the_token,
        None => app
            .storage
            .generation(Counted::Patients)
            .await
            .map_err(ApiError::internal)?,
    };
    if let Some(body) = app.patient_pages.get(&key, generation) {
        return Ok(json_response(body));
    }
    let (total, patients) = app
        .storage
        .list_patients(&query, full)
        .await
        .map_err(ApiError::internal)?;
    let body = list_bytes("patients", total, query.limit, query.offset, &patients);
    app.patient_pages.put(key, generation, body.clone());
    Ok(json_response(body))
}

/// The [`PatientList`] envelope around patients as stored. Each item is JSON the server itself
/// wrote with serde, so it goes out as it is: a page of 100 patients costs no parsing, no
/// validation and no re-encoding.
/// `GET /api/v1/patients/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patient_id}",
    tag = "Patients",
    summary = "Get patient details",
    params(("patient_id" = String, Path, description = "Practice Studio patient ID")),
    responses((status = 200, description = "The patient; `ETag` carries its version", body = Patient)),
    security(("bearer" = ["read:patients"]), ("apiKey" = []))
)]
pub async fn get(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadPatients)?;
    let patient = app
        .storage
        .patient(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no patient {id}")))?;
    let version = patient.version;
    Ok(with_etag(Json(patient).into_response(), version))
}

/// `POST /api/v1/patients`: 201 with `Location`.
#[utoipa::path(
    post,
    path = "/api/v1/patients",
    tag = "Patients",
    summary = "Create patient",
    params(("Idempotency-Key" = Option<String>, Header, description = "Extension: a retry with the same key replays the first response")),
    request_body(content = NewPatient, content_type = "application/json"),
    responses((status = 201, description = "The new patient; `Location` names it", body = Patient)),
    security(("bearer" = ["write:patients"]))
)]
pub async fn create(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    ApiJson(body, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WritePatients)?;
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("POST", "/api/v1/patients"),
        &bytes,
        async |claim| {
            let patient = {
                reject_read_only(&body)?;
                let input: NewPatient = parse_json(&bytes)?;
                let valid =
                    validate_new_patient(&input, app.clock.today()).map_err(ApiError::invalid)?;
                app.storage
                    .create_patient(&valid, app.clock.now(), claim)
                    .await
                    .map_err(ApiError::internal)
            }?;
            let location = patient.links.self_.href.clone();
            let version = patient.version;
            let mut response = (StatusCode::CREATED, Json(patient)).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(with_etag(response, version))
        },
    )
    .await
}

/// `PUT /api/v1/patients/{id}`: JSON Merge Patch one level into `contactInfo` and `insurance`,
/// honouring `If-Match`.
#[utoipa::path(
    put,
    path = "/api/v1/patients/{patient_id}",
    tag = "Patients",
    summary = "Update patient",
    description = "Include only fields to update. Semantics are JSON Merge Patch (RFC 7396) one level into `contactInfo` and `insurance`: fields sent change, `null` clears, and `address`, `insurance.primary`, `insurance.secondary`, `emergencyContact`, `preferredPharmacy` and `allergies` are replaced whole, so a new address without `line2` leaves no stale apartment.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("If-Match" = Option<String>, Header, description = "Extension: the version the change is based on; 409 when the patient changed since"),
        ("Idempotency-Key" = Option<String>, Header, description = "Extension: a retry with the same key replays the first response"),
    ),
    request_body(content = PatientPatch, content_type = "application/json"),
    responses((status = 200, description = "Full patient object with updated fields", body = Patient)),
    security(("bearer" = ["write:patients"]))
)]
pub async fn update(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WritePatients)?;
    let path = format!("/api/v1/patients/{id}");
    // The key is checked before If-Match: a retried PUT replays its first answer rather than
    // conflicting with the version its own first try created.
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("PUT", &path),
        &bytes,
        async |claim| {
            let patient = {
                let expected = if_match(&headers, "patient")?;
                let Value::Object(patch) = patch else {
                    return Err(ApiError::invalid_field(
                        code::INVALID_TYPE,
                        "body",
                        "must be a JSON object",
                    ));
                };
                reject_read_only(&Value::Object(patch.clone()))?;
                let current = app
                    .storage
                    .patient(&id)
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::NotFound(format!("no patient {id}")))?;
                let merged = merge_patch(&current, &patch)?;
                let input: NewPatient = parse_json(merged.to_string().as_bytes())?;
                let valid =
                    validate_new_patient(&input, app.clock.today()).map_err(ApiError::invalid)?;
                match app
                    .storage
                    .update_patient(&id, &valid, expected, app.clock.now(), claim)
                    .await
                    .map_err(ApiError::internal)?
                {
                    UpdateOutcome::Updated(patient) => Ok(*patient),
                    UpdateOutcome::NotFound => Err(ApiError::NotFound(format!("no patient {id}"))),
                    UpdateOutcome::VersionMismatch { current } => Err(ApiError::Conflict {
                        message: format!(
                            "the patient changed since version {}; it is now version {current}",
                            expected.unwrap_or(0)
                        ),
                        details: vec![detail(
                            code::VERSION_MISMATCH,
                            "If-Match",
                            "does not match the current version",
                        )],
                        retry_after: None,
                    }),
                }
            }?;
            let version = patient.version;
            Ok(with_etag(Json(patient).into_response(), version))
        },
    )
    .await
}

fn reject_read_only(body: &Value) -> Result<(), ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid_field(
            code::INVALID_TYPE,
            "body",
            "must be a JSON object",
        ));
    };
    let problems: Vec<ErrorDetail> = READ_ONLY
        .iter()
        .filter(|field| object.contains_key(**field))
        .map(|field| detail(code::READ_ONLY, field, "is read-only"))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// Applies the patch to the patient's writable fields (see [`MERGED`]).
fn merge_patch(current: &Patient, patch: &Map<String, Value>) -> Result<Value, ApiError> {
    let mut target = serde_json::to_value(current).map_err(ApiError::internal)?;
    let Value::Object(object) = &mut target else {
        return Err(ApiError::internal(
            "a patient did not serialise to an object",
        ));
    };
    for field in READ_ONLY {
        object.remove(field);
    }
    for (key, value) in patch {
        match (MERGED.contains(&key.as_str()), value) {
            (_, Value::Null) => {
                object.remove(key);
            }
            (true, Value::Object(inner)) => {
                let slot = object
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    for (inner_key, inner_value) in inner {
                        if inner_value.is_null() {
                            existing.remove(inner_key);
                        } else {
                            existing.insert(inner_key.clone(), inner_value.clone());
                        }
                    }
                }
            }
            (_, value) => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::list_body;

    fn patient() -> Patient {
        serde_json::from_value(serde_json::json!({
            "id": "PAT-12345", "mrn": "MRN-67890", "firstName": "John", "lastName": "Doe",
            "dateOfBirth": "1980-05-15", "gender": "M",
            "contactInfo": { "email": "john.doe@example.com", "phone": "555-123-4567",
              "address": { "line1": "123 Main St", "line2": "Apt 4B", "city": "Springfield",
                           "state": "IL", "postalCode": "62701", "country": "USA" } },
            "insurance": { "primary": { "provider": "Blue Cross", "memberId": "BC987654321", "groupNumber": "GRP123456" },
                           "secondary": { "provider": "Medicare", "memberId": "MED12345", "groupNumber": "" } },
            "allergies": [],
            "created": "2022-03-15T14:30:00Z", "updated": "2023-01-20T09:45:00Z",
            "_links": { "self": {"href": "/api/v1/patients/PAT-12345"},
                        "appointments": {"href": "/api/v1/patients/PAT-12345/appointments"},
                        "records": {"href": "/api/v1/patients/PAT-12345/records"} }
        }))
        .expect("the reference example parses")
    }

    #[test]
    fn the_reference_update_leaves_no_stale_apartment_and_keeps_other_fields() {
        // The Update Patient example of the API reference.
        let patch = serde_json::json!({
            "contactInfo": { "phone": "555-111-3333",
              "address": { "line1": "789 Maple Dr", "city": "Springfield", "state": "IL",
                           "postalCode": "62703", "country": "USA" } },
            "insurance": { "primary": { "provider": "United Healthcare", "memberId": "UHC87654321", "groupNumber": "UHG123456" } }
        });
        let merged = merge_patch(&patient(), patch.as_object().expect("object")).expect("merges");
        assert_eq!(merged["contactInfo"]["address"]["line1"], "789 Maple Dr");
        assert!(
            merged["contactInfo"]["address"].get("line2").is_none(),
            "stale Apt 4B"
        );
        assert_eq!(merged["contactInfo"]["email"], "john.doe@example.com");
        assert_eq!(merged["contactInfo"]["phone"], "555-111-3333");
        assert_eq!(
            merged["insurance"]["primary"]["provider"],
            "United Healthcare"
        );
        assert_eq!(merged["insurance"]["secondary"]["provider"], "Medicare");
        assert!(merged.get("id").is_none() && merged.get("_links").is_none());
    }

    #[test]
    fn a_list_body_is_the_envelope_around_the_stored_items() {
        let response = list_body("patients", 2, 20, 0, r#"{"id":"PAT-1"},{"id":"PAT-2"}"#);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = body_bytes(response);
        let parsed: PatientListShape = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(parsed.total, 2);
        assert_eq!(parsed.patients.len(), 2);
        let empty = body_bytes(list_body("patients", 0, 20, 40, ""));
        assert_eq!(
            std::str::from_utf8(&empty).expect("utf-8"),
            r#"{"total":0,"limit":20,"offset":40,"patients":[]}"#
        );
    }

    #[derive(serde::Deserialize)]
    struct PatientListShape {
        total: u64,
        patients: Vec<Value>,
    }

    fn body_bytes(response: Response) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("body")
            .to_vec()
    }

    #[test]
    fn null_clears_a_field() {
        let patch = serde_json::json!({ "contactInfo": { "email": null }, "insurance": null });
        let merged = merge_patch(&patient(), patch.as_object().expect("object")).expect("merges");
        assert!(merged["contactInfo"].get("email").is_none());
        assert!(merged.get("insurance").is_none());
    }
}
