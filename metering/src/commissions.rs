//! The commission ledger: what each reseller accrues per calendar month. The Reseller
//! controller records the running month; `GET /resellers/{name}/commissions` reads it back.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

use super::entity::commission::{self, Column, Entity};

/// One reseller's accrual for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accrual {
    /// The Reseller.
    pub reseller: String,
    /// Month, `2026-11`.
    pub period: String,
    /// ISO 4217 currency of the amounts.
    pub currency: String,
    /// Tenants counted.
    pub tenants: i64,
    /// Monthly recurring revenue in minor units.
    pub mrr_minor: i64,
    /// Commission rate in percent, as a decimal string (`16.5`).
    pub rate_percent: String,
    /// Commission in minor units.
    pub commission_minor: i64,
    /// Revenue per tenant, as shown by the API.
    pub lines: serde_json::Value,
}

/// Records `accrual` as its month's row unless the row already says the same; returns whether
/// it wrote, so a steady reseller costs one read.
pub async fn record(db: &DatabaseConnection, accrual: &Accrual) -> Result<bool, DbErr> {
    let current = Entity::find_by_id((accrual.reseller.clone(), accrual.period.clone()))
        .one(db)
        .await?;
    if current.as_ref().map(to_accrual).as_ref() == Some(accrual) {
        return Ok(false);
    }
    let row = commission::ActiveModel {
        reseller: sea_orm::Set(accrual.reseller.clone()),
        period: sea_orm::Set(accrual.period.clone()),
        currency: sea_orm::Set(accrual.currency.clone()),
        tenants: sea_orm::Set(accrual.tenants),
        mrr_minor: sea_orm::Set(accrual.mrr_minor),
        rate_percent: sea_orm::Set(accrual.rate_percent.clone()),
        commission_minor: sea_orm::Set(accrual.commission_minor),
        lines: sea_orm::Set(accrual.lines.clone()),
        updated_at: sea_orm::Set(chrono::Utc::now()),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Reseller, Column::Period])
                .update_columns([
                    Column::Currency,
                    Column::Tenants,
                    Column::MrrMinor,
                    Column::RatePercent,
                    Column::CommissionMinor,
                    Column::Lines,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(true)
}

fn to_accrual(row: &commission::Model) -> Accrual {
    Accrual {
        reseller: row.reseller.clone(),
        period: row.period.clone(),
        currency: row.currency.clone(),
        tenants: row.tenants,
        mrr_minor: row.mrr_minor,
        rate_percent: row.rate_percent.clone(),
        commission_minor: row.commission_minor,
        lines: row.lines.clone(),
    }
}

/// A reseller's ledger, newest month first: at most `limit` months before `before` (a month,
/// exclusive) when given.
pub async fn history(
    db: &DatabaseConnection,
    reseller: &str,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<commission::Model>, DbErr> {
    let mut query = Entity::find().filter(Column::Reseller.eq(reseller));
    if let Some(before) = before {
        query = query.filter(Column::Period.lt(before));
    }
    query
        .order_by_desc(Column::Period)
        .limit(limit)
        .all(db)
        .await
}
