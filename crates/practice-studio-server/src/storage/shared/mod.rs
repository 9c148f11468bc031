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
//! differs.

pub(crate) mod appointments;
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
