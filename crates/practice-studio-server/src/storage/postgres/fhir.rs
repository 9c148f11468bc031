//! [`FhirStorage`] on PostgreSQL: the FHIR searches over the v1 tables. Columns the tables do not
//! have (a patient's gender and phone) are read from the stored body with PostgreSQL's JSON operators.

use practice_studio::model::{Allergy, Appointment, InsurancePolicy, Patient, PatientId};
use sqlx::{Postgres, QueryBuilder, Row};

use super::{corrupt, ts, PgStorage};
use crate::storage::{
    AllergySearch, AnyOf, AppointmentSearch, CoverageSearch, DayRange, FhirStorage, InstantRange,
    InvoiceSearch, InvoiceSettlement, PatientAllergy, PatientCoverage, PatientSearch, PolicyRank,
    RecordSearch, Result,
};

/// How one alternative is compared with its column.
#[derive(Clone, Copy)]
enum Match {
    Exact,
    /// Case-insensitive prefix (FHIR string search).
    Prefix,
    /// Case-insensitive equality.
    NoCase,
}

/// `LIKE` treats `%` and `_` as wildcards: a searched `_` must match itself.
fn like_prefix(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 1);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// ` AND (a OR b …)` for every parameter; each alternative compares one of `columns`.
fn push_any(
    builder: &mut QueryBuilder<'_, Postgres>,
    columns: &[&str],
    parameters: &[AnyOf<String>],
    how: Match,
) {
    for alternatives in parameters {
        builder.push(" AND (");
        if alternatives.is_empty() {
            builder.push("FALSE");
        }
        let mut first = true;
        for value in alternatives {
            for column in columns {
                if !first {
                    builder.push(" OR ");
                }
                first = false;
                match how {
                    Match::Exact => {
                        builder.push(*column);
                        builder.push(" = ");
                        builder.push_bind(value.clone());
                    }
                    // SQLite's LIKE and NOCASE ignore ASCII case; PostgreSQL's lower() in the
                    // "C" collation folds ASCII only too.
                    Match::Prefix => {
                        builder.push(format!("lower({column}) LIKE lower("));
                        builder.push_bind(like_prefix(value));
                        builder.push(") ESCAPE '\\'");
                    }
                    Match::NoCase => {
                        builder.push(format!("lower({column}) = lower("));
                        builder.push_bind(value.clone());
                        builder.push(")");
                    }
                }
            }
        }
        builder.push(")");
    }
}

fn push_instants(builder: &mut QueryBuilder<'_, Postgres>, column: &str, ranges: &[InstantRange]) {
    for range in ranges {
        if let Some(from) = range.from {
            builder.push(format!(" AND {column} >= "));
            builder.push_bind(ts(from));
        }
        if let Some(until) = range.until {
            builder.push(format!(" AND {column} < "));
            builder.push_bind(ts(until));
        }
    }
}

fn push_days(builder: &mut QueryBuilder<'_, Postgres>, column: &str, ranges: &[DayRange]) {
    for range in ranges {
        if let Some(from) = range.from {
            builder.push(format!(" AND {column} >= "));
            builder.push_bind(from.to_string());
        }
        if let Some(until) = range.until {
            builder.push(format!(" AND {column} < "));
            builder.push_bind(until.to_string());
        }
    }
}

fn push_page(builder: &mut QueryBuilder<'_, Postgres>, limit: u32, offset: u64) {
    builder.push(" LIMIT ");
    builder.push_bind(i64::from(limit));
    builder.push(" OFFSET ");
    builder.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
}

/// The digits of a stored phone, as SQL (phones are written `555-123-4567`, `(555) 123 4567`, …).
/// migrations-pg/0001 indexes this very expression: change both together.
const PHONE_DIGITS: &str = "replace(replace(replace(replace(replace(replace(\
     COALESCE(body::jsonb #>> '{contactInfo,phone}', ''), '-', ''), ' ', ''), '(', ''), ')', ''), \
     '.', ''), '+', '')";

