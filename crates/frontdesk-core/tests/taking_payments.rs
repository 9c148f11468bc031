//! A payment taken at the desk against the demo server: checked against the invoice's balance,
//! queued, confirmed by the server once; refused for a role that does not take payments.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::DataDir;
use practice_studio::model::NewPayment;
use practice_studio_server::{Server, Today};
use rust_decimal::Decimal;

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

fn cash(amount: Decimal) -> NewPayment {
    NewPayment {
        method: "Cash".into(),
        amount,
        reference: Some("desk test".into()),
        date: None,
    }
}

#[tokio::test]
async fn billing_takes_a_payment_checked_against_the_balance_and_the_server_confirms_it_once() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(60)
        .today(Today::Fixed("2026-11-23".parse().expect("date")))
        .start()
        .await
        .expect("demo server");
    let home = tempfile::tempdir().expect("tempdir");
    let desk = desk(&server.url(), &home);
    desk.sign_in("billing@demo.clinic", "demo-password")
        .await
        .expect("signs in");
    let mut hits = Vec::new();
    for _ in 0..100 {
        hits = desk.search_patients("a").await.expect("search");
        if !hits.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut owed = None;
    'find: for hit in &hits {
        for invoice in desk.patient_invoices(&hit.id).await.expect("invoices") {
            if invoice.balance >= Decimal::new(500, 2) {
                owed = Some(invoice.id.0.clone());
                break 'find;
            }
        }
    }
    let invoice_id = owed.expect("some demo patient owes something");
    let before = desk.open_invoice(&invoice_id).await.expect("invoice");

    let too_much = desk
        .take_payment(&invoice_id, &cash(before.balance + Decimal::ONE))
        .await;
    match too_much {
        Err(CoreError::Invalid(problems)) => {
            assert_eq!(problems[0].field, "amount");
            assert!(problems[0].issue.contains("balance"), "{problems:?}");
        }
        other => panic!("more than the balance is refused: {other:?}"),
    }

    let taken = desk
        .take_payment(&invoice_id, &cash(Decimal::new(250, 2)))
        .await
        .expect("queued");
    assert_eq!(taken.invoice.balance, before.balance - Decimal::new(250, 2));

    // The server's copy replaces the pending one: one payment more, none of them local.
    let mut confirmed = None;
    for _ in 0..100 {
        let invoice = desk.open_invoice(&invoice_id).await.expect("invoice");
        if invoice
            .payments
            .iter()
            .all(|p| !p.id.0.starts_with("local-"))
            && invoice.payments.len() > before.payments.len()
        {
            confirmed = Some(invoice);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let confirmed = confirmed.expect("the server confirmed the payment");
    assert_eq!(confirmed.payments.len(), before.payments.len() + 1, "once");
    assert_eq!(confirmed.balance, before.balance - Decimal::new(250, 2));

    desk.switch_user().await;
    desk.sign_in("clinician@demo.clinic", "demo-password")
        .await
        .expect("the clinician signs in");
    match desk.take_payment(&invoice_id, &cash(Decimal::ONE)).await {
        Err(CoreError::NotAllowed(why)) => {
            assert!(why.contains("reception and billing can"), "{why}")
        }
        other => panic!("a clinician does not take payments: {other:?}"),
    }
}
