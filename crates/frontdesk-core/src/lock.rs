//! The lock: after `lock_minutes` without the person at the desk touching it, the desk locks.
//! While locked, every call that reads or writes patient data is refused here, in the core
//! ([`Desk::signed_in`] is the one door to the signed-in user's client, and it checks the lock),
//! so the window and browser mode refuse it alike whatever the page shows.
//!
//! Unlocking works offline: the user's password (or a PIN they chose) is checked against an
//! Argon2id verifier kept in the OS keychain (`unlock:<user id>`), written at sign-in. When the
//! desk has no verifier for the user, or after [`LOCAL_TRIES`] wrong tries, the password goes to
//! the server instead (a password grant whose tokens are revoked at once), and the verifier is
//! renewed from it. Wrong local tries are not sent to the server: its lockout after five
//! failures would let anyone passing by lock the user's account from the lock screen. (A password
//! changed elsewhere is therefore learnt at the next sign-in or server check; until then the old
//! one still unlocks this desk.)
//!
//! Activity is what the UI reports ([`Desk::touch`]); an expired idle time is sticky: a touch
//! after it does not unlock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use practice_studio::client::{Auth, Client, Error as ClientError, SignInError};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::desk::{CoreError, Desk, DeskEvent};
use crate::keychain::{Keychain, KeychainError};

/// Wrong local tries before the desk stops trusting its own verifier and asks the server.
pub const LOCAL_TRIES: u32 = 5;

/// The keychain entry holding a user's unlock verifiers.
pub fn unlock_entry(user_id: &str) -> String {
    format!("unlock:{user_id}")
}

/// What the lock screen needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    pub locked: bool,
    /// Idle time before the desk locks.
    pub lock_after_seconds: u32,
    /// The signed-in user chose a PIN (the lock screen then says "password or PIN").
    pub has_pin: bool,
    /// Wrong tries left before only the server can unlock.
    pub local_tries_left: u32,
}

/// Arguments of `unlock`: the user's password or PIN. Never logged.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockArgs {
    pub secret: String,
}

impl std::fmt::Debug for UnlockArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnlockArgs(redacted)")
    }
}

/// Arguments of `set_unlock_pin`.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinArgs {
    pub pin: String,
}

impl std::fmt::Debug for PinArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinArgs(redacted)")
    }
}

/// The Argon2id hashes (PHC strings, salted) that unlock a user's desk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Verifiers {
    password: Option<String>,
    pin: Option<String>,
}

pub(crate) struct LockState {
    inner: Mutex<LockInner>,
}

struct LockInner {
    locked: bool,
    last_activity: Instant,
    lock_after: Duration,
    failures: u32,
    /// What the watcher last told the UI.
    announced: bool,
}

