//! Subscriptions: a customer's service on a plan, billed in advance per calendar period.
//! Activating mid-period bills the days left; an upgrade bills the difference for the days
//! left on a proration invoice; a downgrade or cancellation credits it on the period's invoice.

use axum::{
    Extension, Json, Router,
    extract::OriginalUri,
    extract::State,
    response::Response,
    routing::{get, post},
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, OptionalBody, Params},
    },
    audit,
    catalog::taxes::TaxTable,
    customers,
    db::{
        entity::{customer, invoice, invoice_line, plan, subscription},
        new_id,
    },
    domain::{
        lifecycle::{InvoiceStatus, ServiceStatus},
        money,
        period::{BillingCycle, Period},
        pricing::{LineInput, price_line},
    },
    error::{Error, Result},
    invoices::{self, Issue, Kind},
    payments, usage_charges, validate,
};
use dotmac_web::created;

/// `POST /subscriptions`: a pending subscription.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Customer.
    pub customer_id: Uuid,
    /// Plan (active, in the customer's currency).
    pub plan_id: Uuid,
    /// Price per period instead of the plan's, minor units.
    pub price_override: Option<i64>,
    /// Discount in percent on every period.
    #[schemars(with = "Option<String>")]
    pub discount_percent: Option<Decimal>,
}

/// Body of activate, resume and cancel: the day it takes effect, today by default.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Effective {
    /// Day it takes effect.
    pub date: Option<NaiveDate>,
}

/// `POST /subscriptions/{id}/change-plan`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    /// The new plan (same currency and billing cycle).
    pub plan_id: Uuid,
    /// Day it takes effect; today by default.
    pub date: Option<NaiveDate>,
}

/// A subscription as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SubscriptionView {
    /// Id.
    pub id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Plan.
    pub plan_id: Uuid,
    /// pending, active, suspended or cancelled.
    pub status: String,
    /// Price instead of the plan's.
    pub price_override: Option<i64>,
    /// Discount in percent.
    #[schemars(with = "String")]
    pub discount_percent: Decimal,
    /// Why it is suspended: `staff` or `non_payment`.
    pub suspended_reason: Option<String>,
    /// Activated on.
    pub activated_on: Option<NaiveDate>,
    /// Cancelled on.
    pub cancelled_on: Option<NaiveDate>,
    /// First day not yet billed.
    pub next_billing_date: Option<NaiveDate>,
}

impl From<subscription::Model> for SubscriptionView {
    fn from(s: subscription::Model) -> Self {
        Self {
            id: s.id,
            customer_id: s.customer_id,
            plan_id: s.plan_id,
            status: s.status.to_string(),
            price_override: s.price_override,
            discount_percent: money::ppm_to_percent(s.discount_ppm),
            suspended_reason: s.suspended_reason,
            activated_on: s.activated_on,
            cancelled_on: s.cancelled_on,
            next_billing_date: s.next_billing_date,
        }
    }
}

/// What happened to the money on a subscription change.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ChangeOutcome {
    /// The subscription after the change.
    pub subscription: SubscriptionView,
    /// An invoice issued for it, if any.
    pub invoice: Option<invoices::InvoiceView>,
    /// A credit note issued for it, if any.
    pub credit_note: Option<payments::CreditNoteView>,
}

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
pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<subscription::Model> {
    subscription::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewSubscription>,
) -> Result<Response> {
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
    let txn = state.db.begin().await?;
    let customer = customers::find(&txn, input.customer_id)
        .await
        .map_err(|e| e.in_field("customer_id"))?;
    let plan = crate::catalog::plans::find(&txn, input.plan_id)
        .await
        .map_err(|e| e.in_field("plan_id"))?;
    if customer.status == ServiceStatus::Cancelled {
        return Err(Error::conflict(
            Some("customer_id"),
            "the customer is cancelled",
        ));
    }
    if !plan.active {
        return Err(Error::invalid(
            "plan_id",
            "the plan is not open to new subscriptions",
        ));
    }
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
    .insert(&txn)
    .await?;
    audit::by(
        &txn,
        &actor,
        "subscription.created",
        "subscription",
        row.id,
        json!({"plan_id": plan.id}),
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/subscriptions/{}", row.id),
        SubscriptionView::from(row),
    ))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<SubscriptionView>> {
    Ok(Json(find(&state.db, id).await?.into()))
}

