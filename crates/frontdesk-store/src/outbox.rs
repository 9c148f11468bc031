//! The outbox: writes made on this desk, waiting to be sent, and the conflicts the server
//! refused. Nothing here is ever dropped silently: an entry is sent, or it becomes a conflict.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Sqlite, Transaction};

use crate::appointments::release_unclaimed_holds_in;
use crate::error::{query, CacheError};
use crate::sync::release_unclaimed_patient_holds_in;
use crate::Store;

/// What kind of thing an outbox entry changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Patient,
    Appointment,
    Payment,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Appointment => "appointment",
            Self::Payment => "payment",
        }
    }

    fn parse(seq: i64, s: &str) -> Result<Self, CacheError> {
        match s {
            "patient" => Ok(Self::Patient),
            "appointment" => Ok(Self::Appointment),
            "payment" => Ok(Self::Payment),
            other => Err(corrupt(seq, "entity_kind", other)),
        }
    }
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not yet accepted by the server.
    Pending,
    /// Accepted; kept so a late event carrying its request id is recognised as ours.
    Sent,
    /// Refused; see the conflict list.
    Conflict,
}

impl OutboxState {
    fn parse(seq: i64, s: &str) -> Result<Self, CacheError> {
        match s {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "conflict" => Ok(Self::Conflict),
            other => Err(corrupt(seq, "state", other)),
        }
    }
}

fn corrupt(seq: i64, field: &'static str, value: &str) -> CacheError {
    CacheError::CorruptField {
        what: "outbox entry",
        id: seq.to_string(),
        field,
        value: value.to_owned(),
    }
}

/// A write to queue for the server.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxEntry {
    /// Sent as `Idempotency-Key`; the same key on a resend makes the server replay its answer.
    pub idempotency_key: String,
    /// Sent as `X-Request-ID`; events caused by the write carry it back.
    pub request_id: String,
    /// The user who made the change (shown on the conflict list, and whose credentials send it).
    pub author: String,
    pub entity_kind: EntityKind,
    pub entity_id: String,
    /// What to do, in the core's words (`create`, `update`, `cancel`, `check_in`…).
    pub operation: String,
    /// The request body.
    pub payload: serde_json::Value,
    /// The entity's version this change is based on (sent as `If-Match`). When an earlier entry
    /// of the same entity is still pending, the store drops it: the entry then chains on the
    /// version the server answers to that earlier one.
    pub base_version: Option<i64>,
    /// Other entities (`kind:id`, see [`entity_key`]) this entry waits for.
    pub refs: Vec<String>,
}

/// `kind:id`, how [`NewOutboxEntry::refs`] names an entity.
pub fn entity_key(kind: EntityKind, id: &str) -> String {
    format!("{}:{id}", kind.as_str())
}

/// A queued write.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Order of the writes on this desk.
    pub seq: i64,
    pub idempotency_key: String,
    pub request_id: String,
    pub author: String,
    pub entity_kind: EntityKind,
    pub entity_id: String,
    pub operation: String,
    pub payload: serde_json::Value,
    /// See [`NewOutboxEntry::base_version`]; `None` chains on the previous entry's answer.
    pub base_version: Option<i64>,
    pub refs: Vec<String>,
    /// For a sent entry: the entity's id and version in the server's answer.
    pub answer_id: Option<String>,
    pub answer_version: Option<i64>,
    pub state: OutboxState,
    /// How many times sending was tried.
    pub attempts: i64,
    pub created: DateTime<Utc>,
}

/// Why the server refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// 403: the author's role may not do this.
    Forbidden,
    /// 404 / 410: deleted elsewhere.
    Gone,
    /// 409: a clash or a stale version; the server's current data is kept beside ours.
    Clash,
    /// 400 / 422: the server's validation said no.
    Invalid,
    /// Anything else (including an answer that never became readable).
    Other,
}

impl ConflictKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Gone => "gone",
            Self::Clash => "clash",
            Self::Invalid => "invalid",
            Self::Other => "other",
        }
    }

    fn parse(id: i64, s: &str) -> Result<Self, CacheError> {
        match s {
            "forbidden" => Ok(Self::Forbidden),
            "gone" => Ok(Self::Gone),
            "clash" => Ok(Self::Clash),
            "invalid" => Ok(Self::Invalid),
            "other" => Ok(Self::Other),
            other => Err(CacheError::CorruptField {
                what: "conflict",
                id: id.to_string(),
                field: "kind",
                value: other.to_owned(),
            }),
        }
    }
}

