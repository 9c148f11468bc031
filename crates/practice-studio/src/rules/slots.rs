//! Free slots: a provider's weekly hours at a location, less breaks, time off and bookings, cut
//! into appointments of a given length. The server offers these from `/slots`; the desk computes
//! the same offline, so "next free slot" agrees on both sides.
//!
//! Hours are wall-clock times in the location's time zone. Each day is resolved in that zone
//! separately, so a 09:00–17:00 day is 8 hours on ordinary days and still starts at 09:00 local on
//! the days clocks change (its length in UTC shifts by the hour instead).

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

use super::TimeSpan;
use crate::model::{DayHours, ExceptionKind, LocationId, Provider, WeeklySchedule};

/// Opening hours on one day of the week, local wall-clock time; several per day are allowed
/// (a split shift).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub weekday: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A change to the weekly pattern on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// No appointments that day (or that part of it, when given).
    TimeOff {
        date: NaiveDate,
        part: Option<(NaiveTime, NaiveTime)>,
    },
    /// An extra session beyond the weekly pattern.
    Extra {
        date: NaiveDate,
        start: NaiveTime,
        end: NaiveTime,
    },
}

/// Everything that shapes one provider's availability at one location.
#[derive(Debug, Clone)]
pub struct Availability<'a> {
    pub zone: Tz,
    pub sessions: &'a [Session],
    /// Recurring breaks (lunch), local time, every working day.
    pub breaks: &'a [(NaiveTime, NaiveTime)],
    pub exceptions: &'a [Exception],
    /// Existing non-cancelled appointments of the provider (any location).
    pub booked: &'a [TimeSpan],
}

/// The instant a local wall-clock time names. In the hour clocks skip (spring forward) it is the
/// moment the clocks jump to; in the hour they repeat (fall back), the first of the two.
pub fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward a minute at a time to the end of the gap (at most a few hours).
            let mut probe = naive;
            for _ in 0..(4 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&naive)
        }
    }
}

/// The working spans of one date, in UTC: its sessions and extra sessions, less breaks and time off.
pub fn working_spans(availability: &Availability<'_>, date: NaiveDate) -> Vec<TimeSpan> {
    let zone = availability.zone;
    let span = |start: NaiveTime, end: NaiveTime| {
        TimeSpan::new(
            local_instant(zone, date, start),
            local_instant(zone, date, end),
        )
        .ok()
    };
    let mut open: Vec<TimeSpan> = availability
        .sessions
        .iter()
        .filter(|s| s.weekday == date.weekday())
        .filter_map(|s| span(s.start, s.end))
        .collect();
    let mut time_off: Vec<TimeSpan> = Vec::new();
    for exception in availability.exceptions {
        match exception {
            Exception::Extra {
                date: d,
                start,
                end,
            } if *d == date => open.extend(span(*start, *end)),
            Exception::TimeOff { date: d, part } if *d == date => match part {
                Some((start, end)) => time_off.extend(span(*start, *end)),
                None => return Vec::new(),
            },
            _ => {}
        }
    }
    // A day without hours needs no breaks resolved in the zone (most of a long search's days).
    if open.is_empty() {
        return open;
    }
    let mut closed: Vec<TimeSpan> = availability
        .breaks
        .iter()
        .filter_map(|(start, end)| span(*start, *end))
        .collect();
    closed.extend(time_off);
    subtract(merge(open), &closed)
}

/// Free slots of `length`, starting on a grid of `step` from each working span's start, between
/// two dates inclusive, that clash with no booking.
pub fn free_slots(
    availability: &Availability<'_>,
    from: NaiveDate,
    to: NaiveDate,
    length: Duration,
    step: Duration,
) -> Vec<TimeSpan> {
    FreeSlots::new(availability, from, to, length, step).collect()
}

/// [`free_slots`] one at a time, in start order, a local date at a time: a caller that wants
/// only the first few (the desk's "next free slot") stops there instead of cutting the whole span
/// into slots. The bookings are sorted and merged once, not once per date.
#[derive(Debug, Clone)]
pub struct FreeSlots<'a> {
    availability: Availability<'a>,
    /// The bookings as a sorted union, so each date finds its own with a binary search.
    holes: Vec<TimeSpan>,
    /// The next date to open; `None` once past `to`.
    date: Option<NaiveDate>,
    to: NaiveDate,
    length: Duration,
    step: Duration,
    /// The free spans of the date being cut, in order, and where the next slot starts in the
    /// first of them.
    free: std::collections::VecDeque<TimeSpan>,
    next_start: Option<DateTime<Utc>>,
}

