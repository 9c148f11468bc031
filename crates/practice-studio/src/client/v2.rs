//! The v2 beta: cursor-paged lists and bulk writes.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::{decode_success, from_response};
use super::patients::segment;
use super::SlotQuery;
use super::{Call, Client, Error};
use crate::model::{LocationId, ProviderId};
use crate::v2::{
    AppointmentCursorPage, AppointmentTypeCursorPage, BulkItem, BulkResponse, BulkResult,
    CandidateCursorPage, DeliveryCursorPage, LocationCursorPage, PatientCursorPage,
    PatientSearchFilters, PatientSearchPage, ProviderCursorPage, SlotCursorPage, WebhookCursorPage,
};

/// The most items one bulk write may carry.
pub const BULK_MAX_ITEMS: usize = 100;
/// Items the server counts as one request of the rate limit in a bulk write.
pub const BULK_ITEMS_PER_REQUEST: usize = 10;

/// A page of `GET /api/v2/patients` (without a search text), e.g.
/// `PatientCursorQuery::new(100).full().after(cursor)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientCursorQuery {
    cursor: Option<String>,
    limit: u32,
    full: bool,
    updated_since: Option<DateTime<Utc>>,
}

impl PatientCursorQuery {
    /// The first page of `limit` patients (1–100).
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The page after this `next_cursor` (none or empty: the first).
    pub fn after(mut self, cursor: Option<&str>) -> Self {
        self.cursor = cursor.map(str::to_owned);
        self
    }

    /// Full detail objects (`expand=full`) instead of list summaries.
    pub fn full(mut self) -> Self {
        self.full = true;
        self
    }

    /// Only patients changed at or after this instant.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut query = page_query(self.cursor.as_deref(), self.limit);
        if self.full {
            query.push(("expand", "full".to_owned()));
        }
        if let Some(since) = self.updated_since {
            query.push((
                "updated_since",
                since.to_rfc3339_opts(SecondsFormat::Micros, true),
            ));
        }
        query
    }
}

/// A page of `GET /api/v2/appointments`, e.g.
/// `AppointmentCursorQuery::new(100).dates(from, to).after(cursor)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppointmentCursorQuery {
    cursor: Option<String>,
    limit: u32,
    dates: Option<(NaiveDate, NaiveDate)>,
    updated_since: Option<DateTime<Utc>>,
}

impl AppointmentCursorQuery {
    /// The first page of `limit` appointments (1–100).
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The page after this `next_cursor` (none or empty: the first).
    pub fn after(mut self, cursor: Option<&str>) -> Self {
        self.cursor = cursor.map(str::to_owned);
        self
    }

    /// Appointments on these days (inclusive; calendar days at the appointment's location).
    pub fn dates(mut self, from: NaiveDate, to: NaiveDate) -> Self {
        self.dates = Some((from, to));
        self
    }

    /// Only appointments changed at or after this instant.
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut query = page_query(self.cursor.as_deref(), self.limit);
        if let Some((from, to)) = self.dates {
            query.push(("start_date", from.to_string()));
            query.push(("end_date", to.to_string()));
        }
        if let Some(since) = self.updated_since {
            query.push((
                "updated_since",
                since.to_rfc3339_opts(SecondsFormat::Micros, true),
            ));
        }
        query
    }
}

impl BulkResult {
    /// The item's outcome as its single request's would be: the resource, or the same
    /// [`Error`] (a clash, a stale `If-Match`, invalid details, a key still in use with its
    /// `retry_after`, …). A success whose resource does not read as `T` is [`Error::Decode`].
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, Error> {
        if self.succeeded() {
            return serde_json::from_value(self.resource.unwrap_or(Value::Null))
                .map_err(|e| decode_success(self.status, &e));
        }
        let retry_after = self
            .error
            .as_ref()
            .and_then(|e| e.get("retry_after"))
            .and_then(Value::as_u64)
            .map(Duration::from_secs);
        let body =
            serde_json::to_vec(&serde_json::json!({ "error": self.error })).unwrap_or_default();
        Err(from_response(self.status, retry_after, &body))
    }
}

impl Client {
    /// How many items one bulk write may carry for this caller: 100, or fewer when the rate
    /// limit's burst cannot hold a whole bulk request (it counts one request per 10 items and the
    /// server refuses one that does not fit at once). `None` before the first answer told the
    /// limit.
    pub fn bulk_capacity(&self) -> Option<usize> {
        let status = self.rate_limit()?;
        Some((status.burst as usize * BULK_ITEMS_PER_REQUEST).clamp(1, BULK_MAX_ITEMS))
    }
}

/// The v2 beta; from [`Client::v2`].
#[derive(Debug, Clone)]
pub struct V2<'a> {
    pub(crate) client: &'a Client,
}

#[derive(Serialize)]
struct BulkRequest<'b> {
    items: &'b [BulkItem],
}

