//! Bad input on every endpoint: malformed JSON, wrong types, out-of-range values, unknown ids,
//! no token, another tenant's token and a read-only token each get the right status and a
//! problem+json body naming the field, and nothing is written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use common::{Backend, Options, TestApp, id};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TABLES: &[&str] = &[
    "customers",
    "plans",
    "subscriptions",
    "tax_rates",
    "invoices",
    "invoice_lines",
    "payments",
    "refunds",
    "credit_notes",
    "late_fees",
    "dunning_policies",
    "dunning_actions",
    "runs",
    "audit_log",
    "usage_charges",
    "accounts",
    "sessions",
    "account_links",
    "recovery_codes",
    "sign_in_failures",
    "api_tokens",
    "vouchers",
];

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(app.count(table).await);
    }
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &app.state.db,
        sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT CAST(SUM(value) AS BIGINT) FROM counters",
        ),
    )
    .await
    .unwrap()
    .unwrap();
    counts.push(row.try_get_by_index::<i64>(0).unwrap());
    counts
}

/// Sends a raw body and returns status and problem.
async fn raw(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, format!("{}/api/v1{path}", app.base))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/problem+json"),
        "{path}"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status.as_u16(), "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .starts_with("https://dotmac.io/problems/")
    );
    assert!(problem["title"].is_string() && problem["detail"].is_string());
    (status, problem)
}

/// Method, path, raw body, expected status, field the problem must name.
type Case = (
    Method,
    String,
    Option<String>,
    StatusCode,
    Option<&'static str>,
);

