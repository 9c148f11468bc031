//! Where a desk keeps its secrets: the OS keychain, behind a small trait so the core never links
//! a platform keychain and its tests run without one. The shell supplies the real one (Secret
//! Service through `keyring`); there is deliberately no file-backed implementation: with no
//! keychain the desk says so and keeps no secret at all.
//!
//! Entries are named inside the desk's own service (`DataDir::keychain_service`), so two desks on
//! one machine never read each other's secrets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use practice_studio::client::{TokenStore, TokenStoreError, Tokens};

/// The cache's encryption key (32 bytes).
pub const CACHE_KEY_ENTRY: &str = "cache-key";
/// The audit log's encryption key (32 bytes).
pub const AUDIT_KEY_ENTRY: &str = "audit-key";

/// The keychain entry holding a user's tokens.
pub fn tokens_entry(username: &str) -> String {
    format!("tokens:{}", username.trim().to_lowercase())
}

/// Why the keychain could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeychainError {
    /// There is no keychain to talk to (no Secret Service on the session bus, or it is locked).
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
    /// The keychain answered with an error.
    #[error("the OS keychain refused: {0}")]
    Failed(String),
}

/// A desk's secrets, by entry name. Calls may block (D-Bus round trips): call them off the async
/// runtime's worker threads ([`tokio::task::spawn_blocking`]).
pub trait Keychain: Send + Sync {
    fn get(&self, entry: &str) -> Result<Option<Vec<u8>>, KeychainError>;
    fn set(&self, entry: &str, secret: &[u8]) -> Result<(), KeychainError>;
    fn delete(&self, entry: &str) -> Result<(), KeychainError>;
}

/// A keychain in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryKeychain {
    entries: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryKeychain {
    /// The entry names held now.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }
}

impl Keychain for MemoryKeychain {
    fn get(&self, entry: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        Ok(self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(entry)
            .cloned())
    }

    fn set(&self, entry: &str, secret: &[u8]) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.to_owned(), secret.to_vec());
        Ok(())
    }

    fn delete(&self, entry: &str) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(entry);
        Ok(())
    }
}

/// A keychain that is not there: every call says so. The shell uses it when the platform
/// keychain cannot be reached, so the desk explains instead of storing secrets elsewhere.
#[derive(Debug, Clone)]
pub struct NoKeychain {
    pub reason: String,
}

impl Keychain for NoKeychain {
    fn get(&self, _entry: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        Err(KeychainError::Unavailable(self.reason.clone()))
    }

    fn set(&self, _entry: &str, _secret: &[u8]) -> Result<(), KeychainError> {
        Err(KeychainError::Unavailable(self.reason.clone()))
    }

    fn delete(&self, _entry: &str) -> Result<(), KeychainError> {
        Err(KeychainError::Unavailable(self.reason.clone()))
    }
}

/// The SDK's [`TokenStore`] over one keychain entry: a user's tokens live there and nowhere else.
pub struct KeychainTokenStore {
    keychain: Arc<dyn Keychain>,
    entry: String,
}

impl KeychainTokenStore {
    pub fn new(keychain: Arc<dyn Keychain>, entry: String) -> Self {
        Self { keychain, entry }
    }
}

impl TokenStore for KeychainTokenStore {
    fn load(&self) -> Result<Option<Tokens>, TokenStoreError> {
        match self.keychain.get(&self.entry)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        }
    }

    fn save(&self, tokens: &Tokens) -> Result<(), TokenStoreError> {
        let bytes = serde_json::to_vec(tokens)?;
        self.keychain.set(&self.entry, &bytes)?;
        Ok(())
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        self.keychain.delete(&self.entry)?;
        Ok(())
    }
}

/// Reads a 32-byte key from the keychain, creating (and storing) a random one when there is none.
pub(crate) fn key_of(keychain: &dyn Keychain, entry: &str) -> Result<[u8; 32], KeychainError> {
    if let Some(bytes) = keychain.get(entry)? {
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            KeychainError::Failed(format!("the entry {entry} does not hold a 32-byte key"))
        })?;
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    keychain.set(entry, &key)?;
    Ok(key)
}
