//! The billing run: for a billing date, every active subscription whose next billing date has
//! come gets its invoice for that period, issued and numbered, in batches. Each batch is one
//! transaction that inserts the invoices and their lines, moves the subscriptions' next billing
//! date on and counts the progress, so a run killed at any point and started again carries on
//! where the last committed batch ended: no duplicates (the unique index on subscription and
//! period would refuse one anyway) and no gaps in the numbering.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, Statement,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::{
    audit,
    billing::{
        invoices::{self, Issue, Kind, Prepared},
        runs::entity::run,
        subscriptions::{entity::subscription, period_line},
        usage_charges,
        usage_charges::entity::usage_charge,
    },
    catalog::taxes::TaxTable,
    domain::period::{BillingCycle, Period},
    error::Result,
};

/// A due subscription with what pricing it needs.
#[derive(Debug, FromQueryResult)]
struct Due {
    id: Uuid,
    customer_id: Uuid,
    price_override: Option<i64>,
    discount_ppm: i64,
    next_billing_date: NaiveDate,
    plan_name: String,
    plan_price: i64,
    billing_cycle: BillingCycle,
    country: String,
    region: Option<String>,
    currency: String,
}

const DUE: &str = "SELECT s.id, s.customer_id, s.price_override, s.discount_ppm, s.next_billing_date, \
    p.name AS plan_name, p.price AS plan_price, p.billing_cycle, c.country, c.region, c.currency \
    FROM subscriptions s JOIN plans p ON p.id = s.plan_id JOIN customers c ON c.id = s.customer_id \
    WHERE s.status = 'active' AND s.next_billing_date <= $1 AND s.id > $2 ORDER BY s.id LIMIT $3";

/// Settings of a run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Subscriptions per transaction.
    pub batch_size: u64,
    /// Days from issue to due.
    pub terms_days: i64,
    /// Seconds each batch extends the run's lease by.
    pub lease_seconds: i64,
}

/// Runs billing for `run` (its `as_of` is the billing date) until nothing is due. A
/// subscription several periods behind gets one invoice per period, oldest first.
pub async fn execute(db: &DatabaseConnection, run: &run::Model, options: Options) -> Result<()> {
    let taxes = TaxTable::load(db).await?;
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        gather_statistics(db).await?;
    }
    let mut batches = 0_u64;
    let mut total = u64::try_from(run.created).unwrap_or(0);
    // Keyset paging by subscription id: each batch reads only its own range. A pass that ends
    // starts again from the first id, for subscriptions more than one period behind; a pass
    // that finds nothing ends the run.
    let mut after = Uuid::nil();
    let mut pass_found = false;
    loop {
        let txn = dotmac_sql::begin_write(db).await?;
        if backend == DatabaseBackend::Postgres {
            // One billing batch at a time per database, whichever worker runs it.
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(73642001)")
                .await?;
        }
        let due = Due::find_by_statement(Statement::from_sql_and_values(
            backend,
            DUE,
            [
                run.as_of.into(),
                after.into(),
                i64::try_from(options.batch_size).unwrap_or(1000).into(),
            ],
        ))
        .all(&txn)
        .await?;
        let first = after;
        let Some(last) = due.last().map(|d| d.id) else {
            txn.commit().await?;
            if after.is_nil() || !pass_found {
                break;
            }
            after = Uuid::nil();
            pass_found = false;
            continue;
        };
        after = last;
        pass_found = true;
        bill_batch(&txn, run, options, &taxes, &due, (first, last)).await?;
        let count = due.len() as u64;
        record_progress(&txn, run, options, count).await?;
        txn.commit().await?;
        batches += 1;
        total += count;
        tracing::info!(run = %run.id, batch = batches, invoices = count, total, "billing run: batch committed");
    }
    tracing::info!(run = %run.id, as_of = %run.as_of, batches, invoices = total, "billing run: nothing left due");
    Ok(())
}

