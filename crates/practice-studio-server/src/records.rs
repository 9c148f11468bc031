//! Medical records and their attachments: `GET /api/v1/patients/{id}/records`,
//! `GET /api/v1/records/{id}`, `GET /api/v1/attachments/{id}/download`, and (an extension)
//! `POST /api/v1/patients/{id}/records`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use practice_studio::model::detail_code as code;
use practice_studio::model::{
    Attachment, AttachmentLinks, ErrorDetail, MedicalRecord, NewRecord, RecordLinks, RecordList,
};
use serde_json::Value;
use utoipa::OpenApi;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::http::{parse_json, ApiJson};
use crate::idempotency;
use crate::openapi::Extension as ApiExtension;
use crate::params::{detail, paging, parse_instant};
use crate::pdf;
use crate::storage::{
    AttachmentKind, RecordQuery, RecordResponder, StorageError, StoredAttachment, StoredRecord,
    StoredResponse, ValidRecord,
};

/// This module's routes; `routes::router` merges them under the shared authentication layers.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/patients/{id}/records", get(list).post(create))
        .route("/api/v1/records/{id}", get(get_record))
        .route("/api/v1/attachments/{id}/download", get(download))
}

/// This module's part of `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(list, get_record, download, create),
    components(schemas(
        MedicalRecord, RecordList, NewRecord, Attachment, AttachmentLinks, RecordLinks,
        practice_studio::model::RecordContent, practice_studio::model::RecordId,
        practice_studio::model::AttachmentId, PdfFile,
    )),
    tags((name = "Medical Records", description = "SOAP notes and their attachments"))
)]
pub(crate) struct ApiDoc;

/// Operations here that the reference does not have, and why.
pub(crate) const EXTENSIONS: &[ApiExtension] = &[
    ("/api/v1/records/{record_id}", "get", "Every record's `_links.self` must resolve; this is where it points."),
    ("/api/v1/attachments/{attachment_id}/download", "get", "Every attachment's `_links.download` must resolve; this serves its bytes."),
    ("/api/v1/patients/{patient_id}/records", "post", "The reference has no way to write a record; clinicians add notes (and `record.created` needs a cause)."),
];

/// A file in a response body (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // a schema only
pub struct PdfFile(Vec<u8>);

/// The longest text a record's free-text fields take.
const MAX_TYPE: usize = 100;
const MAX_TITLE: usize = 200;
const MAX_SECTION: usize = 20_000;

/// `from_date` / `to_date`: a date (a whole UTC day, inclusive) or an RFC 3339 instant. Returns
/// the half-open range `[from, until)`, adding a problem for each bad value.
pub(crate) fn instant_range(
    params: &HashMap<&str, &str>,
    problems: &mut Vec<ErrorDetail>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let parse = |name: &str, end: bool, problems: &mut Vec<ErrorDetail>| {
        let text = params.get(name)?;
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let day = if end { day.succ_opt()? } else { day };
            return day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        }
        match DateTime::parse_from_rfc3339(text) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                Some(if end {
                    t + Duration::microseconds(1)
                } else {
                    t
                })
            }
            Err(_) => {
                problems.push(detail(
                    code::INVALID_INSTANT,
                    name,
                    "must be a date (YYYY-MM-DD) or an RFC 3339 instant",
                ));
                None
            }
        }
    };
    let from = parse("from_date", false, problems);
    let until = parse("to_date", true, problems);
    if let (Some(from), Some(until)) = (from, until) {
        if from >= until {
            problems.push(detail(
                code::END_BEFORE_START,
                "to_date",
                "must not be before from_date",
            ));
        }
    }
    (from, until)
}

