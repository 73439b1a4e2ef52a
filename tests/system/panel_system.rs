//! The panel's system pages against real tools: a certificate made by `openssl` uploaded
//! and served from the next connection (checked by `openssl s_client` and `curl` against
//! the CA), bad pairs refused with the reason, and back to the self-signed one.

use std::path::Path;
use std::process::Command;

use crate::common::require;
use crate::panel_box::{PanelBox, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";

use crate::common::openssl;

/// `openssl s_client` against the panel with `ca`: its verdict line and the leaf's
/// fingerprint.
fn s_client(port: u16, ca: &Path) -> (String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo | openssl s_client -connect 127.0.0.1:{port} -CAfile {} 2>/dev/null | tee /dev/stderr | openssl x509 -noout -fingerprint -sha256 2>/dev/null",
            ca.display()
        ))
        .output()
        .expect("run openssl s_client");
    let all = String::from_utf8_lossy(&out.stderr).into_owned();
    let verdict = all
        .lines()
        .find(|l| l.contains("Verify return code"))
        .unwrap_or("")
        .trim()
        .to_string();
    let fp = String::from_utf8_lossy(&out.stdout)
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or("")
        .to_string();
    (verdict, fp)
}

#[test]
fn an_uploaded_certificate_is_checked_served_at_once_and_can_be_undone() {
    require("openssl");
    let b = PanelBox::start("");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let dir = b.dir.path();
    // The office's own CA and a certificate for the box; another key; one ending within a day.
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Office CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "box.key",
            "-out",
            "box.csr",
            "-subj",
            "/CN=mamori.office.test",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:mamori.office.test\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "box.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "box.pem",
            "-days",
            "30",
            "-extfile",
            "san.ext",
        ],
    );
    openssl(
        dir,
        &["genpkey", "-algorithm", "ed25519", "-out", "other.key"],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "old.key",
            "-out",
            "old.pem",
            "-days",
            "1",
            "-subj",
            "/CN=old",
        ],
    );
    let page = admin.get("/system/certificate");
    assert_eq!(page.status, 200);
    let before = page
        .body
        .split(r#"id="fingerprint">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let t = page.csrf();
    let ca = dir.join("ca.pem");
    let (verdict, _) = s_client(b.https, &ca);
    assert!(
        !verdict.contains("0 (ok)"),
        "self-signed is not the CA's: {verdict}"
    );
    let upload = |cert: &str, key: &str| {
        admin.post_multipart(
            "/system/certificate",
            &[("_csrf", &t)],
            &[("cert", &dir.join(cert)), ("key", &dir.join(key))],
        )
    };
    // A key that is not the certificate's, a certificate at its end, a key as certificate.
    for (cert, key) in [
        ("box.pem", "other.key"),
        ("old.pem", "old.key"),
        ("box.key", "box.key"),
    ] {
        let a = upload(cert, key);
        assert_eq!(a.status, 400, "{cert} + {key}: {a:?}");
        assert!(a.body.contains(r#"id="error""#), "{}", a.body);
    }
    let (verdict, _) = s_client(b.https, &ca);
    assert!(!verdict.contains("0 (ok)"), "nothing changed: {verdict}");
    // The right pair: served from the next connection on.
    let a = upload("box.pem", "box.key");
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains(r#"id="done""#), "{}", a.body);
    let (verdict, fp) = s_client(b.https, &ca);
    assert!(verdict.contains("0 (ok)"), "{verdict}");
    assert!(
        a.body.contains(&fp),
        "the page shows the served fingerprint {fp}: {}",
        a.body
    );
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&ca)
        .arg(format!("https://127.0.0.1:{}/login", b.https))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "curl trusts it through the CA"
    );
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(b.data().join("admind/tls/uploaded-key.pem"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o077, 0, "the key is the panel's alone");
    // Back to the self-signed certificate.
    let a = admin.post("/system/certificate/self-signed", &[("_csrf", &t)]);
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains(&before),
        "the self-signed one again: {}",
        a.body
    );
    let (verdict, _) = s_client(b.https, &ca);
    assert!(!verdict.contains("0 (ok)"), "{verdict}");
    assert!(!b.data().join("admind/tls/uploaded-key.pem").exists());
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit.contains("panel_certificate_uploaded")
            && audit.contains("panel_certificate_self_signed"),
        "{audit}"
    );
}

