//! The Terraform module: formatted, parseable, checkov-clean, and in step with the chart.
//! (`terraform init` needs the providers from the registry, which this sandbox cannot reach.)

use std::collections::BTreeSet;

use serde_json::Value;

use super::{static_checks::checkov, *};

fn terraform_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("terraform")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn hcl(path: &Path) -> Value {
    serde_json::from_str(&run(tool("hcl2tojson").arg(path))).unwrap()
}

#[test]
fn the_module_is_formatted() {
    run(tool("terraform").args(["fmt", "-check", "-recursive", "-diff", "terraform"]));
}

#[test]
fn every_file_parses_and_every_variable_is_described() {
    let files = terraform_files();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let parsed = hcl(file);
        for block in parsed["variable"].as_array().into_iter().flatten() {
            for (name, variable) in block.as_object().unwrap() {
                assert!(
                    variable["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "variable {name} in {} has no description",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_modules_secret_holds_the_keys_the_chart_reads() {
    let main = hcl(&repo().join("terraform/dotmac/main.tf"));
    // python-hcl2 keeps the quotes of quoted labels and keys.
    let secret = &main["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r.get("\"kubernetes_secret_v1\""))
        .unwrap()["\"credentials\""];
    let data = secret["data"].as_object().unwrap();
    let written: BTreeSet<&str> = data.keys().map(|k| k.trim_matches('"')).collect();
    let values: Value =
        serde_yaml::from_slice(&std::fs::read(chart().join("values.yaml")).unwrap()).unwrap();
    let read: BTreeSet<&str> = values["credentials"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .filter(|k| !k.is_empty())
        .collect();
    assert_eq!(written, read);
}

#[test]
fn checkov_passes_the_module() {
    let (passed, faults) = checkov(&repo().join("terraform"), "terraform");
    assert!(passed >= 1, "checkov checked nothing");
    assert!(faults.is_empty(), "{faults:#?}");
}
