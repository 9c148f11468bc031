//! Storage of the appointments routes (the book, status changes and clash rules).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{Appointment, AppointmentStatus, PatientId};
use practice_studio::rules::TimeSpan;

use super::{IdempotencyClaim, Result};
use crate::error::ApiError;

/// Sort keys of the appointment lists; every order is total (ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentSort {
    /// By start time: the book's order.
    Start,
    /// By creation: append-only, for a client paging through everything.
    Created,
    Updated,
}

/// Filters and paging of an appointment list.
#[derive(Debug, Clone)]
pub struct AppointmentQuery {
    /// First and last calendar day (at the appointment's location), inclusive.
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub provider_id: Option<String>,
    pub patient_id: Option<String>,
    pub status: Option<AppointmentStatus>,
    pub updated_since: Option<DateTime<Utc>>,
    pub sort: AppointmentSort,
    pub descending: bool,
    pub limit: u32,
    pub offset: u64,
}

/// Decides, inside the write transaction, whether an appointment may hold its time given the
/// provider's other non-cancelled bookings near it (so two desks cannot both take one slot).
pub type BookingGuard<'a> =
    &'a (dyn Fn(&Appointment, &[TimeSpan]) -> std::result::Result<(), ApiError> + Send + Sync);

/// Turns the stored appointment into the changed one (status rules, moves); runs inside the
/// write transaction on the current row.
pub type AppointmentChange<'a> =
    &'a (dyn Fn(&Appointment) -> std::result::Result<Appointment, ApiError> + Send + Sync);

/// What a create or change came to.
#[derive(Debug)]
pub enum AppointmentOutcome {
    Saved(Box<Appointment>),
    /// The guard or the change refused it; nothing was written.
    Refused(ApiError),
    NotFound,
    VersionMismatch {
        current: i64,
    },
}

#[async_trait]
pub trait AppointmentStorage: Send + Sync {
    /// A page of appointments as stored JSON joined by commas in page order, and the total.
    async fn list_appointments(&self, query: &AppointmentQuery) -> Result<(u64, String)>;
    async fn appointment(&self, id: &str) -> Result<Option<Appointment>>;
    /// Books `draft` under a new id (its `id` and `_links` are replaced) if `guard` allows it,
    /// storing the response for the idempotency key in the same transaction.
    async fn create_appointment(
        &self,
        draft: &Appointment,
        guard: BookingGuard<'_>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<AppointmentOutcome>;
    /// Applies `change` to the appointment if its version is still `expected_version` (when
    /// given); runs `guard` when the result holds a time it did not hold before.
    async fn update_appointment(
        &self,
        id: &str,
        expected_version: Option<i64>,
        change: AppointmentChange<'_>,
        guard: BookingGuard<'_>,
        now: DateTime<Utc>,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<AppointmentOutcome>;
    /// The times a provider's non-cancelled appointments hold between two instants.
    async fn provider_bookings(
        &self,
        provider_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TimeSpan>>;
    /// Inserts many generated appointments at once (demo data), numbering them in order.
    async fn bulk_insert_appointments(&self, drafts: &[Appointment]) -> Result<u64>;
    /// Up to `limit` active patients, in creation order (for generating demo bookings).
    async fn active_patient_ids(&self, limit: u32) -> Result<Vec<PatientId>>;
}
