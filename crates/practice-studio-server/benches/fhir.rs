//! `make bench`: FHIR R4 and v2 patient search over 100,000 demo patients, one request at a
//! time over loopback, the bench client's rate limit lifted.
//!
//! - `fhir_patient_search_p50_ms` / `_p99_ms`: `GET /fhir/r4/Patient` (a searchset Bundle with
//!   `total`, `_count=20`) with a mix of the searches an integration makes: `family` and `given`
//!   prefixes, `name`, `birthdate`, `identifier` (an MRN), `phone`, `_id`, and `gender` with a
//!   family name; the values are taken from patients spread over the whole table.
//! - `v2_patient_search_p50_ms` / `_p99_ms`: `GET /api/v2/patients?q=` (the enhanced,
//!   typo-tolerant search) with names (some misspelt), phones, birth dates and MRNs.
//!
//! Prints JSON lines.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use practice_studio_server::app::Settings;
use practice_studio_server::{Server, Today};

const PATIENTS: u64 = 100_000;
const SAMPLE_PAGES: u64 = 25;
const ROUNDS: usize = 400;

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

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A typo a receptionist makes: two neighbouring letters swapped.
fn swapped(word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() > 4 {
        chars.swap(2, 3);
    }
    chars.into_iter().collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let today: NaiveDate = "2026-11-23".parse()?;
    let started = Instant::now();
    let server = Server::builder()
        .demo(true)
        .demo_patients(PATIENTS)
        .today(Today::Fixed(today))
        .settings(Settings {
            unlimited_clients: vec!["integration-premium".into()],
            ..Settings::default()
        })
        .start()
        .await?;
    eprintln!(
        "fhir: {PATIENTS} demo patients in {:.1} s",
        started.elapsed().as_secs_f64()
    );
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

    // Patients spread over the table, to search for.
    let mut people = Vec::new();
    for page in 0..SAMPLE_PAGES {
        let offset = page * (PATIENTS / SAMPLE_PAGES);
        let (_, body) = timed(
            &http,
            &format!("{base}/api/v1/patients?limit=4&offset={offset}&expand=full"),
            &auth,
        )
        .await?;
        people.extend(body["patients"].as_array().cloned().unwrap_or_default());
    }
    anyhow::ensure!(!people.is_empty(), "no patients to search for");
    let text =
        |p: &serde_json::Value, field: &str| p[field].as_str().unwrap_or_default().to_owned();
    let mut fhir = Vec::new();
    let mut v2 = Vec::new();
    for p in &people {
        let family = text(p, "lastName");
        let given = text(p, "firstName");
        let birth = text(p, "dateOfBirth");
        let mrn = text(p, "mrn");
        let id = text(p, "id");
        let phone = p["contactInfo"]["phone"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let gender = match p["gender"].as_str() {
            Some("F") => "female",
            Some("M") => "male",
            Some("O") => "other",
            _ => "unknown",
        };
        let prefix: String = family.chars().take(3).collect();
        fhir.extend([
            format!("family={}", encode(&family)),
            format!("family={}", encode(&prefix)),
            format!("given={}", encode(&given)),
            format!("name={}", encode(&family)),
            format!("birthdate={birth}"),
            format!("identifier={}", encode(&mrn)),
            format!("phone={}", encode(&phone)),
            format!("_id={id}"),
            format!("gender={gender}&family={}", encode(&family)),
        ]);
        v2.extend([
            format!("{given} {family}"),
            swapped(&family),
            format!("{} {}", swapped(&given), family),
            phone.clone(),
            birth.clone(),
            mrn.clone(),
        ]);
    }

    let mut samples = Vec::with_capacity(ROUNDS);
    let mut by_kind: std::collections::BTreeMap<String, Vec<Duration>> = Default::default();
    let mut found = 0u64;
    for round in 0..ROUNDS {
        let query = &fhir[round % fhir.len()];
        let (elapsed, body) = timed(
            &http,
            &format!("{base}/fhir/r4/Patient?{query}&_count=20"),
            &auth,
        )
        .await?;
        found += body["total"].as_u64().unwrap_or(0);
        samples.push(elapsed);
        let kind = query.split('=').next().unwrap_or_default().to_owned();
        by_kind.entry(kind).or_default().push(elapsed);
    }
    for (kind, mut times) in by_kind {
        eprintln!(
            "fhir: {kind}: p50 {:.1} ms, max {:.1} ms",
            percentile(&mut times, 0.5),
            percentile(&mut times, 1.0)
        );
    }
    eprintln!(
        "fhir: {ROUNDS} searches of {} kinds, {:.1} matches each on average",
        fhir.len(),
        found as f64 / ROUNDS as f64
    );
    figure(
        "fhir_patient_search_p50_ms",
        percentile(&mut samples, 0.50),
        "ms",
    );
    figure(
        "fhir_patient_search_p99_ms",
        percentile(&mut samples, 0.99),
        "ms",
    );

    let mut samples = Vec::with_capacity(ROUNDS);
    let mut first_hits = 0;
    for round in 0..ROUNDS {
        let query = &v2[round % v2.len()];
        let (elapsed, body) = timed(
            &http,
            &format!("{base}/api/v2/patients?q={}&limit=20", encode(query)),
            &auth,
        )
        .await?;
        if body["patients"].as_array().is_some_and(|p| !p.is_empty()) {
            first_hits += 1;
        }
        samples.push(elapsed);
    }
    eprintln!("v2 search: {first_hits} of {ROUNDS} searches found someone");
    figure(
        "v2_patient_search_p50_ms",
        percentile(&mut samples, 0.50),
        "ms",
    );
    figure(
        "v2_patient_search_p99_ms",
        percentile(&mut samples, 0.99),
        "ms",
    );
    server.shutdown().await?;
    Ok(())
}
