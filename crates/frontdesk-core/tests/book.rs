//! The book and payments through the outbox, against the real server on loopback: booked,
//! moved and cancelled offline, checked against the cached book first, sent exactly once, and
//! refused changes on the conflict list.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use frontdesk_core::book::{self, BookError, ClashWith};
use frontdesk_core::payments::{self, PaymentError};
use frontdesk_core::{SyncEngine, SyncEvent, SyncOptions};
use frontdesk_store::ConflictKind;
use practice_studio::client::{AppointmentQuery, Client, InvoiceQuery, SlotQuery};
use practice_studio::model::{
    Appointment, AppointmentId, AppointmentPatch, AppointmentStatus, LocationId, NewAppointment,
    NewPayment, PatientId, ProviderId,
};
use practice_studio::rules::appointments::TransitionError;
use rust_decimal::Decimal;
use support::*;
use tokio::sync::broadcast;

fn book_options() -> SyncOptions {
    SyncOptions {
        appointment_window: Some((2, 10)),
        ..options()
    }
}

/// A desk reading through `url` as `email`, its first sync done.
async fn synced_desk(url: &str, email: &str) -> Desk {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(&dir, client_as(url, email), book_options()).await;
    engine.sign_in_author(email, client_as(url, email)).await;
    engine.first_sync().await.expect("first sync");
    Desk { dir, engine }
}

/// The `skip`-th free half hour the server offers on the days after Monday, at a provider and
/// location the desk has cached.
async fn free_slot(
    client: &Client,
    engine: &SyncEngine,
    skip: usize,
) -> (ProviderId, LocationId, DateTime<Utc>, DateTime<Utc>) {
    let providers = engine.store().providers().await.expect("providers");
    let mut seen = 0;
    for day in 1..6 {
        let date = monday() + chrono::Duration::days(day);
        for provider in providers.iter().filter(|p| p.active) {
            for location in &provider.locations {
                let slots = client
                    .clinic()
                    .slots(
                        &provider.id,
                        &SlotQuery::new(date, date)
                            .minutes(30)
                            .location(location.id.clone()),
                    )
                    .await
                    .expect("slots");
                for slot in slots.slots {
                    if seen == skip {
                        return (
                            provider.id.clone(),
                            location.id.clone(),
                            slot.start_time,
                            slot.end_time,
                        );
                    }
                    seen += 1;
                }
            }
        }
    }
    panic!("no free slot");
}

/// A free half hour of this provider at this location other than `not`.
async fn free_slot_of(
    client: &Client,
    provider: &ProviderId,
    location: &LocationId,
    not: DateTime<Utc>,
) -> (ProviderId, LocationId, DateTime<Utc>, DateTime<Utc>) {
    for day in 1..6 {
        let date = monday() + chrono::Duration::days(day);
        let slots = client
            .clinic()
            .slots(
                provider,
                &SlotQuery::new(date, date)
                    .minutes(30)
                    .location(location.clone()),
            )
            .await
            .expect("slots");
        if let Some(slot) = slots.slots.into_iter().find(|s| s.start_time != not) {
            return (
                provider.clone(),
                location.clone(),
                slot.start_time,
                slot.end_time,
            );
        }
    }
    panic!("no other free slot of {provider}");
}

async fn some_patient(engine: &SyncEngine) -> PatientId {
    let (id, _) = engine
        .store()
        .patient_versions()
        .await
        .expect("patients")
        .into_iter()
        .next()
        .expect("a patient");
    id
}

fn booking(
    patient: &PatientId,
    slot: &(ProviderId, LocationId, DateTime<Utc>, DateTime<Utc>),
) -> NewAppointment {
    NewAppointment {
        patient_id: patient.clone(),
        provider_id: slot.0.clone(),
        start_time: slot.2,
        end_time: slot.3,
        kind: "follow-up".to_owned(),
        reason: Some("Blood pressure check".to_owned()),
        notes: None,
        location_id: slot.1.clone(),
    }
}

/// The provider's appointments on the server at exactly this start that hold the time.
async fn on_server_at(
    client: &Client,
    provider: &ProviderId,
    start: DateTime<Utc>,
) -> Vec<Appointment> {
    let day = start.date_naive();
    let list = client
        .appointments()
        .of_provider(
            provider,
            &AppointmentQuery::new()
                .dates(
                    day - chrono::Duration::days(1),
                    day + chrono::Duration::days(1),
                )
                .limit(100),
        )
        .await
        .expect("provider's book");
    list.appointments
        .into_iter()
        .filter(|a| a.start_time == start && a.status.holds_time())
        .collect()
}

