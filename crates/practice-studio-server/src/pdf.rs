//! The PDFs the API serves: invoices, payment receipts, and the demo's attachments (lab results,
//! referral letters). Text only, in the standard Helvetica fonts every PDF reader has, so a
//! document is a few kilobytes and needs no font file. A document is a pure function of its
//! input (no creation date, no random ids): the same invoice gives the same bytes, so its `ETag`
//! is stable.

use chrono::{DateTime, NaiveDate, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use practice_studio::model::{money, Invoice, Patient, Payment};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::storage::StoredRecord;

const PAGE_WIDTH: f32 = 612.0; // US Letter
const PAGE_HEIGHT: f32 = 792.0;
const MARGIN: f32 = 56.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Who sends the document: the practice's name and address lines.
#[derive(Debug, Clone)]
pub struct Practice {
    pub name: String,
    pub lines: Vec<String>,
}

/// One piece of text on a line: where it starts, how big, whether bold.
struct Cell<'a> {
    x: f32,
    size: f32,
    bold: bool,
    text: &'a str,
}

fn cell(x: f32, text: &str) -> Cell<'_> {
    Cell {
        x,
        size: 10.0,
        bold: false,
        text,
    }
}

/// Pages of text laid out top to bottom.
struct Sheet {
    title: String,
    pages: Vec<Content>,
    y: f32,
}

