//! Sign-out, session restore after a restart, and "remove this device's data", against the real
//! server on loopback with an in-memory keychain.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::account::{SignOut, CURRENT_SESSION_ENTRY};
use frontdesk_core::keychain::{tokens_entry, Keychain, MemoryKeychain, AUDIT_KEY_ENTRY};
use frontdesk_core::lock::unlock_entry;
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::{DataDir, CACHE_FILE};
use practice_studio::client::Tokens;
use practice_studio::model::{ContactInfo, NewPatient};
use practice_studio_server::{RunningServer, Server, Today};
use support::FaultProxy;

async fn demo_server() -> RunningServer {
    Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(30)
        .today(Today::Fixed("2026-11-23".parse().expect("date")))
        .start()
        .await
        .expect("demo server starts")
}

fn desk(url: &str, home: &tempfile::TempDir, keychain: Arc<dyn Keychain>) -> Desk {
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
        keychain,
    });
    desk
}

async fn some_patient(desk: &Desk) -> String {
    for _ in 0..100 {
        if let Some(hit) = desk.search_patients("a").await.expect("search").first() {
            return hit.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the first sync brought no patient");
}

fn tokens_of(keychain: &MemoryKeychain, username: &str) -> Option<Tokens> {
    keychain
        .get(&tokens_entry(username))
        .expect("keychain")
        .map(|bytes| serde_json::from_slice(&bytes).expect("tokens"))
}

async fn me_status(url: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer")
        .status()
        .as_u16()
}

fn new_patient() -> NewPatient {
    NewPatient {
        first_name: "Signout".into(),
        last_name: "Pending".into(),
        date_of_birth: "1990-04-12".into(),
        gender: "F".into(),
        status: None,
        contact_info: ContactInfo {
            phone: Some("+1 555 010 4477".into()),
            email: None,
            address: None,
        },
        insurance: None,
        emergency_contact: None,
        preferred_language: None,
        preferred_pharmacy: None,
        allergies: None,
    }
}

#[tokio::test]
async fn sign_out_revokes_the_tokens_and_forgets_the_user_on_this_desk() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    let me = desk
        .sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    some_patient(&desk).await;
    let tokens = tokens_of(&keychain, "reception@demo.clinic").expect("tokens kept");
    assert_eq!(
        me_status(&server.url(), tokens.access_token.expose()).await,
        200
    );

    let outcome = desk.sign_out(false).await.expect("signs out");
    assert_eq!(
        outcome,
        SignOut::SignedOut {
            revoked: true,
            left_for_admin: 0
        }
    );
    assert!(desk.session().await.is_none());
    assert!(tokens_of(&keychain, "reception@demo.clinic").is_none());
    assert!(keychain
        .get(&unlock_entry(&me.user_id))
        .expect("keychain")
        .is_none());
    assert!(keychain
        .get(CURRENT_SESSION_ENTRY)
        .expect("keychain")
        .is_none());
    // The server no longer accepts the access token, nor the refresh token.
    assert_eq!(
        me_status(&server.url(), tokens.access_token.expose()).await,
        401
    );
    let refreshed = reqwest::Client::new()
        .post(format!("{}/oauth/token", server.url()))
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
        .expect("answer");
    assert_eq!(refreshed.status(), 400);
    // Nothing restores a signed-out user.
    drop(desk);
    let again = self::desk(&server.url(), &home, keychain.clone());
    assert!(again.restore_session().await.expect("restore").is_none());
}

#[tokio::test]
async fn sign_out_waits_for_pending_writes_unless_the_user_leaves_them_for_an_administrator() {
    let server = demo_server().await;
    let url = server.url();
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&url, &home, keychain.clone());
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    some_patient(&desk).await;
    server.shutdown().await.expect("server stops");

    desk.register_patient(&new_patient())
        .await
        .expect("queued offline");
    let held = desk.sign_out(false).await.expect("answers");
    assert_eq!(held, SignOut::PendingWrites { pending: 1 });
    assert!(
        desk.session().await.is_some(),
        "still signed in: nothing was lost"
    );

    let left = desk.sign_out(true).await.expect("signs out");
    assert_eq!(
        left,
        SignOut::SignedOut {
            revoked: false,
            left_for_admin: 1
        }
    );
    assert!(tokens_of(&keychain, "reception@demo.clinic").is_none());
    let status = desk.sync_status().await.expect("status").expect("cache");
    assert_eq!(status.status.pending, 0);
    assert_eq!(
        status.status.conflicts, 1,
        "the change waits on the conflict list"
    );
}

