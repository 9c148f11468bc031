//! Finding a patient as the receptionist types: answered from the encrypted cache (never the
//! network), with the parts that matched, and the user's recently opened charts when the box is
//! empty.

use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{Patient, PatientId, PatientStatus};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{AuditAction, MatchSpan, PatientHit, SearchField};

use crate::desk::{CoreError, Desk};

/// At most this many results per search: what fits the search list on a laptop screen without
/// scrolling; past that the receptionist types more.
pub const SEARCH_LIMIT: usize = 12;
/// At most this many recent patients.
pub const RECENT_LIMIT: usize = 8;

/// Which field of a match a highlight is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum MatchField {
    Id,
    Mrn,
    FirstName,
    LastName,
    DateOfBirth,
    Phone,
}

/// A part of a field that matched what was typed, in characters of the field as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Highlight {
    pub field: MatchField,
    pub start: u32,
    pub end: u32,
}

/// One patient in the search list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatientMatch {
    pub id: String,
    pub mrn: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub phone: Option<String>,
    pub status: PatientStatus,
    pub last_visit: Option<DateTime<Utc>>,
    pub highlights: Vec<Highlight>,
}

/// Arguments of `search_patients`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchArgs {
    /// What was typed: names in any order, MRN, id, phone, or date of birth.
    pub query: String,
}

fn field_of(field: SearchField) -> MatchField {
    match field {
        SearchField::Id => MatchField::Id,
        SearchField::Mrn => MatchField::Mrn,
        SearchField::FirstName => MatchField::FirstName,
        SearchField::LastName => MatchField::LastName,
        SearchField::DateOfBirth => MatchField::DateOfBirth,
        SearchField::Phone => MatchField::Phone,
    }
}

fn highlight(span: &MatchSpan) -> Highlight {
    Highlight {
        field: field_of(span.field),
        start: u32::try_from(span.start).unwrap_or(u32::MAX),
        end: u32::try_from(span.end).unwrap_or(u32::MAX),
    }
}

impl From<PatientHit> for PatientMatch {
    fn from(hit: PatientHit) -> Self {
        Self {
            highlights: hit.spans.iter().map(highlight).collect(),
            id: hit.id.0,
            mrn: hit.mrn,
            first_name: hit.first_name,
            last_name: hit.last_name,
            date_of_birth: hit.date_of_birth,
            phone: hit.phone,
            status: hit.status,
            last_visit: hit.last_visit,
        }
    }
}

impl From<Patient> for PatientMatch {
    fn from(patient: Patient) -> Self {
        Self {
            id: patient.id.0,
            mrn: patient.mrn,
            first_name: patient.first_name,
            last_name: patient.last_name,
            date_of_birth: patient.date_of_birth,
            phone: patient.contact_info.phone,
            status: patient.status,
            last_visit: None,
            highlights: Vec::new(),
        }
    }
}

impl Desk {
    /// Patients matching what was typed, best first, from the cache.
    pub async fn search_patients(&self, query: &str) -> Result<Vec<PatientMatch>, CoreError> {
        self.signed_in().await?;
        let cache = self.cache()?;
        let store = cache.engine.store();
        let hits = store.search_patients(query, SEARCH_LIMIT).await?;
        Ok(hits.into_iter().map(PatientMatch::from).collect())
    }

    /// The charts this user opened last, most recent first (from the audit log).
    pub async fn recent_patients(&self) -> Result<Vec<PatientMatch>, CoreError> {
        let (me, _) = self.signed_in().await?;
        let cache = self.cache()?;
        let mut seen: Vec<String> = Vec::new();
        for entry in cache.audit.recent(500).await? {
            if entry.user_id == me.user_id
                && entry.action == AuditAction::ViewedPatient
                && !seen.contains(&entry.entity_id)
            {
                seen.push(entry.entity_id);
                if seen.len() == RECENT_LIMIT {
                    break;
                }
            }
        }
        let mut recent = Vec::with_capacity(seen.len());
        for id in seen {
            if let Some(patient) = cache.engine.store().patient(&PatientId(id)).await? {
                recent.push(PatientMatch::from(patient));
            }
        }
        Ok(recent)
    }
}