/// Filters of `GET /subscriptions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<SubscriptionQuery>,
) -> Result<Response> {
    let mut select = subscription::Entity::find();
    if let Some(id) = query.customer_id {
        select = select.filter(subscription::Column::CustomerId.eq(id));
    }
    if let Some(status) = query.status {
        if ServiceStatus::parse(&status).is_none() {
            return Err(Error::invalid(
                "status",
                "must be pending, active, suspended or cancelled",
            ));
        }
        select = select.filter(subscription::Column::Status.eq(status));
    }
    page(
        &state.db,
        select,
        subscription::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &SubscriptionView| v.id,
    )
    .await
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
    BillingCycle::parse(&plan.billing_cycle).unwrap_or(BillingCycle::Monthly)
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
        .filter(invoice::Column::Kind.eq(Kind::Recurring.as_str()))
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

async fn activate(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    OptionalBody(body): OptionalBody<Effective>,
) -> Result<Json<ChangeOutcome>> {
    let date = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let mut loaded = load(&txn, id).await?;
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
            loaded.customer = customer.update(&txn).await?;
        }
        ServiceStatus::Active => {}
        ServiceStatus::Suspended | ServiceStatus::Cancelled => {
            return Err(Error::conflict(
                Some("customer_id"),
                format!("the customer is {}", loaded.customer.status),
            ));
        }
    }
    let (invoice, next) =
        bill_rest_of_period(&txn, state.settings.payment_terms_days, &loaded, date).await?;
    let mut sub = loaded.sub.clone();
    sub.status = ServiceStatus::Active;
    sub.activated_on = Some(date);
    sub.next_billing_date = Some(next);
    let sub = save(&txn, sub).await?;
    audit::by(
        &txn,
        &actor,
        "subscription.activated",
        "subscription",
        id,
        json!({"date": date}),
    )
    .await?;
    let invoice = invoices::view_of(&txn, invoice).await?;
    txn.commit().await?;
    Ok(Json(ChangeOutcome {
        subscription: sub.into(),
        invoice,
        credit_note: None,
    }))
}

