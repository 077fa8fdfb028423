//! Money: amounts are integer minor units of an ISO 4217 currency (cents for USD, yen for
//! JPY, fils for BHD). Arithmetic that can produce fractions (proration, percentages, tax)
//! runs in `rust_decimal` and comes back to minor units through [`round_minor`], the one place
//! where this application rounds.

use rust_decimal::{Decimal, RoundingStrategy};

/// ISO 4217 currencies this application bills in, with their minor-unit exponent.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("GHS", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("RWF", 0),
    ("SEK", 2),
    ("SGD", 2),
    ("TND", 3),
    ("TZS", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// The minor-unit exponent of an ISO 4217 code (`USD` → 2, `JPY` → 0), or `None` when this
/// application does not know the currency.
pub fn exponent(code: &str) -> Option<u32> {
    CURRENCIES
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, exponent)| *exponent)
}

/// One major unit in minor units (`USD` → 100).
pub fn major_unit(exponent: u32) -> i64 {
    10_i64.pow(exponent)
}

/// Rounds an amount in minor units to a whole minor unit, half away from zero: 0.5 cent becomes
/// 1 cent and −0.5 cent becomes −1 cent, so a credit for unused time mirrors the charge it
/// reverses. Every fractional amount in billing passes through here, once, per line.
///
/// Saturates at `i64` bounds, far beyond any invoice.
pub fn round_minor(amount: Decimal) -> i64 {
    let rounded = amount.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).unwrap_or(if rounded.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// `amount × numerator / denominator`, rounded once. `denominator` must be positive.
pub fn scale(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    round_minor(Decimal::from(amount) * Decimal::from(numerator) / Decimal::from(denominator))
}

/// A rate in parts per million (8.25 % = 82,500 ppm), the unit tax and discount rates are
/// stored in.
pub const PPM: i64 = 1_000_000;

/// `amount × rate_ppm / 1,000,000`, rounded once.
pub fn apply_rate(amount: i64, rate_ppm: i64) -> i64 {
    scale(amount, rate_ppm, PPM)
}

/// Parses a decimal percentage (`"8.25"`) into parts per million, rejecting values outside
/// 0–100 or finer than 1 ppm.
pub fn percent_to_ppm(percent: Decimal) -> Option<i64> {
    if percent.is_sign_negative() || percent > Decimal::from(100) {
        return None;
    }
    let ppm = percent * Decimal::from(PPM / 100);
    if ppm.fract() != Decimal::ZERO {
        return None;
    }
    i64::try_from(ppm).ok()
}

/// Formats parts per million as a decimal percentage (`82_500` → `8.25`).
pub fn ppm_to_percent(ppm: i64) -> Decimal {
    (Decimal::from(ppm) / Decimal::from(PPM / 100)).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_minor(Decimal::new(5, 1)), 1);
        assert_eq!(round_minor(Decimal::new(-5, 1)), -1);
        assert_eq!(round_minor(Decimal::new(149, 2)), 1);
        assert_eq!(round_minor(Decimal::new(250, 2)), 3);
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(exponent("USD"), Some(2));
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("BHD"), Some(3));
        assert_eq!(exponent("usd"), None);
        assert_eq!(exponent("XXX"), None);
    }

    #[test]
    fn percentages_convert_exactly() {
        assert_eq!(percent_to_ppm(Decimal::new(825, 2)), Some(82_500));
        assert_eq!(percent_to_ppm(Decimal::new(9975, 3)), Some(99_750));
        assert_eq!(percent_to_ppm(Decimal::new(1, 7)), None);
        assert_eq!(percent_to_ppm(Decimal::new(101, 0)), None);
        assert_eq!(percent_to_ppm(Decimal::new(-1, 0)), None);
        assert_eq!(ppm_to_percent(82_500), Decimal::new(825, 2));
    }

    proptest! {
        #[test]
        fn a_credit_mirrors_its_charge(amount in 0_i64..10_000_000, used in 0_i64..=31, days in 28_i64..=31) {
            let used = used.min(days);
            prop_assert_eq!(scale(-amount, used, days), -scale(amount, used, days));
        }

        #[test]
        fn proration_never_exceeds_the_whole(amount in 0_i64..10_000_000, used in 0_i64..=31, days in 28_i64..=31) {
            let used = used.min(days);
            let part = scale(amount, used, days);
            prop_assert!((0..=amount).contains(&part));
            prop_assert_eq!(scale(amount, days, days), amount);
        }
    }
}
