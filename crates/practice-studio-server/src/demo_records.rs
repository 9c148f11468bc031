//! Demo medical records: 1–6 SOAP notes per patient over the three years before "today" (never
//! before the patient registered), by the demo providers, some with a PDF attachment (lab results
//! or a referral letter). Deterministic: the same seed, patients and day give the same records.
//!
//! A generated note is stored as a number (`template`): the visit kind and the vitals. [`note`]
//! turns it back into text, so a million patients' notes cost a few bytes each.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use practice_studio::model::RecordContent;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::storage::{AttachmentKind, DemoRecord, Storage, StorageError};

/// The kinds of demo visit: (type, title, subjective, assessment, plan, attachment).
type Visit = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(AttachmentKind, &'static str)>,
);

const VISITS: [Visit; 8] = [
    (
        "Progress Note",
        "Follow-up Visit",
        "Patient reports improvement in symptoms since the last visit; no new complaints.",
        "Hypertension, well-controlled.",
        "Continue current medications. Recheck in 3 months.",
        None,
    ),
    (
        "Progress Note",
        "Annual Physical",
        "Here for a yearly check-up. Exercises twice a week; sleeps well.",
        "Healthy adult; age-appropriate screening due.",
        "Fasting labs ordered. Flu vaccine given. Return in one year.",
        Some((AttachmentKind::LabResults, "lab_results.pdf")),
    ),
    (
        "Progress Note",
        "Sick Visit",
        "Three days of sore throat, mild fever and cough. No shortness of breath.",
        "Viral upper respiratory infection.",
        "Rest, fluids, acetaminophen as needed. Return if worse after 7 days.",
        None,
    ),
    (
        "Lab Result",
        "Blood Work Review",
        "Reviewing recent blood work; patient feels well.",
        "Lipids mildly elevated; glucose normal.",
        "Diet and exercise counselling. Repeat lipid panel in 6 months.",
        Some((AttachmentKind::LabResults, "lab_results.pdf")),
    ),
    (
        "Consultation",
        "Knee Pain",
        "Right knee pain for 6 weeks, worse on stairs. No injury recalled.",
        "Probable patellofemoral pain syndrome.",
        "Physical therapy referral. NSAIDs for two weeks.",
        Some((AttachmentKind::ReferralLetter, "referral_letter.pdf")),
    ),
    (
        "Referral",
        "Cardiology Referral",
        "Occasional palpitations at rest over the past month.",
        "Palpitations, cause to be determined.",
        "Referred to cardiology for Holter monitoring. ECG today normal.",
        Some((AttachmentKind::ReferralLetter, "referral_letter.pdf")),
    ),
    (
        "Progress Note",
        "Diabetes Check",
        "Checks glucose at home, mostly 110-140 fasting. Good adherence.",
        "Type 2 diabetes, stable.",
        "Continue metformin. HbA1c next visit. Foot exam normal.",
        None,
    ),
    (
        "Procedure Note",
        "Skin Lesion Removal",
        "Asked to remove a mole on the back that catches on clothing.",
        "Benign-appearing nevus, removed by shave excision.",
        "Wound care explained. Sutures none. Pathology to follow.",
        None,
    ),
];

/// Vitals variants per visit kind (systolic 106–145, diastolic 66–89, pulse 58–97).
const VARIANTS: i64 = 40 * 24 * 40;

/// The note a template number stands for, or `None` for a number no generator makes.
pub fn note(template: i64) -> Option<RecordContent> {
    if template < 0 {
        return None;
    }
    let visit = VISITS.get(usize::try_from(template / VARIANTS).ok()?)?;
    let variant = template % VARIANTS;
    let systolic = 106 + variant % 40;
    let diastolic = 66 + (variant / 40) % 24;
    let pulse = 58 + (variant / 960) % 40;
    let temperature = ["98.2", "98.4", "98.6", "98.8", "99.1"][(variant % 5) as usize];
    Some(RecordContent {
        subjective: visit.2.into(),
        objective: format!("BP {systolic}/{diastolic}, Pulse {pulse}, Temp {temperature}F."),
        assessment: visit.3.into(),
        plan: visit.4.into(),
    })
}

/// The records of one patient registered at `registered`.
pub fn records_of(
    rng: &mut ChaCha8Rng,
    patient_id: &str,
    registered: DateTime<Utc>,
    providers: &[String],
    today: NaiveDate,
) -> Vec<DemoRecord> {
    let count = rng.random_range(1..=6);
    let first_day = (today - Duration::days(3 * 365)).max(registered.date_naive());
    let span = (today - first_day).num_days().max(1);
    let mut records: Vec<DemoRecord> = (0..count)
        .map(|_| {
            let kind = rng.random_range(0..VISITS.len());
            let visit = &VISITS[kind];
            let day = first_day + Duration::days(rng.random_range(0..span));
            let minutes = rng.random_range(8 * 60..17 * 60) / 15 * 15;
            // Chicago office hours are 14:00–23:00 UTC for most of the year.
            let date = day
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .unwrap_or(registered)
                + Duration::minutes(minutes + 6 * 60);
            let attachments = match visit.5 {
                Some((kind, filename)) if rng.random_bool(0.8) => {
                    vec![(kind, filename, date + Duration::minutes(45))]
                }
                _ => Vec::new(),
            };
            DemoRecord {
                patient_id: patient_id.to_owned(),
                provider_id: providers[rng.random_range(0..providers.len())].clone(),
                record_type: visit.0,
                date,
                title: visit.1,
                template: kind as i64 * VARIANTS + rng.random_range(0..VARIANTS),
                attachments,
            }
        })
        .collect();
    records.sort_by_key(|r| r.date);
    records
}

/// Generates records for every patient, in batches (one transaction each).
pub async fn seed(
    storage: &dyn Storage,
    seed: u64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    const PATIENTS_PER_BATCH: u32 = 2_000;
    let providers: Vec<String> = storage
        .providers()
        .await?
        .into_iter()
        .map(|p| p.id.0)
        .collect();
    if providers.is_empty() {
        return Ok(0);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5245_434f_5244_5331);
    let started = std::time::Instant::now();
    let mut after = 0;
    let mut total = 0;
    loop {
        let patients = storage.patients_after(after, PATIENTS_PER_BATCH).await?;
        let Some(last) = patients.last() else { break };
        after = last.0;
        let batch: Vec<DemoRecord> = patients
            .iter()
            .flat_map(|(_, id, registered)| {
                records_of(&mut rng, id, *registered, &providers, today)
            })
            .collect();
        total += storage.bulk_insert_records(&batch, now).await?;
    }
    tracing::debug!(
        records = total,
        seconds = started.elapsed().as_secs_f64(),
        "demo records generated"
    );
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_template_has_a_note() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let registered = DateTime::parse_from_rfc3339("2020-01-01T08:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let providers = vec!["PROV-54321".to_owned()];
        for i in 0..300 {
            let records = records_of(&mut rng, &format!("PAT-{i}"), registered, &providers, today);
            assert!((1..=6).contains(&records.len()));
            for record in records {
                let note = note(record.template).expect("a note");
                assert!(note.objective.starts_with("BP "));
                assert!(record.date.date_naive() <= today);
            }
        }
        assert_eq!(note(-1), None);
        assert_eq!(note(VARIANTS * VISITS.len() as i64), None);
    }
}
