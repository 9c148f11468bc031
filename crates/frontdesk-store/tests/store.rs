//! The encrypted cache on real SQLCipher files in temporary directories.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use frontdesk_store::{
    AuditAction, AuditLog, CacheError, Checkpoint, ConflictKind, DataDir, DuplicateField,
    DuplicateProbe, EntityKind, Likeness, NewAttachment, NewOutboxEntry, OutboxState, Refusal,
    SearchField, Store, StoreOptions, AUDIT_FILE, CACHE_FILE,
};
use practice_studio::model::{
    Address, ContactInfo, Gender, Patient, PatientId, PatientLinks, PatientStatus,
};
use tempfile::TempDir;

const KEY: [u8; 32] = [7; 32];

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0)
        .single()
        .expect("valid instant")
}

fn patient(n: u32, first: &str, last: &str, dob: (i32, u32, u32), phone: &str) -> Patient {
    let id = PatientId(format!("PAT-{n:05}"));
    Patient {
        links: PatientLinks::for_patient(&id),
        id,
        mrn: format!("MRN{n:06}"),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).expect("valid date"),
        gender: Gender::U,
        status: PatientStatus::Active,
        contact_info: ContactInfo {
            email: Some(format!("{}.{}@example.org", first.to_lowercase(), n)),
            phone: Some(phone.to_owned()),
            address: Some(Address {
                line1: format!("{n} Main Street"),
                line2: None,
                city: "Springfield".to_owned(),
                state: "IL".to_owned(),
                postal_code: "62701".to_owned(),
                country: None,
            }),
        },
        insurance: None,
        emergency_contact: None,
        preferred_language: None,
        preferred_pharmacy: None,
        allergies: Some(Vec::new()),
        version: 1,
        created: at(2024, 1, 1),
        updated: at(2024, 1, 1),
    }
}

/// The demo practice: names chosen so that typos, prefixes and orders can be told apart.
fn demo() -> Vec<Patient> {
    vec![
        patient(1, "John", "Smith", (1984, 3, 7), "(217) 555-0143"),
        patient(2, "Joan", "Smithers", (1990, 11, 20), "217-555-0199"),
        patient(3, "Jonathan", "Smith", (1975, 6, 1), "+1 312 555 7788"),
        patient(4, "Mary-Jane", "O'Brien", (2001, 2, 14), "312.555.1212"),
        patient(
            5,
            "Zebulon",
            "Quackenbush",
            (1962, 12, 31),
            "(773) 555-0000",
        ),
        patient(6, "Li", "Wong", (1999, 9, 9), "773 555 4321"),
        patient(7, "Linda", "Lindqvist", (1988, 4, 4), "773 555 9876"),
    ]
}

async fn open(dir: &TempDir) -> (DataDir, Store) {
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let store = Store::open(&data, KEY).await.expect("store opens");
    (data, store)
}

async fn with_demo(dir: &TempDir) -> (DataDir, Store) {
    let (data, store) = open(dir).await;
    let patients = demo();
    // Recent visits differ so that ties are ordered: higher number, more recent visit.
    let seen: Vec<_> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p, Some(at(2025, 1, 1 + i as u32))))
        .collect();
    store.upsert_patients_seen(&seen).await.expect("upsert");
    (data, store)
}

