//! The container images `scripts/image` builds with buildah, checked the only way this sandbox
//! allows (crun cannot start containers here): their configuration, and the files of their
//! layer. Each is built from the debug binary the other tests run, so the binary inside is
//! byte for byte one the suite has exercised.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly"
)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use dotmac_e2e::live::{binary, repo};
use serde_json::Value;

/// One image as `scripts/image` names it.
struct Image {
    arg: &'static str,
    name: &'static str,
    bin: &'static str,
    ports: &'static [&'static str],
    cmd: &'static str,
    /// The portals it serves, from `portals/dist/`.
    portals: &'static [&'static str],
}

const IMAGES: [Image; 2] = [
    Image {
        arg: "operator",
        name: "dotmac-operator",
        bin: "dotmac-operator",
        ports: &["8000/tcp", "8080/tcp"],
        cmd: "run",
        portals: &["admin"],
    },
    Image {
        arg: "isp-runtime",
        name: "isp-runtime",
        bin: "dotmac-isp",
        ports: &["8001/tcp"],
        cmd: "serve",
        portals: &["staff", "portal"],
    },
];

fn run(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The image `tag` in buildah's `store`, as `buildah inspect` shows it.
fn inspect(store: &Path, tag: &str) -> Value {
    serde_json::from_str(&run(Command::new("buildah")
        .arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("run"))
        .args(["--storage-driver", "vfs", "inspect", "--type", "image", tag])))
    .unwrap()
}

/// The blob a `sha256:…` digest names in an OCI layout.
fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

#[test]
fn each_image_runs_its_binary_as_65532_with_only_its_libraries_and_no_shell() {
    let work = tempfile::tempdir().unwrap();
    let (store, oci) = (work.path().join("store"), work.path().join("oci"));
    let version = env!("CARGO_PKG_VERSION");
    for image in IMAGES {
        let source = binary(image.bin);
        run(Command::new(repo().join("scripts/image"))
            .arg(image.arg)
            .arg("--binary")
            .arg(&source)
            .arg("--storage")
            .arg(&store)
            .arg("--oci")
            .arg(&oci));

        // The configuration, as buildah records it.
        let tag = format!("ghcr.io/dotmac/{}:{version}", image.name);
        let inspected = inspect(&store, &tag);
        let config = &inspected["OCIv1"]["config"];
        assert_eq!(config["User"], "65532:65532", "{}: {config}", image.name);
        assert_eq!(
            config["Entrypoint"],
            serde_json::json!([format!("/usr/local/bin/{}", image.bin)])
        );
        assert_eq!(config["Cmd"], serde_json::json!([image.cmd]));
        let mut ports: Vec<&str> = config["ExposedPorts"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        ports.sort_unstable();
        assert_eq!(ports, image.ports, "{}", image.name);
        let labels = &config["Labels"];
        assert_eq!(labels["org.opencontainers.image.version"], version);
        assert_eq!(
            labels["org.opencontainers.image.source"],
            "https://github.com/dotmac/dotmac"
        );
        let revision = labels["org.opencontainers.image.revision"]
            .as_str()
            .unwrap();
        assert!(
            revision.len() >= 40 && revision.chars().take(40).all(|c| c.is_ascii_hexdigit()),
            "the revision is the commit: {revision}"
        );

        // The files: one layer with the binary, its loader and libraries, the CA bundle and
        // the passwd entry, and nothing a shell could be made of.
        let layout = oci.join(image.name);
        let index = json_file(&layout.join("index.json"));
        let manifest = json_file(&blob(
            &layout,
            index["manifests"][0]["digest"].as_str().unwrap(),
        ));
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "{manifest}");
        let layer = blob(&layout, layers[0]["digest"].as_str().unwrap());
        let listing = run(Command::new("tar").arg("-tf").arg(&layer));
        let files: Vec<&str> = listing
            .lines()
            .map(|l| l.trim_start_matches("./"))
            .filter(|l| !l.ends_with('/'))
            .collect();
        let portals = image
            .portals
            .iter()
            .map(|p| format!("usr/local/share/dotmac/portals/{p}/index.html"));
        for wanted in [
            format!("usr/local/bin/{}", image.bin),
            "lib64/ld-linux-x86-64.so.2".to_owned(),
            "etc/ssl/certs/ca-certificates.crt".to_owned(),
            "etc/passwd".to_owned(),
        ]
        .into_iter()
        .chain(portals)
        {
            assert!(
                files.contains(&wanted.as_str()),
                "{wanted} missing: {files:?}"
            );
        }
        let libraries = run(Command::new("ldd").arg(&source))
            .lines()
            .filter(|l| l.contains("=> /"))
            .count();
        let executables: Vec<&&str> = files
            .iter()
            .filter(|f| f.contains("bin/") || f.ends_with("/sh") || f.contains("busybox"))
            .collect();
        assert_eq!(
            executables,
            [&format!("usr/local/bin/{}", image.bin).as_str()],
            "the binary is the only program"
        );
        let programs_and_system = files
            .iter()
            .filter(|f| !f.starts_with("usr/local/share/dotmac/portals/"))
            .count();
        assert_eq!(
            programs_and_system,
            libraries + 5,
            "the binary, its loader and libraries, CA bundle, passwd and group (and the portal): {files:?}"
        );
        let inside = Command::new("tar")
            .arg("-xOf")
            .arg(&layer)
            .arg(format!("usr/local/bin/{}", image.bin))
            .output()
            .unwrap()
            .stdout;
        assert!(
            inside == std::fs::read(&source).unwrap(),
            "{}: the image holds the binary the tests run",
            image.name
        );
        println!(
            "{tag}: {:.1} MiB compressed layer (debug binary)",
            layers[0]["size"].as_f64().unwrap() / 1_048_576.0
        );
    }
}

