//! `just bench radius [N]`: RADIUS through FreeRADIUS → rlm_rest → isp-runtime on PostgreSQL,
//! next to the classic deployment (FreeRADIUS with rlm_sql on the same PostgreSQL: radcheck,
//! radreply and a radpostauth row per request), in one run:
//!
//! - Access-Requests (PAP, Message-Authenticator) per second with p50 and p99 at 16 concurrent
//!   NAS clients, both ways in four turns each, and the ratio;
//! - p99 at a paced 2,000 requests/s through isp-runtime, what share of this host's
//!   closed-loop rate that is, and p99 at half that rate (where the host is not near its
//!   capacity, so that a slow host's queueing and a latency defect tell apart);
//! - accounting Interim-Updates per second, and how soon after the last answer every session's
//!   latest counters are in the database;
//! - IPAM allocations per second with 16 concurrent allocators, and the duplicates (zero).
//!
//! Every accept through isp-runtime checks the login, the subscription and its session limit,
//! takes (or keeps) an address from a pool and records the accept. Each login may hold four
//! sessions, so after its fourth sign-in it keeps an address rather than taking one: the
//! allocations themselves are the IPAM figure. N requests per closed-loop run (default 20,000)
//! over 1,000 logins.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use common::{
    AAA_SECRET, Backend, Options, TestApp,
    radius::{FreeRadius, free_udp_port},
};
use dotmac_isp::network::packet::{self, Attribute, Code, attr};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::json;

const CLIENTS: usize = 16;
/// Turns of each way of the closed-loop Access-Request runs.
const ROUNDS: usize = 4;
const LOGINS: usize = 1000;
const SECRET: &str = "bench-nas-secret-0123456789";

struct Figures {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    lost: usize,
}

/// What one load run measured.
struct Run {
    times: Vec<Duration>,
    lost: usize,
    seconds: f64,
}

