//! Voucher routes for staff: each reads its input, makes one service call in a transaction, and
//! answers. Subscribers pay with vouchers through `selfcare`.

use aide::axum::{ApiRouter, routing::post_with};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Created;

use super::{
    entity::voucher,
    service,
    wire::{NewVoucherBatch, VoucherBatch, VoucherQuery, VoucherView},
};
use crate::{
    api::{
        Actor, AppState, Paged,
        access::doc,
        extract::{Body, Id, Params},
        page,
    },
    error::Result,
    people::Permission as P,
};

async fn make_batch(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewVoucherBatch>,
) -> Result<Created<VoucherBatch>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let batch = service::make_batch(&txn, &state.settings, &actor, input).await?;
    txn.commit().await?;
    // Batch names need no escaping in a query (letters, digits, `.`, `-` and `_`).
    let location = format!("/api/v1/vouchers?batch={}", batch.batch);
    Ok(Created::new(location, batch))
}

async fn list(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<VoucherQuery>,
) -> Result<Paged<VoucherView>> {
    let select = service::select(&query);
    page(&state.db, select, voucher::Column::Id, &query, &uri).await
}

async fn void(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<Json<VoucherView>> {
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let row = service::void(&txn, &actor, id).await?;
    txn.commit().await?;
    Ok(Json(row.into()))
}

/// Voucher routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "vouchers";
    ApiRouter::new()
        .api_route(
            "/vouchers",
            post_with(
                make_batch,
                doc(
                    TAG,
                    P::PaymentsWrite,
                    "Make a batch of prepaid vouchers (their codes are shown once)",
                ),
            )
            .get_with(
                list,
                doc(TAG, P::PaymentsRead, "List vouchers (never their codes)"),
            ),
        )
        .api_route(
            "/vouchers/{id}/void",
            post_with(
                void,
                doc(
                    TAG,
                    P::PaymentsRefund,
                    "Withdraw a lost or stolen voucher so that it pays nothing more",
                ),
            ),
        )
}
