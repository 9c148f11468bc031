//! Signing in at the desk: the user's password goes to the API once (the OAuth password grant of
//! the desk's public client), the tokens it gets back go to the OS keychain, and the user's role
//! and scopes come from `GET /api/v1/me`. The first sign-in also opens the encrypted cache (its
//! key kept in the keychain) and starts the sync engine, which then keeps running for whoever is
//! signed in.
//!
//! With no keychain the desk refuses to sign in and says why: it never keeps a token or the
//! cache key anywhere else.

use std::sync::Arc;
use std::time::Duration;

use practice_studio::client::{
    Auth, Client, Error as ClientError, MemoryTokenStore, OpenBrowser, SignInError, TokenStore,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{AuditLog, DataDir, Store};

use crate::desk::{CoreError, Desk, DeskEvent};
use crate::keychain::{
    key_of, tokens_entry, Keychain, KeychainError, KeychainTokenStore, AUDIT_KEY_ENTRY,
    CACHE_KEY_ENTRY,
};
use crate::sync::{SyncEngine, SyncOptions, SyncTasks};

/// How long "Sign in with browser" waits for the person to sign in on the server's page.
const BROWSER_SIGN_IN_WAIT: Duration = Duration::from_secs(180);

/// How often the status bar's sync figures are re-read (connectivity changes without an event).
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// What the shell hands the desk about this machine: its data directory and its keychain.
pub struct Device {
    pub data_dir: Arc<DataDir>,
    pub keychain: Arc<dyn Keychain>,
}

/// Who is signed in, as the UI may know it (no token, no password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// `reception`, `clinician`, `billing` or `admin`.
    pub role: String,
    /// What the user's token may do, e.g. `read:patients`.
    pub scopes: Vec<String>,
    /// What the desk offers them, from those scopes.
    #[serde(default)]
    pub offers: crate::roles::Offers,
}

impl SessionInfo {
    /// The user `/me` describes, with the scopes of their token.
    pub(crate) fn new(user: practice_studio::model::MeUser, scopes: Vec<String>) -> Self {
        Self {
            offers: crate::roles::Offers::of(&user.role, &scopes),
            user_id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
            scopes,
        }
    }

    /// Whether the user's token carries `scope`.
    pub fn may(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Sync's figures with how long ago the last sync was, on the desk's own clock (a demo desk's
/// clock may be pinned to another day than the machine's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    pub status: crate::SyncStatus,
    #[ts(type = "number | null")]
    pub seconds_since_sync: Option<u64>,
}

/// The signed-in user and their API client.
pub(crate) struct Session {
    pub(crate) info: SessionInfo,
    pub(crate) client: Client,
}

/// The encrypted cache with its sync engine and the audit log; open for the rest of the run.
pub(crate) struct Cache {
    pub(crate) engine: SyncEngine,
    pub(crate) audit: Arc<AuditLog>,
    /// The waitlist as last read, and the freed slots offered ([`crate::waitlist`]).
    pub(crate) waitlist: crate::waitlist::WaitlistMemory,
    _tasks: SyncTasks,
    _forward: AbortOnDrop,
    _waitlist_watch: AbortOnDrop,
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Runs a keychain call off the async workers (Secret Service calls are blocking D-Bus calls).
pub(crate) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, CoreError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(KeychainError::Unavailable(reason))) => Err(CoreError::NoKeychain(reason)),
        Ok(Err(error)) => Err(CoreError::Keychain(error)),
        Err(join) => Err(CoreError::Keychain(KeychainError::Failed(join.to_string()))),
    }
}

impl Desk {
    /// Gives the desk its data directory and keychain (once, at start-up; later calls are
    /// ignored).
    pub fn attach_device(&self, device: Device) {
        if self.inner.device.set(device).is_err() {
            tracing::warn!("a device was already attached; the second one is ignored");
        }
    }

    fn device(&self) -> Result<&Device, CoreError> {
        self.inner.device.get().ok_or(CoreError::NoDevice)
    }

