//! The Tenant's status, computed from what the reconcile observed. Pure: the same observation
//! gives the same status, so a steady state writes nothing.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp};

use crate::provision::Changed;
use dotmac_platform::crd::{Tenant, TenantStatus, tenant::TenantPhase};

/// What the reconcile saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The reseller named by `resellerRef` does not exist.
    pub missing_reseller: Option<String>,
    /// The spec holds what the schema cannot refuse: (field, message).
    pub invalid_spec: Option<(&'static str, String)>,
    /// The objects were applied and read back this reconcile (the fields about the namespace
    /// and the workload below say something only then).
    pub applied: bool,
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
    /// The Deployment is replacing its pods: some run an older template, or fewer than wanted
    /// run the current one (a rollout after new credentials or configuration, a scale-up).
    pub rolling: bool,
    /// A step failed: (reason, message).
    pub failure: Option<(String, String)>,
    /// The data plane's parts, when it is on.
    pub data_plane: Option<DataPlaneState>,
    /// Features the tenant's licenses grant.
    pub licensed: Vec<String>,
    /// With `spec.mail`: its SMTP Secret found, or what is missing.
    pub mail: Option<Result<(), String>>,
}

/// Each data-plane part: in place (with what this reconcile had to create or restore), or
/// (reason, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPlaneState {
    /// PostgreSQL role and database.
    pub database: Result<Changed, (String, String)>,
    /// Redis user.
    pub cache: Result<Changed, (String, String)>,
    /// OpenBao namespace and credentials.
    pub secrets: Result<Changed, (String, String)>,
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
    let settled = observed.rollout_observed && !observed.rolling;
    match (settled, observed.first_version) {
        (true, _) => replicas,
        (false, true) => format!("the instance is starting ({replicas})"),
        (false, false) => format!("a new version is rolling out ({replicas})"),
    }
}

/// The phase, and the reason and message of the Ready condition (or of what keeps it false).
struct Verdict {
    phase: TenantPhase,
    reason: String,
    message: String,
}

impl Verdict {
    fn new(phase: TenantPhase, reason: &str, message: String) -> Self {
        Self {
            phase,
            reason: reason.to_owned(),
            message,
        }
    }
}

fn workload_ready(observed: &Observed) -> bool {
    observed.rollout_observed && observed.ready_replicas >= observed.wanted_replicas
}

/// The first failure: a step's, else a data-plane part's, else the mail Secret's, else RADIUS
/// asked for without the feature.
fn failure(tenant: &Tenant, observed: &Observed) -> Option<(String, String)> {
    let mail = || match &observed.mail {
        Some(Err(message)) => Some((SMTP_SECRET_MISSING.to_owned(), message.clone())),
        _ => None,
    };
    observed
        .failure
        .clone()
        .or_else(|| {
            observed.data_plane.as_ref().and_then(|d| {
                [&d.secrets, &d.database, &d.cache]
                    .into_iter()
                    .find_map(|p| p.as_ref().err().cloned())
            })
        })
        .or_else(mail)
        .or_else(|| radius_refusal(tenant, observed))
}

/// Why `spec.radius` is not honoured: the tenant lacks `network_access`.
fn radius_refusal(tenant: &Tenant, observed: &Observed) -> Option<(String, String)> {
    tenant.spec.radius.as_ref()?;
    let entitled =
        super::build::radius_wanted(tenant, observed.licensed.iter().map(String::as_str));
    (!entitled).then(|| {
        (
            NETWORK_ACCESS_NOT_ENTITLED.to_owned(),
            format!(
                "spec.radius needs the network_access feature, which the tenant on plan {} does not have",
                tenant.spec.plan.name()
            ),
        )
    })
}

/// The reason a tenant is not Ready while the SMTP Secret of `spec.mail` is missing.
pub const SMTP_SECRET_MISSING: &str = "SmtpSecretMissing";

