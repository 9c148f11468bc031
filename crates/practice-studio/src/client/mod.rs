//! The async HTTP client of the Practice Studio API (cargo feature `client`).
//!
//! One [`Client`] per API and credential: build it with [`Client::builder`], then call the typed
//! routes ([`Client::me`], [`Client::patients`], [`Client::follow`] for `_links`). Each call is a
//! [`Call`]: await it for the answer, or set request options first (priority, request and
//! correlation ids, `Idempotency-Key`, `If-Match`).
//!
//! Every call goes through the same pipeline:
//! 1. a credential ([`Auth`]): tokens are fetched on first use, shared by concurrent calls,
//!    refreshed one at a time a little before they expire, and refreshed once more when the API
//!    answers 401;
//! 2. the rate-limit budget ([`BudgetPolicy`]): a request the server would refuse waits instead,
//!    and background work leaves a reserve for interactive requests;
//! 3. the request, with an `X-Request-ID` (the caller's or a new one), an optional
//!    `X-Correlation-ID`, and for POST and PUT an `Idempotency-Key` (the caller's or a new one),
//!    in a `tracing` span `practice_studio.request` carrying the method, the route template (never
//!    ids or query text), the attempt and the status;
//! 4. retries ([`RetryPolicy`]) with exponential back-off, full jitter and `Retry-After`, for
//!    GETs and keyed writes, within a deadline;
//! 5. one [`Error`] for everything that went wrong.

mod appointments;
mod auth;
mod billing;
mod budget;
mod clinic;
mod clock;
mod document;
mod error;
mod events;
mod fhir;
mod loopback;
mod pages;
mod patients;
mod records;
mod retry;
mod v2;
mod waitlist;
mod webhooks;

use std::borrow::Cow;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument as _;

pub use appointments::{AppointmentQuery, AppointmentSort, Appointments};
pub use auth::{
    Auth, MemoryTokenStore, OpenBrowser, Secret, TokenStore, TokenStoreError, Tokens,
    DEFAULT_SIGN_IN_WAIT,
};
pub use billing::{Billing, InvoiceQuery};
pub use budget::{BudgetPolicy, Priority, RateLimitStatus};
pub use clinic::{Clinic, ProviderQuery, SlotQuery};
pub use clock::{Clock, SystemClock};
pub use document::{Document, DocumentStream, Download};
pub use error::{Error, Problem, SignInError};
pub use events::{EventPage, Events};
pub use fhir::{Fhir, FhirSearch};
pub use patients::{PatientQuery, PatientSort, Patients, SortOrder, PAGE_SIZE};
pub use records::{RecordQuery, Records};
pub use retry::RetryPolicy;
pub use v2::{
    AppointmentCursorQuery, PatientCursorQuery, BULK_ITEMS_PER_REQUEST, BULK_MAX_ITEMS, V2,
};
pub use waitlist::{Waitlist, WaitlistQuery};
pub use webhooks::Webhooks;

