//! [`RequestStorage`] on PostgreSQL: both reads go to the reader pool, so authentication never
//! waits behind a write.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::{parse_ts, scopes_of, PgStorage};
use crate::auth::{Role, Tier};
use crate::ratelimit::{Decision, Rate};
use crate::storage::{
    BearerRecord, ClientRecord, Counted, RequestStorage, Result, StorageError, TokenKind,
    TokenRecord, UserRecord,
};

/// One row: the token's columns, then the client's (`c_`), then the user's (`u_`, NULL for a
/// client-credentials token or a user that is gone), then the patients' change counter.
const BEARER: &str =
    "SELECT t.kind, t.client_id, t.user_id, t.scopes, t.family, t.expires_at, t.revoked, \
    c.id AS c_id, c.name AS c_name, c.secret_hash AS c_secret_hash, c.tier AS c_tier, \
    c.rate_per_minute AS c_rate, c.scopes AS c_scopes, c.grants AS c_grants, c.active AS c_active, \
    u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, \
    u.password_hash AS u_password_hash, u.failed_logins AS u_failed_logins, \
    u.locked_until AS u_locked_until, u.active AS u_active, \
    (SELECT value FROM change_counters WHERE name = 'patients') AS patients_generation \
    FROM tokens t JOIN clients c ON c.id = t.client_id LEFT JOIN users u ON u.id = t.user_id \
    WHERE t.hash = $1";

fn bearer_from_row(row: &PgRow) -> Result<BearerRecord> {
    let token = TokenRecord {
        kind: match row.try_get::<String, _>("kind")?.as_str() {
            "access" => TokenKind::Access,
            _ => TokenKind::Refresh,
        },
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        scopes: scopes_of(&row.try_get::<String, _>("scopes")?)?,
        family: row.try_get("family")?,
        expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
    };
    let client = ClientRecord {
        id: row.try_get("c_id")?,
        name: row.try_get("c_name")?,
        secret_hash: row.try_get("c_secret_hash")?,
        tier: Tier::from_str(&row.try_get::<String, _>("c_tier")?)
            .map_err(StorageError::Corrupt)?,
        rate_per_minute: row.try_get::<i64, _>("c_rate")? as u32,
        scopes: scopes_of(&row.try_get::<String, _>("c_scopes")?)?,
        grants: row
            .try_get::<String, _>("c_grants")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        active: row.try_get::<i64, _>("c_active")? != 0,
    };
    let user = match row.try_get::<Option<String>, _>("u_id")? {
        None => None,
        Some(id) => {
            let locked: Option<String> = row.try_get("u_locked_until")?;
            Some(UserRecord {
                id,
                email: row.try_get("u_email")?,
                name: row.try_get("u_name")?,
                role: Role::from_str(&row.try_get::<String, _>("u_role")?)
                    .map_err(StorageError::Corrupt)?,
                password_hash: row.try_get("u_password_hash")?,
                failed_logins: row.try_get("u_failed_logins")?,
                locked_until: locked.as_deref().map(parse_ts).transpose()?,
                active: row.try_get::<i64, _>("u_active")? != 0,
            })
        }
    };
    Ok(BearerRecord {
        token,
        client,
        user,
        patients_generation: row.try_get("patients_generation")?,
    })
}

#[async_trait]
impl RequestStorage for PgStorage {
    async fn bearer(&self, hash: &str) -> Result<Option<BearerRecord>> {
        sqlx::query(BEARER)
            .bind(hash)
            .fetch_optional(&self.readers)
            .await?
            .as_ref()
            .map(bearer_from_row)
            .transpose()
    }

    async fn generation(&self, table: Counted) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM change_counters WHERE name = $1")
                .bind(table.as_str())
                .fetch_one(&self.readers)
                .await?,
        )
    }

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
