//! The v2 beta's lists: the v1 lists paged by an opaque cursor instead of an offset. Rows come in
//! creation order after the cursor, so a client paging while others write sees every row once —
//! no duplicates, no gaps — and keeps the last `next_cursor` to read only what was added since.
//! `updated_since` narrows any list to what changed.

mod bulk;
mod clinic;
mod errors;
mod mirror;
mod search;
mod waitlist;
mod webhooks;
mod writes;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Appointment, AppointmentStatus, ErrorDetail, Invoice, InvoiceStatus, MedicalRecord, Patient,
    PatientStatus,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{self, ApiJson};
use crate::openapi::Extension as DocExtension;
use crate::params::{detail, parse_instant, DEFAULT_LIMIT, MAX_LIMIT};
use crate::storage::{
    AppointmentCursorQuery, CursorPage, InvoiceCursorQuery, PatientCursorQuery, RecordCursorQuery,
};

/// This module's routes with their own layers (v1's authentication, rate limits and JSON
/// negotiation, then the improved errors around them all, so refusals are improved too);
/// `routes::router` merges them beside the v1 API.
pub(crate) fn routes(state: AppState) -> Router<AppState> {
    let authenticated = Router::new()
        .route(
            "/api/v2/patients",
            get(patients).post(writes::create_patient),
        )
        .route(
            "/api/v2/appointments",
            get(appointments).post(writes::create_appointment),
        )
        .route("/api/v2/invoices", get(invoices))
        .route("/api/v2/providers", get(clinic::providers))
        .route("/api/v2/locations", get(clinic::locations))
        .route(
            "/api/v2/waitlist",
            get(waitlist::waitlist).post(writes::add_to_waitlist),
        )
        .route("/api/v2/waitlist/candidates", get(waitlist::candidates))
        .route(
            "/api/v2/waitlist/{entry_id}",
            get(waitlist::entry).put(writes::waitlist_entry),
        )
        .route("/api/v2/appointment-types", get(clinic::appointment_types))
        .route("/api/v2/providers/{provider_id}/slots", get(clinic::slots))
        .route(
            "/api/v2/webhooks",
            get(webhooks::webhooks).post(writes::subscribe),
        )
        .route(
            "/api/v2/webhooks/{webhook_id}",
            get(webhooks::webhook).delete(writes::unsubscribe),
        )
        .route(
            "/api/v2/webhooks/{webhook_id}/rotate-secret",
            post(writes::rotate_secret),
        )
        .route(
            "/api/v2/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v2/patients/{patient_id}/records",
            get(records).post(writes::create_record),
        )
        .route("/api/v2/invoices/{invoice_id}/payments", post(writes::pay))
        .route("/api/v2/patients/bulk", post(patients_bulk))
        .route("/api/v2/appointments/bulk", post(appointments_bulk))
        .route("/api/v2/invoices/payments/bulk", post(payments_bulk))
        .route(
            "/api/v2/patients/{patient_id}",
            get(mirror::patient).put(writes::patient),
        )
        .route(
            "/api/v2/appointments/{appointment_id}",
            get(mirror::appointment).put(writes::appointment),
        )
        .route("/api/v2/invoices/{invoice_id}", get(mirror::invoice))
        .route(
            "/api/v2/invoices/{invoice_id}/pdf",
            get(mirror::invoice_pdf),
        )
        .route(
            "/api/v2/payments/{payment_id}/receipt",
            get(mirror::receipt),
        )
        .route(
            "/api/v2/attachments/{attachment_id}/download",
            get(mirror::download),
        )
        .route("/api/v2/records/{record_id}", get(mirror::record))
        .route(
            "/api/v2/providers/{provider_id}",
            get(mirror::provider).put(writes::provider),
        )
        .route(
            "/api/v2/locations/{location_id}",
            get(mirror::location).put(writes::location),
        )
        .route(
            "/api/v2/patients/{patient_id}/appointments",
            get(mirror::patient_appointments),
        )
        .route(
            "/api/v2/providers/{provider_id}/appointments",
            get(mirror::provider_appointments),
        )
        .route(
            "/api/v2/patients/{patient_id}/invoices",
            get(mirror::patient_invoices),
        )
        .route_layer(middleware::from_fn_with_state(state, http::authenticate));
    Router::new()
        .route("/api/v2/errors/{code}", get(errors::doc))
        .merge(authenticated)
        .route_layer(middleware::from_fn(http::negotiate_json))
        .route_layer(middleware::from_fn(errors::improve))
        .route_layer(middleware::from_fn(http::remember_route))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(patients, appointments, invoices, records, patients_bulk, appointments_bulk, payments_bulk,
        mirror::patient, mirror::appointment, mirror::invoice, mirror::record, mirror::provider,
        mirror::location, mirror::patient_appointments, mirror::provider_appointments,
        mirror::patient_invoices, mirror::invoice_pdf, mirror::receipt, mirror::download, errors::doc, clinic::providers, clinic::locations, waitlist::waitlist,
        waitlist::candidates, waitlist::entry, clinic::appointment_types, clinic::slots,
        webhooks::webhooks, webhooks::webhook, webhooks::deliveries,
        writes::patient, writes::appointment, writes::provider, writes::location,
        writes::waitlist_entry, writes::unsubscribe, writes::rotate_secret,
        writes::create_patient, writes::create_appointment, writes::create_record, writes::pay,
        writes::add_to_waitlist, writes::subscribe),
    components(schemas(PatientCursorList, clinic::ProviderCursorList, clinic::LocationCursorList, waitlist::WaitlistCursorList, AppointmentCursorList, InvoiceCursorList, RecordCursorList,
        clinic::AppointmentTypeCursorList, clinic::SlotCursorList, waitlist::CandidateCursorList,
        webhooks::WebhookCursorList, webhooks::DeliveryCursorList,
        bulk::BulkOperation, bulk::BulkItem, bulk::BulkRequest, bulk::BulkResult, bulk::BulkResponse,
        errors::ErrorDoc, errors::DetailCodeDoc)),
    tags((name = "v2 beta", description = "Cursor-paged mirrors of the v1 lists, single-resource mirrors, bulk writes, the enhanced patient search (`GET /api/v2/patients?q=`), and improved errors: the v1 envelope (whose details carry a stable `code`) plus `doc_url` (GET it for what the code means and the detail codes) and, with Retry-After, `retry_after` in seconds"))
)]
pub(crate) struct ApiDoc;

