//! The sync engine against the real Practice Studio server on loopback: first sync (and its
//! resumption), polling, and every outcome of a queued write.

mod support;

use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::{
    Collection, Connectivity, PinnedDayClock, SyncEngine, SyncEvent, SyncOptions,
};
use frontdesk_store::{ConflictKind, EntityKind, OutboxState};
use practice_studio::client::{Auth, Client, Priority};
use practice_studio::model::{Patient, PatientId};
use serde_json::{json, Map, Value};
use support::*;
use tokio::sync::broadcast;

fn patch(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("a patch is an object"),
    }
}

/// The events received so far.
fn drain_events(events: &mut broadcast::Receiver<SyncEvent>) -> Vec<SyncEvent> {
    let mut out = Vec::new();
    while let Ok(event) = events.try_recv() {
        out.push(event);
    }
    out
}

async fn patients_named(client: &Client, last: &str) -> Vec<Patient> {
    server_patients(client)
        .await
        .into_iter()
        .filter(|p| p.last_name == last)
        .collect()
}

async fn first_patient(client: &Client) -> Patient {
    server_patients(client).await.remove(0)
}

// ---------------------------------------------------------------------------------------------
// First sync

#[tokio::test]
async fn first_sync_caches_every_collection_and_reports_progress() {
    let server = server(60).await;
    let desk = desk(&server.url()).await;
    let mut events = desk.engine.subscribe();
    desk.engine.first_sync().await.expect("first sync");

    let reader = client_as(&server.url(), RECEPTION);
    assert_cache_equals_server(desk.engine.store(), &reader).await;
    let store = desk.engine.store();
    let locations = reader.clinic().locations().await.expect("locations");
    assert_eq!(
        store.locations().await.expect("cached"),
        locations.locations
    );
    let types = reader.clinic().appointment_types().await.expect("types");
    assert_eq!(
        store.appointment_types().await.expect("cached"),
        types.appointment_types
    );
    let providers = server_providers(&reader).await;
    // The same providers (the list's order depends on its filters, so compare by id).
    let mut cached = store.providers().await.expect("cached");
    cached.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(cached, providers);

    let events = drain_events(&mut events);
    let progress: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            SyncEvent::Progress {
                collection: Collection::Patients,
                done,
                total,
                ..
            } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    // 60 patients in pages of 25: 25, 50, 60.
    assert_eq!(progress, vec![(25, 60), (50, 60), (60, 60)]);
    assert!(events.contains(&SyncEvent::FirstSyncDone));
    let status = desk.engine.status().await.expect("status");
    assert!(status.first_sync_done);
    assert_eq!(status.connectivity, Connectivity::Online);
    assert!(status.last_sync.is_some());
}

async fn server_providers(client: &Client) -> Vec<practice_studio::model::Provider> {
    let page = client
        .clinic()
        .providers(&practice_studio::client::ProviderQuery::new().limit(100))
        .await
        .expect("providers");
    let mut providers = page.providers;
    providers.sort_by(|a, b| a.id.cmp(&b.id));
    providers
}

#[tokio::test]
async fn first_sync_killed_between_pages_resumes_with_no_duplicate_and_no_gap_while_others_write() {
    let server = server(300).await;
    let url = server.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let other = client_as(&url, RECEPTION);
    let mut runs = 0;
    let mut resumed_at = Vec::new();
    loop {
        runs += 1;
        assert!(runs < 40, "first sync never finished");
        // A fresh engine on the same files each time, as after a restart.
        let engine = engine_on(&dir, client_as(&url, RECEPTION), options()).await;
        let mut events = engine.subscribe();
        let task = {
            let engine = engine.clone();
            tokio::spawn(async move { engine.first_sync().await })
        };
        // Let two pages of patients commit, then kill it wherever it is.
        let mut pages = 0;
        let mut first_done = None;
        let finished = loop {
            match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
                Ok(Ok(SyncEvent::Progress {
                    collection: Collection::Patients,
                    done,
                    ..
                })) => {
                    first_done.get_or_insert(done);
                    pages += 1;
                    if pages == 2 {
                        break false;
                    }
                }
                Ok(Ok(SyncEvent::FirstSyncDone)) => break true,
                Ok(Ok(_)) => {}
                other => panic!("first sync stalled: {other:?}"),
            }
        };
        task.abort();
        let _ = task.await;
        if let Some(done) = first_done {
            resumed_at.push(done);
        }
        // Meanwhile another desk registers patients and edits some already paged.
        for i in 0..3 {
            other
                .patients()
                .create(&new_patient("Ines", &format!("Insert{runs}x{i}")))
                .await
                .expect("create elsewhere");
        }
        let some = first_patient(&other).await;
        other
            .patients()
            .update(
                &some.id,
                &json!({ "preferredLanguage": format!("run {runs}") }),
            )
            .await
            .expect("update elsewhere");
        if finished {
            break;
        }
    }
    assert!(runs > 3, "the sync was interrupted only {runs} times");
    // Each restart went on from where the last one stopped, never from the start.
    assert!(
        resumed_at.windows(2).all(|w| w[1] > w[0]),
        "progress went back: {resumed_at:?}"
    );
    let engine = engine_on(&dir, client_as(&url, RECEPTION), options()).await;
    engine.first_sync().await.expect("already complete");
    engine.poll_once().await.expect("poll");
    assert_cache_equals_server(engine.store(), &other).await;
}

