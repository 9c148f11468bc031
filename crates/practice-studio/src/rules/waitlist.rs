//! The waitlist's rules: what a patient's preferences may say, which entries would take a freed
//! slot, and in what order they are offered it. The server answers `/api/v1/waitlist/candidates`
//! with these, and the desk ranks from its cache with the same code when the network is down.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::slots::parse_hhmm;
use super::Problems;
use crate::model::detail_code as code;
use crate::model::{
    Day, ErrorDetail, LocationId, ProviderId, WaitlistCandidate, WaitlistEntry,
    WaitlistPreferences, WaitlistStatus,
};

/// The shortest and longest visit a waitlist entry may ask for, in minutes.
pub const DURATION_RANGE: std::ops::RangeInclusive<u32> = 5..=480;
/// The longest reason or note.
pub const TEXT_MAX: usize = 500;

fn problem(problems: &mut Problems, code: &str, field: &str, issue: impl Into<String>) {
    problems.push(ErrorDetail::new(code, field, issue));
}

/// Everything wrong with a set of preferences, each naming its field under `preferences.`.
pub fn check_preferences(preferences: &WaitlistPreferences) -> Problems {
    let mut problems = Problems::new();
    let earliest = preferences
        .earliest_time
        .as_deref()
        .map(|t| (t, parse_hhmm(t)));
    let latest = preferences
        .latest_time
        .as_deref()
        .map(|t| (t, parse_hhmm(t)));
    if let Some((text, None)) = earliest {
        problem(
            &mut problems,
            code::INVALID_TIME,
            "preferences.earliestTime",
            format!("{text:?} is not a time of day as HH:MM"),
        );
    }
    if let Some((text, None)) = latest {
        problem(
            &mut problems,
            code::INVALID_TIME,
            "preferences.latestTime",
            format!("{text:?} is not a time of day as HH:MM"),
        );
    }
    if let (Some((_, Some(from))), Some((_, Some(to)))) = (earliest, latest) {
        if from >= to {
            problem(
                &mut problems,
                code::END_BEFORE_START,
                "preferences.latestTime",
                "must be later than earliestTime",
            );
        }
    }
    if let (Some(from), Some(to)) = (preferences.earliest_date, preferences.latest_date) {
        if from > to {
            problem(
                &mut problems,
                code::END_BEFORE_START,
                "preferences.latestDate",
                "must not be before earliestDate",
            );
        }
    }
    let mut days = preferences.days.clone();
    days.sort();
    days.dedup();
    if days.len() != preferences.days.len() {
        problem(
            &mut problems,
            code::DUPLICATE,
            "preferences.days",
            "names a day twice",
        );
    }
    let mut providers = preferences.provider_ids.clone();
    providers.sort_by(|a, b| a.0.cmp(&b.0));
    providers.dedup();
    if providers.len() != preferences.provider_ids.len() {
        problem(
            &mut problems,
            code::DUPLICATE,
            "preferences.providerIds",
            "names a provider twice",
        );
    }
    problems
}

/// The problems with a requested duration.
pub fn check_duration(minutes: u32) -> Problems {
    let mut problems = Problems::new();
    if !DURATION_RANGE.contains(&minutes) {
        problem(
            &mut problems,
            code::OUT_OF_RANGE,
            "duration",
            format!(
                "must be {} to {} minutes",
                DURATION_RANGE.start(),
                DURATION_RANGE.end()
            ),
        );
    }
    problems
}

/// A slot that became free: whose, where, and when on the location's wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreedSlot {
    pub provider_id: ProviderId,
    pub location_id: LocationId,
    /// The start, local to the location.
    pub start: NaiveDateTime,
    pub minutes: u32,
}

/// Whether an entry would take this slot: still waiting, short enough, and inside every
/// preference it states.
pub fn matches(entry: &WaitlistEntry, slot: &FreedSlot) -> bool {
    let p = &entry.preferences;
    let date = slot.start.date();
    let end = slot.start + chrono::Duration::minutes(i64::from(slot.minutes));
    let visit_end = slot.start + chrono::Duration::minutes(i64::from(entry.duration));
    entry.status == WaitlistStatus::Waiting
        && entry.duration <= slot.minutes
        && visit_end <= end
        && (p.provider_ids.is_empty() || p.provider_ids.contains(&slot.provider_id))
        && p.location_id
            .as_ref()
            .is_none_or(|l| *l == slot.location_id)
        && (p.days.is_empty() || p.days.contains(&Day::from(chrono::Datelike::weekday(&date))))
        && p.earliest_date.is_none_or(|d| date >= d)
        && p.latest_date.is_none_or(|d| date <= d)
        && p.earliest_time
            .as_deref()
            .and_then(parse_hhmm)
            .is_none_or(|t| slot.start.time() >= t)
        // The visit must be over by the latest time, on the same day.
        && p.latest_time
            .as_deref()
            .and_then(parse_hhmm)
            .is_none_or(|t| visit_end.date() == date && visit_end.time() <= t)
}