fn parse_query(patient_id: &str, raw: &HashMap<String, String>) -> Result<RecordQuery, ApiError> {
    let params: HashMap<&str, &str> = raw.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut problems = Vec::new();
    let (limit, offset) = paging(|name| params.get(name).copied(), &mut problems);
    let (from, until) = instant_range(&params, &mut problems);
    let record_type = params
        .get("type")
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if record_type
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TYPE)
    {
        problems.push(detail(
            code::TOO_LONG,
            "type",
            "must be at most 100 characters",
        ));
    }
    let updated_since = match params.get("updated_since") {
        None => None,
        Some(text) => match parse_instant(text) {
            Some(t) => Some(t),
            None => {
                problems.push(detail(
                    code::INVALID_INSTANT,
                    "updated_since",
                    "must be a date (YYYY-MM-DD) or an RFC 3339 instant",
                ));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(RecordQuery {
        patient_id: patient_id.to_owned(),
        record_type,
        from,
        until,
        updated_since,
        limit,
        offset,
    })
}

/// The bytes of an attachment: made from its row and its record, the same every time.
pub(crate) fn attachment_bytes(attachment: &StoredAttachment, record: &StoredRecord) -> Vec<u8> {
    match attachment.kind {
        AttachmentKind::LabResults => {
            pdf::lab_results(record, attachment.id.as_str(), attachment.uploaded_at)
        }
        AttachmentKind::ReferralLetter => {
            pdf::referral_letter(record, attachment.uploaded_at.date_naive())
        }
    }
}

/// A stored record as the API shows it.
pub(crate) fn to_wire(record: &StoredRecord) -> MedicalRecord {
    MedicalRecord {
        id: record.id.clone(),
        patient_id: record.patient_id.clone(),
        provider_id: record.provider_id.clone(),
        record_type: record.record_type.clone(),
        date: record.date,
        title: record.title.clone(),
        content: record.content.clone(),
        attachments: record
            .attachments
            .iter()
            .map(|a| Attachment {
                id: a.id.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: attachment_bytes(a, record).len() as u64,
                uploaded_at: a.uploaded_at,
                links: AttachmentLinks::for_attachment(&a.id),
            })
            .collect(),
        links: RecordLinks::for_record(&record.id, &record.patient_id, &record.provider_id),
    }
}

async fn require_patient(app: &AppState, id: &str) -> Result<(), ApiError> {
    app.storage
        .patient(id)
        .await
        .map_err(ApiError::internal)?
        .map(|_| ())
        .ok_or_else(|| ApiError::NotFound(format!("no patient {id}")))
}

/// `GET /api/v1/patients/{id}/records`.
#[utoipa::path(
    get,
    path = "/api/v1/patients/{patient_id}/records",
    tag = "Medical Records",
    summary = "Get patient records",
    description = "Newest first. `from_date` and `to_date` are whole UTC days (inclusive) or RFC 3339 instants.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("type" = Option<String>, Query, description = "Filter by record type (case does not matter)"),
        ("from_date" = Option<String>, Query, description = "Records from this date: a UTC day (YYYY-MM-DD), or an RFC 3339 instant (extension)"),
        ("to_date" = Option<String>, Query, description = "Records until this date (inclusive): a UTC day (YYYY-MM-DD), or an RFC 3339 instant (extension)"),
        ("updated_since" = Option<String>, Query, description = "Extension: records stored at or after this instant (RFC 3339) or date; inclusive (records never change once written)"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("offset" = Option<i64>, Query, description = "Pagination offset", minimum = 0),
    ),
    responses((status = 200, description = "A page of the patient's records", body = RecordList)),
    security(("bearer" = ["read:records"]), ("apiKey" = []))
)]
pub async fn list(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(patient_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<RecordList>, ApiError> {
    principal.require(Scope::ReadRecords)?;
    let query = parse_query(&patient_id, &params)?;
    require_patient(&app, &patient_id).await?;
    let (total, records) = app
        .storage
        .list_records(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(RecordList {
        total,
        limit: query.limit,
        offset: query.offset,
        records: records.iter().map(to_wire).collect(),
    }))
}

/// `GET /api/v1/records/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/records/{record_id}",
    tag = "Medical Records",
    summary = "Get a record",
    params(
        ("record_id" = String, Path, description = "Record ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 while the record is unchanged"),
    ),
    responses(
        (status = 200, description = "The record with its attachments", body = MedicalRecord),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:records"]), ("apiKey" = []))
)]
pub async fn get_record(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadRecords)?;
    let record = app
        .storage
        .record(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no record {id}")))?;
    pdf::tagged_json(StatusCode::OK, &to_wire(&record), &headers)
}

/// `GET /api/v1/attachments/{id}/download`.
#[utoipa::path(
    get,
    path = "/api/v1/attachments/{attachment_id}/download",
    tag = "Medical Records",
    summary = "Download an attachment",
    description = "The attachment's bytes with its `contentType`; `Content-Length` is its `size`. `ETag` is stable, and `If-None-Match` with it answers 304.",
    params(
        ("attachment_id" = String, Path, description = "Attachment ID"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/pdf", body = PdfFile,
         headers(("ETag" = String, description = "A hash of the bytes"),
                 ("Content-Disposition" = String, description = "attachment; filename=\"…\""))),
        (status = 304, description = "Unchanged since the ETag sent in If-None-Match"),
    ),
    security(("bearer" = ["read:records"]), ("apiKey" = []))
)]
pub async fn download(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadRecords)?;
    let (attachment, record) = app
        .storage
        .attachment(&id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::NotFound(format!("no attachment {id}")))?;
    let bytes = attachment_bytes(&attachment, &record);
    Ok(pdf::response(
        bytes,
        &attachment.content_type,
        &attachment.filename,
        false,
        &headers,
    ))
}

