//! Test parts for the sync engine: the real server on loopback, a desk's store and engine, and
//! a loopback fault proxy for what a healthy server never does (5xx, 429, cut-off answers).

#![allow(dead_code)] // each test file uses its own subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDate;
use frontdesk_core::{PinnedDayClock, SyncEngine, SyncOptions};
use frontdesk_store::{DataDir, Store};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use practice_studio::client::{Auth, Client, PatientQuery, Priority, RetryPolicy};
use practice_studio::model::{ContactInfo, NewPatient, Patient};
use practice_studio_server::{RunningServer, Server, Today};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tempfile::TempDir;

pub const KEY: [u8; 32] = [9; 32];
pub const RECEPTION: &str = "reception@demo.clinic";
pub const BILLING: &str = "billing@demo.clinic";
pub const CLINICIAN: &str = "clinician@demo.clinic";

pub fn monday() -> NaiveDate {
    "2026-11-23".parse().expect("date")
}

pub async fn server(patients: u64) -> RunningServer {
    server_with(patients, practice_studio_server::app::Settings::default()).await
}

pub async fn server_with(
    patients: u64,
    settings: practice_studio_server::app::Settings,
) -> RunningServer {
    Server::builder()
        .demo(true)
        .demo_patients(patients)
        .today(Today::Fixed(monday()))
        .settings(settings)
        .start()
        .await
        .expect("server starts")
}

/// A client of `url` signed in as the demo user `email`, trying each call once (the outbox
/// does its own retrying; the SDK's would hide the outcomes under test).
pub fn client_as(url: &str, email: &str) -> Client {
    Client::builder(url)
        .auth(Auth::password("frontdesk", email, "demo-password"))
        .retry(RetryPolicy {
            attempt_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            ..RetryPolicy::never()
        })
        .no_proxy()
        .build()
        .expect("client")
}

/// Options for tests: small pages, short back-offs, no SDK-level retries.
pub fn options() -> SyncOptions {
    SyncOptions {
        page_size: 25,
        send_retry: RetryPolicy {
            attempt_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            ..RetryPolicy::never()
        },
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        // Patients only: the demo book's ten thousand appointments would make every first sync
        // of these tests hundreds of pages; the appointment tests ask for them.
        appointment_window: None,
        ..SyncOptions::default()
    }
}

/// A desk: its data directory, store and engine (reading as reception).
pub struct Desk {
    pub dir: TempDir,
    pub engine: SyncEngine,
}

pub async fn open_store(dir: &TempDir) -> Arc<Store> {
    open_store_at(dir.path()).await
}

pub async fn open_store_at(dir: &std::path::Path) -> Arc<Store> {
    let data = DataDir::open(dir.join("desk")).expect("data dir");
    Arc::new(Store::open(&data, KEY).await.expect("store opens"))
}

pub async fn engine_on(dir: &TempDir, reader: Client, options: SyncOptions) -> SyncEngine {
    let store = open_store(dir).await;
    let engine = SyncEngine::new(store, Arc::new(PinnedDayClock::new(monday())), options);
    engine.set_reader(Some(reader)).await;
    engine
}

pub async fn desk(url: &str) -> Desk {
    desk_with(url, options()).await
}

pub async fn desk_with(url: &str, options: SyncOptions) -> Desk {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(&dir, client_as(url, RECEPTION), options).await;
    engine
        .sign_in_author(RECEPTION, client_as(url, RECEPTION))
        .await;
    Desk { dir, engine }
}

/// Every patient on the server, full objects, in creation order.
pub async fn server_patients(client: &Client) -> Vec<Patient> {
    let mut all = Vec::new();
    loop {
        let page = client
            .patients()
            .list(
                &PatientQuery::new()
                    .full()
                    .limit(100)
                    .offset(all.len() as u64)
                    .sort(practice_studio::client::PatientSort::Created),
            )
            .priority(Priority::Interactive)
            .await
            .expect("list");
        let n = page.patients.len();
        all.extend(page.patients);
        if n < 100 {
            return all;
        }
    }
}

/// Asserts the cache holds exactly the server's patients, each as the server has it.
pub async fn assert_cache_equals_server(store: &Store, client: &Client) {
    let on_server = server_patients(client).await;
    let cached = store.patient_versions().await.expect("versions");
    let mut server_ids: Vec<(String, i64)> = on_server
        .iter()
        .map(|p| (p.id.to_string(), p.version))
        .collect();
    server_ids.sort();
    let cached_ids: Vec<(String, i64)> = cached.into_iter().map(|(id, v)| (id.0, v)).collect();
    assert_eq!(cached_ids, server_ids, "cached ids and versions");
    for patient in &on_server {
        let mine = store
            .patient(&patient.id)
            .await
            .expect("read")
            .expect("cached");
        assert_eq!(&mine, patient, "cached patient {}", patient.id);
    }
}

