//! Invoices: draft → issued (numbered here, gapless) → paid or overdue → refunded, or void.
//! [`prepare`] prices lines into an invoice and [`insert`] stores any number of them in one
//! statement per table, issuing them with consecutive numbers; both subscription events and the
//! billing run create invoices through these two functions.

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
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
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
    audit, customers,
    db::{
        entity::{invoice, invoice_line},
        new_id, take_numbers,
    },
    domain::{
        lifecycle::InvoiceStatus,
        money,
        period::Period,
        pricing::{LineInput, PricedLine, TaxRule, Totals, price_line, totals},
    },
    error::{Error, Result},
    validate,
};

/// Why an invoice exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A subscription's charge for one period (at most one per subscription and period).
    Recurring,
    /// The difference of a mid-period plan change.
    Proration,
    /// A late fee.
    LateFee,
    /// Made by staff.
    Manual,
    /// Usage charges left unbilled when a subscription is cancelled.
    Usage,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recurring => "recurring",
            Self::Proration => "proration",
            Self::LateFee => "late_fee",
            Self::Manual => "manual",
            Self::Usage => "usage",
        }
    }
}

/// An invoice priced and ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Its id.
    pub id: Uuid,
    /// Customer.
    pub customer_id: Uuid,
    /// Subscription, for recurring and proration invoices.
    pub subscription_id: Option<Uuid>,
    /// Why it exists.
    pub kind: Kind,
    /// Service period it bills.
    pub period: Option<Period>,
    /// Currency.
    pub currency: String,
    /// Priced lines.
    pub lines: Vec<PricedLine>,
    /// Sums of the lines.
    pub totals: Totals,
}

/// Prices `lines` for a customer whose taxes are `rules`.
pub fn prepare(
    customer_id: Uuid,
    currency: &str,
    subscription_id: Option<Uuid>,
    kind: Kind,
    period: Option<Period>,
    lines: Vec<LineInput>,
    rules: &[TaxRule],
) -> Prepared {
    let lines: Vec<PricedLine> = lines.into_iter().map(|l| price_line(l, rules)).collect();
    let totals = totals(&lines);
    Prepared {
        id: new_id(),
        customer_id,
        subscription_id,
        kind,
        period,
        currency: currency.to_owned(),
        lines,
        totals,
    }
}

/// How [`insert`] stores invoices.
#[derive(Debug, Clone, Copy)]
pub struct Issue {
    /// Issue date; `None` stores drafts (unnumbered).
    pub on: Option<NaiveDate>,
    /// Days from issue to due.
    pub terms_days: i64,
    /// The billing run making them.
    pub run: Option<Uuid>,
}

/// Stores invoices and their lines, issued (numbered consecutively in the given order) or as
/// drafts, inside the caller's transaction. An invoice whose total is negative is refused:
/// a credit is a credit note, never an invoice.
pub async fn insert(
    txn: &impl ConnectionTrait,
    invoices: &[Prepared],
    issue: Issue,
) -> std::result::Result<Vec<invoice::Model>, DbErr> {
    if invoices.is_empty() {
        return Ok(Vec::new());
    }
    let first_number = match issue.on {
        Some(_) => Some(
            take_numbers(
                txn,
                "invoice",
                i64::try_from(invoices.len()).unwrap_or(i64::MAX),
            )
            .await?,
        ),
        None => None,
    };
    let now = chrono::Utc::now();
    let mut rows = Vec::with_capacity(invoices.len());
    let mut lines = Vec::new();
    for (offset, prepared) in invoices.iter().enumerate() {
        let number = first_number.map(|first| number(first + i64::try_from(offset).unwrap_or(0)));
        let status = if issue.on.is_none() {
            InvoiceStatus::Draft
        } else if prepared.totals.total == 0 {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Issued
        };
        rows.push(invoice::Model {
            id: prepared.id,
            number,
            customer_id: prepared.customer_id,
            subscription_id: prepared.subscription_id,
            kind: prepared.kind.as_str().to_owned(),
            period_start: prepared.period.map(|p| p.start),
            period_end: prepared.period.map(|p| p.end),
            currency: prepared.currency.clone(),
            status,
            issue_date: issue.on,
            due_date: issue
                .on
                .map(|d| d + chrono::Duration::days(issue.terms_days)),
            subtotal: prepared.totals.subtotal,
            discount: prepared.totals.discount,
            tax: prepared.totals.tax,
            total: prepared.totals.total,
            amount_paid: 0,
            amount_credited: 0,
            amount_refunded: 0,
            amount_due: if issue.on.is_some() {
                prepared.totals.total
            } else {
                0
            },
            billing_run_id: issue.run,
            created_at: now,
            updated_at: now,
        });
        for (position, line) in prepared.lines.iter().enumerate() {
            lines.push(line_row(prepared.id, position, line));
        }
    }
    store(txn, &rows, &lines).await?;
    Ok(rows)
}

