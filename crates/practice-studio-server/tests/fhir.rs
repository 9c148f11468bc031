//! FHIR R4 at /fhir/r4 against the real server on loopback with demo data: what each resource
//! carries (compared with the same data through v1), every search parameter, paging, errors as
//! OperationOutcome, and v1's authentication, scopes and rate limits. The structural validity of
//! every resource type is checked by an independent R4 validator in `make test`
//! (tests/fhir/validate.py); these tests check required elements and code values a schema
//! cannot see.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::HashSet;

use serde_json::Value;
use support::{bearer, Api};

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

async fn fhir(api: &Api, auth: &str, path: &str) -> (u16, Value) {
    let response = api.get(&format!("/fhir/r4{path}"), auth).await;
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        FHIR_JSON,
        "{path} answers FHIR JSON"
    );
    (status, response.json().await.expect("json"))
}

async fn ok(api: &Api, auth: &str, path: &str) -> Value {
    let (status, body) = fhir(api, auth, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn v1(api: &Api, auth: &str, path: &str) -> Value {
    let response = api.get(path, auth).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json")
}

/// The resources of a searchset Bundle (its `match` entries).
fn matches(bundle: &Value) -> Vec<Value> {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| e["resource"].clone())
                .collect()
        })
        .unwrap_or_default()
}

fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
}

/// The path and query of an absolute link, for `Api::get`.
fn path_of(url: &str) -> String {
    let at = url.find("/fhir/r4").expect("a FHIR link");
    url[at + "/fhir/r4".len()..].to_owned()
}

