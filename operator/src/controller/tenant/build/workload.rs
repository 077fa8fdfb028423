//! The instance's Deployment: one hardened isp-runtime container reading its settings from the
//! ConfigMap and its credentials from the Secret, with probes, the size's resources and the
//! configuration hash that rolls the pods when either changes.

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

use super::{Owned, deployment_replicas, labels, selector};
use crate::{
    config::ControllerConfig,
    controller::tenant::names::{APP, CREDENTIALS_SECRET, ISP_PORT},
};

/// The annotation on the pod template that changes when the configuration or credentials do.
const CONFIG_HASH: &str = "platform.dotmac.io/config-hash";
/// The non-root user and group the instance runs as.
const RUN_AS: i64 = 10001;

/// The tenant's Deployment.
pub(super) fn deployment(
    owned: &Owned<'_>,
    config: &ControllerConfig,
    size: &SizeProfile,
    config_hash: String,
) -> Deployment {
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
            containers: vec![container(owned, config, size)],
            volumes: Some(volumes()),
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

/// The listen address, and the SMTP URL from the Secret `spec.mail` names (optional, so the
/// instance starts without it and the Tenant's `MailReady` says what is missing).
fn env(owned: &Owned<'_>) -> Vec<EnvVar> {
    let mut env = vec![EnvVar {
        name: instance::LISTEN.into(),
        value: Some(format!("0.0.0.0:{ISP_PORT}")),
        ..EnvVar::default()
    }];
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

fn container(owned: &Owned<'_>, config: &ControllerConfig, size: &SizeProfile) -> Container {
    let version = owned
        .tenant
        .spec
        .version
        .clone()
        .unwrap_or_else(|| config.isp_default_version.clone());
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ])
    };
    Container {
        name: APP.into(),
        image: Some(format!("{}:{version}", config.isp_image)),
        args: Some(vec!["serve".into()]),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: ISP_PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        env: Some(env(owned)),
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
