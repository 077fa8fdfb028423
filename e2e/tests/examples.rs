//! Every document under `examples/` is a valid custom resource: it deserializes into the Rust
//! type and passes the generated CRD's schema and CEL rules. Every document under
//! `examples/invalid/` is rejected, and the error names the field its comment says is wrong.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use dotmac_devcluster::crd_validation::{CrdSchema, FieldErrors};
use dotmac_platform::crd::{self, PluginLicense, Reseller, Tenant};
use serde_json::{Value, json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compiled schemas of the platform's CRDs, keyed by kind.
fn schemas() -> BTreeMap<String, CrdSchema> {
    crd::all()
        .into_iter()
        .map(|crd| {
            let kind = crd.spec.names.kind.clone();
            let value = serde_json::to_value(&crd).unwrap();
            (kind, CrdSchema::new(&value, "v1alpha1").unwrap())
        })
        .collect()
}

/// YAML files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let value: Value = serde_yaml::from_str(&text).unwrap();
    (text, value)
}

fn validate(schemas: &BTreeMap<String, CrdSchema>, doc: &Value) -> Result<Value, FieldErrors> {
    let kind = doc["kind"].as_str().unwrap();
    schemas[kind].validate_strict(doc, None)
}

#[test]
fn every_example_is_valid_and_deserializes() {
    let schemas = schemas();
    let mut seen = BTreeMap::<String, usize>::new();
    for dir in ["tenants", "licenses", "resellers"] {
        for path in yaml_files(&repo_root().join("examples").join(dir)) {
            let (_, doc) = load(&path);
            let defaulted = validate(&schemas, &doc)
                .unwrap_or_else(|e| panic!("{} is rejected: {e}", path.display()));
            let kind = doc["kind"].as_str().unwrap().to_owned();
            let typed = match kind.as_str() {
                "Tenant" => serde_json::from_value::<Tenant>(defaulted).map(|_| ()),
                "PluginLicense" => serde_json::from_value::<PluginLicense>(defaulted).map(|_| ()),
                "Reseller" => serde_json::from_value::<Reseller>(defaulted).map(|_| ()),
                other => panic!("{}: unexpected kind {other}", path.display()),
            };
            typed.unwrap_or_else(|e| panic!("{} does not deserialize: {e}", path.display()));
            *seen.entry(kind).or_default() += 1;
        }
    }
    assert_eq!(
        seen.get("Tenant"),
        Some(&3),
        "minimal, full and suspended tenants"
    );
    assert_eq!(
        seen.get("PluginLicense"),
        Some(&2),
        "trial and paid licenses"
    );
    assert_eq!(seen.get("Reseller"), Some(&2), "two resellers");
}

#[test]
fn defaults_are_applied_like_the_api_server() {
    let schemas = schemas();
    let (_, doc) = load(&repo_root().join("examples/tenants/acme.yaml"));
    let defaulted = validate(&schemas, &doc).unwrap();
    assert_eq!(defaulted["spec"]["plan"], "free");
    assert_eq!(defaulted["spec"]["size"], "micro");
    assert_eq!(defaulted["spec"]["deletionPolicy"], "Retain");
    assert_eq!(defaulted["spec"]["suspended"], false);
    let tenant: Tenant = serde_json::from_value(defaulted).unwrap();
    assert_eq!(tenant.spec.replicas, None);
}

#[test]
fn every_invalid_example_is_rejected_naming_the_field() {
    let schemas = schemas();
    let files = yaml_files(&repo_root().join("examples/invalid"));
    assert!(files.len() >= 8, "at least eight invalid examples");
    for path in files {
        let (text, doc) = load(&path);
        assert!(
            text.lines().any(|l| l.starts_with("# invalid: ")),
            "{} says what is wrong with it",
            path.display()
        );
        let field = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect-field: "))
            .unwrap_or_else(|| panic!("{} names the field at fault", path.display()));
        let errors =
            validate(&schemas, &doc).expect_err(&format!("{} must be rejected", path.display()));
        let message = errors.to_string();
        assert!(
            message.contains(field),
            "{}: error {message:?} does not name {field}",
            path.display()
        );
    }
}

#[test]
fn errors_read_like_the_api_server() {
    let schemas = schemas();
    let (_, doc) = load(&repo_root().join("examples/invalid/unknown-plan.yaml"));
    assert_eq!(
        validate(&schemas, &doc).unwrap_err().to_string(),
        r#"spec.plan: Unsupported value: "gold": supported values: "free", "basic", "premium", "enterprise""#
    );
    let (_, doc) = load(&repo_root().join("examples/invalid/unknown-field.yaml"));
    assert_eq!(
        validate(&schemas, &doc).unwrap_err().to_string(),
        r#"unknown field "spec.replica""#
    );
    let (_, doc) = load(&repo_root().join("examples/invalid/missing-required.yaml"));
    assert_eq!(
        validate(&schemas, &doc).unwrap_err().to_string(),
        "spec.contactEmail: Required value"
    );
}

fn tenant(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
           "metadata": {"name": name}, "spec": spec})
}

#[test]
fn tenant_names_of_40_characters_pass_and_41_fail() {
    let schemas = schemas();
    let spec = json!({"displayName": "X", "contactEmail": "a@b.example"});
    let forty = "a".repeat(40);
    assert!(validate(&schemas, &tenant(&forty, spec.clone())).is_ok());
    let err = validate(&schemas, &tenant(&"a".repeat(41), spec)).unwrap_err();
    let err = err.to_string();
    assert!(err.contains("at most 40 characters"), "{err}");
    assert!(
        err.contains("metadata.name: Invalid value"),
        "the error's path names the field: {err}"
    );
}

#[test]
fn deletion_policy_may_go_to_retain_but_never_to_delete() {
    let schemas = &schemas()["Tenant"];
    let with = |policy: &str| {
        tenant(
            "acme",
            json!({"displayName": "A", "contactEmail": "a@b.example", "deletionPolicy": policy}),
        )
    };
    assert!(
        schemas.validate_strict(&with("Delete"), None).is_ok(),
        "Delete on create"
    );
    assert!(
        schemas
            .validate(&with("Retain"), Some(&with("Delete")))
            .is_ok()
    );
    assert!(
        schemas
            .validate(&with("Delete"), Some(&with("Delete")))
            .is_ok()
    );
    let err = schemas
        .validate(&with("Delete"), Some(&with("Retain")))
        .unwrap_err();
    assert!(err.to_string().contains("spec.deletionPolicy"), "{err}");
    assert!(err.to_string().contains("Forbidden"), "{err}");
}

#[test]
fn a_license_never_changes_tenant_or_plugin() {
    let schemas = &schemas()["PluginLicense"];
    let license = |tenant: &str, plugin: &str, tier: &str| {
        json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "PluginLicense",
               "metadata": {"name": "l1"},
               "spec": {"tenantRef": tenant, "plugin": plugin, "tier": tier}})
    };
    let old = license("acme", "usage-billing", "standard");
    assert!(
        schemas
            .validate(&license("acme", "usage-billing", "pro"), Some(&old))
            .is_ok(),
        "tier may change"
    );
    let err = schemas
        .validate(&license("other", "usage-billing", "standard"), Some(&old))
        .unwrap_err();
    assert!(err.to_string().contains("spec.tenantRef"), "{err}");
    let err = schemas
        .validate(
            &license("acme", "advanced-analytics", "standard"),
            Some(&old),
        )
        .unwrap_err();
    assert!(err.to_string().contains("spec.plugin"), "{err}");
}