use crate::model::{Health, Link, Me};
use auth::{Credential, Endpoints, TokenManager};
use budget::{Budget, Ticket, Wait};
use clock::{chrono_duration, until};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// How to build a [`Client`]; from [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    auth: Auth,
    store: Option<Arc<dyn TokenStore>>,
    retry: RetryPolicy,
    budget: BudgetPolicy,
    clock: Arc<dyn Clock>,
    proxy: Option<String>,
    no_proxy: bool,
    extra_ca_pem: Vec<Vec<u8>>,
    extra_ca_files: Vec<PathBuf>,
    correlation_id: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may carry a password; the auth prints itself without secrets.
        f.debug_struct("ClientBuilder")
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("budget", &self.budget)
            .field("proxy", &self.proxy.as_ref().map(|_| "(set)"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// How the client authenticates ([`Auth::none`] by default: only `/health`).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Where tokens are kept between runs (none by default: every start signs in again).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn budget(mut self, policy: BudgetPolicy) -> Self {
        self.budget = policy;
        self
    }

    /// The clock for token expiry, the budget and back-off (the machine's by default).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Send everything through this proxy (`http://host:port`, `socks5://…` is not built in).
    /// Without it, the `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` environment
    /// variables are honoured.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Ignore the environment's proxies (a proxy set with [`Self::proxy`] still applies).
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// Also trust these PEM certificates (a clinic's TLS-inspecting firewall), besides the
    /// platform's roots.
    pub fn extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem.push(pem.into());
        self
    }

    /// Like [`Self::extra_ca_pem`], read from a file when the client is built. The only file this
    /// crate ever reads, and only when asked to.
    pub fn extra_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_ca_files.push(path.into());
        self
    }

    /// An `X-Correlation-ID` for every request of this client (a call may set its own).
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base_url(&self.base_url)?;
        let mut http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("practice-studio-rust/", env!("CARGO_PKG_VERSION")))
            // The client follows no redirect: a 3xx from the API is an error to see, and a
            // redirect must never carry the Authorization header elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        // `no_proxy` drops the environment's proxies; an explicit one still applies after it.
        if self.no_proxy {
            http = http.no_proxy();
        }
        if let Some(proxy) = &self.proxy {
            // The URL may hold a password: the reason never repeats it.
            let proxy = reqwest::Proxy::all(proxy)
                .map_err(|_| Error::config("proxy", "not a usable proxy URL"))?;
            http = http.proxy(proxy);
        }
        let mut bundles = self.extra_ca_pem;
        for path in &self.extra_ca_files {
            let pem = std::fs::read(path)
                .map_err(|e| Error::config("extra CA file", format!("{}: {e}", path.display())))?;
            bundles.push(pem);
        }
        for pem in &bundles {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::config("extra CA certificates", e))?;
            if certificates.is_empty() {
                return Err(Error::config(
                    "extra CA certificates",
                    "no PEM certificate found",
                ));
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http.build().map_err(|e| Error::config("HTTP client", e))?;
        let endpoints = Endpoints {
            http: http.clone(),
            base: base.clone(),
            timeout: self.retry.attempt_timeout,
        };
        let now = self.clock.now();
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                http,
                tokens: TokenManager::new(self.auth, self.store, endpoints, self.clock.clone()),
                budget: Budget::new(self.budget, now),
                clock: self.clock,
                correlation_id: self.correlation_id,
            }),
            retry: self.retry,
        })
    }
}

fn parse_base_url(text: &str) -> Result<url::Url, Error> {
    let invalid = |reason: String| Error::Config {
        setting: "base URL",
        reason,
    };
    let mut base = url::Url::parse(text).map_err(|e| invalid(format!("{text:?}: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            base.scheme()
        )));
    }
    if base.host_str().is_none() {
        return Err(invalid("it names no host".into()));
    }
    if !base.username().is_empty() || base.password().is_some() {
        // They would be sent with every request and shown wherever the URL is.
        return Err(invalid("it must not carry credentials".into()));
    }
    base.set_query(None);
    base.set_fragment(None);
    // Joining relative paths onto `https://host/prefix` would drop `prefix` without this slash.
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// A client of one Practice Studio API with one credential. Cheap to clone: clones share tokens
/// and the rate-limit budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    retry: RetryPolicy,
}

