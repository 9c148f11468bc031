//! Invoices, payments, adjustments and receipts: `GET /api/v1/patients/{id}/invoices`,
//! `GET /api/v1/invoices/{id}`, the invoice PDF, and (extensions) `GET /api/v1/invoices` across
//! patients, `POST /api/v1/invoices/{id}/payments` and `GET /api/v1/payments/{id}/receipt`.
//!
//! An invoice's status is never stored: it is derived from its money and the server's today
//! ([`InvoiceStatus::derive`]), so an invoice turns `overdue` the day after it is due without
//! anything being written.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::NaiveDate;
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Adjustment, AdjustmentKind, Invoice, InvoiceItem, InvoiceLinks, InvoiceList, InvoiceStatus,
    NewPayment, Payment, PaymentCreated, PaymentLinks, PAYMENT_METHODS,
};
use rust_decimal::Decimal;
use serde_json::Value;
use utoipa::OpenApi;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{parse_json, ApiJson};
use crate::idempotency;
use crate::openapi::Extension as ApiExtension;
use crate::params::{detail, paging, parse_instant};
use crate::pdf::{self, Practice};
use crate::records::PdfFile;
use crate::storage::{InvoiceQuery, PaymentOutcome, ValidPayment};

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/patients/{id}/invoices", get(list_for_patient))
        .route("/api/v1/invoices", get(list_all))
        .route("/api/v1/invoices/{id}", get(get_invoice))
        .route("/api/v1/invoices/{id}/pdf", get(invoice_pdf))
        .route("/api/v1/invoices/{id}/payments", post(pay))
        .route("/api/v1/payments/{id}/receipt", get(receipt))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(list_for_patient, list_all, get_invoice, invoice_pdf, pay, receipt),
    components(schemas(
        Invoice, InvoiceList, InvoiceItem, InvoiceLinks, InvoiceStatus, Payment, PaymentLinks,
        Adjustment, AdjustmentKind, NewPayment, PaymentCreated,
        practice_studio::model::InvoiceId, practice_studio::model::PaymentId,
        practice_studio::model::AdjustmentId,
    )),
    tags((name = "Billing", description = "Invoices, payments and receipts"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[ApiExtension] = &[
    ("/api/v1/invoices", "get", "Billing works through every patient's overdue invoices at once; the reference lists invoices only per patient."),
    ("/api/v1/invoices/{invoice_id}", "get", "Every invoice's `_links.self` must resolve; this is where it points."),
    ("/api/v1/invoices/{invoice_id}/pdf", "get", "Every invoice's `_links.pdf` must resolve; this is the printable invoice."),
    ("/api/v1/invoices/{invoice_id}/payments", "post", "The front desk takes payments; the reference can only show them."),
    ("/api/v1/payments/{payment_id}/receipt", "get", "A patient who pays gets a receipt; payments carry ids (an extension) so it can be named."),
];

/// The most one payment can be.
const MAX_PAYMENT: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2);

/// `status`, `from_date`, `to_date` and paging of an invoice list.
fn parse_query(
    patient_id: Option<String>,
    raw: &HashMap<String, String>,
    today: NaiveDate,
    allow_patient_param: bool,
) -> Result<InvoiceQuery, ApiError> {
    let params: HashMap<&str, &str> = raw.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut problems = Vec::new();
    let (limit, offset) = paging(|name| params.get(name).copied(), &mut problems);
    let status = match params.get("status").copied() {
        None => None,
        Some("open") => Some(InvoiceStatus::Open),
        Some("paid") => Some(InvoiceStatus::Paid),
        Some("overdue") => Some(InvoiceStatus::Overdue),
        Some(_) => {
            problems.push(detail(
                code::NOT_ONE_OF,
                "status",
                "must be one of open, paid, overdue",
            ));
            None
        }
    };
    let mut date = |name: &str| {
        let text = params.get(name)?;
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                problems.push(detail(
                    code::INVALID_DATE,
                    name,
                    "must be a date (YYYY-MM-DD)",
                ));
                None
            }
        }
    };
    let from_date = date("from_date");
    let to_date = date("to_date");
    if let (Some(from), Some(to)) = (from_date, to_date) {
        if to < from {
            problems.push(detail(
                code::END_BEFORE_START,
                "to_date",
                "must not be before from_date",
            ));
        }
    }
    let updated_since = match params.get("updated_since") {
        None => None,
        Some(text) => match parse_instant(text) {
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
    let patient_id = match (patient_id, allow_patient_param) {
        (Some(id), _) => Some(id),
        (None, true) => params.get("patient_id").map(|id| (*id).to_owned()),
        (None, false) => None,
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(InvoiceQuery {
        patient_id,
        status,
        from_date,
        to_date,
        updated_since,
        today,
        limit,
        offset,
    })
}

async fn page(app: &AppState, query: &InvoiceQuery) -> Result<Json<InvoiceList>, ApiError> {
    let (total, invoices) = app
        .storage
        .list_invoices(query)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(InvoiceList {
        total,
        limit: query.limit,
        offset: query.offset,
        invoices,
    }))
}

/// `GET /api/v1/patients/{id}/invoices`.
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patient_id}/invoices",
    tag = "Billing",
    summary = "Get patient invoices",
    description = "Newest first. `status` is derived on the server's today: `paid` when payments and adjustments cover the amount, else `overdue` after the due date (an overdue invoice is not `open`), else `open`.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("status" = Option<InvoiceStatus>, Query, description = "Filter by status (open, paid, overdue)"),
        ("from_date" = Option<String>, Query, description = "Invoices from this date (inclusive)", format = Date),
        ("to_date" = Option<String>, Query, description = "Invoices until this date (inclusive)", format = Date),
        ("updated_since" = Option<String>, Query, description = "Extension: invoices issued or changed (paid) at or after this instant (RFC 3339) or date; inclusive"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "A page of the patient's invoices", body = InvoiceList)),
    security(("bearer" = ["read:invoices"]), ("apiKey" = []))
)]
pub async fn list_for_patient(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(patient_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<InvoiceList>, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    let query = parse_query(Some(patient_id.clone()), &params, app.clock.today(), false)?;
    app.storage
        .patient(&patient_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no patient {patient_id}")))?;
    page(&app, &query).await
}

/// `GET /api/v1/invoices` (extension).
#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "Billing",
    summary = "List invoices across patients",
    description = "Every patient's invoices, newest first, with the same filters as a patient's list (billing's `status=overdue` worklist).",
    params(
        ("status" = Option<InvoiceStatus>, Query, description = "Filter by status (open, paid, overdue)"),
        ("patient_id" = Option<String>, Query, description = "Only this patient's invoices"),
        ("from_date" = Option<String>, Query, description = "Invoices from this date (inclusive)", format = Date),
        ("to_date" = Option<String>, Query, description = "Invoices until this date (inclusive)", format = Date),
        ("updated_since" = Option<String>, Query, description = "Extension: invoices issued or changed (paid) at or after this instant (RFC 3339) or date; inclusive"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "A page of invoices", body = InvoiceList)),
    security(("bearer" = ["read:invoices"]), ("apiKey" = []))
)]
pub async fn list_all(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<InvoiceList>, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    let query = parse_query(None, &params, app.clock.today(), true)?;
    page(&app, &query).await
}

