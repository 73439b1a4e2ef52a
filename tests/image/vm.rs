//! The booted box and its two networks: one network namespace made by the test holding the
//! LAN tap (the office side, 192.168.1.10/24) and the WAN tap (the provider's side,
//! 203.0.113.1/24, with dnsmasq serving the box's WAN its DHCP lease and DNS, and Postfix's
//! smtp-sink as the destination's mail server), and qemu-system-aarch64 started inside it
//! through `image-build/qemu/run.sh`. The serial console is read line by line, kept, and
//! written to a log file beside the disk.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The box's LAN address (board-configs/qemu-aarch64-virt/network).
pub const BOX_LAN: &str = "192.168.1.1";
/// The office PC's address on the LAN tap.
pub const PC: &str = "192.168.1.10";
/// The provider's side: router, DNS, and the destination's MX, on the WAN tap.
pub const PEER: &str = "203.0.113.1";

/// Polls `f` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    f()
}

/// A network namespace of the test's own, deleted when dropped.
pub struct Netns(pub String);

impl Netns {
    /// Makes the namespace with loopback up.
    pub fn create(tag: &str) -> Self {
        let name = format!("mamori-{tag}-{}", std::process::id());
        // One left by an earlier run that was killed.
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Self(name);
        ns.sh("ip link set lo up");
        ns
    }

    /// `program` run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }

    /// A shell script inside the namespace; it must succeed.
    pub fn sh(&self, script: &str) -> Output {
        let out = self.command("sh").args(["-ec", script]).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Whatever still runs in it (dnsmasq, smtp-sink, qemu) goes with it.
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.0])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            });
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The provider's side of the WAN: DHCP and DNS (the destination domain's MX points back
/// here) by dnsmasq, and smtp-sink on port 25 keeping every message in `dump/`.
pub struct Peer {
    dnsmasq: Child,
    sink: Child,
    dump: PathBuf,
}

impl Peer {
    /// Starts both inside `ns`, keeping their files in `dir`.
    pub fn start(ns: &Netns, dir: &Path) -> Self {
        let dump = dir.join("dump");
        std::fs::create_dir_all(&dump).unwrap();
        // smtp-sink drops privileges to -u: let that user write the dumps.
        std::fs::set_permissions(&dump, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let dnsmasq = ns
            .command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--interface=tapw",
                "--bind-interfaces",
                "--listen-address=203.0.113.1",
                "--dhcp-range=203.0.113.50,203.0.113.60,255.255.255.0,1h",
                "--dhcp-option=option:router,203.0.113.1",
                "--dhcp-option=option:dns-server,203.0.113.1",
                "--mx-host=client.example.com,mx.client.example.com,10",
                "--host-record=mx.client.example.com,203.0.113.1",
                "--pid-file=",
                "--user=root",
                "--log-dhcp",
            ])
            .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("dnsmasq.log")).unwrap())
            .spawn()
            .expect("start dnsmasq");
        let sink = ns
            .command("smtp-sink")
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%H%M%S.", dump.display()))
            .args(["-m", "100", "203.0.113.1:25", "64"])
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink (postfix)");
        Self {
            dnsmasq,
            sink,
            dump,
        }
    }

    /// The messages received so far (complete files only).
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<(SystemTime, String)> = Vec::new();
        for e in std::fs::read_dir(&self.dump)
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(modified) = e.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            if modified.elapsed().unwrap_or_default() < Duration::from_millis(500) {
                continue;
            }
            if let Ok(text) = std::fs::read(e.path()) {
                out.push((modified, String::from_utf8_lossy(&text).into_owned()));
            }
        }
        out.sort_by_key(|(t, _)| *t);
        out.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.dnsmasq.kill();
        let _ = self.sink.kill();
        let _ = self.dnsmasq.wait();
        let _ = self.sink.wait();
    }
}

/// The box under qemu, its console kept line by line with the host time each arrived.
pub struct Vm {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Vm {
    /// Boots `disk` in `ns` (which holds the taps `tapl` and `tapw`); the console also goes
    /// to `log`.
    pub fn boot(ns: &Netns, run_sh: &Path, disk: &Path, log: &Path) -> Self {
        let mut child = ns
            .command("bash")
            .arg(run_sh)
            .arg(disk)
            .args([
                "--lan",
                "tap,ifname=tapl,script=no,downscript=no",
                "--wan",
                "tap,ifname=tapw,script=no,downscript=no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qemu-system-aarch64");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut file = std::fs::File::create(log).unwrap();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let keep = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut r = BufReader::new(out);
            let mut buf = Vec::new();
            while r
                .read_until(b'\n', &mut buf)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                let _ = file.write_all(&buf);
                let text = strip_ansi(&String::from_utf8_lossy(&buf));
                keep.lock().unwrap().push((Instant::now(), text));
                buf.clear();
            }
        });
        let keep = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                keep.lock()
                    .unwrap()
                    .push((Instant::now(), format!("qemu: {line}")));
            }
        });
        Self { child, lines }
    }

    /// How many console lines have arrived (a mark to search from).
    pub fn mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits for a console line after `from` containing `needle`: its index and time.
    pub fn wait_line(&self, from: usize, needle: &str, timeout: Duration) -> (usize, Instant) {
        let end = Instant::now() + timeout;
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if let Some(i) = lines[from.min(lines.len())..]
                    .iter()
                    .position(|(_, l)| l.contains(needle))
                {
                    return (from + i, lines[from + i].0);
                }
            }
            assert!(
                Instant::now() < end,
                "no console line with {needle:?} within {timeout:?}; the console's end:\n{}",
                self.tail(60)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether a console line after `from` contains `needle` (now, without waiting).
    pub fn has_line(&self, from: usize, needle: &str) -> bool {
        let lines = self.lines.lock().unwrap();
        lines[from.min(lines.len())..]
            .iter()
            .any(|(_, l)| l.contains(needle))
    }

    /// The line at `i`.
    pub fn line(&self, i: usize) -> String {
        self.lines.lock().unwrap()[i].1.clone()
    }

    /// The console's last `n` lines.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines.lock().unwrap();
        let start = lines.len().saturating_sub(n);
        lines[start..]
            .iter()
            .map(|(_, l)| l.trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops qemu (the power cord).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The text of a console line without its colour codes.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}
