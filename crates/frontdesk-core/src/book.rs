//! The book at the desk, offline or not: book, reschedule, move through the day (check in, in
//! room, complete, no-show, and the undo moves), cancel with a reason.
//!
//! Each change is checked with the server's own rules ([`practice_studio::rules`]): the status
//! flow, and for anything that takes time in the book the provider's hours, breaks and time off
//! in the location's time zone and the provider's cached bookings — so the desk refuses a clash
//! itself, also offline, before the server would answer 409. Then the appointment as it now
//! looks (marked pending) and its outbox entry (author, fresh `Idempotency-Key`) are stored in one
//! transaction, and the call returns at once; the sync engine sends the change exactly once, with
//! `If-Match` for changes of an existing appointment. Another desk that was faster makes the
//! server refuse it: the change goes to the conflict list
//! ([`crate::SyncEvent::WriteRefused`]), never dropped.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentLinks, AppointmentLocation, AppointmentPatch,
    AppointmentStatus, ErrorDetail, NewAppointment, PatientStatus,
};
use practice_studio::rules::appointments::{check_transition, TransitionError};
use practice_studio::rules::slots::{
    check_booking, free_slots as free_spans, local_instant, provider_at, Availability, Clash,
};
use practice_studio::rules::TimeSpan;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{entity_key, CacheError, EntityKind};

use crate::sync::{new_entry_of, random_hex, Collection, SyncEngine, LOCAL_PATIENT_PREFIX};

/// The prefix of ids given to appointments booked on this desk until the server names them.
pub const LOCAL_APPOINTMENT_PREFIX: &str = "local-appt-";

/// Free slots start on this grid (minutes), as the server's `/slots` offers them.
pub(crate) const SLOT_GRID_MINUTES: i64 = 15;

/// The server's limits on an appointment (the same as its validation).
const MAX_MINUTES: i64 = 8 * 60;
const MAX_REASON: usize = 500;
const MAX_NOTES: usize = 2_000;

/// A change to the book accepted by the desk and queued for the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PendingAppointment {
    /// The outbox entry's place in the queue.
    pub seq: i64,
    /// The appointment as the desk now shows it (a `local-appt-…` id for a booking until the
    /// server answers).
    pub appointment: Appointment,
}

/// Why the time asked for cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClashWith {
    /// It overlaps this cached appointment of the provider.
    #[serde(rename_all = "camelCase")]
    Appointment {
        appointment_id: String,
        /// Whose it is, carried here because the appointment's id can change under the caller
        /// (a pending booking's local id becomes the server's once it is confirmed).
        patient_id: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// It is outside the provider's hours at the location (closed, a break, time off).
    OutsideHours,
}

/// Why the desk refused a change to the book before queueing it.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The server's field rules said no; every problem, by field.
    #[error("the appointment's details are not acceptable ({} problems)", .0.len())]
    Invalid(Vec<ErrorDetail>),
    /// The time is taken or outside the provider's hours (what the server answers 409 for).
    #[error("the time cannot be booked: {0:?}")]
    Clash(ClashWith),
    /// The status flow does not allow this move, or a cancellation has no reason.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("appointment {0} is not in this desk's cache")]
    UnknownAppointment(String),
    /// The book needs the clinic's locations, providers and types: first sync has not read them.
    #[error("the clinic's {0} are not in this desk's cache yet")]
    NotSynced(&'static str),
    #[error("the cache failed: {0}")]
    Cache(#[from] CacheError),
}

fn problem(field: &str, issue: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        field: field.to_owned(),
        issue: issue.into(),
        code: None,
    }
}