// ---------------------------------------------------------------------------------------------
// Staying fresh

#[tokio::test]
async fn polling_applies_changes_made_elsewhere_once_and_announces_them() {
    let server = server(30).await;
    let desk = desk(&server.url()).await;
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let edited = first_patient(&other).await;
    other
        .patients()
        .update(&edited.id, &json!({ "preferredLanguage": "Portuguese" }))
        .await
        .expect("update elsewhere");
    let created = other
        .patients()
        .create(&new_patient("Nora", "Newcomer"))
        .await
        .expect("create elsewhere");

    let mut events = desk.engine.subscribe();
    let changed = desk.engine.poll_once().await.expect("poll");
    assert_eq!(changed, 2);
    let mut ids: Vec<String> = drain_events(&mut events)
        .into_iter()
        .flat_map(|e| match e {
            SyncEvent::Changed {
                collection: Collection::Patients,
                ids,
            } => ids,
            _ => Vec::new(),
        })
        .collect();
    ids.sort();
    let mut expected = vec![edited.id.to_string(), created.id.to_string()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_cache_equals_server(desk.engine.store(), &other).await;

    // The overlap re-reads the same versions: nothing changes, nothing is announced.
    assert_eq!(desk.engine.poll_once().await.expect("poll again"), 0);
    assert!(drain_events(&mut events).is_empty());
}

#[tokio::test]
async fn polling_pages_through_more_changes_than_one_page() {
    let server = server(10).await;
    let desk = desk(&server.url()).await;
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    for i in 0..60 {
        other
            .patients()
            .create(&new_patient("Paula", &format!("Pager{i}")))
            .await
            .expect("create elsewhere");
    }
    assert_eq!(desk.engine.poll_once().await.expect("poll"), 60);
    assert_cache_equals_server(desk.engine.store(), &other).await;
}

// ---------------------------------------------------------------------------------------------
// Writes: 2xx

#[tokio::test]
async fn a_registration_is_cached_at_once_and_replaced_by_the_servers_patient_when_accepted() {
    let server = server(5).await;
    let desk = desk(&server.url()).await;
    let store = desk.engine.store().clone();
    let pending = desk
        .engine
        .register_patient(RECEPTION, &new_patient("Olga", "Offline"))
        .await
        .expect("queued");
    let local = PatientId(pending.patient_id.clone());
    assert!(local.as_str().starts_with("local-"));
    assert_eq!(
        store.patient_pending(&local).await.expect("flag"),
        Some(true)
    );
    assert_eq!(
        store.search_patients("olga offl", 5).await.expect("search")[0].id,
        local
    );
    assert_eq!(desk.engine.status().await.expect("status").pending, 1);

    let mut events = desk.engine.subscribe();
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!(report.sent, 1);
    let reader = client_as(&server.url(), RECEPTION);
    let on_server = patients_named(&reader, "Offline").await;
    assert_eq!(on_server.len(), 1, "registered exactly once");
    let server_id = on_server[0].id.clone();
    assert!(
        drain_events(&mut events).contains(&SyncEvent::WriteAccepted {
            seq: pending.seq,
            entity_id: server_id.to_string(),
            local_id: Some(local.to_string()),
        })
    );
    assert_eq!(store.patient(&local).await.expect("read"), None);
    assert_eq!(
        store.patient(&server_id).await.expect("read").as_ref(),
        Some(&on_server[0])
    );
    assert_eq!(
        store.patient_pending(&server_id).await.expect("flag"),
        Some(false)
    );
    assert_eq!(
        store
            .mapped_id(EntityKind::Patient, local.as_str())
            .await
            .expect("map"),
        Some(server_id.to_string())
    );
    assert_eq!(desk.engine.status().await.expect("status").pending, 0);
}

#[tokio::test]
async fn chained_changes_take_if_match_from_the_previous_answer_and_wait_for_the_registration() {
    let server = server(5).await;
    let desk = desk(&server.url()).await;
    desk.engine.first_sync().await.expect("first sync");
    let engine = &desk.engine;
    // Offline: register, then change the new patient twice (by its local id), and change an
    // existing patient twice.
    let registered = engine
        .register_patient(RECEPTION, &new_patient("Cora", "Chain"))
        .await
        .expect("queued");
    let local = PatientId(registered.patient_id.clone());
    engine
        .update_patient(
            RECEPTION,
            &local,
            &patch(json!({ "preferredLanguage": "Welsh" })),
        )
        .await
        .expect("queued");
    engine
        .update_patient(
            RECEPTION,
            &local,
            &patch(json!({ "contactInfo": { "phone": "555-987-6543" } })),
        )
        .await
        .expect("queued");
    let existing = first_patient(&client_as(&server.url(), RECEPTION)).await;
    engine
        .update_patient(
            RECEPTION,
            &existing.id,
            &patch(json!({ "preferredLanguage": "Gaelic" })),
        )
        .await
        .expect("queued");
    engine
        .update_patient(
            RECEPTION,
            &existing.id,
            &patch(json!({ "preferredLanguage": "Basque" })),
        )
        .await
        .expect("queued");
    // Waiting for the registration, the later changes keep showing on the local row.
    let shown = engine
        .store()
        .patient(&local)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(shown.preferred_language.as_deref(), Some("Welsh"));
    assert_eq!(shown.contact_info.phone.as_deref(), Some("555-987-6543"));

    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (5, 0, 0));
    let reader = client_as(&server.url(), RECEPTION);
    let cora = patients_named(&reader, "Chain").await;
    assert_eq!(cora.len(), 1);
    assert_eq!(cora[0].version, 3);
    assert_eq!(cora[0].preferred_language.as_deref(), Some("Welsh"));
    assert_eq!(cora[0].contact_info.phone.as_deref(), Some("555-987-6543"));
    let existing_now = reader.patients().get(&existing.id).await.expect("get");
    assert_eq!(existing_now.version, existing.version + 2);
    assert_eq!(existing_now.preferred_language.as_deref(), Some("Basque"));
    assert!(engine
        .store()
        .conflicts()
        .await
        .expect("conflicts")
        .is_empty());
    assert_cache_equals_server(engine.store(), &reader).await;
}

