//! The SDK's appointment calls against the real server on loopback: the lists and their
//! filters, the walk over every page, booking (and the clash it refuses), every status helper,
//! rescheduling, and `If-Match`.

mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::TryStreamExt;
use practice_studio::client::{AppointmentQuery, Error, Priority};
use practice_studio::model::{
    Appointment, AppointmentStatus, LocationId, NewAppointment, PatientId, ProviderId,
};
use support::{reception, TestServer};

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

fn new_appointment(patient: &PatientId, start: DateTime<Utc>) -> NewAppointment {
    NewAppointment {
        patient_id: patient.clone(),
        provider_id: ProviderId("PROV-54321".into()),
        start_time: start,
        end_time: start + Duration::minutes(30),
        kind: "Follow-up".into(),
        reason: Some("Blood pressure check".into()),
        notes: None,
        location_id: LocationId("LOC-789".into()),
    }
}

#[tokio::test]
async fn the_book_is_listed_walked_and_filtered() {
    let api = TestServer::demo(30).await;
    let client = api.client(reception());
    let week = AppointmentQuery::new().dates(day("2026-11-23"), day("2026-11-27"));
    let page = client
        .appointments()
        .list(&week.clone().limit(100))
        .await
        .expect("list");
    assert!(page.total > 100, "a busy demo week: {}", page.total);
    let walked: Vec<Appointment> = client
        .appointments()
        .all(&week, Priority::Background)
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(walked.len() as u64, page.total);
    let mut ids: Vec<_> = walked.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), walked.len(), "no appointment twice");

    let first = &walked[0];
    let fetched = client.appointments().get(&first.id).await.expect("get");
    assert_eq!(&fetched, first);
    let followed: Appointment = client.follow(&first.links.self_).await.expect("follow");
    assert_eq!(&followed, first);
    let theirs = client
        .appointments()
        .of_patient(&first.patient_id, &week.clone().limit(100))
        .await
        .expect("patient's");
    assert!(theirs.appointments.iter().any(|a| a.id == first.id));
    assert!(theirs
        .appointments
        .iter()
        .all(|a| a.patient_id == first.patient_id));
    let book = client
        .appointments()
        .of_provider(
            &first.provider_id,
            &week.clone().status(first.status).limit(100),
        )
        .await
        .expect("provider's");
    assert!(book
        .appointments
        .iter()
        .all(|a| a.provider_id == first.provider_id && a.status == first.status));
    let missing = client
        .appointments()
        .get(&practice_studio::model::AppointmentId("APPT-1".into()))
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

#[tokio::test]
async fn booking_status_moves_rescheduling_and_versions() {
    let api = TestServer::demo(30).await;
    let client = api.client(reception());
    let patient = client
        .patients()
        .list(&practice_studio::client::PatientQuery::new().limit(1))
        .await
        .expect("patients")
        .patients[0]
        .id
        .clone();
    // Past the demo book: Monday 1 February 2027, 10:00 in Chicago (16:00 UTC).
    let start = at("2027-02-01T16:00:00Z");
    let booked = client
        .appointments()
        .create(&new_appointment(&patient, start))
        .await
        .expect("booked");
    assert_eq!(booked.status, AppointmentStatus::Scheduled);
    let clash = client
        .appointments()
        .create(&new_appointment(&patient, start + Duration::minutes(15)))
        .await;
    assert!(matches!(clash, Err(Error::Conflict(_))), "{clash:?}");

    let moved = client
        .appointments()
        .reschedule(&booked.id, start + Duration::hours(1), None)
        .if_match(booked.version)
        .await
        .expect("moved");
    assert_eq!(moved.end_time, start + Duration::minutes(90));
    let stale = client
        .appointments()
        .cancel(&booked.id, "Weather")
        .if_match(booked.version)
        .await;
    assert!(matches!(stale, Err(Error::VersionMismatch(_))), "{stale:?}");

    let arrived = api.clock.now() - Duration::minutes(20);
    let checked_in = client
        .appointments()
        .set_status(&booked.id, AppointmentStatus::CheckedIn, Some(arrived))
        .await
        .expect("checked in");
    assert_eq!(checked_in.checked_in_at, Some(arrived));
    let roomed = client
        .appointments()
        .set_status(&booked.id, AppointmentStatus::InRoom, None)
        .await
        .expect("in room");
    assert!(roomed.roomed_at.is_some());
    let refused = client
        .appointments()
        .set_status(&booked.id, AppointmentStatus::NoShow, None)
        .await;
    assert!(
        matches!(&refused, Err(Error::Api { status: 422, .. })),
        "{refused:?}"
    );
    let done = client
        .appointments()
        .set_status(&booked.id, AppointmentStatus::Completed, None)
        .await
        .expect("completed");
    assert_eq!(done.status, AppointmentStatus::Completed);
    assert_eq!(done.version, 5);

    let other = client
        .appointments()
        .create(&new_appointment(&patient, start + Duration::hours(3)))
        .await
        .expect("booked");
    let cancelled = client
        .appointments()
        .cancel(&other.id, "Patient called to cancel")
        .await
        .expect("cancelled");
    assert_eq!(
        cancelled.cancel_reason.as_deref(),
        Some("Patient called to cancel")
    );
    let restored = client
        .appointments()
        .set_status(&other.id, AppointmentStatus::Scheduled, None)
        .await
        .expect("undone");
    assert!(restored.cancelled_at.is_none());
}