fn drain_events(events: &mut broadcast::Receiver<SyncEvent>) -> Vec<SyncEvent> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        out.push(event);
    }
    out
}

/// A scheduled appointment in the cached book, later this week (a status flow can start there).
async fn cached_scheduled(engine: &SyncEngine, skip: usize) -> Appointment {
    let from = (monday() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("t")
        .and_utc();
    let to = from + chrono::Duration::days(5);
    engine
        .store()
        .appointments_between(from, to)
        .await
        .expect("book")
        .into_iter()
        .filter(|a| a.status == AppointmentStatus::Scheduled)
        .nth(skip)
        .expect("a scheduled appointment")
}

#[tokio::test]
async fn a_booking_made_offline_is_cached_at_once_and_sent_once_under_the_servers_id() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &desk.engine, 0).await;
    let patient = some_patient(&desk.engine).await;
    let mut events = desk.engine.subscribe();

    proxy.set_down(true);
    let pending = book::book(&desk.engine, RECEPTION, &booking(&patient, &slot))
        .await
        .expect("booked offline");
    let local_id = pending.appointment.id.to_string();
    assert!(local_id.starts_with(book::LOCAL_APPOINTMENT_PREFIX));
    let store = desk.engine.store();
    assert_eq!(
        store.appointment_pending(&local_id).await.expect("flag"),
        Some(true)
    );
    let shown = store
        .appointments_between(slot.2, slot.3)
        .await
        .expect("book");
    assert!(
        shown.iter().any(|a| a.id.as_str() == local_id),
        "the book shows it at once"
    );
    // Offline: it waits, and the same time cannot be booked twice on this desk.
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.waiting), (0, 1));
    match book::book(&desk.engine, RECEPTION, &booking(&patient, &slot)).await {
        Err(BookError::Clash(ClashWith::Appointment {
            appointment_id,
            patient_id,
            ..
        })) => {
            assert_eq!(appointment_id, local_id);
            // Whose it is travels with the clash: the local id may be re-keyed at any moment.
            assert_eq!(patient_id, patient.as_str());
        }
        other => panic!("expected a clash with the pending booking, got {other:?}"),
    }

    proxy.set_down(false);
    // The first send's answer is lost after the server acted: the resend replays it.
    proxy.push(Fault::LoseResponse);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&desk.engine, "the booking is accepted", NothingPending).await;
    let on_server = on_server_at(&other, &slot.0, slot.2).await;
    assert_eq!(on_server.len(), 1, "booked exactly once");
    let server_id = on_server[0].id.to_string();
    assert_eq!(on_server[0].patient_id, patient);
    let cached = store
        .appointment(&server_id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached, on_server[0]);
    assert_eq!(
        store.appointment_pending(&server_id).await.expect("flag"),
        Some(false)
    );
    assert!(store.appointment(&local_id).await.expect("read").is_none());
    let writes: Vec<_> = proxy
        .writes()
        .into_iter()
        .filter(|w| w.0 == "POST" && w.1 == "/api/v1/appointments")
        .collect();
    assert_eq!(writes.len(), 2, "sent, answer lost, resent");
    assert_eq!(writes[0].2, writes[1].2, "with the same key");
    let accepted = drain_events(&mut events).into_iter().any(|e| {
        matches!(e, SyncEvent::WriteAccepted { entity_id, local_id: Some(l), .. }
            if entity_id == server_id && l == local_id)
    });
    assert!(accepted, "the desk is told the booking's server id");
    // A screen still holding the local id finds the appointment.
    let moved = book::set_status(
        &desk.engine,
        RECEPTION,
        &local_id,
        AppointmentStatus::CheckedIn,
    )
    .await
    .expect("checked in by its old id");
    assert_eq!(moved.appointment.id.as_str(), server_id);
}

