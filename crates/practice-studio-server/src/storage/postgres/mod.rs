//! The PostgreSQL implementation of [`Storage`], for a deployment that outgrows one machine:
//! several server instances on one database.
//!
//! The schema (`migrations-pg/`) mirrors SQLite's, so the queries are [`super::shared`]'s,
//! written once for both engines (with PostgreSQL's functions where they differ, in `dialect`).
//! What SQLite gets from its single writer, this
//! module gets from one transaction-scoped advisory lock ([`WRITER_LOCK`]) that every writing
//! transaction takes first ([`PgStorage::write`]), on every instance:
//! - read-then-write steps (the next number of a patient, the clash check before a booking,
//!   the webhook dispatcher's cursor) cannot interleave;
//! - the change feed's order is the commit order: an event's `seq` is taken from the `events`
//!   counter inside a transaction that holds the lock until it commits, so no later number can
//!   become visible before an earlier one (a sequence's `nextval` would hand numbers out at
//!   insert time, and a reader could pass a number whose transaction had not committed yet).
//!
//! Reads take no lock. What must not wait behind writers takes none either: claiming an
//! `Idempotency-Key` (one `INSERT … ON CONFLICT DO NOTHING`), a rate-limit bucket (one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`), and a due webhook delivery (`FOR UPDATE SKIP
//! LOCKED`, so two instances' workers never send the same delivery). A commit that wrote events
//! sends `NOTIFY practice_studio_events`; every instance `LISTEN`s, so a long poll on one wakes
//! for an event written through another.

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

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::sqlite::{corrupt, parse_ts, scopes_of, status_str, ts, FIRST_NUMBER};
use super::*;

/// The advisory lock every writing transaction holds until it ends (an arbitrary number that
/// names this server's writers).
pub(crate) const WRITER_LOCK: i64 = 0x5053_5752; // "PSWR"

/// The channel a commit that wrote events notifies.
const EVENTS_CHANNEL: &str = "practice_studio_events";

pub struct PgStorage {
    writer: PgPool,
    readers: PgPool,
    /// Bumped after each commit that wrote events, here or (through `LISTEN`) on any instance:
    /// the feed's long polls and the webhook worker wait on it.
    events: Arc<tokio::sync::watch::Sender<u64>>,
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, 16).await
    }

    /// The same, with at most `connections` connections (besides the one that listens).
    pub async fn open_with(url: &str, connections: u32) -> Result<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        // Several instances may start at once: the migrator takes its own advisory lock.
        sqlx::migrate!("./migrations-pg").run(&pool).await?;
        let events = Arc::new(tokio::sync::watch::Sender::new(0));
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;
        tokio::spawn(listen_for_events(listener, Arc::downgrade(&events)));
        Ok(Self {
            writer: pool.clone(),
            readers: pool,
            events,
        })
    }

    /// Begins a writing transaction: it holds [`WRITER_LOCK`] until it commits or rolls back.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Runs one writing statement in its own locked transaction.
    async fn write_one<'q>(
        &self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<sqlx::postgres::PgQueryResult> {
        let mut tx = self.write().await?;
        let done = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}

/// Bumps `events` whenever any instance commits events, until the storage is gone. A lost
/// connection is re-established by the listener; events committed meanwhile are not missed
/// (waiters re-read the log), so the watch is bumped after a reconnection too.
async fn listen_for_events(
    mut listener: PgListener,
    events: Weak<tokio::sync::watch::Sender<u64>>,
) {
    loop {
        let woke = tokio::time::timeout(Duration::from_secs(1), listener.try_recv()).await;
        let Some(events) = events.upgrade() else {
            return;
        };
        match woke {
            // Timed out: only a check that the storage still exists.
            Err(_) => continue,
            Ok(Ok(_)) => events.send_modify(|n| *n = n.wrapping_add(1)),
            Ok(Err(error)) => {
                tracing::warn!(%error, "event notifications interrupted; reconnecting");
                events.send_modify(|n| *n = n.wrapping_add(1));
                drop(events);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The session-level advisory lock of a [`SingleJob`] (arbitrary numbers beside [`WRITER_LOCK`]).
fn job_lock(job: SingleJob) -> i64 {
    match job {
        SingleJob::DemoActivity => 0x5053_4441, // "PSDA"
    }
}

#[async_trait]
impl InstanceStorage for PgStorage {
    /// The instance whose session holds the job's advisory lock (`pg_try_advisory_lock`) has the
    /// job. The lock lives on a connection of the turn's own, outside the pool: it is released
    /// when the turn is dropped (the job stops, the instance stops) or the connection is lost, and
    /// then the next instance to ask takes it.
    async fn turn(&self, job: SingleJob) -> Box<dyn Turn> {
        Box::new(PgTurn {
            pool: self.writer.clone(),
            lock: job_lock(job),
            connection: None,
            holding: false,
        })
    }
}

struct PgTurn {
    pool: PgPool,
    lock: i64,
    connection: Option<sqlx::PgConnection>,
    holding: bool,
}

impl PgTurn {
    async fn ask(&mut self) -> Result<bool> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            // Detached: the pool neither counts it nor hands it to anyone else.
            None => self.connection.insert(self.pool.acquire().await?.detach()),
        };
        if self.holding {
            // Still connected, so still holding: the lock ends only with the session.
            sqlx::query("SELECT 1").execute(&mut *connection).await?;
            return Ok(true);
        }
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(self.lock)
            .fetch_one(&mut *connection)
            .await?;
        self.holding = taken;
        Ok(taken)
    }
}

#[async_trait]
impl Turn for PgTurn {
    async fn held(&mut self) -> bool {
        match self.ask().await {
            Ok(held) => held,
            Err(error) => {
                if self.holding {
                    tracing::warn!(%error, "lost the connection holding a single job's lock");
                } else {
                    tracing::debug!(%error, "could not ask for a single job's lock");
                }
                // A new connection next time; the old session (and any lock) ends with it.
                self.connection = None;
                self.holding = false;
                false
            }
        }
    }
}
