//! The HTTP surface: `/health`, the OAuth endpoints, and `/api/v1`.

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use practice_studio::model::{Health, HealthStatus};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::auth::{authorize, format_scopes, oauth, Principal};
use crate::error::ApiError;
use crate::http;
use crate::patients;

/// Largest request body the API accepts.
const BODY_LIMIT: usize = 1024 * 1024;

pub(crate) fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/patients",
            get(patients::list).post(patients::create),
        )
        .route(
            "/api/v1/patients/{id}",
            get(patients::get).put(patients::update),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            http::authenticate,
        ))
        .route_layer(middleware::from_fn(http::negotiate_json))
        .route_layer(middleware::from_fn(http::remember_route));
    Router::new()
        .route("/health", get(health))
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route_layer(middleware::from_fn(http::remember_route))
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(http::panic_response))
        .layer(middleware::from_fn(http::request_context))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: HealthStatus::Ok,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.settings.demo,
        today: state.clock.today(),
    })
}

/// `GET /api/v1/me` (extension): who the credential belongs to and what it may do.
async fn me(Extension(principal): Extension<Principal>) -> impl IntoResponse {
    Json(json!({
        "user": principal.user.as_ref().map(|u| json!({
            "id": u.id, "name": u.name, "email": u.email, "role": u.role,
        })),
        "client": principal.client_id,
        "tier": principal.tier,
        "rateLimitPerMinute": principal.rate_per_minute,
        "scopes": format_scopes(&principal.scopes).split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "authentication": principal.kind,
    }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
