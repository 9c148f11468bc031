//! The administrator's view of the audit log: who opened which chart, record, attachment or
//! invoice, and when; filtered by user, action and dates, and exported as CSV.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use practice_studio::model::{detail_code, ErrorDetail};

use frontdesk_store::{AuditAction, AuditEntry, AuditFilter};

use crate::account::Person;
use crate::desk::{CoreError, Desk};
use crate::roles::{Offer, Offers};

/// The most entries one query returns.
pub const AUDIT_PAGE_LIMIT: u32 = 5_000;

/// Arguments of `audit_log` and `audit_log_csv`; every absent filter matches everything.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    #[ts(optional)]
    #[serde(default)]
    pub user_id: Option<String>,
    /// `viewed_patient`, `viewed_record`, `viewed_attachment` or `viewed_invoice`.
    #[ts(optional)]
    #[serde(default)]
    pub action: Option<String>,
    /// From the start of this day (UTC), inclusive.
    #[ts(optional)]
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Through the end of this day (UTC), inclusive.
    #[ts(optional)]
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// One entry as the viewer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    #[ts(type = "number")]
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub user_id: String,
    pub action: String,
    pub entity_kind: String,
    pub entity_id: String,
}

/// The viewer's page: the entries, newest first, and the choices of its filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    /// More entries match than were returned.
    pub truncated: bool,
    pub users: Vec<String>,
    /// The names and roles of those users who signed in on this desk (the others are shown by
    /// id).
    pub people: Vec<crate::account::Person>,
    pub actions: Vec<String>,
}

impl AuditQuery {
    fn filter(&self, limit: u32) -> Result<AuditFilter, CoreError> {
        let action = match self.action.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(name) => Some(
                AuditAction::ALL
                    .into_iter()
                    .find(|a| a.as_str() == name)
                    .ok_or_else(|| {
                        CoreError::Invalid(vec![ErrorDetail::new(
                            detail_code::NOT_ONE_OF,
                            "action",
                            format!("{name:?} is not an action of the audit log"),
                        )])
                    })?,
            ),
        };
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return Err(CoreError::Invalid(vec![ErrorDetail::new(
                    detail_code::END_BEFORE_START,
                    "to",
                    "must not be before the start date",
                )]));
            }
        }
        let start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        Ok(AuditFilter {
            user_id: self.user_id.clone().filter(|u| !u.is_empty()),
            action,
            from: self.from.and_then(start),
            until: self.to.and_then(|d| d.succ_opt()).and_then(start),
            limit,
        })
    }
}

fn row(entry: AuditEntry) -> AuditRow {
    AuditRow {
        seq: entry.seq,
        at: entry.at,
        user_id: entry.user_id,
        action: entry.action.as_str().to_owned(),
        entity_kind: entry.entity_kind,
        entity_id: entry.entity_id,
    }
}

/// A CSV field, quoted when it must be (RFC 4180), and defused against spreadsheet formulas.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The rows as CSV with a header line, CRLF line ends (RFC 4180). Each user is named with their
/// role where the desk knows them (`people`: those who signed in on it); the name and role are
/// left empty for the others, whose id stands alone.
pub fn to_csv(rows: &[AuditRow], people: &HashMap<String, Person>) -> String {
    let mut out = String::from("seq,at,user,name,role,action,kind,id\r\n");
    for r in rows {
        let person = people.get(&r.user_id);
        let fields = [
            r.seq.to_string(),
            r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.user_id.clone(),
            person.map(|p| p.name.clone()).unwrap_or_default(),
            person.map(|p| p.role.clone()).unwrap_or_default(),
            r.action.clone(),
            r.entity_kind.clone(),
            r.entity_id.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

impl Desk {
    async fn audit_rows(&self, query: &AuditQuery, limit: u32) -> Result<Vec<AuditRow>, CoreError> {
        let (me, _) = self.signed_in().await?;
        if !me.offers.administer {
            return Err(CoreError::NotAllowed(Offers::why_not(
                Offer::Administer,
                &me.role,
            )));
        }
        let cache = self.cache()?;
        let entries = cache.audit.search(&query.filter(limit)?).await?;
        Ok(entries.into_iter().map(row).collect())
    }

    /// The audit log, filtered (administrators).
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<AuditPage, CoreError> {
        let mut rows = self.audit_rows(query, AUDIT_PAGE_LIMIT + 1).await?;
        let truncated = rows.len() > AUDIT_PAGE_LIMIT as usize;
        rows.truncate(AUDIT_PAGE_LIMIT as usize);
        let users = self.cache()?.audit.users().await?;
        let known = self.people_known().await?;
        let people = users.iter().filter_map(|u| known.get(u).cloned()).collect();
        Ok(AuditPage {
            rows,
            truncated,
            users,
            people,
            actions: AuditAction::ALL
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        })
    }

    /// Every entry the filters select, as CSV (administrators).
    pub async fn audit_log_csv(&self, query: &AuditQuery) -> Result<String, CoreError> {
        let rows = self.audit_rows(query, u32::MAX).await?;
        Ok(to_csv(&rows, &self.people_known().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_must_be_quoted_and_defuses_formulas() {
        assert_eq!(csv_field("USR-1"), "USR-1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn csv_names_the_people_the_desk_knows_and_leaves_the_others_by_id() {
        let at = "2026-11-23T09:30:00Z".parse().expect("instant");
        let entry = |seq, user: &str| AuditRow {
            seq,
            at,
            user_id: user.to_owned(),
            action: "viewed_patient".to_owned(),
            entity_kind: "patient".to_owned(),
            entity_id: "PAT-1".to_owned(),
        };
        let people = HashMap::from([(
            "USR-1".to_owned(),
            Person {
                user_id: "USR-1".to_owned(),
                name: "Dana Reyes, MD".to_owned(),
                role: "clinician".to_owned(),
            },
        )]);
        let csv = to_csv(&[entry(2, "USR-1"), entry(1, "USR-9")], &people);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "seq,at,user,name,role,action,kind,id");
        assert_eq!(
            lines[1],
            "2,2026-11-23T09:30:00Z,USR-1,\"Dana Reyes, MD\",clinician,viewed_patient,patient,PAT-1"
        );
        assert_eq!(
            lines[2],
            "1,2026-11-23T09:30:00Z,USR-9,,,viewed_patient,patient,PAT-1"
        );
    }
}