fn ids(hits: &[frontdesk_store::PatientHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

// ---- encryption, keys, wipe ----

#[tokio::test]
async fn the_database_file_contains_none_of_the_patients_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, store) = with_demo(&dir).await;
    store
        .put_attachment(&NewAttachment {
            id: "ATT-1".into(),
            patient_id: Some("PAT-00005".into()),
            content_type: "text/plain".into(),
            bytes: b"Zebulon Quackenbush, referral letter".to_vec(),
        })
        .await
        .expect("attachment");
    let path = store.path().to_owned();
    // Read while open (the WAL holds the latest pages) and after closing.
    let mut files = vec![];
    for suffix in ["", "-wal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(&p) {
            files.push(bytes);
        }
    }
    drop(store);
    files.push(std::fs::read(data.path().join(CACHE_FILE)).expect("read db"));
    assert!(files.iter().map(Vec::len).sum::<usize>() > 10_000);
    for bytes in &files {
        assert!(
            !bytes.starts_with(b"SQLite format 3"),
            "plain SQLite header"
        );
        let lower = bytes.to_ascii_lowercase();
        for name in [
            "zebulon",
            "quackenbush",
            "smithers",
            "lindqvist",
            "jonathan",
            "obrien",
        ] {
            assert!(
                !lower.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name} found in the raw file"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_key_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, store) = with_demo(&dir).await;
    drop(store);
    let err = Store::open(&data, [8; 32]).await.expect_err("wrong key");
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
    assert!(err.to_string().contains("key does not open"), "{err}");
    // The right key still opens it, with the data intact.
    let store = Store::open(&data, KEY).await.expect("right key");
    assert_eq!(store.patient_count().await.expect("count"), 7);
}

#[tokio::test]
async fn wipe_removes_the_database_its_wal_and_shm_and_keeps_the_audit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, store) = with_demo(&dir).await;
    let audit = AuditLog::open(&data, KEY).await.expect("audit");
    audit
        .append("u-1", AuditAction::ViewedPatient, "patient", "PAT-00001")
        .await
        .expect("append");
    let db = data.path().join(CACHE_FILE);
    let sidecar = |s: &str| data.path().join(format!("{CACHE_FILE}{s}"));
    assert!(db.exists() && sidecar("-wal").exists() && sidecar("-shm").exists());
    store.wipe().await.expect("wipe");
    assert!(!db.exists(), "database left");
    assert!(!sidecar("-wal").exists(), "WAL left");
    assert!(!sidecar("-shm").exists(), "SHM left");
    assert!(data.path().join(AUDIT_FILE).exists());
    assert_eq!(audit.recent(10).await.expect("audit survives").len(), 1);
    // A fresh, empty cache opens in its place.
    let store = Store::open(&data, KEY).await.expect("reopen");
    assert_eq!(store.patient_count().await.expect("count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_cache_is_removed_only_once_its_last_holder_lets_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, store) = with_demo(&dir).await;
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A task still holds the old handle for a moment (an aborted sync task, say); its last
    // connection's close would delete a `-wal` by name, the new cache's if it came first.
    let holder = {
        let released = released.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            released.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(store);
        })
    };
    // Another key (the keychain lost the old one): refused at once, then removed and replaced.
    let err = Store::open(&data, [9; 32]).await.expect_err("wrong key");
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
    Store::remove_unreadable(&data).await.expect("removed");
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "the removal waited for the old handle to let go"
    );
    holder.await.expect("holder");
    let fresh = Store::open(&data, [9; 32]).await.expect("a new cache");
    fresh.upsert_patients(&demo()).await.expect("write");
    let expected = i64::try_from(demo().len()).expect("count");
    for _ in 0..20 {
        assert_eq!(fresh.patient_count().await.expect("count"), expected);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(fresh);
    let reopened = Store::open(&data, [9; 32]).await.expect("reopen");
    assert_eq!(reopened.patient_count().await.expect("count"), expected);
}

#[tokio::test]
async fn an_unreadable_audit_log_is_set_aside_whole_and_a_new_one_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let audit = AuditLog::open(&data, KEY).await.expect("audit");
    audit
        .append("u-1", AuditAction::ViewedPatient, "patient", "PAT-00001")
        .await
        .expect("append");
    drop(audit);
    let err = AuditLog::open(&data, [9; 32]).await.expect_err("wrong key");
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
    AuditLog::set_aside(&data, "20261127T000000Z")
        .await
        .expect("set aside");
    let fresh = AuditLog::open(&data, [9; 32]).await.expect("a new log");
    assert!(fresh.recent(10).await.expect("list").is_empty());
    fresh.close().await;
    // The old log is whole and opens with its own key.
    let kept = DataDir::open(dir.path().join("kept")).expect("data dir");
    for suffix in ["", "-wal"] {
        let from = data
            .path()
            .join(format!("{AUDIT_FILE}.unreadable-20261127T000000Z{suffix}"));
        if from.exists() {
            std::fs::copy(&from, kept.path().join(format!("{AUDIT_FILE}{suffix}"))).expect("copy");
        }
    }
    let old = AuditLog::open(&kept, KEY).await.expect("the old log opens");
    assert_eq!(
        old.recent(10).await.expect("list")[0].entity_id,
        "PAT-00001"
    );
}

#[tokio::test]
async fn the_audit_log_lists_views_newest_first_and_refuses_a_wrong_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let audit = AuditLog::open(&data, KEY).await.expect("audit");
    audit
        .append("u-1", AuditAction::ViewedPatient, "patient", "PAT-00001")
        .await
        .expect("append");
    audit
        .append("u-2", AuditAction::ViewedRecord, "record", "REC-9")
        .await
        .expect("append");
    let recent = audit.recent(10).await.expect("list");
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].user_id, "u-2");
    assert_eq!(recent[0].action, AuditAction::ViewedRecord);
    assert_eq!(recent[1].entity_id, "PAT-00001");
    assert!(recent[0].seq > recent[1].seq);
    audit.close().await;
    let err = AuditLog::open(&data, [9; 32]).await.expect_err("wrong key");
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
}

// ---- patients ----

