//! The process runtime: devcluster as its own node. Pods whose images are mapped to local
//! programs ([`images`]) run as child processes, each on a loopback address of its own
//! (in a loopback block of its own, [`net`]), with its environment ([`env`]), volumes ([`volumes`]) and probes
//! ([`probe`]) handled as the kubelet does ([`kubelet`]); Deployments and ReplicaSets of such
//! pods are rolled out on real readiness ([`rollout`]); Services forward from their loopback
//! cluster IP to ready pods ([`proxy`]). Workloads of images that are not mapped keep the
//! simulated status of [`crate::store`].
//!
//! One loop, ten times a second, reads what it needs under the store's lock, makes the
//! controllers' writes, hands each pod's desired state to its tasks, and writes back the pod
//! status and events the tasks report. A pod that stays as it is writes nothing.

pub mod defaults;
pub mod env;
pub mod images;
pub mod kubelet;
pub mod net;
pub mod podstatus;
pub mod probe;
pub mod process;
pub mod proxy;
pub mod rollout;
pub mod volumes;

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::Arc,
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

use crate::{
    fields::Part,
    resources::{GroupResource, ResourceType},
    selectors::{FieldSelector, LabelSelector},
    server::App,
    store::{FieldValidation, PatchType, Store, WriteCtx},
};
use env::Sources;
use kubelet::{Desired, Node, PodCtx, PodToken, Report, Shared};
use rollout::Write;

/// The field manager of the runtime's writes.
const MANAGER: &str = "devcluster-kubelet";

/// A running pod's tasks and what the loop knows about them.
struct Pod {
    uid: String,
    /// Its ServiceAccount's token, when one is mounted.
    token: Option<PodToken>,
    ip: IpAddr,
    start_time: String,
    desired: watch::Sender<Desired>,
    report: Shared,
    task: JoinHandle<()>,
}

/// The runtime's state between ticks.
pub struct Runtime {
    node: Arc<Node>,
    pods: HashMap<(String, String), Pod>,
    proxies: proxy::Proxies,
    block: net::Block,
    next_ip: u32,
}

impl Runtime {
    /// A runtime for `node`, its pods on addresses of `block`.
    pub fn new(node: Node, block: net::Block) -> Self {
        Self {
            node: Arc::new(node),
            pods: HashMap::new(),
            proxies: proxy::Proxies::default(),
            block,
            next_ip: 0,
        }
    }