fn text(value: Option<&str>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Times and free text, as the server checks them.
fn check_fields(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    reason: Option<&str>,
    notes: Option<&str>,
) -> Vec<ErrorDetail> {
    let mut problems = Vec::new();
    if end <= start {
        problems.push(problem("endTime", "must be after startTime"));
    } else if end - start > Duration::minutes(MAX_MINUTES) {
        problems.push(problem(
            "endTime",
            "must be at most 8 hours after startTime",
        ));
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        problems.push(problem("reason", "must be at most 500 characters"));
    }
    if notes.is_some_and(|n| n.chars().count() > MAX_NOTES) {
        problems.push(problem("notes", "must be at most 2000 characters"));
    }
    problems
}

/// The clinic as the cache has it, for one booking's checks.
struct Clinic {
    providers: Vec<practice_studio::model::Provider>,
    locations: Vec<practice_studio::model::Location>,
    types: Vec<practice_studio::model::AppointmentType>,
}

impl Clinic {
    async fn load(engine: &SyncEngine) -> Result<Self, BookError> {
        let store = engine.store();
        let clinic = Self {
            providers: store.providers().await?,
            locations: store.locations().await?,
            types: store.appointment_types().await?,
        };
        if clinic.locations.is_empty() {
            return Err(BookError::NotSynced("locations"));
        }
        if clinic.providers.is_empty() {
            return Err(BookError::NotSynced("providers"));
        }
        Ok(clinic)
    }

    fn provider(&self, id: &str) -> Result<&practice_studio::model::Provider, BookError> {
        let provider = self
            .providers
            .iter()
            .find(|p| p.id.as_str() == id)
            .ok_or_else(|| {
                BookError::Invalid(vec![problem("providerId", format!("no provider {id}"))])
            })?;
        if !provider.active {
            return Err(BookError::Invalid(vec![problem(
                "providerId",
                format!("provider {id} is not active"),
            )]));
        }
        Ok(provider)
    }

    fn location_for(
        &self,
        provider: &practice_studio::model::Provider,
        id: &str,
    ) -> Result<&practice_studio::model::Location, BookError> {
        let location = self
            .locations
            .iter()
            .find(|l| l.id.as_str() == id)
            .ok_or_else(|| {
                BookError::Invalid(vec![problem("locationId", format!("no location {id}"))])
            })?;
        if !provider.locations.iter().any(|l| l.id == location.id) {
            return Err(BookError::Invalid(vec![problem(
                "locationId",
                format!("provider {} does not work at {id}", provider.id),
            )]));
        }
        Ok(location)
    }

    fn check_type(&self, kind: &str) -> Result<String, BookError> {
        if self.types.is_empty() {
            return Err(BookError::NotSynced("appointment types"));
        }
        self.types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(kind.trim()))
            .map(|t| t.name.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = self.types.iter().map(|t| t.name.as_str()).collect();
                BookError::Invalid(vec![problem(
                    "type",
                    format!("must be one of the appointment types: {}", names.join(", ")),
                )])
            })
    }
}

fn embedded(location: &practice_studio::model::Location) -> AppointmentLocation {
    AppointmentLocation {
        id: location.id.clone(),
        name: location.name.clone(),
        address: location.address.clone(),
    }
}

/// Whether `appointment` may hold its time: inside the provider's hours at its location (in the
/// location's zone) and clear of the provider's other cached bookings that hold time.
async fn check_clash(
    engine: &SyncEngine,
    clinic: &Clinic,
    appointment: &Appointment,
) -> Result<(), BookError> {
    let provider = clinic.provider(appointment.provider_id.as_str())?;
    let location = clinic.location_for(provider, appointment.location.id.as_str())?;
    let zone: Tz = location.time_zone.parse().map_err(|_| {
        BookError::Invalid(vec![problem(
            "locationId",
            format!("location {} has an unknown time zone", location.id),
        )])
    })?;
    let wanted = appointment
        .span()
        .map_err(|_| BookError::Invalid(vec![problem("endTime", "must be after startTime")]))?;
    // Any booking that could overlap: the same span, widened by the longest appointment.
    let margin = Duration::minutes(MAX_MINUTES);
    let others: Vec<Appointment> = engine
        .store()
        .provider_appointments_between(
            appointment.provider_id.as_str(),
            wanted.start - margin,
            wanted.end + margin,
        )
        .await?
        .into_iter()
        .filter(|a| a.id != appointment.id && a.status.holds_time())
        .collect();
    let booked: Vec<TimeSpan> = others.iter().filter_map(|a| a.span().ok()).collect();
    let (sessions, breaks, exceptions) = provider_at(provider, &location.id);
    let availability = Availability {
        zone,
        sessions: &sessions,
        breaks: &breaks,
        exceptions: &exceptions,
        booked: &booked,
    };
    match check_booking(&availability, &wanted) {
        Ok(()) => Ok(()),
        Err(Clash::Overlaps(span)) => {
            let (appointment_id, patient_id) = others
                .iter()
                .find(|a| a.span().ok() == Some(span))
                .map(|a| (a.id.to_string(), a.patient_id.to_string()))
                .unwrap_or_default();
            Err(BookError::Clash(ClashWith::Appointment {
                appointment_id,
                patient_id,
                start: span.start,
                end: span.end,
            }))
        }
        Err(Clash::OutsideHours) => Err(BookError::Clash(ClashWith::OutsideHours)),
    }
}