/// Columns of `invoices` as `jsonb_to_recordset` reads them.
const INVOICE_RECORD: &str = "id uuid, number text, customer_id uuid, subscription_id uuid, kind text, \
    period_start date, period_end date, currency text, status text, issue_date date, due_date date, \
    subtotal bigint, discount bigint, tax bigint, total bigint, amount_paid bigint, amount_credited bigint, \
    amount_refunded bigint, amount_due bigint, billing_run_id uuid, created_at timestamptz, updated_at timestamptz";

/// Columns of `invoice_lines` as `jsonb_to_recordset` reads them.
const LINE_RECORD: &str = "invoice_id uuid, position integer, description text, quantity bigint, \
    unit_price bigint, gross bigint, discount bigint, net bigint, tax bigint, total bigint, taxes jsonb";

/// Inserts invoice and line rows. On PostgreSQL each table takes one statement with the rows as
/// one JSON parameter (`jsonb_to_recordset`), far cheaper to parse and bind than a thousand rows
/// of placeholders; SQLite takes multi-row `INSERT`s. The billing run and its benchmark baseline
/// both insert through here.
pub async fn store(
    txn: &impl ConnectionTrait,
    invoices: &[invoice::Model],
    lines: &[invoice_line::Model],
) -> std::result::Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        for (table, record, rows) in [
            ("invoices", INVOICE_RECORD, serde_json::to_string(invoices)),
            ("invoice_lines", LINE_RECORD, serde_json::to_string(lines)),
        ] {
            let rows = rows.map_err(|e| DbErr::Custom(format!("encoding {table}: {e}")))?;
            let columns: Vec<&str> = record
                .split(", ")
                .filter_map(|c| c.split_whitespace().next())
                .collect();
            let sql = format!(
                "INSERT INTO {table} ({cols}) SELECT {cols} FROM jsonb_to_recordset(CAST($1 AS TEXT)::jsonb) AS r({record})",
                cols = columns.join(", ")
            );
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DatabaseBackend::Postgres,
                sql,
                [rows.into()],
            ))
            .await?;
        }
        return Ok(());
    }
    for chunk in invoices.chunks(1000) {
        invoice::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    for chunk in lines.chunks(2000) {
        invoice_line::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

fn line_row(invoice_id: Uuid, position: usize, line: &PricedLine) -> invoice_line::Model {
    invoice_line::Model {
        invoice_id,
        position: i32::try_from(position).unwrap_or(i32::MAX),
        description: line.input.description.clone(),
        quantity: line.input.quantity,
        unit_price: line.input.unit_price,
        gross: line.gross,
        discount: line.discount,
        net: line.net,
        tax: line.tax,
        total: line.total,
        taxes: serde_json::to_value(&line.taxes).unwrap_or_default(),
    }
}

/// The printed number of the `n`th invoice.
pub fn number(n: i64) -> String {
    format!("INV-{n:06}")
}

/// An invoice by id, locked for update (PostgreSQL; SQLite serialises writers anyway).
pub async fn find_for_update(db: &impl ConnectionTrait, id: Uuid) -> Result<invoice::Model> {
    invoice::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "invoice" })
}

/// Writes an invoice's money columns and status after a payment, credit or refund, checking
/// the status change.
pub async fn settle(db: &impl ConnectionTrait, mut row: invoice::Model) -> Result<invoice::Model> {
    let from = row.status;
    row.amount_due = (row.total - row.amount_credited - row.amount_paid).max(0);
    let to = if from.is_open() && row.amount_due == 0 {
        InvoiceStatus::Paid
    } else if from == InvoiceStatus::Paid
        && row.amount_paid > 0
        && row.amount_refunded == row.amount_paid
    {
        InvoiceStatus::Refunded
    } else {
        from
    };
    if to != from {
        from.check(to)
            .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    }
    row.status = to;
    row.updated_at = chrono::Utc::now();
    let mut model = row.into_active_model();
    for column in [
        invoice::Column::AmountPaid,
        invoice::Column::AmountCredited,
        invoice::Column::AmountRefunded,
        invoice::Column::AmountDue,
        invoice::Column::Status,
        invoice::Column::UpdatedAt,
    ] {
        model.reset(column);
    }
    Ok(model.update(db).await?)
}

/// A line of `POST /invoices`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// What it is for.
    pub description: String,
    /// Units, 1–1,000,000.
    pub quantity: i64,
    /// Price of a unit in minor units, 0–10¹².
    pub unit_price: i64,
    /// Discount in percent.
    #[schemars(with = "Option<String>")]
    pub discount_percent: Option<Decimal>,
}