#[tokio::test]
async fn the_desk_refuses_a_clash_with_its_cached_book_and_times_outside_hours_offline() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    proxy.set_down(true);
    let patient = some_patient(&desk.engine).await;
    let taken = cached_scheduled(&desk.engine, 0).await;
    let over = NewAppointment {
        patient_id: patient.clone(),
        provider_id: taken.provider_id.clone(),
        start_time: taken.start_time,
        end_time: taken.end_time,
        kind: "follow-up".to_owned(),
        reason: None,
        notes: None,
        location_id: taken.location.id.clone(),
    };
    match book::book(&desk.engine, RECEPTION, &over).await {
        Err(BookError::Clash(ClashWith::Appointment { appointment_id, .. })) => {
            assert_eq!(appointment_id, taken.id.as_str())
        }
        other => panic!("expected a clash with {}, got {other:?}", taken.id),
    }
    // The small hours of the same day, in any zone of the demo clinic: nobody works then.
    let night = NewAppointment {
        start_time: taken
            .start_time
            .date_naive()
            .and_hms_opt(8, 0, 0)
            .expect("t")
            .and_utc(),
        end_time: taken
            .start_time
            .date_naive()
            .and_hms_opt(8, 30, 0)
            .expect("t")
            .and_utc(),
        ..over.clone()
    };
    assert!(matches!(
        book::book(&desk.engine, RECEPTION, &night).await,
        Err(BookError::Clash(ClashWith::OutsideHours))
    ));
    // The server's field rules, too.
    let backwards = NewAppointment {
        end_time: over.start_time,
        start_time: over.end_time,
        ..over.clone()
    };
    assert!(matches!(
        book::book(&desk.engine, RECEPTION, &backwards).await,
        Err(BookError::Invalid(problems)) if problems.iter().any(|p| p.field == "endTime")
    ));
    let unknown_type = NewAppointment {
        kind: "massage".to_owned(),
        ..over.clone()
    };
    assert!(matches!(
        book::book(&desk.engine, RECEPTION, &unknown_type).await,
        Err(BookError::Invalid(problems)) if problems.iter().any(|p| p.field == "type")
    ));
    assert_eq!(
        desk.engine.store().pending_count().await.expect("count"),
        0,
        "nothing queued"
    );
    // A cancelled appointment holds no time: once cancelled here, its time is bookable.
    book::cancel(
        &desk.engine,
        RECEPTION,
        taken.id.as_str(),
        "patient moved away",
    )
    .await
    .expect("cancelled offline");
    book::book(&desk.engine, RECEPTION, &over)
        .await
        .expect("the freed time is booked");
    assert_eq!(desk.engine.store().pending_count().await.expect("count"), 2);
}

#[tokio::test]
async fn a_time_another_desk_booked_first_goes_to_the_conflict_list_with_an_event() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let first = synced_desk(&server.url(), RECEPTION).await;
    let second = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &first.engine, 2).await;
    let patient = some_patient(&first.engine).await;
    let mut events = second.engine.subscribe();

    proxy.set_down(true);
    let theirs = book::book(&first.engine, RECEPTION, &booking(&patient, &slot))
        .await
        .expect("first desk books");
    let ours = book::book(&second.engine, RECEPTION, &booking(&patient, &slot))
        .await
        .expect("second desk books the same time offline");
    drain_until(&first.engine, "the first desk's booking", NothingPending).await;
    proxy.set_down(false);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&second.engine, "the second desk's answer", NothingPending).await;

    let conflicts = second.engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    let conflict = &conflicts[0];
    assert_eq!(conflict.refusal.kind, ConflictKind::Clash);
    assert_eq!(conflict.refusal.server_status, Some(409));
    assert_eq!(conflict.entry.author, RECEPTION);
    assert_eq!(conflict.entry.entity_id, ours.appointment.id.as_str());
    let refused = drain_events(&mut events).into_iter().any(|e| {
        matches!(e, SyncEvent::WriteRefused { seq, conflict_id } if seq == ours.seq && conflict_id == conflict.id)
    });
    assert!(refused, "the desk is told, to show a notification");
    let on_server = on_server_at(&other, &slot.0, slot.2).await;
    assert_eq!(on_server.len(), 1, "only the first desk's booking");
    assert_ne!(
        on_server[0].id, theirs.appointment.id,
        "(the server named it)"
    );
    // The refused booking stays visible until someone decides; discarding removes it.
    let store = second.engine.store();
    assert!(store
        .appointment(ours.appointment.id.as_str())
        .await
        .expect("read")
        .is_some());
    assert!(matches!(
        second.engine.take_theirs(conflict.id, RECEPTION).await,
        Err(frontdesk_core::ResolveError::NothingToTake)
    ));
    second
        .engine
        .discard_change(conflict.id, RECEPTION)
        .await
        .expect("discarded");
    assert!(store
        .appointment(ours.appointment.id.as_str())
        .await
        .expect("read")
        .is_none());
    assert_eq!(store.conflict_count().await.expect("count"), 0);
}

