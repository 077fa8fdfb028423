//! Dunning: what a run does for unpaid invoices on a given day, following the tenant's policy.
//! Past its due date an invoice is overdue; past the grace period it gets a late fee (an
//! invoice of its own, once); past the further suspension period the customer's internet
//! subscriptions are suspended for non-payment; and when the overdue balance is paid they are
//! resumed. Every action is recorded once in `dunning_actions`, so a run repeated on the same
//! day does nothing more.

use axum::{Extension, Json, Router, extract::State, routing::get};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    api::{Actor, AppState, extract::Body},
    audit,
    db::{
        entity::{dunning_action, dunning_policy, invoice, late_fee, run, subscription},
        new_id,
    },
    domain::{
        dunning::DunningPolicy,
        lifecycle::{InvoiceStatus, ServiceStatus},
        money,
        pricing::LineInput,
    },
    error::{Error, Result},
    invoices::{self, Issue, Kind},
    subscriptions,
};

/// Reason recorded on subscriptions suspended by dunning.
pub const NON_PAYMENT: &str = "non_payment";

/// The policy in force: the stored one, or the defaults.
pub async fn policy(db: &impl ConnectionTrait) -> Result<DunningPolicy> {
    Ok(match dunning_policy::Entity::find_by_id(1).one(db).await? {
        Some(p) => DunningPolicy {
            enabled: p.enabled,
            late_fee_bps: p.late_fee_bps,
            late_fee_min: p.late_fee_min,
            late_fee_max: p.late_fee_max,
            grace_days: p.grace_days,
            suspend_after_days: p.suspend_after_days,
        },
        None => DunningPolicy::default(),
    })
}

async fn get_policy(State(state): State<AppState>) -> Result<Json<DunningPolicy>> {
    Ok(Json(policy(&state.db).await?))
}

async fn put_policy(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<DunningPolicy>,
) -> Result<Json<DunningPolicy>> {
    if !(0..=10_000).contains(&input.late_fee_bps) {
        return Err(Error::invalid(
            "late_fee_bps",
            "must be 0 to 10,000 (100 %)",
        ));
    }
    if !(0..=1_000_000).contains(&input.late_fee_min) {
        return Err(Error::invalid("late_fee_min", "must be 0 to 1,000,000"));
    }
    if input.late_fee_max < input.late_fee_min || input.late_fee_max > 1_000_000 {
        return Err(Error::invalid(
            "late_fee_max",
            "must be at least late_fee_min and at most 1,000,000",
        ));
    }
    if !(0..=365).contains(&input.grace_days) {
        return Err(Error::invalid("grace_days", "must be 0 to 365"));
    }
    if !(0..=365).contains(&input.suspend_after_days) {
        return Err(Error::invalid("suspend_after_days", "must be 0 to 365"));
    }
    let txn = state.db.begin().await?;
    let row = dunning_policy::ActiveModel {
        id: Set(1),
        enabled: Set(input.enabled),
        late_fee_bps: Set(input.late_fee_bps),
        late_fee_min: Set(input.late_fee_min),
        late_fee_max: Set(input.late_fee_max),
        grace_days: Set(input.grace_days),
        suspend_after_days: Set(input.suspend_after_days),
        updated_at: Set(chrono::Utc::now()),
    };
    if dunning_policy::Entity::find_by_id(1)
        .one(&txn)
        .await?
        .is_some()
    {
        row.update(&txn).await?;
    } else {
        row.insert(&txn).await?;
    }
    audit::by(
        &txn,
        &actor,
        "dunning_policy.updated",
        "dunning_policy",
        Uuid::nil(),
        json!(input),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(input))
}

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

/// The customer's unpaid overdue balance: overdue invoices and unpaid late fees.
async fn overdue_balance(txn: &impl ConnectionTrait, customer: Uuid) -> Result<u64> {
    Ok(invoice::Entity::find()
        .filter(invoice::Column::CustomerId.eq(customer))
        .filter(invoice::Column::AmountDue.gt(0))
        .filter(
            invoice::Column::Status
                .eq(InvoiceStatus::Overdue.as_str())
                .or(invoice::Column::Kind
                    .eq(Kind::LateFee.as_str())
                    .and(invoice::Column::Status.eq(InvoiceStatus::Issued))),
        )
        .count(txn)
        .await?)
}

