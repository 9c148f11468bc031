//! [`RequestStorage`] on SQLite: both reads go to the reader pool, so authentication never
//! waits behind a write. The code is [`crate::storage::shared::request`]'s; rate limits stay in
//! the process (the trait's default `shared_rate_limit`).

crate::storage::shared::request::request_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection,
    {}
);
