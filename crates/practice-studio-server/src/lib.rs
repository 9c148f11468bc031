//! # practice-studio-server
//!
//! The reference implementation of the Practice Studio API (`shared/practice-studio-api.md`), and the
//! demo backend the desk embeds with its `demo` feature.
//!
//! It stands for the remote system: it must never depend on a `frontdesk-*` crate, and it uses the
//! `practice-studio` crate for the wire model and shared rules only (never its HTTP client).
//!
//! Start reading at [`Server::builder`], which tests and the desk's demo mode use to run a server on
//! a loopback port; `main.rs` is the command line around it.

pub mod app;
mod appointments;
pub mod auth;
mod billing;
mod clinic;
pub mod clock;
pub mod demo;
mod demo_activity;
pub mod demo_appointments;
pub mod demo_billing;
pub mod demo_clinic;
pub mod demo_records;
pub mod error;
mod events;
mod fhir;
mod http;
mod idempotency;
pub mod openapi;
mod page_cache;
mod params;
mod patients;
mod pdf;
pub mod ratelimit;
mod records;
mod routes;
mod search;
pub mod storage;
mod v2;
mod waitlist;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the server takes "today" from. Demos pin a date (`--demo-today`) so every run shows the
/// same weekday; tests do the same to avoid depending on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Today {
    /// The machine's UTC calendar date.
    System,
    /// A fixed date.
    Fixed(NaiveDate),
}

impl Today {
    /// The date this source gives now.
    pub fn date(&self) -> NaiveDate {
        match self {
            Today::System => chrono::Utc::now().date_naive(),
            Today::Fixed(date) => *date,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Storage(#[from] storage::StorageError),
    #[error("cannot create a temporary database: {0}")]
    TempDatabase(#[source] std::io::Error),
}

/// Where the server keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (the default; created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database, `postgres://user@host:port/name` (several instances may share it).
    Postgres(String),
}

impl Database {
    /// A `postgres://` or `postgresql://` URL names PostgreSQL; anything else is a SQLite file.
    pub fn from_arg(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text.to_owned())
        } else {
            Database::Sqlite(PathBuf::from(text))
        }
    }

    /// Opens the database and brings its schema up to date.
    pub async fn open(&self) -> Result<Arc<dyn storage::Storage>, storage::StorageError> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(storage::SqliteStorage::open(path).await?),
            Database::Postgres(url) => Arc::new(storage::PgStorage::open(url).await?),
        })
    }
}

impl std::fmt::Display for Database {
    /// The file, or the PostgreSQL URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    write!(f, "{parsed}")
                }
                Err(_) => f.write_str("postgres://(unparsable URL)"),
            },
        }
    }
}

/// Settings of one server instance.
#[derive(Clone)]
pub struct ServerBuilder {
    bind: String,
    demo: bool,
    today: Today,
    clock: Option<Arc<dyn clock::Clock>>,
    database: Option<Database>,
    demo_seed: u64,
    demo_patients: u64,
    demo_activity: Option<std::time::Duration>,
    settings: app::Settings,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            demo: false,
            today: Today::System,
            clock: None,
            database: None,
            demo_seed: 1,
            demo_patients: 2_000,
            demo_activity: None,
            settings: app::Settings::default(),
        }
    }
}

/// The Practice Studio API server.
pub struct Server;

impl Server {
    /// Settings for a server on `127.0.0.1:0` (a free loopback port), without demo data.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

impl ServerBuilder {
    /// The address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free one.
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.bind = addr.into();
        self
    }

