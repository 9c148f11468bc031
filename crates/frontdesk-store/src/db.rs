//! Opening SQLCipher databases with a caller-supplied raw key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::error::{is_not_a_database, CacheError};

/// How long a removal waits for this process's other handles on the same file to close.
const CLOSE_WAIT: Duration = Duration::from_secs(15);

/// The database files this process has open. Each handle holds its file's lock shared from
/// open until every one of its connections is closed; removing or renaming the file takes it
/// exclusively.
static OPEN_FILES: LazyLock<Mutex<HashMap<PathBuf, Arc<RwLock<()>>>>> =
    LazyLock::new(Default::default);

/// This process's hold on one database file. A cache or audit log that is let go closes its
/// connections on a task; until that ends, SQLite may still write to the file and, as the last
/// connection to it closes, delete its `-wal` *by name*. Handles on the same file coexist
/// (SQLite shares their locks within the process), but a file removed or set aside while an
/// old handle is still closing would have the new file's WAL deleted under it: removal waits
/// for every claim on the path ([`when_closed`]).
#[derive(Debug)]
pub(crate) struct FileClaim {
    _held: OwnedRwLockReadGuard<()>,
}

fn lock_of(path: &Path) -> Arc<RwLock<()>> {
    OPEN_FILES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(path.to_owned())
        .or_default()
        .clone()
}

/// A claim on `path` for a handle being opened (waits only while the file is being removed).
pub(crate) async fn claim(path: &Path) -> Result<FileClaim, CacheError> {
    match tokio::time::timeout(CLOSE_WAIT, lock_of(path).read_owned()).await {
        Ok(held) => Ok(FileClaim { _held: held }),
        Err(_) => Err(CacheError::StillOpen {
            path: path.to_owned(),
        }),
    }
}

/// Waits (up to [`CLOSE_WAIT`]) until no handle of this process has `path` open, and keeps
/// new ones from opening it while the guard lives.
pub(crate) async fn when_closed(path: &Path) -> Result<OwnedRwLockWriteGuard<()>, CacheError> {
    tokio::time::timeout(CLOSE_WAIT, lock_of(path).write_owned())
        .await
        .map_err(|_| CacheError::StillOpen {
            path: path.to_owned(),
        })
}

/// Removes `path` and its `-wal`, `-shm` and `-journal` files once no handle has it open.
pub(crate) async fn remove_database(path: &Path) -> Result<(), CacheError> {
    let _alone = when_closed(path).await?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CacheError::Remove { path: file, source }),
        }
    }
    Ok(())
}

/// Drops `first` (other connections to the file), closes `pools`, then lets go of `claim`:
/// on a task when a runtime is at hand (a value's `Drop` cannot wait); without one, the
/// connections close as they drop.
pub(crate) fn close_then_release(
    first: impl Send + 'static,
    pools: Vec<SqlitePool>,
    claim: Option<FileClaim>,
) {
    let close = async move {
        drop(first);
        for pool in pools {
            pool.close().await;
        }
        drop(claim);
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(close);
        }
        Err(_) => drop(close),
    }
}

/// Connection options for an encrypted database file.
pub(crate) fn options(path: &Path, key: &[u8; 32]) -> SqliteConnectOptions {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    SqliteConnectOptions::new()
        .filename(path)
        // A raw 256-bit key (`x'…'`) skips SQLCipher's PBKDF2 derivation, which would cost
        // ~100 ms per connection: the key is already random, not a password.
        .pragma("key", format!("\"x'{hex}'\""))
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
}

/// The writer's page cache once the first sync is done: 16 MiB (the first sync's is 256 MiB).
pub(crate) const EVERYDAY_WRITER_CACHE: &str = "PRAGMA cache_size = -16384";

/// Opens the single writer connection of a database, creating and migrating it if needed.
pub(crate) async fn open_writer(
    path: &Path,
    key: &[u8; 32],
    migrator: &sqlx::migrate::Migrator,
) -> Result<SqlitePool, CacheError> {
    let options = options(path, key)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a committed outbox entry survives a power cut, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        // Up to 256 MiB of decrypted pages: a first sync inserts into the search indexes at
        // random places, and every page evicted must be re-read and decrypted by the next batch.
        // A desk's usual cache (tens of thousands of patients) never grows that far.
        .pragma("cache_size", "-262144");
    let pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|source| open_error(path, source))?;
    // With a wrong key SQLCipher fails only when a page is read; make that happen here.
    if let Err(source) = sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&pool)
        .await
    {
        // Closed before the caller acts on the error (it may set the file aside).
        pool.close().await;
        return Err(open_error(path, source));
    }
    migrator
        .run(&pool)
        .await
        .map_err(|source| CacheError::Migrate {
            path: path.to_owned(),
            source,
        })?;
    Ok(pool)
}

/// Opens a pool of read-only connections to an already-open database.
pub(crate) async fn open_readers(
    path: &Path,
    key: &[u8; 32],
    connections: u32,
) -> Result<SqlitePool, CacheError> {
    let options = options(path, key)
        .read_only(true)
        // 64 MiB of decrypted pages per reader: SQLCipher decrypts on every cache miss.
        .pragma("cache_size", "-65536");
    SqlitePoolOptions::new()
        // A local file does not drop connections; pinging before every search would cost a
        // round trip to the connection's thread each time.
        .test_before_acquire(false)
        .max_connections(connections)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(|source| open_error(path, source))
}

fn open_error(path: &Path, source: sqlx::Error) -> CacheError {
    if is_not_a_database(&source) {
        CacheError::WrongKey {
            path: path.to_owned(),
        }
    } else {
        CacheError::Open {
            path: path.to_owned(),
            source,
        }
    }
}
