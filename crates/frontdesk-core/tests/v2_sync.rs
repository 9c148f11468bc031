//! The desk's sync over the v2 beta, against the real server on loopback behind the counting
//! proxy: first sync by cursor pages (the same cache as v1's offset pages, resumed from its
//! cursor), and the outbox drained by bulk writes (a request per 100 entries, one bad item on
//! the conflict list while the others land, a lost or cut-off bulk answer resent and replayed,
//! dependents after their parents).

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use frontdesk_core::book;
use frontdesk_core::{Collection, ServerFeatures, SyncEvent, SyncOptions};
use frontdesk_store::{ConflictKind, EntityKind};
use practice_studio::client::{AppointmentQuery, Client, SlotQuery};
use practice_studio::model::{
    Appointment, LocationId, NewAppointment, Patient, PatientId, ProviderId,
};
use serde_json::{json, Map, Value};
use support::*;

fn patch(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("a patch is an object"),
    }
}

fn with_window() -> SyncOptions {
    SyncOptions {
        page_size: 50,
        appointment_window: Some((2, 6)),
        ..options()
    }
}

/// Requests whose path starts with `prefix`.
fn asked(proxy: &FaultProxy, method: &str, prefix: &str) -> Vec<String> {
    proxy
        .requests()
        .into_iter()
        .filter(|(m, path)| m == method && path.starts_with(prefix))
        .map(|(_, path)| path)
        .collect()
}

async fn named(client: &Client, last: &str) -> Vec<Patient> {
    server_patients(client)
        .await
        .into_iter()
        .filter(|p| p.last_name == last)
        .collect()
}

/// Every appointment the cache holds, by id.
async fn cached_appointments(engine: &frontdesk_core::SyncEngine) -> Vec<Appointment> {
    let store = engine.store();
    let mut all = Vec::new();
    for (id, _) in store.appointment_versions().await.expect("versions") {
        all.push(store.appointment(&id).await.expect("read").expect("cached"));
    }
    all
}

