//! Usage-based charges: what a subscriber used beyond the plan (data over the allowance, call
//! minutes, a truck roll), recorded against a subscription and billed in arrears. The billing
//! run puts every unbilled charge that occurred before the period it bills on that period's
//! invoice; cancelling bills what is left on a final usage invoice. A charge is billed once: it
//! is linked to its invoice in the transaction that issues it. Recording needs the
//! `advanced_billing` feature.

use std::collections::HashMap;

use axum::{
    Extension, Json, Router,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::{CaseStatement, Expr},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
        page,
    },
    audit,
    catalog::taxes::TaxTable,
    customers,
    db::{
        entity::{subscription, usage_charge},
        new_id,
    },
    domain::{lifecycle::ServiceStatus, pricing::LineInput},
    entitlements::feature,
    error::{Error, Result},
    invoices::{self, Issue, Kind},
    subscriptions, validate,
};
use dotmac_web::created;

/// Most units one charge may carry.
const MAX_QUANTITY: i64 = 1_000_000_000;

/// `POST /subscriptions/{id}/usage-charges`. Send an `Idempotency-Key` header so a meter that
/// sends a reading twice is charged once.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUsageCharge {
    /// What was used, as the invoice line shows it (`Data over allowance, GB`).
    pub description: String,
    /// Units used, 1 to 10⁹.
    pub quantity: i64,
    /// Price of one unit in minor units of the customer's currency.
    pub unit_price: i64,
    /// Day it was used; today by default, never in the future.
    pub occurred_on: Option<NaiveDate>,
}

/// A usage charge as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageChargeView {
    /// Id.
    pub id: Uuid,
    /// Subscription.
    pub subscription_id: Uuid,
    /// What was used.
    pub description: String,
    /// Units.
    pub quantity: i64,
    /// Price of one unit, minor units.
    pub unit_price: i64,
    /// quantity × unit price, before taxes.
    pub amount: i64,
    /// Day it was used.
    pub occurred_on: NaiveDate,
    /// The invoice that billed it; none while unbilled.
    pub invoice_id: Option<Uuid>,
}

impl From<usage_charge::Model> for UsageChargeView {
    fn from(c: usage_charge::Model) -> Self {
        Self {
            id: c.id,
            subscription_id: c.subscription_id,
            amount: c.quantity.saturating_mul(c.unit_price),
            description: c.description,
            quantity: c.quantity,
            unit_price: c.unit_price,
            occurred_on: c.occurred_on,
            invoice_id: c.invoice_id,
        }
    }
}

/// Filters of `GET /subscriptions/{id}/usage-charges`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Only billed (`true`) or only unbilled (`false`) charges.
    pub billed: Option<bool>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
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
) -> Result<Option<crate::db::entity::invoice::Model>> {
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

async fn record(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    headers: HeaderMap,
    Body(input): Body<NewUsageCharge>,
) -> Result<Response> {
    state.gate.require(feature::ADVANCED_BILLING)?;
    let key = validate::idempotency_key(&headers)?;
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
    if let Some(key) = &key
        && let Some(existing) = usage_charge::Entity::find()
            .filter(usage_charge::Column::IdempotencyKey.eq(key.as_str()))
            .one(&state.db)
            .await?
    {
        let same = existing.subscription_id == id
            && existing.description == description
            && existing.quantity == input.quantity
            && existing.unit_price == unit_price
            && existing.occurred_on == occurred_on;
        if !same {
            return Err(Error::conflict(
                Some("Idempotency-Key"),
                "this key was used for a different charge",
            ));
        }
        return Ok((StatusCode::OK, Json(UsageChargeView::from(existing))).into_response());
    }
    let txn = state.db.begin().await?;
    let sub = subscriptions::find(&txn, id).await?;
    let status = sub.status;
    if !matches!(status, ServiceStatus::Active | ServiceStatus::Suspended) {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "only an active or suspended subscription is charged for usage; this one is {}",
                sub.status
            ),
        ));
    }
    if let Some(activated) = sub.activated_on
        && occurred_on < activated
    {
        return Err(Error::invalid(
            "occurred_on",
            format!("is before the subscription was activated on {activated}"),
        ));
    }
    let row = usage_charge::ActiveModel {
        id: Set(new_id()),
        subscription_id: Set(sub.id),
        description: Set(description),
        quantity: Set(input.quantity),
        unit_price: Set(unit_price),
        occurred_on: Set(occurred_on),
        idempotency_key: Set(key),
        invoice_id: Set(None),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        Error::unique_as_conflict(
            e,
            "Idempotency-Key",
            "a charge with this key is being recorded",
        )
    })?;
    audit::by(
        &txn,
        &actor,
        "usage_charge.recorded",
        "subscription",
        sub.id,
        json!({"charge": row.id, "quantity": row.quantity, "unit_price": row.unit_price}),
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/usage-charges/{}", row.id),
        UsageChargeView::from(row),
    ))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Id(id): Id,
    Params(query): Params<UsageQuery>,
) -> Result<Response> {
    subscription::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound {
            entity: "subscription",
        })?;
    let mut select =
        usage_charge::Entity::find().filter(usage_charge::Column::SubscriptionId.eq(id));
    select = match query.billed {
        Some(true) => select.filter(usage_charge::Column::InvoiceId.is_not_null()),
        Some(false) => select.filter(usage_charge::Column::InvoiceId.is_null()),
        None => select,
    };
    page(
        &state.db,
        select,
        usage_charge::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &UsageChargeView| v.id,
    )
    .await
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<UsageChargeView>> {
    usage_charge::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .map(|c| Json(c.into()))
        .ok_or(Error::NotFound {
            entity: "usage charge",
        })
}

/// Routes of usage charges.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions/{id}/usage-charges",
            axum::routing::post(record).get(list),
        )
        .route("/usage-charges/{id}", get(get_one))
}
