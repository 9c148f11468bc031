//! "Is this patient already registered?" — a score over name, date of birth, phone, email and
//! address, with the reasons, so the desk can show why it asks.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use practice_studio::model::{Address, Patient, PatientId};
use serde::Serialize;

use crate::error::{query, CacheError};
use crate::text;
use crate::Store;

/// A score from which a registration is worth a second look.
pub const DEFAULT_DUPLICATE_THRESHOLD: f64 = 0.75;

/// How much each field counts when both sides have it.
const NAME_WEIGHT: f64 = 0.35;
const DATE_OF_BIRTH_WEIGHT: f64 = 0.30;
const PHONE_WEIGHT: f64 = 0.15;
const EMAIL_WEIGHT: f64 = 0.10;
const ADDRESS_WEIGHT: f64 = 0.10;

/// Candidates read per way of finding them (by name, birth date, phone, email).
const CANDIDATES_PER_SOURCE: i64 = 200;

/// The patient being registered or edited, as far as it is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuplicateProbe {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<Address>,
    /// The patient being edited, who is not their own duplicate.
    pub except: Option<PatientId>,
}

impl DuplicateProbe {
    /// The probe for an existing patient being edited.
    pub fn of(patient: &Patient) -> Self {
        Self {
            first_name: patient.first_name.clone(),
            last_name: patient.last_name.clone(),
            date_of_birth: Some(patient.date_of_birth),
            phone: patient.contact_info.phone.clone(),
            email: patient.contact_info.email.clone(),
            address: patient.contact_info.address.clone(),
            except: Some(patient.id.clone()),
        }
    }
}

/// Which field a reason is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DuplicateField {
    Name,
    DateOfBirth,
    Phone,
    Email,
    Address,
}

/// How alike the two values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Likeness {
    Same,
    /// First and last name exchanged, or day and month.
    Swapped,
    /// Close: a typo, the same local part of an email, the same last seven phone digits…
    Similar,
    Different,
}

/// One field's part in a duplicate score. Fields missing on either side are not listed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldMatch {
    pub field: DuplicateField,
    pub likeness: Likeness,
    /// 0..=1.
    pub strength: f64,
}

/// A cached patient who may be the same person as the probe.
#[derive(Debug, Clone, PartialEq)]
pub struct PossibleDuplicate {
    pub patient: Patient,
    /// 0..=1: the weighted mean of the fields' strengths over the fields both sides have.
    pub score: f64,
    pub fields: Vec<FieldMatch>,
}