/// The cached appointment under `id` (a screen may still hold the local id of a booking the
/// server has since named).
async fn cached(engine: &SyncEngine, id: &str) -> Result<Appointment, BookError> {
    engine
        .store()
        .appointment_by_any_id(id)
        .await?
        .ok_or_else(|| BookError::UnknownAppointment(id.to_owned()))
}

/// Free slots of `minutes` for a provider at a location between two dates (inclusive, calendar
/// days at the location), computed offline from the cached hours, breaks, time off and book with
/// the server's own rules — the same answer as the server's `/slots` (a 15-minute grid; none
/// starting before now).
pub async fn free_slots(
    engine: &SyncEngine,
    provider_id: &str,
    location_id: &str,
    (from, to): (NaiveDate, NaiveDate),
    minutes: u32,
) -> Result<Vec<TimeSpan>, BookError> {
    if !(5..=MAX_MINUTES as u32).contains(&minutes) {
        return Err(BookError::Invalid(vec![problem(
            "duration",
            "must be a whole number of minutes from 5 to 480",
        )]));
    }
    let clinic = Clinic::load(engine).await?;
    let provider = clinic.provider(provider_id)?;
    let location = clinic.location_for(provider, location_id)?;
    let zone: Tz = location.time_zone.parse().map_err(|_| {
        BookError::Invalid(vec![problem(
            "locationId",
            format!("location {} has an unknown time zone", location.id),
        )])
    })?;
    // A local day lies within a day of its UTC date on either side.
    let start = local_instant(zone, from, NaiveTime::MIN) - Duration::days(1);
    let end = local_instant(zone, to, NaiveTime::MIN) + Duration::days(2);
    let booked: Vec<TimeSpan> = engine
        .store()
        .provider_appointments_between(provider_id, start, end)
        .await?
        .into_iter()
        .filter(|a| a.status.holds_time())
        .filter_map(|a| a.span().ok())
        .collect();
    let (sessions, breaks, exceptions) = provider_at(provider, &location.id);
    let availability = Availability {
        zone,
        sessions: &sessions,
        breaks: &breaks,
        exceptions: &exceptions,
        booked: &booked,
    };
    let minutes = i64::from(minutes);
    let now = engine.clock().now();
    Ok(free_spans(
        &availability,
        from,
        to,
        Duration::minutes(minutes),
        Duration::minutes(SLOT_GRID_MINUTES.min(minutes)),
    )
    .into_iter()
    .filter(|span| span.start >= now)
    .collect())
}

/// Checks a booking against the cached clinic and book without queueing it (for a screen that
/// warns while the time is being chosen). `Ok` when [`book`] would accept it.
pub async fn check(engine: &SyncEngine, booking: &NewAppointment) -> Result<(), BookError> {
    draft(engine, booking, None).await.map(|_| ())
}

/// [`check`] for a booking already on this desk under `id` (retried after a refusal): it does
/// not clash with itself.
pub(crate) async fn recheck(
    engine: &SyncEngine,
    booking: &NewAppointment,
    id: &AppointmentId,
) -> Result<Appointment, BookError> {
    draft(engine, booking, Some(id.clone()))
        .await
        .map(|(appointment, _)| appointment)
}