impl Sheet {
    fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            pages: vec![Content::new()],
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    /// A line of cells, `height` points below the previous one (a new page when it would not
    /// fit).
    fn line(&mut self, height: f32, cells: &[Cell<'_>]) {
        if self.y - height < MARGIN {
            self.pages.push(Content::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
        self.y -= height;
        let y = self.y;
        let Some(content) = self.pages.last_mut() else {
            return;
        };
        for cell in cells {
            content.begin_text();
            content.set_font(if cell.bold { BOLD } else { REGULAR }, cell.size);
            content.next_line(MARGIN + cell.x, y);
            content.show(Str(&win_ansi(cell.text)));
            content.end_text();
        }
    }

    fn text(&mut self, text: &str) {
        self.line(14.0, &[cell(0.0, text)]);
    }

    fn heading(&mut self, text: &str) {
        self.line(
            22.0,
            &[Cell {
                x: 0.0,
                size: 12.0,
                bold: true,
                text,
            }],
        );
    }

    fn title_block(&mut self, practice: &Practice, document: &str) {
        self.line(
            18.0,
            &[Cell {
                x: 0.0,
                size: 16.0,
                bold: true,
                text: &practice.name,
            }],
        );
        for line in &practice.lines {
            self.text(line);
        }
        self.line(
            28.0,
            &[Cell {
                x: 0.0,
                size: 14.0,
                bold: true,
                text: document,
            }],
        );
    }

    /// A horizontal rule under the current line.
    fn rule(&mut self) {
        self.y -= 6.0;
        let y = self.y;
        if let Some(content) = self.pages.last_mut() {
            content.set_line_width(0.5);
            content.move_to(MARGIN, y);
            content.line_to(PAGE_WIDTH - MARGIN, y);
            content.stroke();
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_page = 6;
        let page_ids: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Practice Studio"));
        for (page_id, content) in page_ids.iter().zip(self.pages) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(content_id);
            let mut resources = page.resources();
            resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

/// Text in the fonts' WinAnsi encoding: Latin-1 as it is, anything else as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            n @ (0x20..=0x7e | 0xa0..=0xff) => n as u8,
            _ => b'?',
        })
        .collect()
}

fn dollars(amount: &rust_decimal::Decimal) -> String {
    format!("${}", money::to_wire_text(amount))
}

fn patient_lines(sheet: &mut Sheet, patient: &Patient) {
    sheet.text(&format!(
        "Patient: {} {} ({}, {})",
        patient.first_name, patient.last_name, patient.id, patient.mrn
    ));
    if let Some(address) = &patient.contact_info.address {
        sheet.text(&address.line1);
        if let Some(line2) = &address.line2 {
            sheet.text(line2);
        }
        sheet.text(&format!(
            "{}, {} {}",
            address.city, address.state, address.postal_code
        ));
    }
}

/// The invoice: practice header, patient, items with CPT codes, payments, adjustments, balance.
pub fn invoice(practice: &Practice, invoice: &Invoice, patient: &Patient) -> Vec<u8> {
    let mut sheet = Sheet::new(&format!("Invoice {}", invoice.id));
    sheet.title_block(practice, &format!("Invoice {}", invoice.id));
    sheet.text(&format!(
        "Invoice date: {}    Due date: {}    Status: {}",
        invoice.date,
        invoice.due_date,
        invoice.status.as_str()
    ));
    sheet.line(8.0, &[]);
    patient_lines(&mut sheet, patient);

    sheet.heading("Services");
    let header = |text| Cell {
        x: 0.0,
        size: 10.0,
        bold: true,
        text,
    };
    sheet.line(
        16.0,
        &[
            header("CPT"),
            Cell {
                x: 50.0,
                ..header("Description")
            },
            Cell {
                x: 300.0,
                ..header("Unit price")
            },
            Cell {
                x: 370.0,
                ..header("Qty")
            },
            Cell {
                x: 420.0,
                ..header("Total")
            },
        ],
    );
    sheet.rule();
    for item in &invoice.items {
        let unit = dollars(&item.unit_price);
        let quantity = item.quantity.to_string();
        let total = dollars(&item.total);
        sheet.line(
            14.0,
            &[
                cell(0.0, &item.code),
                cell(50.0, &item.description),
                cell(300.0, &unit),
                cell(370.0, &quantity),
                cell(420.0, &total),
            ],
        );
    }
    sheet.rule();
    let amount = dollars(&invoice.amount);
    sheet.line(16.0, &[cell(300.0, "Amount"), cell(420.0, &amount)]);

    sheet.heading("Payments");
    if invoice.payments.is_empty() {
        sheet.text("None received.");
    }
    for payment in &invoice.payments {
        let date = payment.date.to_string();
        let reference = payment.reference.clone().unwrap_or_default();
        let paid = dollars(&payment.amount);
        sheet.line(
            14.0,
            &[
                cell(0.0, &date),
                cell(80.0, &payment.method),
                cell(180.0, &reference),
                cell(420.0, &paid),
            ],
        );
    }
    if !invoice.adjustments.is_empty() {
        sheet.heading("Adjustments");
        for adjustment in &invoice.adjustments {
            let date = adjustment.date.to_string();
            let kind = match adjustment.kind {
                practice_studio::model::AdjustmentKind::WriteOff => "Write-off",
                practice_studio::model::AdjustmentKind::Insurance => "Insurance adjustment",
            };
            let adjusted = dollars(&adjustment.amount);
            sheet.line(
                14.0,
                &[
                    cell(0.0, &date),
                    cell(80.0, kind),
                    cell(200.0, &adjustment.reason),
                    cell(420.0, &adjusted),
                ],
            );
        }
    }
    sheet.line(10.0, &[]);
    sheet.rule();
    let paid = dollars(&invoice.paid_amount);
    let adjusted = dollars(&invoice.adjusted_amount);
    let balance = dollars(&invoice.balance);
    sheet.line(16.0, &[cell(300.0, "Paid"), cell(420.0, &paid)]);
    sheet.line(14.0, &[cell(300.0, "Adjusted"), cell(420.0, &adjusted)]);
    sheet.line(
        18.0,
        &[
            Cell {
                x: 300.0,
                size: 12.0,
                bold: true,
                text: "Balance due",
            },
            Cell {
                x: 420.0,
                size: 12.0,
                bold: true,
                text: &balance,
            },
        ],
    );
    sheet.finish()
}

/// A receipt for one payment.
pub fn receipt(
    practice: &Practice,
    payment: &Payment,
    invoice: &Invoice,
    patient: &Patient,
) -> Vec<u8> {
    let mut sheet = Sheet::new(&format!("Receipt {}", payment.id));
    sheet.title_block(practice, &format!("Payment receipt {}", payment.id));
    patient_lines(&mut sheet, patient);
    sheet.line(8.0, &[]);
    sheet.text(&format!("Invoice: {} of {}", invoice.id, invoice.date));
    sheet.text(&format!("Date received: {}", payment.date));
    sheet.text(&format!("Method: {}", payment.method));
    if let Some(reference) = &payment.reference {
        sheet.text(&format!("Reference: {reference}"));
    }
    let amount = format!("Amount received: {}", dollars(&payment.amount));
    sheet.line(
        20.0,
        &[Cell {
            x: 0.0,
            size: 12.0,
            bold: true,
            text: &amount,
        }],
    );
    sheet.line(8.0, &[]);
    sheet.text(&format!(
        "Invoice balance after all payments and adjustments to date: {}",
        dollars(&invoice.balance)
    ));
    sheet.text("Thank you.");
    sheet.finish()
}

/// The demo's lab results for a record: a panel of values made from the attachment's id.
pub fn lab_results(record: &StoredRecord, attachment_id: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed_of(attachment_id));
    let practice = Practice {
        name: "Springfield Clinical Laboratory".into(),
        lines: vec!["Accession ".to_owned() + attachment_id],
    };
    let mut sheet = Sheet::new("Laboratory results");
    sheet.title_block(&practice, "Laboratory results");
    sheet.text(&format!(
        "Patient: {}    Ordered by: {}",
        record.patient_id, record.provider_id
    ));
    sheet.text(&format!(
        "Collected: {}    Reported: {}",
        record.date.format("%Y-%m-%d %H:%M UTC"),
        at.format("%Y-%m-%d %H:%M UTC")
    ));
    sheet.heading("Complete blood count and metabolic panel");
    let tests: [(&str, f64, f64, &str); 7] = [
        ("WBC", 4.0, 11.0, "10^3/uL"),
        ("Hemoglobin", 12.0, 17.5, "g/dL"),
        ("Platelets", 150.0, 400.0, "10^3/uL"),
        ("Glucose, fasting", 70.0, 99.0, "mg/dL"),
        ("Creatinine", 0.6, 1.3, "mg/dL"),
        ("Total cholesterol", 125.0, 200.0, "mg/dL"),
        ("LDL cholesterol", 50.0, 130.0, "mg/dL"),
    ];
    for (name, low, high, unit) in tests {
        let value = low + (high - low) * rng.random_range(-0.15..1.15);
        let flag = if value < low {
            "L"
        } else if value > high {
            "H"
        } else {
            ""
        };
        let value = format!("{value:.1}");
        let range = format!("{low}-{high} {unit}");
        sheet.line(
            14.0,
            &[
                cell(0.0, name),
                cell(180.0, &value),
                cell(240.0, flag),
                cell(280.0, &range),
            ],
        );
    }
    sheet.line(10.0, &[]);
    sheet.text("H = above reference range, L = below reference range.");
    sheet.finish()
}

/// The demo's referral letter for a record.
pub fn referral_letter(record: &StoredRecord, date: NaiveDate) -> Vec<u8> {
    let practice = Practice {
        name: "Referral letter".into(),
        lines: vec![],
    };
    let mut sheet = Sheet::new("Referral letter");
    sheet.title_block(&practice, &record.title);
    sheet.text(&format!("Date: {date}"));
    sheet.text(&format!("Patient: {}", record.patient_id));
    sheet.text(&format!("Referring provider: {}", record.provider_id));
    sheet.line(8.0, &[]);
    sheet.text("Dear colleague,");
    sheet.text("I would be grateful if you could see this patient.");
    sheet.heading("History");
    sheet.text(&record.content.subjective);
    sheet.heading("Findings");
    sheet.text(&record.content.objective);
    sheet.text(&record.content.assessment);
    sheet.heading("Request");
    sheet.text(&record.content.plan);
    sheet.line(10.0, &[]);
    sheet.text("Yours sincerely,");
    sheet.text(record.provider_id.as_str());
    sheet.finish()
}

/// The `ETag` of a representation: a hash of its bytes. Every answer the records and billing
/// routes give is a pure function of what is stored, so equal tags mean equal bytes.
pub fn etag_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// `bytes` as an answer of `status` with its type and `ETag`; a GET whose `If-None-Match` names
/// the tag is answered 304 without the bytes.
pub fn tagged(
    status: axum::http::StatusCode,
    bytes: Vec<u8>,
    content_type: &str,
    request: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::IntoResponse;

    let tag = etag_of(&bytes);
    let unchanged = status == StatusCode::OK
        && request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == tag || t == "*")
            });
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, bytes).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// A value as a JSON answer with its `ETag` (see [`tagged`]).
pub fn tagged_json<T: serde::Serialize>(
    status: axum::http::StatusCode,
    value: &T,
    request: &axum::http::HeaderMap,
) -> Result<axum::response::Response, crate::error::ApiError> {
    let bytes = serde_json::to_vec(value).map_err(crate::error::ApiError::internal)?;
    Ok(tagged(status, bytes, "application/json", request))
}

