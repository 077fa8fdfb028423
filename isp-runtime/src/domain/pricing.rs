//! Pricing of invoice lines: quantity × unit price, less the discount, plus the taxes of the
//! customer's jurisdiction. Each line is rounded on its own (discount, then each tax) and an
//! invoice's totals are sums of its lines, so they always add up.

use serde::{Deserialize, Serialize};

use super::money::{PPM, apply_rate};

/// A tax that applies to a line, in the order the jurisdiction applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRule {
    /// Name printed on the invoice (`GST`).
    pub name: String,
    /// Rate in parts per million.
    pub rate_ppm: i64,
    /// A compound tax is charged on the net amount plus the taxes before it.
    pub compound: bool,
}

/// One tax charged on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// Name of the tax.
    pub name: String,
    /// Rate in parts per million.
    pub rate_ppm: i64,
    /// Whether it was compounded.
    pub compound: bool,
    /// Amount in minor units.
    pub amount: i64,
}

/// A line before pricing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    /// What the line is for.
    pub description: String,
    /// How many units (at least 1).
    pub quantity: i64,
    /// Price of one unit in minor units; negative for a credit.
    pub unit_price: i64,
    /// Discount in parts per million of the gross amount.
    pub discount_ppm: i64,
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The input it was priced from.
    pub input: LineInput,
    /// quantity × unit price.
    pub gross: i64,
    /// The discount taken off the gross amount.
    pub discount: i64,
    /// Gross less discount: what taxes are charged on.
    pub net: i64,
    /// Each tax charged.
    pub taxes: Vec<LineTax>,
    /// Sum of the taxes.
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
}

/// An invoice's totals: each is the sum of that column over the lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of gross amounts.
    pub subtotal: i64,
    /// Sum of discounts.
    pub discount: i64,
    /// Sum of taxes.
    pub tax: i64,
    /// Sum of line totals: subtotal − discount + tax.
    pub total: i64,
}

/// Taxes on `net`: a simple tax on the net amount, a compound tax on the net amount plus every
/// tax before it. Each is rounded on its own.
pub fn taxes_on(net: i64, rules: &[TaxRule]) -> Vec<LineTax> {
    let mut taxes: Vec<LineTax> = Vec::with_capacity(rules.len());
    let mut charged = 0_i64;
    for rule in rules {
        let base = if rule.compound { net + charged } else { net };
        let amount = apply_rate(base, rule.rate_ppm);
        charged += amount;
        taxes.push(LineTax {
            name: rule.name.clone(),
            rate_ppm: rule.rate_ppm,
            compound: rule.compound,
            amount,
        });
    }
    taxes
}

/// Prices one line. Callers validate ranges first (quantity 1–1,000,000, |unit price| below
/// 10¹², discount 0–100 %), so nothing here overflows.
pub fn price_line(input: LineInput, rules: &[TaxRule]) -> PricedLine {
    let gross = input.quantity.saturating_mul(input.unit_price);
    let discount = apply_rate(gross, input.discount_ppm.clamp(0, PPM));
    let net = gross - discount;
    let taxes = taxes_on(net, rules);
    let tax = taxes.iter().map(|t| t.amount).sum();
    PricedLine {
        input,
        gross,
        discount,
        net,
        taxes,
        tax,
        total: net + tax,
    }
}

/// The totals of `lines`.
pub fn totals(lines: &[PricedLine]) -> Totals {
    lines.iter().fold(Totals::default(), |sum, line| Totals {
        subtotal: sum.subtotal + line.gross,
        discount: sum.discount + line.discount,
        tax: sum.tax + line.tax,
        total: sum.total + line.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(name: &str, rate_ppm: i64, compound: bool) -> TaxRule {
        TaxRule {
            name: name.into(),
            rate_ppm,
            compound,
        }
    }

    fn line(quantity: i64, unit_price: i64, discount_ppm: i64) -> LineInput {
        LineInput {
            description: "line".into(),
            quantity,
            unit_price,
            discount_ppm,
        }
    }

    #[test]
    fn compound_tax_is_charged_on_the_taxes_before_it() {
        // Quebec before 2013: GST 5 %, then QST 9.5 % on the amount including GST.
        let rules = [rule("GST", 50_000, false), rule("QST", 95_000, true)];
        let priced = price_line(line(1, 10_000, 0), &rules);
        assert_eq!(priced.taxes[0].amount, 500);
        assert_eq!(priced.taxes[1].amount, 998); // 9.5 % of 105.00 = 9.975 → 9.98
        assert_eq!(priced.total, 11_498);
        let simple = price_line(
            line(1, 10_000, 0),
            &[rule("A", 50_000, false), rule("B", 95_000, false)],
        );
        assert_eq!(simple.tax, 500 + 950);
    }

    #[test]
    fn discount_comes_off_before_tax() {
        let priced = price_line(line(2, 4_999, 100_000), &[rule("VAT", 200_000, false)]);
        assert_eq!(priced.gross, 9_998);
        assert_eq!(priced.discount, 1_000); // 999.8 → 1000
        assert_eq!(priced.net, 8_998);
        assert_eq!(priced.tax, 1_800); // 1799.6 → 1800
        assert_eq!(priced.total, 10_798);
    }

    proptest! {
        #[test]
        fn totals_are_the_sums_of_their_lines(
            lines in proptest::collection::vec((1_i64..1000, -1_000_000_i64..1_000_000, 0_i64..=PPM), 1..20),
            rates in proptest::collection::vec((0_i64..=300_000, any::<bool>()), 0..4),
        ) {
            let rules: Vec<TaxRule> = rates.iter().enumerate().map(|(i, (r, c))| rule(&format!("T{i}"), *r, *c)).collect();
            let priced: Vec<PricedLine> = lines.iter().map(|(q, p, d)| price_line(line(*q, *p, *d), &rules)).collect();
            let sums = totals(&priced);
            prop_assert_eq!(sums.total, priced.iter().map(|l| l.total).sum::<i64>());
            prop_assert_eq!(sums.tax, priced.iter().flat_map(|l| &l.taxes).map(|t| t.amount).sum::<i64>());
            prop_assert_eq!(sums.total, sums.subtotal - sums.discount + sums.tax);
            for l in &priced {
                prop_assert_eq!(l.net, l.gross - l.discount);
                prop_assert!(l.discount.abs() <= l.gross.abs());
            }
        }
    }
}
