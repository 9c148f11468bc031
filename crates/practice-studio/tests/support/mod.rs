//! Test parts: the real server on loopback on a clock the test shares with the client, and a
//! fault-injecting HTTP proxy in front of it.

#![allow(dead_code)] // each test file uses its own subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use practice_studio::client::{Auth, Client, ClientBuilder};
use practice_studio_server::{RunningServer, Server};

/// A clock both the server and the client read. It moves only when the client waits on it (a
/// back-off, the rate-limit budget) or when the test moves it, so waits cost no real time and the
/// server's rate limiter sees exactly the time the client waited.
#[derive(Debug)]
pub struct VirtualClock {
    now: Mutex<DateTime<Utc>>,
    slept: Mutex<Duration>,
}

impl VirtualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(
                Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
                    .single()
                    .expect("time"),
            ),
            slept: Mutex::new(Duration::ZERO),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock")
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock") += chrono::Duration::from_std(by).expect("duration");
    }

    /// How long the client has waited on this clock in all.
    pub fn slept(&self) -> Duration {
        *self.slept.lock().expect("clock")
    }
}

impl practice_studio::client::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        VirtualClock::now(self)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.advance(duration);
        *self.slept.lock().expect("clock") += duration;
        Box::pin(tokio::task::yield_now())
    }
}

impl practice_studio_server::clock::Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        VirtualClock::now(self)
    }
}

pub struct TestServer {
    pub server: RunningServer,
    pub clock: Arc<VirtualClock>,
}

impl TestServer {
    /// A demo server with `patients` generated patients on a [`VirtualClock`].
    pub async fn demo(patients: u64) -> Self {
        Self::demo_with(patients, chrono::Duration::hours(1)).await
    }

    pub async fn demo_with(patients: u64, token_ttl: chrono::Duration) -> Self {
        let clock = VirtualClock::new();
        let server = Server::builder()
            .demo(true)
            .demo_patients(patients)
            .clock(clock.clone())
            .token_ttl(token_ttl)
            .start()
            .await
            .expect("server starts");
        Self { server, clock }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client builder for this server on its clock.
    pub fn builder(&self) -> ClientBuilder {
        self.builder_at(&self.url())
    }

    /// A client builder for another address (a proxy in front of this server), on its clock.
    pub fn builder_at(&self, url: &str) -> ClientBuilder {
        Client::builder(url).clock(self.clock.clone()).no_proxy()
    }

    pub fn client(&self, auth: Auth) -> Client {
        self.builder().auth(auth).build().expect("client builds")
    }
}

pub fn reception() -> Auth {
    Auth::password("frontdesk", "reception@demo.clinic", "demo-password")
}

pub fn integration(tier: &str) -> Auth {
    Auth::client_credentials(format!("integration-{tier}"), "demo-secret")
}

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status with an error envelope (and `Retry-After`), without forwarding.
    Status {
        status: u16,
        retry_after: Option<u64>,
        field: Option<&'static str>,
    },
    /// Close the connection without answering, without forwarding.
    Drop,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Forward (the server acts), then close the connection without answering.
    LoseResponse,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The status the client got; `None` when the connection was dropped.
    pub status: Option<u16>,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// Whether the request came in absolute form (as sent to a forward proxy).
    pub absolute: bool,
}

#[derive(Default)]
struct ProxyState {
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
}

/// A loopback HTTP proxy in front of the server that injects the faults it is given, one per
/// request in order, and forwards everything else.
#[derive(Clone)]
pub struct FaultProxy {
    state: Arc<Mutex<ProxyState>>,
    url: String,
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

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn push(&self, fault: Fault) {
        self.state.lock().expect("proxy").faults.push_back(fault);
    }

    /// The API requests seen (`/api/…`), leaving out token requests.
    pub fn seen(&self) -> Vec<Seen> {
        self.all_seen()
            .into_iter()
            .filter(|s| s.path.starts_with("/api/"))
            .collect()
    }

    /// Every request seen, OAuth ones included.
    pub fn all_seen(&self) -> Vec<Seen> {
        self.state.lock().expect("proxy").seen.clone()
    }

    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.seen().iter().map(|s| s.status).collect()
    }

    /// Notes a request as it arrives (so a test sees it while it is still delayed); returns its
    /// index for [`Self::answered`].
    fn record(&self, seen: Seen) -> usize {
        let mut state = self.state.lock().expect("proxy");
        state.seen.push(seen);
        state.seen.len() - 1
    }

    fn answered(&self, index: usize, status: u16) {
        if let Some(seen) = self.state.lock().expect("proxy").seen.get_mut(index) {
            seen.status = Some(status);
        }
    }
}

/// Headers of one hop that the proxy sets itself.
const HOP_BY_HOP: [&str; 5] = [
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "proxy-connection",
];

type ProxyResult = Result<hyper::Response<Full<Bytes>>, std::io::Error>;

fn header(request: &hyper::Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
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

async fn handle(
    state: Arc<Mutex<ProxyState>>,
    forwarder: reqwest::Client,
    upstream: String,
    request: hyper::Request<Incoming>,
) -> ProxyResult {
    let proxy = FaultProxy {
        state: state.clone(),
        url: String::new(),
    };
    let fault = state.lock().expect("proxy").faults.pop_front();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let seen = Seen {
        method: request.method().to_string(),
        path: path.clone(),
        status: None,
        request_id: header(&request, "x-request-id"),
        correlation_id: header(&request, "x-correlation-id"),
        idempotency_key: header(&request, "idempotency-key"),
        absolute: request.uri().scheme().is_some(),
    };
    let lost = io_error("the test proxy dropped the connection");
    let index = proxy.record(seen);
    match fault {
        Some(Fault::Status {
            status,
            retry_after,
            field,
        }) => {
            proxy.answered(index, status);
            return Ok(envelope(status, retry_after, field));
        }
        Some(Fault::Drop) => return Err(lost),
        Some(Fault::Delay(by)) => tokio::time::sleep(by).await,
        Some(Fault::LoseResponse) | None => {}
    }
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|_| io_error("method"))?;
    let mut forward = forwarder.request(method, format!("{upstream}{path}"));
    for (name, value) in request.headers() {
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
    let body = answer
        .bytes()
        .await
        .map_err(|_| io_error("upstream body"))?;
    if matches!(fault, Some(Fault::LoseResponse)) {
        return Err(lost);
    }
    proxy.answered(index, status);
    response
        .body(Full::new(body))
        .map_err(|_| io_error("response"))
}

fn io_error(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_owned())
}
