//! `docs/ARCHITECTURE.md` and the README name only paths that exist, and the README links
//! only inside the repository: a file moved without updating them fails here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The top-level folders and files a path in the docs may start with.
const ROOTS: &[&str] = &[
    "contract/",
    "platform/",
    "metering/",
    "management-api/",
    "operator/",
    "isp-runtime/",
    "web/",
    "sql/",
    "telemetry/",
    "testkit/",
    "e2e/",
    "crds/",
    "openapi/",
    "examples/",
    "scripts/",
    "images/",
    "charts/",
    "terraform/",
    "docs/",
    "vendor/",
    ".config/",
    ".ci/",
];

/// Every `code span` of `text` that names a repository path, without a `::item` suffix.
fn paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| ROOTS.iter().any(|root| span.starts_with(root)))
        .filter(|span| !span.contains(' ') && !span.contains('<') && !span.contains('*'))
        .map(|span| span.split("::").next().unwrap().to_owned())
        .collect()
}

/// Bare file names (`redis.rs`) are siblings of the first folder named before them: in the same
/// table row, or else in the same section.
fn siblings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            section = None;
        }
        let mut row: Option<String> = None;
        let dir = if line.starts_with('|') {
            &mut row
        } else {
            &mut section
        };
        for span in line.split('`').skip(1).step_by(2) {
            let path = span.split("::").next().unwrap();
            if ROOTS.iter().any(|root| path.starts_with(root)) {
                if dir.is_none() {
                    *dir = Some(if path.ends_with('/') {
                        path.trim_end_matches('/').to_owned()
                    } else {
                        Path::new(path).parent().unwrap().display().to_string()
                    });
                }
            } else if path.ends_with(".rs")
                && !path.contains('/')
                && let Some(dir) = dir.as_deref()
            {
                out.push(format!("{dir}/{path}"));
            }
        }
    }
    out
}

fn check(doc: &str) {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let named: Vec<String> = paths(&text).into_iter().chain(siblings(&text)).collect();
    assert!(named.len() > 10, "{doc} names paths");
    let missing: Vec<&String> = named
        .iter()
        .filter(|p| !repo().join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "{doc} names paths that do not exist: {missing:?}"
    );
}

#[test]
fn the_architecture_page_names_only_existing_paths() {
    check("docs/ARCHITECTURE.md");
}

#[test]
fn the_readme_names_only_existing_paths_and_links_inside_the_repository() {
    check("README.md");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        !readme.contains("](../"),
        "the README links outside the repository"
    );
    assert!(
        !readme.contains("`../"),
        "the README names paths outside the repository"
    );
}
