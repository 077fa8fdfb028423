//! Container probes: HTTP GET and TCP against the pod's address, with the manifest's delays,
//! periods, timeouts and thresholds.

use std::{net::IpAddr, time::Duration};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `httpGet`: a status from 200 to 399 passes.
    Http {
        /// Port.
        port: u16,
        /// Path and query.
        path: String,
        /// `Host` header.
        host: Option<String>,
    },
    /// `tcpSocket`: a connection passes.
    Tcp {
        /// Port.
        port: u16,
    },
}

/// One probe of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The check.
    pub check: Check,
    /// `initialDelaySeconds`.
    pub initial_delay: Duration,
    /// `periodSeconds` (10 by default).
    pub period: Duration,
    /// `timeoutSeconds` (1 by default).
    pub timeout: Duration,
    /// `successThreshold` (1).
    pub success_threshold: u32,
    /// `failureThreshold` (3).
    pub failure_threshold: u32,
}

/// A probe devcluster cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// A named port the container does not declare.
    #[error("probe port {0:?} is not a port of the container")]
    UnknownPort(String),
    /// `exec` and `grpc` probes.
    #[error("only httpGet and tcpSocket probes run in devcluster")]
    Unsupported,
}

impl Probe {
    /// The probe at `field` (`livenessProbe`, …) of `container`, if it has one.
    pub fn of(container: &Value, field: &str) -> Result<Option<Self>, ProbeError> {
        let Some(probe) = container.get(field) else {
            return Ok(None);
        };
        let seconds = |name: &str, default: u64| {
            Duration::from_secs(probe.get(name).and_then(Value::as_u64).unwrap_or(default))
        };
        let count = |name: &str, default: u32| {
            probe
                .get(name)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(default)
                .max(1)
        };
        let check = if let Some(http) = probe.get("httpGet") {
            Check::Http {
                port: port(container, http.get("port"))?,
                path: http
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_owned(),
                host: http
                    .get("httpHeaders")
                    .and_then(Value::as_array)
                    .and_then(|hs| {
                        hs.iter().find(|h| {
                            h.get("name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.eq_ignore_ascii_case("host"))
                        })
                    })
                    .and_then(|h| h.get("value").and_then(Value::as_str))
                    .map(str::to_owned),
            }
        } else if let Some(tcp) = probe.get("tcpSocket") {
            Check::Tcp {
                port: port(container, tcp.get("port"))?,
            }
        } else {
            return Err(ProbeError::Unsupported);
        };
        Ok(Some(Self {
            check,
            initial_delay: seconds("initialDelaySeconds", 0),
            period: seconds("periodSeconds", 10).max(Duration::from_secs(1)),
            timeout: seconds("timeoutSeconds", 1).max(Duration::from_secs(1)),
            success_threshold: count("successThreshold", 1),
            failure_threshold: count("failureThreshold", 3),
        }))
    }

    /// Runs the check once against `ip`; the error says why it failed.
    pub async fn run(&self, ip: IpAddr) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.attempt(ip)).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "{} timed out after {}s",
                self.describe(ip),
                self.timeout.as_secs()
            )),
        }
    }

    async fn attempt(&self, ip: IpAddr) -> Result<(), String> {
        let port = match &self.check {
            Check::Http { port, .. } | Check::Tcp { port } => *port,
        };
        let mut stream = TcpStream::connect((ip, port))
            .await
            .map_err(|e| format!("{}: {e}", self.describe(ip)))?;
        let Check::Http { path, host, .. } = &self.check else {
            return Ok(());
        };
        let host = host.clone().unwrap_or_else(|| format!("{ip}:{port}"));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kube-probe/devcluster\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("{}: {e}", self.describe(ip)))?;
        let mut head = Vec::with_capacity(64);
        let mut buf = [0_u8; 256];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("{}: {e}", self.describe(ip)))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        let code = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("{}: no HTTP status line", self.describe(ip)))?;
        if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {code}"))
        }
    }

    fn describe(&self, ip: IpAddr) -> String {
        match &self.check {
            Check::Http { port, path, .. } => format!("Get \"http://{ip}:{port}{path}\""),
            Check::Tcp { port } => format!("dial tcp {ip}:{port}"),
        }
    }
}

/// A probe's port: a number, or the name of one of the container's ports.
fn port(container: &Value, port: Option<&Value>) -> Result<u16, ProbeError> {
    match port {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| ProbeError::UnknownPort(n.to_string())),
        Some(Value::String(s)) => match s.parse::<u16>() {
            Ok(n) => Ok(n),
            Err(_) => named_port(container, s).ok_or_else(|| ProbeError::UnknownPort(s.clone())),
        },
        _ => Err(ProbeError::UnknownPort(String::new())),
    }
}

/// The number of the container port called `name`.
pub fn named_port(container: &Value, name: &str) -> Option<u16> {
    container
        .get("ports")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
        .and_then(|n| u16::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn probes_read_the_manifest_with_kubernetes_defaults() {
        let container = json!({"ports": [{"name": "http", "containerPort": 8001}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 8001}},
            "startupProbe": {"exec": {"command": ["true"]}}});
        let ready = Probe::of(&container, "readinessProbe").unwrap().unwrap();
        assert_eq!(
            ready.check,
            Check::Http {
                port: 8001,
                path: "/ready".into(),
                host: None
            }
        );
        assert_eq!(ready.period, Duration::from_secs(5));
        assert_eq!(ready.failure_threshold, 3);
        assert_eq!(ready.timeout, Duration::from_secs(1));
        let live = Probe::of(&container, "livenessProbe").unwrap().unwrap();
        assert_eq!(live.check, Check::Tcp { port: 8001 });
        assert_eq!(
            Probe::of(&container, "startupProbe"),
            Err(ProbeError::Unsupported)
        );
        assert_eq!(Probe::of(&container, "other"), Ok(None));
    }
}
