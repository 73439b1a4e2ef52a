//! `mamori setup`: the setup wizard on the console with piped answers, against the running
//! daemon set — wrong answers explained and asked again, the provider's route tried live
//! (a wrong password fails, the right one works), the panel's administrator made on the
//! console and taken by the running panel at once, one settings version on "y", nothing
//! on "n" or when the input ends; the mail then goes out through the provider.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Sink, swaks, wait_for};
use crate::panel_box::{PanelBox, login};

const ADMIN_PW: &str = "asagao-no-tane-2026";
const STAFF_PW: &str = "kawa-no-nagare-ha";

/// Runs `mamori setup --dir <store> --lang en` with `answers` on its standard input.
fn setup(b: &PanelBox, answers: &str) -> (i32, String, String) {
    let store = b.data().join("settings");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(["setup", "--lang", "en", "--dir"])
        .arg(&store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mamori setup");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn version(b: &PanelBox) -> String {
    let (_, out, _) = b.settings(&["history"]);
    out.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_console_wizard_sets_up_the_box_from_piped_answers() {
    let sink = Sink::start();
    let (provider, cert) = crate::common::provider(sink.port, "provider-secret");
    let b = PanelBox::start(&format!(
        "[smtp.delivery]\nca_file = \"{}\"\n",
        cert.display()
    ));
    assert!(
        b.client()
            .get("/")
            .header("location")
            .unwrap_or("")
            .contains("setup"),
        "the panel waits for its administrator"
    );
    let before = version(&b);
    let port = provider.submission.to_string();
    let answers = [
        // The panel's administrator: a bad name, a short password, two that differ.
        "Tanaka San",
        "tanaka",
        "short",
        ADMIN_PW,
        "asagao-no-tane-2027",
        ADMIN_PW,
        ADMIN_PW,
        // Domains: a bad one, then two.
        "not a domain;",
        "office.example.jp, branch.example.jp",
        // The LAN: a public network, then the office's.
        "8.8.8.0/24",
        "192.168.20.0/24",
        // The provider with a wrong password: the test fails; again with the right one.
        "1",
        "localhost",
        &port,
        "office",
        "not-the-secret",
        "1",
        "localhost",
        &port,
        "office",
        "provider-secret",
        // Accounts: one outside the office's domains, then one, then done.
        "sato@gmail.com",
        "sato@office.example.jp",
        STAFF_PW,
        STAFF_PW,
        "",
        "y",
    ]
    .join("\n")
        + "\n";
    let (code, out, err) = setup(&b, &answers);
    assert_eq!(code, 0, "{out}\n{err}\n{}", b.log());
    for said in [
        "A user name is 1 to 32",
        "too short",
        "The two passwords differ",
        "is not a domain",
        "private network",
        "The route failed",
        "The route works",
        "an address of one of the office's domains",
        "Account sato@office.example.jp added",
        "Settings saved (version",
        "Panel administrator tanaka created",
        "smtpd: took version",
    ] {
        assert!(
            out.to_lowercase().contains(&said.to_lowercase()),
            "{said:?} not in:\n{out}\n{err}"
        );
    }
    for secret in [ADMIN_PW, STAFF_PW, "provider-secret"] {
        assert!(!out.contains(secret), "{secret} echoed:\n{out}");
    }
    // One version, by the person at the console.
    let (_, history, _) = b.settings(&["history"]);
    let first = history.lines().next().unwrap();
    assert!(first.contains("setup wizard (mamori setup)"), "{history}");
    assert_ne!(version(&b), before);
    let (_, domains, _) = b.settings(&["get", "smtp.office_domains"]);
    assert_eq!(
        domains.trim(),
        r#"["office.example.jp","branch.example.jp"]"#
    );
    let (_, nets, _) = b.settings(&["get", "smtp.trusted_networks"]);
    assert!(nets.contains("192.168.20.0/24"), "{nets}");
    let (_, smarthost, _) = b.settings(&["get", "smtp.delivery.smarthost"]);
    assert!(
        smarthost.contains("password_file") && !smarthost.contains("provider-secret"),
        "{smarthost}"
    );
    let (_, accounts, _) = b.settings(&["get", "smtp.accounts"]);
    assert!(accounts.contains("sato@office.example.jp") && !accounts.contains(STAFF_PW));
    // The running panel took the administrator at once: no more setup code, a login works.
    let (admin, a) = login(&b, "tanaka", ADMIN_PW);
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(admin.get("/dashboard").status, 200);
    let audit = admin.get("/system/audit");
    assert!(
        audit.body.contains("panel_administrator_from_console"),
        "{}",
        audit.body
    );
    // The account sends through the relay, which sends through the provider.
    let (code, said) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", b.submission),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "sato@office.example.jp",
        "--auth-password",
        STAFF_PW,
        "--from",
        "sato@office.example.jp",
        "--to",
        "kyaku@sink.test",
    ]);
    assert_eq!(code, 0, "{said}");
    assert!(
        wait_for(Duration::from_secs(30), || sink.count() == 1),
        "{}\n{}",
        b.log(),
        provider.log()
    );
    assert!(sink.messages()[0].0.contains("with ESMTPSA"));

    // Again: the administrator exists (not asked); "n" at the end changes nothing. An
    // empty password keeps the saved one, and the route test uses it.
    let now = version(&b);
    let answers = ["", "", "1", "", "", "", "", "", "n"].join("\n") + "\n";
    let (code, out, err) = setup(&b, &answers);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("The panel has an administrator, tanaka"),
        "{out}"
    );
    assert!(out.contains("The route works"), "{out}");
    assert!(out.contains("Not saved: nothing changed"), "{out}");
    assert_eq!(version(&b), now);
    // The input ending half-way: nothing saved.
    let (code, _, err) = setup(&b, "office.example.jp\n");
    assert_eq!(code, 1);
    assert!(err.contains("nothing saved"), "{err}");
    assert_eq!(version(&b), now);
    // Endless wrong answers stop after a few.
    let (code, _, err) = setup(&b, &"bad;\n".repeat(100));
    assert_eq!(code, 1);
    assert!(err.contains("Too many mistakes"), "{err}");
    assert_eq!(version(&b), now);
}
