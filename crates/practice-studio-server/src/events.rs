//! The change feed (v2 beta, an extension): every event in commit order after a cursor, with
//! long polling, so a desk behind a clinic's router (which cannot receive webhooks) keeps its
//! cache fresh.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::openapi::Extension as DocExtension;
use crate::params::detail;
use practice_studio::model::detail_code as code;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;
const MAX_WAIT_SECONDS: u64 = 30;

/// Event types, what causes each, and the scope a reader needs to see it.
pub(crate) const EVENT_TYPES: [(&str, &str, Scope); 15] = [
    (
        "patient.created",
        "a patient is registered (POST /api/v1/patients)",
        Scope::ReadPatients,
    ),
    (
        "patient.updated",
        "any change to a patient (PUT /api/v1/patients/{id})",
        Scope::ReadPatients,
    ),
    (
        "appointment.created",
        "an appointment is booked",
        Scope::ReadAppointments,
    ),
    (
        "appointment.updated",
        "rescheduled, checked in, in room, no-show, or an undo move",
        Scope::ReadAppointments,
    ),
    (
        "appointment.canceled",
        "cancelled (this event only)",
        Scope::ReadAppointments,
    ),
    (
        "appointment.completed",
        "completed (this event only)",
        Scope::ReadAppointments,
    ),
    (
        "record.created",
        "a medical record is added",
        Scope::ReadRecords,
    ),
    (
        "invoice.created",
        "an invoice is issued",
        Scope::ReadInvoices,
    ),
    (
        "invoice.updated",
        "extension: a payment that leaves a balance",
        Scope::ReadInvoices,
    ),
    (
        "invoice.paid",
        "the payment (or adjustment) that settles the invoice",
        Scope::ReadInvoices,
    ),
    (
        "provider.updated",
        "extension: a provider's details or status change (PUT /api/v1/providers/{id})",
        Scope::ReadProviders,
    ),
    (
        "schedule.updated",
        "extension: a provider's hours, breaks or time off change",
        Scope::ReadProviders,
    ),
    (
        "location.updated",
        "extension: a location changes (PUT /api/v1/locations/{id})",
        Scope::ReadProviders,
    ),
    (
        "waitlist.created",
        "extension: a patient is added to the waitlist (POST /api/v1/waitlist)",
        Scope::ReadAppointments,
    ),
    (
        "waitlist.updated",
        "extension: a waitlist entry is booked, removed, put back or changed",
        Scope::ReadAppointments,
    ),
];

