//! `GET /openapi.json`: the API described from the code (utoipa), with every route, parameter,
//! body, header and error. Conventions every API operation shares (the error responses, the
//! request-id and rate-limit headers) are added to each operation here, in one place; so are the
//! `x-extension` marks on everything the reference does not have.

use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use practice_studio::model::{
    Address, Allergy, AppointmentType, AppointmentTypeList, ContactInfo, DayHours,
    EmergencyContact, ErrorBody, ErrorDetail, ErrorEnvelope, ExceptionKind, Gender, Health,
    HealthStatus, Insurance, InsurancePolicy, Link, Location, LocationAddress, LocationId,
    LocationLinks, LocationList, LocationRef, LocationSchedule, NewPatient, Patient, PatientId,
    PatientLinks, PatientList, PatientStatus, Pharmacy, Provider, ProviderId, ProviderLinks,
    ProviderList, ScheduleException, Slot, SlotList, WeeklySchedule,
};

/// `GET /api/v1/me`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The signed-in user; `null` for client credentials and API keys.
    pub user: Option<MeUser>,
    /// The OAuth client (or `api-key:<id>`).
    pub client: String,
    /// `standard`, `premium` or `enterprise`.
    pub tier: String,
    pub rate_limit_per_minute: u32,
    pub scopes: Vec<String>,
    /// `bearer` or `api_key`.
    pub authentication: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeUser {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `reception`, `clinician`, `billing` or `admin`.
    pub role: String,
}

/// The body of `PUT /api/v1/patients/{id}`: any subset of a new patient's fields (merge patch).
pub struct PatientPatch;

impl PartialSchema for PatientPatch {
    fn schema() -> RefOr<Schema> {
        match NewPatient::schema() {
            RefOr::T(Schema::Object(mut object)) => {
                object.required.clear();
                object.description =
                    Some("Any subset of the patient's writable fields; null clears a field".into());
                RefOr::T(Schema::Object(object))
            }
            other => other,
        }
    }
}

impl ToSchema for PatientPatch {}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An OAuth 2.0 access token from /oauth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Legacy: `Authorization: ApiKey <key>`",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Practice Studio API",
        description = "The Practice Studio API for PMS integrations: OAuth 2.0, patients, and the conventions every route shares. Everything marked `x-extension: true` goes beyond the published reference, with the reason beside it.",
    ),
    paths(
        crate::routes::health,
        crate::routes::me,
        crate::patients::list,
        crate::patients::get,
        crate::patients::create,
        crate::patients::update,
        crate::clinic::list_locations,
        crate::clinic::get_location,
        crate::clinic::appointment_types,
        crate::clinic::list_providers,
        crate::clinic::get_provider,
        crate::clinic::update_provider,
        crate::clinic::update_location,
        crate::clinic::slots,
        crate::auth::oauth::token,
        crate::auth::oauth::revoke,
        crate::auth::authorize::show,
        crate::auth::authorize::submit,
    ),
    components(schemas(
        Address, Allergy, ContactInfo, EmergencyContact, ErrorBody, ErrorDetail, ErrorEnvelope,
        Gender, Health, HealthStatus, Insurance, InsurancePolicy, Link, NewPatient, Patient,
        PatientId, PatientLinks, PatientList, PatientStatus, Pharmacy, Me, MeUser,
        crate::auth::oauth::TokenResponse, crate::auth::oauth::OAuthErrorBody,
        crate::patients::SortField, crate::patients::SortOrder, crate::patients::Expand,
        AppointmentType, AppointmentTypeList, DayHours, ExceptionKind, Location, LocationAddress,
        LocationLinks, LocationList, LocationRef, LocationSchedule, Provider, ProviderId,
        ProviderLinks, ProviderList, ScheduleException, Slot, SlotList, WeeklySchedule, LocationId,
    )),
    modifiers(&Security),
    tags(
        (name = "Patients", description = "Patient endpoints"),
        (name = "OAuth", description = "OAuth 2.0 (RFC 6749, 7009, 7636, 8252)"),
        (name = "Identity", description = "Who is calling"),
        (name = "Clinic", description = "Locations, providers, appointment types and free slots"),
        (name = "Service", description = "Service health"),
    )
)]
struct ApiDoc;

/// An operation the reference does not have: path, method, and why we added it.
pub(crate) type Extension = (&'static str, &'static str, &'static str);

/// Operations and fields the reference does not have, and why we added them. Modules with their
/// own [`OpenApi`] document list theirs beside it; [`document`] joins them all.
const EXTENSIONS: &[Extension] = &[
    ("/api/v1/locations", "get", "Hours are wall-clock times at a location; clients need each location's time zone to show and book a day."),
    ("/api/v1/locations/{location_id}", "get", "Every location a provider or appointment names can be read."),
    ("/api/v1/appointment-types", "get", "Appointment `type` is free text in the reference; a catalogue with default durations and colours lets every client book and show types alike."),
    ("/api/v1/providers/{provider_id}/slots", "get", "\"Next free slot\" must give the same answer on every client; the server computes it with the same shared rules the desk uses offline."),
    ("/api/v1/me", "get", "The desk needs the user's role and scopes to offer only what they may do, and a name for its audit log."),
    ("/oauth/revoke", "post", "Signing out must end a token's life at once (RFC 7009)."),
    ("/oauth/authorize", "get", "The reference lists the authorization code flow but not its sign-in page; this is it (RFC 6749 §4.1, PKCE per RFC 7636, loopback redirects per RFC 8252)."),
    ("/oauth/authorize", "post", "The sign-in page's form."),
    ("/health", "get", "Supervisors and the desk check the service is up without credentials."),
    ("/api/v1/providers/{provider_id}", "put", "Hours, breaks and time off change; desks must hear of it (schedule.updated) to offer the right slots offline."),
    ("/api/v1/locations/{location_id}", "put", "A location's details and time zone can change (location.updated)."),
];

fn header(description: &str, schema: Value) -> Value {
    json!({ "description": description, "schema": schema })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {
            "X-Request-ID": header("The request's id (echoed, or made)", json!({"type": "string"})),
        },
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } }
    })
}