// ---------------------------------------------------------------------------------------------
// Writes: retried outcomes

/// Registers a patient through the proxy with `fault` on the first send: the first drain leaves
/// it pending, a later one (after the back-off) sends it again with the same key, and the
/// server ends with exactly one patient.
async fn retried_after(fault: Fault, last_name: &str) {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    let engine = &desk.engine;
    proxy.push(fault);
    engine
        .register_patient(RECEPTION, &new_patient("Rhea", last_name))
        .await
        .expect("queued");
    let first = engine.drain_outbox().await.expect("drain");
    assert_eq!((first.sent, first.refused, first.waiting), (0, 0, 1));
    assert!(first.next_retry_in.is_some(), "a back-off is scheduled");
    let entry = engine
        .store()
        .pending_writes(10)
        .await
        .expect("pending")
        .remove(0);
    assert_eq!(entry.attempts, 1);
    drain_until(engine, "the retry to be accepted", NothingPending).await;

    let reader = client_as(&server.url(), RECEPTION);
    assert_eq!(
        patients_named(&reader, last_name).await.len(),
        1,
        "exactly once"
    );
    let writes = proxy.writes();
    assert!(writes.len() >= 2, "sent again: {writes:?}");
    assert!(
        writes
            .iter()
            .all(|w| w.2.as_deref() == Some(entry.idempotency_key.as_str())),
        "every send carries the entry's key: {writes:?}"
    );
    assert!(engine
        .store()
        .conflicts()
        .await
        .expect("conflicts")
        .is_empty());
}

