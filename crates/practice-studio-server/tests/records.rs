//! Medical records and attachments against the real server on loopback: every route, filter,
//! page, scope and 404, the reference's record shape with every link resolving, attachment bytes
//! matching their record, and idempotent record creation.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::{bearer, envelope, Api};

const CLINICIAN: &str = "clinician@demo.clinic";

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "{:?}", response.url().path());
    response.json().await.expect("json")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// Every record of a patient, through pages of `limit`.
async fn all_records(api: &Api, auth: &str, patient: &str, limit: u32) -> Vec<Value> {
    let mut records = Vec::new();
    loop {
        let page = json_of(
            api.get(
                &format!(
                    "/api/v1/patients/{patient}/records?limit={limit}&offset={}",
                    records.len()
                ),
                auth,
            )
            .await,
        )
        .await;
        let items = page["records"].as_array().expect("records").clone();
        let total = page["total"].as_u64().expect("total") as usize;
        let done = items.is_empty();
        records.extend(items);
        if done || records.len() >= total {
            assert_eq!(records.len(), total);
            return records;
        }
    }
}

/// The first patient (in id order) whose records satisfy `wanted`.
async fn patient_where(
    api: &Api,
    auth: &str,
    wanted: impl Fn(&[Value]) -> bool,
) -> (String, Vec<Value>) {
    for n in 10_001..10_060 {
        let id = format!("PAT-{n}");
        let records = all_records(api, auth, &id, 100).await;
        if wanted(&records) {
            return (id, records);
        }
    }
    panic!("no demo patient fits");
}

#[tokio::test]
async fn records_have_the_reference_shape_and_every_link_resolves() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    let (patient, records) = patient_where(&api, &auth, |r| {
        r.len() >= 2
            && r.iter()
                .any(|x| !x["attachments"].as_array().expect("array").is_empty())
    })
    .await;
    let page = json_of(
        api.get(&format!("/api/v1/patients/{patient}/records"), &auth)
            .await,
    )
    .await;
    assert_eq!(keys(&page), set(&["total", "limit", "offset", "records"]));
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    for record in &records {
        assert_eq!(
            keys(record),
            set(&[
                "id",
                "patientId",
                "providerId",
                "type",
                "date",
                "title",
                "content",
                "attachments",
                "_links"
            ])
        );
        assert_eq!(record["patientId"], patient.as_str());
        assert_eq!(
            keys(&record["content"]),
            set(&["subjective", "objective", "assessment", "plan"])
        );
        assert_eq!(
            keys(&record["_links"]),
            set(&["self", "patient", "provider"])
        );
        for link in ["self", "patient", "provider"] {
            let href = record["_links"][link]["href"].as_str().expect("href");
            assert_eq!(api.get(href, &auth).await.status(), 200, "{href}");
        }
        let self_href = record["_links"]["self"]["href"].as_str().expect("href");
        let response = api.get(self_href, &auth).await;
        let etag = response.headers()["etag"]
            .to_str()
            .expect("etag")
            .to_owned();
        let by_self = json_of(response).await;
        assert_eq!(&by_self, record, "the detail is the list item");
        let cached = api
            .http
            .get(api.url(self_href))
            .header("Authorization", &auth)
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("answers");
        assert_eq!(cached.status(), 304);
        for attachment in record["attachments"].as_array().expect("array") {
            assert_eq!(
                keys(attachment),
                set(&[
                    "id",
                    "filename",
                    "contentType",
                    "size",
                    "uploadedAt",
                    "_links"
                ])
            );
            let href = attachment["_links"]["download"]["href"]
                .as_str()
                .expect("href");
            assert_eq!(
                href,
                format!(
                    "/api/v1/attachments/{}/download",
                    attachment["id"].as_str().expect("id")
                )
            );
            assert_eq!(api.get(href, &auth).await.status(), 200);
        }
    }
    // Newest first.
    let dates: Vec<&str> = records
        .iter()
        .map(|r| r["date"].as_str().expect("date"))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
}

