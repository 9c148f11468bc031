//! The shell as a user and the UI meet it: the `frontdesk` binary, browser mode over real HTTP
//! against the embedded demo server, and the generated TypeScript bindings.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;

const BIN: &str = env!("CARGO_BIN_EXE_frontdesk");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri has a parent")
        .to_owned()
}

/// `frontdesk serve` in a child process; killed when dropped.
struct Serve {
    child: Child,
    url: String,
    _home: tempfile::TempDir,
}

impl Serve {
    fn start(extra: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(extra)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env_remove("FRONTDESK_API_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("frontdesk starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("reads the address line");
        // Keep reading, as a terminal would, so the desk never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Serve {
            child,
            url,
            _home: home,
        }
    }

    /// `http://127.0.0.1:N` without the key.
    fn origin(&self) -> String {
        self.url.split("/?").next().expect("origin").to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn output(args: &[&str], home: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("FRONTDESK_API_URL")
        .output()
        .expect("frontdesk runs")
}

#[tokio::test]
async fn browser_mode_needs_the_launch_key_for_pages_assets_and_commands() {
    let serve = Serve::start(&["--demo", "--port", "0"]);
    let origin = serve.origin();
    assert!(origin.starts_with("http://127.0.0.1:"), "{origin}");
    let plain = reqwest::Client::new();
    for path in ["/", "/index.html", "/api/events", "/does-not-exist"] {
        let status = plain
            .get(format!("{origin}{path}"))
            .send()
            .await
            .expect("answers")
            .status();
        assert_eq!(status, 401, "{path} without the key");
    }
    let status = plain
        .post(format!("{origin}/api/commands/app_status"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status, 401);
    let wrong = plain
        .get(format!("{origin}/?key={}", "0".repeat(64)))
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 401);

    // The printed address opens the page and leaves a cookie that carries the key from then on.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let page = browser.get(&serve.url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .expect("a CSP")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains("<div id=\"root\">"), "{html}");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a script tag")
        .trim_start_matches('.')
        .to_owned();
    let js = browser
        .get(format!("{origin}{script}"))
        .send()
        .await
        .expect("asset");
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .contains("javascript"));

    let status: serde_json::Value = browser
        .post(format!("{origin}/api/commands/app_status"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("command")
        .json()
        .await
        .expect("json");
    assert_eq!(status["surface"], "browser");
    assert_eq!(status["api"]["state"], "connected");
    assert_eq!(status["api"]["demo"], true);
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    // The UI never learns where the API lives.
    assert!(!status.to_string().contains("127.0.0.1"), "{status}");

    let unknown = browser
        .post(format!("{origin}/api/commands/drop_database"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), 404);
    let unknown: serde_json::Value = unknown.json().await.expect("json");
    assert_eq!(unknown["code"], "unknown_command");

    let bad_args = browser
        .post(format!("{origin}/api/commands/configure_api"))
        .json(&serde_json::json!({ "apiUrl": 42 }))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad_args.status(), 400);
}

#[tokio::test]
async fn browser_mode_streams_desk_events() {
    // The desk's API is a server this test controls: stopping it makes the desk announce the
    // outage on the event stream.
    let api = practice_studio_server::Server::builder()
        .demo(true)
        .start()
        .await
        .expect("api");
    let serve = Serve::start(&["--api-url", &api.url(), "--port", "0"]);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    assert_eq!(
        browser.get(&serve.url).send().await.expect("page").status(),
        200
    );
    let response = browser
        .get(format!("{}/api/events", serve.origin()))
        .send()
        .await
        .expect("events");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/event-stream"));
    api.shutdown().await.expect("api stops");
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
            if seen.contains("\"state\":\"unreachable\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "events seen: {seen}");
    assert!(seen.contains("event: desk"), "{seen}");
    assert!(seen.contains("connection_changed"), "{seen}");
}

#[test]
fn serve_refuses_non_loopback_addresses() {
    let home = tempfile::tempdir().expect("tempdir");
    for bind in ["0.0.0.0", "192.168.0.2"] {
        let out = output(&["serve", "--demo", "--bind", bind], home.path());
        assert!(!out.status.success(), "{bind} accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("127.0.0.1 only"), "{stderr}");
    }
}

#[test]
fn an_explicit_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let home = tempfile::tempdir().expect("tempdir");
    let out = output(&["serve", "--demo", "--port", &port], home.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&port) && stderr.contains("--port"),
        "{stderr}"
    );
}

#[test]
fn the_window_without_a_display_points_to_browser_mode() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = output(&["--demo"], home.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("frontdesk serve"), "{stderr}");
}

#[test]
fn two_desks_cannot_share_one_data_directory() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("desk-a");
    let data = data.to_str().expect("utf-8 path");
    let _first = Serve::start(&["--demo", "--port", "0", "--data-dir", data]);
    let out = output(
        &["serve", "--demo", "--port", "0", "--data-dir", data],
        home.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another Front Desk process"),
        "{stderr}"
    );
}

