//! Backends down or cut while tenants provision: everything becomes Ready once they are back.

use super::*;

/// Creates `n` tenants named `<prefix>-<i>`, waits until `blocked` holds for all, brings the
/// backend back with `recover`, and checks that all become Ready with exactly one database
/// each; then deletes them.
async fn outage_then_recovery<R, Fut>(h: &Harness, prefix: &str, n: usize, reason: &str, recover: R)
where
    R: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    for name in &names {
        tenants
            .create(&PostParams::default(), &tenant(name, "Delete"))
            .await
            .unwrap();
    }
    for name in &names {
        let blocked = until(&format!("{name} blocked by the outage"), || async {
            tenants.get_opt(name).await.unwrap().and_then(|t| {
                t.status?
                    .conditions
                    .into_iter()
                    .find(|c| c.reason == reason && c.status == "False")
            })
        })
        .await;
        assert!(!blocked.message.is_empty());
    }
    recover().await;
    for name in &names {
        ready(&tenants, name).await;
    }
    let made = databases_like(&prefix.replace('-', "_")).await;
    assert_eq!(
        made.len(),
        n,
        "one database per tenant, no duplicates: {made:?}"
    );
    for name in &names {
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }
    for name in &names {
        until("the tenant to go", || async {
            tenants.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
    }
    assert!(databases_like(&prefix.replace('-', "_")).await.is_empty());
}

#[tokio::test]
async fn openbao_down_during_provisioning_of_20_tenants_then_all_ready() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = harness(&format!("http://127.0.0.1:{port}")).await;
    let mut bao = None;
    outage_then_recovery(&h, &unique("ob"), 20, "OpenBaoUnreachable", || async {
        bao = Some(DevBao::start_on(port).await);
    })
    .await;
}

/// A loopback TCP proxy to PostgreSQL that the test can cut: while down it closes every
/// connection at once, and cutting also ends the connections already open.
struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    _accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, pipes) = (up.clone(), open.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                pipes.lock().unwrap().push(pipe);
            }
        });
        Self {
            port,
            up,
            open,
            _accept: accept,
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if !up {
            for pipe in self.open.lock().unwrap().drain(..) {
                pipe.abort();
            }
        }
    }
}

#[tokio::test]
async fn postgres_connections_cut_during_provisioning_of_20_tenants_then_all_ready() {
    let bao = DevBao::start().await;
    let proxy = Proxy::start(dotmac_testkit::postgres_host()).await;
    let h = harness_with(
        &bao.addr,
        &format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port),
    )
    .await;
    outage_then_recovery(&h, &unique("pg"), 20, "PostgresUnreachable", || async {
        proxy.set_up(true);
    })
    .await;
    // Cut again with everything Ready: the tenants report it, then recover.
    let tenants: Api<Tenant> = Api::all(h.client.clone());
    let name = unique("pgc");
    proxy.set_up(false);
    tenants
        .create(&PostParams::default(), &tenant(&name, "Delete"))
        .await
        .unwrap();
    until("DatabaseReady=False", || async {
        tenants.get_opt(&name).await.unwrap().and_then(|t| {
            t.status?
                .conditions
                .into_iter()
                .find(|c| c.type_ == "DatabaseReady" && c.reason == "PostgresUnreachable")
        })
    })
    .await;
    proxy.set_up(true);
    ready(&tenants, &name).await;
    delete_and_wait(&tenants, &name).await;
}