fn validate(input: NewRecord, now: DateTime<Utc>) -> Result<ValidRecord, ApiError> {
    let mut problems = Vec::new();
    let record_type = input.record_type.trim().to_owned();
    if record_type.is_empty() || record_type.chars().count() > MAX_TYPE {
        problems.push(detail(
            code::TOO_LONG,
            "type",
            "must be 1 to 100 characters",
        ));
    }
    let title = input.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        problems.push(detail(
            code::TOO_LONG,
            "title",
            "must be 1 to 200 characters",
        ));
    }
    let content = &input.content;
    for (field, text) in [
        ("content.subjective", &content.subjective),
        ("content.objective", &content.objective),
        ("content.assessment", &content.assessment),
        ("content.plan", &content.plan),
    ] {
        if text.chars().count() > MAX_SECTION {
            problems.push(detail(
                code::TOO_LONG,
                field,
                "must be at most 20000 characters",
            ));
        }
    }
    if [
        &content.subjective,
        &content.objective,
        &content.assessment,
        &content.plan,
    ]
    .iter()
    .all(|t| t.trim().is_empty())
    {
        problems.push(detail(
            code::REQUIRED,
            "content",
            "must have at least one non-empty section",
        ));
    }
    // A minute of slack for a desk whose clock runs a little ahead.
    let date = input.date.unwrap_or(now);
    if date > now + Duration::minutes(1) {
        problems.push(detail(
            code::DATE_IN_FUTURE,
            "date",
            "must not be in the future",
        ));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    Ok(ValidRecord {
        provider_id: input.provider_id,
        record_type,
        date,
        title,
        content: input.content,
    })
}

/// `POST /api/v1/patients/{id}/records` (extension): 201 with `Location`.
#[utoipa::path(
    post,
    path = "/api/v1/patients/{patient_id}/records",
    tag = "Medical Records",
    summary = "Add a record",
    description = "A clinician's note for the patient. The provider must exist (else 422). Idempotent with `Idempotency-Key`.",
    params(
        ("patient_id" = String, Path, description = "Practice Studio patient ID"),
        ("Idempotency-Key" = Option<String>, Header, description = "Extension: a retry with the same key replays the first response"),
    ),
    request_body(content = NewRecord, content_type = "application/json"),
    responses((status = 201, description = "The new record; `Location` names it", body = MedicalRecord)),
    security(("bearer" = ["write:records"]))
)]
pub async fn create(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(patient_id): Path<String>,
    headers: HeaderMap,
    ApiJson(_, bytes): ApiJson<Value>,
) -> Result<Response, ApiError> {
    principal.require(Scope::WriteRecords)?;
    let path = format!("/api/v1/patients/{patient_id}/records");
    idempotency::run(
        &app,
        &principal,
        &headers,
        ("POST", &path),
        &bytes,
        async |claim| {
            let record = {
                require_patient(&app, &patient_id).await?;
                let input: NewRecord = parse_json(&bytes)?;
                let valid = validate(input, app.clock.now())?;
                let providers = app.storage.providers().await.map_err(ApiError::internal)?;
                if !providers.iter().any(|p| p.id == valid.provider_id) {
                    return Err(ApiError::Unprocessable {
                        message: format!("no provider {}", valid.provider_id),
                        details: vec![detail(
                            code::UNKNOWN_REFERENCE,
                            "providerId",
                            "names no provider",
                        )],
                    });
                }
                let respond = |record: &StoredRecord| -> Result<StoredResponse, StorageError> {
                    let wire = to_wire(record);
                    let body = serde_json::to_string(&wire)
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    Ok(StoredResponse {
                        status: 201,
                        location: Some(wire.links.self_.href.clone()),
                        etag: Some(pdf::etag_of(body.as_bytes())),
                        body,
                    })
                };
                let responder: RecordResponder<'_> = &respond;
                app.storage
                    .create_record(
                        &patient_id,
                        &valid,
                        app.clock.now(),
                        claim.map(|c| (c, responder)),
                    )
                    .await
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::NotFound(format!("no patient {patient_id}")))
            }?;
            let wire = to_wire(&record);
            tracing::info!(record_id = %wire.id, "record created");
            let mut response = pdf::tagged_json(StatusCode::CREATED, &wire, &headers)?;
            if let Ok(value) = HeaderValue::from_str(&wire.links.self_.href) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        },
    )
    .await
}
