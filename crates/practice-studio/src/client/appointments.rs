//! `/api/v1/appointments` and the per-patient and per-provider lists: the query builder, the
//! typed calls (book, change, and one call per status move), and the walk over every page.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::Stream;
use reqwest::Method;

use super::patients::{segment, SortOrder, PAGE_SIZE};
use super::{Call, Client, Error, Priority};
use crate::model::{
    Appointment, AppointmentId, AppointmentList, AppointmentPatch, AppointmentStatus,
    NewAppointment, PatientId, ProviderId,
};

/// Sort keys of the appointment lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppointmentSort {
    /// Start time (the server's default): the book's order.
    Start,
    /// Booking time: append-only, the order to page through everything in.
    Created,
    Updated,
}

impl AppointmentSort {
    fn as_str(self) -> &'static str {
        match self {
            AppointmentSort::Start => "startTime",
            AppointmentSort::Created => "created",
            AppointmentSort::Updated => "updated",
        }
    }
}

/// The filters and page of the appointment lists, e.g.
/// `AppointmentQuery::new().dates(monday, friday).provider(id).limit(100)`. Dates are calendar
/// days at the appointment's location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppointmentQuery {
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    provider: Option<ProviderId>,
    patient: Option<PatientId>,
    status: Option<AppointmentStatus>,
    updated_since: Option<DateTime<Utc>>,
    sort: Option<AppointmentSort>,
    order: Option<SortOrder>,
    limit: Option<u32>,
    offset: Option<u64>,
}