#[tokio::test]
async fn first_sync_by_v2_cursor_pages_caches_exactly_what_v1_offset_pages_cache() {
    let server = server(130).await;
    let v2_proxy = FaultProxy::start(&server.url()).await;
    let v1_proxy = FaultProxy::start(&server.url()).await;
    v1_proxy.hide(Hidden {
        v2: true,
        ..Hidden::default()
    });
    let v2_desk = desk_with(&v2_proxy.url, with_window()).await;
    let v1_desk = desk_with(&v1_proxy.url, with_window()).await;
    assert_eq!(
        v2_desk.engine.connect().await.expect("connect"),
        ServerFeatures::ALL
    );
    assert!(!v1_desk.engine.connect().await.expect("connect").v2_lists);
    let mut events = v2_desk.engine.subscribe();
    v2_desk.engine.first_sync().await.expect("first sync by v2");
    v1_desk.engine.first_sync().await.expect("first sync by v1");

    // v2: every patient page by cursor, full objects; v1 only for the newest change (1 item).
    let pages = asked(&v2_proxy, "GET", "/api/v2/patients");
    assert_eq!(pages.len(), 3, "130 patients in pages of 50: {pages:?}");
    assert!(pages.iter().all(|p| p.contains("expand=full")), "{pages:?}");
    assert!(
        pages[1..].iter().all(|p| p.contains("cursor=")),
        "{pages:?}"
    );
    let v1_lists = asked(&v2_proxy, "GET", "/api/v1/patients?");
    assert_eq!(v1_lists.len(), 1, "{v1_lists:?}");
    assert!(v1_lists[0].contains("limit=1"), "{v1_lists:?}");
    let by_cursor = asked(&v2_proxy, "GET", "/api/v2/appointments");
    assert!(!by_cursor.is_empty());
    assert!(by_cursor.iter().all(|p| p.contains("start_date=")));
    assert!(asked(&v2_proxy, "GET", "/api/v1/appointments?")
        .iter()
        .all(|p| p.contains("limit=1")));
    // v1: offsets, and nothing under v2 but the feed.
    assert!(asked(&v1_proxy, "GET", "/api/v2/")
        .iter()
        .all(|p| p.starts_with("/api/v2/events")));
    assert!(asked(&v1_proxy, "GET", "/api/v1/patients?")
        .iter()
        .any(|p| p.contains("offset=100")));

    // The same cache either way, each patient exactly as the server's `expand=full` has it.
    let reader = client_as(&server.url(), RECEPTION);
    assert_cache_equals_server(v2_desk.engine.store(), &reader).await;
    assert_cache_equals_server(v1_desk.engine.store(), &reader).await;
    let by_v2 = cached_appointments(&v2_desk.engine).await;
    assert!(
        by_v2.len() > 50,
        "the window holds {} appointments",
        by_v2.len()
    );
    assert_eq!(by_v2, cached_appointments(&v1_desk.engine).await);

    let progress: Vec<(u64, u64)> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e {
            SyncEvent::Progress {
                collection: Collection::Patients,
                done,
                total,
                ..
            } => Some((done, total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress, vec![(50, 130), (100, 130), (130, 130)]);
}

#[tokio::test]
async fn a_first_sync_by_cursor_stopped_mid_way_resumes_from_its_cursor() {
    let server = server(160).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let other = client_as(&server.url(), RECEPTION);
    let first = engine_on(&dir, client_as(&proxy.url, RECEPTION), options()).await;
    first.connect().await.expect("connect");
    let mut events = first.subscribe();
    let task = {
        let engine = first.clone();
        tokio::spawn(async move { engine.first_sync().await })
    };
    // Two pages of 25 committed, then the desk is stopped wherever it is.
    let mut pages = 0;
    while pages < 2 {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(SyncEvent::Progress {
                collection: Collection::Patients,
                ..
            })) => pages += 1,
            Ok(Ok(_)) => {}
            other => panic!("first sync stalled: {other:?}"),
        }
    }
    task.abort();
    let _ = task.await;
    drop(first);
    let checkpoint: Value = serde_json::from_str(
        &engine_store_state(&dir, "first_sync:patients")
            .await
            .expect("a checkpoint"),
    )
    .expect("json");
    let cursor = checkpoint["cursor"]
        .as_str()
        .expect("the checkpoint keeps the cursor")
        .to_owned();
    let offset = checkpoint["offset"].as_u64().expect("offset");
    assert!(offset >= 50 && checkpoint["done"] == false, "{checkpoint}");
    // Meanwhile others register patients: they come after the cursor, read once.
    for i in 0..3 {
        other
            .patients()
            .create(&new_patient("Cora", &format!("Cursor{i}")))
            .await
            .expect("registered elsewhere");
    }

    let before = proxy.requests().len();
    let resumed = engine_on(&dir, client_as(&proxy.url, RECEPTION), options()).await;
    resumed.connect().await.expect("connect");
    resumed.first_sync().await.expect("resumed");
    let after: Vec<String> = proxy.requests()[before..]
        .iter()
        .filter(|(_, path)| path.starts_with("/api/v2/patients"))
        .map(|(_, path)| path.clone())
        .collect();
    assert!(
        after[0].contains(&format!("cursor={cursor}")),
        "the restart asked from the kept cursor: {after:?}"
    );
    assert_eq!(
        after.len() as u64,
        (163 - offset).div_ceil(25),
        "only the rest was read: {after:?}"
    );
    assert_cache_equals_server(resumed.store(), &other).await;
}

async fn engine_store_state(dir: &tempfile::TempDir, key: &str) -> Option<String> {
    let store = open_store(dir).await;
    store.sync_state(key).await.expect("state")
}

#[tokio::test]
async fn a_drain_of_230_offline_registrations_takes_three_bulk_requests_and_lands_each_once() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    proxy.set_down(true);
    let mut local_ids = Vec::new();
    for i in 0..230 {
        let pending = desk
            .engine
            .register_patient(RECEPTION, &new_patient("Bulk", &format!("Many{i:03}")))
            .await
            .expect("queued offline");
        local_ids.push(pending.patient_id);
    }
    proxy.set_down(false);
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (230, 0, 0));
    let writes = proxy.writes();
    let paths: Vec<&str> = writes.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(paths, ["/api/v2/patients/bulk"; 3], "⌈230/100⌉ requests");
    let reader = client_as(&server.url(), RECEPTION);
    let on_server = server_patients(&reader).await;
    for i in 0..230 {
        let last = format!("Many{i:03}");
        assert_eq!(
            on_server.iter().filter(|p| p.last_name == last).count(),
            1,
            "{last} exactly once"
        );
    }
    // Every local id now names its server patient, and the cache holds the server's.
    let store = desk.engine.store();
    for local in &local_ids {
        let server_id = store
            .mapped_id(EntityKind::Patient, local)
            .await
            .expect("map")
            .expect("mapped");
        let cached = store
            .patient(&PatientId(server_id.clone()))
            .await
            .expect("read")
            .expect("cached");
        assert!(
            on_server.contains(&cached),
            "{server_id} as the server has it"
        );
    }
    assert_eq!(store.pending_count().await.expect("pending"), 0);
}

