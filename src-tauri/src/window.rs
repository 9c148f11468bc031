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

/// Opens the window and runs until it is closed.
pub(crate) fn run(desk: Desk) -> anyhow::Result<()> {
    let mut events = desk.subscribe();
    tauri::Builder::default()
        .manage(desk)
        .invoke_handler(tauri::generate_handler![run_command])
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
