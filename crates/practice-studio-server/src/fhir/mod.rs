//! FHIR R4 (4.0.1) at `/fhir/r4`, in `application/fhir+json`: the CapabilityStatement, and read
//! and search of Patient, Coverage, Practitioner, Location, Appointment, AllergyIntolerance,
//! DocumentReference and Invoice, made from the same storage as v1.
//!
//! [`RESOURCES`] is the contract: the CapabilityStatement, the OpenAPI document and the search
//! parser all read it, so what is published is what is served. One module per resource turns the
//! API's model into FHIR; [`codes`] holds the code mappings as explicit tables. Authentication,
//! scopes and rate limits are v1's (the same middleware); errors are `OperationOutcome`s.

mod allergy;
mod appointment;
mod capability;
pub(crate) mod codes;
mod coverage;
mod document;
mod invoice;
mod location;
mod openapi;
mod outcome;
mod patient;
mod practitioner;
mod search;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::http;

pub(crate) use openapi::{ApiDoc, EXTENSIONS};
use outcome::{fhir_response, FhirError};
use search::{Handling, Search};

/// Where the FHIR API is mounted.
pub const BASE_PATH: &str = "/fhir/r4";

/// The type of a search parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Token,
    Reference,
    Date,
}

/// A search parameter a resource supports.
#[derive(Debug)]
pub struct SearchParam {
    pub name: &'static str,
    pub kind: ParamKind,
    /// The R4 SearchParameter it implements.
    pub definition: &'static str,
    pub documentation: &'static str,
}

/// A resource type the server serves.
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    /// The v1 scope that reads the same data.
    pub scope: Scope,
    pub documentation: &'static str,
    pub params: &'static [SearchParam],
}

const fn param(
    name: &'static str,
    kind: ParamKind,
    definition: &'static str,
    documentation: &'static str,
) -> SearchParam {
    SearchParam {
        name,
        kind,
        definition,
        documentation,
    }
}

macro_rules! definition {
    ($name:literal) => {
        concat!("http://hl7.org/fhir/SearchParameter/", $name)
    };
}

/// Every resource type served, with its search parameters.
pub const RESOURCES: [ResourceType; 8] = [
    ResourceType {
        name: "Patient",
        scope: Scope::ReadPatients,
        documentation: "A patient of the practice: MRN identifier, name, birth date, gender, telecom, address, active, deceasedBoolean, emergency contact and language.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The patient id (PAT-…)."),
            param("identifier", ParamKind::Token, definition!("Patient-identifier"), "The MRN, optionally with its system."),
            param("name", ParamKind::String, definition!("Patient-name"), "Starts a given or family name (case-insensitive)."),
            param("family", ParamKind::String, definition!("individual-family"), "Starts the family name."),
            param("given", ParamKind::String, definition!("individual-given"), "Starts the given name."),
            param("birthdate", ParamKind::Date, definition!("individual-birthdate"), "The birth date, with eq, ge, gt, le or lt."),
            param("gender", ParamKind::Token, definition!("individual-gender"), "male, female, other or unknown."),
            param("phone", ParamKind::Token, definition!("individual-phone"), "The phone number; punctuation is ignored."),
        ],
    },
    ResourceType {
        name: "Coverage",
        scope: Scope::ReadPatients,
        documentation: "A patient's insurance policy (primary order 1, secondary order 2); its id is the patient and the rank.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The coverage's id (PAT-….primary)."),
            param("beneficiary", ParamKind::Reference, definition!("Coverage-beneficiary"), "Patient/PAT-… or the id."),
            param("patient", ParamKind::Reference, definition!("Coverage-patient"), "Patient/PAT-… or the id."),
        ],
    },
    ResourceType {
        name: "Practitioner",
        scope: Scope::ReadProviders,
        documentation: "A provider of the practice, with its NPI identifier.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The provider id (PROV-…)."),
            param("identifier", ParamKind::Token, definition!("Practitioner-identifier"), "The NPI, optionally with its system."),
            param("name", ParamKind::String, definition!("Practitioner-name"), "Starts a given or family name."),
        ],
    },
    ResourceType {
        name: "Location",
        scope: Scope::ReadProviders,
        documentation: "A clinic location.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The location id (LOC-…)."),
            param("name", ParamKind::String, definition!("Location-name"), "Starts the location's name."),
        ],
    },
    ResourceType {
        name: "Appointment",
        scope: Scope::ReadAppointments,
        documentation: "An appointment, with the patient, practitioner and location as participants (each with its status).",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The appointment id (APPT-…)."),
            param("patient", ParamKind::Reference, definition!("Appointment-patient"), "Patient/PAT-… or the id."),
            param("practitioner", ParamKind::Reference, definition!("Appointment-practitioner"), "Practitioner/PROV-… or the id."),
            param("location", ParamKind::Reference, definition!("Appointment-location"), "Location/LOC-… or the id."),
            param("date", ParamKind::Date, definition!("clinical-date"), "The start, with eq, ge, gt, le or lt; repeat for a range."),
            param("status", ParamKind::Token, definition!("Appointment-status"), "booked, arrived, checked-in, fulfilled, cancelled or noshow."),
        ],
    },
    ResourceType {
        name: "AllergyIntolerance",
        scope: Scope::ReadPatients,
        documentation: "A patient's recorded allergy; its id is derived from the patient and the allergen, so it is stable.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The allergy's id."),
            param("patient", ParamKind::Reference, definition!("clinical-patient"), "Patient/PAT-… or the id."),
        ],
    },
    ResourceType {
        name: "DocumentReference",
        scope: Scope::ReadRecords,
        documentation: "A medical record: the SOAP note inline as text, and each attachment as a link to its download route.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The record id (REC-…)."),
            param("patient", ParamKind::Reference, definition!("clinical-patient"), "Patient/PAT-… or the id."),
            param("date", ParamKind::Date, definition!("DocumentReference-date"), "The record's date, with eq, ge, gt, le or lt."),
            param("type", ParamKind::Token, definition!("clinical-type"), "A LOINC document type (http://loinc.org|11506-3) or the record type's text."),
        ],
    },
    ResourceType {
        name: "Invoice",
        scope: Scope::ReadInvoices,
        documentation: "An invoice with its CPT line items and totals in USD.",
        params: &[
            param("_id", ParamKind::Token, definition!("Resource-id"), "The invoice id (INV-…)."),
            param("subject", ParamKind::Reference, definition!("Invoice-subject"), "Patient/PAT-… or the id."),
            param("patient", ParamKind::Reference, definition!("Invoice-patient"), "Patient/PAT-… or the id."),
            param("status", ParamKind::Token, definition!("Invoice-status"), "issued (owed) or balanced (paid)."),
        ],
    },
];

