//! The promise: a firmware update either lands whole in the other slot and is kept only
//! once the new firmware proved itself healthy, or the box boots its old firmware,
//! untouched — whatever the network (a cut download), the repository (another board's
//! bundle, an older version, changed bytes, old or frozen metadata) or a power cut at any
//! install step does. The real `mamori repo` signs the repository, a real HTTPS server
//! (`tests/update/https_repo.py`, a test CA) serves it, the real `mamori updated` installs
//! into slot files on a simulated box, and `mamori update simulate-boot` boots it as the
//! boot loader would.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// The board the simulated box is.
const BOARD: &str = "qemu-aarch64";
/// Bytes of each image (small, so that the tests stay fast; several pieces of a download).
const IMAGE_LEN: usize = 3_000_000;
/// Bytes of each slot device (larger than the image, as a partition is).
const SLOT_LEN: usize = 4_000_000;
/// The install steps, in order, as `MAMORI_UPDATE_TEST_STOP_AFTER` names them.
const PHASES: [&str; 5] = ["disabled", "writing", "written", "verified", "marked"];

/// Deterministic bytes that differ per seed (xorshift64*), so that every slot and image
/// is distinguishable and a partial write shows.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `mamori ARGS` and asserts it succeeded; returns stdout.
fn mamori_ok(args: &[&str]) -> String {
    let (code, out, err) = mamori(args);
    assert_eq!(code, 0, "mamori {args:?} failed: {out}{err}");
    out
}

/// A test CA and a server certificate it signed for IP 127.0.0.1 (rustls refuses a
/// self-signed leaf used as its own CA).
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn make(dir: &Path) -> Pki {
        require("openssl");
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Mamori update test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        openssl(dir, &csr);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        );
        Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}

/// An update repository made by the real `mamori repo` (its working directory).
struct Repo {
    dir: PathBuf,
}

impl Repo {
    /// `mamori repo init DIR EXTRA...`.
    fn init(dir: PathBuf, extra: &[&str]) -> Repo {
        let mut args = vec!["repo", "init", path_str(&dir)];
        args.extend_from_slice(extra);
        mamori_ok(&args);
        Repo { dir }
    }

    /// Stages a bundle of `image` as the target `name`.
    fn add_target(&self, name: &str, board: &str, version: &str, min: &str, image: &Path) {
        let spec = format!("rootfs={}", image.display());
        mamori_ok(&[
            "repo",
            "add-target",
            path_str(&self.dir),
            "--board",
            board,
            "--version",
            version,
            "--min-version",
            min,
            "--image",
            &spec,
            "--name",
            name,
        ]);
    }

    fn publish(&self) {
        mamori_ok(&["repo", "publish", path_str(&self.dir)]);
    }

    /// The directory the web server serves.
    fn served(&self) -> PathBuf {
        self.dir.join("repository")
    }

    /// The root the box's image ships.
    fn root(&self) -> PathBuf {
        self.served().join("metadata/1.root.json")
    }