/// Invoices one batch of due subscriptions (ids in `range`, exclusive of its start): their
/// period with the usage charges it carries, marks those charges billed and moves each
/// subscription's billing date to the end of the period billed.
async fn bill_batch(
    txn: &impl ConnectionTrait,
    run: &run::Model,
    options: Options,
    taxes: &TaxTable,
    due: &[Due],
    (first, last): (Uuid, Uuid),
) -> Result<()> {
    // Usage is billed in arrears: each invoice carries the unbilled charges that occurred
    // before the period it bills.
    let mut usage = usage_charges::unbilled_between(txn, first, last, run.as_of).await?;
    let charges: Vec<Vec<usage_charge::Model>> = due
        .iter()
        .map(|d| {
            let mut mine = usage.remove(&d.id).unwrap_or_default();
            mine.retain(|c| c.occurred_on < d.next_billing_date);
            mine
        })
        .collect();
    let prepared: Vec<Prepared> = due
        .iter()
        .zip(&charges)
        .map(|(d, usage)| price(d, usage, taxes))
        .collect();
    let issue = Issue {
        on: Some(run.as_of),
        terms_days: options.terms_days,
        run: Some(run.id),
    };
    invoices::insert(txn, &prepared, issue).await?;
    let billed: Vec<(Uuid, Uuid)> = charges
        .iter()
        .zip(&prepared)
        .flat_map(|(usage, invoice)| usage.iter().map(|c| (c.id, invoice.id)))
        .collect();
    usage_charges::mark_billed(txn, &billed).await?;
    let mut next: BTreeMap<NaiveDate, Vec<Uuid>> = BTreeMap::new();
    for (d, p) in due.iter().zip(&prepared) {
        if let Some(period) = p.period {
            next.entry(period.end).or_default().push(d.id);
        }
    }
    let now = chrono::Utc::now();
    for (date, ids) in next {
        subscription::Entity::update_many()
            .col_expr(subscription::Column::NextBillingDate, Expr::value(date))
            .col_expr(subscription::Column::UpdatedAt, Expr::value(now))
            .filter(subscription::Column::Id.is_in(ids))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Counts `count` invoices on the run, renews its lease and records the batch in the audit log.
async fn record_progress(
    txn: &impl ConnectionTrait,
    run: &run::Model,
    options: Options,
    count: u64,
) -> Result<()> {
    let count_i64 = i64::try_from(count).unwrap_or(i64::MAX);
    let lease_until = chrono::Utc::now() + chrono::Duration::seconds(options.lease_seconds);
    run::Entity::update_many()
        .col_expr(
            run::Column::Processed,
            Expr::col(run::Column::Processed).add(count_i64),
        )
        .col_expr(
            run::Column::Created,
            Expr::col(run::Column::Created).add(count_i64),
        )
        .col_expr(run::Column::LeaseUntil, Expr::value(lease_until))
        .filter(run::Column::Id.eq(run.id))
        .exec(txn)
        .await?;
    let detail = serde_json::json!({"invoices": count});
    audit::record(
        txn,
        "billing-run",
        "billing_run.batch",
        "run",
        run.id,
        detail,
    )
    .await?;
    Ok(())
}

/// Tables a run pages through, which the planner must know the size of.
const PAGED: &str = "subscriptions, customers";

/// Gathers planner statistics for [`PAGED`] when they have none yet, as after a bulk import
/// moments ago (`reltuples` is -1 until a table is first analysed or vacuumed). Without them the
/// planner takes the tables for tiny and scans every subscription in every batch, which makes
/// a run quadratic in the number of subscriptions until autovacuum catches up.
async fn gather_statistics(db: &DatabaseConnection) -> Result<()> {
    let never = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT COUNT(*) FROM pg_class WHERE oid IN ('subscriptions'::regclass, 'customers'::regclass) AND reltuples < 0",
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    if never > 0 {
        tracing::info!("billing run: analysing {PAGED} first, they have no planner statistics");
        db.execute_unprepared(&format!("ANALYZE {PAGED}")).await?;
    }
    Ok(())
}

fn price(due: &Due, usage: &[usage_charge::Model], taxes: &TaxTable) -> Prepared {
    let cycle = due.billing_cycle;
    let period = Period::containing(cycle, due.next_billing_date);
    let line = period_line(
        &due.plan_name,
        due.price_override.unwrap_or(due.plan_price),
        due.discount_ppm,
        period,
        due.next_billing_date,
    );
    let rules = taxes.rules(&due.country, due.region.as_deref());
    invoices::prepare(
        due.customer_id,
        &due.currency,
        Some(due.id),
        Kind::Recurring,
        Some(Period {
            start: due.next_billing_date,
            end: period.end,
        }),
        std::iter::once(line)
            .chain(usage.iter().map(usage_charges::line))
            .collect(),
        &rules,
    )
}