    /// The device's keychain.
    pub(crate) fn keychain(&self) -> Result<Arc<dyn Keychain>, CoreError> {
        Ok(self.device()?.keychain.clone())
    }

    /// Whoever is signed in.
    /// (While the remembered session is being restored at start-up, the answer waits for it.)
    pub async fn session(&self) -> Option<SessionInfo> {
        drop(self.inner.restoring.read().await);
        self.session_now().await
    }

    /// The signed-in user now, without waiting for a restore under way.
    pub(crate) async fn session_now(&self) -> Option<SessionInfo> {
        self.inner
            .session
            .read()
            .await
            .as_ref()
            .map(|s| s.info.clone())
    }

    /// The signed-in user's info and client, or [`CoreError::NotSignedIn`]; while the desk is
    /// locked, [`CoreError::Locked`]. Every use case that touches patient data starts here.
    pub(crate) async fn signed_in(&self) -> Result<(SessionInfo, Client), CoreError> {
        let session = self.inner.session.read().await;
        let session = session.as_ref().ok_or(CoreError::NotSignedIn)?;
        if self.inner.lock.locked() {
            return Err(CoreError::Locked);
        }
        Ok((session.info.clone(), session.client.clone()))
    }

    /// The open cache, or [`CoreError::NotSignedIn`] before the first sign-in.
    pub(crate) fn cache(&self) -> Result<Arc<Cache>, CoreError> {
        self.inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(CoreError::NotSignedIn)
    }