pub fn new_patient(first: &str, last: &str) -> NewPatient {
    NewPatient {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        date_of_birth: "1980-05-15".to_owned(),
        gender: "F".to_owned(),
        status: None,
        contact_info: ContactInfo {
            email: Some(format!(
                "{}.{}@example.org",
                first.to_lowercase(),
                last.to_lowercase()
            )),
            phone: Some("555-123-4567".to_owned()),
            address: None,
        },
        insurance: None,
        emergency_contact: None,
        preferred_language: None,
        preferred_pharmacy: None,
        allergies: None,
    }
}

/// What the proxy does with one write (`POST`/`PUT` under `/api/`). Reads and sign-ins pass.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with an error envelope (naming `field` in its details) and
    /// `Retry-After`, without forwarding.
    Status {
        status: u16,
        retry_after: Option<u64>,
        field: Option<&'static str>,
    },
    /// Close the connection without answering, without forwarding.
    Drop,
    /// Forward (the server acts), then close the connection without answering.
    LoseResponse,
    /// Forward (the server acts), then answer its status with only the first half of its body.
    Truncate,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Forward (the server acts), then announce the whole body but send half and hang up.
    CutOff,
}

/// Extensions the proxy hides, to play a server without them: its OpenAPI document does not
/// name them, and it behaves as if it had none (no feed: 404; `updated_since` ignored; an
/// `Idempotency-Key` never reaches the server; no v2 lists or bulk writes: 404).
#[derive(Debug, Clone, Copy, Default)]
pub struct Hidden {
    pub feed: bool,
    pub updated_since: bool,
    pub idempotency: bool,
    /// Every `/api/v2/` route but the feed (which `feed` hides).
    pub v2: bool,
}

fn is_v2_beyond_feed(path: &str) -> bool {
    path.starts_with("/api/v2/") && !path.starts_with("/api/v2/events")
}

#[derive(Default)]
struct ProxyState {
    hidden: Hidden,
    /// `(method, path and query as asked)` of every request.
    requests: Vec<(String, String)>,
    faults: VecDeque<Fault>,
    /// Applied to every write once the queue is empty.
    always: Option<Fault>,
    /// The network is down: every connection is dropped, sign-ins included.
    down: bool,
    /// Faults at random on any API request (reads too): a seeded generator and a probability.
    random: Option<(StdRng, f64)>,
    /// `(method, path, idempotency key, status)` of each write seen; status `None` when dropped.
    writes: Vec<(String, String, Option<String>, Option<u16>)>,
}

/// A loopback HTTP proxy in front of the server, injecting faults into writes.
#[derive(Clone)]
pub struct FaultProxy {
    state: Arc<Mutex<ProxyState>>,
    pub url: String,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let forwarder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("forwarder");
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                let forwarder = forwarder.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(state.clone(), forwarder.clone(), upstream.clone(), request)
                    });
                    // A fault ends the connection with an error: that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { state, url }
    }

    pub fn hide(&self, hidden: Hidden) {
        self.state.lock().expect("proxy").hidden = hidden;
    }

    /// Every request seen: method, path and query as the client asked.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().expect("proxy").requests.clone()
    }

    pub fn push(&self, fault: Fault) {
        self.state.lock().expect("proxy").faults.push_back(fault);
    }

    pub fn always(&self, fault: Option<Fault>) {
        self.state.lock().expect("proxy").always = fault;
    }

    pub fn set_down(&self, down: bool) {
        self.state.lock().expect("proxy").down = down;
    }

    pub fn is_down(&self) -> bool {
        self.state.lock().expect("proxy").down
    }

    /// From now on, each API request meets a random fault with this probability (`None`: off).
    pub fn random_faults(&self, seeded: Option<(u64, f64)>) {
        self.state.lock().expect("proxy").random =
            seeded.map(|(seed, p)| (StdRng::seed_from_u64(seed), p));
    }

    /// The writes seen: method, path, idempotency key, status answered.
    pub fn writes(&self) -> Vec<(String, String, Option<String>, Option<u16>)> {
        self.state.lock().expect("proxy").writes.clone()
    }
}

fn envelope(
    status: u16,
    retry_after: Option<u64>,
    field: Option<&str>,
) -> hyper::Response<Full<Bytes>> {
    let details = match field {
        Some(f) => serde_json::json!([{ "field": f, "issue": "injected" }]),
        None => serde_json::json!([]),
    };
    let body = serde_json::json!({ "error": {
        "code": "injected", "message": "injected by the test proxy", "details": details,
        "request_id": "req-proxy" } });
    let mut builder = hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(seconds) = retry_after {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "proxy-connection",
];

fn io_error(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_owned())
}

