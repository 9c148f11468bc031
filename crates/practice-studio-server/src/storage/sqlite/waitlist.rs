//! [`WaitlistStorage`] on SQLite: each change and its event in one writer transaction.
//! The code is [`crate::storage::shared::waitlist`]'s.

crate::storage::shared::waitlist::waitlist_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);
