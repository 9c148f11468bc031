//! What nearly every API request reads: its bearer credential (with the client and user behind
//! it) and, for the cached lists, whether their table changed since a page was built.

use async_trait::async_trait;

use super::{ClientRecord, Result, TokenRecord, UserRecord};

/// A bearer token with the client it was issued to and, for a user grant, the user: what
/// authentication needs, read in one query.
#[derive(Debug, Clone)]
pub struct BearerRecord {
    pub token: TokenRecord,
    pub client: ClientRecord,
    /// `None` for a client-credentials token, and for a user token whose user no longer exists
    /// (the caller refuses that one: `token.user_id` is set).
    pub user: Option<UserRecord>,
    /// The patients table's change counter (see [`RequestStorage::generation`]), read in the
    /// same statement: a cached page of the patient list then costs no second read.
    pub patients_generation: i64,
}

/// A table whose changes are counted (see [`RequestStorage::generation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    Patients,
}

impl Counted {
    pub fn as_str(self) -> &'static str {
        match self {
            Counted::Patients => "patients",
        }
    }
}

#[async_trait]
pub trait RequestStorage {
    /// The token with this hash, its client and its user; `None` when no such token or client.
    async fn bearer(&self, hash: &str) -> Result<Option<BearerRecord>>;

    /// How many times the table has changed: bumped by every insert, update and delete, by any
    /// writer, in the writer's transaction. Equal values mean equal contents.
    async fn generation(&self, table: Counted) -> Result<i64>;

    /// Takes one request from `bucket` where the instances on this storage share their
    /// rate-limit buckets (PostgreSQL); `None` where each instance keeps its own (SQLite, which
    /// one instance serves).
    async fn shared_rate_limit(
        &self,
        _bucket: &str,
        _per_minute: u32,
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::ratelimit::Decision>> {
        Ok(None)
    }
}
