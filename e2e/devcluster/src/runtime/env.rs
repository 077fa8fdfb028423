//! A container's environment, resolved as the kubelet does: `envFrom` sources in order, then
//! `env` entries (`value` with `$(VAR)` expansion, `valueFrom` ConfigMap and Secret keys and pod
//! fields), later names replacing earlier ones; then `$(VAR)` expansion of command and args.

use std::collections::BTreeMap;

use serde_json::Value;

use super::owned;

/// Why a container's environment cannot be built; the kubelet shows it as
/// `CreateContainerConfigError` and tries again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// A ConfigMap or Secret that is not optional does not exist.
    #[error("{kind} \"{name}\" not found")]
    Missing {
        /// `configmap` or `secret`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A key that is not optional is not in its ConfigMap or Secret.
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    MissingKey {
        /// `ConfigMap` or `Secret`.
        kind: &'static str,
        /// The pod's namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// The key asked for.
        key: String,
    },
    /// A field reference devcluster cannot resolve.
    #[error("unsupported fieldRef {0:?}")]
    Field(String),
    /// A Secret value is not base64.
    #[error("secret {0:?} holds data that is not base64")]
    Undecodable(String),
    /// A `resourceFieldRef`, which devcluster does not resolve.
    #[error("env {0}: resourceFieldRef is not supported by devcluster")]
    ResourceField(String),
}

/// The ConfigMaps and Secrets of the pod's namespace, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    /// ConfigMaps.
    pub config_maps: BTreeMap<String, Value>,
    /// Secrets.
    pub secrets: BTreeMap<String, Value>,
}

impl Sources {
    /// The string data of ConfigMap `name` (`data`, then `binaryData` decoded as UTF-8).
    pub fn config_map(&self, name: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        let cm = self.config_maps.get(name)?;
        let mut out = BTreeMap::new();
        if let Some(data) = cm.get("data").and_then(Value::as_object) {
            for (k, v) in data {
                out.insert(
                    k.clone(),
                    v.as_str().unwrap_or_default().as_bytes().to_vec(),
                );
            }
        }
        if let Some(data) = cm.get("binaryData").and_then(Value::as_object) {
            for (k, v) in data {
                if let Ok(bytes) = decode(v) {
                    out.insert(k.clone(), bytes);
                }
            }
        }
        Some(out)
    }

    /// The decoded data of Secret `name` (`data`, and `stringData` as the API server folds it).
    pub fn secret(&self, name: &str) -> Option<Result<BTreeMap<String, Vec<u8>>, EnvError>> {
        let secret = self.secrets.get(name)?;
        let mut out = BTreeMap::new();
        if let Some(data) = secret.get("data").and_then(Value::as_object) {
            for (k, v) in data {
                match decode(v) {
                    Ok(bytes) => out.insert(k.clone(), bytes),
                    Err(()) => return Some(Err(EnvError::Undecodable(name.to_owned()))),
                };
            }
        }
        if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
            for (k, v) in data {
                out.insert(
                    k.clone(),
                    v.as_str().unwrap_or_default().as_bytes().to_vec(),
                );
            }
        }
        Some(Ok(out))
    }
}

fn decode(value: &Value) -> Result<Vec<u8>, ()> {
    serde_json::from_value::<k8s_openapi::ByteString>(value.clone())
        .map(|b| b.0)
        .map_err(|_| ())
}

/// The environment of `container` in `pod`.
pub fn resolve(
    container: &Value,
    pod: &Value,
    sources: &Sources,
) -> Result<Vec<(String, String)>, EnvError> {
    let namespace = owned(pod, "/metadata/namespace");
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, name: String, value: String| {
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
    };
    for source in array(container, "envFrom") {
        let prefix = source.get("prefix").and_then(Value::as_str).unwrap_or("");
        let (data, optional) = if let Some(r) = source.get("configMapRef") {
            let name = owned(r, "/name");
            (
                sources.config_map(&name).map(Ok),
                (name, "configmap", optional(r)),
            )
        } else if let Some(r) = source.get("secretRef") {
            let name = owned(r, "/name");
            (sources.secret(&name), (name, "secret", optional(r)))
        } else {
            continue;
        };
        match data {
            Some(data) => {
                for (k, v) in data? {
                    set(
                        &mut env,
                        format!("{prefix}{k}"),
                        String::from_utf8_lossy(&v).into(),
                    );
                }
            }
            None if optional.2 => {}
            None => {
                return Err(EnvError::Missing {
                    kind: optional.1,
                    name: optional.0,
                });
            }
        }
    }
    for var in array(container, "env") {
        let name = owned(var, "/name");
        let value = if let Some(from) = var.get("valueFrom") {
            match value_from(&name, from, pod, &namespace, sources)? {
                Some(v) => v,
                None => continue,
            }
        } else {
            let known: BTreeMap<&str, &str> =
                env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            expand(
                var.get("value").and_then(Value::as_str).unwrap_or(""),
                &known,
            )
        };
        set(&mut env, name, value);
    }
    Ok(env)
}

