//! The plugin catalog and license subscriptions: `GET /plugins/catalog` (plugins and plan
//! prices); `POST /plugins/subscriptions`, which creates a PluginLicense (a trial when the
//! plugin has trial days) for a tenant the caller may see and refuses a second live one for the
//! same plugin; listing and reading them; and `POST …/{name}/activate`, which ends its trial
//! (paid now).

use std::collections::BTreeMap;

use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::{
    Created,
    extract::{Body, Params},
    page::{Page, Paged},
    problem::Problem,
};
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams, PostParams},
    runtime::reflector::ObjectRef,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    AppState, can_see, kube_error, page_limit, path::Name, tenants::visible, tokens::Principal,
};
use crate::access::{Callers, doc};
use dotmac_platform::{
    catalog,
    crd::{
        PluginLicense, PluginLicenseSpec, PluginLicenseStatus, plugin_license::LicenseState,
        tenant::Plan,
    },
    license::is_live,
    plugins::Plugin,
};

/// A tenant plan with its list price.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanOffer {
    /// The plan.
    pub plan: Plan,
    /// Monthly price in minor units of `currency`.
    pub monthly_price: i64,
    /// ISO 4217 currency.
    pub currency: &'static str,
    /// Every feature it includes.
    pub features: Vec<&'static str>,
}

/// The catalog.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Catalog {
    /// Every plugin.
    pub items: Vec<Plugin>,
    /// Every tenant plan, cheapest first.
    pub plans: Vec<PlanOffer>,
}

async fn catalog(State(state): State<AppState>) -> Json<Catalog> {
    Json(Catalog {
        items: state.plugins.current().plugins.clone(),
        plans: catalog::PLANS
            .into_iter()
            .map(|plan| PlanOffer {
                plan,
                monthly_price: catalog::plan_price(plan),
                currency: catalog::CURRENCY,
                features: catalog::plan_features(plan).into_iter().collect(),
            })
            .collect(),
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

/// A license as the API shows it.
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
    Extension(caller): Extension<crate::Caller>,
    Extension(principal): Extension<Principal>,
    Body(input): Body<NewSubscription>,
) -> Result<Created<LicenseView>, Problem> {
    let catalog = state.plugins.current();
    let plugin = catalog
        .find(&input.plugin)
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
    let tenant_reseller = visible(&state, &principal, &input.tenant)
        .await?
        .spec
        .reseller_ref;
    let now = k8s_openapi::jiff::Timestamp::now();
    let licenses = state.licenses().await?.state();
    if let Some(held) = licenses.iter().find(|l| {
        l.spec.tenant_ref == input.tenant && l.spec.plugin == plugin.id && is_live(l, now)
    }) {
        return Err(Problem::conflict(format!(
            "tenant {} already holds {} with license {}",
            input.tenant,
            plugin.id,
            held.name_any()
        )));
    }
    let spec = PluginLicenseSpec {
        tenant_ref: input.tenant.clone(),
        plugin: plugin.id.to_owned(),
        tier: tier.name.to_owned(),
        trial_days: plugin.trial_days,
        valid_until: None,
        // The tier's limits apply through the catalog, so a catalog change reaches the license;
        // spec.limits is for this license's own overrides.
        limits: BTreeMap::new(),
        auto_renew: true,
        suspended: false,
    };
    let name = format!("{}-{}", input.tenant, plugin.id);
    let license = PluginLicense::new(&name, spec);
    let created = Api::<PluginLicense>::all(state.client.clone())
        .create(&PostParams::default(), &license)
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %input.tenant, plugin = plugin.id, tier = tier.name, trial_days = plugin.trial_days, "plugin license created through the API");
    let detail = json!({ "license": name, "plugin": plugin.id, "tier": tier.name, "trial_days": plugin.trial_days });
    let concerns = crate::audit::Concerns {
        tenant: Some(&input.tenant),
        reseller: tenant_reseller.as_deref(),
    };
    crate::audit::record(&state.db, &caller, "license.created", concerns, detail).await;
    let location = format!("/api/v1/plugins/subscriptions/{name}");
    Ok(Created::new(location, LicenseView::from(&created)))
}

impl From<&PluginLicense> for LicenseView {
    fn from(l: &PluginLicense) -> Self {
        Self {
            name: l.name_any(),
            spec: l.spec.clone(),
            status: l.status.clone(),
        }
    }
}

/// `GET /plugins/subscriptions` filters.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseQuery {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Name after which the page starts.
    pub cursor: Option<String>,
}