#[tokio::test]
async fn patients_round_trip_and_an_update_replaces_what_search_finds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    let id = PatientId::from("PAT-00005");
    let stored = store.patient(&id).await.expect("get").expect("present");
    assert_eq!(stored, demo()[4]);

    let mut renamed = stored.clone();
    renamed.last_name = "Quill".into();
    renamed.version = 2;
    store
        .upsert_patients(&[renamed.clone()])
        .await
        .expect("update");
    assert_eq!(store.patient(&id).await.expect("get"), Some(renamed));
    assert!(store
        .search_patients("quackenbush", 10)
        .await
        .expect("search")
        .is_empty());
    assert_eq!(
        ids(&store.search_patients("quill", 10).await.expect("search")),
        ["PAT-00005"]
    );
    // The update kept the visit recorded before.
    let hit = &store.search_patients("quill", 10).await.expect("search")[0];
    assert_eq!(hit.last_visit, Some(at(2025, 1, 5)));

    assert!(store.delete_patient(&id).await.expect("delete"));
    assert!(!store.delete_patient(&id).await.expect("delete again"));
    assert_eq!(store.patient(&id).await.expect("get"), None);
    assert!(store
        .search_patients("zebulon", 10)
        .await
        .expect("search")
        .is_empty());
    assert_eq!(store.patient_count().await.expect("count"), 6);
}

#[tokio::test]
async fn the_last_version_of_a_patient_in_a_batch_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let a = patient(1, "Ada", "Lovelace", (1815, 12, 10), "555-0001");
    let mut b = a.clone();
    b.first_name = "Augusta".into();
    store.upsert_patients(&[a, b]).await.expect("batch");
    assert_eq!(store.patient_count().await.expect("count"), 1);
    let kept = store
        .patient(&PatientId::from("PAT-00001"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(kept.first_name, "Augusta");
    assert!(store
        .search_patients("ada", 5)
        .await
        .expect("search")
        .is_empty());
}

#[tokio::test]
async fn sync_state_is_kept_across_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let store = Store::open(&data, KEY).await.expect("open");
    assert_eq!(store.sync_state("events").await.expect("get"), None);
    store.set_sync_state("events", "c-41").await.expect("set");
    store.set_sync_state("events", "c-42").await.expect("set");
    drop(store);
    let store = Store::open(&data, KEY).await.expect("reopen");
    assert_eq!(
        store.sync_state("events").await.expect("get").as_deref(),
        Some("c-42")
    );
}

// ---- outbox ----

fn write(n: u32) -> NewOutboxEntry {
    NewOutboxEntry {
        idempotency_key: format!("idem-{n}"),
        request_id: format!("req-{n}"),
        author: "u-reception".into(),
        entity_kind: EntityKind::Patient,
        entity_id: format!("PAT-{n:05}"),
        operation: "update".into(),
        payload: serde_json::json!({ "n": n }),
        base_version: None,
        refs: Vec::new(),
    }
}

#[tokio::test]
async fn the_outbox_keeps_writes_in_order_until_sent_or_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let store = Store::open(&data, KEY).await.expect("open");
    let first = store.enqueue(&write(1)).await.expect("enqueue");
    let second = store.enqueue(&write(2)).await.expect("enqueue");
    let third = store.enqueue(&write(3)).await.expect("enqueue");
    assert!(first.seq < second.seq && second.seq < third.seq);
    let dup = store.enqueue(&write(1)).await.expect_err("same key twice");
    assert!(
        matches!(dup, CacheError::DuplicateIdempotencyKey { .. }),
        "{dup:?}"
    );

    // Durable: a reopened store still has them.
    drop(store);
    let store = Store::open(&data, KEY).await.expect("reopen");
    let pending = store.pending_writes(10).await.expect("pending");
    assert_eq!(pending, vec![first.clone(), second.clone(), third.clone()]);

    store.record_attempt(first.seq).await.expect("attempt");
    store.mark_sent(first.seq).await.expect("sent");
    assert!(matches!(
        store.mark_sent(first.seq).await,
        Err(CacheError::NotPending { .. })
    ));
    let refusal = Refusal {
        kind: ConflictKind::Clash,
        message: "version mismatch".into(),
        server_status: Some(409),
        server_body: Some(serde_json::json!({ "version": 7 })),
    };
    store
        .move_to_conflicts(second.seq, &refusal)
        .await
        .expect("conflict");
    let pending = store.pending_writes(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, third.seq);
    assert_eq!(store.pending_count().await.expect("count"), 1);

    let conflicts = store.conflicts().await.expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].entry.seq, second.seq);
    assert_eq!(conflicts[0].entry.state, OutboxState::Conflict);
    assert_eq!(conflicts[0].entry.author, "u-reception");
    assert_eq!(conflicts[0].refusal, refusal);
}

// ---- attachments ----

