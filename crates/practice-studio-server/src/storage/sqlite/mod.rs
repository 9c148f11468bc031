//! The SQLite implementation of [`Storage`]: WAL, one writer connection (writes serialise in
//! SQLite anyway; one connection turns lock contention into a queue), readers in a pool.
//!
//! Queries are built at run time (`sqlx::query`) rather than with the checked macros: the checked
//! macros bind a module to one engine's offline data, and the PostgreSQL implementation will sit
//! in its own module with its own.

mod appointments;
mod billing;
mod dialect;
mod events;
mod fhir;
mod records;
mod request;
mod v2;
mod waitlist;
mod webhooks;

pub(crate) use super::shared::numbered;
pub(crate) use events::append_event;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use practice_studio::model::{
    AppointmentType, Location, Patient, PatientId, PatientLinks, PatientStatus, Provider,
};
use practice_studio::rules::ValidPatient;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::*;
use crate::auth::{format_scopes, parse_scopes};

/// Sequence numbers start here, so ids and MRNs have the reference's five digits.
pub(crate) const FIRST_NUMBER: i64 = 10_000;

pub struct SqliteStorage {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Bumped after each commit that wrote events (the feed's long polls wait on it).
    events: tokio::sync::watch::Sender<u64>,
}

pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("timestamp {text:?}: {e}")))
}

pub(crate) fn status_str(status: PatientStatus) -> &'static str {
    match status {
        PatientStatus::Active => "active",
        PatientStatus::Inactive => "inactive",
        PatientStatus::Deceased => "deceased",
    }
}

pub(crate) fn scopes_of(text: &str) -> Result<Scopes> {
    parse_scopes(text).map_err(StorageError::Corrupt)
}

