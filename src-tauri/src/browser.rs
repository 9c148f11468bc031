//! Browser mode (`frontdesk serve`): the same UI and commands, served to a browser on this machine.
//!
//! Loopback only, and every request (page, asset, command, event stream) must carry the per-launch
//! key: in the `?key=` of the printed address, or in the cookie set when that address was opened.
//! Without it the answer is 401, so another local user or a web page in the same browser cannot
//! reach patient data through this port.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::Desk;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::BroadcastStream;

use crate::cli::{BrowserOptions, PREFERRED_PORT};
use crate::commands::{self, CommandError, CommandErrorCode};

/// Content Security Policy of browser mode: nothing but this origin.
const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; \
                   style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; \
                   base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The UI's files, read once from the binary (the same bytes the window shows).
#[derive(Clone, Default)]
pub struct UiAssets {
    files: Arc<HashMap<String, Vec<u8>>>,
}

impl UiAssets {
    /// The UI embedded in this binary.
    pub fn embedded() -> Self {
        let context = crate::context();
        let assets = context.assets();
        // `iter` yields the stored (compressed) bytes; `get` decompresses, so iterate for names.
        let names: Vec<String> = assets.iter().map(|(path, _)| path.into_owned()).collect();
        let files = names
            .into_iter()
            .filter_map(|name| {
                let bytes = assets.get(&tauri::utils::assets::AssetKey::from(name.as_str()))?;
                Some((normalise(&name), bytes.into_owned()))
            })
            .collect();
        Self {
            files: Arc::new(files),
        }
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(&normalise(path)).map(Vec::as_slice)
    }
}

fn normalise(path: &str) -> String {
    format!("/{}", path.trim_start_matches('/'))
}

/// What every request handler shares.
#[derive(Clone)]
pub struct BrowserState {
    desk: Desk,
    key: Arc<str>,
    cookie_name: Arc<str>,
    assets: UiAssets,
    shutdown: watch::Receiver<bool>,
}

impl BrowserState {
    /// State for a server on `port` (the cookie is named per port: browsers share cookies across
    /// ports of one host, and two desks must not overwrite each other's key).
    pub fn new(
        desk: Desk,
        key: String,
        port: u16,
        assets: UiAssets,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            desk,
            key: key.into(),
            cookie_name: format!("frontdesk_key_{port}").into(),
            assets,
            shutdown,
        }
    }
}

/// A fresh random key for one launch (256 bits, hex).
pub fn new_key() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves until Ctrl+C or SIGTERM.
pub async fn serve(desk: Desk, options: BrowserOptions) -> anyhow::Result<()> {
    let listener = bind(options.ip, options.port).await?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let key = new_key();
    let (stop_tx, stop_rx) = watch::channel(false);
    let state = BrowserState::new(
        desk,
        key.clone(),
        addr.port(),
        UiAssets::embedded(),
        stop_rx,
    );
    // Written, not `println!`ed: a closed stdout (a supervisor that read the address and left)
    // must not stop the desk.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "Front Desk browser mode: http://{addr}/?key={key}");
    let _ = writeln!(
        stdout,
        "Open that address in a browser on this machine. Press Ctrl+C to stop."
    );
    let _ = stdout.flush();
    drop(stdout);
    tracing::info!(port = addr.port(), "browser mode listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await
        .context("serving browser mode")
}

async fn bind(ip: IpAddr, port: Option<u16>) -> anyhow::Result<TcpListener> {
    match port {
        Some(port) => TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .with_context(|| {
                format!("cannot listen on {ip}:{port}; choose another --port, or omit it")
            }),
        None => match TcpListener::bind(SocketAddr::new(ip, PREFERRED_PORT)).await {
            Ok(listener) => Ok(listener),
            Err(error) => {
                tracing::info!(%error, "port {PREFERRED_PORT} is taken; using a free one");
                TcpListener::bind(SocketAddr::new(ip, 0))
                    .await
                    .with_context(|| format!("cannot listen on {ip}"))
            }
        },
    }
}

/// Browser mode's routes, behind the key check.
pub fn router(state: BrowserState) -> Router {
    Router::new()
        .route("/api/commands/{command}", post(run_command))
        .route("/api/events", get(events))
        .fallback(asset)
        .layer(middleware::from_fn_with_state(state.clone(), require_key))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn require_key(State(state): State<BrowserState>, request: Request, next: Next) -> Response {
    let matches = |candidate: &str| bool::from(candidate.as_bytes().ct_eq(state.key.as_bytes()));
    let from_query = request
        .uri()
        .query()
        .and_then(url_key)
        .is_some_and(|k| matches(&k));
    let from_cookie = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == &*state.cookie_name && matches(value));
    if !from_query && !from_cookie {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Front Desk browser mode: open the address that `frontdesk serve` printed (it carries this launch's key).\n",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    if from_query && !from_cookie {
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            state.cookie_name, state.key
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn url_key(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.into_owned())
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Patient data must not linger in the browser's cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn run_command(
    State(state): State<BrowserState>,
    Path(command): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let args = body.map(|Json(v)| v).unwrap_or(Value::Null);
    match commands::dispatch(&state.desk, &command, args).await {
        Ok(value) => Json(value).into_response(),
        Err(error) => (status_of(&error), Json(error)).into_response(),
    }
}

fn status_of(error: &CommandError) -> StatusCode {
    match error.code {
        CommandErrorCode::UnknownCommand => StatusCode::NOT_FOUND,
        CommandErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        CommandErrorCode::NotAllowed => StatusCode::FORBIDDEN,
        CommandErrorCode::NotSignedIn | CommandErrorCode::WrongCredentials => {
            StatusCode::UNAUTHORIZED
        }
        CommandErrorCode::Locked => StatusCode::LOCKED,
        CommandErrorCode::NotFound => StatusCode::NOT_FOUND,
        CommandErrorCode::Offline => StatusCode::SERVICE_UNAVAILABLE,
        CommandErrorCode::Refused => StatusCode::BAD_GATEWAY,
        CommandErrorCode::NoKeychain | CommandErrorCode::Internal => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

async fn events(
    State(state): State<BrowserState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut shutdown = state.shutdown.clone();
    let stopped = async move {
        // Ends the stream when the server stops, so graceful shutdown does not wait on it.
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    let stream = BroadcastStream::new(state.desk.subscribe())
        .filter_map(|item| async move {
            // A lagging browser skips what it missed; it re-reads the status on the next event.
            let event = item.ok()?;
            Event::default()
                .event("desk")
                .json_data(&event)
                .ok()
                .map(Ok)
        })
        .take_until(Box::pin(stopped));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn asset(State(state): State<BrowserState>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path();
    let (path, bytes) = match state.assets.get(path) {
        Some(bytes) => (path, bytes),
        // Paths without an extension are the UI's own routes: they get the page.
        None if !path.rsplit('/').next().unwrap_or("").contains('.') => {
            match state.assets.get("/index.html") {
                Some(bytes) => ("/index.html", bytes),
                None => return StatusCode::NOT_FOUND.into_response(),
            }
        }
        None => return StatusCode::NOT_FOUND.into_response(),
    };
    let path = if path == "/" { "/index.html" } else { path };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    Response::builder()
        .header(header::CONTENT_TYPE, mime.as_ref())
        .body(Body::from(bytes.to_vec()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
