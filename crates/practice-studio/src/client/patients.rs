//! `/api/v1/patients`: the list's query builder, the typed calls, and the walk over every page.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream};
use reqwest::Method;
use serde::Serialize;

use super::{Call, Client, Error, Priority};
use crate::model::{NewPatient, Patient, PatientId, PatientList, PatientStatus};

/// Sort keys of the patient list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatientSort {
    /// Last name, then first name (the server's default).
    Name,
    /// Date of birth.
    Dob,
    /// Registration time: append-only, the order to page through everything in.
    Created,
    Updated,
}

impl PatientSort {
    fn as_str(self) -> &'static str {
        match self {
            PatientSort::Name => "name",
            PatientSort::Dob => "dob",
            PatientSort::Created => "created",
            PatientSort::Updated => "updated",
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The filters and page of `GET /api/v1/patients`, e.g.
/// `PatientQuery::new().search("smi").status(PatientStatus::Active).limit(50)`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PatientQuery {
    search: Option<String>,
    status: Option<PatientStatus>,
    limit: Option<u32>,
    offset: Option<u64>,
    sort: Option<PatientSort>,
    order: Option<SortOrder>,
    updated_since: Option<DateTime<Utc>>,
    full: bool,
}

impl std::fmt::Debug for PatientQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The search text is usually part of a patient's name: never print it.
        f.debug_struct("PatientQuery")
            .field("search", &self.search.as_ref().map(|_| "(redacted)"))
            .field("status", &self.status)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .field("sort", &self.sort)
            .field("order", &self.order)
            .field("updated_since", &self.updated_since)
            .field("full", &self.full)
            .finish()
    }
}

