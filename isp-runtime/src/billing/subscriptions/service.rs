//! The subscription rules: creation checks (customer not cancelled, plan open and in the
//! customer's currency), the lifecycle, and the money of each change. Activating mid-period
//! bills the days left; an upgrade bills the difference for the days left on a proration
//! invoice; a downgrade or cancellation credits it on the period's invoice. Each function takes
//! the caller's transaction and commits nothing.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::subscription,
    wire::{ChangeOutcome, NewSubscription, SubscriptionQuery},
};
use crate::{
    api::Actor,
    audit,
    billing::{
        invoices::{
            self, InvoiceView, Issue, Kind,
            entity::{invoice, invoice_line},
        },
        payments::{self, CreditNoteView},
        usage_charges,
    },
    catalog::{entity::plan, taxes::TaxTable},
    customers::{self, entity::customer},
    db::new_id,
    domain::{
        lifecycle::{InvoiceStatus, ServiceStatus},
        money,
        period::{BillingCycle, Period},
        pricing::{LineInput, price_line},
    },
    error::{Error, Result},
    validate,
};

/// The price of one period of a subscription on `plan`.
pub fn period_price(sub: &subscription::Model, plan: &plan::Model) -> i64 {
    sub.price_override.unwrap_or(plan.price)
}

/// The line billing `days_billed` days of a `period` at `price`.
pub fn period_line(
    plan_name: &str,
    price: i64,
    discount_ppm: i64,
    period: Period,
    from: NaiveDate,
) -> LineInput {
    let days = period.days_from(from);
    let full = days == period.days();
    let amount = if full {
        price
    } else {
        money::scale(price, days, period.days())
    };
    let last = period.end.pred_opt().unwrap_or(period.end);
    let description = if full {
        format!("{plan_name} {} to {}", period.start, last)
    } else {
        format!(
            "{plan_name} {from} to {last} ({days} of {} days)",
            period.days()
        )
    };
    LineInput {
        description,
        quantity: 1,
        unit_price: amount,
        discount_ppm,
    }
}

/// A subscription, locked for update inside a transaction.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<subscription::Model> {
    subscription::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })
}

