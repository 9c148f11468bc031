//! A state-machine property test of the outbox, id mapping and sync: random sequences of
//! registrations, patient changes, appointment moves (with their undo), the network going and
//! coming, answers lost after the server acted, the desk killed and reopened, changes made
//! elsewhere (which refuse ours), and people resolving conflicts — against the real server on
//! loopback. At the end, with the network back: nothing is lost (every change was applied by the
//! server or is on record as refused), nothing is applied twice (the server's versions count
//! exactly the changes it accepted), and the cache equals the server.
//!
//! Seeded (the same cases every run) and bounded: a fixed number of cases of at most 30 steps.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::{book, PinnedDayClock, SyncEngine, SyncOptions};
use frontdesk_store::{EntityKind, OutboxState};
use practice_studio::client::Client;
use practice_studio::model::{Appointment, AppointmentStatus, PatientId};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::json;
use support::*;

/// Over the whole run: changes the server accepted, conflicts people resolved, and resends
/// after a lost answer that the server replayed (so the test is known to have met each).
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
static RESOLVED: AtomicUsize = AtomicUsize::new(0);
/// (Keys the proxy saw more than once, one of them answered: resent with the same key.)
static REPLAYED: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone)]
enum Step {
    /// Register a new patient.
    Register,
    /// Change the `n`-th patient the desk knows (server patients first, then its own).
    Update(usize),
    /// Move the `n`-th watched appointment (scheduled → checked in, or back).
    Move(usize),
    /// Another client changes the `n`-th patient on the server (a pending change of ours to it
    /// is refused for its stale version).
    ChangeElsewhere(usize),
    /// The network goes, or comes back.
    Offline,
    Online,
    /// The next write reaches the server, and its answer is lost.
    LoseNextAnswer,
    /// One pass over the outbox.
    Drain,
    /// The desk is killed and started again on the same data directory.
    Restart,
    /// A person resolves the oldest open conflict: 0 discard, 1 take theirs, 2 retry.
    Resolve(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Register),
        4 => (0usize..5).prop_map(Step::Update),
        3 => (0usize..3).prop_map(Step::Move),
        3 => (0usize..5).prop_map(Step::ChangeElsewhere),
        2 => Just(Step::Offline),
        2 => Just(Step::Online),
        2 => Just(Step::LoseNextAnswer),
        4 => Just(Step::Drain),
        1 => Just(Step::Restart),
        2 => (0u8..3).prop_map(Step::Resolve),
    ]
}

fn sync_options() -> SyncOptions {
    SyncOptions {
        appointment_window: Some((1, 5)),
        ..options()
    }
}

struct World {
    proxy: FaultProxy,
    other: Client,
    dir: tempfile::TempDir,
    engine: SyncEngine,
    /// Patients the desk knows by the id it was given (server ids, then `local-…` ids).
    patients: Vec<String>,
    /// Appointments whose moves are followed, by id, with their version at the start.
    watched: Vec<(String, i64)>,
    /// Changes made elsewhere, by server patient id.
    elsewhere: BTreeMap<String, i64>,
    /// The outbox entries the desk queued.
    seqs: Vec<i64>,
    /// Versions of the server's patients at the start.
    initial: BTreeMap<String, i64>,
    registered: u32,
}

async fn open_engine(dir: &tempfile::TempDir, url: &str) -> SyncEngine {
    let store = open_store(dir).await;
    let engine = SyncEngine::new(
        store,
        Arc::new(PinnedDayClock::new(monday())),
        sync_options(),
    );
    engine.set_reader(Some(client_as(url, RECEPTION))).await;
    engine
        .sign_in_author(RECEPTION, client_as(url, RECEPTION))
        .await;
    engine
}

/// The server id of a patient the desk knows by `id`, once the server has it.
async fn server_id(engine: &SyncEngine, id: &str) -> Option<String> {
    if !id.starts_with(frontdesk_core::sync::LOCAL_PATIENT_PREFIX) {
        return Some(id.to_owned());
    }
    engine
        .store()
        .mapped_id(EntityKind::Patient, id)
        .await
        .expect("map")
}

