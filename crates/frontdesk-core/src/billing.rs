//! Billing's worklist: overdue invoices across patients. Read from the cache at once; when the
//! server answers, its overdue list is stored first, so the worklist is as fresh as the network
//! allows and still there offline.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use practice_studio::client::{InvoiceQuery, Priority};
use practice_studio::model::{Invoice, InvoiceStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::desk::{CoreError, Desk};
use crate::roles::READ_INVOICES;

/// One line of the worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OverdueInvoice {
    pub invoice: Invoice,
    /// The patient's name from the cache; absent when the patient is not cached.
    pub patient_name: Option<String>,
    /// Days past the due date, on the desk's today.
    pub days_overdue: i64,
}

/// The worklist and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OverdueList {
    /// Most overdue first.
    pub invoices: Vec<OverdueInvoice>,
    /// Σ balances.
    #[serde(with = "practice_studio::model::money")]
    #[ts(type = "number")]
    pub total_balance: Decimal,
    /// The server could not be reached: this is what the cache holds.
    pub from_cache: bool,
}

/// The invoices that are overdue on `today`: a balance left and the due date passed.
pub fn overdue_on(invoices: Vec<Invoice>, today: NaiveDate) -> Vec<(Invoice, i64)> {
    let mut out: Vec<(Invoice, i64)> = invoices
        .into_iter()
        .filter(|i| i.balance > Decimal::ZERO && i.due_date < today)
        .map(|i| {
            let days = (today - i.due_date).num_days();
            (i, days)
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.id.0.cmp(&b.0.id.0)));
    out
}

impl Desk {
    /// Overdue invoices across patients (users who read invoices: billing, admin, …).
    pub async fn overdue_invoices(&self) -> Result<OverdueList, CoreError> {
        let (me, client) = self.signed_in().await?;
        crate::chart::require(&me, READ_INVOICES, "invoices")?;
        let cache = self.cache()?;
        let store = cache.engine.store();
        let asked = chrono::Utc::now();
        let fetched: Result<Vec<Invoice>, _> = client
            .billing()
            .all(
                &InvoiceQuery::new().status(InvoiceStatus::Overdue),
                Priority::Interactive,
            )
            .try_collect()
            .await;
        // Online, the server's list says which are overdue (one paid elsewhere drops off);
        // offline, every cached invoice with a balance past its due date.
        let fresh: Option<std::collections::HashSet<String>> = match fetched {
            Ok(invoices) => {
                store.apply_remote_invoices(&invoices, asked).await?;
                Some(invoices.into_iter().map(|i| i.id.0).collect())
            }
            Err(error) => match CoreError::from_api(error) {
                CoreError::Offline(_) => None,
                other => return Err(other),
            },
        };
        let from_cache = fresh.is_none();
        let cached: Vec<Invoice> = store
            .unpaid_invoices()
            .await?
            .into_iter()
            .filter(|i| fresh.as_ref().is_none_or(|ids| ids.contains(i.id.as_str())))
            .collect();
        let today = self.inner.clock.today();
        let mut invoices = Vec::new();
        let mut total_balance = Decimal::ZERO;
        for (invoice, days_overdue) in overdue_on(cached, today) {
            let patient_name = store
                .patient(&invoice.patient_id)
                .await?
                .map(|p| format!("{} {}", p.first_name, p.last_name));
            total_balance += invoice.balance;
            invoices.push(OverdueInvoice {
                invoice,
                patient_name,
                days_overdue,
            });
        }
        Ok(OverdueList {
            invoices,
            total_balance,
            from_cache,
        })
    }
}
