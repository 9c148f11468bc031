//! v2 cursor lists of the caller's webhook subscriptions (in the order they were registered) and
//! of one subscription's deliveries (in the order they were made). Neither has a change time, so
//! neither takes `updated_since`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use practice_studio::model::{Delivery, Webhook};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::webhooks::{delivery_view, own_webhook, owner_of, view};

use super::{cursor_body, ListParams};

/// `GET /api/v2/webhooks`.
#[derive(Serialize, ToSchema)]
pub struct WebhookCursorList {
    webhooks: Vec<Webhook>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/webhooks/{webhook_id}/deliveries`.
#[derive(Serialize, ToSchema)]
pub struct DeliveryCursorList {
    deliveries: Vec<Delivery>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/webhooks`.
#[utoipa::path(get, path = "/api/v2/webhooks", tag = "v2 beta", summary = "Your webhooks by cursor",
    description = "The caller's subscriptions (secrets are not shown) in the order they were registered, after `cursor`. A subscription's place is never given again after it is deleted, so a kept cursor reads exactly the subscriptions registered since. Subscriptions have no change time, so this list takes no `updated_since`.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "A page of subscriptions", body = WebhookCursorList)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn webhooks(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AdminWebhooks)?;
    let mut p = ListParams::new(&params);
    let page = p.page("webhooks");
    p.no_change_time("webhook subscriptions have no change time");
    p.finish()?;
    let rows = app
        .storage
        .v2_webhooks(&owner_of(&principal), page.after_seq, page.limit + 1)
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::with_capacity(rows.len());
    for (seq, record) in rows {
        let json = serde_json::to_string(&view(&record, None)).map_err(ApiError::internal)?;
        items.push((seq, json));
    }
    Ok(cursor_body("webhooks", &page, items))
}

/// `GET /api/v2/webhooks/{webhook_id}/deliveries`.
#[utoipa::path(get, path = "/api/v2/webhooks/{webhook_id}/deliveries", tag = "v2 beta", summary = "A webhook's deliveries by cursor",
    description = "The subscription's deliveries in the order they were made (oldest first, unlike v1's latest-first list), after `cursor`; a kept cursor reads the deliveries made since. Deliveries have no change time, so this list takes no `updated_since`; read a delivery's `status`, `attempts` and `lastAttempt` for its progress.",
    params(
        ("webhook_id" = String, Path, description = "Webhook ID"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
    ),
    responses((status = 200, description = "A page of deliveries", body = DeliveryCursorList)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn deliveries(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AdminWebhooks)?;
    let mut p = ListParams::new(&params);
    let page = p.page("deliveries");
    p.no_change_time("deliveries have no change time");
    p.finish()?;
    own_webhook(&app, &principal, &id).await?;
    let rows = app
        .storage
        .v2_deliveries(&id, page.after_seq, page.limit + 1)
        .await
        .map_err(ApiError::internal)?;
    let mut items = Vec::with_capacity(rows.len());
    for record in rows {
        let seq = record.seq;
        let json = serde_json::to_string(&delivery_view(record)).map_err(ApiError::internal)?;
        items.push((seq, json));
    }
    Ok(cursor_body("deliveries", &page, items))
}

/// `GET /api/v2/webhooks/{webhook_id}`.
#[utoipa::path(get, path = "/api/v2/webhooks/{webhook_id}", tag = "v2 beta", summary = "A webhook",
    description = "As GET /api/v1/webhooks/{webhook_id}.",
    params(("webhook_id" = String, Path, description = "Webhook ID")),
    responses((status = 200, description = "The subscription", body = Webhook)),
    security(("bearer" = ["admin:webhooks"])))]
pub(crate) async fn webhook(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<axum::Json<Webhook>, ApiError> {
    crate::webhooks::get_one(state, principal, id).await
}
