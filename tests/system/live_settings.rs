//! Settings changed through the settings service reach the running relay without a
//! restart, while mail flows: a new route, a new DLP rule, a pacing change, a new
//! certificate, a new account. Every message acknowledged with 250 is delivered exactly
//! once and no connection is refused during the changes; an invalid change is refused with
//! all its errors and changes nothing.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::*;

/// Sends one message per connection to the relay until `stop` exists, each with the
/// subject `load-N`; prints `OK N` for a 250 and `ERR N reason` for anything else.
const LOAD: &str = r#"
import smtplib, sys, os, time
from email.mime.text import MIMEText
port, stop = int(sys.argv[1]), sys.argv[2]
i = 0
while not os.path.exists(stop):
    i += 1
    msg = MIMEText('load message %d' % i)
    msg['Subject'] = 'load-%d' % i
    msg['From'] = 'taro@office.test'
    msg['To'] = 'client@sink.test'
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=30)
        s.sendmail('taro@office.test', ['client@sink.test'], msg.as_string())
        s.quit()
        print('OK %d' % i, flush=True)
    except Exception as e:
        print('ERR %d %r' % (i, e), flush=True)
    time.sleep(0.02)
"#;

/// The subjects `load-N` in a sink, with how often each arrived.
fn load_subjects(sink: &Sink) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (text, _) in sink.messages() {
        for line in text.lines() {
            if let Some(s) = line.strip_prefix("Subject: load-") {
                *out.entry(format!("load-{}", s.trim())).or_default() += 1;
            }
        }
    }
    out
}