fn resource_type(name: &str) -> Result<&'static ResourceType, FhirError> {
    RESOURCES.iter().find(|r| r.name == name).ok_or_else(|| {
        FhirError::UnknownType(format!("this server does not serve {name:?} resources"))
    })
}

/// This module's routes, with their own layers: v1's authentication and rate limits, then FHIR
/// content negotiation, and every error as an OperationOutcome.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route(
            "/fhir/r4/{resource_type}",
            get(search_type).fallback(method_not_allowed),
        )
        .route(
            "/fhir/r4/{resource_type}/{id}",
            get(read).fallback(method_not_allowed),
        )
        .route_layer(middleware::from_fn_with_state(state, http::authenticate));
    Router::new()
        .route(
            "/fhir/r4/metadata",
            get(metadata).fallback(method_not_allowed),
        )
        .merge(authenticated)
        .route_layer(middleware::from_fn(negotiate))
        .route_layer(middleware::from_fn(outcome::as_outcome))
        .route_layer(middleware::from_fn(http::remember_route))
}

/// FHIR servers answer `application/fhir+json`; plain JSON clients are served the same. An
/// `Accept` that admits neither is 406.
async fn negotiate(request: Request, next: Next) -> Response {
    if let Some(accept) = request.headers().get(header::ACCEPT) {
        let acceptable = accept.to_str().is_ok_and(|accept| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let refused = parts.any(|p| {
                    let p = p.trim().replace(' ', "");
                    p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
                });
                !refused
                    && matches!(
                        media.as_str(),
                        "application/fhir+json" | "application/json" | "application/*" | "*/*"
                    )
            })
        });
        if !acceptable {
            return FhirError::NotSupported(
                "this server answers application/fhir+json; the Accept header excludes it".into(),
            )
            .into_response()
            .map_status(StatusCode::NOT_ACCEPTABLE);
        }
    }
    next.run(request).await
}

