//! Role-based access control as the kube-apiserver's RBAC authorizer evaluates it: the rules
//! of every ClusterRoleBinding's role, and of the RoleBindings in the request's namespace,
//! whose subjects include the user; a rule allows when its verbs, API groups, resources (with
//! `resource/subresource` and `*/subresource`), resource names and non-resource URLs (exact,
//! or a `*`-suffixed prefix) all match. Authenticated users may always read the discovery
//! paths (the `system:discovery` role every cluster binds to `system:authenticated`).

use serde_json::Value;

use super::{Attributes, User};

/// The RBAC objects a decision reads.
pub trait Roles {
    /// Every ClusterRoleBinding.
    fn cluster_role_bindings(&self) -> Vec<&Value>;
    /// The RoleBindings of `namespace`.
    fn role_bindings(&self, namespace: &str) -> Vec<&Value>;
    /// ClusterRole `name`.
    fn cluster_role(&self, name: &str) -> Option<&Value>;
    /// Role `name` of `namespace`.
    fn role(&self, namespace: &str, name: &str) -> Option<&Value>;
}

/// An authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A rule allows it.
    Allow,
    /// No rule allows it; the reason names roles that bindings refer to and that do not exist
    /// (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`), or is empty.
    Deny(String),
}

/// The discovery paths every authenticated user may read.
const DISCOVERY: [&str; 10] = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/version",
    "/version/",
    "/healthz",
    "/livez",
    "/readyz",
    "/openapi/*",
];

/// Whether `user` may do what `attributes` describe.
pub fn authorize(roles: &impl Roles, user: &User, attributes: &Attributes) -> Decision {
    if user.is_admin() {
        return Decision::Allow;
    }
    if let Attributes::NonResource { verb, path } = attributes
        && verb == "get"
        && user.groups.iter().any(|g| g == "system:authenticated")
        && DISCOVERY.iter().any(|p| url_matches(p, path))
    {
        return Decision::Allow;
    }
    let mut missing = Vec::new();
    for binding in roles.cluster_role_bindings() {
        if !binds(binding, user, "") {
            continue;
        }
        match role_rules(roles, binding, "") {
            Ok(rules) if rules.iter().any(|r| allows(r, attributes)) => return Decision::Allow,
            Ok(_) => {}
            Err(name) => missing.push(name),
        }
    }
    if let Attributes::Resource { namespace, .. } = attributes
        && !namespace.is_empty()
    {
        for binding in roles.role_bindings(namespace) {
            if !binds(binding, user, namespace) {
                continue;
            }
            match role_rules(roles, binding, namespace) {
                Ok(rules) if rules.iter().any(|r| allows(r, attributes)) => {
                    return Decision::Allow;
                }
                Ok(_) => {}
                Err(name) => missing.push(name),
            }
        }
    }
    if missing.is_empty() {
        Decision::Deny(String::new())
    } else {
        Decision::Deny(format!("RBAC: [{}]", missing.join(", ")))
    }
}

fn strings(value: &Value, field: &str) -> Vec<String> {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Whether one of `binding`'s subjects is `user`; a ServiceAccount subject of a RoleBinding
/// without a namespace is in the binding's (`binding_namespace`).
fn binds(binding: &Value, user: &User, binding_namespace: &str) -> bool {
    let subjects = binding.get("subjects").and_then(Value::as_array);
    subjects.into_iter().flatten().any(|s| {
        let name = text(s, "/name");
        match text(s, "/kind") {
            "User" => user.name == name,
            "Group" => user.groups.iter().any(|g| g == name),
            "ServiceAccount" => {
                let ns = match text(s, "/namespace") {
                    "" => binding_namespace,
                    ns => ns,
                };
                user.name == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        }
    })
}

/// The rules of the role `binding` refers to, or its name when it does not exist.
fn role_rules<'a>(
    roles: &'a impl Roles,
    binding: &Value,
    namespace: &str,
) -> Result<Vec<&'a Value>, String> {
    let name = text(binding, "/roleRef/name");
    let role = match text(binding, "/roleRef/kind") {
        "ClusterRole" => roles
            .cluster_role(name)
            .ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io {name:?} not found")),
        _ => roles
            .role(namespace, name)
            .ok_or_else(|| format!("role.rbac.authorization.k8s.io {name:?} not found")),
    }?;
    Ok(role
        .get("rules")
        .and_then(Value::as_array)
        .map(|r| r.iter().collect())
        .unwrap_or_default())
}

