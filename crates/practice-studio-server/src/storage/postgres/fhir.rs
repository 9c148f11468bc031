//! [`FhirStorage`] on PostgreSQL: the FHIR searches over the v1 tables. Columns the tables do not
//! have (a patient's gender and phone) are read from the stored body with PostgreSQL's JSON operators.
//! The code is [`crate::storage::shared::fhir`]'s; the SQL that differs, `dialect`'s.

crate::storage::shared::fhir::fhir_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);
