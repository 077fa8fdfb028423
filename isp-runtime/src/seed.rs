//! Demo and benchmark data: customers in three tax jurisdictions (Quebec with compound QST,
//! Ontario, the US), three internet plans, and one active subscription per customer, some with
//! a price override or a discount, all due on the same day. Ids are derived from the row's
//! index, so two databases seeded alike bill alike.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, IntoActiveModel};
use uuid::Uuid;

use crate::domain::lifecycle::ServiceStatus;
use crate::{
    billing::subscriptions::entity::subscription,
    catalog::entity::{plan, tax_rate},
    customers::entity::customer,
};

/// Rows per insert statement.
const CHUNK: usize = 500;

/// Seeds `subscriptions` active subscriptions due on `due`, calling `progress` after each
/// chunk with the number written so far. Meant for an empty database.
pub async fn seed(
    db: &impl ConnectionTrait,
    subscriptions: u64,
    due: NaiveDate,
    mut progress: impl FnMut(u64),
) -> Result<(), DbErr> {
    let now = chrono::Utc::now();
    seed_catalog(db, now).await?;
    let activated = due.pred_opt().unwrap_or(due);
    let mut done = 0_u64;
    while done < subscriptions {
        let end = (done + CHUNK as u64).min(subscriptions);
        let customers = (done..end).map(|i| demo_customer(i, now).into_active_model());
        customer::Entity::insert_many(customers)
            .exec_without_returning(db)
            .await?;
        let subs =
            (done..end).map(|i| demo_subscription(i, activated, due, now).into_active_model());
        subscription::Entity::insert_many(subs)
            .exec_without_returning(db)
            .await?;
        done = end;
        progress(done);
    }
    Ok(())
}

/// Canada's GST and Quebec's QST, and three fibre plans.
async fn seed_catalog(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    let taxes = [
        (1, "GST", None, 50_000, false, 0),
        (2, "QST", Some("QC"), 99_750, true, 1),
    ];
    for (n, name, region, rate_ppm, compound, priority) in taxes {
        let row = tax_rate::Model {
            id: Uuid::from_u128(n),
            name: name.into(),
            country: "CA".into(),
            region: region.map(str::to_owned),
            rate_ppm,
            compound,
            priority,
            active: true,
            created_at: now,
        };
        tax_rate::Entity::insert(row.into_active_model())
            .exec_without_returning(db)
            .await?;
    }
    for (n, price) in [(1_u128, 2999_i64), (2, 4999), (3, 8999)] {
        let row = plan::Model {
            id: Uuid::from_u128(100 + n),
            code: format!("DEMO-{n}"),
            name: format!("Fibre {}", n * 100),
            service_type: "internet".into(),
            price,
            currency: "USD".into(),
            billing_cycle: crate::domain::period::BillingCycle::Monthly,
            download_mbps: i32::try_from(n * 100).ok(),
            upload_mbps: i32::try_from(n * 50).ok(),
            data_allowance_gb: None,
            active: true,
            over_allowance: None,
            fair_use_download_mbps: None,
            fair_use_upload_mbps: None,
            overage_price_per_gb: None,
            created_at: now,
            updated_at: now,
        };
        plan::Entity::insert(row.into_active_model())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The `i`th demo customer: in Quebec, Ontario or the US in turn.
fn demo_customer(i: u64, now: DateTime<Utc>) -> customer::Model {
    let places = [("CA", Some("QC")), ("CA", Some("ON")), ("US", None)];
    let (country, region) = places[(i % 3) as usize];
    customer::Model {
        id: Uuid::from_u128(1_000_000_000 + u128::from(i)),
        customer_number: format!("D-{i:07}"),
        display_name: format!("Demo customer {i}"),
        customer_type: "residential".into(),
        status: ServiceStatus::Active,
        email: format!("demo{i}@example.com"),
        phone: None,
        street: None,
        city: None,
        region: region.map(str::to_owned),
        postal_code: None,
        country: country.into(),
        currency: "USD".into(),
        created_at: now,
        updated_at: now,
    }
}

/// The `i`th demo customer's subscription, on one of the three plans, some with an override
/// price or a discount.
fn demo_subscription(
    i: u64,
    activated: NaiveDate,
    due: NaiveDate,
    now: DateTime<Utc>,
) -> subscription::Model {
    subscription::Model {
        id: Uuid::from_u128(2_000_000_000 + u128::from(i)),
        customer_id: Uuid::from_u128(1_000_000_000 + u128::from(i)),
        plan_id: Uuid::from_u128(101 + u128::from(i % 3)),
        status: ServiceStatus::Active,
        price_override: i.is_multiple_of(7).then_some(1999),
        discount_ppm: if i.is_multiple_of(5) { 125_000 } else { 0 },
        suspended_reason: None,
        activated_on: Some(activated),
        cancelled_on: None,
        next_billing_date: Some(due),
        created_at: now,
        updated_at: now,
    }
}