#[async_trait::async_trait]
impl FhirStorage for PgStorage {
    async fn fhir_patients(&self, search: &PatientSearch) -> Result<(u64, Vec<Patient>)> {
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(" WHERE 1 = 1");
            push_any(builder, &["id"], &search.ids, Match::Exact);
            push_any(builder, &["mrn"], &search.mrns, Match::NoCase);
            push_any(
                builder,
                &["first_name", "last_name"],
                &search.names,
                Match::Prefix,
            );
            push_any(builder, &["last_name"], &search.families, Match::Prefix);
            push_any(builder, &["first_name"], &search.givens, Match::Prefix);
            push_days(builder, "date_of_birth", &search.birth_dates);
            push_any(
                builder,
                &["(body::jsonb #>> '{gender}')"],
                &search.genders,
                Match::Exact,
            );
            push_any(builder, &[PHONE_DIGITS], &search.phones, Match::Exact);
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> = QueryBuilder::new("SELECT COUNT(*) FROM patients");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT body FROM patients");
        filters(&mut page);
        page.push(" ORDER BY seq");
        push_page(&mut page, search.limit, search.offset);
        let rows = page.build().fetch_all(&mut *conn).await?;
        let patients = rows
            .iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                serde_json::from_str(&body).map_err(corrupt("patient body"))
            })
            .collect::<Result<Vec<Patient>>>()?;
        Ok((total as u64, patients))
    }

    async fn fhir_appointments(
        &self,
        search: &AppointmentSearch,
    ) -> Result<(u64, Vec<Appointment>)> {
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(" WHERE 1 = 1");
            push_any(builder, &["id"], &search.ids, Match::Exact);
            push_any(builder, &["patient_id"], &search.patients, Match::Exact);
            push_any(builder, &["provider_id"], &search.providers, Match::Exact);
            push_any(builder, &["location_id"], &search.locations, Match::Exact);
            push_any(builder, &["status"], &search.statuses, Match::Exact);
            push_instants(builder, "start_time", &search.starts);
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT COUNT(*) FROM appointments");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT body FROM appointments");
        filters(&mut page);
        page.push(" ORDER BY start_time, id");
        push_page(&mut page, search.limit, search.offset);
        let rows = page.build().fetch_all(&mut *conn).await?;
        let appointments = rows
            .iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                serde_json::from_str(&body).map_err(corrupt("appointment body"))
            })
            .collect::<Result<Vec<Appointment>>>()?;
        Ok((total as u64, appointments))
    }

    async fn fhir_record_ids(&self, search: &RecordSearch) -> Result<(u64, Vec<String>)> {
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(" WHERE 1 = 1");
            push_any(builder, &["id"], &search.ids, Match::Exact);
            push_any(builder, &["patient_id"], &search.patients, Match::Exact);
            push_any(builder, &["type"], &search.types, Match::NoCase);
            push_instants(builder, "date", &search.dates);
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> = QueryBuilder::new("SELECT COUNT(*) FROM records");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT id FROM records");
        filters(&mut page);
        page.push(" ORDER BY date DESC, seq DESC");
        push_page(&mut page, search.limit, search.offset);
        let ids = page.build_query_scalar().fetch_all(&mut *conn).await?;
        Ok((total as u64, ids))
    }

    async fn fhir_invoice_ids(&self, search: &InvoiceSearch) -> Result<(u64, Vec<String>)> {
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(" WHERE 1 = 1");
            push_any(builder, &["id"], &search.ids, Match::Exact);
            push_any(builder, &["patient_id"], &search.patients, Match::Exact);
            for alternatives in &search.settlements {
                builder.push(" AND (FALSE");
                for settlement in alternatives {
                    builder.push(match settlement {
                        InvoiceSettlement::Settled => {
                            " OR paid_cents + adjusted_cents >= amount_cents"
                        }
                        InvoiceSettlement::Owed => " OR paid_cents + adjusted_cents < amount_cents",
                    });
                }
                builder.push(")");
            }
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> = QueryBuilder::new("SELECT COUNT(*) FROM invoices");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT id FROM invoices");
        filters(&mut page);
        page.push(" ORDER BY date DESC, seq DESC");
        push_page(&mut page, search.limit, search.offset);
        let ids = page.build_query_scalar().fetch_all(&mut *conn).await?;
        Ok((total as u64, ids))
    }

    async fn fhir_allergies(&self, search: &AllergySearch) -> Result<(u64, Vec<PatientAllergy>)> {
        // One row per allergy: jsonb_array_elements walks each patient's list in order (a
        // patient without a list has no rows, as json_each gives on SQLite).
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(
                " FROM patients AS p, jsonb_array_elements(CASE WHEN \
                 jsonb_typeof(p.body::jsonb -> 'allergies') = 'array' \
                 THEN p.body::jsonb -> 'allergies' END) WITH ORDINALITY AS a(value, ord) \
                 WHERE TRUE",
            );
            push_any(builder, &["p.id"], &search.patients, Match::Exact);
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> = QueryBuilder::new("SELECT COUNT(*)");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT p.id AS patient_id, a.ord - 1 AS position, a.value::text AS allergy, \
             (p.body::jsonb -> 'allergies')::text AS allergies",
        );
        filters(&mut page);
        page.push(" ORDER BY p.seq, a.ord");
        push_page(&mut page, search.limit, search.offset);
        let rows = page.build().fetch_all(&mut *conn).await?;
        let allergies = rows
            .iter()
            .map(|row| {
                let allergy: Allergy = serde_json::from_str(&row.try_get::<String, _>("allergy")?)
                    .map_err(corrupt("allergy"))?;
                let list: Vec<Allergy> =
                    serde_json::from_str(&row.try_get::<String, _>("allergies")?)
                        .map_err(corrupt("allergies"))?;
                Ok(PatientAllergy {
                    patient_id: PatientId(row.try_get("patient_id")?),
                    position: usize::try_from(row.try_get::<i64, _>("position")?)
                        .map_err(corrupt("allergy position"))?,
                    allergy,
                    allergens: list.into_iter().map(|a| a.allergen).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, allergies))
    }

    async fn fhir_coverages(&self, search: &CoverageSearch) -> Result<(u64, Vec<PatientCoverage>)> {
        // One row per policy: jsonb_each walks the insurance object (primary sorts first).
        let filters = |builder: &mut QueryBuilder<'_, Postgres>| {
            builder.push(
                " FROM patients AS p, jsonb_each(CASE WHEN \
                 jsonb_typeof(p.body::jsonb -> 'insurance') = 'object' \
                 THEN p.body::jsonb -> 'insurance' END) AS i(key, value) \
                 WHERE i.key IN ('primary', 'secondary') AND jsonb_typeof(i.value) = 'object'",
            );
            push_any(builder, &["p.id"], &search.patients, Match::Exact);
        };
        let mut conn = self.readers.acquire().await?;
        let mut count: QueryBuilder<Postgres> = QueryBuilder::new("SELECT COUNT(*)");
        filters(&mut count);
        let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
        let mut page: QueryBuilder<Postgres> =
            QueryBuilder::new("SELECT p.id AS patient_id, i.key AS rank, i.value::text AS policy");
        filters(&mut page);
        page.push(" ORDER BY p.seq, i.key");
        push_page(&mut page, search.limit, search.offset);
        let rows = page.build().fetch_all(&mut *conn).await?;
        let coverages = rows
            .iter()
            .map(|row| {
                let policy: InsurancePolicy =
                    serde_json::from_str(&row.try_get::<String, _>("policy")?)
                        .map_err(corrupt("insurance policy"))?;
                let rank = if row.try_get::<String, _>("rank")? == "primary" {
                    PolicyRank::Primary
                } else {
                    PolicyRank::Secondary
                };
                Ok(PatientCoverage {
                    patient_id: PatientId(row.try_get("patient_id")?),
                    rank,
                    policy,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, coverages))
    }
}