const WHY: &str = "The reference names a v2 beta without describing it; offset paging skips or repeats rows when others write between pages, so v2 pages by a cursor in creation order, which a sync can also keep to read only what was added.";

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[
    ("/api/v2/patients", "get", WHY),
    ("/api/v2/appointments", "get", WHY),
    ("/api/v2/invoices", "get", WHY),
    ("/api/v2/providers", "get", WHY),
    ("/api/v2/locations", "get", WHY),
    ("/api/v2/waitlist", "get", WHY),
    ("/api/v2/waitlist/candidates", "get", WHY),
    ("/api/v2/appointment-types", "get", WHY),
    ("/api/v2/providers/{provider_id}/slots", "get", WHY),
    ("/api/v2/webhooks", "get", WHY),
    ("/api/v2/webhooks/{webhook_id}/deliveries", "get", WHY),
    ("/api/v2/waitlist/{entry_id}", "get", MIRROR_WHY),
    ("/api/v2/webhooks/{webhook_id}", "get", MIRROR_WHY),
    ("/api/v2/patients/{patient_id}", "put", MIRROR_WHY),
    ("/api/v2/appointments/{appointment_id}", "put", MIRROR_WHY),
    ("/api/v2/providers/{provider_id}", "put", MIRROR_WHY),
    ("/api/v2/locations/{location_id}", "put", MIRROR_WHY),
    ("/api/v2/waitlist/{entry_id}", "put", MIRROR_WHY),
    ("/api/v2/webhooks/{webhook_id}", "delete", MIRROR_WHY),
    (
        "/api/v2/webhooks/{webhook_id}/rotate-secret",
        "post",
        MIRROR_WHY,
    ),
    ("/api/v2/invoices/{invoice_id}/pdf", "get", MIRROR_WHY),
    ("/api/v2/payments/{payment_id}/receipt", "get", MIRROR_WHY),
    (
        "/api/v2/attachments/{attachment_id}/download",
        "get",
        MIRROR_WHY,
    ),
    ("/api/v2/patients/{patient_id}/records", "get", WHY),
    ("/api/v2/patients/bulk", "post", BULK_WHY),
    ("/api/v2/appointments/bulk", "post", BULK_WHY),
    ("/api/v2/invoices/payments/bulk", "post", BULK_WHY),
    ("/api/v2/patients/{patient_id}", "get", MIRROR_WHY),
    ("/api/v2/appointments/{appointment_id}", "get", MIRROR_WHY),
    ("/api/v2/invoices/{invoice_id}", "get", MIRROR_WHY),
    ("/api/v2/records/{record_id}", "get", MIRROR_WHY),
    ("/api/v2/providers/{provider_id}", "get", MIRROR_WHY),
    ("/api/v2/locations/{location_id}", "get", MIRROR_WHY),
    ("/api/v2/patients/{patient_id}/appointments", "get", WHY),
    ("/api/v2/providers/{provider_id}/appointments", "get", WHY),
    ("/api/v2/patients/{patient_id}/invoices", "get", WHY),
    (
        "/api/v2/errors/{code}",
        "get",
        "The v2 beta's improved errors carry a doc_url; this is where it points.",
    ),
];