async fn run_cases(app: TestApp) {
    let other = TestApp::start(Backend::Sqlite, Options::default()).await;
    let (_, readonly) = dotmac_isp::tokens::create(
        &app.state.db,
        &app.tenant,
        "auditor",
        dotmac_isp::people::Role::Readonly,
    )
    .await
    .unwrap();
    let customer = app.customer("bad@example.com", "US", None).await;
    let plan = app.plan("P", 3000).await;
    let (sub, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
    let invoice = id(&invoice);
    let paid = app
        .post(
            "/payments",
            json!({"invoice_id": invoice, "amount": 100, "method": "cash"}),
            StatusCode::CREATED,
        )
        .await;
    let payment = id(&paid["payment"]);
    let unknown = "01a20d2f-0000-7000-8000-000000000000";
    let before = snapshot(&app).await;

    // (method, path, body, status, field)
    let cases: Vec<Case> = vec![
        // Malformed JSON.
        (Method::POST, "/customers".into(), Some("{\"display_name\":".into()), StatusCode::BAD_REQUEST, None),
        (Method::PATCH, format!("/customers/{customer}"), Some("nope".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/plans".into(), Some("[".into()), StatusCode::BAD_REQUEST, None),
        (Method::PATCH, format!("/plans/{plan}"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/subscriptions".into(), Some("{]".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/subscriptions/{sub}/change-plan"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/subscriptions/{sub}/change-plan/preview"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/subscriptions/{sub}/change-plan/preview"), Some(r#"{"plan_id": 7}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")),
        (Method::POST, format!("/subscriptions/{sub}/change-plan/preview"), Some(format!(r#"{{"plan_id": "{unknown}"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")),
        (Method::POST, format!("/subscriptions/{unknown}/change-plan/preview"), Some(format!(r#"{{"plan_id": "{plan}"}}"#)), StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/subscriptions/{sub}/cancel"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/tax-rates".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/invoices".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/invoices/{invoice}/issue"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/payments".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/payments/{payment}/refunds"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/credit-notes".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/billing-runs".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/dunning-runs".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::PUT, "/dunning/policy".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some("{".into()), StatusCode::BAD_REQUEST, None),
        // Wrong types, missing and unknown fields.
        (Method::POST, "/customers".into(), Some(r#"{"display_name": 5, "email": "x@example.com", "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("display_name")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "x@example.com", "address": {"country": "US"}, "vip": true}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("vip")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "x@example.com", "customer_type": "alien", "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("customer_type")),
        // A number where a name from a list is expected is the field's fault, not bad JSON.
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "x@example.com", "customer_type": 3, "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("customer_type")),
        (Method::POST, "/accounts".into(), Some(r#"{"email": "x@isp.example", "display_name": "X", "role": [1]}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::PATCH, format!("/customers/{customer}"), Some(r#"{"address": {"country": 1}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("address.country")),
        (Method::POST, "/plans".into(), Some(r#"{"code": "Q", "name": "Q", "service_type": "internet", "price": "ten"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("price")),
        (Method::PATCH, format!("/plans/{plan}"), Some(r#"{"active": "yes"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("active")),
        (Method::POST, "/subscriptions".into(), Some(r#"{"customer_id": "not-a-uuid", "plan_id": "x"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("customer_id")),
        (Method::POST, format!("/subscriptions/{sub}/change-plan"), Some(r#"{"plan_id": 7}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")),
        (Method::POST, format!("/subscriptions/{sub}/cancel"), Some(r#"{"date": "31/12/2026"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("date")),
        (Method::POST, "/tax-rates".into(), Some(r#"{"name": "T", "country": "US", "rate_percent": "lots"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("rate_percent")),
        (Method::POST, "/invoices".into(), Some(format!(r#"{{"customer_id": "{customer}", "lines": [{{"description": "x", "quantity": 1.5, "unit_price": 1}}]}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].quantity")),
        (Method::POST, "/payments".into(), Some(format!(r#"{{"invoice_id": "{invoice}", "amount": 10, "method": "bitcoin"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("method")),
        (Method::POST, format!("/payments/{payment}/refunds"), Some(r#"{"amount": "1"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("amount")),
        (Method::POST, "/credit-notes".into(), Some(format!(r#"{{"invoice_id": "{invoice}", "amount": 1}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        (Method::POST, "/billing-runs".into(), Some(r#"{"date": 20261001}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("date")),
        (Method::PUT, "/dunning/policy".into(), Some(r#"{"enabled": true}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("late_fee_bps")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1.5, "unit_price": 100}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1, "unit_price": 100, "occurred_on": "yesterday"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("occurred_on")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"quantity": 1, "unit_price": 100}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("description")),
        // Out-of-range values.
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 0, "unit_price": 100}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("quantity")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1, "unit_price": -1}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("unit_price")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1000000000, "unit_price": 1000000000}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("unit_price")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": " ", "quantity": 1, "unit_price": 1}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("description")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1, "unit_price": 1, "occurred_on": "2999-01-01"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("occurred_on")),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1, "unit_price": 1, "occurred_on": "2026-08-31"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("occurred_on")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "not-an-email", "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "x@example.com", "address": {"country": "USA"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("address.country")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "X", "email": "x@example.com", "address": {"country": "US"}, "currency": "ABC"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("currency")),
        (Method::POST, "/customers".into(), Some(r#"{"display_name": "   ", "email": "x@example.com", "address": {"country": "US"}}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("display_name")),
        (Method::POST, "/plans".into(), Some(r#"{"code": "Q", "name": "Q", "service_type": "internet", "price": 0}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("price")),
        (Method::POST, "/plans".into(), Some(r#"{"code": "bad code!", "name": "Q", "service_type": "internet", "price": 10}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("code")),
        (Method::POST, "/plans".into(), Some(r#"{"code": "Q", "name": "Q", "service_type": "internet", "price": 10, "download_mbps": 0}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("download_mbps")),
        (Method::PATCH, format!("/plans/{plan}"), Some(r#"{"price": -1}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("price")),
        (Method::POST, "/subscriptions".into(), Some(format!(r#"{{"customer_id": "{customer}", "plan_id": "{plan}", "discount_percent": "120"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("discount_percent")),
        (Method::POST, "/tax-rates".into(), Some(r#"{"name": "T", "country": "US", "rate_percent": "100.5"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("rate_percent")),
        (Method::POST, "/invoices".into(), Some(format!(r#"{{"customer_id": "{customer}", "lines": []}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("lines")),
        (Method::POST, "/invoices".into(), Some(format!(r#"{{"customer_id": "{customer}", "lines": [{{"description": "x", "quantity": 0, "unit_price": 1}}]}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].quantity")),
        (Method::POST, "/invoices".into(), Some(format!(r#"{{"customer_id": "{customer}", "lines": [{{"description": "x", "quantity": 1, "unit_price": -1}}]}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("lines[0].unit_price")),
        (Method::POST, "/payments".into(), Some(format!(r#"{{"invoice_id": "{invoice}", "amount": 999999, "method": "cash"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("amount")),
        (Method::POST, format!("/payments/{payment}/refunds"), Some(r#"{"amount": 101, "reason": "x"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("amount")),
        (Method::POST, "/credit-notes".into(), Some(format!(r#"{{"invoice_id": "{invoice}", "amount": 0, "reason": "x"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("amount")),
        (Method::PUT, "/dunning/policy".into(), Some(r#"{"enabled": true, "late_fee_bps": 500, "late_fee_min": 30, "late_fee_max": 25, "grace_days": 15, "suspend_after_days": 7}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("late_fee_max")),
        (Method::PUT, "/dunning/policy".into(), Some(r#"{"enabled": true, "late_fee_bps": 500, "late_fee_min": 5, "late_fee_max": 25, "grace_days": -1, "suspend_after_days": 7}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("grace_days")),
        // Unknown ids: in the path a 404, in the body a 422 naming the field.
        (Method::GET, format!("/customers/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::PATCH, format!("/customers/{unknown}"), Some("{}".into()), StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/customers/{unknown}/suspend"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/plans/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::PATCH, format!("/plans/{unknown}"), Some("{}".into()), StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/subscriptions/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/subscriptions/{unknown}/activate"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/subscriptions/{unknown}/suspend"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/subscriptions/{unknown}/change-plan"), Some(format!(r#"{{"plan_id": "{plan}"}}"#)), StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/invoices/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/invoices/{unknown}/issue"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/invoices/{unknown}/void"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/payments/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/payments/{unknown}/refunds"), Some(r#"{"amount": 1, "reason": "x"}"#.into()), StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/billing-runs/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/dunning-runs/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/subscriptions/{unknown}/usage-charges"), Some(r#"{"description": "GB", "quantity": 1, "unit_price": 1}"#.into()), StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/subscriptions/{unknown}/usage-charges"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, format!("/usage-charges/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, "/customers/not-an-id".into(), None, StatusCode::NOT_FOUND, None),
        (Method::POST, "/subscriptions".into(), Some(format!(r#"{{"customer_id": "{unknown}", "plan_id": "{plan}"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("customer_id")),
        (Method::POST, "/subscriptions".into(), Some(format!(r#"{{"customer_id": "{customer}", "plan_id": "{unknown}"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")),
        (Method::POST, format!("/subscriptions/{sub}/change-plan"), Some(format!(r#"{{"plan_id": "{unknown}"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")),
        (Method::POST, "/invoices".into(), Some(format!(r#"{{"customer_id": "{unknown}", "lines": [{{"description": "x", "quantity": 1, "unit_price": 1}}]}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("customer_id")),
        (Method::POST, "/payments".into(), Some(format!(r#"{{"invoice_id": "{unknown}", "amount": 1, "method": "cash"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("invoice_id")),
        (Method::POST, "/credit-notes".into(), Some(format!(r#"{{"invoice_id": "{unknown}", "amount": 1, "reason": "x"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("invoice_id")),
        (Method::GET, "/no-such-route".into(), None, StatusCode::NOT_FOUND, None),
        // Query strings.
        (Method::GET, "/customers?limit=many".into(), None, StatusCode::BAD_REQUEST, Some("limit")),
        (Method::GET, "/customers?status=asleep".into(), None, StatusCode::UNPROCESSABLE_ENTITY, Some("status")),
        (Method::GET, "/invoices?issued_from=yesterday".into(), None, StatusCode::BAD_REQUEST, Some("issued_from")),
        (Method::GET, "/invoices?customer_id=123".into(), None, StatusCode::BAD_REQUEST, Some("customer_id")),
        (Method::GET, "/payments?cursor=x".into(), None, StatusCode::BAD_REQUEST, Some("cursor")),
        (Method::GET, "/plans?colour=red".into(), None, StatusCode::BAD_REQUEST, Some("colour")),
        (Method::GET, "/audit-log?limit=0".into(), None, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
        (Method::GET, format!("/subscriptions/{sub}/usage-charges?billed=maybe"), None, StatusCode::BAD_REQUEST, Some("billed")),
        // People, sign-in and tokens.
        (Method::POST, "/sign-in".into(), Some("{\"login\":".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/sign-in".into(), Some(r#"{"login": 5, "password": "x"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("login")),
        (Method::POST, "/sign-in".into(), Some(r#"{"login": "a@b.example"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
        (Method::POST, "/sign-in".into(), Some(r#"{"login": "a@b.example", "password": "x", "session": "pigeon"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("session")),
        (Method::POST, "/password-resets".into(), Some("{}".into()), StatusCode::UNPROCESSABLE_ENTITY, Some("login")),
        (Method::POST, "/password-resets/complete".into(), Some(r#"{"token": "dml_x"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")),
        (Method::POST, "/invitations/accept".into(), Some(r#"{"new_password": "long enough to pass"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("token")),
        (Method::POST, "/invitations/accept".into(), Some(r#"{"token": "dml_unknown", "new_password": "long enough to pass"}"#.into()), StatusCode::UNAUTHORIZED, Some("token")),
        (Method::POST, "/accounts".into(), Some("[".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/accounts".into(), Some(r#"{"email": "not-an-email", "display_name": "X", "role": "manager"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
        (Method::POST, "/accounts".into(), Some(r#"{"email": "x@isp.example", "display_name": "X", "role": "emperor"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::POST, "/accounts".into(), Some(r#"{"email": "x@isp.example", "display_name": "X", "role": "subscriber"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::POST, "/accounts".into(), Some(r#"{"email": "x@isp.example", "display_name": "  ", "role": "manager"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("display_name")),
        (Method::PATCH, format!("/accounts/{unknown}"), Some("{}".into()), StatusCode::NOT_FOUND, None),
        (Method::PATCH, format!("/accounts/{unknown}"), Some(r#"{"role": "emperor"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::GET, format!("/accounts/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/accounts/{unknown}/unlock"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/accounts/{unknown}/invitation"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/accounts/{unknown}/sessions/revoke"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, "/lockouts/lift".into(), Some(r#"{"address": "nope"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("address")),
        (Method::POST, format!("/customers/{unknown}/portal-account"), Some("{}".into()), StatusCode::NOT_FOUND, None),
        (Method::POST, format!("/customers/{customer}/portal-account"), Some(r#"{"email": "nope"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("email")),
        (Method::GET, "/accounts?kind=robot".into(), None, StatusCode::BAD_REQUEST, Some("kind")),
        (Method::POST, "/tokens".into(), Some(r#"{"name": " ", "role": "readonly"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        (Method::POST, "/tokens".into(), Some(r#"{"name": "ci", "role": "subscriber"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::POST, "/tokens".into(), Some(r#"{"name": "ci"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("role")),
        (Method::GET, format!("/tokens/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::DELETE, format!("/tokens/{unknown}"), None, StatusCode::NOT_FOUND, None),
        (Method::POST, "/me/password".into(), Some(r#"{"current_password": "x", "new_password": "y"}"#.into()), StatusCode::FORBIDDEN, None),
        // Vouchers.
        (Method::POST, "/vouchers".into(), Some("{".into()), StatusCode::BAD_REQUEST, None),
        (Method::POST, "/vouchers".into(), Some(r#"{"batch": "b", "count": "two", "amount": 100}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("count")),
        (Method::POST, "/vouchers".into(), Some(r#"{"batch": "b", "count": 2}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("amount")),
        (Method::POST, "/vouchers".into(), Some(r#"{"batch": "b/c", "count": 2, "amount": 100}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("batch")),
        (Method::POST, "/vouchers".into(), Some(r#"{"batch": "b", "count": 2, "amount": 100, "expires_on": "soon"}"#.into()), StatusCode::UNPROCESSABLE_ENTITY, Some("expires_on")),
        (Method::POST, format!("/vouchers/{unknown}/void"), None, StatusCode::NOT_FOUND, None),
        (Method::GET, "/vouchers?status=lost".into(), None, StatusCode::BAD_REQUEST, Some("status")),
        (Method::POST, "/payments".into(), Some(format!(r#"{{"invoice_id": "{invoice}", "amount": 10, "method": "voucher"}}"#)), StatusCode::UNPROCESSABLE_ENTITY, Some("method")),
    ];
    for (method, path, body, status, field) in cases {
        let (got, problem) = raw(&app, &app.token, method.clone(), &path, body.as_deref()).await;
        assert_eq!(got, status, "{method} {path} {body:?}: {problem}");
        if let Some(field) = field {
            assert_eq!(
                problem["field"], field,
                "{method} {path} {body:?}: {problem}"
            );
        }
    }

    // Credentials: none, unknown, another tenant's, and read-only for a write.
    let endpoints = [
        (Method::GET, "/customers".to_owned()),
        (Method::POST, "/customers".to_owned()),
        (Method::GET, format!("/invoices/{invoice}")),
        (Method::POST, "/payments".to_owned()),
        (Method::POST, "/billing-runs".to_owned()),
        (Method::PUT, "/dunning/policy".to_owned()),
        (Method::GET, "/audit-log".to_owned()),
        (Method::POST, format!("/subscriptions/{sub}/usage-charges")),
    ];
    for (method, path) in &endpoints {
        let response = app
            .http
            .request(method.clone(), format!("{}/api/v1{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (status, _) = raw(&app, &other.token, method.clone(), path, Some("{}")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with another tenant's token"
        );
        let (status, _) = raw(&app, "dmi_x_0000", method.clone(), path, Some("{}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        if *method != Method::GET {
            let (status, _) = raw(&app, &readonly, method.clone(), path, Some("{}")).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} with a read-only token"
            );
        }
    }
    let (status, _) = app
        .call_as(&readonly, Method::GET, "/customers", None)
        .await;
    assert_eq!(status, StatusCode::OK, "a read-only token reads");

    assert_eq!(snapshot(&app).await, before, "bad input wrote something");
}

#[tokio::test]
async fn sqlite() {
    run_cases(TestApp::start(Backend::Sqlite, Options::default()).await).await;
}

#[tokio::test]
async fn postgres() {
    run_cases(TestApp::start(Backend::Postgres, Options::default()).await).await;
}
