//! Helpers for the integration tests: a demo server on a loopback port, and tokens.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use practice_studio_server::clock::ManualClock;
use practice_studio_server::{Database, RunningServer, Server, ServerBuilder};
use serde_json::Value;
use sqlx::Connection as _;

/// Names a PostgreSQL cluster (`postgres://user@host:port/db`, a database the user may create
/// databases from): when set, the suite's servers keep their data there instead of in SQLite.
pub const PG_ENV: &str = "PRACTICE_STUDIO_TEST_PG";

/// A fresh database on the cluster named by [`PG_ENV`], dropped when this is dropped: each test
/// gets its own, so tests stay independent and run in parallel.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    /// `None` when [`PG_ENV`] is not set (the suite runs on SQLite).
    pub async fn create() -> Option<Self> {
        let admin_url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let name = format!("ps_test_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("the PostgreSQL cluster of PRACTICE_STUDIO_TEST_PG accepts connections");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creates a database for the test");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("PRACTICE_STUDIO_TEST_PG is a URL");
        url.set_path(&name);
        Some(Self {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    pub fn database(&self) -> Database {
        Database::Postgres(self.url.clone())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside the test's runtime: the database is dropped from a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&sql).execute(&mut admin).await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// A server builder on the suite's database: a fresh PostgreSQL database when [`PG_ENV`] is set
/// (kept alive by the returned guard), else the builder's default temporary SQLite file.
pub async fn builder() -> (ServerBuilder, Option<TestDatabase>) {
    match TestDatabase::create().await {
        Some(database) => (
            Server::builder().storage(database.database()),
            Some(database),
        ),
        None => (Server::builder(), None),
    }
}

/// The suite's database for a test that writes to it beside its server (before it starts, or
/// through a second handle): a fresh PostgreSQL database when [`PG_ENV`] is set (kept alive by
/// the returned guard), else the SQLite file `file` in `dir`. Opening it twice reaches the same data.
pub async fn database_in(dir: &std::path::Path, file: &str) -> (Database, Option<TestDatabase>) {
    match TestDatabase::create().await {
        Some(database) => (database.database(), Some(database)),
        None => (Database::Sqlite(dir.join(file)), None),
    }
}

pub struct Api {
    pub server: RunningServer,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// Dropped after the server (fields drop in order); held only for that.
    #[allow(dead_code)]
    pub database: Option<TestDatabase>,
}

impl Api {
    /// A demo server with `patients` generated patients, on a clock the test moves by hand.
    pub async fn demo(patients: u64) -> Self {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
                .single()
                .expect("time"),
        ));
        let (builder, database) = builder().await;
        let server = builder
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
            database,
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