#[tokio::test]
async fn status_moves_made_offline_are_sent_in_order_each_on_the_previous_answers_version() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let appointment = cached_scheduled(&desk.engine, 1).await;
    let id = appointment.id.to_string();
    proxy.set_down(true);
    use AppointmentStatus::*;
    for to in [CheckedIn, Scheduled, CheckedIn, InRoom, Completed] {
        let pending = book::set_status(&desk.engine, RECEPTION, &id, to)
            .await
            .unwrap_or_else(|e| panic!("move to {to}: {e}"));
        assert_eq!(pending.appointment.status, to);
    }
    // Completed is final: nothing moves it on, not even offline.
    assert!(matches!(
        book::set_status(&desk.engine, RECEPTION, &id, Scheduled).await,
        Err(BookError::Transition(TransitionError::NotAllowed { .. }))
    ));
    let cached = desk
        .engine
        .store()
        .appointment(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached.status, Completed);
    assert!(
        cached.checked_in_at.is_some()
            && cached.roomed_at.is_some()
            && cached.completed_at.is_some()
    );
    assert_eq!(
        desk.engine
            .store()
            .appointment_pending(&id)
            .await
            .expect("flag"),
        Some(true)
    );

    proxy.set_down(false);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&desk.engine, "the moves are sent", NothingPending).await;
    let on_server = other
        .appointments()
        .get(&AppointmentId(id.clone()))
        .await
        .expect("get");
    assert_eq!(on_server.status, Completed);
    assert_eq!(on_server.version, appointment.version + 5, "each move once");
    let cached = desk
        .engine
        .store()
        .appointment(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached, on_server, "the cache is the server's answer");
    assert_eq!(
        desk.engine
            .store()
            .appointment_pending(&id)
            .await
            .expect("flag"),
        Some(false)
    );
    let puts = proxy.writes().into_iter().filter(|w| w.0 == "PUT").count();
    assert_eq!(
        puts, 5,
        "no move conflicted with the desk's own earlier one"
    );
    assert_eq!(
        desk.engine.store().conflict_count().await.expect("count"),
        0
    );
}