#[tokio::test]
async fn a_write_with_no_answer_is_retried_with_the_same_key() {
    retried_after(Fault::Drop, "Dropped").await;
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_after_the_server_acted_is_applied_once() {
    retried_after(Fault::LoseResponse, "Lost").await;
}

#[tokio::test]
async fn a_rate_limited_write_is_retried() {
    retried_after(
        Fault::Status {
            status: 429,
            retry_after: None,
            field: None,
        },
        "Limited",
    )
    .await;
}

#[tokio::test]
async fn a_write_answered_502_503_or_504_is_retried() {
    for (status, name) in [(502, "Gateway"), (503, "Unavailable"), (504, "Timeout")] {
        retried_after(
            Fault::Status {
                status,
                retry_after: None,
                field: None,
            },
            name,
        )
        .await;
    }
}

/// Fake: the server answers "key in use" only while the first request with the key is still
/// running, which a test cannot hold open; the proxy answers as the server does then.
#[tokio::test]
async fn a_write_whose_key_is_still_in_use_is_retried() {
    retried_after(
        Fault::Status {
            status: 409,
            retry_after: None,
            field: Some("Idempotency-Key"),
        },
        "Inuse",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Writes: 401

#[tokio::test]
async fn a_refused_credential_pauses_the_authors_writes_and_asks_for_sign_in() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    let wrong = Client::builder(server.url())
        .auth(Auth::api_key("not-a-key"))
        .no_proxy()
        .build()
        .expect("client");
    engine.sign_in_author(RECEPTION, wrong).await;
    let mut events = engine.subscribe();
    engine
        .register_patient(RECEPTION, &new_patient("Sam", "Signin"))
        .await
        .expect("queued");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (0, 0, 1));
    assert!(
        drain_events(&mut events).contains(&SyncEvent::SignInNeeded {
            author: RECEPTION.to_owned()
        })
    );
    let status = engine.status().await.expect("status");
    assert_eq!(status.sign_in_needed, vec![RECEPTION.to_owned()]);
    assert_eq!(status.pending, 1);
    assert_eq!(status.conflicts, 0);
    // Paused: nothing is sent until the author signs in again.
    let again = engine.drain_outbox().await.expect("drain");
    assert_eq!(again.sent, 0);

    engine
        .sign_in_author(RECEPTION, client_as(&server.url(), RECEPTION))
        .await;
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!(report.sent, 1);
    let reader = client_as(&server.url(), RECEPTION);
    assert_eq!(patients_named(&reader, "Signin").await.len(), 1);
    assert!(engine
        .status()
        .await
        .expect("status")
        .sign_in_needed
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// Writes: refused outcomes go to the conflict list

async fn only_conflict(engine: &SyncEngine) -> frontdesk_store::Conflict {
    let mut conflicts = engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let conflict = conflicts.remove(0);
    assert_eq!(conflict.entry.state, OutboxState::Conflict);
    assert_eq!(engine.store().pending_count().await.expect("count"), 0);
    conflict
}

#[tokio::test]
async fn a_write_the_authors_role_may_not_make_goes_to_the_conflict_list() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine
        .sign_in_author(BILLING, client_as(&server.url(), BILLING))
        .await;
    engine
        .register_patient(BILLING, &new_patient("Bill", "Forbidden"))
        .await
        .expect("queued");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!(report.refused, 1);
    let conflict = only_conflict(engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Forbidden);
    assert_eq!(conflict.refusal.server_status, Some(403));
    assert_eq!(conflict.refusal.message, "your role can't do this");
    assert_eq!(conflict.entry.author, BILLING);
    // The API answered; the refusal says nothing about the link.
    assert_eq!(
        engine.status().await.expect("status").connectivity,
        Connectivity::Online
    );
    let reader = client_as(&server.url(), RECEPTION);
    assert!(patients_named(&reader, "Forbidden").await.is_empty());
}

#[tokio::test]
async fn a_change_to_a_patient_the_server_does_not_have_goes_to_the_conflict_list_as_deleted() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    // A patient this desk cached that the server no longer has.
    let reader = client_as(&server.url(), RECEPTION);
    let mut ghost = first_patient(&reader).await;
    ghost.id = PatientId("PAT-99999999".to_owned());
    engine
        .store()
        .apply_remote_patients(&[ghost.clone()], None)
        .await
        .expect("cached");
    engine
        .update_patient(
            RECEPTION,
            &ghost.id,
            &patch(json!({ "preferredLanguage": "Latin" })),
        )
        .await
        .expect("queued");
    engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Gone);
    assert_eq!(conflict.refusal.server_status, Some(404));
    assert_eq!(conflict.refusal.message, "deleted elsewhere");
}

/// Fake: the server has no route that deletes a patient, so nothing real answers 410 to a
/// change; the proxy answers as a server that had deleted it would.
#[tokio::test]
async fn a_change_answered_gone_goes_to_the_conflict_list_as_deleted() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    desk.engine.first_sync().await.expect("first sync");
    let existing = first_patient(&client_as(&server.url(), RECEPTION)).await;
    proxy.push(Fault::Status {
        status: 410,
        retry_after: None,
        field: None,
    });
    desk.engine
        .update_patient(
            RECEPTION,
            &existing.id,
            &patch(json!({ "preferredLanguage": "Latin" })),
        )
        .await
        .expect("queued");
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Gone);
    assert_eq!(conflict.refusal.server_status, Some(410));
}

#[tokio::test]
async fn a_stale_change_goes_to_the_conflict_list_with_the_servers_current_patient() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let patient = first_patient(&other).await;
    engine
        .update_patient(
            RECEPTION,
            &patient.id,
            &patch(json!({ "preferredLanguage": "Ours" })),
        )
        .await
        .expect("queued");
    other
        .patients()
        .update(&patient.id, &json!({ "preferredLanguage": "Theirs" }))
        .if_match(patient.version)
        .await
        .expect("changed elsewhere first");
    engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Clash);
    assert_eq!(conflict.refusal.server_status, Some(409));
    let body = conflict.refusal.server_body.expect("server body");
    assert_eq!(body["current"]["preferredLanguage"], "Theirs");
    assert_eq!(body["current"]["version"], patient.version + 1);
    assert_eq!(conflict.entry.payload["preferredLanguage"], "Ours");
    assert_eq!(conflict.entry.base_version, Some(patient.version));
    // The desk keeps showing our change (pending) until a person resolves the conflict.
    assert_eq!(
        engine
            .store()
            .patient_pending(&patient.id)
            .await
            .expect("flag"),
        Some(true)
    );
}

