//! The appointment book as the desk shows it, from the cache alone (so it works offline): a day
//! or a week of columns, one per provider and location and date, laid out in the location's
//! wall-clock minutes (hours, breaks and time off from the same rules the server uses), each
//! appointment with its patient's name and whether this desk's change to it is still pending or
//! refused; the next free slots across providers; a booking checked before it is saved; and the
//! changes of the day (move, status, cancel) handed to [`crate::book`].
//!
//! The UI does no time-zone arithmetic: every position is minutes since the column's local
//! midnight, and a move names the new local date and minute, which is turned into an instant here
//! with the location's zone (so a move by a day keeps its wall-clock time across a DST change).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use practice_studio::model::{
    AppointmentId, AppointmentStatus, AppointmentType, ErrorDetail, ExceptionKind, Location,
    LocationId, NewAppointment, PatientId, Provider, ProviderId,
};
use practice_studio::rules::appointments::next_statuses;
use practice_studio::rules::slots::{
    local_instant, parse_hhmm, provider_at, sessions_of, Availability, FreeSlots,
};
use practice_studio::rules::TimeSpan;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{entity_key, BookedAppointment, EntityKind};

use crate::book::{BookError, ClashWith, PendingAppointment};
use crate::desk::{CoreError, Desk};
use crate::roles::{Offer, Offers};

/// The longest span a view or a slot search covers.
const MAX_VIEW_DAYS: u32 = 14;
const MAX_SEARCH_DAYS: u32 = 90;
const MINUTES_PER_DAY: u32 = 24 * 60;

/// Arguments of `book_view`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookViewArgs {
    /// The first day shown (a calendar day at each location).
    pub date: NaiveDate,
    /// How many days from `date`: 1 for the day view (the default), 7 for a week.
    #[serde(default)]
    #[ts(optional)]
    pub days: Option<u32>,
    /// Only this location's columns.
    #[serde(default)]
    #[ts(optional)]
    pub location_id: Option<String>,
    /// Only providers of this specialty.
    #[serde(default)]
    #[ts(optional)]
    pub specialty: Option<String>,
    /// Only these providers (the week view's choice); every provider when absent or empty.
    #[serde(default)]
    #[ts(optional)]
    pub provider_ids: Option<Vec<String>>,
}

/// A location, for the filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookLocation {
    pub id: String,
    pub name: String,
    /// IANA name, e.g. `America/Chicago`.
    pub time_zone: String,
    pub phone: String,
}

/// A provider, for the filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookProvider {
    pub id: String,
    /// As a patient would call them: "Dr. Grace Kim, MD".
    pub name: String,
    pub specialty: String,
    pub location_ids: Vec<String>,
}

/// A part of a day, in minutes since local midnight (`end` exclusive, at most 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MinuteSpan {
    pub start: u32,
    pub end: u32,
}

/// Why a part of the working day takes no bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClosedKind {
    Break,
    TimeOff,
}

/// A break or time off, in local minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClosedSpan {
    pub start: u32,
    pub end: u32,
    pub kind: ClosedKind,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What the book shows of an appointment: the appointment as the API names its fields, without
/// its links, its location's address and its creation and change stamps. A week of a full clinic
/// is several hundred appointments, read from the cache, sent and parsed for every view; these
/// leave out a third of each one's bytes and most of its allocations (read straight from the
/// cached body, which serde skips the rest of).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookAppointment {
    pub id: AppointmentId,
    pub patient_id: PatientId,
    pub provider_id: ProviderId,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    pub status: AppointmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notes: Option<String>,
    pub location: BookAppointmentLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub checked_in_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub roomed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub no_show_at: Option<DateTime<Utc>>,
    /// What a change sends as `If-Match`.
    #[serde(default)]
    pub version: i64,
}

/// The location of a [`BookAppointment`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookAppointmentLocation {
    pub id: LocationId,
    pub name: String,
}

/// An appointment in the book, with what the desk shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookEntry {
    pub appointment: BookAppointment,
    /// "Last, First", or the id when the patient is not cached.
    pub patient_name: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_phone: Option<String>,
    /// Local minutes of the start and end within the column's day.
    pub start_minute: u32,
    pub end_minute: u32,
    /// A change made on this desk is not yet confirmed by the server.
    pub pending: bool,
    /// The server refused a change made on this desk: it waits on the conflict list.
    pub in_conflict: bool,
    /// The statuses the flow allows from this one (cancelled needs a reason).
    pub next_statuses: Vec<AppointmentStatus>,
}

/// One provider at one location on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookColumn {
    pub provider_id: String,
    pub provider_name: String,
    pub specialty: String,
    pub location_id: String,
    pub location_name: String,
    pub time_zone: String,
    pub date: NaiveDate,
    /// Working hours (the weekly sessions and extra sessions).
    pub hours: Vec<MinuteSpan>,
    /// Breaks and time off within (or instead of) the hours.
    pub closed: Vec<ClosedSpan>,
    /// Where "now" is, when the column's date is today at its location.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_minute: Option<u32>,
    pub appointments: Vec<BookEntry>,
}

