//! The demo clinic: 3 locations in one time zone, 12 providers with weekly hours, lunch breaks and
//! some time off near "today", and the appointment-type catalogue. Deterministic: the same seed
//! and day give the same clinic.

use chrono::{Duration, NaiveDate};
use practice_studio::model::{
    AppointmentType, DayHours, ExceptionKind, Link, Location, LocationAddress, LocationId,
    LocationLinks, LocationRef, LocationSchedule, Provider, ProviderId, ProviderLinks,
    ScheduleException, WeeklySchedule,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::storage::{Storage, StorageError};

const ZONE: &str = "America/Chicago";

fn hours(start: &str, end: &str) -> Option<DayHours> {
    Some(DayHours {
        start: start.into(),
        end: end.into(),
    })
}

fn location(id: &str, name: &str, line1: &str, postal_code: &str, phone: &str) -> Location {
    Location {
        id: LocationId(id.into()),
        name: name.into(),
        address: LocationAddress {
            line1: line1.into(),
            line2: None,
            city: "Springfield".into(),
            state: "IL".into(),
            postal_code: postal_code.into(),
        },
        phone: phone.into(),
        time_zone: ZONE.into(),
        version: 1,
        links: LocationLinks {
            self_: Link {
                href: format!("/api/v1/locations/{id}"),
            },
        },
    }
}

/// The three demo locations (the reference's `LOC-789 Main Clinic` and `LOC-456 North Clinic`
/// among them).
pub fn locations() -> Vec<Location> {
    vec![
        location(
            "LOC-789",
            "Main Clinic",
            "100 Health Way",
            "62704",
            "555-200-1000",
        ),
        location(
            "LOC-456",
            "North Clinic",
            "2500 N Grand Ave",
            "62702",
            "555-200-2000",
        ),
        location(
            "LOC-123",
            "Westside Clinic",
            "880 Wabash Ave",
            "62707",
            "555-200-3000",
        ),
    ]
}

/// The appointment-type catalogue.
pub fn appointment_types() -> Vec<AppointmentType> {
    [
        ("New Patient", 60, "#1d5fa8"),
        ("Follow-up", 30, "#2e8540"),
        ("Annual Physical", 45, "#6f42c1"),
        ("Sick Visit", 20, "#c0392b"),
        ("Procedure", 60, "#a15c00"),
        ("Vaccination", 15, "#0f7c8c"),
        ("Telehealth", 20, "#5b6573"),
    ]
    .into_iter()
    .map(|(name, default_duration, colour)| AppointmentType {
        name: name.into(),
        default_duration,
        colour: colour.into(),
    })
    .collect()
}

const PROVIDERS: [(&str, &str, &str, &str); 12] = [
    ("Sarah", "Johnson", "MD", "Family Medicine"),
    ("Michael", "Chen", "MD", "Internal Medicine"),
    ("Priya", "Patel", "MD", "Pediatrics"),
    ("David", "Okafor", "DO", "Family Medicine"),
    ("Emily", "Novak", "NP", "Family Medicine"),
    ("Carlos", "Ramirez", "MD", "Cardiology"),
    ("Hannah", "Lindqvist", "MD", "Dermatology"),
    ("James", "O'Connor", "PA-C", "Internal Medicine"),
    ("Aisha", "Rahman", "MD", "Obstetrics & Gynecology"),
    ("Thomas", "Becker", "MD", "Orthopedics"),
    ("Grace", "Kim", "NP", "Pediatrics"),
    ("Robert", "Alvarez", "MD", "Family Medicine"),
];

/// Twelve providers, working at one or two locations each.
pub fn providers(seed: u64, today: NaiveDate) -> Vec<Provider> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0C11_41C0);
    let places = locations();
    PROVIDERS
        .iter()
        .enumerate()
        .map(|(i, (first, last, credentials, specialty))| {
            // The reference's own provider is the first.
            let id = if i == 0 {
                "PROV-54321".to_owned()
            } else {
                format!("PROV-{}", 54321 + i * 7)
            };
            let home = &places[i % places.len()];
            let mut at = vec![home.clone()];
            if i % 3 == 0 {
                at.push(places[(i + 1) % places.len()].clone());
            }
            let early = rng.random_bool(0.5);
            let (start, end) = if early {
                ("08:00", "17:00")
            } else {
                ("09:00", "18:00")
            };
            let full_week = WeeklySchedule {
                monday: hours(start, end),
                tuesday: hours(start, end),
                wednesday: hours(start, end),
                thursday: hours(start, end),
                friday: hours(start, "12:00"),
                ..WeeklySchedule::default()
            };
            // A provider at two locations spends Tuesdays and Thursdays at the second.
            let schedules: Vec<LocationSchedule> = at
                .iter()
                .enumerate()
                .map(|(n, place)| {
                    let hours = match (at.len(), n) {
                        (1, _) => full_week.clone(),
                        (_, 0) => WeeklySchedule {
                            tuesday: None,
                            thursday: None,
                            ..full_week.clone()
                        },
                        _ => WeeklySchedule {
                            tuesday: full_week.tuesday.clone(),
                            thursday: full_week.thursday.clone(),
                            ..WeeklySchedule::default()
                        },
                    };
                    LocationSchedule {
                        location_id: place.id.clone(),
                        hours,
                        breaks: vec![DayHours {
                            start: "12:00".into(),
                            end: "13:00".into(),
                        }],
                    }
                })
                .collect();
            let mut exceptions = Vec::new();
            if rng.random_bool(0.4) {
                let off = today + Duration::days(rng.random_range(-20..40));
                exceptions.push(ScheduleException {
                    date: off,
                    kind: ExceptionKind::TimeOff,
                    location_id: None,
                    start: None,
                    end: None,
                    note: Some("Vacation".into()),
                });
            }
            if i % 4 == 1 {
                exceptions.push(ScheduleException {
                    date: today + Duration::days(2),
                    kind: ExceptionKind::TimeOff,
                    location_id: None,
                    start: Some("14:00".into()),
                    end: Some("17:00".into()),
                    note: Some("Training".into()),
                });
            }
            let schedule = schedules
                .first()
                .map(|s| s.hours.clone())
                .unwrap_or_default();
            let email_name = format!(
                "{}.{}",
                first.to_lowercase(),
                last.to_lowercase().replace('\'', "")
            );
            Provider {
                id: ProviderId(id.clone()),
                npi: format!("{}", 1_234_567_890u64 + i as u64 * 1_111),
                first_name: (*first).into(),
                last_name: (*last).into(),
                credentials: (*credentials).into(),
                specialty: (*specialty).into(),
                email: format!("{email_name}@demo.clinic"),
                phone: format!("555-444-{:04}", 3333 + i),
                // One provider has left the practice: listed, but not bookable.
                active: i != 11,
                locations: at
                    .iter()
                    .map(|l| LocationRef {
                        id: l.id.clone(),
                        name: l.name.clone(),
                    })
                    .collect(),
                schedule,
                location_schedules: schedules,
                schedule_exceptions: exceptions,
                version: 1,
                links: ProviderLinks {
                    self_: Link {
                        href: format!("/api/v1/providers/{id}"),
                    },
                    appointments: Link {
                        href: format!("/api/v1/providers/{id}/appointments"),
                    },
                },
            }
        })
        .collect()
}

/// Stores the demo clinic.
pub async fn seed(storage: &dyn Storage, seed: u64, today: NaiveDate) -> Result<(), StorageError> {
    for location in locations() {
        storage.insert_location(&location).await?;
    }
    for kind in appointment_types() {
        storage.insert_appointment_type(&kind).await?;
    }
    for provider in providers(seed, today) {
        storage.insert_provider(&provider).await?;
    }
    Ok(())
}