    /// The served file of target `name` (`targets/<sha256>.<name>`).
    fn target_file(&self, name: &str) -> PathBuf {
        let suffix = format!(".{name}");
        std::fs::read_dir(self.served().join("targets"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(&suffix))
            .unwrap_or_else(|| panic!("no served file for {name}"))
    }

    /// `mamori repo export` of `name` into `out`.
    fn export(&self, name: &str, out: &Path) {
        mamori_ok(&[
            "repo",
            "export",
            path_str(&self.dir),
            "--target",
            name,
            "--out",
            path_str(out),
        ]);
    }
}

/// A repository with one good update for the box (1.1.0 over 1.0 or later) of `image`.
fn repo_with_update(dir: PathBuf, image: &Path, init: &[&str]) -> (Repo, &'static str) {
    let repo = Repo::init(dir, init);
    let name = "mamori-qemu-aarch64-1.1.0.bundle";
    repo.add_target(name, BOARD, "1.1.0", "1.0", image);
    repo.publish();
    (repo, name)
}

/// The HTTPS server of `tests/update/https_repo.py` on a port of its own, logging each
/// request to a file. Killed when dropped.
struct Server {
    port: u16,
    log: PathBuf,
    child: Child,
}

impl Server {
    fn start(served: &Path, pki: &Pki, log: PathBuf, extra: &[&str]) -> Server {
        require("python3");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/update/https_repo.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg("--dir")
            .arg(served)
            .arg("--cert")
            .arg(&pki.cert)
            .arg("--key")
            .arg(&pki.key)
            .arg("--log")
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start https_repo.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("https_repo.py printed no port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("https_repo.py printed {line:?}, not its port"));
        Server { port, log, child }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed (and reaped) when dropped.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How the simulated box is set up.
struct BoxSpec<'a> {
    /// The repository's address (empty: none, offline files only).
    repository: String,
    ca: &'a Path,
    root: PathBuf,
    health_window: &'a str,
    health_deadline: &'a str,
}

/// A simulated box: the release file (1.0.0 on the board), two slot files, a file boot
/// environment, a simulation directory for the kernel command line, boot id, clock and
/// units, and `mamori updated` on its own data directory.
struct UpdateBox {
    config: PathBuf,
    data: PathBuf,
    sim: PathBuf,
    bootenv: PathBuf,
    slot_a: PathBuf,
    slot_b: PathBuf,
    a_original: Vec<u8>,
    b_original: Vec<u8>,
    log: PathBuf,
    daemon: Option<Child>,
}

impl UpdateBox {
    /// A box in `dir`, booted from slot A, its daemon not started yet.
    fn new(dir: &Path, spec: &BoxSpec<'_>) -> UpdateBox {
        std::fs::create_dir_all(dir).unwrap();
        let data = dir.join("data");
        let sim = dir.join("sim");
        std::fs::create_dir_all(&sim).unwrap();
        std::fs::write(sim.join("cmdline"), "console=ttyAMA0 mamori.slot=A\n").unwrap();
        std::fs::write(sim.join("boot_id"), "first-boot\n").unwrap();
        let bootenv = dir.join("bootenv");
        std::fs::write(&bootenv, "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n").unwrap();
        let release = dir.join("release.json");
        std::fs::write(
            &release,
            format!(r#"{{"board":"{BOARD}","version":"1.0.0","built":"2026-12-01T00:00:00Z"}}"#),
        )
        .unwrap();
        let (slot_a, slot_b) = (dir.join("slotA.img"), dir.join("slotB.img"));
        let (a_original, b_original) = (pattern(101, SLOT_LEN), pattern(202, SLOT_LEN));
        std::fs::write(&slot_a, &a_original).unwrap();
        std::fs::write(&slot_b, &b_original).unwrap();
        let config = dir.join("mamori.toml");
        std::fs::write(
            &config,
            format!(
                r#"[general]
data_dir = "{data}"

[update]
repository = "{repository}"
repository_ca = "{ca}"
root = "{root}"
release = "{release}"
boot_env = "file:{bootenv}"
simulate = "{sim}"
health_daemons = []
health_units = []
health_window = "{window}"
health_deadline = "{deadline}"

[update.slots.A]
rootfs = "{slot_a}"

[update.slots.B]
rootfs = "{slot_b}"
"#,
                data = data.display(),
                repository = spec.repository,
                ca = spec.ca.display(),
                root = spec.root.display(),
                release = release.display(),
                bootenv = bootenv.display(),
                sim = sim.display(),
                window = spec.health_window,
                deadline = spec.health_deadline,
                slot_a = slot_a.display(),
                slot_b = slot_b.display(),
            ),
        )
        .unwrap();
        UpdateBox {
            config,
            data,
            sim,
            bootenv,
            slot_a,
            slot_b,
            a_original,
            b_original,
            log: dir.join("updated.log"),
            daemon: None,
        }
    }

    /// Starts `mamori updated` (stopping after the install step `stop_after`, when given)
    /// and waits until it answers `status`.
    fn start(&mut self, stop_after: Option<&str>) {
        assert!(self.daemon.is_none(), "the daemon is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mamori"));
        command
            .arg("updated")
            .arg("-c")
            .arg(&self.config)
            .arg("--daemons-dir")
            .arg(self.data.join("run"))
            .env_remove("RUST_LOG")
            .env_remove("MAMORI_UPDATE_TEST_STOP_AFTER")
            .env("MAMORI_UPDATE_SIMULATE", "1");
        if let Some(phase) = stop_after {
            command.env("MAMORI_UPDATE_TEST_STOP_AFTER", phase);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mamori updated");
        self.daemon = Some(child);
        let ready = wait_for(Duration::from_secs(20), || {
            self.update(&["--json", "status"]).0 == 0
        });
        assert!(ready, "updated did not start; log:\n{}", self.daemon_log());
    }

    /// SIGKILL: no clean shutdown, as in a power cut.
    fn kill(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// What the boot loader does at power-on: the slot it chose.
    fn boot(&self) -> String {
        let out = mamori_ok(&[
            "update",
            "simulate-boot",
            "--env",
            path_str(&self.bootenv),
            "--sim",
            path_str(&self.sim),
        ]);
        out.trim()
            .strip_prefix("booted slot ")
            .unwrap_or_else(|| panic!("simulate-boot said {out:?}"))
            .to_string()
    }

    /// A restart: the daemon killed, the boot loader's choice, the daemon started again.
    fn reboot(&mut self) -> String {
        self.kill();
        let slot = self.boot();
        self.start(None);
        slot
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `mamori update -c CONFIG ARGS` (again while the daemon is busy with its own
    /// scheduled check): (exit code, stdout, stderr).
    fn update(&self, args: &[&str]) -> (i32, String, String) {
        let config = path_str(&self.config);
        let mut all = vec!["update", "-c", config];
        all.extend_from_slice(args);
        let mut tries = 0;
        loop {
            let r = mamori(&all);
            if r.0 != 0 && r.2.contains("(busy)") && tries < 100 {
                tries += 1;
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            return r;
        }
    }

    /// `mamori update --json ACTION`, asserted to succeed: its answer.
    fn update_ok(&self, action: &[&str]) -> serde_json::Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(action);
        let (code, out, err) = self.update(&args);
        assert_eq!(
            code,
            0,
            "mamori update {action:?} failed: {err}\nlog:\n{}",
            self.daemon_log()
        );
        serde_json::from_str(&out).unwrap()
    }

    /// `mamori update --json ACTION`, asserted to be refused with `kind`: the message.
    fn update_refused(&self, action: &[&str], kind: &str) -> String {
        let mut args = vec!["--json"];
        args.extend_from_slice(action);
        let (code, out, err) = self.update(&args);
        assert_eq!(
            code, 1,
            "mamori update {action:?} was not refused: {out}{err}"
        );
        assert!(
            err.contains(&format!("({kind})")),
            "mamori update {action:?} refused, but not as {kind}: {err}"
        );
        err
    }

    /// `mamori update --json status`.
    fn status(&self) -> serde_json::Value {
        self.update_ok(&["status"])
    }

    /// `mamori update --json install ARGS`, in the background.
    fn install_in_background(&self, args: &[&str]) -> Background {
        Background(
            Command::new(env!("CARGO_BIN_EXE_mamori"))
                .args(["update", "-c", path_str(&self.config), "--json", "install"])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    /// The boot environment's variables.
    fn env(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(&self.bootenv)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    fn slot(&self, slot: &str) -> Vec<u8> {
        std::fs::read(if slot == "A" {
            &self.slot_a
        } else {
            &self.slot_b
        })
        .unwrap()
    }

    /// Whether `slot` holds `image` at its start (the rest of the device is not the
    /// image's).
    fn holds(&self, slot: &str, image: &[u8]) -> bool {
        let bytes = self.slot(slot);
        bytes.len() >= image.len() && bytes[..image.len()] == *image
    }

    /// The audit log's records.
    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.data.join("audit/updated/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn audit_events(&self) -> Vec<String> {
        self.audit()
            .iter()
            .map(|r| r["event"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Slot A is its original bytes, slot B its original bytes and the boot environment
    /// is `env`: nothing was touched.
    fn assert_untouched(&self, env: &BTreeMap<String, String>, what: &str) {
        assert!(
            self.slot("A") == self.a_original,
            "{what}: slot A was changed"
        );
        assert!(
            self.slot("B") == self.b_original,
            "{what}: slot B was changed"
        );
        assert_eq!(&self.env(), env, "{what}: the boot environment changed");
    }

    /// Boots and asserts the slot chosen holds a complete firmware: A its original, B the
    /// whole new image ("never neither"). Returns the slot.
    fn boot_complete(&self, image: &[u8]) -> String {
        let slot = self.boot();
        match slot.as_str() {
            "A" => assert!(
                self.slot("A") == self.a_original,
                "booted A, but A is not its original firmware"
            ),
            "B" => assert!(
                self.holds("B", image),
                "booted B, but B does not hold the whole new image"
            ),
            other => panic!("booted {other:?}"),
        }
        slot
    }
}

impl Drop for UpdateBox {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- updated log ---\n{}", self.daemon_log());
        }
    }
}

/// A box (booted from A, daemon running) on `repo`, served over HTTPS with `server`.
fn online_box(
    dir: &Path,
    pki: &Pki,
    repo: &Repo,
    server: &Server,
    window: &str,
    deadline: &str,
) -> UpdateBox {
    let mut b = UpdateBox::new(
        dir,
        &BoxSpec {
            repository: server.url(),
            ca: &pki.ca,
            root: repo.root(),
            health_window: window,
            health_deadline: deadline,
        },
    );
    b.start(None);
    b
}

/// The history entries of `status` for `slot` with `event`.
fn history_has(status: &serde_json::Value, event: &str, slot: &str) -> bool {
    status["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["event"] == event && h["slot"] == slot)
}

/// Writes the image of `seed` to `dir/name`; returns its path and bytes.
fn image(dir: &Path, name: &str, seed: u64) -> (PathBuf, Vec<u8>) {
    let bytes = pattern(seed, IMAGE_LEN);
    let path = dir.join(name);
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn a_good_update_installs_into_the_other_slot_and_is_kept_once_healthy() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 7);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let mut b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");

    let offer = b.update_ok(&["check"]);
    assert_eq!(offer["available"]["version"], "1.1.0", "{offer}");
    let done = b.update_ok(&["install"]);
    assert_eq!(done["slot"], "B", "{done}");
    assert_eq!(done["version"], "1.1.0", "{done}");
    assert!(b.holds("B", &img_bytes), "slot B does not hold the image");
    assert!(b.slot("A") == b.a_original, "slot A was changed");
    let env = b.env();
    assert_eq!(env["BOOT_ORDER"], "B A", "{env:?}");
    assert_eq!(
        env["BOOT_B_LEFT"], "1",
        "one attempt for the new slot: {env:?}"
    );
    let st = b.status();
    assert_eq!(st["slots"]["B"]["status"], "installed", "{st}");
    assert_eq!(st["reboot_pending"], true, "{st}");

    assert_eq!(b.reboot(), "B");
    let st = b.status();
    assert_eq!(st["booted"], "B", "{st}");
    assert_eq!(st["slots"]["B"]["status"], "trying", "{st}");
    assert_eq!(st["trial"]["slot"], "B", "{st}");
    assert_eq!(st["trial"]["kind"], "trial", "{st}");

    // Every status read on the way says one thing: a slot judged good is no longer on trial.
    let mut torn = None;
    let good = wait_for(Duration::from_secs(40), || {
        let st = b.status();
        if st["slots"]["B"]["status"] == "good" && !st["trial"].is_null() {
            torn.get_or_insert(st.clone());
        }
        st["slots"]["B"]["status"] == "good"
    });
    assert!(torn.is_none(), "slot B good while still on trial: {torn:?}");
    let st = b.status();
    assert!(good, "slot B was not marked good after the window: {st}");
    assert_eq!(st["slots"]["B"]["version"], "1.1.0", "{st}");
    assert_eq!(st["history"][0]["event"], "good", "{st}");
    assert_eq!(st["history"][0]["slot"], "B", "{st}");
    assert!(st["trial"].is_null(), "{st}");
    let env = b.env();
    assert_eq!(
        env["BOOT_ORDER"], "B A",
        "the good slot first, A as fallback: {env:?}"
    );
    assert_eq!(env["BOOT_B_LEFT"], "3", "full attempts once good: {env:?}");
    // The next power-on boots B again, the good slot.
    b.kill();
    assert_eq!(b.boot_complete(&img_bytes), "B");

    let events = b.audit_events();
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("no {e} in the audit log: {events:?}"))
    };
    assert!(
        at("update_install") < at("update_installed") && at("update_installed") < at("update_good"),
        "audit order: {events:?}"
    );
}

#[test]
fn a_new_slot_that_stays_unhealthy_is_rolled_back_to_the_untouched_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 8);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let mut b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "10s");

    b.update_ok(&["install"]);
    assert!(b.holds("B", &img_bytes));
    // The new firmware boots, but one of its units never comes up.
    b.kill();
    assert_eq!(b.boot(), "B");
    std::fs::write(b.sim.join("unhealthy"), "mamori-smtpd.service\n").unwrap();
    b.start(None);
    assert_eq!(b.status()["trial"]["slot"], "B");
    let restarted = wait_for(Duration::from_secs(25), || b.sim.join("reboot").exists());
    assert!(
        restarted,
        "the failed trial did not restart the box: {}",
        b.status()
    );
    let env = b.env();
    assert!(
        !env["BOOT_ORDER"].split_whitespace().any(|s| s == "B"),
        "the failed slot is still in the boot order: {env:?}"
    );

    std::fs::remove_file(b.sim.join("unhealthy")).unwrap();
    assert_eq!(b.reboot(), "A", "the box did not fall back to A");
    assert!(b.slot("A") == b.a_original, "slot A is not byte-identical");
    let st = b.status();
    assert_eq!(st["booted"], "A", "{st}");
    assert_eq!(st["slots"]["B"]["status"], "bad", "{st}");
    assert!(history_has(&st, "failed", "B"), "{st}");
    let failed = st["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["event"] == "failed")
        .unwrap();
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("mamori-smtpd.service"),
        "the failure names the unit: {failed}"
    );
    assert!(b.audit_events().iter().any(|e| e == "update_failed"));
    // The version that failed here is not offered again (auto mode would loop on it).
    let offer = b.update_ok(&["check"]);
    assert!(offer["available"].is_null(), "{offer}");
    // And it stays on A: the failed slot is never tried again.
    b.kill();
    for _ in 0..4 {
        assert_eq!(b.boot_complete(&img_bytes), "A");
    }
}

#[test]
fn a_new_slot_that_dies_before_its_verdict_is_rolled_back_at_the_next_boot() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 17);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let mut b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");

    b.update_ok(&["install"]);
    assert_eq!(b.reboot(), "B");
    assert_eq!(b.status()["trial"]["slot"], "B");
    // The new firmware hangs (or loses power) before the health window is over: the boot
    // loader's single attempt is spent, so the next power-on is the old firmware's.
    b.kill();
    assert_eq!(b.boot_complete(&img_bytes), "A");
    b.start(None);
    let st = b.status();
    assert_eq!(st["booted"], "A", "{st}");
    assert_eq!(st["slots"]["B"]["status"], "bad", "{st}");
    assert!(history_has(&st, "rolled_back", "B"), "{st}");
    assert!(b.slot("A") == b.a_original, "slot A is not byte-identical");
    let env = b.env();
    assert!(
        !env["BOOT_ORDER"].split_whitespace().any(|s| s == "B"),
        "the rolled-back slot is still in the boot order: {env:?}"
    );
    assert!(b.audit_events().iter().any(|e| e == "update_rolled_back"));
}

#[test]
fn a_cut_download_resumes_with_range_and_installs() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 9);
    let (repo, name) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let total = std::fs::metadata(repo.target_file(name)).unwrap().len();
    let cut = total / 2;
    let server = Server::start(
        &repo.served(),
        &pki,
        tmp.path().join("server.log"),
        &["--cut-after", &cut.to_string()],
    );
    let b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");

    let done = b.update_ok(&["install"]);
    assert_eq!(done["slot"], "B", "{done}");
    assert!(b.holds("B", &img_bytes), "slot B does not hold the image");
    assert_eq!(b.env()["BOOT_ORDER"], "B A");

    let log = server.log();
    let targets: Vec<&str> = log.lines().filter(|l| l.contains("/targets/")).collect();
    assert!(
        targets
            .iter()
            .any(|l| l.contains("status=200") && l.ends_with(" cut")),
        "the server never cut the download:\n{log}"
    );
    // The resume asked for the rest only, from where the cut left it, and got it.
    let resumed = targets
        .iter()
        .find_map(|l| {
            let from: u64 = l
                .split("range=bytes=")
                .nth(1)?
                .split('-')
                .next()?
                .parse()
                .ok()?;
            let sent: u64 = l.split("sent=").nth(1)?.split(' ').next()?.parse().ok()?;
            l.contains("status=206").then_some((from, sent))
        })
        .unwrap_or_else(|| panic!("no Range request answered 206:\n{log}"));
    assert!(
        resumed.0 > 0 && resumed.0 <= cut && resumed.0 + resumed.1 == total,
        "resumed from {} with {} bytes of {total} (cut at {cut}):\n{log}",
        resumed.0,
        resumed.1
    );
}

#[test]
fn a_kill_at_any_install_step_boots_a_complete_firmware() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 10);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    for phase in PHASES {
        let mut b = UpdateBox::new(
            &tmp.path().join(format!("box-{phase}")),
            &BoxSpec {
                repository: server.url(),
                ca: &pki.ca,
                root: repo.root(),
                health_window: "10s",
                health_deadline: "30s",
            },
        );
        b.start(Some(phase));
        let install = b.install_in_background(&[]);
        let marker = b.data.join(format!("update/test-stopped-{phase}"));
        let stopped = wait_for(Duration::from_secs(30), || marker.exists());
        assert!(stopped, "{phase}: the install never reached the step");
        b.kill();
        drop(install);
        if phase == "writing" {
            // Killed in the middle of writing: slot B is neither its old bytes nor the image.
            assert!(
                b.slot("B") != b.b_original && !b.holds("B", &img_bytes),
                "{phase}: slot B is not half-written"
            );
        }

        let slot = b.boot_complete(&img_bytes);
        if phase == "marked" {
            assert_eq!(slot, "B", "{phase}: the marked slot did not boot");
            b.start(None);
            let st = b.status();
            assert_eq!(st["booted"], "B", "{phase}: {st}");
            assert_eq!(st["slots"]["B"]["status"], "trying", "{phase}: {st}");
            assert_eq!(st["trial"]["slot"], "B", "{phase}: {st}");
            assert_eq!(st["trial"]["kind"], "trial", "{phase}: {st}");
        } else {
            assert_eq!(slot, "A", "{phase}: a slot cut off before marked booted");
            assert!(b.slot("A") == b.a_original, "{phase}: slot A changed");
            b.start(None);
            let st = b.status();
            assert_eq!(st["booted"], "A", "{phase}: {st}");
            assert_eq!(st["slots"]["B"]["status"], "bad", "{phase}: {st}");
            assert!(history_has(&st, "interrupted", "B"), "{phase}: {st}");
            assert_eq!(st["trial"]["kind"], "rearm", "{phase}: no B trial: {st}");
            let env = b.env();
            assert!(
                !env["BOOT_ORDER"].split_whitespace().any(|s| s == "B"),
                "{phase}: the cut slot is in the boot order: {env:?}"
            );
            // The box is not stuck: the same update installs afterwards.
            b.update_ok(&["install"]);
            assert!(
                b.holds("B", &img_bytes),
                "{phase}: the retry did not install"
            );
            assert_eq!(b.env()["BOOT_ORDER"], "B A", "{phase}");
        }
    }
}

