//! [`WaitlistStorage`] on PostgreSQL: each change and its event in one writer transaction.
//! The code is [`crate::storage::shared::waitlist`]'s.

crate::storage::shared::waitlist::waitlist_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
