//! The calendar month (UTC) in which usage rolls up, a license's period runs and a reseller's
//! commission accrues; written `2026-11` in the platform database and the API.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};

/// One calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Its first day.
    first: NaiveDate,
}

impl Month {
    /// The month `at` falls in.
    pub fn of(at: DateTime<Utc>) -> Self {
        let day = at.date_naive();
        Self {
            first: day - Days::new(u64::from(day.day0())),
        }
    }

    /// Its first instant.
    pub fn start(self) -> DateTime<Utc> {
        self.first.and_time(NaiveTime::MIN).and_utc()
    }

    /// The month after it.
    pub fn next(self) -> Self {
        // The 1st plus 31 days is always in the next month.
        Self::of(
            (self.first + Days::new(31))
                .and_time(NaiveTime::MIN)
                .and_utc(),
        )
    }

    /// The first instant after it: the next month's start.
    pub fn end(self) -> DateTime<Utc> {
        self.next().start()
    }

    /// `2026-11`.
    pub fn label(self) -> String {
        self.first.format("%Y-%m").to_string()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_month_runs_from_its_first_instant_to_the_next_months() {
        let november = Month::of(at("2026-11-30T23:59:59Z"));
        assert_eq!(november.start(), at("2026-11-01T00:00:00Z"));
        assert_eq!(november.end(), at("2026-12-01T00:00:00Z"));
        assert_eq!(november.label(), "2026-11");
        let december = Month::of(at("2026-12-31T23:59:59Z"));
        assert_eq!(
            december.end(),
            at("2027-01-01T00:00:00Z"),
            "December rolls into January"
        );
        assert_eq!(december.next().label(), "2027-01");
        let february = Month::of(at("2028-02-29T12:00:00Z"));
        assert_eq!(
            february.end(),
            at("2028-03-01T00:00:00Z"),
            "a leap February"
        );
        assert_eq!(Month::of(november.end()), november.next());
    }
}