/// Decides the phase from what was observed: a missing reseller blocks; a failure degrades a
/// tenant that was Ready (and keeps a new one Provisioning); a ready workload is Ready or
/// Suspended; otherwise the workload is not ready yet.
fn verdict(tenant: &Tenant, observed: &Observed) -> Verdict {
    let previous = tenant.status.as_ref();
    let was_ready = matches!(
        previous.and_then(|s| s.phase),
        Some(TenantPhase::Ready | TenantPhase::Degraded)
    );
    if let Some(reseller) = &observed.missing_reseller {
        return Verdict::new(
            TenantPhase::Pending,
            "ResellerNotFound",
            format!("reseller {reseller:?} named in spec.resellerRef does not exist"),
        );
    }
    if let Some((field, message)) = &observed.invalid_spec {
        // A running instance keeps its last good configuration: nothing of this spec is applied.
        let phase = if was_ready {
            TenantPhase::Degraded
        } else {
            TenantPhase::Pending
        };
        return Verdict::new(phase, "InvalidSpec", format!("{field}: {message}"));
    }
    if let Some((reason, message)) = failure(tenant, observed) {
        let phase = if was_ready {
            TenantPhase::Degraded
        } else {
            TenantPhase::Provisioning
        };
        return Verdict::new(phase, &reason, message);
    }
    if observed.namespace_active && workload_ready(observed) {
        return if tenant.spec.suspended {
            Verdict::new(
                TenantPhase::Suspended,
                "Suspended",
                "the instance is scaled to zero on request; data and configuration are kept"
                    .to_owned(),
            )
        } else {
            let replicas = format!(
                "{} of {} replicas ready",
                observed.ready_replicas, observed.wanted_replicas
            );
            Verdict::new(TenantPhase::Ready, "AllPartsReady", replicas)
        };
    }
    // A spec change, new credentials or a scale-up rolling out is progress; the same pods
    // losing readiness is a degradation (and stays one until they are back).
    let same_spec = previous.and_then(|s| s.observed_generation) == tenant.metadata.generation;
    let lost = observed.ready_replicas < previous.and_then(|s| s.ready_replicas).unwrap_or(0)
        || previous.and_then(|s| s.phase) == Some(TenantPhase::Degraded);
    let phase = if was_ready && same_spec && !observed.rolling && lost {
        TenantPhase::Degraded
    } else {
        TenantPhase::Provisioning
    };
    Verdict::new(phase, "WorkloadNotReady", workload_message(observed))
}

/// A condition True with (`yes`, `yes_message`) when `ok`, else False with (`no`, `no_message`).
struct Flag<'a> {
    tenant: &'a Tenant,
    now: &'a Timestamp,
}

impl Flag<'_> {
    fn set(&self, type_: &str, ok: bool, yes: (&str, String), no: (&str, String)) -> Condition {
        let (reason, message) = if ok { yes } else { no };
        condition(self.tenant, type_, ok, reason, message, self.now)
    }
}

/// Ready, Progressing and Degraded, from the verdict.
fn summary_conditions(flag: &Flag<'_>, verdict: &Verdict) -> [Condition; 3] {
    let is = |phase| verdict.phase == phase;
    let why = || (verdict.reason.as_str(), verdict.message.clone());
    [
        flag.set(
            "Ready",
            is(TenantPhase::Ready),
            ("AllPartsReady", verdict.message.clone()),
            why(),
        ),
        flag.set(
            "Progressing",
            is(TenantPhase::Provisioning),
            ("Reconciling", verdict.message.clone()),
            ("Settled", "no change in progress".to_owned()),
        ),
        flag.set(
            "Degraded",
            is(TenantPhase::Degraded),
            why(),
            ("Healthy", "nothing is failing".to_owned()),
        ),
    ]
}

/// The reason of a data-plane part's condition when the last check found it incomplete and made
/// it again.
pub const REPAIRED: &str = "Repaired";

/// The reason of `RadiusReady=False` when the tenant lacks the `network_access` feature.
pub const NETWORK_ACCESS_NOT_ENTITLED: &str = "NetworkAccessNotEntitled";

/// RadiusReady with `spec.radius`: FreeRADIUS is deployed, or why it is not.
fn radius_condition(flag: &Flag<'_>, observed: &Observed) -> Option<Condition> {
    flag.tenant.spec.radius.as_ref()?;
    let (ok, reason, message) = match radius_refusal(flag.tenant, observed) {
        None => (
            true,
            "Deployed".to_owned(),
            "FreeRADIUS runs beside the instance; NAS send to Service radius (UDP 1812, 1813)"
                .to_owned(),
        ),
        Some((reason, message)) => (false, reason, message),
    };
    Some(condition(
        flag.tenant,
        "RadiusReady",
        ok,
        &reason,
        message,
        flag.now,
    ))
}

