//! [`EventStorage`] on SQLite, and [`append_event`], which every write that makes an event calls
//! inside its own transaction: no change without its event, no event without its change.
//! The code is [`crate::storage::shared::events`]'s but for `append_event`: SQLite numbers an
//! event itself (`AUTOINCREMENT`), and the one writer connection makes that the commit order.

crate::storage::shared::events::events_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);

/// Writes the event of a change in the change's transaction. `data` is the resource as its
/// route returns it; the request id comes from the request being served (none for background
/// work). The caller commits, then calls [`SqliteStorage::events_committed`].
pub(crate) async fn append_event<T: Serialize>(
    conn: &mut sqlx::SqliteConnection,
    kind: &str,
    scope: &str,
    data: &T,
    at: DateTime<Utc>,
) -> Result<()> {
    let (id, body) = event_body(kind, data, at)?;
    sqlx::query("INSERT INTO events (id, type, scope, created, body) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(kind)
        .bind(scope)
        .bind(ts(at))
        .bind(body)
        .execute(conn)
        .await?;
    Ok(())
}
