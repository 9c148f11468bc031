//! The SDK's v2 beta calls against the real server on loopback: cursor paging over every
//! patient, and bulk writes that share idempotency keys with the SDK's single requests.

mod support;

use std::collections::HashSet;

use practice_studio::client::{
    AppointmentCursorQuery, Auth, Error, PatientCursorQuery, PatientQuery,
};
use practice_studio::model::{Appointment, ContactInfo, NewPatient, Patient};
use practice_studio::v2::BulkItem;
use support::TestServer;

fn admin() -> Auth {
    Auth::password("frontdesk", "admin@demo.clinic", "demo-password")
}

fn new_patient(first: &str) -> NewPatient {
    NewPatient {
        first_name: first.into(),
        last_name: "Bulkley".into(),
        date_of_birth: "1975-08-22".into(),
        gender: "F".into(),
        contact_info: ContactInfo {
            phone: Some("555-987-6543".into()),
            ..ContactInfo::default()
        },
        ..NewPatient::default()
    }
}

#[tokio::test]
async fn cursor_pages_cover_every_patient_once() {
    let api = TestServer::demo(75).await;
    let client = api.client(admin());
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .v2()
            .patients(cursor.as_deref(), 20)
            .await
            .expect("page");
        for patient in &page.patients {
            assert!(seen.insert(patient.id.clone()), "{} twice", patient.id);
        }
        cursor = Some(page.next_cursor.clone());
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen.len(), 75);
    let created = client
        .patients()
        .create(&new_patient("Late"))
        .await
        .expect("create");
    let after = client
        .v2()
        .patients(cursor.as_deref(), 20)
        .await
        .expect("page");
    assert_eq!(after.patients.len(), 1);
    assert_eq!(after.patients[0].id, created.id);
    let appointments = client.v2().appointments(None, 5).await.expect("page");
    assert_eq!(appointments.appointments.len(), 5);
}

#[tokio::test]
async fn bulk_items_replay_the_sdks_single_requests_with_the_same_key() {
    let api = TestServer::demo(5).await;
    let client = api.client(admin());
    let single = client
        .patients()
        .create(&new_patient("Single"))
        .idempotency_key("sdk-key-1")
        .await
        .expect("single create");
    let items = vec![
        BulkItem::create(&new_patient("Single"))
            .expect("item")
            .idempotency_key("sdk-key-1"),
        BulkItem::create(&new_patient("Fresh"))
            .expect("item")
            .idempotency_key("sdk-key-2"),
        BulkItem::update(
            single.id.as_str(),
            &serde_json::json!({ "preferredLanguage": "Spanish" }),
        )
        .expect("item")
        .if_match(single.version - 1),
    ];
    let answer = client.v2().bulk_patients(&items).await.expect("bulk");
    assert_eq!(answer.succeeded, 2);
    assert_eq!(answer.failed, 1);
    let first = &answer.results[0];
    assert!(first.succeeded() && first.replayed, "{first:?}");
    assert_eq!(
        first.resource.as_ref().expect("resource")["id"],
        single.id.as_str()
    );
    assert!(answer.results[1].succeeded() && !answer.results[1].replayed);
    assert_eq!(answer.results[2].status, 409, "a stale If-Match");
    // Each item's answer reads as its single request's would.
    let mut results = answer.results.into_iter();
    let replayed: Patient = results
        .next()
        .expect("first")
        .into_result()
        .expect("a patient");
    assert_eq!(replayed, single);
    assert!(results
        .next()
        .expect("second")
        .into_result::<Patient>()
        .is_ok());
    let stale = results.next().expect("third").into_result::<Patient>();
    assert!(matches!(stale, Err(Error::VersionMismatch(_))), "{stale:?}");
}