/// NamespaceReady, WorkloadReady, MailReady with `spec.mail`, RadiusReady with `spec.radius`
/// and, with the data plane on, DatabaseReady, CacheReady and SecretsReady.
fn part_conditions(flag: &Flag<'_>, observed: &Observed) -> Vec<Condition> {
    let mut conditions =
        if observed.applied {
            let workload = workload_message(observed);
            vec![
                flag.set(
                    "NamespaceReady",
                    observed.namespace_active,
                    ("Active", "the namespace is active".to_owned()),
                    ("NotCreated", "the namespace does not exist yet".to_owned()),
                ),
                flag.set(
                    "WorkloadReady",
                    workload_ready(observed),
                    ("ReplicasReady", workload.clone()),
                    ("ReplicasNotReady", workload),
                ),
            ]
        } else {
            // Nothing was applied or read back (the spec is held, or a data-plane part is not in
            // place): what was last seen stands, and a tenant never applied says so.
            ["NamespaceReady", "WorkloadReady"]
                .into_iter()
                .map(|type_| {
                    flag.tenant
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
                    .cloned()
                    .unwrap_or_else(|| {
                        let why =
                            "nothing is applied until what the Ready condition names is resolved";
                        condition(flag.tenant, type_, false, "NotApplied", why.into(), flag.now)
                    })
                })
                .collect()
        };
    if let Some(mail) = &observed.mail {
        conditions.push(match mail {
            Ok(()) => condition(
                flag.tenant,
                "MailReady",
                true,
                "SecretFound",
                "the SMTP Secret of spec.mail is in place".to_owned(),
                flag.now,
            ),
            Err(message) => condition(
                flag.tenant,
                "MailReady",
                false,
                SMTP_SECRET_MISSING,
                message.clone(),
                flag.now,
            ),
        });
    }
    conditions.extend(radius_condition(flag, observed));
    let Some(parts) = &observed.data_plane else {
        return conditions;
    };
    for (type_, part, ok_message) in [
        (
            "DatabaseReady",
            &parts.database,
            "the PostgreSQL role and database are in place",
        ),
        ("CacheReady", &parts.cache, "the Redis user is in place"),
        (
            "SecretsReady",
            &parts.secrets,
            "the OpenBao namespace and credentials are in place",
        ),
    ] {
        let previous = flag
            .tenant
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
            .filter(|c| c.status == "True");
        let (ok, reason, message) = match (part, previous) {
            // A part that was in place and had to be made again: lost backend state, repaired.
            (Ok(changed), Some(_)) if !changed.is_empty() => {
                let at = flag.now.strftime("%Y-%m-%dT%H:%M:%SZ");
                let message = format!(
                    "{ok_message}; found incomplete and repaired at {at}: {}",
                    changed.join(", ")
                );
                (true, REPAIRED.to_owned(), message)
            }
            // The last repair stays on record until something else changes.
            (Ok(_), Some(p)) if p.reason == REPAIRED => (true, p.reason.clone(), p.message.clone()),
            (Ok(_), _) => (true, "Provisioned".to_owned(), ok_message.to_owned()),
            (Err((reason, message)), _) => (false, reason.clone(), message.clone()),
        };
        conditions.push(condition(
            flag.tenant,
            type_,
            ok,
            &reason,
            message,
            flag.now,
        ));
    }
    conditions
}

/// The part conditions of `new` that record a repair `old` did not: one Warning event each.
pub fn repairs<'a>(old: Option<&TenantStatus>, new: &'a TenantStatus) -> Vec<&'a Condition> {
    new.conditions
        .iter()
        .filter(|c| c.reason == REPAIRED)
        .filter(|c| {
            !old.is_some_and(|o| {
                o.conditions
                    .iter()
                    .any(|p| p.type_ == c.type_ && p.message == c.message)
            })
        })
        .collect()
}

