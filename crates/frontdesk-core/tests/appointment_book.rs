//! The appointment book as the desk shows it, against the demo server: a day's columns laid out
//! in the location's wall-clock minutes, the next free slots by provider, specialty and time of
//! day (each one bookable), a clash named before saving, a booking pending until the server
//! confirms it, and a move by a day that keeps its wall-clock time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::appointment_book::{
    BookView, BookViewArgs, BookingArgs, CancelArgs, RescheduleArgs, SlotSearchArgs, StatusArgs,
    TimeOfDay,
};
use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::waitlist::{SlotOffer, WaitlistAddArgs};
use frontdesk_core::{Config, ConfigKey, ConfigLayers, Desk, DeskOptions, PinnedDayClock, Surface};
use frontdesk_store::DataDir;
use practice_studio::model::{AppointmentStatus, ProviderId, WaitlistPreferences};
use practice_studio_server::{RunningServer, Server, Today};

const TODAY: &str = "2026-11-23";

fn desk(url: &str, home: &tempfile::TempDir) -> Desk {
    let mut flags = BTreeMap::new();
    flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
    let layers = ConfigLayers {
        managed_file: None,
        user_file: Some(home.path().join("user.toml")),
        env: BTreeMap::new(),
        flags,
    };
    let desk = Desk::new(DeskOptions {
        config: Config::load(&layers).expect("config"),
        clock: Arc::new(PinnedDayClock::new(TODAY.parse().expect("date"))),
        surface: Surface::Browser,
    })
    .expect("desk");
    desk.attach_device(Device {
        data_dir: Arc::new(DataDir::open(home.path().join("desk")).expect("data dir")),
        keychain: Arc::new(MemoryKeychain::default()),
    });
    desk
}

fn day_args(date: &str) -> BookViewArgs {
    BookViewArgs {
        date: date.parse().expect("date"),
        days: None,
        location_id: None,
        specialty: None,
        provider_ids: None,
    }
}

