//! `make bench`: `sdk_crawl_ceiling_ratio` — the SDK walks 30,000 demo patients (300 pages of
//! 100) at `Priority::Background` as an enterprise client limited to 600 requests a minute, with
//! no interactive load; the time taken divided by the floor the limit allows,
//! (pages − burst) ÷ rate, the burst being 10 % of the per-minute limit as the server documents.
//! Retries are off, so a single 429 fails the run. Target ≤ 1.10. Prints JSON lines.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use practice_studio::client::{Auth, Client, PatientQuery, Priority, RetryPolicy};
use practice_studio_server::auth::{password, Scope, Tier};
use practice_studio_server::storage::{ClientRecord, SqliteStorage, Storage as _};
use practice_studio_server::{Server, Today};

const PATIENTS: u64 = 30_000;
const RATE: u32 = 600;

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crawl.db");
    {
        let storage = SqliteStorage::open(&path).await?;
        storage
            .insert_client(&ClientRecord {
                id: "integration-enterprise".into(),
                name: "Crawl bench (enterprise, 600/min)".into(),
                secret_hash: Some(password::hash("demo-secret").map_err(anyhow::Error::msg)?),
                tier: Tier::Enterprise,
                rate_per_minute: RATE,
                scopes: Scope::reads(),
                grants: vec!["client_credentials".into()],
                active: true,
            })
            .await?;
    }
    let server = Server::builder()
        .database(&path)
        .demo(true)
        .demo_patients(PATIENTS)
        .today(Today::Fixed("2026-11-23".parse()?))
        .start()
        .await?;
    let client = Client::builder(server.url())
        .auth(Auth::client_credentials(
            "integration-enterprise",
            "demo-secret",
        ))
        .no_proxy()
        .retry(RetryPolicy {
            max_attempts: 1,
            deadline: Duration::from_secs(120),
            ..RetryPolicy::default()
        })
        .build()?;
    client.sign_in().await?;
    let started = Instant::now();
    let walked: Vec<_> = client
        .patients()
        .all(&PatientQuery::new(), Priority::Background)
        .try_collect()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        walked.len() as u64 == PATIENTS,
        "walked {} patients",
        walked.len()
    );
    let pages = PATIENTS.div_ceil(100) as f64;
    let burst = f64::from(RATE / 10);
    let floor = (pages - burst) / (f64::from(RATE) / 60.0);
    eprintln!(
        "crawl: {pages} pages in {elapsed:.1} s; floor {floor:.1} s; no 429 (retries were off)"
    );
    figure("sdk_crawl_seconds", elapsed, "s");
    figure("sdk_crawl_ceiling_ratio", elapsed / floor, "x");
    server.shutdown().await?;
    Ok(())
}
