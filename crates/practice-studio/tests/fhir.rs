//! The SDK's typed FHIR reads against the real server on loopback: Patient and Appointment by
//! id agree with the same data through v1; searches page through `next` links; an unknown id is
//! `None`.

mod support;

use std::collections::HashSet;

use practice_studio::client::{Auth, FhirSearch, PatientQuery};
use practice_studio::fhir::{AdministrativeGender, AppointmentStatus, ParticipationStatus};
use practice_studio::model::{Gender, PatientStatus};
use support::TestServer;

fn integration() -> Auth {
    Auth::client_credentials("integration-premium", "demo-secret")
}

#[tokio::test]
async fn a_fhir_patient_reads_as_the_v1_patient_says() {
    let api = TestServer::demo(200).await;
    let client = api.client(integration());
    let deceased = client
        .patients()
        .list(&PatientQuery::new().status(PatientStatus::Deceased).limit(1))
        .await
        .expect("v1 list");
    let wire = deceased.patients.first().expect("a deceased demo patient");
    let patient = client
        .fhir()
        .patient(wire.id.as_str())
        .await
        .expect("read")
        .expect("found");
    assert_eq!(patient.id, wire.id.as_str());
    assert_eq!(patient.mrn(), Some(wire.mrn.as_str()));
    assert_eq!(patient.family(), Some(wire.last_name.as_str()));
    assert_eq!(patient.given(), Some(wire.first_name.as_str()));
    assert_eq!(patient.birth_date, Some(wire.date_of_birth));
    let gender = match wire.gender {
        Gender::M => AdministrativeGender::Male,
        Gender::F => AdministrativeGender::Female,
        Gender::O => AdministrativeGender::Other,
        Gender::U => AdministrativeGender::Unknown,
    };
    assert_eq!(patient.gender, Some(gender));
    assert_eq!(patient.telecom("phone"), wire.contact_info.phone.as_deref());
    assert_eq!(patient.telecom("email"), wire.contact_info.email.as_deref());
    assert!(patient.is_deceased());
    assert_eq!(patient.active, Some(false));
    assert_eq!(patient.meta.version_id, Some(wire.version.to_string()));

    assert_eq!(
        client.fhir().patient("PAT-00000").await.expect("answers"),
        None
    );
}

#[tokio::test]
async fn patient_searches_page_through_next_links() {
    let api = TestServer::demo(130).await;
    let client = api.client(integration());
    let first = client
        .fhir()
        .search_patients(&FhirSearch::new().count(50))
        .await
        .expect("search");
    assert_eq!(first.total, 130);
    let mut seen: HashSet<String> = first.resources.iter().map(|p| p.id.clone()).collect();
    let mut page = first;
    while let Some(next) = client
        .fhir()
        .next_page("Patient", &page)
        .await
        .expect("next page")
    {
        for patient in &next.resources {
            assert!(seen.insert(patient.id.clone()), "{} twice", patient.id);
        }
        page = next;
    }
    assert_eq!(seen.len(), 130);

    let women = client
        .fhir()
        .search_patients(&FhirSearch::new().param("gender", "female").count(100))
        .await
        .expect("search");
    assert!(women.total > 0);
    assert!(women
        .resources
        .iter()
        .all(|p| p.gender == Some(AdministrativeGender::Female)));
    let lenient = client
        .fhir()
        .search_patients(&FhirSearch::new().param("shoe-size", "9").count(1))
        .await
        .expect("search");
    assert_eq!(lenient.total, 130);
    assert_eq!(
        lenient.warnings.len(),
        1,
        "the ignored parameter is reported"
    );
}

#[tokio::test]
async fn a_fhir_appointment_reads_as_the_v1_appointment_says() {
    let api = TestServer::demo(100).await;
    let client = api.client(integration());
    let cancelled = client
        .fhir()
        .search_appointments(&FhirSearch::new().param("status", "cancelled").count(5))
        .await
        .expect("search");
    let first = cancelled
        .resources
        .first()
        .expect("a cancelled appointment");
    assert_eq!(first.status, AppointmentStatus::Cancelled);
    assert!(first
        .participant
        .iter()
        .all(|p| p.status == ParticipationStatus::Declined));

    let booked = client
        .fhir()
        .search_appointments(&FhirSearch::new().param("status", "booked").count(1))
        .await
        .expect("search");
    let id = booked.resources[0].id.clone();
    let appointment = client
        .fhir()
        .appointment(&id)
        .await
        .expect("read")
        .expect("found");
    let wire = client
        .appointments()
        .get(&practice_studio::model::AppointmentId(id.clone()))
        .await
        .expect("v1 read");
    assert_eq!(appointment.status, AppointmentStatus::Booked);
    assert_eq!(appointment.start, Some(wire.start_time));
    assert_eq!(appointment.end, Some(wire.end_time));
    assert_eq!(
        appointment.participant_id("Patient"),
        Some(wire.patient_id.as_str())
    );
    assert_eq!(
        appointment.participant_id("Practitioner"),
        Some(wire.provider_id.as_str())
    );
    assert_eq!(
        appointment.participant_id("Location"),
        Some(wire.location.id.as_str())
    );
    let by_patient = client
        .fhir()
        .search_appointments(
            &FhirSearch::new()
                .param("patient", format!("Patient/{}", wire.patient_id))
                .count(100),
        )
        .await
        .expect("search");
    assert!(by_patient.resources.iter().any(|a| a.id == id));
    assert!(by_patient
        .resources
        .iter()
        .all(|a| a.participant_id("Patient") == Some(wire.patient_id.as_str())));
    assert_eq!(
        client
            .fhir()
            .appointment("APPT-00000")
            .await
            .expect("answers"),
        None
    );
}
