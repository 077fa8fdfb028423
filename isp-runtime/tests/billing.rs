//! Billing over HTTP, each test on SQLite and on PostgreSQL: proration, plan changes, compound
//! tax, payments, refunds, credit notes, late fees, suspension and reactivation, billing runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use common::id;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends! {
    async fn fifteen_of_thirty_days_is_half_the_price(app) {
        let customer = app.customer("half@example.com", "US", None).await;
        let plan = app.plan("FIBRE-30", 3000).await;
        let (sub, invoice) = app.subscribe(&customer, &plan, "2026-09-16").await;
        assert_eq!(invoice["number"], "INV-000001");
        assert_eq!(invoice["period_start"], "2026-09-16");
        assert_eq!(invoice["period_end"], "2026-10-01");
        assert_eq!(invoice["subtotal"], 1500);
        assert_eq!(invoice["total"], 1500);
        assert_eq!(invoice["due_date"], "2026-10-16");
        assert_eq!(invoice["lines"][0]["description"], "FIBRE-30 2026-09-16 to 2026-09-30 (15 of 30 days)");
        // The billing run bills October in full, once.
        let run = app.run("billing", "2026-10-01").await;
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["created"], 1);
        let again = app.run("billing", "2026-10-01").await;
        assert_eq!(again["created"], 0);
        let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
        let items = invoices["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["number"], "INV-000002");
        assert_eq!(items[1]["total"], 3000);
        assert_eq!(items[1]["period_start"], "2026-10-01");
        assert_eq!(app.get(&format!("/subscriptions/{sub}")).await["next_billing_date"], "2026-11-01");
    }

    async fn mid_month_upgrade_then_downgrade_then_cancel(app) {
        let customer = app.customer("upgrade@example.com", "US", None).await;
        let basic = app.plan("BASIC", 3000).await;
        let pro = app.plan("PRO", 6000).await;
        let (sub, september) = app.subscribe(&customer, &basic, "2026-09-01").await;
        assert_eq!(september["total"], 3000);
        // A preview shows the upgrade's invoice, and writes nothing (not even its number).
        let written = (app.count("invoices").await, app.count("audit_log").await, app.count("credit_notes").await);
        let preview = app.post(&format!("/subscriptions/{sub}/change-plan/preview"), json!({"plan_id": pro, "date": "2026-09-16"}), StatusCode::OK).await;
        assert_eq!(preview["invoice"]["total"], 1500);
        assert_eq!(preview["invoice"]["lines"][0]["unit_price"], -1500);
        assert_eq!(preview["subscription"]["plan_id"], pro.as_str());
        assert_eq!((app.count("invoices").await, app.count("audit_log").await, app.count("credit_notes").await), written);
        assert_eq!(app.get(&format!("/subscriptions/{sub}")).await["plan_id"], basic.as_str());
        // Upgrade on the 16th: 15 unused days of BASIC back, 15 days of PRO charged.
        let up = app.post(&format!("/subscriptions/{sub}/change-plan"), json!({"plan_id": pro, "date": "2026-09-16"}), StatusCode::OK).await;
        let invoice = &up["invoice"];
        assert_eq!(invoice["kind"], "proration");
        assert_eq!(invoice["lines"][0]["unit_price"], -1500);
        assert_eq!(invoice["lines"][1]["unit_price"], 3000);
        assert_eq!(invoice["total"], 1500);
        assert_eq!(invoice["number"], "INV-000002");
        assert!(up["credit_note"].is_null());
        // Downgrade on the 21st: 10 days of PRO (2000) back, 10 days of BASIC (1000) charged:
        // a credit note of 1000 on September's invoice.
        let preview = app.post(&format!("/subscriptions/{sub}/change-plan/preview"), json!({"plan_id": basic, "date": "2026-09-21"}), StatusCode::OK).await;
        assert_eq!(preview["credit_note"]["amount"], 1000);
        assert_eq!(app.get(&format!("/invoices/{}", id(&september))).await["amount_credited"], 0);
        let (status, problem) = app.call(Method::POST, &format!("/subscriptions/{sub}/change-plan/preview"), Some(json!({"plan_id": pro}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "already on it: {problem}");
        assert_eq!(problem["field"], "plan_id");
        let down = app.post(&format!("/subscriptions/{sub}/change-plan"), json!({"plan_id": basic, "date": "2026-09-21"}), StatusCode::OK).await;
        assert!(down["invoice"].is_null());
        assert_eq!(down["credit_note"]["amount"], 1000);
        assert_eq!(down["credit_note"]["invoice_id"], september["id"]);
        let september_after = app.get(&format!("/invoices/{}", id(&september))).await;
        assert_eq!(september_after["amount_credited"], 1000);
        assert_eq!(september_after["amount_due"], 2000);
        // Cancel on the 26th: 5 of 30 days of what September's invoice billed come back.
        let cancel = app.post(&format!("/subscriptions/{sub}/cancel"), json!({"date": "2026-09-26"}), StatusCode::OK).await;
        assert_eq!(cancel["subscription"]["status"], "cancelled");
        assert_eq!(cancel["credit_note"]["amount"], 500);
        // A cancelled subscription is never billed again, and cannot come back.
        assert_eq!(app.run("billing", "2026-10-01").await["created"], 0);
        let (status, problem) = app.call(Method::POST, &format!("/subscriptions/{sub}/resume"), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    }

    async fn compound_tax_by_jurisdiction(app) {
        app.tax("GST", "CA", None, "5", false, 0).await;
        app.tax("QST", "CA", Some("QC"), "9.975", true, 1).await;
        app.tax("Sales tax", "US", Some("NY"), "8.875", false, 0).await;
        let plan = app.plan("FIBRE-100", 10_000).await;
        let quebec = app.customer("qc@example.com", "CA", Some("QC")).await;
        let ontario = app.customer("on@example.com", "CA", Some("ON")).await;
        let (_, qc) = app.subscribe(&quebec, &plan, "2026-09-01").await;
        let (_, on) = app.subscribe(&ontario, &plan, "2026-09-01").await;
        // QST is charged on the amount plus GST: 9.975 % of 105.00 = 10.47375 → 10.47.
        let taxes = &qc["lines"][0]["taxes"];
        assert_eq!(taxes[0]["amount"], 500);
        assert_eq!(taxes[1]["amount"], 1047);
        assert_eq!(qc["tax"], 1547);
        assert_eq!(qc["total"], 11_547);
        assert_eq!(on["tax"], 500);
        assert_eq!(on["total"], 10_500);
    }

    async fn a_partial_payment_then_the_rest(app) {
        let customer = app.customer("partial@example.com", "US", None).await;
        let plan = app.plan("P", 3000).await;
        let (_, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
        let invoice_id = id(&invoice);
        let first = app.post("/payments", json!({"invoice_id": invoice_id, "amount": 1000, "method": "cash"}), StatusCode::CREATED).await;
        assert_eq!(first["invoice"]["status"], "issued");
        assert_eq!(first["invoice"]["amount_due"], 2000);
        assert_eq!(first["payment"]["number"], "PAY-000001");
        for (amount, status, field) in [(2500, StatusCode::UNPROCESSABLE_ENTITY, "amount"), (0, StatusCode::UNPROCESSABLE_ENTITY, "amount"), (-5, StatusCode::UNPROCESSABLE_ENTITY, "amount")] {
            let (got, problem) = app.call(Method::POST, "/payments", Some(json!({"invoice_id": invoice_id, "amount": amount, "method": "cash"}))).await;
            assert_eq!(got, status, "{problem}");
            assert_eq!(problem["field"], field);
        }
        assert_eq!(app.count("payments").await, 1);
        let rest = app.post("/payments", json!({"invoice_id": invoice_id, "amount": 2000, "method": "bank_transfer"}), StatusCode::CREATED).await;
        assert_eq!(rest["invoice"]["status"], "paid");
        assert_eq!(rest["invoice"]["amount_due"], 0);
        assert_eq!(rest["invoice"]["amount_paid"], 3000);
        let (status, problem) = app.call(Method::POST, "/payments", Some(json!({"invoice_id": invoice_id, "amount": 1, "method": "cash"}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    }

    async fn refunds_never_exceed_what_was_paid(app) {
        let customer = app.customer("refund@example.com", "US", None).await;
        let plan = app.plan("P", 3000).await;
        let (_, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
        let paid = app.post("/payments", json!({"invoice_id": id(&invoice), "amount": 3000, "method": "credit_card"}), StatusCode::CREATED).await;
        let payment = id(&paid["payment"]);
        let path = format!("/payments/{payment}/refunds");
        let (status, problem) = app.call(Method::POST, &path, Some(json!({"amount": 3500, "reason": "too much"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "amount");
        assert_eq!(app.count("refunds").await, 0);
        app.post(&path, json!({"amount": 1000, "reason": "outage credit"}), StatusCode::CREATED).await;
        let (status, problem) = app.call(Method::POST, &path, Some(json!({"amount": 2001, "reason": "again"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        app.post(&path, json!({"amount": 2000, "reason": "closing the account"}), StatusCode::CREATED).await;
        let after = app.get(&format!("/invoices/{}", id(&invoice))).await;
        assert_eq!(after["status"], "refunded");
        assert_eq!(after["amount_refunded"], 3000);
        assert_eq!(app.get(&format!("/payments/{payment}")).await["amount_refunded"], 3000);
    }

    async fn an_unfinished_billing_run_says_how_many_subscriptions_are_still_due(app) {
        use dotmac_isp::billing::runs::{RunKind, RunStatus, entity::run};
        use sea_orm::{ActiveModelTrait, IntoActiveModel};
        let plan = app.plan("FIBRE", 3000).await;
        for n in 0..3 {
            let customer = app.customer(&format!("due{n}@example.com"), "US", None).await;
            app.subscribe(&customer, &plan, "2026-09-01").await;
        }
        // A run queued but not yet taken by a worker, as a crash might leave it.
        let queued = run::Model {
            id: uuid::Uuid::now_v7(),
            kind: RunKind::Billing,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            status: RunStatus::Queued,
            attempts: 0,
            processed: 0,
            created: 0,
            error: None,
            lease_until: None,
            created_at: chrono::Utc::now(),
            started_at: None,
            finished_at: None,
        }
        .into_active_model()
        .insert(&app.state.db)
        .await
        .unwrap();
        let open = app.get(&format!("/billing-runs/{}", queued.id)).await;
        assert_eq!((open["processed"].as_i64(), open["remaining"].as_i64()), (Some(0), Some(3)));
        // A finished run has nothing to count; the queued one counts nothing left once billed.
        let done = app.run("billing", "2026-10-01").await;
        assert_eq!(done["remaining"], Value::Null, "{done}");
        let after = app.get(&format!("/billing-runs/{}", queued.id)).await;
        assert_eq!(after["remaining"], 0, "every subscription due was billed by the other run");
    }

    async fn receivables_sum_what_is_open_and_what_is_overdue_per_currency(app) {
        assert_eq!(app.get("/receivables").await["by_currency"], json!([]));
        let plan = app.plan("FIBRE", 3000).await;
        let mut invoices = Vec::new();
        for n in 0..3 {
            let customer = app.customer(&format!("owe{n}@example.com"), "US", None).await;
            invoices.push(app.subscribe(&customer, &plan, "2026-09-01").await.1);
        }
        let owed = app.get("/receivables").await;
        assert_eq!(owed["by_currency"], json!([{"currency": "USD", "open": 9000, "overdue": 0, "overdue_invoices": 0, "overdue_customers": 0}]));
        // Past the due date every one is overdue; a part payment and a full one count off.
        app.run("dunning", "2026-10-05").await;
        app.post("/payments", json!({"invoice_id": id(&invoices[0]), "amount": 1000, "method": "cash"}), StatusCode::CREATED).await;
        app.post("/payments", json!({"invoice_id": id(&invoices[1]), "amount": 3000, "method": "cash"}), StatusCode::CREATED).await;
        let owed = app.get("/receivables").await;
        assert_eq!(owed["by_currency"], json!([{"currency": "USD", "open": 5000, "overdue": 5000, "overdue_invoices": 2, "overdue_customers": 2}]));
    }

    async fn late_fee_minimum_and_maximum_after_the_grace_period(app) {
        let plans = [app.plan("SMALL", 2000).await, app.plan("MID", 20_000).await, app.plan("BIG", 100_000).await];
        let mut invoices = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let customer = app.customer(&format!("late{i}@example.com"), "US", None).await;
            invoices.push(app.subscribe(&customer, plan, "2026-09-01").await.1);
        }
        // Due 2026-10-01; 15 days later still in grace.
        let run = app.run("dunning", "2026-10-16").await;
        assert_eq!(run["status"], "succeeded");
        assert_eq!(app.count("late_fees").await, 0);
        assert_eq!(app.get(&format!("/invoices/{}", id(&invoices[0]))).await["status"], "overdue");
        app.run("dunning", "2026-10-17").await;
        app.run("dunning", "2026-10-17").await;
        let fees = app.get("/invoices?status=issued").await;
        let mut totals: Vec<i64> = fees["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "late_fee").map(|i| i["total"].as_i64().unwrap()).collect();
        totals.sort_unstable();
        // 5 % of 20.00 is 1.00 → minimum 5.00; of 200.00 is 10.00; of 1,000.00 is 50.00 → maximum 25.00.
        assert_eq!(totals, vec![500, 1000, 2500]);
        assert_eq!(app.count("late_fees").await, 3);
    }

    async fn suspension_for_non_payment_and_automatic_reactivation(app) {
        let customer = app.customer("suspend@example.com", "US", None).await;
        let internet = app.plan("NET", 3000).await;
        let tv = id(&app.post("/plans", json!({"code": "TV", "name": "TV", "service_type": "tv", "price": 1000}), StatusCode::CREATED).await);
        let (net_sub, net_invoice) = app.subscribe(&customer, &internet, "2026-09-01").await;
        let (tv_sub, tv_invoice) = app.subscribe(&customer, &tv, "2026-09-01").await;
        // 22 days overdue: late fee, not yet suspended; 23 days: internet suspended, TV kept.
        app.run("dunning", "2026-10-23").await;
        assert_eq!(app.get(&format!("/subscriptions/{net_sub}")).await["status"], "active");
        app.run("dunning", "2026-10-24").await;
        let suspended = app.get(&format!("/subscriptions/{net_sub}")).await;
        assert_eq!(suspended["status"], "suspended");
        assert_eq!(suspended["suspended_reason"], "non_payment");
        assert_eq!(app.get(&format!("/subscriptions/{tv_sub}")).await["status"], "active");
        // Paying part of the balance is not enough.
        for invoice in [&net_invoice, &tv_invoice] {
            app.post("/payments", json!({"invoice_id": id(invoice), "amount": invoice["total"], "method": "cash"}), StatusCode::CREATED).await;
        }
        assert_eq!(app.get(&format!("/subscriptions/{net_sub}")).await["status"], "suspended");
        // Paying the late fees too brings the service back at once.
        let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
        let fees: Vec<_> = invoices["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "late_fee").cloned().collect();
        assert_eq!(fees.len(), 2, "one late fee per overdue invoice");
        for fee in &fees {
            assert_eq!(fee["status"], "overdue", "a late fee is due at once");
            app.post("/payments", json!({"invoice_id": id(fee), "amount": fee["total"], "method": "cash"}), StatusCode::CREATED).await;
        }
        let back = app.get(&format!("/subscriptions/{net_sub}")).await;
        assert_eq!(back["status"], "active");
        assert!(back["suspended_reason"].is_null());
    }

    async fn a_payment_resumes_service_from_the_day_it_was_received(app) {
        let customer = app.customer("late@example.com", "US", None).await;
        let plan = app.plan("NET", 3000).await;
        let (sub, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
        app.run("dunning", "2026-10-24").await;
        assert_eq!(app.get(&format!("/subscriptions/{sub}")).await["status"], "suspended");
        app.post("/payments", json!({"invoice_id": id(&invoice), "amount": invoice["total"], "method": "cash", "received_on": "2026-10-26"}), StatusCode::CREATED).await;
        let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
        for fee in invoices["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "late_fee") {
            app.post("/payments", json!({"invoice_id": id(fee), "amount": fee["total"], "method": "cash", "received_on": "2026-10-26"}), StatusCode::CREATED).await;
        }
        let back = app.get(&format!("/subscriptions/{sub}")).await;
        assert_eq!(back["status"], "active");
        assert_eq!(back["next_billing_date"], "2026-11-01");
        let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
        let rest = invoices["items"].as_array().unwrap().iter()
            .find(|i| i["kind"] != "late_fee" && i["period_start"] != "2026-09-01")
            .unwrap_or_else(|| panic!("the rest of October billed: {invoices}"))
            .clone();
        assert_eq!(rest["period_start"], "2026-10-26", "billed from the payment's day, not the server's");
        assert_eq!(rest["period_end"], "2026-11-01");
        // 6 of 31 days of 30.00.
        assert_eq!(rest["subtotal"], 581);
    }

    async fn a_suspended_customer_is_not_billed_until_resumed(app) {
        let customer = app.customer("paused@example.com", "US", None).await;
        let plan = app.plan("NET", 3000).await;
        let (sub, _) = app.subscribe(&customer, &plan, "2026-09-01").await;
        app.post(&format!("/customers/{customer}/suspend"), json!({}), StatusCode::OK).await;
        let held = app.get(&format!("/subscriptions/{sub}")).await;
        assert_eq!(held["status"], "suspended", "the customer's service stops with it");
        assert_eq!(held["suspended_reason"], "customer_suspended");
        let before = app.count("invoices").await;
        app.run("billing", "2026-10-01").await;
        assert_eq!(app.count("invoices").await, before, "nothing billed while suspended");
        app.post(&format!("/customers/{customer}/resume"), json!({}), StatusCode::OK).await;
        let back = app.get(&format!("/subscriptions/{sub}")).await;
        assert_eq!(back["status"], "active");
        let today = chrono::Utc::now().date_naive().to_string();
        let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
        assert!(
            invoices["items"].as_array().unwrap().iter().any(|i| i["period_start"] == today.as_str()),
            "resumed: billed from today: {invoices}"
        );
    }

    async fn a_plan_price_is_not_cut_under_active_subscribers(app) {
        let customer = app.customer("price@example.com", "US", None).await;
        let plan = app.plan("P", 3000).await;
        let (status, _) = app.call(Method::PATCH, &format!("/plans/{plan}"), Some(json!({"price": 2000}))).await;
        assert_eq!(status, StatusCode::OK, "no subscribers yet: the price may fall");
        app.subscribe(&customer, &plan, "2026-09-01").await;
        let (status, problem) = app.call(Method::PATCH, &format!("/plans/{plan}"), Some(json!({"price": 1500}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["field"], "price");
        assert_eq!(app.get(&format!("/plans/{plan}")).await["price"], 2000);
        let (status, _) = app.call(Method::PATCH, &format!("/plans/{plan}"), Some(json!({"price": 2500}))).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn statuses_move_only_along_their_lifecycle(app) {
        let customer = app.customer("life@example.com", "US", None).await;
        let plan = app.plan("P", 3000).await;
        let sub = id(&app.post("/subscriptions", json!({"customer_id": customer, "plan_id": plan}), StatusCode::CREATED).await);
        for action in ["suspend", "resume"] {
            let (status, problem) = app.call(Method::POST, &format!("/subscriptions/{sub}/{action}"), None).await;
            assert_eq!(status, StatusCode::CONFLICT, "{action} of a pending subscription: {problem}");
        }
        app.post(&format!("/subscriptions/{sub}/activate"), json!({"date": "2026-09-01"}), StatusCode::OK).await;
        assert_eq!(app.get(&format!("/customers/{customer}")).await["status"], "active", "activating a subscription activates its pending customer");
        let (status, _) = app.call(Method::POST, &format!("/subscriptions/{sub}/activate"), None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, problem) = app.call(Method::POST, &format!("/customers/{customer}/cancel"), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "a customer with live subscriptions: {problem}");
        app.post(&format!("/subscriptions/{sub}/suspend"), json!({}), StatusCode::OK).await;
        app.post(&format!("/subscriptions/{sub}/resume"), json!({"date": "2026-09-10"}), StatusCode::OK).await;
        app.post(&format!("/subscriptions/{sub}/cancel"), json!({"date": "2026-09-20"}), StatusCode::OK).await;
        let (status, _) = app.call(Method::POST, &format!("/subscriptions/{sub}/cancel"), None).await;
        assert_eq!(status, StatusCode::CONFLICT);
        app.post(&format!("/customers/{customer}/cancel"), json!({}), StatusCode::OK).await;
        let (status, _) = app.call(Method::POST, &format!("/customers/{customer}/resume"), None).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn customer_number_and_email_are_unique(app) {
        app.post("/customers", json!({"customer_number": "ACME-1", "display_name": "A", "email": "dup@example.com", "address": {"country": "US"}}), StatusCode::CREATED).await;
        let (status, problem) = app.call(Method::POST, "/customers", Some(json!({"display_name": "B", "email": "DUP@example.com", "address": {"country": "US"}}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["field"], "email");
        let (status, problem) = app.call(Method::POST, "/customers", Some(json!({"customer_number": "ACME-1", "display_name": "C", "email": "c@example.com", "address": {"country": "US"}}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["field"], "customer_number");
        assert_eq!(app.count("customers").await, 1);
    }

    async fn invoices_are_numbered_when_issued_without_gaps(app) {
        let customer = app.customer("manual@example.com", "US", None).await;
        let draft = app.post("/invoices", json!({"customer_id": customer, "lines": [
            {"description": "Router", "quantity": 2, "unit_price": 4999, "discount_percent": "10"},
            {"description": "Installation", "quantity": 1, "unit_price": 5000}
        ]}), StatusCode::CREATED).await;
        assert_eq!(draft["status"], "draft");
        assert!(draft["number"].is_null());
        assert_eq!(draft["subtotal"], 14_998);
        assert_eq!(draft["discount"], 1000);
        assert_eq!(draft["total"], 13_998);
        // Credit notes apply only to issued invoices.
        let (status, _) = app.call(Method::POST, "/credit-notes", Some(json!({"invoice_id": id(&draft), "amount": 100, "reason": "x"}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let second = app.post("/invoices", json!({"customer_id": customer, "lines": [{"description": "Cable", "quantity": 1, "unit_price": 700}]}), StatusCode::CREATED).await;
        // The second draft is issued first: numbers follow issue order.
        let issued = app.post(&format!("/invoices/{}/issue", id(&second)), json!({"issue_date": "2026-09-05"}), StatusCode::OK).await;
        assert_eq!(issued["number"], "INV-000001");
        assert_eq!(issued["due_date"], "2026-10-05");
        let voided = app.post(&format!("/invoices/{}/void", id(&issued)), json!({}), StatusCode::OK).await;
        assert_eq!(voided["status"], "void");
        let issued = app.post(&format!("/invoices/{}/issue", id(&draft)), json!({}), StatusCode::OK).await;
        assert_eq!(issued["number"], "INV-000002");
        let (status, _) = app.call(Method::POST, &format!("/invoices/{}/issue", id(&draft)), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "issued twice");
        let (status, problem) = app.call(Method::POST, "/credit-notes", Some(json!({"invoice_id": id(&draft), "amount": 13_999, "reason": "x"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let note = app.post("/credit-notes", json!({"invoice_id": id(&draft), "amount": 13_998, "reason": "goodwill"}), StatusCode::CREATED).await;
        assert_eq!(note["number"], "CN-000001");
        assert_eq!(app.get(&format!("/invoices/{}", id(&draft))).await["status"], "paid");
    }

    async fn usage_charges_are_billed_in_arrears_exactly_once(app) {
        app.tax("Sales tax", "US", None, "10", false, 0).await;
        let customer = app.customer("usage@example.com", "US", None).await;
        let plan = app.plan("FIBRE-100", 3000).await;
        let (sub, september) = app.subscribe(&customer, &plan, "2026-09-01").await;
        assert_eq!(september["total"], 3300);
        let charges = format!("/subscriptions/{sub}/usage-charges");
        let record = |key: &'static str, body: serde_json::Value| {
            let request = app.http.post(format!("{}/api/v1{charges}", app.base)).bearer_auth(&app.token).header("Idempotency-Key", key).json(&body);
            async move {
                let response = request.send().await.unwrap();
                (response.status(), response.json::<serde_json::Value>().await.unwrap())
            }
        };
        let overage = json!({"description": "Data over allowance, GB", "quantity": 12, "unit_price": 150, "occurred_on": "2026-09-20"});
        let (status, first) = record("meter-1", overage.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["amount"], 1800);
        assert!(first["invoice_id"].is_null());
        // The meter sends the same reading again: the same charge, not a second one.
        let (status, again) = record("meter-1", overage).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["id"], first["id"]);
        let (status, problem) = record("meter-1", json!({"description": "Data over allowance, GB", "quantity": 13, "unit_price": 150, "occurred_on": "2026-09-20"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(problem["field"], "Idempotency-Key");
        let (status, problem) = record("", json!({"description": "x", "quantity": 1, "unit_price": 1})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], "Idempotency-Key");
        let october_use = app.post(&charges, json!({"description": "Call minutes", "quantity": 3, "unit_price": 150, "occurred_on": "2026-10-05"}), StatusCode::CREATED).await;
        assert_eq!(app.get(&charges).await["items"].as_array().unwrap().len(), 2);

        // October's invoice bills the month ahead and September's usage, both taxed; the
        // usage of October waits for November's invoice.
        let run = app.run("billing", "2026-10-01").await;
        assert_eq!(run["created"], 1);
        let october = &app.get(&format!("/invoices?customer_id={customer}")).await["items"][1];
        let october = app.get(&format!("/invoices/{}", id(october))).await;
        assert_eq!(october["period_start"], "2026-10-01");
        let lines = october["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 2, "{october}");
        assert_eq!(lines[1]["description"], "Data over allowance, GB on 2026-09-20");
        assert_eq!(lines[1]["quantity"], 12);
        assert_eq!(lines[1]["gross"], 1800);
        assert_eq!(lines[1]["tax"], 180);
        assert_eq!(october["subtotal"], 4800);
        assert_eq!(october["total"], 5280);
        let billed = app.get(&format!("{charges}?billed=true")).await;
        assert_eq!(billed["items"].as_array().unwrap().len(), 1);
        assert_eq!(billed["items"][0]["invoice_id"], october["id"]);
        let unbilled = app.get(&format!("{charges}?billed=false")).await;
        assert_eq!(unbilled["items"][0]["id"], october_use["id"]);
        // Running the same date again bills nothing twice.
        assert_eq!(app.run("billing", "2026-10-01").await["created"], 0);
        assert_eq!(app.get(&format!("{charges}?billed=false")).await["items"].as_array().unwrap().len(), 1);

        let run = app.run("billing", "2026-11-01").await;
        assert_eq!(run["created"], 1);
        let charge = app.get(&format!("/usage-charges/{}", id(&october_use))).await;
        let november = app.get(&format!("/invoices/{}", charge["invoice_id"].as_str().unwrap())).await;
        assert_eq!(november["period_start"], "2026-11-01");
        assert_eq!(november["total"], 3300 + 495);

        // Cancelling bills what is left on a final usage invoice, next to the credit for the
        // unused days; afterwards nothing more can be charged.
        app.post(&charges, json!({"description": "Technician visit", "quantity": 1, "unit_price": 4500, "occurred_on": "2026-11-10"}), StatusCode::CREATED).await;
        let cancel = app.post(&format!("/subscriptions/{sub}/cancel"), json!({"date": "2026-11-16"}), StatusCode::OK).await;
        assert_eq!(cancel["invoice"]["kind"], "usage");
        assert_eq!(cancel["invoice"]["issue_date"], "2026-11-16");
        assert_eq!(cancel["invoice"]["lines"][0]["description"], "Technician visit on 2026-11-10");
        assert_eq!(cancel["invoice"]["total"], 4950);
        assert_eq!(cancel["credit_note"]["amount"], 1650, "15 of 30 days of the service (3300 with tax), not of the usage billed beside it");
        assert_eq!(app.get(&format!("{charges}?billed=false")).await["items"].as_array().unwrap().len(), 0);
        let (status, problem) = app.call(Method::POST, &charges, Some(json!({"description": "GB", "quantity": 1, "unit_price": 1}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        // A subscription not yet active is not charged either.
        let pending = id(&app.post("/subscriptions", json!({"customer_id": customer, "plan_id": plan}), StatusCode::CREATED).await);
        let (status, problem) = app.call(Method::POST, &format!("/subscriptions/{pending}/usage-charges"), Some(json!({"description": "GB", "quantity": 1, "unit_price": 1}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(app.count("usage_charges").await, 3);
    }

    async fn lists_page_with_cursors_and_link_headers(app) {
        for i in 0..5 {
            app.customer(&format!("page{i}@example.com"), "US", None).await;
        }
        let response = app.http.get(format!("{}/api/v1/customers?limit=2", app.base)).bearer_auth(&app.token).send().await.unwrap();
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        let page: serde_json::Value = response.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let cursor = page["next_cursor"].as_str().unwrap();
        assert_eq!(link, format!("</api/v1/customers?limit=2&cursor={cursor}>; rel=\"next\""));
        let mut seen = 2;
        let mut next = Some(cursor.to_owned());
        while let Some(cursor) = next {
            let page = app.get(&format!("/customers?limit=2&cursor={cursor}")).await;
            seen += page["items"].as_array().unwrap().len();
            next = page["next_cursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, 5);
        let (status, problem) = app.call(Method::GET, "/customers?limit=500", None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["field"], "limit");
    }

    async fn customers_are_found_by_part_of_name_email_or_number(app) {
        app.post("/customers", json!({"display_name": "Ada Lovelace", "email": "ada@analytical.example", "address": {"country": "GB"}}), StatusCode::CREATED).await;
        app.post("/customers", json!({"display_name": "Grace 100%_Hopper", "email": "grace@navy.example", "customer_number": "NAVY-7", "address": {"country": "US"}}), StatusCode::CREATED).await;
        app.post("/customers", json!({"display_name": "Charles Babbage", "email": "charles@engine.example", "address": {"country": "GB"}}), StatusCode::CREATED).await;
        let names = |page: serde_json::Value| -> Vec<String> {
            page["items"].as_array().unwrap().iter().map(|c| c["display_name"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(names(app.get("/customers?q=LOVELACE").await), ["Ada Lovelace"]);
        assert_eq!(names(app.get("/customers?q=navy-7").await), ["Grace 100%_Hopper"]);
        assert_eq!(names(app.get("/customers?q=engine.ex").await), ["Charles Babbage"]);
        // LIKE's wildcards are matched as themselves.
        assert_eq!(names(app.get("/customers?q=%25_").await), ["Grace 100%_Hopper"]);
        assert!(names(app.get("/customers?q=_").await).len() == 1);
        let (status, problem) = app.call(Method::GET, "/customers?q=%20", None).await;
        assert_eq!((status, problem["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")));
    }
}
