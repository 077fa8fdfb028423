//! The status of a deleted Tenant while its cleanup runs. Pure: each part's condition says
//! what is already removed (or kept by `deletionPolicy: Retain`) and what waits, and why;
//! `CleanupBlocked` names the backend a waiting deletion waits for.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};

use dotmac_platform::{
    conditions::condition,
    crd::{Tenant, TenantStatus, tenant::TenantPhase},
};

/// What the cleanup did with one data-plane part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Removed.
    Removed,
    /// Kept, as `deletionPolicy: Retain` asks.
    Retained,
}

/// Each data-plane part after a cleanup attempt: gone or kept, or (reason, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// PostgreSQL role and database.
    pub database: Result<Gone, (String, String)>,
    /// Redis user.
    pub cache: Result<Gone, (String, String)>,
    /// OpenBao namespace.
    pub secrets: Result<Gone, (String, String)>,
}

impl Parts {
    /// The first part that could not be removed (in the order the cleanup takes them), as
    /// (part, reason, message).
    pub fn blocked(&self) -> Option<(&'static str, &str, &str)> {
        [
            ("Redis user", &self.cache),
            ("OpenBao namespace", &self.secrets),
            ("PostgreSQL database", &self.database),
        ]
        .into_iter()
        .find_map(|(part, state)| {
            state
                .as_ref()
                .err()
                .map(|(reason, message)| (part, reason.as_str(), message.as_str()))
        })
    }
}

/// Where the cleanup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The data-plane parts, when the data plane is on.
    pub parts: Option<Parts>,
    /// The namespace's deletion was requested and it is still going.
    pub namespace_terminating: bool,
}

