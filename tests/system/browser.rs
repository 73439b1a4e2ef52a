//! The admin panel in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver), as an office manager would use it — the first-boot wizard
//! with the setup code, a login, the Japanese/English switch, logout. Screenshots of each
//! step are kept in the test's output directory (`target/tmp/screenshots/`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::common::{free_port, require, wait_for};
use crate::panel_box::PanelBox;

/// chromedriver on a free port, with Chromium headless and no network of its own.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    pub(crate) fn start() -> Self {
        require("chromedriver");
        require("chromium");
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        assert!(
            wait_for(Duration::from_secs(20), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "chromedriver did not start"
        );
        Self {
            child,
            port,
            profile: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--lang=ja",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ]
            }),
        );
        // The box's certificate is self-signed (its fingerprint is what the office checks).
        caps.insert("acceptInsecureCerts".into(), serde_json::json!(true));
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session in Chromium")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the screenshots go.
fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

pub(crate) async fn fill(c: &Client, id: &str, text: &str) {
    let e = c
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

pub(crate) async fn click(c: &Client, id: &str) {
    let Ok(e) = c.find(Locator::Id(id)).await else {
        shot(c, &format!("failed-no-{id}")).await;
        panic!(
            "no #{id} in {}:\n{}",
            path(c).await,
            c.source().await.unwrap()
        );
    };
    e.click().await.unwrap();
}

/// The text of `#id`, waiting up to 10 s for it (after a click the next page may not be
/// there yet).
pub(crate) async fn text(c: &Client, id: &str) -> String {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Id(id)).await
            && let Ok(t) = e.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Ok(e) = c.find(Locator::Id(id)).await else {
        shot(c, &format!("failed-no-{id}")).await;
        panic!(
            "no #{id} in {}:\n{}",
            path(c).await,
            c.source().await.unwrap()
        );
    };
    e.text().await.unwrap()
}

/// Waits up to 10 s until `#id` holds `want` (the page after a click replaces the one
/// before, which may hold the same id).
pub(crate) async fn wait_text(c: &Client, id: &str, want: &str) {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Id(id)).await
            && let Ok(t) = e.text().await
        {
            if t.contains(want) {
                return;
            }
            seen = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shot(c, &format!("failed-{id}")).await;
    panic!(
        "#{id} never held {want:?} (last: {seen:?}) in {}",
        path(c).await
    );
}

/// Waits until the first `h1` contains `want` (after a navigation the old page may still be
/// there for a moment).
async fn wait_heading(c: &Client, want: &str) {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css("h1")).await
            && let Ok(t) = e.text().await
            && t.contains(want)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no heading {want:?} in {}:\n{}",
        path(c).await,
        c.source().await.unwrap()
    );
}

/// Waits until the browser is on `want`.
pub(crate) async fn wait_path(c: &Client, want: &str) {
    for _ in 0..100 {
        if path(c).await == want && c.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not on {want} but {}", path(c).await);
}

/// Logs `user` in on the login page and waits for the dashboard.
pub(crate) async fn log_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "user", user).await;
    fill(c, "password", password).await;
    click(c, "login").await;
    wait_path(c, "/dashboard").await;
}

pub(crate) async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

