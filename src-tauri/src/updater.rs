//! The window's [`UpdateSource`]: `tauri-plugin-updater` against the managed `update_url`.
//!
//! The manifest is `<update_url>/<update_channel>/latest.json`, what `make package` writes under
//! `updates/<channel>/`. The public key is the one baked into the build's Tauri configuration
//! (`plugins.updater.pubkey`, which `scripts/package.sh` sets from `TAURI_SIGNING_PUBLIC_KEY`);
//! a build without one has no updater. The plugin verifies the package's minisign signature
//! (and that it was signed for the version announced) before anything is installed, and
//! installs a `.deb` or `.rpm` with the system's package tool, as the desk was installed.

use std::sync::Mutex;
use std::time::Duration;

use frontdesk_core::config::ConfigKey;
use frontdesk_core::updates::{BoxFuture, DownloadProgressFn, Release, UpdateError, UpdateSource};
use frontdesk_core::Config;
use tauri::{AppHandle, Manager};
use tauri_plugin_updater::{Update, UpdaterExt};
use url::Url;

/// How long one request to the update server may take (a package download is not bounded).
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Why this desk has no updater.
#[derive(Debug, thiserror::Error)]
pub enum NoUpdater {
    #[error("no update_url is configured")]
    NoUpdateUrl,
    #[error("this build has no update key (built without TAURI_SIGNING_PUBLIC_KEY)")]
    NoKey,
    #[error("the update address {0} is not usable: {1}")]
    BadUrl(String, String),
}