#[tokio::test]
async fn full_cursor_pages_match_v1_s_full_list_and_appointments_keep_to_their_dates() {
    let api = TestServer::demo(45).await;
    let client = api.client(admin());
    let mut by_cursor: Vec<Patient> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .v2()
            .patient_page(&PatientCursorQuery::new(20).full().after(cursor.as_deref()))
            .await
            .expect("page");
        by_cursor.extend(page.patients);
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    let v1 = client
        .patients()
        .list(
            &PatientQuery::new()
                .full()
                .limit(100)
                .sort(practice_studio::client::PatientSort::Created),
        )
        .await
        .expect("v1");
    assert_eq!(
        by_cursor, v1.patients,
        "the same full objects in the same order"
    );
    assert!(by_cursor.iter().any(|p| p.allergies.is_some()));
    let summaries = client.v2().patients(None, 45).await.expect("summaries");
    assert!(summaries.patients.iter().all(|p| p.allergies.is_none()));

    let some = client.v2().appointments(None, 1).await.expect("one");
    let day = some.appointments[0].start_time.date_naive();
    let (from, to) = (
        day - chrono::Duration::days(1),
        day + chrono::Duration::days(1),
    );
    let page = client
        .v2()
        .appointment_page(&AppointmentCursorQuery::new(100).dates(from, to))
        .await
        .expect("appointments");
    assert!(!page.appointments.is_empty());
    let v1_days: Vec<Appointment> = client
        .appointments()
        .list(
            &practice_studio::client::AppointmentQuery::new()
                .dates(from, to)
                .sort(practice_studio::client::AppointmentSort::Created)
                .limit(100),
        )
        .await
        .expect("v1")
        .appointments;
    let n = page.appointments.len().min(v1_days.len());
    assert_eq!(page.appointments[..n], v1_days[..n]);
}

#[tokio::test]
async fn a_bulk_request_spends_one_request_of_the_limit_per_ten_items() {
    let api = TestServer::demo(1).await;
    let client = api.client(admin());
    client.me().await.expect("the limit is learned");
    let before = client.rate_limit().expect("known");
    assert_eq!(client.bulk_capacity(), Some(100));
    let items: Vec<BulkItem> = (0..25)
        .map(|i| {
            BulkItem::create(&new_patient(&format!("Costly{i}")))
                .expect("item")
                .idempotency_key(format!("cost-{i}"))
        })
        .collect();
    let answer = client.v2().bulk_patients(&items).await.expect("bulk");
    assert_eq!(answer.succeeded, 25);
    let after = client.rate_limit().expect("known");
    // Three requests of the limit (25 items), as the server counted them and the client's
    // bucket agrees (both on the test's clock, which stood still).
    let spent = i64::from(before.available) - i64::from(after.available);
    assert_eq!(spent, 3, "{before:?} then {after:?}");
}

#[tokio::test]
async fn the_enhanced_search_finds_a_misspelt_name_and_pages_its_ranking() {
    let api = TestServer::demo(60).await;
    let client = api.client(admin());
    let mut wanted = new_patient("Philippa");
    wanted.last_name = "Worthington".into();
    let created = client.patients().create(&wanted).await.expect("create");
    let filters = practice_studio::v2::PatientSearchFilters::default();
    // A letter missing from each name.
    let page = client
        .v2()
        .search_patients("philipa wortington", &filters, None, 5)
        .await
        .expect("search");
    assert_eq!(page.patients.first().map(|p| &p.id), Some(&created.id));
    assert_eq!(page.scores.len(), page.patients.len());
    assert!(
        page.scores[0] > 0.5 && page.scores[0] < 1.0,
        "{:?}",
        page.scores
    );
    // Filters go to the server: nobody inactive by that name.
    let inactive = practice_studio::v2::PatientSearchFilters {
        status: Some(practice_studio::model::PatientStatus::Inactive),
        ..Default::default()
    };
    let none = client
        .v2()
        .search_patients("worthington", &inactive, None, 5)
        .await
        .expect("search");
    assert!(none.patients.is_empty());
    // Paging a broad search sends nobody twice.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client
            .v2()
            .search_patients("a", &filters, cursor.as_deref(), 4)
            .await
            .expect("page");
        for patient in &page.patients {
            assert!(seen.insert(patient.id.clone()), "{} twice", patient.id);
        }
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    assert!(seen.len() > 4, "more than one page: {}", seen.len());
}