#[tokio::test]
async fn attachments_over_the_cap_evict_the_least_recently_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let options = StoreOptions {
        attachment_cap_bytes: 100,
        ..StoreOptions::default()
    };
    let store = Store::open_with(&data, KEY, options).await.expect("open");
    let file = |id: &str, fill: u8| NewAttachment {
        id: id.into(),
        patient_id: None,
        content_type: "application/pdf".into(),
        bytes: vec![fill; 40],
    };
    assert!(store
        .put_attachment(&file("a", 1))
        .await
        .expect("a")
        .is_empty());
    assert!(store
        .put_attachment(&file("b", 2))
        .await
        .expect("b")
        .is_empty());
    // Reading a makes b the least recently used.
    assert_eq!(
        store.attachment("a").await.expect("get").expect("a").bytes,
        vec![1; 40]
    );
    assert_eq!(store.put_attachment(&file("c", 3)).await.expect("c"), ["b"]);
    assert_eq!(store.attachment("b").await.expect("get"), None);
    assert!(store.attachment("a").await.expect("get").is_some());
    assert_eq!(store.attachment_bytes().await.expect("sum"), 80);
    let too_big = NewAttachment {
        bytes: vec![0; 101],
        ..file("d", 4)
    };
    assert!(matches!(
        store.put_attachment(&too_big).await,
        Err(CacheError::AttachmentTooLarge {
            size: 101,
            cap: 100,
            ..
        })
    ));
    assert_eq!(store.attachment_bytes().await.expect("sum"), 80);
}

// ---- search ----

#[tokio::test]
async fn names_are_found_in_any_order_with_the_last_word_as_a_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    let hits = store.search_patients("smith jo", 10).await.expect("search");
    // Exact "smith" beats the prefix "smithers"; "jo" says as much about John as about
    // Jonathan, so the more recent visit leads.
    assert_eq!(ids(&hits), ["PAT-00003", "PAT-00001", "PAT-00002"]);
    assert_eq!(
        ids(&store
            .search_patients("john smith", 10)
            .await
            .expect("search"))[0],
        "PAT-00001"
    );
    assert_eq!(
        ids(&store
            .search_patients("Smith, John", 10)
            .await
            .expect("search"))[0],
        "PAT-00001"
    );
    let spans = &hits[1].spans;
    assert!(spans
        .iter()
        .any(|s| s.field == SearchField::LastName && (s.start, s.end) == (0, 5)));
    assert!(spans
        .iter()
        .any(|s| s.field == SearchField::FirstName && (s.start, s.end) == (0, 2)));
}

#[tokio::test]
async fn a_typo_in_each_name_part_still_finds_the_patient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in [
        "Jonh Smiht",
        "jhon smith",
        "john smtih",
        "Zebulun Quakenbush",
        "lnida",
    ] {
        let hits = store.search_patients(typed, 10).await.expect("search");
        assert!(!hits.is_empty(), "{typed} found nothing");
        let expected = match typed {
            "Zebulun Quakenbush" => "PAT-00005",
            "lnida" => "PAT-00007",
            _ => "PAT-00001",
        };
        assert_eq!(hits[0].id.as_str(), expected, "{typed}: {:?}", ids(&hits));
        assert!(hits[0].score < 1.0, "a typo is not an exact match");
    }
    // A typo span covers the whole word it matched.
    let hit = &store.search_patients("jonh", 10).await.expect("search")[0];
    assert!(hit
        .spans
        .iter()
        .any(|s| s.field == SearchField::FirstName && (s.start, s.end) == (0, 4)));
}

#[tokio::test]
async fn one_and_two_letters_find_names_starting_with_them_most_recent_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    // "li": the patient named exactly Li first, then Linda Lindqvist.
    assert_eq!(
        ids(&store.search_patients("li", 10).await.expect("search")),
        ["PAT-00006", "PAT-00007"]
    );
    // "j": John, Joan, Jonathan and Mary-Jane, the most recent visit first.
    assert_eq!(
        ids(&store.search_patients("j", 10).await.expect("search")),
        ["PAT-00004", "PAT-00003", "PAT-00002", "PAT-00001"]
    );
    assert_eq!(
        ids(&store.search_patients("q", 10).await.expect("search")),
        ["PAT-00005"]
    );
}

#[tokio::test]
async fn apostrophes_hyphens_and_substrings_match_as_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in ["obrien", "O'Brien", "o brien jane", "mary jane", "ckenb"] {
        let hits = store.search_patients(typed, 10).await.expect("search");
        let expected = if typed == "ckenb" {
            "PAT-00005"
        } else {
            "PAT-00004"
        };
        assert_eq!(ids(&hits).first().copied(), Some(expected), "{typed}");
    }
    let hit = &store.search_patients("ckenb", 10).await.expect("search")[0];
    // "Quackenbush": "ckenb" is chars 3..8.
    assert_eq!(
        hit.spans
            .iter()
            .find(|s| s.field == SearchField::LastName)
            .map(|s| (s.start, s.end)),
        Some((3, 8))
    );
}

#[tokio::test]
async fn an_exact_mrn_or_id_comes_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in ["MRN000003", "mrn-000003", "PAT-00003", "pat-00003"] {
        let hits = store.search_patients(typed, 10).await.expect("search");
        assert_eq!(ids(&hits).first().copied(), Some("PAT-00003"), "{typed}");
        assert!(hits[0].score > 1.0);
    }
    let hit = &store
        .search_patients("PAT-00003", 10)
        .await
        .expect("search")[0];
    assert!(hit.spans.iter().any(|s| s.field == SearchField::Id));
    let hit = &store
        .search_patients("MRN000003", 10)
        .await
        .expect("search")[0];
    assert!(hit.spans.iter().any(|s| s.field == SearchField::Mrn));
}

