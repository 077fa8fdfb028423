//! Usage and fair use: the octets accounting reports become daily usage per subscription
//! (UTC days), and past a plan's data allowance in a billing period its setting applies:
//! `throttle` marks the period throttled (the enforcement tick then slows live sessions by
//! CoA, and new sign-ins get the fair-use speeds), `bill` charges each whole GB over once, as a
//! usage charge on the next invoice. Level-triggered and transactional, like the rest of the
//! tick.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use super::entity::{fair_use, network_usage, radius_session};
use crate::{
    api::{Actor, Settings},
    billing::{subscriptions::entity::subscription, usage_charges},
    catalog::{OverAllowance, entity::plan},
    domain::period::Period,
    error::Result,
};

/// Octets in a GB, as allowances count them.
pub const GB: i64 = 1_000_000_000;

/// The actor fair-use charges are recorded under.
fn fair_use_actor() -> Actor {
    Actor {
        credential: Uuid::nil(),
        account: None,
        session: None,
        name: "fair-use".into(),
        role: crate::people::Role::TenantAdmin,
        second_factor: false,
        source: "instance".into(),
    }
}

/// Counts new octets into daily usage, then applies fair use to the subscriptions that used
/// more.
pub async fn count(db: &DatabaseConnection, settings: &Settings) -> Result<()> {
    let today = chrono::Utc::now().date_naive();
    let used = count_new_octets(db, today).await?;
    for subscription in with_allowance(db, &used).await? {
        fair_use_of(db, settings, subscription, today).await?;
    }
    Ok(())
}

/// Rows per statement where a tick writes or reads many subscriptions at once.
const CHUNK: usize = 1000;

