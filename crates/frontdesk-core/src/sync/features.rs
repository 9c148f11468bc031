//! What the server offers beyond the reference API, read from its OpenAPI document when the desk
//! connects, and how the engine degrades without it:
//!
//! | missing | instead |
//! |---|---|
//! | the change feed (`/api/v2/events`) | `updated_since` polling |
//! | `updated_since` as well | a periodic re-read of what the desk keeps (the appointment window every poll, patients every few polls) |
//! | `Idempotency-Key` | an ambiguous write failure (no answer, a cut-off or unreadable answer, 502/504) goes to the conflict list for a person to check, never resent; the SDK does not retry writes |
//! | the v2 cursor lists (`/api/v2/patients` with `expand=full`, `/api/v2/appointments` with dates) | first sync pages v1 by offset (`sort=created`) |
//! | the v2 cursor lists of the reference collections (`/api/v2/locations`, `/api/v2/providers`, `/api/v2/appointment-types`) | they are read through v1 (`limit=100`, providers by offset) |
//! | v2 bulk writes (`/api/v2/…/bulk`), or `Idempotency-Key` | the outbox sends one request per entry |

use practice_studio::client::{Client, Error as ClientError, Priority};
use practice_studio::model::Link;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{encode, SyncEngine, SyncError};

/// The sync-state key the last features read are kept under (a desk restarted offline keeps
/// degrading the same way).
const FEATURES_KEY: &str = "server:features";

/// Extensions of the Practice Studio API the engine uses when the server has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerFeatures {
    /// `GET /api/v2/events`, the change feed.
    pub change_feed: bool,
    /// `updated_since` on the patient and appointment lists.
    pub updated_since: bool,
    /// `Idempotency-Key` on writes: a resend is answered with the first answer.
    pub idempotency: bool,
    /// The v2 cursor lists first sync pages by: full patients, and appointments by dates.
    /// (Absent from what an older desk stored: read as missing until the next connect.)
    #[serde(default)]
    pub v2_lists: bool,
    /// The v2 bulk writes of patients, appointments and payments.
    #[serde(default)]
    pub v2_bulk: bool,
    /// The v2 cursor lists of locations, providers and appointment types, which first sync
    /// and refreshes read the reference collections by.
    #[serde(default)]
    pub v2_reference_lists: bool,
}

impl Default for ServerFeatures {
    /// Until the document has been read, the engine assumes the extensions (it learns otherwise
    /// at connect, before it sends anything).
    fn default() -> Self {
        Self::ALL
    }
}

impl ServerFeatures {
    pub const ALL: ServerFeatures = ServerFeatures {
        change_feed: true,
        updated_since: true,
        idempotency: true,
        v2_lists: true,
        v2_bulk: true,
        v2_reference_lists: true,
    };
    /// The reference API alone.
    pub const NONE: ServerFeatures = ServerFeatures {
        change_feed: false,
        updated_since: false,
        idempotency: false,
        v2_lists: false,
        v2_bulk: false,
        v2_reference_lists: false,
    };

    /// Whether the outbox sends by bulk: the bulk routes, and keys to make a resend of a bulk
    /// whose answer was lost replay instead of acting twice.
    pub fn bulk_sends(&self) -> bool {
        self.v2_bulk && self.idempotency
    }

