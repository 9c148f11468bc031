//! [`RecordStorage`] on PostgreSQL.
//! The code is [`crate::storage::shared::records`]'s.

crate::storage::shared::records::records_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
