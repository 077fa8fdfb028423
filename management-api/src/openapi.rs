//! The management API's OpenAPI 3.1 document, built from the request and response types.

use std::sync::OnceLock;

use axum::Json;
use dotmac_web::{page::Page, problem::Problem};
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use super::{
    plugins::{Catalog, LicenseView, NewSubscription},
    resellers::{
        CommissionQuery, CommissionView, NewReseller, ResellerList, ResellerTenants, ResellerView,
    },
    tenants::{
        DeploymentPatch, EntitlementsView, NewDeployment, ScaleRequest, TenantQuery, TenantView,
    },
};
use dotmac_contract::reporting::{
    Alert, AlertRecorded, HealthReport, Ingested, MetricsBatch, UsageBatch,
};

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(spec).clone())
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

/// The optional query parameters a query struct's schema describes.
fn query_parameters(query: &Value) -> Vec<Value> {
    query["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| json!({"name": name, "in": "query", "required": false, "schema": s}))
                .collect()
        })
        .unwrap_or_default()
}

/// The document as committed under `openapi/`: pretty-printed JSON with a final newline.
pub fn pretty() -> String {
    format!("{:#}\n", spec())
}

/// The document, as `GET /api/v1/openapi.json` serves it and `openapi/` holds it.
pub fn spec() -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas/".into())
        .into_generator();
    let tenant = schema::<TenantView>(&mut g);
    let page = schema::<Page<TenantView, String>>(&mut g);
    let problem = schema::<Problem>(&mut g);
    let query = schemars::schema_for!(TenantQuery).to_value();
    let id =
        json!({"name": "tenant_id", "in": "path", "required": true, "schema": {"type": "string"}});
    let query_params = query_parameters(&query);
    let errors = json!({
        "4XX": {"description": "Bad input, credentials or state (RFC 9457)", "content": {"application/problem+json": {"schema": problem}}},
        "5XX": {"description": "Server error (RFC 9457)", "content": {"application/problem+json": {"schema": problem}}},
    });
    let op = |summary: &str,
              params: Vec<Value>,
              body: Option<Value>,
              status: &str,
              response: Option<Value>| {
        let mut responses: Map<String, Value> = errors.as_object().cloned().unwrap_or_default();
        let mut ok = json!({"description": "Success"});
        if let Some(schema) = response {
            ok["content"] = json!({"application/json": {"schema": schema}});
        }
        responses.insert(status.to_owned(), ok);
        let mut operation =
            json!({"summary": summary, "parameters": params, "responses": responses});
        if let Some(schema) = body {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        operation
    };
    let recorded = schema::<AlertRecorded>(&mut g);
    let license = schema::<LicenseView>(&mut g);
    let name =
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut commission_params = vec![name.clone()];
    commission_params.extend(query_parameters(
        &schemars::schema_for!(CommissionQuery).to_value(),
    ));
    let mut paths = json!({
        "/tenant-orchestration/deployments": {
            "post": op("Create a Tenant", vec![], Some(schema::<NewDeployment>(&mut g)), "201", Some(tenant.clone())),
            "get": op("List tenants (from the cache)", query_params, None, "200", Some(page)),
        },
        "/tenant-orchestration/deployments/{tenant_id}": {
            "get": op("Read a tenant", vec![id.clone()], None, "200", Some(tenant.clone())),
            "patch": op("Change plan, size, version, domain, features, autoscaling", vec![id.clone()], Some(schema::<DeploymentPatch>(&mut g)), "200", Some(tenant.clone())),
            "delete": op("Delete a tenant", vec![id.clone()], None, "202", None),
        },
        "/tenant-orchestration/deployments/{tenant_id}/scale": {
            "post": op("Scale a tenant (recorded as an Event)", vec![id.clone()], Some(schema::<ScaleRequest>(&mut g)), "202", Some(tenant)),
        },
        "/plugins/entitlements/{tenant_id}": {
            "get": op("A tenant's features in force", vec![id], None, "200", Some(schema::<EntitlementsView>(&mut g))),
        },
        "/plugins/usage-events": {
            "post": op("Report usage events (idempotent per key)", vec![], Some(schema::<UsageBatch>(&mut g)), "200", Some(schema::<Ingested>(&mut g))),
        },
        "/monitoring/health-checks": {
            "post": op("Report an instance's health", vec![], Some(schema::<HealthReport>(&mut g)), "202", None),
        },
        "/monitoring/alerts": {
            "post": op("Report an alert (the same name within an hour counts up)", vec![], Some(schema::<Alert>(&mut g)), "201", Some(recorded.clone())),
        },
        "/monitoring/metrics": {
            "post": op("Report metric samples", vec![], Some(schema::<MetricsBatch>(&mut g)), "202", None),
        },
        "/plugins/catalog": {
            "get": op("The plugin catalog", vec![], None, "200", Some(schema::<Catalog>(&mut g))),
        },
        "/plugins/subscriptions": {
            "post": op("License a plugin for a tenant (a trial when the plugin has trial days; 409 when the tenant holds it already)", vec![], Some(schema::<NewSubscription>(&mut g)), "201", Some(license.clone())),
        },
        "/plugins/subscriptions/{name}": {
            "get": op("Read a license", vec![name.clone()], None, "200", Some(license.clone())),
        },
        "/plugins/subscriptions/{name}/activate": {
            "post": op("End a license's trial: paid from now", vec![name.clone()], None, "200", Some(license)),
        },
        "/resellers": {
            "get": op("List resellers (a reseller sees itself)", vec![], None, "200", Some(schema::<ResellerList>(&mut g))),
            "post": op("Create a Reseller (admin)", vec![], Some(schema::<NewReseller>(&mut g)), "201", Some(schema::<ResellerView>(&mut g))),
        },
        "/resellers/{name}/tenants": {
            "get": op("A reseller's tenants", vec![name.clone()], None, "200", Some(schema::<ResellerTenants>(&mut g))),
        },
        "/resellers/{name}/commissions": {
            "get": op("A reseller's commission ledger, newest month first", commission_params, None, "200", Some(schema::<Page<CommissionView, String>>(&mut g))),
        },
    });
    paths["/monitoring/alerts"]["post"]["responses"]["200"] = json!({
        "description": "Counted on the same alert seen within the hour",
        "content": {"application/json": {"schema": recorded}},
    });
    let schemas: Map<String, Value> = g.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "DotMac management API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
}
