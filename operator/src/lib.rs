//! DotMac platform operator: the custom resources of `platform.dotmac.io` and, in later
//! modules, their controllers and the management API.

pub mod crd;