/// Creates a pending subscription of `input.customer_id` on `input.plan_id`.
pub async fn create(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewSubscription,
) -> Result<subscription::Model> {
    let price_override = input
        .price_override
        .map(|p| validate::amount("price_override", p, 0, validate::MAX_AMOUNT))
        .transpose()?;
    let discount_ppm = match input.discount_percent {
        Some(p) => money::percent_to_ppm(p).ok_or_else(|| {
            Error::invalid(
                "discount_percent",
                "must be 0 to 100 with at most 4 decimals",
            )
        })?,
        None => 0,
    };
    let customer = customers::find(txn, input.customer_id)
        .await
        .map_err(|e| e.in_field("customer_id"))?;
    let plan = crate::catalog::plans::find(txn, input.plan_id)
        .await
        .map_err(|e| e.in_field("plan_id"))?;
    if customer.status == ServiceStatus::Cancelled {
        return Err(Error::conflict(
            Some("customer_id"),
            "the customer is cancelled",
        ));
    }
    open_to_new(&plan)?;
    if plan.currency != customer.currency {
        return Err(Error::invalid(
            "plan_id",
            format!(
                "the plan bills in {}, the customer in {}",
                plan.currency, customer.currency
            ),
        ));
    }
    let now = chrono::Utc::now();
    let row = subscription::ActiveModel {
        id: Set(new_id()),
        customer_id: Set(customer.id),
        plan_id: Set(plan.id),
        status: Set(ServiceStatus::Pending),
        price_override: Set(price_override),
        discount_ppm: Set(discount_ppm),
        suspended_reason: Set(None),
        activated_on: Set(None),
        cancelled_on: Set(None),
        next_billing_date: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let detail = json!({"plan_id": plan.id});
    log(txn, actor, "created", row.id, detail).await?;
    Ok(row)
}

/// Records `subscription.{what}` on subscription `id` in the audit log.
async fn log(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    what: &str,
    id: Uuid,
    detail: serde_json::Value,
) -> Result<()> {
    let action = format!("subscription.{what}");
    Ok(audit::by(txn, actor, &action, "subscription", id, detail).await?)
}

fn open_to_new(plan: &plan::Model) -> Result<()> {
    if plan.active {
        Ok(())
    } else {
        Err(Error::invalid(
            "plan_id",
            "the plan is not open to new subscriptions",
        ))
    }
}

/// The subscriptions `query` selects (before paging).
pub fn select(query: &SubscriptionQuery) -> Result<Select<subscription::Entity>> {
    let mut select = subscription::Entity::find();
    if let Some(id) = query.customer_id {
        select = select.filter(subscription::Column::CustomerId.eq(id));
    }
    if let Some(status) = &query.status {
        let Some(status) = ServiceStatus::parse(status) else {
            return Err(Error::invalid(
                "status",
                "must be pending, active, suspended or cancelled",
            ));
        };
        select = select.filter(subscription::Column::Status.eq(status));
    }
    Ok(select)
}

/// Context of one change: the subscription, its plan and customer, locked in a transaction.
struct Loaded {
    sub: subscription::Model,
    plan: plan::Model,
    customer: customer::Model,
}

async fn load(txn: &impl ConnectionTrait, id: Uuid) -> Result<Loaded> {
    let sub = find(txn, id).await?;
    let plan = crate::catalog::plans::find(txn, sub.plan_id).await?;
    let customer = customers::find(txn, sub.customer_id).await?;
    Ok(Loaded {
        sub,
        plan,
        customer,
    })
}

fn cycle(plan: &plan::Model) -> BillingCycle {
    plan.billing_cycle
}

/// Bills `[from, end of its period)` on the subscription's plan and returns the invoice and
/// the next billing date. Used by activation and by resumption (staff or automatic).
async fn bill_rest_of_period(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    loaded: &Loaded,
    from: NaiveDate,
) -> Result<(Option<invoice::Model>, NaiveDate)> {
    let plan = &loaded.plan;
    let period = Period::containing(cycle(plan), from);
    let line = period_line(
        &plan.name,
        period_price(&loaded.sub, plan),
        loaded.sub.discount_ppm,
        period,
        from,
    );
    let taxes = TaxTable::load(txn).await?;
    let rules = taxes.rules(&loaded.customer.country, loaded.customer.region.as_deref());
    let billed = Period {
        start: from,
        end: period.end,
    };
    let prepared = invoices::prepare(
        loaded.customer.id,
        &loaded.customer.currency,
        Some(loaded.sub.id),
        Kind::Recurring,
        Some(billed),
        vec![line],
        &rules,
    );
    let issue = Issue {
        on: Some(from),
        terms_days,
        run: None,
    };
    let mut rows = invoices::insert(txn, std::slice::from_ref(&prepared), issue)
        .await
        .map_err(|e| Error::unique_as_conflict(e, "date", "this period is already billed"))?;
    Ok((rows.pop(), period.end))
}

/// The recurring invoice that billed `day` for a subscription, if one did and is not void.
async fn invoice_covering(
    txn: &impl ConnectionTrait,
    sub: Uuid,
    day: NaiveDate,
) -> Result<Option<invoice::Model>> {
    Ok(invoice::Entity::find()
        .filter(invoice::Column::SubscriptionId.eq(sub))
        .filter(invoice::Column::Kind.eq(Kind::Recurring))
        .filter(invoice::Column::PeriodStart.lte(day))
        .filter(invoice::Column::PeriodEnd.gt(day))
        .filter(invoice::Column::Status.ne(InvoiceStatus::Void))
        .one(txn)
        .await?)
}

async fn save(txn: &impl ConnectionTrait, sub: subscription::Model) -> Result<subscription::Model> {
    let mut model = sub.into_active_model();
    for column in [
        subscription::Column::PlanId,
        subscription::Column::PriceOverride,
        subscription::Column::Status,
        subscription::Column::SuspendedReason,
        subscription::Column::ActivatedOn,
        subscription::Column::CancelledOn,
        subscription::Column::NextBillingDate,
    ] {
        model.reset(column);
    }
    model.updated_at = Set(chrono::Utc::now());
    Ok(model.update(txn).await?)
}

fn step(from: ServiceStatus, to: ServiceStatus) -> Result<()> {
    from.check(to)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))
}

/// Activates a pending subscription on `date` (and its customer, if pending) and bills the
/// rest of that period.
pub async fn activate(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    id: Uuid,
    date: NaiveDate,
) -> Result<ChangeOutcome> {
    let mut loaded = load(txn, id).await?;
    if loaded.sub.status != ServiceStatus::Pending {
        step(loaded.sub.status, ServiceStatus::Active)?;
        return Err(Error::conflict(
            Some("status"),
            "only a pending subscription is activated; use resume",
        ));
    }
    match loaded.customer.status {
        ServiceStatus::Pending => {
            let mut customer = loaded.customer.clone().into_active_model();
            customer.status = Set(ServiceStatus::Active);
            customer.updated_at = Set(chrono::Utc::now());
            loaded.customer = customer.update(txn).await?;
        }
        ServiceStatus::Active => {}
        ServiceStatus::Suspended | ServiceStatus::Cancelled => {
            return Err(Error::conflict(
                Some("customer_id"),
                format!("the customer is {}", loaded.customer.status),
            ));
        }
    }
    let (invoice, next) = bill_rest_of_period(txn, terms_days, &loaded, date).await?;
    let mut sub = loaded.sub.clone();
    sub.status = ServiceStatus::Active;
    sub.activated_on = Some(date);
    sub.next_billing_date = Some(next);
    let sub = save(txn, sub).await?;
    let detail = json!({"date": date});
    log(txn, actor, "activated", id, detail).await?;
    Ok(ChangeOutcome {
        subscription: sub.into(),
        invoice: invoices::view_of(txn, invoice).await?,
        credit_note: None,
    })
}