async fn suspend(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<SubscriptionView>> {
    let txn = state.db.begin().await?;
    let mut sub = find(&txn, id).await?;
    step(sub.status, ServiceStatus::Suspended)?;
    sub.status = ServiceStatus::Suspended;
    sub.suspended_reason = Some("staff".to_owned());
    let sub = save(&txn, sub).await?;
    audit::by(
        &txn,
        &actor,
        "subscription.suspended",
        "subscription",
        id,
        json!({"reason": "staff"}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(sub.into()))
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

async fn resume(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    OptionalBody(body): OptionalBody<Effective>,
) -> Result<Json<ChangeOutcome>> {
    let date = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let (sub, invoice) = resume_in(
        &txn,
        state.settings.payment_terms_days,
        id,
        date,
        &actor.name,
    )
    .await?;
    let invoice = invoices::view_of(&txn, invoice).await?;
    txn.commit().await?;
    Ok(Json(ChangeOutcome {
        subscription: sub.into(),
        invoice,
        credit_note: None,
    }))
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

async fn cancel(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    OptionalBody(body): OptionalBody<Effective>,
) -> Result<Json<ChangeOutcome>> {
    let date = body.date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let mut sub = find(&txn, id).await?;
    step(sub.status, ServiceStatus::Cancelled)?;
    let mut note = None;
    if let Some(invoice) = invoice_covering(&txn, id, date).await? {
        let service = service_total(&txn, &invoice).await?;
        let amount = unused_credit(&invoice, service, date);
        if amount > 0 {
            note = Some(
                payments::credit(
                    &txn,
                    invoice.id,
                    amount,
                    &format!("Unused service from {date} after cancellation"),
                    &actor.name,
                )
                .await?,
            );
        }
    }
    // What the subscriber used and was not yet billed for goes on a final usage invoice.
    let usage = usage_charges::bill_remaining(
        &txn,
        sub.id,
        sub.customer_id,
        date,
        state.settings.payment_terms_days,
    )
    .await?;
    let usage = invoices::view_of(&txn, usage).await?;
    sub.status = ServiceStatus::Cancelled;
    sub.cancelled_on = Some(date);
    sub.next_billing_date = None;
    let sub = save(&txn, sub).await?;
    audit::by(
        &txn,
        &actor,
        "subscription.cancelled",
        "subscription",
        id,
        json!({"date": date}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(ChangeOutcome {
        subscription: sub.into(),
        invoice: usage,
        credit_note: note.map(Into::into),
    }))
}

async fn change_plan(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanChange>,
) -> Result<Json<ChangeOutcome>> {
    let date = input
        .date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let loaded = load(&txn, id).await?;
    if loaded.sub.status != ServiceStatus::Active {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "only an active subscription changes plan; this one is {}",
                loaded.sub.status
            ),
        ));
    }
    let new_plan = crate::catalog::plans::find(&txn, input.plan_id)
        .await
        .map_err(|e| e.in_field("plan_id"))?;
    if new_plan.id == loaded.plan.id {
        return Err(Error::invalid(
            "plan_id",
            "the subscription is already on this plan",
        ));
    }
    if !new_plan.active {
        return Err(Error::invalid(
            "plan_id",
            "the plan is not open to new subscriptions",
        ));
    }
    if new_plan.currency != loaded.plan.currency
        || new_plan.billing_cycle != loaded.plan.billing_cycle
    {
        return Err(Error::invalid(
            "plan_id",
            "the new plan must have the same currency and billing cycle",
        ));
    }
    let mut outcome_invoice = None;
    let mut outcome_note = None;
    if let Some(billed) = invoice_covering(&txn, id, date).await? {
        // Days left in the calendar period, priced at both plans' full-period price; an
        // override price applies to the old plan only.
        let period = Period::containing(cycle(&loaded.plan), date);
        let old = period_line(
            &loaded.plan.name,
            period_price(&loaded.sub, &loaded.plan),
            loaded.sub.discount_ppm,
            period,
            date,
        );
        let new = period_line(
            &new_plan.name,
            new_plan.price,
            loaded.sub.discount_ppm,
            period,
            date,
        );
        let taxes = TaxTable::load(&txn).await?;
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
                Some(id),
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
                terms_days: state.settings.payment_terms_days,
                run: None,
            };
            if let Some(row) = invoices::insert(&txn, std::slice::from_ref(&prepared), issue)
                .await?
                .pop()
            {
                outcome_invoice = Some(invoices::view(&txn, row).await?);
            }
        } else if difference < 0 {
            let amount = (-difference).min(billed.total - billed.amount_credited);
            if amount > 0 {
                let reason = format!(
                    "Downgrade from {} to {} on {date}",
                    loaded.plan.name, new_plan.name
                );
                outcome_note = Some(
                    payments::credit(&txn, billed.id, amount, &reason, &actor.name)
                        .await?
                        .into(),
                );
            }
        }
    }
    let mut sub = loaded.sub.clone();
    sub.plan_id = new_plan.id;
    sub.price_override = None;
    let sub = save(&txn, sub).await?;
    audit::by(
        &txn,
        &actor,
        "subscription.plan_changed",
        "subscription",
        id,
        json!({"from": loaded.plan.id, "to": new_plan.id, "date": date}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(ChangeOutcome {
        subscription: sub.into(),
        invoice: outcome_invoice,
        credit_note: outcome_note,
    }))
}

/// Subscription routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", post(create).get(list))
        .route("/subscriptions/{id}", get(get_one))
        .route("/subscriptions/{id}/activate", post(activate))
        .route("/subscriptions/{id}/suspend", post(suspend))
        .route("/subscriptions/{id}/resume", post(resume))
        .route("/subscriptions/{id}/cancel", post(cancel))
        .route("/subscriptions/{id}/change-plan", post(change_plan))
}