/// Backups: the settings the office set saved in the `mamori settings export` format
/// (read by Python's `json`), the account passwords sealed with a passphrase; a wrong
/// passphrase, a broken document and a file that is no backup refused with nothing
/// written; a good one restored as a new version in force at once.
#[test]
fn a_backup_is_saved_checked_and_restored() {
    let b = PanelBox::start("[smtp]\noffice_domains = [\"office.test\"]\n");
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let t = admin.get("/mail/accounts").csrf();
    let a = admin.post(
        "/mail/accounts/add",
        &[
            ("_csrf", &t),
            ("address", "taro@office.test"),
            ("password", "sakura-no-hanabira-7"),
            ("password_again", "sakura-no-hanabira-7"),
        ],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let export = |passphrase: &str| {
        admin.post(
            "/system/backup/export",
            &[("_csrf", &t), ("passphrase", passphrase)],
        )
    };
    let a = export("short");
    assert_eq!(a.status, 400, "a passphrase under 12 characters: {a:?}");
    assert!(a.body.contains(r#"id="export-error""#), "{}", a.body);
    let plain = export("");
    assert_eq!(plain.status, 200, "{plain:?}");
    assert!(
        !plain.body.contains("$argon2"),
        "no hash without a passphrase"
    );
    let a = export("umi-no-himitsu-2026");
    assert_eq!(a.status, 200, "{a:?}");
    let disposition = a.header("content-disposition").unwrap_or("").to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"mamori-settings-v"),
        "{disposition}"
    );
    assert!(
        !a.body.contains("$argon2"),
        "the hash is sealed, not in clear"
    );
    let backup = b.dir.path().join("backup.json");
    std::fs::write(&backup, &a.body).unwrap();
    let (code, out) = crate::common::python(
        "import sys, json\nd = json.load(open(sys.argv[1]))\nprint(d['kind'], d['secrets'] is not None, d['document']['smtp']['accounts'][0]['username'])",
        &[backup.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "mamori-settings-backup True taro@office.test");
    // The account goes; then a wrong passphrase, a broken document and no backup at all.
    let a = admin.post(
        "/mail/accounts/remove",
        &[("_csrf", &t), ("name", "taro@office.test")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let (_, history_before, _) = b.settings(&["history"]);
    let import = |path: &std::path::Path, passphrase: &str| {
        admin.post_multipart(
            "/system/backup/import",
            &[("_csrf", &t), ("passphrase", passphrase)],
            &[("file", path)],
        )
    };
    let a = import(&backup, "not-the-passphrase");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="import-error""#), "{}", a.body);
    let broken = b.dir.path().join("broken.json");
    let (code, out) = crate::common::python(
        "import sys, json\nd = json.load(open(sys.argv[1]))\nd['document'].setdefault('general', {})['hostname'] = 'not a host name!'\njson.dump(d, open(sys.argv[2], 'w'))",
        &[backup.to_str().unwrap(), broken.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    let a = import(&broken, "umi-no-himitsu-2026");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(
        a.body.contains(r#"id="problems""#) && a.body.contains("general.hostname"),
        "{}",
        a.body
    );
    let not_backup = b.dir.path().join("photo.json");
    std::fs::write(&not_backup, "{\"hello\": 1}").unwrap();
    let a = import(&not_backup, "");
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains(r#"id="import-error""#), "{}", a.body);
    assert_eq!(
        b.settings(&["history"]).1,
        history_before,
        "nothing written"
    );
    // The good one: a new version, and the relay has the account, password and all.
    let a = import(&backup, "umi-no-himitsu-2026");
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("smtpd"), "{}", a.body);
    let (_, accounts, _) = b.settings(&["get", "smtp.accounts"]);
    assert!(accounts.contains("taro@office.test"), "{accounts}");
    let (code, out) = crate::common::swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.submission),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "taro@office.test",
        "--auth-password",
        "sakura-no-hanabira-7",
        "--from",
        "taro@office.test",
        "--to",
        "kyaku@example.com",
        "--quit-after",
        "RCPT",
    ]);
    assert_eq!(code, 0, "the restored account logs in: {out}");
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit.contains("panel_backup_exported") && audit.contains("panel_backup_restored"),
        "{audit}"
    );
    assert!(
        !audit.contains("umi-no-himitsu"),
        "no passphrase in the panel's audit log"
    );
    let settings_audit =
        std::fs::read_to_string(b.data().join("settings/audit/settingsd/audit.jsonl")).unwrap();
    assert!(
        !settings_audit.contains("umi-no-himitsu"),
        "nor the settings service's"
    );
    // Approvers do not see or take backups.
    let t2 = admin.get("/system/users").csrf();
    admin.post(
        "/system/users/add",
        &[
            ("_csrf", &t2),
            ("name", "sato"),
            ("role", "approver"),
            ("password", "kawa-no-nagare-ha"),
            ("password_again", "kawa-no-nagare-ha"),
        ],
    );
    let (sato, _) = crate::panel_box::login(&b, "sato", "kawa-no-nagare-ha");
    assert_eq!(sato.get("/system/backup").status, 403);
    let st = sato.get("/dashboard").csrf();
    assert_eq!(
        sato.post("/system/backup/export", &[("_csrf", &st)]).status,
        403
    );
}

/// `/metrics`: refused without the token made in the panel (shown once, kept as a digest),
/// and with it the Prometheus text that `prometheus_client`'s own parser reads, counting
/// real mail; a new token ends the old one, and the endpoint can be turned off.
#[test]
fn metrics_need_the_panels_token_and_parse_as_prometheus_text() {
    let sink = crate::common::Sink::start();
    let b = PanelBox::start(&format!(
        "[[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let scrape = |token: Option<&str>| {
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "-w", "\n%{http_code}"]);
        if let Some(t) = token {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        let out = cmd
            .arg(format!("https://127.0.0.1:{}/metrics", b.https))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_string(), body.to_string())
    };
    assert_eq!(scrape(None).0, "401", "no token set yet");
    assert_eq!(scrape(Some("guess")).0, "401");
    let t = admin.get("/system/metrics").csrf();
    let a = admin.post("/system/metrics", &[("_csrf", &t), ("action", "new")]);
    assert_eq!(a.status, 200, "{a:?}");
    let token = a
        .body
        .split(r#"id="token">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 43, "256 bits: {token}");
    let kept = std::fs::read_to_string(b.data().join("admind/metrics-token.sha256")).unwrap();
    assert!(!kept.contains(&token), "only the digest is kept");
    let (code, out) = crate::common::swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.relay),
        "--from",
        "a@office.test",
        "--to",
        "b@sink.test",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(crate::common::wait_for(
        std::time::Duration::from_secs(15),
        || sink.count() == 1
    ));
    let (code, body) = scrape(Some(&token));
    assert_eq!(code, "200", "{body}");
    let text = b.dir.path().join("metrics.txt");
    std::fs::write(&text, &body).unwrap();
    // Debian's own Python, where the Debian package of the parser is (a `python3` earlier
    // on the PATH, such as a pyenv one, does not see it).
    let (code, parsed) = debian_python(
        "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
         for f in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
         \x20   for s in f.samples:\n\
         \x20       print(s.name, sorted(s.labels.items()), s.value)\n",
        &[text.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{parsed}\n{body}");
    assert!(
        parsed.contains("mamori_up [('daemon', 'smtpd')] 1.0"),
        "{parsed}"
    );
    assert!(
        parsed.contains("mamori_smtp_messages_total [('outcome', 'delivered')] 1.0"),
        "{parsed}"
    );
    assert!(
        parsed.contains("mamori_smtp_messages_total [('outcome', 'received')] 1.0"),
        "{parsed}"
    );
    // A new token ends the old one; turned off, nothing passes.
    let a = admin.post("/system/metrics", &[("_csrf", &t), ("action", "new")]);
    let second = a
        .body
        .split(r#"id="token">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(scrape(Some(&token)).0, "401");
    assert_eq!(scrape(Some(&second)).0, "200");
    let a = admin.post("/system/metrics", &[("_csrf", &t), ("action", "off")]);
    assert_eq!(a.status, 200);
    assert_eq!(scrape(Some(&second)).0, "401");
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    assert!(
        audit.contains("panel_metrics_token_made") && audit.contains("panel_metrics_turned_off")
    );
    assert!(!audit.contains(&second), "no token in the audit log");
}

/// Runs `script` with Debian's `/usr/bin/python3` (its packages are the test's oracles).
fn debian_python(script: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run /usr/bin/python3 (install-deps installs it)");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The monthly report counts a month of real mail from the audit logs (a held My Number
/// approved, a plain message sent); the quarantine's retention is set from the panel.
#[test]
fn the_monthly_report_counts_real_mail_and_the_retention_is_set_in_the_panel() {
    let sink = crate::common::Sink::start();
    let b = PanelBox::start(&format!(
        "[smtp]\noffice_domains = [\"office.test\"]\n\n\
         [[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {0}\n\n\
         [[smtp.delivery.routes]]\ndomain = \"office.test\"\nhost = \"127.0.0.1\"\nport = {0}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let number = crate::common::my_number("98765432109");
    for body in [
        "お世話になっております。".to_string(),
        format!("個人番号：{number}"),
    ] {
        let (code, out) = crate::common::swaks(&[
            "--server",
            &format!("127.0.0.1:{}", b.relay),
            "--from",
            "tanaka@office.test",
            "--to",
            "kyaku@sink.test",
            "--header",
            "Content-Type: text/plain; charset=utf-8",
            "--body",
            &body,
        ]);
        assert_eq!(code, 0, "{out}");
    }
    let held = || admin.get("/mail/quarantine");
    assert!(
        crate::common::wait_for(std::time::Duration::from_secs(15), || held()
            .body
            .contains("held-")),
        "{}",
        b.log()
    );
    let page = held();
    let id = page
        .body
        .split(r#"id="held-"#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let t = page.csrf();
    let a = admin.post(
        "/mail/quarantine/act",
        &[("_csrf", &t), ("id", &id), ("action", "release")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    // The dashboard's charts count the same mail (SVG drawn by the panel, no script).
    let dash = admin.get("/dashboard");
    assert!(
        dash.body.contains(r#"<svg id="chart-hours""#)
            && dash.body.contains(r#"<svg id="chart-days""#),
        "{}",
        dash.body
    );
    assert!(
        dash.body
            .contains("送信したもの 1, 保留したもの 1, 拒否したもの 0"),
        "{}",
        dash.body
    );
    assert!(dash.body.contains(r#"id="findings""#));
    let report = admin.get("/system/report");
    assert_eq!(report.status, 200, "{report:?}");
    let row = |table: &str, label: &str| -> u64 {
        let part = report
            .body
            .split(&format!(r#"id="{table}""#))
            .nth(1)
            .unwrap();
        let cell = part
            .split(label)
            .nth(1)
            .unwrap_or_else(|| panic!("{label} in {table}: {}", report.body));
        cell.split("<td>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(row("report-mail", "検査したメール"), 2);
    assert_eq!(row("report-mail", "送信したもの"), 1);
    assert_eq!(row("report-mail", "保留したもの"), 1);
    assert_eq!(row("report-held", "承認して配送"), 1);
    assert_eq!(row("report-findings", "マイナンバー"), 1);
    assert!(
        report.body.contains("panel_") || report.body.contains("smtpd quarantine_release"),
        "{}",
        report.body
    );
    // Another month holds none of it; a made-up month is the current one.
    let other = admin.get("/system/report?month=2020-01");
    assert!(
        other.body.contains("2020-01") && !other.body.contains("<td>2</td>"),
        "{}",
        other.body
    );
    assert_eq!(admin.get("/system/report?month=../../x").status, 200);
    // Retention: 7 days from the panel; a bad value is refused next to the field.
    assert!(
        held()
            .body
            .contains(r#"id="retention-days" name="days" value="30""#),
        "{}",
        held().body
    );
    let a = admin.post(
        "/mail/quarantine/retention",
        &[("_csrf", &t), ("days", "99999")],
    );
    assert!(a.body.contains(r#"id="retention-error""#), "{}", a.body);
    let a = admin.post(
        "/mail/quarantine/retention",
        &[("_csrf", &t), ("days", "7")],
    );
    assert_eq!(a.status, 303, "{a:?}");
    let (_, kept, _) = b.settings(&["get", "smtp.quarantine_retention"]);
    assert!(kept.contains("7d"), "{kept}");
    // Auditors read the report but set nothing.
    let suzuki = crate::panel_box::add_user(&b, &admin, "suzuki", "auditor", "mori-no-kage-fumi");
    assert_eq!(suzuki.get("/system/report").status, 200);
    assert!(
        !suzuki
            .get("/mail/quarantine")
            .body
            .contains("retention-form")
    );
    let st = suzuki.get("/dashboard").csrf();
    assert_eq!(
        suzuki
            .post(
                "/mail/quarantine/retention",
                &[("_csrf", &st), ("days", "1")]
            )
            .status,
        403
    );
}

/// Alert mails: addresses set in the panel (a bad one refused with its key), a test alert
/// arriving at `smtp-sink`, and the watchdog mailing by itself once the panel's certificate
/// is near its end (an uploaded one valid three days).
#[test]
fn alerts_reach_the_administrators_and_the_watchdog_mails_by_itself() {
    require("openssl");
    let sink = crate::common::Sink::start();
    let b = PanelBox::start(&format!(
        "watchdog_secs = 1\n\n[[smtp.delivery.routes]]\ndomain = \"sink.test\"\nhost = \"127.0.0.1\"\nport = {}\n",
        sink.port
    ));
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let t = admin.get("/system/metrics").csrf();
    let save = |addresses: &str| {
        admin.post(
            "/system/metrics/alerts",
            &[("_csrf", &t), ("action", "save"), ("addresses", addresses)],
        )
    };
    let a = save("boss at office");
    assert_eq!(a.status, 400);
    assert!(
        a.body.contains(r#"id="alert-error""#) && a.body.contains("smtp.alert_to"),
        "{}",
        a.body
    );
    let a = save("Boss@Sink.test");
    assert!(a.body.contains(r#"id="alert-done""#), "{}", a.body);
    let a = admin.post(
        "/system/metrics/alerts",
        &[("_csrf", &t), ("action", "test")],
    );
    assert!(a.body.contains(r#"id="alert-done""#), "{}", a.body);
    // Alerts of one kind (the machine running the test may also be short of disk space,
    // which the watchdog rightly mails too: not counted here).
    let mails = |marker: &str| {
        sink.messages()
            .iter()
            .filter(|(m, _)| {
                m.contains("X-Rcpt-Args: <boss@sink.test>")
                    && m.contains("Auto-Submitted: auto-generated")
                    && subject(m).contains(marker)
            })
            .count()
    };
    const TEST: &str = "Test alert";
    const CERT: &str = "certificate ends in";
    assert!(
        crate::common::wait_for(std::time::Duration::from_secs(15), || mails(TEST) == 1),
        "{}\n{:?}",
        b.log(),
        sink.messages()
    );
    // A certificate ending in three days: the watchdog mails once.
    let dir = b.dir.path();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "soon.key",
            "-out",
            "soon.pem",
            "-days",
            "3",
            "-subj",
            "/CN=soon",
        ],
    );
    let a = admin.post_multipart(
        "/system/certificate",
        &[("_csrf", &t)],
        &[
            ("cert", &dir.join("soon.pem")),
            ("key", &dir.join("soon.key")),
        ],
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        crate::common::wait_for(std::time::Duration::from_secs(20), || mails(CERT) == 1),
        "{}",
        b.log()
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(mails(CERT), 1, "once, not at every look");
    assert_eq!(mails(TEST), 1);
    let cert_alert = sink
        .messages()
        .into_iter()
        .map(|(m, _)| m)
        .find(|m| m.contains("X-Rcpt-Args: <boss@sink.test>") && subject(m).contains(CERT))
        .unwrap_or_default();
    assert!(cert_alert.contains("Subject:"), "{cert_alert}");
    let relay = std::fs::read_to_string(b.data().join("audit/smtpd/audit.jsonl")).unwrap();
    assert!(
        relay
            .lines()
            .any(|l| l.contains("\"op\":\"alert\"") && l.contains("watchdog")),
        "{relay}"
    );
}

/// The `Subject:` of a raw mail, unfolded, its RFC 2047 base64 encoded words decoded
/// (adjacent ones joined: a character may be split between them).
pub(crate) fn subject(mail: &str) -> String {
    use base64::Engine;
    let mut lines = mail.lines().skip_while(|l| !l.starts_with("Subject: "));
    let Some(first) = lines.next() else {
        return String::new();
    };
    let mut value = first["Subject: ".len()..].to_string();
    for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        value.push(' ');
        value.push_str(more.trim());
    }
    let (mut out, mut bytes) = (String::new(), Vec::new());
    for word in value.split_whitespace() {
        let decoded = word
            .strip_prefix("=?utf-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        match decoded {
            Some(b) => bytes.extend(b),
            None => {
                out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
                out.push(' ');
                out.push_str(word);
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}