/// The documents of the route modules that keep their own (their paths, schemas and tags), with
/// their extensions. A module adds itself here with one line.
fn parts() -> Vec<(utoipa::openapi::OpenApi, &'static [Extension])> {
    vec![
        (
            crate::appointments::ApiDoc::openapi(),
            crate::appointments::EXTENSIONS,
        ),
        (
            crate::records::ApiDoc::openapi(),
            crate::records::EXTENSIONS,
        ),
        (
            crate::billing::ApiDoc::openapi(),
            crate::billing::EXTENSIONS,
        ),
        (crate::events::ApiDoc::openapi(), crate::events::EXTENSIONS),
        (
            crate::webhooks::ApiDoc::openapi(),
            crate::webhooks::EXTENSIONS,
        ),
        (crate::fhir::ApiDoc::openapi(), crate::fhir::EXTENSIONS),
        (
            crate::waitlist::ApiDoc::openapi(),
            crate::waitlist::EXTENSIONS,
        ),
        (crate::v2::ApiDoc::openapi(), crate::v2::EXTENSIONS),
    ]
}

/// The whole document, as served by a server that keeps finished idempotency keys this long.
pub fn document(idempotency_retention: chrono::Duration) -> Value {
    let mut api = ApiDoc::openapi();
    let mut extensions: Vec<Extension> = EXTENSIONS.to_vec();
    for (part, part_extensions) in parts() {
        api.merge(part);
        extensions.extend_from_slice(part_extensions);
    }
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc["info"]["x-idempotency-key-retention-days"] = json!(idempotency_retention.num_days());
    doc["info"]["x-rate-limits"] = json!({
        "description": "A token bucket (GCRA) per client and user for user tokens, per client for client credentials, per key for API keys. Burst: 10% of the per-minute limit. X-RateLimit-Reset is when the bucket is full again (Unix seconds).",
        "standard": 100, "premium": 1000, "enterprise": "set per client"
    });
    // The table of events is built from the list the feed serves by.
    if let Some(feed) = doc.pointer_mut("/paths/~1api~1v2~1events/get") {
        feed["description"] = json!(crate::events::description());
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            if let Some((_, _, why)) = extensions.iter().find(|(p, m, _)| p == path && m == method)
            {
                operation.insert("x-extension".into(), json!(true));
                operation.insert("x-extension-reason".into(), json!(why));
            }
            if path.starts_with("/api/") {
                let etag = path.ends_with('}') || method == "post";
                decorate_api_operation(method, operation, etag);
            }
        }
    }
    doc
}

fn decorate_api_operation(method: &str, operation: &mut Map<String, Value>, etag: bool) {
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else { return };
    let mut codes: Vec<(&str, &str)> = vec![
        (
            "400",
            "Request validation failed (every problem listed, fields by dotted path)",
        ),
        (
            "401",
            "Authentication required: missing, bad, expired or revoked credentials",
        ),
        (
            "403",
            "Permission denied: the credential lacks the route's scope",
        ),
        ("404", "Resource not found"),
        (
            "406",
            "Extension: the Accept header excludes application/json",
        ),
        ("429", "Rate limit exceeded; Retry-After says when to retry"),
        ("500", "Internal server error"),
    ];
    if method == "post" || method == "put" {
        codes.extend([
            ("409", "Resource conflict: the version changed since If-Match, or the Idempotency-Key is still in use (Retry-After: 1)"),
            ("413", "Extension: the body is larger than 1 MiB"),
            ("415", "Extension: the body must be application/json"),
            ("422", "The Idempotency-Key was used for another request, or the request cannot be carried out"),
        ]);
    }
    for (code, description) in codes {
        responses
            .entry(code)
            .or_insert_with(|| error_response(description));
    }
    for (code, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        let headers = response
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        let Some(headers) = headers else { continue };
        headers.insert(
            "X-Request-ID".into(),
            header(
                "The request's id (echoed, or made)",
                json!({"type": "string"}),
            ),
        );
        if code != "401" {
            headers.insert(
                "X-RateLimit-Limit".into(),
                header(
                    "Requests per minute of the caller's tier",
                    json!({"type": "integer"}),
                ),
            );
            headers.insert(
                "X-RateLimit-Remaining".into(),
                header(
                    "Requests left in the bucket now",
                    json!({"type": "integer"}),
                ),
            );
            headers.insert(
                "X-RateLimit-Reset".into(),
                header(
                    "Unix seconds when the bucket is full again",
                    json!({"type": "integer"}),
                ),
            );
        }
        if code == "429" {
            headers.insert(
                "Retry-After".into(),
                header("Seconds to wait", json!({"type": "integer"})),
            );
        }
        if code == "201" {
            headers.insert(
                "Location".into(),
                header("The new resource", json!({"type": "string"})),
            );
        }
        if etag && (code == "200" || code == "201") {
            headers.insert(
                "ETag".into(),
                header(
                    "Extension: a resource's version (send it back in If-Match to change it), or for records, invoices, payments and documents a hash of the content (send it in If-None-Match: 304 when unchanged)",
                    json!({"type": "string"}),
                ),
            );
        }
    }
}
