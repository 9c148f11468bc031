//! What can go wrong in the encrypted cache and the audit log.

use std::path::PathBuf;

/// Why the cache or the audit log could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// SQLCipher could not read the file with this key ("file is not a database", code 26).
    #[error(
        "the key does not open {path}: it is not the key this database was created with \
         (or the file is not a Front Desk database)"
    )]
    WrongKey { path: PathBuf },
    /// This process still has the file open (a previous handle is closing) after a wait.
    #[error(
        "{path} is still open in this desk (a previous handle is closing); try again in a moment"
    )]
    StillOpen { path: PathBuf },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot bring the database {path} up to date: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("{operation} failed: {source}")]
    Query {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot open the database {path} for search: {source}")]
    OpenReader {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A search read (see `search_readers`) failed.
    #[error("{operation} failed: {source}")]
    Read {
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the stored {what} {id} cannot be read back: {source}")]
    Corrupt {
        what: &'static str,
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the stored {what} {id} has an unreadable {field}: {value:?}")]
    CorruptField {
        what: &'static str,
        id: String,
        field: &'static str,
        value: String,
    },
    #[error("cannot encode {what} {id} for storage: {source}")]
    Encode {
        what: &'static str,
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("attachment {id} is {size} bytes, more than the cache's cap of {cap} bytes")]
    AttachmentTooLarge { id: String, size: u64, cap: u64 },
    #[error("conflict {id} is not on the conflict list (unknown, or resolved already)")]
    ConflictNotOpen { id: i64 },
    #[error("outbox entry {seq} is not pending")]
    NotPending { seq: i64 },
    #[error("an outbox entry with idempotency key {key} already exists")]
    DuplicateIdempotencyKey { key: String },
    #[error("cannot remove or set aside {path}: {source}")]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Maps a query error to [`CacheError::Query`] naming the operation.
pub(crate) fn query(operation: &'static str) -> impl FnOnce(sqlx::Error) -> CacheError {
    move |source| CacheError::Query { operation, source }
}

/// SQLCipher reports a wrong key as SQLITE_NOTADB when the first page is read.
pub(crate) fn is_not_a_database(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("26") || db.message().contains("file is not a database")
        }
        _ => false,
    }
}
