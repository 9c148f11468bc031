//! [`AppointmentStorage`] on PostgreSQL. Every booking and change runs on the one writer connection,
//! so the clash check reads the provider's bookings and writes in one transaction: two desks
//! taking the same slot at once get one booking and one 409.
//! The code is [`crate::storage::shared::appointments`]'s; the SQL that differs, `dialect`'s.

crate::storage::shared::appointments::appointments_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
