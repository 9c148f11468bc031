//! v2 mirrors of v1's single-resource routes and documents (served by the v1 handlers
//! themselves, so they answer alike: the resource or PDF, its `ETag`, `If-None-Match` where v1
//! honours it) and of v1's
//! nested lists (a patient's or a provider's appointments, a patient's invoices), cursor-paged
//! like the other v2 lists.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use practice_studio::model::{Appointment, Invoice, Location, MedicalRecord, Patient, Provider};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;

use super::{AppointmentCursorList, InvoiceCursorList};

/// `GET /api/v2/patients/{patient_id}`.
#[utoipa::path(get, path = "/api/v2/patients/{patient_id}", tag = "v2 beta", summary = "Get patient",
    description = "As GET /api/v1/patients/{patient_id}.",
    params(("patient_id" = String, Path, description = "Practice Studio patient ID")),
    responses((status = 200, description = "The patient; `ETag` carries its version", body = Patient)),
    security(("bearer" = ["read:patients"]), ("apiKey" = [])))]
pub(crate) async fn patient(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Response, ApiError> {
    crate::patients::get(state, principal, id).await
}

/// `GET /api/v2/appointments/{appointment_id}`.
#[utoipa::path(get, path = "/api/v2/appointments/{appointment_id}", tag = "v2 beta", summary = "Get an appointment",
    description = "As GET /api/v1/appointments/{appointment_id}.",
    params(("appointment_id" = String, Path, description = "Appointment ID")),
    responses((status = 200, description = "The appointment; `ETag` carries its version", body = Appointment)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn appointment(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Response, ApiError> {
    crate::appointments::get_one(state, principal, id).await
}

/// `GET /api/v2/invoices/{invoice_id}`.
#[utoipa::path(get, path = "/api/v2/invoices/{invoice_id}", tag = "v2 beta", summary = "Get an invoice",
    description = "As GET /api/v1/invoices/{invoice_id}.",
    params(("invoice_id" = String, Path, description = "Invoice ID")),
    responses((status = 200, description = "The invoice with its items, payments and adjustments", body = Invoice)),
    security(("bearer" = ["read:invoices"]), ("apiKey" = [])))]
pub(crate) async fn invoice(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::billing::get_invoice(state, principal, id, headers).await
}

/// `GET /api/v2/records/{record_id}`.
#[utoipa::path(get, path = "/api/v2/records/{record_id}", tag = "v2 beta", summary = "Get a record",
    description = "As GET /api/v1/records/{record_id}.",
    params(("record_id" = String, Path, description = "Record ID")),
    responses((status = 200, description = "The record with its attachments", body = MedicalRecord)),
    security(("bearer" = ["read:records"]), ("apiKey" = [])))]
pub(crate) async fn record(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::records::get_record(state, principal, id, headers).await
}

/// `GET /api/v2/providers/{provider_id}`.
#[utoipa::path(get, path = "/api/v2/providers/{provider_id}", tag = "v2 beta", summary = "Get a provider",
    description = "As GET /api/v1/providers/{provider_id}.",
    params(("provider_id" = String, Path, description = "Provider ID")),
    responses((status = 200, description = "The provider; `ETag` carries its version", body = Provider)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn provider(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Response, ApiError> {
    crate::clinic::get_provider(state, principal, id).await
}

/// `GET /api/v2/locations/{location_id}`.
#[utoipa::path(get, path = "/api/v2/locations/{location_id}", tag = "v2 beta", summary = "Get a location",
    description = "As GET /api/v1/locations/{location_id}.",
    params(("location_id" = String, Path, description = "Location ID")),
    responses((status = 200, description = "The location; `ETag` carries its version", body = Location)),
    security(("bearer" = ["read:providers"]), ("apiKey" = [])))]
pub(crate) async fn location(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Response, ApiError> {
    crate::clinic::get_location(state, principal, id).await
}

async fn require_patient(app: &AppState, id: &str) -> Result<(), ApiError> {
    match app.storage.patient(id).await.map_err(ApiError::internal)? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("no patient {id}"))),
    }
}

/// `GET /api/v2/patients/{patient_id}/appointments`.
#[utoipa::path(get, path = "/api/v2/patients/{patient_id}/appointments", tag = "v2 beta", summary = "A patient's appointments by cursor",
    description = "As GET /api/v2/appointments with `patient_id`; 404 for an unknown patient.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("status" = Option<practice_studio::model::AppointmentStatus>, Query, description = "Filter by status"),
        ("start_date" = Option<chrono::NaiveDate>, Query, description = "First day (YYYY-MM-DD)"),
        ("end_date" = Option<chrono::NaiveDate>, Query, description = "Last day (YYYY-MM-DD), inclusive"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of appointments", body = AppointmentCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn patient_appointments(
    State(app): State<AppState>,
    principal: Extension<Principal>,
    Path(id): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(crate::auth::Scope::ReadAppointments)?;
    require_patient(&app, &id).await?;
    params.insert("patient_id".into(), id);
    super::appointments(State(app), principal, Query(params)).await
}

