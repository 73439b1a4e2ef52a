//! Network namespaces made by a test (deleted when dropped, also on panic) and
//! `mamori firewalld` running inside one.

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether namespace tests can run here (root, `ip` and `nft`); prints why not when not.
pub fn can_run() -> bool {
    let root = unsafe_free_uid() == Some(0);
    let tools = ["ip", "nft"].iter().all(|t| {
        Command::new(t)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !root || !tools {
        // CI has root and the tools: there a test that cannot run is a failure.
        assert!(
            std::env::var("CI").unwrap_or_default().is_empty(),
            "under CI this test must run, but it needs root, ip and nft"
        );
        eprintln!("SKIP: needs root, ip and nft (CI has them)");
    }
    root && tools
}

fn unsafe_free_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A network namespace made for one test, deleted when dropped.
pub struct Netns(pub String);

impl Netns {
    /// A fresh namespace named after `tag`, this process and a counter (tests run in
    /// parallel threads); `None` (with a SKIP message) when [`can_run`] says no.
    pub fn new(tag: &str) -> Option<Self> {
        can_run().then(|| Self::create(tag))
    }

    /// A fresh namespace named after `tag`, this process and a counter.
    pub fn create(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("mamori-sys-{tag}-{}-{n}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success();
        assert!(ok, "ip netns add {name}");
        Self(name)
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// `ip netns exec <ns> <program>`, to be given arguments and run.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }

    /// Runs `sh -c script` inside the namespace; panics with its output when it fails.
    pub fn sh(&self, script: &str) -> Output {
        let out = self.command("sh").args(["-c", script]).output().unwrap();
        assert!(
            out.status.success(),
            "in {}: {script}\n{}{}",
            self.0,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn nft(&self, args: &[&str]) -> String {
        let out = self.command("nft").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// `mamori firewalld` inside a namespace, killed when dropped.
pub struct Firewalld {
    pub child: std::process::Child,
    pub config: std::path::PathBuf,
    /// The settings store it runs on, when started with one.
    pub settings: Option<std::path::PathBuf>,
    _dir: tempfile::TempDir,
}

impl Firewalld {
    /// With the configuration's default `[firewall]` (an empty section).
    pub fn start(ns: &Netns) -> Self {
        Self::start_with(ns, "")
    }

    /// With `firewall` (TOML: `[firewall…]` tables) appended to the configuration.
    pub fn start_with(ns: &Netns, firewall: &str) -> Self {
        Self::start_prepared(ns, firewall, |_| {})
    }

    /// As [`Self::start_with`], after `prepare` has been given the data directory (to
    /// leave state there as an earlier run, or a broken disk, would).
    pub fn start_prepared(
        ns: &Netns,
        firewall: &str,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Self {
        Self::start_inner(ns, firewall, prepare, false)
    }

    /// As [`Self::start_with`], on a settings store seeded from that configuration: the
    /// firewall model is then a section of the settings.
    pub fn start_with_settings(ns: &Netns, firewall: &str) -> Self {
        Self::start_inner(ns, firewall, |_| {}, true)
    }

    fn start_inner(
        ns: &Netns,
        firewall: &str,
        prepare: impl FnOnce(&std::path::Path),
        store: bool,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        prepare(&dir.path().join("data"));
        let config = dir.path().join("mamori.toml");
        std::fs::write(
            &config,
            format!(
                "[general]\ndata_dir = \"{}\"\n[log]\nlevel = \"info\"\n{firewall}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let settings = store.then(|| crate::common::seed_settings(dir.path(), &config));
        let child = Self::spawn(ns, &config, dir.path(), settings.as_deref());
        let mut me = Self {
            child,
            config,
            settings,
            _dir: dir,
        };
        me.wait_ready();
        me
    }

    pub fn spawn(
        ns: &Netns,
        config: &std::path::Path,
        dir: &std::path::Path,
        settings: Option<&std::path::Path>,
    ) -> std::process::Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("firewalld.log"))
            .unwrap();
        let mut command = ns.command(env!("CARGO_BIN_EXE_mamori"));
        command.args(["firewalld", "--config"]).arg(config);
        if let Some(store) = settings {
            command.arg("--settings").arg(store);
        }
        command.stderr(log).spawn().unwrap()
    }

    pub fn socket(&self) -> std::path::PathBuf {
        self.config.parent().unwrap().join("data/firewalld.sock")
    }

    /// Waits for the control socket, bound once the start-up table is loaded.
    pub fn wait_ready(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.socket().exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("firewalld exited ({status}): {}", self.log());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "firewalld did not start: {}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.parent().unwrap().join("firewalld.log"))
            .unwrap_or_default()
    }

    /// Runs `mamori fw ARGS` against this daemon: (exit code, stdout, stderr).
    pub fn fw(&self, args: &[&str]) -> (i32, String, String) {
        let config = self.config.display().to_string();
        let mut all = vec!["fw", "--config", config.as_str()];
        all.extend_from_slice(args);
        crate::common::mamori(&all)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Firewalld {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("--- firewalld log ---\n{}", self.log());
        }
    }
}
