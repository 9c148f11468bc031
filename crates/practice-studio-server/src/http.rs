//! Cross-cutting HTTP concerns: request and correlation ids, the per-request log line, panics,
//! authentication with rate limits, content negotiation, and the JSON body extractor.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::{secret_hash, CredentialKind, Principal, UserRef};
use crate::error::{ApiError, REQUEST_ID};
use crate::page_cache::PatientsGeneration;
use practice_studio::model::detail_code as code;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// A client's id is used when it is 1–128 visible ASCII characters; otherwise one is made.
fn usable_id(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    (!text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| text.to_owned())
}

fn new_request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("req-{hex}")
}

/// Outermost layer: request id, correlation id, and one log line per request (request id, route
/// template, status, latency). Never the path's values, a query, a header or a body: those carry
/// tokens and patient data.
pub async fn request_context(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = usable_id(request.headers().get(&X_REQUEST_ID)).unwrap_or_else(new_request_id);
    let correlation_id = usable_id(request.headers().get(&X_CORRELATION_ID));
    let method = request.method().clone();
    let mut response = REQUEST_ID
        .scope(request_id.clone(), next.run(request))
        .await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".into());
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(X_REQUEST_ID, value);
    }
    if let Some(correlation_id) = &correlation_id {
        if let Ok(value) = HeaderValue::from_str(correlation_id) {
            headers.insert(X_CORRELATION_ID, value);
        }
    }
    tracing::info!(
        request_id,
        correlation_id = correlation_id.as_deref().unwrap_or("-"),
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// Route layer: hands the matched route template to [`request_context`] for its log line.
pub async fn remember_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

/// Turns a panic into the 500 envelope; the panic's text stays in the log.
pub fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let text = cause
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| cause.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::internal(format!("panic: {text}")).into_response()
}

/// The API produces JSON: an `Accept` that excludes it is 406.
pub async fn negotiate_json(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    // Documents: invoices and receipts are PDFs; an attachment is whatever type it was stored as.
    let produces = if route.ends_with("/pdf") || route.ends_with("/receipt") {
        Some("application/pdf")
    } else if route.ends_with("/download") {
        None
    } else {
        Some("application/json")
    };
    if let (Some(accept), Some(produces)) = (request.headers().get(header::ACCEPT), produces) {
        let accepts = accept
            .to_str()
            .map(|a| accepts_media(a, produces))
            .unwrap_or(false);
        if !accepts {
            return ApiError::NotAcceptable(format!(
                "this route produces {produces}; the Accept header excludes it"
            ))
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether an `Accept` header admits `produces` (`type/subtype`), honouring `q=0`.
fn accepts_media(accept: &str, produces: &str) -> bool {
    let kind = produces.split('/').next().unwrap_or_default();
    let family = format!("{kind}/*");
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        !refused && (media == produces || media == family || media == "*/*")
    })
}

/// Authenticates the caller (Bearer token or legacy `ApiKey`), applies its rate limit, and
/// passes the [`Principal`] to the handler. Every API response carries the rate-limit headers.
pub async fn authenticate(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (principal, generation) = match principal_of(&app, request.headers()).await {
        Ok(found) => found,
        Err(error @ ApiError::Unauthorized(_)) => {
            let peer = peer_of(&request);
            return refuse_anonymous(&app, &peer, error).await;
        }
        Err(error) => return error.into_response(),
    };
    let unlimited = app
        .settings
        .unlimited_clients
        .contains(&principal.client_id);
    let decision =
        crate::ratelimit::check(&app, &principal.bucket, principal.rate_per_minute).await;
    let mut response = if decision.allowed || unlimited {
        request.extensions_mut().insert(principal);
        if let Some(generation) = generation {
            request.extensions_mut().insert(generation);
        }
        next.run(request).await
    } else {
        ApiError::TooManyRequests {
            retry_after: decision.retry_after,
        }
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(decision.reset));
    response
}

/// The caller's address, the bucket of requests without a valid credential.
fn peer_of(request: &Request) -> String {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Requests without a valid credential share a bucket per peer address (a clinic's desks may
/// share one address behind its router, so the premium rate): they carry the rate-limit headers
/// like every API response, and guessing credentials is slowed to that rate.
async fn refuse_anonymous(app: &AppState, peer: &str, error: ApiError) -> Response {
    let decision = crate::ratelimit::check(
        app,
        &format!("anonymous:{peer}"),
        crate::auth::Tier::Premium.default_rate(),
    )
    .await;
    let mut response = if decision.allowed {
        error.into_response()
    } else {
        ApiError::TooManyRequests {
            retry_after: decision.retry_after,
        }
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(decision.reset));
    response
}

/// The caller, and (for a bearer token) the patients' change counter read with it.
async fn principal_of(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<(Principal, Option<PatientsGeneration>), ApiError> {
    let missing = || {
        ApiError::Unauthorized("authentication required: send a Bearer token or an API key".into())
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, credential) = value.split_once(' ').ok_or_else(missing)?;
    let credential = credential.trim();
    let invalid = || ApiError::Unauthorized("the credential is invalid, expired or revoked".into());
    let now = app.clock.now();
    if scheme.eq_ignore_ascii_case("bearer") {
        // One query for the token, its client and its user (on the reader pool).
        let record = app
            .storage
            .bearer(&secret_hash(credential))
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(invalid)?;
        let (token, client) = (record.token, record.client);
        if token.revoked
            || token.expires_at <= now
            || token.kind != crate::storage::TokenKind::Access
            || !client.active
        {
            return Err(invalid());
        }
        let user = match (&token.user_id, record.user) {
            (None, _) => None,
            (Some(_), Some(user)) if user.active => Some(UserRef {
                id: user.id,
                name: user.name,
                email: user.email,
                role: user.role,
            }),
            // The user is gone or deactivated: the token dies with them.
            (Some(_), _) => return Err(invalid()),
        };
        let bucket = match &user {
            Some(user) => format!("client:{}:user:{}", client.id, user.id),
            None => format!("client:{}", client.id),
        };
        let principal = Principal {
            client_id: client.id,
            user,
            scopes: token.scopes,
            tier: client.tier,
            rate_per_minute: client.rate_per_minute,
            kind: CredentialKind::Bearer,
            bucket,
        };
        Ok((
            principal,
            Some(PatientsGeneration(record.patients_generation)),
        ))
    } else if scheme.eq_ignore_ascii_case("apikey") {
        let key = app
            .storage
            .api_key_by_hash(&secret_hash(credential))
            .await
            .map_err(ApiError::internal)?
            .filter(|k| !k.revoked)
            .ok_or_else(invalid)?;
        let principal = Principal {
            client_id: format!("api-key:{}", key.id),
            user: None,
            scopes: key.scopes,
            tier: key.tier,
            rate_per_minute: key.rate_per_minute,
            kind: CredentialKind::ApiKey,
            bucket: format!("key:{}", key.id),
        };
        Ok((principal, None))
    } else {
        Err(missing())
    }
}

/// A JSON request body: `Content-Type: application/json` (else 415), at most the body limit
/// (else 413), well-formed JSON of the right shape (else 400 naming the field).
pub struct ApiJson<T>(pub T, pub Bytes);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let media = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                media == "application/json" || media == "application/merge-patch+json"
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("the request body is too large".into())
                } else {
                    ApiError::invalid_field(code::INVALID_VALUE, "body", "could not be read")
                }
            })?;
        let value = parse_json(&bytes)?;
        Ok(ApiJson(value, bytes))
    }
}

