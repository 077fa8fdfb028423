//! When the business-day runs are due, in the ISP's own time zone: billing at its hour on the
//! first day of each month (every billing period starts on one), dunning at its hour every day.
//! Pure: the same clock and settings give the same answers, across daylight-saving changes.

use jiff::{Timestamp, ToSpan, Zoned, civil::Date, tz::TimeZone};

use crate::billing::runs::RunKind;

/// The ISP's time zone and the local hours of its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// Its time zone.
    pub zone: TimeZone,
    /// Local hour of the billing run (0–23).
    pub billing_hour: i8,
    /// Local hour of the dunning run (0–23).
    pub dunning_hour: i8,
}

/// One occurrence of a run: the business day it runs for, and the instant it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The local business day (the run's `as_of`).
    pub day: Date,
    /// When it is due.
    pub at: Timestamp,
}

impl Calendar {
    /// The latest occurrence of `kind` at or before `now`: the one that should have run.
    pub fn latest(&self, kind: RunKind, now: Timestamp) -> Occurrence {
        let local = now.to_zoned(self.zone.clone());
        let mut day = self.candidate(kind, local.date());
        loop {
            let occurrence = self.at(kind, day);
            if occurrence.at <= now {
                return occurrence;
            }
            day = self.previous(kind, day);
        }
    }

    /// The first occurrence of `kind` after `now`.
    pub fn next(&self, kind: RunKind, now: Timestamp) -> Occurrence {
        let latest = self.latest(kind, now);
        self.at(kind, self.following(kind, latest.day))
    }

    fn hour(&self, kind: RunKind) -> i8 {
        match kind {
            RunKind::Billing => self.billing_hour,
            RunKind::Dunning => self.dunning_hour,
        }
    }

    /// The occurrence of `kind` on `day` at its local hour (the first instant after a gap, when
    /// the hour is skipped by a daylight-saving change).
    fn at(&self, kind: RunKind, day: Date) -> Occurrence {
        let at = day
            .at(self.hour(kind), 0, 0, 0)
            .to_zoned(self.zone.clone())
            .map(|z: Zoned| z.timestamp())
            .unwrap_or(Timestamp::MIN);
        Occurrence { day, at }
    }

    /// The day of `kind`'s occurrence in the period containing `today`.
    fn candidate(&self, kind: RunKind, today: Date) -> Date {
        match kind {
            RunKind::Billing => today.first_of_month(),
            RunKind::Dunning => today,
        }
    }

    fn previous(&self, kind: RunKind, day: Date) -> Date {
        match kind {
            RunKind::Billing => day.checked_sub(1.month()).unwrap_or(day).first_of_month(),
            RunKind::Dunning => day.yesterday().unwrap_or(day),
        }
    }

    fn following(&self, kind: RunKind, day: Date) -> Date {
        match kind {
            RunKind::Billing => day.checked_add(1.month()).unwrap_or(day).first_of_month(),
            RunKind::Dunning => day.tomorrow().unwrap_or(day),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(zone: &str) -> Calendar {
        Calendar {
            zone: TimeZone::get(zone).unwrap(),
            billing_hour: 2,
            dunning_hour: 6,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn billing_runs_on_the_first_at_its_local_hour() {
        let lagos = calendar("Africa/Lagos"); // UTC+1
        // 1 December 01:30 UTC is 02:30 in Lagos: December's run is due.
        let due = lagos.latest(RunKind::Billing, at("2026-12-01T01:30:00Z"));
        assert_eq!(due.day.to_string(), "2026-12-01");
        assert_eq!(due.at, at("2026-12-01T01:00:00Z"));
        // At 00:30 UTC (01:30 local) it is not yet: November's was the last.
        let before = lagos.latest(RunKind::Billing, at("2026-12-01T00:30:00Z"));
        assert_eq!(before.day.to_string(), "2026-11-01");
        assert_eq!(
            lagos.next(RunKind::Billing, at("2026-12-01T00:30:00Z")).at,
            at("2026-12-01T01:00:00Z")
        );
    }

    #[test]
    fn the_time_zone_decides_which_day_it_is() {
        // 30 November 23:30 UTC is already 1 December in Tokyo, still 30 November in Chicago.
        let now = at("2026-11-30T23:30:00Z");
        let tokyo = calendar("Asia/Tokyo");
        assert_eq!(
            tokyo.latest(RunKind::Billing, now).day.to_string(),
            "2026-12-01"
        );
        assert_eq!(
            tokyo.latest(RunKind::Dunning, now).day.to_string(),
            "2026-12-01"
        );
        let chicago = calendar("America/Chicago");
        assert_eq!(
            chicago.latest(RunKind::Billing, now).day.to_string(),
            "2026-11-01"
        );
        assert_eq!(
            chicago.latest(RunKind::Dunning, now).day.to_string(),
            "2026-11-30"
        );
    }

    #[test]
    fn dunning_is_daily_across_a_daylight_saving_change() {
        let berlin = Calendar {
            dunning_hour: 2,
            ..calendar("Europe/Berlin")
        };
        // 29 March 2026: clocks jump from 02:00 to 03:00; the run is due at the first instant
        // after the gap.
        let due = berlin.next(RunKind::Dunning, at("2026-03-28T12:00:00Z"));
        assert_eq!(due.day.to_string(), "2026-03-29");
        assert_eq!(due.at, at("2026-03-29T01:00:00Z"));
        let after = berlin.next(RunKind::Dunning, due.at);
        assert_eq!(after.day.to_string(), "2026-03-30");
        assert_eq!(after.at, at("2026-03-30T00:00:00Z"), "02:00 summer time");
    }
}
