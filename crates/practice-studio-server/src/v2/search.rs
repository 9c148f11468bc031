//! `GET /api/v2/patients?q=`: the enhanced search. Matching and ranking are
//! `practice_studio::search`'s (the desk's own), over the server's in-memory index
//! (`crate::search`); the cursor pages the ranking by the last item's score and `seq`, so a
//! patient already sent is never sent again, even when others register between pages.

use std::collections::HashMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use practice_studio::model::detail_code as code;
use practice_studio::model::PatientStatus;
use practice_studio::search::PatientQuery;

use crate::app::AppState;
use crate::error::ApiError;
use crate::params::detail;
use crate::search::{Ranked, SearchFilters};

use super::ListParams;

/// The longest search text.
const MAX_QUERY_CHARS: usize = 200;

/// `search:{score bits in hex}:{seq}`, opaque to the client.
fn encode_cursor(last: Ranked) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "search:{:x}:{}",
        last.score.to_bits(),
        last.seq
    ))
}

fn decode_cursor(cursor: &str) -> Option<Ranked> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != "search" {
        return None;
    }
    let score = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
    let seq: i64 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && score.is_finite() && seq >= 0).then_some(Ranked { score, seq })
}

/// Whether `r` ranks after `last` (the order is score descending, then `seq` ascending).
fn after(r: &Ranked, last: &Ranked) -> bool {
    r.score < last.score || (r.score == last.score && r.seq > last.seq)
}

pub(crate) async fn patients(
    app: AppState,
    params: &HashMap<String, String>,
    q: &str,
) -> Result<Response, ApiError> {
    // The cursor is this list's own; the shared parameters are read without it.
    let mut shared = params.clone();
    let cursor = shared.remove("cursor").filter(|c| !c.trim().is_empty());
    let mut p = ListParams::new(&shared);
    let page = p.page("patients");
    let status = p.wire::<PatientStatus>("status", "active, inactive, deceased");
    let last = match &cursor {
        None => None,
        Some(c) => {
            let decoded = decode_cursor(c);
            if decoded.is_none() {
                p.problems.push(detail(
                    code::INVALID_CURSOR,
                    "cursor",
                    "must be a next_cursor this search returned",
                ));
            }
            decoded
        }
    };
    if q.chars().count() > MAX_QUERY_CHARS {
        p.problems.push(detail(
            code::TOO_LONG,
            "q",
            "must be at most 200 characters",
        ));
    }
    let provider = p.text("provider_id");
    p.finish()?;
    let Some(query) = PatientQuery::parse(q) else {
        return Err(ApiError::invalid_field(code::REQUIRED, "q", "is required"));
    };
    let only = match provider {
        None => None,
        Some(provider) => {
            let known = app
                .storage
                .providers()
                .await
                .map_err(ApiError::internal)?
                .iter()
                .any(|p| p.id.as_str() == provider);
            if !known {
                return Err(ApiError::invalid_field(
                    code::UNKNOWN_REFERENCE,
                    "provider_id",
                    format!("no provider {provider}"),
                ));
            }
            let seen = app
                .storage
                .v2_patients_seen_by(&provider)
                .await
                .map_err(ApiError::internal)?;
            Some(seen.into_iter().collect())
        }
    };
    let filters = SearchFilters {
        status,
        updated_since: page.updated_since,
        only,
    };
    let ranked = app
        .patient_index
        .search(app.storage.as_ref(), &query, &filters)
        .await
        .map_err(ApiError::internal)?;
    let mut rest = ranked
        .into_iter()
        .filter(|r| last.as_ref().is_none_or(|last| after(r, last)));
    let chosen: Vec<Ranked> = rest.by_ref().take(page.limit as usize).collect();
    let has_more = rest.next().is_some();
    let seqs: Vec<i64> = chosen.iter().map(|r| r.seq).collect();
    let summaries: HashMap<i64, String> = app
        .storage
        .v2_patient_summaries(&seqs)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .collect();
    let mut items = Vec::with_capacity(chosen.len());
    let mut scores = Vec::with_capacity(chosen.len());
    for r in &chosen {
        if let Some(summary) = summaries.get(&r.seq) {
            items.push(summary.as_str());
            // Four decimals say enough and keep the JSON short.
            scores.push(format!("{:.4}", r.score));
        }
    }
    let next = chosen.last().copied().or(last);
    let next_cursor = next.map(encode_cursor).unwrap_or_default();
    let body = format!(
        "{{\"patients\":[{}],\"scores\":[{}],\"next_cursor\":\"{next_cursor}\",\"has_more\":{has_more},\"limit\":{}}}",
        items.join(","),
        scores.join(","),
        page.limit
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_cursors_round_trip_and_order_by_score_then_seq() {
        let last = Ranked {
            score: 0.8125,
            seq: 42,
        };
        assert_eq!(decode_cursor(&encode_cursor(last)), Some(last));
        assert_eq!(decode_cursor("bm90IGEgY3Vyc29y"), None);
        assert_eq!(
            decode_cursor(&super::super::encode_cursor("patients", 3)),
            None
        );
        assert!(after(&Ranked { score: 0.5, seq: 1 }, &last));
        assert!(after(
            &Ranked {
                score: 0.8125,
                seq: 43
            },
            &last
        ));
        assert!(!after(
            &Ranked {
                score: 0.8125,
                seq: 42
            },
            &last
        ));
        assert!(!after(
            &Ranked {
                score: 0.9,
                seq: 99
            },
            &last
        ));
    }
}
