//! `just bench login [N]`: sign-ins per second and their p99 on this machine with the chosen
//! argon2id parameters (19 MiB, 2 passes, 1 lane), next to the session check every later
//! request makes: from the Redis cache (a hit), from PostgreSQL (no Redis), and an
//! unauthenticated route as the HTTP floor. The session checks ask a manager's session for
//! `GET /tokens`, which the role may not call, so the answer (403) costs the check and nothing
//! else. N sign-ins (default 200) and 25×N checks, four clients at a time, against an instance
//! served over loopback on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Backend, Options, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CLIENTS: usize = 4;
const PASSWORD: &str = "a benchmark passphrase, long enough";

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `total` requests made by `request`, `CLIENTS` at a time.
async fn measure<F, Fut>(total: usize, expect: StatusCode, request: F) -> Figures
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = StatusCode> + Send,
{
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let request = request.clone();
        clients.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for n in (client..total).step_by(CLIENTS) {
                let at = Instant::now();
                let status = request(n).await;
                assert_eq!(status, expect, "request {n}");
                times.push(at.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    times.sort();
    Figures {
        per_second: total as f64 / seconds,
        p50: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
    }
}

/// A manager account on `app`, invited and accepted.
async fn account(app: &TestApp) {
    let body = json!({"email": "bench@isp.test", "display_name": "Bench", "role": "manager"});
    let invited = app.post("/accounts", body, StatusCode::CREATED).await;
    let url = invited["invitation_url"].as_str().unwrap();
    let token = url.split_once("#token=").unwrap().1;
    let accept = json!({"token": token, "new_password": PASSWORD});
    app.post("/invitations/accept", accept, StatusCode::NO_CONTENT)
        .await;
}

async fn sign_in(http: &reqwest::Client, base: &str, from: &str) -> (StatusCode, Value) {
    let response = http
        .post(format!("{base}/api/v1/sign-in"))
        .header("x-forwarded-for", from)
        .json(&json!({"login": "bench@isp.test", "password": PASSWORD, "session": "bearer"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn session_checks(app: &TestApp, total: usize) -> Figures {
    let (_, signed) = sign_in(&app.http, &app.base, "10.0.0.1").await;
    let token = signed["token"].as_str().unwrap().to_owned();
    let (http, url) = (app.http.clone(), format!("{}/api/v1/tokens", app.base));
    measure(total, StatusCode::FORBIDDEN, move |_| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    })
    .await
}

fn print(what: &str, f: &Figures) {
    println!(
        "{what:<40} {:>8.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
        f.per_second,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map_or(200, |a| a.parse().expect("N is a number"));
    let options = || Options {
        trust_forwarded_for: true,
        rate_limit: u64::MAX / 2,
        ..Options::default()
    };
    let cached = TestApp::start(
        Backend::Postgres,
        Options {
            redis: true,
            ..options()
        },
    )
    .await;
    let uncached = TestApp::start(Backend::Postgres, options()).await;
    for app in [&cached, &uncached] {
        account(app).await;
    }
    println!(
        "login: {n} sign-ins, {} session checks, {CLIENTS} clients, release build",
        n * 25
    );

    let (http, base) = (cached.http.clone(), cached.base.clone());
    let sign_ins = measure(n, StatusCode::OK, move |i| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            sign_in(&http, &base, &format!("10.1.{}.{}", i / 250, i % 250 + 1))
                .await
                .0
        }
    })
    .await;
    let hits = session_checks(&cached, n * 25).await;
    let database = session_checks(&uncached, n * 25).await;
    let (http, url) = (cached.http.clone(), format!("{}/health", cached.base));
    let floor = measure(n * 25, StatusCode::OK, move |_| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.request(Method::GET, url)
                .send()
                .await
                .unwrap()
                .status()
        }
    })
    .await;

    print("sign-in (argon2id m=19 MiB t=2 p=1)", &sign_ins);
    print("session check, Redis cache hit", &hits);
    print("session check, PostgreSQL (no Redis)", &database);
    print("unauthenticated /health (HTTP floor)", &floor);
    println!(
        "a session check from the cache costs 1/{:.0} of a sign-in",
        hits.per_second / sign_ins.per_second
    );
}