    /// Runs the loop until `stop` fires, then stops every pod within its grace period (at
    /// most 10 s). Aborting the task instead kills the processes at once.
    pub async fn run(mut self, app: Arc<App>, mut stop: oneshot::Receiver<()>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stop => break,
            }
            let mut store = app.store();
            self.step(&mut store);
            app.flush(&mut store);
        }
        let tasks: Vec<JoinHandle<()>> = self
            .pods
            .drain()
            .map(|(_, pod)| {
                let grace = grace(&pod.desired.borrow().pod).min(Duration::from_secs(10));
                pod.desired.send_modify(|d| d.deleting = Some(grace));
                pod.task
            })
            .collect();
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(12), task).await;
        }
    }

    /// One pass: controllers, pods, Services.
    pub fn step(&mut self, store: &mut Store) {
        let world = World::read(store);
        let mut writes = Vec::new();
        for d in &world.deployments {
            if self
                .node
                .images
                .runs(d.pointer("/spec/template/spec").unwrap_or(&Value::Null))
            {
                let ns = text(d, "/metadata/namespace");
                let key = (ns.to_owned(), text(d, "/metadata/name").to_owned());
                let replicas = d
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                if let Some(bounded) = store.autoscaled_replicas(&key, replicas) {
                    // An autoscaler moves replicas into its bounds, as the HPA controller does.
                    writes.push(Write::Patch {
                        resource: "deployments",
                        namespace: key.0,
                        name: key.1,
                        body: json!({"spec": {"replicas": bounded}}),
                        status: false,
                    });
                    continue;
                }
                writes.extend(rollout::deployment(
                    d,
                    &world.in_ns(&world.replica_sets, ns),
                    &world.in_ns(&world.pods, ns),
                ));
            }
        }
        for rs in &world.replica_sets {
            if self
                .node
                .images
                .runs(rs.pointer("/spec/template/spec").unwrap_or(&Value::Null))
            {
                let ns = text(rs, "/metadata/namespace");
                writes.extend(rollout::replica_set(rs, &world.in_ns(&world.pods, ns)));
            }
        }
        for write in writes {
            apply(store, write);
        }
        self.sync_pods(store, &world);
        let routes = world
            .services
            .iter()
            .flat_map(|s| {
                proxy::routes(s, &world.in_ns(&world.pods, text(s, "/metadata/namespace")))
            })
            .collect();
        self.proxies.sync(routes);
    }

    /// Starts, updates, reports and finishes the pods on this node.
    fn sync_pods(&mut self, store: &mut Store, world: &World) {
        let mut seen = std::collections::HashSet::new();
        for pod in &world.pods {
            if !self
                .node
                .images
                .runs(pod.get("spec").unwrap_or(&Value::Null))
            {
                continue;
            }
            let key = (
                text(pod, "/metadata/namespace").to_owned(),
                text(pod, "/metadata/name").to_owned(),
            );
            if text(pod, "/spec/nodeName").is_empty() {
                patch(
                    store,
                    "pods",
                    &key.0,
                    &key.1,
                    json!({"spec": {"nodeName": rollout::NODE}}),
                    Part::Main,
                );
                continue;
            }
            let deleting = pod
                .pointer("/metadata/deletionTimestamp")
                .map(|_| grace(pod));
            let sources = world.sources(&key.0);
            let uid = text(pod, "/metadata/uid").to_owned();
            if self.pods.get(&key).is_some_and(|p| p.uid != uid) {
                // A new pod under an old name: the old one's processes stop first.
                self.finish_gone(&key);
                continue;
            }
            if !self.pods.contains_key(&key) {
                if deleting.is_some() {
                    store.remove_pod(&key.0, &key.1);
                    continue;
                }
                self.start_pod(store, pod, &key, sources.clone());
            }
            seen.insert(key.clone());
            let Some(running) = self.pods.get(&key) else {
                continue;
            };
            let desired = Desired {
                pod: Arc::new(pod.clone()),
                sources,
                deleting,
                token: running.token.clone(),
            };
            running.desired.send_if_modified(|d| {
                let changed = *d != desired;
                if changed {
                    *d = desired;
                }
                changed
            });
            let finished = report(store, pod, running);
            if finished && deleting.is_some() {
                store.remove_pod(&key.0, &key.1);
                self.forget(&key);
            }
        }
        let gone: Vec<(String, String)> = self
            .pods
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            self.finish_gone(&key);
        }
    }

    /// A pod removed without a graceful deletion (forced, or its namespace's): its
    /// processes are stopped at once.
    fn finish_gone(&mut self, key: &(String, String)) {
        let Some(pod) = self.pods.get(key) else {
            return;
        };
        pod.desired
            .send_modify(|d| d.deleting = Some(Duration::ZERO));
        if pod.task.is_finished() {
            self.forget(key);
        }
    }

    /// Drops a pod whose processes have stopped, with its volumes and logs.
    fn forget(&mut self, key: &(String, String)) {
        self.pods.remove(key);
        let _ = std::fs::remove_dir_all(self.node.pod_dir(&key.0, &key.1));
    }

    fn start_pod(
        &mut self,
        store: &mut Store,
        pod: &Value,
        key: &(String, String),
        sources: Arc<Sources>,
    ) {
        let ip = IpAddr::V4(self.block.pod(self.next_ip));
        self.next_ip = self.next_ip.wrapping_add(1);
        let token = pod_token(store, pod);
        let (desired, rx) = watch::channel(Desired {
            pod: Arc::new(pod.clone()),
            sources,
            deleting: None,
            token: token.clone(),
        });
        let report: Shared = Arc::default();
        let task = tokio::spawn(kubelet::run_pod(PodCtx {
            node: self.node.clone(),
            ip,
            report: report.clone(),
            desired: rx,
        }));
        record(
            store,
            pod,
            "Normal",
            "Scheduled",
            &format!(
                "Successfully assigned {}/{} to {}",
                key.0,
                key.1,
                rollout::NODE
            ),
        );
        self.pods.insert(
            key.clone(),
            Pod {
                uid: text(pod, "/metadata/uid").to_owned(),
                token,
                ip,
                start_time: crate::store::now(),
                desired,
                report,
                task,
            },
        );
    }
}