async fn synced_view(desk: &Desk, date: &str) -> BookView {
    for _ in 0..300 {
        // Slots are only as good as the cached book: the first sync must have read all of it.
        let synced = matches!(desk.sync_status().await, Ok(Some(v)) if v.status.first_sync_done);
        if !synced {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if let Ok(view) = desk.book_view(&day_args(date)).await {
            if !view.columns.is_empty()
                && view.columns.iter().any(|c| !c.appointments.is_empty())
                && !view.types.is_empty()
            {
                return view;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the first sync never brought the book");
}

/// A demo server on the fixed day with `patients` patients, and a desk signed in as reception
/// whose first sync has brought the day's book (the server and the desk's home are kept alive by
/// the caller).
async fn signed_in_desk(patients: u64) -> (RunningServer, tempfile::TempDir, Desk, BookView) {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(patients)
        .today(Today::Fixed(TODAY.parse().expect("date")))
        .start()
        .await
        .expect("demo server");
    let home = tempfile::tempdir().expect("tempdir");
    let desk = desk(&server.url(), &home);
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    let view = synced_view(&desk, TODAY).await;
    (server, home, desk, view)
}

#[tokio::test]
async fn the_book_lays_out_days_finds_slots_names_clashes_and_moves_on_the_wall_clock() {
    let (_server, _home, desk, view) = signed_in_desk(80).await;

    // Every column is a provider at one of their locations, on the day, inside the day's minutes.
    for column in &view.columns {
        assert_eq!(column.date.to_string(), TODAY);
        assert!(!column.hours.is_empty() || !column.appointments.is_empty());
        for span in column.hours.iter() {
            assert!(span.start < span.end && span.end <= 24 * 60, "{span:?}");
        }
        for closed in &column.closed {
            assert!(
                column
                    .hours
                    .iter()
                    .any(|h| closed.start < h.end && h.start < closed.end),
                "a break or time off lies within the hours: {closed:?}"
            );
        }
        for entry in &column.appointments {
            assert_eq!(entry.appointment.provider_id.as_str(), column.provider_id);
            assert_eq!(entry.appointment.location.id.as_str(), column.location_id);
            assert!(entry.start_minute < entry.end_minute && entry.end_minute <= 24 * 60);
            assert!(!entry.patient_name.is_empty());
        }
    }
    // A specialty narrows the columns to its providers.
    let specialty = view.specialties[0].clone();
    let narrowed = desk
        .book_view(&BookViewArgs {
            specialty: Some(specialty.clone()),
            ..day_args(TODAY)
        })
        .await
        .expect("narrowed");
    assert!(narrowed.columns.iter().all(|c| c.specialty == specialty));
    assert!(narrowed.columns.len() < view.columns.len());

    // Afternoon slots tomorrow, by specialty: in start order, from noon, each one bookable.
    let tomorrow = "2026-11-24";
    let slots = desk
        .find_slots(&SlotSearchArgs {
            provider_id: None,
            specialty: Some(specialty.clone()),
            location_id: None,
            from: tomorrow.parse().expect("date"),
            days: Some(14),
            minutes: 30,
            time_of_day: Some(TimeOfDay::Afternoon),
            limit: Some(6),
        })
        .await
        .expect("slots");
    assert!(!slots.is_empty());
    assert!(slots.windows(2).all(|w| w[0].start_time <= w[1].start_time));
    assert!(slots.iter().all(|s| s.start_minute >= 12 * 60));
    let slot = slots[0].clone();

    let patients: Vec<_> = desk
        .search_patients("a")
        .await
        .expect("search")
        .into_iter()
        .filter(|p| p.status == practice_studio::model::PatientStatus::Active)
        .collect();
    let booking = |patient: &str| BookingArgs {
        patient_id: patient.to_owned(),
        provider_id: slot.provider_id.clone(),
        location_id: slot.location_id.clone(),
        date: slot.date,
        minute: slot.start_minute,
        minutes: 30,
        kind: view.types[0].name.clone(),
        reason: Some("Book test".into()),
        notes: None,
    };
    let check = desk
        .check_booking(&booking(&patients[0].id))
        .await
        .expect("check");
    assert!(check.ok, "{check:?}");
    let booked = desk
        .book_appointment(&booking(&patients[0].id))
        .await
        .expect("booked");

    // The same time for someone else: the clash names the patient and the time.
    let clash = desk
        .check_booking(&booking(&patients[1].id))
        .await
        .expect("check");
    assert!(!clash.ok);
    let said = clash.clash.expect("a clash");
    assert!(
        said.contains(&patients[0].last_name),
        "{said} names {}",
        patients[0].last_name
    );
    assert!(said.contains(&format!(
        "{:02}:{:02}",
        slot.start_minute / 60,
        slot.start_minute % 60
    )));

    // In the book of that day: pending at first, confirmed by the server soon after.
    let mut confirmed = None;
    for _ in 0..100 {
        let day = desk
            .book_view(&day_args(&slot.date.to_string()))
            .await
            .expect("view");
        let found = day
            .columns
            .iter()
            .flat_map(|c| c.appointments.iter())
            .find(|e| e.appointment.reason.as_deref() == Some("Book test"))
            .cloned();
        if let Some(entry) = found {
            assert_eq!(entry.start_minute, slot.start_minute);
            if !entry.pending {
                confirmed = Some(entry);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let confirmed = match confirmed {
        Some(c) => c,
        None => {
            let status = desk.sync_status().await.expect("status");
            let day = desk
                .book_view(&day_args(&slot.date.to_string()))
                .await
                .expect("view");
            let found: Vec<_> = day
                .columns
                .iter()
                .flat_map(|c| c.appointments.iter())
                .filter(|e| e.appointment.reason.as_deref() == Some("Book test"))
                .collect();
            panic!("not confirmed: {status:?} {found:?}");
        }
    };
    assert!(!confirmed.appointment.id.as_str().starts_with("local-"));

    // A day later at the same wall-clock minute (given by the local id the screen still holds).
    let next_day = slot.date.succ_opt().expect("date");
    let move_args = RescheduleArgs {
        appointment_id: booked.appointment.id.to_string(),
        date: next_day,
        minute: slot.start_minute,
    };
    match desk.reschedule_appointment(&move_args).await {
        Ok(moved) => {
            assert_eq!(
                moved.appointment.start_time - slot.start_time,
                chrono::Duration::days(1)
            );
        }
        // The next day may be closed or taken: then it is refused, naming why, never queued.
        Err(frontdesk_core::CoreError::Invalid(problems)) => {
            assert_eq!(problems[0].field, "startTime", "{problems:?}")
        }
        Err(other) => panic!("moved or refused with a reason: {other:?}"),
    }

    // The status flow's rules hold at the desk: a scheduled visit cannot be completed.
    let refused = desk
        .set_appointment_status(&StatusArgs {
            appointment_id: confirmed.appointment.id.to_string(),
            status: AppointmentStatus::Completed,
        })
        .await;
    assert!(
        matches!(refused, Err(frontdesk_core::CoreError::Invalid(ref p)) if p[0].field == "status"),
        "{refused:?}"
    );
}

/// The desk's "next free slot" across the clinic (every provider at every location, merged in
/// start order) is the earliest of what the server's `/slots` offers them, for every time of day
/// and for a length that fits nowhere.
#[tokio::test]
async fn the_next_free_slots_across_the_clinic_are_the_earliest_the_server_offers() {
    use chrono::Timelike;
    use practice_studio::client::{Auth, Client, RetryPolicy, SlotQuery};

    let (server, _home, desk, view) = signed_in_desk(80).await;
    let client = Client::builder(server.url())
        .auth(Auth::password(
            "frontdesk",
            "reception@demo.clinic",
            "demo-password",
        ))
        .retry(RetryPolicy::never())
        .no_proxy()
        .build()
        .expect("client");

    // From tomorrow, so neither side's clock cuts the first day.
    let from: chrono::NaiveDate = "2026-11-24".parse().expect("date");
    let days = 10;
    let to = from + chrono::Duration::days(days - 1);
    let zones: BTreeMap<String, chrono_tz::Tz> = view
        .locations
        .iter()
        .map(|l| (l.id.clone(), l.time_zone.parse().expect("zone")))
        .collect();
    for (minutes, time_of_day, limit) in [
        (30, TimeOfDay::Any, 12),
        (45, TimeOfDay::Morning, 5),
        (60, TimeOfDay::Afternoon, 7),
        (15, TimeOfDay::Any, 1),
        (480, TimeOfDay::Any, 3),
    ] {
        let mut offered = Vec::new();
        for provider in &view.providers {
            for location in &provider.location_ids {
                let list = client
                    .clinic()
                    .slots(
                        &practice_studio::model::ProviderId(provider.id.clone()),
                        &SlotQuery::new(from, to)
                            .minutes(minutes)
                            .location(practice_studio::model::LocationId(location.clone())),
                    )
                    .await
                    .expect("the server's slots");
                let zone = zones[location];
                for slot in list.slots {
                    let local = slot.start_time.with_timezone(&zone);
                    let minute = local.hour() * 60 + local.minute();
                    let kept = match time_of_day {
                        TimeOfDay::Any => true,
                        TimeOfDay::Morning => minute < 12 * 60,
                        TimeOfDay::Afternoon => minute >= 12 * 60,
                    };
                    if kept {
                        offered.push((
                            slot.start_time,
                            provider.name.clone(),
                            location.clone(),
                            slot.end_time,
                        ));
                    }
                }
            }
        }
        // Ties in time go to the provider's name (then the order the desk lists them in).
        offered.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        offered.truncate(limit as usize);
        let found = desk
            .find_slots(&SlotSearchArgs {
                provider_id: None,
                specialty: None,
                location_id: None,
                from,
                days: Some(days as u32),
                minutes,
                time_of_day: Some(time_of_day),
                limit: Some(limit),
            })
            .await
            .expect("slots");
        let found: Vec<_> = found
            .into_iter()
            .map(|s| (s.start_time, s.provider_name, s.location_id, s.end_time))
            .collect();
        assert_eq!(found, offered, "{minutes} min, {time_of_day:?}, {limit}");
        if minutes < 480 {
            assert_eq!(found.len(), limit as usize, "the demo clinic has room");
        } else {
            assert!(found.is_empty(), "a working day is shorter than 8 hours");
        }
    }
}

/// Waits (up to 20 s) until the desk offers, or no longer offers, the slot the appointment freed.
async fn offer_of(desk: &Desk, appointment_id: &str, offered: bool) -> Option<SlotOffer> {
    for _ in 0..200 {
        let offers = desk.slot_offers().await.expect("slot offers");
        let found = offers
            .into_iter()
            .find(|o| o.appointment_id == appointment_id);
        if found.is_some() == offered {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = if offered {
        "offered"
    } else {
        "no longer offered"
    };
    panic!("the slot {appointment_id} freed was not {state} within 20 s");
}

async fn nothing_pending(desk: &Desk) {
    for _ in 0..200 {
        if matches!(desk.sync_status().await, Ok(Some(v)) if v.status.pending == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("writes still pending after 20 s");
}

/// A cancellation frees a slot: the desk offers it to the waiting patient it suits. An
/// accidental cancellation undone takes the slot back, so it is not offered while that lasts,
/// and cancelled again it is offered again: what the book looked like for a moment never loses
/// the offer (the desk once forgot an offer the first time it was not offerable).
#[tokio::test]
async fn a_freed_slot_is_offered_to_the_waitlist_for_as_long_as_it_is_free() {
    let (_server, _home, desk, view) = signed_in_desk(60).await;
    let slot = desk
        .find_slots(&SlotSearchArgs {
            provider_id: None,
            specialty: None,
            location_id: None,
            from: "2026-11-24".parse().expect("date"),
            days: Some(14),
            minutes: 60,
            time_of_day: Some(TimeOfDay::Morning),
            limit: Some(1),
        })
        .await
        .expect("slots")
        .into_iter()
        .next()
        .expect("a free morning hour");
    let patients: Vec<_> = desk
        .search_patients("a")
        .await
        .expect("search")
        .into_iter()
        .filter(|p| p.status == practice_studio::model::PatientStatus::Active)
        .collect();
    let (waiting, other) = (&patients[0], &patients[1]);
    let kind = view.types[0].name.clone();

    let entry = desk
        .add_to_waitlist(&WaitlistAddArgs {
            patient_id: waiting.id.clone(),
            kind: kind.clone(),
            duration: Some(30),
            reason: Some("Sooner, please".into()),
            notes: None,
            preferences: WaitlistPreferences {
                provider_ids: vec![ProviderId(slot.provider_id.clone())],
                ..WaitlistPreferences::default()
            },
        })
        .await
        .expect("on the waitlist");
    desk.book_appointment(&BookingArgs {
        patient_id: other.id.clone(),
        provider_id: slot.provider_id.clone(),
        location_id: slot.location_id.clone(),
        date: slot.date,
        minute: slot.start_minute,
        minutes: 60,
        kind,
        reason: Some("Waitlist test".into()),
        notes: None,
    })
    .await
    .expect("booked");
    nothing_pending(&desk).await;
    let day = desk
        .book_view(&day_args(&slot.date.to_string()))
        .await
        .expect("view");
    let booked = day
        .columns
        .iter()
        .flat_map(|c| c.appointments.iter())
        .find(|e| e.appointment.reason.as_deref() == Some("Waitlist test"))
        .expect("in the book")
        .appointment
        .id
        .to_string();
    let cancel = CancelArgs {
        appointment_id: booked.clone(),
        reason: "Patient called".into(),
    };

    desk.cancel_appointment(&cancel).await.expect("cancelled");
    let offer = offer_of(&desk, &booked, true).await.expect("offered");
    assert_eq!(offer.start_time, slot.start_time);
    assert_eq!(offer.minutes, 60);
    let names: Vec<_> = offer
        .candidates
        .iter()
        .map(|c| c.entry_id.as_str())
        .collect();
    assert_eq!(names, vec![entry.id.as_str()], "{offer:?}");
    assert!(offer.candidates[0]
        .why
        .starts_with("asked for this provider"));

    // Undone: the slot is taken again, so it is not offered (the desk is asked meanwhile).
    desk.set_appointment_status(&StatusArgs {
        appointment_id: booked.clone(),
        status: AppointmentStatus::Scheduled,
    })
    .await
    .expect("cancellation undone");
    offer_of(&desk, &booked, false).await;
    nothing_pending(&desk).await;
    assert!(desk
        .slot_offers()
        .await
        .expect("slot offers")
        .iter()
        .all(|o| o.appointment_id != booked));

    // Cancelled again: offered again, to the same patient.
    desk.cancel_appointment(&cancel)
        .await
        .expect("cancelled again");
    let again = offer_of(&desk, &booked, true).await.expect("offered again");
    assert_eq!(again.candidates[0].entry_id, entry.id);
}