#[tokio::test]
async fn the_sdk_pages_every_new_v2_list_by_cursor_as_v1_lists_it() {
    use chrono::{TimeZone, Utc};
    use practice_studio::client::SlotQuery;
    use practice_studio::model::{
        LocationId, NewWaitlistEntry, NewWebhook, ProviderId, WaitlistPreferences,
    };
    let api = TestServer::demo(20).await;
    let client = api.client(admin());
    let v2 = client.v2();

    // The reference lists, two at a time.
    let mut locations = Vec::new();
    let mut providers = Vec::new();
    let mut types = Vec::new();
    let (mut l, mut p, mut t) = (None::<String>, None::<String>, None::<String>);
    loop {
        let page = v2.locations(l.as_deref(), 2).await.expect("locations");
        locations.extend(page.locations.into_iter().map(|x| x.id.0));
        l = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    loop {
        let page = v2.providers(p.as_deref(), 2).await.expect("providers");
        providers.extend(page.providers.into_iter().map(|x| x.id.0));
        p = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    loop {
        let page = v2.appointment_types(t.as_deref(), 2).await.expect("types");
        types.extend(page.appointment_types.into_iter().map(|x| x.name));
        t = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    let v1_locations = client.clinic().locations().await.expect("v1");
    let v1_types = client.clinic().appointment_types().await.expect("v1");
    assert_eq!(
        locations,
        v1_locations
            .locations
            .iter()
            .map(|x| x.id.0.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        types,
        v1_types
            .appointment_types
            .iter()
            .map(|x| x.name.clone())
            .collect::<Vec<_>>()
    );
    assert!(providers.len() >= 3);

    // Slots, ten at a time, are v1's.
    let provider = ProviderId("PROV-54321".into());
    let query = SlotQuery::new(
        "2027-02-01".parse().expect("date"),
        "2027-02-02".parse().expect("date"),
    )
    .location(LocationId("LOC-789".into()));
    let mut slots = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = v2
            .slots(&provider, &query, cursor.as_deref(), 10)
            .await
            .expect("slots");
        assert_eq!(page.duration, 30);
        slots.extend(page.slots);
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    let v1_slots = client.clinic().slots(&provider, &query).await.expect("v1");
    assert!(slots.len() > 10);
    assert_eq!(slots, v1_slots.slots);

    // Webhooks and a webhook's deliveries.
    let mut hooks = Vec::new();
    for n in 0..3 {
        let hook = client
            .webhooks()
            .create(&NewWebhook {
                url: format!("http://127.0.0.1:9/hook/{n}"),
                events: vec!["patient.created".into()],
            })
            .await
            .expect("subscribe");
        hooks.push(hook.id);
    }
    let first = v2.webhooks(None, 2).await.expect("webhooks");
    assert!(first.has_more);
    let second = v2
        .webhooks(Some(&first.next_cursor), 2)
        .await
        .expect("webhooks");
    let listed: Vec<String> = first
        .webhooks
        .iter()
        .chain(&second.webhooks)
        .map(|w| w.id.clone())
        .collect();
    assert_eq!(listed, hooks);
    let created = client
        .patients()
        .create(&new_patient("Hooked"))
        .await
        .expect("create");
    let mut delivered = Vec::new();
    for _ in 0..1200 {
        delivered = v2
            .deliveries(&hooks[0], None, 10)
            .await
            .expect("deliveries")
            .deliveries;
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(delivered.len(), 1, "one delivery of {}", created.id);
    assert_eq!(delivered[0].event, "patient.created");

    // Candidates for a freed slot, one at a time, in v1's ranking.
    let patients = client
        .patients()
        .list(&PatientQuery::new().limit(2))
        .await
        .expect("patients")
        .patients;
    for (patient, named) in patients.iter().zip([false, true]) {
        let preferences = WaitlistPreferences {
            provider_ids: if named {
                vec![provider.clone()]
            } else {
                vec![]
            },
            ..WaitlistPreferences::default()
        };
        client
            .waitlist()
            .add(&NewWaitlistEntry {
                patient_id: patient.id.clone(),
                kind: "Follow-up".into(),
                duration: None,
                reason: None,
                notes: None,
                preferences,
            })
            .await
            .expect("joins");
    }
    let location = LocationId("LOC-789".into());
    let start = Utc
        .with_ymd_and_hms(2027, 2, 2, 16, 0, 0)
        .single()
        .expect("time");
    let end = start + chrono::Duration::minutes(30);
    let mut ranked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = v2
            .candidates(&provider, &location, (start, end), cursor.as_deref(), 1)
            .await
            .expect("candidates");
        ranked.extend(page.candidates.into_iter().map(|c| c.entry.id));
        cursor = Some(page.next_cursor);
        if !page.has_more {
            break;
        }
    }
    let v1_ranked: Vec<String> = client
        .waitlist()
        .candidates(&provider, &location, start, end)
        .await
        .expect("v1")
        .candidates
        .into_iter()
        .map(|c| c.entry.id)
        .collect();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked, v1_ranked);
}
