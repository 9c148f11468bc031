//! fhir: written once for both engines; see [`super`] for how the sharing works.

/// The fhir storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! fhir_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use practice_studio::model::{Allergy, Appointment, InsurancePolicy, Patient, PatientId};
        use sqlx::{QueryBuilder, Row};

        use super::{corrupt, ts, $Store};
        use crate::storage::{
            AllergySearch, AnyOf, AppointmentSearch, CoverageSearch, DayRange, FhirStorage,
            InstantRange, InvoiceSearch, InvoiceSettlement, PatientAllergy, PatientCoverage,
            PatientSearch, PolicyRank, RecordSearch, Result,
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
            builder: &mut QueryBuilder<'_, $Db>,
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
                                let [open, like, close] = super::dialect::CASELESS_LIKE;
                                builder.push(format!("{open}{column}{like}"));
                                builder.push_bind(like_prefix(value));
                                builder.push(close);
                            }
                            Match::NoCase => {
                                let [open, equals, close] = super::dialect::CASELESS_EQUALS;
                                builder.push(format!("{open}{column}{equals}"));
                                builder.push_bind(value.clone());
                                builder.push(close);
                            }
                        }
                    }
                }
                builder.push(")");
            }
        }

        fn push_instants(
            builder: &mut QueryBuilder<'_, $Db>,
            column: &str,
            ranges: &[InstantRange],
        ) {
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

        fn push_days(builder: &mut QueryBuilder<'_, $Db>, column: &str, ranges: &[DayRange]) {
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

        fn push_page(builder: &mut QueryBuilder<'_, $Db>, limit: u32, offset: u64) {
            builder.push(" LIMIT ");
            builder.push_bind(i64::from(limit));
            builder.push(" OFFSET ");
            builder.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        }

        use super::dialect::PHONE_DIGITS;

        #[async_trait::async_trait]
        impl FhirStorage for $Store {
            async fn fhir_patients(&self, search: &PatientSearch) -> Result<(u64, Vec<Patient>)> {
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
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
                        &[super::dialect::PATIENT_GENDER],
                        &search.genders,
                        Match::Exact,
                    );
                    push_any(builder, &[PHONE_DIGITS], &search.phones, Match::Exact);
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT COUNT(*) FROM patients");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> = QueryBuilder::new("SELECT body FROM patients");
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
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
                    builder.push(" WHERE 1 = 1");
                    push_any(builder, &["id"], &search.ids, Match::Exact);
                    push_any(builder, &["patient_id"], &search.patients, Match::Exact);
                    push_any(builder, &["provider_id"], &search.providers, Match::Exact);
                    push_any(builder, &["location_id"], &search.locations, Match::Exact);
                    push_any(builder, &["status"], &search.statuses, Match::Exact);
                    push_instants(builder, "start_time", &search.starts);
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT COUNT(*) FROM appointments");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT body FROM appointments");
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
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
                    builder.push(" WHERE 1 = 1");
                    push_any(builder, &["id"], &search.ids, Match::Exact);
                    push_any(builder, &["patient_id"], &search.patients, Match::Exact);
                    push_any(builder, &["type"], &search.types, Match::NoCase);
                    push_instants(builder, "date", &search.dates);
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT COUNT(*) FROM records");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> = QueryBuilder::new("SELECT id FROM records");
                filters(&mut page);
                page.push(" ORDER BY date DESC, seq DESC");
                push_page(&mut page, search.limit, search.offset);
                let ids = page.build_query_scalar().fetch_all(&mut *conn).await?;
                Ok((total as u64, ids))
            }

            async fn fhir_invoice_ids(&self, search: &InvoiceSearch) -> Result<(u64, Vec<String>)> {
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
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
                                InvoiceSettlement::Owed => {
                                    " OR paid_cents + adjusted_cents < amount_cents"
                                }
                            });
                        }
                        builder.push(")");
                    }
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> =
                    QueryBuilder::new("SELECT COUNT(*) FROM invoices");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> = QueryBuilder::new("SELECT id FROM invoices");
                filters(&mut page);
                page.push(" ORDER BY date DESC, seq DESC");
                push_page(&mut page, search.limit, search.offset);
                let ids = page.build_query_scalar().fetch_all(&mut *conn).await?;
                Ok((total as u64, ids))
            }

            async fn fhir_allergies(
                &self,
                search: &AllergySearch,
            ) -> Result<(u64, Vec<PatientAllergy>)> {
                // One row per allergy, each patient's list in order (a patient without a list has
                // none).
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
                    builder.push(super::dialect::ALLERGY_ROWS);
                    push_any(builder, &["p.id"], &search.patients, Match::Exact);
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> = QueryBuilder::new("SELECT COUNT(*)");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> =
                    QueryBuilder::new(super::dialect::ALLERGY_COLUMNS);
                filters(&mut page);
                page.push(super::dialect::ALLERGY_ORDER);
                push_page(&mut page, search.limit, search.offset);
                let rows = page.build().fetch_all(&mut *conn).await?;
                let allergies = rows
                    .iter()
                    .map(|row| {
                        let allergy: Allergy =
                            serde_json::from_str(&row.try_get::<String, _>("allergy")?)
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

            async fn fhir_coverages(
                &self,
                search: &CoverageSearch,
            ) -> Result<(u64, Vec<PatientCoverage>)> {
                // One row per policy of the insurance object (primary sorts first).
                let filters = |builder: &mut QueryBuilder<'_, $Db>| {
                    builder.push(super::dialect::POLICY_ROWS);
                    push_any(builder, &["p.id"], &search.patients, Match::Exact);
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> = QueryBuilder::new("SELECT COUNT(*)");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> = QueryBuilder::new(super::dialect::POLICY_COLUMNS);
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
    };
}
pub(crate) use fhir_storage;
