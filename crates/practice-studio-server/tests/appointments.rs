//! Appointments against the real server on loopback: booking, the lists and their filters, the
//! status flow (every move, allowed and refused), stamps, the clash rules (overlap, hours in the
//! location's zone, daylight-saving days, breaks, time off), versions and idempotency, and the
//! property that booked slots never clash and fill the day.
//!
//! The demo book covers 90 days before to 60 days after the demo's today (2026-11-23 here), so
//! tests that need an empty day book from February 2027 on.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use practice_studio_server::clock::Clock as _;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::{bearer, envelope, Api};

const RECEPTION: &str = "reception@demo.clinic";

/// Moves the server's clock a little with each write: the desk's rate limit (1,000 a minute)
/// would otherwise refuse the long walks below, which no person at a desk could make.
fn tick(api: &Api) {
    api.clock.advance(Duration::milliseconds(120));
}

async fn post(api: &Api, auth: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    tick(api);
    let mut request = api
        .http
        .post(api.url("/api/v1/appointments"))
        .header("Authorization", auth)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("answers")
}

async fn put(api: &Api, auth: &str, id: &str, body: &Value) -> reqwest::Response {
    tick(api);
    api.http
        .put(api.url(&format!("/api/v1/appointments/{id}")))
        .header("Authorization", auth)
        .json(body)
        .send()
        .await
        .expect("answers")
}

async fn json(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    assert_eq!(got, status, "{body}");
    body
}

/// The first active patient of the demo.
async fn a_patient(api: &Api, auth: &str) -> String {
    let list = json(
        api.get("/api/v1/patients?status=active&limit=1", auth)
            .await,
        200,
    )
    .await;
    list["patients"][0]["id"].as_str().expect("id").to_owned()
}

/// The instant of a local wall-clock time in Chicago (every demo location's zone).
fn chicago(date: &str, time: &str) -> DateTime<Utc> {
    local(chrono_tz::America::Chicago, date, time)
}

