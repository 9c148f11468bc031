//! The SDK's v2 beta calls against the real server on loopback: cursor paging over every
//! patient, and bulk writes that share idempotency keys with the SDK's single requests.

mod support;

use std::collections::HashSet;

use practice_studio::client::Auth;
use practice_studio::model::{ContactInfo, NewPatient};
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
