//! [`BillingStorage`] on PostgreSQL. Money is integer cents here and [`Decimal`] everywhere else.
//! The code is [`crate::storage::shared::billing`]'s.

crate::storage::shared::billing::billing_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
