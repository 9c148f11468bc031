//! The day's status flow of an appointment, shared by the server (which enforces it) and the desk
//! (which offers only the moves that will be accepted, also offline).
//!
//! Forward: scheduled → checked_in → in_room → completed; scheduled | checked_in → cancelled;
//! scheduled → no_show. Undo moves a desk needs daily: checked_in → scheduled (checked in the
//! wrong patient), no_show → checked_in (a late patient), cancelled → scheduled (while the slot
//! is still free, which the caller checks).

use chrono::{DateTime, Duration, Utc};

use crate::model::AppointmentStatus;

use AppointmentStatus::*;

/// Every allowed move, `(from, to)`.
pub const TRANSITIONS: [(AppointmentStatus, AppointmentStatus); 9] = [
    (Scheduled, CheckedIn),
    (CheckedIn, InRoom),
    (InRoom, Completed),
    (Scheduled, Cancelled),
    (CheckedIn, Cancelled),
    (Scheduled, NoShow),
    (CheckedIn, Scheduled),
    (NoShow, CheckedIn),
    (Cancelled, Scheduled),
];

/// How far back a client may date a status change (a desk that worked offline sends when it
/// happened).
pub const STAMP_WINDOW: Duration = Duration::hours(24);

/// How far ahead of the server's clock a stamp may be: clocks of desks drift by seconds, and a
/// check-in refused for being 3 seconds "in the future" would help nobody.
pub const STAMP_CLOCK_SKEW: Duration = Duration::seconds(60);

/// A refused status change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("an appointment cannot go from {from} to {to}")]
    NotAllowed {
        from: AppointmentStatus,
        to: AppointmentStatus,
    },
    #[error("a cancellation needs a reason")]
    CancelReasonMissing,
    #[error("the time of the change must be within the last 24 hours and not in the future")]
    StampOutOfRange,
}

/// Whether `from → to` is one of [`TRANSITIONS`].
pub fn transition_allowed(from: AppointmentStatus, to: AppointmentStatus) -> bool {
    TRANSITIONS.contains(&(from, to))
}

/// The statuses reachable from `from` in one move.
pub fn next_statuses(from: AppointmentStatus) -> Vec<AppointmentStatus> {
    TRANSITIONS
        .iter()
        .filter(|(f, _)| *f == from)
        .map(|(_, to)| *to)
        .collect()
}

/// Checks a status change: the move, the cancellation reason, and the client's stamp (if any)
/// against `now`. Returns the time to record for the change.
pub fn check_transition(
    from: AppointmentStatus,
    to: AppointmentStatus,
    cancel_reason: Option<&str>,
    stamp: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, TransitionError> {
    if !transition_allowed(from, to) {
        return Err(TransitionError::NotAllowed { from, to });
    }
    if to == Cancelled && cancel_reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::CancelReasonMissing);
    }
    match stamp {
        None => Ok(now),
        Some(at) if at > now + STAMP_CLOCK_SKEW || at < now - STAMP_WINDOW => {
            Err(TransitionError::StampOutOfRange)
        }
        // A stamp a few seconds ahead is recorded as "now": no change happens in the future.
        Some(at) => Ok(at.min(now)),
    }
}

/// The wire name of the stamp field a move into `to` sets (`checkedInAt` …), if any.
pub fn stamp_field(to: AppointmentStatus) -> Option<&'static str> {
    match to {
        Scheduled => None,
        CheckedIn => Some("checkedInAt"),
        InRoom => Some("roomedAt"),
        Completed => Some("completedAt"),
        Cancelled => Some("cancelledAt"),
        NoShow => Some("noShowAt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_listed_moves_are_allowed() {
        let mut allowed = 0;
        for from in AppointmentStatus::ALL {
            for to in AppointmentStatus::ALL {
                if transition_allowed(from, to) {
                    allowed += 1;
                    assert!(next_statuses(from).contains(&to));
                }
            }
        }
        assert_eq!(allowed, TRANSITIONS.len());
        assert!(!transition_allowed(Completed, Scheduled));
        assert!(!transition_allowed(InRoom, Cancelled));
        assert!(!transition_allowed(NoShow, Scheduled));
        assert!(next_statuses(Completed).is_empty());
    }

    #[test]
    fn a_cancellation_needs_a_reason_and_stamps_stay_in_their_window() {
        let now: DateTime<Utc> = "2026-11-26T15:00:00Z".parse().expect("time");
        assert_eq!(
            check_transition(Scheduled, Cancelled, None, None, now),
            Err(TransitionError::CancelReasonMissing)
        );
        assert_eq!(
            check_transition(Scheduled, Cancelled, Some("  "), None, now),
            Err(TransitionError::CancelReasonMissing)
        );
        assert_eq!(
            check_transition(Scheduled, Cancelled, Some("sick"), None, now),
            Ok(now)
        );
        let earlier = now - Duration::hours(3);
        assert_eq!(
            check_transition(Scheduled, CheckedIn, None, Some(earlier), now),
            Ok(earlier)
        );
        assert_eq!(
            check_transition(
                Scheduled,
                CheckedIn,
                None,
                Some(now - Duration::hours(25)),
                now
            ),
            Err(TransitionError::StampOutOfRange)
        );
        assert_eq!(
            check_transition(
                Scheduled,
                CheckedIn,
                None,
                Some(now + Duration::minutes(5)),
                now
            ),
            Err(TransitionError::StampOutOfRange)
        );
        assert_eq!(
            check_transition(
                Scheduled,
                CheckedIn,
                None,
                Some(now + Duration::seconds(20)),
                now
            ),
            Ok(now),
            "a desk clock a little ahead"
        );
        assert_eq!(
            check_transition(Completed, Scheduled, None, None, now),
            Err(TransitionError::NotAllowed {
                from: Completed,
                to: Scheduled
            })
        );
    }
}