/// What the server answered when it refused a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub kind: ConflictKind,
    /// For a person: what happened.
    pub message: String,
    pub server_status: Option<u16>,
    /// The server's body (its error details, or its current version of the entity).
    pub server_body: Option<serde_json::Value>,
}

/// A refused write waiting for a person to resolve it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub id: i64,
    pub entry: OutboxEntry,
    pub refusal: Refusal,
    pub created: DateTime<Utc>,
    /// For a resolved conflict: how (`discarded`, `took_theirs`, `retried`) and by whom.
    pub resolution: Option<(String, String)>,
}

struct EntryRow {
    seq: i64,
    idempotency_key: String,
    request_id: String,
    author: String,
    entity_kind: String,
    entity_id: String,
    operation: String,
    payload: String,
    base_version: Option<i64>,
    refs: String,
    answer_id: Option<String>,
    answer_version: Option<i64>,
    state: String,
    attempts: i64,
    created: String,
}

impl EntryRow {
    fn into_entry(self) -> Result<OutboxEntry, CacheError> {
        let seq = self.seq;
        Ok(OutboxEntry {
            seq,
            idempotency_key: self.idempotency_key,
            request_id: self.request_id,
            author: self.author,
            entity_kind: EntityKind::parse(seq, &self.entity_kind)?,
            entity_id: self.entity_id,
            operation: self.operation,
            payload: serde_json::from_str(&self.payload).map_err(|source| CacheError::Corrupt {
                what: "outbox entry",
                id: seq.to_string(),
                source,
            })?,
            base_version: self.base_version,
            refs: serde_json::from_str(&self.refs).map_err(|source| CacheError::Corrupt {
                what: "outbox entry",
                id: seq.to_string(),
                source,
            })?,
            answer_id: self.answer_id,
            answer_version: self.answer_version,
            state: OutboxState::parse(seq, &self.state)?,
            attempts: self.attempts,
            created: parse_time("outbox entry", seq, "created", &self.created)?,
        })
    }
}

fn parse_time(
    what: &'static str,
    id: i64,
    field: &'static str,
    s: &str,
) -> Result<DateTime<Utc>, CacheError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| CacheError::CorruptField {
            what,
            id: id.to_string(),
            field,
            value: s.to_owned(),
        })
}

/// One entry by its place in the queue.
pub(crate) async fn entry(
    readers: &sqlx::SqlitePool,
    seq: i64,
) -> Result<Option<OutboxEntry>, CacheError> {
    sqlx::query_as!(
        EntryRow,
        r#"SELECT seq AS "seq!: i64", idempotency_key, request_id, author, entity_kind,
               entity_id, operation, payload, base_version, refs, answer_id, answer_version,
               state, attempts, created
           FROM outbox WHERE seq = ?1"#,
        seq
    )
    .fetch_optional(readers)
    .await
    .map_err(query("read an outbox entry"))?
    .map(EntryRow::into_entry)
    .transpose()
}

impl Store {
    /// Queues a write. When this returns, the entry is on disk (synchronous=FULL commit).
    pub async fn enqueue(&self, entry: &NewOutboxEntry) -> Result<OutboxEntry, CacheError> {
        let mut tx = self.begin_write("enqueue a write").await?;
        let stored = Self::enqueue_in(&mut tx, entry).await?;
        tx.commit().await.map_err(query("enqueue a write"))?;
        Ok(stored)
    }

