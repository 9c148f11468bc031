//! Deterministic demo data: the fixed demo identities, and generated patients (same seed and
//! same "today" → same data).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use practice_studio::model::{
    Address, Allergy, ContactInfo, EmergencyContact, Gender, Insurance, InsurancePolicy,
    PatientStatus, Pharmacy,
};
use practice_studio::rules::ValidPatient;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::{password, secret_hash, Role, Scope, Scopes, Tier};
use crate::storage::{ApiKeyRecord, ClientRecord, Storage, StorageError, UserRecord};

pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_SECRET: &str = "demo-secret";
pub const DEMO_API_KEY: &str = "demo-api-key";
pub const DESK_CLIENT: &str = "frontdesk";

/// The demo users: (email, name, role).
pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("reception@demo.clinic", "Rita Reception", Role::Reception),
    (
        "clinician@demo.clinic",
        "Dr. Carl Clinician",
        Role::Clinician,
    ),
    ("billing@demo.clinic", "Bea Billing", Role::Billing),
    ("admin@demo.clinic", "Ada Admin", Role::Admin),
];

/// What `--demo` prints at start-up and the README lists.
pub fn identities_text() -> String {
    let users: Vec<&str> = DEMO_USERS.iter().map(|(email, _, _)| *email).collect();
    format!(
        "Demo sign-in: users {} with password {DEMO_PASSWORD}; desk client {DESK_CLIENT} (public); \
         clients integration-premium and integration-standard with secret {DEMO_SECRET}; \
         API key {DEMO_API_KEY}",
        users.join(", ")
    )
}

/// Creates the demo users, clients and API key.
pub async fn seed_identities(
    storage: &dyn Storage,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let password_hash = password::hash(DEMO_PASSWORD).map_err(StorageError::Corrupt)?;
    for (i, (email, name, role)) in DEMO_USERS.iter().enumerate() {
        storage
            .insert_user(&UserRecord {
                id: format!("USR-{}", 1001 + i),
                email: (*email).into(),
                name: (*name).into(),
                role: *role,
                password_hash: password_hash.clone(),
                failed_logins: 0,
                locked_until: None,
                active: true,
            })
            .await?;
    }
    storage
        .insert_client(&ClientRecord {
            id: DESK_CLIENT.into(),
            name: "Front Desk".into(),
            secret_hash: None,
            tier: Tier::Premium,
            rate_per_minute: Tier::Premium.default_rate(),
            scopes: Scope::ALL.into_iter().collect(),
            grants: vec![
                "password".into(),
                "authorization_code".into(),
                "refresh_token".into(),
            ],
            active: true,
        })
        .await?;
    let secret_hash_value = password::hash(DEMO_SECRET).map_err(StorageError::Corrupt)?;
    let mut integration_scopes: Scopes = Scope::reads();
    integration_scopes.extend([
        Scope::WritePatients,
        Scope::WriteAppointments,
        Scope::AdminWebhooks,
    ]);
    for (id, tier) in [
        ("integration-premium", Tier::Premium),
        ("integration-standard", Tier::Standard),
    ] {
        storage
            .insert_client(&ClientRecord {
                id: id.into(),
                name: format!("Demo integration ({})", tier.as_str()),
                secret_hash: Some(secret_hash_value.clone()),
                tier,
                rate_per_minute: tier.default_rate(),
                scopes: integration_scopes.clone(),
                grants: vec!["client_credentials".into()],
                active: true,
            })
            .await?;
    }
    storage
        .insert_api_key(
            &ApiKeyRecord {
                id: "KEY-1001".into(),
                name: "Demo legacy integration".into(),
                tier: Tier::Standard,
                rate_per_minute: Tier::Standard.default_rate(),
                scopes: Scope::reads(),
                revoked: false,
            },
            &secret_hash(DEMO_API_KEY),
            now,
        )
        .await?;
    Ok(())
}

const FIRST_F: [&str; 24] = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Nancy",
    "Lisa",
    "Maria",
    "Emily",
    "Ana",
    "Grace",
    "Chloe",
    "Sofia",
    "Aisha",
    "Mei",
    "Olivia",
    "Emma",
    "Zoe",
    "Hannah",
];
const FIRST_M: [&str; 24] = [
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Luis", "Wei", "Omar", "Noah", "Liam",
    "Ethan", "Lucas", "Samuel", "Jon", "Ivan",
];
const LAST: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyen",
    "Chen",
    "Patel",
    "Kowalski",
    "O'Brien",
];
const STREETS: [&str; 12] = [
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Pine Rd",
    "Lincoln Ave",
    "Washington Blvd",
    "Lake St",
    "Hill Rd",
    "Park Pl",
    "Sunset Dr",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("Springfield", "IL", "627"),
    ("Chatham", "IL", "626"),
    ("Decatur", "IL", "625"),
    ("Jacksonville", "IL", "626"),
    ("Petersburg", "IL", "626"),
    ("Rochester", "IL", "626"),
];
const INSURERS: [&str; 6] = [
    "Blue Cross",
    "Aetna",
    "United Healthcare",
    "Cigna",
    "Humana",
    "Medicare",
];
const ALLERGENS: [(&str, &str); 6] = [
    ("Penicillin", "Hives"),
    ("Peanuts", "Anaphylaxis"),
    ("Latex", "Rash"),
    ("Sulfa drugs", "Rash"),
    ("Shellfish", "Swelling"),
    ("Codeine", "Nausea"),
];
const SEVERITIES: [&str; 3] = ["Mild", "Moderate", "Severe"];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    format!(
        "555-{:03}-{:04}",
        rng.random_range(100..1000),
        rng.random_range(0..10000)
    )
}

