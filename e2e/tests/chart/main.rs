//! The Helm chart `charts/dotmac` and the Terraform module `terraform/dotmac`, checked with the
//! tools an SRE's pipeline runs: helm, kubernetes-validate, promtool, checkov, terraform and
//! python-hcl2 (all installed by `scripts/tools`); and installed with helm into devcluster,
//! whose node runs the chart's pods from the built binaries.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

mod cluster;
mod install;
mod rbac;
mod static_checks;
mod terraform;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use dotmac_e2e::live::repo;

/// A tool `scripts/tools` installs into `.tools/bin`, or one on PATH (promtool).
pub fn tool(name: &str) -> Command {
    let local = repo().join(".tools/bin").join(name);
    let program = if local.exists() {
        local
    } else {
        PathBuf::from(name)
    };
    let mut command = Command::new(program);
    command.current_dir(repo());
    command
}

/// Runs `command`; its output whatever the exit status.
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} did not start ({e}): run scripts/tools"))
}

/// Runs `command` and returns its standard output; fails the test when it fails.
pub fn run(command: &mut Command) -> String {
    let out = output(command);
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The chart's folder.
pub fn chart() -> PathBuf {
    repo().join("charts/dotmac")
}

/// `helm template dotmac charts/dotmac -n dotmac-system` with `--set` values.
pub fn template(sets: &[&str]) -> String {
    let mut helm = tool("helm");
    helm.args(["template", "dotmac"])
        .arg(chart())
        .args(["--namespace", "dotmac-system"]);
    for set in sets {
        helm.args(["--set", set]);
    }
    run(&mut helm)
}

/// Every document of a YAML stream, as JSON.
pub fn documents(yaml: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|d: &serde_json::Value| !d.is_null())
        .collect()
}

/// Writes `contents` to `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}
