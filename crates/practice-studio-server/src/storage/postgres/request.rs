//! [`RequestStorage`] on PostgreSQL: both reads go to the reader pool, so authentication never
//! waits behind a write. The code is [`crate::storage::shared::request`]'s, with PostgreSQL's
//! own `shared_rate_limit` (the buckets every instance shares).

use crate::ratelimit::{Decision, Rate};

crate::storage::shared::request::request_storage!(
    PgStorage,
    sqlx::Postgres,
    sqlx::postgres::PgRow,
    sqlx::PgConnection,
    {
        async fn shared_rate_limit(
            &self,
            bucket: &str,
            per_minute: u32,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<Option<Decision>> {
            let rate = Rate::of(per_minute);
            let now_us = now.timestamp_micros();
            // GCRA in one atomic statement: the arrival time moves only when the request fits, and
            // the row lock orders concurrent requests from every instance.
            let moved: Option<i64> = sqlx::query_scalar(
                "INSERT INTO rate_buckets AS b (bucket, tat_us) VALUES ($1, $2 + $3) \
                 ON CONFLICT (bucket) DO UPDATE SET tat_us = GREATEST(b.tat_us, $2) + $3 \
                 WHERE GREATEST(b.tat_us, $2) + $3 - $4 <= $2 RETURNING tat_us",
            )
            .bind(bucket)
            .bind(now_us)
            .bind(rate.interval_us)
            .bind(rate.capacity_us())
            .fetch_optional(&self.writer)
            .await?;
            if let Some(new_tat) = moved {
                return Ok(Some(rate.allowed(now, new_tat)));
            }
            let tat: i64 = sqlx::query_scalar("SELECT tat_us FROM rate_buckets WHERE bucket = $1")
                .bind(bucket)
                .fetch_optional(&self.readers)
                .await?
                .unwrap_or(now_us);
            Ok(Some(rate.refused(now, tat)))
        }
    }
);
