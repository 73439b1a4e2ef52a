//! Link mode switched on from the panel's encryption page, against real peers: `mamori run`
//! (settings service, relay, panel and its own download service) with a throw-away CA in
//! its `SSL_CERT_FILE`, `mamori firewalld` in a network namespace on the same settings
//! store, and a second `mamori linkd` on the same data directory serving a certificate
//! for `localhost` from that CA — the box as a recipient on the Internet reaches it.
//!
//! The threat closed: link mode switched on while recipients cannot reach the download
//! service, or reach something else at that address (mail would go out with links that
//! fail, or that lead to another server). Switching is refused until the firewall lets
//! the download port in (the panel's button adds the rule on probation, confirmed here)
//! and the self-test passes; each failing step says why: nothing answers, a certificate
//! the box does not trust (the box's own self-signed one; a panel without the CA), and at
//! last it passes and `encrypt.mode = "link"` is saved. Turning link mode off needs
//! nothing. Each change is in the panel's audit log.
//!
//! Without root, `ip` and `nft` (CI has them) firewalld does not run: the button's rule is
//! then checked in the settings (the firewall refuses what it cannot reach).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use mamori_panel::i18n::{JA, fill};

use crate::common::{free_port, require, wait_for};
use crate::netns::{Firewalld, Netns, can_run};
use crate::panel_box::{Answer, Client, PanelBox, add_user, create_admin};

const ADMIN_PW: &str = "hanabi-to-yukata-2026";

/// The text of `template` before its `{}`: what an answer shows of a message with a value.
fn head(template: &str) -> &str {
    template.split("{}").next().unwrap_or(template)
}

