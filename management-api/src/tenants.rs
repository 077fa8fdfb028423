//! Tenant orchestration: create, list, read, change, scale and delete Tenants over HTTP. Reads
//! come from the reflector's cache (falling back to the API server for a tenant just made);
//! writes go to the Kubernetes API, whose schema validation answers bad specs.

use aide::axum::{
    ApiRouter,
    routing::{get_with, post_with},
};
use axum::{
    Extension, Json,
    extract::{OriginalUri, State},
};
use dotmac_web::{
    Accepted, Acknowledged, Created,
    extract::{Body, Params},
    page::{Page, Paged},
    problem::Problem,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
    runtime::{
        events::{Event, EventType, Recorder, Reporter},
        reflector::ObjectRef,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    AppState, Caller, audit, can_see, kube_error, page_limit, path::TenantId, tokens::Principal,
};
use crate::access::{Callers, doc};
use dotmac_platform::{
    catalog,
    crd::{Reseller, Tenant, TenantSpec, TenantStatus},
};

/// `POST /tenant-orchestration/deployments`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    /// The tenant's name (and id): a lowercase DNS label of at most 40 characters.
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = "^[a-z]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub name: String,
    /// The Tenant's spec, as in `kubectl explain tenant.spec`.
    pub spec: TenantSpec,
}

/// A tenant as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TenantView {
    /// Name (the tenant id).
    pub name: String,
    /// Spec.
    pub spec: TenantSpec,
    /// Status, once the operator has written one.
    pub status: Option<TenantStatus>,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            name: t.name_any(),
            spec: t.spec.clone(),
            status: t.status.clone(),
        }
    }
}

fn location(name: &str) -> String {
    format!("/api/v1/tenant-orchestration/deployments/{name}")
}

/// Whether `name` can name a Tenant: a lowercase DNS label of at most 40 characters.
fn valid_name(name: &str) -> bool {
    super::dns_label(name, 40)
}

/// A tenant `principal` may see, from the cache or (just made) the API server; 404 otherwise,
/// also for another reseller's tenant.
pub async fn visible(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<Tenant, Problem> {
    if !valid_name(name) {
        return Err(Problem::not_found("no such tenant"));
    }
    let tenant = match state.tenants().await?.get(&ObjectRef::new(name)) {
        Some(tenant) => (*tenant).clone(),
        None => Api::<Tenant>::all(state.client.clone())
            .get(name)
            .await
            .map_err(kube_error)?,
    };
    if can_see(principal, &tenant) {
        Ok(tenant)
    } else {
        Err(Problem::not_found("no such tenant"))
    }
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    Body(input): Body<NewDeployment>,
) -> Result<Created<TenantView>, Problem> {
    if !valid_name(&input.name) {
        return Err(Problem::invalid(
            "name",
            "must be a lowercase DNS label: a letter, then letters, digits or '-', at most 40",
        ));
    }
    let mut spec = input.spec;
    if let Some((field, message)) = spec.fault() {
        return Err(Problem::invalid(field, message));
    }
    if let Principal::Reseller(reseller) = &principal {
        if !spec.features.is_empty() {
            return Err(reserved("spec.features"));
        }
        if spec.limits.is_some() {
            return Err(reserved("spec.limits"));
        }
        let plan = serde_json::to_value(spec.plan).unwrap_or(Value::Null);
        reseller_sells(&state, reseller, &plan, "spec.plan").await?;
        match spec.reseller_ref.as_deref() {
            None => spec.reseller_ref = Some(reseller.clone()),
            Some(other) if other == reseller => {}
            Some(_) => {
                return Err(
                    Problem::forbidden("a reseller creates tenants only under itself")
                        .with_field("spec.resellerRef"),
                );
            }
        }
    }
    if let Some(reseller) = spec.reseller_ref.as_deref() {
        within_reseller_limits(&state, reseller, &spec).await?;
    }
    let tenant = Tenant::new(&input.name, spec);
    let created = Api::<Tenant>::all(state.client.clone())
        .create(&PostParams::default(), &tenant)
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %input.name, "tenant created through the API");
    let detail = json!({ "spec": created.spec });
    audit::record(
        &state.db,
        &caller,
        "tenant.created",
        audit::Concerns::tenant(&created),
        detail,
    )
    .await;
    Ok(Created::new(
        location(&input.name),
        TenantView::from(&created),
    ))
}

/// A 403 for a field only the platform's admins set: features and limits are what the
/// platform sells, not what a reseller chooses.
fn reserved(field: &str) -> Problem {
    Problem::forbidden(format!(
        "{field} is set by the platform's admins; a reseller chooses a plan among its allowedPlans"
    ))
    .with_field(field)
}

