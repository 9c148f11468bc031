//! Changes made at the desk: checked with the server's own rules, stored (marked pending) with
//! their outbox entry in one transaction, and handed back at once; the sender does the rest.

use practice_studio::model::{
    ErrorDetail, NewPatient, Patient, PatientId, PatientLinks, PatientStatus,
};
use practice_studio::rules::{validate_new_patient, ValidPatient};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use frontdesk_store::{CacheError, EntityKind, NewOutboxEntry};

use super::SyncEngine;

/// The prefix of ids given to patients registered on this desk until the server names them.
pub const LOCAL_PATIENT_PREFIX: &str = "local-";

/// Fields the server sets; a change may not name them.
const READ_ONLY: [&str; 6] = ["id", "mrn", "version", "created", "updated", "_links"];
/// Objects a change merges into one level deep (as the server's JSON Merge Patch does).
const MERGED: [&str; 2] = ["contactInfo", "insurance"];

/// A change accepted by the desk and queued for the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PendingWrite {
    /// The outbox entry's place in the queue.
    pub seq: i64,
    /// The patient's id: a `local-…` id for a registration until the server answers.
    pub patient_id: String,
    /// The patient as the desk now shows it.
    pub patient: Patient,
}

/// Why the desk refused a change before queueing it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The same rules the server applies said no; every problem, by field.
    #[error("the patient's details are not acceptable ({} problems)", .0.len())]
    Invalid(Vec<ErrorDetail>),
    #[error("patient {0} is not in this desk's cache")]
    UnknownPatient(PatientId),
    #[error("the cache failed: {0}")]
    Cache(#[from] CacheError),
}

/// An outbox entry with a fresh `Idempotency-Key` and `X-Request-ID`.
pub(crate) fn new_entry_of(
    kind: EntityKind,
    author: &str,
    entity_id: &str,
    operation: &str,
    payload: Value,
    base_version: Option<i64>,
    refs: Vec<String>,
) -> NewOutboxEntry {
    NewOutboxEntry {
        idempotency_key: format!("idem-{}", random_hex()),
        request_id: format!("req-{}", random_hex()),
        author: author.to_owned(),
        entity_kind: kind,
        entity_id: entity_id.to_owned(),
        operation: operation.to_owned(),
        payload,
        base_version,
        refs,
    }
}

pub(crate) fn random_hex() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn problem(field: &str, issue: &str) -> WriteError {
    WriteError::Invalid(vec![ErrorDetail {
        field: field.to_owned(),
        issue: issue.to_owned(),
        code: None,
    }])
}

/// The patient as the desk shows it after a valid change: `base`'s identity, `valid`'s details.
pub(super) fn shown(
    base: &Patient,
    valid: ValidPatient,
    now: chrono::DateTime<chrono::Utc>,
) -> Patient {
    Patient {
        id: base.id.clone(),
        mrn: base.mrn.clone(),
        first_name: valid.first_name,
        last_name: valid.last_name,
        date_of_birth: valid.date_of_birth,
        gender: valid.gender,
        status: valid.status,
        contact_info: valid.contact_info,
        insurance: valid.insurance,
        emergency_contact: valid.emergency_contact,
        preferred_language: valid.preferred_language,
        preferred_pharmacy: valid.preferred_pharmacy,
        allergies: Some(valid.allergies),
        version: base.version,
        created: base.created,
        updated: now,
        links: base.links.clone(),
    }
}

