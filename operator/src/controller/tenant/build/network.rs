//! How the instance is reached and what it may reach: its Service, its Ingress when the tenant
//! has a domain, the RADIUS Service when it has RADIUS, and a default-deny NetworkPolicy that
//! lets in the ingress controller, the namespace's own pods, (to the HTTP port) the monitoring
//! namespace and (to RADIUS) the NAS networks, and lets out DNS, the platform's PostgreSQL,
//! Redis, OpenBao and management API, and CoA to the NAS networks.

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

use dotmac_platform::crd::tenant::{Radius, RadiusServiceType};

use super::{
    Owned, selector,
    workload::{RADIUS_ACCT_PORT, RADIUS_AUTH_PORT},
};
use crate::{
    config::ControllerConfig,
    controller::tenant::names::{APP, ISP_PORT, RADIUS},
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
            to: Some(cidr_peers(&config.egress_cidrs)),
            ports: Some(tcp_ports(DATA_PLANE_PORTS)),
        });
    }
    egress
}

/// The NAS networks of `radius` as policy peers; any address when it names none.
fn nas_peers(radius: &Radius) -> Vec<NetworkPolicyPeer> {
    let any = ["0.0.0.0/0".to_owned(), "::/0".to_owned()];
    if radius.nas_networks.is_empty() {
        cidr_peers(&any)
    } else {
        cidr_peers(&radius.nas_networks)
    }
}

/// Peers in `cidrs`.
fn cidr_peers(cidrs: &[String]) -> Vec<NetworkPolicyPeer> {
    cidrs
        .iter()
        .map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                ..IPBlock::default()
            }),
            ..NetworkPolicyPeer::default()
        })
        .collect()
}

/// The default-deny policy of the tenant's namespace; with `radius`, RADIUS in from the NAS
/// networks, and CoA and Disconnect out to them (on any UDP port: each NAS names its own).
pub(super) fn policy(
    owned: &Owned<'_>,
    config: &ControllerConfig,
    radius: Option<&Radius>,
) -> NetworkPolicy {
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
    let mut egress = egress(config);
    if let Some(radius) = radius {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(nas_peers(radius)),
            ports: Some(vec![
                port("UDP", RADIUS_AUTH_PORT),
                port("UDP", RADIUS_ACCT_PORT),
            ]),
        });
        egress.push(NetworkPolicyEgressRule {
            to: Some(nas_peers(radius)),
            ports: Some(vec![NetworkPolicyPort {
                protocol: Some("UDP".into()),
                ..NetworkPolicyPort::default()
            }]),
        });
    }
    NetworkPolicy {
        metadata: owned.namespaced("default-deny"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
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

/// The Service NAS send RADIUS to: UDP 1812 and 1813 on a load balancer (limited to the NAS
/// networks) or a node port, keeping each NAS's source address, by which the instance knows it.
pub(super) fn radius_service(owned: &Owned<'_>, radius: &Radius) -> Service {
    let udp = |name: &str, number: i32| ServicePort {
        name: Some(name.into()),
        port: number,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("UDP".into()),
        ..ServicePort::default()
    };
    let load_balancer = radius.service_type == RadiusServiceType::LoadBalancer;
    Service {
        metadata: owned.namespaced(RADIUS),
        spec: Some(ServiceSpec {
            type_: Some(
                match radius.service_type {
                    RadiusServiceType::LoadBalancer => "LoadBalancer",
                    RadiusServiceType::NodePort => "NodePort",
                }
                .into(),
            ),
            external_traffic_policy: Some("Local".into()),
            load_balancer_source_ranges: (load_balancer && !radius.nas_networks.is_empty())
                .then(|| radius.nas_networks.clone()),
            selector: selector(&owned.name).match_labels,
            ports: Some(vec![
                udp("radius-auth", RADIUS_AUTH_PORT),
                udp("radius-acct", RADIUS_ACCT_PORT),
            ]),
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
