//! The real binary's `admin` actions (users, clients, API keys) on a SQLite file and on a
//! PostgreSQL database, checked through a server on that database: what the command creates
//! signs in, and what it revokes or disables is refused.

// This suite uses the shared database support, not the single-server helpers.
#[allow(dead_code)]
mod support;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use practice_studio_server::{Database, Server};
use serde_json::Value;
use support::{bearer, TestDatabase};

/// Runs `practice-studio-server admin --database <database> <args>`, with `stdin` written to its
/// standard input, off the runtime's threads.
async fn admin(database: &Database, args: &[&str], stdin: &str) -> Output {
    let target = match database {
        Database::Sqlite(path) => path.display().to_string(),
        Database::Postgres(url) => url.clone(),
    };
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
            .arg("admin")
            .arg("--database")
            .arg(&target)
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        child
            .stdin
            .take()
            .expect("stdin piped")
            .write_all(stdin.as_bytes())
            .expect("writes stdin");
        child.wait_with_output().expect("the admin command ends")
    })
    .await
    .expect("the admin command ran")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs an action that must succeed and returns its standard output.
async fn admin_ok(database: &Database, args: &[&str], stdin: &str) -> String {
    let output = admin(database, args, stdin).await;
    assert!(
        output.status.success(),
        "admin {args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Runs an action that must fail and returns its standard error.
async fn admin_fails(database: &Database, args: &[&str], stdin: &str) -> String {
    let output = admin(database, args, stdin).await;
    assert!(!output.status.success(), "admin {args:?} succeeded");
    stderr(&output)
}

/// The word after `marker` in `text` (a printed id or secret).
fn after(text: &str, marker: &str) -> String {
    let (_, rest) = text
        .split_once(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text:?}"));
    rest.split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("a word after {marker:?} in {text:?}"))
        .trim_end_matches([';', ','])
        .to_owned()
}

async fn token(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .await
        .expect("token endpoint answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn me(http: &reqwest::Client, base: &str, auth: &str) -> (u16, Value) {
    let response = http
        .get(format!("{base}/api/v1/me"))
        .header("Authorization", auth)
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every admin action on `database`, each checked through a server on the same database.
async fn admin_actions_take_effect(database: Database) {
    // Users: the password comes from standard input and must be long enough.
    let short = admin_fails(
        &database,
        &[
            "create-user",
            "--email",
            "short@example.com",
            "--name",
            "Short",
            "--role",
            "reception",
        ],
        "too-short\n",
    )
    .await;
    assert!(short.contains("at least 10 characters"), "{short}");
    let wrong_role = admin_fails(
        &database,
        &[
            "create-user",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "janitor",
        ],
        "long-enough-password\n",
    )
    .await;
    assert!(wrong_role.contains("--role"), "{wrong_role}");
    let created = admin_ok(
        &database,
        &[
            "create-user",
            "--email",
            "new.desk@example.com",
            "--name",
            "New Desk",
            "--role",
            "reception",
        ],
        "correct-horse-battery\n",
    )
    .await;
    let user_id = after(&created, "created user ");
    assert!(user_id.starts_with("USR-"), "{created}");

    // Clients: a public one for the desk's password grant, a confidential one with a secret.
    let public = admin_ok(
        &database,
        &[
            "create-client",
            "--id",
            "desk",
            "--name",
            "Desk",
            "--public",
            "--grants",
            "password",
            "--scopes",
            "read:patients write:patients",
        ],
        "",
    )
    .await;
    assert!(public.contains("created public client desk"), "{public}");
    let refused = admin_fails(
        &database,
        &[
            "create-client",
            "--id",
            "bad",
            "--name",
            "Bad",
            "--public",
            "--scopes",
            "read:patients",
        ],
        "",
    )
    .await;
    assert!(refused.contains("client_credentials"), "{refused}");
    let confidential = admin_ok(
        &database,
        &[
            "create-client",
            "--id",
            "sync",
            "--name",
            "Sync",
            "--scopes",
            "read:patients",
        ],
        "",
    )
    .await;
    let secret = after(&confidential, "(shown once): ");
    assert!(secret.starts_with("ps_cs_"), "{confidential}");

    // A legacy API key.
    let key_output = admin_ok(
        &database,
        &[
            "create-api-key",
            "--name",
            "Kiosk",
            "--scopes",
            "read:patients",
        ],
        "",
    )
    .await;
    let key_id = after(&key_output, "created API key ");
    let key = after(&key_output, "(shown once): ");
    assert!(key_id.starts_with("KEY-"), "{key_output}");

    // What was created signs in on a server on the same database.
    let server = Server::builder()
        .storage(database.clone())
        .start()
        .await
        .expect("server starts");
    let base = server.url();
    let http = reqwest::Client::new();
    let (status, body) = token(
        &http,
        &base,
        &[
            ("grant_type", "password"),
            ("client_id", "desk"),
            ("username", "new.desk@example.com"),
            ("password", "correct-horse-battery"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let user_auth = bearer(body["access_token"].as_str().expect("token"));
    let (status, who) = me(&http, &base, &user_auth).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["user"]["id"], user_id.as_str());
    assert_eq!(who["user"]["role"], "reception");
    assert_eq!(who["client"], "desk");

    let client_form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sync"),
        ("client_secret", secret.as_str()),
    ];
    let (status, body) = token(&http, &base, &client_form).await;
    assert_eq!(status, 200, "{body}");
    let client_auth = bearer(body["access_token"].as_str().expect("token"));
    let (status, who) = me(&http, &base, &client_auth).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["client"], "sync");
    assert_eq!(who["scopes"], serde_json::json!(["read:patients"]));

    let key_auth = format!("ApiKey {key}");
    let (status, who) = me(&http, &base, &key_auth).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["authentication"], "api_key");

    // What the command revokes or disables is refused from then on.
    let revoked = admin_ok(
        &database,
        &["revoke-user-tokens", "--email", "new.desk@example.com"],
        "",
    )
    .await;
    assert!(revoked.contains("revoked 1 tokens"), "{revoked}");
    assert_eq!(me(&http, &base, &user_auth).await.0, 401);

    let disabled = admin_ok(&database, &["disable-client", "--id", "sync"], "").await;
    assert!(disabled.contains("disabled client sync"), "{disabled}");
    assert_eq!(me(&http, &base, &client_auth).await.0, 401);
    let (status, body) = token(&http, &base, &client_form).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");

    let revoked = admin_ok(&database, &["revoke-api-key", "--id", &key_id], "").await;
    assert!(revoked.contains(&key_id), "{revoked}");
    assert_eq!(me(&http, &base, &key_auth).await.0, 401);

    // Unknown names are errors, not silent successes.
    let unknown = admin_fails(&database, &["revoke-api-key", "--id", "KEY-none"], "").await;
    assert!(unknown.contains("no API key KEY-none"), "{unknown}");
    let unknown = admin_fails(&database, &["disable-client", "--id", "nobody"], "").await;
    assert!(unknown.contains("no client nobody"), "{unknown}");
    let unknown = admin_fails(
        &database,
        &["revoke-user-tokens", "--email", "nobody@example.com"],
        "",
    )
    .await;
    assert!(unknown.contains("no user nobody@example.com"), "{unknown}");
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn admin_actions_take_effect_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    admin_actions_take_effect(Database::Sqlite(dir.path().join("admin.db"))).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn admin_actions_take_effect_on_postgres() {
    let database = TestDatabase::create()
        .await
        .expect("needs PostgreSQL (PRACTICE_STUDIO_TEST_PG): make test-pg runs it");
    admin_actions_take_effect(database.database()).await;
}
