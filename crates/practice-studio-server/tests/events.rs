//! The change feed against the real server on loopback: which change makes which event (once,
//! with the full resource and the request's id), long polls woken by a commit, cursors from
//! another database (410), and many concurrent writers read back exactly once in commit order by
//! a follower that restarts from saved cursors.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use practice_studio_server::app::Settings;
use practice_studio_server::clock::{Clock as _, ManualClock};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::{bearer, envelope, reference_new_patient, Api};

async fn feed(api: &Api, auth: &str, query: &str) -> Value {
    let response = api.get(&format!("/api/v2/events{query}"), auth).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body
}

async fn send(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    auth: &str,
    request_id: &str,
    body: &Value,
) -> Value {
    api.clock.advance(Duration::milliseconds(100));
    let response = api
        .http
        .request(method, api.url(path))
        .header("Authorization", auth)
        .header("X-Request-ID", request_id)
        .json(body)
        .send()
        .await
        .expect("answers");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{status} {body}");
    body
}

/// Reads everything after `cursor` and returns the events and the new cursor.
async fn drain(api: &Api, auth: &str, cursor: &str) -> (Vec<Value>, String) {
    let page = feed(api, auth, &format!("?after={cursor}&limit=1000")).await;
    (
        page["events"].as_array().expect("events").clone(),
        page["cursor"].as_str().expect("cursor").to_owned(),
    )
}

#[tokio::test]
async fn each_change_makes_its_one_event_with_the_resource_and_the_request_id() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let start = feed(&api, &auth, "").await;
    assert_eq!(start["events"], json!([]), "no cursor: the end of the log");
    let mut cursor = start["cursor"].as_str().expect("cursor").to_owned();

    let expect = |events: Vec<Value>, kind: &str, request_id: &str, resource: &Value| {
        assert_eq!(events.len(), 1, "{kind}: {events:?}");
        let event = &events[0];
        assert_eq!(event["event"], kind);
        assert_eq!(event["requestId"], request_id);
        assert_eq!(
            &event["data"], resource,
            "the full resource as the route returned it"
        );
        assert!(event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("EVT-")));
        assert!(event["timestamp"].is_string());
    };

    let patient = send(
        &api,
        reqwest::Method::POST,
        "/api/v1/patients",
        &auth,
        "req-reg-1",
        &reference_new_patient(),
    )
    .await;
    let (events, next) = drain(&api, &auth, &cursor).await;
    expect(events, "patient.created", "req-reg-1", &patient);
    cursor = next;
    let id = patient["id"].as_str().expect("id").to_owned();
    let changed = send(
        &api,
        reqwest::Method::PUT,
        &format!("/api/v1/patients/{id}"),
        &auth,
        "req-upd-1",
        &json!({"contactInfo": {"phone": "555-111-2222"}}),
    )
    .await;
    let (events, next) = drain(&api, &auth, &cursor).await;
    expect(events, "patient.updated", "req-upd-1", &changed);
    assert_eq!(changed["version"], 2);
    cursor = next;

    let booking = json!({
        "patientId": id, "providerId": "PROV-54321", "locationId": "LOC-789", "type": "Follow-up",
        "startTime": "2027-02-01T16:00:00Z", "endTime": "2027-02-01T16:30:00Z"
    });
    let appointment = send(
        &api,
        reqwest::Method::POST,
        "/api/v1/appointments",
        &auth,
        "req-book-1",
        &booking,
    )
    .await;
    let (events, next) = drain(&api, &auth, &cursor).await;
    expect(events, "appointment.created", "req-book-1", &appointment);
    cursor = next;
    let path = format!(
        "/api/v1/appointments/{}",
        appointment["id"].as_str().expect("id")
    );
    for (n, (change, kind)) in [
        (json!({"status": "checked_in"}), "appointment.updated"),
        (json!({"status": "scheduled"}), "appointment.updated"),
        (
            json!({"startTime": "2027-02-01T17:00:00Z"}),
            "appointment.updated",
        ),
        (json!({"status": "checked_in"}), "appointment.updated"),
        (json!({"status": "in_room"}), "appointment.updated"),
        (json!({"status": "completed"}), "appointment.completed"),
    ]
    .into_iter()
    .enumerate()
    {
        let request_id = format!("req-move-{n}");
        let after = send(
            &api,
            reqwest::Method::PUT,
            &path,
            &auth,
            &request_id,
            &change,
        )
        .await;
        let (events, next) = drain(&api, &auth, &cursor).await;
        expect(events, kind, &request_id, &after);
        cursor = next;
    }
    let second = send(&api, reqwest::Method::POST, "/api/v1/appointments", &auth, "req-book-2", &json!({
        "patientId": id, "providerId": "PROV-54321", "locationId": "LOC-789", "type": "Follow-up",
        "startTime": "2027-02-01T19:00:00Z", "endTime": "2027-02-01T19:30:00Z"
    })).await;
    let (_, next) = drain(&api, &auth, &cursor).await;
    cursor = next;
    let path = format!(
        "/api/v1/appointments/{}",
        second["id"].as_str().expect("id")
    );
    let cancelled = send(
        &api,
        reqwest::Method::PUT,
        &path,
        &auth,
        "req-cancel",
        &json!({"status": "cancelled", "cancelReason": "Weather"}),
    )
    .await;
    let (events, next) = drain(&api, &auth, &cursor).await;
    expect(events, "appointment.canceled", "req-cancel", &cancelled);
    cursor = next;

    // A refused change makes no event.
    let refused = api
        .http
        .put(api.url(&path))
        .header("Authorization", &auth)
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 422);
    let (events, same) = drain(&api, &auth, &cursor).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(same, cursor);
}

