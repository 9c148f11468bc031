//! FHIR search requests: the query string as parameters (comma lists as alternatives, repeats
//! as conjunctions), the parameter types this server supports (string, token, reference, date
//! with `eq`/`gt`/`ge`/`lt`/`le`), paging (`_count` ≤ 100, `_offset`), `Prefer: handling`, and
//! the searchset Bundle with its `self` and `next` links.

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};

use super::outcome::{outcome, FhirError};
use super::{ParamKind, ResourceType};
use crate::storage::{DayRange, InstantRange};

/// Page size when `_count` is not given.
pub const DEFAULT_COUNT: u32 = 20;
/// The largest page; a larger `_count` is served this many.
pub const MAX_COUNT: u32 = 100;

/// Parameters every search understands besides the resource's own.
const RESULT_PARAMETERS: [&str; 3] = ["_count", "_offset", "_format"];

/// One `name[:modifier]=value` of the query.
#[derive(Debug, Clone)]
struct Parameter {
    name: String,
    value: String,
}

/// `Prefer: handling=…`: what to do with a parameter the server does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Refuse the search (400, OperationOutcome).
    Strict,
    /// Ignore it, leave it out of the `self` link, and say so in an `outcome` entry.
    Lenient,
}

impl Handling {
    /// From the `Prefer` header; lenient when absent (the FHIR default is the server's choice).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let strict = headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .any(|p| {
                p.trim()
                    .replace(' ', "")
                    .eq_ignore_ascii_case("handling=strict")
            });
        if strict {
            Handling::Strict
        } else {
            Handling::Lenient
        }
    }
}

/// A token: `[system]|code`, `code`, or `system|`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `None` when no `|` was given (any system); `Some("")` for `|code` (no system).
    pub system: Option<String>,
    pub code: String,
}

impl Token {
    /// The code when the token's system is absent or `system`.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        match &self.system {
            None => Some(&self.code),
            Some(s) if s == system => Some(&self.code),
            Some(_) => None,
        }
    }
}

/// A parsed search request for one resource type.
#[derive(Debug)]
pub struct Search {
    resource: &'static ResourceType,
    parameters: Vec<Parameter>,
    ignored: Vec<String>,
    pub count: u32,
    pub offset: u64,
}

/// Splits a comma list, honouring `\,` escapes (FHIR §3.1.1.5.7).
fn alternatives(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(',' | '\\' | '|' | '$')) => {
                if let Some(next) = chars.next() {
                    if let Some(last) = out.last_mut() {
                        last.push(next);
                    }
                }
            }
            ',' => out.push(String::new()),
            other => {
                if let Some(last) = out.last_mut() {
                    last.push(other);
                }
            }
        }
    }
    out
}

