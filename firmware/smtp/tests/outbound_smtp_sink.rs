//! The outbound client against a real SMTP server: Postfix's `smtp-sink`, which accepts
//! everything and can dump each transaction to a file. Skips (with a message) only when
//! `smtp-sink` is not installed; CI installs it.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mamori_smtp::outbound::{
    ClientOptions, Connection, OutRecipient, TlsConfigs, Transaction, connect_any,
};
use mamori_smtp::settings::TlsMode;

const SINK_PATHS: &[&str] = &["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"];

/// A running smtp-sink, killed (by its own process handle) when dropped.
struct Sink {
    child: Child,
    addr: SocketAddr,
    dump: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sink_binary() -> Option<PathBuf> {
    SINK_PATHS.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Starts smtp-sink on a free loopback port with `extra` flags, dumping to a temp dir.
fn start_sink(extra: &[&str]) -> Option<Sink> {
    let Some(bin) = sink_binary() else {
        // CI installs Postfix: there a missing smtp-sink is a failure, not a skip.
        assert!(
            std::env::var("CI").unwrap_or_default().is_empty(),
            "under CI this test must run, but smtp-sink is not installed"
        );
        eprintln!("SKIPPED: smtp-sink not installed (apt-get install postfix)");
        return None;
    };
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe socket");
    let port = probe.local_addr().expect("probe address").port();
    drop(probe);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let dump = tempfile::tempdir().expect("temp dir");
    // smtp-sink drops privileges when run as root, and must then still write the dumps.
    std::fs::set_permissions(dump.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod the dump dir");
    let mut cmd = Command::new(bin);
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
    {
        cmd.args(["-u", "nobody"]);
    }
    cmd.args(extra)
        .arg("-d")
        .arg(format!("{}/%M.", dump.path().display()))
        .arg(addr.to_string())
        .arg("10")
        .stdin(Stdio::null());
    let child = cmd.spawn().expect("start smtp-sink");
    let sink = Sink { child, addr, dump };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "smtp-sink did not start listening on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(sink)
}

fn options() -> ClientOptions {
    ClientOptions {
        helo_name: "mamori.example.jp".into(),
        server_name: "localhost".into(),
        tls: TlsMode::Opportunistic,
        implicit_tls: false,
        auth: None,
        command_timeout: Duration::from_secs(10),
        tls_configs: Arc::new(TlsConfigs::load(None)),
    }
}

fn transaction(message: &str) -> Transaction {
    Transaction {
        mail_from: "taro@example.jp".into(),
        envid: Some("Q123".into()),
        ret: None,
        smtputf8: false,
        recipients: ["a@example.com", "b@example.net", "c@example.org"]
            .iter()
            .map(|a| OutRecipient::new(*a))
            .collect(),
        message: message.as_bytes().to_vec().into(),
    }
}

/// Waits for `n` dump files and returns their contents.
fn dumps(dir: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("read the dump dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        if files.len() >= n || Instant::now() > deadline {
            files.sort();
            // smtp-sink writes the file when the transaction ends; give it a moment.
            std::thread::sleep(Duration::from_millis(100));
            return files
                .iter()
                .map(|f| {
                    String::from_utf8_lossy(&std::fs::read(f).expect("read a dump")).into_owned()
                })
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const MESSAGE: &str = "From: taro@example.jp\r\nTo: a@example.com\r\nSubject: sink test\r\n\
                       \r\n.a line that starts with a dot\r\n日本語の本文\r\nlast line\r\n";

#[tokio::test]
async fn outbound_delivers_to_smtp_sink_with_pipelining() {
    let Some(sink) = start_sink(&[]) else { return };
    let (stream, _) = connect_any(&[sink.addr], Duration::from_secs(5))
        .await
        .unwrap();
    let mut conn = Connection::open(stream, &options()).await.unwrap();
    let caps = conn.capabilities().clone();
    assert!(
        caps.pipelining && caps.eight_bit_mime,
        "smtp-sink advertises these: {caps:?}"
    );
    for _ in 0..2 {
        let outcomes = conn.send(&transaction(MESSAGE)).await.unwrap();
        assert_eq!(outcomes.len(), 3);
        for o in &outcomes {
            let reply = o
                .result
                .as_ref()
                .unwrap_or_else(|f| panic!("{}: {f}", o.address));
            assert_eq!(reply.code, 250, "{}", o.address);
        }
    }
    conn.quit().await.unwrap();
    let dumped = dumps(sink.dump.path(), 2);
    assert_eq!(dumped.len(), 2, "one dump per transaction");
    for d in &dumped {
        // DSN is advertised, so ENVID goes along; the body has 8-bit text.
        assert!(
            d.contains("X-Mail-Args: <taro@example.jp> BODY=8BITMIME ENVID=Q123\n"),
            "{d}"
        );
        for rcpt in ["a@example.com", "b@example.net", "c@example.org"] {
            assert!(d.contains(&format!("X-Rcpt-Args: <{rcpt}>\n")), "{d}");
        }
        assert!(d.contains("\nSubject: sink test\n\n"), "{d}");
        // The server removed exactly the dot the client added.
        assert!(
            d.contains("\n.a line that starts with a dot\n日本語の本文\nlast line\n"),
            "{d}"
        );
    }
}

#[tokio::test]
async fn outbound_delivers_to_smtp_sink_without_esmtp() {
    // -e: no ESMTP, so EHLO is refused and the client falls back to HELO, one
    // command at a time.
    let Some(sink) = start_sink(&["-e"]) else {
        return;
    };
    let (stream, _) = connect_any(&[sink.addr], Duration::from_secs(5))
        .await
        .unwrap();
    let mut conn = Connection::open(stream, &options()).await.unwrap();
    assert!(!conn.capabilities().esmtp && !conn.capabilities().pipelining);
    let outcomes = conn.send(&transaction(MESSAGE)).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| o.result.as_ref().is_ok_and(|r| r.code == 250)),
        "{outcomes:?}"
    );
    conn.quit().await.unwrap();
    let dumped = dumps(sink.dump.path(), 1);
    assert!(
        dumped[0].contains("X-Client-Proto: SMTP\n"),
        "{}",
        dumped[0]
    );
    assert!(
        dumped[0].contains("X-Mail-Args: <taro@example.jp>\n"),
        "{}",
        dumped[0]
    );
    assert!(
        dumped[0].contains("\n.a line that starts with a dot\n"),
        "{}",
        dumped[0]
    );
}
