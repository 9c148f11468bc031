//! Several server instances on one PostgreSQL database, as a deployment behind a load balancer
//! runs them: what one instance does, the other sees and respects.
//!
//! These need a PostgreSQL cluster (`PRACTICE_STUDIO_TEST_PG`, see `support`): `make test-pg`
//! starts a throwaway one and runs them with `--ignored`.

// This suite uses the shared database support, not the single-server helpers.
#[allow(dead_code)]
mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{TimeZone, Utc};
use practice_studio_server::app::Settings;
use practice_studio_server::clock::ManualClock;
use practice_studio_server::{RunningServer, Server};
use serde_json::{json, Value};
use support::{bearer, reference_new_patient, TestDatabase};

const NEEDS_PG: &str = "needs PostgreSQL (PRACTICE_STUDIO_TEST_PG): make test-pg runs it";

/// Two instances on one fresh database, one clock, and a client that alternates between them
/// the way a round-robin load balancer would.
struct Pair {
    a: RunningServer,
    b: RunningServer,
    http: reqwest::Client,
    clock: Arc<ManualClock>,
    _database: TestDatabase,
}

impl Pair {
    async fn start(settings: Settings) -> Self {
        let database = TestDatabase::create()
            .await
            .unwrap_or_else(|| panic!("{NEEDS_PG}"));
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
                .single()
                .expect("time"),
        ));
        let instance = |settings: Settings| {
            Server::builder()
                .storage(database.database())
                .demo(true)
                .demo_patients(20)
                .clock(clock.clone())
                .settings(settings)
        };
        // The first seeds the demo data; the second finds it there.
        let a = instance(settings.clone()).start().await.expect("a starts");
        let b = instance(settings).start().await.expect("b starts");
        Self {
            a,
            b,
            http: reqwest::Client::new(),
            clock,
            _database: database,
        }
    }

    fn base(&self, i: usize) -> String {
        if i.is_multiple_of(2) {
            self.a.url()
        } else {
            self.b.url()
        }
    }

    async fn user_token(&self, email: &str) -> String {
        let body: Value = self
            .http
            .post(format!("{}/oauth/token", self.a.url()))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "frontdesk"),
                ("username", email),
                ("password", "demo-password"),
            ])
            .send()
            .await
            .expect("token endpoint answers")
            .json()
            .await
            .expect("json");
        bearer(body["access_token"].as_str().expect("token"))
    }
}

fn unlimited_desk() -> Settings {
    Settings {
        unlimited_clients: vec!["frontdesk".into()],
        ..Settings::default()
    }
}

