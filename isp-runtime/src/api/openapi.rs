//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, built from the same Rust types the
//! handlers read and write (their JSON Schemas come from `schemars`, draft 2020-12, which is
//! OpenAPI 3.1's dialect), so it cannot drift from the code.

use std::sync::OnceLock;

use axum::Json;
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use super::{Page, problem::Problem};
use crate::{
    audit::{AuditQuery, AuditView},
    billing::{
        invoices::{InvoiceQuery, InvoiceView, IssueRequest, NewInvoice},
        payments::{
            CreditNoteQuery, CreditNoteView, NewCreditNote, NewPayment, NewRefund, PaymentQuery,
            PaymentReceipt, PaymentView, RefundView,
        },
        runs::{NewRun, RunQuery, RunView},
        subscriptions::{
            ChangeOutcome, Effective, NewSubscription, PlanChange, SubscriptionQuery,
            SubscriptionView,
        },
        usage_charges::{NewUsageCharge, UsageChargeView, UsageQuery},
    },
    catalog::{NewPlan, NewTaxRate, PlanPatch, PlanQuery, PlanView, TaxQuery, TaxRateView},
    customers::{CustomerPatch, CustomerQuery, CustomerView, NewCustomer},
    domain::dunning::DunningPolicy,
};

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(spec).clone())
}

/// POST routes that take an `Idempotency-Key` header and answer a replay with 200.
const IDEMPOTENT: &[&str] = &["/payments", "/subscriptions/{id}/usage-charges"];

/// One operation of the document.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    query: Option<Value>,
    body: Option<Value>,
    body_required: bool,
    status: u16,
    response: Option<Value>,
}

struct Builder {
    generator: SchemaGenerator,
    ops: Vec<Op>,
}

impl Builder {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call per operation reads like a table"
    )]
    fn op(
        &mut self,
        method: &'static str,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
        query: Option<Value>,
        body: Option<(Value, bool)>,
        status: u16,
        response: Option<Value>,
    ) {
        let (body, body_required) = match body {
            Some((schema, required)) => (Some(schema), required),
            None => (None, false),
        };
        self.ops.push(Op {
            method,
            path,
            summary,
            tag,
            query,
            body,
            body_required,
            status,
            response,
        });
    }
}

fn parameters(op: &Op) -> Vec<Value> {
    let mut parameters = Vec::new();
    if op.path.contains("{id}") {
        parameters.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if let Some(query) = &op.query {
        let required: Vec<&str> = query["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = query["properties"].as_object() {
            for (name, schema) in properties {
                let mut schema = schema.clone();
                let description = schema.as_object_mut().and_then(|s| s.remove("description"));
                let mut parameter = json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema});
                if let Some(description) = description {
                    parameter["description"] = description;
                }
                parameters.push(parameter);
            }
        }
    }
    parameters
}

/// The document as committed under `openapi/`: pretty-printed JSON with a final newline.
pub fn pretty() -> String {
    format!("{:#}\n", spec())
}

