//! v2 mirrors of v1's single-resource writes (a change by `PUT` with `If-Match`, a webhook's
//! removal and secret rotation), served by the v1 handlers themselves: the same checks, events,
//! `ETag` and answers, and the same `Idempotency-Key` space (a key used on one version replays
//! on the other). Creating in a collection stays on v1 and the bulk routes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use practice_studio::model::{
    Appointment, AppointmentPatch, Location, Patient, Provider, WaitlistEntry, WaitlistPatch,
    WebhookSecret,
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
