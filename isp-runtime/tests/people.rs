//! People signing in, tried the way users and attackers do: over HTTP against a served instance,
//! with a real SMTP server for the e-mail. Each test also captures every log line the instance
//! writes and checks that none of the secrets it made (passwords, tokens, TOTP secrets, recovery
//! codes, links) appears there, in the audit log or in an answer after the one that made it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Options, TestApp, id};
use dotmac_identity::totp::Secret;
use dotmac_isp::people::{Permission, Role, entity};
use dotmac_testkit::logs::Logs;
use reqwest::{Method, StatusCode, header};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel, Iterable};
use serde_json::{Value, json};

/// The secrets a test made, and the check that they stayed where they belong.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn add(&mut self, secret: impl Into<String>) -> String {
        let secret = secret.into();
        assert!(secret.len() >= 6, "too short to search for: {secret}");
        self.0.push(secret.clone());
        secret
    }

    /// Fails naming the first secret found in the logs, the audit log, or the listings.
    async fn assert_nowhere(&self, app: &TestApp, logs: &Logs) {
        let text = logs.text();
        assert!(
            text.lines().count() > 10,
            "the instance's logs were captured: {text}"
        );
        println!(
            "searched {} log lines for {} secrets",
            text.lines().count(),
            self.0.len()
        );
        let mut places = vec![("the logs".to_owned(), text)];
        for path in [
            "/audit-log?limit=200",
            "/accounts?limit=200",
            "/tokens",
            "/me",
            "/me/sessions",
        ] {
            let (_, body) = app.call(Method::GET, path, None).await;
            places.push((format!("GET {path}"), body.to_string()));
        }
        for secret in &self.0 {
            for (place, text) in &places {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret appears in {place}"
                );
            }
        }
    }
}

