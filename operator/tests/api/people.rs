//! People on the management API: a route matrix read from the document's `x-callers`, checked
//! for every caller; reseller users seeing only their own; admins signing in with a password
//! and TOTP (enrolment forced, replay refused, recovery codes single-use), lockout and its
//! lifting, cookie sessions with CSRF, sessions listed and revoked, and nothing secret shown
//! again after it was made; each test also captures its logs and searches them for every
//! secret it made.

use super::*;
use dotmac_identity::totp::{STEP_SECONDS, Secret};
use dotmac_management_api::access::{Callers, REFUSED};
use dotmac_testkit::logs::Logs;

/// Lifts the lockout of `address` with the admin token.
async fn lift(h: &Harness, address: &str) -> (StatusCode, Value) {
    let body = json!({ "address": address });
    h.call(Some(&h.admin), Method::POST, "/lockouts/lift", Some(body))
        .await
}

/// Fails if any of `secrets` is in the captured logs.
fn assert_not_logged(logs: &Logs, secrets: &[&str]) {
    let text = logs.text();
    assert!(text.lines().count() > 10, "the logs were captured: {text}");
    for secret in secrets {
        assert!(secret.len() >= 6, "too short to search for");
        assert!(!text.contains(secret), "a secret was logged");
    }
}

/// A TOTP code of `secret`, `ahead` steps from now.
fn code(secret: &str, ahead: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let step = i64::try_from(now).unwrap() / STEP_SECONDS;
    Secret::from_base32(secret).unwrap().code(step + ahead)
}

/// Invites a user with `token`, accepts the invitation with `password`; returns the user id.
async fn user(h: &Harness, token: &str, body: Value, password: &str) -> String {
    let (status, invited) = h
        .call(Some(token), Method::POST, "/users", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let accept = json!({"token": invited["invitation"]["token"], "newPassword": password});
    let (status, accepted) = h
        .call(None, Method::POST, "/invitations/accept", Some(accept))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "active");
    invited["user"]["id"].as_str().unwrap().to_owned()
}

/// Signs in for a bearer session; returns the answer.
async fn sign_in(h: &Harness, body: Value) -> (StatusCode, Value) {
    let mut body = body;
    body["session"] = json!("bearer");
    h.call(None, Method::POST, "/sign-in", Some(body)).await
}

