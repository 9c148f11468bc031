//! The waitlist (extension, `/api/v1/waitlist`): patients who want an earlier or a particular
//! time, shared by every desk, with events so each desk's copy stays current. When a slot frees
//! up, `/api/v1/waitlist/candidates` ranks who would take it with the same rules
//! (`practice_studio::rules::waitlist`) the desk uses offline.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Day, ErrorDetail, LocationId, NewWaitlistEntry, PatientStatus, ProviderId, WaitlistCandidate,
    WaitlistCandidates, WaitlistEntry, WaitlistList, WaitlistPatch, WaitlistPreferences,
    WaitlistStatus,
};
use practice_studio::rules::waitlist::{
    check_duration, check_preferences, rank, FreedSlot, TEXT_MAX,
};
use serde_json::Value;
use utoipa::OpenApi;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{parse_json, ApiJson};
use crate::idempotency;
use crate::openapi::Extension as DocExtension;
use crate::params::{detail, if_match, paging, parse_instant};
use crate::storage::{WaitlistOutcome, WaitlistQuery};

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/waitlist", get(list).post(create))
        .route("/api/v1/waitlist/candidates", get(candidates))
        .route("/api/v1/waitlist/{id}", get(get_one).put(update))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get_one, update, candidates),
    components(schemas(
        WaitlistEntry, WaitlistList, NewWaitlistEntry, WaitlistPatch, WaitlistPreferences,
        WaitlistStatus, WaitlistCandidate, WaitlistCandidates, Day,
    )),
    tags((name = "Waitlist", description = "Patients waiting for a slot (extension)"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[
    ("/api/v1/waitlist", "get", "A clinic's waitlist must be shared by every desk, so it lives on the server."),
    ("/api/v1/waitlist", "post", "Adding a patient to the waitlist with what they would accept."),
    ("/api/v1/waitlist/candidates", "get", "When a slot frees up, who should be offered it, ranked by the same rules the desk uses offline."),
    ("/api/v1/waitlist/{entry_id}", "get", "Every entry's `Location` resolves."),
    ("/api/v1/waitlist/{entry_id}", "put", "Entries are booked, removed, put back, or their preferences changed."),
];

/// Fields a change may carry.
const WRITABLE: [&str; 6] = [
    "status",
    "appointmentId",
    "duration",
    "reason",
    "notes",
    "preferences",
];

fn respond(status: StatusCode, entry: WaitlistEntry) -> Response {
    let etag = format!("\"{}\"", entry.version);
    let location =
        (status == StatusCode::CREATED).then(|| format!("/api/v1/waitlist/{}", entry.id));
    let mut response = (status, Json(entry)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

fn unprocessable(details: Vec<ErrorDetail>) -> ApiError {
    let message = details
        .iter()
        .map(|d| format!("{}: {}", d.field, d.issue))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::Unprocessable { message, details }
}

/// Trimmed text, `None` when empty.
fn text(value: Option<String>) -> Option<String> {
    value.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The shape checks of an entry (400 when any fails): duration, preferences, text lengths.
fn check_shape(entry: &WaitlistEntry) -> Result<(), ApiError> {
    let mut problems = check_duration(entry.duration);
    problems.extend(check_preferences(&entry.preferences));
    for (field, value) in [("reason", &entry.reason), ("notes", &entry.notes)] {
        if value.as_ref().is_some_and(|t| t.chars().count() > TEXT_MAX) {
            problems.push(detail(
                code::TOO_LONG,
                field,
                &format!("at most {TEXT_MAX} characters"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// The providers and locations an entry may name, read once per request.
struct Known {
    providers: Vec<ProviderId>,
    locations: Vec<LocationId>,
}

impl Known {
    async fn load(app: &AppState) -> Result<Self, ApiError> {
        Ok(Self {
            providers: app
                .storage
                .providers()
                .await
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|p| p.id)
                .collect(),
            locations: app
                .storage
                .locations()
                .await
                .map_err(ApiError::internal)?
                .into_iter()
                .map(|l| l.id)
                .collect(),
        })
    }

    /// The references preferences make (422 when one does not hold).
    fn check(&self, preferences: &WaitlistPreferences) -> Result<(), ApiError> {
        let mut problems = Vec::new();
        for id in &preferences.provider_ids {
            if !self.providers.contains(id) {
                problems.push(detail(
                    code::UNKNOWN_REFERENCE,
                    "preferences.providerIds",
                    &format!("no provider {id}"),
                ));
            }
        }
        if let Some(id) = &preferences.location_id {
            if !self.locations.contains(id) {
                problems.push(detail(
                    code::UNKNOWN_REFERENCE,
                    "preferences.locationId",
                    &format!("no location {id}"),
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(unprocessable(problems))
        }
    }
}

/// `GET /api/v1/waitlist`.
#[utoipa::path(get, path = "/api/v1/waitlist", tag = "Waitlist", summary = "The waitlist",
    description = "Entries oldest first (first come, first served).",
    params(
        ("status" = Option<WaitlistStatus>, Query, description = "Only entries with this status"),
        ("patient_id" = Option<String>, Query, description = "Only this patient's entries"),
        ("provider_id" = Option<String>, Query, description = "Entries that name this provider or take any provider"),
        ("updated_since" = Option<String>, Query, description = "Only entries changed at or after this instant (RFC 3339) or date"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "A page of the waitlist", body = WaitlistList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<WaitlistList>, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let mut problems = Vec::new();
    let get = |name: &str| params.get(name).map(String::as_str);
    let (limit, offset) = paging(get, &mut problems);
    let status = match get("status") {
        None => None,
        Some(text) => {
            let status = WaitlistStatus::parse(text);
            if status.is_none() {
                problems.push(detail(
                    code::NOT_ONE_OF,
                    "status",
                    "must be waiting, booked or removed",
                ));
            }
            status
        }
    };
    let updated_since = match get("updated_since") {
        None => None,
        Some(text) => {
            let at = parse_instant(text);
            if at.is_none() {
                problems.push(detail(
                    code::INVALID_INSTANT,
                    "updated_since",
                    "must be an RFC 3339 instant or a date",
                ));
            }
            at
        }
    };
    let known = [
        "status",
        "patient_id",
        "provider_id",
        "updated_since",
        "limit",
        "offset",
    ];
    for name in params.keys() {
        if !known.contains(&name.as_str()) {
            problems.push(detail(
                code::UNKNOWN_PARAMETER,
                name,
                "is not a parameter of this route",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let query = WaitlistQuery {
        status,
        patient_id: get("patient_id").map(str::to_owned),
        provider_id: get("provider_id").map(str::to_owned),
        updated_since,
        limit,
        offset,
    };
    let (total, entries) = app
        .storage
        .waitlist(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(WaitlistList {
        total,
        limit,
        offset,
        entries,
    }))
}

/// `POST /api/v1/waitlist`.
#[utoipa::path(post, path = "/api/v1/waitlist", tag = "Waitlist", summary = "Add to the waitlist",
    description = "`duration` defaults to the appointment type's default duration. The patient must be active.",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key replays the first response")),
    request_body(content = NewWaitlistEntry, content_type = "application/json"),
    responses(
        (status = 201, description = "The entry; `Location` names it", body = WaitlistEntry),
        (status = 422, description = "An unknown or inactive patient, provider, location or type", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn create(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    ApiJson(_, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteAppointments)?;
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("POST", "/api/v1/waitlist"),
        &bytes,
        async |claim| {
            let entry = {
                let input: NewWaitlistEntry = parse_json(&bytes)?;
                let types = app
                    .storage
                    .appointment_types()
                    .await
                    .map_err(ApiError::internal)?;
                let kind = types
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case(input.kind.trim()))
                    .ok_or_else(|| {
                        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
                        unprocessable(vec![detail(
                            code::NOT_ONE_OF,
                            "type",
                            &format!("must be one of the appointment types: {}", names.join(", ")),
                        )])
                    })?;
                let now = app.clock.now();
                let draft = WaitlistEntry {
                    id: String::new(),
                    patient_id: input.patient_id,
                    kind: kind.name.clone(),
                    duration: input.duration.unwrap_or(kind.default_duration),
                    reason: text(input.reason),
                    notes: text(input.notes),
                    preferences: input.preferences,
                    status: WaitlistStatus::Waiting,
                    appointment_id: None,
                    version: 1,
                    created: now,
                    updated: now,
                };
                check_shape(&draft)?;
                let patient = app
                    .storage
                    .patient(draft.patient_id.as_str())
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| {
                        unprocessable(vec![detail(
                            code::UNKNOWN_REFERENCE,
                            "patientId",
                            &format!("no patient {}", draft.patient_id),
                        )])
                    })?;
                if patient.status != PatientStatus::Active {
                    return Err(unprocessable(vec![detail(
                        code::PATIENT_NOT_ACTIVE,
                        "patientId",
                        &format!("patient {} is not active", patient.id),
                    )]));
                }
                Known::load(&app).await?.check(&draft.preferences)?;
                app.storage
                    .create_waitlist_entry(&draft, claim)
                    .await
                    .map_err(ApiError::internal)
            }?;
            Ok(respond(StatusCode::CREATED, entry))
        },
    )
    .await
}

/// `GET /api/v1/waitlist/{id}`.
#[utoipa::path(get, path = "/api/v1/waitlist/{entry_id}", tag = "Waitlist", summary = "A waitlist entry",
    params(("entry_id" = String, Path, description = "Waitlist entry ID")),
    responses((status = 200, description = "The entry; `ETag` carries its version", body = WaitlistEntry)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn get_one(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let entry = app
        .storage
        .waitlist_entry(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no waitlist entry {id}")))?;
    Ok(respond(StatusCode::OK, entry))
}

/// The entry after a merge patch of its writable fields, with the status rules applied.
fn apply(
    current: &WaitlistEntry,
    patch: &serde_json::Map<String, Value>,
) -> Result<WaitlistEntry, ApiError> {
    let mut target = serde_json::to_value(current).map_err(ApiError::internal)?;
    json_patch::merge(&mut target, &Value::Object(patch.clone()));
    let mut next: WaitlistEntry = serde_json::from_value(target).map_err(|e| {
        ApiError::invalid_field(
            code::INVALID_VALUE,
            "body",
            format!("does not make a valid entry: {e}"),
        )
    })?;
    next.reason = text(next.reason);
    next.notes = text(next.notes);
    check_shape(&next)?;
    // A booked entry names its appointment; any other names none (put back or taken off, the
    // old booking no longer describes it).
    if next.status == WaitlistStatus::Booked {
        if next.appointment_id.is_none() {
            return Err(ApiError::invalid_field(
                code::REQUIRED,
                "appointmentId",
                "a booked entry names its appointment",
            ));
        }
    } else if patch.get("appointmentId").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::invalid_field(
            code::INVALID_VALUE,
            "appointmentId",
            "only a booked entry names an appointment (send status: booked with it)",
        ));
    } else {
        next.appointment_id = None;
    }
    Ok(next)
}

/// `PUT /api/v1/waitlist/{id}`.
#[utoipa::path(put, path = "/api/v1/waitlist/{entry_id}", tag = "Waitlist", summary = "Change a waitlist entry",
    description = "JSON Merge Patch of `status`, `appointmentId`, `duration`, `reason`, `notes` and `preferences` (a `preferences` object merges into the stored one; `null` clears a field). Booking sets `status: booked` with the `appointmentId` of one of the patient's appointments; `waiting` puts an entry back, `removed` takes it off.",
    params(
        ("entry_id" = String, Path, description = "Waitlist entry ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change was made against (`\"3\"`); a mismatch is 409"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key replays the first response"),
    ),
    request_body(content = WaitlistPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed entry", body = WaitlistEntry),
        (status = 409, description = "The entry changed since the If-Match version", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "The appointment does not exist or is another patient's", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn update(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteAppointments)?;
    let path = format!("/api/v1/waitlist/{id}");
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("PUT", &path),
        &bytes,
        async |claim| {
            let entry = {
                let expected = if_match(&headers, "waitlist entry")?;
                let Value::Object(patch) = body else {
                    return Err(ApiError::invalid_field(
                        code::INVALID_TYPE,
                        "body",
                        "must be a JSON object",
                    ));
                };
                let unknown: Vec<ErrorDetail> = patch
                    .keys()
                    .filter(|k| !WRITABLE.contains(&k.as_str()))
                    .map(|k| detail(code::READ_ONLY, k, "cannot be changed"))
                    .collect();
                if !unknown.is_empty() {
                    return Err(ApiError::invalid(unknown));
                }
                // What the change may refer to is read before the transaction (the clinic's providers
                // and locations, the appointment named); the merged entry is checked against it inside.
                let known = Known::load(&app).await?;
                let appointment = match patch.get("appointmentId").and_then(Value::as_str) {
                    Some(appointment_id) => Some(
                        app.storage
                            .appointment(appointment_id)
                            .await
                            .map_err(ApiError::internal)?
                            .ok_or_else(|| {
                                unprocessable(vec![detail(
                                    code::UNKNOWN_REFERENCE,
                                    "appointmentId",
                                    &format!("no appointment {appointment_id}"),
                                )])
                            })?,
                    ),
                    None => None,
                };
                let change = |current: &WaitlistEntry| {
                    if let Some(appointment) = &appointment {
                        if appointment.patient_id != current.patient_id {
                            return Err(unprocessable(vec![detail(
                                code::INVALID_VALUE,
                                "appointmentId",
                                &format!("appointment {} is another patient's", appointment.id),
                            )]));
                        }
                    }
                    let next = apply(current, &patch)?;
                    known.check(&next.preferences)?;
                    Ok(next)
                };
                let now = app.clock.now();
                match app
                    .storage
                    .update_waitlist_entry(&id, expected, &change, now, claim)
                    .await
                    .map_err(ApiError::internal)??
                {
                    WaitlistOutcome::Saved(entry) => Ok(*entry),
                    WaitlistOutcome::NotFound => {
                        Err(ApiError::NotFound(format!("no waitlist entry {id}")))
                    }
                    WaitlistOutcome::VersionMismatch { current } => Err(ApiError::Conflict {
                        message: format!(
                            "the entry changed since version {}; it is now version {current}",
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
            Ok(respond(StatusCode::OK, entry))
        },
    )
    .await
}

/// `GET /api/v1/waitlist/candidates`.
#[utoipa::path(get, path = "/api/v1/waitlist/candidates", tag = "Waitlist", summary = "Who would take a freed slot",
    description = "Waiting entries whose preferences the slot meets (provider, location, day, local times, dates, duration), best first: those who asked for this provider by name, then the longest waiting.",
    params(
        ("provider_id" = String, Query, description = "The slot's provider"),
        ("location_id" = String, Query, description = "The slot's location (its time zone places the slot on the wall clock)"),
        ("start_time" = String, Query, description = "The slot's start (RFC 3339)"),
        ("end_time" = String, Query, description = "The slot's end (RFC 3339)"),
        ("limit" = Option<u32>, Query, description = "Most candidates (default: 20, max: 100)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "Candidates, best first", body = WaitlistCandidates)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn candidates(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<WaitlistCandidates>, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let mut problems = Vec::new();
    let (limit, _) = paging(
        |name| {
            if name == "offset" {
                None
            } else {
                params.get(name).map(String::as_str)
            }
        },
        &mut problems,
    );
    let slot = freed_slot(&app, &params, &["limit"], problems).await?;
    // Every waiting entry, a page at a time (a clinic's waitlist is hundreds, not millions).
    let mut waiting = Vec::new();
    loop {
        let query = WaitlistQuery {
            status: Some(WaitlistStatus::Waiting),
            provider_id: Some(slot.provider_id.0.clone()),
            limit: 500,
            offset: waiting.len() as u64,
            ..WaitlistQuery::default()
        };
        let (total, page) = app
            .storage
            .waitlist(&query)
            .await
            .map_err(ApiError::internal)?;
        let done = page.is_empty() || (waiting.len() + page.len()) as u64 >= total;
        waiting.extend(page);
        if done {
            break;
        }
    }
    let mut candidates = rank(&waiting, &slot, app.clock.now());
    candidates.truncate(limit as usize);
    Ok(Json(WaitlistCandidates { candidates }))
}

/// The freed slot a candidates request names (`provider_id`, `location_id`, `start_time`,
/// `end_time`), checked with every problem collected: `problems` already found by the caller,
/// and each parameter that is neither the slot's nor in `also_known`. Shared by v1 and v2.
pub(crate) async fn freed_slot(
    app: &AppState,
    params: &HashMap<String, String>,
    also_known: &[&str],
    mut problems: Vec<ErrorDetail>,
) -> Result<FreedSlot, ApiError> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let required = |name: &str, problems: &mut Vec<ErrorDetail>| {
        let value = get(name).map(str::to_owned);
        if value.is_none() {
            problems.push(detail(code::REQUIRED, name, "is required"));
        }
        value
    };
    let provider_id = required("provider_id", &mut problems);
    let location_id = required("location_id", &mut problems);
    let instant = |name: &str, problems: &mut Vec<ErrorDetail>| -> Option<DateTime<Utc>> {
        let text = get(name)?;
        let at = DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        if at.is_none() {
            problems.push(detail(
                code::INVALID_INSTANT,
                name,
                "must be an RFC 3339 instant",
            ));
        }
        at
    };
    if get("start_time").is_none() {
        problems.push(detail(code::REQUIRED, "start_time", "is required"));
    }
    if get("end_time").is_none() {
        problems.push(detail(code::REQUIRED, "end_time", "is required"));
    }
    let start = instant("start_time", &mut problems);
    let end = instant("end_time", &mut problems);
    if let (Some(start), Some(end)) = (start, end) {
        if end <= start {
            problems.push(detail(
                code::END_BEFORE_START,
                "end_time",
                "must be after start_time",
            ));
        }
    }
    let known = ["provider_id", "location_id", "start_time", "end_time"];
    for name in params.keys() {
        if !known.contains(&name.as_str()) && !also_known.contains(&name.as_str()) {
            problems.push(detail(
                code::UNKNOWN_PARAMETER,
                name,
                "is not a parameter of this route",
            ));
        }
    }
    let (Some(provider_id), Some(location_id), Some(start), Some(end)) =
        (provider_id, location_id, start, end)
    else {
        return Err(ApiError::invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let locations = app.storage.locations().await.map_err(ApiError::internal)?;
    let location = locations
        .iter()
        .find(|l| l.id.as_str() == location_id)
        .ok_or_else(|| {
            unprocessable(vec![detail(
                code::UNKNOWN_REFERENCE,
                "location_id",
                &format!("no location {location_id}"),
            )])
        })?;
    let zone: Tz = location.time_zone.parse().map_err(|_| {
        ApiError::internal(format!("location {} has an unknown time zone", location.id))
    })?;
    let minutes = u32::try_from((end - start).num_minutes()).unwrap_or(u32::MAX);
    Ok(FreedSlot {
        provider_id: ProviderId(provider_id),
        location_id: LocationId(location_id),
        start: start.with_timezone(&zone).naive_local(),
        minutes,
    })
}
