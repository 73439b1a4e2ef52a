//! Harness for the admin panel's tests: `mamori run` (settings service, relay and panel
//! together, as an office first meets the box) on free ports, and `curl` as the client,
//! with a cookie jar per browser-like client.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use crate::common::{free_port, require, wait_for};
pub use crate::http_client::{Answer, Client};

/// A running try-out box with its panel.
pub struct PanelBox {
    pub dir: tempfile::TempDir,
    pub https: u16,
    pub http: u16,
    pub relay: u16,
    pub submission: u16,
    child: Option<Child>,
}

impl PanelBox {
    /// Starts `mamori run` with `extra` TOML over ports of its own.
    pub fn start(extra: &str) -> Self {
        Self::start_with(extra, |_| {})
    }

    /// As [`PanelBox::start`], calling `before` with the data directory before the start
    /// (to put a users file there, say).
    pub fn start_with(extra: &str, before: impl FnOnce(&std::path::Path)) -> Self {
        Self::start_env(extra, before, &[])
    }

    /// As [`PanelBox::start_with`], with `env` in `mamori run`'s environment
    /// (`SSL_CERT_FILE`, say).
    pub fn start_env(
        extra: &str,
        before: impl FnOnce(&std::path::Path),
        env: &[(&str, &std::path::Path)],
    ) -> Self {
        require("curl");
        let dir = tempfile::tempdir().unwrap();
        let (https, http, relay, submission, smtps) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        let config = format!(
            r#"[general]
hostname = "mamori-{https}.test"

[[smtp.listeners]]
kind = "relay"
address = "127.0.0.1:{relay}"

[[smtp.listeners]]
kind = "submission"
address = "127.0.0.1:{submission}"

[[smtp.listeners]]
kind = "smtps"
address = "127.0.0.1:{smtps}"

[admin]
listen = "127.0.0.1:{https}"
redirect_listen = "127.0.0.1:{http}"

{extra}
"#
        );
        // `mamori run` starts the download service too: on a port of its own (the
        // try-out's fixed one would collide between tests run at once), unless the test
        // places it.
        let config = if extra.contains("[links]") {
            config
        } else {
            format!(
                "{config}\n[links]\nlisten = \"127.0.0.1:{}\"\n",
                free_port()
            )
        };
        let file = dir.path().join("extra.toml");
        std::fs::write(&file, config).unwrap();
        let data = dir.path().join("d");
        std::fs::create_dir_all(data.join("admind")).unwrap();
        before(&data);
        let log = std::fs::File::create(dir.path().join("run.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(["run", "--data-dir"])
            .envs(env.iter().copied())
            .arg(&data)
            .arg("--config")
            .arg(&file)
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mamori run");
        let mut b = Self {
            dir,
            https,
            http,
            relay,
            submission,
            child: Some(child),
        };
        b.wait_up();
        b
    }

    /// `mamori admind` alone, as the installed unit runs it, on the daemons' sockets under
    /// `daemons_dir` (`<dir>/<daemon>/<daemon>.sock`), with `extra` TOML in its
    /// configuration. No relay runs: `relay` and `submission` are 0.
    pub fn admind_only(daemons_dir: &std::path::Path, extra: &str) -> Self {
        require("curl");
        let dir = tempfile::tempdir().unwrap();
        let (https, http) = (free_port(), free_port());
        let data = dir.path().join("d");
        std::fs::create_dir_all(data.join("admind")).unwrap();
        let config = format!(
            "[general]\nhostname = \"mamori-{https}.test\"\ndata_dir = \"{}\"\n\n\
             [admin]\nlisten = \"127.0.0.1:{https}\"\nredirect_listen = \"127.0.0.1:{http}\"\n{extra}\n",
            data.display()
        );
        let file = dir.path().join("admind.toml");
        std::fs::write(&file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("run.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(["admind", "--config"])
            .arg(&file)
            .arg("--daemons-dir")
            .arg(daemons_dir)
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start mamori admind");
        let mut b = Self {
            dir,
            https,
            http,
            relay: 0,
            submission: 0,
            child: Some(child),
        };
        b.wait_up();
        b
    }

    /// Waits for the panel's port; fails with the log if the process ends first.
    fn wait_up(&mut self) {
        let https = self.https;
        let up = wait_for(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", https)).is_ok()
        });
        assert!(up, "the panel did not start:\n{}", self.log());
        if let Some(c) = self.child.as_mut() {
            assert!(
                c.try_wait().unwrap().is_none(),
                "the panel exited:\n{}",
                self.log()
            );
        }
    }

    /// The panel process's id (`mamori run` or `mamori admind`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("the panel runs")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("d")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("run.log")).unwrap_or_default()
    }

    /// The panel's base URL.
    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.https)
    }

    /// The setup code the box made (the file beside its users file).
    pub fn setup_code(&self) -> String {
        // The HTTPS port is bound a moment before the code is written.
        let file = self.data().join("admind/setup-code");
        wait_for(Duration::from_secs(10), || file.exists());
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), self.log()))
            .trim()
            .to_string()
    }

    /// A new client with an empty cookie jar.
    pub fn client(&self) -> Client {
        let jar = tempfile::NamedTempFile::new_in(self.dir.path()).unwrap();
        Client {
            base: self.base(),
            jar: jar.into_temp_path().to_path_buf(),
            source: None,
            netns: None,
            max_time: 30,
        }
    }

    /// Runs `mamori settings --dir <store> ARGS`.
    pub fn settings(&self, args: &[&str]) -> (i32, String, String) {
        let store = self.data().join("settings");
        let mut all = vec!["settings", "--dir", store.to_str().unwrap()];
        all.extend_from_slice(args);
        crate::common::mamori(&all)
    }
}

impl Drop for PanelBox {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the first step of the wizard (code and administrator) with a new client; returns
/// the logged-in client.
pub fn create_admin(b: &PanelBox, user: &str, password: &str) -> Client {
    let c = b.client();
    let code = b.setup_code();
    let a = c.post(
        "/setup",
        &[
            ("code", &code),
            ("user", user),
            ("password", password),
            ("password_again", password),
            ("lang", "ja"),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.header("location"), Some("/setup/domains"));
    c
}

/// Logs `user` in with a new client; returns it and the answer.
/// Adds the user `name` with `role` through the users page as `admin`, then logs them in.
pub fn add_user(b: &PanelBox, admin: &Client, name: &str, role: &str, password: &str) -> Client {
    let t = admin.get("/system/users").csrf();
    let a = admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t),
            ("name", name),
            ("role", role),
            ("password", password),
            ("password_again", password),
        ],
    );
    assert_eq!(a.status, 303, "adding {name}: {a:?}");
    let (c, a) = login(b, name, password);
    assert_eq!(a.status, 303, "{name} logs in: {a:?}");
    c
}

pub fn login(b: &PanelBox, user: &str, password: &str) -> (Client, Answer) {
    let c = b.client();
    let a = c.post("/login", &[("user", user), ("password", password)]);
    (c, a)
}
