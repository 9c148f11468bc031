//! v2 mirrors of v1's writes: creating in a collection (`POST`), a change by `PUT` with
//! `If-Match`, a webhook's removal and secret rotation. They are served by the v1 handlers
//! themselves: the same checks, events, `ETag`, `Location` and answers, and the same
//! `Idempotency-Key` space (a key used on one version replays on the other). The bulk routes
//! take many creates at once.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use practice_studio::model::{
    Appointment, AppointmentPatch, Location, MedicalRecord, NewAppointment, NewPatient, NewPayment,
    NewRecord, NewWaitlistEntry, NewWebhook, Patient, PaymentCreated, Provider, WaitlistEntry,
    WaitlistPatch, Webhook, WebhookSecret,
};
use serde_json::Value;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::ApiJson;

/// `PUT /api/v2/patients/{patient_id}`.
#[utoipa::path(put, path = "/api/v2/patients/{patient_id}", tag = "v2 beta", summary = "Update patient",
    description = "As PUT /api/v1/patients/{patient_id}: a JSON Merge Patch, one level into `contactInfo` and `insurance`.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the patient changed since"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1 or v2) replays the first response"),
    ),
    request_body(content = crate::openapi::PatientPatch, content_type = "application/json"),
    responses((status = 200, description = "Full patient object with updated fields", body = Patient)),
    security(("bearer" = ["write:patients"])))]
pub(crate) async fn patient(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::patients::update(state, principal, id, headers, body).await
}

/// `PUT /api/v2/appointments/{appointment_id}`.
#[utoipa::path(put, path = "/api/v2/appointments/{appointment_id}", tag = "v2 beta", summary = "Change an appointment",
    description = "As PUT /api/v1/appointments/{appointment_id}: a move, a change of type, reason or notes, or a status move the flow allows.",
    params(
        ("appointment_id" = String, Path, description = "Appointment ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the appointment changed since"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1 or v2) replays the first response"),
    ),
    request_body(content = AppointmentPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed appointment", body = Appointment),
        (status = 409, description = "A clash, or the version changed", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "A move the status flow does not allow, a missing reason, a stamp out of range", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn appointment(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::appointments::update(state, principal, id, headers, body).await
}

/// `PUT /api/v2/providers/{provider_id}`.
#[utoipa::path(put, path = "/api/v2/providers/{provider_id}", tag = "v2 beta", summary = "Change a provider",
    description = "As PUT /api/v1/providers/{provider_id}: a JSON Merge Patch of the writable fields (lists replaced whole).",
    params(
        ("provider_id" = String, Path, description = "Provider ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the provider changed since"),
    ),
    request_body(content = Provider, content_type = "application/json", description = "Any subset of the writable fields"),
    responses((status = 200, description = "The changed provider", body = Provider)),
    security(("bearer" = ["admin:clinic"])))]
pub(crate) async fn provider(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::clinic::update_provider(state, principal, id, headers, body).await
}

/// `PUT /api/v2/locations/{location_id}`.
#[utoipa::path(put, path = "/api/v2/locations/{location_id}", tag = "v2 beta", summary = "Change a location",
    description = "As PUT /api/v1/locations/{location_id}: a JSON Merge Patch of `name`, `phone`, `address` and `timeZone`.",
    params(
        ("location_id" = String, Path, description = "Location ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on; 409 when the location changed since"),
    ),
    request_body(content = Location, content_type = "application/json", description = "Any subset of the writable fields"),
    responses((status = 200, description = "The changed location", body = Location)),
    security(("bearer" = ["admin:clinic"])))]
pub(crate) async fn location(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::clinic::update_location(state, principal, id, headers, body).await
}

/// `PUT /api/v2/waitlist/{entry_id}`.
#[utoipa::path(put, path = "/api/v2/waitlist/{entry_id}", tag = "v2 beta", summary = "Change a waitlist entry",
    description = "As PUT /api/v1/waitlist/{entry_id}: a JSON Merge Patch of `status`, `appointmentId`, `duration`, `reason`, `notes` and `preferences`.",
    params(
        ("entry_id" = String, Path, description = "Waitlist entry ID"),
        ("If-Match" = Option<String>, Header, description = "The version the change was made against (`\"3\"`); a mismatch is 409"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1 or v2) replays the first response"),
    ),
    request_body(content = WaitlistPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed entry", body = WaitlistEntry),
        (status = 409, description = "The entry changed since the If-Match version", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "The appointment does not exist or is another patient's", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn waitlist_entry(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::waitlist::update(state, principal, id, headers, body).await
}

/// `DELETE /api/v2/webhooks/{webhook_id}`.
#[utoipa::path(delete, path = "/api/v2/webhooks/{webhook_id}", tag = "v2 beta", summary = "Unsubscribe",
    description = "As DELETE /api/v1/webhooks/{webhook_id}.",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 204, description = "Removed, with its pending deliveries")),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn unsubscribe(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::webhooks::delete(state, principal, id).await
}