impl PatientQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Words that must all match a patient's name, id or MRN.
    pub fn search(mut self, text: impl Into<String>) -> Self {
        self.search = Some(text.into());
        self
    }

    pub fn status(mut self, status: PatientStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Patients per page, 1 to 100 (the server's default is 20).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn sort(mut self, sort: PatientSort) -> Self {
        self.sort = Some(sort);
        self
    }

    pub fn order(mut self, order: SortOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Only patients changed at or after this instant (an extension of the reference).
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    /// List items as full detail objects (`expand=full`, an extension).
    pub fn full(mut self) -> Self {
        self.full = true;
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(search) = &self.search {
            pairs.push(("search", search.clone()));
        }
        if let Some(status) = self.status {
            let text = match status {
                PatientStatus::Active => "active",
                PatientStatus::Inactive => "inactive",
                PatientStatus::Deceased => "deceased",
            };
            pairs.push(("status", text.to_owned()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        if let Some(sort) = self.sort {
            pairs.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(order) = self.order {
            let text = match order {
                SortOrder::Asc => "asc",
                SortOrder::Desc => "desc",
            };
            pairs.push(("order", text.to_owned()));
        }
        if let Some(since) = self.updated_since {
            pairs.push((
                "updated_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ));
        }
        if self.full {
            pairs.push(("expand", "full".to_owned()));
        }
        pairs
    }
}

/// Patients per page when walking the whole list (the server's maximum).
pub const PAGE_SIZE: u32 = 100;

/// The patient routes; from [`Client::patients`].
#[derive(Debug, Clone)]
pub struct Patients<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Patients<'a> {
    /// `GET /api/v1/patients`: one page.
    pub fn list(&self, query: &PatientQuery) -> Call<'a, PatientList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/patients",
            "/api/v1/patients".into(),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/patients/{id}`: everything about one patient (its `version` is what
    /// [`Self::update`] sends back in `If-Match`).
    pub fn get(&self, id: &PatientId) -> Call<'a, Patient> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/patients/{id}",
            patient_path(id),
        )
    }

    /// `POST /api/v1/patients`. Sent with an `Idempotency-Key` (a fresh one unless the call is
    /// given one), so a retry after a lost answer creates the patient once.
    pub fn create(&self, patient: &NewPatient) -> Call<'a, Patient> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/patients",
            "/api/v1/patients".into(),
        )
        .json(patient)
    }

    /// `PUT /api/v1/patients/{id}` with a merge patch: only the fields to change (`null` clears).
    /// Add `.if_match(patient.version)` to refuse the change when someone changed the patient
    /// since ([`Error::VersionMismatch`]).
    pub fn update(&self, id: &PatientId, patch: &impl Serialize) -> Call<'a, Patient> {
        Call::new(
            self.client,
            Method::PUT,
            "/api/v1/patients/{id}",
            patient_path(id),
        )
        .json(patch)
    }

    /// Every patient matching `query`, page after page (100 a page, `sort=created` ascending: the
    /// server's append-only total order), stopping after the last page. Pages are fetched as the
    /// stream is read, at [`Priority::Background`] unless `priority` says otherwise.
    ///
    /// This is a snapshot-free walk: on a quiet server it yields every patient exactly once, and
    /// patients registered during the walk come at its end; but one changed during the walk is
    /// seen as it was when its page was read. For a consistent copy, walk the list and then
    /// apply the changes since the walk began (`updated_since`, or the change feed).
    pub fn all(
        &self,
        query: &PatientQuery,
        priority: Priority,
    ) -> impl Stream<Item = Result<Patient, Error>> + Send + 'static {
        let client = self.client.clone();
        let query = query
            .clone()
            .limit(PAGE_SIZE)
            .sort(PatientSort::Created)
            .order(SortOrder::Asc);
        let start = query.offset.unwrap_or(0);
        struct Walk {
            client: Client,
            query: PatientQuery,
            offset: u64,
            buffered: VecDeque<Patient>,
            done: bool,
        }
        let walk = Walk {
            client,
            query,
            offset: start,
            buffered: VecDeque::new(),
            done: false,
        };
        stream::try_unfold(walk, move |mut walk| async move {
            loop {
                if let Some(patient) = walk.buffered.pop_front() {
                    return Ok(Some((patient, walk)));
                }
                if walk.done {
                    return Ok(None);
                }
                let page = walk
                    .client
                    .patients()
                    .list(&walk.query.clone().offset(walk.offset))
                    .priority(priority)
                    .await?;
                let count = page.patients.len() as u64;
                walk.offset += count;
                // The end: a short page, or nothing past `total` (whichever the server shows first).
                walk.done = count < u64::from(PAGE_SIZE) || walk.offset >= page.total;
                walk.buffered.extend(page.patients);
            }
        })
    }
}

/// `/api/v1/patients/{id}`; an id made of dots (which URL parsers fold into the parent path)
/// becomes a path that names no route.
fn patient_path(id: &PatientId) -> String {
    let text = id.as_str();
    if text.is_empty() || text.bytes().all(|b| b == b'.') {
        return "/api/v1/patients/%00".into();
    }
    format!("/api/v1/patients/{}", segment(text))
}

/// A path segment with everything but unreserved characters percent-encoded, so an id can never
/// change the route it is sent to.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_builder_produces_the_reference_parameters() {
        let query = PatientQuery::new()
            .search("smi")
            .status(PatientStatus::Active)
            .limit(50)
            .offset(100)
            .sort(PatientSort::Dob)
            .order(SortOrder::Desc)
            .full();
        assert_eq!(
            query.pairs(),
            vec![
                ("search", "smi".to_owned()),
                ("status", "active".to_owned()),
                ("limit", "50".to_owned()),
                ("offset", "100".to_owned()),
                ("sort", "dob".to_owned()),
                ("order", "desc".to_owned()),
                ("expand", "full".to_owned()),
            ]
        );
        assert!(!format!("{query:?}").contains("smi"));
    }

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(segment("PAT-12345"), "PAT-12345");
        assert_eq!(segment("../me?x=1"), "..%2Fme%3Fx%3D1");
        assert_eq!(patient_path(&PatientId::from("..")), "/api/v1/patients/%00");
    }
}