/// Slot B untouched, the environment unchanged, and no install begun in the audit log.
fn assert_refused_untouched(b: &UpdateBox, env: &BTreeMap<String, String>, what: &str) {
    b.assert_untouched(env, what);
    let events = b.audit_events();
    assert!(
        !events.iter().any(|e| e == "update_install"),
        "{what}: an install was begun: {events:?}"
    );
}

#[test]
fn bundles_for_another_board_or_an_older_version_are_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, _) = image(tmp.path(), "rootfs.img", 11);
    let repo = Repo::init(tmp.path().join("repo"), &[]);
    repo.add_target("mamori-rpi4-1.1.0.bundle", "rpi4", "1.1.0", "1.0", &img);
    repo.add_target("mamori-qemu-aarch64-0.9.bundle", BOARD, "0.9", "0.1", &img);
    repo.publish();
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");
    let env = b.env();

    let offer = b.update_ok(&["check"]);
    assert!(offer["available"].is_null(), "offered: {offer}");
    let st = b.status();
    assert_eq!(
        st["last_check"]["ok"], true,
        "the metadata itself is fine: {st}"
    );
    b.update_refused(&["install"], "none");

    b.update_refused(
        &["install", "--target", "mamori-rpi4-1.1.0.bundle"],
        "other_board",
    );
    assert_eq!(b.status()["last_error"]["kind"], "other_board");
    b.assert_untouched(&env, "another board");

    b.update_refused(
        &["install", "--target", "mamori-qemu-aarch64-0.9.bundle"],
        "not_newer",
    );
    assert_eq!(b.status()["last_error"]["kind"], "not_newer");
    assert_refused_untouched(&b, &env, "an older version");
    // Both were fetched over HTTPS and judged: the refusals are the box's, not the network's.
    assert!(server.log().contains("GET /metadata/timestamp.json"));
}

