//! The dunning run for one day, following the policy. Past its due date an invoice is overdue;
//! past the grace period it gets a late fee (an invoice of its own, once); past the further
//! suspension period the customer's internet subscriptions are suspended for non-payment; and
//! when the overdue balance is paid they are resumed. Every action is recorded once in
//! `dunning_actions`, so a run repeated on the same day does nothing more.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, Statement, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{dunning_action, late_fee},
    service::{NON_PAYMENT, policy, reactivate_if_settled},
};
use crate::{
    audit,
    billing::{
        invoices::{self, Issue, Kind, entity::invoice},
        runs::entity::run,
        subscriptions::entity::subscription,
    },
    db::new_id,
    domain::{
        dunning::DunningPolicy,
        lifecycle::{InvoiceStatus, ServiceStatus},
        money,
        pricing::LineInput,
    },
    error::Result,
};

/// Who the audit log names for what a run does.
const ACTOR: &str = "dunning-run";

/// Records an action once; `false` when it was already recorded.
async fn once(
    txn: &impl ConnectionTrait,
    key: String,
    run: Option<Uuid>,
    action: &str,
    customer: Uuid,
    invoice: Option<Uuid>,
    subscription: Option<Uuid>,
) -> Result<bool> {
    if dunning_action::Entity::find()
        .filter(dunning_action::Column::DedupeKey.eq(key.as_str()))
        .count(txn)
        .await?
        > 0
    {
        return Ok(false);
    }
    dunning_action::ActiveModel {
        id: Set(new_id()),
        dedupe_key: Set(key),
        run_id: Set(run),
        action: Set(action.to_owned()),
        customer_id: Set(customer),
        invoice_id: Set(invoice),
        subscription_id: Set(subscription),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(true)
}

#[derive(Debug, FromQueryResult)]
struct Overdue {
    id: Uuid,
    customer_id: Uuid,
    number: Option<String>,
    currency: String,
    amount_due: i64,
    due_date: NaiveDate,
}

/// Runs dunning for `run.as_of`; returns how many actions it took. Service resumed by it bills
/// the rest of its period with `terms_days` to pay.
pub async fn execute(db: &DatabaseConnection, run: &run::Model, terms_days: i64) -> Result<u64> {
    let policy = policy(db).await?;
    if !policy.enabled {
        tracing::info!(run = %run.id, "dunning is disabled by policy");
        return Ok(0);
    }
    let today = run.as_of;
    let overdue = mark_overdue(db, today).await?;
    let mut actions = overdue;
    let open = Overdue::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT id, customer_id, number, currency, amount_due, due_date FROM invoices \
         WHERE status = 'overdue' AND amount_due > 0 AND kind <> 'late_fee' ORDER BY id",
        [],
    ))
    .all(db)
    .await?;
    for invoice in &open {
        let days = (today - invoice.due_date).num_days();
        if policy.late_fee_due(days) {
            let txn = dotmac_sql::begin_write(db).await?;
            actions += charge_late_fee(&txn, &policy, run, invoice, days).await?;
            txn.commit().await?;
        }
        if policy.suspension_due(days) {
            let txn = dotmac_sql::begin_write(db).await?;
            actions += suspend_internet(&txn, run, invoice, days).await?;
            txn.commit().await?;
        }
    }
    actions += reactivate_settled(db, today, terms_days).await?;
    tracing::info!(run = %run.id, as_of = %today, overdue, actions, "dunning run finished");
    Ok(actions)
}

