//! The waitlist (extension): add a patient with what they would accept, read and change the
//! shared list, and ask who would take a freed slot.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;

use super::patients::segment;
use super::{Call, Client};
use crate::model::{
    LocationId, NewWaitlistEntry, PatientId, ProviderId, WaitlistCandidates, WaitlistEntry,
    WaitlistList, WaitlistPatch, WaitlistStatus,
};

/// The waitlist routes; from [`Client::waitlist`].
#[derive(Debug, Clone)]
pub struct Waitlist<'a> {
    pub(crate) client: &'a Client,
}

/// Filters and paging of `GET /api/v1/waitlist`.
#[derive(Debug, Clone, Default)]
pub struct WaitlistQuery {
    status: Option<WaitlistStatus>,
    patient: Option<PatientId>,
    provider: Option<ProviderId>,
    updated_since: Option<DateTime<Utc>>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl WaitlistQuery {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn status(mut self, status: WaitlistStatus) -> Self {
        self.status = Some(status);
        self
    }

    pub fn patient(mut self, patient: PatientId) -> Self {
        self.patient = Some(patient);
        self
    }

    /// Entries that name this provider or take any provider.
    pub fn provider(mut self, provider: ProviderId) -> Self {
        self.provider = Some(provider);
        self
    }

    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

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
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if let Some(patient) = &self.patient {
            pairs.push(("patient_id", patient.to_string()));
        }
        if let Some(provider) = &self.provider {
            pairs.push(("provider_id", provider.to_string()));
        }
        if let Some(since) = self.updated_since {
            pairs.push((
                "updated_since",
                since.to_rfc3339_opts(SecondsFormat::Micros, true),
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

fn entry_path(id: &str) -> String {
    format!("/api/v1/waitlist/{}", segment(id))
}

impl<'a> Waitlist<'a> {
    /// `GET /api/v1/waitlist`: one page, oldest first.
    pub fn list(&self, query: &WaitlistQuery) -> Call<'a, WaitlistList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/waitlist",
            "/api/v1/waitlist".into(),
        )
        .query(query.pairs())
    }

    /// `POST /api/v1/waitlist` (with an `Idempotency-Key`, so a retry adds once).
    pub fn add(&self, entry: &NewWaitlistEntry) -> Call<'a, WaitlistEntry> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/waitlist",
            "/api/v1/waitlist".into(),
        )
        .json(entry)
    }

    /// `GET /api/v1/waitlist/{id}`.
    pub fn get(&self, id: &str) -> Call<'a, WaitlistEntry> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/waitlist/{id}",
            entry_path(id),
        )
    }

    /// `PUT /api/v1/waitlist/{id}`; add `.if_match(entry.version)` to refuse it when someone
    /// changed the entry since.
    pub fn update(&self, id: &str, patch: &WaitlistPatch) -> Call<'a, WaitlistEntry> {
        Call::new(
            self.client,
            Method::PUT,
            "/api/v1/waitlist/{id}",
            entry_path(id),
        )
        .json(patch)
    }

    /// `GET /api/v1/waitlist/candidates`: who would take the slot, best first.
    pub fn candidates(
        &self,
        provider: &ProviderId,
        location: &LocationId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Call<'a, WaitlistCandidates> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/waitlist/candidates",
            "/api/v1/waitlist/candidates".into(),
        )
        .query(vec![
            ("provider_id", provider.to_string()),
            ("location_id", location.to_string()),
            (
                "start_time",
                start.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            ("end_time", end.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ])
    }
}
