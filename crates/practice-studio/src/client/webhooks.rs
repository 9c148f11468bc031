//! Webhook subscriptions (`admin:webhooks`): subscribe, list, read, unsubscribe, rotate the
//! secret, and read the deliveries. Verifying a delivery is [`crate::webhook::verify`].

use reqwest::Method;

use super::patients::segment;
use super::{Call, Client};
use crate::model::{DeliveryList, NewWebhook, Webhook, WebhookList, WebhookSecret};

/// The webhook routes; from [`Client::webhooks`].
#[derive(Debug, Clone)]
pub struct Webhooks<'a> {
    pub(crate) client: &'a Client,
}

fn path(id: &str, rest: &str) -> String {
    format!("/api/v1/webhooks/{}{rest}", segment(id))
}

impl<'a> Webhooks<'a> {
    /// `POST /api/v1/webhooks`: the answer carries the signing secret, once.
    pub fn create(&self, webhook: &NewWebhook) -> Call<'a, Webhook> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
        )
        .json(webhook)
    }

    /// `GET /api/v1/webhooks`: this caller's subscriptions.
    pub fn list(&self) -> Call<'a, WebhookList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/webhooks",
            "/api/v1/webhooks".into(),
        )
    }

    /// `GET /api/v1/webhooks/{id}`.
    pub fn get(&self, id: &str) -> Call<'a, Webhook> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/webhooks/{id}",
            path(id, ""),
        )
    }

    /// `DELETE /api/v1/webhooks/{id}` (no body in the answer).
    pub fn delete(&self, id: &str) -> Call<'a, ()> {
        Call::new(
            self.client,
            Method::DELETE,
            "/api/v1/webhooks/{id}",
            path(id, ""),
        )
    }

    /// `POST /api/v1/webhooks/{id}/rotate-secret`: the new secret; the old one keeps signing
    /// for 24 hours.
    pub fn rotate_secret(&self, id: &str) -> Call<'a, WebhookSecret> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/webhooks/{id}/rotate-secret",
            path(id, "/rotate-secret"),
        )
    }

    /// `GET /api/v1/webhooks/{id}/deliveries`: the latest, newest first.
    pub fn deliveries(&self, id: &str, limit: u32) -> Call<'a, DeliveryList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/webhooks/{id}/deliveries",
            path(id, "/deliveries"),
        )
        .query(vec![("limit", limit.to_string())])
    }
}
