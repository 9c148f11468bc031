//! Patients in the cache, and the search index kept in step with them.
//!
//! Batches travel to SQLite as one JSON array per statement (`json_each`): one round trip per
//! batch instead of one per row keeps a first sync of a million patients fast, and the SQL stays
//! static, so `sqlx::query!` still checks it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use practice_studio::model::{Patient, PatientId, PatientStatus};
use serde::Serialize;
use sqlx::{Sqlite, Transaction};

use crate::error::{query, CacheError};
use crate::text;
use crate::Store;

/// The columns of one patient row, as sent to SQLite.
#[derive(Serialize)]
struct PatientRow<'a> {
    id: &'a str,
    mrn: &'a str,
    mrn_key: String,
    first_name: &'a str,
    last_name: &'a str,
    name_key: String,
    date_of_birth: String,
    phone: Option<&'a str>,
    phone_rev: Option<String>,
    email_key: Option<String>,
    postal_code: Option<&'a str>,
    status: &'static str,
    version: i64,
    updated: String,
    last_visit: Option<String>,
    recency: i64,
    body: String,
}

/// A patient's place in the name index before and after a change.
struct IndexChange {
    pk: i64,
    old: Option<(String, i64)>,
    new: Option<(String, i64)>,
}

pub(crate) fn status_str(status: PatientStatus) -> &'static str {
    match status {
        PatientStatus::Active => "active",
        PatientStatus::Inactive => "inactive",
        PatientStatus::Deceased => "deceased",
    }
}

