//! One container as a local process. The process gets its own mount namespace (util-linux
//! `unshare`), in which each volume is bind-mounted at its `mountPath` (read-only where the
//! mount is), so the manifest's paths hold without touching other pods; mount points that do
//! not exist are created first (empty directories or files on the host). This needs
//! `CAP_SYS_ADMIN`: as root it just works; an unprivileged user runs devcluster under
//! `unshare --user --map-root-user --mount`, which gives it that capability in a namespace of
//! its own.
//!
//! Standard output and error go to the container's log file, which `kubectl logs` reads.

use std::{
    fs::OpenOptions,
    io,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

use super::volumes::Mount;

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Volumes to bind.
    pub mounts: Vec<Mount>,
    /// `workingDir`, if the container sets one.
    pub working_dir: Option<PathBuf>,
    /// Where output goes (appended).
    pub log: PathBuf,
}

/// Opens the program (when named by a path) before anything is mounted, binds each
/// `SOURCE TARGET ro|rw` triple, then runs it with what follows `--`. A mount over a directory
/// that holds the program or a later source (an emptyDir at `/tmp`, say) would hide them, so
/// the program runs from its open descriptor and such mounts come last ([`mount_order`]).
const BIND_AND_EXEC: &str = r#"prog=$1; shift
case "$prog" in */*) exec 3<"$prog" || exit 112; run=/proc/self/fd/3 ;; *) run=$prog ;; esac
while [ "$1" != -- ]; do
  mount --bind "$1" "$2" || exit 111
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2" || exit 111; fi
  shift 3
done
shift
exec "$run" "$@""#;

/// The mounts in an order that hides nothing still needed: a mount whose target holds another
/// mount's source comes after it.
fn mount_order(mounts: &[Mount]) -> Vec<&Mount> {
    let covers = |m: &Mount| {
        mounts
            .iter()
            .any(|other| !std::ptr::eq(m, other) && other.source.starts_with(&m.target))
    };
    let mut ordered: Vec<&Mount> = mounts.iter().collect();
    ordered.sort_by_key(|m| covers(m));
    ordered
}

/// A started process.
#[derive(Debug)]
pub struct Process {
    child: Child,
    pid: i32,
}

/// Starts `launch`.
pub fn spawn(launch: &Launch) -> io::Result<Process> {
    let Some((program, args)) = launch.argv.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the container has no command and its image no program",
        ));
    };
    for mount in &launch.mounts {
        prepare_target(mount)?;
    }
    if let Some(parent) = launch.log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)?;
    // The container is PID 1 of a PID namespace of its own, as in a container: when it ends,
    // the kernel ends everything it started. `unshare` stays its parent and takes it down
    // when killed (`--kill-child`), and is itself killed when devcluster ends, however it
    // ends (`setpriv --pdeathsig`).
    let mut command = Command::new("setpriv");
    command.args([
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--pid",
        "--kill-child",
    ]);
    if launch.mounts.is_empty() {
        command.arg(program);
    } else {
        command.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            BIND_AND_EXEC,
            "sh",
        ]);
        command.arg(program);
        for m in mount_order(&launch.mounts) {
            command
                .arg(&m.source)
                .arg(&m.target)
                .arg(if m.read_only { "ro" } else { "rw" });
        }
        command.arg("--");
    }
    command.args(args);
    command
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    // As in an image without WORKDIR, a container without workingDir starts in `/` (the
    // directory devcluster started in may be hidden by a mount).
    command.current_dir(launch.working_dir.as_deref().unwrap_or(Path::new("/")));
    let child = command.spawn()?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| io::Error::other("the process ended before its id was read"))?;
    Ok(Process { child, pid })
}

/// A mount point must exist: a directory for a directory, a file for a file.
fn prepare_target(mount: &Mount) -> io::Result<()> {
    if mount.target.exists() {
        return Ok(());
    }
    if mount.source.is_dir() || !mount.source.exists() {
        std::fs::create_dir_all(&mount.target)
    } else {
        if let Some(parent) = mount.target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&mount.target, b"")
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128 + the signal that ended it, as container runtimes report.
    pub code: i32,
    /// The signal, if one ended it.
    pub signal: Option<i32>,
}

impl Process {
    /// The process id (`containerID` shows it).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits for it to end.
    pub async fn wait(&mut self) -> io::Result<Exit> {
        use std::os::unix::process::ExitStatusExt;
        let status = self.child.wait().await?;
        Ok(Exit {
            code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            signal: status.signal(),
        })
    }

    /// SIGTERM to the container's PID 1, then SIGKILL once `grace` has passed, as the kubelet
    /// stops a container. As in a container, a PID 1 without a SIGTERM handler ignores it and
    /// waits out the grace period.
    pub async fn stop(&mut self, grace: Duration) -> io::Result<Exit> {
        let init = first_child(self.pid).unwrap_or(self.pid);
        if let Some(pid) = rustix::process::Pid::from_raw(init) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        match tokio::time::timeout(grace, self.wait()).await {
            Ok(exit) => exit,
            Err(_) => {
                self.child.start_kill()?;
                self.wait().await
            }
        }
    }
}

/// The first child of `pid` (the container's PID 1 under `unshare`), from `/proc`.
fn first_child(pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The log of `container` in the pod directory `pod_dir`; `previous` for the run before.
pub fn log_path(pod_dir: &Path, container: &str, previous: bool) -> PathBuf {
    pod_dir.join(if previous {
        format!("{container}.previous.log")
    } else {
        format!("{container}.log")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_over_another_mounts_source_comes_last() {
        let mount = |source: &str, target: &str| Mount {
            source: PathBuf::from(source),
            target: PathBuf::from(target),
            read_only: false,
        };
        let mounts = [
            mount("/tmp/pods/p/volumes/tmp", "/tmp"),
            mount("/tmp/pods/p/volumes/config", "/etc/dotmac"),
        ];
        let order: Vec<&Path> = mount_order(&mounts)
            .iter()
            .map(|m| m.target.as_path())
            .collect();
        assert_eq!(order, [Path::new("/etc/dotmac"), Path::new("/tmp")]);
    }
}
