//! Improved errors (v2 beta): every error of the v2 routes here is v1's envelope plus
//! `doc_url`, a page this server serves about the error's code (readable without a credential),
//! and, when the answer says when to retry (429, 503, a key still in use), `retry_after` in
//! seconds, the same as the `Retry-After` header.

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use practice_studio::model::detail_code;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;

/// Every error code the API answers with: (code, status, title, what to do).
pub const ERROR_CODES: [(&str, u16, &str, &str); 14] = [
    ("invalid_request", 400, "Request validation failed", "Fix the fields named in details (dotted paths) and send the request again."),
    ("unauthorized", 401, "Authentication required", "Send a valid Bearer token (POST /oauth/token) or API key; a token that expired or was revoked must be renewed."),
    ("forbidden", 403, "Permission denied", "The credential lacks the scope the route needs; ask for a token with it."),
    ("not_found", 404, "Resource not found", "The id or route does not exist (or no longer does)."),
    ("method_not_allowed", 405, "Method not allowed", "The route exists but not with this method; see the Allow header."),
    ("not_acceptable", 406, "Not acceptable", "The Accept header excludes the only type this route produces."),
    ("conflict", 409, "Resource conflict", "The resource changed since the version in If-Match (read it again and reapply), the time is taken, or the Idempotency-Key is still in use (retry after retry_after)."),
    ("gone", 410, "Gone", "The cursor or resource is past its retention; start again from the beginning."),
    ("payload_too_large", 413, "Payload too large", "Send at most 1 MiB."),
    ("unsupported_media_type", 415, "Unsupported media type", "Send the body as Content-Type: application/json."),
    ("unprocessable_entity", 422, "Request semantically incorrect", "The request is well-formed but cannot be carried out (details say why), or its Idempotency-Key was used for another request."),
    ("too_many_requests", 429, "Rate limit exceeded", "Wait retry_after seconds; keep within X-RateLimit-Remaining."),
    ("server_error", 500, "Internal server error", "Retry later; report the request_id if it persists."),
    ("service_unavailable", 503, "Service temporarily unavailable", "Retry after retry_after seconds."),
];

/// `GET /api/v2/errors/{code}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDoc {
    pub code: String,
    /// The HTTP status it comes with.
    pub status: u16,
    pub title: String,
    /// What it means and what to do.
    pub description: String,
    /// For the codes whose answers name fields (400, 409, 422): the codes a detail may carry
    /// (`details[].code`), each with its meaning. Stable: codes are added, never renamed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail_codes: Vec<DetailCodeDoc>,
}

/// One code of `details[].code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailCodeDoc {
    pub code: String,
    pub description: String,
}

/// `GET /api/v2/errors/{code}`.
#[utoipa::path(get, path = "/api/v2/errors/{code}", tag = "v2 beta", summary = "About an error code",
    description = "What an error code means and what to do; the `doc_url` of v2 errors points here. No credential needed.",
    params(("code" = String, Path, description = "An error code, e.g. invalid_request")),
    responses((status = 200, description = "The code's documentation", body = ErrorDoc)),
    security(()))]
pub(crate) async fn doc(Path(code): Path<String>) -> Result<Json<ErrorDoc>, ApiError> {
    ERROR_CODES
        .iter()
        .find(|(c, _, _, _)| *c == code)
        .map(|(code, status, title, description)| {
            Json(ErrorDoc {
                code: (*code).to_owned(),
                status: *status,
                title: (*title).to_owned(),
                description: (*description).to_owned(),
                detail_codes: if matches!(*status, 400 | 409 | 422) {
                    detail_code::ALL
                        .iter()
                        .map(|(code, description)| DetailCodeDoc {
                            code: (*code).to_owned(),
                            description: (*description).to_owned(),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
        })
        .ok_or_else(|| ApiError::NotFound("no such error code".into()))
}

/// The page about `code`.
pub fn doc_url(code: &str) -> String {
    format!("/api/v2/errors/{code}")
}

/// Route layer: adds `doc_url` and `retry_after` to the v1 envelope of an error.
pub async fn improve(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() < 400 || !is_json {
        return response;
    }
    let retry_after: Option<u64> = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let mut envelope: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(error) = envelope.get_mut("error").and_then(Value::as_object_mut) {
        let code = error
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("server_error")
            .to_owned();
        error.insert("doc_url".into(), Value::String(doc_url(&code)));
        if let Some(seconds) = retry_after {
            error.insert("retry_after".into(), Value::from(seconds));
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(envelope.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt as _;

    async fn improved(error: fn() -> ApiError) -> (axum::http::HeaderMap, Value) {
        let app = Router::new()
            .route("/x", get(move || async move { error() }))
            .route_layer(axum::middleware::from_fn(improve));
        let response = app
            .oneshot(Request::get("/x").body(Body::empty()).expect("request"))
            .await
            .expect("answers");
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (headers, serde_json::from_slice(&bytes).expect("json"))
    }

    #[tokio::test]
    async fn a_503_says_when_to_retry_in_the_header_and_the_body() {
        let (headers, body) =
            improved(|| ApiError::Unavailable("the database is busy".into())).await;
        assert_eq!(headers[header::RETRY_AFTER], "5");
        assert_eq!(body["error"]["code"], "service_unavailable");
        assert_eq!(body["error"]["retry_after"], 5);
        assert_eq!(
            body["error"]["doc_url"],
            "/api/v2/errors/service_unavailable"
        );
        // Without Retry-After there is no retry_after.
        let (_, body) = improved(|| ApiError::NotFound("no patient".into())).await;
        assert!(body["error"].get("retry_after").is_none());
        assert_eq!(body["error"]["doc_url"], "/api/v2/errors/not_found");
    }

    #[test]
    fn detail_codes_are_listed_once_in_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for (code, description) in detail_code::ALL {
            assert!(seen.insert(*code), "{code} twice");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert!(!description.is_empty(), "{code}");
        }
    }

    #[test]
    fn every_code_the_api_answers_with_has_a_page() {
        // The codes of crate::error::ApiError, status by status.
        for (status, code) in [
            (400, "invalid_request"),
            (401, "unauthorized"),
            (403, "forbidden"),
            (404, "not_found"),
            (405, "method_not_allowed"),
            (406, "not_acceptable"),
            (409, "conflict"),
            (410, "gone"),
            (413, "payload_too_large"),
            (415, "unsupported_media_type"),
            (422, "unprocessable_entity"),
            (429, "too_many_requests"),
            (500, "server_error"),
            (503, "service_unavailable"),
        ] {
            let entry = ERROR_CODES.iter().find(|(c, _, _, _)| *c == code);
            assert_eq!(entry.map(|e| e.1), Some(status), "{code}");
        }
    }
}