impl Search {
    /// Parses `query` for `resource`. Unknown parameters are refused under `Strict` and set
    /// aside under `Lenient`; a modifier is never supported (FHIR: refuse unsupported
    /// modifiers whatever the handling).
    pub fn parse(
        resource: &'static ResourceType,
        query: &str,
        handling: Handling,
    ) -> Result<Self, FhirError> {
        let mut search = Search {
            resource,
            parameters: Vec::new(),
            ignored: Vec::new(),
            count: DEFAULT_COUNT,
            offset: 0,
        };
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let (base, modifier) = match name.split_once(':') {
                Some((base, modifier)) => (base.to_owned(), Some(modifier.to_owned())),
                None => (name.to_string(), None),
            };
            let known = resource.params.iter().any(|p| p.name == base)
                || RESULT_PARAMETERS.contains(&base.as_str());
            if !known {
                match handling {
                    Handling::Strict => {
                        return Err(FhirError::NotSupported(format!(
                            "unknown search parameter {base:?} for {} (Prefer: handling=strict)",
                            resource.name
                        )))
                    }
                    Handling::Lenient => {
                        search.ignored.push(base);
                        continue;
                    }
                }
            }
            if let Some(modifier) = modifier {
                return Err(FhirError::NotSupported(format!(
                    "the modifier :{modifier} of {base} is not supported"
                )));
            }
            match base.as_str() {
                "_count" => {
                    let count: u32 = value.trim().parse().map_err(|_| {
                        FhirError::Invalid("_count must be a whole number from 0".into())
                    })?;
                    search.count = count.min(MAX_COUNT);
                }
                "_offset" => {
                    search.offset = value.trim().parse().map_err(|_| {
                        FhirError::Invalid("_offset must be a whole number from 0".into())
                    })?;
                }
                "_format" => {
                    let format = value.trim().to_ascii_lowercase();
                    if !matches!(
                        format.as_str(),
                        "json" | "application/json" | "application/fhir+json"
                    ) {
                        return Err(FhirError::NotSupported(
                            "only JSON is served (_format=json)".into(),
                        ));
                    }
                }
                _ => search.parameters.push(Parameter {
                    name: base,
                    value: value.into_owned(),
                }),
            }
        }
        Ok(search)
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.parameters
            .iter()
            .filter(move |p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// A string parameter: one list of alternatives per occurrence, empty values left out.
    pub fn strings(&self, name: &str) -> Vec<Vec<String>> {
        self.values(name)
            .map(|v| {
                alternatives(v)
                    .into_iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|list| !list.is_empty())
            .collect()
    }

    /// A token parameter.
    pub fn tokens(&self, name: &str) -> Vec<Vec<Token>> {
        self.strings(name)
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|v| match v.split_once('|') {
                        Some((system, code)) => Token {
                            system: Some(system.to_owned()),
                            code: code.to_owned(),
                        },
                        None => Token {
                            system: None,
                            code: v,
                        },
                    })
                    .collect()
            })
            .collect()
    }

    /// A reference parameter to `target` (`id`, `Type/id` or an absolute URL ending so): the ids.
    pub fn references(&self, name: &str, target: &str) -> Result<Vec<Vec<String>>, FhirError> {
        self.strings(name)
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|v| {
                        let path = v.trim_end_matches('/');
                        let mut segments = path.rsplit('/');
                        let id = segments.next().unwrap_or_default().to_owned();
                        match segments.next() {
                            None => Ok(id),
                            Some(kind) if kind == target => Ok(id),
                            Some(kind) => Err(FhirError::Invalid(format!(
                                "{name} refers to {target} resources, not {kind}"
                            ))),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// A date parameter as the instants the searched element must fall in.
    pub fn instant_ranges(&self, name: &str) -> Result<Vec<InstantRange>, FhirError> {
        let mut ranges = Vec::new();
        // FHIR ignores parameters with empty values.
        for value in self.values(name).filter(|v| !v.trim().is_empty()) {
            if value.contains(',') {
                return Err(FhirError::NotSupported(format!(
                    "{name}: alternatives of dates are not supported; repeat the parameter instead"
                )));
            }
            ranges.push(date_condition(name, value.trim())?);
        }
        Ok(ranges)
    }

    /// A date parameter over a date element (a birth date): whole days.
    pub fn day_ranges(&self, name: &str) -> Result<Vec<DayRange>, FhirError> {
        Ok(self
            .instant_ranges(name)?
            .into_iter()
            .map(|r| DayRange {
                from: r.from.map(|t| t.date_naive()),
                until: r.until.map(|t| {
                    if t.time() == NaiveTime::MIN {
                        t.date_naive()
                    } else {
                        t.date_naive() + Duration::days(1)
                    }
                }),
            })
            .collect())
    }

    /// The searchset Bundle of one page.
    pub fn bundle(&self, base: &str, total: u64, entries: Vec<Value>, now: DateTime<Utc>) -> Value {
        let mut links = vec![json!({ "relation": "self", "url": self.link(base, self.offset) })];
        let end = self.offset.saturating_add(u64::from(self.count));
        if self.count > 0 && end < total {
            links.push(json!({ "relation": "next", "url": self.link(base, end) }));
        }
        if self.count > 0 && self.offset > 0 {
            let previous = self.offset.saturating_sub(u64::from(self.count));
            links.push(json!({ "relation": "previous", "url": self.link(base, previous) }));
        }
        let mut entry: Vec<Value> = entries
            .into_iter()
            .map(|resource| {
                let full_url = format!(
                    "{base}/{}/{}",
                    resource["resourceType"]
                        .as_str()
                        .unwrap_or(self.resource.name),
                    resource["id"].as_str().unwrap_or_default()
                );
                json!({ "fullUrl": full_url, "resource": resource, "search": { "mode": "match" } })
            })
            .collect();
        if !self.ignored.is_empty() {
            let mut names = self.ignored.clone();
            names.sort();
            names.dedup();
            entry.push(json!({
                "resource": outcome(
                    "warning",
                    "not-supported",
                    &format!("search parameters ignored (not supported for {}): {}",
                        self.resource.name, names.join(", ")),
                ),
                "search": { "mode": "outcome" }
            }));
        }
        let mut bundle = json!({
            "resourceType": "Bundle",
            "meta": { "lastUpdated": super::instant(now) },
            "type": "searchset",
            "total": total,
            "link": links,
        });
        if !entry.is_empty() {
            bundle["entry"] = Value::Array(entry);
        }
        bundle
    }

    /// The search's URL at another offset: the parameters used (never the ignored ones), in
    /// their order, then the page.
    fn link(&self, base: &str, offset: u64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for parameter in &self.parameters {
            query.append_pair(&parameter.name, &parameter.value);
        }
        query.append_pair("_count", &self.count.to_string());
        query.append_pair("_offset", &offset.to_string());
        format!("{base}/{}?{}", self.resource.name, query.finish())
    }
}

/// The instants a `date` value with its prefix selects: the value is a range (its precision:
/// a year, a month, a day, a minute or a second), compared as FHIR §3.1.1.5.3 says.
fn date_condition(name: &str, value: &str) -> Result<InstantRange, FhirError> {
    let (prefix, rest) = match value.get(..2) {
        Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => (p, &value[2..]),
        _ => ("eq", value),
    };
    // The value is not echoed: a searched date may be a birth date.
    let (low, high) = date_range(rest).ok_or_else(|| {
        FhirError::Invalid(format!(
            "{name} must be a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)"
        ))
    })?;
    Ok(match prefix {
        "eq" => InstantRange {
            from: Some(low),
            until: Some(high),
        },
        "ge" => InstantRange {
            from: Some(low),
            until: None,
        },
        "gt" => InstantRange {
            from: Some(high),
            until: None,
        },
        "le" => InstantRange {
            from: None,
            until: Some(high),
        },
        "lt" => InstantRange {
            from: None,
            until: Some(low),
        },
        other => {
            return Err(FhirError::NotSupported(format!(
                "{name}: the prefix {other:?} is not supported (eq, ge, gt, le, lt)"
            )))
        }
    })
}

/// `[low, high)` of a FHIR date or dateTime; a time without a zone is taken as UTC.
fn date_range(text: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
    match text.len() {
        4 => {
            let year: i32 = text.parse().ok()?;
            let start = NaiveDate::from_ymd_opt(year, 1, 1)?;
            let end = NaiveDate::from_ymd_opt(year + 1, 1, 1)?;
            Some((day(start), day(end)))
        }
        7 => {
            let start = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?;
            let end = start.checked_add_months(chrono::Months::new(1))?;
            Some((day(start), day(end)))
        }
        10 => {
            let start = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
            Some((day(start), day(start.succ_opt()?)))
        }
        _ => {
            let (instant, has_seconds) = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
                (t.with_timezone(&Utc), true)
            } else if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z") {
                (t.with_timezone(&Utc), false)
            } else if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
                (Utc.from_utc_datetime(&t), true)
            } else if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
                (Utc.from_utc_datetime(&t), false)
            } else {
                return None;
            };
            let step = if has_seconds {
                Duration::seconds(1)
            } else {
                Duration::minutes(1)
            };
            Some((instant, instant + step))
        }
    }
}