const MIRROR_WHY: &str =
    "A client on v2 reads and changes single resources without switching versions; answered by the v1 route.";

const BULK_WHY: &str = "The reference's v2 promises bulk operations without describing them: a desk back online sends its queued changes in one request, each applied as its single request would be.";

/// `GET /api/v2/patients`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the body is assembled from the stored summaries
pub struct PatientCursorList {
    /// List summaries, as v1's list items.
    patients: Vec<Patient>,
    /// Pass as `cursor` for the next page; also after the last page, to read what is added later.
    next_cursor: String,
    /// More rows already follow `next_cursor`.
    has_more: bool,
    limit: u32,
    /// With `q` only: each item's score, in the same order (2 for an id or MRN, else 0 to 1).
    #[schema(nullable = false)]
    scores: Option<Vec<f64>>,
}

/// `GET /api/v2/appointments`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: the body is assembled from the stored appointments
pub struct AppointmentCursorList {
    appointments: Vec<Appointment>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/invoices`.
#[derive(Serialize, ToSchema)]
pub struct InvoiceCursorList {
    invoices: Vec<Invoice>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/patients/{patient_id}/records`.
#[derive(Serialize, ToSchema)]
pub struct RecordCursorList {
    records: Vec<MedicalRecord>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// An opaque cursor: which list it belongs to and the last row's `seq`.
fn encode_cursor(list: &str, seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{list}:{seq}"))
}

fn decode_cursor(list: &str, cursor: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, seq) = text.split_once(':')?;
    let seq: i64 = seq.parse().ok()?;
    (kind == list && seq >= 0).then_some(seq)
}

/// The query parameters every v2 list shares, with every problem collected.
struct ListParams<'a> {
    params: &'a HashMap<String, String>,
    problems: Vec<ErrorDetail>,
}

impl<'a> ListParams<'a> {
    fn new(params: &'a HashMap<String, String>) -> Self {
        Self {
            params,
            problems: Vec::new(),
        }
    }

