//! Registering a patient at the desk: the server's own rules checked as the receptionist types,
//! cached patients who may be the same person shown (with why) before saving, and the save
//! itself through the sync engine's outbox, so it works offline and shows as pending until the
//! server confirms it.

use chrono::NaiveDate;
use practice_studio::model::{ErrorDetail, NewPatient};
use practice_studio::rules::validate_new_patient;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{
    DuplicateField, DuplicateProbe, Likeness, PossibleDuplicate, DEFAULT_DUPLICATE_THRESHOLD,
};

use crate::desk::{CoreError, Desk};
use crate::lookup::PatientMatch;
use crate::sync::{PendingWrite, WriteError};

/// Registering needs this scope.
pub const WRITE_PATIENTS: &str = "write:patients";

/// Arguments of `check_new_patient` and `register_patient`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPatientArgs {
    pub patient: NewPatient,
}

/// One field's part in why a cached patient may be the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SameField {
    Name,
    DateOfBirth,
    Phone,
    Email,
    Address,
}

/// How alike a field is on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Alike {
    Same,
    /// First and last name exchanged, or day and month.
    Swapped,
    /// Close: a typo, the same last seven phone digits…
    Similar,
    Different,
}

/// A field both sides have, and how alike it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateReason {
    pub field: SameField,
    pub alike: Alike,
}

/// A cached patient who may be the person being registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateCandidate {
    pub patient: PatientMatch,
    /// 0–100.
    pub likeness_percent: u32,
    pub reasons: Vec<DuplicateReason>,
}

/// What the form shows before saving: the rules' problems by field, and possible duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCheck {
    pub problems: Vec<ErrorDetail>,
    pub duplicates: Vec<DuplicateCandidate>,
}

fn reason(field: DuplicateField, likeness: Likeness) -> DuplicateReason {
    DuplicateReason {
        field: match field {
            DuplicateField::Name => SameField::Name,
            DuplicateField::DateOfBirth => SameField::DateOfBirth,
            DuplicateField::Phone => SameField::Phone,
            DuplicateField::Email => SameField::Email,
            DuplicateField::Address => SameField::Address,
        },
        alike: match likeness {
            Likeness::Same => Alike::Same,
            Likeness::Swapped => Alike::Swapped,
            Likeness::Similar => Alike::Similar,
            Likeness::Different => Alike::Different,
        },
    }
}

fn candidate(duplicate: PossibleDuplicate) -> DuplicateCandidate {
    let percent = (duplicate.score.clamp(0.0, 1.0) * 100.0).round();
    DuplicateCandidate {
        // `percent` is within 0..=100 after the clamp.
        likeness_percent: percent as u32,
        reasons: duplicate
            .fields
            .iter()
            .map(|f| reason(f.field, f.likeness))
            .collect(),
        patient: PatientMatch::from(duplicate.patient),
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Desk {
    /// The rules' problems and possible duplicates of a patient being registered (nothing is
    /// saved). Duplicates are looked for once a first and last name are typed.
    pub async fn check_new_patient(
        &self,
        patient: &NewPatient,
    ) -> Result<RegistrationCheck, CoreError> {
        self.signed_in().await?;
        let problems = match validate_new_patient(patient, self.inner.clock.today()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        };
        let mut duplicates = Vec::new();
        if !patient.first_name.trim().is_empty() && !patient.last_name.trim().is_empty() {
            let probe = DuplicateProbe {
                first_name: patient.first_name.trim().to_owned(),
                last_name: patient.last_name.trim().to_owned(),
                date_of_birth: NaiveDate::parse_from_str(patient.date_of_birth.trim(), "%Y-%m-%d")
                    .ok(),
                phone: non_empty(&patient.contact_info.phone),
                email: non_empty(&patient.contact_info.email),
                address: patient.contact_info.address.clone(),
                except: None,
            };
            duplicates = self
                .cache()?
                .engine
                .store()
                .possible_duplicates(&probe, DEFAULT_DUPLICATE_THRESHOLD)
                .await?
                .into_iter()
                .take(5)
                .map(candidate)
                .collect();
        }
        Ok(RegistrationCheck {
            problems,
            duplicates,
        })
    }

    /// Registers the patient through the outbox: cached at once (pending), sent when the server
    /// can be reached.
    pub async fn register_patient(&self, patient: &NewPatient) -> Result<PendingWrite, CoreError> {
        let (me, _) = self.signed_in().await?;
        if !me.offers.register_patients {
            return Err(CoreError::NotAllowed(crate::roles::Offers::why_not(
                crate::roles::Offer::RegisterPatients,
                &me.role,
            )));
        }
        let write = self
            .cache()?
            .engine
            .register_patient(&me.user_id, patient)
            .await
            .map_err(|error| match error {
                WriteError::Invalid(problems) => CoreError::Invalid(problems),
                WriteError::Cache(cache) => CoreError::Cache(cache),
                WriteError::UnknownPatient(id) => CoreError::NotFound {
                    what: "patient",
                    id: id.0,
                },
            })?;
        Ok(write)
    }
}