/// A throw-away CA and a certificate it issued for `localhost`: (CA, certificate, key).
fn localhost_cert(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    require("openssl");
    let at = |name: &str| dir.join(name);
    let run = |args: &[&str]| crate::common::openssl(dir, args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Mamori test CA"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
    run(&csr);
    std::fs::write(
        at("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    (at("ca.pem"), at("leaf.pem"), at("leaf.key"))
}

/// `mamori linkd` on `data` (the box's data directory: the same instance id), on
/// `127.0.0.1:port` with `cert` and `key`; with the directory of its configuration.
fn start_linkd(
    data: &Path,
    port: u16,
    (cert, key): (&Path, &Path),
) -> (tempfile::TempDir, crate::links::Linkd) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("linkd.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\n\n[encrypt]\nlink_url = \"https://localhost:{port}\"\n\n\
             [links]\nlisten = \"127.0.0.1:{port}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            data.display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let linkd = crate::links::Linkd::spawn(&config, port, dir.path().join("linkd.log"));
    (dir, linkd)
}

/// `mamori firewalld` in a namespace of its own, stopped when dropped.
struct NsFirewalld {
    child: Child,
    ns: Netns,
}

impl Drop for NsFirewalld {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mamori firewalld` in a namespace of its own on the box's settings store, its socket in
/// the box's data directory where the panel of `mamori run` looks for it.
fn firewalld(b: &PanelBox) -> Option<NsFirewalld> {
    if !can_run() {
        return None;
    }
    let ns = Netns::create("pnllink");
    let dir = b.dir.path().join("firewalld");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("firewalld.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\n[log]\nlevel = \"info\"\n",
            b.data().display()
        ),
    )
    .unwrap();
    let child = Firewalld::spawn(&ns, &config, &dir, Some(&b.data().join("settings")));
    let fw = NsFirewalld { child, ns };
    let socket = b.data().join("firewalld.sock");
    assert!(
        wait_for(Duration::from_secs(20), || socket.exists()),
        "firewalld did not start: {}",
        std::fs::read_to_string(dir.join("firewalld.log")).unwrap_or_default()
    );
    Some(fw)
}

/// A setting as the store has it, as JSON.
fn setting(b: &PanelBox, key: &str) -> serde_json::Value {
    let (code, out, err) = b.settings(&["get", key]);
    assert_eq!(code, 0, "{key}: {out}{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{key}: {out}"))
}

/// The general form with encryption on and link mode's fields, `changes` over them; to
/// `action` (`/mail/encrypt` saves, `/mail/encrypt/test` runs the self-test).
fn general(c: &Client, csrf: &str, action: &str, changes: &[(&str, &str)]) -> Answer {
    let mut form: Vec<(&str, &str)> = vec![
        ("_csrf", csrf),
        ("enabled", "on"),
        ("cipher", "aes256"),
        ("names", "utf8"),
        ("password_to", "sender"),
        ("password_length", "12"),
        ("password_delay", "5"),
        ("archive_name", "attachments.zip"),
        ("exempt_internal", "on"),
        ("exempt_recipients", ""),
        ("subject_tag", ""),
        ("link_fields", "1"),
        ("mode", "zip"),
        ("link_url", ""),
        ("link_expiry", "7"),
        ("link_downloads", "3"),
    ];
    for (key, value) in changes {
        form.retain(|(k, _)| k != key);
        form.push((key, value));
    }
    c.post(action, &form)
}

/// The self-test's steps on a page: (step, passed/failed/not run, detail), in order.
fn steps(page: &Answer) -> Vec<String> {
    let Some(table) = page
        .body
        .split(r#"id="self-test-steps""#)
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
    else {
        panic!("no self-test on the page: {}", page.body);
    };
    table
        .split("<tr class=\"")
        .skip(1)
        .map(|row| row.split('"').next().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn link_mode_is_switched_on_only_with_the_port_open_and_the_self_test_passed() {
    require("openssl");
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = localhost_cert(certs.path());
    // The box's own download service (self-signed) on `own`, which the firewall rule
    // opens; the Internet's way in (`public`, a second linkd with the CA's certificate)
    // stands for the router's port forward to it.
    let (own, public) = (free_port(), free_port());
    let url = format!("https://localhost:{public}");
    let b = PanelBox::start_env(
        &format!(
            "firewall_confirm_secs = 60\n\n[encrypt]\nlink_url = \"{url}\"\n\n\
             [links]\nlisten = \"127.0.0.1:{own}\"\n"
        ),
        |_| {},
        &[("SSL_CERT_FILE", ca.as_path())],
    );
    let fw = firewalld(&b);
    let admin = create_admin(&b, "tanaka", ADMIN_PW);
    let page = admin.get("/mail/encrypt");
    assert_eq!(page.status, 200, "{page:?}\n{}", b.log());
    let t = page.csrf();
    assert!(
        page.body.contains(r#"id="link-help""#)
            && page.body.contains(&fill(JA.enc_link_help, own))
            && page.body.contains(&fill(JA.enc_link_port_is_closed, own))
            && page.body.contains(r#"id="open-port""#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"name="link_url" value="{url}""#)),
        "{}",
        page.body
    );

    // Link mode with the port closed: refused, next to the mode, nothing saved.
    let a = general(
        &admin,
        &t,
        "/mail/encrypt",
        &[("mode", "link"), ("link_url", &url)],
    );
    assert_eq!(a.status, 409, "{a:?}");
    assert!(
        a.body.contains(r#"id="mode-error""#)
            && a.body.contains(&fill(JA.enc_link_port_first, own)),
        "{}",
        a.body
    );
    assert_eq!(setting(&b, "encrypt.mode"), "zip");
    // A rule in link mode likewise, next to its mode.
    let rule = |mode: &str| {
        admin.post(
            "/mail/encrypt/rule",
            &[
                ("_csrf", t.as_str()),
                ("name", "大きな添付"),
                ("senders", ""),
                ("recipients", ""),
                ("attachment_types", ""),
                ("min_size", "1024"),
                ("action", "encrypt"),
                ("mode", mode),
                ("cipher", ""),
                ("names", ""),
                ("password_to", ""),
            ],
        )
    };
    let a = rule("link");
    assert_eq!(a.status, 409, "{a:?}");
    assert!(
        a.body.contains(r#"id="rule-mode-error""#)
            && a.body.contains(&fill(JA.enc_link_port_first, own)),
        "{}",
        a.body
    );
    assert_eq!(setting(&b, "encrypt.rules"), serde_json::json!([]));

    // Only an administrator, from the panel's own page, may open the port or run the test.
    let auditor = add_user(&b, &admin, "kansa", "auditor", "ame-no-hi-ni-yomu-hon");
    let at = auditor.get("/dashboard").csrf();
    for path in ["/mail/encrypt/port", "/mail/encrypt/test"] {
        let a = auditor.post(
            path,
            &[("_csrf", &at), ("password", "ame-no-hi-ni-yomu-hon")],
        );
        assert_eq!(a.status, 403, "{path}: {a:?}");
        let a = admin.post(path, &[("_csrf", "forged"), ("password", ADMIN_PW)]);
        assert_eq!(a.status, 403, "{path}: {a:?}");
        let a = b.client().post(path, &[("_csrf", "x")]);
        assert_eq!(a.header("location"), Some("/login"), "{path}: {a:?}");
    }
    assert_eq!(setting(&b, "firewall.rules"), serde_json::json!([]));

    // The button: the rule `mamori-linkd` for that port, on probation.
    let a = admin.post(
        "/mail/encrypt/port",
        &[("_csrf", t.as_str()), ("password", ADMIN_PW)],
    );
    let rules = setting(&b, "firewall.rules");
    let ours = |key: &str| rules[0][key].clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(1), "{a:?}\n{rules}");
    assert_eq!(
        [
            "name",
            "direction",
            "zone",
            "protocol",
            "ports",
            "action",
            "enabled"
        ]
        .map(ours),
        [
            "mamori-linkd".into(),
            "input".into(),
            "wan".into(),
            "tcp".into(),
            serde_json::json!([own]),
            "accept".into(),
            true.into(),
        ],
        "{rules}"
    );
    if let Some(NsFirewalld { ns, .. }) = &fw {
        assert_eq!(
            a.header("location"),
            Some("/firewall/pending"),
            "{a:?}\n{}",
            b.log()
        );
        let pending = admin.get("/firewall/pending");
        let serial = pending
            .body
            .split(r#"name="serial" value=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("no serial: {}", pending.body))
            .to_string();
        // In the kernel's table, on probation.
        let table = ns
            .command("nft")
            .args(["list", "ruleset"])
            .output()
            .unwrap();
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains(&format!("tcp dport {own}")) && table.contains("mamori-linkd"),
            "{table}"
        );
        let a = admin.post("/firewall/confirm", &[("_csrf", &t), ("serial", &serial)]);
        assert_eq!(
            a.header("location"),
            Some("/firewall?done=confirmed"),
            "{a:?}"
        );
    } else {
        // No firewall daemon to take it: saved, and the refusal said.
        assert_eq!(a.status, 409, "{a:?}");
        assert!(a.body.contains(r#"id="link-error""#), "{}", a.body);
    }
    // Once more: it is open already, and the page says so.
    let a = admin.post(
        "/mail/encrypt/port",
        &[("_csrf", t.as_str()), ("password", ADMIN_PW)],
    );
    assert_eq!(
        a.header("location"),
        Some("/mail/encrypt?done=port-open"),
        "{a:?}"
    );
    let page = admin.get("/mail/encrypt?done=port-open");
    assert!(
        page.body.contains(&fill(JA.enc_link_port_already, own))
            && page.body.contains(&fill(JA.enc_link_port_is_open, own))
            && !page.body.contains(r#"id="open-port""#),
        "{}",
        page.body
    );
    assert_eq!(
        setting(&b, "firewall.rules").as_array().map(Vec::len),
        Some(1)
    );

    // The self-test with nothing at the address: the name resolves, nothing answers.
    let test = |link_url: &str| {
        general(
            &admin,
            &t,
            "/mail/encrypt/test",
            &[("mode", "link"), ("link_url", link_url)],
        )
    };
    let a = test(&url);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(steps(&a), ["ok", "ng", "not-run", "not-run"], "{}", a.body);
    assert!(a.body.contains(head(JA.enc_reach_no_answer)), "{}", a.body);
    assert!(
        a.body.contains(r#"<option value="link" selected>"#),
        "the form as typed: {}",
        a.body
    );
    // Saving link mode: refused with the self-test's reason next to the address.
    let a = general(
        &admin,
        &t,
        "/mail/encrypt",
        &[("mode", "link"), ("link_url", &url)],
    );
    assert_eq!(a.status, 409, "{a:?}");
    assert!(
        a.body.contains(r#"id="link-url-error""#) && a.body.contains(head(JA.enc_reach_no_answer)),
        "{}",
        a.body
    );
    assert_eq!(setting(&b, "encrypt.mode"), "zip");
    // A name that does not resolve.
    let a = test("https://no-such-host.invalid");
    assert_eq!(
        steps(&a),
        ["ng", "not-run", "not-run", "not-run"],
        "{}",
        a.body
    );
    assert!(a.body.contains(head(JA.enc_reach_no_name)), "{}", a.body);
    // The box's own service answers with its self-signed certificate: not trusted.
    let a = test(&format!("https://localhost:{own}"));
    assert_eq!(steps(&a), ["ok", "ok", "ng", "not-run"], "{}", a.body);
    assert!(a.body.contains(JA.enc_reach_untrusted), "{}", a.body);

    // The service with the CA's certificate: every step passes, this box's id answered.
    let (_linkd_dir, linkd) = start_linkd(&b.data(), public, (&cert, &key));
    let a = test(&url);
    assert_eq!(
        steps(&a),
        ["ok", "ok", "ok", "ok"],
        "{}\n{}",
        a.body,
        linkd.log()
    );
    assert!(
        a.body.contains(&fill(JA.enc_reach_passed, &url)) && a.body.contains(JA.enc_reach_this_box),
        "{}",
        a.body
    );

    // A panel that does not trust the CA (no SSL_CERT_FILE): the same service fails there.
    let stranger = PanelBox::start("");
    let other = create_admin(&stranger, "suzuki", ADMIN_PW);
    let st = other.get("/mail/encrypt").csrf();
    let a = general(
        &other,
        &st,
        "/mail/encrypt/test",
        &[("mode", "link"), ("link_url", &url)],
    );
    assert_eq!(steps(&a), ["ok", "ok", "ng", "not-run"], "{}", a.body);
    assert!(a.body.contains(JA.enc_reach_untrusted), "{}", a.body);
    drop(stranger);

    // Now link mode is saved, with its limits.
    let a = general(
        &admin,
        &t,
        "/mail/encrypt",
        &[
            ("mode", "link"),
            ("link_url", &url),
            ("link_downloads", "5"),
        ],
    );
    assert_eq!(
        (a.status, a.header("location")),
        (303, Some("/mail/encrypt?done=saved")),
        "{a:?}"
    );
    assert_eq!(setting(&b, "encrypt.mode"), "link");
    assert_eq!(setting(&b, "encrypt.link_url"), url.as_str());
    assert_eq!(setting(&b, "encrypt.link_downloads"), 5);
    let (code, out, err) = b.settings(&["get"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mode = \"link\""), "{out}");

    // Off again, with the service gone: turning link mode off needs nothing.
    drop(linkd);
    let a = general(
        &admin,
        &t,
        "/mail/encrypt",
        &[("mode", "zip"), ("link_url", &url)],
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(setting(&b, "encrypt.mode"), "zip");
    // And back on, while nothing answers: the self-test refuses it, for the rule too.
    let a = rule("link");
    assert_eq!(a.status, 409, "{a:?}");
    assert!(
        a.body.contains(r#"id="rule-mode-error""#) && a.body.contains(head(JA.enc_reach_no_answer)),
        "{}",
        a.body
    );
    let a = rule("");
    assert_eq!(a.status, 303, "a zip rule needs nothing: {a:?}");

    // Each change in the panel's audit log with the person, before it took effect.
    let audit = std::fs::read_to_string(b.data().join("admind/audit/admind/audit.jsonl")).unwrap();
    for event in [
        "panel_encrypt_link_port_opened",
        "panel_encrypt_saved",
        "panel_encrypt_rule_added",
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(event) && l.contains("tanaka")),
            "{event}: {audit}"
        );
    }
    let history = admin.get("/system/settings");
    assert!(
        history.body.contains(&format!(
            "panel_encrypt_link_port_opened: mamori-linkd tcp/{own}"
        )) && history
            .body
            .contains("panel_encrypt_saved: on (enabled, mode, link_downloads)"),
        "{}",
        history.body
    );
    drop(fw);
}