struct Inner {
    base: url::Url,
    http: reqwest::Client,
    tokens: TokenManager,
    budget: Budget,
    clock: Arc<dyn Clock>,
    correlation_id: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("auth", self.inner.tokens.auth())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client without credentials for the API at `base_url` (e.g. `https://api.example.com`),
    /// with the default policies: enough for [`Client::health`].
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder(base_url).build()
    }

    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            auth: Auth::none(),
            store: None,
            retry: RetryPolicy::default(),
            budget: BudgetPolicy::default(),
            clock: Arc::new(SystemClock),
            proxy: None,
            no_proxy: false,
            extra_ca_pem: Vec::new(),
            extra_ca_files: Vec::new(),
            correlation_id: None,
        }
    }

    /// This client with every call answered or failed within `timeout` (each try, and all tries
    /// together); tokens and budget stay shared.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.retry.attempt_timeout = timeout;
        self.retry.deadline = timeout;
        self
    }

    /// This client with another retry policy; tokens and budget stay shared.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// `GET /health`: whether the service is up, and which build answers. Needs no credential.
    pub fn health(&self) -> Call<'_, Health> {
        let mut call = Call::new(self, Method::GET, "/health", "/health".into());
        call.request.authenticated = false;
        call
    }

    /// `GET /api/v1/me`: who the credential belongs to, its scopes and rate-limit tier.
    pub fn me(&self) -> Call<'_, Me> {
        Call::new(self, Method::GET, "/api/v1/me", "/api/v1/me".into())
    }

    /// The patient routes.
    pub fn patients(&self) -> Patients<'_> {
        Patients { client: self }
    }

    /// The appointment book: lists, booking, changes and status moves.
    pub fn appointments(&self) -> Appointments<'_> {
        Appointments { client: self }
    }

    /// Webhook subscriptions (`admin:webhooks`).
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { client: self }
    }

    /// The shared waitlist (extension).
    pub fn waitlist(&self) -> Waitlist<'_> {
        Waitlist { client: self }
    }

    /// The change feed (v2 beta).
    pub fn events(&self) -> Events<'_> {
        Events { client: self }
    }

    /// Locations, providers, appointment types and free slots.
    pub fn clinic(&self) -> Clinic<'_> {
        Clinic { client: self }
    }

    /// Medical records and their attachments.
    pub fn records(&self) -> Records<'_> {
        Records { client: self }
    }

    /// Invoices, payments and receipts.
    pub fn billing(&self) -> Billing<'_> {
        Billing { client: self }
    }

    /// FHIR R4 reads (`/fhir/r4`): Patient and Appointment.
    pub fn fhir(&self) -> Fhir<'_> {
        Fhir { client: self }
    }

    /// The v2 beta: cursor-paged lists and bulk writes.
    pub fn v2(&self) -> V2<'_> {
        V2 { client: self }
    }

    /// `GET` a `_links` href, e.g. `client.follow::<Patient>(&patient.links.self_)`. Only hrefs on
    /// this client's API are followed: the credential is never sent elsewhere.
    pub fn follow<T>(&self, link: &Link) -> Call<'_, T> {
        match self.link_path(&link.href) {
            Ok(path) => {
                let route = route_template(&path);
                Call::new(self, Method::GET, Cow::Owned(route), path)
            }
            Err(error) => Call::failed(self, error),
        }
    }

    /// Signs in now with the configured grant, replacing tokens held (for a sign-in screen; calls
    /// sign in by themselves when they need to).
    pub async fn sign_in(&self) -> Result<(), Error> {
        self.inner.tokens.sign_in().await
    }

    /// Forgets the tokens (clearing the [`TokenStore`]) and revokes them at the server. A later
    /// call signs in again with the configured grant.
    pub async fn sign_out(&self) -> Result<(), Error> {
        self.inner.tokens.sign_out().await
    }

    /// The tokens held now (none before the first call that needed one, or with an API key).
    pub async fn tokens(&self) -> Option<Tokens> {
        self.inner.tokens.tokens().await
    }

    /// The rate-limit budget as this client knows it (none before the API's first answer).
    pub fn rate_limit(&self) -> Option<RateLimitStatus> {
        self.inner.budget.status(self.inner.clock.now())
    }

    /// The path of an href on this API (absolute paths and same-origin URLs only).
    fn link_path(&self, href: &str) -> Result<String, Error> {
        let base = &self.inner.base;
        let refused = || Error::config("link", "the href does not point into this API");
        let resolved = base.join(href).map_err(|_| refused())?;
        if resolved.origin() != base.origin() {
            return Err(refused());
        }
        // Hrefs are absolute paths from the API's root (`/api/v1/…`); a base URL with a path
        // prefix serves them below the prefix unless the href already carries it.
        let path = resolved.path();
        let prefix = base.path().trim_end_matches('/');
        let href_path = if href.starts_with('/') && !href.starts_with("//") {
            href.split(['?', '#']).next().unwrap_or(href)
        } else {
            path
        };
        let href_path = href_path.strip_prefix(prefix).unwrap_or(href_path);
        let mut out = href_path.to_owned();
        if let Some(query) = resolved.query() {
            out.push('?');
            out.push_str(query);
        }
        Ok(out)
    }

    fn url(&self, path: &str, query: &[(&'static str, String)]) -> Result<url::Url, Error> {
        let mut url = self
            .inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::config("request path", e))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        Ok(url)
    }

    /// Sends `call` with retries; a 2xx answer, or the error of the last try.
    async fn execute(&self, call: &Request) -> Result<RawAnswer, Error> {
        let inner = &self.inner;
        let deadline = inner.clock.now() + chrono_duration(self.retry.deadline);
        let request_id = match &call.options.request_id {
            Some(id) => id.clone(),
            None => random_id("req-"),
        };
        let correlation_id = call
            .options
            .correlation_id
            .clone()
            .or_else(|| inner.correlation_id.clone());
        let idempotency_key = match call.method {
            Method::POST | Method::PUT => Some(
                call.options
                    .idempotency_key
                    .clone()
                    .unwrap_or_else(|| random_id("idem-")),
            ),
            _ => None,
        };
        // Only what is safe to repeat is repeated: reads, and writes the server deduplicates.
        let repeatable = call.method == Method::GET || idempotency_key.is_some();
        let headers = Headers {
            request_id: &request_id,
            correlation_id: correlation_id.as_deref(),
            idempotency_key: idempotency_key.as_deref(),
        };
        let mut ceilings = self.retry.ceilings();
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let span = tracing::info_span!(
                "practice_studio.request",
                method = %call.method,
                route = %call.route,
                attempt,
                request_id = %request_id,
                status = tracing::field::Empty,
            );
            let failure = match self
                .attempt(call, &headers, deadline)
                .instrument(span.clone())
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(failure) => *failure,
            };
            let Failure {
                error,
                bearer,
                repeatable: stage_repeatable,
            } = failure;
            if let (Error::Unauthorized(_), Some(used), false) = (&error, &bearer, refreshed) {
                // The token died early (revoked, server restarted): refresh once, try again.
                refreshed = true;
                span.in_scope(|| tracing::info!("401 with a bearer token; refreshing once"));
                inner.tokens.rejected(used).await;
                continue;
            }
            if !(repeatable && stage_repeatable && error.is_retryable()) {
                return Err(error);
            }
            let Some(ceiling) = ceilings.next() else {
                return Err(error);
            };
            let wait = retry::delay(ceiling, retry_after_of(&error));
            if inner.clock.now() + chrono_duration(wait) >= deadline {
                return Err(error);
            }
            span.in_scope(|| {
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    error = error_kind(&error),
                    "retrying"
                )
            });
            inner.clock.sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        call: &Request,
        headers: &Headers<'_>,
        deadline: chrono::DateTime<chrono::Utc>,
    ) -> Result<RawAnswer, Box<Failure>> {
        let inner = &self.inner;
        let credential = if call.authenticated {
            inner
                .tokens
                .credential()
                .await
                .map_err(Failure::final_error)?
        } else {
            Credential::None
        };
        let bearer = match &credential {
            Credential::Bearer(token) => Some(token.clone()),
            _ => None,
        };
        // Only the API's own routes count against the rate limit.
        let _ticket = if call.authenticated {
            Some(
                self.admit(
                    call.options.priority.unwrap_or_default(),
                    call.options.cost.max(1),
                    deadline,
                )
                .await
                .map_err(Failure::final_error)?,
            )
        } else {
            None
        };
        let remaining = until(inner.clock.now(), deadline);
        if remaining.is_zero() {
            return Err(Failure::final_error(Error::Timeout {
                after: self.retry.deadline,
            }));
        }
        let timeout = self.retry.attempt_timeout.min(remaining);
        let url = self
            .url(&call.path, &call.query)
            .map_err(Failure::final_error)?;
        let mut request = inner
            .http
            .request(call.method.clone(), url)
            .timeout(timeout)
            .header(reqwest::header::ACCEPT, call.accept);
        let mut extra = HeaderMap::new();
        let header = |value: &str, name: &'static str| {
            HeaderValue::from_str(value)
                .map_err(|_| Failure::final_error(Error::config(name, "not a valid header value")))
        };
        extra.insert(X_REQUEST_ID, header(headers.request_id, "request id")?);
        if let Some(id) = headers.correlation_id {
            extra.insert(X_CORRELATION_ID, header(id, "correlation id")?);
        }
        if let Some(key) = headers.idempotency_key {
            extra.insert(IDEMPOTENCY_KEY, header(key, "idempotency key")?);
        }
        if let Some(version) = &call.options.if_match {
            extra.insert(reqwest::header::IF_MATCH, header(version, "If-Match")?);
        }
        if let Some(value) = credential.header() {
            extra.insert(reqwest::header::AUTHORIZATION, value);
        }
        request = request.headers(extra);
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let sent_at = std::time::Instant::now();
        let response = request.send().await.map_err(|e| {
            Box::new(Failure {
                error: auth::classify(e, timeout),
                bearer: bearer.clone(),
                repeatable: true,
            })
        })?;
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        if call.authenticated {
            inner.budget.observe(&response_headers, inner.clock.now());
        }
        tracing::Span::current().record("status", status);
        if call.stream_body && (200..300).contains(&status) {
            return Ok(RawAnswer {
                status,
                headers: response_headers,
                body: Vec::new(),
                stream: Some(response),
            });
        }
        let body = response.bytes().await.map_err(|e| {
            Box::new(Failure {
                error: auth::classify(e, timeout),
                bearer: bearer.clone(),
                repeatable: true,
            })
        })?;
        tracing::debug!(
            status,
            latency_ms = sent_at.elapsed().as_secs_f64() * 1e3,
            "answered"
        );
        if (200..300).contains(&status) {
            return Ok(RawAnswer {
                status,
                headers: response_headers,
                body: body.to_vec(),
                stream: None,
            });
        }
        Err(Box::new(Failure {
            error: error::from_response(status, retry_after(&response_headers), &body),
            bearer,
            repeatable: true,
        }))
    }

    /// Waits until the budget lets a request of `priority` go, or fails when that would be after
    /// the deadline.
    async fn admit(
        &self,
        priority: Priority,
        cost: u32,
        deadline: chrono::DateTime<chrono::Utc>,
    ) -> Result<Ticket<'_>, Error> {
        let inner = &self.inner;
        loop {
            let now = inner.clock.now();
            match inner.budget.try_acquire_cells(priority, now, cost) {
                Ok(ticket) => return Ok(ticket),
                Err(Wait::Probe) => {
                    // A real-time cap as well, in case the answer came between the check and here.
                    let _ = tokio::time::timeout(
                        Duration::from_millis(50),
                        inner.budget.probe_answered(),
                    )
                    .await;
                }
                Err(Wait::For(wait)) => {
                    if now + chrono_duration(wait) > deadline {
                        return Err(Error::RateLimited {
                            retry_after: Some(wait),
                        });
                    }
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        ?priority,
                        "waiting for the rate-limit budget"
                    );
                    inner.clock.sleep(wait).await;
                }
            }
        }
    }
}

