//! The [`Storage`](crate::storage::Storage) trait itself (users, clients, keys, tokens, codes,
//! idempotency keys, patients, the clinic's small tables): written once for both engines; see
//! [`super`] for how the sharing works. Claiming an idempotency key is each engine's own.

/// The storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`, `$Row` its
/// row and `$Conn` its connection; the braces hold the engine's own methods of `Storage`.
macro_rules! base_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty, { $($own:tt)* }) => {
        use std::str::FromStr;

        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use practice_studio::model::{AppointmentType, Location, Patient};
        use practice_studio::rules::ValidPatient;
        use sqlx::Row;

        use super::{
            append_event, corrupt, numbered, parse_ts, scopes_of, status_str, ts, $Store,
            FIRST_NUMBER,
        };
        use crate::auth::format_scopes;
        use crate::storage::*;

        impl $Store {
            fn user_from_row(row: &$Row) -> Result<UserRecord> {
                let locked: Option<String> = row.try_get("locked_until")?;
                Ok(UserRecord {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: Role::from_str(&row.try_get::<String, _>("role")?)
                        .map_err(StorageError::Corrupt)?,
                    password_hash: row.try_get("password_hash")?,
                    failed_logins: row.try_get("failed_logins")?,
                    locked_until: locked.as_deref().map(parse_ts).transpose()?,
                    active: row.try_get::<i64, _>("active")? != 0,
                })
            }

            /// A claim of a key that is already there: another request under it is a mismatch, a
            /// finished one is replayed, a running one is in progress until its lease runs out, and
            /// then this request takes it over.
            async fn claim_taken(
                tx: &mut $Conn,
                row: &$Row,
                claim: &IdempotencyClaim,
                (method, path, body_hash): (&str, &str, &str),
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
            ) -> Result<ClaimOutcome> {
                let outcome = {
                    let same = row.try_get::<String, _>("method")? == method
                        && row.try_get::<String, _>("path")? == path
                        && row.try_get::<String, _>("body_hash")? == body_hash;
                    let state: String = row.try_get("state")?;
                    if !same {
                        ClaimOutcome::Mismatch
                    } else if state == "done" {
                        ClaimOutcome::Replay(StoredResponse {
                            status: row.try_get::<Option<i64>, _>("status")?.unwrap_or(200) as u16,
                            location: row.try_get("location")?,
                            etag: row.try_get("etag")?,
                            body: row
                                .try_get::<Option<String>, _>("response")?
                                .unwrap_or_default(),
                        })
                    } else if parse_ts(&row.try_get::<String, _>("lease_until")?)? > now {
                        ClaimOutcome::InProgress
                    } else {
                        // The request that held it died (a crash): its effect was never committed,
                        // because effect and response commit together. This retry runs it.
                        sqlx::query(
                            "UPDATE idempotency_keys SET lease_until = $1 WHERE scope = $2 AND key = $3",
                        )
                        .bind(ts(lease_until))
                        .bind(&claim.scope)
                        .bind(&claim.key)
                        .execute(tx)
                        .await?;
                        ClaimOutcome::Claimed
                    }
                };
                Ok(outcome)
            }

            pub(super) async fn store_response_in(
                tx: &mut $Conn,
                claim: &IdempotencyClaim,
                response: &StoredResponse,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE idempotency_keys SET state = 'done', status = $1, location = $2, etag = $3, \
                     response = $4 WHERE scope = $5 AND key = $6",
                )
                .bind(response.status as i64)
                .bind(&response.location)
                .bind(&response.etag)
                .bind(&response.body)
                .bind(&claim.scope)
                .bind(&claim.key)
                .execute(tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Storage for $Store {
            async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
                let row = sqlx::query(super::dialect::USER_BY_EMAIL)
                    .bind(email)
                    .fetch_optional(&self.readers)
                    .await?;
                row.as_ref().map(Self::user_from_row).transpose()
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
                let row = sqlx::query("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?;
                row.as_ref().map(Self::user_from_row).transpose()
            }

            async fn insert_user(&self, user: &UserRecord) -> Result<()> {
                let result = sqlx::query(
                    "INSERT INTO users (id, email, name, role, password_hash, active) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&user.id)
                .bind(&user.email)
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(user.active as i64)
                .execute(&self.writer)
                .await;
                match result {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(StorageError::Duplicate(format!("user {}", user.email)))
                    }
                    other => other.map(|_| ()).map_err(Into::into),
                }
            }

            async fn record_login_failure(
                &self,
                user_id: &str,
                max_failures: i64,
                lock_until: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE users SET failed_logins = failed_logins + 1, \
                     locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
                     WHERE id = $3",
                )
                .bind(max_failures)
                .bind(ts(lock_until))
                .bind(user_id)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn record_login_success(&self, user_id: &str) -> Result<()> {
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                    .bind(user_id)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn client(&self, id: &str) -> Result<Option<ClientRecord>> {
                let Some(row) = sqlx::query("SELECT * FROM clients WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(ClientRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    secret_hash: row.try_get("secret_hash")?,
                    tier: Tier::from_str(&row.try_get::<String, _>("tier")?)
                        .map_err(StorageError::Corrupt)?,
                    rate_per_minute: row.try_get::<i64, _>("rate_per_minute")? as u32,
                    scopes: scopes_of(&row.try_get::<String, _>("scopes")?)?,
                    grants: row
                        .try_get::<String, _>("grants")?
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    active: row.try_get::<i64, _>("active")? != 0,
                }))
            }

            async fn insert_client(&self, client: &ClientRecord) -> Result<()> {
                let result = sqlx::query(
                    "INSERT INTO clients (id, name, secret_hash, tier, rate_per_minute, scopes, grants, active) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&client.id)
                .bind(&client.name)
                .bind(&client.secret_hash)
                .bind(client.tier.as_str())
                .bind(client.rate_per_minute as i64)
                .bind(format_scopes(&client.scopes))
                .bind(client.grants.join(" "))
                .bind(client.active as i64)
                .execute(&self.writer)
                .await;
                match result {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        Err(StorageError::Duplicate(format!("client {}", client.id)))
                    }
                    other => other.map(|_| ()).map_err(Into::into),
                }
            }

            async fn set_client_active(&self, id: &str, active: bool) -> Result<bool> {
                let done = sqlx::query("UPDATE clients SET active = $1 WHERE id = $2")
                    .bind(active as i64)
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                if !active {
                    sqlx::query("UPDATE tokens SET revoked = 1 WHERE client_id = $1")
                        .bind(id)
                        .execute(&self.writer)
                        .await?;
                }
                Ok(done.rows_affected() > 0)
            }

            async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
                let Some(row) = sqlx::query("SELECT * FROM api_keys WHERE key_hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.readers)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(ApiKeyRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    tier: Tier::from_str(&row.try_get::<String, _>("tier")?)
                        .map_err(StorageError::Corrupt)?,
                    rate_per_minute: row.try_get::<i64, _>("rate_per_minute")? as u32,
                    scopes: scopes_of(&row.try_get::<String, _>("scopes")?)?,
                    revoked: row.try_get::<i64, _>("revoked")? != 0,
                }))
            }

            async fn insert_api_key(
                &self,
                record: &ApiKeyRecord,
                hash: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO api_keys (id, key_hash, name, tier, rate_per_minute, scopes, revoked, created) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&record.id)
                .bind(hash)
                .bind(&record.name)
                .bind(record.tier.as_str())
                .bind(record.rate_per_minute as i64)
                .bind(format_scopes(&record.scopes))
                .bind(record.revoked as i64)
                .bind(ts(now))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn revoke_api_key(&self, id: &str) -> Result<bool> {
                let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_token(&self, hash: &str, token: &TokenRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO tokens (hash, kind, client_id, user_id, scopes, family, expires_at, revoked) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(hash)
                .bind(match token.kind {
                    TokenKind::Access => "access",
                    TokenKind::Refresh => "refresh",
                })
                .bind(&token.client_id)
                .bind(&token.user_id)
                .bind(format_scopes(&token.scopes))
                .bind(&token.family)
                .bind(ts(token.expires_at))
                .bind(token.revoked as i64)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
                let Some(row) = sqlx::query("SELECT * FROM tokens WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&self.writer)
                    .await?
                else {
                    return Ok(None);
                };
                Ok(Some(TokenRecord {
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
                }))
            }

            async fn revoke_token(&self, hash: &str) -> Result<()> {
                sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = $1")
                    .bind(hash)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn revoke_family(&self, family: &str) -> Result<()> {
                sqlx::query("UPDATE tokens SET revoked = 1 WHERE family = $1")
                    .bind(family)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64> {
                let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = $1 AND revoked = 0")
                    .bind(user_id)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn insert_auth_code(&self, hash: &str, code: &AuthCodeRecord) -> Result<()> {
                sqlx::query(
                    "INSERT INTO auth_codes (hash, client_id, user_id, redirect_uri, scopes, code_challenge, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(hash)
                .bind(&code.client_id)
                .bind(&code.user_id)
                .bind(&code.redirect_uri)
                .bind(format_scopes(&code.scopes))
                .bind(&code.code_challenge)
                .bind(ts(code.expires_at))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn take_auth_code(&self, hash: &str) -> Result<Option<AuthCodeRecord>> {
                let Some(row) =
                    sqlx::query("UPDATE auth_codes SET used = 1 WHERE hash = $1 AND used = 0 RETURNING *")
                        .bind(hash)
                        .fetch_optional(&self.writer)
                        .await?
                else {
                    return Ok(None);
                };
                Ok(Some(AuthCodeRecord {
                    client_id: row.try_get("client_id")?,
                    user_id: row.try_get("user_id")?,
                    redirect_uri: row.try_get("redirect_uri")?,
                    scopes: scopes_of(&row.try_get::<String, _>("scopes")?)?,
                    code_challenge: row.try_get("code_challenge")?,
                    expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
                }))
            }

            // The engine's own: claim_idempotency_key (see each engine's `base`).
            $($own)*

            async fn finish_idempotency_key(
                &self,
                claim: &IdempotencyClaim,
                response: &StoredResponse,
            ) -> Result<()> {
                let mut conn = self.writer.acquire().await?;
                Self::store_response_in(&mut conn, claim, response).await
            }

            async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<()> {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'running'",
                )
                .bind(&claim.scope)
                .bind(&claim.key)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn purge_idempotency_keys(&self, older_than: DateTime<Utc>) -> Result<u64> {
                let done =
                    sqlx::query("DELETE FROM idempotency_keys WHERE created < $1 AND state = 'done'")
                        .bind(ts(older_than))
                        .execute(&self.writer)
                        .await?;
                Ok(done.rows_affected())
            }

            async fn list_patients(&self, query: &PatientQuery, full: bool) -> Result<(u64, String)> {
                let mut filters: Vec<&str> = Vec::new();
                let mut binds: Vec<String> = Vec::new();
                let terms: Vec<String> = query
                    .search
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(|t| {
                        // Escape LIKE's wildcards: a search for "50%" means the characters, not a pattern.
                        let escaped = t
                            .to_lowercase()
                            .replace('\\', "\\\\")
                            .replace('%', "\\%")
                            .replace('_', "\\_");
                        format!("%{escaped}%")
                    })
                    .collect();
                for term in &terms {
                    filters.push("search_text LIKE ? ESCAPE '\\'");
                    binds.push(term.clone());
                }
                if let Some(status) = query.status {
                    filters.push("status = ?");
                    binds.push(status_str(status).to_owned());
                }
                if let Some(since) = query.updated_since {
                    filters.push("updated >= ?");
                    binds.push(ts(since));
                }
                let where_clause = if filters.is_empty() {
                    String::new()
                } else {
                    format!("WHERE {}", filters.join(" AND "))
                };
                let dir = if query.descending { "DESC" } else { "ASC" };
                let order = match query.sort {
                    PatientSort::Name => {
                        let [last, first] = super::dialect::NAME_ORDER;
                        format!("{last} {dir}, {first} {dir}, id {dir}")
                    }
                    PatientSort::Dob => format!("date_of_birth {dir}, id {dir}"),
                    // Creation order is the sequence: append-only, so paging misses nothing.
                    PatientSort::Created => format!("seq {dir}"),
                    PatientSort::Updated => format!("updated {dir}, id {dir}"),
                };
                let count_sql = numbered(&format!("SELECT COUNT(*) FROM patients {where_clause}"));
                let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
                for bind in &binds {
                    count = count.bind(bind);
                }
                let total = count.fetch_one(&self.readers).await? as u64;
                let column = if full { "body" } else { "summary" };
                // The page comes back as one string, the items joined by commas in page order: the
                // engine joins them (`string_agg` is SQLite's `group_concat` too), where fetching 100
                // rows one by one through the driver cost more than the rest of the request together.
                let page_sql = numbered(&format!(
                    "SELECT COALESCE(string_agg(item, ',' ORDER BY {order}), '') FROM \
                     (SELECT {column} AS item, last_name, first_name, id, date_of_birth, seq, updated \
                      FROM patients {where_clause} ORDER BY {order} LIMIT ? OFFSET ?) AS page"
                ));
                let mut page = sqlx::query_scalar::<_, String>(&page_sql);
                for bind in &binds {
                    page = page.bind(bind);
                }
                let items = page
                    .bind(query.limit as i64)
                    .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                    .fetch_one(&self.readers)
                    .await?;
                Ok((total, items))
            }

            async fn patient(&self, id: &str) -> Result<Option<Patient>> {
                let body = sqlx::query_scalar::<_, String>("SELECT body FROM patients WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.readers)
                    .await?;
                body.as_deref()
                    .map(crate::storage::shared::patient_from_body)
                    .transpose()
            }

            async fn create_patient(
                &self,
                valid: &ValidPatient,
                now: DateTime<Utc>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<Patient> {
                let mut tx = self.write().await?;
                let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM patients")
                    .fetch_one(&mut *tx)
                    .await?;
                let number = FIRST_NUMBER + next;
                let patient = crate::storage::shared::render_patient(
                    &format!("PAT-{number}"),
                    &format!("MRN-{}", number + 50_000),
                    valid,
                    1,
                    now,
                    now,
                );
                insert_patient_row(&mut tx, next, &patient).await?;
                append_event(&mut tx, "patient.created", "read:patients", &patient, now).await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_patient_response(&patient, true)?)
                        .await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(patient)
            }

            async fn update_patient(
                &self,
                id: &str,
                valid: &ValidPatient,
                expected_version: Option<i64>,
                now: DateTime<Utc>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<UpdateOutcome> {
                let mut tx = self.write().await?;
                let Some(row) = sqlx::query("SELECT mrn, version, created FROM patients WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(UpdateOutcome::NotFound);
                };
                let version: i64 = row.try_get("version")?;
                if expected_version.is_some_and(|expected| expected != version) {
                    return Ok(UpdateOutcome::VersionMismatch { current: version });
                }
                let created = parse_ts(&row.try_get::<String, _>("created")?)?;
                let mrn: String = row.try_get("mrn")?;
                // `updated` never goes backwards, even if the clock does.
                let patient =
                    crate::storage::shared::render_patient(id, &mrn, valid, version + 1, created, now.max(created));
                sqlx::query(
                    "UPDATE patients SET first_name = $1, last_name = $2, date_of_birth = $3, status = $4, \
                     version = $5, updated = $6, search_text = $7, body = $8, summary = $9 WHERE id = $10",
                )
                .bind(&patient.first_name)
                .bind(&patient.last_name)
                .bind(patient.date_of_birth.to_string())
                .bind(status_str(patient.status))
                .bind(patient.version)
                .bind(ts(patient.updated))
                .bind(crate::storage::shared::search_text(&patient))
                .bind(serde_json::to_string(&patient).map_err(corrupt("patient"))?)
                .bind(serde_json::to_string(&patient.summary()).map_err(corrupt("patient"))?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                append_event(
                    &mut tx,
                    "patient.updated",
                    "read:patients",
                    &patient,
                    patient.updated,
                )
                .await?;
                if let Some(claim) = idempotency {
                    Self::store_response_in(&mut tx, claim, &stored_patient_response(&patient, false)?)
                        .await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(UpdateOutcome::Updated(Box::new(patient)))
            }

            async fn bulk_insert_patients(
                &self,
                patients: &[(ValidPatient, DateTime<Utc>)],
            ) -> Result<u64> {
                let mut tx = self.write().await?;
                let mut next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM patients")
                    .fetch_one(&mut *tx)
                    .await?;
                for (valid, created) in patients {
                    let number = FIRST_NUMBER + next;
                    let patient = crate::storage::shared::render_patient(
                        &format!("PAT-{number}"),
                        &format!("MRN-{}", number + 50_000),
                        valid,
                        1,
                        *created,
                        *created,
                    );
                    insert_patient_row(&mut tx, next, &patient).await?;
                    next += 1;
                }
                tx.commit().await?;
                Ok(patients.len() as u64)
            }

            async fn count_patients(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients")
                    .fetch_one(&self.readers)
                    .await?;
                Ok(n as u64)
            }

            async fn locations(&self) -> Result<Vec<Location>> {
                self.read_all("SELECT body FROM locations ORDER BY position, id")
                    .await
            }

            async fn providers(&self) -> Result<Vec<Provider>> {
                self.read_all("SELECT body FROM providers ORDER BY position, id")
                    .await
            }

            async fn appointment_types(&self) -> Result<Vec<AppointmentType>> {
                self.read_all("SELECT body FROM appointment_types ORDER BY position, name")
                    .await
            }

            async fn insert_location(&self, location: &Location) -> Result<()> {
                self.insert_body("locations", location.id.as_str(), location)
                    .await
            }

            async fn insert_provider(&self, provider: &Provider) -> Result<()> {
                self.insert_body("providers", provider.id.as_str(), provider)
                    .await
            }

            async fn update_provider(
                &self,
                provider: &Provider,
                expected_version: Option<i64>,
                event: &str,
                now: DateTime<Utc>,
            ) -> Result<ClinicUpdate> {
                self.replace_body(
                    "providers",
                    provider.id.as_str(),
                    provider.version,
                    expected_version,
                    (event, provider),
                    now,
                )
                .await
            }

            async fn update_location(
                &self,
                location: &Location,
                expected_version: Option<i64>,
                now: DateTime<Utc>,
            ) -> Result<ClinicUpdate> {
                self.replace_body(
                    "locations",
                    location.id.as_str(),
                    location.version,
                    expected_version,
                    ("location.updated", location),
                    now,
                )
                .await
            }

            async fn insert_appointment_type(&self, kind: &AppointmentType) -> Result<()> {
                self.insert_body("appointment_types", &kind.name, kind)
                    .await
            }
        }

        impl $Store {
            async fn read_all<T: serde::de::DeserializeOwned>(&self, sql: &'static str) -> Result<Vec<T>> {
                let bodies = sqlx::query_scalar::<_, String>(sql)
                    .fetch_all(&self.readers)
                    .await?;
                bodies
                    .iter()
                    .map(|b| serde_json::from_str(b).map_err(corrupt("stored resource")))
                    .collect()
            }

            /// Replaces a provider's or location's stored body (its `version` is the new one, one more
            /// than the stored) with its event, in one transaction.
            async fn replace_body<T: serde::Serialize + Sync>(
                &self,
                table: &'static str,
                id: &str,
                new_version: i64,
                expected_version: Option<i64>,
                (event, value): (&str, &T),
                now: DateTime<Utc>,
            ) -> Result<ClinicUpdate> {
                let mut tx = self.write().await?;
                let sql = format!("SELECT body FROM {table} WHERE id = $1");
                let Some(body) = sqlx::query_scalar::<_, String>(&sql)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                else {
                    return Ok(ClinicUpdate::NotFound);
                };
                let stored: serde_json::Value =
                    serde_json::from_str(&body).map_err(corrupt("stored resource"))?;
                let current = stored["version"].as_i64().unwrap_or(0);
                if expected_version.is_some_and(|e| e != current) || new_version != current + 1 {
                    return Ok(ClinicUpdate::VersionMismatch { current });
                }
                let sql = format!("UPDATE {table} SET body = $1, updated = $2 WHERE id = $3");
                sqlx::query(&sql)
                    .bind(serde_json::to_string(value).map_err(corrupt("resource"))?)
                    .bind(ts(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                append_event(&mut tx, event, "read:providers", value, now).await?;
                tx.commit().await?;
                self.events_committed();
                Ok(ClinicUpdate::Updated)
            }

            /// Appends a resource to one of the small tables, keeping insertion order.
            async fn insert_body<T: serde::Serialize>(
                &self,
                table: &'static str,
                key: &str,
                value: &T,
            ) -> Result<()> {
                let key_column = if table == "appointment_types" {
                    "name"
                } else {
                    "id"
                };
                let sql = format!(
                    "INSERT INTO {table} ({key_column}, position, body) \
                     VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM {table}), $2)"
                );
                let body = serde_json::to_string(value).map_err(corrupt("resource"))?;
                // In a writing transaction (on PostgreSQL a locked one): two instances adding at once
                // must not take one position.
                let result = self.write_one(sqlx::query(&sql).bind(key).bind(body)).await;
                match result {
                    Err(StorageError::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                        Err(StorageError::Duplicate(format!("{table} {key}")))
                    }
                    other => other.map(|_| ()),
                }
            }
        }

        async fn insert_patient_row(
            tx: &mut $Conn,
            seq: i64,
            patient: &Patient,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO patients (seq, id, mrn, first_name, last_name, date_of_birth, status, version, \
                 created, updated, search_text, body, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(seq)
            .bind(patient.id.as_str())
            .bind(&patient.mrn)
            .bind(&patient.first_name)
            .bind(&patient.last_name)
            .bind(patient.date_of_birth.to_string())
            .bind(status_str(patient.status))
            .bind(patient.version)
            .bind(ts(patient.created))
            .bind(ts(patient.updated))
            .bind(crate::storage::shared::search_text(patient))
            .bind(serde_json::to_string(patient).map_err(corrupt("patient"))?)
            .bind(serde_json::to_string(&patient.summary()).map_err(corrupt("patient"))?)
            .execute(tx)
            .await?;
            Ok(())
        }
    };
}
pub(crate) use base_storage;