#[test]
fn a_target_changed_on_the_server_is_refused_and_its_slot_never_boots() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 12);
    let (repo, name) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    // After signing, the bytes change on the server (same length): a bit near the end of
    // the image, past everything the box could judge before writing.
    let served = repo.target_file(name);
    let mut bytes = std::fs::read(&served).unwrap();
    let at = bytes.len() - 4096;
    bytes[at] ^= 0x01;
    std::fs::write(&served, &bytes).unwrap();
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let mut b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");

    // The bundle streams into slot B (taken out of the boot order first) and the signed
    // hash of the whole target can only be judged at its end: B's bytes may change, but B
    // is never made bootable.
    b.update_refused(&["install"], "target_hash");
    let st = b.status();
    assert_eq!(st["last_error"]["kind"], "target_hash", "{st}");
    assert_eq!(st["slots"]["B"]["status"], "bad", "{st}");
    assert!(history_has(&st, "failed", "B"), "{st}");
    assert_eq!(st["reboot_pending"], false, "{st}");
    let env = b.env();
    assert_eq!(
        env["BOOT_ORDER"], "A",
        "slot B is out of the boot order: {env:?}"
    );
    assert_eq!(env["BOOT_B_LEFT"], "0", "{env:?}");
    assert!(b.slot("A") == b.a_original, "slot A was changed");
    assert!(
        b.audit_events()
            .iter()
            .any(|e| e == "update_install_failed")
    );
    assert!(!b.audit_events().iter().any(|e| e == "update_installed"));
    // Whatever slot B holds now, it never boots.
    assert_eq!(b.reboot(), "A");
    b.kill();
    for _ in 0..4 {
        assert_eq!(b.boot_complete(&img_bytes), "A");
    }
}

