//! The resource types devcluster serves: the built-in kinds the platform uses, and custom
//! resources registered from CustomResourceDefinitions.

use std::{collections::BTreeMap, sync::Arc};

use serde_json::Value;

use crate::crd_validation::{CrdSchema, SchemaError};

/// A resource type across versions: its API group and plural name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Plural resource name, e.g. `deployments`.
    pub resource: String,
}

/// An extra column in `kubectl get` output.
#[derive(Clone, Debug)]
pub struct Column {
    /// Column header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub kind: String,
    /// Simple JSONPath (`.status.phase`) of the value.
    pub json_path: String,
    /// 0 for the default view, more for `-o wide`.
    pub priority: i64,
}

/// Paths of the scale subresource.
#[derive(Clone, Debug)]
pub struct ScalePaths {
    /// Where the desired replicas live, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// Where the observed replicas live, e.g. `.status.replicas`.
    pub status_replicas: String,
}

/// One served resource type.
#[derive(Debug)]
pub struct ResourceType {
    /// API group (empty for core).
    pub group: String,
    /// The served (and stored) version.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Singular resource name.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories for `kubectl get <category>`.
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource (then the main resource ignores status changes).
    pub status_subresource: bool,
    /// The scale subresource, if any.
    pub scale: Option<ScalePaths>,
    /// Extra printer columns.
    pub columns: Vec<Column>,
    /// Schema of a custom resource.
    pub schema: Option<CrdSchema>,
    /// Whether this type comes from a CRD.
    pub custom: bool,
}

impl ResourceType {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The group and resource that key this type.
    pub fn group_resource(&self) -> GroupResource {
        GroupResource {
            group: self.group.clone(),
            resource: self.plural.clone(),
        }
    }

    /// `plural.group` (or just `plural` for core), as the API server names types in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// URL prefix of the group-version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        namespaced: false,
        short: &["ns"],
        status: true,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        namespaced: true,
        short: &[],
        status: false,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        namespaced: true,
        short: &["cm"],
        status: false,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        namespaced: true,
        short: &["svc"],
        status: true,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        namespaced: true,
        short: &["po"],
        status: true,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        namespaced: true,
        short: &["sa"],
        status: false,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        namespaced: true,
        short: &["ev"],
        status: false,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "ResourceQuota",
        plural: "resourcequotas",
        namespaced: true,
        short: &["quota"],
        status: true,
    },
    Builtin {
        group: "",
        version: "v1",
        kind: "LimitRange",
        plural: "limitranges",
        namespaced: true,
        short: &["limits"],
        status: false,
    },
    Builtin {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        namespaced: true,
        short: &["ev"],
        status: false,
    },
    Builtin {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        namespaced: true,
        short: &[],
        status: false,
    },
    Builtin {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        namespaced: true,
        short: &["deploy"],
        status: true,
    },
    Builtin {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        namespaced: true,
        short: &["rs"],
        status: true,
    },
    Builtin {
        group: "networking.k8s.io",
        version: "v1",
        kind: "Ingress",
        plural: "ingresses",
        namespaced: true,
        short: &["ing"],
        status: true,
    },
    Builtin {
        group: "networking.k8s.io",
        version: "v1",
        kind: "NetworkPolicy",
        plural: "networkpolicies",
        namespaced: true,
        short: &["netpol"],
        status: false,
    },
    Builtin {
        group: "autoscaling",
        version: "v2",
        kind: "HorizontalPodAutoscaler",
        plural: "horizontalpodautoscalers",
        namespaced: true,
        short: &["hpa"],
        status: true,
    },
    Builtin {
        group: "policy",
        version: "v1",
        kind: "PodDisruptionBudget",
        plural: "poddisruptionbudgets",
        namespaced: true,
        short: &["pdb"],
        status: true,
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "Role",
        plural: "roles",
        namespaced: true,
        short: &[],
        status: false,
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        namespaced: true,
        short: &[],
        status: false,
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRole",
        plural: "clusterroles",
        namespaced: false,
        short: &[],
        status: false,
    },
    Builtin {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        kind: "ClusterRoleBinding",
        plural: "clusterrolebindings",
        namespaced: false,
        short: &[],
        status: false,
    },
    Builtin {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        namespaced: false,
        short: &["crd", "crds"],
        status: true,
    },
];