/// A day or a week of the book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookView {
    pub from: NaiveDate,
    pub days: u32,
    pub now: DateTime<Utc>,
    pub locations: Vec<BookLocation>,
    pub providers: Vec<BookProvider>,
    pub specialties: Vec<String>,
    pub types: Vec<AppointmentType>,
    pub columns: Vec<BookColumn>,
}

/// Time of day a slot search keeps to (at the location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    Any,
    /// Starting before noon.
    Morning,
    /// Starting at noon or later.
    Afternoon,
}

/// Arguments of `find_slots`: the next free slots by provider or specialty.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlotSearchArgs {
    #[serde(default)]
    #[ts(optional)]
    pub provider_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub specialty: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub location_id: Option<String>,
    /// The first day searched.
    pub from: NaiveDate,
    /// Days searched from `from` (default 60, at most 90).
    #[serde(default)]
    #[ts(optional)]
    pub days: Option<u32>,
    /// The appointment's length.
    pub minutes: u32,
    #[serde(default)]
    #[ts(optional)]
    pub time_of_day: Option<TimeOfDay>,
    /// How many slots (default 8, at most 50).
    #[serde(default)]
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// A free slot found for a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FoundSlot {
    pub provider_id: String,
    pub provider_name: String,
    pub location_id: String,
    pub location_name: String,
    pub time_zone: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// The local date and minute of the start.
    pub date: NaiveDate,
    pub start_minute: u32,
}

/// What a booking would meet, told before it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BookingCheck {
    /// The booking would be accepted.
    pub ok: bool,
    /// Every field problem (patient inactive, reason too long, …).
    pub problems: Vec<ErrorDetail>,
    /// The clash, in words ("Clashes with Smith, Ann 09:00–09:30").
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clash: Option<String>,
    /// The appointment it clashes with, to open it.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clash_appointment_id: Option<String>,
}

/// Arguments of `reschedule_appointment`: the new local start at the appointment's location.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RescheduleArgs {
    pub appointment_id: String,
    pub date: NaiveDate,
    /// Minutes since local midnight.
    pub minute: u32,
}

/// Arguments of `set_appointment_status`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusArgs {
    pub appointment_id: String,
    pub status: AppointmentStatus,
}

/// Arguments of `cancel_appointment`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelArgs {
    pub appointment_id: String,
    pub reason: String,
}

/// Arguments of `book_appointment` and `check_booking`: a booking as the desk's form has it,
/// its start a local date and minute at the location.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingArgs {
    pub patient_id: String,
    pub provider_id: String,
    pub location_id: String,
    pub date: NaiveDate,
    /// Minutes since local midnight.
    pub minute: u32,
    /// The appointment's length in minutes.
    pub minutes: u32,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub notes: Option<String>,
}

/// "Dr. Grace Kim, MD" (no "Dr." for nurse practitioners and the like).
pub fn provider_name(provider: &Provider) -> String {
    let doctor = ["MD", "DO", "DDS", "DPM", "PhD"]
        .iter()
        .any(|c| provider.credentials.split([',', ' ']).any(|p| p == *c));
    let name = format!("{} {}", provider.first_name, provider.last_name);
    let name = if doctor { format!("Dr. {name}") } else { name };
    if provider.credentials.is_empty() {
        name
    } else {
        format!("{name}, {}", provider.credentials)
    }
}

/// One field's problem, as the server words it.
fn detail(field: &str, issue: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        field: field.to_owned(),
        issue: issue.into(),
        code: None,
    }
}

fn zone_of(location: &Location) -> Result<Tz, CoreError> {
    location.time_zone.parse().map_err(|_| {
        CoreError::Invalid(vec![detail(
            "locationId",
            format!("location {} has an unknown time zone", location.id),
        )])
    })
}

fn minute_of(time: NaiveTime) -> u32 {
    time.hour() * 60 + time.minute()
}

/// Minutes since `date`'s local midnight of an instant, clamped into the day.
fn local_minute(zone: Tz, date: NaiveDate, at: DateTime<Utc>) -> u32 {
    let local = at.with_timezone(&zone);
    match local.date_naive().cmp(&date) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Greater => MINUTES_PER_DAY,
        std::cmp::Ordering::Equal => minute_of(local.time()),
    }
}

