//! What the sync engine writes: pages from the server with their checkpoint, local changes with
//! their outbox entry, and the server's answer to a sent entry, each in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use practice_studio::model::{AppointmentType, Location, Patient, PatientId, Provider};
use sqlx::{Sqlite, Transaction};

use crate::error::{query, CacheError};
use crate::outbox::{entity_key, EntityKind, NewOutboxEntry, OutboxEntry};
use crate::patients::upsert_in;
use crate::Store;

/// How a person resolved a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Our change is dropped (and, for a registration, the changes queued after it).
    Discarded,
    /// The server's version is kept instead of ours.
    TookTheirs,
    /// Our change (possibly edited) is queued again, based on the server's current version.
    Retried,
}

impl Resolution {
    fn as_str(self) -> &'static str {
        match self {
            Resolution::Discarded => "discarded",
            Resolution::TookTheirs => "took_theirs",
            Resolution::Retried => "retried",
        }
    }
}

/// What the cached patient becomes when a conflict is resolved.
#[derive(Debug, Clone, Copy)]
pub enum PatientAfter<'a> {
    /// This version (the server's, or the server's with the retried change).
    Show(&'a Patient),
    /// No row: a discarded registration, or a patient deleted on the server.
    Remove,
    /// Leave the row as it is.
    Keep,
}

/// What the cached appointment becomes when a conflict about it is resolved.
#[derive(Debug, Clone, Copy)]
pub enum AppointmentAfter<'a> {
    /// This version (the server's, or ours again for a retried change).
    Show(&'a practice_studio::model::Appointment),
    /// No row: a discarded booking, or an appointment deleted on the server.
    Remove,
    /// Leave the row as it is (a conflict about something else).
    Keep,
}

/// A person's decision on one conflict, applied by [`Store::resolve_conflict`].
#[derive(Debug, Clone, Copy)]
pub struct ConflictResolution<'a> {
    pub conflict_id: i64,
    pub resolution: Resolution,
    /// Who decided (kept with the conflict).
    pub by: &'a str,
    pub patient: PatientAfter<'a>,
    /// For a conflict about an appointment: what its cached row becomes.
    pub appointment: AppointmentAfter<'a>,
    /// For [`Resolution::Retried`]: the change to send again. It goes back into the refused
    /// entry's own place in the outbox (before the entity's later changes) with this payload,
    /// base version, fresh keys and `by` as its author; the entity fields are the entry's.
    pub retry: Option<&'a NewOutboxEntry>,
    /// For the other resolutions: the version (theirs) the entity's next waiting change is
    /// based on, when it was to chain on the refused one.
    pub rebase_next: Option<i64>,
}

/// Sync state to store with a page, under its key (a first-sync checkpoint, a poll cursor).
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

fn encode_body<T: serde::Serialize>(
    what: &'static str,
    id: &str,
    value: &T,
) -> Result<String, CacheError> {
    serde_json::to_string(value).map_err(|source| CacheError::Encode {
        what,
        id: id.to_owned(),
        source,
    })
}

async fn checkpoint_in(
    tx: &mut Transaction<'static, Sqlite>,
    checkpoint: Option<Checkpoint<'_>>,
) -> Result<(), CacheError> {
    if let Some(c) = checkpoint {
        Store::set_sync_state_in(tx, c.key, c.value).await?;
    }
    Ok(())
}

/// Shows the server's copies held for registrations of ours in flight (see
/// [`Store::apply_feed_patients`]) that no answer took, once no patient entry is pending: an
/// entry refused after its request made them (it cannot normally happen) must not hide them.
pub(crate) async fn release_unclaimed_patient_holds_in(
    tx: &mut Transaction<'static, Sqlite>,
) -> Result<(), CacheError> {
    const OP: &str = "show held patients no answer took";
    let unclaimed = sqlx::query!(
        "SELECT h.id, h.body FROM held_patients h
         WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = h.id)
           AND NOT EXISTS (SELECT 1 FROM outbox o
                           WHERE o.entity_kind = 'patient' AND o.state = 'pending')"
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query(OP))?;
    for row in unclaimed {
        let patient: Patient = decode("patient", &row.id, &row.body)?;
        upsert_in(tx, &[(&patient, None)]).await?;
        sqlx::query!("DELETE FROM held_patients WHERE id = ?1", row.id)
            .execute(&mut **tx)
            .await
            .map_err(query(OP))?;
    }
    Ok(())
}

