//! The end of a shift and of a desk: signing out (tokens revoked once the user's pending writes
//! are sent, or left on the conflict list for an administrator if the user insists), the session
//! carried over an app restart (the refresh token in the keychain; the desk starts locked), and
//! "remove this device's data" (an administrator wipes the cache after being told what is
//! pending). The audit log, its own encrypted file, survives all of them.

use std::sync::Arc;
use std::time::Duration;

use practice_studio::client::{Auth, Client, Error as ClientError};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{ConflictKind, Refusal};

use crate::desk::{CoreError, Desk, DeskEvent};
use crate::keychain::{tokens_entry, Keychain, KeychainError, KeychainTokenStore, CACHE_KEY_ENTRY};
use crate::lock::unlock_entry;
use crate::session::{blocking, Session, SessionInfo};

/// The keychain entry naming who was signed in when the desk last stopped (no secret: the
/// tokens stay in their own entry).
pub const CURRENT_SESSION_ENTRY: &str = "current-session";
/// The keychain entry listing who has signed in on this desk (to forget them all on removal).
pub const KNOWN_USERS_ENTRY: &str = "known-users";

/// How long sign-out waits for the user's pending writes to go out.
const SEND_BEFORE_SIGN_OUT: Duration = Duration::from_secs(10);
/// How long a restored session waits for `/me` before trusting what it remembered.
const RESTORE_CHECK: Duration = Duration::from_secs(3);

/// Who was signed in, as kept across a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Remembered {
    pub(crate) username: String,
    pub(crate) info: SessionInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KnownUser {
    username: String,
    user_id: String,
    /// The name and role `/me` gave at their last sign-in here (absent in lists kept before
    /// names were remembered).
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// Someone who signed in on this desk, so screens can name them instead of showing their id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub user_id: String,
    pub name: String,
    /// `reception`, `clinician`, `billing` or `admin`.
    pub role: String,
}

/// Arguments of `sign_out`.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignOutArgs {
    /// Sign out even though some of the user's changes could not be sent: they move to the
    /// conflict list for an administrator.
    #[serde(default)]
    pub leave_pending: bool,
}

/// What sign-out did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SignOut {
    /// Still signed in: these changes of the user's are not sent yet (offline, or waiting).
    PendingWrites { pending: u32 },
    /// Signed out. `revoked`: the server ended the tokens (false when it could not be reached;
    /// they are gone from this desk either way). `left_for_admin`: changes moved to the
    /// conflict list.
    #[serde(rename_all = "camelCase")]
    SignedOut { revoked: bool, left_for_admin: u32 },
}

/// What "remove this device's data" would remove, for the administrator to read first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceData {
    /// Changes not yet accepted by the server (lost with the cache).
    pub pending: u32,
    /// Refused changes nobody has resolved (lost with the cache).
    pub conflicts: u32,
    /// Patients in the cache.
    pub patients: u32,
    /// People who signed in on this desk (their sign-ins end).
    pub users: u32,
}

/// Arguments of `remove_device_data`: the pending count the administrator was shown, so a change
/// queued meanwhile is not wiped unseen.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveDeviceDataArgs {
    pub pending_seen: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn read_json<T: for<'de> Deserialize<'de>>(
    keychain: &dyn Keychain,
    entry: &str,
) -> Result<Option<T>, KeychainError> {
    Ok(keychain
        .get(entry)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

fn write_json<T: Serialize>(
    keychain: &dyn Keychain,
    entry: &str,
    value: &T,
) -> Result<(), KeychainError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| KeychainError::Failed(format!("{entry} could not be encoded: {e}")))?;
    keychain.set(entry, &bytes)
}

/// Notes who signed in: the session to restore after a restart, and the desk's list of users.
pub(crate) fn remember_sign_in(
    keychain: &dyn Keychain,
    username: &str,
    info: &SessionInfo,
) -> Result<(), KeychainError> {
    write_json(
        keychain,
        CURRENT_SESSION_ENTRY,
        &Remembered {
            username: username.to_owned(),
            info: info.clone(),
        },
    )?;
    let mut known: Vec<KnownUser> = read_json(keychain, KNOWN_USERS_ENTRY)?.unwrap_or_default();
    match known.iter_mut().find(|u| u.user_id == info.user_id) {
        Some(user) if user.name == info.name && user.role == info.role => return Ok(()),
        Some(user) => {
            user.name = info.name.clone();
            user.role = info.role.clone();
        }
        None => known.push(KnownUser {
            username: username.to_owned(),
            user_id: info.user_id.clone(),
            name: info.name.clone(),
            role: info.role.clone(),
        }),
    }
    write_json(keychain, KNOWN_USERS_ENTRY, &known)
}

