//! What the desk tells the person through the desktop's notifications: an offline change the
//! server refused, a sign-in that expired, the first sync done. Never a patient's name or any
//! other patient detail: a notification shows on a screen others may see, and outlives the lock.

use crate::{DeskEvent, SyncEvent};

/// One desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: &'static str,
    pub body: &'static str,
}

/// The notification an event deserves, if any.
pub fn notice_for(event: &DeskEvent) -> Option<Notice> {
    if let DeskEvent::SlotFreed { .. } = event {
        return Some(Notice {
            summary: "A slot is free for the waitlist",
            body: "A cancelled appointment left a slot that patients on the waitlist would take. Open the book to offer it.",
        });
    }
    let DeskEvent::Sync { event } = event else {
        return None;
    };
    match event {
        SyncEvent::WriteRefused { .. } => Some(Notice {
            summary: "A change was refused",
            body: "The server refused a change made on this desk. Open Conflicts to resolve it.",
        }),
        SyncEvent::SignInNeeded { .. } => Some(Notice {
            summary: "Sign-in expired",
            body: "The server no longer accepts a sign-in on this desk. Sign in again to send its changes.",
        }),
        SyncEvent::FirstSyncDone => Some(Notice {
            summary: "First sync complete",
            body: "Front Desk now works from its own copy, online or offline.",
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_expiry_and_first_sync_are_notified_without_patient_details() {
        let refused = DeskEvent::Sync {
            event: SyncEvent::WriteRefused {
                seq: 3,
                conflict_id: 1,
            },
        };
        let expired = DeskEvent::Sync {
            event: SyncEvent::SignInNeeded {
                author: "USR-7 Jane Doe".into(),
            },
        };
        let done = DeskEvent::Sync {
            event: SyncEvent::FirstSyncDone,
        };
        for (event, summary) in [
            (&refused, "A change was refused"),
            (&expired, "Sign-in expired"),
            (&done, "First sync complete"),
        ] {
            let notice = notice_for(event).expect("notified");
            assert_eq!(notice.summary, summary);
            assert!(!notice.body.contains("Jane") && !notice.body.contains("USR-7"));
        }
        let changed = DeskEvent::Sync {
            event: SyncEvent::Changed {
                collection: crate::Collection::Patients,
                ids: vec!["PAT-1".into()],
            },
        };
        assert_eq!(notice_for(&changed), None);
        assert_eq!(notice_for(&DeskEvent::LockChanged { locked: true }), None);
    }

    #[test]
    fn a_freed_slot_for_the_waitlist_is_notified_without_naming_anyone() {
        let freed = DeskEvent::SlotFreed {
            appointment_id: "APT-9".into(),
            candidates: 2,
        };
        let notice = notice_for(&freed).expect("notified");
        assert_eq!(notice.summary, "A slot is free for the waitlist");
        assert!(!notice.body.contains("APT-9"));
        assert_eq!(notice_for(&DeskEvent::WaitlistChanged), None);
    }
}
