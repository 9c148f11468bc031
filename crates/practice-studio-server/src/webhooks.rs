//! Webhooks (registration is an extension, `admin:webhooks`): subscriptions, secret rotation,
//! delivery history, and the worker that delivers every event at least once, signed.
//!
//! Deliveries are POSTed with `X-PracticeStudio-Signature: t=…,v1=…` (the scheme documented in
//! `practice_studio::webhook`, signed with the same code receivers verify with),
//! `X-PracticeStudio-Event` and `X-PracticeStudio-Delivery` (the event id). A 2xx within the
//! timeout is success; anything else is retried with exponential backoff from a durable queue.
//! Ordering is not promised: receivers dedupe by event id.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::Duration;
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Delivery, DeliveryList, NewWebhook, Webhook, WebhookList, WebhookSecret,
};
use rand::Rng;
use utoipa::OpenApi;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::events::EVENT_TYPES;
use crate::http::{parse_json, ApiJson};
use crate::openapi::Extension as DocExtension;
use crate::params::detail;
use crate::storage::{AttemptOutcome, DeliveryRecord, DueDelivery, WebhookRecord};

/// How long the old secret keeps signing after a rotation.
const ROTATION_OVERLAP_HOURS: i64 = 24;
/// Deliveries sent at once by the worker.
const PARALLEL_DELIVERIES: usize = 8;

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", get(get_one).delete(delete))
        .route("/api/v1/webhooks/{id}/rotate-secret", post(rotate))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(list, create, get_one, delete, rotate, deliveries),
    components(schemas(NewWebhook, Webhook, WebhookList, WebhookSecret, Delivery, DeliveryList)),
    tags((name = "Webhooks", description = "Webhook subscriptions and deliveries"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[DocExtension] = &[
    ("/api/v1/webhooks", "get", "The reference describes webhooks but not how to subscribe; these routes do."),
    ("/api/v1/webhooks", "post", "Subscribing: the secret that signs deliveries is shown once, here."),
    ("/api/v1/webhooks/{webhook_id}", "get", "A subscription's state, including why it was disabled."),
    ("/api/v1/webhooks/{webhook_id}", "delete", "Unsubscribing."),
    ("/api/v1/webhooks/{webhook_id}/rotate-secret", "post", "Secrets must be replaceable without missing a delivery: the old one keeps signing for 24 hours."),
    ("/api/v1/webhooks/{webhook_id}/deliveries", "get", "Subscribers need to see what was delivered, what failed and why."),
];

pub(crate) fn view(record: &WebhookRecord, secret: Option<String>) -> Webhook {
    Webhook {
        id: record.id.clone(),
        url: record.url.clone(),
        events: record.events.clone(),
        active: record.active,
        disabled_reason: record.disabled_reason.clone(),
        failing_since: record.failing_since,
        created: record.created,
        secret,
    }
}

fn new_secret() -> String {
    format!("whsec_{:032x}", rand::rng().random::<u128>())
}

/// Who a subscription belongs to: the user of a user token, else the client or key.
pub(crate) fn owner_of(principal: &Principal) -> String {
    match &principal.user {
        Some(user) => format!("{}/{}", principal.client_id, user.id),
        None => principal.client_id.clone(),
    }
}

pub(crate) async fn own_webhook(
    app: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<WebhookRecord, ApiError> {
    principal.require(Scope::AdminWebhooks)?;
    app.storage
        .webhook(id)
        .await
        .map_err(ApiError::internal)?
        .filter(|w| w.owner == owner_of(principal))
        .ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))
}

/// Whether an address is one a webhook may not reach without the allowlist: private,
/// loopback, link-local, shared (CGNAT), unspecified, broadcast, multicast or documentation.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

fn allowed(app: &AppState, ip: IpAddr) -> bool {
    !is_internal(ip)
        || app
            .settings
            .webhook_allowlist
            .iter()
            .any(|n| n.contains(&ip))
}

/// Checks a target URL's shape (and an IP literal's address); names are checked when delivering.
fn check_url(app: &AppState, text: &str) -> Result<url::Url, ApiError> {
    let url = url::Url::parse(text).map_err(|_| {
        ApiError::invalid_field(code::UNSAFE_URL, "url", "must be an absolute http(s) URL")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid_field(
            code::UNSAFE_URL,
            "url",
            "must use http or https",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid_field(
            code::UNSAFE_URL,
            "url",
            "must not carry credentials; deliveries are signed instead",
        ));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
        None => {
            return Err(ApiError::invalid_field(
                code::UNSAFE_URL,
                "url",
                "must name a host",
            ))
        }
    };
    if let Some(ip) = ip {
        if !allowed(app, ip) {
            return Err(ApiError::Unprocessable {
                message: format!("{ip} is a private, loopback or link-local address"),
                details: vec![detail(
                    code::UNSAFE_URL,
                    "url",
                    "must not point into a private network",
                )],
            });
        }
    }
    Ok(url)
}

/// `GET /api/v1/webhooks`.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "Webhooks", summary = "List your webhooks",
    responses((status = 200, description = "The caller's subscriptions (secrets are not shown)", body = WebhookList)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<WebhookList>, ApiError> {
    principal.require(Scope::AdminWebhooks)?;
    let owner = owner_of(&principal);
    let webhooks: Vec<Webhook> = app
        .storage
        .webhooks()
        .await
        .map_err(ApiError::internal)?
        .iter()
        .filter(|w| w.owner == owner)
        .map(|w| view(w, None))
        .collect();
    Ok(Json(WebhookList {
        total: webhooks.len() as u64,
        webhooks,
    }))
}

/// `POST /api/v1/webhooks`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "Webhooks", summary = "Subscribe",
    description = "Registers a URL for event types. The subscription receives only events about resources its creator may read (e.g. `record.created` needs `read:records`), committed after it was registered. The answer carries the signing secret, once.",
    request_body(content = NewWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "The subscription, with its secret", body = Webhook),
        (status = 422, description = "The URL points into a private network", body = practice_studio::model::ErrorEnvelope),
    ),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn create(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    ApiJson(_, bytes): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AdminWebhooks)?;
    let input: NewWebhook = parse_json(&bytes)?;
    let url = check_url(&app, &input.url)?;
    let mut problems = Vec::new();
    if input.events.is_empty() {
        problems.push(detail(
            code::REQUIRED,
            "events",
            "must name at least one event type",
        ));
    }
    for event in &input.events {
        if !EVENT_TYPES.iter().any(|(name, _, _)| name == event) {
            problems.push(detail(
                code::NOT_ONE_OF,
                "events",
                &format!("{event:?} is not an event type"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let mut events = input.events.clone();
    events.sort();
    events.dedup();
    let secret = new_secret();
    let record = WebhookRecord {
        id: format!("WH-{:016x}", rand::rng().random::<u64>()),
        url: url.to_string(),
        events,
        secret: secret.clone(),
        previous_secret: None,
        previous_until: None,
        owner: owner_of(&principal),
        scopes: principal.scopes.clone(),
        active: true,
        disabled_reason: None,
        failing_since: None,
        from_seq: 0,
        created: app.clock.now(),
    };
    app.storage
        .insert_webhook(&record)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(webhook = %record.id, "webhook registered");
    let location = format!("/api/v1/webhooks/{}", record.id);
    let mut response = (StatusCode::CREATED, Json(view(&record, Some(secret)))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /api/v1/webhooks/{id}`.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}", tag = "Webhooks", summary = "A webhook",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 200, description = "The subscription", body = Webhook)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn get_one(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let record = own_webhook(&app, &principal, &id).await?;
    Ok(Json(view(&record, None)))
}

/// `DELETE /api/v1/webhooks/{id}`.
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", tag = "Webhooks", summary = "Unsubscribe",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 204, description = "Removed, with its pending deliveries")),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn delete(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    own_webhook(&app, &principal, &id).await?;
    app.storage
        .delete_webhook(&id)
        .await
        .map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhooks/{id}/rotate-secret`.
#[utoipa::path(post, path = "/api/v1/webhooks/{webhook_id}/rotate-secret", tag = "Webhooks", summary = "Rotate the secret",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 200, description = "The new secret; the old one keeps signing for 24 hours (two v1 values)", body = WebhookSecret)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn rotate(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<WebhookSecret>, ApiError> {
    own_webhook(&app, &principal, &id).await?;
    let secret = new_secret();
    let until = app.clock.now() + Duration::hours(ROTATION_OVERLAP_HOURS);
    app.storage
        .rotate_webhook_secret(&id, &secret, until)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no webhook {id}")))?;
    tracing::info!(webhook = %id, "webhook secret rotated");
    Ok(Json(WebhookSecret {
        secret,
        previous_valid_until: until,
    }))
}

/// `GET /api/v1/webhooks/{id}/deliveries`.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = "Webhooks", summary = "Deliveries",
    params(
        ("webhook_id" = String, Path, description = "Webhook ID"),
        ("limit" = Option<u32>, Query, description = "Most recent deliveries (default 20, at most 100)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "The latest deliveries, newest first", body = DeliveryList)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn deliveries(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Result<Json<DeliveryList>, ApiError> {
    own_webhook(&app, &principal, &id).await?;
    let limit = match params.get("limit").map(|v| v.parse::<u32>()) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid_field(
                code::OUT_OF_RANGE,
                "limit",
                "must be a whole number from 1 to 100",
            ))
        }
    };
    let records = app
        .storage
        .webhook_deliveries(&id, limit)
        .await
        .map_err(ApiError::internal)?;
    let deliveries: Vec<Delivery> = records.into_iter().map(delivery_view).collect();
    Ok(Json(DeliveryList {
        total: deliveries.len() as u64,
        deliveries,
    }))
}

pub(crate) fn delivery_view(record: DeliveryRecord) -> Delivery {
    Delivery {
        event_id: record.event_id,
        event: record.event_type,
        status: record.status,
        attempts: record.attempts,
        next_attempt: record.next_attempt,
        last_attempt: record.last_attempt,
        last_response_code: record.last_status,
        last_error: record.last_error,
        created: record.created,
    }
}

/// Resolves target names and keeps only addresses a webhook may reach, so a name cannot lead a
/// delivery into the clinic's network (the connection uses exactly the addresses checked here).
struct GuardedResolver {
    allowlist: Vec<ipnet::IpNet>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowlist = self.allowlist.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| !is_internal(a.ip()) || allowlist.iter().any(|n| n.contains(&a.ip())))
                .collect();
            if permitted.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to private, loopback or link-local addresses")
                        .into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// Delivers events for as long as the server runs: fans new events out into deliveries, sends
/// what is due (a few at once), and sleeps until the next event or the next poll.
pub(crate) async fn run(app: AppState) {
    let http = match reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            allowlist: app.settings.webhook_allowlist.clone(),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(app.settings.webhook_timeout)
        .user_agent(concat!(
            "PracticeStudio-Webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
    {
        Ok(http) => http,
        Err(error) => {
            tracing::error!(%error, "webhook deliveries cannot start");
            return;
        }
    };
    let mut events = app.storage.watch_events();
    loop {
        events.borrow_and_update();
        if let Err(error) = work(&app, &http).await {
            tracing::warn!(%error, "webhook delivery round failed; trying again");
        }
        let _ = tokio::time::timeout(app.settings.webhook_poll, events.changed()).await;
    }
}

async fn work(app: &AppState, http: &reqwest::Client) -> Result<(), crate::storage::StorageError> {
    loop {
        // New events are fanned out before every batch, not once per round: while retries keep
        // deliveries due, a round can last a long time, and an event that arrived meanwhile
        // would otherwise wait for every retry to settle before its first attempt.
        while app.storage.dispatch_events(500, app.clock.now()).await? > 0 {}
        let due = app
            .storage
            .due_deliveries(app.clock.now(), PARALLEL_DELIVERIES as u32)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        let attempts = due.iter().map(|d| attempt(app, http, d));
        for (delivery, outcome) in due
            .iter()
            .zip(futures_util::future::join_all(attempts).await)
        {
            let now = app.clock.now();
            app.storage
                .record_delivery_attempt(
                    delivery,
                    &outcome,
                    now,
                    app.settings.webhook_disable_after,
                )
                .await?;
            match &outcome {
                AttemptOutcome::Delivered { status } => tracing::info!(
                    webhook = %delivery.webhook_id, event = %delivery.event_id, status, "webhook delivered"
                ),
                AttemptOutcome::Failed { status, error, .. } => tracing::warn!(
                    webhook = %delivery.webhook_id, event = %delivery.event_id, ?status, error, "webhook delivery failed"
                ),
            }
        }
    }
}

/// The wait before retry number `attempts` (1 = the first retry): base × 2^(n−1), capped.
fn backoff(base: Duration, cap: Duration, attempts: i64) -> Duration {
    let factor = 1_i32 << attempts.clamp(1, 20).saturating_sub(1);
    (base * factor).min(cap)
}

async fn attempt(app: &AppState, http: &reqwest::Client, delivery: &DueDelivery) -> AttemptOutcome {
    let settings = &app.settings;
    let retry_at = || {
        app.clock.now()
            + backoff(
                settings.webhook_retry_base,
                settings.webhook_retry_cap,
                delivery.attempts + 1,
            )
    };
    // An IP literal never reaches the resolver: check it here.
    if let Ok(url) = url::Url::parse(&delivery.url) {
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if literal.is_some_and(|ip| !allowed(app, ip)) {
            return AttemptOutcome::Failed {
                status: None,
                error: "the target is a private, loopback or link-local address".into(),
                next_attempt: retry_at(),
            };
        }
    }
    let signature = practice_studio::webhook::sign(
        &delivery.secrets,
        app.clock.now().timestamp(),
        delivery.body.as_bytes(),
    );
    let sent = http
        .post(&delivery.url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(practice_studio::webhook::SIGNATURE_HEADER, signature)
        .header("X-PracticeStudio-Event", &delivery.event_type)
        .header("X-PracticeStudio-Delivery", &delivery.event_id)
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => AttemptOutcome::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) => AttemptOutcome::Failed {
            status: Some(response.status().as_u16()),
            error: format!("the receiver answered {}", response.status()),
            next_attempt: retry_at(),
        },
        Err(error) => AttemptOutcome::Failed {
            status: None,
            error: describe(&error),
            next_attempt: retry_at(),
        },
    }
}

/// A send error in a sentence, with its cause (never the URL's query).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "the receiver did not answer in time"
    } else if error.is_connect() {
        "could not connect to the receiver"
    } else {
        "the delivery failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(internal.parse().expect("ip")), "{internal}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_internal(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_to_the_cap() {
        let base = Duration::minutes(1);
        let cap = Duration::hours(24);
        assert_eq!(backoff(base, cap, 1), Duration::minutes(1));
        assert_eq!(backoff(base, cap, 2), Duration::minutes(2));
        assert_eq!(backoff(base, cap, 5), Duration::minutes(16));
        assert_eq!(backoff(base, cap, 30), cap);
    }
}
