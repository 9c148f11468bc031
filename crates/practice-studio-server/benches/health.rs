//! `make bench`: latency of `GET /health` over 10,000 loopback requests on one keep-alive
//! connection pool. Prints one JSON object per figure: {"name":…,"value":…,"unit":…}.

use std::time::{Duration, Instant};

use practice_studio_server::Server;

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 8;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.saturating_sub(1).min(sorted.len() - 1)]
}

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = Server::builder().demo(true).start().await?;
    let url = format!("{}/health", server.url());
    let http = reqwest::Client::new();
    // Warm up connections so the figures measure requests, not TCP handshakes.
    for _ in 0..CONCURRENCY * 4 {
        http.get(&url).send().await?.error_for_status()?;
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let http = http.clone();
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(REQUESTS / CONCURRENCY);
            for _ in 0..REQUESTS / CONCURRENCY {
                let t = Instant::now();
                let response = http.get(&url).send().await?.error_for_status()?;
                response.bytes().await?;
                samples.push(t.elapsed());
            }
            Ok::<_, reqwest::Error>(samples)
        }));
    }
    let mut samples = Vec::with_capacity(REQUESTS);
    for worker in workers {
        samples.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    samples.sort();
    figure(
        "server_health_p50",
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        "ms",
    );
    figure(
        "server_health_p99",
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        "ms",
    );
    figure(
        "server_health_throughput",
        samples.len() as f64 / elapsed.as_secs_f64(),
        "req/s",
    );
    server.shutdown().await?;
    Ok(())
}