#[tokio::test]
async fn a_restarted_desk_carries_on_with_the_keychains_refresh_token_but_starts_locked() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    {
        let first = desk(&server.url(), &home, keychain.clone());
        first
            .sign_in("clinician@demo.clinic", "demo-password")
            .await
            .expect("signs in");
        some_patient(&first).await;
    }
    // The app restarts: no password typed.
    let desk = desk(&server.url(), &home, keychain.clone());
    let restored = desk
        .restore_session()
        .await
        .expect("restore")
        .expect("the clinician is back");
    assert_eq!(restored.role, "clinician");
    assert!(desk.is_locked().await, "a restored desk starts locked");
    assert!(matches!(
        desk.search_patients("a").await,
        Err(CoreError::Locked)
    ));
    desk.unlock("demo-password").await.expect("unlocks");
    let patient = some_patient(&desk).await;
    desk.patient_records(&patient)
        .await
        .expect("the API answers with the restored tokens");

    // Switch user: the next start shows the sign-in screen.
    desk.switch_user().await;
    drop(desk);
    let next = self::desk(&server.url(), &home, keychain.clone());
    assert!(next.restore_session().await.expect("restore").is_none());
}

#[tokio::test]
async fn a_session_restored_while_the_window_opens_is_what_the_first_screen_is_told() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    {
        let first = desk(&server.url(), &home, keychain.clone());
        first
            .sign_in("reception@demo.clinic", "demo-password")
            .await
            .expect("signs in");
    }
    let desk = desk(&server.url(), &home, keychain.clone());
    let restoring = desk.restore_session_in_background();
    // Asked at once, as the window's first screen does: the answer waits for the restore
    // rather than offering a sign-in.
    let session = desk.session().await.expect("the remembered user");
    assert_eq!(session.role, "reception");
    let lock = desk.lock_view().await.expect("lock view");
    assert!(lock.locked, "a restored desk starts locked");
    restoring.await.expect("restore task");
}

#[tokio::test]
async fn after_a_restart_an_earlier_users_queued_write_goes_out_under_their_own_sign_in() {
    let server = demo_server().await;
    let proxy = FaultProxy::start(&server.url()).await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    {
        let first = desk(&proxy.url, &home, keychain.clone());
        first
            .sign_in("reception@demo.clinic", "demo-password")
            .await
            .expect("signs in");
        some_patient(&first).await;
        proxy.set_down(true);
        first
            .register_patient(&new_patient())
            .await
            .expect("queued offline");
        // Shift change, then the app is closed with the registration still queued.
        first.switch_user().await;
    }
    proxy.set_down(false);
    let desk = desk(&proxy.url, &home, keychain.clone());
    // Billing may not register patients: sent under their sign-in it would be refused.
    desk.sign_in("billing@demo.clinic", "demo-password")
        .await
        .expect("billing signs in");
    let mut sent = false;
    for _ in 0..100 {
        let status = desk.sync_status().await.expect("status").expect("cache");
        assert_eq!(
            status.status.conflicts, 0,
            "not sent under billing's sign-in"
        );
        if status.status.pending == 0 {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent, "reception's registration was sent");
    let found = reqwest::Client::new()
        .get(format!("{}/api/v1/patients?search=Signout", server.url()))
        .header("Authorization", "ApiKey demo-api-key")
        .send()
        .await
        .expect("answer")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert_eq!(found["patients"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_administrator_removes_the_devices_data_and_the_audit_log_survives() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    let patient = some_patient(&desk).await;
    desk.open_chart(&patient).await.expect("chart");
    assert!(matches!(
        desk.device_data().await,
        Err(CoreError::NotAllowed(_))
    ));
    assert!(matches!(
        desk.remove_device_data(0).await,
        Err(CoreError::NotAllowed(_))
    ));
    desk.switch_user().await;

    desk.sign_in("admin@demo.clinic", "demo-password")
        .await
        .expect("admin signs in");
    let data = desk.device_data().await.expect("what would go");
    assert_eq!(data.pending, 0);
    assert_eq!(data.users, 2);
    assert!(data.patients > 0);
    desk.remove_device_data(0).await.expect("removed");
    assert!(desk.session().await.is_none());
    assert!(!home.path().join("desk").join(CACHE_FILE).exists());
    assert_eq!(keychain.entries(), vec![AUDIT_KEY_ENTRY.to_owned()]);

    // The next sign-in starts a new cache; the chart opening above is still in the audit log.
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in again");
    let recent = desk.recent_patients().await.expect("recent");
    assert!(
        recent.is_empty() || recent.iter().any(|p| p.id == patient),
        "recent patients come from the surviving audit log"
    );
    let again = some_patient(&desk).await;
    assert!(!again.is_empty());
    let recent = desk.recent_patients().await.expect("recent");
    assert_eq!(
        recent.first().map(|p| p.id.as_str()),
        Some(patient.as_str()),
        "the audit log survived the removal"
    );
}