/// A client for a restored session: the keychain's tokens, refreshed as needed; when the server
/// ends the sign-in there is no password to start a new one, so the user signs in again.
pub(crate) fn restored_client(
    api_url: &str,
    client_id: &str,
    tokens: Arc<KeychainTokenStore>,
) -> Result<Client, ClientError> {
    let auth = Auth::authorization_code(client_id, |_| async {
        Err("the sign-in has ended; sign in again at the desk".to_owned())
    });
    Client::builder(api_url)
        .auth(auth)
        .token_store(tokens)
        .build()
}

impl Desk {
    /// The people this desk can name by user id: everyone who signed in here (the keychain's
    /// list, with the name and role they had at their last sign-in) and whoever is signed in
    /// now. Someone not known here is left out; screens then show the id.
    pub(crate) async fn people_known(
        &self,
    ) -> Result<std::collections::HashMap<String, Person>, CoreError> {
        let keychain = self.keychain()?;
        let known: Vec<KnownUser> = blocking(move || read_json(&*keychain, KNOWN_USERS_ENTRY))
            .await?
            .unwrap_or_default();
        let mut people: std::collections::HashMap<String, Person> = known
            .into_iter()
            .filter(|u| !u.name.is_empty())
            .map(|u| {
                (
                    u.user_id.clone(),
                    Person {
                        user_id: u.user_id,
                        name: u.name,
                        role: u.role,
                    },
                )
            })
            .collect();
        if let Some(me) = self.session_now().await {
            people.insert(
                me.user_id.clone(),
                Person {
                    user_id: me.user_id,
                    name: me.name,
                    role: me.role,
                },
            );
        }
        Ok(people)
    }

    /// The other people who signed in on this desk and did not sign out still have their
    /// sign-in in the keychain: their queued writes go out under their own credentials, also
    /// after a restart, whoever sits at the desk now. A client already known (a user who only
    /// switched out in this run, whose client can still sign in with the password) is kept.
    pub(crate) async fn sign_in_other_authors(
        &self,
        engine: &crate::SyncEngine,
        current: &str,
    ) -> Result<(), CoreError> {
        let keychain = self.keychain()?;
        let (api_url, client_id) = {
            let config = self.inner.config.read().await;
            let url = config.api_url().ok_or(CoreError::NotConfigured)?.to_owned();
            (url, config.client_id().to_owned())
        };
        let others: Vec<KnownUser> = {
            let keychain = keychain.clone();
            let current = current.to_owned();
            blocking(move || {
                let known: Vec<KnownUser> =
                    read_json(&*keychain, KNOWN_USERS_ENTRY)?.unwrap_or_default();
                let mut others = Vec::new();
                for user in known {
                    if user.user_id != current
                        && keychain.get(&tokens_entry(&user.username))?.is_some()
                    {
                        others.push(user);
                    }
                }
                Ok(others)
            })
            .await?
        };
        for user in others {
            if engine.has_author(&user.user_id).await {
                continue;
            }
            let tokens = Arc::new(KeychainTokenStore::new(
                keychain.clone(),
                tokens_entry(&user.username),
            ));
            let client =
                restored_client(&api_url, &client_id, tokens).map_err(CoreError::InvalidApiUrl)?;
            engine.sign_in_author(&user.user_id, client).await;
            tracing::info!(author = %user.user_id, "an earlier user's queued writes can be sent");
        }
        Ok(())
    }

