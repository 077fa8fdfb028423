//! Network access through the real FreeRADIUS with the shipped configuration, radclient playing
//! the NAS: NAS registry, PPPoE and IPoE sign-in, per-vendor speeds, addresses from a pool,
//! accounting, session limits, suspension, and the address allocator under concurrency. No PPP
//! runs here (the kernel has none): everything is tested at the RADIUS level.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use common::{
    AAA_SECRET, Backend, Options, TestApp, id,
    radius::{Answer, FakeNas, FreeRadius, free_udp_port, radclient},
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An instance with its AAA endpoints and FreeRADIUS in front of them, whose drop counters
/// it reads.
async fn start(backend: Backend, options: Options) -> (TestApp, FreeRadius) {
    let status_port = free_udp_port();
    let app = TestApp::start(
        backend,
        Options {
            aaa: true,
            radius_status: Some(([127, 0, 0, 1], status_port).into()),
            ..options
        },
    )
    .await;
    let radius = FreeRadius::start(app.aaa.as_deref().unwrap(), AAA_SECRET, status_port);
    (app, radius)
}

/// An active subscription on a 50/10 Mbit/s plan; answers its id.
async fn subscriber(app: &TestApp, email: &str) -> String {
    let customer = app.customer(email, "US", None).await;
    let (status, plan) = app.call(Method::GET, "/plans?active=true", None).await;
    assert_eq!(status, StatusCode::OK);
    let plan = match plan["items"].as_array().and_then(|p| p.first()) {
        Some(plan) => id(plan),
        None => id(&app
            .post(
                "/plans",
                json!({"code": "FIBER-50", "name": "Fiber 50", "service_type": "internet", "price": 4000, "download_mbps": 50, "upload_mbps": 10}),
                StatusCode::CREATED,
            )
            .await),
    };
    app.subscribe(&customer, &plan, "2026-12-01").await.0
}

/// Sends in a blocking thread (radclient waits for its answer).
async fn send(port: u16, kind: &'static str, secret: &str, attributes: String) -> Option<Answer> {
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || radclient(port, kind, &secret, &attributes))
        .await
        .unwrap()
}

async fn pap(radius: &FreeRadius, secret: &str, user: &str, password: &str) -> Option<Answer> {
    let attributes = format!(
        "User-Name = \"{user}\", User-Password = \"{password}\", Message-Authenticator = 0x00, NAS-Port = 1"
    );
    send(radius.auth_port, "auth", secret, attributes).await
}

async fn acct(radius: &FreeRadius, secret: &str, attributes: String) -> Option<Answer> {
    send(radius.acct_port, "acct", secret, attributes).await
}

