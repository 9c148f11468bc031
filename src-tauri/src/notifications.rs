//! Desktop notifications (freedesktop Notifications over the session bus, with `notify-rust`) for
//! what [`frontdesk_core::notices`] says deserves one. Failing to show one (no notification
//! service, no session bus) is logged and otherwise ignored: the status bar says the same.

use frontdesk_core::notices::{notice_for, Notice};
use frontdesk_core::Desk;
use tokio::sync::broadcast::error::RecvError;

/// Shows the desk's notices until the desk stops.
pub fn spawn(desk: &Desk) -> tokio::task::JoinHandle<()> {
    let mut events = desk.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(notice) = notice_for(&event) {
                        // A D-Bus round trip: off the async workers.
                        let _ = tokio::task::spawn_blocking(move || show(&notice)).await;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    })
}

fn show(notice: &Notice) {
    let shown = notify_rust::Notification::new()
        .appname("Front Desk")
        .summary(notice.summary)
        .body(notice.body)
        .show();
    if let Err(error) = shown {
        tracing::debug!(%error, summary = notice.summary, "notification not shown");
    }
}