impl<'a> FreeSlots<'a> {
    pub fn new(
        availability: &Availability<'a>,
        from: NaiveDate,
        to: NaiveDate,
        length: Duration,
        step: Duration,
    ) -> Self {
        let usable = length > Duration::zero() && step > Duration::zero();
        Self {
            availability: availability.clone(),
            holes: if usable {
                merge(availability.booked.to_vec())
            } else {
                Vec::new()
            },
            date: (usable && from <= to).then_some(from),
            to,
            length,
            step,
            free: std::collections::VecDeque::new(),
            next_start: None,
        }
    }

    /// Opens the next date that has room for one slot; `false` when none is left.
    fn open_next_date(&mut self) -> bool {
        while let Some(date) = self.date {
            self.date = date.succ_opt().filter(|next| *next <= self.to);
            let length = self.length;
            self.free = subtract_merged(working_spans(&self.availability, date), &self.holes)
                .into_iter()
                .filter(|free| free.end - free.start >= length)
                .collect();
            if let Some(first) = self.free.front() {
                self.next_start = Some(first.start);
                return true;
            }
        }
        false
    }
}

impl Iterator for FreeSlots<'_> {
    type Item = TimeSpan;

    fn next(&mut self) -> Option<TimeSpan> {
        loop {
            if let (Some(free), Some(start)) = (self.free.front(), self.next_start) {
                if start + self.length <= free.end {
                    self.next_start = Some(start + self.step);
                    if let Ok(slot) = TimeSpan::new(start, start + self.length) {
                        return Some(slot);
                    }
                    continue;
                }
                self.free.pop_front();
                self.next_start = self.free.front().map(|f| f.start);
                continue;
            }
            if !self.open_next_date() {
                return None;
            }
        }
    }
}

/// Why an appointment cannot go where it was asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// It overlaps this booking.
    Overlaps(TimeSpan),
    /// It is not inside the provider's working hours at the location (outside hours, in a break,
    /// on time off).
    OutsideHours,
}

/// Whether `wanted` may be booked: inside one working span of its day and clear of bookings.
/// Appointments may not cross midnight local time.
pub fn check_booking(availability: &Availability<'_>, wanted: &TimeSpan) -> Result<(), Clash> {
    if let Some(booked) = availability.booked.iter().find(|b| b.overlaps(wanted)) {
        return Err(Clash::Overlaps(*booked));
    }
    let date = wanted.start.with_timezone(&availability.zone).date_naive();
    let inside = working_spans(availability, date)
        .iter()
        .any(|span| span.start <= wanted.start && wanted.end <= span.end);
    if inside {
        Ok(())
    } else {
        Err(Clash::OutsideHours)
    }
}

/// `"08:30"` → 08:30.
pub fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

/// The sessions of a weekly schedule in the reference's shape. Malformed or empty days are
/// skipped (the server validates schedules when they are written).
pub fn sessions_of(schedule: &WeeklySchedule) -> Vec<Session> {
    let days: [(Weekday, &Option<DayHours>); 7] = [
        (Weekday::Mon, &schedule.monday),
        (Weekday::Tue, &schedule.tuesday),
        (Weekday::Wed, &schedule.wednesday),
        (Weekday::Thu, &schedule.thursday),
        (Weekday::Fri, &schedule.friday),
        (Weekday::Sat, &schedule.saturday),
        (Weekday::Sun, &schedule.sunday),
    ];
    days.into_iter()
        .filter_map(|(weekday, hours)| {
            let hours = hours.as_ref()?;
            let (start, end) = (parse_hhmm(&hours.start)?, parse_hhmm(&hours.end)?);
            (start < end).then_some(Session {
                weekday,
                start,
                end,
            })
        })
        .collect()
}