/// Applies a merge patch to a patient's writable fields, as the server does (`null` clears;
/// `contactInfo` and `insurance` merge one level; everything else is replaced whole).
pub(super) fn merge_patch(
    current: &Patient,
    patch: &Map<String, Value>,
) -> Result<Value, WriteError> {
    let mut target = serde_json::to_value(current)
        .map_err(|_| problem("body", "the cached patient cannot be edited"))?;
    let Value::Object(object) = &mut target else {
        return Err(problem("body", "the cached patient cannot be edited"));
    };
    for field in READ_ONLY {
        object.remove(field);
    }
    for (key, value) in patch {
        match (MERGED.contains(&key.as_str()), value) {
            (_, Value::Null) => {
                object.remove(key);
            }
            (true, Value::Object(inner)) => {
                let slot = object
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    for (inner_key, inner_value) in inner {
                        if inner_value.is_null() {
                            existing.remove(inner_key);
                        } else {
                            existing.insert(inner_key.clone(), inner_value.clone());
                        }
                    }
                }
            }
            (_, value) => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(target)
}

/// The identity of a patient registered on this desk, until the server names them.
pub(super) fn placeholder(
    id: &PatientId,
    valid: &ValidPatient,
    now: chrono::DateTime<chrono::Utc>,
) -> Patient {
    Patient {
        links: PatientLinks::for_patient(id),
        id: id.clone(),
        // The server assigns the MRN.
        mrn: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        date_of_birth: valid.date_of_birth,
        gender: valid.gender,
        status: PatientStatus::Active,
        contact_info: valid.contact_info.clone(),
        insurance: None,
        emergency_contact: None,
        preferred_language: None,
        preferred_pharmacy: None,
        allergies: None,
        version: 0,
        created: now,
        updated: now,
    }
}

/// Checks a merge patch against `current` with the server's rules (read-only fields refused,
/// then the merged patient validated as the server validates it).
pub(super) fn validate_patch(
    current: &Patient,
    patch: &Map<String, Value>,
    today: chrono::NaiveDate,
) -> Result<ValidPatient, WriteError> {
    let read_only: Vec<ErrorDetail> = READ_ONLY
        .iter()
        .filter(|field| patch.contains_key(**field))
        .map(|field| ErrorDetail {
            field: (*field).to_owned(),
            issue: "is read-only".to_owned(),
            code: None,
        })
        .collect();
    if !read_only.is_empty() {
        return Err(WriteError::Invalid(read_only));
    }
    let merged = merge_patch(current, patch)?;
    let input: NewPatient = serde_json::from_value(merged)
        .map_err(|_| problem("body", "does not make a patient's details"))?;
    validate_new_patient(&input, today).map_err(WriteError::Invalid)
}

impl SyncEngine {
    pub(super) fn new_entry(
        &self,
        author: &str,
        entity_id: &str,
        operation: &str,
        payload: Value,
        base_version: Option<i64>,
    ) -> NewOutboxEntry {
        new_entry_of(
            EntityKind::Patient,
            author,
            entity_id,
            operation,
            payload,
            base_version,
            Vec::new(),
        )
    }

    /// Registers a patient at once, offline or not: checked with the server's rules, cached
    /// under a `local-…` id (marked pending) and queued; the server's id replaces the local one
    /// when the registration is accepted ([`super::SyncEvent::WriteAccepted`]).
    pub async fn register_patient(
        &self,
        author: &str,
        patient: &NewPatient,
    ) -> Result<PendingWrite, WriteError> {
        let now = self.inner.clock.now();
        let valid =
            validate_new_patient(patient, self.inner.clock.today()).map_err(WriteError::Invalid)?;
        let id = PatientId(format!("{LOCAL_PATIENT_PREFIX}{}", random_hex()));
        let placeholder = placeholder(&id, &valid, now);
        let local = shown(&placeholder, valid, now);
        let payload = serde_json::to_value(patient)
            .map_err(|_| problem("body", "the patient cannot be encoded"))?;
        let entry = self.new_entry(author, id.as_str(), "create", payload, None);
        let stored = self
            .inner
            .store
            .enqueue_patient_change(&entry, &local)
            .await?;
        tracing::info!(seq = stored.seq, "patient registration queued");
        self.inner.outbox_changed.notify_one();
        Ok(PendingWrite {
            seq: stored.seq,
            patient_id: id.0,
            patient: local,
        })
    }

    /// Changes a cached patient at once: `patch` is a JSON Merge Patch of the fields to change
    /// (as the API's update takes it), checked with the server's rules against the cached
    /// patient, cached (marked pending) and queued with the version it is based on.
    pub async fn update_patient(
        &self,
        author: &str,
        id: &PatientId,
        patch: &Map<String, Value>,
    ) -> Result<PendingWrite, WriteError> {
        let store = &self.inner.store;
        // A screen may still hold the local id of a registration the server has since named.
        let current = store
            .patient_by_any_id(id.as_str())
            .await?
            .ok_or_else(|| WriteError::UnknownPatient(id.clone()))?;
        let id = current.id.clone();
        let valid = validate_patch(&current, patch, self.inner.clock.today())?;
        let local = shown(&current, valid, self.inner.clock.now());
        let entry = self.new_entry(
            author,
            id.as_str(),
            "update",
            Value::Object(patch.clone()),
            Some(current.version),
        );
        let stored = store.enqueue_patient_change(&entry, &local).await?;
        tracing::info!(seq = stored.seq, "patient change queued");
        self.inner.outbox_changed.notify_one();
        Ok(PendingWrite {
            seq: stored.seq,
            patient_id: id.0,
            patient: local,
        })
    }
}
