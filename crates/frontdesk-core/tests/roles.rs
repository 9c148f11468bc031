//! Each demo user, signed in against the demo server: what the desk offers them and what it
//! refuses, with the sentence saying why.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::roles::Offers;
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::DataDir;
use practice_studio::model::{ContactInfo, NewPatient};
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

fn someone_new() -> NewPatient {
    NewPatient {
        first_name: "Role".into(),
        last_name: "Checked".into(),
        date_of_birth: "1984-02-03".into(),
        gender: "M".into(),
        status: None,
        contact_info: ContactInfo {
            phone: Some("+1 555 010 7788".into()),
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

fn refused_with(result: Result<impl std::fmt::Debug, CoreError>, words: &str) {
    match result {
        Err(CoreError::NotAllowed(why)) => assert!(why.contains(words), "{why}"),
        other => panic!("expected a refusal saying {words:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn each_demo_role_is_offered_what_its_scopes_allow_and_refused_the_rest_with_a_reason() {
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

    // (user, register, records, invoices, payments, administer)
    let roles = [
        ("reception@demo.clinic", true, false, true, true, false),
        ("clinician@demo.clinic", true, true, true, false, false),
        ("billing@demo.clinic", false, false, true, true, false),
        ("admin@demo.clinic", true, true, true, true, true),
    ];
    for (user, register, records, invoices, payments, administer) in roles {
        let me = desk.sign_in(user, "demo-password").await.expect(user);
        let offers: &Offers = &me.offers;
        assert_eq!(offers.register_patients, register, "{user}");
        assert_eq!(offers.read_records, records, "{user}");
        assert_eq!(offers.read_invoices, invoices, "{user}");
        assert_eq!(offers.take_payments, payments, "{user}");
        assert_eq!(offers.administer, administer, "{user}");

        let patient = loop {
            if let Some(hit) = desk.search_patients("a").await.expect("search").first() {
                break hit.id.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let chart = desk
            .open_chart(&patient)
            .await
            .expect("every role opens a chart");
        assert_eq!(chart.may_read_records, records, "{user}");
        if records {
            desk.patient_records(&patient).await.expect(user);
        } else {
            refused_with(
                desk.patient_records(&patient).await,
                "Medical records are shown to clinicians only",
            );
            refused_with(desk.open_record("REC-1").await, "clinicians only");
        }
        if invoices {
            desk.patient_invoices(&patient).await.expect(user);
        }
        if register {
            desk.check_new_patient(&someone_new()).await.expect(user);
        } else {
            refused_with(
                desk.register_patient(&someone_new()).await,
                "does not change patients' details",
            );
        }
        if administer {
            desk.device_data().await.expect(user);
        } else {
            refused_with(desk.device_data().await, "only an administrator");
        }
        desk.switch_user().await;
    }
}