#[tokio::test]
async fn a_cancellation_needs_a_reason_and_is_undone_while_the_time_is_free() {
    let server = server(20).await;
    let desk = synced_desk(&server.url(), RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let appointment = cached_scheduled(&desk.engine, 2).await;
    let id = appointment.id.to_string();
    assert!(matches!(
        book::cancel(&desk.engine, RECEPTION, &id, "  ").await,
        Err(BookError::Transition(TransitionError::CancelReasonMissing))
    ));
    assert!(matches!(
        book::set_status(&desk.engine, RECEPTION, &id, AppointmentStatus::Cancelled).await,
        Err(BookError::Transition(TransitionError::CancelReasonMissing))
    ));
    book::cancel(&desk.engine, RECEPTION, &id, "Patient has the flu")
        .await
        .expect("cancelled");
    drain_until(&desk.engine, "the cancellation is sent", NothingPending).await;
    let on_server = other
        .appointments()
        .get(&AppointmentId(id.clone()))
        .await
        .expect("get");
    assert_eq!(on_server.status, AppointmentStatus::Cancelled);
    assert_eq!(
        on_server.cancel_reason.as_deref(),
        Some("Patient has the flu")
    );

    // Someone else books the freed time; the desk learns of it, and refuses the undo itself.
    let patient = some_patient(&desk.engine).await;
    let taker = other
        .appointments()
        .create(&NewAppointment {
            patient_id: patient,
            provider_id: appointment.provider_id.clone(),
            start_time: appointment.start_time,
            end_time: appointment.end_time,
            kind: appointment.kind.clone(),
            reason: None,
            notes: None,
            location_id: appointment.location.id.clone(),
        })
        .await
        .expect("booked elsewhere");
    desk.engine
        .follow_feed_once(Duration::from_secs(2))
        .await
        .expect("feed");
    match book::set_status(&desk.engine, RECEPTION, &id, AppointmentStatus::Scheduled).await {
        Err(BookError::Clash(ClashWith::Appointment { appointment_id, .. })) => {
            assert_eq!(appointment_id, taker.id.as_str())
        }
        other => panic!("expected a clash with {}, got {other:?}", taker.id),
    }
    // Once that one is cancelled too, the undo goes through.
    other
        .appointments()
        .cancel(&taker.id, "changed their mind")
        .await
        .expect("cancelled elsewhere");
    desk.engine
        .follow_feed_once(Duration::from_secs(2))
        .await
        .expect("feed");
    book::set_status(&desk.engine, RECEPTION, &id, AppointmentStatus::Scheduled)
        .await
        .expect("undone");
    drain_until(&desk.engine, "the undo is sent", NothingPending).await;
    let on_server = other
        .appointments()
        .get(&AppointmentId(id.clone()))
        .await
        .expect("get");
    assert_eq!(on_server.status, AppointmentStatus::Scheduled);
    assert_eq!(on_server.cancel_reason, None);
}

#[tokio::test]
async fn a_move_based_on_a_stale_version_goes_to_the_conflict_list_beside_the_servers_appointment()
{
    let server = server(20).await;
    let desk = synced_desk(&server.url(), RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let appointment = cached_scheduled(&desk.engine, 3).await;
    let id = appointment.id.to_string();
    // Changed elsewhere; this desk has not heard yet.
    let changed = other
        .appointments()
        .update(
            &appointment.id,
            &AppointmentPatch {
                notes: Some("Bring the old X-rays".to_owned()),
                ..AppointmentPatch::default()
            },
        )
        .if_match(appointment.version)
        .await
        .expect("changed elsewhere");
    book::set_status(&desk.engine, RECEPTION, &id, AppointmentStatus::CheckedIn)
        .await
        .expect("queued");
    drain_until(&desk.engine, "the refusal", NothingPending).await;
    let conflicts = desk.engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    let conflict = &conflicts[0];
    assert_eq!(conflict.refusal.kind, ConflictKind::Clash);
    let current: Appointment = serde_json::from_value(
        conflict.refusal.server_body.as_ref().expect("body")["current"].clone(),
    )
    .expect("the server's appointment beside ours");
    assert_eq!(current, changed);
    // Retried on their version: the check-in goes through, their note kept.
    desk.engine
        .retry_other_change(conflict.id, RECEPTION, None)
        .await
        .expect("retried");
    drain_until(&desk.engine, "the retried move", NothingPending).await;
    let on_server = other
        .appointments()
        .get(&appointment.id)
        .await
        .expect("get");
    assert_eq!(on_server.status, AppointmentStatus::CheckedIn);
    assert_eq!(on_server.notes.as_deref(), Some("Bring the old X-rays"));
    assert_eq!(
        desk.engine.store().conflict_count().await.expect("count"),
        0
    );
    let cached = desk
        .engine
        .store()
        .appointment(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached, on_server);
}

#[tokio::test]
async fn a_reschedule_is_checked_against_the_book_and_moves_the_appointment_once() {
    let server = server(20).await;
    let desk = synced_desk(&server.url(), RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &desk.engine, 4).await;
    let patient = some_patient(&desk.engine).await;
    let booked = book::book(&desk.engine, RECEPTION, &booking(&patient, &slot))
        .await
        .expect("booked");
    drain_until(&desk.engine, "the booking", NothingPending).await;
    let id = desk
        .engine
        .store()
        .mapped_id(
            frontdesk_store::EntityKind::Appointment,
            booked.appointment.id.as_str(),
        )
        .await
        .expect("map")
        .expect("mapped");
    // Onto another appointment of the provider: refused here.
    let busy = desk
        .engine
        .store()
        .provider_appointments_between(
            slot.0.as_str(),
            slot.2 - chrono::Duration::days(3),
            slot.2 + chrono::Duration::days(3),
        )
        .await
        .expect("book")
        .into_iter()
        .find(|a| a.id.as_str() != id && a.status.holds_time() && a.location.id == slot.1)
        .expect("another booking of the provider");
    assert!(matches!(
        book::reschedule(&desk.engine, RECEPTION, &id, busy.start_time, None).await,
        Err(BookError::Clash(ClashWith::Appointment { .. }))
    ));
    // To the next free half hour at the same provider and location: moved, keeping its length.
    let target = free_slot_of(&other, &slot.0, &slot.1, slot.2).await;
    let moved = book::reschedule(&desk.engine, RECEPTION, &id, target.2, None)
        .await
        .expect("rescheduled");
    assert_eq!(
        moved.appointment.end_time - moved.appointment.start_time,
        slot.3 - slot.2
    );
    drain_until(&desk.engine, "the move", NothingPending).await;
    let on_server = other
        .appointments()
        .get(&AppointmentId(id.clone()))
        .await
        .expect("get");
    assert_eq!(on_server.start_time, target.2);
    assert_eq!(on_server.version, 2);
}

#[tokio::test]
async fn a_booking_for_a_patient_registered_offline_waits_for_the_registration_and_names_the_servers_id(
) {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &desk.engine, 6).await;
    proxy.set_down(true);
    let registered = desk
        .engine
        .register_patient(RECEPTION, &new_patient("Wanda", "Waitsfor"))
        .await
        .expect("registered offline");
    let local_patient = PatientId(registered.patient_id.clone());
    let pending = book::book(&desk.engine, RECEPTION, &booking(&local_patient, &slot))
        .await
        .expect("booked for the new patient");
    assert_eq!(pending.appointment.patient_id, local_patient);
    proxy.set_down(false);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&desk.engine, "both are sent", NothingPending).await;
    let server_patient = desk
        .engine
        .store()
        .mapped_id(frontdesk_store::EntityKind::Patient, &registered.patient_id)
        .await
        .expect("map")
        .expect("the registration was accepted");
    let on_server = on_server_at(&other, &slot.0, slot.2).await;
    assert_eq!(on_server.len(), 1);
    assert_eq!(on_server[0].patient_id.as_str(), server_patient);
    let writes = proxy.writes();
    let order: Vec<&str> = writes.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(order, ["/api/v1/patients", "/api/v1/appointments"]);
}

