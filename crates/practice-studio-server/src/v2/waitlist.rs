//! `GET /api/v2/waitlist`: v1's waitlist list paged by a cursor, in the order entries were added.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use practice_studio::model::detail_code as code;
use practice_studio::model::{WaitlistEntry, WaitlistStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::params::detail;
use crate::storage::WaitlistCursorQuery;

use super::{cursor_body, plus_one, ListParams};

/// `GET /api/v2/waitlist`.
#[derive(Serialize, ToSchema)]
pub struct WaitlistCursorList {
    entries: Vec<WaitlistEntry>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/waitlist`.
#[utoipa::path(get, path = "/api/v2/waitlist", tag = "v2 beta", summary = "Waitlist entries by cursor",
    description = "Waitlist entries in the order they were added, after `cursor`, with v1's filters.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("status" = Option<String>, Query, description = "waiting, booked or removed"),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("provider_id" = Option<String>, Query, description = "Entries naming this provider, or taking any provider"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of waitlist entries", body = WaitlistCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn waitlist(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let mut p = ListParams::new(&params);
    // The list is `entries`, as in v1; its cursors carry that name.
    let page = p.page("entries");
    let status = match params.get("status") {
        None => None,
        Some(text) => match WaitlistStatus::parse(text) {
            Some(status) => Some(status.as_str().to_owned()),
            None => {
                p.problems.push(detail(
                    code::NOT_ONE_OF,
                    "status",
                    "must be waiting, booked or removed",
                ));
                None
            }
        },
    };
    let query = WaitlistCursorQuery {
        page: plus_one(page),
        status,
        patient_id: p.text("patient_id"),
        provider_id: p.text("provider_id"),
    };
    p.finish()?;
    let rows = app
        .storage
        .v2_waitlist(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(cursor_body("entries", &page, rows))
}