/// `GET /api/v2/providers/{provider_id}/appointments`.
#[utoipa::path(get, path = "/api/v2/providers/{provider_id}/appointments", tag = "v2 beta", summary = "A provider's appointments by cursor",
    description = "As GET /api/v2/appointments with `provider_id`; 404 for an unknown provider.",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("status" = Option<practice_studio::model::AppointmentStatus>, Query, description = "Filter by status"),
        ("start_date" = Option<chrono::NaiveDate>, Query, description = "First day (YYYY-MM-DD)"),
        ("end_date" = Option<chrono::NaiveDate>, Query, description = "Last day (YYYY-MM-DD), inclusive"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of appointments", body = AppointmentCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn provider_appointments(
    State(app): State<AppState>,
    principal: Extension<Principal>,
    Path(id): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(crate::auth::Scope::ReadAppointments)?;
    let known = app
        .storage
        .providers()
        .await
        .map_err(ApiError::internal)?
        .iter()
        .any(|p| p.id.as_str() == id);
    if !known {
        return Err(ApiError::NotFound(format!("no provider {id}")));
    }
    params.insert("provider_id".into(), id);
    super::appointments(State(app), principal, Query(params)).await
}

/// `GET /api/v2/patients/{patient_id}/invoices`.
#[utoipa::path(get, path = "/api/v2/patients/{patient_id}/invoices", tag = "v2 beta", summary = "A patient's invoices by cursor",
    description = "As GET /api/v2/invoices with `patient_id`; 404 for an unknown patient.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("status" = Option<practice_studio::model::InvoiceStatus>, Query, description = "Filter by status (open, paid, overdue)"),
        ("updated_since" = Option<String>, Query, description = "Issued or paid at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of invoices", body = InvoiceCursorList)),
    security(("bearer" = ["read:invoices"]), ("apiKey" = [])))]
pub(crate) async fn patient_invoices(
    State(app): State<AppState>,
    principal: Extension<Principal>,
    Path(id): Path<String>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(crate::auth::Scope::ReadInvoices)?;
    require_patient(&app, &id).await?;
    params.insert("patient_id".into(), id);
    super::invoices(State(app), principal, Query(params)).await
}

/// `GET /api/v2/invoices/{invoice_id}/pdf`.
#[utoipa::path(get, path = "/api/v2/invoices/{invoice_id}/pdf", tag = "v2 beta", summary = "An invoice as PDF",
    description = "As GET /api/v1/invoices/{invoice_id}/pdf.",
    params(
        ("invoice_id" = String, Path, description = "Invoice ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The invoice", content_type = "application/pdf", body = crate::records::PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes; changes when the invoice does"),
                 ("Content-Disposition" = String, description = "inline; filename=\"INV-….pdf\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:invoices"]), ("apiKey" = [])))]
pub(crate) async fn invoice_pdf(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::billing::invoice_pdf(state, principal, id, headers).await
}

/// `GET /api/v2/payments/{payment_id}/receipt`.
#[utoipa::path(get, path = "/api/v2/payments/{payment_id}/receipt", tag = "v2 beta", summary = "A payment's receipt",
    description = "As GET /api/v1/payments/{payment_id}/receipt.",
    params(
        ("payment_id" = String, Path, description = "Payment ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The receipt", content_type = "application/pdf", body = crate::records::PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes"),
                 ("Content-Disposition" = String, description = "inline; filename=\"PAY-….pdf\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:invoices"]), ("apiKey" = [])))]
pub(crate) async fn receipt(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::billing::receipt(state, principal, id, headers).await
}

/// `GET /api/v2/attachments/{attachment_id}/download`.
#[utoipa::path(get, path = "/api/v2/attachments/{attachment_id}/download", tag = "v2 beta", summary = "Download an attachment",
    description = "As GET /api/v1/attachments/{attachment_id}/download.",
    params(
        ("attachment_id" = String, Path, description = "Attachment ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/pdf", body = crate::records::PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes"),
                 ("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:records"]), ("apiKey" = [])))]
pub(crate) async fn download(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::records::download(state, principal, id, headers).await
}