/// The conflict list holds this many open entries.
struct OpenConflicts(i64);

impl AsyncCheck for OpenConflicts {
    async fn holds(&mut self, engine: &SyncEngine) -> bool {
        engine.store().conflict_count().await.expect("count") == self.0
    }
}

#[tokio::test]
async fn discarding_a_refused_registration_discards_the_booking_that_waited_for_it() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &desk.engine, 6).await;
    proxy.set_down(true);
    let registered = desk
        .engine
        .register_patient(RECEPTION, &new_patient("Rhoda", "Refused"))
        .await
        .expect("registered offline");
    let local_patient = PatientId(registered.patient_id.clone());
    let pending = book::book(&desk.engine, RECEPTION, &booking(&local_patient, &slot))
        .await
        .expect("booked for the new patient");
    proxy.set_down(false);
    // The server refuses the registration; the booking waits for it and is not sent.
    proxy.push(Fault::Status {
        status: 422,
        retry_after: None,
        field: Some("contactInfo.email"),
    });
    drain_until(&desk.engine, "the refusal", OpenConflicts(1)).await;
    let store = desk.engine.store();
    assert_eq!(
        store.pending_count().await.expect("count"),
        1,
        "the booking waits"
    );
    let conflicts = store.conflicts().await.expect("conflicts");
    assert_eq!(conflicts[0].entry.entity_id, registered.patient_id);

    desk.engine
        .discard_change(conflicts[0].id, RECEPTION)
        .await
        .expect("discarded");
    assert_eq!(store.pending_count().await.expect("count"), 0);
    assert_eq!(store.conflict_count().await.expect("count"), 0);
    assert!(
        store
            .appointment(pending.appointment.id.as_str())
            .await
            .expect("read")
            .is_none(),
        "the booking no longer shows in the book"
    );
    // Nothing more is sent, ever: the drain finds nothing to do and the server has no booking.
    desk.engine.drain_outbox().await.expect("drain");
    let writes: Vec<String> = proxy.writes().into_iter().map(|w| w.1).collect();
    assert_eq!(writes, ["/api/v1/patients"]);
    assert!(on_server_at(&other, &slot.0, slot.2).await.is_empty());
    // The booking's fate is on record with its reason, not dropped silently.
    let history = store.resolved_conflicts(10).await.expect("history");
    let booking_entry = history
        .iter()
        .find(|c| c.entry.entity_id == pending.appointment.id.as_str())
        .expect("the booking is on record");
    assert_eq!(
        booking_entry.refusal.message,
        "the registration of its patient was discarded"
    );
}

/// An open invoice of some patient, read into the cache the way reading ahead does.
async fn cached_open_invoice(
    engine: &SyncEngine,
    client: &Client,
) -> practice_studio::model::Invoice {
    let list = client
        .billing()
        .invoices(
            &InvoiceQuery::new()
                .status(practice_studio::model::InvoiceStatus::Open)
                .limit(20),
        )
        .await
        .expect("invoices");
    let invoice = list
        .invoices
        .into_iter()
        .find(|i| i.balance > Decimal::new(1000, 2))
        .expect("an open invoice with a balance");
    engine
        .store()
        .apply_remote_invoices(std::slice::from_ref(&invoice), chrono::Utc::now())
        .await
        .expect("cached");
    invoice
}

