//! The SQLite implementation of [`Storage`]: WAL, one writer connection (writes serialise in
//! SQLite anyway; one connection turns lock contention into a queue), readers in a pool.
//!
//! The queries are [`super::shared`]'s, written once for this and the PostgreSQL module; here is
//! what is SQLite's own (the connections, `write`, the SQL in `dialect`, each area's own parts).
//! They are built at run time (`sqlx::query`) rather than with the checked macros: the checked
//! macros bind a module to one engine's offline data.

mod appointments;
mod base;
mod billing;
mod dialect;
mod events;
mod fhir;
mod records;
mod request;
mod v2;
mod waitlist;
mod webhooks;

pub(crate) use super::shared::numbered;
pub(crate) use events::append_event;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use practice_studio::model::PatientStatus;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::*;
use crate::auth::parse_scopes;

/// Sequence numbers start here, so ids and MRNs have the reference's five digits.
pub(crate) const FIRST_NUMBER: i64 = 10_000;

pub struct SqliteStorage {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Bumped after each commit that wrote events (the feed's long polls wait on it).
    events: tokio::sync::watch::Sender<u64>,
}

pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("timestamp {text:?}: {e}")))
}

pub(crate) fn status_str(status: PatientStatus) -> &'static str {
    match status {
        PatientStatus::Active => "active",
        PatientStatus::Inactive => "inactive",
        PatientStatus::Deceased => "deceased",
    }
}

pub(crate) fn scopes_of(text: &str) -> Result<Scopes> {
    parse_scopes(text).map_err(StorageError::Corrupt)
}

pub(crate) fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StorageError {
    move |e| StorageError::Corrupt(format!("{what}: {e}"))
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            writer,
            readers,
            events: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Begins a writing transaction on the one writer connection (writes queue there).
    pub(crate) async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin().await?)
    }

    /// Runs one writing statement in its own transaction.
    async fn write_one<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<sqlx::sqlite::SqliteQueryResult> {
        let mut tx = self.write().await?;
        let done = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}

#[async_trait]
impl InstanceStorage for SqliteStorage {
    /// One process serves a SQLite file: its single jobs are always its own.
    async fn turn(&self, _job: SingleJob) -> Box<dyn Turn> {
        Box::new(AlwaysHeld)
    }
}