/// Those of `subscriptions` whose plan has a data allowance and a setting for going over it:
/// the only ones fair use can apply to, found in a statement per thousand rather than by
/// reading each subscription and its plan.
async fn with_allowance(db: &DatabaseConnection, subscriptions: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut found = Vec::new();
    for chunk in subscriptions.chunks(CHUNK) {
        let limited = plan::Entity::find()
            .select_only()
            .column(plan::Column::Id)
            .filter(plan::Column::DataAllowanceGb.is_not_null())
            .filter(plan::Column::OverAllowance.is_not_null())
            .into_query();
        found.extend(
            subscription::Entity::find()
                .select_only()
                .column(subscription::Column::Id)
                .filter(subscription::Column::Id.is_in(chunk.iter().copied()))
                .filter(subscription::Column::PlanId.in_subquery(limited))
                .into_tuple::<Uuid>()
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

/// Moves what sessions gained since they were last counted into today's usage; answers the
/// subscriptions that gained. Reads the live sessions and the stopped ones whose final
/// counters are not counted yet (`radius_sessions_uncounted`), at most 5,000 a tick each.
async fn count_new_octets(db: &DatabaseConnection, today: NaiveDate) -> Result<Vec<Uuid>> {
    let txn = dotmac_sql::begin_write(db).await?;
    let backend = txn.get_database_backend();
    // Locked (PostgreSQL) or in the one write transaction (SQLite): the coalesced interim
    // writer cannot move the counters between reading and marking them counted, nor a Stop
    // end a session read as live. A session another transaction holds (the interim writer
    // locks a thousand at a time, in its own order) is counted next tick rather than waited
    // for, so the two never deadlock.
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let columns =
        "id, subscription_id, input_octets - counted_input, output_octets - counted_output";
    let mut rows = Vec::new();
    for which in [
        "stopped_at IS NULL AND subscription_id IS NOT NULL \
         AND (input_octets > counted_input OR output_octets > counted_output)",
        "stopped_at IS NOT NULL AND NOT usage_final AND subscription_id IS NOT NULL",
    ] {
        rows.extend(
            txn.query_all_raw(Statement::from_string(
                backend,
                format!("SELECT {columns} FROM radius_sessions WHERE {which} LIMIT 5000{lock}"),
            ))
            .await?,
        );
    }
    let mut gained: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    let mut sessions = Vec::with_capacity(rows.len());
    for row in rows {
        let session: Uuid = row.try_get_by_index(0)?;
        let subscription: Uuid = row.try_get_by_index(1)?;
        let input: i64 = row.try_get_by_index(2)?;
        let output: i64 = row.try_get_by_index(3)?;
        sessions.push(session);
        if input > 0 || output > 0 {
            let total = gained.entry(subscription).or_default();
            total.0 += Ord::max(input, 0);
            total.1 += Ord::max(output, 0);
        }
    }
    if sessions.is_empty() {
        txn.rollback().await?;
        return Ok(Vec::new());
    }
    radius_session::Entity::update_many()
        .col_expr(
            radius_session::Column::CountedInput,
            Expr::col(radius_session::Column::InputOctets),
        )
        .col_expr(
            radius_session::Column::CountedOutput,
            Expr::col(radius_session::Column::OutputOctets),
        )
        // A stopped session's counters never change again (accounting after its Stop changes
        // nothing): counted now, it is never read again.
        .col_expr(
            radius_session::Column::UsageFinal,
            Expr::col(radius_session::Column::StoppedAt).is_not_null(),
        )
        .filter(radius_session::Column::Id.is_in(sessions))
        .exec(&txn)
        .await?;
    let gains: Vec<_> = gained.iter().collect();
    for chunk in gains.chunks(CHUNK) {
        let excluded = |column| Expr::col((Alias::new("excluded"), column));
        network_usage::Entity::insert_many(chunk.iter().map(|(subscription, (input, output))| {
            network_usage::ActiveModel {
                subscription_id: Set(**subscription),
                day: Set(today),
                input_octets: Set(*input),
                output_octets: Set(*output),
            }
        }))
        .on_conflict(
            OnConflict::columns([
                network_usage::Column::SubscriptionId,
                network_usage::Column::Day,
            ])
            .value(
                network_usage::Column::InputOctets,
                Expr::col((network_usage::Entity, network_usage::Column::InputOctets))
                    .add(excluded(network_usage::Column::InputOctets)),
            )
            .value(
                network_usage::Column::OutputOctets,
                Expr::col((network_usage::Entity, network_usage::Column::OutputOctets))
                    .add(excluded(network_usage::Column::OutputOctets)),
            )
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(gained.into_keys().collect())
}

/// The octets `subscription` used in `period`.
pub async fn used_in(db: &impl ConnectionTrait, subscription: Uuid, period: Period) -> Result<i64> {
    let rows: Vec<(i64, i64)> = network_usage::Entity::find()
        .select_only()
        .column(network_usage::Column::InputOctets)
        .column(network_usage::Column::OutputOctets)
        .filter(network_usage::Column::SubscriptionId.eq(subscription))
        .filter(network_usage::Column::Day.gte(period.start))
        .filter(network_usage::Column::Day.lt(period.end))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.iter().map(|(i, o)| i + o).sum())
}

/// The whole GB over `allowance_gb` of `used` octets, rounded up.
pub fn gb_over(used: i64, allowance_gb: i64) -> i64 {
    let over = used - allowance_gb * GB;
    if over <= 0 { 0 } else { (over + GB - 1) / GB }
}

/// Applies the plan's setting to `subscription` when it is over its allowance this period.
async fn fair_use_of(
    db: &DatabaseConnection,
    settings: &Settings,
    subscription: Uuid,
    today: NaiveDate,
) -> Result<()> {
    let Some(sub) = subscription::Entity::find_by_id(subscription)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let Some(plan) = plan::Entity::find_by_id(sub.plan_id).one(db).await? else {
        return Ok(());
    };
    let (Some(allowance), Some(setting)) = (plan.data_allowance_gb, plan.over_allowance) else {
        return Ok(());
    };
    let period = Period::containing(plan.billing_cycle, today);
    let over = gb_over(used_in(db, sub.id, period).await?, i64::from(allowance));
    if over == 0 {
        return Ok(());
    }
    let txn = dotmac_sql::begin_write(db).await?;
    let record = fair_use::Entity::find_by_id((sub.id, period.start))
        .one(&txn)
        .await?;
    let mut row = match record {
        Some(row) => row.into_active_model(),
        None => fair_use::ActiveModel {
            subscription_id: Set(sub.id),
            period_start: Set(period.start),
            period_end: Set(period.end),
            throttled_at: Set(None),
            billed_gb: Set(0),
        }
        .insert(&txn)
        .await?
        .into_active_model(),
    };
    match setting {
        OverAllowance::Throttle => {
            if row.throttled_at.as_ref().is_none() {
                row.throttled_at = Set(Some(chrono::Utc::now()));
                tracing::info!(tenant = %settings.tenant, subscription = %sub.id, "over its data allowance: throttled to fair use");
            }
        }
        OverAllowance::Bill => {
            let billed = *row.billed_gb.as_ref();
            if over > billed {
                let Some(price) = plan.overage_price_per_gb else {
                    txn.rollback().await?;
                    return Ok(());
                };
                // One key per GB count reached: a retried tick charges nothing twice.
                let key = format!("overage:{}:{}:{over}", sub.id, period.start);
                usage_charges::service::record(
                    &txn,
                    settings,
                    None,
                    &fair_use_actor(),
                    sub.id,
                    Some(key),
                    usage_charges::NewUsageCharge {
                        description: format!("Data over the {allowance} GB allowance, GB"),
                        quantity: over - billed,
                        unit_price: price,
                        occurred_on: Some(today),
                    },
                )
                .await?;
                row.billed_gb = Set(over);
                tracing::info!(tenant = %settings.tenant, subscription = %sub.id, gb = over - billed, "data over the allowance charged");
            }
        }
    }
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// `subscription`'s use in its current period, against its plan's allowance.
pub async fn view(db: &impl ConnectionTrait, subscription: Uuid) -> Result<super::wire::UsageView> {
    let sub = crate::billing::subscriptions::service::find(db, subscription).await?;
    let plan = plan::Entity::find_by_id(sub.plan_id)
        .one(db)
        .await?
        .ok_or(crate::error::Error::NotFound { entity: "plan" })?;
    let today = chrono::Utc::now().date_naive();
    let period = Period::containing(plan.billing_cycle, today);
    let days = network_usage::Entity::find()
        .filter(network_usage::Column::SubscriptionId.eq(sub.id))
        .filter(network_usage::Column::Day.gte(period.start))
        .filter(network_usage::Column::Day.lt(period.end))
        .order_by_asc(network_usage::Column::Day)
        .all(db)
        .await?;
    let fair = fair_use::Entity::find_by_id((sub.id, period.start))
        .one(db)
        .await?;
    Ok(super::wire::UsageView {
        subscription_id: sub.id,
        period_start: period.start,
        period_end: period.end,
        used_octets: days.iter().map(|d| d.input_octets + d.output_octets).sum(),
        allowance_gb: plan.data_allowance_gb,
        over_allowance: plan.over_allowance,
        throttled: fair.as_ref().is_some_and(|f| f.throttled_at.is_some()),
        billed_gb: fair.map_or(0, |f| f.billed_gb),
        days: days
            .into_iter()
            .map(|d| super::wire::UsageDay {
                day: d.day,
                input_octets: d.input_octets,
                output_octets: d.output_octets,
            })
            .collect(),
    })
}

/// The use of every subscription of the customer a subscriber account belongs to.
pub async fn of_subscriber(
    db: &impl ConnectionTrait,
    account: Option<Uuid>,
) -> Result<Vec<super::wire::UsageView>> {
    let customer = crate::people::accounts::customer_of(db, account).await?;
    let subscriptions = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(customer))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(subscriptions.len());
    for sub in subscriptions {
        views.push(view(db, sub.id).await?);
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overage_counts_whole_gb_rounded_up() {
        assert_eq!(gb_over(10 * GB, 10), 0);
        assert_eq!(gb_over(10 * GB + 1, 10), 1);
        assert_eq!(gb_over(12 * GB, 10), 2);
        assert_eq!(gb_over(0, 10), 0);
    }
}
