//! Request bodies in Kubernetes' protobuf encoding, for the kinds typed clients send that way:
//! `kubectl create secret|configmap|namespace|serviceaccount|token|role|clusterrole|
//! rolebinding|clusterrolebinding` and Helm's release Secrets. The envelope (`k8s\0` + `runtime.Unknown`) names the kind; the message becomes the
//! JSON object the rest of devcluster handles. Other kinds are refused with 415 by the caller.
//! Replies stay JSON, which these clients accept.

use serde_json::{Map, Value, json};

/// Why a protobuf body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// Not `k8s\0` followed by a well-formed message.
    #[error("malformed protobuf body: {0}")]
    Malformed(&'static str),
    /// A kind devcluster does not decode from protobuf.
    #[error(
        "devcluster reads protobuf bodies of Secret, ConfigMap, Namespace, ServiceAccount, TokenRequest and DeleteOptions only, not {0}; send JSON"
    )]
    Kind(String),
}

const MAGIC: &[u8] = b"k8s\0";

/// One field of a message: its number and value.
#[derive(Debug, Clone, PartialEq)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, ProtoError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes
            .get(*at)
            .ok_or(ProtoError::Malformed("truncated varint"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtoError::Malformed("varint too long"))
}

/// The fields of a message, in order.
fn fields(bytes: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ProtoError> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let field = match key & 7 {
            0 => Field::Varint(varint(bytes, &mut at)?),
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?)
                    .map_err(|_| ProtoError::Malformed("length"))?;
                let end = at
                    .checked_add(len)
                    .filter(|end| *end <= bytes.len())
                    .ok_or(ProtoError::Malformed("truncated field"))?;
                let value = &bytes[at..end];
                at = end;
                Field::Bytes(value)
            }
            1 => {
                at += 8;
                continue;
            }
            5 => {
                at += 4;
                continue;
            }
            _ => return Err(ProtoError::Malformed("unknown wire type")),
        };
        out.push((key >> 3, field));
    }
    Ok(out)
}

fn text(field: &Field<'_>) -> Result<String, ProtoError> {
    match field {
        Field::Bytes(b) => {
            String::from_utf8(b.to_vec()).map_err(|_| ProtoError::Malformed("not UTF-8"))
        }
        Field::Varint(_) => Err(ProtoError::Malformed("a string field is a number")),
    }
}

fn message<'a>(field: &Field<'a>) -> Result<&'a [u8], ProtoError> {
    match field {
        Field::Bytes(b) => Ok(b),
        Field::Varint(_) => Err(ProtoError::Malformed("a message field is a number")),
    }
}

fn number(field: &Field<'_>) -> Result<u64, ProtoError> {
    match field {
        Field::Varint(v) => Ok(*v),
        Field::Bytes(_) => Err(ProtoError::Malformed("a number field is bytes")),
    }
}

/// A `map<string, string>` (or bytes, base64-encoded as JSON has them) entry into `map`.
fn map_entry(map: &mut Map<String, Value>, entry: &[u8], binary: bool) -> Result<(), ProtoError> {
    let (mut key, mut value) = (String::new(), Value::String(String::new()));
    for (n, f) in fields(entry)? {
        match n {
            1 => key = text(&f)?,
            2 if binary => {
                value = json!(k8s_openapi::ByteString(message(&f)?.to_vec()));
            }
            2 => value = Value::String(text(&f)?),
            _ => {}
        }
    }
    map.insert(key, value);
    Ok(())
}

fn add_entry(object: &mut Value, name: &str, entry: &[u8], binary: bool) -> Result<(), ProtoError> {
    if !object[name].is_object() {
        object[name] = json!({});
    }
    let Some(map) = object[name].as_object_mut() else {
        return Err(ProtoError::Malformed("map"));
    };
    map_entry(map, entry, binary)
}

fn push(object: &mut Value, name: &str, value: Value) {
    if !object[name].is_array() {
        object[name] = json!([]);
    }
    if let Some(list) = object[name].as_array_mut() {
        list.push(value);
    }
}

