//! [`BillingStorage`] on SQLite. Money is integer cents here and [`Decimal`] everywhere else.
//! The code is [`crate::storage::shared::billing`]'s.

crate::storage::shared::billing::billing_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);
