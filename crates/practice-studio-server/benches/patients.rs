//! `make bench`: the patient routes under load, beside a Prism mock of our own OpenAPI document.
//!
//! 32 connections for 10 s each on `GET /api/v1/patients?limit=100` and
//! `GET /api/v1/patients/{id}` (the bench client's rate limit lifted), then the same against
//! `prism mock` of `/openapi.json`. Prints JSON lines: req/s, p50, p99, and
//! `server_vs_prism_ratio` (our req/s over Prism's on the list route). Prism comes from
//! `bench/node_modules` (`npm ci` in `bench/`); without it the comparison is skipped and says so.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use practice_studio_server::app::Settings;
use practice_studio_server::Server;

const CONNECTIONS: usize = 32;
const DURATION: Duration = Duration::from_secs(10);

struct Load {
    requests: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

async fn load(url: String, auth: String) -> anyhow::Result<Load> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let http = http.clone();
        let url = url.clone();
        let auth = auth.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while started.elapsed() < DURATION {
                let t = Instant::now();
                let response = http.get(&url).header("Authorization", &auth).send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    anyhow::bail!("{url} answered {status}");
                }
                samples.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort();
    let at = |p: f64| {
        let i = ((samples.len() as f64 * p).ceil() as usize).saturating_sub(1);
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(Load {
        requests: samples.len(),
        per_second: samples.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}

fn report(prefix: &str, load: &Load) {
    figure(&format!("{prefix}_req_per_s"), load.per_second, "req/s");
    figure(&format!("{prefix}_p50_ms"), load.p50_ms, "ms");
    figure(&format!("{prefix}_p99_ms"), load.p99_ms, "ms");
    eprintln!("{prefix}: {} requests", load.requests);
}

fn prism_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/node_modules/.bin/prism")
}

struct Prism(Child);

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_prism(spec: &str) -> anyhow::Result<(Prism, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.keep().join("openapi.json");
    std::fs::write(&path, spec)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(prism_bin())
        .args([
            "mock",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--errors",
            "false",
        ])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let prism = Prism(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::get(format!("{base}/health")).await.is_ok() {
            return Ok((prism, base));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("prism did not start")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = Server::builder()
        .demo(true)
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
    let page: serde_json::Value = http
        .get(format!("{base}/api/v1/patients?limit=1"))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    let id = page["patients"][0]["id"]
        .as_str()
        .unwrap_or("PAT-10001")
        .to_owned();

    let list = load(format!("{base}/api/v1/patients?limit=100"), auth.clone()).await?;
    report("server_patients_list", &list);
    let detail = load(format!("{base}/api/v1/patients/{id}"), auth.clone()).await?;
    report("server_patient_detail", &detail);

    if !prism_bin().exists() {
        eprintln!("prism is not installed (npm ci in bench/): server_vs_prism_ratio skipped");
        return Ok(());
    }
    let spec = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await?
        .text()
        .await?;
    let (_prism, prism_base) = start_prism(&spec).await?;
    let prism_list = load(
        format!("{prism_base}/api/v1/patients?limit=100"),
        auth.clone(),
    )
    .await?;
    report("prism_patients_list", &prism_list);
    let prism_detail = load(format!("{prism_base}/api/v1/patients/{id}"), auth).await?;
    report("prism_patient_detail", &prism_detail);
    figure(
        "server_vs_prism_ratio",
        list.per_second / prism_list.per_second.max(f64::MIN_POSITIVE),
        "x",
    );
    server.shutdown().await?;
    Ok(())
}