/// `POST /invoices`: a draft for a customer.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvoice {
    /// Customer.
    pub customer_id: Uuid,
    /// At least one line.
    pub lines: Vec<NewLine>,
}

/// A line as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LineView {
    /// Description.
    pub description: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_price: i64,
    /// Quantity × unit price.
    pub gross: i64,
    /// Discount.
    pub discount: i64,
    /// Gross less discount.
    pub net: i64,
    /// Each tax.
    pub taxes: serde_json::Value,
    /// Sum of taxes.
    pub tax: i64,
    /// Net plus tax.
    pub total: i64,
}

/// An invoice as the API shows it. Amounts are minor units of `currency`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvoiceView {
    /// Id.
    pub id: Uuid,
    /// Number, once issued.
    pub number: Option<String>,
    /// Customer.
    pub customer_id: Uuid,
    /// Subscription.
    pub subscription_id: Option<Uuid>,
    /// recurring, proration, late_fee, manual or usage.
    pub kind: String,
    /// First day billed.
    pub period_start: Option<NaiveDate>,
    /// Day after the last day billed.
    pub period_end: Option<NaiveDate>,
    /// Currency.
    pub currency: String,
    /// draft, issued, overdue, paid, refunded or void.
    pub status: String,
    /// Issued on.
    pub issue_date: Option<NaiveDate>,
    /// Due on.
    pub due_date: Option<NaiveDate>,
    /// Sum of gross amounts.
    pub subtotal: i64,
    /// Sum of discounts.
    pub discount: i64,
    /// Sum of taxes.
    pub tax: i64,
    /// Sum of line totals.
    pub total: i64,
    /// Paid so far.
    pub amount_paid: i64,
    /// Credited by credit notes.
    pub amount_credited: i64,
    /// Refunded.
    pub amount_refunded: i64,
    /// Still owed.
    pub amount_due: i64,
    /// Lines (only when one invoice is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineView>>,
}

impl From<invoice::Model> for InvoiceView {
    fn from(i: invoice::Model) -> Self {
        Self {
            id: i.id,
            number: i.number,
            customer_id: i.customer_id,
            subscription_id: i.subscription_id,
            kind: i.kind,
            period_start: i.period_start,
            period_end: i.period_end,
            currency: i.currency,
            status: i.status.to_string(),
            issue_date: i.issue_date,
            due_date: i.due_date,
            subtotal: i.subtotal,
            discount: i.discount,
            tax: i.tax,
            total: i.total,
            amount_paid: i.amount_paid,
            amount_credited: i.amount_credited,
            amount_refunded: i.amount_refunded,
            amount_due: i.amount_due,
            lines: None,
        }
    }
}

/// The invoice with its lines, when there is one.
pub async fn view_of(
    db: &impl ConnectionTrait,
    row: Option<invoice::Model>,
) -> Result<Option<InvoiceView>> {
    match row {
        Some(row) => Ok(Some(view(db, row).await?)),
        None => Ok(None),
    }
}

/// An invoice with its lines.
pub async fn view(db: &impl ConnectionTrait, row: invoice::Model) -> Result<InvoiceView> {
    let lines = invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(row.id))
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|l| LineView {
            description: l.description,
            quantity: l.quantity,
            unit_price: l.unit_price,
            gross: l.gross,
            discount: l.discount,
            net: l.net,
            taxes: l.taxes,
            tax: l.tax,
            total: l.total,
        })
        .collect();
    let mut view = InvoiceView::from(row);
    view.lines = Some(lines);
    Ok(view)
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewInvoice>,
) -> Result<Response> {
    if input.lines.is_empty() {
        return Err(Error::invalid(
            "lines",
            "an invoice needs at least one line",
        ));
    }
    if input.lines.len() > 500 {
        return Err(Error::invalid("lines", "at most 500 lines"));
    }
    let mut lines = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        let discount_ppm = match line.discount_percent {
            Some(p) => money::percent_to_ppm(p).ok_or_else(|| {
                Error::invalid(
                    format!("lines[{i}].discount_percent"),
                    "must be 0 to 100 with at most 4 decimals",
                )
            })?,
            None => 0,
        };
        lines.push(LineInput {
            description: validate::text(
                &format!("lines[{i}].description"),
                &line.description,
                500,
            )?,
            quantity: validate::amount(
                &format!("lines[{i}].quantity"),
                line.quantity,
                1,
                1_000_000,
            )?,
            unit_price: validate::amount(
                &format!("lines[{i}].unit_price"),
                line.unit_price,
                0,
                validate::MAX_AMOUNT,
            )?,
            discount_ppm,
        });
    }
    let customer = customers::find(&state.db, input.customer_id)
        .await
        .map_err(|e| e.in_field("customer_id"))?;
    let taxes = crate::catalog::taxes::TaxTable::load(&state.db).await?;
    let prepared = prepare(
        customer.id,
        &customer.currency,
        None,
        Kind::Manual,
        None,
        lines,
        &taxes.rules(&customer.country, customer.region.as_deref()),
    );
    let txn = state.db.begin().await?;
    let mut rows = insert(
        &txn,
        std::slice::from_ref(&prepared),
        Issue {
            on: None,
            terms_days: 0,
            run: None,
        },
    )
    .await?;
    let row = rows.pop().ok_or(Error::NotFound { entity: "invoice" })?;
    audit::by(
        &txn,
        &actor,
        "invoice.drafted",
        "invoice",
        row.id,
        json!({"total": row.total}),
    )
    .await?;
    let view = view(&txn, row).await?;
    txn.commit().await?;
    Ok(dotmac_web::created(
        &format!("/api/v1/invoices/{}", view.id),
        view,
    ))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<InvoiceView>> {
    let row = invoice::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(Error::NotFound { entity: "invoice" })?;
    Ok(Json(view(&state.db, row).await?))
}