async fn find_invoice(app: &AppState, id: &str) -> Result<Invoice, ApiError> {
    app.storage
        .invoice(id, app.clock.today())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no invoice {id}")))
}

/// `GET /api/v1/invoices/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{invoice_id}",
    tag = "Billing",
    summary = "Get an invoice",
    description = "`ETag` changes whenever the invoice does (a payment, or its status on a new day).",
    params(
        ("invoice_id" = String, Path, description = "Invoice ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 while the invoice is unchanged"),
    ),
    responses(
        (status = 200, description = "The invoice with its items, payments and adjustments", body = Invoice),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:invoices"]), ("apiKey" = []))
)]
pub async fn get_invoice(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    pdf::tagged_json(StatusCode::OK, &find_invoice(&app, &id).await?, &headers)
}

/// Who the documents come from: the practice's first location.
async fn practice(app: &AppState) -> Result<Practice, ApiError> {
    let locations = app.storage.locations().await.map_err(ApiError::internal)?;
    Ok(match locations.first() {
        Some(location) => Practice {
            name: location.name.clone(),
            lines: vec![
                location.address.line1.clone(),
                format!(
                    "{}, {} {}",
                    location.address.city, location.address.state, location.address.postal_code
                ),
                format!("Phone {}", location.phone),
            ],
        },
        None => Practice {
            name: "Practice Studio".into(),
            lines: Vec::new(),
        },
    })
}

async fn patient_of(
    app: &AppState,
    invoice: &Invoice,
) -> Result<practice_studio::model::Patient, ApiError> {
    app.storage
        .patient(invoice.patient_id.as_str())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format!("invoice {} without its patient", invoice.id)))
}

/// `GET /api/v1/invoices/{id}/pdf`.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{invoice_id}/pdf",
    tag = "Billing",
    summary = "The invoice as a PDF",
    description = "Practice header, patient, items with CPT codes, payments, adjustments and the balance.",
    params(
        ("invoice_id" = String, Path, description = "Invoice ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The invoice", content_type = "application/pdf", body = PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes; changes when the invoice does"),
                 ("Content-Disposition" = String, description = "inline; filename=\"INV-….pdf\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:invoices"]), ("apiKey" = []))
)]
pub async fn invoice_pdf(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    let invoice = find_invoice(&app, &id).await?;
    let patient = patient_of(&app, &invoice).await?;
    let bytes = pdf::invoice(&practice(&app).await?, &invoice, &patient);
    Ok(pdf::response(
        bytes,
        "application/pdf",
        &format!("{}.pdf", invoice.id),
        true,
        &headers,
    ))
}