/// One reference row as stored: its key, its place in the server's list, and the body.
struct ReferenceRow {
    id: String,
    position: i64,
    body: String,
}

/// Which rows of `incoming` differ from `stored` (by body or place), and which stored ids are
/// gone.
fn reference_diff(
    stored: HashMap<String, (String, i64)>,
    incoming: &[ReferenceRow],
) -> (Vec<usize>, Vec<String>) {
    let present: HashSet<&str> = incoming.iter().map(|r| r.id.as_str()).collect();
    let changed = incoming
        .iter()
        .enumerate()
        .filter(|(_, r)| stored.get(&r.id) != Some(&(r.body.clone(), r.position)))
        .map(|(i, _)| i)
        .collect();
    let gone = stored
        .into_keys()
        .filter(|id| !present.contains(id.as_str()))
        .collect();
    (changed, gone)
}

impl Store {
    /// Makes the cached locations exactly `locations` (the whole list from the server), with the
    /// checkpoint, in one transaction. Returns the ids that were added, changed or removed.
    pub async fn replace_locations(
        &self,
        locations: &[Location],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<String>, CacheError> {
        let rows = locations
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Ok(ReferenceRow {
                    id: l.id.to_string(),
                    position: i as i64,
                    body: encode_body("location", l.id.as_str(), l)?,
                })
            })
            .collect::<Result<Vec<_>, CacheError>>()?;
        let mut tx = self.begin_write("store locations").await?;
        let stored =
            sqlx::query!(r#"SELECT id, body, position AS "position!: i64" FROM locations"#)
                .fetch_all(&mut *tx)
                .await
                .map_err(query("store locations"))?
                .into_iter()
                .map(|r| (r.id, (r.body, r.position)))
                .collect();
        let (changed, gone) = reference_diff(stored, &rows);
        let now = Utc::now().to_rfc3339();
        for &i in &changed {
            let (row, location) = (&rows[i], &locations[i]);
            sqlx::query!(
                "INSERT INTO locations (id, name, updated, body, position)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated = excluded.updated,
                     body = excluded.body, position = excluded.position",
                row.id,
                location.name,
                now,
                row.body,
                row.position
            )
            .execute(&mut *tx)
            .await
            .map_err(query("store locations"))?;
        }
        for id in &gone {
            sqlx::query!("DELETE FROM locations WHERE id = ?1", id)
                .execute(&mut *tx)
                .await
                .map_err(query("store locations"))?;
        }
        checkpoint_in(&mut tx, checkpoint).await?;
        tx.commit().await.map_err(query("store locations"))?;
        Ok(changed
            .into_iter()
            .map(|i| rows[i].id.clone())
            .chain(gone)
            .collect())
    }

