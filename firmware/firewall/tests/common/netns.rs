//! Network namespaces for the kernel tests: skipping without root or tools, a namespace
//! deleted on drop, `nft` inside it, and the listing normalisation both back ends share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Why the kernel tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    skip_reason_for(&["nft", "ip"])
}

/// Why tests that need root and `tools` cannot run here, if they cannot. Under CI (`CI`
/// set and non-empty) a test that cannot run fails instead: CI has root and the tools, so
/// a missing one is a broken install, not a reason to pass.
pub fn skip_reason_for(tools: &[&str]) -> Option<String> {
    let reason = why_not(tools);
    if let Some(reason) = &reason {
        assert!(
            std::env::var("CI").unwrap_or_default().is_empty(),
            "under CI this test must run, but {reason}"
        );
    }
    reason
}

fn why_not(tools: &[&str]) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .map(str::to_string);
    if euid.as_deref() != Some("0") {
        return Some("not running as root (network namespaces and nftables need it)".into());
    }
    for &tool in tools {
        if find_tool(tool).is_none() {
            return Some(format!(
                "`{tool}` is not installed (apt-get install nftables iproute2)"
            ));
        }
    }
    None
}

/// The tool's path on `PATH` or in the sbin folders (which a non-login `PATH` may lack).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

pub fn tool(name: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| PathBuf::from(name))
}

/// Skips the calling test (returning from it) when the kernel tests cannot run.
#[macro_export]
macro_rules! require_kernel {
    ($test:expr) => {
        if let Some(reason) = $crate::common::netns::skip_reason() {
            eprintln!("SKIPPED {}: {reason}", $test);
            return;
        }
    };
}

/// A network namespace made for one test, deleted on drop.
pub struct NetNs {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl NetNs {
    /// Makes a fresh namespace.
    pub fn new() -> Self {
        let name = format!(
            "mamori-fw-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new(tool("ip"))
            .args(["netns", "add", &name])
            .output()
            .expect("ip runs");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { name }
    }

    /// Runs `ip -n <namespace> <args>`, panicking with ip's message if it fails.
    pub fn ip(&self, args: &[&str]) {
        let out = Command::new(tool("ip"))
            .args(["-n", &self.name])
            .args(args)
            .output()
            .expect("ip runs");
        assert!(
            out.status.success(),
            "ip -n {} {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `nft <args>` inside the namespace.
    pub fn nft(&self, args: &[&str]) -> Output {
        Command::new(tool("ip"))
            .args(["netns", "exec", &self.name])
            .arg(tool("nft"))
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// Loads a script, panicking with nft's message if the kernel refuses it.
    pub fn load(&self, what: &str, script: &str) {
        let out = self.try_load(script);
        assert!(
            out.status.success(),
            "{what}: nft -f refused the script:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Loads a script, returning nft's output.
    pub fn try_load(&self, script: &str) -> Output {
        let file = tempfile::Builder::new()
            .suffix(".nft")
            .tempfile()
            .expect("temp file");
        std::fs::write(file.path(), script).expect("script written");
        let path = file.path().to_str().expect("UTF-8 temp path");
        self.nft(&["-f", path])
    }

    /// Runs the test `name` of this test binary inside this namespace, with `child_var` set
    /// so that the test body runs there, and checks that it ran and passed.
    pub fn run_test(&self, name: &str, child_var: &str) {
        let exe = std::env::current_exe().expect("test binary path");
        let out = Command::new(tool("ip"))
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(child_var, "1")
            .output()
            .expect("ip netns exec runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{name} failed inside namespace {}:\n{stdout}\n{stderr}",
            self.name
        );
    }

    /// The kernel's listing of the table, normalised (see [`normalise`]).
    pub fn list(&self) -> String {
        let out = self.nft(&["list", "table", "inet", "mamori"]);
        assert!(
            out.status.success(),
            "nft list table: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        normalise(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let out = Command::new(tool("ip"))
            .args(["netns", "del", &self.name])
            .output();
        if !out.is_ok_and(|o| o.status.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// Makes a listing stable: the time left on timed set elements (`expires 59m59s952ms`)
/// is removed, and element lists that nft wraps by width are joined onto one line.
pub fn normalise(listing: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<String> = None;
    for line in listing.lines() {
        let line = match pending.take() {
            Some(mut head) => {
                head.push(' ');
                head.push_str(line.trim_start());
                head
            }
            None => line.to_string(),
        };
        if line.trim_start().starts_with("elements = {") && !line.contains('}') {
            pending = Some(line);
            continue;
        }
        out.push_str(&strip_expires(&line));
        out.push('\n');
    }
    if let Some(rest) = pending {
        out.push_str(&rest);
        out.push('\n');
    }
    out
}

fn strip_expires(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(" expires ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " expires ".len()..];
        let end = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
