//! The plugin catalog and licence subscriptions: `GET /plugins/catalog` and
//! `POST /plugins/subscriptions`, which creates a PluginLicense (a trial when the plugin has
//! trial days) for a tenant the caller may see.

use std::collections::BTreeMap;

use axum::{
    Extension, Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use dotmac_web::{extract::Body, problem::Problem};
use kube::{Api, ResourceExt, api::PostParams};
use serde::{Deserialize, Serialize};

use super::{AppState, kube_error, tenants::visible, tokens::Principal};
use crate::{
    crd::{PluginLicense, PluginLicenseSpec, PluginLicenseStatus},
    plugins::{self, CATALOG, Plugin},
};

/// The catalog.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Catalog {
    /// Every plugin.
    pub items: Vec<Plugin>,
}

async fn catalog() -> Json<Catalog> {
    Json(Catalog {
        items: CATALOG.to_vec(),
    })
}

/// `POST /plugins/subscriptions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The tenant.
    #[schemars(length(min = 1, max = 40))]
    pub tenant: String,
    /// Catalog id of the plugin.
    #[schemars(length(min = 1, max = 63))]
    pub plugin: String,
    /// Tier; the plugin's first by default.
    pub tier: Option<String>,
}

/// A licence as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LicenseView {
    /// The PluginLicense's name (`<tenant>-<plugin>`).
    pub name: String,
    /// Spec.
    pub spec: PluginLicenseSpec,
    /// Status, once the operator has written one.
    pub status: Option<PluginLicenseStatus>,
}

async fn subscribe(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Body(input): Body<NewSubscription>,
) -> Result<Response, Problem> {
    if let Principal::Tenant(_) = principal {
        return Err(Problem::forbidden(
            "a tenant token may only report telemetry and usage",
        ));
    }
    let plugin = plugins::find(&input.plugin)
        .ok_or_else(|| Problem::invalid("plugin", "no such plugin in the catalog"))?;
    let tier = match input.tier.as_deref() {
        Some(name) => plugin
            .tier(name)
            .ok_or_else(|| Problem::invalid("tier", format!("{} has no tier {name}", plugin.id)))?,
        None => plugin
            .tiers
            .first()
            .ok_or_else(|| Problem::invalid("plugin", "the plugin has no tiers"))?,
    };
    visible(&state, &principal, &input.tenant).await?;
    let spec = PluginLicenseSpec {
        tenant_ref: input.tenant.clone(),
        plugin: plugin.id.to_owned(),
        tier: tier.name.to_owned(),
        trial_days: plugin.trial_days,
        valid_until: None,
        limits: tier
            .limits
            .iter()
            .map(|(m, l)| ((*m).to_owned(), *l))
            .collect::<BTreeMap<_, _>>(),
        auto_renew: true,
        suspended: false,
    };
    let name = format!("{}-{}", input.tenant, plugin.id);
    let license = PluginLicense::new(&name, spec);
    let created = Api::<PluginLicense>::all(state.client.clone())
        .create(&PostParams::default(), &license)
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %input.tenant, plugin = plugin.id, tier = tier.name, trial_days = plugin.trial_days, "plugin licence created through the API");
    let view = LicenseView {
        name: created.name_any(),
        spec: created.spec.clone(),
        status: created.status.clone(),
    };
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(value) = format!("/api/v1/plugins/subscriptions/{name}").parse() {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    Ok(response)
}

/// Plugin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plugins/catalog", get(catalog))
        .route("/plugins/subscriptions", post(subscribe))
}
