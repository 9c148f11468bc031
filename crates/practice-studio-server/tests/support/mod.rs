//! Helpers for the integration tests: a demo server on a loopback port, and tokens.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use practice_studio_server::clock::ManualClock;
use practice_studio_server::{RunningServer, Server};
use serde_json::Value;

pub struct Api {
    pub server: RunningServer,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
}

impl Api {
    /// A demo server with `patients` generated patients, on a clock the test moves by hand.
    pub async fn demo(patients: u64) -> Self {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
                .single()
                .expect("time"),
        ));
        let server = Server::builder()
            .demo(true)
            .demo_patients(patients)
            .clock(clock.clone())
            .start()
            .await
            .expect("server starts");
        Self {
            server,
            http: reqwest::Client::new(),
            clock,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn token_response(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .expect("token endpoint answers")
    }

    /// An access token for a demo user through the desk's password grant.
    pub async fn user_token(&self, email: &str) -> String {
        let response = self
            .token_response(&[
                ("grant_type", "password"),
                ("client_id", "frontdesk"),
                ("username", email),
                ("password", "demo-password"),
            ])
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A client-credentials token of a demo integration.
    pub async fn client_token(&self, client: &str) -> String {
        let response = self
            .token_response(&[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", "demo-secret"),
            ])
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn get(&self, path: &str, auth: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("Authorization", auth)
            .send()
            .await
            .expect("answers")
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The API reference's Create Patient request example.
pub fn reference_new_patient() -> Value {
    serde_json::json!({
      "firstName": "Jane", "lastName": "Smith", "dateOfBirth": "1975-08-22", "gender": "F",
      "contactInfo": {
        "email": "jane.smith@example.com", "phone": "555-987-6543",
        "address": { "line1": "456 Oak Ave", "city": "Springfield", "state": "IL",
                     "postalCode": "62702", "country": "USA" }
      },
      "insurance": { "primary": { "provider": "Aetna", "memberId": "AET123456789", "groupNumber": "GRP987654" } }
    })
}

/// Asserts the error envelope and returns its `error` object.
pub async fn envelope(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id on errors");
    let body: Value = response.json().await.expect("an error envelope");
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["details"].is_array(), "{body}");
    assert_eq!(error["request_id"], header_id.as_str(), "{body}");
    error
}