    /// Signs in with a user name and password: tokens to the keychain, role and scopes from
    /// `/api/v1/me`, then the cache opens and sync starts (first time) or carries on.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<SessionInfo, CoreError> {
        let username = username.trim();
        let (api_url, client_id) = {
            let config = self.inner.config.read().await;
            let url = config.api_url().ok_or(CoreError::NotConfigured)?.to_owned();
            (url, config.client_id().to_owned())
        };
        let device = self.device()?;
        let keychain = device.keychain.clone();
        // Ask the keychain first: without one, no password goes anywhere.
        let cache_key = {
            let keychain = keychain.clone();
            blocking(move || key_of(&*keychain, CACHE_KEY_ENTRY)).await?
        };
        let tokens = Arc::new(KeychainTokenStore::new(
            keychain.clone(),
            tokens_entry(username),
        ));
        let client = Client::builder(api_url)
            .auth(Auth::password(client_id, username, password))
            .token_store(tokens)
            .build()
            .map_err(CoreError::InvalidApiUrl)?;
        client.sign_in().await.map_err(|error| match error {
            ClientError::SignIn(SignInError::Refused { .. }) | ClientError::Unauthorized(_) => {
                CoreError::WrongCredentials
            }
            other => CoreError::from_api(other),
        })?;
        let me = client.me().await.map_err(CoreError::from_api)?;
        let user = me
            .user
            .ok_or(CoreError::NotAUser("the credential belongs to no person"))?;
        let info = SessionInfo::new(user, me.scopes);
        {
            // The lock screen's offline check (a salted Argon2id hash), and who to restore after
            // a restart: in the keychain only.
            let keychain = keychain.clone();
            let info = info.clone();
            let username = username.to_owned();
            let password = password.to_owned();
            blocking(move || {
                crate::lock::remember_password(&*keychain, &info.user_id, &password)?;
                crate::account::remember_sign_in(&*keychain, &username, &info)
            })
            .await?;
        }
        self.start_session(cache_key, &info, client).await?;
        tracing::info!(user = %info.user_id, role = %info.role, "signed in");
        let _ = self.inner.events.send(DeskEvent::SessionChanged {
            session: Some(info.clone()),
        });
        Ok(info)
    }

    /// The cache opens (first time), sync reads and sends with this user's client, the desk is
    /// unlocked and tells the UI who is signed in.
    async fn start_session(
        &self,
        cache_key: [u8; 32],
        info: &SessionInfo,
        client: Client,
    ) -> Result<(), CoreError> {
        let cache = self.open_cache(cache_key, &client).await?;
        cache.engine.set_reader(Some(client.clone())).await;
        cache
            .engine
            .sign_in_author(&info.user_id, client.clone())
            .await;
        self.sign_in_other_authors(&cache.engine, &info.user_id)
            .await?;
        self.inner.lock.reset(false);
        *self.inner.session.write().await = Some(Session {
            info: info.clone(),
            client,
        });
        Ok(())
    }

    /// How the desk opens the system browser for [`Desk::sign_in_with_browser`] (the shell's
    /// choice: `$BROWSER` or `xdg-open` on a desk, an HTTP client in tests).
    pub fn set_browser_opener(&self, opener: OpenBrowser) {
        *self.inner.browser.lock().unwrap_or_else(|p| p.into_inner()) = Some(opener);
    }

    /// "Sign in with browser": the authorization code flow with PKCE (S256) of the desk's public
    /// client, through the system browser and a one-shot loopback redirect on a random port
    /// (RFC 8252), as the SDK implements it. The person signs in on the server's own page; the
    /// desk never sees their password. Tokens go to the keychain under the user's e-mail, then
    /// the session starts as after a password sign-in. With no password on the desk, the lock
    /// screen takes a PIN (set from the user's menu) or the password checked by the server.
    pub async fn sign_in_with_browser(&self) -> Result<SessionInfo, CoreError> {
        let (api_url, client_id) = {
            let config = self.inner.config.read().await;
            let url = config.api_url().ok_or(CoreError::NotConfigured)?.to_owned();
            (url, config.client_id().to_owned())
        };
        let keychain = self.keychain()?;
        let cache_key = {
            let keychain = keychain.clone();
            blocking(move || key_of(&*keychain, CACHE_KEY_ENTRY)).await?
        };
        let opener = self
            .inner
            .browser
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                CoreError::BrowserSignIn("this desk has no way to open a browser".into())
            })?;
        // The flow's tokens stay in memory until the server says whose they are.
        let flow_tokens = Arc::new(MemoryTokenStore::default());
        let auth = Auth::authorization_code(client_id.clone(), move |url| opener(url))
            .with_sign_in_wait(BROWSER_SIGN_IN_WAIT);
        let flow = Client::builder(api_url.clone())
            .auth(auth)
            .token_store(flow_tokens.clone())
            .build()
            .map_err(CoreError::InvalidApiUrl)?;
        flow.sign_in().await.map_err(|error| match error {
            ClientError::SignIn(SignInError::Browser { error, .. }) if error == "access_denied" => {
                CoreError::BrowserSignIn("it was cancelled on the sign-in page".into())
            }
            ClientError::SignIn(SignInError::TimedOut(_)) => {
                CoreError::BrowserSignIn("nobody signed in within three minutes".into())
            }
            ClientError::SignIn(SignInError::OpenBrowser(why)) => {
                CoreError::BrowserSignIn(format!("the browser could not be opened ({why})"))
            }
            ClientError::SignIn(SignInError::StateMismatch) => CoreError::BrowserSignIn(
                "the answer did not come from this sign-in; start again".into(),
            ),
            ClientError::SignIn(SignInError::Refused { .. }) => {
                CoreError::BrowserSignIn("the server refused the sign-in".into())
            }
            other => CoreError::from_api(other),
        })?;
        let me = flow.me().await.map_err(CoreError::from_api)?;
        let user = me
            .user
            .ok_or(CoreError::NotAUser("the credential belongs to no person"))?;
        let info = SessionInfo::new(user, me.scopes);
        let tokens = flow_tokens
            .tokens()
            .ok_or_else(|| CoreError::BrowserSignIn("the server sent no tokens".into()))?;
        let store = Arc::new(KeychainTokenStore::new(
            keychain.clone(),
            tokens_entry(&info.email),
        ));
        {
            let store = store.clone();
            let keychain = keychain.clone();
            let info = info.clone();
            blocking(move || {
                store
                    .save(&tokens)
                    .map_err(|e| KeychainError::Failed(e.to_string()))?;
                crate::account::remember_sign_in(&*keychain, &info.email, &info)
            })
            .await?;
        }
        let client = crate::account::restored_client(&api_url, &client_id, store)
            .map_err(CoreError::InvalidApiUrl)?;
        self.start_session(cache_key, &info, client).await?;
        tracing::info!(user = %info.user_id, role = %info.role, "signed in through the browser");
        let _ = self.inner.events.send(DeskEvent::SessionChanged {
            session: Some(info.clone()),
        });
        Ok(info)
    }

    /// Hands the desk back to the sign-in screen ("switch user"): the cache stays, sync stops
    /// reading until the next sign-in, and the user's queued writes still go out with their own
    /// credentials (kept in the keychain).
    pub async fn switch_user(&self) {
        let previous = self.inner.session.write().await.take();
        if let Ok(keychain) = self.keychain() {
            // The next start shows the sign-in screen, not this user's session.
            let forgotten =
                blocking(move || keychain.delete(crate::account::CURRENT_SESSION_ENTRY)).await;
            if let Err(error) = forgotten {
                tracing::warn!(%error, "the current session could not be forgotten");
            }
        }
        if let Ok(cache) = self.cache() {
            cache.engine.set_reader(None).await;
        }
        if let Some(previous) = previous {
            tracing::info!(user = %previous.info.user_id, "session ended (switch user)");
        }
        let _ = self
            .inner
            .events
            .send(DeskEvent::SessionChanged { session: None });
    }

    /// Sync's figures for the status bar (none before the first sign-in).
    pub async fn sync_status(&self) -> Result<Option<SyncView>, CoreError> {
        match self.cache().ok() {
            None => Ok(None),
            Some(cache) => Ok(Some(view(
                cache.engine.status().await?,
                self.inner.clock.as_ref(),
            ))),
        }
    }

    /// Opens the device's cache (once; later calls return the open one), with `reader` as sync's
    /// client from its first pass: set before sync starts, so the first attempt to read the
    /// server's features does not find nobody signed in.
    pub(crate) async fn open_cache(
        &self,
        key: [u8; 32],
        reader: &Client,
    ) -> Result<Arc<Cache>, CoreError> {
        let _one_at_a_time = self.inner.cache_opening.lock().await;
        if let Ok(cache) = self.cache() {
            return Ok(cache);
        }
        let device = self.device()?;
        let data_dir = device.data_dir.clone();
        let store = match Store::open(&data_dir, key).await {
            Ok(store) => store,
            // A cache made with a key the keychain no longer holds can be read by nobody:
            // start a new one rather than refuse every sign-in. (Its pending writes are
            // as lost as the key; the audit log, a separate file, is not touched.)
            Err(frontdesk_store::CacheError::WrongKey { .. }) => {
                Store::remove_unreadable(&data_dir).await?;
                Store::open(&data_dir, key).await?
            }
            Err(error) => return Err(error.into()),
        };
        let store = Arc::new(store);
        let audit_key = {
            let keychain = device.keychain.clone();
            blocking(move || key_of(&*keychain, AUDIT_KEY_ENTRY)).await?
        };
        let audit = match AuditLog::open(&data_dir, audit_key).await {
            Ok(audit) => audit,
            // An audit log the keychain's key cannot open is kept (renamed, still
            // encrypted, for whoever holds its key), never deleted; a new one starts.
            Err(frontdesk_store::CacheError::WrongKey { .. }) => {
                let stamp = self.inner.clock.now().format("%Y%m%dT%H%M%SZ").to_string();
                AuditLog::set_aside(&data_dir, &stamp).await?;
                AuditLog::open(&data_dir, audit_key).await?
            }
            Err(error) => return Err(error.into()),
        };
        let audit = Arc::new(audit);
        let engine = SyncEngine::new(store, self.inner.clock.clone(), SyncOptions::default());
        engine.set_reader(Some(reader.clone())).await;
        let tasks = engine.start();
        let forward = self.forward_sync_events(&engine);
        let waitlist_watch = AbortOnDrop(vec![crate::waitlist::watch(self, &engine)]);
        tracing::info!("cache opened; sync started");
        let cache = Arc::new(Cache {
            engine,
            audit,
            waitlist: crate::waitlist::WaitlistMemory::default(),
            _tasks: tasks,
            _forward: forward,
            _waitlist_watch: waitlist_watch,
        });
        *self.inner.cache.write().unwrap_or_else(|p| p.into_inner()) = Some(cache.clone());
        Ok(cache)
    }

    /// Passes sync's events to the UI, and its status whenever it changes.
    fn forward_sync_events(&self, engine: &SyncEngine) -> AbortOnDrop {
        let events = {
            let mut sync_events = engine.subscribe();
            let desk_events = self.inner.events.clone();
            let engine = engine.clone();
            let clock = self.inner.clock.clone();
            tokio::spawn(async move {
                loop {
                    match sync_events.recv().await {
                        Ok(event) => {
                            let _ = desk_events.send(DeskEvent::Sync { event });
                            if let Ok(status) = engine.status().await {
                                let sync = view(status, clock.as_ref());
                                let _ = desk_events.send(DeskEvent::SyncStatusChanged { sync });
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            })
        };
        let status = {
            let desk_events = self.inner.events.clone();
            let engine = engine.clone();
            let clock = self.inner.clock.clone();
            tokio::spawn(async move {
                let mut last = None;
                let mut ticker = tokio::time::interval(STATUS_EVERY);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Ok(status) = engine.status().await else {
                        continue;
                    };
                    if last.as_ref() != Some(&status) {
                        last = Some(status.clone());
                        let sync = view(status, clock.as_ref());
                        let _ = desk_events.send(DeskEvent::SyncStatusChanged { sync });
                    }
                }
            })
        };
        AbortOnDrop(vec![events, status])
    }
}

fn view(status: crate::SyncStatus, clock: &dyn crate::Clock) -> SyncView {
    let seconds_since_sync = status
        .last_sync
        .map(|at| u64::try_from((clock.now() - at).num_seconds()).unwrap_or(0));
    SyncView {
        status,
        seconds_since_sync,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use practice_studio_server::{RunningServer, Server, Today};

    use super::*;
    use crate::keychain::{MemoryKeychain, NoKeychain};
    use crate::{Config, ConfigKey, ConfigLayers, DeskOptions, PinnedDayClock, Surface};
    use frontdesk_store::CACHE_FILE;

    async fn demo_server() -> RunningServer {
        Server::builder()
            .bind("127.0.0.1:0")
            .demo(true)
            .demo_patients(60)
            .today(Today::Fixed("2026-11-23".parse().expect("date")))
            .start()
            .await
            .expect("demo server starts")
    }

    fn desk(url: &str, home: &tempfile::TempDir, keychain: Arc<dyn Keychain>) -> Desk {
        let mut flags = BTreeMap::new();
        flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
        let layers = ConfigLayers {
            managed_file: None,
            user_file: Some(home.path().join("user.toml")),
            env: BTreeMap::new(),
            flags,
        };
        let desk = Desk::new(DeskOptions {
            config: Config::load(&layers).expect("config"),
            clock: Arc::new(PinnedDayClock::new("2026-11-23".parse().expect("date"))),
            surface: Surface::Browser,
        })
        .expect("desk");
        let data_dir = DataDir::open(home.path().join("desk")).expect("data dir");
        desk.attach_device(Device {
            data_dir: Arc::new(data_dir),
            keychain,
        });
        desk
    }

    #[tokio::test]
    async fn sign_in_keeps_tokens_and_keys_in_the_keychain_and_roles_come_from_me() {
        let server = demo_server().await;
        let home = tempfile::tempdir().expect("tempdir");
        let keychain = Arc::new(MemoryKeychain::default());
        let desk = desk(&server.url(), &home, keychain.clone());

        let refused = desk
            .sign_in("reception@demo.clinic", "wrong-password")
            .await
            .expect_err("a wrong password is refused");
        assert!(
            matches!(refused, CoreError::WrongCredentials),
            "{refused:?}"
        );
        assert!(desk.session().await.is_none());

        let session = desk
            .sign_in("Reception@demo.clinic ", "demo-password")
            .await
            .expect("signs in");
        assert_eq!(session.role, "reception");
        assert!(session.may("read:patients"));
        assert!(!session.may(crate::chart::READ_RECORDS));
        assert_eq!(
            keychain.entries(),
            vec![
                AUDIT_KEY_ENTRY.to_owned(),
                CACHE_KEY_ENTRY.to_owned(),
                crate::account::CURRENT_SESSION_ENTRY.to_owned(),
                crate::account::KNOWN_USERS_ENTRY.to_owned(),
                tokens_entry("reception@demo.clinic"),
                crate::lock::unlock_entry(&session.user_id),
            ]
        );
        let stored = keychain
            .get(&tokens_entry("reception@demo.clinic"))
            .expect("readable")
            .expect("tokens stored");
        let tokens: practice_studio::client::Tokens =
            serde_json::from_slice(&stored).expect("tokens");
        assert!(!tokens.access_token.expose().is_empty());
        // Nothing under the data directory holds the token in clear.
        for entry in std::fs::read_dir(home.path().join("desk")).expect("read dir") {
            let bytes = std::fs::read(entry.expect("entry").path()).unwrap_or_default();
            let needle = tokens.access_token.expose().as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a file of the data directory holds the access token"
            );
        }

        // A receptionist may not read records; the chart says so instead of offering them.
        let hits = loop {
            let hits = desk.search_patients("a").await.expect("search");
            if !hits.is_empty() {
                break hits;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let chart = desk.open_chart(&hits[0].id).await.expect("chart");
        assert!(!chart.may_read_records);
        assert!(matches!(
            desk.patient_records(&hits[0].id).await,
            Err(CoreError::NotAllowed(_))
        ));
        let recent = desk.recent_patients().await.expect("recent");
        assert_eq!(
            recent.first().map(|p| p.id.as_str()),
            Some(hits[0].id.as_str())
        );
        let audit = desk
            .cache()
            .expect("cache")
            .audit
            .recent(10)
            .await
            .expect("audit");
        assert_eq!(audit[0].user_id, session.user_id);
        assert_eq!(audit[0].entity_id, hits[0].id);

        desk.switch_user().await;
        assert!(matches!(
            desk.search_patients("a").await,
            Err(CoreError::NotSignedIn)
        ));
    }

    #[tokio::test]
    async fn a_cache_the_keychains_key_cannot_open_is_replaced_at_sign_in() {
        let server = demo_server().await;
        let home = tempfile::tempdir().expect("tempdir");
        {
            let first = desk(&server.url(), &home, Arc::new(MemoryKeychain::default()));
            first
                .sign_in("reception@demo.clinic", "demo-password")
                .await
                .expect("first sign-in");
        }
        assert!(home.path().join("desk").join(CACHE_FILE).exists());
        // The keychain lost its entries (a new user profile, a reset keyring): another key.
        let desk = desk(&server.url(), &home, Arc::new(MemoryKeychain::default()));
        desk.sign_in("reception@demo.clinic", "demo-password")
            .await
            .expect("signs in with a new cache");
        assert!(desk.cache().is_ok());
        let set_aside = std::fs::read_dir(home.path().join("desk"))
            .expect("read dir")
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("audit.db.unreadable-")
            });
        assert!(set_aside, "the old audit log is kept, not deleted");
    }

    #[tokio::test]
    async fn without_a_keychain_the_desk_refuses_to_sign_in_and_keeps_nothing() {
        let server = demo_server().await;
        let home = tempfile::tempdir().expect("tempdir");
        let desk = desk(
            &server.url(),
            &home,
            Arc::new(NoKeychain {
                reason: "no Secret Service on the session bus".into(),
            }),
        );
        let error = desk
            .sign_in("reception@demo.clinic", "demo-password")
            .await
            .expect_err("no keychain, no sign-in");
        assert!(matches!(error, CoreError::NoKeychain(_)), "{error:?}");
        assert!(error.to_string().contains("keychain is not available"));
        assert!(desk.session().await.is_none());
        assert!(!home.path().join("desk").join(CACHE_FILE).exists());
    }
}