fn local(zone: Tz, date: &str, time: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M")
        .expect("date and time");
    naive
        .and_local_timezone(zone)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn booking(patient: &str, provider: &str, start: DateTime<Utc>, minutes: i64) -> Value {
    json!({
        "patientId": patient, "providerId": provider,
        "startTime": start.to_rfc3339(), "endTime": (start + Duration::minutes(minutes)).to_rfc3339(),
        "type": "Follow-up", "reason": "Diabetes follow-up", "locationId": "LOC-789"
    })
}

/// PROV-54321's opening time at the Main Clinic on Mondays ("08:00" or "09:00").
async fn opening(api: &Api, auth: &str) -> String {
    let provider = json(api.get("/api/v1/providers/PROV-54321", auth).await, 200).await;
    let schedules = provider["locationSchedules"].as_array().expect("schedules");
    let main = schedules
        .iter()
        .find(|s| s["locationId"] == "LOC-789")
        .expect("works at the Main Clinic");
    main["hours"]["monday"]["start"]
        .as_str()
        .expect("Monday hours")
        .to_owned()
}

#[tokio::test]
async fn booking_answers_201_and_every_link_and_list_finds_it() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let open = opening(&api, &auth).await;
    let start = chicago("2027-02-01", &open);
    let response = post(
        &api,
        &auth,
        &booking(&patient, "PROV-54321", start, 30),
        None,
    )
    .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("APPT-"), "{id}");
    assert_eq!(location, format!("/api/v1/appointments/{id}"));
    assert_eq!(created["status"], "scheduled");
    assert_eq!(created["type"], "Follow-up");
    assert_eq!(created["location"]["name"], "Main Clinic");
    assert_eq!(created["location"]["address"]["line1"], "100 Health Way");
    assert_eq!(
        created["startTime"]
            .as_str()
            .expect("start")
            .parse::<DateTime<Utc>>()
            .expect("time"),
        start
    );
    for link in ["self", "patient", "provider"] {
        let href = created["_links"][link]["href"].as_str().expect("href");
        assert_eq!(api.get(href, &auth).await.status(), 200, "{href}");
    }
    let fetched = json(api.get(&location, &auth).await, 200).await;
    assert_eq!(fetched, created);

    // Filters: provider, patient, status, local dates; paging and totals.
    let day = json(
        api.get(
            "/api/v1/appointments?provider_id=PROV-54321&start_date=2027-02-01&end_date=2027-02-01",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(day["total"], 1);
    assert_eq!(day["appointments"][0]["id"], id.as_str());
    let theirs = json(
        api.get(
            &format!("/api/v1/patients/{patient}/appointments?start_date=2027-01-31"),
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(theirs["total"], 1);
    let mine = json(
        api.get(
            "/api/v1/providers/PROV-54321/appointments?start_date=2027-02-01&status=scheduled",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(mine["total"], 1);
    let none = json(
        api.get(
            "/api/v1/providers/PROV-54321/appointments?start_date=2027-02-01&status=completed",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(none["total"], 0);

    // The demo book: a busy past and future around today, every list in start order.
    let week = json(
        api.get(
            "/api/v1/appointments?start_date=2026-11-23&end_date=2026-11-27&limit=100",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert!(
        week["total"].as_u64().expect("total") > 100,
        "{}",
        week["total"]
    );
    let starts: Vec<&str> = week["appointments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["startTime"].as_str().expect("start"))
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    let page2 = json(
        api.get(
            "/api/v1/appointments?start_date=2026-11-23&end_date=2026-11-27&limit=100&offset=100",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(page2["total"], week["total"]);
    assert_ne!(
        page2["appointments"][0]["id"],
        week["appointments"][0]["id"]
    );
    for status in ["completed", "cancelled", "no_show", "scheduled"] {
        let list = json(
            api.get(
                &format!("/api/v1/appointments?status={status}&limit=1"),
                &auth,
            )
            .await,
            200,
        )
        .await;
        assert!(
            list["total"].as_u64().expect("total") > 0,
            "no {status} in the demo"
        );
    }
    let cancelled = json(
        api.get("/api/v1/appointments?status=cancelled&limit=5", &auth)
            .await,
        200,
    )
    .await;
    for a in cancelled["appointments"].as_array().expect("list") {
        assert!(
            a["cancelReason"].is_string() && a["cancelledAt"].is_string(),
            "{a}"
        );
    }

    // Bad filters: every problem listed at once.
    let bad = api
        .get(
            "/api/v1/appointments?start_date=2027-13-01&status=lost&sort=colour&limit=0",
            &auth,
        )
        .await;
    let error = envelope(bad, 400, "invalid_request").await;
    let fields: Vec<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    for field in ["start_date", "status", "sort", "limit"] {
        assert!(fields.contains(&field), "{fields:?}");
    }
    envelope(
        api.get("/api/v1/appointments/APPT-1", &auth).await,
        404,
        "not_found",
    )
    .await;
    envelope(
        api.get("/api/v1/patients/PAT-1/appointments", &auth).await,
        404,
        "not_found",
    )
    .await;
    envelope(
        api.get("/api/v1/providers/PROV-1/appointments", &auth)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn references_types_and_patients_are_checked() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let open = opening(&api, &auth).await;
    let start = chicago("2027-02-02", &open);
    let base = booking(&patient, "PROV-54321", start, 30);
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("patientId", json!("PAT-1")), "patientId"),
        (with("providerId", json!("PROV-1")), "providerId"),
        (with("locationId", json!("LOC-1")), "locationId"),
        // PROV-54321 works at the Main and North clinics, not Westside.
        (with("locationId", json!("LOC-123")), "locationId"),
        (with("type", json!("Haircut")), "type"),
    ] {
        let error = envelope(
            post(&api, &auth, &body, None).await,
            422,
            "unprocessable_entity",
        )
        .await;
        assert_eq!(error["details"][0]["field"], field, "{error}");
    }
    // An inactive provider (one has left the practice) and an inactive patient.
    let providers = json(api.get("/api/v1/providers?limit=100", &auth).await, 200).await;
    let gone = providers["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|p| p["active"] == false)
        .expect("an inactive provider");
    let error = envelope(
        post(&api, &auth, &with("providerId", gone["id"].clone()), None).await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert!(error["message"].as_str().expect("m").contains("not active"));
    let updated = api
        .http
        .put(api.url(&format!("/api/v1/patients/{patient}")))
        .header("Authorization", &auth)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(updated.status(), 200);
    let error = envelope(
        post(&api, &auth, &base, None).await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert!(
        error["message"].as_str().expect("m").contains("inactive"),
        "{error}"
    );

    // Shape problems are 400 and name the field.
    let mut backwards = base.clone();
    backwards["endTime"] = json!(start.to_rfc3339());
    let error = envelope(
        post(&api, &auth, &backwards, None).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "endTime");
    let error = envelope(
        post(&api, &auth, &with("status", json!("completed")), None).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "status");
    let error = envelope(
        post(&api, &auth, &with("startTime", json!("tomorrow")), None).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        error["details"][0]["field"]
            .as_str()
            .expect("f")
            .contains("startTime"),
        "{error}"
    );

    // Scopes: billing reads the book but cannot book; no credential is 401.
    let billing = bearer(&api.user_token("billing@demo.clinic").await);
    assert_eq!(
        api.get("/api/v1/appointments", &billing).await.status(),
        200
    );
    envelope(post(&api, &billing, &base, None).await, 403, "forbidden").await;
    let anonymous = api
        .http
        .get(api.url("/api/v1/appointments"))
        .send()
        .await
        .expect("answers");
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn clashes_with_bookings_hours_breaks_time_off_and_daylight_saving_are_409() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let open = opening(&api, &auth).await;
    let open_hour: u32 = open[..2].parse().expect("hour");
    // Monday 1 February 2027: a booking, then one overlapping it.
    let first = chicago("2027-02-01", &open);
    json(
        post(
            &api,
            &auth,
            &booking(&patient, "PROV-54321", first, 30),
            None,
        )
        .await,
        201,
    )
    .await;
    let error = envelope(
        post(
            &api,
            &auth,
            &booking(&patient, "PROV-54321", first + Duration::minutes(15), 30),
            None,
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .expect("m")
            .contains("already has an appointment"),
        "{error}"
    );
    // Back to back is fine; another provider at the same time is fine.
    json(
        post(
            &api,
            &auth,
            &booking(&patient, "PROV-54321", first + Duration::minutes(30), 30),
            None,
        )
        .await,
        201,
    )
    .await;

    let refused = |start: DateTime<Utc>, minutes: i64, words: &'static str| {
        let api = &api;
        let auth = auth.clone();
        let patient = patient.clone();
        async move {
            let error = envelope(
                post(
                    api,
                    &auth,
                    &booking(&patient, "PROV-54321", start, minutes),
                    None,
                )
                .await,
                409,
                "conflict",
            )
            .await;
            let message = error["message"].as_str().expect("message");
            assert!(message.contains(words), "{message} should say {words}");
        }
    };
    // Lunch, before opening, a Friday afternoon (Fridays close at 12:00), and a Saturday.
    refused(chicago("2027-02-01", "12:15"), 30, "break").await;
    refused(first - Duration::minutes(30), 30, "not working").await;
    refused(chicago("2027-02-05", "15:00"), 30, "not working").await;
    refused(chicago("2027-02-06", "10:00"), 30, "not working").await;

    // Daylight saving: the same UTC instant is before opening on Monday 8 March 2027 (CST,
    // UTC−6) and an hour after opening on Monday 15 March (CDT, UTC−5, clocks changed on the
    // 14th): hours are wall-clock time at the location.
    let before_open = format!("{:02}:00", open_hour - 1);
    let utc_hour = chicago("2027-03-08", &before_open);
    refused(utc_hour, 30, "not working").await;
    let a_week_later = utc_hour + Duration::days(7);
    assert_eq!(a_week_later, chicago("2027-03-15", &open));
    json(
        post(
            &api,
            &auth,
            &booking(&patient, "PROV-54321", a_week_later, 30),
            None,
        )
        .await,
        201,
    )
    .await;

    // Time off from the provider's schedule exceptions: a whole day, and part of one.
    let providers = json(api.get("/api/v1/providers?limit=100", &auth).await, 200).await;
    let mut checked = 0;
    for provider in providers["providers"].as_array().expect("providers") {
        if provider["active"] != true {
            continue;
        }
        for exception in provider["scheduleExceptions"]
            .as_array()
            .expect("exceptions")
        {
            if exception["kind"] != "time_off" {
                continue;
            }
            let date = exception["date"].as_str().expect("date");
            let weekday = date
                .parse::<NaiveDate>()
                .expect("date")
                .format("%a")
                .to_string();
            if ["Sat", "Sun", "Fri"].contains(&weekday.as_str()) {
                continue;
            }
            let location = provider["locationSchedules"][0]["locationId"].clone();
            let time = exception["start"]
                .as_str()
                .map_or("14:00".to_owned(), |s| s.to_owned());
            let at = chicago(date, &time);
            let mut body = booking(&patient, provider["id"].as_str().expect("id"), at, 30);
            body["locationId"] = location;
            let response = post(&api, &auth, &body, None).await;
            // The second location of a two-site provider may not be open that weekday: any
            // refusal must still be a clash, and one for time off when the day is a working one.
            let error = envelope(response, 409, "conflict").await;
            if error["message"].as_str().expect("m").contains("off") {
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no time-off exception was tested");
}

#[tokio::test]
async fn hours_are_kept_in_each_locations_own_time_zone() {
    // A practice with a location in New York beside the Chicago ones: the same provider's 09:00
    // is 14:00 UTC in New York and 15:00 UTC in Chicago (January, standard time).
    use practice_studio::model::*;
    let dir = tempfile::tempdir().expect("temp dir");
    let (database, pg) = support::database_in(dir.path(), "zones.db").await;
    let now: DateTime<Utc> = "2027-01-04T12:00:00Z".parse().expect("time");
    {
        let storage = database.open().await.expect("database");
        practice_studio_server::demo::seed_identities(&*storage, now)
            .await
            .expect("identities");
        practice_studio_server::demo_clinic::seed(&*storage, 1, now.date_naive())
            .await
            .expect("clinic");
        let mut east = practice_studio_server::demo_clinic::locations().remove(0);
        east.id = LocationId("LOC-EAST".into());
        east.name = "East Coast Clinic".into();
        east.time_zone = "America/New_York".into();
        east.links.self_.href = "/api/v1/locations/LOC-EAST".into();
        storage.insert_location(&east).await.expect("location");
        let nine_to_five = WeeklySchedule {
            monday: Some(DayHours {
                start: "09:00".into(),
                end: "17:00".into(),
            }),
            ..WeeklySchedule::default()
        };
        let mut provider =
            practice_studio_server::demo_clinic::providers(1, now.date_naive()).remove(1);
        provider.id = ProviderId("PROV-TWOZONES".into());
        provider.active = true;
        provider.schedule_exceptions.clear();
        provider.locations = vec![
            LocationRef {
                id: east.id.clone(),
                name: east.name.clone(),
            },
            LocationRef {
                id: LocationId("LOC-789".into()),
                name: "Main Clinic".into(),
            },
        ];
        provider.location_schedules = vec![
            LocationSchedule {
                location_id: east.id.clone(),
                hours: nine_to_five.clone(),
                breaks: vec![],
            },
            LocationSchedule {
                location_id: LocationId("LOC-789".into()),
                hours: nine_to_five.clone(),
                breaks: vec![],
            },
        ];
        provider.links.self_.href = "/api/v1/providers/PROV-TWOZONES".into();
        provider.links.appointments.href = "/api/v1/providers/PROV-TWOZONES/appointments".into();
        storage.insert_provider(&provider).await.expect("provider");
    }
    let clock = std::sync::Arc::new(practice_studio_server::clock::ManualClock::new(now));
    let server = practice_studio_server::Server::builder()
        .storage(database)
        .clock(clock.clone())
        .start()
        .await
        .expect("server");
    let api = Api {
        server,
        http: reqwest::Client::new(),
        clock,
        database: pg,
    };
    let auth = bearer(&api.user_token(RECEPTION).await);
    let created = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&support::reference_new_patient())
        .send()
        .await
        .expect("answers");
    let patient = json(created, 201).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let at = |location: &str, start: DateTime<Utc>| {
        let mut body = booking(&patient, "PROV-TWOZONES", start, 30);
        body["locationId"] = json!(location);
        body
    };
    // Monday 11 January 2027, 14:00 UTC: 09:00 in New York (open), 08:00 in Chicago (not yet).
    let fourteen: DateTime<Utc> = "2027-01-11T14:00:00Z".parse().expect("time");
    envelope(
        post(&api, &auth, &at("LOC-789", fourteen), None).await,
        409,
        "conflict",
    )
    .await;
    let east = json(
        post(&api, &auth, &at("LOC-EAST", fourteen), None).await,
        201,
    )
    .await;
    assert_eq!(east["location"]["id"], "LOC-EAST");
    // 16:30 Chicago is 17:30 New York: open in Chicago only; and the New York booking at 14:00
    // UTC still blocks the provider in Chicago at the same instant an hour later in local time.
    let late: DateTime<Utc> = "2027-01-11T22:30:00Z".parse().expect("time");
    envelope(
        post(&api, &auth, &at("LOC-EAST", late), None).await,
        409,
        "conflict",
    )
    .await;
    json(post(&api, &auth, &at("LOC-789", late), None).await, 201).await;
    let slots = json(
        api.get("/api/v1/providers/PROV-TWOZONES/slots?date_from=2027-01-11&date_to=2027-01-11&duration=30&location_id=LOC-EAST", &auth)
            .await,
        200,
    )
    .await;
    let first = slots["slots"][0]["startTime"].as_str().expect("a slot");
    assert_eq!(
        first, "2027-01-11T14:30:00Z",
        "09:00 New York is taken; 09:30 is next"
    );
    // The date filter is the location's calendar day.
    let listed = json(
        api.get(
            "/api/v1/appointments?start_date=2027-01-11&end_date=2027-01-11",
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["total"], 2);
}

/// Makes an appointment and walks it into `status` through allowed moves.
async fn appointment_in(
    api: &Api,
    auth: &str,
    patient: &str,
    start: DateTime<Utc>,
    status: &str,
) -> (String, Value) {
    let created = json(
        post(api, auth, &booking(patient, "PROV-54321", start, 15), None).await,
        201,
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let steps: Vec<Value> = match status {
        "scheduled" => vec![],
        "checked_in" => vec![json!({"status": "checked_in"})],
        "in_room" => vec![
            json!({"status": "checked_in"}),
            json!({"status": "in_room"}),
        ],
        "completed" => vec![
            json!({"status": "checked_in"}),
            json!({"status": "in_room"}),
            json!({"status": "completed"}),
        ],
        "cancelled" => vec![json!({"status": "cancelled", "cancelReason": "Patient unwell"})],
        "no_show" => vec![json!({"status": "no_show"})],
        other => panic!("unknown status {other}"),
    };
    let mut last = created;
    for step in steps {
        last = json(put(api, auth, &id, &step).await, 200).await;
    }
    assert_eq!(last["status"], status);
    (id, last)
}

#[tokio::test]
async fn every_status_move_is_allowed_or_refused_as_the_table_says() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let allowed = [
        ("scheduled", "checked_in"),
        ("checked_in", "in_room"),
        ("in_room", "completed"),
        ("scheduled", "cancelled"),
        ("checked_in", "cancelled"),
        ("scheduled", "no_show"),
        ("checked_in", "scheduled"),
        ("no_show", "checked_in"),
        ("cancelled", "scheduled"),
    ];
    let statuses = [
        "scheduled",
        "checked_in",
        "in_room",
        "completed",
        "cancelled",
        "no_show",
    ];
    // Free quarter hours on Mondays and Wednesdays from February 2027, one per case.
    let slots = json(
        api.get("/api/v1/providers/PROV-54321/slots?date_from=2027-02-01&date_to=2027-02-28&duration=15&location_id=LOC-789", &auth)
            .await,
        200,
    )
    .await;
    let mut free = slots["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| {
            s["startTime"]
                .as_str()
                .expect("start")
                .parse::<DateTime<Utc>>()
                .expect("time")
        })
        .collect::<Vec<_>>()
        .into_iter()
        .step_by(2);
    let mut tried = 0;
    for from in statuses {
        for to in statuses {
            if from == to {
                continue;
            }
            let start = free.next().expect("enough free slots");
            let (id, _) = appointment_in(&api, &auth, &patient, start, from).await;
            let mut body = json!({"status": to});
            if to == "cancelled" {
                body["cancelReason"] = json!("Rescheduled by the clinic");
            }
            let response = put(&api, &auth, &id, &body).await;
            if allowed.contains(&(from, to)) {
                let changed = json(response, 200).await;
                assert_eq!(changed["status"], to, "{from} → {to}");
            } else {
                let error = envelope(response, 422, "unprocessable_entity").await;
                let message = error["message"].as_str().expect("message");
                assert!(
                    message.contains(from) && message.contains(to),
                    "{from} → {to}: {message}"
                );
            }
            tried += 1;
        }
    }
    assert_eq!(tried, 30);
}

#[tokio::test]
async fn stamps_reasons_undo_versions_and_idempotency() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let open = opening(&api, &auth).await;
    let start = chicago("2027-02-03", &open);
    let (id, scheduled) = appointment_in(&api, &auth, &patient, start, "scheduled").await;
    let now = api.clock.now();

    // A cancellation needs a reason.
    let error = envelope(
        put(&api, &auth, &id, &json!({"status": "cancelled"})).await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "cancelReason");
    // A desk that checked in offline sends when it happened: within 24 hours, not ahead.
    let stale = (now - Duration::hours(25)).to_rfc3339();
    let error = envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "checked_in", "checkedInAt": stale}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "checkedInAt");
    let ahead = (now + Duration::minutes(10)).to_rfc3339();
    envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "checked_in", "checkedInAt": ahead}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    // A stamp without its move is refused too.
    envelope(
        put(&api, &auth, &id, &json!({"roomedAt": now.to_rfc3339()})).await,
        422,
        "unprocessable_entity",
    )
    .await;
    let earlier = now - Duration::hours(2);
    let checked_in = json(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "checked_in", "checkedInAt": earlier.to_rfc3339()}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        checked_in["checkedInAt"]
            .as_str()
            .expect("stamp")
            .parse::<DateTime<Utc>>()
            .expect("t"),
        earlier
    );
    assert_eq!(checked_in["version"], 2);
    // Undo: back to scheduled clears the stamp.
    let undone = json(
        put(&api, &auth, &id, &json!({"status": "scheduled"})).await,
        200,
    )
    .await;
    assert!(undone.get("checkedInAt").is_none(), "{undone}");
    // If-Match: a change based on an old version is 409; the current one goes through.
    let stale_version = api
        .http
        .put(api.url(&format!("/api/v1/appointments/{id}")))
        .header("Authorization", &auth)
        .header("If-Match", "\"1\"")
        .json(&json!({"notes": "Bring previous results"}))
        .send()
        .await
        .expect("answers");
    envelope(stale_version, 409, "conflict").await;
    let current = api
        .http
        .put(api.url(&format!("/api/v1/appointments/{id}")))
        .header("Authorization", &auth)
        .header("If-Match", "\"3\"")
        .json(&json!({"notes": "Bring previous results", "reason": null}))
        .send()
        .await
        .expect("answers");
    let noted = json(current, 200).await;
    assert_eq!(noted["notes"], "Bring previous results");
    assert!(noted.get("reason").is_none(), "null clears: {noted}");
    assert_eq!(noted["created"], scheduled["created"]);

    // Cancelled, then another patient takes the time: undoing the cancellation is a clash.
    let cancelled = json(
        put(
            &api,
            &auth,
            &id,
            &json!({"status": "cancelled", "cancelReason": "Weather"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["cancelReason"], "Weather");
    assert!(cancelled["cancelledAt"].is_string());
    let taker = json(
        post(
            &api,
            &auth,
            &booking(&patient, "PROV-54321", start, 30),
            None,
        )
        .await,
        201,
    )
    .await;
    envelope(
        put(&api, &auth, &id, &json!({"status": "scheduled"})).await,
        409,
        "conflict",
    )
    .await;
    // Once the taker moves on (an hour later), the slot is free again and the undo works.
    let moved = json(
        put(
            &api,
            &auth,
            taker["id"].as_str().expect("id"),
            &json!({"startTime": (start + Duration::hours(1)).to_rfc3339()}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        moved["endTime"]
            .as_str()
            .expect("end")
            .parse::<DateTime<Utc>>()
            .expect("t"),
        start + Duration::minutes(90),
        "a new start alone keeps the length"
    );
    let restored = json(
        put(&api, &auth, &id, &json!({"status": "scheduled"})).await,
        200,
    )
    .await;
    assert!(restored.get("cancelReason").is_none() && restored.get("cancelledAt").is_none());
    // Only a scheduled appointment moves; read-only and unknown fields are named.
    json(
        put(&api, &auth, &id, &json!({"status": "checked_in"})).await,
        200,
    )
    .await;
    envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"startTime": (start + Duration::hours(3)).to_rfc3339()}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    let error = envelope(
        put(
            &api,
            &auth,
            &id,
            &json!({"patientId": "PAT-1", "colour": "red"}),
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"].as_array().expect("details").len(), 2);

    // The same Idempotency-Key books once and replays the answer.
    let body = booking(&patient, "PROV-54321", start + Duration::hours(2), 30);
    let first = post(&api, &auth, &body, Some("book-once-1")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again = post(&api, &auth, &body, Some("book-once-1")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    let listed = json(
        api.get(
            &format!(
                "/api/v1/patients/{patient}/appointments?start_date=2027-02-03&end_date=2027-02-03"
            ),
            &auth,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        listed["total"], 3,
        "the original, the taker and one booking with the key"
    );
}

#[tokio::test]
async fn booked_slots_never_clash_and_booking_them_all_fills_the_day() {
    // A property test with a seeded generator: for random providers, working days and
    // lengths, booking the slots /slots offers one after another always succeeds, and when
    // none are left the day has no gap as long as the appointment.
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(RECEPTION).await);
    let patient = a_patient(&api, &auth).await;
    let providers = json(api.get("/api/v1/providers?limit=100", &auth).await, 200).await;
    let active: Vec<(String, String)> = providers["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .filter(|p| p["active"] == true)
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["locations"][0]["id"]
                    .as_str()
                    .expect("location")
                    .to_owned(),
            )
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5107);
    let first_day: NaiveDate = "2027-02-08".parse().expect("date");
    for case in 0..6 {
        let (provider, location) = &active[rng.random_range(0..active.len())];
        let date = first_day + Duration::days(7 * case + rng.random_range(0..4));
        let minutes: i64 = [10, 15, 20, 30, 45, 60][rng.random_range(0..6)];
        let slots_path = format!(
            "/api/v1/providers/{provider}/slots?date_from={date}&date_to={date}&duration={minutes}&location_id={location}"
        );
        let mut booked: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        loop {
            tick(&api);
            let slots = json(api.get(&slots_path, &auth).await, 200).await;
            let list = slots["slots"].as_array().expect("slots");
            if list.is_empty() {
                break;
            }
            // Take a random offered slot, not always the first, so gaps open up.
            let slot = &list[rng.random_range(0..list.len())];
            let start: DateTime<Utc> = slot["startTime"].as_str().expect("s").parse().expect("t");
            let mut body = booking(&patient, provider, start, minutes);
            body["locationId"] = json!(location);
            let response = post(&api, &auth, &body, None).await;
            assert_eq!(
                response.status(),
                201,
                "case {case}: an offered slot was refused: {}",
                response.text().await.unwrap_or_default()
            );
            booked.push((start, start + Duration::minutes(minutes)));
            assert!(booked.len() < 200, "runaway");
        }
        booked.sort();
        for pair in booked.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "case {case}: {pair:?} overlap");
        }
        // Filled: a one-grid-step-shorter appointment may still fit in a gap, but not ours.
        let day = json(
            api.get(&format!("/api/v1/providers/{provider}/appointments?start_date={date}&end_date={date}&limit=100"), &auth)
                .await,
            200,
        )
        .await;
        assert!(day["total"].as_u64().expect("total") >= booked.len() as u64);
    }
}
