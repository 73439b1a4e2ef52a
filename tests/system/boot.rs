//! Booting safe: `smtpd` tells systemd it is ready (`Type=notify`) only once its listeners
//! are bound, so that units ordered after it find them.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::free_port;

#[test]
fn smtpd_sends_ready_only_with_its_listeners_bound() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, submission) = (free_port(), free_port());
    let config = dir.path().join("mamori.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\nhostname = \"mamori-{relay}.test\"\n\
             [[smtp.listeners]]\nkind = \"relay\"\naddress = \"127.0.0.1:{relay}\"\n\
             [[smtp.listeners]]\nkind = \"submission\"\naddress = \"127.0.0.1:{submission}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["smtpd", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 1024];
    let received = notify.recv(&mut buf);
    // The moment READY arrives, both listeners take connections.
    let relay_up = std::net::TcpStream::connect(("127.0.0.1", relay)).is_ok();
    let submission_up = std::net::TcpStream::connect(("127.0.0.1", submission)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    let n = received.expect("smtpd sent no notification within 30 s");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
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
    let config = dir.path().join("mamori.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = ns
        .command(env!("CARGO_BIN_EXE_mamori"))
        .args(["firewalld", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 1024];
    let received = notify.recv(&mut buf);
    let listed = ns
        .command("nft")
        .args(["list", "table", "inet", "mamori"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let n = received.expect("firewalld sent no notification within 30 s");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(text.starts_with("READY=1\n"), "{text:?}");
    assert!(
        listed.status.success(),
        "no table at READY: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("chain input"));
}