/// A provider's sessions, breaks and exceptions at one location, ready for [`Availability`].
pub fn provider_at(
    provider: &Provider,
    location: &LocationId,
) -> (Vec<Session>, Vec<(NaiveTime, NaiveTime)>, Vec<Exception>) {
    let Some(at) = provider
        .location_schedules
        .iter()
        .find(|s| &s.location_id == location)
    else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let breaks = at
        .breaks
        .iter()
        .filter_map(|b| Some((parse_hhmm(&b.start)?, parse_hhmm(&b.end)?)))
        .collect();
    let exceptions = provider
        .schedule_exceptions
        .iter()
        .filter(|e| e.location_id.as_ref().is_none_or(|l| l == location))
        .filter_map(|e| {
            let part = match (e.start.as_deref(), e.end.as_deref()) {
                (Some(start), Some(end)) => Some((parse_hhmm(start)?, parse_hhmm(end)?)),
                _ => None,
            };
            Some(match e.kind {
                ExceptionKind::TimeOff => Exception::TimeOff { date: e.date, part },
                ExceptionKind::Extra => {
                    let (start, end) = part?;
                    Exception::Extra {
                        date: e.date,
                        start,
                        end,
                    }
                }
            })
        })
        .collect();
    (sessions_of(&at.hours), breaks, exceptions)
}