/// Fake: a patient change cannot clash with anything but its version on this server (there is
/// no duplicate check on registration), so the proxy answers the business 409 appointments
/// will get.
#[tokio::test]
async fn a_clashing_change_goes_to_the_conflict_list() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    proxy.push(Fault::Status {
        status: 409,
        retry_after: None,
        field: None,
    });
    desk.engine
        .register_patient(RECEPTION, &new_patient("Cleo", "Clash"))
        .await
        .expect("queued");
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Clash);
}

#[tokio::test]
async fn a_change_the_servers_validation_refuses_goes_to_the_conflict_list_with_its_details() {
    let server = server(1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The desk's clock is a day ahead of the server's: a birth date of the server's today
    // passes the desk's check (yesterday) and fails the server's (not in the past).
    let store = open_store(&dir).await;
    let tuesday = monday().succ_opt().expect("tuesday");
    let engine = SyncEngine::new(store, Arc::new(PinnedDayClock::new(tuesday)), options());
    engine
        .sign_in_author(RECEPTION, client_as(&server.url(), RECEPTION))
        .await;
    let mut patient = new_patient("Vera", "Validation");
    patient.date_of_birth = monday().to_string();
    engine
        .register_patient(RECEPTION, &patient)
        .await
        .expect("valid on the desk");
    engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Invalid);
    assert_eq!(conflict.refusal.server_status, Some(400));
    let body = conflict.refusal.server_body.expect("details");
    assert_eq!(body["details"][0]["field"], "dateOfBirth");
}

#[tokio::test]
async fn a_write_whose_key_was_used_for_another_request_goes_to_the_conflict_list() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine
        .register_patient(RECEPTION, &new_patient("Kim", "Keyed"))
        .await
        .expect("queued");
    let entry = engine
        .store()
        .pending_writes(1)
        .await
        .expect("pending")
        .remove(0);
    // The same user sends another registration under the entry's key first.
    client_as(&server.url(), RECEPTION)
        .patients()
        .create(&new_patient("Other", "Body"))
        .idempotency_key(entry.idempotency_key.clone())
        .await
        .expect("the other request");
    engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Invalid);
    assert_eq!(conflict.refusal.server_status, Some(422));
    let reader = client_as(&server.url(), RECEPTION);
    assert!(patients_named(&reader, "Keyed").await.is_empty());
}

#[tokio::test]
async fn an_unreadable_answer_is_resent_with_the_same_key_and_the_server_replays_it() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    proxy.push(Fault::Truncate);
    desk.engine
        .register_patient(RECEPTION, &new_patient("Tess", "Truncated"))
        .await
        .expect("queued");
    let report = desk.engine.drain_outbox().await.expect("drain");
    assert_eq!(report.sent, 1);
    let writes = proxy.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0].2, writes[1].2, "the same key");
    let reader = client_as(&server.url(), RECEPTION);
    let on_server = patients_named(&reader, "Truncated").await;
    assert_eq!(on_server.len(), 1);
    assert_eq!(
        desk.engine
            .store()
            .patient(&on_server[0].id)
            .await
            .expect("read")
            .as_ref(),
        Some(&on_server[0])
    );
}

#[tokio::test]
async fn a_cut_off_answer_is_resent_with_the_same_key_and_applied_once() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    proxy.push(Fault::CutOff);
    desk.engine
        .register_patient(RECEPTION, &new_patient("Cato", "Cutoff"))
        .await
        .expect("queued");
    drain_until(&desk.engine, "the resend to be accepted", NothingPending).await;
    let writes = proxy.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[0].2, writes[1].2, "the same key");
    let reader = client_as(&server.url(), RECEPTION);
    let on_server = patients_named(&reader, "Cutoff").await;
    assert_eq!(on_server.len(), 1);
    assert_eq!(
        desk.engine
            .store()
            .patient(&on_server[0].id)
            .await
            .expect("read")
            .as_ref(),
        Some(&on_server[0])
    );
}

#[tokio::test]
async fn an_answer_that_stays_unreadable_goes_to_the_conflict_list() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    proxy.always(Some(Fault::Truncate));
    desk.engine
        .register_patient(RECEPTION, &new_patient("Ugo", "Unreadable"))
        .await
        .expect("queued");
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Other);
    // The first send plus the configured resends, all with one key; the server acted once.
    let writes = proxy.writes();
    assert_eq!(
        writes.len(),
        1 + options().unreadable_answer_resends as usize
    );
    let reader = client_as(&server.url(), RECEPTION);
    assert_eq!(patients_named(&reader, "Unreadable").await.len(), 1);
}

