//! Locations, providers, the appointment-type catalogue and free slots.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    AppointmentTypeList, ErrorDetail, ExceptionKind, Location, LocationId, LocationList,
    LocationRef, Provider, ProviderList, Slot, SlotList,
};
use practice_studio::rules::slots::{
    free_slots, local_instant, parse_hhmm, provider_at, Availability,
};

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{parse_json, ApiJson};
use crate::params::{detail, if_match, paging};
use crate::storage::ClinicUpdate;
use serde_json::Value;

/// Longest span one slot request may cover.
const MAX_SLOT_DAYS: i64 = 62;
/// Slots start on this grid (or on the appointment's own length, when shorter).
const SLOT_GRID_MINUTES: i64 = 15;
/// What "available" means in the provider list: a free slot of this length within a week.
const AVAILABLE_MINUTES: i64 = 30;

fn page<T: Clone>(items: &[T], limit: u32, offset: u64) -> Vec<T> {
    items
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .cloned()
        .collect()
}

fn with_etag(value: impl serde::Serialize, version: i64) -> Response {
    let mut response = Json(value).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// `GET /api/v1/locations` (extension).
#[utoipa::path(get, path = "/api/v1/locations", tag = "Clinic", summary = "List locations",
    params(
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "Locations with their time zones", body = LocationList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn list_locations(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<LocationList>, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut problems = Vec::new();
    let (limit, offset) = paging(|name| params.get(name).map(String::as_str), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let all = app.storage.locations().await.map_err(ApiError::internal)?;
    Ok(Json(LocationList {
        total: all.len() as u64,
        limit,
        offset,
        locations: page(&all, limit, offset),
    }))
}

/// `GET /api/v1/locations/{id}` (extension).
#[utoipa::path(get, path = "/api/v1/locations/{location_id}", tag = "Clinic", summary = "Get a location",
    params(("location_id" = String, Path, description = "Location ID")),
    responses((status = 200, description = "The location", body = Location)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn get_location(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let location = find_location(&app, &id).await?;
    let version = location.version;
    Ok(with_etag(location, version))
}

async fn find_location(app: &AppState, id: &str) -> Result<Location, ApiError> {
    app.storage
        .locations()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .find(|l| l.id.as_str() == id)
        .ok_or_else(|| ApiError::NotFound(format!("no location {id}")))
}

async fn find_provider(app: &AppState, id: &str) -> Result<Provider, ApiError> {
    app.storage
        .providers()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .find(|p| p.id.as_str() == id)
        .ok_or_else(|| ApiError::NotFound(format!("no provider {id}")))
}

/// `GET /api/v1/appointment-types` (extension).
#[utoipa::path(get, path = "/api/v1/appointment-types", tag = "Clinic", summary = "The appointment-type catalogue",
    responses((status = 200, description = "Names, default durations and colours", body = AppointmentTypeList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn appointment_types(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<AppointmentTypeList>, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let all = app
        .storage
        .appointment_types()
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(AppointmentTypeList {
        total: all.len() as u64,
        appointment_types: all,
    }))
}

/// Free slots of one provider at one location between two dates (inclusive) that start after
/// `now`, clear of the provider's bookings (at any location).
async fn slots_for(
    app: &AppState,
    provider: &Provider,
    location: &Location,
    (from, to): (NaiveDate, NaiveDate),
    minutes: i64,
) -> Result<Vec<Slot>, ApiError> {
    let zone: Tz = location.time_zone.parse().map_err(|_| {
        ApiError::internal(format!("location {} has an unknown time zone", location.id))
    })?;
    let (sessions, breaks, exceptions) = provider_at(provider, &location.id);
    // A local day lies within a day of its UTC date on either side.
    let window_start = local_instant(zone, from, NaiveTime::MIN) - Duration::days(1);
    let window_end = local_instant(zone, to, NaiveTime::MIN) + Duration::days(2);
    let booked = app
        .storage
        .provider_bookings(provider.id.as_str(), window_start, window_end)
        .await
        .map_err(ApiError::internal)?;
    let availability = Availability {
        zone,
        sessions: &sessions,
        breaks: &breaks,
        exceptions: &exceptions,
        booked: &booked,
    };
    let now = app.clock.now();
    let step = Duration::minutes(SLOT_GRID_MINUTES.min(minutes));
    Ok(
        free_slots(&availability, from, to, Duration::minutes(minutes), step)
            .into_iter()
            .filter(|span| span.start >= now)
            .map(|span| Slot {
                start_time: span.start,
                end_time: span.end,
                provider_id: provider.id.clone(),
                location_id: location.id.clone(),
            })
            .collect(),
    )
}

/// The providers list's filters (`specialty`, `location_id`, `available`), shared by v1 and v2.
pub(crate) struct ProviderFilter {
    specialty: Option<String>,
    location_id: Option<String>,
    available: Option<bool>,
}

impl ProviderFilter {
    /// Reads the filters, adding a problem for each bad one.
    pub(crate) fn parse(
        params: &HashMap<String, String>,
        problems: &mut Vec<practice_studio::model::ErrorDetail>,
    ) -> Self {
        let available = match params.get("available").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                problems.push(detail(
                    code::INVALID_TYPE,
                    "available",
                    "must be true or false",
                ));
                None
            }
        };
        Self {
            specialty: params.get("specialty").map(|s| s.trim().to_owned()),
            location_id: params.get("location_id").cloned(),
            available,
        }
    }

    /// Whether `provider` passes every filter given.
    pub(crate) async fn keeps(
        &self,
        app: &AppState,
        locations: &[Location],
        provider: &Provider,
    ) -> Result<bool, ApiError> {
        if let Some(specialty) = &self.specialty {
            if !provider.specialty.eq_ignore_ascii_case(specialty) {
                return Ok(false);
            }
        }
        if let Some(location_id) = &self.location_id {
            if !provider
                .locations
                .iter()
                .any(|l| l.id.as_str() == location_id)
            {
                return Ok(false);
            }
        }
        let Some(wanted) = self.available else {
            return Ok(true);
        };
        let today = app.clock.today();
        let week_end = today + Duration::days(6);
        let mut free = false;
        if provider.active {
            for location in locations
                .iter()
                .filter(|l| provider.locations.iter().any(|r| r.id == l.id))
            {
                if !slots_for(
                    app,
                    provider,
                    location,
                    (today, week_end),
                    AVAILABLE_MINUTES,
                )
                .await?
                .is_empty()
                {
                    free = true;
                    break;
                }
            }
        }
        Ok(free == wanted)
    }
}

/// `GET /api/v1/providers`.
#[utoipa::path(get, path = "/api/v1/providers", tag = "Clinic", summary = "Get providers",
    params(
        ("specialty" = Option<String>, Query, description = "Filter by specialty"),
        ("location_id" = Option<String>, Query, description = "Filter by location"),
        ("available" = Option<bool>, Query, description = "Filter by availability: a free 30-minute slot in the next 7 days"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "Providers", body = ProviderList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn list_providers(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<ProviderList>, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut problems = Vec::new();
    let (limit, offset) = paging(|name| params.get(name).map(String::as_str), &mut problems);
    let filter = ProviderFilter::parse(&params, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let locations = app.storage.locations().await.map_err(ApiError::internal)?;
    let mut matching = Vec::new();
    for provider in app.storage.providers().await.map_err(ApiError::internal)? {
        if !filter.keeps(&app, &locations, &provider).await? {
            continue;
        }
        matching.push(provider);
    }
    Ok(Json(ProviderList {
        total: matching.len() as u64,
        limit,
        offset,
        providers: page(&matching, limit, offset),
    }))
}

/// `GET /api/v1/providers/{id}`.
#[utoipa::path(get, path = "/api/v1/providers/{provider_id}", tag = "Clinic", summary = "Get a provider",
    params(("provider_id" = String, Path, description = "Provider ID")),
    responses((status = 200, description = "The provider with hours, breaks and exceptions", body = Provider)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn get_provider(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let provider = find_provider(&app, &id).await?;
    let version = provider.version;
    Ok(with_etag(provider, version))
}

/// `GET /api/v1/providers/{id}/slots` (extension).
#[utoipa::path(get, path = "/api/v1/providers/{provider_id}/slots", tag = "Clinic", summary = "Free slots",
    description = "Free slots computed by the shared rules from the provider's hours at the location (in its time zone), breaks, exceptions and bookings. Slots start on a 15-minute grid; slots that start before now are not offered.",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("date_from" = NaiveDate, Query, description = "First day (YYYY-MM-DD, the location's calendar)"),
        ("date_to" = NaiveDate, Query, description = "Last day, inclusive; at most 62 days after date_from"),
        ("duration" = Option<u32>, Query, description = "Minutes (default 30)", minimum = 5, maximum = 480),
        ("location_id" = Option<String>, Query, description = "Location (default: the provider's first)"),
    ),
    responses(
        (status = 200, description = "Free slots", body = SlotList),
        (status = 422, description = "The provider does not work at that location (or at any)", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub async fn slots(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<SlotList>, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut problems = Vec::new();
    let mut date = |name: &str| match params.get(name).map(|v| v.parse::<NaiveDate>()) {
        Some(Ok(date)) => Some(date),
        Some(Err(_)) => {
            problems.push(detail(
                code::INVALID_DATE,
                name,
                "must be a date (YYYY-MM-DD)",
            ));
            None
        }
        None => {
            problems.push(detail(code::REQUIRED, name, "is required"));
            None
        }
    };
    let (from, to) = (date("date_from"), date("date_to"));
    let minutes = match params.get("duration") {
        None => 30,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (5..=480).contains(&n) => n,
            _ => {
                problems.push(detail(
                    code::OUT_OF_RANGE,
                    "duration",
                    "must be a whole number of minutes from 5 to 480",
                ));
                30
            }
        },
    };
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            problems.push(detail(
                code::END_BEFORE_START,
                "date_to",
                "must not be before date_from",
            ));
        } else if (to - from).num_days() > MAX_SLOT_DAYS {
            problems.push(detail(
                code::RANGE_TOO_LONG,
                "date_to",
                "must be at most 62 days after date_from",
            ));
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid(problems));
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let provider = find_provider(&app, &id).await?;
    let location_id = match params.get("location_id") {
        Some(l) => LocationId(l.clone()),
        None => provider
            .locations
            .first()
            .map(|l| l.id.clone())
            .ok_or_else(|| ApiError::Unprocessable {
                message: format!("provider {id} works at no location"),
                details: vec![detail(
                    code::INVALID_VALUE,
                    "location_id",
                    "the provider has no location",
                )],
            })?,
    };
    if !provider.locations.iter().any(|l| l.id == location_id) {
        return Err(ApiError::Unprocessable {
            message: format!("provider {id} does not work at {location_id}"),
            details: vec![detail(
                code::NOT_ONE_OF,
                "location_id",
                "is not one of the provider's locations",
            )],
        });
    }
    let location = find_location(&app, location_id.as_str()).await?;
    let slots = if provider.active {
        slots_for(&app, &provider, &location, (from, to), minutes).await?
    } else {
        Vec::new()
    };
    Ok(Json(SlotList {
        provider_id: provider.id,
        duration: minutes as u32,
        total: slots.len() as u64,
        slots,
    }))
}

/// Provider fields an administrator may change; lists are replaced whole.
const PROVIDER_WRITABLE: [&str; 7] = [
    "active",
    "phone",
    "email",
    "specialty",
    "credentials",
    "locationSchedules",
    "scheduleExceptions",
];
const LOCATION_WRITABLE: [&str; 4] = ["name", "phone", "address", "timeZone"];

/// Applies a merge patch of `writable` top-level fields to `current`, listing every problem.
fn patch_fields<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: Value,
    writable: &[&str],
) -> Result<T, ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::invalid_field(
            code::INVALID_TYPE,
            "body",
            "must be a JSON object",
        ));
    };
    let mut problems = Vec::new();
    for (key, value) in &patch {
        if !writable.contains(&key.as_str()) {
            problems.push(detail(code::READ_ONLY, key, "cannot be changed here"));
        } else if value.is_null() {
            problems.push(detail(code::CANNOT_BE_CLEARED, key, "cannot be cleared"));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let mut value = serde_json::to_value(current).map_err(ApiError::internal)?;
    for (key, field) in patch {
        value[key] = field;
    }
    parse_json(value.to_string().as_bytes())
}

fn check_hours(field: &str, start: &str, end: &str, problems: &mut Vec<ErrorDetail>) {
    match (parse_hhmm(start), parse_hhmm(end)) {
        (Some(s), Some(e)) if s < e => {}
        (Some(_), Some(_)) => problems.push(detail(
            code::END_BEFORE_START,
            field,
            "must end after it starts",
        )),
        _ => problems.push(detail(code::INVALID_TIME, field, "times must be HH:MM")),
    }
}

/// `PUT /api/v1/providers/{id}` (extension): hours, breaks, time off, locations, status.
#[utoipa::path(put, path = "/api/v1/providers/{provider_id}", tag = "Clinic", summary = "Change a provider",
    description = "JSON Merge Patch of `active`, `phone`, `email`, `specialty`, `credentials`, `locationSchedules` and `scheduleExceptions` (lists replaced whole). The provider's `locations` and the reference's `schedule` follow from `locationSchedules`. A change of hours, breaks or exceptions makes a `schedule.updated` event, anything else `provider.updated`. Existing appointments are kept.",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the provider changed since"),
    ),
    request_body(content = Provider, content_type = "application/json", description = "Any subset of the writable fields"),
    responses((status = 200, description = "The changed provider", body = Provider)),
    security(("bearer" = ["admin:clinic"])))]
pub async fn update_provider(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch, _): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AdminClinic)?;
    let expected = if_match(&headers, "provider")?;
    let current = find_provider(&app, &id).await?;
    let mut next: Provider = patch_fields(&current, patch, &PROVIDER_WRITABLE)?;
    let locations = app.storage.locations().await.map_err(ApiError::internal)?;
    let mut problems = Vec::new();
    let mut refs = Vec::new();
    for (n, at) in next.location_schedules.iter().enumerate() {
        let field = format!("locationSchedules[{n}]");
        match locations.iter().find(|l| l.id == at.location_id) {
            Some(location) => refs.push(LocationRef {
                id: location.id.clone(),
                name: location.name.clone(),
            }),
            None => problems.push(detail(
                code::UNKNOWN_REFERENCE,
                &field,
                &format!("no location {}", at.location_id),
            )),
        }
        let hours = &at.hours;
        for day in [
            &hours.monday,
            &hours.tuesday,
            &hours.wednesday,
            &hours.thursday,
            &hours.friday,
            &hours.saturday,
            &hours.sunday,
        ]
        .into_iter()
        .flatten()
        {
            check_hours(
                &format!("{field}.hours"),
                &day.start,
                &day.end,
                &mut problems,
            );
        }
        for pause in &at.breaks {
            check_hours(
                &format!("{field}.breaks"),
                &pause.start,
                &pause.end,
                &mut problems,
            );
        }
    }
    for (n, exception) in next.schedule_exceptions.iter().enumerate() {
        let field = format!("scheduleExceptions[{n}]");
        match (exception.start.as_deref(), exception.end.as_deref()) {
            (Some(start), Some(end)) => check_hours(&field, start, end, &mut problems),
            (None, None) if exception.kind == ExceptionKind::TimeOff => {}
            _ => problems.push(detail(
                code::REQUIRED,
                &field,
                "an extra session needs start and end; time off has both or neither",
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    next.locations = refs;
    next.schedule = next
        .location_schedules
        .first()
        .map(|s| s.hours.clone())
        .unwrap_or_default();
    next.version = current.version + 1;
    let event = if next.location_schedules != current.location_schedules
        || next.schedule_exceptions != current.schedule_exceptions
    {
        "schedule.updated"
    } else {
        "provider.updated"
    };
    match app
        .storage
        .update_provider(&next, expected, event, app.clock.now())
        .await
        .map_err(ApiError::internal)?
    {
        ClinicUpdate::Updated => {
            let version = next.version;
            Ok(with_etag(next, version))
        }
        ClinicUpdate::NotFound => Err(ApiError::NotFound(format!("no provider {id}"))),
        ClinicUpdate::VersionMismatch { current } => Err(version_conflict("provider", current)),
    }
}

fn version_conflict(what: &str, current: i64) -> ApiError {
    ApiError::Conflict {
        message: format!("the {what} changed; it is now version {current}"),
        details: vec![detail(
            code::VERSION_MISMATCH,
            "If-Match",
            "does not match the current version",
        )],
        retry_after: None,
    }
}

/// `PUT /api/v1/locations/{id}` (extension): name, phone, address, time zone.
#[utoipa::path(put, path = "/api/v1/locations/{location_id}", tag = "Clinic", summary = "Change a location",
    description = "JSON Merge Patch of `name`, `phone`, `address` (replaced whole) and `timeZone` (IANA). Makes a `location.updated` event.",
    params(
        ("location_id" = String, Path, description = "Location ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the location changed since"),
    ),
    request_body(content = Location, content_type = "application/json", description = "Any subset of the writable fields"),
    responses((status = 200, description = "The changed location", body = Location)),
    security(("bearer" = ["admin:clinic"])))]
pub async fn update_location(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch, _): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AdminClinic)?;
    let expected = if_match(&headers, "location")?;
    let current = find_location(&app, &id).await?;
    let mut next: Location = patch_fields(&current, patch, &LOCATION_WRITABLE)?;
    if next.time_zone.parse::<Tz>().is_err() {
        return Err(ApiError::invalid_field(
            code::INVALID_TIME_ZONE,
            "timeZone",
            "must be an IANA time zone, e.g. America/Chicago",
        ));
    }
    if next.name.trim().is_empty() {
        return Err(ApiError::invalid_field(
            code::REQUIRED,
            "name",
            "must not be empty",
        ));
    }
    next.version = current.version + 1;
    match app
        .storage
        .update_location(&next, expected, app.clock.now())
        .await
        .map_err(ApiError::internal)?
    {
        ClinicUpdate::Updated => {
            let version = next.version;
            Ok(with_etag(next, version))
        }
        ClinicUpdate::NotFound => Err(ApiError::NotFound(format!("no location {id}"))),
        ClinicUpdate::VersionMismatch { current } => Err(version_conflict("location", current)),
    }
}