    fn page(&mut self, list: &str) -> CursorPage {
        let limit = match self.params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    self.problems.push(detail(
                        code::OUT_OF_RANGE,
                        "limit",
                        "must be a whole number from 1 to 100",
                    ));
                    DEFAULT_LIMIT
                }
            },
        };
        // An empty cursor is the start, as an absent one.
        let after_seq = match self.params.get("cursor").filter(|c| !c.trim().is_empty()) {
            None => 0,
            Some(v) => decode_cursor(list, v).unwrap_or_else(|| {
                self.problems.push(detail(
                    code::INVALID_CURSOR,
                    "cursor",
                    "must be a next_cursor this list returned",
                ));
                0
            }),
        };
        let updated_since: Option<DateTime<Utc>> = self.params.get("updated_since").and_then(|v| {
            let parsed = parse_instant(v);
            if parsed.is_none() {
                self.problems.push(detail(
                    code::INVALID_INSTANT,
                    "updated_since",
                    "must be an RFC 3339 instant or a date (YYYY-MM-DD)",
                ));
            }
            parsed
        });
        CursorPage {
            after_seq,
            limit,
            updated_since,
        }
    }

    /// Refuses `updated_since` on a list whose items have no change time (`why` says so),
    /// rather than answering as if it had filtered.
    fn no_change_time(&mut self, why: &str) {
        if self.params.contains_key("updated_since") {
            self.problems.push(detail(
                code::UNKNOWN_PARAMETER,
                "updated_since",
                &format!("is not a parameter of this list: {why}"),
            ));
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        self.params
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// An enum spelled as on the wire (`checked_in`, `deceased`, …).
    fn wire<T: DeserializeOwned>(&mut self, name: &str, allowed: &str) -> Option<T> {
        let value = self.params.get(name)?;
        match serde_json::from_value(serde_json::Value::String(value.clone())) {
            Ok(parsed) => Some(parsed),
            Err(_) => {
                self.problems.push(detail(
                    code::NOT_ONE_OF,
                    name,
                    &format!("must be one of {allowed}"),
                ));
                None
            }
        }
    }

    fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let value = self.params.get(name)?;
        match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.problems.push(detail(
                    code::INVALID_DATE,
                    name,
                    "must be a date (YYYY-MM-DD)",
                ));
                None
            }
        }
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.problems))
        }
    }
}

