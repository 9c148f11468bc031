//! The desk: the one object the shells (Tauri window, browser mode) talk to.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use practice_studio::client::{Client, Error as ClientError, RetryPolicy};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, RwLock};
use ts_rs::TS;

use crate::clock::Clock;
use crate::config::{Config, ConfigError, ConfigKey};

/// How long a status check waits for the API before calling it unreachable.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the desk's status waits for a check of the API before answering without it: a desk
/// starting while the network drops packets shows its screens at once, not after the timeout.
const STATUS_WAIT: Duration = Duration::from_millis(300);

/// Which shell shows the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// The Tauri desktop window.
    Window,
    /// `frontdesk serve`: the same UI in a browser on this machine.
    Browser,
}

/// Why the API could not be used. Deliberately without the API's address or raw error text: the
/// UI never learns where the API lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApiProblem {
    /// No connection could be made (network down, server stopped, name not found).
    NoConnection,
    /// The server did not answer in time.
    Timeout,
    /// The server answered with an error status.
    ServerError,
    /// The server answered something that is not the Practice Studio API.
    NotPracticeStudio,
}

impl From<&ClientError> for ApiProblem {
    fn from(error: &ClientError) -> Self {
        match error {
            ClientError::Network(_) | ClientError::Config { .. } => ApiProblem::NoConnection,
            ClientError::Timeout { .. } => ApiProblem::Timeout,
            ClientError::Decode { .. } => ApiProblem::NotPracticeStudio,
            _ => ApiProblem::ServerError,
        }
    }
}

/// The desk's link to the Practice Studio API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ApiState {
    /// No API URL is configured yet: the first-run screen asks for one.
    NotConfigured,
    /// The last check reached the API.
    #[serde(rename_all = "camelCase")]
    Connected {
        server_version: String,
        /// The server runs on demo data.
        demo: bool,
    },
    /// The last check did not reach the API.
    Unreachable { problem: ApiProblem },
    /// The desk has not heard from the API since it started: the first check is under way, and
    /// its answer is announced with [`DeskEvent::ConnectionChanged`].
    Checking,
}

/// What the status bar and the start screen show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The desk's version.
    pub version: String,
    /// The commit the desk was built from (12 hex digits), or "unknown".
    pub commit: String,
    pub surface: Surface,
    /// The date the desk treats as today.
    pub today: NaiveDate,
    pub api: ApiState,
    /// Whether the API address may be changed from the desk (not locked by the administrator).
    pub api_url_editable: bool,
}

/// What the core tells the UI without being asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskEvent {
    /// The link to the API changed (came up, went down, was configured).
    ConnectionChanged { api: ApiState },
    /// Someone signed in, or the desk was handed back to the sign-in screen.
    SessionChanged {
        session: Option<crate::session::SessionInfo>,
    },
    /// Sync's figures changed (connectivity, last sync, pending, conflicts).
    SyncStatusChanged { sync: crate::session::SyncView },
    /// Something happened in sync (first-sync progress, changed items, a write accepted or
    /// refused).
    Sync { event: crate::SyncEvent },
    /// The desk locked (idle time ran out, or `Ctrl+L`) or was unlocked.
    LockChanged { locked: bool },
    /// A cancellation (here or at another desk) freed a slot that patients on the waitlist
    /// would take: `slot_offers` lists it with the candidates.
    #[serde(rename_all = "camelCase")]
    SlotFreed {
        appointment_id: String,
        candidates: u32,
    },
    /// The waitlist changed on the server through this desk (an entry booked).
    WaitlistChanged,
    /// Updates: one was found, its download moved on, it waits, installs or failed
    /// ([`crate::updates`]). Shown to administrators only.
    UpdateChanged { update: crate::updates::UpdateView },
}

