//! Documents viewed at the desk: a record's attachments, an invoice's PDF and payment receipts.
//! Their bytes go to the UI in the command's answer (never a temporary file, never an address of
//! the server); each opening is written to the audit log. A payment still waiting in the outbox
//! has no receipt on the server yet, so the desk makes a provisional one in memory, marked
//! "pending confirmation".

use base64::Engine as _;
use practice_studio::client::Document;
use practice_studio::model::{AttachmentId, InvoiceId, Payment, PaymentId};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use frontdesk_store::{AuditAction, EntityKind, NewAttachment};

use crate::desk::{CoreError, Desk};
use crate::payments::LOCAL_PAYMENT_PREFIX;
use crate::roles::{READ_INVOICES, READ_RECORDS};

/// Which document to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocumentRef {
    /// A record's attachment (clinicians).
    #[serde(rename_all = "camelCase")]
    Attachment { attachment_id: String },
    /// An invoice as the server prints it.
    #[serde(rename_all = "camelCase")]
    InvoicePdf { invoice_id: String },
    /// A payment's receipt: the server's once it accepted the payment, a provisional one
    /// before.
    #[serde(rename_all = "camelCase")]
    Receipt {
        invoice_id: String,
        payment_id: String,
    },
}

/// Arguments of `open_document`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentArgs {
    pub document: DocumentRef,
}

/// An opened document, its bytes in base64 (the one encoding both the window's IPC and browser
/// mode's JSON carry without a copy per byte as a number).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    /// The name to save it under, e.g. `INV-1001.pdf`.
    pub file_name: String,
    pub content_type: String,
    pub base64: String,
    /// A provisional receipt: the payment is not yet confirmed by the server.
    pub provisional: bool,
    /// Read from this desk's encrypted cache because the server could not be reached.
    pub from_cache: bool,
}

impl std::fmt::Debug for DocumentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A patient's document: its content is never printed.
        f.debug_struct("DocumentView")
            .field("content_type", &self.content_type)
            .field("len", &self.base64.len())
            .field("provisional", &self.provisional)
            .finish()
    }
}

/// A document's bytes, before encoding.
pub struct OpenedDocument {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub provisional: bool,
    pub from_cache: bool,
}

impl OpenedDocument {
    fn view(self) -> DocumentView {
        DocumentView {
            file_name: self.file_name,
            content_type: self.content_type,
            base64: base64::engine::general_purpose::STANDARD.encode(&self.bytes),
            provisional: self.provisional,
            from_cache: self.from_cache,
        }
    }
}

/// A file name without path separators or control characters.
/// Where an invoice's PDF is kept in the cache's attachment table (apart from any attachment id,
/// which the server names `ATT-…`).
fn invoice_pdf_cache_id(invoice_id: &str) -> String {
    format!("invoice-pdf:{invoice_id}")
}

fn safe_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

/// A document fetched from the server, kept in the encrypted cache under `cache_id` (the newest
/// copy replaces the last) so it opens offline next time; offline, the kept copy. `name` is the
/// file name's stem when the server gives none.
async fn fetched_or_kept(
    store: &frontdesk_store::Store,
    fetched: Result<practice_studio::client::Answer<Document>, practice_studio::client::Error>,
    cache_id: &str,
    name: &str,
) -> Result<OpenedDocument, CoreError> {
    match fetched {
        Ok(answer) => {
            let Document {
                content_type,
                filename,
                bytes,
                ..
            } = answer.value;
            if let Err(error) = store
                .put_attachment(&NewAttachment {
                    id: cache_id.to_owned(),
                    patient_id: None,
                    content_type: content_type.clone(),
                    bytes: bytes.clone(),
                })
                .await
            {
                tracing::info!(%error, "document not kept in the cache");
            }
            Ok(OpenedDocument {
                file_name: safe_name(
                    filename.as_deref().unwrap_or_default(),
                    &format!("{name}.pdf"),
                ),
                content_type,
                bytes,
                provisional: false,
                from_cache: false,
            })
        }
        Err(error) => match CoreError::from_api(error) {
            CoreError::Offline(error) => {
                let cached = store
                    .attachment(cache_id)
                    .await?
                    .ok_or(CoreError::Offline(error))?;
                Ok(OpenedDocument {
                    file_name: format!("{name}.pdf"),
                    content_type: cached.content_type,
                    bytes: cached.bytes,
                    provisional: false,
                    from_cache: true,
                })
            }
            other => Err(other),
        },
    }
}

