//! Resellers: admins list and create them; a reseller reads itself, its tenants and its
//! commission ledger.

use aide::axum::{ApiRouter, routing::get_with};
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
use kube::{Api, ResourceExt, api::PostParams};
use serde::{Deserialize, Serialize};

use super::{
    AppState, NamePage, db_error, kube_error, page_limit, path::Name, tenants::TenantView,
    tokens::Principal,
};
use crate::access::{Callers, doc};
use dotmac_metering::entity::commission;
use dotmac_platform::{
    crd::{Reseller, ResellerSpec, ResellerStatus, common::Money},
    reseller::TenantRevenue,
};

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

/// Whether `name` can name a Reseller (a DNS label of at most 63 characters).
pub fn valid_name(name: &str) -> bool {
    super::dns_label(name, 63)
}

async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<NamePage>,
) -> Result<Paged<ResellerView, String>, Problem> {
    let limit = page_limit(query.limit)?;
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
    let mut items: Vec<ResellerView> = items
        .iter()
        .filter(|r| query.cursor.as_ref().is_none_or(|c| &r.name_any() > c))
        .map(ResellerView::from)
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    items.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
    Ok(Page::new(items, limit, |r: &ResellerView| r.name.clone()).respond(&uri))
}

async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(caller): Extension<crate::Caller>,
    Body(input): Body<NewReseller>,
) -> Result<Created<ResellerView>, Problem> {
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
    let detail = serde_json::json!({ "reseller": input.name, "spec": created.spec });
    let concerns = crate::audit::Concerns {
        tenant: None,
        reseller: Some(&input.name),
    };
    crate::audit::record(&state.db, &caller, "reseller.created", concerns, detail).await;
    let location = format!("/api/v1/resellers/{}", input.name);
    Ok(Created::new(location, ResellerView::from(&created)))
}

/// A reseller's tenants.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ResellerTenants {
    /// Tenants whose `resellerRef` is this reseller, by name.
    pub items: Vec<TenantView>,
}

/// Checks that `principal` may see reseller `name` and that it exists: 404 otherwise, also
/// for another reseller's.
/// The reseller `name` if the principal may see it (an admin any, a reseller itself); 404
/// otherwise.
async fn visible_reseller(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<Reseller, Problem> {
    let allowed = match principal {
        Principal::Admin => true,
        Principal::Reseller(own) => own == name,
        Principal::Tenant(_) => false,
    };
    if !allowed || !valid_name(name) {
        return Err(Problem::not_found("no such reseller"));
    }
    Api::<Reseller>::all(state.client.clone())
        .get_opt(name)
        .await
        .map_err(kube_error)?
        .ok_or_else(|| Problem::not_found("no such reseller"))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
) -> Result<Json<ResellerView>, Problem> {
    let found = visible_reseller(&state, &principal, &name).await?;
    Ok(Json(ResellerView::from(&found)))
}

async fn tenants(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
) -> Result<Json<ResellerTenants>, Problem> {
    visible_reseller(&state, &principal, &name).await?;
    let mut items: Vec<TenantView> = state
        .tenants()
        .await?
        .state()
        .iter()
        .filter(|t| t.spec.reseller_ref.as_deref() == Some(name.as_str()))
        .map(|t| TenantView::from(t.as_ref()))
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(ResellerTenants { items }))
}

/// One month of a reseller's commission ledger.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionView {
    /// Month, `2026-11`.
    pub period: String,
    /// Tenants counted.
    pub tenants: i64,
    /// Monthly recurring revenue of those tenants at catalog prices.
    pub monthly_recurring_revenue: Money,
    /// Commission rate in percent.
    pub rate_percent: String,
    /// Commission accrued for the month.
    pub commission: Money,
    /// Revenue per tenant.
    pub lines: Vec<TenantRevenue>,
    /// When the controller last changed the row; a past month's row no longer changes.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<commission::Model> for CommissionView {
    fn from(row: commission::Model) -> Self {
        let money = |amount_minor| Money {
            amount_minor,
            currency: row.currency.clone(),
        };
        Self {
            period: row.period.clone(),
            tenants: row.tenants,
            monthly_recurring_revenue: money(row.mrr_minor),
            rate_percent: row.rate_percent.clone(),
            commission: money(row.commission_minor),
            lines: serde_json::from_value(row.lines.clone()).unwrap_or_default(),
            updated_at: row.updated_at,
        }
    }
}

/// `GET /resellers/{name}/commissions` query.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionQuery {
    /// Months per page, 1–200 (50).
    pub limit: Option<u64>,
    /// Months before this one (`2026-11`), from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Whether `value` is a month such as `2026-11`.
fn is_month(value: &str) -> bool {
    chrono::NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").is_ok()
        && value.len() == 7
}

async fn commissions(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Name(name): Name,
    OriginalUri(uri): OriginalUri,
    Params(query): Params<CommissionQuery>,
) -> Result<Paged<CommissionView, String>, Problem> {
    visible_reseller(&state, &principal, &name).await?;
    let limit = page_limit(query.limit)?;
    if let Some(cursor) = &query.cursor
        && !is_month(cursor)
    {
        return Err(Problem::invalid(
            "cursor",
            "must be a month such as 2026-11",
        ));
    }
    let rows =
        dotmac_metering::commissions::history(&state.db, &name, query.cursor.as_deref(), limit + 1)
            .await
            .map_err(db_error)?;
    let items: Vec<CommissionView> = rows.into_iter().map(CommissionView::from).collect();
    Ok(Page::new(items, limit, |c: &CommissionView| c.period.clone()).respond(&uri))
}

/// Reseller routes.
pub fn routes() -> ApiRouter<AppState> {
    const TAG: &str = "resellers";
    ApiRouter::new()
        .api_route(
            "/resellers",
            get_with(
                list,
                doc(
                    TAG,
                    Callers::People,
                    "List resellers (a reseller sees itself)",
                ),
            )
            .post_with(
                create,
                doc(TAG, Callers::Admins, "Create a Reseller (admin)"),
            ),
        )
        .api_route(
            "/resellers/{name}",
            get_with(
                get_one,
                doc(TAG, Callers::People, "Read a reseller (a reseller: itself)"),
            ),
        )
        .api_route(
            "/resellers/{name}/tenants",
            get_with(tenants, doc(TAG, Callers::People, "A reseller's tenants")),
        )
        .api_route(
            "/resellers/{name}/commissions",
            get_with(
                commissions,
                doc(
                    TAG,
                    Callers::People,
                    "A reseller's commission ledger, newest month first",
                ),
            ),
        )
}