/// What a desk operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the API address is not usable: {0}")]
    InvalidApiUrl(#[source] ClientError),
    #[error("no Practice Studio address is configured yet")]
    NotConfigured,
    #[error(
        "the OS keychain is not available, so this desk cannot keep your sign-in or its \
         encrypted cache: {0}"
    )]
    NoKeychain(String),
    #[error("the keychain could not be used: {0}")]
    Keychain(#[source] crate::keychain::KeychainError),
    #[error("the user name or password was not accepted")]
    WrongCredentials,
    #[error("the sign-in in the browser did not complete: {0}")]
    BrowserSignIn(String),
    #[error("this account cannot use the desk: {0}")]
    NotAUser(&'static str),
    #[error("nobody is signed in")]
    NotSignedIn,
    #[error("the desk is locked: unlock it to continue")]
    Locked,
    #[error("the patient's details changed while the form was open; look at them again")]
    StaleEdit,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
    #[error("the server cannot be reached, and this is not kept on the desk: {0}")]
    Offline(#[source] ClientError),
    #[error("the server refused: {0}")]
    Api(#[source] ClientError),
    #[error("the local cache failed: {0}")]
    Cache(#[from] frontdesk_store::CacheError),
    #[error("sync failed: {0}")]
    Sync(#[from] crate::SyncError),
    #[error("the patient's details are not acceptable")]
    Invalid(Vec<practice_studio::model::ErrorDetail>),
    #[error("the desk has no data directory attached")]
    NoDevice,
}

impl CoreError {
    /// A failed API call: unreachable (offline) or refused.
    pub(crate) fn from_api(error: ClientError) -> Self {
        match error {
            ClientError::Network(_)
            | ClientError::Timeout { .. }
            | ClientError::RateLimited { .. } => CoreError::Offline(error),
            ClientError::NotFound(_) => CoreError::NotFound {
                what: "the item",
                id: String::new(),
            },
            other => CoreError::Api(other),
        }
    }
}

/// How to build a [`Desk`].
pub struct DeskOptions {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub surface: Surface,
}

/// The front desk's use cases. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Desk {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: RwLock<Config>,
    api: RwLock<Option<Client>>,
    pub(crate) clock: Arc<dyn Clock>,
    surface: Surface,
    pub(crate) events: broadcast::Sender<DeskEvent>,
    last_api_state: RwLock<ApiState>,
    /// The data directory and keychain, attached by the shell ([`Desk::attach_device`]).
    pub(crate) device: std::sync::OnceLock<crate::session::Device>,
    /// The signed-in user, if any.
    pub(crate) session: RwLock<Option<crate::session::Session>>,
    /// The encrypted cache and its sync engine, opened at the first sign-in (and emptied again
    /// by "remove this device's data").
    pub(crate) cache: std::sync::RwLock<Option<Arc<crate::session::Cache>>>,
    /// One opening of the cache at a time.
    pub(crate) cache_opening: tokio::sync::Mutex<()>,
    /// Opens the system browser for "Sign in with browser" (given by the shell).
    pub(crate) browser: std::sync::Mutex<Option<practice_studio::client::OpenBrowser>>,
    /// Idle time and the lock ([`crate::lock`]).
    pub(crate) lock: crate::lock::LockState,
    /// Held (written) while the remembered session is restored in the background
    /// ([`Desk::restore_session_in_background`]); [`Desk::session`] waits for it.
    pub(crate) restoring: Arc<RwLock<()>>,
    /// In-app updates ([`crate::updates`]).
    pub(crate) updates: crate::updates::Updates,
}

impl Desk {
    /// A desk over the given configuration. A configured but malformed API URL is an error here,
    /// before any window opens.
    pub fn new(options: DeskOptions) -> Result<Self, CoreError> {
        let api = match options.config.api_url() {
            Some(url) => Some(Client::new(url).map_err(CoreError::InvalidApiUrl)?),
            None => None,
        };
        let (events, _) = broadcast::channel(256);
        let lock_after = Duration::from_secs(u64::from(options.config.lock_minutes()) * 60);
        Ok(Self {
            inner: Arc::new(Inner {
                config: RwLock::new(options.config),
                api: RwLock::new(api),
                clock: options.clock,
                surface: options.surface,
                events,
                last_api_state: RwLock::new(ApiState::Checking),
                device: std::sync::OnceLock::new(),
                session: RwLock::new(None),
                cache: std::sync::RwLock::new(None),
                cache_opening: tokio::sync::Mutex::new(()),
                browser: std::sync::Mutex::new(None),
                lock: crate::lock::LockState::new(lock_after),
                restoring: Arc::new(RwLock::new(())),
                updates: crate::updates::Updates::new(),
            }),
        })
    }

    /// Events for the UI, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.inner.events.subscribe()
    }

    /// The desk's state, with a fresh check of the API (at most a few seconds).
    pub async fn app_status(&self) -> AppStatus {
        let api = self.api_state_within(STATUS_WAIT).await;
        let config = self.inner.config.read().await;
        AppStatus {
            version: self.inner.updates.version(),
            commit: env!("FRONTDESK_COMMIT").to_owned(),
            surface: self.inner.surface,
            today: self.inner.clock.today(),
            api,
            api_url_editable: !matches!(
                config.setting(ConfigKey::ApiUrl).source,
                crate::config::Source::Managed { locked: true, .. }
            ),
        }
    }

    /// First run: the person at the desk names the API. The address is checked, saved in the
    /// user's configuration file, and used from now on.
    pub async fn configure_api(&self, api_url: &str) -> Result<AppStatus, CoreError> {
        let client = Client::new(api_url.trim()).map_err(CoreError::InvalidApiUrl)?;
        self.inner
            .config
            .write()
            .await
            .save_user_value(ConfigKey::ApiUrl, api_url)?;
        *self.inner.api.write().await = Some(client);
        tracing::info!("API address configured");
        Ok(self.app_status().await)
    }

    /// Checks the API now; tells subscribers when the answer differs from the last one.
    /// The API's state when a check ends within `wait`; otherwise the last one known
    /// ([`ApiState::Checking`] before the first), while the check carries on and announces its
    /// answer.
    async fn api_state_within(&self, wait: Duration) -> ApiState {
        let desk = self.clone();
        let check = tokio::spawn(async move { desk.check_api().await });
        match tokio::time::timeout(wait, check).await {
            Ok(Ok(state)) => state,
            Ok(Err(_)) | Err(_) => self.inner.last_api_state.read().await.clone(),
        }
    }

    pub async fn check_api(&self) -> ApiState {
        let client = self.inner.api.read().await.clone();
        let state = match client {
            None => ApiState::NotConfigured,
            // One try: the connection watch checks again soon anyway.
            Some(client) => match client
                .with_retry(RetryPolicy::never())
                .with_timeout(STATUS_TIMEOUT)
                .health()
                .await
            {
                Ok(health) => ApiState::Connected {
                    server_version: health.version,
                    demo: health.demo,
                },
                Err(error) => {
                    tracing::debug!(retryable = error.is_retryable(), "API check failed");
                    ApiState::Unreachable {
                        problem: ApiProblem::from(&error),
                    }
                }
            },
        };
        let mut last = self.inner.last_api_state.write().await;
        if *last != state {
            *last = state.clone();
            // No subscriber is fine: the next one asks for the status itself.
            let _ = self
                .inner
                .events
                .send(DeskEvent::ConnectionChanged { api: state.clone() });
        }
        state
    }

    /// Keeps checking the API every `every`, so the status bar notices an outage on its own.
    pub fn spawn_connection_watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let desk = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                desk.check_api().await;
            }
        })
    }
}
