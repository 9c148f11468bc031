//! `make bench`: the change feed and webhooks on the demo server, over loopback.
//!
//! - `feed_commit_to_client_ms` (p50, p99): a follower long-polls `GET /api/v2/events`; a
//!   writer changes a patient; the time from sending the change to the follower holding its
//!   event (an upper bound of commit-to-client: it includes the write itself). Target p99 < 100.
//! - `webhook_deliveries_per_s`: 1,000 changes made at once, then the time until a receiver on
//!   loopback has every delivery.
//!
//! Prints JSON lines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use practice_studio_server::app::Settings;
use practice_studio_server::{Server, Today};
use serde_json::{json, Value};

const ROUNDS: usize = 200;
const DELIVERIES: usize = 1_000;

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 * p).ceil() as usize).saturating_sub(1);
    samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = Server::builder()
        .demo(true)
        .demo_patients(200)
        .today(Today::Fixed("2026-11-23".parse()?))
        .settings(Settings {
            unlimited_clients: vec!["integration-premium".into()],
            webhook_poll: Duration::from_millis(100),
            ..Settings::default()
        })
        .start()
        .await?;
    let base = server.url();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let auth = format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    );
    let page: Value = http
        .get(format!("{base}/api/v1/patients?limit=100"))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = page["patients"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(!ids.is_empty(), "the demo has no patients");
    let change = |n: usize| {
        http.put(format!("{base}/api/v1/patients/{}", ids[n % ids.len()]))
            .header("Authorization", &auth)
            .json(&json!({"contactInfo": {"email": format!("bench{n}@example.com")}}))
            .send()
    };

    // Commit to client.
    let start: Value = http
        .get(format!("{base}/api/v2/events"))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    let mut cursor = start["cursor"].as_str().unwrap_or_default().to_owned();
    let mut samples = Vec::with_capacity(ROUNDS);
    for n in 0..ROUNDS {
        let poll = http
            .get(format!("{base}/api/v2/events?after={cursor}&wait=10"))
            .header("Authorization", &auth)
            .send();
        let poll = tokio::spawn(poll);
        // Let the poll reach the server and wait there.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let sent = Instant::now();
        let write = tokio::spawn(change(n));
        let answer: Value = poll.await??.json().await?;
        samples.push(sent.elapsed());
        write.await??.error_for_status()?;
        anyhow::ensure!(
            answer["events"].as_array().is_some_and(|e| !e.is_empty()),
            "the long poll returned without the event"
        );
        cursor = answer["cursor"].as_str().unwrap_or_default().to_owned();
    }
    figure(
        "feed_commit_to_client_p50_ms",
        percentile(&mut samples, 0.50),
        "ms",
    );
    figure(
        "feed_commit_to_client_p99_ms",
        percentile(&mut samples, 0.99),
        "ms",
    );

    // Webhook throughput.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, receiver).await;
    });
    let subscribed = http
        .post(format!("{base}/api/v1/webhooks"))
        .header("Authorization", &auth)
        .json(&json!({"url": hook_url, "events": ["patient.updated"]}))
        .send()
        .await?;
    anyhow::ensure!(
        subscribed.status() == 201,
        "subscribing answered {}",
        subscribed.status()
    );
    let started = Instant::now();
    for chunk in (0..DELIVERIES).collect::<Vec<_>>().chunks(50) {
        let writes: Vec<_> = chunk.iter().map(|n| change(*n)).collect();
        for write in futures_util::future::join_all(writes).await {
            write?.error_for_status()?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while received.load(Ordering::SeqCst) < DELIVERIES {
        anyhow::ensure!(Instant::now() < deadline, "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    figure(
        "webhook_deliveries_per_s",
        DELIVERIES as f64 / started.elapsed().as_secs_f64(),
        "1/s",
    );
    server.shutdown().await?;
    Ok(())
}
