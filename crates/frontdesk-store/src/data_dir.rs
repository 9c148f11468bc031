//! The data directory: one per desk, held exclusively by the process using it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const LOCK_FILE: &str = "frontdesk.lock";

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot open the lock file in {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the data directory {path} is in use by another Front Desk process; \
         close it or start this one with another --data-dir"
    )]
    InUse { path: PathBuf },
}

/// A desk's data directory, locked for this process while the value lives.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    namespace: String,
    // Held for its lock: the OS releases it when the file is closed, including on a crash.
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed (readable by its owner only) and locks it for this process.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private_dir(path)?;
        let path = fs::canonicalize(path).map_err(|source| StoreError::CreateDir {
            path: path.to_owned(),
            source,
        })?;
        if !path.is_dir() {
            return Err(StoreError::NotADirectory { path });
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join(LOCK_FILE))
            .map_err(|source| StoreError::Lock {
                path: path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::InUse { path }),
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path, source });
            }
        }
        let namespace = namespace_of(&path);
        tracing::debug!(namespace, "data directory opened");
        Ok(Self {
            path,
            namespace,
            _lock: lock,
        })
    }

    /// The directory's absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A short, stable name for this directory (16 hex digits of the SHA-256 of its canonical
    /// path). Everything a desk keeps outside the directory is filed under it.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The OS keychain service name under which this desk keeps its secrets.
    pub fn keychain_service(&self) -> String {
        format!("frontdesk/{}", self.namespace)
    }
}

fn namespace_of(path: &Path) -> String {
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|source| StoreError::CreateDir {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_directory_serves_one_process_at_a_time() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let first = DataDir::open(tmp.path().join("desk")).expect("first opens");
        let second = DataDir::open(tmp.path().join("desk"));
        assert!(
            matches!(second, Err(StoreError::InUse { .. })),
            "{second:?}"
        );
        drop(first);
        DataDir::open(tmp.path().join("desk")).expect("free again once the first closes");
    }

    #[test]
    fn two_directories_have_distinct_stable_namespaces() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = DataDir::open(tmp.path().join("a")).expect("a");
        let b = DataDir::open(tmp.path().join("b")).expect("b");
        assert_ne!(a.namespace(), b.namespace());
        assert_ne!(a.keychain_service(), b.keychain_service());
        assert_eq!(a.namespace().len(), 16);
        let a_again_namespace = a.namespace().to_owned();
        drop(a);
        // The same directory reached through another spelling of its path is the same desk.
        let a_again = DataDir::open(tmp.path().join("b/../a")).expect("a again");
        assert_eq!(a_again.namespace(), a_again_namespace);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_directory_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = DataDir::open(tmp.path().join("desk")).expect("opens");
        let mode = fs::metadata(dir.path())
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_file_in_the_way_is_a_clear_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("not-a-dir");
        fs::write(&file, b"x").expect("write");
        assert!(DataDir::open(&file).is_err());
    }
}