/// Marks every issued invoice past its due date with money owed overdue; returns how many.
async fn mark_overdue(db: &DatabaseConnection, today: NaiveDate) -> Result<u64> {
    Ok(invoice::Entity::update_many()
        .col_expr(invoice::Column::Status, Expr::value(InvoiceStatus::Overdue))
        .col_expr(invoice::Column::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .filter(invoice::Column::DueDate.lt(today))
        .filter(invoice::Column::AmountDue.gt(0))
        .exec(db)
        .await?
        .rows_affected)
}

/// Charges the late fee of an invoice `days` overdue, once: 1 when charged now.
async fn charge_late_fee(
    txn: &impl ConnectionTrait,
    policy: &DunningPolicy,
    run: &run::Model,
    invoice: &Overdue,
    days: i64,
) -> Result<u64> {
    let key = format!("late_fee:{}", invoice.id);
    let customer = invoice.customer_id;
    if !once(
        txn,
        key,
        Some(run.id),
        "late_fee",
        customer,
        Some(invoice.id),
        None,
    )
    .await?
    {
        return Ok(0);
    }
    let exponent = money::exponent(&invoice.currency).unwrap_or(2);
    let fee = policy.late_fee(invoice.amount_due, exponent);
    let line = LineInput {
        description: format!(
            "Late fee on {} ({days} days overdue)",
            invoice.number.as_deref().unwrap_or("invoice")
        ),
        quantity: 1,
        unit_price: fee,
        discount_ppm: 0,
    };
    let prepared = invoices::prepare(
        customer,
        &invoice.currency,
        None,
        Kind::LateFee,
        None,
        vec![line],
        &[],
    );
    let issue = Issue {
        on: Some(run.as_of),
        terms_days: 0,
        run: Some(run.id),
    };
    let rows = invoices::insert(txn, std::slice::from_ref(&prepared), issue).await?;
    late_fee::ActiveModel {
        id: Set(new_id()),
        invoice_id: Set(invoice.id),
        fee_invoice_id: Set(prepared.id),
        amount: Set(fee),
        days_overdue: Set(i32::try_from(days).unwrap_or(i32::MAX)),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await?;
    let detail = json!({"fee": fee, "fee_invoice": rows.first().and_then(|r| r.number.clone())});
    audit::record(
        txn,
        ACTOR,
        "invoice.late_fee",
        "invoice",
        invoice.id,
        detail,
    )
    .await?;
    tracing::info!(invoice = %invoice.id, fee, days, "late fee charged");
    Ok(1)
}

/// Suspends the customer's active internet subscriptions for an invoice `days` overdue, each
/// once; returns how many it suspended now.
async fn suspend_internet(
    txn: &impl ConnectionTrait,
    run: &run::Model,
    invoice: &Overdue,
    days: i64,
) -> Result<u64> {
    let internet = Statement::from_sql_and_values(
        txn.get_database_backend(),
        "SELECT s.id FROM subscriptions s JOIN plans p ON p.id = s.plan_id \
         WHERE s.customer_id = $1 AND s.status = 'active' AND p.service_type = 'internet'",
        [invoice.customer_id.into()],
    );
    let mut suspended = 0;
    for row in txn.query_all_raw(internet).await? {
        let sub: Uuid = row.try_get_by_index(0)?;
        let key = format!("suspend:{sub}:{}", invoice.id);
        let customer = invoice.customer_id;
        if !once(
            txn,
            key,
            Some(run.id),
            "suspend",
            customer,
            Some(invoice.id),
            Some(sub),
        )
        .await?
        {
            continue;
        }
        subscription::Entity::update_many()
            .col_expr(
                subscription::Column::Status,
                Expr::value(ServiceStatus::Suspended),
            )
            .col_expr(
                subscription::Column::SuspendedReason,
                Expr::value(NON_PAYMENT),
            )
            .col_expr(
                subscription::Column::UpdatedAt,
                Expr::value(chrono::Utc::now()),
            )
            .filter(subscription::Column::Id.eq(sub))
            .exec(txn)
            .await?;
        let detail = json!({"reason": NON_PAYMENT, "invoice": invoice.id, "days_overdue": days});
        audit::record(
            txn,
            ACTOR,
            "subscription.suspended",
            "subscription",
            sub,
            detail,
        )
        .await?;
        suspended += 1;
        tracing::info!(subscription = %sub, invoice = %invoice.id, days, "internet service suspended for non-payment");
    }
    Ok(suspended)
}

/// Resumes the service of every customer suspended for non-payment whose overdue balance is
/// paid, one transaction per customer; returns how many subscriptions it resumed.
async fn reactivate_settled(
    db: &DatabaseConnection,
    today: NaiveDate,
    terms_days: i64,
) -> Result<u64> {
    let suspended = Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT DISTINCT customer_id FROM subscriptions WHERE status = 'suspended' AND suspended_reason = $1",
        [NON_PAYMENT.into()],
    );
    let mut resumed = 0;
    for row in db.query_all_raw(suspended).await? {
        let customer: Uuid = row.try_get_by_index(0)?;
        let txn = dotmac_sql::begin_write(db).await?;
        resumed += reactivate_if_settled(&txn, customer, today, terms_days, ACTOR).await?;
        txn.commit().await?;
    }
    Ok(resumed)
}
