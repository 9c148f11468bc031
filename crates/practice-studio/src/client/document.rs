//! Files the API serves (attachments, invoice PDFs, receipts): a [`Download`] answers with the
//! bytes and what the headers say about them instead of parsing JSON.

use std::future::IntoFuture;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderName;

use super::{Answer, Call, Error, Priority, IDEMPOTENT_REPLAYED, X_REQUEST_ID};

/// A downloaded file.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    /// `Content-Type`, e.g. `application/pdf`.
    pub content_type: String,
    /// The name the server suggests (`Content-Disposition`), if any.
    pub filename: Option<String>,
    /// The `ETag`: the same tag means the same bytes.
    pub etag: Option<String>,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes are a patient's document: never printed.
        f.debug_struct("Document")
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("etag", &self.etag)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// `attachment; filename="lab_results.pdf"` → `lab_results.pdf`.
fn filename_of(disposition: &str) -> Option<String> {
    disposition.split(';').find_map(|part| {
        let value = part.trim().strip_prefix("filename=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

/// A call that answers with a file ([`Document`]): `.await` it, or set options first. Errors
/// come as the API's JSON envelope, like every other call's.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct Download<'a> {
    call: Call<'a, Document>,
}

impl<'a> Download<'a> {
    /// A GET of `call`'s path for a file of `content_type`.
    pub(super) fn new(mut call: Call<'a, Document>, content_type: &'static str) -> Self {
        call.request.accept = match content_type {
            "application/pdf" => "application/pdf, application/json;q=0.5",
            _ => "*/*",
        };
        Self { call }
    }

    /// Interactive (the default) or background.
    pub fn priority(self, priority: Priority) -> Self {
        Self {
            call: self.call.priority(priority),
        }
    }

    /// The `X-Request-ID` to send; a new one otherwise.
    pub fn request_id(self, id: impl Into<String>) -> Self {
        Self {
            call: self.call.request_id(id),
        }
    }

    /// The `X-Correlation-ID` to send, instead of the client's.
    pub fn correlation_id(self, id: impl Into<String>) -> Self {
        Self {
            call: self.call.correlation_id(id),
        }
    }

    /// Sends the call and returns the file with the answer's headers.
    pub async fn send(self) -> Result<Answer<Document>, Error> {
        let call = self.call;
        if let Some(error) = call.early {
            return Err(error);
        }
        let raw = call.client.execute(&call.request).await?;
        let text = |name: &HeaderName| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = text(&reqwest::header::ETAG);
        Ok(Answer {
            value: Document {
                content_type: text(&reqwest::header::CONTENT_TYPE).unwrap_or_default(),
                filename: text(&reqwest::header::CONTENT_DISPOSITION)
                    .as_deref()
                    .and_then(filename_of),
                etag: etag.clone(),
                bytes: raw.body,
            },
            status: raw.status,
            request_id: text(&X_REQUEST_ID),
            etag,
            replayed: text(&IDEMPOTENT_REPLAYED).as_deref() == Some("true"),
        })
    }
}

/// A download as it arrives: what the headers said, and the bytes as a stream.
pub struct DocumentStream {
    pub content_type: String,
    pub filename: Option<String>,
    pub etag: Option<String>,
    /// `Content-Length`, when the server sent it.
    pub size: Option<u64>,
    /// The bytes, chunk by chunk; an error ends it (a cut connection is [`Error::Network`]).
    pub bytes: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, Error>>,
}

impl std::fmt::Debug for DocumentStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentStream")
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("etag", &self.etag)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<'a> Download<'a> {
    /// Sends the call and hands over the body as a byte stream instead of reading it whole: for
    /// large attachments, or to show a document while it arrives. Retries cover reaching an
    /// answer; once the bytes flow, a failure ends the stream and the caller starts again.
    pub async fn stream(self) -> Result<DocumentStream, Error> {
        use futures_util::StreamExt as _;
        let mut call = self.call;
        if let Some(error) = call.early {
            return Err(error);
        }
        call.request.stream_body = true;
        let raw = call.client.execute(&call.request).await?;
        let text = |name: &HeaderName| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let bytes = match raw.stream {
            Some(response) => response
                .bytes_stream()
                .map(|chunk| chunk.map_err(Error::network))
                .boxed(),
            // Only a 2xx answer is handed over unread; a body read whole is streamed as one chunk.
            None => futures_util::stream::once(std::future::ready(Ok(bytes::Bytes::from(
                raw.body.clone(),
            ))))
            .boxed(),
        };
        Ok(DocumentStream {
            content_type: text(&reqwest::header::CONTENT_TYPE).unwrap_or_default(),
            filename: text(&reqwest::header::CONTENT_DISPOSITION)
                .as_deref()
                .and_then(filename_of),
            etag: text(&reqwest::header::ETAG),
            size: text(&reqwest::header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            bytes,
        })
    }
}

impl<'a> IntoFuture for Download<'a> {
    type Output = Result<Document, Error>;
    type IntoFuture = BoxFuture<'a, Result<Document, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        let sent = self.send();
        Box::pin(async move { sent.await.map(|answer| answer.value) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_filename_is_read_from_content_disposition() {
        assert_eq!(
            filename_of("attachment; filename=\"lab_results.pdf\"").as_deref(),
            Some("lab_results.pdf")
        );
        assert_eq!(
            filename_of("inline; filename=INV-10001.pdf").as_deref(),
            Some("INV-10001.pdf")
        );
        assert_eq!(filename_of("inline"), None);
    }

    #[test]
    fn a_document_s_debug_shows_no_bytes() {
        let document = Document {
            content_type: "application/pdf".into(),
            filename: None,
            etag: None,
            bytes: b"%PDF-1.7 secret".to_vec(),
        };
        assert!(!format!("{document:?}").contains("secret"));
    }
}
