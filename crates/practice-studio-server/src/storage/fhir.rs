//! Storage of the FHIR R4 searches (`/fhir/r4`): filters the v1 lists do not have (a patient's
//! gender or phone, an appointment's location or instant range, any patient's allergies) over
//! the same tables. Reads of single resources use the v1 storage.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{Allergy, Appointment, InsurancePolicy, Patient, PatientId};

use super::Result;

/// Values of one search parameter that are alternatives (a comma list in FHIR: any may match).
pub type AnyOf<T> = Vec<T>;

/// A half-open interval of instants `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstantRange {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A half-open interval of days `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayRange {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// Patient search. Every field is one parameter (repeated parameters all hold: each entry of
/// an outer `Vec` must match); text matches are case-insensitive prefixes, as FHIR string search.
#[derive(Debug, Clone, Default)]
pub struct PatientSearch {
    pub ids: Vec<AnyOf<String>>,
    pub mrns: Vec<AnyOf<String>>,
    /// Any part of the name (given or family).
    pub names: Vec<AnyOf<String>>,
    pub families: Vec<AnyOf<String>>,
    pub givens: Vec<AnyOf<String>>,
    pub birth_dates: Vec<DayRange>,
    /// Wire genders (`M`, `F`, `O`, `U`).
    pub genders: Vec<AnyOf<String>>,
    /// Digits only; matched against the phone's digits.
    pub phones: Vec<AnyOf<String>>,
    pub limit: u32,
    pub offset: u64,
}

/// Appointment search (in start order).
#[derive(Debug, Clone, Default)]
pub struct AppointmentSearch {
    pub ids: Vec<AnyOf<String>>,
    pub patients: Vec<AnyOf<String>>,
    pub providers: Vec<AnyOf<String>>,
    pub locations: Vec<AnyOf<String>>,
    /// Wire statuses (`scheduled`, `checked_in`, …).
    pub statuses: Vec<AnyOf<String>>,
    /// Ranges the start must fall in.
    pub starts: Vec<InstantRange>,
    pub limit: u32,
    pub offset: u64,
}

/// Medical-record search (newest first).
#[derive(Debug, Clone, Default)]
pub struct RecordSearch {
    pub ids: Vec<AnyOf<String>>,
    pub patients: Vec<AnyOf<String>>,
    /// Record types, matched without regard to case.
    pub types: Vec<AnyOf<String>>,
    pub dates: Vec<InstantRange>,
    pub limit: u32,
    pub offset: u64,
}

/// Whether an invoice is settled (FHIR `balanced`) or still owed (`issued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceSettlement {
    Owed,
    Settled,
}

/// Invoice search (newest first).
#[derive(Debug, Clone, Default)]
pub struct InvoiceSearch {
    pub ids: Vec<AnyOf<String>>,
    pub patients: Vec<AnyOf<String>>,
    pub settlements: Vec<AnyOf<InvoiceSettlement>>,
    pub limit: u32,
    pub offset: u64,
}

/// Allergy search over every patient's list (patient creation order, then list order).
#[derive(Debug, Clone, Default)]
pub struct AllergySearch {
    pub patients: Vec<AnyOf<String>>,
    pub limit: u32,
    pub offset: u64,
}

/// One allergy with the patient it belongs to and its place in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientAllergy {
    pub patient_id: PatientId,
    pub position: usize,
    pub allergy: Allergy,
    /// Every allergen of the patient's list, in order (ids are made unique among them).
    pub allergens: Vec<String>,
}

/// Insurance search over every patient's policies (patient creation order, primary first).
#[derive(Debug, Clone, Default)]
pub struct CoverageSearch {
    pub patients: Vec<AnyOf<String>>,
    pub limit: u32,
    pub offset: u64,
}

/// Which of a patient's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRank {
    Primary,
    Secondary,
}

/// One insurance policy with the patient it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientCoverage {
    pub patient_id: PatientId,
    pub rank: PolicyRank,
    pub policy: InsurancePolicy,
}

#[async_trait]
pub trait FhirStorage: Send + Sync {
    /// How many patients match, and the page.
    async fn fhir_patients(&self, search: &PatientSearch) -> Result<(u64, Vec<Patient>)>;
    async fn fhir_appointments(
        &self,
        search: &AppointmentSearch,
    ) -> Result<(u64, Vec<Appointment>)>;
    /// How many records match, and the ids of the page.
    async fn fhir_record_ids(&self, search: &RecordSearch) -> Result<(u64, Vec<String>)>;
    /// How many invoices match, and the ids of the page.
    async fn fhir_invoice_ids(&self, search: &InvoiceSearch) -> Result<(u64, Vec<String>)>;
    async fn fhir_allergies(&self, search: &AllergySearch) -> Result<(u64, Vec<PatientAllergy>)>;
    async fn fhir_coverages(&self, search: &CoverageSearch) -> Result<(u64, Vec<PatientCoverage>)>;
}