/// The licenses of the tenants the caller may see, by name, with their usage against limits.
async fn list_subscriptions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<LicenseQuery>,
) -> Result<Paged<LicenseView, String>, Problem> {
    let limit = page_limit(query.limit)?;
    let tenants = state.tenants().await?;
    let visible_tenant = |name: &str| {
        tenants
            .get(&ObjectRef::new(name))
            .is_some_and(|t| can_see(&principal, &t))
    };
    let mut items: Vec<LicenseView> = state
        .licenses()
        .await?
        .state()
        .iter()
        .filter(|l| {
            query
                .tenant
                .as_ref()
                .is_none_or(|t| &l.spec.tenant_ref == t)
        })
        .filter(|l| visible_tenant(&l.spec.tenant_ref))
        .filter(|l| query.cursor.as_ref().is_none_or(|c| &l.name_any() > c))
        .map(|l| LicenseView::from(l.as_ref()))
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    items.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
    Ok(Page::new(items, limit, |l: &LicenseView| l.name.clone()).respond(&uri))
}

/// The license `name` if the caller may see its tenant; 404 otherwise.
async fn license(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<PluginLicense, Problem> {
    let missing = || Problem::not_found("no such license");
    if !super::dns_label(name, 253) {
        return Err(missing());
    }
    let license = Api::<PluginLicense>::all(state.client.clone())
        .get_opt(name)
        .await
        .map_err(kube_error)?
        .ok_or_else(missing)?;
    visible(state, principal, &license.spec.tenant_ref)
        .await
        .map_err(|_| missing())?;
    Ok(license)
}

async fn get_subscription(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
) -> Result<Json<LicenseView>, Problem> {
    let license = license(&state, &principal, &name).await?;
    Ok(Json(LicenseView::from(&license)))
}

/// Ends a license's trial now: it becomes paid (Active) and counts in its reseller's revenue.
async fn activate(
    State(state): State<AppState>,
    Extension(caller): Extension<crate::Caller>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
) -> Result<Json<LicenseView>, Problem> {
    let license = license(&state, &principal, &name).await?;
    if license.spec.suspended {
        return Err(Problem::conflict(
            "the license is suspended; lift spec.suspended first",
        ));
    }
    if let Some(PluginLicenseStatus {
        state: Some(LicenseState::Expired),
        ..
    }) = &license.status
    {
        return Err(Problem::conflict(
            "the license has expired; subscribe again instead",
        ));
    }
    let patch = json!({"spec": {"trialDays": 0, "autoRenew": true}});
    let updated = Api::<PluginLicense>::all(state.client.clone())
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %updated.spec.tenant_ref, plugin = %updated.spec.plugin, "license converted to paid through the API");
    let detail = json!({ "license": name, "plugin": updated.spec.plugin });
    let reseller = state
        .tenants()
        .await?
        .get(&kube::runtime::reflector::ObjectRef::new(
            &updated.spec.tenant_ref,
        ))
        .and_then(|t| t.spec.reseller_ref.clone());
    let concerns = crate::audit::Concerns {
        tenant: Some(&updated.spec.tenant_ref),
        reseller: reseller.as_deref(),
    };
    crate::audit::record(&state.db, &caller, "license.activated", concerns, detail).await;
    Ok(Json(LicenseView::from(&updated)))
}

/// Plugin routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "plugins";
    ApiRouter::new()
        .api_route(
            "/plugins/catalog",
            get_with(catalog, doc(TAG, Callers::Anyone, "The plugin catalog")),
        )
        .api_route(
            "/plugins/subscriptions",
            post_with(
                subscribe,
                doc(
                    TAG, Callers::People,
                    "License a plugin for a tenant (a trial when the plugin has trial days; 409 when the tenant holds it already)",
                ),
            )
            .get_with(
                list_subscriptions,
                doc(TAG, Callers::People, "List licenses with their usage against limits (a reseller: its tenants')"),
            ),
        )
        .api_route(
            "/plugins/subscriptions/{name}",
            get_with(get_subscription, doc(TAG, Callers::People, "Read a license")),
        )
        .api_route(
            "/plugins/subscriptions/{name}/activate",
            post_with(activate, doc(TAG, Callers::People, "End a license's trial: paid from now")),
        )
}