/// A provider's hours and closed spans at a location on a date, in local minutes.
fn day_shape(
    provider: &Provider,
    location_id: &str,
    date: NaiveDate,
) -> (Vec<MinuteSpan>, Vec<ClosedSpan>) {
    let Some(at) = provider
        .location_schedules
        .iter()
        .find(|s| s.location_id.as_str() == location_id)
    else {
        return (Vec::new(), Vec::new());
    };
    let mut hours: Vec<MinuteSpan> = sessions_of(&at.hours)
        .into_iter()
        .filter(|s| s.weekday == date.weekday())
        .map(|s| MinuteSpan {
            start: minute_of(s.start),
            end: minute_of(s.end),
        })
        .collect();
    let mut closed = Vec::new();
    let exceptions = provider.schedule_exceptions.iter().filter(|e| {
        e.date == date
            && e.location_id
                .as_ref()
                .is_none_or(|l| l.as_str() == location_id)
    });
    let mut whole_day_off: Option<Option<String>> = None;
    for exception in exceptions {
        let part = match (exception.start.as_deref(), exception.end.as_deref()) {
            (Some(s), Some(e)) => parse_hhmm(s).zip(parse_hhmm(e)),
            _ => None,
        };
        match (exception.kind, part) {
            (ExceptionKind::Extra, Some((s, e))) => hours.push(MinuteSpan {
                start: minute_of(s),
                end: minute_of(e),
            }),
            (ExceptionKind::Extra, None) => {}
            (ExceptionKind::TimeOff, Some((s, e))) => closed.push(ClosedSpan {
                start: minute_of(s),
                end: minute_of(e),
                kind: ClosedKind::TimeOff,
                note: exception.note.clone(),
            }),
            (ExceptionKind::TimeOff, None) => whole_day_off = Some(exception.note.clone()),
        }
    }
    hours.sort_by_key(|h| h.start);
    if let Some(note) = whole_day_off {
        return (
            hours.clone(),
            hours
                .iter()
                .map(|h| ClosedSpan {
                    start: h.start,
                    end: h.end,
                    kind: ClosedKind::TimeOff,
                    note: note.clone(),
                })
                .collect(),
        );
    }
    if !hours.is_empty() {
        for b in &at.breaks {
            if let (Some(s), Some(e)) = (parse_hhmm(&b.start), parse_hhmm(&b.end)) {
                let (s, e) = (minute_of(s), minute_of(e));
                if hours.iter().any(|h| s < h.end && h.start < e) {
                    closed.push(ClosedSpan {
                        start: s,
                        end: e,
                        kind: ClosedKind::Break,
                        note: None,
                    });
                }
            }
        }
    }
    closed.sort_by_key(|c| c.start);
    (hours, closed)
}

/// The book's entries of one column from its cached rows.
fn entries(
    zone: Tz,
    date: NaiveDate,
    booked: Vec<BookedAppointment<BookAppointment>>,
    conflicts: &HashSet<String>,
) -> Vec<BookEntry> {
    booked
        .into_iter()
        .map(|row| {
            let appointment = row.appointment;
            let (patient_name, patient_phone) = match row.patient {
                Some(p) => (format!("{}, {}", p.last_name, p.first_name), p.phone),
                None => (appointment.patient_id.to_string(), None),
            };
            let id = appointment.id.as_str();
            let start_minute = local_minute(zone, date, appointment.start_time);
            BookEntry {
                start_minute,
                end_minute: local_minute(zone, date, appointment.end_time).max(start_minute + 5),
                // The row's own flag: set with the outbox entry, cleared with the server's answer
                // (a local id is pending by definition, even if the answer just replaced the row).
                pending: id.starts_with(crate::book::LOCAL_APPOINTMENT_PREFIX) || row.pending,
                in_conflict: conflicts.contains(&entity_key(EntityKind::Appointment, id)),
                next_statuses: next_statuses(appointment.status),
                patient_name,
                patient_phone,
                appointment,
            }
        })
        .collect()
}

/// The instant of a local date and minute at a location.
fn local_start(
    location: &Location,
    date: NaiveDate,
    minute: u32,
) -> Result<DateTime<Utc>, CoreError> {
    if minute >= MINUTES_PER_DAY {
        return Err(CoreError::Invalid(vec![detail(
            "minute",
            "must be a minute of the day (0 to 1439)",
        )]));
    }
    let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN);
    Ok(local_instant(zone_of(location)?, date, time))
}