#[tokio::test]
async fn a_phone_is_found_whatever_its_punctuation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in [
        "2175550143",
        "(217) 555-0143",
        "+1 217 555 0143",
        "217.555.0143",
        "555-0143",
    ] {
        let hits = store.search_patients(typed, 10).await.expect("search");
        assert_eq!(ids(&hits), ["PAT-00001"], "{typed}");
    }
    // A suffix shared by two numbers finds both; the full number scores higher.
    let hits = store.search_patients("0143", 10).await.expect("search");
    assert_eq!(ids(&hits), ["PAT-00001"]);
    let hits = store
        .search_patients("+13125557788", 10)
        .await
        .expect("search");
    assert_eq!(ids(&hits), ["PAT-00003"]);
    assert_eq!(hits[0].score, 1.0);
    let span = hits[0]
        .spans
        .iter()
        .find(|s| s.field == SearchField::Phone)
        .expect("phone span");
    // "+1 312 555 7788": the last ten digits run from char 3 to the end.
    assert_eq!((span.start, span.end), (3, 15));
}

#[tokio::test]
async fn a_date_of_birth_is_found_in_all_three_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in ["1984-03-07", "03/07/1984", "07.03.1984"] {
        let hits = store.search_patients(typed, 10).await.expect("search");
        assert_eq!(ids(&hits), ["PAT-00001"], "{typed}");
        assert!(hits[0]
            .spans
            .iter()
            .any(|s| s.field == SearchField::DateOfBirth));
    }
    // With a name, the date narrows it.
    assert_eq!(
        ids(&store
            .search_patients("smith 06/01/1975", 10)
            .await
            .expect("search")),
        ["PAT-00003"]
    );
    assert!(store
        .search_patients("smithers 1984-03-07", 10)
        .await
        .expect("search")
        .is_empty());
}

#[tokio::test]
async fn a_recent_visit_moves_a_patient_up_among_equal_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    assert_eq!(
        ids(&store.search_patients("smith", 10).await.expect("search"))[..2],
        ["PAT-00003", "PAT-00001"]
    );
    store
        .record_visits(&[(PatientId::from("PAT-00001"), at(2025, 6, 1))])
        .await
        .expect("visit");
    let hits = store.search_patients("smith", 10).await.expect("search");
    assert_eq!(ids(&hits)[..2], ["PAT-00001", "PAT-00003"]);
    assert_eq!(hits[0].last_visit, Some(at(2025, 6, 1)));
    // An older visit changes nothing.
    store
        .record_visits(&[(PatientId::from("PAT-00001"), at(2020, 1, 1))])
        .await
        .expect("visit");
    let hits = store.search_patients("smith", 10).await.expect("search");
    assert_eq!(hits[0].last_visit, Some(at(2025, 6, 1)));
}

#[tokio::test]
async fn nonsense_finds_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    for typed in ["", "   ", "xqzv", "smith xqzv", "1999-01-01", "9999"] {
        assert!(
            store
                .search_patients(typed, 10)
                .await
                .expect("search")
                .is_empty(),
            "{typed}"
        );
    }
}

// ---- duplicates ----

#[tokio::test]
async fn a_duplicate_is_explained_field_by_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    let probe = DuplicateProbe {
        first_name: "Jon".into(),
        last_name: "Smith".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1984, 3, 7),
        phone: Some("217 555 0143".into()),
        email: Some("JOHN.1@example.org".into()),
        address: None,
        except: None,
    };
    let found = store
        .possible_duplicates(&probe, 0.75)
        .await
        .expect("duplicates");
    assert_eq!(found.len(), 1, "{found:?}");
    let dup = &found[0];
    assert_eq!(dup.patient.id.as_str(), "PAT-00001");
    assert!(dup.score > 0.9 && dup.score < 1.0, "{}", dup.score);
    let field = |f: DuplicateField| dup.fields.iter().find(|m| m.field == f).copied();
    assert_eq!(
        field(DuplicateField::Name).map(|m| m.likeness),
        Some(Likeness::Similar)
    );
    assert_eq!(
        field(DuplicateField::DateOfBirth).map(|m| m.likeness),
        Some(Likeness::Same)
    );
    assert_eq!(
        field(DuplicateField::Phone).map(|m| m.likeness),
        Some(Likeness::Same)
    );
    assert_eq!(
        field(DuplicateField::Email).map(|m| m.likeness),
        Some(Likeness::Same)
    );
    assert_eq!(
        field(DuplicateField::Address),
        None,
        "not given, not listed"
    );
}

