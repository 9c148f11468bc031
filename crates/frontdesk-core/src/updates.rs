//! In-app updates (issue 12): when the desk looks for a new version, what an administrator is
//! shown, and when a verified update may be installed.
//!
//! The core owns the rules; the shell supplies an [`UpdateSource`] that talks to the update
//! server and the system's package installer (the Tauri updater plugin in the window). Rules:
//! - the desk checks after start and then periodically; a failed check (offline, server error)
//!   is a `tracing` warning and a retry later, never a message to the person at the desk;
//! - only an administrator sees that an update is available and may start its download;
//! - a downloaded update is installed only once its signature verified (the source refuses
//!   anything else), and only when the desk is idle, so no one is interrupted mid-task: nobody
//!   signed in, the desk locked (a locked desk has dropped every open form), or the app closing.
//!   After the install the desk starts the new version.
//!
//! Builds without an updater (browser mode, demo mode, no `update_url`, no public key) report
//! [`UpdateState::Off`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::desk::{CoreError, Desk, DeskEvent};

/// How often a desk waiting to install looks whether it has become idle.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// A boxed future, so that [`UpdateSource`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Told how far a download has come: bytes so far and the total, when the server says it.
pub type DownloadProgressFn = Box<dyn FnMut(u64, Option<u64>) + Send>;

/// A release the update server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub version: String,
    /// The release notes, as published.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// When it was published.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<DateTime<Utc>>,
}

/// Why an update step failed. The messages are for an administrator to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("the update server could not be reached: {0}")]
    Unreachable(String),
    #[error("the update server's answer is not a usable update: {0}")]
    BadManifest(String),
    #[error(
        "the update was refused because its signature does not match this desk's update key \
         (the package was altered, or signed by someone else): {0}. Nothing was installed."
    )]
    BadSignature(String),
    #[error("the download failed: {0}")]
    Download(String),
    #[error("the package could not be installed: {0}")]
    Install(String),
    #[error("there is no downloaded update to install")]
    NothingToInstall,
}

/// What the shell provides: the update server and the package installer.
pub trait UpdateSource: Send + Sync + 'static {
    /// Asks the update server; `None` when this desk is up to date.
    fn check(&self) -> BoxFuture<'_, Result<Option<Release>, UpdateError>>;
    /// Downloads the release the last check found and verifies its signature; the verified
    /// package is kept for [`UpdateSource::install`].
    fn download(&self, progress: DownloadProgressFn) -> BoxFuture<'_, Result<(), UpdateError>>;
    /// Installs the verified package (blocking: it runs the system's package installer).
    fn install(&self) -> Result<(), UpdateError>;
    /// Starts the installed version and ends this process.
    fn relaunch(&self);
}

/// Where the desk is with updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// This build does not update itself (browser or demo mode, no `update_url`, or built
    /// without an update key).
    Off,
    /// No update is known (not checked yet, or up to date).
    UpToDate,
    /// The server offers a newer version.
    Available,
    /// The update is being downloaded and verified.
    Downloading,
    /// The update is downloaded and verified; it installs when the desk is idle (locked, nobody
    /// signed in) or closing.
    Waiting,
    /// The package installer runs.
    Installing,
    /// Installed; the new version is starting.
    Relaunching,
    /// The download, the verification or the install failed (see `error`).
    Failed,
}

/// How far a download has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DownloadProgress {
    #[ts(type = "number")]
    pub downloaded: u64,
    #[ts(optional, type = "number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// What an administrator is shown about updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UpdateView {
    pub state: UpdateState,
    /// The version running now.
    pub current_version: String,
    /// The newer version offered (also while it downloads, waits, installs, or after it failed).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<Release>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<DownloadProgress>,
    /// Why the download, verification or install failed.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the server last answered a check.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<DateTime<Utc>>,
    /// Why the last check failed, when it did (the desk tries again later).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_error: Option<String>,
}

/// The desk's update state; one per [`Desk`].
pub(crate) struct Updates {
    source: OnceLock<Arc<dyn UpdateSource>>,
    version: OnceLock<String>,
    view: Mutex<UpdateView>,
    /// One download and install at a time.
    busy: Arc<tokio::sync::Mutex<()>>,
}

