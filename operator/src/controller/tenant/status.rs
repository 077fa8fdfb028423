//! The Tenant's status, computed from what the reconcile observed. Pure: the same observation
//! gives the same status, so a steady state writes nothing.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};

use dotmac_platform::crd::{Tenant, TenantStatus, tenant::TenantPhase};

/// What the reconcile saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The reseller named by `resellerRef` does not exist.
    pub missing_reseller: Option<String>,
    /// The namespace exists and is Active.
    pub namespace_active: bool,
    /// Ready replicas of the instance.
    pub ready_replicas: i32,
    /// Replicas that must be ready.
    pub wanted_replicas: i32,
    /// The Deployment's controller has seen its latest spec.
    pub rollout_observed: bool,
    /// The Deployment has never been changed since it was created (generation 1).
    pub first_version: bool,
    /// A step failed: (reason, message).
    pub failure: Option<(String, String)>,
    /// The data plane's parts, when it is on.
    pub data_plane: Option<DataPlaneState>,
    /// Features the tenant's licenses grant.
    pub licensed: Vec<String>,
}

/// Each data-plane part: ready, or (reason, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPlaneState {
    /// PostgreSQL role and database.
    pub database: Result<(), (String, String)>,
    /// Redis user.
    pub cache: Result<(), (String, String)>,
    /// OpenBao namespace and credentials.
    pub secrets: Result<(), (String, String)>,
}

fn condition(
    tenant: &Tenant,
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    now: &Timestamp,
) -> Condition {
    let previous = tenant
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    dotmac_platform::conditions::condition(
        previous,
        tenant.metadata.generation,
        type_,
        ok,
        reason,
        message,
        now,
    )
}

/// How far the instance's Deployment is: replicas ready, and whether a new version is still
/// rolling out (its replicas can all be ready on the previous version meanwhile).
fn workload_message(observed: &Observed) -> String {
    let replicas = format!(
        "{} of {} replicas ready",
        observed.ready_replicas, observed.wanted_replicas
    );
    match (observed.rollout_observed, observed.first_version) {
        (true, _) => replicas,
        (false, true) => format!("the instance is starting ({replicas})"),
        (false, false) => format!("a new version is rolling out ({replicas})"),
    }
}