/// The token the kubelet mounts for `pod`: its ServiceAccount's (`default` unless named),
/// bound to the pod, unless `automountServiceAccountToken` is false on the pod or, when the
/// pod does not say, on the account. None when the account does not exist.
fn pod_token(store: &mut Store, pod: &Value) -> Option<PodToken> {
    let ns = text(pod, "/metadata/namespace").to_owned();
    let account = match text(pod, "/spec/serviceAccountName") {
        "" => "default".to_owned(),
        name => name.to_owned(),
    };
    let automount = pod
        .pointer("/spec/automountServiceAccountToken")
        .or_else(|| {
            store
                .service_account(&ns, &account)?
                .get("automountServiceAccountToken")
        })
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !automount {
        return None;
    }
    // A year: it ends with the pod, which it is bound to.
    let lifetime = Duration::from_secs(365 * 24 * 3600);
    let uid = text(pod, "/metadata/uid").to_owned();
    let (token, _) = store.issue_token(&ns, &account, Some(uid), lifetime)?;
    Some(PodToken(Arc::from(token)))
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for pod in self.pods.values() {
            pod.task.abort();
        }
    }
}

/// Writes the pod's status when it changed and records its new events; returns whether every
/// process has stopped.
fn report(store: &mut Store, pod: &Value, running: &Pod) -> bool {
    let (status, notes, stopped) = {
        let mut r = running
            .report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let notes = std::mem::take(&mut r.notes);
        let report: &Report = &r;
        (
            podstatus::status(pod, report, &running.ip.to_string(), &running.start_time),
            notes,
            r.stopped,
        )
    };
    for note in notes {
        record(store, pod, note.type_, note.reason, &note.message);
    }
    if pod.get("status") != Some(&status) {
        patch(
            store,
            "pods",
            text(pod, "/metadata/namespace"),
            text(pod, "/metadata/name"),
            json!({"status": status}),
            Part::Status,
        );
    }
    stopped
}

/// The grace period a deletion gives the pod's processes.
fn grace(pod: &Value) -> Duration {
    pod.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_u64)
        .map_or_else(|| kubelet::grace_period(pod), Duration::from_secs)
}

/// The objects one pass reads.
struct World {
    deployments: Vec<Value>,
    replica_sets: Vec<Value>,
    pods: Vec<Value>,
    services: Vec<Value>,
    sources: BTreeMap<String, Arc<Sources>>,
}

impl World {
    fn read(store: &Store) -> Self {
        let all = |group: &str, resource: &str| -> Vec<Value> {
            resource_type(store, group, resource).map_or_else(Vec::new, |rt| {
                let labels = LabelSelector::default();
                let fields = FieldSelector::default();
                store.list(&rt, None, &labels, &fields, None, None).0
            })
        };
        let mut sources: BTreeMap<String, Sources> = BTreeMap::new();
        for cm in all("", "configmaps") {
            let (ns, name) = (
                text(&cm, "/metadata/namespace").to_owned(),
                text(&cm, "/metadata/name").to_owned(),
            );
            sources.entry(ns).or_default().config_maps.insert(name, cm);
        }
        for secret in all("", "secrets") {
            let (ns, name) = (
                text(&secret, "/metadata/namespace").to_owned(),
                text(&secret, "/metadata/name").to_owned(),
            );
            sources.entry(ns).or_default().secrets.insert(name, secret);
        }
        Self {
            deployments: all("apps", "deployments"),
            replica_sets: all("apps", "replicasets"),
            pods: all("", "pods"),
            services: all("", "services"),
            sources: sources.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
        }
    }

