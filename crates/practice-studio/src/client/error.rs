//! The one error type of the client, and how a response becomes one.

use std::time::Duration;

use crate::model::{ErrorDetail, ErrorEnvelope};

/// What the API said when it refused a request: the error envelope's fields and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    /// The envelope's `code`, e.g. `conflict`.
    pub code: String,
    pub message: String,
    /// Which fields were at fault (`contactInfo.email`, `If-Match`, `Idempotency-Key`…).
    pub details: Vec<ErrorDetail>,
    /// The request id the server logged the request under; quote it to the API's operator.
    pub request_id: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (request {})", self.request_id)?;
        }
        Ok(())
    }
}

/// Why a sign-in (a token request or the browser flow) did not produce tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The token endpoint refused: `invalid_grant` (wrong password, expired or reused refresh
    /// token), `invalid_client`, `invalid_scope`, … (RFC 6749 §5.2).
    #[error("the sign-in was refused ({error}): {description}")]
    Refused { error: String, description: String },
    /// The sign-in page sent the browser back with an error, e.g. `access_denied` when the person
    /// pressed Cancel.
    #[error("the sign-in in the browser ended with {error}: {description}")]
    Browser { error: String, description: String },
    /// The redirect carried another `state` than the one sent: a forged or stale redirect.
    #[error("the sign-in redirect carried an unexpected state; it was ignored")]
    StateMismatch,
    /// The caller's callback could not open the browser.
    #[error("the browser could not be opened: {0}")]
    OpenBrowser(String),
    /// Nobody came back to the loopback redirect in time.
    #[error("no sign-in arrived within {0:?}")]
    TimedOut(Duration),
    /// The loopback redirect listener failed.
    #[error("the sign-in redirect listener failed: {0}")]
    Listener(#[source] std::io::Error),
    /// The grant needs tokens the client does not have (e.g. refresh without a refresh token).
    #[error("no credentials to sign in with: {0}")]
    NoCredentials(&'static str),
}

/// Everything a call through [`Client`](super::Client) can fail with.
///
/// Messages never contain a token, a secret, a URL with its query, or a body of a successful
/// response (those carry patient data).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error the API answered that no other variant names (400 validation, 422, 500, 502…).
    #[error("the API answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        details: Vec<ErrorDetail>,
        request_id: String,
    },
    /// 429 from the API, or this client's own budget could not fit the request within its
    /// deadline. `retry_after` is when to try again.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Option<Duration> },
    /// 401: the credential is missing, wrong, expired or revoked (after one refresh, for tokens).
    #[error("not authorized: {0}")]
    Unauthorized(Problem),
    /// 403: the credential lacks the scope or role.
    #[error("forbidden: {0}")]
    Forbidden(Problem),
    /// 404.
    #[error("not found: {0}")]
    NotFound(Problem),
    /// 409 for a business clash (a duplicate, a booked slot).
    #[error("conflict: {0}")]
    Conflict(Problem),
    /// 409 on `If-Match`: the resource changed since the version the change was based on.
    #[error("the resource changed since the version sent in If-Match: {0}")]
    VersionMismatch(Problem),
    /// 409 on `Idempotency-Key`: the first request with this key is still running.
    #[error("a request with this Idempotency-Key is still running: {problem}")]
    IdempotencyInProgress {
        retry_after: Option<Duration>,
        problem: Problem,
    },
    /// 422 on `Idempotency-Key`: the key was used before for another method, path or body.
    #[error("this Idempotency-Key was used for another request: {0}")]
    IdempotencyMismatch(Problem),
    /// 410: the resource or cursor is gone; resynchronise.
    #[error("gone: {0}")]
    Gone(Problem),
    /// The request could not be sent or its answer not received (refused connection, reset, DNS,
    /// TLS). The error's URL is stripped: it may carry search text.
    #[error("could not reach the Practice Studio API: {0}")]
    Network(#[source] reqwest::Error),
    /// No answer within the per-attempt timeout or the call's deadline.
    #[error("the Practice Studio API did not answer within {after:?}")]
    Timeout { after: Duration },
    /// The answer was not what the API sends. `excerpt` quotes the start of an error body (which
    /// never carries patient data); a successful body is never quoted, only where it broke.
    #[error("the API's answer ({status}) could not be read: {excerpt}")]
    Decode { status: u16, excerpt: String },
    /// Signing in failed.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The client was configured with something unusable (base URL, proxy, CA file, link).
    #[error("invalid {setting}: {reason}")]
    Config {
        setting: &'static str,
        reason: String,
    },
}

impl Error {
    /// Whether sending the same request again later may succeed. The client already retried
    /// retryable failures of GETs and keyed writes as its [`RetryPolicy`](super::RetryPolicy)
    /// allows; an outbox may try again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::IdempotencyInProgress { .. }
            | Error::Network(_)
            | Error::Timeout { .. } => true,
            Error::Api { status, .. } => matches!(status, 502..=504),
            Error::Unauthorized(_)
            | Error::Forbidden(_)
            | Error::NotFound(_)
            | Error::Conflict(_)
            | Error::VersionMismatch(_)
            | Error::IdempotencyMismatch(_)
            | Error::Gone(_)
            | Error::Decode { .. }
            | Error::Config { .. } => false,
            Error::SignIn(error) => {
                matches!(error, SignInError::TimedOut(_) | SignInError::Listener(_))
            }
        }
    }

    /// The HTTP status the API answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Unauthorized(p)
            | Error::Forbidden(p)
            | Error::NotFound(p)
            | Error::Conflict(p)
            | Error::VersionMismatch(p)
            | Error::IdempotencyMismatch(p)
            | Error::Gone(p)
            | Error::IdempotencyInProgress { problem: p, .. } => Some(p.status),
            _ => None,
        }
    }

    pub(crate) fn network(error: reqwest::Error) -> Self {
        Error::Network(error.without_url())
    }

    pub(crate) fn config(setting: &'static str, reason: impl std::fmt::Display) -> Self {
        Error::Config {
            setting,
            reason: reason.to_string(),
        }
    }
}

