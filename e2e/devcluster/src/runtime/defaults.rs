//! The defaults the API server writes into a Pod at creation (what `kubectl describe pod`
//! then shows): restart policy, grace period, DNS policy, scheduler, and each probe's period,
//! timeout and thresholds.

use serde_json::{Value, json};

/// Fills the defaults of a pod spec in place.
pub fn pod_spec(spec: &mut Value) {
    for (field, value) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
    ] {
        if spec.get(field).is_none() {
            spec[field] = value;
        }
    }
    let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) else {
        return;
    };
    for container in containers {
        for (field, value) in [
            ("terminationMessagePath", json!("/dev/termination-log")),
            ("terminationMessagePolicy", json!("File")),
        ] {
            if container.get(field).is_none() {
                container[field] = value;
            }
        }
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            if let Some(p) = container.get_mut(probe).filter(|p| p.is_object()) {
                for (field, value) in [
                    ("periodSeconds", 10),
                    ("timeoutSeconds", 1),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                ] {
                    if p.get(field).is_none() {
                        p[field] = json!(value);
                    }
                }
                if let Some(http) = p.get_mut("httpGet").filter(|h| h.get("scheme").is_none()) {
                    http["scheme"] = json!("HTTP");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_get_the_api_servers_defaults() {
        let mut spec = json!({"containers": [{"name": "a",
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 80}, "periodSeconds": 5}}]});
        pod_spec(&mut spec);
        let probe = &spec["containers"][0]["readinessProbe"];
        assert_eq!(probe["periodSeconds"], 5, "set values stay");
        assert_eq!(probe["timeoutSeconds"], 1);
        assert_eq!(probe["failureThreshold"], 3);
        assert_eq!(probe["httpGet"]["scheme"], "HTTP");
        assert_eq!(spec["restartPolicy"], "Always");
    }
}
