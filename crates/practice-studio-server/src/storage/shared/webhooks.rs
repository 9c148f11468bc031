//! webhooks: written once for both engines; see [`super`] for how the sharing works.

/// The webhooks storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! webhooks_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use chrono::{DateTime, Utc};
        use sqlx::Row;

        use super::{corrupt, parse_ts, scopes_of, ts, $Store};
        use crate::auth::format_scopes;
        use crate::storage::{
            AttemptOutcome, DeliveryRecord, DueDelivery, Result, WebhookRecord, WebhookStorage,
        };



        fn optional_ts(text: Option<String>) -> Result<Option<DateTime<Utc>>> {
            text.as_deref().map(parse_ts).transpose()
        }

        pub(super) fn delivery_from_row(row: &$Row) -> Result<DeliveryRecord> {
            let status: String = row.try_get("status")?;
            Ok(DeliveryRecord {
                seq: row.try_get("seq")?,
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("event_type")?,
                next_attempt: if status == "pending" {
                    Some(parse_ts(&row.try_get::<String, _>("next_attempt")?)?)
                } else {
                    None
                },
                status,
                attempts: row.try_get("attempts")?,
                last_attempt: optional_ts(row.try_get("last_attempt")?)?,
                last_status: row.try_get("last_status")?,
                last_error: row.try_get("last_error")?,
                created: parse_ts(&row.try_get::<String, _>("created")?)?,
            })
        }

        pub(super) fn webhook_from_row(row: &$Row) -> Result<WebhookRecord> {
            Ok(WebhookRecord {
                id: row.try_get("id")?,
                url: row.try_get("url")?,
                events: serde_json::from_str(&row.try_get::<String, _>("events")?)
                    .map_err(corrupt("webhook events"))?,
                secret: row.try_get("secret")?,
                previous_secret: row.try_get("previous_secret")?,
                previous_until: optional_ts(row.try_get("previous_until")?)?,
                owner: row.try_get("owner")?,
                scopes: scopes_of(&row.try_get::<String, _>("scopes")?)?,
                active: row.try_get::<i64, _>("active")? != 0,
                disabled_reason: row.try_get("disabled_reason")?,
                failing_since: optional_ts(row.try_get("failing_since")?)?,
                from_seq: row.try_get("from_seq")?,
                created: parse_ts(&row.try_get::<String, _>("created")?)?,
            })
        }

        #[async_trait::async_trait]
        impl WebhookStorage for $Store {
            async fn insert_webhook(&self, webhook: &WebhookRecord) -> Result<()> {
                let mut tx = self.write().await?;
                // The next number of the v2 list's order, in the same transaction as the row.
                let seq: i64 = sqlx::query_scalar(super::dialect::NEXT_WEBHOOK_SEQ)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(&format!(
                    "INSERT INTO webhooks (id, url, events, secret, owner, scopes, active, from_seq, created, seq) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1, {}, $7, $8)",
                    super::dialect::LAST_EVENT_SEQ
                ))
                .bind(&webhook.id)
                .bind(&webhook.url)
                .bind(serde_json::to_string(&webhook.events).map_err(corrupt("webhook events"))?)
                .bind(&webhook.secret)
                .bind(&webhook.owner)
                .bind(format_scopes(&webhook.scopes))
                .bind(ts(webhook.created))
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
                let rows = sqlx::query("SELECT * FROM webhooks ORDER BY created, id")
                    .fetch_all(&self.readers)
                    .await?;
                rows.iter().map(webhook_from_row).collect()
            }

            async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>> {
                let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?;
                row.as_ref().map(webhook_from_row).transpose()
            }

            async fn delete_webhook(&self, id: &str) -> Result<bool> {
                let mut tx = self.write().await?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn rotate_webhook_secret(
                &self,
                id: &str,
                secret: &str,
                previous_until: DateTime<Utc>,
            ) -> Result<Option<WebhookRecord>> {
                let done = sqlx::query(
                    "UPDATE webhooks SET previous_secret = secret, previous_until = $1, secret = $2 WHERE id = $3",
                )
                .bind(ts(previous_until))
                .bind(secret)
                .bind(id)
                .execute(&self.writer)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.writer)
                    .await?;
                webhook_from_row(&row).map(Some)
            }

            async fn webhook_deliveries(&self, id: &str, limit: u32) -> Result<Vec<DeliveryRecord>> {
                let rows = sqlx::query(
                    "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY seq DESC LIMIT $2",
                )
                .bind(id)
                .bind(i64::from(limit))
                .fetch_all(&self.readers)
                .await?;
                rows.iter().map(delivery_from_row).collect()
            }

            async fn dispatch_events(&self, limit: u32, now: DateTime<Utc>) -> Result<usize> {
                let mut tx = self.write().await?;
                let cursor: i64 = sqlx::query_scalar::<_, String>(
                    "SELECT value FROM server_meta WHERE key = 'webhook_cursor'",
                )
                .fetch_one(&mut *tx)
                .await?
                .parse()
                .map_err(corrupt("webhook cursor"))?;
                let events = sqlx::query(
                    "SELECT seq, id, type, scope FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(cursor)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let Some(last) = events.last() else {
                    return Ok(0);
                };
                let last: i64 = last.try_get("seq")?;
                let subscriptions = sqlx::query("SELECT * FROM webhooks WHERE active = 1")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(webhook_from_row)
                    .collect::<Result<Vec<_>>>()?;
                for event in &events {
                    let seq: i64 = event.try_get("seq")?;
                    let kind: String = event.try_get("type")?;
                    let scope: String = event.try_get("scope")?;
                    for webhook in &subscriptions {
                        let wanted = seq > webhook.from_seq
                            && webhook.events.iter().any(|e| e == &kind)
                            && webhook.scopes.iter().any(|s| s.as_str() == scope);
                        if !wanted {
                            continue;
                        }
                        sqlx::query(
                            "INSERT INTO webhook_deliveries (webhook_id, event_seq, event_id, event_type, \
                             status, next_attempt, created) VALUES ($1, $2, $3, $4, 'pending', $5, $6) \
                             ON CONFLICT (webhook_id, event_seq) DO NOTHING",
                        )
                        .bind(&webhook.id)
                        .bind(seq)
                        .bind(event.try_get::<String, _>("id")?)
                        .bind(&kind)
                        .bind(ts(now))
                        .bind(ts(now))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                sqlx::query("UPDATE server_meta SET value = $1 WHERE key = 'webhook_cursor'")
                    .bind(last.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(events.len())
            }

            async fn due_deliveries(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueDelivery>> {
                // Which rows, and how they are taken, is the engine's (`claim_due_rows`): several
                // PostgreSQL instances may run a worker on one database.
                let rows = self.claim_due_rows(now, limit).await?;
                rows.iter()
                    .map(|row| {
                        let mut secrets = vec![row.try_get::<String, _>("secret")?];
                        let previous: Option<String> = row.try_get("previous_secret")?;
                        let until = optional_ts(row.try_get("previous_until")?)?;
                        if let (Some(previous), Some(until)) = (previous, until) {
                            if until > now {
                                secrets.push(previous);
                            }
                        }
                        Ok(DueDelivery {
                            seq: row.try_get("seq")?,
                            webhook_id: row.try_get("webhook_id")?,
                            url: row.try_get("url")?,
                            secrets,
                            event_id: row.try_get("event_id")?,
                            event_type: row.try_get("event_type")?,
                            body: row.try_get("body")?,
                            attempts: row.try_get("attempts")?,
                        })
                    })
                    .collect()
            }

            async fn record_delivery_attempt(
                &self,
                delivery: &DueDelivery,
                outcome: &AttemptOutcome,
                now: DateTime<Utc>,
                disable_after: chrono::Duration,
            ) -> Result<()> {
                let mut tx = self.write().await?;
                match outcome {
                    AttemptOutcome::Delivered { status } => {
                        sqlx::query(
                            "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, \
                             last_attempt = $1, last_status = $2, last_error = NULL WHERE seq = $3",
                        )
                        .bind(ts(now))
                        .bind(i64::from(*status))
                        .bind(delivery.seq)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1")
                            .bind(&delivery.webhook_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    AttemptOutcome::Failed {
                        status,
                        error,
                        next_attempt,
                    } => {
                        sqlx::query(
                            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt = $1, \
                             last_status = $2, last_error = $3, next_attempt = $4 WHERE seq = $5",
                        )
                        .bind(ts(now))
                        .bind(status.map(i64::from))
                        .bind(error)
                        .bind(ts(*next_attempt))
                        .bind(delivery.seq)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE webhooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
                        )
                        .bind(ts(now))
                        .bind(&delivery.webhook_id)
                        .execute(&mut *tx)
                        .await?;
                        let since: Option<String> =
                            sqlx::query_scalar("SELECT failing_since FROM webhooks WHERE id = $1")
                                .bind(&delivery.webhook_id)
                                .fetch_optional(&mut *tx)
                                .await?
                                .flatten();
                        if let Some(since) = optional_ts(since)? {
                            if now - since >= disable_after {
                                let reason = format!(
                                    "disabled after failing since {}: {error}",
                                    since.to_rfc3339()
                                );
                                sqlx::query(
                                    "UPDATE webhooks SET active = 0, disabled_reason = $1 WHERE id = $2",
                                )
                                .bind(reason)
                                .bind(&delivery.webhook_id)
                                .execute(&mut *tx)
                                .await?;
                                sqlx::query(
                                    "UPDATE webhook_deliveries SET status = 'abandoned' \
                                     WHERE webhook_id = $1 AND status = 'pending'",
                                )
                                .bind(&delivery.webhook_id)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use webhooks_storage;
