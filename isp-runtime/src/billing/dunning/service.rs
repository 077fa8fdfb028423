//! The dunning rules outside a run: the policy (stored, or the defaults) and bringing service
//! back once a customer's overdue balance is paid. Each function takes the caller's
//! transaction and commits nothing.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, sea_query::ExprTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::entity::dunning_policy;
use crate::{
    api::Actor,
    audit,
    billing::{
        invoices::{Kind, entity::invoice},
        subscriptions::{self, entity::subscription},
    },
    domain::{
        dunning::DunningPolicy,
        lifecycle::{InvoiceStatus, ServiceStatus},
    },
    error::{Error, Result},
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

fn check(policy: &DunningPolicy) -> Result<()> {
    if !(0..=10_000).contains(&policy.late_fee_bps) {
        return Err(Error::invalid(
            "late_fee_bps",
            "must be 0 to 10,000 (100 %)",
        ));
    }
    if !(0..=1_000_000).contains(&policy.late_fee_min) {
        return Err(Error::invalid("late_fee_min", "must be 0 to 1,000,000"));
    }
    if policy.late_fee_max < policy.late_fee_min || policy.late_fee_max > 1_000_000 {
        return Err(Error::invalid(
            "late_fee_max",
            "must be at least late_fee_min and at most 1,000,000",
        ));
    }
    if !(0..=365).contains(&policy.grace_days) {
        return Err(Error::invalid("grace_days", "must be 0 to 365"));
    }
    if !(0..=365).contains(&policy.suspend_after_days) {
        return Err(Error::invalid("suspend_after_days", "must be 0 to 365"));
    }
    Ok(())
}

/// Replaces the policy.
pub async fn set_policy(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    policy: DunningPolicy,
) -> Result<DunningPolicy> {
    check(&policy)?;
    let row = dunning_policy::ActiveModel {
        id: Set(1),
        enabled: Set(policy.enabled),
        late_fee_bps: Set(policy.late_fee_bps),
        late_fee_min: Set(policy.late_fee_min),
        late_fee_max: Set(policy.late_fee_max),
        grace_days: Set(policy.grace_days),
        suspend_after_days: Set(policy.suspend_after_days),
        updated_at: Set(chrono::Utc::now()),
    };
    if dunning_policy::Entity::find_by_id(1)
        .one(txn)
        .await?
        .is_some()
    {
        row.update(txn).await?;
    } else {
        row.insert(txn).await?;
    }
    let detail = json!(policy);
    let entity = "dunning_policy";
    audit::by(
        txn,
        actor,
        "dunning_policy.updated",
        entity,
        Uuid::nil(),
        detail,
    )
    .await?;
    Ok(policy)
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
                    .eq(Kind::LateFee)
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