/// The value of one `valueFrom`; `None` when an optional source lacks it.
fn value_from(
    name: &str,
    from: &Value,
    pod: &Value,
    namespace: &str,
    sources: &Sources,
) -> Result<Option<String>, EnvError> {
    let key_of = |kind: &'static str,
                  selector: &Value,
                  data: Option<Result<BTreeMap<String, Vec<u8>>, EnvError>>|
     -> Result<Option<String>, EnvError> {
        let object = owned(selector, "/name");
        let key = owned(selector, "/key");
        let missing_ok = optional(selector);
        let data = match data {
            Some(d) => d?,
            None if missing_ok => return Ok(None),
            None => {
                return Err(EnvError::Missing {
                    kind: if kind == "ConfigMap" {
                        "configmap"
                    } else {
                        "secret"
                    },
                    name: object,
                });
            }
        };
        match data.get(&key) {
            Some(v) => Ok(Some(String::from_utf8_lossy(v).into())),
            None if missing_ok => Ok(None),
            None => Err(EnvError::MissingKey {
                kind,
                namespace: namespace.to_owned(),
                name: object,
                key,
            }),
        }
    };
    if let Some(s) = from.get("configMapKeyRef") {
        key_of(
            "ConfigMap",
            s,
            sources.config_map(&owned(s, "/name")).map(Ok),
        )
    } else if let Some(s) = from.get("secretKeyRef") {
        key_of("Secret", s, sources.secret(&owned(s, "/name")))
    } else if let Some(f) = from.get("fieldRef") {
        pod_field(pod, &owned(f, "/fieldPath")).map(Some)
    } else {
        Err(EnvError::ResourceField(name.to_owned()))
    }
}

/// A pod field as `fieldRef.fieldPath` names it.
pub fn pod_field(pod: &Value, path: &str) -> Result<String, EnvError> {
    let map_key = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix("['"))
            .and_then(|rest| rest.strip_suffix("']"))
    };
    if let Some(key) = map_key("metadata.labels") {
        return Ok(pod
            .pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned());
    }
    if let Some(key) = map_key("metadata.annotations") {
        return Ok(pod
            .pointer("/metadata/annotations")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned());
    }
    let pointer = match path {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        "metadata.uid" => "/metadata/uid",
        "spec.nodeName" => "/spec/nodeName",
        "spec.serviceAccountName" => "/spec/serviceAccountName",
        "status.hostIP" => "/status/hostIP",
        "status.podIP" => "/status/podIP",
        _ => return Err(EnvError::Field(path.to_owned())),
    };
    Ok(owned(pod, pointer))
}

/// `$(VAR)` replaced by `VAR`'s value when known, kept as written when not; `$$` is a `$`.
pub fn expand(text: &str, known: &BTreeMap<&str, &str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(close) = inner.find(')')
        {
            let name = &inner[..close];
            match known.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The container's command line: its `command` (or the image's program) and `args`, expanded
/// against `env`.
pub fn command_line(
    container: &Value,
    program: &std::path::Path,
    env: &[(String, String)],
) -> Vec<String> {
    let known: BTreeMap<&str, &str> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let words = |field: &str| -> Vec<String> {
        array(container, field)
            .iter()
            .filter_map(Value::as_str)
            .map(|w| expand(w, &known))
            .collect()
    };
    let command = words("command");
    let mut line = if command.is_empty() {
        vec![program.display().to_string()]
    } else {
        command
    };
    line.extend(words("args"));
    line
}

fn array<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn optional(selector: &Value) -> bool {
    selector.get("optional").and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sources() -> Sources {
        Sources {
            config_maps: BTreeMap::from([(
                "app".to_owned(),
                json!({"data": {"PLAN": "pro", "TENANT": "acme"}}),
            )]),
            secrets: BTreeMap::from([(
                "creds".to_owned(),
                json!({"data": {"DATABASE_URL": "cG9zdGdyZXM6Ly94"}}),
            )]),
        }
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "app-1", "namespace": "t-acme", "labels": {"app": "isp"}},
               "status": {"podIP": "127.10.0.7"}})
    }

    #[test]
    fn env_from_then_env_with_expansion_and_references() {
        let container = json!({
            "envFrom": [{"configMapRef": {"name": "app"}}, {"secretRef": {"name": "creds"}},
                        {"secretRef": {"name": "absent", "optional": true}}],
            "env": [
                {"name": "PLAN", "value": "enterprise"},
                {"name": "GREETING", "value": "$(TENANT) on $(PLAN), $$(TENANT) and $(UNSET)"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "KEY", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "TENANT"}}},
                {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "x", "optional": true}}}
            ]
        });
        let env: BTreeMap<String, String> = resolve(&container, &pod(), &sources())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(env["PLAN"], "enterprise");
        assert_eq!(
            env["GREETING"],
            "acme on enterprise, $(TENANT) and $(UNSET)"
        );
        assert_eq!(env["DATABASE_URL"], "postgres://x");
        assert_eq!(env["POD"], "app-1");
        assert_eq!(env["IP"], "127.10.0.7");
        assert_eq!(env["APP"], "isp");
        assert_eq!(env["KEY"], "acme");
        assert!(!env.contains_key("GONE"));
    }

    #[test]
    fn a_missing_source_or_key_is_a_config_error() {
        let missing = json!({"envFrom": [{"configMapRef": {"name": "nope"}}]});
        assert_eq!(
            resolve(&missing, &pod(), &sources())
                .unwrap_err()
                .to_string(),
            "configmap \"nope\" not found"
        );
        let key = json!({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope"}}}]});
        assert_eq!(
            resolve(&key, &pod(), &sources()).unwrap_err().to_string(),
            "couldn't find key nope in Secret t-acme/creds"
        );
    }

    #[test]
    fn args_expand_against_the_environment() {
        let container = json!({"args": ["serve", "--tenant=$(TENANT)"]});
        let env = vec![("TENANT".to_owned(), "acme".to_owned())];
        assert_eq!(
            command_line(&container, std::path::Path::new("/bin/isp"), &env),
            ["/bin/isp", "serve", "--tenant=acme"]
        );
        let own = json!({"command": ["python3", "-m", "http.server"], "args": ["8080"]});
        assert_eq!(
            command_line(&own, std::path::Path::new("/bin/isp"), &env),
            ["python3", "-m", "http.server", "8080"]
        );
    }
}
