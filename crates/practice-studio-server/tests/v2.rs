//! The v2 beta's cursor-paged lists against the real server on loopback: every row once while
//! others write, the cursor kept to read only what was added, filters as in v1, refusals.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::HashSet;

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
