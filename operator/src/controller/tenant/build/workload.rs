//! The instance's Deployment: one hardened isp-runtime container reading its settings from the
//! ConfigMap and its credentials from the Secret, with probes, the size's resources and the
//! configuration hash that rolls the pods when either changes; and, when the tenant has RADIUS,
//! FreeRADIUS beside it, reaching its AAA endpoints on the pod's loopback.

use std::collections::BTreeMap;

use dotmac_contract::instance;
use dotmac_platform::sizes::SizeProfile;
use k8s_openapi::{
    api::{
        apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment},
        core::v1::{
            Capabilities, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
            EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath,
            PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
            SeccompProfile, SecretEnvSource, SecretKeySelector, SecurityContext, Volume,
            VolumeMount,
        },
    },
    apimachinery::pkg::{
        api::resource::Quantity, apis::meta::v1::ObjectMeta, util::intstr::IntOrString,
    },
};

use super::{Owned, deployment_replicas, labels, limits::RADIUS_RESOURCES, selector};
use crate::{
    config::ControllerConfig,
    controller::tenant::names::{APP, CREDENTIALS_SECRET, ISP_PORT, RADIUS},
};

/// The instance's AAA endpoints, on the pod's loopback.
const AAA_PORT: i32 = 8002;
/// FreeRADIUS's Access-Request port.
pub(super) const RADIUS_AUTH_PORT: i32 = 1812;
/// FreeRADIUS's Accounting-Request port.
pub(super) const RADIUS_ACCT_PORT: i32 = 1813;
/// FreeRADIUS's Status-Server port, on the pod's loopback.
const RADIUS_STATUS_PORT: i32 = 18121;
/// The emptyDir volume FreeRADIUS writes its pid file to, and where it is mounted.
const RADIUS_RUN: &str = "radius-run";
const RADIUS_RUN_DIR: &str = "/run/freeradius";

/// The annotation on the pod template that changes when the configuration or credentials do.
const CONFIG_HASH: &str = "platform.dotmac.io/config-hash";
/// The non-root user and group the instance runs as.
const RUN_AS: i64 = 10001;

/// The tenant's Deployment; with FreeRADIUS when `radius`.
pub(super) fn deployment(
    owned: &Owned<'_>,
    config: &ControllerConfig,
    size: &SizeProfile,
    config_hash: String,
    radius: bool,
) -> Deployment {
    let mut containers = vec![container(owned, config, size, radius)];
    let mut volumes = volumes();
    if radius {
        containers.push(freeradius(owned, config));
        volumes.push(Volume {
            name: RADIUS_RUN.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("16Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(&owned.name)),
            annotations: Some(BTreeMap::from([(CONFIG_HASH.to_owned(), config_hash)])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(APP.into()),
            automount_service_account_token: Some(false),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUN_AS),
                run_as_group: Some(RUN_AS),
                fs_group: Some(RUN_AS),
                seccomp_profile: Some(runtime_default()),
                ..PodSecurityContext::default()
            }),
            containers,
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    };
    Deployment {
        metadata: owned.namespaced(APP),
        spec: DeploymentSpec {
            replicas: deployment_replicas(owned.tenant),
            selector: selector(&owned.name),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template,
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// A plain environment variable.
fn var(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// The listen address, the SMTP URL from the Secret `spec.mail` names (optional, so the
/// instance starts without it and the Tenant's `MailReady` says what is missing), and with
/// `radius` where FreeRADIUS reaches the AAA endpoints and where its counters are read.
fn env(owned: &Owned<'_>, radius: bool) -> Vec<EnvVar> {
    let mut env = vec![var(instance::LISTEN, format!("0.0.0.0:{ISP_PORT}"))];
    if radius {
        env.push(var(instance::AAA_LISTEN, format!("127.0.0.1:{AAA_PORT}")));
        env.push(var(
            instance::RADIUS_STATUS,
            format!("127.0.0.1:{RADIUS_STATUS_PORT}"),
        ));
    }
    if let Some(mail) = &owned.tenant.spec.mail {
        env.push(EnvVar {
            name: instance::SMTP_URL.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: mail.smtp_secret_ref.name.clone(),
                    key: mail.smtp_secret_ref.key.clone(),
                    optional: Some(true),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
    env
}

fn container(
    owned: &Owned<'_>,
    config: &ControllerConfig,
    size: &SizeProfile,
    radius: bool,
) -> Container {
    let version = version(owned, config);
    let mut ports = vec![port("http", ISP_PORT, "TCP")];
    if radius {
        // Only on the pod's loopback; declared so that every port of the pod is named.
        ports.push(port("aaa", AAA_PORT, "TCP"));
    }
    Container {
        name: APP.into(),
        image: Some(format!("{}:{version}", config.isp_image)),
        args: Some(vec!["serve".into()]),
        ports: Some(ports),
        env: Some(env(owned, radius)),
        env_from: Some(vec![
            EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: APP.into(),
                    ..ConfigMapEnvSource::default()
                }),
                ..EnvFromSource::default()
            },
            EnvFromSource {
                secret_ref: Some(SecretEnvSource {
                    name: CREDENTIALS_SECRET.into(),
                    optional: Some(true),
                }),
                ..EnvFromSource::default()
            },
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(size.cpu_request, size.memory_request)),
            limits: Some(quantities(size.cpu_limit, size.memory_limit)),
            ..ResourceRequirements::default()
        }),
        liveness_probe: Some(probe("/health", 10, 3)),
        readiness_probe: Some(probe("/ready", 5, 3)),
        startup_probe: Some(probe("/health", 2, 30)),
        security_context: Some(restricted()),
        volume_mounts: Some(volume_mounts()),
        ..Container::default()
    }
}

/// The image tag of the tenant's release.
fn version(owned: &Owned<'_>, config: &ControllerConfig) -> String {
    owned
        .tenant
        .spec
        .version
        .clone()
        .unwrap_or_else(|| config.isp_default_version.clone())
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_owned(), Quantity(cpu.to_owned())),
        ("memory".to_owned(), Quantity(memory.to_owned())),
    ])
}

fn port(name: &str, number: i32, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some(protocol.into()),
        ..ContainerPort::default()
    }
}

