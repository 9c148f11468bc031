//! [`Storage`] on SQLite: [`crate::storage::shared::base`]'s code, with SQLite's own claim of an
//! `Idempotency-Key` (read, then insert, on the one writer connection).

crate::storage::shared::base::base_storage!(
    SqliteStorage,
    sqlx::Sqlite,
    sqlx::sqlite::SqliteRow,
    sqlx::SqliteConnection,
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
            let mut tx = self.writer.begin().await?;
            let existing = sqlx::query(
                "SELECT method, path, body_hash, state, lease_until, status, location, etag, response \
                 FROM idempotency_keys WHERE scope = ? AND key = ?",
            )
            .bind(&claim.scope)
            .bind(&claim.key)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match existing {
                None => {
                    sqlx::query(
                        "INSERT INTO idempotency_keys (scope, key, method, path, body_hash, state, lease_until, created) \
                         VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                    )
                    .bind(&claim.scope)
                    .bind(&claim.key)
                    .bind(method)
                    .bind(path)
                    .bind(body_hash)
                    .bind(ts(lease_until))
                    .bind(ts(now))
                    .execute(&mut *tx)
                    .await?;
                    ClaimOutcome::Claimed
                }
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
