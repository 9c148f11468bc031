//! Integration tests: the real server on a loopback port, spoken to through the SDK.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use chrono::NaiveDate;
use practice_studio::model::HealthStatus;
use practice_studio::Client;
use practice_studio_server::{Server, Today};

fn date(s: &str) -> NaiveDate {
    s.parse().expect("valid test date")
}

#[tokio::test]
async fn health_reports_version_demo_flag_and_pinned_today() {
    let server = Server::builder()
        .demo(true)
        .today(Today::Fixed(date("2026-11-23")))
        .start()
        .await
        .expect("server starts");
    let client = Client::new(&server.url()).expect("client");
    let health = client.health().await.expect("health answers");
    assert_eq!(health.status, HealthStatus::Ok);
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert!(health.demo);
    assert_eq!(health.today, date("2026-11-23"));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_stopped_server_no_longer_answers() {
    let server = Server::builder().start().await.expect("server starts");
    let client = Client::new(&server.url()).expect("client");
    assert!(!client.health().await.expect("health").demo);
    server.shutdown().await.expect("clean shutdown");
    assert!(client.health().await.is_err());
}

#[tokio::test]
async fn binding_an_address_in_use_is_a_clear_error() {
    let first = Server::builder().start().await.expect("server starts");
    let error = match Server::builder()
        .bind(first.local_addr().to_string())
        .start()
        .await
    {
        Ok(_) => panic!("a second server must not bind the same port"),
        Err(error) => error,
    };
    assert!(
        error.to_string().contains(&first.local_addr().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn the_command_line_serves_demo_health_on_the_requested_address() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
        .args([
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--demo-today",
            "2026-11-24",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads the start-up line");
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let health = Client::new(&url)
        .expect("client")
        .health()
        .await
        .expect("health answers");
    child.kill().expect("stop the server");
    let _ = child.wait();
    assert!(health.demo);
    assert_eq!(health.today, date("2026-11-24"));
}

#[test]
fn demo_today_without_demo_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
        .args(["--bind", "127.0.0.1:0", "--demo-today", "2026-11-24"])
        .output()
        .expect("server binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--demo"), "{stderr}");
}