impl Store {
    /// Cached patients who may be the person described by `probe`, scoring at least
    /// `threshold` (see [`DEFAULT_DUPLICATE_THRESHOLD`]), most likely first.
    pub async fn possible_duplicates(
        &self,
        probe: &DuplicateProbe,
        threshold: f64,
    ) -> Result<Vec<PossibleDuplicate>, CacheError> {
        let mut ids: Vec<String> = Vec::new();
        let full_name = format!("{} {}", probe.first_name, probe.last_name);
        for typed in [full_name.as_str(), probe.last_name.as_str()] {
            if !typed.trim().is_empty() {
                for hit in self.search_patients(typed, 50).await? {
                    ids.push(hit.id.0);
                }
            }
        }
        let mut bodies: Vec<String> = Vec::new();
        if let Some(date) = probe.date_of_birth {
            let date = date.format("%Y-%m-%d").to_string();
            bodies.extend(
                sqlx::query_scalar!(
                    "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk
                     WHERE p.date_of_birth = ?1 LIMIT ?2",
                    date,
                    CANDIDATES_PER_SOURCE
                )
                .fetch_all(&self.readers)
                .await
                .map_err(query("find duplicates by date of birth"))?,
            );
        }
        if let Some(key) = probe.phone.as_deref().and_then(text::phone_rev) {
            bodies.extend(
                sqlx::query_scalar!(
                    "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk
                     WHERE p.phone_rev = ?1 LIMIT ?2",
                    key,
                    CANDIDATES_PER_SOURCE
                )
                .fetch_all(&self.readers)
                .await
                .map_err(query("find duplicates by phone"))?,
            );
        }
        if let Some(email) = probe.email.as_deref().map(|e| e.trim().to_lowercase()) {
            bodies.extend(
                sqlx::query_scalar!(
                    "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk
                     WHERE p.email_key = ?1 LIMIT ?2",
                    email,
                    CANDIDATES_PER_SOURCE
                )
                .fetch_all(&self.readers)
                .await
                .map_err(query("find duplicates by email"))?,
            );
        }
        if !ids.is_empty() {
            let ids = serde_json::to_string(&ids).map_err(|source| CacheError::Encode {
                what: "duplicate check",
                id: String::new(),
                source,
            })?;
            bodies.extend(
                sqlx::query_scalar!(
                    "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk
                     WHERE p.id IN (SELECT value FROM json_each(?1))",
                    ids
                )
                .fetch_all(&self.readers)
                .await
                .map_err(query("find duplicates by name"))?,
            );
        }
        let mut candidates: HashMap<String, Patient> = HashMap::new();
        for body in bodies {
            let patient: Patient =
                serde_json::from_str(&body).map_err(|source| CacheError::Corrupt {
                    what: "patient",
                    id: String::new(),
                    source,
                })?;
            if probe.except.as_ref() != Some(&patient.id) {
                candidates.insert(patient.id.0.clone(), patient);
            }
        }
        let mut found: Vec<PossibleDuplicate> = candidates
            .into_values()
            .map(|patient| {
                let (score, fields) = compare(probe, &patient);
                PossibleDuplicate {
                    patient,
                    score,
                    fields,
                }
            })
            .filter(|d| d.score >= threshold)
            .collect();
        found.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.patient.id.cmp(&b.patient.id))
        });
        Ok(found)
    }
}

/// The score of `patient` against `probe`, and each field's part in it.
pub(crate) fn compare(probe: &DuplicateProbe, patient: &Patient) -> (f64, Vec<FieldMatch>) {
    let mut fields = Vec::new();
    let mut weighted = 0.0;
    let mut weights = 0.0;
    let mut add = |field, weight: f64, (likeness, strength): (Likeness, f64)| {
        weighted += weight * strength;
        weights += weight;
        fields.push(FieldMatch {
            field,
            likeness,
            strength,
        });
    };
    add(
        DuplicateField::Name,
        NAME_WEIGHT,
        compare_names(probe, patient),
    );
    if let Some(date) = probe.date_of_birth {
        add(
            DuplicateField::DateOfBirth,
            DATE_OF_BIRTH_WEIGHT,
            compare_dates(date, patient.date_of_birth),
        );
    }
    let contact = &patient.contact_info;
    if let (Some(a), Some(b)) = (probe.phone.as_deref(), contact.phone.as_deref()) {
        if let Some(likeness) = compare_phones(a, b) {
            add(DuplicateField::Phone, PHONE_WEIGHT, likeness);
        }
    }
    if let (Some(a), Some(b)) = (probe.email.as_deref(), contact.email.as_deref()) {
        add(DuplicateField::Email, EMAIL_WEIGHT, compare_emails(a, b));
    }
    if let (Some(a), Some(b)) = (probe.address.as_ref(), contact.address.as_ref()) {
        add(
            DuplicateField::Address,
            ADDRESS_WEIGHT,
            compare_addresses(a, b),
        );
    }
    let score = if weights > 0.0 {
        weighted / weights
    } else {
        0.0
    };
    (score, fields)
}

