//! events: written once for both engines; see [`super`] for how the sharing works. What differs
//! is how an event is numbered and announced (each engine's `append_event`, which calls
//! `event_body` here) and the SQL of the last number (`dialect::LAST_EVENT_SEQ`).

/// The event storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! events_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use chrono::{DateTime, Utc};
        use rand::Rng;
        use serde::Serialize;
        use sqlx::{QueryBuilder, Row};
        use tokio::sync::watch;

        use super::{corrupt, ts, $Store};
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

        /// A new event's id and its stored body. `data` is the resource as its route returns
        /// it; the request id comes from the request being served (none for background work).
        fn event_body<T: Serialize>(
            kind: &str,
            data: &T,
            at: DateTime<Utc>,
        ) -> Result<(String, String)> {
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
            Ok((id, body))
        }

        impl $Store {
            /// Wakes the feed's long polls after a commit that wrote events.
            pub(crate) fn events_committed(&self) {
                self.events.send_modify(|n| *n = n.wrapping_add(1));
            }
        }

        #[async_trait::async_trait]
        impl EventStorage for $Store {
            async fn event_epoch(&self) -> Result<String> {
                sqlx::query_scalar::<_, String>(
                    "SELECT value FROM server_meta WHERE key = 'event_epoch'",
                )
                .fetch_optional(&self.readers)
                .await?
                .ok_or_else(|| StorageError::Corrupt("the event log has no epoch".into()))
            }

            async fn event_bounds(&self) -> Result<(i64, i64)> {
                let row = sqlx::query(&format!(
                    "SELECT {} AS last, COALESCE(MIN(seq), 0) AS first FROM events",
                    super::dialect::LAST_EVENT_SEQ
                ))
                .fetch_one(&self.readers)
                .await?;
                Ok((row.try_get("last")?, row.try_get("first")?))
            }

            async fn events_after(
                &self,
                after: i64,
                limit: u32,
                scopes: &[&str],
            ) -> Result<EventPage> {
                let mut tx = self.readers.begin().await?;
                let end: i64 =
                    sqlx::query_scalar(&format!("SELECT {}", super::dialect::LAST_EVENT_SEQ))
                        .fetch_one(&mut *tx)
                        .await?;
                let mut query: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT seq, id, type, scope, body FROM events WHERE seq > ");
                query.push_bind(after);
                query.push(" AND seq <= ");
                query.push_bind(end);
                // No scope matches "" (an empty list is no valid SQL).
                query.push(" AND scope IN (");
                let mut each = query.separated(", ");
                if scopes.is_empty() {
                    each.push_bind("");
                }
                for scope in scopes {
                    each.push_bind(*scope);
                }
                query.push(") ORDER BY seq LIMIT ");
                query.push_bind(i64::from(limit));
                let rows = query.build().fetch_all(&mut *tx).await?;
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
    };
}
pub(crate) use events_storage;
