//! The store as the authenticator and the RBAC authorizer read it, and the token controller
//! that fills ServiceAccount token Secrets.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{GroupResource, Store};
use crate::{
    auth::{
        ADMIN_TOKEN, User,
        rbac::Roles,
        tokens::{self, Claims, UID_ANNOTATION},
    },
    fields::Part,
    store::{FieldValidation, WriteCtx},
};

fn gr(group: &str, resource: &str) -> GroupResource {
    GroupResource {
        group: group.into(),
        resource: resource.into(),
    }
}

fn uid(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Store {
    fn objects_of(
        &self,
        group: &str,
        resource: &str,
    ) -> impl Iterator<Item = (&(String, String), &Value)> {
        self.objects.get(&gr(group, resource)).into_iter().flatten()
    }

    fn object(&self, group: &str, resource: &str, ns: &str, name: &str) -> Option<&Value> {
        self.lookup(&gr(group, resource), &(ns.to_owned(), name.to_owned()))
    }

    /// ServiceAccount `name` of `namespace`, if it exists.
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.object("", "serviceaccounts", namespace, name)
    }

    /// Who `token` is: the admin for the kubeconfig's token, a ServiceAccount for one of its
    /// live tokens; `None` for a token nobody issued or that no longer holds.
    pub fn authenticate(&self, token: &str) -> Option<User> {
        if token == ADMIN_TOKEN {
            return Some(User::admin());
        }
        if let Some(claims) = self.tokens.claims(token) {
            let account = self.service_account(&claims.namespace, &claims.name)?;
            if uid(account) != claims.uid {
                return None;
            }
            if let Some(pod_uid) = &claims.pod {
                let pod = self
                    .objects_of("", "pods")
                    .find(|((ns, _), pod)| *ns == claims.namespace && uid(pod) == pod_uid);
                pod?;
            }
            return Some(User::service_account(&claims.namespace, &claims.name));
        }
        let encoded = json!(k8s_openapi::ByteString(token.as_bytes().to_vec()));
        self.objects_of("", "secrets")
            .find_map(|((ns, _), secret)| {
                let name = tokens::secret_account(secret)?;
                if secret.pointer("/data/token") != Some(&encoded) {
                    return None;
                }
                let account = self.service_account(ns, name)?;
                let annotated = secret
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(UID_ANNOTATION))
                    .and_then(Value::as_str);
                (annotated == Some(uid(account))).then(|| User::service_account(ns, name))
            })
    }

    /// Issues a token for ServiceAccount `name` of `namespace` (bound to the pod of uid `pod`
    /// when given), valid for `lifetime`; `None` when the account does not exist.
    pub fn issue_token(
        &mut self,
        namespace: &str,
        name: &str,
        pod: Option<String>,
        lifetime: std::time::Duration,
    ) -> Option<(String, SystemTime)> {
        let account_uid = uid(self.service_account(namespace, name)?).to_owned();
        let expires = SystemTime::now() + lifetime;
        let token = self.tokens.issue(Claims {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: account_uid,
            pod,
            expires,
        });
        Some((token, expires))
    }

    /// The token controller: every `kubernetes.io/service-account-token` Secret whose
    /// ServiceAccount exists gets a token, its namespace and the account's uid. Returns how
    /// many it filled.
    pub(super) fn fill_token_secrets(&mut self) -> usize {
        let due: Vec<((String, String), String)> = self
            .objects_of("", "secrets")
            .filter(|(_, s)| s.pointer("/data/token").is_none())
            .filter_map(|(key, s)| {
                let account = self.service_account(&key.0, tokens::secret_account(s)?)?;
                Some((key.clone(), uid(account).to_owned()))
            })
            .collect();
        let Some(rt) = self.registry.get(&gr("", "secrets")) else {
            return 0;
        };
        let mut filled = 0;
        for (key, account_uid) in due {
            let Some(secret) = self.lookup(&gr("", "secrets"), &key).cloned() else {
                continue;
            };
            let mut updated = secret.clone();
            let bytes = |s: &str| json!(k8s_openapi::ByteString(s.as_bytes().to_vec()));
            updated["data"]["token"] = bytes(&tokens::new_token());
            updated["data"]["namespace"] = bytes(&key.0);
            updated["metadata"]["annotations"][UID_ANNOTATION] = json!(account_uid);
            let ctx = WriteCtx {
                manager: "kube-controller-manager".into(),
                dry_run: false,
                validation: FieldValidation::Ignore,
            };
            if self
                .finish_write(&rt, &key, Some(&secret), updated, Part::Main, &ctx, None)
                .is_ok()
            {
                filled += 1;
            }
        }
        filled
    }
}

impl Roles for Store {
    fn cluster_role_bindings(&self) -> Vec<&Value> {
        self.objects_of("rbac.authorization.k8s.io", "clusterrolebindings")
            .map(|(_, b)| b)
            .collect()
    }

    fn role_bindings(&self, namespace: &str) -> Vec<&Value> {
        self.objects_of("rbac.authorization.k8s.io", "rolebindings")
            .filter(|((ns, _), _)| ns == namespace)
            .map(|(_, b)| b)
            .collect()
    }

    fn cluster_role(&self, name: &str) -> Option<&Value> {
        self.object("rbac.authorization.k8s.io", "clusterroles", "", name)
    }

    fn role(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.object("rbac.authorization.k8s.io", "roles", namespace, name)
    }
}
