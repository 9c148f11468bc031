//! Documents, billing's worklist and the audit log against the demo server: a clinician opens a
//! record's PDF attachment; billing reads the overdue list and an invoice's PDF; an administrator
//! finds those openings in the audit log (filtered, and as CSV) where billing may not look; with
//! the server gone, a payment's receipt is made on the desk and marked pending confirmation, the
//! overdue list comes from the cache with that payment counted in, and the invoice's PDF opened
//! earlier opens from the encrypted cache.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use frontdesk_core::audit_log::AuditQuery;
use frontdesk_core::documents::{DocumentRef, DocumentView, PENDING_MARK};
use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::{
    Config, ConfigKey, ConfigLayers, CoreError, Desk, DeskOptions, PinnedDayClock, Surface,
};
use frontdesk_store::DataDir;
use practice_studio::model::NewPayment;
use practice_studio_server::{Server, Today};
use rust_decimal::Decimal;

const TODAY: &str = "2026-11-23";

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
        clock: Arc::new(PinnedDayClock::new(TODAY.parse().expect("date"))),
        surface: Surface::Browser,
    })
    .expect("desk");
    desk.attach_device(Device {
        data_dir: Arc::new(DataDir::open(home.path().join("desk")).expect("data dir")),
        keychain: Arc::new(MemoryKeychain::default()),
    });
    desk
}

async fn switch_to(desk: &Desk, user: &str) {
    desk.switch_user().await;
    desk.sign_in(user, "demo-password").await.expect("signs in");
}

fn bytes(view: &DocumentView) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(&view.base64)
        .expect("base64")
}

fn text_of(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("its text")
}