#[tokio::test]
async fn swapped_names_and_birth_dates_still_look_like_the_same_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    let probe = DuplicateProbe {
        first_name: "Quackenbush".into(),
        last_name: "Zebulon".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1962, 12, 31),
        ..DuplicateProbe::default()
    };
    let found = store.possible_duplicates(&probe, 0.75).await.expect("dups");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].fields[0].likeness, Likeness::Swapped);

    let probe = DuplicateProbe {
        first_name: "John".into(),
        last_name: "Smith".into(),
        date_of_birth: NaiveDate::from_ymd_opt(1984, 7, 3),
        ..DuplicateProbe::default()
    };
    let found = store.possible_duplicates(&probe, 0.75).await.expect("dups");
    assert_eq!(
        found.first().map(|d| d.patient.id.as_str()),
        Some("PAT-00001")
    );
    assert_eq!(found[0].fields[1].likeness, Likeness::Swapped);
}

#[tokio::test]
async fn the_threshold_decides_and_a_patient_is_not_their_own_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = with_demo(&dir).await;
    // Same phone as John Smith, nothing else alike: a family member, not a duplicate.
    let probe = DuplicateProbe {
        first_name: "Martha".into(),
        last_name: "Kowalski".into(),
        date_of_birth: NaiveDate::from_ymd_opt(2010, 5, 5),
        phone: Some("(217) 555-0143".into()),
        ..DuplicateProbe::default()
    };
    assert!(store
        .possible_duplicates(&probe, 0.75)
        .await
        .expect("dups")
        .is_empty());
    let low = store.possible_duplicates(&probe, 0.1).await.expect("dups");
    assert_eq!(low.len(), 1);
    assert!(low[0].score < 0.75);
    assert_eq!(low[0].fields[0].likeness, Likeness::Different);

    let existing = demo()[0].clone();
    let edited = DuplicateProbe::of(&existing);
    assert!(store
        .possible_duplicates(&edited, 0.5)
        .await
        .expect("dups")
        .iter()
        .all(|d| d.patient.id != existing.id));
}

#[tokio::test]
async fn a_common_surname_lists_its_most_recently_seen_patients_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let smiths: Vec<Patient> = (1..=30)
        .map(|n| patient(n, "Alex", "Smith", (1980, 1, 1), "555-0100"))
        .collect();
    let mut seen: Vec<_> = smiths
        .iter()
        .enumerate()
        // Visits in a scrambled order, so the answer is not insertion order.
        .map(|(i, p)| {
            (
                p,
                Some(at(2024, 1 + (i as u32 * 7) % 12, 1 + (i as u32 * 11) % 28)),
            )
        })
        .collect();
    let smithers = patient(99, "Alex", "Smithers", (1980, 1, 1), "555-0199");
    seen.push((&smithers, Some(at(2025, 12, 31))));
    store.upsert_patients_seen(&seen).await.expect("upsert");

    let hits = store.search_patients("smith", 5).await.expect("search");
    let mut expected: Vec<_> = seen[..30]
        .iter()
        .map(|(p, visit)| (visit.expect("visit"), p.id.as_str()))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    // Smithers, seen last of all, still comes after every exact Smith.
    assert_eq!(
        ids(&hits),
        expected.iter().take(5).map(|e| e.1).collect::<Vec<_>>()
    );
    assert!(hits.iter().all(|h| h.score == 1.0));
    assert_eq!(
        ids(&store.search_patients("smith", 31).await.expect("search"))[30],
        "PAT-00099"
    );
}

#[tokio::test]
async fn a_newer_server_copy_read_while_a_change_waits_wins_when_the_change_is_recorded() {
    let dir = TempDir::new().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let v1 = patient(1, "John", "Smith", (1984, 3, 7), "(217) 555-0143");
    store
        .apply_remote_patients(std::slice::from_ref(&v1), None)
        .await
        .expect("v1");
    let mut ours = v1.clone();
    ours.preferred_language = Some("Ours".into());
    let entry = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                base_version: Some(1),
                ..write(1)
            },
            &ours,
        )
        .await
        .expect("queued");
    // The server took our change (v2), someone else changed the patient again (v3), and a poll
    // read v3 before the desk recorded the answer to ours.
    let mut v3 = v1.clone();
    v3.version = 3;
    v3.preferred_language = Some("Theirs".into());
    let applied = store
        .apply_remote_patients(
            &[v3.clone()],
            Some(Checkpoint {
                key: "poll:patients",
                value: "{}",
            }),
        )
        .await
        .expect("poll");
    assert!(applied.is_empty(), "a pending row is not overwritten");
    assert_eq!(
        store.patient(&v1.id).await.expect("read"),
        Some(ours.clone())
    );
    assert_eq!(
        store.held_server_patient(&v1.id).await.expect("held"),
        Some(v3.clone())
    );
    assert_eq!(
        store
            .sync_state("poll:patients")
            .await
            .expect("cursor")
            .as_deref(),
        Some("{}")
    );
    let mut v2 = ours.clone();
    v2.version = 2;
    store
        .complete_patient_write(entry.seq, &v2)
        .await
        .expect("recorded");
    assert_eq!(store.patient(&v1.id).await.expect("read"), Some(v3));
    assert_eq!(
        store.patient_pending(&v1.id).await.expect("flag"),
        Some(false)
    );
    assert_eq!(store.held_server_patient(&v1.id).await.expect("held"), None);
}