impl LockState {
    pub(crate) fn new(lock_after: Duration) -> Self {
        Self {
            inner: Mutex::new(LockInner {
                locked: false,
                last_activity: Instant::now(),
                lock_after,
                failures: 0,
                announced: false,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LockInner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Locked now (an idle time that ran out makes the lock stick).
    pub(crate) fn locked(&self) -> bool {
        self.with(|s| {
            if !s.locked && s.last_activity.elapsed() >= s.lock_after {
                s.locked = true;
            }
            s.locked
        })
    }

    /// A fresh start: unlocked, active now, no failures (a sign-in).
    pub(crate) fn reset(&self, locked: bool) {
        self.with(|s| {
            s.locked = locked;
            s.last_activity = Instant::now();
            s.failures = 0;
            s.announced = locked;
        });
    }
}

fn hash(secret: &str) -> Result<String, KeychainError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| KeychainError::Failed(format!("the unlock verifier's salt: {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| KeychainError::Failed(format!("the unlock verifier could not be made: {e}")))
}

fn verifies(phc: &str, secret: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn read_verifiers(keychain: &dyn Keychain, user_id: &str) -> Result<Verifiers, KeychainError> {
    Ok(keychain
        .get(&unlock_entry(user_id))?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default())
}

fn write_verifiers(
    keychain: &dyn Keychain,
    user_id: &str,
    verifiers: &Verifiers,
) -> Result<(), KeychainError> {
    let bytes = serde_json::to_vec(verifiers)
        .map_err(|e| KeychainError::Failed(format!("the unlock verifier: {e}")))?;
    keychain.set(&unlock_entry(user_id), &bytes)
}

/// Keeps (or replaces) the password verifier of `user_id`; the PIN stays.
pub(crate) fn remember_password(
    keychain: &dyn Keychain,
    user_id: &str,
    password: &str,
) -> Result<(), KeychainError> {
    let mut verifiers = read_verifiers(keychain, user_id)?;
    verifiers.password = Some(hash(password)?);
    write_verifiers(keychain, user_id, &verifiers)
}

/// Whether a PIN is acceptable: 4 to 12 digits.
pub fn pin_problem(pin: &str) -> Option<&'static str> {
    if !(4..=12).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        Some("a PIN is 4 to 12 digits")
    } else {
        None
    }
}

impl Desk {
    /// The lock's state for the lock screen (unlocked and empty when nobody is signed in).
    pub async fn lock_view(&self) -> Result<LockView, CoreError> {
        let session = self.session().await;
        let locked = session.is_some() && self.inner.lock.locked();
        let (lock_after, failures) = self
            .inner
            .lock
            .with(|s| (s.lock_after.as_secs(), s.failures));
        let has_pin = match &session {
            None => false,
            Some(me) => {
                let keychain = self.keychain()?;
                let user_id = me.user_id.clone();
                crate::session::blocking(move || read_verifiers(&*keychain, &user_id))
                    .await?
                    .pin
                    .is_some()
            }
        };
        Ok(LockView {
            locked,
            lock_after_seconds: u32::try_from(lock_after).unwrap_or(u32::MAX),
            has_pin,
            local_tries_left: LOCAL_TRIES.saturating_sub(failures),
        })
    }

    /// Whether the desk is locked (never while nobody is signed in: the sign-in screen shows).
    pub async fn is_locked(&self) -> bool {
        self.inner.session.read().await.is_some() && self.inner.lock.locked()
    }

    /// Refuses with [`CoreError::Locked`] while the desk is locked.
    pub async fn require_unlocked(&self) -> Result<(), CoreError> {
        if self.is_locked().await {
            Err(CoreError::Locked)
        } else {
            Ok(())
        }
    }

    /// The person at the desk did something: the idle time starts again. Refused once locked.
    pub async fn touch(&self) -> Result<(), CoreError> {
        self.require_unlocked().await?;
        self.inner.lock.with(|s| s.last_activity = Instant::now());
        Ok(())
    }

    /// Locks now (`Ctrl+L`, or leaving the desk).
    pub async fn lock_now(&self) -> Result<(), CoreError> {
        if self.inner.session.read().await.is_none() {
            return Err(CoreError::NotSignedIn);
        }
        self.inner.lock.with(|s| s.locked = true);
        tracing::info!("desk locked");
        self.announce_lock(true);
        Ok(())
    }

    /// How long the desk may stay idle (the configured `lock_minutes` unless a test shortened it).
    pub fn set_lock_after(&self, after: Duration) {
        self.inner.lock.with(|s| s.lock_after = after);
    }

    /// Unlocks with the signed-in user's password or PIN: checked on this desk first (works
    /// offline), then, when that fails, by the server (password only).
    pub async fn unlock(&self, secret: &str) -> Result<(), CoreError> {
        let (me, username) = {
            let session = self.inner.session.read().await;
            let session = session.as_ref().ok_or(CoreError::NotSignedIn)?;
            (session.info.clone(), session.info.email.clone())
        };
        if !self.inner.lock.locked() {
            return Ok(());
        }
        let keychain = self.keychain()?;
        let trust_local = self.inner.lock.with(|s| s.failures < LOCAL_TRIES);
        if trust_local {
            let local = {
                let keychain = keychain.clone();
                let user_id = me.user_id.clone();
                let secret = secret.to_owned();
                crate::session::blocking(move || {
                    let v = read_verifiers(&*keychain, &user_id)?;
                    if v.password.is_none() && v.pin.is_none() {
                        return Ok(None);
                    }
                    Ok(Some(
                        v.password.as_deref().is_some_and(|p| verifies(p, &secret))
                            || v.pin.as_deref().is_some_and(|p| verifies(p, &secret)),
                    ))
                })
                .await?
            };
            match local {
                Some(true) => {
                    self.unlocked("this desk's verifier");
                    return Ok(());
                }
                // Not sent to the server: its lockout would let anyone passing by lock the
                // user's account with a few wrong tries here.
                Some(false) => {
                    self.inner.lock.with(|s| s.failures += 1);
                    tracing::info!("a wrong unlock attempt");
                    return Err(CoreError::WrongCredentials);
                }
                None => {}
            }
        }
        // The server decides: a desk without a verifier, or too many wrong tries here.
        match self.check_password_with_server(&username, secret).await {
            Ok(()) => {
                let keychain = keychain.clone();
                let user_id = me.user_id.clone();
                let secret = secret.to_owned();
                crate::session::blocking(move || remember_password(&*keychain, &user_id, &secret))
                    .await?;
                self.unlocked("the server");
                Ok(())
            }
            Err(CoreError::WrongCredentials) => {
                self.inner.lock.with(|s| s.failures += 1);
                tracing::info!("a wrong unlock attempt");
                Err(CoreError::WrongCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Sets (or replaces) the signed-in user's unlock PIN.
    pub async fn set_unlock_pin(&self, pin: &str) -> Result<(), CoreError> {
        let (me, _) = self.signed_in().await?;
        if let Some(problem) = pin_problem(pin) {
            return Err(CoreError::Invalid(vec![
                practice_studio::model::ErrorDetail {
                    field: "pin".into(),
                    issue: problem.into(),
                    code: None,
                },
            ]));
        }
        let keychain = self.keychain()?;
        let pin = pin.to_owned();
        crate::session::blocking(move || {
            let mut verifiers = read_verifiers(&*keychain, &me.user_id)?;
            verifiers.pin = Some(hash(&pin)?);
            write_verifiers(&*keychain, &me.user_id, &verifiers)
        })
        .await?;
        tracing::info!("unlock PIN set");
        Ok(())
    }

    fn unlocked(&self, by: &str) {
        self.inner.lock.reset(false);
        tracing::info!(checked_by = by, "desk unlocked");
        self.announce_lock(false);
    }

    fn announce_lock(&self, locked: bool) {
        self.inner.lock.with(|s| s.announced = locked);
        let _ = self.inner.events.send(DeskEvent::LockChanged { locked });
    }

    async fn check_password_with_server(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(), CoreError> {
        let (api_url, client_id) = {
            let config = self.inner.config.read().await;
            let url = config.api_url().ok_or(CoreError::NotConfigured)?.to_owned();
            (url, config.client_id().to_owned())
        };
        // Its own client with no token store: the tokens it gets are revoked at once.
        let client = Client::builder(api_url)
            .auth(Auth::password(client_id, username, password))
            .build()
            .map_err(CoreError::InvalidApiUrl)?;
        match client.sign_in().await {
            Ok(()) => {
                if let Err(error) = client.sign_out().await {
                    tracing::debug!(%error, "the unlock check's tokens could not be revoked");
                }
                Ok(())
            }
            Err(
                ClientError::SignIn(SignInError::Refused { .. }) | ClientError::Unauthorized(_),
            ) => Err(CoreError::WrongCredentials),
            Err(other) => Err(CoreError::from_api(other)),
        }
    }

    /// Tells the UI when the idle time runs out, checking every `every`.
    pub fn spawn_lock_watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let desk = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let locked = desk.is_locked().await;
                let announced = desk.inner.lock.with(|s| s.announced);
                if locked && !announced {
                    tracing::info!("desk locked after inactivity");
                    desk.announce_lock(true);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_accepts_its_secret_only_and_is_salted() {
        let a = hash("demo-password").expect("hash");
        let b = hash("demo-password").expect("hash");
        assert_ne!(a, b, "each verifier has its own salt");
        assert!(a.starts_with("$argon2id$"));
        assert!(verifies(&a, "demo-password"));
        assert!(!verifies(&a, "demo-passwore"));
        assert!(!verifies("not a hash", "demo-password"));
    }

    #[test]
    fn pins_are_four_to_twelve_digits() {
        assert!(pin_problem("1234").is_none());
        assert!(pin_problem("123").is_some());
        assert!(pin_problem("12a4").is_some());
        assert!(pin_problem("1234567890123").is_some());
    }

    #[test]
    fn an_idle_time_that_ran_out_stays_locked() {
        let state = LockState::new(Duration::from_millis(20));
        assert!(!state.locked());
        std::thread::sleep(Duration::from_millis(30));
        assert!(state.locked());
        // Activity after the idle time does not unlock.
        state.with(|s| s.last_activity = Instant::now());
        assert!(state.locked());
        state.reset(false);
        assert!(!state.locked());
    }
}
