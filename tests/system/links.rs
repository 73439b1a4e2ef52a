//! Link mode through the relay and `mamori linkd`, with real peers: mail built and read
//! by Python's `email`, sent with smtplib, received by `smtp-sink`; the download link
//! fetched with `curl` over TLS (the service's certificate checked), the files compared
//! byte for byte with what was sent; the limits (password, download count, revocation,
//! expiry) and the store on disk checked from outside.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use crate::encrypt::{Dump, corpus, dumps, office_route, send, sha256};

/// `mamori linkd`, stopped when dropped.
pub(crate) struct Linkd {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Linkd {
    /// On the relay's configuration (the same data directory).
    fn start(m: &Mamori, port: u16) -> Self {
        Self::spawn(&m.config, port, m.dir.path().join("linkd.log"))
    }

    /// On the configuration `config`, listening on `port`, its log in `log`; waits until
    /// the port answers.
    pub(crate) fn spawn(config: &Path, port: u16, log: PathBuf) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_mamori"))
            .args(["linkd", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start mamori linkd");
        let up = wait_for(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let linkd = Self { child, port, log };
        assert!(up, "linkd did not start: {}", linkd.log());
        linkd
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Linkd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl` over TLS with the service's own certificate as the only trusted one: the HTTP
/// status, and the body saved to `out`.
fn curl(linkd: &Linkd, cert: &Path, url: &str, form: Option<&str>, out: &Path) -> u16 {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30", "--cacert"])
        .arg(cert)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", linkd.port))
        .arg("-o")
        .arg(out)
        .args(["-w", "%{http_code}"]);
    if let Some(data) = form {
        cmd.args(["--data", data]);
    }
    let output = cmd.arg(url).output().expect("run curl");
    let code = String::from_utf8_lossy(&output.stdout);
    code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl gave no status: {code} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The download link a notice carries.
fn link_in(dump: &Dump, port: u16) -> String {
    let prefix = format!("https://localhost:{port}/d/");
    dump.text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no link in {}", dump.text))
        .to_owned()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_download_link_gives_the_original_bytes_within_its_limits_and_nothing_after_revocation_or_expiry()
 {
    require("curl");
    let sink = Sink::start();
    let lport = free_port();
    let extra = format!(
        "{}\n[encrypt]\nenabled = true\nmode = \"link\"\nlink_url = \"https://localhost:{lport}\"\nlink_downloads = 2\nlink_expiry = \"1m\"\nlink_password = true\npassword_to = \"recipients\"\npassword_delay = \"1s\"\n\n[links]\nlisten = \"127.0.0.1:{lport}\"\n",
        office_route(sink.port)
    );
    let m = Mamori::start(sink.port, None, &extra);
    let linkd = Linkd::start(&m, lport);
    let cert = m.dir.path().join("data/linkd/admind-cert.pem");
    let work = tempfile::tempdir().unwrap();
    let pdf = corpus("clean-form-field.pdf");
    let memo = work.path().join("memo.txt");
    let marker = "社外秘マーカー-7Q3Z ";
    std::fs::write(&memo, marker.repeat(3000)).unwrap();
    send(
        &m,
        "client@sink.test,hanako@office.test",
        "iso-2022-jp",
        "いつもお世話になっております。\n資料をお送りします。",
        &[("見積書.pdf", &pdf), ("memo.txt", &memo)],
    );
    // A second mail, whose link is left to expire.
    send(
        &m,
        "other@sink.test",
        "utf-8",
        "期限切れの確認",
        &[("memo.txt", &memo)],
    );
    let sent = std::time::Instant::now();
    // The office's original, the two links' mails, the sender's two receipts and the two
    // password mails.
    assert!(
        wait_for(Duration::from_secs(40), || sink.count() >= 7),
        "{} mails\n{}",
        sink.count(),
        m.log()
    );
    let out = tempfile::tempdir().unwrap();
    let all = dumps(&sink, out.path());
    let original = all
        .iter()
        .find(|d| d.rcpts == ["hanako@office.test"])
        .expect("the office's original");
    assert_eq!(original.attachments, ["見積書.pdf", "memo.txt"]);
    let copy = all
        .iter()
        .find(|d| d.rcpts == ["client@sink.test"] && d.password.is_none())
        .expect("the link's mail");
    assert!(copy.attachments.is_empty(), "{:?}", copy.attachments);
    assert!(
        copy.text.contains("ダウンロードのお知らせ"),
        "{}",
        copy.text
    );
    assert!(copy.text.contains("資料をお送りします"), "{}", copy.text);
    assert!(copy.text.contains("見積書.pdf"), "{}", copy.text);
    let password = all
        .iter()
        .find(|d| d.rcpts == ["client@sink.test"] && d.password.is_some())
        .and_then(|d| d.password.clone())
        .expect("the password mail");
    let receipts: Vec<&Dump> = all
        .iter()
        .filter(|d| d.rcpts == ["taro@office.test"])
        .collect();
    assert_eq!(receipts.len(), 2, "{all:#?}");
    assert!(
        receipts
            .iter()
            .all(|r| r.text.contains("/links/") && r.password.is_none()),
        "the sender's receipt has the link's page, not the password: {receipts:#?}"
    );
    let url = link_in(copy, lport);
    let expiring = link_in(
        all.iter()
            .find(|d| d.rcpts == ["other@sink.test"] && d.password.is_none())
            .expect("the second link's mail"),
        lport,
    );

    // The page, opened twice, lists the files and uses no download.
    let page = work.path().join("page.html");
    for _ in 0..2 {
        assert_eq!(curl(&linkd, &cert, &url, None, &page), 200);
    }
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("見積書.pdf") && html.contains("memo.txt"),
        "{html}"
    );
    assert!(html.contains("残り 2 回"), "{html}");

    // No password, a wrong one: refused, nothing counted.
    let got = work.path().join("got");
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/0"), None, &got),
        405,
        "a GET gives no file"
    );
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/0"), Some(""), &got),
        403
    );
    assert_eq!(
        curl(
            &linkd,
            &cert,
            &format!("{url}/0"),
            Some("password=wrong"),
            &got
        ),
        403
    );
    // The right one: the original bytes, twice; the third time is refused.
    let form = format!("password={password}");
    for n in 0..2 {
        assert_eq!(
            curl(&linkd, &cert, &format!("{url}/0"), Some(&form), &got),
            200
        );
        assert_eq!(sha256(&got), sha256(&pdf), "download {n}");
    }
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/0"), Some(&form), &got),
        410
    );
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/1"), Some(&form), &got),
        200
    );
    assert_eq!(sha256(&got), sha256(&memo));
    // A changed secret, an unknown file: nothing.
    let mut forged = url.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(curl(&linkd, &cert, &forged, None, &page), 404);
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/7"), Some(&form), &got),
        404
    );

    // The store holds nothing readable: no content, no secret; the logs no secret either.
    let data = m.dir.path().join("data");
    let secret = url.rsplit('/').next().unwrap().to_owned();
    let stored = files_under(&data.join("links"));
    assert!(stored.len() >= 4, "{stored:?}");
    for path in &stored {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            !contains(&bytes, "社外秘マーカー".as_bytes()),
            "{}",
            path.display()
        );
        assert!(!contains(&bytes, b"%PDF"), "{}", path.display());
        assert!(!contains(&bytes, secret.as_bytes()), "{}", path.display());
        assert!(!contains(&bytes, password.as_bytes()), "{}", path.display());
    }
    for path in files_under(&data.join("audit")) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!contains(&bytes, secret.as_bytes()), "{}", path.display());
        assert!(!contains(&bytes, password.as_bytes()), "{}", path.display());
    }
    assert!(!m.log().contains(&secret) && !linkd.log().contains(&secret));

    // The list shows the downloads; a revocation ends the link and erases its files.
    let (code, listed, err) = m.command("links", &["--json", "list"]);
    assert_eq!(code, 0, "{err}");
    let links: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let id = url.split('/').nth(4).unwrap().to_owned();
    let this = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id.as_str())
        .expect("the link is listed");
    assert_eq!(this["files"][0]["downloads"], 2);
    assert_eq!(this["files"][1]["downloads"], 1);
    assert_eq!(this["downloads"].as_array().unwrap().len(), 3);
    assert!(!listed.contains(&secret));
    let (code, _, err) = m.command("links", &["revoke", &id]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = m.command("links", &["revoke", &id]);
    assert_ne!(code, 0, "a second revocation is refused");
    assert!(err.contains("revoked already"), "{err}");
    assert_eq!(
        curl(&linkd, &cert, &format!("{url}/1"), Some(&form), &got),
        410
    );
    assert_eq!(curl(&linkd, &cert, &url, None, &page), 410);
    assert!(!data.join("links").join(&id).join("files").exists());
    let audit: String = files_under(&data.join("audit"))
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(audit.contains("link_revoked") && audit.contains("attachments_encrypted"));

    // The second link expires after its minute: refused, then its files are erased.
    let expiring_id = expiring.split('/').nth(4).unwrap().to_owned();
    let left = Duration::from_secs(62).saturating_sub(sent.elapsed());
    std::thread::sleep(left);
    assert_eq!(curl(&linkd, &cert, &expiring, None, &page), 410);
    assert_eq!(
        curl(&linkd, &cert, &format!("{expiring}/0"), Some(&form), &got),
        410
    );
    assert!(
        wait_for(Duration::from_secs(75), || !data
            .join("links")
            .join(&expiring_id)
            .join("files")
            .exists()),
        "the expired link's files were not erased: {}",
        linkd.log()
    );
}