#[tokio::test]
async fn two_desks_with_their_own_data_directories_share_one_api() {
    let api = practice_studio_server::Server::builder()
        .demo(true)
        .demo_patients(5)
        .start()
        .await
        .expect("api");
    let home = tempfile::tempdir().expect("tempdir");
    let desks: Vec<Serve> = ["desk-a", "desk-b"]
        .iter()
        .map(|name| {
            let dir = home.path().join(name);
            Serve::start(&[
                "--api-url",
                &api.url(),
                "--port",
                "0",
                "--data-dir",
                dir.to_str().expect("utf-8"),
            ])
        })
        .collect();
    assert_ne!(desks[0].origin(), desks[1].origin());
    for desk in &desks {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        assert_eq!(
            browser.get(&desk.url).send().await.expect("page").status(),
            200
        );
        let status: serde_json::Value = browser
            .post(format!("{}/api/commands/app_status", desk.origin()))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("command")
            .json()
            .await
            .expect("json");
        assert_eq!(status["api"]["state"], "connected", "{status}");
    }
}

#[test]
fn print_config_shows_each_value_and_its_source() {
    let home = tempfile::tempdir().expect("tempdir");
    let user = home.path().join("config/frontdesk");
    std::fs::create_dir_all(&user).expect("mkdir");
    std::fs::write(user.join("config.toml"), "lock_minutes = 12\n").expect("write");
    let out = Command::new(BIN)
        .args([
            "--print-config",
            "--proxy",
            "http://proxy.clinic.example:3128",
        ])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("FRONTDESK_API_URL", "https://ps.clinic.example")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {shown}"))
            .to_owned()
    };
    assert!(line("api_url").contains("https://ps.clinic.example"));
    assert!(line("api_url").contains("environment: FRONTDESK_API_URL"));
    assert!(line("lock_minutes").contains("12") && line("lock_minutes").contains("user:"));
    assert!(line("proxy").contains("flag: --proxy"));
    assert!(line("client_id").contains("frontdesk") && line("client_id").contains("default"));
    assert!(line("update_url").contains("(not set)"));
    assert!(
        line("update_channel").contains("stable") && line("update_channel").contains("default")
    );
    assert!(line("extra_ca_file").contains("(not set)"));

    let bad = Command::new(BIN)
        .args(["--print-config", "--lock-minutes", "forever"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lock_minutes"));
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let committed = repo_root().join("ui/src/bindings");
    let fresh = tempfile::tempdir().expect("tempdir");
    frontdesk_app::bindings::write_all(fresh.path()).expect("bindings generate");
    if std::env::var_os("FRONTDESK_UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(&committed).expect("mkdir");
        for entry in std::fs::read_dir(&committed).expect("read") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "ts") {
                std::fs::remove_file(path).expect("remove stale binding");
            }
        }
        for entry in std::fs::read_dir(fresh.path()).expect("read") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, committed.join(path.file_name().expect("name"))).expect("copy");
        }
        return;
    }
    let list = |dir: &Path| -> Vec<(String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "ts"))
            .map(|p| {
                (
                    p.file_name().expect("name").to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).expect("read"),
                )
            })
            .collect();
        files.sort();
        files
    };
    let (want, have) = (list(fresh.path()), list(&committed));
    assert!(
        want == have,
        "ui/src/bindings differs from the Rust types: run `make bindings` and commit the result"
    );
}