/// Resumes a customer's subscriptions suspended for non-payment once nothing overdue is left
/// unpaid. Runs inside the transaction of the payment or credit that may have settled it.
pub async fn reactivate_if_settled(
    txn: &impl ConnectionTrait,
    customer: Uuid,
    today: NaiveDate,
    terms_days: i64,
    actor: &str,
) -> Result<u64> {
    let suspended = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(customer))
        .filter(subscription::Column::Status.eq(ServiceStatus::Suspended))
        .filter(subscription::Column::SuspendedReason.eq(NON_PAYMENT))
        .all(txn)
        .await?;
    if suspended.is_empty() || overdue_balance(txn, customer).await? > 0 {
        return Ok(0);
    }
    for sub in &suspended {
        subscriptions::resume_in(txn, terms_days, sub.id, today, actor).await?;
        tracing::info!(subscription = %sub.id, customer = %customer, "service reactivated: overdue balance paid");
    }
    Ok(suspended.len() as u64)
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
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let overdue = invoice::Entity::update_many()
        .col_expr(
            invoice::Column::Status,
            Expr::value(InvoiceStatus::Overdue.as_str()),
        )
        .col_expr(invoice::Column::UpdatedAt, Expr::value(now))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .filter(invoice::Column::DueDate.lt(today))
        .filter(invoice::Column::AmountDue.gt(0))
        .exec(db)
        .await?
        .rows_affected;
    let mut actions = overdue;
    let open = Overdue::find_by_statement(Statement::from_sql_and_values(
        backend,
        "SELECT id, customer_id, number, currency, amount_due, due_date FROM invoices \
         WHERE status = 'overdue' AND amount_due > 0 AND kind <> 'late_fee' ORDER BY id",
        [],
    ))
    .all(db)
    .await?;
    for invoice in &open {
        let days = (today - invoice.due_date).num_days();
        if policy.late_fee_due(days) {
            let txn = db.begin().await?;
            if once(
                &txn,
                format!("late_fee:{}", invoice.id),
                Some(run.id),
                "late_fee",
                invoice.customer_id,
                Some(invoice.id),
                None,
            )
            .await?
            {
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
                    invoice.customer_id,
                    &invoice.currency,
                    None,
                    Kind::LateFee,
                    None,
                    vec![line],
                    &[],
                );
                let issue = Issue {
                    on: Some(today),
                    terms_days: 0,
                    run: Some(run.id),
                };
                let rows = invoices::insert(&txn, std::slice::from_ref(&prepared), issue).await?;
                late_fee::ActiveModel {
                    id: Set(new_id()),
                    invoice_id: Set(invoice.id),
                    fee_invoice_id: Set(prepared.id),
                    amount: Set(fee),
                    days_overdue: Set(i32::try_from(days).unwrap_or(i32::MAX)),
                    created_at: Set(now),
                }
                .insert(&txn)
                .await?;
                audit::record(
                    &txn,
                    "dunning-run",
                    "invoice.late_fee",
                    "invoice",
                    invoice.id,
                    json!({"fee": fee, "fee_invoice": rows.first().and_then(|r| r.number.clone())}),
                )
                .await?;
                actions += 1;
                tracing::info!(invoice = %invoice.id, fee, days, "late fee charged");
            }
            txn.commit().await?;
        }
        if policy.suspension_due(days) {
            let txn = db.begin().await?;
            let internet = Statement::from_sql_and_values(
                backend,
                "SELECT s.id FROM subscriptions s JOIN plans p ON p.id = s.plan_id \
                 WHERE s.customer_id = $1 AND s.status = 'active' AND p.service_type = 'internet'",
                [invoice.customer_id.into()],
            );
            let subs = txn.query_all_raw(internet).await?;
            for row in subs {
                let sub: Uuid = row.try_get_by_index(0)?;
                if !once(
                    &txn,
                    format!("suspend:{sub}:{}", invoice.id),
                    Some(run.id),
                    "suspend",
                    invoice.customer_id,
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
                        Expr::value(ServiceStatus::Suspended.as_str()),
                    )
                    .col_expr(
                        subscription::Column::SuspendedReason,
                        Expr::value(NON_PAYMENT),
                    )
                    .col_expr(subscription::Column::UpdatedAt, Expr::value(now))
                    .filter(subscription::Column::Id.eq(sub))
                    .exec(&txn)
                    .await?;
                audit::record(
                    &txn,
                    "dunning-run",
                    "subscription.suspended",
                    "subscription",
                    sub,
                    json!({"reason": NON_PAYMENT, "invoice": invoice.id, "days_overdue": days}),
                )
                .await?;
                actions += 1;
                tracing::info!(subscription = %sub, invoice = %invoice.id, days, "internet service suspended for non-payment");
            }
            txn.commit().await?;
        }
    }
    let suspended = Statement::from_sql_and_values(
        backend,
        "SELECT DISTINCT customer_id FROM subscriptions WHERE status = 'suspended' AND suspended_reason = $1",
        [NON_PAYMENT.into()],
    );
    for row in db.query_all_raw(suspended).await? {
        let customer: Uuid = row.try_get_by_index(0)?;
        let txn = db.begin().await?;
        actions += reactivate_if_settled(&txn, customer, today, terms_days, "dunning-run").await?;
        txn.commit().await?;
    }
    tracing::info!(run = %run.id, as_of = %today, overdue, actions, "dunning run finished");
    Ok(actions)
}

/// Dunning policy routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/dunning/policy", get(get_policy).put(put_policy))
}
