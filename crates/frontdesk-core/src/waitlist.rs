//! The waitlist at the desk: patients waiting for an earlier or a better slot, with what they would
//! accept (providers, days, times, dates). The list lives on the server (`/api/v1/waitlist`), so
//! every desk shares it; this module is a thin layer over the SDK's [`Client::waitlist`] that
//! keeps the last list it read in memory (so the desk can still show and rank it while the
//! server is unreachable), and that watches the book for freed slots: when an appointment in the
//! future is cancelled, here or at another desk (the change feed), the waiting entries the slot
//! suits are ranked with the server's own rules ([`practice_studio::rules::waitlist`]) and the
//! desk is told ([`DeskEvent::SlotFreed`], a desktop notification without any patient detail).
//! Booking a candidate goes through the outbox like any booking; once the server has accepted
//! it, the entry is marked booked with the server's appointment id.
//!
//! Adding to the waitlist needs the server (it is the server's list; there is no outbox entry for
//! it): offline, [`Desk::add_to_waitlist`] is refused with [`CoreError::Offline`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use practice_studio::client::WaitlistQuery;
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentStatus, NewWaitlistEntry, PatientId, WaitlistEntry,
    WaitlistPatch, WaitlistPreferences, WaitlistStatus,
};
use practice_studio::rules::waitlist::{check_duration, check_preferences, rank, FreedSlot};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::appointment_book::{provider_name, BookingArgs};
use crate::book::PendingAppointment;
use crate::desk::{CoreError, Desk, DeskEvent};
use crate::roles::{Offer, Offers};
use crate::sync::{Collection, SyncEngine, SyncEvent};

/// The most waiting entries read from the server at once (pages of 100).
const MAX_ENTRIES: u64 = 2_000;
const PAGE: u32 = 100;

/// Arguments of `add_to_waitlist`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitlistAddArgs {
    pub patient_id: String,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    /// Minutes; the type's default length when absent.
    #[serde(default)]
    #[ts(optional)]
    pub duration: Option<u32>,
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub notes: Option<String>,
    pub preferences: WaitlistPreferences,
}

/// Arguments naming one waitlist entry.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitlistEntryArgs {
    pub entry_id: String,
}

/// Arguments naming a freed slot (by the cancelled appointment that freed it).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlotOfferArgs {
    pub appointment_id: String,
}

/// Arguments of `book_from_waitlist`: the booking (as the booking form has it) and the entry it
/// serves.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitlistBookingArgs {
    pub entry_id: String,
    pub booking: BookingArgs,
}

/// A waitlist entry as the desk lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistRow {
    pub entry: WaitlistEntry,
    /// "Last, First", or the id when the patient is not cached.
    pub patient_name: String,
    /// The providers asked for, by name (empty: anyone).
    pub provider_names: Vec<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_name: Option<String>,
}

/// The waiting entries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistView {
    pub rows: Vec<WaitlistRow>,
    /// The server could not be reached: this is the list as last read on this desk.
    pub from_memory: bool,
    /// When the list was read from the server (none: never, since the desk started).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

/// One waiting patient who would take a freed slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotCandidate {
    pub entry_id: String,
    pub patient_id: String,
    pub patient_name: String,
    #[serde(rename = "type")]
    #[ts(rename = "type")]
    pub kind: String,
    pub duration: u32,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 1 is the best.
    pub rank: u32,
    /// "asked for this provider; waiting 3 days".
    pub why: String,
}

/// A slot that became free with the waiting patients it suits, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotOffer {
    /// The cancelled appointment that freed the slot.
    pub appointment_id: String,
    pub provider_id: String,
    pub provider_name: String,
    pub location_id: String,
    pub location_name: String,
    pub time_zone: String,
    /// The local date and minute of the start at the location.
    pub date: NaiveDate,
    pub start_minute: u32,
    pub minutes: u32,
    pub start_time: DateTime<Utc>,
    pub candidates: Vec<SlotCandidate>,
    /// The candidates were ranked from the list as last read (the server was unreachable).
    pub from_memory: bool,
}

/// What the desk keeps about the waitlist while the cache is open.
#[derive(Default)]
pub(crate) struct WaitlistMemory {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    /// The waiting entries as last read, and when.
    known: Vec<WaitlistEntry>,
    read_at: Option<DateTime<Utc>>,
    /// Freed slots offered (cancelled appointments' ids), newest last.
    offers: Vec<String>,
    /// Cancelled appointments already looked at.
    seen: HashSet<String>,
    /// Bookings made for a waitlist entry and not yet accepted: appointment id → entry id.
    links: HashMap<String, String>,
}

