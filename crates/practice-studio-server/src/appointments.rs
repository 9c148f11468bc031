//! Appointments: the book, status changes and clash rules.

use axum::Router;
use utoipa::OpenApi;

use crate::app::AppState;
use crate::openapi::Extension;

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi()]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[Extension] = &[];
