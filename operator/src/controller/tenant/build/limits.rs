//! What the tenant's namespace may use and how its instance scales: the ResourceQuota and
//! LimitRange of its size, the HorizontalPodAutoscaler when autoscaling is set, and a
//! PodDisruptionBudget above one replica.

use std::collections::BTreeMap;

use dotmac_platform::sizes::SizeProfile;
use k8s_openapi::{
    api::{
        autoscaling::v2::{
            CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec,
            MetricSpec, MetricTarget, ResourceMetricSource,
        },
        core::v1::{LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec},
        policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec},
    },
    apimachinery::pkg::{api::resource::Quantity, util::intstr::IntOrString},
};

use super::{Owned, selector, wanted_replicas};
use crate::controller::tenant::names::APP;

fn quantities<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> BTreeMap<String, Quantity> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Quantity(v)))
        .collect()
}

/// The namespace's quota: the size's per-replica resources (and FreeRADIUS's beside each
/// replica, when `radius`) times its replica ceiling.
pub(super) fn quota(owned: &Owned<'_>, size: &SizeProfile, radius: bool) -> ResourceQuota {
    let times = |per_replica: &str, sidecar: Option<&str>| match (radius, sidecar) {
        (true, Some(sidecar)) => sum_times(per_replica, sidecar, size.max_replicas),
        _ => scale_quantity(per_replica, size.max_replicas),
    };
    let sidecar = &RADIUS_RESOURCES;
    ResourceQuota {
        metadata: owned.namespaced("tenant-quota"),
        spec: Some(ResourceQuotaSpec {
            hard: Some(quantities([
                (
                    "requests.cpu",
                    times(size.cpu_request, Some(sidecar.cpu_request)),
                ),
                ("limits.cpu", times(size.cpu_limit, Some(sidecar.cpu_limit))),
                (
                    "requests.memory",
                    times(size.memory_request, Some(sidecar.memory_request)),
                ),
                (
                    "limits.memory",
                    times(size.memory_limit, Some(sidecar.memory_limit)),
                ),
                ("requests.storage", size.storage.to_owned()),
                ("persistentvolumeclaims", "4".to_owned()),
                ("pods", (size.max_replicas + 2).to_string()),
            ])),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    }
}

/// FreeRADIUS's requests and limits beside each replica: within every size's LimitRange.
pub(super) struct SidecarResources {
    pub cpu_request: &'static str,
    pub cpu_limit: &'static str,
    pub memory_request: &'static str,
    pub memory_limit: &'static str,
}

/// What FreeRADIUS asks for and may use.
pub(super) const RADIUS_RESOURCES: SidecarResources = SidecarResources {
    cpu_request: "50m",
    cpu_limit: "500m",
    memory_request: "64Mi",
    memory_limit: "128Mi",
};

/// `(a + b) × replicas` of two CPU (`500m`, `2`) or two memory (`256Mi`, `1Gi`) quantities, in
/// millicores or MiB.
fn sum_times(a: &str, b: &str, replicas: i32) -> String {
    let memory = a.ends_with('i') || b.ends_with('i');
    let unit = |q: &str| -> i64 {
        let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
        let (number, suffix) = q.split_at(split);
        let n: i64 = number.parse().unwrap_or(0);
        match suffix {
            "m" | "Mi" => n,
            "" => n * 1000,
            "Gi" => n * 1024,
            other => unreachable!("the sizes' quantities have no unit {other:?}"),
        }
    };
    let total = (unit(a) + unit(b)) * i64::from(replicas);
    if memory {
        format!("{total}Mi")
    } else {
        format!("{total}m")
    }
}

/// Container defaults and ceilings of the size.
pub(super) fn limit_range(owned: &Owned<'_>, size: &SizeProfile) -> LimitRange {
    let pair = |cpu: &str, memory: &str| {
        Some(quantities([
            ("cpu", cpu.to_owned()),
            ("memory", memory.to_owned()),
        ]))
    };
    LimitRange {
        metadata: owned.namespaced("tenant-limits"),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: pair(size.cpu_limit, size.memory_limit),
                default_request: pair(size.cpu_request, size.memory_request),
                max: pair(size.cpu_limit, size.memory_limit),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

/// The autoscaler when `autoscaling` is set and the tenant is not suspended, within the
/// size's replica ceiling.
pub(super) fn autoscaler(owned: &Owned<'_>, size: &SizeProfile) -> Option<HorizontalPodAutoscaler> {
    let spec = &owned.tenant.spec;
    let autoscaling = spec.autoscaling.as_ref().filter(|_| !spec.suspended)?;
    let max = autoscaling.max_replicas.min(size.max_replicas);
    Some(HorizontalPodAutoscaler {
        metadata: owned.namespaced(APP),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: APP.into(),
            },
            min_replicas: Some(autoscaling.min_replicas.min(max)),
            max_replicas: max,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(autoscaling.target_cpu_utilization_percentage),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        },
        ..HorizontalPodAutoscaler::default()
    })
}

/// One pod at a time may be disrupted once more than one must be ready.
pub(super) fn disruption_budget(owned: &Owned<'_>) -> Option<PodDisruptionBudget> {
    (wanted_replicas(owned.tenant) > 1).then(|| PodDisruptionBudget {
        metadata: owned.namespaced(APP),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(&owned.name)),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}

/// `per_replica × replicas` as a Kubernetes quantity (`100m × 2 = 200m`, `1Gi × 3 = 3Gi`).
fn scale_quantity(per_replica: &str, replicas: i32) -> String {
    let split = per_replica
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(per_replica.len());
    let (number, unit) = per_replica.split_at(split);
    let n: i64 = number.parse().unwrap_or(0);
    format!("{}{unit}", n * i64::from(replicas))
}
