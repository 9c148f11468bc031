//! Editing a patient at the desk against the demo server: only what changed is sent, based on
//! the version read; a stale form and a role without the right are refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::DataDir;
use practice_studio::model::{NewPatient, Patient};
use practice_studio_server::{Server, Today};

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

/// The form as filled from a patient (what the UI sends back, edited or not).
fn form_of(patient: &Patient) -> NewPatient {
    serde_json::from_value(serde_json::to_value(patient).expect("json")).expect("a form")
}

#[tokio::test]
async fn an_edit_sends_only_what_changed_on_the_version_read_and_the_server_keeps_the_rest() {
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
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    let id = loop {
        if let Some(hit) = desk.search_patients("a").await.expect("search").first() {
            break hit.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let chart = desk.open_chart(&id).await.expect("chart");
    let before = chart.patient.clone();

    // Nothing changed: nothing queued.
    let unchanged = desk
        .edit_patient(&id, &form_of(&before), before.version)
        .await
        .expect("answers");
    assert!(unchanged.is_none());

    let mut edited = form_of(&before);
    edited.contact_info.phone = Some("555-010-9911".into());
    let write = desk
        .edit_patient(&id, &edited, before.version)
        .await
        .expect("queued")
        .expect("a change");
    assert_eq!(
        write.patient.contact_info.phone.as_deref(),
        Some("555-010-9911")
    );

    // Sent and confirmed: the server's patient has the new phone and everything else as it was.
    let confirmed = loop {
        let chart = desk.refresh_chart(&id).await.expect("chart");
        if !chart.pending && chart.patient.version > before.version {
            break chart.patient;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        confirmed.contact_info.phone.as_deref(),
        Some("555-010-9911")
    );
    assert_eq!(confirmed.contact_info.email, before.contact_info.email);
    assert_eq!(confirmed.first_name, before.first_name);
    assert_eq!(confirmed.allergies, before.allergies);
    assert_eq!(confirmed.insurance, before.insurance);

    // A form filled from the old version is stale now.
    let stale = desk.edit_patient(&id, &edited, before.version).await;
    assert!(matches!(stale, Err(CoreError::StaleEdit)), "{stale:?}");

    desk.switch_user().await;
    desk.sign_in("billing@demo.clinic", "demo-password")
        .await
        .expect("billing signs in");
    let refused = desk.edit_patient(&id, &edited, confirmed.version).await;
    match refused {
        Err(CoreError::NotAllowed(why)) => assert!(why.contains("(Billing)"), "{why}"),
        other => panic!("billing may not edit: {other:?}"),
    }
}
