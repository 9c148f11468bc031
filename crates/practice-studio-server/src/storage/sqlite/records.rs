//! [`RecordStorage`] on SQLite.
//! The code is [`crate::storage::shared::records`]'s.

crate::storage::shared::records::records_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);