impl WaitlistMemory {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The watch on the book: freed slots, and bookings for the waitlist accepted by the server.
pub(crate) fn watch(desk: &Desk, engine: &SyncEngine) -> tokio::task::JoinHandle<()> {
    let mut events = engine.subscribe();
    // Weak: the desk's cache owns this task (and aborts it when dropped). A strong handle would
    // make a cycle that kept the desk, its cache and its data directory's lock alive for ever.
    let weak = Arc::downgrade(&desk.inner);
    // A strong handle only for one appointment at a time, so a desk that is let go (a restart,
    // a test) is not held for long by the event being handled.
    let desk = move || weak.upgrade().map(|inner| Desk { inner });
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(SyncEvent::Changed {
                    collection: Collection::Appointments,
                    ids,
                }) => {
                    for id in ids {
                        let Some(desk) = desk() else { return };
                        // What the first sync reads was not freed now: nothing to offer yet.
                        let Ok(cache) = desk.cache() else { break };
                        if !cache.engine.first_sync_done().await.unwrap_or(false) {
                            break;
                        }
                        desk.consider_freed(&id).await;
                    }
                }
                Ok(SyncEvent::WriteAccepted {
                    entity_id,
                    local_id,
                    ..
                }) => {
                    let Some(desk) = desk() else { return };
                    desk.close_booked_entry(&entity_id, local_id.as_deref())
                        .await;
                    desk.consider_freed(&entity_id).await;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

fn is_local(id: &str) -> bool {
    id.starts_with(crate::sync::LOCAL_PATIENT_PREFIX)
}

impl Desk {
    async fn waitlist_reader(
        &self,
    ) -> Result<(practice_studio::client::Client, Arc<crate::session::Cache>), CoreError> {
        let (me, client) = self.signed_in().await?;
        if !me.offers.read_appointments {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::ReadAppointments,
                &me.role,
            )));
        }
        Ok((client, self.cache()?))
    }

