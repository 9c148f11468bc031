//! Reading ahead: records and invoices of the patients booked in the next two days are cached
//! (only what the signed-in user may read), so they can be read offline.

mod support;

use std::collections::BTreeSet;

use frontdesk_core::SyncOptions;
use practice_studio::client::{InvoiceQuery, RecordQuery};
use practice_studio::model::PatientId;
use support::*;

const CLINICIAN: &str = "clinician@demo.clinic";

fn book_options() -> SyncOptions {
    SyncOptions {
        appointment_window: Some((2, 10)),
        prefetch_days: 2,
        ..options()
    }
}

/// Patients with a cached appointment (not cancelled) starting in `[from, to)` days from Monday
/// (midnight UTC). Reading ahead covers today and the next two days, a day of margin each side:
/// `[-1, 4)`.
async fn booked(engine: &frontdesk_core::SyncEngine, from: i64, to: i64) -> BTreeSet<String> {
    let midnight = monday().and_hms_opt(0, 0, 0).expect("t").and_utc();
    engine
        .store()
        .patients_booked_between(
            midnight + chrono::Duration::days(from),
            midnight + chrono::Duration::days(to),
        )
        .await
        .expect("booked")
        .into_iter()
        .collect()
}

#[tokio::test]
async fn records_and_invoices_of_patients_booked_in_the_next_two_days_are_cached() {
    let server = server(60).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(&dir, client_as(&server.url(), CLINICIAN), book_options()).await;
    engine.first_sync().await.expect("first sync");
    let report = engine.prefetch_upcoming().await.expect("read ahead");
    assert!(report.records_allowed && report.invoices_allowed);
    let soon = booked(&engine, -1, 4).await;
    assert_eq!(report.patients, soon.len());
    assert!(report.patients > 0, "the demo book has patients this week");
    assert!(report.records > 0, "the demo patients have records");

    // Each patient booked soon has exactly the server's records and invoices cached.
    let other = client_as(&server.url(), CLINICIAN);
    for id in &soon {
        let patient = PatientId(id.clone());
        let mut on_server = other
            .records()
            .list(&patient, &RecordQuery::new().limit(100))
            .await
            .expect("records")
            .records;
        let mut cached = engine.store().patient_records(id).await.expect("cached");
        on_server.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        cached.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        assert_eq!(cached, on_server, "records of {id}");
        let invoices = other
            .billing()
            .patient_invoices(&patient, &InvoiceQuery::new().limit(100))
            .await
            .expect("invoices")
            .invoices;
        assert_eq!(
            engine
                .store()
                .patient_invoices(id)
                .await
                .expect("cached")
                .len(),
            invoices.len(),
            "invoices of {id}"
        );
    }
    // Patients not booked soon are read on first view, not ahead.
    let later: Vec<String> = engine
        .store()
        .patient_versions()
        .await
        .expect("patients")
        .into_iter()
        .map(|(id, _)| id.0)
        .filter(|id| !soon.contains(id))
        .collect();
    assert!(!later.is_empty());
    for id in later {
        assert!(engine
            .store()
            .patient_records(&id)
            .await
            .expect("read")
            .is_empty());
        assert!(engine
            .store()
            .patient_invoices(&id)
            .await
            .expect("read")
            .is_empty());
    }
    // Read again: nothing changed, nothing stored.
    let again = engine.prefetch_upcoming().await.expect("read ahead again");
    assert_eq!((again.records, again.invoices), (0, 0));
}

#[tokio::test]
async fn a_receptionist_reads_ahead_no_records() {
    let server = server(60).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(&dir, client_as(&server.url(), RECEPTION), book_options()).await;
    engine.first_sync().await.expect("first sync");
    let report = engine.prefetch_upcoming().await.expect("read ahead");
    assert!(!report.records_allowed, "reception may not read records");
    assert_eq!(report.records, 0);
    assert!(report.invoices_allowed);
    for id in booked(&engine, -1, 4).await {
        assert!(engine
            .store()
            .patient_records(&id)
            .await
            .expect("read")
            .is_empty());
    }
}