impl Desk {
    /// Opens a document for viewing (the bytes in base64); the opening is recorded.
    pub async fn open_document(&self, document: &DocumentRef) -> Result<DocumentView, CoreError> {
        Ok(self.document(document).await?.view())
    }

    /// A document's bytes, recording the opening (viewing and "Save as" both count).
    pub async fn document(&self, document: &DocumentRef) -> Result<OpenedDocument, CoreError> {
        let (me, client) = self.signed_in().await?;
        let cache = self.cache()?;
        let store = cache.engine.store();
        let (opened, action, kind, id) = match document {
            DocumentRef::Attachment { attachment_id } => {
                crate::chart::require(&me, READ_RECORDS, "medical records")?;
                let fetched = client
                    .records()
                    .download(&AttachmentId(attachment_id.clone()))
                    .send()
                    .await;
                let opened = fetched_or_kept(store, fetched, attachment_id, attachment_id).await?;
                (
                    opened,
                    AuditAction::ViewedAttachment,
                    "attachment",
                    attachment_id.clone(),
                )
            }
            DocumentRef::InvoicePdf { invoice_id } => {
                crate::chart::require(&me, READ_INVOICES, "invoices")?;
                let fetched = client
                    .billing()
                    .invoice_pdf(&InvoiceId(invoice_id.clone()))
                    .send()
                    .await;
                // Kept beside the attachments in the encrypted cache (the newest copy replaces
                // the last), so the invoice opens offline as it was when last seen.
                let cache_id = invoice_pdf_cache_id(invoice_id);
                let opened = fetched_or_kept(store, fetched, &cache_id, invoice_id).await?;
                (
                    opened,
                    AuditAction::ViewedInvoice,
                    "invoice_pdf",
                    invoice_id.clone(),
                )
            }
            DocumentRef::Receipt {
                invoice_id,
                payment_id,
            } => {
                crate::chart::require(&me, READ_INVOICES, "invoices")?;
                let opened = self.receipt(&client, invoice_id, payment_id).await?;
                (
                    opened,
                    AuditAction::ViewedInvoice,
                    "receipt",
                    payment_id.clone(),
                )
            }
        };
        cache.audit.append(&me.user_id, action, kind, &id).await?;
        tracing::info!(kind, provisional = opened.provisional, "document opened");
        Ok(opened)
    }

    async fn receipt(
        &self,
        client: &practice_studio::client::Client,
        invoice_id: &str,
        payment_id: &str,
    ) -> Result<OpenedDocument, CoreError> {
        let store = self.cache()?.engine.store().clone();
        let mut server_id = payment_id.to_owned();
        if payment_id.starts_with(LOCAL_PAYMENT_PREFIX) {
            // The pending payment first, then the mapping: accepting the payment removes the one
            // and records the other in one transaction, so this order cannot miss both.
            let pending = store
                .pending_payments(invoice_id)
                .await?
                .into_iter()
                .find(|p| p.id.as_str() == payment_id);
            match pending {
                None => {
                    server_id = store
                        .mapped_id(EntityKind::Payment, payment_id)
                        .await?
                        .ok_or_else(|| CoreError::NotFound {
                            what: "payment",
                            id: payment_id.to_owned(),
                        })?
                }
                Some(pending) => {
                    let invoice =
                        store
                            .invoice(invoice_id)
                            .await?
                            .ok_or_else(|| CoreError::NotFound {
                                what: "invoice",
                                id: invoice_id.to_owned(),
                            })?;
                    let patient = store.patient(&invoice.patient_id).await?;
                    let patient_name = patient
                        .map(|p| format!("{} {}", p.first_name, p.last_name))
                        .unwrap_or_default();
                    let bytes = provisional_receipt(&ProvisionalReceipt {
                        payment: &pending,
                        invoice_id,
                        patient_name: &patient_name,
                        balance_after: invoice.balance,
                    });
                    return Ok(OpenedDocument {
                        file_name: format!("receipt-{invoice_id}-pending.pdf"),
                        content_type: "application/pdf".into(),
                        bytes,
                        provisional: true,
                        from_cache: true,
                    });
                }
            }
        }
        let answer = client
            .billing()
            .receipt(&PaymentId(server_id.clone()))
            .send()
            .await
            .map_err(CoreError::from_api)?;
        Ok(OpenedDocument {
            file_name: safe_name(
                answer.value.filename.as_deref().unwrap_or_default(),
                &format!("receipt-{server_id}.pdf"),
            ),
            content_type: answer.value.content_type,
            bytes: answer.value.bytes,
            provisional: false,
            from_cache: false,
        })
    }
}

