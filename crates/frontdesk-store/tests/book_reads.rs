//! The book's reads from a real encrypted cache: the busy times the slot finder reads (every
//! status but cancelled, only what overlaps the span, to the millisecond, by provider) and the
//! appointments a view shows with their pending mark and their patient's name and phone.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use frontdesk_store::{
    BookedAppointment, BookedPatient, ConflictKind, DataDir, EntityKind, NewOutboxEntry, Refusal,
    Store,
};
use practice_studio::model::{
    Address, Appointment, AppointmentId, AppointmentLinks, AppointmentLocation, AppointmentStatus,
    ContactInfo, Gender, LocationAddress, LocationId, Patient, PatientId, PatientLinks,
    PatientStatus, ProviderId,
};
use tempfile::TempDir;

const KEY: [u8; 32] = [5; 32];

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0)
        .single()
        .expect("valid instant")
}

fn patient(n: u32, first: &str, last: &str, phone: Option<&str>) -> Patient {
    let id = PatientId(format!("PAT-{n:05}"));
    Patient {
        links: PatientLinks::for_patient(&id),
        id,
        mrn: format!("MRN{n:06}"),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        date_of_birth: NaiveDate::from_ymd_opt(1980, 1, n).expect("valid date"),
        gender: Gender::U,
        status: PatientStatus::Active,
        contact_info: ContactInfo {
            email: None,
            phone: phone.map(str::to_owned),
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
        created: at(1, 9, 0),
        updated: at(1, 9, 0),
    }
}

fn appointment(
    n: u32,
    provider: &str,
    patient: u32,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    status: AppointmentStatus,
) -> Appointment {
    let id = AppointmentId(format!("APT-{n:05}"));
    let patient_id = PatientId(format!("PAT-{patient:05}"));
    let provider_id = ProviderId(provider.to_owned());
    Appointment {
        links: AppointmentLinks::new(&id, &patient_id, &provider_id),
        id,
        patient_id,
        provider_id,
        start_time: start,
        end_time: end,
        kind: "Follow-up".to_owned(),
        status,
        reason: None,
        notes: None,
        location: AppointmentLocation {
            id: LocationId("LOC-1".to_owned()),
            name: "Main Clinic".to_owned(),
            address: LocationAddress {
                line1: "1 Clinic Way".to_owned(),
                line2: None,
                city: "Springfield".to_owned(),
                state: "IL".to_owned(),
                postal_code: "62701".to_owned(),
            },
        },
        checked_in_at: None,
        roomed_at: None,
        completed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        no_show_at: None,
        version: 1,
        created: at(1, 9, 0),
        updated: at(1, 9, 0),
    }
}

async fn open(dir: &TempDir) -> (DataDir, Store) {
    let data = DataDir::open(dir.path().join("desk")).expect("data dir");
    let store = Store::open(&data, KEY).await.expect("store opens");
    (data, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_times_are_every_overlapping_appointment_but_the_cancelled_ones_by_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    let half_second = Duration::milliseconds(500);
    let booked = [
        // Before the span, ending as it opens: not busy in it.
        appointment(
            1,
            "PRV-A",
            1,
            (at(23, 8, 0), at(23, 9, 0)),
            AppointmentStatus::Completed,
        ),
        // Starting before the span and reaching into it.
        appointment(
            2,
            "PRV-A",
            1,
            (at(23, 8, 30), at(23, 9, 30)),
            AppointmentStatus::Scheduled,
        ),
        // Inside, to the half second.
        appointment(
            3,
            "PRV-B",
            2,
            (at(24, 10, 0) + half_second, at(24, 10, 15)),
            AppointmentStatus::CheckedIn,
        ),
        // Inside but cancelled: holds no time.
        appointment(
            4,
            "PRV-B",
            2,
            (at(24, 11, 0), at(24, 11, 30)),
            AppointmentStatus::Cancelled,
        ),
        // A no-show still held its time.
        appointment(
            5,
            "PRV-A",
            3,
            (at(25, 14, 0), at(25, 14, 20)),
            AppointmentStatus::NoShow,
        ),
        // Starting as the span closes: not in it.
        appointment(
            6,
            "PRV-B",
            3,
            (at(26, 9, 0), at(26, 9, 30)),
            AppointmentStatus::Scheduled,
        ),
    ];
    store
        .apply_remote_appointments(&booked, None)
        .await
        .expect("stored");

    let mut busy = store
        .busy_spans_between(at(23, 9, 0), at(26, 9, 0))
        .await
        .expect("busy times");
    busy.sort();
    assert_eq!(
        busy,
        vec![
            ("PRV-A".to_owned(), at(23, 8, 30), at(23, 9, 30)),
            ("PRV-A".to_owned(), at(25, 14, 0), at(25, 14, 20)),
            (
                "PRV-B".to_owned(),
                at(24, 10, 0) + half_second,
                at(24, 10, 15)
            ),
        ]
    );
    assert!(store
        .busy_spans_between(at(27, 0, 0), at(28, 0, 0))
        .await
        .expect("busy times")
        .is_empty());
}

#[tokio::test]
async fn the_book_reads_each_appointment_with_its_patient_and_pending_mark_in_start_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    store
        .upsert_patients(&[
            patient(1, "Ada", "Lovelace", Some("(217) 555-0143")),
            patient(2, "Alan", "Turing", None),
        ])
        .await
        .expect("patients");
    let later = appointment(
        1,
        "PRV-A",
        1,
        (at(24, 10, 0), at(24, 10, 30)),
        AppointmentStatus::Scheduled,
    );
    let earlier = appointment(
        2,
        "PRV-B",
        2,
        (at(24, 9, 0), at(24, 9, 30)),
        AppointmentStatus::Scheduled,
    );
    // A patient the cache does not hold.
    let stranger = appointment(
        3,
        "PRV-B",
        9,
        (at(24, 11, 0), at(24, 11, 30)),
        AppointmentStatus::Scheduled,
    );
    let elsewhere = appointment(
        4,
        "PRV-A",
        1,
        (at(28, 9, 0), at(28, 9, 30)),
        AppointmentStatus::Scheduled,
    );
    store
        .apply_remote_appointments(
            &[later.clone(), earlier.clone(), stranger.clone(), elsewhere],
            None,
        )
        .await
        .expect("stored");
    // A move of the later one made on this desk, waiting in the outbox.
    let mut moved = later.clone();
    moved.start_time = at(24, 12, 0);
    moved.end_time = at(24, 12, 30);
    store
        .enqueue_appointment_change(
            &NewOutboxEntry {
                idempotency_key: "key-1".to_owned(),
                request_id: "req-1".to_owned(),
                author: "reception".to_owned(),
                entity_kind: EntityKind::Appointment,
                entity_id: moved.id.to_string(),
                operation: "update".to_owned(),
                payload: serde_json::json!({}),
                base_version: Some(1),
                refs: Vec::new(),
            },
            &moved,
        )
        .await
        .expect("queued");

    let rows = store
        .book_entries_between::<Appointment>(at(24, 0, 0), at(25, 0, 0), &[])
        .await
        .expect("the book");
    let shown: Vec<_> = rows
        .iter()
        .map(|r| (r.appointment.id.to_string(), r.pending, r.patient.clone()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "APT-00002".to_owned(),
                false,
                Some(BookedPatient {
                    first_name: "Alan".to_owned(),
                    last_name: "Turing".to_owned(),
                    phone: None,
                })
            ),
            ("APT-00003".to_owned(), false, None),
            (
                "APT-00001".to_owned(),
                true,
                Some(BookedPatient {
                    first_name: "Ada".to_owned(),
                    last_name: "Lovelace".to_owned(),
                    phone: Some("(217) 555-0143".to_owned()),
                })
            ),
        ]
    );
    assert_eq!(rows[2].appointment, moved, "the desk's own version of it");

    // Only the chosen providers' (a week of some of them); an unknown one has none.
    let ids = |rows: Vec<BookedAppointment>| -> Vec<String> {
        rows.iter().map(|r| r.appointment.id.to_string()).collect()
    };
    let span = (at(24, 0, 0), at(29, 0, 0));
    assert_eq!(
        ids(store
            .book_entries_between::<Appointment>(span.0, span.1, &["PRV-A"])
            .await
            .expect("the book")),
        ["APT-00001", "APT-00004"]
    );
    assert_eq!(
        ids(store
            .book_entries_between::<Appointment>(span.0, span.1, &["PRV-B", "PRV-Z"])
            .await
            .expect("the book")),
        ["APT-00002", "APT-00003"]
    );
    assert_eq!(
        ids(store
            .book_entries_between::<Appointment>(span.0, span.1, &["PRV-A", "PRV-B"])
            .await
            .expect("the book")),
        ids(store
            .book_entries_between::<Appointment>(span.0, span.1, &[])
            .await
            .expect("the book"))
    );
    assert!(store
        .book_entries_between::<Appointment>(span.0, span.1, &["PRV-Z"])
        .await
        .expect("the book")
        .is_empty());
}

