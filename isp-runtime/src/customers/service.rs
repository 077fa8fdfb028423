//! The customer rules: validation, unique number and e-mail, the billing currency (another
//! than the instance's needs `advanced_billing`), the lifecycle (cancelling needs every
//! subscription cancelled first) and the audit trail. Each function takes the caller's
//! transaction and commits nothing.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::wire::{Address, CustomerPatch, CustomerQuery, CustomerType, NewCustomer};
use crate::{
    api::{Actor, Settings},
    audit,
    billing::subscriptions::entity::subscription,
    customers::entity::customer,
    db::{new_id, take_numbers},
    domain::lifecycle::ServiceStatus,
    entitlements::{Gate, feature},
    error::{Error, Result},
    validate,
};

/// A customer by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<customer::Model> {
    customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "customer" })
}

fn checked_address(address: &Address) -> Result<Address> {
    Ok(Address {
        street: validate::optional_text("address.street", address.street.as_deref(), 200)?,
        city: validate::optional_text("address.city", address.city.as_deref(), 100)?,
        region: validate::optional_text("address.region", address.region.as_deref(), 50)?,
        postal_code: validate::optional_text(
            "address.postal_code",
            address.postal_code.as_deref(),
            20,
        )?,
        country: validate::country("address.country", &address.country)?,
    })
}

fn duplicate(error: sea_orm::DbErr) -> Error {
    let text = error.to_string();
    let field = if text.contains("email") {
        "email"
    } else {
        "customer_number"
    };
    Error::unique_as_conflict(error, field, &format!("another customer has this {field}"))
}

/// Creates a pending customer, numbered `C-000001`… unless `input` names its number.
pub async fn create(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    gate: &Gate,
    actor: &Actor,
    input: NewCustomer,
) -> Result<customer::Model> {
    let display_name = validate::text("display_name", &input.display_name, 200)?;
    let email = validate::email("email", &input.email)?;
    let phone = validate::optional_text("phone", input.phone.as_deref(), 40)?;
    let address = checked_address(&input.address)?;
    let currency = match input.currency.as_deref() {
        Some(code) => validate::currency("currency", code)?,
        None => settings.currency.clone(),
    };
    if currency != settings.currency {
        gate.require(feature::ADVANCED_BILLING)?;
    }
    if let Some(allowed) = settings.max_customers {
        // Creations at the limit take turns, so two cannot both take the last place.
        if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7300001)")
                .await?;
        }
        let existing = customer::Entity::find()
            .filter(customer::Column::Status.ne(ServiceStatus::Cancelled))
            .count(txn)
            .await?;
        if existing >= allowed {
            return Err(Error::LimitReached {
                limit: "limits.maxCustomers",
                allowed,
                counts: "customers",
            });
        }
    }
    let customer_number = match input.customer_number.as_deref() {
        Some(number) => validate::code("customer_number", number)?,
        None => format!("C-{:06}", take_numbers(txn, "customer", 1).await?),
    };
    let now = chrono::Utc::now();
    let customer_type = input.customer_type.unwrap_or(CustomerType::Residential);
    let model = customer::ActiveModel {
        id: Set(new_id()),
        customer_number: Set(customer_number),
        display_name: Set(display_name),
        customer_type: Set(customer_type.as_str().to_owned()),
        status: Set(ServiceStatus::Pending),
        email: Set(email),
        phone: Set(phone),
        street: Set(address.street),
        city: Set(address.city),
        region: Set(address.region),
        postal_code: Set(address.postal_code),
        country: Set(address.country),
        currency: Set(currency),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(duplicate)?;
    let number = json!({"customer_number": model.customer_number});
    audit::by(txn, actor, "customer.created", "customer", model.id, number).await?;
    Ok(model)
}

/// The customers `query` selects; a status outside the lifecycle is a 422.
pub fn select(query: &CustomerQuery) -> Result<Select<customer::Entity>> {
    let mut select = customer::Entity::find();
    if let Some(status) = &query.status {
        let Some(status) = ServiceStatus::parse(status) else {
            return Err(Error::invalid(
                "status",
                "must be pending, active, suspended or cancelled",
            ));
        };
        select = select.filter(customer::Column::Status.eq(status));
    }
    if let Some(email) = &query.email {
        select = select.filter(customer::Column::Email.eq(email.to_lowercase()));
    }
    if let Some(q) = &query.q {
        select = select.filter(contains_text(q)?);
    }
    Ok(select)
}