/// A signed-in admin with TOTP enrolled: the bearer token and the secret.
async fn admin_with_totp(h: &Harness, email: &str, password: &str) -> (String, String) {
    let (status, signed) = sign_in(h, json!({"email": email, "password": password})).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["enrolmentRequired"], true);
    let token = signed["token"].as_str().unwrap().to_owned();
    let (_, enrolment) = h
        .call(Some(&token), Method::POST, "/me/two-factor", None)
        .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let (status, codes) = h
        .call(
            Some(&token),
            Method::POST,
            "/me/two-factor/confirm",
            Some(json!({"code": code(&secret, 0)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    (token, secret)
}

#[tokio::test]
async fn every_route_admits_exactly_the_callers_the_registry_names() {
    let logs = Logs::capture();
    let h = harness(false).await;
    h.reseller("east").await;
    let admin_password = "paper lantern orbit 42";
    user(
        &h,
        &h.admin,
        json!({"email": "root@platform.example", "displayName": "Root", "role": "admin"}),
        admin_password,
    )
    .await;
    let (admin_session, _) = admin_with_totp(&h, "root@platform.example", admin_password).await;
    user(
        &h,
        &h.admin,
        json!({"email": "sales@east.example", "displayName": "East Sales", "role": "reseller", "reseller": "east"}),
        "quiet harbour maple 7",
    )
    .await;
    let (_, signed) = sign_in(
        &h,
        json!({"email": "sales@east.example", "password": "quiet harbour maple 7"}),
    )
    .await;
    let reseller_session = signed["token"].as_str().unwrap().to_owned();
    let reseller_token = h
        .token("east-api", Role::Reseller, Some("east"), None)
        .await;
    let tenant_token = h
        .token("instance-ish", Role::Tenant, None, Some("nowhere"))
        .await;
    let callers = [
        (
            "admin session",
            admin_session.as_str(),
            Principal::Admin,
            true,
        ),
        ("admin token", h.admin.as_str(), Principal::Admin, false),
        (
            "reseller session",
            reseller_session.as_str(),
            Principal::Reseller,
            true,
        ),
        (
            "reseller token",
            reseller_token.as_str(),
            Principal::Reseller,
            false,
        ),
        (
            "tenant token",
            tenant_token.as_str(),
            Principal::Tenant,
            false,
        ),
    ];

    let (_, document) = h.call(None, Method::GET, "/openapi.json", None).await;
    let mut operations: Vec<(Method, String, Callers)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let named = operation["x-callers"].as_str();
            let callers = named.and_then(Callers::from_name);
            assert!(callers.is_some(), "{method} {path} names no callers");
            operations.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                path.clone(),
                callers.unwrap(),
            ));
        }
    }
    assert!(operations.len() >= 35, "{}", operations.len());
    // Signing out ends the session the rest of the walk uses, so it goes last.
    operations.sort_by_key(|(_, path, _)| path == "/sign-out");
    let mut refused = 0;
    for (method, path, expected) in &operations {
        // Names and ids that match nothing: a mutation that is let through finds no record.
        let concrete = path
            .replace("{tenant_id}", "no-such-tenant")
            .replace("{name}", "no-such-name")
            .replace("{id}", &uuid::Uuid::now_v7().to_string());
        for (who, token, principal, person) in &callers {
            let body = (*method != Method::GET && *method != Method::DELETE).then(|| json!({}));
            let (status, answer) = h.call(Some(token), method.clone(), &concrete, body).await;
            let admitted = match expected {
                Callers::Public | Callers::Anyone => true,
                Callers::SignedIn => *person,
                Callers::Admins => *principal == Principal::Admin,
                Callers::People => *principal != Principal::Tenant,
                Callers::Instances => *principal != Principal::Reseller,
            };
            let was_refused = status == StatusCode::FORBIDDEN
                && answer["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(REFUSED));
            assert_eq!(
                was_refused, !admitted,
                "{who} on {method} {path} ({expected:?}): {status} {answer}"
            );
            assert_ne!(
                status,
                StatusCode::UNAUTHORIZED,
                "{who} on {method} {path}: {answer}"
            );
            refused += usize::from(was_refused);
        }
    }
    assert!(refused > 40, "the matrix refused only {refused} calls");
    // What the matrix rests on, said plainly.
    let spot = |method: Method, path: &str| {
        operations
            .iter()
            .find(|(m, p, _)| *m == method && p == path)
            .map(|(_, _, c)| *c)
    };
    assert_eq!(spot(Method::POST, "/resellers"), Some(Callers::Admins));
    assert_eq!(spot(Method::POST, "/lockouts/lift"), Some(Callers::Admins));
    assert_eq!(
        spot(Method::POST, "/plugins/usage-events"),
        Some(Callers::Instances)
    );
    assert_eq!(
        spot(Method::GET, "/tenant-orchestration/deployments"),
        Some(Callers::People)
    );
    assert_eq!(spot(Method::GET, "/me/sessions"), Some(Callers::SignedIn));
    assert_eq!(spot(Method::POST, "/sign-in"), Some(Callers::Public));
    assert_not_logged(
        &logs,
        &[
            admin_password,
            "quiet harbour maple 7",
            &admin_session,
            &reseller_session,
            &reseller_token,
            &tenant_token,
        ],
    );
}

/// The kinds of callers the matrix walks.
#[derive(Debug, PartialEq)]
enum Principal {
    Admin,
    Reseller,
    Tenant,
}

