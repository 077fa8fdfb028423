//! The DotMac platform's resource model: the custom resources of `platform.dotmac.io` (and
//! their CRDs, rendered by `crdgen`), the plan feature catalog, the plugin catalog, instance
//! sizes, and the pure rules the controllers and the management API share: license
//! lifecycles, reseller revenue and commission, status conditions, and the readiness of a
//! reflector cache.

pub mod cache;
pub mod catalog;
pub mod conditions;
pub mod crd;
pub mod license;
pub mod plugins;
pub mod reseller;
pub mod sizes;
