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
