//! [`WebhookStorage`] on PostgreSQL. The code is [`crate::storage::shared::webhooks`]'s; what
//! is PostgreSQL's own is how due deliveries are claimed.

crate::storage::shared::webhooks::webhooks_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection
);

/// How long a claimed delivery is left to the worker that claimed it (longer than any
/// receiver's timeout).
const DELIVERY_LEASE: chrono::Duration = chrono::Duration::minutes(10);

impl PgStorage {
    /// The deliveries due at `now`, oldest first, with what sending them needs: claimed, not
    /// only read, since several instances run a delivery worker on one database. The rows are
    /// locked with SKIP LOCKED (a worker passes over what another is claiming) and leased by
    /// moving `next_attempt` ahead, so no other worker takes them while this one sends;
    /// recording the attempt sets the real next attempt. A worker that dies leaves its
    /// deliveries to be taken again when the lease runs out.
    async fn claim_due_rows(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<sqlx::postgres::PgRow>> {
        Ok(sqlx::query(
            "WITH due AS (SELECT d.seq, d.next_attempt FROM webhook_deliveries d \
             JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt <= $1 AND w.active = 1 \
             ORDER BY d.next_attempt, d.seq LIMIT $2 FOR UPDATE OF d SKIP LOCKED), \
             claimed AS (UPDATE webhook_deliveries d SET next_attempt = $3 FROM due \
             WHERE d.seq = due.seq RETURNING d.seq, d.webhook_id, d.event_id, d.event_type, \
             d.attempts, d.event_seq, due.next_attempt AS due_at) \
             SELECT c.seq, c.webhook_id, c.event_id, c.event_type, c.attempts, w.url, w.secret, \
             w.previous_secret, w.previous_until, e.body FROM claimed c \
             JOIN webhooks w ON w.id = c.webhook_id JOIN events e ON e.seq = c.event_seq \
             ORDER BY c.due_at, c.seq",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .bind(ts(now + DELIVERY_LEASE))
        .fetch_all(&self.writer)
        .await?)
    }
}
