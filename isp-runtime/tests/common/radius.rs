//! FreeRADIUS with the shipped configuration (`isp-runtime/radius/`) in front of a test
//! instance's AAA endpoints, and radclient as the NAS.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running FreeRADIUS, stopped on drop.
pub struct FreeRadius {
    pub auth_port: u16,
    pub acct_port: u16,
    /// Its loopback status port (Status-Server, signed with the AAA secret).
    pub status_port: u16,
    child: Child,
    _run: tempfile::TempDir,
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs FreeRADIUS (`command`, with its environment) on the configuration in `raddb`, its log
/// passed on to the test's with `name` before each line, and waits until it is ready.
fn run_until_ready(mut command: Command, raddb: &std::path::Path, name: &'static str) -> Child {
    let mut child = command
        .args(["-f", "-l", "stdout", "-d"])
        .arg(raddb)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("freeradius runs (scripts/tools installs it)");
    let stdout = child.stdout.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("Ready to process requests") {
                let _ = ready_tx.send(());
            }
            eprintln!("{name}: {line}");
        }
    });
    ready_rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{name} became ready"));
    child
}

/// A UDP port free on loopback now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl FreeRadius {
    /// Starts FreeRADIUS with the shipped configuration for the AAA endpoints at `aaa_url`,
    /// its status port on `status_port`, and waits until it is ready.
    pub fn start(aaa_url: &str, aaa_secret: &str, status_port: u16) -> Self {
        let raddb = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/radius"));
        Self::start_with(raddb, aaa_url, aaa_secret, status_port)
    }

    /// Starts FreeRADIUS with the configuration in `raddb` (which reads the same environment
    /// as the shipped one) and waits until it is ready.
    pub fn start_with(
        raddb: &std::path::Path,
        aaa_url: &str,
        aaa_secret: &str,
        status_port: u16,
    ) -> Self {
        let run = tempfile::tempdir().unwrap();
        let (auth_port, acct_port) = (free_udp_port(), free_udp_port());
        let mut command = Command::new("freeradius");
        command
            .env("DOTMAC_AAA_URL", aaa_url)
            .env("DOTMAC_AAA_SECRET", aaa_secret)
            .env("DOTMAC_RADIUS_AUTH_ADDRESS", "127.0.0.1")
            .env("DOTMAC_RADIUS_ACCT_ADDRESS", "127.0.0.1")
            .env("DOTMAC_RADIUS_STATUS_ADDRESS", "127.0.0.1")
            .env("DOTMAC_RADIUS_AUTH_PORT", auth_port.to_string())
            .env("DOTMAC_RADIUS_ACCT_PORT", acct_port.to_string())
            .env("DOTMAC_RADIUS_STATUS_PORT", status_port.to_string())
            .env("DOTMAC_RADIUS_RUN_DIR", run.path());
        let child = run_until_ready(command, raddb, "freeradius");
        Self {
            auth_port,
            acct_port,
            status_port,
            child,
            _run: run,
        }
    }
}

/// What a NAS got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `Access-Accept`, `Access-Reject`, `Accounting-Response`.
    pub code: String,
    /// The attributes, as radclient prints them.
    pub attributes: Vec<(String, String)>,
}

impl Answer {
    /// The values of `name`.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Sends one packet with radclient (`kind` `auth` or `acct`) and answers what came back, or
/// `None` when nothing did (the packet was dropped).
pub fn radclient(port: u16, kind: &str, secret: &str, attributes: &str) -> Option<Answer> {
    let started = Instant::now();
    let mut child = Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "2"])
        .arg(format!("127.0.0.1:{port}"))
        .args([kind, secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient runs (freeradius-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(attributes.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Received "));
    let code = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let attributes = lines
        .take_while(|l| l.starts_with('\t') || l.starts_with(' '))
        .filter_map(|l| {
            let (name, value) = l.trim().split_once(" = ")?;
            Some((name.to_owned(), value.trim_matches('"').to_owned()))
        })
        .collect();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "radclient hung"
    );
    Some(Answer { code, attributes })
}

/// A NAS's CoA port (RFC 5176): a second FreeRADIUS that acknowledges every CoA-Request and
/// Disconnect-Request from 127.0.0.1 signed with `secret` and writes each down, except for
/// user `refuse-me`, which it NAKs.
pub struct FakeNas {
    pub port: u16,
    log: std::path::PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for FakeNas {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakeNas {
    pub fn start(secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let log = dir.path().join("arrived.log");
        let config = format!(
            r#"prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = {dir}
raddbdir = {dir}
confdir = {dir}
run_dir = {dir}
libdir = /usr/lib/freeradius
pidfile = {dir}/nas.pid
log {{
	destination = stdout
}}
client isp {{
	ipaddr = 127.0.0.1
	secret = {secret}
}}
listen {{
	type = coa
	ipaddr = 127.0.0.1
	port = {port}
	virtual_server = nas
}}
modules {{
	always ok {{
		rcode = ok
	}}
	always reject {{
		rcode = reject
	}}
	linelog arrived {{
		filename = {log}
		format = "%{{Packet-Type}}|%{{User-Name}}|%{{Acct-Session-Id}}|%{{Mikrotik-Rate-Limit}}|%{{Filter-Id}}"
	}}
}}
server nas {{
	recv-coa {{
		arrived
		if (&User-Name == "refuse-me") {{
			reject
		}}
		ok
	}}
	send-coa {{
		ok
	}}
}}
"#,
            dir = dir.path().display(),
            log = log.display(),
        );
        std::fs::write(dir.path().join("radiusd.conf"), config).unwrap();
        let child = run_until_ready(Command::new("freeradius"), dir.path(), "nas");
        Self {
            port,
            log,
            child,
            dir,
        }
    }

    /// What arrived so far, one `Packet-Type|User-Name|Acct-Session-Id|Mikrotik-Rate-Limit|Filter-Id`
    /// per request.
    pub fn arrived(&self) -> Vec<String> {
        let _ = &self.dir;
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until `count` requests arrived, and answers them.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let arrived = self.arrived();
            if arrived.len() >= count {
                return arrived;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} requests did not arrive: {:?}", self.arrived());
    }
}