#[tokio::test]
async fn a_long_poll_returns_when_a_change_commits() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let start = feed(&api, &auth, "").await;
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();
    let url = api.url(&format!("/api/v2/events?after={cursor}&wait=30"));
    let http = api.http.clone();
    let poll_auth = auth.clone();
    let poll = tokio::spawn(async move {
        http.get(url)
            .header("Authorization", poll_auth)
            .send()
            .await
            .expect("answers")
            .json::<Value>()
            .await
            .expect("json")
    });
    // Give the poll time to start waiting (if it had not, it would still see the event).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let patient = send(
        &api,
        reqwest::Method::POST,
        "/api/v1/patients",
        &auth,
        "req-wake",
        &reference_new_patient(),
    )
    .await;
    let page = poll.await.expect("the poll ends");
    assert_eq!(page["events"][0]["event"], "patient.created");
    assert_eq!(page["events"][0]["data"]["id"], patient["id"]);
    // An empty wait that times out keeps the cursor.
    let quiet = feed(
        &api,
        &auth,
        &format!("?after={}&wait=1", page["cursor"].as_str().expect("c")),
    )
    .await;
    assert_eq!(quiet["events"], json!([]));
    assert_eq!(quiet["cursor"], page["cursor"]);
}

#[tokio::test]
async fn cursors_of_another_database_and_nonsense_are_refused() {
    let one = Api::demo(3).await;
    let other = Api::demo(3).await;
    let auth_one = bearer(&one.user_token("reception@demo.clinic").await);
    let auth_other = bearer(&other.user_token("reception@demo.clinic").await);
    let cursor = feed(&one, &auth_one, "").await["cursor"]
        .as_str()
        .expect("c")
        .to_owned();
    envelope(
        other
            .get(&format!("/api/v2/events?after={cursor}"), &auth_other)
            .await,
        410,
        "gone",
    )
    .await;
    let error = envelope(
        one.get(
            "/api/v2/events?after=yesterday&limit=5000&wait=90",
            &auth_one,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"].as_array().expect("details").len(), 3);
    let (epoch, _) = cursor.split_once(':').expect("epoch:seq");
    envelope(
        one.get(&format!("/api/v2/events?after={epoch}:999999"), &auth_one)
            .await,
        410,
        "gone",
    )
    .await;
    let anonymous = one
        .http
        .get(one.url("/api/v2/events"))
        .send()
        .await
        .expect("answers");
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn many_writers_are_read_back_once_each_in_commit_order_across_restarts() {
    let clock = Arc::new(ManualClock::new(
        "2026-11-23T09:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time"),
    ));
    let (builder, database) = support::builder().await;
    let server = builder
        .demo(true)
        .demo_patients(40)
        .clock(clock.clone())
        .settings(Settings {
            unlimited_clients: vec!["integration-premium".into()],
            ..Settings::default()
        })
        .start()
        .await
        .expect("server");
    let api = Api {
        server,
        http: reqwest::Client::new(),
        clock,
        database,
    };
    let token = api.client_token("integration-premium").await;
    let auth = bearer(&token);
    let start = feed(&api, &auth, "").await["cursor"]
        .as_str()
        .expect("c")
        .to_owned();
    let list = api
        .get("/api/v1/patients?limit=40&sort=created", &auth)
        .await;
    let list: Value = list.json().await.expect("json");
    let ids: Vec<String> = list["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();

    const WRITERS: usize = 4;
    const CHANGES: usize = 10_000;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let http = api.http.clone();
        let base = api.server.url();
        let auth = auth.clone();
        let ids = ids.clone();
        writers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for n in 0..CHANGES / WRITERS {
                // Each writer changes its own patients, so no change waits on another's version.
                let id = &ids[(n * WRITERS + w) % ids.len()];
                let request_id = format!("req-w{w}-{n}");
                let response = http
                    .put(format!("{base}/api/v1/patients/{id}"))
                    .header("Authorization", &auth)
                    .header("X-Request-ID", &request_id)
                    .json(&json!({"contactInfo": {"email": format!("w{w}.n{n}@example.com")}}))
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(
                    response.status(),
                    200,
                    "{}",
                    response.text().await.unwrap_or_default()
                );
                made.push(request_id);
            }
            made
        }));
    }
    // Meanwhile a follower reads with random limits, restarting from its saved cursor.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10_000);
    let mut saved = start.clone();
    let mut seen: Vec<Value> = Vec::new();
    let mut writers_done = false;
    loop {
        let limit = rng.random_range(1..=1000);
        let page = feed(&api, &auth, &format!("?after={saved}&limit={limit}&wait=1")).await;
        let events = page["events"].as_array().expect("events");
        assert!(events.len() <= limit);
        seen.extend(events.iter().cloned());
        // "Restart": only the saved cursor survives.
        saved = page["cursor"].as_str().expect("cursor").to_owned();
        if !writers_done && writers.iter().all(|w| w.is_finished()) {
            writers_done = true;
            continue;
        }
        if writers_done && events.is_empty() {
            break;
        }
    }
    let mut made = HashSet::new();
    for writer in writers {
        made.extend(writer.await.expect("writer"));
    }
    assert_eq!(made.len(), CHANGES);
    let ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().expect("id")).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event read twice");
    let requests: HashSet<String> = seen
        .iter()
        .map(|e| e["requestId"].as_str().expect("request id").to_owned())
        .collect();
    assert_eq!(requests, made, "every change read exactly once");
    // Commit order: each patient's versions rise along the feed.
    let mut last_version = std::collections::HashMap::new();
    for event in &seen {
        let id = event["data"]["id"].as_str().expect("id");
        let version = event["data"]["version"].as_i64().expect("version");
        let before = last_version.insert(id.to_owned(), version).unwrap_or(0);
        assert!(version > before, "{id}: version {version} after {before}");
    }
}