/// Why a subscription was suspended by its customer's suspension: resuming the customer resumes
/// these, and only these.
pub const CUSTOMER_SUSPENDED: &str = "customer_suspended";

/// Suspends a subscription by staff.
pub async fn suspend(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> Result<subscription::Model> {
    suspend_for(txn, actor, id, "staff").await
}

/// Suspends a subscription for `reason` (`staff`, [`CUSTOMER_SUSPENDED`]); billing skips it
/// until it is resumed.
pub async fn suspend_for(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> Result<subscription::Model> {
    let mut sub = find(txn, id).await?;
    step(sub.status, ServiceStatus::Suspended)?;
    sub.status = ServiceStatus::Suspended;
    sub.suspended_reason = Some(reason.to_owned());
    let sub = save(txn, sub).await?;
    let detail = json!({"reason": reason});
    log(txn, actor, "suspended", id, detail).await?;
    Ok(sub)
}

/// Resumes a suspended subscription inside `txn`, billing the rest of the current period when it
/// was not billed while suspended. Used by staff and by automatic reactivation.
pub async fn resume_in(
    txn: &impl ConnectionTrait,
    state_terms_days: i64,
    id: Uuid,
    date: NaiveDate,
    actor: &str,
) -> Result<(subscription::Model, Option<invoice::Model>)> {
    let loaded = load(txn, id).await?;
    if loaded.sub.status != ServiceStatus::Suspended {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "only a suspended subscription is resumed; this one is {}",
                loaded.sub.status
            ),
        ));
    }
    let mut invoice = None;
    let mut sub = loaded.sub.clone();
    if sub.next_billing_date.is_none_or(|next| next <= date) {
        let (billed, next) = bill_rest_of_period(txn, state_terms_days, &loaded, date).await?;
        invoice = billed;
        sub.next_billing_date = Some(next);
    }
    sub.status = ServiceStatus::Active;
    sub.suspended_reason = None;
    let sub = save(txn, sub).await?;
    audit::record(
        txn,
        actor,
        "subscription.resumed",
        "subscription",
        id,
        json!({"date": date}),
    )
    .await?;
    Ok((sub, invoice))
}

/// Resumes a suspended subscription by staff, as [`resume_in`] does.
pub async fn resume(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    id: Uuid,
    date: NaiveDate,
) -> Result<ChangeOutcome> {
    let (sub, invoice) = resume_in(txn, terms_days, id, date, &actor.name).await?;
    Ok(ChangeOutcome {
        subscription: sub.into(),
        invoice: invoices::view_of(txn, invoice).await?,
        credit_note: None,
    })
}

/// What a recurring invoice charged for the service itself: its first line, without the usage
/// charges billed after it.
async fn service_total(txn: &impl ConnectionTrait, invoice: &invoice::Model) -> Result<i64> {
    Ok(invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice.id))
        .filter(invoice_line::Column::Position.eq(0))
        .one(txn)
        .await?
        .map_or(invoice.total, |line| line.total))
}

/// The credit for `[from, period end)` of the invoice that billed `from`, at what it charged
/// for the service (`service`, usage billed on it aside).
fn unused_credit(invoice: &invoice::Model, service: i64, from: NaiveDate) -> i64 {
    match (invoice.period_start, invoice.period_end) {
        (Some(start), Some(end)) => {
            let billed = Period { start, end };
            money::scale(service, billed.days_from(from), billed.days())
                .min(invoice.total - invoice.amount_credited)
        }
        _ => 0,
    }
}

