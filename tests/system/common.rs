//! Shared harness: the real `mamori` binary, Postfix's real `smtp-sink`, real clients.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A free TCP port on 127.0.0.1, never the same twice in this test process (the kernel
/// may hand a just-released port out again, and tests run in parallel).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Waits until `f` is true or `timeout` passes; returns whether it became true.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

fn wait_port(port: u16, timeout: Duration) -> bool {
    wait_for(timeout, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// Fails the test with a clear message when a required peer program is missing.
pub fn require(program: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: run ci/install-deps.sh (the test command does)"
    );
}

fn smtp_sink_path() -> String {
    for p in ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"] {
        if Path::new(p).exists() {
            return p.to_string();
        }
    }
    require("smtp-sink");
    "smtp-sink".into()
}

/// Postfix's `smtp-sink`, dumping every message it accepts into a folder.
pub struct Sink {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Sink {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("dump");
        std::fs::create_dir_all(&dump).unwrap();
        // smtp-sink drops privileges to -u when started as root; let that user write dumps.
        std::fs::set_permissions(&dump, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let mut cmd = Command::new(smtp_sink_path());
        let is_root = unsafe_free_is_root();
        if is_root {
            cmd.args(["-u", "nobody"]);
        }
        cmd.arg("-d").arg(format!("{}/%H%M%S.", dump.display()));
        cmd.args(["-m", "100"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("128");
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().expect("start smtp-sink");
        assert!(
            wait_port(port, Duration::from_secs(10)),
            "smtp-sink did not start on {port}"
        );
        Self { port, dir, child }
    }

    /// Every completely dumped message: (content, time its last byte was written).
    /// Each dump starts with smtp-sink's `X-Mail-Args:` and one `X-Rcpt-Args:` a recipient.
    pub fn messages(&self) -> Vec<(String, SystemTime)> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.dir.path().join("dump")) {
            for e in rd.flatten() {
                let Ok(modified) = e.metadata().and_then(|m| m.modified()) else {
                    continue;
                };
                // smtp-sink writes a dump as data arrives: a file untouched for a moment
                // is complete.
                if modified.elapsed().unwrap_or_default() < Duration::from_millis(300) {
                    continue;
                }
                if let Ok(text) = std::fs::read(e.path()) {
                    out.push((String::from_utf8_lossy(&text).into_owned(), modified));
                }
            }
        }
        out.sort_by_key(|(_, t)| *t);
        out
    }

