//! The storage logic both engines share, written once.
//!
//! [`super::sqlite`] and [`super::postgres`] run the same queries on the same schema; only the
//! types differ (`Sqlite`/`Postgres`, their rows and connections, `SqliteStorage`/`PgStorage`).
//! Each area here is one `macro_rules!` whose body is the area's code with those names as
//! parameters; each engine's module instantiates it with its own, e.g.
//! `billing_storage!(SqliteStorage, Sqlite, SqliteRow, SqliteConnection)`. A macro rather than
//! functions generic over `sqlx::Database`: the bounds that make a generic query compile
//! (`for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>`, `Encode`/`Decode`/`Type` for
//! every bound and read type) would outweigh the code they share, and the macro's expansion is
//! the plain concrete code each engine had before.
//!
//! SQL is written once with numbered placeholders (`$1`, `$2`, …): PostgreSQL's own, and SQLite
//! reads `$N` as "the N-th bound value" (sqlx-sqlite binds a parameter named `$N` to argument N),
//! so a number may appear twice or out of order. Lists built with `QueryBuilder::push_bind` get
//! each engine's own placeholder; a statement never mixes the two forms. Engine-specific parts
//! stay in the engine's module: connection set-up and migrations, write serialisation (SQLite's
//! single writer connection, PostgreSQL's advisory lock, both behind a `write()` that begins the
//! writing transaction), the change feed's counter and wake-ups (`LISTEN/NOTIFY`), the claims
//! (idempotency keys, webhook deliveries, rate buckets), and the few statements whose dialect
//! differs: each engine's `dialect.rs` holds those as constants under the same names, which the
//! shared code reads as `super::dialect::…`. Where an engine has its own method in a shared trait
//! impl (each engine's idempotency claim, PostgreSQL's shared rate limit), it hands the method to
//! the macro in braces.

use chrono::{DateTime, Utc};
use practice_studio::model::{Patient, PatientId, PatientLinks};
use practice_studio::rules::ValidPatient;

use super::Result;

pub(crate) mod appointments;
pub(crate) mod base;
pub(crate) mod billing;
pub(crate) mod events;
pub(crate) mod fhir;
pub(crate) mod records;
pub(crate) mod request;
pub(crate) mod v2;
pub(crate) mod waitlist;
pub(crate) mod webhooks;

/// Rewrites `?` placeholders (outside quoted text) as `$1`, `$2`, …: lists build their filters
/// from pieces with `?`, and this numbers them for either engine.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// A patient from its stored body.
pub(crate) fn patient_from_body(body: &str) -> Result<Patient> {
    serde_json::from_str(body).map_err(super::sqlite::corrupt("patient body"))
}

/// The patient a write stores and answers with.
pub(crate) fn render_patient(
    id: &str,
    mrn: &str,
    valid: &ValidPatient,
    version: i64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> Patient {
    let id = PatientId(id.to_owned());
    Patient {
        links: PatientLinks::for_patient(&id),
        id,
        mrn: mrn.to_owned(),
        first_name: valid.first_name.clone(),
        last_name: valid.last_name.clone(),
        date_of_birth: valid.date_of_birth,
        gender: valid.gender,
        status: valid.status,
        contact_info: valid.contact_info.clone(),
        insurance: valid.insurance.clone(),
        emergency_contact: valid.emergency_contact.clone(),
        preferred_language: valid.preferred_language.clone(),
        preferred_pharmacy: valid.preferred_pharmacy.clone(),
        allergies: Some(valid.allergies.clone()),
        version,
        created,
        updated,
    }
}

/// What the patient search matches against: names, id and MRN, lower-cased.
pub(crate) fn search_text(patient: &Patient) -> String {
    format!(
        "{} {} {} {}",
        patient.first_name, patient.last_name, patient.id, patient.mrn
    )
    .to_lowercase()
}