/// `GET /api/v1/payments/{id}/receipt` (extension).
#[utoipa::path(
    get,
    path = "/api/v1/payments/{payment_id}/receipt",
    tag = "Billing",
    summary = "A payment's receipt as a PDF",
    params(
        ("payment_id" = String, Path, description = "Payment ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The receipt", content_type = "application/pdf", body = PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes"),
                 ("Content-Disposition" = String, description = "inline; filename=\"PAY-….pdf\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:invoices"]), ("apiKey" = []))
)]
pub async fn receipt(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadInvoices)?;
    let not_found = || ApiError::NotFound(format!("no payment {id}"));
    let invoice = app
        .storage
        .invoice_of_payment(&id, app.clock.today())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(not_found)?;
    let payment = invoice
        .payments
        .iter()
        .find(|p| p.id.as_str() == id)
        .ok_or_else(not_found)?;
    let patient = patient_of(&app, &invoice).await?;
    let bytes = pdf::receipt(&practice(&app).await?, payment, &invoice, &patient);
    Ok(pdf::response(
        bytes,
        "application/pdf",
        &format!("{}.pdf", payment.id),
        true,
        &headers,
    ))
}

fn validate(input: NewPayment, today: NaiveDate) -> Result<ValidPayment, ApiError> {
    let mut problems = Vec::new();
    if !PAYMENT_METHODS.contains(&input.method.as_str()) {
        problems.push(detail(
            code::NOT_ONE_OF,
            "method",
            &format!("must be one of {}", PAYMENT_METHODS.join(", ")),
        ));
    }
    let amount = input.amount.normalize();
    if amount <= Decimal::ZERO {
        problems.push(detail(
            code::INVALID_AMOUNT,
            "amount",
            "must be more than zero",
        ));
    } else if amount.scale() > 2 {
        problems.push(detail(
            code::INVALID_AMOUNT,
            "amount",
            "must have at most two decimals (cents)",
        ));
    } else if amount > MAX_PAYMENT {
        problems.push(detail(
            code::INVALID_AMOUNT,
            "amount",
            "must be at most 1000000.00",
        ));
    }
    let reference = input
        .reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
        problems.push(detail(
            code::TOO_LONG,
            "reference",
            "must be at most 100 characters",
        ));
    }
    let date = input.date.unwrap_or(today);
    if date > today {
        problems.push(detail(
            code::DATE_IN_FUTURE,
            "date",
            "must not be in the future",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(ValidPayment {
        method: input.method,
        amount,
        reference,
        date,
    })
}

/// `POST /api/v1/invoices/{id}/payments` (extension): 201 with the payment and the invoice.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{invoice_id}/payments",
    tag = "Billing",
    summary = "Take a payment",
    description = "Records a payment towards the invoice. More than the balance (what payments and adjustments leave) is 422; a payment that covers the balance makes the invoice `paid`. Idempotent with `Idempotency-Key`: a retry records nothing twice. `Location` is the receipt.",
    params(
        ("invoice_id" = String, Path, description = "Invoice ID"),
        ("Idempotency-Key" = Option<String>, Header, description = "Extension: a retry with the same key replays the first response"),
    ),
    request_body(content = NewPayment, content_type = "application/json"),
    responses((status = 201, description = "The payment (with its receipt link) and the invoice as it now stands", body = PaymentCreated)),
    security(("bearer" = ["write:invoices"]))
)]
pub async fn pay(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(invoice_id): Path<String>,
    headers: HeaderMap,
    ApiJson(_, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteInvoices)?;
    let path = format!("/api/v1/invoices/{invoice_id}/payments");
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("POST", &path),
        &bytes,
        async |claim| {
            let created = {
                let input: NewPayment = parse_json(&bytes)?;
                let today = app.clock.today();
                let valid = validate(input, today)?;
                match app
                    .storage
                    .add_payment(&invoice_id, &valid, today, app.clock.now(), claim)
                    .await
                    .map_err(ApiError::internal)?
                {
                    PaymentOutcome::Created(created) => Ok(created),
                    PaymentOutcome::NotFound => {
                        Err(ApiError::NotFound(format!("no invoice {invoice_id}")))
                    }
                    PaymentOutcome::Exceeds { balance } => Err(ApiError::Unprocessable {
                        message: format!(
                            "the payment is more than the invoice's balance of {}",
                            practice_studio::model::money::to_wire_text(&balance)
                        ),
                        details: vec![detail(
                            code::OVER_BALANCE,
                            "amount",
                            &format!(
                                "must be at most the balance, {}",
                                practice_studio::model::money::to_wire_text(&balance)
                            ),
                        )],
                    }),
                    PaymentOutcome::BeforeInvoice { invoice_date } => {
                        Err(ApiError::Unprocessable {
                            message: format!("the invoice is dated {invoice_date}"),
                            details: vec![detail(
                                code::END_BEFORE_START,
                                "date",
                                "must not be before the invoice's date",
                            )],
                        })
                    }
                }
            }?;
            tracing::info!(
                payment_id = %created.payment.id,
                invoice_id = %created.invoice.id,
                "payment recorded"
            );
            let mut response = pdf::tagged_json(StatusCode::CREATED, &*created, &headers)?;
            if let Ok(value) = HeaderValue::from_str(&created.payment.links.receipt.href) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        },
    )
    .await
}
