//! Network-access routes: the NAS registry, service logins, IP pools, and what RADIUS
//! recorded (sessions and sign-ins). Each needs the `network_access` feature.

use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with, put_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::Created;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    entity::{auth_event, coa_request, ip_pool, nas as nas_entity, radius_session},
    ipam, libreqos, logins, nas, sessions, usage,
    wire::{
        AuthEventQuery, AuthEventView, CoaQuery, CoaView, ListQuery, LoginInput, LoginView,
        NasCreated, NasPatch, NasView, NewNas, NewPool, PoolView, RadiusDrops, SessionQuery,
        SessionView, StaticAddress, StaticAddressView, UsageView,
    },
};
use crate::{
    api::{
        Actor, AppState, Page, Paged,
        access::doc,
        extract::{Body, Id, Params},
        page, page_limit,
    },
    entitlements::feature,
    error::Result,
    people::Permission as P,
};

async fn create_nas(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewNas>,
) -> Result<Created<NasCreated>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let (model, secret) = nas::create(&txn, &actor, &state.network_secrets, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/nas/{}", model.id);
    Ok(Created::new(
        location,
        NasCreated {
            nas: model.into(),
            secret,
        },
    ))
}

async fn list_nas(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<ListQuery>,
) -> Result<Paged<NasView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    page(
        &state.db,
        nas_entity::Entity::find(),
        nas_entity::Column::Id,
        &query,
        &uri,
    )
    .await
}

async fn radius_drops(State(state): State<AppState>) -> Result<Json<RadiusDrops>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    Ok(Json(RadiusDrops {
        unknown_nas: nas::unknown_lookups(&state.db).await?,
        freeradius: state.radius_drops.latest(),
    }))
}

async fn get_nas(State(state): State<AppState>, Id(id): Id) -> Result<Json<NasView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    Ok(Json(nas::find(&state.db, id).await?.into()))
}

async fn patch_nas(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<NasPatch>,
) -> Result<Json<NasView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let updated = nas::update(&txn, &actor, id, input).await?;
    txn.commit().await?;
    Ok(Json(updated.into()))
}

async fn set_login(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<LoginInput>,
) -> Result<Json<LoginView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let (model, password) = logins::set(&txn, &actor, &state.network_secrets, id, input).await?;
    txn.commit().await?;
    Ok(Json(LoginView::new(model, password)))
}

async fn get_login(State(state): State<AppState>, Id(id): Id) -> Result<Json<LoginView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    Ok(Json(LoginView::new(
        logins::find(&state.db, id).await?,
        None,
    )))
}

async fn create_pool(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(input): Body<NewPool>,
) -> Result<Created<PoolView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let model = ipam::create(&txn, &actor, input).await?;
    txn.commit().await?;
    let location = format!("/api/v1/ip-pools/{}", model.id);
    Ok(Created::new(location, PoolView::new(model, 0)))
}

async fn list_pools(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<ListQuery>,
) -> Result<Paged<PoolView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let limit = page_limit(query.limit)?;
    let mut select = ip_pool::Entity::find().order_by_asc(ip_pool::Column::Id);
    if let Some(cursor) = query.cursor {
        select = select.filter(ip_pool::Column::Id.gt(cursor));
    }
    let mut views = Vec::new();
    for pool in select.limit(limit + 1).all(&state.db).await? {
        let used = ipam::used(&state.db, pool.id).await?;
        views.push(PoolView::new(pool, used));
    }
    Ok(Page::new(views, limit, |p| p.id).respond(&uri))
}

async fn list_sessions(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<SessionQuery>,
) -> Result<Paged<SessionView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let select = sessions::select(&query);
    page(&state.db, select, radius_session::Column::Id, &query, &uri).await
}

async fn list_auth_events(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<AuthEventQuery>,
) -> Result<Paged<AuthEventView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let mut select = auth_event::Entity::find();
    if let Some(subscription) = query.subscription_id {
        select = select.filter(auth_event::Column::SubscriptionId.eq(subscription));
    }
    if let Some(outcome) = query.outcome {
        select = select.filter(auth_event::Column::Outcome.eq(outcome.as_str()));
    }
    page(&state.db, select, auth_event::Column::Id, &query, &uri).await
}

async fn list_coa(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CoaQuery>,
) -> Result<Paged<CoaView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let mut select = coa_request::Entity::find();
    if let Some(session) = query.session_id {
        select = select.filter(coa_request::Column::SessionId.eq(session));
    }
    page(&state.db, select, coa_request::Column::Id, &query, &uri).await
}

async fn shaped_devices(State(state): State<AppState>) -> Result<dotmac_web::response::Csv> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let devices = libreqos::read(&state.db).await?;
    let export = libreqos::export(&devices, state.settings.network.libreqos_suspended);
    Ok(dotmac_web::response::Csv(export.shaped_devices))
}