#[test]
fn each_kind_of_change_is_taken_live_while_mail_flows() {
    require("swaks");
    require("openssl");
    let (first, second) = (Sink::start(), Sink::start());
    let m = Mamori::start_with_settings(first.port, "[smtp]\noffice_domains = [\"office.test\"]\n");
    let out_file = m.dir.path().join("load.out");
    let stop = m.dir.path().join("stop");
    let mut load = std::process::Command::new("python3")
        .args(["-c", LOAD, &m.relay.to_string(), stop.to_str().unwrap()])
        .stdout(std::fs::File::create(&out_file).unwrap())
        .spawn()
        .unwrap();
    let acked = |n: usize| {
        wait_for(Duration::from_secs(30), || {
            std::fs::read_to_string(&out_file)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("OK"))
                .count()
                >= n
        })
    };
    assert!(acked(10), "the load does not flow: {}", m.log());
    let set = |args: &[&str]| {
        let mut all = vec!["set"];
        all.extend_from_slice(args);
        let (code, out, err) = m.settings(&all);
        assert_eq!(code, 0, "{out}{err}\n{}", m.log());
        assert!(out.contains("smtpd: took version"), "{out}");
        out
    };

    // 1. A new route: mail for sink.test now goes to the second sink.
    set(&[&format!("smtp.delivery.routes[0].port={}", second.port)]);
    let before_route = load_subjects(&second).len();
    assert!(
        wait_for(Duration::from_secs(20), || load_subjects(&second).len()
            > before_route + 5),
        "the new route is not used: {}",
        m.log()
    );

    // 2. A new DLP rule: 社外秘 is refused from now on.
    set(&[
        r#"dlp.scan.custom.rules=[{name = "himitsu", kind = "keyword", pattern = "社外秘", confidence = "high"}]"#,
        r#"dlp.rules=[{name = "社外秘は送らない", detectors = ["custom:himitsu"], action = "reject"}]"#,
    ]);
    let script = "import smtplib,sys\nfrom email.mime.text import MIMEText\nm=MIMEText('この資料は社外秘です','plain','utf-8')\nm['Subject']='secret'\ns=smtplib.SMTP('127.0.0.1',int(sys.argv[1]),timeout=30)\ntry:\n    s.sendmail('taro@office.test',['client@sink.test'],m.as_string())\n    print('OK')\nexcept smtplib.SMTPDataError as e:\n    print('REFUSED', e.smtp_code)\n";
    let (_, out) = python(script, &[&m.relay.to_string()]);
    assert!(out.starts_with("REFUSED 550"), "{out}");

    // 3. A pacing change (taken by every lane at once).
    let out = set(&["smtp.pacing.default.messages_per_minute=6000"]);
    assert!(out.contains("1 key(s) changed"), "{out}");

    // 4. A new certificate for STARTTLS and implicit TLS.
    let cert = m.dir.path().join("new-cert.pem");
    let key = m.dir.path().join("new-key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=new-cert.test",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(status.status.success());
    set(&[
        &format!("smtp.tls.cert_file={:?}", cert.display().to_string()),
        &format!("smtp.tls.key_file={:?}", key.display().to_string()),
    ]);
    let s_client = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{}", m.smtps)])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&s_client.stdout);
    assert!(
        text.contains("new-cert.test"),
        "the new certificate is not served: {text}"
    );

    // 5. A new account may authenticate on submission at once.
    let hash = hash_password("atarashii-aikotoba");
    set(&[&format!(
        r#"smtp.accounts=[{{username = "hanako", password_hash = "{hash}", senders = ["hanako@office.test"]}}]"#
    )]);
    let sub = format!("127.0.0.1:{}", m.submission);
    let (code, out) = swaks(&[
        "--server",
        &sub,
        "-tls",
        "-a",
        "PLAIN",
        "-au",
        "hanako",
        "-ap",
        "atarashii-aikotoba",
        "--from",
        "hanako@office.test",
        "--to",
        "x@sink.test",
    ]);
    assert_eq!(code, 0, "{out}");

    // 6. A new listener opens, and closes again when it leaves the settings.
    let extra = free_port();
    set(&[
        r#"smtp.listeners[3].kind="relay""#,
        &format!(r#"smtp.listeners[3].address="127.0.0.1:{extra}""#),
    ]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", extra)).is_ok());
    let (code, out, err) = m.settings(&["unset", "smtp.listeners[3]"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", extra)).is_err(),
        "the removed listener still accepts"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", m.relay)).is_ok());

    // A change the relay cannot take (its port is taken): refused, and the relay keeps
    // running on its last good settings.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_, health_before, _) = m.command("status", &["--json"]);
    let (code, out, _) = m.settings(&[
        "set",
        r#"smtp.listeners[3].kind="relay""#,
        &format!(r#"smtp.listeners[3].address="127.0.0.1:{port}""#),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("smtpd: REFUSED") && out.contains("last good settings"),
        "{out}"
    );
    let (_, health_after, _) = m.command("status", &["--json"]);
    let version = |h: &str| {
        serde_json::from_str::<serde_json::Value>(h).unwrap()[0]["settings_version"].clone()
    };
    assert_eq!(version(&health_before), version(&health_after));
    let health: serde_json::Value = serde_json::from_str(&health_after).unwrap();
    let last_error = health[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        last_error.contains("settings version 9 refused") && last_error.contains(&port.to_string()),
        "{health_after}"
    );
    drop(taken);

    // An invalid change: every error, exit 2, nothing changed (the relay keeps its version).
    let (_, health_before, _) = m.command("status", &["--json"]);
    let (code, _, err) =
        m.settings(&["set", "smtp.max_line_length=10", "smtp.max_message_size=10"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("smtp.max_line_length") && err.contains("smtp.max_message_size"),
        "{err}"
    );
    let (_, health_after, _) = m.command("status", &["--json"]);
    let version = |h: &str| {
        serde_json::from_str::<serde_json::Value>(h).unwrap()[0]["settings_version"].clone()
    };
    assert_eq!(version(&health_before), version(&health_after));
    assert_eq!(version(&health_after), 8, "{health_after}");

    // Stop the load; every acknowledged message is delivered exactly once.
    std::fs::write(&stop, "").unwrap();
    let _ = load.wait();
    let lines = std::fs::read_to_string(&out_file).unwrap();
    let errors: Vec<&str> = lines.lines().filter(|l| l.starts_with("ERR")).collect();
    assert!(
        errors.is_empty(),
        "connections failed during the changes: {errors:?}"
    );
    let acknowledged: Vec<String> = lines
        .lines()
        .filter_map(|l| l.strip_prefix("OK "))
        .map(|n| format!("load-{n}"))
        .collect();
    assert!(acknowledged.len() > 30, "{}", acknowledged.len());
    let delivered_all = wait_for(Duration::from_secs(60), || {
        let (a, b) = (load_subjects(&first), load_subjects(&second));
        acknowledged
            .iter()
            .all(|s| a.get(s).copied().unwrap_or(0) + b.get(s).copied().unwrap_or(0) >= 1)
    });
    assert!(delivered_all, "acknowledged mail missing: {}", m.log());
    std::thread::sleep(Duration::from_secs(2));
    let (a, b) = (load_subjects(&first), load_subjects(&second));
    for s in &acknowledged {
        let n = a.get(s).copied().unwrap_or(0) + b.get(s).copied().unwrap_or(0);
        assert_eq!(n, 1, "{s} delivered {n} times");
    }
}
