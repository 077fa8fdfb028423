//! The tax rules: rates by jurisdiction (a customer pays every active rate of its country
//! whose region is empty or its own, in priority order; a compound rate is charged on the net
//! amount plus the taxes before it), and the table a billing run prices from.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Select,
};
use serde_json::json;

use super::wire::{NewTaxRate, TaxQuery};
use crate::{
    api::Actor,
    audit,
    catalog::entity::tax_rate,
    db::new_id,
    domain::{money, pricing::TaxRule},
    error::{Error, Result},
    validate,
};

/// Creates an active tax rate.
pub async fn create(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewTaxRate,
) -> Result<tax_rate::Model> {
    let name = validate::text("name", &input.name, 50)?;
    let country = validate::country("country", &input.country)?;
    let region = validate::optional_text("region", input.region.as_deref(), 50)?;
    let rate_ppm = money::percent_to_ppm(input.rate_percent).ok_or_else(|| {
        Error::invalid("rate_percent", "must be 0 to 100 with at most 4 decimals")
    })?;
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
    .insert(txn)
    .await?;
    audit::by(
        txn,
        actor,
        "tax_rate.created",
        "tax_rate",
        model.id,
        json!({"rate_ppm": rate_ppm}),
    )
    .await?;
    Ok(model)
}

/// The tax rates `query` selects.
pub fn select(query: &TaxQuery) -> Select<tax_rate::Entity> {
    let mut select = tax_rate::Entity::find();
    if let Some(country) = &query.country {
        select = select.filter(tax_rate::Column::Country.eq(country.clone()));
    }
    select
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