/// A document as an HTTP answer: its bytes with their type, length and `ETag` (see [`tagged`]),
/// and how to save it.
pub fn response(
    bytes: Vec<u8>,
    content_type: &str,
    filename: &str,
    inline: bool,
    request: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};

    let mut response = tagged(StatusCode::OK, bytes, content_type, request);
    // Filenames are ours (ids and fixed names), but keep the header to safe characters anyway.
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{safe}\"",
        if inline { "inline" } else { "attachment" }
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A stable number from an id (FNV-1a), to seed a document's made-up values.
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_survives_the_round_trip_through_a_pdf_reader() {
        let mut sheet = Sheet::new("Test");
        sheet.heading("Balance due");
        sheet.line(
            14.0,
            &[
                cell(0.0, "99213"),
                cell(60.0, "Office visit"),
                cell(300.0, "$120.00"),
            ],
        );
        sheet.text("Kowalski O'Brien café");
        let bytes = sheet.finish();
        assert!(bytes.starts_with(b"%PDF-"));
        let document = lopdf::Document::load_mem(&bytes).expect("a PDF");
        let text = document.extract_text(&[1]).expect("text");
        for expected in ["Balance due", "99213", "Office visit", "$120.00", "O'Brien"] {
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }

    #[test]
    fn long_documents_continue_on_new_pages() {
        let mut sheet = Sheet::new("Long");
        for i in 0..100 {
            sheet.text(&format!("line {i}"));
        }
        let document = lopdf::Document::load_mem(&sheet.finish()).expect("a PDF");
        assert!(document.get_pages().len() >= 2);
        let last = document.get_pages().len() as u32;
        assert!(document
            .extract_text(&[last])
            .expect("text")
            .contains("line 99"));
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        let make = || {
            let mut sheet = Sheet::new("Same");
            sheet.text("hello");
            sheet.finish()
        };
        assert_eq!(make(), make());
        assert_eq!(seed_of("ATT-10001"), seed_of("ATT-10001"));
    }
}