/// The appointment a booking would make, checked.
async fn draft(
    engine: &SyncEngine,
    booking: &NewAppointment,
    id: Option<AppointmentId>,
) -> Result<(Appointment, Vec<String>), BookError> {
    let store = engine.store();
    let reason = text(booking.reason.as_deref());
    let notes = text(booking.notes.as_deref());
    let problems = check_fields(
        booking.start_time,
        booking.end_time,
        reason.as_deref(),
        notes.as_deref(),
    );
    if !problems.is_empty() {
        return Err(BookError::Invalid(problems));
    }
    // The patient: cached (a registration made here may have its server id by now).
    let patient = store
        .patient_by_any_id(booking.patient_id.as_str())
        .await?
        .ok_or_else(|| {
            BookError::Invalid(vec![problem(
                "patientId",
                format!("no patient {}", booking.patient_id),
            )])
        })?;
    let patient_id = patient.id.clone();
    if patient.status != PatientStatus::Active {
        return Err(BookError::Invalid(vec![problem(
            "patientId",
            format!("patient {} is not active", patient.id),
        )]));
    }
    // A booking for a patient registered here waits for the registration to be accepted.
    let refs = if patient_id.as_str().starts_with(LOCAL_PATIENT_PREFIX) {
        vec![entity_key(EntityKind::Patient, patient_id.as_str())]
    } else {
        Vec::new()
    };
    let clinic = Clinic::load(engine).await?;
    let provider = clinic.provider(booking.provider_id.as_str())?;
    let location = clinic.location_for(provider, booking.location_id.as_str())?;
    let kind = clinic.check_type(&booking.kind)?;
    let now = engine.clock().now();
    let id =
        id.unwrap_or_else(|| AppointmentId(format!("{LOCAL_APPOINTMENT_PREFIX}{}", random_hex())));
    let appointment = Appointment {
        links: AppointmentLinks::new(&id, &patient_id, &booking.provider_id),
        id,
        patient_id,
        provider_id: booking.provider_id.clone(),
        start_time: booking.start_time,
        end_time: booking.end_time,
        kind,
        status: AppointmentStatus::Scheduled,
        reason,
        notes,
        location: embedded(location),
        checked_in_at: None,
        roomed_at: None,
        completed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        no_show_at: None,
        version: 0,
        created: now,
        updated: now,
    };
    check_clash(engine, &clinic, &appointment).await?;
    Ok((appointment, refs))
}

/// Books an appointment at once, offline or not: checked with the server's rules against the
/// cached clinic and book (a clash is refused here), cached under a `local-appt-…` id (marked
/// pending) and queued; the server's id replaces the local one when the booking is accepted
/// ([`crate::SyncEvent::WriteAccepted`]). A booking for a patient registered on this desk waits
/// for the registration.
pub async fn book(
    engine: &SyncEngine,
    author: &str,
    booking: &NewAppointment,
) -> Result<PendingAppointment, BookError> {
    let (appointment, refs) = draft(engine, booking, None).await?;
    let mut payload = booking.clone();
    payload.patient_id = appointment.patient_id.clone();
    payload.kind = appointment.kind.clone();
    payload.reason = appointment.reason.clone();
    payload.notes = appointment.notes.clone();
    let payload = serde_json::to_value(&payload)
        .map_err(|_| BookError::Invalid(vec![problem("body", "the booking cannot be encoded")]))?;
    let entry = new_entry_of(
        EntityKind::Appointment,
        author,
        appointment.id.as_str(),
        "create",
        payload,
        None,
        refs,
    );
    queue(engine, entry, appointment, "booking queued").await
}

async fn queue(
    engine: &SyncEngine,
    entry: frontdesk_store::NewOutboxEntry,
    appointment: Appointment,
    what: &'static str,
) -> Result<PendingAppointment, BookError> {
    let stored = engine
        .store()
        .enqueue_appointment_change(&entry, &appointment)
        .await?;
    tracing::info!(seq = stored.seq, operation = %entry.operation, "{what}");
    engine.changed(Collection::Appointments, vec![appointment.id.to_string()]);
    engine.queued();
    Ok(PendingAppointment {
        seq: stored.seq,
        appointment,
    })
}

/// Applies a change to an appointment as the server would (the status flow's stamps, a move
/// keeping the length), checking the move; the appointment as it then looks.
pub(crate) fn apply_patch(
    current: &Appointment,
    patch: &AppointmentPatch,
    now: DateTime<Utc>,
) -> Result<Appointment, BookError> {
    use AppointmentStatus::*;
    let mut next = current.clone();
    next.updated = now;
    if let Some(to) = patch.status.filter(|to| *to != current.status) {
        let stamp = match to {
            CheckedIn => patch.checked_in_at,
            InRoom => patch.roomed_at,
            Completed => patch.completed_at,
            Cancelled => patch.cancelled_at,
            NoShow => patch.no_show_at,
            Scheduled => None,
        };
        let reason = text(patch.cancel_reason.as_deref());
        let at = check_transition(current.status, to, reason.as_deref(), stamp, now)?;
        match (current.status, to) {
            (CheckedIn, Scheduled) => next.checked_in_at = None,
            (Cancelled, Scheduled) => {
                next.cancelled_at = None;
                next.cancel_reason = None;
            }
            (NoShow, CheckedIn) => {
                next.no_show_at = None;
                next.checked_in_at = Some(at);
            }
            (_, CheckedIn) => next.checked_in_at = Some(at),
            (_, InRoom) => next.roomed_at = Some(at),
            (_, Completed) => next.completed_at = Some(at),
            (_, Cancelled) => {
                next.cancelled_at = Some(at);
                next.cancel_reason = reason;
            }
            (_, NoShow) => next.no_show_at = Some(at),
            (_, Scheduled) => {}
        }
        next.status = to;
    }
    if patch.start_time.is_some() || patch.end_time.is_some() {
        if next.status != Scheduled {
            return Err(BookError::Invalid(vec![problem(
                "startTime",
                format!(
                    "only a scheduled appointment can be moved; this one is {}",
                    next.status
                ),
            )]));
        }
        let length = current.end_time - current.start_time;
        if let Some(start) = patch.start_time {
            next.start_time = start;
            next.end_time = patch.end_time.unwrap_or(start + length);
        } else if let Some(end) = patch.end_time {
            next.end_time = end;
        }
        let problems = check_fields(
            next.start_time,
            next.end_time,
            next.reason.as_deref(),
            next.notes.as_deref(),
        );
        if !problems.is_empty() {
            return Err(BookError::Invalid(problems));
        }
    }
    Ok(next)
}