#[test]
fn metadata_rolled_back_on_the_server_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, _) = image(tmp.path(), "rootfs-1.1.0.img", 13);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let timestamp = repo.served().join("metadata/timestamp.json");
    let old = std::fs::read(&timestamp).unwrap();
    repo.publish();
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");
    let env = b.env();

    // The box sees the newer timestamp…
    let offer = b.update_ok(&["check"]);
    assert_eq!(offer["available"]["version"], "1.1.0", "{offer}");
    // …then the server (or someone in the middle) serves the older one again.
    std::fs::write(&timestamp, &old).unwrap();
    b.update_refused(&["check"], "rollback");
    let st = b.status();
    assert_eq!(st["last_check"]["ok"], false, "{st}");
    assert_eq!(st["last_check"]["kind"], "rollback", "{st}");
    assert!(st["available"].is_null(), "still offered: {st}");
    b.update_refused(&["install"], "rollback");
    assert_refused_untouched(&b, &env, "rolled-back metadata");
}

#[test]
fn a_frozen_repository_is_refused_as_expired() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, _) = image(tmp.path(), "rootfs-1.1.0.img", 14);
    let (repo, name) =
        repo_with_update(tmp.path().join("repo"), &img, &["--timestamp-expiry", "1s"]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let b = online_box(&tmp.path().join("box"), &pki, &repo, &server, "10s", "30s");
    // The clock is synchronised: the real time counts, not only the build time.
    std::fs::write(b.sim.join("clock_synchronized"), "").unwrap();
    let env = b.env();
    // Nobody signs a new timestamp: the one served expires (a freeze).
    std::thread::sleep(Duration::from_millis(2100));

    b.update_refused(&["check"], "expired");
    let st = b.status();
    assert_eq!(st["last_check"]["kind"], "expired", "{st}");
    assert_eq!(st["clock"]["synchronized"], true, "{st}");
    // Judged by the real clock (not the build time, at which this metadata was valid).
    // (The basis reads `last known time` when that equals the clock: the synchronised
    // clock reading is recorded as the last known time first.)
    assert_ne!(st["clock"]["basis"], "build time", "{st}");
    assert_ne!(st["clock"]["judged_at"], "2026-12-01T00:00:00Z", "{st}");
    assert!(st["available"].is_null(), "{st}");
    b.update_refused(&["install", "--target", name], "expired");
    assert_refused_untouched(&b, &env, "a frozen repository");
}