/// `ObjectMeta`: what a client sets on a new object.
fn object_meta(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut meta = json!({});
    for (n, f) in fields(bytes)? {
        match n {
            1 => meta["name"] = text(&f)?.into(),
            2 => meta["generateName"] = text(&f)?.into(),
            3 => meta["namespace"] = text(&f)?.into(),
            5 => meta["uid"] = text(&f)?.into(),
            6 => meta["resourceVersion"] = text(&f)?.into(),
            11 => add_entry(&mut meta, "labels", message(&f)?, false)?,
            12 => add_entry(&mut meta, "annotations", message(&f)?, false)?,
            13 => push(&mut meta, "ownerReferences", owner_reference(message(&f)?)?),
            14 => push(&mut meta, "finalizers", text(&f)?.into()),
            _ => {}
        }
    }
    // Empty strings are protobuf's absent values.
    if let Some(map) = meta.as_object_mut() {
        map.retain(|_, v| v.as_str().is_none_or(|s| !s.is_empty()));
    }
    Ok(meta)
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut owner = json!({});
    for (n, f) in fields(bytes)? {
        match n {
            1 => owner["kind"] = text(&f)?.into(),
            3 => owner["name"] = text(&f)?.into(),
            4 => owner["uid"] = text(&f)?.into(),
            5 => owner["apiVersion"] = text(&f)?.into(),
            6 => owner["controller"] = (number(&f)? != 0).into(),
            7 => owner["blockOwnerDeletion"] = (number(&f)? != 0).into(),
            _ => {}
        }
    }
    Ok(owner)
}

/// An RBAC `PolicyRule`.
fn policy_rule(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut rule = json!({});
    for (n, f) in fields(bytes)? {
        let name = match n {
            1 => "verbs",
            2 => "apiGroups",
            3 => "resources",
            4 => "resourceNames",
            5 => "nonResourceURLs",
            _ => continue,
        };
        push(&mut rule, name, text(&f)?.into());
    }
    Ok(rule)
}

/// A binding's `Subject` or `RoleRef`, whose fields are all strings.
fn strings_message(bytes: &[u8], names: &[(u64, &str)]) -> Result<Value, ProtoError> {
    let mut out = json!({});
    for (n, f) in fields(bytes)? {
        if let Some((_, name)) = names.iter().find(|(m, _)| *m == n) {
            out[*name] = text(&f)?.into();
        }
    }
    Ok(out)
}

/// The kinds decoded.
const KINDS: [&str; 10] = [
    "Secret",
    "ConfigMap",
    "Namespace",
    "ServiceAccount",
    "TokenRequest",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "DeleteOptions",
];