/// Cancels a subscription on `date`: credits the unused rest of the period's invoice and bills
/// the usage not yet billed on a final invoice.
pub async fn cancel(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    id: Uuid,
    date: NaiveDate,
) -> Result<ChangeOutcome> {
    let mut sub = find(txn, id).await?;
    step(sub.status, ServiceStatus::Cancelled)?;
    let mut note = None;
    if let Some(invoice) = invoice_covering(txn, id, date).await? {
        let service = service_total(txn, &invoice).await?;
        let amount = unused_credit(&invoice, service, date);
        if amount > 0 {
            let reason = format!("Unused service from {date} after cancellation");
            note = Some(payments::credit(txn, invoice.id, amount, &reason, &actor.name).await?);
        }
    }
    // What the subscriber used and was not yet billed for goes on a final usage invoice.
    let usage =
        usage_charges::bill_remaining(txn, sub.id, sub.customer_id, date, terms_days).await?;
    let usage = invoices::view_of(txn, usage).await?;
    sub.status = ServiceStatus::Cancelled;
    sub.cancelled_on = Some(date);
    sub.next_billing_date = None;
    let sub = save(txn, sub).await?;
    let detail = json!({"date": date});
    log(txn, actor, "cancelled", id, detail).await?;
    Ok(ChangeOutcome {
        subscription: sub.into(),
        invoice: usage,
        credit_note: note.map(Into::into),
    })
}

/// Moves an active subscription to `plan_id` on `date`. The days left in the period are priced
/// at both plans: an upgrade is billed on a proration invoice, a downgrade credited on the
/// period's invoice.
pub async fn change_plan(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    id: Uuid,
    plan_id: Uuid,
    date: NaiveDate,
) -> Result<ChangeOutcome> {
    let loaded = load(txn, id).await?;
    if loaded.sub.status != ServiceStatus::Active {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "only an active subscription changes plan; this one is {}",
                loaded.sub.status
            ),
        ));
    }
    let new_plan = crate::catalog::plans::find(txn, plan_id)
        .await
        .map_err(|e| e.in_field("plan_id"))?;
    check_new_plan(&loaded.plan, &new_plan)?;
    let (invoice, credit_note) = match invoice_covering(txn, id, date).await? {
        Some(billed) => prorate(txn, terms_days, actor, &loaded, &new_plan, &billed, date).await?,
        None => (None, None),
    };
    let mut sub = loaded.sub.clone();
    sub.plan_id = new_plan.id;
    sub.price_override = None;
    let sub = save(txn, sub).await?;
    let detail = json!({"from": loaded.plan.id, "to": new_plan.id, "date": date});
    log(txn, actor, "plan_changed", id, detail).await?;
    Ok(ChangeOutcome {
        subscription: sub.into(),
        invoice,
        credit_note,
    })
}

fn check_new_plan(old: &plan::Model, new: &plan::Model) -> Result<()> {
    if new.id == old.id {
        return Err(Error::invalid(
            "plan_id",
            "the subscription is already on this plan",
        ));
    }
    open_to_new(new)?;
    if new.currency != old.currency || new.billing_cycle != old.billing_cycle {
        return Err(Error::invalid(
            "plan_id",
            "the new plan must have the same currency and billing cycle",
        ));
    }
    Ok(())
}

/// The money of a plan change on `date` inside the period `billed` invoiced: a proration
/// invoice for an upgrade, a credit note for a downgrade, nothing when the prices are equal.
async fn prorate(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    loaded: &Loaded,
    new_plan: &plan::Model,
    billed: &invoice::Model,
    date: NaiveDate,
) -> Result<(Option<InvoiceView>, Option<CreditNoteView>)> {
    // Days left in the calendar period, priced at both plans' full-period price; an override
    // price applies to the old plan only.
    let period = Period::containing(cycle(&loaded.plan), date);
    let discount = loaded.sub.discount_ppm;
    let old_price = period_price(&loaded.sub, &loaded.plan);
    let old = period_line(&loaded.plan.name, old_price, discount, period, date);
    let new = period_line(&new_plan.name, new_plan.price, discount, period, date);
    let taxes = TaxTable::load(txn).await?;
    let rules = taxes.rules(&loaded.customer.country, loaded.customer.region.as_deref());
    let unused = LineInput {
        description: format!("Unused time on {}", old.description),
        unit_price: -old.unit_price,
        ..old
    };
    let difference =
        price_line(unused.clone(), &rules).total + price_line(new.clone(), &rules).total;
    if difference > 0 {
        let prepared = invoices::prepare(
            loaded.customer.id,
            &loaded.customer.currency,
            Some(loaded.sub.id),
            Kind::Proration,
            Some(Period {
                start: date,
                end: period.end,
            }),
            vec![unused, new],
            &rules,
        );
        let issue = Issue {
            on: Some(date),
            terms_days,
            run: None,
        };
        let row = invoices::insert(txn, std::slice::from_ref(&prepared), issue)
            .await?
            .pop();
        return Ok((invoices::view_of(txn, row).await?, None));
    }
    let amount = (-difference).min(billed.total - billed.amount_credited);
    if amount <= 0 {
        return Ok((None, None));
    }
    let reason = format!(
        "Downgrade from {} to {} on {date}",
        loaded.plan.name, new_plan.name
    );
    let note = payments::credit(txn, billed.id, amount, &reason, &actor.name).await?;
    Ok((None, Some(note.into())))
}
