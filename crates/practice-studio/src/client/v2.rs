//! The v2 beta: cursor-paged lists and bulk writes.

use reqwest::Method;
use serde::Serialize;

use super::{Call, Client};
use crate::v2::{
    AppointmentCursorPage, BulkItem, BulkResponse, PatientCursorPage, PatientSearchFilters,
    PatientSearchPage,
};

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

    fn bulk(&self, path: &'static str, items: &[BulkItem]) -> Call<'a, BulkResponse> {
        Call::new(self.client, Method::POST, path, path.into()).json(&BulkRequest { items })
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