/// The document, as `GET /api/v1/openapi.json` serves it and `openapi/` holds it.
pub fn spec() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas/".into())
        .into_generator();
    let mut b = Builder {
        generator,
        ops: Vec::new(),
    };

    let s = (b.schema::<NewCustomer>(), true);
    let r = b.schema::<CustomerView>();
    b.op(
        "post",
        "/customers",
        "customers",
        "Create a customer",
        None,
        Some(s),
        201,
        Some(r.clone()),
    );
    let page = b.schema::<Page<CustomerView>>();
    let q = schemars::schema_for!(CustomerQuery).to_value();
    b.op(
        "get",
        "/customers",
        "customers",
        "List customers",
        Some(q),
        None,
        200,
        Some(page),
    );
    b.op(
        "get",
        "/customers/{id}",
        "customers",
        "Read a customer",
        None,
        None,
        200,
        Some(r.clone()),
    );
    let s = (b.schema::<CustomerPatch>(), true);
    b.op(
        "patch",
        "/customers/{id}",
        "customers",
        "Change a customer",
        None,
        Some(s),
        200,
        Some(r.clone()),
    );
    for (path, summary) in [
        ("/customers/{id}/activate", "Activate a pending customer"),
        ("/customers/{id}/suspend", "Suspend a customer"),
        ("/customers/{id}/resume", "Resume a suspended customer"),
        (
            "/customers/{id}/cancel",
            "Cancel a customer (its subscriptions first)",
        ),
    ] {
        b.op(
            "post",
            path,
            "customers",
            summary,
            None,
            None,
            200,
            Some(r.clone()),
        );
    }

    let s = (b.schema::<NewPlan>(), true);
    let r = b.schema::<PlanView>();
    b.op(
        "post",
        "/plans",
        "plans",
        "Create a plan",
        None,
        Some(s),
        201,
        Some(r.clone()),
    );
    let page = b.schema::<Page<PlanView>>();
    let q = schemars::schema_for!(PlanQuery).to_value();
    b.op(
        "get",
        "/plans",
        "plans",
        "List plans",
        Some(q),
        None,
        200,
        Some(page),
    );
    b.op(
        "get",
        "/plans/{id}",
        "plans",
        "Read a plan",
        None,
        None,
        200,
        Some(r.clone()),
    );
    let s = (b.schema::<PlanPatch>(), true);
    b.op(
        "patch",
        "/plans/{id}",
        "plans",
        "Change a plan (no price cut while subscribed)",
        None,
        Some(s),
        200,
        Some(r),
    );

    let s = (b.schema::<NewSubscription>(), true);
    let r = b.schema::<SubscriptionView>();
    b.op(
        "post",
        "/subscriptions",
        "subscriptions",
        "Create a pending subscription",
        None,
        Some(s),
        201,
        Some(r.clone()),
    );
    let page = b.schema::<Page<SubscriptionView>>();
    let q = schemars::schema_for!(SubscriptionQuery).to_value();
    b.op(
        "get",
        "/subscriptions",
        "subscriptions",
        "List subscriptions",
        Some(q),
        None,
        200,
        Some(page),
    );
    b.op(
        "get",
        "/subscriptions/{id}",
        "subscriptions",
        "Read a subscription",
        None,
        None,
        200,
        Some(r.clone()),
    );
    let outcome = b.schema::<ChangeOutcome>();
    let effective = b.schema::<Effective>();
    b.op(
        "post",
        "/subscriptions/{id}/activate",
        "subscriptions",
        "Activate, billing the rest of the period",
        None,
        Some((effective.clone(), false)),
        200,
        Some(outcome.clone()),
    );
    b.op(
        "post",
        "/subscriptions/{id}/suspend",
        "subscriptions",
        "Suspend",
        None,
        None,
        200,
        Some(r),
    );
    b.op(
        "post",
        "/subscriptions/{id}/resume",
        "subscriptions",
        "Resume",
        None,
        Some((effective.clone(), false)),
        200,
        Some(outcome.clone()),
    );
    b.op(
        "post",
        "/subscriptions/{id}/cancel",
        "subscriptions",
        "Cancel, crediting unused days",
        None,
        Some((effective, false)),
        200,
        Some(outcome.clone()),
    );
    let s = (b.schema::<PlanChange>(), true);
    b.op(
        "post",
        "/subscriptions/{id}/change-plan",
        "subscriptions",
        "Upgrade or downgrade with proration",
        None,
        Some(s),
        200,
        Some(outcome),
    );
    let s = (b.schema::<NewUsageCharge>(), true);
    let r = b.schema::<UsageChargeView>();
    b.op(
        "post",
        "/subscriptions/{id}/usage-charges",
        "subscriptions",
        "Record a usage charge, billed in arrears (needs advanced_billing)",
        None,
        Some(s),
        201,
        Some(r.clone()),
    );
    let page = b.schema::<Page<UsageChargeView>>();
    let q = schemars::schema_for!(UsageQuery).to_value();
    b.op(
        "get",
        "/subscriptions/{id}/usage-charges",
        "subscriptions",
        "List a subscription's usage charges",
        Some(q),
        None,
        200,
        Some(page),
    );
    b.op(
        "get",
        "/usage-charges/{id}",
        "subscriptions",
        "Get a usage charge",
        None,
        None,
        200,
        Some(r),
    );

    let s = (b.schema::<NewTaxRate>(), true);
    let r = b.schema::<TaxRateView>();
    b.op(
        "post",
        "/tax-rates",
        "taxes",
        "Create a tax rate",
        None,
        Some(s),
        201,
        Some(r),
    );
    let page = b.schema::<Page<TaxRateView>>();
    let q = schemars::schema_for!(TaxQuery).to_value();
    b.op(
        "get",
        "/tax-rates",
        "taxes",
        "List tax rates",
        Some(q),
        None,
        200,
        Some(page),
    );

    let s = (b.schema::<NewInvoice>(), true);
    let r = b.schema::<InvoiceView>();
    b.op(
        "post",
        "/invoices",
        "invoices",
        "Create a draft invoice",
        None,
        Some(s),
        201,
        Some(r.clone()),
    );
    let page = b.schema::<Page<InvoiceView>>();
    let q = schemars::schema_for!(InvoiceQuery).to_value();
    b.op(
        "get",
        "/invoices",
        "invoices",
        "List invoices by customer, status and issue date",
        Some(q),
        None,
        200,
        Some(page),
    );
    b.op(
        "get",
        "/invoices/{id}",
        "invoices",
        "Read an invoice with its lines",
        None,
        None,
        200,
        Some(r.clone()),
    );
    let s = (b.schema::<IssueRequest>(), false);
    b.op(
        "post",
        "/invoices/{id}/issue",
        "invoices",
        "Issue a draft (assigns its number)",
        None,
        Some(s),
        200,
        Some(r.clone()),
    );
    b.op(
        "post",
        "/invoices/{id}/void",
        "invoices",
        "Void an invoice without payments",
        None,
        None,
        200,
        Some(r),
    );

    let s = (b.schema::<NewPayment>(), true);
    let receipt = b.schema::<PaymentReceipt>();
    b.op(
        "post",
        "/payments",
        "payments",
        "Record a payment",
        None,
        Some(s),
        201,
        Some(receipt),
    );
    let page = b.schema::<Page<PaymentView>>();
    let q = schemars::schema_for!(PaymentQuery).to_value();
    b.op(
        "get",
        "/payments",
        "payments",
        "List payments",
        Some(q),
        None,
        200,
        Some(page),
    );
    let r = b.schema::<PaymentView>();
    b.op(
        "get",
        "/payments/{id}",
        "payments",
        "Read a payment",
        None,
        None,
        200,
        Some(r),
    );
    let s = (b.schema::<NewRefund>(), true);
    let r = b.schema::<RefundView>();
    b.op(
        "post",
        "/payments/{id}/refunds",
        "payments",
        "Refund part or all of a payment",
        None,
        Some(s),
        201,
        Some(r),
    );
    let s = (b.schema::<NewCreditNote>(), true);
    let r = b.schema::<CreditNoteView>();
    b.op(
        "post",
        "/credit-notes",
        "payments",
        "Credit an issued invoice",
        None,
        Some(s),
        201,
        Some(r),
    );
    let page = b.schema::<Page<CreditNoteView>>();
    let q = schemars::schema_for!(CreditNoteQuery).to_value();
    b.op(
        "get",
        "/credit-notes",
        "payments",
        "List credit notes",
        Some(q),
        None,
        200,
        Some(page),
    );

    let s = b.schema::<NewRun>();
    let r = b.schema::<RunView>();
    let page = b.schema::<Page<RunView>>();
    let q = schemars::schema_for!(RunQuery).to_value();
    for (base, one) in [
        ("/billing-runs", "/billing-runs/{id}"),
        ("/dunning-runs", "/dunning-runs/{id}"),
    ] {
        b.op(
            "post",
            base,
            "runs",
            "Queue a run for a date",
            None,
            Some((s.clone(), false)),
            202,
            Some(r.clone()),
        );
        b.op(
            "get",
            base,
            "runs",
            "List runs",
            Some(q.clone()),
            None,
            200,
            Some(page.clone()),
        );
        b.op(
            "get",
            one,
            "runs",
            "Read a run and its progress",
            None,
            None,
            200,
            Some(r.clone()),
        );
    }

    let policy = b.schema::<DunningPolicy>();
    b.op(
        "get",
        "/dunning/policy",
        "dunning",
        "Read the dunning policy",
        None,
        None,
        200,
        Some(policy.clone()),
    );
    b.op(
        "put",
        "/dunning/policy",
        "dunning",
        "Replace the dunning policy",
        None,
        Some((policy.clone(), true)),
        200,
        Some(policy),
    );

    let page = b.schema::<Page<AuditView>>();
    let q = schemars::schema_for!(AuditQuery).to_value();
    b.op(
        "get",
        "/audit-log",
        "audit",
        "Read the audit log",
        Some(q),
        None,
        200,
        Some(page),
    );

    let problem = b.schema::<Problem>();
    let mut paths = Map::new();
    for op in &b.ops {
        let mut responses = Map::new();
        let mut success = json!({"description": "Success"});
        if let Some(schema) = &op.response {
            success["content"] = json!({"application/json": {"schema": schema}});
        }
        let idempotent = op.method == "post" && IDEMPOTENT.contains(&op.path);
        if idempotent {
            let mut replay = success.clone();
            replay["description"] = json!(
                "A replay: an earlier request with the same Idempotency-Key, as it was recorded"
            );
            responses.insert("200".into(), replay);
        }
        responses.insert(op.status.to_string(), success);
        responses.insert("4XX".into(), json!({"description": "Bad input, credentials, state or rate (RFC 9457)", "content": {"application/problem+json": {"schema": problem}}}));
        responses.insert("5XX".into(), json!({"description": "Server error (RFC 9457)", "content": {"application/problem+json": {"schema": problem}}}));
        let mut parameters = parameters(op);
        if idempotent {
            parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "description": "Makes a retry safe: a request with a key already used answers what the first recorded (200), or 409 if its body differs", "schema": {"type": "string", "minLength": 1, "maxLength": 255}}));
        }
        let mut operation = json!({
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '-'], "_")),
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(schema) = &op.body {
            operation["requestBody"] = json!({"required": op.body_required, "content": {"application/json": {"schema": schema}}});
        }
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation;
    }
    let schemas: Map<String, Value> = b.generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "DotMac ISP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One tenant's ISP application: customers, plans, subscriptions, billing, payments and dunning. Amounts are integer minor units of the record's ISO 4217 currency."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A staff token from `dotmac-isp admin create-token`"}}
        }
    })
}
