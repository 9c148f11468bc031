//! The one place the API's error envelope is built.
//!
//! Every non-2xx response of the API is `{"error":{"code","message","details","request_id"}}` with
//! the reference's code for its status (and documented extensions for 405, 406, 410, 413, 415).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use practice_studio::model::{ErrorBody, ErrorDetail, ErrorEnvelope};

tokio::task_local! {
    /// The request id of the request being served, for error bodies.
    pub static REQUEST_ID: String;
}

/// The request id in force, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Seconds a client is asked to wait after a 503 (`Retry-After`; `retry_after` in v2).
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        details: Vec<ErrorDetail>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{message}")]
    Conflict {
        message: String,
        details: Vec<ErrorDetail>,
        retry_after: Option<u64>,
    },
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable {
        message: String,
        details: Vec<ErrorDetail>,
    },
    #[error("rate limit exceeded")]
    TooManyRequests { retry_after: u64 },
    /// Never shows its cause to the client; the cause is logged with the request id.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn invalid(details: Vec<ErrorDetail>) -> Self {
        ApiError::InvalidRequest {
            message: "Validation failed for one or more fields".into(),
            details,
        }
    }

    /// One problem of `field` of the kind `code` (one of `practice_studio::model::detail_code`).
    pub fn invalid_field(code: &str, field: &str, issue: impl Into<String>) -> Self {
        Self::invalid(vec![ErrorDetail::new(code, field, issue)])
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unprocessable { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_entity")
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::internal(format!("database: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let request_id = current_request_id();
        let (message, details) = match &self {
            ApiError::InvalidRequest { message, details }
            | ApiError::Unprocessable { message, details }
            | ApiError::Conflict {
                message, details, ..
            } => (message.clone(), details.clone()),
            ApiError::Internal(cause) => {
                tracing::error!(%request_id, cause, "internal error");
                ("An internal error occurred".to_owned(), Vec::new())
            }
            other => (other.to_string(), Vec::new()),
        };
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: code.to_owned(),
                message,
                details,
                request_id,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"practice-studio\""),
                );
            }
            ApiError::TooManyRequests { retry_after }
            | ApiError::Conflict {
                retry_after: Some(retry_after),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unavailable(_) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
                );
            }
            ApiError::MethodNotAllowed => {}
            _ => {}
        }
        response
    }
}
