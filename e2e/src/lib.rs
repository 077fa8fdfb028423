//! DotMac end-to-end suite support: what the tests share with the devcluster API server.
//!
//! [`crd_validation`] checks a custom resource against its CRD the way the Kubernetes API server
//! does (strict unknown-field detection, defaulting, OpenAPI schema, CEL rules) and reports
//! errors in the API server's shape, naming the field at fault.

pub mod crd_validation;
