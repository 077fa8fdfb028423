//! What `helm lint`, `helm template`, the values schema, kubernetes-validate, promtool and
//! checkov say about the chart and the Containerfiles.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

/// Value sets that between them render every template.
const VALUE_SETS: [&[&str]; 3] = [
    &[],
    &[
        "metrics.serviceMonitor.enabled=true",
        "metrics.podMonitor.enabled=true",
        "metrics.prometheusRule.enabled=true",
        "pluginCatalog.configMap=plugins",
        "credentials.keys.apiRedisUrl=api-redis-url",
        "networkPolicy.dataPlaneCidrs={10.20.0.0/16}",
        "dataPlane.egressCidrs={10.20.0.0/16}",
        "image.operator.tag=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ],
    &["dataPlane.enabled=false", "networkPolicy.enabled=false"],
];

/// Kinds Kubernetes itself does not define (the Prometheus Operator's): kubernetes-validate
/// has no schema for them.
const CUSTOM_KINDS: [&str; 3] = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];

#[test]
fn helm_lint_passes_strictly() {
    let out = run(tool("helm").args(["lint", "--strict"]).arg(chart()));
    assert!(out.contains("0 chart(s) failed"), "{out}");
}

#[test]
fn every_rendering_is_valid_for_kubernetes_1_33_to_1_37() {
    let dir = tempfile::tempdir().unwrap();
    for (i, sets) in VALUE_SETS.iter().enumerate() {
        // Helm's own output, unparsed: Kubernetes reads it with YAML 1.1 (`defaultMode: 0400`).
        let file = write(dir.path(), &format!("set{i}.yaml"), &template(sets));
        for version in ["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"] {
            let out = output(
                tool("kubernetes-validate")
                    .args(["--strict", "--quiet", "-k", version])
                    .arg(&file),
            );
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success(),
                "values {sets:?} on Kubernetes {version}:\n{said}"
            );
            // Only the Prometheus Operator's kinds have no schema to check against.
            for line in said.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    CUSTOM_KINDS
                        .iter()
                        .any(|k| line.contains(&format!("schema for kind {k} "))),
                    "values {sets:?} on Kubernetes {version}: {line}"
                );
            }
        }
    }
}

#[test]
fn the_validator_rejects_an_unknown_field() {
    // The check above means something only if a wrong manifest fails it.
    let docs = documents(&template(&[]));
    let mut deployment = docs
        .into_iter()
        .find(|d| d["kind"] == "Deployment")
        .unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always".into();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.yaml",
        &serde_yaml::to_string(&deployment).unwrap(),
    );
    let out = output(
        tool("kubernetes-validate")
            .args(["--strict", "--quiet", "-k", "1.35.0"])
            .arg(&file),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imagePullPolicyy"),
        "{out:?}"
    );
}