/// The answer: `limit + 1` rows were asked for, so one more than the limit means more follow.
fn cursor_body(list: &str, page: &CursorPage, mut rows: Vec<(i64, String)>) -> Response {
    let has_more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let last = rows.last().map_or(page.after_seq, |(seq, _)| *seq);
    let items: Vec<&str> = rows.iter().map(|(_, json)| json.as_str()).collect();
    let body = format!(
        "{{\"{list}\":[{}],\"next_cursor\":\"{}\",\"has_more\":{has_more},\"limit\":{}}}",
        items.join(","),
        encode_cursor(list, last),
        page.limit
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn plus_one(mut page: CursorPage) -> CursorPage {
    page.limit += 1;
    page
}

/// `GET /api/v2/patients`.
#[utoipa::path(get, path = "/api/v2/patients", tag = "v2 beta", summary = "Patients by cursor, or searched",
    description = "Without `q`: every patient in registration order after `cursor`, as v1's list summaries (with `expand=full`, as full detail objects, as v1's `expand=full`: what a desk caches). Stable while others register: no duplicates, no gaps.\n\nWith `q` (enhanced search): the patients the text matches, best first, as the desk's own search ranks them (the matching is shared from `practice_studio::search`): names in any order with typos (a word of 3–4 letters may have one, from 5 letters two; a prefix or a part of a name also matches), a phone in any format (all ten digits, or its last four or more), a date of birth (`YYYY-MM-DD`, `MM/DD/YYYY` or `DD.MM.YYYY`, also among name words), an id or MRN typed whole (first). The answer adds `scores` (the items' scores, 2 for an id or MRN, else 0 to 1). The cursor then pages the ranking: a patient already sent is never sent again.",
    params(
        ("q" = Option<String>, Query, description = "Search text (enhanced search); absent or blank lists every patient"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list (of the same `q`); the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("status" = Option<PatientStatus>, Query, description = "Filter by patient status"),
        ("expand" = Option<crate::patients::Expand>, Query, description = "Without `q` only: `full` returns the items as full detail objects"),
        ("provider_id" = Option<String>, Query, description = "With `q` only: patients this provider has seen (an appointment checked in, roomed or completed)"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of patients", body = PatientCursorList)),
    security(("bearer" = ["read:patients"]), ("apiKey" = [])))]
pub(crate) async fn patients(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadPatients)?;
    if let Some(q) = params.get("q").filter(|q| !q.trim().is_empty()) {
        return search::patients(app, &params, q).await;
    }
    let mut p = ListParams::new(&params);
    let page = p.page("patients");
    let status = p.wire::<PatientStatus>("status", "active, inactive, deceased");
    let full = match params.get("expand").map(String::as_str) {
        None => false,
        Some("full") => true,
        Some(_) => {
            p.problems
                .push(detail(code::NOT_ONE_OF, "expand", "must be full"));
            false
        }
    };
    if params.contains_key("provider_id") {
        p.problems.push(detail(
            code::INVALID_VALUE,
            "provider_id",
            "filters a search: send it with q",
        ));
    }
    p.finish()?;
    let rows = app
        .storage
        .v2_patients(&PatientCursorQuery {
            page: plus_one(page),
            status,
            full,
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(cursor_body("patients", &page, rows))
}

/// `GET /api/v2/appointments`.
#[utoipa::path(get, path = "/api/v2/appointments", tag = "v2 beta", summary = "Appointments by cursor",
    description = "Appointments in booking order after `cursor`; filters as v1's (dates are calendar days at the appointment's location).",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("provider_id" = Option<String>, Query, description = "Filter by provider ID"),
        ("status" = Option<AppointmentStatus>, Query, description = "Filter by status"),
        ("start_date" = Option<NaiveDate>, Query, description = "First day (YYYY-MM-DD)"),
        ("end_date" = Option<NaiveDate>, Query, description = "Last day (YYYY-MM-DD), inclusive"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of appointments", body = AppointmentCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn appointments(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let mut p = ListParams::new(&params);
    let page = p.page("appointments");
    let status = p.wire::<AppointmentStatus>(
        "status",
        "scheduled, checked_in, in_room, completed, cancelled, no_show",
    );
    let start_date = p.date("start_date");
    let end_date = p.date("end_date");
    let query = AppointmentCursorQuery {
        page: plus_one(page),
        patient_id: p.text("patient_id"),
        provider_id: p.text("provider_id"),
        status,
        start_date,
        end_date,
    };
    p.finish()?;
    let rows = app
        .storage
        .v2_appointments(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(cursor_body("appointments", &page, rows))
}

/// `GET /api/v2/invoices`.
#[utoipa::path(get, path = "/api/v2/invoices", tag = "v2 beta", summary = "Invoices by cursor",
    description = "Invoices in issue order after `cursor`. `updated_since` also finds invoices paid since.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("status" = Option<InvoiceStatus>, Query, description = "Filter by status (open, paid, overdue)"),
        ("updated_since" = Option<String>, Query, description = "Issued or paid at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of invoices", body = InvoiceCursorList)),
    security(("bearer" = ["read:invoices"]), ("apiKey" = [])))]
pub(crate) async fn invoices(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    let mut p = ListParams::new(&params);
    let page = p.page("invoices");
    let status = p.wire::<InvoiceStatus>("status", "open, paid, overdue");
    let today = app.clock.today();
    let query = InvoiceCursorQuery {
        page: plus_one(page),
        patient_id: p.text("patient_id"),
        status,
        today,
    };
    p.finish()?;
    let rows = app
        .storage
        .v2_invoice_ids(&query)
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::with_capacity(rows.len());
    for (seq, id) in rows {
        if let Some(invoice) = app
            .storage
            .invoice(&id, today)
            .await
            .map_err(ApiError::internal)?
        {
            let json = serde_json::to_string(&invoice).map_err(ApiError::internal)?;
            items.push((seq, json));
        }
    }
    Ok(cursor_body("invoices", &page, items))
}

/// `GET /api/v2/patients/{patient_id}/records`.
#[utoipa::path(get, path = "/api/v2/patients/{patient_id}/records", tag = "v2 beta", summary = "A patient's records by cursor",
    description = "The patient's medical records in the order they were written, after `cursor`.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("type" = Option<String>, Query, description = "Filter by record type (any case)"),
        ("updated_since" = Option<String>, Query, description = "Written at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of records", body = RecordCursorList)),
    security(("bearer" = ["read:records"]), ("apiKey" = [])))]
