//! Storing invoices in bulk. [`prepare`] prices lines into an invoice and [`insert`] stores any
//! number of them in one statement per table, issuing them with consecutive numbers;
//! subscription events, usage, dunning and the billing run create invoices through these two.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, DeriveActiveEnum, EntityTrait, EnumIter, IntoActiveModel};
use serde::Serialize;
use uuid::Uuid;

use super::entity::{invoice, invoice_line};
use crate::{
    db::{new_id, take_numbers},
    domain::{
        lifecycle::InvoiceStatus,
        period::Period,
        pricing::{LineInput, PricedLine, TaxRule, Totals, price_line, totals},
    },
};

/// Why an invoice exists.
// Also the invoices' `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, EnumIter, DeriveActiveEnum)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Kind {
    /// A subscription's charge for one period (at most one per subscription and period).
    #[sea_orm(string_value = "recurring")]
    Recurring,
    /// The difference of a mid-period plan change.
    #[sea_orm(string_value = "proration")]
    Proration,
    /// A late fee.
    #[sea_orm(string_value = "late_fee")]
    LateFee,
    /// Made by staff.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// Usage charges left unbilled when a subscription is cancelled.
    #[sea_orm(string_value = "usage")]
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
            kind: prepared.kind,
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