/// Whether `rule` allows `attributes`.
pub fn allows(rule: &Value, attributes: &Attributes) -> bool {
    let verbs = strings(rule, "verbs");
    match attributes {
        Attributes::NonResource { verb, path } => {
            has(&verbs, verb)
                && strings(rule, "nonResourceURLs")
                    .iter()
                    .any(|u| url_matches(u, path))
        }
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            let names = strings(rule, "resourceNames");
            has(&verbs, verb)
                && has(&strings(rule, "apiGroups"), group)
                && resource_matches(&strings(rule, "resources"), resource, subresource)
                && (names.is_empty() || (!name.is_empty() && names.iter().any(|n| n == name)))
        }
    }
}

fn has(list: &[String], wanted: &str) -> bool {
    list.iter().any(|v| v == "*" || v == wanted)
}

fn resource_matches(rules: &[String], resource: &str, subresource: &str) -> bool {
    let combined = if subresource.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}/{subresource}")
    };
    rules.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

fn url_matches(rule: &str, path: &str) -> bool {
    rule == "*"
        || rule == path
        || rule
            .strip_suffix('*')
            .is_some_and(|prefix| path.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[derive(Default)]
    struct Fixture {
        cluster_roles: BTreeMap<String, Value>,
        roles: BTreeMap<(String, String), Value>,
        cluster_bindings: Vec<Value>,
        bindings: Vec<(String, Value)>,
    }

    impl Roles for Fixture {
        fn cluster_role_bindings(&self) -> Vec<&Value> {
            self.cluster_bindings.iter().collect()
        }
        fn role_bindings(&self, namespace: &str) -> Vec<&Value> {
            self.bindings
                .iter()
                .filter(|(ns, _)| ns == namespace)
                .map(|(_, b)| b)
                .collect()
        }
        fn cluster_role(&self, name: &str) -> Option<&Value> {
            self.cluster_roles.get(name)
        }
        fn role(&self, namespace: &str, name: &str) -> Option<&Value> {
            self.roles.get(&(namespace.to_owned(), name.to_owned()))
        }
    }

    fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        sub: &str,
        ns: &str,
        name: &str,
    ) -> Attributes {
        Attributes::Resource {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn operator() -> User {
        User::service_account("dotmac-system", "operator")
    }

    fn fixture() -> Fixture {
        let mut f = Fixture::default();
        f.cluster_roles.insert(
            "operator".into(),
            json!({"rules": [
                {"apiGroups": ["platform.dotmac.io"], "resources": ["tenants"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["platform.dotmac.io"], "resources": ["tenants/status"], "verbs": ["patch"]},
                {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["catalog"], "verbs": ["get", "watch", "list"]},
                {"nonResourceURLs": ["/metrics", "/debug/*"], "verbs": ["get"]}
            ]}),
        );
        f.cluster_bindings.push(json!({
            "roleRef": {"kind": "ClusterRole", "name": "operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": "dotmac-system"}]
        }));
        f.roles.insert(
            ("dotmac-system".into(), "leader".into()),
            json!({"rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]}),
        );
        f.bindings.push((
            "dotmac-system".into(),
            json!({"roleRef": {"kind": "Role", "name": "leader"},
                   "subjects": [{"kind": "ServiceAccount", "name": "operator"}]}),
        ));
        f
    }

    #[test]
    fn rules_match_on_verb_group_resource_and_subresource() {
        let f = fixture();
        let user = operator();
        let ok = |a: Attributes| authorize(&f, &user, &a) == Decision::Allow;
        assert!(ok(resource(
            "watch",
            "platform.dotmac.io",
            "tenants",
            "",
            "",
            ""
        )));
        assert!(!ok(resource(
            "delete",
            "platform.dotmac.io",
            "tenants",
            "",
            "",
            "acme"
        )));
        assert!(
            !ok(resource("get", "", "tenants", "", "", "acme")),
            "another group"
        );
        assert!(ok(resource(
            "patch",
            "platform.dotmac.io",
            "tenants",
            "status",
            "",
            "acme"
        )));
        assert!(
            !ok(resource(
                "patch",
                "platform.dotmac.io",
                "tenants",
                "",
                "",
                "acme"
            )),
            "tenants/status does not grant tenants"
        );
        assert!(
            !ok(resource(
                "get",
                "platform.dotmac.io",
                "tenants",
                "status",
                "",
                "acme"
            )),
            "tenants does not grant tenants/status"
        );
        assert!(ok(resource(
            "update",
            "apps",
            "deployments",
            "scale",
            "ns",
            "web"
        )));
        assert!(!ok(resource(
            "update",
            "apps",
            "deployments",
            "",
            "ns",
            "web"
        )));
    }

    #[test]
    fn resource_names_limit_a_rule_to_named_objects() {
        let f = fixture();
        let user = operator();
        let ok = |a: Attributes| authorize(&f, &user, &a) == Decision::Allow;
        assert!(ok(resource("get", "", "configmaps", "", "any", "catalog")));
        assert!(
            ok(resource("watch", "", "configmaps", "", "any", "catalog")),
            "a watch by metadata.name"
        );
        assert!(!ok(resource("get", "", "configmaps", "", "any", "other")));
        assert!(
            !ok(resource("list", "", "configmaps", "", "any", "")),
            "a list names nothing"
        );
    }

    #[test]
    fn role_bindings_grant_only_in_their_namespace() {
        let f = fixture();
        let user = operator();
        let ok = |a: Attributes| authorize(&f, &user, &a) == Decision::Allow;
        assert!(ok(resource(
            "update",
            "coordination.k8s.io",
            "leases",
            "",
            "dotmac-system",
            "l"
        )));
        assert!(!ok(resource(
            "update",
            "coordination.k8s.io",
            "leases",
            "",
            "default",
            "l"
        )));
        assert!(!ok(resource(
            "list",
            "coordination.k8s.io",
            "leases",
            "",
            "",
            ""
        )));
        let other = User::service_account("other", "operator");
        assert_eq!(
            authorize(
                &f,
                &other,
                &resource("get", "platform.dotmac.io", "tenants", "", "", "a")
            ),
            Decision::Deny(String::new()),
            "same name, another namespace"
        );
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let f = fixture();
        let user = operator();
        let get = |path: &str| Attributes::NonResource {
            verb: "get".into(),
            path: path.into(),
        };
        assert_eq!(authorize(&f, &user, &get("/metrics")), Decision::Allow);
        assert_eq!(authorize(&f, &user, &get("/debug/pprof")), Decision::Allow);
        assert_eq!(
            authorize(&f, &user, &get("/apis/apps/v1")),
            Decision::Allow,
            "discovery"
        );
        assert_ne!(authorize(&f, &user, &get("/logs")), Decision::Allow);
    }

    #[test]
    fn groups_users_and_missing_roles() {
        let mut f = fixture();
        f.cluster_bindings.push(json!({
            "roleRef": {"kind": "ClusterRole", "name": "gone"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:ci"}]
        }));
        let ci = User::service_account("ci", "deployer");
        assert_eq!(
            authorize(&f, &ci, &resource("get", "", "pods", "", "ci", "p")),
            Decision::Deny(
                "RBAC: [clusterrole.rbac.authorization.k8s.io \"gone\" not found]".into()
            )
        );
        assert_eq!(
            authorize(
                &f,
                &User::admin(),
                &resource("delete", "", "namespaces", "", "", "x")
            ),
            Decision::Allow
        );
    }
}