#[tokio::test]
async fn a_reseller_user_sees_only_its_own_tenants_and_users() {
    let logs = Logs::capture();
    let h = harness(true).await;
    h.reseller("east").await;
    h.reseller("west").await;
    let west_token = h
        .token("west-api", Role::Reseller, Some("west"), None)
        .await;
    let (status, made) = h
        .call(
            Some(&west_token),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("westnet")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let west_user = user(
        &h,
        &west_token,
        json!({"email": "ops@west.example", "displayName": "West Ops", "role": "reseller", "reseller": "west"}),
        "gravel summit cedar 9",
    )
    .await;
    user(
        &h,
        &h.admin,
        json!({"email": "ops@east.example", "displayName": "East Ops", "role": "reseller", "reseller": "east"}),
        "marble canyon tulip 3",
    )
    .await;
    let (_, signed) = sign_in(
        &h,
        json!({"email": "ops@east.example", "password": "marble canyon tulip 3"}),
    )
    .await;
    assert_eq!(
        signed["enrolmentRequired"], false,
        "reseller users may enrol, need not"
    );
    let east = signed["token"].as_str().unwrap().to_owned();

    // Another reseller's tenant and user are not found, not forbidden.
    for path in [
        "/tenant-orchestration/deployments/westnet".to_owned(),
        "/plugins/entitlements/westnet".to_owned(),
        format!("/users/{west_user}"),
    ] {
        let (status, answer) = h.call(Some(&east), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
    }
    let (status, _) = h
        .call(
            Some(&east),
            Method::PATCH,
            &format!("/users/{west_user}"),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = h
        .call(
            Some(&east),
            Method::GET,
            "/tenant-orchestration/deployments",
            None,
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    let (_, users) = h.call(Some(&east), Method::GET, "/users", None).await;
    let emails: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ops@east.example"]);
    // Paged on the server by e-mail: one at a time gives the whole list, in order.
    let (_, everyone) = h.call(Some(&h.admin), Method::GET, "/users", None).await;
    let all: Vec<Value> = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert!(all.len() >= 2, "{everyone}");
    let (mut paged, mut cursor) = (Vec::new(), String::new());
    loop {
        let path = if cursor.is_empty() {
            "/users?limit=1".to_owned()
        } else {
            format!("/users?limit=1&cursor={cursor}")
        };
        let (_, page) = h.call(Some(&h.admin), Method::GET, &path, None).await;
        paged.push(page["items"][0]["email"].clone());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(paged, all);
    let (status, problem) = h
        .call(Some(&h.admin), Method::GET, "/users?limit=0", None)
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );

    // A reseller invites only its own reseller users, never admins.
    for (body, status, field) in [
        (
            json!({"email": "x@east.example", "displayName": "X", "role": "reseller", "reseller": "west"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reseller"),
        ),
        (
            json!({"email": "x@east.example", "displayName": "X", "role": "admin"}),
            StatusCode::FORBIDDEN,
            None,
        ),
        (
            json!({"email": "not-an-address", "displayName": "X", "role": "reseller", "reseller": "east"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("email"),
        ),
        (
            json!({"email": "ops@east.example", "displayName": "Again", "role": "reseller", "reseller": "east"}),
            StatusCode::CONFLICT,
            Some("email"),
        ),
        (
            json!({"email": "y@east.example", "displayName": "Y", "role": "emperor"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("role"),
        ),
        (
            json!({"email": "y@east.example", "displayName": "Y", "role": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("role"),
        ),
    ] {
        let (got, problem) = h
            .call(Some(&east), Method::POST, "/users", Some(body))
            .await;
        assert_eq!(
            (got, problem["field"].as_str()),
            (status, field),
            "{problem}"
        );
    }
    assert_eq!(rows(&h, "users").await, 2, "bad input made no user");

    // The other people routes answer bad input naming the field, and change nothing.
    let (_, before) = h.call(Some(&east), Method::GET, "/me", None).await;
    let own = before["id"].as_str().unwrap().to_owned();
    for (token, method, path, body, status, field) in [
        (
            None,
            Method::POST,
            "/sign-in".to_owned(),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            None,
            Method::POST,
            "/sign-in".to_owned(),
            json!({"email": "ops@east.example", "password": "x", "otp": "1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "otp",
        ),
        (
            None,
            Method::POST,
            "/sign-in".to_owned(),
            json!({"email": "ops@east.example", "password": "x", "session": "forever"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "session",
        ),
        (
            None,
            Method::POST,
            "/password-resets".to_owned(),
            json!({"email": "not-an-address"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            None,
            Method::POST,
            "/password-resets/complete".to_owned(),
            json!({"token": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "newPassword",
        ),
        (
            None,
            Method::POST,
            "/invitations/accept".to_owned(),
            json!({"token": "dml_unknown", "newPassword": "long enough and odd 77"}),
            StatusCode::UNAUTHORIZED,
            "token",
        ),
        (
            Some(&east),
            Method::PATCH,
            format!("/users/{own}"),
            json!({"status": "invited"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "status",
        ),
        (
            Some(&east),
            Method::PATCH,
            format!("/users/{own}"),
            json!({"status": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "status",
        ),
        (
            Some(&east),
            Method::PATCH,
            format!("/users/{own}"),
            json!({"status": "disabled"}),
            StatusCode::CONFLICT,
            "status",
        ),
        (
            Some(&east),
            Method::POST,
            "/me/password".to_owned(),
            json!({"currentPassword": "marble canyon tulip 3", "newPassword": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "newPassword",
        ),
        (
            Some(&east),
            Method::POST,
            "/me/two-factor/confirm".to_owned(),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
        ),
        (
            Some(&east),
            Method::POST,
            "/me/two-factor/confirm".to_owned(),
            json!({"code": "123456"}),
            StatusCode::CONFLICT,
            "code",
        ),
    ] {
        let (got, problem) = h
            .call(token.map(String::as_str), method.clone(), &path, Some(body))
            .await;
        assert_eq!(
            (got, problem["field"].as_str()),
            (status, Some(field)),
            "{method} {path}: {problem}"
        );
    }
    let (_, after) = h.call(Some(&east), Method::GET, "/me", None).await;
    assert_eq!(before, after, "bad input changed nothing");

    // Its own tenant it creates and sees.
    let (status, _) = h
        .call(
            Some(&east),
            Method::POST,
            "/tenant-orchestration/deployments",
            Some(new_tenant("eastnet")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, tenant) = h
        .call(
            Some(&east),
            Method::GET,
            "/tenant-orchestration/deployments/eastnet",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tenant["spec"]["resellerRef"], "east");
    let (_, log) = h
        .call(
            Some(&east),
            Method::GET,
            "/audit-log?action=tenant.created",
            None,
        )
        .await;
    let actors: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        ["ops@east.example"],
        "the person, not a token, and only east's"
    );
    assert_not_logged(
        &logs,
        &[
            "gravel summit cedar 9",
            "marble canyon tulip 3",
            &east,
            &west_token,
        ],
    );
}

#[tokio::test]
async fn admins_sign_in_with_a_second_factor_and_attackers_are_locked_out() {
    let logs = Logs::capture();
    let h = harness(true).await;
    let password = "violet engine copper 88";
    let (status, invited) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/users",
            Some(json!({"email": "Ada@Platform.example", "displayName": "Ada", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let invitation = invited["invitation"]["token"].as_str().unwrap().to_owned();
    let id = invited["user"]["id"].as_str().unwrap().to_owned();
    // A weak password is refused and leaves the invitation usable; a used one is refused.
    for (weak, why) in [("short", "at least"), ("password123456", "common")] {
        let (status, problem) = h
            .call(
                None,
                Method::POST,
                "/invitations/accept",
                Some(json!({"token": invitation, "newPassword": weak})),
            )
            .await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("newPassword"))
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }
    let accept = json!({"token": invitation, "newPassword": password});
    let (status, _) = h
        .call(
            None,
            Method::POST,
            "/invitations/accept",
            Some(accept.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = h
        .call(None, Method::POST, "/invitations/accept", Some(accept))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token"))
    );

    // Signed in without a second factor, an admin may only enrol one.
    let (status, signed) = sign_in(
        &h,
        json!({"email": "ada@platform.example", "password": password}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["enrolmentRequired"], true);
    let first = signed["token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("dms_platform_"));
    let (status, problem) = h
        .call(
            Some(&first),
            Method::GET,
            "/tenant-orchestration/deployments",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("second-factor-enrolment-required")
    );
    let (_, enrolment) = h
        .call(Some(&first), Method::POST, "/me/two-factor", None)
        .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let (status, problem) = h
        .call(
            Some(&first),
            Method::POST,
            "/me/two-factor/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code"))
    );
    let used = code(&secret, 0);
    let (status, codes) = h
        .call(
            Some(&first),
            Method::POST,
            "/me/two-factor/confirm",
            Some(json!({"code": used})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let recovery: Vec<String> = codes["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    let (status, _) = h
        .call(
            Some(&first),
            Method::GET,
            "/tenant-orchestration/deployments",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "enrolled, this session goes on");
    let (status, _) = h
        .call(Some(&first), Method::DELETE, "/me/two-factor", None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an admin keeps the second factor"
    );

    // Now the second factor is asked for; the code already used is a replay.
    let (status, problem) = sign_in(
        &h,
        json!({"email": "ada@platform.example", "password": password}),
    )
    .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp"))
    );
    let (status, problem) = sign_in(
        &h,
        json!({"email": "ada@platform.example", "password": password, "totp": used}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed: {problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("wrong-second-factor")
    );
    let (status, signed) = sign_in(
        &h,
        json!({"email": "ada@platform.example", "password": password, "totp": code(&secret, 1)}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["secondFactor"], true);
    let second = signed["token"].as_str().unwrap().to_owned();
    let with_recovery = json!({"email": "ada@platform.example", "password": password, "recoveryCode": recovery[3].to_lowercase()});
    let (status, _) = sign_in(&h, with_recovery.clone()).await;
    assert_eq!(status, StatusCode::OK, "a recovery code, in any case");
    let (status, _) = sign_in(&h, with_recovery).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );

    // Sessions are listed, and one revoked is refused at its next request.
    let (_, listed) = h
        .call(Some(&second), Method::GET, "/me/sessions", None)
        .await;
    let listed = listed.as_array().unwrap();
    assert!(listed.len() >= 3, "{listed:?}");
    assert_eq!(listed.iter().filter(|s| s["current"] == true).count(), 1);
    let first_id = listed
        .iter()
        .find(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap();
    let mut revoked_any = false;
    for session in listed.iter().filter(|s| s["current"] == false) {
        let path = format!("/me/sessions/{}", session["id"].as_str().unwrap());
        let (status, _) = h.call(Some(&second), Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        revoked_any = true;
    }
    assert!(revoked_any);
    let (status, _) = h.call(Some(&first), Method::GET, "/me", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "session {first_id} was revoked"
    );

    // The failures so far (a replay, a reused recovery code) count against this address: lift
    // its lock and sign in once, so both counts start afresh.
    let (status, _) = lift(&h, "127.0.0.1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let fresh =
        json!({"email": "ada@platform.example", "password": password, "recoveryCode": recovery[4]});
    assert_eq!(sign_in(&h, fresh).await.0, StatusCode::OK);
    // A hundred wrong passwords: locked after five, with the right password refused too.
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let (status, _) = sign_in(
            &h,
            json!({"email": "ada@platform.example", "password": "wrong wrong wrong"}),
        )
        .await;
        statuses.push(status);
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // (This minute's TOTP codes are used up; a refused attempt strikes off no recovery code.)
    let right =
        json!({"email": "ada@platform.example", "password": password, "recoveryCode": recovery[5]});
    let (status, _) = sign_in(&h, right.clone()).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    // The address is locked too: an unknown user from it gets the same answer.
    let (status, _) = sign_in(
        &h,
        json!({"email": "nobody@platform.example", "password": password}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // An admin lifts both; the right password works again.
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::POST,
            &format!("/users/{id}/unlock"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = sign_in(&h, right.clone()).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is still locked"
    );
    let (status, problem) = lift(&h, "not-an-ip").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("address"))
    );
    let (status, _) = lift(&h, "127.0.0.1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, signed) = sign_in(&h, right).await;
    assert_eq!(status, StatusCode::OK, "{signed}");

    // A password change ends the other sessions.
    let (status, problem) = h
        .call(
            Some(&second),
            Method::POST,
            "/me/password",
            Some(json!({"currentPassword": "nope", "newPassword": "fresh meadow signal 51"})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("currentPassword"))
    );
    let (status, changed) = h
        .call(
            Some(&second),
            Method::POST,
            "/me/password",
            Some(json!({"currentPassword": password, "newPassword": "fresh meadow signal 51"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(changed["sessionsEnded"].as_u64().unwrap() >= 1);
    let other = signed["token"].as_str().unwrap();
    let (status, _) = h.call(Some(other), Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = h.call(Some(&second), Method::GET, "/me", None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session that changed it goes on"
    );

    // Who did what is in the audit log, with the address; nothing secret is shown again.
    let (_, log) = h
        .call(Some(&second), Method::GET, "/audit-log?limit=200", None)
        .await;
    let entries = log["items"].as_array().unwrap();
    for action in [
        "user.invited",
        "invitation.accepted",
        "two_factor.enabled",
        "sign_in.succeeded",
        "sign_in.failed",
        "sign_in.locked",
        "sign_in.unlocked",
        "session.revoked",
        "password.changed",
    ] {
        let entry = entries.iter().find(|e| e["action"] == action);
        assert!(entry.is_some(), "no {action} in {log}");
        assert_eq!(entry.unwrap()["source"], "127.0.0.1", "{action}");
    }
    let (_, users) = h.call(Some(&second), Method::GET, "/users", None).await;
    let (_, me) = h.call(Some(&second), Method::GET, "/me", None).await;
    let (_, sessions) = h
        .call(Some(&second), Method::GET, "/me/sessions", None)
        .await;
    let shown = format!("{log}{users}{me}{sessions}");
    let mut secrets = vec![
        invitation.as_str(),
        secret.as_str(),
        first.as_str(),
        second.as_str(),
        password,
        "fresh meadow signal 51",
    ];
    secrets.extend(recovery.iter().map(String::as_str));
    for secret in &secrets {
        assert!(!shown.contains(secret), "a secret was shown again");
    }
    assert_not_logged(&logs, &secrets);
}

#[tokio::test]
async fn a_cookie_session_needs_its_csrf_token_for_writes() {
    let logs = Logs::capture();
    let h = harness(false).await;
    h.reseller("east").await;
    user(
        &h,
        &h.admin,
        json!({"email": "web@east.example", "displayName": "Web", "role": "reseller", "reseller": "east"}),
        "amber falcon river 12",
    )
    .await;
    let response = h
        .http
        .post(format!("{}/sign-in", h.base))
        .json(&json!({"email": "web@east.example", "password": "amber falcon river 12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dotmac_platform_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "served without TLS");
    let signed: Value = response.json().await.unwrap();
    assert!(
        signed.get("token").is_none(),
        "a cookie session returns no bearer token"
    );
    let csrf = signed["csrfToken"].as_str().unwrap().to_owned();
    let cookie = cookies
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect::<Vec<_>>()
        .join("; ");
    let write = |csrf: Option<&str>| {
        let mut request = h
            .http
            .post(format!("{}/tokens", h.base))
            .header("cookie", &cookie)
            .json(
                &json!({"name": format!("east-{}", csrf.map_or(0, str::len)), "role": "reseller"}),
            );
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let refused = write(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("csrf-token-missing")
    );
    assert_eq!(
        write(Some("forged")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let made = write(Some(&csrf)).await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let read = h
        .http
        .get(format!("{}/me", h.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK, "reads need no CSRF token");

    // Disabled, the user's session ends at once.
    let me: Value = read.json().await.unwrap();
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::PATCH,
            &format!("/users/{}", me["id"].as_str().unwrap()),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = h
        .http
        .get(format!("{}/me", h.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // The first admin can be invited from the command line, the token printed once.
    let url = format!("sqlite://{}", h._dir.path().join("platform.db").display());
    let invite = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dotmac-operator"))
            .args([
                "user",
                "invite",
                "--platform-database-url",
                &url,
                "--email",
                email,
            ])
            .args(["--name", "First Admin", "--role", "admin"])
            .output()
            .unwrap()
    };
    let output = invite("first@platform.example");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("dml_"), "{token}");
    let accept = json!({"token": token, "newPassword": "silver beacon piano 64"});
    let (status, accepted) = h
        .call(None, Method::POST, "/invitations/accept", Some(accept))
        .await;
    assert_eq!(
        (status, accepted["role"].as_str()),
        (StatusCode::OK, Some("admin"))
    );
    let again = invite("FIRST@platform.example");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--email"),
        "names the flag"
    );
    let session_token = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    assert_not_logged(
        &logs,
        &[
            "amber falcon river 12",
            "silver beacon piano 64",
            session_token,
            &csrf,
            &token,
        ],
    );
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_answer_alike_in_the_same_time() {
    let logs = Logs::capture();
    let h = harness_with(true, &["--api-trust-forwarded-for", "true"]).await;
    // Four tries per user stay under the lockout; every try comes from its own address.
    // Ten users give forty samples of each kind, so that a moment of load on a shared machine
    // does not move either median much.
    let users = 10;
    for n in 0..users {
        let body = json!({"email": format!("known{n}@platform.example"), "displayName": "Known", "role": "admin"});
        user(&h, &h.admin, body, "the real password of them all").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..users * 4 {
        for (email, times) in [
            (
                format!("known{}@platform.example", round % users),
                &mut known,
            ),
            (format!("stranger{round}@platform.example"), &mut unknown),
        ] {
            let from = format!("10.9.{}.{}", times.len(), round % 250 + 1);
            let started = std::time::Instant::now();
            let response = h
                .http
                .post(format!("{}/sign-in", h.base))
                .header("x-forwarded-for", from)
                .json(&json!({"email": email, "password": "a wrong password"}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            times.push((started.elapsed(), format!("{status} {body}")));
        }
    }
    let answers: std::collections::HashSet<&String> =
        known.iter().chain(&unknown).map(|(_, a)| a).collect();
    assert_eq!(answers.len(), 1, "one answer for both: {answers:?}");
    let median = |times: &[(Duration, String)]| {
        let mut t: Vec<Duration> = times.iter().map(|(d, _)| *d).collect();
        t.sort();
        t[t.len() / 2].as_secs_f64()
    };
    let (k, u) = (median(&known), median(&unknown));
    let gap = (k - u).abs() / k.max(u);
    println!(
        "median wrong password {:.1} ms, unknown user {:.1} ms, gap {:.1} %",
        k * 1e3,
        u * 1e3,
        gap * 100.0
    );
    assert!(gap < 0.10, "timings differ by {:.1} %", gap * 100.0);
    assert_not_logged(
        &logs,
        &["the real password of them all", "a wrong password"],
    );
}

/// The token in a link's `#token=` fragment, from the line of `mail` naming `page`.
fn link_token(mail: &str, page: &str) -> String {
    let line = mail.lines().find(|l| l.contains(page)).unwrap();
    line.split_once("#token=").unwrap().1.trim().to_owned()
}

#[tokio::test]
async fn invitations_and_resets_arrive_by_mail_and_work_once_until_they_expire() {
    let logs = Logs::capture();
    let smtp = dotmac_testkit::smtp::Smtp::start().await;
    let h = harness_with(
        false,
        &[
            "--api-smtp-url",
            &smtp.url,
            "--api-public-url",
            "https://platform.example/",
        ],
    )
    .await;
    h.reseller("east").await;
    let body = json!({"email": "grace@east.example", "displayName": "Grace", "role": "reseller", "reseller": "east"});
    let (status, invited) = h
        .call(Some(&h.admin), Method::POST, "/users", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["mail"], "sent");
    assert!(invited.get("invitation").is_none(), "sent, not shown");
    let mail = smtp
        .wait_for("grace@east.example", "accept-invitation")
        .await;
    assert!(
        mail.contains("https://platform.example/admin/accept-invitation#token="),
        "{mail}"
    );
    let invitation = link_token(&mail, "accept-invitation");
    let password = "copper lantern delta 31";
    let accept = json!({"token": invitation, "newPassword": password});
    let (status, accepted) = h
        .call(
            None,
            Method::POST,
            "/invitations/accept",
            Some(accept.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let (status, _) = h
        .call(None, Method::POST, "/invitations/accept", Some(accept))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an invitation works once");

    // Served over https, the session cookie is Secure.
    let response = h
        .http
        .post(format!("{}/sign-in", h.base))
        .json(&json!({"email": "grace@east.example", "password": password}))
        .send()
        .await
        .unwrap();
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("dotmac_platform_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");

    // A reset is asked for without saying whether the user exists, and arrives by mail.
    for email in ["grace@east.example", "nobody@east.example"] {
        let (status, _) = h
            .call(
                None,
                Method::POST,
                "/password-resets",
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, problem) = h
        .call(
            None,
            Method::POST,
            "/password-resets",
            Some(json!({"email": "not-an-address"})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("email"))
    );
    let mail = smtp.wait_for("grace@east.example", "reset-password").await;
    let reset = link_token(&mail, "reset-password");
    let (status, problem) = h
        .call(
            None,
            Method::POST,
            "/password-resets/complete",
            Some(json!({"token": reset, "newPassword": "password12345"})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("newPassword"))
    );
    let new_password = "second password, much later";
    let complete = json!({"token": reset, "newPassword": new_password});
    let (status, _) = h
        .call(
            None,
            Method::POST,
            "/password-resets/complete",
            Some(complete.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h
        .call(
            None,
            Method::POST,
            "/password-resets/complete",
            Some(complete),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a reset link works once");
    let (status, _) = sign_in(
        &h,
        json!({"email": "grace@east.example", "password": password}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, _) = sign_in(
        &h,
        json!({"email": "grace@east.example", "password": new_password}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // An expired link is refused.
    let (status, _) = h
        .call(
            None,
            Method::POST,
            "/password-resets",
            Some(json!({"email": "grace@east.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let expired = eventually("a second reset mail", || async {
        let mails: Vec<String> = smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains("reset-password"))
            .collect();
        (mails.len() == 2).then_some(mails)
    })
    .await
    .into_iter()
    .map(|m| link_token(&m, "reset-password"))
    .find(|t| *t != reset)
    .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &h.db,
        "UPDATE account_links SET expires_at = '2020-01-01 00:00:00+00:00' WHERE used_at IS NULL",
    )
    .await
    .unwrap();
    let (status, problem) = h
        .call(
            None,
            Method::POST,
            "/password-resets/complete",
            Some(json!({"token": expired, "newPassword": "third password, expired"})),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token"))
    );
    assert_not_logged(
        &logs,
        &[
            &invitation,
            &reset,
            &expired,
            password,
            new_password,
            "third password, expired",
        ],
    );
}