fn wanted(filter: &Option<String>) -> Option<&str> {
    filter.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn map_book_error(error: BookError) -> CoreError {
    match error {
        BookError::Invalid(problems) => CoreError::Invalid(problems),
        BookError::Clash(clash) => CoreError::Invalid(vec![detail("startTime", match clash {
                ClashWith::Appointment { appointment_id, .. } => {
                    format!("the time overlaps appointment {appointment_id}")
                }
                ClashWith::OutsideHours => {
                    "the time is outside the provider's hours (closed, a break or time off)".into()
                }
            })]),
        BookError::Transition(t) => CoreError::Invalid(vec![detail("status", t.to_string())]),
        BookError::UnknownAppointment(id) => CoreError::NotFound {
            what: "appointment",
            id,
        },
        BookError::NotSynced(what) => CoreError::NotAllowed(format!(
            "the clinic's {what} are not on this desk yet; the book opens once the first sync has read them"
        )),
        BookError::Cache(cache) => CoreError::Cache(cache),
    }
}

impl Desk {
    async fn book_reader(&self) -> Result<std::sync::Arc<crate::session::Cache>, CoreError> {
        let (me, _) = self.signed_in().await?;
        if !me.offers.read_appointments {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::ReadAppointments,
                &me.role,
            )));
        }
        self.cache()
    }

    async fn book_writer(
        &self,
    ) -> Result<(String, std::sync::Arc<crate::session::Cache>), CoreError> {
        let (me, _) = self.signed_in().await?;
        if !me.offers.book_appointments {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::BookAppointments,
                &me.role,
            )));
        }
        Ok((me.user_id, self.cache()?))
    }

    /// The booking the form describes, its local start turned into an instant at the location.
    async fn new_appointment(
        &self,
        cache: &crate::session::Cache,
        args: &BookingArgs,
    ) -> Result<NewAppointment, CoreError> {
        let location = cache
            .engine
            .store()
            .locations()
            .await?
            .into_iter()
            .find(|l| l.id.as_str() == args.location_id)
            .ok_or_else(|| {
                CoreError::Invalid(vec![detail(
                    "locationId",
                    format!("no location {}", args.location_id),
                )])
            })?;
        let start = local_start(&location, args.date, args.minute)?;
        Ok(NewAppointment {
            patient_id: PatientId(args.patient_id.clone()),
            provider_id: practice_studio::model::ProviderId(args.provider_id.clone()),
            start_time: start,
            end_time: start + Duration::minutes(i64::from(args.minutes)),
            kind: args.kind.clone(),
            reason: args.reason.clone(),
            notes: args.notes.clone(),
            location_id: location.id.clone(),
        })
    }

    /// A day (or up to two weeks) of the book from the cache: a column per provider and location
    /// and date where the provider works or has appointments (every date for the providers a
    /// week view names), filtered by location, specialty and providers.
    pub async fn book_view(&self, args: &BookViewArgs) -> Result<BookView, CoreError> {
        let cache = self.book_reader().await?;
        let store = cache.engine.store();
        let days = args.days.unwrap_or(1).clamp(1, MAX_VIEW_DAYS);
        let now = self.inner.clock.now();
        let last = args.date + Duration::days(i64::from(days) - 1);

        let location_filter = wanted(&args.location_id);
        let specialty_filter = wanted(&args.specialty);
        let chosen: Vec<&str> = args
            .provider_ids
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let week = !chosen.is_empty();

        // Every appointment that can start on these local dates, at once: local time is UTC
        // from 12 hours behind to 14 ahead, so a local date begins at most 14 hours before the
        // same UTC date and ends at most 12 hours after it.
        let from_utc =
            local_instant(chrono_tz::UTC, args.date, NaiveTime::MIN) - Duration::hours(14);
        let to_utc = local_instant(chrono_tz::UTC, last + Duration::days(1), NaiveTime::MIN)
            + Duration::hours(12);
        // The reads at once, each on a connection of its own: the clinic, the conflicts, and the
        // appointments with each one's pending mark and patient in one statement (a week reads
        // only the chosen providers'; an empty choice is every provider's). The book's reads go
        // last: they run on this thread, after the others have been handed to theirs.
        let (locations, mut providers, types, conflicts, appointments) = tokio::try_join!(
            store.locations(),
            store.providers(),
            store.appointment_types(),
            store.entities_in_conflict(),
            store.book_entries_between::<BookAppointment>(from_utc, to_utc, &chosen),
        )?;
        providers.retain(|p| p.active);
        providers.sort_by(|a, b| {
            (a.last_name.as_str(), a.first_name.as_str())
                .cmp(&(b.last_name.as_str(), b.first_name.as_str()))
        });
        let zones: HashMap<&str, (Tz, &Location)> = locations
            .iter()
            .filter_map(|l| Some((l.id.as_str(), (l.time_zone.parse::<Tz>().ok()?, l))))
            .collect();
        // (provider, location, local date) → appointments.
        let mut by_column: HashMap<
            (String, String, NaiveDate),
            Vec<BookedAppointment<BookAppointment>>,
        > = HashMap::new();
        for booked in appointments {
            let appointment = &booked.appointment;
            let Some((zone, _)) = zones.get(appointment.location.id.as_str()) else {
                continue;
            };
            let date = appointment.start_time.with_timezone(zone).date_naive();
            if date < args.date || date > last {
                continue;
            }
            by_column
                .entry((
                    appointment.provider_id.to_string(),
                    appointment.location.id.to_string(),
                    date,
                ))
                .or_default()
                .push(booked);
        }

        let mut columns = Vec::new();
        for provider in &providers {
            if specialty_filter.is_some_and(|s| !provider.specialty.eq_ignore_ascii_case(s)) {
                continue;
            }
            if week && !chosen.contains(&provider.id.as_str()) {
                continue;
            }
            let at: Vec<&Location> = provider
                .locations
                .iter()
                .filter(|l| location_filter.is_none_or(|f| l.id.as_str() == f))
                .filter_map(|l| zones.get(l.id.as_str()).map(|(_, loc)| *loc))
                .collect();
            let mut date = args.date;
            while date <= last {
                let mut shown_this_date = false;
                for location in &at {
                    let (hours, closed) = day_shape(provider, location.id.as_str(), date);
                    let key = (provider.id.to_string(), location.id.to_string(), date);
                    let booked = by_column.remove(&key).unwrap_or_default();
                    if hours.is_empty() && booked.is_empty() {
                        continue;
                    }
                    shown_this_date = true;
                    let zone = zone_of(location)?;
                    let entries = entries(zone, date, booked, &conflicts);
                    let local_now = now.with_timezone(&zone);
                    columns.push(BookColumn {
                        provider_id: provider.id.to_string(),
                        provider_name: provider_name(provider),
                        specialty: provider.specialty.clone(),
                        location_id: location.id.to_string(),
                        location_name: location.name.clone(),
                        time_zone: location.time_zone.clone(),
                        date,
                        hours,
                        closed,
                        now_minute: (local_now.date_naive() == date)
                            .then(|| minute_of(local_now.time())),
                        appointments: entries,
                    });
                }
                // A week view keeps every date of a chosen provider, closed or not.
                if week && !shown_this_date {
                    if let Some(location) = at.first() {
                        let zone = zone_of(location)?;
                        let local_now = now.with_timezone(&zone);
                        columns.push(BookColumn {
                            provider_id: provider.id.to_string(),
                            provider_name: provider_name(provider),
                            specialty: provider.specialty.clone(),
                            location_id: location.id.to_string(),
                            location_name: location.name.clone(),
                            time_zone: location.time_zone.clone(),
                            date,
                            hours: Vec::new(),
                            closed: Vec::new(),
                            now_minute: (local_now.date_naive() == date)
                                .then(|| minute_of(local_now.time())),
                            appointments: Vec::new(),
                        });
                    }
                }
                date += Duration::days(1);
            }
        }
        if week {
            columns.sort_by(|a, b| (a.date, &a.provider_name).cmp(&(b.date, &b.provider_name)));
        }

        let mut specialties: Vec<String> = providers.iter().map(|p| p.specialty.clone()).collect();
        specialties.sort();
        specialties.dedup();
        Ok(BookView {
            from: args.date,
            days,
            now,
            locations: locations
                .iter()
                .map(|l| BookLocation {
                    id: l.id.to_string(),
                    name: l.name.clone(),
                    time_zone: l.time_zone.clone(),
                    phone: l.phone.clone(),
                })
                .collect(),
            providers: providers
                .iter()
                .map(|p| BookProvider {
                    id: p.id.to_string(),
                    name: provider_name(p),
                    specialty: p.specialty.clone(),
                    location_ids: p.locations.iter().map(|l| l.id.to_string()).collect(),
                })
                .collect(),
            specialties,
            types,
            columns,
        })
    }

    /// The next free slots of `minutes`, by provider or specialty and location and time of day,
    /// computed on the desk from the cached hours, breaks, time off and book (offline too), in
    /// start order.
    pub async fn find_slots(&self, args: &SlotSearchArgs) -> Result<Vec<FoundSlot>, CoreError> {
        let cache = self.book_reader().await?;
        let store = cache.engine.store();
        let locations = store.locations().await?;
        let providers = store.providers().await?;
        let limit = args.limit.unwrap_or(8).clamp(1, 50) as usize;
        let days = args.days.unwrap_or(60).clamp(1, MAX_SEARCH_DAYS);
        let time_of_day = args.time_of_day.unwrap_or(TimeOfDay::Any);
        let location_filter = wanted(&args.location_id);
        let provider_filter = wanted(&args.provider_id);
        let specialty_filter = wanted(&args.specialty);
        let mut pairs: Vec<(&Provider, &Location, Tz)> = Vec::new();
        for provider in providers.iter().filter(|p| p.active) {
            if provider_filter.is_some_and(|f| provider.id.as_str() != f) {
                continue;
            }
            if specialty_filter.is_some_and(|s| !provider.specialty.eq_ignore_ascii_case(s)) {
                continue;
            }
            for at in &provider.locations {
                if location_filter.is_some_and(|f| at.id.as_str() != f) {
                    continue;
                }
                if let Some(location) = locations.iter().find(|l| l.id == at.id) {
                    pairs.push((provider, location, zone_of(location)?));
                }
            }
        }
        if !(5..=480).contains(&args.minutes) {
            return Err(CoreError::Invalid(vec![detail(
                "duration",
                "must be a whole number of minutes from 5 to 480",
            )]));
        }
        let last = args.from + Duration::days(i64::from(days) - 1);
        // The busy times of the whole span, read once (a local day lies within a day of its UTC
        // date on either side), by provider, in start order.
        let mut booked: HashMap<String, Vec<TimeSpan>> = HashMap::new();
        let busy = store
            .busy_spans_between(
                local_instant(chrono_tz::UTC, args.from, NaiveTime::MIN) - Duration::days(1),
                local_instant(chrono_tz::UTC, last, NaiveTime::MIN) + Duration::days(2),
            )
            .await?;
        for (provider, start, end) in busy {
            if let Ok(span) = TimeSpan::new(start, end) {
                booked.entry(provider).or_default().push(span);
            }
        }
        let now = self.inner.clock.now();
        let minutes = i64::from(args.minutes);
        let length = Duration::minutes(minutes);
        let step = Duration::minutes(crate::book::SLOT_GRID_MINUTES.min(minutes));
        // Each provider's hours, breaks and time off at each location, parsed once.
        let shapes: Vec<_> = pairs
            .iter()
            .map(|(provider, location, _)| provider_at(provider, &location.id))
            .collect();
        let keep = |zone: Tz, slot: &TimeSpan| {
            if slot.start < now {
                return false;
            }
            let minute = minute_of(slot.start.with_timezone(&zone).time());
            match time_of_day {
                TimeOfDay::Any => true,
                TimeOfDay::Morning => minute < 12 * 60,
                TimeOfDay::Afternoon => minute >= 12 * 60,
            }
        };
        // One lazy stream of slots in start order per provider and location, merged by start
        // (ties by provider name, then the order above): each stream is cut only as far as the
        // earliest `limit` slots of them all need, so a clinic with room tomorrow is not searched
        // for two months, and a length that fits nowhere costs each day's hours once.
        let mut streams: Vec<_> = pairs
            .iter()
            .zip(&shapes)
            .map(|((provider, _, zone), (sessions, breaks, exceptions))| {
                let availability = Availability {
                    zone: *zone,
                    sessions,
                    breaks,
                    exceptions,
                    booked: booked
                        .get(provider.id.as_str())
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                };
                let zone = *zone;
                FreeSlots::new(&availability, args.from, last, length, step)
                    .filter(move |slot| keep(zone, slot))
            })
            .collect();
        let names: Vec<String> = pairs.iter().map(|(p, _, _)| provider_name(p)).collect();
        let mut heads = BinaryHeap::new();
        for (i, stream) in streams.iter_mut().enumerate() {
            if let Some(slot) = stream.next() {
                heads.push(Reverse((slot.start, &names[i], i, slot.end)));
            }
        }
        let mut found: Vec<FoundSlot> = Vec::with_capacity(limit);
        while found.len() < limit {
            let Some(Reverse((start, name, i, end))) = heads.pop() else {
                break;
            };
            let (provider, location, zone) = &pairs[i];
            let local = start.with_timezone(zone);
            found.push(FoundSlot {
                provider_id: provider.id.to_string(),
                provider_name: name.clone(),
                location_id: location.id.to_string(),
                location_name: location.name.clone(),
                time_zone: location.time_zone.clone(),
                start_time: start,
                end_time: end,
                date: local.date_naive(),
                start_minute: minute_of(local.time()),
            });
            if let Some(slot) = streams[i].next() {
                heads.push(Reverse((slot.start, &names[i], i, slot.end)));
            }
        }
        Ok(found)
    }

    /// What a booking would meet, before it is saved (offline too): field problems, an inactive
    /// or deceased patient, a clash named with the other patient and the time.
    pub async fn check_booking(&self, args: &BookingArgs) -> Result<BookingCheck, CoreError> {
        let cache = self.book_reader().await?;
        let booking = &self.new_appointment(&cache, args).await?;
        match crate::book::check(&cache.engine, booking).await {
            Ok(()) => Ok(BookingCheck {
                ok: true,
                problems: Vec::new(),
                clash: None,
                clash_appointment_id: None,
            }),
            Err(BookError::Invalid(problems)) => Ok(BookingCheck {
                ok: false,
                problems,
                clash: None,
                clash_appointment_id: None,
            }),
            Err(BookError::Clash(ClashWith::OutsideHours)) => Ok(BookingCheck {
                ok: false,
                problems: Vec::new(),
                clash: Some(
                    "Outside the provider's hours at this location (closed, a break or time off)"
                        .into(),
                ),
                clash_appointment_id: None,
            }),
            Err(BookError::Clash(ClashWith::Appointment {
                appointment_id,
                patient_id,
                start,
                end,
            })) => {
                let store = cache.engine.store();
                // The patient comes with the clash: a pending booking met here may be confirmed
                // (and re-keyed under the server's id) between the check and this lookup.
                let who = store
                    .patient_by_any_id(&patient_id)
                    .await?
                    .map(|p| format!("{}, {}", p.last_name, p.first_name));
                let appointment_id = store
                    .mapped_id(EntityKind::Appointment, &appointment_id)
                    .await?
                    .unwrap_or(appointment_id);
                let zone: Tz = match store
                    .locations()
                    .await?
                    .into_iter()
                    .find(|l| l.id == booking.location_id)
                {
                    Some(l) => zone_of(&l)?,
                    None => chrono_tz::UTC,
                };
                let (s, e) = (start.with_timezone(&zone), end.with_timezone(&zone));
                Ok(BookingCheck {
                    ok: false,
                    problems: Vec::new(),
                    clash: Some(format!(
                        "Clashes with {} {}–{}",
                        who.unwrap_or_else(|| "another appointment".into()),
                        s.format("%H:%M"),
                        e.format("%H:%M")
                    )),
                    clash_appointment_id: Some(appointment_id),
                })
            }
            Err(other) => Err(map_book_error(other)),
        }
    }

    /// Books through the outbox (offline too); refused here on a clash.
    pub async fn book_appointment(
        &self,
        args: &BookingArgs,
    ) -> Result<PendingAppointment, CoreError> {
        let (author, cache) = self.book_writer().await?;
        let booking = self.new_appointment(&cache, args).await?;
        crate::book::book(&cache.engine, &author, &booking)
            .await
            .map_err(map_book_error)
    }

    /// Moves an appointment to a new local start (date and minute at its location), keeping its
    /// length.
    pub async fn reschedule_appointment(
        &self,
        args: &RescheduleArgs,
    ) -> Result<PendingAppointment, CoreError> {
        let (author, cache) = self.book_writer().await?;
        let store = cache.engine.store();
        let current = store
            .appointment_by_any_id(&args.appointment_id)
            .await?
            .ok_or_else(|| CoreError::NotFound {
                what: "appointment",
                id: args.appointment_id.clone(),
            })?;
        let id = current.id.to_string();
        let location = store
            .locations()
            .await?
            .into_iter()
            .find(|l| l.id == current.location.id)
            .ok_or_else(|| CoreError::NotFound {
                what: "location",
                id: current.location.id.to_string(),
            })?;
        let start = local_start(&location, args.date, args.minute)?;
        crate::book::reschedule(&cache.engine, &author, &id, start, None)
            .await
            .map_err(map_book_error)
    }

    /// Check in, in room, complete, no-show, and the undo moves the flow allows.
    pub async fn set_appointment_status(
        &self,
        args: &StatusArgs,
    ) -> Result<PendingAppointment, CoreError> {
        let (author, cache) = self.book_writer().await?;
        crate::book::set_status(&cache.engine, &author, &args.appointment_id, args.status)
            .await
            .map_err(map_book_error)
    }

    /// Cancels with a reason.
    pub async fn cancel_appointment(
        &self,
        args: &CancelArgs,
    ) -> Result<PendingAppointment, CoreError> {
        let (author, cache) = self.book_writer().await?;
        crate::book::cancel(&cache.engine, &author, &args.appointment_id, &args.reason)
            .await
            .map_err(map_book_error)
    }
}

