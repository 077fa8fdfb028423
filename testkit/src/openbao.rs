//! An OpenBao dev server of a test's own: `bao server -dev` (from `scripts/tools`, or
//! `DOTMAC_BAO`) on a free loopback port with root token `test-root`, stopped on drop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support fails loudly"
)]

use std::{path::PathBuf, process::Command, time::Duration};

/// `bao server -dev` on a free loopback port (from `scripts/tools`), stopped on drop.
pub struct DevBao {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub addr: String,
    _output: tempfile::NamedTempFile,
}

impl DevBao {
    /// Starts a dev server with root token `test-root` on a free port. A port that another
    /// process takes between being found free and bao binding it is given up for another one.
    pub async fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            match Self::try_start_on(port).await {
                Ok(bao) => return bao,
                Err(failure) => {
                    eprintln!("{failure}; trying again");
                    failures.push(failure);
                }
            }
        }
        panic!("bao server -dev did not start:\n{}", failures.join("\n"));
    }

    /// Starts a dev server on `port`, trying again while the port is briefly taken.
    pub async fn start_on(port: u16) -> Self {
        let mut failures = Vec::new();
        for _ in 0..5 {
            match Self::try_start_on(port).await {
                Ok(bao) => return bao,
                Err(failure) => {
                    eprintln!("{failure}; trying again");
                    failures.push(failure);
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "bao server -dev did not start on port {port}:\n{}",
            failures.join("\n")
        );
    }

    /// One start on `port`: the server once it answers healthy, or why it did not (its output
    /// when it exited, or a timeout after 60 s, which a loaded machine can need).
    async fn try_start_on(port: u16) -> Result<Self, String> {
        // reqwest uses the process-wide rustls provider the binaries install.
        dotmac_telemetry::install_crypto_provider();
        let bao = std::env::var("DOTMAC_BAO")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/bao")
            });
        let addr = format!("http://127.0.0.1:{port}");
        let output = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(&bao)
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=test-root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdout(output.reopen().unwrap())
            .stderr(output.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/tools", bao.display()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(output.path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!(
                    "port {port}: bao exited ({status}): {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ));
            }
            // The banner proves this child bound the port, not another test's server.
            let started = std::fs::read_to_string(output.path())
                .is_ok_and(|log| log.contains("OpenBao server started!"));
            if started
                && reqwest::get(format!("{addr}/v1/sys/health"))
                    .await
                    .is_ok_and(|r| r.status() == 200)
            {
                return Ok(Self {
                    child,
                    addr,
                    _output: output,
                });
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("port {port}: not healthy after 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for DevBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