async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/auth-events?{query}")).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn pppoe_sign_in_accounting_and_refusals_through_freeradius() {
    let (app, radius) = start(Backend::Sqlite, Options::default()).await;

    // Before it is registered, the NAS's packets are dropped, and counted.
    assert_eq!(
        pap(&radius, "whatever-secret-123", "alice", "x").await,
        None
    );
    assert!(
        app.count("unknown_nas").await == 1,
        "the unknown address is counted"
    );

    let nas = app
        .post(
            "/nas",
            json!({"name": "bng-1", "address": "127.0.0.1", "vendor": "mikrotik", "site": "north"}),
            StatusCode::CREATED,
        )
        .await;
    let secret = nas["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "a generated secret");
    let nas_id = id(&nas);
    let shown = app.get(&format!("/nas/{nas_id}")).await;
    assert_eq!(shown.get("secret"), None, "the secret is shown once");
    assert_eq!(shown["vendor"], "mikrotik");

    let pool = app
        .post(
            "/ip-pools",
            json!({"name": "north-cgnat", "prefix": "100.64.0.0/29", "site": "north", "reserved": ["100.64.0.3"]}),
            StatusCode::CREATED,
        )
        .await;
    // .0 network, .1 gateway, .3 reserved, .7 broadcast: .2 .4 .5 .6 are handed out.
    assert_eq!(pool["size"], 4);

    let sub = subscriber(&app, "alice@example.com").await;
    let login = app
        .call(
            Method::PUT,
            &format!("/subscriptions/{sub}/login"),
            Some(json!({"kind": "pppoe", "username": "alice", "password": "correct horse"})),
        )
        .await;
    assert_eq!(login.0, StatusCode::OK, "{}", login.1);
    assert_eq!(login.1["password"], "correct horse", "shown when set");
    let again = app.get(&format!("/subscriptions/{sub}/login")).await;
    assert_eq!(again.get("password"), None, "and never again");

    // PAP: accepted with the plan's speeds as MikroTik's attribute and an address from the pool.
    let accept = pap(&radius, &secret, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(accept.code, "Access-Accept", "{accept:?}");
    assert_eq!(accept.values("Mikrotik-Rate-Limit"), ["10M/50M"]);
    assert_eq!(accept.values("Framed-IP-Address"), ["100.64.0.2"]);
    assert_eq!(accept.values("Acct-Interim-Interval"), ["300"]);

    // Wrong password, unknown login: rejected, each recorded with its reason.
    let wrong = pap(&radius, &secret, "alice", "wrong horse").await.unwrap();
    assert_eq!(wrong.code, "Access-Reject");
    assert!(
        wrong.values("Mikrotik-Rate-Limit").is_empty(),
        "a reject carries no plan"
    );
    let unknown = pap(&radius, &secret, "mallory", "anything").await.unwrap();
    assert_eq!(unknown.code, "Access-Reject");

    // CHAP: radclient computes CHAP-Password from the cleartext it is given.
    let chap = |password: &str| {
        format!(
            "User-Name = \"alice\", CHAP-Password = \"{password}\", Message-Authenticator = 0x00"
        )
    };
    let accept = send(radius.auth_port, "auth", &secret, chap("correct horse"))
        .await
        .unwrap();
    assert_eq!(accept.code, "Access-Accept");
    assert_eq!(
        accept.values("Framed-IP-Address"),
        ["100.64.0.2"],
        "a sign-in retried before accounting keeps its lease"
    );
    let reject = send(radius.auth_port, "auth", &secret, chap("wrong horse"))
        .await
        .unwrap();
    assert_eq!(reject.code, "Access-Reject");

    // Without Message-Authenticator, or signed with another secret: dropped, no answer.
    let bare = "User-Name = \"alice\", User-Password = \"correct horse\"".to_owned();
    assert_eq!(send(radius.auth_port, "auth", &secret, bare).await, None);
    assert_eq!(
        pap(&radius, "not-the-secret-0000", "alice", "correct horse").await,
        None
    );
    // Both counted by FreeRADIUS, read by the instance from its status port; the unknown NAS
    // by the instance itself.
    let drops = until(&app, "/radius-drops", |d| {
        d["freeradius"]["auth"]["wrong_secret"].as_u64() >= Some(1)
            && d["freeradius"]["auth"]["malformed"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(drops["unknown_nas"], 1);
    assert_eq!(
        drops["freeradius"]["auth"],
        json!({"wrong_secret": 1, "malformed": 1, "overloaded": 0})
    );
    let metrics = app.metrics().await;
    assert!(
        metrics
            .contains("dotmac_isp_radius_dropped_total{port=\"auth\",reason=\"wrong-secret\"} 1"),
        "{metrics}"
    );

    let rejects = events(&app, "outcome=reject").await;
    let reasons: Vec<(&str, &str)> = rejects
        .iter()
        .map(|e| {
            (
                e["username"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("alice", "wrong-password"),
            ("mallory", "unknown-login"),
            ("alice", "wrong-password")
        ]
    );
    assert_eq!(events(&app, "outcome=accept").await.len(), 2);

    // Accounting Start, sent twice: one session, its address bound to it.
    let start = "User-Name = \"alice\", Acct-Status-Type = Start, Acct-Session-Id = \"s-1\", Framed-IP-Address = 100.64.0.2, Calling-Station-Id = \"aa:bb:cc:00:00:01\"".to_owned();
    for _ in 0..2 {
        let answer = acct(&radius, &secret, start.clone()).await.unwrap();
        assert_eq!(answer.code, "Accounting-Response");
    }
    let live = app
        .get(&format!("/radius-sessions?subscription_id={sub}&live=true"))
        .await;
    assert_eq!(live["items"].as_array().unwrap().len(), 1, "{live}");
    assert_eq!(live["items"][0]["framed_address"], "100.64.0.2");
    assert_eq!(live["items"][0]["flag"], Value::Null);

    // One session is all the login may hold.
    let limited = pap(&radius, &secret, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(limited.code, "Access-Reject");
    assert_eq!(
        events(&app, "outcome=reject").await.last().unwrap()["reason"],
        "session-limit"
    );

    // Interim-Update with gigawords; then Stop frees the address.
    let interim = "User-Name = \"alice\", Acct-Status-Type = Interim-Update, Acct-Session-Id = \"s-1\", Acct-Input-Octets = 100, Acct-Input-Gigawords = 1, Acct-Output-Octets = 7, Acct-Session-Time = 60".to_owned();
    acct(&radius, &secret, interim).await.unwrap();
    // Interim-Updates are written together every half second.
    let mut session = Value::Null;
    for _ in 0..60 {
        session = app.get("/radius-sessions?live=true").await["items"][0].clone();
        if session["output_octets"] == 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(session["input_octets"], 4_294_967_396_i64);
    assert_eq!(session["output_octets"], 7);
    let pools = app.get("/ip-pools").await;
    assert_eq!(pools["items"][0]["used"], 1);
    assert_eq!(pools["items"][0]["utilisation_percent"], 25.0);
    let stop = "User-Name = \"alice\", Acct-Status-Type = Stop, Acct-Session-Id = \"s-1\", Acct-Input-Octets = 200, Acct-Input-Gigawords = 1, Acct-Output-Octets = 9, Acct-Session-Time = 120, Acct-Terminate-Cause = User-Request".to_owned();
    acct(&radius, &secret, stop.clone()).await.unwrap();
    acct(&radius, &secret, stop).await.unwrap();
    let ended = app
        .get(&format!(
            "/radius-sessions?subscription_id={sub}&live=false"
        ))
        .await;
    assert_eq!(ended["items"].as_array().unwrap().len(), 1);
    assert_eq!(ended["items"][0]["stop_cause"], "User-Request");
    assert_eq!(ended["items"][0]["input_octets"], 4_294_967_496_i64);
    assert_eq!(
        app.get("/ip-pools").await["items"][0]["used"],
        0,
        "released at Stop"
    );

    // Accounting for a login this instance does not know is kept, flagged.
    let stray =
        "User-Name = \"ghost\", Acct-Status-Type = Interim-Update, Acct-Session-Id = \"s-9\""
            .to_owned();
    acct(&radius, &secret, stray).await.unwrap();
    let mut flagged = Value::Null;
    for _ in 0..60 {
        flagged = app.get("/radius-sessions?live=true").await;
        if !flagged["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(flagged["items"][0]["flag"], "unknown-login");

    // Each vendor's attributes reach the NAS through FreeRADIUS.
    for (vendor, attribute, values) in [
        (
            "cisco",
            "Cisco-AVPair",
            vec![
                "ip:qos-policy-in=add-class(sub,(class-default),police(10000))",
                "ip:qos-policy-out=add-class(sub,(class-default),police(50000))",
            ],
        ),
        ("juniper", "ERX-Qos-Profile-Name", vec!["FIBER-50"]),
        ("generic", "WISPr-Bandwidth-Max-Up", vec!["10000000"]),
        ("generic", "WISPr-Bandwidth-Max-Down", vec!["50000000"]),
    ] {
        let (status, body) = app
            .call(
                Method::PATCH,
                &format!("/nas/{nas_id}"),
                Some(json!({"vendor": vendor})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let accept = pap(&radius, &secret, "alice", "correct horse")
            .await
            .unwrap();
        assert_eq!(accept.code, "Access-Accept", "{vendor}");
        assert_eq!(accept.values(attribute), values, "{vendor}: {accept:?}");
        assert!(accept.values("Mikrotik-Rate-Limit").is_empty());
    }

    // A static address is what the login gets from then on.
    let (status, assigned) = app
        .call(
            Method::PUT,
            &format!("/subscriptions/{sub}/static-address"),
            Some(json!({"address": "100.64.0.6"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    let accept = pap(&radius, &secret, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(accept.values("Framed-IP-Address"), ["100.64.0.6"]);

    // A login of two sessions gets an address for each, even before either's Start.
    let family = subscriber(&app, "family@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{family}/login"),
        Some(json!({"kind": "pppoe", "username": "family", "password": "family password", "max_sessions": 2})),
    )
    .await;
    let first = pap(&radius, &secret, "family", "family password")
        .await
        .unwrap();
    let second = pap(&radius, &secret, "family", "family password")
        .await
        .unwrap();
    assert_ne!(
        first.values("Framed-IP-Address"),
        second.values("Framed-IP-Address"),
        "two sessions, two addresses"
    );

    // Suspended: new sign-ins are rejected.
    app.post(
        &format!("/subscriptions/{sub}/suspend"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    let suspended = pap(&radius, &secret, "alice", "correct horse")
        .await
        .unwrap();
    assert_eq!(suspended.code, "Access-Reject");
    assert_eq!(
        events(&app, "outcome=reject").await.last().unwrap()["reason"],
        "suspended"
    );
}

#[tokio::test]
async fn ipoe_by_mac_and_circuit_and_a_walled_garden_for_the_suspended() {
    let options = Options {
        suspended_access: dotmac_isp::network::aaa::SuspendedAccess::WalledGarden,
        ..Options::default()
    };
    let (app, radius) = start(Backend::Postgres, options).await;
    let secret = "a-secret-of-our-own-1234";
    app.post(
        "/nas",
        json!({"name": "olt-1", "address": "127.0.0.1", "secret": secret}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        "/ip-pools",
        json!({"name": "main", "prefix": "10.20.0.0/30"}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        "/ip-pools",
        json!({"name": "pd", "prefix": "2001:db8::/48", "delegated_length": 56}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        "/ip-pools",
        json!({"name": "garden", "prefix": "10.99.0.0/24", "walled_garden": true}),
        StatusCode::CREATED,
    )
    .await;
    let sub = subscriber(&app, "bob@example.com").await;
    let (status, login) = app
        .call(
            Method::PUT,
            &format!("/subscriptions/{sub}/login"),
            Some(json!({"kind": "ipoe", "mac": "AA-BB-CC-00-00-02", "circuit_id": "olt-1/1/3"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["username"], "aa:bb:cc:00:00:02");

    let dhcp = |circuit: &str| {
        format!(
            "User-Name = \"aabb.cc00.0002\", User-Password = \"aabb.cc00.0002\", Calling-Station-Id = \"aa-bb-cc-00-00-02\", ADSL-Agent-Circuit-Id = \"{circuit}\", Message-Authenticator = 0x00"
        )
    };
    let accept = send(radius.auth_port, "auth", secret, dhcp("olt-1/1/3"))
        .await
        .unwrap();
    assert_eq!(accept.code, "Access-Accept", "{accept:?}");
    assert_eq!(accept.values("Framed-IP-Address"), ["10.20.0.2"]);
    assert_eq!(accept.values("WISPr-Bandwidth-Max-Down"), ["50000000"]);
    assert_eq!(
        accept.values("Delegated-IPv6-Prefix"),
        ["2001:db8::/56"],
        "and a prefix to delegate"
    );
    let moved = send(radius.auth_port, "auth", secret, dhcp("olt-1/2/9"))
        .await
        .unwrap();
    assert_eq!(moved.code, "Access-Reject", "another circuit");
    assert_eq!(
        events(&app, "outcome=reject").await[0]["reason"],
        "wrong-circuit"
    );

    // Suspended, with the walled-garden strategy: an address from the garden, no plan speeds.
    app.post(
        &format!("/subscriptions/{sub}/suspend"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    let garden = send(radius.auth_port, "auth", secret, dhcp("olt-1/1/3"))
        .await
        .unwrap();
    assert_eq!(garden.code, "Access-Accept");
    assert_eq!(garden.values("Framed-IP-Address"), ["10.99.0.2"]);
    assert!(garden.values("WISPr-Bandwidth-Max-Down").is_empty());
    assert_eq!(
        events(&app, "outcome=accept").await[1]["reason"],
        "walled-garden"
    );

    // A full pool rejects with its reason: the main pool has one address, held above.
    let other = subscriber(&app, "carol@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{other}/login"),
        Some(json!({"kind": "pppoe", "username": "carol", "password": "carol's password"})),
    )
    .await;
    let full = pap(&radius, secret, "carol", "carol's password")
        .await
        .unwrap();
    assert_eq!(full.code, "Access-Reject");
    assert_eq!(
        events(&app, "outcome=reject").await.last().unwrap()["reason"],
        "no-address"
    );
}

/// Sixteen allocators on one pool at once, each in its own transaction: every address is
/// handed out once, and the pool runs out cleanly.
#[tokio::test]
async fn sixteen_concurrent_allocators_never_share_an_address() {
    let app = TestApp::start(Backend::Postgres, Options::default()).await;
    let pool = app
        .post(
            "/ip-pools",
            json!({"name": "p", "prefix": "10.30.0.0/25"}),
            StatusCode::CREATED,
        )
        .await;
    let size = usize::try_from(pool["size"].as_i64().unwrap()).unwrap();
    assert_eq!(size, 125);
    let customer = app.customer("many@example.com", "US", None).await;
    let plan = app.plan("P", 1000).await;
    let mut subs = Vec::new();
    for _ in 0..(size + 3) {
        let sub = app
            .post(
                "/subscriptions",
                json!({"customer_id": customer, "plan_id": plan}),
                StatusCode::CREATED,
            )
            .await;
        subs.push(uuid::Uuid::parse_str(&id(&sub)).unwrap());
    }
    let place = dotmac_isp::network::ipam::Place {
        nas: uuid::Uuid::now_v7(),
        site: None,
        walled_garden: false,
        most_sessions: 1,
    };
    let next = dotmac_isp::network::ipam::NextFit::default();
    let mut tasks = Vec::new();
    for chunk in subs.chunks(subs.len().div_ceil(16)) {
        let (db, place, chunk) = (app.state.db.clone(), place.clone(), chunk.to_vec());
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for (n, sub) in chunk.into_iter().enumerate() {
                // A sign-in whose holdings the admission read (PostgreSQL), and one whose
                // holdings the lease reads itself: the two statements race each other too.
                let address = if n % 2 == 0 {
                    dotmac_isp::network::ipam::allocate(&db, &next, sub, &place).await
                } else {
                    dotmac_isp::network::ipam::lease_for(&db, &next, sub, &place).await
                };
                got.push(address.unwrap());
            }
            got
        }));
    }
    let mut addresses = Vec::new();
    for task in tasks {
        addresses.extend(task.await.unwrap());
    }
    let handed: Vec<String> = addresses.iter().flatten().cloned().collect();
    let unique: std::collections::BTreeSet<&String> = handed.iter().collect();
    assert_eq!(handed.len(), size, "every address handed out");
    assert_eq!(unique.len(), size, "none twice");
    assert_eq!(
        addresses.iter().filter(|a| a.is_none()).count(),
        3,
        "then none"
    );
}

on_both_backends! {
    // Next-fit: an address given back is handed out again only after the rest of the pool,
    // so "who had this address at that time" stays unambiguous; then the pool runs out.
    async fn a_freed_address_waits_for_the_rest_of_the_pool(app) {
        app.post(
            "/ip-pools",
            json!({"name": "small", "prefix": "10.40.0.0/29"}),
            StatusCode::CREATED,
        )
        .await;
        let place = dotmac_isp::network::ipam::Place {
            nas: uuid::Uuid::now_v7(),
            site: None,
            walled_garden: false,
            most_sessions: 1,
        };
        let next = dotmac_isp::network::ipam::NextFit::default();
        let db = &app.state.db;
        let mut handed = Vec::new();
        for n in 0..7 {
            let sub = uuid::Uuid::parse_str(&subscriber(&app, &format!("s{n}@example.com")).await)
                .unwrap();
            handed.push(
                dotmac_isp::network::ipam::allocate(db, &next, sub, &place)
                    .await
                    .unwrap(),
            );
            if n == 1 {
                // The first subscriber gives its address back.
                sea_orm::ConnectionTrait::execute_unprepared(
                    db,
                    "UPDATE ip_addresses SET subscription_id = NULL, assigned_at = NULL \
                     WHERE address = '10.40.0.2'",
                )
                .await
                .unwrap();
            }
        }
        let handed: Vec<Option<&str>> = handed.iter().map(Option::as_deref).collect();
        assert_eq!(
            handed,
            [
                Some("10.40.0.2"),
                Some("10.40.0.3"),
                Some("10.40.0.4"),
                Some("10.40.0.5"),
                Some("10.40.0.6"),
                Some("10.40.0.2"),
                None,
            ],
            "the gateway (.1) and the broadcast (.7) are never handed out"
        );
    }
}

/// Bad input to the network routes names its field; overlapping pools are refused on both
/// databases (on PostgreSQL by its exclusion constraint too); the feature is gated.
mod bad_input {
    use super::*;

    async fn body(app: TestApp) {
        let sub = subscriber(&app, "dave@example.com").await;
        let nas = app
            .post(
                "/nas",
                json!({"name": "n", "address": "192.0.2.1"}),
                StatusCode::CREATED,
            )
            .await;
        app.post(
            "/ip-pools",
            json!({"name": "a", "prefix": "10.0.0.0/24"}),
            StatusCode::CREATED,
        )
        .await;
        let login = format!("/subscriptions/{sub}/login");
        for (method, path, body, status, field) in [
            (
                Method::POST,
                "/nas",
                json!({"name": "m", "address": "not-an-ip"}),
                422,
                "address",
            ),
            (
                Method::POST,
                "/nas",
                json!({"name": "m", "address": "192.0.2.2", "secret": "short"}),
                422,
                "secret",
            ),
            (
                Method::POST,
                "/nas",
                json!({"name": "m", "address": "192.0.2.2", "vendor": "huawei"}),
                422,
                "vendor",
            ),
            (
                Method::POST,
                "/nas",
                json!({"name": "m", "address": "192.0.2.2", "coa_port": 70000}),
                422,
                "coa_port",
            ),
            (
                Method::POST,
                "/nas",
                json!({"name": "n", "address": "192.0.2.3"}),
                409,
                "name",
            ),
            (
                Method::POST,
                "/nas",
                json!({"name": "m", "address": "192.0.2.1"}),
                409,
                "address",
            ),
            (
                Method::PATCH,
                &format!("/nas/{}", id(&nas)),
                json!({"coa_port": 0}),
                422,
                "coa_port",
            ),
            (
                Method::PUT,
                &login,
                json!({"kind": "pppoe"}),
                422,
                "username",
            ),
            (
                Method::PUT,
                &login,
                json!({"kind": "pppoe", "username": "d", "password": "short"}),
                422,
                "password",
            ),
            (
                Method::PUT,
                &login,
                json!({"kind": "pppoe", "username": "d", "mac": "aa:bb:cc:dd:ee:ff"}),
                422,
                "mac",
            ),
            (
                Method::PUT,
                &login,
                json!({"kind": "ipoe", "mac": "nope"}),
                422,
                "mac",
            ),
            (
                Method::PUT,
                &login,
                json!({"kind": "ipoe", "mac": "aa:bb:cc:dd:ee:ff", "max_sessions": 0}),
                422,
                "max_sessions",
            ),
            (Method::PUT, &login, json!({"kind": "dialup"}), 422, "kind"),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.1.0.1/24"}),
                422,
                "prefix",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.0.0.0/8"}),
                422,
                "prefix",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.2.0.0/24", "gateway": "10.3.0.1"}),
                422,
                "gateway",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.2.0.0/24", "delegated_length": 28}),
                422,
                "delegated_length",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.0.0.128/25"}),
                409,
                "prefix",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.0.0.0/15"}),
                422,
                "prefix",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.0.0.0/20"}),
                409,
                "prefix",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "a", "prefix": "10.9.0.0/24"}),
                409,
                "name",
            ),
            (
                Method::POST,
                "/ip-pools",
                json!({"name": "b", "prefix": "10.9.0.0/24", "nas_id": uuid::Uuid::nil()}),
                422,
                "nas_id",
            ),
        ] {
            let (got, problem) = app.call(method.clone(), path, Some(body.clone())).await;
            assert_eq!(
                (got.as_u16(), problem["field"].as_str()),
                (status, Some(field)),
                "{method} {path} {body}: {problem}"
            );
        }
        // The lists answer a bad query naming the parameter: 400 for a value that does not
        // parse (the query extractor's answer), 422 for one out of range.
        for (path, status, field) in [
            (
                "/radius-sessions?live=maybe",
                StatusCode::BAD_REQUEST,
                "live",
            ),
            (
                "/radius-sessions?subscription_id=nope",
                StatusCode::BAD_REQUEST,
                "subscription_id",
            ),
            (
                "/auth-events?outcome=maybe",
                StatusCode::BAD_REQUEST,
                "outcome",
            ),
            (
                "/coa-requests?session_id=nope",
                StatusCode::BAD_REQUEST,
                "session_id",
            ),
            ("/nas?limit=0", StatusCode::UNPROCESSABLE_ENTITY, "limit"),
            (
                "/ip-pools?limit=1000",
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit",
            ),
        ] {
            let (got, problem) = app.call(Method::GET, path, None).await;
            assert_eq!(
                (got, problem["field"].as_str()),
                (status, Some(field)),
                "{path}: {problem}"
            );
        }
        let (got, problem) = app
            .call(
                Method::GET,
                &format!("/subscriptions/{}/network-usage", uuid::Uuid::nil()),
                None,
            )
            .await;
        assert_eq!(got, StatusCode::NOT_FOUND, "{problem}");

        // Static addresses: from a pool, held by one subscription at most.
        let other = subscriber(&app, "eve@example.com").await;
        let static_of = |sub: &str| format!("/subscriptions/{sub}/static-address");
        let (status, body) = app
            .call(
                Method::PUT,
                &static_of(&sub),
                Some(json!({"address": "10.0.0.50"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for (address, status, field) in [
            ("10.0.0.50", 409, "address"),
            ("10.0.0.1", 422, "address"),
            ("192.168.9.9", 422, "address"),
            ("not an address", 422, "address"),
        ] {
            let (got, problem) = app
                .call(
                    Method::PUT,
                    &static_of(&other),
                    Some(json!({"address": address})),
                )
                .await;
            assert_eq!(
                (got.as_u16(), problem["field"].as_str()),
                (status, Some(field)),
                "{address}: {problem}"
            );
        }
        assert_eq!(app.get("/ip-pools").await["items"][0]["used"], 1);
        let (status, _) = app.call(Method::DELETE, &static_of(&sub), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.call(Method::DELETE, &static_of(&sub), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(app.get("/ip-pools").await["items"][0]["used"], 0);
        assert_eq!(app.count("nas").await, 1);
        assert_eq!(app.count("ip_pools").await, 1);
        assert_eq!(app.count("ip_addresses").await, 253);
        assert_eq!(app.count("service_logins").await, 0);
    }

    #[tokio::test]
    async fn sqlite() {
        body(TestApp::start(Backend::Sqlite, Options::default()).await).await;
    }

    #[tokio::test]
    async fn postgres() {
        let app = TestApp::start(Backend::Postgres, Options::default()).await;
        // The database itself refuses an overlap the service did not see.
        let overlap = sea_orm::ConnectionTrait::execute_unprepared(
            &app.state.db,
            "INSERT INTO ip_pools (id, name, prefix, family, walled_garden, size, created_at) VALUES \
             ('00000000-0000-0000-0000-000000000001', 'x', '10.5.0.0/16', 4, false, 1, now()), \
             ('00000000-0000-0000-0000-000000000002', 'y', '10.5.1.0/24', 4, false, 1, now())",
        )
        .await;
        assert!(
            overlap.is_err_and(|e| e.to_string().contains("ip_pools_no_overlap")),
            "the exclusion constraint holds"
        );
        body(app).await;
    }
}

/// A router that signs in again and again without ever starting a session (a PPPoE loop) does
/// not drain the pool: a login holds at most as many addresses as it may have sessions.
mod a_login_holds_no_more_addresses_than_sessions {
    use super::*;

    async fn body(backend: Backend) {
        let (app, radius) = start(backend, Options::default()).await;
        let secret = "nas-secret-for-leases-01";
        bng(&app, secret, "100.64.9.0/28", None).await;
        let sub = subscriber(&app, "loop@example.com").await;
        app.call(
            Method::PUT,
            &format!("/subscriptions/{sub}/login"),
            Some(json!({"kind": "pppoe", "username": "loop", "password": "loop password", "max_sessions": 2})),
        )
        .await;
        let mut given = Vec::new();
        for _ in 0..5 {
            let answer = pap(&radius, secret, "loop", "loop password").await.unwrap();
            assert_eq!(answer.code, "Access-Accept");
            given.push(answer.values("Framed-IP-Address")[0].to_owned());
        }
        assert_ne!(given[0], given[1], "two sessions, two addresses");
        assert_eq!(
            given[2], given[0],
            "at its limit the login takes back its oldest unused lease"
        );
        let held = row(
            &app,
            "SELECT CAST(COUNT(*) AS TEXT) FROM ip_addresses WHERE subscription_id IS NOT NULL",
        )
        .await;
        assert_eq!(held, [Some("2".to_owned())], "five sign-ins, two addresses");

        // Once one lease is a session's, a sign-in takes the other one.
        acct(
            &radius,
            secret,
            format!(
                "User-Name = \"loop\", Acct-Status-Type = Start, Acct-Session-Id = \"l-1\", Framed-IP-Address = {}",
                given[0]
            ),
        )
        .await
        .unwrap();
        let again = pap(&radius, secret, "loop", "loop password").await.unwrap();
        assert_eq!(again.values("Framed-IP-Address"), [given[1].as_str()]);
    }

    #[tokio::test]
    async fn sqlite() {
        body(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        body(Backend::Postgres).await;
    }
}

/// Sign-in records are written together, but each `record` answers only once its own is
/// committed, and says so when it was not (FreeRADIUS then stays silent and the NAS retries).
/// Only their commits skip the wait for the disk: the instance's others keep it.
#[tokio::test]
async fn sign_in_records_are_committed_before_their_answer() {
    use dotmac_isp::network::{
        auth_log::{self, AuthLog},
        entity::auth_event,
    };
    use sea_orm::ActiveValue::Set;

    let app = TestApp::start(Backend::Postgres, Options::default()).await;
    let records = auth_log::connection(&app.state.db, &app.db.url)
        .await
        .unwrap();
    let synchronous_commit = |db: sea_orm::DatabaseConnection| async move {
        sea_orm::ConnectionTrait::query_one_raw(
            &db,
            sea_orm::Statement::from_string(db.get_database_backend(), "SHOW synchronous_commit"),
        )
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap()
    };
    assert_eq!(synchronous_commit(records.clone()).await, "off");
    assert_eq!(synchronous_commit(app.state.db.clone()).await, "on");
    let log = AuthLog::spawn(records, "test".to_owned());
    let record = |n: usize| auth_event::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        at: Set(chrono::Utc::now()),
        nas_id: Set(None),
        username: Set(format!("burst{n}")),
        subscription_id: Set(None),
        outcome: Set("reject".to_owned()),
        reason: Set(Some("unknown-login".to_owned())),
        address: Set(None),
        calling_station: Set(None),
    };
    let burst: Vec<_> = (0..300)
        .map(|n| {
            let (log, record) = (log.clone(), record(n));
            tokio::spawn(async move { log.record(record).await })
        })
        .collect();
    for each in burst {
        each.await.unwrap().unwrap();
    }
    assert_eq!(
        app.count("auth_events").await,
        300,
        "each answered one is there"
    );

    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "ALTER TABLE auth_events RENAME TO auth_events_away",
    )
    .await
    .unwrap();
    assert!(
        log.record(record(300)).await.is_err(),
        "a record that could not be written is not answered as written"
    );
}

/// Interim-Updates are answered before they are written: a write that fails keeps them for
/// the next.
#[tokio::test]
async fn interim_updates_a_failed_write_left_are_written_by_the_next() {
    use dotmac_isp::network::{interims::Interims, radius::Attributes, sessions};

    let app = TestApp::start(Backend::Postgres, Options::default()).await;
    let db = &app.state.db;
    let nas = app
        .post(
            "/nas",
            json!({"name": "bng", "address": "192.0.2.7"}),
            StatusCode::CREATED,
        )
        .await;
    let nas = uuid::Uuid::parse_str(&id(&nas)).unwrap();
    let record = |status: &str, input: u64| -> Attributes {
        serde_json::from_value(json!({
            "User-Name": {"value": ["nobody"]},
            "Acct-Session-Id": {"value": ["s1"]},
            "Acct-Status-Type": {"value": [status]},
            "Acct-Input-Octets": {"value": [input]},
        }))
        .unwrap()
    };
    sessions::account(db, nas, &record("Start", 0))
        .await
        .unwrap();
    let input = || async {
        sea_orm::ConnectionTrait::query_one_raw(
            db,
            sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT input_octets FROM radius_sessions WHERE acct_session_id = 's1'",
            ),
        )
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
    };
    let rename = |from: &str, to: &str| {
        let sql = format!("ALTER TABLE {from} RENAME TO {to}");
        async move {
            sea_orm::ConnectionTrait::execute_unprepared(db, &sql)
                .await
                .unwrap();
        }
    };

    let interims = Interims::default();
    interims.keep(nas, "s1".to_owned(), record("Interim-Update", 1000));
    rename("radius_sessions", "radius_sessions_away").await;
    assert!(interims.write(db).await.is_err());
    rename("radius_sessions_away", "radius_sessions").await;
    interims.write(db).await.unwrap();
    assert_eq!(input().await, 1000, "kept for the next write");
}

#[tokio::test]
async fn without_the_feature_the_network_routes_are_refused() {
    let free = dotmac_isp::entitlements::Entitlements {
        plan: "free".to_owned(),
        ..Default::default()
    };
    let app = TestApp::start(
        Backend::Sqlite,
        Options {
            gate: Some(dotmac_isp::entitlements::Gate::fixed(free)),
            ..Options::default()
        },
    )
    .await;
    let (status, problem) = app
        .call(
            Method::POST,
            "/nas",
            Some(json!({"name": "n", "address": "192.0.2.1"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(app.count("nas").await, 0);
    let (status, problem) = app.call(Method::GET, "/radius-drops", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
}

/// A MikroTik NAS whose CoA port is a fake NAS, and a pool of `prefix` for it.
async fn coa_nas(app: &TestApp, secret: &str, prefix: &str) -> FakeNas {
    let nas = FakeNas::start(secret);
    bng(app, secret, prefix, Some(nas.port)).await;
    nas
}

/// Registers FreeRADIUS's loopback address as a MikroTik NAS with `secret` (and its CoA port,
/// else the default), and one pool of `prefix` for every NAS.
async fn bng(app: &TestApp, secret: &str, prefix: &str, coa_port: Option<u16>) {
    app.post(
        "/nas",
        json!({"name": "bng", "address": "127.0.0.1", "secret": secret, "vendor": "mikrotik", "coa_port": coa_port}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        "/ip-pools",
        json!({"name": "p", "prefix": prefix}),
        StatusCode::CREATED,
    )
    .await;
}

/// Signs `user` in and starts its accounting session `session`, echoing the accept's Class as a
/// NAS does; answers the address.
async fn online(
    radius: &FreeRadius,
    secret: &str,
    user: &str,
    password: &str,
    session: &str,
) -> String {
    let accept = pap(radius, secret, user, password).await.unwrap();
    assert_eq!(accept.code, "Access-Accept", "{accept:?}");
    let address = accept.values("Framed-IP-Address")[0].to_owned();
    let class = accept.values("Class")[0].to_owned();
    let start = format!(
        "User-Name = \"{user}\", Acct-Status-Type = Start, Acct-Session-Id = \"{session}\", Framed-IP-Address = {address}, Class = {class}"
    );
    acct(radius, secret, start).await.unwrap();
    address
}

async fn coa_requests(app: &TestApp) -> Vec<Value> {
    app.get("/coa-requests").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every CoA request queued is answered; answers them all.
async fn answered(app: &TestApp, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let requests = coa_requests(app).await;
        if requests.len() >= count && requests.iter().all(|r| r["status"] != "pending") {
            return requests;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{count} CoA requests were not answered: {:?}",
        coa_requests(app).await
    );
}

#[tokio::test]
async fn suspension_for_non_payment_disconnects_and_a_new_plan_is_applied_by_coa() {
    let (app, radius) = start(Backend::Sqlite, Options::default()).await;
    let secret = "nas-secret-for-coa-0001";
    let nas = coa_nas(&app, secret, "100.64.1.0/24").await;
    let customer = app.customer("erin@example.com", "US", None).await;
    let slow = id(&app
        .post(
            "/plans",
            json!({"code": "NET-20", "name": "Net 20", "service_type": "internet", "price": 2000, "download_mbps": 20, "upload_mbps": 5}),
            StatusCode::CREATED,
        )
        .await);
    let fast = id(&app
        .post(
            "/plans",
            json!({"code": "NET-100", "name": "Net 100", "service_type": "internet", "price": 5000, "download_mbps": 100, "upload_mbps": 20}),
            StatusCode::CREATED,
        )
        .await);
    let (sub, _) = app.subscribe(&customer, &slow, "2026-09-01").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{sub}/login"),
        Some(json!({"kind": "pppoe", "username": "erin", "password": "erin's password"})),
    )
    .await;
    online(&radius, secret, "erin", "erin's password", "e-1").await;
    // Steady state: nothing is sent.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(nas.arrived().is_empty(), "{:?}", nas.arrived());
    assert!(coa_requests(&app).await.is_empty());

    // A plan change reaches the live session as a CoA with the new speeds.
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/subscriptions/{sub}/change-plan"),
            Some(json!({"plan_id": fast, "date": "2026-09-10"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(nas.wait_for(1).await, ["CoA-Request|erin|e-1|20M/100M|"]);
    let sent = answered(&app, 1).await;
    assert_eq!(sent[0]["status"], "acked");
    assert_eq!(sent[0]["attributes"], "Mikrotik-Rate-Limit = \"20M/100M\"");

    // Dunning suspends for non-payment: the live session is disconnected.
    app.run("dunning", "2026-10-24").await;
    assert_eq!(
        app.get(&format!("/subscriptions/{sub}")).await["status"],
        "suspended"
    );
    assert_eq!(nas.wait_for(2).await[1], "Disconnect-Request|erin|e-1||");
    let sent = answered(&app, 2).await;
    assert_eq!(
        (sent[1]["kind"].as_str(), sent[1]["status"].as_str()),
        (Some("disconnect"), Some("acked"))
    );
    // The NAS's Stop ends it; new sign-ins are rejected until the balance is paid.
    acct(&radius, secret, "User-Name = \"erin\", Acct-Status-Type = Stop, Acct-Session-Id = \"e-1\", Acct-Terminate-Cause = Admin-Reset".to_owned()).await.unwrap();
    assert_eq!(
        pap(&radius, secret, "erin", "erin's password")
            .await
            .unwrap()
            .code,
        "Access-Reject"
    );
    let invoices = app.get(&format!("/invoices?customer_id={customer}")).await;
    for unpaid in invoices["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["amount_due"].as_i64() > Some(0))
    {
        app.post(
            "/payments",
            json!({"invoice_id": id(unpaid), "amount": unpaid["amount_due"], "method": "cash"}),
            StatusCode::CREATED,
        )
        .await;
    }
    assert_eq!(
        app.get(&format!("/subscriptions/{sub}")).await["status"],
        "active"
    );
    let address = online(&radius, secret, "erin", "erin's password", "e-2").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(nas.arrived().len(), 2, "a fresh sign-in needs no CoA");

    // The LibreQoS export shapes it under the NAS it signed in through, at its new plan.
    let response = app
        .http
        .get(format!("{}/api/v1/libreqos/ShapedDevices.csv", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows[0].starts_with(
            "Circuit ID,Circuit Name,Device ID,Device Name,Parent Node,MAC,IPv4,IPv6,"
        )
    );
    assert_eq!(
        rows[1],
        format!("{sub},erin@example.com,erin,erin,bng,,{address},,10,2,100,20,")
    );
    let network = app.get("/libreqos/network.json").await;
    assert_eq!(
        network,
        json!({"bng": {"downloadBandwidthMbps": 100, "uploadBandwidthMbps": 20}})
    );

    // A session whose NAS went quiet for three interim intervals is closed and its address
    // freed.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.state.db,
        "UPDATE radius_sessions SET updated_at = '2026-01-01 00:00:00+00:00' WHERE acct_session_id = 'e-2'",
    )
    .await
    .unwrap();
    for _ in 0..100 {
        if app.get("/radius-sessions?live=true").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ended = app
        .get(&format!(
            "/radius-sessions?subscription_id={sub}&live=false"
        ))
        .await;
    let causes: Vec<&str> = ended["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stop_cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes, ["Admin-Reset", "stale"]);
    assert_eq!(app.get("/ip-pools").await["items"][0]["used"], 0);
}

#[tokio::test]
async fn a_walled_garden_by_coa_and_back_and_a_nak_recorded() {
    let options = Options {
        suspended_access: dotmac_isp::network::aaa::SuspendedAccess::WalledGarden,
        ..Options::default()
    };
    let (app, radius) = start(Backend::Postgres, options).await;
    let secret = "nas-secret-for-coa-0002";
    let nas = coa_nas(&app, secret, "100.64.2.0/24").await;
    let sub = subscriber(&app, "frank@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{sub}/login"),
        Some(json!({"kind": "pppoe", "username": "frank", "password": "frank's password"})),
    )
    .await;
    online(&radius, secret, "frank", "frank's password", "f-1").await;
    app.post(
        &format!("/subscriptions/{sub}/suspend"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        nas.wait_for(1).await,
        ["CoA-Request|frank|f-1||walled-garden"]
    );
    answered(&app, 1).await;
    app.post(
        &format!("/subscriptions/{sub}/resume"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        nas.wait_for(2).await[1],
        "CoA-Request|frank|f-1|10M/50M|internet"
    );
    let sent = answered(&app, 2).await;
    assert_eq!(sent[1]["target"], "service");

    // A NAS that refuses: the NAK is recorded, and not sent again and again.
    let other = subscriber(&app, "refuse@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{other}/login"),
        Some(json!({"kind": "pppoe", "username": "refuse-me", "password": "refusing password"})),
    )
    .await;
    online(&radius, secret, "refuse-me", "refusing password", "r-1").await;
    app.post(
        &format!("/subscriptions/{other}/suspend"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    nas.wait_for(3).await;
    let sent = answered(&app, 3).await;
    assert_eq!(sent[2]["status"], "naked");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        coa_requests(&app).await.len(),
        3,
        "a NAK is not retried at once"
    );
}

#[tokio::test]
async fn two_sign_ins_past_the_session_limit_keep_the_first_and_disconnect_the_second() {
    let (app, radius) = start(Backend::Postgres, Options::default()).await;
    let secret = "nas-secret-for-coa-0004";
    let nas = coa_nas(&app, secret, "100.64.4.0/24").await;
    let sub = subscriber(&app, "gina@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{sub}/login"),
        Some(json!({"kind": "pppoe", "username": "gina", "password": "gina's password"})),
    )
    .await;
    // Both sign-ins are accepted before either's Start arrives (a router retrying, two routers
    // sharing a login); both then start.
    let first = pap(&radius, secret, "gina", "gina's password")
        .await
        .unwrap();
    let second = pap(&radius, secret, "gina", "gina's password")
        .await
        .unwrap();
    assert_eq!(
        (first.code.as_str(), second.code.as_str()),
        ("Access-Accept", "Access-Accept")
    );
    for (answer, session) in [(&first, "g-1"), (&second, "g-2")] {
        let start = format!(
            "User-Name = \"gina\", Acct-Status-Type = Start, Acct-Session-Id = \"{session}\", Framed-IP-Address = {}, Class = {}",
            answer.values("Framed-IP-Address")[0],
            answer.values("Class")[0]
        );
        acct(&radius, secret, start).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The login holds one session: the newer is disconnected, the first keeps its service.
    assert_eq!(nas.wait_for(1).await, ["Disconnect-Request|gina|g-2||"]);
    let sent = answered(&app, 1).await;
    assert_eq!(
        (sent[0]["kind"].as_str(), sent[0]["status"].as_str()),
        (Some("disconnect"), Some("acked"))
    );
    acct(&radius, secret, "User-Name = \"gina\", Acct-Status-Type = Stop, Acct-Session-Id = \"g-2\", Acct-Terminate-Cause = Admin-Reset".to_owned()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        nas.arrived().len(),
        1,
        "the session within the limit is left alone"
    );
    let live = app
        .get(&format!("/radius-sessions?subscription_id={sub}&live=true"))
        .await;
    let ids: Vec<&str> = live["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["acct_session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["g-1"]);
}

/// Waits until `check` holds of `path`'s answer; answers it.
async fn until(app: &TestApp, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.get(path).await;
        if check(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never matched: {last}");
}

mod past_the_allowance_a_throttle_by_coa_or_each_gb_billed_once {
    use super::*;

    async fn body(backend: Backend) {
        let (app, radius) = start(backend, Options::default()).await;
        let secret = "nas-secret-for-fair-use-3";
        let nas = coa_nas(&app, secret, "100.64.3.0/24").await;
        let throttle = id(&app
            .post(
                "/plans",
                json!({"code": "CAP-T", "name": "Capped, throttled", "service_type": "internet", "price": 3000,
                       "download_mbps": 50, "upload_mbps": 10, "data_allowance_gb": 1,
                       "over_allowance": "throttle", "fair_use_download_mbps": 2, "fair_use_upload_mbps": 1}),
                StatusCode::CREATED,
            )
            .await);
        let bill = id(&app
            .post(
                "/plans",
                json!({"code": "CAP-B", "name": "Capped, billed", "service_type": "internet", "price": 3000,
                       "download_mbps": 50, "upload_mbps": 10, "data_allowance_gb": 1,
                       "over_allowance": "bill", "overage_price_per_gb": 250}),
                StatusCode::CREATED,
            )
            .await);
        for (body, field) in [
            (
                json!({"code": "X1", "name": "X1", "service_type": "internet", "price": 1, "over_allowance": "bill", "overage_price_per_gb": 1}),
                "over_allowance",
            ),
            (
                json!({"code": "X2", "name": "X2", "service_type": "internet", "price": 1, "data_allowance_gb": 1, "over_allowance": "throttle"}),
                "fair_use_download_mbps",
            ),
            (
                json!({"code": "X3", "name": "X3", "service_type": "internet", "price": 1, "data_allowance_gb": 1, "over_allowance": "bill"}),
                "overage_price_per_gb",
            ),
        ] {
            let (status, problem) = app.call(Method::POST, "/plans", Some(body)).await;
            assert_eq!(
                (status, problem["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
                "{problem}"
            );
        }
        let uncapped = id(&app
            .post(
                "/plans",
                json!({"code": "FREE", "name": "Uncapped", "service_type": "internet", "price": 3000,
                       "download_mbps": 50, "upload_mbps": 10}),
                StatusCode::CREATED,
            )
            .await);
        let customer = app.customer("gina@example.com", "US", None).await;
        let (slowed, _) = app.subscribe(&customer, &throttle, "2026-12-01").await;
        let (billed, _) = app.subscribe(&customer, &bill, "2026-12-01").await;
        let (free, _) = app.subscribe(&customer, &uncapped, "2026-12-01").await;
        for (sub, user) in [(&slowed, "gina-t"), (&billed, "gina-b"), (&free, "gina-u")] {
            app.call(
                Method::PUT,
                &format!("/subscriptions/{sub}/login"),
                Some(json!({"kind": "pppoe", "username": user, "password": "gina's password"})),
            )
            .await;
            online(&radius, secret, user, "gina's password", user).await;
        }
        let interim = |user: &str, input: u64, output: u64| {
            format!(
                "User-Name = \"{user}\", Acct-Status-Type = Interim-Update, Acct-Session-Id = \"{user}\", Acct-Input-Octets = {input}, Acct-Output-Octets = {output}"
            )
        };

        // 1.2 GB on a 1 GB allowance that throttles: the live session gets the fair-use speeds.
        // 3 GB on a plan without an allowance, counted in the same tick: nothing applies.
        acct(
            &radius,
            secret,
            interim("gina-u", 1_000_000_000, 2_000_000_000),
        )
        .await
        .unwrap();
        acct(&radius, secret, interim("gina-t", 600_000_000, 600_000_000))
            .await
            .unwrap();
        assert_eq!(nas.wait_for(1).await, ["CoA-Request|gina-t|gina-t|1M/2M|"]);
        let usage = until(&app, &format!("/subscriptions/{free}/network-usage"), |u| {
            u["used_octets"] == 3_000_000_000_i64
        })
        .await;
        assert_eq!(usage["throttled"], false, "{usage}");
        let usage = until(
            &app,
            &format!("/subscriptions/{slowed}/network-usage"),
            |u| u["throttled"] == true,
        )
        .await;
        assert_eq!(usage["used_octets"], 1_200_000_000_i64);
        assert_eq!(usage["allowance_gb"], 1);
        assert_eq!(usage["days"].as_array().unwrap().len(), 1);
        // The Stop's final counters are counted, once however many ticks pass after it.
        acct(
            &radius,
            secret,
            "User-Name = \"gina-t\", Acct-Status-Type = Stop, Acct-Session-Id = \"gina-t\", \
             Acct-Input-Octets = 700000000, Acct-Output-Octets = 600000000"
                .to_owned(),
        )
        .await
        .unwrap();
        until(
            &app,
            &format!("/subscriptions/{slowed}/network-usage"),
            |u| u["used_octets"] == 1_300_000_000_i64,
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            app.get(&format!("/subscriptions/{slowed}/network-usage"))
                .await["used_octets"],
            1_300_000_000_i64
        );
        // A new sign-in in the same period starts at fair use.
        let again = pap(&radius, secret, "gina-t", "gina's password")
            .await
            .unwrap();
        assert_eq!(again.values("Mikrotik-Rate-Limit"), ["1M/2M"]);

        // 2.5 GB on a 1 GB allowance that bills: 2 GB charged, once however often it is counted.
        acct(
            &radius,
            secret,
            interim("gina-b", 1_300_000_000, 1_200_000_000),
        )
        .await
        .unwrap();
        let charges = until(
            &app,
            &format!("/subscriptions/{billed}/usage-charges"),
            |c| !c["items"].as_array().unwrap().is_empty(),
        )
        .await;
        assert_eq!(charges["items"][0]["quantity"], 2);
        assert_eq!(charges["items"][0]["unit_price"], 250);
        acct(
            &radius,
            secret,
            interim("gina-b", 1_300_000_000, 1_200_000_000),
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert_eq!(
            app.get(&format!("/subscriptions/{billed}/usage-charges"))
                .await["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // 3.2 GB: the third GB, and only it.
        acct(
            &radius,
            secret,
            interim("gina-b", 2_000_000_000, 1_200_000_000),
        )
        .await
        .unwrap();
        let charges = until(
            &app,
            &format!("/subscriptions/{billed}/usage-charges"),
            |c| c["items"].as_array().unwrap().len() == 2,
        )
        .await;
        assert_eq!(charges["items"][1]["quantity"], 1);
        assert_eq!(
            until(
                &app,
                &format!("/subscriptions/{billed}/network-usage"),
                |u| u["billed_gb"] == 3
            )
            .await["used_octets"],
            3_200_000_000_i64
        );
        assert_eq!(nas.arrived().len(), 1, "billing sends no CoA");
        assert_eq!(
            app.get(&format!("/subscriptions/{free}/usage-charges"))
                .await["items"],
            json!([]),
            "no allowance, nothing over it"
        );

        // The subscriber sees the same through the API.
        let subscriber = app.subscriber(&customer, "a subscriber's passphrase").await;
        let (status, mine) = app
            .call_as(&subscriber, Method::GET, "/me/network-usage", None)
            .await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        let used: Vec<i64> = mine
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["used_octets"].as_i64().unwrap())
            .collect();
        assert_eq!(
            used.iter().sum::<i64>(),
            1_300_000_000 + 3_200_000_000 + 3_000_000_000
        );
        let (status, _) = app.call(Method::GET, "/me/network-usage", None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a staff token has no subscriber account"
        );
    }

    #[tokio::test]
    async fn sqlite() {
        body(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        body(Backend::Postgres).await;
    }
}

/// The tenant's OpenBao namespace as the operator provisions it (its KV, transit key, policy
/// and AppRole), and the instance's sign-in to it.
async fn tenant_openbao(
    bao: &dotmac_testkit::openbao::DevBao,
    tenant: &str,
) -> dotmac_isp::openbao::BaoConfig {
    use dotmac_operator::provision::{
        openbao::{OpenBao, SecretsProvisioner},
        password::Password,
    };
    let admin = OpenBao::new(&bao.addr, Password::from_stored("test-root".to_owned())).unwrap();
    let (role_id, _) = admin.ensure(tenant).await.unwrap();
    let secret_id = admin.issue_secret_id(tenant).await.unwrap();
    dotmac_isp::openbao::BaoConfig {
        addr: bao.addr.clone(),
        namespace: dotmac_operator::provision::openbao::namespace(tenant),
        role_id,
        secret_id: secret_id.expose().to_owned(),
    }
}

/// A value in the tenant's KV, read with the root token.
async fn kv(bao: &dotmac_testkit::openbao::DevBao, tenant: &str, path: &str) -> Option<String> {
    let answer = reqwest::Client::new()
        .get(format!("{}/v1/kv/data/{path}", bao.addr))
        .header("X-Vault-Token", "test-root")
        .header("X-Vault-Namespace", format!("tenants/{tenant}"))
        .send()
        .await
        .unwrap();
    if answer.status() == StatusCode::NOT_FOUND {
        return None;
    }
    let body: Value = answer.json().await.unwrap();
    body.pointer("/data/data/value")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// One row of `sql` as JSON text columns.
async fn row(app: &TestApp, sql: &str) -> Vec<Option<String>> {
    let db = &app.state.db;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        db,
        sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned()),
    )
    .await
    .unwrap()
    .unwrap();
    (0..)
        .map_while(|i| row.try_get_by_index::<Option<String>>(i).ok())
        .collect()
}

#[tokio::test]
async fn with_openbao_nas_secrets_are_in_kv_and_passwords_sealed_with_transit() {
    let bao = dotmac_testkit::openbao::DevBao::start().await;
    let openbao = tenant_openbao(&bao, "isp-net").await;
    let (app, radius) = start(
        Backend::Postgres,
        Options {
            openbao: Some(openbao),
            ..Options::default()
        },
    )
    .await;
    let secret = "nas-secret-in-openbao-01";
    let nas = coa_nas(&app, secret, "100.64.5.0/24").await;
    let nas_id = id(&app.get("/nas").await["items"][0]);
    assert_eq!(
        row(&app, "SELECT secret FROM nas").await,
        [None],
        "the database does not hold the NAS secret"
    );
    assert_eq!(
        kv(&bao, "isp-net", &format!("instance/nas/{nas_id}"))
            .await
            .as_deref(),
        Some(secret),
        "OpenBao does"
    );

    let customer = app.customer("hana@example.com", "US", None).await;
    let slow = app.plan("NET-20", 2000).await;
    let fast = id(&app
        .post(
            "/plans",
            json!({"code": "NET-100", "name": "Net 100", "service_type": "internet", "price": 5000, "download_mbps": 100, "upload_mbps": 20}),
            StatusCode::CREATED,
        )
        .await);
    let (sub, _) = app.subscribe(&customer, &slow, "2026-09-01").await;
    let (status, login) = app
        .call(
            Method::PUT,
            &format!("/subscriptions/{sub}/login"),
            Some(json!({"kind": "pppoe", "username": "hana", "password": "hana's password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(
        login["password"], "hana's password",
        "shown once, in the clear"
    );
    let stored = row(&app, "SELECT password, sealed_password FROM service_logins").await;
    assert_eq!(stored[0], None, "no cleartext password in the database");
    let sealed = stored[1].clone().unwrap();
    assert!(
        sealed.starts_with("vault:v1:"),
        "sealed by transit: {sealed}"
    );
    assert!(!sealed.contains("hana"));

    // PAP and CHAP through FreeRADIUS: the NAS is known by its secret in KV, and the password
    // is opened with the transit key.
    let wrong = pap(&radius, secret, "hana", "not hana's").await.unwrap();
    assert_eq!(wrong.code, "Access-Reject");
    let chap =
        "User-Name = \"hana\", CHAP-Password = \"hana's password\", Message-Authenticator = 0x00";
    let accept = send(radius.auth_port, "auth", secret, chap.to_owned())
        .await
        .unwrap();
    assert_eq!(accept.code, "Access-Accept", "{accept:?}");
    online(&radius, secret, "hana", "hana's password", "h-1").await;

    // The enforcement tick signs its CoA with the secret from KV: the NAS takes it.
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/subscriptions/{sub}/change-plan"),
            Some(json!({"plan_id": fast, "date": "2026-09-10"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(nas.wait_for(1).await, ["CoA-Request|hana|h-1|20M/100M|"]);
    assert_eq!(answered(&app, 1).await[0]["status"], "acked");

    // Without OpenBao a new NAS is refused as unavailable, and nothing is written.
    drop(bao);
    let (status, problem) = app
        .call(
            Method::POST,
            "/nas",
            Some(json!({"name": "bng-2", "address": "192.0.2.7", "vendor": "generic"})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(!problem.to_string().contains("nas-secret"), "{problem}");
    assert_eq!(app.count("nas").await, 1);
}

#[tokio::test]
async fn secrets_kept_in_the_database_move_to_openbao_once_it_is_there() {
    let bao = dotmac_testkit::openbao::DevBao::start().await;
    let openbao = tenant_openbao(&bao, "isp-move").await;
    let app = TestApp::start(Backend::Sqlite, Options::default()).await;
    app.post(
        "/nas",
        json!({"name": "bng", "address": "192.0.2.1", "secret": "kept-in-the-database-1"}),
        StatusCode::CREATED,
    )
    .await;
    let sub = subscriber(&app, "ivan@example.com").await;
    app.call(
        Method::PUT,
        &format!("/subscriptions/{sub}/login"),
        Some(json!({"kind": "pppoe", "username": "ivan", "password": "ivan's password"})),
    )
    .await;
    assert_eq!(
        row(&app, "SELECT secret FROM nas").await,
        [Some("kept-in-the-database-1".to_owned())]
    );

    let secrets = dotmac_isp::network::secrets::Secrets::new(
        "isp-move",
        Some(dotmac_isp::openbao::OpenBao::new(openbao).unwrap()),
    );
    assert_eq!(secrets.seal_existing(&app.state.db).await.unwrap(), 2);
    assert_eq!(
        secrets.seal_existing(&app.state.db).await.unwrap(),
        0,
        "done once"
    );
    let nas_id = id(&app.get("/nas").await["items"][0]);
    assert_eq!(row(&app, "SELECT secret FROM nas").await, [None]);
    assert_eq!(
        kv(&bao, "isp-move", &format!("instance/nas/{nas_id}"))
            .await
            .as_deref(),
        Some("kept-in-the-database-1")
    );
    let stored = row(&app, "SELECT password, sealed_password FROM service_logins").await;
    assert_eq!(stored[0], None);
    let sealed = dotmac_isp::network::secrets::StoredPassword::Sealed(stored[1].clone().unwrap());
    assert_eq!(
        secrets.password(sealed).await.unwrap(),
        "ivan's password",
        "and opened again"
    );
}