#[tokio::test]
async fn demo_activity_plays_the_day_through_the_same_events() {
    // 10:00 in Chicago on the demo's Monday: patients are due to arrive.
    let clock = Arc::new(ManualClock::new(
        "2026-11-23T16:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time"),
    ));
    let (builder, database) = support::builder().await;
    let server = builder
        .demo(true)
        .demo_patients(20)
        .clock(clock.clone())
        .demo_activity(Some(std::time::Duration::from_millis(50)))
        .start()
        .await
        .expect("server");
    let api = Api {
        server,
        http: reqwest::Client::new(),
        clock,
        database,
    };
    // The administrator may read everything the day produces.
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let mut cursor = feed(&api, &auth, "").await["cursor"]
        .as_str()
        .expect("c")
        .to_owned();
    let mut kinds = HashSet::new();
    for _ in 0..100 {
        // The day moves on two minutes between looks.
        api.clock.advance(Duration::minutes(2));
        let page = feed(&api, &auth, &format!("?after={cursor}&wait=2")).await;
        for event in page["events"].as_array().expect("events") {
            assert!(
                event.get("requestId").is_none(),
                "background work has no request"
            );
            kinds.insert(event["event"].as_str().expect("event").to_owned());
        }
        cursor = page["cursor"].as_str().expect("cursor").to_owned();
        if [
            "appointment.updated",
            "appointment.completed",
            "invoice.created",
            "record.created",
            "invoice.updated",
        ]
        .iter()
        .all(|k| kinds.contains(*k))
        {
            break;
        }
    }
    for kind in [
        "appointment.updated",
        "appointment.completed",
        "invoice.created",
        "record.created",
        "invoice.updated",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {kinds:?}");
    }
}

