//! What happens when an invoice is not paid: after a grace period a late fee, after a further
//! period the customer's internet service is suspended, and once the balance is paid the
//! service comes back by itself.

use serde::{Deserialize, Serialize};

use super::money::{major_unit, scale};

/// The tenant's dunning policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DunningPolicy {
    /// Whether dunning runs act at all.
    pub enabled: bool,
    /// Late fee as basis points of the amount due (500 = 5 %).
    pub late_fee_bps: i64,
    /// Smallest late fee, in the currency's major unit.
    pub late_fee_min: i64,
    /// Largest late fee, in the currency's major unit.
    pub late_fee_max: i64,
    /// Days after the due date before a late fee is charged.
    pub grace_days: i64,
    /// Days after the grace period before internet service is suspended.
    pub suspend_after_days: i64,
}

impl Default for DunningPolicy {
    /// 5 % late fee, at least 5 and at most 25 major units, after 15 days; suspension 7 days
    /// later.
    fn default() -> Self {
        Self {
            enabled: true,
            late_fee_bps: 500,
            late_fee_min: 5,
            late_fee_max: 25,
            grace_days: 15,
            suspend_after_days: 7,
        }
    }
}

impl DunningPolicy {
    /// The late fee on `amount_due` minor units of a currency with `exponent`.
    pub fn late_fee(&self, amount_due: i64, exponent: u32) -> i64 {
        let unit = major_unit(exponent);
        scale(amount_due, self.late_fee_bps, 10_000).clamp(
            self.late_fee_min * unit,
            (self.late_fee_max * unit).max(self.late_fee_min * unit),
        )
    }

    /// Whether an invoice `days_overdue` past its due date owes a late fee.
    pub fn late_fee_due(&self, days_overdue: i64) -> bool {
        days_overdue > self.grace_days
    }

    /// Whether a customer with an invoice `days_overdue` past its due date is suspended.
    pub fn suspension_due(&self, days_overdue: i64) -> bool {
        days_overdue > self.grace_days + self.suspend_after_days
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_fee_defaults() {
        let policy = DunningPolicy::default();
        assert_eq!(policy.late_fee(20_000, 2), 1_000); // 5 % of 200.00
        assert_eq!(policy.late_fee(4_000, 2), 500); // 2.00 → minimum 5.00
        assert_eq!(policy.late_fee(100_000, 2), 2_500); // 50.00 → maximum 25.00
        assert_eq!(policy.late_fee(40, 0), 5); // JPY: ¥2 → minimum ¥5
        assert_eq!(policy.late_fee(4_000, 0), 25); // JPY: ¥200 → maximum ¥25
        assert!(!policy.late_fee_due(15));
        assert!(policy.late_fee_due(16));
        assert!(!policy.suspension_due(22));
        assert!(policy.suspension_due(23));
    }
}