    /// Serve generated demo data.
    pub fn demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self.settings.demo = demo;
        self
    }

    /// Where "today" comes from.
    pub fn today(mut self, today: Today) -> Self {
        self.today = today;
        self
    }

    /// A clock for the whole server (tests move it by hand); overrides [`Self::today`].
    pub fn clock(mut self, clock: Arc<dyn clock::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The SQLite database file; without one the server uses a temporary file that is removed
    /// when it stops.
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = Some(Database::Sqlite(path.into()));
        self
    }

    /// Where the data is kept: a SQLite file or a PostgreSQL database (see [`Database`]).
    pub fn storage(mut self, database: Database) -> Self {
        self.database = Some(database);
        self
    }

    /// Seed of the generated demo data.
    pub fn demo_seed(mut self, seed: u64) -> Self {
        self.demo_seed = seed;
        self
    }

    /// How many patients the demo generates (2,000 by default).
    pub fn demo_patients(mut self, count: u64) -> Self {
        self.demo_patients = count;
        self
    }

    /// Play a clinic day on the demo data, one step this often (check-ins, rooms, completions,
    /// no-shows, registrations), so live updates and events can be watched.
    pub fn demo_activity(mut self, every: Option<std::time::Duration>) -> Self {
        self.demo_activity = every;
        self
    }

    /// Lifetime of access tokens.
    pub fn token_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.settings.token_ttl = ttl;
        self
    }

    /// Every other tunable (lockouts, idempotency retention, unlimited clients).
    pub fn settings(mut self, settings: app::Settings) -> Self {
        let demo = self.settings.demo;
        self.settings = settings;
        self.settings.demo = demo;
        self
    }

    /// Binds the listener and starts serving in the background of the current Tokio runtime.
    pub async fn start(self) -> Result<RunningServer, StartError> {
        let listener = TcpListener::bind(&self.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.bind.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.bind.clone(),
            source,
        })?;
        let clock: Arc<dyn clock::Clock> = match (self.clock, self.today) {
            (Some(clock), _) => clock,
            (None, Today::Fixed(day)) => Arc::new(clock::PinnedDayClock(day)),
            (None, Today::System) => Arc::new(clock::SystemClock),
        };
        let (database, temp_dir) = match self.database {
            Some(database) => (database, None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("practice-studio-")
                    .tempdir()
                    .map_err(StartError::TempDatabase)?;
                (
                    Database::Sqlite(dir.path().join("practice-studio.db")),
                    Some(dir),
                )
            }
        };
        let storage_handle = database.open().await?;
        let storage = storage_handle.as_ref();
        if self.demo && storage.count_patients().await? == 0 {
            let started = std::time::Instant::now();
            demo::seed_identities(storage, clock.now()).await?;
            demo_clinic::seed(storage, self.demo_seed, clock.today()).await?;
            let count =
                demo::seed_patients(storage, self.demo_seed, self.demo_patients, clock.today())
                    .await?;
            let appointments =
                demo_appointments::seed(storage, self.demo_seed, clock.now(), clock.today())
                    .await?;
            let records =
                demo_records::seed(storage, self.demo_seed, clock.today(), clock.now()).await?;
            let invoices =
                demo_billing::seed(storage, self.demo_seed, clock.today(), clock.now()).await?;
            tracing::info!(
                patients = count,
                appointments,
                records,
                invoices,
                seconds = started.elapsed().as_secs_f64(),
                "demo data generated"
            );
        }
        let mut settings = self.settings;
        settings.demo = self.demo;
        if self.demo {
            // The demo delivers webhooks to receivers on this machine.
            for loopback in ["127.0.0.0/8", "::1/128"] {
                if let Ok(net) = loopback.parse() {
                    settings.webhook_allowlist.push(net);
                }
            }
        }
        let state = app::AppState {
            storage: storage_handle,
            clock,
            limiter: Arc::new(ratelimit::RateLimiter::default()),
            settings: Arc::new(settings),
            patient_pages: Arc::new(page_cache::PageCache::default()),
            patient_index: Arc::new(search::PatientIndex::default()),
            openapi: Arc::default(),
        };
        let purge = tokio::spawn(purge_idempotency_keys(state.clone()));
        let deliveries = tokio::spawn(webhooks::run(state.clone()));
        let activity = match (self.demo, self.demo_activity) {
            (true, Some(every)) if !every.is_zero() => Some(tokio::spawn(demo_activity::run(
                state.clone(),
                every,
                self.demo_seed,
            ))),
            _ => None,
        };
        let app = routes::router(state);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                // A dropped sender also stops the server: nothing can ask for it any more.
                let _ = stop_rx.await;
            };
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await;
            purge.abort();
            deliveries.abort();
            if let Some(activity) = activity {
                activity.abort();
            }
            served
        });
        tracing::info!(%local_addr, demo = self.demo, "practice studio server listening");
        Ok(RunningServer {
            local_addr,
            stop: Some(stop_tx),
            task,
            _temp_dir: temp_dir,
        })
    }
}

/// A server serving in the background; dropping it stops it.
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    // Removed (with the demo database in it) when the server is dropped.
    _temp_dir: Option<tempfile::TempDir>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for that.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join)),
        }
    }

    /// Serves until the process is asked to stop (Ctrl+C or SIGTERM).
    pub async fn serve_until_signal(self) -> std::io::Result<()> {
        shutdown_signal().await;
        tracing::info!("stopping on signal");
        self.shutdown().await
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Forgets finished idempotency keys and events older than their retentions, once an hour.
async fn purge_idempotency_keys(state: app::AppState) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        ticker.tick().await;
        let cutoff = state.clock.now() - state.settings.idempotency_retention;
        match state.storage.purge_idempotency_keys(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "expired idempotency keys forgotten"),
            Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
        }
        let cutoff = state.clock.now() - state.settings.event_retention;
        match state.storage.purge_events(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "events past the feed's retention forgotten"),
            Err(error) => tracing::warn!(%error, "could not purge old events"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl+C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
