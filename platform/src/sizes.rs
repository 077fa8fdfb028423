//! Resource sizes of a tenant's instance.

use crate::crd::tenant::Size;

/// CPU and memory requests and limits, storage and the replica ceiling of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeProfile {
    /// CPU request per replica (Kubernetes quantity).
    pub cpu_request: &'static str,
    /// CPU limit per replica.
    pub cpu_limit: &'static str,
    /// Memory request per replica.
    pub memory_request: &'static str,
    /// Memory limit per replica.
    pub memory_limit: &'static str,
    /// Storage the tenant's namespace may claim.
    pub storage: &'static str,
    /// Most replicas the instance may run.
    pub max_replicas: i32,
    /// Most database connections each replica holds: tenants share PostgreSQL, so a small one
    /// takes few.
    pub database_connections: u32,
}

/// The profile of `size`.
pub fn profile(size: Size) -> SizeProfile {
    let p = |cpu_request,
             cpu_limit,
             memory_request,
             memory_limit,
             storage,
             max_replicas,
             database_connections| SizeProfile {
        cpu_request,
        cpu_limit,
        memory_request,
        memory_limit,
        storage,
        max_replicas,
        database_connections,
    };
    match size {
        Size::Micro => p("100m", "500m", "256Mi", "1Gi", "5Gi", 2, 2),
        Size::Small => p("250m", "1", "512Mi", "2Gi", "10Gi", 3, 4),
        Size::Medium => p("500m", "2", "1Gi", "4Gi", "20Gi", 5, 6),
        Size::Large => p("1", "4", "2Gi", "8Gi", "50Gi", 8, 10),
        Size::Xlarge => p("2", "8", "4Gi", "16Gi", "100Gi", 12, 16),
    }
}