/// The manifest's address: `<update_url>/<channel>/latest.json`. Plain `http` only on this
/// machine (a local mirror); anywhere else `https`.
pub fn manifest_url(config: &Config) -> Result<Url, NoUpdater> {
    let base = config
        .get(ConfigKey::UpdateUrl)
        .ok_or(NoUpdater::NoUpdateUrl)?;
    let channel = config.get(ConfigKey::UpdateChannel).unwrap_or("stable");
    let raw = format!("{}/{channel}/latest.json", base.trim_end_matches('/'));
    let url = Url::parse(&raw).map_err(|e| NoUpdater::BadUrl(raw.clone(), e.to_string()))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(NoUpdater::BadUrl(
            raw,
            "updates are fetched over https (plain http only from this machine)".into(),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// Whether this build carries an update key (in its Tauri configuration).
pub fn has_update_key(context: &tauri::Context) -> bool {
    context
        .config()
        .plugins
        .0
        .get("updater")
        .and_then(|u| u.get("pubkey"))
        .and_then(|k| k.as_str())
        .is_some_and(|k| !k.trim().is_empty())
}

/// The plugin's updater for the window.
pub struct PluginUpdates {
    app: AppHandle,
    manifest: Url,
    /// The release the last check found.
    found: Mutex<Option<Update>>,
    /// Its verified package, once downloaded.
    verified: Mutex<Option<Vec<u8>>>,
}

impl PluginUpdates {
    pub fn new(app: AppHandle, manifest: Url) -> Self {
        Self {
            app,
            manifest,
            found: Mutex::new(None),
            verified: Mutex::new(None),
        }
    }

    fn updater(&self) -> Result<tauri_plugin_updater::Updater, UpdateError> {
        // A plain-http manifest (loopback only, see `manifest_url`) was allowed in the plugin's
        // configuration by `window::run`.
        self.app
            .updater_builder()
            .timeout(CHECK_TIMEOUT)
            .endpoints(vec![self.manifest.clone()])
            .and_then(|b| b.build())
            .map_err(|e| UpdateError::BadManifest(e.to_string()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn check_error(error: tauri_plugin_updater::Error) -> UpdateError {
    use tauri_plugin_updater::Error as E;
    match error {
        E::Reqwest(e) => UpdateError::Unreachable(e.without_url().to_string()),
        E::Network(e) => UpdateError::Unreachable(e),
        other => UpdateError::BadManifest(other.to_string()),
    }
}

fn download_error(error: tauri_plugin_updater::Error) -> UpdateError {
    use tauri_plugin_updater::Error as E;
    match error {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => UpdateError::BadSignature(error.to_string()),
        E::Reqwest(e) => UpdateError::Download(e.without_url().to_string()),
        other => UpdateError::Download(other.to_string()),
    }
}

impl UpdateSource for PluginUpdates {
    fn check(&self) -> BoxFuture<'_, Result<Option<Release>, UpdateError>> {
        Box::pin(async move {
            let found = self.updater()?.check().await.map_err(check_error)?;
            let release = found.as_ref().map(|u| Release {
                version: u.version.clone(),
                notes: u.body.clone().filter(|n| !n.trim().is_empty()),
                date: u
                    .date
                    .and_then(|d| chrono::DateTime::from_timestamp(d.unix_timestamp(), 0)),
            });
            *lock(&self.found) = found;
            *lock(&self.verified) = None;
            Ok(release)
        })
    }

    fn download(&self, mut progress: DownloadProgressFn) -> BoxFuture<'_, Result<(), UpdateError>> {
        Box::pin(async move {
            let update = lock(&self.found)
                .clone()
                .ok_or(UpdateError::NothingToInstall)?;
            let mut downloaded = 0u64;
            // `download` verifies the signature before it returns the bytes.
            let bytes = update
                .download(
                    |chunk, total| {
                        downloaded += chunk as u64;
                        progress(downloaded, total);
                    },
                    || {},
                )
                .await
                .map_err(download_error)?;
            tracing::info!(
                version = %update.version,
                bytes = bytes.len(),
                "update package downloaded and its signature verified"
            );
            *lock(&self.verified) = Some(bytes);
            Ok(())
        })
    }

    fn install(&self) -> Result<(), UpdateError> {
        let update = lock(&self.found)
            .clone()
            .ok_or(UpdateError::NothingToInstall)?;
        let bytes = lock(&self.verified)
            .clone()
            .ok_or(UpdateError::NothingToInstall)?;
        // `install` verifies the bytes again before it hands them to dpkg / rpm.
        update.install(&bytes).map_err(|error| match error {
            tauri_plugin_updater::Error::Minisign(_) => {
                UpdateError::BadSignature(error.to_string())
            }
            other => UpdateError::Install(other.to_string()),
        })
    }

    fn relaunch(&self) {
        relaunch(&self.app)
    }
}

/// The environment variable that tells a desk it was started by the one it replaced, which may
/// still be closing (and holding the data directory) for a moment.
pub const RELAUNCHED: &str = "FRONTDESK_RELAUNCHED_AFTER_UPDATE";

/// Starts the installed binary (same path, same arguments) and ends this process.
fn relaunch(app: &AppHandle) {
    let env = app.env();
    match tauri::process::current_binary(&env) {
        Ok(binary) => {
            let started = std::process::Command::new(&binary)
                .args(env.args_os.iter().skip(1))
                .env(RELAUNCHED, "1")
                .spawn();
            if let Err(error) = started {
                tracing::warn!(%error, "the new version could not be started; start it by hand");
            }
        }
        Err(error) => tracing::warn!(%error, "cannot tell which binary to start"),
    }
    app.exit(0);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use frontdesk_core::{Config, ConfigLayers};

    use super::{manifest_url, NoUpdater};

    fn config(env: &[(&str, &str)]) -> Config {
        let layers = ConfigLayers {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..ConfigLayers::default()
        };
        match Config::load(&layers) {
            Ok(config) => config,
            Err(error) => panic!("test configuration refused: {error}"),
        }
    }

    #[test]
    fn the_manifest_is_latest_json_of_the_channel_under_update_url() {
        let url = manifest_url(&config(&[
            (
                "FRONTDESK_UPDATE_URL",
                "https://updates.clinic.example/frontdesk/",
            ),
            ("FRONTDESK_UPDATE_CHANNEL", "beta"),
        ]));
        assert_eq!(
            url.ok().map(|u| u.to_string()),
            Some("https://updates.clinic.example/frontdesk/beta/latest.json".to_owned())
        );
        let stable = manifest_url(&config(&[(
            "FRONTDESK_UPDATE_URL",
            "https://updates.clinic.example",
        )]));
        assert_eq!(
            stable.ok().map(|u| u.to_string()),
            Some("https://updates.clinic.example/stable/latest.json".to_owned())
        );
    }

    #[test]
    fn updates_need_https_except_from_this_machine() {
        let remote = manifest_url(&config(&[(
            "FRONTDESK_UPDATE_URL",
            "http://updates.clinic.example",
        )]));
        assert!(matches!(remote, Err(NoUpdater::BadUrl(..))), "{remote:?}");
        for local in [
            "http://127.0.0.1:8000/updates",
            "http://localhost:8000",
            "http://[::1]:80",
        ] {
            let url = manifest_url(&config(&[("FRONTDESK_UPDATE_URL", local)]));
            assert!(url.is_ok(), "{local}: {url:?}");
        }
        assert!(matches!(
            manifest_url(&config(&[])),
            Err(NoUpdater::NoUpdateUrl)
        ));
    }
}