pub(crate) fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StorageError {
    move |e| StorageError::Corrupt(format!("{what}: {e}"))
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            writer,
            readers,
            events: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Begins a writing transaction on the one writer connection (writes queue there).
    pub(crate) async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin().await?)
    }

    fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<UserRecord> {
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

    pub(crate) fn patient_from_body(body: &str) -> Result<Patient> {
        serde_json::from_str(body).map_err(corrupt("patient body"))
    }

    pub(crate) fn render_patient(
        id: &str,
        mrn: &str,
        valid: &ValidPatient,
        version: i64,
        created: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> Patient {
        let id = PatientId(id.to_owned());
        Patient {
            links: PatientLinks::for_patient(&id),
            id,
            mrn: mrn.to_owned(),
            first_name: valid.first_name.clone(),
            last_name: valid.last_name.clone(),
            date_of_birth: valid.date_of_birth,
            gender: valid.gender,
            status: valid.status,
            contact_info: valid.contact_info.clone(),
            insurance: valid.insurance.clone(),
            emergency_contact: valid.emergency_contact.clone(),
            preferred_language: valid.preferred_language.clone(),
            preferred_pharmacy: valid.preferred_pharmacy.clone(),
            allergies: Some(valid.allergies.clone()),
            version,
            created,
            updated,
        }
    }

    pub(crate) fn search_text(patient: &Patient) -> String {
        format!(
            "{} {} {} {}",
            patient.first_name, patient.last_name, patient.id, patient.mrn
        )
        .to_lowercase()
    }

    async fn store_response_in(
        tx: &mut sqlx::SqliteConnection,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status = ?, location = ?, etag = ?, \
             response = ? WHERE scope = ? AND key = ?",
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
impl Storage for SqliteStorage {
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(Self::user_from_row).transpose()
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, name, role, password_hash, active) VALUES (?, ?, ?, ?, ?, ?)",
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
             locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END \
             WHERE id = ?",
        )
        .bind(max_failures)
        .bind(ts(lock_until))
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn record_login_success(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn client(&self, id: &str) -> Result<Option<ClientRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM clients WHERE id = ?")
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        let done = sqlx::query("UPDATE clients SET active = ? WHERE id = ?")
            .bind(active as i64)
            .bind(id)
            .execute(&self.writer)
            .await?;
        if !active {
            sqlx::query("UPDATE tokens SET revoked = 1 WHERE client_id = ?")
                .bind(id)
                .execute(&self.writer)
                .await?;
        }
        Ok(done.rows_affected() > 0)
    }

    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM api_keys WHERE key_hash = ?")
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_token(&self, hash: &str, token: &TokenRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tokens (hash, kind, client_id, user_id, scopes, family, expires_at, revoked) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        let Some(row) = sqlx::query("SELECT * FROM tokens WHERE hash = ?")
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
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = ?")
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn revoke_family(&self, family: &str) -> Result<()> {
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE family = ?")
            .bind(family)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0")
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_auth_code(&self, hash: &str, code: &AuthCodeRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO auth_codes (hash, client_id, user_id, redirect_uri, scopes, code_challenge, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            sqlx::query("UPDATE auth_codes SET used = 1 WHERE hash = ? AND used = 0 RETURNING *")
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
                        "UPDATE idempotency_keys SET lease_until = ? WHERE scope = ? AND key = ?",
                    )
                    .bind(ts(lease_until))
                    .bind(&claim.scope)
                    .bind(&claim.key)
                    .execute(&mut *tx)
                    .await?;
                    ClaimOutcome::Claimed
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

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
            "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'running'",
        )
        .bind(&claim.scope)
        .bind(&claim.key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, older_than: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created < ? AND state = 'done'")
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
                format!("last_name COLLATE NOCASE {dir}, first_name COLLATE NOCASE {dir}, id {dir}")
            }
            PatientSort::Dob => format!("date_of_birth {dir}, id {dir}"),
            // Creation order is the sequence: append-only, so paging misses nothing.
            PatientSort::Created => format!("seq {dir}"),
            PatientSort::Updated => format!("updated {dir}, id {dir}"),
        };
        let count_sql = format!("SELECT COUNT(*) FROM patients {where_clause}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for bind in &binds {
            count = count.bind(bind);
        }
        let total = count.fetch_one(&self.readers).await? as u64;
        let column = if full { "body" } else { "summary" };
        // The page comes back as one string, the items joined by commas in page order: SQLite
        // joins them in C, where fetching 100 rows one by one through the driver cost more than
        // the rest of the request together.
        let page_sql = format!(
            "SELECT COALESCE(group_concat(item, ',' ORDER BY {order}), '') FROM \
             (SELECT {column} AS item, last_name, first_name, id, date_of_birth, seq, updated \
              FROM patients {where_clause} ORDER BY {order} LIMIT ? OFFSET ?)"
        );
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
        let body = sqlx::query_scalar::<_, String>("SELECT body FROM patients WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        body.as_deref().map(Self::patient_from_body).transpose()
    }

    async fn create_patient(
        &self,
        valid: &ValidPatient,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<Patient> {
        let mut tx = self.writer.begin().await?;
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM patients")
            .fetch_one(&mut *tx)
            .await?;
        let number = FIRST_NUMBER + next;
        let patient = Self::render_patient(
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
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query("SELECT mrn, version, created FROM patients WHERE id = ?")
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
        let patient = Self::render_patient(id, &mrn, valid, version + 1, created, now.max(created));
        sqlx::query(
            "UPDATE patients SET first_name = ?, last_name = ?, date_of_birth = ?, status = ?, \
             version = ?, updated = ?, search_text = ?, body = ?, summary = ? WHERE id = ?",
        )
        .bind(&patient.first_name)
        .bind(&patient.last_name)
        .bind(patient.date_of_birth.to_string())
        .bind(status_str(patient.status))
        .bind(patient.version)
        .bind(ts(patient.updated))
        .bind(Self::search_text(&patient))
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
        let mut tx = self.writer.begin().await?;
        let mut next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM patients")
            .fetch_one(&mut *tx)
            .await?;
        for (valid, created) in patients {
            let number = FIRST_NUMBER + next;
            let patient = Self::render_patient(
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

impl SqliteStorage {
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
        let mut tx = self.writer.begin().await?;
        let sql = format!("SELECT body FROM {table} WHERE id = ?");
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
        let sql = format!("UPDATE {table} SET body = ?, updated = ? WHERE id = ?");
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
             VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM {table}), ?)"
        );
        let result = sqlx::query(&sql)
            .bind(key)
            .bind(serde_json::to_string(value).map_err(corrupt("resource"))?)
            .execute(&self.writer)
            .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StorageError::Duplicate(format!("{table} {key}")))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }
}

async fn insert_patient_row(
    tx: &mut sqlx::SqliteConnection,
    seq: i64,
    patient: &Patient,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO patients (seq, id, mrn, first_name, last_name, date_of_birth, status, version, \
         created, updated, search_text, body, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(SqliteStorage::search_text(patient))
    .bind(serde_json::to_string(patient).map_err(corrupt("patient"))?)
    .bind(serde_json::to_string(&patient.summary()).map_err(corrupt("patient"))?)
    .execute(tx)
    .await?;
    Ok(())
}
