//! The lock at the command layer: while the desk is locked every command that reads or writes
//! patient data is refused, through `dispatch` (the window's one Tauri command) and through
//! browser mode's HTTP routes alike, and answers again once the user unlocks, offline too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_app::browser::{router, BrowserState, UiAssets};
use frontdesk_app::commands::{dispatch, CommandErrorCode, ALLOWED_WHILE_LOCKED, COMMANDS};
use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::{Config, ConfigKey, ConfigLayers, Desk, DeskOptions, PinnedDayClock, Surface};
use frontdesk_store::DataDir;
use practice_studio_server::{Server, Today};
use serde_json::{json, Value};

fn desk(url: &str, home: &tempfile::TempDir) -> Desk {
    let mut flags = BTreeMap::new();
    flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
    let layers = ConfigLayers {
        managed_file: None,
        user_file: Some(home.path().join("user.toml")),
        env: BTreeMap::new(),
        flags,
    };
    let desk = Desk::new(DeskOptions {
        config: Config::load(&layers).expect("config"),
        clock: Arc::new(PinnedDayClock::new("2026-11-23".parse().expect("date"))),
        surface: Surface::Browser,
    })
    .expect("desk");
    desk.attach_device(Device {
        data_dir: Arc::new(DataDir::open(home.path().join("desk")).expect("data dir")),
        keychain: Arc::new(MemoryKeychain::default()),
    });
    desk
}

/// Arguments that a command would accept if the desk were open (the lock must refuse it anyway,
/// before looking at them).
fn plausible_args(command: &str, patient: &str) -> Value {
    match command {
        "search_patients" => json!({ "query": "a" }),
        "open_chart"
        | "refresh_chart"
        | "patient_appointments"
        | "patient_records"
        | "patient_invoices" => json!({ "patientId": patient }),
        "open_record" => json!({ "recordId": "REC-1" }),
        "open_invoice" => json!({ "invoiceId": "INV-1" }),
        "set_unlock_pin" => json!({ "pin": "1234" }),
        _ => json!({}),
    }
}

#[tokio::test]
async fn a_locked_desk_refuses_every_patient_command_over_dispatch_and_browser_mode() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(20)
        .today(Today::Fixed("2026-11-23".parse().expect("date")))
        .start()
        .await
        .expect("demo server");
    let home = tempfile::tempdir().expect("tempdir");
    let desk = desk(&server.url(), &home);
    dispatch(
        &desk,
        "sign_in",
        json!({ "username": "reception@demo.clinic", "password": "demo-password" }),
    )
    .await
    .expect("signs in");
    let patient = loop {
        let hits = dispatch(&desk, "search_patients", json!({ "query": "a" }))
            .await
            .expect("search");
        if let Some(id) = hits[0]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Browser mode over real HTTP, with its launch key.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let state = BrowserState::new(
        desk.clone(),
        "k".repeat(64),
        port,
        UiAssets::default(),
        stop_rx,
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let http = reqwest::Client::new();
    let post = |command: &str, args: Value| {
        http.post(format!(
            "http://127.0.0.1:{port}/api/commands/{command}?key={}",
            "k".repeat(64)
        ))
        .json(&args)
        .send()
    };
    let open = post("open_chart", json!({ "patientId": patient }))
        .await
        .expect("answer");
    assert_eq!(open.status(), 200, "unlocked, browser mode shows the chart");

    // Idle time runs out.
    desk.set_lock_after(Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(400)).await;

    let mut refused = 0;
    for spec in COMMANDS {
        // These change who is signed in or where the API is; the others are all tried.
        if [
            "sign_in",
            "sign_in_with_browser",
            "switch_user",
            "configure_api",
            "unlock",
        ]
        .contains(&spec.name)
        {
            continue;
        }
        let args = plausible_args(spec.name, &patient);
        let outcome = dispatch(&desk, spec.name, args.clone()).await;
        let answer = post(spec.name, args).await.expect("answer");
        if ALLOWED_WHILE_LOCKED.contains(&spec.name) {
            assert_eq!(answer.status(), 200, "{} answers while locked", spec.name);
            continue;
        }
        let error = outcome.expect_err(spec.name);
        assert_eq!(error.code, CommandErrorCode::Locked, "{}", spec.name);
        assert_eq!(answer.status(), 423, "{} over HTTP", spec.name);
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["code"], "locked");
        assert!(
            !body.to_string().contains(&patient),
            "a refusal carries no patient data"
        );
        refused += 1;
    }
    assert!(refused >= 10, "only {refused} commands were checked");
    // The allowed ones are only those with no patient data, and all of them exist.
    for name in ALLOWED_WHILE_LOCKED {
        assert!(COMMANDS.iter().any(|c| c.name == *name), "{name}");
    }

    let state: Value = dispatch(&desk, "lock_state", json!({}))
        .await
        .expect("lock state");
    assert_eq!(state["locked"], true);

    // Offline: the server stops; the password still unlocks, checked on the desk.
    server.shutdown().await.expect("server stops");
    desk.set_lock_after(Duration::from_secs(300));
    let wrong = post("unlock", json!({ "secret": "nope" }))
        .await
        .expect("answer");
    assert_eq!(wrong.status(), 401);
    let unlocked = post("unlock", json!({ "secret": "demo-password" }))
        .await
        .expect("answer");
    assert_eq!(unlocked.status(), 200);
    let open = post("open_chart", json!({ "patientId": patient }))
        .await
        .expect("answer");
    assert_eq!(
        open.status(),
        200,
        "unlocked, the chart opens from the cache"
    );
    dispatch(&desk, "touch", json!({}))
        .await
        .expect("activity counts again");
}