#[tokio::test]
async fn records_page_and_filter_by_type_and_date() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    let (patient, records) = patient_where(&api, &auth, |r| {
        r.len() >= 4
            && r.iter()
                .map(|x| x["type"].as_str().unwrap_or(""))
                .collect::<BTreeSet<_>>()
                .len()
                >= 2
    })
    .await;
    // Pages of one give the same records in the same order.
    let by_ones = all_records(&api, &auth, &patient, 1).await;
    assert_eq!(by_ones, records);
    let second = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?limit=1&offset=1"),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(second["records"][0], records[1]);
    assert_eq!(second["total"], records.len());
    let beyond = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?offset=1000"),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(beyond["records"], json!([]));
    assert_eq!(beyond["total"], records.len());

    // type, any case.
    let kind = records[0]["type"].as_str().expect("type");
    let expected: Vec<&Value> = records.iter().filter(|r| r["type"] == kind).collect();
    let query = kind.to_uppercase().replace(' ', "%20");
    let typed = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?type={query}"),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(typed["total"], expected.len());
    assert_eq!(
        typed["records"]
            .as_array()
            .expect("array")
            .iter()
            .collect::<Vec<_>>(),
        expected
    );
    let none = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?type=Nonexistent"),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(none["total"], 0);

    // from_date and to_date are whole UTC days, inclusive; instants work too.
    let oldest = records.last().expect("a record");
    let newest = &records[0];
    let day = |r: &Value| r["date"].as_str().expect("date")[..10].to_owned();
    let on_newest_day = records.iter().filter(|r| day(r) == day(newest)).count();
    let from = json_of(
        api.get(
            &format!(
                "/api/v1/patients/{patient}/records?from_date={}",
                day(newest)
            ),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(from["total"], on_newest_day);
    let on_oldest_day = records.iter().filter(|r| day(r) == day(oldest)).count();
    let to = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?to_date={}", day(oldest)),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(to["total"], on_oldest_day);
    let both = json_of(
        api.get(
            &format!(
                "/api/v1/patients/{patient}/records?from_date={}&to_date={}",
                day(oldest),
                day(newest)
            ),
            &auth,
        )
        .await,
    )
    .await;
    assert_eq!(both["total"], records.len());
    let instant = newest["date"].as_str().expect("date");
    let exact = json_of(
        api.get(
            &format!("/api/v1/patients/{patient}/records?from_date={instant}&to_date={instant}"),
            &auth,
        )
        .await,
    )
    .await;
    assert!(exact["records"].as_array().expect("array").contains(newest));
}

#[tokio::test]
async fn bad_record_queries_list_every_problem() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    let error = envelope(
        api.get("/api/v1/patients/PAT-10001/records?limit=0&offset=-1&from_date=yesterday&to_date=2026-13-01", &auth)
            .await,
        400,
        "invalid_request",
    )
    .await;
    let fields: BTreeSet<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        ["from_date", "limit", "offset", "to_date"]
            .into_iter()
            .collect()
    );
    let error = envelope(
        api.get(
            "/api/v1/patients/PAT-10001/records?from_date=2026-05-02&to_date=2026-05-01",
            &auth,
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "to_date");
}

#[tokio::test]
async fn missing_patients_records_and_attachments_are_404() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    for path in [
        "/api/v1/patients/PAT-99999/records",
        "/api/v1/records/REC-99999999",
        "/api/v1/attachments/ATT-99999999/download",
    ] {
        envelope(api.get(path, &auth).await, 404, "not_found").await;
    }
    let response = api
        .http
        .post(api.url("/api/v1/patients/PAT-99999/records"))
        .header("Authorization", &auth)
        .json(&new_record())
        .send()
        .await
        .expect("answers");
    envelope(response, 404, "not_found").await;
}

