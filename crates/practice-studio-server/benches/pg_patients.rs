//! `make bench` (through `scripts/bench-pg.sh`, which starts a throwaway PostgreSQL cluster):
//! `GET /api/v1/patients?limit=100` on PostgreSQL with one and with two server instances on one
//! database, 64 connections for 10 s each (two instances: 32 on each, as a round-robin balancer
//! would spread them), and the same on SQLite (one instance, 64 connections) beside it.
//!
//! The servers run as their own processes (the release binary), so the CPU each part used is read
//! from /proc: the servers, PostgreSQL's backends, and this load tool. On a machine of two cores
//! those three share the cores, and the figures say which of them took them
//! (`pg2_cpu_share_*`): a second instance can add throughput only where a core is left idle.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 64;
const DURATION: Duration = Duration::from_secs(10);
const CLIENT: &str = "integration-premium";

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

/// A server process; killed when dropped.
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database: &str) -> anyhow::Result<Instance> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
        .args([
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--unlimited-client",
            CLIENT,
            "--database",
            database,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| anyhow::anyhow!("the server did not say where it listens: {line:?}"))?
        .to_owned();
    Ok(Instance { child, url })
}

/// CPU seconds (user + system) a process has used, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name (in parentheses) may hold spaces: fields are counted after it.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds used so far by every PostgreSQL process on the machine.
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.starts_with("postgres"))
        })
        .map(cpu_seconds)
        .sum()
}

async fn token(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let token: serde_json::Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(format!(
        "Bearer {}",
        token["access_token"].as_str().unwrap_or_default()
    ))
}

/// Requests per second over `CONNECTIONS` connections spread evenly over `bases`.
async fn load(bases: &[String], auth: &str) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..CONNECTIONS {
        let http = http.clone();
        let url = format!("{}/api/v1/patients?limit=100", bases[i % bases.len()]);
        let auth = auth.to_owned();
        workers.push(tokio::spawn(async move {
            let mut done = 0_u64;
            while started.elapsed() < DURATION {
                let response = http.get(&url).header("Authorization", &auth).send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    anyhow::bail!("{url} answered {status}");
                }
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut requests = 0;
    for worker in workers {
        requests += worker.await??;
    }
    Ok(requests as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(pg) = std::env::var("PRACTICE_STUDIO_BENCH_PG") else {
        eprintln!("PRACTICE_STUDIO_BENCH_PG is not set (scripts/bench-pg.sh sets it): skipped");
        return Ok(());
    };
    let http = reqwest::Client::new();

    let sqlite_dir = tempfile::tempdir()?;
    let sqlite_db = sqlite_dir.path().join("bench.db");
    let sqlite = start(&sqlite_db.to_string_lossy())?;
    let auth = token(&http, &sqlite.url).await?;
    let sqlite_rps = load(std::slice::from_ref(&sqlite.url), &auth).await?;
    drop(sqlite);

    let a = start(&pg)?;
    let auth = token(&http, &a.url).await?;
    let one = load(std::slice::from_ref(&a.url), &auth).await?;
    let b = start(&pg)?;
    let (a_cpu, b_cpu, pg_cpu, own_cpu) = (
        cpu_seconds(a.child.id()),
        cpu_seconds(b.child.id()),
        postgres_cpu_seconds(),
        cpu_seconds(std::process::id()),
    );
    let two = load(&[a.url.clone(), b.url.clone()], &auth).await?;
    let servers = cpu_seconds(a.child.id()) - a_cpu + cpu_seconds(b.child.id()) - b_cpu;
    let postgres = postgres_cpu_seconds() - pg_cpu;
    let tool = cpu_seconds(std::process::id()) - own_cpu;
    let total = (servers + postgres + tool).max(f64::MIN_POSITIVE);

    figure("pg_patients_rps_1_instance", one, "req/s");
    figure("pg_patients_rps_2_instances", two, "req/s");
    figure("sqlite_patients_rps_1_instance", sqlite_rps, "req/s");
    figure(
        "pg_2_vs_1_instances_ratio",
        two / one.max(f64::MIN_POSITIVE),
        "x",
    );
    figure("pg2_cpu_share_servers", servers / total, "fraction");
    figure("pg2_cpu_share_postgres", postgres / total, "fraction");
    figure("pg2_cpu_share_load_tool", tool / total, "fraction");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    figure(
        "pg2_cpu_busy",
        total / (DURATION.as_secs_f64() * cores as f64),
        "fraction of all cores",
    );
    Ok(())
}
