//! The SDK's records and billing routes against the real server on loopback: each method once
//! at least, documents parsed back, money exact, payments idempotent through the SDK's key.

mod support;

use std::str::FromStr;

use chrono::NaiveDate;
use practice_studio::client::{Auth, Error, InvoiceQuery, RecordQuery};
use practice_studio::model::{
    InvoiceStatus, NewPayment, NewRecord, PatientId, ProviderId, RecordContent,
};
use rust_decimal::Decimal;
use support::TestServer;

fn user(email: &str) -> Auth {
    Auth::password("frontdesk", email, "demo-password")
}

fn pdf_text(bytes: &[u8]) -> String {
    let document = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).expect("date")
}

#[tokio::test]
async fn records_are_listed_filtered_read_created_and_downloaded() {
    let api = TestServer::demo(30).await;
    let client = api.client(user("clinician@demo.clinic"));

    // A patient with an attachment.
    let mut found = None;
    for n in 10_001..10_031 {
        let patient = PatientId(format!("PAT-{n}"));
        let page = client
            .records()
            .list(&patient, &RecordQuery::new().limit(100))
            .await
            .expect("list");
        assert_eq!(page.total as usize, page.records.len());
        if let Some(record) = page.records.iter().find(|r| !r.attachments.is_empty()) {
            found = Some((patient, page.records.clone(), record.clone()));
            break;
        }
    }
    let (patient, records, record) = found.expect("a record with an attachment");

    let read = client.records().get(&record.id).await.expect("get");
    assert_eq!(read, record);
    let followed: practice_studio::model::MedicalRecord =
        client.follow(&record.links.self_).await.expect("follow");
    assert_eq!(followed, record);

    let typed = client
        .records()
        .list(
            &patient,
            &RecordQuery::new().record_type(record.record_type.to_lowercase()),
        )
        .await
        .expect("by type");
    assert!(typed.records.contains(&record));
    assert!(typed
        .records
        .iter()
        .all(|r| r.record_type == record.record_type));
    let on_day = record.date.date_naive();
    let dated = client
        .records()
        .list(&patient, &RecordQuery::new().from(on_day).to(on_day))
        .await
        .expect("by date");
    assert!(dated.records.contains(&record));
    assert!(dated.records.iter().all(|r| r.date.date_naive() == on_day));
    let second = client
        .records()
        .list(&patient, &RecordQuery::new().limit(1).offset(1))
        .await
        .expect("page");
    assert_eq!(second.records.first(), records.get(1));

    let attachment = &record.attachments[0];
    let answer = client
        .records()
        .download_attachment(attachment)
        .send()
        .await
        .expect("download");
    let document = answer.value;
    assert_eq!(document.bytes.len() as u64, attachment.size);
    assert_eq!(document.content_type, attachment.content_type);
    assert_eq!(
        document.filename.as_deref(),
        Some(attachment.filename.as_str())
    );
    assert!(document.etag.is_some());
    assert_eq!(answer.etag, document.etag);
    assert!(pdf_text(&document.bytes).contains(patient.as_str()));
    let again = client
        .records()
        .download(&attachment.id)
        .await
        .expect("again");
    assert_eq!(again, document);

    let note = NewRecord {
        provider_id: ProviderId::from("PROV-54321"),
        record_type: "Progress Note".into(),
        date: None,
        title: "Follow-up Visit".into(),
        content: RecordContent {
            subjective: "Feels better.".into(),
            objective: "BP 118/76.".into(),
            assessment: "Improving.".into(),
            plan: "Recheck in a month.".into(),
        },
    };
    let created = client
        .records()
        .create(&patient, &note)
        .idempotency_key("sdk-note-1")
        .send()
        .await
        .expect("created");
    assert_eq!(created.status, 201);
    assert_eq!(created.value.content, note.content);
    let replayed = client
        .records()
        .create(&patient, &note)
        .idempotency_key("sdk-note-1")
        .send()
        .await
        .expect("replayed");
    assert!(replayed.replayed);
    assert_eq!(replayed.value, created.value);
    let after = client
        .records()
        .list(&patient, &RecordQuery::new().limit(100))
        .await
        .expect("list");
    assert_eq!(after.total, records.len() as u64 + 1);

    // A reception desk may not read records.
    let reception = api.client(user("reception@demo.clinic"));
    let refused = reception
        .records()
        .list(&patient, &RecordQuery::new())
        .await
        .expect_err("forbidden");
    assert!(matches!(refused, Error::Forbidden(_)), "{refused:?}");
    let missing = client
        .records()
        .download(&practice_studio::model::AttachmentId::from("ATT-99999999"))
        .await
        .expect_err("missing");
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn invoices_are_listed_read_paid_and_printed() {
    let api = TestServer::demo(30).await;
    let client = api.client(user("billing@demo.clinic"));
    let today = day("2026-11-23");

    let overdue = client
        .billing()
        .invoices(
            &InvoiceQuery::new()
                .status(InvoiceStatus::Overdue)
                .limit(100),
        )
        .await
        .expect("overdue worklist");
    assert!(!overdue.invoices.is_empty());
    assert!(overdue
        .invoices
        .iter()
        .all(|i| i.status == InvoiceStatus::Overdue && i.due_date < today));
    let invoice = overdue.invoices[0].clone();

    let mine = client
        .billing()
        .patient_invoices(
            &invoice.patient_id,
            &InvoiceQuery::new().from(invoice.date).to(invoice.date),
        )
        .await
        .expect("patient's invoices");
    assert!(mine.invoices.contains(&invoice));
    let open = client
        .billing()
        .patient_invoices(
            &invoice.patient_id,
            &InvoiceQuery::new().status(InvoiceStatus::Open),
        )
        .await
        .expect("open");
    assert!(!open.invoices.iter().any(|i| i.id == invoice.id));
    let by_patient = client
        .billing()
        .invoices(&InvoiceQuery::new().patient(invoice.patient_id.clone()))
        .await
        .expect("filtered by patient");
    assert!(by_patient
        .invoices
        .iter()
        .all(|i| i.patient_id == invoice.patient_id));
    assert_eq!(
        client.billing().invoice(&invoice.id).await.expect("get"),
        invoice
    );

    // Exact cents: 0.10 and 0.20 make 0.30.
    let tenth = |cents| Decimal::new(cents, 2);
    let pay = |amount: Decimal| NewPayment {
        method: "Cash".into(),
        amount,
        reference: None,
        date: None,
    };
    let first = client
        .billing()
        .pay(&invoice.id, &pay(tenth(10)))
        .await
        .expect("first");
    let second = client
        .billing()
        .pay(&invoice.id, &pay(tenth(20)))
        .idempotency_key("sdk-pay-2")
        .send()
        .await
        .expect("second");
    assert_eq!(
        second.value.invoice.paid_amount - invoice.paid_amount,
        tenth(30)
    );
    assert_ne!(first.payment.id, second.value.payment.id);
    let replay = client
        .billing()
        .pay(&invoice.id, &pay(tenth(20)))
        .idempotency_key("sdk-pay-2")
        .send()
        .await
        .expect("replay");
    assert!(replay.replayed);
    assert_eq!(replay.value, second.value);

    // More than the balance is a 422.
    let balance = second.value.invoice.balance;
    let refused = client
        .billing()
        .pay(&invoice.id, &pay(balance + tenth(1)))
        .await
        .expect_err("over-payment");
    assert!(
        matches!(refused, Error::Api { status: 422, .. }),
        "{refused:?}"
    );
    let paid = client
        .billing()
        .pay(&invoice.id, &pay(balance))
        .await
        .expect("the rest");
    assert_eq!(paid.invoice.status, InvoiceStatus::Paid);
    assert_eq!(paid.invoice.balance, Decimal::ZERO);

    let pdf = client
        .billing()
        .invoice_pdf(&invoice.id)
        .await
        .expect("invoice pdf");
    assert_eq!(pdf.content_type, "application/pdf");
    let text = pdf_text(&pdf.bytes);
    for item in &invoice.items {
        assert!(text.contains(&item.code), "{text}");
    }
    assert!(
        text.contains("Balance due") && text.contains("$0.00"),
        "{text}"
    );
    let receipt = client
        .billing()
        .receipt(&paid.payment.id)
        .await
        .expect("receipt");
    let text = pdf_text(&receipt.bytes);
    assert!(
        text.contains(&format!("${}", balance.round_dp(2))),
        "{text}"
    );

    // A clinician reads invoices but takes no payment (reception and billing do).
    let clinician = api.client(user("clinician@demo.clinic"));
    assert_eq!(
        clinician
            .billing()
            .invoice(&invoice.id)
            .await
            .expect("read")
            .id,
        invoice.id
    );
    let forbidden = clinician
        .billing()
        .pay(&invoice.id, &pay(tenth(1)))
        .await
        .expect_err("forbidden");
    assert!(matches!(forbidden, Error::Forbidden(_)), "{forbidden:?}");
}
