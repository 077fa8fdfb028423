//! The Deployment and ReplicaSet controllers for workloads whose images run: a Deployment owns
//! one ReplicaSet per pod template (named by the template's hash), scaled by its strategy
//! (`RollingUpdate` within `maxSurge` and `maxUnavailable`, counting only pods whose readiness
//! probe passes; or `Recreate`); a ReplicaSet keeps its number of pods. Pure: each function
//! returns the writes that bring the objects one step closer, and none when they are there.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::text;

/// One write to the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create `object` of `resource` (`replicasets`, `pods`).
    Create {
        /// Plural.
        resource: &'static str,
        /// Namespace.
        namespace: String,
        /// The object.
        object: Value,
    },
    /// Merge-patch an object, or its status.
    Patch {
        /// Plural.
        resource: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Merge patch.
        body: Value,
        /// On the status subresource.
        status: bool,
    },
    /// Delete a pod (gracefully).
    Delete {
        /// Plural.
        resource: &'static str,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
}

/// The label that ties a ReplicaSet and its pods to one pod template.
pub const HASH_LABEL: &str = "pod-template-hash";
/// The node every running pod is on.
pub const NODE: &str = "devcluster";

fn int(v: &Value, pointer: &str, default: i64) -> i64 {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// Whether `object` is controlled by the object with `uid`.
pub fn owned_by(object: &Value, uid: &str) -> bool {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(uid)
                    && r.get("controller").and_then(Value::as_bool) == Some(true)
            })
        })
}

/// Whether a pod counts: not being deleted.
fn live(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
}

/// Whether a pod's Ready condition is True.
pub fn ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn owner_ref(kind: &str, api_version: &str, owner: &Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": text(owner, "/metadata/name"),
           "uid": text(owner, "/metadata/uid"), "controller": true, "blockOwnerDeletion": true})
}

/// A short, stable hash of a pod template, in the alphabet Kubernetes uses for names.
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical(template).bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::new();
    for _ in 0..10 {
        out.push(char::from(
            ALPHABET[(hash % ALPHABET.len() as u64) as usize],
        ));
        hash /= ALPHABET.len() as u64;
    }
    out
}

/// JSON with object keys sorted, so equal templates hash equally however they were written.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// `maxSurge` and `maxUnavailable` as pod counts for `replicas` (25 % each by default;
/// surge rounds up, unavailability down, and both zero allows one unavailable).
pub fn budget(deployment: &Value, replicas: i64) -> (i64, i64) {
    if text(deployment, "/spec/strategy/type") == "Recreate" {
        return (0, replicas);
    }
    let amount = |field: &str, round_up: bool| match deployment
        .pointer(&format!("/spec/strategy/rollingUpdate/{field}"))
    {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => percent(s, replicas, round_up),
        _ => percent("25%", replicas, round_up),
    };
    let surge = amount("maxSurge", true);
    let unavailable = amount("maxUnavailable", false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

fn percent(s: &str, replicas: i64, round_up: bool) -> i64 {
    let p = s.trim_end_matches('%').parse::<i64>().unwrap_or(0);
    let scaled = replicas * p;
    if round_up {
        (scaled + 99) / 100
    } else {
        scaled / 100
    }
}

/// A ReplicaSet with its live and ready pods.
struct Set<'a> {
    object: &'a Value,
    spec: i64,
    pods: i64,
    ready: i64,
}

/// The writes that move a Deployment one step through its rollout, and its status.
pub fn deployment(deployment: &Value, replica_sets: &[&Value], pods: &[&Value]) -> Vec<Write> {
    let namespace = text(deployment, "/metadata/namespace").to_owned();
    let name = text(deployment, "/metadata/name");
    let Some(template) = deployment.pointer("/spec/template") else {
        return Vec::new();
    };
    let replicas = int(deployment, "/spec/replicas", 1);
    let hash = template_hash(template);
    let new_name = format!("{name}-{hash}");
    let sets = sets_of(deployment, replica_sets, pods);
    let (surge, unavailable) = budget(deployment, replicas);
    let recreate = text(deployment, "/spec/strategy/type") == "Recreate";
    let new = sets
        .iter()
        .find(|s| text(s.object, "/metadata/name") == new_name);
    let olds: Vec<&Set<'_>> = sets
        .iter()
        .filter(|s| text(s.object, "/metadata/name") != new_name)
        .collect();
    let mut writes = Vec::new();
    let new_target = new_set_target(&sets, new, &olds, replicas, surge, recreate);
    match new {
        None => writes.push(Write::Create {
            resource: "replicasets",
            namespace: namespace.clone(),
            object: new_replica_set(deployment, template, &hash, new_target, sets.len()),
        }),
        Some(s) if s.spec != new_target => writes.push(scale(&namespace, s.object, new_target)),
        Some(_) => {}
    }
    let targets = old_set_targets(&sets, new, &olds, replicas - unavailable, recreate);
    for (old, target) in olds.iter().zip(targets) {
        if target != old.spec {
            writes.push(scale(&namespace, old.object, target));
        }
    }
    let status = deployment_status(deployment, &sets, &new_name, replicas, unavailable);
    if !same_status(deployment.get("status"), &status) {
        writes.push(Write::Patch {
            resource: "deployments",
            namespace,
            name: name.to_owned(),
            body: json!({"status": status}),
            status: true,
        });
    }
    writes
}

/// The Deployment's ReplicaSets with their live and ready pods.
fn sets_of<'a>(deployment: &Value, replica_sets: &[&'a Value], pods: &[&Value]) -> Vec<Set<'a>> {
    let uid = text(deployment, "/metadata/uid");
    replica_sets
        .iter()
        .filter(|rs| owned_by(rs, uid))
        .map(|rs| {
            let rs_uid = text(rs, "/metadata/uid");
            let own: Vec<&&Value> = pods
                .iter()
                .filter(|p| owned_by(p, rs_uid) && live(p))
                .collect();
            Set {
                object: rs,
                spec: int(rs, "/spec/replicas", 0),
                pods: own.len() as i64,
                ready: own.iter().filter(|p| ready(p)).count() as i64,
            }
        })
        .collect()
}