/// The kinds of parameter, as a CapabilityStatement names them.
pub fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::String => "string",
        ParamKind::Token => "token",
        ParamKind::Reference => "reference",
        ParamKind::Date => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn dates_select_the_range_their_precision_and_prefix_say() {
        let day = date_condition("date", "2026-11-23").expect("eq day");
        assert_eq!(day.from, Some(at("2026-11-23T00:00:00Z")));
        assert_eq!(day.until, Some(at("2026-11-24T00:00:00Z")));
        let month = date_condition("date", "ge2026-02").expect("ge month");
        assert_eq!(month.from, Some(at("2026-02-01T00:00:00Z")));
        assert_eq!(month.until, None);
        let year = date_condition("date", "lt2026").expect("lt year");
        assert_eq!(year.until, Some(at("2026-01-01T00:00:00Z")));
        let le = date_condition("date", "le2026-11-23").expect("le day");
        assert_eq!(le.until, Some(at("2026-11-24T00:00:00Z")));
        let gt = date_condition("date", "gt2026-11-23T10:00:00-05:00").expect("gt instant");
        assert_eq!(gt.from, Some(at("2026-11-23T15:00:01Z")));
        assert!(matches!(
            date_condition("date", "sa2026"),
            Err(FhirError::NotSupported(_))
        ));
        assert!(matches!(
            date_condition("date", "2026-13-01"),
            Err(FhirError::Invalid(_))
        ));
        assert!(matches!(
            date_condition("date", "yesterday"),
            Err(FhirError::Invalid(_))
        ));
    }

    #[test]
    fn comma_lists_are_alternatives_with_escapes() {
        assert_eq!(alternatives("a,b"), ["a", "b"]);
        assert_eq!(alternatives(r"a\,b,c"), ["a,b", "c"]);
    }

    #[test]
    fn prefer_handling_strict_is_recognised_among_other_preferences() {
        let mut headers = HeaderMap::new();
        assert_eq!(Handling::from_headers(&headers), Handling::Lenient);
        headers.insert(
            "prefer",
            "return=minimal, handling=strict".parse().expect("header"),
        );
        assert_eq!(Handling::from_headers(&headers), Handling::Strict);
        headers.insert("prefer", "handling=lenient".parse().expect("header"));
        assert_eq!(Handling::from_headers(&headers), Handling::Lenient);
    }
}
