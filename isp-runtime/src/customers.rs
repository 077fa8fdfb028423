//! Customers: the ISP's subscribers. Unique customer number and e-mail, an address that sets
//! the tax jurisdiction, a billing currency, and a lifecycle
//! pending → active → suspended ⇄ active → cancelled.

use axum::{
    Extension, Json, Router,
    extract::OriginalUri,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
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
        entity::{customer, subscription},
        new_id, take_numbers,
    },
    domain::lifecycle::ServiceStatus,
    entitlements::feature,
    error::{Error, Result},
    validate,
};

/// Kind of customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// A household.
    Residential,
    /// A business.
    Business,
    /// A large account.
    Enterprise,
}

impl CustomerType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Residential => "residential",
            Self::Business => "business",
            Self::Enterprise => "enterprise",
        }
    }
}

/// A postal address; `country` and `region` choose the taxes.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region code (`CA`, `QC`).
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// `POST /customers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Unique number; generated (`C-000001`) when absent.
    pub customer_number: Option<String>,
    /// Name shown on invoices.
    pub display_name: String,
    /// Kind of customer; residential by default.
    pub customer_type: Option<CustomerType>,
    /// Unique e-mail address.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Address.
    pub address: Address,
    /// Billing currency; the instance's currency by default. Another currency needs the
    /// `advanced_billing` feature.
    pub currency: Option<String>,
}

/// `PATCH /customers/{id}`: the fields to change.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// Name shown on invoices.
    pub display_name: Option<String>,
    /// Unique e-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Address.
    pub address: Option<Address>,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CustomerView {
    /// Id.
    pub id: Uuid,
    /// Unique number.
    pub customer_number: String,
    /// Name.
    pub display_name: String,
    /// Kind.
    pub customer_type: String,
    /// pending, active, suspended or cancelled.
    pub status: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Address.
    pub address: Address,
    /// Billing currency.
    pub currency: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<customer::Model> for CustomerView {
    fn from(c: customer::Model) -> Self {
        Self {
            id: c.id,
            customer_number: c.customer_number,
            display_name: c.display_name,
            customer_type: c.customer_type,
            status: c.status.to_string(),
            email: c.email,
            phone: c.phone,
            address: Address {
                street: c.street,
                city: c.city,
                region: c.region,
                postal_code: c.postal_code,
                country: c.country,
            },
            currency: c.currency,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
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

/// A customer by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<customer::Model> {
    customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "customer" })
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

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewCustomer>,
) -> Result<Response> {
    let display_name = validate::text("display_name", &input.display_name, 200)?;
    let email = validate::email("email", &input.email)?;
    let phone = validate::optional_text("phone", input.phone.as_deref(), 40)?;
    let address = checked_address(&input.address)?;
    let currency = match input.currency.as_deref() {
        Some(code) => validate::currency("currency", code)?,
        None => state.settings.currency.clone(),
    };
    if currency != state.settings.currency {
        state.gate.require(feature::ADVANCED_BILLING)?;
    }
    let number = input
        .customer_number
        .as_deref()
        .map(|n| validate::code("customer_number", n))
        .transpose()?;
    let txn = state.db.begin().await?;
    let customer_number = match number {
        Some(number) => number,
        None => format!("C-{:06}", take_numbers(&txn, "customer", 1).await?),
    };
    let now = chrono::Utc::now();
    let model = customer::ActiveModel {
        id: Set(new_id()),
        customer_number: Set(customer_number),
        display_name: Set(display_name),
        customer_type: Set(input
            .customer_type
            .unwrap_or(CustomerType::Residential)
            .as_str()
            .to_owned()),
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
    .insert(&txn)
    .await
    .map_err(duplicate)?;
    audit::by(
        &txn,
        &actor,
        "customer.created",
        "customer",
        model.id,
        json!({"customer_number": model.customer_number}),
    )
    .await?;
    txn.commit().await?;
    Ok(created(
        &format!("/api/v1/customers/{}", model.id),
        CustomerView::from(model),
    ))
}

/// A 201 with `Location`.
pub fn created<T: Serialize>(location: &str, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<CustomerView>> {
    Ok(Json(find(&state.db, id).await?.into()))
}

/// Filters of `GET /customers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this e-mail.
    pub email: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CustomerQuery>,
) -> Result<Response> {
    let mut select = customer::Entity::find();
    if let Some(status) = query.status {
        if ServiceStatus::parse(&status).is_none() {
            return Err(Error::invalid(
                "status",
                "must be pending, active, suspended or cancelled",
            ));
        }
        select = select.filter(customer::Column::Status.eq(status));
    }
    if let Some(email) = query.email {
        select = select.filter(customer::Column::Email.eq(email.to_lowercase()));
    }
    page(
        &state.db,
        select,
        customer::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &CustomerView| v.id,
    )
    .await
}

async fn patch(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<CustomerPatch>,
) -> Result<Json<CustomerView>> {
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
    let txn = state.db.begin().await?;
    let current = find(&txn, id).await?;
    let mut model = current.into_active_model();
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
    let updated = model.update(&txn).await.map_err(duplicate)?;
    audit::by(&txn, &actor, "customer.updated", "customer", id, json!({})).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

/// Moves a customer to `to`. Cancelling needs every subscription cancelled first.
async fn transition(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    to: ServiceStatus,
    from_only: Option<ServiceStatus>,
) -> Result<CustomerView> {
    let txn = state.db.begin().await?;
    let current = find(&txn, id).await?;
    let from = current.status;
    if from_only.is_some_and(|only| only != from) {
        return Err(Error::conflict(
            Some("status"),
            format!(
                "cannot go from {} to {} with this action",
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    from.check(to)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    if to == ServiceStatus::Cancelled {
        let live = subscription::Entity::find()
            .filter(subscription::Column::CustomerId.eq(id))
            .filter(subscription::Column::Status.ne(ServiceStatus::Cancelled))
            .count(&txn)
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
    let updated = model.update(&txn).await?;
    audit::by(
        &txn,
        actor,
        &format!("customer.{}", to.as_str()),
        "customer",
        id,
        json!({"from": from.as_str()}),
    )
    .await?;
    txn.commit().await?;
    Ok(updated.into())
}

macro_rules! action {
    ($name:ident, $to:expr, $from_only:expr) => {
        async fn $name(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            Id(id): Id,
        ) -> Result<Json<CustomerView>> {
            Ok(Json(transition(&state, &actor, id, $to, $from_only).await?))
        }
    };
}
action!(
    activate,
    ServiceStatus::Active,
    Some(ServiceStatus::Pending)
);
action!(suspend, ServiceStatus::Suspended, None);
action!(
    resume,
    ServiceStatus::Active,
    Some(ServiceStatus::Suspended)
);
action!(cancel, ServiceStatus::Cancelled, None);

/// Customer routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", post(create).get(list))
        .route("/customers/{id}", get(get_one).patch(patch))
        .route("/customers/{id}/activate", post(activate))
        .route("/customers/{id}/suspend", post(suspend))
        .route("/customers/{id}/resume", post(resume))
        .route("/customers/{id}/cancel", post(cancel))
}
