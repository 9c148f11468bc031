//! v2 cursor lists of the clinic's small tables: providers, locations and the appointment-type
//! catalogue in the order they were added (their `position`, which only grows), with v1's filters
//! and `updated_since` where the resource has a change time; and a provider's free slots, which
//! are computed rather than stored, paged by the start instant of the last slot sent.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use practice_studio::model::{AppointmentType, Location, Provider, ProviderId, Slot};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::clinic::ProviderFilter;
use crate::error::ApiError;
use crate::storage::ClinicList;

use super::{cursor_body, encode_cursor, ListParams};

/// `GET /api/v2/providers`.
#[derive(Serialize, ToSchema)]
pub struct ProviderCursorList {
    providers: Vec<Provider>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/locations`.
#[derive(Serialize, ToSchema)]
pub struct LocationCursorList {
    locations: Vec<Location>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/providers`.
#[utoipa::path(get, path = "/api/v2/providers", tag = "v2 beta", summary = "Providers by cursor",
    description = "Providers in the order they were added, after `cursor`, with v1's filters.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("specialty" = Option<String>, Query, description = "Filter by specialty"),
        ("location_id" = Option<String>, Query, description = "Filter by location"),
        ("available" = Option<bool>, Query, description = "Filter by availability: a free 30-minute slot in the next 7 days"),
        ("updated_since" = Option<String>, Query, description = "Changed (PUT) at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of providers", body = ProviderCursorList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn providers(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut p = ListParams::new(&params);
    let page = p.page("providers");
    let mut problems = Vec::new();
    let filter = ProviderFilter::parse(&params, &mut problems);
    p.problems.append(&mut problems);
    p.finish()?;
    let locations = app.storage.locations().await.map_err(ApiError::internal)?;
    let rows = app
        .storage
        .v2_clinic(ClinicList::Providers, page.after_seq, page.updated_since)
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::new();
    for (position, body) in rows {
        let provider: Provider = serde_json::from_str(&body).map_err(ApiError::internal)?;
        if filter.keeps(&app, &locations, &provider).await? {
            items.push((position, body));
            if items.len() > page.limit as usize {
                break;
            }
        }
    }
    Ok(cursor_body("providers", &page, items))
}

/// `GET /api/v2/locations`.
#[utoipa::path(get, path = "/api/v2/locations", tag = "v2 beta", summary = "Locations by cursor",
    description = "Locations in the order they were added, after `cursor`.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("updated_since" = Option<String>, Query, description = "Changed (PUT) at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of locations", body = LocationCursorList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn locations(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut p = ListParams::new(&params);
    let page = p.page("locations");
    p.finish()?;
    let mut rows = app
        .storage
        .v2_clinic(ClinicList::Locations, page.after_seq, page.updated_since)
        .await
        .map_err(ApiError::internal)?;
    rows.truncate(page.limit as usize + 1);
    Ok(cursor_body("locations", &page, rows))
}

/// `GET /api/v2/appointment-types`.
#[derive(Serialize, ToSchema)]
pub struct AppointmentTypeCursorList {
    #[serde(rename = "appointmentTypes")]
    appointment_types: Vec<AppointmentType>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/providers/{provider_id}/slots`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotCursorList {
    provider_id: ProviderId,
    /// Minutes.
    duration: u32,
    slots: Vec<Slot>,
    /// The start instant of the last slot sent (opaque): the next page has the slots that start
    /// after it.
    #[serde(rename = "next_cursor")]
    next_cursor: String,
    #[serde(rename = "has_more")]
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/appointment-types`.
#[utoipa::path(get, path = "/api/v2/appointment-types", tag = "v2 beta", summary = "The appointment-type catalogue by cursor",
    description = "The catalogue in the order its types were added, after `cursor`. The catalogue has no change time (no route changes it), so this list takes no `updated_since`.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "A page of appointment types", body = AppointmentTypeCursorList)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn appointment_types(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut p = ListParams::new(&params);
    let page = p.page("appointmentTypes");
    p.no_change_time("appointment types have no change time");
    p.finish()?;
    let mut rows = app
        .storage
        .v2_clinic(ClinicList::AppointmentTypes, page.after_seq, None)
        .await
        .map_err(ApiError::internal)?;
    rows.truncate(page.limit as usize + 1);
    Ok(cursor_body("appointmentTypes", &page, rows))
}

/// `GET /api/v2/providers/{provider_id}/slots`.
#[utoipa::path(get, path = "/api/v2/providers/{provider_id}/slots", tag = "v2 beta", summary = "Free slots by cursor",
    description = "As GET /api/v1/providers/{provider_id}/slots (the same parameters, checks and slots), a page at a time in start order. Slots are computed when asked, not stored, so the cursor is the start instant of the last slot sent: the next page has the free slots that start after it, as they are when it is read. Paging while others book therefore never repeats a slot nor skips one still free; a slot taken meanwhile is simply not offered, and one freed (a cancellation) is offered when it starts after the cursor. Slots have no change time, so this list takes no `updated_since`.",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("date_from" = chrono::NaiveDate, Query, description = "First day (YYYY-MM-DD, the location's calendar)"),
        ("date_to" = chrono::NaiveDate, Query, description = "Last day, inclusive; at most 62 days after date_from"),
        ("duration" = Option<u32>, Query, description = "Minutes (default 30)", minimum = 5, maximum = 480),
        ("location_id" = Option<String>, Query, description = "Location (default: the provider's first)"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "A page of free slots", body = SlotCursorList),
        (status = 422, description = "The provider does not work at that location (or at any)", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn slots(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadProviders)?;
    let mut p = ListParams::new(&params);
    // The cursor of a computed list: the start of the last slot sent, in Unix seconds (slots
    // start on whole minutes). Each page recomputes the span's free slots and sends those that
    // start after it, so bookings made between pages cannot shift what is left to send, as an
    // offset would.
    let page = p.page("slots");
    p.no_change_time("slots have no change time");
    p.finish()?;
    let v1_params: HashMap<String, String> = params
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "cursor" | "limit"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let axum::Json(all) =
        crate::clinic::slots(State(app), Extension(principal), Path(id), Query(v1_params)).await?;
    let mut slots: Vec<Slot> = all
        .slots
        .into_iter()
        .filter(|slot| slot.start_time.timestamp() > page.after_seq)
        .take(page.limit as usize + 1)
        .collect();
    let has_more = slots.len() > page.limit as usize;
    slots.truncate(page.limit as usize);
    let last = slots
        .last()
        .map_or(page.after_seq, |slot| slot.start_time.timestamp());
    let body = SlotCursorList {
        provider_id: all.provider_id,
        duration: all.duration,
        slots,
        next_cursor: encode_cursor("slots", last),
        has_more,
        limit: page.limit,
    };
    let json = serde_json::to_string(&body).map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response())
}
