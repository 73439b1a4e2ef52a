//! Booting safe: the daemons tell systemd they are ready (`Type=notify`) only once they
//! really serve: `smtpd` with its listeners bound, `firewalld` with its table in force.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::free_port;

/// Writes `text` as the configuration in `dir`, with `dir/data` as the data directory.
fn config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("mamori.toml");
    let data = dir.join("data");
    std::fs::write(
        &path,
        format!("[general]\ndata_dir = \"{}\"\n{text}", data.display()),
    )
    .unwrap();
    path
}

/// Runs `daemon` with a notify socket of its own, waits (30 s at most) for its first
/// notification, runs `at_ready` at that moment and stops the daemon. Returns the
/// notification and what `at_ready` saw.
fn at_notification<T>(
    dir: &Path,
    mut daemon: Command,
    at_ready: impl FnOnce() -> T,
) -> (String, T) {
    let notify_path = dir.join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = daemon
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 1024];
    let received = notify.recv(&mut buf);
    let seen = at_ready();
    let _ = child.kill();
    let _ = child.wait();
    let n = received.expect("the daemon sent no notification within 30 s");
    (String::from_utf8_lossy(&buf[..n]).into_owned(), seen)
}

#[test]
fn smtpd_sends_ready_only_with_its_listeners_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, submission) = (free_port(), free_port());
    let config = config(
        dir.path(),
        &format!(
            "hostname = \"mamori-{relay}.test\"\n\
             [[smtp.listeners]]\nkind = \"relay\"\naddress = \"127.0.0.1:{relay}\"\n\
             [[smtp.listeners]]\nkind = \"submission\"\naddress = \"127.0.0.1:{submission}\"\n"
        ),
    );
    let mut smtpd = Command::new(env!("CARGO_BIN_EXE_mamori"));
    smtpd.args(["smtpd", "--config"]).arg(&config);
    // The moment READY arrives, both listeners take connections.
    let (text, (relay_up, submission_up)) = at_notification(dir.path(), smtpd, || {
        (
            std::net::TcpStream::connect(("127.0.0.1", relay)).is_ok(),
            std::net::TcpStream::connect(("127.0.0.1", submission)).is_ok(),
        )
    });
    assert!(text.starts_with("READY=1\n"), "{text:?}");
    assert!(
        text.contains(&format!("relay 127.0.0.1:{relay}"))
            && text.contains(&format!("submission 127.0.0.1:{submission}")),
        "{text:?}"
    );
    assert!(relay_up && submission_up, "listeners not bound at READY");
}

#[test]
fn firewalld_sends_ready_only_with_its_table_in_force() {
    let Some(ns) = crate::netns::Netns::new("boot") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "");
    let mut firewalld = ns.command(env!("CARGO_BIN_EXE_mamori"));
    firewalld.args(["firewalld", "--config"]).arg(&config);
    let (text, listed) = at_notification(dir.path(), firewalld, || {
        ns.command("nft")
            .args(["list", "table", "inet", "mamori"])
            .output()
            .unwrap()
    });
    assert!(text.starts_with("READY=1\n"), "{text:?}");
    assert!(
        listed.status.success(),
        "no table at READY: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("chain input"));
}
