//! devcluster: a single-process Kubernetes API server over HTTP on loopback, for DotMac's tests
//! and local runs. It keeps the semantics operators depend on (resource versions and conflicts,
//! generation, list/watch with selectors and bookmarks, merge/JSON/apply patches with field
//! managers, status and scale subresources, finalizers, garbage collection, namespace
//! deletion, CRD schema validation with CEL) and simulates just enough controllers for a
//! tenant to become Ready. It is a test and development tool, never a production control plane.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dotmac_devcluster::StartError> {
//! let cluster = dotmac_devcluster::DevCluster::start().await?;
//! let client = cluster.client()?;           // a kube::Client
//! println!("export KUBECONFIG={}", cluster.kubeconfig().display());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod crd_validation;
pub mod discovery;
pub mod fields;
pub mod persist;
pub mod protobuf;
pub mod resources;
pub mod rfc6902;
pub mod runtime;
pub mod selectors;
pub mod server;
pub mod status;
pub mod store;
pub mod table;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use axum::Router;
use tokio::sync::oneshot;

use crate::{persist::DataFile, server::App, store::Store};

/// Start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The kubeconfig could not be written.
    #[error("writing the kubeconfig {path}: {source}")]
    Kubeconfig {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The data file could not be opened or read.
    #[error(transparent)]
    Data(#[from] persist::PersistError),
    /// No loopback block is free for the process runtime.
    #[error("claiming loopback addresses for pods: {0}")]
    Loopback(std::io::Error),
    /// A kube client could not be built.
    #[error("building a kube client: {0}")]
    Client(String),
}

/// How to start a devcluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where to write the kubeconfig; a temporary file when unset.
    pub kubeconfig: Option<PathBuf>,
    /// SQLite file to keep objects in across restarts; memory only when unset.
    pub data: Option<PathBuf>,
    /// Watch events kept for watches that resume from a resourceVersion.
    pub history: usize,
    /// How long a Deployment takes to report its replicas available.
    pub rollout_delay: Duration,
    /// How often watches that allow bookmarks get one.
    pub bookmark_interval: Duration,
    /// Images whose pods run as local processes ([`runtime`]); none by default.
    pub run_images: runtime::images::ImageMap,
    /// Where running pods keep their volumes and logs; a temporary directory when unset.
    pub pods_dir: Option<PathBuf>,
    /// The first back-off before a crashed container restarts (10 s, as the kubelet's).
    pub restart_backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig: None,
            data: None,
            history: 100_000,
            rollout_delay: Duration::from_millis(200),
            bookmark_interval: Duration::from_secs(5),
            run_images: runtime::images::ImageMap::default(),
            pods_dir: None,
            restart_backoff: Duration::from_secs(10),
        }
    }
}

/// A running devcluster; stops when dropped.
#[derive(Debug)]
pub struct DevCluster {
    addr: SocketAddr,
    kubeconfig: PathBuf,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    controllers: Option<tokio::task::JoinHandle<()>>,
    writer: Option<tokio::task::JoinHandle<()>>,
    runtime: Option<RuntimeTask>,
    _dir: Option<tempfile::TempDir>,
    _pods: Option<tempfile::TempDir>,
}

