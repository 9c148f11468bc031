//! The desktop window (Tauri).

use std::time::Duration;

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

/// When the window's updater checks the update server.
const UPDATE_FIRST_CHECK: Duration = Duration::from_secs(10);
const UPDATE_EVERY: Duration = Duration::from_secs(6 * 60 * 60);
const UPDATE_RETRY: Duration = Duration::from_secs(15 * 60);

/// Opens the window and runs until it is closed. With `updates` (the manifest's address), the
/// desk checks for signed updates ([`crate::updater`]).
pub(crate) fn run(desk: Desk, updates: Option<url::Url>) -> anyhow::Result<()> {
    let mut events = desk.subscribe();
    let mut context = crate::context();
    let updates = updates.filter(|_| crate::updater::has_update_key(&context));
    if let Some(manifest) = &updates {
        if manifest.scheme() == "http" {
            // `updater::manifest_url` lets plain http through for a loopback mirror only; the
            // plugin wants that said in its configuration. The signature protects the package.
            if let Some(updater) = context.config_mut().plugins.0.get_mut("updater") {
                updater["dangerousInsecureTransportProtocol"] = true.into();
            }
        }
    }
    let exit_desk = desk.clone();
    let mut builder = tauri::Builder::default()
        .manage(desk)
        .plugin(tauri_plugin_dialog::init());
    if updates.is_some() {
        builder = builder.plugin(tauri_plugin_updater::Builder::new().build());
    }
    let app = builder
        .invoke_handler(tauri::generate_handler![run_command, save_as])
        .setup(move |app| {
            if let Some(manifest) = updates {
                let desk = app.state::<Desk>().inner().clone();
                let source = crate::updater::PluginUpdates::new(app.handle().clone(), manifest);
                desk.attach_updates(std::sync::Arc::new(source));
                // On the desk's runtime; the checks run for the app's life.
                tauri::async_runtime::spawn(async move {
                    desk.spawn_update_checks(UPDATE_FIRST_CHECK, UPDATE_EVERY, UPDATE_RETRY)
                });
                tracing::info!("updates: checking the update server after start");
            }
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
            // A desk asked to stop (SIGTERM when the session ends or the machine shuts down,
            // SIGINT, SIGHUP) closes like a closed window: through `RunEvent::Exit`, so a waiting
            // update still goes in. Without this the process would die where it stood.
            // A second signal ends the desk at once, as a stop signal did before.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let mut signals = match StopSignals::new() {
                    Ok(signals) => signals,
                    Err(error) => {
                        tracing::warn!(%error, "stop signals cannot be watched; they end the desk at once");
                        return;
                    }
                };
                let name = signals.next().await;
                tracing::info!(signal = name, "asked to stop: closing the desk");
                handle.exit(0);
                let name = signals.next().await;
                tracing::warn!(signal = name, "asked to stop again: ending the desk now");
                std::process::exit(1);
            });
            if app.get_webview_window("main").is_none() {
                tracing::warn!("the main window was not created");
            }
            Ok(())
        })
        .build(context)
        .context("starting the desktop window")?;
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            // An update downloaded and verified but still waiting for the desk to be idle goes
            // in as the desk closes.
            exit_desk.install_waiting_update_on_exit();
        }
    });
    Ok(())
}

/// SIGTERM, SIGINT and SIGHUP, watched.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next one and names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}
