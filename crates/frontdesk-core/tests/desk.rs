//! The desk against the real Practice Studio server on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use frontdesk_core::config::Source;
use frontdesk_core::{
    ApiProblem, ApiState, Config, ConfigKey, ConfigLayers, Desk, DeskEvent, DeskOptions,
    PinnedDayClock, Surface,
};
use practice_studio_server::{Server, Today};

fn monday() -> NaiveDate {
    "2026-11-23".parse().expect("date")
}

fn desk_with(layers: &ConfigLayers) -> Desk {
    Desk::new(DeskOptions {
        config: Config::load(layers).expect("config loads"),
        clock: Arc::new(PinnedDayClock::new(monday())),
        surface: Surface::Browser,
    })
    .expect("desk")
}

fn layers_with_api(url: &str, dir: &tempfile::TempDir) -> ConfigLayers {
    let mut flags = BTreeMap::new();
    flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
    ConfigLayers {
        managed_file: None,
        user_file: Some(dir.path().join("user.toml")),
        env: BTreeMap::new(),
        flags,
    }
}

#[tokio::test]
async fn status_goes_through_the_sdk_to_the_demo_server() {
    let server = Server::builder()
        .demo(true)
        .today(Today::Fixed(monday()))
        .start()
        .await
        .expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let desk = desk_with(&layers_with_api(&server.url(), &dir));
    let status = desk.app_status().await;
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    // Built from this checkout: the commit is the one git names.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .expect("git runs");
    assert_eq!(status.commit, String::from_utf8_lossy(&head.stdout).trim());
    assert_eq!(status.today, monday());
    assert_eq!(status.surface, Surface::Browser);
    assert!(status.api_url_editable);
    match status.api {
        ApiState::Connected {
            demo,
            server_version,
        } => {
            assert!(demo);
            assert!(!server_version.is_empty());
        }
        other => panic!("expected connected, got {other:?}"),
    }
}

#[tokio::test]
async fn an_outage_is_reported_and_announced_once() {
    let server = Server::builder().start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let desk = desk_with(&layers_with_api(&server.url(), &dir));
    let mut events = desk.subscribe();
    assert!(matches!(desk.check_api().await, ApiState::Connected { .. }));
    server.shutdown().await.expect("stops");
    let down = desk.check_api().await;
    assert_eq!(
        down,
        ApiState::Unreachable {
            problem: ApiProblem::NoConnection
        }
    );
    // A second failed check changes nothing and announces nothing.
    desk.check_api().await;
    let first = events.recv().await.expect("event");
    let second = events.recv().await.expect("event");
    assert!(matches!(
        first,
        DeskEvent::ConnectionChanged {
            api: ApiState::Connected { .. }
        }
    ));
    assert_eq!(second, DeskEvent::ConnectionChanged { api: down });
    assert!(
        tokio::time::timeout(Duration::from_millis(50), events.recv())
            .await
            .is_err(),
        "no third event"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_does_not_hold_up_the_desks_start() {
    // Not a Practice Studio server: a loopback port that takes connections and never says a
    // word, as a route that drops packets looks to the desk. Nothing real answers that way.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", silent.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let desk = desk_with(&layers_with_api(&url, &dir));
    let mut events = desk.subscribe();
    let started = std::time::Instant::now();
    let status = desk.app_status().await;
    assert_eq!(status.api, ApiState::Checking);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the status answered without waiting for the check's 3 s timeout"
    );
    // The check carries on and says how it ended.
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the check ends")
        .expect("event");
    assert_eq!(
        event,
        DeskEvent::ConnectionChanged {
            api: ApiState::Unreachable {
                problem: ApiProblem::Timeout
            }
        }
    );
    // From then on the status says what the last check found.
    assert_eq!(
        desk.app_status().await.api,
        ApiState::Unreachable {
            problem: ApiProblem::Timeout
        }
    );
    held.abort();
}

#[tokio::test]
async fn first_run_configures_and_saves_the_api_address() {
    let server = Server::builder().demo(true).start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let layers = ConfigLayers {
        user_file: Some(dir.path().join("frontdesk/config.toml")),
        ..ConfigLayers::default()
    };
    let desk = desk_with(&layers);
    assert_eq!(desk.app_status().await.api, ApiState::NotConfigured);

    let bad = desk.configure_api("mailto:someone@example.org").await;
    assert!(bad.is_err());
    assert_eq!(desk.app_status().await.api, ApiState::NotConfigured);

    let status = desk.configure_api(&server.url()).await.expect("configures");
    assert!(matches!(status.api, ApiState::Connected { demo: true, .. }));
    let saved = Config::load(&layers).expect("reload");
    assert_eq!(saved.api_url(), Some(server.url().as_str()));
    assert!(matches!(
        saved.setting(ConfigKey::ApiUrl).source,
        Source::User { .. }
    ));
}
