//! The HTTP surface. Today: `GET /health`; the API routes join here.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use practice_studio::model::{Health, HealthStatus};
use tower_http::trace::TraceLayer;

use crate::Today;

#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) demo: bool,
    pub(crate) today: Today,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: HealthStatus::Ok,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        demo: state.demo,
        today: state.today.date(),
    })
}
