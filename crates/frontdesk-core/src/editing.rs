//! Editing a patient's details at the desk: the form sends the whole edited patient and the
//! version it was read at; the desk sends only what changed (a JSON Merge Patch, one level into
//! `contactInfo` as the API takes it) through the outbox, based on that version, so a change made
//! elsewhere meanwhile becomes a visible conflict instead of a silent overwrite.

use practice_studio::model::NewPatient;
use serde::Deserialize;
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::desk::{CoreError, Desk};
use crate::roles::{Offer, Offers};
use crate::sync::{PendingWrite, WriteError};

/// The top-level fields a desk may change (the rest are the server's).
const EDITABLE: [&str; 11] = [
    "firstName",
    "lastName",
    "dateOfBirth",
    "gender",
    "status",
    "contactInfo",
    "insurance",
    "emergencyContact",
    "preferredLanguage",
    "preferredPharmacy",
    "allergies",
];

/// Arguments of `edit_patient`.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditPatientArgs {
    pub patient_id: String,
    /// The patient as edited (every field, changed or not).
    pub patient: NewPatient,
    /// The version the form was filled from.
    #[ts(type = "number")]
    pub version_read: i64,
}

/// What differs between `before` and `after` as a merge patch: changed fields with their new
/// value, removed ones as `null`; `contactInfo` compared field by field.
pub fn merge_patch(before: &Value, after: &Value) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in EDITABLE {
        let old = before.get(key).unwrap_or(&Value::Null);
        let new = after.get(key).unwrap_or(&Value::Null);
        if old == new {
            continue;
        }
        if key == "contactInfo" {
            if let (Value::Object(old), Value::Object(new)) = (old, new) {
                let mut inner = Map::new();
                for field in old.keys().chain(new.keys()) {
                    let o = old.get(field).unwrap_or(&Value::Null);
                    let n = new.get(field).unwrap_or(&Value::Null);
                    if o != n && !inner.contains_key(field) {
                        inner.insert(field.clone(), n.clone());
                    }
                }
                if !inner.is_empty() {
                    patch.insert(key.to_owned(), Value::Object(inner));
                }
                continue;
            }
        }
        // `status` is optional in the form: absent means "unchanged", not "cleared".
        if key == "status" && new.is_null() {
            continue;
        }
        patch.insert(key.to_owned(), new.clone());
    }
    patch
}

impl Desk {
    /// Saves an edit through the outbox: only what changed, based on `version_read`. `None`
    /// when nothing changed. Refused when the cached patient is no longer at `version_read`
    /// (fresher data arrived while the form was open: the form shows it again).
    pub async fn edit_patient(
        &self,
        patient_id: &str,
        edited: &NewPatient,
        version_read: i64,
    ) -> Result<Option<PendingWrite>, CoreError> {
        let (me, _) = self.signed_in().await?;
        if !me.offers.edit_patients {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::EditPatients,
                &me.role,
            )));
        }
        let cache = self.cache()?;
        let current = self.cached_patient(patient_id).await?;
        let id = current.id.clone();
        if current.version != version_read {
            return Err(CoreError::StaleEdit);
        }
        let before = serde_json::to_value(&current).unwrap_or(Value::Null);
        let after = serde_json::to_value(edited).unwrap_or(Value::Null);
        let patch = merge_patch(&before, &after);
        if patch.is_empty() {
            return Ok(None);
        }
        let write = cache
            .engine
            .update_patient(&me.user_id, &id, &patch)
            .await
            .map_err(|error| match error {
                WriteError::Invalid(problems) => CoreError::Invalid(problems),
                WriteError::Cache(cache) => CoreError::Cache(cache),
                WriteError::UnknownPatient(id) => CoreError::NotFound {
                    what: "patient",
                    id: id.0,
                },
            })?;
        tracing::info!(seq = write.seq, fields = patch.len(), "patient edit queued");
        Ok(Some(write))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_patch;

    #[test]
    fn only_what_changed_is_sent_and_contact_info_field_by_field() {
        let before = json!({
            "id": "PAT-1", "version": 3, "firstName": "Ada", "lastName": "Byron",
            "dateOfBirth": "1815-12-10", "gender": "F", "status": "active",
            "contactInfo": { "phone": "555-0100", "email": "ada@example.org" },
            "preferredLanguage": "English"
        });
        let after = json!({
            "firstName": "Ada", "lastName": "Lovelace", "dateOfBirth": "1815-12-10",
            "gender": "F",
            "contactInfo": { "phone": "555-0199", "email": "ada@example.org" }
        });
        let patch = merge_patch(&before, &after);
        assert_eq!(
            serde_json::Value::Object(patch),
            json!({
                "lastName": "Lovelace",
                "contactInfo": { "phone": "555-0199" },
                "preferredLanguage": null
            })
        );
        assert!(merge_patch(&before, &before).is_empty());
    }
}
