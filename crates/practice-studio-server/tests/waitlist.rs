//! The waitlist (extension): adding, listing, booking and removing entries, their events, and
//! the ranking of candidates for a freed slot — over HTTP against the demo server.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::{bearer, envelope, Api};

const RECEPTION: &str = "reception@demo.clinic";

async fn json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert_eq!(got, status, "{body}");
    body
}

async fn post(api: &Api, auth: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    api.clock.advance(Duration::milliseconds(120));
    let mut request = api
        .http
        .post(api.url("/api/v1/waitlist"))
        .header("Authorization", auth)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("answers")
}

async fn put(
    api: &Api,
    auth: &str,
    id: &str,
    body: &Value,
    version: Option<i64>,
) -> reqwest::Response {
    api.clock.advance(Duration::milliseconds(120));
    let mut request = api
        .http
        .put(api.url(&format!("/api/v1/waitlist/{id}")))
        .header("Authorization", auth)
        .json(body);
    if let Some(version) = version {
        request = request.header("If-Match", format!("\"{version}\""));
    }
    request.send().await.expect("answers")
}

/// Two scheduled appointments of two different active patients: (patient, appointment) each.
async fn two_bookings(api: &Api, auth: &str) -> [(String, String); 2] {
    let page = json(
        api.get("/api/v1/appointments?status=scheduled&limit=100", auth)
            .await,
        200,
    )
    .await;
    let mut found: Vec<(String, String)> = Vec::new();
    for appointment in page["appointments"].as_array().expect("appointments") {
        let patient = appointment["patientId"]
            .as_str()
            .expect("patient")
            .to_owned();
        if found.iter().any(|(p, _)| *p == patient) {
            continue;
        }
        let details = json(
            api.get(&format!("/api/v1/patients/{patient}"), auth).await,
            200,
        )
        .await;
        if details["status"] == "active" {
            found.push((patient, appointment["id"].as_str().expect("id").to_owned()));
        }
        if found.len() == 2 {
            break;
        }
    }
    assert_eq!(found.len(), 2, "the demo book has scheduled appointments");
    [found[0].clone(), found[1].clone()]
}

