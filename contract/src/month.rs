//! The calendar month (UTC) in which usage rolls up, a license's period runs and a reseller's
//! commission accrues; written `2026-11` in the platform database and the API.

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};

/// One calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Its first day.
    first: Date,
}

impl Month {
    /// The month `at` falls in.
    pub fn of(at: Timestamp) -> Self {
        Self {
            first: at.to_zoned(TimeZone::UTC).date().first_of_month(),
        }
    }

    /// Its first instant.
    pub fn start(self) -> Timestamp {
        utc_midnight(self.first)
    }

    /// The month after it.
    pub fn next(self) -> Self {
        Self {
            first: next_month(self.first),
        }
    }

    /// The first instant after it: the next month's start.
    pub fn end(self) -> Timestamp {
        self.next().start()
    }

    /// `2026-11`.
    pub fn label(self) -> String {
        self.first.strftime("%Y-%m").to_string()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// The first of the month after `first`. Saturates at jiff's last supported month (9999-12),
/// which no clock reading or RFC 3339 time on the wire reaches.
fn next_month(first: Date) -> Date {
    first.checked_add(1.month()).unwrap_or(first)
}

fn utc_midnight(day: Date) -> Timestamp {
    day.to_zoned(TimeZone::UTC)
        .map_or(Timestamp::MAX, |z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
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