/// Every patient on the server as (first name, last name, date of birth), read through the API.
async fn registered(api: &Api, auth: &str) -> Vec<(String, String, String)> {
    let page: Value = api
        .get("/api/v1/patients?limit=100", auth)
        .await
        .json()
        .await
        .expect("json");
    page["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .map(|p| {
            let field = |name: &str| p[name].as_str().expect("field").to_owned();
            (field("firstName"), field("lastName"), field("dateOfBirth"))
        })
        .collect()
}

#[tokio::test]
async fn a_restarted_demo_day_registers_new_patients_not_the_last_runs_again() {
    // 06:00 in Chicago on the demo's Monday: nothing is due, so the day only registers newcomers.
    let clock = Arc::new(ManualClock::new(
        "2026-11-23T12:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time"),
    ));
    let dir = tempfile::tempdir().expect("dir");
    let (database, _guard) = support::database_in(dir.path(), "practice.db").await;
    let mut seen = 20;
    for run in 0..2 {
        let server = practice_studio_server::Server::builder()
            .storage(database.clone())
            .demo(true)
            .demo_patients(20)
            .clock(clock.clone())
            .demo_activity(Some(std::time::Duration::from_millis(20)))
            .start()
            .await
            .expect("server");
        let api = Api {
            server,
            http: reqwest::Client::new(),
            clock: clock.clone(),
            database: None,
        };
        let auth = bearer(&api.user_token("admin@demo.clinic").await);
        let mut patients = registered(&api, &auth).await;
        for _ in 0..500 {
            if patients.len() >= seen + 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            patients = registered(&api, &auth).await;
        }
        assert!(
            patients.len() >= seen + 3,
            "run {run}: newcomers register ({} patients)",
            patients.len()
        );
        seen = patients.len();
        let distinct: HashSet<_> = patients.iter().collect();
        assert_eq!(
            distinct.len(),
            patients.len(),
            "run {run}: a patient registered twice: {patients:?}"
        );
        api.server.shutdown().await.expect("stops");
    }
}