struct Headers<'a> {
    request_id: &'a str,
    correlation_id: Option<&'a str>,
    idempotency_key: Option<&'a str>,
}

struct Failure {
    error: Error,
    /// The bearer token the request carried, to tell the token manager which one died.
    bearer: Option<Secret>,
    /// False for failures before sending (sign-in, budget deadline, configuration).
    repeatable: bool,
}

impl Failure {
    fn final_error(error: Error) -> Box<Self> {
        Box::new(Self {
            error,
            bearer: None,
            repeatable: false,
        })
    }
}

struct RawAnswer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The unread body of a 2xx answer to a request with `stream_body`.
    stream: Option<reqwest::Response>,
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    // Seconds only: the API never sends an HTTP date here.
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

fn retry_after_of(error: &Error) -> Option<Duration> {
    match error {
        Error::RateLimited { retry_after } | Error::IdempotencyInProgress { retry_after, .. } => {
            *retry_after
        }
        _ => None,
    }
}

/// A word for logs: never the error's message, which may quote ids.
fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::Api { .. } => "api",
        Error::RateLimited { .. } => "rate_limited",
        Error::Unauthorized(_) => "unauthorized",
        Error::Forbidden(_) => "forbidden",
        Error::NotFound(_) => "not_found",
        Error::Conflict(_) => "conflict",
        Error::VersionMismatch(_) => "version_mismatch",
        Error::IdempotencyInProgress { .. } => "idempotency_in_progress",
        Error::IdempotencyMismatch(_) => "idempotency_mismatch",
        Error::Gone(_) => "gone",
        Error::Network(_) => "network",
        Error::Timeout { .. } => "timeout",
        Error::Decode { .. } => "decode",
        Error::SignIn(_) => "sign_in",
        Error::Config { .. } => "config",
    }
}

