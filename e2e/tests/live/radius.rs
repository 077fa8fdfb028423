//! A Tenant with `spec.radius`: FreeRADIUS runs in the instance's pod beside it, a NAS signs a
//! subscriber in through it, and what the NAS and the login keep secret is in the tenant's
//! OpenBao rather than its database.

use std::process::Stdio;

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, api::ListParams};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::*;
use dotmac_e2e::live::{eventually, get, post, tenant_yaml, unique};

/// radclient as the NAS: the first line of its answer (`Received Access-Accept …`) and what
/// follows, or nothing.
async fn radclient(target: &str, secret: &str, attributes: &str) -> String {
    let mut child = tokio::process::Command::new("radclient")
        .args(["-x", "-r", "3", "-t", "2", target, "auth", secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient (freeradius-utils, from scripts/tools)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(attributes.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .skip_while(|l| !l.starts_with("Received "))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn created(url: &str, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = post(&format!("{url}/api/v1{path}"), token, &body).await;
    assert!(status == 201 || status == 200, "{path}: {status} {answer}");
    answer
}

#[tokio::test]
async fn a_tenant_with_radius_signs_subscribers_in_through_freeradius_in_its_pod() {
    let live = Live::start().await;
    let name = unique("e2erad");
    let manifest = tenant_yaml(
        &name,
        "  plan: basic\n  radius:\n    serviceType: NodePort\n",
    );
    live.kubectl(&["apply", "-f", "-"], Some(&manifest)).await;
    live.phase(&name, "Ready", 120).await;
    assert_eq!(
        live.tenant_field(
            &name,
            r#".status.conditions[?(@.type=="RadiusReady")].reason"#
        )
        .await,
        "Deployed"
    );
    let namespace = format!("dotmac-tenant-{name}");
    let pods = Api::<Pod>::namespaced(live.client.clone(), &namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let pod = &pods[0];
    let containers: Vec<&str> = pod
        .spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(containers, ["isp-runtime", "radius"]);
    let pod_ip = pod.status.as_ref().unwrap().pod_ip.clone().unwrap();
    let ready = live
        .kubectl(
            &[
                "get",
                "service",
                "radius",
                "-n",
                &namespace,
                "-o",
                "jsonpath={.spec.type} {.spec.externalTrafficPolicy}",
            ],
            None,
        )
        .await;
    assert_eq!(ready.trim(), "NodePort Local");

    // The instance reads FreeRADIUS's counters over the pod's loopback.
    let url = live.instance_url(&name).await;
    eventually(
        "FreeRADIUS's counters in the instance's metrics",
        60,
        || async {
            let metrics = reqwest::get(format!("{url}/metrics"))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            metrics
                .contains("dotmac_isp_radius_dropped_total")
                .then_some(())
        },
    )
    .await;

    // Staff register the NAS (this machine) and give a subscriber a PPPoE login.
    let token = live.staff_token(&name).await;
    let secret = "e2e-nas-shared-secret-01";
    created(
        &url,
        &token,
        "/nas",
        json!({"name": "bng-1", "address": "127.0.0.1", "secret": secret, "vendor": "mikrotik"}),
    )
    .await;
    created(
        &url,
        &token,
        "/ip-pools",
        json!({"name": "cgnat", "prefix": "100.64.0.0/24"}),
    )
    .await;
    let plan = created(&url, &token, "/plans", json!({"code": "FIBER-50", "name": "Fiber 50", "service_type": "internet", "price": 4000, "download_mbps": 50, "upload_mbps": 10})).await;
    let customer = created(
        &url,
        &token,
        "/customers",
        json!({"display_name": "Ada", "email": "ada@example.com", "address": {"country": "GB"}}),
    )
    .await;
    let subscription = created(
        &url,
        &token,
        "/subscriptions",
        json!({"customer_id": customer["id"], "plan_id": plan["id"]}),
    )
    .await;
    let sub = subscription["id"].as_str().unwrap();
    created(
        &url,
        &token,
        &format!("/subscriptions/{sub}/activate"),
        json!({"date": "2026-12-01"}),
    )
    .await;
    let (status, login) = {
        let response = reqwest::Client::new()
            .put(format!("{url}/api/v1/subscriptions/{sub}/login"))
            .bearer_auth(&token)
            .json(&json!({"kind": "pppoe", "username": "ada", "password": "ada's password"}))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{login}");

    // The NAS signs Ada in through FreeRADIUS in the pod, and gets her plan and an address.
    let target = format!("{pod_ip}:1812");
    let request =
        "User-Name = \"ada\", User-Password = \"ada's password\", Message-Authenticator = 0x00";
    let answer = radclient(&target, secret, request).await;
    assert!(answer.starts_with("Received Access-Accept"), "{answer}");
    assert!(
        answer.contains("Mikrotik-Rate-Limit = \"10M/50M\""),
        "{answer}"
    );
    assert!(answer.contains("Framed-IP-Address = 100.64.0."), "{answer}");
    let wrong = radclient(
        &target,
        secret,
        "User-Name = \"ada\", User-Password = \"nope\", Message-Authenticator = 0x00",
    )
    .await;
    assert!(wrong.starts_with("Received Access-Reject"), "{wrong}");

    // Neither the NAS secret nor the password is in the tenant's database.
    let db = Database::connect(live.credential(&name, "DATABASE_URL").await)
        .await
        .unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (SELECT count(*) FROM nas WHERE secret IS NOT NULL) AS clear_secrets, \
             (SELECT count(*) FROM service_logins WHERE password IS NOT NULL) AS clear_passwords, \
             (SELECT count(*) FROM service_logins WHERE sealed_password LIKE 'vault:v1:%') AS sealed",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "clear_secrets").unwrap(), 0);
    assert_eq!(row.try_get::<i64>("", "clear_passwords").unwrap(), 0);
    assert_eq!(row.try_get::<i64>("", "sealed").unwrap(), 1);

    // A packet signed with another secret gets no answer, and is counted where staff see it.
    let forged = radclient(&target, "not-the-nas-secret-0000", request).await;
    assert_eq!(forged, "", "dropped");
    eventually("the forged packet counted", 30, || async {
        let (_, drops) = get(&format!("{url}/api/v1/radius-drops"), Some(&token)).await?;
        (drops["freeradius"]["auth"]["wrong_secret"].as_u64() >= Some(1)).then_some(())
    })
    .await;
    live.delete_tenants(&[&name]).await;
}
