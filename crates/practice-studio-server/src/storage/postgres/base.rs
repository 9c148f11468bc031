//! [`Storage`] on PostgreSQL: [`crate::storage::shared::base`]'s code, with PostgreSQL's own
//! claim of an `Idempotency-Key` (an `INSERT … ON CONFLICT DO NOTHING` without the writers' lock,
//! then the row locked `FOR UPDATE`).

crate::storage::shared::base::base_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection,
    {
        async fn claim_idempotency_key(
            &self,
            claim: &IdempotencyClaim,
            method: &str,
            path: &str,
            body_hash: &str,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<ClaimOutcome> {
            // Claimed atomically without the writers' lock: the insert takes the key or finds it
            // taken, whichever instance asks at the same moment; the row lock of the read below
            // orders the rest (a finished response, or a lease that ran out) between claimants.
            let mut tx = self.writer.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, method, path, body_hash, state, lease_until, created) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, $7) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(&claim.scope)
            .bind(&claim.key)
            .bind(method)
            .bind(path)
            .bind(body_hash)
            .bind(ts(lease_until))
            .bind(ts(now))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            let existing = if inserted {
                None
            } else {
                sqlx::query(
                    "SELECT method, path, body_hash, state, lease_until, status, location, etag, response \
                     FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE",
                )
                .bind(&claim.scope)
                .bind(&claim.key)
                .fetch_optional(&mut *tx)
                .await?
            };
            let outcome = match existing {
                // Ours, or released between the insert and the read (take it on the next try).
                None if inserted => ClaimOutcome::Claimed,
                None => ClaimOutcome::InProgress,
                Some(row) => {
                    Self::claim_taken(
                        &mut tx,
                        &row,
                        claim,
                        (method, path, body_hash),
                        now,
                        lease_until,
                    )
                    .await?
                }
            };
            tx.commit().await?;
            Ok(outcome)
        }
    }
);