    pub fn count(&self) -> usize {
        self.messages().len()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unsafe_free_is_root() -> bool {
    // `id -u` keeps the test crate free of unsafe libc calls.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A provider's submission server for the office's route: a second Mamori relaying to
/// `sink_port`, with the account `office` / `password`; and its certificate, for the
/// office's `smtp.delivery.ca_file`.
pub fn provider(sink_port: u16, password: &str) -> (Mamori, std::path::PathBuf) {
    let provider = Mamori::start(
        sink_port,
        None,
        &format!(
            "[[smtp.accounts]]\nusername = \"office\"\npassword_hash = \"{}\"\n",
            hash_password(password)
        ),
    );
    let cert = provider.dir.path().join("data/tls/smtpd-cert.pem");
    (provider, cert)
}

/// A running `mamori smtpd` with its own data directory and configuration.
pub struct Mamori {
    pub dir: tempfile::TempDir,
    pub relay: u16,
    pub submission: u16,
    pub smtps: u16,
    pub config: PathBuf,
    /// The settings store the daemon runs on, when started with one.
    pub settings: Option<PathBuf>,
    child: Option<Child>,
}

impl Mamori {
    /// Starts smtpd with listeners on free ports, mail for `sink.test` (unless
    /// `sink_port` is 0) and `sender.test` (where bounces go) routed to the given sinks,
    /// and `extra` TOML appended.
    pub fn start(sink_port: u16, bounce_port: Option<u16>, extra: &str) -> Self {
        Self::start_inner(sink_port, bounce_port, extra, false)
    }

    /// As [`Mamori::start`], on a settings store seeded from that configuration (so that
    /// `mamori settings` changes it live).
    pub fn start_with_settings(sink_port: u16, extra: &str) -> Self {
        Self::start_inner(sink_port, None, extra, true)
    }

    fn start_inner(sink_port: u16, bounce_port: Option<u16>, extra: &str, store: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (relay, submission, smtps) = (free_port(), free_port(), free_port());
        let bounce_route = bounce_port
            .map(|p| format!("[[smtp.delivery.routes]]\ndomain = \"sender.test\"\nhost = \"127.0.0.1\"\nport = {p}\n"))
            .unwrap_or_default();
        let sink_route = if sink_port == 0 {
            String::new()
        } else {
            format!(
                "[[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {sink_port}\n"
            )
        };
        let text = format!(
            r#"[general]
data_dir = "{data}"
hostname = "mamori-{relay}.test"

[log]
level = "info,mamori_smtp=debug"

[[smtp.listeners]]
kind = "relay"
address = "127.0.0.1:{relay}"

[[smtp.listeners]]
kind = "submission"
address = "127.0.0.1:{submission}"

[[smtp.listeners]]
kind = "smtps"
address = "127.0.0.1:{smtps}"

{sink_route}
{bounce_route}
{extra}
"#,
            data = dir.path().join("data").display(),
        );
        let config = dir.path().join("mamori.toml");
        std::fs::write(&config, text).unwrap();
        let settings = store.then(|| seed_settings(dir.path(), &config));
        let mut m = Self {
            dir,
            relay,
            submission,
            smtps,
            config,
            settings,
            child: None,
        };
        m.spawn();
        m
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("smtpd.log")
    }

    /// Starts (or restarts) the daemon and waits for its relay port.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mamori"));
        command.args(["smtpd", "--config"]).arg(&self.config);
        if let Some(store) = &self.settings {
            command.arg("--settings").arg(store);
        }
        let child = command
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mamori smtpd");
        self.child = Some(child);
        assert!(
            wait_port(self.relay, Duration::from_secs(20)),
            "smtpd did not start; log:\n{}",
            self.log()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// SIGTERM, as systemd stops the unit; waits for the exit and says whether it was a
    /// clean one (status 0).
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", c.id())])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let mut exited = None;
        wait_for(Duration::from_secs(20), || {
            exited = c.try_wait().unwrap();
            exited.is_some()
        });
        if exited.is_none() {
            let _ = c.kill();
            let _ = c.wait();
        }
        exited.is_some_and(|s| s.success())
    }

    /// SIGKILL: no clean shutdown, as in a power cut of the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn relay_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.relay))
    }

    /// Sends one message through the relay port with swaks (`to` may list several
    /// recipients, comma-separated) and asserts it was accepted; returns the transcript.
    pub fn send(&self, from: &str, to: &str, subject: Option<&str>) -> String {
        let server = self.relay_addr().to_string();
        let header = subject.map(|s| format!("Subject: {s}"));
        let mut args = vec!["--server", &server, "--from", from, "--to", to];
        if let Some(h) = &header {
            args.extend(["--header", h]);
        }
        let (code, out) = swaks(&args);
        assert_eq!(code, 0, "{out}");
        out
    }

    /// Runs `mamori queue ARGS` against this daemon; returns (exit code, stdout, stderr).
    pub fn queue(&self, args: &[&str]) -> (i32, String, String) {
        self.command("queue", args)
    }

    /// Runs `mamori SUBCOMMAND --config <this daemon's> ARGS`: (exit code, stdout, stderr).
    pub fn command(&self, subcommand: &str, args: &[&str]) -> (i32, String, String) {
        let config = self.config.display().to_string();
        let mut all = vec![subcommand, "--config", config.as_str()];
        all.extend_from_slice(args);
        mamori(&all)
    }

    /// Runs `mamori settings --dir <store> --data-dir <data> ARGS`: (exit code, stdout, stderr).
    pub fn settings(&self, args: &[&str]) -> (i32, String, String) {
        let store = self
            .settings
            .as_ref()
            .expect("started with a settings store");
        let data = self.dir.path().join("data");
        let mut all = vec![
            "settings",
            "--dir",
            store.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        mamori(&all)
    }

    /// The queue listing as JSON.
    pub fn queue_json(&self) -> serde_json::Value {
        let (code, out, err) = self.queue(&["--json", "list"]);
        assert_eq!(code, 0, "queue list failed: {err}");
        serde_json::from_str(&out).unwrap()
    }
}

impl Drop for Mamori {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- smtpd log ---\n{}", self.log());
        }
    }
}

/// Seeds a settings store in `dir/settings` from `config`, as first boot does; returns it.
pub fn seed_settings(dir: &Path, config: &Path) -> PathBuf {
    let store = dir.join("settings");
    let (code, _, err) = mamori(&[
        "settings",
        "--dir",
        store.to_str().unwrap(),
        "seed",
        config.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "seeding the settings store: {err}");
    store
}

/// The name of the user running the tests, as the system knows it.
pub fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A finished process's exit code, stdout and stderr.
pub fn outcome(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the `mamori` binary under test with `args`: (exit code, stdout, stderr).
pub fn mamori(args: &[&str]) -> (i32, String, String) {
    outcome(
        Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Runs swaks with `args`; returns (exit code, full transcript).
pub fn swaks(args: &[&str]) -> (i32, String) {
    require("swaks");
    let out = Command::new("swaks")
        .args(args)
        .args(["--timeout", "20"])
        .output()
        .expect("run swaks");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Runs a Python 3 script (smtplib, raw sockets) with `args`; returns (exit code, output).
pub fn python(script: &str, args: &[&str]) -> (i32, String) {
    require("python3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// An Argon2id hash made by the real `mamori hash-password` (password on stdin).
pub fn hash_password(password: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mamori"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "hash-password refused {password:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The `Subject:` of every message the sink holds.
pub fn subjects(sink: &Sink) -> std::collections::HashSet<String> {
    sink.messages()
        .iter()
        .filter_map(|(t, _)| {
            t.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
        })
        .collect()
}

/// The queue ID from a client transcript's `250 2.0.0 Ok: queued as ID`.
pub fn queued_id(transcript: &str) -> String {
    transcript
        .lines()
        .find_map(|l| l.split("queued as ").nth(1))
        .map(|id| id.trim().to_string())
        .unwrap_or_else(|| panic!("no queue ID in: {transcript}"))
}

/// A peer written in Python by a test (an SMTP server that misbehaves in a set way, a
/// DNS server): started with its port as `argv[1]`, ready once it prints `ready`; every
/// later line it prints can be read with [`ScriptPeer::next_line`]. Killed when dropped.
pub struct ScriptPeer {
    pub port: u16,
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ScriptPeer {
    /// Starts the script on a free port. The port can be taken between [`free_port`] and
    /// the script's bind (the kernel hands the same range out for other tests' outgoing
    /// connections): a script that exits before `ready` is started again on another port.
    pub fn start(script: &str) -> Self {
        require("python3");
        for _ in 0..3 {
            if let Some(peer) = Self::try_start(script) {
                return peer;
            }
        }
        panic!("the script peer did not get ready on three ports:\n{script}");
    }

    fn try_start(script: &str) -> Option<Self> {
        let port = free_port();
        let mut child = Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok)
            {
                let _ = tx.send(l);
            }
        });
        let peer = Self { port, child, lines };
        // A loaded CI machine can take seconds to start Python; the wait ends at once when
        // the script exits (its stdout closes).
        match peer.lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line == "ready" => Some(peer),
            Ok(line) => panic!("the script peer printed {line:?} before ready"),
            Err(_) => None,
        }
    }

    /// The next line the script printed, if one comes within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }
}

impl Drop for ScriptPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::my_number::my_number;

/// Runs openssl with `args` in `dir`, asserting success (test CAs and certificates).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
