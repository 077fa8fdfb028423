//! Names derived from a tenant's name (DESIGN §4); recorded in status, never recomputed
//! differently later.

/// Labels on every object the operator creates for a tenant.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "dotmac-operator");
/// Part-of label.
pub const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "dotmac");
/// Label carrying the tenant's name.
pub const TENANT_LABEL: &str = "platform.dotmac.io/tenant";
/// Finalizer that runs the tenant's cleanup.
pub const FINALIZER: &str = "platform.dotmac.io/cleanup";
/// Field manager of every operator write.
pub const MANAGER: &str = "dotmac-operator";
/// Name of the instance's Deployment, Service, ServiceAccount and ConfigMap.
pub const APP: &str = "isp-runtime";
/// Secret the data plane fills with the tenant's credentials.
pub const CREDENTIALS_SECRET: &str = "dotmac-tenant-credentials";
/// Name of the Service NAS send RADIUS to, and of FreeRADIUS's container.
pub const RADIUS: &str = "radius";
/// Port isp-runtime serves on, as Kubernetes objects write it.
pub const ISP_PORT: i32 = dotmac_contract::instance::PORT as i32;

/// The tenant's namespace.
pub fn namespace(tenant: &str) -> String {
    format!("dotmac-tenant-{tenant}")
}

/// The tenant's PostgreSQL database and role.
pub fn database(tenant: &str) -> String {
    format!("tenant_{}", tenant.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        assert_eq!(namespace("acme"), "dotmac-tenant-acme");
        assert_eq!(database("acme-isp"), "tenant_acme_isp");
        assert!(
            namespace(&"a".repeat(40)).len() <= 63,
            "a 40-character tenant fits a namespace"
        );
    }
}