/// What a provisional receipt says.
pub struct ProvisionalReceipt<'a> {
    pub payment: &'a Payment,
    pub invoice_id: &'a str,
    pub patient_name: &'a str,
    /// The invoice's balance with this payment (and any other pending ones) counted in.
    pub balance_after: rust_decimal::Decimal,
}

/// The words that mark a receipt as provisional, on the receipt itself.
pub const PENDING_MARK: &str = "PROVISIONAL - pending confirmation";

/// A one-page provisional receipt (US Letter, Helvetica, text only), made in memory.
pub fn provisional_receipt(receipt: &ProvisionalReceipt<'_>) -> Vec<u8> {
    use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};
    let money = |d: rust_decimal::Decimal| format!("${}", d.round_dp(2));
    let mut lines: Vec<(f32, bool, String)> = vec![
        (18.0, true, "Payment receipt".into()),
        (14.0, true, PENDING_MARK.into()),
        (
            10.0,
            false,
            "Taken at the desk and not yet confirmed by the server; the confirmed receipt replaces this one."
                .into(),
        ),
        (11.0, false, String::new()),
        (11.0, false, format!("Patient: {}", receipt.patient_name)),
        (11.0, false, format!("Invoice: {}", receipt.invoice_id)),
        (11.0, false, format!("Date received: {}", receipt.payment.date)),
        (11.0, false, format!("Method: {}", receipt.payment.method)),
    ];
    if let Some(reference) = &receipt.payment.reference {
        lines.push((11.0, false, format!("Reference: {reference}")));
    }
    lines.push((
        13.0,
        true,
        format!("Amount received: {}", money(receipt.payment.amount)),
    ));
    lines.push((
        11.0,
        false,
        format!(
            "Invoice balance with this payment: {}",
            money(receipt.balance_after)
        ),
    ));
    let mut content = Content::new();
    let mut y = 792.0 - 72.0;
    for (size, bold, text) in &lines {
        y -= size * 1.8;
        content.begin_text();
        content.set_font(Name(if *bold { b"F2" } else { b"F1" }), *size);
        content.next_line(64.0, y);
        content.show(Str(&latin1(text)));
        content.end_text();
    }
    let (catalog, tree, page, stream, regular, bold, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
        Ref::new(7),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    {
        let mut p = pdf.page(page);
        p.media_box(Rect::new(0.0, 0.0, 612.0, 792.0));
        p.parent(tree);
        p.contents(stream);
        p.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
    }
    pdf.stream(stream, &content.finish());
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr("Provisional payment receipt"))
        .producer(TextStr("Front Desk"));
    pdf.finish()
}

/// Text in WinAnsi (Latin-1 here): what the standard fonts can show; anything else is `?`.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(safe_name("../../etc/passwd", "x.pdf"), "_.._etc_passwd");
        assert_eq!(safe_name("lab results.pdf", "x.pdf"), "lab results.pdf");
        assert_eq!(safe_name("  ", "x.pdf"), "x.pdf");
    }
}
