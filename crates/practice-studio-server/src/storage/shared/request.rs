//! request: written once for both engines; see [`super`] for how the sharing works.

/// The request storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection; the braces hold the engine's own methods of
/// [`RequestStorage`].
macro_rules! request_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty, { $($own:tt)* }) => {
        use std::str::FromStr;

        use async_trait::async_trait;
        use sqlx::Row;

        use super::{parse_ts, scopes_of, $Store};
        use crate::auth::{Role, Tier};
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

        fn bearer_from_row(row: &$Row) -> Result<BearerRecord> {
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
        impl RequestStorage for $Store {
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

            // The engine's own methods (PostgreSQL's shared rate-limit buckets).
            $($own)*
        }
    };
}
pub(crate) use request_storage;