/// Queues a change of a cached appointment: checked, applied locally (marked pending), based on
/// the cached version (or chained on the answer to an earlier change still waiting).
async fn change(
    engine: &SyncEngine,
    author: &str,
    id: &str,
    patch: AppointmentPatch,
    operation: &str,
) -> Result<PendingAppointment, BookError> {
    let current = cached(engine, id).await?;
    let next = apply_patch(&current, &patch, engine.clock().now())?;
    // Anything that takes time in the book again: the time must still be free.
    let takes_time = (patch.start_time.is_some() || patch.end_time.is_some())
        || (current.status == AppointmentStatus::Cancelled && next.status.holds_time());
    if takes_time {
        let clinic = Clinic::load(engine).await?;
        check_clash(engine, &clinic, &next).await?;
    }
    let payload = serde_json::to_value(&patch)
        .map_err(|_| BookError::Invalid(vec![problem("body", "the change cannot be encoded")]))?;
    let entry = new_entry_of(
        EntityKind::Appointment,
        author,
        current.id.as_str(),
        operation,
        payload,
        Some(current.version),
        Vec::new(),
    );
    queue(engine, entry, next, "appointment change queued").await
}

/// Moves a scheduled appointment to a new start (keeping its length, unless `end` is given),
/// at its provider and location; refused here if the new time clashes.
pub async fn reschedule(
    engine: &SyncEngine,
    author: &str,
    id: &str,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
) -> Result<PendingAppointment, BookError> {
    let patch = AppointmentPatch {
        start_time: Some(start),
        end_time: end,
        ..AppointmentPatch::default()
    };
    change(engine, author, id, patch, "reschedule").await
}

/// Moves an appointment through the day: check in, in room, complete, no-show, and the undo
/// moves (checked in → scheduled, no-show → checked in, cancelled → scheduled while the time is
/// still free). Stamped with the desk's time of the move, so a change made offline is recorded
/// when it happened. For a cancellation use [`cancel`].
pub async fn set_status(
    engine: &SyncEngine,
    author: &str,
    id: &str,
    to: AppointmentStatus,
) -> Result<PendingAppointment, BookError> {
    if to == AppointmentStatus::Cancelled {
        return Err(TransitionError::CancelReasonMissing.into());
    }
    let at = Some(engine.clock().now());
    let mut patch = AppointmentPatch {
        status: Some(to),
        ..AppointmentPatch::default()
    };
    match to {
        AppointmentStatus::CheckedIn => patch.checked_in_at = at,
        AppointmentStatus::InRoom => patch.roomed_at = at,
        AppointmentStatus::Completed => patch.completed_at = at,
        AppointmentStatus::NoShow => patch.no_show_at = at,
        AppointmentStatus::Scheduled | AppointmentStatus::Cancelled => {}
    }
    change(engine, author, id, patch, "status").await
}

/// Cancels an appointment with a reason (required).
pub async fn cancel(
    engine: &SyncEngine,
    author: &str,
    id: &str,
    reason: &str,
) -> Result<PendingAppointment, BookError> {
    let patch = AppointmentPatch {
        status: Some(AppointmentStatus::Cancelled),
        cancel_reason: Some(reason.trim().to_owned()),
        cancelled_at: Some(engine.clock().now()),
        ..AppointmentPatch::default()
    };
    change(engine, author, id, patch, "cancel").await
}
