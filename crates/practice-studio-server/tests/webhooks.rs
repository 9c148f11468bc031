//! Webhooks against the real server and a real receiver, both on loopback: every delivery
//! verified with the SDK's `webhook::verify`; a receiver that is down, then up; a slow one; a
//! rotated secret; a subscriber that may not read what an event is about; targets inside
//! private networks.

// The shared database support only (PostgreSQL when PRACTICE_STUDIO_TEST_PG is set).
#[allow(dead_code)]
mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use practice_studio::webhook::{verify, DEFAULT_TOLERANCE};
use practice_studio_server::app::Settings;
use practice_studio_server::{RunningServer, Server, Today};
use serde_json::{json, Value};

/// How the receiver answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
    /// Answers after this long.
    Slow(StdDuration),
}

#[derive(Clone)]
struct Received {
    signature: String,
    event: String,
    delivery: String,
    body: Bytes,
}

#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start() -> Self {
        let mode = Arc::new(Mutex::new(Mode::Up));
        let got: Arc<Mutex<Vec<Received>>> = Arc::new(Mutex::new(Vec::new()));
        let (m, g) = (mode.clone(), got.clone());
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let (mode, got) = (m.clone(), g.clone());
                async move {
                    let now = *mode.lock().expect("mode");
                    if now == Mode::Down {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    if let Mode::Slow(delay) = now {
                        tokio::time::sleep(delay).await;
                    }
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    got.lock().expect("got").push(Received {
                        signature: header("x-practicestudio-signature"),
                        event: header("x-practicestudio-event"),
                        delivery: header("x-practicestudio-delivery"),
                        body,
                    });
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, mode, got }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("got").clone()
    }

    /// Waits (bounded) until `count` distinct events arrived; returns them by event id.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..600 {
            let mut unique = self.received();
            unique.sort_by(|a, b| a.delivery.cmp(&b.delivery));
            unique.dedup_by(|a, b| a.delivery == b.delivery);
            if unique.len() >= count {
                return unique;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!(
            "{count} deliveries did not arrive; got {}",
            self.received().len()
        );
    }
}