fn page_query(cursor: Option<&str>, limit: u32) -> Vec<(&'static str, String)> {
    let mut query = vec![("limit", limit.to_string())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    query
}

impl<'a> V2<'a> {
    /// `GET /api/v2/patients`: patients registered after `cursor` (from the start without one).
    pub fn patients(&self, cursor: Option<&str>, limit: u32) -> Call<'a, PatientCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/patients",
            "/api/v2/patients".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/patients?q=`: the enhanced search (names with typos, phone, date of birth,
    /// id or MRN), best first; `cursor` is a `next_cursor` of the same search.
    pub fn search_patients(
        &self,
        q: &str,
        filters: &PatientSearchFilters,
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, PatientSearchPage> {
        let mut query = page_query(cursor, limit);
        query.push(("q", q.to_owned()));
        if let Some(status) = filters.status {
            let wire = serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            query.push(("status", wire));
        }
        if let Some(provider) = &filters.provider_id {
            query.push(("provider_id", provider.0.clone()));
        }
        if let Some(since) = filters.updated_since {
            query.push((
                "updated_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ));
        }
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/patients",
            "/api/v2/patients".into(),
        )
        .query(query)
    }

    /// `GET /api/v2/patients` with its options: a page of patients registered after the
    /// query's cursor, full objects with `full()`.
    pub fn patient_page(&self, query: &PatientCursorQuery) -> Call<'a, PatientCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/patients",
            "/api/v2/patients".into(),
        )
        .query(query.pairs())
    }

    /// `GET /api/v2/appointments` with its options: a page of appointments booked after the
    /// query's cursor.
    pub fn appointment_page(
        &self,
        query: &AppointmentCursorQuery,
    ) -> Call<'a, AppointmentCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/appointments",
            "/api/v2/appointments".into(),
        )
        .query(query.pairs())
    }

    /// `GET /api/v2/appointments`: appointments booked after `cursor`.
    pub fn appointments(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, AppointmentCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/appointments",
            "/api/v2/appointments".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/locations`: locations added after `cursor` (from the start without one).
    pub fn locations(&self, cursor: Option<&str>, limit: u32) -> Call<'a, LocationCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/locations",
            "/api/v2/locations".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/providers`: providers added after `cursor`, with their hours.
    pub fn providers(&self, cursor: Option<&str>, limit: u32) -> Call<'a, ProviderCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/providers",
            "/api/v2/providers".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/appointment-types`: the catalogue's types added after `cursor`.
    pub fn appointment_types(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, AppointmentTypeCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/appointment-types",
            "/api/v2/appointment-types".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/webhooks`: the caller's subscriptions registered after `cursor`.
    pub fn webhooks(&self, cursor: Option<&str>, limit: u32) -> Call<'a, WebhookCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/webhooks",
            "/api/v2/webhooks".into(),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/webhooks/{id}/deliveries`: the subscription's deliveries made after
    /// `cursor`, oldest first.
    pub fn deliveries(
        &self,
        webhook: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, DeliveryCursorPage> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/webhooks/{id}/deliveries",
            format!("/api/v2/webhooks/{}/deliveries", segment(webhook)),
        )
        .query(page_query(cursor, limit))
    }

    /// `GET /api/v2/providers/{id}/slots`: the provider's free slots that start after `cursor`.
    pub fn slots(
        &self,
        provider: &ProviderId,
        query: &SlotQuery,
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, SlotCursorPage> {
        let mut pairs = query.pairs();
        pairs.extend(page_query(cursor, limit));
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/providers/{id}/slots",
            format!("/api/v2/providers/{}/slots", segment(provider.as_str())),
        )
        .query(pairs)
    }

    /// `GET /api/v2/waitlist/candidates`: who would take the slot, a page after `cursor`.
    pub fn candidates(
        &self,
        provider: &ProviderId,
        location: &LocationId,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        cursor: Option<&str>,
        limit: u32,
    ) -> Call<'a, CandidateCursorPage> {
        let mut pairs = vec![
            ("provider_id", provider.to_string()),
            ("location_id", location.to_string()),
            (
                "start_time",
                start.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            ("end_time", end.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ];
        pairs.extend(page_query(cursor, limit));
        Call::new(
            self.client,
            Method::GET,
            "/api/v2/waitlist/candidates",
            "/api/v2/waitlist/candidates".into(),
        )
        .query(pairs)
    }

    /// The rate limit counts a bulk write as one request per 10 items: the budget waits for
    /// that much room.
    fn bulk(&self, path: &'static str, items: &[BulkItem]) -> Call<'a, BulkResponse> {
        let cost = items.len().div_ceil(BULK_ITEMS_PER_REQUEST).max(1);
        Call::new(self.client, Method::POST, path, path.into())
            .json(&BulkRequest { items })
            .cost(u32::try_from(cost).unwrap_or(u32::MAX))
    }

    /// `POST /api/v2/patients/bulk`: up to 100 creates and updates, each on its own.
    pub fn bulk_patients(&self, items: &[BulkItem]) -> Call<'a, BulkResponse> {
        self.bulk("/api/v2/patients/bulk", items)
    }

    /// `POST /api/v2/appointments/bulk`.
    pub fn bulk_appointments(&self, items: &[BulkItem]) -> Call<'a, BulkResponse> {
        self.bulk("/api/v2/appointments/bulk", items)
    }

    /// `POST /api/v2/invoices/payments/bulk`.
    pub fn bulk_payments(&self, items: &[BulkItem]) -> Call<'a, BulkResponse> {
        self.bulk("/api/v2/invoices/payments/bulk", items)
    }
}
