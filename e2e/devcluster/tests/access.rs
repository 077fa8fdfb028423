//! Authentication and authorization as a kube-apiserver does them: ServiceAccount tokens from
//! TokenRequests and token Secrets, RBAC rules evaluated per verb, group, resource,
//! subresource, name and namespace, and the same 401 and 403 bodies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod common;

use dotmac_devcluster::DevCluster;
use dotmac_testkit::eventually;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Raw HTTP against the cluster, as a given token (or none).
struct As<'a> {
    cluster: &'a DevCluster,
    token: Option<String>,
}

impl As<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(method, path, body, "application/json").await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        // reqwest uses the process-wide rustls provider the binaries install.
        dotmac_telemetry::install_crypto_provider();
        let mut request =
            reqwest::Client::new().request(method, format!("{}{path}", self.cluster.url()));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Creates `body` at `path` as the admin.
async fn admin_create(cluster: &DevCluster, path: &str, body: Value) {
    let admin = As {
        cluster,
        token: None,
    };
    let (status, answer) = admin.call(Method::POST, path, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// A ServiceAccount `name` in `ns` (made with its namespace) and a TokenRequest's token for it.
async fn account(cluster: &DevCluster, ns: &str, name: &str) -> String {
    let admin = As {
        cluster,
        token: None,
    };
    let (status, _) = admin
        .call(Method::GET, &format!("/api/v1/namespaces/{ns}"), None)
        .await;
    if status == StatusCode::NOT_FOUND {
        admin_create(
            cluster,
            "/api/v1/namespaces",
            json!({"metadata": {"name": ns}}),
        )
        .await;
    }
    admin_create(
        cluster,
        &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
        json!({"metadata": {"name": name}}),
    )
    .await;
    let (status, answer) = admin
        .call(
            Method::POST,
            &format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token"),
            Some(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["kind"], "TokenRequest");
    assert!(
        answer["status"]["expirationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    answer["status"]["token"].as_str().unwrap().to_owned()
}

async fn bind_cluster_role(cluster: &DevCluster, name: &str, rules: Value, ns: &str, sa: &str) {
    admin_create(
        cluster,
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        json!({"metadata": {"name": name}, "rules": rules}),
    )
    .await;
    admin_create(
        cluster,
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        json!({"metadata": {"name": name},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}),
    )
    .await;
}

#[tokio::test]
async fn a_token_nobody_issued_is_unauthorized() {
    let cluster = DevCluster::start().await.unwrap();
    let stranger = As {
        cluster: &cluster,
        token: Some("dcsa.guessed".into()),
    };
    let (status, body) = stranger.call(Method::GET, "/api/v1/namespaces", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    // The kubeconfig's admin token has full access.
    let admin = As {
        cluster: &cluster,
        token: Some(dotmac_devcluster::auth::ADMIN_TOKEN.into()),
    };
    assert_eq!(
        admin.call(Method::GET, "/api/v1/namespaces", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_service_account_may_do_only_what_its_roles_allow() {
    let cluster = DevCluster::start().await.unwrap();
    let token = account(&cluster, "ops", "reader").await;
    let reader = As {
        cluster: &cluster,
        token: Some(token),
    };
    // Discovery is open to every authenticated user; resources are not.
    assert_eq!(
        reader.call(Method::GET, "/apis", None).await.0,
        StatusCode::OK
    );
    let (status, body) = reader
        .call(Method::GET, "/api/v1/namespaces/ops/configmaps", None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "configmaps is forbidden: User \"system:serviceaccount:ops:reader\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"ops\"",
               "reason": "Forbidden", "details": {"kind": "configmaps"}, "code": 403})
    );
    // A Role bound in "ops" lets it read ConfigMaps there, and nowhere else.
    admin_create(
        &cluster,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/ops/roles",
        json!({"metadata": {"name": "read-config"},
               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]}),
    )
    .await;
    admin_create(
        &cluster,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/ops/rolebindings",
        json!({"metadata": {"name": "reader"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
               "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "ops"}]}),
    )
    .await;
    assert_eq!(
        reader
            .call(Method::GET, "/api/v1/namespaces/ops/configmaps", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        reader
            .call(Method::GET, "/api/v1/namespaces/default/configmaps", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = reader
        .call(
            Method::POST,
            "/api/v1/namespaces/ops/configmaps",
            Some(json!({"metadata": {"name": "x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Unbinding takes the access away at once.
    let admin = As {
        cluster: &cluster,
        token: None,
    };
    let (status, _) = admin
        .call(
            Method::DELETE,
            "/apis/rbac.authorization.k8s.io/v1/namespaces/ops/rolebindings/reader",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        reader
            .call(Method::GET, "/api/v1/namespaces/ops/configmaps", None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn subresources_names_and_apply_creates_are_authorized_apart() {
    let cluster = DevCluster::start().await.unwrap();
    let token = account(&cluster, "ops", "writer").await;
    bind_cluster_role(
        &cluster,
        "writer",
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["catalog"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments/status"], "verbs": ["get"]}
        ]),
        "ops",
        "writer",
    )
    .await;
    let writer = As {
        cluster: &cluster,
        token: Some(token),
    };
    let apply = |name: &str| format!("/api/v1/namespaces/ops/configmaps/{name}?fieldManager=test");
    let config = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}});
    // Apply of a missing object creates it, which needs `create` too.
    let (status, body) = writer
        .send(
            Method::PATCH,
            &apply("new"),
            Some(config("new")),
            "application/apply-patch+yaml",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["message"],
        "configmaps \"new\" is forbidden: User \"system:serviceaccount:ops:writer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"ops\""
    );
    admin_create(&cluster, "/api/v1/namespaces/ops/configmaps", config("old")).await;
    let (status, body) = writer
        .send(
            Method::PATCH,
            &apply("old"),
            Some(config("old")),
            "application/apply-patch+yaml",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // resourceNames: the named Secret only, also when a watch pins it by field selector.
    admin_create(
        &cluster,
        "/api/v1/namespaces/ops/secrets",
        json!({"metadata": {"name": "catalog"}}),
    )
    .await;
    admin_create(
        &cluster,
        "/api/v1/namespaces/ops/secrets",
        json!({"metadata": {"name": "other"}}),
    )
    .await;
    let secrets = "/api/v1/namespaces/ops/secrets";
    assert_eq!(
        writer
            .call(Method::GET, &format!("{secrets}/catalog"), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        writer
            .call(Method::GET, &format!("{secrets}/other"), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        writer.call(Method::GET, secrets, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        writer
            .call(
                Method::GET,
                &format!("{secrets}?fieldSelector=metadata.name%3Dcatalog"),
                None
            )
            .await
            .0,
        StatusCode::OK
    );
    // A subresource's rule grants the subresource only.
    let (status, body) = writer
        .call(
            Method::GET,
            "/apis/apps/v1/namespaces/ops/deployments/web",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = writer
        .call(
            Method::GET,
            "/apis/apps/v1/namespaces/ops/deployments/web/status",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "allowed, and there is no such Deployment"
    );
}

#[tokio::test]
async fn token_secrets_are_filled_and_die_with_their_account() {
    let cluster = DevCluster::start().await.unwrap();
    account(&cluster, "ops", "legacy").await;
    bind_cluster_role(
        &cluster,
        "ns-reader",
        json!([{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]),
        "ops",
        "legacy",
    )
    .await;
    admin_create(
        &cluster,
        "/api/v1/namespaces/ops/secrets",
        json!({"metadata": {"name": "legacy-token", "annotations": {"kubernetes.io/service-account.name": "legacy"}},
               "type": "kubernetes.io/service-account-token"}),
    )
    .await;
    let admin = As {
        cluster: &cluster,
        token: None,
    };
    let secret = eventually("the token controller fills the Secret", 5, || async {
        let (_, secret) = admin
            .call(
                Method::GET,
                "/api/v1/namespaces/ops/secrets/legacy-token",
                None,
            )
            .await;
        secret["data"]["token"].is_string().then_some(secret)
    })
    .await;
    let decode = |v: &Value| -> String {
        let bytes: k8s_openapi::ByteString = serde_json::from_value(v.clone()).unwrap();
        String::from_utf8(bytes.0).unwrap()
    };
    assert_eq!(decode(&secret["data"]["namespace"]), "ops");
    let legacy = As {
        cluster: &cluster,
        token: Some(decode(&secret["data"]["token"])),
    };
    assert_eq!(
        legacy.call(Method::GET, "/api/v1/namespaces", None).await.0,
        StatusCode::OK
    );
    let (status, _) = admin
        .call(
            Method::DELETE,
            "/api/v1/namespaces/ops/serviceaccounts/legacy",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        legacy.call(Method::GET, "/api/v1/namespaces", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn only_whom_a_rule_allows_may_impersonate() {
    let cluster = DevCluster::start().await.unwrap();
    let token = account(&cluster, "ops", "ci").await;
    let impersonating = |user: &str| {
        reqwest::Client::new()
            .get(format!("{}/api/v1/namespaces", cluster.url()))
            .bearer_auth(&token)
            .header("Impersonate-User", user)
    };
    let refused = impersonating("alice").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body["message"],
        "users \"alice\" is forbidden: User \"system:serviceaccount:ops:ci\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    bind_cluster_role(
        &cluster,
        "impersonate-alice",
        json!([{"apiGroups": [""], "resources": ["users"], "resourceNames": ["alice"], "verbs": ["impersonate"]}]),
        "ops",
        "ci",
    )
    .await;
    // Allowed to impersonate alice, who may not list namespaces herself.
    let as_alice = impersonating("alice").send().await.unwrap();
    assert_eq!(as_alice.status(), StatusCode::FORBIDDEN);
    let body: Value = as_alice.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("User \"alice\" cannot list"),
        "{body}"
    );
    assert_eq!(
        impersonating("bob").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_token_request_for_a_missing_account_is_not_found() {
    let cluster = DevCluster::start().await.unwrap();
    let admin = As {
        cluster: &cluster,
        token: None,
    };
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/namespaces/default/serviceaccounts/ghost/token",
            Some(json!({"spec": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], "serviceaccounts \"ghost\" not found");
    let (status, body) = admin
        .call(
            Method::POST,
            "/api/v1/namespaces/default/serviceaccounts/ghost/token",
            Some(json!({"spec": {"expirationSeconds": 5}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