/// Fake: the server answers 500 only when it breaks; the proxy answers as it would.
#[tokio::test]
async fn any_other_status_goes_to_the_conflict_list() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    proxy.push(Fault::Status {
        status: 500,
        retry_after: None,
        field: None,
    });
    desk.engine
        .register_patient(RECEPTION, &new_patient("Otto", "Other"))
        .await
        .expect("queued");
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Other);
    assert_eq!(conflict.refusal.server_status, Some(500));
}

#[tokio::test]
async fn an_entry_older_than_the_servers_key_retention_is_not_resent() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk_with(
        &proxy.url,
        SyncOptions {
            key_retention: chrono::Duration::zero(),
            ..options()
        },
    )
    .await;
    desk.engine
        .register_patient(RECEPTION, &new_patient("Olaf", "Old"))
        .await
        .expect("queued");
    tokio::time::sleep(Duration::from_millis(5)).await;
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    assert_eq!(conflict.refusal.kind, ConflictKind::Other);
    assert!(proxy.writes().is_empty(), "nothing was sent");
}

// ---------------------------------------------------------------------------------------------
// Blocking

#[tokio::test]
async fn a_refused_entry_holds_back_its_entitys_later_changes_and_nothing_else() {
    let server = server(2).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let all = server_patients(&other).await;
    let (a, b) = (&all[0], &all[1]);
    engine
        .update_patient(
            RECEPTION,
            &a.id,
            &patch(json!({ "preferredLanguage": "A1" })),
        )
        .await
        .expect("queued");
    engine
        .update_patient(
            RECEPTION,
            &a.id,
            &patch(json!({ "preferredLanguage": "A2" })),
        )
        .await
        .expect("queued");
    engine
        .update_patient(
            RECEPTION,
            &b.id,
            &patch(json!({ "preferredLanguage": "B1" })),
        )
        .await
        .expect("queued");
    other
        .patients()
        .update(&a.id, &json!({ "preferredLanguage": "Elsewhere" }))
        .if_match(a.version)
        .await
        .expect("changed elsewhere");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (1, 1, 1));
    let pending = engine.store().pending_writes(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload["preferredLanguage"], "A2");
    let b_now = other
        .patients()
        .get(&b.id)
        .priority(Priority::Interactive)
        .await
        .expect("b");
    assert_eq!(b_now.preferred_language.as_deref(), Some("B1"));
    let status = engine.status().await.expect("status");
    assert_eq!((status.pending, status.conflicts), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// Status

#[tokio::test]
async fn status_shows_offline_with_writes_pending_and_online_after_they_are_sent() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    let engine = &desk.engine;
    assert_eq!(
        engine.status().await.expect("status").connectivity,
        Connectivity::Unknown
    );
    proxy.push(Fault::Drop);
    engine
        .register_patient(RECEPTION, &new_patient("Stan", "Status"))
        .await
        .expect("queued");
    engine.drain_outbox().await.expect("drain");
    let status = engine.status().await.expect("status");
    assert_eq!(status.connectivity, Connectivity::Offline);
    assert_eq!((status.pending, status.conflicts), (1, 0));

    proxy.push(Fault::Status {
        status: 503,
        retry_after: None,
        field: None,
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    engine.drain_outbox().await.expect("drain");
    assert_eq!(
        engine.status().await.expect("status").connectivity,
        Connectivity::Degraded
    );

    drain_until(engine, "the write to be sent", NothingPending).await;
    let status = engine.status().await.expect("status");
    assert_eq!(status.connectivity, Connectivity::Online);
    assert_eq!((status.pending, status.conflicts), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Background tasks

async fn wait_for(
    events: &mut broadcast::Receiver<SyncEvent>,
    what: &str,
    wanted: impl Fn(&SyncEvent) -> bool,
) -> SyncEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) if wanted(&event) => return event,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no {what}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_background_tasks_sync_send_queued_writes_and_pick_up_changes_made_elsewhere() {
    let server = server(20).await;
    let desk = desk_with(
        &server.url(),
        SyncOptions {
            poll_every: Duration::from_millis(50),
            ..options()
        },
    )
    .await;
    let engine = &desk.engine;
    let mut events = engine.subscribe();
    let tasks = engine.start();
    wait_for(&mut events, "first sync", |e| {
        e == &SyncEvent::FirstSyncDone
    })
    .await;

    let pending = engine
        .register_patient(RECEPTION, &new_patient("Bea", "Background"))
        .await
        .expect("queued");
    let accepted = wait_for(
        &mut events,
        "the registration accepted",
        |e| matches!(e, SyncEvent::WriteAccepted { seq, .. } if *seq == pending.seq),
    )
    .await;
    let SyncEvent::WriteAccepted { entity_id, .. } = accepted else {
        unreachable!("matched above")
    };

    let other = client_as(&server.url(), RECEPTION);
    let theirs = other
        .patients()
        .create(&new_patient("Elle", "Elsewhere"))
        .await
        .expect("created elsewhere");
    let wanted = theirs.id.to_string();
    wait_for(&mut events, "the change from elsewhere", |e| {
        matches!(e, SyncEvent::Changed { collection: Collection::Patients, ids } if ids.contains(&wanted))
    })
    .await;
    drop(tasks);
    let store = engine.store();
    assert!(store
        .patient(&PatientId(entity_id))
        .await
        .expect("read")
        .is_some());
    assert_cache_equals_server(store, &other).await;
    let status = engine.status().await.expect("status");
    assert!(status.first_sync_done);
    assert_eq!((status.pending, status.conflicts), (0, 0));
    assert_eq!(status.connectivity, Connectivity::Online);
}

// ---------------------------------------------------------------------------------------------
// Resolving conflicts

/// A desk whose change to an existing patient was refused as stale: (desk, patient as it was,
/// conflict id). The server now has the patient at the next version with "Theirs".
async fn stale_conflict(url: &str) -> (Desk, Patient, i64) {
    let desk = desk(url).await;
    desk.engine.first_sync().await.expect("first sync");
    let other = client_as(url, RECEPTION);
    let patient = first_patient(&other).await;
    desk.engine
        .update_patient(
            RECEPTION,
            &patient.id,
            &patch(json!({ "preferredLanguage": "Ours" })),
        )
        .await
        .expect("queued");
    other
        .patients()
        .update(&patient.id, &json!({ "preferredLanguage": "Theirs" }))
        .if_match(patient.version)
        .await
        .expect("changed elsewhere first");
    desk.engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict(&desk.engine).await;
    (desk, patient, conflict.id)
}

#[tokio::test]
async fn taking_theirs_shows_the_servers_patient_and_clears_the_conflict() {
    let server = server(1).await;
    let (desk, patient, conflict) = stale_conflict(&server.url()).await;
    let engine = &desk.engine;
    engine
        .take_theirs(conflict, RECEPTION)
        .await
        .expect("resolved");
    let reader = client_as(&server.url(), RECEPTION);
    let theirs = reader.patients().get(&patient.id).await.expect("get");
    let store = engine.store();
    assert_eq!(
        store.patient(&patient.id).await.expect("read"),
        Some(theirs.clone())
    );
    assert_eq!(
        store.patient_pending(&patient.id).await.expect("flag"),
        Some(false)
    );
    assert!(store.conflicts().await.expect("conflicts").is_empty());
    assert_eq!(engine.status().await.expect("status").conflicts, 0);
    assert!(matches!(
        engine.take_theirs(conflict, RECEPTION).await,
        Err(frontdesk_core::ResolveError::NotOpen(id)) if id == conflict
    ));
    // The patient is no longer held back: a new change goes through on their version.
    engine
        .update_patient(
            RECEPTION,
            &patient.id,
            &patch(json!({ "preferredLanguage": "Later" })),
        )
        .await
        .expect("queued");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (1, 0));
    let now = reader.patients().get(&patient.id).await.expect("get");
    assert_eq!(now.version, theirs.version + 1);
}

#[tokio::test]
async fn a_retried_change_is_sent_on_the_servers_current_version() {
    let server = server(1).await;
    let (desk, patient, conflict) = stale_conflict(&server.url()).await;
    let engine = &desk.engine;
    let pending = engine
        .retry_change(conflict, RECEPTION, None)
        .await
        .expect("queued again");
    assert_eq!(pending.patient.preferred_language.as_deref(), Some("Ours"));
    assert_eq!(
        engine
            .store()
            .patient_pending(&patient.id)
            .await
            .expect("flag"),
        Some(true)
    );
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (1, 0));
    let reader = client_as(&server.url(), RECEPTION);
    let now = reader.patients().get(&patient.id).await.expect("get");
    assert_eq!(now.preferred_language.as_deref(), Some("Ours"));
    assert_eq!(now.version, patient.version + 2);
    assert!(engine
        .store()
        .conflicts()
        .await
        .expect("conflicts")
        .is_empty());
    assert_cache_equals_server(engine.store(), &reader).await;
}

#[tokio::test]
async fn discarding_a_refused_registration_resolves_the_changes_queued_after_it() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine
        .sign_in_author(BILLING, client_as(&server.url(), BILLING))
        .await;
    let registered = engine
        .register_patient(BILLING, &new_patient("Dana", "Discard"))
        .await
        .expect("queued");
    let local = PatientId(registered.patient_id.clone());
    engine
        .update_patient(
            BILLING,
            &local,
            &patch(json!({ "preferredLanguage": "Irish" })),
        )
        .await
        .expect("queued");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (0, 1, 1));
    let conflict = only_conflict_of(engine).await;
    engine
        .discard_change(conflict, BILLING)
        .await
        .expect("discarded");
    let store = engine.store();
    assert_eq!(store.patient(&local).await.expect("read"), None);
    assert!(store.conflicts().await.expect("conflicts").is_empty());
    let status = engine.status().await.expect("status");
    assert_eq!((status.pending, status.conflicts), (0, 0));
    let reader = client_as(&server.url(), RECEPTION);
    assert!(patients_named(&reader, "Discard").await.is_empty());
}

