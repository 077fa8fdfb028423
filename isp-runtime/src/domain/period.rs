//! Billing periods. Subscriptions bill in advance on calendar periods: a monthly period runs
//! from the 1st of a month to the 1st of the next, a quarterly one from the 1st of January,
//! April, July or October, a yearly one from the 1st of January. A subscription that starts,
//! changes plan or ends inside a period pays for the days it has, by days of that period.

use chrono::{Datelike, Months, NaiveDate};
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// How often a plan bills.
// Also the plans' `billing_cycle` column: a stored value outside the enum is a read error.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BillingCycle {
    /// Every calendar month.
    #[sea_orm(string_value = "monthly")]
    Monthly,
    /// Every calendar quarter.
    #[sea_orm(string_value = "quarterly")]
    Quarterly,
    /// Every calendar year.
    #[sea_orm(string_value = "annually")]
    Annually,
}

impl BillingCycle {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Annually => "annually",
        }
    }

    /// Months in one period.
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Annually => 12,
        }
    }
}

/// A half-open range of days `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// The day after the last day.
    pub end: NaiveDate,
}

impl Period {
    /// The calendar period of `cycle` that contains `day`.
    pub fn containing(cycle: BillingCycle, day: NaiveDate) -> Self {
        let month0 = day.month0();
        let start_month0 = month0 - month0 % cycle.months();
        let start = NaiveDate::from_ymd_opt(day.year(), start_month0 + 1, 1).unwrap_or(day);
        let end = start
            .checked_add_months(Months::new(cycle.months()))
            .unwrap_or(start);
        Self { start, end }
    }

    /// The period after this one.
    pub fn next(self, cycle: BillingCycle) -> Self {
        Self::containing(cycle, self.end)
    }

    /// Days in the period.
    pub fn days(self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// Days from `from` (clamped into the period) to the period's end.
    pub fn days_from(self, from: NaiveDate) -> i64 {
        let from = from.clamp(self.start, self.end);
        (self.end - from).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn calendar_periods() {
        let september = Period::containing(BillingCycle::Monthly, day(2026, 9, 16));
        assert_eq!(september.start, day(2026, 9, 1));
        assert_eq!(september.end, day(2026, 10, 1));
        assert_eq!(september.days(), 30);
        assert_eq!(september.days_from(day(2026, 9, 16)), 15);
        let february = Period::containing(BillingCycle::Monthly, day(2028, 2, 29));
        assert_eq!(february.days(), 29);
        let q = Period::containing(BillingCycle::Quarterly, day(2026, 11, 24));
        assert_eq!((q.start, q.end), (day(2026, 10, 1), day(2027, 1, 1)));
        let y = Period::containing(BillingCycle::Annually, day(2028, 6, 1));
        assert_eq!(y.days(), 366);
        assert_eq!(
            september.next(BillingCycle::Monthly).start,
            day(2026, 10, 1)
        );
    }

    proptest! {
        #[test]
        fn periods_tile_the_calendar(offset in 0_i64..3000, cycle in 0_usize..3) {
            let cycle = [BillingCycle::Monthly, BillingCycle::Quarterly, BillingCycle::Annually][cycle];
            let d = day(2024, 1, 1) + chrono::Duration::days(offset);
            let p = Period::containing(cycle, d);
            prop_assert!(p.start <= d && d < p.end);
            prop_assert_eq!(p.next(cycle).start, p.end);
            prop_assert_eq!(Period::containing(cycle, p.end - chrono::Duration::days(1)), p);
        }
    }
}