impl AppointmentQuery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appointments on these days (inclusive).
    pub fn dates(mut self, from: NaiveDate, to: NaiveDate) -> Self {
        self.start_date = Some(from);
        self.end_date = Some(to);
        self
    }

    pub fn start_date(mut self, from: NaiveDate) -> Self {
        self.start_date = Some(from);
        self
    }

    pub fn end_date(mut self, to: NaiveDate) -> Self {
        self.end_date = Some(to);
        self
    }

    pub fn provider(mut self, provider: ProviderId) -> Self {
        self.provider = Some(provider);
        self
    }

    pub fn patient(mut self, patient: PatientId) -> Self {
        self.patient = Some(patient);
        self
    }

    pub fn status(mut self, status: AppointmentStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only appointments changed at or after this instant (inclusive: poll with the last
    /// `updated` seen and drop what you already have).
    pub fn updated_since(mut self, since: DateTime<Utc>) -> Self {
        self.updated_since = Some(since);
        self
    }

    pub fn sort(mut self, sort: AppointmentSort) -> Self {
        self.sort = Some(sort);
        self
    }

    pub fn order(mut self, order: SortOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// Appointments per page, 1 to 100 (the server's default is 20).
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
        if let Some(date) = self.start_date {
            pairs.push(("start_date", date.to_string()));
        }
        if let Some(date) = self.end_date {
            pairs.push(("end_date", date.to_string()));
        }
        if let Some(provider) = &self.provider {
            pairs.push(("provider_id", provider.to_string()));
        }
        if let Some(patient) = &self.patient {
            pairs.push(("patient_id", patient.to_string()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if let Some(since) = self.updated_since {
            pairs.push((
                "updated_since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ));
        }
        if let Some(sort) = self.sort {
            pairs.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(order) = self.order {
            let order = match order {
                SortOrder::Asc => "asc",
                SortOrder::Desc => "desc",
            };
            pairs.push(("order", order.to_owned()));
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

/// The appointment routes; from [`Client::appointments`].
#[derive(Debug, Clone)]
pub struct Appointments<'a> {
    pub(crate) client: &'a Client,
}

fn appointment_path(id: &AppointmentId) -> String {
    format!("/api/v1/appointments/{}", segment(id.as_str()))
}

impl<'a> Appointments<'a> {
    /// `GET /api/v1/appointments`: one page.
    pub fn list(&self, query: &AppointmentQuery) -> Call<'a, AppointmentList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/appointments",
            "/api/v1/appointments".into(),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/patients/{id}/appointments`: one page of one patient's appointments.
    pub fn of_patient(
        &self,
        patient: &PatientId,
        query: &AppointmentQuery,
    ) -> Call<'a, AppointmentList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/patients/{id}/appointments",
            format!(
                "/api/v1/patients/{}/appointments",
                segment(patient.as_str())
            ),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/providers/{id}/appointments`: one page of one provider's book.
    pub fn of_provider(
        &self,
        provider: &ProviderId,
        query: &AppointmentQuery,
    ) -> Call<'a, AppointmentList> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/providers/{id}/appointments",
            format!(
                "/api/v1/providers/{}/appointments",
                segment(provider.as_str())
            ),
        )
        .query(query.pairs())
    }

    /// `GET /api/v1/appointments/{id}`.
    pub fn get(&self, id: &AppointmentId) -> Call<'a, Appointment> {
        Call::new(
            self.client,
            Method::GET,
            "/api/v1/appointments/{id}",
            appointment_path(id),
        )
    }

    /// `POST /api/v1/appointments`: books it, or fails with [`Error::Conflict`] naming the
    /// clash. Sent with an `Idempotency-Key`, so a retry after a lost answer books once.
    pub fn create(&self, appointment: &NewAppointment) -> Call<'a, Appointment> {
        Call::new(
            self.client,
            Method::POST,
            "/api/v1/appointments",
            "/api/v1/appointments".into(),
        )
        .json(appointment)
    }

    /// `PUT /api/v1/appointments/{id}` with any change: move, retype, notes, status. Add
    /// `.if_match(appointment.version)` to refuse it when someone changed the appointment since.
    pub fn update(&self, id: &AppointmentId, patch: &AppointmentPatch) -> Call<'a, Appointment> {
        Call::new(
            self.client,
            Method::PUT,
            "/api/v1/appointments/{id}",
            appointment_path(id),
        )
        .json(patch)
    }

    /// Moves the appointment to `status`, stamped `at` (when it happened; `None`: now, by the
    /// server's clock). For a cancellation use [`Self::cancel`].
    pub fn set_status(
        &self,
        id: &AppointmentId,
        status: AppointmentStatus,
        at: Option<DateTime<Utc>>,
    ) -> Call<'a, Appointment> {
        let mut patch = AppointmentPatch {
            status: Some(status),
            ..AppointmentPatch::default()
        };
        match status {
            AppointmentStatus::CheckedIn => patch.checked_in_at = at,
            AppointmentStatus::InRoom => patch.roomed_at = at,
            AppointmentStatus::Completed => patch.completed_at = at,
            AppointmentStatus::Cancelled => patch.cancelled_at = at,
            AppointmentStatus::NoShow => patch.no_show_at = at,
            AppointmentStatus::Scheduled => {}
        }
        self.update(id, &patch)
    }

    /// Cancels with a reason (required).
    pub fn cancel(&self, id: &AppointmentId, reason: impl Into<String>) -> Call<'a, Appointment> {
        let patch = AppointmentPatch {
            status: Some(AppointmentStatus::Cancelled),
            cancel_reason: Some(reason.into()),
            ..AppointmentPatch::default()
        };
        self.update(id, &patch)
    }

    /// Moves a scheduled appointment to a new start (keeping its length) or a new span.
    pub fn reschedule(
        &self,
        id: &AppointmentId,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    ) -> Call<'a, Appointment> {
        let patch = AppointmentPatch {
            start_time: Some(start),
            end_time: end,
            ..AppointmentPatch::default()
        };
        self.update(id, &patch)
    }

    /// Every appointment matching `query`, page after page (100 a page, `sort=created`
    /// ascending: the server's append-only order), stopping after the last page; fetched as the
    /// stream is read. A snapshot-free walk, like [`super::Patients::all`].
    pub fn all(
        &self,
        query: &AppointmentQuery,
        priority: Priority,
    ) -> impl Stream<Item = Result<Appointment, Error>> + Send + 'static {
        let client = self.client.clone();
        let query = query
            .clone()
            .limit(PAGE_SIZE)
            .sort(AppointmentSort::Created)
            .order(SortOrder::Asc);
        super::pages::walk(move |offset| {
            let client = client.clone();
            let query = query.clone().offset(offset);
            async move {
                let page = client
                    .appointments()
                    .list(&query)
                    .priority(priority)
                    .await?;
                Ok((page.appointments, page.total))
            }
        })
    }
}