#[tokio::test]
async fn a_payment_taken_offline_counts_at_once_and_is_recorded_once() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, BILLING).await;
    let other = client_as(&server.url(), BILLING);
    let invoice = cached_open_invoice(&desk.engine, &other).await;
    let id = invoice.id.to_string();
    let payment = NewPayment {
        method: "Cash".to_owned(),
        amount: Decimal::new(1000, 2),
        reference: None,
        date: None,
    };
    // More than the balance, a method the API does not take: refused here.
    let too_much = NewPayment {
        amount: invoice.balance + Decimal::new(1, 2),
        ..payment.clone()
    };
    assert!(matches!(
        payments::take_payment(&desk.engine, BILLING, &id, &too_much).await,
        Err(PaymentError::Invalid(p)) if p.iter().any(|p| p.field == "amount")
    ));
    let barter = NewPayment {
        method: "Chickens".to_owned(),
        ..payment.clone()
    };
    assert!(matches!(
        payments::take_payment(&desk.engine, BILLING, &id, &barter).await,
        Err(PaymentError::Invalid(p)) if p.iter().any(|p| p.field == "method")
    ));

    proxy.set_down(true);
    let pending = payments::take_payment(&desk.engine, BILLING, &id, &payment)
        .await
        .expect("taken offline");
    assert_eq!(pending.invoice.balance, invoice.balance - payment.amount);
    assert_eq!(pending.invoice.payments.len(), invoice.payments.len() + 1);
    // The rest of the balance is what a second payment may be at most.
    let rest = NewPayment {
        amount: invoice.balance - payment.amount + Decimal::new(1, 2),
        ..payment.clone()
    };
    assert!(matches!(
        payments::take_payment(&desk.engine, BILLING, &id, &rest).await,
        Err(PaymentError::Invalid(_))
    ));
    proxy.set_down(false);
    proxy.push(Fault::CutOff);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&desk.engine, "the payment is recorded", NothingPending).await;
    let on_server = other.billing().invoice(&invoice.id).await.expect("invoice");
    assert_eq!(
        on_server.payments.len(),
        invoice.payments.len() + 1,
        "recorded once"
    );
    assert_eq!(on_server.balance, invoice.balance - payment.amount);
    let cached = desk
        .engine
        .store()
        .invoice(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(
        cached, on_server,
        "the cache is the server's invoice, nothing counted twice"
    );
    assert!(desk
        .engine
        .store()
        .pending_payments(&id)
        .await
        .expect("pending")
        .is_empty());
}

#[tokio::test]
async fn a_payment_the_authors_role_may_not_take_goes_to_the_conflict_list_and_can_be_discarded() {
    let server = server(20).await;
    let desk = synced_desk(&server.url(), CLINICIAN).await;
    let billing = client_as(&server.url(), BILLING);
    let invoice = cached_open_invoice(&desk.engine, &billing).await;
    let id = invoice.id.to_string();
    payments::take_payment(
        &desk.engine,
        CLINICIAN,
        &id,
        &NewPayment {
            method: "Cash".to_owned(),
            amount: Decimal::new(500, 2),
            reference: None,
            date: None,
        },
    )
    .await
    .expect("queued");
    drain_until(&desk.engine, "the refusal", NothingPending).await;
    let conflicts = desk.engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].refusal.kind, ConflictKind::Forbidden);
    // Still listed until someone decides, but refused money does not lower the balance.
    assert_eq!(
        desk.engine
            .store()
            .pending_payments(&id)
            .await
            .expect("pending")
            .len(),
        1
    );
    let while_refused = desk
        .engine
        .store()
        .invoice(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(while_refused.balance, invoice.balance);
    assert_eq!(while_refused.payments.len(), invoice.payments.len() + 1);
    desk.engine
        .discard_change(conflicts[0].id, CLINICIAN)
        .await
        .expect("discarded");
    assert!(desk
        .engine
        .store()
        .pending_payments(&id)
        .await
        .expect("pending")
        .is_empty());
    let cached = desk
        .engine
        .store()
        .invoice(&id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached.balance, invoice.balance);
    let on_server = billing
        .billing()
        .invoice(&invoice.id)
        .await
        .expect("invoice");
    assert_eq!(on_server.payments.len(), invoice.payments.len());
}