#[tokio::test]
async fn records_and_payments_make_their_events_for_those_who_may_read_them() {
    let api = Api::demo(10).await;
    let clinician = bearer(&api.user_token("clinician@demo.clinic").await);
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let billing = bearer(&api.user_token("billing@demo.clinic").await);
    let start = feed(&api, &clinician, "").await["cursor"]
        .as_str()
        .expect("c")
        .to_owned();

    let patients: Value = api
        .get("/api/v1/patients?limit=1", &clinician)
        .await
        .json()
        .await
        .expect("json");
    let patient = patients["patients"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let record = send(&api, reqwest::Method::POST, &format!("/api/v1/patients/{patient}/records"), &clinician, "req-rec-1", &json!({
        "providerId": "PROV-54321", "type": "Progress Note", "title": "Follow-up Visit",
        "content": {"subjective": "Feels better", "objective": "BP 120/80", "assessment": "Improving", "plan": "Continue"}
    })).await;

    // An open invoice with a balance, paid in two parts.
    let open: Value = api
        .get("/api/v1/invoices?status=open&limit=1", &billing)
        .await
        .json()
        .await
        .expect("json");
    let invoice = &open["invoices"][0];
    let id = invoice["id"].as_str().expect("an open invoice").to_owned();
    let balance = invoice["balance"].as_f64().expect("balance");
    assert!(balance >= 0.02, "{invoice}");
    let part = (balance / 2.0 * 100.0).floor() / 100.0;
    let rest = ((balance - part) * 100.0).round() / 100.0;
    let first = send(
        &api,
        reqwest::Method::POST,
        &format!("/api/v1/invoices/{id}/payments"),
        &billing,
        "req-pay-1",
        &json!({"method": "Cash", "amount": part}),
    )
    .await;
    let second = send(
        &api,
        reqwest::Method::POST,
        &format!("/api/v1/invoices/{id}/payments"),
        &billing,
        "req-pay-2",
        &json!({"method": "Credit Card", "amount": rest, "reference": "CC-AUTH-1"}),
    )
    .await;
    assert_eq!(second["invoice"]["status"], "paid", "{second}");

    let (events, _) = drain(&api, &clinician, &start).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().expect("event"),
                e["requestId"].as_str().expect("request"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("record.created", "req-rec-1"),
            ("invoice.updated", "req-pay-1"),
            ("invoice.paid", "req-pay-2")
        ]
    );
    assert_eq!(events[0]["data"], record);
    assert_eq!(events[1]["data"], first["invoice"]);
    assert_eq!(events[2]["data"], second["invoice"]);
    // Reception may not read records: the feed passes over the record's event.
    let (seen, _) = drain(&api, &reception, &start).await;
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(kinds, ["invoice.updated", "invoice.paid"]);
}

#[tokio::test]
async fn an_administrator_changes_hours_and_locations_and_desks_hear_of_it() {
    let api = Api::demo(5).await;
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let start = feed(&api, &reception, "").await["cursor"]
        .as_str()
        .expect("c")
        .to_owned();
    let provider: Value = api
        .get("/api/v1/providers/PROV-54321", &admin)
        .await
        .json()
        .await
        .expect("json");
    let slots_on = |day: &'static str| {
        let api = &api;
        let reception = reception.clone();
        async move {
            let slots: Value = api
                .get(&format!("/api/v1/providers/PROV-54321/slots?date_from={day}&date_to={day}&location_id=LOC-789"), &reception)
                .await
                .json()
                .await
                .expect("json");
            slots["total"].as_u64().expect("total")
        }
    };
    assert!(slots_on("2027-02-01").await > 0);
    let mut exceptions = provider["scheduleExceptions"]
        .as_array()
        .expect("exceptions")
        .clone();
    exceptions.push(json!({"date": "2027-02-01", "kind": "time_off", "note": "Conference"}));
    let change = json!({"scheduleExceptions": exceptions});
    let put = |auth: &str, path: &str, body: &Value, version: Option<&str>| {
        let mut request = api
            .http
            .put(api.url(path))
            .header("Authorization", auth)
            .json(body);
        if let Some(version) = version {
            request = request.header("If-Match", version);
        }
        request.send()
    };
    envelope(
        put(&reception, "/api/v1/providers/PROV-54321", &change, None)
            .await
            .expect("answers"),
        403,
        "forbidden",
    )
    .await;
    let stale = put(
        &admin,
        "/api/v1/providers/PROV-54321",
        &change,
        Some("\"99\""),
    )
    .await
    .expect("answers");
    envelope(stale, 409, "conflict").await;
    let bad = json!({"scheduleExceptions": [{"date": "2027-02-02", "kind": "extra", "start": "14:00"}], "npi": "1"});
    let error = envelope(
        put(&admin, "/api/v1/providers/PROV-54321", &bad, None)
            .await
            .expect("answers"),
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(
        error["details"].as_array().expect("details").len(),
        1,
        "npi is named first: {error}"
    );
    let changed = put(
        &admin,
        "/api/v1/providers/PROV-54321",
        &change,
        Some(&format!("\"{}\"", provider["version"])),
    )
    .await
    .expect("answers");
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.expect("json");
    assert_eq!(
        changed["version"],
        provider["version"].as_i64().expect("v") + 1
    );
    assert_eq!(slots_on("2027-02-01").await, 0, "the day off has no slots");

    let renamed = put(
        &admin,
        "/api/v1/locations/LOC-789",
        &json!({"name": "Main Clinic (Health Way)"}),
        None,
    )
    .await
    .expect("answers");
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.expect("json");
    let zone = put(
        &admin,
        "/api/v1/locations/LOC-789",
        &json!({"timeZone": "Mars/Olympus"}),
        None,
    )
    .await
    .expect("answers");
    envelope(zone, 400, "invalid_request").await;

    let (events, _) = drain(&api, &reception, &start).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(kinds, ["schedule.updated", "location.updated"]);
    assert_eq!(events[0]["data"], changed);
    assert_eq!(events[1]["data"], renamed);
}