async fn handle(
    state: Arc<Mutex<ProxyState>>,
    forwarder: reqwest::Client,
    upstream: String,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let method = request.method().to_string();
    let is_write = path.starts_with("/api/") && (method == "POST" || method == "PUT");
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (fault, index, hidden) = {
        let mut state = state.lock().expect("proxy");
        if state.down {
            return Err(io_error("the network is down"));
        }
        state.requests.push((method.clone(), path.clone()));
        let hidden = state.hidden;
        let api = path.starts_with("/api/");
        let random = match &mut state.random {
            Some((rng, p)) if api => rng.random_bool(*p).then(|| match rng.random_range(0..6) {
                0 => Fault::Drop,
                1 => Fault::LoseResponse,
                2 => Fault::Truncate,
                3 => Fault::Delay(Duration::from_millis(30)),
                4 => Fault::Status {
                    status: 429,
                    retry_after: None,
                    field: None,
                },
                _ => Fault::Status {
                    status: 503,
                    retry_after: None,
                    field: None,
                },
            }),
            _ => None,
        };
        if is_write {
            let fault = state
                .faults
                .pop_front()
                .or_else(|| state.always.clone())
                .or(random);
            state.writes.push((method.clone(), path.clone(), key, None));
            (fault, Some(state.writes.len() - 1), hidden)
        } else {
            (random, None, hidden)
        }
    };
    if hidden.feed && path.starts_with("/api/v2/events") {
        return Ok(envelope(404, None, None));
    }
    if hidden.v2 && is_v2_beyond_feed(&path) {
        return Ok(envelope(404, None, None));
    }
    let path = if hidden.updated_since {
        strip_query_param(&path, "updated_since")
    } else {
        path
    };
    let answered = |status: u16| {
        if let Some(i) = index {
            if let Some(w) = state.lock().expect("proxy").writes.get_mut(i) {
                w.3 = Some(status);
            }
        }
    };
    match &fault {
        Some(Fault::Status {
            status,
            retry_after,
            field,
        }) => {
            answered(*status);
            return Ok(envelope(*status, *retry_after, *field));
        }
        Some(Fault::Drop) => return Err(io_error("the test proxy dropped the connection")),
        Some(Fault::Delay(by)) => tokio::time::sleep(*by).await,
        _ => {}
    }
    let forward_method =
        reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| io_error("method"))?;
    let mut forward = forwarder.request(forward_method, format!("{upstream}{path}"));
    for (name, value) in request.headers() {
        if hidden.idempotency && name.as_str() == "idempotency-key" {
            continue;
        }
        if !HOP_BY_HOP.contains(&name.as_str()) && name.as_str() != "host" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map_err(|_| io_error("request body"))?
        .to_bytes();
    let answer = forward
        .body(body.to_vec())
        .send()
        .await
        .map_err(|_| io_error("upstream"))?;
    let status = answer.status().as_u16();
    let mut response = hyper::Response::builder().status(status);
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    let mut body = answer
        .bytes()
        .await
        .map_err(|_| io_error("upstream body"))?;
    if path == "/openapi.json" {
        body = Bytes::from(doctored_openapi(&body, hidden));
    }
    match fault {
        Some(Fault::LoseResponse) => return Err(io_error("the test proxy lost the answer")),
        Some(Fault::Truncate) => body = body.slice(..body.len() / 2),
        Some(Fault::CutOff) => {
            // hyper sends the announced length's headers, then stops at the short body.
            response = response.header("content-length", body.len().to_string());
            body = body.slice(..body.len() / 2);
        }
        _ => {}
    }
    answered(status);
    response
        .body(Full::new(body))
        .map_err(|_| io_error("response"))
}

fn strip_query_param(path: &str, name: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// The server's OpenAPI document without the hidden extensions.
fn doctored_openapi(body: &[u8], hidden: Hidden) -> Vec<u8> {
    let Ok(mut document) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    if let Some(paths) = document["paths"].as_object_mut() {
        if hidden.feed {
            paths.retain(|path, _| !path.starts_with("/api/v2/events"));
        }
        if hidden.v2 {
            paths.retain(|path, _| !is_v2_beyond_feed(path));
        }
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(parameters) = operation["parameters"].as_array_mut() {
                    parameters.retain(|p| {
                        let name = p["name"].as_str().unwrap_or_default();
                        !(hidden.updated_since && name == "updated_since"
                            || hidden.idempotency && name.eq_ignore_ascii_case("idempotency-key"))
                    });
                }
            }
        }
    }
    serde_json::to_vec(&document).unwrap_or_else(|_| body.to_vec())
}

/// Waits (bounded) until `check` holds, draining the outbox between looks.
pub async fn drain_until(engine: &SyncEngine, what: &str, mut check: impl AsyncCheck) {
    let mut report = None;
    for _ in 0..200 {
        report = Some(engine.drain_outbox().await.expect("drain"));
        if check.holds(engine).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = engine.status().await;
    let pending: Vec<_> = engine
        .store()
        .pending_writes(5)
        .await
        .expect("pending")
        .into_iter()
        .map(|e| (e.seq, e.operation, e.entity_id, e.attempts, e.base_version))
        .collect();
    panic!("timed out waiting for {what}: {report:?} {status:?} {pending:?}");
}

pub trait AsyncCheck {
    async fn holds(&mut self, engine: &SyncEngine) -> bool;
}

/// The outbox is empty.
pub struct NothingPending;

impl AsyncCheck for NothingPending {
    async fn holds(&mut self, engine: &SyncEngine) -> bool {
        engine.store().pending_count().await.expect("count") == 0
    }
}