    /// [`Store::replace_locations`] for providers (their hours, breaks and exceptions inside).
    pub async fn replace_providers(
        &self,
        providers: &[Provider],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<String>, CacheError> {
        let rows = providers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(ReferenceRow {
                    id: p.id.to_string(),
                    position: i as i64,
                    body: encode_body("provider", p.id.as_str(), p)?,
                })
            })
            .collect::<Result<Vec<_>, CacheError>>()?;
        let mut tx = self.begin_write("store providers").await?;
        let stored =
            sqlx::query!(r#"SELECT id, body, position AS "position!: i64" FROM providers"#)
                .fetch_all(&mut *tx)
                .await
                .map_err(query("store providers"))?
                .into_iter()
                .map(|r| (r.id, (r.body, r.position)))
                .collect();
        let (changed, gone) = reference_diff(stored, &rows);
        let now = Utc::now().to_rfc3339();
        for &i in &changed {
            let (row, provider) = (&rows[i], &providers[i]);
            let location = provider.locations.first().map(|l| l.id.to_string());
            sqlx::query!(
                "INSERT INTO providers (id, last_name, first_name, location_id, updated, body,
                     position)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET last_name = excluded.last_name,
                     first_name = excluded.first_name, location_id = excluded.location_id,
                     updated = excluded.updated, body = excluded.body,
                     position = excluded.position",
                row.id,
                provider.last_name,
                provider.first_name,
                location,
                now,
                row.body,
                row.position
            )
            .execute(&mut *tx)
            .await
            .map_err(query("store providers"))?;
        }
        for id in &gone {
            sqlx::query!("DELETE FROM providers WHERE id = ?1", id)
                .execute(&mut *tx)
                .await
                .map_err(query("store providers"))?;
        }
        checkpoint_in(&mut tx, checkpoint).await?;
        tx.commit().await.map_err(query("store providers"))?;
        Ok(changed
            .into_iter()
            .map(|i| rows[i].id.clone())
            .chain(gone)
            .collect())
    }

    /// [`Store::replace_locations`] for the appointment-type catalogue (keyed by name: the API
    /// gives types no id).
    pub async fn replace_appointment_types(
        &self,
        types: &[AppointmentType],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<String>, CacheError> {
        let rows = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(ReferenceRow {
                    id: t.name.clone(),
                    position: i as i64,
                    body: encode_body("appointment type", &t.name, t)?,
                })
            })
            .collect::<Result<Vec<_>, CacheError>>()?;
        let mut tx = self.begin_write("store appointment types").await?;
        let stored =
            sqlx::query!(r#"SELECT id, body, position AS "position!: i64" FROM appointment_types"#)
                .fetch_all(&mut *tx)
                .await
                .map_err(query("store appointment types"))?
                .into_iter()
                .map(|r| (r.id, (r.body, r.position)))
                .collect();
        let (changed, gone) = reference_diff(stored, &rows);
        let now = Utc::now().to_rfc3339();
        for &i in &changed {
            let row = &rows[i];
            sqlx::query!(
                "INSERT INTO appointment_types (id, name, updated, body, position)
                 VALUES (?1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET updated = excluded.updated, body = excluded.body,
                     position = excluded.position",
                row.id,
                now,
                row.body,
                row.position
            )
            .execute(&mut *tx)
            .await
            .map_err(query("store appointment types"))?;
        }
        for id in &gone {
            sqlx::query!("DELETE FROM appointment_types WHERE id = ?1", id)
                .execute(&mut *tx)
                .await
                .map_err(query("store appointment types"))?;
        }
        checkpoint_in(&mut tx, checkpoint).await?;
        tx.commit()
            .await
            .map_err(query("store appointment types"))?;
        Ok(changed
            .into_iter()
            .map(|i| rows[i].id.clone())
            .chain(gone)
            .collect())
    }

    /// The cached locations, in the server's order.
    pub async fn locations(&self) -> Result<Vec<Location>, CacheError> {
        let rows = sqlx::query!("SELECT id, body FROM locations ORDER BY position, id")
            .fetch_all(&self.readers)
            .await
            .map_err(query("list locations"))?;
        rows.into_iter()
            .map(|r| decode("location", &r.id, &r.body))
            .collect()
    }

    /// The cached providers, by name.
    pub async fn providers(&self) -> Result<Vec<Provider>, CacheError> {
        let rows =
            sqlx::query!("SELECT id, body FROM providers ORDER BY last_name, first_name, id")
                .fetch_all(&self.readers)
                .await
                .map_err(query("list providers"))?;
        rows.into_iter()
            .map(|r| decode("provider", &r.id, &r.body))
            .collect()
    }

    /// The cached appointment types, in the server's (the catalogue's) order.
    pub async fn appointment_types(&self) -> Result<Vec<AppointmentType>, CacheError> {
        let rows = sqlx::query!("SELECT id, body FROM appointment_types ORDER BY position, id")
            .fetch_all(&self.readers)
            .await
            .map_err(query("list appointment types"))?;
        rows.into_iter()
            .map(|r| decode("appointment type", &r.id, &r.body))
            .collect()
    }

    /// Applies patients read from the server, with the checkpoint, in one transaction. A patient
    /// is skipped when the cache already has its version or a newer one (pages and polls overlap:
    /// this is where they are deduplicated), and while a local change of it waits in the outbox
    /// (the server's answer to that change replaces it). Returns the ids applied.
    pub async fn apply_remote_patients(
        &self,
        patients: &[Patient],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<PatientId>, CacheError> {
        self.apply_patients(patients, &[], checkpoint).await
    }

    /// [`Store::apply_remote_patients`] for the change feed, whose events name the request
    /// (`X-Request-ID`) that caused them (`requests`, one per patient). A registration of this
    /// desk's whose answer is still on its way is cached under its local id; its event can come
    /// first, and stored as is it would show the patient twice (in search too) until the answer
    /// is recorded. So the server's copy of a patient not yet cached, caused by the request of a
    /// patient entry still pending, is held aside: [`Store::complete_patient_write`] takes it,
    /// and [`Store::move_to_conflicts`] lets it out if the entry is refused instead.
    pub async fn apply_feed_patients(
        &self,
        patients: &[Patient],
        requests: &[Option<String>],
        checkpoint: Checkpoint<'_>,
    ) -> Result<Vec<PatientId>, CacheError> {
        self.apply_patients(patients, requests, Some(checkpoint))
            .await
    }

    async fn apply_patients(
        &self,
        patients: &[Patient],
        requests: &[Option<String>],
        checkpoint: Option<Checkpoint<'_>>,
    ) -> Result<Vec<PatientId>, CacheError> {
        let mut tx = self.begin_write("apply patients from the server").await?;
        let ids = encode_body(
            "patient ids",
            "",
            &patients.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        )?;
        let known: HashMap<String, (i64, bool)> = sqlx::query!(
            r#"SELECT id, version, pending AS "pending!: bool" FROM patients
               WHERE id IN (SELECT value FROM json_each(?1))"#,
            ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(query("apply patients from the server"))?
        .into_iter()
        .map(|r| (r.id, (r.version, r.pending)))
        .collect();
        // The newest of several copies of one patient in the batch.
        let mut newest: HashMap<&str, &Patient> = HashMap::new();
        for p in patients {
            let keep = newest
                .get(p.id.as_str())
                .is_none_or(|seen| seen.version < p.version);
            if keep {
                newest.insert(p.id.as_str(), p);
            }
        }
        // Patients not cached whose event a pending registration of ours caused.
        let mut ours_in_flight: HashSet<&str> = HashSet::new();
        for (p, request) in patients.iter().zip(requests) {
            let Some(request) = request else { continue };
            if known.contains_key(p.id.as_str()) {
                continue;
            }
            let pending = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!: i64" FROM outbox
                   WHERE request_id = ?1 AND entity_kind = 'patient' AND state = 'pending'"#,
                request
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(query("match an event to a pending write"))?;
            if pending > 0 {
                ours_in_flight.insert(p.id.as_str());
            }
        }
        let fresh: Vec<(&Patient, Option<chrono::DateTime<Utc>>)> = patients
            .iter()
            .filter(|p| !ours_in_flight.contains(p.id.as_str()))
            .filter(|p| {
                newest
                    .get(p.id.as_str())
                    .is_some_and(|n| std::ptr::eq(*n, *p))
            })
            .filter(|p| match known.get(p.id.as_str()) {
                Some((_, true)) => false,
                Some((version, false)) => *version < p.version,
                None => true,
            })
            .map(|p| (p, None))
            .collect();
        if !fresh.is_empty() {
            upsert_in(&mut tx, &fresh).await?;
        }
        // Newer versions of patients with a change waiting, and the server's copies of our
        // registrations in flight: kept aside, not lost.
        for p in newest.values() {
            match known.get(p.id.as_str()) {
                Some((version, true)) if p.version > *version => {}
                None if ours_in_flight.contains(p.id.as_str()) => {}
                _ => continue,
            }
            let id = p.id.as_str();
            let body = encode_body("patient", id, p)?;
            sqlx::query!(
                "INSERT INTO held_patients (id, version, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body
                 WHERE excluded.version > held_patients.version",
                id,
                p.version,
                body
            )
            .execute(&mut *tx)
            .await
            .map_err(query("apply patients from the server"))?;
        }
        checkpoint_in(&mut tx, checkpoint).await?;
        tx.commit()
            .await
            .map_err(query("apply patients from the server"))?;
        Ok(fresh.into_iter().map(|(p, _)| p.id.clone()).collect())
    }

    /// A local change of a patient: the patient as it now looks on this desk (marked pending)
    /// and the outbox entry that will send the change, in one transaction.
    pub async fn enqueue_patient_change(
        &self,
        entry: &NewOutboxEntry,
        patient: &Patient,
    ) -> Result<OutboxEntry, CacheError> {
        let mut tx = self.begin_write("queue a patient change").await?;
        upsert_in(&mut tx, &[(patient, None)]).await?;
        let id = patient.id.as_str();
        sqlx::query!("UPDATE patients SET pending = 1 WHERE id = ?1", id)
            .execute(&mut *tx)
            .await
            .map_err(query("queue a patient change"))?;
        let stored = Self::enqueue_in(&mut tx, entry).await?;
        tx.commit().await.map_err(query("queue a patient change"))?;
        Ok(stored)
    }

    /// Applies a person's decision on a conflict in one transaction: the conflict is marked
    /// resolved (it stays on record), the cached patient becomes what the decision says, a
    /// retried change is queued, and the row's pending mark follows what still waits. Discarding
    /// a registration also resolves the changes queued after it (they could never be sent): each
    /// is recorded as a discarded conflict, not dropped silently. Returns the retried entry.
    pub async fn resolve_conflict(
        &self,
        decision: &ConflictResolution<'_>,
    ) -> Result<Option<OutboxEntry>, CacheError> {
        const OP: &str = "resolve a conflict";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let how = decision.resolution.as_str();
        let seq = sqlx::query_scalar!(
            r#"UPDATE conflicts SET resolution = ?2, resolved_by = ?3, resolved = ?4
               WHERE id = ?1 AND resolved IS NULL RETURNING outbox_seq AS "seq!: i64""#,
            decision.conflict_id,
            how,
            decision.by,
            now
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(OP))?
        .ok_or(CacheError::ConflictNotOpen {
            id: decision.conflict_id,
        })?;
        let entry = sqlx::query!(
            "SELECT entity_kind, entity_id, operation FROM outbox WHERE seq = ?1",
            seq
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query(OP))?;
        if decision.resolution == Resolution::Discarded && entry.operation == "create" {
            discard_dependents_in(
                &mut tx,
                &entry.entity_kind,
                &entry.entity_id,
                decision.by,
                &now,
            )
            .await?;
        }
        match decision.appointment {
            AppointmentAfter::Show(appointment) => {
                crate::book::put_appointment_in(&mut tx, appointment, false).await?;
            }
            AppointmentAfter::Remove => {
                sqlx::query!("DELETE FROM appointments WHERE id = ?1", entry.entity_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(query(OP))?;
            }
            AppointmentAfter::Keep => {}
        }
        if entry.entity_kind == EntityKind::Payment.as_str()
            && decision.resolution != Resolution::Retried
        {
            // A refused payment taken here no longer counts against its invoice.
            sqlx::query!(
                "DELETE FROM payments WHERE id = ?1 AND pending = 1",
                entry.entity_id
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        }
        match decision.patient {
            PatientAfter::Show(patient) => upsert_in(&mut tx, &[(patient, None)]).await?,
            PatientAfter::Remove => {
                delete_patient_in(&mut tx, &entry.entity_id).await?;
            }
            PatientAfter::Keep => {}
        }
        let retried = match decision.retry {
            Some(retry) => {
                let payload = encode_body("outbox entry", &seq.to_string(), &retry.payload)?;
                sqlx::query!(
                    "UPDATE conflicts SET refused_payload = o.payload, refused_author = o.author
                     FROM outbox o WHERE conflicts.id = ?1 AND o.seq = conflicts.outbox_seq",
                    decision.conflict_id
                )
                .execute(&mut *tx)
                .await
                .map_err(query(OP))?;
                sqlx::query!(
                    "UPDATE outbox SET state = 'pending', payload = ?2, idempotency_key = ?3,
                         request_id = ?4, author = ?5, base_version = ?6, attempts = 0,
                         answer_id = NULL, answer_version = NULL, created = ?7, updated = ?7
                     WHERE seq = ?1",
                    seq,
                    payload,
                    retry.idempotency_key,
                    retry.request_id,
                    decision.by,
                    retry.base_version,
                    now
                )
                .execute(&mut *tx)
                .await
                .map_err(|source| match &source {
                    sqlx::Error::Database(db) if db.is_unique_violation() => {
                        CacheError::DuplicateIdempotencyKey {
                            key: retry.idempotency_key.clone(),
                        }
                    }
                    _ => CacheError::Query {
                        operation: OP,
                        source,
                    },
                })?;
                Some(seq)
            }
            None => None,
        };
        if let Some(version) = decision.rebase_next {
            sqlx::query!(
                "UPDATE outbox SET base_version = ?4
                 WHERE base_version IS NULL AND seq = (SELECT min(seq) FROM outbox
                     WHERE entity_kind = ?1 AND entity_id = ?2 AND state = 'pending'
                         AND seq > ?3)",
                entry.entity_kind,
                entry.entity_id,
                seq,
                version
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        }
        let waiting = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!: i64" FROM outbox
               WHERE entity_kind = ?1 AND entity_id = ?2 AND (state = 'pending'
                   OR seq IN (SELECT outbox_seq FROM conflicts WHERE resolved IS NULL))"#,
            entry.entity_kind,
            entry.entity_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query(OP))?;
        let pending = waiting > 0;
        if entry.entity_kind == EntityKind::Appointment.as_str() {
            sqlx::query!(
                "UPDATE appointments SET pending = ?2 WHERE id = ?1",
                entry.entity_id,
                pending
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        } else {
            sqlx::query!(
                "UPDATE patients SET pending = ?2 WHERE id = ?1",
                entry.entity_id,
                pending
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
        }
        tx.commit().await.map_err(query(OP))?;
        tracing::info!(
            conflict = decision.conflict_id,
            resolution = how,
            "conflict resolved"
        );
        match retried {
            Some(seq) => self.outbox_entry(seq).await,
            None => Ok(None),
        }
    }

    /// One outbox entry, whatever its state.
    pub async fn outbox_entry(&self, seq: i64) -> Result<Option<OutboxEntry>, CacheError> {
        crate::outbox::entry(&self.readers, seq).await
    }

    /// Whether the cached patient shows a change not yet accepted by the server.
    pub async fn patient_pending(&self, id: &PatientId) -> Result<Option<bool>, CacheError> {
        let id = id.as_str();
        sqlx::query_scalar!(
            r#"SELECT pending AS "pending!: bool" FROM patients WHERE id = ?1"#,
            id
        )
        .fetch_optional(&self.readers)
        .await
        .map_err(query("read a patient's pending flag"))
    }

    /// The server accepted outbox entry `seq` and answered `answer`. In one transaction: the
    /// entry is marked sent with the answer's id and version; for a create made under a local
    /// id, the local id is mapped to the server's wherever the outbox names it; and the cached
    /// patient becomes the server's answer — or, while later changes of it still wait, keeps
    /// showing them on top of the server's identity and version.
    pub async fn complete_patient_write(
        &self,
        seq: i64,
        answer: &Patient,
    ) -> Result<(), CacheError> {
        const OP: &str = "record a patient write's answer";
        let mut tx = self.begin_write(OP).await?;
        let now = Utc::now().to_rfc3339();
        let server_id = answer.id.as_str();
        let entry = sqlx::query!(
            "UPDATE outbox SET state = 'sent', answer_id = ?2, answer_version = ?3, updated = ?4
             WHERE seq = ?1 AND state = 'pending' RETURNING entity_kind, entity_id",
            seq,
            server_id,
            answer.version,
            now
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(OP))?
        .ok_or(CacheError::NotPending { seq })?;
        let kind = EntityKind::Patient.as_str();
        let local_id = entry.entity_id;
        if local_id != server_id {
            sqlx::query!(
                "INSERT OR REPLACE INTO id_map (entity_kind, local_id, server_id, created)
                 VALUES (?1, ?2, ?3, ?4)",
                kind,
                local_id,
                server_id,
                now
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
            sqlx::query!(
                "UPDATE outbox SET entity_id = ?3 WHERE entity_kind = ?1 AND entity_id = ?2",
                kind,
                local_id,
                server_id
            )
            .execute(&mut *tx)
            .await
            .map_err(query(OP))?;
            let old_ref = entity_key(EntityKind::Patient, &local_id);
            let new_ref = entity_key(EntityKind::Patient, server_id);
            let pattern = format!("%{}%", old_ref.replace('%', "\\%").replace('_', "\\_"));
            let referring = sqlx::query!(
                r#"SELECT seq AS "seq!: i64", refs FROM outbox
                   WHERE refs LIKE ?1 ESCAPE '\' AND state != 'sent'"#,
                pattern
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(query(OP))?;
            for row in referring {
                let refs: Vec<String> =
                    serde_json::from_str(&row.refs).map_err(|source| CacheError::Corrupt {
                        what: "outbox entry",
                        id: row.seq.to_string(),
                        source,
                    })?;
                let refs: Vec<String> = refs
                    .into_iter()
                    .map(|r| if r == old_ref { new_ref.clone() } else { r })
                    .collect();
                let refs = encode_body("outbox entry", &row.seq.to_string(), &refs)?;
                sqlx::query!("UPDATE outbox SET refs = ?2 WHERE seq = ?1", row.seq, refs)
                    .execute(&mut *tx)
                    .await
                    .map_err(query(OP))?;
            }
        }
        let later = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!: i64" FROM outbox
               WHERE entity_kind = ?1 AND entity_id = ?2 AND (state = 'pending'
                   OR seq IN (SELECT outbox_seq FROM conflicts WHERE resolved IS NULL))"#,
            kind,
            server_id
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query(OP))?;
        let local_body = sqlx::query_scalar!(
            "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk WHERE p.id = ?1",
            local_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(OP))?;
        let shown = match local_body {
            Some(body) if later > 0 => {
                // Later changes still wait: keep showing them, under the server's identity.
                let mut local: Patient =
                    serde_json::from_str(&body).map_err(|source| CacheError::Corrupt {
                        what: "patient",
                        id: local_id.clone(),
                        source,
                    })?;
                local.id = answer.id.clone();
                local.mrn = answer.mrn.clone();
                local.version = answer.version;
                local.created = answer.created;
                local.updated = answer.updated;
                local.links = answer.links.clone();
                local
            }
            _ => {
                // A newer copy read while the change waited wins over the change's answer.
                let held = sqlx::query!(
                    r#"SELECT version AS "version!: i64", body FROM held_patients WHERE id = ?1"#,
                    server_id
                )
                .fetch_optional(&mut *tx)
                .await
                .map_err(query(OP))?;
                match held {
                    Some(held) if held.version > answer.version => {
                        decode("patient", server_id, &held.body)?
                    }
                    _ => answer.clone(),
                }
            }
        };
        if later == 0 {
            sqlx::query!("DELETE FROM held_patients WHERE id = ?1", server_id)
                .execute(&mut *tx)
                .await
                .map_err(query(OP))?;
        }
        if local_id != server_id {
            delete_patient_in(&mut tx, &local_id).await?;
        }
        // A poll may already have stored a newer version (of a registration it read before
        // this answer was recorded): the cache never goes back to an older one.
        let cached_version = sqlx::query_scalar!(
            r#"SELECT version AS "version!: i64" FROM patients WHERE id = ?1"#,
            server_id
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query(OP))?;
        if later > 0 || cached_version.is_none_or(|v| v <= shown.version) {
            upsert_in(&mut tx, &[(&shown, None)]).await?;
        }
        let pending = later > 0;
        sqlx::query!(
            "UPDATE patients SET pending = ?2 WHERE id = ?1",
            server_id,
            pending
        )
        .execute(&mut *tx)
        .await
        .map_err(query(OP))?;
        release_unclaimed_patient_holds_in(&mut tx).await?;
        tx.commit().await.map_err(query(OP))?;
        Ok(())
    }

    /// The version the server answered to the latest sent entry of this entity before `seq`:
    /// what an entry without a base version sends as `If-Match`.
    pub async fn chained_version(
        &self,
        kind: EntityKind,
        entity_id: &str,
        seq: i64,
    ) -> Result<Option<i64>, CacheError> {
        let kind = kind.as_str();
        let version = sqlx::query_scalar!(
            r#"SELECT answer_version FROM outbox
               WHERE entity_kind = ?1 AND entity_id = ?2 AND seq < ?3 AND state = 'sent'
               ORDER BY seq DESC LIMIT 1"#,
            kind,
            entity_id,
            seq
        )
        .fetch_optional(&self.readers)
        .await
        .map_err(query("read a chained version"))?;
        Ok(version.flatten())
    }

    /// Entities (`kind:id`) with a refused change on the conflict list: their later entries, and
    /// entries referring to them, wait until a person resolves it.
    pub async fn entities_in_conflict(&self) -> Result<HashSet<String>, CacheError> {
        let rows = sqlx::query!(
            "SELECT DISTINCT o.entity_kind, o.entity_id FROM outbox o
             JOIN conflicts c ON c.outbox_seq = o.seq WHERE c.resolved IS NULL"
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("list entities in conflict"))?;
        Ok(rows
            .into_iter()
            .map(|r| format!("{}:{}", r.entity_kind, r.entity_id))
            .collect())
    }

    /// How many refused changes wait for a person.
    pub async fn conflict_count(&self) -> Result<i64, CacheError> {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM conflicts WHERE resolved IS NULL"#)
            .fetch_one(&self.readers)
            .await
            .map_err(query("count conflicts"))
    }

    /// The server's newest copy of a patient whose local change still waits (what "take
    /// theirs" shows), when sync has read one newer than the cached row.
    pub async fn held_server_patient(&self, id: &PatientId) -> Result<Option<Patient>, CacheError> {
        let id = id.as_str();
        let row = sqlx::query_scalar!("SELECT body FROM held_patients WHERE id = ?1", id)
            .fetch_optional(&self.readers)
            .await
            .map_err(query("read a held patient"))?;
        row.map(|body| decode("patient", id, &body)).transpose()
    }

    /// The server's id for an entity created on this desk under `local_id`, once known.
    pub async fn mapped_id(
        &self,
        kind: EntityKind,
        local_id: &str,
    ) -> Result<Option<String>, CacheError> {
        let kind = kind.as_str();
        sqlx::query_scalar!(
            "SELECT server_id FROM id_map WHERE entity_kind = ?1 AND local_id = ?2",
            kind,
            local_id
        )
        .fetch_optional(&self.readers)
        .await
        .map_err(query("read an id mapping"))
    }

    /// Every cached patient's id and version, by id (to compare a cache with the server).
    pub async fn patient_versions(&self) -> Result<Vec<(PatientId, i64)>, CacheError> {
        let rows = sqlx::query!("SELECT id, version FROM patients ORDER BY id")
            .fetch_all(&self.readers)
            .await
            .map_err(query("list patient versions"))?;
        Ok(rows
            .into_iter()
            .map(|r| (PatientId(r.id), r.version))
            .collect())
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    what: &'static str,
    id: &str,
    body: &str,
) -> Result<T, CacheError> {
    serde_json::from_str(body).map_err(|source| CacheError::Corrupt {
        what,
        id: id.to_owned(),
        source,
    })
}

/// After a discarded create, the changes queued behind it can never be sent: later changes of
/// the same entity, and changes that reference it (a booking for a patient registered here),
/// and in turn whatever waits for those (a status move of that booking). Each is recorded as a
/// discarded conflict with the reason, never dropped silently, and what it showed in the cache
/// (a pending booking or payment) goes with it. Entries are visited in queue order, so an entry
/// is always seen after the one it waits for and one pass finds the whole chain.
async fn discard_dependents_in(
    tx: &mut Transaction<'static, Sqlite>,
    kind: &str,
    id: &str,
    by: &str,
    now: &str,
) -> Result<(), CacheError> {
    const OP: &str = "resolve a conflict";
    let root = format!("{kind}:{id}");
    let mut gone: HashSet<String> = HashSet::from([root.clone()]);
    let pending = sqlx::query!(
        r#"SELECT seq AS "seq!: i64", entity_kind, entity_id, operation, refs
           FROM outbox WHERE state = 'pending' ORDER BY seq"#
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query(OP))?;
    for row in pending {
        let key = format!("{}:{}", row.entity_kind, row.entity_id);
        let refs: Vec<String> = decode("outbox refs", &row.seq.to_string(), &row.refs)?;
        let message = if key == root {
            "its registration was discarded"
        } else if let Some(waited) = refs.iter().find(|r| gone.contains(*r)) {
            if waited == &root && kind == EntityKind::Patient.as_str() {
                "the registration of its patient was discarded"
            } else {
                "a change it waited for was discarded"
            }
        } else if gone.contains(&key) {
            "a change it waited for was discarded"
        } else {
            continue;
        };
        gone.insert(key);
        sqlx::query!(
            "UPDATE outbox SET state = 'conflict', updated = ?2 WHERE seq = ?1",
            row.seq,
            now
        )
        .execute(&mut **tx)
        .await
        .map_err(query(OP))?;
        sqlx::query!(
            "INSERT INTO conflicts (outbox_seq, kind, message, created, resolution,
                 resolved_by, resolved)
             VALUES (?1, 'gone', ?2, ?3, 'discarded', ?4, ?3)",
            row.seq,
            message,
            now,
            by
        )
        .execute(&mut **tx)
        .await
        .map_err(query(OP))?;
        if row.operation == "create" && row.entity_kind == EntityKind::Appointment.as_str() {
            sqlx::query!(
                "DELETE FROM appointments WHERE id = ?1 AND pending = 1",
                row.entity_id
            )
            .execute(&mut **tx)
            .await
            .map_err(query(OP))?;
        }
        if row.entity_kind == EntityKind::Payment.as_str() {
            sqlx::query!(
                "DELETE FROM payments WHERE id = ?1 AND pending = 1",
                row.entity_id
            )
            .execute(&mut **tx)
            .await
            .map_err(query(OP))?;
        }
    }
    Ok(())
}

/// Removes a patient (a local placeholder replaced by the server's) inside a write.
async fn delete_patient_in(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
) -> Result<(), CacheError> {
    crate::patients::delete_in(tx, id).await.map(|_| ())
}
