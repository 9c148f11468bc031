//! [`EventStorage`] on PostgreSQL, and [`append_event`], which every write that makes an event calls
//! inside its own transaction: no change without its event, no event without its change.
//! The code is [`crate::storage::shared::events`]'s but for `append_event`: the number in commit
//! order from the `events` counter, and the `NOTIFY` that wakes every instance.

crate::storage::shared::events::events_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);

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
    let (id, body) = event_body(kind, data, at)?;
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
