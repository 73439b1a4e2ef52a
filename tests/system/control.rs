//! The control sockets know who is calling from the kernel (peer credentials), not from
//! the request: a caller without the right is refused with `forbidden` and nothing
//! changes; only the panel's user may act for another person; the audit log names the
//! peer-credential user, and records the request before it takes effect.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Debian's `nobody`: a user in no Mamori group.
const NOBODY: &str = "65534";

/// Whether this test can switch users (root and `setpriv`); under CI it must.
fn can_switch_users() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if root && setpriv {
        return true;
    }
    assert!(
        std::env::var("CI").unwrap_or_default().is_empty(),
        "under CI this test must run, but it needs root and setpriv"
    );
    eprintln!("SKIP: needs root and setpriv (CI has them)");
    false
}

/// Runs the `mamori` binary as `nobody` with `args`: (exit code, stdout, stderr).
fn mamori_as_nobody(binary: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(
        Command::new("setpriv")
            .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
            .arg(binary)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Sends one raw request line as `nobody` and returns the answer line.
fn raw_as_nobody(socket: &Path, line: &str) -> String {
    let script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(sys.argv[2].encode()+b'\\n')\nprint(s.makefile().readline())";
    let out = Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
        .args(["/usr/bin/python3", "-c", script])
        .arg(socket)
        .arg(line)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_caller_without_the_right_is_refused_and_the_audit_names_the_peer() {
    if !can_switch_users() {
        return;
    }
    // Nothing listens at the destination: the message stays deferred in the queue.
    let m = Mamori::start(free_port(), None, "");
    m.send("taro@office.test", "client@sink.test", Some("deferred"));
    let id = m.queue_json()[0]["id"].as_str().unwrap().to_string();

    // Let `nobody` reach the socket, as a member of the control group would: the rights
    // are then decided by the daemon, not the file system.
    let data = m.dir.path().join("data");
    let socket = data.join("smtpd.sock");
    for dir in [m.dir.path(), data.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let bin_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = bin_dir.path().join("mamori");
    std::fs::copy(env!("CARGO_BIN_EXE_mamori"), &binary).unwrap();
    let socket_arg = socket.display().to_string();

    // Reading is allowed.
    let (code, out, err) = mamori_as_nobody(
        &binary,
        &["queue", "--socket", &socket_arg, "--json", "list"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&id), "{out}");
    // Holding mail needs the approve right: refused, and the message is untouched.
    let (code, _, err) =
        mamori_as_nobody(&binary, &["queue", "--socket", &socket_arg, "hold", &id]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("forbidden") && err.contains("nobody"), "{err}");
    assert!(m.queue_json()[0]["held"].is_null(), "nothing changed");
    // Naming another person is for the panel's user only; a claimed name in the request
    // changes nothing.
    let answer = raw_as_nobody(
        &socket,
        &format!(
            r#"{{"op":"queue_hold","id":"{id}","on_behalf":{{"user":"boss","role":"admin"}}}}"#
        ),
    );
    assert!(answer.contains("\"kind\":\"forbidden\""), "{answer}");
    assert!(
        answer.contains("may not act for another person"),
        "{answer}"
    );
    let answer = raw_as_nobody(
        &socket,
        &format!(r#"{{"op":"queue_hold","id":"{id}","by":"boss"}}"#),
    );
    assert!(answer.contains("\"kind\":\"forbidden\""), "{answer}");
    // Every error has a kind.
    let answer = raw_as_nobody(&socket, r#"{"op":"queue_show","id":"NOSUCH"}"#);
    assert!(answer.contains("\"kind\":\"not_found\""), "{answer}");
    let answer = raw_as_nobody(&socket, "{not json");
    assert!(answer.contains("\"kind\":\"invalid\""), "{answer}");

    let audit_path = data.join("audit/smtpd/audit.jsonl");
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    assert!(
        !audit.contains("queue_hold"),
        "refused requests change nothing: {audit}"
    );

    // The daemon's own user (here root) has every right; the record names it.
    let (code, _, err) = m.queue(&["hold", &id]);
    assert_eq!(code, 0, "{err}");
    let me = whoami();
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&audit_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let request = records
        .iter()
        .position(|r| r["event"] == "control_request" && r["op"] == "queue_hold")
        .expect("the request is recorded");
    let done = records
        .iter()
        .position(|r| r["event"] == "queue_hold")
        .expect("the hold is recorded");
    assert!(request < done, "recorded before it took effect");
    assert_eq!(records[request]["by"], me.as_str());
    assert_eq!(records[done]["by"], me.as_str());
    assert!(!m.queue_json()[0]["held"].is_null());

    // `mamori status` shows the relay's health; audit-verify checks every chain.
    let (code, out, _) = m.command("status", &["--json"]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["daemon"], "smtpd");
    assert_eq!(rows[0]["state"], "running");
    assert_eq!(rows[1]["state"], "not running", "no firewalld here: {out}");
    assert_eq!(code, 1, "a daemon not running is not all well");
    let (code, out, err) = m.command("audit-verify", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("audit/smtpd") && out.contains("intact"),
        "{out}"
    );
}

/// On a box the control sockets live under the run directory (`general.run_dir`, set by
/// the units), not in the data directory; the tools find them from the configuration.
#[test]
fn the_control_socket_lives_in_the_run_directory_and_the_tools_find_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = (dir.path().join("data"), dir.path().join("run/smtpd"));
    std::fs::create_dir_all(&run).unwrap();
    let port = free_port();
    let config = dir.path().join("mamori.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\nrun_dir = \"{}\"\nhostname = \"mamori.test\"\n[[smtp.listeners]]\nkind = \"relay\"\naddress = \"127.0.0.1:{port}\"\n",
            data.display(),
            run.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["smtpd", "--config", config.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = wait_for(std::time::Duration::from_secs(20), || {
        run.join("smtpd.sock").exists()
    });
    let config_arg = config.to_str().unwrap();
    let (queue_code, queue_out, queue_err) =
        mamori(&["queue", "--config", config_arg, "--json", "list"]);
    let (_, status, _) = mamori(&["status", "--config", config_arg, "--json"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "no socket in the run directory");
    assert!(
        !data.join("smtpd.sock").exists(),
        "a socket left in the data directory"
    );
    assert_eq!(queue_code, 0, "{queue_err}");
    assert_eq!(queue_out.trim(), "[]");
    let rows: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(rows[0]["state"], "running", "{status}");
}