/// A booking made here under a local id, then answered by the server: the very next read of the
/// book shows the server's appointment, confirmed, and not the local one. The book is read
/// between the writes on the same reader connections, so a read that kept an old snapshot open
/// would show the booking pending (or twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_book_read_after_the_servers_answer_shows_the_confirmed_booking_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    store
        .upsert_patients(&[patient(1, "Ada", "Lovelace", None)])
        .await
        .expect("patients");
    for n in 0..40u32 {
        let start = at(24, 8, 0) + Duration::minutes(i64::from(n) * 15);
        let (local, seq) = book_here(&store, 1000 + n, start).await;
        let before = store
            .book_entries_between::<Appointment>(at(24, 0, 0), at(25, 0, 0), &[])
            .await
            .expect("the book");
        assert!(before
            .iter()
            .any(|r| r.appointment.id == local.id && r.pending));

        let answer = appointment(
            1000 + n,
            "PRV-A",
            1,
            (start, start + Duration::minutes(15)),
            AppointmentStatus::Scheduled,
        );
        store
            .complete_appointment_write(seq, &answer)
            .await
            .expect("answered");
        let after = store
            .book_entries_between::<Appointment>(at(24, 0, 0), at(25, 0, 0), &[])
            .await
            .expect("the book");
        let at_that_time: Vec<_> = after
            .iter()
            .filter(|r| r.appointment.start_time == start)
            .map(|r| (r.appointment.id.to_string(), r.pending))
            .collect();
        assert_eq!(
            at_that_time,
            vec![(answer.id.to_string(), false)],
            "booking {n}"
        );
    }
}