fn random_id(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

/// The route template of a path: segments that carry an id (any digit, except version segments
/// such as `v1`) become `{id}`, and the query is dropped.
fn route_template(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let is_version = segment.len() >= 2
                && segment.starts_with(['v', 'r'])
                && segment[1..].bytes().all(|b| b.is_ascii_digit());
            if segment.bytes().any(|b| b.is_ascii_digit()) && !is_version {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    segments.join("/")
}

/// What a [`Call`] sends.
struct Request {
    method: Method,
    route: Cow<'static, str>,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    authenticated: bool,
    /// The `Accept` header: JSON, or a document type for downloads (whose errors are JSON).
    accept: &'static str,
    /// A 2xx answer's body is left unread for the caller to stream (downloads).
    stream_body: bool,
    options: Options,
}

#[derive(Default)]
struct Options {
    priority: Option<Priority>,
    request_id: Option<String>,
    correlation_id: Option<String>,
    idempotency_key: Option<String>,
    if_match: Option<String>,
    /// How many requests of the rate limit the server counts this one as (0 and 1: one).
    cost: u32,
}

/// An answer with what its headers said.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    pub status: u16,
    /// `X-Request-ID` as the server echoed it.
    pub request_id: Option<String>,
    /// The `ETag` (a resource's version, quoted).
    pub etag: Option<String>,
    /// True when the server replayed the first answer to this `Idempotency-Key`.
    pub replayed: bool,
}

/// One call of the API, ready to send: `.await` it for the answer, or set options first.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, T> {
    client: &'a Client,
    request: Request,
    /// A problem found while building the call (an unserializable body, a foreign link).
    early: Option<Error>,
    _answer: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.request.method)
            .field("route", &self.request.route)
            .finish_non_exhaustive()
    }
}

