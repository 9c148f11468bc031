//! Invoices and payments against the real server on loopback: derived statuses (overdue is not
//! open, and an invoice turns overdue with the clock), filters and pages, the money rules in exact
//! decimals (sums, cents, over-payment, paid through payments and adjustments), idempotent
//! payments, the invoice and receipt PDFs read back, 404s and scopes.

#[allow(dead_code)] // each test binary uses part of the helpers
mod support;

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{bearer, envelope, Api};

const BILLING: &str = "billing@demo.clinic";
const TODAY: &str = "2026-11-23";

fn dec(value: &Value) -> Decimal {
    // serde_json (without arbitrary precision) reads numbers as f64; its shortest text is the
    // decimal that was sent (see practice_studio::model::money).
    let number = value
        .as_f64()
        .unwrap_or_else(|| panic!("a number: {value}"));
    Decimal::from_str(&number.to_string()).expect("decimal")
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

fn date(value: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(value.as_str().expect("date"), "%Y-%m-%d").expect("date")
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body
}

/// Every invoice of a list route (`path` has a query already or not), through pages of 100.
async fn all(api: &Api, auth: &str, path: &str) -> Vec<Value> {
    let joiner = if path.contains('?') { '&' } else { '?' };
    let mut invoices = Vec::new();
    loop {
        let page = json_of(
            api.get(
                &format!("{path}{joiner}limit=100&offset={}", invoices.len()),
                auth,
            )
            .await,
        )
        .await;
        let items = page["invoices"].as_array().expect("invoices").clone();
        let total = page["total"].as_u64().expect("total") as usize;
        let empty = items.is_empty();
        invoices.extend(items);
        if empty || invoices.len() >= total {
            assert_eq!(invoices.len(), total);
            return invoices;
        }
    }
}

/// Every money rule of one invoice.
fn assert_adds_up(invoice: &Value, today: NaiveDate) {
    let mut amount = Decimal::ZERO;
    for item in invoice["items"].as_array().expect("items") {
        let total =
            dec(&item["unitPrice"]) * Decimal::from(item["quantity"].as_u64().expect("qty"));
        assert_eq!(dec(&item["total"]), total, "{item}");
        assert!(
            item["code"].as_str().is_some_and(|c| c.len() == 5),
            "a CPT code: {item}"
        );
        amount += total;
    }
    assert_eq!(dec(&invoice["amount"]), amount, "{invoice}");
    let paid: Decimal = invoice["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| dec(&p["amount"]))
        .sum();
    assert_eq!(dec(&invoice["paidAmount"]), paid);
    let adjusted: Decimal = invoice["adjustments"]
        .as_array()
        .expect("adjustments")
        .iter()
        .map(|a| dec(&a["amount"]))
        .sum();
    assert_eq!(dec(&invoice["adjustedAmount"]), adjusted);
    assert_eq!(dec(&invoice["balance"]), amount - paid - adjusted);
    assert!(dec(&invoice["balance"]) >= Decimal::ZERO);
    let expected = if paid + adjusted >= amount {
        "paid"
    } else if today > date(&invoice["dueDate"]) {
        "overdue"
    } else {
        "open"
    };
    assert_eq!(invoice["status"], expected, "{invoice}");
}

#[tokio::test]
async fn invoices_have_the_reference_shape_add_up_and_link_everywhere() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let today = NaiveDate::from_str(TODAY).expect("date");
    let invoices = all(&api, &auth, "/api/v1/invoices").await;
    assert!(invoices.len() > 20, "{}", invoices.len());
    let mut statuses = BTreeSet::new();
    // Links are followed for the first few (the rest would only spend the rate limit's burst).
    for (n, invoice) in invoices.iter().enumerate() {
        let keys: BTreeSet<&str> = invoice
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let expected: BTreeSet<&str> = [
            "id",
            "patientId",
            "date",
            "dueDate",
            "status",
            "amount",
            "paidAmount",
            "items",
            "payments",
            "_links",
            "adjustments",
            "adjustedAmount",
            "balance",
        ]
        .into_iter()
        .collect();
        assert_eq!(keys, expected);
        assert_adds_up(invoice, today);
        statuses.insert(invoice["status"].as_str().expect("status").to_owned());
        if n >= 12 {
            continue;
        }
        for link in ["self", "patient", "pdf"] {
            let href = invoice["_links"][link]["href"].as_str().expect("href");
            assert_eq!(api.get(href, &auth).await.status(), 200, "{href}");
        }
        for payment in invoice["payments"].as_array().expect("payments") {
            let href = payment["_links"]["receipt"]["href"].as_str().expect("href");
            assert_eq!(api.get(href, &auth).await.status(), 200, "{href}");
            assert_eq!(payment["_links"]["invoice"], invoice["_links"]["self"]);
        }
    }
    assert_eq!(statuses.len(), 3, "every status in the demo: {statuses:?}");
    assert!(invoices
        .iter()
        .any(|i| !i["adjustments"].as_array().expect("array").is_empty()));
    // Newest first.
    let dates: Vec<NaiveDate> = invoices.iter().map(|i| date(&i["date"])).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
    // The detail is the list item, with an ETag that answers 304 while nothing changed.
    let first = &invoices[0];
    let href = first["_links"]["self"]["href"].as_str().expect("href");
    let response = api.get(href, &auth).await;
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    assert_eq!(&json_of(response).await, first);
    let cached = api
        .http
        .get(api.url(href))
        .header("Authorization", &auth)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("answers");
    assert_eq!(cached.status(), 304);
}

#[tokio::test]
async fn money_goes_on_the_wire_with_two_decimals() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let whole = api
        .get("/api/v1/invoices?limit=5", &auth)
        .await
        .text()
        .await
        .expect("text");
    // The envelope's `total` is a count; money starts inside the invoices.
    let text = &whole[whole.find("\"invoices\":").expect("invoices")..];
    let money_fields = [
        "amount",
        "paidAmount",
        "adjustedAmount",
        "balance",
        "unitPrice",
        "total",
    ];
    let mut checked = 0;
    for field in money_fields {
        let needle = format!("\"{field}\":");
        for (at, _) in text.match_indices(&needle) {
            let rest = &text[at + needle.len()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect();
            let (_, cents) = number
                .split_once('.')
                .unwrap_or_else(|| panic!("{field} {number} has no decimals"));
            assert_eq!(cents.len(), 2, "{field}: {number}");
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

#[tokio::test]
async fn statuses_filter_and_overdue_is_not_open() {
    let api = Api::demo(60).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let today = NaiveDate::from_str(TODAY).expect("date");
    let everything = all(&api, &auth, "/api/v1/invoices").await;
    let mut counted = 0;
    for status in ["open", "paid", "overdue"] {
        let listed = all(&api, &auth, &format!("/api/v1/invoices?status={status}")).await;
        assert!(!listed.is_empty(), "{status}");
        for invoice in &listed {
            assert_eq!(invoice["status"], status);
            let due = date(&invoice["dueDate"]);
            let balance = dec(&invoice["balance"]);
            match status {
                "paid" => assert_eq!(balance, Decimal::ZERO),
                "open" => assert!(balance > Decimal::ZERO && due >= today, "{invoice}"),
                _ => assert!(balance > Decimal::ZERO && due < today, "{invoice}"),
            }
        }
        let expected = everything.iter().filter(|i| i["status"] == status).count();
        assert_eq!(listed.len(), expected, "{status}");
        counted += listed.len();
    }
    assert_eq!(
        counted,
        everything.len(),
        "each invoice has exactly one status"
    );

    // One patient's list filters the same way.
    let patient = everything
        .iter()
        .find(|i| i["status"] == "overdue")
        .map(|i| i["patientId"].as_str().expect("id").to_owned())
        .expect("an overdue invoice");
    let mine = all(&api, &auth, &format!("/api/v1/patients/{patient}/invoices")).await;
    assert!(mine.iter().all(|i| i["patientId"] == patient.as_str()));
    assert_eq!(
        mine.len(),
        everything
            .iter()
            .filter(|i| i["patientId"] == patient.as_str())
            .count()
    );
    let overdue = all(
        &api,
        &auth,
        &format!("/api/v1/patients/{patient}/invoices?status=overdue"),
    )
    .await;
    let open = all(
        &api,
        &auth,
        &format!("/api/v1/patients/{patient}/invoices?status=open"),
    )
    .await;
    assert!(!overdue.is_empty());
    assert!(
        overdue.iter().all(|o| !open.contains(o)),
        "an overdue invoice is not listed as open"
    );
    let by_filter = all(
        &api,
        &auth,
        &format!("/api/v1/invoices?patient_id={patient}"),
    )
    .await;
    assert_eq!(by_filter, mine);

    // Dates are inclusive.
    let pick = &everything[everything.len() / 2];
    let day = pick["date"].as_str().expect("date");
    let on_day = all(
        &api,
        &auth,
        &format!("/api/v1/invoices?from_date={day}&to_date={day}"),
    )
    .await;
    assert!(on_day.contains(pick));
    assert_eq!(
        on_day.len(),
        everything.iter().filter(|i| i["date"] == day).count()
    );
    let from = all(&api, &auth, &format!("/api/v1/invoices?from_date={day}")).await;
    assert_eq!(
        from.len(),
        everything
            .iter()
            .filter(|i| date(&i["date"]) >= date(&pick["date"]))
            .count()
    );

    // Paging: pages of 7 give the whole list in order.
    let mut paged = Vec::new();
    while paged.len() < everything.len() {
        let page = json_of(
            api.get(
                &format!("/api/v1/invoices?limit=7&offset={}", paged.len()),
                &auth,
            )
            .await,
        )
        .await;
        assert_eq!(page["limit"], 7);
        assert_eq!(page["offset"], paged.len());
        paged.extend(page["invoices"].as_array().expect("array").clone());
    }
    assert_eq!(paged, everything);
}

#[tokio::test]
async fn an_open_invoice_turns_overdue_the_day_after_it_is_due() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let open = all(&api, &auth, "/api/v1/invoices?status=open").await;
    let invoice = open
        .iter()
        .min_by_key(|i| date(&i["dueDate"]))
        .expect("an open invoice")
        .clone();
    let href = invoice["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_owned();
    let due = date(&invoice["dueDate"]);
    let today = NaiveDate::from_str(TODAY).expect("date");
    api.clock.advance(Duration::days((due - today).num_days()));
    let auth = bearer(&api.user_token(BILLING).await);
    assert_eq!(
        json_of(api.get(&href, &auth).await).await["status"],
        "open",
        "due today is not overdue yet"
    );
    api.clock.advance(Duration::days(1));
    // Tokens live an hour; the day moved on.
    let auth = bearer(&api.user_token(BILLING).await);
    assert_eq!(
        json_of(api.get(&href, &auth).await).await["status"],
        "overdue"
    );
    let overdue = all(&api, &auth, "/api/v1/invoices?status=overdue").await;
    assert!(overdue.iter().any(|i| i["id"] == invoice["id"]));
    let still_open = all(&api, &auth, "/api/v1/invoices?status=open").await;
    assert!(still_open.iter().all(|i| i["id"] != invoice["id"]));
}

async fn pay(api: &Api, auth: &str, invoice: &str, key: &str, body: Value) -> reqwest::Response {
    api.http
        .post(api.url(&format!("/api/v1/invoices/{invoice}/payments")))
        .header("Authorization", auth)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("answers")
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn payments_add_exact_cents_refuse_over_payment_and_pay_the_invoice() {
    let api = Api::demo(40).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let today = NaiveDate::from_str(TODAY).expect("date");
    let unpaid = all(&api, &auth, "/api/v1/invoices?status=overdue").await;
    let invoice = unpaid
        .iter()
        .find(|i| {
            i["adjustments"].as_array().expect("array").is_empty() && dec(&i["balance"]) > d("1.00")
        })
        .expect("an overdue invoice without adjustments")
        .clone();
    let id = invoice["id"].as_str().expect("id").to_owned();
    let balance = dec(&invoice["balance"]);
    let paid_before = dec(&invoice["paidAmount"]);

    // One cent too much is refused, and nothing is recorded.
    let too_much = (balance + d("0.01")).to_string();
    let error = envelope(
        pay(
            &api,
            &auth,
            &id,
            "over",
            json!({"method": "Cash", "amount": f(&too_much)}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "amount");
    assert!(error["message"]
        .as_str()
        .expect("message")
        .contains(&balance.round_dp(2).to_string()));

    // 0.10 + 0.20 is exactly 0.30.
    let first = created(
        pay(
            &api,
            &auth,
            &id,
            "dime",
            json!({"method": "Cash", "amount": 0.10}),
        )
        .await,
    )
    .await;
    let second = created(
        pay(
            &api,
            &auth,
            &id,
            "two-dimes",
            json!({"method": "Credit Card", "amount": 0.20, "reference": "CC-AUTH-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        dec(&second["invoice"]["paidAmount"]) - paid_before,
        d("0.30")
    );
    assert_eq!(dec(&second["invoice"]["balance"]), balance - d("0.30"));
    assert_eq!(second["payment"]["reference"], "CC-AUTH-1");
    assert_eq!(second["payment"]["date"], TODAY);
    assert_ne!(first["payment"]["id"], second["payment"]["id"]);
    assert_adds_up(&second["invoice"], today);
    assert_eq!(second["invoice"]["status"], "overdue");

    // The rest pays it; after that any payment is too much.
    let rest = balance - d("0.30");
    let last = created(
        pay(
            &api,
            &auth,
            &id,
            "rest",
            json!({"method": "Check", "amount": f(&rest.to_string()), "reference": "CHK-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(last["invoice"]["status"], "paid");
    assert_eq!(dec(&last["invoice"]["balance"]), Decimal::ZERO);
    assert_adds_up(&last["invoice"], today);
    let stored = json_of(api.get(&format!("/api/v1/invoices/{id}"), &auth).await).await;
    assert_eq!(stored, last["invoice"]);
    envelope(
        pay(
            &api,
            &auth,
            &id,
            "after",
            json!({"method": "Cash", "amount": 0.01}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    let paid = all(&api, &auth, "/api/v1/invoices?status=paid").await;
    assert!(paid.iter().any(|i| i["id"] == id.as_str()));
}

/// A JSON number from decimal text, as a client would send it.
fn f(text: &str) -> Value {
    serde_json::from_str(text).expect("a number")
}

#[tokio::test]
async fn payments_and_adjustments_together_cover_an_invoice() {
    let api = Api::demo(80).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let today = NaiveDate::from_str(TODAY).expect("date");
    let everything = all(&api, &auth, "/api/v1/invoices").await;
    // Demo invoices paid through payments and an adjustment add up.
    let settled = everything
        .iter()
        .find(|i| i["status"] == "paid" && !i["adjustments"].as_array().expect("array").is_empty())
        .expect("a paid invoice with an adjustment");
    assert!(dec(&settled["paidAmount"]) < dec(&settled["amount"]));
    assert_eq!(
        dec(&settled["paidAmount"]) + dec(&settled["adjustedAmount"]),
        dec(&settled["amount"])
    );

    // An unpaid one with an insurance adjustment: paying what the adjustment leaves makes it paid;
    // paying the amount less the payments alone (ignoring the adjustment) is too much.
    let invoice = everything
        .iter()
        .find(|i| i["status"] != "paid" && !i["adjustments"].as_array().expect("array").is_empty())
        .expect("an unpaid invoice with an adjustment")
        .clone();
    let id = invoice["id"].as_str().expect("id");
    let ignoring_adjustments = dec(&invoice["amount"]) - dec(&invoice["paidAmount"]);
    envelope(
        pay(
            &api,
            &auth,
            id,
            "k1",
            json!({"method": "Cash", "amount": f(&ignoring_adjustments.to_string())}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    let balance = dec(&invoice["balance"]);
    assert_eq!(
        balance,
        ignoring_adjustments - dec(&invoice["adjustedAmount"])
    );
    let done = created(
        pay(
            &api,
            &auth,
            id,
            "k2",
            json!({"method": "Debit Card", "amount": f(&balance.to_string())}),
        )
        .await,
    )
    .await;
    assert_eq!(done["invoice"]["status"], "paid");
    assert!(dec(&done["invoice"]["paidAmount"]) < dec(&done["invoice"]["amount"]));
    assert_adds_up(&done["invoice"], today);
}

#[tokio::test]
async fn a_retried_payment_with_the_same_key_is_recorded_once() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let invoice = all(&api, &auth, "/api/v1/invoices?status=open").await[0].clone();
    let id = invoice["id"].as_str().expect("id");
    let payments_before = invoice["payments"].as_array().expect("array").len();
    let body = json!({"method": "Credit Card", "amount": 1.25, "reference": "CC-AUTH-77"});
    let first = pay(&api, &auth, id, "pay-once", body.clone()).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let first: Value = first.json().await.expect("json");
    assert_eq!(
        location,
        first["payment"]["_links"]["receipt"]["href"]
            .as_str()
            .expect("href")
    );
    let replay = pay(&api, &auth, id, "pay-once", body.clone()).await;
    assert_eq!(replay.status(), 201);
    assert!(replay.headers().contains_key("etag"));
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["location"], location.as_str());
    let replayed: Value = replay.json().await.expect("json");
    assert_eq!(replayed, first);
    let now = json_of(api.get(&format!("/api/v1/invoices/{id}"), &auth).await).await;
    assert_eq!(
        now["payments"].as_array().expect("array").len(),
        payments_before + 1,
        "one payment, not two"
    );
    assert_eq!(
        dec(&now["paidAmount"]),
        dec(&invoice["paidAmount"]) + d("1.25")
    );
    // The same key for another amount is refused.
    envelope(
        pay(
            &api,
            &auth,
            id,
            "pay-once",
            json!({"method": "Credit Card", "amount": 2.5}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
}

#[tokio::test]
async fn invalid_payments_and_queries_list_every_problem() {
    let api = Api::demo(10).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let invoice = all(&api, &auth, "/api/v1/invoices?status=open").await[0].clone();
    let id = invoice["id"].as_str().expect("id");
    let error = envelope(
        pay(
            &api,
            &auth,
            id,
            "bad-1",
            json!({"method": "Bitcoin", "amount": 0.001, "date": "2026-11-24",
                                               "reference": "x".repeat(101)}),
        )
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
        ["amount", "date", "method", "reference"]
            .into_iter()
            .collect()
    );
    for amount in [json!(0), json!(-5), json!("ten")] {
        let response = pay(
            &api,
            &auth,
            id,
            &format!("bad-{amount}"),
            json!({"method": "Cash", "amount": amount}),
        )
        .await;
        let error = envelope(response, 400, "invalid_request").await;
        assert_eq!(error["details"][0]["field"], "amount");
    }
    let before_invoice = date(&invoice["date"]) - Duration::days(1);
    let error = envelope(
        pay(
            &api,
            &auth,
            id,
            "early",
            json!({"method": "Cash", "amount": 1, "date": before_invoice.to_string()}),
        )
        .await,
        422,
        "unprocessable_entity",
    )
    .await;
    assert_eq!(error["details"][0]["field"], "date");

    let error = envelope(
        api.get(
            "/api/v1/invoices?status=unpaid&from_date=soon&to_date=2026-02-30&limit=101&offset=x",
            &auth,
        )
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
        ["from_date", "limit", "offset", "status", "to_date"]
            .into_iter()
            .collect()
    );
    let error = envelope(
        api.get(
            "/api/v1/patients/PAT-10001/invoices?from_date=2026-05-02&to_date=2026-05-01",
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
async fn missing_patients_invoices_and_payments_are_404() {
    let api = Api::demo(5).await;
    let auth = bearer(&api.user_token(BILLING).await);
    for path in [
        "/api/v1/patients/PAT-99999/invoices",
        "/api/v1/invoices/INV-99999999",
        "/api/v1/invoices/INV-99999999/pdf",
        "/api/v1/payments/PAY-99999999/receipt",
    ] {
        envelope(api.get(path, &auth).await, 404, "not_found").await;
    }
    envelope(
        pay(
            &api,
            &auth,
            "INV-99999999",
            "nowhere",
            json!({"method": "Cash", "amount": 1}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"));
    let document = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    document.extract_text(&pages).expect("text")
}

fn dollars(amount: Decimal) -> String {
    format!("${:.2}", amount)
}

#[tokio::test]
async fn the_invoice_pdf_shows_items_payments_adjustments_and_balance() {
    let api = Api::demo(60).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let everything = all(&api, &auth, "/api/v1/invoices").await;
    let invoice = everything
        .iter()
        .find(|i| {
            !i["adjustments"].as_array().expect("array").is_empty()
                && !i["payments"].as_array().expect("array").is_empty()
                && i["items"].as_array().expect("array").len() >= 2
        })
        .expect("an invoice with items, payments and adjustments");
    let href = invoice["_links"]["pdf"]["href"].as_str().expect("href");
    let response = api.get(href, &auth).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let id = invoice["id"].as_str().expect("id");
    assert_eq!(
        response.headers()["content-disposition"],
        format!("inline; filename=\"{id}.pdf\"").as_str()
    );
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let text = pdf_text(&response.bytes().await.expect("bytes"));
    let patient = json_of(
        api.get(
            invoice["_links"]["patient"]["href"].as_str().expect("href"),
            &auth,
        )
        .await,
    )
    .await;
    let mut expected = vec![
        "Main Clinic".to_owned(),
        format!("Invoice {id}"),
        patient["lastName"].as_str().expect("name").to_owned(),
        "Balance due".to_owned(),
        dollars(dec(&invoice["balance"])),
        dollars(dec(&invoice["amount"])),
    ];
    for item in invoice["items"].as_array().expect("items") {
        expected.push(item["code"].as_str().expect("code").to_owned());
        expected.push(
            item["description"]
                .as_str()
                .expect("description")
                .to_owned(),
        );
        expected.push(dollars(dec(&item["total"])));
    }
    for payment in invoice["payments"].as_array().expect("payments") {
        expected.push(payment["method"].as_str().expect("method").to_owned());
        expected.push(dollars(dec(&payment["amount"])));
    }
    for adjustment in invoice["adjustments"].as_array().expect("adjustments") {
        expected.push(adjustment["reason"].as_str().expect("reason").to_owned());
        expected.push(dollars(dec(&adjustment["amount"])));
    }
    for needle in &expected {
        assert!(
            text.contains(needle.as_str()),
            "{needle:?} missing from the invoice PDF:\n{text}"
        );
    }
    // Stable while the invoice is unchanged.
    assert_eq!(api.get(href, &auth).await.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn a_payment_s_receipt_is_a_pdf_with_its_amount() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let invoice = all(&api, &auth, "/api/v1/invoices?status=open").await[0].clone();
    let id = invoice["id"].as_str().expect("id");
    let before = api
        .get(&format!("/api/v1/invoices/{id}/pdf"), &auth)
        .await
        .headers()["etag"]
        .clone();
    let answer = created(
        pay(
            &api,
            &auth,
            id,
            "receipt",
            json!({"method": "Credit Card", "amount": 12.34, "reference": "CC-AUTH-4242"}),
        )
        .await,
    )
    .await;
    let href = answer["payment"]["_links"]["receipt"]["href"]
        .as_str()
        .expect("href");
    // A client that asks for a PDF by name gets one; one that takes only JSON is told no.
    let ask = |accept: &'static str| {
        api.http
            .get(api.url(href))
            .header("Authorization", &auth)
            .header("Accept", accept)
            .send()
    };
    assert_eq!(
        ask("application/json").await.expect("answers").status(),
        406
    );
    let response = ask("application/pdf").await.expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let text = pdf_text(&response.bytes().await.expect("bytes"));
    for needle in [
        "$12.34",
        "Credit Card",
        "CC-AUTH-4242",
        id,
        answer["payment"]["id"].as_str().expect("id"),
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing from the receipt:\n{text}"
        );
    }
    assert!(
        text.contains(&dollars(dec(&answer["invoice"]["balance"]))),
        "{text}"
    );
    // The invoice PDF changed with the payment.
    let after = api.get(&format!("/api/v1/invoices/{id}/pdf"), &auth).await;
    assert_ne!(after.headers()["etag"], before);
    let text = pdf_text(&after.bytes().await.expect("bytes"));
    assert!(
        text.contains("$12.34") && text.contains("CC-AUTH-4242"),
        "{text}"
    );
}

#[tokio::test]
async fn billing_routes_answer_each_role_as_its_scopes_say() {
    let api = Api::demo(10).await;
    let billing = bearer(&api.user_token(BILLING).await);
    let invoice = all(&api, &billing, "/api/v1/invoices?status=open").await[0].clone();
    let id = invoice["id"].as_str().expect("id").to_owned();
    let reads = [
        "/api/v1/invoices".to_owned(),
        format!(
            "/api/v1/patients/{}/invoices",
            invoice["patientId"].as_str().expect("id")
        ),
        format!("/api/v1/invoices/{id}"),
        format!("/api/v1/invoices/{id}/pdf"),
    ];
    let reception = bearer(&api.user_token("reception@demo.clinic").await);
    let clinician = bearer(&api.user_token("clinician@demo.clinic").await);
    let admin = bearer(&api.user_token("admin@demo.clinic").await);
    let integration = bearer(&api.client_token("integration-premium").await);
    let key = "ApiKey demo-api-key".to_owned();
    for path in &reads {
        for allowed in [&billing, &reception, &clinician, &admin, &integration, &key] {
            assert_eq!(api.get(path, allowed).await.status(), 200, "{path}");
        }
        envelope(
            api.get(path, "Bearer not-a-token").await,
            401,
            "unauthorized",
        )
        .await;
    }
    for (n, refused) in [&clinician, &integration, &key].into_iter().enumerate() {
        envelope(
            pay(
                &api,
                refused,
                &id,
                &format!("refused-{n}"),
                json!({"method": "Cash", "amount": 1}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    let answer = created(
        pay(
            &api,
            &admin,
            &id,
            "admin",
            json!({"method": "Cash", "amount": 1}),
        )
        .await,
    )
    .await;
    let receipt = answer["payment"]["_links"]["receipt"]["href"]
        .as_str()
        .expect("href");
    assert_eq!(api.get(receipt, &reception).await.status(), 200);
    // Billing reads no medical records.
    envelope(
        api.get("/api/v1/patients/PAT-10001/records", &billing)
            .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn concurrent_payments_never_take_an_invoice_past_its_amount() {
    let api = Api::demo(20).await;
    let auth = bearer(&api.user_token(BILLING).await);
    let invoice = all(&api, &auth, "/api/v1/invoices?status=overdue").await[0].clone();
    let id = invoice["id"].as_str().expect("id").to_owned();
    let balance = dec(&invoice["balance"]);
    // Ten desks each try to take a quarter of the balance (rounded up to the cent) at once.
    let quarter = (balance / Decimal::from(4))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero);
    let mut desks = tokio::task::JoinSet::new();
    for n in 0..10 {
        let request = api
            .http
            .post(api.url(&format!("/api/v1/invoices/{id}/payments")))
            .header("Authorization", &auth)
            .header("Idempotency-Key", format!("desk-{n}"))
            .json(&json!({"method": "Cash", "amount": f(&quarter.to_string())}));
        desks.spawn(async move { request.send().await.expect("answers").status().as_u16() });
    }
    let statuses: Vec<u16> = desks.join_all().await;
    let taken = statuses.iter().filter(|s| **s == 201).count();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 422),
        "{statuses:?}"
    );
    assert!(Decimal::from(taken as u64) * quarter <= balance);
    assert!(
        Decimal::from(taken as u64 + 1) * quarter > balance,
        "as many as fit were taken: {statuses:?}"
    );
    let after = json_of(api.get(&format!("/api/v1/invoices/{id}"), &auth).await).await;
    assert_eq!(
        dec(&after["paidAmount"]),
        dec(&invoice["paidAmount"]) + Decimal::from(taken as u64) * quarter
    );
    assert!(dec(&after["balance"]) >= Decimal::ZERO);
}