#[tokio::test]
async fn records_and_invoices_take_updated_since_inclusively() {
    let api = Api::demo(10).await;
    let clinician = bearer(&api.user_token("clinician@demo.clinic").await);
    let billing = bearer(&api.user_token("billing@demo.clinic").await);
    // Everything the demo made is older than this.
    api.clock.advance(Duration::minutes(5));
    let since = api.clock.now().to_rfc3339();
    let since = urlencode(&since);
    let patients: Value = api
        .get("/api/v1/patients?limit=1", &clinician)
        .await
        .json()
        .await
        .expect("json");
    let patient = patients["patients"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let none: Value = api
        .get(
            &format!("/api/v1/patients/{patient}/records?updated_since={since}"),
            &clinician,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(none["total"], 0);
    let record = send(
        &api,
        reqwest::Method::POST,
        &format!("/api/v1/patients/{patient}/records"),
        &clinician,
        "req-rec-since",
        &json!({
            "providerId": "PROV-54321", "type": "Progress Note", "title": "Visit",
            "content": {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}
        }),
    )
    .await;
    let one: Value = api
        .get(
            &format!("/api/v1/patients/{patient}/records?updated_since={since}"),
            &clinician,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(one["total"], 1);
    assert_eq!(one["records"][0]["id"], record["id"]);

    let unchanged: Value = api
        .get(&format!("/api/v1/invoices?updated_since={since}"), &billing)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(unchanged["total"], 0);
    let open: Value = api
        .get("/api/v1/invoices?status=open&limit=1", &billing)
        .await
        .json()
        .await
        .expect("json");
    let id = open["invoices"][0]["id"]
        .as_str()
        .expect("an open invoice")
        .to_owned();
    send(
        &api,
        reqwest::Method::POST,
        &format!("/api/v1/invoices/{id}/payments"),
        &billing,
        "req-pay-since",
        &json!({"method": "Cash", "amount": 0.01}),
    )
    .await;
    let paid: Value = api
        .get(&format!("/api/v1/invoices?updated_since={since}"), &billing)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(paid["total"], 1);
    assert_eq!(paid["invoices"][0]["id"], id.as_str());
    let bad = api
        .get("/api/v1/invoices?updated_since=soon", &billing)
        .await;
    envelope(bad, 400, "invalid_request").await;
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
