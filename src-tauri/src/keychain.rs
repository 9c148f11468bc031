//! The OS keychain through `keyring` (the Secret Service on Linux, the Keychain on macOS, the
//! Credential Manager on Windows). Each desk's entries live under its own service name
//! (`frontdesk/<namespace of its data directory>`), so two desks on one machine never collide.

use frontdesk_core::keychain::{Keychain, KeychainError};

/// The platform keychain, for one desk's service name.
pub struct OsKeychain {
    service: String,
}

impl OsKeychain {
    pub fn new(service: String) -> Self {
        Self { service }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(&self.service, name).map_err(classify)
    }
}

/// Errors that mean "there is no usable keychain here", as opposed to a failed call.
fn classify(error: keyring::Error) -> KeychainError {
    match error {
        keyring::Error::NoDefaultStore | keyring::Error::NoStorageAccess(_) => {
            KeychainError::Unavailable(error.to_string())
        }
        keyring::Error::PlatformFailure(_) => KeychainError::Unavailable(error.to_string()),
        // Said without the entry's bytes, which some of these variants carry.
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            KeychainError::Failed("an entry holds data in an unexpected format".into())
        }
        other => KeychainError::Failed(other.to_string()),
    }
}

impl Keychain for OsKeychain {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, KeychainError> {
        match self.entry(name)?.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(classify(error)),
        }
    }

    fn set(&self, name: &str, secret: &[u8]) -> Result<(), KeychainError> {
        self.entry(name)?.set_secret(secret).map_err(classify)
    }

    fn delete(&self, name: &str) -> Result<(), KeychainError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }
}