#[tokio::test]
async fn an_older_or_equal_version_from_the_server_is_not_applied_again() {
    let dir = TempDir::new().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let mut v2 = patient(1, "John", "Smith", (1984, 3, 7), "(217) 555-0143");
    v2.version = 2;
    let applied = store
        .apply_remote_patients(&[v2.clone()], None)
        .await
        .expect("v2");
    assert_eq!(applied, vec![v2.id.clone()]);
    let mut v1 = v2.clone();
    v1.version = 1;
    v1.first_name = "Jon".into();
    let applied = store
        .apply_remote_patients(&[v1, v2.clone()], None)
        .await
        .expect("again");
    assert!(applied.is_empty());
    assert_eq!(store.patient(&v2.id).await.expect("read"), Some(v2));
}

#[tokio::test]
async fn a_registration_polled_before_its_answer_is_recorded_keeps_the_newer_version() {
    let dir = TempDir::new().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let mut local = patient(1, "Nina", "Local", (1990, 1, 2), "217-555-0100");
    local.id = PatientId("local-1".into());
    local.version = 0;
    let entry = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                entity_id: "local-1".into(),
                operation: "create".into(),
                ..write(1)
            },
            &local,
        )
        .await
        .expect("queued");
    // The server registered her (v1), someone changed her (v2), and a poll stored v2 before
    // the desk recorded the answer to its registration.
    let mut v1 = patient(7, "Nina", "Local", (1990, 1, 2), "217-555-0100");
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.preferred_language = Some("Theirs".into());
    store
        .apply_remote_patients(std::slice::from_ref(&v2), None)
        .await
        .expect("polled");
    v1.version = 1;
    store
        .complete_patient_write(entry.seq, &v1)
        .await
        .expect("recorded");
    assert_eq!(store.patient(&v2.id).await.expect("read"), Some(v2.clone()));
    assert_eq!(store.patient(&local.id).await.expect("read"), None);
    assert_eq!(
        store
            .mapped_id(EntityKind::Patient, "local-1")
            .await
            .expect("map")
            .as_deref(),
        Some(v2.id.as_str())
    );
    // A screen still holding the local id finds the patient under the server's.
    assert_eq!(
        store.patient_by_any_id("local-1").await.expect("read"),
        Some(v2.clone())
    );
    assert_eq!(
        store.patient_by_any_id("local-2").await.expect("read"),
        None
    );
    assert_eq!(store.patient_count().await.expect("count"), 1);
}

/// The change feed can bring a registration's event before the desk that made it has recorded
/// the server's answer. The server's copy, caused by the pending entry's request, is held: search
/// never finds the patient twice, and finds the server's patient once the answer is recorded; a
/// patient another desk registered is stored at once. If the entry is refused after all, the
/// held copy is shown rather than lost.
#[tokio::test]
async fn a_registrations_event_that_arrives_before_its_answer_does_not_show_the_patient_twice() {
    let dir = TempDir::new().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let feed = || Checkpoint {
        key: "feed",
        value: "{}",
    };
    let mut local = patient(1, "Quentin", "Quackenbush", (1990, 1, 2), "217-555-0100");
    local.id = PatientId("local-1".into());
    local.version = 0;
    let entry = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                entity_id: "local-1".into(),
                operation: "create".into(),
                ..write(1)
            },
            &local,
        )
        .await
        .expect("queued");
    let mut ours = patient(7, "Quentin", "Quackenbush", (1990, 1, 2), "217-555-0100");
    ours.version = 1;
    let theirs = patient(8, "Quincy", "Quackenbush", (1991, 3, 4), "217-555-0199");
    let applied = store
        .apply_feed_patients(
            &[ours.clone(), theirs.clone()],
            &[Some("req-1".into()), Some("req-of-another-desk".into())],
            feed(),
        )
        .await
        .expect("feed");
    assert_eq!(applied, vec![theirs.id.clone()]);
    let found = store
        .search_patients("quackenbush", 10)
        .await
        .expect("search");
    let mut found = ids(&found);
    found.sort_unstable();
    assert_eq!(found, vec![theirs.id.as_str(), "local-1"]);

    store
        .complete_patient_write(entry.seq, &ours)
        .await
        .expect("recorded");
    let found = store
        .search_patients("quentin quackenbush", 10)
        .await
        .expect("search");
    assert_eq!(ids(&found), vec![ours.id.as_str()]);
    assert_eq!(store.patient_count().await.expect("count"), 2);

    // Refused after its request made an event: the held copy is shown, not lost.
    let mut second = patient(2, "Rhoda", "Quackenbush", (1992, 5, 6), "217-555-0142");
    second.id = PatientId("local-2".into());
    let refused = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                entity_id: "local-2".into(),
                operation: "create".into(),
                ..write(2)
            },
            &second,
        )
        .await
        .expect("queued");
    let servers = patient(9, "Rhoda", "Quackenbush", (1992, 5, 6), "217-555-0142");
    store
        .apply_feed_patients(
            std::slice::from_ref(&servers),
            &[Some("req-2".into())],
            feed(),
        )
        .await
        .expect("feed");
    assert_eq!(store.patient(&servers.id).await.expect("read"), None);
    store
        .move_to_conflicts(
            refused.seq,
            &Refusal {
                kind: ConflictKind::Clash,
                message: "refused".into(),
                server_status: Some(409),
                server_body: None,
            },
        )
        .await
        .expect("refused");
    assert_eq!(
        store.patient(&servers.id).await.expect("read"),
        Some(servers)
    );
}