impl Figures {
    /// The figures of `runs` taken together.
    fn of(runs: Vec<Run>) -> Self {
        let seconds: f64 = runs.iter().map(|r| r.seconds).sum();
        let lost = runs.iter().map(|r| r.lost).sum();
        let mut times: Vec<Duration> = runs.into_iter().flat_map(|r| r.times).collect();
        times.sort();
        Figures {
            per_second: times.len() as f64 / seconds,
            p50: percentile(&times, 0.50),
            p99: percentile(&times, 0.99),
            lost,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// What one NAS client sends: request `n`.
type Build = Arc<dyn Fn(usize) -> (Code, Vec<Attribute>) + Send + Sync>;

/// Sends `total` requests from `CLIENTS` sockets, each waiting for its answer; with `pace`,
/// each client sends on a fixed schedule and latency counts from the scheduled time. The
/// clients' schedules are staggered evenly over one period, so that requests arrive at a
/// steady rate (NAS do not send in step) rather than sixteen at a time.
async fn load(port: u16, total: usize, pace: Option<Duration>, build: Build, expect: Code) -> Run {
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let build = build.clone();
        // The first send and the period, when paced.
        let schedule = pace.map(|every| {
            let offset = every * u32::try_from(client).unwrap() / u32::try_from(CLIENTS).unwrap();
            (started + offset, every)
        });
        clients.push(tokio::spawn(async move {
            let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut times = Vec::new();
            let mut lost = 0;
            let mut buffer = [0_u8; 4096];
            for (k, n) in (client..total).step_by(CLIENTS).enumerate() {
                let scheduled = match schedule {
                    Some((first, every)) => {
                        let at = first + every * u32::try_from(k).unwrap();
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let (code, attributes) = build(n);
                let id = u8::try_from(k % 256).unwrap();
                let request = packet::request(code, id, &attributes, SECRET.as_bytes()).unwrap();
                socket.send_to(&request.bytes, target).await.unwrap();
                let answered = loop {
                    match tokio::time::timeout(
                        Duration::from_secs(3),
                        socket.recv_from(&mut buffer),
                    )
                    .await
                    {
                        Ok(Ok((len, _))) => {
                            match packet::answer(&buffer[..len], &request, SECRET.as_bytes()) {
                                Ok(answer) => break Some(answer.code),
                                Err(_) => continue,
                            }
                        }
                        _ => break None,
                    }
                };
                match answered {
                    Some(code) => {
                        assert_eq!(code, expect, "request {n}");
                        times.push(scheduled.elapsed());
                    }
                    None => lost += 1,
                }
            }
            (times, lost)
        }));
    }
    let mut times = Vec::new();
    let mut lost = 0;
    for client in clients {
        let (t, l) = client.await.unwrap();
        times.extend(t);
        lost += l;
    }
    Run {
        times,
        lost,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn access_request(n: usize) -> (Code, Vec<Attribute>) {
    let user = n % LOGINS;
    (
        Code::AccessRequest,
        vec![
            Attribute::text(attr::USER_NAME, &format!("user{user}")),
            Attribute::text(attr::USER_PASSWORD, &format!("password-{user}")),
            Attribute::integer(attr::NAS_PORT, u32::try_from(user).unwrap()),
        ],
    )
}

fn print(what: &str, f: &Figures) {
    println!(
        "{what:<58} {:>9.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  lost {}",
        f.per_second,
        f.p50.as_secs_f64() * 1000.0,
        f.p99.as_secs_f64() * 1000.0,
        f.lost
    );
}

/// The one number `query` answers.
async fn number(db: &impl ConnectionTrait, query: &str) -> i64 {
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        query,
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap()
}

async fn sql(db: &impl ConnectionTrait, statement: &str) {
    db.execute_unprepared(statement).await.unwrap();
}

/// The classic deployment's raddb: FreeRADIUS's own rlm_sql queries on `database`.
fn rlm_sql_raddb(database: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $ENV{{DOTMAC_RADIUS_RUN_DIR}}
raddbdir = /etc/freeradius/3.0
confdir = {dir}
modconfdir = /etc/freeradius/3.0/mods-config
run_dir = $ENV{{DOTMAC_RADIUS_RUN_DIR}}
libdir = /usr/lib/freeradius
pidfile = ${{run_dir}}/sql.pid
max_requests = 65536
log {{
	destination = stdout
	auth = no
}}
thread pool {{
	start_servers = 8
	max_servers = 64
	min_spare_servers = 4
	max_spare_servers = 16
	max_requests_per_server = 0
}}
client bench {{
	ipaddr = 127.0.0.1
	secret = {SECRET}
	require_message_authenticator = yes
}}
modules {{
	sql {{
		dialect = "postgresql"
		driver = "rlm_sql_postgresql"
		server = "127.0.0.1"
		port = 5432
		login = "postgres"
		password = ""
		radius_db = "{database}"
		acct_table1 = "radacct"
		acct_table2 = "radacct"
		postauth_table = "radpostauth"
		authcheck_table = "radcheck"
		groupcheck_table = "radgroupcheck"
		authreply_table = "radreply"
		groupreply_table = "radgroupreply"
		usergroup_table = "radusergroup"
		read_groups = yes
		delete_stale_sessions = yes
		pool {{
			start = 16
			min = 16
			max = 64
			spare = 16
			uses = 0
			retry_delay = 1
			lifetime = 0
			idle_timeout = 60
		}}
		client_table = "nas"
		group_attribute = "SQL-Group"
		$INCLUDE ${{modconfdir}}/${{.:name}}/main/${{dialect}}/queries.conf
	}}
	pap {{
	}}
	# The %{{tolower:}} the stock queries use.
	expr {{
	}}
}}
server default {{
	listen {{
		type = auth
		ipaddr = 127.0.0.1
		port = $ENV{{DOTMAC_RADIUS_AUTH_PORT}}
	}}
	authorize {{
		sql
		pap
	}}
	authenticate {{
		Auth-Type PAP {{
			pap
		}}
	}}
	post-auth {{
		sql
	}}
}}
"#,
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("radiusd.conf"), config).unwrap();
    dir
}

/// The AAA calls of a PAP sign-in as rlm_rest posts them, straight to the endpoints: what the
/// instance costs without FreeRADIUS.
async fn direct_http(aaa: &str, total: usize) -> Figures {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (http, aaa) = (http.clone(), aaa.to_owned());
        clients.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for n in (client..total).step_by(CLIENTS) {
                let user = n % LOGINS;
                let body = json!({
                    "User-Name": {"type": "string", "value": [format!("user{user}")]},
                    "User-Password": {"type": "string", "value": [format!("password-{user}")]},
                    "Message-Authenticator": {"type": "octets", "value": [format!("0x{n:032x}")]},
                    "DotMac-NAS-Id": {"type": "string", "value": [NAS_ID.get().unwrap().clone()]},
                });
                let at = Instant::now();
                // PAP is decided and accepted at authorize: one call, as FreeRADIUS makes it.
                for step in ["authorize"] {
                    let status = http
                        .post(format!("{aaa}/aaa/v1/{step}"))
                        .basic_auth("freeradius", Some(AAA_SECRET))
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, StatusCode::OK, "{step}");
                }
                times.push(at.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await.unwrap());
    }
    Figures::of(vec![Run {
        times,
        lost: 0,
        seconds: started.elapsed().as_secs_f64(),
    }])
}

static NAS_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    // The instance as it ships: 16 connections, enforcement every second.
    let options = Options {
        aaa: true,
        max_connections: 16,
        network_tick_ms: 1000,
        ..Options::default()
    };
    let app = TestApp::start(Backend::Postgres, options).await;
    let db = &app.state.db;
    let raddb_db = common::TestDatabase::create(Backend::Postgres).await;
    let raddb_name = raddb_db.url.rsplit('/').next().unwrap().to_owned();
    eprintln!("setting up {LOGINS} logins on both sides");
    let nas = app.post(
        "/nas",
        json!({"name": "bench", "address": "127.0.0.1", "secret": SECRET, "vendor": "mikrotik"}),
        StatusCode::CREATED,
    )
    .await;
    NAS_ID.set(common::id(&nas)).unwrap();
    app.post(
        "/ip-pools",
        json!({"name": "bench", "prefix": "100.64.0.0/16"}),
        StatusCode::CREATED,
    )
    .await;
    let customer = app.customer("bench@example.com", "US", None).await;
    let plan = common::id(&app.post("/plans", json!({"code": "B-50", "name": "B 50", "service_type": "internet", "price": 1000, "download_mbps": 50, "upload_mbps": 10}), StatusCode::CREATED).await);
    sql(db, &format!(
        "INSERT INTO subscriptions (id, customer_id, plan_id, status, discount_ppm, activated_on, created_at, updated_at) \
         SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(n), 12, '0'))::uuid, '{customer}', '{plan}', 'active', 0, current_date, now(), now() \
         FROM generate_series(1, {LOGINS}) AS n"
    )).await;
    sql(db, &format!(
        "INSERT INTO service_logins (subscription_id, kind, username, password, max_sessions, created_at, updated_at) \
         SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(n + 1), 12, '0'))::uuid, 'pppoe', 'user' || n, 'password-' || n, 4, now(), now() \
         FROM generate_series(0, {LOGINS} - 1) AS n"
    )).await;
    // The classic side: FreeRADIUS's own schema, the same users and reply attributes.
    let raddb_conn = sea_orm::Database::connect(&raddb_db.url).await.unwrap();
    let schema =
        std::fs::read_to_string("/etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql")
            .expect("freeradius-postgresql's schema (scripts/tools installs it)");
    sql(&raddb_conn, &schema).await;
    sql(&raddb_conn, &format!(
        "INSERT INTO radcheck (username, attribute, op, value) SELECT 'user' || n, 'Cleartext-Password', ':=', 'password-' || n FROM generate_series(0, {LOGINS} - 1) AS n; \
         INSERT INTO radreply (username, attribute, op, value) SELECT 'user' || n, 'Framed-IP-Address', ':=', '100.65.' || (n / 250) || '.' || (n % 250 + 2) FROM generate_series(0, {LOGINS} - 1) AS n; \
         INSERT INTO radreply (username, attribute, op, value) SELECT 'user' || n, 'Mikrotik-Rate-Limit', ':=', '10M/50M' FROM generate_series(0, {LOGINS} - 1) AS n; \
         ANALYZE"
    )).await;
    raddb_conn.close().await.unwrap();

    let ours = FreeRadius::start(app.aaa.as_deref().unwrap(), AAA_SECRET, free_udp_port());
    let classic_dir = rlm_sql_raddb(&raddb_name);
    let classic = FreeRadius::start_with(classic_dir.path(), "http://unused", "unused", 0);
    let build: Build = Arc::new(access_request);
    let direct = direct_http(app.aaa.as_deref().unwrap(), total).await;

    // Warm both (connections, caches), then measure.
    load(
        ours.auth_port,
        2_000,
        None,
        build.clone(),
        Code::AccessAccept,
    )
    .await;
    load(
        classic.auth_port,
        2_000,
        None,
        build.clone(),
        Code::AccessAccept,
    )
    .await;
    // Both ways in turns, so that a shared host slowing down or speeding up mid-run weighs on
    // both alike.
    let (mut rest, mut rlm_sql) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let share = total / ROUNDS;
        rest.push(
            load(
                ours.auth_port,
                share,
                None,
                build.clone(),
                Code::AccessAccept,
            )
            .await,
        );
        rlm_sql.push(
            load(
                classic.auth_port,
                share,
                None,
                build.clone(),
                Code::AccessAccept,
            )
            .await,
        );
    }
    let (rest, rlm_sql) = (Figures::of(rest), Figures::of(rlm_sql));
    // 2,000/s: 16 clients, each every 8 ms, for five seconds; then 1,000/s (every 16 ms).
    let paced_at = |every_ms: u64| {
        let build = build.clone();
        async move {
            Figures::of(vec![
                load(
                    ours.auth_port,
                    10_000 * 8 / usize::try_from(every_ms).unwrap(),
                    Some(Duration::from_millis(every_ms)),
                    build,
                    Code::AccessAccept,
                )
                .await,
            ])
        }
    };
    let paced = paced_at(8).await;
    let half = paced_at(16).await;

    // Accounting: a Start for each login's session, then Interim-Updates.
    let acct: Build = Arc::new(|n: usize| {
        let user = n % LOGINS;
        let status = if n < LOGINS { 1 } else { 3 };
        (
            Code::AccountingRequest,
            vec![
                Attribute::text(attr::USER_NAME, &format!("user{user}")),
                Attribute::text(attr::ACCT_SESSION_ID, &format!("bench-{user}")),
                Attribute::integer(attr::ACCT_STATUS_TYPE, status),
                Attribute::integer(attr::ACCT_INPUT_OCTETS, u32::try_from(n).unwrap()),
                Attribute::integer(attr::ACCT_OUTPUT_OCTETS, u32::try_from(n * 2).unwrap()),
                Attribute::integer(attr::ACCT_SESSION_TIME, u32::try_from(n / LOGINS).unwrap()),
            ],
        )
    });
    load(
        ours.acct_port,
        LOGINS,
        None,
        acct.clone(),
        Code::AccountingResponse,
    )
    .await;
    let interim: Build = Arc::new(move |n| acct(n + LOGINS));
    let accounting = Figures::of(vec![
        load(
            ours.acct_port,
            total,
            None,
            interim,
            Code::AccountingResponse,
        )
        .await,
    ]);
    // Answered at once, written together every half second: wait for the counters to land,
    // and say how long after the last answer they did.
    let expected: i64 = (0..LOGINS)
        .filter_map(|user| {
            (LOGINS..LOGINS + total)
                .filter(|m| m % LOGINS == user)
                .max()
                .map(|m| i64::try_from(m).unwrap())
        })
        .sum();
    let answered = Instant::now();
    let landed = loop {
        let written = number(
            db,
            "SELECT COALESCE(SUM(input_octets), 0)::bigint FROM radius_sessions WHERE acct_session_id LIKE 'bench-%'",
        )
        .await;
        if written == expected {
            break Some(answered.elapsed());
        }
        if answered.elapsed() > Duration::from_secs(10) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // IPAM: 16 allocators, each statement on its own, over 20,000 fresh subscriptions: the
    // statement an accept runs for a sign-in that needs a new address.
    let allocations = 20_000;
    sql(db, &format!(
        "INSERT INTO subscriptions (id, customer_id, plan_id, status, discount_ppm, created_at, updated_at) \
         SELECT ('00000000-0000-0001-0000-' || lpad(to_hex(n), 12, '0'))::uuid, '{customer}', '{plan}', 'active', 0, now(), now() \
         FROM generate_series(1, {allocations}) AS n"
    )).await;
    app.post(
        "/ip-pools",
        json!({"name": "alloc", "prefix": "100.66.0.0/16", "site": "alloc"}),
        StatusCode::CREATED,
    )
    .await;
    // Its own NAS and site, so that only the new pool is eligible.
    let place = dotmac_isp::network::ipam::Place {
        nas: uuid::Uuid::now_v7(),
        site: Some("alloc".to_owned()),
        walled_garden: false,
        most_sessions: 1,
    };
    let next = dotmac_isp::network::ipam::NextFit::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (db, place, next) = (db.clone(), place.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for n in (client..allocations).step_by(CLIENTS) {
                let sub = uuid::Uuid::parse_str(&format!("00000000-0000-0001-0000-{:012x}", n + 1))
                    .unwrap();
                let at = Instant::now();
                let got = dotmac_isp::network::ipam::allocate(&db, &next, sub, &place)
                    .await
                    .unwrap();
                assert!(got.is_some(), "the pool holds enough");
                times.push(at.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let ipam = Figures::of(vec![Run {
        times,
        lost: 0,
        seconds: started.elapsed().as_secs_f64(),
    }]);
    let duplicates = number(
        db,
        "SELECT COUNT(*) - COUNT(DISTINCT address) FROM ip_addresses WHERE subscription_id IS NOT NULL",
    )
    .await;

    println!(
        "radius: {total} requests per run, {CLIENTS} concurrent NAS clients, {LOGINS} logins, PostgreSQL"
    );
    print("Access-Request, FreeRADIUS → rlm_rest → isp-runtime", &rest);
    print("Access-Request, FreeRADIUS → rlm_sql (classic)", &rlm_sql);
    print("  the same AAA call over HTTP, no FreeRADIUS", &direct);
    println!(
        "  ratio rest/rlm_sql: {:.2} (goal ≥ 1.0)",
        rest.per_second / rlm_sql.per_second
    );
    print(
        "Access-Request at a paced 2,000/s (goal p99 < 10 ms)",
        &paced,
    );
    println!(
        "  2,000/s is {:.0}% of this host's closed-loop rate (above)",
        2000.0 / rest.per_second * 100.0
    );
    print("  the same at a paced 1,000/s", &half);
    print("Accounting Interim-Update (goal ≥ 10,000/s)", &accounting);
    match landed {
        Some(after) => println!(
            "  every session's latest counters written {:.2} s after the last answer",
            after.as_secs_f64()
        ),
        None => println!("  every session's latest counters written: NO, not within 10 s"),
    }
    print("IPAM allocation, 16 allocators (goal ≥ 5,000/s)", &ipam);
    println!("  duplicate addresses: {duplicates}");
    drop(classic);
    drop(ours);
}