#[test]
fn bad_values_fail_the_install_naming_the_value() {
    for (set, named) in [
        ("operator.replicas=0", "/operator/replicas"),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("credentials.existingSecret=", "/credentials/existingSecret"),
        ("dataPlane.openbaoAddress=", "/dataPlane/openbaoAddress"),
        (
            "dataPlane.egressCidrs={10.0.0.0}",
            "/dataPlane/egressCidrs/0",
        ),
        (
            "metrics.serviceMonitor.interval=soon",
            "/metrics/serviceMonitor/interval",
        ),
        (
            "operator.replica=2",
            "additional properties 'replica' not allowed",
        ),
    ] {
        let out = output(
            tool("helm")
                .args(["template", "dotmac"])
                .arg(chart())
                .args(["--set", set]),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{set} was accepted");
        assert!(stderr.contains(named), "{set}: {stderr}");
    }
}

#[test]
fn credentials_come_only_from_the_referenced_secret() {
    let docs = documents(&template(&["credentials.existingSecret=platform-creds"]));
    assert!(
        docs.iter().all(|d| d["kind"] != "Secret"),
        "the chart makes no Secret of its own"
    );
    let deployments: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
    assert_eq!(deployments.len(), 2);
    for deployment in deployments {
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        for env in container["env"].as_array().unwrap() {
            if let Some(from) = env["valueFrom"]["secretKeyRef"].as_object() {
                assert_eq!(from["name"], "platform-creds", "{env}");
            } else if let Some(value) = env["value"].as_str() {
                assert!(!value.contains("://") || !value.contains('@'), "{env}");
            }
        }
        for volume in pod["volumes"].as_array().unwrap() {
            if let Some(secret) = volume.get("secret") {
                assert_eq!(secret["secretName"], "platform-creds");
            }
        }
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    }
}

#[test]
fn the_operator_runs_two_replicas_with_leader_election_spread_and_a_budget() {
    let docs = documents(&template(&[]));
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let operator = find("Deployment", "dotmac-operator");
    assert_eq!(operator["spec"]["replicas"], 2);
    let pod = &operator["spec"]["template"]["spec"];
    let env: Vec<&str> = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for name in [
        "POD_NAME",
        "DOTMAC_LEASE_NAMESPACE",
        "DOTMAC_INSTANCE_API_URL",
    ] {
        assert!(env.contains(&name), "{name} missing from {env:?}");
    }
    assert_eq!(
        pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
            ["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        find("PodDisruptionBudget", "dotmac-operator")["spec"]["minAvailable"],
        1
    );
    assert_eq!(
        find("Deployment", "dotmac-api")["spec"]["template"]["spec"]["containers"][0]["args"],
        serde_json::json!(["api"])
    );
    assert_eq!(
        find("Service", "dotmac-api")["spec"]["ports"][0]["port"],
        8000
    );
}

#[test]
fn the_charts_crds_are_the_generated_ones() {
    let names = |dir: &Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    };
    let generated = repo().join("crds");
    let copied = chart().join("crds");
    assert_eq!(names(&generated), names(&copied), "run `just crds`");
    for name in names(&generated) {
        assert!(
            std::fs::read(generated.join(&name)).unwrap()
                == std::fs::read(copied.join(&name)).unwrap(),
            "charts/dotmac/crds/{name} differs from crds/{name}: run `just crds`"
        );
    }
}

#[test]
fn the_readme_values_table_is_generated_from_the_schema() {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(chart().join("values.schema.json")).unwrap())
            .unwrap();
    let values: Value =
        serde_yaml::from_slice(&std::fs::read(chart().join("values.yaml")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let table = dotmac_e2e::chart::values_table(&schema, &values);
    assert_eq!(
        dotmac_e2e::chart::with_table(&readme, &table).unwrap(),
        readme,
        "the README's values table is out of date: run `just values-table`"
    );
}

#[test]
fn every_value_has_a_schema_and_a_description() {
    fn walk(values: &Value, schema: &Value, path: &str) {
        let Some(map) = values.as_object() else {
            return;
        };
        let properties = schema["properties"].as_object();
        for (key, value) in map {
            let property = properties
                .and_then(|p| p.get(key))
                .unwrap_or_else(|| panic!("{path}.{key} is not in values.schema.json"));
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{path}.{key} has no description"
            );
            if property.get("properties").is_some() {
                walk(value, property, &format!("{path}.{key}"));
            }
        }
    }
    let schema: Value =
        serde_json::from_slice(&std::fs::read(chart().join("values.schema.json")).unwrap())
            .unwrap();
    let values: Value =
        serde_yaml::from_slice(&std::fs::read(chart().join("values.yaml")).unwrap()).unwrap();
    walk(&values, &schema, "");
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let docs = documents(&template(&["metrics.prometheusRule.enabled=true"]));
    let rule = docs.iter().find(|d| d["kind"] == "PrometheusRule").unwrap();
    let alerts: BTreeSet<&str> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    assert_eq!(
        alerts,
        BTreeSet::from([
            "DotmacBillingRunLate",
            "DotmacOperatorDown",
            "DotmacReconcileErrorsRising",
            "DotmacTenantDegraded"
        ])
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "alerts.yaml",
        &serde_yaml::to_string(&rule["spec"]).unwrap(),
    );
    std::fs::copy(
        chart().join("ci/alerts.test.yaml"),
        dir.path().join("alerts.test.yaml"),
    )
    .unwrap();
    let check =
        run(tool("promtool")
            .current_dir(dir.path())
            .args(["check", "rules", "alerts.yaml"]));
    assert!(check.contains("SUCCESS: 4 rules found"), "{check}");
    run(tool("promtool")
        .current_dir(dir.path())
        .args(["test", "rules", "alerts.test.yaml"]));
}

/// checkov's verdict on `target` (a file or folder) under `framework`: every failed check, and
/// every skipped one without its reason.
pub fn checkov(target: &Path, framework: &str) -> (u64, Vec<String>) {
    let flag = if target.is_dir() { "-d" } else { "-f" };
    let out = output(
        tool("checkov")
            .args([
                "--skip-download",
                "--quiet",
                "-o",
                "json",
                "--framework",
                framework,
                flag,
            ])
            .arg(target),
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no report ({e}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let results = &report["results"];
    let mut faults: Vec<String> = results["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("failed {} on {}", c["check_id"], c["resource"]))
        .collect();
    for skipped in results["skipped_checks"].as_array().into_iter().flatten() {
        let reason = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        if reason.trim().len() < 10 {
            faults.push(format!("skipped {} without a reason", skipped["check_id"]));
        }
    }
    let passed = report["summary"]["passed"].as_u64().unwrap_or_default();
    (passed, faults)
}

#[test]
fn checkov_passes_the_rendered_chart_with_reasoned_skips() {
    // Rendered into its release namespace: what an install applies, every optional template on.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "chart.yaml", &template(VALUE_SETS[1]));
    let (passed, faults) = checkov(&file, "kubernetes");
    assert!(passed > 100, "checkov checked little: {passed} passed");
    assert!(faults.is_empty(), "{faults:#?}");
}

#[test]
fn checkov_passes_the_containerfiles() {
    // checkov knows Dockerfiles by name only: each Containerfile is checked under that name.
    let dir = tempfile::tempdir().unwrap();
    for image in ["operator", "isp-runtime"] {
        std::fs::create_dir(dir.path().join(image)).unwrap();
        std::fs::copy(
            repo().join("images").join(image).join("Containerfile"),
            dir.path().join(image).join("Dockerfile"),
        )
        .unwrap();
    }
    let (passed, faults) = checkov(dir.path(), "dockerfile");
    assert!(passed >= 20, "checkov checked little: {passed} passed");
    assert!(faults.is_empty(), "{faults:#?}");
}
