//! The business-day scheduler: with two replicas on one database each run starts once, a run
//! missed while the instance was down is caught up (billing every period since), and the
//! ISP's time zone decides which day it is.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use common::{Backend, Options, TestApp};
use dotmac_isp::{
    jobs::JobQueue,
    schedule::{self, Schedule, calendar::Calendar},
};
use reqwest::StatusCode;
use serde_json::json;

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn schedule_in(zone: &str) -> Schedule {
    Schedule::new(
        Calendar {
            zone: jiff::tz::TimeZone::get(zone).unwrap(),
            billing_hour: 2,
            dunning_hour: 6,
        },
        zone.to_owned(),
        true,
    )
}

#[tokio::test]
async fn two_replicas_start_each_run_once_on_postgres() {
    let app = TestApp::start(Backend::Postgres, Options::default()).await;
    // A second replica: its own connections and queue, the same database.
    let other = dotmac_isp::db::connect(&app.db.url).await.unwrap();
    let (queue_a, _source_a) = JobQueue::local();
    let (queue_b, _source_b) = JobQueue::local();
    let utc = schedule_in("UTC");
    let now = at("2026-12-01T07:00:00Z");
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            schedule::check(&app.state.db, &queue_a, &utc, &app.tenant, now),
            schedule::check(&other, &queue_b, &utc, &app.tenant, now),
        );
        a.unwrap();
        b.unwrap();
    }
    assert_eq!(
        app.count("scheduled_runs").await,
        2,
        "billing and dunning, once each"
    );
    assert_eq!(app.count("runs").await, 2, "no run recorded twice");
    // The next day: one more dunning run, no billing run.
    schedule::check(
        &other,
        &queue_b,
        &utc,
        &app.tenant,
        at("2026-12-02T07:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(app.count("runs").await, 3);
}

#[tokio::test]
async fn a_billing_run_missed_while_down_bills_every_period_since() {
    let app = TestApp::start(Backend::Sqlite, Options::default()).await;
    let customer = app.customer("away@example.com", "US", None).await;
    let plan = app.plan("NET", 3000).await;
    let (_, first) = app.subscribe(&customer, &plan, "2026-10-01").await;
    app.post("/payments", json!({"invoice_id": common::id(&first), "amount": first["total"], "method": "cash", "received_on": "2026-10-02"}), StatusCode::CREATED).await;
    // Down through November and December's first days; back on 5 December.
    schedule::check(
        &app.state.db,
        &app.state.jobs,
        &schedule_in("UTC"),
        &app.tenant,
        at("2026-12-05T12:00:00Z"),
    )
    .await
    .unwrap();
    let runs = app.get("/billing-runs").await;
    let run = &runs["items"][0];
    assert_eq!(run["as_of"], "2026-12-01");
    let path = format!("/billing-runs/{}", common::id(run));
    for _ in 0..200 {
        if app.get(&path).await["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.get(&path).await["status"], "succeeded");
    let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
    let mut periods: Vec<String> = invoices["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["period_start"].as_str().unwrap_or_default().to_owned())
        .collect();
    periods.sort();
    assert_eq!(
        periods,
        ["2026-10-01", "2026-11-01", "2026-12-01"],
        "November and December caught up"
    );
    let shown = app.get("/schedule").await;
    assert_eq!(shown["runs"][0]["kind"], "billing");
    assert_eq!(shown["runs"][0]["last_as_of"], "2026-12-01");
    assert_eq!(shown["runs"][0]["last_run_id"], run["id"]);
}

#[tokio::test]
async fn the_time_zone_decides_the_business_day() {
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            time_zone: "Asia/Tokyo",
            ..Options::default()
        },
    )
    .await;
    // 30 November 23:30 UTC is 1 December 08:30 in Tokyo: December's billing and dunning.
    let now = at("2026-11-30T23:30:00Z");
    schedule::check(
        &app.state.db,
        &app.state.jobs,
        &app.state.schedule,
        &app.tenant,
        now,
    )
    .await
    .unwrap();
    let dunning = app.get("/dunning-runs").await;
    assert_eq!(dunning["items"][0]["as_of"], "2026-12-01");
    let billing = app.get("/billing-runs").await;
    assert_eq!(billing["items"][0]["as_of"], "2026-12-01");
    let shown = app.get("/schedule").await;
    assert_eq!(shown["time_zone"], "Asia/Tokyo");
    assert_eq!(
        shown["enabled"], false,
        "this test app leaves runs to the API"
    );
    assert!(shown["runs"][1]["next_at"].as_str().unwrap().ends_with('Z'));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("dotmac_isp_scheduled_run_last_timestamp_seconds{kind=\"billing\"}")
            && metrics
                .contains("dotmac_isp_scheduled_run_next_timestamp_seconds{kind=\"dunning\"}"),
        "{metrics}"
    );
}
