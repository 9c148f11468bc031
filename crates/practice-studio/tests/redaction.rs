//! Tokens, secrets and patient details never reach logs, `Debug` or `Display`. One test in its
//! own binary, because it installs the process-wide tracing subscriber.

#![cfg(feature = "client")]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use practice_studio::client::{Auth, MemoryTokenStore, PatientQuery};
use practice_studio::model::{NewPatient, PatientId};
use support::TestServer;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_and_patient_details_never_appear_in_logs_debug_or_display() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let api = TestServer::demo_with(5, chrono::Duration::minutes(10)).await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = api
        .builder()
        .auth(Auth::password(
            "frontdesk",
            "reception@demo.clinic",
            "demo-password",
        ))
        .token_store(store.clone())
        .build()
        .expect("client");
    let patient: NewPatient = serde_json::from_value(serde_json::json!({
        "firstName": "Zebediah", "lastName": "Quillfeather", "dateOfBirth": "1975-08-22",
        "gender": "M", "contactInfo": { "email": "zq@example.com" }
    }))
    .expect("patient");
    let created = client.patients().create(&patient).await.expect("created");
    client
        .patients()
        .list(&PatientQuery::new().search("Quillfeather"))
        .await
        .expect("search");
    let missing = client
        .patients()
        .get(&PatientId::from("PAT-424242"))
        .await
        .expect_err("missing");
    let first = store.tokens().expect("tokens");
    // A refresh, so both generations of tokens pass through.
    api.clock.advance(std::time::Duration::from_secs(590));
    client.patients().get(&created.id).await.expect("refreshed");
    let second = store.tokens().expect("tokens");
    assert_ne!(first.access_token, second.access_token);
    client.sign_out().await.expect("signed out");
    let api_key = api.client(Auth::api_key("demo-api-key"));
    api_key.me().await.expect("api key");

    let shown = format!(
        "{client:?} {api_key:?} {first:?} {second:?} {missing} {missing:?} {:?}",
        PatientQuery::new().search("Quillfeather")
    );
    let log = String::from_utf8(captured.0.lock().expect("log").clone()).expect("utf-8");
    // The capture works and names what it should: spans with route templates and statuses.
    assert!(log.contains("practice_studio.request"), "{log}");
    assert!(log.contains("/api/v1/patients/{id}"), "{log}");
    assert!(log.contains("status=404"), "{log}");
    let mut secrets = vec![
        first.access_token.expose().to_owned(),
        second.access_token.expose().to_owned(),
        "demo-password".to_owned(),
        "demo-api-key".to_owned(),
        "Zebediah".to_owned(),
        "Quillfeather".to_owned(),
        "zq@example.com".to_owned(),
        created.id.to_string(),
    ];
    secrets.extend(first.refresh_token.iter().map(|t| t.expose().to_owned()));
    secrets.extend(second.refresh_token.iter().map(|t| t.expose().to_owned()));
    for secret in &secrets {
        assert!(
            !shown.contains(secret.as_str()),
            "{secret} shown in {shown}"
        );
    }
    // The server in this process logs too; only the client's lines are the SDK's business.
    let client_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("practice_studio::") || l.contains("practice_studio.request"))
        .collect();
    assert!(!client_lines.is_empty());
    for line in &client_lines {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "{secret} logged: {line}");
        }
    }
}