/// `POST /api/v2/webhooks/{webhook_id}/rotate-secret`.
#[utoipa::path(post, path = "/api/v2/webhooks/{webhook_id}/rotate-secret", tag = "v2 beta", summary = "Rotate the secret",
    description = "As POST /api/v1/webhooks/{webhook_id}/rotate-secret.",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 200, description = "The new secret; the old one keeps signing for 24 hours (two v1 values)", body = WebhookSecret)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn rotate_secret(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Json<WebhookSecret>, ApiError> {
    crate::webhooks::rotate(state, principal, id).await
}

/// `POST /api/v2/patients`.
#[utoipa::path(post, path = "/api/v2/patients", tag = "v2 beta", summary = "Create patient",
    description = "As POST /api/v1/patients. `POST /api/v2/patients/bulk` takes up to 100 at once.",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1, v2 or in a bulk item) replays the first response")),
    request_body(content = NewPatient, content_type = "application/json"),
    responses(
        (status = 201, description = "The new patient; `Location` names it", body = Patient),
        (status = 422, description = "A field breaks a validation rule; each detail names its field and code", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:patients"])))]
pub(crate) async fn create_patient(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::patients::create(state, principal, headers, body).await
}

/// `POST /api/v2/appointments`.
#[utoipa::path(post, path = "/api/v2/appointments", tag = "v2 beta", summary = "Create appointment",
    description = "As POST /api/v1/appointments: inside the provider's hours, clear of breaks, time off and other bookings. `POST /api/v2/appointments/bulk` takes up to 100 at once.",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1, v2 or in a bulk item) replays the first response")),
    request_body(content = NewAppointment, content_type = "application/json"),
    responses(
        (status = 201, description = "The new appointment; `Location` names it", body = Appointment),
        (status = 409, description = "The time clashes with another appointment, the provider's hours, a break or time off", body = practice_studio::model::ErrorEnvelope),
        (status = 422, description = "A reference is missing, the type is unknown or the patient is not active", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn create_appointment(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::appointments::create(state, principal, headers, body).await
}

/// `POST /api/v2/patients/{patient_id}/records`.
#[utoipa::path(post, path = "/api/v2/patients/{patient_id}/records", tag = "v2 beta", summary = "Add a record",
    description = "As POST /api/v1/patients/{patient_id}/records.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1 or v2) replays the first response"),
    ),
    request_body(content = NewRecord, content_type = "application/json"),
    responses(
        (status = 201, description = "The new record; `Location` names it", body = MedicalRecord),
        (status = 422, description = "An unknown provider or a field out of range", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:records"])))]
pub(crate) async fn create_record(
    state: State<AppState>,
    principal: Extension<Principal>,
    patient: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::records::create(state, principal, patient, headers, body).await
}

/// `POST /api/v2/invoices/{invoice_id}/payments`.
#[utoipa::path(post, path = "/api/v2/invoices/{invoice_id}/payments", tag = "v2 beta", summary = "Take a payment",
    description = "As POST /api/v1/invoices/{invoice_id}/payments: more than the balance is 422. `POST /api/v2/invoices/payments/bulk` takes up to 100 at once.",
    params(
        ("invoice_id" = String, Path, description = "Invoice ID"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1, v2 or in a bulk item) records nothing twice"),
    ),
    request_body(content = NewPayment, content_type = "application/json"),
    responses(
        (status = 201, description = "The payment (with its receipt link) and the invoice as it now stands", body = PaymentCreated),
        (status = 422, description = "More than the balance, an unknown method or a bad amount", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:invoices"])))]
pub(crate) async fn pay(
    state: State<AppState>,
    principal: Extension<Principal>,
    invoice: Path<String>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::billing::pay(state, principal, invoice, headers, body).await
}

/// `POST /api/v2/waitlist`.
#[utoipa::path(post, path = "/api/v2/waitlist", tag = "v2 beta", summary = "Add to the waitlist",
    description = "As POST /api/v1/waitlist: `duration` defaults to the type's; the patient must be active.",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key (on v1 or v2) replays the first response")),
    request_body(content = NewWaitlistEntry, content_type = "application/json"),
    responses(
        (status = 201, description = "The entry; `Location` names it", body = WaitlistEntry),
        (status = 422, description = "An unknown or inactive patient, provider, location or type", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["write:appointments"])))]
pub(crate) async fn add_to_waitlist(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::waitlist::create(state, principal, headers, body).await
}

/// `POST /api/v2/webhooks`.
#[utoipa::path(post, path = "/api/v2/webhooks", tag = "v2 beta", summary = "Subscribe",
    description = "As POST /api/v1/webhooks: the answer carries the signing secret, once.",
    request_body(content = NewWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "The subscription, with its secret", body = Webhook),
        (status = 422, description = "The URL points into a private network, or an unknown event type", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn subscribe(
    state: State<AppState>,
    principal: Extension<Principal>,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    crate::webhooks::create(state, principal, body).await
}
