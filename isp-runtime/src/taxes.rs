//! Tax rates by jurisdiction. A customer pays every active rate of its country whose region is
//! empty (national) or its own region, in priority order; a compound rate is charged on the net
//! amount plus the taxes before it.

use std::collections::HashMap;

use axum::{
    Extension, Router, extract::OriginalUri, extract::State, response::Response, routing::post,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::api::page;
use crate::{
    api::{
        Actor, AppState,
        extract::{Body, Params},
    },
    audit,
    db::{entity::tax_rate, new_id},
    domain::{money, pricing::TaxRule},
    error::{Error, Result},
    validate,
};
use dotmac_web::created;

/// `POST /tax-rates`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTaxRate {
    /// Name on invoices (`GST`).
    pub name: String,
    /// ISO 3166-1 alpha-2 country.
    pub country: String,
    /// Region code; none for a national tax.
    pub region: Option<String>,
    /// Rate in percent, up to 4 decimals (`8.875`).
    #[schemars(with = "String")]
    pub rate_percent: Decimal,
    /// Charged on the net amount plus the taxes before it.
    #[serde(default)]
    pub compound: bool,
    /// Order of application, lowest first.
    #[serde(default)]
    pub priority: i32,
}

/// A tax rate as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TaxRateView {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Country.
    pub country: String,
    /// Region.
    pub region: Option<String>,
    /// Rate in percent.
    #[schemars(with = "String")]
    pub rate_percent: Decimal,
    /// Compound.
    pub compound: bool,
    /// Order of application.
    pub priority: i32,
    /// In force.
    pub active: bool,
}

impl From<tax_rate::Model> for TaxRateView {
    fn from(t: tax_rate::Model) -> Self {
        Self {
            id: t.id,
            name: t.name,
            country: t.country,
            region: t.region,
            rate_percent: money::ppm_to_percent(t.rate_ppm),
            compound: t.compound,
            priority: t.priority,
            active: t.active,
        }
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewTaxRate>,
) -> Result<Response> {
    let name = validate::text("name", &input.name, 50)?;
    let country = validate::country("country", &input.country)?;
    let region = validate::optional_text("region", input.region.as_deref(), 50)?;
    let rate_ppm = money::percent_to_ppm(input.rate_percent).ok_or_else(|| {
        Error::invalid("rate_percent", "must be 0 to 100 with at most 4 decimals")
    })?;
    let txn = state.db.begin().await?;
    let model = tax_rate::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        country: Set(country),
        region: Set(region),
        rate_ppm: Set(rate_ppm),
        compound: Set(input.compound),
        priority: Set(input.priority),
        active: Set(true),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::by(
        &txn,
        &actor,
        "tax_rate.created",
        "tax_rate",
        model.id,
        json!({"rate_ppm": rate_ppm}),
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/tax-rates/{}", model.id),
        TaxRateView::from(model),
    ))
}

/// Paging of `GET /tax-rates`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxQuery {
    /// Only this country.
    pub country: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<TaxQuery>,
) -> Result<Response> {
    let mut select = tax_rate::Entity::find();
    if let Some(country) = query.country {
        select = select.filter(tax_rate::Column::Country.eq(country));
    }
    page(
        &state.db,
        select,
        tax_rate::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &TaxRateView| v.id,
    )
    .await
}

/// Country and region.
type Jurisdiction = (String, Option<String>);

/// Every active rate, grouped by jurisdiction, for pricing many invoices at once.
#[derive(Debug, Default)]
pub struct TaxTable {
    rates: Vec<tax_rate::Model>,
    cache: std::sync::Mutex<HashMap<Jurisdiction, Vec<TaxRule>>>,
}

impl TaxTable {
    /// Loads the active rates.
    pub async fn load(db: &impl ConnectionTrait) -> std::result::Result<Self, DbErr> {
        let rates = tax_rate::Entity::find()
            .filter(tax_rate::Column::Active.eq(true))
            .order_by_asc(tax_rate::Column::Priority)
            .order_by_asc(tax_rate::Column::Id)
            .all(db)
            .await?;
        Ok(Self {
            rates,
            cache: Default::default(),
        })
    }

    /// The rules for a customer in `country` and `region`.
    pub fn rules(&self, country: &str, region: Option<&str>) -> Vec<TaxRule> {
        let key = (country.to_owned(), region.map(str::to_owned));
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(key)
            .or_insert_with(|| {
                self.rates
                    .iter()
                    .filter(|r| {
                        r.country == country
                            && (r.region.is_none() || r.region.as_deref() == region)
                    })
                    .map(|r| TaxRule {
                        name: r.name.clone(),
                        rate_ppm: r.rate_ppm,
                        compound: r.compound,
                    })
                    .collect()
            })
            .clone()
    }
}

/// Tax routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/tax-rates", post(create).get(list))
}
