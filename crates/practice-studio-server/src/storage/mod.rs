//! Everything the server keeps, behind one trait so a PostgreSQL implementation can sit beside
//! the SQLite one. Handlers and the OAuth server see only [`Storage`].

mod appointments;
mod billing;
mod events;
mod fhir;
mod instances;
mod postgres;
mod records;
mod request;
mod shared;
mod sqlite;
mod v2;
mod waitlist;
mod webhooks;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use practice_studio::model::{AppointmentType, Location, Patient, PatientStatus, Provider};
use practice_studio::rules::ValidPatient;

pub use appointments::*;
pub use billing::*;
pub use events::*;
pub use fhir::*;
pub use instances::*;
pub use postgres::PgStorage;
pub use records::*;
pub use request::*;
pub use sqlite::SqliteStorage;
pub use v2::*;
pub use waitlist::*;
pub use webhooks::*;

use crate::auth::{Role, Scopes, Tier};

/// A storage failure; handlers turn it into a 500 that names no internals.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Duplicate(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// `None` for a public client (the desk).
    pub secret_hash: Option<String>,
    pub tier: Tier,
    pub rate_per_minute: u32,
    pub scopes: Scopes,
    /// Grant types it may use, e.g. `client_credentials`, `password`.
    pub grants: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    pub rate_per_minute: u32,
    pub scopes: Scopes,
    pub revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub kind: TokenKind,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scopes: Scopes,
    pub family: String,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct AuthCodeRecord {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Sort keys of the patient list; every order is total (ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientSort {
    Name,
    Dob,
    Created,
    Updated,
}

#[derive(Debug, Clone)]
pub struct PatientQuery {
    pub search: Option<String>,
    pub status: Option<PatientStatus>,
    pub updated_since: Option<DateTime<Utc>>,
    pub sort: PatientSort,
    pub descending: bool,
    pub limit: u32,
    pub offset: u64,
}

/// An `Idempotency-Key` held by a request while it runs.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
}

/// A response kept for replay.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone)]
pub enum ClaimOutcome {
    /// The key is ours: run the request.
    Claimed,
    /// The key finished before: replay this.
    Replay(StoredResponse),
    /// The key is held by a running request.
    InProgress,
    /// The key was used for another request (method, path or body).
    Mismatch,
}

/// The outcome of a change to a provider or location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClinicUpdate {
    Updated,
    NotFound,
    VersionMismatch { current: i64 },
}

/// The outcome of an update that checks the version.
#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(Box<Patient>),
    NotFound,
    VersionMismatch { current: i64 },
}

#[async_trait]
pub trait Storage:
    AppointmentStorage
    + RecordStorage
    + BillingStorage
    + EventStorage
    + WebhookStorage
    + FhirStorage
    + V2Storage
    + RequestStorage
    + WaitlistStorage
    + InstanceStorage
    + Send
    + Sync
    + 'static
{
    // --- identity ---
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>>;
    async fn insert_user(&self, user: &UserRecord) -> Result<()>;
    /// Counts a failed sign-in; locks the user until `lock_until` once `max_failures` is reached.
    async fn record_login_failure(
        &self,
        user_id: &str,
        max_failures: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<()>;
    async fn record_login_success(&self, user_id: &str) -> Result<()>;
    async fn client(&self, id: &str) -> Result<Option<ClientRecord>>;
    async fn insert_client(&self, client: &ClientRecord) -> Result<()>;
    async fn set_client_active(&self, id: &str, active: bool) -> Result<bool>;
    async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>>;
    async fn insert_api_key(
        &self,
        record: &ApiKeyRecord,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn revoke_api_key(&self, id: &str) -> Result<bool>;
    async fn insert_token(&self, hash: &str, token: &TokenRecord) -> Result<()>;
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>>;
    async fn revoke_token(&self, hash: &str) -> Result<()>;
    async fn revoke_family(&self, family: &str) -> Result<()>;
    async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64>;
    async fn insert_auth_code(&self, hash: &str, code: &AuthCodeRecord) -> Result<()>;
    /// Marks the code used and returns it, once; `None` when unknown or already used.
    async fn take_auth_code(&self, hash: &str) -> Result<Option<AuthCodeRecord>>;

    // --- idempotency ---
    #[allow(clippy::too_many_arguments)]
    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        method: &str,
        path: &str,
        body_hash: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<ClaimOutcome>;
    /// Stores the response of a request that had no effect to commit with it (errors).
    async fn finish_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<()>;
    /// Lets another request take the key (the request failed in a way worth retrying).
    async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<()>;
    async fn purge_idempotency_keys(&self, older_than: DateTime<Utc>) -> Result<u64>;

    // --- patients ---
    /// A page of patients as the JSON the server stored (summaries, or full objects when
    /// `full`), joined by commas in page order, and the total.
    async fn list_patients(&self, query: &PatientQuery, full: bool) -> Result<(u64, String)>;
    async fn patient(&self, id: &str) -> Result<Option<Patient>>;
    /// Creates the patient and, in the same transaction, stores the response for its key.
    async fn create_patient(
        &self,
        patient: &ValidPatient,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<Patient>;
    /// Replaces the patient's details if its version is still `expected_version` (when given).
    async fn update_patient(
        &self,
        id: &str,
        patient: &ValidPatient,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<UpdateOutcome>;
    /// Inserts many generated patients at once (demo data); returns how many.
    async fn bulk_insert_patients(&self, patients: &[(ValidPatient, DateTime<Utc>)])
        -> Result<u64>;
    async fn count_patients(&self) -> Result<u64>;

    // --- the clinic: locations, providers, appointment types ---
    async fn locations(&self) -> Result<Vec<Location>>;
    async fn providers(&self) -> Result<Vec<Provider>>;
    async fn appointment_types(&self) -> Result<Vec<AppointmentType>>;
    async fn insert_location(&self, location: &Location) -> Result<()>;
    async fn insert_provider(&self, provider: &Provider) -> Result<()>;
    /// Replaces a provider (version checked when `expected_version` is given) and writes
    /// `event` (`provider.updated` or `schedule.updated`) in the same transaction.
    async fn update_provider(
        &self,
        provider: &Provider,
        expected_version: Option<i64>,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<ClinicUpdate>;
    /// Replaces a location and writes `location.updated`, the same way.
    async fn update_location(
        &self,
        location: &Location,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ClinicUpdate>;
    async fn insert_appointment_type(&self, kind: &AppointmentType) -> Result<()>;
}

/// The response an idempotent create or update stores with its effect.
pub fn stored_patient_response(patient: &Patient, created: bool) -> Result<StoredResponse> {
    Ok(StoredResponse {
        status: if created { 201 } else { 200 },
        location: created.then(|| patient.links.self_.href.clone()),
        etag: Some(format!("\"{}\"", patient.version)),
        body: serde_json::to_string(patient).map_err(|e| StorageError::Corrupt(e.to_string()))?,
    })
}
