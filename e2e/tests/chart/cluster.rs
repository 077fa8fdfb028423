//! A devcluster that runs the chart's pods: the operator image mapped to the built
//! `dotmac-operator`, the isp-runtime image to `dotmac-isp`; helm and kubectl against it, and
//! the credentials Secret the chart references, on the machine's PostgreSQL and Redis and an
//! OpenBao dev server.

use std::{process::Stdio, time::Duration};

use dotmac_devcluster::{DevCluster, Options, runtime::images::ImageMap};
use dotmac_e2e::live::{binary, eventually, service_url, unique};
use dotmac_testkit::openbao::DevBao;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{Api, Client, api::ListParams};
use sea_orm::ConnectionTrait;

use super::*;

/// The release namespace.
pub const NAMESPACE: &str = "dotmac-system";

/// The cluster, its tools, and what the release's Secret points at.
pub struct Cluster {
    pub cluster: DevCluster,
    pub client: Client,
    home: tempfile::TempDir,
    platform_database: String,
    pub bao: DevBao,
}

impl Cluster {
    /// Starts devcluster and OpenBao, makes the platform database, the release namespace and
    /// its credentials Secret.
    pub async fn start() -> Self {
        dotmac_telemetry::install_crypto_provider();
        let bao = DevBao::start().await;
        let cluster = DevCluster::start_with(Options {
            run_images: ImageMap::default()
                .with("ghcr.io/dotmac/dotmac-operator", binary("dotmac-operator"))
                .with("ghcr.io/dotmac/isp-runtime", binary("dotmac-isp")),
            restart_backoff: Duration::from_secs(1),
            ..Options::default()
        })
        .await
        .unwrap();
        let client = cluster.client().unwrap();
        let platform_database = unique("chart_platform");
        let admin = sea_orm::Database::connect(dotmac_testkit::require_postgres())
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {platform_database}"))
            .await
            .unwrap();
        let this = Self {
            cluster,
            client,
            home: tempfile::tempdir().unwrap(),
            platform_database,
            bao,
        };
        let secret = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NAMESPACE}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: dotmac-credentials\n  namespace: {NAMESPACE}\nstringData:\n  platform-database-url: {}\n  bootstrap-token: dmp_{}\n  postgres-admin-url: {}\n  redis-admin-url: {}\n  openbao-token: test-root\n",
            dotmac_testkit::postgres_url(&this.platform_database),
            unique("chartadmin"),
            dotmac_testkit::require_postgres(),
            dotmac_testkit::require_redis(),
        );
        this.kubectl(&["apply", "-f", "-"], Some(&secret)).await;
        this
    }

    fn tool(&self, name: &str) -> tokio::process::Command {
        let mut command = tokio::process::Command::from(tool(name));
        command
            .env("KUBECONFIG", self.cluster.kubeconfig())
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, name: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut child = self.tool(name).args(args).spawn().unwrap();
        if let Some(text) = stdin {
            use tokio::io::AsyncWriteExt;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .await
                .unwrap();
        }
        drop(child.stdin.take());
        tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{name} {args:?} finished within 180 s"))
            .unwrap()
    }

    async fn ok(&self, name: &str, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(name, args, stdin).await;
        assert!(
            out.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// kubectl; fails the test when it fails.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        self.ok("kubectl", args, stdin).await
    }

    /// helm `verb` of release `dotmac` in the release namespace (the chart for install and
    /// upgrade), with `--set` values; fails the test when it fails.
    pub async fn helm(&self, verb: &str, extra: &[&str], sets: &[&str]) -> String {
        let chart = chart();
        let mut args = vec![verb, "dotmac"];
        if matches!(verb, "install" | "upgrade") {
            args.push(chart.to_str().unwrap());
        }
        args.extend(["--namespace", NAMESPACE]);
        args.extend_from_slice(extra);
        let sets: Vec<String> = sets.iter().map(|s| format!("--set={s}")).collect();
        args.extend(sets.iter().map(String::as_str));
        self.ok("helm", &args, None).await
    }

    /// Waits until Deployment `name` of the release has `replicas` available pods of its
    /// current template, and returns their names.
    pub async fn rolled_out(&self, name: &str, replicas: usize) -> Vec<String> {
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let component = name.trim_start_matches("dotmac-");
        eventually(
            &format!("{name} rolled out with {replicas} ready pods"),
            120,
            || async {
                let deployment = deployments.get(name).await.ok()?;
                let status = deployment.status?;
                let done = status.updated_replicas? as usize == replicas
                    && status.available_replicas.unwrap_or_default() as usize == replicas
                    && status.replicas? as usize == replicas
                    && status.observed_generation == deployment.metadata.generation;
                if !done {
                    return None;
                }
                let selector = format!("app.kubernetes.io/name=dotmac-{component}");
                let listed = pods
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .ok()?;
                let live: Vec<String> = listed
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .filter_map(|p| p.metadata.name.clone())
                    .collect();
                (live.len() == replicas).then_some(live)
            },
        )
        .await
    }

    /// The release's pods of `component` (`operator` or `api`), with their logs.
    pub async fn logs(&self, component: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let selector = format!("app.kubernetes.io/name=dotmac-{component}");
        let mut text = String::new();
        for pod in pods
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap()
        {
            let name = pod.metadata.name.unwrap();
            let log = pods
                .logs(&name, &Default::default())
                .await
                .unwrap_or_default();
            text.push_str(&log);
        }
        text
    }

    /// The log of pod `name` in the release namespace, without backslashes (errors are quoted
    /// inside quoted JSON).
    pub async fn pod_log(&self, name: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let log = pods
            .logs(name, &Default::default())
            .await
            .unwrap_or_default();
        log.replace('\\', "")
    }

    /// Deletes the release's `component` pods and returns the new ones once they have started
    /// (ready or not: a refused operator is not).
    pub async fn restart(&self, component: &str) -> Vec<String> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NAMESPACE);
        let selector = format!("app.kubernetes.io/name=dotmac-{component}");
        let live = || async {
            let listed = pods
                .list(&ListParams::default().labels(&selector))
                .await
                .unwrap();
            listed
                .items
                .into_iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect::<Vec<Pod>>()
        };
        let old: Vec<String> = live()
            .await
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect();
        for name in &old {
            pods.delete(name, &Default::default()).await.unwrap();
        }
        eventually(&format!("new {component} pods started"), 120, || async {
            let new = live().await;
            let started = !new.is_empty()
                && new.iter().all(|p| {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    let running = p
                        .status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref());
                    !old.contains(&name)
                        && running.is_some_and(|c| {
                            c.iter().all(|c| {
                                c.state.as_ref().is_some_and(|s| s.waiting.is_none())
                                    || c.restart_count > 0
                            })
                        })
                });
            started.then(|| new.into_iter().filter_map(|p| p.metadata.name).collect())
        })
        .await
    }

    /// The release's API Service as a URL on its loopback address.
    pub async fn api_url(&self) -> String {
        service_url(&self.client, NAMESPACE, "dotmac-api").await
    }

    /// A tenant instance's Service as a URL on its loopback address.
    pub async fn instance_url(&self, tenant: &str) -> String {
        service_url(
            &self.client,
            &format!("dotmac-tenant-{tenant}"),
            "isp-runtime",
        )
        .await
    }

    /// A Tenant's field, as kubectl prints it.
    pub async fn tenant_field(&self, tenant: &str, path: &str) -> String {
        let jsonpath = format!("jsonpath={{{path}}}");
        self.kubectl(&["get", "tenant", tenant, "-o", &jsonpath], None)
            .await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The platform database goes with the test (tenant databases go with their Tenants).
        let name = self.platform_database.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) =
                    sea_orm::Database::connect(dotmac_testkit::require_postgres()).await
                {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}