#[tokio::test]
async fn one_stale_item_of_a_bulk_goes_to_the_conflict_list_while_the_others_land() {
    let server = server(5).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let patients = server_patients(&other).await;
    // Another desk changes the first patient after this desk cached it.
    other
        .patients()
        .update(&patients[0].id, &json!({ "preferredLanguage": "Basque" }))
        .await
        .expect("changed elsewhere");
    for patient in &patients {
        desk.engine
            .update_patient(
                RECEPTION,
                &patient.id,
                &patch(json!({ "preferredLanguage": "Esperanto" })),
            )
            .await
            .expect("queued");
    }
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (4, 1));
    let writes = proxy.writes();
    assert_eq!(writes.len(), 1, "one bulk request: {writes:?}");
    assert_eq!(writes[0].1, "/api/v2/patients/bulk");
    let conflicts = desk.engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].entry.entity_id, patients[0].id.as_str());
    assert_eq!(conflicts[0].refusal.kind, ConflictKind::Clash);
    assert_eq!(conflicts[0].refusal.server_status, Some(409));
    // Theirs beside ours, as for a single send.
    let body = conflicts[0].refusal.server_body.as_ref().expect("body");
    assert_eq!(body["current"]["preferredLanguage"], "Basque");
    let now = server_patients(&other).await;
    assert_eq!(now[0].preferred_language.as_deref(), Some("Basque"));
    for patient in &now[1..] {
        assert_eq!(patient.preferred_language.as_deref(), Some("Esperanto"));
        assert_eq!(patient.version, 2);
    }
}

#[tokio::test]
async fn a_bulk_whose_answer_was_cut_off_is_resent_and_replayed_not_applied_twice() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    for i in 0..5 {
        desk.engine
            .register_patient(RECEPTION, &new_patient("Cut", &format!("Off{i}")))
            .await
            .expect("queued");
    }
    // The server acts, the answer stops half way: the desk cannot know what happened.
    proxy.push(Fault::CutOff);
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.waiting), (0, 5));
    drain_until(&desk.engine, "the resend is answered", NothingPending).await;
    let reader = client_as(&server.url(), RECEPTION);
    for i in 0..5 {
        assert_eq!(named(&reader, &format!("Off{i}")).await.len(), 1, "Off{i}");
    }
    let writes = proxy.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes.iter().all(|w| w.1 == "/api/v2/patients/bulk"));
    assert_eq!(
        desk.engine.store().conflict_count().await.expect("count"),
        0
    );

    // A 200 whose body does not read is resent at once, with the same keys.
    for i in 0..3 {
        desk.engine
            .register_patient(RECEPTION, &new_patient("Trunc", &format!("Ated{i}")))
            .await
            .expect("queued");
    }
    proxy.push(Fault::Truncate);
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (3, 0, 0));
    for i in 0..3 {
        assert_eq!(named(&reader, &format!("Ated{i}")).await.len(), 1);
    }
    assert_eq!(proxy.writes().len(), 4);
}

#[tokio::test]
async fn a_bulk_item_already_sent_alone_replays_that_answer() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    desk.engine.connect().await.expect("connect");
    desk.engine
        .register_patient(RECEPTION, &new_patient("Alone", "First"))
        .await
        .expect("queued");
    // Sent alone; the server acts and the answer is lost.
    proxy.push(Fault::LoseResponse);
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!(report.waiting, 1);
    // Two more queue behind it: the three go in one bulk, the first replayed.
    for last in ["Second", "Third"] {
        desk.engine
            .register_patient(RECEPTION, &new_patient("Alone", last))
            .await
            .expect("queued");
    }
    drain_until(&desk.engine, "all three land", NothingPending).await;
    let writes = proxy.writes();
    let paths: Vec<&str> = writes.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(paths, ["/api/v1/patients", "/api/v2/patients/bulk"]);
    let reader = client_as(&server.url(), RECEPTION);
    for last in ["First", "Second", "Third"] {
        assert_eq!(named(&reader, last).await.len(), 1, "{last} once");
    }
}