/// Filters of `GET /invoices`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceQuery {
    /// Only this customer's.
    pub customer_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<String>,
    /// Issued on or after.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before.
    pub issued_to: Option<NaiveDate>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Cursor from the previous page.
    pub cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<InvoiceQuery>,
) -> Result<Response> {
    let mut select = invoice::Entity::find();
    if let Some(customer) = query.customer_id {
        select = select.filter(invoice::Column::CustomerId.eq(customer));
    }
    if let Some(status) = query.status {
        if InvoiceStatus::parse(&status).is_none() {
            return Err(Error::invalid(
                "status",
                "must be draft, issued, overdue, paid, refunded or void",
            ));
        }
        select = select.filter(invoice::Column::Status.eq(status));
    }
    if let Some(from) = query.issued_from {
        select = select.filter(invoice::Column::IssueDate.gte(from));
    }
    if let Some(to) = query.issued_to {
        select = select.filter(invoice::Column::IssueDate.lte(to));
    }
    page(
        &state.db,
        select,
        invoice::Column::Id,
        query.limit,
        query.cursor,
        &uri,
        |v: &InvoiceView| v.id,
    )
    .await
}

/// `POST /invoices/{id}/issue`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// Issue date; today by default.
    pub issue_date: Option<NaiveDate>,
}

async fn issue(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    OptionalBody(body): OptionalBody<IssueRequest>,
) -> Result<Json<InvoiceView>> {
    let on = body
        .issue_date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let txn = state.db.begin().await?;
    let row = find_for_update(&txn, id).await?;
    let from = row.status;
    from.check(InvoiceStatus::Issued)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    if row.total < 0 {
        return Err(Error::conflict(
            Some("total"),
            "an invoice cannot be issued with a negative total",
        ));
    }
    let n = take_numbers(&txn, "invoice", 1).await?;
    let total = row.total;
    let mut model = row.into_active_model();
    model.number = Set(Some(number(n)));
    model.status = Set(InvoiceStatus::Issued);
    model.issue_date = Set(Some(on));
    model.due_date = Set(Some(
        on + chrono::Duration::days(state.settings.payment_terms_days),
    ));
    model.amount_due = Set(total);
    model.updated_at = Set(chrono::Utc::now());
    let row = model.update(&txn).await?;
    let row = if row.total == 0 {
        settle(&txn, row).await?
    } else {
        row
    };
    audit::by(
        &txn,
        &actor,
        "invoice.issued",
        "invoice",
        id,
        json!({"number": row.number}),
    )
    .await?;
    let view = view(&txn, row).await?;
    txn.commit().await?;
    Ok(Json(view))
}

async fn void(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<InvoiceView>> {
    let txn = state.db.begin().await?;
    let row = find_for_update(&txn, id).await?;
    let from = row.status;
    from.check(InvoiceStatus::Void)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    if row.amount_paid > 0 || row.amount_credited > 0 {
        return Err(Error::conflict(
            Some("status"),
            "an invoice with payments or credit notes cannot be voided; credit or refund it instead",
        ));
    }
    let mut model = row.into_active_model();
    model.status = Set(InvoiceStatus::Void);
    model.amount_due = Set(0);
    model.updated_at = Set(chrono::Utc::now());
    let row = model.update(&txn).await?;
    audit::by(
        &txn,
        &actor,
        "invoice.voided",
        "invoice",
        id,
        json!({"from": from.as_str()}),
    )
    .await?;
    let view = view(&txn, row).await?;
    txn.commit().await?;
    Ok(Json(view))
}

/// Invoice routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices", post(create).get(list))
        .route("/invoices/{id}", get(get_one))
        .route("/invoices/{id}/issue", post(issue))
        .route("/invoices/{id}/void", post(void))
}