/// Parses JSON, naming the field at fault (`contactInfo.address.postalCode`) when one is.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        // serde's message names the expected type, never the value sent: no patient data.
        let issue = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "is not well-formed JSON".to_owned()
            }
            _ => strip_position(&inner.to_string()),
        };
        let kind = if issue.starts_with("missing field") {
            code::REQUIRED
        } else if issue.starts_with("unknown variant") {
            code::NOT_ONE_OF
        } else if issue == "is not well-formed JSON" {
            code::INVALID_FORMAT
        } else {
            code::INVALID_TYPE
        };
        ApiError::invalid_field(kind, &field, issue)
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A list response: the envelope (`total`, `limit`, `offset`) around items the storage already
/// holds as JSON, joined by commas, under the collection's plural key.
pub(crate) fn list_body(
    collection: &str,
    total: u64,
    limit: u32,
    offset: u64,
    joined_items: &str,
) -> Response {
    json_response(list_bytes(collection, total, limit, offset, joined_items))
}

/// The bytes of a list envelope (see [`list_body`]).
pub(crate) fn list_bytes(
    collection: &str,
    total: u64,
    limit: u32,
    offset: u64,
    joined_items: &str,
) -> Bytes {
    let mut body = String::with_capacity(64 + joined_items.len());
    body.push_str(&format!(
        "{{\"total\":{total},\"limit\":{limit},\"offset\":{offset},\"{collection}\":["
    ));
    body.push_str(joined_items);
    body.push_str("]}");
    Bytes::from(body)
}

/// A 200 with a JSON body that is already encoded.
pub(crate) fn json_response(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_that_allow_json() {
        let json = |accept| accepts_media(accept, "application/json");
        assert!(json("application/json"));
        assert!(json("text/html, */*;q=0.1"));
        assert!(json("application/*"));
        assert!(!json("text/html"));
        assert!(!json("application/json;q=0"));
        assert!(!json("application/xml, text/csv"));
        let pdf = |accept| accepts_media(accept, "application/pdf");
        assert!(pdf("application/pdf"));
        assert!(pdf("application/pdf, application/json;q=0.5"));
        assert!(!pdf("application/json"));
    }

    #[test]
    fn request_ids_must_be_short_visible_ascii() {
        assert_eq!(
            usable_id(Some(&HeaderValue::from_static("abc-123"))).as_deref(),
            Some("abc-123")
        );
        assert_eq!(
            usable_id(Some(&HeaderValue::from_static("has space"))),
            None
        );
        let long = "x".repeat(129);
        assert_eq!(
            usable_id(Some(&HeaderValue::from_str(&long).expect("ascii"))),
            None
        );
    }
}
