//! Harness for the admin panel's tests: `mamori run` (settings service, relay and panel
//! together, as an office first meets the box) on free ports, and `curl` as the client,
//! with a cookie jar per browser-like client.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{free_port, require, wait_for};

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

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The first header of that name (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header of that name.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `name="_csrf"` in the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="_csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF token in:\n{}", self.body));
        let rest = &self.body[at + r#"name="_csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// A browser-like client: curl with a cookie jar, sending the panel's own Origin on POSTs
/// (as browsers do) unless told otherwise.
pub struct Client {
    pub base: String,
    pub jar: PathBuf,
    /// The source address to connect from (`127.0.0.N`).
    pub source: Option<String>,
}

impl Client {
    fn run(&self, extra: &[String], path: &str) -> Answer {
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "-i", "--max-time", "30", "-b"])
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar);
        if let Some(s) = &self.source {
            cmd.args(["--interface", s]);
        }
        cmd.args(extra).arg(format!("{}{path}", self.base));
        let out = cmd.stderr(Stdio::inherit()).output().expect("run curl");
        parse(&String::from_utf8_lossy(&out.stdout))
    }

    pub fn get(&self, path: &str) -> Answer {
        self.run(&[], path)
    }

    /// POSTs `form` with the panel's own Origin.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let origin = format!("Origin: {}", self.base);
        self.post_with(path, form, &["-H".to_string(), origin])
    }

    /// POSTs `form` with the given extra curl arguments (headers).
    pub fn post_with(&self, path: &str, form: &[(&str, &str)], extra: &[String]) -> Answer {
        let mut args: Vec<String> = extra.to_vec();
        if form.is_empty() {
            args.extend(["-X".into(), "POST".into()]);
        }
        for (k, v) in form {
            args.push("--data-urlencode".into());
            args.push(format!("{k}={v}"));
        }
        self.run(&args, path)
    }

    /// POSTs a `multipart/form-data` form (fields, and files as `(field, path)`) with the
    /// panel's own Origin, as a browser sends a form with a file input.
    pub fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &std::path::Path)],
    ) -> Answer {
        let mut args = vec!["-H".to_string(), format!("Origin: {}", self.base)];
        for (k, v) in fields {
            args.push("--form-string".into());
            args.push(format!("{k}={v}"));
        }
        for (k, p) in files {
            args.push("-F".into());
            args.push(format!("{k}=@{}", p.display()));
        }
        self.run(&args, path)
    }

    /// The session cookie's value in the jar.
    pub fn cookie(&self) -> Option<String> {
        std::fs::read_to_string(&self.jar)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("__Host-mamori"))
            .filter_map(|l| l.split('\t').nth(6).map(str::to_string))
            .find(|v| !v.is_empty())
    }

    /// Replaces the jar's session cookie with `value` (an attacker's planted id).
    pub fn plant_cookie(&self, value: &str) {
        let host = self.base.trim_start_matches("https://");
        let host = &host[..host.find(':').unwrap()];
        std::fs::write(
            &self.jar,
            format!("#HttpOnly_{host}\tFALSE\t/\tTRUE\t0\t__Host-mamori\t{value}\n"),
        )
        .unwrap();
    }
}

/// Parses curl's `-i` output (the last response's head and the body).
fn parse(text: &str) -> Answer {
    // Interim answers (`100 Continue` to curl's `Expect:` on a large upload) come first.
    let mut text = text;
    while text.starts_with("HTTP/1.1 100") {
        match text.split_once("\r\n\r\n") {
            Some((_, rest)) => text = rest,
            None => break,
        }
    }
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
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
