//! The conflicts screen: each change the server refused, with its reason and the server's
//! current data, and a person's decision (edit and retry, take theirs, discard) carried out by
//! the sync engine's resolution calls ([`crate::SyncEngine::discard_change`], …).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use frontdesk_store::{Conflict, ConflictKind, EntityKind};

use crate::desk::{CoreError, Desk};
use crate::sync::{ResolveError, WriteError};

/// One refused change, as the conflicts screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConflictView {
    #[ts(type = "number")]
    pub id: i64,
    /// `patient`, `appointment` or `payment`.
    pub entity_kind: String,
    pub entity_id: String,
    /// What was tried: `create`, `update`, `cancel`, …
    pub operation: String,
    /// Who made the change (a user id).
    pub author: String,
    /// The author's name and role, when they signed in on this desk.
    pub author_person: Option<crate::account::Person>,
    /// `forbidden`, `gone`, `clash`, `invalid` or `other`.
    pub reason: String,
    /// The server's words.
    pub message: String,
    #[ts(type = "number | null")]
    pub server_status: Option<u16>,
    /// Our change as it was sent (a whole new item, or the fields changed).
    #[ts(type = "unknown")]
    pub ours: Value,
    /// The server's current data, when it sent or sync has read one.
    #[ts(type = "unknown")]
    pub theirs: Option<Value>,
    /// What the server said was wrong, field by field.
    pub problems: Vec<practice_studio::model::ErrorDetail>,
    pub refused_at: DateTime<Utc>,
    /// Whether "take theirs" makes sense (there is a version of theirs to take).
    pub may_take_theirs: bool,
}

/// What to do with a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConflictAction {
    Discard,
    TakeTheirs,
    Retry,
}

/// Arguments of `resolve_conflict`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveConflictArgs {
    #[ts(type = "number")]
    pub conflict_id: i64,
    pub action: ConflictAction,
    /// For `retry`: our change as edited (the same shape as [`ConflictView::ours`]); absent to
    /// send it as it was.
    #[ts(optional, type = "unknown")]
    #[serde(default)]
    pub edited: Option<Value>,
}

fn kind_name(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::Forbidden => "forbidden",
        ConflictKind::Gone => "gone",
        ConflictKind::Clash => "clash",
        ConflictKind::Invalid => "invalid",
        ConflictKind::Other => "other",
    }
}

/// The conflict as the screen shows it.
pub fn view_of(conflict: &Conflict) -> ConflictView {
    let body = conflict.refusal.server_body.as_ref();
    let theirs = body.and_then(|b| b.get("current")).cloned();
    let problems = body
        .and_then(|b| {
            b.get("error")
                .and_then(|e| e.get("details"))
                .or(b.get("details"))
        })
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default();
    let entry = &conflict.entry;
    let may_take_theirs = entry.operation != "create"
        && conflict.refusal.kind != ConflictKind::Gone
        && entry.entity_kind != EntityKind::Payment;
    ConflictView {
        id: conflict.id,
        entity_kind: entry.entity_kind.as_str().to_owned(),
        entity_id: entry.entity_id.clone(),
        operation: entry.operation.clone(),
        author: entry.author.clone(),
        author_person: None,
        reason: kind_name(conflict.refusal.kind).to_owned(),
        message: conflict.refusal.message.clone(),
        server_status: conflict.refusal.server_status,
        ours: entry.payload.clone(),
        theirs,
        problems,
        refused_at: conflict.created,
        may_take_theirs,
    }
}

impl From<ResolveError> for CoreError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::NotOpen(id) => CoreError::NotFound {
                what: "conflict",
                id: id.to_string(),
            },
            ResolveError::Write(WriteError::Invalid(problems)) => CoreError::Invalid(problems),
            ResolveError::Book(crate::book::BookError::Invalid(problems)) => {
                CoreError::Invalid(problems)
            }
            ResolveError::Sync(error) => CoreError::Sync(error),
            ResolveError::ServerCopy(error) => CoreError::Offline(error),
            other => CoreError::NotAllowed(other.to_string()),
        }
    }
}

impl Desk {
    /// The conflict list: every refused change no one has resolved, oldest first.
    pub async fn conflicts(&self) -> Result<Vec<ConflictView>, CoreError> {
        self.signed_in().await?;
        let cache = self.cache()?;
        let list = cache.engine.store().conflicts().await?;
        let people = self.people_known().await?;
        Ok(list
            .iter()
            .map(|conflict| ConflictView {
                author_person: people.get(&conflict.entry.author).cloned(),
                ..view_of(conflict)
            })
            .collect())
    }

    /// Carries out a person's decision on a conflict; the signed-in user is recorded as having
    /// decided (and, for a retry, becomes the change's author).
    pub async fn resolve_conflict(&self, args: &ResolveConflictArgs) -> Result<(), CoreError> {
        let (me, _) = self.signed_in().await?;
        let cache = self.cache()?;
        let engine = &cache.engine;
        let kind = engine
            .store()
            .conflicts()
            .await?
            .into_iter()
            .find(|c| c.id == args.conflict_id)
            .map(|c| c.entry.entity_kind)
            .ok_or_else(|| CoreError::NotFound {
                what: "conflict",
                id: args.conflict_id.to_string(),
            })?;
        match args.action {
            ConflictAction::Discard => engine.discard_change(args.conflict_id, &me.user_id).await?,
            ConflictAction::TakeTheirs => engine.take_theirs(args.conflict_id, &me.user_id).await?,
            ConflictAction::Retry if kind == EntityKind::Patient => {
                engine
                    .retry_change(args.conflict_id, &me.user_id, args.edited.clone())
                    .await?;
            }
            ConflictAction::Retry => {
                engine
                    .retry_other_change(args.conflict_id, &me.user_id, args.edited.clone())
                    .await?;
            }
        }
        tracing::info!(conflict = args.conflict_id, action = ?args.action, "conflict resolved");
        Ok(())
    }
}
