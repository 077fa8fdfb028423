//! A backend that stops for a while: the instance says which check fails, the Tenant shows it,
//! and both recover when it is back.

use super::*;
use dotmac_e2e::live::{eventually, tenant_yaml, unique};

/// A Redis server of the test's own (so stopping it touches no other test).
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services installs it)");
        eventually("redis-server up", 30, || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Self { child, port }
    }

    fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_stopped_for_a_while_shows_as_degraded_health_naming_it() {
    let redis = OwnRedis::start().await;
    let live = Live::start_with_redis(&format!("redis://127.0.0.1:{}", redis.port)).await;
    let name = unique("e2eo");
    live.kubectl(
        &["apply", "-f", "-"],
        Some(&tenant_yaml(&name, "  deletionPolicy: Delete\n")),
    )
    .await;
    live.phase(&name, "Ready", 120).await;
    let health = |field: &'static str| {
        let (live, name) = (&live, name.clone());
        async move {
            live.tenant_field(&name, &format!(".status.health.{field}"))
                .await
        }
    };
    eventually("Healthy", 60, || async {
        (health("status").await == "Healthy").then_some(())
    })
    .await;

    redis.signal("-STOP");
    let message = eventually("Degraded health on the Tenant", 60, || async {
        (health("status").await == "Degraded").then_some(())?;
        Some(health("message").await)
    })
    .await;
    assert!(
        message.contains("redis: "),
        "the failing check is named: {message}\n{}",
        live.operator_log()
    );
    assert_eq!(
        live.tenant_field(&name, ".status.phase").await,
        "Ready",
        "the instance still serves"
    );

    redis.signal("-CONT");
    eventually("Healthy again", 60, || async {
        (health("status").await == "Healthy").then_some(())
    })
    .await;
    live.delete_tenants(&[&name]).await;
}