/// The day sheet for downtime as a PDF, made in memory from the columns of a view (never written
/// to disk): a page (or more) per provider, location and day, each appointment's time, patient,
/// phone, type and status. US Letter, Helvetica (WinAnsi: other characters print as `?`).
pub fn day_sheet_pdf(view: &BookView) -> Vec<u8> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};
    const LINES_PER_PAGE: usize = 44;
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let mut pages: Vec<Vec<(f32, bool, String)>> = Vec::new();
    for column in &view.columns {
        let title = format!(
            "{} - {}, {}",
            column.provider_name,
            column.location_name,
            column.date.format("%A, %B %-d, %Y")
        );
        let mut rows: Vec<String> = column
            .appointments
            .iter()
            .map(|e| {
                format!(
                    "{}-{}   {}   {}   {}   {}",
                    hm(e.start_minute),
                    hm(e.end_minute),
                    e.patient_name,
                    e.patient_phone.as_deref().unwrap_or("no phone"),
                    e.appointment.kind,
                    e.appointment.status
                )
            })
            .collect();
        if rows.is_empty() {
            rows.push("No appointments.".into());
        }
        for chunk in rows.chunks(LINES_PER_PAGE) {
            let mut page = vec![
                (14.0, true, title.clone()),
                (
                    9.0,
                    false,
                    format!("Day sheet from the desk's cache ({})", column.time_zone),
                ),
            ];
            page.extend(chunk.iter().map(|r| (10.0, false, r.clone())));
            pages.push(page);
        }
    }
    if pages.is_empty() {
        pages.push(vec![(14.0, true, "Nobody works on this day.".into())]);
    }
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let page_refs: Vec<(Ref, Ref)> = (0..pages.len() as i32)
        .map(|i| (Ref::new(10 + 2 * i), Ref::new(11 + 2 * i)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(pages.len() as i32);
    for (lines, (page_ref, stream)) in pages.iter().zip(&page_refs) {
        let mut content = Content::new();
        let mut y = 792.0 - 54.0;
        for (size, is_bold, text) in lines {
            y -= size * 1.6;
            content.begin_text();
            content.set_font(Name(if *is_bold { b"F2" } else { b"F1" }), *size);
            content.next_line(54.0, y);
            content.show(Str(&win_ansi(text)));
            content.end_text();
        }
        {
            let mut page = pdf.page(*page_ref);
            page.media_box(Rect::new(0.0, 0.0, 612.0, 792.0));
            page.parent(tree);
            page.contents(*stream);
            page.resources()
                .fonts()
                .pair(Name(b"F1"), regular)
                .pair(Name(b"F2"), bold);
        }
        pdf.stream(*stream, &content.finish());
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr("Day sheet"))
        .producer(TextStr("Front Desk"));
    pdf.finish()
}

/// Latin-1 text for the standard fonts; anything else is `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// The day sheet as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DaySheetPdf {
    pub file_name: String,
    /// The PDF's bytes, base64 (made in memory; the desk keeps no copy).
    pub base64: String,
}