/// The JSON object a protobuf request body stands for.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let unknown = body
        .strip_prefix(MAGIC)
        .ok_or(ProtoError::Malformed("no k8s envelope"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(unknown)? {
        match n {
            1 => {
                for (m, g) in fields(message(&f)?)? {
                    match m {
                        1 => api_version = text(&g)?,
                        2 => kind = text(&g)?,
                        _ => {}
                    }
                }
            }
            2 => raw = message(&f)?,
            _ => {}
        }
    }
    let mut object = json!({"apiVersion": api_version, "kind": kind});
    for (n, f) in fields(raw)? {
        match (kind.as_str(), n) {
            (k, 1) if k != "DeleteOptions" && KINDS.contains(&k) => {
                object["metadata"] = object_meta(message(&f)?)?;
            }
            ("Role" | "ClusterRole", 2) => {
                push(&mut object, "rules", policy_rule(message(&f)?)?);
            }
            ("RoleBinding" | "ClusterRoleBinding", 2) => {
                let names = [(1, "kind"), (2, "apiGroup"), (3, "name"), (4, "namespace")];
                push(
                    &mut object,
                    "subjects",
                    strings_message(message(&f)?, &names)?,
                );
            }
            ("RoleBinding" | "ClusterRoleBinding", 3) => {
                let names = [(1, "apiGroup"), (2, "kind"), (3, "name")];
                object["roleRef"] = strings_message(message(&f)?, &names)?;
            }
            ("Secret", 2) => add_entry(&mut object, "data", message(&f)?, true)?,
            ("Secret", 3) => object["type"] = text(&f)?.into(),
            ("Secret", 4) => add_entry(&mut object, "stringData", message(&f)?, false)?,
            ("Secret", 5) | ("ConfigMap", 4) => object["immutable"] = (number(&f)? != 0).into(),
            ("ConfigMap", 2) => add_entry(&mut object, "data", message(&f)?, false)?,
            ("ConfigMap", 3) => add_entry(&mut object, "binaryData", message(&f)?, true)?,
            ("Namespace", 2) => {
                object["spec"] = json!({});
                for (m, g) in fields(message(&f)?)? {
                    if m == 1 {
                        push(&mut object["spec"], "finalizers", text(&g)?.into());
                    }
                }
            }
            ("ServiceAccount", 4) => {
                object["automountServiceAccountToken"] = (number(&f)? != 0).into();
            }
            ("TokenRequest", 2) => {
                object["spec"] = json!({});
                for (m, g) in fields(message(&f)?)? {
                    match m {
                        1 => push(&mut object["spec"], "audiences", text(&g)?.into()),
                        4 => object["spec"]["expirationSeconds"] = number(&g)?.into(),
                        _ => {}
                    }
                }
            }
            ("DeleteOptions", 1) => object["gracePeriodSeconds"] = number(&f)?.into(),
            ("DeleteOptions", 2) => {
                let mut preconditions = json!({});
                for (m, g) in fields(message(&f)?)? {
                    match m {
                        1 => preconditions["uid"] = text(&g)?.into(),
                        2 => preconditions["resourceVersion"] = text(&g)?.into(),
                        _ => {}
                    }
                }
                object["preconditions"] = preconditions;
            }
            ("DeleteOptions", 3) => object["orphanDependents"] = (number(&f)? != 0).into(),
            ("DeleteOptions", 4) => object["propagationPolicy"] = text(&f)?.into(),
            ("DeleteOptions", 5) => push(&mut object, "dryRun", text(&f)?.into()),
            (
                "Secret" | "ConfigMap" | "Namespace" | "ServiceAccount" | "TokenRequest"
                | "DeleteOptions",
                _,
            ) => {}
            _ => return Err(ProtoError::Kind(kind)),
        }
    }
    if raw.is_empty()
        && !matches!(
            kind.as_str(),
            "Secret"
                | "ConfigMap"
                | "Namespace"
                | "ServiceAccount"
                | "TokenRequest"
                | "DeleteOptions"
        )
    {
        return Err(ProtoError::Kind(kind));
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    fn tag(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3 | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [tag(1, api_version.as_bytes()), tag(2, kind.as_bytes())].concat();
        [MAGIC.to_vec(), tag(1, &type_meta), tag(2, raw)].concat()
    }

    #[test]
    fn a_secret_as_kubectl_create_sends_it() {
        let meta = [
            tag(1, b"creds"),
            tag(3, b"ops"),
            tag(11, &[tag(1, b"app"), tag(2, b"web")].concat()),
        ]
        .concat();
        let raw = [
            tag(1, &meta),
            tag(2, &[tag(1, b"token"), tag(2, b"s3cr\xffet")].concat()),
            tag(3, b"Opaque"),
        ]
        .concat();
        let object = decode(&envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "creds", "namespace": "ops", "labels": {"app": "web"}},
                   "data": {"token": "czNjcv9ldA=="}, "type": "Opaque"})
        );
    }

    #[test]
    fn delete_options_and_refusals() {
        let raw = [vec![1 << 3, 30], tag(4, b"Foreground")].concat();
        assert_eq!(
            decode(&envelope("meta.k8s.io/v1", "DeleteOptions", &raw)).unwrap(),
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions",
                   "gracePeriodSeconds": 30, "propagationPolicy": "Foreground"})
        );
        assert_eq!(
            decode(&envelope("apps/v1", "Deployment", &tag(1, b""))),
            Err(ProtoError::Kind("Deployment".into()))
        );
        assert!(decode(b"{\"json\": true}").is_err());
        assert!(
            decode(&[MAGIC, &[0x0a, 0x7f]].concat()).is_err(),
            "truncated"
        );
    }
}
