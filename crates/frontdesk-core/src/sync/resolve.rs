//! A person's decisions on the conflict list: discard our change, take theirs, or edit and
//! retry. Nothing leaves the list without one; a resolved conflict stays on record with who
//! decided and how.

use practice_studio::client::{Error as ClientError, Priority};
use practice_studio::model::{ErrorDetail, NewPatient, Patient, PatientId};
use serde_json::Value;

use practice_studio::model::{Appointment, AppointmentId, AppointmentPatch};

use frontdesk_store::{
    AppointmentAfter, CacheError, Conflict, ConflictKind, ConflictResolution, EntityKind,
    PatientAfter, Resolution,
};

use super::writes::{placeholder, shown, validate_patch, PendingWrite, WriteError};
use super::{Collection, SyncEngine, SyncError, SyncEvent};

/// Why a conflict could not be resolved as asked.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("conflict {0} is not on the conflict list (unknown, or resolved already)")]
    NotOpen(i64),
    /// "Take theirs" needs a version of theirs: a registration the server refused has none.
    #[error("the server has no version of this patient to take")]
    NothingToTake,
    /// The patient was deleted on the server: there is nothing to send a change to.
    #[error("the patient was deleted on the server; the change cannot be sent again")]
    CannotRetry,
    /// The server's current version is needed and neither the cache nor the server (now) has it.
    #[error("the server's current version of the patient is needed: {0}")]
    ServerCopy(#[source] ClientError),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The retried change to the book is refused by the desk's own checks (a clash, a move).
    #[error(transparent)]
    Book(#[from] crate::book::BookError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<CacheError> for ResolveError {
    fn from(error: CacheError) -> Self {
        match error {
            CacheError::ConflictNotOpen { id } => ResolveError::NotOpen(id),
            other => ResolveError::Sync(SyncError::Cache(other)),
        }
    }
}

impl SyncEngine {
    async fn open_conflict(&self, conflict_id: i64) -> Result<Conflict, ResolveError> {
        self.inner
            .store
            .conflicts()
            .await?
            .into_iter()
            .find(|c| c.id == conflict_id)
            .ok_or(ResolveError::NotOpen(conflict_id))
    }

    /// The server's version of the conflict's patient: what the refusal carried, else what sync
    /// has read since, else the server now. `None` when the server has no such patient.
    async fn theirs(&self, conflict: &Conflict) -> Result<Option<Patient>, ResolveError> {
        if conflict.entry.operation == "create" {
            return Ok(None);
        }
        if conflict.refusal.kind == ConflictKind::Gone {
            return Ok(None);
        }
        let id = PatientId(conflict.entry.entity_id.clone());
        let carried = conflict
            .refusal
            .server_body
            .as_ref()
            .and_then(|body| body.get("current"))
            .and_then(|current| serde_json::from_value::<Patient>(current.clone()).ok());
        let held = self.inner.store.held_server_patient(&id).await?;
        let newest = match (carried, held) {
            (Some(a), Some(b)) => Some(if a.version >= b.version { a } else { b }),
            (a, b) => a.or(b),
        };
        if let Some(patient) = newest {
            return Ok(Some(patient));
        }
        let client = self.reader().await?;
        let fetched = client
            .patients()
            .get(&id)
            .priority(Priority::Interactive)
            .await;
        self.observe(&fetched);
        match fetched {
            Ok(patient) => Ok(Some(patient)),
            Err(ClientError::NotFound(_) | ClientError::Gone(_)) => Ok(None),
            Err(error) => Err(ResolveError::ServerCopy(error)),
        }
    }

    async fn resolved(&self, conflict: &Conflict) {
        let collection = match conflict.entry.entity_kind {
            EntityKind::Patient => Some(Collection::Patients),
            EntityKind::Appointment => Some(Collection::Appointments),
            EntityKind::Payment => None,
        };
        if let Some(collection) = collection {
            self.emit(SyncEvent::Changed {
                collection,
                ids: vec![conflict.entry.entity_id.clone()],
            });
        }
        self.inner.outbox_changed.notify_one();
    }

    /// The server's version of the conflict's appointment: what the refusal carried, else what
    /// sync has read since, else the server now. `None` for a booking it never accepted or an
    /// appointment it no longer has.
    async fn theirs_appointment(
        &self,
        conflict: &Conflict,
    ) -> Result<Option<Appointment>, ResolveError> {
        if conflict.entry.operation == "create" || conflict.refusal.kind == ConflictKind::Gone {
            return Ok(None);
        }
        let id = conflict.entry.entity_id.clone();
        let carried = conflict
            .refusal
            .server_body
            .as_ref()
            .and_then(|body| body.get("current"))
            .and_then(|current| serde_json::from_value::<Appointment>(current.clone()).ok());
        let held = self.inner.store.held_server_appointment(&id).await?;
        let newest = match (carried, held) {
            (Some(a), Some(b)) => Some(if a.version >= b.version { a } else { b }),
            (a, b) => a.or(b),
        };
        if let Some(appointment) = newest {
            return Ok(Some(appointment));
        }
        let client = self.reader().await?;
        let fetched = client
            .appointments()
            .get(&AppointmentId(id))
            .priority(Priority::Interactive)
            .await;
        self.observe(&fetched);
        match fetched {
            Ok(appointment) => Ok(Some(appointment)),
            Err(ClientError::NotFound(_) | ClientError::Gone(_)) => Ok(None),
            Err(error) => Err(ResolveError::ServerCopy(error)),
        }
    }

    /// Discards or takes theirs for a conflict about the book or a payment: the desk shows the
    /// server's appointment again (none for a refused booking); a refused payment no longer
    /// counts against its invoice.
    async fn settle_other(
        &self,
        conflict: &Conflict,
        resolution: Resolution,
        by: &str,
    ) -> Result<(), ResolveError> {
        let theirs = match conflict.entry.entity_kind {
            EntityKind::Appointment => self.theirs_appointment(conflict).await?,
            _ => None,
        };
        if resolution == Resolution::TookTheirs && theirs.is_none() {
            return Err(ResolveError::NothingToTake);
        }
        let appointment = match (conflict.entry.entity_kind, &theirs) {
            (EntityKind::Appointment, Some(theirs)) => AppointmentAfter::Show(theirs),
            (EntityKind::Appointment, None) => AppointmentAfter::Remove,
            _ => AppointmentAfter::Keep,
        };
        self.inner
            .store
            .resolve_conflict(&ConflictResolution {
                conflict_id: conflict.id,
                resolution,
                by,
                patient: PatientAfter::Keep,
                appointment,
                retry: None,
                rebase_next: theirs.as_ref().map(|t| t.version),
            })
            .await?;
        self.resolved(conflict).await;
        Ok(())
    }

    /// Queues a refused change to the book or a payment again: a booking or payment as it was
    /// (or `edited`), a change of an appointment on the server's current version (checked
    /// again, clash included).
    async fn retry_other(
        &self,
        conflict: &Conflict,
        by: &str,
        edited: Option<Value>,
    ) -> Result<i64, ResolveError> {
        let entry = &conflict.entry;
        let payload = edited.unwrap_or_else(|| entry.payload.clone());
        let (shown, base_version) = match (entry.entity_kind, entry.operation.as_str()) {
            (EntityKind::Appointment, "create") => {
                let booking: practice_studio::model::NewAppointment =
                    serde_json::from_value(payload.clone())
                        .map_err(|_| invalid("body", "does not make a booking"))?;
                // Checked again against the book as the desk now has it.
                let id = AppointmentId(entry.entity_id.clone());
                let shown = crate::book::recheck(self, &booking, &id).await?;
                (Some(shown), None)
            }
            (EntityKind::Appointment, _) => {
                let theirs = self
                    .theirs_appointment(conflict)
                    .await?
                    .ok_or(ResolveError::CannotRetry)?;
                let patch: AppointmentPatch = serde_json::from_value(payload.clone())
                    .map_err(|_| invalid("body", "does not make a change of an appointment"))?;
                let next = crate::book::apply_patch(&theirs, &patch, self.inner.clock.now())?;
                let version = theirs.version;
                (Some(next), Some(version))
            }
            _ => (None, None),
        };
        let retry = super::new_entry_of(
            entry.entity_kind,
            by,
            &entry.entity_id,
            &entry.operation,
            payload,
            base_version,
            entry.refs.clone(),
        );
        let appointment = match &shown {
            Some(a) => AppointmentAfter::Show(a),
            None => AppointmentAfter::Keep,
        };
        let stored = self
            .inner
            .store
            .resolve_conflict(&ConflictResolution {
                conflict_id: conflict.id,
                resolution: Resolution::Retried,
                by,
                patient: PatientAfter::Keep,
                appointment,
                retry: Some(&retry),
                rebase_next: None,
            })
            .await?
            .ok_or(ResolveError::NotOpen(conflict.id))?;
        self.resolved(conflict).await;
        Ok(stored.seq)
    }

    /// Drops our change: the desk shows the server's version again (none, for a registration
    /// or a patient deleted on the server). Changes queued after a discarded registration are
    /// resolved with it.
    pub async fn discard_change(&self, conflict_id: i64, by: &str) -> Result<(), ResolveError> {
        let conflict = self.open_conflict(conflict_id).await?;
        if conflict.entry.entity_kind != EntityKind::Patient {
            return self
                .settle_other(&conflict, Resolution::Discarded, by)
                .await;
        }
        let theirs = self.theirs(&conflict).await?;
        let patient = theirs
            .as_ref()
            .map_or(PatientAfter::Remove, PatientAfter::Show);
        self.inner
            .store
            .resolve_conflict(&ConflictResolution {
                conflict_id,
                resolution: Resolution::Discarded,
                by,
                patient,
                appointment: AppointmentAfter::Keep,
                retry: None,
                rebase_next: theirs.as_ref().map(|t| t.version),
            })
            .await?;
        self.resolved(&conflict).await;
        Ok(())
    }

    /// Keeps the server's version instead of ours (of a change to an existing patient).
    pub async fn take_theirs(&self, conflict_id: i64, by: &str) -> Result<(), ResolveError> {
        let conflict = self.open_conflict(conflict_id).await?;
        if conflict.entry.entity_kind != EntityKind::Patient {
            return self
                .settle_other(&conflict, Resolution::TookTheirs, by)
                .await;
        }
        if conflict.entry.operation == "create" {
            return Err(ResolveError::NothingToTake);
        }
        let theirs = self.theirs(&conflict).await?;
        let patient = match &theirs {
            Some(theirs) => PatientAfter::Show(theirs),
            // Deleted on the server: theirs is "no patient".
            None => PatientAfter::Remove,
        };
        self.inner
            .store
            .resolve_conflict(&ConflictResolution {
                conflict_id,
                resolution: Resolution::TookTheirs,
                by,
                patient,
                appointment: AppointmentAfter::Keep,
                retry: None,
                rebase_next: theirs.as_ref().map(|t| t.version),
            })
            .await?;
        self.resolved(&conflict).await;
        Ok(())
    }

    /// Queues a refused change to the book or a payment again, as it was or as `edited` (a
    /// booking: the whole new booking; a change of an appointment: the change, applied to the
    /// server's current version and checked again, clash included); `by` becomes its author.
    /// Returns the entry's place in the queue.
    pub async fn retry_other_change(
        &self,
        conflict_id: i64,
        by: &str,
        edited: Option<Value>,
    ) -> Result<i64, ResolveError> {
        let conflict = self.open_conflict(conflict_id).await?;
        if conflict.entry.entity_kind == EntityKind::Patient {
            return Err(ResolveError::CannotRetry);
        }
        let seq = self.retry_other(&conflict, by, edited).await?;
        tracing::info!(conflict = conflict_id, seq, "change queued again");
        Ok(seq)
    }

    /// Queues our change again, as it was or as edited (`edited`: for a registration the whole
    /// new patient, for a change a merge patch), checked with the server's rules and based on
    /// the server's current version; `by` becomes its author.
    pub async fn retry_change(
        &self,
        conflict_id: i64,
        by: &str,
        edited: Option<Value>,
    ) -> Result<PendingWrite, ResolveError> {
        let conflict = self.open_conflict(conflict_id).await?;
        let entry = &conflict.entry;
        if entry.entity_kind != EntityKind::Patient {
            return Err(ResolveError::CannotRetry);
        }
        let payload = edited.unwrap_or_else(|| entry.payload.clone());
        let now = self.inner.clock.now();
        let today = self.inner.clock.today();
        let (local, base_version, operation) = if entry.operation == "create" {
            let input: NewPatient = serde_json::from_value(payload.clone())
                .map_err(|_| invalid("body", "does not make a patient's details"))?;
            let valid = practice_studio::rules::validate_new_patient(&input, today)
                .map_err(WriteError::Invalid)?;
            let id = PatientId(entry.entity_id.clone());
            let local = shown(&placeholder(&id, &valid, now), valid, now);
            (local, None, "create")
        } else {
            let theirs = self
                .theirs(&conflict)
                .await?
                .ok_or(ResolveError::CannotRetry)?;
            let Value::Object(patch) = &payload else {
                return Err(invalid("body", "must be a JSON object").into());
            };
            let valid = validate_patch(&theirs, patch, today)?;
            let version = theirs.version;
            (shown(&theirs, valid, now), Some(version), "update")
        };
        let retry = self.new_entry(
            by,
            &entry.entity_id,
            operation,
            payload.clone(),
            base_version,
        );
        let stored = self
            .inner
            .store
            .resolve_conflict(&ConflictResolution {
                conflict_id,
                resolution: Resolution::Retried,
                by,
                patient: PatientAfter::Show(&local),
                appointment: AppointmentAfter::Keep,
                retry: Some(&retry),
                rebase_next: None,
            })
            .await?
            .ok_or(ResolveError::NotOpen(conflict_id))?;
        tracing::info!(
            conflict = conflict_id,
            seq = stored.seq,
            "change queued again"
        );
        self.resolved(&conflict).await;
        Ok(PendingWrite {
            seq: stored.seq,
            patient_id: entry.entity_id.clone(),
            patient: local,
        })
    }
}

fn invalid(field: &str, issue: &str) -> WriteError {
    WriteError::Invalid(vec![ErrorDetail {
        field: field.to_owned(),
        issue: issue.to_owned(),
        code: None,
    }])
}
