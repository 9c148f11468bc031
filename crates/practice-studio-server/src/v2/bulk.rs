//! Bulk writes (v2 beta): up to 100 creates or updates in one request, each applied on its own
//! exactly as its single v1 request would be — the same validation, events, `If-Match`, and the
//! same `Idempotency-Key` space (an item whose key a single request already used replays that
//! answer, and the other way round). One bad item does not stop the others; the answer lists each
//! item's status with its resource or its error. A bulk request costs one request of the rate
//! limit per 10 items (rounded up).

use axum::body::{to_bytes, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use practice_studio::model::detail_code as code;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{parse_json, ApiJson};
use crate::idempotency::IDEMPOTENCY_KEY;
use crate::params::detail;

/// The most items one bulk request may carry.
pub const MAX_ITEMS: usize = 100;
/// Items per request of the rate limit.
pub const ITEMS_PER_REQUEST: usize = 10;

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkOperation {
    Create,
    Update,
}

/// One item of a bulk request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkItem {
    /// `create` (POST) or `update` (PUT); payments are always created.
    #[serde(default)]
    pub op: Option<BulkOperation>,
    /// The resource to update (patients, appointments) or the invoice paid (payments).
    #[serde(default)]
    pub id: Option<String>,
    /// As the single request's `Idempotency-Key` header, in the same key space.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255, pattern = "^[!-~]+$")]
    pub idempotency_key: Option<String>,
    /// As the single request's `If-Match` header: the version the update is based on.
    #[serde(default)]
    pub if_match: Option<i64>,
    /// The single request's body, byte for byte (the key is bound to it).
    #[schema(value_type = Object)]
    pub body: Box<RawValue>,
}

/// `POST /api/v2/…/bulk`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// 1 to 100 items, applied in order, each on its own.
    pub items: Vec<BulkItem>,
}

/// What became of one item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    /// The item's place in the request.
    pub index: usize,
    /// The status its single request would have answered.
    pub status: u16,
    /// The resource (or, for payments, the payment and the invoice), on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// The error envelope's `error`, on failure (with `retry_after` in seconds when its single
    /// request would have answered `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// True when the answer is a replay of the first one for its key.
    pub replayed: bool,
}

/// The answer of a bulk request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub results: Vec<BulkResult>,
    pub succeeded: usize,
    pub failed: usize,
}

/// Which single route an item goes to.
#[derive(Clone, Copy)]
pub enum Target {
    Patients,
    Appointments,
    Payments,
}

/// Spends the rest of the request's rate-limit cost (the layer charged one).
async fn charge(app: &AppState, principal: &Principal, items: usize) -> Result<(), ApiError> {
    if app
        .settings
        .unlimited_clients
        .contains(&principal.client_id)
    {
        return Ok(());
    }
    let cost = items.div_ceil(ITEMS_PER_REQUEST).max(1);
    for _ in 1..cost {
        let decision =
            crate::ratelimit::check(app, &principal.bucket, principal.rate_per_minute).await;
        if !decision.allowed {
            return Err(ApiError::TooManyRequests {
                retry_after: decision.retry_after.max(1),
            });
        }
    }
    Ok(())
}

fn item_problem(code: &str, index: usize, field: &str, issue: &str) -> ApiError {
    ApiError::invalid(vec![detail(
        code,
        &format!("items[{index}].{field}"),
        issue,
    )])
}

