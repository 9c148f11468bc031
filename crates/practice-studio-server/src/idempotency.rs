//! `Idempotency-Key` (an extension): a retried POST or PUT replays its first answer instead of
//! acting twice. Keys are scoped to the caller and bound to method, path and body; the effect and
//! the stored answer commit in one transaction, so a crash between them cannot double anything.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use practice_studio::model::detail_code as code;
use practice_studio::model::ErrorDetail;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::storage::{ClaimOutcome, IdempotencyClaim, StoredResponse};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// What to do with a request that may carry a key.
enum Begin {
    /// No key: just run it.
    Untracked,
    /// Run it holding this claim.
    Run(IdempotencyClaim),
    /// Answer with the first response.
    Replay(Response),
}

fn key_problem(code: &str, issue: &str) -> Vec<ErrorDetail> {
    vec![ErrorDetail::new(code, "Idempotency-Key", issue)]
}

async fn begin(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Begin, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(Begin::Untracked);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(key_problem(
                code::INVALID_FORMAT,
                "must be 1 to 255 visible ASCII characters",
            ))
        })?;
    let claim = IdempotencyClaim {
        scope: principal.bucket.clone(),
        key: key.to_owned(),
    };
    let body_hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now = app.clock.now();
    let outcome = app
        .storage
        .claim_idempotency_key(
            &claim,
            method,
            path,
            &body_hash,
            now,
            now + app.settings.idempotency_lease,
        )
        .await
        .map_err(ApiError::internal)?;
    match outcome {
        ClaimOutcome::Claimed => Ok(Begin::Run(claim)),
        ClaimOutcome::Replay(stored) => Ok(Begin::Replay(replay(stored))),
        ClaimOutcome::InProgress => Err(ApiError::Conflict {
            message: "a request with this Idempotency-Key is still running; retry shortly".into(),
            details: key_problem(
                code::IDEMPOTENCY_KEY_REUSED,
                "is in use by a request that has not finished",
            ),
            retry_after: Some(1),
        }),
        ClaimOutcome::Mismatch => Err(ApiError::Unprocessable {
            message: "this Idempotency-Key was used for a different request".into(),
            details: key_problem(
                code::IDEMPOTENCY_KEY_REUSED,
                "was already used with another method, path or body",
            ),
        }),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(etag) = stored.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// Runs a write under the request's `Idempotency-Key`, when it carries one: the retry of a
/// finished request gets the first answer again without running; a failed one frees the key so a
/// corrected retry (or the same one, after a transient failure) runs. `work` gets the claim to
/// store its answer with, in the write's own transaction.
pub async fn run(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    (method, path): (&str, &str),
    body: &[u8],
    work: impl AsyncFnOnce(Option<&IdempotencyClaim>) -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let claim = match begin(app, principal, headers, method, path, body).await? {
        Begin::Replay(response) => return Ok(response),
        Begin::Run(claim) => Some(claim),
        Begin::Untracked => None,
    };
    let result = work(claim.as_ref()).await;
    if result.is_err() {
        abandon(app, claim.as_ref()).await;
    }
    result
}

/// After a request that failed without committing anything: free the key, so a corrected retry
/// (or the same one, for a transient failure) runs.
async fn abandon(app: &AppState, claim: Option<&IdempotencyClaim>) {
    if let Some(claim) = claim {
        if let Err(error) = app.storage.release_idempotency_key(claim).await {
            tracing::warn!(%error, "could not release an idempotency key; it expires with its lease");
        }
    }
}
