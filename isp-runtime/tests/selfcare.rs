//! Subscribers on their own account, and prepaid vouchers: a subscriber signed in to the portal
//! reads their services, invoices and payments and pays an invoice with a voucher; staff make
//! voucher batches whose codes are shown once. Over HTTP against a served instance, on both
//! databases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use common::{TestApp, id};
use dotmac_testkit::logs::Logs;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "a subscriber's long passphrase";

/// Makes a batch and returns its vouchers (id, number, code).
async fn batch(app: &TestApp, name: &str, count: u32, amount: i64, currency: &str) -> Vec<Value> {
    let made = app
        .post(
            "/vouchers",
            json!({"batch": name, "count": count, "amount": amount, "currency": currency}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(made["batch"], name);
    made["vouchers"].as_array().unwrap().clone()
}

/// A customer on a 49.99 plan since `2026-09-01`, signed in to the portal; their token and
/// their activation invoice.
async fn subscriber(app: &TestApp, email: &str) -> (String, Value) {
    let customer = app.customer(email, "US", None).await;
    let plan = app.plan(&format!("fibre-{}", &email[..3]), 4999).await;
    let (_, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
    (app.subscriber(&customer, PASSWORD).await, invoice)
}

/// The voucher's row as staff see it.
async fn voucher(app: &TestApp, batch: &str, number: &Value) -> Value {
    let list = app.get(&format!("/vouchers?batch={batch}")).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["number"] == *number)
        .unwrap()
        .clone()
}

on_both_backends! {
    async fn a_subscriber_pays_an_invoice_with_a_voucher_and_keeps_the_rest(app) {
        let logs = Logs::capture();
        let (token, invoice) = subscriber(&app, "ada@isp.test").await;
        let due = invoice["amount_due"].as_i64().unwrap();
        assert!(due > 0, "{invoice}");

        let (status, services) = app.call_as(&token, Method::GET, "/me/services", None).await;
        assert_eq!(status, StatusCode::OK, "{services}");
        assert_eq!(services.as_array().unwrap().len(), 1);
        assert_eq!(services[0]["plan"]["price"], 4999);
        assert_eq!(services[0]["subscription"]["status"], "active");
        let (_, mine) = app.call_as(&token, Method::GET, "/me/invoices", None).await;
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        assert_eq!(mine["items"][0]["id"], invoice["id"]);

        let vouchers = batch(&app, "shop-1", 2, 10_000, "USD").await;
        assert_eq!(vouchers.len(), 2);
        let code = vouchers[0]["code"].as_str().unwrap();
        assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX: {code}");
        // Typed as a person might: lower case, spaces for dashes.
        let typed = code.to_lowercase().replace('-', " ");
        let path = format!("/me/invoices/{}/voucher-payments", id(&invoice));
        let (status, receipt) = app
            .call_as(&token, Method::POST, &path, Some(json!({"code": typed})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        assert_eq!(receipt["payment"]["amount"], due);
        assert_eq!(receipt["payment"]["method"], "voucher");
        assert_eq!(receipt["payment"]["reference"], vouchers[0]["number"]);
        assert_eq!(receipt["invoice"]["status"], "paid");

        let left = voucher(&app, "shop-1", &vouchers[0]["number"]).await;
        assert_eq!(left["amount_left"], 10_000 - due, "the rest stays on the voucher");
        assert_eq!(left["status"], "active");
        assert!(left.get("code").is_none() && left.get("code_hash").is_none(), "{left}");

        let (status, again) = app
            .call_as(&token, Method::POST, &path, Some(json!({"code": code})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "a paid invoice takes nothing: {again}");
        assert_eq!(voucher(&app, "shop-1", &vouchers[0]["number"]).await["amount_left"], 10_000 - due);

        let (_, payments) = app.call_as(&token, Method::GET, "/me/payments", None).await;
        assert_eq!(payments["items"].as_array().unwrap().len(), 1);
        let staff = app.get(&format!("/payments?invoice_id={}", id(&invoice))).await;
        assert_eq!(staff["items"][0]["method"], "voucher");
        let audit = app.get("/audit-log?action=voucher.used").await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 1);

        // The codes are shown once and kept nowhere: not in the logs, the audit log or a list.
        let mut places = vec![logs.text()];
        assert!(places[0].lines().count() > 10, "the instance's logs were captured");
        for path in ["/audit-log?limit=200", "/vouchers?limit=200", "/payments", "/invoices"] {
            places.push(app.get(path).await.to_string());
        }
        for voucher in &vouchers {
            let code = voucher["code"].as_str().unwrap();
            let bare = code.replace('-', "");
            for place in &places {
                assert!(!place.contains(code) && !place.contains(&bare), "a voucher code was kept");
            }
        }
    }

    async fn vouchers_that_cannot_pay_are_refused_by_name_and_change_nothing(app) {
        let (token, invoice) = subscriber(&app, "bob@isp.test").await;
        let (other, theirs) = subscriber(&app, "eve@isp.test").await;
        let path = format!("/me/invoices/{}/voucher-payments", id(&invoice));
        let usd = batch(&app, "usd", 4, 500, "USD").await;
        let eur = batch(&app, "eur", 1, 500, "EUR").await;
        let code = |v: &Value| v["code"].as_str().unwrap().to_owned();

        // Withdrawn, used up and expired vouchers.
        app.post(&format!("/vouchers/{}/void", id(&usd[1])), json!({}), StatusCode::OK).await;
        let (_, before) = app.call_as(&other, Method::GET, &format!("/me/invoices/{}", id(&theirs)), None).await;
        assert!(before["amount_due"].as_i64().unwrap() >= 500);
        let other_path = format!("/me/invoices/{}/voucher-payments", id(&theirs));
        let (status, _) = app.call_as(&other, Method::POST, &other_path, Some(json!({"code": code(&usd[2])}))).await;
        assert_eq!(status, StatusCode::CREATED, "eve spends all of voucher 3");
        sea_orm::ConnectionTrait::execute_unprepared(
            &app.state.db,
            &format!("UPDATE vouchers SET expires_on = '2020-01-01' WHERE number = '{}'", usd[3]["number"].as_str().unwrap()),
        )
        .await
        .unwrap();

        let payments = app.count("payments").await;
        let cases = [
            (json!({"code": "NOPE-NOPE-NOPE-NOPE"}), StatusCode::UNPROCESSABLE_ENTITY, "no voucher has this code"),
            (json!({"code": "  "}), StatusCode::UNPROCESSABLE_ENTITY, "must not be empty"),
            (json!({"code": code(&usd[1])}), StatusCode::CONFLICT, "withdrawn"),
            (json!({"code": code(&usd[2])}), StatusCode::CONFLICT, "used up"),
            (json!({"code": code(&usd[3])}), StatusCode::CONFLICT, "expired on 2020-01-01"),
            (json!({"code": code(&eur[0])}), StatusCode::CONFLICT, "in EUR, the invoice in USD"),
            (json!({"code": 7}), StatusCode::UNPROCESSABLE_ENTITY, "string"),
            (json!({"code": code(&usd[0]), "tip": 1}), StatusCode::UNPROCESSABLE_ENTITY, "tip"),
        ];
        for (body, expect, says) in cases {
            let (status, problem) = app.call_as(&token, Method::POST, &path, Some(body.clone())).await;
            assert_eq!(status, expect, "{body}: {problem}");
            assert!(problem["detail"].as_str().unwrap().contains(says), "{body}: {problem}");
            let field = if says == "tip" { "tip" } else { "code" };
            assert_eq!(problem["field"], field, "{body}: {problem}");
        }
        // Someone else's invoice, or a staff token, gets nothing.
        let (status, _) = app.call_as(&token, Method::POST, &other_path, Some(json!({"code": code(&usd[0])}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another customer's invoice does not exist for bob");
        let (status, _) = app.call_as(&token, Method::GET, &format!("/me/invoices/{}", id(&theirs)), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        for (path, status, field) in [
            ("/me/invoices?status=asleep", StatusCode::UNPROCESSABLE_ENTITY, "status"),
            ("/me/invoices?cursor=x", StatusCode::BAD_REQUEST, "cursor"),
            ("/me/invoices?customer_id=x", StatusCode::BAD_REQUEST, "customer_id"),
            ("/me/payments?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "limit"),
        ] {
            let (got, problem) = app.call_as(&token, Method::GET, path, None).await;
            assert_eq!((got, problem["field"].as_str()), (status, Some(field)), "{path}: {problem}");
        }
        let (status, refused) = app.call(Method::GET, "/me/invoices", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert!(refused["detail"].as_str().unwrap().contains("selfcare"), "{refused}");

        assert_eq!(app.count("payments").await, payments, "nothing was paid");
        assert_eq!(voucher(&app, "usd", &usd[0]["number"]).await["amount_left"], 500);
        let (_, mine) = app.call_as(&token, Method::GET, &format!("/me/invoices/{}", id(&invoice)), None).await;
        assert_eq!(mine["amount_due"], invoice["amount_due"]);
    }

    async fn staff_make_each_batch_once_and_vouchers_are_never_recorded_by_hand(app) {
        batch(&app, "counter-7", 3, 2_000, "USD").await;
        let vouchers = app.count("vouchers").await;
        let cases = [
            (json!({"batch": "counter-7", "count": 1, "amount": 2000}), StatusCode::CONFLICT, "batch"),
            (json!({"batch": "has space", "count": 1, "amount": 2000}), StatusCode::UNPROCESSABLE_ENTITY, "batch"),
            (json!({"batch": "b", "count": 0, "amount": 2000}), StatusCode::UNPROCESSABLE_ENTITY, "count"),
            (json!({"batch": "b", "count": 1001, "amount": 2000}), StatusCode::UNPROCESSABLE_ENTITY, "count"),
            (json!({"batch": "b", "count": -1, "amount": 2000}), StatusCode::UNPROCESSABLE_ENTITY, "count"),
            (json!({"batch": "b", "count": 1, "amount": 0}), StatusCode::UNPROCESSABLE_ENTITY, "amount"),
            (json!({"batch": "b", "count": 1, "amount": 5, "currency": "ABC"}), StatusCode::UNPROCESSABLE_ENTITY, "currency"),
            (json!({"batch": "b", "count": 1, "amount": 5, "expires_on": "2020-01-01"}), StatusCode::UNPROCESSABLE_ENTITY, "expires_on"),
        ];
        for (body, expect, field) in cases {
            let (status, problem) = app.call(Method::POST, "/vouchers", Some(body.clone())).await;
            assert_eq!(status, expect, "{body}: {problem}");
            assert_eq!(problem["field"], field, "{body}: {problem}");
        }
        assert_eq!(app.count("vouchers").await, vouchers);
        let (status, problem) = app.call(Method::GET, "/vouchers?status=lost", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], "status");

        let customer = app.customer("cy@isp.test", "US", None).await;
        let plan = app.plan("cy", 1000).await;
        let (_, invoice) = app.subscribe(&customer, &plan, "2026-09-01").await;
        let body = json!({"invoice_id": id(&invoice), "amount": 100, "method": "voucher"});
        let (status, problem) = app.call(Method::POST, "/payments", Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], "method");

        let used = batch(&app, "void-me", 1, 100, "USD").await;
        let token = app.subscriber(&customer, PASSWORD).await;
        let path = format!("/me/invoices/{}/voucher-payments", id(&invoice));
        let (status, _) = app.call_as(&token, Method::POST, &path, Some(json!({"code": used[0]["code"]}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, problem) = app.call(Method::POST, &format!("/vouchers/{}/void", id(&used[0])), Some(json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "a used-up voucher has nothing to withdraw: {problem}");
    }

    async fn one_voucher_spent_on_many_invoices_at_once_pays_out_its_value_exactly(app) {
        let vouchers = batch(&app, "shared", 1, 3_000, "USD").await;
        let code = vouchers[0]["code"].as_str().unwrap().to_owned();
        let mut payers = Vec::new();
        for n in 0..8 {
            let (token, invoice) = subscriber(&app, &format!("p{n}x@isp.test")).await;
            payers.push((token, invoice));
        }
        let app = &app;
        let calls = payers.iter().map(|(token, invoice)| {
            let path = format!("/me/invoices/{}/voucher-payments", id(invoice));
            let body = json!({"code": code});
            async move { app.call_as(token, Method::POST, &path, Some(body)).await }
        });
        let answers = futures_util::future::join_all(calls).await;
        let paid: i64 = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .map(|(_, receipt)| receipt["payment"]["amount"].as_i64().unwrap())
            .sum();
        for (status, answer) in &answers {
            assert!(
                *status == StatusCode::CREATED || *status == StatusCode::CONFLICT,
                "{status} {answer}"
            );
        }
        assert_eq!(paid, 3_000, "the voucher's value is paid out once, whole");
        let left = voucher(app, "shared", &vouchers[0]["number"]).await;
        assert_eq!(left["amount_left"], 0);
        assert_eq!(left["status"], "used");
    }
}