impl Updates {
    pub(crate) fn new() -> Self {
        Self {
            source: OnceLock::new(),
            version: OnceLock::new(),
            view: Mutex::new(UpdateView {
                state: UpdateState::Off,
                current_version: env!("CARGO_PKG_VERSION").to_owned(),
                available: None,
                progress: None,
                error: None,
                last_checked: None,
                check_error: None,
            }),
            busy: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut UpdateView) -> T) -> T {
        f(&mut self.view.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn version(&self) -> String {
        self.version
            .get()
            .cloned()
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
    }
}

impl Desk {
    /// The version of the app as packaged (the shell's, which the update server compares
    /// with); without it, the crate's version. Set once, before the desk is used.
    pub fn set_app_version(&self, version: &str) {
        if self.inner.updates.version.set(version.to_owned()).is_ok() {
            self.inner
                .updates
                .with(|v| v.current_version = version.to_owned());
        }
    }

    /// The update server and installer this desk uses; without one, updates are off.
    pub fn attach_updates(&self, source: Arc<dyn UpdateSource>) {
        if self.inner.updates.source.set(source).is_ok() {
            self.set_update_view(|v| v.state = UpdateState::UpToDate);
        }
    }

    /// What an administrator is shown about updates. Refused to anyone else.
    pub async fn update_status(&self) -> Result<UpdateView, CoreError> {
        self.require_administrator("see this desk's updates")
            .await?;
        Ok(self.inner.updates.with(|v| v.clone()))
    }

    /// An administrator asks the update server now.
    pub async fn check_for_update(&self) -> Result<UpdateView, CoreError> {
        self.require_administrator("check for updates").await?;
        self.run_update_check().await;
        Ok(self.inner.updates.with(|v| v.clone()))
    }

    /// An administrator starts the update offered: it downloads (with progress), is verified,
    /// and installs once the desk is idle; then the new version starts. Returns at once.
    pub async fn install_update(&self) -> Result<UpdateView, CoreError> {
        self.require_administrator("install updates").await?;
        let Some(source) = self.inner.updates.source.get().cloned() else {
            return Err(CoreError::NotAllowed(
                "this desk does not update itself (no update address or update key)".into(),
            ));
        };
        let startable = self.inner.updates.with(|v| {
            v.available.is_some() && matches!(v.state, UpdateState::Available | UpdateState::Failed)
        });
        if !startable {
            return Err(CoreError::NotAllowed(
                "there is no update to install right now".into(),
            ));
        }
        let Ok(guard) = self.inner.updates.busy.clone().try_lock_owned() else {
            return Err(CoreError::NotAllowed(
                "an update is already under way".into(),
            ));
        };
        self.set_update_view(|v| {
            v.state = UpdateState::Downloading;
            v.progress = Some(DownloadProgress {
                downloaded: 0,
                total: None,
            });
            v.error = None;
        });
        let desk = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            desk.download_and_install(source).await;
        });
        Ok(self.inner.updates.with(|v| v.clone()))
    }

    /// Checks after `first`, then every `every`; a failed check is retried after `retry`.
    /// `None` when this desk has no updater.
    pub fn spawn_update_checks(
        &self,
        first: Duration,
        every: Duration,
        retry: Duration,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.inner.updates.source.get()?;
        let desk = self.clone();
        Some(tokio::spawn(async move {
            tokio::time::sleep(first).await;
            loop {
                let ok = desk.run_update_check().await;
                tokio::time::sleep(if ok { every } else { retry }).await;
            }
        }))
    }

    /// The app is closing: a verified update still waiting is installed now (without starting
    /// it again). Blocking; called by the shell as the window closes.
    pub fn install_waiting_update_on_exit(&self) {
        let Some(source) = self.inner.updates.source.get() else {
            return;
        };
        if self.inner.updates.with(|v| v.state) != UpdateState::Waiting {
            return;
        }
        tracing::info!("installing the waiting update as the desk closes");
        match source.install() {
            Ok(()) => tracing::info!("update installed; it starts next time"),
            Err(error) => tracing::warn!(%error, "the waiting update could not be installed"),
        }
    }