/// A reseller may choose only a plan in its `allowedPlans` (all when the list is empty);
/// 403 naming `field` otherwise.
async fn reseller_sells(
    state: &AppState,
    reseller: &str,
    plan: &Value,
    field: &str,
) -> Result<(), Problem> {
    let found = Api::<Reseller>::all(state.client.clone())
        .get_opt(reseller)
        .await
        .map_err(kube_error)?
        .ok_or_else(|| Problem::forbidden(format!("reseller {reseller} does not exist")))?;
    let allowed: Vec<Value> = found
        .spec
        .allowed_plans
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    if allowed.is_empty() || allowed.contains(plan) {
        return Ok(());
    }
    Err(Problem::forbidden(format!(
        "reseller {reseller} may sell only {}",
        json!(allowed)
    ))
    .with_field(field))
}

/// A tenant created through the API must respect its reseller's `allowedPlans` (422 on
/// `spec.plan`) and `maxTenants` (409). Tenants applied with kubectl are reported by the
/// Reseller's conditions instead.
async fn within_reseller_limits(
    state: &AppState,
    reseller: &str,
    spec: &TenantSpec,
) -> Result<(), Problem> {
    if !super::resellers::valid_name(reseller) {
        return Err(Problem::invalid(
            "spec.resellerRef",
            format!("no reseller named {reseller}"),
        ));
    }
    let Some(found) = Api::<Reseller>::all(state.client.clone())
        .get_opt(reseller)
        .await
        .map_err(kube_error)?
    else {
        return Err(Problem::invalid(
            "spec.resellerRef",
            format!("no reseller named {reseller}"),
        ));
    };
    if !found.spec.allowed_plans.is_empty() && !found.spec.allowed_plans.contains(&spec.plan) {
        return Err(Problem::invalid(
            "spec.plan",
            format!(
                "reseller {reseller} may sell only {}",
                json!(found.spec.allowed_plans)
            ),
        ));
    }
    if let Some(max) = found.spec.max_tenants {
        let current = state
            .tenants()
            .await?
            .state()
            .iter()
            .filter(|t| t.spec.reseller_ref.as_deref() == Some(reseller))
            .count();
        if current >= usize::try_from(max).unwrap_or(0) {
            return Err(Problem::conflict(format!(
                "reseller {reseller} has reached its limit of {max} tenants"
            ))
            .with_field("spec.resellerRef"));
        }
    }
    Ok(())
}

/// Filters of the tenant list.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    /// Only this phase (`Ready`).
    pub phase: Option<String>,
    /// Only this plan.
    pub plan: Option<String>,
    /// Only this reseller's.
    pub reseller: Option<String>,
    /// Page size, 1–200 (50).
    pub limit: Option<u64>,
    /// Name after which the page starts.
    pub cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<TenantQuery>,
) -> Result<Paged<TenantView, String>, Problem> {
    let limit = page_limit(query.limit)?;
    let mut tenants: Vec<TenantView> = state
        .tenants()
        .await?
        .state()
        .iter()
        .filter(|t| can_see(&principal, t))
        .filter(|t| {
            query.phase.as_ref().is_none_or(|p| {
                t.status
                    .as_ref()
                    .and_then(|s| s.phase)
                    .is_some_and(|phase| json!(phase) == json!(p))
            })
        })
        .filter(|t| {
            query
                .plan
                .as_ref()
                .is_none_or(|p| json!(t.spec.plan) == json!(p))
        })
        .filter(|t| {
            query
                .reseller
                .as_ref()
                .is_none_or(|r| t.spec.reseller_ref.as_ref() == Some(r))
        })
        .filter(|t| query.cursor.as_ref().is_none_or(|c| &t.name_any() > c))
        .map(|t| TenantView::from(t.as_ref()))
        .collect();
    tenants.sort_by(|a, b| a.name.cmp(&b.name));
    tenants.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
    Ok(Page::new(tenants, limit, |t: &TenantView| t.name.clone()).respond(&uri))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TenantId(name): TenantId,
) -> Result<Json<TenantView>, Problem> {
    Ok(Json(TenantView::from(
        &visible(&state, &principal, &name).await?,
    )))
}

/// Fields `PATCH` may change.
const PATCHABLE: &[&str] = &[
    "plan",
    "size",
    "version",
    "domain",
    "features",
    "autoscaling",
    "replicas",
    "suspended",
    "limits",
];

/// `PATCH …/{tenant_id}`: spec fields to change (`null` removes an optional one).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct DeploymentPatch(
    /// Any of plan, size, version, domain, features, autoscaling, replicas, suspended, limits.
    pub serde_json::Map<String, Value>,
);