fn assert_outcome(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    assert!(body["issue"][0]["diagnostics"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

async fn premium(api: &Api) -> String {
    bearer(&api.client_token("integration-premium").await)
}

#[tokio::test]
async fn metadata_is_a_4_0_1_capability_statement_of_exactly_the_served_types() {
    let api = Api::demo(20).await;
    let response = api
        .http
        .get(api.url("/fhir/r4/metadata"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 200, "no credential needed");
    let statement: Value = response.json().await.expect("json");
    assert_eq!(statement["resourceType"], "CapabilityStatement");
    assert_eq!(statement["fhirVersion"], "4.0.1");
    assert_eq!(statement["kind"], "instance");
    assert!(statement["date"].is_string());
    let resources = statement["rest"][0]["resource"]
        .as_array()
        .expect("resources");
    let types: Vec<&str> = resources
        .iter()
        .map(|r| r["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        [
            "Patient",
            "Coverage",
            "Practitioner",
            "Location",
            "Appointment",
            "AllergyIntolerance",
            "DocumentReference",
            "Invoice"
        ]
    );
    let params = |kind: &str| -> HashSet<String> {
        resources
            .iter()
            .find(|r| r["type"] == kind)
            .expect("listed")["searchParam"]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    };
    for name in [
        "_id",
        "identifier",
        "name",
        "family",
        "given",
        "birthdate",
        "gender",
        "phone",
    ] {
        assert!(params("Patient").contains(name), "Patient {name}");
    }
    for name in ["patient", "practitioner", "location", "date", "status"] {
        assert!(params("Appointment").contains(name), "Appointment {name}");
    }
    for name in ["patient", "date", "type"] {
        assert!(
            params("DocumentReference").contains(name),
            "DocumentReference {name}"
        );
    }
    assert!(params("AllergyIntolerance").contains("patient"));
    for name in ["subject", "status"] {
        assert!(params("Invoice").contains(name), "Invoice {name}");
    }
    // Every listed parameter is known under strict handling, on every type.
    let auth = premium(&api).await;
    for resource in resources {
        for param in resource["searchParam"].as_array().expect("params") {
            let path = format!(
                "/fhir/r4/{}?{}=&_count=1",
                resource["type"].as_str().expect("type"),
                param["name"].as_str().expect("name")
            );
            let response = api
                .http
                .get(api.url(&path))
                .header("Authorization", &auth)
                .header("Prefer", "handling=strict")
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), 200, "{path}");
        }
    }
}

#[tokio::test]
async fn a_patient_carries_mrn_name_birth_date_gender_telecom_address_and_deceased_flag() {
    let api = Api::demo(300).await;
    let auth = premium(&api).await;
    let deceased = v1(
        &api,
        &auth,
        "/api/v1/patients?status=deceased&limit=1&expand=full",
    )
    .await;
    let wire = &deceased["patients"][0];
    let id = wire["id"].as_str().expect("a deceased demo patient");
    let patient = ok(&api, &auth, &format!("/Patient/{id}")).await;
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["id"], id);
    assert_eq!(patient["deceasedBoolean"], true);
    assert_eq!(patient["active"], false);
    let mrn = &patient["identifier"][0];
    assert_eq!(mrn["value"], wire["mrn"]);
    assert_eq!(mrn["type"]["coding"][0]["code"], "MR");
    assert_eq!(
        mrn["type"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v2-0203"
    );
    assert!(mrn["system"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(patient["name"][0]["family"], wire["lastName"]);
    assert_eq!(patient["name"][0]["given"][0], wire["firstName"]);
    assert_eq!(patient["birthDate"], wire["dateOfBirth"]);
    let gender = match wire["gender"].as_str().expect("gender") {
        "M" => "male",
        "F" => "female",
        "O" => "other",
        _ => "unknown",
    };
    assert_eq!(patient["gender"], gender);
    let phone = patient["telecom"]
        .as_array()
        .expect("telecom")
        .iter()
        .find(|t| t["system"] == "phone")
        .expect("a phone");
    assert_eq!(phone["value"], wire["contactInfo"]["phone"]);
    assert_eq!(
        patient["address"][0]["city"],
        wire["contactInfo"]["address"]["city"]
    );
    assert_eq!(
        patient["address"][0]["line"][0],
        wire["contactInfo"]["address"]["line1"]
    );
    assert_eq!(patient["meta"]["versionId"], wire["version"].to_string());

    // A living, active patient without an email has no email telecom and no empty elements.
    let everyone = v1(
        &api,
        &auth,
        "/api/v1/patients?status=active&limit=100&expand=full",
    )
    .await;
    let no_email = everyone["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["contactInfo"]["email"].is_null())
        .expect("a demo patient without an email");
    let id = no_email["id"].as_str().expect("id");
    let patient = ok(&api, &auth, &format!("/Patient/{id}")).await;
    assert_eq!(patient["deceasedBoolean"], false);
    assert_eq!(patient["active"], true);
    assert!(patient["telecom"]
        .as_array()
        .expect("telecom")
        .iter()
        .all(|t| t["system"] != "email"));
    assert!(
        !patient.to_string().contains("\"\""),
        "no empty strings: {patient}"
    );
    assert!(!patient.to_string().contains("null"), "no nulls: {patient}");
}

#[tokio::test]
async fn patient_search_honours_each_parameter() {
    let api = Api::demo(300).await;
    let auth = premium(&api).await;
    let list = v1(&api, &auth, "/api/v1/patients?limit=100&expand=full").await;
    let someone = list["patients"][7].clone();
    let id = someone["id"].as_str().expect("id");
    let family = someone["lastName"].as_str().expect("last");
    let given = someone["firstName"].as_str().expect("first");
    let mrn = someone["mrn"].as_str().expect("mrn");
    let born = someone["dateOfBirth"].as_str().expect("dob");
    let phone = someone["contactInfo"]["phone"].as_str().expect("phone");

    let ids = |bundle: &Value| -> Vec<String> {
        matches(bundle)
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let by_id = ok(&api, &auth, &format!("/Patient?_id={id}")).await;
    assert_eq!(ids(&by_id), [id]);
    assert_eq!(by_id["total"], 1);
    let by_mrn = ok(&api, &auth, &format!("/Patient?identifier={mrn}")).await;
    assert_eq!(ids(&by_mrn), [id]);
    let with_system = ok(
        &api,
        &auth,
        &format!("/Patient?identifier=https://api.practicestudio.com/fhir/sid/mrn|{mrn}"),
    )
    .await;
    assert_eq!(ids(&with_system), [id]);
    let other_system = ok(
        &api,
        &auth,
        &format!("/Patient?identifier=http://example.org/other|{mrn}"),
    )
    .await;
    assert_eq!(other_system["total"], 0);

    // String search: case-insensitive prefixes; name matches either part.
    let prefix = family[..3].to_lowercase();
    let by_family = ok(&api, &auth, &format!("/Patient?family={prefix}&_count=100")).await;
    let found = matches(&by_family);
    assert!(found.iter().any(|p| p["id"] == id));
    for p in &found {
        assert!(p["name"][0]["family"]
            .as_str()
            .expect("family")
            .to_lowercase()
            .starts_with(&prefix));
    }
    let by_given = ok(
        &api,
        &auth,
        &format!("/Patient?given={}&family={family}", given.to_uppercase()),
    )
    .await;
    assert!(ids(&by_given).contains(&id.to_owned()));
    for p in matches(&by_given) {
        assert_eq!(p["name"][0]["given"][0], given);
    }
    let by_name = ok(&api, &auth, &format!("/Patient?name={given}&_count=100")).await;
    for p in matches(&by_name) {
        let n = &p["name"][0];
        assert!(n["given"][0] == given || n["family"].as_str().expect("family").starts_with(given));
    }

    // Dates: exact day, and a range from repeated parameters.
    let by_birth = ok(
        &api,
        &auth,
        &format!("/Patient?birthdate={born}&_count=100"),
    )
    .await;
    assert!(ids(&by_birth).contains(&id.to_owned()));
    assert!(matches(&by_birth).iter().all(|p| p["birthDate"] == born));
    let range = ok(
        &api,
        &auth,
        "/Patient?birthdate=ge1960-01-01&birthdate=lt1970&_count=100",
    )
    .await;
    for p in matches(&range) {
        let d = p["birthDate"].as_str().expect("date");
        assert!(("1960-01-01".."1970-01-01").contains(&d), "{d}");
    }
    let everyone = ok(&api, &auth, "/Patient?_count=0").await["total"]
        .as_u64()
        .expect("total");
    assert_eq!(everyone, 300);

    // Tokens: gender alternatives, a phone with other punctuation.
    let women = ok(&api, &auth, "/Patient?gender=female&_count=0").await["total"]
        .as_u64()
        .expect("total");
    let men = ok(&api, &auth, "/Patient?gender=male&_count=0").await["total"]
        .as_u64()
        .expect("total");
    let either = ok(&api, &auth, "/Patient?gender=male,female&_count=0").await["total"]
        .as_u64()
        .expect("total");
    assert!(women > 0 && men > 0);
    assert_eq!(either, women + men);
    let sample = ok(&api, &auth, "/Patient?gender=female&_count=50").await;
    assert!(matches(&sample).iter().all(|p| p["gender"] == "female"));
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let spaced = format!("({}) {} {}", &digits[..3], &digits[3..6], &digits[6..]);
    let by_phone = ok(
        &api,
        &auth,
        &format!("/Patient?phone={}", urlencode(&spaced)),
    )
    .await;
    assert!(ids(&by_phone).contains(&id.to_owned()));

    // Conjunction: the right family with the wrong gender finds nobody.
    let wrong = if someone["gender"] == "F" {
        "male"
    } else {
        "female"
    };
    let none = ok(&api, &auth, &format!("/Patient?_id={id}&gender={wrong}")).await;
    assert_eq!(none["total"], 0);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn paging_follows_next_links_over_every_match_once_with_count_capped_at_100() {
    let api = Api::demo(250).await;
    let auth = premium(&api).await;
    let capped = ok(&api, &auth, "/Patient?_count=500").await;
    assert_eq!(matches(&capped).len(), 100);
    assert!(link(&capped, "self").expect("self").contains("_count=100"));

    let mut seen = HashSet::new();
    let mut next = Some("/Patient?_count=70".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let bundle = ok(&api, &auth, &path).await;
        assert_eq!(bundle["total"], 250);
        assert!(link(&bundle, "self").is_some());
        for patient in matches(&bundle) {
            assert!(
                seen.insert(patient["id"].as_str().expect("id").to_owned()),
                "twice"
            );
        }
        next = link(&bundle, "next").map(|url| path_of(&url));
        pages += 1;
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 250);
    // Each entry's fullUrl is the absolute read URL.
    let bundle = ok(&api, &auth, "/Patient?_count=1").await;
    let entry = &bundle["entry"][0];
    assert_eq!(
        entry["fullUrl"],
        format!(
            "{}/fhir/r4/Patient/{}",
            api.server.url(),
            entry["resource"]["id"].as_str().expect("id")
        )
    );
}

#[tokio::test]
async fn appointments_have_participants_with_status_and_search_by_each_parameter() {
    let api = Api::demo(200).await;
    let auth = premium(&api).await;
    let cancelled = ok(&api, &auth, "/Appointment?status=cancelled&_count=20").await;
    let found = matches(&cancelled);
    assert!(!found.is_empty(), "the demo has cancelled appointments");
    for appointment in &found {
        assert_eq!(appointment["status"], "cancelled");
        assert!(appointment["cancelationReason"]["text"].is_string());
        assert!(appointment["participant"]
            .as_array()
            .expect("participants")
            .iter()
            .all(|p| p["status"] == "declined"));
    }
    let booked = matches(&ok(&api, &auth, "/Appointment?status=booked&_count=5").await);
    let appointment = booked.first().expect("a booked appointment").clone();
    let participants = appointment["participant"].as_array().expect("participants");
    let reference = |kind: &str| -> String {
        participants
            .iter()
            .map(|p| p["actor"]["reference"].as_str().expect("reference"))
            .find(|r| r.starts_with(kind))
            .expect("participant")
            .to_owned()
    };
    assert!(participants.iter().all(|p| p["status"] == "accepted"));
    let patient = reference("Patient/");
    let practitioner = reference("Practitioner/");
    let location = reference("Location/");

    // The same appointment through v1: status and times agree.
    let id = appointment["id"].as_str().expect("id");
    let wire = v1(&api, &auth, &format!("/api/v1/appointments/{id}")).await;
    assert_eq!(wire["status"], "scheduled");
    assert_eq!(
        format!("Patient/{}", wire["patientId"].as_str().expect("patient")),
        patient
    );
    let start = chrono::DateTime::parse_from_rfc3339(appointment["start"].as_str().expect("start"))
        .expect("instant");
    let wire_start =
        chrono::DateTime::parse_from_rfc3339(wire["startTime"].as_str().expect("start"))
            .expect("instant");
    assert_eq!(start, wire_start);

    // On the appointment's own day, so a busy practitioner's page holds it.
    let day = appointment["start"].as_str().expect("start")[..10].to_owned();
    for (param, value) in [
        ("patient", &patient),
        ("practitioner", &practitioner),
        ("location", &location),
    ] {
        let bundle = ok(
            &api,
            &auth,
            &format!("/Appointment?{param}={value}&date={day}&_count=100"),
        )
        .await;
        let all = matches(&bundle);
        assert!(all.iter().any(|a| a["id"] == id), "{param}");
        for a in &all {
            assert!(
                a["participant"]
                    .as_array()
                    .expect("p")
                    .iter()
                    .any(|p| p["actor"]["reference"] == value.as_str()),
                "{param}"
            );
        }
    }
    // A day's range by repeated date parameters, on the appointment's own day.
    let on_day = ok(
        &api,
        &auth,
        &format!("/Appointment?date=ge{day}&date=le{day}&practitioner={practitioner}&_count=100"),
    )
    .await;
    let all = matches(&on_day);
    assert!(all.iter().any(|a| a["id"] == id));
    assert!(all
        .iter()
        .all(|a| a["start"].as_str().expect("start").starts_with(&day)));
    let before = ok(&api, &auth, &format!("/Appointment?date=lt{day}&_id={id}")).await;
    assert_eq!(before["total"], 0);
    let bare_id = practitioner.trim_start_matches("Practitioner/");
    let by_bare_id = ok(
        &api,
        &auth,
        &format!("/Appointment?practitioner={bare_id}&_count=0"),
    )
    .await;
    let by_reference = ok(
        &api,
        &auth,
        &format!("/Appointment?practitioner={practitioner}&_count=0"),
    )
    .await;
    assert_eq!(by_bare_id["total"], by_reference["total"]);
}

#[tokio::test]
async fn allergies_have_stable_ids_from_patient_and_allergen_and_mapped_criticality() {
    let api = Api::demo(100).await;
    let auth = premium(&api).await;
    let bundle = ok(&api, &auth, "/AllergyIntolerance?_count=100").await;
    let all = matches(&bundle);
    assert!(!all.is_empty());
    for allergy in &all {
        let id = allergy["id"].as_str().expect("id");
        let patient = allergy["patient"]["reference"].as_str().expect("patient");
        assert!(
            id.starts_with(&format!("{}.", patient.trim_start_matches("Patient/"))),
            "{id}"
        );
        let criticality = allergy["criticality"].as_str().expect("criticality");
        let recorded = allergy["reaction"][0]["description"]
            .as_str()
            .expect("severity");
        let expected = match recorded {
            "Mild" | "Moderate" => "low",
            "Severe" => "high",
            _ => "unable-to-assess",
        };
        assert_eq!(criticality, expected, "{allergy}");
        assert_eq!(allergy["clinicalStatus"]["coding"][0]["code"], "active");
        // Read by id gives the same resource; a second search gives the same id.
        assert_eq!(
            &ok(&api, &auth, &format!("/AllergyIntolerance/{id}")).await,
            allergy
        );
    }
    let again = matches(&ok(&api, &auth, "/AllergyIntolerance?_count=100").await);
    assert_eq!(again, all);
    // By patient: exactly the allergies v1 lists for them.
    let patient = all[0]["patient"]["reference"]
        .as_str()
        .expect("patient")
        .trim_start_matches("Patient/")
        .to_owned();
    let wire = v1(&api, &auth, &format!("/api/v1/patients/{patient}")).await;
    let theirs = matches(
        &ok(
            &api,
            &auth,
            &format!("/AllergyIntolerance?patient={patient}"),
        )
        .await,
    );
    let allergens: Vec<&str> = theirs
        .iter()
        .map(|a| a["code"]["text"].as_str().expect("text"))
        .collect();
    let listed: Vec<&str> = wire["allergies"]
        .as_array()
        .expect("allergies")
        .iter()
        .map(|a| a["allergen"].as_str().expect("allergen"))
        .collect();
    assert_eq!(allergens, listed);
    let (status, body) = fhir(
        &api,
        &auth,
        &format!("/AllergyIntolerance/{patient}.no-such-allergen"),
    )
    .await;
    assert_outcome(status, &body, 404, "not-found");
}

#[tokio::test]
async fn document_references_link_attachments_to_their_download_route() {
    let api = Api::demo(100).await;
    let auth = bearer(&api.user_token("clinician@demo.clinic").await);
    let labs = matches(
        &ok(
            &api,
            &auth,
            "/DocumentReference?type=http://loinc.org|11502-2&_count=5",
        )
        .await,
    );
    let document = labs.first().expect("a lab report").clone();
    assert_eq!(document["status"], "current");
    assert_eq!(document["type"]["coding"][0]["code"], "11502-2");
    assert_eq!(document["type"]["text"], "Lab Result");
    let contents = document["content"].as_array().expect("content");
    assert_eq!(
        contents[0]["attachment"]["contentType"],
        "text/plain; charset=utf-8"
    );
    let attachment = &contents[1]["attachment"];
    let url = attachment["url"].as_str().expect("url");
    assert!(
        url.starts_with(&api.server.url()) && url.ends_with("/download"),
        "{url}"
    );
    let download = api
        .http
        .get(url)
        .header("Authorization", &auth)
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-type"],
        attachment["contentType"].as_str().expect("type")
    );
    assert_eq!(
        download.bytes().await.expect("bytes").len() as u64,
        attachment["size"].as_u64().expect("size")
    );

    // By patient and date: the same records as v1's list.
    let patient = document["subject"]["reference"]
        .as_str()
        .expect("subject")
        .trim_start_matches("Patient/")
        .to_owned();
    let wire = v1(
        &api,
        &auth,
        &format!("/api/v1/patients/{patient}/records?limit=100"),
    )
    .await;
    let theirs = ok(
        &api,
        &auth,
        &format!("/DocumentReference?patient=Patient/{patient}&_count=100"),
    )
    .await;
    assert_eq!(theirs["total"], wire["total"]);
    let day = &document["date"].as_str().expect("date")[..10];
    let on_day = matches(
        &ok(
            &api,
            &auth,
            &format!("/DocumentReference?patient={patient}&date={day}"),
        )
        .await,
    );
    assert!(on_day.iter().any(|d| d["id"] == document["id"]));
    assert!(on_day
        .iter()
        .all(|d| d["date"].as_str().expect("date").starts_with(day)));
    let by_text = ok(
        &api,
        &auth,
        &format!("/DocumentReference?patient={patient}&type=lab%20result&_count=0"),
    )
    .await;
    let by_code = ok(
        &api,
        &auth,
        &format!("/DocumentReference?patient={patient}&type=11502-2&_count=0"),
    )
    .await;
    assert_eq!(by_text["total"], by_code["total"]);
}

#[tokio::test]
async fn invoices_map_paid_to_balanced_and_search_by_subject_and_status() {
    let api = Api::demo(150).await;
    let auth = premium(&api).await;
    let balanced = matches(&ok(&api, &auth, "/Invoice?status=balanced&_count=10").await);
    let issued = matches(&ok(&api, &auth, "/Invoice?status=issued&_count=10").await);
    assert!(!balanced.is_empty() && !issued.is_empty());
    for invoice in &balanced {
        let id = invoice["id"].as_str().expect("id");
        let wire = v1(&api, &auth, &format!("/api/v1/invoices/{id}")).await;
        assert_eq!(wire["status"], "paid");
        assert_eq!(
            invoice["totalGross"]["value"].as_f64(),
            wire["amount"].as_f64()
        );
        assert_eq!(
            invoice["lineItem"].as_array().expect("items").len(),
            wire["items"].as_array().expect("items").len()
        );
        assert_eq!(
            invoice["lineItem"][0]["chargeItemCodeableConcept"]["coding"][0]["code"],
            wire["items"][0]["code"]
        );
    }
    for invoice in &issued {
        let wire = v1(
            &api,
            &auth,
            &format!("/api/v1/invoices/{}", invoice["id"].as_str().expect("id")),
        )
        .await;
        assert!(wire["status"] == "open" || wire["status"] == "overdue");
    }
    let all = ok(&api, &auth, "/Invoice?_count=0").await["total"]
        .as_u64()
        .expect("total");
    let paid = ok(&api, &auth, "/Invoice?status=balanced&_count=0").await["total"]
        .as_u64()
        .expect("total");
    let owed = ok(&api, &auth, "/Invoice?status=issued&_count=0").await["total"]
        .as_u64()
        .expect("total");
    assert_eq!(all, paid + owed);
    let subject = balanced[0]["subject"]["reference"]
        .as_str()
        .expect("subject")
        .to_owned();
    let wire = v1(
        &api,
        &auth,
        &format!(
            "/api/v1/patients/{}/invoices?limit=100",
            subject.trim_start_matches("Patient/")
        ),
    )
    .await;
    let theirs = ok(
        &api,
        &auth,
        &format!("/Invoice?subject={subject}&_count=100"),
    )
    .await;
    assert_eq!(theirs["total"], wire["total"]);
    assert!(matches(&theirs)
        .iter()
        .all(|i| i["subject"]["reference"] == subject.as_str()));
}

#[tokio::test]
async fn practitioners_carry_their_npi_and_locations_their_address() {
    let api = Api::demo(10).await;
    let auth = premium(&api).await;
    let providers = v1(&api, &auth, "/api/v1/providers?limit=100").await;
    let provider = &providers["providers"][0];
    let npi = provider["npi"].as_str().expect("npi");
    let found = matches(
        &ok(
            &api,
            &auth,
            &format!("/Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}"),
        )
        .await,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], provider["id"]);
    assert_eq!(found[0]["identifier"][0]["value"], npi);
    assert_eq!(found[0]["name"][0]["family"], provider["lastName"]);
    let all = ok(&api, &auth, "/Practitioner?_count=0").await;
    assert_eq!(all["total"], providers["total"]);
    let location = ok(&api, &auth, "/Location/LOC-789").await;
    assert_eq!(location["name"], "Main Clinic");
    assert_eq!(location["address"]["line"][0], "100 Health Way");
    let by_name = matches(&ok(&api, &auth, "/Location?name=main").await);
    assert_eq!(by_name.len(), 1);
}

#[tokio::test]
async fn errors_are_operation_outcomes_with_the_right_status() {
    let api = Api::demo(20).await;
    let auth = premium(&api).await;
    let (status, body) = fhir(&api, &auth, "/Patient/PAT-00000").await;
    assert_outcome(status, &body, 404, "not-found");
    let (status, body) = fhir(&api, &auth, "/Medication?code=x").await;
    assert_outcome(status, &body, 404, "not-supported");
    let (status, body) = fhir(&api, &auth, "/Patient?birthdate=23/11/1980").await;
    assert_outcome(status, &body, 400, "invalid");
    let (status, body) = fhir(&api, &auth, "/Patient?birthdate=sa2000").await;
    assert_outcome(status, &body, 400, "not-supported");
    let (status, body) = fhir(&api, &auth, "/Patient?family:exact=Smith").await;
    assert_outcome(status, &body, 400, "not-supported");
    let (status, body) = fhir(&api, &auth, "/Patient?_count=many").await;
    assert_outcome(status, &body, 400, "invalid");
    let (status, body) = fhir(&api, &auth, "/Appointment?patient=Practitioner/PROV-54321").await;
    assert_outcome(status, &body, 400, "invalid");

    let response = api
        .http
        .get(api.url("/fhir/r4/Patient"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["content-type"], FHIR_JSON);
    assert!(response.headers().contains_key("www-authenticate"));
    assert!(response.headers().contains_key("x-request-id"));
    let status = response.status().as_u16();
    assert_outcome(status, &response.json().await.expect("json"), 401, "login");

    let response = api
        .http
        .post(api.url("/fhir/r4/Patient"))
        .header("Authorization", &auth)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["content-type"], FHIR_JSON);
    let status = response.status().as_u16();
    assert_outcome(
        status,
        &response.json().await.expect("json"),
        405,
        "not-supported",
    );

    let response = api
        .http
        .get(api.url("/fhir/r4/Patient"))
        .header("Authorization", &auth)
        .header("Accept", "application/fhir+xml")
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    assert_outcome(
        status,
        &response.json().await.expect("json"),
        406,
        "not-supported",
    );
}

#[tokio::test]
async fn unknown_parameters_are_refused_under_strict_handling_and_reported_under_lenient() {
    let api = Api::demo(20).await;
    let auth = premium(&api).await;
    let strict = api
        .http
        .get(api.url("/fhir/r4/Patient?family=a&shoe-size=9"))
        .header("Authorization", &auth)
        .header("Prefer", "handling=strict")
        .send()
        .await
        .expect("answers");
    let status = strict.status().as_u16();
    let body: Value = strict.json().await.expect("json");
    assert_outcome(status, &body, 400, "not-supported");
    assert!(body["issue"][0]["diagnostics"]
        .as_str()
        .expect("text")
        .contains("shoe-size"));

    let everyone = ok(&api, &auth, "/Patient?_count=0").await["total"].clone();
    let lenient = ok(&api, &auth, "/Patient?shoe-size=9&_count=5").await;
    assert_eq!(
        lenient["total"], everyone,
        "the unknown parameter is ignored"
    );
    let outcomes: Vec<&Value> = lenient["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["search"]["mode"] == "outcome")
        .collect();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0]["resource"]["issue"][0]["severity"], "warning");
    let self_link = link(&lenient, "self").expect("self");
    assert!(!self_link.contains("shoe-size"), "{self_link}");
}

#[tokio::test]
async fn fhir_uses_the_v1_scopes_and_rate_limit_bucket() {
    let api = Api::demo(20).await;
    // Reception may not read records in v1, nor DocumentReferences here.
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let (status, body) = fhir(&api, &reception, "/DocumentReference?_count=1").await;
    assert_outcome(status, &body, 403, "forbidden");
    let v1_refused = api
        .get("/api/v1/patients/PAT-10001/records", &reception)
        .await;
    assert_eq!(v1_refused.status(), 403);
    ok(&api, &reception, "/Patient?_count=1").await;
    // The legacy API key works here as in v1.
    ok(&api, "ApiKey demo-api-key", "/Appointment?_count=1").await;

    // One bucket: v1 and FHIR requests spend the same budget, and its end is a 429 outcome.
    let standard = bearer(&api.client_token("integration-standard").await);
    let remaining = |response: &reqwest::Response| -> i64 {
        response.headers()["x-ratelimit-remaining"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number")
    };
    let first = api.get("/api/v1/patients?limit=1", &standard).await;
    let second = api.get("/fhir/r4/Patient?_count=1", &standard).await;
    assert_eq!(remaining(&second), remaining(&first) - 1);
    let mut refused = None;
    for _ in 0..50 {
        let response = api.get("/fhir/r4/Patient?_count=1", &standard).await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the standard tier's burst runs out");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.headers()["content-type"], FHIR_JSON);
    let body: Value = refused.json().await.expect("json");
    assert_outcome(429, &body, 429, "throttled");
}

#[tokio::test]
async fn the_openapi_document_describes_the_fhir_routes() {
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
    for kind in [
        "Patient",
        "Practitioner",
        "Location",
        "Appointment",
        "AllergyIntolerance",
        "DocumentReference",
        "Invoice",
    ] {
        let search = &doc["paths"][format!("/fhir/r4/{kind}")]["get"];
        assert!(
            search["responses"]["200"]["content"]["application/fhir+json"].is_object(),
            "{kind}"
        );
        assert!(
            doc["paths"][format!("/fhir/r4/{kind}/{{id}}")]["get"].is_object(),
            "{kind}"
        );
    }
    let patient_params: Vec<&str> = doc["paths"]["/fhir/r4/Patient"]["get"]["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert!(patient_params.contains(&"birthdate") && patient_params.contains(&"_count"));
    assert!(doc["paths"]["/fhir/r4/metadata"]["get"].is_object());
}

#[tokio::test]
async fn a_patient_with_two_insurances_has_a_primary_and_a_secondary_coverage() {
    let api = Api::demo(200).await;
    let auth = premium(&api).await;
    let everyone = v1(&api, &auth, "/api/v1/patients?limit=100&expand=full").await;
    let insured = everyone["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["insurance"]["secondary"].is_object())
        .expect("a demo patient with two insurances")
        .clone();
    let id = insured["id"].as_str().expect("id");
    let bundle = ok(&api, &auth, &format!("/Coverage?beneficiary=Patient/{id}")).await;
    let coverages = matches(&bundle);
    assert_eq!(coverages.len(), 2);
    for (coverage, rank, order) in [
        (&coverages[0], "primary", 1),
        (&coverages[1], "secondary", 2),
    ] {
        assert_eq!(coverage["id"], format!("{id}.{rank}"));
        assert_eq!(coverage["order"], order);
        assert_eq!(coverage["status"], "active");
        assert_eq!(
            coverage["beneficiary"]["reference"],
            format!("Patient/{id}")
        );
        assert_eq!(
            coverage["subscriberId"],
            insured["insurance"][rank]["memberId"]
        );
        assert_eq!(
            coverage["payor"][0]["display"],
            insured["insurance"][rank]["provider"]
        );
        assert_eq!(
            &ok(&api, &auth, &format!("/Coverage/{id}.{rank}")).await,
            coverage
        );
    }
    // Someone without insurance has none; an unknown rank is not found.
    let uninsured = everyone["patients"]
        .as_array()
        .expect("patients")
        .iter()
        .find(|p| p["insurance"].is_null())
        .expect("a demo patient without insurance");
    let none = ok(
        &api,
        &auth,
        &format!(
            "/Coverage?patient={}",
            uninsured["id"].as_str().expect("id")
        ),
    )
    .await;
    assert_eq!(none["total"], 0);
    let (status, body) = fhir(&api, &auth, &format!("/Coverage/{id}.tertiary")).await;
    assert_outcome(status, &body, 404, "not-found");
}
