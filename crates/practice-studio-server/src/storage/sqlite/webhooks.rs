//! [`WebhookStorage`] on SQLite. The code is [`crate::storage::shared::webhooks`]'s; what is
//! SQLite's own is how due deliveries are taken.

crate::storage::shared::webhooks::webhooks_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection
);

impl SqliteStorage {
    /// The deliveries due at `now`, oldest first, with what sending them needs. Read, not
    /// claimed: one process writes a SQLite database, so one worker sends.
    async fn claim_due_rows(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<sqlx::sqlite::SqliteRow>> {
        Ok(sqlx::query(
            "SELECT d.seq, d.webhook_id, d.event_id, d.event_type, d.attempts, w.url, w.secret, \
             w.previous_secret, w.previous_until, e.body FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.seq = d.event_seq \
             WHERE d.status = 'pending' AND d.next_attempt <= $1 AND w.active = 1 \
             ORDER BY d.next_attempt, d.seq LIMIT $2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?)
    }
}
