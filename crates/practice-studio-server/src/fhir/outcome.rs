//! FHIR errors: every failure under `/fhir/r4` is an `OperationOutcome` with the HTTP status
//! that fits, including the refusals of the shared authentication and rate-limit layers (their
//! v1 error envelopes are rewritten here, headers kept).

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use practice_studio::model::ErrorEnvelope;
use serde_json::{json, Value};

use crate::error::{current_request_id, ApiError};

/// The media type of every FHIR response.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// Why a FHIR request failed.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// A parameter's value cannot be understood (400, `invalid`).
    #[error("{0}")]
    Invalid(String),
    /// Something the server does not do: an unknown parameter under `handling=strict`, a
    /// modifier or prefix it does not support (400, `not-supported`).
    #[error("{0}")]
    NotSupported(String),
    /// A resource type this server does not serve (404, `not-supported`).
    #[error("{0}")]
    UnknownType(String),
    /// No such resource (404, `not-found`).
    #[error("{0}")]
    NotFound(String),
    /// Anything the v1 error type says (auth, scope, storage).
    #[error("{0}")]
    Api(#[from] ApiError),
}

impl From<crate::storage::StorageError> for FhirError {
    fn from(error: crate::storage::StorageError) -> Self {
        FhirError::Api(ApiError::internal(error))
    }
}

/// The issue type (http://hl7.org/fhir/ValueSet/issue-type) for an HTTP status.
fn issue_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 406 | 415 => "not-supported",
        409 => "conflict",
        413 => "too-costly",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

/// An `OperationOutcome` with one issue.
pub fn outcome(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": severity, "code": code, "diagnostics": diagnostics }]
    })
}

/// A FHIR JSON response.
pub fn fhir_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            FhirError::Invalid(m) => (StatusCode::BAD_REQUEST, "invalid", m),
            FhirError::NotSupported(m) => (StatusCode::BAD_REQUEST, "not-supported", m),
            FhirError::UnknownType(m) => (StatusCode::NOT_FOUND, "not-supported", m),
            FhirError::NotFound(m) => (StatusCode::NOT_FOUND, "not-found", m),
            // The v1 error builds its own response (logging internal causes, Retry-After,
            // WWW-Authenticate); `as_outcome` rewrites it.
            FhirError::Api(error) => return error.into_response(),
        };
        let mut body = outcome("error", code, &message);
        add_request_id(&mut body, &current_request_id());
        fhir_response(status, &body)
    }
}

fn add_request_id(body: &mut Value, request_id: &str) {
    if !request_id.is_empty() {
        if let Some(issue) = body.pointer_mut("/issue/0") {
            issue["details"] = json!({ "text": format!("request id {request_id}") });
        }
    }
}

/// Route layer: an error answered in the v1 envelope (by authentication, rate limiting,
/// negotiation or a handler's [`ApiError`]) leaves as an `OperationOutcome` with the same status
/// and headers.
pub async fn as_outcome(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_envelope = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || !is_envelope {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Envelopes are small; anything larger is not one.
    let bytes = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let (message, request_id) = match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
        Ok(envelope) => {
            let details: Vec<String> = envelope
                .error
                .details
                .iter()
                .map(|d| format!("{}: {}", d.field, d.issue))
                .collect();
            let message = if details.is_empty() {
                envelope.error.message
            } else {
                format!("{} ({})", envelope.error.message, details.join("; "))
            };
            (message, envelope.error.request_id)
        }
        Err(_) => (
            status.canonical_reason().unwrap_or("error").to_owned(),
            String::new(),
        ),
    };
    let mut body = outcome(
        if status.is_server_error() {
            "fatal"
        } else {
            "error"
        },
        issue_code(status),
        &message,
    );
    add_request_id(&mut body, &request_id);
    let text = body.to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Response::from_parts(parts, Body::from(text))
}
