//! The connections patient search reads through: rusqlite, on the caller's thread.
//!
//! sqlx's SQLite driver runs each connection on a thread of its own and hands every statement
//! there and every answer back. A search's index reads take tens of microseconds; that hand-off
//! alone took 30 µs on a quiet machine and over 100 µs on a busy one, each way, per statement —
//! most of a search. These connections read the same encrypted file through the same
//! `libsqlite3-sys` (so the same SQLCipher build) in the thread that asks: inside the runtime's
//! `block_in_place` on a multi-threaded runtime, so other tasks move to another worker meanwhile.
//!
//! Statements run here are not checked by sqlx at build time. The store's search tests run
//! every one of them against a migrated cache (an id or MRN, a date of birth, a phone, a whole
//! name, a typo, one and two letters, several words), so a statement the schema no longer
//! fits fails `make test`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Mutex;

use crate::error::CacheError;

/// Read-only connections for search, each used by one search at a time.
#[derive(Debug)]
pub(crate) struct SearchReaders {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl SearchReaders {
    /// Moves the connections out (to be closed elsewhere), leaving none.
    pub(crate) fn take(&mut self) -> SearchReaders {
        SearchReaders {
            connections: std::mem::take(&mut self.connections),
            next: AtomicUsize::new(0),
        }
    }

    /// Opens `count` read-only connections to an existing (already migrated) cache.
    pub(crate) fn open(path: &Path, key: &[u8; 32], count: u32) -> Result<Self, CacheError> {
        let connections = (0..count.max(1))
            .map(|_| open_one(path, key).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (waiting for one when every connection is busy).
    pub(crate) async fn run<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        let free = self.connections.iter().find_map(|c| c.try_lock().ok());
        let connection = match free {
            Some(guard) => guard,
            None => {
                let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
                self.connections[turn].lock().await
            }
        };
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| read(&connection)),
            // A single-threaded runtime has no other worker to hand its tasks to; a search is
            // short enough to run in place.
            _ => read(&connection),
        }
    }
}

fn open_one(path: &Path, key: &[u8; 32]) -> Result<Connection, CacheError> {
    let opened = || -> Result<Connection, rusqlite::Error> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        // A raw key, as the sqlx connections use (see `db::options`); it must come first.
        connection.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))?;
        connection.busy_timeout(Duration::from_secs(10))?;
        // 64 MiB of decrypted pages, as each sqlx reader has.
        connection.execute_batch("PRAGMA cache_size = -65536; PRAGMA query_only = 1;")?;
        // With a wrong key SQLCipher fails only when a page is read; make that happen here.
        connection.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(connection)
    };
    opened().map_err(|source| match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => CacheError::WrongKey {
            path: path.to_owned(),
        },
        _ => CacheError::OpenReader {
            path: path.to_owned(),
            source,
        },
    })
}

/// Maps a search read's error to [`CacheError::Read`] naming the operation.
pub(crate) fn read(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> CacheError {
    move |source| CacheError::Read { operation, source }
}