/// A booking made here, queued under a local id, as the book shows it at this instant: (id,
/// pending) of every entry at `start`.
async fn shown_at(store: &Store, start: DateTime<Utc>) -> Vec<(String, bool)> {
    store
        .book_entries_between::<Appointment>(at(24, 0, 0), at(25, 0, 0), &[])
        .await
        .expect("the book")
        .iter()
        .filter(|r| r.appointment.start_time == start)
        .map(|r| (r.appointment.id.to_string(), r.pending))
        .collect()
}

async fn book_here(store: &Store, n: u32, start: DateTime<Utc>) -> (Appointment, i64) {
    let mut local = appointment(
        n,
        "PRV-A",
        1,
        (start, start + Duration::minutes(15)),
        AppointmentStatus::Scheduled,
    );
    local.id = AppointmentId(format!("local-appt-{n:04}"));
    let queued = store
        .enqueue_appointment_change(
            &NewOutboxEntry {
                idempotency_key: format!("key-{n}"),
                request_id: format!("req-{n}"),
                author: "reception".to_owned(),
                entity_kind: EntityKind::Appointment,
                entity_id: local.id.to_string(),
                operation: "create".to_owned(),
                payload: serde_json::json!({}),
                base_version: None,
                refs: Vec::new(),
            },
            &local,
        )
        .await
        .expect("queued");
    (local, queued.seq)
}