    fn in_ns<'a>(&self, objects: &'a [Value], ns: &str) -> Vec<&'a Value> {
        objects
            .iter()
            .filter(|o| text(o, "/metadata/namespace") == ns)
            .collect()
    }

    fn sources(&self, ns: &str) -> Arc<Sources> {
        self.sources.get(ns).cloned().unwrap_or_default()
    }
}

fn resource_type(store: &Store, group: &str, resource: &str) -> Option<Arc<ResourceType>> {
    store.registry.get(&GroupResource {
        group: group.into(),
        resource: resource.into(),
    })
}

fn ctx() -> WriteCtx {
    WriteCtx {
        manager: MANAGER.into(),
        dry_run: false,
        validation: FieldValidation::Ignore,
    }
}

fn group_of(resource: &str) -> &'static str {
    match resource {
        "deployments" | "replicasets" => "apps",
        _ => "",
    }
}

fn apply(store: &mut Store, write: Write) {
    let outcome = match write {
        Write::Create {
            resource,
            namespace,
            object,
        } => resource_type(store, group_of(resource), resource)
            .map(|rt| store.create(&rt, &namespace, object, &ctx()).map(|_| ())),
        Write::Patch {
            resource,
            namespace,
            name,
            body,
            status,
        } => {
            patch(
                store,
                resource,
                &namespace,
                &name,
                body,
                if status { Part::Status } else { Part::Main },
            );
            None
        }
        Write::Delete {
            resource,
            namespace,
            name,
        } => resource_type(store, group_of(resource), resource).map(|rt| {
            let opts = crate::store::DeleteOpts {
                propagation: crate::store::Propagation::Background,
                uid: None,
                resource_version: None,
                dry_run: false,
                grace: None,
            };
            store.delete(&rt, &namespace, &name, &opts).map(|_| ())
        }),
    };
    if let Some(Err(e)) = outcome {
        tracing::debug!(error = %e.message, "runtime write refused");
    }
}

fn patch(store: &mut Store, resource: &str, ns: &str, name: &str, body: Value, part: Part) {
    let Some(rt) = resource_type(store, group_of(resource), resource) else {
        return;
    };
    if let Err(e) = store.patch(&rt, ns, name, PatchType::Merge, &body, part, &ctx()) {
        tracing::debug!(resource, namespace = ns, name, error = %e.message, "runtime patch refused");
    }
}

/// Records a core/v1 Event on `pod`, as the kubelet reports.
fn record(store: &mut Store, pod: &Value, type_: &str, reason: &str, message: &str) {
    let Some(rt) = resource_type(store, "", "events") else {
        return;
    };
    let now = crate::store::now();
    let (ns, name) = (
        text(pod, "/metadata/namespace"),
        text(pod, "/metadata/name"),
    );
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": format!("{name}."), "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": ns,
                           "uid": text(pod, "/metadata/uid")},
        "reason": reason, "message": message, "type": type_,
        "source": {"component": "kubelet", "host": rollout::NODE},
        "reportingComponent": "kubelet", "reportingInstance": rollout::NODE,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    });
    if let Err(e) = store.create(&rt, ns, event, &ctx()) {
        tracing::debug!(error = %e.message, "event refused");
    }
}

/// The string at `pointer` in a manifest, empty when absent (Kubernetes' zero value).
pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// [`text`], owned.
pub(crate) fn owned(v: &Value, pointer: &str) -> String {
    text(v, pointer).to_owned()
}
