//! Integration tests: the real server on a loopback port, spoken to over HTTP (and the SDK).

mod support;

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
    let (builder, _database) = support::builder().await;
    let server = builder
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
    let (builder, _database) = support::builder().await;
    let server = builder.start().await.expect("server starts");
    let client = Client::new(&server.url()).expect("client");
    assert!(!client.health().await.expect("health").demo);
    server.shutdown().await.expect("clean shutdown");
    assert!(client.health().await.is_err());
}

#[tokio::test]
async fn binding_an_address_in_use_is_a_clear_error() {
    let (builder, _database) = support::builder().await;
    let first = builder.clone().start().await.expect("server starts");
    let error = match builder.bind(first.local_addr().to_string()).start().await {
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

use serde_json::Value;
use support::{bearer, envelope, reference_new_patient, Api};

#[tokio::test]
async fn client_credentials_tokens_have_exactly_the_reference_shape() {
    let api = Api::demo(10).await;
    let response = api
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
            ("scope", "read:patients write:appointments"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read:patients write:appointments");
}

#[tokio::test]
async fn oauth_errors_follow_rfc_6749() {
    let api = Api::demo(10).await;
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Form, u16, &str); 6] = [
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "integration-premium"),
                ("client_secret", "wrong"),
            ],
            401,
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "frontdesk"),
            ],
            400,
            "unauthorized_client",
        ),
        (
            &[("grant_type", "teleport"), ("client_id", "frontdesk")],
            400,
            "unsupported_grant_type",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "integration-standard"),
                ("client_secret", "demo-secret"),
                ("scope", "admin:users"),
            ],
            400,
            "invalid_scope",
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "frontdesk"),
                ("username", "reception@demo.clinic"),
                ("password", "nope"),
            ],
            400,
            "invalid_grant",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "frontdesk"),
                ("refresh_token", "ps_rt_unknown"),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (form, status, code) in cases {
        let response = api.token_response(form).await;
        assert_eq!(response.status(), status, "{form:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], code, "{form:?}: {body}");
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn user_tokens_carry_at_most_the_role_s_scopes_and_refresh_rotates() {
    let api = Api::demo(10).await;
    let response = api
        .token_response(&[
            ("grant_type", "password"),
            ("client_id", "frontdesk"),
            ("username", "reception@demo.clinic"),
            ("password", "demo-password"),
        ])
        .await;
    let body: Value = response.json().await.expect("json");
    let scope = body["scope"].as_str().expect("scope");
    assert!(
        scope.contains("write:appointments") && !scope.contains("read:records"),
        "{scope}"
    );
    let refresh = body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let asked_records = api
        .token_response(&[
            ("grant_type", "password"),
            ("client_id", "frontdesk"),
            ("username", "reception@demo.clinic"),
            ("password", "demo-password"),
            ("scope", "read:records"),
        ])
        .await;
    assert_eq!(asked_records.status(), 400);

    let refreshed = api
        .token_response(&[
            ("grant_type", "refresh_token"),
            ("client_id", "frontdesk"),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.expect("json");
    let new_access = refreshed["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    // The old refresh token is spent; using it again ends the whole sign-in.
    let reuse = api
        .token_response(&[
            ("grant_type", "refresh_token"),
            ("client_id", "frontdesk"),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(reuse.status(), 400);
    let after_reuse = api.get("/api/v1/me", &bearer(&new_access)).await;
    envelope(after_reuse, 401, "unauthorized").await;
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user_for_a_while() {
    let api = Api::demo(10).await;
    let attempt = |password: &'static str| {
        let api = &api;
        async move {
            api.token_response(&[
                ("grant_type", "password"),
                ("client_id", "frontdesk"),
                ("username", "billing@demo.clinic"),
                ("password", password),
            ])
            .await
            .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password").await, 400);
    }
    assert_eq!(
        attempt("demo-password").await,
        400,
        "locked even with the right password"
    );
    api.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(attempt("demo-password").await, 200);
}

#[tokio::test]
async fn credentials_missing_bad_expired_revoked_or_short_of_scope_are_refused() {
    let api = Api::demo(10).await;
    let none = api
        .http
        .get(api.url("/api/v1/patients"))
        .send()
        .await
        .expect("answers");
    assert!(none.headers().contains_key("www-authenticate"));
    // Like every API response, a refusal carries the rate-limit headers (of the caller's address).
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(none.headers().contains_key(name), "{name} on a 401");
    }
    envelope(none, 401, "unauthorized").await;
    envelope(
        api.get("/api/v1/patients", "Bearer ps_at_forged").await,
        401,
        "unauthorized",
    )
    .await;
    envelope(
        api.get("/api/v1/patients", "Basic abc").await,
        401,
        "unauthorized",
    )
    .await;

    let billing = api.user_token("billing@demo.clinic").await;
    assert_eq!(
        api.get("/api/v1/patients", &bearer(&billing))
            .await
            .status(),
        200
    );
    let post = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", bearer(&billing))
        .json(&reference_new_patient())
        .send()
        .await
        .expect("answers");
    envelope(post, 403, "forbidden").await;

    let key = api.get("/api/v1/patients", "ApiKey demo-api-key").await;
    assert_eq!(key.status(), 200);
    let key_post = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", "ApiKey demo-api-key")
        .json(&reference_new_patient())
        .send()
        .await
        .expect("answers");
    envelope(key_post, 403, "forbidden").await;
    envelope(
        api.get("/api/v1/patients", "ApiKey wrong-key").await,
        401,
        "unauthorized",
    )
    .await;

    let revoked = api.user_token("reception@demo.clinic").await;
    let revoke = api
        .http
        .post(api.url("/oauth/revoke"))
        .form(&[("token", revoked.as_str()), ("client_id", "frontdesk")])
        .send()
        .await
        .expect("answers");
    assert_eq!(revoke.status(), 200);
    envelope(
        api.get("/api/v1/patients", &bearer(&revoked)).await,
        401,
        "unauthorized",
    )
    .await;

    let expiring = api.client_token("integration-premium").await;
    assert_eq!(
        api.get("/api/v1/me", &bearer(&expiring)).await.status(),
        200
    );
    api.clock.advance(chrono::Duration::seconds(3601));
    envelope(
        api.get("/api/v1/me", &bearer(&expiring)).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn me_names_the_user_role_scopes_client_and_tier() {
    let api = Api::demo(10).await;
    let token = api.user_token("clinician@demo.clinic").await;
    let me: Value = api
        .get("/api/v1/me", &bearer(&token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["email"], "clinician@demo.clinic");
    assert_eq!(me["user"]["role"], "clinician");
    assert_eq!(me["client"], "frontdesk");
    assert_eq!(me["tier"], "premium");
    assert!(me["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .any(|s| s == "read:records"));
    let key: Value = api
        .get("/api/v1/me", "ApiKey demo-api-key")
        .await
        .json()
        .await
        .expect("json");
    assert!(key["user"].is_null());
    assert_eq!(key["tier"], "standard");
}

#[tokio::test]
async fn the_patient_list_pages_sorts_filters_and_expands() {
    let api = Api::demo(250).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let page: Value = api
        .get("/api/v1/patients", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 250);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    let patients = page["patients"].as_array().expect("patients");
    assert_eq!(patients.len(), 20);
    assert!(
        patients[0].get("allergies").is_none(),
        "summaries carry no allergies"
    );
    assert!(patients[0]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .starts_with("/api/v1/patients/PAT-"));
    let names: Vec<(String, String)> = patients
        .iter()
        .map(|p| {
            (
                p["lastName"].as_str().unwrap_or("").to_lowercase(),
                p["firstName"].as_str().unwrap_or("").to_lowercase(),
            )
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // Paging by creation order visits every patient exactly once.
    let mut seen = std::collections::BTreeSet::new();
    for offset in (0..250).step_by(100) {
        let page: Value = api
            .get(
                &format!("/api/v1/patients?sort=created&limit=100&offset={offset}"),
                &auth,
            )
            .await
            .json()
            .await
            .expect("json");
        for p in page["patients"].as_array().expect("patients") {
            assert!(seen.insert(p["id"].as_str().expect("id").to_owned()));
        }
    }
    assert_eq!(seen.len(), 250);

    let full: Value = api
        .get("/api/v1/patients?expand=full&limit=5", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert!(full["patients"][0]["allergies"].is_array());

    let deceased: Value = api
        .get("/api/v1/patients?status=deceased&limit=100", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert!(deceased["patients"]
        .as_array()
        .expect("list")
        .iter()
        .all(|p| p["status"] == "deceased"));

    let first = &patients[0];
    let search = format!(
        "/api/v1/patients?search={}%20{}",
        first["firstName"].as_str().expect("first"),
        first["lastName"].as_str().expect("last")
    );
    let found: Value = api.get(&search, &auth).await.json().await.expect("json");
    assert!(found["patients"]
        .as_array()
        .expect("list")
        .iter()
        .any(|p| p["id"] == first["id"]));
    let by_mrn: Value = api
        .get(
            &format!(
                "/api/v1/patients?search={}",
                first["mrn"].as_str().expect("mrn")
            ),
            &auth,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(by_mrn["total"], 1);

    let bad = api
        .get(
            "/api/v1/patients?limit=101&sort=shoe&order=up&status=gone",
            &auth,
        )
        .await;
    let error = envelope(bad, 400, "invalid_request").await;
    let fields: Vec<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["limit", "sort", "order", "status"]);
}

#[tokio::test]
async fn a_registered_patient_can_be_read_back_with_its_version() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let created = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&reference_new_patient())
        .send()
        .await
        .expect("answers");
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(created.headers()["etag"], "\"1\"");
    let body: Value = created.json().await.expect("json");
    assert_eq!(
        location,
        format!("/api/v1/patients/{}", body["id"].as_str().expect("id"))
    );
    assert_eq!(body["version"], 1);
    assert!(body["mrn"].as_str().expect("mrn").starts_with("MRN-"));
    let read = api.get(&location, &auth).await;
    assert_eq!(read.headers()["etag"], "\"1\"");
    let read: Value = read.json().await.expect("json");
    assert_eq!(read["firstName"], "Jane");
    assert_eq!(read["contactInfo"]["address"]["postalCode"], "62702");
    envelope(
        api.get("/api/v1/patients/PAT-00000", &auth).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn invalid_patients_are_refused_with_every_problem_listed() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let mut body = reference_new_patient();
    body["dateOfBirth"] = "2099-01-01".into();
    body["contactInfo"]["email"] = "nobody-at-example".into();
    body["gender"] = "Q".into();
    let response = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&body)
        .send()
        .await
        .expect("answers");
    let error = envelope(response, 400, "invalid_request").await;
    assert_eq!(error["message"], "Validation failed for one or more fields");
    let details = error["details"].as_array().expect("details");
    assert!(details.contains(
        &serde_json::json!({"field": "dateOfBirth", "issue": "must be a valid date in the past", "code": "date_in_future"})
    ));
    assert!(details.contains(
        &serde_json::json!({"field": "contactInfo.email", "issue": "must be a valid email address", "code": "invalid_email"})
    ));
    assert!(details.iter().any(|d| d["field"] == "gender"));

    let wrong_type = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .header("Content-Type", "text/plain")
        .body(reference_new_patient().to_string())
        .send()
        .await
        .expect("answers");
    envelope(wrong_type, 415, "unsupported_media_type").await;
    let not_json = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .body("{\"firstName\": ")
        .send()
        .await
        .expect("answers");
    envelope(not_json, 400, "invalid_request").await;
    let nested = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"firstName": "A", "lastName": "B", "dateOfBirth": "1970-01-01", "gender": "F", "contactInfo": {"address": {"line1": 5}}}))
        .send()
        .await
        .expect("answers");
    let error = envelope(nested, 400, "invalid_request").await;
    assert_eq!(error["details"][0]["field"], "contactInfo.address.line1");
    let too_big = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("answers");
    envelope(too_big, 413, "payload_too_large").await;
    let html_only = api
        .http
        .get(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .header("Accept", "text/html")
        .send()
        .await
        .expect("answers");
    envelope(html_only, 406, "not_acceptable").await;
}

#[tokio::test]
async fn updates_merge_one_level_and_refuse_stale_versions() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let mut new = reference_new_patient();
    new["contactInfo"]["address"]["line2"] = "Apt 4B".into();
    let created: Value = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&new)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let path = format!("/api/v1/patients/{}", created["id"].as_str().expect("id"));
    // The reference's Update Patient example.
    let update = serde_json::json!({
      "contactInfo": { "phone": "555-111-3333",
        "address": { "line1": "789 Maple Dr", "city": "Springfield", "state": "IL", "postalCode": "62703", "country": "USA" } },
      "insurance": { "primary": { "provider": "United Healthcare", "memberId": "UHC87654321", "groupNumber": "UHG123456" } }
    });
    let updated = api
        .http
        .put(api.url(&path))
        .header("Authorization", &auth)
        .header("If-Match", "\"1\"")
        .json(&update)
        .send()
        .await
        .expect("answers");
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    let updated: Value = updated.json().await.expect("json");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["contactInfo"]["address"]["line1"], "789 Maple Dr");
    assert!(updated["contactInfo"]["address"].get("line2").is_none());
    assert_eq!(updated["contactInfo"]["email"], "jane.smith@example.com");
    assert_eq!(
        updated["insurance"]["primary"]["provider"],
        "United Healthcare"
    );

    let stale = api
        .http
        .put(api.url(&path))
        .header("Authorization", &auth)
        .header("If-Match", "\"1\"")
        .json(&serde_json::json!({"preferredLanguage": "Spanish"}))
        .send()
        .await
        .expect("answers");
    let error = envelope(stale, 409, "conflict").await;
    assert_eq!(error["details"][0]["field"], "If-Match");
    let read_only = api
        .http
        .put(api.url(&path))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"id": "PAT-1", "version": 9}))
        .send()
        .await
        .expect("answers");
    envelope(read_only, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_retried_post_with_the_same_key_creates_one_patient() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let post = |body: Value, key: &'static str| {
        let api = &api;
        let auth = auth.clone();
        async move {
            api.http
                .post(api.url("/api/v1/patients"))
                .header("Authorization", auth)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .expect("answers")
        }
    };
    let first = post(reference_new_patient(), "key-1").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.expect("json");
    let again = post(reference_new_patient(), "key-1").await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert!(again.headers().contains_key("location"));
    let again: Value = again.json().await.expect("json");
    assert_eq!(first["id"], again["id"]);
    let list: Value = api
        .get("/api/v1/patients?search=jane%20smith", &auth)
        .await
        .json()
        .await
        .expect("json");
    let janes = list["patients"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["contactInfo"]["email"] == "jane.smith@example.com")
        .count();
    assert_eq!(janes, 1);

    let mut other = reference_new_patient();
    other["firstName"] = "Janet".into();
    let error = envelope(post(other, "key-1").await, 422, "unprocessable_entity").await;
    assert_eq!(error["details"][0]["field"], "Idempotency-Key");

    // A PUT retried after its first try succeeded replays instead of conflicting with itself.
    let path = format!("/api/v1/patients/{}", first["id"].as_str().expect("id"));
    let put = || async {
        api.http
            .put(api.url(&path))
            .header("Authorization", &auth)
            .header("Idempotency-Key", "put-1")
            .header("If-Match", "\"1\"")
            .json(&serde_json::json!({"preferredLanguage": "Spanish"}))
            .send()
            .await
            .expect("answers")
    };
    assert_eq!(put().await.status(), 200);
    let retried = put().await;
    assert_eq!(retried.status(), 200);
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn request_and_correlation_ids_are_echoed_or_made() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let mine = api
        .http
        .get(api.url("/api/v1/patients/PAT-0"))
        .header("Authorization", &auth)
        .header("X-Request-ID", "desk-42")
        .header("X-Correlation-ID", "visit-7")
        .send()
        .await
        .expect("answers");
    assert_eq!(mine.headers()["x-correlation-id"], "visit-7");
    let error = envelope(mine, 404, "not_found").await;
    assert_eq!(error["request_id"], "desk-42");
    let made = api.get("/api/v1/patients", &auth).await;
    let id = made.headers()["x-request-id"].to_str().expect("ascii");
    assert!(id.starts_with("req-"), "{id}");
    envelope(
        api.get("/api/v1/nothing-here", &auth).await,
        404,
        "not_found",
    )
    .await;
    let wrong_method = api
        .http
        .delete(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("answers");
    envelope(wrong_method, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn a_standard_caller_gets_a_burst_of_ten_then_429_with_retry_after() {
    let api = Api::demo(5).await;
    let mut last = None;
    for i in 0..10 {
        let response = api.get("/api/v1/me", "ApiKey demo-api-key").await;
        assert_eq!(response.status(), 200, "request {i}");
        assert_eq!(response.headers()["x-ratelimit-limit"], "100");
        last = Some(
            response.headers()["x-ratelimit-remaining"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
    }
    assert_eq!(last.as_deref(), Some("0"));
    let refused = api.get("/api/v1/me", "ApiKey demo-api-key").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(refused.headers().contains_key("x-ratelimit-reset"));
    envelope(refused, 429, "too_many_requests").await;
    api.clock.advance(chrono::Duration::milliseconds(600));
    assert_eq!(
        api.get("/api/v1/me", "ApiKey demo-api-key").await.status(),
        200
    );
    // Another caller has its own bucket.
    let other = bearer(&api.client_token("integration-standard").await);
    assert_eq!(api.get("/api/v1/me", &other).await.status(), 200);
}

#[test]
fn logs_name_routes_but_never_tokens_or_patient_details() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
        .args(["--demo", "--demo-patients", "5", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server binary starts");
    // The log is read from the start: the demo data is generated (and logged at debug level)
    // before the start-up line, and a full pipe would stop the server.
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("start-up line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address")
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let token = runtime.block_on(async {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "frontdesk"),
                ("username", "reception@demo.clinic"),
                ("password", "demo-password"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let token = token["access_token"].as_str().expect("token").to_owned();
        let mut patient = reference_new_patient();
        patient["firstName"] = "Zebulon".into();
        patient["lastName"] = "Quixotely".into();
        patient["dateOfBirth"] = "1961-07-04".into();
        patient["contactInfo"]["phone"] = "555-246-8135".into();
        patient["contactInfo"]["email"] = "zeb.quixotely@example.com".into();
        let created: Value = http
            .post(format!("{url}/api/v1/patients"))
            .bearer_auth(&token)
            .json(&patient)
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        let id = created["id"].as_str().expect("id").to_owned();
        let _ = http
            .get(format!("{url}/api/v1/patients/{id}"))
            .bearer_auth(&token)
            .send()
            .await;
        let _ = http
            .get(format!("{url}/api/v1/patients?search=Quixotely"))
            .bearer_auth(&token)
            .send()
            .await;
        let _ = http
            .get(format!("{url}/api/v1/patients"))
            .header("Authorization", "ApiKey demo-api-key")
            .send()
            .await;
        token
    });
    child.kill().expect("stop");
    let _ = child.wait();
    let log = log.join().expect("log reader");
    assert!(log.contains("route=\"/api/v1/patients/{id}\""), "{log}");
    for secret in [
        token.as_str(),
        "demo-password",
        "demo-api-key",
        "Zebulon",
        "Quixotely",
        "1961-07-04",
        "555-246-8135",
        "zeb.quixotely",
        "reception@demo.clinic",
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}");
    }
}

/// A browser's view of the sign-in page: cookies kept, redirects not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn sign_in_page(api: &Api, browser: &reqwest::Client, extra: &str) -> reqwest::Response {
    browser
        .get(api.url(&format!(
            "/oauth/authorize?response_type=code&client_id=frontdesk&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&state=st-99{extra}"
        )))
        .send()
        .await
        .expect("page")
}

#[tokio::test]
async fn the_browser_sign_in_returns_a_code_that_pkce_exchanges_once() {
    let api = Api::demo(5).await;
    let browser = browser();
    let page = sign_in_page(
        &api,
        &browser,
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("Sign in to Practice Studio") && html.contains("type=\"password\""));
    let csrf = hidden(&html, "csrf_token");
    let form = |password: &'static str, csrf: String| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", "frontdesk".to_owned()),
            ("redirect_uri", "http://127.0.0.1:53682/callback".to_owned()),
            ("state", "st-99".to_owned()),
            ("code_challenge", CHALLENGE.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
            ("csrf_token", csrf),
            ("email", "clinician@demo.clinic".to_owned()),
            ("password", password.to_owned()),
            ("decision", "allow".to_owned()),
        ]
    };
    let wrong = browser
        .post(api.url("/oauth/authorize"))
        .form(&form("nope", csrf.clone()))
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 401);
    assert!(wrong
        .text()
        .await
        .expect("html")
        .contains("Wrong email or password"));
    // Without the page's cookie (a forged form), nothing happens.
    let forged = reqwest::Client::new()
        .post(api.url("/oauth/authorize"))
        .form(&form("demo-password", csrf.clone()))
        .send()
        .await
        .expect("answers");
    assert_eq!(forged.status(), 400);

    let signed_in = browser
        .post(api.url("/oauth/authorize"))
        .form(&form("demo-password", csrf))
        .send()
        .await
        .expect("answers");
    assert_eq!(signed_in.status(), 303);
    let location =
        url::Url::parse(signed_in.headers()["location"].to_str().expect("ascii")).expect("url");
    assert_eq!(location.host_str(), Some("127.0.0.1"));
    assert_eq!(location.port(), Some(53682));
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "st-99");
    let code = pairs["code"].clone();

    let exchange = |verifier: &'static str| {
        let api = &api;
        let code = code.clone();
        async move {
            api.token_response(&[
                ("grant_type", "authorization_code"),
                ("client_id", "frontdesk"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:53682/callback"),
                ("code_verifier", verifier),
            ])
            .await
        }
    };
    let tokens = exchange(VERIFIER).await;
    assert_eq!(tokens.status(), 200);
    let tokens: Value = tokens.json().await.expect("json");
    assert!(tokens["scope"]
        .as_str()
        .expect("scope")
        .contains("read:records"));
    assert!(tokens["refresh_token"].is_string());
    let me: Value = api
        .get(
            "/api/v1/me",
            &bearer(tokens["access_token"].as_str().expect("token")),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["email"], "clinician@demo.clinic");
    // A code is good once.
    assert_eq!(exchange(VERIFIER).await.status(), 400);
}

#[tokio::test]
async fn a_wrong_verifier_fails_and_a_missing_challenge_is_refused() {
    let api = Api::demo(5).await;
    let browser = browser();
    let no_pkce = sign_in_page(&api, &browser, "").await;
    assert_eq!(no_pkce.status(), 303);
    let location = no_pkce.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.contains("error=invalid_request") && location.contains("state=st-99"),
        "{location}"
    );
    let plain = sign_in_page(
        &api,
        &browser,
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=plain"),
    )
    .await;
    assert!(plain.headers()["location"]
        .to_str()
        .expect("ascii")
        .contains("error=invalid_request"));

    let page = sign_in_page(
        &api,
        &browser,
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    )
    .await;
    let csrf = hidden(&page.text().await.expect("html"), "csrf_token");
    let response = browser
        .post(api.url("/oauth/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", "frontdesk"),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            ("state", "st-99"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("csrf_token", &csrf),
            ("email", "reception@demo.clinic"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .expect("answers");
    let location =
        url::Url::parse(response.headers()["location"].to_str().expect("ascii")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let wrong = api
        .token_response(&[
            ("grant_type", "authorization_code"),
            ("client_id", "frontdesk"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            (
                "code_verifier",
                "not-the-verifier-not-the-verifier-0123456789",
            ),
        ])
        .await;
    assert_eq!(wrong.status(), 400);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_foreign_redirect_or_unknown_client_is_shown_not_redirected() {
    let api = Api::demo(5).await;
    let browser = browser();
    for query in [
        "response_type=code&client_id=frontdesk&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=s",
        "response_type=code&client_id=nobody&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&state=s",
        "response_type=code&client_id=integration-premium&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&state=s",
    ] {
        let response = browser.get(api.url(&format!("/oauth/authorize?{query}"))).send().await.expect("answers");
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.headers().get("location").is_none());
    }
    let denied_page = sign_in_page(
        &api,
        &browser,
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
    )
    .await;
    let csrf = hidden(&denied_page.text().await.expect("html"), "csrf_token");
    let denied = browser
        .post(api.url("/oauth/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", "frontdesk"),
            ("redirect_uri", "http://127.0.0.1:53682/callback"),
            ("state", "st-99"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("csrf_token", &csrf),
            ("decision", "deny"),
        ])
        .send()
        .await
        .expect("answers");
    let location = denied.headers()["location"].to_str().expect("ascii");
    assert!(
        location.contains("error=access_denied") && location.contains("state=st-99"),
        "{location}"
    );
}

/// The server binary on a database file, started and killed by the test.
struct ServerProcess {
    child: std::process::Child,
    url: String,
}

impl ServerProcess {
    fn start(database: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_practice-studio-server"))
            .args([
                "--demo",
                "--demo-patients",
                "5",
                "--bind",
                "127.0.0.1:0",
                "--idempotency-lease",
                "1",
            ])
            .arg("--database")
            .arg(database)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server binary starts");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("start-up line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Self { child, url }
    }

    /// `kill -9`: no graceful shutdown, requests cut wherever they are.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends until the server gives a final answer (2xx), riding out a dead server and keys held by
/// requests that died with it.
async fn send_until_done(request: impl Fn() -> reqwest::RequestBuilder) -> Value {
    for _ in 0..100 {
        match request().send().await {
            Ok(response) if response.status().is_success() => {
                return response.json().await.expect("json");
            }
            Ok(response) if response.status() == 409 => {
                // The key is still held by the request that died: its lease runs out.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            Ok(response) => panic!(
                "unexpected {}: {:?}",
                response.status(),
                response.text().await
            ),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("no final answer after 100 tries");
}

#[tokio::test]
async fn writes_retried_across_server_crashes_take_effect_exactly_once() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().expect("tempdir");
    let database = dir.path().join("ps.db");
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("client");
    let mut server = ServerProcess::start(&database);
    let token: Value = http
        .post(format!("{}/oauth/token", server.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "frontdesk"),
            ("username", "reception@demo.clinic"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let auth = bearer(token["access_token"].as_str().expect("token"));
    let mut base = reference_new_patient();
    base["lastName"] = "Crashtarget".into();
    let target: Value = http
        .post(format!("{}/api/v1/patients", server.url))
        .header("Authorization", &auth)
        .json(&base)
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let target_id = target["id"].as_str().expect("id").to_owned();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261126);
    const ROUNDS: usize = 12;
    const POSTS: usize = 4;
    for round in 0..ROUNDS {
        let url = server.url.clone();
        let post = |i: usize| {
            let mut body = reference_new_patient();
            body["lastName"] = format!(
                "Crash{}x{}",
                (b'a' + round as u8) as char,
                (b'a' + i as u8) as char
            )
            .into();
            let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
            move || {
                http.post(format!("{url}/api/v1/patients"))
                    .header("Authorization", &auth)
                    .header("Idempotency-Key", format!("crash-post-{round}-{i}"))
                    .json(&body)
            }
        };
        let put = {
            let (http, url, auth, id) =
                (http.clone(), url.clone(), auth.clone(), target_id.clone());
            move || {
                http.put(format!("{url}/api/v1/patients/{id}"))
                    .header("Authorization", &auth)
                    .header("Idempotency-Key", format!("crash-put-{round}"))
                    .header("If-Match", format!("\"{}\"", round + 1))
                    .json(&serde_json::json!({ "preferredLanguage": format!("Language {round}") }))
            }
        };
        // Fire the round's writes, and kill the server somewhere in the middle of them.
        let in_flight: Vec<_> = (0..POSTS)
            .map(|i| tokio::spawn(post(i)().send()))
            .chain(std::iter::once(tokio::spawn(put().send())))
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(rng.random_range(0..12))).await;
        server.kill();
        for request in in_flight {
            let _ = request.await;
        }
        server = ServerProcess::start(&database);
        // Retries go to the restarted server: rebuild the requests for its address.
        let url = server.url.clone();
        for i in 0..POSTS {
            let mut body = reference_new_patient();
            body["lastName"] = format!(
                "Crash{}x{}",
                (b'a' + round as u8) as char,
                (b'a' + i as u8) as char
            )
            .into();
            let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
            send_until_done(move || {
                http.post(format!("{url}/api/v1/patients"))
                    .header("Authorization", &auth)
                    .header("Idempotency-Key", format!("crash-post-{round}-{i}"))
                    .json(&body)
            })
            .await;
        }
        let (http2, url2, auth2, id2) =
            (http.clone(), url.clone(), auth.clone(), target_id.clone());
        let updated = send_until_done(move || {
            http2
                .put(format!("{url2}/api/v1/patients/{id2}"))
                .header("Authorization", &auth2)
                .header("Idempotency-Key", format!("crash-put-{round}"))
                .header("If-Match", format!("\"{}\"", round + 1))
                .json(&serde_json::json!({ "preferredLanguage": format!("Language {round}") }))
        })
        .await;
        assert_eq!(
            updated["version"],
            round as i64 + 2,
            "round {round}: the PUT applied once"
        );
    }
    for round in 0..ROUNDS {
        for i in 0..POSTS {
            let name = format!(
                "Crash{}x{}",
                (b'a' + round as u8) as char,
                (b'a' + i as u8) as char
            );
            let found: Value = http
                .get(format!("{}/api/v1/patients?search={name}", server.url))
                .header("Authorization", &auth)
                .send()
                .await
                .expect("search")
                .json()
                .await
                .expect("json");
            assert_eq!(found["total"], 1, "{name} exists exactly once");
        }
    }
    let target: Value = http
        .get(format!("{}/api/v1/patients/{target_id}", server.url))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json");
    assert_eq!(target["version"], ROUNDS as i64 + 1);
    server.kill();
}

#[tokio::test]
async fn every_route_answers_each_kind_of_credential_as_its_scopes_say() {
    let api = Api::demo(5).await;
    // Credentials that will have expired: issued, then the clock moves past their lifetime.
    let expired = api.client_token("integration-premium").await;
    api.clock.advance(chrono::Duration::hours(2));
    let revoked = api.user_token("reception@demo.clinic").await;
    api.http
        .post(api.url("/oauth/revoke"))
        .form(&[("token", revoked.as_str()), ("client_id", "frontdesk")])
        .send()
        .await
        .expect("revoke");
    let lacking = {
        let response = api
            .token_response(&[
                ("grant_type", "client_credentials"),
                ("client_id", "integration-premium"),
                ("client_secret", "demo-secret"),
                ("scope", "read:providers"),
            ])
            .await;
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_owned()
    };
    let admin = api.user_token("admin@demo.clinic").await;
    let existing: Value = api
        .get("/api/v1/patients?limit=1", &bearer(&admin))
        .await
        .json()
        .await
        .expect("json");
    let id = existing["patients"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let patient_path = format!("/api/v1/patients/{id}");
    // (method, path, body, whether an API key with read scopes may call it)
    let routes: Vec<(&str, String, Option<Value>, bool)> = vec![
        ("GET", "/api/v1/me".into(), None, true),
        ("GET", "/api/v1/patients".into(), None, true),
        ("GET", patient_path.clone(), None, true),
        (
            "POST",
            "/api/v1/patients".into(),
            Some(reference_new_patient()),
            false,
        ),
        (
            "PUT",
            patient_path.clone(),
            Some(serde_json::json!({"preferredLanguage": "Polish"})),
            false,
        ),
    ];
    let credentials: Vec<(&str, Option<String>)> = vec![
        ("none", None),
        ("bad", Some("Bearer ps_at_not-a-token".into())),
        ("expired", Some(bearer(&expired))),
        ("revoked", Some(bearer(&revoked))),
        ("lacking scope", Some(bearer(&lacking))),
        ("api key", Some("ApiKey demo-api-key".into())),
        ("right scope", Some(bearer(&admin))),
    ];
    for (method, path, body, key_may) in &routes {
        for (kind, auth) in &credentials {
            let mut request = match *method {
                "GET" => api.http.get(api.url(path)),
                "POST" => api.http.post(api.url(path)),
                _ => api.http.put(api.url(path)),
            };
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let status = request.send().await.expect("answers").status().as_u16();
            let me = path == "/api/v1/me";
            let expected = match *kind {
                "none" | "bad" | "expired" | "revoked" => 401,
                "lacking scope" if me => 200,
                "lacking scope" => 403,
                "api key" if *key_may => 200,
                "api key" => 403,
                _ if *method == "POST" => 201,
                _ => 200,
            };
            assert_eq!(status, expected, "{method} {path} with {kind} credentials");
        }
    }
}

#[tokio::test]
async fn finished_idempotency_keys_are_forgotten_after_the_retention() {
    use practice_studio_server::storage::{
        ClaimOutcome, IdempotencyClaim, SqliteStorage, Storage, StoredResponse,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(&dir.path().join("ps.db"))
        .await
        .expect("opens");
    let claim = IdempotencyClaim {
        scope: "client:x".into(),
        key: "k1".into(),
    };
    let t0 = chrono::Utc::now();
    let lease = t0 + chrono::Duration::seconds(30);
    let outcome = storage
        .claim_idempotency_key(&claim, "POST", "/api/v1/patients", "h", t0, lease)
        .await
        .expect("claim");
    assert!(matches!(outcome, ClaimOutcome::Claimed));
    storage
        .finish_idempotency_key(
            &claim,
            &StoredResponse {
                status: 201,
                location: None,
                etag: None,
                body: "{}".into(),
            },
        )
        .await
        .expect("finish");
    let again = storage
        .claim_idempotency_key(&claim, "POST", "/api/v1/patients", "h", t0, lease)
        .await
        .expect("claim");
    assert!(matches!(again, ClaimOutcome::Replay(_)));
    // Kept while younger than the retention, forgotten after it.
    assert_eq!(
        storage
            .purge_idempotency_keys(t0 - chrono::Duration::days(1))
            .await
            .expect("purge"),
        0
    );
    assert_eq!(
        storage
            .purge_idempotency_keys(t0 + chrono::Duration::days(30))
            .await
            .expect("purge"),
        1
    );
    let fresh = storage
        .claim_idempotency_key(&claim, "POST", "/api/v1/patients", "h", t0, lease)
        .await
        .expect("claim");
    assert!(matches!(fresh, ClaimOutcome::Claimed));
}

#[tokio::test]
async fn locations_and_the_appointment_type_catalogue_are_listed() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let list: Value = api
        .get("/api/v1/locations", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 3);
    let first = &list["locations"][0];
    assert_eq!(first["id"], "LOC-789");
    assert_eq!(first["name"], "Main Clinic");
    assert_eq!(first["timeZone"], "America/Chicago");
    let one = api.get("/api/v1/locations/LOC-456", &auth).await;
    assert_eq!(one.headers()["etag"], "\"1\"");
    let one: Value = one.json().await.expect("json");
    assert_eq!(one["_links"]["self"]["href"], "/api/v1/locations/LOC-456");
    envelope(
        api.get("/api/v1/locations/LOC-0", &auth).await,
        404,
        "not_found",
    )
    .await;
    let types: Value = api
        .get("/api/v1/appointment-types", &auth)
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = types["appointmentTypes"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Follow-up") && names.contains(&"New Patient"),
        "{names:?}"
    );
    assert!(types["appointmentTypes"][0]["defaultDuration"]
        .as_u64()
        .is_some_and(|m| m > 0));
}

#[tokio::test]
async fn providers_filter_by_specialty_location_and_availability() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("billing@demo.clinic").await);
    let all: Value = api
        .get("/api/v1/providers", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all["total"], 12);
    let sarah = &all["providers"][0];
    assert_eq!(sarah["id"], "PROV-54321");
    assert_eq!(sarah["specialty"], "Family Medicine");
    assert!(sarah["schedule"]["monday"]["start"].is_string());
    assert_eq!(
        sarah["_links"]["appointments"]["href"],
        "/api/v1/providers/PROV-54321/appointments"
    );
    let family: Value = api
        .get("/api/v1/providers?specialty=family%20medicine", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert!(family["providers"]
        .as_array()
        .expect("list")
        .iter()
        .all(|p| p["specialty"] == "Family Medicine"));
    assert!(family["total"].as_u64().expect("total") >= 3);
    let north: Value = api
        .get("/api/v1/providers?location_id=LOC-456", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert!(north["providers"]
        .as_array()
        .expect("list")
        .iter()
        .all(|p| p["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .any(|l| l["id"] == "LOC-456")));
    let available: Value = api
        .get("/api/v1/providers?available=true&limit=100", &auth)
        .await
        .json()
        .await
        .expect("json");
    let unavailable: Value = api
        .get("/api/v1/providers?available=false&limit=100", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        available["total"].as_u64().expect("n") + unavailable["total"].as_u64().expect("n"),
        12
    );
    assert!(
        unavailable["providers"]
            .as_array()
            .expect("list")
            .iter()
            .any(|p| p["active"] == false),
        "the provider who left is not available"
    );
    let page: Value = api
        .get("/api/v1/providers?limit=5&offset=10", &auth)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["providers"].as_array().expect("list").len(), 2);
    let bad = api
        .get("/api/v1/providers?available=maybe&limit=0", &auth)
        .await;
    let error = envelope(bad, 400, "invalid_request").await;
    assert_eq!(error["details"].as_array().expect("details").len(), 2);
    envelope(
        api.get("/api/v1/providers/PROV-0", &auth).await,
        404,
        "not_found",
    )
    .await;
    let narrow = api
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
            ("scope", "read:patients"),
        ])
        .await;
    let narrow: Value = narrow.json().await.expect("json");
    let narrow = bearer(narrow["access_token"].as_str().expect("token"));
    envelope(
        api.get("/api/v1/providers", &narrow).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        api.get("/api/v1/providers", "ApiKey demo-api-key")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn slots_follow_local_hours_breaks_and_the_week() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let provider: Value = api
        .get("/api/v1/providers/PROV-54321", &auth)
        .await
        .json()
        .await
        .expect("json");
    let start = provider["locationSchedules"][0]["hours"]["monday"]["start"]
        .as_str()
        .expect("start")
        .to_owned();
    // Monday 1 February 2027 to Saturday 6 February (past the demo book, so the week is free),
    // 30-minute visits at the Main Clinic.
    let list: Value = api
        .get("/api/v1/providers/PROV-54321/slots?date_from=2027-02-01&date_to=2027-02-06&duration=30&location_id=LOC-789", &auth)
        .await
        .json()
        .await
        .expect("json");
    let slots = list["slots"].as_array().expect("slots");
    assert_eq!(list["total"].as_u64(), Some(slots.len() as u64));
    assert!(!slots.is_empty());
    let first = slots[0]["startTime"].as_str().expect("start");
    // Chicago is UTC−6 in November: 08:00 local is 14:00 UTC.
    let expected_hour = if start == "08:00" { "14:00" } else { "15:00" };
    assert!(
        first.starts_with(&format!("2027-02-01T{expected_hour}")),
        "{first}"
    );
    for slot in slots {
        let start = chrono::DateTime::parse_from_rfc3339(slot["startTime"].as_str().expect("s"))
            .expect("time");
        let local = start.with_timezone(&chrono_tz::America::Chicago);
        let minutes = local.format("%H:%M").to_string();
        assert!(
            !("12:00".."13:00").contains(&minutes.as_str()),
            "a slot in lunch: {local}"
        );
        assert_ne!(local.format("%a").to_string(), "Sat");
        if local.format("%a").to_string() == "Fri" {
            assert!(
                minutes.as_str() < "12:00",
                "Friday afternoons are off: {local}"
            );
        }
        assert_eq!(slot["providerId"], "PROV-54321");
        assert_eq!(slot["locationId"], "LOC-789");
    }
    let missing = api.get("/api/v1/providers/PROV-54321/slots", &auth).await;
    let error = envelope(missing, 400, "invalid_request").await;
    let fields: Vec<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["date_from", "date_to"]);
    let backwards = api
        .get(
            "/api/v1/providers/PROV-54321/slots?date_from=2026-11-23&date_to=2026-11-20",
            &auth,
        )
        .await;
    envelope(backwards, 400, "invalid_request").await;
    let too_long = api
        .get(
            "/api/v1/providers/PROV-54321/slots?date_from=2026-11-23&date_to=2027-03-01",
            &auth,
        )
        .await;
    envelope(too_long, 400, "invalid_request").await;
    let elsewhere = api
        .get("/api/v1/providers/PROV-54321/slots?date_from=2026-11-23&date_to=2026-11-23&location_id=LOC-123", &auth)
        .await;
    envelope(elsewhere, 422, "unprocessable_entity").await;
    envelope(
        api.get(
            "/api/v1/providers/PROV-1/slots?date_from=2026-11-23&date_to=2026-11-23",
            &auth,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

/// Another writer on the same database, behind the server's back: a second connection to the
/// SQLite file, or to the PostgreSQL database (an admin's tool, another instance).
enum OtherWriter {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl OtherWriter {
    async fn open(database: &practice_studio_server::Database) -> Self {
        match database {
            practice_studio_server::Database::Sqlite(path) => Self::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
                    .await
                    .expect("second connection"),
            ),
            practice_studio_server::Database::Postgres(url) => Self::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .expect("second connection"),
            ),
        }
    }

    async fn rename(&self, id: &str, first_name: &str) {
        match self {
            Self::Sqlite(pool) => sqlx::query(
                "UPDATE patients SET summary = json_set(summary, '$.firstName', ?1), \
                 body = json_set(body, '$.firstName', ?1) WHERE id = ?2",
            )
            .bind(first_name)
            .bind(id)
            .execute(pool)
            .await
            .map(drop),
            Self::Postgres(pool) => sqlx::query(
                "UPDATE patients SET \
                 summary = jsonb_set(summary::jsonb, '{firstName}', to_jsonb($1::text))::text, \
                 body = jsonb_set(body::jsonb, '{firstName}', to_jsonb($1::text))::text \
                 WHERE id = $2",
            )
            .bind(first_name)
            .bind(id)
            .execute(pool)
            .await
            .map(drop),
        }
        .expect("update");
    }

    async fn delete(&self, id: &str) {
        match self {
            Self::Sqlite(pool) => sqlx::query("DELETE FROM patients WHERE id = ?")
                .bind(id)
                .execute(pool)
                .await
                .map(drop),
            Self::Postgres(pool) => sqlx::query("DELETE FROM patients WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(drop),
        }
        .expect("delete");
    }

    async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// The patient list serves repeated pages from a cache: every change must still show at once,
/// whether it comes through the API or from another writer on the same database (SQLite file or
/// PostgreSQL database).
#[tokio::test]
async fn a_page_of_patients_follows_every_change_whoever_makes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database, pg) = support::database_in(dir.path(), "practice.db").await;
    let clock = std::sync::Arc::new(practice_studio_server::clock::ManualClock::new(
        "2026-11-23T09:00:00Z".parse().expect("time"),
    ));
    let server = Server::builder()
        .demo(true)
        .demo_patients(30)
        .storage(database.clone())
        .clock(clock.clone())
        .start()
        .await
        .expect("server starts");
    let api = Api {
        server,
        http: reqwest::Client::new(),
        clock,
        database: pg,
    };
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let page = || async {
        let response = api.get("/api/v1/patients?limit=100&sort=name", &auth).await;
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.expect("json")
    };
    let first = page().await;
    assert_eq!(first["total"], 30);
    assert_eq!(page().await, first, "the same page twice");
    let id = first["patients"][0]["id"].as_str().expect("id").to_owned();
    let name_of = |page: &Value| {
        page["patients"]
            .as_array()
            .expect("patients")
            .iter()
            .find(|p| p["id"] == id.as_str())
            .map(|p| p["firstName"].as_str().unwrap_or_default().to_owned())
    };

    // Through the API.
    let renamed = api
        .http
        .put(api.url(&format!("/api/v1/patients/{id}")))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"firstName": "Zelda"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(renamed.status(), 200);
    assert_eq!(name_of(&page().await).as_deref(), Some("Zelda"));

    let created = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&reference_new_patient())
        .send()
        .await
        .expect("answers");
    assert_eq!(created.status(), 201);
    assert_eq!(page().await["total"], 31);

    // Behind the server's back: another connection to the same database (an admin's tool,
    // another instance) changes the stored patient.
    let other = OtherWriter::open(&database).await;
    other.rename(&id, "Yvonne").await;
    assert_eq!(name_of(&page().await).as_deref(), Some("Yvonne"));
    other.delete(&id).await;
    let after = page().await;
    assert_eq!(after["total"], 30);
    assert_eq!(name_of(&after), None);
    // A legacy API key reads the counter on its own; it sees the same current page.
    let by_key = api
        .get(
            "/api/v1/patients?limit=100&sort=name",
            "ApiKey demo-api-key",
        )
        .await;
    assert_eq!(by_key.status(), 200);
    assert_eq!(by_key.json::<Value>().await.expect("json"), after);
    other.close().await;
}
