//! Invoice routes: each reads its input, makes one service call in a transaction, and answers.

use crate::{api::access::doc, people::Permission as P};
use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Created;

use super::{
    entity::invoice,
    service,
    wire::{InvoiceQuery, InvoiceView, IssueRequest, NewInvoice, ReceivablesView},
};
use crate::{
    api::{
        Actor, AppState, Paged,
        extract::{Body, Id, OptionalBody, Params},
        page,
    },
    error::Result,
};

async fn receivables(State(state): State<AppState>) -> Result<Json<ReceivablesView>> {
    Ok(Json(ReceivablesView {
        by_currency: service::receivables(&state.db).await?,
    }))
}

async fn create(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewInvoice>,
) -> Result<Created<InvoiceView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let view = service::draft(&txn, &actor, input).await?;
    txn.commit().await?;
    Ok(Created::new(format!("/api/v1/invoices/{}", view.id), view))
}

async fn get_one(State(state): State<AppState>, Id(id): Id) -> Result<Json<InvoiceView>> {
    let row = service::find(&state.db, id).await?;
    Ok(Json(service::view(&state.db, row).await?))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<InvoiceQuery>,
) -> Result<Paged<InvoiceView>> {
    let select = service::select(&query)?;
    page(&state.db, select, invoice::Column::Id, &query, &uri).await
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
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let terms = state.settings.payment_terms_days;
    let view = service::issue(&txn, terms, &actor, id, on).await?;
    txn.commit().await?;
    Ok(Json(view))
}

async fn void(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<InvoiceView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let view = service::void(&txn, &actor, id).await?;
    txn.commit().await?;
    Ok(Json(view))
}

/// Invoice routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "invoices";
    ApiRouter::new()
        .api_route(
            "/invoices",
            post_with(create, doc(TAG, P::InvoicesWrite, "Create a draft invoice")).get_with(
                list,
                doc(
                    TAG,
                    P::InvoicesRead,
                    "List invoices by customer, status and issue date",
                ),
            ),
        )
        .api_route(
            "/receivables",
            get_with(
                receivables,
                doc(
                    TAG,
                    P::InvoicesRead,
                    "What customers owe per currency: open and overdue",
                ),
            ),
        )
        .api_route(
            "/invoices/{id}",
            get_with(
                get_one,
                doc(TAG, P::InvoicesRead, "Read an invoice with its lines"),
            ),
        )
        .api_route(
            "/invoices/{id}/issue",
            post_with(
                issue,
                doc(TAG, P::InvoicesWrite, "Issue a draft (assigns its number)"),
            ),
        )
        .api_route(
            "/invoices/{id}/void",
            post_with(
                void,
                doc(TAG, P::InvoicesWrite, "Void an invoice without payments"),
            ),
        )
}