/// The one open conflict's id (other entries may wait behind it).
async fn only_conflict_of(engine: &SyncEngine) -> i64 {
    let conflicts = engine.store().conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    conflicts[0].id
}

#[tokio::test]
async fn a_registration_refused_for_its_details_is_edited_and_sent_with_the_change_after_it() {
    let server = server(1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&dir).await;
    let tuesday = monday().succ_opt().expect("tuesday");
    let engine = SyncEngine::new(store, Arc::new(PinnedDayClock::new(tuesday)), options());
    engine
        .sign_in_author(RECEPTION, client_as(&server.url(), RECEPTION))
        .await;
    let mut patient = new_patient("Edda", "Edited");
    patient.date_of_birth = monday().to_string();
    let registered = engine
        .register_patient(RECEPTION, &patient)
        .await
        .expect("valid on the desk");
    let local = PatientId(registered.patient_id.clone());
    engine
        .update_patient(
            RECEPTION,
            &local,
            &patch(json!({ "preferredLanguage": "Norse" })),
        )
        .await
        .expect("queued");
    engine.drain_outbox().await.expect("drain");
    let conflict = only_conflict_of(&engine).await;
    patient.date_of_birth = "1970-01-01".to_owned();
    engine
        .retry_change(
            conflict,
            RECEPTION,
            Some(serde_json::to_value(&patient).expect("json")),
        )
        .await
        .expect("queued again");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (2, 0));
    let reader = client_as(&server.url(), RECEPTION);
    let edda = patients_named(&reader, "Edited").await;
    assert_eq!(edda.len(), 1);
    assert_eq!(edda[0].date_of_birth.to_string(), "1970-01-01");
    assert_eq!(edda[0].preferred_language.as_deref(), Some("Norse"));
    assert_eq!(edda[0].version, 2);
    assert_eq!(
        engine
            .store()
            .patient(&edda[0].id)
            .await
            .expect("read")
            .as_ref(),
        Some(&edda[0])
    );
    assert_eq!(engine.status().await.expect("status").conflicts, 0);
}