impl World {
    async fn step(&mut self, step: &Step) {
        match step {
            Step::Register => {
                self.registered += 1;
                let last = format!("Model{}", self.registered);
                let written = self
                    .engine
                    .register_patient(RECEPTION, &new_patient("Prop", &last))
                    .await
                    .expect("a valid registration is queued");
                self.seqs.push(written.seq);
                self.patients.push(written.patient_id);
            }
            Step::Update(n) => {
                let id = &self.patients[n % self.patients.len()];
                let mut patch = serde_json::Map::new();
                patch.insert(
                    "preferredLanguage".into(),
                    json!(format!("Lang{}", self.seqs.len())),
                );
                let written = self
                    .engine
                    .update_patient(RECEPTION, &PatientId(id.clone()), &patch)
                    .await;
                match written {
                    Ok(written) => self.seqs.push(written.seq),
                    // A discarded registration leaves nothing to change.
                    Err(frontdesk_core::WriteError::UnknownPatient(_)) => {}
                    Err(error) => panic!("update refused: {error}"),
                }
            }
            Step::Move(n) => {
                let (id, _) = &self.watched[n % self.watched.len()];
                let current: Appointment = self
                    .engine
                    .store()
                    .appointment(id)
                    .await
                    .expect("read")
                    .expect("watched appointments stay cached");
                let to = match current.status {
                    AppointmentStatus::Scheduled => AppointmentStatus::CheckedIn,
                    _ => AppointmentStatus::Scheduled,
                };
                let moved = book::set_status(&self.engine, RECEPTION, id, to)
                    .await
                    .expect("the move and its undo are allowed");
                self.seqs.push(moved.seq);
            }
            Step::ChangeElsewhere(n) => {
                let id = self.patients[n % self.patients.len()].clone();
                let Some(id) = server_id(&self.engine, &id).await else {
                    return;
                };
                let changed = self
                    .other
                    .patients()
                    .update(
                        &PatientId(id.clone()),
                        &json!({ "contactInfo": { "email": format!("elsewhere{}@example.org", self.seqs.len()) } }),
                    )
                    .await;
                match changed {
                    Ok(_) => *self.elsewhere.entry(id).or_default() += 1,
                    Err(practice_studio::client::Error::NotFound(_)) => {}
                    Err(error) => panic!("a change elsewhere failed: {error}"),
                }
            }
            Step::Offline => self.proxy.set_down(true),
            Step::Online => self.proxy.set_down(false),
            Step::LoseNextAnswer => self.proxy.push(Fault::LoseResponse),
            Step::Drain => {
                self.engine.drain_outbox().await.expect("drain");
            }
            Step::Restart => {
                let engine = open_engine(&self.dir, &self.proxy.url).await;
                self.engine = engine;
            }
            Step::Resolve(how) => {
                let conflicts = self.engine.store().conflicts().await.expect("conflicts");
                let Some(conflict) = conflicts.first() else {
                    return;
                };
                let id = conflict.id;
                let result = match how {
                    0 => self.engine.discard_change(id, RECEPTION).await,
                    1 => self.engine.take_theirs(id, RECEPTION).await,
                    _ => {
                        if conflict.entry.entity_kind == EntityKind::Patient {
                            self.engine
                                .retry_change(id, RECEPTION, None)
                                .await
                                .map(|_| ())
                        } else {
                            self.engine
                                .retry_other_change(id, RECEPTION, None)
                                .await
                                .map(|_| ())
                        }
                    }
                };
                match result {
                    Ok(()) => {
                        RESOLVED.fetch_add(1, Ordering::Relaxed);
                    }
                    // Offline, the server's copy may be out of reach; or a registration has no
                    // version of theirs: the conflict simply stays.
                    Err(frontdesk_core::ResolveError::ServerCopy(_))
                    | Err(frontdesk_core::ResolveError::NothingToTake)
                    | Err(frontdesk_core::ResolveError::CannotRetry) => {}
                    Err(error) => panic!("resolving failed: {error}"),
                }
            }
        }
    }

