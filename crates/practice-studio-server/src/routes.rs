//! The HTTP surface: `/health`, the OAuth endpoints, and `/api/v1`.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use practice_studio::model::{Health, HealthStatus};
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::AppState;
use crate::auth::{authorize, oauth, CredentialKind, Principal};
use crate::error::ApiError;
use crate::http;
use crate::openapi::{Me, MeUser};
use crate::{appointments, billing, clinic, events, patients, records, waitlist, webhooks};

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
        .route("/api/v1/locations", get(clinic::list_locations))
        .route(
            "/api/v1/locations/{id}",
            get(clinic::get_location).put(clinic::update_location),
        )
        .route("/api/v1/appointment-types", get(clinic::appointment_types))
        .route("/api/v1/providers", get(clinic::list_providers))
        .route(
            "/api/v1/providers/{id}",
            get(clinic::get_provider).put(clinic::update_provider),
        )
        .route("/api/v1/providers/{id}/slots", get(clinic::slots))
        // Route modules with their own router (one line each):
        .merge(appointments::routes())
        .merge(records::routes())
        .merge(billing::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
        .merge(waitlist::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            http::authenticate,
        ))
        .route_layer(middleware::from_fn(http::negotiate_json))
        .route_layer(middleware::from_fn(http::remember_route));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::submit),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route_layer(middleware::from_fn(http::remember_route))
        .merge(api)
        .merge(crate::fhir::routes(state.clone()))
        .merge(crate::v2::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(http::panic_response))
        .layer(middleware::from_fn(http::request_context))
        .with_state(state)
}

#[utoipa::path(get, path = "/health", tag = "Service", summary = "Health",
    responses((status = 200, description = "The service is up", body = Health)), security(()))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: HealthStatus::Ok,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.settings.demo,
        today: state.clock.today(),
    })
}

/// `GET /api/v1/me` (extension): who the credential belongs to and what it may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "Identity", summary = "The caller",
    description = "Who the credential belongs to (user id, name, role), its scopes, client and tier. Needs only a valid credential.",
    responses((status = 200, description = "The caller", body = crate::openapi::Me)),
    security(("bearer" = []), ("apiKey" = [])))]
pub(crate) async fn me(Extension(principal): Extension<Principal>) -> Json<Me> {
    Json(Me {
        user: principal.user.as_ref().map(|u| MeUser {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.as_str().to_owned(),
        }),
        client: principal.client_id.clone(),
        tier: principal.tier.as_str().to_owned(),
        rate_limit_per_minute: principal.rate_per_minute,
        scopes: principal
            .scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        authentication: match principal.kind {
            CredentialKind::Bearer => "bearer",
            CredentialKind::ApiKey => "api_key",
        }
        .to_owned(),
    })
}

async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let body = state
        .openapi
        .get_or_init(|| {
            let document = crate::openapi::document(state.settings.idempotency_retention);
            serde_json::to_vec(&document).unwrap_or_default().into()
        })
        .clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