#[tokio::test]
async fn after_taking_theirs_the_change_waiting_behind_the_refused_one_is_sent_on_their_version() {
    let server = server(1).await;
    let desk = desk(&server.url()).await;
    let engine = &desk.engine;
    engine.first_sync().await.expect("first sync");
    let other = client_as(&server.url(), RECEPTION);
    let patient = first_patient(&other).await;
    for language in ["A1", "A2"] {
        engine
            .update_patient(
                RECEPTION,
                &patient.id,
                &patch(json!({ "preferredLanguage": language })),
            )
            .await
            .expect("queued");
    }
    other
        .patients()
        .update(&patient.id, &json!({ "preferredLanguage": "Theirs" }))
        .if_match(patient.version)
        .await
        .expect("changed elsewhere first");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused, report.waiting), (0, 1, 1));
    let conflict = only_conflict_of(engine).await;
    engine
        .take_theirs(conflict, RECEPTION)
        .await
        .expect("resolved");
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.refused), (1, 0));
    let now = other.patients().get(&patient.id).await.expect("get");
    assert_eq!(now.version, patient.version + 2);
    assert_eq!(now.preferred_language.as_deref(), Some("A2"));
    assert_cache_equals_server(engine.store(), &other).await;
}

#[tokio::test]
async fn with_the_api_out_of_reach_the_outbox_stops_at_the_first_failure_and_waits() {
    let server = server(1).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let desk = desk(&proxy.url).await;
    let engine = &desk.engine;
    for name in ["Reach", "Reachb", "Reachc"] {
        engine
            .register_patient(RECEPTION, &new_patient("Una", name))
            .await
            .expect("queued");
    }
    proxy.push(Fault::Drop);
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.waiting), (0, 3));
    let wait = report.next_retry_in.expect("a back-off");
    assert_eq!(proxy.writes().len(), 1, "one try, not one per entry");
    // Within the back-off nothing is tried at all.
    let again = engine.drain_outbox().await.expect("drain");
    assert_eq!(again.sent, 0);
    assert_eq!(proxy.writes().len(), 1);
    tokio::time::sleep(wait).await;
    let report = engine.drain_outbox().await.expect("drain");
    assert_eq!((report.sent, report.waiting), (3, 0));
}
