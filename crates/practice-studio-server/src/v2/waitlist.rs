//! `GET /api/v2/waitlist`: v1's waitlist list paged by a cursor, in the order entries were added;
//! `GET /api/v2/waitlist/candidates`: v1's ranked candidates for a freed slot, paged by a cursor
//! that neither repeats nor loses an entry while others join the waitlist.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use practice_studio::model::detail_code as code;
use practice_studio::model::{WaitlistCandidate, WaitlistEntry, WaitlistStatus};
use practice_studio::rules::waitlist::{rank, FreedSlot};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::params::detail;
use crate::storage::{CursorPage, WaitlistCursorQuery};

use super::{cursor_body, plus_one, ListParams};

/// `GET /api/v2/waitlist`.
#[derive(Serialize, ToSchema)]
pub struct WaitlistCursorList {
    entries: Vec<WaitlistEntry>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// `GET /api/v2/waitlist`.
#[utoipa::path(get, path = "/api/v2/waitlist", tag = "v2 beta", summary = "Waitlist entries by cursor",
    description = "Waitlist entries in the order they were added, after `cursor`, with v1's filters.",
    params(
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list; the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("status" = Option<String>, Query, description = "waiting, booked or removed"),
        ("patient_id" = Option<String>, Query, description = "Filter by patient ID"),
        ("provider_id" = Option<String>, Query, description = "Entries naming this provider, or taking any provider"),
        ("updated_since" = Option<String>, Query, description = "Changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of waitlist entries", body = WaitlistCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn waitlist(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    let mut p = ListParams::new(&params);
    // The list is `entries`, as in v1; its cursors carry that name.
    let page = p.page("entries");
    let status = match params.get("status") {
        None => None,
        Some(text) => match WaitlistStatus::parse(text) {
            Some(status) => Some(status.as_str().to_owned()),
            None => {
                p.problems.push(detail(
                    code::NOT_ONE_OF,
                    "status",
                    "must be waiting, booked or removed",
                ));
                None
            }
        },
    };
    let query = WaitlistCursorQuery {
        page: plus_one(page),
        status,
        patient_id: p.text("patient_id"),
        provider_id: p.text("provider_id"),
    };
    p.finish()?;
    let rows = app
        .storage
        .v2_waitlist(&query)
        .await
        .map_err(ApiError::internal)?;
    Ok(cursor_body("entries", &page, rows))
}

/// `GET /api/v2/waitlist/candidates`.
#[derive(Serialize, ToSchema)]
pub struct CandidateCursorList {
    candidates: Vec<WaitlistCandidate>,
    next_cursor: String,
    has_more: bool,
    limit: u32,
}

/// Where a candidates list stands. A ranking is not an append-only order (a new entry that asked
/// for the provider ranks before older ones that did not), so the cursor fixes the entries
/// present when the first page was read (`seq` at most `through`) and pages them best first by
/// their ranking key; entries added later follow, in the order they were added. Neither part
/// can gain an entry before the cursor, so paging while others join never repeats or loses one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CandidateCursor {
    /// In the ranking of the entries present at the start, after this key.
    Ranked { through: i64, key: RankKey },
    /// Among the entries added since the start, after this `seq`.
    Added { through: i64, after_seq: i64 },
}

/// An entry's place in the ranking (as `practice_studio::rules::waitlist::rank` orders): those
/// who asked for the slot's provider first, then the longest waiting, then by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RankKey {
    any_provider: bool,
    created_micros: i64,
    id: String,
}

impl RankKey {
    fn of(entry: &WaitlistEntry, slot: &FreedSlot) -> Self {
        Self {
            any_provider: !entry.preferences.provider_ids.contains(&slot.provider_id),
            created_micros: entry.created.timestamp_micros(),
            id: entry.id.clone(),
        }
    }
}

const CANDIDATES: &str = "candidates";

impl CandidateCursor {
    fn encode(&self) -> String {
        let text = match self {
            CandidateCursor::Ranked { through, key } => format!(
                "{CANDIDATES}:{through}:ranked:{}:{}:{}",
                u8::from(key.any_provider),
                key.created_micros,
                key.id
            ),
            CandidateCursor::Added { through, after_seq } => {
                format!("{CANDIDATES}:{through}:added:{after_seq}")
            }
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(cursor: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(6, ':');
        if parts.next()? != CANDIDATES {
            return None;
        }
        let through: i64 = parts.next()?.parse().ok().filter(|n| *n >= 0)?;
        match parts.next()? {
            "ranked" => {
                let any_provider = match parts.next()? {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                };
                let created_micros = parts.next()?.parse().ok()?;
                let id = parts.next()?.to_owned();
                Some(CandidateCursor::Ranked {
                    through,
                    key: RankKey {
                        any_provider,
                        created_micros,
                        id,
                    },
                })
            }
            "added" => {
                let after_seq: i64 = parts.next()?.parse().ok().filter(|n| *n >= 0)?;
                parts
                    .next()
                    .is_none()
                    .then_some(CandidateCursor::Added { through, after_seq })
            }
            _ => None,
        }
    }
}

/// `GET /api/v2/waitlist/candidates`.
#[utoipa::path(get, path = "/api/v2/waitlist/candidates", tag = "v2 beta", summary = "Who would take a freed slot, by cursor",
    description = "As GET /api/v1/waitlist/candidates (the same slot parameters and matching), a page at a time. The cursor fixes the entries waiting when the first page was read and pages them best first (those who asked for this provider by name, then the longest waiting); entries that join the waitlist while you page follow them, in the order they joined. So no entry is sent twice and none is lost. Each candidate's `rank` is its place among all candidates when its page was read. `updated_since` keeps the entries changed at or after that instant.",
    params(
        ("provider_id" = String, Query, description = "The slot's provider"),
        ("location_id" = String, Query, description = "The slot's location (its time zone places the slot on the wall clock)"),
        ("start_time" = String, Query, description = "The slot's start (RFC 3339)"),
        ("end_time" = String, Query, description = "The slot's end (RFC 3339)"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of this list (for the same slot); the start when absent or empty"),
        ("limit" = Option<u32>, Query, description = "Number of results (default: 20, max: 100)", minimum = 1, maximum = 100),
        ("updated_since" = Option<String>, Query, description = "Entries changed at or after this instant (RFC 3339) or date"),
    ),
    responses((status = 200, description = "A page of candidates", body = CandidateCursorList)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn candidates(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ReadAppointments)?;
    // `cursor` is read here, not by `ListParams::page`: it is not a `seq`.
    let mut without_cursor = params.clone();
    let cursor_text = without_cursor
        .remove("cursor")
        .filter(|c| !c.trim().is_empty());
    let mut p = ListParams::new(&without_cursor);
    let page = p.page(CANDIDATES);
    let mut problems = std::mem::take(&mut p.problems);
    let cursor = match cursor_text.as_deref() {
        None => None,
        Some(text) => {
            let decoded = CandidateCursor::decode(text);
            if decoded.is_none() {
                problems.push(detail(
                    code::INVALID_CURSOR,
                    "cursor",
                    "must be a next_cursor this list returned",
                ));
            }
            decoded
        }
    };
    let slot = crate::waitlist::freed_slot(
        &app,
        &params,
        &["cursor", "limit", "updated_since"],
        problems,
    )
    .await?;
    // Every waiting entry that may take the slot's provider, with its `seq`.
    let mut waiting: Vec<(i64, WaitlistEntry)> = Vec::new();
    loop {
        let query = WaitlistCursorQuery {
            page: CursorPage {
                after_seq: waiting.last().map_or(0, |(seq, _)| *seq),
                limit: 500,
                updated_since: None,
            },
            status: Some(WaitlistStatus::Waiting.as_str().to_owned()),
            patient_id: None,
            provider_id: Some(slot.provider_id.0.clone()),
        };
        let rows = app
            .storage
            .v2_waitlist(&query)
            .await
            .map_err(ApiError::internal)?;
        let done = rows.len() < 500;
        for (seq, body) in rows {
            let entry: WaitlistEntry = serde_json::from_str(&body).map_err(ApiError::internal)?;
            waiting.push((seq, entry));
        }
        if done {
            break;
        }
    }
    let entries: Vec<WaitlistEntry> = waiting.iter().map(|(_, e)| e.clone()).collect();
    // The ranking of everyone now, for each candidate's `rank` and `why`.
    let ranked = rank(&entries, &slot, app.clock.now());
    let seq_of: HashMap<&str, i64> = waiting
        .iter()
        .map(|(seq, entry)| (entry.id.as_str(), *seq))
        .collect();
    let through = match &cursor {
        Some(CandidateCursor::Ranked { through, .. } | CandidateCursor::Added { through, .. }) => {
            *through
        }
        None => waiting.iter().map(|(seq, _)| *seq).max().unwrap_or(0),
    };
    let changed = |entry: &WaitlistEntry| {
        page.updated_since
            .is_none_or(|since: DateTime<Utc>| entry.updated >= since)
    };
    // Those present at the start, best first; then those added since, in the order they came.
    let mut first: Vec<(RankKey, &WaitlistCandidate)> = Vec::new();
    let mut later: Vec<(i64, &WaitlistCandidate)> = Vec::new();
    for candidate in &ranked {
        let seq = seq_of
            .get(candidate.entry.id.as_str())
            .copied()
            .unwrap_or(0);
        if seq <= through {
            first.push((RankKey::of(&candidate.entry, &slot), candidate));
        } else {
            later.push((seq, candidate));
        }
    }
    first.sort_by(|a, b| a.0.cmp(&b.0));
    later.sort_by_key(|(seq, _)| *seq);
    let after = |place: &CandidateCursor| -> bool {
        match (place, &cursor) {
            (_, None) => true,
            (CandidateCursor::Ranked { key, .. }, Some(CandidateCursor::Ranked { key: k, .. })) => {
                key > k
            }
            (CandidateCursor::Ranked { .. }, Some(CandidateCursor::Added { .. })) => false,
            (CandidateCursor::Added { .. }, Some(CandidateCursor::Ranked { .. })) => true,
            (
                CandidateCursor::Added { after_seq, .. },
                Some(CandidateCursor::Added { after_seq: s, .. }),
            ) => after_seq > s,
        }
    };
    let order = first
        .into_iter()
        .map(|(key, candidate)| (CandidateCursor::Ranked { through, key }, candidate))
        .chain(later.into_iter().map(|(seq, candidate)| {
            (
                CandidateCursor::Added {
                    through,
                    after_seq: seq,
                },
                candidate,
            )
        }));
    let mut items: Vec<(CandidateCursor, &WaitlistCandidate)> = order
        .filter(|(place, candidate)| after(place) && changed(&candidate.entry))
        .take(page.limit as usize + 1)
        .collect();
    let has_more = items.len() > page.limit as usize;
    items.truncate(page.limit as usize);
    let next = match items.last() {
        Some((place, _)) => place.clone(),
        None => cursor.unwrap_or(CandidateCursor::Added {
            through,
            after_seq: through,
        }),
    };
    let body = CandidateCursorList {
        candidates: items.into_iter().map(|(_, c)| c.clone()).collect(),
        next_cursor: next.encode(),
        has_more,
        limit: page.limit,
    };
    let json = serde_json::to_string(&body).map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response())
}

/// `GET /api/v2/waitlist/{entry_id}`.
#[utoipa::path(get, path = "/api/v2/waitlist/{entry_id}", tag = "v2 beta", summary = "A waitlist entry",
    description = "As GET /api/v1/waitlist/{entry_id}.",
    params(("entry_id" = String, Path, description = "Waitlist entry ID")),
    responses((status = 200, description = "The entry; `ETag` carries its version", body = WaitlistEntry)),
    security(("bearer" = ["read:appointments"]), ("apiKey" = [])))]
pub(crate) async fn entry(
    state: State<AppState>,
    principal: Extension<Principal>,
    id: Path<String>,
) -> Result<Response, ApiError> {
    crate::waitlist::get_one(state, principal, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_cursors_round_trip_and_refuse_others() {
        let ranked = CandidateCursor::Ranked {
            through: 42,
            key: RankKey {
                any_provider: true,
                created_micros: 1_790_000_000_000_000,
                id: "WL-1:odd".into(),
            },
        };
        assert_eq!(CandidateCursor::decode(&ranked.encode()), Some(ranked));
        let added = CandidateCursor::Added {
            through: 42,
            after_seq: 50,
        };
        assert_eq!(CandidateCursor::decode(&added.encode()), Some(added));
        assert_eq!(
            CandidateCursor::decode(&super::super::encode_cursor("entries", 3)),
            None
        );
        assert_eq!(CandidateCursor::decode("not a cursor"), None);
    }
}
