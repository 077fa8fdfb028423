//! Service plans: what customers subscribe to. A plan's price is never cut while it has active
//! subscriptions (they would be billed less without anyone deciding so); raise it, or move the
//! subscribers to another plan.

use axum::{
    Extension, Json, Router,
    extract::OriginalUri,
    extract::State,
    response::Response,
    routing::{get, post},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Id, Params},
    },
    audit,
    db::{
        entity::{plan, subscription},
        new_id,
    },
    domain::{lifecycle::ServiceStatus, period::BillingCycle},
    entitlements::feature,
    error::{Error, Result},
    validate,
};
use dotmac_web::created;

/// What a plan sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Internet access: suspended for non-payment.
    Internet,
    /// Voice.
    Phone,
    /// Television.
    Tv,
    /// Several services.
    Bundle,
    /// Hosting.
    Hosting,
}

impl ServiceType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Internet => "internet",
            Self::Phone => "phone",
            Self::Tv => "tv",
            Self::Bundle => "bundle",
            Self::Hosting => "hosting",
        }
    }
}

/// `POST /plans`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// Unique code (`FIBER-100`).
    pub code: String,
    /// Unique name.
    pub name: String,
    /// What it sells.
    pub service_type: ServiceType,
    /// Price per billing period in minor units (> 0).
    pub price: i64,
    /// Currency; the instance's by default.
    pub currency: Option<String>,
    /// monthly (default), quarterly or annually.
    pub billing_cycle: Option<BillingCycle>,
    /// Download speed in Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload speed in Mbit/s.
    pub upload_mbps: Option<i32>,
    /// Data allowance in GB; none means unlimited.
    pub data_allowance_gb: Option<i32>,
}

/// `PATCH /plans/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    /// Unique name.
    pub name: Option<String>,
    /// New price; may not be lower while the plan has active subscriptions.
    pub price: Option<i64>,
    /// Whether new subscriptions may use it.
    pub active: Option<bool>,
    /// Download speed in Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload speed in Mbit/s.
    pub upload_mbps: Option<i32>,
}

/// A plan as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PlanView {
    /// Id.
    pub id: Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// What it sells.
    pub service_type: String,
    /// Price per period, minor units.
    pub price: i64,
    /// Currency.
    pub currency: String,
    /// Billing cycle.
    pub billing_cycle: String,
    /// Download Mbit/s.
    pub download_mbps: Option<i32>,
    /// Upload Mbit/s.
    pub upload_mbps: Option<i32>,
    /// GB per period; none is unlimited.
    pub data_allowance_gb: Option<i32>,
    /// Open to new subscriptions.
    pub active: bool,
}

impl From<plan::Model> for PlanView {
    fn from(p: plan::Model) -> Self {
        Self {
            id: p.id,
            code: p.code,
            name: p.name,
            service_type: p.service_type,
            price: p.price,
            currency: p.currency,
            billing_cycle: p.billing_cycle,
            download_mbps: p.download_mbps,
            upload_mbps: p.upload_mbps,
            data_allowance_gb: p.data_allowance_gb,
            active: p.active,
        }
    }
}

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

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewPlan>,
) -> Result<Response> {
    let code = validate::code("code", &input.code)?;
    let name = validate::text("name", &input.name, 100)?;
    let price = validate::amount("price", input.price, 1, validate::MAX_AMOUNT)?;
    let currency = match input.currency.as_deref() {
        Some(c) => validate::currency("currency", c)?,
        None => state.settings.currency.clone(),
    };
    if currency != state.settings.currency {
        state.gate.require(feature::ADVANCED_BILLING)?;
    }
    let download = speed("download_mbps", input.download_mbps)?;
    let upload = speed("upload_mbps", input.upload_mbps)?;
    if input.data_allowance_gb.is_some_and(|gb| gb < 1) {
        return Err(Error::invalid(
            "data_allowance_gb",
            "must be at least 1; leave it out for unlimited",
        ));
    }
    let now = chrono::Utc::now();
    let txn = state.db.begin().await?;
    let model = plan::ActiveModel {
        id: Set(new_id()),
        code: Set(code),
        name: Set(name),
        service_type: Set(input.service_type.as_str().to_owned()),
        price: Set(price),
        currency: Set(currency),
        billing_cycle: Set(input
            .billing_cycle
            .unwrap_or(BillingCycle::Monthly)
            .as_str()
            .to_owned()),
        download_mbps: Set(download),
        upload_mbps: Set(upload),
        data_allowance_gb: Set(input.data_allowance_gb),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(duplicate)?;
    audit::by(
        &txn,
        &actor,
        "plan.created",
        "plan",
        model.id,
        json!({"code": model.code, "price": model.price}),
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/plans/{}", model.id),
        PlanView::from(model),
    ))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<PlanView>> {
    Ok(Json(find(&state.db, id).await?.into()))
}

/// Filters of `GET /plans`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Only active (or inactive) plans.
    pub active: Option<bool>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<PlanQuery>,
) -> Result<Response> {
    let mut select = plan::Entity::find();
    if let Some(active) = query.active {
        select = select.filter(plan::Column::Active.eq(active));
    }
    page(
        &state.db,
        select,
        plan::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &PlanView| v.id,
    )
    .await
}

async fn patch(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<PlanPatch>,
) -> Result<Json<PlanView>> {
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
    let txn = state.db.begin().await?;
    let current = find(&txn, id).await?;
    let old_price = current.price;
    if let Some(price) = price.filter(|p| *p < old_price) {
        let active = subscription::Entity::find()
            .filter(subscription::Column::PlanId.eq(id))
            .filter(subscription::Column::Status.eq(ServiceStatus::Active))
            .count(&txn)
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
    let updated = model.update(&txn).await.map_err(duplicate)?;
    audit::by(
        &txn,
        &actor,
        "plan.updated",
        "plan",
        id,
        json!({"old_price": old_price, "price": updated.price}),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

/// Plan routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans", post(create).get(list))
        .route("/plans/{id}", get(get_one).patch(patch))
}