async fn libreqos_network(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let devices = libreqos::read(&state.db).await?;
    Ok(Json(
        libreqos::export(&devices, state.settings.network.libreqos_suspended).network,
    ))
}

async fn subscription_usage(State(state): State<AppState>, Id(id): Id) -> Result<Json<UsageView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    Ok(Json(usage::view(&state.db, id).await?))
}

async fn my_usage(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<UsageView>>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    Ok(Json(usage::of_subscriber(&state.db, actor.account).await?))
}

async fn set_static_address(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
    Body(input): Body<StaticAddress>,
) -> Result<Json<StaticAddressView>> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let row = ipam::assign_static(&txn, &actor, id, &input.address).await?;
    txn.commit().await?;
    Ok(Json(StaticAddressView {
        subscription_id: id,
        address: row.address,
        pool_id: row.pool_id,
    }))
}

async fn remove_static_address(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Id(id): Id,
) -> Result<axum::http::StatusCode> {
    state.gate.require(feature::NETWORK_ACCESS)?;
    let txn = dotmac_sql::begin_write(&state.db).await?;
    let Some(address) = ipam::unassign_static(&txn, id).await? else {
        return Err(crate::error::Error::NotFound {
            entity: "static address",
        });
    };
    crate::audit::by(
        &txn,
        &actor,
        "ip_address.unassigned",
        "subscription",
        id,
        serde_json::json!({"address": address}),
    )
    .await?;
    txn.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Network-access routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "network";
    ApiRouter::new()
        .api_route(
            "/nas",
            post_with(
                create_nas,
                doc(
                    TAG,
                    P::NetworkWrite,
                    "Register a NAS (its secret is shown once)",
                ),
            )
            .get_with(list_nas, doc(TAG, P::NetworkRead, "List NAS")),
        )
        .api_route(
            "/nas/{id}",
            get_with(get_nas, doc(TAG, P::NetworkRead, "Read a NAS")).patch_with(
                patch_nas,
                doc(
                    TAG,
                    P::NetworkWrite,
                    "Change a NAS's name, vendor, CoA port or site",
                ),
            ),
        )
        .api_route(
            "/subscriptions/{id}/login",
            put_with(
                set_login,
                doc(
                    TAG,
                    P::NetworkWrite,
                    "Set a subscription's PPPoE or IPoE login (a password is shown once)",
                ),
            )
            .get_with(
                get_login,
                doc(TAG, P::NetworkRead, "Read a subscription's login"),
            ),
        )
        .api_route(
            "/subscriptions/{id}/static-address",
            put_with(
                set_static_address,
                doc(
                    TAG,
                    P::NetworkWrite,
                    "Give a subscription a static address from a pool",
                ),
            )
            .delete_with(
                remove_static_address,
                doc(
                    TAG,
                    P::NetworkWrite,
                    "Take a subscription's static address back",
                ),
            ),
        )
        .api_route(
            "/ip-pools",
            post_with(
                create_pool,
                doc(TAG, P::NetworkWrite, "Create an address pool"),
            )
            .get_with(
                list_pools,
                doc(TAG, P::NetworkRead, "List pools with their utilisation"),
            ),
        )
        .api_route(
            "/radius-sessions",
            get_with(
                list_sessions,
                doc(TAG, P::NetworkRead, "List RADIUS sessions"),
            ),
        )
        .api_route(
            "/coa-requests",
            get_with(
                list_coa,
                doc(
                    TAG,
                    P::NetworkRead,
                    "List CoA and Disconnect requests sent to NAS, with their answers",
                ),
            ),
        )
        .api_route(
            "/libreqos/ShapedDevices.csv",
            get_with(
                shaped_devices,
                doc(
                    TAG,
                    P::NetworkRead,
                    "LibreQoS ShapedDevices.csv: every shaped subscription",
                ),
            ),
        )
        .api_route(
            "/libreqos/network.json",
            get_with(
                libreqos_network,
                doc(
                    TAG,
                    P::NetworkRead,
                    "LibreQoS network.json: sites and NAS with their subscribers' total speeds",
                ),
            ),
        )
        .api_route(
            "/subscriptions/{id}/network-usage",
            get_with(
                subscription_usage,
                doc(
                    TAG,
                    P::NetworkRead,
                    "A subscription's data use this period, by day, against its allowance",
                ),
            ),
        )
        .api_route(
            "/me/network-usage",
            get_with(
                my_usage,
                doc(
                    TAG,
                    P::OwnAccount,
                    "A subscriber's data use this period, per subscription",
                ),
            ),
        )
        .api_route(
            "/radius-drops",
            get_with(
                radius_drops,
                doc(
                    TAG,
                    P::NetworkRead,
                    "RADIUS packets dropped before they reached the instance: from unknown NAS, with a wrong shared secret, malformed",
                ),
            ),
        )
        .api_route(
            "/auth-events",
            get_with(
                list_auth_events,
                doc(TAG, P::NetworkRead, "List RADIUS accepts and rejects"),
            ),
        )
}
