//! Servers without our extensions: the desk reads the server's OpenAPI document when it connects
//! and degrades where a feature is missing. Played by the real server behind a proxy that hides
//! the change feed, `updated_since`, `Idempotency-Key` and the v2 lists and bulk writes (from the
//! document and in behaviour).

mod support;

use std::time::Duration;

use frontdesk_core::{FeedOutcome, ServerFeatures, SyncOptions};
use frontdesk_store::ConflictKind;
use practice_studio::model::{AppointmentStatus, Patient};
use serde_json::json;
use support::*;

async fn first_patient(client: &practice_studio::client::Client) -> Patient {
    server_patients(client).await.remove(0)
}

#[tokio::test]
async fn the_servers_features_are_read_from_its_openapi_document() {
    let server = server(5).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let direct = desk(&server.url()).await;
    assert_eq!(
        direct.engine.connect().await.expect("connect"),
        ServerFeatures::ALL
    );
    let behind = desk(&proxy.url).await;
    proxy.hide(Hidden {
        feed: true,
        ..Hidden::default()
    });
    assert_eq!(
        behind.engine.connect().await.expect("connect"),
        ServerFeatures {
            change_feed: false,
            ..ServerFeatures::ALL
        }
    );
    proxy.hide(Hidden {
        v2: true,
        ..Hidden::default()
    });
    assert_eq!(
        behind.engine.connect().await.expect("connect"),
        ServerFeatures {
            v2_lists: false,
            v2_bulk: false,
            v2_reference_lists: false,
            ..ServerFeatures::ALL
        }
    );
    proxy.hide(Hidden {
        feed: true,
        updated_since: true,
        idempotency: true,
        v2: true,
    });
    assert_eq!(
        behind.engine.connect().await.expect("connect"),
        ServerFeatures::NONE
    );
    assert_eq!(behind.engine.server_features(), ServerFeatures::NONE);
}

#[tokio::test]
async fn without_a_feed_changes_made_elsewhere_arrive_by_updated_since_polling() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    proxy.hide(Hidden {
        feed: true,
        ..Hidden::default()
    });
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let edited = first_patient(&other).await;
    other
        .patients()
        .update(&edited.id, &json!({ "preferredLanguage": "Tagalog" }))
        .await
        .expect("changed elsewhere");
    assert_eq!(
        desk.engine
            .follow_feed_once(Duration::from_secs(1))
            .await
            .expect("feed"),
        FeedOutcome::NoFeed
    );
    assert_eq!(desk.engine.poll_once().await.expect("poll"), 1);
    assert_cache_equals_server(desk.engine.store(), &other).await;
    let asked_feed = proxy
        .requests()
        .iter()
        .any(|(_, path)| path.starts_with("/api/v2/events"));
    assert!(!asked_feed, "a server without a feed is never asked for it");
    let polled = proxy
        .requests()
        .iter()
        .any(|(_, path)| path.contains("updated_since="));
    assert!(polled, "polled by updated_since");
}