/// FreeRADIUS (the tenant's release of the freeradius image): NAS send to its UDP 1812 and
/// 1813, it asks the instance over the pod's loopback with the AAA secret from the credentials
/// Secret, and serves its counters to the instance on loopback. Its pid file goes to a small
/// emptyDir; the root filesystem stays read-only.
fn freeradius(owned: &Owned<'_>, config: &ControllerConfig) -> Container {
    Container {
        name: RADIUS.into(),
        image: Some(format!(
            "{}:{}",
            config.freeradius_image,
            version(owned, config)
        )),
        ports: Some(vec![
            port("radius-auth", RADIUS_AUTH_PORT, "UDP"),
            port("radius-acct", RADIUS_ACCT_PORT, "UDP"),
            port("radius-status", RADIUS_STATUS_PORT, "UDP"),
        ]),
        env: Some(vec![
            var(
                "DOTMAC_RADIUS_AUTH_LISTEN",
                format!("0.0.0.0:{RADIUS_AUTH_PORT}"),
            ),
            var(
                "DOTMAC_RADIUS_ACCT_LISTEN",
                format!("0.0.0.0:{RADIUS_ACCT_PORT}"),
            ),
            var(
                "DOTMAC_RADIUS_STATUS_LISTEN",
                format!("127.0.0.1:{RADIUS_STATUS_PORT}"),
            ),
            var("DOTMAC_AAA_URL", format!("http://127.0.0.1:{AAA_PORT}")),
            var("DOTMAC_RADIUS_RUN_DIR", RADIUS_RUN_DIR),
            EnvVar {
                name: instance::AAA_SECRET.into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: CREDENTIALS_SECRET.into(),
                        key: instance::AAA_SECRET.into(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(
                RADIUS_RESOURCES.cpu_request,
                RADIUS_RESOURCES.memory_request,
            )),
            limits: Some(quantities(
                RADIUS_RESOURCES.cpu_limit,
                RADIUS_RESOURCES.memory_limit,
            )),
            ..ResourceRequirements::default()
        }),
        security_context: Some(restricted()),
        volume_mounts: Some(vec![VolumeMount {
            name: RADIUS_RUN.into(),
            mount_path: RADIUS_RUN_DIR.into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

/// Non-root, read-only root filesystem, no privilege escalation, no capabilities.
fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

/// The entitlements file read-only at its contract path, and `/tmp`.
fn volume_mounts() -> Vec<VolumeMount> {
    vec![
        VolumeMount {
            name: "config".into(),
            mount_path: instance::CONFIG_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        },
    ]
}

/// The entitlements file from the ConfigMap, and a small writable `/tmp`.
fn volumes() -> Vec<Volume> {
    vec![
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: APP.into(),
                items: Some(vec![KeyToPath {
                    key: instance::ENTITLEMENTS_KEY.into(),
                    path: instance::ENTITLEMENTS_KEY.into(),
                    ..KeyToPath::default()
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("256Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        },
    ]
}

/// An HTTP probe of `path` on the `http` port.
fn probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        ..Probe::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..SeccompProfile::default()
    }
}