    /// Network back, every pending write sent, every conflict discarded, the cache refreshed.
    async fn settle(&mut self) {
        self.proxy.set_down(false);
        tokio::time::sleep(Duration::from_millis(150)).await;
        for _ in 0..20 {
            drain_until(&self.engine, "the outbox is sent", NothingPending).await;
            let conflicts = self.engine.store().conflicts().await.expect("conflicts");
            if conflicts.is_empty() {
                break;
            }
            for conflict in conflicts {
                self.engine
                    .discard_change(conflict.id, RECEPTION)
                    .await
                    .expect("discarded");
                RESOLVED.fetch_add(1, Ordering::Relaxed);
            }
        }
        assert_eq!(
            self.engine.store().pending_count().await.expect("pending"),
            0
        );
        assert_eq!(self.engine.store().conflict_count().await.expect("open"), 0);
        self.engine.poll_once().await.expect("poll");
    }
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let server = server(10).await;
    let proxy = FaultProxy::start(&server.url()).await;
    let other = client_as(&server.url(), RECEPTION);
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = open_engine(&dir, &proxy.url).await;
    engine.first_sync().await.expect("first sync");
    let initial: BTreeMap<String, i64> = server_patients(&other)
        .await
        .into_iter()
        .map(|p| (p.id.to_string(), p.version))
        .collect();
    let from = (monday() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("t")
        .and_utc();
    let watched: Vec<(String, i64)> = engine
        .store()
        .appointments_between(from, from + chrono::Duration::days(3))
        .await
        .expect("book")
        .into_iter()
        .filter(|a| a.status == AppointmentStatus::Scheduled)
        .take(3)
        .map(|a| (a.id.to_string(), a.version))
        .collect();
    prop_assert!(
        !watched.is_empty(),
        "the demo book has appointments to move"
    );
    let mut world = World {
        proxy,
        other,
        dir,
        engine,
        patients: initial.keys().cloned().collect(),
        watched,
        elsewhere: BTreeMap::new(),
        seqs: Vec::new(),
        initial,
        registered: 0,
    };
    for step in &steps {
        world.step(step).await;
    }
    world.settle().await;

    // Every change queued is on record as accepted, or as refused and resolved: none pending,
    // none lost. The accepted ones per entity (a registration's under its server id).
    let mut accepted: std::collections::HashMap<(EntityKind, String), i64> =
        std::collections::HashMap::new();
    let mut created: BTreeSet<String> = BTreeSet::new();
    for seq in &world.seqs {
        let entry = world
            .engine
            .store()
            .outbox_entry(*seq)
            .await
            .expect("read")
            .expect("no entry is ever deleted");
        prop_assert_ne!(entry.state, OutboxState::Pending);
        if entry.state == OutboxState::Sent {
            ACCEPTED.fetch_add(1, Ordering::Relaxed);
            if entry.operation == "create" {
                created.insert(entry.entity_id.clone());
            } else {
                *accepted
                    .entry((entry.entity_kind, entry.entity_id.clone()))
                    .or_default() += 1;
            }
        }
    }
    let on_server = server_patients(&world.other).await;
    // Registrations: each accepted one exactly once on the server, the others not at all.
    let model_names: Vec<&str> = on_server
        .iter()
        .filter(|p| p.last_name.starts_with("Model"))
        .map(|p| p.last_name.as_str())
        .collect();
    let distinct: BTreeSet<&str> = model_names.iter().copied().collect();
    prop_assert_eq!(
        model_names.len(),
        distinct.len(),
        "a registration made twice"
    );
    let model_ids: BTreeSet<String> = on_server
        .iter()
        .filter(|p| p.last_name.starts_with("Model"))
        .map(|p| p.id.to_string())
        .collect();
    prop_assert_eq!(
        &model_ids,
        &created,
        "registrations accepted = patients created"
    );
    // Changes: each accepted one applied once (a version per change), nothing else applied.
    for patient in &on_server {
        let id = patient.id.to_string();
        let start = world.initial.get(&id).copied().unwrap_or(1);
        let ours = accepted
            .get(&(EntityKind::Patient, id.clone()))
            .copied()
            .unwrap_or(0);
        let theirs = world.elsewhere.get(&id).copied().unwrap_or(0);
        prop_assert_eq!(
            patient.version,
            start + ours + theirs,
            "patient {}: {} of ours and {} from elsewhere",
            id,
            ours,
            theirs
        );
    }
    for (id, version) in &world.watched {
        let now = world
            .other
            .appointments()
            .get(&practice_studio::model::AppointmentId(id.clone()))
            .await
            .expect("appointment");
        let ours = accepted
            .get(&(EntityKind::Appointment, id.clone()))
            .copied()
            .unwrap_or(0);
        prop_assert_eq!(now.version, version + ours, "appointment {}", id);
        let cached = world
            .engine
            .store()
            .appointment(id)
            .await
            .expect("read")
            .expect("cached");
        prop_assert_eq!(&cached, &now, "the cached appointment is the server's");
    }
    assert_cache_equals_server(world.engine.store(), &world.other).await;
    // A key the proxy saw on two writes that both reached the server: sent, answer lost, resent.
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut answered: BTreeSet<String> = BTreeSet::new();
    for (_, _, key, status) in world.proxy.writes() {
        if let Some(key) = key {
            *keys.entry(key.clone()).or_default() += 1;
            if status.is_some() {
                answered.insert(key);
            }
        }
    }
    REPLAYED.fetch_add(
        keys.iter()
            .filter(|(key, n)| **n > 1 && answered.contains(*key))
            .count(),
        Ordering::Relaxed,
    );
    Ok(())
}

#[test]
fn outbox_and_sync_lose_nothing_and_duplicate_nothing_under_random_steps() {
    let config = Config {
        cases: 12,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]));
    let result = runner.run(&prop::collection::vec(step(), 5..30), |steps| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(steps))
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let (accepted, resolved, replayed) = (
        ACCEPTED.load(Ordering::Relaxed),
        RESOLVED.load(Ordering::Relaxed),
        REPLAYED.load(Ordering::Relaxed),
    );
    eprintln!("accepted {accepted}, conflicts resolved {resolved}, resends replayed {replayed}");
    assert!(
        accepted > 0 && resolved > 0 && replayed > 0,
        "the cases met no conflict or no lost answer: the seed no longer tests them"
    );
}