/// The status for `observed`; condition transition times are kept while a condition holds.
pub fn compute(
    tenant: &Tenant,
    observed: &Observed,
    endpoint: String,
    entitlements: Vec<String>,
    now: Timestamp,
) -> TenantStatus {
    let verdict = verdict(tenant, observed);
    let flag = Flag { tenant, now: &now };
    let mut conditions = summary_conditions(&flag, &verdict).to_vec();
    conditions.extend(part_conditions(&flag, observed));
    TenantStatus {
        phase: Some(verdict.phase),
        conditions,
        observed_generation: tenant.metadata.generation,
        namespace: Some(super::names::namespace(
            tenant.metadata.name.as_deref().unwrap_or_default(),
        )),
        endpoint: Some(endpoint),
        // Replicas not read back this time are as last seen.
        ready_replicas: if observed.applied {
            Some(observed.ready_replicas)
        } else {
            tenant
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .or(Some(0))
        },
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
            applied: true,
            namespace_active: true,
            ready_replicas: 1,
            wanted_replicas: 1,
            rollout_observed: true,
            ..Observed::default()
        }
    }

    fn with_parts(database: Changed) -> Observed {
        Observed {
            data_plane: Some(DataPlaneState {
                database: Ok(database),
                cache: Ok(vec![]),
                secrets: Ok(vec![]),
            }),
            ..ready()
        }
    }

    fn part<'a>(status: &'a TenantStatus, type_: &str) -> &'a Condition {
        status.conditions.iter().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn a_part_made_again_is_repaired_on_record_until_it_changes_again() {
        let (t0, t1) = (
            Timestamp::from_second(1_000).unwrap(),
            Timestamp::from_second(2_000).unwrap(),
        );
        let mut t = tenant();
        // Made for the first time: provisioned, no repair.
        let first = compute(
            &t,
            &with_parts(vec!["create the database"]),
            "e".into(),
            vec![],
            t0,
        );
        assert_eq!(part(&first, "DatabaseReady").reason, "Provisioned");
        assert!(repairs(None, &first).is_empty());
        t.status = Some(first.clone());
        // Made again while it was in place: repaired, with when and what.
        let lost = compute(
            &t,
            &with_parts(vec!["create the database"]),
            "e".into(),
            vec![],
            t1,
        );
        let c = part(&lost, "DatabaseReady");
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", "Repaired"));
        assert!(
            c.message.ends_with(
                "found incomplete and repaired at 1970-01-01T00:33:20Z: create the database"
            ),
            "{}",
            c.message
        );
        assert_eq!(repairs(Some(&first), &lost), [c]);
        t.status = Some(lost.clone());
        // Steady again: the record stays, and nothing is written or announced.
        let steady = compute(&t, &with_parts(vec![]), "e".into(), vec![], t1);
        assert_eq!(steady, lost, "a steady check writes nothing");
        assert!(repairs(Some(&lost), &steady).is_empty());
        // A failure replaces it.
        let mut failing = with_parts(vec![]);
        if let Some(parts) = &mut failing.data_plane {
            parts.database = Err(("PostgresUnreachable".into(), "down".into()));
        }
        let down = compute(&t, &failing, "e".into(), vec![], t1);
        assert_eq!(part(&down, "DatabaseReady").reason, "PostgresUnreachable");
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

    fn condition_of(status: &TenantStatus, type_: &str) -> (String, String) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
        (c.reason.clone(), c.message.clone())
    }

    #[test]
    fn a_tenant_held_or_blocked_says_nothing_about_a_rollout_it_never_saw() {
        let now = Timestamp::from_second(1_000).unwrap();
        // Waiting for its reseller, never applied: no namespace, no rollout to speak of.
        let orphan = Observed {
            missing_reseller: Some("nope".into()),
            ..Observed::default()
        };
        let held = compute(&tenant(), &orphan, "e".into(), vec![], now);
        assert_eq!(condition_of(&held, "WorkloadReady").0, "NotApplied");
        assert_eq!(condition_of(&held, "NamespaceReady").0, "NotApplied");
        assert!(
            !held
                .conditions
                .iter()
                .any(|c| c.message.contains("rolling out")),
            "{:?}",
            held.conditions
        );
        // Ready, then OpenBao goes away: what was seen of the namespace and pods stands.
        let mut t = tenant();
        t.status = Some(compute(&t, &ready(), "e".into(), vec![], now));
        let blocked = Observed {
            failure: Some(("OpenBaoUnreachable".into(), "OpenBao is unreachable".into())),
            ..Observed::default()
        };
        let outage = compute(&t, &blocked, "e".into(), vec![], now);
        assert_eq!(outage.phase, Some(TenantPhase::Degraded));
        assert_eq!(condition_of(&outage, "NamespaceReady").0, "Active");
        assert_eq!(condition_of(&outage, "WorkloadReady").0, "ReplicasReady");
        assert_eq!(outage.ready_replicas, Some(1), "as last seen");
    }

    #[test]
    fn a_rollout_of_the_same_spec_is_progress_and_losing_pods_is_degradation() {
        let now = Timestamp::from_second(1_000).unwrap();
        let mut t = tenant();
        t.status = Some(compute(&t, &ready(), "e".into(), vec![], now));
        // Rotated credentials roll the pods without a spec change.
        let rotating = Observed {
            rolling: true,
            ready_replicas: 0,
            ..ready()
        };
        let status = compute(&t, &rotating, "e".into(), vec![], now);
        assert_eq!(status.phase, Some(TenantPhase::Provisioning));
        assert_eq!(
            condition_of(&status, "Ready").1,
            "a new version is rolling out (0 of 1 replicas ready)"
        );
        assert_eq!(condition_of(&status, "Degraded").0, "Healthy");
        // A scale-up: more wanted than ever were ready, none lost.
        let scaling = Observed {
            wanted_replicas: 3,
            ready_replicas: 1,
            ..ready()
        };
        let status = compute(&t, &scaling, "e".into(), vec![], now);
        assert_eq!(status.phase, Some(TenantPhase::Provisioning));
        // The same pods losing readiness is a degradation, and stays one until they are back.
        let lost = Observed {
            ready_replicas: 0,
            ..ready()
        };
        let degraded = compute(&t, &lost, "e".into(), vec![], now);
        assert_eq!(degraded.phase, Some(TenantPhase::Degraded));
        t.status = Some(degraded);
        assert_eq!(
            compute(&t, &lost, "e".into(), vec![], now).phase,
            Some(TenantPhase::Degraded)
        );
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
        let bad = Observed {
            invalid_spec: Some(("spec.business.timeZone", "\"Mars\" is not a zone".into())),
            ..ready()
        };
        let held = compute(&tenant(), &bad, "e".into(), vec![], now);
        assert_eq!(held.phase, Some(TenantPhase::Pending));
        let reason = |s: &TenantStatus| {
            let c = s.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
            (c.reason.clone(), c.message.clone())
        };
        assert_eq!(
            reason(&held),
            (
                "InvalidSpec".to_owned(),
                "spec.business.timeZone: \"Mars\" is not a zone".to_owned()
            )
        );
        let mut running = tenant();
        running.status = Some(compute(&tenant(), &ready(), "e".into(), vec![], now));
        let degraded = compute(&running, &bad, "e".into(), vec![], now);
        assert_eq!(
            degraded.phase,
            Some(TenantPhase::Degraded),
            "a running instance keeps its last good configuration"
        );
        assert_eq!(reason(&degraded).0, "InvalidSpec");
    }

    #[test]
    fn radius_without_network_access_is_named_and_keeps_the_tenant_from_ready() {
        let now = Timestamp::from_second(1_000).unwrap();
        let mut free = tenant();
        free.spec.radius = Some(dotmac_platform::crd::tenant::Radius::default());
        let status = compute(&free, &ready(), "e".into(), vec![], now);
        assert_eq!(status.phase, Some(TenantPhase::Provisioning));
        let (reason, message) = condition_of(&status, "RadiusReady");
        assert_eq!(reason, NETWORK_ACCESS_NOT_ENTITLED);
        assert!(message.contains("plan free"), "{message}");
        assert_eq!(
            condition_of(&status, "Ready").0,
            NETWORK_ACCESS_NOT_ENTITLED
        );

        let mut basic = free.clone();
        basic.spec.plan = dotmac_platform::crd::tenant::Plan::Basic;
        let status = compute(&basic, &ready(), "e".into(), vec![], now);
        assert_eq!(status.phase, Some(TenantPhase::Ready));
        assert_eq!(condition_of(&status, "RadiusReady").0, "Deployed");
        assert!(
            compute(&tenant(), &ready(), "e".into(), vec![], now)
                .conditions
                .iter()
                .all(|c| c.type_ != "RadiusReady"),
            "no RadiusReady without spec.radius"
        );
    }
}
