//! Billing's worklist from the cache: the invoices not fully paid, across patients.

use practice_studio::model::Invoice;

use crate::error::{query, CacheError};
use crate::Store;

impl Store {
    /// Every cached invoice the server did not call paid, across patients, with the payments
    /// taken on this desk and not yet accepted counted in (so one settled here drops its
    /// balance at once). The caller decides what is overdue on its own today.
    pub async fn unpaid_invoices(&self) -> Result<Vec<Invoice>, CacheError> {
        let ids = sqlx::query_scalar!(
            r#"SELECT id AS "id!: String" FROM invoices WHERE status != 'paid' ORDER BY id"#
        )
        .fetch_all(&self.readers)
        .await
        .map_err(query("list unpaid invoices"))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(invoice) = self.invoice(&id).await? {
                out.push(invoice);
            }
        }
        Ok(out)
    }
}