    /// Reads the features from an OpenAPI 3 document.
    pub fn from_openapi(document: &Value) -> Self {
        let paths = &document["paths"];
        let has_param = |path: &str, method: &str, name: &str| {
            paths[path][method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(paths[path]["parameters"].as_array().into_iter().flatten())
                .map(|p| resolve(document, p))
                .any(|p| {
                    p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
        };
        ServerFeatures {
            change_feed: paths["/api/v2/events"]["get"].is_object(),
            updated_since: has_param("/api/v1/patients", "get", "updated_since")
                && has_param("/api/v1/appointments", "get", "updated_since"),
            idempotency: has_param("/api/v1/patients", "post", "Idempotency-Key")
                && has_param("/api/v1/appointments", "post", "Idempotency-Key"),
            // Summaries would leave the cached patients without what the chart shows.
            v2_lists: has_param("/api/v2/patients", "get", "expand")
                && has_param("/api/v2/appointments", "get", "start_date")
                && has_param("/api/v2/appointments", "get", "end_date"),
            v2_bulk: [
                "/api/v2/patients/bulk",
                "/api/v2/appointments/bulk",
                "/api/v2/invoices/payments/bulk",
            ]
            .iter()
            .all(|path| paths[*path]["post"].is_object()),
            v2_reference_lists: [
                "/api/v2/locations",
                "/api/v2/providers",
                "/api/v2/appointment-types",
            ]
            .iter()
            .all(|path| has_param(path, "get", "cursor")),
        }
    }
}

/// A parameter object, following one `$ref` into `components`.
fn resolve<'a>(document: &'a Value, parameter: &'a Value) -> &'a Value {
    match parameter["$ref"].as_str() {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|path| {
                path.split('/')
                    .fold(document, |node, part| &node[part.replace("~1", "/")])
            })
            .unwrap_or(parameter),
        None => parameter,
    }
}

impl SyncEngine {
    /// The features in force: read at connect, else as last read, else all.
    pub fn server_features(&self) -> ServerFeatures {
        self.state().features.unwrap_or_default()
    }

    /// Reads the server's OpenAPI document (`/openapi.json`) and degrades where an extension is
    /// missing (see the module's table). A server with no document at all is taken for the
    /// reference API alone. Call when connecting; the background loop calls it until it
    /// succeeds.
    pub async fn connect(&self) -> Result<ServerFeatures, SyncError> {
        let client = self.reader().await?;
        let features = read_features(&client).await;
        self.observe(&features);
        let features = match features {
            Ok(features) => features,
            Err(ClientError::NotFound(_)) => ServerFeatures::NONE,
            Err(error) => return Err(error.into()),
        };
        let value = encode(FEATURES_KEY, &features)?;
        self.inner
            .store
            .set_sync_state(FEATURES_KEY, &value)
            .await?;
        if features != ServerFeatures::ALL {
            tracing::info!(
                change_feed = features.change_feed,
                updated_since = features.updated_since,
                idempotency = features.idempotency,
                v2_lists = features.v2_lists,
                v2_bulk = features.v2_bulk,
                v2_reference_lists = features.v2_reference_lists,
                "the server lacks some extensions; sync degrades"
            );
        }
        self.state().features = Some(features);
        Ok(features)
    }

    /// The features as last read (also by an earlier run), without asking the server.
    pub(crate) async fn known_features(&self) -> Result<Option<ServerFeatures>, SyncError> {
        if let Some(features) = self.state().features {
            return Ok(Some(features));
        }
        let kept: Option<ServerFeatures> = self.read_state(FEATURES_KEY).await?;
        if let Some(features) = kept {
            self.state().features = Some(features);
        }
        Ok(kept)
    }
}

async fn read_features(client: &Client) -> Result<ServerFeatures, ClientError> {
    let link = Link {
        href: "/openapi.json".to_owned(),
    };
    let document: Value = client.follow(&link).priority(Priority::Background).await?;
    Ok(ServerFeatures::from_openapi(&document))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn features_are_read_from_the_paths_and_their_parameters() {
        let full = json!({
            "paths": {
                "/api/v2/events": { "get": {} },
                "/api/v1/patients": {
                    "get": { "parameters": [ { "name": "updated_since", "in": "query" } ] },
                    "post": { "parameters": [ { "$ref": "#/components/parameters/Key" } ] }
                },
                "/api/v1/appointments": {
                    "parameters": [ { "name": "idempotency-key", "in": "header" } ],
                    "get": { "parameters": [ { "name": "updated_since", "in": "query" } ] },
                    "post": {}
                },
                "/api/v2/patients": { "get": { "parameters": [ { "name": "expand" } ] } },
                "/api/v2/appointments": { "get": { "parameters": [
                    { "name": "start_date" }, { "name": "end_date" } ] } },
                "/api/v2/patients/bulk": { "post": {} },
                "/api/v2/appointments/bulk": { "post": {} },
                "/api/v2/invoices/payments/bulk": { "post": {} },
                "/api/v2/locations": { "get": { "parameters": [ { "name": "cursor" } ] } },
                "/api/v2/providers": { "get": { "parameters": [ { "name": "cursor" } ] } },
                "/api/v2/appointment-types": { "get": { "parameters": [ { "name": "cursor" } ] } }
            },
            "components": { "parameters": { "Key": { "name": "Idempotency-Key", "in": "header" } } }
        });
        assert_eq!(ServerFeatures::from_openapi(&full), ServerFeatures::ALL);
        let reference = json!({ "paths": {
            "/api/v1/patients": { "get": { "parameters": [ { "name": "limit" } ] }, "post": {} },
            "/api/v1/appointments": { "get": {}, "post": {} }
        }});
        assert_eq!(
            ServerFeatures::from_openapi(&reference),
            ServerFeatures::NONE
        );
        assert_eq!(
            ServerFeatures::from_openapi(&json!({})),
            ServerFeatures::NONE
        );
        // A v2 patient list of summaries only (no `expand`) is not used for first sync.
        let mut summaries = full.clone();
        summaries["paths"]["/api/v2/patients"]["get"]["parameters"] = json!([]);
        summaries["paths"]
            .as_object_mut()
            .expect("paths")
            .remove("/api/v2/invoices/payments/bulk");
        assert_eq!(
            ServerFeatures::from_openapi(&summaries),
            ServerFeatures {
                v2_lists: false,
                v2_bulk: false,
                ..ServerFeatures::ALL
            }
        );
        // A v2 beta without the appointment-type list: the reference collections through v1.
        let mut no_types = full.clone();
        no_types["paths"]
            .as_object_mut()
            .expect("paths")
            .remove("/api/v2/appointment-types");
        assert_eq!(
            ServerFeatures::from_openapi(&no_types),
            ServerFeatures {
                v2_reference_lists: false,
                ..ServerFeatures::ALL
            }
        );
    }

    #[test]
    fn features_stored_by_an_older_desk_read_without_v2() {
        let stored = r#"{"changeFeed":true,"updatedSince":true,"idempotency":true}"#;
        let features: ServerFeatures = serde_json::from_str(stored).expect("reads");
        assert!(!features.v2_lists && !features.v2_bulk && features.idempotency);
        assert!(!features.v2_reference_lists);
    }
}