type Slot = (ProviderId, LocationId, DateTime<Utc>, DateTime<Utc>);

/// The `skip`-th free half hour the server offers after Monday.
async fn free_slot(client: &Client, engine: &frontdesk_core::SyncEngine, skip: usize) -> Slot {
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

fn booking(patient: &PatientId, slot: &Slot) -> NewAppointment {
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

#[tokio::test]
async fn bookings_of_patients_registered_offline_go_after_the_registrations_with_server_ids() {
    let server = server(20).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_on(
        &dir,
        client_as(&proxy.url, RECEPTION),
        SyncOptions {
            appointment_window: Some((2, 10)),
            ..options()
        },
    )
    .await;
    engine
        .sign_in_author(RECEPTION, client_as(&proxy.url, RECEPTION))
        .await;
    engine.connect().await.expect("connect");
    engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let slots = [
        free_slot(&other, &engine, 3).await,
        free_slot(&other, &engine, 9).await,
    ];
    proxy.set_down(true);
    let mut locals = Vec::new();
    for (last, slot) in ["Parenta", "Parentb"].iter().zip(&slots) {
        let registered = engine
            .register_patient(RECEPTION, &new_patient("Pia", last))
            .await
            .expect("registered offline");
        let local = PatientId(registered.patient_id.clone());
        book::book(&engine, RECEPTION, &booking(&local, slot))
            .await
            .expect("booked offline");
        locals.push(local);
    }
    // And a change to the first new patient, made before the server named them.
    engine
        .update_patient(
            RECEPTION,
            &locals[0],
            &patch(json!({ "preferredLanguage": "Irish" })),
        )
        .await
        .expect("edited offline");
    proxy.set_down(false);
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (5, 0, 0));
    // Registrations, bookings, the change: grouped by kind, parents first.
    let writes = proxy.writes();
    let paths: Vec<&str> = writes.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(
        paths[..2],
        ["/api/v2/patients/bulk", "/api/v2/appointments/bulk"],
        "{paths:?}"
    );
    assert_eq!(writes[2].0, "PUT");
    assert!(writes[2].1.starts_with("/api/v1/patients/"), "{paths:?}");
    assert_eq!(writes.len(), 3);
    let store = engine.store();
    for (local, slot) in locals.iter().zip(&slots) {
        let server_id = store
            .mapped_id(EntityKind::Patient, local.as_str())
            .await
            .expect("map")
            .expect("registered");
        let booked = other
            .appointments()
            .list(
                &AppointmentQuery::new()
                    .provider(slot.0.clone())
                    .dates(
                        slot.2.date_naive() - chrono::Duration::days(1),
                        slot.2.date_naive() + chrono::Duration::days(1),
                    )
                    .limit(100),
            )
            .await
            .expect("list")
            .appointments
            .into_iter()
            .filter(|a| a.start_time == slot.2 && a.status.holds_time())
            .collect::<Vec<_>>();
        assert_eq!(booked.len(), 1);
        assert_eq!(booked[0].patient_id.as_str(), server_id);
    }
    let first = other
        .patients()
        .get(&PatientId(
            store
                .mapped_id(EntityKind::Patient, locals[0].as_str())
                .await
                .expect("map")
                .expect("mapped"),
        ))
        .await
        .expect("read");
    assert_eq!(first.preferred_language.as_deref(), Some("Irish"));
}

/// What a desk's cache holds of the reference collections.
async fn cached_references(
    engine: &frontdesk_core::SyncEngine,
) -> (
    Vec<practice_studio::model::Location>,
    Vec<practice_studio::model::Provider>,
    Vec<practice_studio::model::AppointmentType>,
) {
    let store = engine.store();
    (
        store.locations().await.expect("locations"),
        store.providers().await.expect("providers"),
        store.appointment_types().await.expect("types"),
    )
}

#[tokio::test]
async fn reference_collections_are_read_by_v2_cursor_where_offered_and_through_v1_otherwise() {
    let server = server(5).await;
    let v2_proxy = FaultProxy::start(&server.url()).await;
    let v1_proxy = FaultProxy::start(&server.url()).await;
    v1_proxy.hide(Hidden {
        v2: true,
        ..Hidden::default()
    });
    // Pages of two, so each list is followed across several cursors; references every poll.
    let small = SyncOptions {
        page_size: 2,
        reference_every_polls: 1,
        ..options()
    };
    let v2_desk = desk_with(&v2_proxy.url, small.clone()).await;
    let v1_desk = desk_with(&v1_proxy.url, small).await;
    assert!(
        v2_desk
            .engine
            .connect()
            .await
            .expect("connect")
            .v2_reference_lists
    );
    assert!(
        !v1_desk
            .engine
            .connect()
            .await
            .expect("connect")
            .v2_reference_lists
    );
    v2_desk.engine.first_sync().await.expect("first sync by v2");
    v1_desk.engine.first_sync().await.expect("first sync by v1");

    let reader = client_as(&server.url(), RECEPTION);
    let locations = reader
        .clinic()
        .locations()
        .await
        .expect("locations")
        .locations;
    let types = reader
        .clinic()
        .appointment_types()
        .await
        .expect("types")
        .appointment_types;
    let providers = reader
        .clinic()
        .providers(&practice_studio::client::ProviderQuery::new().limit(100))
        .await
        .expect("providers")
        .providers;
    assert!(locations.len() >= 2 && providers.len() >= 3 && types.len() >= 3);
    let (v2_locations, v2_providers, v2_types) = cached_references(&v2_desk.engine).await;
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(
        sorted(v2_locations.iter().map(|l| l.id.0.clone()).collect()),
        sorted(locations.iter().map(|l| l.id.0.clone()).collect())
    );
    assert_eq!(
        sorted(v2_providers.iter().map(|p| p.id.0.clone()).collect()),
        sorted(providers.iter().map(|p| p.id.0.clone()).collect())
    );
    assert_eq!(
        sorted(v2_types.iter().map(|t| t.name.clone()).collect()),
        sorted(types.iter().map(|t| t.name.clone()).collect())
    );
    assert_eq!(
        cached_references(&v2_desk.engine).await,
        cached_references(&v1_desk.engine).await,
        "the same reference data either way"
    );

    // By cursor: a page of two after another, and nothing of them through v1.
    for (list, count) in [
        ("/api/v2/locations", locations.len()),
        ("/api/v2/providers", providers.len()),
        ("/api/v2/appointment-types", types.len()),
    ] {
        let pages = asked(&v2_proxy, "GET", list);
        assert_eq!(pages.len(), count.div_ceil(2).max(1), "{list}: {pages:?}");
        assert!(
            pages[1..].iter().all(|p| p.contains("cursor=")),
            "{pages:?}"
        );
        assert!(pages.iter().all(|p| p.contains("limit=2")), "{pages:?}");
    }
    for list in [
        "/api/v1/locations",
        "/api/v1/providers?",
        "/api/v1/appointment-types",
    ] {
        assert!(asked(&v2_proxy, "GET", list).is_empty(), "{list}");
        assert!(!asked(&v1_proxy, "GET", list).is_empty(), "{list}");
    }

    // A refresh reads them again the same way and brings a change to both desks.
    let admin = client_as(&server.url(), "admin@demo.clinic");
    let renamed = admin
        .clinic()
        .update_location(
            &LocationId("LOC-789".into()),
            &json!({"name": "Main Clinic (renamed)"}),
        )
        .await
        .expect("renamed");
    let before = asked(&v2_proxy, "GET", "/api/v2/locations").len();
    v2_desk.engine.poll_once().await.expect("poll by v2");
    v1_desk.engine.poll_once().await.expect("poll by v1");
    assert!(asked(&v2_proxy, "GET", "/api/v2/locations").len() > before);
    assert!(asked(&v2_proxy, "GET", "/api/v1/locations").is_empty());
    for desk in [&v2_desk, &v1_desk] {
        let (cached, _, _) = cached_references(&desk.engine).await;
        let main = cached.iter().find(|l| l.id.0 == "LOC-789").expect("cached");
        assert_eq!(main, &renamed);
    }
}