/// A UDP port free on loopback now.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_freeradius_image_starts_its_server_as_65532_and_answers_status_server() {
    let work = tempfile::tempdir().unwrap();
    let (store, oci) = (work.path().join("store"), work.path().join("oci"));
    run(Command::new(repo().join("scripts/image"))
        .arg("freeradius")
        .arg("--storage")
        .arg(&store)
        .arg("--oci")
        .arg(&oci));
    let tag = format!("ghcr.io/dotmac/freeradius:{}", env!("CARGO_PKG_VERSION"));
    let inspected = inspect(&store, &tag);
    let config = &inspected["OCIv1"]["config"];
    assert_eq!(config["User"], "65532:65532");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/entrypoint"])
    );
    let mut ports: Vec<&String> = config["ExposedPorts"].as_object().unwrap().keys().collect();
    ports.sort_unstable();
    assert_eq!(ports, ["1812/udp", "1813/udp"]);

    // The layer, unpacked, is a root the server starts in (a container runtime would add
    // /dev; chroot stands in for it, as the image's own user).
    let layout = oci.join("freeradius");
    let index = json_file(&layout.join("index.json"));
    let manifest = json_file(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("dev")).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        run(Command::new("tar")
            .arg("-xzf")
            .arg(blob(&layout, layer["digest"].as_str().unwrap()))
            .arg("-C")
            .arg(&root));
    }
    assert_eq!(
        std::fs::read(root.join("etc/dotmac/radius/radiusd.conf")).unwrap(),
        std::fs::read(repo().join("isp-runtime/radius/radiusd.conf")).unwrap(),
        "the repository's configuration"
    );
    run(Command::new("mknod")
        .args(["-m", "666"])
        .arg(root.join("dev/null"))
        .args(["c", "1", "3"]));
    let (auth, acct, status) = (free_udp_port(), free_udp_port(), free_udp_port());
    let mut server = Command::new("/usr/sbin/chroot")
        .arg("--userspec=65532:65532")
        .arg(&root)
        .arg("/usr/local/bin/entrypoint")
        .env_clear()
        .env("DOTMAC_AAA_URL", "http://127.0.0.1:9")
        .env("DOTMAC_AAA_SECRET", "image-test-secret")
        .env("DOTMAC_RADIUS_AUTH_LISTEN", format!("127.0.0.1:{auth}"))
        .env("DOTMAC_RADIUS_ACCT_LISTEN", format!("127.0.0.1:{acct}"))
        .env("DOTMAC_RADIUS_STATUS_LISTEN", format!("127.0.0.1:{status}"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("chroot (coreutils), as root");
    let mut answer = String::new();
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let mut radclient = Command::new("radclient")
            .args(["-x", "-r", "1", "-t", "1"])
            .arg(format!("127.0.0.1:{status}"))
            .args(["status", "image-test-secret"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        radclient
            .stdin
            .take()
            .unwrap()
            .write_all(b"Message-Authenticator = 0x00, FreeRADIUS-Statistics-Type = Auth-Acct")
            .unwrap();
        answer = String::from_utf8(radclient.wait_with_output().unwrap().stdout).unwrap();
        if answer.contains("Received Access-Accept") {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        answer.contains("FreeRADIUS-Total-Access-Requests"),
        "the server in the image answers Status-Server: {answer}"
    );
}
