//! The node agent: one task per pod prepares its volumes and keeps them current, and one task
//! per container resolves its environment, starts its process, runs its probes and restarts it
//! with back-off. Tasks only record what happens in the pod's [`Report`]; the runtime loop turns
//! reports into pod status and events ([`super::podstatus`]).

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::sync::watch;

use super::{
    env::{self, Sources},
    images::ImageMap,
    owned,
    probe::{Probe, ProbeError},
    process::{self, Exit, Launch, Process},
    volumes::{self, Content},
};

/// Settings every pod shares.
#[derive(Debug)]
pub struct Node {
    /// Where pods keep their volumes and logs (`<dir>/<namespace>/<pod>/`).
    pub pods_dir: PathBuf,
    /// The images that run, and their programs.
    pub images: ImageMap,
    /// The API server, for `KUBERNETES_SERVICE_HOST` and `_PORT`.
    pub api: std::net::SocketAddr,
    /// The first restart back-off; it doubles to five minutes, as the kubelet's does.
    pub backoff: Duration,
}

impl Node {
    /// The directory of pod `name` in `namespace`.
    pub fn pod_dir(&self, namespace: &str, name: &str) -> PathBuf {
        self.pods_dir.join(namespace).join(name)
    }
}

/// What the pod should be: its object, its namespace's ConfigMaps and Secrets, whether it
/// is being deleted (with its grace period), and its ServiceAccount token.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The Pod.
    pub pod: Arc<Value>,
    /// Its namespace's sources.
    pub sources: Arc<Sources>,
    /// Set once the pod is deleted.
    pub deleting: Option<Duration>,
    /// Its ServiceAccount's token, when one is mounted.
    pub token: Option<PodToken>,
}

/// A pod's ServiceAccount token (kept out of debug output).
#[derive(Clone, PartialEq, Eq)]
pub struct PodToken(pub Arc<str>);

impl std::fmt::Debug for PodToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PodToken(…)")
    }
}

/// Where a container finds its ServiceAccount's token and namespace, as in a cluster; beside
/// them devcluster puts a `kubeconfig` for its plain-HTTP server, which `KUBECONFIG` names.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Writes the token, namespace and kubeconfig files of `token` into `dir`.
fn write_service_account(
    dir: &std::path::Path,
    api: std::net::SocketAddr,
    namespace: &str,
    token: &PodToken,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: devcluster\n  cluster:\n    server: http://{api}\nusers:\n- name: pod\n  user:\n    tokenFile: {SERVICE_ACCOUNT_DIR}/token\ncontexts:\n- name: pod\n  context:\n    cluster: devcluster\n    user: pod\n    namespace: {namespace}\ncurrent-context: pod\n"
    );
    for (name, content) in [
        ("token", &*token.0),
        ("namespace", namespace),
        ("kubeconfig", &kubeconfig),
    ] {
        let part = dir.join(format!(".{name}.part"));
        std::fs::write(&part, content)?;
        std::fs::rename(&part, dir.join(name))?;
    }
    Ok(())
}

/// A container's state as the pod status shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not running: `ContainerCreating`, `CreateContainerConfigError`, `CrashLoopBackOff`, ….
    Waiting {
        /// Reason.
        reason: String,
        /// Message.
        message: String,
    },
    /// Running since.
    Running {
        /// RFC 3339.
        started_at: String,
    },
    /// Ended.
    Terminated(Terminated),
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminated {
    /// Exit code.
    pub exit_code: i32,
    /// Signal, if one ended it.
    pub signal: Option<i32>,
    /// `Completed`, `Error` or `StartError`.
    pub reason: String,
    /// Why, when known.
    pub message: String,
    /// RFC 3339, if it started.
    pub started_at: Option<String>,
    /// RFC 3339.
    pub finished_at: String,
}

/// One container's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Current state.
    pub state: State,
    /// The run before.
    pub last: Option<Terminated>,
    /// Readiness probe passing (or running without one).
    pub ready: bool,
    /// Startup probe passed (or running without one).
    pub started: bool,
    /// Restarts so far.
    pub restarts: u32,
    /// The process id while running.
    pub pid: Option<i32>,
}

/// An event to record on the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    /// Reason.
    pub reason: &'static str,
    /// Message.
    pub message: String,
}