#[tokio::test]
async fn a_registrations_server_id_replaces_its_local_id_in_the_entries_that_wait_for_it() {
    let dir = TempDir::new().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let mut local = patient(1, "Rita", "Refs", (1990, 1, 2), "217-555-0100");
    local.id = PatientId("local-9".into());
    let create = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                entity_id: "local-9".into(),
                operation: "create".into(),
                ..write(1)
            },
            &local,
        )
        .await
        .expect("queued");
    let update = store
        .enqueue_patient_change(
            &NewOutboxEntry {
                entity_id: "local-9".into(),
                base_version: Some(0),
                ..write(2)
            },
            &local,
        )
        .await
        .expect("queued");
    assert_eq!(
        update.base_version, None,
        "chains on the registration's answer"
    );
    let booking = store
        .enqueue(&NewOutboxEntry {
            entity_kind: EntityKind::Appointment,
            entity_id: "local-appt-1".into(),
            operation: "book".into(),
            refs: vec![frontdesk_store::entity_key(EntityKind::Patient, "local-9")],
            ..write(3)
        })
        .await
        .expect("queued");
    let mut answer = patient(4242, "Rita", "Refs", (1990, 1, 2), "217-555-0100");
    answer.version = 1;
    store
        .complete_patient_write(create.seq, &answer)
        .await
        .expect("recorded");
    let pending = store.pending_writes(10).await.expect("pending");
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].seq, update.seq);
    assert_eq!(pending[0].entity_id, answer.id.as_str());
    assert_eq!(
        store
            .chained_version(EntityKind::Patient, answer.id.as_str(), update.seq)
            .await
            .expect("chain"),
        Some(1)
    );
    assert_eq!(pending[1].seq, booking.seq);
    assert_eq!(
        pending[1].refs,
        vec![frontdesk_store::entity_key(
            EntityKind::Patient,
            answer.id.as_str()
        )]
    );
    // The row shows the waiting change under the server's identity, still pending.
    assert_eq!(store.patient(&local.id).await.expect("read"), None);
    let shown = store
        .patient(&answer.id)
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(shown.mrn, answer.mrn);
    assert_eq!(
        store.patient_pending(&answer.id).await.expect("flag"),
        Some(true)
    );
}

#[tokio::test]
async fn an_invoice_read_before_a_newer_copy_was_recorded_does_not_replace_it() {
    use practice_studio::model::{Invoice, InvoiceId, InvoiceLinks, InvoiceStatus};
    use rust_decimal::Decimal;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_dir, store) = open(&dir).await;
    let invoice = |balance: i64| Invoice {
        id: InvoiceId("INV-1".into()),
        patient_id: PatientId("PAT-1".into()),
        date: NaiveDate::from_ymd_opt(2026, 11, 2).expect("date"),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
        status: InvoiceStatus::Open,
        amount: Decimal::new(10_000, 2),
        paid_amount: Decimal::new(10_000 - balance, 2),
        adjusted_amount: Decimal::ZERO,
        balance: Decimal::new(balance, 2),
        items: Vec::new(),
        payments: Vec::new(),
        adjustments: Vec::new(),
        links: InvoiceLinks::for_invoice(&InvoiceId("INV-1".into()), &PatientId("PAT-1".into())),
    };
    // A slow read is asked for; meanwhile a newer copy (a payment's answer, say) is recorded.
    let slow_read_asked = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .apply_remote_invoices(&[invoice(7_500)], Utc::now())
        .await
        .expect("newer copy");
    // The slow read's older copy arrives: kept out.
    let applied = store
        .apply_remote_invoices(&[invoice(10_000)], slow_read_asked)
        .await
        .expect("stale copy");
    assert!(applied.is_empty());
    let cached = store.invoice("INV-1").await.expect("read").expect("cached");
    assert_eq!(cached.balance, Decimal::new(7_500, 2));
    // A read asked for after it is the newest, and applies.
    let applied = store
        .apply_remote_invoices(&[invoice(5_000)], Utc::now())
        .await
        .expect("fresh copy");
    assert_eq!(applied, vec!["INV-1".to_owned()]);
}
