//! Staying fresh from the change feed against the real server: changes made elsewhere arrive
//! through a long poll (applied with the cursor), a change during the first sync is not missed,
//! and a cursor the server no longer honours (410) starts a full resync without touching the
//! outbox.

mod support;

use std::time::Duration;

use std::sync::Arc;

use frontdesk_core::{Collection, FeedOutcome, PinnedDayClock, SyncEngine, SyncEvent};
use serde_json::json;
use support::*;
use tokio::sync::broadcast;

fn drain_events(events: &mut broadcast::Receiver<SyncEvent>) -> Vec<SyncEvent> {
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    seen
}

/// Another engine on the same cache, reading from (and writing to) another server.
async fn desk_on_same_store(desk: &Desk, url: &str) -> SyncEngine {
    let engine = SyncEngine::new(
        desk.engine.store().clone(),
        Arc::new(PinnedDayClock::new(monday())),
        options(),
    );
    engine.set_reader(Some(client_as(url, RECEPTION))).await;
    engine
        .sign_in_author(RECEPTION, client_as(url, RECEPTION))
        .await;
    engine
}

#[tokio::test]
async fn changes_elsewhere_arrive_through_the_feed_and_a_410_resyncs() {
    let server = server(30).await;
    let desk = desk(&server.url()).await;
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let mut events = desk.engine.subscribe();

    // A long poll that is waiting when the change commits.
    let engine = desk.engine.clone();
    let poll = tokio::spawn(async move { engine.follow_feed_once(Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let created = other
        .patients()
        .create(&new_patient("Felix", "Feedwell"))
        .await
        .expect("create elsewhere");
    let outcome = poll.await.expect("joins").expect("follows");
    assert_eq!(outcome, FeedOutcome::Applied(1));
    let announced: Vec<String> = drain_events(&mut events)
        .into_iter()
        .flat_map(|e| match e {
            SyncEvent::Changed {
                collection: Collection::Patients,
                ids,
            } => ids,
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(announced, [created.id.to_string()]);
    let edited = other
        .patients()
        .update(&created.id, &json!({ "preferredLanguage": "Portuguese" }))
        .await
        .expect("update elsewhere");
    assert_eq!(
        desk.engine
            .follow_feed_once(Duration::from_secs(5))
            .await
            .expect("follows"),
        FeedOutcome::Applied(1)
    );
    assert_eq!(edited.version, 2);
    assert_cache_equals_server(desk.engine.store(), &other).await;

    // The same desk pointed at another server (a reset database): its cursor names another
    // epoch, the server says 410, and the first sync runs again; queued writes stay queued.
    let reset = support::server(10).await;
    let moved = desk_on_same_store(&desk, &reset.url()).await;
    moved
        .register_patient(RECEPTION, &new_patient("Penny", "Pending"))
        .await
        .expect("queued");
    assert_eq!(
        moved
            .follow_feed_once(Duration::from_secs(1))
            .await
            .expect("answers"),
        FeedOutcome::Resync
    );
    assert_eq!(moved.status().await.expect("status").pending, 1);
    moved.first_sync().await.expect("first sync again");
    assert_eq!(
        moved
            .follow_feed_once(Duration::from_secs(1))
            .await
            .expect("follows the new server"),
        FeedOutcome::Applied(0)
    );
}

#[tokio::test]
async fn the_book_is_cached_for_its_window_and_kept_fresh() {
    use practice_studio::client::AppointmentQuery;
    use practice_studio::model::{AppointmentStatus, LocationId, NewAppointment, ProviderId};
    let server = server(20).await;
    let desk = desk_with(
        &server.url(),
        frontdesk_core::SyncOptions {
            appointment_window: Some((7, 14)),
            ..options()
        },
    )
    .await;
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    // The cache holds the window's appointments exactly as the server has them.
    let from = monday() - chrono::Duration::days(7);
    let to = monday() + chrono::Duration::days(14);
    let mut on_server = Vec::new();
    loop {
        let page = other
            .appointments()
            .list(
                &AppointmentQuery::new()
                    .dates(from, to)
                    .limit(100)
                    .offset(on_server.len() as u64),
            )
            .await
            .expect("server book");
        let done = page.appointments.len() < 100;
        on_server.extend(page.appointments);
        if done {
            break;
        }
    }
    let start = from.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::days(1);
    let end = to.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + chrono::Duration::days(2);
    let cached = desk
        .engine
        .store()
        .appointments_between(start, end)
        .await
        .expect("cached book");
    assert!(!on_server.is_empty());
    assert_eq!(cached.len(), on_server.len());

    // A check-in elsewhere arrives through the feed.
    let today = on_server
        .iter()
        .find(|a| a.status == AppointmentStatus::Scheduled && a.start_time.date_naive() > monday())
        .expect("a scheduled appointment")
        .clone();
    let checked_in = other
        .appointments()
        .set_status(&today.id, AppointmentStatus::CheckedIn, None)
        .await
        .expect("checked in elsewhere");
    let outcome = desk
        .engine
        .follow_feed_once(Duration::from_secs(5))
        .await
        .expect("follows");
    assert_eq!(outcome, FeedOutcome::Applied(1));
    let mine = desk
        .engine
        .store()
        .patient_appointments(today.patient_id.as_str())
        .await
        .expect("patient's book");
    let cached = mine.iter().find(|a| a.id == today.id).expect("cached");
    assert_eq!(cached, &checked_in);
    // And a booking made elsewhere in a free slot, by polling as well.
    // Any free slot of the cached window's second week: which of its days still have room
    // depends on the generated book, so the test does not pin one.
    let day = monday() + chrono::Duration::days(7);
    let slots = other
        .clinic()
        .slots(
            &ProviderId("PROV-54321".into()),
            &practice_studio::client::SlotQuery::new(day, day + chrono::Duration::days(6))
                .minutes(15)
                .location(LocationId("LOC-789".into())),
        )
        .await
        .expect("slots");
    let slot = slots.slots.first().expect("a free slot");
    let booked = other
        .appointments()
        .create(&NewAppointment {
            patient_id: today.patient_id.clone(),
            provider_id: slot.provider_id.clone(),
            start_time: slot.start_time,
            end_time: slot.end_time,
            kind: "Vaccination".into(),
            reason: None,
            notes: None,
            location_id: slot.location_id.clone(),
        })
        .await
        .expect("booked elsewhere");
    assert!(desk.engine.poll_once().await.expect("poll") >= 1);
    let book = desk
        .engine
        .store()
        .patient_appointments(booked.patient_id.as_str())
        .await
        .expect("book");
    assert!(book.iter().any(|a| a == &booked));
}

#[tokio::test]
async fn a_quiet_long_poll_outlasts_the_clients_own_timeout() {
    // The desk's client gives up on a request after 5 s (see `client_as`); a feed poll waits
    // longer on the server and must still end as "nothing new", not as a timeout.
    let server = server(5).await;
    let desk = desk(&server.url()).await;
    desk.engine.first_sync().await.expect("first sync");
    let outcome = desk
        .engine
        .follow_feed_once(Duration::from_secs(7))
        .await
        .expect("a quiet poll");
    assert_eq!(outcome, FeedOutcome::Applied(0));
}

/// Waits for an event that `check` accepts, for at most `within`.
async fn event_within(
    events: &mut broadcast::Receiver<SyncEvent>,
    within: Duration,
    check: impl Fn(&SyncEvent) -> bool,
) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match events.recv().await {
                Ok(event) if check(&event) => return true,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
async fn after_a_failed_long_poll_the_feed_is_followed_again_soon_not_after_a_whole_poll_interval()
{
    // The loop's poll interval is two minutes here: a desk that waited that long after one
    // dropped long poll would miss this test's deadline by far.
    let server = server(10).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk_with(
        &proxy.url,
        frontdesk_core::SyncOptions {
            poll_every: Duration::from_secs(120),
            feed_wait: Duration::from_secs(1),
            retry_base: Duration::from_millis(200),
            ..options()
        },
    )
    .await;
    let mut events = desk.engine.subscribe();
    let _tasks = desk.engine.start();
    assert!(
        event_within(&mut events, Duration::from_secs(60), |e| matches!(
            e,
            SyncEvent::FirstSyncDone
        ))
        .await,
        "first sync"
    );
    let follows = |proxy: &FaultProxy| {
        proxy
            .requests()
            .iter()
            .filter(|(_, path)| path.starts_with("/api/v2/events"))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while follows(&proxy) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the desk follows the feed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The network drops for longer than a long poll: the one under way ends and the next fail.
    proxy.set_down(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.set_down(false);
    let created = client_as(&server.url(), RECEPTION)
        .patients()
        .create(&new_patient("Renata", "Retrysoon"))
        .await
        .expect("create elsewhere");
    let id = created.id.to_string();
    assert!(
        event_within(&mut events, Duration::from_secs(30), |e| matches!(
            e,
            SyncEvent::Changed { collection: Collection::Patients, ids } if ids.contains(&id)
        ))
        .await,
        "the change made while the desk was retrying arrives within seconds"
    );
}