fn builtin_columns(group: &str, kind: &str) -> Vec<Column> {
    let col = |name: &str, kind: &str, path: &str| Column {
        name: name.to_owned(),
        kind: kind.to_owned(),
        json_path: path.to_owned(),
        priority: 0,
    };
    match (group, kind) {
        ("", "Event") => vec![
            col("Type", "string", ".type"),
            col("Reason", "string", ".reason"),
            col("Object", "string", ".involvedObject.name"),
            col("Message", "string", ".message"),
        ],
        ("events.k8s.io", "Event") => vec![
            col("Type", "string", ".type"),
            col("Reason", "string", ".reason"),
            col("Object", "string", ".regarding.name"),
            col("Note", "string", ".note"),
        ],
        (_, "Namespace") => vec![col("Status", "string", ".status.phase")],
        (_, "Deployment") => vec![
            col("Ready", "integer", ".status.readyReplicas"),
            col("Up-to-date", "integer", ".status.updatedReplicas"),
            col("Available", "integer", ".status.availableReplicas"),
        ],
        (_, "Service") => vec![
            col("Type", "string", ".spec.type"),
            col("Cluster-IP", "string", ".spec.clusterIP"),
            col("External-IP", "string", "computed:service-external-ip"),
            col("Port(s)", "string", "computed:service-ports"),
        ],
        ("", "Pod") => vec![
            col("Ready", "string", "computed:pod-ready"),
            col("Status", "string", "computed:pod-status"),
            col("Restarts", "integer", "computed:pod-restarts"),
            col("Age", "date", ".metadata.creationTimestamp"),
            Column {
                priority: 1,
                ..col("IP", "string", ".status.podIP")
            },
            Column {
                priority: 1,
                ..col("Node", "string", ".spec.nodeName")
            },
        ],
        (_, "ReplicaSet") => vec![
            col("Desired", "integer", ".spec.replicas"),
            col("Current", "integer", ".status.replicas"),
            col("Ready", "integer", ".status.readyReplicas"),
        ],
        (_, "Secret") => vec![col("Type", "string", ".type")],
        _ => Vec::new(),
    }
}

/// All served resource types, keyed by group and plural.
#[derive(Debug, Default)]
pub struct Registry {
    types: BTreeMap<GroupResource, Arc<ResourceType>>,
}

impl Registry {
    /// The registry with the built-in kinds.
    pub fn with_builtins() -> Self {
        let mut registry = Self::default();
        for b in BUILTINS {
            let rt = ResourceType {
                group: b.group.to_owned(),
                version: b.version.to_owned(),
                kind: b.kind.to_owned(),
                plural: b.plural.to_owned(),
                singular: b.kind.to_lowercase(),
                namespaced: b.namespaced,
                short_names: if b.group == "events.k8s.io" {
                    Vec::new()
                } else {
                    b.short.iter().map(|s| (*s).to_owned()).collect()
                },
                categories: Vec::new(),
                status_subresource: b.status,
                scale: (b.kind == "Deployment").then(|| ScalePaths {
                    spec_replicas: ".spec.replicas".into(),
                    status_replicas: ".status.replicas".into(),
                }),
                columns: builtin_columns(b.group, b.kind),
                schema: None,
                custom: false,
            };
            registry.insert(rt);
        }
        registry
    }

    fn insert(&mut self, rt: ResourceType) {
        self.types.insert(rt.group_resource(), Arc::new(rt));
    }

    /// The type served at `group`/`version`/`plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types
            .get(&GroupResource {
                group: group.to_owned(),
                resource: plural.to_owned(),
            })
            .filter(|rt| rt.version == version)
            .cloned()
    }

    /// The type keyed by `gr`.
    pub fn get(&self, gr: &GroupResource) -> Option<Arc<ResourceType>> {
        self.types.get(gr).cloned()
    }

    /// Every type.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.types.values()
    }

    /// Registers (or replaces) the custom resource a CRD object defines.
    pub fn register_crd(&mut self, crd: &Value) -> Result<GroupResource, SchemaError> {
        let rt = resource_type_from_crd(crd)?;
        let gr = rt.group_resource();
        self.insert(rt);
        Ok(gr)
    }

    /// Removes the custom resource type `gr`.
    pub fn unregister(&mut self, gr: &GroupResource) {
        self.types.remove(gr);
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn strings_at(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the resource type of a CRD's storage version.
pub fn resource_type_from_crd(crd: &Value) -> Result<ResourceType, SchemaError> {
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let version = versions
        .iter()
        .find(|v| v.get("storage") == Some(&Value::Bool(true)))
        .or_else(|| versions.first())
        .ok_or_else(|| SchemaError::NoSuchVersion(String::new()))?;
    let name = str_at(version, "/name").to_owned();
    let schema = CrdSchema::new(crd, &name)?;
    let columns = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| Column {
                    name: str_at(c, "/name").to_owned(),
                    kind: str_at(c, "/type").to_owned(),
                    json_path: str_at(c, "/jsonPath").to_owned(),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_else(|| {
            vec![Column {
                name: "Age".into(),
                kind: "date".into(),
                json_path: ".metadata.creationTimestamp".into(),
                priority: 0,
            }]
        });
    let scale = version.pointer("/subresources/scale").map(|s| ScalePaths {
        spec_replicas: str_at(s, "/specReplicasPath").to_owned(),
        status_replicas: str_at(s, "/statusReplicasPath").to_owned(),
    });
    let plural = str_at(crd, "/spec/names/plural").to_owned();
    let kind = str_at(crd, "/spec/names/kind").to_owned();
    let singular = match str_at(crd, "/spec/names/singular") {
        "" => kind.to_lowercase(),
        s => s.to_owned(),
    };
    Ok(ResourceType {
        group: str_at(crd, "/spec/group").to_owned(),
        version: name,
        kind,
        plural,
        singular,
        namespaced: str_at(crd, "/spec/scope") != "Cluster",
        short_names: strings_at(crd, "/spec/names/shortNames"),
        categories: strings_at(crd, "/spec/names/categories"),
        status_subresource: version.pointer("/subresources/status").is_some(),
        scale,
        columns,
        schema: Some(schema),
        custom: true,
    })
}
