//! Resellers: admins list and create them; a reseller reads itself and its tenants.

use axum::{
    Extension, Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use dotmac_web::{extract::Body, problem::Problem};
use kube::{Api, ResourceExt, api::PostParams};
use serde::{Deserialize, Serialize};

use super::{AppState, kube_error, tenants::TenantView, tokens::Principal};
use crate::crd::{Reseller, ResellerSpec, ResellerStatus};

/// `POST /resellers`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReseller {
    /// Name: a lowercase DNS label of at most 63 characters.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = "^[a-z]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub name: String,
    /// The Reseller's spec, as in `kubectl explain reseller.spec`.
    pub spec: ResellerSpec,
}

/// A reseller as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResellerView {
    /// Name.
    pub name: String,
    /// Spec.
    pub spec: ResellerSpec,
    /// Status, once the operator has written one.
    pub status: Option<ResellerStatus>,
}

impl From<&Reseller> for ResellerView {
    fn from(r: &Reseller) -> Self {
        Self {
            name: r.name_any(),
            spec: r.spec.clone(),
            status: r.status.clone(),
        }
    }
}

/// The resellers a principal may see.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResellerList {
    /// Resellers, by name.
    pub items: Vec<ResellerView>,
}

/// Whether `name` can name a Reseller (a DNS label of at most 63 characters).
pub fn valid_name(name: &str) -> bool {
    super::dns_label(name, 63)
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<ResellerList>, Problem> {
    let api = Api::<Reseller>::all(state.client.clone());
    let items = match &principal {
        Principal::Admin => {
            api.list(&Default::default())
                .await
                .map_err(kube_error)?
                .items
        }
        Principal::Reseller(own) => api
            .get_opt(own)
            .await
            .map_err(kube_error)?
            .into_iter()
            .collect(),
        Principal::Tenant(_) => {
            return Err(Problem::forbidden(
                "a tenant token may only report telemetry and usage",
            ));
        }
    };
    let mut items: Vec<ResellerView> = items.iter().map(ResellerView::from).collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(ResellerList { items }))
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(input): Body<NewReseller>,
) -> Result<Response, Problem> {
    if principal != Principal::Admin {
        return Err(Problem::forbidden("only an admin creates resellers"));
    }
    if !valid_name(&input.name) {
        return Err(Problem::invalid(
            "name",
            "must be a lowercase DNS label of at most 63 characters",
        ));
    }
    let reseller = Reseller::new(&input.name, input.spec);
    let created = Api::<Reseller>::all(state.client.clone())
        .create(&PostParams::default(), &reseller)
        .await
        .map_err(kube_error)?;
    let mut response = (StatusCode::CREATED, Json(ResellerView::from(&created))).into_response();
    if let Ok(value) = format!("/api/v1/resellers/{}", input.name).parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    Ok(response)
}

/// A reseller's tenants.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResellerTenants {
    /// Tenants whose `resellerRef` is this reseller, by name.
    pub items: Vec<TenantView>,
}

async fn tenants(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<ResellerTenants>, Problem> {
    let allowed = match &principal {
        Principal::Admin => true,
        Principal::Reseller(own) => *own == name,
        Principal::Tenant(_) => false,
    };
    if !allowed || !valid_name(&name) {
        return Err(Problem::not_found("no such reseller"));
    }
    Api::<Reseller>::all(state.client.clone())
        .get_opt(&name)
        .await
        .map_err(kube_error)?
        .ok_or_else(|| Problem::not_found("no such reseller"))?;
    let mut items: Vec<TenantView> = state
        .tenants
        .state()
        .iter()
        .filter(|t| t.spec.reseller_ref.as_deref() == Some(name.as_str()))
        .map(|t| TenantView::from(t.as_ref()))
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(ResellerTenants { items }))
}

/// Reseller routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/resellers", get(list).post(create))
        .route("/resellers/{name}/tenants", get(tenants))
}
