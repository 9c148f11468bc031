//! `make bench`: how many HTTP requests the desk's sync makes for the same work over v1 and over
//! the v2 beta, against the real server on loopback, counted by a proxy in front of it (the v1
//! run's proxy hides every v2 route but the change feed, in the OpenAPI document and in
//! behaviour, so the desk degrades to v1 as it would against such a server).
//!
//! - `first_sync_requests_v1_vs_v2`: a desk's first sync of 2,000 demo patients and the
//!   appointment window (30 days back, 120 ahead) with the references, pages of 100: v1 offset
//!   pages (`expand=full`) against v2 cursor pages.
//! - `outbox_drain_requests_v1_vs_v2`: 500 writes queued offline (350 registrations and 150
//!   edits of cached patients, interleaved) and then drained: one request per entry against
//!   bulk requests of up to 100.
//!
//! Each prints `{"name":…,"value":[v1,v2],"unit":"requests"}`. The desk's client is not rate
//! limited here (a count, not a time); the limit's cost of a bulk request is one request per 10
//! items, so the 500 writes cost 50 requests of the limit over v2 against 500 over v1.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use frontdesk_core::{SyncEngine, SyncOptions};
use practice_studio::client::{Auth, Client, RetryPolicy};
use practice_studio_server::app::Settings;
use serde_json::{json, Map, Value};

const PATIENTS: u64 = 2_000;
const WRITES: usize = 500;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn pair(name: &str, v1: usize, v2: usize) {
    println!(
        "{}",
        json!({ "name": name, "value": [v1, v2], "unit": "requests" })
    );
}

fn client(url: &str) -> Result<Client, Failure> {
    Ok(Client::builder(url)
        .auth(Auth::password(
            "frontdesk",
            support::RECEPTION,
            "demo-password",
        ))
        .no_proxy()
        .retry(RetryPolicy {
            max_attempts: 1,
            attempt_timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
            ..RetryPolicy::default()
        })
        .build()?)
}

fn api_requests(proxy: &support::FaultProxy) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|(_, path)| path.starts_with("/api/"))
        .count()
}

/// A desk behind its own proxy (hiding v2 unless `v2`), its first sync done.
struct Desk {
    label: &'static str,
    proxy: support::FaultProxy,
    engine: SyncEngine,
    _dir: tempfile::TempDir,
    first_sync: usize,
}

async fn synced_desk(server_url: &str, v2: bool, label: &'static str) -> Result<Desk, Failure> {
    let proxy = support::FaultProxy::start(server_url).await;
    proxy.hide(support::Hidden {
        v2: !v2,
        ..support::Hidden::default()
    });
    let dir = tempfile::tempdir()?;
    let engine: SyncEngine = support::engine_on(
        &dir,
        client(&proxy.url)?,
        SyncOptions {
            send_retry: RetryPolicy {
                max_attempts: 1,
                attempt_timeout: Duration::from_secs(60),
                deadline: Duration::from_secs(120),
                ..RetryPolicy::default()
            },
            ..SyncOptions::default()
        },
    )
    .await;
    engine
        .sign_in_author(support::RECEPTION, client(&proxy.url)?)
        .await;
    let features = engine.connect().await?;
    if features.v2_lists != v2 || features.bulk_sends() != v2 {
        return Err(format!("{label}: the desk read {features:?}").into());
    }
    let before = api_requests(&proxy);
    engine.first_sync().await?;
    let first_sync = api_requests(&proxy) - before;
    let cached = engine.store().patient_count().await?;
    if cached as u64 != PATIENTS {
        return Err(format!("{label}: first sync cached {cached} patients").into());
    }
    let appointments = engine.store().appointment_versions().await?.len();
    eprintln!(
        "{label}: first sync of {cached} patients and {appointments} appointments in \
         {first_sync} requests"
    );
    Ok(Desk {
        label,
        proxy,
        engine,
        _dir: dir,
        first_sync,
    })
}

/// `WRITES` writes queued offline, then drained: the API requests of the drain. Each desk edits
/// its own patients (the `edits_from`-th on), so neither meets the other's changes.
async fn drain(desk: &Desk, edits_from: usize) -> Result<usize, Failure> {
    let Desk {
        label,
        proxy,
        engine,
        ..
    } = desk;
    let patients = engine.store().patient_versions().await?;
    if patients.len() < edits_from + WRITES {
        return Err(format!("{label}: only {} patients to edit", patients.len()).into());
    }
    proxy.set_down(true);
    for (i, (id, _)) in patients.iter().skip(edits_from).enumerate().take(WRITES) {
        if i % 10 < 7 {
            let last = format!("Bench{label}{i:04}");
            engine
                .register_patient(support::RECEPTION, &support::new_patient("Quinn", &last))
                .await?;
        } else {
            let mut patch = Map::new();
            patch.insert(
                "preferredLanguage".into(),
                Value::String(format!("Language {label} {i}")),
            );
            engine
                .update_patient(support::RECEPTION, id, &patch)
                .await?;
        }
    }
    proxy.set_down(false);
    let before = api_requests(proxy);
    let mut sent = 0;
    for _ in 0..50 {
        let report = engine.drain_outbox().await?;
        sent += report.sent;
        if report.refused > 0 {
            return Err(format!("{label}: {} writes refused", report.refused).into());
        }
        if engine.store().pending_count().await? == 0 {
            break;
        }
        tokio::time::sleep(report.next_retry_in.unwrap_or(Duration::from_millis(100))).await;
    }
    let drained = api_requests(proxy) - before;
    if sent as usize != WRITES {
        return Err(format!("{label}: {sent} of {WRITES} writes sent").into());
    }
    eprintln!("{label}: {WRITES} queued writes drained in {drained} requests");
    Ok(drained)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let server = support::server_with(
        PATIENTS,
        Settings {
            unlimited_clients: vec!["frontdesk".to_owned()],
            ..Settings::default()
        },
    )
    .await;
    let url = server.url();
    // Both first syncs before either drain: the same patients and book.
    let v1 = synced_desk(&url, false, "v1").await?;
    let v2 = synced_desk(&url, true, "v2").await?;
    pair("first_sync_requests_v1_vs_v2", v1.first_sync, v2.first_sync);
    let v1_drain = drain(&v1, 0).await?;
    let v2_drain = drain(&v2, WRITES).await?;
    pair("outbox_drain_requests_v1_vs_v2", v1_drain, v2_drain);
    server.shutdown().await?;
    Ok(())
}