#[test]
fn an_offline_update_file_installs_into_the_other_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 15);
    let (repo, name) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let file = tmp.path().join("update.mamori-update");
    repo.export(name, &file);
    let mut b = UpdateBox::new(
        &tmp.path().join("box"),
        &BoxSpec {
            repository: String::new(),
            ca: &tmp.path().join("no-ca.pem"),
            root: repo.root(),
            health_window: "10s",
            health_deadline: "30s",
        },
    );
    b.start(None);

    let done = b.update_ok(&["install-file", path_str(&file)]);
    assert_eq!(done["slot"], "B", "{done}");
    assert_eq!(done["version"], "1.1.0", "{done}");
    assert!(b.holds("B", &img_bytes), "slot B does not hold the image");
    assert!(b.slot("A") == b.a_original, "slot A was changed");
    let env = b.env();
    assert_eq!(env["BOOT_ORDER"], "B A", "{env:?}");
    assert_eq!(env["BOOT_B_LEFT"], "1", "{env:?}");
    let events = b.audit_events();
    assert!(events.iter().any(|e| e == "update_installed"), "{events:?}");
    assert!(
        !events.iter().any(|e| e == "update_expired_accepted"),
        "{events:?}"
    );
    b.kill();
    assert_eq!(b.boot_complete(&img_bytes), "B");
}

