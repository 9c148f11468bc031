//! The desk's commands for documents, billing's worklist, the conflict list and the audit log
//! (issue 9), and an administrator's view of updates (issue 12), hooked into [`crate::commands::dispatch`] (and listed in
//! [`crate::commands::COMMANDS`]). Each parses, calls one core function and maps the error, like
//! every other command.

use frontdesk_core::audit_log::AuditQuery;
use frontdesk_core::conflicts::ResolveConflictArgs;
use frontdesk_core::documents::DocumentArgs;
use frontdesk_core::Desk;
use serde_json::Value;

use crate::commands::{parse, respond, CommandError, NoArgs};

/// Runs one of this module's commands; `None` when `command` is not one of them.
pub async fn dispatch(
    desk: &Desk,
    command: &str,
    args: Value,
) -> Option<Result<Value, CommandError>> {
    Some(match command {
        "open_document" => {
            run(args, |a: DocumentArgs| async move {
                desk.open_document(&a.document).await
            })
            .await
        }
        "overdue_invoices" => {
            run(
                args,
                |NoArgs {}| async move { desk.overdue_invoices().await },
            )
            .await
        }
        "conflicts" => run(args, |NoArgs {}| async move { desk.conflicts().await }).await,
        "resolve_conflict" => {
            run(args, |a: ResolveConflictArgs| async move {
                desk.resolve_conflict(&a).await
            })
            .await
        }
        "audit_log" => {
            run(
                args,
                |a: AuditQuery| async move { desk.audit_log(&a).await },
            )
            .await
        }
        "audit_log_csv" => {
            run(
                args,
                |a: AuditQuery| async move { desk.audit_log_csv(&a).await },
            )
            .await
        }
        "update_status" => run(args, |NoArgs {}| async move { desk.update_status().await }).await,
        "check_for_update" => {
            run(
                args,
                |NoArgs {}| async move { desk.check_for_update().await },
            )
            .await
        }
        "install_update" => run(args, |NoArgs {}| async move { desk.install_update().await }).await,
        _ => return None,
    })
}

async fn run<A, R, F, Fut>(args: Value, call: F) -> Result<Value, CommandError>
where
    A: serde::de::DeserializeOwned,
    R: serde::Serialize,
    F: FnOnce(A) -> Fut,
    Fut: std::future::Future<Output = Result<R, frontdesk_core::CoreError>>,
{
    let args: A = parse(args)?;
    respond(call(args).await?)
}