/// The status for `observed`; condition transition times are kept while a condition holds.
pub fn compute(
    tenant: &Tenant,
    observed: &Observed,
    endpoint: String,
    entitlements: Vec<String>,
    now: Timestamp,
) -> TenantStatus {
    let previous_phase = tenant.status.as_ref().and_then(|s| s.phase);
    let suspended = tenant.spec.suspended;
    let workload_ready =
        observed.rollout_observed && observed.ready_replicas >= observed.wanted_replicas;
    let data_plane_failure = observed.data_plane.as_ref().and_then(|d| {
        [&d.secrets, &d.database, &d.cache]
            .into_iter()
            .find_map(|p| p.as_ref().err().cloned())
    });
    let (phase, ready_reason, ready_message) = if let Some(reseller) = &observed.missing_reseller {
        (
            TenantPhase::Pending,
            "ResellerNotFound",
            format!("reseller {reseller:?} named in spec.resellerRef does not exist"),
        )
    } else if let Some((reason, message)) =
        observed.failure.as_ref().or(data_plane_failure.as_ref())
    {
        let phase = match previous_phase {
            Some(TenantPhase::Ready | TenantPhase::Degraded) => TenantPhase::Degraded,
            _ => TenantPhase::Provisioning,
        };
        (phase, reason.as_str(), message.clone())
    } else if suspended && observed.namespace_active && workload_ready {
        (
            TenantPhase::Suspended,
            "Suspended",
            "the instance is scaled to zero on request; data and configuration are kept".to_owned(),
        )
    } else if observed.namespace_active && workload_ready {
        (
            TenantPhase::Ready,
            "AllPartsReady",
            format!(
                "{} of {} replicas ready",
                observed.ready_replicas, observed.wanted_replicas
            ),
        )
    } else {
        let phase = match previous_phase {
            Some(TenantPhase::Ready | TenantPhase::Degraded)
                if tenant.status.as_ref().and_then(|s| s.observed_generation)
                    == tenant.metadata.generation =>
            {
                TenantPhase::Degraded
            }
            _ => TenantPhase::Provisioning,
        };
        (phase, "WorkloadNotReady", workload_message(observed))
    };
    let ready = phase == TenantPhase::Ready;
    let mut conditions = vec![
        condition(
            tenant,
            "Ready",
            ready,
            if ready { "AllPartsReady" } else { ready_reason },
            ready_message.clone(),
            &now,
        ),
        condition(
            tenant,
            "Progressing",
            phase == TenantPhase::Provisioning,
            if phase == TenantPhase::Provisioning {
                "Reconciling"
            } else {
                "Settled"
            },
            if phase == TenantPhase::Provisioning {
                ready_message.clone()
            } else {
                "no change in progress".to_owned()
            },
            &now,
        ),
        condition(
            tenant,
            "Degraded",
            phase == TenantPhase::Degraded,
            if phase == TenantPhase::Degraded {
                ready_reason
            } else {
                "Healthy"
            },
            if phase == TenantPhase::Degraded {
                ready_message.clone()
            } else {
                "nothing is failing".to_owned()
            },
            &now,
        ),
        condition(
            tenant,
            "NamespaceReady",
            observed.namespace_active,
            if observed.namespace_active {
                "Active"
            } else {
                "NotCreated"
            },
            if observed.namespace_active {
                "the namespace is active".to_owned()
            } else {
                "the namespace does not exist yet".to_owned()
            },
            &now,
        ),
        condition(
            tenant,
            "WorkloadReady",
            workload_ready,
            if workload_ready {
                "ReplicasReady"
            } else {
                "ReplicasNotReady"
            },
            workload_message(observed),
            &now,
        ),
    ];
    if let Some(parts) = &observed.data_plane {
        for (type_, part, ok_reason, ok_message) in [
            (
                "DatabaseReady",
                &parts.database,
                "Provisioned",
                "the PostgreSQL role and database are in place",
            ),
            (
                "CacheReady",
                &parts.cache,
                "Provisioned",
                "the Redis user is in place",
            ),
            (
                "SecretsReady",
                &parts.secrets,
                "Provisioned",
                "the OpenBao namespace and credentials are in place",
            ),
        ] {
            let (ok, reason, message) = match part {
                Ok(()) => (true, ok_reason.to_owned(), ok_message.to_owned()),
                Err((reason, message)) => (false, reason.clone(), message.clone()),
            };
            conditions.push(condition(tenant, type_, ok, &reason, message, &now));
        }
    }
    TenantStatus {
        phase: Some(phase),
        conditions,
        observed_generation: tenant.metadata.generation,
        namespace: Some(super::names::namespace(
            tenant.metadata.name.as_deref().unwrap_or_default(),
        )),
        endpoint: Some(endpoint),
        ready_replicas: Some(observed.ready_replicas),
        entitlements,
        health: tenant.status.as_ref().and_then(|s| s.health.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        serde_json::from_value(
            serde_json::json!({"apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "acme", "generation": 3},
            "spec": {"displayName": "A", "contactEmail": "a@b.example"}}),
        )
        .unwrap()
    }

    fn ready() -> Observed {
        Observed {
            namespace_active: true,
            ready_replicas: 1,
            wanted_replicas: 1,
            rollout_observed: true,
            ..Observed::default()
        }
    }

    #[test]
    fn ready_when_every_part_is_and_stable_across_recomputes() {
        let t0 = Timestamp::from_second(1_000).unwrap();
        let mut t = tenant();
        let status = compute(&t, &ready(), "e".into(), vec![], t0);
        assert_eq!(status.phase, Some(TenantPhase::Ready));
        assert!(
            status
                .conditions
                .iter()
                .all(|c| c.observed_generation == Some(3))
        );
        t.status = Some(status.clone());
        let again = compute(
            &t,
            &ready(),
            "e".into(),
            vec![],
            Timestamp::from_second(2_000).unwrap(),
        );
        assert_eq!(again, status, "no change, no new transition times");
    }

    #[test]
    fn degraded_after_ready_provisioning_before_pending_without_reseller() {
        let now = Timestamp::from_second(1_000).unwrap();
        let mut t = tenant();
        let not_ready = Observed {
            ready_replicas: 0,
            ..ready()
        };
        assert_eq!(
            compute(&t, &not_ready, "e".into(), vec![], now).phase,
            Some(TenantPhase::Provisioning)
        );
        t.status = Some(compute(&t, &ready(), "e".into(), vec![], now));
        let degraded = compute(&t, &not_ready, "e".into(), vec![], now);
        assert_eq!(degraded.phase, Some(TenantPhase::Degraded));
        assert!(
            degraded
                .conditions
                .iter()
                .any(|c| c.type_ == "Degraded" && c.status == "True")
        );
        let rolling = Observed {
            rollout_observed: false,
            ..ready()
        };
        let ready_condition = |status: &TenantStatus| {
            status
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| c.message.clone())
        };
        assert_eq!(
            ready_condition(&compute(&t, &rolling, "e".into(), vec![], now)).as_deref(),
            Some("a new version is rolling out (1 of 1 replicas ready)"),
            "all replicas ready on the old version is not the whole story"
        );
        let starting = Observed {
            rollout_observed: false,
            first_version: true,
            ready_replicas: 0,
            ..ready()
        };
        assert_eq!(
            ready_condition(&compute(&tenant(), &starting, "e".into(), vec![], now)).as_deref(),
            Some("the instance is starting (0 of 1 replicas ready)"),
            "a new tenant has no earlier version"
        );
        let orphan = Observed {
            missing_reseller: Some("nope".into()),
            ..ready()
        };
        let pending = compute(&tenant(), &orphan, "e".into(), vec![], now);
        assert_eq!(pending.phase, Some(TenantPhase::Pending));
        let ready_condition = pending
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (
                ready_condition.status.as_str(),
                ready_condition.reason.as_str()
            ),
            ("False", "ResellerNotFound")
        );
    }
}