#[tokio::test]
async fn a_booking_refused_for_a_clash_is_moved_to_a_free_time_and_sent_again() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    let slot = free_slot(&other, &desk.engine, 3).await;
    let patient = some_patient(&desk.engine).await;
    proxy.set_down(true);
    let ours = book::book(&desk.engine, RECEPTION, &booking(&patient, &slot))
        .await
        .expect("booked offline");
    // Meanwhile the time goes elsewhere.
    other
        .appointments()
        .create(&booking(&patient, &slot))
        .await
        .expect("booked elsewhere first");
    proxy.set_down(false);
    tokio::time::sleep(Duration::from_millis(250)).await;
    drain_until(&desk.engine, "the refusal", NothingPending).await;
    let conflict = desk.engine.store().conflicts().await.expect("conflicts")[0].clone();
    assert_eq!(conflict.refusal.kind, ConflictKind::Clash);
    // Sent again as it was, the desk now knows the time is taken (after a sync) and says so.
    desk.engine.poll_once().await.expect("poll");
    assert!(matches!(
        desk.engine
            .retry_other_change(conflict.id, RECEPTION, None)
            .await,
        Err(frontdesk_core::ResolveError::Book(BookError::Clash(_)))
    ));
    // Moved to a free time: it does not clash with itself, and goes through.
    let free = free_slot_of(&other, &slot.0, &slot.1, slot.2).await;
    let edited = serde_json::to_value(booking(&patient, &free)).expect("json");
    desk.engine
        .retry_other_change(conflict.id, RECEPTION, Some(edited))
        .await
        .expect("retried at another time");
    let shown = desk
        .engine
        .store()
        .appointment(ours.appointment.id.as_str())
        .await
        .expect("read")
        .expect("still shown");
    assert_eq!(shown.start_time, free.2);
    drain_until(&desk.engine, "the retried booking", NothingPending).await;
    assert_eq!(on_server_at(&other, &free.0, free.2).await.len(), 1);
    assert_eq!(
        desk.engine.store().conflict_count().await.expect("count"),
        0
    );
}

#[tokio::test]
async fn free_slots_computed_offline_are_the_servers() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = synced_desk(&proxy.url, RECEPTION).await;
    let other = client_as(&server.url(), RECEPTION);
    proxy.set_down(true);
    let (from, to) = (
        monday() + chrono::Duration::days(1),
        monday() + chrono::Duration::days(4),
    );
    let providers = desk.engine.store().providers().await.expect("providers");
    let mut compared = 0;
    for provider in providers.iter().filter(|p| p.active) {
        for location in &provider.locations {
            for minutes in [20, 30, 60] {
                let offline = book::free_slots(
                    &desk.engine,
                    provider.id.as_str(),
                    location.id.as_str(),
                    (from, to),
                    minutes,
                )
                .await
                .expect("free slots offline");
                let online = other
                    .clinic()
                    .slots(
                        &provider.id,
                        &SlotQuery::new(from, to)
                            .minutes(minutes)
                            .location(location.id.clone()),
                    )
                    .await
                    .expect("the server's slots");
                let online: Vec<(DateTime<Utc>, DateTime<Utc>)> = online
                    .slots
                    .iter()
                    .map(|s| (s.start_time, s.end_time))
                    .collect();
                let offline: Vec<(DateTime<Utc>, DateTime<Utc>)> =
                    offline.iter().map(|s| (s.start, s.end)).collect();
                assert_eq!(
                    offline, online,
                    "{} at {} ({minutes} min)",
                    provider.id, location.id
                );
                compared += online.len();
            }
        }
    }
    assert!(compared > 0, "the demo clinic has free time this week");
    // A slot offered offline is bookable offline, and then no longer offered.
    let provider = providers.iter().find(|p| p.active).expect("a provider");
    let location = &provider.locations[0];
    let first = book::free_slots(
        &desk.engine,
        provider.id.as_str(),
        location.id.as_str(),
        (from, to),
        30,
    )
    .await
    .expect("slots")[0];
    let patient = some_patient(&desk.engine).await;
    book::book(
        &desk.engine,
        RECEPTION,
        &booking(
            &patient,
            &(
                provider.id.clone(),
                location.id.clone(),
                first.start,
                first.end,
            ),
        ),
    )
    .await
    .expect("an offered slot is bookable");
    let after = book::free_slots(
        &desk.engine,
        provider.id.as_str(),
        location.id.as_str(),
        (from, to),
        30,
    )
    .await
    .expect("slots");
    assert!(!after.iter().any(|s| s.overlaps(&first)));
}