#[tokio::test]
async fn an_entry_is_added_read_listed_booked_put_back_and_removed_with_its_events() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let [(patient, appointment), (_, someone_elses)] = two_bookings(&api, &auth).await;
    // No cursor: the feed's end, where this test's events will follow.
    let start = json(api.get("/api/v2/events", &auth).await, 200).await;
    let cursor = start["cursor"].as_str().expect("cursor").to_owned();

    let response = post(
        &api,
        &auth,
        &json!({
            "patientId": patient, "type": "follow-up", "reason": "  Sooner if possible  ",
            "preferences": { "providerIds": ["PROV-54321"], "days": ["tuesday", "thursday"],
                             "earliestTime": "08:00", "latestTime": "12:00" }
        }),
        Some("wl-key-1"),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let entry: Value = response.json().await.expect("json");
    let id = entry["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("WL-"), "{id}");
    assert_eq!(location, format!("/api/v1/waitlist/{id}"));
    assert_eq!(entry["type"], "Follow-up", "the type's own spelling");
    assert_eq!(entry["duration"], 30, "the type's default duration");
    assert_eq!(entry["reason"], "Sooner if possible");
    assert_eq!(entry["status"], "waiting");
    assert_eq!(json(api.get(&location, &auth).await, 200).await, entry);

    // A retry with the same key is the same entry.
    let again = post(
        &api,
        &auth,
        &json!({ "patientId": patient, "type": "follow-up", "reason": "  Sooner if possible  ",
            "preferences": { "providerIds": ["PROV-54321"], "days": ["tuesday", "thursday"],
                             "earliestTime": "08:00", "latestTime": "12:00" } }),
        Some("wl-key-1"),
    )
    .await;
    assert_eq!(json(again, 201).await["id"], id.as_str());
    let all = json(api.get("/api/v1/waitlist", &auth).await, 200).await;
    assert_eq!(all["total"], 1);

    // Filters.
    for (query, total) in [
        ("status=waiting", 1),
        ("status=booked", 0),
        (&format!("patient_id={patient}") as &str, 1),
        ("patient_id=PAT-00000", 0),
        ("provider_id=PROV-54321", 1),
        ("provider_id=PROV-OTHER", 0),
        ("updated_since=2099-01-01", 0),
    ] {
        let page = json(
            api.get(&format!("/api/v1/waitlist?{query}"), &auth).await,
            200,
        )
        .await;
        assert_eq!(page["total"], total, "{query}");
    }

    // Changes: If-Match, the booking rules, and the patient's own appointments only.
    envelope(
        put(&api, &auth, &id, &json!({"notes": "x"}), Some(7)).await,
        409,
        "conflict",
    )
    .await;
    envelope(
        put(&api, &auth, &id, &json!({"status": "booked"}), None).await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        put(&api, &auth, &id, &json!({"patientId": "PAT-1"}), None).await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "booked", "appointmentId": someone_elses}),
            None,
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "booked", "appointmentId": "APPT-00000"}),
            None,
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    let booked = json(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "booked", "appointmentId": appointment}),
            Some(1),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["appointmentId"], appointment.as_str());
    assert_eq!(booked["version"], 2);
    let back = json(
        put(&api, &auth, &id, &json!({"status": "waiting"}), Some(2)).await,
        200,
    )
    .await;
    assert_eq!(back["status"], "waiting");
    assert!(back.get("appointmentId").is_none(), "{back}");
    let narrowed = json(
        put(
            &api,
            &auth,
            &id,
            &json!({"preferences": {"days": null, "latestTime": "11:00"}, "reason": null}),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(narrowed["preferences"]["days"], json!([]));
    assert_eq!(narrowed["preferences"]["latestTime"], "11:00");
    assert_eq!(narrowed["preferences"]["earliestTime"], "08:00");
    assert!(narrowed.get("reason").is_none());
    let removed = json(
        put(&api, &auth, &id, &json!({"status": "removed"}), None).await,
        200,
    )
    .await;
    assert_eq!(removed["status"], "removed");
    assert_eq!(removed["version"], 5);

    // Every change is on the feed, in order.
    let feed = json(
        api.get(&format!("/api/v2/events?after={cursor}&limit=1000"), &auth)
            .await,
        200,
    )
    .await;
    let ours: Vec<(String, String)> = feed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| {
            e["event"]
                .as_str()
                .is_some_and(|k| k.starts_with("waitlist."))
        })
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["data"]["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("waitlist.created", "waiting"),
        ("waitlist.updated", "booked"),
        ("waitlist.updated", "waiting"),
        ("waitlist.updated", "waiting"),
        ("waitlist.updated", "removed"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(ours, expected);
}

#[tokio::test]
async fn bad_entries_are_refused_naming_each_problem() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let [(patient, _), _] = two_bookings(&api, &auth).await;
    let shape = envelope(
        post(
            &api,
            &auth,
            &json!({ "patientId": patient, "type": "Follow-up", "duration": 0,
                     "preferences": { "earliestTime": "9am", "earliestDate": "2027-03-01", "latestDate": "2027-02-01" } }),
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    let fields: Vec<&str> = shape["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "duration",
            "preferences.earliestTime",
            "preferences.latestDate"
        ]
    );
    for (body, field) in [
        (
            json!({ "patientId": "PAT-00000", "type": "Follow-up" }),
            "patientId",
        ),
        (json!({ "patientId": patient, "type": "Massage" }), "type"),
        (
            json!({ "patientId": patient, "type": "Follow-up", "preferences": {"providerIds": ["PROV-NONE"]} }),
            "preferences.providerIds",
        ),
        (
            json!({ "patientId": patient, "type": "Follow-up", "preferences": {"locationId": "LOC-NONE"} }),
            "preferences.locationId",
        ),
    ] {
        let error = envelope(
            post(&api, &auth, &body, None).await,
            422,
            "unprocessable_entity",
        )
        .await;
        assert_eq!(error["details"][0]["field"], field, "{body}");
    }
    envelope(
        api.get("/api/v1/waitlist?status=maybe&colour=red", &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        api.get("/api/v1/waitlist/WL-99999", &auth).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        json(api.get("/api/v1/waitlist", &auth).await, 200).await["total"],
        0,
        "nothing was stored"
    );

    // Scopes: a token for patients only may not read or write the waitlist.
    let narrow = api
        .token_response(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
            ("scope", "read:patients"),
        ])
        .await;
    let token: Value = narrow.json().await.expect("token");
    let narrow = bearer(token["access_token"].as_str().expect("token"));
    envelope(api.get("/api/v1/waitlist", &narrow).await, 403, "forbidden").await;
    envelope(
        post(
            &api,
            &narrow,
            &json!({ "patientId": patient, "type": "Follow-up" }),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_freed_slot_ranks_who_would_take_it() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let [(first, _), (second, _)] = two_bookings(&api, &auth).await;
    let add = |patient: &str, preferences: Value| json!({ "patientId": patient, "type": "Follow-up", "preferences": preferences });
    // Oldest first: "any" (oldest), "mornings at the Main Clinic", "PROV-54321 by name",
    // "Fridays only", and one for another provider.
    let mut ids = Vec::new();
    for (patient, preferences) in [
        (&first, json!({})),
        (
            &second,
            json!({"locationId": "LOC-789", "latestTime": "12:00"}),
        ),
        (&first, json!({"providerIds": ["PROV-54321"]})),
        (&second, json!({"days": ["friday"]})),
        (&first, json!({"providerIds": ["PROV-OTHER-NOT-REAL"]})),
    ] {
        let response = post(&api, &auth, &add(patient, preferences.clone()), None).await;
        if preferences["providerIds"][0] == "PROV-OTHER-NOT-REAL" {
            envelope(response, 422, "unprocessable_entity").await;
            continue;
        }
        ids.push(
            json(response, 201).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
        api.clock.advance(Duration::minutes(10));
    }
    // Tuesday 2 February 2027, 10:00–10:30 in Chicago (16:00 UTC).
    let ranked = json(
        api.get(
            "/api/v1/waitlist/candidates?provider_id=PROV-54321&location_id=LOC-789&start_time=2027-02-02T16:00:00Z&end_time=2027-02-02T16:30:00Z",
            &auth,
        )
        .await,
        200,
    )
    .await;
    let order: Vec<&str> = ranked["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter_map(|c| c["entry"]["id"].as_str())
        .collect();
    assert_eq!(order, [ids[2].as_str(), ids[0].as_str(), ids[1].as_str()]);
    assert_eq!(ranked["candidates"][0]["rank"], 1);
    assert!(ranked["candidates"][0]["why"]
        .as_str()
        .is_some_and(|w| w.starts_with("asked for this provider")));

    // 13:00 local: the mornings-only entry drops out; a 15-minute slot fits nobody (30 minutes).
    let afternoon = json(
        api.get(
            "/api/v1/waitlist/candidates?provider_id=PROV-54321&location_id=LOC-789&start_time=2027-02-02T19:00:00Z&end_time=2027-02-02T19:30:00Z",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(afternoon["candidates"].as_array().map(Vec::len), Some(2));
    let short = json(
        api.get(
            "/api/v1/waitlist/candidates?provider_id=PROV-54321&location_id=LOC-789&start_time=2027-02-02T16:00:00Z&end_time=2027-02-02T16:15:00Z",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(short["candidates"], json!([]));
    let error = envelope(
        api.get(
            "/api/v1/waitlist/candidates?provider_id=PROV-54321&start_time=later",
            &auth,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    let fields: Vec<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    assert_eq!(fields, ["location_id", "end_time", "start_time"]);
}