async fn patch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    TenantId(name): TenantId,
    Body(DeploymentPatch(fields)): Body<DeploymentPatch>,
) -> Result<Json<TenantView>, Problem> {
    if let Some(field) = fields.keys().find(|k| !PATCHABLE.contains(&k.as_str())) {
        return Err(Problem::invalid(
            field.clone(),
            format!(
                "cannot be changed here; changeable: {}",
                PATCHABLE.join(", ")
            ),
        ));
    }
    if fields.is_empty() {
        return Err(Problem::invalid("", "name at least one field to change"));
    }
    let before = visible(&state, &principal, &name).await?;
    if let Principal::Reseller(reseller) = &principal {
        for field in ["features", "limits"] {
            if fields.contains_key(field) {
                return Err(reserved(field));
            }
        }
        if let Some(plan) = fields.get("plan") {
            reseller_sells(&state, reseller, plan, "plan").await?;
        }
    }
    let patched = Api::<Tenant>::all(state.client.clone())
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": fields})),
        )
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %name, fields = ?fields.keys().collect::<Vec<_>>(), "tenant changed through the API");
    let concerns = audit::Concerns::tenant(&before);
    audit::record(
        &state.db,
        &caller,
        "tenant.changed",
        concerns,
        json!({ "spec": fields }),
    )
    .await;
    Ok(Json(TenantView::from(&patched)))
}

/// `POST …/{tenant_id}/scale`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleRequest {
    /// Replicas, 1–20 (autoscaling is turned off).
    #[schemars(range(min = 1, max = 20))]
    pub replicas: i32,
    /// Why, recorded in a Kubernetes Event on the Tenant.
    #[schemars(length(min = 1, max = 200), regex(pattern = "\\S"))]
    pub reason: String,
}

async fn scale(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    TenantId(name): TenantId,
    Body(input): Body<ScaleRequest>,
) -> Result<Accepted<TenantView>, Problem> {
    if !(1..=20).contains(&input.replicas) {
        return Err(Problem::invalid("replicas", "must be 1 to 20"));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(Problem::invalid("reason", "must be 1 to 200 characters"));
    }
    visible(&state, &principal, &name).await?;
    let patched = Api::<Tenant>::all(state.client.clone())
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": input.replicas, "autoscaling": null}})),
        )
        .await
        .map_err(kube_error)?;
    let recorder = Recorder::new(
        state.client.clone(),
        Reporter {
            controller: "dotmac-api".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Scaled".into(),
        note: Some(format!("scaled to {} replicas: {reason}", input.replicas)),
        action: "Scale".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &patched.object_ref(&())).await {
        tracing::warn!(tenant = %name, %error, "recording the scale event failed");
    }
    tracing::info!(tenant = %name, replicas = input.replicas, reason, "tenant scaled through the API");
    let detail = json!({ "replicas": input.replicas, "reason": reason });
    audit::record(
        &state.db,
        &caller,
        "tenant.scaled",
        audit::Concerns::tenant(&patched),
        detail,
    )
    .await;
    Ok(Accepted::unlocated(TenantView::from(&patched)))
}

async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<Caller>,
    TenantId(name): TenantId,
) -> Result<Acknowledged, Problem> {
    let tenant = visible(&state, &principal, &name).await?;
    Api::<Tenant>::all(state.client.clone())
        .delete(&name, &DeleteParams::default())
        .await
        .map_err(kube_error)?;
    tracing::info!(tenant = %name, "tenant deletion requested through the API");
    audit::record(
        &state.db,
        &caller,
        "tenant.deleted",
        audit::Concerns::tenant(&tenant),
        json!({}),
    )
    .await;
    Ok(Acknowledged)
}

/// The features in force for a tenant.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EntitlementsView {
    /// Tenant.
    pub tenant: String,
    /// Its plan.
    pub plan: Value,
    /// Features in force: the plan's, licensed ones and overrides.
    pub features: Vec<String>,
}

async fn entitlements(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    TenantId(name): TenantId,
) -> Result<Json<EntitlementsView>, Problem> {
    let tenant = visible(&state, &principal, &name).await?;
    let licensed = catalog::licensed(
        state.licenses().await?.state().iter().map(AsRef::as_ref),
        &name,
    );
    Ok(Json(EntitlementsView {
        tenant: name,
        plan: json!(tenant.spec.plan),
        features: catalog::entitlements(&tenant.spec, licensed.iter().map(String::as_str)),
    }))
}

/// Tenant routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "tenants";
    ApiRouter::new()
        .api_route(
            "/tenant-orchestration/deployments",
            post_with(create, doc(TAG, Callers::People, "Create a Tenant")).get_with(
                list,
                doc(TAG, Callers::People, "List tenants (from the cache)"),
            ),
        )
        .api_route(
            "/tenant-orchestration/deployments/{tenant_id}",
            get_with(get_one, doc(TAG, Callers::People, "Read a tenant"))
                .patch_with(
                    patch,
                    doc(
                        TAG,
                        Callers::People,
                        "Change plan, size, version, domain, features, autoscaling",
                    ),
                )
                .delete_with(delete, doc(TAG, Callers::People, "Delete a tenant")),
        )
        .api_route(
            "/tenant-orchestration/deployments/{tenant_id}/scale",
            post_with(
                scale,
                doc(
                    TAG,
                    Callers::People,
                    "Scale a tenant (recorded as an Event)",
                ),
            ),
        )
        .api_route(
            "/plugins/entitlements/{tenant_id}",
            get_with(
                entitlements,
                doc("plugins", Callers::Anyone, "A tenant's features in force"),
            ),
        )
}
