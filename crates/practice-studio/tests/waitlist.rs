//! The SDK's waitlist calls against the real server on loopback: add, list with filters, book
//! with `If-Match`, and the candidates for a freed slot.

mod support;

use chrono::{DateTime, Utc};
use practice_studio::client::{Error, WaitlistQuery};
use practice_studio::model::{
    AppointmentStatus, Day, LocationId, NewWaitlistEntry, ProviderId, WaitlistPatch,
    WaitlistPreferences, WaitlistStatus,
};
use support::{reception, TestServer};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("instant")
}

#[tokio::test]
async fn a_patient_waits_is_offered_a_slot_and_is_booked() {
    let api = TestServer::demo(30).await;
    let client = api.client(reception());
    // A scheduled appointment of the demo book gives a patient who can be booked.
    let booked = client
        .appointments()
        .list(
            &practice_studio::client::AppointmentQuery::new()
                .status(AppointmentStatus::Scheduled)
                .limit(100),
        )
        .await
        .expect("appointments");
    let mut pick = None;
    for appointment in &booked.appointments {
        let patient = client
            .patients()
            .get(&appointment.patient_id)
            .await
            .expect("patient");
        if patient.status == practice_studio::model::PatientStatus::Active {
            pick = Some(appointment.clone());
            break;
        }
    }
    let appointment = pick.expect("a scheduled appointment of an active patient");

    let entry = client
        .waitlist()
        .add(&NewWaitlistEntry {
            patient_id: appointment.patient_id.clone(),
            kind: "Follow-up".into(),
            duration: Some(20),
            reason: Some("Earlier if anything opens".into()),
            notes: None,
            preferences: WaitlistPreferences {
                provider_ids: vec![ProviderId("PROV-54321".into())],
                days: vec![Day::Tuesday],
                earliest_time: Some("09:00".into()),
                ..WaitlistPreferences::default()
            },
        })
        .await
        .expect("added");
    assert_eq!(entry.status, WaitlistStatus::Waiting);
    assert_eq!(entry.duration, 20);
    assert_eq!(client.waitlist().get(&entry.id).await.expect("get"), entry);

    let mine = client
        .waitlist()
        .list(&WaitlistQuery::new().patient(appointment.patient_id.clone()))
        .await
        .expect("list");
    assert_eq!(mine.total, 1);
    let none = client
        .waitlist()
        .list(&WaitlistQuery::new().status(WaitlistStatus::Booked))
        .await
        .expect("list");
    assert_eq!(none.total, 0);

    // Tuesday 2 February 2027 at 09:30 in Chicago, 30 minutes.
    let offered = client
        .waitlist()
        .candidates(
            &ProviderId("PROV-54321".into()),
            &LocationId("LOC-789".into()),
            at("2027-02-02T15:30:00Z"),
            at("2027-02-02T16:00:00Z"),
        )
        .await
        .expect("candidates");
    assert_eq!(offered.candidates.len(), 1);
    assert_eq!(offered.candidates[0].entry.id, entry.id);
    let too_early = client
        .waitlist()
        .candidates(
            &ProviderId("PROV-54321".into()),
            &LocationId("LOC-789".into()),
            at("2027-02-02T14:30:00Z"),
            at("2027-02-02T15:00:00Z"),
        )
        .await
        .expect("candidates");
    assert!(too_early.candidates.is_empty(), "08:30 is before 09:00");

    let book = WaitlistPatch {
        status: Some(WaitlistStatus::Booked),
        appointment_id: Some(appointment.id.clone()),
        ..WaitlistPatch::default()
    };
    let stale = client
        .waitlist()
        .update(&entry.id, &book)
        .if_match(entry.version + 1)
        .await;
    assert!(matches!(stale, Err(Error::VersionMismatch(_))), "{stale:?}");
    let done = client
        .waitlist()
        .update(&entry.id, &book)
        .if_match(entry.version)
        .await
        .expect("booked");
    assert_eq!(done.status, WaitlistStatus::Booked);
    assert_eq!(done.appointment_id.as_ref(), Some(&appointment.id));
    assert_eq!(done.version, entry.version + 1);
}
