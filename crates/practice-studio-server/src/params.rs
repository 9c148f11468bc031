//! Query parameters and headers every route shares.

use axum::http::{header, HeaderMap};
use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::detail_code as code;
use practice_studio::model::ErrorDetail;

use crate::error::ApiError;

pub(crate) const DEFAULT_LIMIT: u32 = 20;
pub(crate) const MAX_LIMIT: u32 = 100;

/// A problem of `field` of the kind `code` (one of `practice_studio::model::detail_code`).
pub(crate) fn detail(code: &str, field: &str, issue: &str) -> ErrorDetail {
    ErrorDetail::new(code, field, issue)
}

/// `limit` (1–100, default 20) and `offset` (0 or more, within i64 so a database can take it),
/// adding a problem for each bad one so the caller can list every problem at once.
pub(crate) fn paging<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    problems: &mut Vec<ErrorDetail>,
) -> (u32, u64) {
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                problems.push(detail(
                    code::OUT_OF_RANGE,
                    "limit",
                    "must be a whole number from 1 to 100",
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let offset = match get("offset") {
        None => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n as u64,
            _ => {
                problems.push(detail(
                    code::OUT_OF_RANGE,
                    "offset",
                    "must be a whole number from 0 to 9223372036854775807",
                ));
                0
            }
        },
    };
    (limit, offset)
}

/// `updated_since` and similar: an RFC 3339 instant, or a date (its midnight UTC).
pub(crate) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// `If-Match: "3"` (or `W/"3"`, or `3`) → 3; absent → no check; anything else → 400 naming `what`.
pub(crate) fn if_match(headers: &HeaderMap, what: &str) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_field(
                code::INVALID_FORMAT,
                "If-Match",
                format!("must be the {what}'s version, e.g. \"3\""),
            )
        })
}