    /// One check; `false` when it failed (quietly: a warning in the log).
    async fn run_update_check(&self) -> bool {
        let Some(source) = self.inner.updates.source.get().cloned() else {
            return true;
        };
        // A download or install under way keeps its release.
        let state = self.inner.updates.with(|v| v.state);
        if !matches!(
            state,
            UpdateState::UpToDate | UpdateState::Available | UpdateState::Failed
        ) {
            return true;
        }
        match source.check().await {
            Ok(found) => {
                let now = Utc::now();
                if let Some(release) = &found {
                    tracing::info!(version = %release.version, "an update is available");
                }
                self.set_update_view(|v| {
                    v.last_checked = Some(now);
                    v.check_error = None;
                    match found {
                        Some(release) => {
                            // The same release that failed stays failed, with its reason,
                            // until an administrator tries again.
                            let same =
                                v.available.as_ref().map(|r| &r.version) == Some(&release.version);
                            if !(same && v.state == UpdateState::Failed) {
                                v.state = UpdateState::Available;
                                v.error = None;
                            }
                            v.available = Some(release);
                        }
                        None => {
                            v.state = UpdateState::UpToDate;
                            v.available = None;
                            v.error = None;
                        }
                    }
                });
                true
            }
            Err(error) => {
                tracing::warn!(%error, "the update check failed; trying again later");
                self.set_update_view(|v| v.check_error = Some(error.to_string()));
                false
            }
        }
    }

    async fn download_and_install(&self, source: Arc<dyn UpdateSource>) {
        let desk = self.clone();
        let mut last_sent = 0u64;
        let progress: DownloadProgressFn = Box::new(move |downloaded, total| {
            // An event per 64 KiB at most (and the last one).
            if downloaded - last_sent >= 64 * 1024 || Some(downloaded) == total {
                last_sent = downloaded;
                desk.set_update_view(|v| v.progress = Some(DownloadProgress { downloaded, total }));
            }
        });
        if let Err(error) = source.download(progress).await {
            tracing::warn!(%error, "the update was not downloaded");
            self.update_failed(&error);
            return;
        }
        tracing::info!("update downloaded and verified; installing when the desk is idle");
        self.set_update_view(|v| v.state = UpdateState::Waiting);
        while !self.idle_for_update().await {
            tokio::time::sleep(IDLE_POLL).await;
        }
        self.set_update_view(|v| v.state = UpdateState::Installing);
        let installer = source.clone();
        let installed = tokio::task::spawn_blocking(move || installer.install())
            .await
            .unwrap_or_else(|e| Err(UpdateError::Install(format!("the installer stopped: {e}"))));
        match installed {
            Ok(()) => {
                tracing::info!("update installed; starting the new version");
                self.set_update_view(|v| v.state = UpdateState::Relaunching);
                source.relaunch();
            }
            Err(error) => {
                tracing::warn!(%error, "the update was not installed");
                self.update_failed(&error);
            }
        }
    }

    /// Nobody is in the middle of something: nobody is signed in, or the desk is locked (which
    /// dropped every open form).
    async fn idle_for_update(&self) -> bool {
        self.session().await.is_none() || self.is_locked().await
    }

    fn update_failed(&self, error: &UpdateError) {
        self.set_update_view(|v| {
            v.state = UpdateState::Failed;
            v.progress = None;
            v.error = Some(error.to_string());
        });
    }

    fn set_update_view(&self, change: impl FnOnce(&mut UpdateView)) {
        let view = self.inner.updates.with(|v| {
            change(v);
            v.clone()
        });
        // Nobody listening is fine.
        let _ = self
            .inner
            .events
            .send(DeskEvent::UpdateChanged { update: view });
    }

    async fn require_administrator(&self, what: &str) -> Result<(), CoreError> {
        let me = self.session().await.ok_or(CoreError::NotSignedIn)?;
        if me.role == "admin" {
            Ok(())
        } else {
            Err(CoreError::NotAllowed(format!(
                "only an administrator may {what} (your role: {})",
                me.role
            )))
        }
    }
}