#[tokio::test]
async fn attachments_download_as_the_pdf_their_record_describes() {
    let api = Api::demo(30).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    let mut kinds_seen = BTreeSet::new();
    for n in 10_001..10_031 {
        for record in all_records(&api, &auth, &format!("PAT-{n}"), 100).await {
            for attachment in record["attachments"].as_array().expect("array") {
                let href = attachment["_links"]["download"]["href"]
                    .as_str()
                    .expect("href");
                let response = api.get(href, &auth).await;
                assert_eq!(response.status(), 200);
                let headers = response.headers().clone();
                assert_eq!(
                    headers["content-type"],
                    attachment["contentType"].as_str().expect("type")
                );
                assert_eq!(headers["content-type"], "application/pdf");
                let size = attachment["size"].as_u64().expect("size");
                assert_eq!(headers["content-length"], size.to_string().as_str());
                let filename = attachment["filename"].as_str().expect("filename");
                assert_eq!(
                    headers["content-disposition"],
                    format!("attachment; filename=\"{filename}\"").as_str()
                );
                let etag = headers["etag"].to_str().expect("etag").to_owned();
                let bytes = response.bytes().await.expect("bytes");
                assert_eq!(bytes.len() as u64, size);
                // The same bytes and tag every time; the tag answers 304.
                let again = api.get(href, &auth).await;
                assert_eq!(again.headers()["etag"], etag.as_str());
                assert_eq!(again.bytes().await.expect("bytes"), bytes);
                let cached = api
                    .http
                    .get(api.url(href))
                    .header("Authorization", &auth)
                    .header("If-None-Match", &etag)
                    .send()
                    .await
                    .expect("answers");
                assert_eq!(cached.status(), 304);
                let text = pdf_text(&bytes);
                assert!(
                    text.contains(record["patientId"].as_str().expect("id")),
                    "{text}"
                );
                if filename == "lab_results.pdf" {
                    assert!(
                        text.contains("Laboratory results") && text.contains("Hemoglobin"),
                        "{text}"
                    );
                } else {
                    assert_eq!(filename, "referral_letter.pdf");
                    assert!(text.contains("Dear colleague"), "{text}");
                    assert!(
                        text.contains(record["content"]["plan"].as_str().expect("plan")),
                        "{text}"
                    );
                }
                kinds_seen.insert(filename.to_owned());
            }
        }
        if kinds_seen.len() == 2 {
            break;
        }
    }
    assert_eq!(
        kinds_seen.len(),
        2,
        "both kinds of demo attachment: {kinds_seen:?}"
    );
}

fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"));
    let document = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

fn new_record() -> Value {
    json!({
        "providerId": "PROV-54321",
        "type": "Progress Note",
        "title": "Follow-up Visit",
        "content": {
            "subjective": "Patient reports improvement in symptoms.",
            "objective": "BP 120/80, Pulse 72, Temp 98.6F.",
            "assessment": "Hypertension, well-controlled.",
            "plan": "Continue current medications."
        }
    })
}

#[tokio::test]
async fn a_clinician_adds_a_record_once_per_idempotency_key() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token(CLINICIAN).await);
    let before = json_of(api.get("/api/v1/patients/PAT-10002/records", &auth).await).await;
    let post = |key: &str, body: Value| {
        api.http
            .post(api.url("/api/v1/patients/PAT-10002/records"))
            .header("Authorization", &auth)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = post("note-1", new_record()).await.expect("answers");
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let created: Value = first.json().await.expect("json");
    assert_eq!(
        location,
        created["_links"]["self"]["href"].as_str().expect("href")
    );
    assert_eq!(created["patientId"], "PAT-10002");
    assert_eq!(created["content"], new_record()["content"]);
    assert_eq!(created["attachments"], json!([]));
    assert_eq!(
        created["date"].as_str().expect("date")[..10].to_owned(),
        "2026-11-23"
    );
    let replay = post("note-1", new_record()).await.expect("answers");
    assert_eq!(replay.status(), 201);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert!(replay.headers().contains_key("etag"));
    let replayed: Value = replay.json().await.expect("json");
    assert_eq!(replayed, created);
    let after = json_of(api.get("/api/v1/patients/PAT-10002/records", &auth).await).await;
    assert_eq!(
        after["total"].as_u64(),
        before["total"].as_u64().map(|n| n + 1),
        "one record, not two"
    );
    assert_eq!(json_of(api.get(&location, &auth).await).await, created);
    // The same key with another body is refused.
    let mut other = new_record();
    other["title"] = json!("Another visit");
    envelope(
        post("note-1", other).await.expect("answers"),
        422,
        "unprocessable_entity",
    )
    .await;

    // Every problem at once; a future date is refused.
    let error = envelope(
        post("note-2", json!({"providerId": "PROV-54321", "type": " ", "title": "", "date": "2026-11-25T09:00:00Z",
                              "content": {"subjective": "", "objective": "", "assessment": "", "plan": ""}}))
            .await
            .expect("answers"),
        400,
        "invalid_request",
    )
    .await;
    let fields: BTreeSet<&str> = error["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| d["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        ["content", "date", "title", "type"].into_iter().collect()
    );
    let mut unknown = new_record();
    unknown["providerId"] = json!("PROV-00000");
    let error = envelope(
        post("note-3", unknown).await.expect("answers"),
        422,
        "unprocessable_entity",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "providerId");
    // A past date is kept as sent.
    let mut dated = new_record();
    dated["date"] = json!("2026-11-20T15:30:00Z");
    let response = post("note-4", dated).await.expect("answers");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["date"], "2026-11-20T15:30:00Z");
}