#[test]
fn an_office_manager_sets_up_the_box_logs_in_switches_language_and_logs_out() {
    let b = PanelBox::start("");
    let driver = Driver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = driver.browser().await;
        // Plain HTTP brings the browser to HTTPS, then to the setup page.
        c.goto(&format!("http://127.0.0.1:{}/", b.http))
            .await
            .unwrap();
        let url = c.current_url().await.unwrap();
        assert_eq!(
            (url.scheme(), url.port(), url.path()),
            ("https", Some(b.https), "/setup")
        );
        assert_eq!(
            c.find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("lang")
                .await
                .unwrap()
                .as_deref(),
            Some("ja")
        );
        shot(&c, "01-setup-code").await;
        // A hurried manager mistypes the code: told so next to the field.
        fill(&c, "code", "0000-0000-0000").await;
        fill(&c, "user", "tanaka").await;
        fill(&c, "password", "umi-to-yama-no-aida").await;
        fill(&c, "password_again", "umi-to-yama-no-aida").await;
        click(&c, "next").await;
        assert!(text(&c, "code-error").await.contains("初期設定コード"));
        // The code from the boot partition, typed in lower case with spaces.
        fill(&c, "code", &b.setup_code().to_lowercase().replace('-', " ")).await;
        fill(&c, "password", "umi-to-yama-no-aida").await;
        fill(&c, "password_again", "umi-to-yama-no-aida").await;
        click(&c, "next").await;
        wait_path(&c, "/setup/domains").await;
        fill(&c, "domains", "office.example.jp").await;
        shot(&c, "02-domains").await;
        click(&c, "next").await;
        wait_path(&c, "/setup/lan").await;
        fill(&c, "lan", "192.168.10.0/24").await;
        click(&c, "next").await;
        wait_path(&c, "/setup/route").await;
        shot(&c, "03-route").await;
        click(&c, "mode-direct").await;
        click(&c, "next").await;
        wait_path(&c, "/setup/accounts").await;
        fill(&c, "address", "sato@office.example.jp").await;
        fill(&c, "password", "password1234").await;
        fill(&c, "password_again", "password1234").await;
        click(&c, "add").await;
        assert!(text(&c, "password-error").await.contains("よく使われる"));
        shot(&c, "04-weak-password").await;
        fill(&c, "password", "kawa-no-nagare-ha").await;
        fill(&c, "password_again", "kawa-no-nagare-ha").await;
        click(&c, "add").await;
        assert!(text(&c, "added").await.contains("sato@office.example.jp"));
        // The printable setup steps for the staff member's mail program.
        c.find(Locator::LinkText("設定手順(印刷用)"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_path(&c, "/setup/howto").await;
        assert!(c.source().await.unwrap().contains("Thunderbird"));
        shot(&c, "05-howto").await;
        c.back().await.unwrap();
        click(&c, "next").await;
        wait_path(&c, "/setup/summary").await;
        assert_eq!(text(&c, "sum-domains").await, "office.example.jp");
        click(&c, "finish").await;
        assert!(text(&c, "saved").await.contains("設定を保存しました"));
        shot(&c, "06-saved").await;
        click(&c, "to-dashboard").await;
        wait_path(&c, "/dashboard").await;
        let rows = text(&c, "daemons").await;
        assert!(rows.contains("smtpd") && rows.contains("稼働中"), "{rows}");
        shot(&c, "07-dashboard-ja").await;
        // English, then back to Japanese.
        click(&c, "lang-switch").await;
        wait_heading(&c, "Dashboard").await;
        assert_eq!(
            c.find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("lang")
                .await
                .unwrap()
                .as_deref(),
            Some("en")
        );
        shot(&c, "08-dashboard-en").await;
        click(&c, "lang-switch").await;
        wait_heading(&c, "ダッシュボード").await;
        // Logout ends the session: the dashboard now asks for a login.
        click(&c, "logout").await;
        wait_path(&c, "/login").await;
        c.goto(&format!("https://127.0.0.1:{}/dashboard", b.https))
            .await
            .unwrap();
        wait_path(&c, "/login").await;
        // The login with a wrong password, then the right one.
        fill(&c, "user", "tanaka").await;
        fill(&c, "password", "not-my-password").await;
        click(&c, "login").await;
        assert!(text(&c, "login-error").await.contains("違います"));
        fill(&c, "password", "umi-to-yama-no-aida").await;
        click(&c, "login").await;
        wait_path(&c, "/dashboard").await;
        // The session cookie is out of the page's reach (HttpOnly) and Strict.
        let cookies = c.get_all_cookies().await.unwrap();
        let session = cookies
            .iter()
            .find(|k| k.name() == "__Host-mamori")
            .expect("the session cookie");
        assert_eq!(session.http_only(), Some(true));
        assert_eq!(session.secure(), Some(true));
        let seen_by_script = c.execute("return document.cookie", vec![]).await.unwrap();
        assert_eq!(seen_by_script, serde_json::json!(""));
        c.close().await.unwrap();
    });
    let (code, out, _) = b.settings(&["get", "smtp.office_domains"]);
    assert_eq!((code, out.trim()), (0, r#"["office.example.jp"]"#));
}

/// In the browser: a dictionary word and a rule added on the DLP page, the rule tried in the
/// test box, then real mail it holds approved on the quarantine page (its content read
/// first, which is recorded) and seen arriving at a real `smtp-sink`.
#[test]
fn an_administrator_adds_a_dlp_rule_tries_it_and_approves_the_mail_it_holds() {
    let sink = crate::common::Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n",
        sink.port
    ));
    crate::panel_box::create_admin(&b, "tanaka", "umi-to-yama-no-aida");
    let driver = Driver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = b.base();
    rt.block_on(async {
        let c = driver.browser().await;
        log_in(&c, &base, "tanaka", "umi-to-yama-no-aida").await;
        c.find(Locator::LinkText("漏えい対策ルール"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_path(&c, "/mail/dlp").await;
        // The word first, then a rule that holds mail to the outside carrying it.
        fill(&c, "word-name", "社外秘").await;
        fill(&c, "word-pattern", "社外秘").await;
        click(&c, "add-word").await;
        wait_text(&c, "done", "社外秘").await;
        fill(&c, "rule-name", "社外秘を社外へ").await;
        click(&c, "det-custom").await;
        click(&c, "add-rule").await;
        wait_text(&c, "done", "社外秘を社外へ").await;
        // The test box agrees before any mail is sent.
        fill(&c, "try-text", "社外秘の見積書をお送りします").await;
        click(&c, "try-button").await;
        wait_text(&c, "verdict-rule", "社外秘を社外へ").await;
        wait_text(&c, "verdict", "保留").await;
        shot(&c, "09-dlp-try").await;
    });
    // Real mail from the office: held by the new rule.
    let (code, out) = crate::common::swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        "tanaka@office.test",
        "--to",
        "kyaku@sink.test",
        "--header",
        "Subject: mitsumori",
        "--header",
        "Content-Type: text/plain; charset=utf-8",
        "--body",
        "社外秘の見積書をお送りします",
    ]);
    assert_eq!(code, 0, "{out}");
    let id = crate::common::queued_id(&out);
    let to_customer = || {
        sink.messages()
            .iter()
            .filter(|(t, _)| t.contains("X-Rcpt-Args: <kyaku@sink.test>"))
            .count()
    };
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(to_customer(), 0, "held, not delivered");
    rt.block_on(async {
        let c = driver.browser().await;
        log_in(&c, &base, "tanaka", "umi-to-yama-no-aida").await;
        c.goto(&format!("{base}/mail/quarantine")).await.unwrap();
        click(&c, &format!("open-{id}")).await;
        wait_path(&c, &format!("/mail/quarantine/{id}")).await;
        assert_eq!(text(&c, "rule").await, "社外秘を社外へ");
        shot(&c, "10-held-mail").await;
        click(&c, "view-content").await;
        wait_path(&c, "/mail/quarantine/content").await;
        assert!(
            c.source()
                .await
                .unwrap()
                .contains("社外秘の見積書をお送りします")
        );
        shot(&c, "11-held-content").await;
        c.back().await.unwrap();
        wait_path(&c, &format!("/mail/quarantine/{id}")).await;
        click(&c, "approve").await;
        wait_path(&c, "/mail/quarantine").await;
        wait_text(&c, "done", &id).await;
        shot(&c, "12-approved").await;
        // The dashboard's charts count the mail of the last hour (SVG, no script).
        c.goto(&format!("{base}/dashboard")).await.unwrap();
        wait_path(&c, "/dashboard").await;
        assert!(c.find(Locator::Id("chart-hours")).await.is_ok());
        shot(&c, "13-dashboard-with-mail").await;
        c.close().await.unwrap();
    });
    assert!(
        wait_for(Duration::from_secs(20), || to_customer() == 1),
        "{}",
        b.log()
    );
    let audit = std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("quarantine_content_viewed") && l.contains("for tanaka")),
        "{audit}"
    );
}
