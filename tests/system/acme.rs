//! The download service's certificate from an ACME CA: Debian's `pebble` (a real RFC 8555
//! server) validates the TLS-ALPN-01 challenge against `mamori linkd`'s own port, with
//! `pebble-challtestsrv` as the DNS that points the public name at the box; the
//! certificate served afterwards is checked by `curl` against pebble's root.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Killed {
    Killed(
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}")),
    )
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throw-away CA and a certificate for `localhost` signed by it (pebble's own HTTPS).
fn test_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=mamori test CA",
            "-days",
            "2",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "csr.pem",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "csr.pem",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn linkd_gets_its_certificate_from_an_acme_ca_by_tls_alpn_and_keeps_it_across_a_restart() {
    for tool in ["pebble", "pebble-challtestsrv", "openssl", "curl"] {
        require(tool);
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    test_pki(d);
    let (dns, dns_mgmt, api, api_mgmt, unused, lport) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let _dns = spawn(
        Command::new("pebble-challtestsrv").args([
            "-dns01",
            &format!("127.0.0.1:{dns}"),
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-management",
            &format!("127.0.0.1:{dns_mgmt}"),
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
        ]),
        &d.join("challtestsrv.log"),
    );
    std::fs::write(
        d.join("pebble.json"),
        serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{api}"),
            "managementListenAddress": format!("127.0.0.1:{api_mgmt}"),
            "certificate": d.join("cert.pem"),
            "privateKey": d.join("key.pem"),
            "httpPort": unused,
            "tlsPort": lport,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }})
        .to_string(),
    )
    .unwrap();
    let _pebble = spawn(
        Command::new("pebble")
            .arg("-config")
            .arg(d.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0"),
        &d.join("pebble.log"),
    );
    assert!(
        wait_for(Duration::from_secs(20), || std::net::TcpStream::connect((
            "127.0.0.1",
            api
        ))
        .is_ok()),
        "pebble did not start: {}",
        log_of(&d.join("pebble.log"))
    );
    let config = d.join("mamori.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{data}\"\n\n[log]\nlevel = \"info\"\n\n[encrypt]\nlink_url = \"https://files.office.test:{lport}\"\n\n[links]\nlisten = \"127.0.0.1:{lport}\"\nacme_directory = \"https://localhost:{api}/dir\"\nacme_contact = \"it@office.test\"\nacme_ca = \"{ca}\"\n",
            data = d.join("data").display(),
            ca = d.join("ca.pem").display()
        ),
    )
    .unwrap();
    let log = d.join("linkd.log");
    let start = || {
        spawn(
            Command::new(env!("CARGO_BIN_EXE_mamori"))
                .args(["linkd", "--config"])
                .arg(&config)
                .env_remove("RUST_LOG"),
            &log,
        )
    };
    let linkd = start();
    assert!(
        wait_for(Duration::from_secs(90), || log_of(&log)
            .contains("ACME certificate in force")),
        "no certificate: {}\n--- pebble ---\n{}",
        log_of(&log),
        log_of(&d.join("pebble.log"))
    );
    // Pebble's root (it makes a new one each run), from its management interface.
    let root = d.join("root.pem");
    let st = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(d.join("ca.pem"))
        .arg("-o")
        .arg(&root)
        .arg(format!("https://localhost:{api_mgmt}/roots/0"))
        .status()
        .unwrap();
    assert!(st.success());
    let check = |root: &Path| {
        Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
            .arg(root)
            .args(["--resolve", &format!("files.office.test:{lport}:127.0.0.1")])
            .arg(format!(
                "https://files.office.test:{lport}/.well-known/mamori-linkd"
            ))
            .output()
            .unwrap()
    };
    let out = check(&root);
    assert!(
        out.status.success(),
        "the served certificate does not verify against pebble's root: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mamori-linkd "));
    // Not trusted by anything else (it is pebble's, not the self-signed one or ours).
    assert!(!check(&d.join("ca.pem")).status.success());
    // The keys are the service's alone.
    use std::os::unix::fs::PermissionsExt;
    for key in ["acme-key.pem", "acme-account.json"] {
        let mode = std::fs::metadata(d.join("data/linkd").join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{key}: {mode:o}");
    }
    // A restart serves the kept certificate at once, without a new order.
    drop(linkd);
    std::fs::write(&log, "").unwrap();
    let _linkd = start();
    assert!(wait_for(Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", lport)).is_ok()
    }));
    let out = check(&root);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !log_of(&log).contains("ordering a certificate"),
        "{}",
        log_of(&log)
    );
}