pub(crate) fn parse_status(id: &str, s: &str) -> Result<PatientStatus, CacheError> {
    match s {
        "active" => Ok(PatientStatus::Active),
        "inactive" => Ok(PatientStatus::Inactive),
        "deceased" => Ok(PatientStatus::Deceased),
        other => Err(CacheError::CorruptField {
            what: "patient",
            id: id.to_owned(),
            field: "status",
            value: other.to_owned(),
        }),
    }
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<String, CacheError> {
    serde_json::to_string(value).map_err(|source| CacheError::Encode {
        what,
        id: String::new(),
        source,
    })
}

impl Store {
    /// Stores these patients (inserting or replacing each by id) in one transaction, keeping
    /// each one's last visit.
    pub async fn upsert_patients(&self, patients: &[Patient]) -> Result<(), CacheError> {
        let batch: Vec<_> = patients.iter().map(|p| (p, None)).collect();
        self.upsert_patients_seen(&batch).await
    }

    /// [`Store::upsert_patients`] with each patient's most recent visit, when known (`None`
    /// keeps what the cache had). Search ranks recently seen patients first among equals.
    pub async fn upsert_patients_seen(
        &self,
        patients: &[(&Patient, Option<DateTime<Utc>>)],
    ) -> Result<(), CacheError> {
        if patients.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write("store patients").await?;
        upsert_in(&mut tx, patients).await?;
        tx.commit().await.map_err(query("store patients"))?;
        tracing::debug!(count = patients.len(), "patients stored");
        Ok(())
    }

    /// The cached patient under `id`, or under the server's id when `id` is the local id of a
    /// registration the server has since accepted. By id first, then through the mapping: the
    /// re-key and the mapping are written in one transaction (see `appointment_by_any_id`).
    pub async fn patient_by_any_id(&self, id: &str) -> Result<Option<Patient>, CacheError> {
        if let Some(found) = self.patient(&PatientId(id.to_owned())).await? {
            return Ok(Some(found));
        }
        match self.mapped_id(crate::EntityKind::Patient, id).await? {
            Some(server_id) => self.patient(&PatientId(server_id)).await,
            None => Ok(None),
        }
    }

    /// The cached patient with this id.
    pub async fn patient(&self, id: &PatientId) -> Result<Option<Patient>, CacheError> {
        let id = id.as_str();
        let row = sqlx::query!(
            "SELECT b.body FROM patients p JOIN patient_bodies b ON b.pk = p.pk WHERE p.id = ?1",
            id
        )
        .fetch_optional(&self.readers)
        .await
        .map_err(query("read patient"))?;
        row.map(|r| {
            serde_json::from_str(&r.body).map_err(|source| CacheError::Corrupt {
                what: "patient",
                id: id.to_owned(),
                source,
            })
        })
        .transpose()
    }

    /// Removes a patient from the cache (and from search). Returns whether it was there.
    pub async fn delete_patient(&self, id: &PatientId) -> Result<bool, CacheError> {
        let mut tx = self.begin_write("delete patient").await?;
        let gone = delete_in(&mut tx, id.as_str()).await?;
        tx.commit().await.map_err(query("delete patient"))?;
        Ok(gone)
    }

    /// Records visits (e.g. from synced appointments); a visit older than the one known is
    /// ignored. Unknown patients are skipped.
    pub async fn record_visits(
        &self,
        visits: &[(PatientId, DateTime<Utc>)],
    ) -> Result<(), CacheError> {
        let mut tx = self.begin_write("record visits").await?;
        let mut changes = Vec::new();
        for (id, at) in visits {
            let id = id.as_str();
            let recency = at.timestamp();
            let last_visit = at.to_rfc3339();
            let row = sqlx::query!(
                r#"SELECT pk AS "pk!: i64", name_key, recency FROM patients WHERE id = ?1"#,
                id
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("record visits"))?;
            let Some(row) = row.filter(|r| r.recency < recency) else {
                continue;
            };
            sqlx::query!(
                "UPDATE patients SET last_visit = ?2, recency = ?3 WHERE pk = ?1",
                row.pk,
                last_visit,
                recency
            )
            .execute(&mut *tx)
            .await
            .map_err(query("record visits"))?;
            changes.push(IndexChange {
                pk: row.pk,
                old: Some((row.name_key.clone(), row.recency)),
                new: Some((row.name_key, recency)),
            });
        }
        apply_index_changes(&mut tx, changes).await?;
        tx.commit().await.map_err(query("record visits"))
    }

    /// How many patients the cache holds.
    pub async fn patient_count(&self) -> Result<i64, CacheError> {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM patients"#)
            .fetch_one(&self.readers)
            .await
            .map_err(query("count patients"))
    }
}

/// Removes a patient and its search entries inside a write; whether it was there.
pub(crate) async fn delete_in(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
) -> Result<bool, CacheError> {
    let gone = sqlx::query!(
        r#"DELETE FROM patients WHERE id = ?1
           RETURNING pk AS "pk!: i64", name_key, recency"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
    .map_err(query("delete patient"))?;
    let Some(gone) = gone else {
        return Ok(false);
    };
    apply_index_changes(
        tx,
        vec![IndexChange {
            pk: gone.pk,
            old: Some((gone.name_key, gone.recency)),
            new: None,
        }],
    )
    .await?;
    Ok(true)
}

/// Inserts or replaces patients inside a write transaction, search index included.
pub(crate) async fn upsert_in(
    tx: &mut Transaction<'static, Sqlite>,
    patients: &[(&Patient, Option<DateTime<Utc>>)],
) -> Result<(), CacheError> {
    // The last of several versions of one patient in a batch wins.
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, (p, _)) in patients.iter().enumerate() {
        by_id.insert(p.id.as_str(), i);
    }
    let mut rows = Vec::with_capacity(by_id.len());
    for (i, (p, seen)) in patients.iter().enumerate() {
        if by_id.get(p.id.as_str()) != Some(&i) {
            continue;
        }
        let contact = &p.contact_info;
        let body = serde_json::to_string(p).map_err(|source| CacheError::Encode {
            what: "patient",
            id: p.id.to_string(),
            source,
        })?;
        rows.push(PatientRow {
            id: p.id.as_str(),
            mrn: &p.mrn,
            mrn_key: text::mrn_key(&p.mrn),
            first_name: &p.first_name,
            last_name: &p.last_name,
            name_key: text::name_key(&p.first_name, &p.last_name),
            date_of_birth: p.date_of_birth.format("%Y-%m-%d").to_string(),
            phone: contact.phone.as_deref(),
            phone_rev: contact.phone.as_deref().and_then(text::phone_rev),
            email_key: contact.email.as_ref().map(|e| e.trim().to_lowercase()),
            postal_code: contact.address.as_ref().map(|a| a.postal_code.as_str()),
            status: status_str(p.status),
            version: p.version,
            updated: p.updated.to_rfc3339(),
            last_visit: seen.map(|t| t.to_rfc3339()),
            recency: seen.map(|t| t.timestamp()).unwrap_or(0),
            body,
        });
    }
    let ids = encode(
        "patient ids",
        &rows.iter().map(|r| r.id).collect::<Vec<_>>(),
    )?;
    let old = sqlx::query!(
        r#"SELECT pk AS "pk!: i64", id, name_key, recency,
               json_array(id, first_name, last_name, date_of_birth, mrn, phone, status,
                   last_visit) AS "card!: String"
           FROM patients WHERE id IN (SELECT value FROM json_each(?1))"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query("store patients"))?;
    let mut old: HashMap<String, (String, i64, String)> = old
        .into_iter()
        .map(|r| (r.id, (r.name_key, r.recency, r.card)))
        .collect();

    let json = encode("patients", &rows)?;
    let stored = sqlx::query!(
        r#"INSERT INTO patients (id, mrn, mrn_key, first_name, last_name, name_key, date_of_birth,
               phone, phone_rev, email_key, postal_code, status, version, updated, last_visit,
               recency)
           SELECT value ->> 'id', value ->> 'mrn', value ->> 'mrn_key', value ->> 'first_name',
               value ->> 'last_name', value ->> 'name_key', value ->> 'date_of_birth',
               value ->> 'phone', value ->> 'phone_rev', value ->> 'email_key',
               value ->> 'postal_code', value ->> 'status', value ->> 'version',
               value ->> 'updated', value ->> 'last_visit', value ->> 'recency'
           FROM json_each(?1) WHERE true
           ON CONFLICT (id) DO UPDATE SET
               mrn = excluded.mrn, mrn_key = excluded.mrn_key, first_name = excluded.first_name,
               last_name = excluded.last_name, name_key = excluded.name_key,
               date_of_birth = excluded.date_of_birth, phone = excluded.phone,
               phone_rev = excluded.phone_rev, email_key = excluded.email_key,
               postal_code = excluded.postal_code, status = excluded.status,
               version = excluded.version, updated = excluded.updated,
               last_visit = coalesce(excluded.last_visit, patients.last_visit),
               recency = CASE WHEN excluded.last_visit IS NULL THEN patients.recency
                              ELSE excluded.recency END,
               pending = 0
           RETURNING pk AS "pk!: i64", id AS "id!: String", name_key AS "name_key!: String",
               recency AS "recency!: i64",
               json_array(id, first_name, last_name, date_of_birth, mrn, phone, status,
                   last_visit) AS "card!: String""#,
        json
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query("store patients"))?;

    sqlx::query!(
        "INSERT INTO patient_bodies (pk, body)
         SELECT p.pk, j.value ->> 'body' FROM json_each(?1) AS j
         JOIN patients AS p ON p.id = j.value ->> 'id' WHERE true
         ON CONFLICT (pk) DO UPDATE SET body = excluded.body",
        json
    )
    .execute(&mut **tx)
    .await
    .map_err(query("store patients"))?;

    let changes = stored
        .into_iter()
        .filter_map(|row| {
            let before = old.remove(&row.id);
            let after = (row.name_key, row.recency);
            match before {
                // Nothing search shows or ranks by changed: the index stays as it is.
                Some((name_key, recency, card))
                    if name_key == after.0 && recency == after.1 && card == row.card =>
                {
                    None
                }
                Some((name_key, recency, _)) => Some(IndexChange {
                    pk: row.pk,
                    old: Some((name_key, recency)),
                    new: Some(after),
                }),
                None => Some(IndexChange {
                    pk: row.pk,
                    old: None,
                    new: Some(after),
                }),
            }
        })
        .collect();
    apply_index_changes(tx, changes).await
}

/// The 1- and 2-character prefixes of a name key's tokens, without repeats.
fn prefixes(name_key: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for token in name_key.split(' ').filter(|t| !t.is_empty()) {
        let mut chars = token.chars();
        if let Some(a) = chars.next() {
            out.insert(a.to_string());
            if let Some(b) = chars.next() {
                out.insert(format!("{a}{b}"));
            }
        }
    }
    out
}

fn tokens_of(name_key: &str) -> HashSet<&str> {
    name_key.split(' ').filter(|t| !t.is_empty()).collect()
}

/// Moves patients' entries in the name index: postings, prefixes, token counts, and the
/// token table (with its deletion variants and trigrams) as tokens appear and disappear.
async fn apply_index_changes(
    tx: &mut Transaction<'static, Sqlite>,
    changes: Vec<IndexChange>,
) -> Result<(), CacheError> {
    if changes.is_empty() {
        return Ok(());
    }
    // Token ids for every token involved, creating the new ones.
    let mut wanted: HashSet<&str> = HashSet::new();
    for change in &changes {
        for (key, _) in change.old.iter().chain(change.new.iter()) {
            wanted.extend(tokens_of(key));
        }
    }
    let wanted_json = encode("name tokens", &wanted)?;
    let mut ids: HashMap<String, i64> = sqlx::query!(
        r#"SELECT token_id AS "token_id!: i64", token FROM name_tokens
           WHERE token IN (SELECT value FROM json_each(?1))"#,
        wanted_json
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(query("update the name index"))?
    .into_iter()
    .map(|r| (r.token, r.token_id))
    .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|t| !ids.contains_key(*t))
        .collect();
    if !missing.is_empty() {
        let missing_json = encode("name tokens", &missing)?;
        let created = sqlx::query!(
            r#"INSERT INTO name_tokens (token, patients) SELECT value, 0 FROM json_each(?1)
               RETURNING token_id AS "token_id!: i64", token AS "token!: String""#,
            missing_json
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
        let mut variants: Vec<(String, i64)> = Vec::new();
        for row in created {
            for variant in text::deletions(
                &row.token,
                text::TOKEN_MAX_DELETES,
                text::DELETION_MIN_CHARS,
            ) {
                variants.push((variant, row.token_id));
            }
            ids.insert(row.token, row.token_id);
        }
        let variants_json = encode("name token variants", &variants)?;
        sqlx::query!(
            "INSERT OR IGNORE INTO name_token_deletes (variant, token_id)
             SELECT value ->> 0, value ->> 1 FROM json_each(?1)",
            variants_json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
    }

    let mut delta: HashMap<i64, i64> = HashMap::new();
    let mut removed_postings: Vec<(i64, i64, i64)> = Vec::new();
    let mut removed_prefixes: Vec<(String, i64, i64)> = Vec::new();
    let mut added_postings: Vec<(i64, i64, i64, &str)> = Vec::new();
    let mut added_prefixes: Vec<(String, i64, i64, &str)> = Vec::new();
    for change in &changes {
        if let Some((key, recency)) = &change.old {
            for token in tokens_of(key) {
                if let Some(id) = ids.get(token) {
                    *delta.entry(*id).or_default() -= 1;
                    removed_postings.push((*id, *recency, change.pk));
                }
            }
            for prefix in prefixes(key) {
                removed_prefixes.push((prefix, *recency, change.pk));
            }
        }
        if let Some((key, recency)) = &change.new {
            for token in tokens_of(key) {
                if let Some(id) = ids.get(token) {
                    *delta.entry(*id).or_default() += 1;
                    added_postings.push((*id, *recency, change.pk, key));
                }
            }
            for prefix in prefixes(key) {
                added_prefixes.push((prefix, *recency, change.pk, key));
            }
        }
    }
    if !removed_postings.is_empty() {
        let json = encode("name postings", &removed_postings)?;
        sqlx::query!(
            "DELETE FROM name_postings WHERE (token_id, recency, patient_pk) IN
             (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))",
            json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
        let json = encode("name prefixes", &removed_prefixes)?;
        sqlx::query!(
            "DELETE FROM name_prefixes WHERE (prefix, recency, patient_pk) IN
             (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1))",
            json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
    }
    if !added_postings.is_empty() {
        let json = encode("name postings", &added_postings)?;
        sqlx::query!(
            "INSERT OR IGNORE INTO name_postings (token_id, recency, patient_pk, name_key, card)
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3,
                 json_array(p.id, p.first_name, p.last_name, p.date_of_birth, p.mrn, p.phone,
                     p.status, p.last_visit)
             FROM json_each(?1) AS j JOIN patients AS p ON p.pk = j.value ->> 2",
            json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
        let json = encode("name prefixes", &added_prefixes)?;
        sqlx::query!(
            "INSERT OR IGNORE INTO name_prefixes (prefix, recency, patient_pk, name_key)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)",
            json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
    }
    let delta: Vec<(i64, i64)> = delta.into_iter().filter(|(_, d)| *d != 0).collect();
    if !delta.is_empty() {
        let json = encode("name token counts", &delta)?;
        sqlx::query!(
            "UPDATE name_tokens SET patients = patients + (d.value ->> 1)
             FROM json_each(?1) AS d WHERE name_tokens.token_id = d.value ->> 0",
            json
        )
        .execute(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
        // A token no patient carries any more leaves the index (and its variants with it).
        let emptied = sqlx::query!(
            r#"DELETE FROM name_tokens
               WHERE token_id IN (SELECT value ->> 0 FROM json_each(?1)) AND patients <= 0
               RETURNING token_id AS "token_id!: i64", token AS "token!: String""#,
            json
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(query("update the name index"))?;
        if !emptied.is_empty() {
            let mut variants: Vec<(String, i64)> = Vec::new();
            for row in emptied {
                for variant in text::deletions(
                    &row.token,
                    text::TOKEN_MAX_DELETES,
                    text::DELETION_MIN_CHARS,
                ) {
                    variants.push((variant, row.token_id));
                }
            }
            let json = encode("name token variants", &variants)?;
            sqlx::query!(
                "DELETE FROM name_token_deletes WHERE (variant, token_id) IN
                 (SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
                json
            )
            .execute(&mut **tx)
            .await
            .map_err(query("update the name index"))?;
        }
    }
    Ok(())
}