    async fn waitlist_writer(
        &self,
    ) -> Result<(practice_studio::client::Client, Arc<crate::session::Cache>), CoreError> {
        let (me, client) = self.signed_in().await?;
        if !me.offers.book_appointments {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::BookAppointments,
                &me.role,
            )));
        }
        Ok((client, self.cache()?))
    }

    /// Every waiting entry from the server (kept in memory), or the last list read when the
    /// server cannot be reached.
    async fn waiting_entries(
        &self,
        client: &practice_studio::client::Client,
        cache: &crate::session::Cache,
    ) -> Result<(Vec<WaitlistEntry>, bool), CoreError> {
        let mut entries = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = client
                .waitlist()
                .list(
                    &WaitlistQuery::new()
                        .status(WaitlistStatus::Waiting)
                        .limit(PAGE)
                        .offset(offset),
                )
                .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    return match CoreError::from_api(error) {
                        CoreError::Offline(error) => {
                            let state = cache.waitlist.lock();
                            if state.read_at.is_some() {
                                Ok((state.known.clone(), true))
                            } else {
                                Err(CoreError::Offline(error))
                            }
                        }
                        other => Err(other),
                    };
                }
            };
            let got = page.entries.len() as u64;
            entries.extend(page.entries);
            offset += got;
            if got == 0 || offset >= page.total || offset >= MAX_ENTRIES {
                break;
            }
        }
        let mut state = cache.waitlist.lock();
        state.known = entries.clone();
        state.read_at = Some(self.inner.clock.now());
        Ok((entries, false))
    }

    async fn patient_name(&self, cache: &crate::session::Cache, id: &PatientId) -> String {
        match cache.engine.store().patient(id).await {
            Ok(Some(p)) => format!("{}, {}", p.last_name, p.first_name),
            _ => id.to_string(),
        }
    }

    /// The waiting entries, oldest first, with the patients' and providers' names from the cache.
    pub async fn waitlist(&self) -> Result<WaitlistView, CoreError> {
        let (client, cache) = self.waitlist_reader().await?;
        let (entries, from_memory) = self.waiting_entries(&client, &cache).await?;
        let store = cache.engine.store();
        let providers = store.providers().await?;
        let locations = store.locations().await?;
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let patient_name = self.patient_name(&cache, &entry.patient_id).await;
            let provider_names = entry
                .preferences
                .provider_ids
                .iter()
                .map(|id| {
                    providers
                        .iter()
                        .find(|p| p.id == *id)
                        .map(provider_name)
                        .unwrap_or_else(|| id.to_string())
                })
                .collect();
            let location_name = entry.preferences.location_id.as_ref().map(|id| {
                locations
                    .iter()
                    .find(|l| l.id == *id)
                    .map(|l| l.name.clone())
                    .unwrap_or_else(|| id.to_string())
            });
            rows.push(WaitlistRow {
                entry,
                patient_name,
                provider_names,
                location_name,
            });
        }
        let read_at = cache.waitlist.lock().read_at;
        Ok(WaitlistView {
            rows,
            from_memory,
            read_at,
        })
    }

    /// Adds a patient to the server's waitlist (checked with the server's rules first). Needs
    /// the server: offline it is refused with [`CoreError::Offline`].
    pub async fn add_to_waitlist(
        &self,
        args: &WaitlistAddArgs,
    ) -> Result<WaitlistEntry, CoreError> {
        let (client, cache) = self.waitlist_writer().await?;
        let mut problems = check_preferences(&args.preferences);
        if let Some(minutes) = args.duration {
            problems.extend(check_duration(minutes));
        }
        let store = cache.engine.store();
        // A patient registered here and not yet accepted has no id the server knows.
        let patient_id = match store
            .mapped_id(frontdesk_store::EntityKind::Patient, &args.patient_id)
            .await?
        {
            Some(id) => id,
            None => args.patient_id.clone(),
        };
        if is_local(&patient_id) {
            problems.push(practice_studio::model::ErrorDetail::new(
                practice_studio::model::detail_code::REQUIRED,
                "patientId",
                "the patient's registration has not reached the server yet",
            ));
        }
        if !problems.is_empty() {
            return Err(CoreError::Invalid(problems));
        }
        let text = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let entry = client
            .waitlist()
            .add(&NewWaitlistEntry {
                patient_id: PatientId(patient_id),
                kind: args.kind.clone(),
                duration: args.duration,
                reason: text(&args.reason),
                notes: text(&args.notes),
                preferences: args.preferences.clone(),
            })
            .await
            .map_err(CoreError::from_api)?;
        tracing::info!(entry = %entry.id, "added to the waitlist");
        let mut state = cache.waitlist.lock();
        state.known.push(entry.clone());
        Ok(entry)
    }

    /// Takes an entry off the waitlist (needs the server).
    pub async fn remove_from_waitlist(
        &self,
        args: &WaitlistEntryArgs,
    ) -> Result<WaitlistEntry, CoreError> {
        let (client, cache) = self.waitlist_writer().await?;
        let entry = client
            .waitlist()
            .update(
                &args.entry_id,
                &WaitlistPatch {
                    status: Some(WaitlistStatus::Removed),
                    ..WaitlistPatch::default()
                },
            )
            .await
            .map_err(CoreError::from_api)?;
        cache
            .waitlist
            .lock()
            .known
            .retain(|e| e.id != args.entry_id);
        Ok(entry)
    }

    /// The freed slots that waiting patients would take, newest first, each with its candidates
    /// ranked by the server's rules. A slot booked again since, or whose cancellation was undone,
    /// is not offered while that lasts; it is forgotten once its time has passed.
    pub async fn slot_offers(&self) -> Result<Vec<SlotOffer>, CoreError> {
        let (client, cache) = self.waitlist_reader().await?;
        let ids: Vec<String> = cache.waitlist.lock().offers.clone();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (entries, from_memory) = self.waiting_entries(&client, &cache).await?;
        let mut offers = Vec::new();
        let mut gone = Vec::new();
        let now = self.inner.clock.now();
        for id in ids.iter().rev() {
            match self.offer_for(&cache, id, &entries, from_memory).await? {
                Some(offer) if !offer.candidates.is_empty() => offers.push(offer),
                // Not offerable now. That may not last (a booking in the slot that the server
                // refuses, a cancellation undone and made again, a patient added to the list),
                // so only a slot whose time has passed, or that the cache no longer has, is
                // forgotten. Forgetting on the first miss lost offers to a moment's state.
                _ => {
                    let still = cache.engine.store().appointment(id).await?;
                    if still.is_none_or(|a| a.start_time <= now) {
                        gone.push(id.clone());
                    }
                }
            }
        }
        if !gone.is_empty() {
            cache.waitlist.lock().offers.retain(|id| !gone.contains(id));
        }
        Ok(offers)
    }

    /// Stops offering a freed slot.
    pub async fn dismiss_slot_offer(&self, args: &SlotOfferArgs) -> Result<(), CoreError> {
        let (_, cache) = self.waitlist_reader().await?;
        cache
            .waitlist
            .lock()
            .offers
            .retain(|id| *id != args.appointment_id);
        Ok(())
    }

    /// Books a waiting patient (through the outbox, like any booking); the entry is marked
    /// booked on the server once the booking is accepted there.
    pub async fn book_from_waitlist(
        &self,
        args: &WaitlistBookingArgs,
    ) -> Result<PendingAppointment, CoreError> {
        let (_, cache) = self.waitlist_writer().await?;
        let pending = self.book_appointment(&args.booking).await?;
        let id = pending.appointment.id.to_string();
        cache
            .waitlist
            .lock()
            .links
            .insert(id.clone(), args.entry_id.clone());
        // Already accepted (the sender can be quicker than this line): close the entry now.
        if !id.starts_with(crate::book::LOCAL_APPOINTMENT_PREFIX) {
            self.close_booked_entry(&id, None).await;
        } else if let Some(server_id) = cache
            .engine
            .store()
            .mapped_id(frontdesk_store::EntityKind::Appointment, &id)
            .await?
        {
            self.close_booked_entry(&server_id, Some(&id)).await;
        }
        Ok(pending)
    }

    /// The offer of the slot a cancelled appointment freed, if it is still free and in the
    /// future.
    async fn offer_for(
        &self,
        cache: &crate::session::Cache,
        appointment_id: &str,
        entries: &[WaitlistEntry],
        from_memory: bool,
    ) -> Result<Option<SlotOffer>, CoreError> {
        let store = cache.engine.store();
        let Some(appointment) = store.appointment(appointment_id).await? else {
            return Ok(None);
        };
        let now = self.inner.clock.now();
        if appointment.status != AppointmentStatus::Cancelled || appointment.start_time <= now {
            return Ok(None);
        }
        if self.slot_taken(cache, &appointment).await? {
            return Ok(None);
        }
        let Some(location) = store
            .locations()
            .await?
            .into_iter()
            .find(|l| l.id == appointment.location.id)
        else {
            return Ok(None);
        };
        let Ok(zone) = location.time_zone.parse::<Tz>() else {
            return Ok(None);
        };
        let local = appointment.start_time.with_timezone(&zone);
        let minutes = u32::try_from((appointment.end_time - appointment.start_time).num_minutes())
            .unwrap_or(0);
        let slot = FreedSlot {
            provider_id: appointment.provider_id.clone(),
            location_id: appointment.location.id.clone(),
            start: local.naive_local(),
            minutes,
        };
        let ranked = rank(entries, &slot, now);
        let mut candidates = Vec::with_capacity(ranked.len());
        for c in ranked {
            candidates.push(SlotCandidate {
                patient_name: self.patient_name(cache, &c.entry.patient_id).await,
                entry_id: c.entry.id,
                patient_id: c.entry.patient_id.to_string(),
                kind: c.entry.kind,
                duration: c.entry.duration,
                reason: c.entry.reason,
                rank: c.rank,
                why: c.why,
            });
        }
        let providers = store.providers().await?;
        let provider = providers.iter().find(|p| p.id == appointment.provider_id);
        Ok(Some(SlotOffer {
            appointment_id: appointment.id.to_string(),
            provider_id: appointment.provider_id.to_string(),
            provider_name: provider
                .map(provider_name)
                .unwrap_or_else(|| appointment.provider_id.to_string()),
            location_id: location.id.to_string(),
            location_name: location.name.clone(),
            time_zone: location.time_zone.clone(),
            date: local.date_naive(),
            start_minute: chrono::Timelike::hour(&local) * 60 + chrono::Timelike::minute(&local),
            minutes,
            start_time: appointment.start_time,
            candidates,
            from_memory,
        }))
    }

    /// Whether another live appointment of the provider now overlaps the freed time.
    async fn slot_taken(
        &self,
        cache: &crate::session::Cache,
        freed: &Appointment,
    ) -> Result<bool, CoreError> {
        let around = cache
            .engine
            .store()
            .appointments_between(
                freed.start_time - Duration::days(1),
                freed.end_time + Duration::days(1),
            )
            .await?;
        Ok(around.iter().any(|a| {
            a.id != freed.id
                && a.provider_id == freed.provider_id
                && !matches!(
                    a.status,
                    AppointmentStatus::Cancelled | AppointmentStatus::NoShow
                )
                && a.start_time < freed.end_time
                && freed.start_time < a.end_time
        }))
    }

    /// A cancelled appointment in the future, seen for the first time: if waiting patients
    /// would take its slot, it is offered and the desk told.
    async fn consider_freed(&self, appointment_id: &str) {
        let Ok(cache) = self.cache() else { return };
        {
            let state = cache.waitlist.lock();
            if state.seen.contains(appointment_id) {
                return;
            }
        }
        let Ok(Some(appointment)) = cache.engine.store().appointment(appointment_id).await else {
            return;
        };
        if appointment.status != AppointmentStatus::Cancelled
            || appointment.start_time <= self.inner.clock.now()
        {
            return;
        }
        cache.waitlist.lock().seen.insert(appointment_id.to_owned());
        // Until the slot has been matched, a failure leaves it unseen: the next news of it (the
        // server's acceptance of the cancellation, the feed) tries again.
        let not_now = |why: &str, error: &dyn std::fmt::Display| {
            tracing::warn!(%error, "a freed slot was not matched with the waitlist: {why}");
            cache.waitlist.lock().seen.remove(appointment_id);
        };
        let client = match self.signed_in().await {
            Ok((_, client)) => client,
            Err(error) => return not_now("no session to ask with", &error),
        };
        let (entries, from_memory) = match self.waiting_entries(&client, &cache).await {
            Ok(found) => found,
            Err(error) => return not_now("the waitlist could not be read", &error),
        };
        let offer = match self
            .offer_for(&cache, appointment_id, &entries, from_memory)
            .await
        {
            Ok(Some(offer)) if !offer.candidates.is_empty() => offer,
            // Nobody would take it now, or it is taken: the next news of it looks again.
            Ok(_) => {
                cache.waitlist.lock().seen.remove(appointment_id);
                return;
            }
            Err(error) => return not_now("the candidates could not be ranked", &error),
        };
        cache.waitlist.lock().offers.push(appointment_id.to_owned());
        tracing::info!(
            candidates = offer.candidates.len(),
            "a freed slot suits patients on the waitlist"
        );
        let _ = self.inner.events.send(DeskEvent::SlotFreed {
            appointment_id: offer.appointment_id,
            candidates: u32::try_from(offer.candidates.len()).unwrap_or(u32::MAX),
        });
    }

    /// The booking for a waitlist entry was accepted: the entry is marked booked with the
    /// server's appointment id.
    async fn close_booked_entry(&self, appointment_id: &str, local_id: Option<&str>) {
        let Ok(cache) = self.cache() else { return };
        let entry_id = {
            let mut state = cache.waitlist.lock();
            let by_local = local_id.and_then(|l| state.links.remove(l));
            by_local.or_else(|| state.links.remove(appointment_id))
        };
        let Some(entry_id) = entry_id else { return };
        if appointment_id.starts_with(crate::book::LOCAL_APPOINTMENT_PREFIX) {
            return;
        }
        let Ok((_, client)) = self.signed_in().await else {
            return;
        };
        let closed = client
            .waitlist()
            .update(
                &entry_id,
                &WaitlistPatch {
                    status: Some(WaitlistStatus::Booked),
                    appointment_id: Some(AppointmentId(appointment_id.to_owned())),
                    ..WaitlistPatch::default()
                },
            )
            .await;
        match closed {
            Ok(entry) => {
                tracing::info!(entry = %entry.id, "waitlist entry booked");
                cache.waitlist.lock().known.retain(|e| e.id != entry_id);
                let _ = self.inner.events.send(DeskEvent::WaitlistChanged);
            }
            Err(error) => {
                tracing::warn!(%error, entry = %entry_id, "the waitlist entry could not be marked booked");
                // Tried again when the next booking is accepted.
                cache
                    .waitlist
                    .lock()
                    .links
                    .insert(appointment_id.to_owned(), entry_id);
            }
        }
    }
}
