//! The platform's public API: the custom resources of group `platform.dotmac.io`.
//!
//! Every type here becomes part of a generated CustomResourceDefinition (`dotmac-operator crdgen`),
//! so doc comments are the field descriptions users read in `kubectl explain`, and schemars
//! attributes and CEL rules are the validation the API server enforces.

pub mod common;
pub mod plugin_license;
pub mod render;
pub mod reseller;
pub mod tenant;

pub use plugin_license::{PluginLicense, PluginLicenseSpec, PluginLicenseStatus};
pub use reseller::{Reseller, ResellerSpec, ResellerStatus};
pub use tenant::{Tenant, TenantSpec, TenantStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of every DotMac custom resource.
pub const GROUP: &str = "platform.dotmac.io";

/// All CustomResourceDefinitions of the platform, in the order they should be applied.
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        with_metadata_name(Tenant::crd()),
        PluginLicense::crd(),
        Reseller::crd(),
    ]
}

/// Declares `metadata.name` in the root schema (the one part of metadata a CRD may describe),
/// so the rules on a tenant's name can report it as their `fieldPath`.
fn with_metadata_name(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    for version in &mut crd.spec.versions {
        let Some(root) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let name = JSONSchemaProps {
            type_: Some("string".into()),
            ..JSONSchemaProps::default()
        };
        let metadata = JSONSchemaProps {
            type_: Some("object".into()),
            properties: Some([("name".to_owned(), name)].into()),
            ..JSONSchemaProps::default()
        };
        root.properties
            .get_or_insert_with(Default::default)
            .insert("metadata".into(), metadata);
    }
    crd
}
