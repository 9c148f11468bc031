//! billing: written once for both engines; see [`super`] for how the sharing works.

/// The billing storage of one engine: `$Store` the storage type, `$Db` its `sqlx::Database`,
/// `$Row` its row and `$Conn` its connection.
macro_rules! billing_storage {
    ($Store:ident, $Db:ty, $Row:ty, $Conn:ty) => {
        use std::collections::HashMap;

        use chrono::{DateTime, NaiveDate, Utc};
        use practice_studio::model::{
            Adjustment, AdjustmentId, AdjustmentKind, Invoice, InvoiceId, InvoiceItem, InvoiceLinks,
            InvoiceStatus, PatientId, Payment, PaymentCreated, PaymentId, PaymentLinks,
        };
        use rust_decimal::prelude::ToPrimitive;
        use rust_decimal::Decimal;
        use sqlx::{QueryBuilder, Row};

        use super::{corrupt, ts, $Store, FIRST_NUMBER};
        use crate::storage::{
            BillingStorage, DemoInvoice, IdempotencyClaim, InvoiceQuery, PaymentOutcome, Result,
            StorageError, StoredResponse, ValidPayment,
        };

        const ROWS_PER_INSERT: usize = 200;

        const INVOICE_COLUMNS: &str =
            "id, patient_id, date, due_date, amount_cents, paid_cents, adjusted_cents, items";

        /// Whole cents of an amount with at most two decimals (validated before it gets here).
        fn cents(amount: Decimal) -> Result<i64> {
            (amount * Decimal::ONE_HUNDRED)
                .trunc()
                .to_i64()
                .ok_or_else(|| StorageError::Corrupt(format!("amount {amount} out of range")))
        }

        fn money(cents: i64) -> Decimal {
            Decimal::new(cents, 2)
        }

        fn date_of(text: &str) -> Result<NaiveDate> {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(corrupt("date"))
        }

        /// An invoice row without its payments and adjustments.
        fn invoice_from_row(row: &$Row, today: NaiveDate) -> Result<Invoice> {
            let id = InvoiceId(row.try_get("id")?);
            let patient_id = PatientId(row.try_get("patient_id")?);
            let amount = money(row.try_get("amount_cents")?);
            let paid = money(row.try_get("paid_cents")?);
            let adjusted = money(row.try_get("adjusted_cents")?);
            let due_date = date_of(&row.try_get::<String, _>("due_date")?)?;
            let items: Vec<InvoiceItem> =
                serde_json::from_str(&row.try_get::<String, _>("items")?).map_err(corrupt("items"))?;
            Ok(Invoice {
                links: InvoiceLinks::for_invoice(&id, &patient_id),
                id,
                patient_id,
                date: date_of(&row.try_get::<String, _>("date")?)?,
                due_date,
                status: InvoiceStatus::derive(amount, paid + adjusted, due_date, today),
                amount,
                paid_amount: paid,
                adjusted_amount: adjusted,
                balance: amount - paid - adjusted,
                items,
                payments: Vec::new(),
                adjustments: Vec::new(),
            })
        }

        /// The SQL condition of a status on `?` = today (bound by the caller, once, when needed).
        fn status_condition(status: InvoiceStatus) -> (&'static str, bool) {
            match status {
                InvoiceStatus::Paid => ("paid_cents + adjusted_cents >= amount_cents", false),
                InvoiceStatus::Overdue => (
                    "paid_cents + adjusted_cents < amount_cents AND due_date < ",
                    true,
                ),
                InvoiceStatus::Open => (
                    "paid_cents + adjusted_cents < amount_cents AND due_date >= ",
                    true,
                ),
            }
        }

        impl $Store {
            /// Fills in payments and adjustments of `invoices` with two queries, on `conn`.
            async fn with_money(
                conn: &mut $Conn,
                mut invoices: Vec<Invoice>,
            ) -> Result<Vec<Invoice>> {
                if invoices.is_empty() {
                    return Ok(invoices);
                }
                let ids: Vec<String> = invoices.iter().map(|i| i.id.0.clone()).collect();
                let mut payments: HashMap<String, Vec<Payment>> = HashMap::new();
                let mut query: QueryBuilder<$Db> = QueryBuilder::new(
                    "SELECT id, invoice_id, date, method, amount_cents, reference FROM payments \
                     WHERE invoice_id IN (",
                );
                let mut list = query.separated(", ");
                for id in &ids {
                    list.push_bind(id.clone());
                }
                query.push(") ORDER BY seq");
                for row in query.build().fetch_all(&mut *conn).await? {
                    let invoice_id = InvoiceId(row.try_get("invoice_id")?);
                    let id = PaymentId(row.try_get("id")?);
                    payments
                        .entry(invoice_id.0.clone())
                        .or_default()
                        .push(Payment {
                            links: PaymentLinks::for_payment(&id, &invoice_id),
                            id,
                            date: date_of(&row.try_get::<String, _>("date")?)?,
                            method: row.try_get("method")?,
                            amount: money(row.try_get("amount_cents")?),
                            reference: row.try_get("reference")?,
                        });
                }
                let mut adjustments: HashMap<String, Vec<Adjustment>> = HashMap::new();
                let mut query: QueryBuilder<$Db> = QueryBuilder::new(
                    "SELECT id, invoice_id, date, kind, amount_cents, reason FROM adjustments \
                     WHERE invoice_id IN (",
                );
                let mut list = query.separated(", ");
                for id in &ids {
                    list.push_bind(id.clone());
                }
                query.push(") ORDER BY seq");
                for row in query.build().fetch_all(&mut *conn).await? {
                    let kind: String = row.try_get("kind")?;
                    adjustments
                        .entry(row.try_get("invoice_id")?)
                        .or_default()
                        .push(Adjustment {
                            id: AdjustmentId(row.try_get("id")?),
                            date: date_of(&row.try_get::<String, _>("date")?)?,
                            kind: match kind.as_str() {
                                "write_off" => AdjustmentKind::WriteOff,
                                "insurance" => AdjustmentKind::Insurance,
                                other => {
                                    return Err(StorageError::Corrupt(format!("adjustment kind {other:?}")))
                                }
                            },
                            amount: money(row.try_get("amount_cents")?),
                            reason: row.try_get("reason")?,
                        });
                }
                for invoice in &mut invoices {
                    invoice.payments = payments.remove(invoice.id.as_str()).unwrap_or_default();
                    invoice.adjustments = adjustments.remove(invoice.id.as_str()).unwrap_or_default();
                }
                Ok(invoices)
            }

            async fn invoice_on(
                conn: &mut $Conn,
                id: &str,
                today: NaiveDate,
            ) -> Result<Option<Invoice>> {
                let row = sqlx::query(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let invoice = invoice_from_row(&row, today)?;
                Ok(Self::with_money(conn, vec![invoice]).await?.pop())
            }
        }

        #[async_trait::async_trait]
        impl BillingStorage for $Store {
            async fn list_invoices(&self, query: &InvoiceQuery) -> Result<(u64, Vec<Invoice>)> {
                let today = query.today.to_string();
                let filters = |builder: &mut QueryBuilder<$Db>| {
                    builder.push(" WHERE 1 = 1");
                    if let Some(patient) = &query.patient_id {
                        builder.push(" AND patient_id = ");
                        builder.push_bind(patient.clone());
                    }
                    if let Some(status) = query.status {
                        let (condition, needs_today) = status_condition(status);
                        builder.push(" AND ");
                        builder.push(condition);
                        if needs_today {
                            builder.push_bind(today.clone());
                        }
                    }
                    if let Some(from) = query.from_date {
                        builder.push(" AND date >= ");
                        builder.push_bind(from.to_string());
                    }
                    if let Some(to) = query.to_date {
                        builder.push(" AND date <= ");
                        builder.push_bind(to.to_string());
                    }
                    if let Some(since) = query.updated_since {
                        builder.push(" AND COALESCE(updated, created) >= ");
                        builder.push_bind(ts(since));
                    }
                };
                let mut conn = self.readers.acquire().await?;
                let mut count: QueryBuilder<$Db> = QueryBuilder::new("SELECT COUNT(*) FROM invoices");
                filters(&mut count);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                let mut page: QueryBuilder<$Db> =
                    QueryBuilder::new(format!("SELECT {INVOICE_COLUMNS} FROM invoices"));
                filters(&mut page);
                page.push(" ORDER BY date DESC, seq DESC LIMIT ");
                page.push_bind(query.limit as i64);
                page.push(" OFFSET ");
                page.push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
                let rows = page.build().fetch_all(&mut *conn).await?;
                let invoices = rows
                    .iter()
                    .map(|row| invoice_from_row(row, query.today))
                    .collect::<Result<Vec<_>>>()?;
                Ok((total as u64, Self::with_money(&mut conn, invoices).await?))
            }

            async fn invoice(&self, id: &str, today: NaiveDate) -> Result<Option<Invoice>> {
                let mut conn = self.readers.acquire().await?;
                Self::invoice_on(&mut conn, id, today).await
            }

            async fn invoice_of_payment(
                &self,
                payment_id: &str,
                today: NaiveDate,
            ) -> Result<Option<Invoice>> {
                let mut conn = self.readers.acquire().await?;
                let invoice_id: Option<String> =
                    sqlx::query_scalar("SELECT invoice_id FROM payments WHERE id = $1")
                        .bind(payment_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                match invoice_id {
                    Some(invoice_id) => Self::invoice_on(&mut conn, &invoice_id, today).await,
                    None => Ok(None),
                }
            }

            async fn add_payment(
                &self,
                invoice_id: &str,
                payment: &ValidPayment,
                today: NaiveDate,
                now: DateTime<Utc>,
                idempotency: Option<&IdempotencyClaim>,
            ) -> Result<PaymentOutcome> {
                // The writer (one connection on SQLite, the writers' lock on PostgreSQL): the balance
                // read and the payment written cannot interleave with another payment's.
                let mut tx = self.write().await?;
                let Some(row) = sqlx::query(
                    "SELECT date, amount_cents, paid_cents, adjusted_cents FROM invoices WHERE id = $1",
                )
                .bind(invoice_id)
                .fetch_optional(&mut *tx)
                .await?
                else {
                    return Ok(PaymentOutcome::NotFound);
                };
                let invoice_date = date_of(&row.try_get::<String, _>("date")?)?;
                if payment.date < invoice_date {
                    return Ok(PaymentOutcome::BeforeInvoice { invoice_date });
                }
                let amount: i64 = row.try_get("amount_cents")?;
                let paid: i64 = row.try_get("paid_cents")?;
                let adjusted: i64 = row.try_get("adjusted_cents")?;
                let balance = amount - paid - adjusted;
                let payment_cents = cents(payment.amount)?;
                if payment_cents > balance {
                    return Ok(PaymentOutcome::Exceeds {
                        balance: money(balance.max(0)),
                    });
                }
                let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM payments")
                    .fetch_one(&mut *tx)
                    .await?;
                let id = PaymentId(format!("PAY-{}", FIRST_NUMBER + next));
                sqlx::query(
                    "INSERT INTO payments (seq, id, invoice_id, date, method, amount_cents, reference, \
                     created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(next)
                .bind(id.as_str())
                .bind(invoice_id)
                .bind(payment.date.to_string())
                .bind(&payment.method)
                .bind(payment_cents)
                .bind(&payment.reference)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE invoices SET paid_cents = paid_cents + $1, updated = $2 WHERE id = $3")
                    .bind(payment_cents)
                    .bind(ts(now))
                    .bind(invoice_id)
                    .execute(&mut *tx)
                    .await?;
                let invoice = Self::invoice_on(&mut tx, invoice_id, today)
                    .await?
                    .ok_or_else(|| StorageError::Corrupt(format!("invoice {invoice_id} vanished")))?;
                let created = invoice
                    .payments
                    .iter()
                    .find(|p| p.id == id)
                    .cloned()
                    .ok_or_else(|| StorageError::Corrupt(format!("payment {id} vanished")))?;
                // The payment that settles the invoice is `invoice.paid`; one that leaves a balance is
                // `invoice.updated` (an extension).
                let kind = if invoice.status == practice_studio::model::InvoiceStatus::Paid {
                    "invoice.paid"
                } else {
                    "invoice.updated"
                };
                super::append_event(&mut tx, kind, "read:invoices", &invoice, now).await?;
                let answer = PaymentCreated {
                    payment: created,
                    invoice,
                };
                if let Some(claim) = idempotency {
                    let body = serde_json::to_string(&answer).map_err(corrupt("payment"))?;
                    let response = StoredResponse {
                        status: 201,
                        location: Some(answer.payment.links.receipt.href.clone()),
                        etag: Some(crate::pdf::etag_of(body.as_bytes())),
                        body,
                    };
                    Self::store_response_in(&mut tx, claim, &response).await?;
                }
                tx.commit().await?;
                self.events_committed();
                Ok(PaymentOutcome::Created(Box::new(answer)))
            }

            async fn bulk_insert_invoices(
                &self,
                invoices: &[DemoInvoice],
                now: DateTime<Utc>,
            ) -> Result<u64> {
                let mut tx = self.write().await?;
                insert_invoices(&mut tx, invoices, now).await?;
                tx.commit().await?;
                Ok(invoices.len() as u64)
            }

            async fn issue_invoice(
                &self,
                invoice: &DemoInvoice,
                today: NaiveDate,
                now: DateTime<Utc>,
            ) -> Result<Invoice> {
                let mut tx = self.write().await?;
                let id = insert_invoices(&mut tx, std::slice::from_ref(invoice), now).await?;
                let issued = Self::invoice_on(&mut tx, &id, today)
                    .await?
                    .ok_or_else(|| StorageError::Corrupt(format!("invoice {id} vanished")))?;
                super::append_event(&mut tx, "invoice.created", "read:invoices", &issued, now).await?;
                tx.commit().await?;
                self.events_committed();
                Ok(issued)
            }
        }

        /// Inserts invoices with their payments and adjustments, numbered in order; returns the first
        /// one's id.
        async fn insert_invoices(
            tx: &mut $Conn,
            invoices: &[DemoInvoice],
            now: DateTime<Utc>,
        ) -> Result<String> {
            let first = |table: &'static str| format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}");
            let first_invoice: i64 = sqlx::query_scalar(&first("invoices"))
                .fetch_one(&mut *tx)
                .await?;
            let first_payment: i64 = sqlx::query_scalar(&first("payments"))
                .fetch_one(&mut *tx)
                .await?;
            let first_adjustment: i64 = sqlx::query_scalar(&first("adjustments"))
                .fetch_one(&mut *tx)
                .await?;
            let created = ts(now);
            struct Row<'a> {
                seq: i64,
                invoice: &'a DemoInvoice,
                amount: i64,
                paid: i64,
                adjusted: i64,
                items: String,
            }
            let mut rows = Vec::with_capacity(invoices.len());
            for (i, invoice) in invoices.iter().enumerate() {
                let amount: Decimal = invoice.items.iter().map(|item| item.total).sum();
                let paid: Decimal = invoice.payments.iter().map(|p| p.2).sum();
                let adjusted: Decimal = invoice.adjustments.iter().map(|a| a.2).sum();
                rows.push(Row {
                    seq: first_invoice + i as i64,
                    invoice,
                    amount: cents(amount)?,
                    paid: cents(paid)?,
                    adjusted: cents(adjusted)?,
                    items: serde_json::to_string(&invoice.items).map_err(corrupt("items"))?,
                });
            }
            let invoice_id = |seq: i64| format!("INV-{}", FIRST_NUMBER + seq);
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut insert: QueryBuilder<$Db> = QueryBuilder::new(
                    "INSERT INTO invoices (seq, id, patient_id, date, due_date, amount_cents, \
                         paid_cents, adjusted_cents, items, created) ",
                );
                insert.push_values(chunk, |mut b, row| {
                    b.push_bind(row.seq)
                        .push_bind(invoice_id(row.seq))
                        .push_bind(row.invoice.patient_id.clone())
                        .push_bind(row.invoice.date.to_string())
                        .push_bind(row.invoice.due_date.to_string())
                        .push_bind(row.amount)
                        .push_bind(row.paid)
                        .push_bind(row.adjusted)
                        .push_bind(row.items.clone())
                        .push_bind(created.clone());
                });
                insert.build().execute(&mut *tx).await?;
            }
            let mut payments = Vec::new();
            let mut adjustments = Vec::new();
            for row in &rows {
                for p in &row.invoice.payments {
                    payments.push((row.seq, p.0, p.1, cents(p.2)?, p.3.clone()));
                }
                for a in &row.invoice.adjustments {
                    adjustments.push((row.seq, a.0, a.1, cents(a.2)?, a.3));
                }
            }
            for (n, chunk) in payments.chunks(ROWS_PER_INSERT).enumerate() {
                let mut insert: QueryBuilder<$Db> = QueryBuilder::new(
                    "INSERT INTO payments (seq, id, invoice_id, date, method, amount_cents, \
                         reference, created) ",
                );
                let base = first_payment + (n * ROWS_PER_INSERT) as i64;
                insert.push_values(chunk.iter().enumerate(), |mut b, (i, p)| {
                    let seq = base + i as i64;
                    b.push_bind(seq)
                        .push_bind(format!("PAY-{}", FIRST_NUMBER + seq))
                        .push_bind(invoice_id(p.0))
                        .push_bind(p.1.to_string())
                        .push_bind(p.2)
                        .push_bind(p.3)
                        .push_bind(p.4.clone())
                        .push_bind(created.clone());
                });
                insert.build().execute(&mut *tx).await?;
            }
            for (n, chunk) in adjustments.chunks(ROWS_PER_INSERT).enumerate() {
                let mut insert: QueryBuilder<$Db> = QueryBuilder::new(
                    "INSERT INTO adjustments (seq, id, invoice_id, date, kind, amount_cents, reason) ",
                );
                let base = first_adjustment + (n * ROWS_PER_INSERT) as i64;
                insert.push_values(chunk.iter().enumerate(), |mut b, (i, a)| {
                    let seq = base + i as i64;
                    b.push_bind(seq)
                        .push_bind(format!("ADJ-{}", FIRST_NUMBER + seq))
                        .push_bind(invoice_id(a.0))
                        .push_bind(a.1.to_string())
                        .push_bind(a.2.as_str())
                        .push_bind(a.3)
                        .push_bind(a.4);
                });
                insert.build().execute(&mut *tx).await?;
            }
            Ok(invoice_id(first_invoice))
        }
    };
}
pub(crate) use billing_storage;
