//! [`EventStorage`] on PostgreSQL, and [`append_event`], which every write that makes an event calls
//! inside its own transaction: no change without its event, no event without its change.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::watch;

use super::{corrupt, ts, PgStorage};
use crate::storage::{EventPage, EventStorage, Result, StorageError, StoredEvent};

/// An event's wire shape: the reference's payload plus `id` and `requestId`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a, T: Serialize> {
    id: &'a str,
    event: &'a str,
    timestamp: DateTime<Utc>,
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

/// Writes the event of a change in the change's transaction. `data` is the resource as its
/// route returns it; the request id comes from the request being served (none for background
/// work). The caller commits, then calls [`PgStorage::events_committed`].
pub(crate) async fn append_event<T: Serialize>(
    conn: &mut sqlx::PgConnection,
    kind: &str,
    scope: &str,
    data: &T,
    at: DateTime<Utc>,
) -> Result<()> {
    let id = format!("EVT-{:032x}", rand::rng().random::<u128>());
    let request_id = Some(crate::error::current_request_id()).filter(|r| !r.is_empty());
    let body = serde_json::to_string(&Payload {
        id: &id,
        event: kind,
        timestamp: at,
        data,
        request_id,
    })
    .map_err(corrupt("event"))?;
    // The next number in commit order: the caller's transaction holds the writers' lock until it
    // commits (see the module's documentation), so numbers become visible in order. The
    // notification is delivered at commit, to every instance's listener.
    sqlx::query(
        "WITH next AS (UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value), \
         added AS (INSERT INTO events (seq, id, type, scope, created, body) \
         SELECT value, $1, $2, $3, $4, $5 FROM next RETURNING seq) \
         SELECT pg_notify($6, '') FROM added",
    )
    .bind(&id)
    .bind(kind)
    .bind(scope)
    .bind(ts(at))
    .bind(body)
    .bind(super::EVENTS_CHANNEL)
    .execute(conn)
    .await?;
    Ok(())
}

impl PgStorage {
    /// Wakes the feed's long polls after a commit that wrote events.
    pub(crate) fn events_committed(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait::async_trait]
impl EventStorage for PgStorage {
    async fn event_epoch(&self) -> Result<String> {
        sqlx::query_scalar::<_, String>("SELECT value FROM server_meta WHERE key = 'event_epoch'")
            .fetch_optional(&self.readers)
            .await?
            .ok_or_else(|| StorageError::Corrupt("the event log has no epoch".into()))
    }

    async fn event_bounds(&self) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT value FROM counters WHERE name = 'events') AS last, \
             COALESCE(MIN(seq), 0) AS first FROM events",
        )
        .fetch_one(&self.readers)
        .await?;
        Ok((row.try_get("last")?, row.try_get("first")?))
    }

    async fn events_after(&self, after: i64, limit: u32, scopes: &[&str]) -> Result<EventPage> {
        let mut tx = self.readers.begin().await?;
        let end: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'events'")
            .fetch_one(&mut *tx)
            .await?;
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let query = sqlx::query(
            "SELECT seq, id, type, scope, body FROM events WHERE seq > $1 AND seq <= $2 \
             AND scope = ANY($3) ORDER BY seq LIMIT $4",
        )
        .bind(after)
        .bind(end)
        .bind(scopes);
        let rows = query.bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(StoredEvent {
                    seq: row.try_get("seq")?,
                    id: row.try_get("id")?,
                    kind: row.try_get("type")?,
                    scope: row.try_get("scope")?,
                    body: row.try_get("body")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let reached = match events.last() {
            Some(last) if events.len() == limit as usize => last.seq,
            _ => end.max(after),
        };
        Ok(EventPage { events, reached })
    }

    fn watch_events(&self) -> watch::Receiver<u64> {
        self.events.subscribe()
    }

    async fn purge_events(&self, older_than: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM events WHERE created < $1")
            .bind(ts(older_than))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
