//! The usage-charge rules. Usage charges are what a subscriber used beyond the plan (data over the allowance, call
//! minutes, a truck roll), recorded against a subscription and billed in arrears. The billing
//! run puts every unbilled charge that occurred before the period it bills on that period's
//! invoice; cancelling bills what is left on a final usage invoice. A charge is billed once: it
//! is linked to its invoice in the transaction that issues it. Recording needs the
//! `advanced_billing` feature.

use std::collections::HashMap;

use chrono::NaiveDate;
use dotmac_contract::reporting::metric::TRANSACTIONS;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Select,
    sea_query::{CaseStatement, Expr},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::usage_charge,
    wire::{NewUsageCharge, UsageQuery},
};
use crate::{
    api::{Actor, Settings},
    audit,
    billing::{
        Idempotent,
        invoices::{self, Issue, Kind, entity::invoice},
        subscriptions::{self, entity::subscription},
    },
    catalog::taxes::TaxTable,
    customers,
    db::new_id,
    domain::{lifecycle::ServiceStatus, pricing::LineInput},
    error::{Error, Result},
    reporting, validate,
};

/// Most units one charge may carry.
const MAX_QUANTITY: i64 = 1_000_000_000;

/// A charge's checked fields.
struct Checked {
    description: String,
    quantity: i64,
    unit_price: i64,
    occurred_on: NaiveDate,
}

fn checked(input: NewUsageCharge) -> Result<Checked> {
    let description = validate::text("description", &input.description, 200)?;
    if !(1..=MAX_QUANTITY).contains(&input.quantity) {
        return Err(Error::invalid(
            "quantity",
            format!("must be 1 to {MAX_QUANTITY}"),
        ));
    }
    let unit_price = validate::amount("unit_price", input.unit_price, 0, validate::MAX_AMOUNT)?;
    if input
        .quantity
        .checked_mul(unit_price)
        .is_none_or(|amount| amount > validate::MAX_AMOUNT)
    {
        return Err(Error::invalid(
            "unit_price",
            format!(
                "quantity × unit_price must be at most {}",
                validate::MAX_AMOUNT
            ),
        ));
    }
    let today = chrono::Utc::now().date_naive();
    let occurred_on = input.occurred_on.unwrap_or(today);
    if occurred_on > today {
        return Err(Error::invalid("occurred_on", "must not be in the future"));
    }
    Ok(Checked {
        description,
        quantity: input.quantity,
        unit_price,
        occurred_on,
    })
}

/// The charge recorded under `key`, if any; a key reused for another charge is a conflict.
async fn replay(
    db: &impl ConnectionTrait,
    key: &str,
    subscription_id: Uuid,
    charge: &Checked,
) -> Result<Option<usage_charge::Model>> {
    let Some(existing) = usage_charge::Entity::find()
        .filter(usage_charge::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let same = existing.subscription_id == subscription_id
        && existing.description == charge.description
        && existing.quantity == charge.quantity
        && existing.unit_price == charge.unit_price
        && existing.occurred_on == charge.occurred_on;
    if !same {
        return Err(Error::conflict(
            Some("Idempotency-Key"),
            "this key was used for a different charge",
        ));
    }
    Ok(Some(existing))
}

/// Records a charge against an active or suspended subscription, or answers a replay of one
/// recorded under `key`. The caller checks the `advanced_billing` feature.
///
/// A new charge is a `transactions` event, counted against `plugin` (the one whose license
/// grants advanced billing, when the plan does not).
pub async fn record(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    plugin: Option<String>,
    actor: &Actor,
    subscription_id: Uuid,
    key: Option<String>,
    input: NewUsageCharge,
) -> Result<Idempotent<usage_charge::Model>> {
    let charge = checked(input)?;
    if let Some(key) = &key
        && let Some(existing) = replay(txn, key, subscription_id, &charge).await?
    {
        return Ok(Idempotent::Replayed(existing));
    }
    let sub = subscriptions::find(txn, subscription_id).await?;
    if !matches!(sub.status, ServiceStatus::Active | ServiceStatus::Suspended) {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "only an active or suspended subscription is charged for usage; this one is {}",
                sub.status
            ),
        ));
    }
    if let Some(activated) = sub.activated_on
        && charge.occurred_on < activated
    {
        return Err(Error::invalid(
            "occurred_on",
            format!("is before the subscription was activated on {activated}"),
        ));
    }
    let row = usage_charge::ActiveModel {
        id: Set(new_id()),
        subscription_id: Set(sub.id),
        description: Set(charge.description),
        quantity: Set(charge.quantity),
        unit_price: Set(charge.unit_price),
        occurred_on: Set(charge.occurred_on),
        idempotency_key: Set(key),
        invoice_id: Set(None),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(txn)
    .await
    .map_err(|e| {
        Error::unique_as_conflict(
            e,
            "Idempotency-Key",
            "a charge with this key is being recorded",
        )
    })?;
    let detail = json!({"charge": row.id, "quantity": row.quantity, "unit_price": row.unit_price});
    audit::by(
        txn,
        actor,
        "usage_charge.recorded",
        "subscription",
        sub.id,
        detail,
    )
    .await?;
    let event = format!("{}:{TRANSACTIONS}:{}", settings.tenant, row.id);
    reporting::record(txn, event, plugin, TRANSACTIONS, 1.0).await?;
    Ok(Idempotent::New(row))
}

