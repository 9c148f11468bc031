//! The desktop window (Tauri).

use anyhow::Context;
use frontdesk_core::Desk;
use serde_json::Value;
use tauri::{Emitter, Manager};

use crate::commands::{self, CommandError};

/// The name of the Tauri event that carries every `DeskEvent`.
pub const DESK_EVENT: &str = "desk-event";

/// The window's one command: the same [`commands::dispatch`] browser mode serves over HTTP.
#[tauri::command]
async fn run_command(
    desk: tauri::State<'_, Desk>,
    command: String,
    args: Option<Value>,
) -> Result<Value, CommandError> {
    commands::dispatch(&desk, &command, args.unwrap_or(Value::Null)).await
}

/// What "Save as" writes: a document (fetched again, and its opening recorded) or the audit log's
/// CSV with the viewer's filters.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum SaveTarget {
    Document {
        document: frontdesk_core::documents::DocumentRef,
    },
    AuditCsv {
        query: frontdesk_core::audit_log::AuditQuery,
    },
}

/// "Save as" in the window: the desk opens the native dialog and writes the file itself, so the
/// webview needs no dialog or file-system permission. `false` when the person cancelled.
#[tauri::command]
async fn save_as(
    app: tauri::AppHandle,
    desk: tauri::State<'_, Desk>,
    target: SaveTarget,
) -> Result<bool, CommandError> {
    use tauri_plugin_dialog::DialogExt;
    let (name, bytes) = match target {
        SaveTarget::Document { document } => {
            let opened = desk.document(&document).await?;
            (opened.file_name, opened.bytes)
        }
        SaveTarget::AuditCsv { query } => (
            "audit-log.csv".to_owned(),
            desk.audit_log_csv(&query).await?.into_bytes(),
        ),
    };
    let failed = |message: String| CommandError {
        code: crate::commands::CommandErrorCode::Internal,
        message,
        field: None,
        details: None,
    };
    let dialog = app.dialog().file().set_file_name(&name);
    // The dialog blocks until the person answers: off the async workers.
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| failed(format!("the save dialog failed: {e}")))?;
    let Some(chosen) = chosen else {
        return Ok(false);
    };
    let path = chosen
        .into_path()
        .map_err(|e| failed(format!("that place cannot be written to: {e}")))?;
    tokio::fs::write(&path, &bytes)
        .await
        .map_err(|e| failed(format!("the file could not be written: {e}")))?;
    tracing::info!("document saved where the user chose");
    Ok(true)
}

/// Opens the window and runs until it is closed.
pub(crate) fn run(desk: Desk) -> anyhow::Result<()> {
    let mut events = desk.subscribe();
    tauri::Builder::default()
        .manage(desk)
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![run_command, save_as])
        .setup(move |app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(event) => {
                            if let Err(error) = handle.emit(DESK_EVENT, &event) {
                                tracing::warn!(%error, "cannot pass an event to the window");
                            }
                        }
                        // A slow window missed events; it re-reads the status on the next one.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
            if app.get_webview_window("main").is_none() {
                tracing::warn!("the main window was not created");
            }
            Ok(())
        })
        .run(crate::context())
        .context("running the desktop window")
}
