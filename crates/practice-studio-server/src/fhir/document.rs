//! DocumentReference: a medical record. Its SOAP note is the first content, inline as text; each
//! attachment follows as a link to its download route (the same bytes, scope and rate limit as
//! v1).

use base64::Engine as _;
use serde_json::{json, Value};

use super::codes::{self, LOINC_SYSTEM};
use super::outcome::FhirError;
use super::search::Search;
use super::{instant, prune};
use crate::app::AppState;
use crate::records::to_wire;
use crate::storage::{RecordSearch, StoredRecord};

/// The note as plain text, the way a clinician reads it.
fn note_text(record: &StoredRecord) -> String {
    let c = &record.content;
    format!(
        "{}\n\nSubjective: {}\nObjective: {}\nAssessment: {}\nPlan: {}\n",
        record.title, c.subjective, c.objective, c.assessment, c.plan
    )
}

/// A record as FHIR R4 `DocumentReference`; `origin` (`http://host:port`) makes the download
/// links absolute.
pub fn to_fhir(record: &StoredRecord, origin: &str) -> Value {
    let wire = to_wire(record);
    let kind = match codes::record_type(&record.record_type) {
        Some((code, display)) => json!({
            "coding": [{ "system": LOINC_SYSTEM, "code": code, "display": display }],
            "text": record.record_type,
        }),
        None => json!({ "text": record.record_type }),
    };
    let note = base64::engine::general_purpose::STANDARD.encode(note_text(record));
    let mut content = vec![json!({
        "attachment": {
            "contentType": "text/plain; charset=utf-8",
            "language": "en",
            "data": note,
            "title": record.title,
            "creation": instant(record.date),
        },
    })];
    content.extend(wire.attachments.iter().map(|a| {
        json!({
            "attachment": {
                "contentType": a.content_type,
                "url": format!("{origin}{}", a.links.download.href),
                "size": a.size,
                "title": a.filename,
                "creation": instant(a.uploaded_at),
            }
        })
    }));
    prune(json!({
        "resourceType": "DocumentReference",
        "id": record.id.as_str(),
        "status": "current",
        "docStatus": "final",
        "type": kind,
        "subject": { "reference": format!("Patient/{}", record.patient_id) },
        "date": instant(record.date),
        "author": [{ "reference": format!("Practitioner/{}", record.provider_id) }],
        "description": record.title,
        "content": content,
        "context": { "period": { "start": instant(record.date) } },
    }))
}

pub async fn read(state: &AppState, id: &str, origin: &str) -> Result<Option<Value>, FhirError> {
    Ok(state
        .storage
        .record(id)
        .await?
        .as_ref()
        .map(|r| to_fhir(r, origin)))
}

pub async fn search(
    state: &AppState,
    search: &Search,
    origin: &str,
) -> Result<(u64, Vec<Value>), FhirError> {
    // A LOINC code names its record type; any other code (or text) is the type itself.
    let types = search
        .tokens("type")
        .into_iter()
        .map(|list| {
            list.iter()
                .filter_map(|t| match t.system.as_deref() {
                    Some(LOINC_SYSTEM) => codes::record_type_of_loinc(&t.code).map(str::to_owned),
                    Some("") | None => Some(
                        codes::record_type_of_loinc(&t.code)
                            .map_or_else(|| t.code.clone(), str::to_owned),
                    ),
                    Some(_) => None,
                })
                .collect()
        })
        .collect();
    let query = RecordSearch {
        ids: search
            .tokens("_id")
            .into_iter()
            .map(|l| l.into_iter().map(|t| t.code).collect())
            .collect(),
        patients: search.references("patient", "Patient")?,
        types,
        dates: search.instant_ranges("date")?,
        limit: search.count,
        offset: search.offset,
    };
    let (total, ids) = state.storage.fhir_record_ids(&query).await?;
    let mut resources = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(record) = state.storage.record(&id).await? {
            resources.push(to_fhir(&record, origin));
        }
    }
    Ok((total, resources))
}