/// The change feed can bring a booking's event before the desk that made it has recorded the
/// server's answer. The server's copy, caused by the pending entry's request, is held until the
/// answer comes: the book never shows the booking twice, and shows it once, confirmed, after. An
/// event another desk's request caused is shown at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookings_event_that_arrives_before_its_answer_does_not_show_it_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    store
        .upsert_patients(&[patient(1, "Ada", "Lovelace", None)])
        .await
        .expect("patients");
    let ours_at = at(24, 9, 0);
    let (local, seq) = book_here(&store, 1, ours_at).await;
    let mut server_copy = appointment(
        2001,
        "PRV-A",
        1,
        (ours_at, ours_at + Duration::minutes(15)),
        AppointmentStatus::Scheduled,
    );
    let theirs_at = at(24, 10, 0);
    let theirs = appointment(
        3001,
        "PRV-B",
        1,
        (theirs_at, theirs_at + Duration::minutes(15)),
        AppointmentStatus::Scheduled,
    );
    let applied = store
        .apply_feed_appointments(&[
            (server_copy.clone(), Some("req-1".to_owned())),
            (theirs.clone(), Some("req-of-another-desk".to_owned())),
        ])
        .await
        .expect("feed applied");
    assert_eq!(applied, vec![theirs.id.clone()]);
    assert_eq!(
        shown_at(&store, ours_at).await,
        vec![(local.id.to_string(), true)]
    );
    assert_eq!(
        shown_at(&store, theirs_at).await,
        vec![(theirs.id.to_string(), false)]
    );

    // The answer: the server's appointment replaces the local one, once, confirmed; a copy
    // the feed held that is newer than the answer wins.
    server_copy.version = 2;
    server_copy.reason = Some("moved in by the feed".to_owned());
    store
        .apply_feed_appointments(&[(server_copy.clone(), Some("req-1".to_owned()))])
        .await
        .expect("feed applied");
    let mut answer = server_copy.clone();
    answer.version = 1;
    answer.reason = None;
    store
        .complete_appointment_write(seq, &answer)
        .await
        .expect("answered");
    assert_eq!(
        shown_at(&store, ours_at).await,
        vec![(server_copy.id.to_string(), false)]
    );
    // The local id the screen may still hold finds the server's copy.
    assert_eq!(
        store
            .appointment_by_any_id(local.id.as_str())
            .await
            .expect("read")
            .map(|a| a.id),
        Some(server_copy.id.clone())
    );
    let shown = store
        .book_entries_between::<Appointment>(at(24, 0, 0), at(25, 0, 0), &[])
        .await
        .expect("the book");
    let ours = shown
        .iter()
        .find(|r| r.appointment.id == server_copy.id)
        .expect("shown");
    assert_eq!(ours.appointment.version, 2);
    assert_eq!(
        ours.appointment.reason.as_deref(),
        Some("moved in by the feed")
    );
}

/// A poll (which names no request) can also bring the server's copy of a booking of ours before
/// the answer: it is recognised by its provider, patient and start, and held the same way. A
/// booking of another patient at the same time and another provider is shown at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_copy_of_a_booking_in_flight_does_not_show_it_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    store
        .upsert_patients(&[
            patient(1, "Ada", "Lovelace", None),
            patient(2, "Alan", "Turing", None),
        ])
        .await
        .expect("patients");
    let ours_at = at(24, 9, 0);
    let (local, seq) = book_here(&store, 1, ours_at).await;
    let span = (ours_at, ours_at + Duration::minutes(15));
    let server_copy = appointment(2001, "PRV-A", 1, span, AppointmentStatus::Scheduled);
    let another_patient = appointment(3001, "PRV-B", 2, span, AppointmentStatus::Scheduled);
    let applied = store
        .apply_remote_appointments(&[server_copy.clone(), another_patient.clone()], None)
        .await
        .expect("polled");
    assert_eq!(applied, vec![another_patient.id.clone()]);
    assert_eq!(
        shown_at(&store, ours_at).await,
        vec![
            (another_patient.id.to_string(), false),
            (local.id.to_string(), true)
        ]
    );
    store
        .complete_appointment_write(seq, &server_copy)
        .await
        .expect("answered");
    assert_eq!(
        shown_at(&store, ours_at).await,
        vec![
            (server_copy.id.to_string(), false),
            (another_patient.id.to_string(), false)
        ]
    );
    // Once answered, the next poll's copy is simply the cached one.
    assert_eq!(
        store
            .apply_remote_appointments(std::slice::from_ref(&server_copy), None)
            .await
            .expect("polled again"),
        Vec::<AppointmentId>::new()
    );
}

/// If a write whose request made an event is refused after all (a server answering a replay
/// with an error), the copy held for it is not hidden for good: it is shown once no booking of
/// this desk is waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_copy_no_answer_takes_is_shown_when_the_write_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_data, store) = open(&dir).await;
    store
        .upsert_patients(&[patient(1, "Ada", "Lovelace", None)])
        .await
        .expect("patients");
    let start = at(24, 11, 0);
    let (local, seq) = book_here(&store, 2, start).await;
    let server_copy = appointment(
        2002,
        "PRV-A",
        1,
        (start, start + Duration::minutes(15)),
        AppointmentStatus::Scheduled,
    );
    store
        .apply_feed_appointments(&[(server_copy.clone(), Some("req-2".to_owned()))])
        .await
        .expect("feed applied");
    assert_eq!(
        shown_at(&store, start).await,
        vec![(local.id.to_string(), true)]
    );
    store
        .move_to_conflicts(
            seq,
            &Refusal {
                kind: ConflictKind::Clash,
                message: "the slot is taken".into(),
                server_status: Some(409),
                server_body: None,
            },
        )
        .await
        .expect("refused");
    let shown = shown_at(&store, start).await;
    assert!(
        shown.contains(&(server_copy.id.to_string(), false)),
        "{shown:?}"
    );
}
