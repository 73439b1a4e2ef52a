//! A browser-like HTTP client for the panel's tests: `curl` with a cookie jar, optionally
//! inside a network namespace (the booted image's LAN), and the answer it got. Shared by
//! the system tests (`tests/system`) and the whole-box test (`tests/image`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

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
    /// The network namespace to run curl in (`ip netns exec`).
    pub netns: Option<String>,
    /// The longest a request may take, in seconds (an upload to an emulated box is slow).
    pub max_time: u32,
}

impl Client {
    fn run(&self, extra: &[String], path: &str) -> Answer {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "curl"]);
                c
            }
            None => Command::new("curl"),
        };
        cmd.args(["-sk", "-i", "--max-time", &self.max_time.to_string(), "-b"])
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