pub(crate) async fn records(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(patient_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadRecords)?;
    let mut p = ListParams::new(&params);
    let page = p.page("records");
    let query = RecordCursorQuery {
        page: plus_one(page),
        patient_id: patient_id.clone(),
        record_type: p.text("type"),
    };
    p.finish()?;
    if app
        .storage
        .patient(&patient_id)
        .await
        .map_err(ApiError::internal)?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no patient {patient_id}")));
    }
    let rows = app
        .storage
        .v2_record_ids(&query)
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::with_capacity(rows.len());
    for (seq, id) in rows {
        if let Some(record) = app.storage.record(&id).await.map_err(ApiError::internal)? {
            let json = serde_json::to_string(&crate::records::to_wire(&record))
                .map_err(ApiError::internal)?;
            items.push((seq, json));
        }
    }
    Ok(cursor_body("records", &page, items))
}

/// `POST /api/v2/patients/bulk`.
#[utoipa::path(post, path = "/api/v2/patients/bulk", tag = "v2 beta", summary = "Create and update patients in bulk",
    description = "Up to 100 items, each `create` (the body of POST /api/v1/patients) or `update` (`id`, optional `ifMatch`, the body of PUT /api/v1/patients/{id}), each with its own optional `idempotencyKey` in the same key space as single requests. Each item is applied on its own, in order; one failing does not stop the others. Answers 200 with each item's status and its resource or error. Costs one request of the rate limit per 10 items (rounded up).",
    request_body(content = bulk::BulkRequest, content_type = "application/json"),
    responses((status = 200, description = "Each item's outcome", body = bulk::BulkResponse)),
    security(("bearer" = ["write:patients"])))]
pub(crate) async fn patients_bulk(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(_, bytes): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WritePatients)?;
    bulk::run(app, principal, bulk::Target::Patients, &bytes).await
}

/// `POST /api/v2/appointments/bulk`.
#[utoipa::path(post, path = "/api/v2/appointments/bulk", tag = "v2 beta", summary = "Book and change appointments in bulk",
    description = "Up to 100 items, each `create` (the body of POST /api/v1/appointments) or `update` (`id`, optional `ifMatch`, the body of PUT /api/v1/appointments/{id}), each with its own optional `idempotencyKey` in the same key space as single requests. Each item is applied on its own, in order (a clash refuses only its item). Answers 200 with each item's status and its resource or error. Costs one request of the rate limit per 10 items (rounded up).",
    request_body(content = bulk::BulkRequest, content_type = "application/json"),
    responses((status = 200, description = "Each item's outcome", body = bulk::BulkResponse)),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn appointments_bulk(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(_, bytes): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteAppointments)?;
    bulk::run(app, principal, bulk::Target::Appointments, &bytes).await
}

/// `POST /api/v2/invoices/payments/bulk`.
#[utoipa::path(post, path = "/api/v2/invoices/payments/bulk", tag = "v2 beta", summary = "Take payments in bulk",
    description = "Up to 100 payments, each with `id` (the invoice) and the body of POST /api/v1/invoices/{id}/payments, each with its own optional `idempotencyKey` in the same key space as single requests. Each is applied on its own, in order. Answers 200 with each item's status and the payment with its invoice, or the error. Costs one request of the rate limit per 10 items (rounded up).",
    request_body(content = bulk::BulkRequest, content_type = "application/json"),
    responses((status = 200, description = "Each item's outcome", body = bulk::BulkResponse)),
    security(("bearer" = ["write:invoices"])))]
pub(crate) async fn payments_bulk(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(_, bytes): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteInvoices)?;
    bulk::run(app, principal, bulk::Target::Payments, &bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_belong_to_their_list() {
        let cursor = encode_cursor("patients", 10_042);
        assert_eq!(decode_cursor("patients", &cursor), Some(10_042));
        assert_eq!(decode_cursor("appointments", &cursor), None);
        assert_eq!(decode_cursor("patients", "not a cursor"), None);
        assert_eq!(
            decode_cursor("patients", &encode_cursor("patients", -1)),
            None
        );
    }
}
