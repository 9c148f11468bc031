//! The lock, against the real server on loopback: an idle desk refuses patient data until the
//! signed-in user unlocks it, offline with the keychain's verifier, online through the server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::keychain::{Keychain, MemoryKeychain};
use frontdesk_core::lock::{unlock_entry, LOCAL_TRIES};
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskEvent, DeskOptions, PinnedDayClock,
    Surface,
};
use frontdesk_store::DataDir;
use practice_studio_server::{RunningServer, Server, Today};

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
        let hits = desk.search_patients("a").await.expect("search");
        if let Some(hit) = hits.first() {
            return hit.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the first sync brought no patient");
}

#[tokio::test]
async fn an_idle_desk_refuses_patient_data_until_unlocked_offline_with_the_keychains_verifier() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    assert_eq!(
        desk.lock_view().await.expect("view").lock_after_seconds,
        300,
        "lock_minutes defaults to 5"
    );
    let me = desk
        .sign_in("reception@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    let patient = some_patient(&desk).await;

    // The verifier is a salted Argon2id hash in the keychain, never the password.
    let stored = keychain
        .get(&unlock_entry(&me.user_id))
        .expect("keychain")
        .expect("a verifier is kept at sign-in");
    let text = String::from_utf8(stored).expect("utf-8");
    assert!(text.contains("$argon2id$"), "{text}");
    assert!(!text.contains("demo-password"));

    let mut events = desk.subscribe();
    let _watch = desk.spawn_lock_watch(Duration::from_millis(100));
    // Two seconds from now (the first sync may have taken longer than that since the sign-in):
    // generous against a loaded machine's late timers, short enough for a test.
    desk.touch().await.expect("active");
    desk.set_lock_after(Duration::from_secs(2));
    // Activity keeps it open past the lock time…
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        desk.touch().await.expect("active");
    }
    desk.open_chart(&patient)
        .await
        .expect("unlocked: the chart opens");
    // …idleness locks it.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(desk.is_locked().await);
    for refused in [
        desk.search_patients("a").await.map(|_| ()),
        desk.recent_patients().await.map(|_| ()),
        desk.open_chart(&patient).await.map(|_| ()),
        desk.patient_invoices(&patient).await.map(|_| ()),
        desk.touch().await,
    ] {
        assert!(
            matches!(refused, Err(CoreError::Locked)),
            "{refused:?} while locked"
        );
    }
    let announced = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(DeskEvent::LockChanged { locked: true }) = events.recv().await {
                break;
            }
        }
    })
    .await;
    assert!(announced.is_ok(), "the UI is told the desk locked");
    assert!(desk.lock_view().await.expect("view").locked);

    // Offline: the server is gone, the keychain's verifier decides.
    server.shutdown().await.expect("server stops");
    let wrong = desk.unlock("not-the-password").await;
    assert!(
        matches!(wrong, Err(CoreError::WrongCredentials)),
        "{wrong:?}"
    );
    assert!(desk.is_locked().await);
    desk.set_lock_after(Duration::from_secs(300));
    desk.unlock("demo-password")
        .await
        .expect("the password unlocks offline");
    assert!(!desk.is_locked().await);
    desk.open_chart(&patient)
        .await
        .expect("the chart opens again, from the cache");
}

#[tokio::test]
async fn a_pin_unlocks_and_too_many_wrong_tries_leave_it_to_the_server() {
    let server = demo_server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let keychain = Arc::new(MemoryKeychain::default());
    let desk = desk(&server.url(), &home, keychain.clone());
    let me = desk
        .sign_in("clinician@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    assert!(matches!(
        desk.set_unlock_pin("12a4").await,
        Err(CoreError::Invalid(_))
    ));
    desk.set_unlock_pin("482913").await.expect("PIN set");
    assert!(desk.lock_view().await.expect("view").has_pin);

    desk.lock_now().await.expect("locks");
    assert!(matches!(
        desk.search_patients("a").await,
        Err(CoreError::Locked)
    ));
    desk.unlock("482913").await.expect("the PIN unlocks");
    assert!(!desk.is_locked().await);

    // Wrong tries use up the local verifier (without a server sign-in attempt each, which would
    // lock the account there); after that only the server's check counts, and a PIN (which the
    // server does not know) no longer unlocks.
    desk.lock_now().await.expect("locks");
    for _ in 0..LOCAL_TRIES {
        assert!(matches!(
            desk.unlock("000000").await,
            Err(CoreError::WrongCredentials)
        ));
    }
    assert_eq!(desk.lock_view().await.expect("view").local_tries_left, 0);
    assert!(matches!(
        desk.unlock("482913").await,
        Err(CoreError::WrongCredentials)
    ));
    assert!(desk.is_locked().await);
    desk.unlock("demo-password")
        .await
        .expect("the server accepts the password");
    assert!(!desk.is_locked().await);

    // A desk without a verifier (the keychain entry was removed) asks the server, and keeps a
    // new verifier for next time.
    keychain
        .delete(&unlock_entry(&me.user_id))
        .expect("entry removed");
    desk.lock_now().await.expect("locks");
    desk.unlock("demo-password")
        .await
        .expect("the server accepts the password");
    assert!(keychain
        .get(&unlock_entry(&me.user_id))
        .expect("keychain")
        .is_some());
    drop(server);
}