#[tokio::test]
async fn the_feed_follows_changes_and_says_gone_for_another_database() {
    use practice_studio::client::Error;
    let api = TestServer::demo(5).await;
    let client = api.client(reception());
    let start = client
        .events()
        .page(None, 10, std::time::Duration::ZERO)
        .await
        .expect("the end of the log");
    assert!(start.events.is_empty());
    let mut follow = Box::pin(client.events().follow(
        Some(start.cursor.clone()),
        std::time::Duration::from_secs(5),
        Priority::Interactive,
    ));
    let patient = client
        .patients()
        .list(&practice_studio::client::PatientQuery::new().limit(1))
        .await
        .expect("patients")
        .patients[0]
        .id
        .clone();
    let booked = client
        .appointments()
        .create(&new_appointment(&patient, at("2027-02-01T16:00:00Z")))
        .request_id("req-feed-1")
        .await
        .expect("booked");
    let batch = futures_util::StreamExt::next(&mut follow)
        .await
        .expect("a batch")
        .expect("events");
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].event, "appointment.created");
    assert_eq!(batch.events[0].request_id.as_deref(), Some("req-feed-1"));
    assert_eq!(batch.events[0].data["id"], booked.id.as_str());
    assert_ne!(batch.cursor, start.cursor);

    let other = TestServer::demo(3).await;
    let stranger = other.client(reception());
    let gone = stranger
        .events()
        .page(Some(&batch.cursor), 10, std::time::Duration::ZERO)
        .await;
    assert!(matches!(gone, Err(Error::Gone(_))), "{gone:?}");
}

#[tokio::test]
async fn webhooks_and_clinic_changes_through_the_sdk() {
    use practice_studio::client::Auth;
    use practice_studio::model::NewWebhook;
    let api = TestServer::demo(3).await;
    let integration = api.client(Auth::client_credentials(
        "integration-premium",
        "demo-secret",
    ));
    let created = integration
        .webhooks()
        .create(&NewWebhook {
            url: "http://127.0.0.1:9/hook".into(),
            events: vec!["patient.created".into(), "schedule.updated".into()],
        })
        .await
        .expect("subscribed");
    assert!(created
        .secret
        .as_deref()
        .is_some_and(|s| s.starts_with("whsec_")));
    let listed = integration.webhooks().list().await.expect("list");
    assert_eq!(listed.total, 1);
    assert_eq!(listed.webhooks[0].secret, None, "shown once");
    let read = integration.webhooks().get(&created.id).await.expect("get");
    assert_eq!(read.url, created.url);
    let rotated = integration
        .webhooks()
        .rotate_secret(&created.id)
        .await
        .expect("rotated");
    assert_ne!(Some(rotated.secret), created.secret);
    let deliveries = integration
        .webhooks()
        .deliveries(&created.id, 10)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.total, 0);
    integration
        .webhooks()
        .delete(&created.id)
        .await
        .expect("deleted");
    let gone = integration.webhooks().get(&created.id).await;
    assert!(matches!(gone, Err(Error::NotFound(_))), "{gone:?}");

    let admin = api.client(Auth::password(
        "frontdesk",
        "admin@demo.clinic",
        "demo-password",
    ));
    let provider = admin
        .clinic()
        .provider(&ProviderId("PROV-54321".into()))
        .await
        .expect("provider");
    let changed = admin
        .clinic()
        .update_provider(&provider.id, &serde_json::json!({"phone": "555-444-0000"}))
        .if_match(provider.version)
        .await
        .expect("changed");
    assert_eq!(changed.phone, "555-444-0000");
    assert_eq!(changed.version, provider.version + 1);
    let location = admin
        .clinic()
        .update_location(
            &LocationId("LOC-456".into()),
            &serde_json::json!({"phone": "555-200-2222"}),
        )
        .await
        .expect("location changed");
    assert_eq!(location.phone, "555-200-2222");
    let refused = api
        .client(reception())
        .clinic()
        .update_location(
            &LocationId("LOC-456".into()),
            &serde_json::json!({"phone": "1"}),
        )
        .await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
}

