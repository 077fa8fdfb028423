//! The invoice rules: drafts by staff, issuing (gapless numbers), voiding, and settling the
//! money columns after a payment, credit or refund. Status moves draft → issued → paid or
//! overdue → refunded, or void, checked by [`InvoiceStatus::check`]. Each function takes the
//! caller's transaction and commits nothing.

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    entity::{invoice, invoice_line},
    store::{Issue, Kind, insert, number, prepare},
    wire::{InvoiceQuery, InvoiceView, LineView, NewInvoice, NewLine, Receivables},
};
use crate::{
    api::Actor,
    audit,
    catalog::taxes::TaxTable,
    customers,
    db::take_numbers,
    domain::{lifecycle::InvoiceStatus, money, pricing::LineInput},
    error::{Error, Result},
    validate,
};

/// An invoice by id.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<invoice::Model> {
    invoice::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound { entity: "invoice" })
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

fn checked_lines(lines: &[NewLine]) -> Result<Vec<LineInput>> {
    if lines.is_empty() {
        return Err(Error::invalid(
            "lines",
            "an invoice needs at least one line",
        ));
    }
    if lines.len() > 500 {
        return Err(Error::invalid("lines", "at most 500 lines"));
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let discount_ppm = match line.discount_percent {
                Some(p) => money::percent_to_ppm(p).ok_or_else(|| {
                    Error::invalid(
                        format!("lines[{i}].discount_percent"),
                        "must be 0 to 100 with at most 4 decimals",
                    )
                })?,
                None => 0,
            };
            let field = |name: &str| format!("lines[{i}].{name}");
            Ok(LineInput {
                description: validate::text(&field("description"), &line.description, 500)?,
                quantity: validate::amount(&field("quantity"), line.quantity, 1, 1_000_000)?,
                unit_price: validate::amount(
                    &field("unit_price"),
                    line.unit_price,
                    0,
                    validate::MAX_AMOUNT,
                )?,
                discount_ppm,
            })
        })
        .collect()
}

/// Drafts a manual invoice for a customer, priced with the customer's taxes.
pub async fn draft(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewInvoice,
) -> Result<InvoiceView> {
    let lines = checked_lines(&input.lines)?;
    let customer = customers::find(txn, input.customer_id)
        .await
        .map_err(|e| e.in_field("customer_id"))?;
    let taxes = TaxTable::load(txn).await?;
    let rules = taxes.rules(&customer.country, customer.region.as_deref());
    let prepared = prepare(
        customer.id,
        &customer.currency,
        None,
        Kind::Manual,
        None,
        lines,
        &rules,
    );
    let draft = Issue {
        on: None,
        terms_days: 0,
        run: None,
    };
    let mut rows = insert(txn, std::slice::from_ref(&prepared), draft).await?;
    let row = rows.pop().ok_or(Error::NotFound { entity: "invoice" })?;
    let detail = json!({"total": row.total});
    audit::by(txn, actor, "invoice.drafted", "invoice", row.id, detail).await?;
    view(txn, row).await
}

/// The invoices `query` selects (before paging).
pub fn select(query: &InvoiceQuery) -> Result<Select<invoice::Entity>> {
    let mut select = invoice::Entity::find();
    if let Some(customer) = query.customer_id {
        select = select.filter(invoice::Column::CustomerId.eq(customer));
    }
    if let Some(status) = &query.status {
        let Some(status) = InvoiceStatus::parse(status) else {
            return Err(Error::invalid(
                "status",
                "must be draft, issued, overdue, paid, refunded or void",
            ));
        };
        select = select.filter(invoice::Column::Status.eq(status));
    }
    if let Some(from) = query.issued_from {
        select = select.filter(invoice::Column::IssueDate.gte(from));
    }
    if let Some(to) = query.issued_to {
        select = select.filter(invoice::Column::IssueDate.lte(to));
    }
    Ok(select)
}

/// Issues a draft on `on`: the next invoice number, due `terms_days` later; a zero invoice is
/// paid at once.
pub async fn issue(
    txn: &impl ConnectionTrait,
    terms_days: i64,
    actor: &Actor,
    id: Uuid,
    on: NaiveDate,
) -> Result<InvoiceView> {
    let row = find_for_update(txn, id).await?;
    row.status
        .check(InvoiceStatus::Issued)
        .map_err(|e| Error::conflict(Some("status"), e.to_string()))?;
    if row.total < 0 {
        return Err(Error::conflict(
            Some("total"),
            "an invoice cannot be issued with a negative total",
        ));
    }
    let n = take_numbers(txn, "invoice", 1).await?;
    let total = row.total;
    let mut model = row.into_active_model();
    model.number = Set(Some(number(n)));
    model.status = Set(InvoiceStatus::Issued);
    model.issue_date = Set(Some(on));
    model.due_date = Set(Some(on + chrono::Duration::days(terms_days)));
    model.amount_due = Set(total);
    model.updated_at = Set(chrono::Utc::now());
    let row = model.update(txn).await?;
    let row = if row.total == 0 {
        settle(txn, row).await?
    } else {
        row
    };
    let detail = json!({"number": row.number});
    audit::by(txn, actor, "invoice.issued", "invoice", id, detail).await?;
    view(txn, row).await
}

/// Voids an invoice nothing was paid or credited on.
pub async fn void(txn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<InvoiceView> {
    let row = find_for_update(txn, id).await?;
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
    let row = model.update(txn).await?;
    let detail = json!({"from": from.as_str()});
    audit::by(txn, actor, "invoice.voided", "invoice", id, detail).await?;
    view(txn, row).await
}

/// What customers owe, per currency: one aggregate over the open invoices.
pub async fn receivables(db: &impl ConnectionTrait) -> Result<Vec<Receivables>> {
    const SQL: &str = "SELECT currency, \
        CAST(SUM(amount_due) AS BIGINT), \
        CAST(SUM(CASE WHEN status = 'overdue' THEN amount_due ELSE 0 END) AS BIGINT), \
        COUNT(CASE WHEN status = 'overdue' THEN 1 END), \
        COUNT(DISTINCT CASE WHEN status = 'overdue' THEN customer_id END) \
        FROM invoices WHERE status IN ('issued', 'overdue') AND amount_due > 0 \
        GROUP BY currency ORDER BY currency";
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(backend, SQL))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Receivables {
                currency: row.try_get_by_index(0)?,
                open: row.try_get_by_index(1)?,
                overdue: row.try_get_by_index(2)?,
                overdue_invoices: row.try_get_by_index(3)?,
                overdue_customers: row.try_get_by_index(4)?,
            })
        })
        .collect()
}
