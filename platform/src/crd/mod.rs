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
    vec![Tenant::crd(), PluginLicense::crd(), Reseller::crd()]
}
