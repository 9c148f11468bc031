//! The SDK against the real server on loopback: every route, every sign-in, errors, retries
//! through a fault-injecting proxy, the rate-limit budget, and tracing.

#![cfg(feature = "client")]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use practice_studio::client::{
    Auth, BudgetPolicy, Client, Error, MemoryTokenStore, PatientQuery, Priority, ProviderQuery,
    RetryPolicy, SignInError, SlotQuery,
};
use practice_studio::model::{LocationId, NewPatient, PatientId, PatientStatus, ProviderId};
use support::{integration, reception, Fault, FaultProxy, TestServer};

fn new_patient(last_name: &str) -> NewPatient {
    serde_json::from_value(serde_json::json!({
      "firstName": "Jane", "lastName": last_name, "dateOfBirth": "1975-08-22", "gender": "F",
      "contactInfo": {
        "email": "jane.smith@example.com", "phone": "555-987-6543",
        "address": { "line1": "456 Oak Ave", "city": "Springfield", "state": "IL",
                     "postalCode": "62702", "country": "USA" }
      },
      "insurance": { "primary": { "provider": "Aetna", "memberId": "AET123456789", "groupNumber": "GRP987654" } }
    }))
    .expect("the reference example")
}

/// Retries without real waiting are only possible on the virtual clock; tests on the fault
/// proxy keep the budget out of the way unless they test it.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn me_names_the_caller_for_every_kind_of_credential() {
    let api = TestServer::demo(5).await;
    let me = api.client(reception()).me().await.expect("password grant");
    assert_eq!(
        me.user.as_ref().map(|u| u.email.as_str()),
        Some("reception@demo.clinic")
    );
    assert_eq!(me.client, "frontdesk");
    assert_eq!(me.authentication, "bearer");

    let me = api
        .client(integration("standard"))
        .me()
        .await
        .expect("client credentials");
    assert!(me.user.is_none());
    assert_eq!(
        (me.client.as_str(), me.rate_limit_per_minute),
        ("integration-standard", 100)
    );

    let me = api
        .client(Auth::api_key("demo-api-key"))
        .me()
        .await
        .expect("api key");
    assert_eq!(me.authentication, "api_key");

    let narrow = api
        .client(integration("premium").with_scope("read:patients"))
        .me()
        .await
        .expect("scoped");
    assert_eq!(narrow.scopes, vec!["read:patients".to_owned()]);

    let health = api.client(Auth::none()).health().await.expect("health");
    assert!(health.demo);
}

#[tokio::test]
async fn patients_are_listed_read_created_updated_and_followed() {
    let api = TestServer::demo(60).await;
    let client = api.client(reception());

    let created = client
        .patients()
        .create(&new_patient("Smithwick"))
        .send()
        .await
        .expect("created");
    assert_eq!(created.status, 201);
    assert!(!created.replayed);
    let patient = created.value;

    let page = client
        .patients()
        .list(
            &PatientQuery::new()
                .search("smithwick")
                .status(PatientStatus::Active)
                .limit(50),
        )
        .await
        .expect("list");
    assert_eq!(page.limit, 50);
    assert!(page.patients.iter().any(|p| p.id == patient.id), "{page:?}");
    assert!(page
        .patients
        .iter()
        .all(|p| p.status == PatientStatus::Active));

    let read = client.patients().get(&patient.id).await.expect("get");
    assert_eq!(read, patient);
    let followed: practice_studio::model::Patient = client
        .follow(&patient.links.self_)
        .await
        .expect("follow self");
    assert_eq!(followed, patient);

    let patch = serde_json::json!({ "contactInfo": { "phone": "555-111-3333" } });
    let updated = client
        .patients()
        .update(&patient.id, &patch)
        .if_match(patient.version)
        .send()
        .await
        .expect("update");
    assert_eq!(
        updated.value.contact_info.phone.as_deref(),
        Some("555-111-3333")
    );
    assert_eq!(updated.etag, Some(format!("\"{}\"", updated.value.version)));
    assert!(updated.value.version > patient.version);

    // The same change based on the old version is refused as a version mismatch.
    let stale = client
        .patients()
        .update(
            &patient.id,
            &serde_json::json!({ "preferredLanguage": "French" }),
        )
        .if_match(patient.version)
        .await
        .expect_err("stale");
    assert!(matches!(stale, Error::VersionMismatch(_)), "{stale:?}");
    assert!(!stale.is_retryable());
}

