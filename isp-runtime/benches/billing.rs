//! `just bench billing [N]`: seeds N active subscriptions (default 100,000) and times the
//! billing run that invoices them, next to a baseline that bulk-inserts the very same invoice
//! and line rows in batches of the same size, through the same insert the run uses (one
//! statement per table and batch), so the ratio is the run's overhead: finding what is due,
//! pricing, numbering, moving the subscriptions on, progress and audit. Runs on PostgreSQL (the machine's) and on
//! embedded SQLite. Goals on PostgreSQL: at least 10,000 invoices/s and at most 3× the
//! baseline's time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::time::Instant;

use dotmac_isp::{
    billing::{
        invoices::{
            self,
            entity::{invoice, invoice_line},
        },
        runs::{
            RunKind, RunStatus,
            billing::{self as billing_run, Options},
            entity::run,
        },
    },
    db::{self, new_id},
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryOrder, TransactionTrait,
};

const BATCH: u64 = 1000;

struct Figures {
    seconds: f64,
    baseline: f64,
    invoices: u64,
}

async fn measure(db: &DatabaseConnection, subscriptions: u64) -> Figures {
    db::migrate(db).await.unwrap();
    let due: chrono::NaiveDate = "2026-10-01".parse().unwrap();
    let seeding = Instant::now();
    dotmac_isp::seed::seed(db, subscriptions, due, |done| {
        if done % 25_000 == 0 {
            eprint!("\r  seeding {done}/{subscriptions}");
        }
    })
    .await
    .unwrap();
    eprintln!(
        "\r  seeded {subscriptions} subscriptions in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let now = chrono::Utc::now();
    let row = run::Model {
        id: new_id(),
        kind: RunKind::Billing,
        as_of: due,
        status: RunStatus::Running,
        attempts: 1,
        processed: 0,
        created: 0,
        error: None,
        lease_until: None,
        created_at: now,
        started_at: Some(now),
        finished_at: None,
    };
    run::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(db)
        .await
        .unwrap();
    let options = Options {
        batch_size: BATCH,
        terms_days: 30,
        lease_seconds: 60,
    };
    let started = Instant::now();
    billing_run::execute(db, &row, options).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();

    // Baseline: the same rows, taken out and inserted again in batches of the same size.
    let invoices = invoice::Entity::find()
        .order_by_asc(invoice::Column::Id)
        .all(db)
        .await
        .unwrap();
    let lines = invoice_line::Entity::find()
        .order_by_asc(invoice_line::Column::InvoiceId)
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        invoices.len() as u64,
        subscriptions,
        "the run must bill every subscription once"
    );
    db.execute_unprepared("DELETE FROM invoice_lines")
        .await
        .unwrap();
    db.execute_unprepared("DELETE FROM invoices").await.unwrap();
    let started = Instant::now();
    let batch = usize::try_from(BATCH).unwrap();
    for (invoice_chunk, line_chunk) in invoices.chunks(batch).zip(lines.chunks(batch)) {
        let txn = db.begin().await.unwrap();
        invoices::store(&txn, invoice_chunk, line_chunk)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    let baseline = started.elapsed().as_secs_f64();
    Figures {
        seconds,
        baseline,
        invoices: subscriptions,
    }
}

fn report(backend: &str, f: &Figures, goals: bool) {
    let rate = f.invoices as f64 / f.seconds;
    let ratio = f.seconds / f.baseline;
    println!(
        "{backend:<10} billing run: {} invoices in {:.2} s = {:>8.0} invoices/s | baseline bulk insert of the same rows: {:.2} s = {:>8.0} rows/s | ratio {:.2}×",
        f.invoices,
        f.seconds,
        rate,
        f.baseline,
        f.invoices as f64 / f.baseline,
        ratio
    );
    if goals {
        println!(
            "{:<10} goals: ≥ 10,000 invoices/s: {}; ≤ 3× baseline: {}",
            "",
            if rate >= 10_000.0 { "met" } else { "NOT met" },
            if ratio <= 3.0 { "met" } else { "NOT met" }
        );
    }
}

#[tokio::main]
async fn main() {
    let subscriptions: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);

    eprintln!("PostgreSQL:");
    let name = format!("isp_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(&dotmac_testkit::require_postgres())
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let pg = db::connect(&dotmac_testkit::postgres_url(&name))
        .await
        .unwrap();
    let postgres = measure(&pg, subscriptions).await;
    pg.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();

    eprintln!("SQLite:");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = db::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    let embedded = measure(&sqlite, subscriptions).await;

    println!();
    report("PostgreSQL", &postgres, true);
    report("SQLite", &embedded, false);
}
