//! [`V2Storage`] on PostgreSQL: each list in `seq` order after the cursor, on the tables' primary key.
//! The code is [`crate::storage::shared::v2`]'s.

crate::storage::shared::v2::v2_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