#[tokio::test]
async fn refusals_come_back_as_their_error_variants() {
    let api = TestServer::demo(5).await;
    let client = api.client(reception());
    let missing = client
        .patients()
        .get(&PatientId::from("PAT-99999999"))
        .await
        .expect_err("no such patient");
    match &missing {
        Error::NotFound(problem) => {
            assert_eq!(problem.code, "not_found");
            assert!(problem.request_id.starts_with("req-"), "{problem:?}");
        }
        other => panic!("{other:?}"),
    }

    let mut invalid = new_patient("Nobody");
    invalid.date_of_birth = "2999-01-01".into();
    invalid.contact_info.email = Some("not-an-email".into());
    match client
        .patients()
        .create(&invalid)
        .await
        .expect_err("invalid")
    {
        Error::Api {
            status: 400,
            code,
            details,
            ..
        } => {
            assert_eq!(code, "invalid_request");
            let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
            assert!(
                fields.contains(&"dateOfBirth") && fields.contains(&"contactInfo.email"),
                "{fields:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // The same key with another body is a mismatch, not a second patient.
    client
        .patients()
        .create(&new_patient("Keyholder"))
        .idempotency_key("outbox-entry-1")
        .await
        .expect("first");
    let reused = client
        .patients()
        .create(&new_patient("Otherbody"))
        .idempotency_key("outbox-entry-1")
        .await
        .expect_err("reused key");
    assert!(
        matches!(reused, Error::IdempotencyMismatch(_)),
        "{reused:?}"
    );

    // The legacy key may read but not write.
    let reader = api.client(Auth::api_key("demo-api-key"));
    let forbidden = reader
        .patients()
        .create(&new_patient("Readonly"))
        .await
        .expect_err("read-only key");
    assert!(matches!(forbidden, Error::Forbidden(_)), "{forbidden:?}");
    let unknown = api
        .client(Auth::api_key("not-a-key"))
        .me()
        .await
        .expect_err("bad key");
    assert!(matches!(unknown, Error::Unauthorized(_)), "{unknown:?}");

    let wrong = api
        .client(Auth::password("frontdesk", "reception@demo.clinic", "nope"))
        .me()
        .await
        .expect_err("wrong password");
    match &wrong {
        Error::SignIn(SignInError::Refused { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("{other:?}"),
    }
    assert!(!wrong.is_retryable());
}

#[tokio::test]
async fn the_stream_walks_over_two_thousand_patients_once_each_and_stops() {
    let api = TestServer::demo(2_050).await;
    let client = api.client(integration("premium"));
    let total = client
        .patients()
        .list(&PatientQuery::new().limit(1))
        .await
        .expect("count")
        .total;
    assert!(total >= 2_050, "{total}");
    let patients: Vec<_> = client
        .patients()
        .all(&PatientQuery::new(), Priority::Background)
        .try_collect()
        .await
        .expect("walk");
    let ids: HashSet<_> = patients.iter().map(|p| p.id.clone()).collect();
    assert_eq!(patients.len() as u64, total, "every patient");
    assert_eq!(ids.len(), patients.len(), "no duplicates");
    assert!(patients.windows(2).all(|w| w[0].created <= w[1].created));

    // A filtered walk stops at the end of its own list.
    let inactive: Vec<_> = client
        .patients()
        .all(
            &PatientQuery::new().status(PatientStatus::Inactive),
            Priority::Background,
        )
        .try_collect()
        .await
        .expect("filtered walk");
    let expected = client
        .patients()
        .list(&PatientQuery::new().status(PatientStatus::Inactive).limit(1))
        .await
        .expect("count")
        .total;
    assert_eq!(inactive.len() as u64, expected);
    assert!(inactive.iter().all(|p| p.status == PatientStatus::Inactive));
}

/// What a browser does with the sign-in page: read the form and its cookie, submit it, and follow
/// the redirect to the loopback listener.
async fn browse(url: url::Url, decision: &str, tamper_state: bool) -> Result<(), String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let page = browser
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("no CSRF cookie")?
        .to_owned();
    let html = page.text().await.map_err(|e| e.to_string())?;
    let mut form: Vec<(String, String)> = Vec::new();
    for input in html.split("<input").skip(1) {
        let attribute = |name: &str| {
            let marker = format!("{name}=\"");
            input
                .find(&marker)
                .map(|i| &input[i + marker.len()..])
                .and_then(|rest| rest.split('"').next())
                .map(|v| v.replace("&amp;", "&"))
        };
        if attribute("type").as_deref() == Some("hidden") {
            if let (Some(name), Some(value)) = (attribute("name"), attribute("value")) {
                form.push((name, value));
            }
        }
    }
    form.push(("email".into(), "clinician@demo.clinic".into()));
    form.push(("password".into(), "demo-password".into()));
    form.push(("decision".into(), decision.into()));
    let submit = url.join("/oauth/authorize").map_err(|e| e.to_string())?;
    let answer = browser
        .post(submit)
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if answer.status() != 303 {
        return Err(format!("sign-in page answered {}", answer.status()));
    }
    let mut location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .ok_or("no redirect")?;
    if tamper_state {
        let pairs: Vec<(String, String)> = location
            .query_pairs()
            .map(|(k, v)| {
                let value = if k == "state" {
                    "forged".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), value)
            })
            .collect();
        location.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Like a browser, the redirect's answer is shown, not checked.
    browser
        .get(location)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::test]
async fn the_authorization_code_flow_signs_in_through_the_real_page() {
    let api = TestServer::demo(5).await;
    let opened = Arc::new(std::sync::Mutex::new(Vec::<url::Url>::new()));
    let seen = opened.clone();
    let store = Arc::new(MemoryTokenStore::default());
    let client = api
        .builder()
        .auth(Auth::authorization_code(
            "frontdesk",
            move |url: url::Url| {
                seen.lock().expect("urls").push(url.clone());
                // The browser runs on its own, like the system browser would.
                tokio::spawn(async move {
                    let _ = browse(url, "allow", false).await;
                });
                async { Ok(()) }
            },
        ))
        .token_store(store.clone())
        .build()
        .expect("client");
    let me = client.me().await.expect("signed in through the browser");
    assert_eq!(
        me.user.map(|u| u.email),
        Some("clinician@demo.clinic".to_owned())
    );
    let urls = opened.lock().expect("urls").clone();
    assert_eq!(urls.len(), 1);
    let params: std::collections::HashMap<_, _> = urls[0].query_pairs().into_owned().collect();
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(params["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(store.tokens().and_then(|t| t.refresh_token).is_some());

    // Tokens in the store are used: the browser does not open again.
    client.me().await.expect("second call");
    assert_eq!(opened.lock().expect("urls").len(), 1);
}

#[tokio::test]
async fn a_forged_state_or_a_cancelled_sign_in_gives_no_tokens() {
    let api = TestServer::demo(5).await;
    let forged = api.client(Auth::authorization_code("frontdesk", |url: url::Url| {
        tokio::spawn(async move {
            let _ = browse(url, "allow", true).await;
        });
        async { Ok(()) }
    }));
    let error = forged.me().await.expect_err("forged state");
    assert!(
        matches!(error, Error::SignIn(SignInError::StateMismatch)),
        "{error:?}"
    );
    assert!(forged.tokens().await.is_none());

    let cancelled = api.client(Auth::authorization_code(
        "frontdesk",
        |url: url::Url| async move { browse(url, "deny", false).await },
    ));
    match cancelled.me().await.expect_err("cancelled") {
        Error::SignIn(SignInError::Browser { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("{other:?}"),
    }

    let unopened = api.client(Auth::authorization_code(
        "frontdesk",
        |_url: url::Url| async { Err("no browser on this machine".to_owned()) },
    ));
    assert!(matches!(
        unopened.me().await,
        Err(Error::SignIn(SignInError::OpenBrowser(_)))
    ));
}

async fn revoke(api: &TestServer, token: &str) {
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http")
        .post(format!("{}/oauth/revoke", api.url()))
        .form(&[("client_id", "frontdesk"), ("token", token)])
        .send()
        .await
        .expect("revoke answers");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_after_a_401_and_once_for_concurrent_calls() {
    let api = TestServer::demo_with(5, chrono::Duration::minutes(10)).await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = api
        .builder()
        .auth(reception())
        .token_store(store.clone())
        .build()
        .expect("client");
    assert!(store.tokens().is_none(), "tokens are fetched lazily");
    client.me().await.expect("signed in");
    let first = store.tokens().expect("saved");
    assert_eq!(store.saves(), 1);

    // 9½ minutes later the token has half a minute left: refreshed before it is used.
    api.clock.advance(Duration::from_secs(570));
    client.me().await.expect("refreshed");
    let second = store.tokens().expect("saved");
    assert_eq!(store.saves(), 2);
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");

    // The server forgets the access token (revoked elsewhere): 401, one refresh, success.
    revoke(&api, second.access_token.expose()).await;
    client.me().await.expect("retried after refresh");
    assert_eq!(store.saves(), 3);

    // Ten calls at once when a refresh is due share one refresh. Two would have reused the
    // rotated refresh token, and the server would have ended the sign-in.
    api.clock.advance(Duration::from_secs(600));
    let calls = (0..10).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.me().await })
    });
    for call in calls {
        call.await.expect("task").expect("call");
    }
    assert_eq!(store.saves(), 4);
}

#[tokio::test]
async fn a_restarted_desk_uses_its_stored_tokens_and_sign_out_revokes_them() {
    let api = TestServer::demo(5).await;
    let first = api
        .builder()
        .auth(reception())
        .token_store(Arc::new(MemoryTokenStore::default()))
        .build()
        .expect("client");
    first.me().await.expect("signed in");
    let tokens = first.tokens().await.expect("tokens");

    let store = Arc::new(MemoryTokenStore::with(tokens.clone()));
    // Wrong password: signing in again would fail, so success proves the stored tokens were used.
    let restarted = api
        .builder()
        .auth(Auth::password(
            "frontdesk",
            "reception@demo.clinic",
            "forgotten",
        ))
        .token_store(store.clone())
        .build()
        .expect("client");
    restarted.me().await.expect("stored tokens");
    assert_eq!(store.saves(), 0);

    restarted.sign_out().await.expect("signed out");
    assert!(store.tokens().is_none());
    let raw = reqwest::Client::builder().no_proxy().build().expect("http");
    let with_old = raw
        .get(format!("{}/api/v1/me", api.url()))
        .bearer_auth(tokens.access_token.expose())
        .send()
        .await
        .expect("answers");
    assert_eq!(with_old.status(), 401);
    let refresh = raw
        .post(format!("{}/oauth/token", api.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "frontdesk"),
            (
                "refresh_token",
                tokens.refresh_token.as_ref().expect("refresh").expose(),
            ),
        ])
        .send()
        .await
        .expect("answers");
    assert_eq!(refresh.status(), 400);
    // The first client held the same sign-in: its next call meets a 401, its refresh is refused,
    // and it signs in again with its own (right) password.
    first.me().await.expect("signed in again");
    assert_ne!(
        first.tokens().await.expect("tokens").access_token,
        tokens.access_token
    );
}

#[tokio::test]
async fn request_ids_are_the_caller_s_or_new_and_correlation_ids_are_sent() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(integration("premium"))
        .correlation_id("sync-42")
        .build()
        .expect("client");
    let mine = client
        .me()
        .request_id("desk-7f3a")
        .send()
        .await
        .expect("me");
    assert_eq!(mine.request_id.as_deref(), Some("desk-7f3a"));
    let generated = client.me().send().await.expect("me");
    let id = generated.request_id.expect("echoed");
    assert!(id.starts_with("req-") && id.len() > 10, "{id}");
    client.me().correlation_id("lookup-1").await.expect("me");
    let correlation: Vec<_> = proxy.seen().into_iter().map(|s| s.correlation_id).collect();
    assert_eq!(
        correlation,
        vec![
            Some("sync-42".to_owned()),
            Some("sync-42".to_owned()),
            Some("lookup-1".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_then_retried() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(integration("premium"))
        .retry(quick_retries())
        .build()
        .expect("client");
    client.me().await.expect("warm up");
    proxy.push(Fault::Status {
        status: 429,
        retry_after: Some(7),
        field: None,
    });
    let before = api.clock.slept();
    client.me().await.expect("after the wait");
    assert!(api.clock.slept() - before >= Duration::from_secs(7));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 3);
    // Both tries are one request: one id.
    assert_eq!(seen[1].request_id, seen[2].request_id);
}

#[tokio::test]
async fn gets_are_retried_after_503_504_and_dropped_connections_but_not_after_500() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(integration("premium"))
        .retry(quick_retries())
        .build()
        .expect("client");
    client.me().await.expect("warm up");
    for fault in [
        Fault::Status {
            status: 503,
            retry_after: None,
            field: None,
        },
        Fault::Drop,
        Fault::Status {
            status: 504,
            retry_after: None,
            field: None,
        },
    ] {
        proxy.push(fault);
    }
    client.me().await.expect("fourth try");
    assert_eq!(
        proxy.statuses(),
        vec![Some(200), Some(503), None, Some(504), Some(200)]
    );

    // Attempts are bounded: four failures in a row are the caller's.
    for _ in 0..4 {
        proxy.push(Fault::Status {
            status: 503,
            retry_after: None,
            field: None,
        });
    }
    let error = client.me().await.expect_err("out of attempts");
    assert!(matches!(error, Error::Api { status: 503, .. }) && error.is_retryable());
    assert_eq!(proxy.seen().len(), 9);

    proxy.push(Fault::Status {
        status: 500,
        retry_after: None,
        field: None,
    });
    let error = client.me().await.expect_err("500");
    assert!(matches!(error, Error::Api { status: 500, .. }) && !error.is_retryable());
    assert_eq!(proxy.seen().len(), 10, "500 is not retried");
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_after_the_server_committed_creates_one_patient() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(reception())
        .retry(quick_retries())
        .build()
        .expect("client");
    client.me().await.expect("warm up");
    proxy.push(Fault::LoseResponse);
    proxy.push(Fault::Status {
        status: 409,
        retry_after: Some(1),
        field: Some("Idempotency-Key"),
    });
    let created = client
        .patients()
        .create(&new_patient("Onceonly"))
        .send()
        .await
        .expect("created after retries");
    assert!(created.replayed, "the server replayed its first answer");
    assert_eq!(created.status, 201);
    let posts: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .collect();
    assert_eq!(posts.len(), 3);
    assert!(posts[0].idempotency_key.is_some());
    assert!(posts
        .iter()
        .all(|p| p.idempotency_key == posts[0].idempotency_key));
    let found = client
        .patients()
        .list(&PatientQuery::new().search("onceonly"))
        .await
        .expect("search");
    assert_eq!(found.total, 1);
}

#[tokio::test]
async fn slow_answers_time_out_per_try_and_the_deadline_holds() {
    // Real time here: the timeouts are about the network.
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = Client::builder(proxy.url())
        .no_proxy()
        .auth(integration("premium"))
        .retry(RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            attempt_timeout: Duration::from_millis(400),
            deadline: Duration::from_millis(1500),
        })
        .build()
        .expect("client");
    client.me().await.expect("warm up");
    proxy.push(Fault::Delay(Duration::from_secs(3)));
    client.me().await.expect("the second try is quick");
    assert_eq!(proxy.seen().len(), 3);

    for _ in 0..20 {
        proxy.push(Fault::Delay(Duration::from_secs(3)));
    }
    let started = std::time::Instant::now();
    let error = client.me().await.expect_err("always slow");
    let took = started.elapsed();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    // The deadline is 1.5 s; the slack is for a loaded machine, not for another try.
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert!(took >= Duration::from_millis(1000), "{took:?}");
}

#[tokio::test]
async fn a_background_crawl_and_interactive_lookups_meet_no_429() {
    let api = TestServer::demo(1_500).await;
    let proxy = FaultProxy::start(&api.url()).await;
    // A standard integration: 100 a minute, bursts of 10.
    let client = api
        .builder_at(proxy.url())
        .auth(integration("standard"))
        .build()
        .expect("client");
    let crawler = client.clone();
    let crawl = tokio::spawn(async move {
        crawler
            .patients()
            .all(&PatientQuery::new(), Priority::Background)
            .try_collect::<Vec<_>>()
            .await
    });
    let mut lookups = 0;
    while !crawl.is_finished() || lookups < 10 {
        client
            .patients()
            .list(&PatientQuery::new().search("smith").limit(5))
            .await
            .expect("lookup");
        lookups += 1;
        tokio::task::yield_now().await;
    }
    let crawled = crawl.await.expect("task").expect("crawl");
    assert_eq!(crawled.len(), 1_500);
    let statuses = proxy.statuses();
    assert!(statuses.len() >= 25, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
    assert!(
        api.clock.slept() > Duration::ZERO,
        "the budget made someone wait"
    );
}

#[tokio::test]
async fn interactive_requests_use_the_reserve_without_waiting() {
    let api = TestServer::demo(5).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(integration("standard"))
        .budget(BudgetPolicy::default())
        .build()
        .expect("client");
    // Background work drains the bucket down to the reserve without waiting.
    client
        .me()
        .priority(Priority::Background)
        .await
        .expect("first");
    let status = client.rate_limit().expect("known after one answer");
    assert_eq!((status.limit, status.burst, status.reserve), (100, 10, 2));
    while client.rate_limit().expect("known").available > status.reserve {
        client
            .me()
            .priority(Priority::Background)
            .await
            .expect("background");
    }
    assert_eq!(api.clock.slept(), Duration::ZERO);
    let at = api.clock.now();
    // A person at the desk is served from the reserve at once.
    for _ in 0..status.reserve {
        client
            .me()
            .priority(Priority::Interactive)
            .await
            .expect("interactive");
    }
    assert_eq!(api.clock.now(), at, "no wait for the window");
    // The next background request waits for the reserve to refill (3 cells of 600 ms).
    client
        .me()
        .priority(Priority::Background)
        .await
        .expect("waited");
    assert!(
        api.clock.slept() >= Duration::from_millis(1800),
        "{:?}",
        api.clock.slept()
    );
    assert!(proxy.statuses().iter().all(|s| *s == Some(200)));
}

#[tokio::test]
async fn requests_go_through_a_configured_proxy() {
    let api = TestServer::demo(5).await;
    let forward_proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder()
        .proxy(forward_proxy.url())
        .auth(integration("premium"))
        .build()
        .expect("client");
    client.me().await.expect("through the proxy");
    let seen = forward_proxy.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].absolute, "sent in proxy form");
    assert_eq!(seen[0].path, "/api/v1/me");
}

#[tokio::test]
async fn an_unattended_crawl_runs_within_ten_percent_of_the_rate_limit_ceiling() {
    // 30 pages for a standard integration (100 a minute: one request per 600 ms after a burst of
    // 10). The fastest the server allows is (pages − burst) × 600 ms; the budget may add its
    // reserve, which shrinks to one cell when nobody has used the client for two minutes.
    let api = TestServer::demo(3_000).await;
    let proxy = FaultProxy::start(&api.url()).await;
    let client = api
        .builder_at(proxy.url())
        .auth(integration("standard"))
        .build()
        .expect("client");
    api.clock.advance(Duration::from_secs(121));
    let started = api.clock.now();
    let crawled: Vec<_> = client
        .patients()
        .all(&PatientQuery::new(), Priority::Background)
        .try_collect()
        .await
        .expect("crawl");
    let took = (api.clock.now() - started)
        .to_std()
        .expect("forward in time");
    assert_eq!(crawled.len(), 3_000);
    let pages = proxy.seen().len();
    assert_eq!(pages, 30);
    assert!(proxy.statuses().iter().all(|s| *s == Some(200)), "no 429");
    let floor = Duration::from_millis(600) * (pages as u32 - 10);
    let ratio = took.as_secs_f64() / floor.as_secs_f64();
    assert!(
        (1.0..=1.10).contains(&ratio),
        "{took:?} against {floor:?}: {ratio}"
    );
    // One reserved cell costs one 600 ms wait (21 / 20); the attended reserve of two cells would
    // make it 22 / 20.
    assert!(ratio < 1.08, "the reserve did not shrink: {ratio}");
}

#[tokio::test]
async fn the_clinic_routes_list_locations_providers_types_and_slots() {
    let api = TestServer::demo(5).await;
    let client = api.client(reception());
    let clinic = client.clinic();
    let locations = clinic.locations().await.expect("locations");
    assert_eq!(locations.total, 3);
    let main = clinic
        .location(&LocationId("LOC-789".into()))
        .await
        .expect("one location");
    assert_eq!(main.time_zone, "America/Chicago");
    assert!(matches!(
        clinic.location(&LocationId("LOC-../patients".into())).await,
        Err(Error::NotFound { .. })
    ));
    let types = clinic.appointment_types().await.expect("types");
    assert!(types
        .appointment_types
        .iter()
        .any(|t| t.name == "Follow-up"));
    let family = clinic
        .providers(&ProviderQuery::new().specialty("Family Medicine").limit(50))
        .await
        .expect("providers");
    assert!(family.total >= 3);
    assert!(family
        .providers
        .iter()
        .all(|p| p.specialty == "Family Medicine"));
    let sarah = clinic
        .provider(&ProviderId("PROV-54321".into()))
        .await
        .expect("provider");
    assert_eq!(sarah.last_name, "Johnson");
    // The server's today, on the test's clock; a week from it holds working days.
    let from = api.clock.now().date_naive();
    let slots = clinic
        .slots(
            &sarah.id,
            &SlotQuery::new(from, from + chrono::Duration::days(6))
                .minutes(30)
                .location(LocationId("LOC-789".into())),
        )
        .await
        .expect("slots");
    assert_eq!(slots.duration, 30);
    assert!(!slots.slots.is_empty(), "a working week has free slots");
    assert!(slots
        .slots
        .iter()
        .all(|s| s.provider_id == sarah.id && (s.end_time - s.start_time).num_minutes() == 30));
    let refused = clinic
        .slots(
            &sarah.id,
            &SlotQuery::new(from, from - chrono::Duration::days(1)),
        )
        .await;
    assert!(
        matches!(refused, Err(Error::Api { status: 400, .. })),
        "{refused:?}"
    );
}
