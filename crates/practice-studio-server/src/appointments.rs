//! Appointments: the book, status changes and clash rules.
//!
//! Booking or moving an appointment is checked with the shared `practice_studio::rules` (the same
//! code the desk runs offline) against the provider's hours at the location in its time zone,
//! breaks, exceptions and other bookings; the check and the write happen in one storage
//! transaction.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentLinks, AppointmentList, AppointmentLocation,
    AppointmentPatch, AppointmentStatus, AppointmentType, ErrorDetail, Location, LocationId,
    NewAppointment, PatientStatus, Provider,
};
use practice_studio::rules::appointments::{check_transition, stamp_field, TransitionError};
use practice_studio::rules::slots::{check_booking, provider_at, Availability, Clash, Exception};
use practice_studio::rules::TimeSpan;
use serde_json::{Map, Value};
use utoipa::OpenApi;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{list_body, parse_json, ApiJson};
use crate::idempotency;
use crate::openapi::Extension as DocExtension;
use crate::params::{detail, if_match, paging, parse_instant};
use crate::storage::{AppointmentOutcome, AppointmentQuery, AppointmentSort};

/// Longest appointment.
const MAX_MINUTES: i64 = 8 * 60;
/// Longest free-text fields.
const MAX_REASON: usize = 500;
const MAX_NOTES: usize = 2_000;

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appointments", get(list).post(create))
        .route("/api/v1/appointments/{id}", get(get_one).put(update))
        .route(
            "/api/v1/patients/{id}/appointments",
            get(patient_appointments),
        )
        .route(
            "/api/v1/providers/{id}/appointments",
            get(provider_appointments),
        )
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(list, get_one, create, update, patient_appointments, provider_appointments),
    components(schemas(
        Appointment, AppointmentId, AppointmentLinks, AppointmentList, AppointmentLocation,
        AppointmentPatch, AppointmentStatus, NewAppointment, AppointmentSortField,
    )),
    tags((name = "Appointments", description = "Appointment endpoints"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[
    ("/api/v1/appointments/{appointment_id}", "get", "Every `_links.self` an appointment carries resolves."),
    ("/api/v1/appointments/{appointment_id}", "put", "A front desk reschedules, checks patients in, rooms them, completes, cancels and marks no-shows; the reference has no way to change an appointment."),
    ("/api/v1/patients/{patient_id}/appointments", "get", "Every patient's `_links.appointments` resolves."),
];

/// Sort keys of the appointment lists (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: the query is parsed by hand to list every problem at once
pub enum AppointmentSortField {
    #[schema(rename = "startTime")]
    StartTime,
    #[schema(rename = "created")]
    Created,
    #[schema(rename = "updated")]
    Updated,
}

/// Which list a request asks for: everything, or one patient's or provider's.
enum Owner {
    All,
    Patient(String),
    Provider(String),
}

fn parse_query(
    params: &HashMap<String, String>,
    owner: &Owner,
) -> Result<AppointmentQuery, ApiError> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let mut problems = Vec::new();
    let (limit, offset) = paging(get, &mut problems);
    let mut date = |name: &str| match get(name).map(|v| v.parse::<NaiveDate>()) {
        None => None,
        Some(Ok(date)) => Some(date),
        Some(Err(_)) => {
            problems.push(detail(
                code::INVALID_DATE,
                name,
                "must be a date (YYYY-MM-DD)",
            ));
            None
        }
    };
    let (start_date, end_date) = (date("start_date"), date("end_date"));
    if let (Some(from), Some(to)) = (start_date, end_date) {
        if to < from {
            problems.push(detail(
                code::END_BEFORE_START,
                "end_date",
                "must not be before start_date",
            ));
        }
    }
    let status = match get("status") {
        None => None,
        Some(v) => match AppointmentStatus::parse(v) {
            Some(status) => Some(status),
            None => {
                problems.push(detail(
                    code::NOT_ONE_OF,
                    "status",
                    "must be one of scheduled, checked_in, in_room, completed, cancelled, no_show",
                ));
                None
            }
        },
    };
    let updated_since = match get("updated_since") {
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
    let sort = match get("sort") {
        None | Some("startTime") => AppointmentSort::Start,
        Some("created") => AppointmentSort::Created,
        Some("updated") => AppointmentSort::Updated,
        Some(_) => {
            problems.push(detail(
                code::NOT_ONE_OF,
                "sort",
                "must be one of startTime, created, updated",
            ));
            AppointmentSort::Start
        }
    };
    let descending = match get("order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            problems.push(detail(code::NOT_ONE_OF, "order", "must be asc or desc"));
            false
        }
    };
    let mut provider_id = get("provider_id").map(str::to_owned);
    let mut patient_id = get("patient_id").map(str::to_owned);
    match owner {
        Owner::All => {}
        Owner::Patient(id) => {
            if patient_id.as_ref().is_some_and(|p| p != id) {
                problems.push(detail(
                    code::PATH_MISMATCH,
                    "patient_id",
                    "must match the patient in the path",
                ));
            }
            patient_id = Some(id.clone());
        }
        Owner::Provider(id) => {
            if provider_id.as_ref().is_some_and(|p| p != id) {
                problems.push(detail(
                    code::PATH_MISMATCH,
                    "provider_id",
                    "must match the provider in the path",
                ));
            }
            provider_id = Some(id.clone());
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(AppointmentQuery {
        start_date,
        end_date,
        provider_id,
        patient_id,
        status,
        updated_since,
        sort,
        descending,
        limit,
        offset,
    })
}

async fn list_for(
    app: &AppState,
    principal: &Principal,
    params: &HashMap<String, String>,
    owner: Owner,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let query = parse_query(params, &owner)?;
    match &owner {
        Owner::All => {}
        Owner::Patient(id) => {
            principal.require(Scope::ReadPatients)?;
            app.storage
                .patient(id)
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| ApiError::NotFound(format!("no patient {id}")))?;
        }
        Owner::Provider(id) => {
            if !providers(app).await?.iter().any(|p| p.id.as_str() == id) {
                return Err(ApiError::NotFound(format!("no provider {id}")));
            }
        }
    }
    let (total, items) = app
        .storage
        .list_appointments(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(list_body(
        "appointments",
        total,
        query.limit,
        query.offset,
        &items,
    ))
}

/// `GET /api/v1/appointments`.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "Appointments", summary = "Get appointments",
    description = "Pages through appointments in a total order (ties broken by id). Dates are calendar days at the appointment's location (its time zone). `sort=created` is append-only, so a client paging through everything while others book misses nothing.",
    params(
        ("start_date" = Option<NaiveDate>, Query, description = "Start date for appointments (YYYY-MM-DD)"),
        ("end_date" = Option<NaiveDate>, Query, description = "End date for appointments (YYYY-MM-DD), inclusive"),
        ("provider_id" = Option<String>, Query, description = "Filter by provider ID"),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("status" = Option<AppointmentStatus>, Query, description = "Filter by status"),
        ("updated_since" = Option<String>, Query, description = "Extension: changed at or after this instant (RFC 3339) or date"),
        ("sort" = Option<AppointmentSortField>, Query, description = "Extension: field to sort by (default startTime)"),
        ("order" = Option<crate::patients::SortOrder>, Query, description = "Extension: sort order"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "Appointments", body = AppointmentList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list_for(&app, &principal, &params, Owner::All).await
}

/// `GET /api/v1/patients/{id}/appointments`.
#[utoipa::path(get, path = "/api/v1/patients/{patient_id}/appointments", tag = "Appointments", summary = "A patient's appointments",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("start_date" = Option<NaiveDate>, Query, description = "Start date (YYYY-MM-DD)"),
        ("end_date" = Option<NaiveDate>, Query, description = "End date (YYYY-MM-DD), inclusive"),
        ("status" = Option<AppointmentStatus>, Query, description = "Filter by status"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant"),
        ("sort" = Option<AppointmentSortField>, Query, description = "Field to sort by (default startTime)"),
        ("order" = Option<crate::patients::SortOrder>, Query, description = "Sort order"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "The patient's appointments", body = AppointmentList)),
    security(("bearer" = ["read:appointments", "read:patients"]), ("apiKey" = [])))]
pub(crate) async fn patient_appointments(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list_for(&app, &principal, &params, Owner::Patient(id)).await
}

/// `GET /api/v1/providers/{id}/appointments`.
#[utoipa::path(get, path = "/api/v1/providers/{provider_id}/appointments", tag = "Appointments", summary = "A provider's appointments",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("start_date" = Option<NaiveDate>, Query, description = "Start date (YYYY-MM-DD)"),
        ("end_date" = Option<NaiveDate>, Query, description = "End date (YYYY-MM-DD), inclusive"),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("status" = Option<AppointmentStatus>, Query, description = "Filter by status"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant"),
        ("sort" = Option<AppointmentSortField>, Query, description = "Field to sort by (default startTime)"),
        ("order" = Option<crate::patients::SortOrder>, Query, description = "Sort order"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "The provider's appointments", body = AppointmentList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn provider_appointments(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list_for(&app, &principal, &params, Owner::Provider(id)).await
}

/// `GET /api/v1/appointments/{id}`.
#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}", tag = "Appointments", summary = "Get an appointment",
    params(("appointment_id" = String, Path, description = "Appointment ID")),
    responses((status = 200, description = "The appointment; `ETag` carries its version", body = Appointment)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn get_one(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let appointment = app
        .storage
        .appointment(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no appointment {id}")))?;
    Ok(respond(StatusCode::OK, appointment))
}

fn respond(status: StatusCode, appointment: Appointment) -> Response {
    let etag = format!("\"{}\"", appointment.version);
    let location = (status == StatusCode::CREATED).then(|| appointment.links.self_.href.clone());
    let mut response = (status, Json(appointment)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

/// The clinic as a booking sees it: read once per request (three small tables).
struct Clinic {
    providers: Vec<Provider>,
    locations: Vec<Location>,
    types: Vec<AppointmentType>,
}

async fn providers(app: &AppState) -> Result<Vec<Provider>, ApiError> {
    app.storage.providers().await.map_err(ApiError::internal)
}

impl Clinic {
    async fn load(app: &AppState) -> Result<Self, ApiError> {
        Ok(Self {
            providers: providers(app).await?,
            locations: app.storage.locations().await.map_err(ApiError::internal)?,
            types: app
                .storage
                .appointment_types()
                .await
                .map_err(ApiError::internal)?,
        })
    }

    fn provider(&self, id: &str) -> Result<&Provider, ApiError> {
        let provider = self
            .providers
            .iter()
            .find(|p| p.id.as_str() == id)
            .ok_or_else(|| {
                unprocessable(
                    code::UNKNOWN_REFERENCE,
                    "providerId",
                    format!("no provider {id}"),
                )
            })?;
        if !provider.active {
            return Err(unprocessable(
                code::INVALID_VALUE,
                "providerId",
                format!("provider {id} is not active"),
            ));
        }
        Ok(provider)
    }

    fn location_for(&self, provider: &Provider, id: &str) -> Result<&Location, ApiError> {
        let location = self
            .locations
            .iter()
            .find(|l| l.id.as_str() == id)
            .ok_or_else(|| {
                unprocessable(
                    code::UNKNOWN_REFERENCE,
                    "locationId",
                    format!("no location {id}"),
                )
            })?;
        if !provider.locations.iter().any(|l| l.id == location.id) {
            return Err(unprocessable(
                code::NOT_ONE_OF,
                "locationId",
                format!("provider {} does not work at {id}", provider.id),
            ));
        }
        Ok(location)
    }

    fn check_type(&self, kind: &str) -> Result<String, ApiError> {
        self.types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(kind.trim()))
            .map(|t| t.name.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = self.types.iter().map(|t| t.name.as_str()).collect();
                unprocessable(
                    code::NOT_ONE_OF,
                    "type",
                    format!("must be one of the appointment types: {}", names.join(", ")),
                )
            })
    }

    /// Whether the appointment may hold its time, given the provider's other bookings.
    fn check_clash(&self, appointment: &Appointment, booked: &[TimeSpan]) -> Result<(), ApiError> {
        let provider = self.provider(appointment.provider_id.as_str())?;
        let location = self.location_for(provider, appointment.location.id.as_str())?;
        let zone = zone_of(location)?;
        let wanted = appointment.span().map_err(|_| {
            ApiError::invalid_field(code::END_BEFORE_START, "endTime", "must be after startTime")
        })?;
        let (sessions, breaks, exceptions) = provider_at(provider, &location.id);
        let availability = Availability {
            zone,
            sessions: &sessions,
            breaks: &breaks,
            exceptions: &exceptions,
            booked,
        };
        let local = |t: DateTime<Utc>| t.with_timezone(&zone).format("%H:%M").to_string();
        let date = wanted.start.with_timezone(&zone).date_naive();
        match check_booking(&availability, &wanted) {
            Ok(()) => Ok(()),
            Err(Clash::Overlaps(other)) => Err(ApiError::Conflict {
                message: format!(
                    "{} already has an appointment from {} to {} on {date} ({})",
                    provider.id,
                    local(other.start),
                    local(other.end),
                    location.time_zone
                ),
                details: vec![detail(
                    code::TIME_TAKEN,
                    "startTime",
                    "overlaps another appointment of the provider",
                )],
                retry_after: None,
            }),
            Err(Clash::OutsideHours) => {
                let why = outside_why(&availability, date, &wanted, zone);
                Err(ApiError::Conflict {
                    message: format!(
                        "{} {why} at {} on {date} ({})",
                        provider.id, location.id, location.time_zone
                    ),
                    details: vec![detail(code::TIME_TAKEN, "startTime", &why)],
                    retry_after: None,
                })
            }
        }
    }
}

/// Names which rule an appointment outside the working spans breaks.
fn outside_why(
    availability: &Availability<'_>,
    date: NaiveDate,
    wanted: &TimeSpan,
    zone: Tz,
) -> String {
    let start = wanted.start.with_timezone(&zone);
    let end = wanted.end.with_timezone(&zone);
    if end.date_naive() != date && end.time() != NaiveTime::MIN {
        return "does not take appointments across midnight".into();
    }
    let (from, to) = (start.time(), end.time());
    for exception in availability.exceptions {
        if let Exception::TimeOff { date: d, part } = exception {
            if *d == date {
                match part {
                    None => return "is off that day (schedule exception)".into(),
                    Some((a, b)) if from < *b && *a < to => {
                        return format!(
                            "is off from {} to {} (schedule exception)",
                            a.format("%H:%M"),
                            b.format("%H:%M")
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }
    for (a, b) in availability.breaks {
        if from < *b && *a < to {
            return format!(
                "has a break from {} to {}",
                a.format("%H:%M"),
                b.format("%H:%M")
            );
        }
    }
    "is not working then (outside the provider's hours)".into()
}

fn zone_of(location: &Location) -> Result<Tz, ApiError> {
    location.time_zone.parse().map_err(|_| {
        ApiError::internal(format!("location {} has an unknown time zone", location.id))
    })
}

fn unprocessable(code: &str, field: &str, message: String) -> ApiError {
    ApiError::Unprocessable {
        details: vec![detail(code, field, &message)],
        message,
    }
}

/// Checks times and free text shared by a new appointment and a change.
fn check_fields(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: Option<&str>,
    notes: Option<&str>,
) -> Vec<ErrorDetail> {
    let mut problems = Vec::new();
    if end <= start {
        problems.push(detail(
            code::END_BEFORE_START,
            "endTime",
            "must be after startTime",
        ));
    } else if end - start > Duration::minutes(MAX_MINUTES) {
        problems.push(detail(
            code::RANGE_TOO_LONG,
            "endTime",
            "must be at most 8 hours after startTime",
        ));
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        problems.push(detail(
            code::TOO_LONG,
            "reason",
            "must be at most 500 characters",
        ));
    }
    if notes.is_some_and(|n| n.chars().count() > MAX_NOTES) {
        problems.push(detail(
            code::TOO_LONG,
            "notes",
            "must be at most 2000 characters",
        ));
    }
    problems
}

fn text(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `POST /api/v1/appointments`: 201 with `Location`.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "Appointments", summary = "Create appointment",
    description = "Books an appointment. It must lie inside the provider's hours at the location (wall-clock time in the location's zone), outside breaks and time off, and overlap none of the provider's non-cancelled appointments (409 `conflict`, naming the clash). A missing patient, provider or location, an unknown type, or an inactive or deceased patient is 422.",
    params(("Idempotency-Key" = Option<String>, Header, description = "Extension: a retry with the same key replays the first response")),
    request_body(content = NewAppointment, content_type = "application/json"),
    responses(
        (status = 201, description = "Newly created appointment object; `Location` names it", body = Appointment),
        (status = 409, description = "The time clashes with another appointment, the provider's hours, a break or time off", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "A reference is missing, the type is unknown or the patient is not active", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn create(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    ApiJson(body, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteAppointments)?;
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("POST", "/api/v1/appointments"),
        &bytes,
        async |claim| {
            let appointment = {
                reject_fields(&body, &READ_ONLY)?;
                let input: NewAppointment = parse_json(&bytes)?;
                let reason = text(input.reason);
                let notes = text(input.notes);
                let problems = check_fields(
                    input.start_time,
                    input.end_time,
                    reason.as_deref(),
                    notes.as_deref(),
                );
                if !problems.is_empty() {
                    return Err(ApiError::invalid(problems));
                }
                let patient = app
                    .storage
                    .patient(input.patient_id.as_str())
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| {
                        unprocessable(
                            code::UNKNOWN_REFERENCE,
                            "patientId",
                            format!("no patient {}", input.patient_id),
                        )
                    })?;
                if patient.status != PatientStatus::Active {
                    let status = match patient.status {
                        PatientStatus::Deceased => "deceased",
                        _ => "inactive",
                    };
                    return Err(unprocessable(
                        code::PATIENT_NOT_ACTIVE,
                        "patientId",
                        format!("patient {} is {status}", patient.id),
                    ));
                }
                let clinic = Clinic::load(&app).await?;
                let provider = clinic.provider(input.provider_id.as_str())?;
                let location = clinic.location_for(provider, input.location_id.as_str())?;
                let kind = clinic.check_type(&input.kind)?;
                let now = app.clock.now();
                let id = AppointmentId("APPT-new".into());
                let draft = Appointment {
                    links: AppointmentLinks::new(&id, &input.patient_id, &input.provider_id),
                    id,
                    patient_id: input.patient_id,
                    provider_id: input.provider_id,
                    start_time: input.start_time,
                    end_time: input.end_time,
                    kind,
                    status: AppointmentStatus::Scheduled,
                    reason,
                    notes,
                    location: embedded(location),
                    checked_in_at: None,
                    roomed_at: None,
                    completed_at: None,
                    cancelled_at: None,
                    cancel_reason: None,
                    no_show_at: None,
                    version: 1,
                    created: now,
                    updated: now,
                };
                let guard = |a: &Appointment, booked: &[TimeSpan]| clinic.check_clash(a, booked);
                match app
                    .storage
                    .create_appointment(&draft, &guard, claim)
                    .await
                    .map_err(ApiError::internal)?
                {
                    AppointmentOutcome::Saved(appointment) => Ok(*appointment),
                    AppointmentOutcome::Refused(error) => Err(error),
                    AppointmentOutcome::NotFound | AppointmentOutcome::VersionMismatch { .. } => {
                        Err(ApiError::internal(
                            "a new appointment came back as missing or changed",
                        ))
                    }
                }
            }?;
            Ok(respond(StatusCode::CREATED, appointment))
        },
    )
    .await
}

fn embedded(location: &Location) -> AppointmentLocation {
    AppointmentLocation {
        id: location.id.clone(),
        name: location.name.clone(),
        address: location.address.clone(),
    }
}

/// Fields a client can never set.
const READ_ONLY: [&str; 6] = ["id", "status", "version", "created", "updated", "_links"];
/// Fields a change may carry.
const WRITABLE: [&str; 14] = [
    "status",
    "startTime",
    "endTime",
    "providerId",
    "locationId",
    "type",
    "reason",
    "notes",
    "cancelReason",
    "checkedInAt",
    "roomedAt",
    "completedAt",
    "cancelledAt",
    "noShowAt",
];
/// Fields a change may clear with `null`.
const CLEARABLE: [&str; 2] = ["reason", "notes"];

fn reject_fields(body: &Value, fields: &[&str]) -> Result<(), ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid_field(
            code::INVALID_TYPE,
            "body",
            "must be a JSON object",
        ));
    };
    let problems: Vec<ErrorDetail> = fields
        .iter()
        .filter(|field| object.contains_key(**field))
        .map(|field| {
            detail(
                code::READ_ONLY,
                field,
                if *field == "status" {
                    "is set by the server on create (scheduled); change it with PUT"
                } else {
                    "is read-only"
                },
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems))
    }
}

/// Parses a merge patch into the typed change, listing every problem at once.
fn parse_patch(
    patch: &Map<String, Value>,
) -> Result<(AppointmentPatch, Vec<&'static str>), ApiError> {
    let mut problems = Vec::new();
    let mut cleared = Vec::new();
    for (key, value) in patch {
        match WRITABLE.iter().find(|w| **w == key) {
            None if [
                "id",
                "patientId",
                "version",
                "created",
                "updated",
                "_links",
                "location",
            ]
            .contains(&key.as_str()) =>
            {
                problems.push(detail(code::READ_ONLY, key, "is read-only"))
            }
            None => problems.push(detail(
                code::UNKNOWN_FIELD,
                key,
                "is not a field of an appointment",
            )),
            Some(field) if value.is_null() => {
                if CLEARABLE.contains(field) {
                    cleared.push(*field);
                } else {
                    problems.push(detail(code::CANNOT_BE_CLEARED, field, "cannot be cleared"));
                }
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let without_nulls: Map<String, Value> = patch
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let typed: AppointmentPatch = parse_json(Value::Object(without_nulls).to_string().as_bytes())?;
    Ok((typed, cleared))
}

fn transition_error(error: TransitionError, to: AppointmentStatus) -> ApiError {
    match error {
        TransitionError::NotAllowed { from, to } => ApiError::Unprocessable {
            message: format!("an appointment cannot go from {from} to {to}"),
            details: vec![detail(
                code::TRANSITION_NOT_ALLOWED,
                "status",
                &format!("{from} → {to} is not allowed"),
            )],
        },
        TransitionError::CancelReasonMissing => unprocessable(
            code::REQUIRED,
            "cancelReason",
            "a cancellation needs a reason".into(),
        ),
        TransitionError::StampOutOfRange => unprocessable(
            code::DATE_IN_FUTURE,
            stamp_field(to).unwrap_or("status"),
            "must be within the last 24 hours and not in the future".into(),
        ),
    }
}

/// The stamp a patch carries for a move into `to`.
fn stamp_in(patch: &AppointmentPatch, to: AppointmentStatus) -> Option<DateTime<Utc>> {
    match to {
        AppointmentStatus::Scheduled => None,
        AppointmentStatus::CheckedIn => patch.checked_in_at,
        AppointmentStatus::InRoom => patch.roomed_at,
        AppointmentStatus::Completed => patch.completed_at,
        AppointmentStatus::Cancelled => patch.cancelled_at,
        AppointmentStatus::NoShow => patch.no_show_at,
    }
}

/// Applies a change to the current appointment: status rules, stamps, moves, text.
fn apply(
    current: &Appointment,
    patch: &AppointmentPatch,
    cleared: &[&str],
    clinic: &Clinic,
    now: DateTime<Utc>,
) -> Result<Appointment, ApiError> {
    let mut next = current.clone();
    let to = patch.status.unwrap_or(current.status);
    // Stamps belong to the move they record.
    let stamps = [
        (AppointmentStatus::CheckedIn, patch.checked_in_at),
        (AppointmentStatus::InRoom, patch.roomed_at),
        (AppointmentStatus::Completed, patch.completed_at),
        (AppointmentStatus::Cancelled, patch.cancelled_at),
        (AppointmentStatus::NoShow, patch.no_show_at),
    ];
    let mut problems = Vec::new();
    for (status, stamp) in stamps {
        if stamp.is_some() && (to != status || current.status == status) {
            if let Some(field) = stamp_field(status) {
                problems.push(detail(
                    code::INVALID_VALUE,
                    field,
                    &format!("can only be sent with a change of status to {status}"),
                ));
            }
        }
    }
    if patch.cancel_reason.is_some() && to != AppointmentStatus::Cancelled {
        problems.push(detail(
            code::INVALID_VALUE,
            "cancelReason",
            "can only be sent with status cancelled",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::Unprocessable {
            message: "the change carries fields that do not belong to it".into(),
            details: problems,
        });
    }
    if to != current.status {
        let reason = patch
            .cancel_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let at = check_transition(current.status, to, reason, stamp_in(patch, to), now)
            .map_err(|e| transition_error(e, to))?;
        use AppointmentStatus::*;
        match (current.status, to) {
            (CheckedIn, Scheduled) => next.checked_in_at = None,
            (Cancelled, Scheduled) => {
                next.cancelled_at = None;
                next.cancel_reason = None;
            }
            (NoShow, CheckedIn) => {
                next.no_show_at = None;
                next.checked_in_at = Some(at);
            }
            (_, CheckedIn) => next.checked_in_at = Some(at),
            (_, InRoom) => next.roomed_at = Some(at),
            (_, Completed) => next.completed_at = Some(at),
            (_, Cancelled) => {
                next.cancelled_at = Some(at);
                next.cancel_reason = reason.map(str::to_owned);
            }
            (_, NoShow) => next.no_show_at = Some(at),
            (_, Scheduled) => {}
        }
        next.status = to;
    } else if let Some(reason) = patch.cancel_reason.as_deref() {
        // Correcting the reason of a cancelled appointment.
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(unprocessable(
                code::REQUIRED,
                "cancelReason",
                "a cancellation needs a reason".into(),
            ));
        }
        next.cancel_reason = Some(reason.to_owned());
    }
    let moves = patch.start_time.is_some()
        || patch.end_time.is_some()
        || patch.provider_id.is_some()
        || patch.location_id.is_some();
    if moves {
        if next.status != AppointmentStatus::Scheduled {
            return Err(unprocessable(
                code::TRANSITION_NOT_ALLOWED,
                "startTime",
                format!(
                    "only a scheduled appointment can be moved; this one is {}",
                    next.status
                ),
            ));
        }
        let length = current.end_time - current.start_time;
        if let Some(start) = patch.start_time {
            next.start_time = start;
            // A new start alone keeps the appointment's length.
            next.end_time = patch.end_time.unwrap_or(start + length);
        } else if let Some(end) = patch.end_time {
            next.end_time = end;
        }
        if let Some(provider) = &patch.provider_id {
            next.provider_id = provider.clone();
        }
        let provider = clinic.provider(next.provider_id.as_str())?;
        let location_id: LocationId = patch
            .location_id
            .clone()
            .unwrap_or_else(|| current.location.id.clone());
        next.location = embedded(clinic.location_for(provider, location_id.as_str())?);
    }
    if let Some(kind) = &patch.kind {
        next.kind = clinic.check_type(kind)?;
    }
    if let Some(reason) = &patch.reason {
        next.reason = text(Some(reason.clone()));
    }
    if let Some(notes) = &patch.notes {
        next.notes = text(Some(notes.clone()));
    }
    for field in cleared {
        match *field {
            "reason" => next.reason = None,
            "notes" => next.notes = None,
            _ => {}
        }
    }
    let problems = check_fields(
        next.start_time,
        next.end_time,
        next.reason.as_deref(),
        next.notes.as_deref(),
    );
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(next)
}

/// `PUT /api/v1/appointments/{id}` (extension): reschedule and change status.
#[utoipa::path(put, path = "/api/v1/appointments/{appointment_id}", tag = "Appointments", summary = "Change an appointment",
    description = "JSON Merge Patch (RFC 7396) of the appointment: move it (`startTime`, `endTime`, `providerId`, `locationId`; a new `startTime` alone keeps its length), change `type`, `reason`, `notes` (null clears), or its `status`. Allowed moves: scheduled → checked_in → in_room → completed; scheduled | checked_in → cancelled (with `cancelReason`); scheduled → no_show; and the undo moves checked_in → scheduled, no_show → checked_in, cancelled → scheduled (while the time is still free). Anything else is 422 naming the move. Each change is stamped (`checkedInAt`, `roomedAt`, `completedAt`, `cancelledAt`, `noShowAt`); a client may send the stamp itself within the last 24 hours (not in the future). Only a scheduled appointment can be moved; moving into a clash is 409.",
    params(
        ("appointment_id" = String, Path, description = "Appointment ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the appointment changed since"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key replays the first response"),
    ),
    request_body(content = AppointmentPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed appointment", body = Appointment),
        (status = 409, description = "A clash, or the version changed", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "A move the status flow does not allow, a missing reason, a stamp out of range", body = practice_studio::model::ErrorEnvelope),
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
    let path = format!("/api/v1/appointments/{id}");
    // The key is checked before If-Match: a retried PUT replays its first answer rather than
    // conflicting with the version its own first try created.
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("PUT", &path),
        &bytes,
        async |claim| {
            let appointment = {
                let expected = if_match(&headers, "appointment")?;
                let Value::Object(patch) = body else {
                    return Err(ApiError::invalid_field(
                        code::INVALID_TYPE,
                        "body",
                        "must be a JSON object",
                    ));
                };
                let (patch, cleared) = parse_patch(&patch)?;
                let clinic = Clinic::load(&app).await?;
                let now = app.clock.now();
                let change = |current: &Appointment| apply(current, &patch, &cleared, &clinic, now);
                let guard = |a: &Appointment, booked: &[TimeSpan]| clinic.check_clash(a, booked);
                match app
                    .storage
                    .update_appointment(&id, expected, &change, &guard, now, claim)
                    .await
                    .map_err(ApiError::internal)?
                {
                    AppointmentOutcome::Saved(appointment) => Ok(*appointment),
                    AppointmentOutcome::Refused(error) => Err(error),
                    AppointmentOutcome::NotFound => {
                        Err(ApiError::NotFound(format!("no appointment {id}")))
                    }
                    AppointmentOutcome::VersionMismatch { current } => Err(ApiError::Conflict {
                        message: format!(
                            "the appointment changed since version {}; it is now version {current}",
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
            Ok(respond(StatusCode::OK, appointment))
        },
    )
    .await
}