impl<'a, T> Call<'a, T> {
    fn new(
        client: &'a Client,
        method: Method,
        route: impl Into<Cow<'static, str>>,
        path: String,
    ) -> Self {
        Self {
            client,
            request: Request {
                method,
                route: route.into(),
                path,
                query: Vec::new(),
                body: None,
                authenticated: true,
                accept: "application/json",
                stream_body: false,
                options: Options::default(),
            },
            early: None,
            _answer: PhantomData,
        }
    }

    fn failed(client: &'a Client, error: Error) -> Self {
        let mut call = Self::new(client, Method::GET, "(invalid)", String::new());
        call.early = Some(error);
        call
    }

    fn query(mut self, pairs: Vec<(&'static str, String)>) -> Self {
        self.request.query = pairs;
        self
    }

    /// The server counts this request as `requests` of the rate limit (a bulk write): the
    /// budget waits for that much room.
    fn cost(mut self, requests: u32) -> Self {
        self.request.options.cost = requests;
        self
    }

    fn json(mut self, body: &impl Serialize) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.request.body = Some(bytes),
            Err(error) => self.early = Some(Error::config("request body", error)),
        }
        self
    }

    /// Interactive (the default for single calls) or background.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.request.options.priority = Some(priority);
        self
    }

    /// The `X-Request-ID` to send (1–128 visible ASCII characters); a new one otherwise. All
    /// tries of the call carry the same id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request.options.request_id = Some(id.into());
        self
    }

    /// The `X-Correlation-ID` to send, instead of the client's.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.request.options.correlation_id = Some(id.into());
        self
    }

    /// The `Idempotency-Key` of a POST or PUT (an outbox supplies the key it stored with the
    /// change); a new one otherwise. Ignored for GETs.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.request.options.idempotency_key = Some(key.into());
        self
    }

    /// `If-Match` with a resource's version: the server refuses the change with
    /// [`Error::VersionMismatch`] if the resource changed since.
    pub fn if_match(mut self, version: i64) -> Self {
        self.request.options.if_match = Some(format!("\"{version}\""));
        self
    }
}