#[tokio::test]
async fn records_and_invoices_are_walked_page_after_page() {
    use practice_studio::client::{Auth, InvoiceQuery, RecordQuery};
    use practice_studio::model::InvoiceStatus;
    let api = TestServer::demo(300).await;
    let clinician = api.client(Auth::password(
        "frontdesk",
        "clinician@demo.clinic",
        "demo-password",
    ));
    let patient = PatientId("PAT-10001".into());
    let page = clinician
        .records()
        .list(&patient, &RecordQuery::new().limit(100))
        .await
        .expect("records");
    let walked: Vec<_> = clinician
        .records()
        .all(&patient, &RecordQuery::new(), Priority::Interactive)
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(walked.len() as u64, page.total);
    // Across patients: more than one page of invoices.
    let billing = api.client(Auth::password(
        "frontdesk",
        "billing@demo.clinic",
        "demo-password",
    ));
    let query = InvoiceQuery::new().status(InvoiceStatus::Paid);
    let first = billing
        .billing()
        .invoices(&query.clone().limit(1))
        .await
        .expect("invoices");
    assert!(first.total > 100, "{} paid invoices", first.total);
    let all: Vec<_> = billing
        .billing()
        .all(&query, Priority::Background)
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(all.len() as u64, first.total);
    let mut ids: Vec<_> = all.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no invoice twice");
    assert!(all.iter().all(|i| i.status == InvoiceStatus::Paid));
}

#[tokio::test]
async fn an_attachment_streams_the_same_bytes_it_downloads() {
    use practice_studio::client::{Auth, RecordQuery};
    let api = TestServer::demo(40).await;
    let clinician = api.client(Auth::password(
        "frontdesk",
        "clinician@demo.clinic",
        "demo-password",
    ));
    let mut attachment = None;
    for n in 10_001..10_041 {
        let records: Vec<_> = clinician
            .records()
            .all(
                &PatientId(format!("PAT-{n}")),
                &RecordQuery::new(),
                Priority::Interactive,
            )
            .try_collect()
            .await
            .expect("records");
        if let Some(found) = records.iter().flat_map(|r| r.attachments.iter()).next() {
            attachment = Some(found.clone());
            break;
        }
    }
    let attachment = attachment.expect("an attachment in the demo");
    let whole = clinician
        .records()
        .download_attachment(&attachment)
        .await
        .expect("download");
    let streamed = clinician
        .records()
        .download_attachment(&attachment)
        .stream()
        .await
        .expect("stream");
    assert_eq!(streamed.content_type, "application/pdf");
    assert_eq!(streamed.etag, whole.etag);
    assert_eq!(streamed.size, Some(attachment.size));
    let chunks: Vec<bytes::Bytes> = streamed.bytes.try_collect().await.expect("chunks");
    let bytes: Vec<u8> = chunks.concat();
    assert_eq!(bytes, whole.bytes);
    assert!(bytes.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn records_and_invoices_filter_by_updated_since() {
    use practice_studio::client::{Auth, InvoiceQuery, RecordQuery};
    let api = TestServer::demo(20).await;
    let billing = api.client(Auth::password(
        "frontdesk",
        "billing@demo.clinic",
        "demo-password",
    ));
    let clinician = api.client(Auth::password(
        "frontdesk",
        "clinician@demo.clinic",
        "demo-password",
    ));
    let later = api.clock.now() + Duration::minutes(1);
    let before = api.clock.now() - Duration::days(1);
    let all = billing
        .billing()
        .invoices(&InvoiceQuery::new().updated_since(before).limit(1))
        .await
        .expect("invoices");
    assert!(all.total > 0);
    let none = billing
        .billing()
        .invoices(&InvoiceQuery::new().updated_since(later).limit(1))
        .await
        .expect("invoices");
    assert_eq!(none.total, 0);
    let records = clinician
        .records()
        .list(
            &PatientId("PAT-10001".into()),
            &RecordQuery::new().updated_since(later),
        )
        .await
        .expect("records");
    assert_eq!(records.total, 0);
}