impl DevCluster {
    /// Starts an in-memory devcluster on a free loopback port with a temporary kubeconfig.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Options::default()).await
    }

    /// Starts a devcluster with `options`.
    pub async fn start_with(options: Options) -> Result<Self, StartError> {
        let mut store = Store::new(options.history, options.rollout_delay);
        let block = if options.run_images.is_empty() {
            None
        } else {
            let block = runtime::net::Block::claim().map_err(StartError::Loopback)?;
            store.set_run_images(options.run_images.clone(), block.octet());
            Some(block)
        };
        let (persist, writer) = match &options.data {
            Some(path) => {
                let (tx, task) = restore(&mut store, path).await?;
                (Some(tx), Some(task))
            }
            None => (None, None),
        };
        store.ensure_system_namespaces();
        let app = Arc::new(App::new(store, persist, options.bookmark_interval));
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;

        let (dir, kubeconfig) = kubeconfig_at(options.kubeconfig.clone(), addr)?;

        let router = Router::new()
            .fallback(server::handle)
            .with_state(app.clone());
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await;
        });
        let ticking = app.clone();
        let controllers = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(25));
            loop {
                tick.tick().await;
                let mut store = ticking.store();
                if store.run_controllers() > 0 {
                    ticking.flush(&mut store);
                }
            }
        }));
        let (runtime, pods) = match block {
            Some(block) => {
                let runtime_options = RuntimeOptions {
                    run_images: options.run_images,
                    pods_dir: options.pods_dir,
                    restart_backoff: options.restart_backoff,
                };
                let (runtime, temp) = start_runtime(&app, addr, block, runtime_options)?;
                (Some(runtime), temp)
            }
            None => (None, None),
        };
        Ok(Self {
            addr,
            kubeconfig,
            app,
            shutdown: Some(shutdown),
            server: Some(server),
            controllers,
            writer,
            runtime,
            _dir: dir,
            _pods: pods,
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The kubeconfig file pointing at this server.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kube client for this server.
    pub fn client(&self) -> Result<kube::Client, StartError> {
        let uri = self
            .url()
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| StartError::Client(e.to_string()))?;
        kube::Client::try_from(kube::Config::new(uri))
            .map_err(|e| StartError::Client(e.to_string()))
    }

    /// Requests served so far for `verb` (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, …) on `resource` (plural), any subresource.
    pub fn requests(&self, verb: &str, resource: &str) -> u64 {
        self.app
            .counters()
            .iter()
            .filter(|((v, r, _), _)| v == verb && r == resource)
            .map(|(_, n)| n)
            .sum()
    }

    /// Write requests (create, update, patch, delete, deletecollection) so far, all resources.
    pub fn writes(&self) -> u64 {
        self.app
            .counters()
            .iter()
            .filter(|((v, _, _), _)| {
                matches!(
                    v.as_str(),
                    "create" | "update" | "patch" | "delete" | "deletecollection"
                )
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Ends every open watch stream (clients must resume).
    pub fn close_watches(&self) {
        self.app.close_watches();
    }

    /// Stops the server, finishing persistence.
    pub async fn stop(mut self) {
        self.stop_inner().await;
    }

    async fn stop_inner(&mut self) {
        if let Some((stop, task)) = self.runtime.take() {
            // Pods get their grace period (at most 10 s) to stop, as on a node drain.
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.app.close_watches();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        if let Some(task) = self.controllers.take() {
            task.abort();
        }
        self.app.end_persistence();
        if let Some(writer) = self.writer.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), writer).await;
        }
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.app.close_watches();
        self.app.end_persistence();
        if let Some((_, task)) = self.runtime.take() {
            task.abort();
        }
        for task in [self.controllers.take(), self.server.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
    }
}

/// Loads the objects of the data file at `path` into `store`; returns where changes go and the
/// writer's task.
async fn restore(
    store: &mut Store,
    path: &Path,
) -> Result<
    (
        tokio::sync::mpsc::UnboundedSender<Vec<store::Change>>,
        tokio::task::JoinHandle<()>,
    ),
    StartError,
> {
    let file = Arc::new(DataFile::open(path).await?);
    for (gr, object) in file.load().await? {
        store.restore(gr, object);
    }
    store.restore_revision(file.revision().await?);
    Ok(file.spawn_writer())
}

/// Writes the kubeconfig for `addr` at `path`, or in a temporary directory (returned to keep).
fn kubeconfig_at(
    path: Option<PathBuf>,
    addr: SocketAddr,
) -> Result<(Option<tempfile::TempDir>, PathBuf), StartError> {
    let (dir, kubeconfig) = match path {
        Some(path) => (None, path),
        None => {
            let dir = tempfile::tempdir().map_err(|source| StartError::Kubeconfig {
                path: PathBuf::from("<temp>"),
                source,
            })?;
            let path = dir.path().join("kubeconfig");
            (Some(dir), path)
        }
    };
    write_kubeconfig(&kubeconfig, addr)?;
    Ok((dir, kubeconfig))
}

/// What the process runtime takes from [`Options`].
struct RuntimeOptions {
    run_images: runtime::images::ImageMap,
    pods_dir: Option<PathBuf>,
    restart_backoff: Duration,
}

/// A running process runtime: its stop signal and its task.
type RuntimeTask = (oneshot::Sender<()>, tokio::task::JoinHandle<()>);

/// Starts the process runtime on loopback block `block`, its pods under `options.pods_dir`
/// (a temporary directory, returned to keep, when unset).
fn start_runtime(
    app: &Arc<App>,
    api: SocketAddr,
    block: runtime::net::Block,
    options: RuntimeOptions,
) -> Result<(RuntimeTask, Option<tempfile::TempDir>), StartError> {
    let (pods_dir, temp) = match options.pods_dir {
        Some(dir) => (dir, None),
        None => {
            let temp = tempfile::tempdir().map_err(|source| StartError::Kubeconfig {
                path: PathBuf::from("<pods>"),
                source,
            })?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    app.set_pods_dir(pods_dir.clone());
    let node = runtime::kubelet::Node {
        pods_dir,
        images: options.run_images,
        api,
        backoff: options.restart_backoff,
    };
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(runtime::Runtime::new(node, block).run(app.clone(), stopped));
    Ok(((stop, task), temp))
}

/// Writes a kubeconfig for `addr` at `path`.
pub fn write_kubeconfig(path: &Path, addr: SocketAddr) -> Result<(), StartError> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: devcluster\n  cluster:\n    server: http://{addr}\nusers:\n- name: devcluster\n  user:\n    token: devcluster\ncontexts:\n- name: devcluster\n  context:\n    cluster: devcluster\n    user: devcluster\ncurrent-context: devcluster\n"
    );
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| StartError::Kubeconfig {
            path: path.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| StartError::Kubeconfig {
        path: path.to_owned(),
        source,
    })
}