#[tokio::test]
async fn without_updated_since_either_the_kept_collections_are_read_again() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    proxy.hide(Hidden {
        feed: true,
        updated_since: true,
        ..Hidden::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(
        &dir,
        client_as(&proxy.url, RECEPTION),
        SyncOptions {
            appointment_window: Some((2, 10)),
            reference_every_polls: 1,
            ..options()
        },
    )
    .await;
    engine.connect().await.expect("connect");
    engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let edited = first_patient(&other).await;
    other
        .patients()
        .update(&edited.id, &json!({ "preferredLanguage": "Welsh" }))
        .await
        .expect("changed elsewhere");
    let from = (monday() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("t")
        .and_utc();
    let appointment = engine
        .store()
        .appointments_between(from, from + chrono::Duration::days(5))
        .await
        .expect("book")
        .into_iter()
        .find(|a| a.status == AppointmentStatus::Scheduled)
        .expect("a scheduled appointment");
    let checked_in = other
        .appointments()
        .set_status(&appointment.id, AppointmentStatus::CheckedIn, None)
        .await
        .expect("checked in elsewhere");
    assert_eq!(engine.poll_once().await.expect("refresh"), 2);
    assert_cache_equals_server(engine.store(), &other).await;
    let cached = engine
        .store()
        .appointment(appointment.id.as_str())
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(cached, checked_in);
    let asked = proxy
        .requests()
        .iter()
        .any(|(_, path)| path.contains("updated_since") || path.starts_with("/api/v2/events"));
    assert!(!asked, "nothing the server lacks is asked for");
    // Read again, nothing new: nothing changes.
    assert_eq!(engine.poll_once().await.expect("refresh"), 0);
}

#[tokio::test]
async fn without_idempotency_keys_an_answer_lost_after_the_server_acted_goes_to_the_conflict_list_unsent(
) {
    let server = server(5).await;
    let proxy = FaultProxy::start(&server.url()).await;
    proxy.hide(Hidden {
        idempotency: true,
        ..Hidden::default()
    });
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    desk.engine
        .register_patient(RECEPTION, &new_patient("Una", "Ambiguous"))
        .await
        .expect("queued");
    proxy.push(Fault::LoseResponse);
    drain_until(&desk.engine, "the write is settled", NothingPending).await;
    let conflicts = desk.engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].refusal.kind, ConflictKind::Other);
    assert!(conflicts[0].refusal.message.contains("check"));
    let posts = proxy
        .writes()
        .iter()
        .filter(|w| w.0 == "POST" && w.1 == "/api/v1/patients")
        .count();
    assert_eq!(posts, 1, "never resent: the server could not tell");
    let other = client_as(&server.url(), RECEPTION);
    let named = server_patients(&other)
        .await
        .into_iter()
        .filter(|p| p.last_name == "Ambiguous")
        .count();
    assert_eq!(
        named, 1,
        "the server made it once; a person checks before sending again"
    );

    // The same desk restarted offline still knows: the features read are kept.
    let store = desk.engine.store().clone();
    let restarted = frontdesk_core::SyncEngine::new(
        store,
        std::sync::Arc::new(frontdesk_core::PinnedDayClock::new(monday())),
        options(),
    );
    restarted
        .sign_in_author(RECEPTION, client_as(&proxy.url, RECEPTION))
        .await;
    restarted
        .register_patient(RECEPTION, &new_patient("Otto", "Ambiguous"))
        .await
        .expect("queued");
    proxy.push(Fault::Truncate);
    drain_until(&restarted, "the second write is settled", NothingPending).await;
    assert_eq!(
        restarted
            .store()
            .conflicts()
            .await
            .expect("conflicts")
            .len(),
        2
    );
    assert_eq!(
        restarted.server_features(),
        ServerFeatures {
            idempotency: false,
            ..ServerFeatures::ALL
        }
    );
}

#[tokio::test]
async fn without_idempotency_keys_a_refusal_before_acting_is_still_retried() {
    let server = server(5).await;
    let proxy = FaultProxy::start(&server.url()).await;
    proxy.hide(Hidden {
        idempotency: true,
        ..Hidden::default()
    });
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    desk.engine
        .register_patient(RECEPTION, &new_patient("Rhea", "Ratelimited"))
        .await
        .expect("queued");
    proxy.push(Fault::Status {
        status: 429,
        retry_after: None,
        field: None,
    });
    proxy.push(Fault::Status {
        status: 503,
        retry_after: None,
        field: None,
    });
    drain_until(&desk.engine, "the write is accepted", NothingPending).await;
    assert_eq!(
        desk.engine.store().conflict_count().await.expect("count"),
        0
    );
    let other = client_as(&server.url(), RECEPTION);
    let named = server_patients(&other)
        .await
        .into_iter()
        .filter(|p| p.last_name == "Ratelimited")
        .count();
    assert_eq!(named, 1);
}

#[tokio::test]
async fn without_the_v2_lists_and_bulk_writes_first_sync_pages_v1_offsets_and_each_write_goes_alone(
) {
    let server = server(60).await;
    let proxy = FaultProxy::start(&server.url()).await;
    proxy.hide(Hidden {
        v2: true,
        ..Hidden::default()
    });
    let desk = desk(&proxy.url).await;
    let features = desk.engine.connect().await.expect("connect");
    assert!(!features.v2_lists && !features.bulk_sends(), "{features:?}");
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    assert_cache_equals_server(desk.engine.store(), &other).await;
    let requests = proxy.requests();
    let v2_asked: Vec<&String> = requests
        .iter()
        .map(|(_, path)| path)
        .filter(|path| path.starts_with("/api/v2/") && !path.starts_with("/api/v2/events"))
        .collect();
    assert!(v2_asked.is_empty(), "{v2_asked:?}");
    let offsets: Vec<&String> = requests
        .iter()
        .map(|(_, path)| path)
        .filter(|path| path.starts_with("/api/v1/patients?") && path.contains("expand=full"))
        .collect();
    // 60 patients in pages of 25 by offset: 0, 25, 50.
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    assert!(offsets[2].contains("offset=50"), "{offsets:?}");

    for last in ["Alonea", "Aloneb", "Alonec"] {
        desk.engine
            .register_patient(RECEPTION, &new_patient("Vera", last))
            .await
            .expect("queued");
    }
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (3, 0));
    let writes: Vec<String> = proxy.writes().into_iter().map(|w| w.1).collect();
    assert_eq!(writes, ["/api/v1/patients"; 3]);
}