#[test]
fn an_expired_offline_file_installs_only_by_an_audited_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 16);
    let (repo, name) =
        repo_with_update(tmp.path().join("repo"), &img, &["--timestamp-expiry", "1s"]);
    let file = tmp.path().join("update.mamori-update");
    repo.export(name, &file);
    let mut b = UpdateBox::new(
        &tmp.path().join("box"),
        &BoxSpec {
            repository: String::new(),
            ca: &tmp.path().join("no-ca.pem"),
            root: repo.root(),
            health_window: "10s",
            health_deadline: "30s",
        },
    );
    std::fs::write(b.sim.join("clock_synchronized"), "").unwrap();
    b.start(None);
    let env = b.env();
    std::thread::sleep(Duration::from_millis(2100));

    b.update_refused(&["install-file", path_str(&file)], "expired");
    assert_eq!(b.status()["last_error"]["kind"], "expired");
    assert_refused_untouched(&b, &env, "an expired offline file");

    let done = b.update_ok(&["install-file", "--accept-expired", path_str(&file)]);
    assert_eq!(done["slot"], "B", "{done}");
    assert!(b.holds("B", &img_bytes), "slot B does not hold the image");
    assert_eq!(b.env()["BOOT_ORDER"], "B A");
    let audit = b.audit();
    let accepted = audit
        .iter()
        .position(|r| r["event"] == "update_expired_accepted")
        .unwrap_or_else(|| panic!("no update_expired_accepted: {audit:?}"));
    let install = audit
        .iter()
        .position(|r| r["event"] == "update_install")
        .unwrap();
    assert!(
        accepted < install,
        "the decision is audited before the install"
    );
    assert_eq!(audit[accepted]["role"], "timestamp", "{}", audit[accepted]);
    assert_eq!(audit[accepted]["by"], whoami(), "{}", audit[accepted]);
}