/// The entries that would take the slot, best first: those who asked for this provider by name
/// before those who take anyone, then whoever has waited longest (first come, first served),
/// then by id so the order is total.
pub fn rank(
    entries: &[WaitlistEntry],
    slot: &FreedSlot,
    now: DateTime<Utc>,
) -> Vec<WaitlistCandidate> {
    let mut matching: Vec<&WaitlistEntry> = entries.iter().filter(|e| matches(e, slot)).collect();
    matching.sort_by(|a, b| {
        let named = |e: &WaitlistEntry| !e.preferences.provider_ids.contains(&slot.provider_id);
        named(a)
            .cmp(&named(b))
            .then(a.created.cmp(&b.created))
            .then(a.id.cmp(&b.id))
    });
    matching
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let days = (now - entry.created).num_days().max(0);
            let waited = match days {
                0 => "added today".to_owned(),
                1 => "waiting 1 day".to_owned(),
                n => format!("waiting {n} days"),
            };
            let who = if entry.preferences.provider_ids.contains(&slot.provider_id) {
                "asked for this provider"
            } else {
                "any provider"
            };
            WaitlistCandidate {
                entry: entry.clone(),
                rank: u32::try_from(i + 1).unwrap_or(u32::MAX),
                why: format!("{who}; {waited}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PatientId;
    use chrono::{NaiveDate, TimeZone};

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time")
    }

    fn entry(id: &str, created_days_ago: i64, preferences: WaitlistPreferences) -> WaitlistEntry {
        let now = Utc
            .with_ymd_and_hms(2027, 2, 1, 12, 0, 0)
            .single()
            .expect("now");
        WaitlistEntry {
            id: id.into(),
            patient_id: PatientId(format!("PAT-{id}")),
            kind: "follow_up".into(),
            duration: 30,
            reason: None,
            notes: None,
            preferences,
            status: WaitlistStatus::Waiting,
            appointment_id: None,
            version: 1,
            created: now - chrono::Duration::days(created_days_ago),
            updated: now,
        }
    }

    fn slot(start: &str, minutes: u32) -> FreedSlot {
        FreedSlot {
            provider_id: ProviderId("PROV-1".into()),
            location_id: LocationId("LOC-1".into()),
            start: at(start),
            minutes,
        }
    }

    #[test]
    fn every_preference_narrows_the_match() {
        // 2027-02-02 is a Tuesday.
        let tuesday_ten = slot("2027-02-02 10:00", 30);
        let any = entry("1", 3, WaitlistPreferences::default());
        assert!(matches(&any, &tuesday_ten));
        let cases: Vec<(WaitlistPreferences, bool)> = vec![
            (
                WaitlistPreferences {
                    provider_ids: vec![ProviderId("PROV-2".into())],
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    provider_ids: vec![ProviderId("PROV-1".into())],
                    ..Default::default()
                },
                true,
            ),
            (
                WaitlistPreferences {
                    location_id: Some(LocationId("LOC-2".into())),
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    days: vec![Day::Monday],
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    days: vec![Day::Monday, Day::Tuesday],
                    ..Default::default()
                },
                true,
            ),
            (
                WaitlistPreferences {
                    earliest_time: Some("10:00".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                WaitlistPreferences {
                    earliest_time: Some("10:01".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    latest_time: Some("10:30".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                WaitlistPreferences {
                    latest_time: Some("10:29".into()),
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    earliest_date: NaiveDate::from_ymd_opt(2027, 2, 3),
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    latest_date: NaiveDate::from_ymd_opt(2027, 2, 1),
                    ..Default::default()
                },
                false,
            ),
            (
                WaitlistPreferences {
                    latest_date: NaiveDate::from_ymd_opt(2027, 2, 2),
                    ..Default::default()
                },
                true,
            ),
        ];
        for (preferences, expected) in cases {
            let e = entry("1", 3, preferences.clone());
            assert_eq!(matches(&e, &tuesday_ten), expected, "{preferences:?}");
        }
        let mut long = any.clone();
        long.duration = 45;
        assert!(
            !matches(&long, &tuesday_ten),
            "a 45-minute visit in a 30-minute slot"
        );
        let mut booked = any;
        booked.status = WaitlistStatus::Booked;
        assert!(!matches(&booked, &tuesday_ten));
    }

    #[test]
    fn a_named_provider_comes_first_then_the_longest_wait() {
        let now = Utc
            .with_ymd_and_hms(2027, 2, 1, 12, 0, 0)
            .single()
            .expect("now");
        let named = WaitlistPreferences {
            provider_ids: vec![ProviderId("PROV-1".into())],
            ..Default::default()
        };
        let entries = vec![
            entry("A", 10, WaitlistPreferences::default()),
            entry("B", 2, named.clone()),
            entry("C", 30, WaitlistPreferences::default()),
            entry("D", 5, named),
            entry(
                "E",
                40,
                WaitlistPreferences {
                    days: vec![Day::Friday],
                    ..Default::default()
                },
            ),
        ];
        let ranked = rank(&entries, &slot("2027-02-02 10:00", 30), now);
        let order: Vec<&str> = ranked.iter().map(|c| c.entry.id.as_str()).collect();
        assert_eq!(order, ["D", "B", "C", "A"]);
        assert_eq!(ranked[0].rank, 1);
        assert_eq!(ranked[0].why, "asked for this provider; waiting 5 days");
        assert_eq!(ranked[3].why, "any provider; waiting 10 days");
    }

    #[test]
    fn preferences_that_cannot_hold_are_named() {
        let bad = WaitlistPreferences {
            earliest_time: Some("9am".into()),
            latest_time: Some("25:00".into()),
            days: vec![Day::Monday, Day::Monday],
            earliest_date: NaiveDate::from_ymd_opt(2027, 3, 1),
            latest_date: NaiveDate::from_ymd_opt(2027, 2, 1),
            ..Default::default()
        };
        let fields: Vec<String> = check_preferences(&bad)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "preferences.earliestTime",
                "preferences.latestTime",
                "preferences.latestDate",
                "preferences.days"
            ]
        );
        let reversed = WaitlistPreferences {
            earliest_time: Some("12:00".into()),
            latest_time: Some("08:00".into()),
            ..Default::default()
        };
        assert_eq!(check_preferences(&reversed).len(), 1);
        assert!(check_preferences(&WaitlistPreferences::default()).is_empty());
        assert!(check_duration(30).is_empty());
        assert_eq!(check_duration(0).len(), 1);
        assert_eq!(check_duration(481).len(), 1);
    }
}
