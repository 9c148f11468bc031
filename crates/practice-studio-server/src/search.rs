//! The index behind `GET /api/v2/patients?q=`: every patient's search fields in memory, matched
//! and ranked by `practice_studio::search` (the desk's own matching, over the desk's own index).
//!
//! The index is filled from SQLite on first use and then kept fresh before each search: when the
//! patients' change counter (kept by triggers, see `page_cache`) has moved, by reading only the
//! patients changed since the last refresh (the `updated` index), minus a margin, so a write that
//! took its timestamp before another's but committed after it is not missed. Patients are never
//! deleted, so nothing has to leave the index.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use practice_studio::model::PatientStatus;
use practice_studio::search::{name_key, phone_rev, PatientQuery, Searchable};
use tokio::sync::Mutex;

use crate::storage::{Counted, PatientSearchRow, Storage, StorageError};

/// How far before the newest change a refresh reads again: longer than any write takes
/// between reading the clock and committing.
const REFRESH_MARGIN_MINUTES: i64 = 5;

#[derive(Debug, Clone)]
struct Entry {
    id: String,
    mrn: String,
    name_key: String,
    date_of_birth: NaiveDate,
    phone_rev: Option<String>,
    status: PatientStatus,
    updated: DateTime<Utc>,
}

#[derive(Default)]
struct Index {
    /// By `seq`.
    entries: HashMap<i64, Entry>,
    /// The newest `updated` read; `None` before the first fill.
    newest: Option<DateTime<Utc>>,
    /// The patients' change counter when the index was last refreshed: while it stands, no
    /// patient changed and the refresh is skipped.
    generation: Option<i64>,
}

/// The filters a search takes besides the text.
#[derive(Debug, Default)]
pub struct SearchFilters {
    pub status: Option<PatientStatus>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Only these patient ids (the patients a provider has seen).
    pub only: Option<HashSet<String>>,
}

/// A ranked hit: its score and the patient's `seq`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    pub score: f64,
    pub seq: i64,
}

#[derive(Default)]
pub struct PatientIndex {
    index: Mutex<Index>,
}

fn parse_row(row: PatientSearchRow) -> Option<(i64, Entry)> {
    let date_of_birth = NaiveDate::parse_from_str(&row.date_of_birth, "%Y-%m-%d").ok()?;
    let updated = DateTime::parse_from_rfc3339(&row.updated)
        .ok()?
        .with_timezone(&Utc);
    let status = match row.status.as_str() {
        "active" => PatientStatus::Active,
        "inactive" => PatientStatus::Inactive,
        "deceased" => PatientStatus::Deceased,
        _ => return None,
    };
    Some((
        row.seq,
        Entry {
            name_key: name_key(&row.first_name, &row.last_name),
            phone_rev: row.phone.as_deref().and_then(phone_rev),
            id: row.id,
            mrn: row.mrn,
            date_of_birth,
            status,
            updated,
        },
    ))
}

impl PatientIndex {
    /// Every patient matching `query` and `filters`, best first (then in registration order).
    pub async fn search(
        &self,
        storage: &dyn Storage,
        query: &PatientQuery,
        filters: &SearchFilters,
    ) -> Result<Vec<Ranked>, StorageError> {
        let mut index = self.index.lock().await;
        // Read before the rows: a change committed in between moves the counter past it, and
        // the next search reads again.
        let generation = storage.generation(Counted::Patients).await?;
        let rows = if index.generation == Some(generation) {
            Vec::new()
        } else {
            let since = index
                .newest
                .map(|newest| newest - Duration::minutes(REFRESH_MARGIN_MINUTES));
            storage.v2_search_rows(since).await?
        };
        index.generation = Some(generation);
        for row in rows {
            let seq_id = row.id.clone();
            match parse_row(row) {
                Some((seq, entry)) => {
                    if index.newest.is_none_or(|n| entry.updated > n) {
                        index.newest = Some(entry.updated);
                    }
                    index.entries.insert(seq, entry);
                }
                None => {
                    tracing::warn!(patient = %seq_id, "a stored patient could not be indexed for search")
                }
            }
        }
        let mut ranked: Vec<Ranked> = index
            .entries
            .iter()
            .filter(|(_, e)| filters.status.is_none_or(|s| s == e.status))
            .filter(|(_, e)| filters.updated_since.is_none_or(|since| e.updated >= since))
            .filter(|(_, e)| filters.only.as_ref().is_none_or(|ids| ids.contains(&e.id)))
            .filter_map(|(seq, e)| {
                let score = query.score(&Searchable {
                    id: &e.id,
                    mrn: &e.mrn,
                    name_key: &e.name_key,
                    date_of_birth: e.date_of_birth,
                    phone_rev: e.phone_rev.as_deref(),
                })?;
                Some(Ranked { score, seq: *seq })
            })
            .collect();
        drop(index);
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.seq.cmp(&b.seq)));
        Ok(ranked)
    }
}