/// A webhook's delivery history once no delivery is pending (or after 5 s): the server records a
/// success when the receiver's answer is back, just after the receiver has seen the request, and
/// a request the receiver saw but answered too late is tried again.
async fn settled_deliveries(caller: &Caller, webhook_id: &str) -> Value {
    let mut history = Value::Null;
    for _ in 0..100 {
        history = caller
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/webhooks/{webhook_id}/deliveries"),
                None,
            )
            .await
            .1;
        let deliveries = history["deliveries"].as_array().expect("deliveries");
        if deliveries.iter().all(|d| d["status"] != "pending") {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    history
}

fn fast_settings() -> Settings {
    Settings {
        webhook_retry_base: chrono::Duration::milliseconds(200),
        webhook_retry_cap: chrono::Duration::seconds(1),
        webhook_poll: StdDuration::from_millis(50),
        webhook_timeout: StdDuration::from_millis(700),
        ..Settings::default()
    }
}

/// A demo server, and the test database it keeps its data in (on PostgreSQL) until dropped.
async fn demo_server(settings: Settings) -> (RunningServer, Option<support::TestDatabase>) {
    let (builder, database) = support::builder().await;
    let server = builder
        .demo(true)
        .demo_patients(5)
        .today(Today::Fixed(Utc::now().date_naive()))
        .settings(settings)
        .start()
        .await
        .expect("server");
    (server, database)
}

struct Caller {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Caller {
    async fn client(server: &RunningServer, client: &str) -> Self {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/oauth/token", server.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client),
                ("client_secret", "demo-secret"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let auth = format!("Bearer {}", token["access_token"].as_str().expect("token"));
        Self {
            http,
            base: server.url(),
            auth,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn subscribe(&self, url: &str, events: &[&str]) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/webhooks",
                Some(json!({"url": url, "events": events})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn register_patient(&self) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/patients",
                Some(json!({
                    "firstName": "Jane", "lastName": "Smith", "dateOfBirth": "1975-08-22", "gender": "F",
                    "contactInfo": {"email": "jane.smith@example.com", "phone": "555-987-6543",
                      "address": {"line1": "456 Oak Ave", "city": "Springfield", "state": "IL", "postalCode": "62702"}}
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

fn check(received: &Received, secrets: &[&str]) -> Value {
    let event = verify(
        secrets,
        &received.signature,
        &received.body,
        Utc::now(),
        DEFAULT_TOLERANCE,
    )
    .expect("a genuine delivery");
    assert_eq!(event.event, received.event);
    assert_eq!(event.id.as_deref(), Some(received.delivery.as_str()));
    serde_json::from_slice(&received.body).expect("json")
}

#[tokio::test]
async fn events_are_delivered_signed_with_their_resource_and_history() {
    let receiver = Receiver::start().await;
    let (server, _database) = demo_server(fast_settings()).await;
    let caller = Caller::client(&server, "integration-premium").await;
    let hook = caller
        .subscribe(&receiver.url(), &["patient.created", "patient.updated"])
        .await;
    let secret = hook["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let id = hook["id"].as_str().expect("id").to_owned();
    let (_, listed) = caller
        .call(reqwest::Method::GET, "/api/v1/webhooks", None)
        .await;
    assert_eq!(listed["total"], 1);
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "shown once only"
    );

    let patient = caller.register_patient().await;
    let path = format!("/api/v1/patients/{}", patient["id"].as_str().expect("id"));
    let (status, updated) = caller
        .call(
            reqwest::Method::PUT,
            &path,
            Some(json!({"contactInfo": {"phone": "555-222-3333"}})),
        )
        .await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(2).await;
    let mut kinds = Vec::new();
    for received in &got {
        let payload = check(received, &[&secret]);
        kinds.push(payload["event"].as_str().expect("event").to_owned());
        let expected = if payload["event"] == "patient.created" {
            &patient
        } else {
            &updated
        };
        assert_eq!(&payload["data"], expected);
        assert!(payload["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    }
    kinds.sort();
    assert_eq!(kinds, ["patient.created", "patient.updated"]);
    let history = settled_deliveries(&caller, &id).await;
    assert_eq!(history["total"], 2);
    for delivery in history["deliveries"].as_array().expect("deliveries") {
        assert_eq!(delivery["status"], "delivered", "{delivery}");
        assert_eq!(delivery["lastResponseCode"], 204);
    }
    // Unsubscribed: nothing more arrives, and the subscription is gone.
    let (status, _) = caller
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = caller
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_receiver_that_is_down_then_slow_gets_everything_after_retries() {
    let receiver = Receiver::start().await;
    let (server, _database) = demo_server(fast_settings()).await;
    let caller = Caller::client(&server, "integration-premium").await;
    let hook = caller
        .subscribe(&receiver.url(), &["patient.created"])
        .await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    receiver.set(Mode::Down);
    for _ in 0..3 {
        caller.register_patient().await;
    }
    // Failures are recorded while it is down: every one of the three has
    // failed at least once before the receiver changes, so none of them can
    // get through on its first attempt (on a busy machine a first attempt may
    // otherwise come late, after the receiver is up again).
    let id = hook["id"].as_str().expect("id");
    let mut failing = false;
    for _ in 0..200 {
        let (_, history) = caller
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/webhooks/{id}/deliveries"),
                None,
            )
            .await;
        let deliveries = history["deliveries"].as_array().expect("deliveries");
        failing = deliveries.len() == 3
            && deliveries
                .iter()
                .all(|d| d["lastResponseCode"] == 503 && d["status"] == "pending");
        if failing {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(failing, "not every delivery recorded a failed attempt");
    // Slower than the server waits: each try times out, and is retried.
    receiver.set(Mode::Slow(StdDuration::from_millis(1_500)));
    tokio::time::sleep(StdDuration::from_millis(1_600)).await;
    receiver.set(Mode::Up);
    let got = receiver.wait_for(3).await;
    for received in &got {
        check(received, &[&secret]);
    }
    let history = settled_deliveries(&caller, id).await;
    for delivery in history["deliveries"].as_array().expect("deliveries") {
        assert_eq!(delivery["status"], "delivered");
        assert!(
            delivery["attempts"].as_i64().expect("attempts") > 1,
            "{delivery}"
        );
    }
}

#[tokio::test]
async fn both_secrets_sign_while_a_rotation_overlaps() {
    let receiver = Receiver::start().await;
    let (server, _database) = demo_server(fast_settings()).await;
    let caller = Caller::client(&server, "integration-premium").await;
    let hook = caller
        .subscribe(&receiver.url(), &["patient.created"])
        .await;
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let id = hook["id"].as_str().expect("id");
    let (status, rotated) = caller
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_ne!(new, old);
    caller.register_patient().await;
    let got = receiver.wait_for(1).await;
    assert_eq!(
        got[0].signature.matches("v1=").count(),
        2,
        "{}",
        got[0].signature
    );
    check(&got[0], &[&old]);
    check(&got[0], &[&new]);
    assert!(verify(
        &["whsec_wrong"],
        &got[0].signature,
        &got[0].body,
        Utc::now(),
        DEFAULT_TOLERANCE
    )
    .is_err());
}

#[tokio::test]
async fn subscribers_get_only_what_they_may_read_and_never_reach_private_networks() {
    use practice_studio_server::auth::{Scope, Tier};
    use practice_studio_server::storage::ClientRecord;
    let receiver = Receiver::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let (database, _pg) = support::database_in(dir.path(), "hooks.db").await;
    {
        let storage = database.open().await.expect("db");
        practice_studio_server::demo::seed_identities(&*storage, Utc::now())
            .await
            .expect("identities");
        practice_studio_server::demo_clinic::seed(&*storage, 1, Utc::now().date_naive())
            .await
            .expect("clinic");
        storage
            .insert_client(&ClientRecord {
                id: "patients-only".into(),
                name: "Reads patients only".into(),
                secret_hash: Some(
                    practice_studio_server::auth::password::hash("demo-secret").expect("hash"),
                ),
                tier: Tier::Premium,
                rate_per_minute: 1_000,
                scopes: [Scope::ReadPatients, Scope::AdminWebhooks]
                    .into_iter()
                    .collect(),
                grants: vec!["client_credentials".into()],
                active: true,
            })
            .await
            .expect("client");
    }
    // Not a demo: loopback is allowed only through the allowlist.
    let mut settings = fast_settings();
    settings.webhook_allowlist = vec!["127.0.0.0/8".parse().expect("net")];
    let server = Server::builder()
        .storage(database)
        .settings(settings)
        .start()
        .await
        .expect("server");
    let narrow = Caller::client(&server, "patients-only").await;
    let hook = narrow
        .subscribe(
            &receiver.url(),
            &["patient.created", "appointment.created", "record.created"],
        )
        .await;
    let narrow_secret = hook["secret"].as_str().expect("secret").to_owned();
    let (status, refused) = narrow
        .call(
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "http://10.0.0.5/hook", "events": ["patient.created"]})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let (status, _) = narrow
        .call(
            reqwest::Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "ftp://example.com/hook", "events": ["patient.created"]})),
        )
        .await;
    assert_eq!(status, 400);

    // A wide integration registers a patient, books them, a clinician writes a note, and the
    // integration registers another: the narrow subscriber hears of the two patients only
    // (events are dispatched in commit order, so the booking's and the note's events were
    // passed over before the second patient's arrived).
    let wide = Caller::client(&server, "integration-premium").await;
    let first = wide.register_patient().await;
    let from = Utc::now().date_naive() + chrono::Duration::days(7);
    let to = from + chrono::Duration::days(14);
    let (_, slots) = wide
        .call(
            reqwest::Method::GET,
            &format!(
                "/api/v1/providers/PROV-54321/slots?date_from={from}&date_to={to}&duration=30"
            ),
            None,
        )
        .await;
    let slot = &slots["slots"][0];
    let (status, booked) = wide
        .call(
            reqwest::Method::POST,
            "/api/v1/appointments",
            Some(json!({
                "patientId": first["id"], "providerId": "PROV-54321", "locationId": slot["locationId"],
                "type": "Follow-up", "startTime": slot["startTime"], "endTime": slot["endTime"]
            })),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    // A clinician writes the visit's note: record.created, which the subscriber may not read.
    let token: Value = wide
        .http
        .post(format!("{}/oauth/token", wide.base))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "frontdesk"),
            ("username", "clinician@demo.clinic"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let clinician = Caller {
        http: wide.http.clone(),
        base: wide.base.clone(),
        auth: format!("Bearer {}", token["access_token"].as_str().expect("token")),
    };
    let (status, note) = clinician
        .call(
            reqwest::Method::POST,
            &format!(
                "/api/v1/patients/{}/records",
                first["id"].as_str().expect("id")
            ),
            Some(json!({
                "providerId": "PROV-54321", "type": "Progress Note", "title": "Visit",
                "content": {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let second = wide.register_patient().await;
    let got = receiver.wait_for(2).await;
    let mut ids: Vec<Value> = got
        .iter()
        .map(|r| check(r, &[&narrow_secret])["data"]["id"].clone())
        .collect();
    ids.sort_by_key(|v| v.to_string());
    let mut expected = vec![first["id"].clone(), second["id"].clone()];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(ids, expected);
    assert!(got.iter().all(|r| r.event == "patient.created"));

    // A name that resolves to loopback, on a server whose allowlist is empty: refused at
    // delivery, and the reason is recorded.
    let (closed_database, _closed_pg) = support::database_in(dir.path(), "closed.db").await;
    {
        let storage = closed_database.open().await.expect("db");
        practice_studio_server::demo::seed_identities(&*storage, Utc::now())
            .await
            .expect("identities");
    }
    let closed = Server::builder()
        .storage(closed_database)
        .settings(fast_settings())
        .start()
        .await
        .expect("server");
    let caller = Caller::client(&closed, "integration-premium").await;
    let hook = caller
        .subscribe(
            &format!("http://localhost:{}/hook", receiver.addr.port()),
            &["patient.created"],
        )
        .await;
    let before = receiver.received().len();
    caller.register_patient().await;
    let id = hook["id"].as_str().expect("id");
    let mut reason = String::new();
    for _ in 0..100 {
        let (_, history) = caller
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/webhooks/{id}/deliveries"),
                None,
            )
            .await;
        if let Some(error) = history["deliveries"][0]["lastError"].as_str() {
            reason = error.to_owned();
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(reason.contains("private"), "{reason}");
    assert_eq!(
        receiver.received().len(),
        before,
        "nothing reached the receiver"
    );
}

/// Starts the server binary on `database` and returns it with its base URL.
fn spawn_server(database: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
        .args([
            "--demo",
            "--demo-patients",
            "5",
            "--bind",
            "127.0.0.1:0",
            "--database",
        ])
        .arg(database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("the start-up line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, url)
}

#[tokio::test]
async fn a_server_killed_while_delivering_delivers_everything_after_restart() {
    let receiver = Receiver::start().await;
    receiver.set(Mode::Slow(StdDuration::from_millis(150)));
    let dir = tempfile::tempdir().expect("dir");
    let database = dir.path().join("ps.db");
    let (mut child, url) = spawn_server(&database);
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let caller = Caller {
        http,
        base: url,
        auth: format!("Bearer {}", token["access_token"].as_str().expect("token")),
    };
    let hook = caller
        .subscribe(&receiver.url(), &["patient.created"])
        .await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    const PATIENTS: usize = 20;
    for _ in 0..PATIENTS {
        caller.register_patient().await;
    }
    // Killed with deliveries under way.
    receiver.wait_for(2).await;
    child.kill().expect("kill -9");
    let _ = child.wait();
    let (mut child, _) = spawn_server(&database);
    let got = receiver.wait_for(PATIENTS).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        got.len(),
        PATIENTS,
        "each event at least once (deduplicated by id)"
    );
    for received in &got {
        check(received, &[&secret]);
    }
}