/// The longest excerpt of an error body kept in [`Error::Decode`].
const EXCERPT_CHARS: usize = 120;

/// Builds the error for a non-2xx answer from its status, `Retry-After` and body.
pub(crate) fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
    let envelope = match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => envelope.error,
        Err(_) if status == 429 => return Error::RateLimited { retry_after },
        Err(_) => {
            // Gateways answer 502/503/504 with HTML of their own; keep those retryable.
            if matches!(status, 502..=504) {
                return Error::Api {
                    status,
                    code: String::new(),
                    message: "the gateway answered without the API's error envelope".into(),
                    details: Vec::new(),
                    request_id: String::new(),
                };
            }
            return Error::Decode {
                status,
                excerpt: excerpt(body),
            };
        }
    };
    let names_field = |field: &str| envelope.details.iter().any(|d| d.field == field);
    let problem = |e: crate::model::ErrorBody| Problem {
        status,
        code: e.code,
        message: e.message,
        details: e.details,
        request_id: e.request_id,
    };
    match status {
        401 => Error::Unauthorized(problem(envelope)),
        403 => Error::Forbidden(problem(envelope)),
        404 => Error::NotFound(problem(envelope)),
        409 if names_field("If-Match") => Error::VersionMismatch(problem(envelope)),
        409 if names_field("Idempotency-Key") => Error::IdempotencyInProgress {
            retry_after,
            problem: problem(envelope),
        },
        409 => Error::Conflict(problem(envelope)),
        410 => Error::Gone(problem(envelope)),
        422 if names_field("Idempotency-Key") => Error::IdempotencyMismatch(problem(envelope)),
        429 => Error::RateLimited { retry_after },
        _ => Error::Api {
            status,
            code: envelope.code,
            message: envelope.message,
            details: envelope.details,
            request_id: envelope.request_id,
        },
    }
}

/// The start of an error body, printable characters only.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(EXCERPT_CHARS)
        .collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    if out.trim().is_empty() {
        out = format!("an empty or blank body of {} bytes", body.len());
    }
    out
}

/// Where a successful body failed to parse, without quoting it (it carries patient data).
pub(crate) fn decode_success(status: u16, error: &serde_json::Error) -> Error {
    let category = match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not well-formed JSON",
        serde_json::error::Category::Data => "JSON of another shape",
        serde_json::error::Category::Eof => "cut short",
    };
    Error::Decode {
        status,
        excerpt: format!(
            "the body is {category} (line {}, column {}); it is not quoted because it may carry patient data",
            error.line(),
            error.column()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(code: &str, field: Option<&str>) -> Vec<u8> {
        let details = match field {
            Some(f) => serde_json::json!([{ "field": f, "issue": "x" }]),
            None => serde_json::json!([]),
        };
        serde_json::to_vec(&serde_json::json!({
            "error": { "code": code, "message": "m", "details": details, "request_id": "req-1" }
        }))
        .expect("json")
    }

    #[test]
    fn conflicts_are_told_apart_by_the_field_they_name() {
        assert!(matches!(
            from_response(409, None, &envelope("conflict", Some("If-Match"))),
            Error::VersionMismatch(_)
        ));
        let in_progress = from_response(
            409,
            Some(Duration::from_secs(1)),
            &envelope("conflict", Some("Idempotency-Key")),
        );
        assert!(
            matches!(in_progress, Error::IdempotencyInProgress { retry_after: Some(d), .. } if d == Duration::from_secs(1))
        );
        assert!(in_progress.is_retryable());
        assert!(matches!(
            from_response(409, None, &envelope("conflict", None)),
            Error::Conflict(_)
        ));
        assert!(matches!(
            from_response(
                422,
                None,
                &envelope("unprocessable_entity", Some("Idempotency-Key"))
            ),
            Error::IdempotencyMismatch(_)
        ));
        let validation = from_response(422, None, &envelope("unprocessable_entity", None));
        assert!(matches!(validation, Error::Api { status: 422, .. }));
        assert!(!validation.is_retryable());
    }

    #[test]
    fn statuses_map_to_their_variants_and_retryability() {
        let cases: [(u16, bool); 9] = [
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (410, false),
            (500, false),
            (502, true),
            (503, true),
            (504, true),
        ];
        for (status, retryable) in cases {
            let error = from_response(status, None, &envelope("x", None));
            assert_eq!(error.is_retryable(), retryable, "{status}: {error:?}");
            assert_eq!(error.status(), Some(status));
        }
        assert!(matches!(
            from_response(429, Some(Duration::from_secs(3)), b"not json"),
            Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3)
        ));
        assert!(from_response(503, None, b"<html>busy</html>").is_retryable());
    }

    #[test]
    fn an_unreadable_error_body_is_quoted_briefly() {
        let body = "x".repeat(500);
        match from_response(418, None, body.as_bytes()) {
            Error::Decode {
                status: 418,
                excerpt,
            } => {
                assert!(excerpt.chars().count() <= EXCERPT_CHARS + 1, "{excerpt}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_successful_body_is_never_quoted() {
        let body = br#"{"firstName": "Zebulon", "total": "Quixote"}"#;
        let error =
            serde_json::from_slice::<crate::model::PatientList>(body).expect_err("wrong shape");
        let decoded = decode_success(200, &error);
        let text = format!("{decoded} {decoded:?}");
        assert!(
            !text.contains("Zebulon") && !text.contains("Quixote"),
            "{text}"
        );
    }
}
