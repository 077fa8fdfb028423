//! How the instance is reached and what it may reach: its Service, its Ingress when the tenant
//! has a domain, and a default-deny NetworkPolicy that lets in the ingress controller, the
//! namespace's own pods and (to the HTTP port) the monitoring namespace, and lets out DNS and the platform's PostgreSQL, Redis, OpenBao and
//! management API.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        core::v1::{Service, ServicePort, ServiceSpec},
        networking::v1::{
            HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule,
            IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
            NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
            ServiceBackendPort,
        },
    },
    apimachinery::pkg::{apis::meta::v1::LabelSelector, util::intstr::IntOrString},
};

use super::{Owned, selector};
use crate::{
    config::ControllerConfig,
    controller::tenant::names::{APP, ISP_PORT},
};

/// PostgreSQL, Redis and OpenBao: what the instance reaches outside the cluster.
const DATA_PLANE_PORTS: [i32; 3] = [5432, 6379, 8200];
/// The management API's port, beside the data plane's in the platform namespace.
const MANAGEMENT_API_PORT: i32 = 8000;

/// Peers in the namespace called `name`.
fn namespace_peer(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_owned(),
                name.to_owned(),
            )])),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn port(protocol: &str, number: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(number)),
        ..NetworkPolicyPort::default()
    }
}

fn tcp_ports(numbers: impl IntoIterator<Item = i32>) -> Vec<NetworkPolicyPort> {
    numbers.into_iter().map(|n| port("TCP", n)).collect()
}

/// DNS, the platform namespace, and the extra CIDRs of an external data plane.
fn egress(config: &ControllerConfig) -> Vec<NetworkPolicyEgressRule> {
    let mut egress = vec![
        NetworkPolicyEgressRule {
            to: Some(vec![namespace_peer("kube-system")]),
            ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![namespace_peer(&config.platform_namespace)]),
            ports: Some(tcp_ports(
                DATA_PLANE_PORTS.into_iter().chain([MANAGEMENT_API_PORT]),
            )),
        },
    ];
    if !config.egress_cidrs.is_empty() {
        egress.push(NetworkPolicyEgressRule {
            to: Some(
                config
                    .egress_cidrs
                    .iter()
                    .map(|cidr| NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: cidr.clone(),
                            ..IPBlock::default()
                        }),
                        ..NetworkPolicyPeer::default()
                    })
                    .collect(),
            ),
            ports: Some(tcp_ports(DATA_PLANE_PORTS)),
        });
    }
    egress
}

/// The default-deny policy of the tenant's namespace.
pub(super) fn policy(owned: &Owned<'_>, config: &ControllerConfig) -> NetworkPolicy {
    let same_namespace = NetworkPolicyPeer {
        pod_selector: Some(LabelSelector::default()),
        ..NetworkPolicyPeer::default()
    };
    let mut ingress = vec![
        NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(&config.ingress_namespace)]),
            ..NetworkPolicyIngressRule::default()
        },
        NetworkPolicyIngressRule {
            from: Some(vec![same_namespace]),
            ..NetworkPolicyIngressRule::default()
        },
    ];
    if let Some(monitoring) = &config.monitoring_namespace {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(monitoring)]),
            ports: Some(tcp_ports([ISP_PORT])),
        });
    }
    NetworkPolicy {
        metadata: owned.namespaced("default-deny"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress(config)),
        }),
    }
}

/// The instance's Service on the isp-runtime port.
pub(super) fn service(owned: &Owned<'_>) -> Service {
    Service {
        metadata: owned.namespaced(APP),
        spec: Some(ServiceSpec {
            selector: selector(&owned.name).match_labels,
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: ISP_PORT,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The Ingress for the tenant's domain, with TLS; none without a domain.
pub(super) fn ingress(owned: &Owned<'_>, config: &ControllerConfig) -> Option<Ingress> {
    let domain = owned.tenant.spec.domain.as_ref()?;
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: APP.into(),
            port: Some(ServiceBackendPort {
                number: Some(ISP_PORT),
                ..ServiceBackendPort::default()
            }),
        }),
        ..IngressBackend::default()
    };
    Some(Ingress {
        metadata: owned.namespaced(APP),
        spec: Some(IngressSpec {
            ingress_class_name: Some(config.ingress_class.clone()),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![domain.clone()]),
                secret_name: Some(format!("{APP}-tls")),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(domain.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend,
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}