/// The scopes of event types, once each.
const EVENT_SCOPES: [Scope; 5] = [
    Scope::ReadPatients,
    Scope::ReadProviders,
    Scope::ReadAppointments,
    Scope::ReadRecords,
    Scope::ReadInvoices,
];

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v2/events", get(feed))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(feed),
    components(schemas(EventFeed, FeedEvent)),
    tags((name = "Events", description = "The change feed (v2 beta)"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[(
    "/api/v2/events",
    "get",
    "A desk behind a clinic's router cannot receive webhooks; it follows the same events as a feed to keep its offline cache fresh.",
)];

/// One event, as webhooks deliver it (for the OpenAPI document; served as stored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only: events are served as the JSON stored with the change
pub struct FeedEvent {
    /// Unique, the same on every delivery of the event.
    id: String,
    /// The event type (see the table in the operation's description).
    event: String,
    timestamp: chrono::DateTime<chrono::Utc>,
    /// The resource as its route returns it, with its `version`.
    data: serde_json::Value,
    /// The `X-Request-ID` of the request that caused it.
    request_id: Option<String>,
}

/// `GET /api/v2/events`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only: the body is assembled from the stored events
pub struct EventFeed {
    events: Vec<FeedEvent>,
    /// Pass as `after` to read on; it carries the log's epoch.
    cursor: String,
    /// More events are already waiting past `cursor`.
    has_more: bool,
}

/// The operation's description with the table of events (set on the document by `openapi`).
pub(crate) fn description() -> String {
    let mut text = String::from(
        "Events after `after` in commit order, and the cursor to read on from. Without `after` the answer is the current end of the log (no events): record it before paging through the lists, then follow the feed so nothing changed meanwhile is missed. With `wait` (seconds, at most 30) an empty answer waits until an event commits. A cursor from another database (its epoch differs) or older than the retention (at least 7 days) is 410 `gone`: resynchronise. Each reader sees only events of resources it may read. Events may repeat across restarts of a reader that lost its cursor; dedupe by `id`.\n\n| Event | Caused by | Scope |\n|---|---|---|\n",
    );
    for (name, cause, scope) in EVENT_TYPES {
        text.push_str(&format!("| `{name}` | {cause} | `{}` |\n", scope.as_str()));
    }
    text
}

#[utoipa::path(get, path = "/api/v2/events", tag = "Events", summary = "The change feed",
    params(
        ("after" = Option<String>, Query, description = "A cursor from an earlier answer"),
        ("limit" = Option<u32>, Query, description = "Most events (default 100, at most 1000)", minimum = 1, maximum = 1000),
        ("wait" = Option<u32>, Query, description = "Seconds to wait for an event when there is none (long poll; default 0, at most 30)", minimum = 0, maximum = 30),
    ),
    responses(
        (status = 200, description = "Events and the next cursor", body = EventFeed),
        (status = 410, description = "The cursor names another database or a purged stretch of the log: resynchronise", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub(crate) async fn feed(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let scopes: Vec<&str> = EVENT_SCOPES
        .iter()
        .filter(|s| principal.scopes.contains(s))
        .map(|s| s.as_str())
        .collect();
    if scopes.is_empty() {
        return Err(ApiError::Forbidden(
            "the credential may read none of the resources events are about".into(),
        ));
    }
    let mut problems = Vec::new();
    let limit = match params.get("limit").map(|v| v.parse::<u32>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            problems.push(detail(
                code::OUT_OF_RANGE,
                "limit",
                "must be a whole number from 1 to 1000",
            ));
            DEFAULT_LIMIT
        }
    };
    let wait = match params.get("wait").map(|v| v.parse::<u64>()) {
        None => 0,
        Some(Ok(n)) if n <= MAX_WAIT_SECONDS => n,
        Some(_) => {
            problems.push(detail(
                code::OUT_OF_RANGE,
                "wait",
                "must be a whole number of seconds from 0 to 30",
            ));
            0
        }
    };
    let epoch = app
        .storage
        .event_epoch()
        .await
        .map_err(ApiError::internal)?;
    let after = match params.get("after") {
        None => None,
        Some(cursor) => match parse_cursor(cursor) {
            Some((cursor_epoch, seq)) if cursor_epoch != epoch => {
                return Err(ApiError::Gone(format!(
                    "the cursor is from another event log (epoch {cursor_epoch}); resynchronise and start from a new cursor (seq {seq})"
                )))
            }
            Some((_, seq)) => Some(seq),
            None => {
                problems.push(detail(code::INVALID_CURSOR, "after", "must be a cursor from an earlier answer"));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let (end, first) = app
        .storage
        .event_bounds()
        .await
        .map_err(ApiError::internal)?;
    let Some(after) = after else {
        return Ok(body(&epoch, &[], end, false));
    };
    if after > end {
        return Err(ApiError::Gone(
            "the cursor is ahead of this event log; resynchronise".into(),
        ));
    }
    let purged = after < end && (first == 0 || first > after + 1);
    if purged {
        return Err(ApiError::Gone(
            "events after this cursor are past the retention; resynchronise".into(),
        ));
    }
    let mut changes = app.storage.watch_events();
    changes.borrow_and_update();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let page = app
            .storage
            .events_after(after, limit, &scopes)
            .await
            .map_err(ApiError::internal)?;
        let waiting = page.events.is_empty() && tokio::time::Instant::now() < deadline;
        if !waiting {
            let bodies: Vec<&str> = page.events.iter().map(|e| e.body.as_str()).collect();
            let has_more = page.events.len() == limit as usize;
            return Ok(body(&epoch, &bodies, page.reached, has_more));
        }
        // Wakes on the next commit that wrote events, or gives up at the deadline.
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            let bodies: Vec<&str> = Vec::new();
            return Ok(body(&epoch, &bodies, page.reached, false));
        }
    }
}

/// `"<epoch>:<seq>"`.
fn cursor(epoch: &str, seq: i64) -> String {
    format!("{epoch}:{seq}")
}

fn parse_cursor(text: &str) -> Option<(String, i64)> {
    let (epoch, seq) = text.split_once(':')?;
    let seq = seq.parse::<i64>().ok().filter(|s| *s >= 0)?;
    (!epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (epoch.to_owned(), seq))
}

fn body(epoch: &str, events: &[&str], reached: i64, has_more: bool) -> Response {
    let mut text = String::with_capacity(64 + events.iter().map(|e| e.len() + 1).sum::<usize>());
    text.push_str("{\"events\":[");
    text.push_str(&events.join(","));
    text.push_str(&format!(
        "],\"cursor\":\"{}\",\"hasMore\":{has_more}}}",
        cursor(epoch, reached)
    ));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nonsense_is_refused() {
        assert_eq!(parse_cursor(&cursor("a1b2", 42)), Some(("a1b2".into(), 42)));
        assert_eq!(parse_cursor("a1b2:-1"), None);
        assert_eq!(parse_cursor(":3"), None);
        assert_eq!(parse_cursor("zz:3"), None);
        assert_eq!(parse_cursor("a1b2"), None);
    }
}