/// Only reads and searches are served: every other interaction is 405.
async fn method_not_allowed() -> Response {
    let mut response = FhirError::NotSupported(
        "this server supports the read and search-type interactions only (GET)".into(),
    )
    .into_response()
    .map_status(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

trait MapStatus {
    fn map_status(self, status: StatusCode) -> Self;
}

impl MapStatus for Response {
    fn map_status(mut self, status: StatusCode) -> Self {
        *self.status_mut() = status;
        self
    }
}

/// The absolute base of this server's FHIR API, for `fullUrl`s and links: the request's host
/// (behind a TLS proxy, `X-Forwarded-Proto: https`).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!(
        "{}://{host}{BASE_PATH}",
        if https { "https" } else { "http" }
    )
}

/// `scheme://host` of this server (the base without its path).
fn origin(headers: &HeaderMap) -> String {
    let base = base_url(headers);
    base.strip_suffix(BASE_PATH).unwrap_or(&base).to_owned()
}

/// A FHIR `instant`.
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Removes what FHIR forbids in JSON: nulls, empty strings, arrays and objects (ele-1).
pub(crate) fn prune(value: Value) -> Value {
    fn keep(value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, prune(v)))
                .filter(|(_, v)| keep(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(prune).filter(keep).collect()),
        other => other,
    }
}

/// `GET /fhir/r4/metadata`: what this server supports (no credential needed, as for /health).
async fn metadata(headers: HeaderMap) -> Response {
    fhir_response(StatusCode::OK, &capability::statement(&base_url(&headers)))
}

/// `GET /fhir/r4/{type}/{id}`.
async fn read(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, FhirError> {
    let resource = resource_type(&kind)?;
    principal.require(resource.scope)?;
    let found = match resource.name {
        "Patient" => patient::read(&state, &id).await?,
        "Practitioner" => practitioner::read(&state, &id).await?,
        "Location" => location::read(&state, &id).await?,
        "Appointment" => appointment::read(&state, &id).await?,
        "AllergyIntolerance" => allergy::read(&state, &id).await?,
        "Coverage" => coverage::read(&state, &id).await?,
        "DocumentReference" => document::read(&state, &id, &origin(&headers)).await?,
        "Invoice" => invoice::read(&state, &id).await?,
        other => return Err(FhirError::UnknownType(format!("no reader for {other}"))),
    };
    let found = found.ok_or_else(|| FhirError::NotFound(format!("{kind}/{id} is not known")))?;
    let mut response = fhir_response(StatusCode::OK, &found);
    if let Some(version) = found.pointer("/meta/versionId").and_then(Value::as_str) {
        if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
            response.headers_mut().insert(header::ETAG, etag);
        }
    }
    Ok(response)
}

/// `GET /fhir/r4/{type}?…`.
async fn search_type(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, FhirError> {
    let resource = resource_type(&kind)?;
    principal.require(resource.scope)?;
    let search = Search::parse(
        resource,
        query.as_deref().unwrap_or_default(),
        Handling::from_headers(&headers),
    )?;
    let (total, entries) = match resource.name {
        "Patient" => patient::search(&state, &search).await?,
        "Practitioner" => practitioner::search(&state, &search).await?,
        "Location" => location::search(&state, &search).await?,
        "Appointment" => appointment::search(&state, &search).await?,
        "AllergyIntolerance" => allergy::search(&state, &search).await?,
        "Coverage" => coverage::search(&state, &search).await?,
        "DocumentReference" => document::search(&state, &search, &origin(&headers)).await?,
        "Invoice" => invoice::search(&state, &search).await?,
        other => return Err(FhirError::UnknownType(format!("no search for {other}"))),
    };
    let bundle = search.bundle(&base_url(&headers), total, entries, state.clock.now());
    Ok(fhir_response(StatusCode::OK, &bundle))
}

/// For resources searched in memory (the clinic's few providers and locations): every
/// parameter (a list of alternatives) has one alternative that passes `test`.
pub(crate) fn matches_all<T>(lists: &[Vec<T>], test: impl Fn(&T) -> bool) -> bool {
    lists.iter().all(|list| list.iter().any(&test))
}

/// A case-insensitive prefix match (FHIR string search).
pub(crate) fn starts_with_nocase(text: &str, prefix: &str) -> bool {
    text.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// A page of an in-memory list.
pub(crate) fn page<T>(items: Vec<T>, search: &Search) -> (u64, Vec<T>) {
    let total = items.len() as u64;
    let items = items
        .into_iter()
        .skip(usize::try_from(search.offset).unwrap_or(usize::MAX))
        .take(search.count as usize)
        .collect();
    (total, items)
}