#[tokio::test]
async fn documents_are_viewed_audited_and_a_receipt_taken_offline_is_provisional() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(60)
        .today(Today::Fixed(TODAY.parse().expect("date")))
        .start()
        .await
        .expect("demo server");
    let home = tempfile::tempdir().expect("tempdir");
    let desk = desk(&server.url(), &home);

    // A clinician opens a record's attachment: a PDF, from the server.
    desk.sign_in("clinician@demo.clinic", "demo-password")
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
    let mut attachment = None;
    'find: for hit in &hits {
        for summary in desk.patient_records(&hit.id).await.expect("records") {
            if summary.attachments > 0 {
                let record = desk.open_record(&summary.id).await.expect("record");
                attachment = record.record.attachments.first().map(|a| a.id.0.clone());
                break 'find;
            }
        }
    }
    let attachment_id = attachment.expect("a demo record has an attachment");
    let opened = desk
        .open_document(&DocumentRef::Attachment {
            attachment_id: attachment_id.clone(),
        })
        .await
        .expect("the attachment opens");
    assert!(bytes(&opened).starts_with(b"%PDF-"));
    assert!(!opened.provisional && !opened.from_cache);
    let clinician = desk.session().await.expect("signed in").user_id;

    // Billing: the overdue list, most overdue first, every line past due with a balance.
    switch_to(&desk, "billing@demo.clinic").await;
    let overdue = desk.overdue_invoices().await.expect("overdue list");
    assert!(!overdue.from_cache);
    assert!(
        !overdue.invoices.is_empty(),
        "the demo has overdue invoices"
    );
    let today: chrono::NaiveDate = TODAY.parse().expect("date");
    for line in &overdue.invoices {
        assert!(line.invoice.due_date < today && line.invoice.balance > Decimal::ZERO);
        assert_eq!(
            line.days_overdue,
            (today - line.invoice.due_date).num_days()
        );
    }
    assert!(overdue
        .invoices
        .windows(2)
        .all(|w| w[0].days_overdue >= w[1].days_overdue));
    let total: Decimal = overdue.invoices.iter().map(|l| l.invoice.balance).sum();
    assert_eq!(overdue.total_balance, total);
    let owed = overdue
        .invoices
        .iter()
        .find(|l| l.invoice.balance >= Decimal::new(500, 2))
        .expect("an overdue invoice owing at least 5.00")
        .invoice
        .clone();
    let pdf = desk
        .open_document(&DocumentRef::InvoicePdf {
            invoice_id: owed.id.0.clone(),
        })
        .await
        .expect("the invoice's PDF");
    assert!(text_of(&bytes(&pdf)).contains(owed.id.as_str()));
    match desk.audit_log(&AuditQuery::default()).await {
        Err(CoreError::NotAllowed(why)) => assert!(why.contains("administrator"), "{why}"),
        other => panic!("billing does not read the audit log: {other:?}"),
    }

    // The administrator finds the openings, filtered, and as CSV.
    switch_to(&desk, "admin@demo.clinic").await;
    let attachments = desk
        .audit_log(&AuditQuery {
            action: Some("viewed_attachment".into()),
            ..AuditQuery::default()
        })
        .await
        .expect("audit log");
    assert_eq!(attachments.rows.len(), 1);
    assert_eq!(attachments.rows[0].user_id, clinician);
    assert_eq!(attachments.rows[0].entity_id, attachment_id);
    // The viewer names the people who signed in on this desk, by the name `/me` gave them.
    let named = attachments
        .people
        .iter()
        .find(|p| p.user_id == clinician)
        .expect("the clinician signed in here, so the desk knows their name");
    assert_eq!(named.role, "clinician");
    assert!(!named.name.is_empty() && named.name != clinician);
    assert!(attachments
        .people
        .iter()
        .all(|p| attachments.users.contains(&p.user_id)));
    let by_clinician = desk
        .audit_log(&AuditQuery {
            user_id: Some(clinician.clone()),
            ..AuditQuery::default()
        })
        .await
        .expect("audit log");
    assert!(by_clinician.rows.iter().all(|r| r.user_id == clinician));
    assert!(by_clinician
        .rows
        .iter()
        .any(|r| r.action == "viewed_record"));
    let future = desk
        .audit_log(&AuditQuery {
            from: Some("2099-01-01".parse().expect("date")),
            ..AuditQuery::default()
        })
        .await
        .expect("audit log");
    assert!(future.rows.is_empty());
    let csv = desk
        .audit_log_csv(&AuditQuery {
            action: Some("viewed_invoice".into()),
            ..AuditQuery::default()
        })
        .await
        .expect("csv");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines[0], "seq,at,user,name,role,action,kind,id");
    // Billing signed in on this desk, so the export names them beside their id.
    assert!(lines[1..]
        .iter()
        .any(|l| l.ends_with(&format!(",billing,viewed_invoice,invoice_pdf,{}", owed.id))));
    match desk
        .audit_log(&AuditQuery {
            action: Some("deleted_everything".into()),
            ..AuditQuery::default()
        })
        .await
    {
        Err(CoreError::Invalid(problems)) => assert_eq!(problems[0].field, "action"),
        other => panic!("an unknown action is refused: {other:?}"),
    }

    // Billing again; the invoice is read (and cached), then the server goes away.
    switch_to(&desk, "billing@demo.clinic").await;
    desk.open_invoice(owed.id.as_str()).await.expect("invoice");
    server.shutdown().await.expect("server stops");
    let taken = desk
        .take_payment(
            owed.id.as_str(),
            &NewPayment {
                method: "Cash".into(),
                amount: Decimal::new(125, 2),
                reference: None,
                date: None,
            },
        )
        .await
        .expect("queued offline");
    let receipt = desk
        .open_document(&DocumentRef::Receipt {
            invoice_id: owed.id.0.clone(),
            payment_id: taken.payment.id.0.clone(),
        })
        .await
        .expect("a provisional receipt");
    assert!(receipt.provisional);
    let text = text_of(&bytes(&receipt));
    assert!(text.contains(PENDING_MARK), "{text}");
    assert!(text.contains("$1.25"), "{text}");
    let cached = desk.overdue_invoices().await.expect("overdue list offline");
    assert!(cached.from_cache);
    let line = cached
        .invoices
        .iter()
        .find(|l| l.invoice.id == owed.id)
        .expect("still listed offline");
    assert_eq!(line.invoice.balance, owed.balance - Decimal::new(125, 2));
    // The invoice's PDF was opened online before: the encrypted cache kept it.
    let kept = desk
        .open_document(&DocumentRef::InvoicePdf {
            invoice_id: owed.id.0.clone(),
        })
        .await
        .expect("the invoice's PDF opens offline from the cache");
    assert!(kept.from_cache && !kept.provisional);
    assert_eq!(bytes(&kept), bytes(&pdf));
    // One never opened is not on the desk.
    let unseen = cached
        .invoices
        .iter()
        .find(|l| l.invoice.id != owed.id)
        .expect("another overdue invoice");
    match desk
        .open_document(&DocumentRef::InvoicePdf {
            invoice_id: unseen.invoice.id.0.clone(),
        })
        .await
    {
        Err(CoreError::Offline(_)) => {}
        other => panic!("an invoice's PDF never opened is not on the desk: {other:?}"),
    }
    // Billing is not offered records, their attachments included.
    match desk
        .open_document(&DocumentRef::Attachment { attachment_id })
        .await
    {
        Err(CoreError::NotAllowed(why)) => assert!(why.contains("clinicians"), "{why}"),
        other => panic!("billing does not open records' attachments: {other:?}"),
    }
}