/// The Deleting status for `removal`; conditions that are not about the cleanup keep what
/// they said.
pub fn status(tenant: &Tenant, removal: &Removal, now: Timestamp) -> TenantStatus {
    let mut status = tenant.status.clone().unwrap_or_default();
    let previous = status.conditions.clone();
    let set = |type_: &str, ok: bool, reason: &str, message: String| {
        condition(
            &previous,
            tenant.metadata.generation,
            type_,
            ok,
            reason,
            message,
            &now,
        )
    };
    let blocked = removal.parts.as_ref().and_then(Parts::blocked);
    let progress = match (blocked, removal.namespace_terminating) {
        (Some((part, _, message)), _) => {
            format!("the deletion waits: the {part} cannot be removed yet: {message}")
        }
        (None, true) => "the data plane is cleaned up; waiting for the namespace to go".to_owned(),
        (None, false) => "removing the tenant's data plane and namespace".to_owned(),
    };
    let mut conditions = vec![
        set("Ready", false, "Deleting", progress.clone()),
        set("Progressing", true, "Deleting", progress.clone()),
        match blocked {
            Some((_, reason, _)) => set("Degraded", true, reason, progress.clone()),
            None => set(
                "Degraded",
                false,
                "Healthy",
                "nothing is failing".to_owned(),
            ),
        },
        match blocked {
            Some((_, reason, _)) => set("CleanupBlocked", true, reason, progress),
            None => set(
                "CleanupBlocked",
                false,
                "NotBlocked",
                "nothing holds the deletion up".to_owned(),
            ),
        },
    ];
    if removal.namespace_terminating {
        conditions.push(set(
            "NamespaceReady",
            false,
            "Terminating",
            "the namespace is being deleted".to_owned(),
        ));
    }
    if let Some(parts) = &removal.parts {
        for (type_, state, removed, retained) in [
            (
                "DatabaseReady",
                &parts.database,
                "the PostgreSQL database and role are dropped (deletionPolicy Delete)",
                "the PostgreSQL database is kept with its login disabled (deletionPolicy Retain)",
            ),
            (
                "CacheReady",
                &parts.cache,
                "the Redis user is removed",
                "the Redis user is removed",
            ),
            (
                "SecretsReady",
                &parts.secrets,
                "the OpenBao namespace is removed (deletionPolicy Delete)",
                "the OpenBao namespace is kept (deletionPolicy Retain)",
            ),
        ] {
            conditions.push(match state {
                Ok(Gone::Removed) => set(type_, false, "Removed", removed.to_owned()),
                Ok(Gone::Retained) => set(type_, false, "Retained", retained.to_owned()),
                Err((reason, message)) => set(type_, false, reason, message.clone()),
            });
        }
    }
    // Conditions the cleanup does not speak for (WorkloadReady, NamespaceReady before its
    // deletion) keep what they said.
    for kept in previous {
        if !conditions.iter().any(|c: &Condition| c.type_ == kept.type_) {
            conditions.push(kept);
        }
    }
    status.conditions = conditions;
    status.phase = Some(TenantPhase::Deleting);
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "platform.dotmac.io/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "acme", "generation": 2},
            "spec": {"displayName": "A", "contactEmail": "a@b.example"},
            "status": {"phase": "Ready", "conditions": [
                {"type": "Ready", "status": "True", "reason": "AllPartsReady", "message": "1 of 1 replicas ready", "lastTransitionTime": "2026-12-01T00:00:00Z"},
                {"type": "CacheReady", "status": "True", "reason": "Provisioned", "message": "the Redis user is in place", "lastTransitionTime": "2026-12-01T00:00:00Z"},
                {"type": "WorkloadReady", "status": "True", "reason": "ReplicasReady", "message": "1 of 1", "lastTransitionTime": "2026-12-01T00:00:00Z"}]}}))
        .unwrap()
    }

    fn find<'a>(status: &'a TenantStatus, type_: &str) -> (&'a str, &'a str, &'a str) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    #[test]
    fn a_waiting_deletion_names_its_backend_and_what_is_gone_already() {
        let now = Timestamp::from_second(2_000_000_000).unwrap();
        let waiting = Removal {
            parts: Some(Parts {
                cache: Ok(Gone::Removed),
                secrets: Err((
                    "OpenBaoUnreachable".into(),
                    "OpenBao is unreachable: connection refused".into(),
                )),
                database: Ok(Gone::Retained),
            }),
            namespace_terminating: false,
        };
        let status = status(&tenant(), &waiting, now);
        assert_eq!(status.phase, Some(TenantPhase::Deleting));
        let (s, reason, message) = find(&status, "CleanupBlocked");
        assert_eq!((s, reason), ("True", "OpenBaoUnreachable"));
        assert!(
            message.contains("the OpenBao namespace cannot be removed yet: OpenBao is unreachable"),
            "{message}"
        );
        assert_eq!(find(&status, "Ready").0, "False");
        assert_eq!(find(&status, "Degraded").1, "OpenBaoUnreachable");
        assert_eq!(
            find(&status, "CacheReady"),
            ("False", "Removed", "the Redis user is removed")
        );
        assert_eq!(find(&status, "DatabaseReady").1, "Retained");
        assert_eq!(find(&status, "SecretsReady").1, "OpenBaoUnreachable");
        assert_eq!(
            find(&status, "WorkloadReady").1,
            "ReplicasReady",
            "kept as it was"
        );
    }

    #[test]
    fn once_the_data_plane_is_gone_it_waits_for_the_namespace_and_recomputes_equal() {
        let now = Timestamp::from_second(2_000_000_000).unwrap();
        let gone = Removal {
            parts: Some(Parts {
                cache: Ok(Gone::Removed),
                secrets: Ok(Gone::Removed),
                database: Ok(Gone::Removed),
            }),
            namespace_terminating: true,
        };
        let mut t = tenant();
        let first = status(&t, &gone, now);
        assert_eq!(find(&first, "CleanupBlocked").0, "False");
        assert_eq!(find(&first, "NamespaceReady").1, "Terminating");
        assert!(
            find(&first, "Ready")
                .2
                .contains("waiting for the namespace")
        );
        t.status = Some(first.clone());
        let later = Timestamp::from_second(2_000_000_100).unwrap();
        assert_eq!(
            status(&t, &gone, later),
            first,
            "nothing to write while it waits"
        );
    }
}
