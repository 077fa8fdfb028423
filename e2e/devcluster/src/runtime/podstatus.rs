//! A pod's status from its tasks' report: phase, conditions, addresses and container statuses,
//! keeping transition times that did not change, so a pod that stays as it is writes nothing.

use serde_json::{Value, json};

use super::kubelet::{Container, Report, State, Terminated};

/// The status of `pod` given `report`, its address and when it started.
pub fn status(pod: &Value, report: &Report, ip: &str, start_time: &str) -> Value {
    let previous = pod.pointer("/status/conditions").and_then(Value::as_array);
    let specs = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut statuses = Vec::new();
    for spec in specs {
        let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
        let image = spec
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(c) = report.containers.get(name) {
            statuses.push(container_status(name, image, c));
        }
    }
    let all = |f: fn(&Container) -> bool| {
        !report.containers.is_empty() && report.containers.values().all(f)
    };
    let ready = all(|c| c.ready);
    let initialized = true;
    let phase = phase(pod, report);
    let condition = |type_: &str, ok: bool| {
        let status = if ok { "True" } else { "False" };
        let since = previous
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.get("type").and_then(Value::as_str) == Some(type_)
                        && c.get("status").and_then(Value::as_str) == Some(status)
                })
            })
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(crate::store::now()));
        json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": since})
    };
    json!({
        "phase": phase,
        "conditions": [
            condition("PodScheduled", true),
            condition("Initialized", initialized),
            condition("ContainersReady", ready),
            condition("Ready", ready),
        ],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": start_time,
        "qosClass": qos_class(specs),
        "containerStatuses": statuses,
    })
}

/// `Pending` until every container has run, `Succeeded` or `Failed` once all have ended for
/// good, `Running` otherwise.
fn phase(pod: &Value, report: &Report) -> &'static str {
    let never = pod.pointer("/spec/restartPolicy").and_then(Value::as_str) != Some("Always")
        && pod.pointer("/spec/restartPolicy").is_some();
    let cs: Vec<&Container> = report.containers.values().collect();
    if cs.is_empty() {
        return "Pending";
    }
    let ran = |c: &&Container| {
        c.restarts > 0 || matches!(c.state, State::Running { .. } | State::Terminated(_))
    };
    if !cs.iter().all(ran) {
        return "Pending";
    }
    let ended: Vec<&Terminated> = cs
        .iter()
        .filter_map(|c| match &c.state {
            State::Terminated(t) => Some(t),
            _ => None,
        })
        .collect();
    if never && ended.len() == cs.len() {
        if ended.iter().all(|t| t.exit_code == 0) {
            "Succeeded"
        } else {
            "Failed"
        }
    } else {
        "Running"
    }
}

fn container_status(name: &str, image: &str, c: &Container) -> Value {
    json!({
        "name": name,
        "image": image,
        "imageID": format!("devcluster://{image}"),
        "containerID": c.pid.map(|p| format!("devcluster://{p}")),
        "ready": c.ready,
        "started": c.started,
        "restartCount": c.restarts,
        "state": state(&c.state),
        "lastState": c.last.as_ref().map_or_else(|| json!({}), |t| json!({"terminated": terminated(t)})),
    })
}

fn state(s: &State) -> Value {
    match s {
        State::Waiting { reason, message } if message.is_empty() => {
            json!({"waiting": {"reason": reason}})
        }
        State::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        State::Terminated(t) => json!({"terminated": terminated(t)}),
    }
}

fn terminated(t: &Terminated) -> Value {
    let mut v = json!({"exitCode": t.exit_code, "reason": t.reason, "finishedAt": t.finished_at});
    if let Some(s) = t.signal {
        v["signal"] = json!(s);
    }
    if let Some(at) = &t.started_at {
        v["startedAt"] = json!(at);
    }
    if !t.message.is_empty() {
        v["message"] = json!(t.message);
    }
    v
}

/// `Guaranteed` when every container's limits equal its requests, `BestEffort` with none.
fn qos_class(specs: &[Value]) -> &'static str {
    let resources: Vec<&Value> = specs.iter().filter_map(|c| c.get("resources")).collect();
    let set = |r: &&Value, f: &str| {
        r.get(f)
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
    };
    if resources
        .iter()
        .all(|r| !set(r, "requests") && !set(r, "limits"))
    {
        "BestEffort"
    } else if resources.len() == specs.len()
        && resources.iter().all(|r| {
            set(r, "limits")
                && (r.get("requests").is_none() || r.get("requests") == r.get("limits"))
        })
    {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// What `kubectl get pods` shows in STATUS: `Terminating`, a waiting or terminated reason,
/// or the phase.
pub fn display_status(pod: &Value) -> String {
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for s in statuses {
        for state in ["waiting", "terminated"] {
            if let Some(reason) = s
                .pointer(&format!("/state/{state}/reason"))
                .and_then(Value::as_str)
                && !(state == "terminated" && reason == "Completed" && statuses.len() > 1)
            {
                return reason.to_owned();
            }
        }
    }
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending")
        .to_owned()
}

/// `1/1`: ready containers of all.
pub fn display_ready(pod: &Value) -> String {
    let total = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |s| {
            s.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count()
        });
    format!("{ready}/{total}")
}

/// Restarts of all containers.
pub fn display_restarts(pod: &Value) -> i64 {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |s| {
            s.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .sum()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_reads_a_crash_loop_and_a_deletion() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(display_status(&pod), "CrashLoopBackOff");
        assert_eq!(display_ready(&pod), "1/2");
        assert_eq!(display_restarts(&pod), 5);
        let mut deleting = pod.clone();
        deleting["metadata"] = json!({"deletionTimestamp": "2026-12-02T00:00:00Z"});
        assert_eq!(display_status(&deleting), "Terminating");
    }
}
