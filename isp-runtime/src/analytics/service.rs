//! Revenue analytics (the `advanced_analytics` feature): monthly recurring revenue, ARPU, new
//! and cancelled subscriptions and churn for each of the last months, per currency. Computed
//! from subscriptions' activation and cancellation days and their plans' prices (overrides and
//! discounts applied, quarterly and annual prices spread over their months).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::{
    billing::subscriptions::entity::subscription,
    catalog::entity::plan,
    domain::money::{PPM, apply_rate},
    error::Result,
};

use super::wire::{CurrencyRevenue, MonthRevenue};

/// One subscription as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its customer.
    pub customer: Uuid,
    /// Its plan's currency.
    pub currency: String,
    /// What it brings in a month, in minor units.
    pub monthly: i64,
    /// The day it went into service.
    pub activated_on: Option<NaiveDate>,
    /// The day it ended.
    pub cancelled_on: Option<NaiveDate>,
}

impl Line {
    /// In service on `day`.
    fn active_on(&self, day: NaiveDate) -> bool {
        self.activated_on.is_some_and(|a| a <= day) && self.cancelled_on.is_none_or(|c| c > day)
    }
}

/// The figures for the `months` calendar months up to and including the one of `today`.
pub fn revenue(lines: &[Line], today: NaiveDate, months: u32) -> Vec<CurrencyRevenue> {
    let currencies: BTreeSet<&str> = lines.iter().map(|l| l.currency.as_str()).collect();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let firsts: Vec<NaiveDate> = (0..months)
        .rev()
        .filter_map(|back| this_month.checked_sub_months(Months::new(back)))
        .collect();
    currencies
        .into_iter()
        .map(|currency| {
            let own: Vec<&Line> = lines.iter().filter(|l| l.currency == currency).collect();
            CurrencyRevenue {
                currency: currency.to_owned(),
                months: firsts
                    .iter()
                    .map(|first| month(&own, *first, today))
                    .collect(),
            }
        })
        .collect()
}

fn month(lines: &[&Line], first: NaiveDate, today: NaiveDate) -> MonthRevenue {
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    // The current month is measured as of today.
    let last = next.pred_opt().unwrap_or(first).min(today);
    let before = first.pred_opt().unwrap_or(first);
    let active: Vec<&&Line> = lines.iter().filter(|l| l.active_on(last)).collect();
    let at_start = lines.iter().filter(|l| l.active_on(before)).count() as i64;
    let within = |day: Option<NaiveDate>| day.is_some_and(|d| d >= first && d <= last);
    let cancelled = lines.iter().filter(|l| within(l.cancelled_on)).count() as i64;
    let customers: BTreeSet<Uuid> = active.iter().map(|l| l.customer).collect();
    let mrr: i64 = active.iter().map(|l| l.monthly).sum();
    MonthRevenue {
        month: first.format("%Y-%m").to_string(),
        mrr,
        active_subscriptions: active.len() as i64,
        active_customers: customers.len() as i64,
        arpu: if customers.is_empty() {
            0
        } else {
            mrr / customers.len() as i64
        },
        new_subscriptions: lines.iter().filter(|l| within(l.activated_on)).count() as i64,
        cancelled_subscriptions: cancelled,
        churn_percent: if at_start == 0 {
            "0.00".into()
        } else {
            format!("{:.2}", cancelled as f64 * 100.0 / at_start as f64)
        },
    }
}

/// Every subscription with its plan, as [`Line`]s.
pub async fn lines(db: &impl ConnectionTrait) -> Result<Vec<Line>> {
    let plans: BTreeMap<Uuid, plan::Model> = plan::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let subscriptions = subscription::Entity::find().all(db).await?;
    Ok(subscriptions
        .into_iter()
        .filter_map(|s| {
            let plan = plans.get(&s.plan_id)?;
            let cycle = i64::from(plan.billing_cycle.months());
            let price = apply_rate(
                s.price_override.unwrap_or(plan.price),
                PPM - s.discount_ppm.clamp(0, PPM),
            );
            Some(Line {
                customer: s.customer_id,
                currency: plan.currency.clone(),
                monthly: (price + cycle / 2) / cycle,
                activated_on: s.activated_on,
                cancelled_on: s.cancelled_on,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn line(customer: u128, monthly: i64, from: &str, to: Option<&str>) -> Line {
        Line {
            customer: Uuid::from_u128(customer),
            currency: "USD".into(),
            monthly,
            activated_on: Some(day(from)),
            cancelled_on: to.map(day),
        }
    }

    #[test]
    fn mrr_arpu_and_churn_by_month() {
        let lines = [
            line(1, 5_000, "2026-09-15", None),
            line(1, 2_000, "2026-10-01", None),
            line(2, 3_000, "2026-09-01", Some("2026-10-20")),
            line(3, 4_000, "2026-11-10", None),
        ];
        let figures = revenue(&lines, day("2026-11-20"), 3);
        assert_eq!(figures.len(), 1);
        let months = &figures[0].months;
        assert_eq!(months.len(), 3);
        let (sep, oct, nov) = (&months[0], &months[1], &months[2]);
        assert_eq!(sep.month, "2026-09");
        assert_eq!(
            (sep.mrr, sep.active_customers, sep.new_subscriptions),
            (8_000, 2, 2)
        );
        assert_eq!(oct.mrr, 7_000, "customer 2 left on the 20th");
        assert_eq!(oct.cancelled_subscriptions, 1);
        assert_eq!(
            oct.churn_percent, "50.00",
            "one of the two active on 30 September"
        );
        assert_eq!(nov.mrr, 11_000);
        assert_eq!((nov.active_customers, nov.arpu), (2, 5_500));
        assert_eq!(nov.churn_percent, "0.00");
    }
}
