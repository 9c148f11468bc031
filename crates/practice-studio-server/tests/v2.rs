//! The v2 beta's cursor-paged lists against the real server on loopback: every row once while
//! others write, the cursor kept to read only what was added, filters as in v1, refusals.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::{HashMap, HashSet};

use practice_studio_server::clock::Clock as _;
use serde_json::{json, Value};
use support::{bearer, envelope, reference_new_patient, Api};

async fn page(api: &Api, auth: &str, path: &str) -> Value {
    let response = api.get(path, auth).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

fn ids(page: &Value, list: &str) -> Vec<String> {
    page[list]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Every id of a v2 list, page after page.
async fn walk(api: &Api, auth: &str, path: &str, list: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = page(api, auth, &format!("{path}&limit=100&cursor={cursor}")).await;
        all.extend(ids(&body, list));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            return all;
        }
    }
}

async fn register(api: &Api, auth: &str, n: usize) -> String {
    let mut body = reference_new_patient();
    body["firstName"] = json!(format!("Newcomer{}", "x".repeat(n % 5)));
    body["contactInfo"]["email"] = json!(format!("newcomer{n}@example.com"));
    let response = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", auth)
        .json(&body)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn cursor_paging_sees_every_patient_once_while_others_register() {
    let api = Api::demo(95).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let mut seen = Vec::new();
    let mut added = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/v2/patients?limit=30".to_owned(),
            Some(c) => format!("/api/v2/patients?limit=30&cursor={c}"),
        };
        let body = page(&api, &auth, &path).await;
        seen.extend(ids(&body, "patients"));
        cursor = Some(body["next_cursor"].as_str().expect("cursor").to_owned());
        if !body["has_more"].as_bool().expect("has_more") {
            break;
        }
        // Someone registers a patient between two pages.
        added.push(register(&api, &auth, added.len()).await);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no patient twice");
    assert_eq!(
        seen.len(),
        95 + added.len(),
        "no gaps, and the newcomers too"
    );
    for id in &added {
        assert!(unique.contains(id), "{id}");
    }
    // Nothing new: the kept cursor reads an empty page. One more registration: just that one.
    let cursor = cursor.expect("a cursor");
    let empty = page(&api, &auth, &format!("/api/v2/patients?cursor={cursor}")).await;
    assert!(ids(&empty, "patients").is_empty());
    assert_eq!(empty["next_cursor"], cursor.as_str());
    let late = register(&api, &auth, 99).await;
    let after = page(&api, &auth, &format!("/api/v2/patients?cursor={cursor}")).await;
    assert_eq!(ids(&after, "patients"), [late]);
    assert_eq!(after["has_more"], false);
}

#[tokio::test]
async fn v2_lists_filter_as_v1_does() {
    let api = Api::demo(60).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    // Deceased patients: the same set as v1's filter.
    let v1 = page(&api, &auth, "/api/v1/patients?status=inactive&limit=100").await;
    let v2 = page(&api, &auth, "/api/v2/patients?status=inactive&limit=100").await;
    let mut a = ids(&v1, "patients");
    let mut b = ids(&v2, "patients");
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(!b.is_empty());

    // Appointments of one patient with one status.
    let all = page(
        &api,
        &auth,
        "/api/v2/appointments?status=cancelled&limit=100",
    )
    .await;
    let first = &all["appointments"][0];
    assert!(all["appointments"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["status"] == "cancelled"));
    let patient = first["patientId"].as_str().expect("patient");
    let theirs = walk(
        &api,
        &auth,
        &format!("/api/v2/appointments?patient_id={patient}"),
        "appointments",
    )
    .await;
    let v1_theirs = page(
        &api,
        &auth,
        &format!("/api/v1/patients/{patient}/appointments?limit=1"),
    )
    .await;
    assert_eq!(
        theirs.len() as u64,
        v1_theirs["total"].as_u64().expect("total")
    );
    assert_eq!(theirs.iter().collect::<HashSet<_>>().len(), theirs.len());

    // Walking every invoice by cursor finds v1's total, and paid ones are paid.
    let v1_total = page(&api, &auth, "/api/v1/invoices?limit=1").await["total"]
        .as_u64()
        .expect("total");
    let count = walk(&api, &auth, "/api/v2/invoices?", "invoices")
        .await
        .len() as u64;
    assert_eq!(count, v1_total);
    let paid = page(&api, &auth, "/api/v2/invoices?status=paid&limit=100").await;
    assert!(paid["invoices"]
        .as_array()
        .expect("items")
        .iter()
        .all(|i| i["status"] == "paid"));

    // A patient's records: the same as v1's.
    let records_v1 = page(&api, &auth, "/api/v1/patients/PAT-10001/records?limit=100").await;
    let records_v2 = page(&api, &auth, "/api/v2/patients/PAT-10001/records?limit=100").await;
    let mut a = ids(&records_v1, "records");
    let mut b = ids(&records_v2, "records");
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // updated_since after every change: nothing.
    let none = page(&api, &auth, "/api/v2/appointments?updated_since=2100-01-01").await;
    assert!(ids(&none, "appointments").is_empty());
}