/// The charges of subscription `id` that `query` selects (before paging).
pub async fn select(
    db: &impl ConnectionTrait,
    id: Uuid,
    query: &UsageQuery,
) -> Result<Select<usage_charge::Entity>> {
    subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })?;
    let select = usage_charge::Entity::find().filter(usage_charge::Column::SubscriptionId.eq(id));
    Ok(match query.billed {
        Some(true) => select.filter(usage_charge::Column::InvoiceId.is_not_null()),
        Some(false) => select.filter(usage_charge::Column::InvoiceId.is_null()),
        None => select,
    })
}

/// A usage charge by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<usage_charge::Model> {
    usage_charge::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound {
            entity: "usage charge",
        })
}

/// The invoice line of a charge.
pub fn line(charge: &usage_charge::Model) -> LineInput {
    LineInput {
        description: format!("{} on {}", charge.description, charge.occurred_on),
        quantity: charge.quantity,
        unit_price: charge.unit_price,
        discount_ppm: 0,
    }
}

/// Unbilled charges that occurred before `before`, of the subscriptions with ids in
/// `(after, last]` (a billing batch's keyset range), by subscription, oldest first.
pub async fn unbilled_between(
    db: &impl ConnectionTrait,
    after: Uuid,
    last: Uuid,
    before: NaiveDate,
) -> std::result::Result<HashMap<Uuid, Vec<usage_charge::Model>>, DbErr> {
    let rows = usage_charge::Entity::find()
        .filter(usage_charge::Column::SubscriptionId.gt(after))
        .filter(usage_charge::Column::SubscriptionId.lte(last))
        .filter(usage_charge::Column::InvoiceId.is_null())
        .filter(usage_charge::Column::OccurredOn.lt(before))
        .order_by_asc(usage_charge::Column::OccurredOn)
        .order_by_asc(usage_charge::Column::Id)
        .all(db)
        .await?;
    let mut by_subscription: HashMap<Uuid, Vec<usage_charge::Model>> = HashMap::new();
    for row in rows {
        by_subscription
            .entry(row.subscription_id)
            .or_default()
            .push(row);
    }
    Ok(by_subscription)
}

/// Charges linked per statement by [`mark_billed`].
const LINK_CHUNK: usize = 500;

/// Links each billed charge (charge id, invoice id) to the invoice that billed it: one
/// statement per [`LINK_CHUNK`] charges, however many invoices they are on.
pub async fn mark_billed(
    db: &impl ConnectionTrait,
    billed: &[(Uuid, Uuid)],
) -> std::result::Result<(), DbErr> {
    for chunk in billed.chunks(LINK_CHUNK) {
        let invoice_of = chunk
            .iter()
            .fold(CaseStatement::new(), |case, (charge, invoice)| {
                case.case(usage_charge::Column::Id.eq(*charge), Expr::value(*invoice))
            });
        usage_charge::Entity::update_many()
            .col_expr(usage_charge::Column::InvoiceId, invoice_of.into())
            .filter(usage_charge::Column::Id.is_in(chunk.iter().map(|(charge, _)| *charge)))
            .filter(usage_charge::Column::InvoiceId.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Bills every charge of a subscription still unbilled on one usage invoice issued `on`: its
/// final bill when it is cancelled. `None` when nothing was unbilled.
pub async fn bill_remaining(
    txn: &impl ConnectionTrait,
    subscription_id: Uuid,
    customer_id: Uuid,
    on: NaiveDate,
    terms_days: i64,
) -> Result<Option<invoice::Model>> {
    let charges = usage_charge::Entity::find()
        .filter(usage_charge::Column::SubscriptionId.eq(subscription_id))
        .filter(usage_charge::Column::InvoiceId.is_null())
        .order_by_asc(usage_charge::Column::OccurredOn)
        .order_by_asc(usage_charge::Column::Id)
        .all(txn)
        .await?;
    if charges.is_empty() {
        return Ok(None);
    }
    let customer = customers::find(txn, customer_id).await?;
    let taxes = TaxTable::load(txn).await?;
    let rules = taxes.rules(&customer.country, customer.region.as_deref());
    let prepared = invoices::prepare(
        customer.id,
        &customer.currency,
        Some(subscription_id),
        Kind::Usage,
        None,
        charges.iter().map(line).collect(),
        &rules,
    );
    let issue = Issue {
        on: Some(on),
        terms_days,
        run: None,
    };
    let mut rows = invoices::insert(txn, std::slice::from_ref(&prepared), issue).await?;
    let billed: Vec<(Uuid, Uuid)> = charges.iter().map(|c| (c.id, prepared.id)).collect();
    mark_billed(txn, &billed).await?;
    Ok(rows.pop())
}