impl Desk {
    /// The day sheet of a view as a PDF, from the cache alone (works with the network down).
    pub async fn day_sheet(&self, args: &BookViewArgs) -> Result<DaySheetPdf, CoreError> {
        use base64::Engine as _;
        let view = self.book_view(args).await?;
        let bytes = day_sheet_pdf(&view);
        Ok(DaySheetPdf {
            file_name: format!("day-sheet-{}.pdf", view.from),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use practice_studio::model::{
        DayHours, LocationId, LocationRef, LocationSchedule, ProviderId, ProviderLinks,
        ScheduleException, WeeklySchedule,
    };

    fn provider() -> Provider {
        let hours = Some(DayHours {
            start: "08:30".into(),
            end: "17:00".into(),
        });
        Provider {
            id: ProviderId("PRV-1".into()),
            npi: "1".into(),
            first_name: "Grace".into(),
            last_name: "Kim".into(),
            credentials: "MD".into(),
            specialty: "Family Medicine".into(),
            email: String::new(),
            phone: String::new(),
            active: true,
            locations: vec![LocationRef {
                id: LocationId("LOC-1".into()),
                name: "Main".into(),
            }],
            schedule: WeeklySchedule::default(),
            location_schedules: vec![LocationSchedule {
                location_id: LocationId("LOC-1".into()),
                hours: WeeklySchedule {
                    monday: hours.clone(),
                    tuesday: hours,
                    ..WeeklySchedule::default()
                },
                breaks: vec![DayHours {
                    start: "12:00".into(),
                    end: "13:00".into(),
                }],
            }],
            schedule_exceptions: vec![ScheduleException {
                date: "2026-11-24".parse().expect("date"),
                kind: ExceptionKind::TimeOff,
                location_id: None,
                start: None,
                end: None,
                note: Some("Training".into()),
            }],
            version: 1,
            links: ProviderLinks {
                self_: practice_studio::model::Link {
                    href: String::new(),
                },
                appointments: practice_studio::model::Link {
                    href: String::new(),
                },
            },
        }
    }

    #[test]
    fn a_working_day_has_its_hours_and_its_break_in_local_minutes() {
        let (hours, closed) = day_shape(&provider(), "LOC-1", "2026-11-23".parse().expect("date"));
        assert_eq!(
            hours,
            vec![MinuteSpan {
                start: 510,
                end: 1020
            }]
        );
        assert_eq!(closed.len(), 1);
        assert_eq!(
            (closed[0].start, closed[0].end, closed[0].kind),
            (720, 780, ClosedKind::Break)
        );
    }

    #[test]
    fn a_day_of_time_off_is_closed_all_along_its_hours_with_its_note() {
        let (hours, closed) = day_shape(&provider(), "LOC-1", "2026-11-24".parse().expect("date"));
        assert_eq!(hours.len(), 1);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].kind, ClosedKind::TimeOff);
        assert_eq!(closed[0].note.as_deref(), Some("Training"));
        let (hours, _) = day_shape(&provider(), "LOC-1", "2026-11-25".parse().expect("date"));
        assert!(hours.is_empty(), "not worked on Wednesdays");
    }

    #[test]
    fn local_minutes_follow_the_locations_zone_across_a_dst_change() {
        let zone: Tz = "America/Chicago".parse().expect("zone");
        // 2026-03-08: clocks go forward at 02:00. 09:00 local is 14:00 UTC that day, 15:00 the day before.
        let after: DateTime<Utc> = "2026-03-09T14:00:00Z".parse().expect("instant");
        let before: DateTime<Utc> = "2026-03-07T15:00:00Z".parse().expect("instant");
        assert_eq!(
            local_minute(zone, "2026-03-09".parse().expect("date"), after),
            9 * 60
        );
        assert_eq!(
            local_minute(zone, "2026-03-07".parse().expect("date"), before),
            9 * 60
        );
        assert_eq!(
            local_minute(zone, "2026-03-08".parse().expect("date"), after),
            MINUTES_PER_DAY
        );
    }

    #[test]
    fn a_doctor_is_called_dr_and_a_nurse_practitioner_is_not() {
        let mut p = provider();
        assert_eq!(provider_name(&p), "Dr. Grace Kim, MD");
        p.credentials = "NP".into();
        assert_eq!(provider_name(&p), "Grace Kim, NP");
    }

    #[test]
    fn the_day_sheet_pdf_lists_each_patient_with_their_phone_on_the_providers_page() {
        let at: DateTime<Utc> = "2026-11-23T15:00:00Z".parse().expect("instant");
        let appointment = BookAppointment {
            id: AppointmentId("APPT-1".into()),
            patient_id: PatientId("PAT-1".into()),
            provider_id: ProviderId("PRV-1".into()),
            start_time: at,
            end_time: at + Duration::minutes(30),
            kind: "Follow-up".into(),
            status: AppointmentStatus::Scheduled,
            reason: None,
            notes: None,
            location: BookAppointmentLocation {
                id: LocationId("LOC-1".into()),
                name: "Main".into(),
            },
            checked_in_at: None,
            roomed_at: None,
            completed_at: None,
            cancelled_at: None,
            cancel_reason: None,
            no_show_at: None,
            version: 1,
        };
        let column = BookColumn {
            provider_id: "PRV-1".into(),
            provider_name: "Dr. Grace Kim, MD".into(),
            specialty: "Family Medicine".into(),
            location_id: "LOC-1".into(),
            location_name: "Main".into(),
            time_zone: "America/Chicago".into(),
            date: "2026-11-23".parse().expect("date"),
            hours: vec![MinuteSpan {
                start: 480,
                end: 1020,
            }],
            closed: Vec::new(),
            now_minute: None,
            appointments: vec![BookEntry {
                appointment,
                patient_name: "Smith, Ann".into(),
                patient_phone: Some("555-010-4242".into()),
                start_minute: 540,
                end_minute: 570,
                pending: false,
                in_conflict: false,
                next_statuses: Vec::new(),
            }],
        };
        let view = BookView {
            from: "2026-11-23".parse().expect("date"),
            days: 1,
            now: at,
            locations: Vec::new(),
            providers: Vec::new(),
            specialties: Vec::new(),
            types: Vec::new(),
            columns: vec![column],
        };
        let pdf = day_sheet_pdf(&view);
        let document = lopdf::Document::load_mem(&pdf).expect("a PDF");
        let pages: Vec<u32> = document.get_pages().keys().copied().collect();
        assert_eq!(pages.len(), 1);
        let text = document.extract_text(&pages).expect("text");
        assert!(
            text.contains("Dr. Grace Kim, MD - Main, Monday, November 23, 2026"),
            "{text}"
        );
        assert!(text.contains("09:00-09:30"), "{text}");
        assert!(text.contains("Smith, Ann"), "{text}");
        assert!(text.contains("555-010-4242"), "{text}");
    }
}
