//! The audit log of PHI views: its own encrypted database, which wiping the cache leaves alone.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqlitePool;

use crate::db;
use crate::error::{query, CacheError};
use crate::DataDir;

/// The audit log's file name inside the data directory.
pub const AUDIT_FILE: &str = "audit.db";

static AUDIT_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/audit");

/// What was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    ViewedPatient,
    ViewedRecord,
    ViewedAttachment,
    ViewedInvoice,
}

impl AuditAction {
    /// Every action, in the order a filter lists them.
    pub const ALL: [AuditAction; 4] = [
        Self::ViewedPatient,
        Self::ViewedRecord,
        Self::ViewedAttachment,
        Self::ViewedInvoice,
    ];

    /// The stored name, e.g. `viewed_record`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ViewedPatient => "viewed_patient",
            Self::ViewedRecord => "viewed_record",
            Self::ViewedAttachment => "viewed_attachment",
            Self::ViewedInvoice => "viewed_invoice",
        }
    }

    fn parse(seq: i64, s: &str) -> Result<Self, CacheError> {
        match s {
            "viewed_patient" => Ok(Self::ViewedPatient),
            "viewed_record" => Ok(Self::ViewedRecord),
            "viewed_attachment" => Ok(Self::ViewedAttachment),
            "viewed_invoice" => Ok(Self::ViewedInvoice),
            other => Err(CacheError::CorruptField {
                what: "audit entry",
                id: seq.to_string(),
                field: "action",
                value: other.to_owned(),
            }),
        }
    }
}

/// One recorded view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub user_id: String,
    pub action: AuditAction,
    /// `patient`, `record`… and the id of what was viewed (never its content).
    pub entity_kind: String,
    pub entity_id: String,
}

/// Which entries [`AuditLog::search`] returns; every `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub action: Option<AuditAction>,
    /// Entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub until: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// The append-only log of who viewed which patient's data.
#[derive(Debug)]
pub struct AuditLog {
    pool: SqlitePool,
    path: PathBuf,
    /// Held until the connection is closed (see [`db::FileClaim`]).
    claim: Option<db::FileClaim>,
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        db::close_then_release((), vec![self.pool.clone()], self.claim.take());
    }
}

impl AuditLog {
    /// Opens (creating if needed) the audit log in `dir`, encrypted with `key`.
    pub async fn open(dir: &DataDir, key: [u8; 32]) -> Result<Self, CacheError> {
        let path = dir.path().join(AUDIT_FILE);
        let claim = db::claim(&path).await?;
        let pool = db::open_writer(&path, &key, &AUDIT_MIGRATIONS).await?;
        Ok(Self {
            pool,
            path,
            claim: Some(claim),
        })
    }

    /// Renames the audit log in `dir` that no key at hand opens to
    /// `audit.db.unreadable-<stamp>` (with its `-wal` and `-shm`), once every handle of this
    /// process on it has closed: kept, still encrypted, for whoever holds its key; never deleted.
    pub async fn set_aside(dir: &DataDir, stamp: &str) -> Result<(), CacheError> {
        let path = dir.path().join(AUDIT_FILE);
        let _alone = db::when_closed(&path).await?;
        for suffix in ["", "-wal", "-shm"] {
            let from = dir.path().join(format!("{AUDIT_FILE}{suffix}"));
            let to = dir
                .path()
                .join(format!("{AUDIT_FILE}.unreadable-{stamp}{suffix}"));
            match std::fs::rename(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CacheError::Remove { path: from, source }),
            }
        }
        tracing::warn!("set aside an audit log that the keychain's key does not open");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that `user_id` viewed `entity_kind` `entity_id` now.
    pub async fn append(
        &self,
        user_id: &str,
        action: AuditAction,
        entity_kind: &str,
        entity_id: &str,
    ) -> Result<AuditEntry, CacheError> {
        let at = Utc::now();
        let at_text = at.to_rfc3339();
        let action_text = action.as_str();
        let seq = sqlx::query_scalar!(
            r#"INSERT INTO audit_log (at, user_id, action, entity_kind, entity_id)
               VALUES (?1, ?2, ?3, ?4, ?5) RETURNING seq AS "seq!: i64""#,
            at_text,
            user_id,
            action_text,
            entity_kind,
            entity_id
        )
        .fetch_one(&self.pool)
        .await
        .map_err(query("append to the audit log"))?;
        Ok(AuditEntry {
            seq,
            at,
            user_id: user_id.to_owned(),
            action,
            entity_kind: entity_kind.to_owned(),
            entity_id: entity_id.to_owned(),
        })
    }

    /// The most recent entries, newest first.
    pub async fn recent(&self, limit: u32) -> Result<Vec<AuditEntry>, CacheError> {
        self.search(&AuditFilter {
            limit,
            ..AuditFilter::default()
        })
        .await
    }

    /// The entries `filter` selects, newest first.
    pub async fn search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, CacheError> {
        let limit = i64::from(filter.limit);
        let action = filter.action.map(AuditAction::as_str);
        // `at` is RFC 3339 with as many fractional digits as needed: julianday() compares the
        // instants, which text order would not.
        let from = filter.from.map(|t| t.to_rfc3339());
        let until = filter.until.map(|t| t.to_rfc3339());
        let rows = sqlx::query!(
            r#"SELECT seq AS "seq!: i64", at, user_id, action, entity_kind, entity_id
               FROM audit_log
               WHERE (?1 IS NULL OR user_id = ?1)
                 AND (?2 IS NULL OR action = ?2)
                 AND (?3 IS NULL OR julianday(at) >= julianday(?3))
                 AND (?4 IS NULL OR julianday(at) < julianday(?4))
               ORDER BY seq DESC LIMIT ?5"#,
            filter.user_id,
            action,
            from,
            until,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("read the audit log"))?;
        rows.into_iter()
            .map(|r| {
                let at = DateTime::parse_from_rfc3339(&r.at)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| CacheError::CorruptField {
                        what: "audit entry",
                        id: r.seq.to_string(),
                        field: "at",
                        value: r.at.clone(),
                    })?;
                Ok(AuditEntry {
                    seq: r.seq,
                    at,
                    user_id: r.user_id,
                    action: AuditAction::parse(r.seq, &r.action)?,
                    entity_kind: r.entity_kind,
                    entity_id: r.entity_id,
                })
            })
            .collect()
    }

    /// Everyone who has an entry, in order (for a filter's choices).
    pub async fn users(&self) -> Result<Vec<String>, CacheError> {
        sqlx::query_scalar!(
            r#"SELECT DISTINCT user_id AS "user_id!: String" FROM audit_log ORDER BY user_id"#
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("list the audit log's users"))
    }

    /// Closes the log's connection.
    pub async fn close(mut self) {
        self.pool.close().await;
        drop(self.claim.take());
    }
}
