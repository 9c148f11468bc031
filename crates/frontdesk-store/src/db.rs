//! Opening SQLCipher databases with a caller-supplied raw key.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::error::{is_not_a_database, CacheError};

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
    sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&pool)
        .await
        .map_err(|source| open_error(path, source))?;
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