fn joined_tokens(name: &str) -> String {
    text::name_tokens(name)
        .into_iter()
        .map(|t| t.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Names close enough to be one person typed twice; below this they count as different.
const SIMILAR_NAME: f64 = 0.85;

fn compare_names(probe: &DuplicateProbe, patient: &Patient) -> (Likeness, f64) {
    let (pf, pl) = (
        joined_tokens(&probe.first_name),
        joined_tokens(&probe.last_name),
    );
    let (cf, cl) = (
        joined_tokens(&patient.first_name),
        joined_tokens(&patient.last_name),
    );
    if pf == cf && pl == cl {
        return (Likeness::Same, 1.0);
    }
    if pf == cl && pl == cf {
        return (Likeness::Swapped, 0.95);
    }
    let direct = (text::similarity(&pf, &cf) + text::similarity(&pl, &cl)) / 2.0;
    let swapped = 0.95 * (text::similarity(&pf, &cl) + text::similarity(&pl, &cf)) / 2.0;
    let best = direct.max(swapped);
    if best >= SIMILAR_NAME {
        (Likeness::Similar, best)
    } else {
        (Likeness::Different, 0.0)
    }
}

fn compare_dates(a: NaiveDate, b: NaiveDate) -> (Likeness, f64) {
    if a == b {
        (Likeness::Same, 1.0)
    } else if a.year() == b.year() && a.month() == b.day() && a.day() == b.month() {
        // 03/07 typed as 07/03: the American and European orders mixed up.
        (Likeness::Swapped, 0.8)
    } else if (a.year() == b.year() && (a.month() == b.month() || a.day() == b.day()))
        || (a.month() == b.month() && a.day() == b.day())
    {
        (Likeness::Similar, 0.4)
    } else {
        (Likeness::Different, 0.0)
    }
}

/// `None` when either number has no digits (nothing to compare).
fn compare_phones(a: &str, b: &str) -> Option<(Likeness, f64)> {
    let a = text::phone_rev(a)?;
    let b = text::phone_rev(b)?;
    Some(if a == b {
        (Likeness::Same, 1.0)
    } else if a.len() >= 7 && b.len() >= 7 && a[..7] == b[..7] {
        // Same local number, different (or missing) area code.
        (Likeness::Similar, 0.7)
    } else {
        (Likeness::Different, 0.0)
    })
}

fn compare_emails(a: &str, b: &str) -> (Likeness, f64) {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if a == b {
        return (Likeness::Same, 1.0);
    }
    let local = |e: &str| e.split('@').next().unwrap_or_default().to_owned();
    if !local(&a).is_empty() && local(&a) == local(&b) {
        (Likeness::Similar, 0.6)
    } else if text::similarity(&a, &b) >= 0.95 {
        (Likeness::Similar, 0.5)
    } else {
        (Likeness::Different, 0.0)
    }
}

fn compare_addresses(a: &Address, b: &Address) -> (Likeness, f64) {
    let postal = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let same_postal = !a.postal_code.is_empty() && postal(&a.postal_code) == postal(&b.postal_code);
    let line = |s: &str| joined_tokens(s);
    let street = text::similarity(&line(&a.line1), &line(&b.line1));
    let strength =
        if same_postal { 0.5 } else { 0.0 } + if street >= 0.9 { 0.5 * street } else { 0.0 };
    let likeness = if strength >= 0.99 {
        Likeness::Same
    } else if strength >= 0.5 {
        Likeness::Similar
    } else {
        Likeness::Different
    };
    (likeness, strength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_and_month_exchanged_is_a_swapped_birth_date() {
        let a = NaiveDate::from_ymd_opt(1984, 3, 7).expect("date");
        let b = NaiveDate::from_ymd_opt(1984, 7, 3).expect("date");
        assert_eq!(compare_dates(a, b).0, Likeness::Swapped);
        let c = NaiveDate::from_ymd_opt(1990, 11, 20).expect("date");
        assert_eq!(compare_dates(a, c), (Likeness::Different, 0.0));
    }

    #[test]
    fn phones_differing_only_in_area_code_are_similar() {
        assert_eq!(
            compare_phones("(217) 555-0143", "+1 217 555 0143"),
            Some((Likeness::Same, 1.0))
        );
        assert_eq!(
            compare_phones("(217) 555-0143", "(312) 555-0143"),
            Some((Likeness::Similar, 0.7))
        );
        assert_eq!(compare_phones("n/a", "(312) 555-0143"), None);
    }
}