/// Sorted, non-overlapping union of spans.
fn merge(mut spans: Vec<TimeSpan>) -> Vec<TimeSpan> {
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<TimeSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// `spans` less every part covered by `holes`.
fn subtract(spans: Vec<TimeSpan>, holes: &[TimeSpan]) -> Vec<TimeSpan> {
    subtract_merged(spans, &merge(holes.to_vec()))
}

/// `spans` (in order) less every part covered by `holes`, a sorted union ([`merge`]): each span
/// meets only the holes from the first that ends after it starts, found by binary search.
fn subtract_merged(spans: Vec<TimeSpan>, holes: &[TimeSpan]) -> Vec<TimeSpan> {
    let mut out = Vec::new();
    for span in spans {
        let mut cursor = span.start;
        let first = holes.partition_point(|h| h.end <= span.start);
        for hole in holes[first..].iter().take_while(|h| h.start < span.end) {
            if hole.start > cursor {
                out.extend(TimeSpan::new(cursor, hole.start).ok());
            }
            cursor = cursor.max(hole.end);
        }
        if cursor < span.end {
            out.extend(TimeSpan::new(cursor, span.end).ok());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Chicago;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn weekdays_9_to_5() -> Vec<Session> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| Session {
            weekday,
            start: t(9, 0),
            end: t(17, 0),
        })
        .collect()
    }

    #[test]
    fn a_day_is_its_hours_less_lunch_in_local_time() {
        let sessions = weekdays_9_to_5();
        let breaks = [(t(12, 0), t(13, 0))];
        let a = Availability {
            zone: Chicago,
            sessions: &sessions,
            breaks: &breaks,
            exceptions: &[],
            booked: &[],
        };
        // Monday 2026-11-23: Chicago is UTC−6.
        let spans = working_spans(&a, d("2026-11-23"));
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].start.to_rfc3339(), "2026-11-23T15:00:00+00:00");
        assert_eq!(spans[0].end.to_rfc3339(), "2026-11-23T18:00:00+00:00");
        assert_eq!(spans[1].end.to_rfc3339(), "2026-11-23T23:00:00+00:00");
        assert!(working_spans(&a, d("2026-11-22")).is_empty(), "Sunday");
        let slots = free_slots(
            &a,
            d("2026-11-23"),
            d("2026-11-23"),
            Duration::minutes(30),
            Duration::minutes(30),
        );
        assert_eq!(slots.len(), 14, "7 working hours of half-hour slots");
    }

    #[test]
    fn hours_stay_local_across_daylight_saving_changes() {
        let sessions = weekdays_9_to_5();
        let a = Availability {
            zone: Chicago,
            sessions: &sessions,
            breaks: &[],
            exceptions: &[],
            booked: &[],
        };
        // Friday before and Monday after the 2026 fall-back change (Sunday 1 November).
        let before = working_spans(&a, d("2026-10-30"));
        let after = working_spans(&a, d("2026-11-02"));
        assert_eq!(before[0].start.to_rfc3339(), "2026-10-30T14:00:00+00:00");
        assert_eq!(after[0].start.to_rfc3339(), "2026-11-02T15:00:00+00:00");
        assert_eq!(before[0].minutes(), 480);
        assert_eq!(after[0].minutes(), 480);
    }

    #[test]
    fn a_local_time_in_the_spring_gap_moves_to_the_end_of_the_gap() {
        // 2027-03-14 02:30 does not exist in Chicago; clocks go from 02:00 to 03:00 (08:00 UTC).
        let instant = local_instant(Chicago, d("2027-03-14"), t(2, 30));
        assert_eq!(instant.to_rfc3339(), "2027-03-14T08:00:00+00:00");
        // 01:30 on the fall-back day happens twice: the first one (CDT) is taken.
        let instant = local_instant(Chicago, d("2026-11-01"), t(1, 30));
        assert_eq!(instant.to_rfc3339(), "2026-11-01T06:30:00+00:00");
    }

    #[test]
    fn time_off_and_extra_sessions_change_one_date() {
        let sessions = weekdays_9_to_5();
        let exceptions = [
            Exception::TimeOff {
                date: d("2026-11-24"),
                part: None,
            },
            Exception::TimeOff {
                date: d("2026-11-25"),
                part: Some((t(9, 0), t(11, 0))),
            },
            Exception::Extra {
                date: d("2026-11-28"),
                start: t(9, 0),
                end: t(12, 0),
            },
        ];
        let a = Availability {
            zone: Chicago,
            sessions: &sessions,
            breaks: &[],
            exceptions: &exceptions,
            booked: &[],
        };
        assert!(working_spans(&a, d("2026-11-24")).is_empty());
        assert_eq!(working_spans(&a, d("2026-11-25"))[0].minutes(), 360);
        assert_eq!(
            working_spans(&a, d("2026-11-28"))[0].minutes(),
            180,
            "a Saturday clinic"
        );
    }

    #[test]
    fn offered_slots_never_clash_and_booking_them_all_fills_the_day() {
        let sessions = weekdays_9_to_5();
        let breaks = [(t(12, 0), t(12, 45))];
        let day = d("2026-11-23");
        let mut booked: Vec<TimeSpan> = vec![TimeSpan::new(
            local_instant(Chicago, day, t(10, 10)),
            local_instant(Chicago, day, t(10, 50)),
        )
        .expect("span")];
        loop {
            let a = Availability {
                zone: Chicago,
                sessions: &sessions,
                breaks: &breaks,
                exceptions: &[],
                booked: &booked,
            };
            let slots = free_slots(&a, day, day, Duration::minutes(20), Duration::minutes(5));
            let Some(first) = slots.first().copied() else {
                break;
            };
            assert_eq!(check_booking(&a, &first), Ok(()));
            booked.push(first);
        }
        let a = Availability {
            zone: Chicago,
            sessions: &sessions,
            breaks: &breaks,
            exceptions: &[],
            booked: &booked,
        };
        // What is left of the day is only gaps shorter than one appointment.
        for gap in subtract(working_spans(&a, day), &booked) {
            assert!(gap.minutes() < 20, "{gap:?}");
        }
        for (i, x) in booked.iter().enumerate() {
            for y in &booked[i + 1..] {
                assert!(!x.overlaps(y));
            }
        }
    }

    #[test]
    fn bookings_outside_hours_or_over_another_are_refused() {
        let sessions = weekdays_9_to_5();
        let breaks = [(t(12, 0), t(13, 0))];
        let day = d("2026-11-23");
        let existing = TimeSpan::new(
            local_instant(Chicago, day, t(9, 0)),
            local_instant(Chicago, day, t(9, 30)),
        )
        .expect("span");
        let booked = [existing];
        let a = Availability {
            zone: Chicago,
            sessions: &sessions,
            breaks: &breaks,
            exceptions: &[],
            booked: &booked,
        };
        let at = |h, m, minutes| {
            let start = local_instant(Chicago, day, t(h, m));
            TimeSpan::new(start, start + Duration::minutes(minutes)).expect("span")
        };
        assert_eq!(
            check_booking(&a, &at(9, 15, 30)),
            Err(Clash::Overlaps(existing))
        );
        assert_eq!(
            check_booking(&a, &at(12, 30, 15)),
            Err(Clash::OutsideHours),
            "lunch"
        );
        assert_eq!(
            check_booking(&a, &at(16, 45, 30)),
            Err(Clash::OutsideHours),
            "past closing"
        );
        assert_eq!(
            check_booking(&a, &at(8, 0, 30)),
            Err(Clash::OutsideHours),
            "before opening"
        );
        assert_eq!(check_booking(&a, &at(9, 30, 30)), Ok(()), "back to back");
    }

    /// The desk's "next free slot" and the server's `/slots` rest on this: whatever the zone,
    /// the week (three around a daylight-saving change each), the hours (night sessions across
    /// the 02:00 gap included), the break, the time off and the bookings, every slot offered is
    /// inside the provider's hours on its local day and clear of every booking.
    mod found_slots {
        use super::*;
        use proptest::prelude::*;

        const ZONES: [Tz; 3] = [
            chrono_tz::America::Chicago,
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
        ];
        /// Mondays: the US autumn and spring changes (1 Nov 2026, 14 Mar 2027), the UK's
        /// spring change (28 Mar 2027).
        const WEEKS: [&str; 3] = ["2026-10-26", "2027-03-08", "2027-03-22"];

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
            #[test]
            fn lie_inside_hours_and_clear_of_bookings(
                zone in 0..ZONES.len(),
                week in 0..WEEKS.len(),
                sessions in proptest::collection::vec((0u32..7, 0u32..20, 1u32..10), 1..8),
                lunch in proptest::option::of((10u32..15, 15i64..61)),
                time_off in proptest::option::of((0i64..7, proptest::option::of((8u32..16, 1u32..4)))),
                bookings in proptest::collection::vec((0i64..7, 0i64..1440, 5i64..120), 0..12),
                length in 10i64..61,
                step in 5i64..31,
            ) {
                let zone = ZONES[zone];
                let monday = d(WEEKS[week]);
                let days = [
                    Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu,
                    Weekday::Fri, Weekday::Sat, Weekday::Sun,
                ];
                let sessions: Vec<Session> = sessions
                    .iter()
                    .map(|(day, start, hours)| Session {
                        weekday: days[*day as usize],
                        start: t(*start, 0),
                        end: t((*start + *hours).min(23), 30),
                    })
                    .collect();
                let breaks: Vec<(NaiveTime, NaiveTime)> = lunch
                    .map(|(hour, minutes)| (t(hour, 0), t(hour, 0) + Duration::minutes(minutes)))
                    .into_iter()
                    .collect();
                let exceptions: Vec<Exception> = time_off
                    .map(|(day, part)| Exception::TimeOff {
                        date: monday + Duration::days(day),
                        part: part.map(|(hour, hours)| (t(hour, 0), t(hour + hours, 0))),
                    })
                    .into_iter()
                    .collect();
                let booked: Vec<TimeSpan> = bookings
                    .iter()
                    .filter_map(|(day, minute, minutes)| {
                        let start = local_instant(zone, monday + Duration::days(*day), t(0, 0))
                            + Duration::minutes(*minute);
                        TimeSpan::new(start, start + Duration::minutes(*minutes)).ok()
                    })
                    .collect();
                let a = Availability {
                    zone,
                    sessions: &sessions,
                    breaks: &breaks,
                    exceptions: &exceptions,
                    booked: &booked,
                };
                let last = monday + Duration::days(6);
                let slots = free_slots(&a, monday, last, Duration::minutes(length), Duration::minutes(step));
                // In start order: a caller taking the first few takes the earliest.
                prop_assert!(slots.windows(2).all(|w| w[0].start < w[1].start), "{:?}", slots);
                for slot in &slots {
                    prop_assert_eq!(slot.minutes(), length);
                    prop_assert_eq!(check_booking(&a, slot), Ok(()), "{:?}", slot);
                    prop_assert!(booked.iter().all(|b| !b.overlaps(slot)));
                    let local = slot.start.with_timezone(&zone).date_naive();
                    prop_assert!(monday <= local && local <= last);
                    if let Some(Exception::TimeOff { date, part: None }) = exceptions.first() {
                        prop_assert_ne!(local, *date, "a day off offers nothing");
                    }
                }
            }
        }
    }
}
