//! `crds/` holds exactly what `dotmac-operator crdgen` renders: a type changed without
//! regenerating fails here (run `just crds`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{collections::BTreeSet, path::Path};

use dotmac_platform::crd::render;

#[test]
fn crds_folder_matches_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let expected = render::files().unwrap();
    for file in &expected {
        let on_disk = std::fs::read_to_string(dir.join(&file.name))
            .unwrap_or_else(|e| panic!("crds/{} is missing ({e}); run `just crds`", file.name));
        assert!(
            on_disk == file.yaml,
            "crds/{} differs from the Rust types; run `just crds` and commit the result",
            file.name
        );
    }
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let wanted: BTreeSet<String> = expected.into_iter().map(|f| f.name).collect();
    assert_eq!(
        present, wanted,
        "crds/ holds files crdgen no longer renders"
    );
}

#[test]
fn crds_have_short_names_categories_and_status() {
    for crd in dotmac_platform::crd::all() {
        let names = &crd.spec.names;
        assert_eq!(
            crd.spec.scope, "Cluster",
            "{} is cluster-scoped",
            names.kind
        );
        assert_eq!(
            names.categories.as_deref(),
            Some(&["dotmac".to_owned()][..])
        );
        let short = names.short_names.clone().unwrap_or_default();
        let wanted = match names.kind.as_str() {
            "Tenant" => "tn",
            "PluginLicense" => "plic",
            "Reseller" => "rsl",
            other => panic!("unexpected kind {other}"),
        };
        assert_eq!(short, vec![wanted.to_owned()]);
        let version = &crd.spec.versions[0];
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        assert!(
            version
                .additional_printer_columns
                .as_ref()
                .is_some_and(|c| !c.is_empty())
        );
    }
}
