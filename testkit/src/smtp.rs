//! A real SMTP server of a test's own: aiosmtpd (from `scripts/tools`) on a free loopback port,
//! delivering into a maildir the test reads, stopped on drop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support fails loudly"
)]

use std::{path::PathBuf, process::Command, time::Duration};

/// aiosmtpd with its `Mailbox` handler.
pub struct Smtp {
    child: std::process::Child,
    /// `smtp://127.0.0.1:<port>`, as `DOTMAC_SMTP_URL` takes it.
    pub url: String,
    maildir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = std::env::var("DOTMAC_AIOSMTPD")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/aiosmtpd")
            });
        let child = Command::new(&bin)
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} (run scripts/tools): {e}", bin.display()));
        let server = Self {
            child,
            url: format!("smtp://127.0.0.1:{port}"),
            maildir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {port} within 10 s");
    }

    /// Every message delivered so far (headers and body), with quoted-printable soft line
    /// breaks undone.
    pub fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("mail").join("new");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|m| {
                m.replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect()
    }

    /// Waits up to 20 s for a message to `to` whose text contains `containing`, and returns it
    /// as [`Smtp::messages`] does.
    pub async fn wait_for(&self, to: &str, containing: &str) -> String {
        for _ in 0..200 {
            let found = self
                .messages()
                .into_iter()
                .find(|m| m.contains(&format!("To: {to}")) && m.contains(containing));
            if let Some(message) = found {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no mail to {to} containing {containing:?} within 20 s: {:?}",
            self.messages()
        );
    }
}
