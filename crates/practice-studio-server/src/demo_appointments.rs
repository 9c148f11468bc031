//! The demo book: appointments from 90 days before to 60 days after the demo's today, laid into
//! each provider's real working spans (hours less breaks and time off, in the location's zone).
//! Mornings are busy, afternoons have gaps; past visits are mostly completed with some
//! cancellations and no-shows; today is in progress at the moment the server starts.
//! Deterministic: the same seed, day and patients give the same book (the statuses of today's
//! appointments follow the time of day the demo starts).

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentLinks, AppointmentLocation, AppointmentStatus,
    AppointmentType, PatientId,
};
use practice_studio::rules::slots::{provider_at, working_spans, Availability};
use practice_studio::rules::TimeSpan;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::storage::{Storage, StorageError};

/// Days of history and of future bookings around today.
const DAYS_BACK: i64 = 90;
const DAYS_AHEAD: i64 = 60;
/// Patients the book draws from (the first active ones).
const PATIENT_POOL: u32 = 3_000;
/// Bookings go on this grid of minutes.
const GRID: i64 = 15;

const CANCEL_REASONS: [&str; 5] = [
    "Patient called to cancel",
    "Patient unwell",
    "Transport problem",
    "Rescheduled by the clinic",
    "Weather",
];

fn reason_for(kind: &str, rng: &mut ChaCha8Rng) -> Option<String> {
    let reasons: &[&str] = match kind {
        "New Patient" => &["New to practice", "Establish care"],
        "Follow-up" => &[
            "Diabetes follow-up",
            "Blood pressure check",
            "Review lab results",
            "Medication review",
        ],
        "Annual Physical" => &["Annual physical", "Yearly check-up"],
        "Sick Visit" => &["Sore throat", "Fever", "Cough", "Back pain", "Rash"],
        _ => &["Routine visit", "Consultation"],
    };
    rng.random_bool(0.9)
        .then(|| reasons[rng.random_range(0..reasons.len())].to_owned())
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// Generates and stores the book; returns how many appointments it made.
pub async fn seed<S: Storage + ?Sized>(
    storage: &S,
    seed: u64,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<u64, StorageError> {
    let patients = storage.active_patient_ids(PATIENT_POOL).await?;
    if patients.is_empty() {
        return Ok(0);
    }
    let providers = storage.providers().await?;
    let locations = storage.locations().await?;
    let types: Vec<AppointmentType> = storage.appointment_types().await?;
    if types.is_empty() {
        return Ok(0);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0a99_0000_7e57_0001);
    let mut drafts = Vec::new();
    for provider in providers.iter().filter(|p| p.active) {
        // Every span this provider is booked for, across locations.
        let mut taken: Vec<TimeSpan> = Vec::new();
        for reference in &provider.locations {
            let Some(location) = locations.iter().find(|l| l.id == reference.id) else {
                continue;
            };
            let Ok(zone) = location.time_zone.parse::<Tz>() else {
                continue;
            };
            let (sessions, breaks, exceptions) = provider_at(provider, &location.id);
            let availability = Availability {
                zone,
                sessions: &sessions,
                breaks: &breaks,
                exceptions: &exceptions,
                booked: &[],
            };
            let embedded = AppointmentLocation {
                id: location.id.clone(),
                name: location.name.clone(),
                address: location.address.clone(),
            };
            for offset in -DAYS_BACK..=DAYS_AHEAD {
                let date = today + Duration::days(offset);
                for span in working_spans(&availability, date) {
                    let mut cursor = span.start;
                    while cursor + minutes(GRID) <= span.end {
                        let morning = cursor.with_timezone(&zone).hour() < 12;
                        let busy = if morning { 0.85 } else { 0.55 };
                        if !rng.random_bool(busy) {
                            cursor += minutes(GRID * rng.random_range(1..=2));
                            continue;
                        }
                        let kind = &types[rng.random_range(0..types.len())];
                        let length = minutes(i64::from(kind.default_duration.max(5)));
                        let Ok(wanted) = TimeSpan::new(cursor, cursor + length) else {
                            break;
                        };
                        if wanted.end > span.end {
                            break;
                        }
                        if taken.iter().any(|t| t.overlaps(&wanted)) {
                            cursor += minutes(GRID);
                            continue;
                        }
                        let patient = patients[rng.random_range(0..patients.len())].clone();
                        let appointment = book(
                            &mut rng,
                            (provider.id.clone(), patient),
                            embedded.clone(),
                            kind,
                            wanted,
                            now,
                        );
                        if appointment.status.holds_time() {
                            taken.push(wanted);
                        }
                        drafts.push(appointment);
                        cursor = wanted.end;
                    }
                }
            }
        }
    }
    storage.bulk_insert_appointments(&drafts).await
}

/// One appointment at `wanted`, its status and stamps following where it lies relative to now.
fn book(
    rng: &mut ChaCha8Rng,
    (provider_id, patient_id): (practice_studio::model::ProviderId, PatientId),
    location: AppointmentLocation,
    kind: &AppointmentType,
    wanted: TimeSpan,
    now: DateTime<Utc>,
) -> Appointment {
    let id = AppointmentId("APPT-demo".into());
    let booked_ahead = Duration::days(rng.random_range(1..=30)) + minutes(rng.random_range(0..600));
    let created = (wanted.start - booked_ahead).min(now - minutes(1));
    let mut appointment = Appointment {
        links: AppointmentLinks::new(&id, &patient_id, &provider_id),
        id,
        patient_id,
        provider_id,
        start_time: wanted.start,
        end_time: wanted.end,
        kind: kind.name.clone(),
        status: AppointmentStatus::Scheduled,
        reason: reason_for(&kind.name, rng),
        notes: rng
            .random_bool(0.1)
            .then(|| "Patient requested morning appointment".to_owned()),
        location,
        checked_in_at: None,
        roomed_at: None,
        completed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        no_show_at: None,
        version: 1,
        created,
        updated: created,
    };
    let roll: f64 = rng.random();
    let arrived = wanted.start - minutes(rng.random_range(0..15));
    let roomed = wanted.start + minutes(rng.random_range(0..10));
    if roll < 0.07 {
        // Cancelled ahead of time, in the past or the future.
        let at = (wanted.start - minutes(rng.random_range(60..4_000)))
            .max(created)
            .min(now);
        appointment.status = AppointmentStatus::Cancelled;
        appointment.cancelled_at = Some(at);
        appointment.cancel_reason =
            Some(CANCEL_REASONS[rng.random_range(0..CANCEL_REASONS.len())].to_owned());
    } else if wanted.end <= now {
        if roll < 0.12 {
            appointment.status = AppointmentStatus::NoShow;
            appointment.no_show_at = Some((wanted.start + minutes(20)).min(now));
        } else {
            appointment.status = AppointmentStatus::Completed;
            appointment.checked_in_at = Some(arrived);
            appointment.roomed_at = Some(roomed);
            appointment.completed_at = Some(
                (wanted.end + minutes(rng.random_range(-5..10)))
                    .max(roomed)
                    .min(now),
            );
        }
    } else if wanted.start <= now {
        // Under way now.
        appointment.checked_in_at = Some(arrived);
        if roomed <= now {
            appointment.status = AppointmentStatus::InRoom;
            appointment.roomed_at = Some(roomed);
        } else {
            appointment.status = AppointmentStatus::CheckedIn;
        }
    } else if wanted.start - now <= minutes(20) && arrived <= now {
        // Early arrivals in the waiting room.
        appointment.status = AppointmentStatus::CheckedIn;
        appointment.checked_in_at = Some(arrived);
    }
    appointment.updated = [
        appointment.checked_in_at,
        appointment.roomed_at,
        appointment.completed_at,
        appointment.cancelled_at,
        appointment.no_show_at,
    ]
    .into_iter()
    .flatten()
    .fold(created, DateTime::max);
    appointment
}
