//! Medical records and their attachments: a patient's records (with the query builder), one
//! record, adding a record (an extension), and downloading an attachment.

use chrono::NaiveDate;
use reqwest::Method;

use super::patients::segment;
use super::{Call, Client, Download};
use crate::model::{
    Attachment, AttachmentId, MedicalRecord, NewRecord, PatientId, RecordId, RecordList,
};

/// The filters and page of `GET /api/v1/patients/{id}/records`, e.g.
/// `RecordQuery::new().record_type("Lab Result").from(day).limit(50)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordQuery {
    record_type: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    updated_since: Option<chrono::DateTime<chrono::Utc>>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl RecordQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Only records of this type (case does not matter), e.g. `Progress Note`.
    pub fn record_type(mut self, record_type: impl Into<String>) -> Self {
        self.record_type = Some(record_type.into());
        self
    }

    /// Records on or after this (UTC) day.
    pub fn from(mut self, day: NaiveDate) -> Self {
        self.from = Some(day);
        self
    }

    /// Records on or before this (UTC) day.
    pub fn to(mut self, day: NaiveDate) -> Self {
        self.to = Some(day);
        self
    }

    /// Records stored at or after this instant (inclusive; a record never changes once written).
    pub fn updated_since(mut self, since: chrono::DateTime<chrono::Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// Records per page, 1 to 100 (the server's default is 20).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(record_type) = &self.record_type {
            pairs.push(("type", record_type.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from_date", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to_date", to.to_string()));
        }
        if let Some(since) = self.updated_since {
            pairs.push((
                "updated_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        pairs
    }
}

/// The records routes; from [`Client::records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Records<'a> {
    /// `GET /api/v1/patients/{id}/records`: one page, newest first.
    pub fn list(&self, patient: &PatientId, query: &RecordQuery) -> Call<'a, RecordList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/patients/{id}/records",
            format!("/api/v1/patients/{}/records", segment(patient.as_str())),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/records/{id}`.
    /// Every record of a patient matching `query`, page after page (100 a page, newest first as
    /// the server lists them), fetched as the stream is read at `priority`. A snapshot-free walk:
    /// a record added during the walk may be missed; the change feed carries it.
    pub fn all(
        &self,
        patient: &PatientId,
        query: &RecordQuery,
        priority: super::Priority,
    ) -> impl futures_util::Stream<Item = Result<MedicalRecord, super::Error>> + Send + 'static
    {
        let client = self.client.clone();
        let patient = patient.clone();
        let query = query.clone();
        super::pages::walk(move |offset| {
            let client = client.clone();
            let patient = patient.clone();
            let query = query.clone().limit(super::PAGE_SIZE).offset(offset);
            async move {
                let page = client
                    .records()
                    .list(&patient, &query)
                    .priority(priority)
                    .await?;
                Ok((page.records, page.total))
            }
        })
    }

    pub fn get(&self, id: &RecordId) -> Call<'a, MedicalRecord> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/records/{id}",
            format!("/api/v1/records/{}", segment(id.as_str())),
        )
    }

    /// `POST /api/v1/patients/{id}/records` (an extension; clinicians): sent with an
    /// `Idempotency-Key`, so a retry adds the note once.
    pub fn create(&self, patient: &PatientId, record: &NewRecord) -> Call<'a, MedicalRecord> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/patients/{id}/records",
            format!("/api/v1/patients/{}/records", segment(patient.as_str())),
        )
        .json(record)
    }

    /// `GET /api/v1/attachments/{id}/download`: the file's bytes, type, name and `ETag`.
    pub fn download(&self, id: &AttachmentId) -> Download<'a> {
        Download::new(
            Call::new(
                self.client,
                Method::GET,
                "/api/v1/attachments/{id}/download",
                format!("/api/v1/attachments/{}/download", segment(id.as_str())),
            ),
            "application/pdf",
        )
    }

    /// The file behind an attachment of a record (its `_links.download`).
    pub fn download_attachment(&self, attachment: &Attachment) -> Download<'a> {
        self.download(&attachment.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_builder_produces_the_reference_parameters() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
        let query = RecordQuery::new()
            .record_type("Lab Result")
            .from(day(1))
            .to(day(23))
            .limit(50)
            .offset(100);
        assert_eq!(
            query.pairs(),
            vec![
                ("type", "Lab Result".to_owned()),
                ("from_date", "2026-11-01".to_owned()),
                ("to_date", "2026-11-23".to_owned()),
                ("limit", "50".to_owned()),
                ("offset", "100".to_owned()),
            ]
        );
    }
}
