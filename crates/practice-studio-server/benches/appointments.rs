//! `make bench`: the clinic's day on the demo data (2,000 patients, 12 providers, the demo book
//! of 150 days), one request at a time over loopback, the bench client's rate limit lifted.
//!
//! - `slots_p99_ms`: `GET /api/v1/providers/{id}/slots` for one provider over 60 days (the free
//!   slots computed from hours, breaks, exceptions and every booking). Target < 10 ms.
//! - `appointments_week_p99_ms`: one page (100) of `GET /api/v1/appointments` for one week of
//!   every provider, each page of the week in turn. Target < 20 ms.
//!
//! Prints JSON lines.

use std::time::{Duration, Instant};

use chrono::{Datelike, Duration as Days, NaiveDate};
use practice_studio_server::app::Settings;
use practice_studio_server::{Server, Today};

const ROUNDS: usize = 300;

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

async fn timed(
    http: &reqwest::Client,
    url: &str,
    auth: &str,
) -> anyhow::Result<(Duration, serde_json::Value)> {
    let t = Instant::now();
    let response = http.get(url).header("Authorization", auth).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    let elapsed = t.elapsed();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    Ok((elapsed, serde_json::from_slice(&body)?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let today: NaiveDate = "2026-11-23".parse()?;
    let server = Server::builder()
        .demo(true)
        .today(Today::Fixed(today))
        .settings(Settings {
            unlimited_clients: vec!["integration-premium".into()],
            ..Settings::default()
        })
        .start()
        .await?;
    let base = server.url();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
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

    let to = today + Days::days(59);
    let slots_url = format!(
        "{base}/api/v1/providers/PROV-54321/slots?date_from={today}&date_to={to}&duration=30&location_id=LOC-789"
    );
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut offered = 0;
    for _ in 0..ROUNDS {
        let (elapsed, body) = timed(&http, &slots_url, &auth).await?;
        offered = body["total"].as_u64().unwrap_or(0);
        samples.push(elapsed);
    }
    eprintln!("slots: {offered} free slots over 60 days");
    figure("slots_p50_ms", percentile(&mut samples, 0.50), "ms");
    figure("slots_p99_ms", percentile(&mut samples, 0.99), "ms");

    let monday = today - Days::days(i64::from(today.weekday().num_days_from_monday()));
    let friday = monday + Days::days(4);
    let week =
        format!("{base}/api/v1/appointments?start_date={monday}&end_date={friday}&limit=100");
    let (_, first) = timed(&http, &week, &auth).await?;
    let total = first["total"].as_u64().unwrap_or(0);
    eprintln!("appointments: {total} in the week of {monday}");
    let pages = total.div_ceil(100).max(1);
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS as u64 {
        let offset = (round % pages) * 100;
        let (elapsed, _) = timed(&http, &format!("{week}&offset={offset}"), &auth).await?;
        samples.push(elapsed);
    }
    figure(
        "appointments_week_p50_ms",
        percentile(&mut samples, 0.50),
        "ms",
    );
    figure(
        "appointments_week_p99_ms",
        percentile(&mut samples, 0.99),
        "ms",
    );
    server.shutdown().await?;
    Ok(())
}