    /// Signs the user out: their pending writes are sent first (for a few seconds); if some
    /// cannot be, nothing happens unless `leave_pending`, which moves them to the conflict list
    /// for an administrator. Then the tokens are revoked at the server and removed from the
    /// keychain with the user's unlock verifier, and the sign-in screen shows.
    pub async fn sign_out(&self, leave_pending: bool) -> Result<SignOut, CoreError> {
        let (me, client) = self.signed_in().await?;
        let cache = self.cache()?;
        let store = cache.engine.store().clone();
        let mine = |entries: Vec<frontdesk_store::OutboxEntry>| {
            entries
                .into_iter()
                .filter(|e| e.author == me.user_id)
                .collect::<Vec<_>>()
        };
        let mut pending = mine(store.pending_writes(10_000).await?);
        if !pending.is_empty() {
            let _ = tokio::time::timeout(SEND_BEFORE_SIGN_OUT, cache.engine.drain_outbox()).await;
            pending = mine(store.pending_writes(10_000).await?);
        }
        if !pending.is_empty() && !leave_pending {
            return Ok(SignOut::PendingWrites {
                pending: count(pending.len()),
            });
        }
        let mut left_for_admin = 0;
        for entry in &pending {
            let refusal = Refusal {
                kind: ConflictKind::Other,
                message: format!(
                    "{} signed out before this change could be sent; an administrator decides \
                     whether to send it again or drop it",
                    me.name
                ),
                server_status: None,
                server_body: None,
            };
            match store.move_to_conflicts(entry.seq, &refusal).await {
                Ok(_) => left_for_admin += 1,
                // Sent meanwhile: nothing to leave.
                Err(frontdesk_store::CacheError::NotPending { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        // Forgets the tokens (the keychain entry too) and revokes them at the server.
        let revoked = match client.sign_out().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(
                    retryable = error.is_retryable(),
                    "tokens not revoked at sign-out"
                );
                false
            }
        };
        cache.engine.sign_out_author(&me.user_id).await;
        cache.engine.set_reader(None).await;
        let keychain = self.keychain()?;
        let user_id = me.user_id.clone();
        blocking(move || {
            keychain.delete(&unlock_entry(&user_id))?;
            keychain.delete(CURRENT_SESSION_ENTRY)
        })
        .await?;
        *self.inner.session.write().await = None;
        tracing::info!(user = %me.user_id, revoked, left_for_admin, "signed out");
        let _ = self
            .inner
            .events
            .send(DeskEvent::SessionChanged { session: None });
        Ok(SignOut::SignedOut {
            revoked,
            left_for_admin,
        })
    }

    /// [`Desk::restore_session`] on a task, so that the window opens meanwhile: a slow or
    /// unreachable server (the check waits up to 3 s) or the keychain's answers do not hold up
    /// the desk's first screen. [`Desk::session`] and the lock's view wait until it is done, so
    /// the UI never offers a sign-in to a desk that is about to be restored. Call within the
    /// runtime.
    pub fn restore_session_in_background(&self) -> tokio::task::JoinHandle<()> {
        let held = self.inner.restoring.clone().try_write_owned().ok();
        let desk = self.clone();
        tokio::spawn(async move {
            let _held = held;
            match desk.restore_session().await {
                Ok(Some(_)) => {
                    tracing::info!("the previous session was restored; the desk is locked")
                }
                Ok(None) => {}
                Err(error) => tracing::info!(%error, "no session restored"),
            }
        })
    }

    /// After a restart: the user who was signed in (and did not sign out or switch) carries on
    /// with the refresh token kept in the keychain — no password needed, but the desk starts
    /// locked, so whoever sits down proves who they are. Online, `/me` confirms the roles;
    /// offline, the remembered ones are used. Returns who was restored.
    pub async fn restore_session(&self) -> Result<Option<SessionInfo>, CoreError> {
        let keychain = self.keychain()?;
        let (remembered, has_tokens) = {
            let keychain = keychain.clone();
            blocking(move || {
                let remembered: Option<Remembered> = read_json(&*keychain, CURRENT_SESSION_ENTRY)?;
                let has_tokens = match &remembered {
                    Some(r) => keychain.get(&tokens_entry(&r.username))?.is_some(),
                    None => false,
                };
                Ok((remembered, has_tokens))
            })
            .await?
        };
        let Some(remembered) = remembered else {
            return Ok(None);
        };
        if !has_tokens {
            return Ok(None);
        }
        let (api_url, client_id) = {
            let config = self.inner.config.read().await;
            let url = config.api_url().ok_or(CoreError::NotConfigured)?.to_owned();
            (url, config.client_id().to_owned())
        };
        let tokens = Arc::new(KeychainTokenStore::new(
            keychain.clone(),
            tokens_entry(&remembered.username),
        ));
        let client =
            restored_client(&api_url, &client_id, tokens).map_err(CoreError::InvalidApiUrl)?;
        let info = match tokio::time::timeout(RESTORE_CHECK, client.me()).await {
            Ok(Ok(me)) => match me.user {
                Some(user) if user.id == remembered.info.user_id => {
                    SessionInfo::new(user, me.scopes)
                }
                _ => return Ok(None),
            },
            // The server ended the sign-in (revoked elsewhere, expired): sign in again.
            Ok(Err(ClientError::Unauthorized(_) | ClientError::SignIn(_))) => {
                tracing::info!("the remembered sign-in has ended");
                let keychain = keychain.clone();
                blocking(move || keychain.delete(CURRENT_SESSION_ENTRY)).await?;
                return Ok(None);
            }
            // Offline (or slow): the roles remembered at the last sign-in.
            _ => {
                let mut info = remembered.info.clone();
                info.offers = crate::roles::Offers::of(&info.role, &info.scopes);
                info
            }
        };
        let cache_key = {
            let keychain = keychain.clone();
            blocking(move || crate::keychain::key_of(&*keychain, CACHE_KEY_ENTRY)).await?
        };
        let cache = self.open_cache(cache_key, &client).await?;
        cache.engine.set_reader(Some(client.clone())).await;
        cache
            .engine
            .sign_in_author(&info.user_id, client.clone())
            .await;
        self.sign_in_other_authors(&cache.engine, &info.user_id)
            .await?;
        self.inner.lock.reset(true);
        *self.inner.session.write().await = Some(Session {
            info: info.clone(),
            client,
        });
        tracing::info!(user = %info.user_id, "session restored (locked)");
        let _ = self.inner.events.send(DeskEvent::SessionChanged {
            session: Some(info.clone()),
        });
        Ok(Some(info))
    }

    /// What removing this device's data would take away (administrators).
    pub async fn device_data(&self) -> Result<DeviceData, CoreError> {
        let (me, _) = self.signed_in().await?;
        require_admin(&me)?;
        let cache = self.cache()?;
        let store = cache.engine.store();
        let keychain = self.keychain()?;
        let known: Vec<KnownUser> = blocking(move || read_json(&*keychain, KNOWN_USERS_ENTRY))
            .await?
            .unwrap_or_default();
        Ok(DeviceData {
            pending: u32::try_from(store.pending_count().await?).unwrap_or(u32::MAX),
            conflicts: u32::try_from(store.conflict_count().await?).unwrap_or(u32::MAX),
            patients: u32::try_from(store.patient_count().await?).unwrap_or(u32::MAX),
            users: count(known.len()),
        })
    }

    /// "Remove this device's data" (administrators): after reading [`Desk::device_data`], the
    /// cache is wiped (pending changes with it), every user's tokens and unlock verifiers and
    /// the cache key leave the keychain, and the desk returns to the sign-in screen. The audit
    /// log stays. Refused when more changes are pending than the administrator was shown.
    pub async fn remove_device_data(&self, pending_seen: u32) -> Result<(), CoreError> {
        let (me, client) = self.signed_in().await?;
        require_admin(&me)?;
        let cache = self.cache()?;
        let pending = u32::try_from(cache.engine.store().pending_count().await?).unwrap_or(0);
        if pending > pending_seen {
            return Err(CoreError::NotAllowed(format!(
                "{pending} changes are pending now, not {pending_seen}: look at the list again \
                 before removing them"
            )));
        }
        if let Err(error) = client.sign_out().await {
            tracing::warn!(
                retryable = error.is_retryable(),
                "tokens not revoked at removal"
            );
        }
        *self.inner.session.write().await = None;
        // Stops sync and closes the cache: the slot empties, then every holder lets go.
        let store = cache.engine.store().clone();
        let audit = cache.audit.clone();
        self.inner
            .cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(cache);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut store = store;
        let store = loop {
            match Arc::try_unwrap(store) {
                Ok(store) => break store,
                Err(shared) if tokio::time::Instant::now() < deadline => {
                    store = shared;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => {
                    return Err(CoreError::NotAllowed(
                        "the cache is still in use; try again in a moment".into(),
                    ))
                }
            }
        };
        store.wipe().await?;
        drop(audit);
        let keychain = self.keychain()?;
        blocking(move || {
            let known: Vec<KnownUser> =
                read_json(&*keychain, KNOWN_USERS_ENTRY)?.unwrap_or_default();
            for user in &known {
                keychain.delete(&tokens_entry(&user.username))?;
                keychain.delete(&unlock_entry(&user.user_id))?;
            }
            keychain.delete(KNOWN_USERS_ENTRY)?;
            keychain.delete(CURRENT_SESSION_ENTRY)?;
            keychain.delete(CACHE_KEY_ENTRY)
        })
        .await?;
        tracing::warn!(by = %me.user_id, pending, "this device's data was removed");
        let _ = self
            .inner
            .events
            .send(DeskEvent::SessionChanged { session: None });
        Ok(())
    }
}

fn require_admin(me: &SessionInfo) -> Result<(), CoreError> {
    if me.role == "admin" {
        Ok(())
    } else {
        Err(CoreError::NotAllowed(format!(
            "only an administrator may remove this device's data (your role: {})",
            me.role
        )))
    }
}