/// Whether a customer's name, e-mail or number contains `q`, in any case; `%` and `_` in it
/// are matched as themselves.
fn contains_text(q: &str) -> Result<sea_orm::sea_query::Condition> {
    use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr};
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err(Error::invalid("q", "must be 1 to 100 characters"));
    }
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let like = |column: customer::Column| {
        Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(&pattern).escape('\\'))
    };
    Ok(Condition::any()
        .add(like(customer::Column::DisplayName))
        .add(like(customer::Column::Email))
        .add(like(customer::Column::CustomerNumber)))
}

/// Changes the fields `input` names.
pub async fn update(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    input: CustomerPatch,
) -> Result<customer::Model> {
    let display_name = input
        .display_name
        .as_deref()
        .map(|v| validate::text("display_name", v, 200))
        .transpose()?;
    let email = input
        .email
        .as_deref()
        .map(|v| validate::email("email", v))
        .transpose()?;
    let phone = validate::optional_text("phone", input.phone.as_deref(), 40)?;
    let address = input.address.as_ref().map(checked_address).transpose()?;
    let mut model = find(txn, id).await?.into_active_model();
    if let Some(v) = display_name {
        model.display_name = Set(v);
    }
    if let Some(v) = email {
        model.email = Set(v);
    }
    if phone.is_some() {
        model.phone = Set(phone);
    }
    if let Some(a) = address {
        model.street = Set(a.street);
        model.city = Set(a.city);
        model.region = Set(a.region);
        model.postal_code = Set(a.postal_code);
        model.country = Set(a.country);
    }
    model.updated_at = Set(chrono::Utc::now());
    let updated = model.update(txn).await.map_err(duplicate)?;
    audit::by(txn, actor, "customer.updated", "customer", id, json!({})).await?;
    Ok(updated)
}

/// A suspended customer is not served nor billed: its active subscriptions are suspended with
/// it, and resuming it resumes those (billing the rest of their period from today), not the ones
/// suspended for another reason.
async fn follow_with_subscriptions(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    customer: Uuid,
    from: ServiceStatus,
    to: ServiceStatus,
) -> Result<()> {
    use crate::billing::subscriptions::service as subscriptions;
    let of_customer = |status: ServiceStatus| {
        subscription::Entity::find()
            .filter(subscription::Column::CustomerId.eq(customer))
            .filter(subscription::Column::Status.eq(status))
    };
    match (from, to) {
        (_, ServiceStatus::Suspended) => {
            for sub in of_customer(ServiceStatus::Active).all(txn).await? {
                subscriptions::suspend_for(txn, actor, sub.id, subscriptions::CUSTOMER_SUSPENDED)
                    .await?;
            }
        }
        (ServiceStatus::Suspended, ServiceStatus::Active) => {
            let today = chrono::Utc::now().date_naive();
            let held = of_customer(ServiceStatus::Suspended)
                .filter(subscription::Column::SuspendedReason.eq(subscriptions::CUSTOMER_SUSPENDED))
                .all(txn)
                .await?;
            for sub in held {
                subscriptions::resume_in(
                    txn,
                    settings.payment_terms_days,
                    sub.id,
                    today,
                    &actor.name,
                )
                .await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Moves a customer to `to` (from `from_only` alone when given). Cancelling needs every
/// subscription cancelled first.
pub async fn transition(
    txn: &impl ConnectionTrait,
    settings: &Settings,
    actor: &Actor,
    id: Uuid,
    to: ServiceStatus,
    from_only: Option<ServiceStatus>,
) -> Result<customer::Model> {
    let current = find(txn, id).await?;
    let from = current.status;
    if from_only.is_some_and(|only| only != from) {
        return Err(Error::conflict(
            Some("status"),
            format!("cannot go from {from} to {to} with this action"),
        ));
    }
    from.check(to)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    if to == ServiceStatus::Cancelled {
        let live = subscription::Entity::find()
            .filter(subscription::Column::CustomerId.eq(id))
            .filter(subscription::Column::Status.ne(ServiceStatus::Cancelled))
            .count(txn)
            .await?;
        if live > 0 {
            return Err(Error::conflict(
                Some("status"),
                format!("the customer has {live} subscriptions that are not cancelled"),
            ));
        }
    }
    let mut model = current.into_active_model();
    model.status = Set(to);
    model.updated_at = Set(chrono::Utc::now());
    let updated = model.update(txn).await?;
    follow_with_subscriptions(txn, settings, actor, id, from, to).await?;
    let action = format!("customer.{to}");
    audit::by(
        txn,
        actor,
        &action,
        "customer",
        id,
        json!({"from": from.as_str()}),
    )
    .await?;
    Ok(updated)
}
