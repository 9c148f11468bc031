//! v2 cursor lists of the clinic's small tables: providers and locations in the order they were
//! added (their `position`, which only grows), with v1's filters and `updated_since`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use practice_studio::model::{Location, Provider};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::clinic::ProviderFilter;
use crate::error::ApiError;
use crate::storage::ClinicList;

use super::{cursor_body, ListParams};

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
