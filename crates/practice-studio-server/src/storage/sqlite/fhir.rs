//! [`FhirStorage`] on SQLite: the FHIR searches over the v1 tables. Columns the tables do not
//! have (a patient's gender and phone) are read from the stored body with SQLite's JSON functions.
//! The code is [`crate::storage::shared::fhir`]'s; the SQL that differs, `dialect`'s.

crate::storage::shared::fhir::fhir_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);