/// What a pod's tasks have to say.
#[derive(Debug, Default)]
pub struct Report {
    /// By container name.
    pub containers: BTreeMap<String, Container>,
    /// Events not yet recorded.
    pub notes: Vec<Note>,
    /// Every process has stopped after deletion.
    pub stopped: bool,
}

/// A pod's shared report.
pub type Shared = Arc<Mutex<Report>>;

fn with<T>(report: &Shared, f: impl FnOnce(&mut Report) -> T) -> T {
    f(&mut report.lock().unwrap_or_else(PoisonError::into_inner))
}

fn note(report: &Shared, type_: &'static str, reason: &'static str, message: String) {
    with(report, |r| {
        r.notes.push(Note {
            type_,
            reason,
            message,
        });
    });
}

fn set(report: &Shared, name: &str, f: impl FnOnce(&mut Container)) {
    with(report, |r| {
        let c = r
            .containers
            .entry(name.to_owned())
            .or_insert_with(|| Container {
                state: waiting("ContainerCreating", ""),
                last: None,
                ready: false,
                started: false,
                restarts: 0,
                pid: None,
            });
        f(c);
    });
}

fn waiting(reason: &str, message: &str) -> State {
    State::Waiting {
        reason: reason.to_owned(),
        message: message.to_owned(),
    }
}

/// Everything a pod's tasks need.
#[derive(Debug, Clone)]
pub struct PodCtx {
    /// The node.
    pub node: Arc<Node>,
    /// The pod's own address.
    pub ip: IpAddr,
    /// Its report.
    pub report: Shared,
    /// What it should be.
    pub desired: watch::Receiver<Desired>,
}

/// Runs a pod until it is deleted and every process has stopped.
pub async fn run_pod(mut ctx: PodCtx) {
    let pod = ctx.desired.borrow().pod.clone();
    let (namespace, name) = (
        owned(&pod, "/metadata/namespace"),
        owned(&pod, "/metadata/name"),
    );
    let dir = ctx.node.pod_dir(&namespace, &name);
    let containers: Vec<String> = containers(&pod).iter().map(|c| owned(c, "/name")).collect();
    for c in &containers {
        set(&ctx.report, c, |_| {});
    }
    let mut last_failure = String::new();
    loop {
        let desired = ctx.desired.borrow().clone();
        if desired.deleting.is_some() {
            with(&ctx.report, |r| r.stopped = true);
            return;
        }
        match sync_volumes(&dir, &desired) {
            Ok(_) => break,
            Err(why) => {
                if why != last_failure {
                    note(&ctx.report, "Warning", "FailedMount", why.clone());
                    last_failure = why;
                }
                let _ = tokio::time::timeout(Duration::from_secs(2), ctx.desired.changed()).await;
            }
        }
    }
    let mut tasks = Tasks(
        (0..containers.len())
            .map(|index| tokio::spawn(run_container(ctx.clone(), index)))
            .collect(),
    );
    while ctx.desired.changed().await.is_ok() {
        let desired = ctx.desired.borrow().clone();
        if desired.deleting.is_some() {
            break;
        }
        if let Err(why) = sync_volumes(&dir, &desired) {
            note(&ctx.report, "Warning", "FailedMount", why);
        }
    }
    for task in std::mem::take(&mut tasks.0) {
        let _ = task.await;
    }
    with(&ctx.report, |r| r.stopped = true);
}

/// A pod's container tasks, aborted (their processes killed) if the pod's task is.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Writes the pod's volumes; an error keeps what was written before.
fn sync_volumes(dir: &std::path::Path, desired: &Desired) -> Result<(), String> {
    let contents = volumes::contents(&desired.pod, &desired.sources).map_err(|e| e.to_string())?;
    for (name, content) in &contents {
        volumes::write(&dir.join("volumes").join(name), content)
            .map_err(|e| format!("MountVolume.SetUp failed for volume \"{name}\" : {e}"))?;
    }
    Ok(())
}

/// How a supervised run ended.
enum Outcome {
    /// The process ended, or was stopped after failing a probe.
    Ended(Exit, Instant),
    /// The pod was deleted and the process stopped.
    Deleted(Exit),
}