fn patient_named(last: &str) -> Value {
    let mut patient = reference_new_patient();
    patient["lastName"] = json!(last);
    patient
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn the_standard_tier_holds_across_both_instances() {
    let pair = Pair::start(Settings::default()).await;
    // A standard key's burst is 10: alternating between the instances does not make it 20.
    let mut allowed = 0;
    let mut refused = 0;
    for i in 0..30 {
        let response = pair
            .http
            .get(format!("{}/api/v1/me", pair.base(i)))
            .header("Authorization", "ApiKey demo-api-key")
            .send()
            .await
            .expect("answers");
        match response.status().as_u16() {
            200 => allowed += 1,
            429 => {
                refused += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((allowed, refused), (10, 20));
    // One interval later (0.6 s) there is room for one more, on either instance, and only one.
    pair.clock.advance(chrono::Duration::milliseconds(600));
    let statuses = futures_util::future::join_all((0..2).map(|i| {
        pair.http
            .get(format!("{}/api/v1/me", pair.base(i)))
            .header("Authorization", "ApiKey demo-api-key")
            .send()
    }))
    .await
    .into_iter()
    .map(|r| r.expect("answers").status().as_u16())
    .collect::<Vec<_>>();
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![200, 429], "{statuses:?}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn the_same_idempotency_key_sent_to_both_at_once_creates_one_patient() {
    let pair = Pair::start(unlimited_desk()).await;
    let auth = pair.user_token("reception@demo.clinic").await;
    for round in 0..20 {
        let key = format!("same-key-{round}");
        let body = patient_named(&format!("Twice{round}x"));
        let send = |base: String| {
            pair.http
                .post(format!("{base}/api/v1/patients"))
                .header("Authorization", &auth)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
        };
        let (first, second) = tokio::join!(send(pair.a.url()), send(pair.b.url()));
        let mut created = Vec::new();
        for response in [first, second] {
            let response = response.expect("answers");
            let status = response.status().as_u16();
            let json: Value = response.json().await.expect("json");
            match status {
                201 => created.push(json["id"].as_str().expect("id").to_owned()),
                // The other instance still held the key: the client retries.
                409 => assert_eq!(
                    json["error"]["details"][0]["code"], "idempotency_key_reused",
                    "{json}"
                ),
                other => panic!("round {round}: {other} {json}"),
            }
        }
        assert!(!created.is_empty(), "round {round}: neither request ran");
        // A retry on either instance now replays the one patient.
        for base in [pair.a.url(), pair.b.url()] {
            let replay = send(base).await.expect("answers");
            assert_eq!(replay.status(), 201);
            let json: Value = replay.json().await.expect("json");
            created.push(json["id"].as_str().expect("id").to_owned());
        }
        created.dedup();
        assert_eq!(created.len(), 1, "round {round}: {created:?}");
        let found: Value = pair
            .http
            .get(format!(
                "{}/api/v1/patients?search=Twice{round}x&limit=100",
                pair.b.url()
            ))
            .header("Authorization", &auth)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        assert_eq!(found["total"], 1, "round {round}: {found}");
    }
}

/// Reads the feed on `base` from `cursor` until `expected` patient events have been seen,
/// checking that positions only grow and that no event comes twice.
async fn follow(
    http: reqwest::Client,
    base: String,
    auth: String,
    mut cursor: String,
    expected: usize,
) -> Vec<String> {
    let mut seen = Vec::with_capacity(expected);
    let mut ids = HashSet::new();
    let mut last_seq = 0_i64;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(600);
    while seen.len() < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower saw {} of {expected} events",
            seen.len()
        );
        let page: Value = http
            .get(format!(
                "{base}/api/v2/events?after={cursor}&limit=500&wait=5"
            ))
            .header("Authorization", &auth)
            .send()
            .await
            .expect("the feed answers")
            .json()
            .await
            .expect("json");
        for event in page["events"].as_array().expect("events") {
            let id = event["id"].as_str().expect("event id").to_owned();
            assert!(ids.insert(id.clone()), "event {id} seen twice");
            if event["event"] == "patient.created" {
                seen.push(event["data"]["id"].as_str().expect("patient").to_owned());
            }
        }
        cursor = page["cursor"].as_str().expect("cursor").to_owned();
        let seq: i64 = cursor
            .rsplit(':')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("a cursor ends in its position");
        assert!(seq >= last_seq, "the cursor went back: {last_seq} -> {seq}");
        last_seq = seq;
    }
    seen
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn ten_thousand_changes_over_both_reach_a_follower_once_each_in_order() {
    const CHANGES: usize = 10_000;
    const WRITERS: usize = 16;
    let pair = Pair::start(unlimited_desk()).await;
    let auth = pair.user_token("reception@demo.clinic").await;
    let start: Value = pair
        .http
        .get(format!("{}/api/v2/events", pair.b.url()))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    // The follower reads through instance B while the writers write through both.
    let follower = tokio::spawn(follow(
        pair.http.clone(),
        pair.b.url(),
        auth.clone(),
        cursor,
        CHANGES,
    ));
    let created = Arc::new(Mutex::new(HashMap::new()));
    let writers = (0..WRITERS).map(|writer| {
        let http = pair.http.clone();
        let bases = [pair.a.url(), pair.b.url()];
        let auth = auth.clone();
        let created = created.clone();
        async move {
            for n in (writer..CHANGES).step_by(WRITERS) {
                let response = http
                    .post(format!("{}/api/v1/patients", bases[n % 2]))
                    .header("Authorization", &auth)
                    .json(&patient_named(&format!("Feed{n}")))
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(response.status(), 201, "change {n}");
                let body: Value = response.json().await.expect("json");
                let id = body["id"].as_str().expect("id").to_owned();
                created.lock().expect("lock").insert(id, n);
            }
        }
    });
    futures_util::future::join_all(writers).await;
    let seen = tokio::time::timeout(StdDuration::from_secs(600), follower)
        .await
        .expect("the follower finishes")
        .expect("the follower did not panic");
    let created = created.lock().expect("lock").clone();
    assert_eq!(created.len(), CHANGES);
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), CHANGES, "each change seen once");
    for id in &seen {
        assert!(
            created.contains_key(id),
            "{id} was not written by this test"
        );
    }
    // The feed's order is the commit order: a patient's number is taken under the same lock as
    // its event, so the numbers come in order too.
    let numbers: Vec<u64> = seen
        .iter()
        .map(|id| id.trim_start_matches("PAT-").parse().expect("number"))
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "the feed is not in commit order"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn a_long_poll_on_one_instance_wakes_for_a_change_made_through_the_other() {
    let pair = Pair::start(unlimited_desk()).await;
    let auth = pair.user_token("reception@demo.clinic").await;
    let start: Value = pair
        .http
        .get(format!("{}/api/v2/events", pair.b.url()))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    let poll = {
        let http = pair.http.clone();
        let url = format!("{}/api/v2/events?after={cursor}&wait=30", pair.b.url());
        let auth = auth.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let page: Value = http
                .get(url)
                .header("Authorization", auth)
                .send()
                .await
                .expect("answers")
                .json()
                .await
                .expect("json");
            (page, started.elapsed())
        })
    };
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let response = pair
        .http
        .post(format!("{}/api/v1/patients", pair.a.url()))
        .header("Authorization", &auth)
        .json(&patient_named("Wakes"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    let (page, waited) = poll.await.expect("the poll ends");
    assert_eq!(page["events"][0]["event"], "patient.created", "{page}");
    assert_eq!(page["events"][0]["data"]["id"], created["id"]);
    // Woken by the notification, not by the end of the 30 s wait (nor by a poll of the log).
    assert!(waited < StdDuration::from_secs(10), "{waited:?}");
}

/// Receives webhook deliveries and counts each event's arrivals.
#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arc<Mutex<Vec<String>>>,
}

async fn receive(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    body: String,
) -> &'static str {
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if let Some(id) = event["id"].as_str() {
        receiver.arrivals.lock().expect("lock").push(id.to_owned());
    }
    "ok"
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn each_webhook_delivery_is_sent_once_by_two_workers() {
    const CHANGES: usize = 200;
    let pair = Pair::start(Settings {
        webhook_poll: StdDuration::from_millis(20),
        ..unlimited_desk()
    })
    .await;
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let target = format!("http://{}/hook", listener.local_addr().expect("address"));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let auth = pair.user_token("admin@demo.clinic").await;
    let response = pair
        .http
        .post(format!("{}/api/v1/webhooks", pair.a.url()))
        .header("Authorization", &auth)
        .json(&json!({ "url": target, "events": ["patient.created"] }))
        .send()
        .await
        .expect("answers");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    let writers = (0..4).map(|writer| {
        let http = pair.http.clone();
        let bases = [pair.a.url(), pair.b.url()];
        let auth = auth.clone();
        async move {
            for n in (writer..CHANGES).step_by(4) {
                let response = http
                    .post(format!("{}/api/v1/patients", bases[n % 2]))
                    .header("Authorization", &auth)
                    .json(&patient_named(&format!("Hook{n}")))
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(response.status(), 201, "change {n}");
            }
        }
    });
    futures_util::future::join_all(writers).await;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(120);
    loop {
        let arrived = receiver.arrivals.lock().expect("lock").len();
        if arrived >= CHANGES {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{arrived} of {CHANGES} deliveries arrived"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    // Both workers have had time to send anything twice.
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    let arrivals = receiver.arrivals.lock().expect("lock").clone();
    let distinct: HashSet<&String> = arrivals.iter().collect();
    assert_eq!(distinct.len(), CHANGES);
    assert_eq!(arrivals.len(), CHANGES, "some deliveries were sent twice");
}

/// Reads the feed through `base` from `cursor` for `rounds` looks, `clock` moving two minutes
/// before each; returns the events and the cursor after them.
async fn watch_the_day(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    clock: &ManualClock,
    mut cursor: String,
    rounds: usize,
) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    for _ in 0..rounds {
        clock.advance(chrono::Duration::minutes(2));
        // No cursor yet: the feed from now.
        let after = if cursor.is_empty() {
            String::new()
        } else {
            format!("after={cursor}&")
        };
        let response = http
            .get(format!("{base}/api/v2/events?{after}limit=1000&wait=1"))
            .header("Authorization", auth)
            .send()
            .await
            .expect("the feed answers");
        let status = response.status();
        let page: Value = response.json().await.expect("json");
        assert_eq!(status, 200, "{page}");
        events.extend(page["events"].as_array().expect("events").iter().cloned());
        cursor = page["cursor"].as_str().expect("cursor").to_owned();
    }
    (events, cursor)
}

async fn admin_token(http: &reqwest::Client, base: &str) -> String {
    let body: Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "frontdesk"),
            ("username", "admin@demo.clinic"),
            ("password", "demo-password"),
        ])
        .send()
        .await
        .expect("token endpoint answers")
        .json()
        .await
        .expect("json");
    bearer(body["access_token"].as_str().expect("token"))
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test-pg runs it"]
async fn two_instances_with_demo_activity_play_the_day_once() {
    let database = TestDatabase::create()
        .await
        .unwrap_or_else(|| panic!("{NEEDS_PG}"));
    // The instances' clocks tell their work apart: A's day is at 10:00 in Chicago on the demo's
    // Monday (patients are due to arrive) and moves on; B's stands at 06:00 (nothing is due; a
    // player would only register new patients), so an event's timestamp says who made it.
    let a_clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 23, 16, 0, 0)
            .single()
            .expect("time"),
    ));
    let b_start = Utc
        .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
        .single()
        .expect("time");
    let b_clock = Arc::new(ManualClock::new(b_start));
    let instance = |clock: Arc<ManualClock>| {
        Server::builder()
            .storage(database.database())
            .demo(true)
            .demo_patients(20)
            .clock(clock)
            // The two clocks disagree by hours: the shared rate-limit buckets are not under test.
            .settings(unlimited_desk())
            .demo_activity(Some(StdDuration::from_millis(50)))
            // A's day outlasts the default hour of a token.
            .token_ttl(chrono::Duration::hours(12))
    };
    let a = instance(a_clock.clone()).start().await.expect("a starts");
    let http = reqwest::Client::new();
    let a_auth = admin_token(&http, &a.url()).await;
    // A has the turn once it has played a step.
    let (mut first, mut cursor) =
        watch_the_day(&http, &a.url(), &a_auth, &a_clock, String::new(), 1).await;
    for _ in 0..10 {
        if !first.is_empty() {
            break;
        }
        (first, cursor) = watch_the_day(&http, &a.url(), &a_auth, &a_clock, cursor, 1).await;
    }
    assert!(!first.is_empty(), "the first instance plays the day");
    let b = instance(b_clock.clone()).start().await.expect("b starts");
    let b_auth = admin_token(&http, &b.url()).await;
    // Read through B while A's day moves on.
    let (mut together, cursor) =
        watch_the_day(&http, &b.url(), &b_auth, &a_clock, cursor, 30).await;
    assert!(!together.is_empty(), "the day goes on");
    let by_b = |events: &[Value]| {
        events
            .iter()
            .filter(|e| {
                let at: chrono::DateTime<Utc> = e["timestamp"]
                    .as_str()
                    .expect("timestamp")
                    .parse()
                    .expect("an instant");
                at < b_start + chrono::Duration::hours(1)
            })
            .count()
    };
    assert_eq!(
        by_b(&together),
        0,
        "only the instance holding the turn plays: {together:?}"
    );
    // A stops: B takes the turn over, and its new patients appear at B's time.
    a.shutdown().await.expect("a stops");
    let mut after = Vec::new();
    let mut cursor = cursor;
    for _ in 0..30 {
        let (more, next) = watch_the_day(&http, &b.url(), &b_auth, &b_clock, cursor, 1).await;
        after.extend(more);
        cursor = next;
        if by_b(&after) >= 3 {
            break;
        }
    }
    assert!(
        by_b(&after) >= 3,
        "the second instance plays on once the first has stopped: {after:?}"
    );
    together.extend(first);
    together.extend(after);

    // Each step's events appear once: an appointment takes each status once, each visit is
    // noted and invoiced once, and no new patient registers twice.
    let mut moves = HashSet::new();
    let mut patients = HashSet::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for event in &together {
        let kind = event["event"].as_str().expect("event").to_owned();
        let data = &event["data"];
        if kind.starts_with("appointment.") {
            let id = data["id"].as_str().expect("appointment id");
            let status = data["status"].as_str().expect("status");
            assert!(
                moves.insert((id.to_owned(), status.to_owned())),
                "{id} became {status} twice"
            );
        }
        if kind == "patient.created" {
            let who = (
                data["firstName"].to_string(),
                data["lastName"].to_string(),
                data["dateOfBirth"].to_string(),
            );
            assert!(patients.insert(who.clone()), "{who:?} registered twice");
        }
        *kinds.entry(kind).or_default() += 1;
    }
    // A completed visit is noted and invoiced once: never twice, and only the step A was
    // taking when it stopped may have been cut short.
    let completed = kinds.get("appointment.completed").copied().unwrap_or(0);
    assert!(completed > 0, "visits completed: {kinds:?}");
    for follow_up in ["record.created", "invoice.created"] {
        let n = kinds.get(follow_up).copied().unwrap_or(0);
        assert!(
            n <= completed && n + 1 >= completed,
            "{n} {follow_up} for {completed} visits: {kinds:?}"
        );
    }
    drop(b);
}