/// One generated patient.
pub fn patient(rng: &mut ChaCha8Rng, today: NaiveDate) -> ValidPatient {
    let female = rng.random_bool(0.52);
    let gender = if rng.random_bool(0.01) {
        Gender::O
    } else if female {
        Gender::F
    } else {
        Gender::M
    };
    let first = if female {
        pick(rng, &FIRST_F)
    } else {
        pick(rng, &FIRST_M)
    };
    let last = pick(rng, &LAST);
    let age_days = rng.random_range(30..(95 * 365));
    let date_of_birth = today - Duration::days(age_days);
    let (city, state, zip3) = *pick(rng, &CITIES);
    let number = rng.random_range(1..9999);
    let address = Address {
        line1: format!("{number} {}", pick(rng, &STREETS)),
        line2: rng.random_bool(0.2).then(|| {
            format!(
                "Apt {}{}",
                rng.random_range(1..20),
                ['A', 'B', 'C'][rng.random_range(0..3)]
            )
        }),
        city: city.into(),
        state: state.into(),
        postal_code: format!("{zip3}{:02}", rng.random_range(1..99)),
        country: Some("USA".into()),
    };
    let email = rng.random_bool(0.8).then(|| {
        format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', ""),
            rng.random_range(1..100)
        )
    });
    let policy = |rng: &mut ChaCha8Rng| {
        let insurer = pick(rng, &INSURERS);
        let prefix: String = insurer.chars().filter(char::is_ascii_uppercase).collect();
        InsurancePolicy {
            provider: (*insurer).into(),
            member_id: format!("{prefix}{}", rng.random_range(100_000_000u64..999_999_999)),
            group_number: format!("GRP{}", rng.random_range(100_000..999_999)),
        }
    };
    let insurance = rng.random_bool(0.9).then(|| Insurance {
        primary: Some(policy(rng)),
        secondary: rng.random_bool(0.15).then(|| policy(rng)),
    });
    let allergies = (0..[0, 0, 0, 1, 1, 2][rng.random_range(0..6)])
        .map(|_| {
            let (allergen, reaction) = *pick(rng, &ALLERGENS);
            Allergy {
                allergen: allergen.into(),
                reaction: reaction.into(),
                severity: (*pick(rng, &SEVERITIES)).into(),
                noted: (today - Duration::days(rng.random_range(30..3000)))
                    .and_hms_opt(10, 30, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let status = match rng.random_range(0..100) {
        0..=1 => PatientStatus::Deceased,
        2..=7 => PatientStatus::Inactive,
        _ => PatientStatus::Active,
    };
    ValidPatient {
        first_name: (*first).into(),
        last_name: (*last).into(),
        date_of_birth,
        gender,
        status,
        contact_info: ContactInfo {
            email,
            phone: Some(phone(rng)),
            address: Some(address),
        },
        insurance,
        emergency_contact: rng.random_bool(0.7).then(|| EmergencyContact {
            name: format!("{} {last}", pick(rng, &FIRST_F)),
            relationship: (*pick(rng, &["Spouse", "Parent", "Sibling", "Child", "Friend"])).into(),
            phone: phone(rng),
        }),
        preferred_language: Some(
            (*pick(
                rng,
                &[
                    "English", "English", "English", "Spanish", "Polish", "Mandarin",
                ],
            ))
            .into(),
        ),
        preferred_pharmacy: rng.random_bool(0.6).then(|| Pharmacy {
            id: format!("PHARM-{}", rng.random_range(100..130)),
            name: (*pick(
                rng,
                &[
                    "City Pharmacy",
                    "Main Street Drugs",
                    "Walgreens #114",
                    "CVS #2231",
                ],
            ))
            .into(),
            phone: phone(rng),
        }),
        allergies,
    }
}

/// Generates `count` patients from `seed` and stores them in batches, registered over the ten
/// years before `today` in id order. Batches are generated as they are stored, so a million
/// patients never sit in memory at once.
pub async fn seed_patients(
    storage: &dyn Storage,
    seed: u64,
    count: u64,
    today: NaiveDate,
) -> Result<u64, StorageError> {
    const BATCH: u64 = 5_000;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let first_day = today - Duration::days(3650);
    let start = first_day
        .and_hms_opt(8, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default();
    let span_seconds = 3650 * 86_400 - 86_400;
    let mut done = 0;
    while done < count {
        let batch: Vec<(ValidPatient, DateTime<Utc>)> = (done..count.min(done + BATCH))
            .map(|i| {
                let at = start + Duration::seconds((i as i64 * span_seconds) / count.max(1) as i64);
                (patient(&mut rng, today), at)
            })
            .collect();
        done += storage.bulk_insert_patients(&batch).await?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_day_give_the_same_patients() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let a: Vec<_> = {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            (0..50).map(|_| patient(&mut rng, today)).collect()
        };
        let b: Vec<_> = {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            (0..50).map(|_| patient(&mut rng, today)).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn generated_patients_pass_the_api_s_own_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..500 {
            let valid = patient(&mut rng, today);
            let input: practice_studio::model::NewPatient =
                serde_json::from_value(serde_json::json!({
                    "firstName": valid.first_name, "lastName": valid.last_name,
                    "dateOfBirth": valid.date_of_birth.to_string(),
                    "gender": serde_json::to_value(valid.gender).expect("gender"),
                    "contactInfo": valid.contact_info, "insurance": valid.insurance,
                    "emergencyContact": valid.emergency_contact,
                    "preferredPharmacy": valid.preferred_pharmacy, "allergies": valid.allergies,
                }))
                .expect("shape");
            practice_studio::rules::validate_new_patient(&input, today).expect("valid");
        }
    }
}