/// Starts, supervises and restarts one container until the pod is deleted.
async fn run_container(mut ctx: PodCtx, index: usize) {
    let mut delay = ctx.node.backoff;
    loop {
        let desired = ctx.desired.borrow().clone();
        if desired.deleting.is_some() {
            return;
        }
        let Some(container) = containers(&desired.pod).get(index).cloned() else {
            return;
        };
        let name = owned(&container, "/name");
        let launch = match prepare(&ctx, &desired, &container) {
            Ok(launch) => launch,
            Err(why) => {
                set(&ctx.report, &name, |c| {
                    c.state = waiting("CreateContainerConfigError", &why);
                });
                note(&ctx.report, "Warning", "Failed", format!("Error: {why}"));
                let _ = tokio::time::timeout(Duration::from_secs(2), ctx.desired.changed()).await;
                continue;
            }
        };
        let outcome = match start(&ctx, &name, &launch) {
            Some(mut process) => supervise(&mut ctx, &mut process, &container).await,
            None => Outcome::Ended(
                Exit {
                    code: 128,
                    signal: None,
                },
                Instant::now(),
            ),
        };
        match outcome {
            Outcome::Deleted(exit) => {
                set(&ctx.report, &name, |c| {
                    c.state = State::Terminated(ended(exit, c));
                    c.ready = false;
                    c.pid = None;
                });
                return;
            }
            Outcome::Ended(exit, since) => {
                if since.elapsed() > Duration::from_secs(600) {
                    delay = ctx.node.backoff;
                }
                if !restarts(&desired.pod, exit) {
                    set(&ctx.report, &name, |c| {
                        c.state = State::Terminated(ended(exit, c));
                        c.ready = false;
                        c.pid = None;
                    });
                    let _ = wait_deleted(&mut ctx.desired).await;
                    return;
                }
                back_off(&mut ctx, &name, exit, delay).await;
                delay = (delay * 2).min(Duration::from_secs(300));
            }
        }
    }
}

/// Records the ended run and waits `delay` in `CrashLoopBackOff` (or until the pod is deleted).
async fn back_off(ctx: &mut PodCtx, name: &str, exit: Exit, delay: Duration) {
    let pod = owned(&ctx.desired.borrow().pod, "/metadata/name");
    let message = format!(
        "back-off {}s restarting failed container={name} pod={pod}",
        delay.as_secs()
    );
    set(&ctx.report, name, |c| {
        c.last = Some(ended(exit, c));
        c.restarts += 1;
        c.state = waiting("CrashLoopBackOff", &message);
        c.ready = false;
        c.started = false;
        c.pid = None;
    });
    note(
        &ctx.report,
        "Warning",
        "BackOff",
        format!("Back-off restarting failed container {name} in pod {pod}"),
    );
    let _ = tokio::time::timeout(delay, wait_deleted(&mut ctx.desired)).await;
}

/// Resolves until the pod is marked deleted (or its runtime goes away).
async fn wait_deleted(desired: &mut watch::Receiver<Desired>) -> Option<Duration> {
    loop {
        if let Some(grace) = desired.borrow().deleting {
            return Some(grace);
        }
        desired.changed().await.ok()?;
    }
}

/// The termination record of a run that began at `since`.
fn ended(exit: Exit, c: &Container) -> Terminated {
    let started_at = match &c.state {
        State::Running { started_at } => Some(started_at.clone()),
        _ => None,
    };
    Terminated {
        exit_code: exit.code,
        signal: exit.signal,
        reason: match (exit.code, started_at.is_some()) {
            (_, false) => "StartError".into(),
            (0, _) => "Completed".into(),
            _ => "Error".into(),
        },
        message: String::new(),
        started_at,
        finished_at: crate::store::now(),
    }
}

/// Whether the pod's restart policy restarts a container that ended with `exit`.
fn restarts(pod: &Value, exit: Exit) -> bool {
    match pod.pointer("/spec/restartPolicy").and_then(Value::as_str) {
        Some("Never") => false,
        Some("OnFailure") => exit.code != 0,
        _ => true,
    }
}