/// `auto` mode: inside the maintenance window the box checks by itself, installs what is on
/// offer and restarts into it, with nobody asking.
#[test]
fn in_auto_mode_the_box_installs_and_restarts_by_itself_in_its_window() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::make(&tmp.path().join("pki"));
    let (img, img_bytes) = image(tmp.path(), "rootfs-1.1.0.img", 11);
    let (repo, _) = repo_with_update(tmp.path().join("repo"), &img, &[]);
    let server = Server::start(&repo.served(), &pki, tmp.path().join("server.log"), &[]);
    let mut b = UpdateBox::new(
        &tmp.path().join("box"),
        &BoxSpec {
            repository: server.url(),
            ca: &pki.ca,
            root: repo.root(),
            health_window: "10s",
            health_deadline: "30s",
        },
    );
    // A window of two hours around now, Japan time.
    let jst_minutes = ((mamori_core::clock::unix_now() + 9 * 3600) % 86_400) / 60;
    let at = |m: u64| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
    let window = format!("{}-{}", at(jst_minutes + 1440 - 60), at(jst_minutes + 60));
    let config = std::fs::read_to_string(&b.config).unwrap();
    let config = config.replacen(
        "[update]\n",
        &format!("[update]\nmode = \"auto\"\nwindow = \"{window}\"\n"),
        1,
    );
    std::fs::write(&b.config, config).unwrap();
    b.start(None);
    let restarted = wait_for(Duration::from_secs(30), || b.sim.join("reboot").exists());
    assert!(
        restarted,
        "no install and restart by itself: {}",
        b.daemon_log()
    );
    assert!(b.holds("B", &img_bytes), "slot B does not hold the image");
    let events = b.audit_events();
    assert!(events.iter().any(|e| e == "update_installed"), "{events:?}");
    let install = b
        .audit()
        .into_iter()
        .find(|r| r["event"] == "update_install")
        .unwrap();
    assert_eq!(install["by"], "auto", "{install}");
    assert_eq!(b.env()["BOOT_ORDER"], "B A");
}

/// `simulate` replaces the health checks and the restart: a box's configuration that sets
/// it by mistake is refused with the key, unless the tests ask for it explicitly.
#[test]
fn a_simulated_system_is_refused_outside_the_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("cfg.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\n[update]\nsimulate = \"{}\"\n",
            tmp.path().join("data").display(),
            tmp.path().join("sim").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["updated", "-c"])
        .arg(&config)
        .env_remove("MAMORI_UPDATE_SIMULATE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("update.simulate"), "{err}");
}