/// The new ReplicaSet's replicas: up to `replicas`, within `replicas + surge` in all (after the
/// old pods are gone, with `Recreate`).
fn new_set_target(
    sets: &[Set<'_>],
    new: Option<&Set<'_>>,
    olds: &[&Set<'_>],
    replicas: i64,
    surge: i64,
    recreate: bool,
) -> i64 {
    let total_spec: i64 = sets.iter().map(|s| s.spec).sum();
    let new_spec = new.map_or(0, |s| s.spec);
    if recreate {
        if olds.iter().any(|s| s.spec > 0 || s.pods > 0) {
            0
        } else {
            replicas
        }
    } else if new_spec < replicas {
        (new_spec + (replicas + surge - total_spec).max(0)).min(replicas)
    } else {
        replicas
    }
}

/// The old ReplicaSets' replicas, as the Deployment controller scales them down: never below
/// `min_available` ready pods, counting at most a set's own replicas (pods beyond them are
/// about to go), not while the new set's pods are still coming up, unhealthy pods first.
fn old_set_targets(
    sets: &[Set<'_>],
    new: Option<&Set<'_>>,
    olds: &[&Set<'_>],
    min_available: i64,
    recreate: bool,
) -> Vec<i64> {
    let all_spec: i64 = sets.iter().map(|s| s.spec).sum();
    let new_unavailable = new.map_or(0, |s| (s.spec - s.ready).max(0));
    let mut budget_down = (all_spec - min_available - new_unavailable).max(0);
    let available: i64 = sets.iter().map(|s| s.ready.min(s.spec)).sum();
    let mut removable = (available - min_available).max(0);
    olds.iter()
        .map(|old| {
            if recreate {
                return 0;
            }
            let unhealthy = (old.spec - old.ready).max(0).min(budget_down);
            budget_down -= unhealthy;
            let healthy = (old.spec - unhealthy).min(old.ready);
            let cut = healthy.min(removable).min(budget_down);
            removable -= cut;
            budget_down -= cut;
            old.spec - unhealthy - cut
        })
        .collect()
}

fn scale(namespace: &str, rs: &Value, replicas: i64) -> Write {
    Write::Patch {
        resource: "replicasets",
        namespace: namespace.to_owned(),
        name: text(rs, "/metadata/name").to_owned(),
        body: json!({"spec": {"replicas": replicas}}),
        status: false,
    }
}

fn new_replica_set(
    deployment: &Value,
    template: &Value,
    hash: &str,
    replicas: i64,
    revision: usize,
) -> Value {
    let mut template = template.clone();
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let mut selector = deployment
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", text(deployment, "/metadata/name")),
            "namespace": text(deployment, "/metadata/namespace"),
            "labels": template["metadata"]["labels"].clone(),
            "annotations": {"deployment.kubernetes.io/revision": (revision + 1).to_string()},
            "ownerReferences": [owner_ref("Deployment", "apps/v1", deployment)],
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    })
}

fn deployment_status(
    deployment: &Value,
    sets: &[Set<'_>],
    new_name: &str,
    replicas: i64,
    unavailable: i64,
) -> Value {
    let total: i64 = sets.iter().map(|s| s.pods).sum();
    let ready: i64 = sets.iter().map(|s| s.ready).sum();
    let new = sets
        .iter()
        .find(|s| text(s.object, "/metadata/name") == new_name);
    let updated = new.map_or(0, |s| s.pods);
    let complete = new.is_some_and(|s| s.ready == replicas) && updated == total;
    let previous = deployment.pointer("/status/conditions");
    let available = ready >= replicas - unavailable;
    let conditions = json!([
        condition(
            previous,
            "Available",
            available,
            if available {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            if available {
                "Deployment has minimum availability.".to_owned()
            } else {
                "Deployment does not have minimum availability.".to_owned()
            }
        ),
        condition(
            previous,
            "Progressing",
            true,
            if complete {
                "NewReplicaSetAvailable"
            } else {
                "ReplicaSetUpdated"
            },
            if complete {
                format!("ReplicaSet \"{new_name}\" has successfully progressed.")
            } else {
                format!("ReplicaSet \"{new_name}\" is progressing.")
            }
        ),
    ]);
    let mut status = json!({
        "observedGeneration": int(deployment, "/metadata/generation", 1),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": conditions,
    });
    // Null removes a count that fell to zero (a merge patch), as the controller omits it.
    status["unavailableReplicas"] = if replicas > ready {
        json!(replicas - ready)
    } else {
        Value::Null
    };
    status
}

/// A condition that keeps its times while its status and reason stay.
fn condition(
    previous: Option<&Value>,
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let old = previous.and_then(Value::as_array).and_then(|cs| {
        cs.iter()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
    });
    let kept = |field: &str| {
        old.filter(|c| {
            c.get("status").and_then(Value::as_str) == Some(status)
                && c.get("reason").and_then(Value::as_str) == Some(reason)
        })
        .and_then(|c| c.get(field).cloned())
        .unwrap_or_else(|| json!(crate::store::now()))
    };
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastUpdateTime": kept("lastUpdateTime"), "lastTransitionTime": kept("lastTransitionTime")})
}

/// Whether `current` already holds every field of `wanted`; a null in `wanted` means absent.
fn same_status(current: Option<&Value>, wanted: &Value) -> bool {
    let Some(current) = current else {
        return false;
    };
    let Some(fields) = wanted.as_object() else {
        return false;
    };
    fields.iter().all(|(k, v)| match v {
        Value::Null => current.get(k).is_none_or(Value::is_null),
        _ => current.get(k) == Some(v),
    })
}

/// The writes that give a ReplicaSet its number of pods, and its status.
pub fn replica_set(rs: &Value, pods: &[&Value]) -> Vec<Write> {
    let namespace = text(rs, "/metadata/namespace").to_owned();
    let uid = text(rs, "/metadata/uid");
    let replicas = int(rs, "/spec/replicas", 1);
    let mut own: Vec<&&Value> = pods
        .iter()
        .filter(|p| owned_by(p, uid) && live(p))
        .collect();
    let mut writes = Vec::new();
    let have = own.len() as i64;
    if rs.pointer("/metadata/deletionTimestamp").is_none() {
        for _ in have..replicas {
            writes.push(Write::Create {
                resource: "pods",
                namespace: namespace.clone(),
                object: new_pod(rs),
            });
        }
    }
    if have > replicas {
        // Not-ready pods go first, then the newest, as the ReplicaSet controller prefers.
        own.sort_by_key(|p| {
            (
                ready(p),
                std::cmp::Reverse(text(p, "/metadata/creationTimestamp").to_owned()),
                text(p, "/metadata/name").to_owned(),
            )
        });
        for pod in own.iter().take((have - replicas) as usize) {
            writes.push(Write::Delete {
                resource: "pods",
                namespace: namespace.clone(),
                name: text(pod, "/metadata/name").to_owned(),
            });
        }
    }
    let ready_count = own.iter().filter(|p| ready(p)).count() as i64;
    let status = json!({
        "replicas": have,
        "fullyLabeledReplicas": have,
        "readyReplicas": ready_count,
        "availableReplicas": ready_count,
        "observedGeneration": int(rs, "/metadata/generation", 1),
    });
    if !same_status(rs.get("status"), &status) {
        writes.push(Write::Patch {
            resource: "replicasets",
            namespace,
            name: text(rs, "/metadata/name").to_owned(),
            body: json!({"status": status}),
            status: true,
        });
    }
    writes
}

fn new_pod(rs: &Value) -> Value {
    let template = rs.pointer("/spec/template").cloned().unwrap_or_default();
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    spec["nodeName"] = json!(NODE);
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "generateName": format!("{}-", text(rs, "/metadata/name")),
            "namespace": text(rs, "/metadata/namespace"),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or_else(|| json!({})),
            "ownerReferences": [owner_ref("ReplicaSet", "apps/v1", rs)],
        },
        "spec": spec,
        "status": {"phase": "Pending"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(replicas: i64, surge: i64, unavailable: i64, image: &str) -> Value {
        json!({"metadata": {"name": "app", "namespace": "t", "uid": "d1", "generation": 2},
               "spec": {"replicas": replicas,
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                        "selector": {"matchLabels": {"app": "x"}},
                        "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    fn rs(name: &str, uid: &str, replicas: i64) -> Value {
        json!({"metadata": {"name": name, "namespace": "t", "uid": uid,
                            "ownerReferences": [{"uid": "d1", "controller": true}]},
               "spec": {"replicas": replicas}})
    }

    fn pod(owner: &str, is_ready: bool) -> Value {
        json!({"metadata": {"name": format!("{owner}-p"), "ownerReferences": [{"uid": owner, "controller": true}]},
               "status": {"conditions": [{"type": "Ready", "status": if is_ready { "True" } else { "False" }}]}})
    }

    fn scales(writes: &[Write]) -> Vec<(String, i64)> {
        writes
            .iter()
            .filter_map(|w| match w {
                Write::Patch {
                    name,
                    body,
                    status: false,
                    ..
                } => Some((name.clone(), body.pointer("/spec/replicas")?.as_i64()?)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_rolling_update_surges_one_and_keeps_every_old_pod_until_a_new_one_is_ready() {
        let d = deploy(2, 1, 0, "img:2");
        let new_name = format!("app-{}", template_hash(&d["spec"]["template"]));
        let old = rs("app-old", "r1", 2);
        let old_pods = [pod("r1", true), pod("r1", true)];
        // First step: the new ReplicaSet is created with one pod (the surge).
        let refs: Vec<&Value> = old_pods.iter().collect();
        let writes = deployment(&d, &[&old], &refs);
        let Some(Write::Create { object, .. }) = writes.first() else {
            panic!("{writes:?}")
        };
        assert_eq!(object["spec"]["replicas"], 1);
        assert_eq!(object["metadata"]["name"], new_name.as_str());
        assert!(
            scales(&writes).is_empty(),
            "no old pod goes before a new one is ready"
        );

        // The new pod is not ready yet: nothing moves.
        let new = json!({"metadata": {"name": new_name, "namespace": "t", "uid": "r2",
                         "ownerReferences": [{"uid": "d1", "controller": true}]}, "spec": {"replicas": 1}});
        let mut all = old_pods.to_vec();
        all.push(pod("r2", false));
        let refs: Vec<&Value> = all.iter().collect();
        assert!(scales(&deployment(&d, &[&old, &new], &refs)).is_empty());

        // Ready: one old pod may go.
        all.pop();
        all.push(pod("r2", true));
        let refs: Vec<&Value> = all.iter().collect();
        assert_eq!(
            scales(&deployment(&d, &[&old, &new], &refs)),
            [("app-old".to_owned(), 1)]
        );
    }

    #[test]
    fn percentages_round_as_kubernetes_does() {
        assert_eq!(budget(&json!({}), 4), (1, 1));
        assert_eq!(budget(&json!({}), 1), (1, 0));
        let both_zero = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}}});
        assert_eq!(budget(&both_zero, 3), (0, 1));
        assert_eq!(
            budget(&json!({"spec": {"strategy": {"type": "Recreate"}}}), 3),
            (0, 3)
        );
    }

    #[test]
    fn a_replica_set_adds_and_removes_pods_not_ready_first() {
        let set = rs("app-x", "r1", 2);
        let writes = replica_set(&set, &[]);
        assert_eq!(
            writes
                .iter()
                .filter(|w| matches!(w, Write::Create { .. }))
                .count(),
            2
        );
        let mut ready_pod = pod("r1", true);
        ready_pod["metadata"]["name"] = json!("ready");
        let mut waiting = pod("r1", false);
        waiting["metadata"]["name"] = json!("waiting");
        let mut extra = pod("r1", true);
        extra["metadata"]["name"] = json!("extra");
        let writes = replica_set(&set, &[&ready_pod, &waiting, &extra]);
        let deleted: Vec<&str> = writes
            .iter()
            .filter_map(|w| match w {
                Write::Delete { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["waiting"]);
    }

    #[test]
    fn equal_templates_hash_equally_whatever_their_key_order() {
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": {"c": 2, "d": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": {"d": 3, "c": 2}, "a": 1}"#).unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        assert_ne!(template_hash(&a), template_hash(&json!({"a": 2})));
    }
}
