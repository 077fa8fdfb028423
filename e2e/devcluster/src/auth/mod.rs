//! Who a request is and what it may do, as a kube-apiserver decides it: bearer tokens of
//! ServiceAccounts (TokenRequest, or Secrets of type `kubernetes.io/service-account-token`)
//! authenticate ([`tokens`]); Roles, ClusterRoles and their bindings authorize ([`rbac`]).
//!
//! devcluster serves plain HTTP, like the insecure port kube-apiservers once had: a request
//! without a token, or with the admin kubeconfig's token, acts with full access. A token that
//! is presented must be valid (else 401). client-go (kubectl, helm) sends no bearer token over
//! plain HTTP, so kubectl checks RBAC by impersonation (`kubectl --as`), which devcluster
//! authorizes as a kube-apiserver does (`impersonate` on users, groups, service accounts).

pub mod rbac;
pub mod tokens;

use serde_json::{Value, json};

use crate::status::ApiError;

/// The token in the kubeconfig devcluster writes: full access.
pub const ADMIN_TOKEN: &str = "devcluster";

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `system:serviceaccount:<namespace>:<name>`, or `devcluster-admin`.
    pub name: String,
    /// Its groups (`system:authenticated`, `system:serviceaccounts`, …).
    pub groups: Vec<String>,
}

impl User {
    /// The admin: what an unauthenticated or admin-token request acts as.
    pub fn admin() -> Self {
        Self {
            name: "devcluster-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    /// ServiceAccount `name` of `namespace`.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// The user an impersonation header names, in the groups it names (a service account's
    /// own groups when it names none), always `system:authenticated`.
    pub fn impersonated(name: &str, groups: Vec<String>) -> Self {
        let service_account = name
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'));
        let mut user = match service_account {
            Some((ns, sa)) if groups.is_empty() => Self::service_account(ns, sa),
            _ => Self {
                name: name.to_owned(),
                groups,
            },
        };
        if !user.groups.iter().any(|g| g == "system:authenticated") {
            user.groups.push("system:authenticated".into());
        }
        user
    }

    /// Whether it bypasses authorization (`system:masters`, as in a real cluster).
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What a request asks to do, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    /// On a resource.
    Resource {
        /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
        verb: String,
        /// API group, empty for the core group.
        group: String,
        /// Plural.
        resource: String,
        /// `status`, `scale`, `token`, `log`, …, or empty.
        subresource: String,
        /// Empty for a cluster-scoped resource or a list across namespaces.
        namespace: String,
        /// Empty on a collection.
        name: String,
    },
    /// On a path that is not a resource (`/version`, `/metrics`).
    NonResource {
        /// The HTTP method, lowercased.
        verb: String,
        /// The path.
        path: String,
    },
}

/// 403 with the message, reason and details a kube-apiserver gives.
pub fn forbidden(user: &User, attributes: &Attributes, reason: &str) -> ApiError {
    let (mut message, details) = match attributes {
        Attributes::NonResource { verb, path } => (
            format!(
                "forbidden: User {:?} cannot {verb} path {path:?}",
                user.name
            ),
            None,
        ),
        Attributes::Resource {
            verb,
            group,
            resource,
            subresource,
            namespace,
            name,
        } => {
            let full = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            let scope = if namespace.is_empty() {
                "at the cluster scope".to_owned()
            } else {
                format!("in the namespace {namespace:?}")
            };
            let qualified = if group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{group}")
            };
            let subject = if name.is_empty() {
                format!("{qualified} is forbidden")
            } else {
                format!("{qualified} {name:?} is forbidden")
            };
            (
                format!(
                    "{subject}: User {:?} cannot {verb} resource {full:?} in API group {group:?} {scope}",
                    user.name
                ),
                Some(json!({"name": name, "group": group, "kind": resource})),
            )
        }
    };
    if !reason.is_empty() {
        message = format!("{message}: {reason}");
    }
    let mut error = ApiError::forbidden(message);
    error.details = details.map(|mut d: Value| {
        // A kube-apiserver leaves out empty details.
        if let Some(map) = d.as_object_mut() {
            map.retain(|_, v| v.as_str().is_none_or(|s| !s.is_empty()));
        }
        d
    });
    error
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    #[test]
    fn forbidden_bodies_read_as_a_kube_apiservers() {
        let user = User::service_account("dotmac-system", "dotmac-operator");
        let namespaced = Attributes::Resource {
            verb: "get".into(),
            group: "apps".into(),
            resource: "deployments".into(),
            subresource: String::new(),
            namespace: "tenant-acme".into(),
            name: "isp-runtime".into(),
        };
        let status = forbidden(&user, &namespaced, "").to_status();
        assert_eq!(
            status,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "deployments.apps \"isp-runtime\" is forbidden: User \"system:serviceaccount:dotmac-system:dotmac-operator\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"tenant-acme\"",
                "reason": "Forbidden",
                "details": {"name": "isp-runtime", "group": "apps", "kind": "deployments"},
                "code": 403
            })
        );
        let cluster = Attributes::Resource {
            verb: "patch".into(),
            group: "platform.dotmac.io".into(),
            resource: "tenants".into(),
            subresource: "status".into(),
            namespace: String::new(),
            name: "acme".into(),
        };
        assert_eq!(
            forbidden(&user, &cluster, "").message,
            "tenants.platform.dotmac.io \"acme\" is forbidden: User \"system:serviceaccount:dotmac-system:dotmac-operator\" cannot patch resource \"tenants/status\" in API group \"platform.dotmac.io\" at the cluster scope"
        );
        let list = Attributes::Resource {
            verb: "list".into(),
            group: String::new(),
            resource: "namespaces".into(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
        };
        let status = forbidden(&user, &list, "").to_status();
        assert_eq!(
            status["message"],
            "namespaces is forbidden: User \"system:serviceaccount:dotmac-system:dotmac-operator\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
        );
        assert_eq!(status["details"], json!({"kind": "namespaces"}));
        let path = Attributes::NonResource {
            verb: "get".into(),
            path: "/metrics".into(),
        };
        assert_eq!(
            forbidden(&user, &path, "").message,
            "forbidden: User \"system:serviceaccount:dotmac-system:dotmac-operator\" cannot get path \"/metrics\""
        );
    }
}