#[tokio::test]
async fn record_routes_answer_each_role_as_its_scopes_say() {
    let api = Api::demo(5).await;
    let clinician = bearer(&api.user_token(CLINICIAN).await);
    let record = json_of(
        api.get("/api/v1/patients/PAT-10001/records?limit=1", &clinician)
            .await,
    )
    .await["records"][0]
        .clone();
    let record_href = record["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let reads = ["/api/v1/patients/PAT-10001/records".to_owned(), record_href];
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let billing = bearer(&api.user_token("billing@demo.clinic").await);
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let integration = bearer(&api.client_token("integration-premium").await);
    for path in &reads {
        for refused in [&reception, &billing] {
            envelope(api.get(path, refused).await, 403, "forbidden").await;
        }
        for allowed in [
            &clinician,
            &admin,
            &integration,
            &"ApiKey demo-api-key".to_owned(),
        ] {
            assert_eq!(api.get(path, allowed).await.status(), 200, "{path}");
        }
        envelope(
            api.get(path, "Bearer not-a-token").await,
            401,
            "unauthorized",
        )
        .await;
    }
    let post = |auth: &str| {
        api.http
            .post(api.url("/api/v1/patients/PAT-10001/records"))
            .header("Authorization", auth)
            .json(&new_record())
            .send()
    };
    for refused in [
        &reception,
        &billing,
        &integration,
        &"ApiKey demo-api-key".to_owned(),
    ] {
        envelope(post(refused).await.expect("answers"), 403, "forbidden").await;
    }
    assert_eq!(post(&admin).await.expect("answers").status(), 201);
}

#[tokio::test]
async fn the_same_seed_and_day_give_the_same_records_and_invoices() {
    use chrono::{TimeZone, Utc};
    use practice_studio_server::clock::ManualClock;
    use std::sync::Arc;

    async fn snapshot(seed: u64) -> (Value, Value) {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
                .single()
                .expect("time"),
        ));
        let (builder, _database) = support::builder().await;
        let server = builder
            .demo(true)
            .demo_seed(seed)
            .demo_patients(8)
            .clock(clock)
            .start()
            .await
            .expect("starts");
        let http = reqwest::Client::new();
        let auth = "ApiKey demo-api-key";
        let get = |path: String| {
            let request = http
                .get(format!("{}{path}", server.url()))
                .header("Authorization", auth);
            async move {
                request
                    .send()
                    .await
                    .expect("answers")
                    .json::<Value>()
                    .await
                    .expect("json")
            }
        };
        let records = get("/api/v1/patients/PAT-10003/records?limit=100".into()).await;
        let invoices = get("/api/v1/invoices?limit=100".into()).await;
        (records, invoices)
    }
    let first = snapshot(7).await;
    assert!(first.0["total"].as_u64().expect("total") >= 1);
    assert!(first.1["total"].as_u64().expect("total") >= 1);
    assert_eq!(snapshot(7).await, first);
    assert_ne!(snapshot(8).await, first, "another seed, other data");
}