/// A raw request with the headers sign-in tests need.
struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    path: &'a str,
    body: Option<Value>,
    bearer: Option<&'a str>,
    cookies: Option<String>,
    csrf: Option<String>,
    from: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn new(app: &'a TestApp, method: Method, path: &'a str) -> Self {
        Self {
            app,
            method,
            path,
            body: None,
            bearer: None,
            cookies: None,
            csrf: None,
            from: None,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    fn from(mut self, address: &'a str) -> Self {
        self.from = Some(address);
        self
    }

    async fn send(self) -> (StatusCode, header::HeaderMap, Value) {
        let mut request = self.app.http.request(
            self.method,
            format!("{}/api/v1{}", self.app.base, self.path),
        );
        if let Some(token) = self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(cookies) = self.cookies {
            request = request.header(header::COOKIE, cookies);
        }
        if let Some(csrf) = self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(from) = self.from {
            request = request.header("x-forwarded-for", from);
        }
        if let Some(body) = self.body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }
}

/// The token in a link's `#token=` fragment.
fn link_token(url: &str) -> String {
    url.split_once("#token=").unwrap().1.trim().to_owned()
}

/// A TOTP code of `secret` for now.
fn code(secret: &str, steps_ahead: i64) -> String {
    let step = chrono::Utc::now().timestamp() / dotmac_identity::totp::STEP_SECONDS;
    Secret::from_base32(secret)
        .unwrap()
        .code(step + steps_ahead)
}

/// Invites a member of staff with the admin token (no mail server: the answer has the link),
/// accepts the invitation with `password`, and returns the account id.
async fn staff(
    app: &TestApp,
    secrets: &mut Secrets,
    email: &str,
    role: Role,
    password: &str,
) -> String {
    let body = json!({"email": email, "display_name": "Ada Byron", "role": role});
    let invited = app.post("/accounts", body, StatusCode::CREATED).await;
    assert_eq!(invited["mail"], "not_configured");
    let token = secrets.add(link_token(invited["invitation_url"].as_str().unwrap()));
    let (status, _, body) = Call::new(app, Method::POST, "/invitations/accept")
        .body(json!({"token": token, "new_password": password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    id(&invited)
}

/// Signs in for a bearer session and returns the answer.
async fn sign_in(app: &TestApp, body: Value, from: &str) -> (StatusCode, Value) {
    let mut body = body;
    body["session"] = json!("bearer");
    let (status, _, answer) = Call::new(app, Method::POST, "/sign-in")
        .body(body)
        .from(from)
        .send()
        .await;
    (status, answer)
}

/// Enrols an authenticator for the session `token` signed in with `password`; returns the
/// secret and the recovery codes.
async fn enrol(
    app: &TestApp,
    secrets: &mut Secrets,
    token: &str,
    password: &str,
) -> (String, Vec<String>) {
    let (status, _, enrolment) = Call::new(app, Method::POST, "/me/two-factor")
        .bearer(token)
        .body(json!({"password": password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::OK, "{enrolment}");
    let secret = secrets.add(enrolment["secret"].as_str().unwrap());
    let (status, _, codes) = Call::new(app, Method::POST, "/me/two-factor/confirm")
        .bearer(token)
        .body(json!({"code": code(&secret, 0)}))
        .send()
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| secrets.add(c.as_str().unwrap()))
        .collect();
    (secret, codes)
}

fn trusting_proxies() -> Options {
    Options {
        trust_forwarded_for: true,
        ..Options::default()
    }
}

#[tokio::test]
async fn every_route_names_a_permission_and_each_role_gets_exactly_its_own() {
    let logs = Logs::capture();
    let app = TestApp::start(Backend::Sqlite, trusting_proxies()).await;
    let mut secrets = Secrets::default();

    let registry = dotmac_isp::api::openapi::registry().unwrap();
    let spec = dotmac_isp::api::openapi::spec().unwrap();
    let documented: usize = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let mut operations: Vec<_> = registry.operations().collect();
    assert_eq!(
        operations.len(),
        documented,
        "every documented operation has a permission"
    );
    // Signing out ends the session the rest is called with: last.
    operations.sort_by_key(|(method, path, _)| {
        (*path == "/sign-out", path.to_string(), method.to_string())
    });

    // One signed-in person per role; the tenant admin must enrol a second factor first.
    let password = secrets.add("a long and unusual passphrase");
    let mut people = Vec::new();
    for role in Role::iter().filter(|r| r.is_staff()) {
        let email = format!("{}@isp.test", role.name());
        staff(&app, &mut secrets, &email, role, &password).await;
        let (status, signed) = sign_in(
            &app,
            json!({"login": email, "password": password}),
            "10.0.0.1",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        let token = secrets.add(signed["token"].as_str().unwrap());
        if role == Role::TenantAdmin {
            assert_eq!(signed["account"]["must_enrol_second_factor"], true);
            let (status, _, refused) = Call::new(&app, Method::GET, "/customers")
                .bearer(&token)
                .send()
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(
                refused["type"],
                "https://dotmac.io/problems/second-factor-enrolment-required"
            );
            enrol(&app, &mut secrets, &token, &password).await;
        }
        people.push((role, token));
    }
    let customer = app.customer("sub@isp.test", "US", None).await;
    let invited = app
        .post(
            &format!("/customers/{customer}/portal-account"),
            json!({}),
            StatusCode::CREATED,
        )
        .await;
    let portal_id = invited["portal_id"].as_str().unwrap().to_owned();
    assert!(
        dotmac_identity::portal_id::is_portal_id(&portal_id),
        "{portal_id}"
    );
    let link = secrets.add(link_token(invited["invitation_url"].as_str().unwrap()));
    let (status, _, _) = Call::new(&app, Method::POST, "/invitations/accept")
        .body(json!({"token": link, "new_password": password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, signed) = sign_in(
        &app,
        json!({"login": portal_id.to_lowercase(), "password": password}),
        "10.0.0.2",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a subscriber signs in with their portal id: {signed}"
    );
    assert_eq!(signed["account"]["permissions"], json!(["selfcare"]));
    people.push((
        Role::Subscriber,
        secrets.add(signed["token"].as_str().unwrap()),
    ));

    let mut checked = 0;
    for (role, token) in &people {
        for (method, path, permission) in &operations {
            let path = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
            let mut call = Call::new(&app, (*method).clone(), &path).bearer(token);
            if *method != Method::GET {
                call = call.body(json!({}));
            }
            let (status, _, body) = call.send().await;
            let case = format!("{} {method} {path} ({})", role.name(), permission.name());
            if role.allows(*permission) {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{case} must be allowed: {status} {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{case} must be refused: {body}"
                );
                let detail = body["detail"].as_str().unwrap();
                assert!(
                    detail.contains(permission.name()),
                    "{case}: the refusal names the permission: {detail}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, people.len() * operations.len());

    // Without credentials, only the public routes answer.
    for (method, path, permission) in &operations {
        let path = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        let (status, _, _) = Call::new(&app, (*method).clone(), &path)
            .body(json!({}))
            .send()
            .await;
        if *permission == Permission::Public {
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is public"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} needs sign-in"
            );
        }
    }
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn a_hundred_wrong_passwords_lock_until_the_window_passes_or_an_admin_unlocks() {
    let logs = Logs::capture();
    let app = TestApp::start(Backend::Postgres, trusting_proxies()).await;
    let mut secrets = Secrets::default();
    let password = secrets.add("correct horse battery staple");
    let account = staff(&app, &mut secrets, "lin@isp.test", Role::Support, &password).await;

    // Each attempt from another address, so only the account's own count locks.
    let mut answers = Vec::new();
    for n in 0..100 {
        let from = format!("10.1.{}.{}", n / 200, n % 200 + 1);
        answers.push(
            sign_in(
                &app,
                json!({"login": "LIN@isp.test ", "password": format!("guess number {n}")}),
                &from,
            )
            .await,
        );
    }
    for (status, body) in &answers[..5] {
        assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "https://dotmac.io/problems/wrong-credentials");
    }
    for (status, body) in &answers[5..] {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["type"], "https://dotmac.io/problems/sign-in-locked");
    }
    let right = json!({"login": "lin@isp.test", "password": password});
    let (status, _) = sign_in(&app, right.clone(), "10.2.0.1").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password is refused while locked"
    );
    let locks = app.get("/audit-log?action=sign_in.locked").await;
    assert_eq!(
        locks["items"].as_array().unwrap().len(),
        1,
        "one lockout, audited once: {locks}"
    );
    assert_eq!(locks["items"][0]["entity_id"], account);
    assert_eq!(locks["items"][0]["source"], "10.1.0.5");

    app.post(
        &format!("/accounts/{account}/unlock"),
        json!({}),
        StatusCode::NO_CONTENT,
    )
    .await;
    let (status, body) = sign_in(&app, right.clone(), "10.2.0.2").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "accepted after an admin unlock: {body}"
    );
    secrets.add(body["token"].as_str().unwrap());

    // Locked again, then fifteen minutes pass (the failures are moved back in time).
    for n in 0..5 {
        let from = format!("10.3.0.{n}");
        sign_in(
            &app,
            json!({"login": "lin@isp.test", "password": "not it at all"}),
            &from,
        )
        .await;
    }
    assert_eq!(
        sign_in(&app, right.clone(), "10.2.0.3").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    for failure in entity::sign_in_failure::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
    {
        let at = failure.at - chrono::Duration::minutes(16);
        let mut row = failure.into_active_model();
        row.at = Set(at);
        row.update(&app.state.db).await.unwrap();
    }
    let (status, body) = sign_in(&app, right, "10.2.0.4").await;
    assert_eq!(status, StatusCode::OK, "accepted after the window: {body}");
    secrets.add(body["token"].as_str().unwrap());

    // Five failures from one address lock that address for every name, and only it.
    for n in 0..5 {
        let (status, _) = sign_in(
            &app,
            json!({"login": format!("nobody{n}@isp.test"), "password": "whatever it is"}),
            "192.0.2.7",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let right = json!({"login": "lin@isp.test", "password": password});
    assert_eq!(
        sign_in(&app, right.clone(), "192.0.2.7").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, body) = sign_in(&app, right.clone(), "192.0.2.8").await;
    assert_eq!(status, StatusCode::OK);
    secrets.add(body["token"].as_str().unwrap());
    // An admin lifts the address's lock (an office behind one address, say).
    let bad = json!({"address": "not an address"});
    let (status, body) = app.call(Method::POST, "/lockouts/lift", Some(bad)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address"))
    );
    let lift = json!({"address": "192.0.2.7"});
    app.post("/lockouts/lift", lift, StatusCode::NO_CONTENT)
        .await;
    let (status, body) = sign_in(&app, right, "192.0.2.7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.add(body["token"].as_str().unwrap());
    let lifted = app
        .get("/audit-log?action=sign_in.unlocked&entity=address")
        .await;
    assert_eq!(lifted["items"][0]["entity_id"], "192.0.2.7");
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn an_unknown_account_and_a_wrong_password_answer_alike_in_the_same_time() {
    let logs = Logs::capture();
    let app = TestApp::start(Backend::Postgres, trusting_proxies()).await;
    let mut secrets = Secrets::default();
    let password = secrets.add("the real password of them all");
    // Four tries per account stay under the lockout; every try comes from its own address.
    let accounts = 8;
    for n in 0..accounts {
        staff(
            &app,
            &mut secrets,
            &format!("known{n}@isp.test"),
            Role::Sales,
            &password,
        )
        .await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..accounts * 4 {
        for (login, times) in [
            (format!("known{}@isp.test", round % accounts), &mut known),
            (format!("stranger{round}@isp.test"), &mut unknown),
        ] {
            let from = format!("10.9.{}.{}", times.len(), round % 250 + 1);
            let started = Instant::now();
            let (status, body) = sign_in(
                &app,
                json!({"login": login, "password": "a wrong password"}),
                &from,
            )
            .await;
            times.push((started.elapsed(), status, body));
        }
    }
    let answers: std::collections::HashSet<String> = known
        .iter()
        .chain(&unknown)
        .map(|(_, status, body)| format!("{status} {body}"))
        .collect();
    assert_eq!(answers.len(), 1, "one answer for both: {answers:?}");
    let median = |times: &[(Duration, StatusCode, Value)]| {
        let mut t: Vec<Duration> = times.iter().map(|(d, _, _)| *d).collect();
        t.sort();
        t[t.len() / 2].as_secs_f64()
    };
    let (k, u) = (median(&known), median(&unknown));
    let gap = (k - u).abs() / k.max(u);
    println!(
        "median wrong password {:.1} ms, unknown account {:.1} ms, gap {:.1} %",
        k * 1e3,
        u * 1e3,
        gap * 100.0
    );
    assert!(
        gap < 0.10,
        "timings differ by {:.1} % (known {k:.4} s, unknown {u:.4} s)",
        gap * 100.0
    );
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn a_totp_code_and_each_recovery_code_work_once() {
    let logs = Logs::capture();
    let app = TestApp::start(Backend::Postgres, trusting_proxies()).await;
    let mut secrets = Secrets::default();
    let password = secrets.add("kept in a password manager");
    staff(
        &app,
        &mut secrets,
        "root@isp.test",
        Role::TenantAdmin,
        &password,
    )
    .await;
    let login = json!({"login": "root@isp.test", "password": password});
    let (_, first) = sign_in(&app, login.clone(), "10.5.0.1").await;
    let token = secrets.add(first["token"].as_str().unwrap());
    let (secret, recovery) = enrol(&app, &mut secrets, &token, &password).await;

    let (status, body) = sign_in(&app, login.clone(), "10.5.0.1").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp")),
        "{body}"
    );
    assert_eq!(
        body["type"],
        "https://dotmac.io/problems/second-factor-required"
    );

    let next = code(&secret, 1);
    let mut with_code = login.clone();
    with_code["totp"] = json!(next);
    let (status, body) = sign_in(&app, with_code.clone(), "10.5.0.1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"]["must_enrol_second_factor"], false);
    secrets.add(body["token"].as_str().unwrap());
    let (status, body) = sign_in(&app, with_code, "10.5.0.1").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a code is refused the second time: {body}"
    );
    assert_eq!(
        body["type"],
        "https://dotmac.io/problems/wrong-second-factor"
    );
    let mut stale = login.clone();
    stale["totp"] = json!(code(&secret, 0));
    assert_eq!(
        sign_in(&app, stale, "10.5.0.1").await.0,
        StatusCode::UNAUTHORIZED,
        "an older step after a newer one"
    );

    let mut with_recovery = login.clone();
    with_recovery["recovery_code"] = json!(recovery[3].to_lowercase());
    let (status, body) = sign_in(&app, with_recovery.clone(), "10.5.0.2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.add(body["token"].as_str().unwrap());
    assert_eq!(
        sign_in(&app, with_recovery, "10.5.0.2").await.0,
        StatusCode::UNAUTHORIZED,
        "recovery codes work once"
    );

    // A tenant admin cannot turn the second factor off.
    let (status, _, body) = Call::new(&app, Method::POST, "/me/two-factor/disable")
        .bearer(&token)
        .body(json!({"password": password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let audit = app.get("/audit-log?action=two_factor.enabled").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn invitation_and_reset_links_arrive_by_mail_and_work_once_until_they_expire() {
    let logs = Logs::capture();
    let smtp = dotmac_testkit::smtp::Smtp::start().await;
    let options = Options {
        smtp_url: Some(smtp.url.clone()),
        ..trusting_proxies()
    };
    let app = TestApp::start(Backend::Postgres, options).await;
    let mut secrets = Secrets::default();

    let invited = app
        .post(
            "/accounts",
            json!({"email": "grace@isp.test", "display_name": "Grace", "role": "manager"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(invited["mail"], "sent");
    assert!(
        invited.get("invitation_url").is_none(),
        "a mailed link is not in the answer"
    );
    let mail = smtp.wait_for("grace@isp.test", "accept-invitation").await;
    let url = mail
        .lines()
        .find(|l| l.starts_with("http://isp.test/staff/accept-invitation#token="))
        .unwrap();
    let invitation = secrets.add(link_token(url));
    let password = secrets.add("first password chosen here");
    let accept = json!({"token": invitation, "new_password": password});
    let (status, _, body) = Call::new(&app, Method::POST, "/invitations/accept")
        .body(accept.clone())
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, body) = Call::new(&app, Method::POST, "/invitations/accept")
        .body(accept)
        .send()
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an invitation works once: {body}"
    );
    assert_eq!(body["field"], "token");

    // A weak password is refused naming the field, and the link stays usable.
    let (status, _, reset) = Call::new(&app, Method::POST, "/password-resets")
        .body(json!({"login": "grace@isp.test"}))
        .send()
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reset}");
    let mail = smtp.wait_for("grace@isp.test", "reset-password").await;
    let url = mail
        .lines()
        .find(|l| l.contains("/staff/reset-password#token="))
        .unwrap();
    let reset = secrets.add(link_token(url));
    let (status, _, body) = Call::new(&app, Method::POST, "/password-resets/complete")
        .body(json!({"token": reset, "new_password": "password12345"}))
        .send()
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")),
        "{body}"
    );
    let new_password = secrets.add("second password, much later");
    let complete = json!({"token": reset, "new_password": new_password});
    let (status, _, _) = Call::new(&app, Method::POST, "/password-resets/complete")
        .body(complete.clone())
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = Call::new(&app, Method::POST, "/password-resets/complete")
        .body(complete)
        .send()
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a reset link works once: {body}"
    );
    let (status, body) = sign_in(
        &app,
        json!({"login": "grace@isp.test", "password": password}),
        "10.6.0.1",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone: {body}"
    );
    let (status, body) = sign_in(
        &app,
        json!({"login": "grace@isp.test", "password": new_password}),
        "10.6.0.2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    secrets.add(body["token"].as_str().unwrap());

    // An expired link is refused.
    Call::new(&app, Method::POST, "/password-resets")
        .body(json!({"login": "grace@isp.test"}))
        .send()
        .await;
    let newest = dotmac_testkit::eventually("a second reset mail", 20, || {
        let used = reset.clone();
        let links: Vec<String> = smtp
            .messages()
            .iter()
            .filter_map(|m| {
                m.lines()
                    .find(|l| l.contains("reset-password#token="))
                    .map(link_token)
            })
            .filter(|token| *token != used)
            .collect();
        async move { links.into_iter().next() }
    })
    .await;
    let newest = secrets.add(newest);
    for link in entity::account_link::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
    {
        if link.used_at.is_none() {
            let mut expired = link.into_active_model();
            expired.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
            expired.update(&app.state.db).await.unwrap();
        }
    }
    let (status, _, body) = Call::new(&app, Method::POST, "/password-resets/complete")
        .body(json!({"token": newest, "new_password": "third password, never set"}))
        .send()
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an expired link is refused: {body}"
    );

    // An unknown name gets the same answer and no mail.
    let before = smtp.messages().len();
    let (status, _, _) = Call::new(&app, Method::POST, "/password-resets")
        .body(json!({"login": "nobody@isp.test"}))
        .send()
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), before);
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn sessions_end_when_revoked_and_a_password_change_ends_the_others() {
    let logs = Logs::capture();
    let options = Options {
        redis: true,
        ..trusting_proxies()
    };
    let app = TestApp::start(Backend::Postgres, options).await;
    let mut secrets = Secrets::default();
    let password = secrets.add("one password for two devices");
    let account = staff(&app, &mut secrets, "ops@isp.test", Role::Manager, &password).await;
    let login = json!({"login": "ops@isp.test", "password": password});
    let mut tokens = Vec::new();
    for n in 0..3 {
        let (_, body) = sign_in(&app, login.clone(), &format!("10.7.0.{n}")).await;
        tokens.push(secrets.add(body["token"].as_str().unwrap()));
    }
    // The sessions are checked through the Redis cache, which a revocation must not outlive.
    for token in &tokens {
        let (status, _, _) = Call::new(&app, Method::GET, "/customers")
            .bearer(token)
            .send()
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let redis = dotmac_web::redis::connect(&dotmac_testkit::require_redis())
        .await
        .unwrap();
    let key = format!(
        "t:{}:session:{}",
        app.tenant,
        dotmac_web::bearer::digest(&tokens[1])
    );
    let cached: i64 = fred::interfaces::KeysInterface::exists(&redis, &key)
        .await
        .unwrap();
    assert_eq!(cached, 1, "the session is cached");
    let (_, _, list) = Call::new(&app, Method::GET, "/me/sessions")
        .bearer(&tokens[0])
        .send()
        .await;
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other = list.iter().find(|s| s["source"] == "10.7.0.1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = Call::new(&app, Method::DELETE, &format!("/me/sessions/{other}"))
        .bearer(&tokens[0])
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = Call::new(&app, Method::GET, "/customers")
        .bearer(&tokens[1])
        .send()
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked session is refused at once: {body}"
    );

    let new_password = secrets.add("a new password for both now");
    let (status, _, body) = Call::new(&app, Method::POST, "/me/password")
        .bearer(&tokens[0])
        .body(json!({"current_password": "not the password", "new_password": new_password}))
        .send()
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password"))
    );
    let (status, _, _) = Call::new(&app, Method::POST, "/me/password")
        .bearer(&tokens[0])
        .body(json!({"current_password": password, "new_password": new_password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        Call::new(&app, Method::GET, "/me")
            .bearer(&tokens[2])
            .send()
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Call::new(&app, Method::GET, "/me")
            .bearer(&tokens[0])
            .send()
            .await
            .0,
        StatusCode::OK,
        "the session that changed it stays"
    );

    // An admin disabling the account ends its last session.
    app.call(
        Method::PATCH,
        &format!("/accounts/{account}"),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(
        Call::new(&app, Method::GET, "/me")
            .bearer(&tokens[0])
            .send()
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // API tokens are made, used and revoked over the API.
    let made = app
        .post(
            "/tokens",
            json!({"name": "billing export", "role": "readonly"}),
            StatusCode::CREATED,
        )
        .await;
    let token = secrets.add(made["token"].as_str().unwrap());
    assert_eq!(
        Call::new(&app, Method::GET, "/customers")
            .bearer(&token)
            .send()
            .await
            .0,
        StatusCode::OK
    );
    let (status, _, body) = Call::new(&app, Method::POST, "/customers")
        .bearer(&token)
        .body(json!({}))
        .send()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app
        .call(Method::DELETE, &format!("/tokens/{}", id(&made)), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        Call::new(&app, Method::GET, "/customers")
            .bearer(&token)
            .send()
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let audit = app.get("/audit-log?entity=api_token").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["token.created", "token.revoked"]);
    secrets.assert_nowhere(&app, &logs).await;
}

#[tokio::test]
async fn a_cookie_session_writes_only_with_its_csrf_token() {
    let logs = Logs::capture();
    let app = TestApp::start(Backend::Sqlite, trusting_proxies()).await;
    let mut secrets = Secrets::default();
    let password = secrets.add("browser only password here");
    staff(
        &app,
        &mut secrets,
        "desk@isp.test",
        Role::Support,
        &password,
    )
    .await;
    let (status, headers, body) = Call::new(&app, Method::POST, "/sign-in")
        .body(json!({"login": "desk@isp.test", "password": password}))
        .send()
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.get("token").is_none(),
        "a cookie session's token is only in its cookie"
    );
    let cookies: Vec<&str> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dotmac_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "not over plain http: {session}"
    );
    let csrf = secrets.add(body["csrf_token"].as_str().unwrap());
    let session = secrets.add(
        session
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("dotmac_session="),
    );
    let jar = format!("dotmac_session={session}; dotmac_csrf={csrf}");
    let with = |method: Method, path: &'static str, csrf_header: Option<&str>| {
        let mut call = Call::new(&app, method, path);
        call.cookies = Some(jar.clone());
        call.csrf = csrf_header.map(str::to_owned);
        call
    };
    assert_eq!(
        with(Method::GET, "/customers", None).send().await.0,
        StatusCode::OK,
        "reads need no CSRF token"
    );
    let new_customer = json!({"display_name": "Walk-in", "email": "walkin@isp.test", "address": {"country": "US"}});
    let (status, _, body) = with(Method::POST, "/customers", None)
        .body(new_customer.clone())
        .send()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["type"],
        "https://dotmac.io/problems/csrf-token-missing"
    );
    let (status, _, _) = with(Method::POST, "/customers", Some("not-the-token"))
        .body(new_customer.clone())
        .send()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = with(Method::POST, "/customers", Some(&csrf))
        .body(new_customer)
        .send()
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, headers, _) = with(Method::POST, "/sign-out", Some(&csrf)).send().await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("dotmac_session=; "))
    );
    assert_eq!(
        with(Method::GET, "/customers", None).send().await.0,
        StatusCode::UNAUTHORIZED
    );
    secrets.assert_nowhere(&app, &logs).await;
}
