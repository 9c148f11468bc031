//! Query parameters every list route shares.

use practice_studio::model::ErrorDetail;

pub(crate) const DEFAULT_LIMIT: u32 = 20;
pub(crate) const MAX_LIMIT: u32 = 100;

pub(crate) fn detail(field: &str, issue: &str) -> ErrorDetail {
    ErrorDetail {
        field: field.into(),
        issue: issue.into(),
    }
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
                problems.push(detail("limit", "must be a whole number from 1 to 100"));
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
                    "offset",
                    "must be a whole number from 0 to 9223372036854775807",
                ));
                0
            }
        },
    };
    (limit, offset)
}
