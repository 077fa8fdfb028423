//! The plan rules: validation, unique code and name, the instance's currency unless
//! `advanced_billing`, and a price that is never cut while active subscriptions use the plan.
//! Each function takes the caller's transaction and commits nothing.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::wire::{NewPlan, OverAllowance, PlanPatch, PlanQuery};
use crate::{
    api::{Actor, Settings},
    audit,
    billing::subscriptions::entity::subscription,
    catalog::entity::plan,
    db::new_id,
    domain::{lifecycle::ServiceStatus, period::BillingCycle},
    entitlements::{Gate, feature},
    error::{Error, Result},
    validate,
};

/// A plan by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<plan::Model> {
    plan::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "plan" })
}

fn speed(field: &str, value: Option<i32>) -> Result<Option<i32>> {
    match value {
        Some(v) if !(1..=1_000_000).contains(&v) => {
            Err(Error::invalid(field, "must be 1 to 1,000,000"))
        }
        v => Ok(v),
    }
}

fn duplicate(error: sea_orm::DbErr) -> Error {
    let field = if error.to_string().contains("code") {
        "code"
    } else {
        "name"
    };
    Error::unique_as_conflict(error, field, &format!("another plan has this {field}"))
}

/// Creates an active plan.
pub async fn create(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    gate: &Gate,
    actor: &Actor,
    input: NewPlan,
) -> Result<plan::Model> {
    let code = validate::code("code", &input.code)?;
    let name = validate::text("name", &input.name, 100)?;
    let price = validate::amount("price", input.price, 1, validate::MAX_AMOUNT)?;
    let currency = match input.currency.as_deref() {
        Some(c) => validate::currency("currency", c)?,
        None => settings.currency.clone(),
    };
    if currency != settings.currency {
        gate.require(feature::ADVANCED_BILLING)?;
    }
    let download = speed("download_mbps", input.download_mbps)?;
    let upload = speed("upload_mbps", input.upload_mbps)?;
    if input.data_allowance_gb.is_some_and(|gb| gb < 1) {
        return Err(Error::invalid(
            "data_allowance_gb",
            "must be at least 1; leave it out for unlimited",
        ));
    }
    let fair_down = speed("fair_use_download_mbps", input.fair_use_download_mbps)?;
    let fair_up = speed("fair_use_upload_mbps", input.fair_use_upload_mbps)?;
    let overage_price = input
        .overage_price_per_gb
        .map(|p| validate::amount("overage_price_per_gb", p, 1, validate::MAX_AMOUNT))
        .transpose()?;
    match input.over_allowance {
        Some(_) if input.data_allowance_gb.is_none() => {
            return Err(Error::invalid(
                "over_allowance",
                "needs a data_allowance_gb to be over",
            ));
        }
        Some(OverAllowance::Throttle) if fair_down.is_none() || fair_up.is_none() => {
            let field = if fair_down.is_none() {
                "fair_use_download_mbps"
            } else {
                "fair_use_upload_mbps"
            };
            return Err(Error::invalid(field, "is needed to throttle"));
        }
        Some(OverAllowance::Bill) if overage_price.is_none() => {
            return Err(Error::invalid(
                "overage_price_per_gb",
                "is needed to bill the overage",
            ));
        }
        // Overage is billed as usage charges.
        Some(OverAllowance::Bill) => gate.require(feature::ADVANCED_BILLING)?,
        _ => {}
    }
    let now = chrono::Utc::now();
    let model = plan::ActiveModel {
        id: Set(new_id()),
        code: Set(code),
        name: Set(name),
        service_type: Set(input.service_type.as_str().to_owned()),
        price: Set(price),
        currency: Set(currency),
        billing_cycle: Set(input.billing_cycle.unwrap_or(BillingCycle::Monthly)),
        download_mbps: Set(download),
        upload_mbps: Set(upload),
        data_allowance_gb: Set(input.data_allowance_gb),
        active: Set(true),
        over_allowance: Set(input.over_allowance),
        fair_use_download_mbps: Set(fair_down),
        fair_use_upload_mbps: Set(fair_up),
        overage_price_per_gb: Set(overage_price),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(duplicate)?;
    audit::by(
        txn,
        actor,
        "plan.created",
        "plan",
        model.id,
        json!({"code": model.code, "price": model.price}),
    )
    .await?;
    Ok(model)
}

/// The plans `query` selects.
pub fn select(query: &PlanQuery) -> Select<plan::Entity> {
    let mut select = plan::Entity::find();
    if let Some(active) = query.active {
        select = select.filter(plan::Column::Active.eq(active));
    }
    select
}

/// Changes the fields `input` names; a lower price is refused while active subscriptions
/// use the plan.
pub async fn update(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    input: PlanPatch,
) -> Result<plan::Model> {
    let name = input
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 100))
        .transpose()?;
    let price = input
        .price
        .map(|p| validate::amount("price", p, 1, validate::MAX_AMOUNT))
        .transpose()?;
    let download = speed("download_mbps", input.download_mbps)?;
    let upload = speed("upload_mbps", input.upload_mbps)?;
    let current = find(txn, id).await?;
    let old_price = current.price;
    if let Some(price) = price.filter(|p| *p < old_price) {
        let active = subscription::Entity::find()
            .filter(subscription::Column::PlanId.eq(id))
            .filter(subscription::Column::Status.eq(ServiceStatus::Active))
            .count(txn)
            .await?;
        if active > 0 {
            return Err(Error::conflict(
                Some("price"),
                format!(
                    "the price cannot go from {old_price} to {price} while {active} active subscriptions use this plan"
                ),
            ));
        }
    }
    let mut model = current.into_active_model();
    if let Some(v) = name {
        model.name = Set(v);
    }
    if let Some(v) = price {
        model.price = Set(v);
    }
    if let Some(v) = input.active {
        model.active = Set(v);
    }
    if download.is_some() {
        model.download_mbps = Set(download);
    }
    if upload.is_some() {
        model.upload_mbps = Set(upload);
    }
    model.updated_at = Set(chrono::Utc::now());
    let updated = model.update(txn).await.map_err(duplicate)?;
    audit::by(
        txn,
        actor,
        "plan.updated",
        "plan",
        id,
        json!({"old_price": old_price, "price": updated.price}),
    )
    .await?;
    Ok(updated)
}