impl<'a, T: DeserializeOwned + Send + 'a> Call<'a, T> {
    /// Sends the call and returns the answer with its headers.
    pub async fn send(self) -> Result<Answer<T>, Error> {
        {
            if let Some(error) = self.early {
                return Err(error);
            }
            let raw = self.client.execute(&self.request).await?;
            // An answer without a body (204) reads as `null`, which `()` accepts.
            let body: &[u8] = if raw.body.is_empty() {
                b"null"
            } else {
                &raw.body
            };
            let value =
                serde_json::from_slice(body).map_err(|e| error::decode_success(raw.status, &e))?;
            let text = |name: &HeaderName| {
                raw.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            Ok(Answer {
                value,
                status: raw.status,
                request_id: text(&X_REQUEST_ID),
                etag: text(&reqwest::header::ETAG),
                replayed: text(&IDEMPOTENT_REPLAYED).as_deref() == Some("true"),
            })
        }
    }
}

impl<'a, T: DeserializeOwned + Send + 'a> IntoFuture for Call<'a, T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'a, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        let sent = self.send();
        Box::pin(async move { sent.await.map(|answer| answer.value) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_http_with_a_host_and_no_credentials() {
        for bad in [
            "ftp://example.com",
            "not a url",
            "https://user:pw@example.com",
        ] {
            assert!(
                matches!(Client::new(bad), Err(Error::Config { .. })),
                "{bad}"
            );
        }
        assert!(Client::new("http://127.0.0.1:9").is_ok());
    }

    #[test]
    fn a_path_prefix_is_kept_when_joining_routes() {
        let client = Client::new("https://example.com/practice").expect("valid url");
        assert_eq!(
            client.url("/health", &[]).expect("join").as_str(),
            "https://example.com/practice/health"
        );
        assert_eq!(
            client
                .link_path("/api/v1/patients/PAT-1/records?limit=5")
                .expect("same origin"),
            "/api/v1/patients/PAT-1/records?limit=5"
        );
        assert_eq!(
            client
                .link_path("https://example.com/practice/api/v1/patients/PAT-1")
                .expect("same origin"),
            "/api/v1/patients/PAT-1"
        );
    }

    #[test]
    fn links_to_other_hosts_are_refused() {
        let client = Client::new("https://example.com").expect("valid url");
        for foreign in [
            "https://evil.example/api/v1/patients",
            "//evil.example/api",
            "http://example.com/api",
        ] {
            assert!(client.link_path(foreign).is_err(), "{foreign}");
        }
    }

    #[test]
    fn route_templates_hide_ids_and_queries() {
        assert_eq!(
            route_template("/api/v1/patients/PAT-12345/records?search=smith"),
            "/api/v1/patients/{id}/records"
        );
        assert_eq!(route_template("/fhir/r4/Patient"), "/fhir/r4/Patient");
    }

    #[test]
    fn the_client_s_debug_shows_no_secret() {
        let client = Client::builder("https://example.com")
            .auth(Auth::client_credentials("integration", "very-secret"))
            .proxy("http://user:proxy-password@proxy.example:3128")
            .build()
            .expect("builds");
        let text = format!("{client:?}");
        assert!(
            !text.contains("very-secret") && !text.contains("proxy-password"),
            "{text}"
        );
    }

    #[test]
    fn extra_ca_certificates_must_be_pem() {
        let built = Client::builder("https://example.com")
            .extra_ca_pem(b"not a certificate".to_vec())
            .build();
        assert!(matches!(
            built,
            Err(Error::Config {
                setting: "extra CA certificates",
                ..
            })
        ));
        let missing = Client::builder("https://example.com")
            .extra_ca_file("/nonexistent/ca.pem")
            .build();
        assert!(matches!(
            missing,
            Err(Error::Config {
                setting: "extra CA file",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_retryable_network_error() {
        // A port that was free a moment ago: bind it, note it, release it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = Client::new(&format!("http://{addr}"))
            .expect("valid url")
            .with_retry(RetryPolicy::never());
        let error = client.health().await.expect_err("nothing listens");
        assert!(matches!(error, Error::Network(_)), "{error:?}");
        assert!(error.is_retryable(), "{error:?}");
    }
}