#[tokio::test]
async fn bad_cursors_limits_and_dates_are_refused_and_missing_patients_are_404() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let patients = page(&api, &auth, "/api/v2/patients?limit=2").await;
    let cursor = patients["next_cursor"].as_str().expect("cursor");
    let error = envelope(
        api.get(&format!("/api/v2/appointments?cursor={cursor}"), &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "cursor");
    let error = envelope(
        api.get(
            "/api/v2/patients?limit=0&status=alive&updated_since=soon",
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
        .map(|d| d["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["limit", "updated_since", "status"]);
    envelope(
        api.get("/api/v2/patients/PAT-00000/records", &auth).await,
        404,
        "not_found",
    )
    .await;
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    envelope(
        api.get("/api/v2/patients/PAT-10001/records", &reception)
            .await,
        403,
        "forbidden",
    )
    .await;
}

async fn post_json(
    api: &Api,
    auth: &str,
    path: &str,
    body: String,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = api
        .http
        .post(api.url(path))
        .header("Authorization", auth)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("answers")
}

#[tokio::test]
async fn bulk_patients_apply_each_item_on_its_own() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let existing = page(&api, &auth, "/api/v1/patients/PAT-10001").await;
    let version = existing["version"].as_i64().expect("version");
    let mut bad = reference_new_patient();
    bad["dateOfBirth"] = json!("2999-01-01");
    let bulk = json!({ "items": [
        { "op": "create", "idempotencyKey": "bulk-1", "body": reference_new_patient() },
        { "op": "create", "body": bad },
        { "op": "update", "id": "PAT-10001", "ifMatch": version, "body": { "contactInfo": { "phone": "555-111-3333" } } },
        { "op": "update", "id": "PAT-10001", "ifMatch": version, "body": { "contactInfo": { "phone": "555-222-4444" } } },
        { "op": "update", "body": {} },
    ]});
    let response = post_json(&api, &auth, "/api/v2/patients/bulk", bulk.to_string(), None).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    let statuses: Vec<u64> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [201, 400, 200, 409, 400], "{answer}");
    assert_eq!(answer["succeeded"], 2);
    assert_eq!(answer["failed"], 3);
    let created = answer["results"][0]["resource"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        page(&api, &auth, &format!("/api/v1/patients/{created}")).await["lastName"],
        "Smith"
    );
    assert_eq!(answer["results"][1]["error"]["code"], "invalid_request");
    assert_eq!(
        answer["results"][1]["error"]["details"][0]["field"],
        "dateOfBirth"
    );
    assert_eq!(answer["results"][3]["error"]["code"], "conflict");
    assert_eq!(
        answer["results"][4]["error"]["details"][0]["field"],
        "items[4].id"
    );
    let changed = page(&api, &auth, "/api/v1/patients/PAT-10001").await;
    assert_eq!(
        changed["contactInfo"]["phone"], "555-111-3333",
        "the stale update changed nothing"
    );

    // Too many or no items: refused whole.
    let many = json!({ "items": (0..101).map(|_| json!({ "body": {} })).collect::<Vec<_>>() });
    let error = envelope(
        post_json(&api, &auth, "/api/v2/patients/bulk", many.to_string(), None).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "items");
    envelope(
        post_json(
            &api,
            &auth,
            "/api/v2/patients/bulk",
            r#"{"items":[]}"#.into(),
            None,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn bulk_items_share_the_idempotency_keys_of_single_requests() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let body = reference_new_patient().to_string();
    // A single request first, then a bulk item with its key and body: a replay, not a second patient.
    let single = post_json(
        &api,
        &auth,
        "/api/v1/patients",
        body.clone(),
        Some("desk-key-1"),
    )
    .await;
    assert_eq!(single.status(), 201);
    let single: Value = single.json().await.expect("json");
    let bulk =
        format!(r#"{{"items":[{{"op":"create","idempotencyKey":"desk-key-1","body":{body}}}]}}"#);
    let answer: Value = post_json(&api, &auth, "/api/v2/patients/bulk", bulk, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(answer["results"][0]["status"], 201);
    assert_eq!(answer["results"][0]["replayed"], true);
    assert_eq!(answer["results"][0]["resource"]["id"], single["id"]);
    // A bulk item first, then the single request with its key.
    let bulk =
        format!(r#"{{"items":[{{"op":"create","idempotencyKey":"desk-key-2","body":{body}}}]}}"#);
    let answer: Value = post_json(&api, &auth, "/api/v2/patients/bulk", bulk, None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(answer["results"][0]["replayed"], false);
    let again = post_json(
        &api,
        &auth,
        "/api/v1/patients",
        body.clone(),
        Some("desk-key-2"),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], answer["results"][0]["resource"]["id"]);
    let smiths = page(
        &api,
        &auth,
        "/api/v1/patients?search=jane%20smith&limit=100",
    )
    .await;
    assert_eq!(
        smiths["total"], 2,
        "two keys, two patients: nothing doubled"
    );
}

#[tokio::test]
async fn bulk_writes_cost_one_request_per_ten_items() {
    let api = Api::demo(5).await;
    let standard = bearer(&api.client_token("integration-standard").await);
    // 21 items (all refused by validation, but still work): 3 requests of the standard tier's
    // burst of 10. The test's clock does not move, so nothing refills.
    let items = json!({ "items": (0..21).map(|_| json!({ "op": "create", "body": {} })).collect::<Vec<_>>() });
    let response = post_json(
        &api,
        &standard,
        "/api/v2/patients/bulk",
        items.to_string(),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut allowed = 0;
    loop {
        let response = api.get("/api/v1/me", &standard).await;
        if response.status() == 429 {
            break;
        }
        allowed += 1;
        assert!(allowed <= 10, "the bulk request was not charged");
    }
    assert_eq!(allowed, 10 - 3);
    // A bulk whose cost exceeds what is left is refused whole, before any item runs.
    api.clock.advance(chrono::Duration::seconds(3));
    let big = json!({ "items": (0..100).map(|_| json!({ "op": "create", "body": reference_new_patient() })).collect::<Vec<_>>() });
    let refused = post_json(
        &api,
        &standard,
        "/api/v2/patients/bulk",
        big.to_string(),
        None,
    )
    .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let smiths = page(&api, &admin, "/api/v1/patients?search=jane%20smith&limit=1").await;
    assert_eq!(smiths["total"], 0, "no item ran");
}

#[tokio::test]
async fn bulk_appointments_and_payments_refuse_only_their_bad_items() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let booked = page(&api, &auth, "/api/v2/appointments?status=scheduled&limit=1").await;
    let appointment = &booked["appointments"][0];
    let id = appointment["id"].as_str().expect("id");
    let version = appointment["version"].as_i64().expect("version");
    let bulk = json!({ "items": [
        { "op": "update", "id": id, "ifMatch": version, "body": { "notes": "Bring the glucose log" } },
        { "op": "update", "id": "APPT-00000", "body": { "notes": "x" } },
        { "op": "create", "body": { "patientId": "PAT-10001" } },
    ]});
    let answer: Value = post_json(
        &api,
        &auth,
        "/api/v2/appointments/bulk",
        bulk.to_string(),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let statuses: Vec<u64> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [200, 404, 400], "{answer}");
    assert_eq!(
        page(&api, &auth, &format!("/api/v1/appointments/{id}")).await["notes"],
        "Bring the glucose log"
    );

    let open = page(&api, &auth, "/api/v2/invoices?status=open&limit=1").await;
    let invoice = &open["invoices"][0];
    let invoice_id = invoice["id"].as_str().expect("id");
    let payments = json!({ "items": [
        { "id": invoice_id, "idempotencyKey": "pay-1", "body": { "method": "Cash", "amount": 1.00 } },
        { "id": invoice_id, "body": { "method": "Cash", "amount": 1000000.00 } },
        { "body": { "method": "Cash", "amount": 1.00 } },
    ]});
    let answer: Value = post_json(
        &api,
        &auth,
        "/api/v2/invoices/payments/bulk",
        payments.to_string(),
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let statuses: Vec<u64> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses[0], 201, "{answer}");
    assert!(statuses[1] == 422 || statuses[1] == 400, "{answer}");
    assert_eq!(statuses[2], 400, "{answer}");
    assert_eq!(
        answer["results"][0]["resource"]["invoice"]["id"],
        invoice_id
    );
}

#[tokio::test]
async fn v2_mirrors_v1_single_resources_and_nested_lists() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let appointment =
        page(&api, &auth, "/api/v2/appointments?limit=1").await["appointments"][0].clone();
    let invoice = page(&api, &auth, "/api/v2/invoices?limit=1").await["invoices"][0].clone();
    let record =
        page(&api, &auth, "/api/v2/patients/PAT-10001/records?limit=1").await["records"][0].clone();
    for (v2, v1) in [
        (
            "/api/v2/patients/PAT-10001".to_owned(),
            "/api/v1/patients/PAT-10001".to_owned(),
        ),
        (
            format!(
                "/api/v2/appointments/{}",
                appointment["id"].as_str().expect("id")
            ),
            format!(
                "/api/v1/appointments/{}",
                appointment["id"].as_str().expect("id")
            ),
        ),
        (
            format!("/api/v2/invoices/{}", invoice["id"].as_str().expect("id")),
            format!("/api/v1/invoices/{}", invoice["id"].as_str().expect("id")),
        ),
        (
            format!("/api/v2/records/{}", record["id"].as_str().expect("id")),
            format!("/api/v1/records/{}", record["id"].as_str().expect("id")),
        ),
        (
            "/api/v2/providers/PROV-54321".to_owned(),
            "/api/v1/providers/PROV-54321".to_owned(),
        ),
        (
            "/api/v2/locations/LOC-789".to_owned(),
            "/api/v1/locations/LOC-789".to_owned(),
        ),
    ] {
        let a = api.get(&v2, &auth).await;
        let b = api.get(&v1, &auth).await;
        assert_eq!(a.status(), 200, "{v2}");
        assert_eq!(a.headers().get("etag"), b.headers().get("etag"), "{v2}");
        assert_eq!(
            a.json::<Value>().await.expect("json"),
            b.json::<Value>().await.expect("json"),
            "{v2}"
        );
    }
    envelope(
        api.get("/api/v2/patients/PAT-00000", &auth).await,
        404,
        "not_found",
    )
    .await;

    let patient = appointment["patientId"].as_str().expect("patient");
    let provider = appointment["providerId"].as_str().expect("provider");
    let theirs = walk(
        &api,
        &auth,
        &format!("/api/v2/patients/{patient}/appointments?"),
        "appointments",
    )
    .await;
    let v1_total = page(
        &api,
        &auth,
        &format!("/api/v1/patients/{patient}/appointments?limit=1"),
    )
    .await["total"]
        .as_u64()
        .expect("total");
    assert_eq!(theirs.len() as u64, v1_total);
    let by_provider = page(
        &api,
        &auth,
        &format!("/api/v2/providers/{provider}/appointments?limit=100"),
    )
    .await;
    assert!(by_provider["appointments"]
        .as_array()
        .expect("items")
        .iter()
        .all(|a| a["providerId"] == provider));
    let invoices = walk(
        &api,
        &auth,
        "/api/v2/patients/PAT-10001/invoices?",
        "invoices",
    )
    .await;
    let v1_invoices = page(&api, &auth, "/api/v1/patients/PAT-10001/invoices?limit=1").await
        ["total"]
        .as_u64()
        .expect("total");
    assert_eq!(invoices.len() as u64, v1_invoices);
    envelope(
        api.get("/api/v2/patients/PAT-00000/appointments", &auth)
            .await,
        404,
        "not_found",
    )
    .await;
    envelope(
        api.get("/api/v2/providers/PROV-00000/appointments", &auth)
            .await,
        404,
        "not_found",
    )
    .await;
    envelope(
        api.get("/api/v2/patients/PAT-00000/invoices", &auth).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn v2_errors_link_their_documentation_and_say_when_to_retry() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let error = envelope(
        api.get("/api/v2/patients?limit=0", &auth).await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["doc_url"], "/api/v2/errors/invalid_request");
    assert!(error.get("retry_after").is_none());
    // The page needs no credential and names the status.
    let doc = api
        .http
        .get(api.url("/api/v2/errors/invalid_request"))
        .send()
        .await
        .expect("answers");
    assert_eq!(doc.status(), 200);
    let doc: Value = doc.json().await.expect("json");
    assert_eq!(doc["status"], 400);
    assert!(doc["description"].as_str().is_some_and(|d| !d.is_empty()));
    envelope(
        api.http
            .get(api.url("/api/v2/errors/no_such_code"))
            .send()
            .await
            .expect("answers"),
        404,
        "not_found",
    )
    .await;

    // Refusals of the shared layers are improved too.
    let error = envelope(
        api.get("/api/v2/patients", "Bearer not-a-token").await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(error["doc_url"], "/api/v2/errors/unauthorized");
    let standard = bearer(&api.client_token("integration-standard").await);
    let refused = loop {
        let response = api.get("/api/v2/patients?limit=1", &standard).await;
        if response.status() == 429 {
            break response;
        }
    };
    let header: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    let error = envelope(refused, 429, "too_many_requests").await;
    assert_eq!(error["retry_after"], header);
    assert_eq!(error["doc_url"], "/api/v2/errors/too_many_requests");
    // v1 keeps the reference's envelope as it is.
    let v1 = envelope(
        api.get("/api/v1/patients?limit=0", &auth).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(v1.get("doc_url").is_none());
}

#[tokio::test]
async fn providers_and_locations_page_by_cursor_as_v1_lists_them() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    for (list, filters) in [
        (
            "providers",
            &[
                "",
                "&specialty=family%20medicine",
                "&location_id=LOC-789",
                "&available=true",
            ][..],
        ),
        ("locations", &[""][..]),
    ] {
        for filter in filters {
            let v1 = page(&api, &auth, &format!("/api/v1/{list}?limit=100{filter}")).await;
            // Pages of one, so the cursor is followed across every row.
            let v2 = walk(
                &api,
                &auth,
                &format!("/api/v2/{list}?limit=1{filter}"),
                list,
            )
            .await;
            let mut cursor = String::new();
            let mut one_by_one = Vec::new();
            loop {
                let body = page(
                    &api,
                    &auth,
                    &format!("/api/v2/{list}?limit=1{filter}&cursor={cursor}"),
                )
                .await;
                let got = ids(&body, list);
                assert!(got.len() <= 1, "{list}{filter}");
                one_by_one.extend(got);
                cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
                if body["has_more"] == false {
                    break;
                }
            }
            assert_eq!(ids(&v1, list), v2, "{list}{filter}: same rows, same order");
            assert_eq!(v2, one_by_one, "{list}{filter}");
            assert!(!v2.is_empty(), "{list}{filter}");
        }
    }
    let all_providers = walk(&api, &auth, "/api/v2/providers?limit=100", "providers").await;
    let family = walk(
        &api,
        &auth,
        "/api/v2/providers?limit=100&specialty=family%20medicine",
        "providers",
    )
    .await;
    assert!(family.len() < all_providers.len(), "the filter narrows");

    // updated_since: only what was changed (PUT) since.
    api.clock.advance(chrono::Duration::minutes(5));
    let since = api.clock.now().to_rfc3339().replace('+', "%2B");
    let none = page(
        &api,
        &auth,
        &format!("/api/v2/locations?updated_since={since}"),
    )
    .await;
    assert!(ids(&none, "locations").is_empty());
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let renamed = api
        .http
        .put(api.url("/api/v1/locations/LOC-789"))
        .header("Authorization", &admin)
        .json(&json!({"name": "Main Clinic (Health Way)"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(renamed.status(), 200);
    let changed = page(
        &api,
        &auth,
        &format!("/api/v2/locations?updated_since={since}"),
    )
    .await;
    assert_eq!(ids(&changed, "locations"), ["LOC-789"]);
    assert_eq!(changed["locations"][0]["name"], "Main Clinic (Health Way)");

    // A cursor of another list and a bad filter are refused.
    let cursor = page(&api, &auth, "/api/v2/locations?limit=1").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    envelope(
        api.get(&format!("/api/v2/providers?cursor={cursor}"), &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        api.get("/api/v2/providers?available=maybe", &auth).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn every_detail_carries_a_stable_code_listed_on_its_error_page() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let mut body = reference_new_patient();
    body["dateOfBirth"] = json!("2999-01-01");
    body["contactInfo"]["email"] = json!("not an email");
    body["firstName"] = json!("");
    let response = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", &auth)
        .json(&body)
        .send()
        .await
        .expect("answers");
    let error = envelope(response, 400, "invalid_request").await;
    let codes = |error: &Value| -> Vec<(String, String)> {
        error["details"]
            .as_array()
            .expect("details")
            .iter()
            .map(|d| {
                (
                    d["field"].as_str().expect("field").to_owned(),
                    d["code"]
                        .as_str()
                        .expect("every detail has a code")
                        .to_owned(),
                )
            })
            .collect()
    };
    let mut got = codes(&error);
    got.sort();
    assert_eq!(
        got,
        [
            ("contactInfo.email".to_owned(), "invalid_email".to_owned()),
            ("dateOfBirth".to_owned(), "date_in_future".to_owned()),
            ("firstName".to_owned(), "required".to_owned()),
        ]
    );
    // v2's query problems too, one code per kind.
    let error = envelope(
        api.get(
            "/api/v2/appointments?limit=0&cursor=nope&status=done&start_date=May&updated_since=x",
            &auth,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    let mut got = codes(&error);
    got.sort();
    assert_eq!(
        got,
        [
            ("cursor".to_owned(), "invalid_cursor".to_owned()),
            ("limit".to_owned(), "out_of_range".to_owned()),
            ("start_date".to_owned(), "invalid_date".to_owned()),
            ("status".to_owned(), "not_one_of".to_owned()),
            ("updated_since".to_owned(), "invalid_instant".to_owned()),
        ]
    );
    // A stale If-Match: version_mismatch (409), in the bulk answer's item too.
    let patient = page(&api, &auth, "/api/v2/patients?limit=1").await["patients"][0].clone();
    let id = patient["id"].as_str().expect("id").to_owned();
    let stale = api
        .http
        .put(api.url(&format!("/api/v1/patients/{id}")))
        .header("Authorization", &auth)
        .header("If-Match", "\"999\"")
        .json(&json!({"preferredLanguage": "fr"}))
        .send()
        .await
        .expect("answers");
    let error = envelope(stale, 409, "conflict").await;
    assert_eq!(
        codes(&error),
        [("If-Match".to_owned(), "version_mismatch".to_owned())]
    );

    // The error page lists every code a detail may carry, with its meaning.
    let doc: Value = api
        .http
        .get(api.url("/api/v2/errors/invalid_request"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let listed: Vec<&str> = doc["detail_codes"]
        .as_array()
        .expect("detail codes")
        .iter()
        .map(|d| d["code"].as_str().expect("code"))
        .collect();
    for code in [
        "invalid_email",
        "date_in_future",
        "required",
        "invalid_cursor",
        "out_of_range",
        "invalid_date",
        "not_one_of",
        "invalid_instant",
        "version_mismatch",
    ] {
        assert!(listed.contains(&code), "{code} not on the page");
    }
    let not_found: Value = api
        .http
        .get(api.url("/api/v2/errors/not_found"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert!(not_found.get("detail_codes").is_none());
}

async fn register_patient(api: &Api, auth: &str, body: &Value) -> Value {
    let response = api
        .http
        .post(api.url("/api/v1/patients"))
        .header("Authorization", auth)
        .json(body)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 201);
    response.json().await.expect("json")
}

fn first_id(body: &Value) -> Option<&str> {
    body["patients"][0]["id"].as_str()
}

#[tokio::test]
async fn search_finds_patients_by_name_with_typos_phone_birth_date_and_mrn() {
    let api = Api::demo(200).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    api.clock.advance(chrono::Duration::minutes(10));
    let before = api.clock.now().to_rfc3339().replace('+', "%2B");
    let mut body = reference_new_patient();
    body["firstName"] = json!("Zebulon");
    body["lastName"] = json!("Quackenbush");
    body["dateOfBirth"] = json!("1961-02-03");
    body["contactInfo"]["phone"] = json!("555-010-7777");
    let zeb = register_patient(&api, &auth, &body).await;
    let id = zeb["id"].as_str().expect("id").to_owned();
    let mrn = zeb["mrn"].as_str().expect("mrn").to_owned();

    let search = |q: &str| format!("/api/v2/patients?q={q}&limit=100");
    let exact = page(&api, &auth, &search("zebulon%20quackenbush")).await;
    assert_eq!(first_id(&exact), Some(id.as_str()));
    assert_eq!(exact["scores"][0], 1.0);
    // Two typos in the last name, one swap in the first, the words in another order.
    let typos = page(&api, &auth, &search("quakenbush%20zebluon")).await;
    assert_eq!(first_id(&typos), Some(id.as_str()), "{typos}");
    let typo_score = typos["scores"][0].as_f64().expect("score");
    assert!(typo_score < 1.0 && typo_score > 0.5, "{typo_score}");
    // A phone in another format, its last digits, the birth date in a US format, the MRN.
    let phone = page(&api, &auth, &search("(555)%20010%207777")).await;
    assert_eq!(first_id(&phone), Some(id.as_str()));
    let tail = page(&api, &auth, &search("0107777")).await;
    assert!(ids(&tail, "patients").contains(&id));
    let birth = page(&api, &auth, &search("02/03/1961")).await;
    assert!(ids(&birth, "patients").contains(&id));
    let by_mrn = page(&api, &auth, &search(&mrn)).await;
    assert_eq!(first_id(&by_mrn), Some(id.as_str()));
    assert_eq!(by_mrn["scores"][0], 2.0);
    // Nobody: an empty page.
    let none = page(&api, &auth, &search("xqzvwk")).await;
    assert!(ids(&none, "patients").is_empty());
    assert_eq!(none["has_more"], false);

    // Filters: status, updated_since, provider seen.
    let inactive = page(
        &api,
        &auth,
        &format!("{}&status=inactive", search("quackenbush")),
    )
    .await;
    assert!(!ids(&inactive, "patients").contains(&id));
    let since = page(
        &api,
        &auth,
        &format!("{}&updated_since={before}", search("quackenbush")),
    )
    .await;
    assert_eq!(ids(&since, "patients"), std::slice::from_ref(&id));
    api.clock.advance(chrono::Duration::minutes(10));
    let later = api.clock.now().to_rfc3339().replace('+', "%2B");
    let after = page(
        &api,
        &auth,
        &format!("{}&updated_since={later}", search("quackenbush")),
    )
    .await;
    assert!(ids(&after, "patients").is_empty());
    // A change after the first search is seen by the next (the index refreshes).
    let renamed = api
        .http
        .put(api.url(&format!("/api/v1/patients/{id}")))
        .header("Authorization", &auth)
        .json(&json!({"lastName": "Quackenbusch"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(renamed.status(), 200);
    let again = page(&api, &auth, &search("quackenbusch")).await;
    assert_eq!(first_id(&again), Some(id.as_str()));
    assert_eq!(again["scores"][0], 1.0);

    let completed = page(
        &api,
        &auth,
        "/api/v1/appointments?status=completed&limit=100&provider_id=PROV-54321",
    )
    .await;
    let seen: HashSet<String> = completed["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .map(|a| a["patientId"].as_str().expect("patient").to_owned())
        .collect();
    let someone = seen
        .iter()
        .next()
        .expect("the demo's provider has seen patients");
    let patient = page(&api, &auth, &format!("/api/v1/patients/{someone}")).await;
    let last_name = patient["lastName"].as_str().expect("name").to_lowercase();
    let all = page(&api, &auth, &search(&last_name)).await;
    let by_provider = page(
        &api,
        &auth,
        &format!("{}&provider_id=PROV-54321", search(&last_name)),
    )
    .await;
    let all_ids = ids(&all, "patients");
    let provider_ids = ids(&by_provider, "patients");
    assert!(provider_ids.contains(someone));
    assert!(provider_ids.iter().all(|p| all_ids.contains(p)));
    let zeb_seen = page(
        &api,
        &auth,
        &format!("{}&provider_id=PROV-54321", search("quackenbusch")),
    )
    .await;
    assert!(
        ids(&zeb_seen, "patients").is_empty(),
        "never seen by anyone"
    );

    // Refusals.
    for bad in [
        "/api/v2/patients?q=smith&provider_id=PROV-0",
        "/api/v2/patients?q=smith&cursor=bm9wZQ",
        "/api/v2/patients?provider_id=PROV-54321",
    ] {
        let error = envelope(api.get(bad, &auth).await, 400, "invalid_request").await;
        assert!(error["details"][0]["code"].is_string(), "{bad}: {error}");
    }
}

#[tokio::test]
async fn search_pages_its_ranking_by_cursor_without_repeating_anyone() {
    let api = Api::demo(300).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let whole = page(&api, &auth, "/api/v2/patients?q=ma&limit=100").await;
    let whole_ids = ids(&whole, "patients");
    assert!(whole_ids.len() > 15, "enough to page: {}", whole_ids.len());
    let scores: Vec<f64> = whole["scores"]
        .as_array()
        .expect("scores")
        .iter()
        .map(|s| s.as_f64().expect("number"))
        .collect();
    assert_eq!(scores.len(), whole_ids.len());
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {scores:?}"
    );

    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut added = 0;
    loop {
        let body = page(
            &api,
            &auth,
            &format!("/api/v2/patients?q=ma&limit=7&cursor={cursor}"),
        )
        .await;
        seen.extend(ids(&body, "patients"));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        // Someone registers a matching patient between pages.
        let mut newcomer = reference_new_patient();
        newcomer["firstName"] = json!("Mabel");
        newcomer["contactInfo"]["email"] = json!(format!("mabel{added}@example.com"));
        register_patient(&api, &admin, &newcomer).await;
        added += 1;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nobody twice");
    for id in &whole_ids {
        assert!(unique.contains(id), "{id} was not lost");
    }
    assert!(added > 0);
}

#[tokio::test]
async fn the_waitlist_pages_by_cursor_with_v1s_filters() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let patients = page(&api, &auth, "/api/v2/patients?limit=6&status=active").await;
    let patient_ids = ids(&patients, "patients");
    let mut added = Vec::new();
    for (i, patient) in patient_ids.iter().enumerate() {
        let providers = match i % 3 {
            0 => json!(["PROV-54321"]),
            1 => json!([]),
            _ => json!(["PROV-54328"]),
        };
        let response = api
            .http
            .post(api.url("/api/v1/waitlist"))
            .header("Authorization", &auth)
            .json(&json!({"patientId": patient, "type": "follow-up",
                          "preferences": {"providerIds": providers}}))
            .send()
            .await
            .expect("answers");
        assert_eq!(
            response.status(),
            201,
            "{}",
            response.text().await.unwrap_or_default()
        );
        let entry: Value = response.json().await.expect("json");
        added.push(entry["id"].as_str().expect("id").to_owned());
    }
    for filter in [
        "",
        "&provider_id=PROV-54321",
        "&status=waiting",
        "&status=booked",
    ] {
        let v1 = page(&api, &auth, &format!("/api/v1/waitlist?limit=100{filter}")).await;
        let v2 = walk(
            &api,
            &auth,
            &format!("/api/v2/waitlist?limit=2{filter}"),
            "entries",
        )
        .await;
        assert_eq!(ids(&v1, "entries"), v2, "{filter}");
    }
    let all = walk(&api, &auth, "/api/v2/waitlist?limit=2", "entries").await;
    assert_eq!(all, added, "in the order they were added");
    let for_provider = walk(
        &api,
        &auth,
        "/api/v2/waitlist?limit=100&provider_id=PROV-54321",
        "entries",
    )
    .await;
    assert_eq!(
        for_provider.len(),
        4,
        "naming the provider or taking anyone"
    );
    envelope(
        api.get("/api/v2/waitlist?status=someday", &auth).await,
        400,
        "invalid_request",
    )
    .await;
}

/// The names of a page of appointment types.
fn names(page: &Value) -> Vec<String> {
    page["appointmentTypes"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn the_appointment_type_catalogue_pages_by_cursor_while_it_grows() {
    use practice_studio::model::AppointmentType;
    let dir = tempfile::tempdir().expect("tempdir");
    let (database, _pg) = support::database_in(dir.path(), "ps.db").await;
    let server = practice_studio_server::Server::builder()
        .demo(true)
        .demo_patients(5)
        .storage(database.clone())
        .start()
        .await
        .expect("server");
    // A second handle on the same database adds types while the client pages, as another
    // process of the practice (or another instance) would.
    let other = database.open().await.expect("opens");
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "integration-premium"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let auth = bearer(token["access_token"].as_str().expect("token"));
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", server.url()))
            .header("Authorization", &auth);
        async move {
            let response = request.send().await.expect("answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (_, v1) = get("/api/v1/appointment-types".into()).await;
    let before: Vec<String> = v1["appointmentTypes"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(before.len() >= 3, "the demo catalogue");
    let mut seen = Vec::new();
    let mut added = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) =
            get(format!("/api/v2/appointment-types?limit=2&cursor={cursor}")).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(names(&body));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        let kind = AppointmentType {
            name: format!("Added type {}", added.len()),
            default_duration: 20,
            colour: "#336699".into(),
        };
        other.insert_appointment_type(&kind).await.expect("insert");
        added.push(kind.name);
    }
    assert!(!added.is_empty());
    let expected: Vec<String> = before.iter().chain(&added).cloned().collect();
    assert_eq!(seen, expected, "every type once, in the order added");
    // The kept cursor reads only what is added later.
    let (_, empty) = get(format!("/api/v2/appointment-types?cursor={cursor}")).await;
    assert!(names(&empty).is_empty());
    assert_eq!(empty["next_cursor"], cursor.as_str());
    let late = AppointmentType {
        name: "Late type".into(),
        default_duration: 45,
        colour: "#993366".into(),
    };
    other.insert_appointment_type(&late).await.expect("insert");
    let (_, after) = get(format!("/api/v2/appointment-types?cursor={cursor}")).await;
    assert_eq!(names(&after), ["Late type"]);
    assert_eq!(after["appointmentTypes"][0]["defaultDuration"], 45);
    // The catalogue has no change time: updated_since is refused, not ignored.
    let (status, refused) = get("/api/v2/appointment-types?updated_since=2026-01-01".into()).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["details"][0]["field"], "updated_since");
    assert_eq!(refused["error"]["details"][0]["code"], "unknown_parameter");
}

/// The start instants of a page of slots.
fn starts(page: &Value) -> Vec<String> {
    page["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["startTime"].as_str().expect("start").to_owned())
        .collect()
}

#[tokio::test]
async fn slots_page_by_start_instant_while_others_book() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let patients = ids(
        &page(&api, &auth, "/api/v2/patients?limit=20&status=active").await,
        "patients",
    );
    // Beyond the demo book (60 days ahead), so the days are open.
    let span = "date_from=2027-02-01&date_to=2027-02-03&duration=30&location_id=LOC-789";
    let v1_path = format!("/api/v1/providers/PROV-54321/slots?{span}");
    let before = starts(&page(&api, &auth, &v1_path).await);
    assert!(before.len() > 30, "enough slots to page: {}", before.len());
    let mut seen: Vec<String> = Vec::new();
    let mut booked = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = page(
            &api,
            &auth,
            &format!("/api/v2/providers/PROV-54321/slots?{span}&limit=7&cursor={cursor}"),
        )
        .await;
        assert_eq!(body["providerId"], "PROV-54321");
        assert_eq!(body["duration"], 30);
        seen.extend(starts(&body));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        // Someone books a slot a little after the last one sent (its neighbours, which it
        // overlaps, are after the cursor too).
        let now_free = starts(&page(&api, &auth, &v1_path).await);
        let last = seen.last().expect("a slot").clone();
        let Some(target) = now_free.iter().filter(|s| **s > last).nth(3).cloned() else {
            continue;
        };
        let start = chrono::DateTime::parse_from_rfc3339(&target).expect("instant");
        let response = api
            .http
            .post(api.url("/api/v1/appointments"))
            .header("Authorization", &auth)
            .json(&json!({
                "patientId": patients[booked.len() % patients.len()],
                "providerId": "PROV-54321", "locationId": "LOC-789",
                "startTime": start.to_rfc3339(),
                "endTime": (start + chrono::Duration::minutes(30)).to_rfc3339(),
                "type": "Follow-up", "reason": "Paging test"
            }))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 201, "{target}");
        booked.push(target);
    }
    assert!(
        booked.len() >= 3,
        "bookings between pages: {}",
        booked.len()
    );
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "in start order, none twice");
    // Exactly the slots free now: none lost, none taken meanwhile offered.
    let after = starts(&page(&api, &auth, &v1_path).await);
    assert_eq!(seen, after);
    for target in &booked {
        assert!(
            !seen.contains(target),
            "{target} was booked before its page"
        );
        assert!(before.contains(target));
    }
    // The kept cursor: nothing after the last slot; a bad cursor and updated_since are refused.
    let end = page(
        &api,
        &auth,
        &format!("/api/v2/providers/PROV-54321/slots?{span}&cursor={cursor}"),
    )
    .await;
    assert!(starts(&end).is_empty());
    assert_eq!(end["has_more"], false);
    let entries_cursor = page(&api, &auth, "/api/v2/waitlist?limit=1").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    for bad in [
        format!("cursor={entries_cursor}"),
        "updated_since=2026-11-01".to_owned(),
        "limit=0".to_owned(),
    ] {
        envelope(
            api.get(
                &format!("/api/v2/providers/PROV-54321/slots?{span}&{bad}"),
                &auth,
            )
            .await,
            400,
            "invalid_request",
        )
        .await;
    }
    // v1's own checks still apply.
    envelope(
        api.get(
            "/api/v2/providers/PROV-54321/slots?date_from=2026-12-01",
            &auth,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        api.get(
            "/api/v2/providers/NOPE/slots?date_from=2026-12-01&date_to=2026-12-02",
            &auth,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

async fn subscribe(api: &Api, auth: &str, n: usize) -> String {
    let response = api
        .http
        .post(api.url("/api/v1/webhooks"))
        .header("Authorization", auth)
        .json(
            &json!({"url": format!("http://127.0.0.1:9/hook/{n}"), "events": ["patient.created"]}),
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn webhooks_page_by_cursor_while_others_subscribe_and_unsubscribe() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let mut present: Vec<String> = Vec::new();
    for n in 0..5 {
        present.push(subscribe(&api, &auth, n).await);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut n = 5;
    loop {
        let body = page(
            &api,
            &auth,
            &format!("/api/v2/webhooks?limit=2&cursor={cursor}"),
        )
        .await;
        assert!(body["webhooks"][0].get("secret").is_none(), "{body}");
        seen.extend(ids(&body, "webhooks"));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        if n > 9 {
            continue;
        }
        // The newest subscription goes and another comes: the newcomer must not take the
        // place the cursor already passed.
        let newest = present.pop().expect("one");
        let gone = api
            .http
            .delete(api.url(&format!("/api/v1/webhooks/{newest}")))
            .header("Authorization", &auth)
            .send()
            .await
            .expect("answers");
        assert_eq!(gone.status(), 204);
        present.push(subscribe(&api, &auth, n).await);
        n += 1;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "none twice");
    for id in &present {
        assert!(unique.contains(id), "{id} was seen");
    }
    // The kept cursor after a deletion of the newest: the next one is still found.
    let newest = present.pop().expect("one");
    api.http
        .delete(api.url(&format!("/api/v1/webhooks/{newest}")))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("answers");
    let late = subscribe(&api, &auth, 99).await;
    let after = page(&api, &auth, &format!("/api/v2/webhooks?cursor={cursor}")).await;
    assert_eq!(ids(&after, "webhooks"), [late.as_str()]);
    // v1 and v2 list the same subscriptions; the single read mirrors v1's.
    let v1 = page(&api, &auth, "/api/v1/webhooks").await;
    let v2 = walk(&api, &auth, "/api/v2/webhooks?limit=3", "webhooks").await;
    let mut v1_ids = ids(&v1, "webhooks");
    let mut v2_sorted = v2.clone();
    v1_ids.sort();
    v2_sorted.sort();
    assert_eq!(v1_ids, v2_sorted);
    assert_eq!(
        page(&api, &auth, &format!("/api/v2/webhooks/{late}")).await,
        page(&api, &auth, &format!("/api/v1/webhooks/{late}")).await
    );
    // Another caller sees none of them; no change time, so updated_since is refused.
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let theirs = page(&api, &admin, "/api/v2/webhooks").await;
    assert!(ids(&theirs, "webhooks").is_empty());
    envelope(
        api.get(&format!("/api/v2/webhooks/{late}"), &admin).await,
        404,
        "not_found",
    )
    .await;
    envelope(
        api.get("/api/v2/webhooks?updated_since=2026-01-01", &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
}

/// The event ids of a page of deliveries.
fn event_ids(page: &Value) -> Vec<String> {
    page["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["eventId"].as_str().expect("event id").to_owned())
        .collect()
}

/// Waits (bounded) until the webhook has made `count` deliveries.
async fn deliveries_made(api: &Api, auth: &str, webhook: &str, count: usize) {
    for _ in 0..1200 {
        let v1 = page(
            api,
            auth,
            &format!("/api/v1/webhooks/{webhook}/deliveries?limit=100"),
        )
        .await;
        if event_ids(&v1).len() >= count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{count} deliveries were not made");
}

#[tokio::test]
async fn deliveries_page_by_cursor_while_events_keep_coming() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.client_token("integration-premium").await);
    let registrar = bearer(&api.user_token("reception@demo.clinic").await);
    let webhook = subscribe(&api, &auth, 0).await;
    let mut registered = 0;
    for _ in 0..5 {
        register(&api, &registrar, registered).await;
        registered += 1;
    }
    deliveries_made(&api, &auth, &webhook, registered).await;
    let path = format!("/api/v2/webhooks/{webhook}/deliveries");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = page(&api, &auth, &format!("{path}?limit=2&cursor={cursor}")).await;
        seen.extend(event_ids(&body));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        // More events, and so more deliveries, between two pages.
        register(&api, &registrar, registered).await;
        registered += 1;
        deliveries_made(&api, &auth, &webhook, registered).await;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "none twice");
    assert_eq!(seen.len(), registered, "every delivery, the later ones too");
    // Oldest first: v1's latest-first list reversed.
    let v1 = page(
        &api,
        &auth,
        &format!("/api/v1/webhooks/{webhook}/deliveries?limit=100"),
    )
    .await;
    let mut latest_first = event_ids(&v1);
    latest_first.reverse();
    assert_eq!(seen, latest_first);
    // The kept cursor reads the deliveries made since.
    register(&api, &registrar, registered).await;
    deliveries_made(&api, &auth, &webhook, registered + 1).await;
    let after = page(&api, &auth, &format!("{path}?cursor={cursor}")).await;
    assert_eq!(event_ids(&after).len(), 1);
    // Someone else's webhook is not found; no change time, so updated_since is refused.
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    envelope(api.get(&path, &admin).await, 404, "not_found").await;
    envelope(
        api.get(&format!("{path}?updated_since=2026-01-01"), &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
}

fn candidate_ids(page: &Value) -> Vec<String> {
    page["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["entry"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn waitlist_candidates_page_best_first_while_others_join() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token("reception@demo.clinic").await);
    let patients = ids(
        &page(&api, &auth, "/api/v2/patients?limit=20&status=active").await,
        "patients",
    );
    let mut joined = 0;
    let join = |named: bool, n: usize| {
        let preferences = if named {
            json!({"providerIds": ["PROV-54321"]})
        } else {
            json!({})
        };
        let request = api
            .http
            .post(api.url("/api/v1/waitlist"))
            .header("Authorization", &auth)
            .json(
                &json!({"patientId": patients[n % patients.len()], "type": "Follow-up",
                          "preferences": preferences}),
            );
        async move {
            let response = request.send().await.expect("answers");
            assert_eq!(response.status(), 201);
            let entry: Value = response.json().await.expect("json");
            entry["id"].as_str().expect("id").to_owned()
        }
    };
    for n in 0..8 {
        join(n % 2 == 0, joined).await;
        joined += 1;
        api.clock.advance(chrono::Duration::minutes(2));
    }
    // Tuesday 2 February 2027, 10:00–10:30 in Chicago.
    let slot = "provider_id=PROV-54321&location_id=LOC-789&start_time=2027-02-02T16:00:00Z&end_time=2027-02-02T16:30:00Z";
    let ranked_at_start = candidate_ids(
        &page(
            &api,
            &auth,
            &format!("/api/v1/waitlist/candidates?{slot}&limit=100"),
        )
        .await,
    );
    assert_eq!(ranked_at_start.len(), 8);
    let mut seen: Vec<String> = Vec::new();
    let mut added: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let body = page(
            &api,
            &auth,
            &format!("/api/v2/waitlist/candidates?{slot}&limit=3&cursor={cursor}"),
        )
        .await;
        assert!(body["candidates"][0]["rank"].as_u64().is_some(), "{body}");
        seen.extend(candidate_ids(&body));
        cursor = body["next_cursor"].as_str().expect("cursor").to_owned();
        if body["has_more"] == false {
            break;
        }
        // Someone who asked for this provider joins: they rank before those already sent.
        added.push(join(true, joined).await);
        joined += 1;
        api.clock.advance(chrono::Duration::minutes(2));
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "none twice");
    let expected: Vec<String> = ranked_at_start.iter().chain(&added).cloned().collect();
    assert_eq!(
        seen, expected,
        "those waiting at the start best first, then those who joined, in order"
    );
    // v1 now ranks the newcomers among the first: the cursor kept none of them from us.
    let ranked_now = candidate_ids(
        &page(
            &api,
            &auth,
            &format!("/api/v1/waitlist/candidates?{slot}&limit=100"),
        )
        .await,
    );
    assert_eq!(ranked_now.len(), expected.len());
    assert_ne!(ranked_now, expected);
    // The kept cursor reads those who join later; updated_since narrows to changed entries.
    let late = join(false, joined).await;
    let after = page(
        &api,
        &auth,
        &format!("/api/v2/waitlist/candidates?{slot}&cursor={cursor}"),
    )
    .await;
    assert_eq!(candidate_ids(&after), [late.as_str()]);
    api.clock.advance(chrono::Duration::minutes(1));
    let since = api.clock.now().to_rfc3339().replace('+', "%2B");
    let none = page(
        &api,
        &auth,
        &format!("/api/v2/waitlist/candidates?{slot}&updated_since={since}"),
    )
    .await;
    assert!(candidate_ids(&none).is_empty());
    // The single entry mirrors v1's; a cursor of another list is refused.
    assert_eq!(
        page(&api, &auth, &format!("/api/v2/waitlist/{late}")).await,
        page(&api, &auth, &format!("/api/v1/waitlist/{late}")).await
    );
    let entries_cursor = page(&api, &auth, "/api/v2/waitlist?limit=1").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    envelope(
        api.get(
            &format!("/api/v2/waitlist/candidates?{slot}&cursor={entries_cursor}"),
            &auth,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    envelope(
        api.get("/api/v2/waitlist/candidates?provider_id=PROV-54321", &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
}

/// `{id}`, `{patient_id}`, … all read as `{}`: routes and the document name parameters apart.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every `.route("/api/…"` the server's source registers (v1 and v2), by shape.
fn routes_in_source() -> HashSet<String> {
    fn visit(dir: &std::path::Path, found: &mut HashSet<String>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                visit(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read");
                for (at, _) in text.match_indices(".route(") {
                    let rest = text[at + ".route(".len()..].trim_start();
                    if let Some(literal) = rest.strip_prefix('"') {
                        let route = &literal[..literal.find('"').expect("closing quote")];
                        if route.starts_with("/api/") {
                            found.insert(shape(route));
                        }
                    }
                }
            }
        }
    }
    let mut found = HashSet::new();
    visit(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

/// A schema, following `$ref`s into the document's components.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().expect("name");
            resolved(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn ok_schema<'a>(doc: &'a Value, operation: &'a Value) -> &'a Value {
    resolved(
        doc,
        &operation["responses"]["200"]["content"]["application/json"]["schema"],
    )
}

fn parameter_names(operation: &Value) -> Vec<String> {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_v1_list_has_a_documented_cursor_paged_v2_mirror_and_every_route_is_documented() {
    let api = Api::demo(5).await;
    let doc: Value = api
        .http
        .get(api.url("/openapi.json"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let documented: HashMap<String, &String> = paths.keys().map(|p| (shape(p), p)).collect();

    // The source's routes and the document's paths are the same set.
    let source = routes_in_source();
    for route in &source {
        assert!(
            documented.contains_key(route),
            "{route} is routed but not documented"
        );
    }
    for (shaped, path) in &documented {
        if shaped.starts_with("/api/") {
            assert!(
                source.contains(shaped),
                "{path} is documented but no route serves it"
            );
        }
    }

    // Every v1 list has a v2 mirror paged by cursor, with updated_since where its items have a
    // change time; every v1 single-resource read and document has a v2 mirror.
    let mut lists = 0;
    for (path, item) in paths {
        let Some(v1) = item.get("get") else { continue };
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            continue;
        };
        let v2_shape = shape(&format!("/api/v2/{rest}"));
        let schema = ok_schema(&doc, v1);
        let single = path.ends_with('}');
        let document = !single
            && ["/pdf", "/receipt", "/download"]
                .iter()
                .any(|d| path.ends_with(d));
        // A list answers an array of resources (objects); a single resource may hold arrays.
        let list = schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|_| !single)
            .find(|(_, p)| {
                let p = resolved(&doc, p);
                p["type"] == "array" && resolved(&doc, &p["items"])["properties"].is_object()
            });
        if list.is_none() && !single && !document {
            continue; // the caller (/me), not a resource
        }
        let v2_path = documented
            .get(&v2_shape)
            .unwrap_or_else(|| panic!("{path} has no v2 mirror"));
        let v2 = &paths[v2_path.as_str()]["get"];
        assert!(v2.is_object(), "GET {v2_path}");
        let Some((name, array)) = list else { continue };
        lists += 1;
        let params = parameter_names(v2);
        for wanted in ["cursor", "limit"] {
            assert!(params.iter().any(|p| p == wanted), "{v2_path}: {wanted}");
        }
        let v2_schema = ok_schema(&doc, v2);
        for field in [name.as_str(), "next_cursor", "has_more", "limit"] {
            assert!(
                v2_schema["properties"][field].is_object(),
                "{v2_path} answers {field}"
            );
        }
        let items = resolved(&doc, &resolved(&doc, array)["items"]);
        if items["properties"]["updated"].is_object() {
            assert!(
                params.iter().any(|p| p == "updated_since"),
                "{v2_path}: its items change, so updated_since"
            );
        }
    }
    assert!(lists >= 15, "the v1 lists found: {lists}");

    // Every v1 write (creating in a collection, a change, a removal, an action on a resource)
    // has its v2 mirror; a v1 single-resource path has one whatever its methods.
    let mut writes = 0;
    for (path, item) in paths {
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            continue;
        };
        let methods: Vec<&String> = item
            .as_object()
            .expect("operations")
            .keys()
            .filter(|m| path.ends_with('}') || m.as_str() != "get")
            .collect();
        if methods.is_empty() {
            continue;
        }
        let v2_path = documented
            .get(&shape(&format!("/api/v2/{rest}")))
            .unwrap_or_else(|| panic!("{path} has no v2 mirror"));
        for method in methods {
            writes += usize::from(method != "get");
            assert!(
                paths[v2_path.as_str()][method].is_object(),
                "{method} {path} has no v2 mirror"
            );
        }
    }
    // Six creates, five PUTs, a removal and a rotation at least.
    assert!(writes >= 13, "the v1 writes found: {writes}");

    // Every documented path is routed: asked with a method no route has (so nothing is
    // changed), it is refused by its route, never answered by the fallback's 404.
    for path in paths.keys() {
        if !path.starts_with("/api/") {
            continue;
        }
        let concrete = shape(path).replace("{}", "X-1");
        let response = api
            .http
            .request(reqwest::Method::PATCH, api.url(&concrete))
            .send()
            .await
            .expect("answers");
        assert_ne!(response.status(), 404, "{path} is routed");
    }
}

#[tokio::test]
async fn v2_mirrors_the_documents_byte_for_byte() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token("admin@demo.clinic").await);
    let paid = page(&api, &auth, "/api/v1/invoices?status=paid&limit=1").await;
    let invoice = paid["invoices"][0]["id"]
        .as_str()
        .expect("a paid invoice")
        .to_owned();
    let full = page(&api, &auth, &format!("/api/v1/invoices/{invoice}")).await;
    let payment = full["payments"][0]["id"]
        .as_str()
        .expect("a payment")
        .to_owned();
    let mut attachment = None;
    for patient in ids(
        &page(&api, &auth, "/api/v1/patients?limit=40").await,
        "patients",
    ) {
        let records = page(
            &api,
            &auth,
            &format!("/api/v1/patients/{patient}/records?limit=100"),
        )
        .await;
        attachment = records["records"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["attachments"].as_array().cloned().unwrap_or_default())
            .find_map(|a| a["id"].as_str().map(str::to_owned));
        if attachment.is_some() {
            break;
        }
    }
    let attachment = attachment.expect("an attachment among 40 patients' records");
    for tail in [
        format!("invoices/{invoice}/pdf"),
        format!("payments/{payment}/receipt"),
        format!("attachments/{attachment}/download"),
    ] {
        let v1 = api.get(&format!("/api/v1/{tail}"), &auth).await;
        let v2 = api.get(&format!("/api/v2/{tail}"), &auth).await;
        assert_eq!(v1.status(), 200, "{tail}");
        assert_eq!(v2.status(), 200, "{tail}");
        let etag = v2.headers()["etag"].clone();
        assert_eq!(v1.headers()["etag"], etag, "{tail}");
        assert_eq!(v1.headers()["content-type"], v2.headers()["content-type"]);
        assert_eq!(
            v1.bytes().await.expect("bytes"),
            v2.bytes().await.expect("bytes"),
            "{tail}"
        );
        // As in v1: unchanged since the ETag, 304.
        let again = api
            .http
            .get(api.url(&format!("/api/v2/{tail}")))
            .header("Authorization", &auth)
            .header("If-None-Match", etag)
            .send()
            .await
            .expect("answers");
        assert_eq!(again.status(), 304, "{tail}");
    }
    envelope(
        api.get("/api/v2/payments/PAY-NOPE/receipt", &auth).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn v2_mirrors_v1_single_resource_writes_sharing_their_idempotency_keys() {
    let api = Api::demo(10).await;
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let patient = ids(
        &page(&api, &admin, "/api/v2/patients?limit=1").await,
        "patients",
    )[0]
    .clone();
    let put = |path: String, body: Value, headers: Vec<(&'static str, String)>| {
        let mut request = api
            .http
            .put(api.url(&path))
            .header("Authorization", &admin)
            .json(&body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let version = page(&api, &admin, &format!("/api/v1/patients/{patient}")).await["version"]
        .as_i64()
        .expect("version");
    // A change through v2 with If-Match, then a stale one refused as v1 refuses it.
    let changed = put(
        format!("/api/v2/patients/{patient}"),
        json!({"preferredLanguage": "Polish"}),
        vec![("If-Match", format!("\"{version}\""))],
    )
    .await
    .expect("answers");
    assert_eq!(changed.status(), 200);
    assert_eq!(
        changed.headers()["etag"].to_str().expect("ascii"),
        format!("\"{}\"", version + 1)
    );
    let body: Value = changed.json().await.expect("json");
    assert_eq!(body["preferredLanguage"], "Polish");
    assert_eq!(
        page(&api, &admin, &format!("/api/v1/patients/{patient}")).await,
        body
    );
    let stale = put(
        format!("/api/v2/patients/{patient}"),
        json!({"preferredLanguage": "Czech"}),
        vec![("If-Match", format!("\"{version}\""))],
    )
    .await
    .expect("answers");
    envelope(stale, 409, "conflict").await;
    // One key space: a change made on v1 with a key replays on v2 instead of running again.
    let key = vec![("Idempotency-Key", "v2-mirror-key-1".to_owned())];
    let first = api
        .http
        .put(api.url(&format!("/api/v1/patients/{patient}")))
        .header("Authorization", &admin)
        .header("Idempotency-Key", "v2-mirror-key-1")
        .json(&json!({"preferredLanguage": "German"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    let replayed = put(
        format!("/api/v2/patients/{patient}"),
        json!({"preferredLanguage": "German"}),
        key,
    )
    .await
    .expect("answers");
    assert_eq!(replayed.status(), 200);
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.expect("json"), first);
    assert_eq!(
        page(&api, &admin, &format!("/api/v1/patients/{patient}")).await["version"],
        version + 2,
        "applied once"
    );
    // A location renamed through v2; a webhook's secret rotated and the webhook removed.
    let renamed = put(
        "/api/v2/locations/LOC-789".to_owned(),
        json!({"name": "Main Clinic (v2)"}),
        vec![],
    )
    .await
    .expect("answers");
    assert_eq!(renamed.status(), 200);
    assert_eq!(
        page(&api, &admin, "/api/v1/locations/LOC-789").await["name"],
        "Main Clinic (v2)"
    );
    let hook = subscribe(&api, &admin, 1).await;
    let rotated = api
        .http
        .post(api.url(&format!("/api/v2/webhooks/{hook}/rotate-secret")))
        .header("Authorization", &admin)
        .send()
        .await
        .expect("answers");
    assert_eq!(rotated.status(), 200);
    let secret: Value = rotated.json().await.expect("json");
    assert!(secret["secret"].as_str().is_some_and(|s| !s.is_empty()));
    let gone = api
        .http
        .delete(api.url(&format!("/api/v2/webhooks/{hook}")))
        .header("Authorization", &admin)
        .send()
        .await
        .expect("answers");
    assert_eq!(gone.status(), 204);
    envelope(
        api.get(&format!("/api/v1/webhooks/{hook}"), &admin).await,
        404,
        "not_found",
    )
    .await;
    // The scopes are v1's: reception may not change a location.
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let refused = api
        .http
        .put(api.url("/api/v2/locations/LOC-789"))
        .header("Authorization", &reception)
        .json(&json!({"name": "Nope"}))
        .send()
        .await
        .expect("answers");
    envelope(refused, 403, "forbidden").await;
}

#[tokio::test]
async fn v2_mirrors_v1_creates_sharing_their_idempotency_keys() {
    let api = Api::demo(10).await;
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let created = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body: Value = response.json().await.expect("json");
        (location, body)
    };

    // A patient registered on v2 is the one v1 reads; its key replays on v1 (one key space).
    let mut newcomer = reference_new_patient();
    newcomer["lastName"] = json!("Vtwocreated");
    let (location, patient) = created(
        post_json(
            &api,
            &admin,
            "/api/v2/patients",
            newcomer.to_string(),
            Some("v2-create-patient"),
        )
        .await,
    )
    .await;
    let patient_id = patient["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/api/v1/patients/{patient_id}"));
    assert_eq!(page(&api, &admin, &location).await, patient);
    let replayed = post_json(
        &api,
        &admin,
        "/api/v1/patients",
        newcomer.to_string(),
        Some("v2-create-patient"),
    )
    .await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.expect("json"), patient);
    let found = page(&api, &admin, "/api/v1/patients?search=Vtwocreated").await;
    assert_eq!(found["total"], 1, "created once: {found}");

    // An appointment in an open slot (beyond the demo book), then the same slot again: v1's clash.
    let slots = page(
        &api,
        &admin,
        "/api/v1/providers/PROV-54321/slots?date_from=2027-02-01&date_to=2027-02-01&duration=30&location_id=LOC-789",
    )
    .await;
    let start = slots["slots"][0]["startTime"].as_str().expect("a slot");
    let start = chrono::DateTime::parse_from_rfc3339(start).expect("instant");
    let booking = json!({
        "patientId": patient_id, "providerId": "PROV-54321", "locationId": "LOC-789",
        "startTime": start.to_rfc3339(),
        "endTime": (start + chrono::Duration::minutes(30)).to_rfc3339(),
        "type": "Follow-up", "reason": "Booked through v2"
    });
    let (location, appointment) = created(
        post_json(
            &api,
            &admin,
            "/api/v2/appointments",
            booking.to_string(),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page(&api, &admin, &location).await, appointment);
    envelope(
        post_json(
            &api,
            &admin,
            "/api/v2/appointments",
            booking.to_string(),
            None,
        )
        .await,
        409,
        "conflict",
    )
    .await;

    // A record, a payment, a waitlist entry and a subscription.
    let record = json!({
        "providerId": "PROV-54321", "type": "Progress Note", "title": "Seen through v2",
        "content": { "subjective": "Feels well.", "objective": "BP 118/76.",
                     "assessment": "Stable.", "plan": "Review in a year." }
    });
    let (location, record) = created(
        post_json(
            &api,
            &admin,
            &format!("/api/v2/patients/{patient_id}/records"),
            record.to_string(),
            Some("v2-create-record"),
        )
        .await,
    )
    .await;
    assert_eq!(
        page(&api, &admin, &location).await["title"],
        "Seen through v2"
    );
    assert_eq!(record["patientId"], patient_id.as_str());

    let open = page(&api, &admin, "/api/v2/invoices?status=open&limit=1").await;
    let invoice = open["invoices"][0]["id"].as_str().expect("an open invoice");
    let payment = json!({ "method": "Cash", "amount": 1.00 });
    let path = format!("/api/v2/invoices/{invoice}/payments");
    let (_, paid) = created(
        post_json(
            &api,
            &admin,
            &path,
            payment.to_string(),
            Some("v2-create-pay"),
        )
        .await,
    )
    .await;
    let again = post_json(
        &api,
        &admin,
        &format!("/api/v1/invoices/{invoice}/payments"),
        payment.to_string(),
        Some("v2-create-pay"),
    )
    .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.expect("json"), paid);
    envelope(
        post_json(
            &api,
            &admin,
            &path,
            json!({ "method": "Cash", "amount": 1000000.00 }).to_string(),
            None,
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;

    let (location, entry) = created(
        post_json(
            &api,
            &admin,
            "/api/v2/waitlist",
            json!({ "patientId": patient_id, "type": "follow-up", "reason": "Sooner" }).to_string(),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(page(&api, &admin, &location).await, entry);

    let (_, hook) = created(
        post_json(
            &api,
            &admin,
            "/api/v2/webhooks",
            json!({"url": "http://127.0.0.1:9/hook/v2", "events": ["patient.created"]}).to_string(),
            None,
        )
        .await,
    )
    .await;
    assert!(hook["secret"].as_str().is_some_and(|s| !s.is_empty()));
    let hook_id = hook["id"].as_str().expect("id");
    assert_eq!(
        page(&api, &admin, &format!("/api/v1/webhooks/{hook_id}")).await["url"],
        "http://127.0.0.1:9/hook/v2"
    );

    // The scopes are v1's: reception may not subscribe, nor add a record.
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    envelope(
        post_json(
            &api,
            &reception,
            "/api/v2/webhooks",
            json!({"url": "http://127.0.0.1:9/hook/no", "events": ["patient.created"]}).to_string(),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}
