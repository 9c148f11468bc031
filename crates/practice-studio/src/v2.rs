//! The v2 beta's wire types: cursor-paged lists and bulk writes. The calls are on `client::V2`
//! (feature `client`).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::{
    Appointment, AppointmentType, Delivery, Location, Patient, Provider, ProviderId, Slot,
    WaitlistCandidate, Webhook,
};

/// `GET /api/v2/patients`: a page of patient summaries after a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientCursorPage {
    pub patients: Vec<Patient>,
    /// Where to read on from; keep it after the last page to read only what is added later.
    pub next_cursor: String,
    /// More rows already follow `next_cursor`.
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/patients?q=`: a page of the enhanced search's ranking, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSearchPage {
    pub patients: Vec<Patient>,
    /// Each patient's score, in the same order: 2 for an id or MRN typed whole, else 0 to 1
    /// (`practice_studio::search::PatientQuery::score`).
    pub scores: Vec<f64>,
    /// Where the ranking goes on (pass it with the same text and filters).
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// What the enhanced search is narrowed to, besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientSearchFilters {
    pub status: Option<crate::model::PatientStatus>,
    /// Only patients this provider has seen (an appointment checked in, roomed or completed).
    pub provider_id: Option<crate::model::ProviderId>,
    /// Only patients changed at or after this instant.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// `GET /api/v2/appointments`: a page of appointments after a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentCursorPage {
    pub appointments: Vec<Appointment>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/locations`: a page of locations in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationCursorPage {
    pub locations: Vec<Location>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/providers`: a page of providers in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderCursorPage {
    pub providers: Vec<Provider>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/appointment-types`: a page of the catalogue in the order its types were added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentTypeCursorPage {
    #[serde(rename = "appointmentTypes")]
    pub appointment_types: Vec<AppointmentType>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/webhooks`: a page of the caller's subscriptions in the order they were registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCursorPage {
    pub webhooks: Vec<Webhook>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/webhooks/{id}/deliveries`: a page of a subscription's deliveries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCursorPage {
    pub deliveries: Vec<Delivery>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/providers/{id}/slots`: a page of free slots in start order; the cursor is the
/// start of the last slot sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotCursorPage {
    #[serde(rename = "providerId")]
    pub provider_id: ProviderId,
    /// Minutes.
    pub duration: u32,
    pub slots: Vec<Slot>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// `GET /api/v2/waitlist/candidates`: a page of who would take a freed slot (those waiting at
/// the first page best first, then those who joined since).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateCursorPage {
    pub candidates: Vec<WaitlistCandidate>,
    pub next_cursor: String,
    pub has_more: bool,
    pub limit: u32,
}

/// Create or update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkOperation {
    Create,
    Update,
}

/// One item of a bulk write: the single request it stands for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    pub op: BulkOperation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_match: Option<i64>,
    /// The body exactly as the single request sends it: an idempotency key is bound to these
    /// bytes, so a bulk item and a single request with one key must carry the same ones.
    pub body: Box<RawValue>,
}

impl BulkItem {
    fn new(
        op: BulkOperation,
        id: Option<String>,
        body: &impl Serialize,
    ) -> serde_json::Result<Self> {
        Ok(Self {
            op,
            id,
            idempotency_key: None,
            if_match: None,
            // The same serialization as the client's single requests (compact, field order).
            body: RawValue::from_string(serde_json::to_string(body)?)?,
        })
    }

    /// A create (the body of the single POST).
    pub fn create(body: &impl Serialize) -> serde_json::Result<Self> {
        Self::new(BulkOperation::Create, None, body)
    }

    /// An update of `id` (the body of the single PUT).
    pub fn update(id: impl Into<String>, body: &impl Serialize) -> serde_json::Result<Self> {
        Self::new(BulkOperation::Update, Some(id.into()), body)
    }

    /// A payment towards invoice `id` (the body of the single POST).
    pub fn payment(invoice: impl Into<String>, body: &impl Serialize) -> serde_json::Result<Self> {
        Self::new(BulkOperation::Create, Some(invoice.into()), body)
    }

    /// The item's `Idempotency-Key` (shared with single requests).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The version an update is based on (`If-Match`).
    pub fn if_match(mut self, version: i64) -> Self {
        self.if_match = Some(version);
        self
    }
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub index: usize,
    /// The status its single request would have answered.
    pub status: u16,
    #[serde(default)]
    pub resource: Option<Value>,
    /// The error envelope's `error`.
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(default)]
    pub replayed: bool,
}

impl BulkResult {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The answer of a bulk write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    pub results: Vec<BulkResult>,
    pub succeeded: usize,
    pub failed: usize,
}
