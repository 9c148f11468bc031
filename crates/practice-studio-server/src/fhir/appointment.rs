//! Appointment.

use practice_studio::model::Appointment;
use serde_json::{json, Value};

use super::codes::{self, APPOINTMENT_STATUS_SYSTEM};
use super::outcome::FhirError;
use super::search::Search;
use super::{instant, prune};
use crate::app::AppState;
use crate::storage::AppointmentSearch;

/// An appointment as FHIR R4 `Appointment`: the patient, the practitioner and the location are
/// its participants, each required, with the status the code table gives.
pub fn to_fhir(appointment: &Appointment) -> Value {
    let participant_status = codes::participant_status(appointment.status);
    let participant = |reference: String, display: Option<&str>| {
        json!({
            "actor": { "reference": reference, "display": display },
            "required": "required",
            "status": participant_status,
        })
    };
    let minutes = (appointment.end_time - appointment.start_time).num_minutes();
    prune(json!({
        "resourceType": "Appointment",
        "id": appointment.id.as_str(),
        "meta": { "versionId": appointment.version.to_string(), "lastUpdated": instant(appointment.updated) },
        "status": codes::appointment_status(appointment.status),
        "cancelationReason": appointment.cancel_reason.as_ref().map(|r| json!({ "text": r })),
        "appointmentType": { "text": appointment.kind },
        "reasonCode": appointment.reason.as_ref().map(|r| json!([{ "text": r }])),
        "start": instant(appointment.start_time),
        "end": instant(appointment.end_time),
        "minutesDuration": (minutes > 0).then_some(minutes),
        "created": instant(appointment.created),
        "comment": appointment.notes,
        "participant": [
            participant(format!("Patient/{}", appointment.patient_id), None),
            participant(format!("Practitioner/{}", appointment.provider_id), None),
            participant(
                format!("Location/{}", appointment.location.id),
                Some(&appointment.location.name),
            ),
        ],
    }))
}

pub async fn read(state: &AppState, id: &str) -> Result<Option<Value>, FhirError> {
    Ok(state.storage.appointment(id).await?.as_ref().map(to_fhir))
}

pub async fn search(state: &AppState, search: &Search) -> Result<(u64, Vec<Value>), FhirError> {
    let statuses = search
        .tokens("status")
        .into_iter()
        .map(|list| {
            list.iter()
                .filter_map(|t| t.code_in(APPOINTMENT_STATUS_SYSTEM))
                .flat_map(codes::appointment_statuses_of)
                .map(|s| s.as_str().to_owned())
                .collect()
        })
        .collect();
    let query = AppointmentSearch {
        ids: search
            .tokens("_id")
            .into_iter()
            .map(|l| l.into_iter().map(|t| t.code).collect())
            .collect(),
        patients: search.references("patient", "Patient")?,
        providers: search.references("practitioner", "Practitioner")?,
        locations: search.references("location", "Location")?,
        statuses,
        starts: search.instant_ranges("date")?,
        limit: search.count,
        offset: search.offset,
    };
    let (total, appointments) = state.storage.fhir_appointments(&query).await?;
    Ok((total, appointments.iter().map(to_fhir).collect()))
}
