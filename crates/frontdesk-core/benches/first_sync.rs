//! `make bench`: the sync engine's first sync against the real server on loopback, into a real
//! encrypted cache.
//!
//! - `first_sync_ceiling_ratio`: 30,000 demo patients (`expand=full`) and their appointments
//!   (the default window, 30 days back to 120 ahead), with the references, read by an
//!   enterprise client limited to 600 requests a minute at `Priority::Background`; the time
//!   taken divided by the floor the limit allows, (requests − burst) ÷ rate, the burst being a
//!   tenth of the per-minute limit as the server documents. Retries are off, so a single 429
//!   fails the run. Target ≤ 1.15.
//! - `ingest_patients_per_s`: the same 30,000 patients with the limit lifted (a client the
//!   server does not limit): patients read, stored and indexed for search per second.
//!
//! Requests are counted by a loopback proxy in front of the server. Prints JSON lines.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk_core::{PinnedDayClock, SyncEngine, SyncOptions};
use frontdesk_store::{DataDir, Store};
use practice_studio::client::{Auth, Client, RetryPolicy};
use practice_studio_server::app::Settings;
use practice_studio_server::auth::{password, Scope, Tier};
use practice_studio_server::storage::{ClientRecord, SqliteStorage, Storage as _};
use practice_studio_server::{Server, Today};

const PATIENTS: u64 = 30_000;
const RATE: u32 = 600;
const LIMITED: &str = "bench-enterprise";
const UNLIMITED: &str = "bench-unlimited";
const SECRET: &str = "bench-secret";

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

fn client(url: &str, id: &str) -> Result<Client, Failure> {
    Ok(Client::builder(url)
        .auth(Auth::client_credentials(id, SECRET))
        .no_proxy()
        .retry(RetryPolicy {
            max_attempts: 1,
            deadline: Duration::from_secs(120),
            ..RetryPolicy::default()
        })
        .build()?)
}

/// A first sync into a fresh encrypted cache; its time, and the API requests it made.
async fn first_sync(
    server_url: &str,
    id: &str,
    window: Option<(u32, u32)>,
) -> Result<(Duration, usize, Arc<Store>, tempfile::TempDir), Failure> {
    let proxy = support::FaultProxy::start(server_url).await;
    let reader = client(&proxy.url, id)?;
    reader.sign_in().await?;
    let dir = tempfile::tempdir()?;
    let data = DataDir::open(dir.path().join("desk"))?;
    let store = Arc::new(Store::open(&data, [7; 32]).await?);
    let engine = SyncEngine::new(
        store.clone(),
        Arc::new(PinnedDayClock::new("2026-11-23".parse()?)),
        SyncOptions {
            appointment_window: window,
            ..SyncOptions::default()
        },
    );
    engine.set_reader(Some(reader)).await;
    let before = api_requests(&proxy);
    let started = Instant::now();
    engine.first_sync().await?;
    let elapsed = started.elapsed();
    let requests = api_requests(&proxy) - before;
    Ok((elapsed, requests, store, dir))
}

fn api_requests(proxy: &support::FaultProxy) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .count()
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("first-sync.db");
    {
        let storage = SqliteStorage::open(&path).await?;
        for (id, name) in [
            (LIMITED, "First-sync bench (enterprise, 600/min)"),
            (UNLIMITED, "Ingest bench (not limited)"),
        ] {
            storage
                .insert_client(&ClientRecord {
                    id: id.into(),
                    name: name.into(),
                    secret_hash: Some(password::hash(SECRET).map_err(|e| e.to_string())?),
                    tier: Tier::Enterprise,
                    rate_per_minute: RATE,
                    scopes: Scope::reads(),
                    grants: vec!["client_credentials".into()],
                    active: true,
                })
                .await?;
        }
    }
    let server = Server::builder()
        .database(&path)
        .demo(true)
        .demo_patients(PATIENTS)
        .today(Today::Fixed("2026-11-23".parse()?))
        .settings(Settings {
            unlimited_clients: vec![UNLIMITED.to_owned()],
            ..Settings::default()
        })
        .start()
        .await?;
    let url = server.url();

    let (elapsed, requests, store, cache) = first_sync(&url, LIMITED, Some((30, 120))).await?;
    let cached = store.patient_count().await?;
    if cached as u64 != PATIENTS {
        return Err(format!("first sync cached {cached} patients").into());
    }
    let appointments = store.appointment_versions().await?.len();
    let burst = f64::from(RATE / 10);
    let floor = (requests as f64 - burst).max(1.0) / (f64::from(RATE) / 60.0);
    let seconds = elapsed.as_secs_f64();
    eprintln!(
        "first sync: {cached} patients and {appointments} appointments in {requests} requests, \
         {seconds:.1} s; floor {floor:.1} s; no 429 (retries were off)"
    );
    figure("first_sync_seconds", seconds, "s");
    figure("first_sync_ceiling_ratio", seconds / floor, "x");
    drop(store);
    drop(cache);

    let (elapsed, requests, store, _cache) = first_sync(&url, UNLIMITED, None).await?;
    let cached = store.patient_count().await?;
    if cached as u64 != PATIENTS {
        return Err(format!("ingest cached {cached} patients").into());
    }
    let rate = cached as f64 / elapsed.as_secs_f64();
    eprintln!(
        "ingest: {cached} patients in {requests} requests, {:.1} s, not rate limited",
        elapsed.as_secs_f64()
    );
    figure("ingest_patients_per_s", rate, "patients/s");
    server.shutdown().await?;
    Ok(())
}