async fn run_item(
    app: &AppState,
    principal: &Principal,
    target: Target,
    index: usize,
    item: &BulkItem,
) -> BulkResult {
    let mut headers = HeaderMap::new();
    let mut header_problem = None;
    if let Some(key) = &item.idempotency_key {
        match HeaderValue::from_str(key) {
            Ok(value) => {
                headers.insert(IDEMPOTENCY_KEY, value);
            }
            Err(_) => {
                header_problem = Some(item_problem(
                    code::INVALID_FORMAT,
                    index,
                    "idempotencyKey",
                    "must be 1 to 255 visible ASCII characters",
                ))
            }
        }
    }
    if let Some(version) = item.if_match {
        if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
            headers.insert(axum::http::header::IF_MATCH, value);
        }
    }
    let bytes = Bytes::copy_from_slice(item.body.get().as_bytes());
    let response = match header_problem {
        Some(problem) => problem.into_response(),
        None => dispatch(app, principal, target, index, item, headers, bytes).await,
    };
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    // An item has no headers of its own: its `Retry-After` (a key still in use, 503) goes into
    // its error as `retry_after`, as the v2 envelope carries it.
    let retry_after: Option<u64> = response
        .headers()
        .get(axum::http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = to_bytes(response.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ok = (200..300).contains(&status);
    let error = (!ok).then(|| {
        let mut error = json.get("error").cloned().unwrap_or_else(|| json.clone());
        if let (Some(seconds), Value::Object(fields)) = (retry_after, &mut error) {
            fields.insert("retry_after".into(), Value::from(seconds));
        }
        error
    });
    BulkResult {
        index,
        status,
        resource: ok.then_some(json),
        error,
        replayed,
    }
}

async fn dispatch(
    app: &AppState,
    principal: &Principal,
    target: Target,
    index: usize,
    item: &BulkItem,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let value: Value = match parse_json(&bytes) {
        Ok(value) => value,
        Err(error) => return error.into_response(),
    };
    let state = State(app.clone());
    let who = Extension(principal.clone());
    let body = ApiJson(value, bytes);
    let needs_id = |what: &str| {
        item_problem(
            code::REQUIRED,
            index,
            "id",
            &format!("is required to {what}"),
        )
    };
    let result = match (target, item.op.unwrap_or(BulkOperation::Create), &item.id) {
        (Target::Patients, BulkOperation::Create, _) => {
            crate::patients::create(state, who, headers, body).await
        }
        (Target::Patients, BulkOperation::Update, Some(id)) => {
            crate::patients::update(state, who, Path(id.clone()), headers, body).await
        }
        (Target::Appointments, BulkOperation::Create, _) => {
            crate::appointments::create(state, who, headers, body).await
        }
        (Target::Appointments, BulkOperation::Update, Some(id)) => {
            crate::appointments::update(state, who, Path(id.clone()), headers, body).await
        }
        (Target::Payments, BulkOperation::Create, Some(id)) => {
            crate::billing::pay(state, who, Path(id.clone()), headers, body).await
        }
        (Target::Payments, BulkOperation::Update, _) => Err(item_problem(
            code::NOT_ONE_OF,
            index,
            "op",
            "payments can only be created",
        )),
        (Target::Payments, _, None) => Err(needs_id("name the invoice paid")),
        (_, BulkOperation::Update, None) => Err(needs_id("update")),
    };
    match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Runs a bulk request against `target`.
pub async fn run(
    app: AppState,
    principal: Principal,
    target: Target,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let request: BulkRequest = parse_json(bytes)?;
    if request.items.is_empty() || request.items.len() > MAX_ITEMS {
        return Err(ApiError::invalid(vec![detail(
            code::REQUIRED,
            "items",
            "must hold 1 to 100 items",
        )]));
    }
    // The items' shape is the request's: a malformed item refuses the whole request, before
    // anything runs. What each item asks for is judged on its own below.
    let mut problems = Vec::new();
    for (index, item) in request.items.iter().enumerate() {
        if !item.body.get().trim_start().starts_with('{') {
            problems.push(detail(
                code::INVALID_TYPE,
                &format!("items[{index}].body"),
                "must be a JSON object",
            ));
        }
        if let Some(key) = &item.idempotency_key {
            if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                problems.push(detail(
                    code::INVALID_FORMAT,
                    &format!("items[{index}].idempotencyKey"),
                    "must be 1 to 255 visible ASCII characters",
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    charge(&app, &principal, request.items.len()).await?;
    let mut results = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.iter().enumerate() {
        results.push(run_item(&app, &principal, target, index, item).await);
    }
    let succeeded = results
        .iter()
        .filter(|r| (200..300).contains(&r.status))
        .count();
    let failed = results.len() - succeeded;
    Ok((
        StatusCode::OK,
        Json(BulkResponse {
            results,
            succeeded,
            failed,
        }),
    )
        .into_response())
}