/// Starts the process, recording the start or the failure.
fn start(ctx: &PodCtx, name: &str, launch: &Launch) -> Option<Process> {
    let current = &launch.log;
    if current.exists() {
        let previous = current.with_extension("previous.log");
        let _ = std::fs::rename(current, previous);
    }
    match process::spawn(launch) {
        Ok(process) => {
            let pid = process.pid();
            set(&ctx.report, name, |c| {
                c.state = State::Running {
                    started_at: crate::store::now(),
                };
                c.pid = Some(pid);
                c.ready = false;
                c.started = false;
            });
            note(
                &ctx.report,
                "Normal",
                "Started",
                format!("Started container {name}"),
            );
            Some(process)
        }
        Err(e) => {
            let message = format!("failed to start {:?}: {e}", launch.argv.first());
            set(&ctx.report, name, |c| {
                c.state = waiting("RunContainerError", &message);
            });
            note(
                &ctx.report,
                "Warning",
                "Failed",
                format!("Error: {message}"),
            );
            None
        }
    }
}

/// The process to start for `container`: its program, environment and mounts.
fn prepare(ctx: &PodCtx, desired: &Desired, container: &Value) -> Result<Launch, String> {
    let pod = &desired.pod;
    let image = owned(container, "/image");
    let program = ctx
        .node
        .images
        .program(&image)
        .ok_or_else(|| format!("image {image:?} is not mapped to a program"))?;
    for field in ["startupProbe", "livenessProbe", "readinessProbe"] {
        Probe::of(container, field).map_err(|e: ProbeError| format!("{field}: {e}"))?;
    }
    // The kubelet knows the pod's address before the status shows it.
    let mut pod = pod.as_ref().clone();
    pod["status"]["podIP"] = Value::from(ctx.ip.to_string());
    pod["status"]["hostIP"] = Value::from(ctx.node.api.ip().to_string());
    let pod = &pod;
    let mut env = env::resolve(container, pod, &desired.sources).map_err(|e| e.to_string())?;
    bind_own_address(&mut env, ctx.ip, &container_ports(container));
    let pod_ports: Vec<u16> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(container_ports)
        .collect();
    share_own_loopback(&mut env, ctx.ip, &pod_ports);
    let name = owned(pod, "/metadata/name");
    let defaults = [
        ("HOSTNAME", name.clone()),
        ("KUBERNETES_SERVICE_HOST", ctx.node.api.ip().to_string()),
        ("KUBERNETES_SERVICE_PORT", ctx.node.api.port().to_string()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ];
    for (key, value) in defaults {
        if !env.iter().any(|(k, _)| k == key) {
            env.push((key.to_owned(), value));
        }
    }
    let namespace = owned(pod, "/metadata/namespace");
    let dir = ctx.node.pod_dir(&namespace, &name);
    let contents: BTreeMap<String, Content> =
        volumes::contents(pod, &desired.sources).map_err(|e| e.to_string())?;
    let mut mounts =
        volumes::mounts(container, &dir.join("volumes"), &contents).map_err(|e| e.to_string())?;
    if let Some(token) = &desired.token {
        let source = dir.join("serviceaccount");
        write_service_account(&source, ctx.node.api, &namespace, token)
            .map_err(|e| format!("writing the service account token: {e}"))?;
        mounts.push(volumes::Mount {
            source,
            target: PathBuf::from(SERVICE_ACCOUNT_DIR),
            read_only: true,
        });
        if !env.iter().any(|(k, _)| k == "KUBECONFIG") {
            env.push((
                "KUBECONFIG".into(),
                format!("{SERVICE_ACCOUNT_DIR}/kubeconfig"),
            ));
        }
    }
    let argv = env::command_line(container, program, &env);
    let working_dir = container
        .get("workingDir")
        .and_then(Value::as_str)
        .map(PathBuf::from);
    Ok(Launch {
        argv,
        env,
        mounts,
        working_dir,
        log: process::log_path(&dir, &owned(container, "/name"), false),
    })
}

/// The listen override: a value that binds every address on one of the container's ports
/// (`0.0.0.0:8001`, `[::]:8001`, `:8001`) binds the pod's own address instead, so each pod
/// has its port to itself on loopback while the manifest stays what a cluster gets.
pub fn bind_own_address(env: &mut [(String, String)], ip: IpAddr, ports: &[u16]) {
    for (_, value) in env.iter_mut() {
        let port = ["0.0.0.0:", "[::]:", ":"]
            .iter()
            .find_map(|p| value.strip_prefix(p))
            .and_then(|p| p.parse::<u16>().ok());
        if let Some(port) = port.filter(|p| ports.contains(p)) {
            *value = std::net::SocketAddr::new(ip, port).to_string();
        }
    }
}

/// The pod's loopback: containers of one pod share `127.0.0.1`, and here each pod has its own
/// address instead, so `127.0.0.1:<port>` or `localhost:<port>` in a setting (an address or a
/// URL) goes to the pod's address when a container of the pod declares that port. Other
/// loopback ports (services of the machine itself) stay as written.
pub fn share_own_loopback(env: &mut [(String, String)], ip: IpAddr, pod_ports: &[u16]) {
    for (_, value) in env.iter_mut() {
        for host in ["127.0.0.1:", "localhost:"] {
            let mut out = String::with_capacity(value.len());
            let mut rest = value.as_str();
            while let Some(at) = rest.find(host) {
                let after = &rest[at + host.len()..];
                let digits = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                let port = after[..digits].parse::<u16>().ok();
                out.push_str(&rest[..at]);
                match port.filter(|p| pod_ports.contains(p)) {
                    Some(port) => out.push_str(&std::net::SocketAddr::new(ip, port).to_string()),
                    None => out.push_str(&rest[at..at + host.len() + digits]),
                }
                rest = &after[digits..];
            }
            out.push_str(rest);
            *value = out;
        }
    }
}

fn container_ports(container: &Value) -> Vec<u16> {
    container
        .get("ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("containerPort").and_then(Value::as_u64))
                .filter_map(|n| u16::try_from(n).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The probes of a running container, each with when it runs next and its streaks.
struct Probing {
    probe: Probe,
    due: Instant,
    passes: u32,
    failures: u32,
}

impl Probing {
    fn new(probe: Probe, started: Instant) -> Self {
        Self {
            due: started + probe.initial_delay,
            probe,
            passes: 0,
            failures: 0,
        }
    }

    /// Runs the probe; `Some(true)` when it crosses its success threshold, `Some(false)` when
    /// it crosses its failure threshold (with the message), `None` otherwise.
    async fn step(&mut self, ip: IpAddr) -> (Option<bool>, String) {
        self.due = Instant::now() + self.probe.period;
        match self.probe.run(ip).await {
            Ok(()) => {
                self.failures = 0;
                self.passes += 1;
                (
                    (self.passes == self.probe.success_threshold).then_some(true),
                    String::new(),
                )
            }
            Err(why) => {
                self.passes = 0;
                self.failures += 1;
                (
                    (self.failures == self.probe.failure_threshold).then_some(false),
                    why,
                )
            }
        }
    }
}

/// Watches a running container: probes, exit, deletion.
async fn supervise(ctx: &mut PodCtx, process: &mut Process, container: &Value) -> Outcome {
    let since = Instant::now();
    let name = owned(container, "/name");
    let probe = |field| Probe::of(container, field).ok().flatten();
    let mut startup = probe("startupProbe").map(|p| Probing::new(p, since));
    let mut liveness = probe("livenessProbe").map(|p| Probing::new(p, since));
    let mut readiness = probe("readinessProbe").map(|p| Probing::new(p, since));
    let grace = grace_period(&ctx.desired.borrow().pod);
    if startup.is_none() {
        set(&ctx.report, &name, |c| {
            c.started = true;
            c.ready = readiness.is_none();
        });
    }
    loop {
        let started = startup.is_none();
        let next = [
            startup.as_ref().map(|p| p.due),
            liveness.as_ref().filter(|_| started).map(|p| p.due),
            readiness.as_ref().filter(|_| started).map(|p| p.due),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            exit = process.wait() => {
                let exit = exit.unwrap_or(Exit { code: 128, signal: None });
                return Outcome::Ended(exit, since);
            }
            changed = ctx.desired.changed() => {
                let deleting = ctx.desired.borrow().deleting;
                if changed.is_err() || deleting.is_some() {
                    note(&ctx.report, "Normal", "Killing", format!("Stopping container {name}"));
                    let exit = process.stop(deleting.unwrap_or(grace)).await;
                    return Outcome::Deleted(exit.unwrap_or(Exit { code: 137, signal: Some(9) }));
                }
            }
            () = tokio::time::sleep_until(next.into()) => {
                let now = Instant::now();
                if let Some(p) = startup.as_mut().filter(|p| p.due <= now) {
                    match p.step(ctx.ip).await {
                        (Some(true), _) => {
                            startup = None;
                            set(&ctx.report, &name, |c| { c.started = true; c.ready = readiness.is_none(); });
                        }
                        (Some(false), why) => return kill(ctx, process, &name, "Startup", &why, grace, since).await,
                        _ => {}
                    }
                    continue;
                }
                if let Some(p) = liveness.as_mut().filter(|p| p.due <= now)
                    && let (Some(false), why) = p.step(ctx.ip).await
                {
                    return kill(ctx, process, &name, "Liveness", &why, grace, since).await;
                }
                if let Some(p) = readiness.as_mut().filter(|p| p.due <= now)
                    && let (Some(ready), why) = p.step(ctx.ip).await
                {
                    set(&ctx.report, &name, |c| c.ready = ready);
                    if !ready {
                        note(&ctx.report, "Warning", "Unhealthy", format!("Readiness probe failed: {why}"));
                    }
                }
            }
        }
    }
}

/// Stops a container whose startup or liveness probe failed, so it restarts.
async fn kill(
    ctx: &PodCtx,
    process: &mut Process,
    name: &str,
    which: &str,
    why: &str,
    grace: Duration,
    since: Instant,
) -> Outcome {
    note(
        &ctx.report,
        "Warning",
        "Unhealthy",
        format!("{which} probe failed: {why}"),
    );
    note(
        &ctx.report,
        "Normal",
        "Killing",
        format!(
            "Container {name} failed {} probe, will be restarted",
            which.to_lowercase()
        ),
    );
    let exit = process.stop(grace).await.unwrap_or(Exit {
        code: 137,
        signal: Some(9),
    });
    Outcome::Ended(exit, since)
}

/// `terminationGracePeriodSeconds`, 30 by default.
pub fn grace_period(pod: &Value) -> Duration {
    Duration::from_secs(
        pod.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(30),
    )
}

fn containers(pod: &Value) -> Vec<Value> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_setting_binds_the_pods_own_address() {
        let ip: IpAddr = "127.10.0.4".parse().unwrap();
        let mut env = vec![
            ("LISTEN".to_owned(), "0.0.0.0:8001".to_owned()),
            ("OTHER".to_owned(), "0.0.0.0:9999".to_owned()),
            ("V6".to_owned(), "[::]:8001".to_owned()),
            ("URL".to_owned(), "http://0.0.0.0:8001".to_owned()),
        ];
        bind_own_address(&mut env, ip, &[8001]);
        assert_eq!(env[0].1, "127.10.0.4:8001");
        assert_eq!(env[1].1, "0.0.0.0:9999", "not a container port");
        assert_eq!(env[2].1, "127.10.0.4:8001");
        assert_eq!(env[3].1, "http://0.0.0.0:8001", "only bind settings");
    }

    #[test]
    fn the_pods_loopback_is_the_pods_own_address() {
        let ip: IpAddr = "127.10.0.4".parse().unwrap();
        let mut env = vec![
            ("AAA".to_owned(), "127.0.0.1:8002".to_owned()),
            ("URL".to_owned(), "http://127.0.0.1:8002/aaa".to_owned()),
            ("NAMED".to_owned(), "http://localhost:18121".to_owned()),
            (
                "DATABASE".to_owned(),
                "postgres://u:p@127.0.0.1:5432/db".to_owned(),
            ),
        ];
        share_own_loopback(&mut env, ip, &[8001, 8002, 18121]);
        assert_eq!(env[0].1, "127.10.0.4:8002");
        assert_eq!(env[1].1, "http://127.10.0.4:8002/aaa");
        assert_eq!(env[2].1, "http://127.10.0.4:18121");
        assert_eq!(
            env[3].1, "postgres://u:p@127.0.0.1:5432/db",
            "the machine's own services stay on its loopback"
        );
    }
}