    /// Queues a write inside a larger transaction (the local change and its entry together).
    pub(crate) async fn enqueue_in(
        tx: &mut Transaction<'static, Sqlite>,
        entry: &NewOutboxEntry,
    ) -> Result<OutboxEntry, CacheError> {
        let now = Utc::now();
        let created = now.to_rfc3339();
        let kind = entry.entity_kind.as_str();
        let payload =
            serde_json::to_string(&entry.payload).map_err(|source| CacheError::Encode {
                what: "outbox entry",
                id: entry.idempotency_key.clone(),
                source,
            })?;
        let refs = serde_json::to_string(&entry.refs).map_err(|source| CacheError::Encode {
            what: "outbox entry",
            id: entry.idempotency_key.clone(),
            source,
        })?;
        // An earlier entry of this entity still waiting: chain on its answer instead.
        let earlier = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!: i64" FROM outbox
               WHERE entity_kind = ?1 AND entity_id = ?2 AND (state = 'pending'
                   OR seq IN (SELECT outbox_seq FROM conflicts WHERE resolved IS NULL))"#,
            kind,
            entry.entity_id
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(query("enqueue a write"))?;
        let base_version = if earlier > 0 {
            None
        } else {
            entry.base_version
        };
        let seq = sqlx::query_scalar!(
            r#"INSERT INTO outbox (idempotency_key, request_id, author, entity_kind, entity_id,
                   operation, payload, base_version, refs, state, created, updated)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10)
               RETURNING seq AS "seq!: i64""#,
            entry.idempotency_key,
            entry.request_id,
            entry.author,
            kind,
            entry.entity_id,
            entry.operation,
            payload,
            base_version,
            refs,
            created
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(|source| match &source {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                CacheError::DuplicateIdempotencyKey {
                    key: entry.idempotency_key.clone(),
                }
            }
            _ => CacheError::Query {
                operation: "enqueue a write",
                source,
            },
        })?;
        Ok(OutboxEntry {
            seq,
            idempotency_key: entry.idempotency_key.clone(),
            request_id: entry.request_id.clone(),
            author: entry.author.clone(),
            entity_kind: entry.entity_kind,
            entity_id: entry.entity_id.clone(),
            operation: entry.operation.clone(),
            payload: entry.payload.clone(),
            base_version,
            refs: entry.refs.clone(),
            answer_id: None,
            answer_version: None,
            state: OutboxState::Pending,
            attempts: 0,
            created: now,
        })
    }

    /// Pending entries, oldest first (the order they must be sent in).
    pub async fn pending_writes(&self, limit: u32) -> Result<Vec<OutboxEntry>, CacheError> {
        let limit = i64::from(limit);
        sqlx::query_as!(
            EntryRow,
            r#"SELECT seq AS "seq!: i64", idempotency_key, request_id, author, entity_kind,
                   entity_id, operation, payload, base_version, refs, answer_id, answer_version,
                   state, attempts, created
               FROM outbox WHERE state = 'pending' ORDER BY seq LIMIT ?1"#,
            limit
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("list pending writes"))?
        .into_iter()
        .map(EntryRow::into_entry)
        .collect()
    }

    /// How many writes wait to be sent.
    pub async fn pending_count(&self) -> Result<i64, CacheError> {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM outbox WHERE state = 'pending'"#)
            .fetch_one(&self.readers)
            .await
            .map_err(query("count pending writes"))
    }

    /// Counts a send attempt that will be retried (network error, 429, 503…).
    pub async fn record_attempt(&self, seq: i64) -> Result<(), CacheError> {
        let mut tx = self.begin_write("record a send attempt").await?;
        let now = Utc::now().to_rfc3339();
        let done = sqlx::query!(
            "UPDATE outbox SET attempts = attempts + 1, updated = ?2
             WHERE seq = ?1 AND state = 'pending'",
            seq,
            now
        )
        .execute(&mut *tx)
        .await
        .map_err(query("record a send attempt"))?;
        if done.rows_affected() == 0 {
            return Err(CacheError::NotPending { seq });
        }
        tx.commit().await.map_err(query("record a send attempt"))
    }

    /// Marks a pending entry as accepted by the server.
    pub async fn mark_sent(&self, seq: i64) -> Result<(), CacheError> {
        let mut tx = self.begin_write("mark a write sent").await?;
        let now = Utc::now().to_rfc3339();
        let done = sqlx::query!(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, updated = ?2
             WHERE seq = ?1 AND state = 'pending'",
            seq,
            now
        )
        .execute(&mut *tx)
        .await
        .map_err(query("mark a write sent"))?;
        if done.rows_affected() == 0 {
            return Err(CacheError::NotPending { seq });
        }
        tx.commit().await.map_err(query("mark a write sent"))
    }

    /// Moves a pending entry to the conflict list, with the server's answer, in one transaction.
    pub async fn move_to_conflicts(&self, seq: i64, refusal: &Refusal) -> Result<i64, CacheError> {
        let mut tx = self.begin_write("move a write to the conflicts").await?;
        let now = Utc::now().to_rfc3339();
        let done = sqlx::query!(
            "UPDATE outbox SET state = 'conflict', updated = ?2 WHERE seq = ?1 AND state = 'pending'",
            seq,
            now
        )
        .execute(&mut *tx)
        .await
        .map_err(query("move a write to the conflicts"))?;
        if done.rows_affected() == 0 {
            return Err(CacheError::NotPending { seq });
        }
        let kind = refusal.kind.as_str();
        let status = refusal.server_status.map(i64::from);
        let body = refusal
            .server_body
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|source| CacheError::Encode {
                what: "conflict",
                id: seq.to_string(),
                source,
            })?;
        let id = sqlx::query_scalar!(
            r#"INSERT INTO conflicts (outbox_seq, kind, message, server_status, server_body, created)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id AS "id!: i64""#,
            seq,
            kind,
            refusal.message,
            status,
            body,
            now
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query("move a write to the conflicts"))?;
        release_unclaimed_holds_in(&mut tx).await?;
        release_unclaimed_patient_holds_in(&mut tx).await?;
        tx.commit()
            .await
            .map_err(query("move a write to the conflicts"))?;
        tracing::info!(seq, kind, "write moved to the conflict list");
        Ok(id)
    }

    /// The conflict list (refused changes no one has resolved yet), oldest first.
    pub async fn conflicts(&self) -> Result<Vec<Conflict>, CacheError> {
        self.conflicts_where(false, i64::MAX).await
    }

    /// Resolved conflicts, newest first: what was decided about each refused change, and the
    /// changes that went with a discarded one (with the reason).
    pub async fn resolved_conflicts(&self, limit: u32) -> Result<Vec<Conflict>, CacheError> {
        self.conflicts_where(true, i64::from(limit)).await
    }

    async fn conflicts_where(
        &self,
        resolved: bool,
        limit: i64,
    ) -> Result<Vec<Conflict>, CacheError> {
        let rows = sqlx::query!(
            r#"SELECT c.id AS "id!: i64", c.kind, c.message, c.server_status, c.server_body,
                   c.created AS "conflict_created!: String", c.resolution, c.resolved_by,
                   o.seq AS "seq!: i64", o.idempotency_key, o.request_id, o.author, o.entity_kind,
                   o.entity_id, o.operation, o.payload, o.base_version, o.refs, o.answer_id,
                   o.answer_version, o.state, o.attempts, o.created
               FROM conflicts c JOIN outbox o ON o.seq = c.outbox_seq
               WHERE (c.resolved IS NOT NULL) = ?1
               ORDER BY CASE WHEN ?1 THEN -c.id ELSE c.id END LIMIT ?2"#,
            resolved,
            limit
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("list conflicts"))?;
        rows.into_iter()
            .map(|r| {
                let entry = EntryRow {
                    seq: r.seq,
                    idempotency_key: r.idempotency_key,
                    request_id: r.request_id,
                    author: r.author,
                    entity_kind: r.entity_kind,
                    entity_id: r.entity_id,
                    operation: r.operation,
                    payload: r.payload,
                    base_version: r.base_version,
                    refs: r.refs,
                    answer_id: r.answer_id,
                    answer_version: r.answer_version,
                    state: r.state,
                    attempts: r.attempts,
                    created: r.created,
                }
                .into_entry()?;
                let server_body = r
                    .server_body
                    .map(|b| serde_json::from_str(&b))
                    .transpose()
                    .map_err(|source| CacheError::Corrupt {
                        what: "conflict",
                        id: r.id.to_string(),
                        source,
                    })?;
                Ok(Conflict {
                    id: r.id,
                    entry,
                    refusal: Refusal {
                        kind: ConflictKind::parse(r.id, &r.kind)?,
                        message: r.message,
                        server_status: r.server_status.and_then(|s| u16::try_from(s).ok()),
                        server_body,
                    },
                    created: parse_time("conflict", r.id, "created", &r.conflict_created)?,
                    resolution: r.resolution.zip(r.resolved_by),
                })
            })
            .collect()
    }
}
